/* ferry — one association on the wire: PDU framing on receive, PDV
 * delivery with pause/resume, P-DATA fragmentation on send, timers, and the
 * calls the upper layer makes. State changes go through dul_fsm_fire()
 * (actions.c). */
#include "dul/dul-private.h"

#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static atomic_uint next_id = 1;

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ------------------------------------------------------------- timers */

static void artim_fired(struct net_timer *t)
{
    struct dul_assoc *a = container_of(t, struct dul_assoc, artim);
    char why[128];
    if (a->state == DUL_STA2)
        snprintf(why, sizeof why, "no A-ASSOCIATE-RQ within %u ms (ARTIM)", a->artim_ms);
    else
        snprintf(why, sizeof why, "peer did not close the connection within %u ms (ARTIM)",
                 a->artim_ms);
    struct dul_fsm_arg x = { .why = why };
    dul_fsm_fire(a, DUL_EVT18, &x);
}

static void idle_fired(struct net_timer *t)
{
    struct dul_assoc *a = container_of(t, struct dul_assoc, idle);
    switch (a->state) {
    case DUL_STA5:
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED,
                                 "no A-ASSOCIATE-AC within %u ms", a->reply_ms);
        break;
    case DUL_STA7:
    case DUL_STA10:
    case DUL_STA11:
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED, "no A-RELEASE-RP within %u ms",
                                 a->reply_ms);
        break;
    default:
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED, "idle for %u ms", a->idle_ms);
        break;
    }
}

static void pdu_fired(struct net_timer *t)
{
    struct dul_assoc *a = container_of(t, struct dul_assoc, pdu_timer);
    size_t have = a->rfill - a->rpos;
    if (!a->cur_len)
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED,
                                 "PDU header not complete after %u ms (%zu of 6 bytes received)",
                                 a->pdu_ms, have);
    else
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED,
                                 "%s of %zu bytes not complete after %u ms (%zu bytes received)",
                                 dul_pdu_name(a->rbuf[a->rpos]), a->cur_len, a->pdu_ms, have);
}

/* The association has been quiet for DUL_SHRINK_MS with an empty receive
 * buffer: give its pages past the first DUL_RBUF_MIN bytes back to the
 * kernel. A receive may be in flight into the buffer's start; nothing moves,
 * and a later large PDU simply faults fresh pages in. */
static void shrink_fired(struct net_timer *t)
{
    struct dul_assoc *a = container_of(t, struct dul_assoc, shrink);
    if (a->rfill != a->rpos || a->shrunk)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)a->rbuf + DUL_RBUF_MIN + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)a->rbuf + a->rcap) & ~(uintptr_t)(page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
    a->shrunk = true;
}

void dul_timer_artim(struct dul_assoc *a, bool on)
{
    if (on)
        net_timer_arm(a->loop, &a->artim, a->artim_ms);
    else
        net_timer_cancel(a->loop, &a->artim);
}

/* The idle / reply timer for the current state, restarted: called after
 * every complete PDU received and every send completed. */
void dul_timer_activity(struct dul_assoc *a)
{
    unsigned ms = 0;
    if (!a->closing && !a->paused) {
        switch (a->state) {
        case DUL_STA5:
        case DUL_STA7:
        case DUL_STA10:
        case DUL_STA11:
            ms = a->reply_ms;
            break;
        case DUL_STA6:
        case DUL_STA8:
        case DUL_STA9:
        case DUL_STA12:
            ms = a->idle_ms;
            break;
        default:
            break;
        }
    }
    if (ms)
        net_timer_arm(a->loop, &a->idle, ms);
    else
        net_timer_cancel(a->loop, &a->idle);
}

/* ------------------------------------------------------------ lifetime */

struct dul_assoc *dul_assoc_new(struct net_loop *loop, bool requestor)
{
    struct dul_assoc *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->rbuf = malloc(DUL_RBUF_MIN);
    if (!a->rbuf) {
        free(a);
        return NULL;
    }
    a->rcap = DUL_RBUF_MIN;
    a->loop = loop;
    a->requestor = requestor;
    a->state = DUL_STA1;
    a->info.id = atomic_fetch_add(&next_id, 1);
    a->info.requestor = requestor;
    a->info.peer = "?";
    net_timer_init(&a->artim, artim_fired);
    net_timer_init(&a->idle, idle_fired);
    net_timer_init(&a->pdu_timer, pdu_fired);
    net_timer_init(&a->shrink, shrink_fired);
    dul_assoc_set_log_ctx(a);
    return a;
}

void dul_assoc_attach(struct dul_assoc *a, struct net_conn *c)
{
    a->conn = c;
    net_conn_set_ops(c, &dul_conn_ops, a);
    a->info.peer = net_conn_peer_str(c);
    a->info.peer_addr = net_conn_peer(c);
    dul_assoc_set_log_ctx(a);
}

void dul_assoc_set_log_ctx(struct dul_assoc *a)
{
    const char *calling = a->info.calling_ae[0] ? a->info.calling_ae : "?";
    const char *called = a->info.called_ae[0] ? a->info.called_ae : "?";
    snprintf(a->log_ctx, sizeof a->log_ctx, "assoc %u %s %s->%s", a->info.id, a->info.peer,
             calling, called);
}

static void outbuf_list_free(struct dul_outbuf *o)
{
    while (o) {
        struct dul_outbuf *next = o->next;
        free(o);
        o = next;
    }
}

static void assoc_free(struct dul_assoc *a)
{
    net_timer_cancel(a->loop, &a->artim);
    net_timer_cancel(a->loop, &a->idle);
    net_timer_cancel(a->loop, &a->pdu_timer);
    net_timer_cancel(a->loop, &a->shrink);
    outbuf_list_free(a->sent_head);
    outbuf_list_free(a->pool);
    free(a->cur);
    free(a->rbuf);
    free(a->contexts);
    free(a->rq_pdu);
    dul_policy_unref(a->policy);
    free(a);
}

void dul_notify_aborted(struct dul_assoc *a, bool by_peer, uint8_t source, uint8_t reason,
                        const char *why)
{
    if (a->ended)
        return;
    a->ended = true;
    if (a->ops && a->ops->on_aborted) {
        struct dul_abort_info info = { .by_peer = by_peer, .source = source, .reason = reason,
                                       .message = why };
        a->ops->on_aborted(a, a->arg, &info);
    }
}

/* ---------------------------------------------------------------- send */

static struct dul_outbuf *outbuf_new(size_t cap, bool pooled)
{
    struct dul_outbuf *o = malloc(sizeof *o + cap);
    if (!o)
        return NULL;
    o->cap = cap;
    o->len = 0;
    o->last_pdv = 0;
    o->pooled = pooled;
    o->next = NULL;
    return o;
}

static void outbuf_recycle(struct dul_assoc *a, struct dul_outbuf *o)
{
    if (o->pooled && o->cap == (size_t)a->max_send + DUL_PDU_HEADER_LEN &&
        a->pool_n < DUL_POOL_MAX) {
        o->next = a->pool;
        a->pool = o;
        a->pool_n++;
        return;
    }
    free(o);
}

/* Hand o to net; it comes back in on_sent. */
static void outbuf_queue(struct dul_assoc *a, struct dul_outbuf *o)
{
    if (!a->conn || a->closing) {
        free(o);
        return;
    }
    o->send.buf = o->data;
    o->send.len = o->len;
    o->next = NULL;
    if (net_conn_send(a->conn, &o->send) < 0) {
        free(o); /* the connection is going away; on_closed follows */
        return;
    }
    if (a->sent_tail)
        a->sent_tail->next = o;
    else
        a->sent_head = o;
    a->sent_tail = o;
    a->queued += o->len;
}

void dul_io_flush(struct dul_assoc *a)
{
    struct dul_outbuf *o = a->cur;
    if (!o)
        return;
    a->cur = NULL;
    a->queued -= o->len;
    if (o->len <= DUL_PDU_HEADER_LEN) {
        outbuf_recycle(a, o);
        return;
    }
    o->data[0] = DUL_PDU_P_DATA;
    o->data[1] = 0;
    be32_put(o->data + 2, (uint32_t)(o->len - DUL_PDU_HEADER_LEN));
    outbuf_queue(a, o);
}

/* Send a control PDU (copied). P-DATA being filled goes first. */
void dul_io_send_pdu(struct dul_assoc *a, const uint8_t *pdu, size_t len)
{
    dul_io_flush(a);
    struct dul_outbuf *o = outbuf_new(len, false);
    if (!o) {
        /* Cannot even say goodbye: close. */
        dul_io_close(a);
        return;
    }
    memcpy(o->data, pdu, len);
    o->len = len;
    outbuf_queue(a, o);
}

void dul_io_send_abort(struct dul_assoc *a, uint8_t source, uint8_t reason)
{
    /* Unsent P-DATA is moot now. */
    if (a->cur) {
        a->queued -= a->cur->len;
        free(a->cur);
        a->cur = NULL;
    }
    uint8_t pdu[10];
    struct dul_abort ab = { .source = source, .reason = reason };
    dul_encode_abort(&ab, pdu);
    dul_io_send_pdu(a, pdu, sizeof pdu);
}

/* Append len bytes of one fragment stream to the P-DATA being built (see
 * dul_send_pdv). Returns 0 or -ENOMEM. */
int dul_io_pdata(struct dul_assoc *a, uint8_t pc_id, bool command, bool last, const uint8_t *p,
                 size_t left)
{
    uint8_t mch = command ? DUL_MCH_COMMAND : 0;
    size_t cap = (size_t)a->max_send + DUL_PDU_HEADER_LEN;
    bool once = true;
    while (left > 0 || (last && once)) {
        once = false;
        if (!a->cur) {
            struct dul_outbuf *o = a->pool;
            if (o) {
                a->pool = o->next;
                a->pool_n--;
            } else {
                o = outbuf_new(cap, true);
                if (!o)
                    return -ENOMEM;
            }
            o->len = DUL_PDU_HEADER_LEN;
            o->last_pdv = 0;
            a->cur = o;
            a->queued += o->len;
        }
        struct dul_outbuf *o = a->cur;
        size_t room = o->cap - o->len;
        uint8_t *last_hdr = o->last_pdv ? o->data + o->last_pdv : NULL;
        if (last_hdr && last_hdr[4] == pc_id && (last_hdr[5] & DUL_MCH_COMMAND) == mch &&
            !(last_hdr[5] & DUL_MCH_LAST)) {
            /* the same stream continues: grow the last PDV */
            uint32_t ilen = be32_get(last_hdr);
            size_t n = left < room ? left : room;
            if (n < left && ((ilen - 2 + n) & 1))
                n--; /* fragments stay even */
            if (n == 0 && left > 0) {
                dul_io_flush(a);
                continue;
            }
            memcpy(o->data + o->len, p, n);
            o->len += n;
            a->queued += n;
            be32_put(last_hdr, ilen + (uint32_t)n);
            p += n;
            left -= n;
            if (left == 0 && last)
                last_hdr[5] |= DUL_MCH_LAST;
            if (left > 0)
                dul_io_flush(a);
            continue;
        }
        if (room < 6 + (left ? 2u : 0u)) {
            dul_io_flush(a);
            continue;
        }
        size_t n = left < room - 6 ? left : room - 6;
        if (n < left && (n & 1))
            n--;
        uint8_t *h = o->data + o->len;
        be32_put(h, (uint32_t)(n + 2));
        h[4] = pc_id;
        h[5] = (uint8_t)(mch | (n == left && last ? DUL_MCH_LAST : 0));
        memcpy(h + 6, p, n);
        o->last_pdv = o->len;
        o->len += 6 + n;
        a->queued += 6 + n;
        p += n;
        left -= n;
        if (left > 0)
            dul_io_flush(a);
    }
    if (last)
        dul_io_flush(a);
    return 0;
}

/* ------------------------------------------------------------- receive */

static bool delivering_state(enum dul_state s)
{
    return s == DUL_STA6 || s == DUL_STA7;
}

void dul_io_close(struct dul_assoc *a)
{
    if (a->closing)
        return;
    a->closing = true;
    net_timer_cancel(a->loop, &a->artim);
    net_timer_cancel(a->loop, &a->idle);
    net_timer_cancel(a->loop, &a->pdu_timer);
    net_timer_cancel(a->loop, &a->shrink);
    if (a->conn)
        net_conn_close(a->conn);
}

/* Arrange the buffer and start a receive, if this state reads. */
void dul_io_read(struct dul_assoc *a)
{
    if (a->closing || !a->conn || a->state == DUL_STA1 || a->state == DUL_STA4)
        return;
    if (net_conn_recv_pending(a->conn) || a->pdv_off)
        return;
    if (a->paused && a->state != DUL_STA13)
        return;
    if (a->rpos == a->rfill) {
        a->rpos = a->rfill = 0;
        /* between messages with a grown buffer: give memory back if the
         * association stays quiet */
        if (a->msg_done && a->rcap > DUL_RBUF_MIN && !a->shrunk && !a->skip)
            net_timer_arm(a->loop, &a->shrink, DUL_SHRINK_MS);
    }
    if (a->rfill == a->rcap && a->rpos) {
        memmove(a->rbuf, a->rbuf + a->rpos, a->rfill - a->rpos);
        a->rfill -= a->rpos;
        a->rpos = 0;
    }
    if (a->rfill == a->rcap) {
        /* cannot happen: an incomplete PDU always has room (see process) */
        dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED, "receive buffer full");
        return;
    }
    net_conn_recv(a->conn, a->rbuf + a->rfill, a->rcap - a->rfill);
}

/* Make room for the whole PDU at rpos (cur_len bytes). */
static int ensure_room(struct dul_assoc *a)
{
    if (a->rcap - a->rpos >= a->cur_len)
        return 0;
    if (a->rpos) {
        memmove(a->rbuf, a->rbuf + a->rpos, a->rfill - a->rpos);
        a->rfill -= a->rpos;
        a->rpos = 0;
    }
    if (a->rcap >= a->cur_len)
        return 0;
    /* Grow to this PDU's size (in 16 KiB steps), not more: with hundreds
     * of associations sending at once, each buffer is what its peer's PDUs
     * take (a doubling buffer held 128 KiB for 64 KiB PDUs), and a
     * receive still takes a whole PDU at a time. Never past the largest PDU
     * this association accepts. */
    size_t limit = (size_t)(a->max_recv > a->max_assoc_pdu ? a->max_recv : a->max_assoc_pdu) +
                   DUL_PDU_HEADER_LEN;
    size_t want = (a->cur_len + DUL_RBUF_MIN - 1) / DUL_RBUF_MIN * DUL_RBUF_MIN;
    if (want > limit)
        want = limit;
    if (want < a->cur_len)
        want = a->cur_len;
    uint8_t *b = realloc(a->rbuf, want);
    if (!b)
        return -ENOMEM;
    a->rbuf = b;
    a->rcap = want;
    return 0;
}

static bool consumes_content(enum dul_action act)
{
    switch (act) {
    case DUL_AE3: case DUL_AE4: case DUL_AE6: case DUL_DT2: case DUL_AR6: case DUL_AA3:
    case DUL_AR2: case DUL_AR3: case DUL_AR8: case DUL_AR10:
        return true;
    default:
        return false;
    }
}

static enum dul_event event_for(uint8_t type)
{
    switch (type) {
    case DUL_PDU_ASSOCIATE_RQ: return DUL_EVT6;
    case DUL_PDU_ASSOCIATE_AC: return DUL_EVT3;
    case DUL_PDU_ASSOCIATE_RJ: return DUL_EVT4;
    case DUL_PDU_P_DATA: return DUL_EVT10;
    case DUL_PDU_RELEASE_RQ: return DUL_EVT12;
    case DUL_PDU_RELEASE_RP: return DUL_EVT13;
    case DUL_PDU_ABORT: return DUL_EVT16;
    default: return DUL_EVT19;
    }
}

static void unexpected_why(struct dul_assoc *a, uint8_t type, char *buf, size_t size)
{
    const char *name = dul_pdu_name(type);
    switch (a->state) {
    case DUL_STA2:
        snprintf(buf, size, "%s before A-ASSOCIATE-RQ", name);
        break;
    case DUL_STA5:
        snprintf(buf, size, "%s while waiting for A-ASSOCIATE-AC", name);
        break;
    case DUL_STA6:
        snprintf(buf, size, "unexpected %s in an established association", name);
        break;
    default:
        snprintf(buf, size, "unexpected %s in %s", name, dul_state_name(a->state));
        break;
    }
}

/* Best effort: the AE titles of an A-ASSOCIATE-RQ for the log context,
 * before (and whether or not) the rest of it decodes. */
static void peek_ae_titles(struct dul_assoc *a, const uint8_t *pdu, size_t len)
{
    if (len < 42 || pdu[0] != DUL_PDU_ASSOCIATE_RQ || a->state != DUL_STA2 ||
        a->info.calling_ae[0])
        return;
    char *dst[2] = { a->info.called_ae, a->info.calling_ae };
    for (int k = 0; k < 2; k++) {
        const uint8_t *v = pdu + 10 + 16 * k;
        size_t s = 0, e = 16;
        while (s < e && v[s] == ' ')
            s++;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == 0))
            e--;
        for (size_t i = s; i < e; i++)
            dst[k][i - s] = (v[i] >= 0x21 && v[i] <= 0x7e) ? (char)v[i] : '?';
        dst[k][e - s] = '\0';
    }
    dul_assoc_set_log_ctx(a);
}

/* A PDU header was read at rpos: decide whether to buffer the PDU or act
 * on its type alone (an unexpected PDU, or one to ignore) and skip it. */
static void on_header(struct dul_assoc *a)
{
    const uint8_t *h = a->rbuf + a->rpos;
    uint8_t type;
    uint32_t length;
    struct ferry_error *err = NULL;
    char why[256];
    if (dul_pdu_header(h, &type, &length, &err) < 0) {
        snprintf(why, sizeof why, "%s", ferry_error_message(err));
        ferry_error_free(err);
        a->rpos += DUL_PDU_HEADER_LEN;
        a->skip = length;
        struct dul_fsm_arg x = { .reason = DUL_ABORT_UNRECOGNIZED_PDU, .why = why };
        dul_fsm_fire(a, DUL_EVT19, &x);
        return;
    }
    enum dul_event e = event_for(type);
    enum dul_action act;
    enum dul_state next;
    peek_ae_titles(a, h, a->rfill - a->rpos);
    if (dul_fsm_lookup(a->state, e, &act, &next) && consumes_content(act)) {
        if (dul_pdu_check_length(type, length, a->max_recv, a->max_assoc_pdu, &err) < 0) {
            int code = err ? err->code : -EBADMSG;
            snprintf(why, sizeof why, "%s", ferry_error_message(err));
            ferry_error_free(err);
            a->rpos += DUL_PDU_HEADER_LEN;
            a->skip = length;
            struct dul_fsm_arg x = { .reason = dul_pdu_abort_reason(code), .why = why };
            dul_fsm_fire(a, DUL_EVT19, &x);
            return;
        }
        a->cur_len = (size_t)length + DUL_PDU_HEADER_LEN;
        return;
    }
    /* Acting on the header alone; the body is discarded as it arrives. */
    unexpected_why(a, type, why, sizeof why);
    a->rpos += DUL_PDU_HEADER_LEN;
    a->skip = length;
    struct dul_fsm_arg x = { .reason = DUL_ABORT_UNEXPECTED_PDU, .why = why };
    dul_fsm_fire(a, e, &x);
}

/* A whole PDU is at rpos (cur_len bytes): decode what its action needs and
 * fire its event (or Evt19 if it does not decode). */
static void on_pdu(struct dul_assoc *a)
{
    const uint8_t *pdu = a->rbuf + a->rpos;
    size_t len = a->cur_len;
    uint8_t type = pdu[0];
    struct ferry_error *err = NULL;
    struct dul_fsm_arg x = { .pdu = pdu, .len = len };
    struct dul_associate decoded;
    int rc = 0;
    a->msg_done = type != DUL_PDU_P_DATA;
    switch (type) {
    case DUL_PDU_ASSOCIATE_RQ:
    case DUL_PDU_ASSOCIATE_AC:
        rc = dul_decode_associate(pdu, len, &decoded, &err);
        x.assoc_pdu = &decoded;
        break;
    case DUL_PDU_P_DATA: {
        size_t n;
        rc = dul_pdata_validate(pdu, len, &n, &err);
        break;
    }
    case DUL_PDU_ASSOCIATE_RJ: {
        struct dul_reject rj;
        rc = dul_decode_reject(pdu, len, &rj, &err);
        break;
    }
    case DUL_PDU_ABORT:
        /* A-ABORT ends things whatever its fields say */
        break;
    default:
        rc = dul_decode_release(pdu, len, &err);
        break;
    }
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", ferry_error_message(err));
        ferry_error_free(err);
        struct dul_fsm_arg bad = { .reason = dul_pdu_abort_reason(rc), .why = why };
        dul_fsm_fire(a, DUL_EVT19, &bad);
        return;
    }
    dul_fsm_fire(a, event_for(type), &x);
    if (x.assoc_pdu)
        dul_associate_clear(&decoded);
}

/* Deliver the PDVs of the P-DATA at rpos, from pdv_off, until done,
 * paused or the association leaves the data states. */
static void deliver(struct dul_assoc *a)
{
    const uint8_t *pdu = a->rbuf + a->rpos;
    struct dul_pdv pdv;
    while (a->pdv_off && !a->paused && !a->closing && delivering_state(a->state)) {
        size_t off = a->pdv_off;
        if (!dul_pdata_next(pdu, a->cur_len, &off, &pdv)) {
            a->pdv_off = 0;
            return;
        }
        a->pdv_off = off >= a->cur_len ? a->cur_len : off;
        if (!a->ctx_index[pdv.pc_id]) {
            a->pdv_off = 0;
            dul_assoc_provider_abort(a, DUL_ABORT_UNEXPECTED_PARAMETER,
                                     "PDV for presentation context %u, which was not accepted",
                                     pdv.pc_id);
            return;
        }
        a->msg_done = (pdv.mch & DUL_MCH_LAST) != 0;
        if (a->ops && a->ops->on_pdv) {
            struct dul_pdv_in in = {
                .pc_id = pdv.pc_id,
                .command = (pdv.mch & DUL_MCH_COMMAND) != 0,
                .last = (pdv.mch & DUL_MCH_LAST) != 0,
                .data = pdv.data,
                .len = pdv.len,
            };
            a->ops->on_pdv(a, a->arg, &in);
        }
        if (a->pdv_off >= a->cur_len)
            a->pdv_off = 0; /* that was the last PDV */
    }
    if (!delivering_state(a->state))
        a->pdv_off = 0; /* aborted or released meanwhile: drop the rest */
}

/* The receive loop: frame PDUs from the buffer and hand each to the state
 * machine, then read more if this state reads. */
static void process(struct dul_assoc *a)
{
    while (!a->closing) {
        if (a->pdv_off) {
            deliver(a);
            if (a->pdv_off)
                return; /* paused in the middle of a PDU */
            a->rpos += a->cur_len;
            a->cur_len = 0;
            continue;
        }
        size_t avail = a->rfill - a->rpos;
        if (a->skip) {
            size_t n = avail < a->skip ? avail : (size_t)a->skip;
            a->rpos += n;
            a->skip -= n;
            if (a->skip)
                break;
            continue;
        }
        if (!a->cur_len) {
            if (avail < DUL_PDU_HEADER_LEN) {
                if (avail && !net_timer_armed(&a->pdu_timer) && a->state != DUL_STA13 &&
                    !a->paused)
                    net_timer_arm(a->loop, &a->pdu_timer, a->pdu_ms);
                break;
            }
            on_header(a);
            continue;
        }
        if (avail < a->cur_len) {
            peek_ae_titles(a, a->rbuf + a->rpos, avail);
            if (ensure_room(a) < 0) {
                dul_assoc_provider_abort(a, DUL_ABORT_REASON_NOT_SPECIFIED,
                                         "out of memory for a PDU of %zu bytes", a->cur_len);
                return;
            }
            /* the peer has pdu_ms to finish it, unless we are the ones
             * not reading */
            if (!net_timer_armed(&a->pdu_timer) && !a->paused)
                net_timer_arm(a->loop, &a->pdu_timer, a->pdu_ms);
            break;
        }
        net_timer_cancel(a->loop, &a->pdu_timer);
        on_pdu(a);
        if (a->closing)
            return;
        dul_timer_activity(a);
        if (!a->pdv_off) {
            a->rpos += a->cur_len;
            a->cur_len = 0;
        }
    }
    if (a->rpos == a->rfill && !a->cur_len)
        net_timer_cancel(a->loop, &a->pdu_timer);
    dul_io_read(a);
}

/* --------------------------------------------------------- net callbacks */

static void transport_lost(struct dul_assoc *a, ssize_t res)
{
    char why[256];
    size_t have = a->rfill - a->rpos;
    bool mid_pdu = a->cur_len || (have && !a->skip);
    if (res < 0)
        snprintf(why, sizeof why, "connection error: %s", strerror((int)-res));
    else if (mid_pdu)
        snprintf(why, sizeof why,
                 "connection closed by the peer in the middle of a PDU (%zu of %zu bytes)", have,
                 a->cur_len ? a->cur_len : (size_t)DUL_PDU_HEADER_LEN);
    else
        snprintf(why, sizeof why, "connection closed by the peer");
    struct dul_fsm_arg x = { .why = why, .mid_pdu = mid_pdu || res < 0 };
    dul_fsm_fire(a, DUL_EVT17, &x);
}

static void conn_on_connect(struct net_conn *c, void *arg, int res)
{
    (void)c;
    struct dul_assoc *a = arg;
    if (res < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot connect to %s: %s", a->info.peer, strerror(-res));
        struct dul_fsm_arg x = { .why = why };
        dul_fsm_fire(a, DUL_EVT17, &x);
        return;
    }
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT2, &x);
}

static void conn_on_recv(struct net_conn *c, void *arg, ssize_t res)
{
    (void)c;
    struct dul_assoc *a = arg;
    if (res <= 0) {
        transport_lost(a, res);
        return;
    }
    a->rfill += (size_t)res;
    if (a->shrunk || net_timer_armed(&a->shrink)) {
        net_timer_cancel(a->loop, &a->shrink);
        a->shrunk = false;
    }
    process(a);
}

static void conn_on_sent(struct net_conn *c, void *arg, struct net_send *s, int res)
{
    (void)c;
    struct dul_assoc *a = arg;
    struct dul_outbuf *o = container_of(s, struct dul_outbuf, send);
    /* net reports sends in order: o is the head */
    a->sent_head = o->next;
    if (!a->sent_head)
        a->sent_tail = NULL;
    a->queued -= o->len;
    outbuf_recycle(a, o);
    if (res < 0) {
        if (!a->closing)
            transport_lost(a, res);
        return;
    }
    dul_timer_activity(a);
    if (!a->sent_head && !a->cur) {
        /* Nothing left to send: the pool only helps while streaming, so an
         * idle association does not keep PDU-sized buffers. */
        outbuf_list_free(a->pool);
        a->pool = NULL;
        a->pool_n = 0;
    }
    if (a->want_writable && a->queued <= (size_t)a->max_send + DUL_PDU_HEADER_LEN &&
        !a->closing) {
        a->want_writable = false;
        if (a->ops && a->ops->on_writable)
            a->ops->on_writable(a, a->arg);
    }
}

static void conn_on_closed(struct net_conn *c, void *arg)
{
    (void)c;
    struct dul_assoc *a = arg;
    a->conn = NULL;
    a->state = DUL_STA1;
    /* closed from outside the state machine (net's drain deadline) */
    dul_notify_aborted(a, false, DUL_ABORT_SOURCE_PROVIDER, 0, "connection closed");
    /* sends that were in flight were cancelled without callbacks */
    outbuf_list_free(a->sent_head);
    a->sent_head = a->sent_tail = NULL;
    if (a->ops && a->ops->on_closed)
        a->ops->on_closed(a, a->arg);
    ferry_log(FERRY_LOG_DEBUG, a->log_ctx, "connection closed");
    if (a->server)
        dul_server_forget(a);
    assoc_free(a);
}

const struct net_conn_ops dul_conn_ops = {
    .on_connect = conn_on_connect,
    .on_recv = conn_on_recv,
    .on_sent = conn_on_sent,
    .on_closed = conn_on_closed,
};

/* ---------------------------------------------------------- upper layer */

void dul_assoc_provider_abort(struct dul_assoc *a, uint8_t reason, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    struct dul_fsm_arg x = { .reason = reason, .why = why };
    dul_fsm_fire(a, DUL_EVT19, &x);
}

void dul_assoc_set_ops(struct dul_assoc *a, const struct dul_assoc_ops *ops, void *arg)
{
    a->ops = ops;
    a->arg = arg;
}

const struct dul_assoc_info *dul_assoc_info(const struct dul_assoc *a)
{
    return &a->info;
}

const struct dul_context *dul_assoc_context(const struct dul_assoc *a, uint8_t pc_id)
{
    uint8_t i = a->ctx_index[pc_id];
    return i ? &a->contexts[i - 1] : NULL;
}

const struct dul_context *dul_assoc_find_context(const struct dul_assoc *a, const char *abstract,
                                                 const char *ts)
{
    for (size_t i = 0; i < a->info.n_contexts; i++) {
        const struct dul_context *c = &a->contexts[i];
        if (c->result == DUL_PC_ACCEPTANCE && strcmp(c->abstract_syntax, abstract) == 0 &&
            (!ts || strcmp(c->transfer_syntax, ts) == 0))
            return c;
    }
    return NULL;
}

const char *dul_assoc_log_ctx(const struct dul_assoc *a)
{
    return a->log_ctx;
}

enum dul_state dul_assoc_state(const struct dul_assoc *a)
{
    return a->state;
}

int dul_send_pdv(struct dul_assoc *a, uint8_t pc_id, bool command, bool last, const void *data,
                 size_t len)
{
    enum dul_action act;
    enum dul_state next;
    if (a->closing || !dul_fsm_lookup(a->state, DUL_EVT9, &act, &next))
        return -ENOTCONN;
    if (!a->ctx_index[pc_id])
        return -EINVAL;
    int rc = dul_io_pdata(a, pc_id, command, last, data, len);
    if (rc < 0)
        return rc;
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT9, &x); /* DT-1 / AR-7: the state stays */
    if (a->queued > (size_t)a->max_send + DUL_PDU_HEADER_LEN)
        a->want_writable = true;
    return 0;
}

size_t dul_send_queued(const struct dul_assoc *a)
{
    return a->queued;
}

int dul_release(struct dul_assoc *a)
{
    enum dul_action act;
    enum dul_state next;
    if (a->closing || !dul_fsm_lookup(a->state, DUL_EVT11, &act, &next))
        return -ENOTCONN;
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT11, &x);
    return 0;
}

int dul_release_response(struct dul_assoc *a)
{
    if (a->closing || !a->release_indicated)
        return -ENOTCONN;
    if (a->state == DUL_STA10) {
        /* our own release is not confirmed yet: answer once it is (Sta12) */
        a->release_answer_pending = true;
        return 0;
    }
    enum dul_action act;
    enum dul_state next;
    if (!dul_fsm_lookup(a->state, DUL_EVT14, &act, &next))
        return -ENOTCONN;
    a->release_indicated = false;
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT14, &x);
    return 0;
}

void dul_abort(struct dul_assoc *a)
{
    if (a->closing || a->state == DUL_STA13 || a->state == DUL_STA1)
        return;
    a->ended = true; /* the caller knows */
    enum dul_action act;
    enum dul_state next;
    if (!dul_fsm_lookup(a->state, DUL_EVT15, &act, &next)) {
        dul_io_close(a); /* Sta2: no association to abort yet */
        return;
    }
    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT15, &x);
}

void dul_pause(struct dul_assoc *a)
{
    if (a->paused)
        return;
    a->paused = true;
    /* While we do not read, neither silence nor a half-received PDU is
     * the peer's fault: the idle and per-PDU timers wait. The receive loop
     * re-arms the PDU timer on resume if a PDU is still incomplete. */
    dul_timer_activity(a);
    if (a->state != DUL_STA13)
        net_timer_cancel(a->loop, &a->pdu_timer);
}

static void resume_fn(struct net_work *w)
{
    struct dul_assoc *a = container_of(w, struct dul_assoc, resume_work);
    a->resume_queued = false;
    if (a->paused || a->closing)
        return;
    dul_timer_activity(a);
    if (net_conn_recv_pending(a->conn))
        return; /* its completion runs the receive loop */
    process(a);
}

void dul_resume(struct dul_assoc *a)
{
    if (!a->paused)
        return;
    a->paused = false;
    if (!a->resume_queued && !a->closing) {
        a->resume_queued = true;
        a->resume_work.fn = resume_fn;
        net_loop_defer(a->loop, &a->resume_work);
    }
}

bool dul_paused(const struct dul_assoc *a)
{
    return a->paused;
}
