/* bench_codecs: encode and decode speed (MB/s of native pixels per core)
 * and compression ratio of the codec plugins, each beside its bare library
 * called directly on the same frames: the difference is the plugin's
 * overhead (ABI, checks, copies). Not a test: run it by hand.
 *
 *   bench_codecs [--reps N] [--frames N] [--only LABEL]
 *   bench_codecs --raw GEOM FILE...    frames from files (e.g. a CT series
 *                                      dumped to raw), GEOM as in codec_tool:
 *                                      rows,cols,spp,ba,bs,pr,pc,PHOTOMETRIC
 *
 * Without --raw the frames are synthetic CT-like slices (512x512, 16 bits
 * allocated, 12 stored, unsigned: air, a body with lungs, spine and organs,
 * Gaussian noise of 20 HU in tissue, 12 in air). The JPEG rows use the same slices
 * windowed to 8 bits (W 400 / L 40), as a viewer would show them.
 *
 * Times are CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), so "per
 * core" holds on a shared machine; each figure is the median of --reps
 * passes over all frames.
 *
 * To extend: a row of `benches` is a plugin codec with its parameters and
 * a bare encode/decode pair; other anchors (DCMTK's dcmcjpls on the same
 * series, say) can be timed around a system() call in the same loop. */
#include "codecutil.h"
#include "plugin_harness.h"
#include "rle-private.h"

#include <charls/charls.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* after stdio.h */
#include <jpeglib.h>

#define BENCH_MAX_FRAMES 512

struct frames {
    struct ferry_frame g;
    uint8_t *px[BENCH_MAX_FRAMES];
    size_t n;
};

/* ---- synthetic CT ------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static bool in_ellipse(double x, double y, double cx, double cy, double rx, double ry)
{
    double dx = (x - cx) / rx, dy = (y - cy) / ry;
    return dx * dx + dy * dy <= 1.0;
}

/* HU at (x, y) of slice k, before noise. */
static double ct_hu(double x, double y, unsigned k, double *sigma)
{
    double t = k * 0.7;
    *sigma = 12;
    if (!in_ellipse(x, y, 256, 256, 250, 250))
        return -2000; /* outside the field of view: stored as 0 */
    if (!in_ellipse(x, y, 256, 262, 200 + 3 * sin(t), 150))
        return -1000; /* air */
    *sigma = 20;
    if (in_ellipse(x, y, 256, 370, 22, 20))
        return 700 + 300 * in_ellipse(x, y, 256, 370, 14, 12); /* vertebra */
    if (in_ellipse(x, y, 180, 240, 60 + 5 * cos(t), 80) ||
        in_ellipse(x, y, 332, 240, 60, 80 + 5 * sin(t)))
        return -850 + 40 * sin(x / 9.0) * cos(y / 11.0); /* lungs */
    if (in_ellipse(x, y, 256, 300, 45, 30))
        return 45; /* heart */
    if (!in_ellipse(x, y, 256, 262, 188, 138))
        return -100; /* fat */
    return 40 + 15 * sin((x + y) / 40.0 + t);
}

static void synth_ct(struct frames *f, size_t n)
{
    f->g = (struct ferry_frame){.size = sizeof f->g, .rows = 512, .columns = 512,
                                .samples_per_pixel = 1, .bits_allocated = 16, .bits_stored = 12,
                                .high_bit = 11, .photometric = "MONOCHROME2"};
    for (size_t k = 0; k < n; k++) {
        uint16_t *p = malloc(512 * 512 * 2);
        for (int y = 0; y < 512; y++)
            for (int x = 0; x < 512; x++) {
                double sigma, hu = ct_hu(x, y, (unsigned)k, &sigma);
                double v = hu + 1024 + (hu > -2000 ? sigma * gauss() : 0); /* intercept -1024 */
                p[y * 512 + x] = (uint16_t)(v < 0 ? 0 : v > 4095 ? 4095 : lround(v));
            }
        f->px[k] = (uint8_t *)p;
    }
    f->n = n;
}

/* The same slices through a soft-tissue window, 8 bits. */
static void window8(const struct frames *in, struct frames *out)
{
    out->g = in->g;
    out->g.bits_allocated = out->g.bits_stored = 8;
    out->g.high_bit = 7;
    size_t pixels = (size_t)in->g.rows * in->g.columns;
    for (size_t k = 0; k < in->n; k++) {
        const uint8_t *s = in->px[k];
        uint8_t *d = malloc(pixels);
        for (size_t i = 0; i < pixels; i++) {
            uint16_t raw = (uint16_t)(s[2 * i] | s[2 * i + 1] << 8);
            double hu = raw - 1024.0, v = (hu - (40 - 200)) * 255.0 / 400.0;
            d[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
        }
        out->px[k] = d;
    }
    out->n = in->n;
}

static int load_raw(struct frames *f, const char *geom, char **files, int n)
{
    unsigned v[7];
    char ph[24];
    if (sscanf(geom, "%u,%u,%u,%u,%u,%u,%u,%23s", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &v[6], ph) != 8)
        return -EINVAL;
    f->g = (struct ferry_frame){.size = sizeof f->g, .rows = v[0], .columns = v[1],
                                .samples_per_pixel = (uint16_t)v[2],
                                .bits_allocated = (uint16_t)v[3], .bits_stored = (uint16_t)v[4],
                                .high_bit = (uint16_t)(v[4] - 1),
                                .pixel_representation = (uint16_t)v[5],
                                .planar_configuration = (uint16_t)v[6]};
    memcpy(f->g.photometric, ph, sizeof ph);
    size_t size = codec_frame_bytes(&f->g);
    for (int i = 0; i < n && f->n < BENCH_MAX_FRAMES; i++) {
        FILE *fp = fopen(files[i], "rb");
        uint8_t *p = malloc(size);
        if (!fp || !p || fread(p, 1, size, fp) != size) {
            fprintf(stderr, "%s: cannot read %zu bytes\n", files[i], size);
            if (fp)
                fclose(fp);
            free(p);
            return -EIO;
        }
        fclose(fp);
        f->px[f->n++] = p;
    }
    return f->n ? 0 : -ENOENT;
}

/* ---- bare libraries ----------------------------------------------------- */

/* Each bare coder gets a buffer of `cap` bytes made once outside the clock
 * (the most favourable use of the library) and returns the bytes written. */
typedef size_t (*bare_encode_fn)(const struct ferry_frame *g, const uint8_t *in, uint8_t *out,
                                 size_t cap, int param);
typedef void (*bare_decode_fn)(const struct ferry_frame *g, const uint8_t *in, size_t len,
                               uint8_t *out);

static size_t bare_jls_encode(const struct ferry_frame *g, const uint8_t *in, uint8_t *out,
                              size_t cap, int near)
{
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    charls_frame_info fi = {g->columns, g->rows, g->bits_stored, g->samples_per_pixel};
    size_t written = 0;
    if (charls_jpegls_encoder_set_frame_info(e, &fi) ||
        charls_jpegls_encoder_set_near_lossless(e, near) ||
        charls_jpegls_encoder_set_destination_buffer(e, out, cap) ||
        charls_jpegls_encoder_encode_from_buffer(e, in, codec_frame_bytes(g), 0) ||
        charls_jpegls_encoder_get_bytes_written(e, &written))
        abort();
    charls_jpegls_encoder_destroy(e);
    return written;
}

static void bare_jls_decode(const struct ferry_frame *g, const uint8_t *in, size_t len,
                            uint8_t *out)
{
    charls_jpegls_decoder *d = charls_jpegls_decoder_create();
    if (charls_jpegls_decoder_set_source_buffer(d, in, len) ||
        charls_jpegls_decoder_read_header(d) ||
        charls_jpegls_decoder_decode_to_buffer(d, out, codec_frame_bytes(g), 0))
        abort();
    charls_jpegls_decoder_destroy(d);
}

static size_t bare_jpeg_encode(const struct ferry_frame *g, const uint8_t *in, uint8_t *out,
                               size_t cap, int quality)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned char *buf = out;
    unsigned long len = cap;
    jpeg_mem_dest(&ci, &buf, &len);
    ci.image_width = g->columns;
    ci.image_height = g->rows;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    ci.write_JFIF_header = FALSE;
    ci.optimize_coding = TRUE;
    ci.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(in + (size_t)ci.next_scanline * g->columns);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    if (buf != out) /* it outgrew the buffer: never with the cap given */
        abort();
    return len;
}

static void bare_jpeg_decode(const struct ferry_frame *g, const uint8_t *in, size_t len,
                             uint8_t *out)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, in, len);
    jpeg_read_header(&ci, TRUE);
    ci.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&ci);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = out + (size_t)ci.output_scanline * g->columns;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
}

/* RLE has no library: "bare" is our codec core without the plugin ABI. */
static size_t bare_rle_encode(const struct ferry_frame *g, const uint8_t *in, uint8_t *out,
                              size_t cap, int unused)
{
    (void)cap;
    (void)unused;
    static uint8_t row[65536];
    return rle_encode(g, in, out, row);
}

static void bare_rle_decode(const struct ferry_frame *g, const uint8_t *in, size_t len,
                            uint8_t *out)
{
    if (rle_decode(g, in, len, out, NULL))
        abort();
}

/* ---- the table ------------------------------------------------------------ */

struct bench {
    const char *label;
    const char *plugin, *codec;
    const char *params[2]; /* "k=v" */
    bool eight_bit;        /* runs on the 8-bit frames */
    bare_encode_fn bare_encode;
    bare_decode_fn bare_decode;
    int bare_param;
};

static const struct bench benches[] = {
    {"jpeg-ls lossless", "jpegls", "jpeg-ls-lossless", {NULL}, false, bare_jls_encode,
     bare_jls_decode, 0},
    {"jpeg-ls near=2", "jpegls", "jpeg-ls-near-lossless", {"near=2"}, false, bare_jls_encode,
     bare_jls_decode, 2},
    {"rle lossless", "rle", "rle-lossless", {NULL}, false, bare_rle_encode, bare_rle_decode, 0},
    {"jpeg baseline q90 (8-bit)", "jpeg", "jpeg-baseline", {"quality=90"}, true,
     bare_jpeg_encode, bare_jpeg_decode, 90},
    {"rle lossless (8-bit)", "rle", "rle-lossless", {NULL}, true, bare_rle_encode,
     bare_rle_decode, 0},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
    double enc_plugin, enc_bare, dec_plugin, dec_bare; /* seconds per pass, medians */
    double ratio;
};

static int run(const struct bench *b, const struct frames *f, int reps, struct result *res)
{
    char err[512];
    struct harness_plugin *p = harness_load(harness_plugin_path(b->plugin), err, sizeof err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    const struct ferry_codec *c = harness_codec(p, b->codec);
    struct ferry_param params[2];
    char store[2][64];
    uint32_t np = 0;
    for (; np < 2 && b->params[np]; np++) {
        snprintf(store[np], sizeof store[np], "%s", b->params[np]);
        char *eq = strchr(store[np], '=');
        *eq = 0;
        params[np] = (struct ferry_param){store[np], eq + 1};
    }
    void *state = NULL;
    struct ferry_diag diag = {.size = sizeof diag, .param = -1};
    if (c->configure(np ? params : NULL, np, &state, &diag)) {
        fprintf(stderr, "%s: %s\n", b->label, diag.message);
        return -1;
    }
    size_t raw = codec_frame_bytes(&f->g), cap = 4 * raw + 65536;
    struct ferry_encoded enc[BENCH_MAX_FRAMES];
    uint8_t *bare_out = malloc(cap), *dec = malloc(raw), *bare_enc[BENCH_MAX_FRAMES];
    size_t bare_len[BENCH_MAX_FRAMES], total_enc = 0;
    double *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = calloc((size_t)reps, sizeof(double));
    for (size_t k = 0; k < f->n; k++) {
        enc[k] = (struct ferry_encoded){.size = sizeof enc[k]};
        bare_enc[k] = malloc(cap);
    }
    /* Plugin and bare alternate which goes first, so that neither always
     * finds the caches the other left. */
    for (int r = 0; r < reps; r++) {
        for (int half = 0; half < 2; half++) {
            bool plugin = (half == 0) == (r % 2 == 0);
            double t0 = now();
            for (size_t k = 0; k < f->n; k++) {
                if (!plugin) {
                    bare_len[k] = b->bare_encode(&f->g, f->px[k], bare_enc[k], cap, b->bare_param);
                    continue;
                }
                free(enc[k].bytes);
                enc[k] = (struct ferry_encoded){.size = sizeof enc[k]};
                if (c->encode(state, harness_host(), &f->g, f->px[k], raw, &enc[k], &diag)) {
                    fprintf(stderr, "%s: %s\n", b->label, diag.message);
                    abort();
                }
            }
            t[plugin ? 0 : 1][r] = now() - t0;
        }
        for (int half = 0; half < 2; half++) {
            bool plugin = (half == 0) == (r % 2 == 0);
            double t0 = now();
            for (size_t k = 0; k < f->n; k++) {
                if (!plugin) {
                    b->bare_decode(&f->g, bare_enc[k], bare_len[k], bare_out);
                    continue;
                }
                struct ferry_frame og = enc[k].frame;
                if (c->decode(state, &enc[k].frame, enc[k].bytes, enc[k].length, dec, raw, &og,
                              &diag))
                    abort();
            }
            t[plugin ? 2 : 3][r] = now() - t0;
        }
    }
    for (size_t k = 0; k < f->n; k++) {
        total_enc += enc[k].length;
        free(enc[k].bytes);
        free(bare_enc[k]);
    }
    res->enc_plugin = median(t[0], reps);
    res->enc_bare = median(t[1], reps);
    res->dec_plugin = median(t[2], reps);
    res->dec_bare = median(t[3], reps);
    res->ratio = (double)(raw * f->n) / (double)total_enc;
    for (int i = 0; i < 4; i++)
        free(t[i]);
    free(bare_out);
    free(dec);
    c->release(state);
    harness_unload(p);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 9, nframes = 16;
    const char *only = NULL;
    static struct frames ct, ct8;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
            nframes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--raw") == 0 && i + 2 < argc) {
            if (load_raw(&ct, argv[i + 1], argv + i + 2, argc - i - 2)) {
                fprintf(stderr, "cannot load the raw frames\n");
                return 1;
            }
            break;
        } else {
            fprintf(stderr, "usage: bench_codecs [--reps N] [--frames N] [--only LABEL] "
                            "[--raw GEOM FILE...]\n");
            return 2;
        }
    }
    if (reps < 1 || nframes < 1 || nframes > BENCH_MAX_FRAMES)
        return 2;
    if (!ct.n)
        synth_ct(&ct, (size_t)nframes);
    bool have8 = ct.g.bits_allocated == 16 && ct.g.samples_per_pixel == 1;
    if (have8)
        window8(&ct, &ct8);
    printf("frames: %zu x %ux%u, %u/%u bits, %s; %d passes, medians; MB = 10^6 bytes of native "
           "pixels; CPU time of one thread\n",
           ct.n, ct.g.rows, ct.g.columns, ct.g.bits_allocated, ct.g.bits_stored, ct.g.photometric,
           reps);
    printf("%-27s %6s | %9s %9s %6s | %9s %9s %6s\n", "codec", "ratio", "enc MB/s", "bare",
           "ovh", "dec MB/s", "bare", "ovh");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        const struct bench *b = &benches[i];
        if (only && !strstr(b->label, only))
            continue;
        const struct frames *f = b->eight_bit ? &ct8 : &ct;
        if (b->eight_bit && !have8)
            continue;
        struct result r;
        if (run(b, f, reps, &r))
            return 1;
        double mb = (double)codec_frame_bytes(&f->g) * (double)f->n / 1e6;
        printf("%-27s %6.2f | %9.1f %9.1f %5.1f%% | %9.1f %9.1f %5.1f%%\n", b->label, r.ratio,
               mb / r.enc_plugin, mb / r.enc_bare, 100.0 * (r.enc_plugin / r.enc_bare - 1),
               mb / r.dec_plugin, mb / r.dec_bare, 100.0 * (r.dec_plugin / r.dec_bare - 1));
        fflush(stdout);
    }
    for (size_t k = 0; k < ct.n; k++)
        free(ct.px[k]);
    for (size_t k = 0; k < ct8.n; k++)
        free(ct8.px[k]);
    return 0;
}
