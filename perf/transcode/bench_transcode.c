/* bench_transcode: ferry's pipeline (what a route's compress step and
 * `ferry transcode` run) against the codec plugin it calls, on the frames of
 * a series of files. Not a test: run it by hand, or through run.py, which
 * puts its figures beside the bare libraries' and DCMTK's.
 *
 *   bench_transcode [--reps N] [--only SUBSTR] [--plugin-dir DIR] FILE...
 *
 * For each output syntax, frame by frame and alternating which goes first:
 *   encode  work_pipeline_run() of a compress step on the parsed native
 *           instance (clone of the data set, the frame through the host, the
 *           codec, the fragments, the Basic Offset Table, the attributes),
 *           and the same codec's encode() called directly on the same frame;
 *   decode  work_pipeline_run() of an explicit-little step on the encoded
 *           instance (a fresh source each time, so it really decodes), and
 *           the codec's decode() called directly on the same fragment.
 * Times are CPU time of the process (OpenJPEG's threads count), per frame;
 * the figures are medians over frames and repetitions, as MB/s of native
 * pixels per core. "pipeline overhead" is pipeline time / plugin time - 1. */
#include "work/plugins.h"
#include "work/work.h"

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench_case {
    const char *label;
    const char *codec;
    const char *params[2]; /* "k=v" */
};

static const struct bench_case cases[] = {
    { "jpeg-ls-lossless (4.80)", "jpeg-ls-lossless", { NULL } },
    { "jpeg-ls near=2 (4.81)", "jpeg-ls-near-lossless", { "near=2" } },
    { "jpeg-lossless (4.57)", "jpeg-lossless", { NULL } },
    { "jpeg-lossless-sv1 (4.70)", "jpeg-lossless-sv1", { NULL } },
    { "jpeg-extended q90 (4.51)", "jpeg-extended", { "quality=90" } },
    { "jpeg2000-lossless (4.90)", "jpeg2000-lossless", { NULL } },
    { "jpeg2000 rate=10 (4.91)", "jpeg2000", { "rate=10" } },
    { "htj2k-lossless (4.201)", "htj2k-lossless", { NULL } },
    { "htj2k-lossless-rpcl (4.202)", "htj2k-lossless-rpcl", { NULL } },
    { "htj2k qstep=auto (4.203)", "htj2k", { NULL } },
    { "rle-lossless (1.2.5)", "rle-lossless", { NULL } },
};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, struct ferry_error *err)
{
    fprintf(stderr, "bench_transcode: %s: %s\n", what, ferry_error_message(err));
    exit(1);
}

/* The frame of a native single-frame instance, and its geometry. */
static const uint8_t *native_frame(const struct dcm_dataset *ds, size_t *len,
                                   struct ferry_frame *g)
{
    memset(g, 0, sizeof *g);
    g->size = sizeof *g;
    uint64_t v;
    char pi[24] = "MONOCHROME2";
    dcm_dataset_get_uint(ds, DCM_TAG_Rows, 0, &v);
    g->rows = (uint32_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_Columns, 0, &v);
    g->columns = (uint32_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_SamplesPerPixel, 0, &v);
    g->samples_per_pixel = (uint16_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_BitsAllocated, 0, &v);
    g->bits_allocated = (uint16_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_BitsStored, 0, &v);
    g->bits_stored = (uint16_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_HighBit, 0, &v);
    g->high_bit = (uint16_t)v;
    dcm_dataset_get_uint(ds, DCM_TAG_PixelRepresentation, 0, &v);
    g->pixel_representation = (uint16_t)v;
    dcm_dataset_get_cstr(ds, DCM_TAG_PhotometricInterpretation, 0, pi, sizeof pi);
    memcpy(g->photometric, pi, sizeof pi);
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    *len = (size_t)g->rows * g->columns * g->samples_per_pixel * (g->bits_allocated / 8u);
    if (!pd || dcm_element_is_encapsulated(pd) || dcm_element_length(pd) < *len) {
        fprintf(stderr, "bench_transcode: the inputs must be native single-frame images\n");
        exit(1);
    }
    return dcm_element_value(pd);
}

/* The first fragment of encapsulated instance `ds` (one frame, one fragment). */
static const uint8_t *fragment0(const struct dcm_dataset *ds, uint32_t *len)
{
    const uint8_t *b;
    if (dcm_element_fragment(dcm_dataset_get(ds, DCM_TAG_PixelData), 0, &b, len, NULL) < 0) {
        fprintf(stderr, "bench_transcode: an encoded instance has no fragment\n");
        exit(1);
    }
    return b;
}

static void parse_params(const struct bench_case *c, struct ferry_param *p, uint32_t *n,
                         char store[2][64])
{
    *n = 0;
    for (int i = 0; i < 2 && c->params[i]; i++) {
        snprintf(store[i], sizeof store[i], "%s", c->params[i]);
        char *eq = strchr(store[i], '=');
        *eq = '\0';
        p[(*n)++] = (struct ferry_param){ store[i], eq + 1 };
    }
}

struct timing {
    double *pipe, *plug;
    size_t n;
};

static void run_case(const struct work_registry *reg, const struct bench_case *c,
                     struct dcm_dataset **in, size_t nfiles, int reps)
{
    struct ferry_param params[2];
    char store[2][64];
    uint32_t np;
    parse_params(c, params, &np, store);
    struct ferry_error *err = NULL;
    int bs, bp;
    struct work_step_spec to = { WORK_STEP_COMPRESS, c->codec, params, np };
    struct work_step_spec back = { WORK_STEP_COMPRESS, "explicit-little", NULL, 0 };
    struct work_pipeline *enc_p = work_pipeline_new(reg, &to, 1, &bs, &bp, &err);
    struct work_pipeline *dec_p = enc_p ? work_pipeline_new(reg, &back, 1, &bs, &bp, &err) : NULL;
    if (!dec_p)
        die(c->label, err);
    const struct ferry_codec *codec = work_registry_codec(reg, c->codec, FERRY_CODEC_ENCODE);
    void *state = NULL;
    struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
    if (codec->configure && codec->configure(params, np, &state, &diag) < 0) {
        fprintf(stderr, "%s: %s\n", c->label, diag.message);
        exit(1);
    }
    const struct ferry_host *host = work_host();
    struct dcm_dataset **out = calloc(nfiles, sizeof *out);
    size_t total = (size_t)reps * nfiles;
    struct timing te = { calloc(total, sizeof(double)), calloc(total, sizeof(double)), 0 };
    struct timing td = { calloc(total, sizeof(double)), calloc(total, sizeof(double)), 0 };
    size_t raw = 0;
    uint64_t coded = 0;
    uint8_t *buf = NULL;
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < nfiles; i++) {
            size_t len;
            struct ferry_frame g;
            const uint8_t *px = native_frame(in[i], &len, &g);
            raw = len;
            if (!buf)
                buf = malloc(len);
            for (int half = 0; half < 2; half++) {
                bool pipe = (half == 0) == ((i + (size_t)r) % 2 == 0);
                double t0 = cpu_now();
                if (pipe) {
                    struct work_source *src = work_source_new(in[i], reg, "bench");
                    struct work_result res;
                    dcm_dataset_unref(out[i]);
                    out[i] = NULL;
                    if (work_pipeline_run(enc_p, src, &out[i], &res, &err) < 0)
                        die(c->label, err);
                    work_source_unref(src);
                    te.pipe[te.n] = cpu_now() - t0;
                } else {
                    struct ferry_encoded e = { .size = sizeof e };
                    if (codec->encode(state, host, &g, px, len, &e, &diag) < 0) {
                        fprintf(stderr, "%s: %s\n", c->label, diag.message);
                        exit(1);
                    }
                    host->free(e.bytes);
                    te.plug[te.n] = cpu_now() - t0;
                }
            }
            te.n++;
        }
        for (size_t i = 0; i < nfiles; i++) {
            uint32_t flen;
            const uint8_t *frag = fragment0(out[i], &flen);
            if (r == 0)
                coded += flen;
            struct ferry_frame g;
            size_t len;
            native_frame(in[i], &len, &g);
            for (int half = 0; half < 2; half++) {
                bool pipe = (half == 0) == ((i + (size_t)r) % 2 == 0);
                double t0 = cpu_now();
                if (pipe) {
                    struct work_source *src = work_source_new(out[i], reg, "bench");
                    struct work_result res;
                    struct dcm_dataset *nat = NULL;
                    if (work_pipeline_run(dec_p, src, &nat, &res, &err) < 0)
                        die(c->label, err);
                    dcm_dataset_unref(nat);
                    work_source_unref(src);
                    td.pipe[td.n] = cpu_now() - t0;
                } else {
                    /* what the host does: the first decoder of the syntax,
                     * the next when one says it cannot (JPEG 4.51) */
                    const struct ferry_codec *d = NULL;
                    void *ds_state = NULL;
                    int rc = -ENOTSUP;
                    const char *ts = dcm_dataset_transfer_syntax(out[i]);
                    while (rc == -ENOTSUP &&
                           (d = work_registry_decoder(reg, ts, d, &ds_state)) != NULL) {
                        struct ferry_frame og = g;
                        rc = d->decode(ds_state, &g, frag, flen, buf, len, &og, &diag);
                    }
                    if (rc < 0) {
                        fprintf(stderr, "%s decode: %s\n", c->label, diag.message);
                        exit(1);
                    }
                    td.plug[td.n] = cpu_now() - t0;
                }
            }
            td.n++;
        }
    }
    double ep = median(te.pipe, te.n), eq = median(te.plug, te.n);
    double dp = median(td.pipe, td.n), dq = median(td.plug, td.n);
    double mb = (double)raw / 1e6;
    printf("%-28s %6.2f | %9.1f %9.1f %+6.1f%% | %9.1f %9.1f %+6.1f%%\n", c->label,
           (double)raw * (double)nfiles / (double)coded, mb / ep, mb / eq, 100 * (ep / eq - 1),
           mb / dp, mb / dq, 100 * (dp / dq - 1));
    fflush(stdout);
    for (size_t i = 0; i < nfiles; i++)
        dcm_dataset_unref(out[i]);
    free(out);
    free(buf);
    free(te.pipe);
    free(te.plug);
    free(td.pipe);
    free(td.plug);
    if (state && codec->release)
        codec->release(state);
    work_pipeline_free(enc_p);
    work_pipeline_free(dec_p);
}

int main(int argc, char **argv)
{
    int reps = 3;
    const char *only = NULL;
    char plugin_dir[PATH_MAX];
    /* build/perf/bench_transcode -> build/plugins */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(plugin_dir, sizeof plugin_dir, "%s/../plugins", n > 0 ? dirname(exe) : ".");
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--plugin-dir") == 0 && i + 1 < argc)
            snprintf(plugin_dir, sizeof plugin_dir, "%s", argv[++i]);
        else
            break;
    }
    if (i >= argc || reps < 1) {
        fprintf(stderr, "usage: bench_transcode [--reps N] [--only SUBSTR] [--plugin-dir DIR] "
                        "FILE...\n");
        return 2;
    }
    struct ferry_error *err = NULL;
    struct work_registry *reg = work_registry_load_all(plugin_dir, work_host(), &err);
    if (!reg)
        die(plugin_dir, err);
    size_t nfiles = (size_t)(argc - i);
    struct dcm_dataset **in = calloc(nfiles, sizeof *in);
    for (size_t k = 0; k < nfiles; k++)
        if (!(in[k] = dcm_read_file(argv[i + (int)k], NULL, &err)))
            die(argv[i + (int)k], err);
    size_t len;
    struct ferry_frame g;
    native_frame(in[0], &len, &g);
    printf("%zu files, %ux%u, %u/%u bits; %d passes; medians per frame; MB = 10^6 bytes of native "
           "pixels; process CPU time\n",
           nfiles, g.rows, g.columns, g.bits_allocated, g.bits_stored, reps);
    printf("%-28s %6s | %9s %9s %7s | %9s %9s %7s\n", "syntax", "ratio", "enc pipe", "plugin",
           "ovh", "dec pipe", "plugin", "ovh");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        if (!only || strstr(cases[c].label, only))
            run_case(reg, &cases[c], in, nfiles, reps);
    for (size_t k = 0; k < nfiles; k++)
        dcm_dataset_unref(in[k]);
    free(in);
    work_registry_free(reg);
    return 0;
}
