/* The deid plugin: one step, "deid", PS3.15 Annex E de-identification.
 *
 *     pipeline:
 *       - step: deid
 *         params:
 *           secret-file: /etc/ferry/deid.secret
 *           option: [retain-long-modified-dates, clean-descriptors]
 *           pseudonym-template: "{site}-{hash:12}"
 *           site: TOWN01
 *           burned-in: mask
 *           mask-file: /etc/ferry/masks.tsv
 */
#include "deid-private.h"

#include <errno.h>

static int step_configure(const struct ferry_host *host, const struct ferry_param *params,
                          uint32_t n, void **state, struct ferry_diag *diag)
{
    struct deid_config *cfg = NULL;
    int rc = deid_config_parse(params, n, &cfg, diag);
    if (rc == 0 && (rc = deid_config_check_host(cfg, host, diag)) < 0) {
        deid_config_free(cfg);
        cfg = NULL;
    }
    *state = cfg;
    return rc;
}

static void step_release(void *state)
{
    deid_config_free(state);
}

static int step_run(void *state, const struct ferry_host *host, struct ferry_instance *inst,
                    struct ferry_diag *diag)
{
    if (!state) {
        deid_diag(diag, -1, "deid step run without a configuration");
        return -EINVAL;
    }
    return deid_run(state, host, inst, diag);
}

static const struct ferry_step deid_step = {
    .size = sizeof(struct ferry_step),
    .name = "deid",
    .configure = step_configure,
    .release = step_release,
    .run = step_run,
};

static const struct ferry_step *const steps[] = { &deid_step };

static const struct ferry_plugin plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "deid",
    .version = DEID_VERSION,
    .description = "PS3.15 Annex E de-identification: Basic Profile and its options",
    .codecs = NULL,
    .n_codecs = 0,
    .steps = steps,
    .n_steps = 1,
    .unload = NULL,
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host)
{
    (void)host;
    return &plugin;
}
