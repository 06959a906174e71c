/* ferry — store: the forwarding queue (see queue.h). */
#include "store/queue.h"

#include "store/store-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum qstmt {
    Q_CLAIM_SELECT,
    Q_CLAIM_MARK,
    Q_DONE,
    Q_RETRY,
    Q_DEAD,
    Q_PROMOTE,
    Q_NEXT_DUE_DEST,
    Q_NEXT_DUE_ALL,
    Q_RETRY_DEST,
    Q_RETRY_JOB,
    Q_PURGE_DEST,
    Q_PURGE_ALL,
    Q_SET_PAUSED,
    Q_GET_PAUSED,
    Q_STATS_COUNTS,
    Q_STATS_ERROR,
    Q_STATS_PAUSED,
    Q_EXPIRED,
    Q_FORGET_UID,
    Q_FORGET_JOBS,
    Q_FORGET_INSTANCE,
    Q_FORGET_ARRIVALS,
    Q_FORGET_EMPTY,
    Q_UNCLAIM,
    Q_NEXT_HELD,
    Q_COUNT_
};

static const char *const qsql[Q_COUNT_] = {
    [Q_CLAIM_SELECT] =
        "SELECT j.id, j.instance, i.sop_instance_uid, i.sop_class_uid, a.transfer_syntax, a.path,"
        "  a.size, j.destination, j.route, j.pipeline, j.study_uid, j.priority, j.attempts,"
        "  j.created_ms"
        " FROM job j JOIN instance i ON i.id = j.instance JOIN arrival a ON a.id = j.arrival"
        " WHERE j.destination = ?1 AND j.state = 0 AND j.not_before_ms <= ?2"
        " ORDER BY j.priority DESC, j.id LIMIT ?3",
    [Q_CLAIM_MARK] =
        "UPDATE job SET state = 1, attempts = attempts + 1, updated_ms = ?2 WHERE id = ?1",
    [Q_DONE] = "UPDATE job SET state = 2, updated_ms = ?2 WHERE id = ?1 AND state = 1",
    [Q_RETRY] = "UPDATE job SET state = 0, not_before_ms = ?2, updated_ms = ?3, last_error = ?4,"
                " last_error_ms = ?3"
                " WHERE id = ?1 AND state = 1",
    [Q_DEAD] = "UPDATE job SET state = 3, updated_ms = ?2, last_error = ?3, last_error_ms = ?2"
               " WHERE id = ?1",
    [Q_PROMOTE] = "UPDATE job SET state = 0, not_before_ms = 0 WHERE state = 4 AND not_before_ms <= ?1",
    [Q_NEXT_DUE_DEST] = "SELECT min(not_before_ms) FROM job WHERE destination = ?1 AND state IN (0, 4)",
    [Q_NEXT_DUE_ALL] = "SELECT min(not_before_ms) FROM job WHERE state IN (0, 4)",
    [Q_RETRY_DEST] = "UPDATE job SET state = 0, not_before_ms = 0, updated_ms = ?2"
                     " WHERE destination = ?1 AND (state = 3 OR (state = 0 AND not_before_ms > ?2))",
    [Q_RETRY_JOB] = "UPDATE job SET state = 0, not_before_ms = 0, updated_ms = ?2"
                    " WHERE id = ?1 AND state IN (0, 3)",
    [Q_PURGE_DEST] = "DELETE FROM job WHERE destination = ?1 AND state IN (2, 3)",
    [Q_PURGE_ALL] = "DELETE FROM job WHERE state IN (2, 3)",
    [Q_SET_PAUSED] = "INSERT INTO destination_state(name, paused) VALUES(?1, ?2)"
                     " ON CONFLICT(name) DO UPDATE SET paused = excluded.paused",
    [Q_GET_PAUSED] = "SELECT paused FROM destination_state WHERE name = ?1",
    [Q_STATS_COUNTS] =
        "SELECT destination, state, count(*), min(created_ms), sum(max(attempts - 1, 0))"
        " FROM job GROUP BY destination, state ORDER BY destination",
    [Q_STATS_ERROR] = "SELECT last_error, last_error_ms FROM job WHERE destination = ?1"
                      " AND last_error <> '' ORDER BY last_error_ms DESC, id DESC LIMIT 1",
    [Q_STATS_PAUSED] = "SELECT name FROM destination_state WHERE paused = 1 ORDER BY name",
    [Q_EXPIRED] =
        "SELECT i.id, a.path FROM instance i JOIN arrival a ON a.id = i.arrival"
        " WHERE a.received_at_ms < ?1"
        "  AND NOT EXISTS (SELECT 1 FROM job j WHERE j.instance = i.id AND j.state <> 2)"
        " LIMIT ?2",
    [Q_FORGET_UID] = "SELECT sop_instance_uid FROM instance WHERE id = ?1",
    [Q_FORGET_JOBS] = "DELETE FROM job WHERE instance = ?1",
    [Q_FORGET_INSTANCE] = "DELETE FROM instance WHERE id = ?1",
    [Q_FORGET_ARRIVALS] = "DELETE FROM arrival WHERE sop_instance_uid = ?1",
    [Q_FORGET_EMPTY] =
        "DELETE FROM series WHERE id NOT IN (SELECT series FROM instance);"
        "DELETE FROM study WHERE id NOT IN (SELECT study FROM series);"
        "DELETE FROM patient WHERE id NOT IN (SELECT patient FROM study);",
    [Q_UNCLAIM] = "UPDATE job SET state = 0, attempts = max(attempts - 1, 0), updated_ms = ?2"
                  " WHERE id = ?1 AND state = 1",
    [Q_NEXT_HELD] = "SELECT min(not_before_ms) FROM job WHERE state = 4",
};

_Static_assert(Q_COUNT_ <= sizeof ((struct store_index *)0)->qstmts /
                                sizeof ((struct store_index *)0)->qstmts[0],
               "store_index.qstmts holds every queue statement");

/* The statement, prepared on first use, reset, bindings cleared; NULL with
 * *err if it cannot be prepared. */
static sqlite3_stmt *q(struct store_index *idx, enum qstmt id, struct ferry_error **err)
{
    sqlite3_stmt **st = &idx->qstmts[id];
    if (!*st) {
        int rc = sqlite3_prepare_v3(idx->db, qsql[id], -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
        if (rc != SQLITE_OK) {
            store_db_error(idx, rc, err, "cannot prepare a queue statement");
            *st = NULL;
            return NULL;
        }
    }
    sqlite3_reset(*st);
    sqlite3_clear_bindings(*st);
    return *st;
}

static void text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    store_copy_field(dst, n, v ? v : "", v ? strlen(v) : 0);
}

/* Run a statement that returns no rows; returns the rows changed. */
static int run(struct store_index *idx, sqlite3_stmt *st, struct ferry_error **err,
               const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return store_db_error(idx, rc, err, what);
    return sqlite3_changes(idx->db);
}

int store_queue_claim(struct store_index *idx, const char *destination, int64_t now, size_t max,
                      struct store_job *out, struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_CLAIM_SELECT, err);
    if (!st)
        return -EIO;
    text(st, 1, destination);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
    size_t n = 0;
    int rc;
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_job *j = &out[n++];
        memset(j, 0, sizeof *j);
        j->id = sqlite3_column_int64(st, 0);
        j->instance_id = sqlite3_column_int64(st, 1);
        copy_col(st, 2, j->sop_instance_uid, sizeof j->sop_instance_uid);
        copy_col(st, 3, j->sop_class_uid, sizeof j->sop_class_uid);
        copy_col(st, 4, j->transfer_syntax, sizeof j->transfer_syntax);
        copy_col(st, 5, j->path, sizeof j->path);
        j->size = sqlite3_column_int64(st, 6);
        copy_col(st, 7, j->destination, sizeof j->destination);
        copy_col(st, 8, j->route, sizeof j->route);
        copy_col(st, 9, j->pipeline, sizeof j->pipeline);
        copy_col(st, 10, j->study_instance_uid, sizeof j->study_instance_uid);
        j->priority = sqlite3_column_int(st, 11);
        j->attempts = sqlite3_column_int(st, 12) + 1;
        j->created_ms = sqlite3_column_int64(st, 13);
    }
    if (n < max && rc != SQLITE_DONE)
        return store_db_error(idx, rc, err, "claiming jobs");
    sqlite3_reset(st);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *m = q(idx, Q_CLAIM_MARK, err);
        if (!m)
            return -EIO;
        sqlite3_bind_int64(m, 1, out[i].id);
        sqlite3_bind_int64(m, 2, now);
        if ((rc = run(idx, m, err, "claiming a job")) < 0)
            return rc;
    }
    return (int)n;
}

int store_queue_done(struct store_index *idx, int64_t job_id, int64_t now,
                     struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_DONE, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now);
    int rc = run(idx, st, err, "finishing a job");
    return rc < 0 ? rc : (rc == 1 ? 0 : ferry_error_set(err, -ENOENT, "job %lld is not in flight", (long long)job_id));
}

int store_queue_retry(struct store_index *idx, int64_t job_id, int64_t not_before, int64_t now,
                      const char *reason, struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_RETRY, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, not_before);
    sqlite3_bind_int64(st, 3, now);
    text(st, 4, reason ? reason : "");
    int rc = run(idx, st, err, "rescheduling a job");
    return rc < 0 ? rc : (rc == 1 ? 0 : ferry_error_set(err, -ENOENT, "job %lld is not in flight", (long long)job_id));
}

int store_queue_dead(struct store_index *idx, int64_t job_id, int64_t now, const char *reason,
                     struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_DEAD, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now);
    text(st, 3, reason ? reason : "");
    int rc = run(idx, st, err, "giving a job up");
    return rc < 0 ? rc : (rc == 1 ? 0 : ferry_error_set(err, -ENOENT, "no job %lld", (long long)job_id));
}

int store_queue_promote(struct store_index *idx, int64_t now, struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_PROMOTE, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, now);
    return run(idx, st, err, "releasing stable studies");
}

int64_t store_queue_next_due(struct store_index *idx, const char *destination)
{
    sqlite3_stmt *st = q(idx, destination ? Q_NEXT_DUE_DEST : Q_NEXT_DUE_ALL, NULL);
    if (!st)
        return INT64_MAX;
    if (destination)
        text(st, 1, destination);
    int64_t t = INT64_MAX;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return t;
}

int store_queue_unclaim(struct store_index *idx, int64_t job_id, int64_t now,
                        struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_UNCLAIM, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now);
    int rc = run(idx, st, err, "putting a job back");
    return rc < 0 ? rc : (rc == 1 ? 0 : ferry_error_set(err, -ENOENT, "job %lld is not in flight", (long long)job_id));
}

int64_t store_queue_next_held(struct store_index *idx)
{
    sqlite3_stmt *st = q(idx, Q_NEXT_HELD, NULL);
    if (!st)
        return INT64_MAX;
    int64_t t = INT64_MAX;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return t;
}

int store_queue_retry_destination(struct store_index *idx, const char *destination, int64_t now,
                                  struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_RETRY_DEST, err);
    if (!st)
        return -EIO;
    text(st, 1, destination);
    sqlite3_bind_int64(st, 2, now);
    return run(idx, st, err, "retrying a destination's jobs");
}

int store_queue_retry_job(struct store_index *idx, int64_t job_id, int64_t now,
                          struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_RETRY_JOB, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, now);
    return run(idx, st, err, "retrying a job");
}

int store_queue_purge(struct store_index *idx, const char *destination, struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, destination ? Q_PURGE_DEST : Q_PURGE_ALL, err);
    if (!st)
        return -EIO;
    if (destination)
        text(st, 1, destination);
    return run(idx, st, err, "purging finished jobs");
}

int store_queue_set_paused(struct store_index *idx, const char *destination, bool paused,
                           struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_SET_PAUSED, err);
    if (!st)
        return -EIO;
    text(st, 1, destination);
    sqlite3_bind_int(st, 2, paused);
    int rc = run(idx, st, err, "pausing a destination");
    return rc < 0 ? rc : 0;
}

bool store_queue_paused(struct store_index *idx, const char *destination)
{
    sqlite3_stmt *st = q(idx, Q_GET_PAUSED, NULL);
    if (!st)
        return false;
    text(st, 1, destination);
    bool paused = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return paused;
}

/* The entry of `name` in the sorted-by-insertion array, added if absent. */
static struct store_queue_stats *stats_entry(struct store_queue_stats **v, size_t *n,
                                             size_t *cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].destination, name) == 0)
            return &(*v)[i];
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        struct store_queue_stats *p = realloc(*v, c * sizeof *p);
        if (!p)
            return NULL;
        *v = p;
        *cap = c;
    }
    struct store_queue_stats *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    store_copy_field(e->destination, sizeof e->destination, name, strlen(name));
    return e;
}

static int by_destination(const void *a, const void *b)
{
    return strcmp(((const struct store_queue_stats *)a)->destination,
                  ((const struct store_queue_stats *)b)->destination);
}

int store_queue_stats(struct store_index *idx, struct store_queue_stats **out, size_t *n,
                      struct ferry_error **err)
{
    struct store_queue_stats *v = NULL;
    size_t cap = 0;
    *n = 0;
    *out = NULL;
    int rc;
    sqlite3_stmt *st = q(idx, Q_STATS_COUNTS, err);
    if (!st)
        return -EIO;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        struct store_queue_stats *e = stats_entry(&v, n, &cap, name ? name : "");
        if (!e)
            goto nomem;
        int state = sqlite3_column_int(st, 1);
        int64_t count = sqlite3_column_int64(st, 2), oldest = sqlite3_column_int64(st, 3);
        e->retries += sqlite3_column_int64(st, 4);
        switch (state) {
        case STORE_JOB_HELD: e->held = count; break;
        case STORE_JOB_PENDING: e->pending = count; break;
        case STORE_JOB_INFLIGHT: e->inflight = count; break;
        case STORE_JOB_DONE: e->done = count; break;
        case STORE_JOB_DEAD: e->dead = count; break;
        default: break;
        }
        if (state == STORE_JOB_HELD || state == STORE_JOB_PENDING || state == STORE_JOB_INFLIGHT)
            if (!e->oldest_waiting_ms || oldest < e->oldest_waiting_ms)
                e->oldest_waiting_ms = oldest;
    }
    if (rc != SQLITE_DONE) {
        rc = store_db_error(idx, rc, err, "counting jobs");
        goto fail;
    }
    if (!(st = q(idx, Q_STATS_PAUSED, err))) {
        rc = -EIO;
        goto fail;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        struct store_queue_stats *e = stats_entry(&v, n, &cap, name ? name : "");
        if (!e)
            goto nomem;
        e->paused = true;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!(st = q(idx, Q_STATS_ERROR, err))) {
            rc = -EIO;
            goto fail;
        }
        text(st, 1, v[i].destination);
        if (sqlite3_step(st) == SQLITE_ROW) {
            copy_col(st, 0, v[i].last_error, sizeof v[i].last_error);
            v[i].last_error_ms = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
    }
    if (*n)
        qsort(v, *n, sizeof *v, by_destination);
    *out = v;
    return 0;
nomem:
    rc = ferry_error_set(err, -ENOMEM, "queue statistics: out of memory");
fail:
    free(v);
    *n = 0;
    return rc;
}

int store_queue_expired(struct store_index *idx, int64_t before, size_t max,
                        char (*paths)[STORE_PATH_MAX], int64_t *ids, struct ferry_error **err)
{
    sqlite3_stmt *st = q(idx, Q_EXPIRED, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    size_t n = 0;
    int rc;
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        copy_col(st, 1, paths[n], STORE_PATH_MAX);
        n++;
    }
    if (n < max && rc != SQLITE_DONE)
        return store_db_error(idx, rc, err, "finding expired instances");
    sqlite3_reset(st);
    return (int)n;
}

int store_queue_forget_instance(struct store_index *idx, int64_t instance_id,
                                struct ferry_error **err)
{
    char uid[STORE_UI_MAX];
    sqlite3_stmt *st = q(idx, Q_FORGET_UID, err);
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, instance_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return ferry_error_set(err, -ENOENT, "no instance %lld", (long long)instance_id);
    }
    copy_col(st, 0, uid, sizeof uid);
    sqlite3_reset(st);
    /* Jobs and the instance before the arrivals they point at. */
    static const enum qstmt steps[] = { Q_FORGET_JOBS, Q_FORGET_INSTANCE, Q_FORGET_ARRIVALS };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        if (!(st = q(idx, steps[i], err)))
            return -EIO;
        if (steps[i] == Q_FORGET_ARRIVALS)
            text(st, 1, uid);
        else
            sqlite3_bind_int64(st, 1, instance_id);
        int rc = run(idx, st, err, "forgetting an instance");
        if (rc < 0)
            return rc;
    }
    char *msg = NULL;
    if (sqlite3_exec(idx->db, qsql[Q_FORGET_EMPTY], NULL, NULL, &msg) != SQLITE_OK) {
        int rc = ferry_error_set(err, -EIO, "index %s: forgetting an instance: %s", idx->path,
                                 msg ? msg : "failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}
