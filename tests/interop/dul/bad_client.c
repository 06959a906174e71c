/* bad_client — a misbehaving DICOM peer made of raw sockets, for the
 * interop tests. Each case runs in its own thread against the server on
 * 127.0.0.1:PORT and checks how the server ends that association: an
 * A-ABORT with the expected source and reason, or a close. Prints
 * "ok NAME" or "FAIL NAME: why" per case; exits 1 if any case failed.
 *
 * usage: bad_client PORT [CASE...]   (no CASE: all of them)
 * The server is expected to run with --pdu-ms 1500 --artim-ms 3000.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t port;

/* ------------------------------------------------------- PDU building */

struct buf {
    uint8_t b[2 << 20];
    size_t n;
};

static void u8(struct buf *b, uint8_t v) { b->b[b->n++] = v; }
static void u16(struct buf *b, uint16_t v) { u8(b, (uint8_t)(v >> 8)); u8(b, (uint8_t)v); }
static void u32(struct buf *b, uint32_t v) { u16(b, (uint16_t)(v >> 16)); u16(b, (uint16_t)v); }
static void str(struct buf *b, const char *s) { memcpy(b->b + b->n, s, strlen(s)); b->n += strlen(s); }

static size_t item(struct buf *b, uint8_t type)
{
    u8(b, type);
    u8(b, 0);
    size_t at = b->n;
    u16(b, 0);
    return at;
}

static void end16(struct buf *b, size_t at)
{
    size_t len = b->n - at - 2;
    b->b[at] = (uint8_t)(len >> 8);
    b->b[at + 1] = (uint8_t)len;
}

static void uid_item(struct buf *b, uint8_t type, const char *uid)
{
    size_t at = item(b, type);
    str(b, uid);
    end16(b, at);
}

static void pdu_end(struct buf *b)
{
    uint32_t len = (uint32_t)(b->n - 6);
    b->b[2] = (uint8_t)(len >> 24);
    b->b[3] = (uint8_t)(len >> 16);
    b->b[4] = (uint8_t)(len >> 8);
    b->b[5] = (uint8_t)len;
}

enum rq_flaw { RQ_GOOD, RQ_LYING_PC_LENGTH, RQ_UNKNOWN_ITEM, RQ_UNKNOWN_ITEM_LYING,
               RQ_MISPLACED_ITEM, RQ_HUGE };

/* An A-ASSOCIATE-RQ: Verification (PC 1, implicit) and CT (PC 3, explicit). */
static void build_rq(struct buf *b, enum rq_flaw flaw)
{
    b->n = 0;
    u8(b, 0x01);
    u8(b, 0);
    u32(b, 0);
    u16(b, 1);
    u16(b, 0);
    str(b, "FERRY           ");
    str(b, "BADCLIENT       ");
    for (int i = 0; i < 32; i++)
        u8(b, 0);
    uid_item(b, 0x10, "1.2.840.10008.3.1.1.1");
    if (flaw == RQ_UNKNOWN_ITEM || flaw == RQ_UNKNOWN_ITEM_LYING) {
        size_t at = item(b, 0x77);
        str(b, "an item type PS3.8 does not define");
        end16(b, at);
        if (flaw == RQ_UNKNOWN_ITEM_LYING)
            b->b[at] = 0x40; /* claims 16 KiB more than there is */
    }
    if (flaw == RQ_MISPLACED_ITEM)
        uid_item(b, 0x30, "1.2.840.10008.1.1");
    for (int k = 0; k < 2; k++) {
        size_t at = item(b, 0x20);
        u8(b, (uint8_t)(2 * k + 1));
        u8(b, 0);
        u8(b, 0);
        u8(b, 0);
        uid_item(b, 0x30, k == 0 ? "1.2.840.10008.1.1" : "1.2.840.10008.5.1.4.1.1.2");
        uid_item(b, 0x40, k == 0 ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1");
        end16(b, at);
        if (flaw == RQ_LYING_PC_LENGTH && k == 0) {
            b->b[at] = 0;
            b->b[at + 1] = 200;
        }
    }
    size_t at = item(b, 0x50);
    size_t s = item(b, 0x51);
    u32(b, 16384);
    end16(b, s);
    uid_item(b, 0x52, "1.2.3.4.5.6.7");
    end16(b, at);
    if (flaw == RQ_HUGE) {
        /* 1 MiB of unknown items: over the 256 KiB A-ASSOCIATE limit */
        while (b->n < (1u << 20)) {
            size_t u = item(b, 0x7f);
            memset(b->b + b->n, 'x', 60000);
            b->n += 60000;
            end16(b, u);
        }
    }
    pdu_end(b);
}

/* A P-DATA-TF with one PDV of len bytes. */
static void build_pdata(struct buf *b, uint8_t pc, uint8_t mch, size_t len)
{
    b->n = 0;
    u8(b, 0x04);
    u8(b, 0);
    u32(b, 0);
    u32(b, (uint32_t)(len + 2));
    u8(b, pc);
    u8(b, mch);
    memset(b->b + b->n, 0xab, len);
    b->n += len;
    pdu_end(b);
}

/* ----------------------------------------------------------- sockets */

struct peer {
    int fd;
    char why[256];
};

static bool failf(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool failf(struct peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    return false;
}

static bool dial(struct peer *p)
{
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        return failf(p, "connect: %s", strerror(errno));
    return true;
}

static bool send_all(struct peer *p, const void *data, size_t n)
{
    const uint8_t *d = data;
    while (n) {
        ssize_t k = send(p->fd, d, n, MSG_NOSIGNAL);
        if (k < 0)
            return failf(p, "send: %s", strerror(errno));
        d += k;
        n -= (size_t)k;
    }
    return true;
}

/* Read exactly n bytes within ms; 0 ok, 1 closed, -1 timeout/error. */
static int read_n(struct peer *p, uint8_t *dst, size_t n, int ms)
{
    while (n) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        int r = poll(&pfd, 1, ms);
        if (r <= 0)
            return -1;
        ssize_t k = recv(p->fd, dst, n, 0);
        if (k == 0)
            return 1;
        if (k < 0)
            return errno == ECONNRESET ? 1 : -1;
        dst += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read one PDU (type and the first bytes of its body) within ms. */
static int read_pdu(struct peer *p, uint8_t *type, uint8_t body[64], uint32_t *len, int ms)
{
    uint8_t h[6];
    int r = read_n(p, h, 6, ms);
    if (r)
        return r;
    *type = h[0];
    *len = (uint32_t)h[2] << 24 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 8 | h[5];
    uint8_t sink[4096];
    size_t left = *len, off = 0;
    while (left) {
        size_t k = left < sizeof sink ? left : sizeof sink;
        r = read_n(p, sink, k, ms);
        if (r)
            return r;
        if (off < 64)
            memcpy(body + off, sink, off + k > 64 ? 64 - off : k);
        off += k;
        left -= k;
    }
    return 0;
}

static bool associate(struct peer *p)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    build_rq(&b, RQ_GOOD);
    bool ok = send_all(p, b.b, b.n);
    pthread_mutex_unlock(&lock);
    if (!ok)
        return false;
    uint8_t type, body[64];
    uint32_t len;
    if (read_pdu(p, &type, body, &len, 5000))
        return failf(p, "no answer to a good A-ASSOCIATE-RQ");
    if (type != 0x02)
        return failf(p, "PDU type 0x%02x in answer to a good A-ASSOCIATE-RQ", type);
    return true;
}

/* The server must send A-ABORT (source, reason) and then close (or close
 * after we do), all within ms. */
static bool expect_abort(struct peer *p, uint8_t source, uint8_t reason, int ms)
{
    uint8_t type, body[64];
    uint32_t len;
    for (;;) {
        int r = read_pdu(p, &type, body, &len, ms);
        if (r == 1)
            return failf(p, "connection closed without A-ABORT");
        if (r < 0)
            return failf(p, "no A-ABORT within %d ms", ms);
        if (type != 0x07)
            continue; /* e.g. an AC before the abort */
        if (len != 4 || body[2] != source || body[3] != reason)
            return failf(p, "A-ABORT source %u reason %u, expected %u/%u", body[2], body[3], source,
                         reason);
        break;
    }
    close(p->fd);
    return true;
}

/* The server must close the connection within ms (without an A-ABORT). */
static bool expect_close(struct peer *p, int ms)
{
    uint8_t type, body[64];
    uint32_t len;
    int r = read_pdu(p, &type, body, &len, ms);
    if (r == 0)
        return failf(p, "PDU type 0x%02x instead of a close", type);
    if (r < 0)
        return failf(p, "connection still open after %d ms", ms);
    close(p->fd);
    return true;
}

/* ------------------------------------------------------------- cases */

static bool case_truncated_rq(struct peer *p)
{
    static struct buf b;
    build_rq(&b, RQ_GOOD);
    if (!dial(p) || !send_all(p, b.b, 50))
        return false;
    shutdown(p->fd, SHUT_WR); /* the rest never comes */
    return expect_close(p, 5000);
}

static bool case_truncated_rq_silent(struct peer *p)
{
    static struct buf b;
    build_rq(&b, RQ_GOOD);
    if (!dial(p) || !send_all(p, b.b, 50))
        return false;
    /* nothing more: the PDU timer (1.5 s) ends it; Sta2 aborts with AA-1 */
    return expect_abort(p, 0, 0, 5000);
}

static bool rq_flaw_aborted(struct peer *p, enum rq_flaw flaw)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!dial(p))
        return false;
    pthread_mutex_lock(&lock);
    build_rq(&b, flaw);
    bool ok = send_all(p, b.b, b.n);
    pthread_mutex_unlock(&lock);
    /* Sta2: any malformed PDU gets AA-1 (A-ABORT, service-user source) */
    return ok && expect_abort(p, 0, 0, 5000);
}

static bool case_lying_length(struct peer *p) { return rq_flaw_aborted(p, RQ_LYING_PC_LENGTH); }
static bool case_unknown_item_lying(struct peer *p) { return rq_flaw_aborted(p, RQ_UNKNOWN_ITEM_LYING); }
static bool case_misplaced_item(struct peer *p) { return rq_flaw_aborted(p, RQ_MISPLACED_ITEM); }
static bool case_oversize_rq(struct peer *p) { return rq_flaw_aborted(p, RQ_HUGE); }

static bool case_unknown_item_skipped(struct peer *p)
{
    static struct buf b;
    build_rq(&b, RQ_UNKNOWN_ITEM);
    if (!dial(p) || !send_all(p, b.b, b.n))
        return false;
    uint8_t type, body[64];
    uint32_t len;
    if (read_pdu(p, &type, body, &len, 5000) || type != 0x02)
        return failf(p, "a well-formed item of an undefined type was not skipped (PS3.8 9.3.1)");
    uint8_t rel[10] = { 0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0 };
    if (!send_all(p, rel, 10))
        return false;
    if (read_pdu(p, &type, body, &len, 5000) || type != 0x06)
        return failf(p, "no A-RELEASE-RP");
    close(p->fd);
    return true;
}

static bool case_pdata_before_association(struct peer *p)
{
    static struct buf b;
    build_pdata(&b, 1, 3, 68);
    if (!dial(p) || !send_all(p, b.b, b.n))
        return false;
    return expect_abort(p, 0, 0, 5000);
}

static bool case_unknown_pdu_type(struct peer *p)
{
    uint8_t pdu[10] = { 0x09, 0, 0, 0, 0, 4, 1, 2, 3, 4 };
    if (!dial(p) || !associate(p) || !send_all(p, pdu, sizeof pdu))
        return false;
    return expect_abort(p, 2, 1, 5000);
}

static bool case_oversize_pdata(struct peer *p)
{
    /* a header announcing 10 MiB; the server must not wait for it */
    uint8_t h[12] = { 0x04, 0, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x9f, 0xff, 0xfe, 1, 0 };
    if (!dial(p) || !associate(p) || !send_all(p, h, sizeof h))
        return false;
    return expect_abort(p, 2, 6, 5000);
}

static bool case_slow_drip(struct peer *p)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!dial(p) || !associate(p))
        return false;
    pthread_mutex_lock(&lock);
    build_pdata(&b, 1, 3, 68);
    uint8_t pdu[80];
    memcpy(pdu, b.b, 80);
    pthread_mutex_unlock(&lock);
    /* one byte a second, at most 10 bytes: the server's 1.5 s per PDU ends it */
    for (int i = 0; i < 10; i++) {
        if (send(p->fd, pdu + i, 1, MSG_NOSIGNAL) != 1)
            break;
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        if (poll(&pfd, 1, 1000) > 0)
            break;
    }
    return expect_abort(p, 2, 0, 5000);
}

static bool case_reset_mid_pdu(struct peer *p)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!dial(p) || !associate(p))
        return false;
    pthread_mutex_lock(&lock);
    build_pdata(&b, 3, 0, 60000);
    bool ok = send_all(p, b.b, 30000);
    pthread_mutex_unlock(&lock);
    if (!ok)
        return false;
    usleep(100000);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(p->fd); /* RST */
    return true;   /* the server's side is checked in its log */
}

static bool case_pdv_unaccepted_context(struct peer *p)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!dial(p) || !associate(p))
        return false;
    pthread_mutex_lock(&lock);
    build_pdata(&b, 99, 3, 68);
    bool ok = send_all(p, b.b, b.n);
    pthread_mutex_unlock(&lock);
    return ok && expect_abort(p, 2, 5, 5000);
}

static bool case_malformed_pdv(struct peer *p)
{
    uint8_t pdu[11] = { 0x04, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1 };
    if (!dial(p) || !associate(p) || !send_all(p, pdu, sizeof pdu))
        return false;
    return expect_abort(p, 2, 6, 5000);
}

static bool case_unexpected_release_rp(struct peer *p)
{
    uint8_t rp[10] = { 0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0 };
    if (!dial(p) || !associate(p) || !send_all(p, rp, sizeof rp))
        return false;
    return expect_abort(p, 2, 2, 5000);
}

static bool case_second_rq(struct peer *p)
{
    static struct buf b;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (!dial(p) || !associate(p))
        return false;
    pthread_mutex_lock(&lock);
    build_rq(&b, RQ_GOOD);
    bool ok = send_all(p, b.b, b.n);
    pthread_mutex_unlock(&lock);
    return ok && expect_abort(p, 2, 2, 5000);
}

static bool case_silent_connection(struct peer *p)
{
    /* connect and say nothing: ARTIM (3 s) closes it (AA-2, no A-ABORT) */
    if (!dial(p))
        return false;
    return expect_close(p, 6000);
}

static const struct {
    const char *name;
    bool (*fn)(struct peer *p);
} cases[] = {
    { "truncated_rq", case_truncated_rq },
    { "truncated_rq_silent", case_truncated_rq_silent },
    { "lying_length", case_lying_length },
    { "unknown_item_lying", case_unknown_item_lying },
    { "unknown_item_skipped", case_unknown_item_skipped },
    { "misplaced_item", case_misplaced_item },
    { "oversize_rq", case_oversize_rq },
    { "pdata_before_association", case_pdata_before_association },
    { "unknown_pdu_type", case_unknown_pdu_type },
    { "oversize_pdata", case_oversize_pdata },
    { "slow_drip", case_slow_drip },
    { "reset_mid_pdu", case_reset_mid_pdu },
    { "pdv_unaccepted_context", case_pdv_unaccepted_context },
    { "malformed_pdv", case_malformed_pdv },
    { "unexpected_release_rp", case_unexpected_release_rp },
    { "second_rq", case_second_rq },
    { "silent_connection", case_silent_connection },
};

#define N_CASES (sizeof cases / sizeof cases[0])

struct run {
    size_t i;
    bool ok;
    struct peer p;
    pthread_t th;
};

static void *run_case(void *arg)
{
    struct run *r = arg;
    r->p.fd = -1;
    r->ok = cases[r->i].fn(&r->p);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bad_client PORT [CASE...]\n");
        return 2;
    }
    port = (uint16_t)atoi(argv[1]);
    static struct run runs[N_CASES];
    size_t n = 0;
    for (size_t i = 0; i < N_CASES; i++) {
        bool wanted = argc == 2;
        for (int k = 2; k < argc; k++)
            wanted |= strcmp(argv[k], cases[i].name) == 0;
        if (!wanted)
            continue;
        runs[n].i = i;
        pthread_create(&runs[n].th, NULL, run_case, &runs[n]);
        n++;
    }
    int failed = 0;
    for (size_t k = 0; k < n; k++) {
        pthread_join(runs[k].th, NULL);
        if (runs[k].ok) {
            printf("ok %s\n", cases[runs[k].i].name);
        } else {
            printf("FAIL %s: %s\n", cases[runs[k].i].name, runs[k].p.why);
            failed++;
        }
    }
    return failed ? 1 : 0;
}
