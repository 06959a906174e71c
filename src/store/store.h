/* ferry — store: the index (SQLite, WAL) and the group-commit thread.
 *
 * The index records patients, studies, series and instances with the
 * attributes that routing and query need, every arrival of every instance
 * (calling AE, peer, time, size, transfer syntax, checksum, spool path), and
 * the forwarding queue (jobs). A job is created in the same transaction that
 * records its instance (DESIGN.md, durability contract).
 *
 * Threads: a struct store_index is used by one thread at a time. The daemon
 * gives the writing connection to the committer thread (struct
 * store_committer), which batches every request that is waiting into one
 * transaction (group commit), so that one SQLite commit (one WAL fsync)
 * serves many instances and associations.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/error.h"

struct dcm_dataset;

/* Sizes that hold any valid value of the VR, in UTF-8 (up to 4 bytes a
 * character) and a NUL. Longer input is cut at a character boundary. */
#define STORE_UI_MAX 65
#define STORE_AE_MAX 17
#define STORE_CS_MAX 17
#define STORE_DA_MAX 9
#define STORE_TM_MAX 17
#define STORE_SH_MAX 65
#define STORE_LO_MAX 257
#define STORE_PN_MAX 1025
#define STORE_PEER_MAX 64 /* "[v6addr]:port" */
#define STORE_PATH_MAX 256

enum store_duplicate_policy {
    STORE_DUP_KEEP_NEWEST = 0, /* the new file replaces the old; both arrivals recorded */
    STORE_DUP_KEEP_FIRST = 1,  /* the new file is discarded; its arrival recorded */
    STORE_DUP_REJECT = 2,      /* the new arrival is refused (the sender gets a failure) */
};

enum store_job_state {
    STORE_JOB_PENDING = 0,
    STORE_JOB_INFLIGHT = 1,
    STORE_JOB_DONE = 2,
    STORE_JOB_DEAD = 3,
    STORE_JOB_HELD = 4, /* waiting for its study to be stable */
};

/* One job to create with an instance: send it to `destination` through
 * `pipeline` (the canonical text of the pipeline's steps, "" for none). */
struct store_job_spec {
    char destination[64];
    char route[64];
    char pipeline[512];
    int32_t priority;       /* higher first */
    int64_t not_before_ms;  /* 0: now; a study-stable or time-window hold */
    bool held;              /* created HELD (study-stable) rather than PENDING */
};

/* What the index records of one received instance. Strings are UTF-8,
 * NUL-terminated, trimmed of DICOM padding; "" when absent. */
struct store_instance {
    char sop_instance_uid[STORE_UI_MAX];
    char sop_class_uid[STORE_UI_MAX];
    char transfer_syntax[STORE_UI_MAX];
    char specific_character_set[STORE_LO_MAX];

    char patient_id[STORE_LO_MAX];
    char issuer_of_patient_id[STORE_LO_MAX];
    char patient_name[STORE_PN_MAX];
    char patient_birth_date[STORE_DA_MAX];
    char patient_sex[STORE_CS_MAX];

    char study_instance_uid[STORE_UI_MAX];
    char study_date[STORE_DA_MAX];
    char study_time[STORE_TM_MAX];
    char accession_number[STORE_SH_MAX];
    char study_id[STORE_SH_MAX];
    char study_description[STORE_LO_MAX];
    char referring_physician_name[STORE_PN_MAX];

    char series_instance_uid[STORE_UI_MAX];
    char modality[STORE_CS_MAX];
    char series_description[STORE_LO_MAX];
    char body_part_examined[STORE_CS_MAX];
    int32_t series_number;      /* INT32_MIN when absent */
    int32_t instance_number;    /* INT32_MIN when absent */

    /* The arrival. */
    char calling_ae[STORE_AE_MAX];
    char called_ae[STORE_AE_MAX];
    char peer[STORE_PEER_MAX];
    int64_t received_at_ms;     /* Unix time, milliseconds */
    int64_t size;               /* bytes of the Part 10 file */
    uint64_t checksum;          /* XXH3-64 of the whole file */
    char path[STORE_PATH_MAX];  /* the spool file, relative to the data folder */
};

/* Copy src into a fixed field of n bytes, cutting at a UTF-8 character
 * boundary if it does not fit. Returns true if it fit. */
bool store_copy_field(char *dst, size_t n, const char *src, size_t len);

/* Set every string field to "" and the numbers to "absent". */
void store_instance_clear(struct store_instance *rec);

/* ---------------------------------------------------------------------------
 * The index */

struct store_index;

/* Open (creating or upgrading) the index at `path`. The file gets mode 0600.
 * Returns NULL with *err set on failure. */
struct store_index *store_index_open(const char *path, struct ferry_error **err);

/* Open an existing index read-only (for the CLI and queries). */
struct store_index *store_index_open_readonly(const char *path, struct ferry_error **err);

/* Whether a commit waits for the WAL to reach stable storage (the default,
 * synchronous=FULL) or not (synchronous=OFF: storage.fsync false, where a
 * crash may lose acknowledged instances anyway). Before the committer
 * starts. */
int store_index_set_durable(struct store_index *idx, bool durable, struct ferry_error **err);

/* Closes; accepts NULL. */
void store_index_close(struct store_index *idx);

/* Jobs left in flight by a crash become pending again. Returns the number
 * moved or a negative errno. Call once at start, before any forwarding. */
int store_index_recover(struct store_index *idx, struct ferry_error **err);

/* What happened to one ingested instance. */
enum store_ingest_outcome {
    STORE_INGEST_NEW = 0,        /* first arrival of this SOP Instance UID */
    STORE_INGEST_REPLACED = 1,   /* keep-newest: replaced an earlier arrival */
    STORE_INGEST_KEPT_FIRST = 2, /* keep-first: this arrival's file is not kept */
    STORE_INGEST_REJECTED = 3,   /* reject: refused as a duplicate */
};

struct store_ingest_result {
    enum store_ingest_outcome outcome;
    int64_t instance_id;
    int64_t arrival_id;
    uint32_t jobs_created;
    /* A spool file (relative path) that is no longer referenced and may be
     * deleted once the transaction is committed; "" if none. */
    char obsolete_path[STORE_PATH_MAX];
};

/* Transactions: the committer brackets a batch of ingests with these.
 * store_index_ingest() runs inside a savepoint, so one failing instance does
 * not undo the others of the batch. */
int store_index_begin(struct store_index *idx, struct ferry_error **err);
int store_index_commit(struct store_index *idx, struct ferry_error **err);
int store_index_rollback(struct store_index *idx);

/* Record one instance and its jobs. rec and jobs are borrowed. */
int store_index_ingest(struct store_index *idx, const struct store_instance *rec,
                       enum store_duplicate_policy policy, const struct store_job_spec *jobs,
                       size_t n_jobs, struct store_ingest_result *result,
                       struct ferry_error **err);

/* Look an instance up by SOP Instance UID: its current spool path, size and
 * checksum. Returns 0, -ENOENT, or another negative errno. */
int store_index_find_instance(struct store_index *idx, const char *sop_instance_uid,
                              char path[STORE_PATH_MAX], int64_t *size, uint64_t *checksum);

/* Count rows of a table ("patient", "study", "series", "instance", "arrival",
 * "job"), or jobs in a state when table is "job" and state >= 0. */
int64_t store_index_count(struct store_index *idx, const char *table, int state);

/* ---------------------------------------------------------------------------
 * The committer: a thread that owns a writing store_index and turns every
 * request waiting for it into one transaction. */

struct store_committer;

/* A request to record one instance. The committer fills `result` and `error`
 * (NULL on success; taken over by the callback) and calls done() on the
 * committer thread after the transaction holding it is committed (or failed).
 * done() typically posts the request back to the network thread.
 *
 * Jobs are created in the same transaction as the instance. Either the
 * submitter fills jobs/n_jobs, or it sets `plan`: the committer calls
 * plan(req, plan_ud) on its own thread, inside the transaction, just before
 * the instance is recorded, and plan fills jobs/n_jobs from what the request
 * says about the instance (rec, the parsed header in `dataset`, the
 * association in rec.calling_ae/called_ae/peer and `peer_addr`). A plan that
 * allocates the jobs array sets free_jobs: the submitter then free()s it
 * after done(). A plan that returns a negative errno (with req->error set,
 * or not) fails this instance alone: it is not recorded and done() reports
 * that errno. The spool writer (store/spool.h) fills everything here but
 * jobs; the forwarder's plan turns routes into jobs. */
struct store_ingest_req {
    struct store_instance rec;
    enum store_duplicate_policy policy;
    struct store_job_spec *jobs; /* borrowed until done() */
    size_t n_jobs;
    bool free_jobs;              /* jobs was malloc'd by plan */
    /* The instance's header as parsed on arrival (bulk values such as Pixel
     * Data left out: DCM_PARSE_SKIP_BULK), for routing; a reference held by
     * the submitter until done() returns; NULL when the submitter has none.
     * Read-only (other threads may read it too). */
    struct dcm_dataset *dataset;
    /* The sender's address (AF_INET / AF_INET6; ss_family 0 when unknown). */
    struct sockaddr_storage peer_addr;
    int (*plan)(struct store_ingest_req *req, void *ud);
    void *plan_ud;
    /* Filled before done(). */
    int status; /* 0, or a negative errno: the instance is not recorded */
    struct store_ingest_result result;
    struct ferry_error *error;
    void (*done)(struct store_ingest_req *req);
    void *user;
    struct store_ingest_req *next; /* the committer's queue */
};

/* Any other work on the index that must be serialised with ingests (the
 * forwarding queue: claims, results, statistics). run() is called on the
 * committer thread inside the batch's transaction, in a savepoint of its own
 * (a negative return undoes only this request); done() after the commit,
 * with status and error set (a failed commit fails every request of the
 * batch). */
struct store_txn_req {
    int (*run)(struct store_index *idx, struct store_txn_req *req);
    void (*done)(struct store_txn_req *req);
    void *user;
    /* Set by the submitter: what run() records may be lost in a power
     * failure without harm (a claim or an outcome of the forwarding queue:
     * after a restart the job is pending again and at worst sent twice). A
     * transaction holding nothing but such requests is committed without
     * waiting for the disk (WAL, synchronous=NORMAL); the next durable
     * commit makes it durable too. A crash of the process alone loses
     * nothing either way. */
    bool lazy;
    /* Filled before done(). */
    int status;
    struct ferry_error *error; /* taken over by done() */
    struct store_txn_req *next; /* the committer's queue */
};

/* Start the committer thread on idx (taken over: the committer closes it).
 * max_batch bounds the instances of one transaction (0: 512). */
struct store_committer *store_committer_start(struct store_index *idx, size_t max_batch,
                                              struct ferry_error **err);

/* Queue a request (borrowed until done()). Any thread. */
void store_committer_submit(struct store_committer *c, struct store_ingest_req *req);

/* Queue a transaction request (borrowed until done()). Any thread. */
void store_committer_run(struct store_committer *c, struct store_txn_req *req);

/* Commit what is queued, stop the thread, close the index. Accepts NULL. */
void store_committer_stop(struct store_committer *c);

/* Statistics: transactions committed and instances recorded so far. */
void store_committer_stats(struct store_committer *c, uint64_t *transactions,
                           uint64_t *instances);

/* ---------------------------------------------------------------------------
 * The pseudonym map (schema v3): what a de-identification step replaced by
 * what, for authorized re-identification. Only filled when a route's deid
 * step says `record-pseudonyms: on`; the index file is the data folder
 * owner's alone (mode 0600). */

struct store_pseudonym {
    const char *kind;        /* "patient-id", "patient-name", "study-uid" */
    const char *original;    /* UTF-8 */
    const char *replacement; /* UTF-8 */
    const char *step;        /* the step's label ("deid"); may be NULL */
    const char *context;     /* the instance, as log lines name it; may be NULL */
    int64_t recorded_ms;     /* Unix time of the first record */
};

/* Record one row (all borrowed), inside the caller's transaction; a row of
 * the same kind, original and replacement already there is kept as it is.
 * Returns 0 or a negative errno with *err set. Writing connection. */
int store_pseudonym_record(struct store_index *idx, const struct store_pseudonym *rec,
                           struct ferry_error **err);

/* Call fn for each row (oldest first) whose original or replacement equals
 * `match`, or for every row when match is NULL; the strings are borrowed for
 * the call. fn returning nonzero stops the walk (and is returned). Also on a
 * read-only index. Returns 0, fn's value, or a negative errno with *err. An
 * index older than v3 (no table yet) has no rows. */
typedef int store_pseudonym_fn(void *ud, const struct store_pseudonym *rec);
int store_pseudonym_list(struct store_index *idx, const char *match, store_pseudonym_fn *fn,
                         void *ud, struct ferry_error **err);

#endif
