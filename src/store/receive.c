/* ferry — store: one instance, from its first byte to the index.
 *
 *   RECEIVING   bytes go to chunks (written as they fill), the parser and the
 *               checksum; the file spool/incoming/<token>.part is opening
 *   FLUSHING    the last byte is in; the last writes finish
 *   PLACING     the hour folder is made ready, the file renamed into it
 *   SYNCING     fdatasync of the file while the folder's shared fsync runs
 *   COMMITTING  the committer records it (group commit); done() after that
 *   QUARANTINE  (quarantine.c) a bad data set is moved aside with its reason
 *   DISCARD     nothing is kept: close and unlink, then report
 *   DONE        reported; the last operations finish, then it is freed
 *
 * spool_write_step() is the one place that moves an instance on; every
 * completion ends by calling it.
 */
#include "store/spool-private.h"

#include "base/log.h"
#include "base/util.h"
#include "dcm/dcm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool spool_no_space(int err)
{
    return err == -ENOSPC || err == -EDQUOT || err == -EFBIG;
}

/* A UID that can name a file: 1 to 64 characters, digits and dots, no empty
 * component. Leading zeros in a component (which PS3.5 forbids) are
 * tolerated: real senders use them and they are harmless in a file name. */
static bool uid_usable(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy, cut to fit (the fields that take wire values are sized for them). */
static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = src ? strnlen(src, n - 1) : 0;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

static void w_free(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    spool_write_forget(sp, w);
    spool_chunk_put(sp, w->cur);
    while (w->queued) {
        struct spool_chunk *c = w->queued;
        w->queued = c->next;
        spool_chunk_put(sp, c);
    }
    spool_chunk_put(sp, w->copy_buf);
    dcm_parser_free(w->parser);
    ferry_error_free(w->parse_err);
    dcm_dataset_unref(w->ds);
    if (w->xxh)
        XXH3_freeState(w->xxh);
    free(w->reason);
    if (w->req.free_jobs)
        free(w->req.jobs);
    ferry_error_free(w->req.error);
    spool_dir_release(w->dir);
    free(w);
}

static void maybe_free(struct store_write *w)
{
    if (w->phase == PH_DONE && w->ops == 0 && !w->dir_wait && !w->deferred)
        w_free(w);
}

void spool_write_report(struct store_write *w, enum store_write_status st, int error)
{
    struct store_spool *sp = w->sp;
    w->phase = PH_DONE;
    switch (st) {
    case STORE_WRITE_STORED:
        break; /* counted when committed */
    case STORE_WRITE_MALFORMED:
    case STORE_WRITE_MISMATCH:
        sp->stats.quarantined++;
        break;
    default:
        if (!w->abandoned || w->last_seen)
            sp->stats.failed++; /* else counted as abandoned */
        break;
    }
    if (!w->abandoned && !w->reported) {
        w->reported = true;
        struct store_write_result r = {
            .status = st,
            .error = error,
            .message = st == STORE_WRITE_STORED ? "" : w->why,
            .path = w->path,
            .outcome = w->req.result.outcome,
            .checksum = w->checksum,
            .size = w->size,
        };
        w->owner->done(w->ud, &r);
    }
    maybe_free(w);
}

/* ------------------------------------------------------------- writing */

static void step_fn(struct net_work *wk)
{
    struct store_write *w = ferry_container_of(wk, struct store_write, post);
    w->deferred = false;
    spool_write_step(w);
}

/* Move on from the loop rather than from inside the owner's call. */
static void step_later(struct store_write *w)
{
    w->deferred = true;
    w->post.fn = step_fn;
    net_loop_defer(w->sp->loop, &w->post);
}

static void maybe_resume(struct store_write *w)
{
    if (w->paused && w->inflight <= w->sp->max_inflight / 2) {
        w->paused = false;
        if (w->phase == PH_RECEIVING && !w->abandoned)
            w->owner->resume(w->ud);
    }
}

static void drop_chunk(struct store_write *w, struct spool_chunk *c)
{
    w->inflight -= c->len;
    spool_chunk_put(w->sp, c);
}

static void on_sync_range(void *arg, int res)
{
    struct store_write *w = arg;
    (void)res; /* only a hint to the kernel; the fdatasync decides */
    w->ops--;
    spool_write_step(w);
}

static void on_write(void *arg, int res)
{
    struct spool_chunk *c = arg;
    struct store_write *w = c->w;
    struct store_spool *sp = w->sp;
    w->ops--;
    if (res < 0) {
        if (!w->io_err)
            w->io_err = res;
    } else if (sp->sync_range && sp->fsync && !w->io_err && w->fd >= 0) {
        if (net_file_sync_range(sp->loop, w->fd, c->off, (uint32_t)c->len,
                                SYNC_FILE_RANGE_WRITE, on_sync_range, w) == 0)
            w->ops++;
    }
    drop_chunk(w, c);
    maybe_resume(w);
    spool_write_step(w);
}

static void submit_chunk(struct store_write *w, struct spool_chunk *c)
{
    if (w->io_err) {
        drop_chunk(w, c);
        return;
    }
    if (w->fd < 0) {
        /* the file is still opening */
        c->next = NULL;
        *w->queued_tail = c;
        w->queued_tail = &c->next;
        return;
    }
    int rc = net_file_write(w->sp->loop, w->fd, c->data, c->len, c->off, on_write, c);
    if (rc < 0) {
        w->io_err = rc;
        drop_chunk(w, c);
        return;
    }
    w->ops++;
}

static void on_open(void *arg, int res)
{
    struct store_write *w = arg;
    w->ops--;
    if (res < 0) {
        if (!w->io_err)
            w->io_err = res;
    } else {
        w->fd = res;
        w->where = WHERE_INCOMING;
    }
    struct spool_chunk *list = w->queued;
    w->queued = NULL;
    w->queued_tail = &w->queued;
    while (list) {
        struct spool_chunk *c = list;
        list = c->next;
        if (w->phase == PH_DISCARD)
            drop_chunk(w, c); /* abandoned meanwhile: nothing to write */
        else
            submit_chunk(w, c);
    }
    maybe_resume(w);
    spool_write_step(w);
}

/* Copy bytes into chunks, submitting each as it fills. */
static void append(struct store_write *w, const uint8_t *p, size_t len)
{
    struct store_spool *sp = w->sp;
    while (len && !w->io_err) {
        if (!w->cur) {
            struct spool_chunk *c = spool_chunk_get(sp);
            if (!c) {
                w->io_err = -ENOMEM;
                return;
            }
            c->w = w;
            c->off = w->size;
            w->cur = c;
        }
        struct spool_chunk *c = w->cur;
        size_t n = sp->chunk_size - c->len;
        if (n > len)
            n = len;
        memcpy(c->data + c->len, p, n);
        c->len += n;
        w->inflight += n;
        w->size += n;
        p += n;
        len -= n;
        if (c->len == sp->chunk_size) {
            w->cur = NULL;
            submit_chunk(w, c);
        }
    }
}

/* The 128-byte preamble, "DICM" and the meta group, into the first chunk.
 * Without the UIDs a meta group needs (a command that named none), the
 * file is the bare data set. */
static int write_header(struct store_write *w)
{
    struct dcm_buf meta = { 0 };
    struct dcm_meta_info mi = {
        .transfer_syntax = w->ts,
        .sop_class_uid = w->sop_class,
        .sop_instance_uid = w->sop_instance,
        .source_ae_title = w->calling[0] ? w->calling : NULL,
    };
    if (!w->sop_class[0] || !w->sop_instance[0] || !w->ts[0] ||
        dcm_meta_encode(&mi, NULL, &meta, NULL) < 0 || meta.len + 132 > w->sp->chunk_size) {
        dcm_buf_free(&meta);
        w->bare = true;
        return 0;
    }
    struct spool_chunk *c = spool_chunk_get(w->sp);
    if (!c) {
        dcm_buf_free(&meta);
        return -ENOMEM;
    }
    c->w = w;
    memset(c->data, 0, 128);
    memcpy(c->data + 128, "DICM", 4);
    memcpy(c->data + 132, meta.data, meta.len);
    c->len = 132 + meta.len;
    dcm_buf_free(&meta);
    w->cur = c;
    w->size = w->header_len = c->len;
    w->inflight = c->len;
    XXH3_64bits_update(w->xxh, c->data, c->len);
    return 0;
}

struct store_write *store_write_begin(struct store_spool *sp, const struct store_write_info *info,
                                      const struct store_write_ops *ops, void *ud)
{
    struct store_write *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->sp = sp;
    w->owner = ops;
    w->ud = ud;
    w->fd = w->reason_fd = w->copy_fd = -1;
    w->queued_tail = &w->queued;
    w->duplicates = sp->duplicates;
    w->plan = sp->plan;
    w->plan_ud = sp->plan_ud;
    copy_str(w->sop_class, sizeof w->sop_class, info->sop_class_uid);
    copy_str(w->sop_instance, sizeof w->sop_instance, info->sop_instance_uid);
    copy_str(w->ts, sizeof w->ts, info->transfer_syntax);
    copy_str(w->calling, sizeof w->calling, info->calling_ae);
    copy_str(w->called, sizeof w->called, info->called_ae);
    copy_str(w->peer, sizeof w->peer, info->peer);
    copy_str(w->ctx, sizeof w->ctx, info->log_ctx);
    if (info->peer_addr)
        w->peer_addr = *info->peer_addr;
    w->uid_ok = info->sop_instance_uid && uid_usable(info->sop_instance_uid);
    w->received_ms = now_ms();
    spool_token(sp, w->token);
    snprintf(w->incoming_name, sizeof w->incoming_name, "%s.part", w->token);

    struct dcm_parse_opts o = {
        .flags = DCM_PARSE_SKIP_BULK,
        .transfer_syntax = w->ts[0] ? w->ts : DCM_UID_ImplicitVRLittleEndian,
        .max_depth = sp->max_depth,
        .max_element_length = sp->max_element_length,
        /* Index and routing attributes are short; longer values (pixel data,
         * contours, waveforms) are checked for structure and skipped. */
        .bulk_threshold = 1024,
        .max_memory = sp->max_header_memory,
    };
    w->xxh = XXH3_createState();
    w->parser = dcm_parser_new(&o, NULL);
    if (!w->xxh || !w->parser)
        goto out_free;
    XXH3_64bits_reset(w->xxh);
    if (write_header(w) < 0)
        goto out_free;

    w->next = sp->writes;
    if (sp->writes)
        sp->writes->prev = w;
    sp->writes = w;
    sp->n_writes++;

    int rc = net_file_openat(sp->loop, sp->incoming_fd, w->incoming_name,
                             O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640, on_open, w);
    if (rc < 0)
        w->io_err = rc;
    else
        w->ops++;
    return w;

out_free:
    if (w->xxh)
        XXH3_freeState(w->xxh);
    dcm_parser_free(w->parser);
    spool_chunk_put(sp, w->cur);
    free(w);
    return NULL;
}

/* ------------------------------------------------------------ checking */

/* "offset 1234, (0010,0010) PN: ..." -> 1234 */
static uint64_t error_offset(const char *msg)
{
    unsigned long long off = 0;
    if (sscanf(msg, "offset %llu", &off) == 1)
        return off;
    return UINT64_MAX;
}

static void get_text(const struct dcm_dataset *ds, uint32_t tag, char *dst, size_t n)
{
    dst[0] = '\0';
    int rc = dcm_dataset_get_utf8(ds, tag, DCM_ALL_VALUES, dst, n);
    if (rc >= (int)n) {
        /* cut: copy again at a character boundary */
        char *tmp = malloc((size_t)rc + 1);
        if (tmp && dcm_dataset_get_utf8(ds, tag, DCM_ALL_VALUES, tmp, (size_t)rc + 1) >= 0)
            store_copy_field(dst, n, tmp, strlen(tmp));
        free(tmp);
    } else if (rc < 0 && rc != -ENOENT) {
        /* an unknown character set: keep the raw bytes */
        const char *p;
        size_t len;
        if (dcm_dataset_get_string(ds, tag, DCM_ALL_VALUES, &p, &len) == 0)
            store_copy_field(dst, n, p, len);
    }
}

static void get_ascii(const struct dcm_dataset *ds, uint32_t tag, char *dst, size_t n)
{
    dst[0] = '\0';
    int rc = dcm_dataset_get_cstr(ds, tag, DCM_ALL_VALUES, dst, n);
    if (rc < 0)
        dst[0] = '\0';
}

static int32_t get_int32(const struct dcm_dataset *ds, uint32_t tag)
{
    int64_t v;
    if (dcm_dataset_get_int(ds, tag, 0, &v) < 0 || v < INT32_MIN + 1 || v > INT32_MAX)
        return INT32_MIN;
    return (int32_t)v;
}

static void fill_record(struct store_write *w)
{
    struct store_instance *r = &w->req.rec;
    const struct dcm_dataset *ds = w->ds;
    store_instance_clear(r);
    copy_str(r->sop_instance_uid, sizeof r->sop_instance_uid, w->sop_instance);
    copy_str(r->sop_class_uid, sizeof r->sop_class_uid, w->sop_class);
    copy_str(r->transfer_syntax, sizeof r->transfer_syntax, w->ts);
    get_ascii(ds, DCM_TAG_SpecificCharacterSet, r->specific_character_set,
              sizeof r->specific_character_set);
    get_text(ds, DCM_TAG_PatientID, r->patient_id, sizeof r->patient_id);
    get_text(ds, DCM_TAG_IssuerOfPatientID, r->issuer_of_patient_id,
             sizeof r->issuer_of_patient_id);
    get_text(ds, DCM_TAG_PatientName, r->patient_name, sizeof r->patient_name);
    get_ascii(ds, DCM_TAG_PatientBirthDate, r->patient_birth_date, sizeof r->patient_birth_date);
    get_ascii(ds, DCM_TAG_PatientSex, r->patient_sex, sizeof r->patient_sex);
    get_ascii(ds, DCM_TAG_StudyInstanceUID, r->study_instance_uid, sizeof r->study_instance_uid);
    get_ascii(ds, DCM_TAG_StudyDate, r->study_date, sizeof r->study_date);
    get_ascii(ds, DCM_TAG_StudyTime, r->study_time, sizeof r->study_time);
    get_text(ds, DCM_TAG_AccessionNumber, r->accession_number, sizeof r->accession_number);
    get_text(ds, DCM_TAG_StudyID, r->study_id, sizeof r->study_id);
    get_text(ds, DCM_TAG_StudyDescription, r->study_description, sizeof r->study_description);
    get_text(ds, DCM_TAG_ReferringPhysicianName, r->referring_physician_name,
             sizeof r->referring_physician_name);
    get_ascii(ds, DCM_TAG_SeriesInstanceUID, r->series_instance_uid,
              sizeof r->series_instance_uid);
    get_ascii(ds, DCM_TAG_Modality, r->modality, sizeof r->modality);
    get_text(ds, DCM_TAG_SeriesDescription, r->series_description, sizeof r->series_description);
    get_ascii(ds, DCM_TAG_BodyPartExamined, r->body_part_examined, sizeof r->body_part_examined);
    r->series_number = get_int32(ds, DCM_TAG_SeriesNumber);
    r->instance_number = get_int32(ds, DCM_TAG_InstanceNumber);
    copy_str(r->calling_ae, sizeof r->calling_ae, w->calling);
    copy_str(r->called_ae, sizeof r->called_ae, w->called);
    copy_str(r->peer, sizeof r->peer, w->peer);
    r->received_at_ms = w->received_ms;
}

/* The data set is complete: what does it say? */
static void judge(struct store_write *w)
{
    if (!w->parse_err)
        w->ds = dcm_parser_finish(w->parser, &w->parse_err);
    dcm_parser_free(w->parser);
    w->parser = NULL;
    w->checksum = XXH3_64bits_digest(w->xxh);
    w->verdict = STORE_WRITE_STORED;
    if (!w->uid_ok) {
        w->verdict = STORE_WRITE_MALFORMED;
        snprintf(w->why, sizeof w->why,
                 "the command's Affected SOP Instance UID '%s' is not a UID (1 to 64 digits "
                 "and dots)",
                 w->sop_instance);
        return;
    }
    if (w->parse_err) {
        if (w->parse_err->code == -ENOMEM) {
            w->verdict = STORE_WRITE_FAILED;
            if (!w->io_err)
                w->io_err = -ENOMEM;
            snprintf(w->why, sizeof w->why, "out of memory while parsing the data set");
            return;
        }
        w->verdict = STORE_WRITE_MALFORMED;
        w->err_offset = error_offset(w->parse_err->message);
        snprintf(w->why, sizeof w->why, "%s", w->parse_err->message);
        return;
    }
    char uid[80];
    int rc = dcm_dataset_get_cstr(w->ds, DCM_TAG_SOPClassUID, 0, uid, sizeof uid);
    if (rc < 0 || rc >= (int)sizeof uid) {
        w->verdict = STORE_WRITE_MISMATCH;
        snprintf(w->why, sizeof w->why, "the data set has no SOP Class UID (0008,0016)");
        return;
    }
    if (strcmp(uid, w->sop_class) != 0) {
        w->verdict = STORE_WRITE_MISMATCH;
        snprintf(w->why, sizeof w->why,
                 "the data set's SOP Class UID (0008,0016) %s is not the command's %s", uid,
                 w->sop_class);
        return;
    }
    rc = dcm_dataset_get_cstr(w->ds, DCM_TAG_SOPInstanceUID, 0, uid, sizeof uid);
    if (rc < 0 || rc >= (int)sizeof uid) {
        w->verdict = STORE_WRITE_MISMATCH;
        snprintf(w->why, sizeof w->why, "the data set has no SOP Instance UID (0008,0018)");
        return;
    }
    if (strcmp(uid, w->sop_instance) != 0) {
        w->verdict = STORE_WRITE_MISMATCH;
        snprintf(w->why, sizeof w->why,
                 "the data set's SOP Instance UID (0008,0018) %s is not the command's %s", uid,
                 w->sop_instance);
        return;
    }
    fill_record(w);
}

bool store_write_data(struct store_write *w, const void *data, size_t len, bool last)
{
    struct store_spool *sp = w->sp;
    if (w->phase != PH_RECEIVING || w->last_seen)
        return false;
    if (len) {
        if (!w->parse_err)
            dcm_parser_feed(w->parser, data, len, &w->parse_err);
        XXH3_64bits_update(w->xxh, data, len);
        if (!w->io_err)
            append(w, data, len);
        else
            w->size += len;
    }
    if (last) {
        w->last_seen = true;
        judge(w);
        if (w->cur) {
            struct spool_chunk *c = w->cur;
            w->cur = NULL;
            if (c->len)
                submit_chunk(w, c);
            else
                spool_chunk_put(sp, c);
        }
        w->phase = PH_FLUSHING;
        step_later(w);
        return false;
    }
    if (w->inflight > sp->max_inflight && !w->io_err) {
        w->paused = true;
        return true;
    }
    return false;
}

void store_write_abandon(struct store_write *w)
{
    w->abandoned = true;
    if (w->phase == PH_RECEIVING) {
        w->sp->stats.abandoned++;
        w->phase = PH_DISCARD;
        spool_write_step(w);
    }
}

/* ------------------------------------------------------------ recording */

static void on_committed_net(struct net_work *wk);

static void on_committed(struct store_ingest_req *req)
{
    /* committer thread */
    struct store_write *w = req->user;
    w->post.fn = on_committed_net;
    net_loop_post(w->sp->loop, &w->post);
}

static void on_obsolete_unlinked(void *arg, int res)
{
    struct store_write *w = arg;
    w->ops--;
    if (res < 0 && res != -ENOENT)
        ferry_log(FERRY_LOG_WARN, w->ctx, "cannot remove the replaced file %s: %s",
                  w->req.result.obsolete_path, strerror(-res));
    maybe_free(w);
}

static void on_committed_net(struct net_work *wk)
{
    struct store_write *w = ferry_container_of(wk, struct store_write, post);
    struct store_spool *sp = w->sp;
    struct store_ingest_req *req = &w->req;
    if (req->status < 0) {
        w->io_err = req->status;
        w->verdict = spool_no_space(req->status) ? STORE_WRITE_NO_SPACE : STORE_WRITE_FAILED;
        snprintf(w->why, sizeof w->why, "%s", ferry_error_message(req->error));
        w->phase = PH_DISCARD;
        spool_write_step(w);
        return;
    }
    switch (req->result.outcome) {
    case STORE_INGEST_NEW:
    case STORE_INGEST_REPLACED:
        sp->stats.stored++;
        sp->stats.bytes += w->size;
        if (req->result.outcome == STORE_INGEST_REPLACED && req->result.obsolete_path[0] &&
            strcmp(req->result.obsolete_path, w->path) != 0) {
            if (net_file_unlinkat(sp->loop, sp->data_fd, req->result.obsolete_path, 0,
                                  on_obsolete_unlinked, w) == 0)
                w->ops++;
        }
        spool_write_report(w, STORE_WRITE_STORED, 0);
        return;
    case STORE_INGEST_KEPT_FIRST:
        /* recorded as an arrival; the first file stays, this one goes */
        sp->stats.stored++;
        w->verdict = STORE_WRITE_STORED;
        w->path[0] = '\0';
        break;
    case STORE_INGEST_REJECTED:
    default:
        w->verdict = STORE_WRITE_DUPLICATE;
        snprintf(w->why, sizeof w->why,
                 "an instance with SOP Instance UID %s is already stored (duplicates: reject)",
                 w->sop_instance);
        w->path[0] = '\0';
        break;
    }
    w->phase = PH_DISCARD;
    spool_write_step(w);
}

static void commit(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    struct store_ingest_req *req = &w->req;
    req->rec.size = (int64_t)w->size;
    req->rec.checksum = w->checksum;
    copy_str(req->rec.path, sizeof req->rec.path, w->path);
    req->policy = w->duplicates;
    req->dataset = w->ds;
    req->peer_addr = w->peer_addr;
    req->plan = w->plan;
    req->plan_ud = w->plan_ud;
    req->done = on_committed;
    req->user = w;
    w->phase = PH_COMMITTING;
    store_committer_submit(sp->committer, req);
}

/* ------------------------------------------------------------- placing */

static void on_synced(void *arg, int res)
{
    struct store_write *w = arg;
    w->ops--;
    if (res < 0 && !w->io_err)
        w->io_err = res;
    spool_write_step(w);
}

void spool_write_dir_synced(struct store_write *w, int res)
{
    w->dir_wait = false;
    if (res < 0 && !w->io_err)
        w->io_err = res;
    spool_write_step(w);
}

static void do_rename(struct store_write *w);

static void on_renamed(void *arg, int res)
{
    struct store_write *w = arg;
    struct store_spool *sp = w->sp;
    w->ops--;
    if (res == -EEXIST && ++w->renames < 4) {
        spool_token(sp, w->token); /* a name taken: another one */
        do_rename(w);
        return;
    }
    if (res < 0) {
        w->io_err = res;
        snprintf(w->why, sizeof w->why, "cannot move the file into " SPOOL_DIR "/%s: %s",
                 w->dir->name, strerror(-res));
        w->phase = PH_DISCARD;
        spool_write_step(w);
        return;
    }
    w->where = WHERE_SPOOL;
    snprintf(w->path, sizeof w->path, SPOOL_DIR "/%s/%s", w->dir->name, w->final_name);
    w->phase = PH_SYNCING;
    if (sp->fsync) {
        if (net_file_fsync(sp->loop, w->fd, true, on_synced, w) == 0) {
            w->ops++;
            sp->stats.file_syncs++;
        } else {
            w->io_err = -ENOMEM;
        }
        spool_dir_sync(w->dir, w);
    }
    spool_write_step(w);
}

static void do_rename(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    snprintf(w->final_name, sizeof w->final_name, "%s.%s.dcm", w->sop_instance, w->token);
    int rc = net_file_renameat(sp->loop, sp->incoming_fd, w->incoming_name, w->dir->fd,
                               w->final_name, RENAME_NOREPLACE, on_renamed, w);
    if (rc < 0) {
        w->io_err = rc;
        w->phase = PH_DISCARD;
        spool_write_step(w);
        return;
    }
    w->ops++;
}

void spool_write_dir_ready(struct store_write *w, int res)
{
    if (res < 0) {
        w->io_err = res;
        snprintf(w->why, sizeof w->why, "cannot prepare the spool folder: %s", strerror(-res));
        w->phase = PH_DISCARD;
        spool_write_step(w);
        return;
    }
    do_rename(w);
}

/* ------------------------------------------------------------ discarding */

static void on_discard_op(void *arg, int res)
{
    struct store_write *w = arg;
    w->ops--;
    if (res < 0 && res != -ENOENT)
        ferry_log(FERRY_LOG_WARN, w->ctx, "removing what was written of %s: %s", w->sop_instance,
                  strerror(-res));
    spool_write_step(w);
}

/* Close, then unlink whatever this instance left on disk, then report. */
static void discard(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    if (w->ops || w->dir_wait)
        return;
    int fds[3] = { w->fd, w->reason_fd, w->copy_fd };
    w->fd = w->reason_fd = w->copy_fd = -1;
    bool waiting = false;
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        if (net_file_close(sp->loop, fds[i], on_discard_op, w) == 0) {
            w->ops++;
            waiting = true;
        } else {
            close(fds[i]);
        }
    }
    if (waiting)
        return;
    int dirfd = -1;
    const char *name = NULL;
    char qname[80];
    switch (w->where) {
    case WHERE_INCOMING:
        dirfd = sp->incoming_fd;
        name = w->incoming_name;
        break;
    case WHERE_SPOOL:
        dirfd = w->dir->fd;
        name = w->final_name;
        break;
    case WHERE_QUARANTINE:
        dirfd = w->dir->fd;
        snprintf(qname, sizeof qname, "%s.dcm", w->qname);
        name = qname;
        break;
    default:
        break;
    }
    w->where = WHERE_NOWHERE;
    if (name) {
        if (net_file_unlinkat(sp->loop, dirfd, name, 0, on_discard_op, w) == 0)
            w->ops++;
    }
    /* the quarantine's extra files */
    for (int i = 0; i < 2; i++) {
        bool *made = i == 0 ? &w->copy_created : &w->reason_created;
        if (!*made)
            continue;
        *made = false;
        snprintf(qname, sizeof qname, "%s.%s", w->qname, i == 0 ? "dcm" : "reason");
        if (net_file_unlinkat(sp->loop, w->dir->fd, qname, 0, on_discard_op, w) == 0)
            w->ops++;
    }
    if (w->ops)
        return;
    /* What is reported: a duplicate refused, a duplicate kept-first (STORED,
     * this file removed), or a failure; a bad data set whose quarantine
     * failed is a failure too (the sender keeps it and may retry). */
    enum store_write_status st = w->verdict;
    bool bad_data = st == STORE_WRITE_MALFORMED || st == STORE_WRITE_MISMATCH;
    if (bad_data || (w->io_err && st == STORE_WRITE_STORED)) {
        if (bad_data && !w->qfailed)
            w->why[0] = '\0';
        st = spool_no_space(w->io_err) ? STORE_WRITE_NO_SPACE : STORE_WRITE_FAILED;
    }
    if (st == STORE_WRITE_NO_SPACE || st == STORE_WRITE_FAILED) {
        if (w->io_err == 0)
            w->io_err = -EIO;
        if (!w->why[0])
            snprintf(w->why, sizeof w->why, "%s", strerror(-w->io_err));
        w->path[0] = '\0';
    }
    spool_write_report(w, st,
                       st == STORE_WRITE_STORED || st == STORE_WRITE_DUPLICATE ? 0 : w->io_err);
}

void spool_write_step(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    switch (w->phase) {
    case PH_RECEIVING:
        return;
    case PH_FLUSHING:
        if (w->ops)
            return;
        if (w->io_err || w->fd < 0 || w->verdict == STORE_WRITE_FAILED) {
            if (!w->io_err)
                w->io_err = -EIO;
            w->phase = PH_DISCARD;
            discard(w);
            return;
        }
        if (w->verdict == STORE_WRITE_STORED) {
            w->phase = PH_PLACING;
            spool_dir_acquire(sp, w, false);
        } else {
            w->phase = PH_QUARANTINE;
            spool_quarantine_start(w);
        }
        return;
    case PH_PLACING:
        return; /* on_renamed moves on */
    case PH_SYNCING:
        if (w->ops || w->dir_wait)
            return;
        if (w->io_err) {
            snprintf(w->why, sizeof w->why, "cannot make the file durable: %s",
                     strerror(-w->io_err));
            w->phase = PH_DISCARD;
            discard(w);
            return;
        }
        if (net_file_close(sp->loop, w->fd, on_discard_op, w) == 0)
            w->ops++;
        else
            close(w->fd);
        w->fd = -1;
        commit(w);
        return;
    case PH_COMMITTING:
    case PH_QUARANTINE:
        return;
    case PH_DISCARD:
        discard(w);
        return;
    case PH_DONE:
        maybe_free(w);
        return;
    }
}
