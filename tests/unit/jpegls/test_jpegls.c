/* Unit tests for plugins/jpegls: JPEG-LS through the plugin ABI. CharLS is
 * also called directly here, only to make streams our encoder never writes
 * (line interleave, a precision other than Bits Stored). */
#include "codec_test.h"

#include <charls/charls.h>
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ct_codec ls, nl;

static void setup(void)
{
    ct_open(&ls, "jpegls", "jpeg-ls-lossless", NULL, 0);
    ct_open(&nl, "jpegls", "jpeg-ls-near-lossless", NULL, 0);
}

static void teardown(void)
{
    ct_close(&nl);
    ct_close(&ls);
}

/* ---- lossless round trips ---------------------------------------------- */

/* 16/8 and 8/6 take the copying paths (narrowing, masking). */
static const uint16_t bits[][2] = {{8, 8}, {16, 12}, {16, 16}, {16, 8}, {8, 6}};
static const struct rt_layout layouts[] = {
    {1, 0, "MONOCHROME2"}, {1, 0, "MONOCHROME1"}, {3, 0, "RGB"}, {3, 1, "RGB"}};

static void lossless_roundtrip(const struct ct_codec *c, const struct ferry_frame *g,
                               uint32_t seed, unsigned noise)
{
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(c, g, seed, noise, &enc);
    ck_assert_uint_eq(enc.lossy, 0);
    ck_assert_uint_eq(enc.frame.planar_configuration, 0); /* JPEG-LS data sets say 0 */
    ck_assert_str_eq(enc.frame.photometric, g->photometric);
    ck_assert_uint_eq(enc.frame.bits_stored, g->bits_stored);
    ck_assert_uint_eq(enc.frame.bits_allocated, g->bits_allocated);
    ck_assert_uint_eq(enc.frame.pixel_representation, g->pixel_representation);
    ck_assert_uint_eq(enc.bytes[0], 0xFF);
    ck_assert_uint_eq(enc.bytes[1], 0xD8);

    uint8_t *out;
    struct ferry_frame og;
    int rc = ct_decode(c, &enc.frame, enc.bytes, enc.length, &out, &og, &diag);
    ck_assert_msg(rc == 0, "%s: %s", ct_geom_str(g), diag.message);
    /* Colour-by-plane input was coded without interleave: it decodes so. */
    ck_assert_uint_eq(og.planar_configuration, g->planar_configuration);
    ck_assert_mem_eq(&og, g, offsetof(struct ferry_frame, photometric));
    char why[256];
    ck_assert_msg(ct_same_pixels(g, in, &og, out, why, sizeof why), "%s noise %u: %s",
                  ct_geom_str(g), noise, why);
    free(out);
    free(enc.bytes);
    free(in);
}

START_TEST(test_lossless_matrix)
{
    static const struct rt_matrix_spec spec = {bits, 5, layouts, 4, true, 1};
    static struct rt_case cases[300];
    size_t n = rt_matrix_of(&spec, cases, 300);
    ck_assert_uint_eq(n, 5 * 2 * 4 * 3 * 2);
    for (size_t i = 0; i < n; i++)
        lossless_roundtrip(&ls, &cases[i].g, cases[i].seed, cases[i].noise);
}
END_TEST

/* The near-lossless codec with near=0 is lossless and says so. */
START_TEST(test_near_zero_is_lossless)
{
    struct ct_codec z;
    const char *p[] = {"near=0"};
    ct_open(&z, "jpegls", "jpeg-ls-near-lossless", p, 1);
    struct ferry_frame g = rt_geom(64, 33, 3, 16, 12, 1, 1, "RGB");
    lossless_roundtrip(&z, &g, 5, 300);
    g = rt_geom(17, 9, 1, 8, 8, 0, 0, "MONOCHROME2");
    lossless_roundtrip(&z, &g, 6, 40);
    ct_close(&z);
}
END_TEST

/* A native frame with garbage above Bits Stored (an old overlay in the high
 * bits, or an unextended sign) codes the low bits, and decodes canonical. */
START_TEST(test_high_bits_are_not_coded)
{
    struct ferry_frame g = rt_geom(2, 2, 1, 16, 12, 0, 0, "MONOCHROME2");
    const uint8_t dirty[8] = {0x01, 0xF0, 0xFF, 0x8F, 0x00, 0x10, 0x34, 0x02};
    const uint8_t clean[8] = {0x01, 0x00, 0xFF, 0x0F, 0x00, 0x00, 0x34, 0x02};
    const uint8_t sext[8] = {0x01, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x34, 0x02};
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&ls, &g, dirty, &enc, &diag), 0);
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&ls, &g, enc.bytes, enc.length, &out, &og, &diag), 0);
    ck_assert_mem_eq(out, clean, 8);
    free(out);
    g.pixel_representation = 1;
    ck_assert_int_eq(ct_decode(&ls, &g, enc.bytes, enc.length, &out, &og, &diag), 0);
    ck_assert_mem_eq(out, sext, 8);
    free(out);
    free(enc.bytes);
}
END_TEST

/* Pure noise costs more than its raw size; CharLS's estimate of the output
 * is about the raw size, so the encoder must retry with the worst case. */
START_TEST(test_incompressible)
{
    static const struct ferry_frame geoms[] = {
        {.size = sizeof(struct ferry_frame), .rows = 67, .columns = 129, .samples_per_pixel = 3,
         .bits_allocated = 8, .bits_stored = 8, .planar_configuration = 1, .photometric = "RGB"},
        {.size = sizeof(struct ferry_frame), .rows = 64, .columns = 64, .samples_per_pixel = 1,
         .bits_allocated = 16, .bits_stored = 16, .photometric = "MONOCHROME2"},
    };
    uint32_t rng = 5;
    for (int k = 0; k < 2; k++) {
        const struct ferry_frame *g = &geoms[k];
        size_t n = harness_frame_size(g);
        uint8_t *in = malloc(n);
        for (size_t i = 0; i < n; i++) {
            rng = rng * 1103515245u + 12345u;
            in[i] = (uint8_t)(rng >> 16);
        }
        struct ferry_encoded enc;
        struct ferry_diag diag;
        ck_assert_msg(ct_encode(&ls, g, in, &enc, &diag) == 0, "%s", diag.message);
        ck_assert_uint_gt(enc.length, n); /* it did expand */
        uint8_t *out;
        struct ferry_frame og;
        ck_assert_int_eq(ct_decode(&ls, &enc.frame, enc.bytes, enc.length, &out, &og, &diag), 0);
        char why[256];
        ck_assert_msg(ct_same_pixels(g, in, &og, out, why, sizeof why), "%s", why);
        free(out);
        free(enc.bytes);
        free(in);
    }
}
END_TEST

/* ---- near-lossless ---------------------------------------------------------- */

static void near_case(unsigned near, const struct ferry_frame *g, unsigned noise)
{
    char param[32];
    snprintf(param, sizeof param, "near=%u", near);
    const char *p[] = {param};
    struct ct_codec c;
    ct_open(&c, "jpegls", "jpeg-ls-near-lossless", p, 1);
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&c, g, 99, noise, &enc);
    ck_assert_uint_eq(enc.lossy, near > 0);
    ck_assert_uint_eq(enc.frame.planar_configuration, 0);
    ck_assert_str_eq(enc.frame.photometric, g->photometric);
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&c, &enc.frame, enc.bytes, enc.length, &out, &og, &diag), 0);
    int64_t worst = ct_max_abs_error(g, in, &og, out);
    double psnr = harness_psnr(g, in, out);
    size_t raw = harness_frame_size(g);
    printf("jpeg-ls near=%-3u %-34s noise %-4u ratio %5.2f  max error %lld  PSNR %.2f dB\n", near,
           ct_geom_str(g), noise, (double)raw / (double)enc.length, (long long)worst, psnr);
    /* JPEG-LS's guarantee: no sample moves by more than NEAR. */
    ck_assert_int_le(worst, near);
    if (near > 0)
        ck_assert_int_gt(worst, 0); /* it is lossy on noisy data */
    free(out);
    free(enc.bytes);
    free(in);
    ct_close(&c);
}

START_TEST(test_near_error_bound)
{
    static const unsigned nears[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++) {
        struct ferry_frame g = rt_geom(256, 256, 1, 16, 12, 0, 0, "MONOCHROME2");
        near_case(nears[i], &g, 40);
        g = rt_geom(97, 131, 3, 8, 8, 0, 1, "RGB");
        near_case(nears[i], &g, 20);
        g = rt_geom(64, 64, 1, 16, 16, 1, 0, "MONOCHROME2");
        near_case(nears[i], &g, 500);
    }
}
END_TEST

START_TEST(test_near_default_is_2)
{
    struct ferry_frame g = rt_geom(128, 128, 1, 16, 12, 0, 0, "MONOCHROME2");
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&nl, &g, 3, 50, &enc);
    ck_assert_uint_eq(enc.lossy, 1);
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&nl, &enc.frame, enc.bytes, enc.length, &out, &og, &diag), 0);
    ck_assert_int_eq(ct_max_abs_error(&g, in, &og, out), 2);
    free(out);
    free(enc.bytes);
    free(in);
}
END_TEST

/* Signed samples at the ends of their range: JPEG-LS codes the 12 low bits
 * as unsigned numbers, where 2047 and -2048 are neighbours; near-lossless
 * would turn one into the other. The encoder checks and refuses. */
START_TEST(test_near_signed_wraparound)
{
    struct ferry_frame g = rt_geom(32, 32, 1, 16, 12, 1, 0, "MONOCHROME2");
    uint8_t *in = malloc(harness_frame_size(&g));
    uint32_t rng = 1;
    for (size_t i = 0; i < 32 * 32; i++) {
        rng = rng * 1103515245u + 12345u;
        int16_t v = (int16_t)(2045 + (int)((rng >> 16) % 5)); /* 2045..2049 */
        if (v > 2047)
            v = (int16_t)(v - 4096);
        memcpy(in + 2 * i, &v, 2);
    }
    const char *p[] = {"near=3"};
    struct ct_codec c;
    ct_open(&c, "jpegls", "jpeg-ls-near-lossless", p, 1);
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&c, &g, in, &enc, &diag), -ERANGE);
    ck_assert_msg(strncmp(diag.message,
                          "JPEG-LS: near-lossless coding moved signed sample ", 50) == 0,
                  "%s", diag.message);
    ck_assert_ptr_nonnull(strstr(diag.message, "; use near 0 or jpeg-ls-lossless"));
    /* Unsigned, the same bits are fine. */
    g.pixel_representation = 0;
    ck_assert_int_eq(ct_encode(&c, &g, in, &enc, &diag), 0);
    free(enc.bytes);
    ct_close(&c);
    free(in);
}
END_TEST

/* ---- parameters ------------------------------------------------------------------ */

START_TEST(test_params)
{
    const char *unknown[] = {"near=1", "quality=9"};
    ct_expect_param_error(&nl, unknown, 2, 1,
                          "unknown parameter \"quality\"; jpeg-ls-near-lossless takes near");
    const char *twice[] = {"near=1", "near=2"};
    ct_expect_param_error(&nl, twice, 2, 1, "parameter \"near\" given twice");
    const char *bad[][1] = {{"near=256"}, {"near=-1"}, {"near=two"}, {"near="}, {"near= 3"},
                            {"near=3.0"}};
    const char *why[] = {"256", "-1", "two", "", " 3", "3.0"};
    for (int i = 0; i < 6; i++) {
        char msg[128];
        snprintf(msg, sizeof msg, "near must be an integer from 0 to 255, got \"%s\"", why[i]);
        ct_expect_param_error(&nl, bad[i], 1, 0, msg);
    }
    const char *lossless[] = {"near=0"};
    ct_expect_param_error(&ls, lossless, 1, 0,
                          "unknown parameter \"near\"; jpeg-ls-lossless takes no parameters");
    void *st;
    struct ferry_diag diag;
    const char *ok[] = {"near=255"};
    ck_assert_int_eq(ct_configure(&nl, ok, 1, &st, &diag), 0);
    nl.codec->release(st);
    ck_assert_str_eq(ls.codec->transfer_syntax, "1.2.840.10008.1.2.4.80");
    ck_assert_str_eq(nl.codec->transfer_syntax, "1.2.840.10008.1.2.4.81");
    ck_assert_uint_eq(ls.codec->flags, FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE);
    ck_assert_uint_eq(nl.codec->flags,
                      FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY);
}
END_TEST

START_TEST(test_geometry_refused)
{
    struct ferry_frame g = rt_geom(4, 4, 1, 32, 32, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&ls, &g, -ENOTSUP, "JPEG-LS: Bits Allocated 32 is not supported (8 or 16)");
    g = rt_geom(4, 4, 1, 8, 1, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&ls, &g, -ENOTSUP, "JPEG-LS: Bits Stored 1 (JPEG-LS codes 2..16)");
    g = rt_geom(4, 4, 3, 8, 8, 0, 0, "YBR_FULL_422");
    ct_expect_encode_error(&ls, &g, -ENOTSUP,
                           "JPEG-LS: native YBR_FULL_422 pixel data is not supported (RGB or YBR_FULL)");
    g = rt_geom(4, 4, 1, 8, 2, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&nl, &g, -EINVAL, "JPEG-LS: near 2 is too large for 2-bit samples (at most 1)");
    g = rt_geom(4, 4, 1, 8, 8, 0, 0, "PALETTE COLOR");
    ct_expect_encode_error(&nl, &g, -ENOTSUP,
                           "JPEG-LS: near-lossless coding of PALETTE COLOR indices would change "
                           "colours; use near 0 or jpeg-ls-lossless");
    g = rt_geom(0, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&ls, &g, -EINVAL,
                           "JPEG-LS: frame of 0x4 pixels (rows and columns must be 1..65535)");
    /* Lossless coding of palette indices is fine. */
    g = rt_geom(9, 4, 1, 8, 8, 0, 0, "PALETTE COLOR");
    lossless_roundtrip(&ls, &g, 2, 100);
}
END_TEST

/* ---- streams our encoder does not write ------------------------------------ */

/* Encode with CharLS directly: bits_per_sample p, interleave ilv. */
static size_t charls_encode(const void *src, size_t src_len, uint32_t w, uint32_t h, int p,
                            int comps, charls_interleave_mode ilv, uint8_t **out)
{
    charls_jpegls_encoder *e = charls_jpegls_encoder_create();
    charls_frame_info fi = {w, h, p, comps};
    ck_assert_int_eq(charls_jpegls_encoder_set_frame_info(e, &fi), 0);
    ck_assert_int_eq(charls_jpegls_encoder_set_interleave_mode(e, ilv), 0);
    size_t cap = 0, len = 0;
    ck_assert_int_eq(charls_jpegls_encoder_get_estimated_destination_size(e, &cap), 0);
    *out = malloc(cap);
    ck_assert_int_eq(charls_jpegls_encoder_set_destination_buffer(e, *out, cap), 0);
    ck_assert_int_eq(charls_jpegls_encoder_encode_from_buffer(e, src, src_len, 0), 0);
    ck_assert_int_eq(charls_jpegls_encoder_get_bytes_written(e, &len), 0);
    charls_jpegls_encoder_destroy(e);
    return len;
}

START_TEST(test_decode_line_interleave)
{
    struct ferry_frame g = rt_geom(21, 13, 3, 16, 10, 0, 0, "RGB");
    uint8_t *in = harness_synth_frame(&g, 4, 100);
    uint8_t *s;
    size_t n = charls_encode(in, harness_frame_size(&g), 13, 21, 10, 3,
                             CHARLS_INTERLEAVE_MODE_LINE, &s);
    uint8_t *out;
    struct ferry_frame og;
    struct ferry_diag diag;
    g.planar_configuration = 1; /* what the data set says does not matter */
    ck_assert_int_eq(ct_decode(&ls, &g, s, n, &out, &og, &diag), 0);
    ck_assert_uint_eq(og.planar_configuration, 0);
    g.planar_configuration = 0;
    char why[256];
    ck_assert_msg(ct_same_pixels(&g, in, &og, out, why, sizeof why), "%s", why);
    free(out);
    free(s);
    free(in);
}
END_TEST

/* A stream of 16-bit precision for a data set that says 12 bits stored:
 * the samples come out canonical by Bits Stored. */
START_TEST(test_decode_precision_differs)
{
    const uint16_t px[4] = {0x0123, 0xF456, 0x0FFF, 0x8800};
    uint8_t *s;
    size_t n = charls_encode(px, sizeof px, 2, 2, 16, 1, CHARLS_INTERLEAVE_MODE_NONE, &s);
    struct ferry_frame g = rt_geom(2, 2, 1, 16, 12, 1, 0, "MONOCHROME2");
    uint8_t *out;
    struct ferry_frame og;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_decode(&ls, &g, s, n, &out, &og, &diag), 0);
    const int16_t want[4] = {0x0123, 0x0456, -1, -2048};
    ck_assert_mem_eq(out, want, 8);
    free(out);
    /* ... but never into fewer allocated bits than the stream's precision. */
    g = rt_geom(2, 2, 1, 8, 8, 0, 0, "MONOCHROME2");
    ct_expect_decode_error(&ls, &g, s, n, -EINVAL,
                           "JPEG-LS: the stream holds 16-bit samples, the data set allocates 8 bits");
    free(s);
}
END_TEST

/* ---- hostile input -------------------------------------------------------- */

START_TEST(test_decode_errors)
{
    struct ferry_frame g = rt_geom(12, 10, 1, 16, 12, 0, 0, "MONOCHROME2");
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&ls, &g, 8, 200, &enc);
    uint8_t *out;
    struct ferry_frame og;

    struct ferry_frame other = rt_geom(10, 12, 1, 16, 12, 0, 0, "MONOCHROME2");
    ct_expect_decode_error(&ls, &other, enc.bytes, enc.length, -EINVAL,
                           "JPEG-LS: the stream holds 10x12 pixels of 1 samples, the data set says "
                           "12x10 of 1");
    other = rt_geom(12, 10, 3, 16, 12, 0, 0, "RGB");
    ct_expect_decode_error(&ls, &other, enc.bytes, enc.length, -EINVAL,
                           "JPEG-LS: the stream holds 10x12 pixels of 1 samples, the data set says "
                           "10x12 of 3");

    ck_assert_int_eq(ct_decode(&ls, &g, enc.bytes, 0, &out, &og, &diag), -EBADMSG);
    ck_assert_msg(strncmp(diag.message, "JPEG-LS: reading the header: ", 29) == 0, "%s",
                  diag.message);
    free(out);
    const uint8_t not_jpeg[8] = "DICM\0\0\0";
    ck_assert_int_eq(ct_decode(&ls, &g, not_jpeg, 8, &out, &og, &diag), -EBADMSG);
    ck_assert_msg(strncmp(diag.message, "JPEG-LS: reading the header: ", 29) == 0, "%s",
                  diag.message);
    free(out);

    ck_assert_int_eq(ct_decode(&ls, &g, enc.bytes, enc.length / 2, &out, &og, &diag), -EBADMSG);
    char msg[128];
    snprintf(msg, sizeof msg,
             "JPEG-LS: the stream ends at byte %zu inside the scan data (truncated)",
             enc.length / 2);
    ck_assert_str_eq(diag.message, msg);
    free(out);
    ct_expect_decode_error(&ls, &g, enc.bytes, 20, -EBADMSG,
                           "JPEG-LS: the stream ends at byte 20 inside a marker segment (truncated)");

    /* CharLS skips fill bytes before SOI: so does the truncation check. */
    uint8_t *filled = malloc(enc.length + 2);
    filled[0] = filled[1] = 0xFF;
    memcpy(filled + 2, enc.bytes, enc.length);
    ck_assert_int_eq(ct_decode(&ls, &g, filled, enc.length + 2, &out, &og, &diag), 0);
    free(out);
    ct_expect_decode_error(&ls, &g, filled, 60, -EBADMSG,
                           "JPEG-LS: the stream ends at byte 60 inside the scan data (truncated)");
    free(filled);

    /* Every truncation fails with a message, and quickly: CharLS 2.4.1 would
     * spend seconds on each (the suite's time limit notices). */
    ct_decode_truncations(&ls, &g, enc.bytes, enc.length - 2, "JPEG-LS: ");
    free(enc.bytes);
    free(in);
}
END_TEST

START_TEST(test_decode_mutations)
{
    struct ferry_frame g = rt_geom(19, 23, 3, 8, 8, 0, 0, "RGB");
    struct ferry_encoded enc;
    uint8_t *in = ct_encode_synth(&ls, &g, 8, 30, &enc);
    uint32_t rng = 77;
    ck_assert_uint_gt(ct_decode_mutations(&ls, &enc.frame, enc.bytes, enc.length, &rng, 3000, 3), 0);
    free(enc.bytes);
    free(in);
}
END_TEST

/* The worker pool calls encode and decode from several threads at once
 * with one state (plugin.h): each thread has its own scratch. */
START_TEST(test_threads)
{
    struct ferry_frame g;
    g = rt_geom(64, 80, 1, 16, 12, 1, 0, "MONOCHROME2");
    ck_assert_uint_eq(ct_threaded_roundtrips(&ls, &g, 4, 25), 0);
    g = rt_geom(33, 17, 3, 8, 8, 0, 1, "RGB");
    ck_assert_uint_eq(ct_threaded_roundtrips(&ls, &g, 4, 25), 0);
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"lossless", test_lossless_matrix, 0},
        {"lossless", test_near_zero_is_lossless, 0},
        {"lossless", test_high_bits_are_not_coded, 0},
        {"lossless", test_incompressible, 0},
        {"near", test_near_error_bound, 0},
        {"near", test_near_default_is_2, 0},
        {"near", test_near_signed_wraparound, 0},
        {"params", test_params, 0},
        {"params", test_geometry_refused, 0},
        {"streams", test_decode_line_interleave, 0},
        {"streams", test_decode_precision_differs, 0},
        {"errors", test_decode_errors, 0},
        {"errors", test_decode_mutations, 0},
        {"threads", test_threads, 0},
    };
    return suite_run_table("jpegls", SUITE_ROWS(tests), setup, teardown);
}
