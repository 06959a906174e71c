/* Unit tests of the htj2k plugin (build/plugins/htj2k.so), decoding through
 * the j2k plugin (OpenJPEG): parameters, lossless round trips over the
 * geometry matrix for 4.201 and 4.202, the 4.202 constraints (RPCL,
 * decompositions, TLM), lossy quality; and the codestream marker parser /
 * TLM writer (j2k_markers.c, compiled in). */
#include "codec_test.h"
#include "j2k_markers.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_plugin *ht, *j2k;

static void setup(void)
{
    ht = ct_load("htj2k");
    j2k = ct_load("j2k");
}

static void teardown(void)
{
    harness_unload(ht);
    harness_unload(j2k);
}

static const struct ferry_codec *codec(struct harness_plugin *p, const char *key)
{
    return ct_find(p, key);
}

START_TEST(test_load)
{
    const struct ferry_plugin *d = harness_plugin_desc(ht);
    ck_assert_str_eq(d->name, "htj2k");
    ck_assert_uint_eq(d->n_codecs, 3);
    ck_assert_str_eq(codec(ht, "htj2k-lossless")->transfer_syntax, "1.2.840.10008.1.2.4.201");
    ck_assert_str_eq(codec(ht, "htj2k-lossless-rpcl")->transfer_syntax, "1.2.840.10008.1.2.4.202");
    ck_assert_str_eq(codec(ht, "htj2k")->transfer_syntax, "1.2.840.10008.1.2.4.203");
    ck_assert_uint_eq(codec(ht, "htj2k")->flags, FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY);
    ck_assert_uint_eq(codec(ht, "htj2k-lossless")->flags, FERRY_CODEC_ENCODE);
    ck_assert_ptr_null(codec(ht, "htj2k-lossless")->decode);
}
END_TEST

START_TEST(test_params)
{
    struct ferry_diag d;
    void *st;
    const struct ferry_codec *lossy = codec(ht, "htj2k");
    struct ferry_param ok[] = {{"qstep", "0.001"}};
    ck_assert_int_eq(ct_configure_with(lossy, ok, 1, &st, &d), 0);
    lossy->release(st);
    struct ferry_param autoq[] = {{"qstep", "auto"}};
    ck_assert_int_eq(ct_configure_with(lossy, autoq, 1, &st, &d), 0);
    lossy->release(st);
    struct ferry_param bad[] = {{"qstep", "0.7"}};
    ck_assert_int_eq(ct_configure_with(lossy, bad, 1, &st, &d), -22);
    ck_assert_int_eq(d.param, 0);
    ck_assert_str_eq(d.message, "qstep: '0.7' is not auto or a number from 0.00001 to 0.5");
    struct ferry_param bad2[] = {{"qstep", "0.01"}, {"rate", "10"}};
    ck_assert_int_eq(ct_configure_with(lossy, bad2, 2, &st, &d), -22);
    ck_assert_int_eq(d.param, 1);
    ck_assert_str_eq(d.message, "unknown parameter 'rate' (this codec takes qstep)");
    ck_assert_int_eq(ct_configure_with(codec(ht, "htj2k-lossless-rpcl"), ok, 1, &st, &d), -22);
    ck_assert_str_eq(d.message,
                     "unknown parameter 'qstep' (this codec is lossless and takes no parameters)");
}
END_TEST

struct matrix_ctx {
    const char *name;
    bool rpcl;
};

/* What the codestream says: a Part 15 one, reversible, with the colour
 * transform for RGB; 4.202's RPCL, decompositions and TLM. */
static void lossless_check(void *ctx, const struct rt_case *rc, const char *desc,
                           const struct rt_result *r, const uint8_t *cs, size_t len)
{
    const struct matrix_ctx *m = ctx;
    const struct ferry_frame *g = &rc->g;
    const char *want = strcmp(g->photometric, "RGB") == 0 ? "YBR_RCT" : g->photometric;
    ck_assert_msg(strcmp(r->coded.photometric, want) == 0, "%s: coded as %s", desc,
                  r->coded.photometric);
    ck_assert_str_eq(r->decoded.photometric,
                     strcmp(g->photometric, "RGB") == 0 ? "RGB" : g->photometric);

    struct jm_codestream info;
    char msg[200];
    ck_assert_msg(jm_parse(cs, len, &info, msg, sizeof msg) == 0, "%s: %s", desc, msg);
    ck_assert(info.has_cap); /* a Part 15 codestream */
    ck_assert(info.reversible);
    ck_assert_uint_eq(info.mct, strcmp(g->photometric, "RGB") == 0);
    if (m->rpcl) {
        /* PS3.5 10.18 */
        ck_assert_uint_eq(info.progression, JM_RPCL);
        uint32_t mn = g->rows < g->columns ? g->rows : g->columns;
        uint32_t base = (mn + (1u << info.decompositions) - 1) >> info.decompositions;
        ck_assert_msg(base <= 64, "%s: base resolution %u", desc, base);
        ck_assert_uint_ge(info.tlm_segments, 1);
        ck_assert_uint_eq(info.tlm_entries, info.n_tileparts);
        ck_assert_msg(info.tlm_consistent, "%s: TLM does not match the tile-parts", desc);
    } else {
        ck_assert_uint_eq(info.tlm_segments, 0);
    }
    jm_free(&info);
    if (g->rows == 511 && rc->noise == 0 && g->samples_per_pixel == 1)
        fprintf(stderr, "%s %-40s ratio %.2f\n", m->name, desc,
                (double)r->raw_bytes / (double)r->coded_bytes);
}

/* Every lossless case of the matrix, encoded by `name`, decoded by OpenJPEG. */
static void lossless_matrix(const char *name, const char *dec_uid, bool rpcl)
{
    const struct ferry_codec *enc = codec(ht, name);
    const struct ferry_codec *dec = codec(j2k, dec_uid);
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
    static struct rt_case cases[400];
    size_t n = rt_matrix(cases, 400, RT_SIGNED_COLOUR);
    struct matrix_ctx m = {name, rpcl};
    ct_lossless_matrix(cases, n, enc, st, dec, NULL, name, lossless_check, &m);
    enc->release(st);
}

START_TEST(test_lossless_matrix)
{
    lossless_matrix("htj2k-lossless", "1.2.840.10008.1.2.4.201", false);
}
END_TEST

START_TEST(test_rpcl_matrix)
{
    lossless_matrix("htj2k-lossless-rpcl", "1.2.840.10008.1.2.4.202", true);
}
END_TEST

/* A frame big enough to need more than 5 decompositions for 4.202. */
START_TEST(test_rpcl_large)
{
    const struct ferry_codec *enc = codec(ht, "htj2k-lossless-rpcl");
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
    struct ferry_frame g = rt_geom(2500, 4100, 1, 16, 12, 0, 0, "MONOCHROME2");
    uint8_t *frame = harness_synth_frame(&g, 9, 0);
    struct rt_result r;
    uint8_t *cs;
    size_t len;
    ck_assert_msg(rt_run(enc, st, codec(j2k, "1.2.840.10008.1.2.4.202"), NULL, &g, frame, &r,
                         &cs, &len) == 0,
                  "%s", r.msg);
    ck_assert(r.exact);
    struct jm_codestream info;
    char msg[200];
    ck_assert_int_eq(jm_parse(cs, len, &info, msg, sizeof msg), 0);
    ck_assert_uint_eq(info.decompositions, 6); /* 2500 / 2^6 = 39.06 -> 40 <= 64 */
    ck_assert(info.tlm_consistent);
    jm_free(&info);
    free(cs);
    free(frame);
    enc->release(st);
}
END_TEST

START_TEST(test_lossy)
{
    const struct ferry_codec *enc = codec(ht, "htj2k");
    const struct ferry_codec *dec = codec(j2k, "1.2.840.10008.1.2.4.203");
    /* CT-like 512x512 12-of-16-bit signed frame, noise +-20. Floors: what
     * OpenJPH 0.9 reached on this frame less 3 dB (default auto = 1/256 at
     * 12 bits: 54.5 dB at 12:1; 0.001: 68.3; 0.02: 49.9), a regression
     * guard that still means visually lossless over a 12-bit range. */
    static const struct {
        const char *q;
        double floor;
    } cases[] = {{NULL, 51.0}, {"0.001", 65.0}, {"0.004", 51.0}, {"0.02", 46.0}};
    struct ferry_frame g = rt_geom(512, 512, 1, 16, 12, 1, 0, "MONOCHROME2");
    uint8_t *frame = harness_synth_frame(&g, 11, 20);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ferry_param p[] = {{"qstep", cases[i].q}};
        struct ferry_diag d;
        void *st;
        ck_assert_int_eq(ct_configure_with(enc, p, cases[i].q ? 1 : 0, &st, &d), 0);
        struct rt_result r;
        ck_assert_msg(rt_run(enc, st, dec, NULL, &g, frame, &r, NULL, NULL) == 0, "%s", r.msg);
        fprintf(stderr, "htj2k lossy qstep=%-6s ratio %6.2f PSNR %6.2f dB (floor %.0f)\n",
                cases[i].q ? cases[i].q : "default", (double)r.raw_bytes / r.coded_bytes, r.psnr,
                cases[i].floor);
        ck_assert_uint_eq(r.lossy, 1);
        ck_assert_msg(r.psnr >= cases[i].floor, "qstep %s: PSNR %.2f", cases[i].q, r.psnr);
        enc->release(st);
    }
    free(frame);

    /* 16 bits stored holding 12 bits of CT: auto caps the step at 16 grey
     * levels, so the error stays that of the 12-bit frame, not 16 times
     * coarser (compare the MSE in 12-bit units). */
    {
        struct ferry_diag d;
        void *st;
        ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
        struct ferry_frame g12 = rt_geom(256, 256, 1, 16, 12, 1, 0, "MONOCHROME2");
        struct ferry_frame g16 = rt_geom(256, 256, 1, 16, 16, 1, 0, "MONOCHROME2");
        uint8_t *f12 = harness_synth_frame(&g12, 5, 20); /* sign-extended: valid as 16 bits */
        struct rt_result r12, r16;
        ck_assert_int_eq(rt_run(enc, st, dec, NULL, &g12, f12, &r12, NULL, NULL), 0);
        ck_assert_int_eq(rt_run(enc, st, dec, NULL, &g16, f12, &r16, NULL, NULL), 0);
        /* PSNR over 16 bits is 24.1 dB above the same error over 12 bits */
        double mse_ratio = pow(10.0, (r12.psnr - (r16.psnr - 20 * log10(65535.0 / 4095.0))) / 10);
        fprintf(stderr, "htj2k lossy auto: 12-bit PSNR %.2f, 16-bit-stored PSNR %.2f, MSE ratio %.2f\n",
                r12.psnr, r16.psnr, mse_ratio);
        ck_assert_msg(mse_ratio < 2.0, "16-bit-stored error %.2f times the 12-bit one", mse_ratio);
        free(f12);
        enc->release(st);
    }

    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
    g = rt_geom(200, 300, 3, 8, 8, 0, 1, "RGB");
    frame = harness_synth_frame(&g, 4, 3);
    struct rt_result r;
    ck_assert_msg(rt_run(enc, st, dec, NULL, &g, frame, &r, NULL, NULL) == 0, "%s", r.msg);
    fprintf(stderr, "htj2k lossy RGB 8-bit default ratio %.2f PSNR %.2f dB\n",
            (double)r.raw_bytes / r.coded_bytes, r.psnr);
    ck_assert_str_eq(r.coded.photometric, "YBR_ICT");
    ck_assert_str_eq(r.decoded.photometric, "RGB");
    ck_assert_msg(r.psnr >= 41.0, "RGB PSNR %.2f", r.psnr);
    free(frame);
    enc->release(st);
}
END_TEST

/* Frames whose smaller side is a power of two up to 32: with as many
 * decompositions as halvings, the lowest resolution is 1x1 and OpenJPH 0.9's
 * 9/7 path coded errors of half the range. The plugin stops at 2x2. */
START_TEST(test_lossy_small_powers_of_two)
{
    const struct ferry_codec *enc = codec(ht, "htj2k");
    const struct ferry_codec *dec = codec(j2k, "1.2.840.10008.1.2.4.203");
    static const uint32_t sides[][2] = {{2, 2}, {4, 4}, {8, 8}, {16, 16}, {32, 32}, {16, 40},
                                        {32, 7}};
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        struct ferry_frame g = rt_geom(sides[i][0], sides[i][1], 1, 16, 16, 1, 0, "MONOCHROME2");
        uint8_t *frame = harness_synth_frame(&g, 7, 300);
        struct rt_result r;
        ck_assert_msg(rt_run(enc, st, dec, NULL, &g, frame, &r, NULL, NULL) == 0, "%s", r.msg);
        ck_assert_msg(r.psnr >= 60.0, "%ux%u 16-bit signed: PSNR %.2f", sides[i][0],
                      sides[i][1], r.psnr);
        free(frame);
    }
    enc->release(st);
}
END_TEST

START_TEST(test_encode_errors)
{
    const struct ferry_codec *enc = codec(ht, "htj2k");
    struct ferry_diag d;
    void *st;
    ck_assert_int_eq(ct_configure_with(enc, NULL, 0, &st, &d), 0);
    uint8_t buf[64 * 3 * 4] = {0};
    struct ferry_frame g = rt_geom(8, 8, 3, 8, 8, 0, 0, "YBR_FULL_422");
    struct ferry_encoded e = {.size = sizeof e};
    ck_assert_int_eq(enc->encode(st, harness_host(), &g, buf, 192, &e, &d), -22);
    ck_assert_str_eq(d.message,
                     "cannot encode Photometric Interpretation 'YBR_FULL_422' (RGB or YBR_FULL)");
    g = rt_geom(8, 8, 1, 32, 20, 0, 0, "MONOCHROME2");
    ck_assert_int_eq(enc->encode(st, harness_host(), &g, buf, 256, &e, &d), -22);
    ck_assert_str_eq(d.message, "unsupported Bits Allocated 32 (this codec takes 8 16)");
    g = rt_geom(8, 8, 1, 8, 8, 0, 0, "MONOCHROME2");
    ck_assert_int_eq(enc->encode(st, harness_host(), &g, buf, 63, &e, &d), -22);
    ck_assert_str_eq(d.message, "the frame has 63 bytes but its geometry needs 64");
    ck_assert_ptr_null(e.bytes);
    enc->release(st);
}
END_TEST

/* --- the marker parser and TLM writer ------------------------------------ */

/* A syntactically complete codestream with a tx x ty tile grid of 1x1
 * tiles, `parts` tile-parts per tile of `body` data bytes each (not a
 * decodable image: the parser does not look inside packets). */
static uint8_t *fake_codestream(uint32_t tx, uint32_t ty, uint32_t parts, uint32_t body,
                                bool last_psot_zero, size_t *len)
{
    size_t n = 2 + 43 + 14 + (size_t)tx * ty * parts * (14 + body) + 2;
    uint8_t *p = calloc(1, n), *q = p;
#define B(x) (*q++ = (uint8_t)(x))
#define U16(x) (B((x) >> 8), B(x))
#define U32(x) (U16((x) >> 16), U16(x))
    U16(0xff4f);
    U16(0xff51); U16(41); U16(0); U32(tx); U32(ty); U32(0); U32(0); U32(1); U32(1); U32(0); U32(0);
    U16(1); B(7); B(1); B(1);
    U16(0xff52); U16(12); B(0); B(JM_RPCL); U16(1); B(0); B(0); B(4); B(4); B(0x40); B(1);
    for (uint32_t t = 0; t < tx * ty; t++)
        for (uint32_t k = 0; k < parts; k++) {
            bool zero = last_psot_zero && t == tx * ty - 1 && k == parts - 1;
            U16(0xff90); U16(10); U16(t); U32(zero ? 0 : 14 + body); B(k); B(parts);
            U16(0xff93);
            for (uint32_t i = 0; i < body; i++)
                B(i * 7 + t);
        }
    U16(0xffd9);
#undef B
#undef U16
#undef U32
    *len = (size_t)(q - p);
    ck_assert_uint_eq(*len, n);
    return p;
}

static void check_tlm_roundtrip(uint32_t tx, uint32_t ty, uint32_t parts, uint32_t body,
                                bool psot0, uint32_t want_segments, uint8_t want_stlm)
{
    size_t n;
    uint8_t *p = fake_codestream(tx, ty, parts, body, psot0, &n);
    struct jm_codestream cs;
    char msg[200];
    ck_assert_msg(jm_parse(p, n, &cs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(cs.n_tileparts, tx * ty * parts);
    ck_assert_uint_eq(cs.tlm_segments, 0);
    size_t extra = jm_tlm_size(&cs);
    uint8_t *out = malloc(n + extra);
    jm_write_with_tlm(p, n, &cs, out);
    size_t tlm_at = cs.main_header_end;
    jm_free(&cs);
    ck_assert_uint_eq(out[tlm_at], 0xff);
    ck_assert_uint_eq(out[tlm_at + 1], 0x55);
    ck_assert_uint_eq(out[tlm_at + 5], want_stlm);
    ck_assert_msg(jm_parse(out, n + extra, &cs, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_uint_eq(cs.tlm_segments, want_segments);
    ck_assert_uint_eq(cs.tlm_entries, tx * ty * parts);
    ck_assert(cs.tlm_consistent);
    /* Everything after the TLM segments is the original, unchanged. */
    ck_assert_int_eq(memcmp(out + tlm_at + extra, p + tlm_at, n - tlm_at), 0);
    jm_free(&cs);
    free(out);
    free(p);
}

START_TEST(test_tlm_writer)
{
    check_tlm_roundtrip(1, 1, 1, 100, false, 1, 0x10);         /* ST=1, SP=0 */
    check_tlm_roundtrip(1, 1, 1, 70000, false, 1, 0x50);       /* SP=1: Psot > 65535 */
    check_tlm_roundtrip(3, 2, 4, 20, true, 1, 0x10);           /* Psot 0 on the last */
    check_tlm_roundtrip(20, 20, 1, 2, false, 1, 0x20);         /* ST=2: tile 399 */
    check_tlm_roundtrip(128, 128, 1, 2, false, 2, 0x20);       /* 16384 > 16382 per segment */
}
END_TEST

START_TEST(test_tlm_detects_mismatch)
{
    size_t n;
    uint8_t *p = fake_codestream(2, 1, 1, 10, false, &n);
    struct jm_codestream cs;
    char msg[200];
    ck_assert_int_eq(jm_parse(p, n, &cs, msg, sizeof msg), 0);
    size_t extra = jm_tlm_size(&cs);
    uint8_t *out = malloc(n + extra);
    jm_write_with_tlm(p, n, &cs, out);
    size_t at = cs.main_header_end;
    jm_free(&cs);
    out[at + 8] ^= 1; /* first Ptlm's low byte (ST=1, SP=0: Ttlm at +6, Ptlm at +7) */
    ck_assert_int_eq(jm_parse(out, n + extra, &cs, msg, sizeof msg), 0);
    ck_assert(!cs.tlm_consistent);
    jm_free(&cs);
    free(out);
    free(p);
}
END_TEST

START_TEST(test_parser_errors)
{
    size_t n;
    uint8_t *p = fake_codestream(2, 2, 1, 10, false, &n);
    uint8_t *b = malloc(n);
    struct jm_codestream cs;
    char msg[200];
    static const struct {
        size_t at;
        uint8_t value;
        const char *message;
    } cases[] = {
        {0, 0x00, "codestream byte 0: not a JPEG 2000 codestream (no SOC and SIZ markers)"},
        {5, 0x30, "codestream byte 2: SIZ length does not match its component count"},
        {27, 0x00, "codestream byte 2: SIZ tile grid does not cover the image"},
        {50, 0x07, "codestream byte 45: COD progression order is not one of LRCP, RLCP, RPCL, PCRL, CPRL"},
        {54, 0x21, "codestream byte 45: COD has more than 32 decomposition levels"},
        {47, 0x07, "codestream byte 45: marker segment length runs past the end of the codestream"},
        {45, 0x7f, "codestream byte 45: expected a marker in the main header"},
        {46, 0xd9, "codestream byte 45: misplaced SOC, SOD or EOC marker in the main header"},
        {62, 0x12, "codestream byte 59: SOT marker segment cut off or of the wrong length"},
        {64, 0x09, "codestream byte 59: SOT tile index beyond the tile grid"},
        {65, 0x7f, "codestream byte 59: Psot runs past the end of the codestream"},
        {59 + 24, 0x00, "codestream byte 83: expected SOT or EOC after a tile-part"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, p, n);
        b[cases[i].at] = cases[i].value;
        ck_assert_int_eq(jm_parse(b, n, &cs, msg, sizeof msg), -22);
        ck_assert_str_eq(msg, cases[i].message);
    }
    /* Cut anywhere: an error, never a read past the end (ASan watches);
     * only a cut that drops just the EOC still parses (the last tile-part
     * ends the buffer). */
    for (size_t cut = 0; cut < n; cut++) {
        if (cut == n - 2)
            continue;
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, p, cut);
        ck_assert_int_eq(jm_parse(c, cut, &cs, msg, sizeof msg), -22);
        ck_assert(msg[0] != '\0');
        free(c);
    }
    ck_assert_int_eq(jm_parse(p, n - 2, &cs, msg, sizeof msg), 0);
    ck_assert_uint_eq(cs.eoc, n - 2);
    jm_free(&cs);
    free(b);
    free(p);
}
END_TEST

/* Tile-part headers are walked to their SOD; the data after it must hold no
 * marker code 0xFF90..0xFFFF but SOP and EPH. */
START_TEST(test_check_data)
{
    size_t n;
    uint8_t *p = fake_codestream(1, 2, 1, 6, false, &n);
    struct jm_codestream cs;
    char msg[200];
    size_t at = 0;
    ck_assert_int_eq(jm_parse(p, n, &cs, msg, sizeof msg), 0);
    ck_assert_uint_eq(cs.tileparts[0].data, 59 + 14);
    ck_assert_int_eq(jm_check_data(p, n, &cs, &at), 0);
    jm_free(&cs);
    /* second tile-part data starts at 59 + 20 + 14 = 93 */
    static const struct {
        uint8_t a, b;
        int rc;
    } pairs[] = {{0xff, 0x8f, 0}, {0xff, 0x91, 0}, {0xff, 0x92, 0}, {0xff, 0x90, -22},
                 {0xff, 0xd9, -22}, {0xff, 0xff, -22}, {0xfe, 0xff, 0}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        uint8_t *q = malloc(n);
        memcpy(q, p, n);
        q[95] = pairs[i].a;
        q[96] = pairs[i].b;
        ck_assert_int_eq(jm_parse(q, n, &cs, msg, sizeof msg), 0);
        ck_assert_int_eq(jm_check_data(q, n, &cs, &at), pairs[i].rc);
        if (pairs[i].rc)
            ck_assert_uint_eq(at, 95);
        jm_free(&cs);
        free(q);
    }
    /* A tile-part header marker (COM) before SOD; then one without SOD. */
    uint8_t *q = malloc(n + 6);
    memcpy(q, p, 59 + 12);
    static const uint8_t com[] = {0xff, 0x64, 0x00, 0x04, 0x00, 0x01};
    memcpy(q + 59 + 12, com, 6);
    memcpy(q + 59 + 18, p + 59 + 12, n - 59 - 12);
    q[59 + 9] = (uint8_t)(20 + 6); /* Psot low byte: 14 + 6 data + 6 COM */
    ck_assert_int_eq(jm_parse(q, n + 6, &cs, msg, sizeof msg), 0);
    ck_assert_uint_eq(cs.tileparts[0].data, 59 + 20);
    jm_free(&cs);
    q[59 + 18] = 0x00; /* the SOD becomes data: the header runs to the end */
    ck_assert_int_eq(jm_parse(q, n + 6, &cs, msg, sizeof msg), -22);
    ck_assert_str_eq(msg, "codestream byte 77: expected a marker in the tile-part header");
    free(q);
    free(p);
}
END_TEST

START_TEST(test_jp2_box)
{
    static const uint8_t jp2[] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0d, 0x0a, 0x87, 0x0a,
                                  0, 0, 0, 0x0c, 'f', 't', 'y', 'p', 'j', 'p', '2', ' ',
                                  0, 0, 0, 0x0c, 'j', 'p', '2', 'c', 0xff, 0x4f, 0xff, 0x51};
    const uint8_t *cs;
    size_t len;
    char msg[200];
    ck_assert_int_eq(jm_jp2_codestream(jp2, sizeof jp2, &cs, &len, msg, sizeof msg), 0);
    ck_assert_ptr_eq(cs, jp2 + 32);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(jm_jp2_codestream(jp2, 24, &cs, &len, msg, sizeof msg), -22);
    ck_assert_str_eq(msg, "JP2 file without a codestream (jp2c) box");
    uint8_t bad[sizeof jp2];
    memcpy(bad, jp2, sizeof jp2);
    bad[15] = 0x7f;
    ck_assert_int_eq(jm_jp2_codestream(bad, sizeof bad, &cs, &len, msg, sizeof msg), -22);
    ck_assert_str_eq(msg, "JP2 byte 12: box length runs past the end of the file");
}
END_TEST

int main(void)
{
    const struct suite_test tests[] = {
        {"load", test_load, 30},
        {"params", test_params, 30},
        {"lossless", test_lossless_matrix, 240},
        {"rpcl", test_rpcl_matrix, 240},
        {"rpcl_large", test_rpcl_large, 120},
        {"lossy", test_lossy, 120},
        {"lossy_small", test_lossy_small_powers_of_two, 30},
        {"encode_errors", test_encode_errors, 30},
        {"tlm_writer", test_tlm_writer, 60},
        {"tlm_mismatch", test_tlm_detects_mismatch, 30},
        {"parser_errors", test_parser_errors, 60},
        {"check_data", test_check_data, 30},
        {"jp2_box", test_jp2_box, 30},
    };
    return suite_run_table("htj2k", SUITE_ROWS(tests), setup, teardown);
}
