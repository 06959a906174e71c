/* ferry — forward: routing at ingest.
 *
 * fwd_plan() runs on the committer thread, inside the transaction that
 * records the instance, so that the instance and its jobs are committed
 * together (DESIGN.md, durability contract). It evaluates the routes of the
 * config in force against the parsed header and the association, turns
 * forward actions into job specs, and makes the quarantine copy a
 * quarantine route asks for. Then it tells the network thread which
 * destinations have something new (the claim that follows lands in a later
 * transaction than this one, so it sees the jobs).
 */
#include "forward/forward-private.h"

#include "base/log.h"
#include "base/util.h"
#include "route/route_dcm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int get_attr(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size)
{
    if (!ud)
        return -ENOENT;
    return route_dcm_get(ud, tag, index, buf, size);
}

/* ------------------------------------------------------------ quarantine */

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        int rc = -errno;
        close(in);
        return rc;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if ((rc = write_all(out, buf, (size_t)n)) < 0)
            break;
    }
    if (rc == 0 && fdatasync(out) < 0)
        rc = -errno;
    close(in);
    close(out);
    if (rc < 0)
        unlink(to);
    return rc;
}

static int sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int fwd_quarantine_copy(struct fwd *f, const char *path, const char *sop_instance_uid,
                        const char *reason, struct ferry_error **err)
{
    char day[16], stamp[32], dir[4200], from[4400], to[4400], why[4400];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    int rc;
    if (mkdir(f->quarantine_dir, 0750) < 0 && errno != EEXIST) {
        rc = -errno;
        return ferry_error_set(err, rc, "cannot make the quarantine folder %s: %s",
                               f->quarantine_dir, strerror(-rc));
    }
    snprintf(dir, sizeof dir, "%s/%s", f->quarantine_dir, day);
    bool made = mkdir(dir, 0750) == 0;
    if (!made && errno != EEXIST) {
        rc = -errno;
        return ferry_error_set(err, rc, "cannot make the quarantine folder %s: %s", dir,
                               strerror(-rc));
    }
    snprintf(from, sizeof from, "%s/%s", f->data_dir, path);
    /* A UID is digits and dots: safe in a file name. */
    const char *uid = sop_instance_uid && *sop_instance_uid ? sop_instance_uid : "instance";
    for (int n = 0;; n++) {
        if (n == 0)
            snprintf(to, sizeof to, "%s/%s-%s.dcm", dir, stamp, uid);
        else
            snprintf(to, sizeof to, "%s/%s-%s.%d.dcm", dir, stamp, uid, n);
        /* Same file system: a second name for the spool file (which stays
         * until retention). Elsewhere: a copy. */
        if (link(from, to) == 0) {
            rc = 0;
            break;
        }
        rc = -errno;
        if (rc == -EXDEV)
            rc = copy_file(from, to);
        if (rc != -EEXIST || n >= 8)
            break;
    }
    if (rc < 0)
        return ferry_error_set(err, rc, "cannot put %s into the quarantine folder %s: %s", path,
                               dir, strerror(-rc));
    size_t n = strlen(to);
    snprintf(why, sizeof why, "%.*s.reason", (int)(n - 4), to);
    char text[1024];
    int len = snprintf(text, sizeof text, "reason: %s\nSOP Instance UID: %s\nspool file: %s\n",
                       reason, uid, path);
    int fd = open(why, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || write_all(fd, text, (size_t)len) < 0 || fdatasync(fd) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        unlink(why);
        unlink(to);
        return ferry_error_set(err, rc, "cannot write %s: %s", why, strerror(-rc));
    }
    close(fd);
    if ((rc = sync_dir(dir)) < 0 || (made && (rc = sync_dir(f->quarantine_dir)) < 0))
        return ferry_error_set(err, rc, "cannot make the quarantine folder %s durable: %s", dir,
                               strerror(-rc));
    return 0;
}

/* ------------------------------------------------------------------ plan */

/* Tell the network thread (committer thread; the lock is held). */
static void note_destination(struct fwd *f, const char *name)
{
    for (size_t i = 0; i < f->n_new_dests; i++)
        if (strcmp(f->new_dests[i], name) == 0)
            return;
    if (f->n_new_dests == f->cap_new_dests) {
        size_t cap = f->cap_new_dests ? 2 * f->cap_new_dests : 8;
        void *p = cap <= 256 ? realloc(f->new_dests, cap * sizeof *f->new_dests) : NULL;
        if (!p) {
            f->new_all = true;
            return;
        }
        f->new_dests = p;
        f->cap_new_dests = cap;
    }
    snprintf(f->new_dests[f->n_new_dests++], sizeof *f->new_dests, "%s", name);
}

static void notify(struct fwd *f, const struct store_job_spec *jobs, size_t n)
{
    bool post = false;
    pthread_mutex_lock(&f->plan_lock);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].held) {
            if (!f->new_held || jobs[i].not_before_ms < f->new_held_due)
                f->new_held_due = jobs[i].not_before_ms;
            f->new_held = true;
        } else {
            note_destination(f, jobs[i].destination);
        }
    }
    if (n && !f->jobs_posted) {
        f->jobs_posted = true;
        post = true;
    }
    pthread_mutex_unlock(&f->plan_lock);
    if (post)
        net_loop_post(f->loop, &f->jobs_work);
}

int fwd_plan(struct store_ingest_req *req, void *ud)
{
    struct fwd *f = ud;
    const struct conf *c = conf_holder_get(f->holder);
    const struct store_instance *rec = &req->rec;
    struct route_ctx ctx = {
        .calling_ae = rec->calling_ae[0] ? rec->calling_ae : NULL,
        .called_ae = rec->called_ae[0] ? rec->called_ae : NULL,
        .peer = req->peer_addr.ss_family ? (const struct sockaddr *)&req->peer_addr : NULL,
        .get = get_attr,
        .ud = req->dataset,
    };
    int rc = route_eval(c->rules, &ctx, &f->rr);
    if (rc < 0) {
        ferry_error_set(&req->error, rc, "%s: routing failed: out of memory",
                        rec->sop_instance_uid);
        goto out;
    }
    struct store_job_spec *jobs = NULL;
    size_t n = 0;
    if (f->rr.n_actions) {
        jobs = calloc(f->rr.n_actions, sizeof *jobs);
        if (!jobs) {
            rc = ferry_error_set(&req->error, -ENOMEM, "%s: routing: out of memory",
                                 rec->sop_instance_uid);
            goto out;
        }
    }
    int64_t now = fwd_unix_ms();
    for (size_t i = 0; i < f->rr.n_actions; i++) {
        const struct route_action *a = &f->rr.actions[i];
        if (a->kind == ROUTE_DISCARD)
            continue;
        if (a->kind == ROUTE_QUARANTINE) {
            char reason[160];
            snprintf(reason, sizeof reason, "route '%s'", a->route_name);
            rc = fwd_quarantine_copy(f, rec->path, rec->sop_instance_uid, reason, &req->error);
            if (rc < 0) {
                free(jobs);
                goto out;
            }
            ferry_log(FERRY_LOG_WARN, "route",
                      "%s from %s (%s): quarantined by route '%s' (a copy in %s)",
                      rec->sop_instance_uid, rec->calling_ae, rec->peer, a->route_name,
                      f->quarantine_dir);
            continue;
        }
        struct store_job_spec js;
        memset(&js, 0, sizeof js);
        snprintf(js.destination, sizeof js.destination, "%s", a->destination_name);
        snprintf(js.route, sizeof js.route, "%s", a->route_name);
        if (a->pipeline != ROUTE_NO_PIPELINE && a->pipeline < c->n_pipelines) {
            const struct conf_pipeline *p = &c->pipelines[a->pipeline];
            if (fwd_pipeline_text(p, js.pipeline, sizeof js.pipeline) < 0)
                snprintf(js.pipeline, sizeof js.pipeline, "@%s", p->name);
        }
        js.priority = a->priority;
        if (a->trigger == ROUTE_TRIGGER_STUDY_STABLE) {
            js.held = true;
            js.not_before_ms = now + (int64_t)a->stable_ms;
        }
        /* Two routes sending the same instance to the same destination
         * through the same pipeline make one job, with the higher
         * priority (and sooner rather than later). */
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++) {
            struct store_job_spec *o = &jobs[k];
            if (strcmp(o->destination, js.destination) || strcmp(o->pipeline, js.pipeline))
                continue;
            dup = true;
            if (js.priority > o->priority)
                o->priority = js.priority;
            if (!js.held && o->held) {
                o->held = false;
                o->not_before_ms = 0;
                snprintf(o->route, sizeof o->route, "%s", js.route);
            }
        }
        if (!dup)
            jobs[n++] = js;
    }
    if (n) {
        req->jobs = jobs;
        req->n_jobs = n;
        req->free_jobs = true;
        notify(f, jobs, n);
    } else {
        free(jobs);
    }
    rc = 0;
out:
    conf_unref(c);
    return rc;
}
