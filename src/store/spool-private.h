/* ferry — store: the spool writer's private declarations (spool.c: folders,
 * chunks, recovery; receive.c: one instance; quarantine.c). */
#ifndef FERRY_STORE_SPOOL_PRIVATE_H
#define FERRY_STORE_SPOOL_PRIVATE_H

#include "net/net.h"
#include "store/spool.h"
#include "store/store.h"

#include <xxhash.h>

struct dcm_dataset;
struct dcm_parser;

#define SPOOL_DIR "spool"
#define SPOOL_INCOMING "spool/incoming"
#define SPOOL_MARKER "spool/.running"
#define SPOOL_QUARANTINE "quarantine"
#define SPOOL_DEFAULT_CHUNK (256u * 1024u)
#define SPOOL_DEFAULT_INFLIGHT (1024u * 1024u)
#define SPOOL_DEFAULT_HEADER_MEMORY ((size_t)64 << 20)
#define SPOOL_FREE_CHUNKS_KEPT 32

/* A buffer of chunk_size bytes on its way to the file. */
struct spool_chunk {
    struct spool_chunk *next;
    struct store_write *w;
    uint64_t off;            /* file offset of data[0] */
    size_t len;
    uint8_t data[];
};

enum spool_dir_state {
    DIR_PREPARING = 0,
    DIR_READY,
    DIR_FAILED,
};

/* A folder files are renamed into: an hour folder of the spool
 * ("20250101/13" under spool/) or a day folder of the quarantine
 * ("20250101"). Made, opened and (with fsync) made durable in its parent
 * once; then its fsyncs are shared. */
struct spool_dir {
    struct store_spool *sp;
    struct spool_dir *next;       /* sp->dirs */
    bool quarantine;
    char name[16];                /* "20250101/13" or "20250101" */
    int base_fd;                  /* the folder name is relative to */
    int fd;                       /* -1 until ready */
    int tmp_fd;                   /* the day folder while it is fsync'ed */
    enum spool_dir_state state;
    int err;
    unsigned step;                /* preparation step */
    unsigned refs;                /* writes that use it */
    unsigned ops;                 /* ring operations in flight */
    struct store_write *waiting;  /* for READY, through w->dir_next */
    /* Shared fsyncs: writes whose rename is done wait in `pending`; an fsync
     * that starts covers them all (`covered`); whoever arrives meanwhile
     * waits for the next one. */
    struct store_write *pending, *covered; /* through w->sync_next */
    bool syncing;
};

/* Where an instance's file is now. */
enum spool_where {
    WHERE_NOWHERE = 0,
    WHERE_INCOMING,
    WHERE_SPOOL,
    WHERE_QUARANTINE,
};

enum spool_phase {
    PH_RECEIVING = 0, /* data arrives */
    PH_FLUSHING,      /* the last byte arrived; writes still in flight */
    PH_PLACING,       /* waiting for the hour folder, renaming into it */
    PH_SYNCING,       /* fdatasync of the file, fsync of the folder */
    PH_COMMITTING,    /* with the committer */
    PH_QUARANTINE,    /* moving to the quarantine folder */
    PH_DISCARD,       /* removing the file: nothing is kept */
    PH_DONE,          /* reported; waiting for the last operations */
};

struct store_write {
    struct store_spool *sp;
    struct store_write *prev, *next;  /* sp->writes */
    const struct store_write_ops *owner;
    void *ud;
    bool abandoned;
    bool reported;                    /* done() called */
    bool last_seen;                   /* the last byte arrived */
    bool deferred;                    /* a step is queued on the loop (post) */
    bool paused;
    enum spool_phase phase;
    enum spool_where where;
    enum store_duplicate_policy duplicates;
    int (*plan)(struct store_ingest_req *, void *);
    void *plan_ud;

    /* who sent what */
    char sop_class[65];
    char sop_instance[65];
    char ts[65];
    char calling[17];
    char called[17];
    char peer[64];
    char ctx[192];
    struct sockaddr_storage peer_addr;
    bool uid_ok;                      /* sop_instance can name a file */
    int64_t received_ms;

    /* the file */
    char token[17];
    char incoming_name[24];           /* "<token>.part" in spool/incoming */
    char final_name[96];              /* "<uid>.<token>.dcm" in the hour folder */
    struct spool_dir *dir;            /* hour or quarantine folder */
    struct store_write *dir_next;     /* dir->waiting */
    struct store_write *sync_next;    /* dir->pending / covered */
    bool dir_wait;                    /* in a shared folder fsync */
    int fd;                           /* O_RDWR, -1 when closed */
    unsigned ops;                     /* ring operations in flight */
    unsigned renames;                 /* attempts (a name taken: another token) */
    int io_err;                       /* first I/O error, negative errno */

    /* data */
    struct spool_chunk *cur;          /* being filled */
    struct spool_chunk *queued;       /* full, waiting for the file to open */
    struct spool_chunk **queued_tail;
    size_t inflight;                  /* bytes in chunks not yet written */
    uint64_t size;                    /* bytes of the file so far */
    uint64_t header_len;              /* preamble + "DICM" + meta group */
    bool bare;                        /* no meta group could be made */

    /* checking */
    struct dcm_parser *parser;
    struct ferry_error *parse_err;
    struct dcm_dataset *ds;           /* the parsed header, after the last byte */
    XXH3_state_t *xxh;
    uint64_t checksum;
    enum store_write_status verdict;  /* what the data said: STORED, MALFORMED, MISMATCH */
    uint64_t err_offset;              /* MALFORMED: data set offset of the error */
    char why[512];                    /* MALFORMED / MISMATCH / failures */

    /* recording */
    struct store_ingest_req req;
    struct net_work post;

    /* quarantine */
    char qname[64];                   /* "<stamp>-<token>" */
    int reason_fd;
    int copy_fd;                      /* EXDEV: the copy being made */
    uint64_t copy_off;
    struct spool_chunk *copy_buf;
    char *reason;                     /* the reason file's text */
    size_t reason_len;
    unsigned qstep;
    bool copy_created;                /* the EXDEV copy exists */
    bool reason_created;              /* the reason file exists */
    bool qfailed;                     /* w->why says why the quarantine failed */

    char path[4096];                  /* reported path */
};

struct store_spool {
    struct net_loop *loop;
    struct store_committer *committer;
    char *data_dir;
    char *quarantine_dir;             /* absolute or relative to the cwd */
    bool quarantine_default;          /* <data_dir>/quarantine */
    int data_fd, spool_fd, incoming_fd, quarantine_fd;
    bool fsync, sync_range;
    enum store_duplicate_policy duplicates;
    int (*plan)(struct store_ingest_req *, void *);
    void *plan_ud;
    uint32_t max_depth, max_element_length;
    size_t max_header_memory;
    size_t chunk_size, max_inflight;

    struct spool_chunk *free_chunks;
    unsigned n_free_chunks;
    struct spool_dir *dirs;
    struct store_write *writes;
    unsigned n_writes;
    uint64_t rng;                     /* tokens */
    struct store_spool_stats stats;

    void (*drain_done)(void *);
    void *drain_arg;
    struct net_work drain_work;
    bool drain_queued;
};

/* spool.c */
struct spool_chunk *spool_chunk_get(struct store_spool *sp);
void spool_chunk_put(struct store_spool *sp, struct spool_chunk *c);
void spool_token(struct store_spool *sp, char out[17]);
/* The folder for files completed now (hour folder) or quarantined today;
 * a reference for w, who is told through spool_write_dir_ready() (from the
 * loop) once it is usable. */
void spool_dir_acquire(struct store_spool *sp, struct store_write *w, bool quarantine);
void spool_dir_release(struct spool_dir *d);
/* Join the next shared fsync of w->dir; spool_write_dir_synced() follows. */
void spool_dir_sync(struct spool_dir *d, struct store_write *w);
/* The write is gone: unlink it from sp and maybe report a drain. */
void spool_write_forget(struct store_spool *sp, struct store_write *w);

/* receive.c */
void spool_write_dir_ready(struct store_write *w, int res);
void spool_write_dir_synced(struct store_write *w, int res);
/* Move w on after an event: the one place that decides what comes next. */
void spool_write_step(struct store_write *w);
void spool_write_report(struct store_write *w, enum store_write_status st, int error);
bool spool_no_space(int err);

/* quarantine.c */
void spool_quarantine_start(struct store_write *w);
void spool_quarantine_dir_ready(struct store_write *w, int res);

#endif
