/* dul_test_client — a DICOM requestor built from net + dul only, for the
 * interop tests against real acceptors (DCMTK storescp).
 *
 * TEST SCAFFOLDING: the C-ECHO-RQ and C-STORE-RQ command sets are built by
 * hand here; the real DIMSE layer is the `dimse` module.
 *
 * usage: dul_test_client PORT CALLED_AE FILE [MAX_PDU]
 * Proposes Verification, FILE's SOP class in FILE's transfer syntax, the
 * same SOP class in explicit/implicit VR little endian, and an abstract
 * syntax nobody knows; sends a C-ECHO, then FILE's data set (streamed,
 * paced by on_writable) and releases. stdout:
 *   CONTEXT <pc_id> <result> <abstract> <ts|->
 *   MAXSEND <n>
 *   ECHO-RSP <status>   STORE-RSP <status>   RELEASED | ABORTED <why> | REJECTED r/s/r
 * Exit 0 when both statuses are 0 and the association was released.
 */
#include "base/error.h"
#include "base/log.h"
#include "dul/dul.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFICATION "1.2.840.10008.1.1"
#define EXPLICIT "1.2.840.10008.1.2.1"
#define IMPLICIT "1.2.840.10008.1.2"

static struct net_loop *loop;
static char sop_class[65], sop_instance[65], ts[65];
static uint8_t *file;
static size_t file_len, ds_off, sent;
static uint8_t store_pc;
static int echo_status = -1, store_status = -1;
static bool released, done;
static uint8_t rsp[4096];
static size_t rsp_len;

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The meta group (explicit VR little endian): find the data set and the
 * three UIDs. */
static bool read_meta(void)
{
    if (file_len < 144 || memcmp(file + 128, "DICM", 4) != 0)
        return false;
    size_t off = 132;
    while (off + 8 <= file_len && le16(file + off) == 0x0002) {
        uint16_t elem = le16(file + off + 2);
        const char *vr = (const char *)file + off + 4;
        size_t hdr = 8, len = le16(file + off + 6);
        if (!memcmp(vr, "OB", 2) || !memcmp(vr, "UN", 2) || !memcmp(vr, "SQ", 2) ||
            !memcmp(vr, "UT", 2)) {
            hdr = 12;
            len = le32(file + off + 8);
        }
        char *dst = elem == 0x0002 ? sop_class : elem == 0x0003 ? sop_instance
                  : elem == 0x0010 ? ts : NULL;
        if (dst && len < 65) {
            size_t k = len;
            memcpy(dst, file + off + hdr, k);
            dst[k] = '\0';
            while (k && (dst[k - 1] == 0 || dst[k - 1] == ' '))
                dst[--k] = '\0';
        }
        off += hdr + len;
    }
    ds_off = off;
    return sop_class[0] && sop_instance[0] && ts[0];
}

static size_t put_elem(uint8_t *p, uint16_t elem, const void *v, uint32_t len)
{
    uint8_t h[8] = { 0, 0, (uint8_t)elem, (uint8_t)(elem >> 8), (uint8_t)len, (uint8_t)(len >> 8),
                     (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
    memcpy(p, h, 8);
    memcpy(p + 8, v, len);
    return 8 + len;
}

static size_t put_uid(uint8_t *p, uint16_t elem, const char *uid)
{
    char b[66];
    size_t n = strlen(uid);
    memcpy(b, uid, n);
    if (n & 1)
        b[n++] = '\0';
    return put_elem(p, elem, b, (uint32_t)n);
}

static size_t put_us(uint8_t *p, uint16_t elem, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return put_elem(p, elem, b, 2);
}

static size_t command(uint8_t *buf, uint16_t field, uint16_t id, const char *cls, const char *inst)
{
    size_t n = 12;
    n += put_uid(buf + n, 0x0002, cls);
    n += put_us(buf + n, 0x0100, field);
    n += put_us(buf + n, 0x0110, id);
    if (inst)
        n += put_us(buf + n, 0x0700, 0);
    n += put_us(buf + n, 0x0800, inst ? 0x0000 : 0x0101);
    if (inst)
        n += put_uid(buf + n, 0x1000, inst);
    uint32_t gl = (uint32_t)(n - 12);
    uint8_t g[4] = { (uint8_t)gl, (uint8_t)(gl >> 8), (uint8_t)(gl >> 16), (uint8_t)(gl >> 24) };
    put_elem(buf, 0x0000, g, 4);
    return n;
}

static int status_of(const uint8_t *p, size_t n)
{
    for (size_t off = 0; off + 8 <= n;) {
        uint32_t len = le32(p + off + 4);
        if (le16(p + off + 2) == 0x0900 && len == 2)
            return le16(p + off + 8);
        off += 8 + len;
    }
    return -1;
}

static void pump(struct dul_assoc *a)
{
    size_t total = file_len - ds_off;
    size_t limit = dul_assoc_info(a)->max_send_pdu;
    while (sent < total && dul_send_queued(a) <= limit) {
        size_t n = total - sent < 10000 ? total - sent : 10000;
        if (dul_send_pdv(a, store_pc, false, sent + n == total, file + ds_off + sent, n) < 0)
            return;
        sent += n;
    }
}

static void on_established(struct dul_assoc *a, void *arg)
{
    (void)arg;
    const struct dul_assoc_info *info = dul_assoc_info(a);
    for (size_t i = 0; i < info->n_contexts; i++) {
        const struct dul_context *c = &info->contexts[i];
        printf("CONTEXT %u %u %s %s\n", c->id, c->result, c->abstract_syntax,
               c->transfer_syntax[0] ? c->transfer_syntax : "-");
    }
    printf("MAXSEND %u\n", info->max_send_pdu);
    const struct dul_context *v = dul_assoc_find_context(a, VERIFICATION, NULL);
    const struct dul_context *s = dul_assoc_find_context(a, sop_class, ts);
    if (!v || !s) {
        printf("NO-CONTEXT\n");
        dul_abort(a);
        return;
    }
    store_pc = s->id;
    uint8_t cmd[256];
    size_t n = command(cmd, 0x0030, 1, VERIFICATION, NULL);
    dul_send_pdv(a, v->id, true, true, cmd, n);
}

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    (void)arg;
    if (!pdv->command || rsp_len + pdv->len > sizeof rsp)
        return;
    memcpy(rsp + rsp_len, pdv->data, pdv->len);
    rsp_len += pdv->len;
    if (!pdv->last)
        return;
    int status = status_of(rsp, rsp_len);
    rsp_len = 0;
    if (echo_status < 0) {
        echo_status = status;
        printf("ECHO-RSP %d\n", status);
        uint8_t cmd[256];
        size_t n = command(cmd, 0x0001, 2, sop_class, sop_instance);
        dul_send_pdv(a, store_pc, true, true, cmd, n);
        pump(a);
    } else {
        store_status = status;
        printf("STORE-RSP %d\n", status);
        dul_release(a);
    }
}

static void on_writable(struct dul_assoc *a, void *arg)
{
    (void)arg;
    pump(a);
}

static void on_released(struct dul_assoc *a, void *arg)
{
    (void)a;
    (void)arg;
    released = true;
    printf("RELEASED\n");
}

static void on_rejected(struct dul_assoc *a, void *arg, const struct dul_reject *rj)
{
    (void)a;
    (void)arg;
    printf("REJECTED %u/%u/%u\n", rj->result, rj->source, rj->reason);
}

static void on_aborted(struct dul_assoc *a, void *arg, const struct dul_abort_info *why)
{
    (void)a;
    (void)arg;
    printf("ABORTED %s\n", why->message ? why->message : "-");
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    (void)arg;
    done = true;
    net_loop_stop(loop);
}

static const struct dul_assoc_ops ops = {
    .on_established = on_established,
    .on_pdv = on_pdv,
    .on_released = on_released,
    .on_rejected = on_rejected,
    .on_aborted = on_aborted,
    .on_writable = on_writable,
    .on_closed = on_closed,
};

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: dul_test_client PORT CALLED_AE FILE [MAX_PDU]\n");
        return 2;
    }
    ferry_log_init(2, FERRY_LOG_INFO);
    FILE *f = fopen(argv[3], "rb");
    if (!f) {
        perror(argv[3]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    file_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    file = malloc(file_len);
    if (fread(file, 1, file_len, f) != file_len || !read_meta()) {
        fprintf(stderr, "%s: not a Part 10 file this client can read\n", argv[3]);
        return 2;
    }
    fclose(f);
    struct ferry_error *err = NULL;
    loop = net_loop_new(NULL, &err);
    if (!loop)
        goto out_err;
    struct sockaddr_storage sa;
    socklen_t len;
    net_addr_parse("127.0.0.1", (uint16_t)atoi(argv[1]), &sa, &len);
    const char *echo_ts[] = { IMPLICIT };
    const char *file_ts[] = { ts };
    const char *plain[] = { EXPLICIT, IMPLICIT };
    struct dul_proposal props[] = {
        { .abstract_syntax = VERIFICATION, .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
        { .abstract_syntax = sop_class, .transfer_syntaxes = file_ts, .n_transfer_syntaxes = 1 },
        { .abstract_syntax = sop_class, .transfer_syntaxes = plain, .n_transfer_syntaxes = 2 },
        { .abstract_syntax = "1.2.826.0.1.3680043.9.7433.404", .transfer_syntaxes = echo_ts,
          .n_transfer_syntaxes = 1 },
    };
    struct dul_request rq = {
        .calling_ae = "FERRYSCU",
        .called_ae = argv[2],
        .addr = (struct sockaddr *)&sa,
        .addrlen = len,
        .proposals = props,
        .n_proposals = 4,
        .max_pdu = argc > 4 ? (uint32_t)atoi(argv[4]) : 0,
        .async_window = true,
    };
    if (!dul_connect(loop, &rq, &ops, NULL, &err))
        goto out_err;
    net_loop_run(loop);
    net_loop_free(loop);
    free(file);
    fflush(stdout);
    return echo_status == 0 && store_status == 0 && released ? 0 : 1;

out_err:
    fprintf(stderr, "dul_test_client: %s\n", ferry_error_message(err));
    return 1;
}
