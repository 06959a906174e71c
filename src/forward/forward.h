/* ferry — forward: routing at ingest, the forwarder (C-STORE SCU), the
 * control socket.
 *
 * Routing: fwd_plan() is the spool's plan hook (store_ingest_req.plan). On
 * the committer thread, inside the transaction that records the instance, it
 * evaluates the routes of the config in force and fills the instance's jobs:
 * one per forward target (destination, the pipeline's canonical text,
 * priority; study-stable targets held until the study is quiet). Discard
 * makes no job. Quarantine puts a copy of the instance in the quarantine
 * folder with the route's name as the reason.
 *
 * Forwarding: per destination, jobs are claimed from the queue in the index
 * (highest priority first), a few at a time, and sent over up to `parallel`
 * associations that are reused for consecutive instances and closed after the
 * destination's idle time. Each association proposes presentation contexts
 * for the instances waiting: each SOP class with the syntax the pipeline
 * produces (or the file's own, for an empty pipeline) first and the
 * destination's fallback after. An instance whose pipeline is empty and whose
 * syntax the destination accepted is streamed from the spool file through the
 * ring as it is (the data set byte for byte); any other runs through its
 * pipeline (and a conversion to the accepted syntax) on the worker pool.
 * Outcomes by status class: success and warning are delivered; failures that
 * may pass (out of resources, transient rejection, network error, timeout,
 * abort) are retried with exponential backoff and jitter; failures that never
 * will (SOP class not supported, no context accepted, permanent rejection,
 * data set errors) are dead letters with the reason. Every outcome is written
 * to the index through the committer. A bandwidth cap (token bucket) and a
 * time window per destination; a periodic tick releases stable studies and
 * sweeps the spool of instances that every destination has and whose
 * retention has passed.
 *
 * Control: a Unix socket (server.control_socket) that `ferry queue` and
 * `ferry reload` talk to with one line each; see docs/forwarding.md.
 *
 * Threads: everything runs on the network thread of the loop given to
 * fwd_new(), except fwd_plan() (committer thread) and the pipeline work
 * (worker pool). Nothing here blocks the network thread.
 */
#ifndef FERRY_FORWARD_FORWARD_H
#define FERRY_FORWARD_FORWARD_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct conf_holder;
struct net_loop;
struct store_committer;
struct store_ingest_req;
struct work_pool;
struct work_registry;
struct fwd;

/* `ferry reload` over the control socket: the daemon starts a reload (as for
 * SIGHUP) and later reports its outcome with fwd_reload_done(). */
typedef void fwd_reload_fn(void *ud);

struct fwd_options {
    struct net_loop *loop;                /* borrowed until fwd_free() */
    struct store_committer *committer;    /* borrowed */
    struct work_pool *pool;               /* borrowed */
    const struct work_registry *registry; /* borrowed; compiles job pipelines */
    /* The daemon's current config: fwd_plan() reads the routes from it, so a
     * reload changes routing at once. Borrowed. */
    struct conf_holder *holder;
    /* The config the forwarder starts with (a reference is taken). */
    const struct conf *conf;
    const char *data_dir;                 /* copied */
    fwd_reload_fn *reload;                /* NULL: `ferry reload` is refused */
    void *reload_ud;
};

/* A forwarder. Network thread, before the loop runs (it opens the data
 * folder). Returns NULL with *err set. */
struct fwd *fwd_new(const struct fwd_options *opt, struct ferry_error **err);

/* Start: read the pause states from the index, then claim and send what is
 * waiting; start the tick (stable studies, retention). Network thread. */
void fwd_start(struct fwd *f);

/* The plan hook (see struct store_ingest_req): ud is the struct fwd. On the
 * committer thread. Returns 0, or a negative errno with req->error set when
 * the instance cannot be recorded (a quarantine copy that cannot be made). */
int fwd_plan(struct store_ingest_req *req, void *ud);

/* Listen on the control socket at path (an old socket file there is
 * replaced), mode 0660. Network thread. */
int fwd_control_listen(struct fwd *f, const char *path, struct ferry_error **err);

/* A reload finished: ok, or refused with `message` (the config's errors, one
 * per line; borrowed). Answers the `ferry reload` commands waiting. Network
 * thread. */
void fwd_reload_done(struct fwd *f, bool ok, const char *message);

/* The config in force changed (a reference is taken): destinations added,
 * removed or changed take effect for new associations; jobs for a
 * destination that disappeared wait. Network thread. */
void fwd_set_config(struct fwd *f, const struct conf *c);

/* Stop: claim nothing more, put back the jobs not yet started, let each
 * association finish the instance it is sending (up to deadline_ms, then
 * abort), record every outcome in the index, close the control socket; then
 * done(arg) from the loop. Network thread. */
void fwd_drain(struct fwd *f, unsigned deadline_ms, void (*done)(void *arg), void *arg);

/* After fwd_drain() has reported, on the network thread, before the loop and
 * the committer go. Accepts NULL. */
void fwd_free(struct fwd *f);

/* Counters since start, for the daemon's last log line and tests. */
struct fwd_stats {
    uint64_t sent;          /* instances acknowledged (success or warning) */
    uint64_t bytes;         /* data set bytes sent */
    uint64_t retried;       /* attempts that failed and will be retried */
    uint64_t dead;          /* jobs given up */
    uint64_t associations;  /* associations established */
};
void fwd_get_stats(const struct fwd *f, struct fwd_stats *out);

/* ------------------------------------------------------------------------
 * Helpers (pure functions; also used by the `ferry` tool and the tests) */

struct conf_pipeline;
struct conf_window;

/* The canonical text of a pipeline's steps, as jobs carry it: steps joined
 * by " | ", each "compress NAME" or "step NAME" followed by " KEY=VALUE" per
 * parameter; '%', ' ', '|', '=' and control characters in names, keys and
 * values are written %XX. "" for no pipeline (p NULL or without steps).
 * Returns the length, or -ENAMETOOLONG when it does not fit in size (then
 * the caller refers to the pipeline by name instead: "@NAME"). */
int fwd_pipeline_text(const struct conf_pipeline *p, char *buf, size_t size);

/* A pipeline text parsed back into steps. */
struct fwd_step {
    bool compress;          /* else a plugin step */
    char *name;
    uint32_t n_params;
    char **keys, **values;
};
struct fwd_steps {
    struct fwd_step *v;
    size_t n;
};
/* Parse text (fwd_pipeline_text's form) into out. Returns 0, or -EINVAL with
 * *err naming what is wrong. */
int fwd_steps_parse(const char *text, struct fwd_steps *out, struct ferry_error **err);
void fwd_steps_free(struct fwd_steps *s);

/* The transfer syntax a pipeline's last compress step produces (a UID,
 * static), or NULL when it leaves the encoding alone. */
const char *fwd_steps_output_syntax(const struct fwd_steps *s);

/* Time windows: is `minute` (after local midnight, 0..1439) inside w (an
 * unset window always is)? And the minutes from `minute` until it opens (0
 * when open). */
bool fwd_window_open(const struct conf_window *w, unsigned minute);
unsigned fwd_window_wait(const struct conf_window *w, unsigned minute);

/* Backoff before attempt n + 1 after n failures (n >= 1): initial * 2^(n-1),
 * at most max, then shortened by up to jitter percent using r (0 <= r < 1). */
uint64_t fwd_backoff_ms(uint64_t initial, uint64_t max, uint32_t jitter, unsigned n, double r);

/* A token bucket on bytes: rate bytes per second (0: unlimited), burst the
 * most that may be saved up. */
struct fwd_bucket {
    uint64_t rate, burst;
    double tokens;
    uint64_t last_ns;
};
void fwd_bucket_init(struct fwd_bucket *b, uint64_t rate, uint64_t now_ns);
/* How many of `want` bytes may be sent now (all of them when unlimited);
 * they are taken from the bucket. 0: wait *wait_ms before asking again. */
size_t fwd_bucket_take(struct fwd_bucket *b, size_t want, uint64_t now_ns, uint64_t *wait_ms);

/* What to do about a C-STORE response status. */
enum fwd_verdict {
    FWD_DELIVERED = 0,  /* success */
    FWD_DELIVERED_WARNING, /* warning class, or a duplicate the destination already has */
    FWD_RETRY,          /* a failure that may pass */
    FWD_DEAD,           /* a failure that never will */
};
/* The verdict and, in words, what the status means ("out of resources"). */
enum fwd_verdict fwd_status_verdict(uint16_t status, const char **meaning);

/* What to do about an A-ASSOCIATE-RJ (result, source, reason as PS3.8
 * 9.3.4 has them): true when it may pass (rejected-transient, or a
 * presentation-layer congestion or limit). *why: the reason in words. */
bool fwd_reject_transient(uint8_t result, uint8_t source, uint8_t reason, const char **why);

#endif
