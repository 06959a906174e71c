/* ferry — forward: the control socket.
 *
 * A Unix socket (server.control_socket, mode 0660: whoever may open the
 * file may steer the queue) served on the ring. One request per connection:
 * a line of words; the answer is a first line "ok" or "error: WHY", then
 * the text for a person, then ferryd closes the connection.
 *
 *   queue                     per destination: counts, oldest waiting,
 *                             paused, state (why it waits), last error
 *   queue retry DEST|JOB      dead and backing-off jobs pending again now
 *   queue purge [DEST]        forget done and dead jobs
 *   queue pause DEST          start nothing new for DEST (kept across restarts)
 *   queue resume DEST
 *   reload                    as SIGHUP; answered once the reload is done
 */
#include "forward/forward-private.h"

#include "base/log.h"
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_LINE_MAX 1024

struct fwd_ctl_conn {
    struct fwd_ctl_conn *prev, *next;     /* f->ctl_conns */
    struct fwd_ctl_conn *reload_next;     /* f->reload_waiters */
    struct fwd *f;
    struct net_conn *c;                   /* NULL once closed */
    char in[CTL_LINE_MAX];
    size_t in_len;
    bool answered;
    bool busy;                            /* an index request works for it */
    char *out;
    size_t out_len, out_cap;
    struct net_send send;
};

static void conn_free_if_done(struct fwd_ctl_conn *k)
{
    if (k->c || k->busy)
        return;
    struct fwd *f = k->f;
    if (k->prev)
        k->prev->next = k->next;
    else
        f->ctl_conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    free(k->out);
    free(k);
    fwd_check_drained(f);
}

static void out_add(struct fwd_ctl_conn *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out_add(struct fwd_ctl_conn *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
    if (k->out_len + len + 1 > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap * 2 : 4096;
        while (cap < k->out_len + len + 1)
            cap *= 2;
        char *p = realloc(k->out, cap);
        if (!p)
            return;
        k->out = p;
        k->out_cap = cap;
    }
    memcpy(k->out + k->out_len, tmp, len);
    k->out_len += len;
    k->out[k->out_len] = '\0';
}

/* Send what was put together and close. */
static void finish(struct fwd_ctl_conn *k)
{
    k->answered = true;
    if (!k->c) {
        conn_free_if_done(k);
        return;
    }
    if (k->out_len == 0) {
        net_conn_close(k->c);
        return;
    }
    k->send.buf = k->out;
    k->send.len = k->out_len;
    if (net_conn_send(k->c, &k->send) < 0)
        net_conn_close(k->c);
}

static void answer_error(struct fwd_ctl_conn *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void answer_error(struct fwd_ctl_conn *k, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    k->out_len = 0;
    out_add(k, "error: %s\n", why);
    finish(k);
}

/* ------------------------------------------------------ index requests */

struct ctl_txn {
    struct store_txn_req req;
    struct net_work post;
    struct fwd_ctl_conn *k;
    enum { CT_STATS, CT_RETRY_DEST, CT_RETRY_JOB, CT_PURGE, CT_PAUSE, CT_RESUME } what;
    char dest[64];
    int64_t job;
    int count;
    struct store_queue_stats *st;
    size_t n;
};

static int ctl_run(struct store_index *idx, struct store_txn_req *req)
{
    struct ctl_txn *t = ferry_container_of(req, struct ctl_txn, req);
    int64_t now = fwd_unix_ms();
    switch (t->what) {
    case CT_STATS:
        return store_queue_stats(idx, &t->st, &t->n, &req->error);
    case CT_RETRY_DEST:
        t->count = store_queue_retry_destination(idx, t->dest, now, &req->error);
        return t->count < 0 ? t->count : 0;
    case CT_RETRY_JOB:
        t->count = store_queue_retry_job(idx, t->job, now, &req->error);
        return t->count < 0 ? t->count : 0;
    case CT_PURGE:
        t->count = store_queue_purge(idx, t->dest[0] ? t->dest : NULL, &req->error);
        return t->count < 0 ? t->count : 0;
    case CT_PAUSE:
    case CT_RESUME:
        return store_queue_set_paused(idx, t->dest, t->what == CT_PAUSE, &req->error);
    }
    return -EINVAL;
}

static void fmt_age(int64_t since_ms, char *buf, size_t size)
{
    if (since_ms <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    int64_t age = fwd_unix_ms() - since_ms;
    char d[32];
    route_format_duration(age > 0 ? (uint64_t)age : 0, d, sizeof d);
    snprintf(buf, size, "%s ago", d);
}

static void fmt_when(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_dest(struct fwd_ctl_conn *k, struct fwd_dest *d,
                       const struct store_queue_stats *s)
{
    static const struct store_queue_stats none;
    if (!s)
        s = &none;
    if (d && d->cfg)
        out_add(k, "%s (%s at %s:%u)\n", d->name, d->cfg->called_ae, d->cfg->host,
                d->cfg->port);
    else
        out_add(k, "%s (unknown destination: not in the config)\n", d ? d->name : s->destination);
    out_add(k, "  pending %" PRId64 ", held %" PRId64 ", in flight %" PRId64 ", done %" PRId64
               ", dead %" PRId64 ", retries %" PRId64 "\n",
            s->pending, s->held, s->inflight, s->done, s->dead, s->retries);
    char age[48];
    fmt_age(s->oldest_waiting_ms, age, sizeof age);
    out_add(k, "  oldest waiting: %s\n", age);
    bool paused = d ? d->paused : s->paused;
    out_add(k, "  paused: %s\n", paused ? "yes" : "no");
    char why[256] = "";
    if (d)
        fwd_dest_why_waiting(d, why, sizeof why);
    else
        snprintf(why, sizeof why, "unknown destination: not in the config in force (its jobs "
                 "wait)");
    if (why[0] && (s->pending || s->inflight || s->held || (d && (d->paused || !d->cfg))))
        out_add(k, "  state: waiting: %s\n", why);
    else if (d && d->n_assocs)
        out_add(k, "  state: sending (%u association%s open)\n", d->n_assocs,
                d->n_assocs == 1 ? "" : "s");
    else if (s->pending || s->inflight)
        out_add(k, "  state: sending\n");
    else if (s->held)
        out_add(k, "  state: waiting: studies not yet stable\n");
    else
        out_add(k, "  state: idle\n");
    if (s->last_error[0]) {
        char when[32];
        fmt_when(s->last_error_ms, when, sizeof when);
        out_add(k, "  last error: %s %s\n", when, s->last_error);
    } else if (d && d->last_error[0]) {
        out_add(k, "  last error: %s\n", d->last_error);
    } else {
        out_add(k, "  last error: -\n");
    }
}

static void print_stats(struct fwd_ctl_conn *k, struct ctl_txn *t)
{
    struct fwd *f = k->f;
    out_add(k, "ok\n");
    /* Every destination of the config, and any other that has jobs, in
     * name order. */
    size_t n = 0;
    for (struct fwd_dest *d = f->dests; d; d = d->next)
        n++;
    const char **names = calloc(n + t->n + 1, sizeof *names);
    size_t m = 0;
    if (names) {
        for (struct fwd_dest *d = f->dests; d; d = d->next)
            if (d->cfg)
                names[m++] = d->name;
        for (size_t i = 0; i < t->n; i++) {
            bool seen = false;
            for (size_t j = 0; j < m && !seen; j++)
                seen = strcmp(names[j], t->st[i].destination) == 0;
            if (!seen)
                names[m++] = t->st[i].destination;
        }
        for (size_t i = 1; i < m; i++)
            for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                const char *x = names[j];
                names[j] = names[j - 1];
                names[j - 1] = x;
            }
    }
    if (m == 0)
        out_add(k, "no destinations and no jobs\n");
    for (size_t i = 0; i < m; i++) {
        const struct store_queue_stats *s = NULL;
        for (size_t j = 0; j < t->n && !s; j++)
            if (strcmp(t->st[j].destination, names[i]) == 0)
                s = &t->st[j];
        print_dest(k, fwd_dest_find(f, names[i]), s);
    }
    free(names);
}

static void ctl_back(struct net_work *w)
{
    struct ctl_txn *t = ferry_container_of(w, struct ctl_txn, post);
    struct fwd_ctl_conn *k = t->k;
    struct fwd *f = k->f;
    k->busy = false;
    fwd_txn_end(f);
    if (t->req.status < 0) {
        answer_error(k, "%s", ferry_error_message(t->req.error));
        goto out;
    }
    struct fwd_dest *d = t->dest[0] ? fwd_dest_find(f, t->dest) : NULL;
    switch (t->what) {
    case CT_STATS:
        print_stats(k, t);
        break;
    case CT_RETRY_DEST:
        if (d) {
            d->failures = 0;
            d->backoff_until = 0;
            d->more = true;
            d->next_due_ms = INT64_MAX;
            fwd_dest_kick(d);
        }
        out_add(k, "ok\n%d job%s of %s pending again\n", t->count, t->count == 1 ? "" : "s",
                t->dest);
        ferry_log(FERRY_LOG_INFO, "control", "queue retry %s: %d jobs pending again", t->dest,
                  t->count);
        break;
    case CT_RETRY_JOB:
        if (t->count == 0) {
            answer_error(k, "job %" PRId64 " is not dead or waiting", t->job);
            goto out;
        }
        for (struct fwd_dest *x = f->dests; x; x = x->next) {
            x->more = true;
            fwd_dest_kick(x);
        }
        out_add(k, "ok\njob %" PRId64 " pending again\n", t->job);
        ferry_log(FERRY_LOG_INFO, "control", "queue retry: job %" PRId64 " pending again", t->job);
        break;
    case CT_PURGE:
        out_add(k, "ok\n%d finished job%s forgotten (%s)\n", t->count, t->count == 1 ? "" : "s",
                t->dest[0] ? t->dest : "every destination");
        ferry_log(FERRY_LOG_INFO, "control", "queue purge %s: %d done or dead jobs forgotten",
                  t->dest[0] ? t->dest : "(all)", t->count);
        break;
    case CT_PAUSE:
    case CT_RESUME:
        if ((d = fwd_dest_get(f, t->dest))) {
            d->paused = t->what == CT_PAUSE;
            d->more = true;
            fwd_dest_kick(d);
        }
        out_add(k, "ok\n%s %s\n", t->dest,
                t->what == CT_PAUSE ? "paused: what is being sent finishes, nothing new starts"
                                    : "resumed");
        ferry_log(FERRY_LOG_INFO, "control", "%s %s", t->dest,
                  t->what == CT_PAUSE ? "paused" : "resumed");
        break;
    }
    finish(k);
out:
    ferry_error_free(t->req.error);
    free(t->st);
    free(t);
    conn_free_if_done(k);
}

static void ctl_done(struct store_txn_req *req)
{
    struct ctl_txn *t = ferry_container_of(req, struct ctl_txn, req);
    t->post.fn = ctl_back;
    net_loop_post(t->k->f->loop, &t->post);
}

static void submit(struct fwd_ctl_conn *k, struct ctl_txn *t)
{
    t->k = k;
    t->req.run = ctl_run;
    t->req.done = ctl_done;
    k->busy = true;
    fwd_txn_begin(k->f);
    store_committer_run(k->f->committer, &t->req);
}

/* ------------------------------------------------------------ commands */

static bool known_destination(struct fwd *f, const char *name)
{
    return fwd_dest_find(f, name) != NULL || conf_destination(f->conf, name) != NULL;
}

static void command(struct fwd_ctl_conn *k, char *line)
{
    struct fwd *f = k->f;
    char *w[4] = { NULL };
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(line, " \t\r", &save); p;
         p = strtok_r(NULL, " \t\r", &save)) {
        if (n == 4) {
            answer_error(k, "too many words");
            return;
        }
        w[n++] = p;
    }
    if (n == 0) {
        answer_error(k, "empty request");
        return;
    }
    if (strcmp(w[0], "reload") == 0 && n == 1) {
        if (!f->reload) {
            answer_error(k, "this ferryd cannot reload on request");
            return;
        }
        ferry_log(FERRY_LOG_INFO, "control", "reload requested");
        k->busy = true;
        k->reload_next = f->reload_waiters;
        f->reload_waiters = k;
        f->reload(f->reload_ud);
        return;
    }
    if (strcmp(w[0], "queue") != 0) {
        answer_error(k, "unknown request '%s'", w[0]);
        return;
    }
    struct ctl_txn *t = calloc(1, sizeof *t);
    if (!t) {
        answer_error(k, "out of memory");
        return;
    }
    if (n == 1) {
        t->what = CT_STATS;
    } else if (strcmp(w[1], "retry") == 0 && n == 3) {
        char *end;
        long long id = strtoll(w[2], &end, 10);
        if (*end == '\0' && isdigit((unsigned char)w[2][0])) {
            t->what = CT_RETRY_JOB;
            t->job = id;
        } else {
            t->what = CT_RETRY_DEST;
        }
    } else if (strcmp(w[1], "purge") == 0 && n <= 3) {
        t->what = CT_PURGE;
    } else if ((strcmp(w[1], "pause") == 0 || strcmp(w[1], "resume") == 0) && n == 3) {
        t->what = strcmp(w[1], "pause") == 0 ? CT_PAUSE : CT_RESUME;
    } else {
        free(t);
        answer_error(k, "unknown queue request (queue, queue retry DEST|JOB, queue purge "
                        "[DEST], queue pause DEST, queue resume DEST)");
        return;
    }
    if (n == 3 && t->what != CT_RETRY_JOB) {
        if (strlen(w[2]) >= sizeof t->dest || !known_destination(f, w[2])) {
            free(t);
            answer_error(k, "no destination named '%s'", w[2]);
            return;
        }
        snprintf(t->dest, sizeof t->dest, "%s", w[2]);
    }
    submit(k, t);
}

/* ---------------------------------------------------------- connection */

static void conn_recv(struct fwd_ctl_conn *k)
{
    if (net_conn_recv(k->c, k->in + k->in_len, sizeof k->in - 1 - k->in_len) < 0)
        net_conn_close(k->c);
}

static void on_recv(struct net_conn *c, void *arg, ssize_t res)
{
    (void)c;
    struct fwd_ctl_conn *k = arg;
    if (k->answered || k->busy)
        return;
    if (res <= 0) {
        net_conn_close(k->c);
        return;
    }
    k->in_len += (size_t)res;
    k->in[k->in_len] = '\0';
    char *nl = memchr(k->in, '\n', k->in_len);
    if (!nl) {
        if (k->in_len >= sizeof k->in - 1)
            answer_error(k, "request longer than %d bytes", CTL_LINE_MAX - 1);
        else
            conn_recv(k);
        return;
    }
    *nl = '\0';
    if (k->f->draining) {
        answer_error(k, "ferryd is stopping");
        return;
    }
    command(k, k->in);
}

static void on_sent(struct net_conn *c, void *arg, struct net_send *s, int res)
{
    (void)s;
    (void)res;
    (void)arg;
    net_conn_close(c);
}

static void on_closed(struct net_conn *c, void *arg)
{
    (void)c;
    struct fwd_ctl_conn *k = arg;
    k->c = NULL;
    conn_free_if_done(k);
}

static const struct net_conn_ops ctl_ops = {
    .on_recv = on_recv,
    .on_sent = on_sent,
    .on_closed = on_closed,
};

static void on_accept(struct net_listener *l, void *arg, struct net_conn *c)
{
    (void)l;
    struct fwd *f = arg;
    struct fwd_ctl_conn *k = calloc(1, sizeof *k);
    if (!k)
        return; /* without ops the connection is closed */
    k->f = f;
    k->c = c;
    k->next = f->ctl_conns;
    if (f->ctl_conns)
        f->ctl_conns->prev = k;
    f->ctl_conns = k;
    net_conn_set_ops(c, &ctl_ops, k);
    conn_recv(k);
}

/* -------------------------------------------------------------- public */

void fwd_reload_done(struct fwd *f, bool ok, const char *message)
{
    struct fwd_ctl_conn *k = f->reload_waiters;
    f->reload_waiters = NULL;
    while (k) {
        struct fwd_ctl_conn *next = k->reload_next;
        k->reload_next = NULL;
        k->busy = false;
        k->out_len = 0;
        out_add(k, ok ? "ok\n" : "error: the config was refused; the running config stays in "
                                 "force\n");
        if (message && *message) {
            /* out_add cuts at 1 KiB: add line by line */
            const char *p = message;
            while (*p) {
                const char *e = strchr(p, '\n');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                out_add(k, "%.*s\n", (int)len, p);
                p += len + (e ? 1 : 0);
            }
        }
        finish(k);
        conn_free_if_done(k);
        k = next;
    }
}

int fwd_control_listen(struct fwd *f, const char *path, struct ferry_error **err)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sun.sun_path)
        return ferry_error_set(err, -ENAMETOOLONG, "control socket %s: the path is longer than "
                               "the %zu bytes a Unix socket may have", path,
                               sizeof sun.sun_path - 1);
    memcpy(sun.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ferry_error_set(err, -EEXIST, "control socket %s: a file that is not a "
                                   "socket is in the way", path);
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0) {
            close(probe);
            return ferry_error_set(err, -EADDRINUSE, "control socket %s: another ferryd "
                                   "answers there", path);
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* left by a ferryd that did not stop cleanly */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ferry_error_set(err, -errno, "control socket %s: %s", path, strerror(errno));
    /* Before the loop runs: no other thread makes files now, so the umask
     * can be narrowed for the bind alone. */
    mode_t old = umask(0117);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    umask(old);
    if (rc < 0 || chmod(path, 0660) < 0 || listen(fd, 16) < 0) {
        e = rc < 0 ? e : errno;
        close(fd);
        return ferry_error_set(err, -e, "control socket %s: %s", path, strerror(e));
    }
    f->ctl = net_listen_fd(f->loop, fd, on_accept, f);
    if (!f->ctl) {
        close(fd);
        unlink(path);
        return ferry_error_set(err, -ENOMEM, "control socket %s: out of memory", path);
    }
    f->ctl_path = strdup(path);
    return 0;
}

void fwd_ctl_close_all(struct fwd *f)
{
    if (f->ctl) {
        net_listener_close(f->ctl);
        f->ctl = NULL;
        if (f->ctl_path)
            unlink(f->ctl_path);
    }
    /* Reload waiters hear that nothing will come. */
    struct fwd_ctl_conn *k = f->reload_waiters;
    f->reload_waiters = NULL;
    while (k) {
        struct fwd_ctl_conn *next = k->reload_next;
        k->reload_next = NULL;
        k->busy = false;
        answer_error(k, "ferryd is stopping");
        conn_free_if_done(k);
        k = next;
    }
    for (k = f->ctl_conns; k; k = k->next)
        if (k->c && !k->answered && !k->busy)
            net_conn_close(k->c);
}
