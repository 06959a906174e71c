/* ferry — the PS3.8 actions (AE-1 .. AA-8), dispatched from the table in
 * fsm.c by dul_fsm_fire(), the only place an association changes state. */
#include "dul/dul-private.h"

#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void action_fn(struct dul_assoc *a, struct dul_fsm_arg *x);

static void log_ended(struct dul_assoc *a, const char *why)
{
    ferry_log(FERRY_LOG_WARN, a->log_ctx, "%s, association aborted", why);
}

static void printable(char *dst, size_t size, const uint8_t *src, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < size; i++)
        dst[k++] = (src[i] >= 0x20 && src[i] <= 0x7e) ? (char)src[i] : '?';
    dst[k] = '\0';
}

/* What an A-ASSOCIATE PDU from the peer says about the peer. */
static void note_peer(struct dul_assoc *a, const struct dul_associate *p)
{
    if (p->ui.impl_class_uid)
        snprintf(a->info.peer_impl_class_uid, sizeof a->info.peer_impl_class_uid, "%s",
                 p->ui.impl_class_uid);
    if (p->ui.impl_version)
        snprintf(a->info.peer_impl_version, sizeof a->info.peer_impl_version, "%s",
                 p->ui.impl_version);
}

/* The PDU size we send: the peer's maximum length, or our cap when it
 * says 0 (no limit) or more than the cap. Returns false for a maximum too
 * small to carry a PDV. */
static bool set_max_send(struct dul_assoc *a, const struct dul_user_info *ui)
{
    uint32_t peer = ui->max_length;
    if (peer && peer < 8)
        return false;
    a->max_send = (!peer || peer > a->max_send_cap) ? a->max_send_cap : peer;
    a->info.max_send_pdu = a->max_send;
    return true;
}

static void index_contexts(struct dul_assoc *a)
{
    memset(a->ctx_index, 0, sizeof a->ctx_index);
    for (size_t i = 0; i < a->info.n_contexts; i++)
        if (a->contexts[i].result == DUL_PC_ACCEPTANCE)
            a->ctx_index[a->contexts[i].id] = (uint8_t)(i + 1);
}

static void apply_roles(struct dul_assoc *a, const struct dul_user_info *ui)
{
    for (size_t i = 0; i < a->info.n_contexts; i++) {
        struct dul_context *c = &a->contexts[i];
        c->requestor_scu = 1;
        c->requestor_scp = 0;
        for (size_t k = 0; k < ui->n_roles; k++) {
            if (strcmp(ui->roles[k].sop_class, c->abstract_syntax) == 0) {
                c->requestor_scu = ui->roles[k].scu;
                c->requestor_scp = ui->roles[k].scp;
            }
        }
    }
}

static void log_contexts(struct dul_assoc *a, const char *what)
{
    size_t accepted = 0;
    for (size_t i = 0; i < a->info.n_contexts; i++)
        accepted += a->contexts[i].result == DUL_PC_ACCEPTANCE;
    ferry_log(FERRY_LOG_INFO, a->log_ctx,
              "%s: %zu of %zu presentation contexts accepted, max PDU %u received / %u sent, "
              "peer implementation %s %s",
              what, accepted, a->info.n_contexts, a->max_recv, a->max_send,
              a->info.peer_impl_class_uid[0] ? a->info.peer_impl_class_uid : "?",
              a->info.peer_impl_version);
    if (!ferry_log_enabled(FERRY_LOG_DEBUG))
        return;
    for (size_t i = 0; i < a->info.n_contexts; i++) {
        const struct dul_context *c = &a->contexts[i];
        ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "context %u %s: result %u%s%s", c->id,
                  c->abstract_syntax, c->result, c->result ? "" : " ", c->transfer_syntax);
    }
}

/* ------------------------------------------------------ association */

static void ae1(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    struct net_conn *c = net_connect(a->loop, (const struct sockaddr *)&a->connect_addr,
                                     a->connect_addrlen, a->connect_timeout_ms, &dul_conn_ops, a);
    if (!c) {
        x->rc = -errno;
        a->state = DUL_STA1;
        return;
    }
    dul_assoc_attach(a, c);
}

static void ae2(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    /* the encoded RQ stays until AE-3 checks the AC against it */
    dul_io_send_pdu(a, a->rq_pdu, a->rq_len);
    dul_timer_activity(a);
    dul_io_read(a);
}

static void ae3(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const struct dul_associate *ac = x->assoc_pdu;
    struct dul_associate rq;
    struct ferry_error *err = NULL;
    if (dul_decode_associate(a->rq_pdu, a->rq_len, &rq, &err) < 0) {
        /* our own RQ: cannot fail short of memory */
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED, "%s",
                                 ferry_error_message(err));
        ferry_error_free(err);
        return;
    }
    note_peer(a, ac);
    for (size_t i = 0; i < ac->n_pc; i++) {
        const struct dul_pc *pc = &ac->pc[i];
        struct dul_context *c = NULL;
        const struct dul_pc *mine = NULL;
        for (size_t k = 0; k < a->info.n_contexts; k++)
            if (a->contexts[k].id == pc->id) {
                c = &a->contexts[k];
                mine = &rq.pc[k];
            }
        if (!c) {
            ferry_log(FERRY_LOG_WARN, a->log_ctx,
                      "A-ASSOCIATE-AC answers presentation context %u, which was not proposed; "
                      "ignored",
                      pc->id);
            continue;
        }
        c->result = pc->result;
        if (pc->result != DUL_PC_ACCEPTANCE)
            continue;
        bool proposed = false;
        for (size_t k = 0; k < mine->n_ts && !proposed; k++)
            proposed = strcmp(mine->ts[k], pc->ts[0]) == 0;
        if (!proposed) {
            ferry_log(FERRY_LOG_WARN, a->log_ctx,
                      "A-ASSOCIATE-AC accepts presentation context %u with transfer syntax %s, "
                      "which was not proposed; the context is treated as rejected",
                      pc->id, pc->ts[0]);
            c->result = DUL_PC_NO_REASON;
            continue;
        }
        snprintf(c->transfer_syntax, sizeof c->transfer_syntax, "%s", pc->ts[0]);
    }
    dul_associate_clear(&rq);
    free(a->rq_pdu);
    a->rq_pdu = NULL;
    if (!set_max_send(a, &ac->ui)) {
        dul_assoc_provider_abort(a, DUL_ABORT_INVALID_PARAMETER,
                                 "peer maximum length %u is too small", ac->ui.max_length);
        return;
    }
    apply_roles(a, &ac->ui);
    index_contexts(a);
    log_contexts(a, "association established");
    dul_timer_activity(a);
    if (a->ops && a->ops->on_established)
        a->ops->on_established(a, a->arg);
}

static void ae4(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    struct dul_reject rj = { 0 };
    dul_decode_reject(x->pdu, x->len, &rj, NULL);
    char desc[160];
    dul_reject_describe(&rj, desc, sizeof desc);
    ferry_log(FERRY_LOG_WARN, a->log_ctx, "association rejected by the peer (%s)", desc);
    a->ended = true;
    if (a->ops && a->ops->on_rejected)
        a->ops->on_rejected(a, a->arg, &rj);
    dul_io_close(a);
}

static void ae5(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    dul_timer_artim(a, true);
    dul_io_read(a);
}

static void ae6(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const struct dul_associate *rq = x->assoc_pdu;
    dul_timer_artim(a, false);
    memcpy(a->info.called_ae, rq->called_ae, sizeof a->info.called_ae);
    memcpy(a->info.calling_ae, rq->calling_ae, sizeof a->info.calling_ae);
    dul_assoc_set_log_ctx(a);
    note_peer(a, rq);
    if (rq->ui.has_identity) {
        a->info.user_identity_type = rq->ui.identity.type;
        printable(a->info.user_identity, sizeof a->info.user_identity, rq->ui.identity.primary,
                  rq->ui.identity.primary_len);
    }
    if (!(rq->protocol_version & 1)) {
        /* not acceptable to the service provider: RJ and wait for close */
        struct dul_reject rj = { DUL_RJ_PERMANENT, DUL_RJ_SOURCE_ACSE,
                                 DUL_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED };
        uint8_t pdu[10];
        dul_encode_reject(&rj, pdu);
        a->state = DUL_STA13;
        dul_io_send_pdu(a, pdu, sizeof pdu);
        dul_timer_artim(a, true);
        ferry_log(FERRY_LOG_WARN, a->log_ctx,
                  "association rejected (permanent, service-provider (ACSE), protocol version not "
                  "supported): protocol version 0x%04x",
                  rq->protocol_version);
        return;
    }
    a->state = DUL_STA3;
    struct dul_decision d;
    dul_server_decide(a, rq, &d);
    struct dul_fsm_arg y = { .assoc_pdu = x->assoc_pdu, .decision = &d };
    dul_fsm_fire(a, d.accept ? DUL_EVT7 : DUL_EVT8, &y);
    dul_decision_clear(&d);
}

static void ae7(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const struct dul_associate *rq = x->assoc_pdu;
    const struct dul_associate *ac = &x->decision->ac;
    ssize_t n = dul_encode_associate(ac, NULL, 0);
    uint8_t *pdu = n > 0 ? malloc((size_t)n) : NULL;
    a->contexts = calloc(rq->n_pc ? rq->n_pc : 1, sizeof *a->contexts);
    if (!pdu || !a->contexts || dul_encode_associate(ac, pdu, (size_t)n) != n) {
        free(pdu);
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED,
                                 n < 0 ? "cannot encode the A-ASSOCIATE-AC"
                                       : "out of memory for the A-ASSOCIATE-AC");
        return;
    }
    dul_io_send_pdu(a, pdu, (size_t)n);
    free(pdu);
    a->info.n_contexts = rq->n_pc;
    a->info.contexts = a->contexts;
    for (size_t i = 0; i < rq->n_pc; i++) {
        struct dul_context *c = &a->contexts[i];
        c->id = rq->pc[i].id;
        c->result = ac->pc[i].result;
        snprintf(c->abstract_syntax, sizeof c->abstract_syntax, "%s", rq->pc[i].abstract_syntax);
        if (c->result == DUL_PC_ACCEPTANCE)
            snprintf(c->transfer_syntax, sizeof c->transfer_syntax, "%s", ac->pc[i].ts[0]);
    }
    apply_roles(a, &ac->ui);
    index_contexts(a);
    if (!set_max_send(a, &rq->ui)) {
        dul_assoc_provider_abort(a, DUL_ABORT_INVALID_PARAMETER,
                                 "peer maximum length %u is too small", rq->ui.max_length);
        return;
    }
    log_contexts(a, "association accepted");
    dul_timer_activity(a);
    dul_server_accepted(a);
    if (a->closing || a->state != DUL_STA6)
        return;
    if (!a->ops) {
        ferry_log(FERRY_LOG_ERROR, a->log_ctx, "no handler took the association, aborting it");
        dul_abort(a);
        return;
    }
    if (a->ops->on_established)
        a->ops->on_established(a, a->arg);
}

static void ae8(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const struct dul_decision *d = x->decision;
    uint8_t pdu[10];
    dul_encode_reject(&d->rj, pdu);
    dul_io_send_pdu(a, pdu, sizeof pdu);
    dul_timer_artim(a, true);
    char desc[160];
    dul_reject_describe(&d->rj, desc, sizeof desc);
    ferry_log(FERRY_LOG_WARN, a->log_ctx, "association rejected (%s): %s", desc, d->why);
}

/* ------------------------------------------------------------- data */

static void dt1(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    /* The PDVs were queued by dul_send_pdv (they may wait to fill a PDU). */
    (void)a;
    (void)x;
}

static void dt2(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    /* the receive loop delivers the PDVs, pausing when asked */
    a->pdv_off = DUL_PDU_HEADER_LEN;
}

/* ---------------------------------------------------------- release */

static void release_indication(struct dul_assoc *a)
{
    a->release_indicated = true;
    if (a->ops && a->ops->on_release_requested)
        a->ops->on_release_requested(a, a->arg);
    else
        dul_release_response(a);
}

static void ar1(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    uint8_t pdu[10];
    dul_encode_release(DUL_PDU_RELEASE_RQ, pdu);
    dul_io_send_pdu(a, pdu, sizeof pdu);
    dul_timer_activity(a);
}

static void ar2(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "A-RELEASE-RQ received");
    release_indication(a);
}

static void ar3(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    ferry_log(FERRY_LOG_INFO, a->log_ctx, "association released");
    a->ended = true;
    if (a->ops && a->ops->on_released)
        a->ops->on_released(a, a->arg);
    dul_io_close(a);
}

static void ar4(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    uint8_t pdu[10];
    dul_encode_release(DUL_PDU_RELEASE_RP, pdu);
    dul_io_send_pdu(a, pdu, sizeof pdu);
    a->ended = true;
    dul_timer_activity(a);
    dul_timer_artim(a, true);
    ferry_log(FERRY_LOG_INFO, a->log_ctx, "association released");
}

static void ar5(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    dul_timer_artim(a, false);
    dul_io_close(a);
}

static void ar8(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    a->state = a->requestor ? DUL_STA9 : DUL_STA10;
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "release collision");
    dul_timer_activity(a);
    release_indication(a);
}

static void ar9(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    uint8_t pdu[10];
    dul_encode_release(DUL_PDU_RELEASE_RP, pdu);
    dul_io_send_pdu(a, pdu, sizeof pdu);
    dul_timer_activity(a);
}

static void ar10(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    if (a->ops && a->ops->on_released)
        a->ops->on_released(a, a->arg);
    if (a->release_answer_pending && !a->closing && a->state == DUL_STA12) {
        a->release_answer_pending = false;
        dul_release_response(a);
    }
}

/* ------------------------------------------------------------ abort */

static void aa1(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    dul_io_send_abort(a, DUL_ABORT_SOURCE_USER, 0);
    dul_timer_activity(a);
    dul_timer_artim(a, true);
    if (x->why) {
        log_ended(a, x->why);
        dul_notify_aborted(a, false, DUL_ABORT_SOURCE_USER, 0, x->why);
    } else {
        ferry_log(FERRY_LOG_INFO, a->log_ctx, "association aborted by ferry (A-ABORT sent)");
    }
}

static void aa2(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    dul_timer_artim(a, false);
    /* In Sta2 this ends a connection that never became an association; in
     * Sta13 it is the normal end of one that was ending anyway. */
    if (x->why && x->from == DUL_STA2)
        log_ended(a, x->why);
    else if (x->why)
        ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "%s, closing", x->why);
    dul_io_close(a);
}

static void aa3(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    uint8_t source = x->len >= 10 ? x->pdu[8] : 0;
    uint8_t reason = x->len >= 10 ? x->pdu[9] : 0;
    char why[160];
    snprintf(why, sizeof why, "peer sent A-ABORT (source %u, %s, reason %u)", source,
             dul_abort_reason_name(source, reason), source == DUL_ABORT_SOURCE_PROVIDER ? reason : 0);
    log_ended(a, why);
    dul_notify_aborted(a, true, source, reason, why);
    dul_io_close(a);
}

static void aa4(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const char *why = x->why ? x->why : "connection lost";
    log_ended(a, why);
    dul_notify_aborted(a, false, DUL_ABORT_SOURCE_PROVIDER, DUL_ABORT_REASON_NOT_SPECIFIED, why);
    dul_io_close(a);
}

static void aa5(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    dul_timer_artim(a, false);
    if (x->mid_pdu)
        log_ended(a, x->why);
    else
        ferry_log(FERRY_LOG_INFO, a->log_ctx, "connection closed by the peer before A-ASSOCIATE-RQ");
    dul_io_close(a);
}

static void aa6(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    (void)x;
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "PDU ignored while waiting for the peer to close");
}

static void aa7(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    dul_io_send_abort(a, DUL_ABORT_SOURCE_PROVIDER, x->reason);
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "%s while closing, A-ABORT sent",
              x->why ? x->why : "PDU");
}

static void aa8(struct dul_assoc *a, struct dul_fsm_arg *x)
{
    const char *why = x->why ? x->why : "protocol error";
    dul_io_send_abort(a, DUL_ABORT_SOURCE_PROVIDER, x->reason);
    dul_timer_activity(a);
    dul_timer_artim(a, true);
    log_ended(a, why);
    dul_notify_aborted(a, false, DUL_ABORT_SOURCE_PROVIDER, x->reason, why);
}

static action_fn *const actions[] = {
    [DUL_AE1] = ae1, [DUL_AE2] = ae2, [DUL_AE3] = ae3, [DUL_AE4] = ae4,
    [DUL_AE5] = ae5, [DUL_AE6] = ae6, [DUL_AE7] = ae7, [DUL_AE8] = ae8,
    [DUL_DT1] = dt1, [DUL_DT2] = dt2,
    [DUL_AR1] = ar1, [DUL_AR2] = ar2, [DUL_AR3] = ar3, [DUL_AR4] = ar4, [DUL_AR5] = ar5,
    [DUL_AR6] = dt2, [DUL_AR7] = dt1, [DUL_AR8] = ar8, [DUL_AR9] = ar9, [DUL_AR10] = ar10,
    [DUL_AA1] = aa1, [DUL_AA2] = aa2, [DUL_AA3] = aa3, [DUL_AA4] = aa4,
    [DUL_AA5] = aa5, [DUL_AA6] = aa6, [DUL_AA7] = aa7, [DUL_AA8] = aa8,
};

void dul_fsm_fire(struct dul_assoc *a, enum dul_event e, struct dul_fsm_arg *x)
{
    enum dul_action act;
    enum dul_state next;
    if (a->closing) {
        x->rc = -ENOTCONN;
        return;
    }
    if (!dul_fsm_lookup(a->state, e, &act, &next)) {
        ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "Evt%d in %s: no transition", (int)e,
                  dul_state_name(a->state));
        x->rc = -ENOTCONN;
        return;
    }
    enum dul_state from = a->state;
    /* The state changes before the action runs, so that callbacks made by
     * the action see it; AE-6 and AR-8 choose their own. */
    if (next)
        a->state = next;
    if (ferry_log_enabled(FERRY_LOG_DEBUG) && e != DUL_EVT9 && e != DUL_EVT10)
        ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "Evt%d: %s %s -> %s", (int)e,
                  dul_state_name(from), dul_action_name(act),
                  next ? dul_state_name(next) : (act == DUL_AE6 ? "Sta3/Sta13" : "Sta9/Sta10"));
    x->rc = 0;
    x->from = from;
    actions[act](a, x);
}
