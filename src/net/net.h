/* ferry — the network core: one io_uring ring driven by one network thread.
 *
 * net knows sockets, timers and files; it does not know DICOM. Everything in
 * this header runs on the network thread (the thread that calls
 * net_loop_run()), except net_loop_post(), which any thread may call.
 *
 * Callbacks are never called from inside the function that caused them: a
 * completion always arrives from net_loop_run(), so a caller may free what it
 * likes after a call returns. An object with operations in flight stays
 * alive until its last completion; net frees its own objects then (a
 * connection after on_closed returns, a listener after its accept is
 * cancelled, a file operation after its callback).
 *
 * Errors are negative errno values, as in cqe->res.
 */
#ifndef FERRY_NET_NET_H
#define FERRY_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct ferry_error;
struct net_loop;
struct net_conn;
struct net_listener;

/* ---------------------------------------------------------------- loop */

struct net_loop_options {
    unsigned sq_entries;   /* submission queue size; 0: 1024 */
    bool quiet;            /* do not write the start-up log line */
    /* Behave as on a kernel without multishot accept (< 5.19): one accept
     * at a time, re-armed. For tests of that path. */
    bool single_accept;
};

/* A new loop with its ring, eventfd and timer. opt may be NULL. Writes one
 * info line naming the setup flags and features in use (unless quiet).
 * Returns NULL and sets *err when the kernel lacks something net cannot do
 * without (io_uring itself, or an opcode older than Linux 5.11). */
struct net_loop *net_loop_new(const struct net_loop_options *opt, struct ferry_error **err);

/* Frees the loop, from the thread that ran it, after net_loop_run() has
 * returned (and after the owners of listeners, such as a dul_server, have
 * let go of them). Connections still open are closed through the ring and
 * their on_closed called; file operations in flight are waited for (at most
 * 2 s in all); then the ring goes. Accepts NULL. */
void net_loop_free(struct net_loop *loop);

/* Run until net_loop_stop(). The thread that first calls it owns the ring
 * (IORING_SETUP_SINGLE_ISSUER): always run a loop from the same thread.
 * Returns 0, or a negative errno if io_uring_enter failed for good. */
int net_loop_run(struct net_loop *loop);

/* One round: submit, wait at most timeout_ms (-1: until something happens,
 * 0: do not wait) for completions, dispatch them, run expired timers and
 * deferred work. For tests and for callers with their own outer loop. */
int net_loop_run_once(struct net_loop *loop, int timeout_ms);

/* Make net_loop_run() return after the current round. Network thread only
 * (from another thread, post a work item that calls it). */
void net_loop_stop(struct net_loop *loop);

/* The setup flags and features in use, as written in the start-up line.
 * Borrowed from loop. */
const char *net_loop_describe(const struct net_loop *loop);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t net_now_ms(void);

/* Stop accepting (every listener closes its socket; the listener objects
 * stay valid for their owners' net_listener_close()), let connections
 * finish, and after
 * deadline_ms close those that remain. When no connection and no file
 * operation is left, call done(arg), or stop the loop if done is NULL. */
void net_loop_drain(struct net_loop *loop, unsigned deadline_ms,
                    void (*done)(void *arg), void *arg);

/* Open connections and operations in flight (for tests and /metrics). */
size_t net_loop_conn_count(const struct net_loop *loop);
size_t net_loop_inflight(const struct net_loop *loop);

/* ----------------------------------------------------- work and wake-ups */

/* A closure, embedded by its owner in whatever object it belongs to. The
 * owner keeps it alive until fn has been called. */
struct net_work {
    struct net_work *next;     /* private to net */
    void (*fn)(struct net_work *w);
};

/* From any thread: run w->fn on the network thread soon. Lock-free for the
 * caller apart from a short mutex; wakes the ring through an eventfd read
 * when the queue was empty. Never fails. */
void net_loop_post(struct net_loop *loop, struct net_work *w);

/* From the network thread: run w->fn after the current callback has
 * returned, in this round, before the loop waits again. */
void net_loop_defer(struct net_loop *loop, struct net_work *w);

/* --------------------------------------------------------------- timers */

/* A timer lives in its owner's memory. Timers are kept in a pairing heap in
 * user space; one IORING_OP_TIMEOUT (absolute, CLOCK_MONOTONIC) is armed
 * for the earliest deadline and moved with IORING_TIMEOUT_UPDATE when an
 * earlier one appears. Arming, re-arming and cancelling are therefore a few
 * pointer moves, never a system call, and never fail; a cancelled timer has
 * nothing in flight, so its owner may be freed at once. */
struct net_timer {
    uint64_t deadline_ns;                       /* private */
    struct net_timer *child, *next, *prev;      /* private: heap links */
    bool armed;                                 /* private */
    void (*fn)(struct net_timer *t);
};

void net_timer_init(struct net_timer *t, void (*fn)(struct net_timer *t));
/* (Re-)arm t to fire once, ms milliseconds from now. */
void net_timer_arm(struct net_loop *loop, struct net_timer *t, uint64_t ms);
/* Disarm; no-op when t is not armed. */
void net_timer_cancel(struct net_loop *loop, struct net_timer *t);
bool net_timer_armed(const struct net_timer *t);

/* ---------------------------------------------------------- connections */

/* One send: the caller fills buf and len and keeps the memory (and this
 * struct) alive until on_sent reports it. Sends on one connection go out in
 * the order they were queued; net resubmits the rest of a short send. */
struct net_send {
    const void *buf;
    size_t len;
    size_t done;               /* private: bytes sent so far */
    struct net_send *next;     /* private: queue link */
};

struct net_conn_ops {
    /* Outbound connections only: the connect finished. res 0, -ETIMEDOUT
     * (the timeout passed), or another negative errno. After an error the
     * connection is closed (on_closed follows). */
    void (*on_connect)(struct net_conn *c, void *arg, int res);
    /* A receive finished: res > 0 bytes were written at the buffer given to
     * net_conn_recv(); 0 the peer closed its side; < 0 an error
     * (-ECONNRESET ...). The caller decides whether to receive again. */
    void (*on_recv)(struct net_conn *c, void *arg, ssize_t res);
    /* A queued send finished: res 0 (all of s went out) or a negative errno
     * (then the rest of the queue fails with -EPIPE, in order). */
    void (*on_sent)(struct net_conn *c, void *arg, struct net_send *s, int res);
    /* The last callback: the socket is closed, nothing is in flight, and no
     * other callback will follow. The connection is freed when it returns. */
    void (*on_closed)(struct net_conn *c, void *arg);
};

/* Callbacks and their argument (both borrowed, kept until on_closed). Set
 * them in on_accept; a connection accepted without ops is closed. */
void net_conn_set_ops(struct net_conn *c, const struct net_conn_ops *ops, void *arg);

/* Receive once into buf (borrowed until on_recv). At most one receive is in
 * flight per connection: -EBUSY if one is, -EPIPE if the connection is
 * closing. Not receiving is how a caller applies backpressure. */
int net_conn_recv(struct net_conn *c, void *buf, size_t len);
bool net_conn_recv_pending(const struct net_conn *c);

/* Queue s (borrowed until on_sent). -EPIPE if the connection is closing or
 * broken; then the caller keeps s and no callback follows. */
int net_conn_send(struct net_conn *c, struct net_send *s);
/* Bytes queued and not yet sent. */
size_t net_conn_send_queued(const struct net_conn *c);

/* Close: cancel what is in flight (their callbacks are not called), close
 * the socket, then call on_closed from the loop. Idempotent. */
void net_conn_close(struct net_conn *c);
bool net_conn_closing(const struct net_conn *c);

/* The peer's address and its text form "10.0.0.5:40112" / "[::1]:40112".
 * Borrowed from c. */
const struct sockaddr_storage *net_conn_peer(const struct net_conn *c);
const char *net_conn_peer_str(const struct net_conn *c);
int net_conn_fd(const struct net_conn *c);

/* Connect to addr (copied) with TCP_NODELAY, in IORING_OP_CONNECT linked to
 * an IORING_OP_LINK_TIMEOUT of timeout_ms (0: no timeout). ops->on_connect
 * reports the outcome. Returns NULL with errno set when no socket could be
 * made (EMFILE ...) or memory ran out. */
struct net_conn *net_connect(struct net_loop *loop, const struct sockaddr *addr,
                             socklen_t addrlen, unsigned timeout_ms,
                             const struct net_conn_ops *ops, void *arg);

/* Numeric addresses only (no DNS: a resolver blocks). "127.0.0.1", "::1",
 * "0.0.0.0", "::". 0 or -EINVAL. */
int net_addr_parse(const char *host, uint16_t port, struct sockaddr_storage *out,
                   socklen_t *outlen);
/* "10.0.0.5:40112" or "[::1]:40112" (or "local" for a Unix socket) into buf
 * (at least 64 bytes). */
void net_addr_format(const struct sockaddr_storage *sa, char *buf, size_t size);

/* ------------------------------------------------------------ listeners */

/* A connection arrived (TCP_NODELAY already set). The callee calls
 * net_conn_set_ops() or net_conn_close(). */
typedef void net_accept_fn(struct net_listener *l, void *arg, struct net_conn *c);

/* Listen on host (numeric, see net_addr_parse) and port (0: any free port).
 * IPv6 listeners are IPV6_V6ONLY, so "0.0.0.0" and "::" can both be bound.
 * SO_REUSEADDR is set. Accepts through a multishot IORING_OP_ACCEPT when the
 * kernel has it (5.19), else one accept at a time, re-armed. */
struct net_listener *net_listen(struct net_loop *loop, const char *host, uint16_t port,
                                int backlog, net_accept_fn *on_accept, void *arg,
                                struct ferry_error **err);
/* Accept on a socket the caller made, bound and put in listening state
 * (a Unix socket for a control channel, say); fd is taken over: the listener
 * closes it. Connections are set up as for net_listen() (TCP_NODELAY is
 * tried and harmlessly fails on non-TCP sockets; the peer's text form of a
 * Unix socket is "local"). NULL when out of memory (fd is left open). */
struct net_listener *net_listen_fd(struct net_loop *loop, int fd, net_accept_fn *on_accept,
                                   void *arg);
/* The port listened on; 0 for a socket that is not TCP. */
uint16_t net_listener_port(const struct net_listener *l);
/* Stop accepting and close the socket; the listener is freed once its
 * accept is no longer in flight. on_accept is not called again. */
void net_listener_close(struct net_listener *l);

/* ---------------------------------------------------------------- files */

/* Generic async file operations through the same ring, so that the network
 * thread never blocks on disk. Each returns 0 and later calls cb(arg, res)
 * exactly once from the loop, or returns -ENOMEM and never calls cb. Paths
 * are copied; buffers are borrowed until cb. */
typedef void net_file_fn(void *arg, int res);

/* res: the new fd or -errno. */
int net_file_openat(struct net_loop *loop, int dirfd, const char *path, int flags,
                    mode_t mode, net_file_fn *cb, void *arg);
/* Writes all len bytes at off (short writes are resubmitted); res 0 or
 * -errno (-ENOSPC ...). */
int net_file_write(struct net_loop *loop, int fd, const void *buf, size_t len,
                   uint64_t off, net_file_fn *cb, void *arg);
/* Reads until len bytes or end of file; res: bytes read or -errno. */
int net_file_read(struct net_loop *loop, int fd, void *buf, size_t len, uint64_t off,
                  net_file_fn *cb, void *arg);
/* fsync (datasync: fdatasync). */
int net_file_fsync(struct net_loop *loop, int fd, bool datasync, net_file_fn *cb, void *arg);
/* sync_file_range(2) (IORING_OP_SYNC_FILE_RANGE, Linux 5.2): with
 * SYNC_FILE_RANGE_WRITE it starts writeback of [off, off + len) without
 * waiting for it, so that a later fdatasync has little left to write. len 0
 * means to the end of the file. It makes nothing durable by itself. */
int net_file_sync_range(struct net_loop *loop, int fd, uint64_t off, uint32_t len,
                        unsigned flags, net_file_fn *cb, void *arg);
int net_file_close(struct net_loop *loop, int fd, net_file_fn *cb, void *arg);
int net_file_renameat(struct net_loop *loop, int olddirfd, const char *oldpath, int newdirfd,
                      const char *newpath, unsigned flags, net_file_fn *cb, void *arg);
int net_file_unlinkat(struct net_loop *loop, int dirfd, const char *path, int flags,
                      net_file_fn *cb, void *arg);
/* IORING_OP_MKDIRAT needs Linux 5.15; on older kernels this runs mkdirat(2)
 * on the network thread (directories are made rarely) and says so in the
 * start-up line. */
int net_file_mkdirat(struct net_loop *loop, int dirfd, const char *path, mode_t mode,
                     net_file_fn *cb, void *arg);

#endif
