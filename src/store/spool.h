/* ferry — store: the spool writer.
 *
 * Each received instance becomes one Part 10 file: 128 zero bytes, "DICM",
 * a File Meta Information group built from what the association said (the
 * command's SOP class and instance UIDs, the presentation context's transfer
 * syntax, the calling AE title as Source AE Title), then the data set bytes
 * exactly as they arrived. Everything goes through the network thread's
 * io_uring (net_file_*): the writer never blocks the thread that feeds it.
 *
 * While the data set arrives, the same bytes feed
 *   - the file, in chunks (small PDVs are gathered into large writes);
 *   - the incremental parser (DCM_PARSE_SKIP_BULK: memory bounded whatever
 *     the instance size) that proves the data set well-formed and yields the
 *     attributes of the index (struct store_instance);
 *   - an XXH3-64 checksum of the whole file.
 * When the last byte is written: the file is renamed into its hour folder,
 * fdatasync'ed while the folder is fsync'ed (folder fsyncs are shared by
 * every file renamed into the folder before they start), then recorded by
 * the committer (group commit: one index transaction for whatever is
 * waiting). Only then is the owner told (done), so that the sender's success
 * response never precedes durability. docs/spool.md describes the layout.
 *
 * Bad data sets (the parser's error, or UIDs that disagree with the command)
 * are not dropped: the file goes to the quarantine folder with a reason file
 * beside it. A full disk (ENOSPC, EDQUOT, SQLITE_FULL) removes the partial
 * file and indexes nothing.
 *
 * Threads: everything here runs on the network thread of the loop given to
 * store_spool_open(), except store_spool_recover() (before the loop runs).
 * Callbacks come from the loop, never from inside the call that caused them.
 */
#ifndef FERRY_STORE_SPOOL_H
#define FERRY_STORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/error.h"
#include "store/store.h"

struct net_loop;
struct store_spool;
struct store_write;

struct store_spool_config {
    /* The data folder (spool/, quarantine/ by default, the index). Copied. */
    const char *data_dir;
    /* Where quarantined files go; NULL or "": <data_dir>/quarantine. A folder
     * on another file system works (files are copied there). Copied. */
    const char *quarantine_dir;
    /* fdatasync each file and fsync its folder before it is recorded. false
     * loses acknowledged instances on a power cut: for test setups only. */
    bool fsync;
    /* Start writeback of each chunk as soon as it is written
     * (sync_file_range SYNC_FILE_RANGE_WRITE), so that the final fdatasync
     * has less left to do. */
    bool sync_range;
    enum store_duplicate_policy duplicates;
    /* Parser limits (0: the parser's defaults). */
    uint32_t max_depth;
    uint32_t max_element_length;
    /* Memory the parsed header of one instance may take; 0: 64 MiB. */
    size_t max_header_memory;
    /* Write size; 0: 256 KiB. In-flight bytes of one instance (written or
     * waiting to be) above which its owner is asked to pause; 0: 1 MiB. */
    size_t chunk_size;
    size_t max_inflight;
    /* Called on the committer thread for each instance (see struct
     * store_ingest_req); NULL: no jobs. */
    int (*plan)(struct store_ingest_req *req, void *ud);
    void *plan_ud;
};

/* Make the folders (<data_dir>/spool, spool/incoming, the quarantine
 * folder), remove what a previous run left half-written in spool/incoming,
 * and, if the previous run did not stop cleanly (spool/.running is still
 * there), remove the files of the two newest hour folders that idx does not
 * reference (written but never committed). Blocking: call before the loop
 * runs. idx is borrowed. Returns the number of files removed or a negative
 * errno with *err set. */
int store_spool_recover(const char *data_dir, struct store_index *idx, struct ferry_error **err);

/* The spool of data_dir on loop, recording through committer (both borrowed
 * until store_spool_close()). Creates spool/.running (removed by a clean
 * close). Blocking (opens the folders): call before the loop runs. */
struct store_spool *store_spool_open(struct net_loop *loop, struct store_committer *committer,
                                     const struct store_spool_config *cfg,
                                     struct ferry_error **err);

/* Settings that may change on a config reload (instances already being
 * written keep theirs). */
void store_spool_set_duplicates(struct store_spool *sp, enum store_duplicate_policy policy);
void store_spool_set_plan(struct store_spool *sp, int (*plan)(struct store_ingest_req *, void *),
                          void *ud);

/* Call done(arg) from the loop once no instance is being written or
 * committed (at once if none is). For shutdown, after the associations are
 * gone. */
void store_spool_drain(struct store_spool *sp, void (*done)(void *arg), void *arg);

/* Close the folders and remove spool/.running. On the network thread, after
 * store_spool_drain() has reported (writes still in flight are an error:
 * the spool then stays open and -EBUSY is returned). Accepts NULL. */
int store_spool_close(struct store_spool *sp);

struct store_spool_stats {
    uint64_t stored;        /* instances recorded */
    uint64_t bytes;         /* bytes of their files */
    uint64_t quarantined;
    uint64_t failed;        /* disk full, I/O or index errors */
    uint64_t abandoned;     /* the association ended first */
    uint64_t dir_syncs;     /* folder fsyncs issued */
    uint64_t file_syncs;    /* file fdatasyncs issued */
    unsigned writing;       /* instances in progress now */
};
void store_spool_stats(const struct store_spool *sp, struct store_spool_stats *out);

/* --------------------------------------------------------- one instance */

/* Who sent what; all borrowed for store_write_begin() (copied). */
struct store_write_info {
    const char *sop_class_uid;      /* the command's Affected SOP Class UID */
    const char *sop_instance_uid;   /* the command's Affected SOP Instance UID */
    const char *transfer_syntax;    /* the presentation context's */
    const char *calling_ae;
    const char *called_ae;
    const char *peer;               /* "10.0.0.5:40112" */
    const struct sockaddr_storage *peer_addr; /* may be NULL */
    const char *log_ctx;            /* prefix of log lines, e.g. dul_assoc_log_ctx() */
};

enum store_write_status {
    STORE_WRITE_STORED = 0,     /* recorded (result->outcome says how) */
    STORE_WRITE_DUPLICATE,      /* refused by the reject policy; nothing kept */
    STORE_WRITE_NO_SPACE,       /* disk or quota full; nothing kept */
    STORE_WRITE_FAILED,         /* another I/O or index error; nothing kept */
    STORE_WRITE_MALFORMED,      /* not a well-formed data set (or the command's
                                 * instance UID is unusable): quarantined */
    STORE_WRITE_MISMATCH,       /* its SOP class or instance UID is not the
                                 * command's (or missing): quarantined */
};

struct store_write_result {
    enum store_write_status status;
    int error;                  /* negative errno behind NO_SPACE / FAILED */
    /* Why (for the log and the response's Error Comment); borrowed for the
     * call; "" on success. */
    const char *message;
    /* The file: the spool path (STORED) or the quarantined copy, relative to
     * the data folder (or absolute for a quarantine folder given as such);
     * "" when nothing was kept. */
    const char *path;
    enum store_ingest_outcome outcome; /* STORED */
    uint64_t checksum;          /* XXH3-64 of the file */
    uint64_t size;              /* bytes of the file */
};

/* How a write talks to its owner (an association). All on the network
 * thread; ud as given to store_write_begin(). */
struct store_write_ops {
    /* After store_write_data() returned true (too much in flight): feed
     * again. */
    void (*resume)(void *ud);
    /* The outcome, once: after the last data, when the instance is durable
     * and recorded, or quarantined, or refused. The write is freed after
     * done returns (its last operations may still run; they no longer
     * concern the owner). */
    void (*done)(void *ud, const struct store_write_result *res);
};

/* Start writing an instance. info and ops are copied/borrowed as said
 * above; ud is handed back to ops. Returns NULL when out of memory (nothing
 * was started). */
struct store_write *store_write_begin(struct store_spool *sp, const struct store_write_info *info,
                                      const struct store_write_ops *ops, void *ud);

/* The next bytes of the data set (borrowed for the call: copied), last when
 * they end it. After `last`, done() follows later. Returns true when more
 * than max_inflight bytes wait for the disk: the owner stops feeding (pauses
 * its association) until ops->resume. */
bool store_write_data(struct store_write *w, const void *data, size_t len, bool last);

/* The owner goes away (association aborted or closed mid-instance): no
 * callback follows. An instance whose last byte had not arrived is removed;
 * one already on its way into the index still gets there. */
void store_write_abandon(struct store_write *w);

#endif
