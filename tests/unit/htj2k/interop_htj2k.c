/* Interop of HTJ2K: the htj2k plugin's codestreams (4.201, 4.202, 4.203)
 * decode with OpenJPH's ojph_expand and OpenJPEG's opj_decompress to the
 * same pixels; codestreams made by ojph_compress decode with the j2k
 * plugin's HTJ2K decoders to the same pixels. Skips (77) without the tools.
 *
 * OpenJPEG and OpenJPH may round the irreversible 9/7 wavelet differently:
 * for lossy streams the two decoders are compared within +-1 (12 bits) to
 * +-4 (16 bits). */
#include "codec_test.h"
#include "j2k_markers.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UID_HT "1.2.840.10008.1.2.4.201"
#define UID_HT_RPCL "1.2.840.10008.1.2.4.202"
#define UID_HT_LOSSY "1.2.840.10008.1.2.4.203"

static struct harness_plugin *ht, *j2k;

static void setup(void)
{
    ht = ct_load("htj2k");
    j2k = ct_load("j2k");
    ck_assert_ptr_nonnull(rt_workdir_create("htj2k"));
}

static void teardown(void)
{
    harness_unload(ht);
    harness_unload(j2k);
    rt_workdir_remove();
}

/* PGM/PPM (unsigned samples; 16-bit big endian when maxval > 255), the
 * only formats ojph_expand writes for colour-transformed codestreams. */
static int write_pnm(const char *file, const struct ferry_frame *g, const uint8_t *frame)
{
    uint8_t *inter = rt_interleaved(g, frame);
    size_t bytes = (g->bits_allocated + 7u) / 8u, count = harness_frame_size(g) / bytes;
    FILE *f = fopen(file, "wb");
    if (!f) {
        free(inter);
        return -1;
    }
    fprintf(f, "P%c\n%u %u\n%u\n", g->samples_per_pixel == 3 ? '6' : '5', (unsigned)g->columns,
            (unsigned)g->rows, (1u << g->bits_stored) - 1);
    for (size_t i = 0; i < count; i++) {
        if (bytes == 2 && g->bits_stored > 8)
            fputc(inter[2 * i + 1], f);
        fputc(inter[bytes * i], f);
    }
    fclose(f);
    free(inter);
    return 0;
}

static int read_pnm(const char *file, const struct ferry_frame *g, uint8_t *out)
{
    size_t len;
    uint8_t *p = rt_read_file(file, &len);
    if (!p)
        return -1;
    unsigned w, h, maxval;
    char magic;
    int hdr = 0;
    if (sscanf((const char *)p, "P%c %u %u %u%n", &magic, &w, &h, &maxval, &hdr) != 4 ||
        w != g->columns || h != g->rows) {
        free(p);
        return -1;
    }
    const uint8_t *q = p + hdr + 1;
    size_t bytes = (g->bits_allocated + 7u) / 8u, count = harness_frame_size(g) / bytes;
    size_t in_bytes = maxval > 255 ? 2 : 1;
    if ((size_t)(q - p) + count * in_bytes > len) {
        free(p);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        unsigned v = in_bytes == 2 ? (unsigned)(q[2 * i] << 8 | q[2 * i + 1]) : q[i];
        out[bytes * i] = (uint8_t)v;
        if (bytes == 2)
            out[bytes * i + 1] = (uint8_t)(v >> 8);
    }
    free(p);
    return 0;
}

/* Run a decoder tool to planar raw and read it as a normalised
 * colour-by-pixel frame of geometry g. */
static uint8_t *tool_decode(bool opj, const char *in, const struct ferry_frame *g)
{
    if (opj) {
        uint8_t *out = rt_opj_decompress(in, rt_path("opj.rawl"), g);
        ck_assert_msg(out != NULL, "opj_decompress failed on %s", in);
        return out;
    }
    /* ojph_expand writes colour-transformed codestreams only as PPM */
    bool pnm = g->samples_per_pixel == 3;
    const char *out_name = pnm ? "ojph.ppm" : "ojph.yuv";
    ck_assert_msg(rt_system(120, "ojph_expand -i '%s' -o '%s' > /dev/null", in, rt_path(out_name)) == 0,
                  "ojph_expand failed on %s", in);
    if (!pnm) {
        uint8_t *out = rt_read_raw_frame(rt_path(out_name), g);
        ck_assert_msg(out != NULL, "%s: wrong size", out_name);
        return out;
    }
    uint8_t *out = malloc(harness_frame_size(g));
    ck_assert_msg(read_pnm(rt_path(out_name), g, out) == 0, "%s: unreadable", out_name);
    struct ferry_frame gi = *g;
    gi.planar_configuration = 0;
    rt_normalise(&gi, out);
    return out;
}

static long max_abs_diff(const struct ferry_frame *g, const uint8_t *a, const uint8_t *b)
{
    size_t bytes = (g->bits_allocated + 7u) / 8u, count = harness_frame_size(g) / bytes;
    long worst = 0;
    for (size_t i = 0; i < count; i++) {
        long x = 0, y = 0;
        for (size_t k = 0; k < bytes; k++) {
            x |= (long)a[i * bytes + k] << (8 * k);
            y |= (long)b[i * bytes + k] << (8 * k);
        }
        if (g->pixel_representation && bytes == 2) {
            x = (int16_t)x;
            y = (int16_t)y;
        } else if (g->pixel_representation) {
            x = (int8_t)x;
            y = (int8_t)y;
        }
        long dd = x > y ? x - y : y - x;
        if (dd > worst)
            worst = dd;
    }
    return worst;
}

static void ours_to_tools(const char *codec, const char *dec_uid, struct ferry_frame g, unsigned noise)
{
    const struct ferry_codec *enc = harness_codec(ht, codec);
    const struct ferry_codec *dec = harness_codec(j2k, dec_uid);
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    void *st;
    ck_assert_int_eq(enc->configure(NULL, 0, &st, &d), 0);
    struct ct_ours o;
    ct_ours_make(&o, enc, st, dec, NULL, &g, 53, noise, rt_path("ours.j2c"));
    const char *desc = o.desc;
    size_t n = harness_frame_size(&g);
    uint8_t *want = o.want;
    o.want = NULL;
    uint8_t *opj = tool_decode(true, rt_path("ours.j2c"), &g);
    ck_assert_msg(memcmp(opj, want, n) == 0, "%s %s: opj_decompress decodes other pixels", codec,
                  desc);
    /* (from here on `want` may be clamped for ojph_expand's sake) */
    uint8_t *ojph = tool_decode(false, rt_path("ours.j2c"), &g);
    if (g.pixel_representation) {
        /* ojph_expand 0.9 writes .yuv as unsigned: negative samples come out
         * as 0. Compare with that clamp applied to what we expect. */
        uint8_t *clamped = malloc(n);
        memcpy(clamped, want, n);
        size_t bytes = (g.bits_allocated + 7u) / 8u;
        for (size_t i = 0; i < n; i += bytes)
            if (clamped[i + bytes - 1] & 0x80)
                memset(clamped + i, 0, bytes);
        free(want);
        want = clamped;
        struct ferry_frame ug = g;
        ug.pixel_representation = 0;
        ug.bits_stored = (uint16_t)(8 * bytes);
        rt_normalise(&ug, ojph);
    }
    long diff = max_abs_diff(&g, ojph, want);
    /* Two floating-point 9/7 implementations: +-1 at 12 bits, a few more
     * units at 16 bits (the same relative error). */
    long tol = o.r.lossy ? 1 + (((1L << g.bits_stored) - 1) >> 14) : 0;
    ck_assert_msg(diff <= tol, "%s %s: ojph_expand differs by %ld", codec, desc, diff);
    fprintf(stderr, "ours -> opj_decompress, ojph_expand %-20s %-40s ok (ojph max diff %ld)\n",
                  codec, desc, diff);
    free(ojph);
    free(opj);
    free(want);
    ct_ours_free(&o);
    enc->release(st);
}

START_TEST(test_ours_to_tools)
{
    static const struct {
        uint32_t rows, cols;
        uint16_t spp, ba, bs, sgn, planar;
        const char *pi;
        unsigned noise;
    } gs[] = {
        {511, 257, 1, 16, 12, 0, 0, "MONOCHROME2", 300},
        {511, 257, 1, 16, 12, 1, 0, "MONOCHROME2", 300},
        {64, 64, 1, 16, 16, 0, 0, "MONOCHROME1", 16000},
        {100, 120, 3, 8, 8, 0, 1, "RGB", 40},
        {3, 5, 1, 8, 8, 0, 0, "MONOCHROME2", 30},
        {1, 1, 1, 16, 12, 0, 0, "MONOCHROME2", 0},
    };
    static const struct {
        const char *codec, *uid;
    } cs[] = {{"htj2k-lossless", UID_HT}, {"htj2k-lossless-rpcl", UID_HT_RPCL}, {"htj2k", UID_HT_LOSSY}};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++)
            ours_to_tools(cs[k].codec, cs[k].uid,
                          rt_geom(gs[i].rows, gs[i].cols, gs[i].spp, gs[i].ba, gs[i].bs, gs[i].sgn,
                                  gs[i].planar, gs[i].pi),
                          gs[i].noise);
}
END_TEST

/* ojph_compress (from .yuv: planar, 16-bit little endian above 8 bits; from
 * .ppm for colour, the only input it colour-transforms), then the j2k
 * plugin's HTJ2K decoder. ojph_compress 0.9 reads signed .yuv input wrongly,
 * so only unsigned inputs here (signed HTJ2K is covered by the other
 * direction). */
static void ojph_to_ours(const char *opts, const char *uid, struct ferry_frame g, unsigned noise,
                         bool lossy)
{
    char desc[128];
    rt_describe(&g, noise, desc, sizeof desc);
    uint8_t *frame = harness_synth_frame(&g, 61, noise);
    bool ppm = g.samples_per_pixel == 3; /* ojph_compress transforms colour from PPM only */
    if (ppm)
        ck_assert_int_eq(write_pnm(rt_path("in.ppm"), &g, frame), 0);
    else
        ck_assert_int_eq(rt_write_planar_raw(rt_path("in.yuv"), &g, frame), 0);
    char comps[128] = "", bits[128] = "", down[128] = "";
    for (unsigned c = 0; c < g.samples_per_pixel; c++) {
        snprintf(comps + strlen(comps), sizeof comps - strlen(comps), "%sfalse", c ? "," : "");
        snprintf(bits + strlen(bits), sizeof bits - strlen(bits), "%s%u", c ? "," : "",
                 (unsigned)g.bits_stored);
        snprintf(down + strlen(down), sizeof down - strlen(down), "%s{1,1}", c ? "," : "");
    }
    int rc = ppm ? rt_system(120, "ojph_compress -i '%s' -o '%s' %s > /dev/null", rt_path("in.ppm"),
                             rt_path("theirs.j2c"), opts)
                 : rt_system(120, "ojph_compress -i '%s' -o '%s' -dims '{%u,%u}' -num_comps %u "
                                  "-signed %s -bit_depth %s -downsamp '%s' %s > /dev/null",
                             rt_path("in.yuv"), rt_path("theirs.j2c"), (unsigned)g.columns,
                             (unsigned)g.rows, (unsigned)g.samples_per_pixel, comps, bits, down,
                             opts);
    ck_assert_msg(rc == 0, "ojph_compress failed on %s", desc);
    size_t len;
    uint8_t *cs = rt_read_file(rt_path("theirs.j2c"), &len);
    ck_assert_ptr_nonnull(cs);
    struct ferry_frame cg = g;
    cg.planar_configuration = 0;
    if (g.samples_per_pixel == 3) /* ojph_compress applies the colour transform */
        snprintf(cg.photometric, sizeof cg.photometric, "%s", lossy ? "YBR_ICT" : "YBR_RCT");
    const struct ferry_codec *dec = harness_codec(j2k, uid);
    size_t n = harness_frame_size(&g);
    struct ferry_frame og;
    struct ferry_diag d;
    int drc;
    uint8_t *ours = rt_decode_new(dec, NULL, &cg, cs, len, &og, &d, &drc);
    ck_assert_msg(drc == 0, "%s: %s", desc, d.message);
    uint8_t *want;
    if (!lossy) {
        want = rt_interleaved(&g, frame);
        ck_assert_msg(memcmp(ours, want, n) == 0, "ojph_compress %s %s: ferry decodes other pixels",
                      opts, desc);
    } else {
        want = tool_decode(true, rt_path("theirs.j2c"), &cg);
        ck_assert_msg(memcmp(ours, want, n) == 0, "%s: ferry and opj_decompress differ", desc);
        uint8_t *oj = tool_decode(false, rt_path("theirs.j2c"), &cg);
        long diff = max_abs_diff(&cg, oj, ours);
        ck_assert_msg(diff <= 1, "%s: ojph_expand differs by %ld", desc, diff);
        free(oj);
    }
    fprintf(stderr, "ojph_compress %-44s -> ours %-40s ok\n", opts, desc);
    free(want);
    free(ours);
    free(cs);
    free(frame);
}

START_TEST(test_ojph_to_ours)
{
    ojph_to_ours("-reversible true", UID_HT, rt_geom(511, 257, 1, 16, 12, 0, 0, "MONOCHROME2"), 300, false);
    ojph_to_ours("-reversible true", UID_HT, rt_geom(128, 96, 1, 16, 16, 0, 0, "MONOCHROME2"), 16000, false);
    ojph_to_ours("-reversible true", UID_HT, rt_geom(90, 70, 1, 8, 8, 0, 0, "MONOCHROME2"), 20, false);
    ojph_to_ours("-reversible true", UID_HT, rt_geom(90, 70, 3, 8, 8, 0, 0, "RGB"), 20, false);
    ojph_to_ours("-reversible true -prog_order RPCL -num_decomps 3", UID_HT_RPCL,
                 rt_geom(512, 512, 1, 16, 12, 0, 0, "MONOCHROME2"), 100, false);
    ojph_to_ours("-reversible false -qstep 0.002", UID_HT_LOSSY,
                 rt_geom(256, 256, 1, 16, 12, 0, 0, "MONOCHROME2"), 20, true);
    ojph_to_ours("-reversible false -qstep 0.01", UID_HT_LOSSY,
                 rt_geom(120, 160, 3, 8, 8, 0, 0, "RGB"), 5, true);
    /* More decompositions than the image is large: OpenJPH 0.9's own
     * decoder returns wrong pixels for these (which is why ferry decodes
     * HTJ2K with OpenJPEG); OpenJPEG gets them right. */
    ojph_to_ours("-reversible true -num_decomps 4", UID_HT, rt_geom(5, 7, 1, 16, 12, 0, 0, "MONOCHROME2"),
                 300, false);
    ojph_to_ours("-reversible true -num_decomps 5", UID_HT, rt_geom(8, 8, 1, 8, 8, 0, 0, "MONOCHROME2"),
                 30, false);
}
END_TEST

int main(void)
{
    static const char *const tools[] = {"ojph_compress", "ojph_expand", "opj_decompress"};
    if (!rt_have_all(tools, 3, "apt-get install openjph-tools libopenjp2-tools"))
        return 77;
    const struct suite_test tests[] = {
        {"ours_to_tools", test_ours_to_tools, 300},
        {"ojph_to_ours", test_ojph_to_ours, 300},
    };
    return suite_run_table("htj2k_interop", SUITE_ROWS(tests), setup, teardown);
}
