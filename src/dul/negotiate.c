/* ferry — acceptor negotiation: the policy compiled once, then a pure
 * decision per A-ASSOCIATE-RQ (no I/O, no logging: the association logs
 * the decision's `why`). */
#include "dul/dul-private.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFICATION_SOP_CLASS "1.2.840.10008.1.1"

/* ---------------------------------------------------------------- CIDR */

int dul_cidr_parse(const char *text, struct dul_cidr *out, struct ferry_error **err)
{
    memset(out, 0, sizeof *out);
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n == 0 || n >= sizeof addr)
        return ferry_error_set(err, -EINVAL, "'%s' is not an address or address range", text);
    memcpy(addr, text, n);
    addr[n] = '\0';
    unsigned max;
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return ferry_error_set(err, -EINVAL, "'%s' is not an address or address range", text);
    }
    unsigned prefix = max;
    if (slash) {
        const char *p = slash + 1;
        if (!*p)
            return ferry_error_set(err, -EINVAL, "'%s': prefix length missing after '/'", text);
        prefix = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || prefix > 1000)
                return ferry_error_set(err, -EINVAL, "'%s': prefix length is not a number", text);
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (prefix > max)
            return ferry_error_set(err, -EINVAL, "'%s': prefix length %u is over %u", text, prefix,
                                   max);
    }
    out->prefix = (uint8_t)prefix;
    /* host bits are cleared so that "10.1.2.3/8" means 10.0.0.0/8 */
    for (unsigned bit = prefix; bit < max; bit++)
        out->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    return 0;
}

bool dul_cidr_match(const struct dul_cidr *c, const struct sockaddr_storage *sa)
{
    const uint8_t *a;
    if (sa->ss_family == AF_INET && c->family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->ss_family == AF_INET6 && c->family == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    } else if (sa->ss_family == AF_INET6 && c->family == AF_INET) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(v6))
            return false;
        a = (const uint8_t *)v6 + 12;
    } else {
        return false;
    }
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(a, c->addr, full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((a[full] & mask) != (c->addr[full] & mask))
            return false;
    }
    return true;
}

/* -------------------------------------------------------------- policy */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* An AE title from config: 1-16 printable characters, trimmed. */
static int ae_copy(const char *in, char out[DUL_AE_MAX + 1], const char *what,
                   struct ferry_error **err)
{
    const char *a = in, *b = in + strlen(in);
    while (a < b && *a == ' ')
        a++;
    while (b > a && b[-1] == ' ')
        b--;
    if (a == b)
        return ferry_error_set(err, -EINVAL, "policy: %s '%s' is empty", what, in);
    if (b - a > DUL_AE_MAX)
        return ferry_error_set(err, -EINVAL, "policy: %s '%s' is longer than 16 characters", what,
                               in);
    for (const char *p = a; p < b; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '\\')
            return ferry_error_set(err, -EINVAL,
                                   "policy: %s '%s' has a character other than printable ASCII",
                                   what, in);
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return 0;
}

void dul_policy_unref(struct dul_policy_c *c)
{
    if (!c || --c->refs)
        return;
    for (size_t i = 0; i < c->n_peers; i++)
        free(c->peers[i].cidrs);
    free(c->peers);
    free(c->ae_titles);
    free(c->abstract);
    free(c->ts);
    free(c->strings);
    free(c);
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

struct dul_policy_c *dul_policy_compile(const struct dul_policy *in, struct ferry_error **err)
{
    static const struct dul_policy defaults;
    const struct dul_policy *p = in ? in : &defaults;
    struct dul_policy_c *c = calloc(1, sizeof *c);
    if (!c)
        goto out_oom;
    c->refs = 1;

    c->max_pdu = or_default(p->max_pdu, DUL_DEFAULT_MAX_PDU);
    if (c->max_pdu < DUL_MIN_MAX_PDU || c->max_pdu > DUL_MAX_MAX_PDU) {
        ferry_error_set(err, -EINVAL, "policy: max_pdu %u is outside %u..%u", p->max_pdu,
                        DUL_MIN_MAX_PDU, DUL_MAX_MAX_PDU);
        goto out_free;
    }
    c->max_send_pdu = or_default(p->max_send_pdu, DUL_DEFAULT_MAX_PDU);
    if (c->max_send_pdu < DUL_MIN_MAX_PDU || c->max_send_pdu > DUL_MAX_MAX_PDU) {
        ferry_error_set(err, -EINVAL, "policy: max_send_pdu %u is outside %u..%u",
                        p->max_send_pdu, DUL_MIN_MAX_PDU, DUL_MAX_MAX_PDU);
        goto out_free;
    }
    c->max_assoc_pdu = or_default(p->max_assoc_pdu, DUL_DEFAULT_ASSOC_PDU);
    if (c->max_assoc_pdu < 1024 || c->max_assoc_pdu > DUL_MAX_MAX_PDU) {
        ferry_error_set(err, -EINVAL, "policy: max_assoc_pdu %u is outside 1024..%u",
                        p->max_assoc_pdu, DUL_MAX_MAX_PDU);
        goto out_free;
    }
    c->artim_ms = or_default(p->artim_ms, DUL_DEFAULT_ARTIM_MS);
    c->idle_ms = or_default(p->idle_ms, DUL_DEFAULT_IDLE_MS);
    c->pdu_ms = or_default(p->pdu_ms, DUL_DEFAULT_PDU_MS);
    c->require_user_identity = p->require_user_identity;
    c->max_associations = p->max_associations;
    c->max_associations_per_peer = p->max_associations_per_peer;

    const char *impl = p->impl_class_uid ? p->impl_class_uid : DUL_FERRY_IMPL_CLASS_UID;
    const char *problem = dul_uid_problem(impl, strlen(impl));
    if (problem) {
        ferry_error_set(err, -EINVAL, "policy: implementation class UID '%s' %s", impl, problem);
        goto out_free;
    }
    strcpy(c->impl_class_uid, impl);
    const char *ver = p->impl_version ? p->impl_version : DUL_FERRY_IMPL_VERSION;
    if (strlen(ver) < 1 || strlen(ver) > DUL_VERSION_NAME_MAX) {
        ferry_error_set(err, -EINVAL, "policy: implementation version name '%s' is not 1-16 characters",
                        ver);
        goto out_free;
    }
    strcpy(c->impl_version, ver);

    if (p->n_ae_titles) {
        c->ae_titles = calloc(p->n_ae_titles, sizeof *c->ae_titles);
        if (!c->ae_titles)
            goto out_oom;
        for (size_t i = 0; i < p->n_ae_titles; i++)
            if (ae_copy(p->ae_titles[i], c->ae_titles[i], "AE title", err) < 0)
                goto out_free;
        c->n_ae_titles = p->n_ae_titles;
    }

    if (p->n_peers) {
        c->peers = calloc(p->n_peers, sizeof *c->peers);
        if (!c->peers)
            goto out_oom;
        c->n_peers = p->n_peers;
        for (size_t i = 0; i < p->n_peers; i++) {
            const struct dul_peer_rule *r = &p->peers[i];
            struct dul_peer_rule_c *rc = &c->peers[i];
            if (r->calling_ae && *r->calling_ae &&
                ae_copy(r->calling_ae, rc->calling_ae, "calling AE title", err) < 0)
                goto out_free;
            if (r->n_cidrs) {
                rc->cidrs = calloc(r->n_cidrs, sizeof *rc->cidrs);
                if (!rc->cidrs)
                    goto out_oom;
                for (size_t k = 0; k < r->n_cidrs; k++) {
                    if (dul_cidr_parse(r->cidrs[k], &rc->cidrs[k], err) < 0) {
                        ferry_error_prefix(err, "policy: peer rule %zu", i + 1);
                        goto out_free;
                    }
                }
                rc->n_cidrs = r->n_cidrs;
            }
        }
    }

    /* Syntax lists: copy the strings (the config may go away). */
    size_t n_abs = p->n_abstract_syntaxes ? p->n_abstract_syntaxes
                                          : 1 + dul_storage_sop_class_count();
    size_t n_ts = p->n_transfer_syntaxes ? p->n_transfer_syntaxes
                                         : dul_default_transfer_syntax_count();
    c->abstract = calloc(n_abs, sizeof *c->abstract);
    c->ts = calloc(n_ts, sizeof *c->ts);
    c->strings = malloc((n_abs + n_ts) * (DUL_UID_MAX + 1));
    if (!c->abstract || !c->ts || !c->strings)
        goto out_oom;
    char *s = c->strings;
    for (size_t i = 0; i < n_abs; i++) {
        const char *uid = p->n_abstract_syntaxes ? p->abstract_syntaxes[i]
                          : i == 0               ? VERIFICATION_SOP_CLASS
                                                 : dul_storage_sop_class(i - 1);
        if ((problem = dul_uid_problem(uid, strlen(uid)))) {
            ferry_error_set(err, -EINVAL, "policy: abstract syntax '%s' %s", uid, problem);
            goto out_free;
        }
        strcpy(s, uid);
        c->abstract[i] = s;
        s += DUL_UID_MAX + 1;
    }
    qsort(c->abstract, n_abs, sizeof *c->abstract, cmp_str);
    c->n_abstract = n_abs;
    for (size_t i = 0; i < n_ts; i++) {
        const char *uid = p->n_transfer_syntaxes ? p->transfer_syntaxes[i]
                                                 : dul_default_transfer_syntax(i);
        if ((problem = dul_uid_problem(uid, strlen(uid)))) {
            ferry_error_set(err, -EINVAL, "policy: transfer syntax '%s' %s", uid, problem);
            goto out_free;
        }
        strcpy(s, uid);
        c->ts[i] = s;
        s += DUL_UID_MAX + 1;
    }
    c->n_ts = n_ts;
    return c;

out_oom:
    ferry_error_set(err, -ENOMEM, "policy: out of memory");
out_free:
    dul_policy_unref(c);
    return NULL;
}

/* ------------------------------------------------------------ decision */

static const char *rj_reason_name(uint8_t source, uint8_t reason)
{
    switch (source) {
    case DUL_RJ_SOURCE_USER:
        switch (reason) {
        case 1: return "no reason given";
        case 2: return "application context name not supported";
        case 3: return "calling AE title not recognized";
        case 7: return "called AE title not recognized";
        default: return "reserved reason";
        }
    case DUL_RJ_SOURCE_ACSE:
        return reason == 2 ? "protocol version not supported"
               : reason == 1 ? "no reason given" : "reserved reason";
    case DUL_RJ_SOURCE_PRESENTATION:
        return reason == 1 ? "temporary congestion"
               : reason == 2 ? "local limit exceeded" : "reserved reason";
    default:
        return "unknown source";
    }
}

void dul_reject_describe(const struct dul_reject *rj, char *buf, size_t size)
{
    static const char *const sources[] = { "?", "service-user", "service-provider (ACSE)",
                                           "service-provider (presentation)" };
    snprintf(buf, size, "%s, %s, %s",
             rj->result == DUL_RJ_PERMANENT   ? "permanent"
             : rj->result == DUL_RJ_TRANSIENT ? "transient" : "result ?",
             rj->source <= 3 ? sources[rj->source] : "?", rj_reason_name(rj->source, rj->reason));
}

const char *dul_abort_reason_name(uint8_t source, uint8_t reason)
{
    if (source != DUL_ABORT_SOURCE_PROVIDER)
        return "service-user";
    switch (reason) {
    case 0: return "service-provider, reason not specified";
    case 1: return "service-provider, unrecognized PDU";
    case 2: return "service-provider, unexpected PDU";
    case 4: return "service-provider, unrecognized PDU parameter";
    case 5: return "service-provider, unexpected PDU parameter";
    case 6: return "service-provider, invalid PDU parameter value";
    default: return "service-provider, reserved reason";
    }
}

static void reject(struct dul_decision *d, uint8_t result, uint8_t source, uint8_t reason,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reject(struct dul_decision *d, uint8_t result, uint8_t source, uint8_t reason,
                   const char *fmt, ...)
{
    d->accept = false;
    d->rj.result = result;
    d->rj.source = source;
    d->rj.reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
}

bool dul_same_peer_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

static void peer_text(const struct sockaddr_storage *sa, char *buf, size_t size)
{
    const void *addr = sa->ss_family == AF_INET
                           ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                           : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->ss_family, addr, buf, (socklen_t)size))
        snprintf(buf, size, "?");
}

/* DICOM wildcard matching of an AE title (PS3.4 C.2.2.2.4): '*' any run of
 * characters, '?' exactly one. AE titles are ASCII, so characters are bytes.
 * Iterative, with one backtracking point: linear in practice. */
static bool ae_matches(const char *pattern, const char *title)
{
    const char *star = NULL, *resume = NULL;
    while (*title) {
        if (*pattern == '*') {
            star = pattern++;
            resume = title;
        } else if (*pattern == '?' || *pattern == *title) {
            pattern++;
            title++;
        } else if (star) {
            pattern = star + 1;
            title = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

static bool peer_allowed(const struct dul_policy_c *p, const char *calling,
                         const struct sockaddr_storage *peer, struct dul_decision *d)
{
    if (!p->n_peers)
        return true;
    bool ae_known = false;
    for (size_t i = 0; i < p->n_peers; i++) {
        const struct dul_peer_rule_c *r = &p->peers[i];
        if (r->calling_ae[0] && !ae_matches(r->calling_ae, calling))
            continue;
        ae_known = true;
        if (!r->n_cidrs)
            return true;
        for (size_t k = 0; k < r->n_cidrs; k++)
            if (dul_cidr_match(&r->cidrs[k], peer))
                return true;
    }
    char addr[INET6_ADDRSTRLEN];
    peer_text(peer, addr, sizeof addr);
    if (!ae_known)
        reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_USER, DUL_RJ_USER_CALLING_AE_NOT_RECOGNIZED,
               "calling AE title '%s' is not allowed", calling);
    else
        reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_USER, DUL_RJ_USER_NO_REASON,
               "calling AE title '%s' is not allowed from %s", calling, addr);
    return false;
}

static bool abstract_accepted(const struct dul_policy_c *p, const char *uid)
{
    return bsearch(&uid, p->abstract, p->n_abstract, sizeof *p->abstract, cmp_str) != NULL;
}

void dul_decision_clear(struct dul_decision *d)
{
    free(d->ac.mem);
    memset(&d->ac, 0, sizeof d->ac);
}

void dul_negotiate(const struct dul_policy_c *p, const struct dul_associate *rq,
                   const struct sockaddr_storage *peer, unsigned others, unsigned from_peer,
                   struct dul_decision *d)
{
    memset(d, 0, sizeof *d);
    if (!(rq->protocol_version & 1)) {
        reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_ACSE, DUL_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED,
               "protocol version 0x%04x does not have bit 0 set", rq->protocol_version);
        return;
    }
    if (strcmp(rq->app_context, DUL_APPLICATION_CONTEXT) != 0) {
        reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_USER, DUL_RJ_USER_APP_CONTEXT_NOT_SUPPORTED,
               "application context '%s' is not DICOM's", rq->app_context);
        return;
    }
    if (p->n_ae_titles) {
        bool ours = false;
        for (size_t i = 0; i < p->n_ae_titles && !ours; i++)
            ours = strcmp(p->ae_titles[i], rq->called_ae) == 0;
        if (!ours) {
            reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_USER, DUL_RJ_USER_CALLED_AE_NOT_RECOGNIZED,
                   "called AE title '%s' is not ours", rq->called_ae);
            return;
        }
    }
    if (!peer_allowed(p, rq->calling_ae, peer, d))
        return;
    if (p->require_user_identity && !rq->ui.has_identity) {
        reject(d, DUL_RJ_PERMANENT, DUL_RJ_SOURCE_USER, DUL_RJ_USER_NO_REASON,
               "a user identity is required and none was sent");
        return;
    }
    if (p->max_associations && others >= p->max_associations) {
        reject(d, DUL_RJ_TRANSIENT, DUL_RJ_SOURCE_PRESENTATION, DUL_RJ_PRES_LOCAL_LIMIT_EXCEEDED,
               "%u associations open, the limit is %u", others, p->max_associations);
        return;
    }
    if (p->max_associations_per_peer && from_peer >= p->max_associations_per_peer) {
        char addr[INET6_ADDRSTRLEN];
        peer_text(peer, addr, sizeof addr);
        reject(d, DUL_RJ_TRANSIENT, DUL_RJ_SOURCE_PRESENTATION, DUL_RJ_PRES_LOCAL_LIMIT_EXCEEDED,
               "%u associations open from %s, the limit per peer is %u", from_peer, addr,
               p->max_associations_per_peer);
        return;
    }

    /* Accept: build the AC. Its strings point into the policy (which
     * outlives the decision) or into rq (which the caller keeps until the
     * AC is encoded). */
    size_t size = rq->n_pc * (sizeof(struct dul_pc) + sizeof(const char *)) +
                  rq->ui.n_roles * sizeof(struct dul_role);
    char *mem = calloc(1, size ? size : 1);
    if (!mem) {
        reject(d, DUL_RJ_TRANSIENT, DUL_RJ_SOURCE_PRESENTATION, DUL_RJ_PRES_LOCAL_LIMIT_EXCEEDED,
               "out of memory");
        return;
    }
    struct dul_associate *ac = &d->ac;
    ac->mem = mem;
    ac->type = DUL_PDU_ASSOCIATE_AC;
    ac->protocol_version = 1;
    memcpy(ac->called_ae, rq->called_ae, sizeof ac->called_ae);
    memcpy(ac->calling_ae, rq->calling_ae, sizeof ac->calling_ae);
    ac->app_context = DUL_APPLICATION_CONTEXT;
    ac->pc = (struct dul_pc *)(void *)mem;
    const char **ts_slots = (const char **)(void *)(mem + rq->n_pc * sizeof(struct dul_pc));
    struct dul_role *roles =
        (struct dul_role *)(void *)(mem + rq->n_pc * (sizeof(struct dul_pc) + sizeof(const char *)));
    ac->n_pc = rq->n_pc;
    size_t accepted = 0;
    for (size_t i = 0; i < rq->n_pc; i++) {
        const struct dul_pc *in = &rq->pc[i];
        struct dul_pc *out = &ac->pc[i];
        out->id = in->id;
        out->ts = &ts_slots[i];
        out->n_ts = 1;
        ts_slots[i] = in->ts[0]; /* not significant unless accepted */
        if (!abstract_accepted(p, in->abstract_syntax)) {
            out->result = DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED;
            continue;
        }
        out->result = DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED;
        for (size_t k = 0; k < p->n_ts && out->result != DUL_PC_ACCEPTANCE; k++) {
            for (size_t j = 0; j < in->n_ts; j++) {
                if (strcmp(p->ts[k], in->ts[j]) == 0) {
                    out->result = DUL_PC_ACCEPTANCE;
                    ts_slots[i] = p->ts[k];
                    accepted++;
                    break;
                }
            }
        }
    }
    /* Role selection: answer for abstract syntaxes we accepted; the
     * requestor may be SCU if it offered; ferry never acts as SCU toward a
     * requestor on its own association, so the SCP role is refused. */
    size_t nr = 0;
    for (size_t i = 0; i < rq->ui.n_roles; i++) {
        const struct dul_role *r = &rq->ui.roles[i];
        bool known = false;
        for (size_t k = 0; k < ac->n_pc && !known; k++)
            known = ac->pc[k].result == DUL_PC_ACCEPTANCE &&
                    strcmp(rq->pc[k].abstract_syntax, r->sop_class) == 0;
        bool dup = false;
        for (size_t k = 0; k < nr && !dup; k++)
            dup = strcmp(roles[k].sop_class, r->sop_class) == 0;
        if (!known || dup)
            continue;
        roles[nr].sop_class = r->sop_class;
        roles[nr].scu = r->scu;
        roles[nr].scp = 0;
        nr++;
    }
    ac->ui.roles = roles;
    ac->ui.n_roles = nr;
    ac->ui.max_length = p->max_pdu;
    ac->ui.has_max_length = true;
    ac->ui.impl_class_uid = p->impl_class_uid;
    ac->ui.impl_version = p->impl_version;
    if (rq->ui.has_async) {
        /* no asynchronous operations: one at a time each way */
        ac->ui.has_async = true;
        ac->ui.async_invoked = 1;
        ac->ui.async_performed = 1;
    }
    if (rq->ui.has_identity && rq->ui.identity.positive_response_requested &&
        (rq->ui.identity.type == 1 || rq->ui.identity.type == 2)) {
        /* accepted; for username (+passcode) the response is empty. Types
         * 3-5 would need a Kerberos ticket, SAML or JWT response that ferry
         * cannot make, so no response is sent (the requestor sees that the
         * identity was not confirmed). */
        ac->ui.has_identity_ac = true;
        ac->ui.server_response = NULL;
        ac->ui.server_response_len = 0;
    }
    d->accept = true;
    snprintf(d->why, sizeof d->why, "%zu of %zu presentation contexts accepted", accepted,
             rq->n_pc);
}
