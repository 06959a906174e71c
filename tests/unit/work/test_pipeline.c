/* Unit tests for src/work: the plugin host (struct ferry_host over dcm) and
 * pipelines, with the test plugins of tests/plugins/ (test-invert: a codec
 * that stores each byte inverted; test-lossy: a lossy codec that clears each
 * byte's lowest bit, or fails on purpose; test-mark: a step that sets Study
 * Description). */
#include "work/work-private.h"

#include "test_work.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_INVERT "1.2.826.0.1.3680043.10.1.1"
#define TS_LOSSY "1.2.826.0.1.3680043.10.1.2"

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
    uint64_t before = work_frames_decoded();
    ck_assert_int_eq(work_instance_frame(&a, 1, &pa, &la, NULL, NULL), 0);
    ck_assert_int_eq(work_instance_frame(&b, 1, &pb, &lb, NULL, NULL), 0);
    ck_assert_ptr_eq(pa, pb);
    ck_assert_uint_eq(work_frames_decoded() - before, 1);
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

struct racer {
    struct work_source *src;
    struct dcm_dataset *ds;
    pthread_barrier_t *go;
    const uint8_t *frames[3];
    int rc;
};

static void *race_frames(void *arg)
{
    struct racer *r = arg;
    struct ferry_instance inst = { .src = r->src, .ds = r->ds };
    pthread_barrier_wait(r->go);
    for (uint32_t i = 0; i < 3 && r->rc == 0; i++) {
        size_t len;
        r->rc = work_instance_frame(&inst, i, &r->frames[i], &len, NULL, NULL);
    }
    return NULL;
}

/* Three frames of 1024 x 1024 x 16 bits: big enough that decoding one
 * takes a while, so that runs asking at once do meet. */
static struct dcm_dataset *big_image(void)
{
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_US, 1024);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 1024);
    size_t n = (size_t)3 * 1024 * 1024 * 2;
    uint8_t *px = malloc(n);
    ck_assert_ptr_nonnull(px);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)(i % 2 ? (i / 7) & 0x0f : i * 5);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, n), 0);
    free(px);
    return ds;
}

/* Pipelines of several destinations asking for the same frames at once:
 * each frame is decoded once, the others wait for it. */
START_TEST(test_decoded_once_concurrently)
{
    struct dcm_dataset *ds = big_image();
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *enc = NULL;
    struct work_result res;
    ck_assert_int_eq(work_pipeline_run(to, src, &enc, &res, NULL), 0);
    work_source_unref(src);
    enum { N = 8, ROUNDS = 10 };
    for (int round = 0; round < ROUNDS; round++) {
        struct work_source *s2 = work_source_new(enc, reg, "test");
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        struct racer r[N];
        pthread_t t[N];
        uint64_t before = work_frames_decoded();
        for (int i = 0; i < N; i++) {
            r[i] = (struct racer){ .src = s2, .ds = enc, .go = &go };
            ck_assert_int_eq(pthread_create(&t[i], NULL, race_frames, &r[i]), 0);
        }
        for (int i = 0; i < N; i++)
            pthread_join(t[i], NULL);
        ck_assert_uint_eq(work_frames_decoded() - before, 3);
        for (int i = 0; i < N; i++) {
            ck_assert_int_eq(r[i].rc, 0);
            for (int k = 0; k < 3; k++)
                ck_assert_ptr_eq(r[i].frames[k], r[0].frames[k]);
        }
        pthread_barrier_destroy(&go);
        work_source_unref(s2);
    }
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
    ck_assert_str_eq(res.reason, "pixel data: Bits Allocated 12 is not supported (8, 16 or 32)");
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


/* A 3-frame 3x3 8-bit image: frames of 9 bytes, odd, so that fragments get
 * a pad byte. */
static struct dcm_dataset *image8(void)
{
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_US, 3);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 3);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_US, 8);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_US, 8);
    dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_US, 7);
    uint8_t px[28];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 9 + 1);
    px[27] = 0;
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OB, px, sizeof px), 0);
    return ds;
}

static uint64_t ov_at(const struct dcm_dataset *ds, uint32_t tag, uint32_t i)
{
    const struct dcm_element *el = dcm_dataset_get(ds, tag);
    ck_assert_ptr_nonnull(el);
    ck_assert_uint_ge(dcm_element_length(el), 8 * (i + 1));
    const uint8_t *v = dcm_element_value(el);
    uint64_t x = 0;
    for (int b = 7; b >= 0; b--)
        x = x << 8 | v[8 * i + (uint32_t)b];
    return x;
}

/* Run `p` on `ds` and give back the output (owned by the caller). */
static struct dcm_dataset *run1(struct work_pipeline *p, struct dcm_dataset *ds,
                                struct work_result *res)
{
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *out = NULL;
    struct ferry_error *err = NULL;
    int rc = work_pipeline_run(p, src, &out, res, &err);
    ck_assert_msg(rc == 0, "%s", ferry_error_message(err));
    work_source_unref(src);
    return out;
}

/* Decode `enc` back to native and compare with the pixels of `orig`. */
static void check_round_trip(struct dcm_dataset *enc, const struct dcm_dataset *orig)
{
    struct work_pipeline *back = pipeline1(WORK_STEP_COMPRESS, "explicit-little", NULL, 0);
    struct work_result res;
    struct dcm_dataset *nat = run1(back, enc, &res);
    const uint8_t *a, *b;
    uint32_t na, nb;
    native_bytes(orig, &a, &na);
    native_bytes(nat, &b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na);
    dcm_dataset_unref(nat);
    work_pipeline_free(back);
}

START_TEST(test_offset_tables)
{
    struct dcm_dataset *ds = image8();
    struct work_result res;

    /* auto (the default): a Basic Offset Table over padded fragments. */
    struct work_pipeline *p = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct dcm_dataset *out = run1(p, ds, &res);
    const struct dcm_element *pd = dcm_dataset_get(out, DCM_TAG_PixelData);
    const uint8_t *bot;
    uint32_t botlen;
    ck_assert_int_eq(dcm_element_offset_table(pd, &bot, &botlen), 0);
    ck_assert_uint_eq(botlen, 12);
    ck_assert_uint_eq(bot[4], 18); /* 8 + 9 + the pad byte */
    ck_assert_uint_eq(bot[8], 36);
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_ExtendedOffsetTable));
    check_round_trip(out, ds);
    dcm_dataset_unref(out);
    work_pipeline_free(p);

    /* extended: the Extended Offset Table and its lengths, an empty Basic
     * Offset Table, and the frames are found through it. */
    struct ferry_param ext[] = { { "offset-table", "extended" } };
    p = pipeline1(WORK_STEP_COMPRESS, "test-invert", ext, 1);
    out = run1(p, ds, &res);
    pd = dcm_dataset_get(out, DCM_TAG_PixelData);
    ck_assert_int_eq(dcm_element_offset_table(pd, &bot, &botlen), 0);
    ck_assert_uint_eq(botlen, 0);
    ck_assert_str_eq(dcm_vr_name(dcm_element_vr(dcm_dataset_get(out, DCM_TAG_ExtendedOffsetTable))),
                     "OV");
    for (uint32_t f = 0; f < 3; f++) {
        ck_assert_uint_eq(ov_at(out, DCM_TAG_ExtendedOffsetTable, f), 18u * f);
        ck_assert_uint_eq(ov_at(out, DCM_TAG_ExtendedOffsetTableLengths, f), 9);
    }
    ck_assert_uint_eq(dcm_element_length(dcm_dataset_get(out, DCM_TAG_ExtendedOffsetTable)), 24);
    check_round_trip(out, ds);

    /* Re-encoding drops the tables of the old encoding. */
    struct work_pipeline *again = pipeline1(WORK_STEP_COMPRESS, "test-lossy", NULL, 0);
    struct dcm_dataset *out2 = run1(again, out, &res);
    ck_assert_ptr_null(dcm_dataset_get(out2, DCM_TAG_ExtendedOffsetTable));
    ck_assert_ptr_null(dcm_dataset_get(out2, DCM_TAG_ExtendedOffsetTableLengths));
    dcm_dataset_unref(out2);
    work_pipeline_free(again);
    struct work_pipeline *nat = pipeline1(WORK_STEP_COMPRESS, "explicit-little", NULL, 0);
    out2 = run1(nat, out, &res);
    ck_assert_ptr_null(dcm_dataset_get(out2, DCM_TAG_ExtendedOffsetTable));
    dcm_dataset_unref(out2);
    work_pipeline_free(nat);
    dcm_dataset_unref(out);
    work_pipeline_free(p);

    /* basic: as auto for what fits. */
    struct ferry_param basic[] = { { "offset-table", "basic" } };
    p = pipeline1(WORK_STEP_COMPRESS, "test-invert", basic, 1);
    out = run1(p, ds, &res);
    ck_assert_int_eq(dcm_element_offset_table(dcm_dataset_get(out, DCM_TAG_PixelData), &bot,
                                              &botlen), 0);
    ck_assert_uint_eq(botlen, 12);
    dcm_dataset_unref(out);
    work_pipeline_free(p);

    /* A bad value is a config error at that parameter. */
    struct ferry_param bad[] = { { "on-failure", "fail" }, { "offset-table", "64bit" } };
    struct work_step_spec spec = { WORK_STEP_COMPRESS, "test-invert", bad, 2 };
    int bs, bp;
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(work_pipeline_new(reg, &spec, 1, &bs, &bp, &err));
    ck_assert_int_eq(bp, 1);
    ck_assert_str_eq(err->message, "step 1 (compress test-invert): parameter 'offset-table': "
                                   "'64bit' is not auto, basic or extended");
    ferry_error_free(err);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_offset_table_choice)
{
    /* auto switches to the Extended Offset Table exactly when the Basic
     * Offset Table's last entry would not fit 32 bits; what the frames
     * before the last one take counts, the last one does not. */
    uint64_t big[3] = { 0x7FFFFFF7ull, 0x7FFFFFF8ull, 0x100000000ull };
    ck_assert(!work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, big, 2));
    ck_assert(!work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, big, 1));
    /* 8 + 0x7FFFFFF7 + 1 (pad) + 8 + 0x7FFFFFF8 = 0x100000000 */
    ck_assert(work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, big, 3));
    uint64_t fits[3] = { 0x7FFFFFF8ull, 0x7FFFFFF6ull, 2 }; /* last entry 0xFFFFFFFE */
    ck_assert(!work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, fits, 3));
    uint64_t over[4] = { 0x7FFFFFF8ull, 0x7FFFFFF4ull, 1, 2 }; /* 0xFFFFFFFC + 8 + 2 */
    ck_assert(work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, over, 4));
    ck_assert(!work_wants_extended_offsets(WORK_OFFSET_TABLE_BASIC, big, 3));
    uint64_t small[1] = { 10 };
    ck_assert(work_wants_extended_offsets(WORK_OFFSET_TABLE_EXTENDED, small, 1));
}
END_TEST

START_TEST(test_lossy_attributes)
{
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_set_string(ds, DCM_TAG_ImageType, DCM_VR_CS, "ORIGINAL\\PRIMARY\\AXIAL");
    dcm_dataset_set_uint(ds, DCM_TAG_SmallestImagePixelValue, DCM_VR_US, 0);
    dcm_dataset_set_uint(ds, DCM_TAG_LargestImagePixelValue, DCM_VR_US, 4095);
    struct work_result res;
    struct work_pipeline *p = pipeline1(WORK_STEP_COMPRESS, "test-lossy", NULL, 0);
    struct dcm_dataset *out = run1(p, ds, &res);
    ck_assert(res.lossy);
    char buf[128];
    ck_assert_int_eq(dcm_dataset_get_cstr(out, DCM_TAG_LossyImageCompression, 0, buf, sizeof buf), 2);
    ck_assert_str_eq(buf, "01");
    dcm_dataset_get_cstr(out, DCM_TAG_LossyImageCompressionRatio, DCM_ALL_VALUES, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.00");
    /* A private syntax has no method term: none is made up. */
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_LossyImageCompressionMethod));
    dcm_dataset_get_cstr(out, DCM_TAG_ImageType, DCM_ALL_VALUES, buf, sizeof buf);
    ck_assert_str_eq(buf, "DERIVED\\PRIMARY\\AXIAL");
    /* A new instance that points at its uncompressed predecessor. */
    dcm_dataset_get_cstr(out, DCM_TAG_SOPInstanceUID, 0, buf, sizeof buf);
    ck_assert_str_ne(buf, "1.2.3.4.5");
    ck_assert(strncmp(buf, "2.25.", 5) == 0);
    struct dcm_dataset *item = dcm_dataset_item(out, DCM_TAG_SourceImageSequence, 0);
    ck_assert_ptr_nonnull(item);
    dcm_dataset_get_cstr(item, DCM_TAG_ReferencedSOPInstanceUID, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.2.3.4.5");
    dcm_dataset_get_cstr(item, DCM_TAG_ReferencedSOPClassUID, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, DCM_UID_CTImageStorage);
    struct dcm_dataset *code = dcm_dataset_item(item, DCM_TAG_PurposeOfReferenceCodeSequence, 0);
    ck_assert_ptr_nonnull(code);
    dcm_dataset_get_cstr(code, DCM_TAG_CodeValue, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "121320");
    /* What the standard recommends besides; extremes that may no longer
     * hold are gone. */
    struct dcm_dataset *deriv = dcm_dataset_item(out, DCM_TAG_DerivationCodeSequence, 0);
    ck_assert_ptr_nonnull(deriv);
    dcm_dataset_get_cstr(deriv, DCM_TAG_CodeValue, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "113040");
    dcm_dataset_get_cstr(out, DCM_TAG_DerivationDescription, DCM_ALL_VALUES, buf, sizeof buf);
    ck_assert_str_eq(buf, "Lossy compression with 1.2.826.0.1.3680043.10.1.2, ratio 1.00:1");
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_SmallestImagePixelValue));
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_LargestImagePixelValue));

    /* Asked for the syntax it is in, it is passed through, not coded again. */
    struct dcm_dataset *out2 = run1(p, out, &res);
    ck_assert(!res.lossy);
    dcm_dataset_get_cstr(out2, DCM_TAG_LossyImageCompressionRatio, DCM_ALL_VALUES, buf,
                         sizeof buf);
    ck_assert_str_eq(buf, "1.00");
    dcm_dataset_unref(out2);
    /* Through another syntax (losslessly: nothing added) and lossy again:
     * the ratio is appended, a second predecessor is listed. */
    struct work_pipeline *inv = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct dcm_dataset *mid = run1(inv, out, &res);
    ck_assert(!res.lossy);
    dcm_dataset_get_cstr(mid, DCM_TAG_LossyImageCompressionRatio, DCM_ALL_VALUES, buf,
                         sizeof buf);
    ck_assert_str_eq(buf, "1.00");
    out2 = run1(p, mid, &res);
    dcm_dataset_get_cstr(out2, DCM_TAG_LossyImageCompressionRatio, DCM_ALL_VALUES, buf,
                         sizeof buf);
    ck_assert_str_eq(buf, "1.00\\1.00");
    ck_assert_ptr_nonnull(dcm_dataset_item(out2, DCM_TAG_SourceImageSequence, 1));
    ck_assert_ptr_null(dcm_dataset_item(out2, DCM_TAG_DerivationCodeSequence, 1));
    char desc[300];
    dcm_dataset_get_cstr(out2, DCM_TAG_DerivationDescription, DCM_ALL_VALUES, desc, sizeof desc);
    ck_assert_str_eq(desc, "Lossy compression with 1.2.826.0.1.3680043.10.1.2, ratio 1.00:1; "
                           "Lossy compression with 1.2.826.0.1.3680043.10.1.2, ratio 1.00:1");
    dcm_dataset_unref(out2);
    dcm_dataset_unref(mid);
    work_pipeline_free(inv);

    /* A data set that lists methods gets no ratio without a method. */
    dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompressionRatio, DCM_VR_DS, "10");
    dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompressionMethod, DCM_VR_CS, "ISO_10918_1");
    out2 = run1(p, ds, &res);
    dcm_dataset_get_cstr(out2, DCM_TAG_LossyImageCompressionRatio, DCM_ALL_VALUES, buf,
                         sizeof buf);
    ck_assert_str_eq(buf, "10");
    dcm_dataset_unref(out2);
    dcm_dataset_unref(out);
    work_pipeline_free(p);

    /* lossy-new-uid: no keeps the instance. */
    struct ferry_param keep[] = { { "lossy-new-uid", "no" } };
    p = pipeline1(WORK_STEP_COMPRESS, "test-lossy", keep, 1);
    out = run1(p, ds, &res);
    ck_assert(res.lossy);
    dcm_dataset_get_cstr(out, DCM_TAG_SOPInstanceUID, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.2.3.4.5");
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_SourceImageSequence));
    dcm_dataset_get_cstr(out, DCM_TAG_LossyImageCompression, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "01");
    dcm_dataset_unref(out);
    work_pipeline_free(p);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_codec_error_keeps_source)
{
    /* An encoder that fails: the job fails with the codec's reason and the
     * source stays as it was; with on-failure: uncompressed the instance
     * goes on uncompressed and lossless, with the reason. */
    struct dcm_dataset *ds = image(NULL, NULL);
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_result res;
    struct dcm_dataset *enc = run1(to, ds, &res);
    struct work_source *src = work_source_new(enc, reg, "test");
    struct ferry_param fail[] = { { "fail", "yes" } };
    struct work_pipeline *p = pipeline1(WORK_STEP_COMPRESS, "test-lossy", fail, 1);
    struct dcm_dataset *out = NULL;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_pipeline_run(p, src, &out, &res, &err), -EIO);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err->message, "step 1 (compress test-lossy): pixel data: frame 0: "
                                   "test-lossy encoder: failing on purpose");
    ck_assert_str_eq(res.reason, err->message);
    ferry_error_free(err);
    err = NULL;
    ck_assert_str_eq(dcm_dataset_transfer_syntax(enc), TS_INVERT);
    ck_assert(dcm_element_is_encapsulated(dcm_dataset_get(enc, DCM_TAG_PixelData)));
    ck_assert_uint_eq(dcm_element_fragment_count(dcm_dataset_get(enc, DCM_TAG_PixelData)), 3);
    ck_assert_ptr_null(dcm_dataset_get(enc, DCM_TAG_LossyImageCompression));
    work_pipeline_free(p);

    struct ferry_param fb[] = { { "fail", "yes" }, { "on-failure", "uncompressed" } };
    p = pipeline1(WORK_STEP_COMPRESS, "test-lossy", fb, 2);
    ck_assert_int_eq(work_pipeline_run(p, src, &out, &res, &err), 0);
    ck_assert(res.fell_back);
    ck_assert(!res.lossy);
    ck_assert_str_eq(res.reason, "pixel data: frame 0: test-lossy encoder: failing on purpose");
    ck_assert_str_eq(dcm_dataset_transfer_syntax(out), DCM_UID_ExplicitVRLittleEndian);
    ck_assert_ptr_null(dcm_dataset_get(out, DCM_TAG_LossyImageCompression));
    const uint8_t *a, *b;
    uint32_t na, nb;
    native_bytes(ds, &a, &na);
    native_bytes(out, &b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na);
    dcm_dataset_unref(out);
    work_pipeline_free(p);
    work_source_unref(src);
    dcm_dataset_unref(enc);
    work_pipeline_free(to);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_high_bit_refused)
{
    /* Samples whose bits are not the low Bits Stored ones cannot be coded:
     * refused, not silently truncated. */
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_US, 15);
    struct work_pipeline *p = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct dcm_dataset *out = NULL;
    struct work_result res;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_pipeline_run(p, src, &out, &res, &err), -ENOTSUP);
    ck_assert_str_eq(err->message, "step 1 (compress test-invert): pixel data: High Bit 15 with "
                                   "Bits Stored 12: only samples whose High Bit is Bits Stored "
                                   "- 1 can be compressed");
    ferry_error_free(err);
    work_source_unref(src);
    work_pipeline_free(p);
    dcm_dataset_unref(ds);
}
END_TEST


START_TEST(test_native_ybr_full_422)
{
    /* Native YBR_FULL_422 holds Y1 Y2 Cb Cr per pair of pixels (PS3.3
     * C.7.6.3.1.2): codecs get it as YBR_FULL, each pixel with its pair's
     * chrominance, and the output says YBR_FULL. */
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_US, 1);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 4);
    dcm_dataset_set_uint(ds, DCM_TAG_SamplesPerPixel, DCM_VR_US, 3);
    dcm_dataset_set_uint(ds, DCM_TAG_PlanarConfiguration, DCM_VR_US, 0);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_US, 8);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_US, 8);
    dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_US, 7);
    dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_CS, "YBR_FULL_422");
    dcm_dataset_remove(ds, DCM_TAG_NumberOfFrames);
    const uint8_t packed[8] = { 10, 11, 100, 200, 12, 13, 101, 201 };
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OB, packed, 8), 0);
    struct work_pipeline *p = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_result res;
    struct dcm_dataset *out = run1(p, ds, &res);
    char pi[32];
    dcm_dataset_get_cstr(out, DCM_TAG_PhotometricInterpretation, 0, pi, sizeof pi);
    ck_assert_str_eq(pi, "YBR_FULL");
    struct work_pipeline *back = pipeline1(WORK_STEP_COMPRESS, "explicit-little", NULL, 0);
    struct dcm_dataset *nat = run1(back, out, &res);
    const uint8_t *b;
    uint32_t nb;
    native_bytes(nat, &b, &nb);
    const uint8_t full[12] = { 10, 100, 200, 11, 100, 200, 12, 101, 201, 13, 101, 201 };
    ck_assert_uint_eq(nb, 12);
    ck_assert_mem_eq(b, full, 12);
    dcm_dataset_unref(nat);
    dcm_dataset_unref(out);

    /* Asked for native, it stays as it is. */
    out = run1(back, ds, &res);
    native_bytes(out, &b, &nb);
    ck_assert_uint_eq(nb, 8);
    dcm_dataset_unref(out);

    /* An odd number of columns has no whole pairs. */
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 3);
    struct work_source *src = work_source_new(ds, reg, "test");
    struct ferry_error *err = NULL;
    ck_assert_int_eq(work_pipeline_run(p, src, &out, &res, &err), -EINVAL);
    ck_assert_str_eq(err->message, "step 1 (compress test-invert): pixel data: native "
                                   "YBR_FULL_422 with an odd number of columns (3) has no whole "
                                   "pixel pairs");
    ferry_error_free(err);
    work_source_unref(src);
    work_pipeline_free(back);
    work_pipeline_free(p);
    dcm_dataset_unref(ds);
}
END_TEST


START_TEST(test_steps_see_earlier_steps)
{
    /* A compress step works on the pixels as the steps before it left them:
     * lossy, then lossless, keeps the lossy pixels (and says so), not the
     * source's. */
    struct dcm_dataset *ds = image(NULL, NULL);
    struct work_step_spec steps[] = {
        { WORK_STEP_COMPRESS, "test-lossy", NULL, 0 },
        { WORK_STEP_COMPRESS, "test-invert", NULL, 0 },
        { WORK_STEP_COMPRESS, "explicit-little", NULL, 0 },
    };
    int bs, bp;
    struct ferry_error *err = NULL;
    struct work_pipeline *p = work_pipeline_new(reg, steps, 3, &bs, &bp, &err);
    ck_assert_msg(p != NULL, "%s", ferry_error_message(err));
    struct work_result res;
    struct dcm_dataset *out = run1(p, ds, &res);
    ck_assert(res.lossy);
    const uint8_t *a, *b;
    uint32_t na, nb;
    native_bytes(ds, &a, &na);
    native_bytes(out, &b, &nb);
    ck_assert_uint_eq(na, nb);
    for (uint32_t i = 0; i < na; i++)
        ck_assert_uint_eq(b[i], a[i] & 0xFE);
    char buf[8];
    dcm_dataset_get_cstr(out, DCM_TAG_LossyImageCompression, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "01");
    dcm_dataset_unref(out);
    work_pipeline_free(p);
    dcm_dataset_unref(ds);
}
END_TEST


START_TEST(test_decoded_frame_taken_or_shared)
{
    /* Decoding to native: a run that alone holds the source takes the
     * decoded frame as the new value; with a second holder (another
     * destination) the frame stays in the cache for it. Either way the
     * pixels are the same. */
    struct dcm_dataset *ds = image(NULL, NULL);
    dcm_dataset_remove(ds, DCM_TAG_NumberOfFrames);
    uint8_t px[24];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, sizeof px), 0);
    struct work_pipeline *to = pipeline1(WORK_STEP_COMPRESS, "test-invert", NULL, 0);
    struct work_pipeline *back = pipeline1(WORK_STEP_COMPRESS, "explicit-little", NULL, 0);
    struct work_result res;
    struct dcm_dataset *enc = run1(to, ds, &res);
    for (int shared = 0; shared < 2; shared++) {
        struct work_source *src = work_source_new(enc, reg, "test");
        if (shared)
            work_source_ref(src);
        struct dcm_dataset *out = NULL;
        ck_assert_int_eq(work_pipeline_run(back, src, &out, &res, NULL), 0);
        const uint8_t *b;
        uint32_t nb;
        native_bytes(out, &b, &nb);
        ck_assert_uint_eq(nb, sizeof px);
        ck_assert_mem_eq(b, px, sizeof px);
        ck_assert_ptr_nonnull(src->frames);
        if (shared)
            ck_assert_ptr_nonnull(src->frames[0]); /* still there for the other */
        else
            ck_assert_ptr_null(src->frames[0]);    /* became the output's value */
        dcm_dataset_unref(out);
        if (shared)
            work_source_unref(src);
        work_source_unref(src);
    }
    dcm_dataset_unref(enc);
    work_pipeline_free(to);
    work_pipeline_free(back);
    dcm_dataset_unref(ds);
}
END_TEST

TCase *work_pipeline_tcase(void)
{
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_compress_and_back);
    tcase_add_test(tc, test_decoded_once_per_source);
    tcase_add_test(tc, test_decoded_once_concurrently);
    tcase_add_test(tc, test_step_and_charset);
    tcase_add_test(tc, test_host_elements);
    tcase_add_test(tc, test_pipeline_errors);
    tcase_add_test(tc, test_codec_failure_and_fallback);
    tcase_add_test(tc, test_offset_tables);
    tcase_add_test(tc, test_offset_table_choice);
    tcase_add_test(tc, test_lossy_attributes);
    tcase_add_test(tc, test_codec_error_keeps_source);
    tcase_add_test(tc, test_high_bit_refused);
    tcase_add_test(tc, test_native_ybr_full_422);
    tcase_add_test(tc, test_steps_see_earlier_steps);
    tcase_add_test(tc, test_decoded_frame_taken_or_shared);
    return tc;
}
