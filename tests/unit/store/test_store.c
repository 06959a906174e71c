/* Unit tests for src/store: the SQLite index and the committer. */
#include "store/store-private.h"
#include "store/store.h"
#include "test_store.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

static char tmpdir[256];
static char dbpath[300];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-store-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/index.db", tmpdir);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void make_rec(struct store_instance *r, const char *study, const char *series,
                     const char *sop, const char *path)
{
    store_instance_clear(r);
    strcpy(r->sop_instance_uid, sop);
    strcpy(r->sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    strcpy(r->transfer_syntax, "1.2.840.10008.1.2.1");
    strcpy(r->patient_id, "P001");
    strcpy(r->patient_name, "张^三");
    strcpy(r->study_instance_uid, study);
    strcpy(r->series_instance_uid, series);
    strcpy(r->modality, "CT");
    strcpy(r->calling_ae, "TOWNSHIP_CT1");
    strcpy(r->called_ae, "FERRY");
    strcpy(r->peer, "10.1.2.3:40112");
    r->received_at_ms = 1700000000000;
    r->size = 526000;
    r->checksum = 0xfedcba9876543210ull;
    strcpy(r->path, path);
    r->instance_number = 7;
}

static struct store_job_spec job(const char *dest, int prio)
{
    struct store_job_spec j = { .priority = prio };
    strcpy(j.destination, dest);
    strcpy(j.route, "to-reading-center");
    strcpy(j.pipeline, "compress syntax=jpeg-ls-lossless");
    return j;
}

int64_t test_store_scalar(const char *path, const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void ingest_ok(struct store_index *idx, const struct store_instance *r,
                      enum store_duplicate_policy pol, const struct store_job_spec *jobs,
                      size_t n, struct store_ingest_result *res)
{
    struct ferry_error *err = NULL;
    ck_assert_int_eq(store_index_begin(idx, &err), 0);
    int rc = store_index_ingest(idx, r, pol, jobs, n, res, &err);
    ck_assert_msg(rc == 0, "ingest: %s", ferry_error_message(err));
    ck_assert_int_eq(store_index_commit(idx, &err), 0);
    ck_assert_ptr_null(err);
}

START_TEST(test_open_creates_private_file)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    ck_assert_msg(idx != NULL, "%s", ferry_error_message(err));
    struct stat st;
    ck_assert_int_eq(stat(dbpath, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    store_index_close(idx);
    ck_assert_int_eq(test_store_scalar(dbpath, "PRAGMA user_version"), 3);
    /* Opening again keeps the data and the schema. */
    idx = store_index_open(dbpath, &err);
    ck_assert_ptr_nonnull(idx);
    store_index_close(idx);
}
END_TEST

/* The connection's own synchronous setting (a pragma of the connection,
 * not of the file: another connection cannot see it). */
static int synchronous(struct store_index *idx)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(idx->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

START_TEST(test_set_durable)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    ck_assert_ptr_nonnull(idx);
    ck_assert_int_eq(synchronous(idx), 2); /* FULL: a commit is on disk */
    ck_assert_int_eq(store_index_set_durable(idx, false, &err), 0);
    ck_assert_int_eq(synchronous(idx), 0); /* OFF: storage.fsync false */
    ck_assert_int_eq(store_index_set_durable(idx, true, &err), 0);
    ck_assert_int_eq(synchronous(idx), 2);
    ck_assert_ptr_null(err);
    store_index_close(idx);
}
END_TEST

START_TEST(test_open_errors)
{
    struct ferry_error *err = NULL;
    char bad[400];
    snprintf(bad, sizeof bad, "%s/missing-dir/index.db", tmpdir);
    ck_assert_ptr_null(store_index_open(bad, &err));
    ck_assert_int_eq(err->code, -ENOENT);
    char want[600];
    snprintf(want, sizeof want, "index %s: cannot create: No such file or directory", bad);
    ck_assert_str_eq(err->message, want);
    ferry_error_free(err);
    err = NULL;

    /* A file from a newer ferry is refused, not damaged. */
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_ptr_null(store_index_open(dbpath, &err));
    snprintf(want, sizeof want, "index %s: schema version 99 is newer than this ferry (3)",
             dbpath);
    ck_assert_str_eq(err->message, want);
    ferry_error_free(err);
}
END_TEST

START_TEST(test_ingest_new_and_lookup)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    ck_assert_ptr_nonnull(idx);
    struct store_instance r;
    struct store_ingest_result res;
    struct store_job_spec jobs[2] = { job("READING", 0), job("RESEARCH", -1) };
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/aa/1.2.3.4.5.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, jobs, 2, &res);
    ck_assert_int_eq(res.outcome, STORE_INGEST_NEW);
    ck_assert_int_eq(res.jobs_created, 2);
    ck_assert_str_eq(res.obsolete_path, "");
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.6", "spool/aa/1.2.3.4.6.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, jobs, 1, &res);

    ck_assert_int_eq(store_index_count(idx, "patient", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "study", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "series", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "instance", -1), 2);
    ck_assert_int_eq(store_index_count(idx, "job", STORE_JOB_PENDING), 3);
    ck_assert_int_eq(store_index_count(idx, "nonsense", -1), -EINVAL);

    char path[STORE_PATH_MAX];
    int64_t size;
    uint64_t sum;
    ck_assert_int_eq(store_index_find_instance(idx, "1.2.3.4.5", path, &size, &sum), 0);
    ck_assert_str_eq(path, "spool/aa/1.2.3.4.5.dcm");
    ck_assert_int_eq(size, 526000);
    ck_assert_uint_eq(sum, 0xfedcba9876543210ull);
    ck_assert_int_eq(store_index_find_instance(idx, "9.9", path, &size, &sum), -ENOENT);
    store_index_close(idx);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM patient WHERE name = '张^三'"), 1);
}
END_TEST

START_TEST(test_duplicate_policies)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_instance r;
    struct store_ingest_result res;
    struct store_job_spec j = job("READING", 0);
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/first.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, &j, 1, &res);

    /* keep-newest: the new file replaces the old; the waiting job now points
     * at the new arrival instead of a second job being queued. */
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/second.dcm");
    r.checksum = 42;
    j.priority = 5;
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, &j, 1, &res);
    ck_assert_int_eq(res.outcome, STORE_INGEST_REPLACED);
    ck_assert_str_eq(res.obsolete_path, "spool/a/first.dcm");
    ck_assert_int_eq(res.jobs_created, 0);
    char path[STORE_PATH_MAX];
    uint64_t sum;
    ck_assert_int_eq(store_index_find_instance(idx, "1.2.3.4.5", path, NULL, &sum), 0);
    ck_assert_str_eq(path, "spool/a/second.dcm");
    ck_assert_uint_eq(sum, 42);

    /* keep-first: nothing changes but the arrival is recorded. */
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/third.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_FIRST, &j, 1, &res);
    ck_assert_int_eq(res.outcome, STORE_INGEST_KEPT_FIRST);
    ck_assert_int_eq(store_index_find_instance(idx, "1.2.3.4.5", path, NULL, NULL), 0);
    ck_assert_str_eq(path, "spool/a/second.dcm");

    ingest_ok(idx, &r, STORE_DUP_REJECT, &j, 1, &res);
    ck_assert_int_eq(res.outcome, STORE_INGEST_REJECTED);

    ck_assert_int_eq(store_index_count(idx, "instance", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "arrival", -1), 4);
    ck_assert_int_eq(store_index_count(idx, "job", -1), 1);
    store_index_close(idx);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT priority FROM job"), 5);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM arrival WHERE kept = 0"), 2);

    /* Once delivered, a new version makes a new job. */
    sqlite3 *db;
    sqlite3_open(dbpath, &db);
    ck_assert_int_eq(sqlite3_exec(db, "UPDATE job SET state = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    idx = store_index_open(dbpath, &err);
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/fourth.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, &j, 1, &res);
    ck_assert_int_eq(res.jobs_created, 1);
    store_index_close(idx);
}
END_TEST

START_TEST(test_failed_ingest_keeps_the_batch)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_instance r;
    struct store_ingest_result res;
    ck_assert_int_eq(store_index_begin(idx, &err), 0);
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/1.dcm");
    ck_assert_int_eq(store_index_ingest(idx, &r, STORE_DUP_KEEP_NEWEST, NULL, 0, &res, &err), 0);
    make_rec(&r, "1.2.3", "1.2.3.4", "", "spool/a/2.dcm");
    ck_assert_int_eq(store_index_ingest(idx, &r, STORE_DUP_KEEP_NEWEST, NULL, 0, &res, &err),
                     -EINVAL);
    ck_assert_str_eq(err->message, "no SOP Instance UID to index");
    ferry_error_free(err);
    err = NULL;
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.7", "spool/a/3.dcm");
    ck_assert_int_eq(store_index_ingest(idx, &r, STORE_DUP_KEEP_NEWEST, NULL, 0, &res, &err), 0);
    ck_assert_int_eq(store_index_commit(idx, &err), 0);
    ck_assert_int_eq(store_index_count(idx, "instance", -1), 2);
    store_index_close(idx);
}
END_TEST

START_TEST(test_index_full)
{
    /* A real full file system: a 200 KiB tmpfs in a private mount namespace
     * (Check runs each test in its own child process). Needs root. */
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "test_index_full: skipped, needs root to mount a small tmpfs\n");
        return;
    }
    char small[300];
    snprintf(small, sizeof small, "%s/small", tmpdir);
    ck_assert_int_eq(mkdir(small, 0700), 0);
    ck_assert_int_eq(mount("tmpfs", small, "tmpfs", 0, "size=200k"), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/index.db", small);
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(path, &err);
    ck_assert_msg(idx != NULL, "%s", ferry_error_message(err));
    struct store_instance r;
    struct store_ingest_result res;
    int rc = 0, stored = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        char uid[64];
        snprintf(uid, sizeof uid, "1.2.3.4.%d", i);
        make_rec(&r, "1.2.3", "1.2.3.4", uid, "spool/x.dcm");
        if ((rc = store_index_begin(idx, &err)) < 0)
            break;
        rc = store_index_ingest(idx, &r, STORE_DUP_KEEP_NEWEST, NULL, 0, &res, &err);
        if (rc == 0)
            rc = store_index_commit(idx, &err);
        if (rc < 0)
            store_index_rollback(idx);
        else
            stored++;
    }
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_ptr_nonnull(strstr(err->message, "database or disk is full"));
    ferry_error_free(err);
    /* What was committed before the disk filled is intact. */
    ck_assert_int_eq(store_index_count(idx, "instance", -1), stored);
    store_index_close(idx);
    umount2(small, MNT_DETACH);
}
END_TEST

START_TEST(test_recover_inflight)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_instance r;
    struct store_ingest_result res;
    struct store_job_spec jobs[2] = { job("A", 0), job("B", 0) };
    make_rec(&r, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/a/1.dcm");
    ingest_ok(idx, &r, STORE_DUP_KEEP_NEWEST, jobs, 2, &res);
    store_index_close(idx);
    sqlite3 *db;
    sqlite3_open(dbpath, &db);
    sqlite3_exec(db, "UPDATE job SET state = 1 WHERE destination = 'A'", NULL, NULL, NULL);
    sqlite3_close(db);
    idx = store_index_open(dbpath, &err);
    ck_assert_int_eq(store_index_recover(idx, &err), 1);
    ck_assert_int_eq(store_index_count(idx, "job", STORE_JOB_PENDING), 2);
    ck_assert_int_eq(store_index_recover(idx, &err), 0);
    store_index_close(idx);
}
END_TEST

START_TEST(test_copy_field_utf8)
{
    char small[6];
    /* "张三" is 6 bytes: it does not fit in 5 + NUL and must not be cut
     * inside the second character. */
    ck_assert(!store_copy_field(small, sizeof small, "张三", strlen("张三")));
    ck_assert_str_eq(small, "张");
    ck_assert(store_copy_field(small, sizeof small, "abc", 3));
    ck_assert_str_eq(small, "abc");
}
END_TEST

/* --- the committer --- */

struct done_counter {
    pthread_mutex_t lock;
    int done, failed;
};

static struct done_counter counter = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };

static void on_done(struct store_ingest_req *req)
{
    pthread_mutex_lock(&counter.lock);
    if (req->status == 0)
        counter.done++;
    else
        counter.failed++;
    pthread_mutex_unlock(&counter.lock);
    ferry_error_free(req->error);
}

struct submitter {
    struct store_committer *c;
    struct store_ingest_req *reqs;
    int n, base;
};

static void *submit_many(void *arg)
{
    struct submitter *s = arg;
    for (int i = 0; i < s->n; i++) {
        struct store_ingest_req *q = &s->reqs[i];
        char uid[64], series[64];
        snprintf(uid, sizeof uid, "1.2.3.4.%d", s->base + i);
        snprintf(series, sizeof series, "1.2.3.%d", s->base);
        make_rec(&q->rec, "1.2.3", series, uid, "spool/x.dcm");
        q->done = on_done;
        store_committer_submit(s->c, q);
    }
    return NULL;
}

START_TEST(test_committer_batches)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_committer *c = store_committer_start(idx, 64, &err);
    ck_assert_ptr_nonnull(c);
    enum { THREADS = 4, PER = 500 };
    struct store_ingest_req *reqs = calloc(THREADS * PER, sizeof *reqs);
    struct submitter s[THREADS];
    pthread_t t[THREADS];
    counter.done = counter.failed = 0;
    for (int i = 0; i < THREADS; i++) {
        s[i] = (struct submitter){ c, reqs + i * PER, PER, i * PER };
        pthread_create(&t[i], NULL, submit_many, &s[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    store_committer_stop(c); /* commits what is queued */
    ck_assert_int_eq(counter.done, THREADS * PER);
    ck_assert_int_eq(counter.failed, 0);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM instance"), THREADS * PER);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM series"), THREADS);
    free(reqs);
}
END_TEST

START_TEST(test_committer_groups_commits)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_committer *c = store_committer_start(idx, 0, &err);
    enum { N = 2000 };
    struct store_ingest_req *reqs = calloc(N, sizeof *reqs);
    counter.done = counter.failed = 0;
    struct submitter s = { c, reqs, N, 0 };
    submit_many(&s);
    /* Wait (bounded) until everything is committed. */
    uint64_t tx = 0, inst = 0;
    for (int i = 0; i < 3000 && inst < N; i++) {
        usleep(10000);
        store_committer_stats(c, &tx, &inst);
    }
    ck_assert_uint_eq(inst, N);
    /* Queued faster than one fsync each: far fewer transactions than
     * instances. */
    ck_assert_uint_lt(tx, N / 4);
    store_committer_stop(c);
    ck_assert_int_eq(counter.done, N);
    free(reqs);
}
END_TEST

START_TEST(test_committer_reports_failures)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_committer *c = store_committer_start(idx, 0, &err);
    struct store_ingest_req good = { 0 }, bad = { 0 };
    counter.done = counter.failed = 0;
    make_rec(&good.rec, "1.2.3", "1.2.3.4", "1.2.3.4.5", "spool/x.dcm");
    make_rec(&bad.rec, "1.2.3", "1.2.3.4", "", "spool/y.dcm");
    good.done = bad.done = on_done;
    store_committer_submit(c, &bad);
    store_committer_submit(c, &good);
    store_committer_stop(c);
    ck_assert_int_eq(counter.done, 1);
    ck_assert_int_eq(counter.failed, 1);
    ck_assert_int_eq(bad.status, -EINVAL);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM instance"), 1);
}
END_TEST

/* The plan hook runs on the committer thread inside the transaction and
 * its jobs are recorded with the instance; a failing plan fails that
 * instance alone. */
static int plan_jobs(struct store_ingest_req *req, void *ud)
{
    int *calls = ud;
    (*calls)++;
    if (strcmp(req->rec.sop_instance_uid, "1.2.3.4.66") == 0)
        return ferry_error_set(&req->error, -EINVAL, "no route for %s",
                               req->rec.sop_instance_uid);
    req->jobs = calloc(2, sizeof *req->jobs);
    req->jobs[0] = job("A", 1);
    req->jobs[1] = job("B", 2);
    req->n_jobs = 2;
    req->free_jobs = true;
    return 0;
}

static char plan_error[128];

static void on_plan_done(struct store_ingest_req *req)
{
    if (req->error)
        snprintf(plan_error, sizeof plan_error, "%s", req->error->message);
    on_done(req);
}

START_TEST(test_committer_plan_hook)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(dbpath, &err);
    struct store_committer *c = store_committer_start(idx, 0, &err);
    struct store_ingest_req good = { 0 }, bad = { 0 };
    int calls = 0;
    counter.done = counter.failed = 0;
    make_rec(&good.rec, "1.2.3", "1.2.3.4", "1.2.3.4.55", "spool/x.dcm");
    make_rec(&bad.rec, "1.2.3", "1.2.3.4", "1.2.3.4.66", "spool/y.dcm");
    good.done = bad.done = on_plan_done;
    good.plan = bad.plan = plan_jobs;
    good.plan_ud = bad.plan_ud = &calls;
    store_committer_submit(c, &good);
    store_committer_submit(c, &bad);
    store_committer_stop(c);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(counter.done, 1);
    ck_assert_int_eq(bad.status, -EINVAL);
    ck_assert_str_eq(plan_error, "no route for 1.2.3.4.66");
    ck_assert_uint_eq(good.result.jobs_created, 2);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM job"), 2);
    ck_assert_int_eq(test_store_scalar(dbpath, "SELECT count(*) FROM instance"), 1);
    free(good.jobs);
}
END_TEST

TCase *store_queue_tcase(void);

int main(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("index");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_creates_private_file);
    tcase_add_test(tc, test_set_durable);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_ingest_new_and_lookup);
    tcase_add_test(tc, test_duplicate_policies);
    tcase_add_test(tc, test_failed_ingest_keeps_the_batch);
    tcase_add_test(tc, test_index_full);
    tcase_add_test(tc, test_recover_inflight);
    tcase_add_test(tc, test_copy_field_utf8);
    suite_add_tcase(s, tc);
    tc = tcase_create("committer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_committer_batches);
    tcase_add_test(tc, test_committer_groups_commits);
    tcase_add_test(tc, test_committer_reports_failures);
    tcase_add_test(tc, test_committer_plan_hook);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, store_queue_tcase());
    suite_add_tcase(s, spool_tcase());
    suite_add_tcase(s, pseudonym_tcase());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
