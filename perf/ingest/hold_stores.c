/* hold_stores — opens N associations to a DICOM acceptor with dimse (all
 * from one net loop), sends one C-STORE of a generated CT-like instance of
 * BYTES pixel bytes on each (0: none), waits for every response, prints
 * "HELD n stored s" and keeps the associations open until stdin closes, then
 * releases them. A measuring tool (perf/, never a test) for the receiver's
 * memory with many associations; it also shows the dimse SCU API at work.
 *
 * usage: hold_stores PORT N [BYTES]
 */
#include "base/error.h"
#include "base/log.h"
#include "dcm/dcm.h"
#include "dimse/dimse.h"
#include "net/net.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CT "1.2.840.10008.5.1.4.1.1.2"
#define EXPLICIT "1.2.840.10008.1.2.1"

static struct net_loop *loop;
static size_t n_want, n_ready, n_stored, n_answered, n_closed, n_failed;
static size_t pixel_bytes;

struct held {
    struct dimse_assoc *da;
    unsigned index;
    bool ready, closed;
    struct dcm_buf ds;
    size_t sent;
};

static void pump(struct held *h)
{
    while (h->sent < h->ds.len && !dimse_send_congested(h->da)) {
        size_t n = h->ds.len - h->sent < 65536 ? h->ds.len - h->sent : 65536;
        if (dimse_send_data(h->da, 3, h->ds.data + h->sent, n, h->sent + n == h->ds.len) < 0)
            return;
        h->sent += n;
    }
}

static void make_instance(struct held *h)
{
    char uid[64];
    snprintf(uid, sizeof uid, "1.2.826.0.1.3680043.9.7433.5.%u.%ld", h->index, (long)getpid());
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_NONE, CT);
    dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, uid);
    dcm_dataset_set_string(ds, DCM_TAG_PatientID, DCM_VR_NONE, "HOLD");
    dcm_dataset_set_string(ds, DCM_TAG_StudyInstanceUID, DCM_VR_NONE, "1.2.826.0.1.3680043.9.7433.5");
    dcm_dataset_set_string(ds, DCM_TAG_SeriesInstanceUID, DCM_VR_NONE,
                           "1.2.826.0.1.3680043.9.7433.5.0");
    dcm_dataset_set_string(ds, DCM_TAG_Modality, DCM_VR_NONE, "CT");
    if (pixel_bytes) {
        uint8_t *px = calloc(1, pixel_bytes);
        dcm_dataset_set_take(ds, DCM_TAG_PixelData, DCM_VR_OW, px, (uint32_t)pixel_bytes);
    }
    dcm_write_buf(ds, EXPLICIT, 0, &h->ds, NULL);
    dcm_dataset_unref(ds);
}

static void on_established(struct dimse_assoc *da, void *ud)
{
    struct held *h = ud;
    h->ready = true;
    n_ready++;
    if (!pixel_bytes)
        return;
    make_instance(h);
    char uid[64];
    snprintf(uid, sizeof uid, "1.2.826.0.1.3680043.9.7433.5.%u.%ld", h->index, (long)getpid());
    struct dimse_store_send rq = { .pc_id = 3, .message_id = 1, .sop_class_uid = CT,
                                   .sop_instance_uid = uid };
    struct ferry_error *err = NULL;
    if (dimse_send_store_rq(da, &rq, &err) < 0) {
        fprintf(stderr, "hold_stores: %s\n", ferry_error_message(err));
        ferry_error_free(err);
        return;
    }
    pump(h);
}

static void on_writable(struct dimse_assoc *da, void *ud)
{
    (void)da;
    pump(ud);
}

static void on_response(struct dimse_assoc *da, void *ud, const struct dimse_rsp *rsp)
{
    (void)da;
    struct held *h = ud;
    n_answered++;
    if (rsp->status == 0)
        n_stored++;
    dcm_buf_free(&h->ds);
}

static void on_rejected(struct dimse_assoc *da, void *ud, const struct dul_reject *rj)
{
    (void)da;
    (void)ud;
    (void)rj;
    n_failed++;
}

static void on_aborted(struct dimse_assoc *da, void *ud, const struct dul_abort_info *why)
{
    (void)da;
    (void)ud;
    (void)why;
    n_failed++;
}

static void on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct held *h = ud;
    h->closed = true;
    n_closed++;
}

static const struct dimse_ops ops = {
    .on_established = on_established,
    .on_response = on_response,
    .on_writable = on_writable,
    .on_rejected = on_rejected,
    .on_aborted = on_aborted,
    .on_closed = on_closed,
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: hold_stores PORT N [BYTES]\n");
        return 2;
    }
    ferry_log_init(2, FERRY_LOG_WARN);
    struct sockaddr_storage addr;
    socklen_t addrlen;
    net_addr_parse("127.0.0.1", (uint16_t)atoi(argv[1]), &addr, &addrlen);
    n_want = (size_t)atol(argv[2]);
    pixel_bytes = argc > 3 ? (size_t)atol(argv[3]) : 0;
    struct ferry_error *err = NULL;
    loop = net_loop_new(&(struct net_loop_options){ .quiet = true }, &err);
    if (!loop)
        return 1;
    static const char *echo_ts[] = { "1.2.840.10008.1.2" };
    static const char *ct_ts[] = { EXPLICIT };
    static const struct dul_proposal props[] = {
        { .abstract_syntax = "1.2.840.10008.1.1", .transfer_syntaxes = echo_ts,
          .n_transfer_syntaxes = 1 },
        { .abstract_syntax = CT, .transfer_syntaxes = ct_ts, .n_transfer_syntaxes = 1 },
    };
    struct held *held = calloc(n_want, sizeof *held);
    for (size_t i = 0; i < n_want; i++) {
        struct dul_request rq = { .calling_ae = "HOLDER", .called_ae = "FERRY",
                                  .addr = (struct sockaddr *)&addr, .addrlen = addrlen,
                                  .proposals = props, .n_proposals = 2, .max_pdu = 16384 };
        held[i].index = (unsigned)i;
        held[i].da = dimse_connect(loop, &rq, &ops, &held[i], NULL, &err);
        if (!held[i].da) {
            fprintf(stderr, "hold_stores: %s\n", ferry_error_message(err));
            return 1;
        }
        /* a few at a time, so that the acceptor's backlog keeps up */
        if (i % 32 == 31)
            for (int k = 0; k < 20; k++)
                net_loop_run_once(loop, 5);
    }
    uint64_t end = net_now_ms() + 120000;
    while (net_now_ms() < end && n_ready + n_failed < n_want)
        net_loop_run_once(loop, 20);
    while (net_now_ms() < end && pixel_bytes && n_answered + n_failed < n_want)
        net_loop_run_once(loop, 20);
    printf("HELD %zu stored %zu failed %zu\n", n_ready, n_stored, n_failed);
    fflush(stdout);
    /* hold until stdin closes */
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    for (;;) {
        net_loop_run_once(loop, 50);
        if (poll(&pfd, 1, 0) > 0) {
            char b[64];
            if (read(0, b, sizeof b) <= 0)
                break;
        }
    }
    for (size_t i = 0; i < n_want; i++)
        if (held[i].ready && !held[i].closed)
            dimse_release(held[i].da);
    end = net_now_ms() + 10000;
    while (net_now_ms() < end && n_closed < n_want)
        net_loop_run_once(loop, 20);
    net_loop_free(loop);
    free(held);
    return 0;
}
