/* ferry — store: the forwarding queue (jobs in the index).
 *
 * A job is one instance to send to one destination through one pipeline.
 * States: held (its study is not stable yet) -> pending -> in flight ->
 * done | dead; a failure that can succeed later goes back to pending with a
 * not-before time (backoff). Every function here writes inside the caller's
 * transaction or its own: the daemon calls them on the committer thread
 * (store_committer_run), which also records instances, so the queue and the
 * instances never disagree.
 *
 * Times are Unix milliseconds.
 */
#ifndef FERRY_STORE_QUEUE_H
#define FERRY_STORE_QUEUE_H

#include "store/store.h"

/* A job handed to the forwarder. */
struct store_job {
    int64_t id;
    int64_t instance_id;
    char sop_instance_uid[STORE_UI_MAX];
    char sop_class_uid[STORE_UI_MAX];
    char transfer_syntax[STORE_UI_MAX];   /* of the spool file */
    char path[STORE_PATH_MAX];            /* the spool file, relative to the data folder */
    int64_t size;
    char destination[64];
    char route[64];
    char pipeline[512];
    char study_instance_uid[STORE_UI_MAX];
    int32_t priority;
    int32_t attempts;                     /* including the one starting now */
    int64_t created_ms;
};

/* Claim up to `max` jobs of `destination` that are pending and due at `now`,
 * highest priority first, oldest first within a priority; they become in
 * flight with one more attempt. Returns the number claimed (0..max) or a
 * negative errno with *err. */
int store_queue_claim(struct store_index *idx, const char *destination, int64_t now, size_t max,
                      struct store_job *out, struct ferry_error **err);

/* The destination acknowledged the job (success or warning). */
int store_queue_done(struct store_index *idx, int64_t job_id, int64_t now,
                     struct ferry_error **err);

/* The job failed but may succeed later: pending again from `not_before`,
 * with `reason` as its last error. */
int store_queue_retry(struct store_index *idx, int64_t job_id, int64_t not_before, int64_t now,
                      const char *reason, struct ferry_error **err);

/* The job can never succeed (SOP class refused, permanent rejection): dead,
 * with the reason. */
int store_queue_dead(struct store_index *idx, int64_t job_id, int64_t now, const char *reason,
                     struct ferry_error **err);

/* Held jobs whose study has been quiet long enough (their not-before time,
 * pushed forward by every arrival in the study) become pending, all of a
 * study at once. Returns how many, or a negative errno. */
int store_queue_promote(struct store_index *idx, int64_t now, struct ferry_error **err);

/* The earliest time at which something of `destination` (or of any
 * destination when NULL) becomes due: pending jobs' not-before and held
 * jobs' stable time. INT64_MAX when nothing waits. For the forwarder's
 * timers. */
int64_t store_queue_next_due(struct store_index *idx, const char *destination);

/* A claimed job that was never attempted (the forwarder is stopping, the
 * destination was paused or left the config, its window closed): pending
 * again, its claim's attempt not counted. */
int store_queue_unclaim(struct store_index *idx, int64_t job_id, int64_t now,
                        struct ferry_error **err);

/* The earliest stable time of a held job (INT64_MAX when none is held): when
 * the forwarder's tick should next promote. */
int64_t store_queue_next_held(struct store_index *idx);

/* `ferry queue retry`: dead (and waiting) jobs of a destination, or one job,
 * pending now. Returns how many. */
int store_queue_retry_destination(struct store_index *idx, const char *destination, int64_t now,
                                  struct ferry_error **err);
int store_queue_retry_job(struct store_index *idx, int64_t job_id, int64_t now,
                          struct ferry_error **err);

/* `ferry queue purge`: forget done and dead jobs (of a destination, or all
 * when NULL). Returns how many. */
int store_queue_purge(struct store_index *idx, const char *destination, struct ferry_error **err);

/* Pause state of destinations, kept across restarts. */
int store_queue_set_paused(struct store_index *idx, const char *destination, bool paused,
                           struct ferry_error **err);
bool store_queue_paused(struct store_index *idx, const char *destination);

/* What `ferry queue` shows for one destination. */
struct store_queue_stats {
    char destination[64];
    int64_t held, pending, inflight, done, dead;
    int64_t oldest_waiting_ms;    /* created time of the oldest held/pending/in-flight job; 0 if none */
    int64_t retries;              /* attempts beyond the first, over all jobs */
    char last_error[256];         /* of the most recently failed job, "" if none */
    int64_t last_error_ms;
    bool paused;
};

/* Statistics for every destination that has jobs or a pause state, in name
 * order; *out is malloc'd (free()), *n its length. */
int store_queue_stats(struct store_index *idx, struct store_queue_stats **out, size_t *n,
                      struct ferry_error **err);

/* Instances whose every job is done (or that have none), received before
 * `before`: their spool files may go (retention). Up to max paths (relative)
 * into out, their instance ids into ids. Returns the count. */
int store_queue_expired(struct store_index *idx, int64_t before, size_t max,
                        char (*paths)[STORE_PATH_MAX], int64_t *ids, struct ferry_error **err);

/* Forget an expired instance: its jobs, arrivals and row (and series, study,
 * patient left empty). The caller deletes the file after the commit. */
int store_queue_forget_instance(struct store_index *idx, int64_t instance_id,
                                struct ferry_error **err);

#endif
