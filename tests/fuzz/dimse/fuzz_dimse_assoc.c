/* libFuzzer target: the DIMSE layer of the acceptor (src/dimse) — command
 * set assembly from PDV fragments, the command set parser, the dispatch of
 * C-ECHO, C-STORE, C-CANCEL, responses and unknown commands, data set
 * fragments, requests held while one is outstanding, pause and resume —
 * behind a real dul_server on loopback.
 *
 * The harness sends a fixed good A-ASSOCIATE-RQ (contexts 1: Verification,
 * implicit LE; 3: CT Image Storage, explicit LE; 5: CT Image Storage,
 * implicit LE), then the input as PDVs, then an A-RELEASE-RQ. The input is
 * a run of records:
 *   flags (1 byte)  bits 0-1 context 1, 3, 5 or 7 (never accepted);
 *                   bit 2 command (else data set); bit 3 last fragment;
 *                   bit 4 in the same P-DATA-TF as the record before
 *   length (2 bytes, little endian; cut to what is left)
 *   the fragment
 * The owner (below) takes each C-STORE, reads its data, and answers at
 * once or a moment later; some instances it refuses, some fragments make
 * it pause. The association must end within 3 s; nothing may leak; no
 * sanitizer report. */
#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "dimse/dimse.h"
#include "dul/dul.h"
#include "dul/pdu.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct net_loop *loop;
static struct dul_server *server;
static uint16_t port;
static unsigned open_assocs;

struct owner {
    struct dimse_assoc *da;
    struct dimse_store *st;   /* the C-STORE taken, until answered */
    bool st_ended;            /* its last fragment arrived */
    unsigned fragments;
    struct net_timer later;   /* answers and resumes a moment later */
    bool paused;
};

static void later_fn(struct net_timer *t)
{
    struct owner *o = ferry_container_of(t, struct owner, later);
    if (o->st && o->st_ended) {
        struct dimse_store *st = o->st;
        o->st = NULL;
        dimse_store_respond(st, 0x0000, NULL);
    }
    if (o->paused) {
        o->paused = false;
        dimse_resume(o->da);
    }
}

static uint16_t on_store(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                         const struct dimse_store_rq *rq, const char **comment)
{
    (void)da;
    struct owner *o = ud;
    size_t n = strlen(rq->sop_instance_uid);
    if (strlen(rq->sop_class_uid) + strlen(rq->transfer_syntax) + strlen(rq->move_originator_ae) >
        1000)
        abort();
    if (n && rq->sop_instance_uid[n - 1] == '9') {
        *comment = "refused by the fuzz owner";
        return 0xA700;
    }
    o->st = st;
    o->st_ended = false;
    return 0;
}

static bool on_store_data(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                          const uint8_t *data, size_t len, bool last)
{
    (void)da;
    struct owner *o = ud;
    if (st != o->st)
        abort();
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum ^= data[i]; /* touch every byte: ASan checks the bounds */
    __asm__ volatile("" : : "r"(sum));
    o->fragments++;
    if (last) {
        o->st_ended = true;
        if (len % 2 == 0) {
            o->st = NULL;
            dimse_store_respond(st, len % 4 ? 0xC000 : 0x0000, len % 4 ? "odd" : NULL);
        } else {
            net_timer_arm(loop, &o->later, 1);
        }
        return false;
    }
    if (o->fragments % 3 == 0) {
        o->paused = true;
        net_timer_arm(loop, &o->later, 0);
        return true;
    }
    return false;
}

static void on_store_abandoned(struct dimse_assoc *da, void *ud, struct dimse_store *st)
{
    (void)da;
    struct owner *o = ud;
    if (st != o->st)
        abort();
    o->st = NULL;
}

static void on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct owner *o = ud;
    if (o->st)
        abort(); /* on_store_abandoned must have come first */
    net_timer_cancel(loop, &o->later);
    free(o);
    open_assocs--;
}

static const struct dimse_ops ops = {
    .on_store = on_store,
    .on_store_data = on_store_data,
    .on_store_abandoned = on_store_abandoned,
    .on_closed = on_closed,
};

static void on_accept(struct dul_server *s, void *arg, struct dul_assoc *a)
{
    (void)s;
    (void)arg;
    struct owner *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    net_timer_init(&o->later, later_fn);
    o->da = dimse_assoc_new(a, &ops, o, &(struct dimse_options){ .max_command = 4096 });
    if (!o->da) {
        free(o);
        return;
    }
    open_assocs++;
}

static void cleanup(void)
{
    dul_server_free(server);
    net_loop_free(loop);
}

static void setup(void)
{
    if (loop)
        return;
    ferry_log_init(2, getenv("FUZZ_LOG") ? FERRY_LOG_DEBUG : (enum ferry_log_level)-1);
    struct ferry_error *err = NULL;
    loop = net_loop_new(&(struct net_loop_options){ .quiet = true }, &err);
    static const char *aes[] = { "FERRY" };
    struct dul_policy pol = { .ae_titles = aes, .n_ae_titles = 1, .artim_ms = 200,
                              .pdu_ms = 500, .idle_ms = 1000, .max_pdu = 16384,
                              .max_assoc_pdu = 65536 };
    server = loop ? dul_server_new(loop, &pol, on_accept, NULL, &err) : NULL;
    if (!server || dul_server_listen(server, "127.0.0.1", 0, &err) < 0) {
        fprintf(stderr, "fuzz_dimse_assoc: %s\n", ferry_error_message(err));
        abort();
    }
    port = dul_server_port(server, 0);
    atexit(cleanup);
}

/* The A-ASSOCIATE-RQ, once. */
static size_t associate_rq(uint8_t *out, size_t cap)
{
    static const char *implicit[] = { "1.2.840.10008.1.2" };
    static const char *explicit[] = { "1.2.840.10008.1.2.1" };
    struct dul_pc pcs[3] = {
        { .id = 1, .abstract_syntax = "1.2.840.10008.1.1", .n_ts = 1, .ts = implicit },
        { .id = 3, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.2", .n_ts = 1, .ts = explicit },
        { .id = 5, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.2", .n_ts = 1, .ts = implicit },
    };
    struct dul_associate a = { .type = DUL_PDU_ASSOCIATE_RQ, .protocol_version = 1,
                               .called_ae = "FERRY", .calling_ae = "FUZZ", .pc = pcs, .n_pc = 3 };
    a.ui.max_length = 16384;
    a.ui.impl_class_uid = "1.2.3";
    ssize_t n = dul_encode_associate(&a, out, cap);
    if (n <= 0)
        abort();
    return (size_t)n;
}

/* The whole byte stream to send: the RQ, the records as P-DATA-TF PDUs, an
 * A-RELEASE-RQ. Returns its length (malloc'd into *out). */
static size_t build_stream(const uint8_t *data, size_t size, uint8_t **out)
{
    /* at most 5 bytes of framing per input byte, plus the RQ and release */
    size_t cap = 1024 + 5 * size + 16;
    uint8_t *b = malloc(cap);
    if (!b)
        abort();
    size_t n = associate_rq(b, cap);
    size_t pdu_at = 0; /* start of the open P-DATA-TF, 0: none */
    size_t off = 0;
    while (off < size) {
        uint8_t flags = data[off++];
        size_t len = 0;
        if (off < size)
            len = data[off++];
        if (off < size)
            len |= (size_t)data[off++] << 8;
        if (len > size - off)
            len = size - off;
        if (!(flags & 0x10) || !pdu_at) {
            pdu_at = n;
            b[n++] = 0x04;
            b[n++] = 0;
            n += 4; /* length, filled below */
        }
        static const uint8_t pc[] = { 1, 3, 5, 7 };
        uint32_t item = (uint32_t)len + 2;
        b[n++] = (uint8_t)(item >> 24);
        b[n++] = (uint8_t)(item >> 16);
        b[n++] = (uint8_t)(item >> 8);
        b[n++] = (uint8_t)item;
        b[n++] = pc[flags & 3];
        b[n++] = (uint8_t)(((flags >> 2) & 1) | ((flags >> 2) & 2));
        memcpy(b + n, data + off, len);
        n += len;
        off += len;
        uint32_t pdu_len = (uint32_t)(n - pdu_at - 6);
        b[pdu_at + 2] = (uint8_t)(pdu_len >> 24);
        b[pdu_at + 3] = (uint8_t)(pdu_len >> 16);
        b[pdu_at + 4] = (uint8_t)(pdu_len >> 8);
        b[pdu_at + 5] = (uint8_t)pdu_len;
    }
    dul_encode_release(DUL_PDU_RELEASE_RQ, b + n);
    n += 10;
    *out = b;
    return n;
}

/* What the acceptor sends back, PDU by PDU: is it over? */
struct pdu_scan {
    uint8_t head[6];
    size_t have;        /* header bytes seen of the current PDU */
    uint64_t skip;      /* body bytes still to pass */
    bool ended;         /* an A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT came */
};

static void scan_pdus(struct pdu_scan *s, const uint8_t *p, size_t n)
{
    while (n) {
        if (s->skip) {
            size_t k = s->skip < n ? (size_t)s->skip : n;
            s->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        s->head[s->have++] = *p++;
        n--;
        if (s->have == 6) {
            s->have = 0;
            s->skip = (uint64_t)s->head[2] << 24 | (uint64_t)s->head[3] << 16 |
                      (uint64_t)s->head[4] << 8 | s->head[5];
            if (s->head[0] == 3 || s->head[0] == 6 || s->head[0] == 7)
                s->ended = true;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 200000)
        return 0;
    setup();
    uint8_t *stream;
    size_t len = build_stream(data, size, &stream);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    connect(fd, (struct sockaddr *)&sa, sizeof sa); /* EINPROGRESS on loopback: fine */
    size_t off = 0;
    bool closed = false, shut = false;
    uint8_t sink[65536];
    uint64_t now = net_now_ms(), end = now + 3000, sent_at = 0;
    struct pdu_scan scan = { 0 };
    do {
        net_loop_run_once(loop, off < len ? 0 : 5);
        if (off < len) {
            ssize_t k = send(fd, stream + off, len - off, MSG_NOSIGNAL);
            if (k > 0)
                off += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
                off = len; /* the server closed on us */
            if (off == len)
                sent_at = net_now_ms();
        }
        ssize_t r;
        while ((r = recv(fd, sink, sizeof sink, 0)) > 0)
            scan_pdus(&scan, sink, (size_t)r);
        if (r == 0)
            closed = true;
        /* The requestor closes the connection after the A-RELEASE-RP (or an
         * A-ABORT or -RJ); if neither comes, a while after the last byte. */
        if (!shut && (scan.ended || (off == len && net_now_ms() > sent_at + 1500))) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
    } while ((!closed || open_assocs || dul_server_assoc_count(server)) && net_now_ms() < end);
    if (open_assocs || dul_server_assoc_count(server)) {
        fprintf(stderr, "fuzz_dimse_assoc: an association did not end within 3 s\n");
        abort();
    }
    close(fd);
    free(stream);
    return 0;
}
