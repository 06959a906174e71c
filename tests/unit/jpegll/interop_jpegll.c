/* Interop of the jpegll plugin with DCMTK's command line tools, through
 * DICOM files made by pydicom (tests/support/pydicom_frames.py):
 *   - ferry's JPEG streams, wrapped in a file, decode with dcmdjpeg to the
 *     same pixels (lossless: the input; lossy: ferry's own decode);
 *   - files compressed by dcmcjpeg decode with the plugin to the same pixels;
 *   - the JPEG files of pydicom's test corpus decode as dcmdjpeg decodes them.
 * Skips (77) when dcmdjpeg/dcmcjpeg or pydicom are missing. */
#include "codec_test.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_LL "1.2.840.10008.1.2.4.57"
#define TS_SV1 "1.2.840.10008.1.2.4.70"
#define TS_EXT "1.2.840.10008.1.2.4.51"

static struct harness_plugin *plug;

static void setup(void)
{
    plug = ct_load("jpegll");
    ck_assert_ptr_nonnull(rt_workdir_create("jpegll"));
}

static void teardown(void)
{
    harness_unload(plug);
    rt_workdir_remove();
}

static void *configure(const char *name, const char *key, const char *value)
{
    const struct ferry_codec *c = harness_codec(plug, name);
    ck_assert_ptr_nonnull(c);
    struct ferry_param p[] = {{key, value}};
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    void *st = NULL;
    ck_assert_msg(c->configure(p, key ? 1 : 0, &st, &d) == 0, "%s", d.message);
    return st;
}

/* Read a native file's pixels (via pydicom) as a colour-by-pixel frame of
 * geometry *g (filled from the file). */
static uint8_t *read_native(const char *dcm, struct ferry_frame *g)
{
    ck_assert_int_eq(rt_pydicom(rt_path("geom.txt"), "pixels '%s' '%s'", dcm, rt_path("pixels.raw")), 0);
    size_t n;
    char *geom = rt_read_text(rt_path("geom.txt"));
    ck_assert_ptr_nonnull(geom);
    ck_assert_msg(rt_parse_geom(geom, g), "bad geometry '%s'", geom);
    free(geom);
    uint8_t *px = rt_read_file(rt_path("pixels.raw"), &n);
    ck_assert_ptr_nonnull(px);
    ck_assert_uint_ge(n, harness_frame_size(g));
    uint8_t *out = rt_interleaved(g, px);
    free(px);
    g->planar_configuration = 0;
    rt_normalise(g, out);
    return out;
}

static const char *ts_of(const char *codec)
{
    return !strcmp(codec, "jpeg-lossless") ? TS_LL : !strcmp(codec, "jpeg-lossless-sv1") ? TS_SV1
                                                                                        : TS_EXT;
}

/* ferry encodes, dcmdjpeg decodes. */
static void ours_to_dcmdjpeg(const char *codec, const char *key, const char *value,
                             struct ferry_frame g, unsigned noise)
{
    const struct ferry_codec *c = harness_codec(plug, codec);
    void *st = configure(codec, key, value);
    /* lossy: compared with the plugin's own decode of the same stream */
    struct ct_ours o;
    ct_ours_make(&o, c, st, c, st, &g, 99, noise, rt_path("ours.jpg"));
    char ga[128];
    ck_assert_int_eq(rt_pydicom(NULL, "wrap '%s' %s %d '%s' '%s'", rt_geom_arg(&o.r.coded, ga, sizeof ga),
                                ts_of(codec), (int)o.r.lossy, rt_path("ours.jpg"), rt_path("ours.dcm")),
                     0);
    ck_assert_int_eq(rt_system(120, "dcmdjpeg '%s' '%s'", rt_path("ours.dcm"), rt_path("dec.dcm")), 0);
    struct ferry_frame dg;
    uint8_t *theirs = read_native(rt_path("dec.dcm"), &dg);
    ck_assert_uint_eq(dg.rows, g.rows);
    ck_assert_uint_eq(dg.samples_per_pixel, g.samples_per_pixel);
    size_t n = harness_frame_size(&g);
    if (o.r.lossy)
        ck_assert_str_eq(o.og.photometric, dg.photometric);
    ck_assert_uint_eq(harness_frame_size(&dg), n);
    ck_assert_msg(memcmp(o.want, theirs, n) == 0, "%s %s: dcmdjpeg decodes other pixels", codec,
                  o.desc);
    fprintf(stderr, "ours -> dcmdjpeg  %-18s %-40s ok (%zu bytes)\n", codec, o.desc, o.len);
    free(theirs);
    ct_ours_free(&o);
    c->release(st);
}

START_TEST(test_ours_to_dcmdjpeg)
{
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(511, 257, 1, 16, 12, 0, 0, "MONOCHROME2"), 300);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(511, 257, 1, 16, 12, 1, 0, "MONOCHROME2"), 300);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(64, 80, 1, 16, 16, 1, 0, "MONOCHROME1"), 9000);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(3, 5, 1, 8, 8, 0, 0, "MONOCHROME2"), 60);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(1, 1, 1, 16, 16, 0, 0, "MONOCHROME2"), 0);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(99, 57, 3, 8, 8, 0, 1, "RGB"), 40);
    ours_to_dcmdjpeg("jpeg-lossless-sv1", NULL, NULL, rt_geom(40, 30, 1, 8, 7, 1, 0, "MONOCHROME2"), 30);
    static const char *pv[] = {"2", "3", "4", "5", "6", "7"};
    for (int k = 0; k < 6; k++)
        ours_to_dcmdjpeg("jpeg-lossless", "predictor", pv[k],
                         rt_geom(77, 65, 1, 16, 14, (uint16_t)(k & 1), 0, "MONOCHROME2"), 800);
    ours_to_dcmdjpeg("jpeg-lossless", "predictor", "4", rt_geom(33, 31, 3, 16, 16, 0, 0, "RGB"), 4000);
    ours_to_dcmdjpeg("jpeg-extended", "quality", "90", rt_geom(512, 512, 1, 16, 12, 0, 0, "MONOCHROME2"), 20);
    ours_to_dcmdjpeg("jpeg-extended", "quality", "60", rt_geom(100, 90, 1, 8, 8, 0, 0, "MONOCHROME2"), 10);
    ours_to_dcmdjpeg("jpeg-extended", "quality", "85", rt_geom(120, 160, 3, 8, 8, 0, 0, "RGB"), 5);
}
END_TEST

/* dcmcjpeg encodes, ferry decodes. */
static void dcmcjpeg_to_ours(const char *opts, struct ferry_frame g, unsigned noise)
{
    char desc[128], ga[128];
    rt_describe(&g, noise, desc, sizeof desc);
    uint8_t *frame = harness_synth_frame(&g, 17, noise);
    ck_assert_int_eq(rt_write_file(rt_path("in.raw"), frame, harness_frame_size(&g)), 0);
    ck_assert_int_eq(rt_pydicom(NULL, "native '%s' '%s' '%s'", rt_geom_arg(&g, ga, sizeof ga),
                                rt_path("in.raw"), rt_path("in.dcm")),
                     0);
    ck_assert_msg(rt_system(120, "dcmcjpeg %s '%s' '%s'", opts, rt_path("in.dcm"), rt_path("c.dcm")) == 0,
                  "dcmcjpeg %s failed on %s", opts, desc);
    char ts[68], geom[128];
    struct ferry_frame cg;
    ck_assert_int_eq(rt_pydicom_frames(rt_path("c.dcm"), rt_path("f"), rt_path("frames.txt"), ts, geom, &cg), 0);
    const struct ferry_codec *c = harness_codec(plug, ts);
    ck_assert_msg(c != NULL, "no codec for %s", ts);
    void *st = NULL;
    struct ferry_diag d;
    ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
    size_t len;
    uint8_t *cs = rt_read_file(rt_path("f.0"), &len);
    ck_assert_ptr_nonnull(cs);
    size_t fn = harness_frame_size(&cg);
    struct ferry_frame og;
    int rc;
    uint8_t *ours = rt_decode_new(c, st, &cg, cs, len, &og, &d, &rc);
    ck_assert_msg(rc == 0, "%s: %s", desc, d.message);
    uint8_t *want;
    if (!strcmp(ts, TS_EXT)) {
        ck_assert_int_eq(rt_system(120, "dcmdjpeg '%s' '%s'", rt_path("c.dcm"), rt_path("d.dcm")), 0);
        struct ferry_frame dg;
        want = read_native(rt_path("d.dcm"), &dg);
        ck_assert_str_eq(og.photometric, dg.photometric);
    } else {
        want = rt_interleaved(&g, frame);
        rt_normalise(&g, want);
    }
    ck_assert_uint_eq(fn, harness_frame_size(&g));
    ck_assert_msg(memcmp(ours, want, fn) == 0, "dcmcjpeg %s %s: ferry decodes other pixels", opts,
                  desc);
    fprintf(stderr, "dcmcjpeg %-14s -> ours %-40s ok (%s)\n", opts, desc, ts);
    free(want);
    free(ours);
    free(cs);
    free(frame);
    c->release(st);
}

START_TEST(test_dcmcjpeg_to_ours)
{
    dcmcjpeg_to_ours("+e1", rt_geom(511, 257, 1, 16, 12, 0, 0, "MONOCHROME2"), 300);
    dcmcjpeg_to_ours("+e1", rt_geom(200, 180, 1, 16, 12, 1, 0, "MONOCHROME2"), 300);
    dcmcjpeg_to_ours("+e1", rt_geom(64, 64, 1, 16, 16, 0, 0, "MONOCHROME2"), 9000);
    dcmcjpeg_to_ours("+e1", rt_geom(3, 5, 1, 8, 8, 0, 0, "MONOCHROME1"), 20);
    dcmcjpeg_to_ours("+e1", rt_geom(99, 57, 3, 8, 8, 0, 1, "RGB"), 30);
    dcmcjpeg_to_ours("+el +sv 7", rt_geom(120, 77, 1, 16, 12, 0, 0, "MONOCHROME2"), 100);
    dcmcjpeg_to_ours("+el +sv 3", rt_geom(120, 77, 1, 16, 16, 1, 0, "MONOCHROME2"), 100);
    dcmcjpeg_to_ours("+ee +q 80", rt_geom(256, 240, 1, 16, 12, 0, 0, "MONOCHROME2"), 20);
    dcmcjpeg_to_ours("+ee +q 80", rt_geom(100, 100, 1, 8, 8, 0, 0, "MONOCHROME2"), 20);
    dcmcjpeg_to_ours("+ee +q 75", rt_geom(96, 128, 3, 8, 8, 0, 0, "RGB"), 6);
}
END_TEST

/* pydicom's test files in these syntaxes: ferry decodes what dcmdjpeg does. */
START_TEST(test_pydicom_corpus)
{
    static const char *files[] = {"JPEG-lossy.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_gdcm.dcm"};
    ck_assert_int_eq(rt_pydicom(rt_path("corpus.txt"), "corpus"), 0);
    char *corpus = rt_read_text(rt_path("corpus.txt"));
    ck_assert_ptr_nonnull(corpus);
    int tested = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char file[4200], ts[68], geom[128];
        if (!rt_corpus_file(corpus, files[i], file, sizeof file))
            continue;
        struct ferry_frame g;
        ck_assert_int_eq(rt_pydicom_frames(file, rt_path("f"), rt_path("frames.txt"), ts, geom, &g), 0);
        const struct ferry_codec *c = harness_codec(plug, ts);
        ck_assert_ptr_nonnull(c);
        void *st = NULL;
        struct ferry_diag d;
        ck_assert_int_eq(ct_configure_with(c, NULL, 0, &st, &d), 0);
        size_t len;
        uint8_t *cs = rt_read_file(rt_path("f.0"), &len);
        size_t fn = harness_frame_size(&g);
        struct ferry_frame og;
        int rc;
        uint8_t *ours = rt_decode_new(c, st, &g, cs, len, &og, &d, &rc);
        ck_assert_msg(rc == 0, "%s: %s", files[i], d.message);
        ck_assert_int_eq(rt_system(120, "dcmdjpeg '%s' '%s'", file, rt_path("d.dcm")), 0);
        struct ferry_frame dg;
        uint8_t *want = read_native(rt_path("d.dcm"), &dg);
        ck_assert_uint_eq(harness_frame_size(&dg), fn);
        ck_assert_msg(memcmp(ours, want, fn) == 0, "%s: ferry and dcmdjpeg differ", files[i]);
        ck_assert_str_eq(og.photometric, dg.photometric);
        fprintf(stderr, "pydicom corpus %-24s %s ok\n", files[i], geom);
        tested++;
        free(want);
        free(ours);
        free(cs);
        c->release(st);
    }
    free(corpus);
    ck_assert_int_ge(tested, 1);
}
END_TEST

int main(void)
{
    static const char *const tools[] = {"dcmdjpeg", "dcmcjpeg"};
    if (!rt_have_all(tools, 2, "apt-get install dcmtk"))
        return 77;
    if (!rt_python()) {
        fprintf(stderr, "SKIP: no python3 with pydicom (apt-get install python3-pydicom)\n");
        return 77;
    }
    const struct suite_test tests[] = {
        {"ours_to_dcmdjpeg", test_ours_to_dcmdjpeg, 300},
        {"dcmcjpeg_to_ours", test_dcmcjpeg_to_ours, 300},
        {"pydicom_corpus", test_pydicom_corpus, 300},
    };
    return suite_run_table("jpegll_interop", SUITE_ROWS(tests), setup, teardown);
}
