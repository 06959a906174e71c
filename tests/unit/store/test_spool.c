/* Unit tests for the spool writer (src/store/spool.h): instances written
 * through a real ring and recorded by a real committer in a temporary data
 * folder. */
#include "test_store.h"

#include "dcm/dcm.h"
#include "net/net.h"
#include "store/spool.h"
#include "store/store.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static char dir[256];

static void sp_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferry-spool-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void sp_teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------ fixture */

struct rig {
    struct net_loop *loop;
    struct store_committer *committer;
    struct store_spool *sp;
    struct store_spool_config cfg;
    char data[300];
};

struct outcome {
    bool done;
    int resumes;
    struct store_write_result r;
    char message[512];
    char path[4096];
};

static void on_resume(void *ud)
{
    struct outcome *o = ud;
    o->resumes++;
}

static void on_done(void *ud, const struct store_write_result *r)
{
    struct outcome *o = ud;
    ck_assert(!o->done);
    o->done = true;
    o->r = *r;
    snprintf(o->message, sizeof o->message, "%s", r->message);
    snprintf(o->path, sizeof o->path, "%s", r->path);
    o->r.message = o->message;
    o->r.path = o->path;
}

static const struct store_write_ops ops = { .resume = on_resume, .done = on_done };

static void rig_open(struct rig *g, const struct store_spool_config *cfg)
{
    memset(g, 0, sizeof *g);
    snprintf(g->data, sizeof g->data, "%s/data", dir);
    mkdir(g->data, 0750);
    struct ferry_error *err = NULL;
    char path[400];
    snprintf(path, sizeof path, "%s/index.sqlite", g->data);
    struct store_index *idx = store_index_open(path, &err);
    ck_assert_msg(idx != NULL, "%s", ferry_error_message(err));
    ck_assert_int_ge(store_spool_recover(g->data, idx, &err), 0);
    g->committer = store_committer_start(idx, 0, &err);
    ck_assert_ptr_nonnull(g->committer);
    g->loop = net_loop_new(&(struct net_loop_options){ .quiet = true }, &err);
    ck_assert_ptr_nonnull(g->loop);
    if (cfg)
        g->cfg = *cfg;
    else
        g->cfg.fsync = true;
    g->cfg.data_dir = g->data;
    g->sp = store_spool_open(g->loop, g->committer, &g->cfg, &err);
    ck_assert_msg(g->sp != NULL, "%s", ferry_error_message(err));
}

static void drained(void *arg)
{
    *(bool *)arg = true;
}

static void rig_close(struct rig *g)
{
    bool done = false;
    store_spool_drain(g->sp, drained, &done);
    for (int i = 0; i < 2000 && !done; i++)
        net_loop_run_once(g->loop, 10);
    ck_assert(done);
    ck_assert_int_eq(store_spool_close(g->sp), 0);
    net_loop_free(g->loop);
    store_committer_stop(g->committer);
}

/* Run the loop until the write reported (bounded). */
static void run_until(struct rig *g, struct outcome *o)
{
    for (int i = 0; i < 2000 && !o->done; i++)
        net_loop_run_once(g->loop, 10);
    ck_assert_msg(o->done, "the write did not finish");
}

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define EXPLICIT "1.2.840.10008.1.2.1"

/* A small CT data set in Explicit VR LE, with pixel data of `pixels` bytes. */
static struct dcm_buf make_dataset(const char *sop_uid, const char *study, size_t pixels)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_NONE, CT_CLASS);
    dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, sop_uid);
    dcm_dataset_set_string(ds, DCM_TAG_SpecificCharacterSet, DCM_VR_NONE, "ISO_IR 192");
    dcm_dataset_set_utf8(ds, DCM_TAG_PatientName, DCM_VR_NONE, "张^三");
    dcm_dataset_set_string(ds, DCM_TAG_PatientID, DCM_VR_NONE, "P-42");
    dcm_dataset_set_string(ds, DCM_TAG_StudyInstanceUID, DCM_VR_NONE, study);
    dcm_dataset_set_string(ds, DCM_TAG_SeriesInstanceUID, DCM_VR_NONE, "1.2.3.9.1");
    dcm_dataset_set_string(ds, DCM_TAG_Modality, DCM_VR_NONE, "CT");
    dcm_dataset_set_string(ds, DCM_TAG_StudyDescription, DCM_VR_NONE, "CHEST");
    dcm_dataset_set_int(ds, DCM_TAG_InstanceNumber, DCM_VR_NONE, 7);
    if (pixels) {
        uint8_t *px = malloc(pixels);
        for (size_t i = 0; i < pixels; i++)
            px[i] = (uint8_t)(i * 7);
        ck_assert_int_eq(dcm_dataset_set_take(ds, DCM_TAG_PixelData, DCM_VR_OW, px,
                                              (uint32_t)pixels), 0);
    }
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, EXPLICIT, 0, &out, NULL), 0);
    dcm_dataset_unref(ds);
    return out;
}

static struct store_write_info info_for(const char *uid)
{
    static struct sockaddr_storage peer;
    return (struct store_write_info){
        .sop_class_uid = CT_CLASS,
        .sop_instance_uid = uid,
        .transfer_syntax = EXPLICIT,
        .calling_ae = "MODALITY1",
        .called_ae = "FERRY",
        .peer = "127.0.0.1:40000",
        .peer_addr = &peer,
        .log_ctx = "test",
    };
}

/* Feed buf in pieces of `piece` bytes; returns how many pauses were asked. */
static int feed(struct rig *g, struct store_write *w, const struct dcm_buf *buf, size_t piece,
                struct outcome *o)
{
    int pauses = 0;
    for (size_t off = 0; off < buf->len; off += piece) {
        size_t n = buf->len - off < piece ? buf->len - off : piece;
        bool last = off + n == buf->len;
        if (store_write_data(w, buf->data + off, n, last)) {
            pauses++;
            int before = o->resumes;
            for (int i = 0; i < 2000 && o->resumes == before; i++)
                net_loop_run_once(g->loop, 10);
            ck_assert_int_gt(o->resumes, before);
        }
    }
    return pauses;
}

static uint64_t file_xxh3(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    uint8_t b[65536];
    size_t n, total = 0;
    while ((n = fread(b, 1, sizeof b, f)) > 0) {
        XXH3_64bits_update(st, b, n);
        total += n;
    }
    fclose(f);
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    *size = total;
    return h;
}

static size_t count_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* --------------------------------------------------------------- tests */

static int plan_calls;

static int plan(struct store_ingest_req *req, void *ud)
{
    (void)ud;
    plan_calls++;
    ck_assert_ptr_nonnull(req->dataset);
    char desc[64];
    ck_assert_int_gt(dcm_dataset_get_utf8(req->dataset, DCM_TAG_StudyDescription, 0, desc,
                                          sizeof desc), 0);
    ck_assert_str_eq(desc, "CHEST");
    ck_assert_str_eq(req->rec.calling_ae, "MODALITY1");
    req->jobs = calloc(1, sizeof *req->jobs);
    strcpy(req->jobs[0].destination, "CENTER");
    strcpy(req->jobs[0].route, "all");
    req->n_jobs = 1;
    req->free_jobs = true;
    return 0;
}

START_TEST(test_store_one)
{
    struct rig g;
    struct store_spool_config cfg = { .fsync = true, .sync_range = true, .plan = plan,
                                      .chunk_size = 8192 };
    rig_open(&g, &cfg);
    struct dcm_buf ds = make_dataset("1.2.3.9.1.1", "1.2.3.9", 100000);
    struct outcome o = { 0 };
    struct store_write_info wi = info_for("1.2.3.9.1.1");
    struct store_write *w = store_write_begin(g.sp, &wi, &ops, &o);
    ck_assert_ptr_nonnull(w);
    plan_calls = 0;
    feed(&g, w, &ds, 999, &o); /* odd pieces, across chunk boundaries */
    run_until(&g, &o);
    ck_assert_msg(o.r.status == STORE_WRITE_STORED, "%d %s", o.r.status, o.message);
    ck_assert_int_eq(o.r.outcome, STORE_INGEST_NEW);
    ck_assert_int_eq(plan_calls, 1);
    ck_assert(strncmp(o.path, "spool/", 6) == 0);
    ck_assert_ptr_nonnull(strstr(o.path, "/1.2.3.9.1.1."));
    /* the file: preamble, DICM, meta, then the data set as fed */
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", g.data, o.path);
    size_t size;
    ck_assert_uint_eq(file_xxh3(path, &size), o.r.checksum);
    ck_assert_uint_eq(size, o.r.size);
    struct ferry_error *err = NULL;
    struct dcm_dataset *f = dcm_read_file(path, NULL, &err);
    ck_assert_msg(f != NULL, "%s", ferry_error_message(err));
    const struct dcm_dataset *meta = dcm_dataset_meta(f);
    char v[80];
    dcm_dataset_get_cstr(meta, DCM_TAG_TransferSyntaxUID, 0, v, sizeof v);
    ck_assert_str_eq(v, EXPLICIT);
    dcm_dataset_get_cstr(meta, DCM_TAG_SourceApplicationEntityTitle, 0, v, sizeof v);
    ck_assert_str_eq(v, "MODALITY1");
    dcm_dataset_get_cstr(meta, DCM_TAG_MediaStorageSOPInstanceUID, 0, v, sizeof v);
    ck_assert_str_eq(v, "1.2.3.9.1.1");
    dcm_dataset_unref(f);
    FILE *fp = fopen(path, "rb");
    uint8_t *all = malloc(size);
    ck_assert_uint_eq(fread(all, 1, size, fp), size);
    fclose(fp);
    ck_assert(memcmp(all + size - ds.len, ds.data, ds.len) == 0);
    free(all);
    ck_assert_uint_eq(count_files(g.data), 5); /* index, its wal and shm, spool, quarantine */
    rig_close(&g);
    /* the index has it, with its attributes, checksum and job */
    char db[400];
    snprintf(db, sizeof db, "%s/index.sqlite", g.data);
    struct store_index *idx = store_index_open_readonly(db, &err);
    char got[STORE_PATH_MAX];
    int64_t isize;
    uint64_t sum;
    ck_assert_int_eq(store_index_find_instance(idx, "1.2.3.9.1.1", got, &isize, &sum), 0);
    ck_assert_str_eq(got, o.path);
    ck_assert_uint_eq(sum, o.r.checksum);
    ck_assert_int_eq(isize, (int64_t)o.r.size);
    ck_assert_int_eq(store_index_count(idx, "job", -1), 1);
    store_index_close(idx);
    ck_assert_int_eq(test_store_scalar(db, "SELECT count(*) FROM patient WHERE name = '张^三'"
                                           " AND patient_id = 'P-42'"),
                     1);
    ck_assert_int_eq(test_store_scalar(db, "SELECT count(*) FROM instance WHERE instance_number = 7"),
                     1);
    dcm_buf_free(&ds);
}
END_TEST

START_TEST(test_backpressure)
{
    struct rig g;
    struct store_spool_config cfg = { .fsync = false, .chunk_size = 4096, .max_inflight = 8192 };
    rig_open(&g, &cfg);
    struct dcm_buf ds = make_dataset("1.2.3.9.1.2", "1.2.3.9", 1 << 20);
    struct outcome o = { 0 };
    struct store_write_info wi = info_for("1.2.3.9.1.2");
    struct store_write *w = store_write_begin(g.sp, &wi, &ops, &o);
    int pauses = feed(&g, w, &ds, 16384, &o);
    ck_assert_int_gt(pauses, 10);
    run_until(&g, &o);
    ck_assert_int_eq(o.r.status, STORE_WRITE_STORED);
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", g.data, o.path);
    size_t size;
    ck_assert_uint_eq(file_xxh3(path, &size), o.r.checksum);
    ck_assert_uint_eq(size, o.r.size);
    ck_assert_uint_gt(size, ds.len); /* the data set and a Part 10 header */
    rig_close(&g);
    dcm_buf_free(&ds);
}
END_TEST

static void store_bytes(struct rig *g, const char *uid, const uint8_t *bytes, size_t len,
                        struct outcome *o)
{
    struct store_write_info wi = info_for(uid);
    struct store_write *w = store_write_begin(g->sp, &wi, &ops, o);
    ck_assert_ptr_nonnull(w);
    struct dcm_buf b = { .data = (uint8_t *)bytes, .len = len };
    feed(g, w, &b, 100, o);
    run_until(g, o);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_quarantine)
{
    struct rig g;
    rig_open(&g, NULL);
    /* malformed: cut in the middle of the pixel data */
    struct dcm_buf ds = make_dataset("1.2.3.9.2.1", "1.2.3.9", 4000);
    struct outcome o = { 0 };
    store_bytes(&g, "1.2.3.9.2.1", ds.data, ds.len - 1000, &o);
    ck_assert_int_eq(o.r.status, STORE_WRITE_MALFORMED);
    ck_assert_ptr_nonnull(strstr(o.message, "(7FE0,0010) OW: value length 4000 exceeds the 3000 "
                                            "bytes that remain"));
    ck_assert(strncmp(o.path, "quarantine/", 11) == 0); /* relative to the data folder */
    char reason[4500];
    snprintf(reason, sizeof reason, "%s/%.*s.reason", g.data, (int)strlen(o.path) - 4, o.path);
    const char *text = slurp(reason);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "problem: the data set cannot be read\n"));
    ck_assert_ptr_nonnull(strstr(text, "tag: (7FE0,0010)\n"));
    ck_assert_ptr_nonnull(strstr(text, "calling AE title: MODALITY1\n"));
    ck_assert_ptr_nonnull(strstr(text, "command SOP Instance UID: 1.2.3.9.2.1\n"));
    struct stat st;
    char qpath[4500];
    snprintf(qpath, sizeof qpath, "%s/%s", g.data, o.path);
    ck_assert_int_eq(stat(qpath, &st), 0);
    ck_assert_uint_eq((uint64_t)st.st_size, o.r.size);

    /* the data set's instance UID is not the command's */
    struct dcm_buf other = make_dataset("1.2.3.9.2.3", "1.2.3.9", 0);
    struct outcome o2 = { 0 };
    store_bytes(&g, "1.2.3.9.2.2", other.data, other.len, &o2);
    ck_assert_int_eq(o2.r.status, STORE_WRITE_MISMATCH);
    ck_assert_str_eq(o2.message, "the data set's SOP Instance UID (0008,0018) 1.2.3.9.2.3 is not "
                                 "the command's 1.2.3.9.2.2");

    /* a command UID that cannot name a file */
    struct outcome o3 = { 0 };
    store_bytes(&g, "../../etc/passwd", other.data, other.len, &o3);
    ck_assert_int_eq(o3.r.status, STORE_WRITE_MALFORMED);
    ck_assert_str_eq(o3.message, "the command's Affected SOP Instance UID '../../etc/passwd' is "
                                 "not a UID (1 to 64 digits and dots)");
    ck_assert(strncmp(o3.path, "quarantine/", 11) == 0);
    rig_close(&g);
    char db[400];
    snprintf(db, sizeof db, "%s/index.sqlite", g.data);
    ck_assert_int_eq(test_store_scalar(db, "SELECT count(*) FROM instance"), 0);
    char spool[400];
    snprintf(spool, sizeof spool, "%s/spool/incoming", g.data);
    ck_assert_uint_eq(count_files(spool), 0);
    dcm_buf_free(&ds);
    dcm_buf_free(&other);
}
END_TEST

START_TEST(test_duplicates)
{
    struct rig g;
    rig_open(&g, NULL);
    struct dcm_buf ds = make_dataset("1.2.3.9.3.1", "1.2.3.9", 1000);
    struct outcome a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
    store_bytes(&g, "1.2.3.9.3.1", ds.data, ds.len, &a);
    ck_assert_int_eq(a.r.status, STORE_WRITE_STORED);
    store_bytes(&g, "1.2.3.9.3.1", ds.data, ds.len, &b); /* keep-newest */
    ck_assert_int_eq(b.r.status, STORE_WRITE_STORED);
    ck_assert_int_eq(b.r.outcome, STORE_INGEST_REPLACED);
    ck_assert_str_ne(a.path, b.path);
    store_spool_set_duplicates(g.sp, STORE_DUP_KEEP_FIRST);
    store_bytes(&g, "1.2.3.9.3.1", ds.data, ds.len, &c);
    ck_assert_int_eq(c.r.status, STORE_WRITE_STORED);
    ck_assert_int_eq(c.r.outcome, STORE_INGEST_KEPT_FIRST);
    ck_assert_str_eq(c.path, "");
    store_spool_set_duplicates(g.sp, STORE_DUP_REJECT);
    store_bytes(&g, "1.2.3.9.3.1", ds.data, ds.len, &d);
    ck_assert_int_eq(d.r.status, STORE_WRITE_DUPLICATE);
    rig_close(&g);
    /* only the kept file is left: the replaced one and the refused ones are gone */
    char p[4500];
    snprintf(p, sizeof p, "%s/%s", g.data, a.path);
    ck_assert_int_eq(access(p, F_OK), -1);
    snprintf(p, sizeof p, "%s/%s", g.data, b.path);
    ck_assert_int_eq(access(p, F_OK), 0);
    char hour[4500];
    snprintf(hour, sizeof hour, "%s", p);
    *strrchr(hour, '/') = '\0';
    ck_assert_uint_eq(count_files(hour), 1);
    char db[400];
    snprintf(db, sizeof db, "%s/index.sqlite", g.data);
    ck_assert_int_eq(test_store_scalar(db, "SELECT count(*) FROM arrival"), 4);
    dcm_buf_free(&ds);
}
END_TEST

START_TEST(test_abandon)
{
    struct rig g;
    rig_open(&g, NULL);
    struct dcm_buf ds = make_dataset("1.2.3.9.4.1", "1.2.3.9", 100000);
    struct outcome o = { 0 };
    struct store_write_info wi = info_for("1.2.3.9.4.1");
    struct store_write *w = store_write_begin(g.sp, &wi, &ops, &o);
    store_write_data(w, ds.data, ds.len / 2, false);
    for (int i = 0; i < 5; i++)
        net_loop_run_once(g.loop, 10);
    store_write_abandon(w);
    rig_close(&g); /* drains: the abandoned write removes its file */
    ck_assert(!o.done);
    char p[400];
    snprintf(p, sizeof p, "%s/spool/incoming", g.data);
    ck_assert_uint_eq(count_files(p), 0);
    dcm_buf_free(&ds);
}
END_TEST

START_TEST(test_recover)
{
    struct rig g;
    rig_open(&g, NULL);
    struct dcm_buf ds = make_dataset("1.2.3.9.5.1", "1.2.3.9", 100);
    struct outcome o = { 0 };
    store_bytes(&g, "1.2.3.9.5.1", ds.data, ds.len, &o);
    ck_assert_int_eq(o.r.status, STORE_WRITE_STORED);
    /* as if it crashed: the marker stays; a half-written file in incoming;
     * a file renamed into the hour folder but never committed */
    struct rig_leftovers {
        char incoming[400], orphan[4500], kept[4500];
    } lf;
    snprintf(lf.incoming, sizeof lf.incoming, "%s/spool/incoming/0123456789abcdef.part", g.data);
    snprintf(lf.kept, sizeof lf.kept, "%s/%s", g.data, o.path);
    snprintf(lf.orphan, sizeof lf.orphan, "%s", lf.kept);
    strcpy(strrchr(lf.orphan, '/'), "/1.2.3.9.5.2.fedcba9876543210.dcm");
    char marker[400];
    snprintf(marker, sizeof marker, "%s/spool/.running", g.data);
    rig_close(&g); /* a clean close removes the marker */
    ck_assert_int_eq(access(marker, F_OK), -1);
    FILE *f;
    ck_assert_ptr_nonnull(f = fopen(marker, "w"));
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(lf.incoming, "w"));
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(lf.orphan, "w"));
    fclose(f);
    struct ferry_error *err = NULL;
    char db[400];
    snprintf(db, sizeof db, "%s/index.sqlite", g.data);
    struct store_index *idx = store_index_open(db, &err);
    ck_assert_int_eq(store_spool_recover(g.data, idx, &err), 2);
    store_index_close(idx);
    ck_assert_int_eq(access(lf.incoming, F_OK), -1);
    ck_assert_int_eq(access(lf.orphan, F_OK), -1);
    ck_assert_int_eq(access(lf.kept, F_OK), 0);
    dcm_buf_free(&ds);
}
END_TEST

/* A real full disk: the data folder on a small tmpfs in a private mount
 * namespace (Check runs each test in its own process). Needs root. */
static bool small_tmpfs(const char *path, const char *size)
{
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    mkdir(path, 0750);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%s", size);
    return mount("tmpfs", path, "tmpfs", 0, opts) == 0;
}

START_TEST(test_disk_full)
{
    char data[300];
    snprintf(data, sizeof data, "%s/data", dir);
    if (!small_tmpfs(data, "2m")) {
        fprintf(stderr, "test_disk_full: skipped, needs root to mount a small tmpfs\n");
        return;
    }
    struct rig g;
    rig_open(&g, NULL);
    int stored = 0, full = 0;
    for (int i = 0; i < 4; i++) {
        char uid[64];
        snprintf(uid, sizeof uid, "1.2.3.9.6.%d", i + 1);
        struct dcm_buf one = make_dataset(uid, "1.2.3.9", 1 << 19);
        struct outcome o = { 0 };
        store_bytes(&g, uid, one.data, one.len, &o);
        if (o.r.status == STORE_WRITE_STORED)
            stored++;
        else {
            ck_assert_msg(o.r.status == STORE_WRITE_NO_SPACE, "%d %s", o.r.status, o.message);
            ck_assert_int_eq(o.r.error, -ENOSPC);
            full++;
        }
        dcm_buf_free(&one);
    }
    ck_assert_int_ge(stored, 1);
    ck_assert_int_ge(full, 1);
    rig_close(&g);
    char p[400];
    snprintf(p, sizeof p, "%s/spool/incoming", data);
    ck_assert_uint_eq(count_files(p), 0);
    char db[400];
    snprintf(db, sizeof db, "%s/index.sqlite", data);
    ck_assert_int_eq(test_store_scalar(db, "SELECT count(*) FROM instance"), stored);
    umount2(data, MNT_DETACH);
}
END_TEST

START_TEST(test_quarantine_elsewhere)
{
    /* a quarantine folder on another file system: the file is copied */
    char q[300];
    snprintf(q, sizeof q, "%s/q", dir);
    if (!small_tmpfs(q, "8m")) {
        fprintf(stderr, "test_quarantine_elsewhere: skipped, needs root to mount a tmpfs\n");
        return;
    }
    struct rig g;
    struct store_spool_config cfg = { .fsync = true, .quarantine_dir = q, .chunk_size = 4096 };
    rig_open(&g, &cfg);
    struct dcm_buf ds = make_dataset("1.2.3.9.7.1", "1.2.3.9", 50000);
    struct outcome o = { 0 };
    store_bytes(&g, "1.2.3.9.7.1", ds.data, ds.len - 7, &o);
    ck_assert_int_eq(o.r.status, STORE_WRITE_MALFORMED);
    ck_assert(strncmp(o.path, q, strlen(q)) == 0);
    size_t size;
    ck_assert_uint_eq(file_xxh3(o.path, &size), o.r.checksum);
    ck_assert_uint_eq(size, o.r.size);
    rig_close(&g);
    char p[400];
    snprintf(p, sizeof p, "%s/spool/incoming", g.data);
    ck_assert_uint_eq(count_files(p), 0);
    dcm_buf_free(&ds);
    umount2(q, MNT_DETACH);
}
END_TEST

TCase *spool_tcase(void)
{
    TCase *tc = tcase_create("spool");
    tcase_add_checked_fixture(tc, sp_setup, sp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_store_one);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_quarantine);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_abandon);
    tcase_add_test(tc, test_recover);
    tcase_add_test(tc, test_disk_full);
    tcase_add_test(tc, test_quarantine_elsewhere);
    return tc;
}
