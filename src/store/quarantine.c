/* ferry — store: keeping a bad data set in the quarantine folder.
 *
 * The file, as received (preamble, meta group, data set), moves from
 * spool/incoming to <quarantine>/YYYYMMDD/<stamp>-<token>.dcm, copied when
 * the quarantine folder is on another file system; beside it,
 * <stamp>-<token>.reason says who sent it and what is wrong, with the byte
 * offset and tag of the parser's error. Both are made durable before the
 * sender hears of the failure. If that cannot be done (disk full), nothing
 * is kept and the sender gets "out of resources", so it keeps the instance
 * and may try again: a bad data set is never dropped silently.
 *
 * The steps run one after the other (this path is rare; simple beats
 * fast), each started by the completion of the one before.
 */
#include "store/spool-private.h"

#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum qstep {
    Q_RENAME = 0,
    Q_COPY_OPEN,
    Q_COPY_READ,
    Q_COPY_WRITE,
    Q_COPY_CLOSE,
    Q_COPY_UNLINK,
    Q_SYNC_DATA,
    Q_REASON_OPEN,
    Q_REASON_WRITE,
    Q_REASON_SYNC,
    Q_REASON_CLOSE,
    Q_DIR_SYNC,
    Q_CLOSE,
    Q_DONE,
};

static void q_run(struct store_write *w);

static void q_fail(struct store_write *w, int res, const char *what)
{
    if (!w->io_err)
        w->io_err = res;
    w->qfailed = true;
    snprintf(w->why, sizeof w->why, "cannot keep it in the quarantine folder (%s: %s)", what,
             strerror(-res));
    ferry_log(FERRY_LOG_ERROR, w->ctx, "C-STORE %s: %s", w->sop_instance, w->why);
    w->phase = PH_DISCARD;
    spool_write_step(w);
}

static const char *const step_names[] = {
    [Q_RENAME] = "rename",       [Q_COPY_OPEN] = "create",  [Q_COPY_READ] = "read",
    [Q_COPY_WRITE] = "write",    [Q_COPY_CLOSE] = "close",  [Q_COPY_UNLINK] = "unlink",
    [Q_SYNC_DATA] = "fdatasync", [Q_REASON_OPEN] = "create", [Q_REASON_WRITE] = "write",
    [Q_REASON_SYNC] = "fdatasync", [Q_REASON_CLOSE] = "close", [Q_DIR_SYNC] = "fsync",
    [Q_CLOSE] = "close",         [Q_DONE] = "",
};

static void q_done(void *arg, int res)
{
    struct store_write *w = arg;
    w->ops--;
    switch (w->qstep) {
    case Q_RENAME:
        if (res == -EXDEV) {
            w->qstep = Q_COPY_OPEN; /* another file system: copy */
            break;
        }
        if (res == -EEXIST && ++w->renames < 4) {
            spool_token(w->sp, w->token);
            size_t n = strlen(w->qname);
            if (n > 16)
                memcpy(w->qname + n - 16, w->token, 16);
            break; /* same step, another name */
        }
        if (res < 0)
            goto fail;
        w->where = WHERE_QUARANTINE;
        w->qstep = Q_SYNC_DATA;
        break;
    case Q_COPY_OPEN:
        if (res < 0)
            goto fail;
        w->copy_fd = res;
        w->copy_created = true;
        w->copy_off = 0;
        w->qstep = Q_COPY_READ;
        break;
    case Q_COPY_READ:
        if (res < 0)
            goto fail;
        if (res == 0) {
            w->qstep = Q_COPY_CLOSE;
            break;
        }
        w->copy_buf->len = (size_t)res;
        w->qstep = Q_COPY_WRITE;
        break;
    case Q_COPY_WRITE:
        if (res < 0)
            goto fail;
        w->copy_off += w->copy_buf->len;
        w->qstep = Q_COPY_READ;
        break;
    case Q_COPY_CLOSE:
        w->fd = -1; /* closed, whatever close said */
        w->qstep = Q_COPY_UNLINK;
        break;
    case Q_COPY_UNLINK:
        /* The copy is now the file; the original is gone (or will be
         * removed at the next start if unlink failed). */
        w->fd = w->copy_fd;
        w->copy_fd = -1;
        w->copy_created = false;
        w->where = WHERE_QUARANTINE;
        w->qstep = Q_SYNC_DATA;
        break;
    case Q_REASON_OPEN:
        if (res < 0)
            goto fail;
        w->reason_fd = res;
        w->reason_created = true;
        w->qstep++;
        break;
    case Q_REASON_CLOSE:
        w->reason_fd = -1;
        w->qstep++;
        break;
    case Q_CLOSE:
        w->fd = -1;
        w->qstep++;
        break;
    default:
        if (res < 0)
            goto fail;
        w->qstep++;
        break;
    }
    q_run(w);
    return;
fail:
    q_fail(w, res, step_names[w->qstep]);
}

static void add(struct store_write *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct store_write *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *grown = realloc(w->reason, w->reason_len + (size_t)n + 1);
    if (grown) {
        memcpy(grown + w->reason_len, line, (size_t)n + 1);
        w->reason = grown;
        w->reason_len += (size_t)n;
    }
    free(line);
}

/* The reason file: "key: value" lines. */
static int build_reason(struct store_write *w)
{
    char when[40];
    time_t t = (time_t)(w->received_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    add(w, "file: %s.dcm\n", w->qname);
    add(w, "problem: %s\n",
        w->verdict == STORE_WRITE_MISMATCH ? "the data set does not match the command"
                                           : "the data set cannot be read");
    add(w, "reason: %s\n", w->why);
    if (w->verdict == STORE_WRITE_MALFORMED && w->err_offset != UINT64_MAX && w->uid_ok) {
        unsigned g, e;
        const char *tag = strchr(w->why, '(');
        if (tag && sscanf(tag, "(%4x,%4x)", &g, &e) == 2)
            add(w, "tag: (%04X,%04X)\n", g, e);
        add(w, "data set offset: %" PRIu64 "\n", w->err_offset);
        if (strcmp(w->ts, "1.2.840.10008.1.2.1.99") == 0)
            add(w, "file offset: (deflated: the offset counts inflated bytes)\n");
        else
            add(w, "file offset: %" PRIu64 "\n", w->header_len + w->err_offset);
    }
    add(w, "received: %s.%03dZ\n", when, (int)(w->received_ms % 1000));
    add(w, "peer: %s\n", w->peer);
    add(w, "calling AE title: %s\n", w->calling);
    add(w, "called AE title: %s\n", w->called);
    add(w, "command SOP Class UID: %s\n", w->sop_class);
    add(w, "command SOP Instance UID: %s\n", w->sop_instance);
    add(w, "transfer syntax: %s\n", w->ts);
    add(w, "size: %" PRIu64 "\n", w->size);
    add(w, "meta group: %s\n", w->bare ? "none (the file is the bare data set)" : "added by ferry");
    add(w, "xxh3-64: %016" PRIx64 "\n", w->checksum);
    return w->reason ? 0 : -ENOMEM;
}

static void q_run(struct store_write *w)
{
    struct store_spool *sp = w->sp;
    struct net_loop *l = sp->loop;
    char name[96];
    int rc;
    for (;;) {
        switch (w->qstep) {
        case Q_RENAME:
            snprintf(name, sizeof name, "%s.dcm", w->qname);
            rc = net_file_renameat(l, sp->incoming_fd, w->incoming_name, w->dir->fd, name,
                                   RENAME_NOREPLACE, q_done, w);
            break;
        case Q_COPY_OPEN:
            if (!w->copy_buf && !(w->copy_buf = spool_chunk_get(sp))) {
                rc = -ENOMEM;
                break;
            }
            snprintf(name, sizeof name, "%s.dcm", w->qname);
            rc = net_file_openat(l, w->dir->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                 0640, q_done, w);
            break;
        case Q_COPY_READ:
            rc = net_file_read(l, w->fd, w->copy_buf->data, sp->chunk_size, w->copy_off, q_done,
                               w);
            break;
        case Q_COPY_WRITE:
            rc = net_file_write(l, w->copy_fd, w->copy_buf->data, w->copy_buf->len, w->copy_off,
                                q_done, w);
            break;
        case Q_COPY_CLOSE:
            rc = net_file_close(l, w->fd, q_done, w);
            break;
        case Q_COPY_UNLINK:
            w->where = WHERE_NOWHERE;
            rc = net_file_unlinkat(l, sp->incoming_fd, w->incoming_name, 0, q_done, w);
            break;
        case Q_SYNC_DATA:
            if (!sp->fsync) {
                w->qstep++;
                continue;
            }
            rc = net_file_fsync(l, w->fd, true, q_done, w);
            break;
        case Q_REASON_OPEN:
            rc = build_reason(w);
            if (rc < 0)
                break;
            snprintf(name, sizeof name, "%s.reason", w->qname);
            rc = net_file_openat(l, w->dir->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                 0640, q_done, w);
            break;
        case Q_REASON_WRITE:
            rc = net_file_write(l, w->reason_fd, w->reason, w->reason_len, 0, q_done, w);
            break;
        case Q_REASON_SYNC:
            if (!sp->fsync) {
                w->qstep++;
                continue;
            }
            rc = net_file_fsync(l, w->reason_fd, true, q_done, w);
            break;
        case Q_REASON_CLOSE:
            rc = net_file_close(l, w->reason_fd, q_done, w);
            break;
        case Q_DIR_SYNC:
            if (!sp->fsync) {
                w->qstep++;
                continue;
            }
            rc = net_file_fsync(l, w->dir->fd, false, q_done, w);
            break;
        case Q_CLOSE:
            rc = net_file_close(l, w->fd, q_done, w);
            break;
        default:
            if (sp->quarantine_default)
                snprintf(w->path, sizeof w->path, SPOOL_QUARANTINE "/%s/%s.dcm", w->dir->name,
                         w->qname);
            else
                snprintf(w->path, sizeof w->path, "%s/%s/%s.dcm", sp->quarantine_dir,
                         w->dir->name, w->qname);
            w->where = WHERE_NOWHERE;    /* it stays */
            w->reason_created = false;
            spool_write_report(w, w->verdict, 0);
            return;
        }
        if (rc < 0) {
            q_fail(w, rc, step_names[w->qstep]);
            return;
        }
        w->ops++;
        return;
    }
}

void spool_quarantine_dir_ready(struct store_write *w, int res)
{
    if (res < 0) {
        q_fail(w, res, "make the folder");
        return;
    }
    char stamp[24];
    time_t t = (time_t)(w->received_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(w->qname, sizeof w->qname, "%s-%s", stamp, w->token);
    w->qstep = Q_RENAME;
    q_run(w);
}

void spool_quarantine_start(struct store_write *w)
{
    spool_dir_acquire(w->sp, w, true);
}
