/* Unit tests for src/store: the forwarding queue. */
#include "store/queue.h"
#include "store/store-private.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TCase *store_queue_tcase(void);

static char dir[256], db[300];
static struct store_index *idx;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ferry-queue-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/index.db", dir);
    struct ferry_error *err = NULL;
    idx = store_index_open(db, &err);
    ck_assert_ptr_nonnull(idx);
}

static void teardown(void)
{
    store_index_close(idx);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Record instance `n` of study `study` at time t with jobs for `dests`. */
static void add(int n, const char *study, int64_t t, const char *dest, int prio, bool held,
                int64_t stable_at)
{
    struct store_instance r;
    store_instance_clear(&r);
    snprintf(r.sop_instance_uid, sizeof r.sop_instance_uid, "1.2.3.%d", n);
    strcpy(r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    strcpy(r.transfer_syntax, "1.2.840.10008.1.2.1");
    strcpy(r.study_instance_uid, study);
    snprintf(r.series_instance_uid, sizeof r.series_instance_uid, "%s.1", study);
    r.received_at_ms = t;
    r.size = 1000 + n;
    snprintf(r.path, sizeof r.path, "spool/%d.dcm", n);
    struct store_job_spec j = { .priority = prio, .held = held, .not_before_ms = stable_at };
    strcpy(j.destination, dest);
    strcpy(j.route, held ? "stable" : "each");
    struct store_ingest_result res;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(store_index_begin(idx, &err), 0);
    ck_assert_int_eq(store_index_ingest(idx, &r, STORE_DUP_KEEP_NEWEST, &j, 1, &res, &err), 0);
    ck_assert_int_eq(store_index_commit(idx, &err), 0);
}

START_TEST(test_claim_order_and_results)
{
    struct ferry_error *err = NULL;
    add(1, "1.9", 100, "READING", 0, false, 0);
    add(2, "1.9", 101, "READING", 0, false, 0);
    add(3, "1.8", 102, "READING", 90, false, 0); /* an emergency, queued last */
    add(4, "1.9", 103, "RESEARCH", 0, false, 0);
    struct store_job j[8];
    int n = store_queue_claim(idx, "READING", 200, 2, j, &err);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(j[0].sop_instance_uid, "1.2.3.3"); /* priority first */
    ck_assert_str_eq(j[1].sop_instance_uid, "1.2.3.1"); /* then oldest */
    ck_assert_str_eq(j[0].path, "spool/3.dcm");
    ck_assert_int_eq(j[0].size, 1003);
    ck_assert_int_eq(j[0].attempts, 1);
    ck_assert_str_eq(j[0].study_instance_uid, "1.8");
    /* Claimed jobs are not claimed again; another destination is apart. */
    n = store_queue_claim(idx, "READING", 200, 8, j + 2, &err);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(j[2].sop_instance_uid, "1.2.3.2");

    ck_assert_int_eq(store_queue_done(idx, j[0].id, 210, &err), 0);
    ck_assert_int_eq(store_queue_done(idx, j[0].id, 211, &err), -ENOENT);
    ck_assert_str_eq(err->message, "job 3 is not in flight");
    ferry_error_free(err);
    err = NULL;
    ck_assert_int_eq(store_queue_retry(idx, j[1].id, 5000, 210, "association rejected: busy", &err), 0);
    ck_assert_int_eq(store_queue_dead(idx, j[2].id, 210, "SOP class not supported (0x0122)", &err), 0);

    /* Not due before its backoff; due after, with a second attempt. */
    ck_assert_int_eq(store_queue_claim(idx, "READING", 4999, 8, j, &err), 0);
    ck_assert_int_eq(store_queue_next_due(idx, "READING"), 5000);
    ck_assert_int_eq(store_queue_next_due(idx, "NOWHERE"), INT64_MAX);
    ck_assert_int_eq(store_queue_claim(idx, "READING", 5000, 8, j, &err), 1);
    ck_assert_int_eq(j[0].attempts, 2);

    struct store_queue_stats *st;
    size_t ns;
    ck_assert_int_eq(store_queue_set_paused(idx, "RESEARCH", true, &err), 0);
    ck_assert_int_eq(store_queue_set_paused(idx, "IDLE", true, &err), 0);
    ck_assert_int_eq(store_queue_stats(idx, &st, &ns, &err), 0);
    ck_assert_uint_eq(ns, 3);
    ck_assert_str_eq(st[0].destination, "IDLE");
    ck_assert(st[0].paused);
    ck_assert_str_eq(st[1].destination, "READING");
    ck_assert_int_eq(st[1].inflight, 1);
    ck_assert_int_eq(st[1].done, 1);
    ck_assert_int_eq(st[1].dead, 1);
    ck_assert_int_eq(st[1].pending, 0);
    ck_assert_int_eq(st[1].retries, 1);
    ck_assert_int_eq(st[1].oldest_waiting_ms, 100);
    ck_assert_str_eq(st[1].last_error, "SOP class not supported (0x0122)");
    ck_assert(!st[1].paused);
    ck_assert_str_eq(st[2].destination, "RESEARCH");
    ck_assert_int_eq(st[2].pending, 1);
    ck_assert(st[2].paused);
    free(st);
    ck_assert(store_queue_paused(idx, "RESEARCH"));
    ck_assert_int_eq(store_queue_set_paused(idx, "RESEARCH", false, &err), 0);
    ck_assert(!store_queue_paused(idx, "RESEARCH"));

    /* ferry queue retry / purge */
    ck_assert_int_eq(store_queue_retry_destination(idx, "READING", 6000, &err), 1);
    ck_assert_int_eq(store_queue_purge(idx, "READING", &err), 1);
    ck_assert_int_eq(store_index_count(idx, "job", STORE_JOB_PENDING), 2);
}
END_TEST

START_TEST(test_study_stable)
{
    /* A study in two bursts 3 s apart, stable time 5 s: one batch. */
    struct ferry_error *err = NULL;
    int64_t t0 = 1000000;
    for (int i = 0; i < 3; i++)
        add(i, "1.7", t0 + i, "READING", 0, true, t0 + i + 5000);
    ck_assert_int_eq(store_queue_next_due(idx, NULL), t0 + 5002);
    for (int i = 3; i < 6; i++)
        add(i, "1.7", t0 + 3000 + i, "READING", 0, true, t0 + 3000 + i + 5000);
    ck_assert_int_eq(store_queue_promote(idx, t0 + 6000, &err), 0); /* not quiet yet */
    ck_assert_int_eq(store_queue_next_due(idx, NULL), t0 + 8005);
    ck_assert_int_eq(store_queue_promote(idx, t0 + 8005, &err), 6);
    struct store_job j[8];
    ck_assert_int_eq(store_queue_claim(idx, "READING", t0 + 8005, 8, j, &err), 6);

    /* Another study with 1 s: two batches. */
    add(10, "1.6", t0, "READING", 0, true, t0 + 1000);
    ck_assert_int_eq(store_queue_promote(idx, t0 + 1000, &err), 1);
    add(11, "1.6", t0 + 3000, "READING", 0, true, t0 + 4000);
    ck_assert_int_eq(store_queue_promote(idx, t0 + 4000, &err), 1);
}
END_TEST

START_TEST(test_unclaim_and_next_held)
{
    struct ferry_error *err = NULL;
    ck_assert_int_eq(store_queue_next_held(idx), INT64_MAX);
    add(1, "1.5", 100, "READING", 0, false, 0);
    add(2, "1.4", 100, "READING", 0, true, 7000);
    add(3, "1.3", 100, "READING", 0, true, 6000);
    ck_assert_int_eq(store_queue_next_held(idx), 6000);
    struct store_job j[2];
    ck_assert_int_eq(store_queue_claim(idx, "READING", 200, 2, j, &err), 1);
    ck_assert_int_eq(j[0].attempts, 1);
    /* Put back unattempted: pending again, and the attempt does not count. */
    ck_assert_int_eq(store_queue_unclaim(idx, j[0].id, 300, &err), 0);
    ck_assert_int_eq(store_queue_unclaim(idx, j[0].id, 300, &err), -ENOENT);
    ck_assert_str_eq(ferry_error_message(err), "job 1 is not in flight");
    ferry_error_free(err);
    err = NULL;
    ck_assert_int_eq(store_queue_claim(idx, "READING", 400, 2, j, &err), 1);
    ck_assert_int_eq(j[0].attempts, 1);
    struct store_queue_stats *st = NULL;
    size_t n = 0;
    ck_assert_int_eq(store_queue_stats(idx, &st, &n, &err), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(st[0].retries, 0);
    ck_assert_int_eq(st[0].held, 2);
    free(st);
}
END_TEST

START_TEST(test_expire_and_forget)
{
    struct ferry_error *err = NULL;
    add(1, "1.5", 100, "READING", 0, false, 0);
    add(2, "1.5", 100, "READING", 0, false, 0);
    struct store_job j[2];
    ck_assert_int_eq(store_queue_claim(idx, "READING", 200, 1, j, &err), 1);
    ck_assert_int_eq(store_queue_done(idx, j[0].id, 300, &err), 0);
    char paths[4][STORE_PATH_MAX];
    int64_t ids[4];
    /* Only the delivered instance may go. */
    ck_assert_int_eq(store_queue_expired(idx, 1000, 4, paths, ids, &err), 1);
    ck_assert_str_eq(paths[0], "spool/1.dcm");
    ck_assert_int_eq(store_queue_expired(idx, 50, 4, paths, ids, &err), 0); /* too young */
    ck_assert_int_eq(store_queue_forget_instance(idx, ids[0], &err), 0);
    ck_assert_int_eq(store_index_count(idx, "instance", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "arrival", -1), 1);
    ck_assert_int_eq(store_index_count(idx, "study", -1), 1);
    ck_assert_int_eq(store_queue_claim(idx, "READING", 200, 2, j, &err), 1);
    ck_assert_int_eq(store_queue_done(idx, j[0].id, 300, &err), 0);
    ck_assert_int_eq(store_queue_expired(idx, 1000, 4, paths, ids, &err), 1);
    ck_assert_int_eq(store_queue_forget_instance(idx, ids[0], &err), 0);
    ck_assert_int_eq(store_index_count(idx, "study", -1), 0);
    ck_assert_int_eq(store_index_count(idx, "patient", -1), 0);
}
END_TEST

/* Transaction requests through the committer. */
struct claim_req {
    struct store_txn_req base;
    struct store_job job;
    int claimed;
    int done_calls;
};

static int claim_run(struct store_index *i, struct store_txn_req *r)
{
    struct claim_req *c = (struct claim_req *)r;
    c->claimed = store_queue_claim(i, "READING", 200, 1, &c->job, &r->error);
    return c->claimed < 0 ? c->claimed : 0;
}

static int failing_run(struct store_index *i, struct store_txn_req *r)
{
    /* Changes something, then fails: its savepoint is undone. */
    store_queue_set_paused(i, "READING", true, NULL);
    return ferry_error_set(&r->error, -EINVAL, "refused on purpose");
}

static void claim_done(struct store_txn_req *r)
{
    ((struct claim_req *)r)->done_calls++;
}

START_TEST(test_committer_txn)
{
    struct ferry_error *err = NULL;
    add(1, "1.4", 100, "READING", 0, false, 0);
    store_index_close(idx);
    idx = store_index_open(db, &err);
    struct store_committer *c = store_committer_start(idx, 0, &err);
    struct claim_req a = { .base = { .run = claim_run, .done = claim_done } };
    struct claim_req b = { .base = { .run = failing_run, .done = claim_done } };
    store_committer_run(c, &b.base);
    store_committer_run(c, &a.base);
    store_committer_stop(c); /* runs what is queued */
    idx = store_index_open(db, &err);
    ck_assert_int_eq(a.done_calls, 1);
    ck_assert_int_eq(a.base.status, 0);
    ck_assert_int_eq(a.claimed, 1);
    ck_assert_str_eq(a.job.sop_instance_uid, "1.2.3.1");
    ck_assert_int_eq(b.done_calls, 1);
    ck_assert_int_eq(b.base.status, -EINVAL);
    ck_assert_str_eq(b.base.error->message, "refused on purpose");
    ferry_error_free(b.base.error);
    ck_assert(!store_queue_paused(idx, "READING"));
    ck_assert_int_eq(store_index_count(idx, "job", STORE_JOB_INFLIGHT), 1);
}
END_TEST

/* A batch of lazy requests only is committed at synchronous=NORMAL; one
 * with anything else (or an ingest) at FULL, also right after a lazy one. */
struct sync_req {
    struct store_txn_req base;
    int level;           /* PRAGMA synchronous inside run() */
    _Atomic int done;
};

static int sync_run(struct store_index *i, struct store_txn_req *r)
{
    struct sync_req *q = (struct sync_req *)r;
    sqlite3_stmt *st = NULL;
    q->level = -1;
    if (sqlite3_prepare_v2(i->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        q->level = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static void sync_done(struct store_txn_req *r)
{
    ((struct sync_req *)r)->done = 1;
}

static void wait_done(struct sync_req *q)
{
    for (int i = 0; i < 5000 && !q->done; i++)
        usleep(1000);
    ck_assert_int_eq(q->done, 1);
}

START_TEST(test_committer_lazy)
{
    struct ferry_error *err = NULL;
    struct store_committer *c = store_committer_start(idx, 0, &err);
    ck_assert_ptr_nonnull(c);
    struct sync_req lazy = { .base = { .run = sync_run, .done = sync_done, .lazy = true } };
    store_committer_run(c, &lazy.base);
    wait_done(&lazy);
    ck_assert_int_eq(lazy.base.status, 0);
    ck_assert_int_eq(lazy.level, 1); /* NORMAL */
    struct sync_req durable = { .base = { .run = sync_run, .done = sync_done } };
    store_committer_run(c, &durable.base);
    wait_done(&durable);
    ck_assert_int_eq(durable.level, 2); /* FULL */
    struct sync_req l2 = { .base = { .run = sync_run, .done = sync_done, .lazy = true } };
    store_committer_run(c, &l2.base);
    wait_done(&l2);
    ck_assert_int_eq(l2.level, 1);
    store_committer_stop(c); /* closes idx */
    idx = NULL;
    /* Queued together before the thread runs them: one batch, at FULL. */
    idx = store_index_open(db, &err);
    c = store_committer_start(idx, 0, &err);
    struct sync_req m1 = { .base = { .run = sync_run, .done = sync_done, .lazy = true } };
    struct sync_req m2 = { .base = { .run = sync_run, .done = sync_done } };
    store_committer_run(c, &m1.base);
    store_committer_run(c, &m2.base);
    wait_done(&m1);
    wait_done(&m2);
    if (m1.level == 1) /* the thread took m1 alone before m2 was queued */
        ck_assert_int_eq(m2.level, 2);
    else
        ck_assert_int_eq(m1.level, 2);
    ck_assert_int_eq(m2.level, 2);
    store_committer_stop(c);
    /* storage.fsync false: OFF for every batch, lazy or not */
    idx = store_index_open(db, &err);
    ck_assert_int_eq(store_index_set_durable(idx, false, &err), 0);
    c = store_committer_start(idx, 0, &err);
    struct sync_req n1 = { .base = { .run = sync_run, .done = sync_done } };
    store_committer_run(c, &n1.base);
    wait_done(&n1);
    ck_assert_int_eq(n1.level, 0);
    struct sync_req n2 = { .base = { .run = sync_run, .done = sync_done, .lazy = true } };
    store_committer_run(c, &n2.base);
    wait_done(&n2);
    ck_assert_int_eq(n2.level, 0);
    store_committer_stop(c);
    idx = store_index_open(db, &err);
    ck_assert_ptr_nonnull(idx);
}
END_TEST

TCase *store_queue_tcase(void)
{
    TCase *tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_claim_order_and_results);
    tcase_add_test(tc, test_study_stable);
    tcase_add_test(tc, test_unclaim_and_next_held);
    tcase_add_test(tc, test_expire_and_forget);
    tcase_add_test(tc, test_committer_txn);
    tcase_add_test(tc, test_committer_lazy);
    return tc;
}
