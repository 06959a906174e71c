/* Interop of the j2k plugin with OpenJPEG's command line tools and pydicom's
 * test corpus:
 *   - ferry's codestreams decode with opj_decompress to the same pixels;
 *   - codestreams made by opj_compress decode with the plugin to the same
 *     pixels;
 *   - the JPEG 2000 files of pydicom's corpus decode to their uncompressed
 *     twin where the corpus has one, else to what opj_decompress gives.
 * Skips (77) when opj_compress/opj_decompress are missing. */
#include "codec_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct harness_plugin *plug;

static void setup(void)
{
    plug = ct_load("j2k");
    ck_assert_ptr_nonnull(rt_workdir_create("j2k"));
}

static void teardown(void)
{
    harness_unload(plug);
    rt_workdir_remove();
}

/* opj_decompress file (suffix .j2k/.jp2) into a colour-by-pixel frame of
 * geometry g, normalised to g's bits stored and signedness. */
static uint8_t *opj_decode(const char *file, const struct ferry_frame *g)
{
    uint8_t *out = rt_opj_decompress(file, rt_path("opj.rawl"), g);
    ck_assert_msg(out != NULL, "opj_decompress failed on %s", file);
    return out;
}

static void ours_to_opj(const char *codec, const char *key, const char *value, struct ferry_frame g,
                        unsigned noise)
{
    const struct ferry_codec *c = harness_codec(plug, codec);
    struct ferry_param p[] = {{key, value}};
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    void *st;
    ck_assert_int_eq(c->configure(p, key ? 1 : 0, &st, &d), 0);
    struct ct_ours o;
    ct_ours_make(&o, c, st, c, st, &g, 31, noise, rt_path("ours.j2k"));
    uint8_t *theirs = opj_decode(rt_path("ours.j2k"), &g);
    ck_assert_msg(memcmp(o.want, theirs, harness_frame_size(&g)) == 0,
                  "%s %s: opj_decompress decodes other pixels", codec, o.desc);
    fprintf(stderr, "ours -> opj_decompress %-18s %-42s ok\n", codec, o.desc);
    free(theirs);
    ct_ours_free(&o);
    c->release(st);
}

START_TEST(test_ours_to_opj)
{
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(511, 257, 1, 16, 12, 1, 0, "MONOCHROME2"), 300);
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(64, 64, 1, 16, 16, 0, 0, "MONOCHROME2"), 16000);
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(64, 64, 1, 16, 16, 1, 0, "MONOCHROME1"), 16000);
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(127, 33, 3, 8, 8, 0, 1, "RGB"), 60);
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(3, 5, 3, 16, 12, 0, 0, "YBR_FULL"), 100);
    ours_to_opj("jpeg2000-lossless", NULL, NULL, rt_geom(1, 1, 1, 8, 8, 0, 0, "MONOCHROME2"), 0);
    ours_to_opj("jpeg2000", "rate", "10", rt_geom(512, 512, 1, 16, 12, 1, 0, "MONOCHROME2"), 20);
    ours_to_opj("jpeg2000", "psnr", "40,50", rt_geom(200, 300, 3, 8, 8, 0, 0, "RGB"), 5);
}
END_TEST

static int resolutions(uint32_t w, uint32_t h)
{
    uint32_t m = w < h ? w : h;
    int n = 1;
    while (n < 6 && (m >> n) > 0)
        n++;
    return n;
}

static void opj_to_ours(const char *opts, struct ferry_frame g, unsigned noise, bool lossy)
{
    char desc[128];
    rt_describe(&g, noise, desc, sizeof desc);
    uint8_t *frame = harness_synth_frame(&g, 41, noise);
    ck_assert_int_eq(rt_write_planar_raw(rt_path("in.rawl"), &g, frame), 0);
    ck_assert_msg(rt_system(120, "opj_compress -i '%s' -F %u,%u,%u,%u,%c -n %d %s -o '%s' > /dev/null 2>&1",
                            rt_path("in.rawl"), (unsigned)g.columns, (unsigned)g.rows,
                            (unsigned)g.samples_per_pixel, (unsigned)g.bits_stored,
                            g.pixel_representation ? 's' : 'u', resolutions(g.columns, g.rows),
                            opts, rt_path("theirs.j2k")) == 0,
                  "opj_compress failed on %s", desc);
    size_t len;
    uint8_t *cs = rt_read_file(rt_path("theirs.j2k"), &len);
    ck_assert_ptr_nonnull(cs);
    /* opj_compress applies the colour transform to three components: in
     * DICOM that is photometric YBR_RCT (lossless) or YBR_ICT (lossy). */
    struct ferry_frame cg = g;
    cg.planar_configuration = 0;
    if (g.samples_per_pixel == 3)
        snprintf(cg.photometric, sizeof cg.photometric, "%s", lossy ? "YBR_ICT" : "YBR_RCT");
    const struct ferry_codec *c = harness_codec(plug, lossy ? "jpeg2000" : "jpeg2000-lossless");
    size_t n = harness_frame_size(&g);
    struct ferry_frame og;
    struct ferry_diag d;
    int rc;
    uint8_t *ours = rt_decode_new(c, NULL, &cg, cs, len, &og, &d, &rc);
    ck_assert_msg(rc == 0, "%s: %s", desc, d.message);
    if (g.samples_per_pixel == 3)
        ck_assert_str_eq(og.photometric, "RGB");
    uint8_t *want;
    if (lossy) {
        want = opj_decode(rt_path("theirs.j2k"), &cg);
    } else {
        want = rt_interleaved(&g, frame);
        rt_normalise(&cg, want);
    }
    ck_assert_msg(memcmp(ours, want, n) == 0, "opj_compress %s %s: ferry decodes other pixels",
                  opts, desc);
    fprintf(stderr, "opj_compress %-8s -> ours %-42s ok\n", opts, desc);
    free(want);
    free(ours);
    free(cs);
    free(frame);
}

START_TEST(test_opj_to_ours)
{
    opj_to_ours("", rt_geom(511, 257, 1, 16, 12, 0, 0, "MONOCHROME2"), 300, false);
    opj_to_ours("", rt_geom(200, 100, 1, 16, 12, 1, 0, "MONOCHROME2"), 300, false);
    opj_to_ours("", rt_geom(64, 64, 1, 16, 16, 0, 0, "MONOCHROME2"), 16000, false);
    opj_to_ours("", rt_geom(3, 5, 1, 8, 8, 0, 0, "MONOCHROME2"), 50, false);
    opj_to_ours("", rt_geom(120, 90, 3, 8, 8, 0, 0, "RGB"), 30, false);
    opj_to_ours("-r 10", rt_geom(256, 256, 1, 16, 12, 0, 0, "MONOCHROME2"), 20, true);
    opj_to_ours("-r 20", rt_geom(128, 160, 3, 8, 8, 0, 0, "RGB"), 5, true);
}
END_TEST

/* The J2K files of pydicom's corpus: (file, uncompressed twin or NULL). */
START_TEST(test_pydicom_corpus)
{
    static const struct {
        const char *file, *twin;
        bool broken; /* not an image: ferry must refuse it with a reason */
    } files[] = {
        {"MR_small_jp2klossless.dcm", "MR_small.dcm", false},
        {"JPEG2000.dcm", NULL, false},
        /* a parser test: 266 bytes of a "codestream" with a sequence
         * delimiter inside its SIZ */
        {"JPEG2000-embedded-sequence-delimiter.dcm", NULL, true},
        {"693_J2KI.dcm", NULL, false},
        {"J2K_pixelrep_mismatch.dcm", NULL, false},
        {"GDCMJ2K_TextGBR.dcm", NULL, false},
        {"SC_rgb_gdcm_KY.dcm", NULL, false},
    };
    if (!rt_python()) {
        fprintf(stderr, "no python3 with pydicom: corpus not tested\n");
        return;
    }
    ck_assert_int_eq(rt_pydicom(rt_path("corpus.txt"), "corpus"), 0);
    char *corpus = rt_read_text(rt_path("corpus.txt"));
    ck_assert_ptr_nonnull(corpus);
    int tested = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char file[4200], ts[68], geom[128];
        if (!rt_corpus_file(corpus, files[i].file, file, sizeof file))
            continue;
        struct ferry_frame g;
        ck_assert_int_eq(rt_pydicom_frames(file, rt_path("f"), rt_path("frames.txt"), ts, geom, &g), 0);
        const struct ferry_codec *c = harness_codec(plug, ts);
        ck_assert_ptr_nonnull(c);
        size_t len;
        uint8_t *cs = rt_read_file(rt_path("f.0"), &len);
        size_t fn = harness_frame_size(&g);
        struct ferry_frame og;
        struct ferry_diag d;
        int rc;
        uint8_t *ours = rt_decode_new(c, NULL, &g, cs, len, &og, &d, &rc);
        if (files[i].broken) {
            ck_assert_int_lt(rc, 0);
            ck_assert(d.message[0] != '\0');
            fprintf(stderr, "pydicom corpus %-42s refused: %s\n", files[i].file, d.message);
            free(ours);
            free(cs);
            continue;
        }
        ck_assert_msg(rc == 0, "%s: %s", files[i].file, d.message);
        struct ferry_frame cmp = g;
        cmp.planar_configuration = 0;
        uint8_t *want;
        const char *ref;
        if (files[i].twin) {
            char twin[4200];
            snprintf(twin, sizeof twin, "%s/%s", corpus, files[i].twin);
            ck_assert_int_eq(rt_pydicom(rt_path("geom.txt"), "pixels '%s' '%s'", twin, rt_path("twin.raw")), 0);
            size_t tn;
            uint8_t *raw = rt_read_file(rt_path("twin.raw"), &tn);
            ck_assert_uint_ge(tn, fn);
            want = rt_interleaved(&g, raw);
            rt_normalise(&cmp, want);
            free(raw);
            ref = files[i].twin;
        } else {
            bool jp2 = len > 4 && cs[0] == 0 && cs[3] == 0x0c;
            const char *p = rt_path(jp2 ? "corpus.jp2" : "corpus.j2k");
            ck_assert_int_eq(rt_write_file(p, cs, len), 0);
            want = opj_decode(p, &g);
            ref = "opj_decompress";
        }
        ck_assert_msg(memcmp(ours, want, fn) == 0, "%s: ferry and %s differ", files[i].file, ref);
        fprintf(stderr, "pydicom corpus %-42s %-34s = %s (%s)\n", files[i].file, geom, ref,
                og.photometric);
        tested++;
        free(want);
        free(ours);
        free(cs);
    }
    free(corpus);
    ck_assert_int_ge(tested, 1);
}
END_TEST

int main(void)
{
    static const char *const tools[] = {"opj_compress", "opj_decompress"};
    if (!rt_have_all(tools, 2, "apt-get install libopenjp2-tools"))
        return 77;
    const struct suite_test tests[] = {
        {"ours_to_opj", test_ours_to_opj, 300},
        {"opj_to_ours", test_opj_to_ours, 300},
        {"pydicom_corpus", test_pydicom_corpus, 300},
    };
    return suite_run_table("j2k_interop", SUITE_ROWS(tests), setup, teardown);
}
