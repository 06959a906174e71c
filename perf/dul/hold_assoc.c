/* hold_assoc — opens N associations to a DICOM acceptor with dul_connect
 * (all from one net loop), optionally sends one C-STORE of BYTES on each,
 * prints "HELD n" and keeps them open until stdin closes, then releases
 * them. A measuring tool (perf/, never a test): see assoc_rss.sh.
 *
 * usage: hold_assoc PORT N [BYTES]
 */
#include "base/error.h"
#include "base/log.h"
#include "dul/dul.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CT "1.2.840.10008.5.1.4.1.1.2"

static struct net_loop *loop;
static size_t n_want, n_ready, n_closed, n_failed;
static size_t store_bytes;
static uint8_t *payload;

struct held {
    struct dul_assoc *a;
    bool ready, closed;
    uint8_t pc;
    size_t sent;
};

/* Stream the data set a chunk at a time, as a forwarder reading a file
 * would: at most about one PDU waits in dul. */
static void pump(struct dul_assoc *a, struct held *h)
{
    size_t limit = dul_assoc_info(a)->max_send_pdu;
    while (h->sent < store_bytes && dul_send_queued(a) <= limit) {
        size_t n = store_bytes - h->sent < 65536 ? store_bytes - h->sent : 65536;
        if (dul_send_pdv(a, h->pc, false, h->sent + n == store_bytes, payload + h->sent, n) < 0)
            return;
        h->sent += n;
    }
}

static void on_writable(struct dul_assoc *a, void *arg)
{
    pump(a, arg);
}

static size_t put(uint8_t *p, uint16_t elem, const void *v, uint32_t len)
{
    uint8_t h[8] = { 0, 0, (uint8_t)elem, (uint8_t)(elem >> 8), (uint8_t)len, (uint8_t)(len >> 8),
                     (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
    memcpy(p, h, 8);
    memcpy(p + 8, v, len);
    return 8 + len;
}

static size_t store_rq(uint8_t *buf, uint16_t msg_id, unsigned serial)
{
    char inst[64];
    int n = snprintf(inst, sizeof inst, "1.2.826.0.1.3680043.9.7433.99.%u", serial);
    if (n & 1)
        inst[n++] = '\0';
    size_t k = 12;
    uint8_t us[2];
    /* UIDs are padded with a NUL to even length */
    k += put(buf + k, 0x0002, CT "\0", (uint32_t)((sizeof CT - 1 + 1) & ~1u));
    us[0] = 1;
    us[1] = 0;
    k += put(buf + k, 0x0100, us, 2);
    us[0] = (uint8_t)msg_id;
    us[1] = (uint8_t)(msg_id >> 8);
    k += put(buf + k, 0x0110, us, 2);
    us[0] = us[1] = 0;
    k += put(buf + k, 0x0700, us, 2);
    k += put(buf + k, 0x0800, us, 2);
    k += put(buf + k, 0x1000, inst, (uint32_t)n);
    uint32_t gl = (uint32_t)(k - 12);
    uint8_t g[4] = { (uint8_t)gl, (uint8_t)(gl >> 8), (uint8_t)(gl >> 16), (uint8_t)(gl >> 24) };
    put(buf, 0x0000, g, 4);
    return k;
}

static void on_established(struct dul_assoc *a, void *arg)
{
    struct held *h = arg;
    if (!store_bytes) {
        h->ready = true;
        n_ready++;
        return;
    }
    const struct dul_context *c = dul_assoc_find_context(a, CT, NULL);
    if (!c) {
        fprintf(stderr, "hold_assoc: CT not accepted\n");
        dul_abort(a);
        return;
    }
    uint8_t cmd[256];
    size_t n = store_rq(cmd, 1, dul_assoc_info(a)->id);
    h->pc = c->id;
    dul_send_pdv(a, c->id, true, true, cmd, n);
    pump(a, h);
}

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    (void)a;
    struct held *h = arg;
    if (pdv->command && pdv->last && !h->ready) {
        h->ready = true; /* the C-STORE-RSP */
        n_ready++;
    }
}

static void on_aborted(struct dul_assoc *a, void *arg, const struct dul_abort_info *why)
{
    (void)a;
    (void)arg;
    fprintf(stderr, "hold_assoc: aborted: %s\n", why->message ? why->message : "");
    n_failed++;
}

static void on_rejected(struct dul_assoc *a, void *arg, const struct dul_reject *rj)
{
    (void)a;
    (void)arg;
    fprintf(stderr, "hold_assoc: rejected %u/%u/%u\n", rj->result, rj->source, rj->reason);
    n_failed++;
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct held *h = arg;
    h->closed = true;
    n_closed++;
}

static const struct dul_assoc_ops ops = {
    .on_established = on_established,
    .on_pdv = on_pdv,
    .on_aborted = on_aborted,
    .on_rejected = on_rejected,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

static bool stdin_closed;
static char sink[64];
static void on_stdin(void *arg, int res)
{
    (void)arg;
    (void)res;
    stdin_closed = true;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: hold_assoc PORT N [BYTES]\n");
        return 2;
    }
    ferry_log_init(2, FERRY_LOG_WARN);
    uint16_t port = (uint16_t)atoi(argv[1]);
    n_want = (size_t)atol(argv[2]);
    store_bytes = argc > 3 ? (size_t)atol(argv[3]) & ~(size_t)1 : 0;
    payload = calloc(1, store_bytes + 2);
    struct ferry_error *err = NULL;
    struct net_loop_options opt = { .quiet = true };
    loop = net_loop_new(&opt, &err);
    if (!loop) {
        fprintf(stderr, "hold_assoc: %s\n", ferry_error_message(err));
        return 1;
    }
    struct sockaddr_storage sa;
    socklen_t len;
    net_addr_parse("127.0.0.1", port, &sa, &len);
    static const char *ts[] = { "1.2.840.10008.1.2.1" };
    static const char *echo_ts[] = { "1.2.840.10008.1.2" };
    static const struct dul_proposal props[] = {
        { .abstract_syntax = "1.2.840.10008.1.1", .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
        { .abstract_syntax = CT, .transfer_syntaxes = ts, .n_transfer_syntaxes = 1 },
    };
    struct held *held = calloc(n_want, sizeof *held);
    for (size_t i = 0; i < n_want; i++) {
        struct dul_request rq = { .calling_ae = "HOLDER", .called_ae = "FERRY",
                                  .addr = (struct sockaddr *)&sa, .addrlen = len,
                                  .proposals = props, .n_proposals = 2, .max_pdu = 16384 };
        held[i].a = dul_connect(loop, &rq, &ops, &held[i], &err);
        if (!held[i].a) {
            fprintf(stderr, "hold_assoc: %s\n", ferry_error_message(err));
            return 1;
        }
        if (i % 50 == 49) /* do not overflow the listen backlog */
            for (int k = 0; k < 20; k++)
                net_loop_run_once(loop, 5);
    }
    uint64_t end = net_now_ms() + 60000;
    while (n_ready + n_failed < n_want && net_now_ms() < end)
        net_loop_run_once(loop, 100);
    printf("HELD %zu\n", n_ready);
    fflush(stdout);
    net_file_read(loop, 0, sink, sizeof sink, 0, on_stdin, NULL);
    while (!stdin_closed)
        net_loop_run_once(loop, -1);
    for (size_t i = 0; i < n_want; i++)
        if (!held[i].closed && held[i].ready)
            dul_release(held[i].a);
    end = net_now_ms() + 10000;
    while (n_closed < n_want && net_now_ms() < end)
        net_loop_run_once(loop, 100);
    net_loop_free(loop);
    free(held);
    free(payload);
    return n_failed ? 1 : 0;
}
