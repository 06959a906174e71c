/* ferry — work: pipelines (compiled steps) and running them on a source. */
#include "work/work-private.h"

#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct step {
    enum work_step_kind kind;
    const struct ferry_codec *codec;  /* compress: NULL means native Explicit VR LE */
    const struct ferry_step *plugin;  /* plugin step */
    void *state;
    struct work_encode_opts opts;     /* compress: lossy-new-uid, offset-table */
    bool fallback_uncompressed;
    char label[112];                  /* "compress jpeg-ls-lossless", "deid" */
};

struct work_pipeline {
    size_t n;
    const char *output_syntax;
    struct step steps[];
};

static bool is_native_target(const char *name)
{
    /* explicit-little: the name docs/config.md gives the syntax */
    return strcmp(name, "explicit-vr-little-endian") == 0 || strcmp(name, "explicit-little") == 0 ||
           strcmp(name, "uncompressed") == 0 || strcmp(name, DCM_UID_ExplicitVRLittleEndian) == 0;
}

static void release_step(struct step *s)
{
    if (!s->state)
        return;
    if (s->kind == WORK_STEP_COMPRESS && s->codec && s->codec->release)
        s->codec->release(s->state);
    else if (s->kind == WORK_STEP_PLUGIN && s->plugin->release)
        s->plugin->release(s->state);
    s->state = NULL;
}

void work_pipeline_free(struct work_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        release_step(&p->steps[i]);
    free(p);
}

/* Split the compress step's parameters into the host's and the codec's. */
static int host_params(struct step *s, const struct work_step_spec *spec,
                       struct ferry_param *codec_params, uint32_t *n_codec, int *bad_param,
                       struct ferry_error **err)
{
    s->opts.new_uid_on_lossy = true;
    s->opts.offset_table = WORK_OFFSET_TABLE_AUTO;
    *n_codec = 0;
    for (uint32_t i = 0; i < spec->n_params; i++) {
        const struct ferry_param *pp = &spec->params[i];
        if (strcmp(pp->key, "lossy-new-uid") == 0) {
            if (strcmp(pp->value, "yes") != 0 && strcmp(pp->value, "no") != 0) {
                *bad_param = (int)i;
                return ferry_error_set(err, -EINVAL,
                                       "parameter 'lossy-new-uid': '%s' is not yes or no",
                                       pp->value);
            }
            s->opts.new_uid_on_lossy = strcmp(pp->value, "yes") == 0;
        } else if (strcmp(pp->key, "on-failure") == 0) {
            if (strcmp(pp->value, "fail") != 0 && strcmp(pp->value, "uncompressed") != 0) {
                *bad_param = (int)i;
                return ferry_error_set(err, -EINVAL,
                                       "parameter 'on-failure': '%s' is not fail or uncompressed",
                                       pp->value);
            }
            s->fallback_uncompressed = strcmp(pp->value, "uncompressed") == 0;
        } else if (strcmp(pp->key, "offset-table") == 0) {
            static const char *const modes[] = { "auto", "basic", "extended" };
            size_t m = 0;
            while (m < 3 && strcmp(pp->value, modes[m]) != 0)
                m++;
            if (m == 3) {
                *bad_param = (int)i;
                return ferry_error_set(err, -EINVAL,
                                       "parameter 'offset-table': '%s' is not auto, basic or "
                                       "extended",
                                       pp->value);
            }
            s->opts.offset_table = (enum work_offset_table)m;
        } else {
            codec_params[(*n_codec)++] = *pp;
        }
    }
    return 0;
}

static int compile_compress(const struct work_registry *reg, const struct work_step_spec *spec,
                            struct step *s, int *bad_param, struct ferry_error **err)
{
    struct ferry_param *cp = calloc(spec->n_params ? spec->n_params : 1, sizeof *cp);
    uint32_t n = 0;
    int rc = 0;
    snprintf(s->label, sizeof s->label, "compress %s", spec->name);
    if (!cp)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    if ((rc = host_params(s, spec, cp, &n, bad_param, err)) < 0)
        goto out;
    if (is_native_target(spec->name)) {
        snprintf(s->label, sizeof s->label, "compress explicit-vr-little-endian");
        if (n > 0) {
            /* find the original index of the first codec parameter */
            for (uint32_t i = 0; i < spec->n_params; i++)
                if (spec->params[i].key == cp[0].key)
                    *bad_param = (int)i;
            rc = ferry_error_set(err, -EINVAL, "parameter '%s': uncompressed output takes none",
                                 cp[0].key);
        }
        goto out;
    }
    s->codec = work_registry_codec(reg, spec->name, FERRY_CODEC_ENCODE);
    if (!s->codec) {
        rc = ferry_error_set(err, -ENOENT, "no loaded plugin encodes '%s'", spec->name);
        goto out;
    }
    if (s->codec->configure) {
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        rc = s->codec->configure(cp, n, &s->state, &diag);
        if (rc < 0) {
            if (diag.param >= 0 && (uint32_t)diag.param < n)
                for (uint32_t i = 0; i < spec->n_params; i++)
                    if (spec->params[i].key == cp[diag.param].key)
                        *bad_param = (int)i;
            ferry_error_set(err, rc, "%s", diag.message[0] ? diag.message : "invalid parameters");
        }
    } else if (n > 0) {
        for (uint32_t i = 0; i < spec->n_params; i++)
            if (spec->params[i].key == cp[0].key)
                *bad_param = (int)i;
        rc = ferry_error_set(err, -EINVAL, "parameter '%s': codec '%s' takes no parameters",
                             cp[0].key, s->codec->name);
    }
out:
    free(cp);
    return rc;
}

static int compile_plugin_step(const struct work_registry *reg, const struct work_step_spec *spec,
                               struct step *s, int *bad_param, struct ferry_error **err)
{
    s->plugin = work_registry_step(reg, spec->name);
    snprintf(s->label, sizeof s->label, "%s", spec->name);
    if (!s->plugin)
        return ferry_error_set(err, -ENOENT, "no loaded plugin offers a step named '%s'",
                               spec->name);
    if (!s->plugin->configure)
        return 0;
    struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
    int rc = s->plugin->configure(work_host(), spec->params, spec->n_params, &s->state, &diag);
    if (rc < 0) {
        if (diag.param >= 0 && (uint32_t)diag.param < spec->n_params)
            *bad_param = diag.param;
        return ferry_error_set(err, rc, "%s", diag.message[0] ? diag.message : "invalid parameters");
    }
    return 0;
}

struct work_pipeline *work_pipeline_new(const struct work_registry *reg,
                                        const struct work_step_spec *specs, size_t n,
                                        int *bad_step, int *bad_param,
                                        struct ferry_error **err)
{
    *bad_step = -1;
    *bad_param = -1;
    struct work_pipeline *p = calloc(1, sizeof *p + n * sizeof *p->steps);
    if (!p) {
        ferry_error_set(err, -ENOMEM, "pipeline: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct step *s = &p->steps[i];
        s->kind = specs[i].kind;
        struct ferry_error *e = NULL;
        int rc = s->kind == WORK_STEP_COMPRESS ? compile_compress(reg, &specs[i], s, bad_param, &e)
                                               : compile_plugin_step(reg, &specs[i], s, bad_param, &e);
        p->n = i + 1; /* what to release */
        if (rc < 0) {
            *bad_step = (int)i;
            ferry_error_set(err, rc, "step %zu (%s): %s", i + 1, s->label, ferry_error_message(e));
            ferry_error_free(e);
            work_pipeline_free(p);
            return NULL;
        }
        if (s->kind == WORK_STEP_COMPRESS)
            p->output_syntax = s->codec ? s->codec->transfer_syntax
                                        : DCM_UID_ExplicitVRLittleEndian;
    }
    return p;
}

const char *work_pipeline_output_syntax(const struct work_pipeline *p)
{
    return p ? p->output_syntax : NULL;
}

/* ------------------------------------------------------------------------ */

struct work_source *work_source_new(struct dcm_dataset *ds, const struct work_registry *reg,
                                    const char *context)
{
    struct work_source *src = calloc(1, sizeof *src);
    if (!src)
        return NULL;
    atomic_init(&src->refs, 1);
    src->ds = dcm_dataset_ref(ds);
    src->reg = reg;
    snprintf(src->context, sizeof src->context, "%s", context ? context : "");
    pthread_mutex_init(&src->lock, NULL);
    pthread_cond_init(&src->decoded, NULL);
    return src;
}

struct work_source *work_source_ref(struct work_source *src)
{
    atomic_fetch_add(&src->refs, 1);
    return src;
}

void work_source_unref(struct work_source *src)
{
    if (!src || atomic_fetch_sub(&src->refs, 1) != 1)
        return;
    if (src->frames)
        for (uint32_t i = 0; i < src->n_frames; i++)
            free(src->frames[i]);
    free(src->frames);
    free(src->geoms);
    free(src->decoding);
    pthread_cond_destroy(&src->decoded);
    pthread_mutex_destroy(&src->lock);
    dcm_dataset_unref(src->ds);
    free(src);
}

/* A step changed pixels and nothing re-encoded them since: encode them in
 * the syntax the data set is in when a plugin can, else natively. */
static int finish_pixels(struct ferry_instance *inst, bool *lossy, struct ferry_error **err)
{
    const char *ts = dcm_dataset_transfer_syntax(inst->ds);
    const struct dcm_ts *t = dcm_ts_lookup(ts);
    const struct ferry_codec *codec = NULL;
    if (t && t->encapsulated)
        codec = work_registry_codec(inst->src->reg, ts, FERRY_CODEC_ENCODE);
    void *state = NULL;
    if (codec && codec->configure) {
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        if (codec->configure(NULL, 0, &state, &diag) < 0)
            codec = NULL;
    }
    int rc = work_instance_encode(inst, codec, state, NULL, lossy, err);
    if (state && codec->release)
        codec->release(state);
    return rc;
}

int work_pipeline_run(const struct work_pipeline *p, struct work_source *src,
                      struct dcm_dataset **out, struct work_result *result,
                      struct ferry_error **err)
{
    memset(result, 0, sizeof *result);
    *out = NULL;
    struct ferry_instance inst = { .src = src };
    snprintf(inst.context, sizeof inst.context, "%s", src->context);
    inst.ds = dcm_dataset_clone(src->ds);
    if (!inst.ds)
        return ferry_error_set(err, -ENOMEM, "pipeline: out of memory");
    int rc = 0;
    size_t n = p ? p->n : 0;
    bool resolved = false;
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &p->steps[i];
        if (s->kind == WORK_STEP_PLUGIN) {
            if (!resolved && (rc = work_instance_resolve_un(&inst)) < 0) {
                ferry_error_set(err, rc, "step %zu (%s): out of memory", i + 1, s->label);
                goto fail;
            }
            resolved = true;
            struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
            inst.step = s->label;
            rc = s->plugin->run(s->state, work_host(), &inst, &diag);
            inst.step = NULL;
            if (rc < 0) {
                ferry_error_set(err, rc, "step %zu (%s): %s", i + 1, s->label,
                                diag.message[0] ? diag.message : "failed");
                goto fail;
            }
            if (rc == FERRY_STEP_QUARANTINE || rc == FERRY_STEP_DROP) {
                result->step_result = rc;
                snprintf(result->reason, sizeof result->reason, "step %zu (%s): %s", i + 1,
                         s->label, diag.message[0] ? diag.message : "no reason given");
                rc = 0;
                goto fail;
            }
            if (rc != FERRY_STEP_OK) {
                rc = ferry_error_set(err, -EPROTO, "step %zu (%s): returned %d, which the "
                                     "plugin ABI does not define", i + 1, s->label, rc);
                goto fail;
            }
            continue;
        }
        bool lossy = false;
        struct ferry_error *e = NULL;
        rc = work_instance_encode(&inst, s->codec, s->state, &s->opts, &lossy, &e);
        if (rc < 0 && s->fallback_uncompressed) {
            ferry_log(FERRY_LOG_WARN, inst.context, "step %zu (%s): %s; sending it uncompressed "
                      "(on-failure: uncompressed)", i + 1, s->label, ferry_error_message(e));
            snprintf(result->reason, sizeof result->reason, "%s", ferry_error_message(e));
            ferry_error_free(e);
            e = NULL;
            result->fell_back = true;
            rc = work_instance_encode(&inst, NULL, NULL, &s->opts, &lossy, &e);
        }
        if (rc < 0) {
            ferry_error_set(err, rc, "step %zu (%s): %s", i + 1, s->label,
                            ferry_error_message(e));
            ferry_error_free(e);
            goto fail;
        }
        result->lossy |= lossy;
    }
    if (inst.pixels_replaced) {
        bool lossy = false;
        if ((rc = finish_pixels(&inst, &lossy, err)) < 0)
            goto fail;
        result->lossy |= lossy;
    }
    work_instance_free_frames(&inst);
    *out = inst.ds;
    return 0;
fail:
    if (rc < 0)
        snprintf(result->reason, sizeof result->reason, "%s",
                 ferry_error_message(err ? *err : NULL));
    work_instance_free_frames(&inst);
    dcm_dataset_unref(inst.ds);
    return rc;
}
