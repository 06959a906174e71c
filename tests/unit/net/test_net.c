/* Unit tests of net: the ring, timers, wake-ups, sockets, files, drain. */
#include "base/error.h"
#include "net/net.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct net_loop *new_loop(void)
{
    struct ferry_error *err = NULL;
    struct net_loop_options opt = { .quiet = true };
    struct net_loop *l = net_loop_new(&opt, &err);
    ck_assert_msg(l != NULL, "net_loop_new: %s", ferry_error_message(err));
    return l;
}

/* Run rounds until *flag or the time limit; returns whether flag was set. */
static bool run_until(struct net_loop *l, const bool *flag, unsigned limit_ms)
{
    uint64_t end = net_now_ms() + limit_ms;
    while (!*flag && net_now_ms() < end)
        ck_assert_int_eq(net_loop_run_once(l, 50), 0);
    return *flag;
}

/* ---------------------------------------------------------------- loop */

START_TEST(test_loop_describe)
{
    struct net_loop *l = new_loop();
    const char *d = net_loop_describe(l);
    ck_assert_msg(strstr(d, "io_uring: sq 1024 cq 4096, flags ") == d, "%s", d);
    ck_assert_msg(strstr(d, "accept ") != NULL, "%s", d);
    net_loop_free(l);
}
END_TEST

/* ---------------------------------------------------------------- timers */

struct tstate {
    struct net_timer t[5];
    int order[5];
    int n;
    bool done;
};

static struct tstate *g_ts;

static void timer_fn(struct net_timer *t)
{
    int i = (int)(t - g_ts->t);
    g_ts->order[g_ts->n++] = i;
    if (g_ts->n == 3)
        g_ts->done = true;
}

START_TEST(test_timer_order_and_cancel)
{
    struct net_loop *l = new_loop();
    struct tstate ts = { 0 };
    g_ts = &ts;
    for (int i = 0; i < 5; i++)
        net_timer_init(&ts.t[i], timer_fn);
    net_timer_arm(l, &ts.t[0], 120);
    net_timer_arm(l, &ts.t[1], 40);
    net_timer_arm(l, &ts.t[2], 80);
    net_timer_arm(l, &ts.t[3], 10);
    net_timer_arm(l, &ts.t[4], 60);
    net_timer_cancel(l, &ts.t[4]);
    net_timer_arm(l, &ts.t[3], 100); /* re-arm moves it later */
    ck_assert(!net_timer_armed(&ts.t[4]));
    ck_assert(net_timer_armed(&ts.t[3]));
    uint64_t start = net_now_ms();
    ck_assert(run_until(l, &ts.done, 2000));
    uint64_t took = net_now_ms() - start;
    ck_assert_int_eq(ts.order[0], 1);
    ck_assert_int_eq(ts.order[1], 2);
    ck_assert_int_eq(ts.order[2], 3);
    ck_assert_msg(took >= 95 && took < 1000, "took %llu ms", (unsigned long long)took);
    /* t[0] is still due */
    ts.done = false;
    ts.n = 2;
    ck_assert(run_until(l, &ts.done, 2000));
    ck_assert_int_eq(ts.order[2], 0);
    net_loop_free(l);
}
END_TEST

/* An earlier timer armed while the ring timeout waits for a later one must
 * pull it forward (IORING_TIMEOUT_UPDATE). */
START_TEST(test_timer_earlier_update)
{
    struct net_loop *l = new_loop();
    struct tstate ts = { 0 };
    g_ts = &ts;
    for (int i = 0; i < 5; i++)
        net_timer_init(&ts.t[i], timer_fn);
    net_timer_arm(l, &ts.t[0], 5000);
    ck_assert_int_eq(net_loop_run_once(l, 0), 0); /* the 5 s timeout is in the ring */
    net_timer_arm(l, &ts.t[1], 30);
    net_timer_arm(l, &ts.t[2], 31);
    net_timer_arm(l, &ts.t[3], 32);
    uint64_t start = net_now_ms();
    /* wait without a limit of our own: only the ring timeout can wake us */
    while (ts.n < 3 && net_now_ms() - start < 3000)
        ck_assert_int_eq(net_loop_run_once(l, -1), 0);
    ck_assert_int_eq(ts.n, 3);
    ck_assert_msg(net_now_ms() - start < 1000, "woke after %llu ms",
                  (unsigned long long)(net_now_ms() - start));
    net_timer_cancel(l, &ts.t[0]);
    net_loop_free(l);
}
END_TEST

/* ------------------------------------------------------------- wake-ups */

struct post_state {
    struct net_work w[100];
    int count;
    struct net_loop *loop;
};

static struct post_state *g_ps;

static void post_fn(struct net_work *w)
{
    (void)w;
    g_ps->count++;
}

static void *poster(void *arg)
{
    struct post_state *ps = arg;
    for (int i = 0; i < 100; i++) {
        ps->w[i].fn = post_fn;
        net_loop_post(ps->loop, &ps->w[i]);
        if (i % 10 == 0)
            usleep(1000);
    }
    return NULL;
}

START_TEST(test_post_from_thread)
{
    struct net_loop *l = new_loop();
    struct post_state ps = { .loop = l };
    g_ps = &ps;
    pthread_t th;
    pthread_create(&th, NULL, poster, &ps);
    uint64_t end = net_now_ms() + 3000;
    while (ps.count < 100 && net_now_ms() < end)
        ck_assert_int_eq(net_loop_run_once(l, -1), 0); /* only the eventfd wakes us */
    pthread_join(th, NULL);
    ck_assert_int_eq(ps.count, 100);
    net_loop_free(l);
}
END_TEST

static int defer_count;
static void defer_fn(struct net_work *w)
{
    (void)w;
    defer_count++;
}

START_TEST(test_defer)
{
    struct net_loop *l = new_loop();
    struct net_work w = { .fn = defer_fn };
    defer_count = 0;
    net_loop_defer(l, &w);
    ck_assert_int_eq(defer_count, 0); /* never from inside the call */
    ck_assert_int_eq(net_loop_run_once(l, 0), 0);
    ck_assert_int_eq(defer_count, 1);
    net_loop_free(l);
}
END_TEST

/* ------------------------------------------------------------- sockets */

#define BIG (8u << 20)

struct side {
    struct net_conn *c;
    uint8_t *rbuf;
    size_t rlen, rcap;
    bool eof, closed, connected, sent;
    int connect_res, sent_res;
    struct net_send s;
};

struct pair {
    struct net_loop *loop;
    struct net_listener *li;
    struct side srv, cli;
};

static struct pair *g_pair;

static void side_recv_more(struct side *sd)
{
    if (sd->rlen < sd->rcap)
        ck_assert_int_eq(net_conn_recv(sd->c, sd->rbuf + sd->rlen, sd->rcap - sd->rlen), 0);
}

static void on_recv(struct net_conn *c, void *arg, ssize_t res)
{
    (void)c;
    struct side *sd = arg;
    if (res <= 0) {
        sd->eof = true;
        return;
    }
    sd->rlen += (size_t)res;
    side_recv_more(sd);
}

static void on_sent(struct net_conn *c, void *arg, struct net_send *s, int res)
{
    (void)c;
    (void)s;
    struct side *sd = arg;
    sd->sent = true;
    sd->sent_res = res;
}

static void on_connect(struct net_conn *c, void *arg, int res)
{
    (void)c;
    struct side *sd = arg;
    sd->connected = true;
    sd->connect_res = res;
}

static void on_closed(struct net_conn *c, void *arg)
{
    (void)c;
    struct side *sd = arg;
    sd->closed = true;
    sd->c = NULL;
}

static const struct net_conn_ops side_ops = {
    .on_connect = on_connect, .on_recv = on_recv, .on_sent = on_sent, .on_closed = on_closed,
};

static void on_accept(struct net_listener *li, void *arg, struct net_conn *c)
{
    (void)li;
    struct pair *p = arg;
    p->srv.c = c;
    net_conn_set_ops(c, &side_ops, &p->srv);
    side_recv_more(&p->srv);
}

static bool single_accept;

static void pair_open(struct pair *p, const char *host)
{
    struct ferry_error *err = NULL;
    memset(p, 0, sizeof *p);
    g_pair = p;
    struct net_loop_options opt = { .quiet = true, .single_accept = single_accept };
    p->loop = net_loop_new(&opt, &err);
    ck_assert_msg(p->loop, "%s", ferry_error_message(err));
    p->li = net_listen(p->loop, host, 0, 16, on_accept, p, &err);
    ck_assert_msg(p->li != NULL, "%s", ferry_error_message(err));
    ck_assert_uint_ne(net_listener_port(p->li), 0);
    struct sockaddr_storage sa;
    socklen_t len;
    ck_assert_int_eq(net_addr_parse(host, net_listener_port(p->li), &sa, &len), 0);
    p->cli.c = net_connect(p->loop, (struct sockaddr *)&sa, len, 2000, &side_ops, &p->cli);
    ck_assert_ptr_nonnull(p->cli.c);
    ck_assert(run_until(p->loop, &p->cli.connected, 3000));
    ck_assert_int_eq(p->cli.connect_res, 0);
    bool have_srv = false;
    uint64_t end = net_now_ms() + 3000;
    while (!p->srv.c && net_now_ms() < end)
        net_loop_run_once(p->loop, 50);
    have_srv = p->srv.c != NULL;
    ck_assert(have_srv);
}

static void pair_close(struct pair *p)
{
    if (p->cli.c)
        net_conn_close(p->cli.c);
    if (p->srv.c)
        net_conn_close(p->srv.c);
    net_listener_close(p->li);
    ck_assert(run_until(p->loop, &p->cli.closed, 3000));
    ck_assert(run_until(p->loop, &p->srv.closed, 3000));
    for (int i = 0; i < 5; i++)
        net_loop_run_once(p->loop, 0);
    ck_assert_uint_eq(net_loop_conn_count(p->loop), 0);
    net_loop_free(p->loop);
    free(p->srv.rbuf);
    free(p->cli.rbuf);
}

static void big_transfer(const char *host)
{
    struct pair p;
    pair_open(&p, host);
    uint8_t *data = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 13));
    p.srv.rbuf = malloc(BIG + 1);
    p.srv.rcap = BIG + 1; /* one more, so that a receive stays armed to see EOF */
    side_recv_more(&p.srv);
    p.cli.s.buf = data;
    p.cli.s.len = BIG;
    ck_assert_int_eq(net_conn_send(p.cli.c, &p.cli.s), 0);
    ck_assert_uint_eq(net_conn_send_queued(p.cli.c), BIG);
    ck_assert(run_until(p.loop, &p.cli.sent, 10000));
    ck_assert_int_eq(p.cli.sent_res, 0);
    ck_assert_uint_eq(net_conn_send_queued(p.cli.c), 0);
    uint64_t end = net_now_ms() + 10000;
    while (p.srv.rlen < BIG && net_now_ms() < end)
        net_loop_run_once(p.loop, 50);
    ck_assert_uint_eq(p.srv.rlen, BIG);
    ck_assert(memcmp(p.srv.rbuf, data, BIG) == 0);
    /* peer close is seen as EOF */
    net_conn_close(p.cli.c);
    ck_assert(run_until(p.loop, &p.srv.eof, 3000));
    free(data);
    pair_close(&p);
}

START_TEST(test_tcp_v4_big_send)
{
    big_transfer("127.0.0.1");
}
END_TEST

/* Every TCP socket, accepted or connected, has Nagle off (issue 3: a peer
 * that leaves Nagle on would otherwise wait ~40 ms per small PDU). */
START_TEST(test_tcp_nodelay)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    struct net_conn *conns[2] = { p.srv.c, p.cli.c };
    for (int i = 0; i < 2; i++) {
        int v = 0;
        socklen_t n = sizeof v;
        ck_assert_int_eq(getsockopt(net_conn_fd(conns[i]), IPPROTO_TCP, TCP_NODELAY, &v, &n), 0);
        ck_assert_msg(v != 0, "TCP_NODELAY is off on the %s socket", i ? "connected" : "accepted");
    }
    pair_close(&p);
}
END_TEST

/* The path for kernels without multishot accept: one accept at a time,
 * re-armed after each; several connections in a row all get through. */
START_TEST(test_single_accept)
{
    single_accept = true;
    struct pair p;
    pair_open(&p, "127.0.0.1");
    ck_assert_msg(strstr(net_loop_describe(p.loop), "accept one at a time") != NULL, "%s",
                  net_loop_describe(p.loop));
    struct net_conn *orig = p.srv.c; /* the server side of p.cli */
    for (int i = 0; i < 3; i++) {
        struct side extra = { 0 };
        struct sockaddr_storage sa;
        socklen_t len;
        net_addr_parse("127.0.0.1", net_listener_port(p.li), &sa, &len);
        struct net_conn *before = p.srv.c;
        extra.c = net_connect(p.loop, (struct sockaddr *)&sa, len, 2000, &side_ops, &extra);
        ck_assert(run_until(p.loop, &extra.connected, 3000));
        ck_assert_int_eq(extra.connect_res, 0);
        uint64_t end = net_now_ms() + 3000;
        while (p.srv.c == before && net_now_ms() < end)
            net_loop_run_once(p.loop, 20);
        ck_assert_ptr_ne(p.srv.c, before); /* accepted: on_accept ran again */
        net_conn_close(extra.c);
        net_conn_close(p.srv.c);
        ck_assert(run_until(p.loop, &extra.closed, 3000));
        ck_assert(run_until(p.loop, &p.srv.closed, 3000));
        p.srv.closed = false;
    }
    net_conn_close(orig);
    ck_assert(run_until(p.loop, &p.srv.closed, 3000));
    single_accept = false;
    pair_close(&p);
}
END_TEST

/* A socket made by the caller (a Unix socket, as the control channel uses)
 * accepts through the ring; its peer is "local" and its port 0. */
START_TEST(test_listen_fd_unix)
{
    struct pair p;
    memset(&p, 0, sizeof p);
    p.loop = new_loop();
    char dir[] = "/tmp/ferry-net-unix-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/s.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    p.li = net_listen_fd(p.loop, fd, on_accept, &p);
    ck_assert_ptr_nonnull(p.li);
    ck_assert_uint_eq(net_listener_port(p.li), 0);
    p.srv.rbuf = malloc(16);
    p.srv.rcap = 16;
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&sun, sizeof sun), 0);
    ck_assert_int_eq(write(c, "queue\n", 6), 6);
    uint64_t end = net_now_ms() + 3000;
    while (p.srv.rlen < 6 && net_now_ms() < end)
        net_loop_run_once(p.loop, 50);
    ck_assert_uint_eq(p.srv.rlen, 6);
    ck_assert(memcmp(p.srv.rbuf, "queue\n", 6) == 0);
    ck_assert_str_eq(net_conn_peer_str(p.srv.c), "local");
    close(c);
    ck_assert(run_until(p.loop, &p.srv.eof, 3000));
    net_conn_close(p.srv.c);
    net_listener_close(p.li);
    ck_assert(run_until(p.loop, &p.srv.closed, 3000));
    for (int i = 0; i < 5; i++)
        net_loop_run_once(p.loop, 0);
    net_loop_free(p.loop);
    free(p.srv.rbuf);
    unlink(sun.sun_path);
    rmdir(dir);
}
END_TEST

START_TEST(test_tcp_v6)
{
    struct ferry_error *err = NULL;
    struct net_loop *l = new_loop();
    struct net_listener *li = net_listen(l, "::1", 0, 4, on_accept, NULL, &err);
    if (!li) {
        /* no IPv6 loopback in this container */
        ferry_error_free(err);
        net_loop_free(l);
        return;
    }
    net_listener_close(li);
    net_loop_run_once(l, 0);
    net_loop_free(l);
    big_transfer("::1");
}
END_TEST

START_TEST(test_listen_errors)
{
    struct ferry_error *err = NULL;
    struct net_loop *l = new_loop();
    ck_assert_ptr_null(net_listen(l, "localhost", 0, 4, on_accept, NULL, &err));
    ck_assert_str_eq(ferry_error_message(err),
                     "listen: 'localhost' is not a numeric IPv4 or IPv6 address");
    ferry_error_free(err);
    err = NULL;
    struct net_listener *a = net_listen(l, "127.0.0.1", 0, 4, on_accept, NULL, &err);
    ck_assert_ptr_nonnull(a);
    char host[] = "127.0.0.1";
    ck_assert_ptr_null(net_listen(l, host, net_listener_port(a), 4, on_accept, NULL, &err));
    char want[128];
    snprintf(want, sizeof want, "listen on 127.0.0.1 port %u: bind: Address already in use",
             net_listener_port(a));
    ck_assert_str_eq(ferry_error_message(err), want);
    ferry_error_free(err);
    net_listener_close(a);
    net_loop_run_once(l, 0);
    net_loop_free(l);
}
END_TEST

START_TEST(test_addr)
{
    struct sockaddr_storage sa;
    socklen_t len;
    char buf[64];
    ck_assert_int_eq(net_addr_parse("10.0.0.5", 40112, &sa, &len), 0);
    net_addr_format(&sa, buf, sizeof buf);
    ck_assert_str_eq(buf, "10.0.0.5:40112");
    ck_assert_int_eq(net_addr_parse("[::1]", 104, &sa, &len), 0);
    net_addr_format(&sa, buf, sizeof buf);
    ck_assert_str_eq(buf, "[::1]:104");
    ck_assert_int_eq(net_addr_parse("fe80::1:2", 1, &sa, &len), 0);
    ck_assert_int_eq(net_addr_parse("example.org", 1, &sa, &len), -EINVAL);
    ck_assert_int_eq(net_addr_parse("10.0.0", 1, &sa, &len), -EINVAL);
}
END_TEST

/* A listener that never accepts and has a full backlog drops SYNs, so a
 * connect to it hangs until the linked timeout cancels it. */
START_TEST(test_connect_timeout)
{
    struct net_loop *l = new_loop();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage sa;
    socklen_t len;
    net_addr_parse("127.0.0.1", 0, &sa, &len);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, len), 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    struct side sides[4];
    memset(sides, 0, sizeof sides);
    for (int i = 0; i < 4; i++) {
        sides[i].c = net_connect(l, (struct sockaddr *)&sa, len, 300, &side_ops, &sides[i]);
        ck_assert_ptr_nonnull(sides[i].c);
    }
    uint64_t end = net_now_ms() + 3000;
    int timed_out = 0, connected = 0;
    while (net_now_ms() < end) {
        net_loop_run_once(l, 50);
        timed_out = connected = 0;
        for (int i = 0; i < 4; i++) {
            if (sides[i].connected && sides[i].connect_res == -ETIMEDOUT)
                timed_out++;
            if (sides[i].connected && sides[i].connect_res == 0)
                connected++;
        }
        if (timed_out + connected == 4)
            break;
    }
    ck_assert_msg(timed_out >= 1, "timed out %d, connected %d", timed_out, connected);
    for (int i = 0; i < 4; i++) {
        if (sides[i].connect_res == 0 && sides[i].c)
            net_conn_close(sides[i].c);
    }
    end = net_now_ms() + 3000;
    while (net_loop_conn_count(l) && net_now_ms() < end)
        net_loop_run_once(l, 50);
    ck_assert_uint_eq(net_loop_conn_count(l), 0);
    for (int i = 0; i < 4; i++)
        ck_assert(sides[i].closed);
    close(lfd);
    net_loop_free(l);
}
END_TEST

START_TEST(test_connect_refused)
{
    struct net_loop *l = new_loop();
    /* a port nobody listens on: bind, read the port, close */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage sa;
    socklen_t len;
    net_addr_parse("127.0.0.1", 0, &sa, &len);
    bind(fd, (struct sockaddr *)&sa, len);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    struct side sd = { 0 };
    sd.c = net_connect(l, (struct sockaddr *)&sa, len, 1000, &side_ops, &sd);
    ck_assert(run_until(l, &sd.connected, 3000));
    ck_assert_int_eq(sd.connect_res, -ECONNREFUSED);
    ck_assert(run_until(l, &sd.closed, 3000));
    net_loop_free(l);
}
END_TEST

/* Closing with a receive in flight cancels it; no on_recv follows. */
START_TEST(test_close_cancels)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    p.cli.rbuf = malloc(64);
    p.cli.rcap = 64;
    side_recv_more(&p.cli);
    ck_assert(net_conn_recv_pending(p.cli.c));
    ck_assert_int_eq(net_conn_recv(p.cli.c, p.cli.rbuf, 64), -EBUSY);
    net_conn_close(p.cli.c);
    ck_assert(net_conn_closing(p.cli.c));
    ck_assert_int_eq(net_conn_recv(p.cli.c, p.cli.rbuf, 64), -EPIPE);
    struct net_send s = { .buf = "x", .len = 1 };
    ck_assert_int_eq(net_conn_send(p.cli.c, &s), -EPIPE);
    ck_assert(!p.cli.closed); /* never from inside the call */
    ck_assert(run_until(p.loop, &p.cli.closed, 3000));
    ck_assert(!p.cli.eof);
    pair_close(&p);
}
END_TEST

/* Sending to a peer that reset the connection fails the send. */
START_TEST(test_send_to_reset_peer)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(net_conn_fd(p.srv.c), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    net_conn_close(p.srv.c);
    ck_assert(run_until(p.loop, &p.srv.closed, 3000));
    static uint8_t buf[1 << 20];
    uint64_t end = net_now_ms() + 3000;
    int res = 0;
    while (res == 0 && net_now_ms() < end) {
        p.cli.sent = false;
        p.cli.s.buf = buf;
        p.cli.s.len = sizeof buf;
        int rc = net_conn_send(p.cli.c, &p.cli.s);
        if (rc < 0) {
            res = rc;
            break;
        }
        ck_assert(run_until(p.loop, &p.cli.sent, 3000));
        res = p.cli.sent_res;
    }
    ck_assert_msg(res == -ECONNRESET || res == -EPIPE, "res %d", res);
    pair_close(&p);
}
END_TEST

/* --------------------------------------------------------------- files */

struct fstate {
    int res;
    bool done;
};

static void file_cb(void *arg, int res)
{
    struct fstate *f = arg;
    f->res = res;
    f->done = true;
}

static int file_step(struct net_loop *l, struct fstate *f)
{
    ck_assert(run_until(l, &f->done, 5000));
    f->done = false;
    return f->res;
}

START_TEST(test_files)
{
    struct net_loop *l = new_loop();
    char dir[] = "/tmp/ferry-net-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct fstate f = { 0 };
    ck_assert_int_eq(net_file_mkdirat(l, dfd, "sub", 0755, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_mkdirat(l, dfd, "sub", 0755, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), -EEXIST);
    ck_assert_int_eq(net_file_openat(l, dfd, "sub/a.tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                     0644, file_cb, &f), 0);
    int fd = file_step(l, &f);
    ck_assert_int_ge(fd, 0);
    size_t n = 3u << 20;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i ^ (i >> 11));
    ck_assert_int_eq(net_file_write(l, fd, data, n, 0, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_write(l, fd, "tail", 4, n, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_sync_range(l, fd, 0, 0, SYNC_FILE_RANGE_WRITE, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_sync_range(l, 9999, 0, 0, SYNC_FILE_RANGE_WRITE, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), -EBADF);
    ck_assert_int_eq(net_file_fsync(l, fd, false, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_close(l, fd, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_renameat(l, dfd, "sub/a.tmp", dfd, "sub/a.dcm", 0, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_openat(l, dfd, "sub/a.dcm", O_RDONLY | O_CLOEXEC, 0, file_cb, &f), 0);
    fd = file_step(l, &f);
    ck_assert_int_ge(fd, 0);
    uint8_t *back = malloc(n + 100);
    ck_assert_int_eq(net_file_read(l, fd, back, n + 100, 0, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), (int)n + 4);
    ck_assert(memcmp(back, data, n) == 0);
    ck_assert(memcmp(back + n, "tail", 4) == 0);
    close(fd);
    ck_assert_int_eq(net_file_openat(l, dfd, "sub/missing", O_RDONLY, 0, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), -ENOENT);
    ck_assert_int_eq(net_file_unlinkat(l, dfd, "sub/a.dcm", 0, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    ck_assert_int_eq(net_file_unlinkat(l, dfd, "sub", AT_REMOVEDIR, file_cb, &f), 0);
    ck_assert_int_eq(file_step(l, &f), 0);
    close(dfd);
    rmdir(dir);
    free(data);
    free(back);
    net_loop_free(l);
}
END_TEST

/* ---------------------------------------------------------------- drain */

static bool drained;
static void drain_done(void *arg)
{
    (void)arg;
    drained = true;
}

START_TEST(test_drain_deadline)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    drained = false;
    uint64_t start = net_now_ms();
    net_loop_drain(p.loop, 200, drain_done, NULL);
    ck_assert(run_until(p.loop, &drained, 3000));
    uint64_t took = net_now_ms() - start;
    ck_assert_msg(took >= 190 && took < 2000, "took %llu", (unsigned long long)took);
    ck_assert(p.cli.closed && p.srv.closed);
    ck_assert_uint_eq(net_loop_conn_count(p.loop), 0);
    net_loop_free(p.loop);
}
END_TEST

START_TEST(test_drain_early)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    drained = false;
    net_loop_drain(p.loop, 5000, drain_done, NULL);
    net_conn_close(p.cli.c);
    net_conn_close(p.srv.c);
    uint64_t start = net_now_ms();
    ck_assert(run_until(p.loop, &drained, 3000));
    ck_assert(net_now_ms() - start < 1000);
    net_loop_free(p.loop);
}
END_TEST

/* Freeing a loop with connections open closes them through the ring and
 * tells their owners. */
START_TEST(test_free_with_open_conns)
{
    struct pair p;
    pair_open(&p, "127.0.0.1");
    p.srv.rbuf = malloc(64);
    p.srv.rcap = 64;
    side_recv_more(&p.srv);
    net_listener_close(p.li);
    net_loop_free(p.loop);
    ck_assert(p.cli.closed && p.srv.closed);
    free(p.srv.rbuf);
}
END_TEST

/* A listener stopped by a drain stays valid for its owner's close. */
START_TEST(test_drain_keeps_listener_valid)
{
    struct ferry_error *err = NULL;
    struct net_loop *l = new_loop();
    struct net_listener *li = net_listen(l, "127.0.0.1", 0, 4, on_accept, NULL, &err);
    ck_assert_ptr_nonnull(li);
    uint16_t port = net_listener_port(li);
    drained = false;
    net_loop_drain(l, 1000, drain_done, NULL);
    ck_assert(run_until(l, &drained, 2000));
    /* the socket is closed: a connect is refused */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage sa;
    socklen_t len;
    net_addr_parse("127.0.0.1", port, &sa, &len);
    ck_assert_int_lt(connect(fd, (struct sockaddr *)&sa, len), 0);
    ck_assert_int_eq(errno, ECONNREFUSED);
    close(fd);
    net_listener_close(li);
    net_loop_run_once(l, 0);
    net_loop_free(l);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("loop");
    tcase_add_test(tc, test_loop_describe);
    tcase_add_test(tc, test_defer);
    suite_add_tcase(s, tc);
    tc = tcase_create("timers");
    tcase_add_test(tc, test_timer_order_and_cancel);
    tcase_add_test(tc, test_timer_earlier_update);
    suite_add_tcase(s, tc);
    tc = tcase_create("wakeups");
    tcase_add_test(tc, test_post_from_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("sockets");
    tcase_add_test(tc, test_addr);
    tcase_add_test(tc, test_listen_errors);
    tcase_add_test(tc, test_tcp_v4_big_send);
    tcase_add_test(tc, test_tcp_nodelay);
    tcase_add_test(tc, test_tcp_v6);
    tcase_add_test(tc, test_listen_fd_unix);
    tcase_add_test(tc, test_single_accept);
    tcase_add_test(tc, test_connect_timeout);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_close_cancels);
    tcase_add_test(tc, test_send_to_reset_peer);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_files);
    suite_add_tcase(s, tc);
    tc = tcase_create("drain");
    tcase_add_test(tc, test_drain_deadline);
    tcase_add_test(tc, test_drain_early);
    tcase_add_test(tc, test_drain_keeps_listener_valid);
    tcase_add_test(tc, test_free_with_open_conns);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(net_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
