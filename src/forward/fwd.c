/* ferry — forward: the forwarder's core.
 *
 * Per destination: claims (a few jobs at a time, highest priority first, so
 * that an emergency study arriving later still overtakes routine ones), the
 * waiting list of claimed items, the backoff after failures, the time window
 * and pause state, and a timer for whichever of those ends first. Outcomes
 * of every item are gathered and written to the index in one request at a
 * time through the committer. A tick releases stable studies and sweeps the
 * spool (retention). Everything here runs on the network thread; index work
 * goes through store_committer_run() and comes back through net_loop_post().
 */
#include "forward/forward-private.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t fwd_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double fwd_random(struct fwd *f)
{
    /* xorshift64*: jitter needs no more than this */
    uint64_t x = f->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    f->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static unsigned local_minute(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (unsigned)(tm.tm_hour * 60 + tm.tm_min);
}

/* Milliseconds until the next whole local minute. */
static uint64_t ms_to_next_minute(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    return (uint64_t)(60 - tm.tm_sec) * 1000 - (uint64_t)(ts.tv_nsec / 1000000);
}

/* ------------------------------------------------------ index requests */

/* A request through the committer whose completion comes back to the
 * network thread. */
struct fwd_txn {
    struct store_txn_req req;
    struct net_work post;
    struct fwd *f;
    void (*on_done)(struct fwd_txn *t); /* network thread; frees t */
};

void fwd_txn_begin(struct fwd *f)
{
    f->txns++;
}

void fwd_txn_end(struct fwd *f)
{
    f->txns--;
    fwd_check_drained(f);
}

static void txn_back(struct net_work *w)
{
    struct fwd_txn *t = ferry_container_of(w, struct fwd_txn, post);
    struct fwd *f = t->f;
    t->on_done(t);
    fwd_txn_end(f);
}

static void txn_done(struct store_txn_req *req)
{
    /* committer thread */
    struct fwd_txn *t = ferry_container_of(req, struct fwd_txn, req);
    t->post.fn = txn_back;
    net_loop_post(t->f->loop, &t->post);
}

static void txn_submit(struct fwd *f, struct fwd_txn *t,
                       int (*run)(struct store_index *, struct store_txn_req *),
                       void (*on_done)(struct fwd_txn *))
{
    t->f = f;
    t->req.run = run;
    t->req.done = txn_done;
    t->on_done = on_done;
    fwd_txn_begin(f);
    store_committer_run(f->committer, &t->req);
}

/* ------------------------------------------------------------- outcomes */

static void results_flush(struct fwd *f);

struct results_txn {
    struct fwd_txn t;
    struct fwd_result *v;
    size_t n;
};

static int results_run(struct store_index *idx, struct store_txn_req *req)
{
    struct results_txn *r = ferry_container_of(req, struct results_txn, t.req);
    int64_t now = fwd_unix_ms();
    for (size_t i = 0; i < r->n; i++) {
        const struct fwd_result *x = &r->v[i];
        struct ferry_error *e = NULL;
        int rc;
        switch (x->kind) {
        case RES_DONE: rc = store_queue_done(idx, x->job, now, &e); break;
        case RES_RETRY: rc = store_queue_retry(idx, x->job, x->not_before, now, x->reason, &e); break;
        case RES_DEAD: rc = store_queue_dead(idx, x->job, now, x->reason, &e); break;
        default: rc = store_queue_unclaim(idx, x->job, now, &e); break;
        }
        if (rc == -ENOENT) {
            /* purged or retried by hand meanwhile: nothing to record */
            ferry_error_free(e);
            continue;
        }
        if (rc < 0) {
            req->error = e;
            return rc;
        }
    }
    return 0;
}

static void results_back(struct fwd_txn *t)
{
    struct results_txn *r = ferry_container_of(t, struct results_txn, t);
    struct fwd *f = t->f;
    f->results_txn = NULL;
    if (t->req.status < 0) {
        ferry_log(FERRY_LOG_ERROR, "forward",
                  "cannot record %zu job outcomes in the index (%s); trying again shortly", r->n,
                  ferry_error_message(t->req.error));
        /* Put them back in front of what came meanwhile. */
        size_t need = f->n_results + r->n;
        if (need > f->cap_results) {
            struct fwd_result *p = realloc(f->results, need * sizeof *p);
            if (p) {
                f->results = p;
                f->cap_results = need;
            }
        }
        if (need <= f->cap_results) {
            memmove(f->results + r->n, f->results, f->n_results * sizeof *f->results);
            memcpy(f->results, r->v, r->n * sizeof *r->v);
            f->n_results = need;
        }
        /* the tick flushes them again */
    }
    bool ok = t->req.status >= 0;
    ferry_error_free(t->req.error);
    free(r->v);
    free(r);
    if (ok)
        results_flush(f);
}

static void results_flush(struct fwd *f)
{
    if (f->results_txn || f->n_results == 0)
        return;
    struct results_txn *r = calloc(1, sizeof *r);
    if (!r)
        return; /* the tick tries again */
    r->v = f->results;
    r->n = f->n_results;
    f->results = NULL;
    f->n_results = f->cap_results = 0;
    f->results_txn = (struct fwd_results_txn *)r;
    /* an outcome lost in a power failure leaves its job in flight: pending
     * again on start, sent once more at worst */
    r->t.req.lazy = true;
    txn_submit(f, &r->t, results_run, results_back);
}

void fwd_result(struct fwd *f, int64_t job, enum fwd_result_kind kind, int64_t not_before,
                const char *reason)
{
    if (f->n_results == f->cap_results) {
        size_t cap = f->cap_results ? 2 * f->cap_results : 64;
        struct fwd_result *p = realloc(f->results, cap * sizeof *p);
        if (!p) {
            ferry_log(FERRY_LOG_ERROR, "forward", "out of memory recording the outcome of job "
                      "%" PRId64 "; it is retried after a restart", job);
            return;
        }
        f->results = p;
        f->cap_results = cap;
    }
    struct fwd_result *x = &f->results[f->n_results++];
    x->job = job;
    x->kind = (uint8_t)kind;
    x->not_before = not_before;
    snprintf(x->reason, sizeof x->reason, "%s", reason ? reason : "");
    results_flush(f);
}

/* ----------------------------------------------------------------- items */

void fwd_dest_unlink(struct fwd_dest *d, struct fwd_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else if (d->wait_head == it)
        d->wait_head = it->next;
    else
        return; /* not in the list */
    if (it->next)
        it->next->prev = it->prev;
    else
        d->wait_tail = it->prev;
    it->prev = it->next = NULL;
    d->n_waiting--;
}

static bool before(const struct fwd_item *a, const struct fwd_item *b)
{
    if (a->job.priority != b->job.priority)
        return a->job.priority > b->job.priority;
    return a->job.id < b->job.id;
}

void fwd_dest_enqueue(struct fwd_dest *d, struct fwd_item *it)
{
    it->state = IT_WAITING;
    it->assoc = NULL;
    struct fwd_item *p = d->wait_tail;
    while (p && before(it, p))
        p = p->prev;
    it->prev = p;
    it->next = p ? p->next : d->wait_head;
    if (it->next)
        it->next->prev = it;
    else
        d->wait_tail = it;
    if (p)
        p->next = it;
    else
        d->wait_head = it;
    d->n_waiting++;
}

void fwd_item_release(struct fwd_item *it)
{
    struct fwd_dest *d = it->dest;
    fwd_dest_unlink(d, it);
    d->n_items--;
    it->assoc = NULL;
    fwd_dest_kick(d); /* room for another claim */
    if (it->ops) {
        it->orphan = true;
        it->f->orphans++;
        return;
    }
    if (it->fd >= 0)
        close(it->fd); /* a read-only spool file: closing it does not wait for the disk */
    free(it->buf);
    free(it->mem);
    free(it);
}

void fwd_item_fail(struct fwd_item *it, enum fwd_result_kind kind, int64_t not_before,
                   const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct fwd *f = it->f;
    struct fwd_dest *d = it->dest;
    if (kind == RES_RETRY) {
        f->stats.retried++;
        d->failed++;
    } else if (kind == RES_DEAD) {
        f->stats.dead++;
        d->failed++;
        ferry_log(FERRY_LOG_ERROR, "forward", "%s: job %" PRId64 " (%s) given up: %s", d->name,
                  it->job.id, it->job.sop_instance_uid, why);
    }
    fwd_result(f, it->job.id, kind, not_before, why);
    fwd_item_release(it);
}

/* Claimed items of d that no association has started on go back to the
 * queue, their claim not counted. */
static void unclaim_waiting(struct fwd_dest *d)
{
    while (d->wait_head)
        fwd_item_fail(d->wait_head, RES_UNCLAIM, 0, "%s", "");
}

/* --------------------------------------------------------- destinations */

struct fwd_dest *fwd_dest_find(struct fwd *f, const char *name)
{
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static void dest_timer_fired(struct net_timer *t);
static void dest_pump_work(struct net_work *w);

struct fwd_dest *fwd_dest_get(struct fwd *f, const char *name)
{
    struct fwd_dest *d = fwd_dest_find(f, name);
    if (d)
        return d;
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->f = f;
    snprintf(d->name, sizeof d->name, "%s", name);
    net_timer_init(&d->timer, dest_timer_fired);
    d->pump_work.fn = dest_pump_work;
    fwd_bucket_init(&d->bucket, 0, (uint64_t)net_now_ms() * 1000000u);
    d->next = f->dests;
    f->dests = d;
    return d;
}

/* d now follows cfg of config c (NULL: the config has no such destination). */
static void dest_set_cfg(struct fwd_dest *d, const struct conf *c,
                         const struct conf_destination *cfg)
{
    if (d->cfg && !cfg)
        ferry_log(FERRY_LOG_WARN, "forward", "%s: no longer in the config; its jobs wait until "
                  "a destination of that name is back", d->name);
    if (!d->cfg && cfg && d->conf == NULL && d->n_items == 0 && d->sent == 0 && d->f->started)
        ferry_log(FERRY_LOG_INFO, "forward", "%s: new destination %s:%u %s", d->name, cfg->host,
                  cfg->port, cfg->called_ae);
    if (cfg)
        conf_ref(c);
    conf_unref(d->conf);
    d->conf = cfg ? c : NULL;
    d->cfg = cfg;
    if (cfg && d->bucket.rate != cfg->bandwidth)
        fwd_bucket_init(&d->bucket, cfg->bandwidth, (uint64_t)net_now_ms() * 1000000u);
}

bool fwd_dest_may_send(struct fwd_dest *d)
{
    if (d->f->draining || !d->cfg || d->paused)
        return false;
    if (!fwd_window_open(&d->cfg->window, local_minute()))
        return false;
    return d->backoff_until <= net_now_ms();
}

static void fmt_ms(uint64_t ms, char *buf, size_t size)
{
    route_format_duration(ms, buf, size);
}

void fwd_dest_why_waiting(struct fwd_dest *d, char *buf, size_t size)
{
    char t[32];
    buf[0] = '\0';
    if (d->f->draining) {
        snprintf(buf, size, "ferryd is stopping");
    } else if (!d->cfg) {
        snprintf(buf, size, "unknown destination: not in the config in force (its jobs wait)");
    } else if (d->paused) {
        snprintf(buf, size, "paused (ferry queue resume %s)", d->name);
    } else if (!fwd_window_open(&d->cfg->window, local_minute())) {
        const struct conf_window *w = &d->cfg->window;
        fmt_ms((uint64_t)fwd_window_wait(w, local_minute()) * 60000u, t, sizeof t);
        snprintf(buf, size, "time window %02u:%02u-%02u:%02u is closed (opens in %s)",
                 w->start_min / 60, w->start_min % 60, w->end_min / 60, w->end_min % 60, t);
    } else if (d->backoff_until > net_now_ms()) {
        fmt_ms(d->backoff_until - net_now_ms(), t, sizeof t);
        snprintf(buf, size, "backoff after %u failure%s (next try in %s)", d->failures,
                 d->failures == 1 ? "" : "s", t);
    }
}

int64_t fwd_dest_failed(struct fwd_dest *d, const char *why)
{
    struct fwd *f = d->f;
    d->failures++;
    uint64_t initial = d->cfg ? d->cfg->retry_initial_ms : 5000;
    uint64_t max = d->cfg ? d->cfg->retry_max_ms : 600000;
    uint32_t jitter = d->cfg ? d->cfg->retry_jitter : 20;
    uint64_t wait = fwd_backoff_ms(initial, max, jitter, d->failures, fwd_random(f));
    d->backoff_until = net_now_ms() + wait;
    snprintf(d->last_error, sizeof d->last_error, "%s", why);
    char t[32];
    fmt_ms(wait, t, sizeof t);
    ferry_log(FERRY_LOG_WARN, "forward", "%s: %s; next try in %s (failure %u in a row)", d->name,
              why, t, d->failures);
    fwd_dest_kick(d);
    return fwd_unix_ms() + (int64_t)wait;
}

/* ---------------------------------------------------------------- claims */

struct claim_txn {
    struct fwd_txn t;
    struct fwd_dest *d;
    char dest[64];
    size_t max;
    int n;
    int64_t next_due;
    struct store_job jobs[];
};

static int claim_run(struct store_index *idx, struct store_txn_req *req)
{
    struct claim_txn *c = ferry_container_of(req, struct claim_txn, t.req);
    int64_t now = fwd_unix_ms();
    c->next_due = INT64_MAX;
    c->n = store_queue_claim(idx, c->dest, now, c->max, c->jobs, &req->error);
    if (c->n < 0)
        return c->n;
    if ((size_t)c->n < c->max)
        c->next_due = store_queue_next_due(idx, c->dest);
    return 0;
}

/* The syntaxes `it` may be sent in, best first. */
static int item_wants(struct fwd *f, struct fwd_dest *d, struct fwd_item *it, char *why,
                      size_t why_size)
{
    const char *out = NULL;
    const char *text = it->job.pipeline;
    if (text[0] == '@') {
        const struct conf_pipeline *p = conf_pipeline(f->conf, text + 1);
        for (size_t i = 0; p && i < p->n_steps; i++) {
            if (p->steps[i].kind != CONF_STEP_COMPRESS)
                continue;
            const char *n = p->steps[i].name;
            out = strcmp(n, "explicit-vr-little-endian") == 0 || strcmp(n, "uncompressed") == 0
                      ? "1.2.840.10008.1.2.1"
                      : conf_transfer_syntax_uid(n);
        }
    } else if (text[0]) {
        struct fwd_steps s;
        struct ferry_error *e = NULL;
        if (fwd_steps_parse(text, &s, &e) < 0) {
            snprintf(why, why_size, "its pipeline text cannot be read: %s",
                     ferry_error_message(e));
            ferry_error_free(e);
            return -EINVAL;
        }
        out = fwd_steps_output_syntax(&s);
        fwd_steps_free(&s);
    }
    if (!out)
        out = it->job.transfer_syntax;
    const struct conf_syntaxes *ok = &d->cfg->transfer_syntaxes;
    bool allowed = ok->others;
    for (size_t i = 0; i < ok->n && !allowed; i++)
        allowed = strcmp(ok->uids[i], out) == 0;
    it->n_want = 0;
    if (allowed)
        snprintf(it->want[it->n_want++], FWD_UID, "%s", out);
    const char *fb = d->cfg->fallback;
    if (fb && (it->n_want == 0 || strcmp(fb, it->want[0]) != 0))
        snprintf(it->want[it->n_want++], FWD_UID, "%s", fb);
    if (it->n_want == 0) {
        const char *name = conf_transfer_syntax_name(out);
        snprintf(why, why_size, "destination %s does not take %s and has no fallback", d->name,
                 name ? name : out);
        return -ENOTSUP;
    }
    return 0;
}

static void claim_back(struct fwd_txn *t)
{
    struct claim_txn *c = ferry_container_of(t, struct claim_txn, t);
    struct fwd *f = t->f;
    struct fwd_dest *d = c->d;
    d->claiming = false;
    if (t->req.status < 0) {
        ferry_log(FERRY_LOG_ERROR, "forward", "%s: cannot claim jobs from the index: %s", d->name,
                  ferry_error_message(t->req.error));
        ferry_error_free(t->req.error);
        free(c);
        net_timer_arm(f->loop, &d->timer, 1000);
        return;
    }
    ferry_error_free(t->req.error);
    int n = c->n;
    /* A full claim leaves more behind; a short one took everything due, so
     * wait for news (set `more` again meanwhile, if any came) or for the
     * next job to become due. */
    if ((size_t)n == c->max)
        d->more = true;
    else
        d->next_due_ms = c->next_due;
    for (int i = 0; i < n; i++) {
        struct fwd_item *it = calloc(1, sizeof *it);
        if (!it) {
            fwd_result(f, c->jobs[i].id, RES_UNCLAIM, 0, "");
            continue;
        }
        it->f = f;
        it->dest = d;
        it->fd = -1;
        it->job = c->jobs[i];
        d->n_items++;
        if (!fwd_dest_may_send(d)) {
            fwd_item_fail(it, RES_UNCLAIM, 0, "%s", "");
            continue;
        }
        char why[256];
        int rc = item_wants(f, d, it, why, sizeof why);
        if (rc < 0) {
            fwd_item_fail(it, RES_DEAD, 0, "%s", why);
            continue;
        }
        fwd_dest_enqueue(d, it);
    }
    free(c);
    fwd_dest_kick(d);
}

/* How many items a destination keeps in memory: two per association (one
 * being sent, one being prepared) and a few more to choose from. Small, so
 * that an urgent job claimed later is not stuck behind many routine ones. */
static unsigned high_water(const struct fwd_dest *d)
{
    unsigned p = d->cfg ? d->cfg->parallel : 1;
    return 2 * p + 2;
}

static void claim(struct fwd_dest *d)
{
    struct fwd *f = d->f;
    unsigned hw = high_water(d);
    if (d->claiming || !d->more || d->n_items >= hw)
        return;
    size_t max = hw - d->n_items;
    struct claim_txn *c = calloc(1, sizeof *c + max * sizeof c->jobs[0]);
    if (!c)
        return;
    c->d = d;
    snprintf(c->dest, sizeof c->dest, "%s", d->name);
    c->max = max;
    d->claiming = true;
    d->more = false; /* set again by news that arrives meanwhile, or by a full claim */
    /* a claim lost in a power failure: the jobs are pending, as they would
     * be after a restart anyway; no need to wait for the disk */
    c->t.req.lazy = true;
    txn_submit(f, &c->t, claim_run, claim_back);
}

/* ------------------------------------------------------------------ pump */

static void dest_arm_timer(struct fwd_dest *d)
{
    struct fwd *f = d->f;
    uint64_t now = net_now_ms();
    uint64_t wait = UINT64_MAX;
    if (d->backoff_until > now)
        wait = d->backoff_until - now;
    if (d->cfg && !fwd_window_open(&d->cfg->window, local_minute())) {
        uint64_t w = ms_to_next_minute();
        if (w < wait)
            wait = w; /* checked again each minute until it opens */
    }
    if (!d->more && d->next_due_ms != INT64_MAX && d->next_due_ms != 0) {
        int64_t due = d->next_due_ms - fwd_unix_ms();
        uint64_t w = due <= 0 ? 10 : (uint64_t)due;
        if (w < wait)
            wait = w;
    }
    if (wait == UINT64_MAX)
        net_timer_cancel(f->loop, &d->timer);
    else
        net_timer_arm(f->loop, &d->timer, wait < 10 ? 10 : wait);
}

static void dest_pump(struct fwd_dest *d)
{
    struct fwd *f = d->f;
    if (!f->started)
        return;
    if (!fwd_dest_may_send(d)) {
        unclaim_waiting(d);
        fwd_assoc_release_idle(d);
        dest_arm_timer(d);
        return;
    }
    claim(d);
    fwd_assoc_pump(d);
    dest_arm_timer(d);
}

static void dest_pump_work(struct net_work *w)
{
    struct fwd_dest *d = ferry_container_of(w, struct fwd_dest, pump_work);
    d->pump_queued = false;
    dest_pump(d);
}

void fwd_dest_kick(struct fwd_dest *d)
{
    if (d->pump_queued)
        return;
    d->pump_queued = true;
    net_loop_defer(d->f->loop, &d->pump_work);
}

static void dest_timer_fired(struct net_timer *t)
{
    struct fwd_dest *d = ferry_container_of(t, struct fwd_dest, timer);
    if (d->next_due_ms != INT64_MAX && d->next_due_ms <= fwd_unix_ms()) {
        d->more = true;
        d->next_due_ms = INT64_MAX;
    }
    dest_pump(d);
}

static void wake(struct fwd_dest *d)
{
    d->more = true;
    d->next_due_ms = INT64_MAX;
    fwd_dest_kick(d);
}

static void wake_all(struct fwd *f)
{
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        wake(d);
}

/* --------------------------------------------------------- news of jobs */

static void on_new_jobs(struct net_work *w)
{
    struct fwd *f = ferry_container_of(w, struct fwd, jobs_work);
    pthread_mutex_lock(&f->plan_lock);
    size_t n = f->n_new_dests;
    char (*names)[64] = f->new_dests;
    bool all = f->new_all, held = f->new_held;
    int64_t due = f->new_held_due;
    f->new_dests = NULL;
    f->n_new_dests = f->cap_new_dests = 0;
    f->new_all = f->new_held = false;
    f->jobs_posted = false;
    pthread_mutex_unlock(&f->plan_lock);
    if (all) {
        wake_all(f);
    } else {
        for (size_t i = 0; i < n; i++) {
            struct fwd_dest *d = fwd_dest_get(f, names[i]);
            if (d) {
                if (!d->cfg && f->conf) {
                    const struct conf_destination *cfg = conf_destination(f->conf, d->name);
                    if (cfg)
                        dest_set_cfg(d, f->conf, cfg);
                }
                wake(d);
            }
        }
    }
    free(names);
    if (held && !f->draining) {
        int64_t in = due - fwd_unix_ms();
        uint64_t ms = in < 50 ? 50 : (uint64_t)in;
        if (ms < FWD_TICK_MS)
            net_timer_arm(f->loop, &f->tick, ms);
    }
}

/* ------------------------------------------------------------------ tick */

struct promote_txn {
    struct fwd_txn t;
    int promoted;
    int64_t next_held;
};

static int promote_run(struct store_index *idx, struct store_txn_req *req)
{
    struct promote_txn *p = ferry_container_of(req, struct promote_txn, t.req);
    p->promoted = store_queue_promote(idx, fwd_unix_ms(), &req->error);
    if (p->promoted < 0)
        return p->promoted;
    p->next_held = store_queue_next_held(idx);
    return 0;
}

static void promote_back(struct fwd_txn *t)
{
    struct promote_txn *p = ferry_container_of(t, struct promote_txn, t);
    struct fwd *f = t->f;
    f->tick_inflight = false;
    if (t->req.status < 0) {
        ferry_log(FERRY_LOG_ERROR, "forward", "cannot release stable studies: %s",
                  ferry_error_message(t->req.error));
    } else {
        if (p->promoted > 0) {
            ferry_log(FERRY_LOG_INFO, "forward", "%d held job%s of stable studies released",
                      p->promoted, p->promoted == 1 ? "" : "s");
            wake_all(f);
        }
        if (!f->draining && p->next_held != INT64_MAX) {
            int64_t in = p->next_held - fwd_unix_ms();
            uint64_t ms = in < 20 ? 20 : (uint64_t)in;
            if (ms < FWD_TICK_MS)
                net_timer_arm(f->loop, &f->tick, ms);
        }
    }
    ferry_error_free(t->req.error);
    free(p);
}

struct retention_txn {
    struct fwd_txn t;
    int64_t before;
    int n;
    char paths[FWD_RETENTION_BATCH][STORE_PATH_MAX];
    int64_t ids[FWD_RETENTION_BATCH];
};

static int retention_run(struct store_index *idx, struct store_txn_req *req)
{
    struct retention_txn *r = ferry_container_of(req, struct retention_txn, t.req);
    r->n = store_queue_expired(idx, r->before, FWD_RETENTION_BATCH, r->paths, r->ids,
                               &req->error);
    if (r->n < 0)
        return r->n;
    for (int i = 0; i < r->n; i++) {
        int rc = store_queue_forget_instance(idx, r->ids[i], &req->error);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void on_unlinked(void *arg, int res)
{
    (void)arg;
    if (res < 0 && res != -ENOENT)
        ferry_log(FERRY_LOG_WARN, "forward", "retention: cannot remove a spool file: %s",
                  strerror(-res));
}

static void retention_back(struct fwd_txn *t)
{
    struct retention_txn *r = ferry_container_of(t, struct retention_txn, t);
    struct fwd *f = t->f;
    f->retention_inflight = false;
    if (t->req.status < 0) {
        ferry_log(FERRY_LOG_ERROR, "forward", "retention sweep failed: %s",
                  ferry_error_message(t->req.error));
    } else {
        /* The index has forgotten them (committed): now the files go. */
        for (int i = 0; i < r->n; i++)
            if (net_file_unlinkat(f->loop, f->data_fd, r->paths[i], 0, on_unlinked, NULL) < 0)
                ferry_log(FERRY_LOG_WARN, "forward", "retention: cannot remove %s: out of memory",
                          r->paths[i]);
        if (r->n > 0)
            ferry_log(FERRY_LOG_INFO, "forward", "retention: %d instance%s delivered everywhere "
                      "and past storage.retention removed from the spool", r->n,
                      r->n == 1 ? "" : "s");
        if (r->n == FWD_RETENTION_BATCH)
            f->next_retention = net_now_ms(); /* more next tick */
    }
    ferry_error_free(t->req.error);
    free(r);
}

static void on_tick(struct net_timer *tm)
{
    struct fwd *f = ferry_container_of(tm, struct fwd, tick);
    if (f->draining)
        return;
    net_timer_arm(f->loop, &f->tick, FWD_TICK_MS);
    if (!f->tick_inflight) {
        struct promote_txn *p = calloc(1, sizeof *p);
        if (p) {
            f->tick_inflight = true;
            txn_submit(f, &p->t, promote_run, promote_back);
        }
    }
    uint64_t now = net_now_ms();
    uint64_t keep = f->conf->storage.retention_ms;
    if (!f->retention_inflight && now >= f->next_retention && keep != CONF_FOREVER) {
        f->next_retention = now + FWD_RETENTION_EVERY_MS;
        struct retention_txn *r = calloc(1, sizeof *r);
        if (r) {
            int64_t unix_now = fwd_unix_ms();
            r->before = keep >= (uint64_t)unix_now ? 0 : unix_now - (int64_t)keep;
            f->retention_inflight = true;
            txn_submit(f, &r->t, retention_run, retention_back);
        }
    }
    results_flush(f);
    fwd_caches_trim(f);
    /* Windows open and close by the clock: look again. */
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        if (d->cfg && d->cfg->window.set)
            fwd_dest_kick(d);
}

/* ----------------------------------------------------------------- start */

struct start_txn {
    struct fwd_txn t;
    struct store_queue_stats *st;
    size_t n;
};

static int start_run(struct store_index *idx, struct store_txn_req *req)
{
    struct start_txn *s = ferry_container_of(req, struct start_txn, t.req);
    return store_queue_stats(idx, &s->st, &s->n, &req->error);
}

static void start_back(struct fwd_txn *t)
{
    struct start_txn *s = ferry_container_of(t, struct start_txn, t);
    struct fwd *f = t->f;
    if (t->req.status < 0)
        ferry_log(FERRY_LOG_ERROR, "forward", "cannot read the queue: %s",
                  ferry_error_message(t->req.error));
    for (size_t i = 0; i < s->n; i++) {
        struct fwd_dest *d = fwd_dest_get(f, s->st[i].destination);
        if (!d)
            continue;
        d->paused = s->st[i].paused;
        int64_t waiting = s->st[i].pending + s->st[i].held;
        if (!d->cfg && waiting)
            ferry_log(FERRY_LOG_WARN, "forward",
                      "%s: %" PRId64 " jobs wait for a destination the config does not have",
                      d->name, waiting);
        else if (d->paused)
            ferry_log(FERRY_LOG_INFO, "forward", "%s: paused (%" PRId64 " jobs waiting)",
                      d->name, waiting);
    }
    free(s->st);
    ferry_error_free(t->req.error);
    free(s);
    f->started = true;
    wake_all(f);
    net_timer_arm(f->loop, &f->tick, 10);
}

void fwd_start(struct fwd *f)
{
    struct start_txn *s = calloc(1, sizeof *s);
    if (!s) {
        f->started = true;
        wake_all(f);
        return;
    }
    txn_submit(f, &s->t, start_run, start_back);
}

/* ---------------------------------------------------------------- config */

void fwd_set_config(struct fwd *f, const struct conf *c)
{
    conf_ref(c);
    conf_unref(f->conf);
    f->conf = c;
    for (size_t i = 0; i < c->n_destinations; i++)
        fwd_dest_get(f, c->destinations[i].name);
    for (struct fwd_dest *d = f->dests; d; d = d->next) {
        const struct conf_destination *cfg = conf_destination(c, d->name);
        const struct conf_destination *old = d->cfg;
        /* A changed address takes effect with the next association: the
         * open ones are released (after the instance they are sending),
         * else a steady stream would keep them, and the old address, alive
         * for ever. */
        bool moved = old && cfg &&
                     (strcmp(old->host, cfg->host) != 0 || old->port != cfg->port ||
                      strcmp(old->called_ae, cfg->called_ae) != 0 ||
                      strcmp(old->calling_ae, cfg->calling_ae) != 0 ||
                      old->max_pdu != cfg->max_pdu);
        dest_set_cfg(d, c, cfg);
        if (moved)
            fwd_assoc_retire_all(d);
        wake(d);
    }
}

/* ------------------------------------------------------------- lifetime */

struct fwd *fwd_new(const struct fwd_options *opt, struct ferry_error **err)
{
    struct fwd *f = calloc(1, sizeof *f);
    if (!f) {
        ferry_error_set(err, -ENOMEM, "forward: out of memory");
        return NULL;
    }
    f->loop = opt->loop;
    f->committer = opt->committer;
    f->pool = opt->pool;
    f->registry = opt->registry;
    f->holder = opt->holder;
    f->reload = opt->reload;
    f->reload_ud = opt->reload_ud;
    f->data_fd = -1;
    pthread_mutex_init(&f->plan_lock, NULL);
    pthread_mutex_init(&f->cache_lock, NULL);
    route_result_init(&f->rr);
    f->jobs_work.fn = on_new_jobs;
    net_timer_init(&f->tick, on_tick);
    f->rng = (uint64_t)fwd_unix_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (!f->rng)
        f->rng = 1;
    f->data_dir = strdup(opt->data_dir);
    f->quarantine_dir = strdup(opt->conf->storage.quarantine_dir);
    if (!f->data_dir || !f->quarantine_dir) {
        ferry_error_set(err, -ENOMEM, "forward: out of memory");
        goto out_free;
    }
    f->data_fd = open(f->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->data_fd < 0) {
        ferry_error_set(err, -errno, "forward: cannot open the data folder %s: %s", f->data_dir,
                        strerror(errno));
        goto out_free;
    }
    f->conf = conf_ref(opt->conf);
    for (size_t i = 0; i < f->conf->n_destinations; i++) {
        struct fwd_dest *d = fwd_dest_get(f, f->conf->destinations[i].name);
        if (!d) {
            ferry_error_set(err, -ENOMEM, "forward: out of memory");
            goto out_free;
        }
        dest_set_cfg(d, f->conf, &f->conf->destinations[i]);
    }
    return f;
out_free:
    fwd_free(f);
    return NULL;
}

void fwd_free(struct fwd *f)
{
    if (!f)
        return;
    net_timer_cancel(f->loop, &f->tick);
    net_timer_cancel(f->loop, &f->drain_timer);
    fwd_ctl_close_all(f);
    struct fwd_dest *d = f->dests;
    while (d) {
        struct fwd_dest *next = d->next;
        net_timer_cancel(f->loop, &d->timer);
        while (d->wait_head) {
            struct fwd_item *it = d->wait_head;
            fwd_dest_unlink(d, it);
            if (it->fd >= 0)
                close(it->fd);
            free(it->buf);
            free(it->mem);
            free(it);
        }
        conf_unref(d->conf);
        free(d);
        d = next;
    }
    fwd_caches_free(f);
    route_result_release(&f->rr);
    free(f->new_dests);
    free(f->results);
    conf_unref(f->conf);
    if (f->data_fd >= 0)
        close(f->data_fd);
    free(f->data_dir);
    free(f->quarantine_dir);
    free(f->ctl_path);
    pthread_mutex_destroy(&f->plan_lock);
    pthread_mutex_destroy(&f->cache_lock);
    free(f);
}

void fwd_get_stats(const struct fwd *f, struct fwd_stats *out)
{
    *out = f->stats;
}

/* ----------------------------------------------------------------- drain */

static void drain_finish(struct net_work *w)
{
    struct fwd *f = ferry_container_of(w, struct fwd, drain_check);
    f->drain_check_queued = false;
    if (!f->drain_done)
        return;
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        if (d->n_assocs || d->n_items)
            return;
    if (f->orphans || f->txns || f->n_results || f->results_txn || f->ctl_conns)
        return;
    net_timer_cancel(f->loop, &f->drain_timer);
    void (*done)(void *) = f->drain_done;
    f->drain_done = NULL;
    done(f->drain_arg);
}

void fwd_check_drained(struct fwd *f)
{
    if (!f->draining || !f->drain_done || f->drain_check_queued)
        return;
    f->drain_check_queued = true;
    f->drain_check.fn = drain_finish;
    net_loop_defer(f->loop, &f->drain_check);
}

static void drain_deadline(struct net_timer *t)
{
    struct fwd *f = ferry_container_of(t, struct fwd, drain_timer);
    ferry_log(FERRY_LOG_WARN, "forward", "shutdown deadline reached: aborting the associations "
              "still sending (their instances are sent again after the restart)");
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        fwd_assoc_abort_all(d);
}

void fwd_drain(struct fwd *f, unsigned deadline_ms, void (*done)(void *arg), void *arg)
{
    f->draining = true;
    f->drain_done = done;
    f->drain_arg = arg;
    net_timer_cancel(f->loop, &f->tick);
    fwd_ctl_close_all(f);
    for (struct fwd_dest *d = f->dests; d; d = d->next) {
        net_timer_cancel(f->loop, &d->timer);
        unclaim_waiting(d);
        fwd_assoc_release_idle(d);
    }
    net_timer_init(&f->drain_timer, drain_deadline);
    net_timer_arm(f->loop, &f->drain_timer, deadline_ms);
    results_flush(f);
    fwd_check_drained(f);
}

