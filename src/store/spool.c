/* ferry — store: the spool's folders, buffers and recovery.
 *
 * Layout (docs/spool.md): <data_dir>/spool/YYYYMMDD/HH/<uid>.<token>.dcm,
 * in the UTC hour the instance was completed; spool/incoming/<token>.part
 * while it arrives; <quarantine>/YYYYMMDD/<stamp>-<token>.dcm and .reason.
 */
#include "store/spool-private.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- buffers */

struct spool_chunk *spool_chunk_get(struct store_spool *sp)
{
    struct spool_chunk *c = sp->free_chunks;
    if (c) {
        sp->free_chunks = c->next;
        sp->n_free_chunks--;
    } else {
        c = malloc(sizeof *c + sp->chunk_size);
        if (!c)
            return NULL;
    }
    c->next = NULL;
    c->w = NULL;
    c->off = 0;
    c->len = 0;
    return c;
}

void spool_chunk_put(struct store_spool *sp, struct spool_chunk *c)
{
    if (!c)
        return;
    if (sp->n_free_chunks >= SPOOL_FREE_CHUNKS_KEPT) {
        free(c);
        return;
    }
    c->next = sp->free_chunks;
    sp->free_chunks = c;
    sp->n_free_chunks++;
}

/* 64 random bits per token from xorshift64*, seeded from getrandom(): file
 * names only need to differ, and renames refuse to replace (a clash takes
 * another token). */
void spool_token(struct store_spool *sp, char out[17])
{
    uint64_t x = sp->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sp->rng = x;
    snprintf(out, 17, "%016llx", (unsigned long long)(x * 0x2545F4914F6CDD1Dull));
}

/* -------------------------------------------------------------- folders */

static void dir_step(struct spool_dir *d);

static void dir_name_now(bool quarantine, char out[16]);

/* Free a folder nobody uses, unless it is the one new files go to (it
 * stays open: preparing a folder costs two mkdirs and, with fsync, two
 * fsyncs of its parents). */
static void dir_free_if_idle(struct spool_dir *d)
{
    if (d->refs || d->ops || d->syncing || d->waiting || d->pending || d->state == DIR_PREPARING)
        return;
    if (d->state == DIR_READY) {
        char now[16];
        dir_name_now(d->quarantine, now);
        if (strcmp(now, d->name) == 0)
            return;
    }
    struct store_spool *sp = d->sp;
    for (struct spool_dir **pp = &sp->dirs; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    if (d->fd >= 0)
        close(d->fd); /* a folder fd: closing it does not wait for a disk */
    free(d);
}

static void dir_fail_waiters(struct spool_dir *d)
{
    while (d->waiting) {
        struct store_write *w = d->waiting;
        d->waiting = w->dir_next;
        w->dir_next = NULL;
        if (w->phase == PH_QUARANTINE)
            spool_quarantine_dir_ready(w, d->state == DIR_READY ? 0 : d->err);
        else
            spool_write_dir_ready(w, d->state == DIR_READY ? 0 : d->err);
    }
}

static void dir_op_done(void *arg, int res)
{
    struct spool_dir *d = arg;
    d->ops--;
    unsigned step = d->step;
    /* Steps: 0 mkdir day (spool only), 1 mkdir hour (or the quarantine day),
     * 2 open it, 3 fsync the base folder, 4 open the day folder (spool only),
     * 5 fsync it, 6 close it, 7 ready. */
    if (res < 0 && !((step == 0 || step == 1) && res == -EEXIST)) {
        if (step == 6) {
            res = 0; /* a close that failed: the fsync before it counted */
        } else {
            d->state = DIR_FAILED;
            d->err = res;
            ferry_log(FERRY_LOG_ERROR, "spool", "cannot prepare folder %s%s: %s",
                      d->quarantine ? "quarantine/" : "spool/", d->name, strerror(-res));
            if (d->tmp_fd >= 0) {
                close(d->tmp_fd);
                d->tmp_fd = -1;
            }
            dir_fail_waiters(d);
            dir_free_if_idle(d);
            return;
        }
    }
    if (step == 2)
        d->fd = res;
    if (step == 4)
        d->tmp_fd = res;
    if (step == 6)
        d->tmp_fd = -1;
    d->step++;
    dir_step(d);
}

static void dir_step(struct spool_dir *d)
{
    struct store_spool *sp = d->sp;
    struct net_loop *l = sp->loop;
    int rc = 0;
    for (;;) {
        char day[9];
        memcpy(day, d->name, 8);
        day[8] = '\0';
        switch (d->step) {
        case 0:
            if (d->quarantine) {
                d->step = 1;
                continue;
            }
            rc = net_file_mkdirat(l, d->base_fd, day, 0750, dir_op_done, d);
            break;
        case 1:
            rc = net_file_mkdirat(l, d->base_fd, d->name, 0750, dir_op_done, d);
            break;
        case 2:
            rc = net_file_openat(l, d->base_fd, d->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                                 dir_op_done, d);
            break;
        case 3:
            if (!sp->fsync) {
                d->step = 7;
                continue;
            }
            rc = net_file_fsync(l, d->base_fd, false, dir_op_done, d);
            break;
        case 4:
            if (d->quarantine) {
                d->step = 7;
                continue;
            }
            rc = net_file_openat(l, d->base_fd, day, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                                 dir_op_done, d);
            break;
        case 5:
            rc = net_file_fsync(l, d->tmp_fd, false, dir_op_done, d);
            break;
        case 6:
            rc = net_file_close(l, d->tmp_fd, dir_op_done, d);
            break;
        default:
            d->state = DIR_READY;
            dir_fail_waiters(d);
            dir_free_if_idle(d);
            return;
        }
        if (rc < 0) {
            d->state = DIR_FAILED;
            d->err = rc;
            dir_fail_waiters(d);
            dir_free_if_idle(d);
            return;
        }
        d->ops++;
        return;
    }
}

static void dir_name_now(bool quarantine, char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (quarantine)
        strftime(out, 16, "%Y%m%d", &tm);
    else
        strftime(out, 16, "%Y%m%d/%H", &tm);
}

void spool_dir_acquire(struct store_spool *sp, struct store_write *w, bool quarantine)
{
    char name[16];
    dir_name_now(quarantine, name);
    struct spool_dir *d = sp->dirs;
    while (d && (d->quarantine != quarantine || strcmp(d->name, name) != 0 ||
                 d->state == DIR_FAILED))
        d = d->next;
    if (!d) {
        /* A new hour: let the folders of past hours go. */
        for (struct spool_dir *o = sp->dirs, *next; o; o = next) {
            next = o->next;
            dir_free_if_idle(o);
        }
        d = calloc(1, sizeof *d);
        if (!d) {
            w->dir = NULL;
            if (quarantine)
                spool_quarantine_dir_ready(w, -ENOMEM);
            else
                spool_write_dir_ready(w, -ENOMEM);
            return;
        }
        d->sp = sp;
        d->quarantine = quarantine;
        memcpy(d->name, name, sizeof d->name);
        d->base_fd = quarantine ? sp->quarantine_fd : sp->spool_fd;
        d->fd = -1;
        d->tmp_fd = -1;
        d->next = sp->dirs;
        sp->dirs = d;
        d->refs++;
        w->dir = d;
        w->dir_next = d->waiting;
        d->waiting = w;
        dir_step(d);
        return;
    }
    d->refs++;
    w->dir = d;
    if (d->state == DIR_READY) {
        if (quarantine)
            spool_quarantine_dir_ready(w, 0);
        else
            spool_write_dir_ready(w, 0);
        return;
    }
    w->dir_next = d->waiting;
    d->waiting = w;
}

void spool_dir_release(struct spool_dir *d)
{
    if (!d)
        return;
    d->refs--;
    dir_free_if_idle(d);
}

static void dir_sync_start(struct spool_dir *d);

static void dir_synced(void *arg, int res)
{
    struct spool_dir *d = arg;
    d->ops--;
    d->syncing = false;
    struct store_write *list = d->covered;
    d->covered = NULL;
    if (d->pending)
        dir_sync_start(d);
    while (list) {
        struct store_write *w = list;
        list = w->sync_next;
        w->sync_next = NULL;
        spool_write_dir_synced(w, res);
    }
    dir_free_if_idle(d);
}

static void dir_sync_start(struct spool_dir *d)
{
    int rc = net_file_fsync(d->sp->loop, d->fd, false, dir_synced, d);
    if (rc < 0) {
        /* Out of memory: let the waiting writes fail (from here, which is
         * a loop callback of theirs in every case but the first). */
        struct store_write *list = d->pending;
        d->pending = NULL;
        while (list) {
            struct store_write *w = list;
            list = w->sync_next;
            w->sync_next = NULL;
            spool_write_dir_synced(w, rc);
        }
        return;
    }
    d->ops++;
    d->syncing = true;
    d->covered = d->pending;
    d->pending = NULL;
    d->sp->stats.dir_syncs++;
}

void spool_dir_sync(struct spool_dir *d, struct store_write *w)
{
    w->dir_wait = true;
    w->sync_next = d->pending;
    d->pending = w;
    if (!d->syncing)
        dir_sync_start(d);
}

/* ------------------------------------------------------------ the spool */

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of dirfd's entries that pass keep(), sorted; *n their count. */
static char **list_dir(int dirfd, bool (*keep)(const char *), size_t *n)
{
    *n = 0;
    int fd = dup(dirfd);
    if (fd < 0)
        return NULL;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return NULL;
    }
    rewinddir(dir);
    char **v = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!keep(e->d_name))
            continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            char **nv = realloc(v, nc * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap = nc;
        }
        if (!(v[*n] = strdup(e->d_name)))
            break;
        (*n)++;
    }
    closedir(dir);
    if (v)
        qsort(v, *n, sizeof *v, cmp_names);
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool is_day(const char *s) { return all_digits(s, 8); }
static bool is_hour(const char *s) { return all_digits(s, 2); }
static bool is_file(const char *s) { return s[0] != '.'; }

/* Remove the files of folder `rel` (relative to the spool) that the index
 * does not reference. */
static int sweep_hour(int spool_fd, const char *rel, struct store_index *idx)
{
    int fd = openat(spool_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n;
    char **files = list_dir(fd, is_file, &n);
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        /* "<uid>.<16 hex>.dcm" */
        size_t len = strlen(files[i]);
        bool ours = len > 22 && strcmp(files[i] + len - 4, ".dcm") == 0 && files[i][len - 21] == '.';
        if (!ours)
            continue;
        char uid[STORE_UI_MAX];
        size_t ulen = len - 21;
        if (ulen >= sizeof uid)
            continue;
        memcpy(uid, files[i], ulen);
        uid[ulen] = '\0';
        char want[STORE_PATH_MAX], have[STORE_PATH_MAX];
        snprintf(want, sizeof want, SPOOL_DIR "/%s/%s", rel, files[i]);
        int64_t size;
        uint64_t sum;
        int rc = store_index_find_instance(idx, uid, have, &size, &sum);
        if (rc == 0 && strcmp(have, want) == 0)
            continue;
        if (rc < 0 && rc != -ENOENT)
            continue; /* the index could not say: keep it */
        if (unlinkat(fd, files[i], 0) == 0) {
            removed++;
            ferry_log(FERRY_LOG_INFO, "spool",
                      "removed %s: written before an unclean stop and never recorded", want);
        }
    }
    free_list(files, n);
    if (removed)
        fsync(fd);
    close(fd);
    return removed;
}

int store_spool_recover(const char *data_dir, struct store_index *idx, struct ferry_error **err)
{
    char path[4096];
    int removed = 0;
    snprintf(path, sizeof path, "%s/" SPOOL_INCOMING, data_dir);
    int rc = ferry_mkdir_p(path, 0750);
    if (rc < 0)
        return ferry_error_set(err, rc, "cannot make %s: %s", path, strerror(-rc));
    int data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (data_fd < 0)
        return ferry_error_set(err, -errno, "cannot open %s: %s", data_dir, strerror(errno));
    int in_fd = openat(data_fd, SPOOL_INCOMING, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int spool_fd = openat(data_fd, SPOOL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (in_fd < 0 || spool_fd < 0) {
        rc = ferry_error_set(err, -errno, "cannot open %s/" SPOOL_DIR ": %s", data_dir,
                             strerror(errno));
        goto out;
    }
    /* Half-written files of a previous run: never acknowledged. */
    size_t n;
    char **files = list_dir(in_fd, is_file, &n);
    for (size_t i = 0; i < n; i++)
        if (unlinkat(in_fd, files[i], 0) == 0)
            removed++;
    free_list(files, n);
    if (removed)
        ferry_log(FERRY_LOG_INFO, "spool", "removed %d half-written files from %s/" SPOOL_INCOMING,
                  removed, data_dir);

    /* An unclean stop may have left files renamed into their hour folder
     * but not yet recorded: they are in the newest folders (a file's hour is
     * the hour it was completed). */
    if (faccessat(data_fd, SPOOL_MARKER, F_OK, 0) == 0) {
        char hours[2][16] = { "", "" };
        size_t nd;
        char **days = list_dir(spool_fd, is_day, &nd);
        for (size_t i = nd; i-- > 0 && !hours[1][0];) {
            int dfd = openat(spool_fd, days[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd < 0)
                continue;
            size_t nh;
            char **hs = list_dir(dfd, is_hour, &nh);
            close(dfd);
            for (size_t k = nh; k-- > 0 && !hours[1][0];) {
                char *slot = hours[0][0] ? hours[1] : hours[0];
                snprintf(slot, 16, "%s/%s", days[i], hs[k]);
            }
            free_list(hs, nh);
        }
        free_list(days, nd);
        int swept = 0;
        for (int i = 0; i < 2; i++)
            if (hours[i][0])
                swept += sweep_hour(spool_fd, hours[i], idx);
        ferry_log(FERRY_LOG_WARN, "spool",
                  "the previous run did not stop cleanly: checked the newest hour folders "
                  "against the index, %d unrecorded files removed",
                  swept);
        removed += swept;
    }
    rc = removed;
out:
    if (in_fd >= 0)
        close(in_fd);
    if (spool_fd >= 0)
        close(spool_fd);
    close(data_fd);
    return rc;
}

struct store_spool *store_spool_open(struct net_loop *loop, struct store_committer *committer,
                                     const struct store_spool_config *cfg,
                                     struct ferry_error **err)
{
    struct store_spool *sp = calloc(1, sizeof *sp);
    if (!sp) {
        ferry_error_set(err, -ENOMEM, "spool: out of memory");
        return NULL;
    }
    sp->loop = loop;
    sp->committer = committer;
    sp->data_fd = sp->spool_fd = sp->incoming_fd = sp->quarantine_fd = -1;
    sp->fsync = cfg->fsync;
    sp->sync_range = cfg->sync_range;
    sp->duplicates = cfg->duplicates;
    sp->plan = cfg->plan;
    sp->plan_ud = cfg->plan_ud;
    sp->max_depth = cfg->max_depth;
    sp->max_element_length = cfg->max_element_length;
    sp->max_header_memory = cfg->max_header_memory ? cfg->max_header_memory
                                                   : SPOOL_DEFAULT_HEADER_MEMORY;
    sp->chunk_size = cfg->chunk_size ? cfg->chunk_size : SPOOL_DEFAULT_CHUNK;
    sp->max_inflight = cfg->max_inflight ? cfg->max_inflight : SPOOL_DEFAULT_INFLIGHT;
    if (sp->chunk_size < 4096)
        sp->chunk_size = 4096;
    sp->data_dir = strdup(cfg->data_dir);
    sp->quarantine_default = !cfg->quarantine_dir || !cfg->quarantine_dir[0];
    if (sp->quarantine_default) {
        if (sp->data_dir && asprintf(&sp->quarantine_dir, "%s/" SPOOL_QUARANTINE, cfg->data_dir) < 0)
            sp->quarantine_dir = NULL;
    } else {
        sp->quarantine_dir = strdup(cfg->quarantine_dir);
    }
    if (!sp->data_dir || !sp->quarantine_dir) {
        ferry_error_set(err, -ENOMEM, "spool: out of memory");
        goto out_free;
    }
    if (getrandom(&sp->rng, sizeof sp->rng, 0) != sizeof sp->rng)
        sp->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    sp->rng |= 1;

    char path[4096];
    snprintf(path, sizeof path, "%s/" SPOOL_INCOMING, sp->data_dir);
    int rc = ferry_mkdir_p(path, 0750);
    if (rc == 0)
        rc = ferry_mkdir_p(sp->quarantine_dir, 0750);
    if (rc < 0) {
        ferry_error_set(err, rc, "spool: cannot make the folders of %s: %s", sp->data_dir,
                        strerror(-rc));
        goto out_free;
    }
    sp->data_fd = open(sp->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->data_fd >= 0)
        sp->spool_fd = openat(sp->data_fd, SPOOL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->spool_fd >= 0)
        sp->incoming_fd = openat(sp->data_fd, SPOOL_INCOMING, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->incoming_fd >= 0)
        sp->quarantine_fd = open(sp->quarantine_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->quarantine_fd < 0) {
        ferry_error_set(err, -errno, "spool: cannot open the folders of %s: %s", sp->data_dir,
                        strerror(errno));
        goto out_free;
    }
    int mfd = openat(sp->data_fd, SPOOL_MARKER, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (mfd < 0) {
        ferry_error_set(err, -errno, "spool: cannot create %s/" SPOOL_MARKER ": %s", sp->data_dir,
                        strerror(errno));
        goto out_free;
    }
    dprintf(mfd, "%ld\n", (long)getpid());
    close(mfd);
    return sp;

out_free:
    if (sp->data_fd >= 0)
        close(sp->data_fd);
    if (sp->spool_fd >= 0)
        close(sp->spool_fd);
    if (sp->incoming_fd >= 0)
        close(sp->incoming_fd);
    if (sp->quarantine_fd >= 0)
        close(sp->quarantine_fd);
    free(sp->data_dir);
    free(sp->quarantine_dir);
    free(sp);
    return NULL;
}

void store_spool_set_duplicates(struct store_spool *sp, enum store_duplicate_policy policy)
{
    sp->duplicates = policy;
}

void store_spool_set_plan(struct store_spool *sp, int (*plan)(struct store_ingest_req *, void *),
                          void *ud)
{
    sp->plan = plan;
    sp->plan_ud = ud;
}

static void drain_fn(struct net_work *wk)
{
    struct store_spool *sp = ferry_container_of(wk, struct store_spool, drain_work);
    sp->drain_queued = false;
    if (sp->n_writes || !sp->drain_done)
        return;
    void (*done)(void *) = sp->drain_done;
    sp->drain_done = NULL;
    done(sp->drain_arg);
}

static void drain_check(struct store_spool *sp)
{
    if (!sp->drain_done || sp->n_writes || sp->drain_queued)
        return;
    sp->drain_queued = true;
    sp->drain_work.fn = drain_fn;
    net_loop_defer(sp->loop, &sp->drain_work);
}

void store_spool_drain(struct store_spool *sp, void (*done)(void *arg), void *arg)
{
    sp->drain_done = done;
    sp->drain_arg = arg;
    drain_check(sp);
}

void spool_write_forget(struct store_spool *sp, struct store_write *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        sp->writes = w->next;
    if (w->next)
        w->next->prev = w->prev;
    sp->n_writes--;
    drain_check(sp);
}

int store_spool_close(struct store_spool *sp)
{
    if (!sp)
        return 0;
    if (sp->n_writes)
        return -EBUSY;
    while (sp->dirs) {
        struct spool_dir *d = sp->dirs;
        if (d->ops)
            return -EBUSY;
        sp->dirs = d->next;
        if (d->fd >= 0)
            close(d->fd);
        free(d);
    }
    while (sp->free_chunks) {
        struct spool_chunk *c = sp->free_chunks;
        sp->free_chunks = c->next;
        free(c);
    }
    unlinkat(sp->data_fd, SPOOL_MARKER, 0);
    close(sp->quarantine_fd);
    close(sp->incoming_fd);
    close(sp->spool_fd);
    close(sp->data_fd);
    free(sp->data_dir);
    free(sp->quarantine_dir);
    free(sp);
    return 0;
}

void store_spool_stats(const struct store_spool *sp, struct store_spool_stats *out)
{
    *out = sp->stats;
    out->writing = sp->n_writes;
}
