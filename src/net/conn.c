/* ferry — sockets on the ring: listeners, accept, receive, send, connect,
 * close. */
#include "net/net-private.h"

#include "base/error.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ addresses */

int net_addr_parse(const char *host, uint16_t port, struct sockaddr_storage *out,
                   socklen_t *outlen)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *outlen = sizeof *v4;
        return 0;
    }
    const char *h = host;
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        h = buf;
    }
    if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *outlen = sizeof *v6;
        return 0;
    }
    return -EINVAL;
}

void net_addr_format(const struct sockaddr_storage *sa, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, a, sizeof a);
        snprintf(buf, size, "%s:%u", a, ntohs(v4->sin_port));
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, a, sizeof a);
        snprintf(buf, size, "[%s]:%u", a, ntohs(v6->sin6_port));
    } else if (sa->ss_family == AF_UNIX) {
        snprintf(buf, size, "local");
    } else {
        snprintf(buf, size, "(unknown address family %d)", sa->ss_family);
    }
}

static void set_nodelay(int fd)
{
    /* Without it a peer that also leaves Nagle on waits ~40 ms for the
     * delayed ACK after every small PDU (a C-STORE-RSP, a command). */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---------------------------------------------------------- connections */

static void cancel_init(struct net_cancel *c, struct net_req *target, void *owner, bool listener)
{
    c->req.type = NET_REQ_CANCEL;
    c->target = target;
    c->owner = owner;
    c->listener = listener;
}

struct net_conn *net_conn_new(struct net_loop *l, int fd)
{
    struct net_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = l;
    c->fd = fd;
    c->recv_req.type = NET_REQ_RECV;
    c->send_req.type = NET_REQ_SEND;
    c->connect_req.type = NET_REQ_CONNECT;
    c->link_req.type = NET_REQ_LINK_TIMEOUT;
    cancel_init(&c->cancel_recv, &c->recv_req, c, false);
    cancel_init(&c->cancel_send, &c->send_req, c, false);
    cancel_init(&c->cancel_connect, &c->connect_req, c, false);
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    return c;
}

static void conn_unlink(struct net_conn *c)
{
    struct net_loop *l = c->loop;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->n_conns--;
}

static void conn_closed_fn(struct net_work *w)
{
    struct net_conn *c = ferry_container_of(w, struct net_conn, closed_work);
    struct net_loop *l = c->loop;
    if (c->ops && c->ops->on_closed)
        c->ops->on_closed(c, c->arg);
    conn_unlink(c);
    free(c);
    net_loop_maybe_drained(l);
}

/* Nothing in flight and close was asked for: close the socket now (close
 * of a socket does not block without SO_LINGER) and report from the loop. */
static void conn_maybe_finish(struct net_conn *c)
{
    if (!c->closing || c->inflight || c->closed_queued)
        return;
    c->closed_queued = true;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->closed_work.fn = conn_closed_fn;
    net_loop_defer(c->loop, &c->closed_work);
}

static void conn_cancel(struct net_conn *c, struct net_cancel *cc)
{
    bool queued_cancel;
    if (net_loop_cancel(c->loop, cc, &queued_cancel))
        c->inflight--; /* the target never reached the ring */
    if (queued_cancel)
        c->inflight++;
}

void net_conn_close(struct net_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    conn_cancel(c, &c->cancel_recv);
    conn_cancel(c, &c->cancel_send);
    /* The link timeout goes with its connect. */
    conn_cancel(c, &c->cancel_connect);
    conn_maybe_finish(c);
}

bool net_conn_closing(const struct net_conn *c)
{
    return c->closing;
}

void net_conn_set_ops(struct net_conn *c, const struct net_conn_ops *ops, void *arg)
{
    c->ops = ops;
    c->arg = arg;
}

const struct sockaddr_storage *net_conn_peer(const struct net_conn *c)
{
    return &c->peer;
}

const char *net_conn_peer_str(const struct net_conn *c)
{
    return c->peer_str;
}

int net_conn_fd(const struct net_conn *c)
{
    return c->fd;
}

static void conn_issue(struct net_conn *c, struct net_req *req)
{
    c->inflight++;
    net_loop_queue(c->loop, req);
}

int net_conn_recv(struct net_conn *c, void *buf, size_t len)
{
    if (c->closing)
        return -EPIPE;
    if (c->recv_req.in_flight || c->recv_req.queued)
        return -EBUSY;
    if (len == 0)
        return -EINVAL;
    c->recv_buf = buf;
    c->recv_len = len;
    conn_issue(c, &c->recv_req);
    return 0;
}

bool net_conn_recv_pending(const struct net_conn *c)
{
    return c->recv_req.in_flight || c->recv_req.queued;
}

int net_conn_send(struct net_conn *c, struct net_send *s)
{
    if (c->closing || c->broken)
        return -EPIPE;
    s->done = 0;
    s->next = NULL;
    bool idle = c->send_head == NULL;
    if (c->send_tail)
        c->send_tail->next = s;
    else
        c->send_head = s;
    c->send_tail = s;
    c->send_queued += s->len;
    if (idle)
        conn_issue(c, &c->send_req);
    return 0;
}

size_t net_conn_send_queued(const struct net_conn *c)
{
    return c->send_queued;
}

unsigned net_conn_prep(struct net_req *req, struct io_uring_sqe *sqe, struct io_uring_sqe *sqe2)
{
    switch (req->type) {
    case NET_REQ_RECV: {
        struct net_conn *c = ferry_container_of(req, struct net_conn, recv_req);
        if (sqe) {
            io_uring_prep_recv(sqe, c->fd, c->recv_buf, c->recv_len, 0);
            io_uring_sqe_set_data(sqe, req);
        }
        return 1;
    }
    case NET_REQ_SEND: {
        struct net_conn *c = ferry_container_of(req, struct net_conn, send_req);
        if (sqe) {
            struct net_send *s = c->send_head;
            /* MSG_NOSIGNAL: a peer that went away is an error code here,
             * not a SIGPIPE for the whole daemon. */
            io_uring_prep_send(sqe, c->fd, (const char *)s->buf + s->done, s->len - s->done,
                               MSG_NOSIGNAL);
            io_uring_sqe_set_data(sqe, req);
        }
        return 1;
    }
    case NET_REQ_CONNECT: {
        struct net_conn *c = ferry_container_of(req, struct net_conn, connect_req);
        unsigned n = c->connect_timeout_ms ? 2 : 1;
        if (sqe) {
            io_uring_prep_connect(sqe, c->fd, (const struct sockaddr *)&c->peer, c->peer_len);
            io_uring_sqe_set_data(sqe, req);
            if (n == 2) {
                /* The timeout cancels the connect if it has not finished;
                 * the connect then completes with -ECANCELED. */
                sqe->flags |= IOSQE_IO_LINK;
                c->connect_ts.tv_sec = c->connect_timeout_ms / 1000;
                c->connect_ts.tv_nsec = (long long)(c->connect_timeout_ms % 1000) * 1000000;
                io_uring_prep_link_timeout(sqe2, &c->connect_ts, 0);
                io_uring_sqe_set_data(sqe2, &c->link_req);
                c->link_req.in_flight = true;
            }
        }
        return n;
    }
    default:
        abort();
    }
}

void net_conn_complete_recv(struct net_conn *c, int res)
{
    c->inflight--;
    if (c->closing) {
        conn_maybe_finish(c);
        return;
    }
    if (c->ops && c->ops->on_recv)
        c->ops->on_recv(c, c->arg, res);
}

void net_conn_complete_send(struct net_conn *c, int res)
{
    c->inflight--;
    if (c->closing) {
        conn_maybe_finish(c);
        return;
    }
    struct net_send *s = c->send_head;
    if (res < 0 || res == 0) {
        /* 0 bytes for a non-empty send: the socket will not take more. */
        int err = res < 0 ? res : -EPIPE;
        c->broken = true;
        while (s) {
            struct net_send *next = s->next;
            c->send_head = next;
            if (!next)
                c->send_tail = NULL;
            c->send_queued -= s->len - s->done;
            if (c->ops && c->ops->on_sent)
                c->ops->on_sent(c, c->arg, s, err);
            if (c->closing)
                return; /* the callback closed the connection */
            err = -EPIPE;
            s = next;
        }
        return;
    }
    s->done += (size_t)res;
    c->send_queued -= (size_t)res;
    if (s->done < s->len) {
        conn_issue(c, &c->send_req); /* short send: the rest */
        return;
    }
    c->send_head = s->next;
    if (!c->send_head)
        c->send_tail = NULL;
    if (c->send_head)
        conn_issue(c, &c->send_req);
    if (c->ops && c->ops->on_sent)
        c->ops->on_sent(c, c->arg, s, 0);
}

void net_conn_complete_connect(struct net_conn *c, int res)
{
    c->inflight--;
    if (c->closing) {
        conn_maybe_finish(c);
        return;
    }
    if (res == -ECANCELED)
        res = -ETIMEDOUT; /* only the linked timeout cancels a connect we still want */
    if (res < 0) {
        if (c->ops && c->ops->on_connect)
            c->ops->on_connect(c, c->arg, res);
        net_conn_close(c);
        return;
    }
    if (c->ops && c->ops->on_connect)
        c->ops->on_connect(c, c->arg, 0);
}

void net_conn_complete_link(struct net_conn *c, int res)
{
    (void)res; /* -ETIME: it fired (the connect reports -ECANCELED); else it was not needed */
    c->inflight--;
    conn_maybe_finish(c);
}

void net_cancel_complete(struct net_cancel *cc, int res)
{
    (void)res; /* 0, -ENOENT (already done) or -EALREADY: all fine */
    if (cc->listener) {
        net_listener_maybe_free(cc->owner);
        return;
    }
    struct net_conn *c = cc->owner;
    c->inflight--;
    conn_maybe_finish(c);
}

struct net_conn *net_connect(struct net_loop *l, const struct sockaddr *addr, socklen_t addrlen,
                             unsigned timeout_ms, const struct net_conn_ops *ops, void *arg)
{
    if (addrlen > sizeof(struct sockaddr_storage)) {
        errno = EINVAL;
        return NULL;
    }
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return NULL;
    set_nodelay(fd);
    struct net_conn *c = net_conn_new(l, fd);
    if (!c) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    c->outbound = true;
    memcpy(&c->peer, addr, addrlen);
    c->peer_len = addrlen;
    net_addr_format(&c->peer, c->peer_str, sizeof c->peer_str);
    c->connect_timeout_ms = timeout_ms;
    c->ops = ops;
    c->arg = arg;
    c->inflight += timeout_ms ? 2 : 1;
    net_loop_queue(l, &c->connect_req);
    return c;
}

/* The ring is gone (nothing is in flight any more): close what is left and
 * let the owners free their side. */
void net_conn_free_all(struct net_loop *l)
{
    while (l->conns) {
        struct net_conn *c = l->conns;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        c->closing = true;
        if (c->ops && c->ops->on_closed)
            c->ops->on_closed(c, c->arg);
        conn_unlink(c);
        free(c);
    }
}

/* ------------------------------------------------------------ listeners */

static void listener_unlink(struct net_listener *li)
{
    struct net_loop *l = li->loop;
    if (li->prev)
        li->prev->next = li->next;
    else
        l->listeners = li->next;
    if (li->next)
        li->next->prev = li->prev;
}

/* Once nothing is in flight: a stopped listener closes its socket, a
 * listener its owner let go of is freed. */
void net_listener_maybe_free(struct net_listener *li)
{
    if (li->accept_req.in_flight || li->accept_req.queued || li->cancel_accept.req.in_flight ||
        li->cancel_accept.req.queued)
        return;
    if (li->stopped && li->fd >= 0) {
        close(li->fd);
        li->fd = -1;
    }
    if (!li->closing)
        return;
    listener_unlink(li);
    free(li);
}

static void listener_arm(struct net_listener *li)
{
    if (li->stopped || li->accept_req.in_flight || li->accept_req.queued)
        return;
    li->multishot = li->loop->has_multishot_accept;
    net_loop_queue(li->loop, &li->accept_req);
}

static void listener_retry(struct net_timer *t)
{
    listener_arm(ferry_container_of(t, struct net_listener, retry));
}

void net_listener_prep(struct net_listener *li, struct io_uring_sqe *sqe)
{
    /* The peer address comes from getpeername() afterwards: a multishot
     * accept has no per-connection address buffer. */
    if (li->multishot)
        io_uring_prep_multishot_accept(sqe, li->fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, li->fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &li->accept_req);
}

void net_listener_complete(struct net_listener *li, int res, unsigned flags)
{
    struct net_loop *l = li->loop;
    bool more = (flags & IORING_CQE_F_MORE) != 0;
    if (res < 0) {
        if (li->stopped) {
            net_listener_maybe_free(li);
            return;
        }
        if (res == -EINVAL && li->multishot) {
            /* The probe said yes but the kernel refused: accept one at a
             * time from now on. */
            l->has_multishot_accept = false;
            ferry_log(FERRY_LOG_WARN, "net",
                      "multishot accept refused by the kernel, accepting one connection at a time");
            listener_arm(li);
        } else if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
            /* Out of descriptors or memory: the connection waits in the
             * backlog; try again in a moment instead of spinning. */
            ferry_log(FERRY_LOG_WARN, "net", "accept on port %u: %s, retrying in 100 ms",
                      li->port, strerror(-res));
            if (!more)
                net_timer_arm(l, &li->retry, 100);
        } else if (res == -ECANCELED || res == -EINTR || res == -EAGAIN || res == -ECONNABORTED ||
                   res == -EPROTO || res == -EPERM) {
            if (!more)
                listener_arm(li);
        } else {
            ferry_log(FERRY_LOG_ERROR, "net", "accept on port %u: %s, retrying in 1 s", li->port,
                      strerror(-res));
            if (!more)
                net_timer_arm(l, &li->retry, 1000);
        }
        return;
    }
    if (li->stopped) {
        close(res);
        net_listener_maybe_free(li);
        return;
    }
    if (!more)
        listener_arm(li);
    int fd = res;
    set_nodelay(fd);
    struct net_conn *c = net_conn_new(l, fd);
    if (!c) {
        close(fd);
        return;
    }
    c->peer_len = sizeof c->peer;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) < 0)
        memset(&c->peer, 0, sizeof c->peer);
    net_addr_format(&c->peer, c->peer_str, sizeof c->peer_str);
    li->on_accept(li, li->arg, c);
    if (!c->ops)
        net_conn_close(c);
}

/* The listening socket li->fd is ready: record its port, link the listener
 * into the loop and start accepting. */
static void listener_start(struct net_loop *l, struct net_listener *li, net_accept_fn *on_accept,
                           void *arg)
{
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    memset(&bound, 0, sizeof bound);
    getsockname(li->fd, (struct sockaddr *)&bound, &blen);
    if (bound.ss_family == AF_INET)
        li->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    else if (bound.ss_family == AF_INET6)
        li->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
    li->loop = l;
    li->on_accept = on_accept;
    li->arg = arg;
    li->accept_req.type = NET_REQ_ACCEPT;
    cancel_init(&li->cancel_accept, &li->accept_req, li, true);
    net_timer_init(&li->retry, listener_retry);
    li->next = l->listeners;
    if (l->listeners)
        l->listeners->prev = li;
    l->listeners = li;
    listener_arm(li);
}

struct net_listener *net_listen_fd(struct net_loop *l, int fd, net_accept_fn *on_accept,
                                   void *arg)
{
    struct net_listener *li = calloc(1, sizeof *li);
    if (!li)
        return NULL;
    li->fd = fd;
    listener_start(l, li, on_accept, arg);
    return li;
}

struct net_listener *net_listen(struct net_loop *l, const char *host, uint16_t port, int backlog,
                                net_accept_fn *on_accept, void *arg, struct ferry_error **err)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (net_addr_parse(host, port, &sa, &salen) < 0) {
        ferry_error_set(err, -EINVAL, "listen: '%s' is not a numeric IPv4 or IPv6 address", host);
        return NULL;
    }
    struct net_listener *li = calloc(1, sizeof *li);
    if (!li) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    li->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (li->fd < 0) {
        ferry_error_set(err, -errno, "listen on %s port %u: socket: %s", host, port, strerror(errno));
        goto out_free;
    }
    int one = 1;
    setsockopt(li->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa.ss_family == AF_INET6)
        setsockopt(li->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(li->fd, (struct sockaddr *)&sa, salen) < 0) {
        ferry_error_set(err, -errno, "listen on %s port %u: bind: %s", host, port, strerror(errno));
        goto out_close;
    }
    if (listen(li->fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
        ferry_error_set(err, -errno, "listen on %s port %u: %s", host, port, strerror(errno));
        goto out_close;
    }
    listener_start(l, li, on_accept, arg);
    return li;

out_close:
    close(li->fd);
out_free:
    free(li);
    return NULL;
}

uint16_t net_listener_port(const struct net_listener *li)
{
    return li->port;
}

void net_listener_stop(struct net_listener *li)
{
    if (li->stopped)
        return;
    li->stopped = true;
    net_timer_cancel(li->loop, &li->retry);
    bool queued_cancel;
    net_loop_cancel(li->loop, &li->cancel_accept, &queued_cancel);
    net_listener_maybe_free(li);
}

void net_listener_close(struct net_listener *li)
{
    if (li->closing)
        return;
    li->closing = true;
    if (li->stopped)
        net_listener_maybe_free(li);
    else
        net_listener_stop(li);
}

void net_listener_free_all(struct net_loop *l)
{
    while (l->listeners) {
        struct net_listener *li = l->listeners;
        l->listeners = li->next;
        if (li->fd >= 0)
            close(li->fd);
        free(li);
    }
}
