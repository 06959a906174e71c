/* libFuzzer target: the spool's ingest path, as a C-STORE's data set takes
 * it — store_write_begin(), store_write_data() in pieces, then the spool's
 * own checks (its incremental parse with the limits ferryd sets, the UIDs
 * against the command's, the index fields read from the data set, their
 * character sets) and the outcome: recorded in a real index, quarantined
 * with its reason, or refused. Each input must end in exactly one done()
 * within a bounded time; no sanitizer report.
 *
 * Input: one control byte, then the data set.
 *   bits 0-1  the context's transfer syntax: implicit LE, explicit LE,
 *             explicit BE, deflated explicit LE
 *   bits 2-4  piece size: 1, 7, 64, 1000, 4096, 65536, all at once, or
 *             varying
 *   bit 5     the command's UIDs are the data set's own (0008,0016) and
 *             (0008,0018) when it has them (else fixed ones: the mismatch
 *             path)
 *   bit 6     the owner abandons the write half-way
 * The spool lives in a fresh folder under TMPDIR (or /dev/shm), renewed
 * every 256 inputs so that it does not grow; fsync is off. */
#include "base/error.h"
#include "base/log.h"
#include "dcm/dcm.h"
#include "net/net.h"
#include "store/spool.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CT_CLASS "1.2.840.10008.5.1.4.1.1.2"
#define FIXED_UID "1.2.826.0.1.3680043.9.7433.5.1"

static char root[256];
static struct net_loop *loop;
static struct store_committer *committer;
static struct store_spool *spool;
static unsigned runs;

struct outcome {
    bool done;
    int dones;
    int resumes;
};

static void on_resume(void *ud)
{
    ((struct outcome *)ud)->resumes++;
}

static void on_done(void *ud, const struct store_write_result *r)
{
    struct outcome *o = ud;
    o->done = true;
    o->dones++;
    /* touch what the owner reads */
    if (strlen(r->message) > 4096 || strlen(r->path) > 4096)
        abort();
    if (getenv("FUZZ_LOG"))
        fprintf(stderr, "done: status %d, outcome %d, %s%s%s\n", (int)r->status, (int)r->outcome,
                r->path, r->message[0] ? ": " : "", r->message);
}

static const struct store_write_ops ops = { .resume = on_resume, .done = on_done };

static void die(const char *what, struct ferry_error *err)
{
    fprintf(stderr, "fuzz_store_ingest: %s: %s\n", what, err ? ferry_error_message(err) : "");
    abort();
}

static void drained(void *arg)
{
    *(bool *)arg = true;
}

static void close_spool(void)
{
    if (!spool)
        return;
    bool done = false;
    store_spool_drain(spool, drained, &done);
    for (int i = 0; i < 3000 && !done; i++)
        net_loop_run_once(loop, 10);
    if (!done)
        die("the spool did not drain", NULL);
    store_spool_close(spool);
    store_committer_stop(committer);
    spool = NULL;
    committer = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/data'", root);
    if (system(cmd) != 0)
        die("cannot remove the spool folder", NULL);
}

static void open_spool(void)
{
    struct ferry_error *err = NULL;
    char data[300], path[340];
    snprintf(data, sizeof data, "%s/data", root);
    mkdir(data, 0750);
    snprintf(path, sizeof path, "%s/index.sqlite", data);
    struct store_index *idx = store_index_open(path, &err);
    if (!idx)
        die("store_index_open", err);
    committer = store_committer_start(idx, 0, &err);
    if (!committer)
        die("store_committer_start", err);
    struct store_spool_config cfg = {
        .data_dir = data,
        .fsync = false,
        .duplicates = STORE_DUP_KEEP_NEWEST,
        /* the limits ferryd's default config sets */
        .max_depth = 16,
        .max_element_length = 1u << 30,
        .max_header_memory = 16u << 20,
        .chunk_size = 16384,
        .max_inflight = 32768,
    };
    spool = store_spool_open(loop, committer, &cfg, &err);
    if (!spool)
        die("store_spool_open", err);
}

static void cleanup(void)
{
    close_spool();
    net_loop_free(loop);
    rmdir(root);
}

static void setup(void)
{
    if (loop)
        return;
    ferry_log_init(2, getenv("FUZZ_LOG") ? FERRY_LOG_DEBUG : (enum ferry_log_level)-1);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof root, "%s/ferry-fuzz-store-XXXXXX", tmp);
    if (!mkdtemp(root))
        die("mkdtemp", NULL);
    struct ferry_error *err = NULL;
    loop = net_loop_new(&(struct net_loop_options){ .quiet = true }, &err);
    if (!loop)
        die("net_loop_new", err);
    atexit(cleanup);
}

/* The data set's own UID at tag, when it has a readable one. */
static void own_uid(const struct dcm_dataset *ds, uint32_t tag, char *buf, size_t n,
                    const char *fallback)
{
    int rc = ds ? dcm_dataset_get_cstr(ds, tag, 0, buf, n) : -1;
    if (rc < 0 || rc >= (int)n)
        snprintf(buf, n, "%s", fallback);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup();
    if (runs++ % 256 == 0) {
        close_spool();
        open_spool();
    }
    uint8_t ctl = data[0];
    data++;
    size--;
    static const char *const syntaxes[] = {
        DCM_UID_ImplicitVRLittleEndian, DCM_UID_ExplicitVRLittleEndian,
        DCM_UID_ExplicitVRBigEndian, DCM_UID_DeflatedExplicitVRLittleEndian,
    };
    const char *ts = syntaxes[ctl & 3];
    static const size_t pieces[] = { 1, 7, 64, 1000, 4096, 65536, SIZE_MAX, 0 };
    size_t piece = pieces[(ctl >> 2) & 7];

    char sop_class[80], sop_instance[80];
    snprintf(sop_class, sizeof sop_class, "%s", CT_CLASS);
    snprintf(sop_instance, sizeof sop_instance, "%s", FIXED_UID);
    if (ctl & 0x20) {
        struct dcm_parse_opts o = { .flags = DCM_PARSE_SKIP_BULK | DCM_PARSE_HEADER_ONLY,
                                    .transfer_syntax = ts, .max_depth = 16,
                                    .bulk_threshold = 1024, .max_memory = 16u << 20 };
        struct dcm_dataset *ds = dcm_parse_buffer(data, size, &o, NULL, NULL, NULL);
        own_uid(ds, DCM_TAG_SOPClassUID, sop_class, sizeof sop_class, CT_CLASS);
        own_uid(ds, DCM_TAG_SOPInstanceUID, sop_instance, sizeof sop_instance, FIXED_UID);
        dcm_dataset_unref(ds);
    }
    struct store_write_info info = {
        .sop_class_uid = sop_class,
        .sop_instance_uid = sop_instance,
        .transfer_syntax = ts,
        .calling_ae = "FUZZ",
        .called_ae = "FERRY",
        .peer = "127.0.0.1:40000",
        .log_ctx = "fuzz",
    };
    struct outcome o = { 0 };
    struct store_write *w = store_write_begin(spool, &info, &ops, &o);
    if (!w)
        die("store_write_begin: out of memory", NULL);
    bool abandon = ctl & 0x40;
    size_t abandon_at = size / 2;
    uint32_t seed = 0x9E3779B9u ^ ctl ^ (uint32_t)size;
    size_t off = 0;
    do {
        size_t n = piece;
        if (n == 0) {
            seed = seed * 1664525u + 1013904223u;
            n = 1 + (seed >> 20) % 5000;
        }
        if (n > size - off)
            n = size - off;
        if (abandon && off + n > abandon_at)
            break;
        bool last = off + n == size;
        bool pause = store_write_data(w, data + off, n, last);
        off += n;
        if (pause && !last) {
            int before = o.resumes;
            for (int i = 0; i < 3000 && o.resumes == before; i++)
                net_loop_run_once(loop, 10);
            if (o.resumes == before)
                die("paused and never resumed", NULL);
        }
    } while (off < size);
    if (abandon && off < size) {
        store_write_abandon(w);
        net_loop_run_once(loop, 0);
        if (o.dones)
            die("done() after store_write_abandon()", NULL);
        return 0;
    }
    for (int i = 0; i < 3000 && !o.done; i++)
        net_loop_run_once(loop, 10);
    if (o.dones != 1)
        die("the write did not report exactly once within 30 s", NULL);
    return 0;
}
