/* Unit tests of plugins/common/frame_samples.c against a plain reference:
 * every Bits Allocated (8, 16, 32), every Bits Stored, both signs, both
 * planar configurations, with junk above the high bit. */
#include "check_suite.h"
#include "codec_roundtrip.h"
#include "frame_samples.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ferry_frame geom(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba,
                               uint16_t bs, uint16_t sgn, uint16_t planar)
{
    return rt_geom(rows, cols, spp, ba, bs, sgn, planar, spp == 3 ? "RGB" : "MONOCHROME2");
}

/* The value of the raw word w as bits_stored bits of a signed or unsigned
 * sample. */
static int64_t ref_value(uint64_t w, unsigned bs, bool sgn)
{
    uint64_t v = w & ((1ull << bs) - 1);
    if (sgn && (v >> (bs - 1)) & 1)
        return (int64_t)v - ((int64_t)1 << bs);
    return (int64_t)v;
}

static uint64_t load(const uint8_t *p, unsigned bytes)
{
    uint64_t w = 0;
    for (unsigned k = 0; k < bytes; k++)
        w |= (uint64_t)p[k] << (8 * k);
    return w;
}

START_TEST(test_rows)
{
    static const uint16_t bas[] = {8, 16, 32};
    uint32_t seed = 12345;
    for (size_t a = 0; a < 3; a++)
        for (uint16_t bs = 1; bs <= bas[a] && bs <= 31; bs++)
            for (uint16_t sgn = 0; sgn < 2; sgn++)
                for (int lay = 0; lay < 3; lay++) {
                    uint16_t spp = lay ? 3 : 1, planar = lay == 2;
                    struct ferry_frame g = geom(5, 7, spp, bas[a], bs, sgn, planar);
                    struct fs_layout l;
                    char msg[200];
                    ck_assert_msg(fs_layout_from_frame(&g, FS_ALLOC_8 | FS_ALLOC_16 | FS_ALLOC_32,
                                                       32, &l, msg, sizeof msg) == 0,
                                  "%s", msg);
                    unsigned b = bas[a] / 8;
                    uint8_t *raw = malloc(l.frame_size), *back = malloc(l.frame_size),
                            *norm = malloc(l.frame_size);
                    for (size_t i = 0; i < l.frame_size; i++) {
                        seed = seed * 1103515245u + 12345u;
                        raw[i] = (uint8_t)(seed >> 16);
                    }
                    memset(back, 0xee, l.frame_size);
                    int32_t row[7];
                    for (uint32_t c = 0; c < spp; c++)
                        for (uint32_t r = 0; r < 5; r++) {
                            fs_read_row(raw, &l, r, c, row);
                            for (uint32_t x = 0; x < 7; x++) {
                                size_t idx = planar ? ((size_t)c * 5 + r) * 7 + x
                                                    : ((size_t)r * 7 + x) * spp + c;
                                int64_t want = ref_value(load(raw + idx * b, b), bs, sgn);
                                ck_assert_msg(row[x] == want,
                                              "read ba %u bs %u sgn %u lay %d: %d != %lld",
                                              bas[a], bs, sgn, lay, row[x], (long long)want);
                            }
                            fs_write_row(back, &l, r, c, row);
                        }
                    /* what was written: the value, zero or sign above it */
                    for (size_t i = 0; i < l.frame_size / b; i++) {
                        int64_t v = ref_value(load(raw + i * b, b), bs, sgn);
                        uint64_t want = (uint64_t)v & (b == 8 ? ~0ull : ((1ull << (8 * b)) - 1));
                        ck_assert_msg(load(back + i * b, b) == want,
                                      "write ba %u bs %u sgn %u lay %d at %zu", bas[a], bs, sgn,
                                      lay, i);
                    }
                    /* fs_normalise does in place what read+write did */
                    memcpy(norm, raw, l.frame_size);
                    fs_normalise(norm, &l);
                    ck_assert_msg(memcmp(norm, back, l.frame_size) == 0,
                                  "normalise ba %u bs %u sgn %u", bas[a], bs, sgn);
                    if (planar) {
                        uint8_t *inter = malloc(l.frame_size);
                        fs_planar_to_interleaved(inter, raw, &l);
                        for (size_t i = 0; i < 35; i++)
                            for (unsigned c = 0; c < 3; c++)
                                ck_assert(memcmp(inter + (i * 3 + c) * b, raw + (c * 35 + i) * b, b) == 0);
                        free(inter);
                    }
                    free(raw);
                    free(back);
                    free(norm);
                }
}
END_TEST

START_TEST(test_layout_errors)
{
    struct fs_layout l;
    char msg[200];
    struct ferry_frame g = geom(4, 4, 1, 16, 12, 0, 0);
    ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_8, 16, &l, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "unsupported Bits Allocated 16 (this codec takes 8)");
    g = geom(4, 4, 3, 8, 8, 0, 0);
    g.planar_configuration = 2;
    ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_8, 16, &l, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "invalid Planar Configuration 2");
    g = geom(4, 4, 1, 8, 8, 0, 0);
    g.pixel_representation = 2;
    ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_8, 16, &l, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "invalid Pixel Representation 2");
    g = geom(70000, 4, 1, 8, 8, 0, 0);
    ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_8, 16, &l, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "unsupported frame size 70000x4 (rows and columns must be 1 to 65535)");
    g = geom(4, 4, 1, 16, 12, 1, 0);
    ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_16, 16, &l, msg, sizeof msg), 0);
    ck_assert_int_eq(fs_min_value(&l), -2048);
    ck_assert_int_eq(fs_max_value(&l), 2047);
    ck_assert_uint_eq(l.frame_size, 32);
}
END_TEST

START_TEST(test_canonical)
{
    static const unsigned allocs[] = { 8, 16, 32 };
    for (size_t a = 0; a < 3; a++) {
        unsigned ba = allocs[a], bytes = ba / 8;
        for (unsigned bs = 1; bs <= (ba < 31 ? ba : 31); bs++) { /* the layout takes 31 */
            struct ferry_frame g = geom(3, 5, 1, (uint16_t)ba, (uint16_t)bs, 0, 0);
            struct fs_layout l;
            char msg[200];
            ck_assert_int_eq(fs_layout_from_frame(&g, FS_ALLOC_8 | FS_ALLOC_16 | FS_ALLOC_32, 32,
                                                  &l, msg, sizeof msg), 0);
            uint8_t frame[15 * 4];
            memset(frame, 0, sizeof frame);
            /* every sample at its largest value: canonical */
            for (size_t i = 0; i < 15; i++)
                for (unsigned k = 0; k < bytes; k++)
                    frame[i * bytes + k] =
                        (uint8_t)(((1ull << bs) - 1) >> (8 * k));
            ck_assert_msg(fs_is_canonical_unsigned(frame, &l), "%u/%u", ba, bs);
            if (bs < ba) {
                /* one bit above Bits Stored in the last sample */
                frame[14 * bytes + bs / 8] |= (uint8_t)(1u << (bs % 8));
                ck_assert_msg(!fs_is_canonical_unsigned(frame, &l), "%u/%u junk", ba, bs);
            }
            l.is_signed = true;
            ck_assert(!fs_is_canonical_unsigned(frame, &l));
        }
    }
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"rows", test_rows, 0},
        {"canonical", test_canonical, 0},
        {"layout_errors", test_layout_errors, 0},
    };
    return suite_run_table("plugin_common", SUITE_ROWS(tests), NULL, NULL);
}
