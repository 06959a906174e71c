/* ferry — forward: private declarations.
 *
 *   plan.c      routing at ingest (committer thread), quarantine copies
 *   fwd.c       the forwarder: destinations, claims, outcomes, tick,
 *               retention, config changes, drain
 *   assoc.c     outbound associations: proposals, sending, responses
 *   prepare.c   getting an instance ready to send: the spool file through
 *               the ring, or its pipeline on a worker
 *   control.c   the control socket
 *   policy.c    pure rules (pipeline text, window, backoff, bucket, statuses)
 */
#ifndef FERRY_FORWARD_PRIVATE_H
#define FERRY_FORWARD_PRIVATE_H

#include "forward/forward.h"

#include "conf/conf.h"
#include "dimse/dimse.h"
#include "net/net.h"
#include "route/route.h"
#include "store/queue.h"
#include "work/pool.h"

#include <pthread.h>
#include <stdatomic.h>

struct dcm_dataset;
struct work_pipeline;
struct work_source;
struct fwd_assoc;
struct fwd_dest;
struct fwd_ctl_conn;

#define FWD_UID 65
#define FWD_READ_CHUNK (1u << 20)     /* spool file reads */
#define FWD_SEND_PIECE (256u * 1024u) /* data handed to dimse at once */
#define FWD_MAX_PROPOSALS 128         /* presentation contexts per association */
#define FWD_TICK_MS 1000u             /* stable studies are released this often */
#define FWD_RETENTION_EVERY_MS 60000u /* retention sweeps */
#define FWD_RETENTION_BATCH 256

/* ------------------------------------------------------------- items */

enum fwd_item_state {
    IT_WAITING = 0, /* claimed, in its destination's waiting list */
    IT_PREPARING,   /* given to an association: file opening/reading or pipeline running */
    IT_READY,       /* prepared, waiting for the association */
    IT_SENDING,     /* command sent, data going out */
    IT_AWAITING,    /* all sent; waiting for the C-STORE-RSP */
};

/* One claimed job on its way. */
struct fwd_item {
    struct fwd_item *prev, *next;   /* destination's waiting list */
    struct fwd_dest *dest;
    struct fwd_assoc *assoc;        /* once given to one */
    struct fwd *f;
    struct store_job job;
    enum fwd_item_state state;

    /* The syntaxes it may go out in, best first: what its pipeline makes
     * (or the file's own), then the destination's fallback. */
    char want[2][FWD_UID];
    unsigned n_want;

    /* Chosen when given to an association. */
    uint8_t pc_id;
    char ts[FWD_UID];
    bool passthrough;               /* the spool bytes as they are */

    /* What goes into the C-STORE-RQ (a pipeline may make a new instance UID). */
    char sop_class[FWD_UID];
    char sop_instance[FWD_UID];

    /* Pass-through: the spool file, read a chunk at a time. */
    int fd;
    uint64_t file_off;              /* next offset to read */
    uint64_t file_end;              /* the file's size */
    uint8_t *buf;
    size_t buf_len, buf_pos;
    bool reading;
    /* Transcoded: the data set bytes. */
    uint8_t *mem;
    size_t mem_len;

    uint64_t total, sent;           /* data set bytes */
    uint16_t msg_id;
    uint64_t started_ns;

    /* Preparation outcome (worker). */
    int prep_rc;                    /* 0, or negative: failed */
    enum fwd_verdict prep_verdict;  /* FWD_RETRY / FWD_DEAD when failed;
                                     * FWD_DELIVERED: dropped by a step */
    char prep_why[1024];

    /* Operations in flight on the item (file ops, a worker task). While
     * there are any the item is not freed; an item its owner has let go of
     * is an orphan, freed by its last completion. */
    unsigned ops;
    bool orphan;
    struct work_task task;
    struct net_work post;
};

/* ------------------------------------------------------- associations */

enum fwd_assoc_state {
    AS_CONNECTING = 0,
    AS_OPEN,
    AS_RELEASING,
    AS_CLOSED,
};

struct fwd_proposal {
    char sop_class[FWD_UID];
    char ts[FWD_UID];
};

struct fwd_assoc {
    struct fwd_assoc *prev, *next;  /* destination's list */
    struct fwd_dest *dest;
    struct dimse_assoc *da;
    unsigned id;
    enum fwd_assoc_state state;
    struct fwd_item *cur;           /* SENDING / AWAITING */
    struct fwd_item *next_item;     /* PREPARING / READY */
    uint16_t msg_id;
    struct fwd_proposal *props;     /* props[i] is context 2i+1 */
    size_t n_props;
    uint64_t idle_ms, rsp_ms;
    struct net_timer idle_timer, rsp_timer, bw_timer;
    bool bw_wait;
    uint64_t sent, bytes, failed;
    bool established;
    bool failure_counted;           /* not a failure of the destination to back off for */
    bool rejected, reject_transient;
    bool retired;                   /* opened under an address or AE titles since changed */
    char abort_why[512];            /* why it ends early ("" for a release) */
    char ctx[192];
};

/* ------------------------------------------------------- destinations */

struct fwd_dest {
    struct fwd_dest *next;
    struct fwd *f;
    char name[64];
    /* The config it was last seen in (a reference) and its entry there;
     * NULL when the config in force has no such destination. */
    const struct conf *conf;
    const struct conf_destination *cfg;
    bool paused;

    /* The address: numeric hosts parse at once; names are resolved on a
     * worker. */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_host[256];            /* what addr was made from */
    uint16_t addr_port;
    bool resolving;
    struct work_task resolve_task;
    struct net_work resolve_post;
    int resolve_rc;
    char resolve_err[128];
    struct sockaddr_storage resolved;
    socklen_t resolved_len;

    struct fwd_item *wait_head, *wait_tail;
    unsigned n_waiting;
    unsigned n_items;               /* in memory: waiting + given to associations */
    bool claiming;
    bool more;                      /* jobs may be due: claim when there is room */
    int64_t next_due_ms;            /* Unix ms, from the last claim that came back short */

    struct fwd_assoc *assocs;
    unsigned n_assocs;

    unsigned failures;              /* association failures in a row */
    uint64_t backoff_until;         /* monotonic ms */
    char last_error[256];

    struct fwd_bucket bucket;
    struct net_timer timer;         /* backoff end, window opening, next due */
    struct net_work pump_work;
    bool pump_queued;

    uint64_t sent, bytes, failed;
};

/* ------------------------------------------------------------ outcomes */

enum fwd_result_kind {
    RES_DONE = 0,
    RES_RETRY,
    RES_DEAD,
    RES_UNCLAIM,
};

struct fwd_result {
    int64_t job;
    uint8_t kind;
    int64_t not_before;             /* Unix ms (RES_RETRY) */
    char reason[256];
};

struct fwd_results_txn {
    struct store_txn_req req;
    struct fwd *f;
    struct fwd_result *v;
    size_t n;
};

/* --------------------------------------------------------- the forwarder */

struct fwd_pipe_entry;
struct fwd_src_entry;

struct fwd {
    struct net_loop *loop;
    struct store_committer *committer;
    struct work_pool *pool;
    const struct work_registry *registry;
    struct conf_holder *holder;
    const struct conf *conf;        /* in force (a reference) */
    char *data_dir;
    int data_fd;
    char *quarantine_dir;           /* fixed at start (a restart setting) */
    fwd_reload_fn *reload;
    void *reload_ud;

    struct fwd_dest *dests;
    unsigned next_assoc_id;
    bool started;

    /* Plan side: the committer thread tells the network thread which
     * destinations got jobs. */
    struct route_result rr;         /* committer thread only */
    pthread_mutex_t plan_lock;
    char (*new_dests)[64];
    size_t n_new_dests, cap_new_dests;
    bool new_all;                   /* too many names: wake every destination */
    bool new_held;                  /* held jobs were made: tick soon */
    int64_t new_held_due;           /* Unix ms */
    bool jobs_posted;
    struct net_work jobs_work;

    /* Outcomes waiting to be written, and the write in flight. */
    struct fwd_result *results;
    size_t n_results, cap_results;
    struct fwd_results_txn *results_txn;

    /* Tick: stable studies, retention. */
    struct net_timer tick;
    bool tick_inflight;
    uint64_t next_retention;        /* monotonic ms */
    bool retention_inflight;

    /* Worker-side caches. */
    pthread_mutex_t cache_lock;
    struct fwd_pipe_entry *pipes;
    struct fwd_src_entry *sources;
    unsigned n_sources;

    /* Control socket. */
    struct net_listener *ctl;
    char *ctl_path;
    struct fwd_ctl_conn *ctl_conns;
    struct fwd_ctl_conn *reload_waiters;

    /* Stopping. */
    bool draining;
    void (*drain_done)(void *arg);
    void *drain_arg;
    struct net_timer drain_timer;
    struct net_work drain_check;
    bool drain_check_queued;
    unsigned orphans;               /* items with operations still in flight */
    unsigned txns;                  /* index requests in flight */

    uint64_t rng;
    struct fwd_stats stats;
};

/* fwd.c */
int64_t fwd_unix_ms(void);
double fwd_random(struct fwd *f);
struct fwd_dest *fwd_dest_find(struct fwd *f, const char *name);
struct fwd_dest *fwd_dest_get(struct fwd *f, const char *name);
/* Run the destination's pump from the loop, soon (coalesced). */
void fwd_dest_kick(struct fwd_dest *d);
/* Record an outcome of a claimed job (written in the next index request). */
void fwd_result(struct fwd *f, int64_t job, enum fwd_result_kind kind, int64_t not_before,
                const char *reason);
/* The item is finished with (its outcome recorded): free it, or leave it to
 * its last operation. Takes it off every list. */
void fwd_item_release(struct fwd_item *it);
/* Give up on an item with an outcome and release it. */
void fwd_item_fail(struct fwd_item *it, enum fwd_result_kind kind, int64_t not_before,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Put an item back into its destination's waiting list (priority order). */
void fwd_dest_enqueue(struct fwd_dest *d, struct fwd_item *it);
void fwd_dest_unlink(struct fwd_dest *d, struct fwd_item *it);
/* The destination cannot be reached (connect, rejection, abort): count a
 * failure, start its backoff, and say why. Returns the backoff end as Unix ms. */
int64_t fwd_dest_failed(struct fwd_dest *d, const char *why);
/* Could the destination send now (known, not paused, window open, no
 * backoff, not stopping)? */
bool fwd_dest_may_send(struct fwd_dest *d);
/* Human words for what the destination is waiting for ("" when sending);
 * into buf. */
void fwd_dest_why_waiting(struct fwd_dest *d, char *buf, size_t size);
void fwd_check_drained(struct fwd *f);
/* An index request went out / came back (for the drain). */
void fwd_txn_begin(struct fwd *f);
void fwd_txn_end(struct fwd *f);

/* assoc.c */
/* Give waiting items to open associations and open new ones as needed. */
void fwd_assoc_pump(struct fwd_dest *d);
/* Release associations that have nothing to do (pause, window, removal,
 * drain); with `now`, also those in the middle of nothing but an idle wait. */
void fwd_assoc_release_idle(struct fwd_dest *d);
/* The destination's address, port, AE titles or PDU size changed: its
 * associations take no new instance and are released once the one they are
 * sending is answered, so that the next instance goes where the config now
 * says. */
void fwd_assoc_retire_all(struct fwd_dest *d);
/* Abort every association of d (drain deadline). */
void fwd_assoc_abort_all(struct fwd_dest *d);
/* An item given to association a is prepared (or failed to be). */
void fwd_assoc_item_ready(struct fwd_assoc *a, struct fwd_item *it);
/* More bytes of the item at the head of a can go. */
void fwd_assoc_send_more(struct fwd_assoc *a);

/* prepare.c */
/* Start getting `it` ready for association a (syntax it->ts chosen). */
void fwd_prepare(struct fwd_item *it);
/* The next chunk of a pass-through item's file, through the ring. */
void fwd_read_more(struct fwd_item *it);
void fwd_caches_free(struct fwd *f);
/* Let go of parsed instances not used for a while. */
void fwd_caches_trim(struct fwd *f);

/* plan.c */
/* Copy the spool file `path` (relative to the data folder) into the
 * quarantine folder with a reason file. Blocking: committer thread or
 * worker. */
int fwd_quarantine_copy(struct fwd *f, const char *path, const char *sop_instance_uid,
                        const char *reason, struct ferry_error **err);

/* control.c */
void fwd_ctl_close_all(struct fwd *f);

#endif
