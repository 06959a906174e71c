/* ferry — PS3.8 PDU codec: a pure library (no I/O, no logging, no global
 * state). Decoders take a whole PDU (6-byte header included) and say what
 * is wrong with it, naming the byte offset from the start of the PDU; the
 * text of every error is part of the contract and tested.
 *
 * Error codes (negative errno), and the A-ABORT reason the association
 * layer sends for each (dul_pdu_abort_reason()):
 *   -ENOMSG   unknown PDU type                     -> 1 unrecognized-PDU
 *   -EPROTO   a known item where it is not allowed -> 5 unexpected-PDU-parameter
 *   -EBADMSG  a bad length or value                -> 6 invalid-PDU-parameter-value
 *   -EMSGSIZE a PDU over the limit                 -> 6 invalid-PDU-parameter-value
 *   -ENOMEM   out of memory                        -> 0 reason-not-specified
 * Item types PS3.8 does not define are skipped, as PS3.8 requires; only
 * their length is checked.
 */
#ifndef FERRY_DUL_PDU_H
#define FERRY_DUL_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ferry_error;

enum dul_pdu_type {
    DUL_PDU_ASSOCIATE_RQ = 0x01,
    DUL_PDU_ASSOCIATE_AC = 0x02,
    DUL_PDU_ASSOCIATE_RJ = 0x03,
    DUL_PDU_P_DATA = 0x04,
    DUL_PDU_RELEASE_RQ = 0x05,
    DUL_PDU_RELEASE_RP = 0x06,
    DUL_PDU_ABORT = 0x07,
};

#define DUL_PDU_HEADER_LEN 6u
#define DUL_AE_MAX 16
#define DUL_UID_MAX 64
#define DUL_VERSION_NAME_MAX 16
#define DUL_APPLICATION_CONTEXT "1.2.840.10008.3.1.1.1"

/* Presentation context results (item 0x21). */
enum dul_pc_result {
    DUL_PC_ACCEPTANCE = 0,
    DUL_PC_USER_REJECTION = 1,
    DUL_PC_NO_REASON = 2,
    DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED = 3,
    DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED = 4,
};

/* A-ASSOCIATE-RJ result, source and reasons. */
enum {
    DUL_RJ_PERMANENT = 1,
    DUL_RJ_TRANSIENT = 2,
    DUL_RJ_SOURCE_USER = 1,          /* DICOM UL service-user */
    DUL_RJ_SOURCE_ACSE = 2,          /* service-provider, ACSE related */
    DUL_RJ_SOURCE_PRESENTATION = 3,  /* service-provider, presentation related */
    /* source 1 */
    DUL_RJ_USER_NO_REASON = 1,
    DUL_RJ_USER_APP_CONTEXT_NOT_SUPPORTED = 2,
    DUL_RJ_USER_CALLING_AE_NOT_RECOGNIZED = 3,
    DUL_RJ_USER_CALLED_AE_NOT_RECOGNIZED = 7,
    /* source 2 */
    DUL_RJ_ACSE_NO_REASON = 1,
    DUL_RJ_ACSE_PROTOCOL_VERSION_NOT_SUPPORTED = 2,
    /* source 3 */
    DUL_RJ_PRES_TEMPORARY_CONGESTION = 1,
    DUL_RJ_PRES_LOCAL_LIMIT_EXCEEDED = 2,
};

/* A-ABORT source and reasons. */
enum {
    DUL_ABORT_SOURCE_USER = 0,
    DUL_ABORT_SOURCE_PROVIDER = 2,
    DUL_ABORT_REASON_NOT_SPECIFIED = 0,
    DUL_ABORT_UNRECOGNIZED_PDU = 1,
    DUL_ABORT_UNEXPECTED_PDU = 2,
    DUL_ABORT_UNRECOGNIZED_PARAMETER = 4,
    DUL_ABORT_UNEXPECTED_PARAMETER = 5,
    DUL_ABORT_INVALID_PARAMETER = 6,
};

/* Message control header bits of a PDV. */
#define DUL_MCH_COMMAND 0x01u
#define DUL_MCH_LAST 0x02u

/* The structures below are views: strings and byte fields are pointers.
 * After a decode they point into memory the decode allocated (freed by
 * dul_associate_clear); to encode, point them wherever you like. Strings
 * are NUL-terminated UIDs without padding. */

struct dul_pc {
    uint8_t id;                    /* odd, 1..255 */
    uint8_t result;                /* AC only: enum dul_pc_result */
    const char *abstract_syntax;   /* RQ only */
    size_t n_ts;                   /* RQ: >= 1 proposed; AC: 1 (0 after a
                                      decode of a rejection without one) */
    const char **ts;
};

struct dul_role {                  /* SCP/SCU role selection (0x54) */
    const char *sop_class;
    uint8_t scu, scp;
};

struct dul_ext_neg {               /* SOP class extended negotiation (0x56) */
    const char *sop_class;
    const uint8_t *info;
    uint16_t info_len;
};

struct dul_common_ext_neg {        /* SOP class common extended negotiation (0x57) */
    const char *sop_class;
    const char *service_class;
    size_t n_related;
    const char **related;
};

struct dul_user_identity {         /* user identity RQ (0x58) */
    uint8_t type;                  /* 1 username, 2 +passcode, 3 Kerberos, 4 SAML, 5 JWT */
    uint8_t positive_response_requested;
    const uint8_t *primary;
    uint16_t primary_len;
    const uint8_t *secondary;
    uint16_t secondary_len;
};

struct dul_user_info {
    uint32_t max_length;           /* 0x51; 0 = no limit (also when absent) */
    bool has_max_length;
    const char *impl_class_uid;    /* 0x52; NULL when absent (PS3.8 requires it;
                                      decoding tolerates its absence, encoding
                                      then leaves it out) */
    const char *impl_version;      /* 0x55; NULL when absent */
    bool has_async;                /* 0x53 */
    uint16_t async_invoked, async_performed;
    size_t n_roles;
    struct dul_role *roles;
    size_t n_ext;
    struct dul_ext_neg *ext;
    size_t n_common_ext;           /* RQ only */
    struct dul_common_ext_neg *common_ext;
    bool has_identity;             /* RQ: 0x58 */
    struct dul_user_identity identity;
    bool has_identity_ac;          /* AC: 0x59 */
    const uint8_t *server_response;
    uint16_t server_response_len;
};

struct dul_associate {
    uint8_t type;                  /* DUL_PDU_ASSOCIATE_RQ or _AC */
    uint16_t protocol_version;
    char called_ae[DUL_AE_MAX + 1];   /* without leading/trailing spaces */
    char calling_ae[DUL_AE_MAX + 1];
    const char *app_context;
    size_t n_pc;
    struct dul_pc *pc;
    struct dul_user_info ui;
    void *mem;                     /* private: what a decode allocated */
};

struct dul_reject {
    uint8_t result, source, reason;
};

struct dul_abort {
    uint8_t source, reason;
};

struct dul_pdv {
    uint8_t pc_id;
    uint8_t mch;                   /* DUL_MCH_* bits; bits 2-7 cleared */
    const uint8_t *data;           /* borrowed from the PDU */
    size_t len;
};

/* ----------------------------------------------------------- framing */

/* Read a PDU header (6 bytes). Unknown types are an error (-ENOMSG). */
int dul_pdu_header(const uint8_t *hdr, uint8_t *type, uint32_t *length,
                   struct ferry_error **err);

/* Check a PDU-length against its type: 4 for A-ASSOCIATE-RJ, A-RELEASE-*
 * and A-ABORT; at least 68 and at most max_assoc (0: no limit) for
 * A-ASSOCIATE-RQ/AC; at most max_pdata (0: no limit) for P-DATA-TF. */
int dul_pdu_check_length(uint8_t type, uint32_t length, uint32_t max_pdata, uint32_t max_assoc,
                         struct ferry_error **err);

/* The name of a PDU type, "A-ASSOCIATE-RQ" ..., or "PDU type 0x%02x" into
 * a static buffer for unknown ones (not thread-safe for those). */
const char *dul_pdu_name(uint8_t type);

/* The A-ABORT reason for a codec error code (see the top of this file). */
uint8_t dul_pdu_abort_reason(int code);

/* --------------------------------------------------------- decoding */

/* A-ASSOCIATE-RQ or -AC (buf[0] says which). On success *out holds views
 * into memory it owns (free with dul_associate_clear); on error *out is
 * cleared. */
int dul_decode_associate(const uint8_t *buf, size_t len, struct dul_associate *out,
                         struct ferry_error **err);
void dul_associate_clear(struct dul_associate *a);

int dul_decode_reject(const uint8_t *buf, size_t len, struct dul_reject *out,
                      struct ferry_error **err);
int dul_decode_abort(const uint8_t *buf, size_t len, struct dul_abort *out,
                     struct ferry_error **err);
/* A-RELEASE-RQ or -RP: only the length is checked. */
int dul_decode_release(const uint8_t *buf, size_t len, struct ferry_error **err);

/* Check the whole PDV list of a P-DATA-TF; *n_pdv gets the count. */
int dul_pdata_validate(const uint8_t *buf, size_t len, size_t *n_pdv, struct ferry_error **err);
/* Iterate over a validated P-DATA-TF: start with *off = 6; returns false at
 * the end. */
bool dul_pdata_next(const uint8_t *buf, size_t len, size_t *off, struct dul_pdv *pdv);

/* The UID rules of PS3.8 items: 1..64 characters, digits and dots, no
 * empty component. Returns NULL or what is wrong ("is empty" ...). */
const char *dul_uid_problem(const char *uid, size_t len);

/* --------------------------------------------------------- encoding */

/* Encode into buf (cap bytes). Returns the PDU size, or with buf == NULL
 * the size needed; -ENOSPC if cap is too small, -EINVAL if a value does not
 * fit its field (an empty UID or one over 64 characters, an AE title over
 * 16, an item over 65535 bytes, a PC without transfer syntax ...). Whatever
 * dul_decode_associate() accepted encodes. */
ssize_t dul_encode_associate(const struct dul_associate *a, uint8_t *buf, size_t cap);

/* 10-byte PDUs. */
void dul_encode_reject(const struct dul_reject *rj, uint8_t buf[10]);
void dul_encode_abort(const struct dul_abort *ab, uint8_t buf[10]);
void dul_encode_release(uint8_t type, uint8_t buf[10]);

/* A P-DATA-TF holding the given PDVs; same return convention. */
ssize_t dul_encode_pdata(const struct dul_pdv *pdvs, size_t n, uint8_t *buf, size_t cap);

#endif
