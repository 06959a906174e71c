/* ferry — forward: getting an instance ready to send.
 *
 * Pass-through (no pipeline, and the destination took the file's own
 * syntax): the spool file is opened and read through the ring, a chunk at a
 * time; the bytes after the File Meta Information go out as they are, so
 * the destination receives the data set exactly as the modality sent it.
 * Memory per item: one chunk, whatever the instance size.
 *
 * Otherwise, on a worker: the file is parsed (once for all its
 * destinations: recently used instances stay in a small cache, so their
 * pixel data is decoded at most once), run through the job's pipeline,
 * converted to the syntax the destination accepted when the pipeline's
 * output is another one (decoding or encoding through the codec plugins
 * when pixels must change), and written out as the bytes to send.
 */
#include "forward/forward-private.h"

#include "base/log.h"
#include "base/util.h"
#include "dcm/dcm.h"
#include "work/work.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Enough instances for the destinations of a burst to meet in the cache
 * while one runs ahead of another (a faster pipeline, a faster link): at 8,
 * 20 JPEG-LS slices to two decoding destinations were decoded up to 1.7
 * times; bytes and age still bound it. */
#define SOURCE_CACHE_ENTRIES 64
#define SOURCE_CACHE_BYTES ((uint64_t)256 << 20)
#define SOURCE_CACHE_AGE_MS 30000u

struct fwd_pipe_entry {
    struct fwd_pipe_entry *next;
    char *text;
    struct work_pipeline *p;
    char *error; /* when it cannot be compiled */
};

struct fwd_src_entry {
    struct fwd_src_entry *next;
    char path[STORE_PATH_MAX];
    struct work_source *src;
    uint64_t size;
    uint64_t used_ms;
};

/* ---------------------------------------------------------- lifetimes */

/* A completion on `it` came back. False when the item was let go meanwhile
 * (then it is freed once nothing more is in flight). */
static bool op_back(struct fwd_item *it)
{
    it->ops--;
    if (!it->orphan)
        return true;
    if (it->ops == 0) {
        struct fwd *f = it->f;
        if (it->fd >= 0)
            close(it->fd);
        free(it->buf);
        free(it->mem);
        free(it);
        f->orphans--;
        fwd_check_drained(f);
    }
    return false;
}

static void transcode_back(struct net_work *w);

/* Report the outcome of a preparation that failed before anything was
 * started: from the loop, not from inside fwd_prepare()'s caller. */
static void report_later(struct fwd_item *it)
{
    it->ops++;
    it->post.fn = transcode_back;
    net_loop_defer(it->f->loop, &it->post);
}

static void prep_failed(struct fwd_item *it, enum fwd_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void prep_failed(struct fwd_item *it, enum fwd_verdict v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->prep_why, sizeof it->prep_why, fmt, ap);
    va_end(ap);
    it->prep_rc = -EIO;
    it->prep_verdict = v;
}

/* ------------------------------------------------------ pass-through */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Where the data set starts in a Part 10 file whose first n bytes are b:
 * after the preamble, "DICM" and the group 0002 elements (Explicit VR LE).
 * A file without "DICM" is a bare data set. */
static int dataset_offset(const uint8_t *b, size_t n, uint64_t size, size_t *off)
{
    if (size < 132 || n < 132 || memcmp(b + 128, "DICM", 4) != 0) {
        *off = 0;
        return 0;
    }
    size_t p = 132;
    while (p + 8 <= n) {
        if ((b[p] | b[p + 1] << 8) != 0x0002)
            break;
        char v0 = (char)b[p + 4], v1 = (char)b[p + 5];
        bool long_form = (v0 == 'O' && strchr("BWFDLV", v1)) || (v0 == 'S' && v1 == 'Q') ||
                         (v0 == 'U' && strchr("TNCRV", v1));
        uint64_t len;
        if (long_form) {
            if (p + 12 > n)
                return -E2BIG;
            len = le32(b + p + 8);
            if (len == 0xFFFFFFFFu)
                return -EINVAL;
            p += 12 + (size_t)len;
        } else {
            len = (uint64_t)(b[p + 6] | b[p + 7] << 8);
            p += 8 + (size_t)len;
        }
    }
    if (p > n)
        return -E2BIG;
    *off = p;
    return 0;
}

static void on_read(void *arg, int res);

static int start_read(struct fwd_item *it)
{
    uint64_t left = it->file_end - it->file_off;
    size_t len = left < FWD_READ_CHUNK ? (size_t)left : FWD_READ_CHUNK;
    int rc = net_file_read(it->f->loop, it->fd, it->buf, len, it->file_off, on_read, it);
    if (rc == 0) {
        it->ops++;
        it->reading = true;
    }
    return rc;
}

void fwd_read_more(struct fwd_item *it)
{
    if (it->reading || it->file_off >= it->file_end)
        return;
    if (start_read(it) < 0 && it->assoc) {
        struct fwd_assoc *a = it->assoc;
        snprintf(a->abort_why, sizeof a->abort_why, "cannot read %s: out of memory",
                 it->job.path);
        a->failure_counted = true;
        dimse_abort(a->da);
    }
}

static void on_read(void *arg, int res)
{
    struct fwd_item *it = arg;
    if (!op_back(it))
        return;
    it->reading = false;
    uint64_t want = it->file_end - it->file_off;
    if (want > FWD_READ_CHUNK)
        want = FWD_READ_CHUNK;
    if (res < 0 || (uint64_t)res < want) {
        char why[400];
        if (res < 0)
            snprintf(why, sizeof why, "cannot read the spool file %s: %s", it->job.path,
                     strerror(-res));
        else
            snprintf(why, sizeof why, "the spool file %s is shorter than the %" PRId64
                     " bytes indexed", it->job.path, it->job.size);
        if (it->state == IT_PREPARING) {
            prep_failed(it, res < 0 ? FWD_RETRY : FWD_DEAD, "%s", why);
            fwd_assoc_item_ready(it->assoc, it);
        } else if (it->assoc) {
            /* In the middle of its data set: the association cannot go on. */
            struct fwd_assoc *a = it->assoc;
            snprintf(a->abort_why, sizeof a->abort_why, "%s", why);
            a->failure_counted = true;
            dimse_abort(a->da);
        }
        return;
    }
    if (it->state == IT_PREPARING) {
        size_t off;
        int rc = dataset_offset(it->buf, (size_t)res, it->file_end, &off);
        if (rc < 0) {
            prep_failed(it, FWD_DEAD, "the spool file %s has %s", it->job.path,
                        rc == -E2BIG ? "an oversized meta information group"
                                     : "a meta information element of undefined length");
        } else {
            it->buf_len = (size_t)res;
            it->buf_pos = off;
            it->file_off = (uint64_t)res;
            it->total = it->file_end - off;
            it->prep_rc = 0;
        }
        fwd_assoc_item_ready(it->assoc, it);
        return;
    }
    it->buf_len = (size_t)res;
    it->buf_pos = 0;
    it->file_off += (uint64_t)res;
    if (it->assoc)
        fwd_assoc_send_more(it->assoc);
}

static void on_opened(void *arg, int res)
{
    struct fwd_item *it = arg;
    if (it->orphan && res >= 0)
        close(res);
    if (!op_back(it))
        return;
    if (res < 0) {
        if (res == -ENOENT)
            prep_failed(it, FWD_DEAD, "the spool file %s is gone", it->job.path);
        else
            prep_failed(it, FWD_RETRY, "cannot open the spool file %s: %s", it->job.path,
                        strerror(-res));
        fwd_assoc_item_ready(it->assoc, it);
        return;
    }
    it->fd = res;
    if (start_read(it) < 0) {
        prep_failed(it, FWD_RETRY, "cannot read %s: out of memory", it->job.path);
        fwd_assoc_item_ready(it->assoc, it);
    }
}

static void prepare_passthrough(struct fwd_item *it)
{
    snprintf(it->sop_class, sizeof it->sop_class, "%s", it->job.sop_class_uid);
    snprintf(it->sop_instance, sizeof it->sop_instance, "%s", it->job.sop_instance_uid);
    it->file_end = it->job.size > 0 ? (uint64_t)it->job.size : 0;
    it->file_off = 0;
    size_t chunk = it->file_end < FWD_READ_CHUNK ? (size_t)it->file_end : FWD_READ_CHUNK;
    if (!it->buf && chunk)
        it->buf = malloc(chunk);
    if (!it->buf) {
        prep_failed(it, chunk ? FWD_RETRY : FWD_DEAD, "%s",
                    chunk ? "out of memory" : "the spool file is indexed as empty");
        report_later(it);
        return;
    }
    if (net_file_openat(it->f->loop, it->f->data_fd, it->job.path, O_RDONLY | O_CLOEXEC, 0,
                        on_opened, it) < 0) {
        prep_failed(it, FWD_RETRY, "cannot open %s: out of memory", it->job.path);
        report_later(it);
        return;
    }
    it->ops++;
}

/* ------------------------------------------------------------ caches */

static struct work_pipeline *compile(struct fwd *f, const struct fwd_steps *s, char *why,
                                     size_t why_size)
{
    struct work_step_spec *spec = calloc(s->n ? s->n : 1, sizeof *spec);
    struct ferry_param **params = calloc(s->n ? s->n : 1, sizeof *params);
    struct work_pipeline *p = NULL;
    if (!spec || !params) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct fwd_step *st = &s->v[i];
        spec[i].kind = st->compress ? WORK_STEP_COMPRESS : WORK_STEP_PLUGIN;
        spec[i].name = st->name;
        spec[i].n_params = st->n_params;
        if (st->n_params) {
            params[i] = calloc(st->n_params, sizeof *params[i]);
            if (!params[i]) {
                snprintf(why, why_size, "out of memory");
                goto out;
            }
            for (uint32_t k = 0; k < st->n_params; k++) {
                params[i][k].key = st->keys[k];
                params[i][k].value = st->values[k];
            }
        }
        spec[i].params = params[i];
    }
    int bad_step, bad_param;
    struct ferry_error *err = NULL;
    p = work_pipeline_new(f->registry, spec, s->n, &bad_step, &bad_param, &err);
    if (!p)
        snprintf(why, why_size, "its pipeline cannot be compiled: %s", ferry_error_message(err));
    ferry_error_free(err);
out:
    for (size_t i = 0; params && i < s->n; i++)
        free(params[i]);
    free(params);
    free(spec);
    return p;
}

/* Steps of a pipeline referred to by name ("@NAME"), from the config in
 * force. */
static int steps_of_named(struct fwd *f, const char *name, struct fwd_steps *out, char *why,
                          size_t why_size)
{
    const struct conf *c = conf_holder_get(f->holder);
    const struct conf_pipeline *p = conf_pipeline(c, name);
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!p) {
        snprintf(why, why_size, "pipeline '%s' is no longer in the config", name);
        rc = -ENOENT;
        goto out;
    }
    out->v = calloc(p->n_steps ? p->n_steps : 1, sizeof *out->v);
    if (!out->v) {
        rc = -ENOMEM;
        goto out;
    }
    out->n = p->n_steps;
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct conf_step *cs = &p->steps[i];
        struct fwd_step *st = &out->v[i];
        st->compress = cs->kind == CONF_STEP_COMPRESS;
        st->name = strdup(cs->name);
        st->n_params = cs->n_params;
        st->keys = calloc(cs->n_params ? cs->n_params : 1, sizeof *st->keys);
        st->values = calloc(cs->n_params ? cs->n_params : 1, sizeof *st->values);
        if (!st->name || !st->keys || !st->values) {
            st->n_params = 0;
            rc = -ENOMEM;
            goto out;
        }
        for (uint32_t k = 0; k < cs->n_params; k++) {
            st->keys[k] = strdup(cs->params[k].key);
            st->values[k] = strdup(cs->params[k].value);
            if (!st->keys[k] || !st->values[k]) {
                rc = -ENOMEM;
                goto out;
            }
        }
    }
out:
    if (rc == -ENOMEM)
        snprintf(why, why_size, "out of memory");
    if (rc < 0)
        fwd_steps_free(out);
    conf_unref(c);
    return rc;
}

/* The compiled pipeline of a job's pipeline text. *owned: the caller frees
 * it (a pipeline by name, compiled afresh from the config in force);
 * otherwise it is cached for the forwarder's life. NULL with why. */
static struct work_pipeline *pipe_get(struct fwd *f, const char *text, bool *owned, char *why,
                                      size_t why_size)
{
    *owned = false;
    struct fwd_steps s;
    if (text[0] == '@') {
        if (steps_of_named(f, text + 1, &s, why, why_size) < 0)
            return NULL;
        struct work_pipeline *p = compile(f, &s, why, why_size);
        fwd_steps_free(&s);
        *owned = p != NULL;
        return p;
    }
    pthread_mutex_lock(&f->cache_lock);
    for (struct fwd_pipe_entry *e = f->pipes; e; e = e->next) {
        if (strcmp(e->text, text) == 0) {
            struct work_pipeline *p = e->p;
            if (!p)
                snprintf(why, why_size, "%s", e->error);
            pthread_mutex_unlock(&f->cache_lock);
            return p;
        }
    }
    pthread_mutex_unlock(&f->cache_lock);
    struct ferry_error *err = NULL;
    struct work_pipeline *p = NULL;
    if (fwd_steps_parse(text, &s, &err) < 0) {
        snprintf(why, why_size, "its pipeline text cannot be read: %s", ferry_error_message(err));
        ferry_error_free(err);
    } else {
        p = compile(f, &s, why, why_size);
        fwd_steps_free(&s);
    }
    struct fwd_pipe_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->text = strdup(text)) || (!p && !(e->error = strdup(why)))) {
        if (e) {
            free(e->text);
            free(e);
        }
        *owned = p != NULL;
        return p;
    }
    e->p = p;
    pthread_mutex_lock(&f->cache_lock);
    for (struct fwd_pipe_entry *o = f->pipes; o; o = o->next) {
        if (strcmp(o->text, text) == 0) {
            /* another worker was quicker: use its copy */
            struct work_pipeline *keep = o->p;
            if (!keep)
                snprintf(why, why_size, "%s", o->error);
            pthread_mutex_unlock(&f->cache_lock);
            work_pipeline_free(p);
            free(e->text);
            free(e->error);
            free(e);
            return keep;
        }
    }
    e->next = f->pipes;
    f->pipes = e;
    pthread_mutex_unlock(&f->cache_lock);
    return p;
}

static void src_entry_free(struct fwd_src_entry *e)
{
    work_source_unref(e->src);
    free(e);
}

/* Drop cache entries past the limits (lock held); the oldest go first. */
static void sources_trim(struct fwd *f, unsigned max_entries, uint64_t now)
{
    for (;;) {
        uint64_t bytes = 0;
        unsigned n = 0;
        struct fwd_src_entry **oldest = NULL;
        for (struct fwd_src_entry **pe = &f->sources; *pe; pe = &(*pe)->next) {
            bytes += (*pe)->size;
            n++;
            if (!oldest || (*pe)->used_ms < (*oldest)->used_ms)
                oldest = pe;
        }
        f->n_sources = n;
        if (!oldest)
            return;
        bool stale = now - (*oldest)->used_ms > SOURCE_CACHE_AGE_MS;
        if (n <= max_entries && bytes <= SOURCE_CACHE_BYTES && !stale)
            return;
        struct fwd_src_entry *e = *oldest;
        *oldest = e->next;
        src_entry_free(e);
    }
}

/* The parsed instance of a spool file (a new reference), shared by its
 * destinations' pipelines. */
static struct work_source *source_get(struct fwd *f, const struct store_job *job, char *why,
                                      size_t why_size, enum fwd_verdict *verdict)
{
    uint64_t now = (uint64_t)net_now_ms();
    pthread_mutex_lock(&f->cache_lock);
    for (struct fwd_src_entry *e = f->sources; e; e = e->next) {
        if (strcmp(e->path, job->path) == 0) {
            e->used_ms = now;
            struct work_source *s = work_source_ref(e->src);
            pthread_mutex_unlock(&f->cache_lock);
            return s;
        }
    }
    pthread_mutex_unlock(&f->cache_lock);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", f->data_dir, job->path);
    struct ferry_error *err = NULL;
    struct dcm_dataset *ds = dcm_read_file(path, NULL, &err);
    if (!ds) {
        *verdict = err && err->code == -ENOENT ? FWD_DEAD
                   : err && (err->code == -ENOMEM || err->code == -EIO || err->code == -EMFILE)
                       ? FWD_RETRY
                       : FWD_DEAD;
        snprintf(why, why_size, "%s", ferry_error_message(err));
        ferry_error_free(err);
        return NULL;
    }
    char ctx[160];
    snprintf(ctx, sizeof ctx, "forward %s", job->sop_instance_uid);
    struct work_source *src = work_source_new(ds, f->registry, ctx);
    dcm_dataset_unref(ds);
    if (!src) {
        *verdict = FWD_RETRY;
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    struct fwd_src_entry *e = calloc(1, sizeof *e);
    if (!e)
        return src;
    snprintf(e->path, sizeof e->path, "%s", job->path);
    e->src = work_source_ref(src);
    e->size = job->size > 0 ? (uint64_t)job->size : 0;
    e->used_ms = now;
    pthread_mutex_lock(&f->cache_lock);
    for (struct fwd_src_entry *o = f->sources; o; o = o->next) {
        if (strcmp(o->path, job->path) == 0) {
            /* another destination's worker read it meanwhile: share its
             * source, so that the pixel data is decoded once */
            struct work_source *s = work_source_ref(o->src);
            o->used_ms = now;
            pthread_mutex_unlock(&f->cache_lock);
            src_entry_free(e);
            work_source_unref(src);
            return s;
        }
    }
    e->next = f->sources;
    f->sources = e;
    sources_trim(f, SOURCE_CACHE_ENTRIES, now);
    pthread_mutex_unlock(&f->cache_lock);
    return src;
}

void fwd_caches_free(struct fwd *f)
{
    while (f->pipes) {
        struct fwd_pipe_entry *e = f->pipes;
        f->pipes = e->next;
        work_pipeline_free(e->p);
        free(e->text);
        free(e->error);
        free(e);
    }
    while (f->sources) {
        struct fwd_src_entry *e = f->sources;
        f->sources = e->next;
        src_entry_free(e);
    }
}

void fwd_caches_trim(struct fwd *f)
{
    pthread_mutex_lock(&f->cache_lock);
    sources_trim(f, SOURCE_CACHE_ENTRIES, (uint64_t)net_now_ms());
    pthread_mutex_unlock(&f->cache_lock);
}

/* --------------------------------------------------------- transcoding */

static bool native(const char *uid)
{
    const struct dcm_ts *t = dcm_ts_lookup(uid);
    return t && !t->encapsulated;
}

/* Make *ds writable in ts: a codec step when pixels must be decoded or
 * encoded; between native syntaxes dcm_write converts by itself. */
static int convert(struct fwd *f, struct dcm_dataset **ds, const char *ts, const char *ctx,
                   char *why, size_t why_size)
{
    const char *have = dcm_dataset_transfer_syntax(*ds);
    if (strcmp(have, ts) == 0 || (native(have) && native(ts)))
        return 0;
    char text[128];
    snprintf(text, sizeof text, "compress %s", native(ts) ? "explicit-vr-little-endian" : ts);
    bool owned;
    struct work_pipeline *p = pipe_get(f, text, &owned, why, why_size);
    if (!p)
        return -ENOTSUP;
    struct work_source *src = work_source_new(*ds, f->registry, ctx);
    if (!src) {
        snprintf(why, why_size, "out of memory");
        return -ENOMEM;
    }
    struct dcm_dataset *out = NULL;
    struct work_result res;
    struct ferry_error *err = NULL;
    int rc = work_pipeline_run(p, src, &out, &res, &err);
    work_source_unref(src);
    if (owned)
        work_pipeline_free(p);
    if (rc < 0) {
        snprintf(why, why_size, "converting to %s: %s",
                 conf_transfer_syntax_name(ts) ? conf_transfer_syntax_name(ts) : ts,
                 ferry_error_message(err));
        ferry_error_free(err);
        return rc;
    }
    dcm_dataset_unref(*ds);
    *ds = out;
    return 0;
}

static void transcode(struct fwd *f, struct fwd_item *it)
{
    char why[512] = "";
    enum fwd_verdict verdict = FWD_DEAD;
    struct work_pipeline *p = NULL;
    bool owned = false;
    struct dcm_dataset *out = NULL;
    struct work_source *src = source_get(f, &it->job, why, sizeof why, &verdict);
    if (!src) {
        prep_failed(it, verdict, "cannot read the spool file %s: %s", it->job.path, why);
        return;
    }
    if (it->job.pipeline[0]) {
        p = pipe_get(f, it->job.pipeline, &owned, why, sizeof why);
        if (!p) {
            prep_failed(it, FWD_DEAD, "%s", why);
            goto out;
        }
    }
    struct work_result res;
    struct ferry_error *err = NULL;
    int rc = work_pipeline_run(p, src, &out, &res, &err);
    if (rc < 0) {
        prep_failed(it, rc == -ENOMEM || rc == -EAGAIN ? FWD_RETRY : FWD_DEAD, "%s",
                    ferry_error_message(err));
        ferry_error_free(err);
        goto out;
    }
    if (res.step_result == FERRY_STEP_DROP) {
        /* a step decided it goes nowhere: delivered as far as the queue is concerned */
        it->prep_rc = 0;
        it->prep_verdict = FWD_DELIVERED;
        snprintf(it->prep_why, sizeof it->prep_why, "%s", res.reason);
        goto out;
    }
    if (res.step_result == FERRY_STEP_QUARANTINE) {
        struct ferry_error *qe = NULL;
        if (fwd_quarantine_copy(f, it->job.path, it->job.sop_instance_uid, res.reason, &qe) < 0)
            prep_failed(it, FWD_RETRY, "%s; and %s", res.reason, ferry_error_message(qe));
        else
            prep_failed(it, FWD_DEAD, "quarantined: %s", res.reason);
        ferry_error_free(qe);
        goto out;
    }
    char ctx[160];
    snprintf(ctx, sizeof ctx, "forward %s %s", it->dest->name, it->job.sop_instance_uid);
    if ((rc = convert(f, &out, it->ts, ctx, why, sizeof why)) < 0) {
        prep_failed(it, rc == -ENOMEM ? FWD_RETRY : FWD_DEAD, "%s", why);
        goto out;
    }
    struct dcm_buf buf = { 0 };
    if ((rc = dcm_write_buf(out, it->ts, 0, &buf, &err)) < 0) {
        prep_failed(it, rc == -ENOMEM ? FWD_RETRY : FWD_DEAD, "cannot encode it in %s: %s",
                    it->ts, ferry_error_message(err));
        ferry_error_free(err);
        dcm_buf_free(&buf);
        goto out;
    }
    it->mem = buf.data;
    it->mem_len = buf.len;
    it->total = buf.len;
    if (dcm_dataset_get_cstr(out, DCM_TAG_SOPClassUID, 0, it->sop_class, sizeof it->sop_class) < 0)
        snprintf(it->sop_class, sizeof it->sop_class, "%s", it->job.sop_class_uid);
    if (dcm_dataset_get_cstr(out, DCM_TAG_SOPInstanceUID, 0, it->sop_instance,
                             sizeof it->sop_instance) < 0)
        snprintf(it->sop_instance, sizeof it->sop_instance, "%s", it->job.sop_instance_uid);
    it->prep_rc = 0;
    it->prep_verdict = FWD_DELIVERED;
    it->prep_why[0] = '\0';
out:
    dcm_dataset_unref(out);
    if (owned)
        work_pipeline_free(p);
    work_source_unref(src);
}

static void transcode_back(struct net_work *w)
{
    struct fwd_item *it = ferry_container_of(w, struct fwd_item, post);
    if (!op_back(it))
        return;
    fwd_assoc_item_ready(it->assoc, it);
}

static void transcode_run(struct work_task *t)
{
    struct fwd_item *it = ferry_container_of(t, struct fwd_item, task);
    transcode(it->f, it);
    it->post.fn = transcode_back;
    net_loop_post(it->f->loop, &it->post);
}

/* ------------------------------------------------------------- entry */

void fwd_prepare(struct fwd_item *it)
{
    it->prep_rc = 0;
    it->prep_verdict = FWD_DELIVERED;
    it->prep_why[0] = '\0';
    it->sent = 0;
    if (it->passthrough) {
        prepare_passthrough(it);
        return;
    }
    it->task.run = transcode_run;
    it->task.priority = it->job.priority;
    it->ops++;
    if (work_pool_submit(it->f->pool, &it->task) < 0) {
        it->ops--;
        prep_failed(it, FWD_RETRY, "the worker pool is stopping");
        report_later(it);
    }
}
