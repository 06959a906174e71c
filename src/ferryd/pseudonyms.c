/* ferryd: the pseudonym map in the index.
 *
 * A route's deid step with `record-pseudonyms: on` hands every replacement
 * it makes (patient ID, patient name, study UID) to the host's
 * record_pseudonym, on a worker thread. ferryd's sink writes the row through
 * the committer thread (the one writer of the index, never the network
 * thread) and waits until that transaction is committed: the job goes on
 * only once its map rows are on disk, and a failure fails the job, so no
 * de-identified copy leaves unrecorded.
 *
 * The same replacement comes with every instance of a study: a set of the
 * rows already committed in this process (64-bit hashes) spares the
 * committer all but the first. A hash collision would skip one row; at 2^-64
 * per pair that is not a concern for a map of patients and studies. */
#include "ferryd/ferryd.h"

#include "base/log.h"
#include "store/store.h"
#include "work/work.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEEN_MAX ((size_t)1 << 20) /* past this many rows the set starts again */

static struct {
    pthread_mutex_t lock;          /* guards everything below */
    struct store_committer *committer; /* NULL: none (yet, or any more) */
    uint64_t *seen;                /* open addressing; 0 is empty */
    size_t cap, n;
} pmap = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct pmap_req {
    struct store_txn_req req;
    struct store_pseudonym rec;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static uint64_t row_hash(const struct work_pseudonym *r)
{
    /* FNV-1a 64 over kind, original, replacement with NUL separators */
    uint64_t h = 0xcbf29ce484222325ull;
    const char *parts[3] = { r->kind, r->original, r->replacement };
    for (int i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xFFu) * 0x100000001b3ull;
    }
    return h ? h : 1;
}

/* Lock held. */
static bool seen_has(uint64_t h)
{
    if (!pmap.cap)
        return false;
    for (size_t i = h & (pmap.cap - 1);; i = (i + 1) & (pmap.cap - 1)) {
        if (pmap.seen[i] == h)
            return true;
        if (pmap.seen[i] == 0)
            return false;
    }
}

/* Lock held. Out of memory: the row is simply recorded again next time. */
static void seen_add(uint64_t h)
{
    if (pmap.n + 1 > pmap.cap / 2) {
        size_t cap = pmap.cap ? pmap.cap * 2 : 1024;
        if (pmap.n >= SEEN_MAX)
            cap = pmap.cap; /* start again at the same size */
        uint64_t *v = calloc(cap, sizeof *v);
        if (!v)
            return;
        if (pmap.n < SEEN_MAX)
            for (size_t i = 0; i < pmap.cap; i++) {
                if (!pmap.seen[i])
                    continue;
                size_t k = pmap.seen[i] & (cap - 1);
                while (v[k])
                    k = (k + 1) & (cap - 1);
                v[k] = pmap.seen[i];
            }
        else
            pmap.n = 0;
        free(pmap.seen);
        pmap.seen = v;
        pmap.cap = cap;
    }
    size_t k = h & (pmap.cap - 1);
    while (pmap.seen[k] && pmap.seen[k] != h)
        k = (k + 1) & (pmap.cap - 1);
    if (!pmap.seen[k]) {
        pmap.seen[k] = h;
        pmap.n++;
    }
}

/* Committer thread, inside the batch's transaction. */
static int pmap_run(struct store_index *idx, struct store_txn_req *req)
{
    struct pmap_req *r = (struct pmap_req *)req;
    return store_pseudonym_record(idx, &r->rec, &req->error);
}

/* Committer thread, after the commit. */
static void pmap_done(struct store_txn_req *req)
{
    struct pmap_req *r = (struct pmap_req *)req;
    pthread_mutex_lock(&r->lock);
    r->done = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* work_pseudonym_fn: on a worker thread. */
static int record(void *ud, const struct work_pseudonym *rec)
{
    (void)ud;
    uint64_t h = row_hash(rec);
    pthread_mutex_lock(&pmap.lock);
    bool known = seen_has(h);
    struct store_committer *c = pmap.committer;
    if (known || !c) {
        pthread_mutex_unlock(&pmap.lock);
        return known ? 0 : -ESHUTDOWN;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct pmap_req r = {
        .req = { .run = pmap_run, .done = pmap_done },
        .rec = {
            .kind = rec->kind,
            .original = rec->original,
            .replacement = rec->replacement,
            .step = rec->step,
            .context = rec->context,
            .recorded_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
        },
    };
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    /* Submitted under pmap.lock: ferryd_pseudonyms_close() takes it before
     * the committer stops, so every request queued is committed. */
    store_committer_run(c, &r.req);
    pthread_mutex_unlock(&pmap.lock);

    pthread_mutex_lock(&r.lock);
    while (!r.done)
        pthread_cond_wait(&r.cond, &r.lock);
    pthread_mutex_unlock(&r.lock);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
    int rc = r.req.status;
    if (rc < 0) {
        ferry_log(FERRY_LOG_ERROR, rec->context, "the pseudonym map: %s; the job fails",
                  ferry_error_message(r.req.error));
    } else {
        pthread_mutex_lock(&pmap.lock);
        seen_add(h);
        pthread_mutex_unlock(&pmap.lock);
    }
    ferry_error_free(r.req.error);
    return rc;
}

void ferryd_pseudonyms_init(void)
{
    work_set_pseudonym_sink(record, NULL);
}

void ferryd_pseudonyms_open(struct store_committer *c)
{
    pthread_mutex_lock(&pmap.lock);
    pmap.committer = c;
    pthread_mutex_unlock(&pmap.lock);
}

void ferryd_pseudonyms_close(void)
{
    pthread_mutex_lock(&pmap.lock);
    pmap.committer = NULL;
    free(pmap.seen);
    pmap.seen = NULL;
    pmap.cap = pmap.n = 0;
    pthread_mutex_unlock(&pmap.lock);
}
