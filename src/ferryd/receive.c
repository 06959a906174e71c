/* ferryd: the receive path — each accepted association gets a dimse layer
 * whose C-STOREs go to the spool writer; the C-STORE-RSP goes out when the
 * spool says the instance is durable and recorded (or why not).
 *
 * Log lines: a refused or failed instance is one warning naming the
 * association (peer, AE titles), the SOP Instance UID, the reason and what
 * was done; a stored one is a debug line; each association ends with one
 * info line counting what it brought. */
#include "ferryd/ferryd.h"

#include "base/log.h"
#include "dimse/dimse.h"
#include "store/spool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rx_assoc {
    struct ferryd *d;
    struct rx_assoc *prev, *next;
    struct dimse_assoc *da;
    struct dimse_store *st;     /* the C-STORE in progress */
    struct store_write *w;      /* its file */
    char sop_instance[80];      /* of the C-STORE in progress, for the log */
    uint64_t stored, refused, bytes;
};

static const char *ctx_of(struct rx_assoc *rx)
{
    return dul_assoc_log_ctx(dimse_assoc_dul(rx->da));
}

static uint16_t status_for(enum store_write_status s)
{
    switch (s) {
    case STORE_WRITE_STORED:
        return DIMSE_STATUS_SUCCESS;
    case STORE_WRITE_DUPLICATE:
        return DIMSE_STATUS_DUPLICATE_INSTANCE;
    case STORE_WRITE_MALFORMED:
        return DIMSE_STATUS_CANNOT_UNDERSTAND;
    case STORE_WRITE_MISMATCH:
        return DIMSE_STATUS_DATASET_MISMATCH;
    case STORE_WRITE_NO_SPACE:
    case STORE_WRITE_FAILED:
    default:
        /* out of resources: the sender keeps the instance and tries later */
        return DIMSE_STATUS_OUT_OF_RESOURCES;
    }
}

static void write_resume(void *ud)
{
    struct rx_assoc *rx = ud;
    dimse_resume(rx->da);
}

static void write_done(void *ud, const struct store_write_result *r)
{
    struct rx_assoc *rx = ud;
    struct dimse_store *st = rx->st;
    rx->st = NULL;
    rx->w = NULL;
    uint16_t status = status_for(r->status);
    char comment[80];
    switch (r->status) {
    case STORE_WRITE_STORED:
        rx->stored++;
        rx->bytes += r->size;
        ferry_log(FERRY_LOG_DEBUG, ctx_of(rx), "C-STORE %s: stored as %s (%" PRIu64 " bytes%s)",
                  rx->sop_instance, r->path[0] ? r->path : "(an earlier copy kept)", r->size,
                  r->outcome == STORE_INGEST_REPLACED ? ", replacing an earlier copy" : "");
        comment[0] = '\0';
        break;
    case STORE_WRITE_MALFORMED:
    case STORE_WRITE_MISMATCH:
        rx->refused++;
        ferry_log(FERRY_LOG_WARN, ctx_of(rx),
                  "C-STORE %s: %s: %s; kept in quarantine as %s, answered 0x%04X",
                  rx->sop_instance,
                  r->status == STORE_WRITE_MALFORMED ? "malformed data set"
                                                     : "data set does not match the command",
                  r->message, r->path, status);
        snprintf(comment, sizeof comment, "%s", r->message);
        break;
    case STORE_WRITE_DUPLICATE:
        rx->refused++;
        ferry_log(FERRY_LOG_WARN, ctx_of(rx), "C-STORE %s: %s, answered 0x%04X",
                  rx->sop_instance, r->message, status);
        snprintf(comment, sizeof comment, "already stored (duplicates: reject)");
        break;
    case STORE_WRITE_NO_SPACE:
        rx->refused++;
        ferry_log(FERRY_LOG_ERROR, ctx_of(rx),
                  "C-STORE %s: out of disk space (%s); nothing kept, answered 0x%04X",
                  rx->sop_instance, r->message, status);
        snprintf(comment, sizeof comment, "out of disk space");
        break;
    default:
        rx->refused++;
        ferry_log(FERRY_LOG_ERROR, ctx_of(rx), "C-STORE %s: %s; nothing kept, answered 0x%04X",
                  rx->sop_instance, r->message, status);
        snprintf(comment, sizeof comment, "%s", r->message);
        break;
    }
    if (st)
        dimse_store_respond(st, status, comment[0] ? comment : NULL);
}

static const struct store_write_ops write_ops = {
    .resume = write_resume,
    .done = write_done,
};

/* ---------------------------------------------------------- dimse ops */

static uint16_t on_store(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                         const struct dimse_store_rq *rq, const char **comment)
{
    struct rx_assoc *rx = ud;
    struct ferryd *d = rx->d;
    if (d->stopping) {
        *comment = "ferry is shutting down; send it again later";
        return DIMSE_STATUS_OUT_OF_RESOURCES;
    }
    const struct dul_assoc_info *info = dul_assoc_info(dimse_assoc_dul(da));
    struct store_write_info wi = {
        .sop_class_uid = rq->sop_class_uid,
        .sop_instance_uid = rq->sop_instance_uid,
        .transfer_syntax = rq->transfer_syntax,
        .calling_ae = info->calling_ae,
        .called_ae = info->called_ae,
        .peer = info->peer,
        .peer_addr = info->peer_addr,
        .log_ctx = dul_assoc_log_ctx(dimse_assoc_dul(da)),
    };
    rx->w = store_write_begin(d->spool, &wi, &write_ops, rx);
    if (!rx->w) {
        ferry_log(FERRY_LOG_ERROR, ctx_of(rx), "C-STORE %s: out of memory, answered 0x%04X",
                  rq->sop_instance_uid, DIMSE_STATUS_OUT_OF_RESOURCES);
        *comment = "out of memory";
        return DIMSE_STATUS_OUT_OF_RESOURCES;
    }
    rx->st = st;
    snprintf(rx->sop_instance, sizeof rx->sop_instance, "%s",
             rq->sop_instance_uid[0] ? rq->sop_instance_uid : "(no SOP Instance UID)");
    return DIMSE_STATUS_SUCCESS;
}

static bool on_store_data(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                          const uint8_t *data, size_t len, bool last)
{
    (void)da;
    (void)st;
    struct rx_assoc *rx = ud;
    return store_write_data(rx->w, data, len, last);
}

static void on_store_abandoned(struct dimse_assoc *da, void *ud, struct dimse_store *st)
{
    (void)da;
    (void)st;
    struct rx_assoc *rx = ud;
    if (rx->w) {
        ferry_log(FERRY_LOG_WARN, ctx_of(rx),
                  "C-STORE %s: the association ended before the instance was answered", 
                  rx->sop_instance);
        store_write_abandon(rx->w);
    }
    rx->w = NULL;
    rx->st = NULL;
}

static void on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct rx_assoc *rx = ud;
    struct ferryd *d = rx->d;
    if (rx->stored || rx->refused)
        ferry_log(FERRY_LOG_INFO, ctx_of(rx),
                  "association closed: %" PRIu64 " instances stored (%" PRIu64 " bytes), %" PRIu64
                  " refused",
                  rx->stored, rx->bytes, rx->refused);
    if (rx->prev)
        rx->prev->next = rx->next;
    else
        d->assocs = rx->next;
    if (rx->next)
        rx->next->prev = rx->prev;
    d->n_assocs--;
    free(rx);
}

static void on_established(struct dimse_assoc *da, void *ud)
{
    struct rx_assoc *rx = ud;
    if (rx->d->stopping)
        dimse_release(da); /* negotiated while the shutdown began */
}

static const struct dimse_ops rx_ops = {
    .on_established = on_established,
    .on_store = on_store,
    .on_store_data = on_store_data,
    .on_store_abandoned = on_store_abandoned,
    .on_closed = on_closed,
};

void ferryd_on_accept(struct dul_server *s, void *arg, struct dul_assoc *a)
{
    (void)s;
    struct ferryd *d = arg;
    struct rx_assoc *rx = calloc(1, sizeof *rx);
    if (!rx)
        return; /* no upper layer: dul aborts it */
    rx->d = d;
    rx->da = dimse_assoc_new(a, &rx_ops, rx, NULL);
    if (!rx->da) {
        free(rx);
        return;
    }
    rx->next = d->assocs;
    if (d->assocs)
        d->assocs->prev = rx;
    d->assocs = rx;
    d->n_assocs++;
}

void ferryd_release_all(struct ferryd *d)
{
    for (struct rx_assoc *rx = d->assocs; rx; rx = rx->next)
        dimse_release(rx->da);
}
