/* Unit tests for plugins/rle: RLE Lossless through the plugin ABI. */
#include "codec_test.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ct_codec rle;

static void setup(void) { ct_open(&rle, "rle", "rle-lossless", NULL, 0); }
static void teardown(void) { ct_close(&rle); }

/* ---- round trips ---------------------------------------------------------- */

static const uint16_t bits[][2] = {{8, 8}, {16, 12}, {16, 16}, {32, 32}, {32, 20}};
static const struct rt_layout layouts[] = {
    {1, 0, "MONOCHROME2"}, {1, 0, "MONOCHROME1"}, {3, 0, "RGB"}, {3, 1, "RGB"}};

/* One encode + decode, bit-exact, with the attributes checked. */
static void roundtrip(const struct ferry_frame *g, uint32_t seed, unsigned noise)
{
    struct ferry_encoded enc;
    struct ferry_diag diag;
    uint8_t *in = ct_encode_synth(&rle, g, seed, noise, &enc);
    ck_assert_uint_eq(enc.lossy, 0);
    ck_assert_uint_eq(enc.frame.planar_configuration, g->planar_configuration);
    ck_assert_str_eq(enc.frame.photometric, g->photometric);
    ck_assert_uint_eq(enc.frame.bits_stored, g->bits_stored);
    ck_assert_uint_eq(enc.frame.pixel_representation, g->pixel_representation);

    uint8_t *out;
    struct ferry_frame og;
    int rc = ct_decode(&rle, &enc.frame, enc.bytes, enc.length, &out, &og, &diag);
    ck_assert_msg(rc == 0, "%s: %s", ct_geom_str(g), diag.message);
    ck_assert_uint_eq(og.planar_configuration, enc.frame.planar_configuration);
    char why[256];
    ck_assert_msg(ct_same_pixels(g, in, &og, out, why, sizeof why), "%s noise %u: %s",
                  ct_geom_str(g), noise, why);
    free(out);

    /* The other planar configuration for the same stream (DCMTK writes 1):
     * the decoder then writes the layout that one says. */
    struct ferry_frame g0 = enc.frame;
    g0.planar_configuration = g->samples_per_pixel > 1 ? !enc.frame.planar_configuration : 0;
    rc = ct_decode(&rle, &g0, enc.bytes, enc.length, &out, &og, &diag);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(og.planar_configuration, g0.planar_configuration);
    ck_assert_msg(ct_same_pixels(g, in, &og, out, why, sizeof why), "%s other planar configuration: %s",
                  ct_geom_str(g), why);
    free(out);
    free(enc.bytes);
    free(in);
}

START_TEST(test_roundtrip_matrix)
{
    static const struct rt_matrix_spec spec = {bits, 5, layouts, 4, true, 1};
    static struct rt_case cases[300];
    size_t n = rt_matrix_of(&spec, cases, 300);
    ck_assert_uint_eq(n, 5 * 2 * 4 * 3 * 2);
    for (size_t i = 0; i < n; i++)
        roundtrip(&cases[i].g, cases[i].seed, cases[i].noise);
}
END_TEST

/* Long runs (more than 128 equal bytes), runs of exactly 2 and 3, and a
 * literal of more than 128 bytes. */
START_TEST(test_roundtrip_runs)
{
    struct ferry_frame g = rt_geom(3, 700, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t *in = malloc(3 * 700);
    for (int i = 0; i < 700; i++) {
        in[i] = 9;                                  /* one long run */
        in[700 + i] = (uint8_t)(i * 7 + (i >> 3)); /* mostly literal */
        in[1400 + i] = (uint8_t)((i / 2) % 3 == 0 ? i / 3 : i); /* short runs */
    }
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&rle, &g, in, &enc, &diag), 0);
    /* row 0: 700 = 5 runs of 128 + 60: two bytes each */
    ck_assert_uint_eq(enc.bytes[64], 257 - 128);
    ck_assert_uint_eq(enc.bytes[65], 9);
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&rle, &enc.frame, enc.bytes, enc.length, &out, &og, &diag), 0);
    ck_assert_mem_eq(out, in, 3 * 700);
    free(out);
    free(enc.bytes);
    free(in);
}
END_TEST

/* ---- the format, byte by byte ------------------------------------------ */

START_TEST(test_encode_bytes)
{
    struct ferry_frame g = rt_geom(2, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
    const uint8_t in[8] = {7, 7, 7, 7, 1, 2, 3, 4};
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&rle, &g, in, &enc, &diag), 0);
    uint8_t want[72] = {1, 0, 0, 0, 64, 0, 0, 0};
    const uint8_t seg[8] = {0xFD, 7, 0x03, 1, 2, 3, 4, 0}; /* replicate 4; literal 4; pad */
    memcpy(want + 64, seg, sizeof seg);
    ck_assert_uint_eq(enc.length, sizeof want);
    ck_assert_mem_eq(enc.bytes, want, sizeof want);
    free(enc.bytes);

    /* 16 bits: the most significant byte's segment first. */
    struct ferry_frame g16 = rt_geom(1, 2, 1, 16, 16, 0, 0, "MONOCHROME2");
    const uint8_t in16[4] = {0x34, 0x12, 0x56, 0x12};
    ck_assert_int_eq(ct_encode(&rle, &g16, in16, &enc, &diag), 0);
    uint8_t want16[70] = {2, 0, 0, 0, 64, 0, 0, 0, 66, 0, 0, 0};
    const uint8_t segs[6] = {0xFF, 0x12, 0x01, 0x34, 0x56, 0};
    memcpy(want16 + 64, segs, sizeof segs);
    ck_assert_uint_eq(enc.length, sizeof want16);
    ck_assert_mem_eq(enc.bytes, want16, sizeof want16);
    free(enc.bytes);
}
END_TEST

START_TEST(test_decode_handmade)
{
    /* Runs that cross rows, a no-op byte (0x80), and trailing bytes after
     * the plane is full: all allowed. */
    struct ferry_frame g = rt_geom(2, 3, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t s[64 + 8] = {1, 0, 0, 0, 64, 0, 0, 0};
    const uint8_t seg[8] = {0xFD, 5, 0x80, 0x01, 8, 9, 0x00, 0x00};
    memcpy(s + 64, seg, sizeof seg);
    uint8_t *out;
    struct ferry_frame og;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_decode(&rle, &g, s, sizeof s, &out, &og, &diag), 0);
    const uint8_t want[6] = {5, 5, 5, 5, 8, 9};
    ck_assert_mem_eq(out, want, 6);
    free(out);
}
END_TEST

/* Signed 12-bit in 16: the decoder sign-extends whatever the stream holds
 * above bit 11; unsigned gets zeros there. */
START_TEST(test_decode_canonical_high_bits)
{
    struct ferry_frame g = rt_geom(1, 2, 1, 16, 12, 1, 0, "MONOCHROME2");
    const uint8_t raw[4] = {0xFF, 0x0F, 0x01, 0x70}; /* 0x0FFF (-1 in 12 bits), 0x7001 */
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(&rle, &g, raw, &enc, &diag), 0);
    uint8_t *out;
    struct ferry_frame og;
    ck_assert_int_eq(ct_decode(&rle, &g, enc.bytes, enc.length, &out, &og, &diag), 0);
    const uint8_t signed_want[4] = {0xFF, 0xFF, 0x01, 0x00};
    ck_assert_mem_eq(out, signed_want, 4);
    free(out);
    g.pixel_representation = 0;
    ck_assert_int_eq(ct_decode(&rle, &g, enc.bytes, enc.length, &out, &og, &diag), 0);
    const uint8_t unsigned_want[4] = {0xFF, 0x0F, 0x01, 0x00};
    ck_assert_mem_eq(out, unsigned_want, 4);
    free(out);
    free(enc.bytes);
}
END_TEST

/* ---- parameters and geometry ---------------------------------------------- */

START_TEST(test_params)
{
    void *st;
    struct ferry_diag diag;
    const char *p[] = {"quality=5"};
    ck_assert_int_eq(ct_configure(&rle, p, 1, &st, &diag), -EINVAL);
    ck_assert_str_eq(diag.message, "unknown parameter \"quality\"; rle-lossless takes no parameters");
    ck_assert_int_eq(diag.param, 0);
    ck_assert_int_eq(ct_configure(&rle, NULL, 0, &st, &diag), 0);
    ck_assert_str_eq(rle.codec->transfer_syntax, "1.2.840.10008.1.2.5");
    ck_assert_uint_eq(rle.codec->flags, FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE);
}
END_TEST

START_TEST(test_geometry_refused)
{
    struct ferry_frame g = rt_geom(4, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
    g.bits_allocated = 12;
    g.bits_stored = 12;
    ct_expect_encode_error(&rle, &g, -EINVAL, "RLE: Bits Allocated 12 (must be 8, 16 or 32)");
    g = rt_geom(4, 4, 4, 8, 8, 0, 0, "ARGB");
    ct_expect_encode_error(&rle, &g, -EINVAL, "RLE: Samples per Pixel 4 (must be 1 or 3)");
    g = rt_geom(4, 4, 1, 16, 17, 0, 0, "MONOCHROME2");
    ct_expect_encode_error(&rle, &g, -EINVAL, "RLE: Bits Stored 17 with Bits Allocated 16");

    /* A frame shorter than its geometry. */
    g = rt_geom(4, 4, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t in[16] = {0};
    struct ferry_encoded enc = {.size = sizeof enc};
    struct ferry_diag diag = {.size = sizeof diag, .param = -1};
    ck_assert_int_eq(rle.codec->encode(NULL, harness_host(), &g, in, 15, &enc, &diag), -EINVAL);
    ck_assert_str_eq(diag.message, "RLE: frame holds 15 bytes, the geometry needs 16");
}
END_TEST

/* ---- hostile input ---------------------------------------------------------- */

START_TEST(test_decode_errors)
{
    struct ferry_frame g = rt_geom(2, 3, 1, 8, 8, 0, 0, "MONOCHROME2");
    uint8_t s[80];
    memset(s, 0, sizeof s);
    ct_expect_decode_error(&rle, &g, s, 63, -EBADMSG, "RLE: 63 bytes, shorter than the 64-byte header");
    ct_expect_decode_error(&rle, &g, s, 0, -EBADMSG, "RLE: 0 bytes, shorter than the 64-byte header");
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: header says 0 segments (must be 1..15)");
    s[0] = 16;
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: header says 16 segments (must be 1..15)");
    s[0] = 0xff;
    s[3] = 0xff;
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: header says 4278190335 segments (must be 1..15)");
    s[3] = 0;
    s[0] = 2;
    ct_expect_decode_error(&rle, &g, s, 80, -EINVAL,
                           "RLE: header says 2 segments, the geometry needs 1 (1 samples x 1 bytes)");
    s[0] = 1;
    s[4] = 63;
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: segment 1 offset 63 outside 64..80");
    s[4] = 81;
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: segment 1 offset 81 outside 64..80");
    s[7] = 0x80; /* huge offset */
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: segment 1 offset 2147483729 outside 64..80");
    s[7] = 0;
    s[4] = 80; /* an empty segment */
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: segment 1 ends after 0 of 6 bytes");
    s[4] = 64;
    s[64] = 0xF9; /* replicate 8 > 6 */
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG,
                           "RLE: segment 1: a run of 8 bytes at byte 0 passes the end of the 6-byte "
                           "plane");
    s[64] = 0x05; /* literal 6, but only 3 bytes left */
    ct_expect_decode_error(&rle, &g, s, 68, -EBADMSG,
                           "RLE: segment 1: a literal run of 6 bytes at byte 0 is cut off by the end "
                           "of the segment");
    s[64] = 0xFE; /* replicate 3 with its value cut off */
    ct_expect_decode_error(&rle, &g, s, 65, -EBADMSG,
                           "RLE: segment 1: a replicate run at byte 0 has no value");
    s[64] = 0x80; /* only no-ops */
    memset(s + 64, 0x80, 16);
    ct_expect_decode_error(&rle, &g, s, 80, -EBADMSG, "RLE: segment 1 ends after 0 of 6 bytes");

    /* Offsets out of order in a 3-segment frame. */
    struct ferry_frame rgb = rt_geom(2, 3, 3, 8, 8, 0, 1, "RGB");
    memset(s, 0, sizeof s);
    s[0] = 3;
    s[4] = 64;
    s[8] = 72;
    s[12] = 70;
    ct_expect_decode_error(&rle, &rgb, s, 80, -EBADMSG, "RLE: segment 3 offset 70 outside 72..80");
}
END_TEST

/* Every truncation and many random corruptions of valid streams: an error
 * with a message, or success, never a crash (run under ASan). */
START_TEST(test_decode_mutations)
{
    static const struct ferry_frame geoms[] = {
        {.size = sizeof(struct ferry_frame), .rows = 7, .columns = 9, .samples_per_pixel = 3,
         .bits_allocated = 16, .bits_stored = 16, .planar_configuration = 1, .photometric = "RGB"},
        {.size = sizeof(struct ferry_frame), .rows = 16, .columns = 5, .samples_per_pixel = 1,
         .bits_allocated = 8, .bits_stored = 8, .photometric = "MONOCHROME2"},
    };
    uint32_t rng = 12345;
    for (size_t k = 0; k < 2; k++) {
        const struct ferry_frame *g = &geoms[k];
        uint8_t *in = harness_synth_frame(g, 7, 3);
        struct ferry_encoded enc;
        struct ferry_diag diag;
        ck_assert_int_eq(ct_encode(&rle, g, in, &enc, &diag), 0);
        /* Every truncation is noticed, but for the last segment's pad byte. */
        ct_decode_truncations(&rle, &enc.frame, enc.bytes, enc.length - 1, NULL);
        (void)ct_decode_mutations(&rle, &enc.frame, enc.bytes, enc.length, &rng, 3000, 4);
        free(enc.bytes);
        free(in);
    }
}
END_TEST

/* The worker pool calls encode and decode from several threads at once
 * with one state (plugin.h): each thread has its own scratch. */
START_TEST(test_threads)
{
    struct ferry_frame g;
    g = rt_geom(64, 80, 1, 16, 12, 1, 0, "MONOCHROME2");
    ck_assert_uint_eq(ct_threaded_roundtrips(&rle, &g, 4, 25), 0);
    g = rt_geom(33, 17, 3, 8, 8, 0, 0, "RGB");
    ck_assert_uint_eq(ct_threaded_roundtrips(&rle, &g, 4, 25), 0);
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"roundtrip", test_roundtrip_matrix, 0},
        {"roundtrip", test_roundtrip_runs, 0},
        {"format", test_encode_bytes, 0},
        {"format", test_decode_handmade, 0},
        {"format", test_decode_canonical_high_bits, 0},
        {"params", test_params, 0},
        {"params", test_geometry_refused, 0},
        {"errors", test_decode_errors, 0},
        {"errors", test_decode_mutations, 0},
        {"threads", test_threads, 0},
    };
    return suite_run_table("rle", SUITE_ROWS(tests), setup, teardown);
}
