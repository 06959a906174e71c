/* Unit tests of the jpegll plugin (build/plugins/jpegll.so): parameters,
 * lossless round trips over the geometry matrix with every predictor, the
 * precision written per geometry, 12-bit and 8-bit lossy quality, broken
 * input; and the JPEG header scanner (jpeg_scan.c, compiled in). */
#include "codec_test.h"
#include "jpeg_scan.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_plugin *plug;

static void setup(void) { plug = ct_load("jpegll"); }
static void teardown(void) { harness_unload(plug); }

static const struct ferry_codec *codec(const char *key) { return ct_find(plug, key); }

START_TEST(test_load)
{
    const struct ferry_plugin *d = harness_plugin_desc(plug);
    ck_assert_str_eq(d->name, "jpegll");
    ck_assert_uint_eq(d->n_codecs, 3);
    ck_assert_str_eq(codec("jpeg-lossless")->transfer_syntax, "1.2.840.10008.1.2.4.57");
    ck_assert_str_eq(codec("jpeg-lossless-sv1")->transfer_syntax, "1.2.840.10008.1.2.4.70");
    ck_assert_str_eq(codec("jpeg-extended")->transfer_syntax, "1.2.840.10008.1.2.4.51");
    ck_assert_uint_eq(codec("jpeg-extended")->flags,
                      FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY);
    ck_assert_ptr_null(harness_codec(plug, "1.2.840.10008.1.2.4.50"));
}
END_TEST

START_TEST(test_params)
{
    static const struct ct_param_case cases[] = {
        {"jpeg-lossless", {{"predictor", "7"}}, 1, -2, ""},
        {"jpeg-extended", {{"quality", "75"}}, 1, -2, ""},
        {"jpeg-lossless-sv1", {{0}}, 0, -2, ""},
        {"jpeg-lossless", {{"predictor", "0"}}, 1, 0,
         "predictor: '0' is not an integer from 1 to 7"},
        {"jpeg-lossless", {{"predictor", "8"}}, 1, 0,
         "predictor: '8' is not an integer from 1 to 7"},
        {"jpeg-extended", {{"quality", "101"}}, 1, 0,
         "quality: '101' is not an integer from 1 to 100"},
        {"jpeg-extended", {{"quality", "90"}, {"predictor", "1"}}, 2, 1,
         "unknown parameter 'predictor' (this codec takes quality)"},
        {"jpeg-lossless-sv1", {{"predictor", "2"}}, 1, 0,
         "unknown parameter 'predictor' (this codec takes no parameters)"},
        {"jpeg-lossless", {{"quality", "2"}}, 1, 0,
         "unknown parameter 'quality' (this codec takes predictor)"},
    };
    ct_check_param_cases(plug, cases, sizeof cases / sizeof cases[0]);
}
END_TEST

/* The SOF precision the plugin writes for a geometry (see jpegll.cpp). */
static unsigned want_precision(const struct ferry_frame *g)
{
    if (g->bits_allocated == 8)
        return 8;
    return (!g->pixel_representation && g->bits_stored <= 12) ? 12 : 16;
}

struct matrix_ctx {
    const char *name;
    int predictor; /* 0: none given */
};

/* Lossless JPEG keeps the photometric interpretation; the stream is SOF3
 * with the predictor asked for and the precision of want_precision. */
static void lossless_check(void *ctx, const struct rt_case *rc, const char *desc,
                           const struct rt_result *r, const uint8_t *cs, size_t len)
{
    const struct matrix_ctx *m = ctx;
    int predictor = m->predictor;
    const struct ferry_frame *g = &rc->g;
    ck_assert_str_eq(r->coded.photometric, g->photometric);
    ck_assert_str_eq(r->decoded.photometric, g->photometric);
    ck_assert_uint_eq(r->decoded.planar_configuration, 0);
    ck_assert_uint_eq(r->coded.bits_stored, g->bits_stored);
    struct jpeg_frame_info fi;
    char msg[200];
    ck_assert_msg(jpeg_scan(cs, len, &fi, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(fi.sof, 0xc3);
    ck_assert_uint_eq(fi.predictor, predictor ? predictor : 1);
    ck_assert_msg(fi.precision == want_precision(g), "%s: P=%u", desc, fi.precision);
    ck_assert_uint_eq(len % 2, 0);
    if (g->rows == 511 && rc->noise == 0 && g->samples_per_pixel == 1 &&
        !strcmp(g->photometric, "MONOCHROME2"))
        fprintf(stderr, "%s p%d %-38s ratio %.2f\n", m->name, predictor ? predictor : 1, desc,
                (double)r->raw_bytes / (double)r->coded_bytes);
}

static void lossless_matrix(const char *name, int predictor)
{
    const struct ferry_codec *c = codec(name);
    char pv[4];
    snprintf(pv, sizeof pv, "%d", predictor);
    struct ferry_param p[] = {{"predictor", pv}};
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(c, p, predictor ? 1 : 0, &st, &d), 0);
    static struct rt_case cases[400];
    size_t n = rt_matrix(cases, 400, RT_SIGNED_COLOUR);
    char label[64];
    snprintf(label, sizeof label, "%s p%d", name, predictor);
    struct matrix_ctx m = {name, predictor};
    ct_lossless_matrix(cases, n, c, st, c, st, label, lossless_check, &m);
    c->release(st);
}

START_TEST(test_lossless_sv1)
{
    lossless_matrix("jpeg-lossless-sv1", 0);
}
END_TEST

START_TEST(test_lossless_predictors)
{
    /* The full matrix with predictor 1 and 7 (the extremes of the
     * predictor formulas), a smaller check of 2..6 below. */
    lossless_matrix("jpeg-lossless", 1);
    lossless_matrix("jpeg-lossless", 7);
    const struct ferry_codec *c = codec("jpeg-lossless");
    for (int k = 2; k <= 6; k++) {
        char pv[4];
        snprintf(pv, sizeof pv, "%d", k);
        struct ferry_param p[] = {{"predictor", pv}};
        struct ferry_diag d;
        void *st;
        ck_assert_int_eq(ct_configure_with(c, p, 1, &st, &d), 0);
        static const struct {
            uint16_t spp, ba, bs, sgn;
            const char *pi;
        } gs[] = {{1, 16, 12, 1, "MONOCHROME2"}, {3, 8, 8, 0, "RGB"}, {1, 16, 16, 0, "MONOCHROME2"}};
        for (size_t j = 0; j < 3; j++) {
            struct ferry_frame g = rt_geom(37, 61, gs[j].spp, gs[j].ba, gs[j].bs, gs[j].sgn, 0, gs[j].pi);
            uint8_t *frame = harness_synth_frame(&g, (uint32_t)(k * 10 + j), 500);
            struct rt_result r;
            ck_assert_msg(rt_run(c, st, c, st, &g, frame, &r, NULL, NULL) == 0, "%s", r.msg);
            ck_assert_msg(r.exact, "predictor %d case %zu", k, j);
            free(frame);
        }
        c->release(st);
    }
}
END_TEST

START_TEST(test_high_bits)
{
    const struct ferry_codec *c = codec("jpeg-lossless-sv1");
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    for (int sgn = 0; sgn < 2; sgn++) {
        struct ferry_frame g = rt_geom(19, 23, 1, 16, 10, (uint16_t)sgn, 0, "MONOCHROME2");
        uint8_t *clean = harness_synth_frame(&g, 5, 100);
        size_t n = harness_frame_size(&g);
        uint8_t *dirty = malloc(n);
        memcpy(dirty, clean, n);
        for (size_t i = 1; i < n; i += 2)
            dirty[i] = (uint8_t)((dirty[i] & 0x03) | ((i * 11) & 0xfc));
        ct_check_high_bits(c, st, &g, dirty, clean);
        free(dirty);
        free(clean);
    }
    c->release(st);
}
END_TEST

START_TEST(test_lossy)
{
    const struct ferry_codec *c = codec("jpeg-extended");
    /* 12-bit CT-like 512x512 frame (unsigned, noise +-20). Floors: measured
     * with DCMTK 3.6.7's 12-bit IJG codec (q90 60.5, q75 54.1, q50 52.0 dB)
     * less 3 dB, a regression guard; all above 45 dB over 12 bits. */
    static const struct {
        const char *q;
        double floor;
    } cases[] = {{"90", 57.5}, {"75", 51.0}, {"50", 49.0}, {NULL, 57.5}};
    struct ferry_frame g = rt_geom(512, 512, 1, 16, 12, 0, 0, "MONOCHROME2");
    uint8_t *frame = harness_synth_frame(&g, 11, 20);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ferry_param p[] = {{"quality", cases[i].q}};
        struct ferry_diag d;
        void *st;
        ck_assert_int_eq(ct_configure_with(c, p, cases[i].q ? 1 : 0, &st, &d), 0);
        struct rt_result r;
        uint8_t *cs;
        size_t len;
        ck_assert_msg(rt_run(c, st, c, st, &g, frame, &r, &cs, &len) == 0, "%s", r.msg);
        fprintf(stderr, "jpeg-extended 12-bit quality=%-7s ratio %6.2f PSNR %6.2f dB (floor %.1f)\n",
                cases[i].q ? cases[i].q : "default", (double)r.raw_bytes / r.coded_bytes, r.psnr,
                cases[i].floor);
        ck_assert_uint_eq(r.lossy, 1);
        ck_assert_msg(r.psnr >= cases[i].floor, "quality %s: PSNR %.2f", cases[i].q, r.psnr);
        struct jpeg_frame_info fi;
        char msg[200];
        ck_assert_int_eq(jpeg_scan(cs, len, &fi, msg, sizeof msg), 0);
        ck_assert_uint_eq(fi.sof, 0xc1); /* process 4: extended sequential Huffman */
        ck_assert_uint_eq(fi.precision, 12);
        ck_assert_uint_eq(r.coded.bits_stored, 12);
        ck_assert_uint_eq(r.coded.high_bit, 11);
        free(cs);
        c->release(st);
    }
    free(frame);

    /* 10 bits stored in 16 become Bits Stored 12 (PS3.5: 4.51 12-bit is
     * Bits Allocated 16, Stored 12, High Bit 11). */
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    g = rt_geom(64, 64, 1, 16, 10, 0, 0, "MONOCHROME1");
    frame = harness_synth_frame(&g, 2, 5);
    struct rt_result r;
    ck_assert_msg(rt_run(c, st, c, st, &g, frame, &r, NULL, NULL) == 0, "%s", r.msg);
    ck_assert_uint_eq(r.coded.bits_stored, 12);
    ck_assert_str_eq(r.coded.photometric, "MONOCHROME1");
    free(frame);

    /* 8-bit colour: RGB is coded YCbCr 4:2:2 and decodes back to RGB. */
    g = rt_geom(120, 160, 3, 8, 8, 0, 1, "RGB");
    frame = harness_synth_frame(&g, 3, 3);
    uint8_t *cs;
    size_t len;
    ck_assert_msg(rt_run(c, st, c, st, &g, frame, &r, &cs, &len) == 0, "%s", r.msg);
    fprintf(stderr, "jpeg-extended 8-bit RGB default ratio %.2f PSNR %.2f dB\n",
            (double)r.raw_bytes / r.coded_bytes, r.psnr);
    ck_assert_str_eq(r.coded.photometric, "YBR_FULL_422");
    ck_assert_str_eq(r.decoded.photometric, "RGB");
    ck_assert_uint_eq(r.decoded.planar_configuration, 0);
    ck_assert_msg(r.psnr >= 36.0, "RGB PSNR %.2f", r.psnr); /* measured 39.2 dB */
    struct jpeg_frame_info fi;
    char msg[200];
    ck_assert_int_eq(jpeg_scan(cs, len, &fi, msg, sizeof msg), 0);
    ck_assert_uint_eq(fi.precision, 8);
    ck_assert_uint_eq(fi.h[0], 2); /* 4:2:2 */
    ck_assert_uint_eq(fi.v[0], 1);
    free(cs);
    free(frame);
    c->release(st);
}
END_TEST

START_TEST(test_encode_errors)
{
    struct ferry_diag d;
    void *st;
    const struct ferry_codec *c = codec("jpeg-extended");
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    static uint8_t buf[64 * 64 * 3 * 2];
    struct ct_encode_case cases[] = {
        {rt_geom(8, 8, 1, 16, 12, 1, 0, "MONOCHROME2"),
         "lossy JPEG cannot encode signed pixel data (PS3.5 8.2.1: Pixel Representation 0 only)"},
        {rt_geom(8, 8, 1, 16, 16, 0, 0, "MONOCHROME2"),
         "unsupported Bits Stored 16 with Bits Allocated 16 (1 to 12)"},
        {rt_geom(8, 8, 3, 16, 12, 0, 0, "RGB"),
         "12-bit JPEG (process 4) is for monochrome images only"},
        {rt_geom(8, 8, 1, 8, 8, 0, 0, "PALETTE COLOR"),
         "cannot encode Photometric Interpretation 'PALETTE COLOR' lossily"},
        {rt_geom(8, 8, 3, 8, 8, 0, 0, "YBR_FULL_422"),
         "cannot encode Photometric Interpretation 'YBR_FULL_422' (RGB or YBR_FULL)"},
    };
    ct_check_encode_cases(c, st, buf, cases, sizeof cases / sizeof cases[0]);
    c->release(st);
    c = codec("jpeg-lossless");
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    struct ferry_frame g = rt_geom(8, 8, 1, 32, 16, 0, 0, "MONOCHROME2");
    struct ferry_encoded e = {.size = sizeof e};
    ck_assert_int_eq(c->encode(st, harness_host(), &g, buf, 256, &e, &d), -22);
    ck_assert_str_eq(d.message, "unsupported Bits Allocated 32 (this codec takes 8 16)");
    c->release(st);
}
END_TEST

START_TEST(test_decode_errors)
{
    const struct ferry_codec *c = codec("jpeg-lossless-sv1");
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    struct ferry_frame g = rt_geom(40, 30, 1, 16, 12, 1, 0, "MONOCHROME2");
    uint8_t *frame = harness_synth_frame(&g, 8, 300);
    struct rt_result r;
    uint8_t *cs;
    size_t len;
    ck_assert_int_eq(rt_run(c, st, c, st, &g, frame, &r, &cs, &len), 0);
    size_t n = harness_frame_size(&g);
    uint8_t *out = malloc(n);
    struct ferry_frame og = g;

#define DEC(geom, buf, blen) \
    (memset(&d, 0, sizeof d), og = (geom), c->decode(st, &(geom), (buf), (blen), out, n, &og, &d))

    static const uint8_t junk[] = "no JPEG here";
    ck_assert_int_eq(DEC(g, junk, sizeof junk), -22);
    ck_assert_str_eq(d.message, "JPEG byte 0: not a JPEG stream (no SOI marker)");
    struct ferry_frame wrong = rt_geom(30, 40, 1, 16, 12, 1, 0, "MONOCHROME2");
    ck_assert_int_eq(DEC(wrong, cs, len), -22);
    ck_assert_str_eq(d.message,
                     "the JPEG frame is 30x40 with 1 components but the data set says 40x30 with 1");
    wrong = rt_geom(40, 30, 1, 8, 8, 0, 0, "MONOCHROME2");
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(c->decode(st, &wrong, cs, len, out, 1200, &og, &d), -22);
    ck_assert_str_eq(d.message, "JPEG sample precision 16 exceeds Bits Allocated 8");
    /* Truncated: the header cuts are caught by the scanner, the data cuts
     * by DCMTK's suspension. */
    for (size_t cut = 0; cut < len; cut += (cut < 300 ? 1 : 37)) {
        int rc = DEC(g, cs, cut);
        ck_assert_msg(rc < 0, "cut at %zu of %zu decoded", cut, len);
        ck_assert_msg(d.message[0] != '\0', "cut at %zu: no message", cut);
    }
    ck_assert_int_eq(DEC(g, cs, len - 40), -22);
    ck_assert_str_eq(d.message, "the JPEG data ends before the image is complete");
    /* Flipped bytes anywhere: an error or some pixels, never a crash. */
    uint8_t *bad = malloc(len);
    for (size_t pos = 2; pos < len; pos += 3) {
        memcpy(bad, cs, len);
        bad[pos] ^= 0xa5;
        if (DEC(g, bad, len) < 0)
            ck_assert_msg(d.message[0] != '\0', "flip at %zu: no message", pos);
    }
    free(bad);
    free(out);
    free(cs);
    free(frame);
    c->release(st);
#undef DEC
}
END_TEST

START_TEST(test_scanner)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *message;
    } cases[] = {
        {"\xff\xd8", 2, "JPEG byte 2: no frame header (SOF) before the data"},
        {"\xff\xd8\xff\xc3\x00\x0b\x10\x00\x02\x00\x02\x01\x01\x11\x00", 15,
         "JPEG byte 15: no scan after the frame header"},
        {"\xff\xd8\xff\xc3\x00\x0c\x10\x00\x02\x00\x02\x01\x01\x11\x00\x00", 16,
         "JPEG byte 2: frame header length does not match its components"},
        {"\xff\xd8\xff\xc3\x00\x0b\x11\x00\x02\x00\x02\x01\x01\x11\x00", 15,
         "JPEG byte 2: sample precision outside 2..16"},
        {"\xff\xd8\xff\xda\x00\x08\x01\x01\x00\x01\x00\x00", 12,
         "JPEG byte 2: a scan before the frame header"},
        {"\xff\xd8\xff\xe0\x00\x40", 6, "JPEG byte 2: marker segment runs past the end of the stream"},
        {"\xff\xd8\xff", 3, "JPEG byte 3: the stream ends inside a marker"},
        {"\xff\xd8\xff\xd9", 4, "JPEG byte 2: SOI or EOI before the first scan"},
        {"\xff\xd8\xff\x00", 4, "JPEG byte 2: entropy-coded data before the first scan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jpeg_frame_info fi;
        char msg[200];
        ck_assert_int_eq(jpeg_scan((const uint8_t *)cases[i].bytes, cases[i].len, &fi, msg,
                                   sizeof msg),
                         -22);
        ck_assert_str_eq(msg, cases[i].message);
    }
    /* A lossless header with fill bytes, RST and an APP segment. */
    static const uint8_t ok[] = {0xff, 0xd8, 0xff, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xd0,
                                 0xff, 0xc3, 0x00, 0x0b, 0x0c, 0x01, 0x00, 0x02, 0x00, 0x01, 0x01,
                                 0x21, 0x00, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x06, 0x00,
                                 0x00};
    struct jpeg_frame_info fi;
    char msg[200];
    ck_assert_int_eq(jpeg_scan(ok, sizeof ok, &fi, msg, sizeof msg), 0);
    ck_assert(fi.lossless);
    ck_assert_uint_eq(fi.precision, 12);
    ck_assert_uint_eq(fi.height, 256);
    ck_assert_uint_eq(fi.width, 512);
    ck_assert_uint_eq(fi.h[0], 2);
    ck_assert_uint_eq(fi.predictor, 6);
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"load", test_load, 30},
        {"params", test_params, 30},
        {"lossless_sv1", test_lossless_sv1, 240},
        {"lossless_predictors", test_lossless_predictors, 300},
        {"high_bits", test_high_bits, 30},
        {"lossy", test_lossy, 120},
        {"encode_errors", test_encode_errors, 30},
        {"decode_errors", test_decode_errors, 120},
        {"scanner", test_scanner, 30},
    };
    return suite_run_table("jpegll", SUITE_ROWS(tests), setup, teardown);
}
