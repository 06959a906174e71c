/* ferryd: start, run, stop.
 *
 * Start: config (and the plugins it names), data folder and its lock, log,
 * detach, signals, index (recovered), spool (recovered), committer, worker
 * pool, ring, acceptor; then say "listening" and run the loop.
 * Stop (SIGTERM): stop accepting; release every association once its
 * instance in flight is answered; after limits.shutdown_deadline abort
 * what is left; wait for the spool's last commits; then tear down in the
 * reverse order and exit 0. */
#include "ferryd/ferryd.h"

#include "base/log.h"
#include "base/version.h"
#include "forward/forward.h"
#include "store/spool.h"
#include "store/store.h"
#include "work/plugins.h"
#include "work/pool.h"
#include "work/work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ferryd daemon_state;

/* ----------------------------------------------------------- shutdown */

/* The loop stops once the spool has committed its last instance and the
 * forwarder has recorded its last outcome. */
static void spool_drained(void *arg)
{
    struct ferryd *d = arg;
    d->spool_drained = true;
    if (d->fwd_drained)
        net_loop_stop(d->loop);
}

static void fwd_drained(void *arg)
{
    struct ferryd *d = arg;
    d->fwd_drained = true;
    if (d->spool_drained)
        net_loop_stop(d->loop);
}

static void server_done(void *arg)
{
    struct ferryd *d = arg;
    ferry_log(FERRY_LOG_INFO, "ferryd", "every association has ended; finishing the last commits");
    store_spool_drain(d->spool, spool_drained, d);
}

void ferryd_shutdown(struct ferryd *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    uint64_t deadline = d->conf->limits.shutdown_ms;
    ferry_log(FERRY_LOG_INFO, "ferryd",
              "%s: no new associations; %u open, instances in flight get up to %llu ms", why,
              d->n_assocs, (unsigned long long)deadline);
    ferryd_release_all(d);
    fwd_drain(d->fwd, deadline > UINT32_MAX ? UINT32_MAX : (unsigned)deadline, fwd_drained, d);
    dul_server_shutdown(d->server, deadline > UINT32_MAX ? UINT32_MAX : (unsigned)deadline,
                        server_done, d);
}

/* ------------------------------------------------------------- start */

static void listen_line(struct ferryd *d, char *out, size_t size)
{
    const struct conf *c = d->conf;
    size_t n = (size_t)snprintf(out, size, "ferryd %s listening on", FERRY_VERSION);
    for (size_t i = 0; i < c->server.bind.n && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s %s:%u", i ? "," : "", c->server.bind.v[i],
                              dul_server_port(d->server, i));
    if (n < size)
        snprintf(out + n, size - n, " as %s; data in %.*s", c->server.ae_title,
                 (int)(size - n > 40 ? size - n - 40 : 1), d->data_dir);
}

static int start(struct ferryd *d, char *msg, size_t msize)
{
    const struct conf *c = d->conf;
    struct ferry_error *err = NULL;
    int rc;

    char path[4200];
    snprintf(path, sizeof path, "%s/index.sqlite", d->data_dir);
    struct store_index *idx = store_index_open(path, &err);
    if (!idx)
        goto out_err;
    if (!c->storage.fsync && store_index_set_durable(idx, false, &err) < 0) {
        store_index_close(idx);
        goto out_err;
    }
    rc = store_index_recover(idx, &err);
    if (rc > 0)
        ferry_log(FERRY_LOG_INFO, "ferryd", "%d forwarding jobs left in flight are pending again",
                  rc);
    if (rc >= 0)
        rc = store_spool_recover(d->data_dir, idx, &err);
    if (rc < 0) {
        store_index_close(idx);
        goto out_err;
    }
    d->committer = store_committer_start(idx, c->storage.group_commit_instances, &err);
    if (!d->committer) {
        store_index_close(idx);
        goto out_err;
    }
    ferryd_pseudonyms_open(d->committer);
    d->pool = work_pool_start(c->server.worker_threads, &err);
    if (!d->pool)
        goto out_err;
    d->loop = net_loop_new(NULL, &err);
    if (!d->loop)
        goto out_err;

    struct fwd_options fo = {
        .loop = d->loop,
        .committer = d->committer,
        .pool = d->pool,
        .registry = d->registry,
        .holder = d->holder,
        .conf = c,
        .data_dir = d->data_dir,
        .reload = ferryd_reload_requested,
        .reload_ud = d,
    };
    d->fwd = fwd_new(&fo, &err);
    if (!d->fwd)
        goto out_err;

    const char *sync_range = getenv("FERRYD_SYNC_RANGE");
    struct store_spool_config sc = {
        .data_dir = d->data_dir,
        .quarantine_dir = c->storage.quarantine_dir,
        .fsync = c->storage.fsync,
        .sync_range = sync_range && strcmp(sync_range, "1") == 0,
        .duplicates = (enum store_duplicate_policy)c->storage.duplicates,
        .max_depth = c->limits.max_sequence_depth,
        .max_element_length = c->limits.max_element_length > UINT32_MAX
                                  ? UINT32_MAX
                                  : (uint32_t)c->limits.max_element_length,
        .plan = fwd_plan,
        .plan_ud = d->fwd,
    };
    d->spool = store_spool_open(d->loop, d->committer, &sc, &err);
    if (!d->spool)
        goto out_err;

    struct ferryd_policy pol;
    if (ferryd_policy_build(c, &pol) < 0) {
        snprintf(msg, msize, "out of memory");
        return -ENOMEM;
    }
    d->server = dul_server_new(d->loop, &pol.pol, ferryd_on_accept, d, &err);
    ferryd_policy_free(&pol);
    if (!d->server)
        goto out_err;
    for (size_t i = 0; i < c->server.bind.n; i++)
        if (dul_server_listen(d->server, c->server.bind.v[i], c->server.port, &err) < 0)
            goto out_err;
    if (fwd_control_listen(d->fwd, c->server.control_socket, &err) < 0)
        goto out_err;
    fwd_start(d->fwd);
    if (ferryd_signals_start(d, msg, msize) < 0)
        return -EIO;
    if (!c->storage.fsync)
        ferry_log(FERRY_LOG_WARN, "ferryd",
                  "storage.fsync is false: a crash or power cut can lose acknowledged instances");
    return 0;

out_err:
    snprintf(msg, msize, "%s", ferry_error_message(err));
    rc = err ? err->code : -EIO;
    ferry_error_free(err);
    return rc < 0 ? rc : -EIO;
}

static void stop(struct ferryd *d)
{
    ferryd_signals_stop(d);
    ferryd_reload_join(d);
    if (d->server)
        dul_server_free(d->server);
    fwd_free(d->fwd);
    int rc = store_spool_close(d->spool);
    if (rc < 0)
        ferry_log(FERRY_LOG_ERROR, "ferryd", "the spool still had work in flight at exit");
    net_loop_free(d->loop);
    ferryd_pseudonyms_close();
    store_committer_stop(d->committer);
    work_pool_stop(d->pool);
    conf_unref(d->conf);
    conf_holder_free(d->holder);
    work_registry_free(d->registry);
}

int ferryd_run(const struct ferryd_args *args)
{
    struct ferryd *d = &daemon_state;
    char msg[1024] = "";
    d->args = *args;
    d->config_path = args->config;
    d->pid_fd = d->ready_fd = -1;
    d->log_fd = 2;
    ferry_log_init(2, FERRY_LOG_INFO);

    ferryd_pseudonyms_init();
    /* The config names the plugins that check its own pipeline steps: read
     * it once to learn them, load them, read it again for real. */
    const struct conf *first = ferryd_load_config(d, stderr);
    if (!first)
        return 2;
    int rc = ferryd_load_plugins(d, first, msg, sizeof msg);
    conf_unref(first);
    if (rc < 0) {
        fprintf(stderr, "ferryd: %s\n", msg);
        return 2;
    }
    d->conf = ferryd_load_config(d, stderr);
    if (!d->conf) {
        work_registry_free(d->registry);
        return 2;
    }
    d->holder = conf_holder_new(conf_ref(d->conf));
    snprintf(d->data_dir, sizeof d->data_dir, "%s", d->conf->server.data_dir);

    if (ferryd_prepare_data_dir(d, msg, sizeof msg) < 0 || ferryd_open_log(d, msg, sizeof msg) < 0) {
        fprintf(stderr, "ferryd: %s\n", msg);
        rc = 1;
        goto out_early;
    }
    ferryd_raise_fd_limit();
    if (!args->foreground && ferryd_daemonize(d, msg, sizeof msg) < 0) {
        fprintf(stderr, "ferryd: %s\n", msg);
        rc = 1;
        goto out_early;
    }
    if (ferryd_signals_block() < 0 || ferryd_write_pid(d, msg, sizeof msg) < 0 ||
        start(d, msg, sizeof msg) < 0) {
        ferryd_fail_start(d, msg);
        rc = 1;
        goto out;
    }
    char line[1024];
    listen_line(d, line, sizeof line);
    ferry_log(FERRY_LOG_INFO, "ferryd", "%s (pid %ld, %s)", line, (long)getpid(),
              net_loop_describe(d->loop));
    if (args->foreground) {
        /* for scripts and tests that start it in the foreground */
        printf("%s\n", line);
        fflush(stdout);
    }
    ferryd_ready(d, line);
    rc = net_loop_run(d->loop);
    if (rc < 0)
        ferry_log(FERRY_LOG_ERROR, "ferryd", "the network loop failed: %s", strerror(-rc));
    struct store_spool_stats st;
    store_spool_stats(d->spool, &st);
    ferry_log(FERRY_LOG_INFO, "ferryd",
              "stopped: %llu instances stored (%llu bytes), %llu quarantined, %llu failed, "
              "%llu abandoned",
              (unsigned long long)st.stored, (unsigned long long)st.bytes,
              (unsigned long long)st.quarantined, (unsigned long long)st.failed,
              (unsigned long long)st.abandoned);
    if (d->fwd) {
        struct fwd_stats fs;
        fwd_get_stats(d->fwd, &fs);
        ferry_log(FERRY_LOG_INFO, "ferryd",
                  "forwarded: %llu instances (%llu bytes) over %llu associations, %llu attempts "
                  "to retry, %llu given up",
                  (unsigned long long)fs.sent, (unsigned long long)fs.bytes,
                  (unsigned long long)fs.associations, (unsigned long long)fs.retried,
                  (unsigned long long)fs.dead);
        /* how many frames the codecs decoded for all destinations together:
         * once per frame of a compressed instance, however many need it */
        ferry_log(FERRY_LOG_INFO, "ferryd", "pipelines: %llu frames decoded",
                  (unsigned long long)work_frames_decoded());
    }
    rc = rc < 0 ? 1 : 0;
out:
    stop(d);
    ferryd_remove_pid(d);
    return rc;
out_early:
    conf_unref(d->conf);
    conf_holder_free(d->holder);
    work_registry_free(d->registry);
    if (d->pid_fd >= 0)
        close(d->pid_fd);
    return rc;
}
