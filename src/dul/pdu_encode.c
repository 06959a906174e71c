/* ferry — PS3.8 PDU encoding. The same walk measures (buf == NULL) and
 * writes, so the size asked for is the size written. */
#include "dul/pdu.h"

#include <errno.h>
#include <string.h>

struct writer {
    uint8_t *buf;     /* NULL: measure only */
    size_t cap, n;
    int err;          /* first error (negative errno) */
};

static void w_byte(struct writer *w, uint8_t v)
{
    if (w->buf && w->n < w->cap)
        w->buf[w->n] = v;
    w->n++;
}

static void w_16(struct writer *w, uint16_t v)
{
    w_byte(w, (uint8_t)(v >> 8));
    w_byte(w, (uint8_t)v);
}

static void w_32(struct writer *w, uint32_t v)
{
    w_16(w, (uint16_t)(v >> 16));
    w_16(w, (uint16_t)v);
}

static void w_bytes(struct writer *w, const void *src, size_t n)
{
    if (n == 0)
        return; /* src may be NULL (an empty server response ...) */
    if (w->buf && w->n + n <= w->cap)
        memcpy(w->buf + w->n, src, n);
    w->n += n;
}

static void fail(struct writer *w, int code)
{
    if (!w->err)
        w->err = code;
}

/* Start an item: type, reserved, a length filled in by item_end. */
static size_t item_begin(struct writer *w, uint8_t type, uint8_t reserved)
{
    w_byte(w, type);
    w_byte(w, reserved);
    size_t at = w->n;
    w_16(w, 0);
    return at;
}

static void item_end(struct writer *w, size_t at)
{
    size_t len = w->n - at - 2;
    if (len > 0xffff) {
        fail(w, -EINVAL);
        return;
    }
    if (w->buf && at + 2 <= w->cap) {
        w->buf[at] = (uint8_t)(len >> 8);
        w->buf[at + 1] = (uint8_t)len;
    }
}

/* A UID item; empty only where its value is not significant (the transfer
 * syntax of a rejected presentation context). */
static void w_uid_item(struct writer *w, uint8_t type, const char *uid, bool may_be_empty)
{
    size_t n = uid ? strlen(uid) : 0;
    if (n > DUL_UID_MAX || (n == 0 && !may_be_empty))
        fail(w, -EINVAL);
    size_t at = item_begin(w, type, 0);
    w_bytes(w, uid, n);
    item_end(w, at);
}

/* A uint16 length and the UID (role selection, extended negotiation). */
static void w_short_uid(struct writer *w, const char *uid)
{
    size_t n = uid ? strlen(uid) : 0;
    if (n > DUL_UID_MAX)
        fail(w, -EINVAL);
    w_16(w, (uint16_t)n);
    w_bytes(w, uid, n);
}

static void w_ae(struct writer *w, const char *ae)
{
    size_t n = strlen(ae);
    if (n > DUL_AE_MAX)
        fail(w, -EINVAL);
    char field[DUL_AE_MAX];
    memset(field, ' ', sizeof field);
    memcpy(field, ae, n > DUL_AE_MAX ? DUL_AE_MAX : n);
    w_bytes(w, field, sizeof field);
}

static void w_user_info(struct writer *w, const struct dul_user_info *ui, bool rq)
{
    size_t at = item_begin(w, 0x50, 0);
    size_t s = item_begin(w, 0x51, 0);
    w_32(w, ui->max_length);
    item_end(w, s);
    /* mandatory in PS3.8, but a decoded PDU may lack it: left out then */
    if (ui->impl_class_uid)
        w_uid_item(w, 0x52, ui->impl_class_uid, false);
    if (ui->has_async) {
        s = item_begin(w, 0x53, 0);
        w_16(w, ui->async_invoked);
        w_16(w, ui->async_performed);
        item_end(w, s);
    }
    for (size_t i = 0; i < ui->n_roles; i++) {
        s = item_begin(w, 0x54, 0);
        w_short_uid(w, ui->roles[i].sop_class);
        w_byte(w, ui->roles[i].scu);
        w_byte(w, ui->roles[i].scp);
        item_end(w, s);
    }
    if (ui->impl_version) {
        size_t n = strlen(ui->impl_version);
        if (n < 1 || n > DUL_VERSION_NAME_MAX)
            fail(w, -EINVAL);
        s = item_begin(w, 0x55, 0);
        w_bytes(w, ui->impl_version, n);
        item_end(w, s);
    }
    for (size_t i = 0; i < ui->n_ext; i++) {
        s = item_begin(w, 0x56, 0);
        w_short_uid(w, ui->ext[i].sop_class);
        w_bytes(w, ui->ext[i].info, ui->ext[i].info_len);
        item_end(w, s);
    }
    if (rq) {
        for (size_t i = 0; i < ui->n_common_ext; i++) {
            const struct dul_common_ext_neg *c = &ui->common_ext[i];
            s = item_begin(w, 0x57, 0); /* sub-item version 0 */
            w_short_uid(w, c->sop_class);
            w_short_uid(w, c->service_class);
            size_t rel = 0;
            for (size_t k = 0; k < c->n_related; k++)
                rel += 2 + strlen(c->related[k]);
            if (rel > 0xffff)
                fail(w, -EINVAL);
            w_16(w, (uint16_t)rel);
            for (size_t k = 0; k < c->n_related; k++)
                w_short_uid(w, c->related[k]);
            item_end(w, s);
        }
        if (ui->has_identity) {
            const struct dul_user_identity *id = &ui->identity;
            s = item_begin(w, 0x58, 0);
            w_byte(w, id->type);
            w_byte(w, id->positive_response_requested);
            w_16(w, id->primary_len);
            w_bytes(w, id->primary, id->primary_len);
            w_16(w, id->secondary_len);
            w_bytes(w, id->secondary, id->secondary_len);
            item_end(w, s);
        }
    } else if (ui->has_identity_ac) {
        s = item_begin(w, 0x59, 0);
        w_16(w, ui->server_response_len);
        w_bytes(w, ui->server_response, ui->server_response_len);
        item_end(w, s);
    }
    item_end(w, at);
}

ssize_t dul_encode_associate(const struct dul_associate *a, uint8_t *buf, size_t cap)
{
    bool rq = a->type == DUL_PDU_ASSOCIATE_RQ;
    if (!rq && a->type != DUL_PDU_ASSOCIATE_AC)
        return -EINVAL;
    struct writer w = { .buf = buf, .cap = cap };
    w_byte(&w, a->type);
    w_byte(&w, 0);
    w_32(&w, 0); /* PDU-length, below */
    w_16(&w, a->protocol_version ? a->protocol_version : 1);
    w_16(&w, 0);
    w_ae(&w, a->called_ae);
    w_ae(&w, a->calling_ae);
    for (int i = 0; i < 32; i++)
        w_byte(&w, 0);
    w_uid_item(&w, 0x10, a->app_context ? a->app_context : DUL_APPLICATION_CONTEXT, false);
    for (size_t i = 0; i < a->n_pc; i++) {
        const struct dul_pc *pc = &a->pc[i];
        if (!(pc->id & 1))
            fail(&w, -EINVAL);
        size_t at = item_begin(&w, rq ? 0x20 : 0x21, 0);
        w_byte(&w, pc->id);
        w_byte(&w, 0);
        w_byte(&w, rq ? 0 : pc->result);
        w_byte(&w, 0);
        if (rq) {
            if (!pc->abstract_syntax || pc->n_ts == 0)
                fail(&w, -EINVAL);
            w_uid_item(&w, 0x30, pc->abstract_syntax, false);
            for (size_t k = 0; k < pc->n_ts; k++)
                w_uid_item(&w, 0x40, pc->ts[k], false);
        } else {
            /* exactly one transfer syntax sub-item; its value is not
             * significant when the context was rejected */
            if (pc->n_ts > 1 || (pc->result == DUL_PC_ACCEPTANCE && pc->n_ts != 1))
                fail(&w, -EINVAL);
            w_uid_item(&w, 0x40, pc->n_ts ? pc->ts[0] : "", pc->result != DUL_PC_ACCEPTANCE);
        }
        item_end(&w, at);
    }
    w_user_info(&w, &a->ui, rq);
    if (w.err)
        return w.err;
    if (w.n - DUL_PDU_HEADER_LEN > 0xffffffffu)
        return -EINVAL;
    if (!buf)
        return (ssize_t)w.n;
    if (w.n > cap)
        return -ENOSPC;
    uint32_t len = (uint32_t)(w.n - DUL_PDU_HEADER_LEN);
    buf[2] = (uint8_t)(len >> 24);
    buf[3] = (uint8_t)(len >> 16);
    buf[4] = (uint8_t)(len >> 8);
    buf[5] = (uint8_t)len;
    return (ssize_t)w.n;
}

static void short_pdu(uint8_t type, uint8_t b7, uint8_t b8, uint8_t b9, uint8_t buf[10])
{
    buf[0] = type;
    buf[1] = 0;
    buf[2] = buf[3] = buf[4] = 0;
    buf[5] = 4;
    buf[6] = 0;
    buf[7] = b7;
    buf[8] = b8;
    buf[9] = b9;
}

void dul_encode_reject(const struct dul_reject *rj, uint8_t buf[10])
{
    short_pdu(DUL_PDU_ASSOCIATE_RJ, rj->result, rj->source, rj->reason, buf);
}

void dul_encode_abort(const struct dul_abort *ab, uint8_t buf[10])
{
    /* With source 0 (service-user) the reason is sent as 0. */
    short_pdu(DUL_PDU_ABORT, 0, ab->source,
              ab->source == DUL_ABORT_SOURCE_USER ? 0 : ab->reason, buf);
}

void dul_encode_release(uint8_t type, uint8_t buf[10])
{
    short_pdu(type, 0, 0, 0, buf);
}

ssize_t dul_encode_pdata(const struct dul_pdv *pdvs, size_t n, uint8_t *buf, size_t cap)
{
    struct writer w = { .buf = buf, .cap = cap };
    w_byte(&w, DUL_PDU_P_DATA);
    w_byte(&w, 0);
    w_32(&w, 0);
    for (size_t i = 0; i < n; i++) {
        if (pdvs[i].len > 0xffffffffu - 2)
            return -EINVAL;
        w_32(&w, (uint32_t)(pdvs[i].len + 2));
        w_byte(&w, pdvs[i].pc_id);
        w_byte(&w, pdvs[i].mch);
        w_bytes(&w, pdvs[i].data, pdvs[i].len);
    }
    if (!buf)
        return (ssize_t)w.n;
    if (w.n > cap)
        return -ENOSPC;
    uint32_t len = (uint32_t)(w.n - DUL_PDU_HEADER_LEN);
    buf[2] = (uint8_t)(len >> 24);
    buf[3] = (uint8_t)(len >> 16);
    buf[4] = (uint8_t)(len >> 8);
    buf[5] = (uint8_t)len;
    return (ssize_t)w.n;
}
