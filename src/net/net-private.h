/* ferry — net internals shared by loop.c, conn.c, timer.c and file.c. */
#ifndef FERRY_NET_PRIVATE_H
#define FERRY_NET_PRIVATE_H

#include "net/net.h"

#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>

#include "base/util.h"


/* What a request object is; the dispatch switch in loop.c keys on it. */
enum net_req_type {
    NET_REQ_NONE = 0,
    NET_REQ_ACCEPT,        /* struct net_listener.accept_req */
    NET_REQ_RECV,          /* struct net_conn.recv_req */
    NET_REQ_SEND,          /* struct net_conn.send_req */
    NET_REQ_CONNECT,       /* struct net_conn.connect_req (+ link timeout SQE) */
    NET_REQ_LINK_TIMEOUT,  /* struct net_conn.link_req */
    NET_REQ_TIMEOUT,       /* struct net_loop.timeout_req: the one ring timer */
    NET_REQ_TIMEOUT_UPDATE,/* struct net_loop.update_req */
    NET_REQ_WAKE,          /* struct net_loop.wake_req: eventfd read */
    NET_REQ_FILE,          /* struct net_fileop.req */
    NET_REQ_CANCEL,        /* struct net_cancel.req, embedded in its owner */
};

/* Every SQE's user_data points at one of these, embedded in its owner. */
struct net_req {
    uint8_t type;
    bool in_flight;
    bool queued;               /* waiting in the overflow list for an SQE */
    struct net_req *next;      /* overflow list link */
};

/* An IORING_OP_ASYNC_CANCEL of one request. It is embedded in the same
 * object as its target and counted among that object's requests, so the
 * object (and therefore the target's address, which is the cancel's key)
 * lives until the cancel has completed too: a cancel can never hit a new
 * request that happens to reuse a freed address. */
struct net_cancel {
    struct net_req req;
    struct net_req *target;
    void *owner;               /* struct net_conn or struct net_listener */
    bool listener;
};

struct net_conn {
    struct net_loop *loop;
    int fd;
    unsigned inflight;         /* requests of this connection queued or in flight */
    bool closing;              /* net_conn_close() was called */
    bool closed_queued;        /* on_closed is scheduled */
    bool broken;               /* a send failed: later sends fail too */
    bool outbound;

    const struct net_conn_ops *ops;
    void *arg;

    struct net_req recv_req;
    void *recv_buf;
    size_t recv_len;

    struct net_req send_req;
    struct net_send *send_head, *send_tail;
    size_t send_queued;

    struct net_req connect_req;
    struct net_req link_req;
    struct net_cancel cancel_recv, cancel_send, cancel_connect;
    struct __kernel_timespec connect_ts;
    unsigned connect_timeout_ms;

    struct net_work closed_work;   /* runs on_closed from the loop */
    struct net_conn *prev, *next;  /* loop's list of connections */

    struct sockaddr_storage peer;
    socklen_t peer_len;
    char peer_str[64];
};

struct net_listener {
    struct net_loop *loop;
    int fd;
    uint16_t port;
    bool stopped;              /* accepts no more; the socket closes once idle */
    bool closing;              /* the owner let go: freed once idle */
    bool multishot;            /* the accept in flight is multishot */
    net_accept_fn *on_accept;
    void *arg;
    struct net_req accept_req;
    struct net_cancel cancel_accept;
    struct net_timer retry;    /* re-arm after EMFILE/ENFILE/ENOMEM */
    struct net_listener *prev, *next;
};

enum net_file_op {
    NET_FOP_OPENAT, NET_FOP_WRITE, NET_FOP_READ, NET_FOP_FSYNC, NET_FOP_CLOSE,
    NET_FOP_RENAMEAT, NET_FOP_UNLINKAT, NET_FOP_MKDIRAT, NET_FOP_SYNC_RANGE,
};

struct net_fileop {
    struct net_req req;
    struct net_loop *loop;
    uint8_t op;
    int fd;                    /* fd, or dirfd for path operations */
    int fd2;                   /* new dirfd for rename */
    int flags;
    mode_t mode;
    void *buf;
    size_t len, done;
    uint64_t off;
    net_file_fn *cb;
    void *arg;
    int sync_res;              /* result of a synchronous fallback */
    struct net_work sync_work;
    const char *path, *path2;  /* into storage[] */
    struct net_fileop *prev, *next;   /* loop's list, for net_loop_free */
    char storage[];
};

struct net_loop {
    struct io_uring ring;
    bool ring_ok;
    bool enabled;              /* IORING_SETUP_R_DISABLED has been lifted */
    bool stop;
    unsigned setup_flags;
    unsigned features;

    /* probed capabilities */
    bool has_multishot_accept;
    bool has_mkdirat;
    bool has_msg_ring;
    bool has_fast_poll;

    unsigned inflight;         /* SQEs submitted whose CQE has not come back */

    /* requests that did not get an SQE (SQ full) */
    struct net_req *overflow_head, *overflow_tail;

    /* timers: pairing heap + the one ring timeout */
    struct net_timer *timer_root;
    struct net_req timeout_req;
    struct net_req update_req;
    struct __kernel_timespec timeout_ts, update_ts;
    uint64_t armed_deadline_ns;  /* deadline of the ring timeout in flight */

    /* deferred work (network thread) */
    struct net_work *defer_head, *defer_tail;

    /* cross-thread posts */
    pthread_mutex_t post_lock;
    struct net_work *post_head, *post_tail;
    int efd;
    uint64_t efd_buf;
    struct net_req wake_req;

    struct net_conn *conns;
    size_t n_conns;
    struct net_listener *listeners;
    size_t file_ops;           /* file operations not yet reported */
    struct net_fileop *fileops;

    /* drain */
    bool draining;
    struct net_timer drain_timer;
    void (*drain_done)(void *arg);
    void *drain_arg;
    struct net_work drain_check;
    bool drain_check_queued;

    char describe[512];
};

/* loop.c: hand a request to the ring (or to the overflow list when the SQ is
 * full); the SQE is prepared from the request's owner by net_req_prep(). */
void net_loop_queue(struct net_loop *loop, struct net_req *req);
/* loop.c: cancel c->target. Returns true when the target had not reached
 * the ring yet and was simply taken off the overflow list (the caller counts
 * it as done); false when the cancel itself was queued (its completion goes
 * to the owner) or there was nothing to cancel. */
bool net_loop_cancel(struct net_loop *loop, struct net_cancel *c, bool *queued_cancel);
/* loop.c: the drain bookkeeping after a connection or file op went away. */
void net_loop_maybe_drained(struct net_loop *loop);

/* Prepare sqe (and, for a connect with timeout, the linked timeout SQE that
 * follows it) from the owner of req. Returns the number of SQEs it needs:
 * called first with sqe == NULL to ask. */
unsigned net_conn_prep(struct net_req *req, struct io_uring_sqe *sqe, struct io_uring_sqe *sqe2);
void net_listener_prep(struct net_listener *l, struct io_uring_sqe *sqe);
void net_fileop_prep(struct net_fileop *op, struct io_uring_sqe *sqe);

/* Completion handlers, called from the dispatch switch. */
void net_listener_complete(struct net_listener *l, int res, unsigned flags);
void net_conn_complete_recv(struct net_conn *c, int res);
void net_conn_complete_send(struct net_conn *c, int res);
void net_conn_complete_connect(struct net_conn *c, int res);
void net_conn_complete_link(struct net_conn *c, int res);
void net_fileop_complete(struct net_fileop *op, int res);
void net_cancel_complete(struct net_cancel *c, int res);

/* timer.c */
void net_timers_expire(struct net_loop *loop);
uint64_t net_now_ns(void);

/* conn.c */
struct net_conn *net_conn_new(struct net_loop *loop, int fd);
void net_conn_free_all(struct net_loop *loop);
void net_listener_free_all(struct net_loop *loop);
void net_listener_maybe_free(struct net_listener *l);
void net_listener_stop(struct net_listener *l);
void net_fileop_free_all(struct net_loop *loop);

#endif
