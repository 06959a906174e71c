/* ferryd: loading the config (with the plugins that check pipeline steps),
 * turning it into the acceptor's policy, and reloading it on SIGHUP.
 *
 * A pipeline step is checked by compiling it with work_pipeline_new(), so
 * that a parameter a plugin refuses is a config error at its file:line:col.
 * The compiled step stays in the config (step->state) for the forwarder.
 *
 * The plugins to load are named by the config itself (server.plugins, a
 * restart-only setting): the first start reads the config once without
 * checking steps to learn them, loads them, then reads it for real. */
#include "ferryd/ferryd.h"

#include "base/log.h"
#include "base/util.h"
#include "dcm/dcm.h"
#include "forward/forward.h"
#include "route/route_dcm.h"
#include "store/spool.h"
#include "work/plugins.h"
#include "work/work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- steps */

static int check_step(void *ud, const struct conf_step *step, void **state,
                      struct ferry_diag *diag)
{
    struct ferryd *d = ud;
    struct work_step_spec spec = {
        .kind = step->kind == CONF_STEP_COMPRESS ? WORK_STEP_COMPRESS : WORK_STEP_PLUGIN,
        .name = step->name,
        .params = step->params,
        .n_params = step->n_params,
    };
    int bad_step = -1, bad_param = -1;
    struct ferry_error *err = NULL;
    struct work_pipeline *p = work_pipeline_new(d->registry, &spec, 1, &bad_step, &bad_param, &err);
    if (!p) {
        snprintf(diag->message, sizeof diag->message, "%s", ferry_error_message(err));
        diag->param = bad_param;
        int rc = err ? err->code : -EINVAL;
        ferry_error_free(err);
        return rc < 0 ? rc : -EINVAL;
    }
    *state = p;
    return 0;
}

static void release_step(void *ud, const struct conf_step *step, void *state)
{
    (void)ud;
    (void)step;
    work_pipeline_free(state);
}

const struct conf *ferryd_load_config(struct ferryd *d, FILE *errors_out)
{
    d->conf_opts = (struct conf_options){
        .dict = route_dcm_dict(),
        .data_dir = d->args.data_dir,
        .port = d->args.port,
    };
    if (d->registry) {
        d->conf_opts.check_step = check_step;
        d->conf_opts.release_step = release_step;
        d->conf_opts.step_ud = d;
    }
    struct conf_errors *errors = NULL;
    const struct conf *c = conf_load(d->config_path, &d->conf_opts, &errors);
    if (!c && errors_out) {
        if (errors && errors->n)
            conf_errors_print(errors, errors_out);
        else
            fprintf(errors_out, "ferryd: %s: cannot be loaded\n", d->config_path);
    }
    conf_errors_free(errors);
    return c;
}

int ferryd_load_plugins(struct ferryd *d, const struct conf *c, char *msg, size_t msg_size)
{
    const char *dir = c->server.plugin_dir && *c->server.plugin_dir ? c->server.plugin_dir
                                                                    : FERRY_BUILT_PLUGIN_DIR;
    struct ferry_error *err = NULL;
    bool all = false;
    for (size_t i = 0; i < c->server.plugins.n; i++)
        if (strcmp(c->server.plugins.v[i], "*") == 0)
            all = true;
    if (all)
        d->registry = work_registry_load_all(dir, work_host(), &err);
    else
        d->registry = work_registry_load(dir, c->server.plugins.v, c->server.plugins.n,
                                         work_host(), &err);
    if (!d->registry) {
        snprintf(msg, msg_size, "plugins: %s", ferry_error_message(err));
        int rc = err ? err->code : -EINVAL;
        ferry_error_free(err);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------- policy */

void ferryd_policy_free(struct ferryd_policy *p)
{
    for (size_t i = 0; i < p->n_cidr_text; i++)
        free(p->cidr_text[i]);
    free(p->cidr_text);
    free((void *)p->cidrs);
    free(p->rules);
    free((void *)p->abstract);
    free((void *)p->syntaxes);
    memset(p, 0, sizeof *p);
}

int ferryd_policy_build(const struct conf *c, struct ferryd_policy *p)
{
    memset(p, 0, sizeof *p);
    struct dul_policy *pol = &p->pol;
    p->ae_titles[0] = c->server.ae_title;
    pol->ae_titles = p->ae_titles;
    pol->n_ae_titles = c->accept.check_called_ae_title ? 1 : 0;

    /* accept.calling_ae_titles and accept.peers both apply: one rule per
     * title (or one for any title), each with every address block. */
    size_t n_ae = c->accept.calling_ae_titles.n, n_cidr = c->accept.peers.n;
    if (n_ae || n_cidr) {
        size_t n_rules = n_ae ? n_ae : 1;
        p->rules = calloc(n_rules, sizeof *p->rules);
        p->cidr_text = calloc(n_cidr ? n_cidr : 1, sizeof *p->cidr_text);
        p->cidrs = calloc(n_cidr ? n_cidr : 1, sizeof *p->cidrs);
        if (!p->rules || !p->cidr_text || !p->cidrs)
            goto out_nomem;
        for (size_t i = 0; i < n_cidr; i++) {
            char buf[64];
            route_cidr_format(&c->accept.peers.v[i], buf, sizeof buf);
            if (!(p->cidr_text[i] = strdup(buf)))
                goto out_nomem;
            p->n_cidr_text = i + 1;
            p->cidrs[i] = p->cidr_text[i];
        }
        for (size_t i = 0; i < n_rules; i++) {
            p->rules[i].calling_ae = n_ae ? c->accept.calling_ae_titles.v[i] : NULL;
            p->rules[i].cidrs = p->cidrs;
            p->rules[i].n_cidrs = n_cidr;
        }
        pol->peers = p->rules;
        pol->n_peers = n_rules;
    }

    /* accept.sop_classes: [] means Verification and every storage class
     * (dul's default); a list narrows it, Verification always included. */
    if (c->accept.sop_classes.n) {
        p->abstract = calloc(c->accept.sop_classes.n + 1, sizeof *p->abstract);
        if (!p->abstract)
            goto out_nomem;
        p->abstract[0] = DCM_UID_Verification;
        for (size_t i = 0; i < c->accept.sop_classes.n; i++)
            p->abstract[i + 1] = c->accept.sop_classes.v[i];
        pol->abstract_syntaxes = p->abstract;
        pol->n_abstract_syntaxes = c->accept.sop_classes.n + 1;
    }

    /* accept.transfer_syntaxes: ours in order, then (with '*') every other
     * syntax in dul's default order. */
    const struct conf_syntaxes *ts = &c->accept.transfer_syntaxes;
    size_t n_def = dul_default_transfer_syntax_count();
    p->syntaxes = calloc(ts->n + n_def + 1, sizeof *p->syntaxes);
    if (!p->syntaxes)
        goto out_nomem;
    size_t n = 0;
    for (size_t i = 0; i < ts->n; i++)
        p->syntaxes[n++] = ts->uids[i];
    if (ts->others) {
        for (size_t k = 0; k < n_def; k++) {
            const char *uid = dul_default_transfer_syntax(k);
            bool listed = false;
            for (size_t i = 0; i < ts->n && !listed; i++)
                listed = strcmp(ts->uids[i], uid) == 0;
            if (!listed)
                p->syntaxes[n++] = uid;
        }
    }
    pol->transfer_syntaxes = p->syntaxes;
    pol->n_transfer_syntaxes = n;

    pol->max_pdu = c->limits.max_pdu;
    pol->max_associations = c->limits.max_associations;
    pol->max_associations_per_peer = c->limits.max_associations_per_peer;
    pol->require_user_identity = c->accept.require_user_identity;
    pol->artim_ms = (unsigned)c->limits.artim_ms;
    pol->idle_ms = (unsigned)c->limits.idle_ms;
    pol->pdu_ms = (unsigned)c->limits.pdu_ms;
    return 0;

out_nomem:
    ferryd_policy_free(p);
    return -ENOMEM;
}

/* ------------------------------------------------------------- reload */

static void on_restart_setting(void *ud, const char *key, const char *running,
                               const char *wanted)
{
    (void)ud;
    ferry_log(FERRY_LOG_WARN, "reload", "%s changed from %s to %s: this takes a restart; "
                                        "running on with %s",
              key, running, wanted, running);
}

static void *reload_main(void *arg)
{
    struct ferryd *d = arg;
    d->reload_errors = NULL;
    d->reload_rc = conf_holder_reload(d->holder, d->config_path, &d->conf_opts, &d->reload_errors,
                                      on_restart_setting, d);
    net_loop_post(d->loop, &d->reload_work);
    return NULL;
}

/* The errors of a refused config as text for `ferry reload` (one per line,
 * as the log has them); static storage, for one call. */
static const char *reload_errors_text(struct ferryd *d, const struct conf_errors *e)
{
    static char text[16384];
    size_t n = 0;
    text[0] = '\0';
    for (size_t i = 0; e && i < e->n && n < sizeof text; i++) {
        if (e->v[i].line)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s:%u:%u: %s\n", e->v[i].file,
                                  e->v[i].line, e->v[i].col, e->v[i].message);
        else
            n += (size_t)snprintf(text + n, sizeof text - n, "%s: %s\n", e->v[i].file,
                                  e->v[i].message);
    }
    if (n == 0)
        snprintf(text, sizeof text, "%s cannot be loaded\n", d->config_path);
    return text;
}

void ferryd_reload_requested(void *ud)
{
    struct ferryd *d = ud;
    if (!d->stopping)
        ferryd_reload(d);
}

/* On the network thread: put the new config to work, or say why not. */
static void reload_apply(struct net_work *w)
{
    struct ferryd *d = ferry_container_of(w, struct ferryd, reload_work);
    d->reload_running = false;
    d->reload_joinable = true;
    if (d->reload_rc < 0) {
        struct conf_errors *e = d->reload_errors;
        if (e) {
            for (size_t i = 0; i < e->n; i++) {
                if (e->v[i].line)
                    ferry_log(FERRY_LOG_ERROR, "reload", "%s:%u:%u: %s", e->v[i].file,
                              e->v[i].line, e->v[i].col, e->v[i].message);
                else
                    ferry_log(FERRY_LOG_ERROR, "reload", "%s: %s", e->v[i].file,
                              e->v[i].message);
            }
        }
        ferry_log(FERRY_LOG_ERROR, "reload",
                  "%s has %zu error%s: refused; the running config stays in force",
                  d->config_path, e ? e->n : 0, e && e->n == 1 ? "" : "s");
        if (d->fwd)
            fwd_reload_done(d->fwd, false, reload_errors_text(d, e));
    } else {
        const struct conf *c = conf_holder_get(d->holder);
        struct ferryd_policy p;
        struct ferry_error *err = NULL;
        if (ferryd_policy_build(c, &p) < 0 || dul_server_set_policy(d->server, &p.pol, &err) < 0) {
            ferry_log(FERRY_LOG_ERROR, "reload", "the new acceptor policy was refused (%s); "
                                                 "associations keep the old one",
                      err ? err->message : "out of memory");
            ferry_error_free(err);
        }
        ferryd_policy_free(&p);
        ferry_log_set_level((enum ferry_log_level)c->server.log_level);
        store_spool_set_duplicates(d->spool, (enum store_duplicate_policy)c->storage.duplicates);
        const struct conf *old = d->conf;
        d->conf = c;
        conf_unref(old);
        ferry_log(FERRY_LOG_INFO, "reload", "%s reloaded: AE title %s, %zu destinations, "
                                            "%zu pipelines",
                  d->config_path, c->server.ae_title, c->n_destinations, c->n_pipelines);
        if (d->fwd) {
            char line[512];
            fwd_set_config(d->fwd, c);
            snprintf(line, sizeof line, "%s reloaded: %zu destinations, %zu routes, %zu pipelines",
                     d->config_path, c->n_destinations, route_rules_count(c->rules),
                     c->n_pipelines);
            fwd_reload_done(d->fwd, true, line);
        }
    }
    conf_errors_free(d->reload_errors);
    d->reload_errors = NULL;
    if (d->reload_again && !d->stopping) {
        d->reload_again = false;
        ferryd_reload(d);
    }
}

void ferryd_reload_join(struct ferryd *d)
{
    if (d->reload_joinable) {
        pthread_join(d->reload_thread, NULL);
        d->reload_joinable = false;
    }
}

void ferryd_reload(struct ferryd *d)
{
    if (d->reload_running) {
        d->reload_again = true; /* once this one is done */
        return;
    }
    ferryd_reload_join(d);
    ferry_log(FERRY_LOG_INFO, "reload", "SIGHUP: reading %s", d->config_path);
    d->reload_work.fn = reload_apply;
    d->reload_running = true;
    /* Reading files and compiling pipelines may take a while: not on the
     * network thread. */
    int rc = pthread_create(&d->reload_thread, NULL, reload_main, d);
    if (rc != 0) {
        d->reload_running = false;
        ferry_log(FERRY_LOG_ERROR, "reload", "cannot start the reload thread: %s", strerror(rc));
    }
}
