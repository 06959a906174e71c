/* ferry — the daemon's own declarations (main.c, daemon.c, config.c,
 * signals.c, server.c, receive.c). Not a library: one process, one struct
 * ferryd. */
#ifndef FERRY_FERRYD_H
#define FERRY_FERRYD_H

#include "conf/conf.h"
#include "dul/dul.h"
#include "net/net.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>

struct work_registry;
struct work_pool;
struct store_committer;
struct store_spool;
struct rx_assoc;
struct fwd;

struct ferryd_args {
    const char *config;     /* --config; default: the shipped config/ferry.yaml */
    const char *data_dir;   /* --data-dir; NULL: the config's */
    int port;               /* --port; 0: the config's */
    bool foreground;        /* --foreground: no fork, log to stderr */
};

/* A dul_policy and the memory its pointers point into. */
struct ferryd_policy {
    struct dul_policy pol;
    const char *ae_titles[1];
    struct dul_peer_rule *rules;
    char **cidr_text;
    size_t n_cidr_text;
    const char **cidrs;
    const char **abstract;
    const char **syntaxes;
};

struct ferryd {
    struct ferryd_args args;
    const char *config_path;
    struct conf_options conf_opts;
    struct conf_holder *holder;
    const struct conf *conf;          /* the config in force (a reference) */
    struct work_registry *registry;
    struct work_pool *pool;
    struct store_committer *committer;
    struct store_spool *spool;
    struct net_loop *loop;
    struct dul_server *server;
    struct fwd *fwd;                  /* routing, forwarding, the control socket */
    bool spool_drained, fwd_drained;  /* shutdown: both before the loop stops */
    struct rx_assoc *assocs;          /* open associations */
    unsigned n_assocs;

    char data_dir[4096];
    char pid_path[4200];
    int pid_fd;
    int log_fd;
    int ready_fd;                     /* daemonize: tells the parent */

    /* signals (signals.c) */
    pthread_t signal_thread;
    bool signal_started;
    atomic_bool signal_exit, signal_posted;
    atomic_uint signal_bits;
    struct net_work signal_work;
    bool stopping;

    /* reload, on its own thread */
    pthread_t reload_thread;
    bool reload_running, reload_again, reload_joinable;
    int reload_rc;
    struct conf_errors *reload_errors;
    struct net_work reload_work;
};

/* daemon.c */
int ferryd_prepare_data_dir(struct ferryd *d, char *msg, size_t msg_size);
int ferryd_open_log(struct ferryd *d, char *msg, size_t msg_size);
/* Fork; the parent waits for ferryd_ready() or the child's exit and exits
 * with its outcome. Returns in the child. */
int ferryd_daemonize(struct ferryd *d, char *msg, size_t msg_size);
void ferryd_ready(struct ferryd *d, const char *line);
void ferryd_fail_start(struct ferryd *d, const char *msg);
int ferryd_write_pid(struct ferryd *d, char *msg, size_t msg_size);
void ferryd_remove_pid(struct ferryd *d);
void ferryd_raise_fd_limit(void);

/* config.c */
const struct conf *ferryd_load_config(struct ferryd *d, FILE *errors_out);
int ferryd_load_plugins(struct ferryd *d, const struct conf *c, char *msg, size_t msg_size);
int ferryd_policy_build(const struct conf *c, struct ferryd_policy *p);
void ferryd_policy_free(struct ferryd_policy *p);
/* SIGHUP: reload on a thread; the result is applied on the network thread. */
void ferryd_reload(struct ferryd *d);
void ferryd_reload_join(struct ferryd *d);
/* `ferry reload` over the control socket (fwd_reload_fn). */
void ferryd_reload_requested(void *ud);

/* signals.c */
int ferryd_signals_block(void);
int ferryd_signals_start(struct ferryd *d, char *msg, size_t msg_size);
void ferryd_signals_stop(struct ferryd *d);

/* server.c */
int ferryd_run(const struct ferryd_args *args);
void ferryd_shutdown(struct ferryd *d, const char *why);

/* pseudonyms.c: the pseudonym map (record-pseudonyms: on) in the index.
 * init: set the work sink, before the config's pipelines are compiled;
 * open: rows go through this committer from now on; close: before the
 * committer stops (a record after that fails its job). */
void ferryd_pseudonyms_init(void);
void ferryd_pseudonyms_open(struct store_committer *c);
void ferryd_pseudonyms_close(void);

/* receive.c */
void ferryd_on_accept(struct dul_server *s, void *arg, struct dul_assoc *a);
/* Release every association once its instance in progress is answered. */
void ferryd_release_all(struct ferryd *d);

#endif
