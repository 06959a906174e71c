/* ferry — the acceptor: listeners, association counts, the policy in
 * force, shutdown. */
#include "dul/dul-private.h"

#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DUL_MAX_LISTENERS 8

struct dul_server {
    struct net_loop *loop;
    struct dul_policy_c *policy;
    dul_accept_fn *on_accept;
    void *arg;
    struct net_listener *listeners[DUL_MAX_LISTENERS];
    uint16_t ports[DUL_MAX_LISTENERS];
    size_t n_listeners;
    struct dul_assoc *assocs;
    size_t n_assocs;
    bool shutting_down;
    struct net_timer deadline;
    void (*done)(void *arg);
    void *done_arg;
    struct net_work done_work;
    bool done_queued;
    bool freed;                /* dul_server_free came while done_work was queued */
};

static void server_accept(struct net_listener *li, void *arg, struct net_conn *c)
{
    (void)li;
    struct dul_server *s = arg;
    struct dul_assoc *a = dul_assoc_new(s->loop, false);
    if (!a) {
        ferry_log(FERRY_LOG_ERROR, "dul", "out of memory for a new association from %s, closing it",
                  net_conn_peer_str(c));
        net_conn_close(c);
        return;
    }
    const struct dul_policy_c *p = s->policy;
    a->server = s;
    a->policy = s->policy;
    s->policy->refs++;
    a->max_recv = p->max_pdu;
    a->max_send_cap = p->max_send_pdu;
    a->max_send = p->max_send_pdu;
    a->max_assoc_pdu = p->max_assoc_pdu;
    a->artim_ms = p->artim_ms;
    a->idle_ms = p->idle_ms;
    a->pdu_ms = p->pdu_ms;
    a->reply_ms = DUL_DEFAULT_REPLY_MS;
    a->info.max_recv_pdu = p->max_pdu;
    a->info.max_send_pdu = p->max_send_pdu;
    dul_assoc_attach(a, c);
    a->next = s->assocs;
    if (s->assocs)
        s->assocs->prev = a;
    s->assocs = a;
    s->n_assocs++;
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "connection accepted");
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT5, &x);
}

void dul_server_decide(struct dul_assoc *a, const struct dul_associate *rq,
                       struct dul_decision *d)
{
    struct dul_server *s = a->server;
    if (!s || s->shutting_down) {
        memset(d, 0, sizeof *d);
        d->rj.result = DUL_RJ_TRANSIENT;
        d->rj.source = DUL_RJ_SOURCE_PRESENTATION;
        d->rj.reason = DUL_RJ_PRES_TEMPORARY_CONGESTION;
        strcpy(d->why, "ferry is shutting down");
        return;
    }
    /* What counts against the limits: every connection that is or may
     * become an association (waiting for its A-ASSOCIATE-RQ, negotiating,
     * established, releasing). Not one in Sta13: rejected, released or
     * aborted, it only waits for the peer to close (at most ARTIM); a
     * rejected peer that keeps its socket open must not hold a slot that
     * another could use. */
    unsigned others = 0, from_peer = 0;
    for (struct dul_assoc *o = s->assocs; o; o = o->next) {
        if (o == a || o->closing || o->state == DUL_STA13)
            continue;
        others++;
        if (o->info.peer_addr && a->info.peer_addr &&
            dul_same_peer_address(o->info.peer_addr, a->info.peer_addr))
            from_peer++;
    }
    dul_negotiate(a->policy, rq, a->info.peer_addr, others, from_peer, d);
}

void dul_server_accepted(struct dul_assoc *a)
{
    struct dul_server *s = a->server;
    if (s && s->on_accept)
        s->on_accept(s, s->arg, a);
}

static void done_fn(struct net_work *w)
{
    struct dul_server *s = container_of(w, struct dul_server, done_work);
    s->done_queued = false;
    if (s->freed) {
        free(s);
        return;
    }
    if (!s->shutting_down || s->n_assocs)
        return;
    net_timer_cancel(s->loop, &s->deadline);
    void (*done)(void *) = s->done;
    s->done = NULL;
    if (done)
        done(s->done_arg);
}

static void maybe_done(struct dul_server *s)
{
    if (!s->shutting_down || s->n_assocs || s->done_queued || !s->done)
        return;
    s->done_queued = true;
    s->done_work.fn = done_fn;
    net_loop_defer(s->loop, &s->done_work);
}

void dul_server_forget(struct dul_assoc *a)
{
    struct dul_server *s = a->server;
    if (a->prev)
        a->prev->next = a->next;
    else
        s->assocs = a->next;
    if (a->next)
        a->next->prev = a->prev;
    a->server = NULL;
    s->n_assocs--;
    maybe_done(s);
}

struct dul_server *dul_server_new(struct net_loop *loop, const struct dul_policy *policy,
                                  dul_accept_fn *on_accept, void *arg, struct ferry_error **err)
{
    struct dul_server *s = calloc(1, sizeof *s);
    if (!s) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    s->policy = dul_policy_compile(policy, err);
    if (!s->policy) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->on_accept = on_accept;
    s->arg = arg;
    return s;
}

int dul_server_listen(struct dul_server *s, const char *host, uint16_t port,
                      struct ferry_error **err)
{
    if (s->n_listeners == DUL_MAX_LISTENERS)
        return ferry_error_set(err, -E2BIG, "listen: at most %d listeners", DUL_MAX_LISTENERS);
    if (s->shutting_down)
        return ferry_error_set(err, -ESHUTDOWN, "listen: the server is shutting down");
    struct net_listener *li = net_listen(s->loop, host, port, 0, server_accept, s, err);
    if (!li)
        return err && *err ? (*err)->code : -EINVAL;
    s->listeners[s->n_listeners] = li;
    s->ports[s->n_listeners] = net_listener_port(li);
    s->n_listeners++;
    return 0;
}

uint16_t dul_server_port(const struct dul_server *s, size_t i)
{
    return i < s->n_listeners ? s->ports[i] : 0;
}

int dul_server_set_policy(struct dul_server *s, const struct dul_policy *policy,
                          struct ferry_error **err)
{
    struct dul_policy_c *c = dul_policy_compile(policy, err);
    if (!c)
        return err && *err ? (*err)->code : -EINVAL;
    dul_policy_unref(s->policy);
    s->policy = c;
    return 0;
}

size_t dul_server_assoc_count(const struct dul_server *s)
{
    return s->n_assocs;
}

static void close_listeners(struct dul_server *s)
{
    for (size_t i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i]) {
            net_listener_close(s->listeners[i]);
            s->listeners[i] = NULL;
        }
    }
}

static void shutdown_deadline(struct net_timer *t)
{
    struct dul_server *s = container_of(t, struct dul_server, deadline);
    if (s->n_assocs)
        ferry_log(FERRY_LOG_WARN, "dul", "shutdown deadline reached, aborting %zu association%s",
                  s->n_assocs, s->n_assocs == 1 ? "" : "s");
    for (struct dul_assoc *a = s->assocs, *next; a; a = next) {
        next = a->next;
        if (a->closing || a->state == DUL_STA13 || a->state == DUL_STA1)
            continue;
        /* A-ABORT, then close after at most a second */
        a->artim_ms = DUL_SHUTDOWN_ARTIM_MS;
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED, "ferry is shutting down");
    }
}

void dul_server_shutdown(struct dul_server *s, unsigned deadline_ms, void (*done)(void *arg),
                         void *arg)
{
    s->shutting_down = true;
    s->done = done;
    s->done_arg = arg;
    close_listeners(s);
    net_timer_init(&s->deadline, shutdown_deadline);
    net_timer_arm(s->loop, &s->deadline, deadline_ms);
    maybe_done(s);
}

void dul_server_free(struct dul_server *s)
{
    if (!s)
        return;
    close_listeners(s);
    net_timer_cancel(s->loop, &s->deadline);
    /* Associations still open are closed and freed by the loop later; they
     * no longer refer to the server. */
    for (struct dul_assoc *a = s->assocs, *next; a; a = next) {
        next = a->next;
        a->server = NULL;
        a->prev = a->next = NULL;
        dul_io_close(a);
    }
    dul_policy_unref(s->policy);
    if (s->done_queued) {
        s->freed = true; /* done_fn frees it */
        return;
    }
    free(s);
}
