/* ferry — dimse: receiving messages, and the service class provider.
 *
 * Per association: command fragments are gathered (up to max_command) and
 * parsed; a request is answered by dimse (C-ECHO, refusals) or handed to the
 * owner (C-STORE), whose data set then streams through on_store_data
 * fragment by fragment. One request at a time: a request that arrives while
 * another waits for its response is held, the association paused, until
 * that response is out (the asynchronous operations window is 1/1).
 */
#include "dimse/dimse-private.h"

#include "base/log.h"
#include "dcm/dcm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct dul_assoc_ops dimse_dul_ops;

static void update_pause(struct dimse_assoc *da)
{
    if (da->closed)
        return;
    bool want = da->pause_owner || da->pause_held;
    if (want && !dul_paused(da->a))
        dul_pause(da->a);
    else if (!want && dul_paused(da->a))
        dul_resume(da->a);
}

static void protocol_abort(struct dimse_assoc *da, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void protocol_abort(struct dimse_assoc *da, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(da->a), "%s, association aborted", why);
    da->rx = RX_IDLE;
    dul_abort(da->a);
}

static bool idle(const struct dimse_assoc *da)
{
    return !da->outstanding && !da->held && da->rx == RX_IDLE && !da->deferred.due;
}

/* Nothing owed to the peer any more: answer or send a release. */
static void release_if_idle(struct dimse_assoc *da)
{
    if (!idle(da) || da->closed)
        return;
    if (da->release_asked) {
        da->release_asked = false;
        dul_release_response(da->a);
    } else if (da->release_wanted && !da->release_sent) {
        da->release_sent = true;
        if (dul_release(da->a) < 0)
            dul_abort(da->a);
    }
}

static void abandon_stores(struct dimse_assoc *da)
{
    struct dimse_store *st = da->outstanding;
    da->outstanding = NULL;
    da->receiving = NULL;
    if (st) {
        if (da->ops->on_store_abandoned)
            da->ops->on_store_abandoned(da, da->ud, st);
        free(st);
    }
}

/* ------------------------------------------------------------ requests */

static void refuse_after_data(struct dimse_assoc *da, uint8_t pc_id, uint16_t field,
                              uint16_t message_id, const char *sop_class,
                              const char *sop_instance, uint16_t status, const char *comment)
{
    struct dimse_deferred_rsp *d = &da->deferred;
    d->due = true;
    d->pc_id = pc_id;
    d->field = field;
    d->message_id = message_id;
    d->status = status;
    snprintf(d->sop_class, sizeof d->sop_class, "%s", sop_class ? sop_class : "");
    snprintf(d->sop_instance, sizeof d->sop_instance, "%s", sop_instance ? sop_instance : "");
    snprintf(d->comment, sizeof d->comment, "%s", comment ? comment : "");
}

/* Answer now, or once the data set that follows has been read and dropped. */
static void answer(struct dimse_assoc *da, uint8_t pc_id, bool has_data, uint16_t field,
                   uint16_t message_id, const char *sop_class, const char *sop_instance,
                   uint16_t status, const char *comment)
{
    if (has_data) {
        refuse_after_data(da, pc_id, field, message_id, sop_class, sop_instance, status,
                          comment);
        da->rx = RX_DATA;
        da->rx_pc = pc_id;
        da->receiving = NULL;
        return;
    }
    dimse_send_rsp(da, pc_id, field, message_id, sop_class, sop_instance, status, comment);
}

static void start_store(struct dimse_assoc *da, uint8_t pc_id, const struct dcm_dataset *cmd,
                        uint16_t message_id, bool has_data)
{
    const struct dul_context *ctx = dul_assoc_context(da->a, pc_id);
    char sop_class[DIMSE_UID_BUF], sop_instance[DIMSE_UID_BUF], move_ae[20];
    dimse_cmd_string(cmd, DCM_TAG_AffectedSOPClassUID, sop_class, sizeof sop_class);
    dimse_cmd_string(cmd, DCM_TAG_AffectedSOPInstanceUID, sop_instance, sizeof sop_instance);
    if (!has_data) {
        answer(da, pc_id, false, DIMSE_C_STORE_RSP, message_id, sop_class, sop_instance,
               DIMSE_STATUS_CANNOT_UNDERSTAND, "C-STORE-RQ without a data set");
        return;
    }
    char comment[160];
    if (da->release_wanted) {
        answer(da, pc_id, true, DIMSE_C_STORE_RSP, message_id, sop_class, sop_instance,
               DIMSE_STATUS_OUT_OF_RESOURCES, "ferry is shutting down; send it again later");
        return;
    }
    if (!ctx || strcmp(ctx->abstract_syntax, sop_class) != 0 || !da->ops->on_store) {
        snprintf(comment, sizeof comment, "SOP class %s not accepted on this context",
                 sop_class[0] ? sop_class : "(none)");
        ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(da->a),
                  "C-STORE %s of SOP class %s on presentation context %u (%s): refused, 0x%04X",
                  sop_instance, sop_class[0] ? sop_class : "(none)", pc_id,
                  ctx ? ctx->abstract_syntax : "not accepted", DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED);
        answer(da, pc_id, true, DIMSE_C_STORE_RSP, message_id, sop_class, sop_instance,
               DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED, comment);
        return;
    }
    struct dimse_store *st = calloc(1, sizeof *st);
    if (!st) {
        answer(da, pc_id, true, DIMSE_C_STORE_RSP, message_id, sop_class, sop_instance,
               DIMSE_STATUS_OUT_OF_RESOURCES, "out of memory");
        return;
    }
    st->da = da;
    st->pc_id = pc_id;
    st->message_id = message_id;
    memcpy(st->sop_class, sop_class, sizeof st->sop_class);
    memcpy(st->sop_instance, sop_instance, sizeof st->sop_instance);
    uint64_t priority = 0, move_id = 0;
    dcm_dataset_get_uint(cmd, DCM_TAG_Priority, 0, &priority);
    dimse_cmd_string(cmd, DCM_TAG_MoveOriginatorApplicationEntityTitle, move_ae, sizeof move_ae);
    bool has_move_id = dcm_dataset_get_uint(cmd, DCM_TAG_MoveOriginatorMessageID, 0, &move_id) == 0;
    struct dimse_store_rq rq = {
        .pc_id = pc_id,
        .message_id = message_id,
        .priority = (uint16_t)priority,
        .sop_class_uid = st->sop_class,
        .sop_instance_uid = st->sop_instance,
        .transfer_syntax = ctx->transfer_syntax,
        .move_originator_ae = move_ae,
        .move_originator_id = has_move_id ? (int32_t)(move_id & 0xFFFF) : -1,
    };
    const char *why = NULL;
    da->outstanding = st;
    uint16_t status = da->ops->on_store(da, da->ud, st, &rq, &why);
    if (da->closed)
        return;
    if (status != DIMSE_STATUS_SUCCESS) {
        da->outstanding = NULL;
        free(st);
        answer(da, pc_id, true, DIMSE_C_STORE_RSP, message_id, sop_class, sop_instance, status,
               why);
        return;
    }
    da->rx = RX_DATA;
    da->rx_pc = pc_id;
    da->receiving = st;
}

/* A request whose turn has come. cmd is borrowed. */
static void serve(struct dimse_assoc *da, uint8_t pc_id, const struct dcm_dataset *cmd,
                  uint16_t field)
{
    uint64_t v;
    uint16_t message_id = 0;
    if (dcm_dataset_get_uint(cmd, DCM_TAG_MessageID, 0, &v) == 0)
        message_id = (uint16_t)v;
    else {
        protocol_abort(da, "%s without a Message ID (0000,0110)", dimse_command_name(field));
        return;
    }
    bool has_data = dcm_dataset_get_uint(cmd, DCM_TAG_CommandDataSetType, 0, &v) == 0 &&
                    v != 0x0101;
    const struct dul_context *ctx = dul_assoc_context(da->a, pc_id);
    char sop_class[DIMSE_UID_BUF];
    dimse_cmd_string(cmd, DCM_TAG_AffectedSOPClassUID, sop_class, sizeof sop_class);
    switch (field) {
    case DIMSE_C_STORE_RQ:
        start_store(da, pc_id, cmd, message_id, has_data);
        return;
    case DIMSE_C_ECHO_RQ: {
        bool ok = ctx && strcmp(ctx->abstract_syntax, DCM_UID_Verification) == 0;
        answer(da, pc_id, has_data, DIMSE_C_ECHO_RSP, message_id,
               sop_class[0] ? sop_class : DCM_UID_Verification, NULL,
               ok ? DIMSE_STATUS_SUCCESS : DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED,
               ok ? NULL : "C-ECHO belongs on a Verification context");
        return;
    }
    default: {
        char comment[64];
        snprintf(comment, sizeof comment, "%s is not supported here", dimse_command_name(field));
        if (!sop_class[0])
            dimse_cmd_string(cmd, DCM_TAG_RequestedSOPClassUID, sop_class, sizeof sop_class);
        ferry_log(FERRY_LOG_INFO, dul_assoc_log_ctx(da->a), "%s (message %u) refused: 0x%04x",
                  dimse_command_name(field), message_id, DIMSE_STATUS_UNRECOGNIZED_OPERATION);
        answer(da, pc_id, has_data, (uint16_t)(field | 0x8000), message_id, sop_class, NULL,
               DIMSE_STATUS_UNRECOGNIZED_OPERATION, comment);
        return;
    }
    }
}

static void on_response_cmd(struct dimse_assoc *da, uint8_t pc_id, const struct dcm_dataset *cmd,
                            uint16_t field)
{
    uint64_t v;
    char sop_class[DIMSE_UID_BUF], sop_instance[DIMSE_UID_BUF], comment[80];
    dimse_cmd_string(cmd, DCM_TAG_AffectedSOPClassUID, sop_class, sizeof sop_class);
    dimse_cmd_string(cmd, DCM_TAG_AffectedSOPInstanceUID, sop_instance, sizeof sop_instance);
    comment[0] = '\0';
    dcm_dataset_get_utf8(cmd, DCM_TAG_ErrorComment, 0, comment, sizeof comment);
    struct dimse_rsp rsp = {
        .pc_id = pc_id,
        .command_field = field,
        .message_id = dcm_dataset_get_uint(cmd, DCM_TAG_MessageIDBeingRespondedTo, 0, &v) == 0
                          ? (uint16_t)v
                          : 0,
        .status = dcm_dataset_get_uint(cmd, DCM_TAG_Status, 0, &v) == 0 ? (uint16_t)v : 0xC000,
        .sop_class_uid = sop_class,
        .sop_instance_uid = sop_instance,
        .error_comment = comment,
        .command = cmd,
    };
    bool has_data = dcm_dataset_get_uint(cmd, DCM_TAG_CommandDataSetType, 0, &v) == 0 &&
                    v != 0x0101;
    if (has_data) {
        /* Identifiers of C-FIND/C-MOVE responses: not for us; read and drop. */
        da->rx = RX_DATA;
        da->rx_pc = pc_id;
        da->receiving = NULL;
    }
    if (da->ops->on_response)
        da->ops->on_response(da, da->ud, &rsp);
}

/* A complete command set arrived on pc_id. */
static void on_command(struct dimse_assoc *da, uint8_t pc_id)
{
    struct ferry_error *err = NULL;
    struct dcm_dataset *cmd = dcm_command_parse(da->cmd, da->cmd_len, &err);
    da->cmd_len = 0;
    if (!cmd) {
        protocol_abort(da, "unreadable command set: %s", ferry_error_message(err));
        ferry_error_free(err);
        return;
    }
    uint64_t v;
    if (dcm_dataset_get_uint(cmd, DCM_TAG_CommandField, 0, &v) < 0) {
        protocol_abort(da, "command set without a Command Field (0000,0100)");
        dcm_dataset_unref(cmd);
        return;
    }
    uint16_t field = (uint16_t)v;
    if (field & 0x8000) {
        on_response_cmd(da, pc_id, cmd, field);
    } else if (field == DIMSE_C_CANCEL_RQ) {
        /* Nothing here can be cancelled: a C-STORE is answered when done. */
        ferry_log(FERRY_LOG_DEBUG, dul_assoc_log_ctx(da->a), "C-CANCEL-RQ ignored");
    } else if (da->outstanding || da->held) {
        /* Its turn comes when the response before it is out. */
        da->held = cmd;
        da->held_pc = pc_id;
        da->pause_held = true;
        update_pause(da);
        return;
    } else {
        serve(da, pc_id, cmd, field);
    }
    dcm_dataset_unref(cmd);
}

static void serve_held(struct dimse_assoc *da)
{
    if (!da->held || da->outstanding || da->closed)
        return;
    struct dcm_dataset *cmd = da->held;
    da->held = NULL;
    da->pause_held = false;
    uint64_t v = 0;
    dcm_dataset_get_uint(cmd, DCM_TAG_CommandField, 0, &v);
    serve(da, da->held_pc, cmd, (uint16_t)v);
    dcm_dataset_unref(cmd);
    update_pause(da);
}

/* ---------------------------------------------------------- PDVs in */

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (pdv->command) {
        if (da->rx == RX_DATA) {
            protocol_abort(da, "command fragment on context %u before the data set on context %u "
                               "ended",
                           pdv->pc_id, da->rx_pc);
            return;
        }
        if (da->rx == RX_COMMAND && pdv->pc_id != da->rx_pc) {
            protocol_abort(da, "command fragments on contexts %u and %u", da->rx_pc, pdv->pc_id);
            return;
        }
        if (pdv->len > da->max_command - da->cmd_len) {
            protocol_abort(da, "command set longer than %zu bytes", da->max_command);
            return;
        }
        if (da->cmd_len + pdv->len > da->cmd_cap) {
            size_t cap = da->cmd_cap ? da->cmd_cap : 256;
            while (cap < da->cmd_len + pdv->len)
                cap *= 2;
            uint8_t *p = realloc(da->cmd, cap);
            if (!p) {
                protocol_abort(da, "out of memory for a command set");
                return;
            }
            da->cmd = p;
            da->cmd_cap = cap;
        }
        if (pdv->len) /* an empty fragment: da->cmd may still be NULL */
            memcpy(da->cmd + da->cmd_len, pdv->data, pdv->len);
        da->cmd_len += pdv->len;
        da->rx = RX_COMMAND;
        da->rx_pc = pdv->pc_id;
        if (pdv->last) {
            da->rx = RX_IDLE;
            on_command(da, pdv->pc_id);
        }
        return;
    }
    if (da->rx != RX_DATA) {
        protocol_abort(da, "data set fragment on context %u without a command before it",
                       pdv->pc_id);
        return;
    }
    if (pdv->pc_id != da->rx_pc) {
        protocol_abort(da, "data set fragment on context %u; its command came on context %u",
                       pdv->pc_id, da->rx_pc);
        return;
    }
    struct dimse_store *st = da->receiving;
    if (pdv->last) {
        da->rx = RX_IDLE;
        da->receiving = NULL;
        if (st)
            st->data_done = true;
    }
    if (st) {
        bool pause = da->ops->on_store_data(da, da->ud, st, pdv->data, pdv->len, pdv->last);
        if (pause && !da->closed) {
            da->pause_owner = true;
            update_pause(da);
        }
    } else if (pdv->last && da->deferred.due) {
        struct dimse_deferred_rsp *d = &da->deferred;
        d->due = false;
        dimse_send_rsp(da, d->pc_id, d->field, d->message_id, d->sop_class, d->sop_instance,
                       d->status, d->comment);
        release_if_idle(da);
    }
}

int dimse_store_respond(struct dimse_store *st, uint16_t status, const char *comment)
{
    if (!st->data_done)
        return -EBUSY;
    struct dimse_assoc *da = st->da;
    int rc = dimse_send_rsp(da, st->pc_id, DIMSE_C_STORE_RSP, st->message_id, st->sop_class,
                            st->sop_instance, status, comment);
    if (da->outstanding == st)
        da->outstanding = NULL;
    free(st);
    serve_held(da);
    release_if_idle(da);
    return rc;
}

void dimse_store_set_user(struct dimse_store *st, void *user)
{
    st->user = user;
}

void *dimse_store_user(const struct dimse_store *st)
{
    return st->user;
}

/* ------------------------------------------------------ dul callbacks */

static void on_established(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (da->ops->on_established)
        da->ops->on_established(da, da->ud);
}

static void on_release_requested(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (da->rx != RX_IDLE) {
        /* A message cut short by the release: it will never complete. */
        if (da->receiving) {
            ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(da->a),
                      "A-RELEASE-RQ in the middle of a data set; the instance is dropped");
            abandon_stores(da);
        }
        da->rx = RX_IDLE;
        da->deferred.due = false;
        da->cmd_len = 0;
    }
    if (da->held) {
        dcm_dataset_unref(da->held);
        da->held = NULL;
        da->pause_held = false;
    }
    da->release_asked = true;
    release_if_idle(da);
}

static void on_released(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (da->ops->on_released)
        da->ops->on_released(da, da->ud);
}

static void on_rejected(struct dul_assoc *a, void *arg, const struct dul_reject *rj)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (da->ops->on_rejected)
        da->ops->on_rejected(da, da->ud, rj);
}

static void on_aborted(struct dul_assoc *a, void *arg, const struct dul_abort_info *why)
{
    (void)a;
    struct dimse_assoc *da = arg;
    abandon_stores(da);
    if (da->ops->on_aborted)
        da->ops->on_aborted(da, da->ud, why);
}

static void on_writable(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct dimse_assoc *da = arg;
    if (da->ops->on_writable)
        da->ops->on_writable(da, da->ud);
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct dimse_assoc *da = arg;
    da->closed = true;
    abandon_stores(da);
    if (da->ops->on_closed)
        da->ops->on_closed(da, da->ud);
    dcm_dataset_unref(da->held);
    free(da->cmd);
    free(da);
}

static const struct dul_assoc_ops dimse_dul_ops = {
    .on_established = on_established,
    .on_pdv = on_pdv,
    .on_release_requested = on_release_requested,
    .on_released = on_released,
    .on_rejected = on_rejected,
    .on_aborted = on_aborted,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

/* ------------------------------------------------------------- public */

static struct dimse_assoc *assoc_alloc(const struct dimse_ops *ops, void *ud,
                                       const struct dimse_options *opt)
{
    struct dimse_assoc *da = calloc(1, sizeof *da);
    if (!da)
        return NULL;
    da->ops = ops;
    da->ud = ud;
    da->max_command = opt && opt->max_command ? opt->max_command : DIMSE_DEFAULT_MAX_COMMAND;
    return da;
}

struct dimse_assoc *dimse_assoc_new(struct dul_assoc *a, const struct dimse_ops *ops, void *ud,
                                    const struct dimse_options *opt)
{
    struct dimse_assoc *da = assoc_alloc(ops, ud, opt);
    if (!da)
        return NULL;
    da->a = a;
    dul_assoc_set_ops(a, &dimse_dul_ops, da);
    return da;
}

struct dimse_assoc *dimse_connect(struct net_loop *loop, const struct dul_request *rq,
                                  const struct dimse_ops *ops, void *ud,
                                  const struct dimse_options *opt, struct ferry_error **err)
{
    struct dimse_assoc *da = assoc_alloc(ops, ud, opt);
    if (!da) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    da->a = dul_connect(loop, rq, &dimse_dul_ops, da, err);
    if (!da->a) {
        free(da);
        return NULL;
    }
    return da;
}

struct dul_assoc *dimse_assoc_dul(struct dimse_assoc *da)
{
    return da->a;
}

void *dimse_assoc_user(const struct dimse_assoc *da)
{
    return da->ud;
}

void dimse_pause(struct dimse_assoc *da)
{
    da->pause_owner = true;
    update_pause(da);
}

void dimse_resume(struct dimse_assoc *da)
{
    da->pause_owner = false;
    update_pause(da);
}

unsigned dimse_outstanding(const struct dimse_assoc *da)
{
    return da->outstanding ? 1 : 0;
}

int dimse_release(struct dimse_assoc *da)
{
    if (da->closed)
        return -ENOTCONN;
    if (dul_assoc_state(da->a) != DUL_STA6)
        return -ENOTCONN;
    da->release_wanted = true;
    release_if_idle(da);
    return 0;
}

void dimse_abort(struct dimse_assoc *da)
{
    if (!da->closed)
        dul_abort(da->a);
}
