/* ferry transcode --to SYNTAX [--param k=v]... [--plugin-dir DIR] IN.dcm OUT.dcm
 *
 * Runs the same pipeline code as a route's `compress` step on one file. */
#include "cli/cli.h"

#include "base/log.h"
#include "dcm/dcm.h"
#include "work/work.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry transcode --to SYNTAX [--param KEY=VALUE]... [--plugin-dir DIR] "
            "IN.dcm OUT.dcm\n\n"
            "Re-encode the pixel data of IN.dcm in SYNTAX (a codec name such as\n"
            "jpeg-ls-lossless, jpeg2000-lossless, htj2k-lossless, jpeg-baseline,\n"
            "rle-lossless, or a transfer syntax UID, or explicit-little to decompress) and\n"
            "write OUT.dcm. Parameters go to the codec (e.g. --param near=2, --param\n"
            "quality=85)\n"
            "or to ferry (lossy-new-uid=yes|no, on-failure=fail|uncompressed,\n"
            "offset-table=auto|basic|extended). Plugins are loaded from DIR (default:\n"
            "$FERRY_PLUGIN_DIR, else the plugins folder next to this program's folder).\n"
            "See docs/plugins.md for the codecs and their parameters.\n");
}

static void print_codecs(const struct work_registry *reg)
{
    fprintf(stderr, "syntaxes the loaded plugins encode:\n");
    for (size_t i = 0; i < work_registry_count(reg); i++) {
        const struct ferry_plugin *p = work_registry_plugin(reg, i);
        for (uint32_t k = 0; k < p->n_codecs; k++)
            if (p->codecs[k]->flags & FERRY_CODEC_ENCODE)
                fprintf(stderr, "  %-28s %s\n", p->codecs[k]->name,
                        p->codecs[k]->transfer_syntax);
    }
    fprintf(stderr, "  %-28s %s\n", "explicit-little", DCM_UID_ExplicitVRLittleEndian);
}

int cmd_transcode(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 't' },
        { "param", required_argument, NULL, 'p' },
        { "plugin-dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *to = NULL;
    char plugin_dir[PATH_MAX];
    cli_plugin_dir(plugin_dir, sizeof plugin_dir);
    struct ferry_param *params = calloc((size_t)argc, sizeof *params);
    uint32_t n_params = 0;
    int status = CLI_FAILED;
    if (!params)
        return CLI_FAILED;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:p:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            to = optarg;
            break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "ferry transcode: --param '%s' is not KEY=VALUE\n", optarg);
                status = CLI_USAGE;
                goto out;
            }
            *eq = '\0';
            params[n_params++] = (struct ferry_param){ optarg, eq + 1 };
            break;
        }
        case 'd':
            snprintf(plugin_dir, sizeof plugin_dir, "%s", optarg);
            break;
        case 'h':
            usage(stdout);
            status = CLI_OK;
            goto out;
        default:
            usage(stderr);
            status = CLI_USAGE;
            goto out;
        }
    }
    if (!to || argc - optind != 2) {
        usage(stderr);
        status = CLI_USAGE;
        goto out;
    }
    const char *in = argv[optind], *outpath = argv[optind + 1];

    struct ferry_error *err = NULL;
    struct work_registry *reg = work_registry_load_all(plugin_dir, work_host(), &err);
    struct dcm_dataset *ds = NULL, *result = NULL;
    struct work_pipeline *pipe = NULL;
    struct work_source *src = NULL;
    if (!reg) {
        fprintf(stderr, "ferry transcode: %s\n", ferry_error_message(err));
        goto out_free;
    }
    struct work_step_spec step = { WORK_STEP_COMPRESS, to, params, n_params };
    int bad_step, bad_param;
    pipe = work_pipeline_new(reg, &step, 1, &bad_step, &bad_param, &err);
    if (!pipe) {
        fprintf(stderr, "ferry transcode: %s\n", ferry_error_message(err));
        if (err && err->code == -ENOENT)
            print_codecs(reg);
        status = CLI_USAGE;
        goto out_free;
    }
    ds = dcm_read_file(in, NULL, &err);
    if (!ds) {
        fprintf(stderr, "ferry transcode: %s\n", ferry_error_message(err));
        goto out_free;
    }
    src = work_source_new(ds, reg, in);
    struct work_result res;
    if (!src || work_pipeline_run(pipe, src, &result, &res, &err) < 0) {
        fprintf(stderr, "ferry transcode: %s: %s\n", in,
                err ? ferry_error_message(err) : "out of memory");
        goto out_free;
    }
    const char *ts = dcm_dataset_transfer_syntax(result);
    struct dcm_meta_info meta = { .transfer_syntax = ts };
    /* The input's meta group names the instance when the data set's own
     * UIDs cannot be read as UIDs (written with VR UN, for one). */
    char cls[65], uid[65];
    const struct dcm_dataset *in_meta = dcm_dataset_meta(ds);
    if (in_meta && dcm_dataset_get_cstr(result, DCM_TAG_SOPClassUID, 0, cls, sizeof cls) < 0 &&
        dcm_dataset_get_cstr(in_meta, DCM_TAG_MediaStorageSOPClassUID, 0, cls, sizeof cls) > 0)
        meta.sop_class_uid = cls;
    if (in_meta && dcm_dataset_get_cstr(result, DCM_TAG_SOPInstanceUID, 0, uid, sizeof uid) < 0 &&
        dcm_dataset_get_cstr(in_meta, DCM_TAG_MediaStorageSOPInstanceUID, 0, uid, sizeof uid) > 0)
        meta.sop_instance_uid = uid;
    /* Written beside OUT and renamed over it: a failure leaves no part of a
     * file where OUT was asked for. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.part%ld", outpath, (long)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "ferry transcode: %s: path too long\n", outpath);
        goto out_free;
    }
    if (dcm_write_file(tmp, result, &meta, &err) < 0 || rename(tmp, outpath) < 0) {
        if (!err)
            ferry_error_set(&err, -errno, "%s: %s", outpath, strerror(errno));
        fprintf(stderr, "ferry transcode: %s\n", ferry_error_message(err));
        unlink(tmp);
        goto out_free;
    }
    struct stat a, b;
    double ratio = stat(in, &a) == 0 && stat(outpath, &b) == 0 && b.st_size > 0
                       ? (double)a.st_size / (double)b.st_size
                       : 0;
    const char *name = dcm_uid_name(ts);
    printf("%s -> %s: %s (%s), %s, file size ratio %.2f\n", in, outpath, name ? name : ts, ts,
           res.lossy ? "lossy" : "lossless", ratio);
    status = CLI_OK;
out_free:
    work_source_unref(src);
    dcm_dataset_unref(result);
    dcm_dataset_unref(ds);
    work_pipeline_free(pipe);
    work_registry_free(reg);
    ferry_error_free(err);
out:
    free(params);
    return status;
}
