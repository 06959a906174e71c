/* ferry — store: the SQLite index (schema, ingest, lookups). */
#include "store/store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump with every change of SCHEMA; store_index_open() upgrades older files. */
#define SCHEMA_VERSION 3

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS patient ("
    "  id INTEGER PRIMARY KEY,"
    "  patient_id TEXT NOT NULL,"
    "  issuer TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL DEFAULT '',"
    "  birth_date TEXT NOT NULL DEFAULT '',"
    "  sex TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (patient_id, issuer));"
    "CREATE TABLE IF NOT EXISTS study ("
    "  id INTEGER PRIMARY KEY,"
    "  patient INTEGER NOT NULL REFERENCES patient(id),"
    "  study_uid TEXT NOT NULL UNIQUE,"
    "  study_date TEXT NOT NULL DEFAULT '',"
    "  study_time TEXT NOT NULL DEFAULT '',"
    "  accession_number TEXT NOT NULL DEFAULT '',"
    "  study_id TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  referring_physician TEXT NOT NULL DEFAULT '',"
    "  last_arrival_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS series ("
    "  id INTEGER PRIMARY KEY,"
    "  study INTEGER NOT NULL REFERENCES study(id),"
    "  series_uid TEXT NOT NULL UNIQUE,"
    "  modality TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  body_part TEXT NOT NULL DEFAULT '',"
    "  series_number INTEGER);"
    "CREATE TABLE IF NOT EXISTS arrival ("
    "  id INTEGER PRIMARY KEY,"
    "  sop_instance_uid TEXT NOT NULL,"
    "  received_at_ms INTEGER NOT NULL,"
    "  calling_ae TEXT NOT NULL,"
    "  called_ae TEXT NOT NULL,"
    "  peer TEXT NOT NULL,"
    "  transfer_syntax TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  checksum INTEGER NOT NULL," /* XXH3-64, stored as its 64-bit pattern */
    "  path TEXT NOT NULL,"
    "  kept INTEGER NOT NULL);"    /* 1: its file is the instance's current one, or was */
    "CREATE INDEX IF NOT EXISTS arrival_sop ON arrival(sop_instance_uid);"
    "CREATE TABLE IF NOT EXISTS instance ("
    "  id INTEGER PRIMARY KEY,"
    "  series INTEGER NOT NULL REFERENCES series(id),"
    "  sop_instance_uid TEXT NOT NULL UNIQUE,"
    "  sop_class_uid TEXT NOT NULL,"
    "  instance_number INTEGER,"
    "  charset TEXT NOT NULL DEFAULT '',"
    "  arrival INTEGER NOT NULL REFERENCES arrival(id));"
    "CREATE INDEX IF NOT EXISTS instance_series ON instance(series);"
    "CREATE TABLE IF NOT EXISTS job ("
    "  id INTEGER PRIMARY KEY,"
    "  instance INTEGER NOT NULL REFERENCES instance(id),"
    "  arrival INTEGER NOT NULL REFERENCES arrival(id),"
    "  destination TEXT NOT NULL,"
    "  route TEXT NOT NULL,"
    "  pipeline TEXT NOT NULL DEFAULT '',"
    "  priority INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  not_before_ms INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  last_error_ms INTEGER NOT NULL DEFAULT 0,"
    "  study_uid TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS job_ready ON job(destination, state, priority DESC, not_before_ms, id);"
    "CREATE INDEX IF NOT EXISTS job_instance ON job(instance, destination);"
    "CREATE INDEX IF NOT EXISTS job_study ON job(study_uid, state);"
    "CREATE TABLE IF NOT EXISTS destination_state ("
    "  name TEXT PRIMARY KEY,"
    "  paused INTEGER NOT NULL DEFAULT 0);"
    /* v3: the pseudonym map (pseudonym.c); only filled when a deid step
     * says record-pseudonyms: on. */
    "CREATE TABLE IF NOT EXISTS pseudonym ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  original TEXT NOT NULL,"
    "  replacement TEXT NOT NULL,"
    "  step TEXT NOT NULL DEFAULT '',"
    "  context TEXT NOT NULL DEFAULT '',"
    "  recorded_ms INTEGER NOT NULL,"
    "  UNIQUE(kind, original, replacement));"
    "CREATE INDEX IF NOT EXISTS pseudonym_replacement ON pseudonym(replacement);";

/* The statements of an ingest, prepared once per connection. */
enum stmt_id {
    ST_PATIENT,
    ST_STUDY,
    ST_SERIES,
    ST_ARRIVAL,
    ST_FIND_INSTANCE,
    ST_INSERT_INSTANCE,
    ST_UPDATE_INSTANCE,
    ST_FIND_OPEN_JOB,
    ST_RETARGET_JOB,
    ST_INSERT_JOB,
    ST_LOOKUP,
    ST_HOLD_STUDY,
    ST_COUNT_
};

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_PATIENT] =
        "INSERT INTO patient(patient_id, issuer, name, birth_date, sex) VALUES(?1,?2,?3,?4,?5)"
        " ON CONFLICT(patient_id, issuer) DO UPDATE SET"
        "  name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END,"
        "  birth_date = CASE WHEN excluded.birth_date <> '' THEN excluded.birth_date ELSE birth_date END,"
        "  sex = CASE WHEN excluded.sex <> '' THEN excluded.sex ELSE sex END"
        " RETURNING id",
    [ST_STUDY] =
        "INSERT INTO study(patient, study_uid, study_date, study_time, accession_number, study_id,"
        "  description, referring_physician, last_arrival_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"
        " ON CONFLICT(study_uid) DO UPDATE SET last_arrival_ms = max(last_arrival_ms, excluded.last_arrival_ms)"
        " RETURNING id",
    [ST_SERIES] =
        "INSERT INTO series(study, series_uid, modality, description, body_part, series_number)"
        " VALUES(?1,?2,?3,?4,?5,?6)"
        " ON CONFLICT(series_uid) DO UPDATE SET modality = modality RETURNING id",
    [ST_ARRIVAL] =
        "INSERT INTO arrival(sop_instance_uid, received_at_ms, calling_ae, called_ae, peer,"
        "  transfer_syntax, size, checksum, path, kept) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_FIND_INSTANCE] =
        "SELECT i.id, a.path FROM instance i JOIN arrival a ON a.id = i.arrival"
        " WHERE i.sop_instance_uid = ?1",
    [ST_INSERT_INSTANCE] =
        "INSERT INTO instance(series, sop_instance_uid, sop_class_uid, instance_number, charset, arrival)"
        " VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_UPDATE_INSTANCE] =
        "UPDATE instance SET series = ?2, sop_class_uid = ?3, instance_number = ?4, charset = ?5,"
        "  arrival = ?6 WHERE id = ?1",
    [ST_FIND_OPEN_JOB] =
        "SELECT id FROM job WHERE instance = ?1 AND destination = ?2 AND pipeline = ?3"
        " AND state IN (0, 4) LIMIT 1",
    [ST_RETARGET_JOB] =
        "UPDATE job SET arrival = ?2, priority = max(priority, ?3), updated_ms = ?4 WHERE id = ?1",
    [ST_INSERT_JOB] =
        "INSERT INTO job(instance, arrival, destination, route, pipeline, priority, state,"
        "  not_before_ms, created_ms, updated_ms, study_uid)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10)",
    [ST_HOLD_STUDY] =
        "UPDATE job SET not_before_ms = max(not_before_ms, ?3) WHERE study_uid = ?1"
        " AND route = ?2 AND state = 4",
    [ST_LOOKUP] =
        "SELECT a.path, a.size, a.checksum FROM instance i JOIN arrival a ON a.id = i.arrival"
        " WHERE i.sop_instance_uid = ?1",
};

static int sqlite_to_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    default:
        return -EIO;
    }
}

int store_db_error(struct store_index *idx, int rc, struct ferry_error **err, const char *what)
{
    int code = sqlite_to_errno(rc);
    return ferry_error_set(err, code, "index %s: %s: %s", idx->path, what,
                           idx->db ? sqlite3_errmsg(idx->db) : sqlite3_errstr(rc));
}

static int exec(struct store_index *idx, const char *sql, struct ferry_error **err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(idx->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = ferry_error_set(err, sqlite_to_errno(rc), "index %s: %s", idx->path,
                                   msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

sqlite3_stmt *store_stmt(struct store_index *idx, int id)
{
    sqlite3_stmt *st = idx->stmts[id];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static struct store_index *index_open(const char *path, bool readonly, struct ferry_error **err)
{
    struct store_index *idx = calloc(1, sizeof *idx);
    if (!idx) {
        ferry_error_set(err, -ENOMEM, "index %s: out of memory", path);
        return NULL;
    }
    idx->path = strdup(path);
    if (!idx->path) {
        ferry_error_set(err, -ENOMEM, "index %s: out of memory", path);
        goto out_free;
    }
    idx->readonly = readonly;
    if (!readonly) {
        /* Create it owner-only before SQLite does: the index holds patient
         * names. */
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            ferry_error_set(err, -errno, "index %s: cannot create: %s", path, strerror(errno));
            goto out_free;
        }
        close(fd);
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    int rc = sqlite3_open_v2(path, &idx->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        store_db_error(idx, rc, err, "cannot open");
        goto out_close;
    }
    sqlite3_extended_result_codes(idx->db, 1);
    sqlite3_busy_timeout(idx->db, 5000);
    /* WAL: readers (the CLI, queries) never block the writer. synchronous=FULL:
     * a commit is on stable storage when it returns, which the durability
     * contract needs; the committer batches so that this costs one WAL fsync
     * per transaction, not per instance. */
    if (!readonly &&
        exec(idx, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                  " PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=4000;", err) < 0)
        goto out_close;
    if (!readonly) {
        sqlite3_stmt *st = NULL;
        int version = 0;
        if (sqlite3_prepare_v2(idx->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (version > SCHEMA_VERSION) {
            ferry_error_set(err, -ENOTSUP,
                            "index %s: schema version %d is newer than this ferry (%d)", path,
                            version, SCHEMA_VERSION);
            goto out_close;
        }
        /* Upgrades of existing files, in order; SCHEMA creates what is new
         * (v2 to v3: the pseudonym table, created by SCHEMA). */
        if (version == 1 &&
            exec(idx, "ALTER TABLE job ADD COLUMN last_error_ms INTEGER NOT NULL DEFAULT 0",
                 err) < 0)
            goto out_close;
        if (exec(idx, SCHEMA, err) < 0)
            goto out_close;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
        if (exec(idx, sql, err) < 0)
            goto out_close;
    }
    for (int i = 0; i < ST_COUNT_; i++) {
        if (readonly && i != ST_LOOKUP && i != ST_FIND_INSTANCE)
            continue;
        rc = sqlite3_prepare_v3(idx->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &idx->stmts[i], NULL);
        if (rc != SQLITE_OK) {
            store_db_error(idx, rc, err, "cannot prepare a statement");
            goto out_close;
        }
    }
    return idx;

out_close:
    store_index_close(idx);
    return NULL;
out_free:
    free(idx->path);
    free(idx);
    return NULL;
}

int store_index_set_durable(struct store_index *idx, bool durable, struct ferry_error **err)
{
    int rc = exec(idx, durable ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=OFF;", err);
    if (rc == 0)
        idx->no_sync = !durable;
    return rc;
}

struct store_index *store_index_open(const char *path, struct ferry_error **err)
{
    return index_open(path, false, err);
}

struct store_index *store_index_open_readonly(const char *path, struct ferry_error **err)
{
    return index_open(path, true, err);
}

void store_index_close(struct store_index *idx)
{
    if (!idx)
        return;
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(idx->stmts[i]);
    for (size_t i = 0; i < sizeof idx->qstmts / sizeof *idx->qstmts; i++)
        sqlite3_finalize(idx->qstmts[i]);
    sqlite3_close(idx->db);
    free(idx->path);
    free(idx);
}

int store_index_begin(struct store_index *idx, struct ferry_error **err)
{
    return exec(idx, "BEGIN IMMEDIATE", err);
}

int store_index_commit(struct store_index *idx, struct ferry_error **err)
{
    return exec(idx, "COMMIT", err);
}

int store_index_rollback(struct store_index *idx)
{
    return sqlite3_get_autocommit(idx->db) ? 0 : exec(idx, "ROLLBACK", NULL);
}

int store_index_recover(struct store_index *idx, struct ferry_error **err)
{
    int rc = exec(idx, "UPDATE job SET state = 0 WHERE state = 1", err);
    return rc < 0 ? rc : sqlite3_changes(idx->db);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void bind_optional_int(sqlite3_stmt *st, int i, int32_t v)
{
    if (v == INT32_MIN)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, v);
}

/* Run a statement whose single result row is an id. */
static int step_id(struct store_index *idx, sqlite3_stmt *st, int64_t *id,
                   struct ferry_error **err, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return store_db_error(idx, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, err, what);
    *id = sqlite3_column_int64(st, 0);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return store_db_error(idx, rc, err, what);
    return 0;
}

static int step_done(struct store_index *idx, sqlite3_stmt *st, struct ferry_error **err,
                     const char *what)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : store_db_error(idx, rc, err, what);
}

static int upsert_hierarchy(struct store_index *idx, const struct store_instance *r,
                            int64_t *series_id, struct ferry_error **err)
{
    int64_t patient_id, study_id;
    sqlite3_stmt *st = store_stmt(idx, ST_PATIENT);
    bind_text(st, 1, r->patient_id);
    bind_text(st, 2, r->issuer_of_patient_id);
    bind_text(st, 3, r->patient_name);
    bind_text(st, 4, r->patient_birth_date);
    bind_text(st, 5, r->patient_sex);
    int rc = step_id(idx, st, &patient_id, err, "recording the patient");
    if (rc < 0)
        return rc;

    st = store_stmt(idx, ST_STUDY);
    sqlite3_bind_int64(st, 1, patient_id);
    bind_text(st, 2, r->study_instance_uid);
    bind_text(st, 3, r->study_date);
    bind_text(st, 4, r->study_time);
    bind_text(st, 5, r->accession_number);
    bind_text(st, 6, r->study_id);
    bind_text(st, 7, r->study_description);
    bind_text(st, 8, r->referring_physician_name);
    sqlite3_bind_int64(st, 9, r->received_at_ms);
    rc = step_id(idx, st, &study_id, err, "recording the study");
    if (rc < 0)
        return rc;

    st = store_stmt(idx, ST_SERIES);
    sqlite3_bind_int64(st, 1, study_id);
    bind_text(st, 2, r->series_instance_uid);
    bind_text(st, 3, r->modality);
    bind_text(st, 4, r->series_description);
    bind_text(st, 5, r->body_part_examined);
    bind_optional_int(st, 6, r->series_number);
    return step_id(idx, st, series_id, err, "recording the series");
}

static int insert_arrival(struct store_index *idx, const struct store_instance *r, bool kept,
                          int64_t *arrival_id, struct ferry_error **err)
{
    sqlite3_stmt *st = store_stmt(idx, ST_ARRIVAL);
    bind_text(st, 1, r->sop_instance_uid);
    sqlite3_bind_int64(st, 2, r->received_at_ms);
    bind_text(st, 3, r->calling_ae);
    bind_text(st, 4, r->called_ae);
    bind_text(st, 5, r->peer);
    bind_text(st, 6, r->transfer_syntax);
    sqlite3_bind_int64(st, 7, r->size);
    sqlite3_bind_int64(st, 8, (int64_t)r->checksum);
    bind_text(st, 9, kept ? r->path : "");
    sqlite3_bind_int(st, 10, kept);
    int rc = step_done(idx, st, err, "recording the arrival");
    if (rc == 0)
        *arrival_id = sqlite3_last_insert_rowid(idx->db);
    return rc;
}

static int create_jobs(struct store_index *idx, const struct store_instance *r,
                       int64_t instance_id, int64_t arrival_id,
                       const struct store_job_spec *jobs, size_t n_jobs, uint32_t *created,
                       struct ferry_error **err)
{
    for (size_t i = 0; i < n_jobs; i++) {
        const struct store_job_spec *j = &jobs[i];
        /* A job still waiting for this instance and destination is pointed at
         * the newest arrival instead of sending the instance twice. */
        sqlite3_stmt *st = store_stmt(idx, ST_FIND_OPEN_JOB);
        sqlite3_bind_int64(st, 1, instance_id);
        bind_text(st, 2, j->destination);
        bind_text(st, 3, j->pipeline);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            int64_t job_id = sqlite3_column_int64(st, 0);
            st = store_stmt(idx, ST_RETARGET_JOB);
            sqlite3_bind_int64(st, 1, job_id);
            sqlite3_bind_int64(st, 2, arrival_id);
            sqlite3_bind_int(st, 3, j->priority);
            sqlite3_bind_int64(st, 4, r->received_at_ms);
            if ((rc = step_done(idx, st, err, "updating a waiting job")) < 0)
                return rc;
            continue;
        }
        if (rc != SQLITE_DONE)
            return store_db_error(idx, rc, err, "looking for a waiting job");
        st = store_stmt(idx, ST_INSERT_JOB);
        sqlite3_bind_int64(st, 1, instance_id);
        sqlite3_bind_int64(st, 2, arrival_id);
        bind_text(st, 3, j->destination);
        bind_text(st, 4, j->route);
        bind_text(st, 5, j->pipeline);
        sqlite3_bind_int(st, 6, j->priority);
        sqlite3_bind_int(st, 7, j->held ? STORE_JOB_HELD : STORE_JOB_PENDING);
        sqlite3_bind_int64(st, 8, j->not_before_ms);
        sqlite3_bind_int64(st, 9, r->received_at_ms);
        bind_text(st, 10, r->study_instance_uid);
        if ((rc = step_done(idx, st, err, "creating a job")) < 0)
            return rc;
        (*created)++;
    }
    /* Study-stable routes: every arrival pushes the held jobs of its study
     * (and route) to the new stable time, so the study goes out as one batch
     * once it has been quiet long enough. */
    for (size_t i = 0; i < n_jobs; i++) {
        if (!jobs[i].held)
            continue;
        sqlite3_stmt *st = store_stmt(idx, ST_HOLD_STUDY);
        bind_text(st, 1, r->study_instance_uid);
        bind_text(st, 2, jobs[i].route);
        sqlite3_bind_int64(st, 3, jobs[i].not_before_ms);
        int rc = step_done(idx, st, err, "holding the study's jobs");
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int ingest(struct store_index *idx, const struct store_instance *r,
                  enum store_duplicate_policy policy, const struct store_job_spec *jobs,
                  size_t n_jobs, struct store_ingest_result *res, struct ferry_error **err)
{
    int64_t existing = 0;
    sqlite3_stmt *st = store_stmt(idx, ST_FIND_INSTANCE);
    bind_text(st, 1, r->sop_instance_uid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        existing = sqlite3_column_int64(st, 0);
        const char *old = (const char *)sqlite3_column_text(st, 1);
        if (policy == STORE_DUP_KEEP_NEWEST && old && strcmp(old, r->path) != 0)
            store_copy_field(res->obsolete_path, sizeof res->obsolete_path, old, strlen(old));
    } else if (rc != SQLITE_DONE) {
        return store_db_error(idx, rc, err, "looking up the instance");
    }
    sqlite3_reset(st);

    if (existing && policy != STORE_DUP_KEEP_NEWEST) {
        res->outcome =
            policy == STORE_DUP_KEEP_FIRST ? STORE_INGEST_KEPT_FIRST : STORE_INGEST_REJECTED;
        res->instance_id = existing;
        /* Record the arrival all the same: who sent what, when. */
        return insert_arrival(idx, r, false, &res->arrival_id, err);
    }

    int64_t series_id;
    if ((rc = upsert_hierarchy(idx, r, &series_id, err)) < 0)
        return rc;
    if ((rc = insert_arrival(idx, r, true, &res->arrival_id, err)) < 0)
        return rc;
    st = store_stmt(idx, existing ? ST_UPDATE_INSTANCE : ST_INSERT_INSTANCE);
    if (existing) {
        sqlite3_bind_int64(st, 1, existing);
        sqlite3_bind_int64(st, 2, series_id);
        bind_text(st, 3, r->sop_class_uid);
        bind_optional_int(st, 4, r->instance_number);
        bind_text(st, 5, r->specific_character_set);
        sqlite3_bind_int64(st, 6, res->arrival_id);
    } else {
        sqlite3_bind_int64(st, 1, series_id);
        bind_text(st, 2, r->sop_instance_uid);
        bind_text(st, 3, r->sop_class_uid);
        bind_optional_int(st, 4, r->instance_number);
        bind_text(st, 5, r->specific_character_set);
        sqlite3_bind_int64(st, 6, res->arrival_id);
    }
    if ((rc = step_done(idx, st, err, "recording the instance")) < 0)
        return rc;
    res->instance_id = existing ? existing : sqlite3_last_insert_rowid(idx->db);
    res->outcome = existing ? STORE_INGEST_REPLACED : STORE_INGEST_NEW;
    return create_jobs(idx, r, res->instance_id, res->arrival_id, jobs, n_jobs,
                       &res->jobs_created, err);
}

int store_index_ingest(struct store_index *idx, const struct store_instance *rec,
                       enum store_duplicate_policy policy, const struct store_job_spec *jobs,
                       size_t n_jobs, struct store_ingest_result *result,
                       struct ferry_error **err)
{
    memset(result, 0, sizeof *result);
    if (!rec->sop_instance_uid[0])
        return ferry_error_set(err, -EINVAL, "no SOP Instance UID to index");
    int rc = exec(idx, "SAVEPOINT ingest", err);
    if (rc < 0)
        return rc;
    rc = ingest(idx, rec, policy, jobs, n_jobs, result, err);
    if (rc < 0) {
        exec(idx, "ROLLBACK TO ingest; RELEASE ingest", NULL);
        memset(result, 0, sizeof *result);
        return rc;
    }
    return exec(idx, "RELEASE ingest", err);
}

int store_index_find_instance(struct store_index *idx, const char *sop_instance_uid,
                              char path[STORE_PATH_MAX], int64_t *size, uint64_t *checksum)
{
    sqlite3_stmt *st = store_stmt(idx, ST_LOOKUP);
    bind_text(st, 1, sop_instance_uid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return sqlite_to_errno(rc);
    const char *p = (const char *)sqlite3_column_text(st, 0);
    store_copy_field(path, STORE_PATH_MAX, p ? p : "", p ? strlen(p) : 0);
    if (size)
        *size = sqlite3_column_int64(st, 1);
    if (checksum)
        *checksum = (uint64_t)sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
    return 0;
}

int64_t store_index_count(struct store_index *idx, const char *table, int state)
{
    static const char *const tables[] = { "patient", "study", "series", "instance", "arrival",
                                          "job" };
    const char *t = NULL;
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
        if (strcmp(table, tables[i]) == 0)
            t = tables[i];
    if (!t)
        return -EINVAL;
    char sql[96];
    if (strcmp(t, "job") == 0 && state >= 0)
        snprintf(sql, sizeof sql, "SELECT count(*) FROM job WHERE state = %d", state);
    else
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", t);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(idx->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -EIO;
    sqlite3_finalize(st);
    return n;
}

bool store_copy_field(char *dst, size_t n, const char *src, size_t len)
{
    bool fit = len < n;
    if (!fit) {
        len = n - 1;
        /* Do not cut a UTF-8 sequence: back up over continuation bytes. */
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return fit;
}

void store_instance_clear(struct store_instance *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->series_number = INT32_MIN;
    rec->instance_number = INT32_MIN;
}
