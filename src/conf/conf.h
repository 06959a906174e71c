/* ferry — the configuration: loading, validating, reloading.
 *
 * A config is one YAML file that may `include:` files or folders of
 * destinations, pipelines and routes. conf_load() reads and validates all of
 * it and builds an immutable, reference-counted struct conf, or collects every
 * error it finds, each naming FILE:LINE:COL and what was expected. Every
 * setting is declared once in the schema tables of schema.c (name, type,
 * default, limits, whether it can change on a live reload); docs/config.md
 * describes them for administrators.
 *
 * Lifetime: conf_load() returns a config with one reference. Whoever keeps
 * it for a while (an association, a job) takes a reference with conf_ref()
 * and drops it with conf_unref(); the last unref frees it. struct
 * conf_holder is the "current config" of a running daemon: readers take a
 * reference from it, a reload swaps a new config in atomically, and the old
 * one lives on until its last reader lets go. The module keeps no global
 * state.
 *
 * Everything a struct conf points at is owned by it and read-only; any
 * thread may read a config it holds a reference to.
 */
#ifndef FERRY_CONF_CONF_H
#define FERRY_CONF_CONF_H

#include "route/route.h"

#include <ferry/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sockaddr;

/* A place in a config file: 1-based line and column (columns count
 * characters); line 0 means the file as a whole. file is owned by the config
 * (or the error list) it came with. */
struct conf_loc {
    const char *file;
    uint32_t line;
    uint32_t col;
};

/* A list of strings. */
struct conf_strings {
    const char *const *v;
    size_t n;
};

/* An ordered list of transfer syntax UIDs; `others` means "and after those,
 * every other syntax" (written "*" as the last entry in the file). */
struct conf_syntaxes {
    const char *const *uids;
    size_t n;
    bool others;
};

#define CONF_FOREVER UINT64_MAX /* a retention that never ends */

struct conf_server {
    const char *ae_title;
    uint16_t port;
    struct conf_strings bind;      /* numeric addresses to listen on */
    const char *data_dir;
    int log_level;                 /* enum ferry_log_level (base/log.h) */
    const char *log_file;          /* "" = standard error */
    const char *pid_file;          /* "" = none */
    const char *control_socket;    /* resolved: default <data_dir>/ferry.sock */
    uint32_t worker_threads;       /* resolved: "auto" becomes the core count */
    const char *plugin_dir;        /* "" = the plugin folder ferryd was built with */
    struct conf_strings plugins;   /* names to load; "*" = every plugin found */
};

struct conf_limits {
    uint32_t max_pdu;                   /* bytes we accept per PDU */
    uint32_t max_associations;          /* at once, in total */
    uint32_t max_associations_per_peer; /* at once, per peer address */
    uint64_t max_element_length;        /* bytes */
    uint32_t max_sequence_depth;
    uint64_t artim_ms;                  /* ARTIM timer (PS3.8 9.1.5) */
    uint64_t idle_ms;                   /* association idle time */
    uint64_t pdu_ms;                    /* time allowed to receive one PDU */
    uint64_t shutdown_ms;               /* SIGTERM: in-flight work deadline */
};

struct conf_cidrs {
    const struct route_cidr *v;
    size_t n;
};

struct conf_accept {
    struct conf_strings calling_ae_titles; /* DICOM wildcards; empty = any */
    struct conf_cidrs peers;               /* empty = any */
    struct conf_strings sop_classes;       /* UIDs; empty = every storage SOP class */
    struct conf_syntaxes transfer_syntaxes;
    bool require_user_identity;
    bool check_called_ae_title;            /* false: answer to any called AE title */
};

enum conf_duplicates {
    CONF_DUP_KEEP_NEWEST = 0,
    CONF_DUP_KEEP_FIRST = 1,
    CONF_DUP_REJECT = 2,
};

struct conf_storage {
    int duplicates;                   /* enum conf_duplicates */
    uint64_t retention_ms;            /* after delivery; CONF_FOREVER */
    bool fsync;
    uint32_t group_commit_instances;  /* commit after this many instances... */
    uint64_t group_commit_delay_ms;   /* ...or this long after the first */
    const char *quarantine_dir;       /* resolved: default <data_dir>/quarantine */
};

/* Minutes after local midnight; end < start crosses midnight. */
struct conf_window {
    bool set; /* false: any time */
    uint16_t start_min;
    uint16_t end_min;
};

struct conf_destination {
    const char *name;
    struct conf_loc loc;
    const char *host;
    uint16_t port;
    const char *called_ae;
    const char *calling_ae;   /* resolved: default server.ae_title */
    uint32_t parallel;        /* associations at once */
    uint32_t max_pdu;
    uint64_t bandwidth;       /* bytes per second; 0 = unlimited */
    struct conf_window window;
    uint64_t retry_initial_ms;
    uint64_t retry_max_ms;
    uint32_t retry_jitter;    /* percent */
    struct conf_syntaxes transfer_syntaxes; /* what the destination takes */
    const char *fallback;     /* UID to convert to when refused, or NULL */
    uint64_t connect_timeout_ms;
    uint64_t response_timeout_ms;
    uint64_t idle_timeout_ms; /* keep an idle association open this long */
};

enum conf_step_kind {
    CONF_STEP_COMPRESS = 0, /* `- compress: { syntax: NAME, ... }` */
    CONF_STEP_PLUGIN = 1,   /* `- step: NAME` with `params:` */
};

struct conf_step {
    enum conf_step_kind kind;
    const char *name;                  /* the syntax (compress) or the step's name */
    const struct ferry_param *params;  /* in file order; a list gives repeated keys */
    const struct conf_loc *param_locs; /* where each param's value is */
    uint32_t n_params;
    struct conf_loc loc;
    void *state;                       /* what the check hook built, or NULL */
};

struct conf_pipeline {
    const char *name;  /* inline pipelines: "ROUTE:DESTINATION" */
    struct conf_loc loc;
    const struct conf_step *steps;
    size_t n_steps;
};

struct conf {
    const char *path;              /* the main file, as given */
    struct conf_strings files;     /* every file read: the main one first */
    struct conf_server server;
    struct conf_limits limits;
    struct conf_accept accept;
    struct conf_storage storage;
    const struct conf_destination *destinations;
    size_t n_destinations;
    const struct conf_pipeline *pipelines; /* named ones first, then inline */
    size_t n_pipelines;
    const struct route_rules *rules;       /* route_eval() these; actions'
                                            * destination/pipeline are indices
                                            * into the arrays above */
};

/* ---------------------------------------------------------------------------
 * Errors */

struct conf_error {
    char *file;
    uint32_t line; /* 0: the file as a whole */
    uint32_t col;
    char *message;
};

struct conf_errors {
    struct conf_error *v; /* sorted by file (main first), line, column */
    size_t n;
    size_t dropped;       /* errors past the limit of CONF_MAX_ERRORS */
    /* private: */
    size_t cap;
    unsigned *order;
};

#define CONF_MAX_ERRORS 200

/* Print each error on one line, "FILE:LINE:COL: message" ("FILE: message"
 * for line 0), then a line saying how many were dropped, if any. */
void conf_errors_print(const struct conf_errors *errors, FILE *out);
/* Accepts NULL. */
void conf_errors_free(struct conf_errors *errors);

/* ---------------------------------------------------------------------------
 * Loading */

/* The daemon validates each pipeline step while a config loads (plugin
 * exists, parameters are right), so that a bad step is a config error with
 * its place. On error return a negative errno and fill diag (message, and
 * diag->param: index into step->params of the bad parameter, or -1); the
 * config reports it at that parameter's place, or at the step's. On success
 * *state may be set; the config keeps it in step->state and hands it to
 * release_step when it is freed (which happens on the thread that drops the
 * last reference). */
typedef int conf_check_step_fn(void *ud, const struct conf_step *step, void **state,
                               struct ferry_diag *diag);
typedef void conf_release_step_fn(void *ud, const struct conf_step *step, void *state);

struct conf_options {
    const struct route_dict *dict; /* attribute keywords; NULL: attribute
                                    * conditions are errors */
    conf_check_step_fn *check_step;     /* NULL: steps are not checked */
    conf_release_step_fn *release_step; /* NULL: states are not released */
    void *step_ud;                 /* borrowed for the config's whole life */
    const char *data_dir;          /* overrides server.data_dir (ferryd --data-dir) */
    int port;                      /* > 0: overrides server.port (ferryd --port) */
};

/* Read and validate the config at path (and what it includes). opts may be
 * NULL; it is borrowed during the call (dict->ud and step_ud longer, see
 * above). Returns a new config with one reference, or NULL: then *errors
 * (when errors is not NULL) receives the list of every problem found, which
 * the caller frees with conf_errors_free(). */
const struct conf *conf_load(const char *path, const struct conf_options *opts,
                             struct conf_errors **errors);

/* Take a reference (returns c). Any thread. */
const struct conf *conf_ref(const struct conf *c);
/* Drop a reference; the last one frees the config. Accepts NULL. */
void conf_unref(const struct conf *c);

/* ---------------------------------------------------------------------------
 * Reloading */

/* A setting that cannot change while running (the listening port, ...):
 * key is its dotted name ("server.port"), the values are as written in a
 * config. All borrowed for the call. */
typedef void conf_change_fn(void *ud, const char *key, const char *running,
                            const char *wanted);

/* For every setting that cannot change live and differs between `running`
 * and `next`, call fn (may be NULL) and put the running value into next, so
 * that next describes what the daemon will actually do until it restarts.
 * next must be fresh from conf_load() and not yet shared (one reference).
 * Returns the number of such settings, or -ENOMEM. */
int conf_keep_restart_settings(const struct conf *next, const struct conf *running,
                               conf_change_fn *fn, void *ud);

/* The running config of a daemon. */
struct conf_holder;

/* A holder starting with `initial` (its reference is taken over). NULL when
 * out of memory (the caller still owns initial). */
struct conf_holder *conf_holder_new(const struct conf *initial);
/* Drops the holder's reference to the current config; accepts NULL. */
void conf_holder_free(struct conf_holder *h);

/* A new reference to the current config. Any thread. */
const struct conf *conf_holder_get(struct conf_holder *h);

/* Make next (its reference taken over) the current config; readers that
 * hold the old one keep it until they unref it. Any thread. */
void conf_holder_swap(struct conf_holder *h, const struct conf *next);

/* Load path, keep the running values of settings that need a restart
 * (reporting each through fn), and swap the result in. On a bad config
 * nothing changes, *errors receives the problems, and -EINVAL is returned;
 * otherwise 0. */
int conf_holder_reload(struct conf_holder *h, const char *path, const struct conf_options *opts,
                       struct conf_errors **errors, conf_change_fn *fn, void *ud);

/* ---------------------------------------------------------------------------
 * Helpers for the modules that use a config */

/* Is a calling AE title / a peer address (borrowed) allowed by accept? */
bool conf_accept_calling_ae(const struct conf *c, const char *calling_ae);
bool conf_accept_peer(const struct conf *c, const struct sockaddr *peer);

/* The destination or pipeline of that name, or NULL. */
const struct conf_destination *conf_destination(const struct conf *c, const char *name);
const struct conf_pipeline *conf_pipeline(const struct conf *c, const char *name);

/* Transfer syntaxes by short name ("explicit-little", "jpeg-ls-lossless",
 * see docs/config.md) or UID: the UID (static for names and known UIDs;
 * name_or_uid itself for another well-formed UID), or NULL if neither. */
const char *conf_transfer_syntax_uid(const char *name_or_uid);
/* The short name of a UID (static), or NULL. */
const char *conf_transfer_syntax_name(const char *uid);
/* Storage SOP classes by keyword ("CTImageStorage") or UID: the UID (static
 * for keywords and known UIDs; keyword_or_uid itself for another well-formed
 * UID, such as a private SOP class), or NULL. */
const char *conf_sop_class_uid(const char *keyword_or_uid);
/* True for a well-formed UID (PS3.5 9.1: digits and dots, at most 64). */
bool conf_uid_valid(const char *s);

#endif
