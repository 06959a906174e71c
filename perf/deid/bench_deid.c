/* bench_deid — de-identification against a lossless encode, through the same
 * pipeline code a route runs (not a test).
 *
 *   build/bin/bench_deid [--dir DIR] [--reps N] [--plugin-dir DIR] [--only LABEL]
 *
 * DIR holds the 400-slice CT series of `build/tests/dcmgen ct --slices 400
 * --out DIR` (made there when DIR has no .dcm file; default perf/out/ct400
 * under the current folder). Every instance is read into memory first; then,
 * for each repetition, all instances go through three pipelines, one after
 * the other, on one thread:
 *
 *   deid                  [deid]  (header only: no pixel is touched)
 *   deid + mask           [deid burned-in=mask] on the same instances with
 *                         Burned In Annotation YES: frames read, two
 *                         rectangles blacked out, pixel data rebuilt
 *   jpeg-ls-lossless      [compress jpeg-ls-lossless]
 *
 * Each run is timed with and without writing its output data set into
 * memory (what the forwarder does next). The best repetition counts. The
 * aim of issue 6: de-identification under 5 % of the time of the lossless
 * encode.
 *
 * Everything is measured twice: with glibc's default malloc, which gives
 * freed memory back to the kernel (so every new 512 KiB frame buffer is
 * page-faulted in again, which is slow in a virtual machine), and with
 * malloc keeping it (M_TRIM_THRESHOLD 256 MiB, M_MMAP_THRESHOLD 32 MiB),
 * as a long-running process that handles frames all day should set it. */
#include "base/log.h"
#include "dcm/dcm.h"
#include "work/work.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void exe_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        snprintf(out, n, ".");
        return;
    }
    exe[len] = '\0';
    snprintf(out, n, "%s", dirname(exe));
}

static int is_dcm(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".dcm") == 0;
}

/* The series: made with dcmgen when the folder has none. */
static int load_series(const char *dir, struct dcm_dataset ***out, size_t *n)
{
    struct dirent **names;
    int k = scandir(dir, &names, is_dcm, alphasort);
    if (k <= 0) {
        char bin[PATH_MAX], cmd[2 * PATH_MAX + 64];
        exe_dir(bin, sizeof bin);
        snprintf(cmd, sizeof cmd, "'%s/../tests/dcmgen' ct --slices 400 --out '%s'", bin, dir);
        fprintf(stderr, "bench_deid: making the series: %s\n", cmd);
        if (system(cmd) != 0)
            return -1;
        k = scandir(dir, &names, is_dcm, alphasort);
        if (k <= 0)
            return -1;
    }
    *out = calloc((size_t)k, sizeof **out);
    *n = 0;
    for (int i = 0; i < k; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct ferry_error *err = NULL;
        struct dcm_dataset *ds = dcm_read_file(path, NULL, &err);
        if (!ds) {
            fprintf(stderr, "bench_deid: %s\n", ferry_error_message(err));
            ferry_error_free(err);
            return -1;
        }
        (*out)[(*n)++] = ds;
        free(names[i]);
    }
    free(names);
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, text, strlen(text));
    close(fd);
    return w == (ssize_t)strlen(text) ? 0 : -1;
}

struct bench {
    const char *label;
    struct work_pipeline *pipe;
    struct dcm_dataset **inputs;
    double best_run, best_total;   /* seconds for all instances */
    size_t bytes_out;
};

/* One pass over every instance; returns -1 on a failure. */
static int pass(const struct work_registry *reg, struct bench *b, size_t n, struct dcm_buf *buf)
{
    double run = 0, t0 = now();
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        struct ferry_error *err = NULL;
        double a = now();
        struct work_source *src = work_source_new(b->inputs[i], reg, "bench");
        struct dcm_dataset *out = NULL;
        struct work_result res;
        if (!src || work_pipeline_run(b->pipe, src, &out, &res, &err) < 0 || !out) {
            fprintf(stderr, "bench_deid: %s: instance %zu: %s%s\n", b->label, i,
                    ferry_error_message(err), out ? "" : res.reason);
            ferry_error_free(err);
            work_source_unref(src);
            return -1;
        }
        run += now() - a;
        buf->len = 0;
        if (dcm_write_buf(out, dcm_dataset_transfer_syntax(out), 0, buf, &err) < 0) {
            fprintf(stderr, "bench_deid: %s: writing: %s\n", b->label, ferry_error_message(err));
            ferry_error_free(err);
            return -1;
        }
        bytes += buf->len;
        dcm_dataset_unref(out);
        work_source_unref(src);
    }
    double total = now() - t0;
    if (b->best_run == 0 || run < b->best_run)
        b->best_run = run;
    if (b->best_total == 0 || total < b->best_total)
        b->best_total = total;
    b->bytes_out = bytes;
    return 0;
}

static struct work_pipeline *pipeline(const struct work_registry *reg, enum work_step_kind kind,
                                      const char *name, const struct ferry_param *params,
                                      uint32_t n)
{
    struct work_step_spec s = { kind, name, params, n };
    int bs, bp;
    struct ferry_error *err = NULL;
    struct work_pipeline *p = work_pipeline_new(reg, &s, 1, &bs, &bp, &err);
    if (!p)
        fprintf(stderr, "bench_deid: %s: %s\n", name, ferry_error_message(err));
    ferry_error_free(err);
    return p;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "reps", required_argument, NULL, 'r' },
        { "plugin-dir", required_argument, NULL, 'p' },
        { "only", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = "perf/out/ct400", *only = NULL;
    int reps = 3, c;
    char plugin_dir[PATH_MAX];
    exe_dir(plugin_dir, sizeof plugin_dir);
    strncat(plugin_dir, "/../plugins", sizeof plugin_dir - strlen(plugin_dir) - 1);
    while ((c = getopt_long(argc, argv, "d:r:p:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'r': reps = atoi(optarg); break;
        case 'p': snprintf(plugin_dir, sizeof plugin_dir, "%s", optarg); break;
        case 'o': only = optarg; break;
        default:
            fprintf(stderr, "usage: bench_deid [--dir DIR] [--reps N] [--plugin-dir DIR] "
                            "[--only deid|mask|jpeg-ls]\n");
            return 2;
        }
    }
    if (reps < 1)
        reps = 1;
    ferry_log_set_level(FERRY_LOG_ERROR);

    struct dcm_dataset **series = NULL, **burned = NULL;
    size_t n = 0;
    char tmp[] = "/tmp/bench-deid-XXXXXX";
    if (load_series(dir, &series, &n) < 0 || n == 0 || !mkdtemp(tmp)) {
        fprintf(stderr, "bench_deid: no series in %s\n", dir);
        return 1;
    }
    uint64_t rows = 0, cols = 0;
    dcm_dataset_get_uint(series[0], DCM_TAG_Rows, 0, &rows);
    dcm_dataset_get_uint(series[0], DCM_TAG_Columns, 0, &cols);
    char manufacturer[65] = "";
    dcm_dataset_get_cstr(series[0], DCM_TAG_Manufacturer, 0, manufacturer, sizeof manufacturer);
    char secret[PATH_MAX], masks[PATH_MAX], mask_text[256];
    snprintf(secret, sizeof secret, "%s/secret", tmp);
    snprintf(masks, sizeof masks, "%s/masks.tsv", tmp);
    snprintf(mask_text, sizeof mask_text, "%s\t*\t%ux%u\t0,0,%u,32; 0,%u,%u,24\n",
             manufacturer, (unsigned)rows, (unsigned)cols, (unsigned)cols,
             (unsigned)rows - 24, (unsigned)cols / 2);
    if (write_file(secret, "bench-deid-secret-0123456789abcdefghijklmnop\n") < 0 ||
        write_file(masks, mask_text) < 0) {
        fprintf(stderr, "bench_deid: cannot write in %s\n", tmp);
        return 1;
    }
    /* The same instances, with Burned In Annotation YES, for the masking run. */
    burned = calloc(n, sizeof *burned);
    for (size_t i = 0; i < n; i++) {
        burned[i] = dcm_dataset_clone(series[i]);
        dcm_dataset_set_string(burned[i], DCM_TAG_BurnedInAnnotation, DCM_VR_CS, "YES");
    }

    struct ferry_error *err = NULL;
    struct work_registry *reg = work_registry_load_all(plugin_dir, work_host(), &err);
    if (!reg) {
        fprintf(stderr, "bench_deid: %s\n", ferry_error_message(err));
        return 1;
    }
    struct ferry_param p_deid[] = { { "secret-file", secret } };
    struct ferry_param p_mask[] = { { "secret-file", secret }, { "burned-in", "mask" },
                                    { "mask-file", masks } };
    struct bench b[3] = {
        { "deid", pipeline(reg, WORK_STEP_PLUGIN, "deid", p_deid, 1), series, 0, 0, 0 },
        { "deid + mask", pipeline(reg, WORK_STEP_PLUGIN, "deid", p_mask, 3), burned, 0, 0, 0 },
        { "jpeg-ls-lossless", pipeline(reg, WORK_STEP_COMPRESS, "jpeg-ls-lossless", NULL, 0),
          series, 0, 0, 0 },
    };
    if (!b[0].pipe || !b[1].pipe || !b[2].pipe)
        return 1;

    struct dcm_buf buf = { 0 };
    size_t in_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        buf.len = 0;
        dcm_write_buf(series[i], dcm_dataset_transfer_syntax(series[i]), 0, &buf, NULL);
        in_bytes += buf.len;
    }
    printf("series: %zu instances of %ux%u from %s, %.1f MB; best of %d repetitions, one "
           "thread\n",
           n, (unsigned)rows, (unsigned)cols, dir, (double)in_bytes / 1e6, reps);
    /* --only: one pipeline, for a profiler */
    static const char *const short_names[3] = { "deid", "mask", "jpeg-ls" };
    for (int m = 0; m < 2; m++) {
        if (m == 1) {
            /* malloc keeps what is freed: no page faults for each new frame */
            mallopt(M_TRIM_THRESHOLD, 256 << 20);
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
        }
        for (int k = 0; k < 3; k++)
            b[k].best_run = b[k].best_total = 0;
        for (int r = 0; r < reps; r++)
            for (int k = 0; k < 3; k++)
                if ((!only || strcmp(only, short_names[k]) == 0) &&
                    pass(reg, &b[k], n, &buf) < 0)
                    return 1;
        printf("\nmalloc: %s\n", m == 0 ? "glibc defaults (freed memory goes back to the kernel)"
                                        : "M_TRIM_THRESHOLD 256 MiB, M_MMAP_THRESHOLD 32 MiB");
        if (only) {
            for (int k = 0; k < 3; k++)
                if (strcmp(only, short_names[k]) == 0)
                    printf("%s: %.0f instances/s, %.3f ms/instance (%.3f with write)\n",
                           b[k].label, (double)n / b[k].best_run,
                           1e3 * b[k].best_run / (double)n, 1e3 * b[k].best_total / (double)n);
            continue;
        }
        printf("%-18s %12s %14s %12s %16s %12s\n", "pipeline", "instances/s", "ms/instance",
               "% of encode", "with write ms", "% of encode");
        for (int k = 0; k < 3; k++)
            printf("%-18s %12.0f %14.3f %11.2f%% %16.3f %11.2f%%\n", b[k].label,
                   (double)n / b[k].best_run, 1e3 * b[k].best_run / (double)n,
                   100.0 * b[k].best_run / b[2].best_run, 1e3 * b[k].best_total / (double)n,
                   100.0 * b[k].best_total / b[2].best_total);
        printf("deid / jpeg-ls-lossless encode: %.2f%% (header only), %.2f%% (with masking); "
               "aim: under 5%%\n",
               100.0 * b[0].best_run / b[2].best_run, 100.0 * b[1].best_run / b[2].best_run);
    }

    dcm_buf_free(&buf);
    for (int k = 0; k < 3; k++)
        work_pipeline_free(b[k].pipe);
    work_registry_free(reg);
    for (size_t i = 0; i < n; i++) {
        dcm_dataset_unref(series[i]);
        dcm_dataset_unref(burned[i]);
    }
    free(series);
    free(burned);
    unlink(secret);
    unlink(masks);
    rmdir(tmp);
    return 0;
}
