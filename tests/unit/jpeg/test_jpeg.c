/* Unit tests for plugins/jpeg: 8-bit JPEG through the plugin ABI. libjpeg is
 * also called directly here, only to make streams our encoder never writes
 * (RGB without colour transform, JFIF). */
#include "codec_test.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* jpeglib.h after stdio.h */
#include <jpeglib.h>

static struct ct_codec base, ext;

static void setup(void)
{
    ct_open(&base, "jpeg", "jpeg-baseline", NULL, 0);
    ct_open(&ext, "jpeg", "1.2.840.10008.1.2.4.51", NULL, 0);
}

static void teardown(void)
{
    ct_close(&ext);
    ct_close(&base);
}

static bool has_marker(const struct ferry_encoded *e, uint8_t code)
{
    for (size_t i = 0; i + 1 < e->length; i++)
        if (e->bytes[i] == 0xFF && e->bytes[i + 1] == code)
            return true;
    return false;
}

/* ---- lossy round trips ---------------------------------------------------- */

/* PSNR floors (dB) of the round trip, by quality, for the synthetic frames
 * of plugin_harness (gradients and a disc, plus uniform noise of +-12 in
 * each sample independently for "noisy"). Measured with libjpeg-turbo 2.1.5
 * (the test prints them) and set 3 dB lower, so that another build of the
 * library (IDCT rounding, SIMD) passes while a wrong colour conversion,
 * subsampling or quantisation table (10 dB and more) does not.
 *   - Grey: the floor falls with quality, as the quantiser steps grow
 *     (libjpeg scales the Annex K tables by 200-2q above 50, 5000/q below).
 *   - Colour: the minimum over 4:4:4, 4:2:2 and 4:2:0. Noisy colour is
 *     bounded near 31 dB at every quality: subsampling averages away the
 *     independent noise of Cb and Cr, which no quality brings back.
 *     measured (grey smooth/noisy, colour smooth/noisy):
 *     q100 62.7/58.5 47.3/32.7   q95 53.1/42.3 45.6/31.8
 *     q90  48.3/36.7 43.7/31.1   q75 43.0/32.6 41.5/30.7
 *     q50  40.3/31.4 39.2/30.4 */
struct floor {
    unsigned quality;
    double grey_smooth, grey_noisy, colour_smooth, colour_noisy;
};

static const struct floor floors[] = {
    {100, 59.5, 55.5, 44.0, 29.5}, {95, 50.0, 39.0, 42.5, 28.5}, {90, 45.0, 33.5, 40.5, 28.0},
    {75, 40.0, 29.5, 38.5, 27.5},  {50, 37.0, 28.5, 36.0, 27.0},
};

static double lossy_roundtrip(unsigned quality, const char *subsampling,
                              const struct ferry_frame *g, unsigned noise)
{
    char q[32], ss[32];
    snprintf(q, sizeof q, "quality=%u", quality);
    snprintf(ss, sizeof ss, "subsampling=%s", subsampling);
    const char *p[] = {q, ss};
    struct ct_codec c;
    ct_open(&c, "jpeg", "jpeg-baseline", p, 2);
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&c, g, 42, noise, &enc);
    ck_assert_uint_eq(enc.lossy, 1);
    ck_assert_uint_eq(enc.frame.planar_configuration, 0);
    if (g->samples_per_pixel == 3)
        ck_assert_str_eq(enc.frame.photometric,
                         strcmp(subsampling, "444") == 0 ? "YBR_FULL" : "YBR_FULL_422");
    else
        ck_assert_str_eq(enc.frame.photometric, g->photometric);
    ck_assert(has_marker(&enc, 0xC0));  /* SOF0: baseline */
    ck_assert(!has_marker(&enc, 0xC1)); /* not extended, */
    ck_assert(!has_marker(&enc, 0xC2)); /* not progressive */
    ck_assert(!has_marker(&enc, 0xE0)); /* no JFIF (PS3.5 8.2.1) */
    ck_assert_uint_eq(enc.bytes[0], 0xFF);
    ck_assert_uint_eq(enc.bytes[1], 0xD8);

    uint8_t *out;
    struct ferry_frame og;
    int rc = ct_decode(&c, &enc.frame, enc.bytes, enc.length, &out, &og, &diag);
    ck_assert_msg(rc == 0, "%s: %s", ct_geom_str(g), diag.message);
    ck_assert_str_eq(og.photometric, g->samples_per_pixel == 3 ? "RGB" : g->photometric);
    ck_assert_uint_eq(og.planar_configuration, 0);
    uint8_t *ref = ct_relayout(g, in, 0);
    struct ferry_frame g0 = *g;
    g0.planar_configuration = 0;
    double psnr = harness_psnr(&g0, ref, out);
    printf("jpeg q=%-3u ss=%s %-32s noise %-2u ratio %6.2f  PSNR %.2f dB\n", quality, subsampling,
           ct_geom_str(g), noise, (double)harness_frame_size(g) / (double)enc.length, psnr);
    free(ref);
    free(out);
    free(enc.bytes);
    free(in);
    ct_close(&c);
    return psnr;
}

START_TEST(test_lossy_quality)
{
    static const char *const subs[] = {"444", "422", "420"};
    for (size_t f = 0; f < sizeof floors / sizeof floors[0]; f++) {
        for (int noisy = 0; noisy <= 1; noisy++) {
            const struct floor *fl = &floors[f];
            unsigned noise = noisy ? 12 : 0;
            struct ferry_frame g = rt_geom(256, 256, 1, 8, 8, 0, 0, "MONOCHROME2");
            ck_assert_double_ge(lossy_roundtrip(fl->quality, "422", &g, noise),
                                noisy ? fl->grey_noisy : fl->grey_smooth);
            for (size_t s = 0; s < 3; s++) {
                g = rt_geom(256, 256, 3, 8, 8, 0, (uint16_t)(s == 1), "RGB");
                ck_assert_double_ge(lossy_roundtrip(fl->quality, subs[s], &g, noise),
                                    noisy ? fl->colour_noisy : fl->colour_smooth);
            }
        }
    }
}
END_TEST

/* Quality orders the error: more quality, less error. */
START_TEST(test_lossy_monotonic)
{
    struct ferry_frame g = rt_geom(128, 160, 3, 8, 8, 0, 0, "RGB");
    double p50 = lossy_roundtrip(50, "420", &g, 6);
    double p75 = lossy_roundtrip(75, "420", &g, 6);
    double p95 = lossy_roundtrip(95, "420", &g, 6);
    ck_assert_double_lt(p50, p75);
    ck_assert_double_lt(p75, p95);
}
END_TEST

/* Every shape, odd ones included (libjpeg pads the MCUs), both layouts,
 * both monochrome interpretations, each subsampling. */
START_TEST(test_lossy_shapes)
{
    static const uint32_t sizes[][2] = {{1, 1}, {3, 5}, {511, 257}, {17, 1}, {1, 33}};
    static const char *const subs[] = {"444", "422", "420"};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int noisy = 0; noisy <= 1; noisy++) {
            unsigned noise = noisy ? 64 : 0;
            struct ferry_frame g =
                rt_geom(sizes[s][0], sizes[s][1], 1, 8, 8, 0, 0, "MONOCHROME1");
            lossy_roundtrip(90, "422", &g, noise);
            for (int k = 0; k < 3; k++)
                for (uint16_t pc = 0; pc <= 1; pc++) {
                    g = rt_geom(sizes[s][0], sizes[s][1], 3, 8, 8, 0, pc, "RGB");
                    double psnr = lossy_roundtrip(90, subs[k], &g, noise);
                    /* Smooth frames come back close at any size; the worst is
                     * 3x5 in 4:2:0 (27.6 dB: the whole gradient and the
                     * disc's edge fall in one chroma sample). */
                    if (!noisy)
                        ck_assert_double_ge(psnr, 25.0);
                }
        }
}
END_TEST

/* Defaults: quality 90 and 4:2:2 (YBR_FULL_422). */
START_TEST(test_defaults)
{
    struct ferry_frame g = rt_geom(64, 64, 3, 8, 8, 0, 0, "RGB");
    uint8_t *in = harness_synth_frame(&g, 1, 4);
    struct ferry_encoded a, b;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&base, &g, in, &a, &diag), 0);
    ck_assert_str_eq(a.frame.photometric, "YBR_FULL_422");
    const char *p[] = {"quality=90", "subsampling=422"};
    struct ct_codec c;
    ct_open(&c, "jpeg", "jpeg-baseline", p, 2);
    ck_assert_int_eq(ct_encode(&c, &g, in, &b, &diag), 0);
    ck_assert_uint_eq(a.length, b.length);
    ck_assert_mem_eq(a.bytes, b.bytes, a.length);
    ct_close(&c);
    free(a.bytes);
    free(b.bytes);
    free(in);
}
END_TEST

/* A YBR_FULL frame is coded as it is (no second conversion) and decodes to
 * RGB by the JFIF equations. */
START_TEST(test_ybr_full_input)
{
    const char *p[] = {"subsampling=444", "quality=100"};
    struct ct_codec c;
    ct_open(&c, "jpeg", "jpeg-baseline", p, 2);
    struct ferry_frame g = rt_geom(32, 40, 3, 8, 8, 0, 0, "YBR_FULL");
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&c, &g, 3, 0, &enc);
    ck_assert_str_eq(enc.frame.photometric, "YBR_FULL");
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&c, &enc.frame, enc.bytes, enc.length, &out, &og, &diag), 0);
    ck_assert_str_eq(og.photometric, "RGB");
    size_t n = (size_t)32 * 40;
    uint8_t *rgb = malloc(3 * n);
    for (size_t i = 0; i < n; i++) {
        double y = in[3 * i], cb = in[3 * i + 1] - 128.0, cr = in[3 * i + 2] - 128.0;
        double v[3] = {y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb};
        for (int k = 0; k < 3; k++)
            rgb[3 * i + k] = (uint8_t)(v[k] < 0 ? 0 : v[k] > 255 ? 255 : lround(v[k]));
    }
    struct ferry_frame gr = rt_geom(32, 40, 3, 8, 8, 0, 0, "RGB");
    double psnr = harness_psnr(&gr, rgb, out);
    printf("jpeg YBR_FULL input, q=100 4:4:4: PSNR %.2f dB against the JFIF conversion\n", psnr);
    ck_assert_double_ge(psnr, 40.0);
    free(rgb);
    free(out);
    free(enc.bytes);
    free(in);
    ct_close(&c);
}
END_TEST

/* ---- streams our encoder does not write ---------------------------------- */

/* Encode an RGB frame with libjpeg directly, in colour space `jcs`, with or
 * without a JFIF header. */
static size_t libjpeg_encode(const uint8_t *rgb, int w, int h, J_COLOR_SPACE jcs, bool jfif,
                             unsigned char **out)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    unsigned long len = 0;
    *out = NULL;
    jpeg_mem_dest(&ci, out, &len);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_colorspace(&ci, jcs);
    jpeg_set_quality(&ci, 100, TRUE);
    ci.write_JFIF_header = jfif;
    ci.write_Adobe_marker = FALSE;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(rgb + (size_t)ci.next_scanline * w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return len;
}

START_TEST(test_decode_rgb_streams)
{
    struct ferry_frame g = rt_geom(24, 40, 3, 8, 8, 0, 0, "RGB");
    uint8_t *in = harness_synth_frame(&g, 9, 0);
    unsigned char *s;
    uint8_t *out;
    struct ferry_frame og;
    struct ferry_diag diag;
    /* Components R, G, B, the data set says RGB: no conversion. */
    size_t n = libjpeg_encode(in, 40, 24, JCS_RGB, false, &s);
    ck_assert_int_eq(ct_decode(&base, &g, s, n, &out, &og, &diag), 0);
    double psnr = harness_psnr(&g, in, out);
    ck_assert_double_ge(psnr, 45.0);
    free(out);
    free(s);
    /* YCbCr with a JFIF header under a data set that says RGB (a compressor
     * that forgot to update it): the JFIF marker wins. (libjpeg's default
     * YCbCr is 4:2:0: 39.2 dB measured.) */
    n = libjpeg_encode(in, 40, 24, JCS_YCbCr, true, &s);
    ck_assert_int_eq(ct_decode(&base, &g, s, n, &out, &og, &diag), 0);
    psnr = harness_psnr(&g, in, out);
    ck_assert_double_ge(psnr, 36.0);
    free(out);
    /* The same stream under YBR_FULL_422. */
    struct ferry_frame y = g;
    snprintf(y.photometric, sizeof y.photometric, "YBR_FULL_422");
    ck_assert_int_eq(ct_decode(&base, &y, s, n, &out, &og, &diag), 0);
    ck_assert_str_eq(og.photometric, "RGB");
    ck_assert_double_ge(harness_psnr(&g, in, out), 36.0);
    free(out);
    free(s);
    /* YCbCr without JFIF, under RGB: taken as RGB, as the data set says
     * (so the colours are wrong, and that is the data set's fault). */
    n = libjpeg_encode(in, 40, 24, JCS_YCbCr, false, &s);
    ck_assert_int_eq(ct_decode(&base, &g, s, n, &out, &og, &diag), 0);
    ck_assert_double_lt(harness_psnr(&g, in, out), 25.0);
    free(out);
    free(s);
    free(in);
}
END_TEST

/* An 8-bit stream into 16 allocated bits (a 4.51 data set may say so). */
START_TEST(test_decode_into_16_bits)
{
    struct ferry_frame g = rt_geom(20, 30, 1, 8, 8, 0, 0, "MONOCHROME2");
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&base, &g, 9, 5, &enc);
    uint8_t *out8, *out16;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&ext, &g, enc.bytes, enc.length, &out8, &og, &diag), 0);
    struct ferry_frame g16 = rt_geom(20, 30, 1, 16, 8, 0, 0, "MONOCHROME2");
    ck_assert_int_eq(ct_decode(&ext, &g16, enc.bytes, enc.length, &out16, &og, &diag), 0);
    ck_assert_uint_eq(og.bits_allocated, 16);
    for (size_t i = 0; i < 600; i++) {
        ck_assert_uint_eq(out16[2 * i], out8[i]);
        ck_assert_uint_eq(out16[2 * i + 1], 0);
    }
    free(out8);
    free(out16);
    free(enc.bytes);
    free(in);
}
END_TEST

/* A 12-bit (process 4) and a lossless (process 14) stream: not ours, and
 * -ENOTSUP says so, for a decoder that can to take over. Headers only:
 * libjpeg stops at the frame header. */
START_TEST(test_decode_not_ours)
{
    static const uint8_t sof1_12bit[] = {
        0xFF, 0xD8, 0xFF, 0xC1, 0x00, 0x0B, 12, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x00, 0xFF, 0xD9};
    static const uint8_t sof3[] = {
        0xFF, 0xD8, 0xFF, 0xC3, 0x00, 0x0B, 16, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xD9};
    struct ferry_frame g = rt_geom(8, 8, 1, 16, 12, 0, 0, "MONOCHROME2");
    ct_expect_decode_error(&ext, &g, sof1_12bit, sizeof sof1_12bit, -ENOTSUP,
                           "JPEG: decoding: Unsupported JPEG data precision 12");
    ct_expect_decode_error(&ext, &g, sof3, sizeof sof3, -ENOTSUP,
                           "JPEG: decoding: Unsupported JPEG process: SOF type 0xc3");
}
END_TEST

/* ---- parameters and geometry ------------------------------------------------- */

START_TEST(test_params)
{
    const char *unknown[] = {"quality=50", "near=2"};
    ct_expect_param_error(&base, unknown, 2, 1,
                          "unknown parameter \"near\"; jpeg-baseline takes quality, subsampling");
    const char *twice[] = {"subsampling=420", "quality=50", "quality=60"};
    ct_expect_param_error(&base, twice, 3, 2, "parameter \"quality\" given twice");
    const char *twice2[] = {"subsampling=420", "subsampling=444"};
    ct_expect_param_error(&base, twice2, 2, 1, "parameter \"subsampling\" given twice");
    static const char *const bad_q[] = {"0", "101", "9x", "", "-5", "1e2"};
    for (int i = 0; i < 6; i++) {
        char kv[32], msg[128];
        snprintf(kv, sizeof kv, "quality=%s", bad_q[i]);
        snprintf(msg, sizeof msg, "quality must be an integer from 1 to 100, got \"%s\"", bad_q[i]);
        const char *p[] = {kv};
        ct_expect_param_error(&base, p, 1, 0, msg);
    }
    static const char *const bad_s[] = {"411", "4:2:2", "440", "0422", ""};
    for (int i = 0; i < 5; i++) {
        char kv[32], msg[128];
        snprintf(kv, sizeof kv, "subsampling=%s", bad_s[i]);
        snprintf(msg, sizeof msg, "subsampling must be 444, 422 or 420, got \"%s\"", bad_s[i]);
        const char *p[] = {"quality=80", kv};
        ct_expect_param_error(&base, p, 2, 1, msg);
    }
    void *st;
    struct ferry_diag diag;
    const char *ext_p[] = {"quality=80"};
    ck_assert_int_eq(ct_configure(&ext, ext_p, 1, &st, &diag), -EINVAL);
    ck_assert_str_eq(diag.message,
                     "unknown parameter \"quality\"; jpeg-extended-8bit takes no parameters");
    ck_assert_uint_eq(ext.codec->flags, FERRY_CODEC_DECODE);
    ck_assert_ptr_null(ext.codec->encode);
    ck_assert_str_eq(ext.codec->transfer_syntax, "1.2.840.10008.1.2.4.51");
    ck_assert_str_eq(base.codec->transfer_syntax, "1.2.840.10008.1.2.4.50");
    ck_assert_uint_eq(base.codec->flags,
                      FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY);
}
END_TEST

START_TEST(test_geometry_refused)
{
    struct ferry_frame g = rt_geom(4, 4, 1, 16, 12, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&base, &g, -ENOTSUP, "JPEG baseline: Bits Allocated/Stored 16/12 (it codes 8/8)");
    g = rt_geom(4, 4, 1, 8, 8, 1, 0, "MONOCHROME2");
    ct_expect_encode_error(&base, &g, -ENOTSUP, "JPEG baseline: signed pixels (it codes unsigned)");
    g = rt_geom(4, 4, 1, 8, 8, 0, 0, "PALETTE COLOR");
    ct_expect_encode_error(&base, &g, -ENOTSUP,
                           "JPEG baseline: Photometric Interpretation PALETTE COLOR with 1 samples "
                           "(it codes MONOCHROME1/2, RGB or YBR_FULL)");
    g = rt_geom(4, 4, 3, 8, 8, 0, 0, "YBR_FULL_422");
    ct_expect_encode_error(&base, &g, -ENOTSUP,
                           "JPEG baseline: Photometric Interpretation YBR_FULL_422 with 3 samples "
                           "(it codes MONOCHROME1/2, RGB or YBR_FULL)");
    g = rt_geom(70000, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t dummy[16] = {0};
    struct ferry_encoded enc = {.size = sizeof enc};
    struct ferry_diag diag = {.size = sizeof diag, .param = -1};
    ck_assert_int_eq(base.codec->encode(base.state, harness_host(), &g, dummy, 16, &enc, &diag),
                     -EINVAL);
    ck_assert_str_eq(diag.message,
                     "JPEG baseline: frame of 70000x4 pixels (rows and columns must be 1..65535)");
}
END_TEST

/* ---- hostile input --------------------------------------------------------- */

START_TEST(test_decode_errors)
{
    struct ferry_frame g = rt_geom(16, 24, 3, 8, 8, 0, 0, "RGB");
    struct ferry_encoded enc;
    uint8_t *in = ct_encode_synth(&base, &g, 8, 20, &enc);
    struct ferry_frame other = rt_geom(24, 16, 3, 8, 8, 0, 0, "YBR_FULL_422");
    ct_expect_decode_error(&base, &other, enc.bytes, enc.length, -EINVAL,
                           "JPEG: the stream holds 24x16 pixels of 3 samples, the data set says 16x24 "
                           "of 3");
    ct_expect_decode_error(&base, &enc.frame, enc.bytes, 0, -EBADMSG,
                           "JPEG: decoding: Empty input file");
    const uint8_t not_jpeg[8] = "DICM\0\0\0";
    ct_expect_decode_error(&base, &enc.frame, not_jpeg, 8, -EBADMSG,
                           "JPEG: decoding: Not a JPEG file: starts with 0x44 0x49");
    /* Cut in the entropy-coded data: libjpeg would pad with grey and warn;
     * here it is an error. */
    ct_expect_decode_error(&base, &enc.frame, enc.bytes, enc.length - 40, -EBADMSG,
                           "JPEG: decoding: Premature end of JPEG file");
    /* Every truncation fails with a message. */
    size_t len = enc.length;
    while (len > 0 && enc.bytes[len - 1] != 0xD9) /* the pad byte after EOI */
        len--;
    ct_decode_truncations(&base, &enc.frame, enc.bytes, len, "JPEG: ");
    free(enc.bytes);
    free(in);
}
END_TEST

START_TEST(test_decode_mutations)
{
    struct ferry_frame g = rt_geom(19, 23, 3, 8, 8, 0, 0, "RGB");
    struct ferry_encoded enc;
    uint8_t *in = ct_encode_synth(&base, &g, 8, 30, &enc);
    uint32_t rng = 77;
    ck_assert_uint_gt(ct_decode_mutations(&base, &enc.frame, enc.bytes, enc.length, &rng, 3000, 3),
                      0);
    free(enc.bytes);
    free(in);
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"lossy", test_lossy_quality, 0},
        {"lossy", test_lossy_monotonic, 0},
        {"lossy", test_lossy_shapes, 0},
        {"lossy", test_defaults, 0},
        {"lossy", test_ybr_full_input, 0},
        {"streams", test_decode_rgb_streams, 0},
        {"streams", test_decode_into_16_bits, 0},
        {"streams", test_decode_not_ours, 0},
        {"params", test_params, 0},
        {"params", test_geometry_refused, 0},
        {"errors", test_decode_errors, 0},
        {"errors", test_decode_mutations, 0},
    };
    return suite_run_table("jpeg", SUITE_ROWS(tests), setup, teardown);
}
