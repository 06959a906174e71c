/* Fuzz target for the acceptor: any bytes as what a peer sends on one TCP
 * connection to a dul_server (framing, the state machine, negotiation, PDV
 * delivery with pause/resume, timers). The connection must end, nothing
 * may leak, no sanitizer report. Without FERRY_LIBFUZZER the main replays
 * the files given, or mutates a good exchange (RQ, command and data PDVs,
 * release) deterministically. */
#include "base/util.h"
#include "base/error.h"
#include "base/log.h"
#include "dul/dul.h"
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

struct upper {
    struct dul_assoc *a;
    struct net_timer resume;
    unsigned pdvs;
};

static void resume_fn(struct net_timer *t)
{
    struct upper *u = ferry_container_of(t, struct upper, resume);
    dul_resume(u->a);
}

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    struct upper *u = arg;
    uint8_t sum = 0;
    for (size_t i = 0; i < pdv->len; i++)
        sum ^= pdv->data[i]; /* touch every byte: ASan checks the bounds */
    __asm__ volatile("" : : "r"(sum));
    if (++u->pdvs % 3 == 0) {
        dul_pause(a);
        net_timer_arm(loop, &u->resume, 0);
    }
    if (pdv->command && pdv->last && (pdv->data[0] & 1))
        dul_send_pdv(a, pdv->pc_id, true, true, pdv->data, pdv->len & ~(size_t)1);
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct upper *u = arg;
    net_timer_cancel(loop, &u->resume);
    free(u);
}

static const struct dul_assoc_ops ops = { .on_pdv = on_pdv, .on_closed = on_closed };

static void on_accept(struct dul_server *s, void *arg, struct dul_assoc *a)
{
    (void)s;
    (void)arg;
    struct upper *u = calloc(1, sizeof *u);
    u->a = a;
    net_timer_init(&u->resume, resume_fn);
    dul_assoc_set_ops(a, &ops, u);
}

static void setup(void)
{
    if (loop)
        return;
    ferry_log_init(2, getenv("FUZZ_LOG") ? FERRY_LOG_DEBUG : (enum ferry_log_level)-1);
    struct ferry_error *err = NULL;
    struct net_loop_options opt = { .quiet = true };
    loop = net_loop_new(&opt, &err);
    static const char *aes[] = { "FERRY" };
    struct dul_policy pol = { .ae_titles = aes, .n_ae_titles = 1, .artim_ms = 50, .pdu_ms = 200,
                              .idle_ms = 500, .max_pdu = 16384, .max_assoc_pdu = 65536 };
    server = dul_server_new(loop, &pol, on_accept, NULL, &err);
    if (!loop || !server || dul_server_listen(server, "127.0.0.1", 0, &err) < 0) {
        fprintf(stderr, "fuzz_dul_assoc: %s\n", ferry_error_message(err));
        abort();
    }
    port = dul_server_port(server, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    connect(fd, (struct sockaddr *)&sa, sizeof sa); /* EINPROGRESS on loopback: fine */
    size_t off = 0;
    bool shut = false;
    uint8_t sink[65536];
    uint64_t end = net_now_ms() + 3000;
    do {
        net_loop_run_once(loop, off < size ? 0 : 5);
        if (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
                off = size; /* the server closed on us */
        } else if (!shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        while (recv(fd, sink, sizeof sink, 0) > 0)
            ;
    } while ((!shut || dul_server_assoc_count(server)) && net_now_ms() < end);
    if (dul_server_assoc_count(server)) {
        fprintf(stderr, "fuzz_dul_assoc: an association did not end within 3 s\n");
        abort();
    }
    close(fd);
    return 0;
}

#ifndef FERRY_LIBFUZZER

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static size_t good_exchange(uint8_t *out, size_t cap)
{
    static const char *ts[] = { "1.2.840.10008.1.2" };
    struct dul_pc pcs[2] = {
        { .id = 1, .abstract_syntax = "1.2.840.10008.1.1", .n_ts = 1, .ts = ts },
        { .id = 3, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.2", .n_ts = 1, .ts = ts },
    };
    struct dul_associate a = { .type = DUL_PDU_ASSOCIATE_RQ, .protocol_version = 1,
                               .called_ae = "FERRY", .calling_ae = "FUZZ", .pc = pcs, .n_pc = 2 };
    a.ui.max_length = 4096;
    a.ui.impl_class_uid = "1.2.3";
    size_t n = (size_t)dul_encode_associate(&a, out, cap);
    uint8_t cmd[68], ds[900];
    memset(cmd, 1, sizeof cmd);
    memset(ds, 2, sizeof ds);
    struct dul_pdv p1[2] = { { .pc_id = 1, .mch = 3, .data = cmd, .len = sizeof cmd },
                             { .pc_id = 3, .mch = 0, .data = ds, .len = 300 } };
    n += (size_t)dul_encode_pdata(p1, 2, out + n, cap - n);
    struct dul_pdv p2[2] = { { .pc_id = 3, .mch = 0, .data = ds, .len = 300 },
                             { .pc_id = 3, .mch = 2, .data = ds, .len = 300 } };
    n += (size_t)dul_encode_pdata(p2, 2, out + n, cap - n);
    dul_encode_release(DUL_PDU_RELEASE_RQ, out + n);
    return n + 10;
}

int main(int argc, char **argv)
{
    static uint8_t buf[70000], mut[70000];
    setup();
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f) {
                perror(argv[i]);
                return 1;
            }
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
    } else {
        size_t n = good_exchange(buf, sizeof buf);
        LLVMFuzzerTestOneInput(buf, n);
        int runs = getenv("FUZZ_RUNS") ? atoi(getenv("FUZZ_RUNS")) : 1500;
        for (int i = 0; i < runs; i++) {
            size_t m = n;
            memcpy(mut, buf, n);
            int edits = 1 + (int)(next() % 3);
            for (int e = 0; e < edits && m > 1; e++) {
                size_t at = next() % m;
                switch (next() % 4) {
                case 0:
                    mut[at] ^= (uint8_t)(1 + next() % 255);
                    break;
                case 1:
                    mut[at] = (uint8_t)(next() & 1 ? 0xff : 0);
                    break;
                case 2:
                    m = at + 1;
                    break;
                default:
                    memmove(mut + at + 1, mut + at, m - at);
                    mut[at] = (uint8_t)next();
                    m++;
                    break;
                }
            }
            LLVMFuzzerTestOneInput(mut, m);
        }
        printf("fuzz_dul_assoc: %d mutated exchanges, every association ended\n", runs);
    }
    dul_server_free(server);
    net_loop_free(loop);
    return 0;
}

#endif
