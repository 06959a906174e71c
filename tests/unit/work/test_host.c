/* Unit tests for the plugin host (src/work/host.c): what plugin.h promises
 * beyond plain lookups, which the deid plugin's walk relies on (empty
 * sequences, whole ST/LT/UT/UR values, foreach while items change, UN
 * elements read as their dictionary VR, pseudonym records, and a File Meta
 * Information group built afresh for every output). */
#include "work/work-private.h"

#include "test_work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG(g, e) FERRY_TAG(0x##g, 0x##e)

static const struct ferry_host *h;

static void setup(void)
{
    h = work_host();
}

static struct ferry_dataset *F(struct dcm_dataset *ds)
{
    return (struct ferry_dataset *)ds;
}

START_TEST(test_abi_version)
{
    ck_assert_uint_eq(h->abi_major, 1);
    ck_assert_uint_eq(h->abi_minor, 1);
    ck_assert(FERRY_HOST_HAS(h, record_pseudonym));
    ck_assert_ptr_nonnull(h->record_pseudonym);
}
END_TEST

START_TEST(test_empty_sequence)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    struct dcm_dataset *it = dcm_dataset_add_item(ds, DCM_TAG_ReferencedStudySequence);
    ck_assert_int_eq(dcm_dataset_set_string(it, DCM_TAG_ReferencedSOPInstanceUID, DCM_VR_UI,
                                            "1.2.3"), 0);
    dcm_dataset_add_item(ds, DCM_TAG_ReferencedStudySequence);
    struct ferry_value v;
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_ReferencedStudySequence, &v), 0);
    ck_assert_uint_eq(v.items, 2);
    /* Z on a sequence: set() with SQ and no bytes */
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_ReferencedStudySequence, "SQ", "", 0), 0);
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_ReferencedStudySequence, &v), 0);
    ck_assert_str_eq(v.vr, "SQ");
    ck_assert_uint_eq(v.items, 0);
    ck_assert_ptr_null(v.bytes);
    /* the dictionary's VR (NULL) of a sequence tag is SQ too */
    dcm_dataset_add_item(ds, DCM_TAG_ContentSequence);
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_ContentSequence, NULL, NULL, 0), 0);
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_ContentSequence, &v), 0);
    ck_assert_uint_eq(v.items, 0);
    /* an empty sequence where there was none; items then come by add_item */
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_SourceImageSequence, "SQ", NULL, 0), 0);
    ck_assert_ptr_nonnull(h->add_item(F(ds), DCM_TAG_SourceImageSequence));
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_SourceImageSequence, &v), 0);
    ck_assert_uint_eq(v.items, 1);
    /* a sequence is never bytes */
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_ContentSequence, "SQ", "ab", 2), -EINVAL);
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_ContentSequence, NULL, "ab", 2), -EINVAL);
    ck_assert_int_eq(h->set(F(ds), DCM_TAG_StudyDescription, "Q?", "ab", 2), -EINVAL);
    /* and it is written as an empty sequence */
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, 0, &out, NULL), 0);
    struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len,
                                                &(struct dcm_parse_opts){
                                                    .flags = DCM_PARSE_COPY,
                                                    .transfer_syntax =
                                                        DCM_UID_ExplicitVRLittleEndian },
                                                NULL, NULL, NULL);
    ck_assert_ptr_nonnull(back);
    const struct dcm_element *el = dcm_dataset_get(back, DCM_TAG_ReferencedStudySequence);
    ck_assert(el && dcm_element_is_sequence(el));
    ck_assert_uint_eq(dcm_element_item_count(el), 0);
    dcm_dataset_unref(back);
    dcm_buf_free(&out);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(test_get_string_whole_values)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    char buf[64];
    static const struct {
        uint32_t tag;
        const char *vr;
    } single[] = {
        { DCM_TAG_PatientComments, "LT" },        /* LT */
        { DCM_TAG_InstitutionAddress, "ST" },   /* ST */
        { DCM_TAG_TextValue, "UT" },            /* UT */
        { DCM_TAG_RetrieveURL, "UR" },          /* UR */
    };
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        ck_assert_int_eq(h->set(F(ds), single[i].tag, single[i].vr, "a\\b c\\d", 8), 0);
        ck_assert_int_eq(h->get_string(F(ds), single[i].tag, 0, buf, sizeof buf), 7);
        ck_assert_str_eq(buf, "a\\b c\\d");
        ck_assert_int_eq(h->get_string(F(ds), single[i].tag, 1, buf, sizeof buf), -ENOENT);
    }
    /* multi-valued VRs split at the backslash */
    ck_assert_int_eq(h->set(F(ds), FERRY_TAG(0x0010, 0x1000), "LO", "ID1\\ID2 ", 8), 0);
    ck_assert_int_eq(h->get_string(F(ds), FERRY_TAG(0x0010, 0x1000), 1, buf, sizeof buf), 3);
    ck_assert_str_eq(buf, "ID2");
    /* UN is not text */
    ck_assert_int_eq(h->set(F(ds), FERRY_TAG(0x0009, 0x1010), "UN", "abcd", 4), 0);
    ck_assert_int_eq(h->get_string(F(ds), FERRY_TAG(0x0009, 0x1010), 0, buf, sizeof buf),
                     -EINVAL);
    ck_assert_int_eq(h->get_string(F(ds), DCM_TAG_PatientName, 0, buf, sizeof buf), -ENOENT);
    /* a cut value says how long it is */
    ck_assert_int_eq(h->get_string(F(ds), DCM_TAG_PatientComments, 0, buf, 4), 7);
    ck_assert_str_eq(buf, "a\\b");
    dcm_dataset_unref(ds);
}
END_TEST

/* foreach: the callback walks and changes the items of the sequence it is
 * handed (foreach inside them too), removes or replaces its element. */
struct visit {
    uint32_t tags[32];
    size_t n;
};

static int inner(void *ud, struct ferry_dataset *ds, const struct ferry_value *v)
{
    (void)ud;
    if (v->tag == DCM_TAG_ReferencedSOPInstanceUID)
        return h->set_string(ds, v->tag, "UI", "9.9.9");
    if (v->tag == DCM_TAG_ReferencedSOPClassUID)
        return h->remove(ds, v->tag);
    return 0;
}

static int outer(void *ud, struct ferry_dataset *ds, const struct ferry_value *v)
{
    struct visit *vis = ud;
    vis->tags[vis->n++] = v->tag;
    if (v->tag == DCM_TAG_ReferencedImageSequence) {
        for (uint32_t i = 0; i < v->items; i++) {
            struct ferry_dataset *it = h->item(ds, v->tag, i);
            ck_assert_ptr_nonnull(it);
            int rc = h->foreach(it, inner, NULL);
            if (rc)
                return rc;
            /* something new inside the item, and a nested sequence */
            if (h->set_string(it, DCM_TAG_ReferencedFrameNumber, "IS", "1") < 0 ||
                !h->add_item(it, DCM_TAG_PurposeOfReferenceCodeSequence))
                return -ENOMEM;
        }
        return 0;
    }
    if (v->tag == DCM_TAG_AccessionNumber)
        return h->remove(ds, v->tag);
    if (v->tag == DCM_TAG_StudyDescription)
        return h->set_string(ds, v->tag, "LO", "replaced, and longer than it was before");
    if (v->tag == DCM_TAG_PatientName)
        return 1; /* stop */
    return 0;
}

START_TEST(test_foreach_changes_items)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_AccessionNumber, DCM_VR_SH, "A1");
    dcm_dataset_set_string(ds, DCM_TAG_StudyDescription, DCM_VR_LO, "x");
    for (int i = 0; i < 3; i++) {
        struct dcm_dataset *it = dcm_dataset_add_item(ds, DCM_TAG_ReferencedImageSequence);
        dcm_dataset_set_string(it, DCM_TAG_ReferencedSOPClassUID, DCM_VR_UI, "1.2.840.10008.1");
        dcm_dataset_set_string(it, DCM_TAG_ReferencedSOPInstanceUID, DCM_VR_UI, "1.2.3");
    }
    dcm_dataset_set_string(ds, DCM_TAG_Modality, DCM_VR_CS, "CT");
    dcm_dataset_set_string(ds, DCM_TAG_PatientName, DCM_VR_PN, "A^B");
    dcm_dataset_set_string(ds, DCM_TAG_PatientID, DCM_VR_LO, "P1");
    struct visit vis = { .n = 0 };
    ck_assert_int_eq(h->foreach(F(ds), outer, &vis), 1);
    /* each element once, in order, up to the one that stopped it */
    static const uint32_t want[] = { DCM_TAG_AccessionNumber, DCM_TAG_Modality,
                                     DCM_TAG_StudyDescription, DCM_TAG_ReferencedImageSequence,
                                     DCM_TAG_PatientName };
    ck_assert_uint_eq(vis.n, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_uint_eq(vis.tags[i], want[i]);
    ck_assert_ptr_null(dcm_dataset_get(ds, DCM_TAG_AccessionNumber));
    char buf[64];
    dcm_dataset_get_cstr(ds, DCM_TAG_StudyDescription, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "replaced, and longer than it was before");
    for (uint32_t i = 0; i < 3; i++) {
        struct dcm_dataset *it = dcm_dataset_item(ds, DCM_TAG_ReferencedImageSequence, i);
        ck_assert_ptr_nonnull(it);
        ck_assert_ptr_null(dcm_dataset_get(it, DCM_TAG_ReferencedSOPClassUID));
        dcm_dataset_get_cstr(it, DCM_TAG_ReferencedSOPInstanceUID, 0, buf, sizeof buf);
        ck_assert_str_eq(buf, "9.9.9");
        ck_assert_ptr_nonnull(dcm_dataset_get(it, DCM_TAG_ReferencedFrameNumber));
        ck_assert_ptr_nonnull(dcm_dataset_item(it, DCM_TAG_PurposeOfReferenceCodeSequence, 0));
    }
    /* a failure stops it and comes back */
    struct dcm_dataset *empty = dcm_dataset_new();
    ck_assert_int_eq(h->foreach(F(empty), outer, &vis), 0);
    dcm_dataset_unref(empty);
    dcm_dataset_unref(ds);
}
END_TEST

/* Implicit VR LE bytes of one item holding Referenced SOP Instance UID. */
static size_t un_items(uint8_t *b, const char *uid)
{
    size_t ulen = strlen(uid) + (strlen(uid) & 1);
    uint32_t ilen = (uint32_t)(8 + ulen);
    uint8_t head[8] = { 0xFE, 0xFF, 0x00, 0xE0, (uint8_t)ilen, 0, 0, 0 };
    uint8_t el[8] = { 0x08, 0x00, 0x55, 0x11, (uint8_t)ulen, 0, 0, 0 };
    memcpy(b, head, 8);
    memcpy(b + 8, el, 8);
    memset(b + 16, 0, ulen);
    memcpy(b + 16, uid, strlen(uid));
    return 16 + ulen;
}

START_TEST(test_un_resolved)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_SOPClassUID, DCM_VR_UN,
                                     DCM_UID_CTImageStorage, (uint32_t)strlen(DCM_UID_CTImageStorage)), 0);
    uint8_t rows[2] = { 0x00, 0x02 };
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_Rows, DCM_VR_UN, rows, 2), 0);
    uint8_t sq[64];
    size_t n = un_items(sq, "1.2.3.4");
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_ReferencedImageSequence, DCM_VR_UN, sq,
                                     (uint32_t)n), 0);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_SourceImageSequence, DCM_VR_UN, "garbage!", 8), 0);
    ck_assert_int_eq(dcm_dataset_set(ds, FERRY_TAG(0x0009, 0x1001), DCM_VR_UN, "priv", 4), 0);
    ck_assert_int_eq(dcm_dataset_set(ds, FERRY_TAG(0x0008, 0x9999), DCM_VR_UN, "unkn", 4), 0);
    struct ferry_instance inst = { .ds = ds };
    ck_assert_int_eq(work_instance_resolve_un(&inst), 0);
    struct ferry_value v;
    char buf[80];
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_SOPClassUID, &v), 0);
    ck_assert_str_eq(v.vr, "UI");
    ck_assert_int_gt(h->get_string(F(ds), DCM_TAG_SOPClassUID, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, DCM_UID_CTImageStorage);
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_Rows, &v), 0);
    ck_assert_str_eq(v.vr, "US");
    uint64_t r;
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_Rows, 0, &r), 0);
    ck_assert_uint_eq(r, 512);
    /* a sequence in UN of defined length: parsed as Implicit VR LE items */
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_ReferencedImageSequence, &v), 0);
    ck_assert_str_eq(v.vr, "SQ");
    ck_assert_uint_eq(v.items, 1);
    struct ferry_dataset *it = h->item(F(ds), DCM_TAG_ReferencedImageSequence, 0);
    ck_assert_int_gt(h->get_string(it, DCM_TAG_ReferencedSOPInstanceUID, 0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "1.2.3.4");
    ck_assert_int_eq(h->get(it, DCM_TAG_ReferencedSOPInstanceUID, &v), 0);
    ck_assert_str_eq(v.vr, "UI");
    /* what cannot be read stays UN: bytes that are no sequence, private and
     * unknown tags */
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_SourceImageSequence, &v), 0);
    ck_assert_str_eq(v.vr, "UN");
    ck_assert_int_eq(h->get(F(ds), FERRY_TAG(0x0009, 0x1001), &v), 0);
    ck_assert_str_eq(v.vr, "UN");
    ck_assert_int_eq(h->get(F(ds), FERRY_TAG(0x0008, 0x9999), &v), 0);
    ck_assert_str_eq(v.vr, "UN");
    dcm_dataset_unref(ds);

    /* big endian: binary values stay UN (their byte order is the sender's),
     * strings are read */
    ds = dcm_dataset_new();
    dcm_dataset_set_transfer_syntax(ds, "1.2.840.10008.1.2.2");
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_Rows, DCM_VR_UN, rows, 2), 0);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_Modality, DCM_VR_UN, "CT", 2), 0);
    inst.ds = ds;
    ck_assert_int_eq(work_instance_resolve_un(&inst), 0);
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_Rows, &v), 0);
    ck_assert_str_eq(v.vr, "UN");
    ck_assert_int_eq(h->get(F(ds), DCM_TAG_Modality, &v), 0);
    ck_assert_str_eq(v.vr, "CS");
    dcm_dataset_unref(ds);
}
END_TEST

/* Pseudonym records go to the program's sink. */
struct sink_log {
    int calls;
    char line[512];
    int answer;
};

static int sink(void *ud, const struct work_pseudonym *rec)
{
    struct sink_log *l = ud;
    l->calls++;
    snprintf(l->line, sizeof l->line, "%s|%s|%s|%s|%s", rec->kind, rec->original,
             rec->replacement, rec->step, rec->context);
    return l->answer;
}

START_TEST(test_record_pseudonym)
{
    struct ferry_instance inst = { .step = "deid" };
    snprintf(inst.context, sizeof inst.context, "TOWN_CT 1.2.3");
    work_set_pseudonym_sink(NULL, NULL);
    ck_assert_int_eq(h->record_pseudonym(NULL, NULL, NULL, NULL), -ENOTSUP);
    ck_assert_int_eq(h->record_pseudonym(&inst, "patient-id", "P1", "DEID-1"), -ENOTSUP);
    struct sink_log l = { 0 };
    work_set_pseudonym_sink(sink, &l);
    ck_assert_int_eq(h->record_pseudonym(NULL, NULL, NULL, NULL), 0);
    ck_assert_int_eq(l.calls, 0);
    ck_assert_int_eq(h->record_pseudonym(&inst, "patient-name", "张三^", "DEID-1"), 0);
    ck_assert_int_eq(l.calls, 1);
    ck_assert_str_eq(l.line, "patient-name|张三^|DEID-1|deid|TOWN_CT 1.2.3");
    ck_assert_int_eq(h->record_pseudonym(&inst, "", "a", "b"), -EINVAL);
    ck_assert_int_eq(h->record_pseudonym(&inst, NULL, "a", "b"), -EINVAL);
    ck_assert_int_eq(h->record_pseudonym(&inst, "k", NULL, "b"), -EINVAL);
    ck_assert_int_eq(h->record_pseudonym(&inst, "k", "a", NULL), -EINVAL);
    ck_assert_int_eq(l.calls, 1);
    l.answer = -ENOSPC;
    ck_assert_int_eq(h->record_pseudonym(&inst, "k", "a", "b"), -ENOSPC);
    work_set_pseudonym_sink(NULL, NULL);
}
END_TEST

/* The writer of outputs builds the File Meta Information afresh (PS3.15
 * E.1.1 item 7): (0002,0003) is the new SOP Instance UID, the source's AE
 * title and meta are gone, the preamble is zeros. */
static int to_buf(void *ud, const void *data, size_t len)
{
    return dcm_buf_append(ud, data, len);
}

START_TEST(test_meta_rebuilt)
{
    /* A Part 10 file with a source AE title and a preamble of its own. */
    struct dcm_dataset *in = dcm_dataset_new();
    dcm_dataset_set_string(in, DCM_TAG_SOPClassUID, DCM_VR_UI, DCM_UID_CTImageStorage);
    dcm_dataset_set_string(in, DCM_TAG_SOPInstanceUID, DCM_VR_UI, "1.2.3.4.5.6");
    dcm_dataset_set_string(in, DCM_TAG_PatientName, DCM_VR_PN, "Li^Lei");
    struct dcm_buf file = { 0 };
    struct dcm_meta_info meta = { .transfer_syntax = DCM_UID_ExplicitVRLittleEndian,
                                  .source_ae_title = "TOWN_CT" };
    ck_assert_int_eq(dcm_write_part10(in, &meta, 0, to_buf, &file, NULL), 0);
    memset(file.data, 'P', 128);
    struct dcm_dataset *parsed = dcm_parse_buffer(file.data, file.len,
                                                  &(struct dcm_parse_opts){
                                                      .flags = DCM_PARSE_PART10 |
                                                               DCM_PARSE_COPY },
                                                  NULL, NULL, NULL);
    ck_assert_ptr_nonnull(parsed);
    ck_assert_ptr_nonnull(dcm_dataset_meta(parsed));
    /* A step gives it a new SOP Instance UID. */
    struct work_source *src = work_source_new(parsed, NULL, "test");
    struct dcm_dataset *out = NULL;
    struct work_result res;
    ck_assert_int_eq(work_pipeline_run(NULL, src, &out, &res, NULL), 0);
    ck_assert_int_eq(dcm_dataset_set_string(out, DCM_TAG_SOPInstanceUID, DCM_VR_UI, "2.25.7"), 0);
    struct dcm_buf w = { 0 };
    struct dcm_meta_info m2 = { .transfer_syntax = dcm_dataset_transfer_syntax(out) };
    ck_assert_int_eq(dcm_write_part10(out, &m2, 0, to_buf, &w, NULL), 0);
    for (int i = 0; i < 128; i++)
        ck_assert_uint_eq(w.data[i], 0);
    struct dcm_dataset *back = dcm_parse_buffer(w.data, w.len,
                                                &(struct dcm_parse_opts){
                                                    .flags = DCM_PARSE_PART10 | DCM_PARSE_COPY },
                                                NULL, NULL, NULL);
    ck_assert_ptr_nonnull(back);
    const struct dcm_dataset *bm = dcm_dataset_meta(back);
    char buf[80];
    ck_assert_int_gt(dcm_dataset_get_cstr(bm, DCM_TAG_MediaStorageSOPInstanceUID, 0, buf,
                                          sizeof buf), 0);
    ck_assert_str_eq(buf, "2.25.7");
    ck_assert_ptr_null(dcm_dataset_get(bm, DCM_TAG_SourceApplicationEntityTitle));
    dcm_dataset_unref(back);
    dcm_buf_free(&w);
    dcm_dataset_unref(out);
    work_source_unref(src);
    dcm_dataset_unref(parsed);
    dcm_buf_free(&file);
    dcm_dataset_unref(in);
}
END_TEST

/* set_frame replaces the frames it is given; the others stay the source's
 * (nothing is copied for them), and the layout must not change under them. */
static struct dcm_dataset *frames_image(uint32_t n)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_UI, DCM_UID_CTImageStorage);
    dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_UI, "1.2.3");
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_US, 2);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_US, 3);
    dcm_dataset_set_uint(ds, DCM_TAG_SamplesPerPixel, DCM_VR_US, 1);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_US, 16);
    dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_US, 12);
    dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_CS, "MONOCHROME2");
    char nf[8];
    snprintf(nf, sizeof nf, "%u", n);
    dcm_dataset_set_string(ds, DCM_TAG_NumberOfFrames, DCM_VR_IS, nf);
    uint8_t px[3 * 12];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i + 1);
    dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, 12 * n);
    return ds;
}

START_TEST(test_set_frame)
{
    struct dcm_dataset *ds = frames_image(3);
    struct work_source *src = work_source_new(ds, NULL, "test");
    struct ferry_instance inst = { .src = src, .ds = dcm_dataset_clone(ds) };
    const uint8_t *p;
    size_t len;
    struct ferry_frame g;
    ck_assert_int_eq(work_instance_frame(&inst, 1, &p, &len, &g, NULL), 0);
    uint8_t mine[12];
    memset(mine, 0, sizeof mine);
    ck_assert_int_eq(h->set_frame(&inst, 1, mine, sizeof mine, &g), 0);
    ck_assert(inst.pixels_replaced);
    ck_assert_ptr_null(inst.frames[0]);   /* not copied */
    ck_assert_ptr_nonnull(inst.frames[1]);
    /* frames 0 and 2 read through to the source */
    const uint8_t *orig = dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PixelData));
    ck_assert_int_eq(work_instance_frame(&inst, 0, &p, &len, NULL, NULL), 0);
    ck_assert_ptr_eq(p, orig);
    ck_assert_int_eq(work_instance_frame(&inst, 2, &p, &len, NULL, NULL), 0);
    ck_assert_ptr_eq(p, orig + 24);
    /* another layout, or another shape, is refused for a multi-frame image */
    struct ferry_frame other = g;
    snprintf(other.photometric, sizeof other.photometric, "MONOCHROME1");
    ck_assert_int_eq(h->set_frame(&inst, 2, mine, sizeof mine, &other), -EINVAL);
    other = g;
    other.rows = 3;
    ck_assert_int_eq(h->set_frame(&inst, 2, mine, sizeof mine, &other), -EINVAL);
    ck_assert_int_eq(h->set_frame(&inst, 3, mine, sizeof mine, &g), -ENOENT);
    /* natively encoded: the replaced frame between the source's two */
    bool lossy = true;
    ck_assert_int_eq(work_instance_encode(&inst, NULL, NULL, &(struct work_encode_opts){ .new_uid_on_lossy = true }, &lossy, NULL), 0);
    ck_assert(!lossy);
    const struct dcm_element *pd = dcm_dataset_get(inst.ds, DCM_TAG_PixelData);
    ck_assert_uint_eq(dcm_element_length(pd), 36);
    const uint8_t *out = dcm_element_value(pd);
    ck_assert_mem_eq(out, orig, 12);
    ck_assert_mem_eq(out + 12, mine, 12);
    ck_assert_mem_eq(out + 24, orig + 24, 12);
    ck_assert_ptr_null(inst.frames);
    dcm_dataset_unref(inst.ds);
    work_source_unref(src);
    dcm_dataset_unref(ds);

    /* one frame: the replaced frame becomes the pixel data, and a single
     * frame may change its photometric interpretation */
    ds = frames_image(1);
    src = work_source_new(ds, NULL, "test");
    inst = (struct ferry_instance){ .src = src, .ds = dcm_dataset_clone(ds) };
    ck_assert_int_eq(work_instance_frame(&inst, 0, &p, &len, &g, NULL), 0);
    snprintf(g.photometric, sizeof g.photometric, "MONOCHROME1");
    ck_assert_int_eq(h->set_frame(&inst, 0, mine, sizeof mine, &g), 0);
    ck_assert_int_eq(work_instance_encode(&inst, NULL, NULL, &(struct work_encode_opts){ .new_uid_on_lossy = true }, &lossy, NULL), 0);
    pd = dcm_dataset_get(inst.ds, DCM_TAG_PixelData);
    ck_assert_uint_eq(dcm_element_length(pd), 12);
    ck_assert_mem_eq(dcm_element_value(pd), mine, 12);
    char pi[32];
    dcm_dataset_get_cstr(inst.ds, DCM_TAG_PhotometricInterpretation, 0, pi, sizeof pi);
    ck_assert_str_eq(pi, "MONOCHROME1");
    dcm_dataset_unref(inst.ds);
    work_source_unref(src);
    dcm_dataset_unref(ds);
}
END_TEST

TCase *work_host_tcase(void)
{
    TCase *tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_abi_version);
    tcase_add_test(tc, test_empty_sequence);
    tcase_add_test(tc, test_get_string_whole_values);
    tcase_add_test(tc, test_foreach_changes_items);
    tcase_add_test(tc, test_un_resolved);
    tcase_add_test(tc, test_record_pseudonym);
    tcase_add_test(tc, test_meta_rebuilt);
    tcase_add_test(tc, test_set_frame);
    return tc;
}
