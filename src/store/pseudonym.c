/* ferry — store: the pseudonym map (what de-identification replaced by
 * what), for authorized re-identification. See store.h. */
#include "store/store-private.h"

#include <errno.h>
#include <string.h>

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

int store_pseudonym_record(struct store_index *idx, const struct store_pseudonym *rec,
                           struct ferry_error **err)
{
    if (!rec->kind || !*rec->kind || !rec->original || !rec->replacement)
        return ferry_error_set(err, -EINVAL, "index %s: a pseudonym record needs a kind, "
                                             "an original and a replacement",
                               idx->path);
    static const char sql[] =
        "INSERT INTO pseudonym(kind, original, replacement, step, context, recorded_ms)"
        " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(kind, original, replacement) DO NOTHING";
    sqlite3_stmt *st = NULL;
    /* Rare (one per new patient or study): prepared each time, so the
     * ingest statements' table stays as it is. */
    int rc = sqlite3_prepare_v2(idx->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_error(idx, rc, err, "cannot record a pseudonym");
    bind_text(st, 1, rec->kind);
    bind_text(st, 2, rec->original);
    bind_text(st, 3, rec->replacement);
    bind_text(st, 4, rec->step);
    bind_text(st, 5, rec->context);
    sqlite3_bind_int64(st, 6, rec->recorded_ms);
    rc = sqlite3_step(st);
    int out = 0;
    if (rc != SQLITE_DONE)
        out = store_db_error(idx, rc, err, "cannot record a pseudonym");
    sqlite3_finalize(st);
    return out;
}

int store_pseudonym_list(struct store_index *idx, const char *match, store_pseudonym_fn *fn,
                         void *ud, struct ferry_error **err)
{
    static const char all[] =
        "SELECT kind, original, replacement, step, context, recorded_ms FROM pseudonym"
        " ORDER BY id";
    static const char some[] =
        "SELECT kind, original, replacement, step, context, recorded_ms FROM pseudonym"
        " WHERE original = ?1 OR replacement = ?1 ORDER BY id";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(idx->db, match ? some : all, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        /* an index from before schema v3 has no map */
        if (strstr(sqlite3_errmsg(idx->db), "no such table"))
            return 0;
        return store_db_error(idx, rc, err, "cannot read the pseudonym map");
    }
    if (match)
        bind_text(st, 1, match);
    int out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_pseudonym rec = {
            .kind = (const char *)sqlite3_column_text(st, 0),
            .original = (const char *)sqlite3_column_text(st, 1),
            .replacement = (const char *)sqlite3_column_text(st, 2),
            .step = (const char *)sqlite3_column_text(st, 3),
            .context = (const char *)sqlite3_column_text(st, 4),
            .recorded_ms = sqlite3_column_int64(st, 5),
        };
        if ((out = fn(ud, &rec)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = store_db_error(idx, rc, err, "cannot read the pseudonym map");
    sqlite3_finalize(st);
    return out;
}
