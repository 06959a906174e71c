/* spool_verify — check a ferryd data folder against its index, for the
 * interop tests: every indexed instance's current file exists, has the
 * recorded size and XXH3-64 checksum, and starts with a Part 10 header.
 *
 * usage: spool_verify DATA_DIR
 * stdout: one line per indexed instance, tab-separated:
 *   ok|BAD  sop_instance_uid  path  transfer_syntax  calling_ae  patient_id
 *   patient_name  study_uid  series_uid  modality  instance_number  why
 * then "instances N bad M". Exit 0 if nothing is bad, 1 otherwise, 2 on a
 * usage or index error. Uses SQLite and libxxhash directly (not ferry's
 * code), so that it checks ferry rather than agreeing with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static int check_file(const char *path, int64_t size, uint64_t sum, char *why, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "cannot open: %s", strerror(errno));
        return -1;
    }
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    static unsigned char buf[1 << 20];
    int64_t total = 0;
    unsigned char head[132];
    size_t head_len = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        if (head_len < sizeof head) {
            size_t k = sizeof head - head_len < (size_t)r ? sizeof head - head_len : (size_t)r;
            memcpy(head + head_len, buf, k);
            head_len += k;
        }
        XXH3_64bits_update(st, buf, (size_t)r);
        total += r;
    }
    close(fd);
    uint64_t got = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    if (r < 0) {
        snprintf(why, n, "read error: %s", strerror(errno));
        return -1;
    }
    if (total != size) {
        snprintf(why, n, "size %" PRId64 ", index says %" PRId64, total, size);
        return -1;
    }
    if (got != sum) {
        snprintf(why, n, "checksum %016" PRIx64 ", index says %016" PRIx64, got, sum);
        return -1;
    }
    if (head_len < 132 || memcmp(head + 128, "DICM", 4) != 0) {
        snprintf(why, n, "no DICM prefix");
        return -1;
    }
    why[0] = '\0';
    return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: spool_verify DATA_DIR\n");
        return 2;
    }
    char db_path[4096];
    snprintf(db_path, sizeof db_path, "%s/index.sqlite", argv[1]);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "spool_verify: %s: %s\n", db_path, db ? sqlite3_errmsg(db) : "?");
        return 2;
    }
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT i.sop_instance_uid, a.path, a.size, a.checksum, a.transfer_syntax, a.calling_ae,"
        " p.patient_id, p.name, s.study_uid, se.series_uid, se.modality,"
        " coalesce(i.instance_number, '')"
        " FROM instance i JOIN arrival a ON a.id = i.arrival JOIN series se ON se.id = i.series"
        " JOIN study s ON s.id = se.study JOIN patient p ON p.id = s.patient"
        " ORDER BY i.sop_instance_uid";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "spool_verify: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return 2;
    }
    long n = 0, bad = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char path[8192], why[256];
        snprintf(path, sizeof path, "%s/%s", argv[1], col(st, 1));
        int ok = check_file(path, sqlite3_column_int64(st, 2), (uint64_t)sqlite3_column_int64(st, 3),
                            why, sizeof why) == 0;
        printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ok ? "ok" : "BAD", col(st, 0),
               col(st, 1), col(st, 4), col(st, 5), col(st, 6), col(st, 7), col(st, 8), col(st, 9),
               col(st, 10), col(st, 11), why);
        n++;
        bad += !ok;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "spool_verify: %s\n", sqlite3_errmsg(db));
        bad++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("instances %ld bad %ld\n", n, bad);
    return bad ? 1 : 0;
}
