/* ferry — the DICOM upper layer (PS3.8): associations on top of net.
 *
 * Acceptor: a dul_server listens, negotiates each A-ASSOCIATE-RQ against a
 * struct dul_policy, and hands each established association to its owner.
 * Requestor: dul_connect() opens an association to a peer from a list of
 * proposals. Either way the upper layer (dimse) then sees PDVs as they
 * arrive and sends PDVs, releases or aborts.
 *
 * Threading: everything here runs on the network thread of the net_loop
 * given at creation. Callbacks all come from the loop, never from inside a
 * dul_* call; a callback may call any dul_* function on its association
 * (dul_abort from on_pdv, dul_release_response from on_release_requested,
 * ...). A struct dul_assoc stays valid until its on_closed has returned.
 *
 * Memory per association is bounded by the PDU sizes: one receive buffer
 * that grows to the largest PDU accepted only while such PDUs arrive (and
 * gives its pages back after 2 s of quiet), send buffers of the peer's
 * maximum length (kept only while sending), and what the upper layer
 * queues with dul_send_pdv (pace it with on_writable).
 *
 * Logging: the association logs once per notable event with its context
 * "assoc 12 10.0.0.5:40112 MODALITY1->FERRY" (dul_assoc_log_ctx). Every
 * malformed or out-of-order PDU ends the association with an A-ABORT and a
 * warning line ending in ", association aborted".
 */
#ifndef FERRY_DUL_DUL_H
#define FERRY_DUL_DUL_H

#include "base/version.h"
#include "dul/pdu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ferry_error;
struct net_loop;
struct dul_assoc;
struct dul_server;

/* ferry's implementation class UID: a UUID-derived UID under 2.25
 * (PS3.5 B.2), made once for ferry and never changed; and its version name. */
#define DUL_FERRY_IMPL_CLASS_UID FERRY_IMPLEMENTATION_CLASS_UID
#define DUL_FERRY_IMPL_VERSION FERRY_IMPLEMENTATION_VERSION

#define DUL_DEFAULT_MAX_PDU (256u * 1024u)
#define DUL_MIN_MAX_PDU 4096u
#define DUL_MAX_MAX_PDU (16u * 1024u * 1024u)

/* ------------------------------------------------------------- policy */

/* Who may associate from where. A calling AE title of NULL or "" matches
 * any title; '*' and '?' in it are DICOM wildcards ("CT_*" matches CT_1 and
 * CT_ROOM2; '?' stands for one character); an empty list of CIDRs ("10.0.0.0/8", "2001:db8::/32",
 * "192.168.1.7") matches any address. */
struct dul_peer_rule {
    const char *calling_ae;
    const char *const *cidrs;
    size_t n_cidrs;
};

/* What the acceptor agrees to. The daemon fills it from its config; every
 * field has a safe default when left 0/NULL. Strings and arrays are
 * borrowed for the duration of dul_server_new()/dul_server_set_policy(),
 * which copy what they need (so a config reload may free the old one).
 *
 * Decisions, in this order (first that applies wins):
 *  - protocol version without bit 0     -> RJ permanent, ACSE (2), reason 2
 *  - application context not DICOM's    -> RJ permanent, user (1), reason 2
 *  - called AE not in ae_titles         -> RJ permanent, user (1), reason 7
 *  - calling AE matches no peer rule    -> RJ permanent, user (1), reason 3
 *  - calling AE known but the address
 *    is outside all of its rules' CIDRs -> RJ permanent, user (1), reason 1
 *  - identity required but not sent     -> RJ permanent, user (1), reason 1
 *  - max_associations reached           -> RJ transient, presentation (3), reason 2
 *  - max_associations_per_peer reached  -> RJ transient, presentation (3), reason 2
 *  - otherwise accept; each presentation context gets result 3 if its
 *    abstract syntax is not accepted, 4 if no proposed transfer syntax is
 *    in transfer_syntaxes, else 0 with the first of transfer_syntaxes (our
 *    order, not the requestor's) that was proposed. An association whose
 *    contexts are all rejected is still accepted (PS3.8: the PC results say
 *    why); the requestor will release or abort it. */
struct dul_policy {
    /* Called AE titles we answer to; 0: any. */
    const char *const *ae_titles;
    size_t n_ae_titles;
    /* Allowed peers; 0: anyone from anywhere. */
    const struct dul_peer_rule *peers;
    size_t n_peers;
    /* Accepted abstract syntaxes (SOP class UIDs); 0: Verification and every
     * Storage SOP class of data/dicom/storage_sop_classes.tsv. */
    const char *const *abstract_syntaxes;
    size_t n_abstract_syntaxes;
    /* Accepted transfer syntaxes in order of preference; 0: every one in
     * data/dicom/transfer_syntaxes.tsv, explicit VR little endian first, then
     * implicit, then lossless compressed, big endian, then lossy. */
    const char *const *transfer_syntaxes;
    size_t n_transfer_syntaxes;
    /* Largest P-DATA-TF PDU-length we receive (announced as our maximum
     * length): 0 = 256 KiB; 4096 .. 16 MiB. */
    uint32_t max_pdu;
    /* Largest PDU we send when the peer announces 0 (no limit); 0 = 256 KiB. */
    uint32_t max_send_pdu;
    /* Largest A-ASSOCIATE-RQ accepted; 0 = 256 KiB. */
    uint32_t max_assoc_pdu;
    /* NULL: DUL_FERRY_IMPL_CLASS_UID / DUL_FERRY_IMPL_VERSION. */
    const char *impl_class_uid;
    const char *impl_version;
    /* User identity is accepted whenever sent (a positive response for
     * types 1 and 2 when asked for); with this set, an RQ without one is
     * rejected. */
    bool require_user_identity;
    /* 0: no limit. Counted over associations from TCP accept to close. */
    unsigned max_associations;
    unsigned max_associations_per_peer;
    /* Timers, in ms; 0: the default. ARTIM (30 s) waits for the
     * A-ASSOCIATE-RQ after accept and for the peer to close after we sent
     * RJ/RELEASE-RP/ABORT. idle (300 s): no PDU either way while
     * established (suspended while the upper layer has paused receiving).
     * pdu (60 s): time for one PDU once its first byte has arrived. */
    unsigned artim_ms;
    unsigned idle_ms;
    unsigned pdu_ms;
};

/* ---------------------------------------------------------- negotiated */

struct dul_context {
    uint8_t id;
    uint8_t result;                             /* enum dul_pc_result */
    char abstract_syntax[DUL_UID_MAX + 1];
    char transfer_syntax[DUL_UID_MAX + 1];      /* "" unless accepted */
    /* SCP/SCU role selection outcome for the requestor: scu 1 by default;
     * scp 1 only if proposed and accepted. */
    uint8_t requestor_scu, requestor_scp;
};

struct dul_assoc_info {
    unsigned id;                                /* for logs, unique per process */
    bool requestor;                             /* we asked for it */
    char calling_ae[DUL_AE_MAX + 1];
    char called_ae[DUL_AE_MAX + 1];
    const char *peer;                           /* "10.0.0.5:40112" */
    const struct sockaddr_storage *peer_addr;
    uint32_t max_recv_pdu;                      /* what we announced */
    uint32_t max_send_pdu;                      /* what the peer announced (or our cap) */
    char peer_impl_class_uid[DUL_UID_MAX + 1];
    char peer_impl_version[DUL_VERSION_NAME_MAX + 1];
    size_t n_contexts;
    const struct dul_context *contexts;         /* in the order proposed */
    uint8_t user_identity_type;                 /* 0: none */
    char user_identity[65];                     /* primary field, printable, cut at 64 */
};

/* Borrowed from a, valid while a is. The contexts are known once the
 * association is established. */
const struct dul_assoc_info *dul_assoc_info(const struct dul_assoc *a);
/* The accepted context with this ID, or NULL. */
const struct dul_context *dul_assoc_context(const struct dul_assoc *a, uint8_t pc_id);
/* The first accepted context for an abstract syntax (and transfer syntax,
 * unless ts is NULL), or NULL. */
const struct dul_context *dul_assoc_find_context(const struct dul_assoc *a, const char *abstract,
                                                 const char *ts);
/* "assoc 12 10.0.0.5:40112 MODALITY1->FERRY", for the upper layer's logs. */
const char *dul_assoc_log_ctx(const struct dul_assoc *a);

/* ------------------------------------------------------ upper interface */

/* One PDV as it arrives. data is borrowed for the call; if on_pdv calls
 * dul_pause(), the bytes stay valid and unchanged until dul_resume() (so a
 * spool writer can hand them to the disk without copying). */
struct dul_pdv_in {
    uint8_t pc_id;
    bool command;                               /* else data set */
    bool last;                                  /* last fragment of it */
    const uint8_t *data;
    size_t len;
};

/* Why an association ended without a release. */
struct dul_abort_info {
    bool by_peer;          /* the peer sent A-ABORT (source/reason are its) */
    uint8_t source, reason;/* A-ABORT fields (sent or received) */
    const char *message;   /* what happened, for logs */
};

struct dul_assoc_ops {
    /* Negotiation is done; contexts are in dul_assoc_info(). */
    void (*on_established)(struct dul_assoc *a, void *arg);
    /* A PDV arrived (see struct dul_pdv_in). */
    void (*on_pdv)(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv);
    /* The peer asked to release: call dul_release_response() once all
     * responses are sent. NULL: dul answers at once. */
    void (*on_release_requested)(struct dul_assoc *a, void *arg);
    /* Our dul_release() was confirmed by the peer. */
    void (*on_released)(struct dul_assoc *a, void *arg);
    /* Requestor: the peer rejected the association. */
    void (*on_rejected)(struct dul_assoc *a, void *arg, const struct dul_reject *rj);
    /* Aborted by the peer, by us because of a protocol error or timeout, or
     * the connection was lost (not called after dul_abort()). */
    void (*on_aborted)(struct dul_assoc *a, void *arg, const struct dul_abort_info *why);
    /* What was queued with dul_send_pdv() has drained to at most one PDU
     * (called only after dul_send_pdv() left more than that queued). */
    void (*on_writable)(struct dul_assoc *a, void *arg);
    /* The last callback; a is freed when it returns. */
    void (*on_closed)(struct dul_assoc *a, void *arg);
};

/* ops and arg are borrowed until on_closed. */
void dul_assoc_set_ops(struct dul_assoc *a, const struct dul_assoc_ops *ops, void *arg);

/* Send one message fragment stream piece: data (len bytes, copied) for
 * presentation context pc_id, a command or data set, last if this ends it.
 * dul cuts it into PDVs that fit the peer's maximum length (even-length
 * fragments), merges consecutive pieces of one stream into one PDV, and
 * sends a PDU when it is full or when `last` is set. Errors: -ENOTCONN (not
 * established or already releasing), -EINVAL (pc_id not accepted), -ENOMEM.
 * To stream a big data set, send a PDU or so at a time and wait for
 * on_writable whenever dul_send_queued() is above dul_assoc_info()->
 * max_send_pdu. */
int dul_send_pdv(struct dul_assoc *a, uint8_t pc_id, bool command, bool last, const void *data,
                 size_t len);
size_t dul_send_queued(const struct dul_assoc *a);

/* Requestor (or acceptor) asks to release: A-RELEASE-RQ; on_released then
 * on_closed follow. -ENOTCONN unless established. */
int dul_release(struct dul_assoc *a);
/* Answer on_release_requested: A-RELEASE-RP. -ENOTCONN if not asked. */
int dul_release_response(struct dul_assoc *a);
/* A-ABORT (service-user), then close. No-op once closing. */
void dul_abort(struct dul_assoc *a);

/* Backpressure: stop delivering PDVs (after the current on_pdv returns) and
 * stop reading from the socket. The idle and per-PDU timers wait meanwhile
 * (it is not the peer's fault), so the upper layer must resume or abort.
 * Resume delivers what is buffered, from the loop, then reads again. */
void dul_pause(struct dul_assoc *a);
void dul_resume(struct dul_assoc *a);
bool dul_paused(const struct dul_assoc *a);

/* --------------------------------------------------------------- server */

/* An association was accepted (the A-ASSOCIATE-AC is on its way). The
 * callee calls dul_assoc_set_ops(); without ops the association is aborted.
 * on_established follows. */
typedef void dul_accept_fn(struct dul_server *s, void *arg, struct dul_assoc *a);

/* policy: see struct dul_policy (copied); NULL: all defaults. */
struct dul_server *dul_server_new(struct net_loop *loop, const struct dul_policy *policy,
                                  dul_accept_fn *on_accept, void *arg, struct ferry_error **err);
/* Listen on host ("0.0.0.0", "::", "127.0.0.1") and port (0: any free one).
 * May be called several times (IPv4 and IPv6). */
int dul_server_listen(struct dul_server *s, const char *host, uint16_t port,
                      struct ferry_error **err);
/* The port of the i-th listener (0 if none). */
uint16_t dul_server_port(const struct dul_server *s, size_t i);
/* Replace the policy (config reload): new associations use it, open ones
 * keep theirs. On error the old policy stays. */
int dul_server_set_policy(struct dul_server *s, const struct dul_policy *policy,
                          struct ferry_error **err);
/* Associations open (from accept to close). */
size_t dul_server_assoc_count(const struct dul_server *s);
/* Stop listening; let associations finish; after deadline_ms abort those
 * left (A-ABORT, then close after at most 1 s). done(arg) once none is
 * left. */
void dul_server_shutdown(struct dul_server *s, unsigned deadline_ms, void (*done)(void *arg),
                         void *arg);
/* Free the server, on the network thread, before net_loop_free() (its
 * listeners belong to the loop). Normally after shutdown's done; any
 * association still open is closed and freed later by the loop without
 * referring to the server. Accepts NULL. */
void dul_server_free(struct dul_server *s);

/* ------------------------------------------------------------ requestor */

/* One proposed presentation context: each gets its own odd ID (1, 3, ...)
 * in this order. Propose the same abstract syntax several times (one
 * transfer syntax each) to learn exactly which the peer accepts. */
struct dul_proposal {
    const char *abstract_syntax;
    const char *const *transfer_syntaxes;
    size_t n_transfer_syntaxes;
    /* Role selection sub-item for this abstract syntax when either is set
     * (e.g. scp for C-GET); both 0: no sub-item (we are SCU). */
    bool propose_scu, propose_scp;
};

struct dul_request {
    const char *calling_ae;                /* ours, 1-16 characters */
    const char *called_ae;                 /* theirs */
    const struct sockaddr *addr;           /* copied */
    socklen_t addrlen;
    const struct dul_proposal *proposals;  /* 1..128 */
    size_t n_proposals;
    uint32_t max_pdu;                      /* we receive; 0: 256 KiB */
    uint32_t max_send_pdu;                 /* cap when the peer says 0; 0: 256 KiB */
    unsigned connect_timeout_ms;           /* 0: 10 s */
    unsigned reply_timeout_ms;             /* A-ASSOCIATE-AC / A-RELEASE-RP; 0: 30 s */
    unsigned idle_ms;                      /* 0: no idle limit (reused associations) */
    unsigned pdu_ms;                       /* 0: 60 s */
    unsigned artim_ms;                     /* 0: 30 s */
    const char *impl_class_uid;            /* NULL: ferry's */
    const char *impl_version;
    const struct dul_user_identity *identity;  /* NULL: none */
    bool async_window;                     /* send 0x53 with 1/1 */
};

/* Start an association: connect, send the A-ASSOCIATE-RQ, and report
 * on_established, on_rejected or on_aborted, then later on_closed. Returns
 * NULL and sets *err for a request that cannot be encoded (a UID over 64
 * characters ...) or when no socket can be made. rq is copied. */
struct dul_assoc *dul_connect(struct net_loop *loop, const struct dul_request *rq,
                              const struct dul_assoc_ops *ops, void *arg,
                              struct ferry_error **err);

/* ------------------------------------------------------- state machine */

/* PS3.8 states Sta1..Sta13, events Evt1..Evt19 and actions, for logs and
 * tests. */
enum dul_state {
    DUL_STA1 = 1, DUL_STA2, DUL_STA3, DUL_STA4, DUL_STA5, DUL_STA6, DUL_STA7,
    DUL_STA8, DUL_STA9, DUL_STA10, DUL_STA11, DUL_STA12, DUL_STA13,
};

enum dul_event {
    DUL_EVT1 = 1, DUL_EVT2, DUL_EVT3, DUL_EVT4, DUL_EVT5, DUL_EVT6, DUL_EVT7,
    DUL_EVT8, DUL_EVT9, DUL_EVT10, DUL_EVT11, DUL_EVT12, DUL_EVT13, DUL_EVT14,
    DUL_EVT15, DUL_EVT16, DUL_EVT17, DUL_EVT18, DUL_EVT19,
};

enum dul_action {
    DUL_ACT_NONE = 0,
    DUL_AE1, DUL_AE2, DUL_AE3, DUL_AE4, DUL_AE5, DUL_AE6, DUL_AE7, DUL_AE8,
    DUL_DT1, DUL_DT2,
    DUL_AR1, DUL_AR2, DUL_AR3, DUL_AR4, DUL_AR5, DUL_AR6, DUL_AR7, DUL_AR8, DUL_AR9, DUL_AR10,
    DUL_AA1, DUL_AA2, DUL_AA3, DUL_AA4, DUL_AA5, DUL_AA6, DUL_AA7, DUL_AA8,
};

/* The PS3.8 table: false for an empty cell. *next is 0 where the action
 * chooses (AE-6: Sta3 or Sta13; AR-8: Sta9 or Sta10). */
bool dul_fsm_lookup(enum dul_state s, enum dul_event e, enum dul_action *action,
                    enum dul_state *next);
const char *dul_state_name(enum dul_state s);   /* "Sta6" */
const char *dul_action_name(enum dul_action a); /* "AA-8" */
enum dul_state dul_assoc_state(const struct dul_assoc *a);

/* ------------------------------------------------------------ helpers */

/* The built-in lists (generated at build time from data/dicom/). */
size_t dul_storage_sop_class_count(void);
const char *dul_storage_sop_class(size_t i);
size_t dul_default_transfer_syntax_count(void);
const char *dul_default_transfer_syntax(size_t i);

/* Address ranges. */
struct dul_cidr {
    int family;            /* AF_INET or AF_INET6 */
    uint8_t prefix;        /* bits */
    uint8_t addr[16];
};
int dul_cidr_parse(const char *text, struct dul_cidr *out, struct ferry_error **err);
/* IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 ranges. */
bool dul_cidr_match(const struct dul_cidr *c, const struct sockaddr_storage *sa);

#endif
