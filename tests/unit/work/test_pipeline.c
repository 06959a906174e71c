/* Unit tests for src/work: the plugin host (struct ferry_host over dcm) and
 * pipelines, with the test plugins of tests/plugins/ (test-invert: a codec
 * that stores each byte inverted; test-mark: a step that sets Study
 * Description). */
#include "work/work-private.h"

#include "test_work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_INVERT "1.2.826.0.1.3680043.10.1.1"

static struct work_registry *reg;

static void setup(void)
{
    const char *b = getenv("FERRY_BUILD_DIR");
    ck_assert_ptr_nonnull(b);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/plugins", b);
    const char *names[] = { "test_good" };
    struct ferry_error *err = NULL;
    reg = work_registry_load(dir, names, 1, work_host(), &err);
    ck_assert_msg(reg != NULL, "%s", ferry_error_message(err));
}

static void teardown(void)
{
    work_registry_free(reg);
    reg = NULL;
}

/* A 3-frame 4x3 16-bit MONOCHROME2 image with a known pattern. */
static struct dcm_dataset *image(const char *charset, const char *name)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    ck_assert_ptr_nonnull(ds);
    if (charset)
        ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_SpecificCharacterSet, DCM_VR_CS,
                                                charset), 0);
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_UI,
                                            DCM_UID_CTImageStorage), 0);
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_UI, "1.2.3.4.5"), 0);
    if (name)
        ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_PatientName, DCM_VR_PN, name), 0);
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_US, 3);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 4);
    dcm_dataset_set_uint(ds, DCM_TAG_SamplesPerPixel, DCM_VR_US, 1);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_US, 16);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_US, 12);
    dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_US, 11);
    dcm_dataset_set_uint(ds, DCM_TAG_PixelRepresentation, DCM_VR_US, 0);
    dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_CS, "MONOCHROME2");
    dcm_dataset_set_string(ds, DCM_TAG_NumberOfFrames, DCM_VR_IS, "3");
    uint8_t px[3 * 24];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i % 2 ? (i / 7) & 0x0f : i * 5);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, sizeof px), 0);
    return ds;
}

static struct work_pipeline *pipeline1(enum work_step_kind kind, const char *name,
                                       const struct ferry_param *params, uint32_t n)
{
    struct work_step_spec s = { kind, name, params, n };
    int bs, bp;
    struct ferry_error *err = NULL;
    struct work_pipeline *p = work_pipeline_new(reg, &s, 1, &bs, &bp, &err);
    ck_assert_msg(p != NULL, "%s", ferry_error_message(err));
    return p;
}

static void native_bytes(const struct dcm_dataset *ds, const uint8_t **p, uint32_t *n)
{
    const struct dcm_element *el = dcm_dataset_get(ds, DCM_TAG_PixelData);
    ck_assert_ptr_nonnull(el);
    ck_assert(!dcm_element_is_encapsulated(el));
    *p = dcm_element_value(el);
    *n = dcm_element_length(el);
}

START_TEST(test_compress_and_back)
{
    struct dcm_dataset *ds = image(NULL, NULL);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    ck_assert_str_eq(work_pipeline_output_syntax(to), TS_INVERT);
    struct dcm_dataset *out = NULL;
    struct work_result res;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_pipeline_run(to, src, &out, &res, &err), 0);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(out), TS_INVERT);
    ck_assert(!res.lossy);
    const struct dcm_element *pd = dcm_dataset_get(out, DCM_TAG_PixelData);
    ck_assert(dcm_element_is_encapsulated(pd));
    ck_assert_uint_eq(dcm_element_fragment_count(pd), 3);
    /* One fragment per frame, inverted, and a Basic Offset Table for them. */
    const uint8_t *orig;
    uint32_t olen;
    native_bytes(ds, &orig, &olen);
    for (uint32_t f = 0; f < 3; f++) {
        const uint8_t *b;
        uint32_t n;
        ck_assert_int_eq(dcm_element_fragment(pd, f, &b, &n, NULL), 0);
        ck_assert_uint_eq(n, 24);
        for (uint32_t i = 0; i < n; i++)
            ck_assert_uint_eq(b[i], (uint8_t)~orig[f * 24 + i]);
    }
    const uint8_t *bot;
    uint32_t botlen;
    ck_assert_int_eq(dcm_element_offset_table(pd, &bot, &botlen), 0);
    ck_assert_uint_eq(botlen, 12);
    ck_assert_uint_eq(bot[4], 32); /* 8-byte item header + 24 */
    /* Lossless: the same instance. */
    char uid[65];
    dcm_dataset_get_cstr(out, DCM_TAG_SOPInstanceUID, 0, uid, sizeof uid);
    ck_assert_str_eq(uid, "1.2.3.4.5");
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_LossyImageCompression));

    /* And back to native from the compressed instance: decoded by the codec. */
    struct work_source *src2 = work_source_new(out, reg, "test2");
    struct work_pipeline *back = pipeline1(WORK_STEP_COMPRESS, "explicit-vr-little-endian", NULL, 0);
    struct dcm_dataset *out2 = NULL;
    ck_assert_int_eq(work_pipeline_run(back, src2, &out2, &res, &err), 0);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(out2), DCM_UID_ExplicitVRLittleEndian);
    const uint8_t *p2;
    uint32_t n2;
    native_bytes(out2, &p2, &n2);
    ck_assert_uint_eq(n2, olen);
    ck_assert_mem_eq(p2, orig, olen);

    /* The source is untouched by its runs. */
    ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), DCM_UID_ExplicitVRLittleEndian);
    dcm_dataset_unref(out2);
    dcm_dataset_unref(out);
    work_source_unref(src2);
    work_source_unref(src);
    work_pipeline_free(to);
    work_pipeline_free(back);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_decoded_once_per_source)
{
    struct dcm_dataset *ds = image(NULL, NULL);
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *enc = NULL;
    struct work_result res;
    ck_assert_int_eq(work_pipeline_run(to, src, &enc, &res, NULL), 0);
    work_source_unref(src);

    /* Two destinations of one compressed instance both need native frames:
     * they get the same decoded buffer. */
    struct work_source *s2 = work_source_new(enc, reg, "test");
    struct ferry_instance a = { .src = s2, .ds = enc }, b = { .src = s2, .ds = enc };
    const uint8_t *pa, *pb;
    size_t la, lb;
    ck_assert_int_eq(work_instance_frame(&a, 1, &pa, &la, NULL, NULL), 0);
    ck_assert_int_eq(work_instance_frame(&b, 1, &pb, &lb, NULL, NULL), 0);
    ck_assert_ptr_eq(pa, pb);
    ck_assert_uint_eq(la, 24);
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_instance_frame(&a, 3, &pa, &la, NULL, &err), -ENOENT);
    ck_assert_str_eq(err->message, "pixel data: no frame 3 (the instance has 3)");
    ferry_error_free(err);
    work_source_unref(s2);
    dcm_dataset_unref(enc);
    work_pipeline_free(to);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_step_and_charset)
{
    /* A Latin-1 instance; the step writes Chinese text: the host moves the
     * instance to UTF-8 rather than lose it. */
    struct dcm_dataset *ds = image("ISO_IR 100", "M\xfcller^Hans");
    struct ferry_param params[] = { { "text", "胸部 CT" } };
    struct work_pipeline *p = pipeline1(WORK_STEP_PLUGIN, "test-mark", params, 1);
    ck_assert_ptr_null(work_pipeline_output_syntax(p));
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *out = NULL;
    struct work_result res;
    ck_assert_int_eq(work_pipeline_run(p, src, &out, &res, NULL), 0);
    char buf[64];
    ck_assert_int_eq(dcm_dataset_get_cstr(out, DCM_TAG_SpecificCharacterSet, 0, buf, sizeof buf), 10);
    ck_assert_str_eq(buf, "ISO_IR 192");
    ck_assert_int_gt(dcm_dataset_get_utf8(out, DCM_TAG_StudyDescription, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "胸部 CT");
    ck_assert_int_gt(dcm_dataset_get_utf8(out, DCM_TAG_PatientName, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "Müller^Hans");
    /* Nothing changed in pixels: still the source's syntax. */
    ck_assert_str_eq(dcm_dataset_transfer_syntax(out), DCM_UID_ExplicitVRLittleEndian);
    dcm_dataset_unref(out);
    work_source_unref(src);
    work_pipeline_free(p);
    dcm_dataset_unref(ds);
}
END_TEST

static int remove_private(void *ud, struct ferry_dataset *ds, const struct ferry_value *v)
{
    int *seen = ud;
    (*seen)++;
    if (v->tag & 0x10000) /* private: an odd group */
        return work_host()->remove(ds, v->tag);
    return 0;
}

START_TEST(test_host_elements)
{
    const struct ferry_host *h = work_host();
    struct dcm_dataset *ds = image(NULL, "Doe^John");
    struct work_source *src = work_source_new(ds, reg, "ctx");
    struct ferry_instance inst = { .src = src, .ds = dcm_dataset_clone(ds) };
    struct ferry_dataset *root = h->root(&inst);
    struct ferry_value v;
    ck_assert_int_eq(h->get(root, DCM_TAG_PatientName, &v), 0);
    ck_assert_str_eq(v.vr, "PN");
    ck_assert_uint_eq(v.length, 8);
    ck_assert_mem_eq(v.bytes, "Doe^John", 8);
    ck_assert_int_eq(h->get(root, DCM_TAG_PatientID, &v), -ENOENT);
    char buf[8];
    ck_assert_int_eq(h->get_string(root, DCM_TAG_PatientName, 0, buf, sizeof buf), 8);
    ck_assert_str_eq(buf, "Doe^Joh"); /* cut, and says how long it is */
    ck_assert_int_eq(h->set(root, DCM_TAG_PatientID, "XX", "1", 1), -EINVAL);
    ck_assert_int_eq(h->set(root, DCM_TAG_PatientID, NULL, "P1", 2), 0);
    ck_assert_int_eq(h->set(root, DCM_TAG(0x0009, 0x0010), "LO", "ACME", 4), 0);
    ck_assert_int_eq(h->set(root, DCM_TAG(0x0009, 0x1001), "LO", "secret", 6), 0);
    /* Sequences at depth, through items. */
    struct ferry_dataset *item = h->add_item(root, DCM_TAG_ReferencedStudySequence);
    ck_assert_ptr_nonnull(item);
    ck_assert_int_eq(h->set_string(item, DCM_TAG_ReferencedSOPInstanceUID, NULL, "1.2.9"), 0);
    ck_assert_int_eq(h->get(root, DCM_TAG_ReferencedStudySequence, &v), 0);
    ck_assert_str_eq(v.vr, "SQ");
    ck_assert_uint_eq(v.items, 1);
    ck_assert_ptr_eq(h->item(root, DCM_TAG_ReferencedStudySequence, 0), item);
    ck_assert_ptr_null(h->item(root, DCM_TAG_ReferencedStudySequence, 1));
    /* foreach: the callback may remove the element it is handed. */
    size_t before = dcm_dataset_count(inst.ds);
    int seen = 0;
    ck_assert_int_eq(h->foreach(root, remove_private, &seen), 0);
    ck_assert_int_eq(seen, (int)before);
    ck_assert_int_eq(h->get(root, DCM_TAG(0x0009, 0x1001), &v), -ENOENT);
    ck_assert_int_eq(h->get(root, DCM_TAG(0x0009, 0x0010), &v), -ENOENT);
    ck_assert_int_eq(h->get(root, DCM_TAG_PatientID, &v), 0);
    /* Pixels through the host. */
    struct ferry_pixel_info info;
    ck_assert_int_eq(h->pixel_info(&inst, &info), 0);
    ck_assert_uint_eq(info.frames, 3);
    ck_assert_uint_eq(info.frame.rows, 3);
    ck_assert_uint_eq(info.frame.columns, 4);
    ck_assert_uint_eq(info.frame.bits_stored, 12);
    ck_assert_str_eq(info.frame.photometric, "MONOCHROME2");
    const uint8_t *px;
    size_t len;
    struct ferry_frame g;
    ck_assert_int_eq(h->get_frame(&inst, 2, &px, &len, &g), 0);
    ck_assert_uint_eq(len, 24);
    uint8_t black[24] = { 0 };
    ck_assert_int_eq(h->set_frame(&inst, 2, black, 23, &g), -EINVAL);
    g.rows = 4;
    ck_assert_int_eq(h->set_frame(&inst, 2, black, 24, &g), -EINVAL); /* shape is fixed */
    g.rows = 3;
    ck_assert_int_eq(h->set_frame(&inst, 2, black, 24, &g), 0);
    ck_assert_int_eq(h->get_frame(&inst, 2, &px, &len, NULL), 0);
    ck_assert_mem_eq(px, black, 24);
    work_instance_free_frames(&inst);
    dcm_dataset_unref(inst.ds);
    work_source_unref(src);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_pipeline_errors)
{
    struct ferry_error *err = NULL;
    int bs, bp;
    struct ferry_param ok[] = { { "text", "x" } };
    struct ferry_param bad[] = { { "on-failure", "uncompressed" }, { "lossy-new-uid", "maybe" } };
    struct work_step_spec steps[] = {
        { WORK_STEP_PLUGIN, "test-mark", ok, 1 },
        { WORK_STEP_COMPRESS, "test-invert", bad, 2 },
    };
    ck_assert_ptr_null(work_pipeline_new(reg, steps, 2, &bs, &bp, &err));
    ck_assert_int_eq(bs, 1);
    ck_assert_int_eq(bp, 1);
    ck_assert_str_eq(err->message, "step 2 (compress test-invert): parameter 'lossy-new-uid': "
                                   "'maybe' is not yes or no");
    ferry_error_free(err);
    err = NULL;

    struct work_step_spec unknown = { WORK_STEP_COMPRESS, "jpeg-xl", NULL, 0 };
    ck_assert_ptr_null(work_pipeline_new(reg, &unknown, 1, &bs, &bp, &err));
    ck_assert_int_eq(bs, 0);
    ck_assert_int_eq(bp, -1);
    ck_assert_str_eq(err->message, "step 1 (compress jpeg-xl): no loaded plugin encodes 'jpeg-xl'");
    ferry_error_free(err);
    err = NULL;

    struct ferry_param extra[] = { { "text", "x" }, { "colour", "red" } };
    struct work_step_spec mark = { WORK_STEP_PLUGIN, "test-mark", extra, 2 };
    ck_assert_ptr_null(work_pipeline_new(reg, &mark, 1, &bs, &bp, &err));
    ck_assert_int_eq(bp, 1);
    ck_assert_str_eq(err->message, "step 1 (test-mark): unknown parameter 'colour'");
    ferry_error_free(err);
    err = NULL;

    struct ferry_param codec_param[] = { { "quality", "5" } };
    struct work_step_spec inv = { WORK_STEP_COMPRESS, "test-invert", codec_param, 1 };
    ck_assert_ptr_null(work_pipeline_new(reg, &inv, 1, &bs, &bp, &err));
    ck_assert_int_eq(bp, 0);
    ck_assert_str_eq(err->message, "step 1 (compress test-invert): parameter 'quality': codec "
                                   "'test-invert' takes no parameters");
    ferry_error_free(err);
}
END_TEST

START_TEST(test_codec_failure_and_fallback)
{
    /* A compressed instance whose fragment is one byte short: decoding
     * fails, so re-encoding fails; with on-failure: uncompressed too, since
     * no native pixels can be had: the job fails with the reason. */
    struct dcm_dataset *ds = image(NULL, NULL);
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *enc = NULL;
    struct work_result res;
    ck_assert_int_eq(work_pipeline_run(to, src, &enc, &res, NULL), 0);
    work_source_unref(src);
    ck_assert_int_eq(dcm_dataset_set_encapsulated(enc), 0);
    uint8_t junk[22] = { 0 };
    for (int f = 0; f < 3; f++)
        ck_assert_int_eq(dcm_dataset_add_fragment(enc, junk, sizeof junk), 0);
    struct work_source *bad = work_source_new(enc, reg, "test");
    struct work_pipeline *back = pipeline1(WORK_STEP_COMPRESS, "explicit-vr-little-endian", NULL, 0);
    struct dcm_dataset *out = NULL;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_pipeline_run(back, bad, &out, &res, &err), -EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err->message, "step 1 (compress explicit-vr-little-endian): pixel data: "
                                   "frame 0: frame is 22 bytes, expected 24");
    ck_assert_str_eq(res.reason, err->message);
    ferry_error_free(err);

    /* Native source, a codec that refuses it: on-failure uncompressed sends
     * it as it is, uncompressed, and says why. */
    struct dcm_dataset *odd = image(NULL, NULL);
    dcm_dataset_set_uint(odd, DCM_TAG_BitsAllocated, DCM_VR_US, 12); /* not a byte multiple */
    dcm_dataset_set_uint(odd, DCM_TAG_BitsStored, DCM_VR_US, 12);
    struct ferry_param fb[] = { { "on-failure", "uncompressed" } };
    struct work_pipeline *withfb = pipeline1(WORK_STEP_COMPRESS, "test-invert", fb, 1);
    struct work_source *s3 = work_source_new(odd, reg, "test");
    err = NULL;
    ck_assert_int_eq(work_pipeline_run(withfb, s3, &out, &res, &err), 0);
    ck_assert(res.fell_back);
    ck_assert_str_eq(res.reason, "pixel data: 12 bits allocated is not supported");
    ck_assert_str_eq(dcm_dataset_transfer_syntax(out), DCM_UID_ExplicitVRLittleEndian);
    dcm_dataset_unref(out);
    work_source_unref(s3);
    dcm_dataset_unref(odd);

    work_source_unref(bad);
    work_pipeline_free(back);
    work_pipeline_free(withfb);
    work_pipeline_free(to);
    dcm_dataset_unref(enc);
    dcm_dataset_unref(ds);
}
END_TEST

TCase *work_pipeline_tcase(void)
{
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_compress_and_back);
    tcase_add_test(tc, test_decoded_once_per_source);
    tcase_add_test(tc, test_step_and_charset);
    tcase_add_test(tc, test_host_elements);
    tcase_add_test(tc, test_pipeline_errors);
    tcase_add_test(tc, test_codec_failure_and_fallback);
    return tc;
}
