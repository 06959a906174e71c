/* ferry — PS3.8 PDU decoding. Every byte is hostile: each length is
 * checked against what is left before it is used, and each error names the
 * byte offset from the start of the PDU.
 *
 * An A-ASSOCIATE PDU is walked twice by the same code: the first walk checks
 * everything and counts (contexts, syntaxes, roles, string bytes), the second
 * fills one allocation of exactly that size. So a hostile PDU costs at most
 * a few times its own length in memory, and nothing is allocated for one
 * that is malformed. */
#include "dul/pdu.h"

#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

const char *dul_pdu_name(uint8_t type)
{
    static char unknown[24];
    switch (type) {
    case DUL_PDU_ASSOCIATE_RQ: return "A-ASSOCIATE-RQ";
    case DUL_PDU_ASSOCIATE_AC: return "A-ASSOCIATE-AC";
    case DUL_PDU_ASSOCIATE_RJ: return "A-ASSOCIATE-RJ";
    case DUL_PDU_P_DATA: return "P-DATA-TF";
    case DUL_PDU_RELEASE_RQ: return "A-RELEASE-RQ";
    case DUL_PDU_RELEASE_RP: return "A-RELEASE-RP";
    case DUL_PDU_ABORT: return "A-ABORT";
    default:
        snprintf(unknown, sizeof unknown, "PDU type 0x%02x", type);
        return unknown;
    }
}

uint8_t dul_pdu_abort_reason(int code)
{
    switch (code) {
    case -ENOMSG: return DUL_ABORT_UNRECOGNIZED_PDU;
    case -EPROTO: return DUL_ABORT_UNEXPECTED_PARAMETER;
    case -EBADMSG:
    case -EMSGSIZE: return DUL_ABORT_INVALID_PARAMETER;
    default: return DUL_ABORT_REASON_NOT_SPECIFIED;
    }
}

int dul_pdu_header(const uint8_t *hdr, uint8_t *type, uint32_t *length, struct ferry_error **err)
{
    *type = hdr[0];
    *length = be32(hdr + 2);
    if (hdr[0] < DUL_PDU_ASSOCIATE_RQ || hdr[0] > DUL_PDU_ABORT)
        return ferry_error_set(err, -ENOMSG, "unknown PDU type 0x%02x", hdr[0]);
    return 0;
}

int dul_pdu_check_length(uint8_t type, uint32_t length, uint32_t max_pdata, uint32_t max_assoc,
                         struct ferry_error **err)
{
    const char *name = dul_pdu_name(type);
    switch (type) {
    case DUL_PDU_ASSOCIATE_RQ:
    case DUL_PDU_ASSOCIATE_AC:
        if (length < 68)
            return ferry_error_set(err, -EBADMSG,
                                   "%s: PDU-length %u is shorter than the 68 bytes of fixed fields",
                                   name, length);
        if (max_assoc && length > max_assoc)
            return ferry_error_set(err, -EMSGSIZE, "%s: PDU-length %u exceeds the limit of %u bytes",
                                   name, length, max_assoc);
        return 0;
    case DUL_PDU_P_DATA:
        if (max_pdata && length > max_pdata)
            return ferry_error_set(err, -EMSGSIZE,
                                   "P-DATA-TF: PDU-length %u exceeds the maximum length %u", length,
                                   max_pdata);
        return 0;
    case DUL_PDU_ASSOCIATE_RJ:
    case DUL_PDU_RELEASE_RQ:
    case DUL_PDU_RELEASE_RP:
    case DUL_PDU_ABORT:
        if (length != 4)
            return ferry_error_set(err, -EBADMSG, "%s: PDU-length %u, expected 4", name, length);
        return 0;
    default:
        return ferry_error_set(err, -ENOMSG, "unknown PDU type 0x%02x", type);
    }
}

const char *dul_uid_problem(const char *uid, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > DUL_UID_MAX)
        return "is longer than 64 characters";
    bool component_empty = true;
    for (size_t i = 0; i < len; i++) {
        char c = uid[i];
        if (c == '.') {
            if (component_empty)
                return "has an empty component";
            component_empty = true;
        } else if (c >= '0' && c <= '9') {
            component_empty = false;
        } else {
            return "has a character other than digits and dots";
        }
    }
    if (component_empty)
        return "has an empty component";
    return NULL;
}

/* --------------------------------------------------------- the walker */

struct parser {
    const uint8_t *buf;
    size_t len;
    const char *pdu;              /* "A-ASSOCIATE-RQ" / "-AC" */
    bool rq;
    bool fill;                    /* second walk: write into out */
    struct ferry_error **err;

    /* first walk: counts */
    size_t n_pc, n_ts, n_roles, n_ext, n_cext, n_related, n_bytes;
    uint8_t seen_id[32];          /* bitmap of presentation context IDs */

    /* second walk: where things go */
    struct dul_associate *out;
    struct dul_pc *pc;
    const char **ptrs;            /* transfer syntaxes and related UIDs */
    struct dul_role *roles;
    struct dul_ext_neg *ext;
    struct dul_common_ext_neg *cext;
    char *bytes;
    size_t i_pc, i_ptr, i_roles, i_ext, i_cext, i_bytes;
};

/* Keep n bytes (plus a NUL); NULL on the first walk. */
static const char *keep(struct parser *p, const uint8_t *src, size_t n)
{
    if (!p->fill) {
        p->n_bytes += n + 1;
        return NULL;
    }
    char *d = p->bytes + p->i_bytes;
    memcpy(d, src, n);
    d[n] = '\0';
    p->i_bytes += n + 1;
    return d;
}

/* A UID value of len bytes at value_off; errors name name_off (the item,
 * or the UID's length field inside a sub-item). Trailing NULs and spaces
 * are forgiven: some implementations pad UIDs here as they do in data
 * sets. */
static int uid_at(struct parser *p, size_t value_off, size_t len, const char *what,
                  size_t name_off, const char **out)
{
    const uint8_t *v = p->buf + value_off;
    size_t n = len;
    while (n && (v[n - 1] == 0 || v[n - 1] == ' '))
        n--;
    const char *problem = dul_uid_problem((const char *)v, n);
    if (problem) {
        if (n > DUL_UID_MAX)
            return ferry_error_set(p->err, -EBADMSG, "%s: %s at offset %zu %s", p->pdu, what,
                                   name_off, problem);
        /* keep the log line one line and printable */
        char shown[DUL_UID_MAX + 1];
        for (size_t i = 0; i < n; i++)
            shown[i] = (v[i] >= 0x20 && v[i] <= 0x7e) ? (char)v[i] : '?';
        shown[n] = '\0';
        return ferry_error_set(p->err, -EBADMSG, "%s: %s '%s' at offset %zu %s", p->pdu, what,
                               shown, name_off, problem);
    }
    *out = keep(p, v, n);
    return 0;
}

static int uid_value(struct parser *p, size_t off, size_t len, const char *what,
                     const char **out)
{
    return uid_at(p, off + 4, len, what, off, out);
}

/* Read the 4-byte header of the item at off; end is the end of what
 * contains it (named by `in`). */
static int item_header(struct parser *p, size_t off, size_t end, const char *in, uint8_t *type,
                       size_t *ilen)
{
    if (end - off < 4)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: item at offset %zu is truncated: %zu bytes left in %s, "
                               "its header needs 4",
                               p->pdu, off, end - off, in);
    *type = p->buf[off];
    *ilen = be16(p->buf + off + 2);
    if (*ilen > end - off - 4)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: item 0x%02x at offset %zu: length %zu exceeds the %zu bytes "
                               "left in %s",
                               p->pdu, *type, off, *ilen, end - off - 4, in);
    return 0;
}

static bool is_known_item(uint8_t type)
{
    return type == 0x10 || type == 0x20 || type == 0x21 || type == 0x30 || type == 0x40 ||
           (type >= 0x50 && type <= 0x59);
}

static const char *item_home(uint8_t type)
{
    if (type == 0x30 || type == 0x40)
        return "belongs in a presentation context item";
    if (type >= 0x51 && type <= 0x59)
        return "belongs in the user information item";
    return "belongs at the top level of the PDU";
}

/* Presentation context, RQ (0x20) or AC (0x21) form. */
static int parse_pc(struct parser *p, size_t off, size_t ilen)
{
    const uint8_t *v = p->buf + off + 4;
    if (ilen < 4)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: presentation context item at offset %zu: length %zu is shorter "
                               "than 4",
                               p->pdu, off, ilen);
    uint8_t id = v[0];
    if (!p->fill) {
        if (!(id & 1))
            return ferry_error_set(p->err, -EBADMSG,
                                   "%s: presentation context item at offset %zu: ID %u is not odd",
                                   p->pdu, off, id);
        if (p->seen_id[id >> 3] & (1u << (id & 7)))
            return ferry_error_set(p->err, -EBADMSG,
                                   "%s: presentation context ID %u at offset %zu is used twice",
                                   p->pdu, id, off);
        p->seen_id[id >> 3] |= (uint8_t)(1u << (id & 7));
        if (!p->rq && v[2] > DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED)
            return ferry_error_set(p->err, -EBADMSG,
                                   "%s: presentation context %u at offset %zu: result %u is not 0-4",
                                   p->pdu, id, off, v[2]);
    }
    struct dul_pc *pc = NULL;
    if (p->fill) {
        pc = &p->pc[p->i_pc++];
        pc->id = id;
        pc->result = p->rq ? 0 : v[2];
        pc->ts = p->ptrs + p->i_ptr;
        pc->n_ts = 0;
    } else {
        p->n_pc++;
    }
    bool accepted = p->rq || v[2] == DUL_PC_ACCEPTANCE;
    bool seen_as = false;
    size_t n_ts = 0;
    size_t end = off + 4 + ilen;
    int rc;
    for (size_t s = off + 8; s < end;) {
        uint8_t type;
        size_t slen;
        if ((rc = item_header(p, s, end, "the presentation context item", &type, &slen)) < 0)
            return rc;
        if (type == 0x30 && p->rq) {
            if (seen_as)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: presentation context %u: second abstract syntax "
                                       "sub-item at offset %zu",
                                       p->pdu, id, s);
            if (n_ts)
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: presentation context %u: abstract syntax sub-item at "
                                       "offset %zu follows a transfer syntax sub-item",
                                       p->pdu, id, s);
            seen_as = true;
            const char *uid = NULL;
            if ((rc = uid_value(p, s, slen, "abstract syntax", &uid)) < 0)
                return rc;
            if (pc)
                pc->abstract_syntax = uid;
        } else if (type == 0x30) {
            /* An abstract syntax in an AC context means nothing; skip it. */
        } else if (type == 0x40) {
            if (!p->rq && n_ts)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: presentation context %u: second transfer syntax "
                                       "sub-item at offset %zu",
                                       p->pdu, id, s);
            n_ts++;
            if (accepted) {
                const char *uid = NULL;
                if ((rc = uid_value(p, s, slen, "transfer syntax", &uid)) < 0)
                    return rc;
                if (pc) {
                    p->ptrs[p->i_ptr++] = uid;
                    pc->n_ts++;
                } else {
                    p->n_ts++;
                }
            }
        } else if (is_known_item(type)) {
            return ferry_error_set(p->err, -EPROTO,
                                   "%s: presentation context %u: item 0x%02x at offset %zu %s",
                                   p->pdu, id, type, s, item_home(type));
        }
        s += 4 + slen;
    }
    if (p->rq && !seen_as)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: presentation context %u: no abstract syntax sub-item", p->pdu,
                               id);
    if (p->rq && !n_ts)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: presentation context %u: no transfer syntax sub-item", p->pdu,
                               id);
    if (!p->rq && accepted && !n_ts)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: presentation context %u: accepted without a transfer syntax "
                               "sub-item",
                               p->pdu, id);
    return 0;
}

/* A uint16 length and that many bytes of UID at *pos inside [.., end). */
static int short_uid(struct parser *p, size_t item_off, size_t *pos, size_t end, const char *what,
                     const char **out)
{
    if (end - *pos < 2)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: %s sub-item at offset %zu: the length of its %s is cut off",
                               p->pdu, what, item_off, "UID");
    size_t n = be16(p->buf + *pos);
    if (n > end - *pos - 2)
        return ferry_error_set(p->err, -EBADMSG,
                               "%s: %s sub-item at offset %zu: UID length %zu exceeds the %zu bytes "
                               "left in the sub-item",
                               p->pdu, what, item_off, n, end - *pos - 2);
    int rc = uid_at(p, *pos + 2, n, what, *pos, out);
    if (rc < 0)
        return rc;
    *pos += 2 + n;
    return 0;
}

static int parse_user_info(struct parser *p, size_t off, size_t ilen)
{
    struct dul_user_info *ui = p->fill ? &p->out->ui : NULL;
    bool seen[0x5a - 0x51] = { 0 };
    size_t end = off + 4 + ilen;
    int rc;
    /* Sub-items are not checked for order: PS3.8 lists them in type
     * order, but real implementations send 0x55 before 0x53 and so on, and
     * the order carries no meaning. */
    for (size_t s = off + 4; s < end;) {
        uint8_t type;
        size_t slen;
        if ((rc = item_header(p, s, end, "the user information item", &type, &slen)) < 0)
            return rc;
        const uint8_t *v = p->buf + s + 4;
        bool once = type == 0x51 || type == 0x52 || type == 0x53 || type == 0x55 ||
                    type == 0x58 || type == 0x59;
        if (once && !p->fill) {
            if (seen[type - 0x51])
                return ferry_error_set(p->err, -EBADMSG, "%s: second sub-item 0x%02x at offset %zu",
                                       p->pdu, type, s);
            seen[type - 0x51] = true;
        }
        switch (type) {
        case 0x51:
            if (slen != 4)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: maximum length sub-item at offset %zu: length %zu, "
                                       "expected 4",
                                       p->pdu, s, slen);
            if (ui) {
                ui->has_max_length = true;
                ui->max_length = be32(v);
            }
            break;
        case 0x52: {
            const char *uid = NULL;
            if ((rc = uid_value(p, s, slen, "implementation class UID", &uid)) < 0)
                return rc;
            if (ui)
                ui->impl_class_uid = uid;
            break;
        }
        case 0x53:
            if (slen != 4)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: asynchronous operations window sub-item at offset %zu: "
                                       "length %zu, expected 4",
                                       p->pdu, s, slen);
            if (ui) {
                ui->has_async = true;
                ui->async_invoked = be16(v);
                ui->async_performed = be16(v + 2);
            }
            break;
        case 0x54: {
            if (slen < 4 || be16(v) != slen - 4)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: role selection sub-item at offset %zu: UID length %u "
                                       "does not fit the sub-item length %zu",
                                       p->pdu, s, slen >= 2 ? be16(v) : 0u, slen);
            size_t pos = s + 4;
            const char *uid = NULL;
            if ((rc = short_uid(p, s, &pos, end, "role selection", &uid)) < 0)
                return rc;
            if (p->fill) {
                struct dul_role *r = &p->roles[p->i_roles++];
                r->sop_class = uid;
                r->scu = p->buf[pos] ? 1 : 0;
                r->scp = p->buf[pos + 1] ? 1 : 0;
            } else {
                p->n_roles++;
            }
            break;
        }
        case 0x55: {
            if (slen < 1 || slen > DUL_VERSION_NAME_MAX)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: implementation version name at offset %zu: length %zu "
                                       "is not 1-16",
                                       p->pdu, s, slen);
            for (size_t i = 0; i < slen; i++)
                if (v[i] < 0x20 || v[i] > 0x7e)
                    return ferry_error_set(p->err, -EBADMSG,
                                           "%s: implementation version name at offset %zu "
                                           "contains byte 0x%02x",
                                           p->pdu, s, v[i]);
            size_t n = slen;
            while (n && v[n - 1] == ' ')
                n--;
            /* all spaces: as if absent */
            const char *name = n ? keep(p, v, n) : NULL;
            if (ui)
                ui->impl_version = name;
            break;
        }
        case 0x56: {
            size_t pos = s + 4;
            const char *uid = NULL;
            if ((rc = short_uid(p, s, &pos, s + 4 + slen, "SOP class extended negotiation", &uid)) < 0)
                return rc;
            size_t info_len = s + 4 + slen - pos;
            const char *info = keep(p, p->buf + pos, info_len);
            if (p->fill) {
                struct dul_ext_neg *e = &p->ext[p->i_ext++];
                e->sop_class = uid;
                e->info = (const uint8_t *)info;
                e->info_len = (uint16_t)info_len;
            } else {
                p->n_ext++;
            }
            break;
        }
        case 0x57: {
            if (!p->rq)
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: SOP class common extended negotiation sub-item at "
                                       "offset %zu is not allowed in an A-ASSOCIATE-AC",
                                       p->pdu, s);
            size_t pos = s + 4, e = s + 4 + slen;
            const char *sop = NULL, *service = NULL;
            const char *what = "SOP class common extended negotiation";
            if ((rc = short_uid(p, s, &pos, e, what, &sop)) < 0 ||
                (rc = short_uid(p, s, &pos, e, what, &service)) < 0)
                return rc;
            if (e - pos < 2)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: %s sub-item at offset %zu: the length of its related "
                                       "general SOP classes is cut off",
                                       p->pdu, what, s);
            size_t rel_len = be16(p->buf + pos);
            pos += 2;
            if (rel_len != e - pos)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: %s sub-item at offset %zu: related general SOP classes "
                                       "length %zu does not match the %zu bytes left",
                                       p->pdu, what, s, rel_len, e - pos);
            struct dul_common_ext_neg *c = NULL;
            if (p->fill) {
                c = &p->cext[p->i_cext++];
                c->sop_class = sop;
                c->service_class = service;
                c->related = p->ptrs + p->i_ptr;
                c->n_related = 0;
            } else {
                p->n_cext++;
            }
            while (pos < e) {
                const char *rel = NULL;
                if ((rc = short_uid(p, s, &pos, e, what, &rel)) < 0)
                    return rc;
                if (c) {
                    p->ptrs[p->i_ptr++] = rel;
                    c->n_related++;
                } else {
                    p->n_related++;
                }
            }
            break;
        }
        case 0x58: {
            if (!p->rq)
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: user identity (RQ) sub-item at offset %zu is not "
                                       "allowed in an A-ASSOCIATE-AC",
                                       p->pdu, s);
            if (slen < 6)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: user identity sub-item at offset %zu: length %zu is "
                                       "shorter than 6",
                                       p->pdu, s, slen);
            if (v[0] < 1 || v[0] > 5)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: user identity sub-item at offset %zu: type %u is not 1-5",
                                       p->pdu, s, v[0]);
            size_t plen = be16(v + 2);
            if (plen > slen - 6)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: user identity sub-item at offset %zu: primary field "
                                       "length %zu exceeds the %zu bytes left",
                                       p->pdu, s, plen, slen - 6);
            size_t qlen = be16(v + 4 + plen);
            if (qlen != slen - 6 - plen)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: user identity sub-item at offset %zu: secondary field "
                                       "length %zu does not match the %zu bytes left",
                                       p->pdu, s, qlen, slen - 6 - plen);
            const char *prim = keep(p, v + 4, plen);
            const char *sec = keep(p, v + 6 + plen, qlen);
            if (ui) {
                ui->has_identity = true;
                ui->identity.type = v[0];
                ui->identity.positive_response_requested = v[1] ? 1 : 0;
                ui->identity.primary = (const uint8_t *)prim;
                ui->identity.primary_len = (uint16_t)plen;
                ui->identity.secondary = (const uint8_t *)sec;
                ui->identity.secondary_len = (uint16_t)qlen;
            }
            break;
        }
        case 0x59: {
            if (p->rq)
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: user identity (AC) sub-item at offset %zu is not "
                                       "allowed in an A-ASSOCIATE-RQ",
                                       p->pdu, s);
            if (slen < 2 || be16(v) != slen - 2)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: user identity (AC) sub-item at offset %zu: server "
                                       "response length does not match the sub-item length %zu",
                                       p->pdu, s, slen);
            const char *resp = keep(p, v + 2, slen - 2);
            if (ui) {
                ui->has_identity_ac = true;
                ui->server_response = (const uint8_t *)resp;
                ui->server_response_len = (uint16_t)(slen - 2);
            }
            break;
        }
        default:
            if (is_known_item(type))
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: user information: item 0x%02x at offset %zu %s", p->pdu,
                                       type, s, item_home(type));
            break; /* unknown: skipped */
        }
        s += 4 + slen;
    }
    return 0;
}

static int ae_field(struct parser *p, size_t off, const char *what, char out[DUL_AE_MAX + 1])
{
    const uint8_t *v = p->buf + off;
    size_t a = 0, b = DUL_AE_MAX;
    if (p->rq) {
        for (size_t i = 0; i < DUL_AE_MAX; i++)
            if (v[i] < 0x20 || v[i] > 0x7e)
                return ferry_error_set(p->err, -EBADMSG, "%s: %s at offset %zu contains byte 0x%02x",
                                       p->pdu, what, off + i, v[i]);
    }
    while (a < b && v[a] == ' ')
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == 0))
        b--;
    if (p->rq && a == b)
        return ferry_error_set(p->err, -EBADMSG, "%s: %s at offset %zu is all spaces", p->pdu, what,
                               off);
    if (p->fill) {
        /* In an AC these bytes are reserved and not tested; keep them
         * printable for logs. */
        for (size_t i = a; i < b; i++)
            out[i - a] = (v[i] >= 0x20 && v[i] <= 0x7e) ? (char)v[i] : '?';
        out[b - a] = '\0';
    }
    return 0;
}

static int walk_associate(struct parser *p)
{
    int rc;
    if ((rc = ae_field(p, 10, "called AE title", p->fill ? p->out->called_ae : NULL)) < 0 ||
        (rc = ae_field(p, 26, "calling AE title", p->fill ? p->out->calling_ae : NULL)) < 0)
        return rc;
    if (p->fill)
        p->out->protocol_version = be16(p->buf + 6);
    uint8_t last = 0;  /* the last known top-level item type seen */
    bool seen_app = false, seen_ui = false;
    uint8_t pc_type = p->rq ? 0x20 : 0x21;
    size_t end = p->len;
    for (size_t off = 74; off < end;) {
        uint8_t type;
        size_t ilen;
        if ((rc = item_header(p, off, end, "the PDU", &type, &ilen)) < 0)
            return rc;
        if (type == 0x10 || type == pc_type || type == 0x50) {
            if (type < last)
                return ferry_error_set(p->err, -EPROTO,
                                       "%s: item 0x%02x at offset %zu follows item 0x%02x: items "
                                       "out of order",
                                       p->pdu, type, off, last);
            last = type;
        }
        if (type == 0x10) {
            if (seen_app)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: second application context item at offset %zu", p->pdu,
                                       off);
            seen_app = true;
            const char *uid = NULL;
            if ((rc = uid_value(p, off, ilen, "application context name", &uid)) < 0)
                return rc;
            if (p->fill)
                p->out->app_context = uid;
        } else if (type == pc_type) {
            if ((rc = parse_pc(p, off, ilen)) < 0)
                return rc;
        } else if (type == 0x50) {
            if (seen_ui)
                return ferry_error_set(p->err, -EBADMSG,
                                       "%s: second user information item at offset %zu", p->pdu, off);
            seen_ui = true;
            if ((rc = parse_user_info(p, off, ilen)) < 0)
                return rc;
        } else if (type == 0x20 || type == 0x21) {
            return ferry_error_set(p->err, -EPROTO,
                                   "%s: item 0x%02x at offset %zu is not allowed in an %s", p->pdu,
                                   type, off, p->pdu);
        } else if (is_known_item(type)) {
            return ferry_error_set(p->err, -EPROTO, "%s: item 0x%02x at offset %zu %s", p->pdu,
                                   type, off, item_home(type));
        }
        /* unknown item types are skipped (PS3.8 9.3.1) */
        off += 4 + ilen;
    }
    if (!seen_app)
        return ferry_error_set(p->err, -EBADMSG, "%s: no application context item", p->pdu);
    if (!p->fill && p->n_pc == 0)
        return ferry_error_set(p->err, -EBADMSG, "%s: no presentation context item", p->pdu);
    if (!seen_ui)
        return ferry_error_set(p->err, -EBADMSG, "%s: no user information item", p->pdu);
    return 0;
}

void dul_associate_clear(struct dul_associate *a)
{
    free(a->mem);
    memset(a, 0, sizeof *a);
}

int dul_decode_associate(const uint8_t *buf, size_t len, struct dul_associate *out,
                         struct ferry_error **err)
{
    memset(out, 0, sizeof *out);
    if (len < DUL_PDU_HEADER_LEN ||
        (buf[0] != DUL_PDU_ASSOCIATE_RQ && buf[0] != DUL_PDU_ASSOCIATE_AC))
        return ferry_error_set(err, -EINVAL, "not an A-ASSOCIATE-RQ or -AC PDU");
    struct parser p = { .buf = buf, .len = len, .err = err };
    p.rq = buf[0] == DUL_PDU_ASSOCIATE_RQ;
    p.pdu = p.rq ? "A-ASSOCIATE-RQ" : "A-ASSOCIATE-AC";
    uint32_t pdu_len = be32(buf + 2);
    if ((size_t)pdu_len + DUL_PDU_HEADER_LEN != len)
        return ferry_error_set(err, -EBADMSG, "%s: PDU-length %u does not match the %zu bytes given",
                               p.pdu, pdu_len, len - DUL_PDU_HEADER_LEN);
    int rc = dul_pdu_check_length(buf[0], pdu_len, 0, 0, err);
    if (rc < 0)
        return rc;
    if ((rc = walk_associate(&p)) < 0)
        return rc;

    /* One allocation for everything the first walk counted. */
    size_t n_ptr = p.n_ts + p.n_related;
    size_t size = p.n_pc * sizeof(struct dul_pc) + n_ptr * sizeof(const char *) +
                  p.n_roles * sizeof(struct dul_role) + p.n_ext * sizeof(struct dul_ext_neg) +
                  p.n_cext * sizeof(struct dul_common_ext_neg) + p.n_bytes;
    char *mem = malloc(size ? size : 1);
    if (!mem)
        return ferry_error_set(err, -ENOMEM, "%s: out of memory for %zu bytes", p.pdu, size);
    char *m = mem;
    p.pc = (struct dul_pc *)(void *)m;
    m += p.n_pc * sizeof(struct dul_pc);
    p.ptrs = (const char **)(void *)m;
    m += n_ptr * sizeof(const char *);
    p.roles = (struct dul_role *)(void *)m;
    m += p.n_roles * sizeof(struct dul_role);
    p.ext = (struct dul_ext_neg *)(void *)m;
    m += p.n_ext * sizeof(struct dul_ext_neg);
    p.cext = (struct dul_common_ext_neg *)(void *)m;
    m += p.n_cext * sizeof(struct dul_common_ext_neg);
    p.bytes = m;

    out->type = buf[0];
    out->mem = mem;
    out->pc = p.pc;
    out->n_pc = p.n_pc;
    out->ui.roles = p.roles;
    out->ui.n_roles = p.n_roles;
    out->ui.ext = p.ext;
    out->ui.n_ext = p.n_ext;
    out->ui.common_ext = p.cext;
    out->ui.n_common_ext = p.n_cext;
    p.fill = true;
    p.out = out;
    memset(p.seen_id, 0, sizeof p.seen_id);
    struct ferry_error *unexpected = NULL;
    p.err = &unexpected;
    rc = walk_associate(&p);
    if (rc < 0) {
        /* the first walk accepted what the second refused: a bug */
        ferry_error_set(err, rc, "%s: internal decoder error: %s", p.pdu,
                        ferry_error_message(unexpected));
        ferry_error_free(unexpected);
        dul_associate_clear(out);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------ short PDUs */

static int fixed_len(const uint8_t *buf, size_t len, uint8_t type, struct ferry_error **err)
{
    if (len < DUL_PDU_HEADER_LEN || buf[0] != type)
        return ferry_error_set(err, -EINVAL, "not an %s PDU", dul_pdu_name(type));
    uint32_t pdu_len = be32(buf + 2);
    if (pdu_len != 4 || len != 10)
        return ferry_error_set(err, -EBADMSG, "%s: PDU-length %u, expected 4", dul_pdu_name(type),
                               pdu_len);
    return 0;
}

int dul_decode_reject(const uint8_t *buf, size_t len, struct dul_reject *out,
                      struct ferry_error **err)
{
    int rc = fixed_len(buf, len, DUL_PDU_ASSOCIATE_RJ, err);
    if (rc < 0)
        return rc;
    out->result = buf[7];
    out->source = buf[8];
    out->reason = buf[9];
    if (out->result != DUL_RJ_PERMANENT && out->result != DUL_RJ_TRANSIENT)
        return ferry_error_set(err, -EBADMSG,
                               "A-ASSOCIATE-RJ: result %u is not 1 (permanent) or 2 (transient)",
                               out->result);
    if (out->source < 1 || out->source > 3)
        return ferry_error_set(err, -EBADMSG, "A-ASSOCIATE-RJ: source %u is not 1-3", out->source);
    return 0;
}

int dul_decode_abort(const uint8_t *buf, size_t len, struct dul_abort *out,
                     struct ferry_error **err)
{
    int rc = fixed_len(buf, len, DUL_PDU_ABORT, err);
    if (rc < 0)
        return rc;
    out->source = buf[8];
    out->reason = buf[9];
    if (out->source > 2)
        return ferry_error_set(err, -EBADMSG, "A-ABORT: source %u is not 0, 1 or 2", out->source);
    return 0;
}

int dul_decode_release(const uint8_t *buf, size_t len, struct ferry_error **err)
{
    if (len >= 1 && buf[0] == DUL_PDU_RELEASE_RP)
        return fixed_len(buf, len, DUL_PDU_RELEASE_RP, err);
    return fixed_len(buf, len, DUL_PDU_RELEASE_RQ, err);
}

/* ------------------------------------------------------------ P-DATA */

int dul_pdata_validate(const uint8_t *buf, size_t len, size_t *n_pdv, struct ferry_error **err)
{
    *n_pdv = 0;
    if (len < DUL_PDU_HEADER_LEN || buf[0] != DUL_PDU_P_DATA)
        return ferry_error_set(err, -EINVAL, "not a P-DATA-TF PDU");
    if ((size_t)be32(buf + 2) + DUL_PDU_HEADER_LEN != len)
        return ferry_error_set(err, -EBADMSG,
                               "P-DATA-TF: PDU-length %u does not match the %zu bytes given",
                               be32(buf + 2), len - DUL_PDU_HEADER_LEN);
    if (len == DUL_PDU_HEADER_LEN)
        return ferry_error_set(err, -EBADMSG, "P-DATA-TF: no PDV item");
    for (size_t off = DUL_PDU_HEADER_LEN; off < len;) {
        size_t left = len - off;
        if (left < 4)
            return ferry_error_set(err, -EBADMSG,
                                   "P-DATA-TF: PDV item at offset %zu is truncated: %zu bytes left, "
                                   "its length field needs 4",
                                   off, left);
        uint32_t ilen = be32(buf + off);
        if (ilen > left - 4)
            return ferry_error_set(err, -EBADMSG,
                                   "P-DATA-TF: PDV item at offset %zu: length %u exceeds the %zu "
                                   "bytes left in the PDU",
                                   off, ilen, left - 4);
        if (ilen < 2)
            return ferry_error_set(err, -EBADMSG,
                                   "P-DATA-TF: PDV item at offset %zu: length %u is shorter than "
                                   "the presentation context ID and message control header",
                                   off, ilen);
        if (!(buf[off + 4] & 1))
            return ferry_error_set(err, -EBADMSG,
                                   "P-DATA-TF: PDV item at offset %zu: presentation context ID %u "
                                   "is not odd",
                                   off, buf[off + 4]);
        (*n_pdv)++;
        off += 4 + (size_t)ilen;
    }
    return 0;
}

bool dul_pdata_next(const uint8_t *buf, size_t len, size_t *off, struct dul_pdv *pdv)
{
    if (*off + 6 > len)
        return false;
    uint32_t ilen = be32(buf + *off);
    pdv->pc_id = buf[*off + 4];
    pdv->mch = buf[*off + 5] & (DUL_MCH_COMMAND | DUL_MCH_LAST);
    pdv->data = buf + *off + 6;
    pdv->len = ilen - 2;
    *off += 4 + (size_t)ilen;
    return true;
}
