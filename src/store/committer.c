/* ferry — store: the committer thread (group commit).
 *
 * Requests queue up while a transaction is being committed; the next
 * transaction takes all of them (up to max_batch). With one sender this is
 * one instance per transaction; with many, one WAL fsync serves many
 * instances, which is what keeps durable ingest cheap. */
#include "store/store-private.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct store_committer {
    struct store_index *idx;
    size_t max_batch;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct store_ingest_req *head, *tail; /* FIFO */
    struct store_txn_req *thead, *ttail;  /* FIFO */
    bool stopping;
    bool lazy_mode;                       /* the index runs at synchronous=NORMAL */
    uint64_t transactions, instances;     /* under lock */
};

static void finish(struct store_ingest_req *batch)
{
    while (batch) {
        struct store_ingest_req *next = batch->next;
        batch->next = NULL;
        batch->done(batch); /* may free or reuse the request */
        batch = next;
    }
}

static void fail_all(struct store_ingest_req *batch, const struct ferry_error *why)
{
    for (struct store_ingest_req *r = batch; r; r = r->next) {
        if (r->status == 0) {
            r->status = why ? why->code : -EIO;
            ferry_error_set(&r->error, r->status, "%s",
                            why ? why->message : "index transaction failed");
        }
    }
}

static void finish_txns(struct store_txn_req *t)
{
    while (t) {
        struct store_txn_req *next = t->next;
        t->next = NULL;
        t->done(t);
        t = next;
    }
}

static void fail_txns(struct store_txn_req *t, const struct ferry_error *why)
{
    for (; t; t = t->next) {
        ferry_error_free(t->error);
        t->error = NULL;
        t->status = why ? why->code : -EIO;
        ferry_error_set(&t->error, t->status, "%s", why ? why->message : "index transaction failed");
    }
}

static void run_txns(struct store_committer *c, struct store_txn_req *t)
{
    for (; t; t = t->next) {
        t->error = NULL;
        if (sqlite3_exec(c->idx->db, "SAVEPOINT txn", NULL, NULL, NULL) != SQLITE_OK) {
            t->status = store_db_error(c->idx, sqlite3_errcode(c->idx->db), &t->error,
                                       "starting a request");
            continue;
        }
        t->status = t->run(c->idx, t);
        if (t->status < 0)
            sqlite3_exec(c->idx->db, "ROLLBACK TO txn", NULL, NULL, NULL);
        sqlite3_exec(c->idx->db, "RELEASE txn", NULL, NULL, NULL);
    }
}

/* Commit at synchronous=NORMAL (no wait for the disk) when the batch is only
 * lazy requests, at FULL otherwise; an index set not durable
 * (store_index_set_durable) stays at OFF whatever the batch. The setting
 * only changes between transactions. Returns 0, or -EIO when a batch that
 * must be durable cannot be made so. */
static int set_sync(struct store_committer *c, struct store_ingest_req *batch,
                    struct store_txn_req *txns)
{
    if (c->idx->no_sync)
        return 0;
    bool lazy = batch == NULL;
    for (struct store_txn_req *t = txns; t && lazy; t = t->next)
        lazy = t->lazy;
    if (lazy == c->lazy_mode)
        return 0;
    if (sqlite3_exec(c->idx->db, lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                     NULL, NULL, NULL) == SQLITE_OK)
        c->lazy_mode = lazy;
    return lazy || !c->lazy_mode ? 0 : -EIO;
}

static void run_batch(struct store_committer *c, struct store_ingest_req *batch, size_t n,
                      struct store_txn_req *txns)
{
    struct ferry_error *err = NULL;
    if (set_sync(c, batch, txns) < 0) {
        ferry_error_set(&err, -EIO, "cannot make the index wait for the disk: %s",
                        sqlite3_errmsg(c->idx->db));
        fail_all(batch, err);
        fail_txns(txns, err);
        goto out;
    }
    if (store_index_begin(c->idx, &err) < 0) {
        fail_all(batch, err);
        fail_txns(txns, err);
        goto out;
    }
    for (struct store_ingest_req *r = batch; r; r = r->next) {
        r->error = NULL;
        if (r->plan) {
            r->status = r->plan(r, r->plan_ud);
            if (r->status < 0) {
                if (!r->error)
                    ferry_error_set(&r->error, r->status, "%s: planning its jobs failed",
                                    r->rec.sop_instance_uid);
                continue;
            }
        }
        r->status = store_index_ingest(c->idx, &r->rec, r->policy, r->jobs, r->n_jobs,
                                       &r->result, &r->error);
    }
    run_txns(c, txns);
    if (store_index_commit(c->idx, &err) < 0) {
        store_index_rollback(c->idx);
        /* Nothing of the batch is recorded: every request fails, including
         * those whose ingest had succeeded. */
        for (struct store_ingest_req *r = batch; r; r = r->next) {
            r->status = 0;
            ferry_error_free(r->error);
            r->error = NULL;
        }
        fail_all(batch, err);
        fail_txns(txns, err);
        goto out;
    }
    pthread_mutex_lock(&c->lock);
    c->transactions++;
    c->instances += n;
    pthread_mutex_unlock(&c->lock);
out:
    ferry_error_free(err);
    finish(batch);
    finish_txns(txns);
}

static void *committer_main(void *arg)
{
    struct store_committer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->head && !c->thead && !c->stopping)
            pthread_cond_wait(&c->wake, &c->lock);
        if (!c->head && !c->thead && c->stopping)
            break;
        /* Take up to max_batch ingests, and every other request. */
        struct store_ingest_req *batch = c->head, *last = c->head;
        size_t n = 0;
        if (batch) {
            n = 1;
            while (last->next && n < c->max_batch) {
                last = last->next;
                n++;
            }
            c->head = last->next;
            if (!c->head)
                c->tail = NULL;
            last->next = NULL;
        }
        struct store_txn_req *txns = c->thead;
        c->thead = c->ttail = NULL;
        pthread_mutex_unlock(&c->lock);
        run_batch(c, batch, n, txns);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

struct store_committer *store_committer_start(struct store_index *idx, size_t max_batch,
                                              struct ferry_error **err)
{
    struct store_committer *c = calloc(1, sizeof *c);
    if (!c) {
        ferry_error_set(err, -ENOMEM, "committer: out of memory");
        return NULL;
    }
    c->idx = idx;
    c->max_batch = max_batch ? max_batch : 512;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    int rc = pthread_create(&c->thread, NULL, committer_main, c);
    if (rc != 0) {
        ferry_error_set(err, -rc, "committer: cannot start its thread");
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

void store_committer_submit(struct store_committer *c, struct store_ingest_req *req)
{
    req->next = NULL;
    req->status = 0;
    req->error = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = req;
    else
        c->head = req;
    c->tail = req;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void store_committer_run(struct store_committer *c, struct store_txn_req *req)
{
    req->next = NULL;
    req->status = 0;
    req->error = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->ttail)
        c->ttail->next = req;
    else
        c->thead = req;
    c->ttail = req;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void store_committer_stop(struct store_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    store_index_close(c->idx);
    free(c);
}

void store_committer_stats(struct store_committer *c, uint64_t *transactions,
                           uint64_t *instances)
{
    pthread_mutex_lock(&c->lock);
    if (transactions)
        *transactions = c->transactions;
    if (instances)
        *instances = c->instances;
    pthread_mutex_unlock(&c->lock);
}
