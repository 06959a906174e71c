/* ferry — the requestor side: build an A-ASSOCIATE-RQ from proposals and
 * start the association (AE-1). The forwarder uses this. */
#include "dul/dul-private.h"

#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DUL_MAX_PROPOSALS 128

static int check_ae(const char *ae, const char *what, char out[DUL_AE_MAX + 1],
                    struct ferry_error **err)
{
    size_t n = ae ? strlen(ae) : 0;
    if (n == 0)
        return ferry_error_set(err, -EINVAL, "request: %s is empty", what);
    if (n > DUL_AE_MAX)
        return ferry_error_set(err, -EINVAL, "request: %s '%s' is longer than 16 characters", what,
                               ae);
    bool all_spaces = true;
    for (size_t i = 0; i < n; i++) {
        if (ae[i] < 0x20 || ae[i] > 0x7e || ae[i] == '\\')
            return ferry_error_set(err, -EINVAL,
                                   "request: %s '%s' has a character other than printable ASCII",
                                   what, ae);
        all_spaces &= ae[i] == ' ';
    }
    if (all_spaces)
        return ferry_error_set(err, -EINVAL, "request: %s is all spaces", what);
    memcpy(out, ae, n + 1);
    return 0;
}

static int check_uid(const char *uid, const char *what, size_t i, struct ferry_error **err)
{
    const char *problem = uid ? dul_uid_problem(uid, strlen(uid)) : "is missing";
    if (problem)
        return ferry_error_set(err, -EINVAL, "request: proposal %zu: %s '%s' %s", i + 1, what,
                               uid ? uid : "", problem);
    return 0;
}

static unsigned or_default(unsigned v, unsigned def)
{
    return v ? v : def;
}

struct dul_assoc *dul_connect(struct net_loop *loop, const struct dul_request *rq,
                              const struct dul_assoc_ops *ops, void *arg,
                              struct ferry_error **err)
{
    struct dul_associate pdu;
    memset(&pdu, 0, sizeof pdu);
    struct dul_pc *pcs = NULL;
    struct dul_role *roles = NULL;
    struct dul_assoc *a = NULL;

    if (check_ae(rq->calling_ae, "calling AE title", pdu.calling_ae, err) < 0 ||
        check_ae(rq->called_ae, "called AE title", pdu.called_ae, err) < 0)
        goto out_fail;
    if (rq->n_proposals < 1 || rq->n_proposals > DUL_MAX_PROPOSALS) {
        ferry_error_set(err, -EINVAL, "request: %zu proposals, expected 1 to %d", rq->n_proposals,
                        DUL_MAX_PROPOSALS);
        goto out_fail;
    }
    uint32_t max_pdu = or_default(rq->max_pdu, DUL_DEFAULT_MAX_PDU);
    uint32_t max_send = or_default(rq->max_send_pdu, DUL_DEFAULT_MAX_PDU);
    if (max_pdu < DUL_MIN_MAX_PDU || max_pdu > DUL_MAX_MAX_PDU || max_send < DUL_MIN_MAX_PDU ||
        max_send > DUL_MAX_MAX_PDU) {
        ferry_error_set(err, -EINVAL, "request: maximum PDU sizes must be %u..%u", DUL_MIN_MAX_PDU,
                        DUL_MAX_MAX_PDU);
        goto out_fail;
    }
    if (!rq->addr || rq->addrlen > sizeof(struct sockaddr_storage)) {
        ferry_error_set(err, -EINVAL, "request: no peer address");
        goto out_fail;
    }
    pcs = calloc(rq->n_proposals, sizeof *pcs);
    roles = calloc(rq->n_proposals, sizeof *roles);
    if (!pcs || !roles) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        goto out_fail;
    }
    size_t n_roles = 0;
    for (size_t i = 0; i < rq->n_proposals; i++) {
        const struct dul_proposal *p = &rq->proposals[i];
        if (check_uid(p->abstract_syntax, "abstract syntax", i, err) < 0)
            goto out_fail;
        if (p->n_transfer_syntaxes < 1) {
            ferry_error_set(err, -EINVAL, "request: proposal %zu: no transfer syntax", i + 1);
            goto out_fail;
        }
        for (size_t k = 0; k < p->n_transfer_syntaxes; k++)
            if (check_uid(p->transfer_syntaxes[k], "transfer syntax", i, err) < 0)
                goto out_fail;
        pcs[i].id = (uint8_t)(2 * i + 1);
        pcs[i].abstract_syntax = p->abstract_syntax;
        pcs[i].ts = (const char **)(uintptr_t)p->transfer_syntaxes;
        pcs[i].n_ts = p->n_transfer_syntaxes;
        if (p->propose_scu || p->propose_scp) {
            bool dup = false;
            for (size_t k = 0; k < n_roles && !dup; k++)
                dup = strcmp(roles[k].sop_class, p->abstract_syntax) == 0;
            if (!dup) {
                roles[n_roles].sop_class = p->abstract_syntax;
                roles[n_roles].scu = p->propose_scu;
                roles[n_roles].scp = p->propose_scp;
                n_roles++;
            }
        }
    }
    pdu.type = DUL_PDU_ASSOCIATE_RQ;
    pdu.protocol_version = 1;
    pdu.app_context = DUL_APPLICATION_CONTEXT;
    pdu.pc = pcs;
    pdu.n_pc = rq->n_proposals;
    pdu.ui.max_length = max_pdu;
    pdu.ui.has_max_length = true;
    pdu.ui.impl_class_uid = rq->impl_class_uid ? rq->impl_class_uid : DUL_FERRY_IMPL_CLASS_UID;
    pdu.ui.impl_version = rq->impl_version ? rq->impl_version : DUL_FERRY_IMPL_VERSION;
    pdu.ui.roles = roles;
    pdu.ui.n_roles = n_roles;
    if (rq->async_window) {
        pdu.ui.has_async = true;
        pdu.ui.async_invoked = pdu.ui.async_performed = 1;
    }
    if (rq->identity) {
        pdu.ui.has_identity = true;
        pdu.ui.identity = *rq->identity;
    }
    ssize_t n = dul_encode_associate(&pdu, NULL, 0);
    if (n < 0) {
        ferry_error_set(err, (int)n,
                        "request: the A-ASSOCIATE-RQ cannot be encoded (a value too long for its "
                        "field: implementation UID or version name, user identity, too many "
                        "transfer syntaxes)");
        goto out_fail;
    }

    a = dul_assoc_new(loop, true);
    if (!a || !(a->rq_pdu = malloc((size_t)n)) ||
        !(a->contexts = calloc(rq->n_proposals, sizeof *a->contexts))) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        goto out_fail;
    }
    a->rq_len = (size_t)dul_encode_associate(&pdu, a->rq_pdu, (size_t)n);
    a->max_recv = max_pdu;
    a->max_send_cap = max_send;
    a->max_send = max_send;
    a->max_assoc_pdu = DUL_DEFAULT_ASSOC_PDU;
    a->artim_ms = or_default(rq->artim_ms, DUL_DEFAULT_ARTIM_MS);
    a->idle_ms = rq->idle_ms;
    a->pdu_ms = or_default(rq->pdu_ms, DUL_DEFAULT_PDU_MS);
    a->reply_ms = or_default(rq->reply_timeout_ms, DUL_DEFAULT_REPLY_MS);
    a->connect_timeout_ms = or_default(rq->connect_timeout_ms, DUL_DEFAULT_CONNECT_MS);
    memcpy(&a->connect_addr, rq->addr, rq->addrlen);
    a->connect_addrlen = rq->addrlen;
    a->info.max_recv_pdu = max_pdu;
    a->info.max_send_pdu = max_send;
    memcpy(a->info.calling_ae, pdu.calling_ae, sizeof a->info.calling_ae);
    memcpy(a->info.called_ae, pdu.called_ae, sizeof a->info.called_ae);
    a->info.n_contexts = rq->n_proposals;
    a->info.contexts = a->contexts;
    for (size_t i = 0; i < rq->n_proposals; i++) {
        a->contexts[i].id = pcs[i].id;
        a->contexts[i].result = DUL_PC_NO_REASON; /* until the AC says otherwise */
        strcpy(a->contexts[i].abstract_syntax, pcs[i].abstract_syntax);
    }
    a->ops = ops;
    a->arg = arg;
    free(pcs);
    free(roles);
    pcs = NULL;
    roles = NULL;

    struct dul_fsm_arg x = { 0 };
    dul_fsm_fire(a, DUL_EVT1, &x);
    if (x.rc < 0) {
        char addr[64];
        net_addr_format(&a->connect_addr, addr, sizeof addr);
        ferry_error_set(err, x.rc, "connect to %s: %s", addr, strerror(-x.rc));
        goto out_fail;
    }
    return a;

out_fail:
    free(pcs);
    free(roles);
    if (a) {
        free(a->rq_pdu);
        free(a->contexts);
        free(a->rbuf);
        free(a);
    }
    return NULL;
}
