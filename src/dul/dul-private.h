/* ferry — dul internals shared by fsm.c, assoc.c, negotiate.c, server.c
 * and requestor.c. */
#ifndef FERRY_DUL_PRIVATE_H
#define FERRY_DUL_PRIVATE_H

#include "dul/dul.h"
#include "net/net.h"

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

#define DUL_DEFAULT_ASSOC_PDU (256u * 1024u)
#define DUL_DEFAULT_ARTIM_MS 30000u
#define DUL_DEFAULT_IDLE_MS 300000u
#define DUL_DEFAULT_PDU_MS 60000u
#define DUL_DEFAULT_REPLY_MS 30000u
#define DUL_DEFAULT_CONNECT_MS 10000u
#define DUL_SHUTDOWN_ARTIM_MS 1000u
/* A receive buffer starts at this size and grows, up to one PDU (doubling,
 * so a stream of large PDUs is read several at a time), when PDUs that large
 * arrive. It keeps its size while the association is busy; after
 * DUL_SHRINK_MS without data, the memory past the first DUL_RBUF_MIN bytes
 * is given back (madvise) without moving the buffer. */
#define DUL_RBUF_MIN (16u * 1024u)
#define DUL_SHRINK_MS 2000u
/* Free P-DATA send buffers kept for reuse. */
#define DUL_POOL_MAX 2u

/* ----------------------------------------------------- compiled policy */

struct dul_peer_rule_c {
    char calling_ae[DUL_AE_MAX + 1];   /* "" = any */
    struct dul_cidr *cidrs;
    size_t n_cidrs;                    /* 0 = anywhere */
};

/* A deep copy of struct dul_policy with defaults filled in, shared by the
 * server and its associations (reference counted: a reload swaps it while
 * associations keep the one they were accepted under). */
struct dul_policy_c {
    unsigned refs;
    char (*ae_titles)[DUL_AE_MAX + 1];
    size_t n_ae_titles;
    struct dul_peer_rule_c *peers;
    size_t n_peers;
    const char **abstract;             /* sorted, for bsearch */
    size_t n_abstract;
    const char **ts;                   /* in preference order */
    size_t n_ts;
    uint32_t max_pdu, max_send_pdu, max_assoc_pdu;
    char impl_class_uid[DUL_UID_MAX + 1];
    char impl_version[DUL_VERSION_NAME_MAX + 1];
    bool require_user_identity;
    unsigned max_associations, max_associations_per_peer;
    unsigned artim_ms, idle_ms, pdu_ms;
    char *strings;                     /* storage for abstract/ts copies */
};

struct dul_policy_c *dul_policy_compile(const struct dul_policy *p, struct ferry_error **err);
void dul_policy_unref(struct dul_policy_c *c);

/* The outcome of negotiating one A-ASSOCIATE-RQ (pure, see negotiate.c). */
struct dul_decision {
    bool accept;
    struct dul_reject rj;              /* when rejected */
    char why[256];                     /* for the log line */
    struct dul_associate ac;           /* when accepted: the AC to send
                                          (free with dul_decision_clear) */
};

/* Decide about rq from peer, with `others` associations open on the
 * server and `from_peer` of them from the same address (this one not
 * counted). */
void dul_negotiate(const struct dul_policy_c *p, const struct dul_associate *rq,
                   const struct sockaddr_storage *peer, unsigned others, unsigned from_peer,
                   struct dul_decision *d);
void dul_decision_clear(struct dul_decision *d);
/* "permanent, service-user, called AE title not recognized" */
void dul_reject_describe(const struct dul_reject *rj, char *buf, size_t size);
const char *dul_abort_reason_name(uint8_t source, uint8_t reason);

/* ------------------------------------------------------- association */

struct dul_outbuf {
    struct net_send send;
    struct dul_outbuf *next;
    size_t cap;                        /* bytes of data[] */
    size_t len;                        /* bytes written */
    size_t last_pdv;                   /* offset of the last PDV item (P-DATA), 0: none */
    bool pooled;                       /* P-DATA sized: back to the pool when sent */
    uint8_t data[];
};

/* What an event carries into its action. */
struct dul_fsm_arg {
    const uint8_t *pdu;                /* a received PDU, whole */
    size_t len;
    struct dul_associate *assoc_pdu;   /* decoded A-ASSOCIATE-RQ/AC */
    struct dul_decision *decision;     /* Evt7/Evt8 */
    uint8_t reason;                    /* A-ABORT reason for Evt19 and timeouts */
    const char *why;                   /* log text */
    bool mid_pdu;                      /* Evt17: the peer left in the middle of a PDU */
    enum dul_state from;               /* set by dul_fsm_fire */
    int rc;                            /* result for the caller of a primitive */
};

struct dul_assoc {
    struct net_loop *loop;
    struct net_conn *conn;
    struct dul_server *server;         /* acceptor side */
    struct dul_assoc *prev, *next;     /* server's list */
    struct dul_policy_c *policy;       /* acceptor side, a reference */
    enum dul_state state;
    bool requestor;

    uint32_t max_recv;                 /* P-DATA PDU-length we accept */
    uint32_t max_send;                 /* P-DATA PDU-length we send */
    uint32_t max_send_cap;             /* when the peer says 0 */
    uint32_t max_assoc_pdu;
    unsigned artim_ms, idle_ms, pdu_ms, reply_ms;
    struct net_timer artim, idle, pdu_timer, shrink;
    bool shrunk;                       /* the buffer's tail pages were given back */

    /* receive */
    uint8_t *rbuf;
    size_t rcap, rpos, rfill;
    size_t cur_len;                    /* size of the PDU at rpos, 0: header not read */
    size_t pdv_off;                    /* delivering the P-DATA at rpos from here */
    uint64_t skip;                     /* body bytes still to discard */
    bool paused;
    bool msg_done;                     /* the last PDV ended a message */
    bool release_answer_pending;       /* dul_release_response() came early (Sta10) */
    bool release_indicated;            /* on_release_requested awaits an answer */

    /* send */
    struct dul_outbuf *cur;            /* P-DATA PDU being filled */
    struct dul_outbuf *sent_head, *sent_tail;
    struct dul_outbuf *pool;
    unsigned pool_n;
    size_t queued;
    bool want_writable;

    /* negotiated */
    struct dul_assoc_info info;
    struct dul_context *contexts;
    uint8_t ctx_index[256];            /* 1 + index into contexts, accepted IDs only */

    /* requestor */
    uint8_t *rq_pdu;
    size_t rq_len;
    struct sockaddr_storage connect_addr;
    socklen_t connect_addrlen;
    unsigned connect_timeout_ms;

    const struct dul_assoc_ops *ops;
    void *arg;
    struct net_work resume_work;
    bool resume_queued;
    bool closing;                      /* net_conn_close was called */
    bool ended;                        /* the upper layer heard how it ended */
    bool shutting_down;
    char log_ctx[160];
};

/* assoc.c: I/O helpers for the actions */
void dul_io_send_pdu(struct dul_assoc *a, const uint8_t *pdu, size_t len);
void dul_io_send_abort(struct dul_assoc *a, uint8_t source, uint8_t reason);
void dul_io_flush(struct dul_assoc *a);
int dul_io_pdata(struct dul_assoc *a, uint8_t pc_id, bool command, bool last, const uint8_t *p,
                 size_t len);
void dul_io_close(struct dul_assoc *a);
void dul_io_read(struct dul_assoc *a);
void dul_timer_artim(struct dul_assoc *a, bool on);
void dul_timer_activity(struct dul_assoc *a);
void dul_notify_aborted(struct dul_assoc *a, bool by_peer, uint8_t source, uint8_t reason,
                        const char *why);
bool dul_same_peer_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* assoc.c */
struct dul_assoc *dul_assoc_new(struct net_loop *loop, bool requestor);
void dul_assoc_attach(struct dul_assoc *a, struct net_conn *c);
void dul_assoc_set_log_ctx(struct dul_assoc *a);
void dul_fsm_fire(struct dul_assoc *a, enum dul_event e, struct dul_fsm_arg *x);
void dul_assoc_provider_abort(struct dul_assoc *a, uint8_t reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern const struct net_conn_ops dul_conn_ops;

/* server.c: the acceptor's part of AE-6/AE-7 and the end of an association */
void dul_server_decide(struct dul_assoc *a, const struct dul_associate *rq,
                       struct dul_decision *d);
void dul_server_accepted(struct dul_assoc *a);
void dul_server_forget(struct dul_assoc *a);

#endif
