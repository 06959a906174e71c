/* ferry — dimse: command sets out (responses, C-STORE-RQ, C-ECHO-RQ),
 * status classes and names. Command sets are Implicit VR Little Endian with
 * (0000,0000) first, made by dcm_command_encode(). */
#include "dimse/dimse-private.h"

#include "dcm/dcm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum dimse_status_class dimse_status_class(uint16_t status)
{
    if (status == 0x0000)
        return DIMSE_SUCCESS;
    if (status == 0x0001 || (status & 0xF000) == 0xB000 || status == 0x0107 || status == 0x0116)
        return DIMSE_WARNING;
    if (status == 0xFE00)
        return DIMSE_CANCEL;
    if (status == 0xFF00 || status == 0xFF01)
        return DIMSE_PENDING;
    return DIMSE_FAILURE;
}

const char *dimse_command_name(uint16_t field)
{
    static const struct {
        uint16_t field;
        const char *name;
    } names[] = {
        { 0x0001, "C-STORE-RQ" },        { 0x8001, "C-STORE-RSP" },
        { 0x0010, "C-GET-RQ" },          { 0x8010, "C-GET-RSP" },
        { 0x0020, "C-FIND-RQ" },         { 0x8020, "C-FIND-RSP" },
        { 0x0021, "C-MOVE-RQ" },         { 0x8021, "C-MOVE-RSP" },
        { 0x0030, "C-ECHO-RQ" },         { 0x8030, "C-ECHO-RSP" },
        { 0x0100, "N-EVENT-REPORT-RQ" }, { 0x8100, "N-EVENT-REPORT-RSP" },
        { 0x0110, "N-GET-RQ" },          { 0x8110, "N-GET-RSP" },
        { 0x0120, "N-SET-RQ" },          { 0x8120, "N-SET-RSP" },
        { 0x0130, "N-ACTION-RQ" },       { 0x8130, "N-ACTION-RSP" },
        { 0x0140, "N-CREATE-RQ" },       { 0x8140, "N-CREATE-RSP" },
        { 0x0150, "N-DELETE-RQ" },       { 0x8150, "N-DELETE-RSP" },
        { 0x0FFF, "C-CANCEL-RQ" },
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].field == field)
            return names[i].name;
    static _Thread_local char other[24];
    snprintf(other, sizeof other, "command 0x%04x", field);
    return other;
}

void dimse_cmd_string(const struct dcm_dataset *cmd, uint32_t tag, char *buf, size_t size)
{
    int rc = dcm_dataset_get_cstr(cmd, tag, 0, buf, size);
    if (rc < 0)
        buf[0] = '\0';
}

/* Set the elements, encode, send as one command stream. */
static int send_command(struct dimse_assoc *da, uint8_t pc_id, struct dcm_dataset *cmd,
                        struct ferry_error **err)
{
    struct dcm_buf out = { 0 };
    int rc = dcm_command_encode(cmd, &out, err);
    if (rc == 0) {
        rc = dul_send_pdv(da->a, pc_id, true, true, out.data, out.len);
        if (rc < 0)
            ferry_error_set(err, rc, "cannot send the command set: %s", strerror(-rc));
    }
    dcm_buf_free(&out);
    return rc;
}

static int set_uid(struct dcm_dataset *cmd, uint32_t tag, const char *uid)
{
    return uid && uid[0] ? dcm_dataset_set_string(cmd, tag, DCM_VR_UI, uid) : 0;
}

int dimse_send_rsp(struct dimse_assoc *da, uint8_t pc_id, uint16_t field, uint16_t message_id,
                   const char *sop_class, const char *sop_instance, uint16_t status,
                   const char *comment)
{
    struct dcm_dataset *cmd = dcm_dataset_new();
    if (!cmd)
        return -ENOMEM;
    int rc = set_uid(cmd, DCM_TAG_AffectedSOPClassUID, sop_class);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandField, DCM_VR_US, field);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_MessageIDBeingRespondedTo, DCM_VR_US, message_id);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandDataSetType, DCM_VR_US, 0x0101);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_Status, DCM_VR_US, status);
    if (rc == 0)
        rc = set_uid(cmd, DCM_TAG_AffectedSOPInstanceUID, sop_instance);
    if (rc == 0 && comment && comment[0] && dimse_status_class(status) != DIMSE_SUCCESS) {
        /* LO: at most 64 characters, no backslash or control characters */
        char lo[65];
        size_t n = 0;
        for (const char *p = comment; *p && n < 64; p++)
            lo[n++] = (*p == '\\' || (unsigned char)*p < 0x20) ? ' ' : *p;
        lo[n] = '\0';
        rc = dcm_dataset_set_string(cmd, DCM_TAG_ErrorComment, DCM_VR_LO, lo);
    }
    if (rc == 0)
        rc = send_command(da, pc_id, cmd, NULL);
    dcm_dataset_unref(cmd);
    return rc;
}

int dimse_send_store_rq(struct dimse_assoc *da, const struct dimse_store_send *rq,
                        struct ferry_error **err)
{
    if (!dul_assoc_context(da->a, rq->pc_id))
        return ferry_error_set(err, -EINVAL, "presentation context %u was not accepted",
                               rq->pc_id);
    if (!rq->sop_class_uid || !rq->sop_class_uid[0] || !rq->sop_instance_uid ||
        !rq->sop_instance_uid[0])
        return ferry_error_set(err, -EINVAL, "a C-STORE-RQ needs both SOP UIDs");
    struct dcm_dataset *cmd = dcm_dataset_new();
    if (!cmd)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    int rc = set_uid(cmd, DCM_TAG_AffectedSOPClassUID, rq->sop_class_uid);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandField, DCM_VR_US, DIMSE_C_STORE_RQ);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_MessageID, DCM_VR_US, rq->message_id);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_Priority, DCM_VR_US, rq->priority);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandDataSetType, DCM_VR_US, 0x0000);
    if (rc == 0)
        rc = set_uid(cmd, DCM_TAG_AffectedSOPInstanceUID, rq->sop_instance_uid);
    if (rc == 0 && rq->move_originator_ae && rq->move_originator_ae[0]) {
        rc = dcm_dataset_set_string(cmd, DCM_TAG_MoveOriginatorApplicationEntityTitle, DCM_VR_AE,
                                    rq->move_originator_ae);
        if (rc == 0)
            rc = dcm_dataset_set_uint(cmd, DCM_TAG_MoveOriginatorMessageID, DCM_VR_US,
                                      (uint64_t)(rq->move_originator_id & 0xFFFF));
    }
    if (rc < 0)
        ferry_error_set(err, rc, "cannot build the C-STORE-RQ (a UID or AE title too long?)");
    else
        rc = send_command(da, rq->pc_id, cmd, err);
    dcm_dataset_unref(cmd);
    return rc;
}

int dimse_send_data(struct dimse_assoc *da, uint8_t pc_id, const void *data, size_t len,
                    bool last)
{
    return dul_send_pdv(da->a, pc_id, false, last, data, len);
}

bool dimse_send_congested(const struct dimse_assoc *da)
{
    return dul_send_queued(da->a) > dul_assoc_info(da->a)->max_send_pdu;
}

int dimse_send_echo_rq(struct dimse_assoc *da, uint8_t pc_id, uint16_t message_id,
                       struct ferry_error **err)
{
    if (!dul_assoc_context(da->a, pc_id))
        return ferry_error_set(err, -EINVAL, "presentation context %u was not accepted", pc_id);
    struct dcm_dataset *cmd = dcm_dataset_new();
    if (!cmd)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    int rc = set_uid(cmd, DCM_TAG_AffectedSOPClassUID, DCM_UID_Verification);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandField, DCM_VR_US, DIMSE_C_ECHO_RQ);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_MessageID, DCM_VR_US, message_id);
    if (rc == 0)
        rc = dcm_dataset_set_uint(cmd, DCM_TAG_CommandDataSetType, DCM_VR_US, 0x0101);
    if (rc < 0)
        ferry_error_set(err, rc, "out of memory");
    else
        rc = send_command(da, pc_id, cmd, err);
    dcm_dataset_unref(cmd);
    return rc;
}
