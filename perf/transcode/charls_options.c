/* charls_options: what CharLS's own options do to JPEG-LS lossless speed and
 * ratio on raw frames (512x512, 12 of 16 bits, as perf/transcode/run.py
 * writes them). Not a test; the figures are in README.md.
 *
 *   charls_options [--reps N] FILE...
 *
 * Each variant encodes (and decodes) every frame, bare CharLS, CPU time of
 * the process; the variants take turns frame by frame so that the load of
 * the shared machine falls on all of them alike. Medians per frame. */
#include <charls/charls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define W 512
#define H 512
#define FRAME ((size_t)W * H * 2)

struct variant {
    const char *name;
    charls_jpegls_pc_parameters pc; /* all zero: the standard's defaults */
    charls_encoding_options options;
};

/* For 12-bit samples T.87 C.2.4.1.1 gives T1, T2, T3 = 18, 67, 276 and RESET
 * 64; the variants scale them. */
static const struct variant variants[] = {
    { "standard thresholds", { 0, 0, 0, 0, 0 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "standard, written out (LSE)", { 4095, 18, 67, 276, 64 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "thresholds x1.5", { 4095, 27, 100, 414, 64 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "thresholds x2", { 4095, 36, 134, 552, 64 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "thresholds x3", { 4095, 54, 201, 828, 64 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "RESET 255", { 4095, 18, 67, 276, 255 }, CHARLS_ENCODING_OPTIONS_NONE },
    { "even size + JAI parameters", { 0, 0, 0, 0, 0 },
      CHARLS_ENCODING_OPTIONS_EVEN_DESTINATION_SIZE |
          CHARLS_ENCODING_OPTIONS_INCLUDE_PC_PARAMETERS_JAI },
};
#define NV (sizeof variants / sizeof variants[0])

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

static size_t encode(const struct variant *v, const uint8_t *in, uint8_t *out, size_t cap)
{
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    charls_frame_info fi = { W, H, 12, 1 };
    size_t written = 0;
    if (!e || charls_jpegls_encoder_set_frame_info(e, &fi) ||
        (v->pc.maximum_sample_value &&
         charls_jpegls_encoder_set_preset_coding_parameters(e, &v->pc)) ||
        charls_jpegls_encoder_set_encoding_options(e, v->options) ||
        charls_jpegls_encoder_set_destination_buffer(e, out, cap) ||
        charls_jpegls_encoder_encode_from_buffer(e, in, FRAME, 0) ||
        charls_jpegls_encoder_get_bytes_written(e, &written)) {
        fprintf(stderr, "%s: CharLS refused to encode\n", v->name);
        exit(1);
    }
    charls_jpegls_encoder_destroy(e);
    return written;
}

static void decode(const uint8_t *in, size_t len, uint8_t *out)
{
    charls_jpegls_decoder *d = charls_jpegls_decoder_create();
    if (!d || charls_jpegls_decoder_set_source_buffer(d, in, len) ||
        charls_jpegls_decoder_read_header(d) ||
        charls_jpegls_decoder_decode_to_buffer(d, out, FRAME, 0)) {
        fprintf(stderr, "CharLS refused to decode\n");
        exit(1);
    }
    charls_jpegls_decoder_destroy(d);
}

int main(int argc, char **argv)
{
    int reps = 3, first = 1;
    if (argc > 2 && strcmp(argv[1], "--reps") == 0) {
        reps = atoi(argv[2]);
        first = 3;
    }
    size_t n = (size_t)(argc - first);
    if (n == 0 || reps < 1) {
        fprintf(stderr, "usage: charls_options [--reps N] FILE...\n");
        return 2;
    }
    uint8_t **frames = calloc(n, sizeof *frames);
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(argv[first + (int)i], "rb");
        frames[i] = malloc(FRAME);
        if (!f || fread(frames[i], 1, FRAME, f) != FRAME) {
            fprintf(stderr, "%s: cannot read %zu bytes\n", argv[first + (int)i], FRAME);
            return 1;
        }
        fclose(f);
    }
    size_t cap = 2 * FRAME, total = (size_t)reps * n;
    uint8_t *coded = malloc(cap), *back = malloc(FRAME);
    double *te[NV], *td[NV];
    size_t bytes[NV] = { 0 };
    for (size_t v = 0; v < NV; v++) {
        te[v] = calloc(total, sizeof(double));
        td[v] = calloc(total, sizeof(double));
    }
    size_t k = 0;
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++, k++)
            for (size_t j = 0; j < NV; j++) {
                size_t v = (j + i + (size_t)r) % NV; /* who goes first turns */
                double t0 = cpu_now();
                size_t len = encode(&variants[v], frames[i], coded, cap);
                double t1 = cpu_now();
                decode(coded, len, back);
                td[v][k] = cpu_now() - t1;
                te[v][k] = t1 - t0;
                if (memcmp(back, frames[i], FRAME) != 0) {
                    fprintf(stderr, "%s: not lossless\n", variants[v].name);
                    return 1;
                }
                if (r == 0)
                    bytes[v] += len;
            }
    printf("%zu frames x %d passes, bare CharLS %d.%d.%d, lossless; MB/s of native pixels per "
           "core, medians\n",
           n, reps, CHARLS_VERSION_MAJOR, CHARLS_VERSION_MINOR, CHARLS_VERSION_PATCH);
    printf("%-30s %8s %8s %7s\n", "variant", "encode", "decode", "ratio");
    for (size_t v = 0; v < NV; v++)
        printf("%-30s %8.1f %8.1f %7.3f\n", variants[v].name, FRAME / median(te[v], total) / 1e6,
               FRAME / median(td[v], total) / 1e6, (double)FRAME * (double)n / (double)bytes[v]);
    return 0;
}
