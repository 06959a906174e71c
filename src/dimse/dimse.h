/* ferry — DIMSE (PS3.7): messages over a dul association.
 *
 * A message is a command set, optionally followed by a data set, each sent
 * as a stream of PDV fragments on one presentation context. dimse puts the
 * command set together (up to a size limit), parses it with dcm, and hands
 * the data set on PDV by PDV as it arrives, without buffering it: memory per
 * association stays bounded by the PDU size, whatever the instance size.
 *
 * As a service class provider, dimse answers C-ECHO itself, passes C-STORE
 * to its owner (the receive path: the data set goes to the spool as it
 * arrives; the owner answers with dimse_store_respond() once the instance is
 * durable), ignores C-CANCEL, and answers every other request with a failure
 * status. As a user, it sends C-STORE and C-ECHO requests (command and data
 * set, paced by on_writable) and reports their responses.
 *
 * Protocol errors that leave no way to answer (a command set that cannot be
 * read, a data set fragment without a command, a command in the middle of a
 * data set, a PDV on another context than its command's) end the
 * association with an A-ABORT and one log line naming the peer, the AE
 * titles and the reason.
 *
 * The asynchronous operations window is 1/1 (dul negotiates nothing else):
 * a request that arrives while an earlier one still waits for its response
 * is held (the association paused) until that response has gone out.
 *
 * Threading: as dul: everything on the network thread; callbacks come from
 * the loop. A struct dimse_assoc lives until its on_closed has returned.
 */
#ifndef FERRY_DIMSE_DIMSE_H
#define FERRY_DIMSE_DIMSE_H

#include "base/error.h"
#include "dul/dul.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dcm_dataset;
struct dimse_assoc;
struct dimse_store;

/* Command Field values (PS3.7 E.1). */
enum dimse_command {
    DIMSE_C_STORE_RQ = 0x0001,
    DIMSE_C_STORE_RSP = 0x8001,
    DIMSE_C_GET_RQ = 0x0010,
    DIMSE_C_GET_RSP = 0x8010,
    DIMSE_C_FIND_RQ = 0x0020,
    DIMSE_C_FIND_RSP = 0x8020,
    DIMSE_C_MOVE_RQ = 0x0021,
    DIMSE_C_MOVE_RSP = 0x8021,
    DIMSE_C_ECHO_RQ = 0x0030,
    DIMSE_C_ECHO_RSP = 0x8030,
    DIMSE_N_EVENT_REPORT_RQ = 0x0100,
    DIMSE_N_GET_RQ = 0x0110,
    DIMSE_N_SET_RQ = 0x0120,
    DIMSE_N_ACTION_RQ = 0x0130,
    DIMSE_N_CREATE_RQ = 0x0140,
    DIMSE_N_DELETE_RQ = 0x0150,
    DIMSE_C_CANCEL_RQ = 0x0FFF,
};

/* Statuses ferry sends (PS3.7 Annex C, PS3.4 B.2-1) and what a sender can
 * do about them. */
#define DIMSE_STATUS_SUCCESS 0x0000
#define DIMSE_STATUS_OUT_OF_RESOURCES 0xA700        /* disk full: try later */
#define DIMSE_STATUS_DATASET_MISMATCH 0xA900        /* data set vs SOP class / command */
#define DIMSE_STATUS_CANNOT_UNDERSTAND 0xC000       /* malformed */
#define DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED 0x0122
#define DIMSE_STATUS_DUPLICATE_INSTANCE 0x0111      /* duplicates: reject */
#define DIMSE_STATUS_UNRECOGNIZED_OPERATION 0x0211

enum dimse_status_class {
    DIMSE_SUCCESS = 0,
    DIMSE_WARNING,   /* 0x0001, 0xBxxx, 0x0107, 0x0116: stored nonetheless */
    DIMSE_FAILURE,   /* 0xAxxx, 0xCxxx, 0x01xx, 0x02xx, and anything unknown */
    DIMSE_CANCEL,    /* 0xFE00 */
    DIMSE_PENDING,   /* 0xFF00, 0xFF01 */
};

enum dimse_status_class dimse_status_class(uint16_t status);
/* "C-STORE-RQ", "N-ACTION-RSP", or "command 0x1234". Static or thread-local
 * storage; for logs. */
const char *dimse_command_name(uint16_t field);

/* ------------------------------------------------------------ callbacks */

/* A C-STORE-RQ as its command set says; strings borrowed for the call that
 * gives it (UIDs trimmed of padding, "" when absent). */
struct dimse_store_rq {
    uint8_t pc_id;
    uint16_t message_id;
    uint16_t priority;
    const char *sop_class_uid;         /* Affected SOP Class UID */
    const char *sop_instance_uid;      /* Affected SOP Instance UID */
    const char *transfer_syntax;       /* the presentation context's */
    const char *move_originator_ae;    /* "" unless a C-MOVE sub-operation */
    int32_t move_originator_id;        /* -1 when absent */
};

/* A response, as the SCU sees it. */
struct dimse_rsp {
    uint8_t pc_id;
    uint16_t command_field;            /* DIMSE_C_STORE_RSP ... */
    uint16_t message_id;               /* Message ID Being Responded To */
    uint16_t status;
    const char *sop_class_uid;         /* "" when absent */
    const char *sop_instance_uid;
    const char *error_comment;
    const struct dcm_dataset *command; /* the whole command set (borrowed) */
};

struct dimse_ops {
    /* Negotiation is done (dul_assoc_info() has the contexts). */
    void (*on_established)(struct dimse_assoc *da, void *ud);

    /* SCP: a C-STORE-RQ arrived (its SOP class is the context's). Return 0
     * to take it: the data set follows in on_store_data, and the owner
     * answers with dimse_store_respond() after the last fragment. Return a
     * status to refuse it (comment: an Error Comment or NULL, borrowed): its
     * data set is read and dropped and the response goes out when it ends.
     * NULL: every C-STORE is refused with 0x0122. */
    uint16_t (*on_store)(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                         const struct dimse_store_rq *rq, const char **comment);
    /* The next fragment of the data set (borrowed for the call); last when
     * it ends it. Return true to pause the association (the owner calls
     * dimse_resume() later). */
    bool (*on_store_data)(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                          const uint8_t *data, size_t len, bool last);
    /* The association ends (aborted, released, lost) before the owner
     * responded: st is freed after this returns and must not be used. */
    void (*on_store_abandoned)(struct dimse_assoc *da, void *ud, struct dimse_store *st);

    /* SCU: a response arrived. */
    void (*on_response)(struct dimse_assoc *da, void *ud, const struct dimse_rsp *rsp);
    /* What was queued for sending has drained (see dimse_send_congested). */
    void (*on_writable)(struct dimse_assoc *da, void *ud);

    /* As in struct dul_assoc_ops. */
    void (*on_released)(struct dimse_assoc *da, void *ud);
    void (*on_rejected)(struct dimse_assoc *da, void *ud, const struct dul_reject *rj);
    void (*on_aborted)(struct dimse_assoc *da, void *ud, const struct dul_abort_info *why);
    /* The last callback: da is freed when it returns. */
    void (*on_closed)(struct dimse_assoc *da, void *ud);
};

struct dimse_options {
    /* Largest command set accepted; 0: 64 KiB. A bigger one aborts the
     * association (no real command set comes close). */
    size_t max_command;
};

/* Take over association a (from dul's accept callback, or right after
 * dul_connect()): dimse becomes its upper layer (dul_assoc_set_ops). ops and
 * ud are borrowed until on_closed; opt may be NULL (copied). Returns NULL
 * when out of memory; then a has no upper layer and dul aborts it. */
struct dimse_assoc *dimse_assoc_new(struct dul_assoc *a, const struct dimse_ops *ops, void *ud,
                                    const struct dimse_options *opt);
/* For a requestor: dul_connect() with dimse's own dul ops, then the same as
 * dimse_assoc_new(). Returns NULL with *err set. */
struct dimse_assoc *dimse_connect(struct net_loop *loop, const struct dul_request *rq,
                                  const struct dimse_ops *ops, void *ud,
                                  const struct dimse_options *opt, struct ferry_error **err);

/* The association below (borrowed, valid while da is). */
struct dul_assoc *dimse_assoc_dul(struct dimse_assoc *da);
void *dimse_assoc_user(const struct dimse_assoc *da);

/* Backpressure from the owner: stop reading from the peer until resumed.
 * (dimse pauses on its own too, while a request waits for its turn.) */
void dimse_pause(struct dimse_assoc *da);
void dimse_resume(struct dimse_assoc *da);

/* Operations still waiting for the owner's response (0 or 1). */
unsigned dimse_outstanding(const struct dimse_assoc *da);

/* Release (A-RELEASE-RQ) once nothing is outstanding; a request the peer
 * sends meanwhile is refused with 0xA700. -ENOTCONN unless established. */
int dimse_release(struct dimse_assoc *da);
/* A-ABORT now (no callback but on_closed follows). */
void dimse_abort(struct dimse_assoc *da);

/* --------------------------------------------------------------- SCP */

/* The owner's handle on a C-STORE, from on_store to dimse_store_respond()
 * or on_store_abandoned. */
void dimse_store_set_user(struct dimse_store *st, void *user);
void *dimse_store_user(const struct dimse_store *st);

/* Answer a C-STORE after its last data fragment: the C-STORE-RSP with
 * status and, for a failure, an Error Comment (NULL: none; cut at 64
 * characters; borrowed). st is freed. Returns 0, -EBUSY (the data set has
 * not ended yet), or the error of sending (the association is then going
 * down; st is freed all the same). */
int dimse_store_respond(struct dimse_store *st, uint16_t status, const char *comment);

/* --------------------------------------------------------------- SCU */

struct dimse_store_send {
    uint8_t pc_id;
    uint16_t message_id;
    uint16_t priority;                 /* 0 medium, 1 high, 2 low */
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *move_originator_ae;    /* NULL: none */
    int32_t move_originator_id;        /* used with move_originator_ae */
};

/* Send a C-STORE-RQ command set; the data set follows with
 * dimse_send_data() on the same context. -ENOTCONN, -EINVAL (context not
 * accepted, or a UID missing) with *err set. */
int dimse_send_store_rq(struct dimse_assoc *da, const struct dimse_store_send *rq,
                        struct ferry_error **err);
/* The next piece of a data set (copied), last when it ends it. Errors as
 * dul_send_pdv. Pace it: while dimse_send_congested(), wait for
 * on_writable. */
int dimse_send_data(struct dimse_assoc *da, uint8_t pc_id, const void *data, size_t len,
                    bool last);
bool dimse_send_congested(const struct dimse_assoc *da);
/* A C-ECHO-RQ on a Verification context. */
int dimse_send_echo_rq(struct dimse_assoc *da, uint8_t pc_id, uint16_t message_id,
                       struct ferry_error **err);

#endif
