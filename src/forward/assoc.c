/* ferry — forward: outbound associations.
 *
 * An association is opened for the items waiting at its destination: it
 * proposes, for each of their SOP classes, one presentation context per
 * syntax an item may go out in (the pipeline's output or the file's own
 * first, the fallback after), so that the answer says exactly which the
 * destination takes. Once established it works through the waiting items it
 * can serve, two at a time: one being sent (or awaiting its response) while
 * the next is prepared. An item whose SOP class was proposed and refused in
 * every syntax it may take is a dead letter; one it cannot serve (a class
 * that was not proposed) waits for another association. With nothing left
 * to do, the association stays open for the destination's idle time, then
 * is released.
 *
 * Failures: a connection that cannot be made, a transient rejection, an
 * abort or a lost connection count as a failure of the destination (its
 * backoff grows); the item being sent is retried after the backoff; items
 * not yet started go back to the queue. A permanent rejection makes dead
 * letters of the items it was proposed for.
 */
#include "forward/forward-private.h"

#include "base/log.h"
#include "base/util.h"
#include "dcm/dcm.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct dimse_ops fwd_ops;

static const char *class_name(const char *uid)
{
    const char *n = dcm_uid_name(uid);
    return n ? n : uid;
}

static const char *ts_name(const char *uid)
{
    const char *n = conf_transfer_syntax_name(uid);
    return n ? n : uid;
}

/* ------------------------------------------------------------ serving */

enum serve {
    SERVE_NO = 0, /* not proposed here: another association may */
    SERVE_YES,
    SERVE_DEAD,   /* proposed and refused in every syntax it may take */
};

static const char *pc_result_words(uint8_t r)
{
    switch (r) {
    case 1: return "user rejection";
    case 2: return "no reason (provider rejection)";
    case 3: return "abstract syntax not supported";
    case 4: return "transfer syntaxes not supported";
    default: return "rejected";
    }
}

static enum serve can_serve(struct fwd_assoc *a, struct fwd_item *it, uint8_t *pc_id,
                            const char **ts, char *why, size_t why_size)
{
    const struct dul_assoc_info *info = dul_assoc_info(dimse_assoc_dul(a->da));
    bool not_proposed = false;
    uint8_t result = 0;
    for (unsigned w = 0; w < it->n_want; w++) {
        bool found = false;
        for (size_t i = 0; i < a->n_props && i < info->n_contexts; i++) {
            const struct fwd_proposal *p = &a->props[i];
            if (strcmp(p->sop_class, it->job.sop_class_uid) || strcmp(p->ts, it->want[w]))
                continue;
            found = true;
            const struct dul_context *c = &info->contexts[i];
            if (c->result == 0 && strcmp(c->transfer_syntax, it->want[w]) == 0) {
                *pc_id = c->id;
                *ts = it->want[w];
                return SERVE_YES;
            }
            result = c->result ? c->result : 4;
            break;
        }
        if (!found)
            not_proposed = true;
    }
    if (not_proposed)
        return SERVE_NO;
    size_t n = (size_t)snprintf(why, why_size, "no presentation context accepted for %s in ",
                                class_name(it->job.sop_class_uid));
    for (unsigned w = 0; w < it->n_want && n < why_size; w++)
        n += (size_t)snprintf(why + n, why_size - n, "%s%s", w ? " or " : "",
                              ts_name(it->want[w]));
    if (n < why_size)
        snprintf(why + n, why_size - n, " (%s)", pc_result_words(result));
    return SERVE_DEAD;
}

/* Did association a (established or not) propose something for it? */
static bool covers(struct fwd_assoc *a, struct fwd_item *it)
{
    if (a->retired)
        return false;
    if (a->state == AS_OPEN) {
        uint8_t pc;
        const char *ts;
        char why[8];
        return can_serve(a, it, &pc, &ts, why, sizeof why) != SERVE_NO;
    }
    if (a->state != AS_CONNECTING)
        return false;
    for (size_t i = 0; i < a->n_props; i++)
        for (unsigned w = 0; w < it->n_want; w++)
            if (strcmp(a->props[i].sop_class, it->job.sop_class_uid) == 0 &&
                strcmp(a->props[i].ts, it->want[w]) == 0)
                return true;
    return false;
}

static void idle_check(struct fwd_assoc *a);

static void give(struct fwd_assoc *a, struct fwd_item *it, uint8_t pc_id, const char *ts)
{
    struct fwd_dest *d = a->dest;
    fwd_dest_unlink(d, it);
    it->assoc = a;
    it->pc_id = pc_id;
    snprintf(it->ts, sizeof it->ts, "%s", ts);
    it->passthrough = it->job.pipeline[0] == '\0' && strcmp(ts, it->job.transfer_syntax) == 0;
    it->state = IT_PREPARING;
    a->next_item = it;
    fwd_prepare(it);
}

static void start_send(struct fwd_assoc *a);

/* Keep a busy: the next item prepared while the current one goes out. */
static void fill(struct fwd_assoc *a)
{
    struct fwd_dest *d = a->dest;
    if (a->state != AS_OPEN)
        return;
    if (!a->cur && a->next_item && a->next_item->state == IT_READY)
        start_send(a);
    if (a->state != AS_OPEN)
        return;
    if (!a->next_item && !a->retired && fwd_dest_may_send(d)) {
        struct fwd_item *it = d->wait_head;
        while (it) {
            struct fwd_item *next = it->next;
            uint8_t pc;
            const char *ts;
            char why[256];
            enum serve s = can_serve(a, it, &pc, &ts, why, sizeof why);
            if (s == SERVE_YES) {
                give(a, it, pc, ts);
                break;
            }
            if (s == SERVE_DEAD)
                fwd_item_fail(it, RES_DEAD, 0, "%s", why);
            it = next;
        }
    }
    idle_check(a);
}

/* ------------------------------------------------------------ timers */

static void idle_fired(struct net_timer *t)
{
    struct fwd_assoc *a = ferry_container_of(t, struct fwd_assoc, idle_timer);
    if (a->state == AS_OPEN && !a->cur && !a->next_item) {
        ferry_log(FERRY_LOG_DEBUG, a->ctx, "idle for %" PRIu64 " ms: releasing", a->idle_ms);
        a->state = AS_RELEASING;
        if (dimse_release(a->da) < 0)
            dimse_abort(a->da);
    }
}

static void idle_check(struct fwd_assoc *a)
{
    struct fwd *f = a->dest->f;
    if (a->state != AS_OPEN)
        return;
    if (a->cur || a->next_item) {
        net_timer_cancel(f->loop, &a->idle_timer);
        return;
    }
    if (!net_timer_armed(&a->idle_timer)) {
        bool now = f->draining || a->retired || !fwd_dest_may_send(a->dest) || a->idle_ms == 0;
        net_timer_arm(f->loop, &a->idle_timer, now ? 0 : a->idle_ms);
    }
}

static void rsp_fired(struct net_timer *t)
{
    struct fwd_assoc *a = ferry_container_of(t, struct fwd_assoc, rsp_timer);
    snprintf(a->dest->last_error, sizeof a->dest->last_error,
             "no C-STORE response within %" PRIu64 " ms", a->rsp_ms);
    ferry_log(FERRY_LOG_WARN, a->ctx, "no C-STORE response within %" PRIu64 " ms, association "
              "aborted", a->rsp_ms);
    a->failure_counted = false;
    snprintf(a->abort_why, sizeof a->abort_why, "no C-STORE response within %" PRIu64 " ms",
             a->rsp_ms);
    dimse_abort(a->da);
}

static void bw_fired(struct net_timer *t)
{
    struct fwd_assoc *a = ferry_container_of(t, struct fwd_assoc, bw_timer);
    a->bw_wait = false;
    fwd_assoc_send_more(a);
}

/* ------------------------------------------------------------ sending */

static uint16_t dimse_priority(int32_t p)
{
    if (p >= ROUTE_PRIORITY_HIGH)
        return 1; /* HIGH */
    if (p < ROUTE_PRIORITY_NORMAL)
        return 2; /* LOW */
    return 0;     /* MEDIUM */
}

static void start_send(struct fwd_assoc *a)
{
    struct fwd_item *it = a->next_item;
    a->next_item = NULL;
    a->cur = it;
    it->state = IT_SENDING;
    if (++a->msg_id == 0)
        a->msg_id = 1;
    it->msg_id = a->msg_id;
    it->started_ns = (uint64_t)net_now_ms();
    struct dimse_store_send rq = {
        .pc_id = it->pc_id,
        .message_id = it->msg_id,
        .priority = dimse_priority(it->job.priority),
        .sop_class_uid = it->sop_class,
        .sop_instance_uid = it->sop_instance,
    };
    struct ferry_error *err = NULL;
    int rc = dimse_send_store_rq(a->da, &rq, &err);
    if (rc < 0) {
        snprintf(a->abort_why, sizeof a->abort_why, "cannot send the C-STORE-RQ: %s",
                 ferry_error_message(err));
        ferry_error_free(err);
        dimse_abort(a->da);
        return;
    }
    fill(a); /* prepare the next one meanwhile */
    if (a->cur == it)
        fwd_assoc_send_more(a);
}

void fwd_assoc_send_more(struct fwd_assoc *a)
{
    struct fwd_item *it = a->cur;
    struct fwd_dest *d = a->dest;
    struct fwd *f = d->f;
    if (!it || it->state != IT_SENDING || a->bw_wait || a->state == AS_CLOSED)
        return;
    uint32_t max_pdu = dul_assoc_info(dimse_assoc_dul(a->da))->max_send_pdu;
    size_t piece = max_pdu && max_pdu < FWD_SEND_PIECE ? max_pdu : FWD_SEND_PIECE;
    while (it->sent < it->total) {
        if (dimse_send_congested(a->da))
            return; /* on_writable brings us back */
        const uint8_t *p;
        size_t avail;
        if (it->passthrough) {
            avail = it->buf_len - it->buf_pos;
            p = it->buf + it->buf_pos;
            if (avail == 0) {
                if (!it->reading)
                    fwd_read_more(it);
                return; /* the read brings us back */
            }
        } else {
            p = it->mem + it->sent;
            avail = it->mem_len - it->sent;
        }
        size_t n = avail < piece ? avail : piece;
        uint64_t wait = 0;
        n = fwd_bucket_take(&d->bucket, n, (uint64_t)net_now_ms() * 1000000u, &wait);
        if (n == 0) {
            a->bw_wait = true;
            net_timer_arm(f->loop, &a->bw_timer, wait);
            return;
        }
        bool last = it->sent + n == it->total;
        int rc = dimse_send_data(a->da, it->pc_id, p, n, last);
        if (rc < 0) {
            snprintf(a->abort_why, sizeof a->abort_why, "cannot send data: %s", strerror(-rc));
            dimse_abort(a->da);
            return;
        }
        it->sent += n;
        a->bytes += n;
        d->bytes += n;
        f->stats.bytes += n;
        if (it->passthrough) {
            it->buf_pos += n;
            if (it->buf_pos == it->buf_len && it->file_off < it->file_end && !it->reading)
                fwd_read_more(it); /* the next chunk while this one drains */
        }
    }
    it->state = IT_AWAITING;
    net_timer_arm(f->loop, &a->rsp_timer, a->rsp_ms);
}

void fwd_assoc_item_ready(struct fwd_assoc *a, struct fwd_item *it)
{
    if (a->next_item != it)
        return;
    if (it->prep_rc < 0 || it->prep_verdict != FWD_DELIVERED || it->prep_why[0]) {
        a->next_item = NULL;
        struct fwd_dest *d = a->dest;
        if (it->prep_rc >= 0 && it->prep_verdict == FWD_DELIVERED) {
            /* a pipeline step dropped it: nothing to send, nothing to retry */
            ferry_log(FERRY_LOG_INFO, a->ctx, "job %" PRId64 " (%s): not sent: %s", it->job.id,
                      it->job.sop_instance_uid, it->prep_why);
            fwd_item_fail(it, RES_DONE, 0, "not sent: %s", it->prep_why);
        } else if (it->prep_verdict == FWD_DEAD) {
            fwd_item_fail(it, RES_DEAD, 0, "%s", it->prep_why);
        } else {
            uint64_t wait = fwd_backoff_ms(d->cfg ? d->cfg->retry_initial_ms : 5000,
                                           d->cfg ? d->cfg->retry_max_ms : 600000,
                                           d->cfg ? d->cfg->retry_jitter : 20,
                                           (unsigned)it->job.attempts, fwd_random(d->f));
            ferry_log(FERRY_LOG_WARN, a->ctx, "job %" PRId64 " (%s): %s; retrying in %" PRIu64
                      " ms", it->job.id, it->job.sop_instance_uid, it->prep_why, wait);
            fwd_item_fail(it, RES_RETRY, fwd_unix_ms() + (int64_t)wait, "%s", it->prep_why);
        }
        fill(a);
        return;
    }
    it->state = IT_READY;
    if (!a->cur)
        start_send(a);
}

/* ------------------------------------------------------- dimse callbacks */

static void on_established(struct dimse_assoc *da, void *ud)
{
    struct fwd_assoc *a = ud;
    struct fwd_dest *d = a->dest;
    struct fwd *f = d->f;
    a->state = AS_OPEN;
    a->established = true;
    d->failures = 0;
    d->last_error[0] = '\0';
    f->stats.associations++;
    const struct dul_assoc_info *info = dul_assoc_info(dimse_assoc_dul(da));
    char acc[512];
    size_t n = 0;
    acc[0] = '\0';
    unsigned accepted = 0;
    for (size_t i = 0; i < info->n_contexts; i++) {
        if (info->contexts[i].result != 0)
            continue;
        accepted++;
        if (n < sizeof acc - 1)
            n += (size_t)snprintf(acc + n, sizeof acc - n, "%s%s in %s", accepted > 1 ? ", " : "",
                                  class_name(info->contexts[i].abstract_syntax),
                                  ts_name(info->contexts[i].transfer_syntax));
    }
    ferry_log(FERRY_LOG_INFO, a->ctx, "association open (%u of %u for %s): %u of %zu contexts "
              "accepted: %s", d->n_assocs, d->cfg ? d->cfg->parallel : 1, d->name, accepted,
              info->n_contexts, accepted ? acc : "none");
    fill(a);
    fwd_dest_kick(d); /* more associations, if there is work for them */
}

static void on_response(struct dimse_assoc *da, void *ud, const struct dimse_rsp *rsp)
{
    (void)da;
    struct fwd_assoc *a = ud;
    struct fwd_dest *d = a->dest;
    struct fwd *f = d->f;
    struct fwd_item *it = a->cur;
    if (!it || rsp->command_field != DIMSE_C_STORE_RSP || rsp->message_id != it->msg_id) {
        ferry_log(FERRY_LOG_WARN, a->ctx, "unexpected %s (message %u), association aborted",
                  dimse_command_name(rsp->command_field), rsp->message_id);
        snprintf(a->abort_why, sizeof a->abort_why, "the destination sent an unexpected %s",
                 dimse_command_name(rsp->command_field));
        dimse_abort(a->da);
        return;
    }
    bool early = it->state != IT_AWAITING;
    net_timer_cancel(f->loop, &a->rsp_timer);
    const char *meaning;
    enum fwd_verdict v = fwd_status_verdict(rsp->status, &meaning);
    char why[256];
    snprintf(why, sizeof why, "0x%04X %s%s%s", rsp->status, meaning,
             rsp->error_comment[0] ? ": " : "", rsp->error_comment);
    a->cur = NULL;
    switch (v) {
    case FWD_DELIVERED:
    case FWD_DELIVERED_WARNING:
        if (v == FWD_DELIVERED_WARNING)
            ferry_log(FERRY_LOG_WARN, a->ctx, "C-STORE %s: delivered with %s", it->sop_instance,
                      why);
        else
            ferry_log(FERRY_LOG_DEBUG, a->ctx, "C-STORE %s: delivered (%" PRIu64 " bytes, %s)",
                      it->sop_instance, it->total, ts_name(it->ts));
        a->sent++;
        d->sent++;
        f->stats.sent++;
        fwd_result(f, it->job.id, RES_DONE, 0, NULL);
        fwd_item_release(it);
        break;
    case FWD_RETRY: {
        uint64_t wait = fwd_backoff_ms(d->cfg ? d->cfg->retry_initial_ms : 5000,
                                       d->cfg ? d->cfg->retry_max_ms : 600000,
                                       d->cfg ? d->cfg->retry_jitter : 20,
                                       (unsigned)it->job.attempts, fwd_random(f));
        char t[32];
        route_format_duration(wait, t, sizeof t);
        ferry_log(FERRY_LOG_WARN, a->ctx, "C-STORE %s refused with %s; retrying in %s (attempt "
                  "%d)", it->sop_instance, why, t, it->job.attempts);
        snprintf(d->last_error, sizeof d->last_error, "%s", why);
        a->failed++;
        fwd_item_fail(it, RES_RETRY, fwd_unix_ms() + (int64_t)wait, "%s", why);
        break;
    }
    case FWD_DEAD:
        a->failed++;
        snprintf(d->last_error, sizeof d->last_error, "%s", why);
        fwd_item_fail(it, RES_DEAD, 0, "%s", why);
        break;
    }
    if (early) {
        /* The answer came before the whole data set went out: the message
         * stream cannot go on. */
        snprintf(a->abort_why, sizeof a->abort_why, "answered before the data set was sent");
        a->failure_counted = true; /* not the destination's fault to back off for */
        dimse_abort(a->da);
        return;
    }
    fill(a);
}

static void on_writable(struct dimse_assoc *da, void *ud)
{
    (void)da;
    fwd_assoc_send_more(ud);
}

static void on_released(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct fwd_assoc *a = ud;
    a->state = AS_RELEASING;
}

static void on_rejected(struct dimse_assoc *da, void *ud, const struct dul_reject *rj)
{
    (void)da;
    struct fwd_assoc *a = ud;
    const char *why;
    a->rejected = true;
    a->reject_transient = fwd_reject_transient(rj->result, rj->source, rj->reason, &why);
    snprintf(a->abort_why, sizeof a->abort_why,
             "association rejected %s: %s (result %u, source %u, reason %u)",
             a->reject_transient ? "(transient)" : "permanently", why, rj->result, rj->source,
             rj->reason);
}

static void on_aborted(struct dimse_assoc *da, void *ud, const struct dul_abort_info *why)
{
    (void)da;
    struct fwd_assoc *a = ud;
    if (a->abort_why[0])
        return;
    if (why->by_peer)
        snprintf(a->abort_why, sizeof a->abort_why, "aborted by the destination (source %u, "
                 "reason %u)", why->source, why->reason);
    else
        snprintf(a->abort_why, sizeof a->abort_why, "%s",
                 why->message ? why->message : "association aborted");
}

/* Items of d not started by any association: retried after the backoff
 * (`retry`) or put back. */
static void settle_waiting(struct fwd_dest *d, bool retry, int64_t not_before, const char *why)
{
    while (d->wait_head) {
        if (retry)
            fwd_item_fail(d->wait_head, RES_RETRY, not_before, "%s", why);
        else
            fwd_item_fail(d->wait_head, RES_UNCLAIM, 0, "%s", "");
    }
}

static bool others_open(struct fwd_dest *d, struct fwd_assoc *except)
{
    for (struct fwd_assoc *o = d->assocs; o; o = o->next)
        if (o != except && o->state == AS_OPEN)
            return true;
    return false;
}

static void on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct fwd_assoc *a = ud;
    struct fwd_dest *d = a->dest;
    struct fwd *f = d->f;
    a->state = AS_CLOSED;
    net_timer_cancel(f->loop, &a->idle_timer);
    net_timer_cancel(f->loop, &a->rsp_timer);
    net_timer_cancel(f->loop, &a->bw_timer);
    bool failed = a->abort_why[0] != '\0';
    if (!failed && (a->cur || (!a->established)))
        snprintf(a->abort_why, sizeof a->abort_why, "association closed unexpectedly");
    failed = a->abort_why[0] != '\0';

    if (a->rejected && !a->reject_transient) {
        /* Never going to work as configured: dead letters. */
        int64_t nb = fwd_dest_failed(d, a->abort_why);
        (void)nb;
        if (a->next_item)
            fwd_item_fail(a->next_item, RES_DEAD, 0, "%s", a->abort_why);
        a->next_item = NULL;
        while (d->wait_head)
            fwd_item_fail(d->wait_head, RES_DEAD, 0, "%s", a->abort_why);
    } else if (failed) {
        int64_t nb = fwd_unix_ms();
        bool counted = a->failure_counted || f->draining;
        if (!counted)
            nb = fwd_dest_failed(d, a->abort_why);
        if (a->cur)
            fwd_item_fail(a->cur, RES_RETRY, nb, "%s", a->abort_why);
        a->cur = NULL;
        if (a->next_item)
            fwd_item_fail(a->next_item, RES_UNCLAIM, 0, "%s", "");
        a->next_item = NULL;
        if (!others_open(d, a) && !counted)
            /* The destination is unreachable: what was claimed for it is
             * retried after the backoff (so the attempts show), unless this
             * association had been working (then they simply go back). */
            settle_waiting(d, !a->established, nb, a->abort_why);
    } else {
        if (a->next_item)
            fwd_item_fail(a->next_item, RES_UNCLAIM, 0, "%s", "");
        a->next_item = NULL;
    }
    if (a->established || a->sent)
        ferry_log(failed ? FERRY_LOG_WARN : FERRY_LOG_INFO, a->ctx,
                  "association closed%s%s: %" PRIu64 " instances sent (%" PRIu64 " bytes), %"
                  PRIu64 " failed",
                  failed ? ": " : "", failed ? a->abort_why : "", a->sent, a->bytes, a->failed);
    if (a->prev)
        a->prev->next = a->next;
    else
        d->assocs = a->next;
    if (a->next)
        a->next->prev = a->prev;
    d->n_assocs--;
    free(a->props);
    free(a);
    fwd_dest_kick(d);
    fwd_check_drained(f);
}

static const struct dimse_ops fwd_ops = {
    .on_established = on_established,
    .on_response = on_response,
    .on_writable = on_writable,
    .on_released = on_released,
    .on_rejected = on_rejected,
    .on_aborted = on_aborted,
    .on_closed = on_closed,
};

/* ------------------------------------------------------------ opening */

static bool add_prop(struct fwd_proposal *v, size_t *n, const char *cls, const char *ts)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i].sop_class, cls) == 0 && strcmp(v[i].ts, ts) == 0)
            return true;
    if (*n == FWD_MAX_PROPOSALS)
        return false;
    snprintf(v[*n].sop_class, sizeof v[*n].sop_class, "%s", cls);
    snprintf(v[*n].ts, sizeof v[*n].ts, "%s", ts);
    (*n)++;
    return true;
}

static void resolved(struct net_work *w);

static void resolve_run(struct work_task *t)
{
    struct fwd_dest *d = ferry_container_of(t, struct fwd_dest, resolve_task);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%u", d->addr_port);
    int rc = getaddrinfo(d->addr_host, port, &hints, &res);
    if (rc != 0 || !res) {
        d->resolve_rc = -EHOSTUNREACH;
        snprintf(d->resolve_err, sizeof d->resolve_err, "%s",
                 rc ? gai_strerror(rc) : "no address");
    } else {
        d->resolve_rc = 0;
        memcpy(&d->resolved, res->ai_addr, res->ai_addrlen);
        d->resolved_len = res->ai_addrlen;
    }
    if (res)
        freeaddrinfo(res);
    d->resolve_post.fn = resolved;
    net_loop_post(d->f->loop, &d->resolve_post);
}

static void resolved(struct net_work *w)
{
    struct fwd_dest *d = ferry_container_of(w, struct fwd_dest, resolve_post);
    d->resolving = false;
    d->f->orphans--;
    if (d->resolve_rc < 0) {
        char why[400];
        snprintf(why, sizeof why, "cannot resolve %s: %s", d->addr_host, d->resolve_err);
        int64_t nb = fwd_dest_failed(d, why);
        settle_waiting(d, true, nb, why);
        fwd_check_drained(d->f);
        return;
    }
    d->addr = d->resolved;
    d->addrlen = d->resolved_len;
    fwd_dest_kick(d);
    fwd_check_drained(d->f);
}

/* The destination's address as configured now, if known without waiting. */
static bool address(struct fwd_dest *d)
{
    const struct conf_destination *c = d->cfg;
    if (d->addrlen && strcmp(d->addr_host, c->host) == 0 && d->addr_port == c->port)
        return true;
    if (d->resolving)
        return false;
    snprintf(d->addr_host, sizeof d->addr_host, "%s", c->host);
    d->addr_port = c->port;
    d->addrlen = 0;
    socklen_t len;
    if (net_addr_parse(c->host, c->port, &d->addr, &len) == 0) {
        d->addrlen = len;
        return true;
    }
    /* A host name: resolving blocks, so a worker does it. */
    d->resolving = true;
    d->f->orphans++;
    d->resolve_task.run = resolve_run;
    d->resolve_task.priority = 100;
    if (work_pool_submit(d->f->pool, &d->resolve_task) < 0) {
        d->resolving = false;
        d->f->orphans--;
    }
    return false;
}

static void open_assoc(struct fwd_dest *d)
{
    struct fwd *f = d->f;
    const struct conf_destination *c = d->cfg;
    if (!address(d))
        return;
    struct fwd_assoc *a = calloc(1, sizeof *a);
    struct fwd_proposal *props = calloc(FWD_MAX_PROPOSALS, sizeof *props);
    struct dul_proposal *dp = calloc(FWD_MAX_PROPOSALS, sizeof *dp);
    const char **tsv = calloc(FWD_MAX_PROPOSALS, sizeof *tsv);
    if (!a || !props || !dp || !tsv)
        goto out_free;
    size_t n = 0;
    /* Items nobody covers first, then the rest of the waiting list. */
    for (int pass = 0; pass < 2; pass++) {
        for (struct fwd_item *it = d->wait_head; it; it = it->next) {
            bool covered = false;
            for (struct fwd_assoc *o = d->assocs; o && !covered; o = o->next)
                covered = covers(o, it);
            if ((pass == 0) == covered)
                continue;
            for (unsigned w = 0; w < it->n_want; w++)
                add_prop(props, &n, it->job.sop_class_uid, it->want[w]);
        }
    }
    if (n == 0)
        goto out_free;
    for (size_t i = 0; i < n; i++) {
        tsv[i] = props[i].ts;
        dp[i].abstract_syntax = props[i].sop_class;
        dp[i].transfer_syntaxes = &tsv[i];
        dp[i].n_transfer_syntaxes = 1;
    }
    a->dest = d;
    a->id = ++f->next_assoc_id;
    a->props = props;
    a->n_props = n;
    a->idle_ms = c->idle_timeout_ms;
    a->rsp_ms = c->response_timeout_ms;
    net_timer_init(&a->idle_timer, idle_fired);
    net_timer_init(&a->rsp_timer, rsp_fired);
    net_timer_init(&a->bw_timer, bw_fired);
    snprintf(a->ctx, sizeof a->ctx, "forward %s #%u %s->%s %s:%u", d->name, a->id,
             c->calling_ae, c->called_ae, c->host, c->port);
    uint64_t ct = c->connect_timeout_ms;
    struct dul_request rq = {
        .calling_ae = c->calling_ae,
        .called_ae = c->called_ae,
        .addr = (const struct sockaddr *)&d->addr,
        .addrlen = d->addrlen,
        .proposals = dp,
        .n_proposals = n,
        .max_pdu = c->max_pdu,
        .connect_timeout_ms = ct > UINT32_MAX ? UINT32_MAX : (unsigned)ct,
        .reply_timeout_ms = ct > UINT32_MAX ? UINT32_MAX : (unsigned)ct,
    };
    struct ferry_error *err = NULL;
    a->da = dimse_connect(f->loop, &rq, &fwd_ops, a, NULL, &err);
    free(dp);
    free(tsv);
    dp = NULL;
    tsv = NULL;
    if (!a->da) {
        char why[300];
        snprintf(why, sizeof why, "cannot start an association: %s", ferry_error_message(err));
        ferry_error_free(err);
        free(props);
        free(a);
        int64_t nb = fwd_dest_failed(d, why);
        settle_waiting(d, true, nb, why);
        return;
    }
    a->state = AS_CONNECTING;
    a->next = d->assocs;
    if (d->assocs)
        d->assocs->prev = a;
    d->assocs = a;
    d->n_assocs++;
    ferry_log(FERRY_LOG_DEBUG, a->ctx, "opening an association (%zu contexts proposed)", n);
    return;
out_free:
    free(a);
    free(props);
    free(dp);
    free(tsv);
}

void fwd_assoc_pump(struct fwd_dest *d)
{
    for (struct fwd_assoc *a = d->assocs; a; a = a->next)
        fill(a);
    if (!fwd_dest_may_send(d) || !d->wait_head)
        return;
    unsigned parallel = d->cfg->parallel ? d->cfg->parallel : 1;
    unsigned live = 0, connecting = 0, busy = 0;
    struct fwd_assoc *idle = NULL;
    for (struct fwd_assoc *a = d->assocs; a; a = a->next) {
        if (a->retired)
            continue;
        if (a->state == AS_CONNECTING)
            connecting++;
        if (a->state != AS_OPEN && a->state != AS_CONNECTING)
            continue;
        live++;
        if (a->state == AS_OPEN && a->next_item)
            busy++;
        if (a->state == AS_OPEN && !a->cur && !a->next_item)
            idle = a;
    }
    bool unserved = false;
    for (struct fwd_item *it = d->wait_head; it && !unserved; it = it->next) {
        bool covered = false;
        for (struct fwd_assoc *a = d->assocs; a && !covered; a = a->next)
            covered = covers(a, it);
        unserved = !covered;
    }
    if (unserved) {
        if (d->n_assocs < parallel)
            open_assoc(d);
        else if (idle && idle->state == AS_OPEN) {
            /* Make room for an association that proposes what they need. */
            idle->state = AS_RELEASING;
            net_timer_cancel(d->f->loop, &idle->idle_timer);
            if (dimse_release(idle->da) < 0)
                dimse_abort(idle->da);
        }
        return;
    }
    /* Everything waiting could go over the associations there are: add one
     * when each is busy, up to `parallel`, one handshake at a time. */
    if (connecting == 0 && busy == live && d->n_assocs < parallel)
        open_assoc(d);
}

void fwd_assoc_release_idle(struct fwd_dest *d)
{
    struct fwd *f = d->f;
    for (struct fwd_assoc *a = d->assocs; a; a = a->next) {
        if (a->state == AS_CONNECTING && f->draining) {
            snprintf(a->abort_why, sizeof a->abort_why, "ferryd is stopping");
            a->failure_counted = true;
            dimse_abort(a->da);
            continue;
        }
        if (a->state != AS_OPEN)
            continue;
        if (a->next_item && a->next_item->state != IT_SENDING) {
            struct fwd_item *it = a->next_item;
            a->next_item = NULL;
            fwd_item_fail(it, RES_UNCLAIM, 0, "%s", "");
        }
        if (!a->cur) {
            a->state = AS_RELEASING;
            net_timer_cancel(f->loop, &a->idle_timer);
            if (dimse_release(a->da) < 0)
                dimse_abort(a->da);
        }
    }
}

void fwd_assoc_retire_all(struct fwd_dest *d)
{
    for (struct fwd_assoc *a = d->assocs; a; a = a->next) {
        if (a->state != AS_OPEN && a->state != AS_CONNECTING)
            continue;
        if (!a->retired)
            ferry_log(FERRY_LOG_INFO, a->ctx, "the destination changed in the config: "
                      "releasing this association once its instance is answered");
        a->retired = true;
    }
    fwd_assoc_release_idle(d);
}

void fwd_assoc_abort_all(struct fwd_dest *d)
{
    for (struct fwd_assoc *a = d->assocs; a; a = a->next) {
        if (a->state == AS_CLOSED)
            continue;
        if (!a->abort_why[0])
            snprintf(a->abort_why, sizeof a->abort_why, "ferryd is stopping");
        a->failure_counted = true;
        dimse_abort(a->da);
    }
}
