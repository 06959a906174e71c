/* ferry — the ring: setup, probing, the one function that submits and reaps,
 * the dispatch switch, deferred work, wake-ups from other threads, drain. */
#include "net/net-private.h"

#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NET_SQ_DEFAULT 1024u
#define NET_CQE_BATCH 64u

/* Opcodes net cannot work without. RENAMEAT/UNLINKAT (and
 * IORING_TIMEOUT_UPDATE, which has no probe bit) came with Linux 5.11,
 * which is therefore the oldest kernel ferry runs on. */
static const struct {
    int op;
    const char *name;
} required_ops[] = {
    { IORING_OP_ACCEPT, "ACCEPT" },         { IORING_OP_RECV, "RECV" },
    { IORING_OP_SEND, "SEND" },             { IORING_OP_CONNECT, "CONNECT" },
    { IORING_OP_TIMEOUT, "TIMEOUT" },       { IORING_OP_TIMEOUT_REMOVE, "TIMEOUT_REMOVE" },
    { IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT" }, { IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
    { IORING_OP_READ, "READ" },             { IORING_OP_WRITE, "WRITE" },
    { IORING_OP_FSYNC, "FSYNC" },           { IORING_OP_OPENAT, "OPENAT" },
    { IORING_OP_CLOSE, "CLOSE" },           { IORING_OP_RENAMEAT, "RENAMEAT" },
    { IORING_OP_UNLINKAT, "UNLINKAT" },
};

/* Setup flags, most wanted first; each attempt drops what an older kernel
 * refuses with EINVAL.
 *  - SINGLE_ISSUER (6.0): only the network thread submits; lets the kernel
 *    skip locking. With R_DISABLED (5.10) the ring is created disabled and
 *    enabled by the first net_loop_run() call, so the thread that runs the
 *    loop (not the one that built it) becomes the owner.
 *  - DEFER_TASKRUN (6.1, needs SINGLE_ISSUER): completion work runs only
 *    when we ask for events, in one batch, instead of interrupting the
 *    thread; we always ask when we wait, so nothing is delayed.
 *  - COOP_TASKRUN (5.19): the fallback; no IPI to tell us about task work.
 *  - SUBMIT_ALL (5.18): one SQE that fails early does not leave the rest of
 *    the batch in the SQ (our bookkeeping assumes all were taken).
 *  - CQSIZE (5.5): CQ four times the SQ, so a burst of accepts or timer
 *    completions does not overflow (NODROP would keep them, but slower).
 * Not used: SQPOLL (burns a core; the target machine has two), IOPOLL (not
 * for sockets). */
static const struct {
    unsigned flags;
    const char *why_dropped;
} setup_attempts[] = {
    { IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
          IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE, NULL },
    { IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
          IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE, "no DEFER_TASKRUN (Linux < 6.1)" },
    { IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
      "no SINGLE_ISSUER/DEFER_TASKRUN (Linux < 6.0)" },
    { IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE, "no COOP_TASKRUN (Linux < 5.19)" },
    { IORING_SETUP_CQSIZE, "no SUBMIT_ALL (Linux < 5.18)" },
};

static void append_flag(char *buf, size_t size, unsigned flags, unsigned bit, const char *name)
{
    if (!(flags & bit))
        return;
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s", n ? "|" : "", name);
}

static int loop_setup_ring(struct net_loop *l, unsigned entries, const char **dropped,
                           struct ferry_error **err)
{
    int rc = -EINVAL;
    *dropped = NULL;
    for (size_t i = 0; i < sizeof setup_attempts / sizeof setup_attempts[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = setup_attempts[i].flags;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, &l->ring, &p);
        if (rc == 0) {
            l->setup_flags = p.flags;
            l->features = p.features;
            *dropped = setup_attempts[i].why_dropped;
            return 0;
        }
        if (rc != -EINVAL)
            break;
    }
    return ferry_error_set(err, rc, "io_uring_queue_init: %s%s", strerror(-rc),
                           rc == -EPERM || rc == -ENOSYS
                               ? " (io_uring disabled: see /proc/sys/kernel/io_uring_disabled; "
                                 "in a container, its seccomp profile must allow io_uring: "
                                 "see docker/seccomp-profile.py)"
                               : "");
}

static int loop_probe(struct net_loop *l, struct ferry_error **err)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(&l->ring);
    if (!probe)
        return ferry_error_set(err, -ENOTSUP, "io_uring: cannot probe opcodes (Linux < 5.6)");
    int rc = 0;
    for (size_t i = 0; i < sizeof required_ops / sizeof required_ops[0]; i++) {
        if (!io_uring_opcode_supported(probe, required_ops[i].op)) {
            rc = ferry_error_set(err, -ENOTSUP,
                                 "io_uring: the kernel lacks IORING_OP_%s; ferry needs Linux 5.11 or newer",
                                 required_ops[i].name);
            goto out_free;
        }
    }
    /* Multishot accept has no probe bit of its own; it arrived in 5.19 with
     * IORING_OP_SOCKET, so that opcode stands for it. A kernel that still
     * refuses it (EINVAL on the first accept) is handled in conn.c. */
    l->has_multishot_accept = io_uring_opcode_supported(probe, IORING_OP_SOCKET);
    l->has_mkdirat = io_uring_opcode_supported(probe, IORING_OP_MKDIRAT);
    l->has_msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
    l->has_fast_poll = (l->features & IORING_FEAT_FAST_POLL) != 0;
out_free:
    io_uring_free_probe(probe);
    return rc;
}

static void loop_describe(struct net_loop *l, unsigned entries, const char *dropped)
{
    char flags[200] = "";
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER");
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN");
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN");
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL");
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_R_DISABLED, "R_DISABLED");
    append_flag(flags, sizeof flags, l->setup_flags, IORING_SETUP_CQSIZE, "CQSIZE");
    snprintf(l->describe, sizeof l->describe,
             "io_uring: sq %u cq %u, flags %s%s%s; accept %s; fast poll %s; mkdir %s; "
             "wake-ups by eventfd (msg_ring %s)",
             entries, entries * 4, flags, dropped ? ", " : "", dropped ? dropped : "",
             l->has_multishot_accept ? "multishot"
                                     : "one at a time (no multishot accept before Linux 5.19)",
             l->has_fast_poll ? "yes" : "no (socket I/O waits in io-wq threads, slower)",
             l->has_mkdirat ? "through the ring"
                            : "synchronous (no IORING_OP_MKDIRAT before Linux 5.15)",
             l->has_msg_ring ? "available, kept for several rings" : "not available");
}

static void loop_arm_wake(struct net_loop *l)
{
    if (!l->wake_req.in_flight && !l->wake_req.queued)
        net_loop_queue(l, &l->wake_req);
}

struct net_loop *net_loop_new(const struct net_loop_options *opt, struct ferry_error **err)
{
    unsigned entries = opt && opt->sq_entries ? opt->sq_entries : NET_SQ_DEFAULT;
    struct net_loop *l = calloc(1, sizeof *l);
    if (!l) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    l->efd = -1;
    pthread_mutex_init(&l->post_lock, NULL);
    l->timeout_req.type = NET_REQ_TIMEOUT;
    l->update_req.type = NET_REQ_TIMEOUT_UPDATE;
    l->wake_req.type = NET_REQ_WAKE;

    const char *dropped = NULL;
    if (loop_setup_ring(l, entries, &dropped, err) < 0)
        goto out_free;
    l->ring_ok = true;
    l->enabled = !(l->setup_flags & IORING_SETUP_R_DISABLED);
    if (loop_probe(l, err) < 0)
        goto out_free;
    if (opt && opt->single_accept)
        l->has_multishot_accept = false;
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0) {
        ferry_error_set(err, -errno, "eventfd: %s", strerror(errno));
        goto out_free;
    }
    loop_describe(l, entries, dropped);
    if (!(opt && opt->quiet))
        ferry_log(FERRY_LOG_INFO, "net", "%s", l->describe);
    loop_arm_wake(l);
    return l;

out_free:
    net_loop_free(l);
    return NULL;
}

static int loop_pump(struct net_loop *l, uint64_t limit_ns, bool may_wait);

static bool loop_busy(const struct net_loop *l)
{
    if (l->n_conns || l->file_ops)
        return true;
    for (const struct net_listener *li = l->listeners; li; li = li->next)
        if (li->accept_req.in_flight || li->cancel_accept.req.in_flight)
            return true;
    return false;
}

void net_loop_free(struct net_loop *l)
{
    if (!l)
        return;
    if (l->ring_ok && l->enabled) {
        /* Close and reap through the ring, so that no receive is left in
         * flight into memory about to be freed (bounded: 2 s). */
        for (struct net_conn *c = l->conns; c; c = c->next)
            net_conn_close(c);
        for (struct net_listener *li = l->listeners; li; li = li->next)
            net_listener_stop(li);
        uint64_t end = net_now_ns() + 2000000000ull;
        while (loop_busy(l) && net_now_ns() < end)
            if (loop_pump(l, end, true) < 0)
                break;
    }
    if (l->ring_ok)
        io_uring_queue_exit(&l->ring);
    net_conn_free_all(l);
    net_listener_free_all(l);
    net_fileop_free_all(l);
    if (l->efd >= 0)
        close(l->efd);
    pthread_mutex_destroy(&l->post_lock);
    free(l);
}

const char *net_loop_describe(const struct net_loop *l)
{
    return l->describe;
}

size_t net_loop_conn_count(const struct net_loop *l)
{
    return l->n_conns;
}

size_t net_loop_inflight(const struct net_loop *l)
{
    return l->inflight;
}

/* ------------------------------------------------------------ requests */

static unsigned req_sqes(struct net_req *req)
{
    if (req->type == NET_REQ_CONNECT)
        return net_conn_prep(req, NULL, NULL);
    return 1;
}

static void req_prep(struct net_loop *l, struct net_req *req)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    struct io_uring_sqe *sqe2 = NULL;
    unsigned n = 1;
    switch (req->type) {
    case NET_REQ_ACCEPT:
        net_listener_prep(ferry_container_of(req, struct net_listener, accept_req), sqe);
        break;
    case NET_REQ_RECV:
    case NET_REQ_SEND:
        net_conn_prep(req, sqe, NULL);
        break;
    case NET_REQ_CONNECT:
        if (req_sqes(req) == 2) {
            sqe2 = io_uring_get_sqe(&l->ring);
            n = 2;
        }
        net_conn_prep(req, sqe, sqe2);
        break;
    case NET_REQ_TIMEOUT:
        io_uring_prep_timeout(sqe, &l->timeout_ts, 0, IORING_TIMEOUT_ABS);
        io_uring_sqe_set_data(sqe, req);
        break;
    case NET_REQ_WAKE:
        io_uring_prep_read(sqe, l->efd, &l->efd_buf, sizeof l->efd_buf, 0);
        io_uring_sqe_set_data(sqe, req);
        break;
    case NET_REQ_FILE:
        net_fileop_prep(ferry_container_of(req, struct net_fileop, req), sqe);
        break;
    case NET_REQ_CANCEL: {
        struct net_cancel *c = ferry_container_of(req, struct net_cancel, req);
        io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)c->target, 0);
        io_uring_sqe_set_data(sqe, req);
        break;
    }
    case NET_REQ_NONE:
    case NET_REQ_LINK_TIMEOUT:   /* prepared with its connect */
    case NET_REQ_TIMEOUT_UPDATE: /* prepared in loop_arm_timeout */
        abort();
    }
    req->in_flight = true;
    l->inflight += n;
}

void net_loop_queue(struct net_loop *l, struct net_req *req)
{
    if (!l->overflow_head && io_uring_sq_space_left(&l->ring) >= req_sqes(req)) {
        req_prep(l, req);
        return;
    }
    /* The SQ is full: keep the request; the pump prepares it once the
     * kernel has taken the SQEs before it. */
    req->queued = true;
    req->next = NULL;
    if (l->overflow_tail)
        l->overflow_tail->next = req;
    else
        l->overflow_head = req;
    l->overflow_tail = req;
}

static void loop_flush_overflow(struct net_loop *l)
{
    while (l->overflow_head && io_uring_sq_space_left(&l->ring) >= req_sqes(l->overflow_head)) {
        struct net_req *req = l->overflow_head;
        l->overflow_head = req->next;
        if (!l->overflow_head)
            l->overflow_tail = NULL;
        req->queued = false;
        req_prep(l, req);
    }
}

static bool loop_unqueue(struct net_loop *l, struct net_req *target)
{
    if (!target->queued)
        return false;
    struct net_req *prev = NULL;
    for (struct net_req *r = l->overflow_head; r; prev = r, r = r->next) {
        if (r != target)
            continue;
        if (prev)
            prev->next = r->next;
        else
            l->overflow_head = r->next;
        if (l->overflow_tail == r)
            l->overflow_tail = prev;
        break;
    }
    target->queued = false;
    return true;
}

bool net_loop_cancel(struct net_loop *l, struct net_cancel *c, bool *queued_cancel)
{
    *queued_cancel = false;
    if (loop_unqueue(l, c->target))
        return true;
    if (!c->target->in_flight || c->req.in_flight || c->req.queued)
        return false;
    c->req.type = NET_REQ_CANCEL;
    net_loop_queue(l, &c->req);
    *queued_cancel = true;
    return false;
}

/* ----------------------------------------------------- deferred work */

void net_loop_defer(struct net_loop *l, struct net_work *w)
{
    w->next = NULL;
    if (l->defer_tail)
        l->defer_tail->next = w;
    else
        l->defer_head = w;
    l->defer_tail = w;
}

static void loop_run_deferred(struct net_loop *l)
{
    /* Work deferred while this runs waits for the next round, so a callback
     * that keeps deferring cannot starve the ring. */
    struct net_work *w = l->defer_head;
    l->defer_head = l->defer_tail = NULL;
    while (w) {
        struct net_work *next = w->next;
        w->fn(w);
        w = next;
    }
}

void net_loop_post(struct net_loop *l, struct net_work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&l->post_lock);
    bool was_empty = l->post_head == NULL;
    if (l->post_tail)
        l->post_tail->next = w;
    else
        l->post_head = w;
    l->post_tail = w;
    pthread_mutex_unlock(&l->post_lock);
    if (was_empty) {
        uint64_t one = 1;
        /* EAGAIN only when the counter is near 2^64: the loop is awake. */
        ssize_t n = write(l->efd, &one, sizeof one);
        (void)n;
    }
}

static void loop_take_posts(struct net_loop *l)
{
    pthread_mutex_lock(&l->post_lock);
    struct net_work *head = l->post_head, *tail = l->post_tail;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    if (!head)
        return;
    if (l->defer_tail)
        l->defer_tail->next = head;
    else
        l->defer_head = head;
    l->defer_tail = tail;
}

/* ------------------------------------------------------------- timers */

static void loop_arm_timeout(struct net_loop *l, uint64_t limit_ns)
{
    uint64_t want = l->timer_root ? l->timer_root->deadline_ns : 0;
    if (limit_ns && (!want || limit_ns < want))
        want = limit_ns;
    if (!want)
        return;
    if (l->timeout_req.in_flight && want >= l->armed_deadline_ns)
        return; /* fires early enough; if early, we wake and look again */
    /* The kernel reads the timespec when it takes the SQE, so while the
     * timeout still waits in the SQ or the overflow list, changing it here
     * is enough. */
    l->timeout_ts.tv_sec = (long long)(want / 1000000000u);
    l->timeout_ts.tv_nsec = (long long)(want % 1000000000u);
    l->armed_deadline_ns = want;
    if (!l->timeout_req.in_flight) {
        if (!l->timeout_req.queued)
            net_loop_queue(l, &l->timeout_req);
        return;
    }
    /* In flight with a later deadline: move it (IORING_TIMEOUT_UPDATE). The
     * update reads update_ts, so the two never share memory. */
    if (l->update_req.in_flight)
        return; /* one update at a time; we wake early and come back */
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe)
        return; /* SQ full: the next round tries again */
    l->update_ts = l->timeout_ts;
    io_uring_prep_timeout_update(sqe, &l->update_ts, (uint64_t)(uintptr_t)&l->timeout_req,
                                 IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data(sqe, &l->update_req);
    l->update_req.in_flight = true;
    l->inflight++;
}

/* ------------------------------------------------------------- dispatch */

static void loop_dispatch(struct net_loop *l, struct io_uring_cqe *cqe)
{
    struct net_req *req = io_uring_cqe_get_data(cqe);
    int res = cqe->res;
    unsigned flags = cqe->flags;
    if (!(flags & IORING_CQE_F_MORE)) {
        l->inflight--;
        req->in_flight = false;
    }
    switch (req->type) {
    case NET_REQ_ACCEPT:
        net_listener_complete(ferry_container_of(req, struct net_listener, accept_req), res, flags);
        break;
    case NET_REQ_RECV:
        net_conn_complete_recv(ferry_container_of(req, struct net_conn, recv_req), res);
        break;
    case NET_REQ_SEND:
        net_conn_complete_send(ferry_container_of(req, struct net_conn, send_req), res);
        break;
    case NET_REQ_CONNECT:
        net_conn_complete_connect(ferry_container_of(req, struct net_conn, connect_req), res);
        break;
    case NET_REQ_LINK_TIMEOUT:
        net_conn_complete_link(ferry_container_of(req, struct net_conn, link_req), res);
        break;
    case NET_REQ_TIMEOUT:
        /* -ETIME: it fired; -ECANCELED: removed. Either way the timers are
         * looked at after this batch and the timeout re-armed if needed. */
        l->armed_deadline_ns = 0;
        break;
    case NET_REQ_TIMEOUT_UPDATE:
        /* -ENOENT: the timeout had already fired; its own CQE re-arms. */
        break;
    case NET_REQ_WAKE:
        if (res < 0 && res != -EAGAIN && res != -EINTR)
            ferry_log(FERRY_LOG_ERROR, "net", "eventfd read: %s; wake-ups from other threads rely on the next completion",
                      strerror(-res));
        loop_take_posts(l);
        loop_arm_wake(l);
        break;
    case NET_REQ_FILE:
        net_fileop_complete(ferry_container_of(req, struct net_fileop, req), res);
        break;
    case NET_REQ_CANCEL:
        net_cancel_complete(ferry_container_of(req, struct net_cancel, req), res);
        break;
    case NET_REQ_NONE:
        abort();
    }
}

/* The one function that submits to and reaps from the ring (nothing else
 * calls io_uring_submit* or advances the CQ). One round:
 *   1. lift R_DISABLED on the first call (this thread becomes the owner);
 *   2. move overflowed requests into the SQ, arm the ring timeout for the
 *      earliest timer (or the caller's limit);
 *   3. submit, and wait for at least one completion unless work is ready;
 *   4. dispatch every CQE through loop_dispatch's switch;
 *   5. fire expired timers;
 *   6. run deferred work (posts from other threads, closes, resumes).
 * limit_ns (0: none) bounds the wait. */
static int loop_pump(struct net_loop *l, uint64_t limit_ns, bool may_wait)
{
    if (!l->enabled) {
        /* liburing 2.3 declares io_uring_enable_rings() but its shared
         * library does not export it; the register call is the same. */
        int rc = io_uring_register(l->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
        if (rc < 0)
            return rc;
        l->enabled = true;
    }
    loop_flush_overflow(l);
    loop_arm_timeout(l, limit_ns);

    bool wait = may_wait && !l->defer_head && !l->stop;
    int rc = wait ? io_uring_submit_and_wait(&l->ring, 1)
                  : io_uring_submit_and_get_events(&l->ring);
    if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN && rc != -ETIME)
        return rc;

    struct io_uring_cqe *cqes[NET_CQE_BATCH];
    unsigned n;
    while ((n = io_uring_peek_batch_cqe(&l->ring, cqes, NET_CQE_BATCH)) > 0) {
        for (unsigned i = 0; i < n; i++)
            loop_dispatch(l, cqes[i]);
        io_uring_cq_advance(&l->ring, n);
    }
    net_timers_expire(l);
    loop_run_deferred(l);
    return 0;
}

int net_loop_run_once(struct net_loop *l, int timeout_ms)
{
    uint64_t limit = 0;
    if (timeout_ms > 0)
        limit = net_now_ns() + (uint64_t)timeout_ms * 1000000u;
    return loop_pump(l, limit, timeout_ms != 0);
}

int net_loop_run(struct net_loop *l)
{
    l->stop = false;
    while (!l->stop) {
        int rc = loop_pump(l, 0, true);
        if (rc < 0) {
            ferry_log(FERRY_LOG_ERROR, "net", "io_uring_enter: %s, network loop stopped",
                      strerror(-rc));
            return rc;
        }
    }
    /* Work deferred by the last callbacks still runs. */
    loop_run_deferred(l);
    return 0;
}

void net_loop_stop(struct net_loop *l)
{
    l->stop = true;
}

/* ---------------------------------------------------------------- drain */

static void drain_check_fn(struct net_work *w)
{
    struct net_loop *l = ferry_container_of(w, struct net_loop, drain_check);
    l->drain_check_queued = false;
    if (!l->draining || l->n_conns || l->file_ops)
        return;
    l->draining = false;
    net_timer_cancel(l, &l->drain_timer);
    if (l->drain_done)
        l->drain_done(l->drain_arg);
    else
        net_loop_stop(l);
}

void net_loop_maybe_drained(struct net_loop *l)
{
    if (!l->draining || l->drain_check_queued)
        return;
    l->drain_check_queued = true;
    net_loop_defer(l, &l->drain_check);
}

static void drain_deadline(struct net_timer *t)
{
    struct net_loop *l = ferry_container_of(t, struct net_loop, drain_timer);
    size_t n = l->n_conns;
    if (n)
        ferry_log(FERRY_LOG_WARN, "net", "shutdown deadline reached, closing %zu connection%s",
                  n, n == 1 ? "" : "s");
    for (struct net_conn *c = l->conns; c; c = c->next)
        net_conn_close(c);
}

void net_loop_drain(struct net_loop *l, unsigned deadline_ms, void (*done)(void *arg), void *arg)
{
    l->draining = true;
    l->drain_done = done;
    l->drain_arg = arg;
    l->drain_check.fn = drain_check_fn;
    /* The listeners stop accepting and close their sockets; their owners
     * still hold them and free them with net_listener_close(). */
    for (struct net_listener *li = l->listeners, *next; li; li = next) {
        next = li->next;
        net_listener_stop(li);
    }
    net_timer_init(&l->drain_timer, drain_deadline);
    net_timer_arm(l, &l->drain_timer, deadline_ms);
    net_loop_maybe_drained(l);
}
