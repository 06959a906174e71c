/* Associations end to end in one loop on loopback: a dul_server and a
 * requestor made with dul_connect. */
#include "test_dul.h"

#include "base/error.h"
#include "base/log.h"
#include "dul/dul.h"
#include "net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO "1.2.840.10008.1.1"
#define CT "1.2.840.10008.5.1.4.1.1.2"
#define IMPLICIT "1.2.840.10008.1.2"
#define EXPLICIT "1.2.840.10008.1.2.1"
#define JPEGLL "1.2.840.10008.1.2.4.70"

struct side {
    struct dul_assoc *a;
    bool established, closed, released, release_requested, rejected, aborted;
    int writable;
    bool manual_release;       /* answer release requests by hand */
    struct dul_reject rj;
    struct dul_abort_info ab;
    char abort_msg[256];
    uint8_t *data;
    size_t data_len;
    size_t n_pdv, max_pdv, n_last;
    bool odd_fragment;
    bool pause_on_pdv;
    const uint8_t *paused_ptr;
    uint8_t paused_copy[64];
    size_t paused_len;
};

static void side_reset(struct side *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

static void on_established(struct dul_assoc *a, void *arg)
{
    struct side *s = arg;
    s->a = a;
    s->established = true;
}

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    struct side *s = arg;
    s->n_pdv++;
    if (pdv->len > s->max_pdv)
        s->max_pdv = pdv->len;
    if (pdv->last)
        s->n_last++;
    else if (pdv->len & 1)
        s->odd_fragment = true;
    s->data = realloc(s->data, s->data_len + pdv->len + 1);
    memcpy(s->data + s->data_len, pdv->data, pdv->len);
    s->data_len += pdv->len;
    if (s->pause_on_pdv) {
        dul_pause(a);
        s->paused_ptr = pdv->data;
        s->paused_len = pdv->len < sizeof s->paused_copy ? pdv->len : sizeof s->paused_copy;
        memcpy(s->paused_copy, pdv->data, s->paused_len);
    }
}

static void on_release_requested(struct dul_assoc *a, void *arg)
{
    struct side *s = arg;
    s->release_requested = true;
    if (!s->manual_release)
        ck_assert_int_eq(dul_release_response(a), 0);
}

static void on_released(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct side *s = arg;
    s->released = true;
}

static void on_rejected(struct dul_assoc *a, void *arg, const struct dul_reject *rj)
{
    (void)a;
    struct side *s = arg;
    s->rejected = true;
    s->rj = *rj;
}

static void on_aborted(struct dul_assoc *a, void *arg, const struct dul_abort_info *why)
{
    (void)a;
    struct side *s = arg;
    s->aborted = true;
    s->ab = *why;
    snprintf(s->abort_msg, sizeof s->abort_msg, "%s", why->message ? why->message : "");
    s->ab.message = s->abort_msg;
}

static void on_writable(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct side *s = arg;
    s->writable++;
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct side *s = arg;
    s->closed = true;
    s->a = NULL;
}

static const struct dul_assoc_ops side_ops = {
    .on_established = on_established,
    .on_pdv = on_pdv,
    .on_release_requested = on_release_requested,
    .on_released = on_released,
    .on_rejected = on_rejected,
    .on_aborted = on_aborted,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

struct harness {
    struct net_loop *loop;
    struct dul_server *server;
    struct side srv, cli;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

static struct harness *H;

static void on_accept(struct dul_server *s, void *arg, struct dul_assoc *a)
{
    (void)s;
    struct harness *h = arg;
    h->srv.a = a;
    dul_assoc_set_ops(a, &side_ops, &h->srv);
}

static void run_until(bool *flag, unsigned ms)
{
    uint64_t end = net_now_ms() + ms;
    while (!*flag && net_now_ms() < end)
        ck_assert_int_eq(net_loop_run_once(H->loop, 20), 0);
    ck_assert_msg(*flag, "timed out after %u ms", ms);
}

static void run_for(unsigned ms)
{
    uint64_t end = net_now_ms() + ms;
    while (net_now_ms() < end)
        net_loop_run_once(H->loop, 10);
}

static void harness_open(struct harness *h, const struct dul_policy *pol)
{
    memset(h, 0, sizeof *h);
    H = h;
    ferry_log_init(2, getenv("DUL_TEST_DEBUG") ? FERRY_LOG_DEBUG : FERRY_LOG_ERROR);
    struct ferry_error *err = NULL;
    struct net_loop_options opt = { .quiet = true };
    h->loop = net_loop_new(&opt, &err);
    ck_assert_msg(h->loop, "%s", ferry_error_message(err));
    h->server = dul_server_new(h->loop, pol, on_accept, h, &err);
    ck_assert_msg(h->server, "%s", ferry_error_message(err));
    ck_assert_int_eq(dul_server_listen(h->server, "127.0.0.1", 0, &err), 0);
    ck_assert_int_eq(net_addr_parse("127.0.0.1", dul_server_port(h->server, 0), &h->addr,
                                    &h->addrlen), 0);
}

static const char *echo_ts[] = { IMPLICIT };
static const char *ct_ts[] = { JPEGLL, EXPLICIT, IMPLICIT };

static struct dul_assoc *connect_side(struct harness *h, struct side *s, const char *called,
                                      uint32_t max_pdu)
{
    static const struct dul_proposal props[] = {
        { .abstract_syntax = ECHO, .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
        { .abstract_syntax = CT, .transfer_syntaxes = ct_ts, .n_transfer_syntaxes = 3 },
        { .abstract_syntax = "1.2.3.4.5", .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
    };
    struct dul_request rq = {
        .calling_ae = "TESTSCU",
        .called_ae = called,
        .addr = (struct sockaddr *)&h->addr,
        .addrlen = h->addrlen,
        .proposals = props,
        .n_proposals = 3,
        .max_pdu = max_pdu,
        .async_window = true,
    };
    struct ferry_error *err = NULL;
    struct dul_assoc *a = dul_connect(h->loop, &rq, &side_ops, s, &err);
    ck_assert_msg(a != NULL, "%s", ferry_error_message(err));
    s->a = a;
    return a;
}

static void harness_close(struct harness *h)
{
    if (h->cli.a && !h->cli.closed)
        dul_abort(h->cli.a);
    uint64_t end = net_now_ms() + 3000;
    while ((dul_server_assoc_count(h->server) || net_loop_conn_count(h->loop)) &&
           net_now_ms() < end)
        net_loop_run_once(h->loop, 20);
    dul_server_free(h->server);
    for (int i = 0; i < 3; i++)
        net_loop_run_once(h->loop, 0);
    ck_assert_uint_eq(net_loop_conn_count(h->loop), 0);
    net_loop_free(h->loop);
    side_reset(&h->srv);
    side_reset(&h->cli);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_establish_transfer_release)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 4096);
    run_until(&h.cli.established, 3000);
    run_until(&h.srv.established, 3000);

    /* both sides agree on the contexts */
    const struct dul_assoc_info *ci = dul_assoc_info(h.cli.a), *si = dul_assoc_info(h.srv.a);
    ck_assert(ci->requestor);
    ck_assert(!si->requestor);
    ck_assert_str_eq(si->calling_ae, "TESTSCU");
    ck_assert_str_eq(si->called_ae, "FERRY");
    ck_assert_uint_eq(ci->n_contexts, 3);
    ck_assert_uint_eq(si->n_contexts, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(ci->contexts[i].id, si->contexts[i].id);
        ck_assert_uint_eq(ci->contexts[i].result, si->contexts[i].result);
        ck_assert_str_eq(ci->contexts[i].transfer_syntax, si->contexts[i].transfer_syntax);
    }
    ck_assert_uint_eq(ci->contexts[1].result, 0);
    ck_assert_str_eq(ci->contexts[1].transfer_syntax, EXPLICIT);
    ck_assert_uint_eq(ci->contexts[2].result, DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED);
    ck_assert_ptr_nonnull(dul_assoc_find_context(h.cli.a, CT, EXPLICIT));
    ck_assert_ptr_null(dul_assoc_find_context(h.cli.a, CT, IMPLICIT));
    ck_assert_ptr_null(dul_assoc_context(h.cli.a, 5));
    ck_assert_ptr_nonnull(dul_assoc_context(h.cli.a, 3));
    ck_assert_uint_eq(ci->max_send_pdu, 262144);   /* what ferry announced */
    ck_assert_uint_eq(si->max_send_pdu, 4096);     /* what the requestor announced */
    ck_assert_str_eq(ci->peer_impl_class_uid, DUL_FERRY_IMPL_CLASS_UID);
    ck_assert_str_eq(ci->peer_impl_version, "FERRY_0.1");

    /* server -> requestor: 20000 bytes cut to the requestor's 4096 */
    static uint8_t big[20000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31 + 7);
    ck_assert_int_eq(dul_send_pdv(h.srv.a, 3, false, true, big, sizeof big), 0);
    while (h.cli.data_len < sizeof big) {
        bool got = false;
        uint64_t end = net_now_ms() + 2000;
        while (!got && net_now_ms() < end) {
            net_loop_run_once(h.loop, 20);
            got = h.cli.data_len >= sizeof big;
        }
        ck_assert(got);
    }
    ck_assert(memcmp(h.cli.data, big, sizeof big) == 0);
    ck_assert_uint_le(h.cli.max_pdv, 4096 - 6);
    ck_assert_uint_eq(h.cli.n_pdv, (sizeof big + 4089) / 4090);
    ck_assert_uint_eq(h.cli.n_last, 1);
    ck_assert(!h.cli.odd_fragment);

    /* requestor -> server: pieces of one stream merge into one PDV */
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 1, true, true, big, 68), 0);
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, false, big, 1000), 0);
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, false, big + 1000, 1001), 0);
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, true, big + 2001, 1999), 0);
    uint64_t end = net_now_ms() + 2000;
    while (h.srv.data_len < 4068 && net_now_ms() < end)
        net_loop_run_once(h.loop, 20);
    ck_assert_uint_eq(h.srv.data_len, 4068);
    ck_assert_uint_eq(h.srv.n_pdv, 2); /* the command, then one merged data PDV */
    ck_assert_uint_eq(h.srv.n_last, 2);
    ck_assert(memcmp(h.srv.data + 68, big, 4000) == 0);

    /* errors of dul_send_pdv */
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 5, false, true, big, 2), -EINVAL);
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 7, false, true, big, 2), -EINVAL);

    /* release */
    ck_assert_int_eq(dul_release(h.cli.a), 0);
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, true, big, 2), -ENOTCONN);
    ck_assert_int_eq(dul_release(h.cli.a), -ENOTCONN);
    run_until(&h.cli.released, 3000);
    run_until(&h.cli.closed, 3000);
    run_until(&h.srv.closed, 3000);
    ck_assert(h.srv.release_requested);
    ck_assert(!h.srv.aborted && !h.cli.aborted);
    harness_close(&h);
}
END_TEST

START_TEST(test_pause_resume)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    run_until(&h.cli.established, 3000);
    h.srv.pause_on_pdv = true;
    static uint8_t chunk[3000];
    for (int i = 0; i < 5; i++) {
        memset(chunk, 'a' + i, sizeof chunk);
        /* each a message of its own: a PDU each */
        ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, true, chunk, sizeof chunk), 0);
    }
    run_for(200);
    ck_assert_uint_eq(h.srv.n_pdv, 1);
    ck_assert(dul_paused(h.srv.a));
    /* the paused PDV's bytes are still there, unchanged */
    ck_assert(memcmp(h.srv.paused_ptr, h.srv.paused_copy, h.srv.paused_len) == 0);
    for (size_t n = 1; n < 5; n++) {
        dul_resume(h.srv.a);
        ck_assert_uint_eq(h.srv.n_pdv, n); /* never from inside dul_resume */
        uint64_t end = net_now_ms() + 2000;
        while (h.srv.n_pdv == n && net_now_ms() < end)
            net_loop_run_once(h.loop, 20);
        ck_assert_uint_eq(h.srv.n_pdv, n + 1);
    }
    h.srv.pause_on_pdv = false;
    dul_resume(h.srv.a);
    run_for(100);
    ck_assert_uint_eq(h.srv.data_len, 5 * sizeof chunk);
    ck_assert_uint_eq(h.srv.data[0], 'a');
    ck_assert_uint_eq(h.srv.data[4 * sizeof chunk], 'e');
    harness_close(&h);
}
END_TEST

START_TEST(test_rejected)
{
    static const char *aes[] = { "FERRY" };
    struct dul_policy pol = { .ae_titles = aes, .n_ae_titles = 1 };
    struct harness h;
    harness_open(&h, &pol);
    connect_side(&h, &h.cli, "SOMEONE_ELSE", 0);
    run_until(&h.cli.rejected, 3000);
    ck_assert_uint_eq(h.cli.rj.result, 1);
    ck_assert_uint_eq(h.cli.rj.source, 1);
    ck_assert_uint_eq(h.cli.rj.reason, 7);
    run_until(&h.cli.closed, 3000);
    ck_assert(!h.cli.aborted);
    ck_assert(!h.srv.established);
    harness_close(&h);
}
END_TEST

START_TEST(test_abort_by_requestor)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    dul_abort(h.cli.a);
    dul_abort(h.cli.a); /* idempotent */
    run_until(&h.srv.aborted, 3000);
    ck_assert(h.srv.ab.by_peer);
    ck_assert_uint_eq(h.srv.ab.source, 0);
    run_until(&h.srv.closed, 3000);
    run_until(&h.cli.closed, 3000);
    ck_assert(!h.cli.aborted); /* it asked for it */
    harness_close(&h);
}
END_TEST

START_TEST(test_idle_timeout)
{
    struct dul_policy pol = { .idle_ms = 200 };
    struct harness h;
    harness_open(&h, &pol);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    uint64_t start = net_now_ms();
    run_until(&h.cli.aborted, 3000);
    uint64_t took = net_now_ms() - start;
    ck_assert_msg(took >= 150 && took < 1500, "took %llu ms", (unsigned long long)took);
    ck_assert(h.cli.ab.by_peer);
    ck_assert_uint_eq(h.cli.ab.source, 2);
    ck_assert_uint_eq(h.cli.ab.reason, 0);
    run_until(&h.srv.aborted, 3000);
    ck_assert_str_eq(h.srv.abort_msg, "idle for 200 ms");
    run_until(&h.cli.closed, 3000);
    run_until(&h.srv.closed, 3000);
    harness_close(&h);
}
END_TEST

START_TEST(test_paused_is_not_idle)
{
    struct dul_policy pol = { .idle_ms = 150 };
    struct harness h;
    harness_open(&h, &pol);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    dul_pause(h.srv.a);
    run_for(400);
    ck_assert(!h.srv.aborted);
    dul_resume(h.srv.a);
    run_until(&h.srv.aborted, 3000);
    harness_close(&h);
}
END_TEST

/* Paused with half a PDU in hand: the per-PDU timer must not blame the
 * peer for the bytes we are not reading. */
START_TEST(test_paused_with_partial_pdu)
{
    struct dul_policy pol = { .pdu_ms = 150 };
    struct harness h;
    harness_open(&h, &pol);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    run_until(&h.cli.established, 3000);
    /* a PDU much bigger than the server's first receive buffer, then pause
     * the server as soon as part of it is in */
    static uint8_t big[200000];
    ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, true, big, sizeof big), 0);
    dul_pause(h.srv.a);
    run_for(500);
    ck_assert(!h.srv.aborted && !h.cli.aborted);
    ck_assert_uint_eq(h.srv.n_pdv, 0);
    dul_resume(h.srv.a);
    uint64_t end = net_now_ms() + 3000;
    while (h.srv.data_len < sizeof big && net_now_ms() < end)
        net_loop_run_once(h.loop, 20);
    ck_assert_uint_eq(h.srv.data_len, sizeof big);
    ck_assert(!h.srv.aborted);
    harness_close(&h);
}
END_TEST

START_TEST(test_connect_refused)
{
    struct harness h;
    harness_open(&h, NULL);
    /* a port nobody listens on */
    struct sockaddr_storage a;
    socklen_t len;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    net_addr_parse("127.0.0.1", 0, &a, &len);
    bind(fd, (struct sockaddr *)&a, len);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    h.addr = a;
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.cli.aborted, 3000);
    ck_assert_msg(strstr(h.cli.abort_msg, "Connection refused") != NULL, "%s", h.cli.abort_msg);
    ck_assert_msg(strncmp(h.cli.abort_msg, "cannot connect to 127.0.0.1:", 28) == 0, "%s",
                  h.cli.abort_msg);
    run_until(&h.cli.closed, 3000);
    harness_close(&h);
}
END_TEST

START_TEST(test_request_errors)
{
    struct harness h;
    harness_open(&h, NULL);
    static const struct dul_proposal bad_uid[] = {
        { .abstract_syntax = "1.2.x", .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
    };
    static const struct dul_proposal no_ts[] = { { .abstract_syntax = CT } };
    struct dul_request rq = { .calling_ae = "TESTSCU", .called_ae = "FERRY",
                              .addr = (struct sockaddr *)&h.addr, .addrlen = h.addrlen,
                              .proposals = bad_uid, .n_proposals = 1 };
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(dul_connect(h.loop, &rq, &side_ops, &h.cli, &err));
    ck_assert_str_eq(ferry_error_message(err),
                     "request: proposal 1: abstract syntax '1.2.x' has a character other than "
                     "digits and dots");
    ferry_error_free(err);
    err = NULL;
    rq.proposals = no_ts;
    ck_assert_ptr_null(dul_connect(h.loop, &rq, &side_ops, &h.cli, &err));
    ck_assert_str_eq(ferry_error_message(err), "request: proposal 1: no transfer syntax");
    ferry_error_free(err);
    err = NULL;
    rq.calling_ae = "SEVENTEEN_CHARS_X";
    ck_assert_ptr_null(dul_connect(h.loop, &rq, &side_ops, &h.cli, &err));
    ck_assert_str_eq(ferry_error_message(err),
                     "request: calling AE title 'SEVENTEEN_CHARS_X' is longer than 16 characters");
    ferry_error_free(err);
    err = NULL;
    rq.calling_ae = "OK";
    rq.n_proposals = 0;
    ck_assert_ptr_null(dul_connect(h.loop, &rq, &side_ops, &h.cli, &err));
    ck_assert_str_eq(ferry_error_message(err), "request: 0 proposals, expected 1 to 128");
    ferry_error_free(err);
    harness_close(&h);
}
END_TEST

START_TEST(test_release_collision)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    run_until(&h.cli.established, 3000);
    /* both ask at once: Sta7 -> Sta9/Sta10 -> ... */
    ck_assert_int_eq(dul_release(h.cli.a), 0);
    ck_assert_int_eq(dul_release(h.srv.a), 0);
    run_until(&h.cli.closed, 3000);
    run_until(&h.srv.closed, 3000);
    ck_assert(h.cli.release_requested && h.srv.release_requested);
    ck_assert(h.cli.released && h.srv.released);
    ck_assert(!h.cli.aborted && !h.srv.aborted);
    harness_close(&h);
}
END_TEST

START_TEST(test_manual_release_answer)
{
    struct harness h;
    harness_open(&h, NULL);
    h.srv.manual_release = true;
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    run_until(&h.cli.established, 3000);
    ck_assert_int_eq(dul_release_response(h.srv.a), -ENOTCONN); /* nothing asked yet */
    ck_assert_int_eq(dul_release(h.cli.a), 0);
    run_until(&h.srv.release_requested, 3000);
    /* Sta8: the acceptor may still send (AR-7) before it answers */
    ck_assert_int_eq(dul_send_pdv(h.srv.a, 1, true, true, "\0\0\0\0", 4), 0);
    run_for(50);
    ck_assert(!h.cli.released);
    ck_assert_int_eq(dul_release_response(h.srv.a), 0);
    run_until(&h.cli.released, 3000);
    ck_assert_uint_eq(h.cli.data_len, 4); /* AR-6: delivered while releasing */
    run_until(&h.srv.closed, 3000);
    harness_close(&h);
}
END_TEST

static bool shutdown_done;
static void on_shutdown_done(void *arg)
{
    (void)arg;
    shutdown_done = true;
}

START_TEST(test_shutdown_deadline)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    shutdown_done = false;
    dul_server_shutdown(h.server, 200, on_shutdown_done, NULL);
    ck_assert(!shutdown_done);
    run_until(&h.cli.aborted, 3000);
    ck_assert(h.cli.ab.by_peer);
    ck_assert_uint_eq(h.cli.ab.source, 2);
    run_until(&shutdown_done, 3000);
    ck_assert_str_eq(h.srv.abort_msg, "ferry is shutting down");
    ck_assert_uint_eq(dul_server_assoc_count(h.server), 0);
    harness_close(&h);
}
END_TEST

START_TEST(test_association_limits)
{
    struct dul_policy pol = { .max_associations = 1 };
    struct harness h;
    harness_open(&h, &pol);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.srv.established, 3000);
    struct side second = { 0 };
    connect_side(&h, &second, "FERRY", 0);
    run_until(&second.rejected, 3000);
    ck_assert_uint_eq(second.rj.result, 2);
    ck_assert_uint_eq(second.rj.source, 3);
    ck_assert_uint_eq(second.rj.reason, 2);
    run_until(&second.closed, 3000);
    /* a reload lifts the limit for new associations */
    struct ferry_error *err = NULL;
    struct dul_policy pol2 = { .max_associations = 2 };
    ck_assert_int_eq(dul_server_set_policy(h.server, &pol2, &err), 0);
    struct dul_policy bad = { .max_pdu = 12 };
    ck_assert_int_lt(dul_server_set_policy(h.server, &bad, &err), 0);
    ck_assert_str_eq(ferry_error_message(err), "policy: max_pdu 12 is outside 4096..16777216");
    ferry_error_free(err);
    struct side third = { 0 };
    connect_side(&h, &third, "FERRY", 0);
    run_until(&third.established, 3000);
    dul_abort(third.a);
    run_until(&third.closed, 3000);
    side_reset(&second);
    side_reset(&third);
    harness_close(&h);
}
END_TEST

START_TEST(test_stream_with_backpressure)
{
    struct harness h;
    harness_open(&h, NULL);
    connect_side(&h, &h.cli, "FERRY", 0);
    run_until(&h.cli.established, 3000);
    size_t total = 6u << 20, sent = 0;
    uint8_t *src = malloc(total);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i ^ (i >> 9));
    size_t max_queued = 0;
    uint64_t end = net_now_ms() + 20000;
    while ((sent < total || h.srv.data_len < total) && net_now_ms() < end) {
        size_t limit = dul_assoc_info(h.cli.a)->max_send_pdu;
        while (sent < total && dul_send_queued(h.cli.a) <= limit) {
            size_t n = total - sent < 65536 ? total - sent : 65536;
            ck_assert_int_eq(dul_send_pdv(h.cli.a, 3, false, sent + n == total, src + sent, n), 0);
            sent += n;
        }
        if (dul_send_queued(h.cli.a) > max_queued)
            max_queued = dul_send_queued(h.cli.a);
        net_loop_run_once(h.loop, 20);
    }
    ck_assert_uint_eq(h.srv.data_len, total);
    ck_assert(memcmp(h.srv.data, src, total) == 0);
    ck_assert_int_gt(h.cli.writable, 0);
    /* what waits to be sent stays within two PDUs plus one chunk */
    ck_assert_uint_le(max_queued, 2 * (262144 + 6) + 65536 + 12);
    ck_assert_uint_le(h.srv.max_pdv, 262144 - 6);
    free(src);
    harness_close(&h);
}
END_TEST

void add_assoc_tests(Suite *s)
{
    TCase *tc = tcase_create("associations");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_establish_transfer_release);
    tcase_add_test(tc, test_pause_resume);
    tcase_add_test(tc, test_rejected);
    tcase_add_test(tc, test_abort_by_requestor);
    tcase_add_test(tc, test_idle_timeout);
    tcase_add_test(tc, test_paused_is_not_idle);
    tcase_add_test(tc, test_paused_with_partial_pdu);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_request_errors);
    tcase_add_test(tc, test_release_collision);
    tcase_add_test(tc, test_manual_release_answer);
    tcase_add_test(tc, test_shutdown_deadline);
    tcase_add_test(tc, test_association_limits);
    tcase_add_test(tc, test_stream_with_backpressure);
    suite_add_tcase(s, tc);
}
