/* dcm: reading and writing values, sequences, pixel fragments, clones. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

START_TEST(strings)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_ImageType, DCM_VR_NONE,
                                            " ORIGINAL\\PRIMARY \\AXIAL"), 0);
    const struct dcm_element *e = dcm_dataset_get(ds, DCM_TAG_ImageType);
    ck_assert_int_eq(dcm_element_vr(e), DCM_VR_CS);
    ck_assert_uint_eq(dcm_element_length(e), 24); /* 23 + one space of padding */
    ck_assert_uint_eq(dcm_element_vm(ds, e), 3);
    const char *p;
    size_t n;
    ck_assert_int_eq(dcm_element_string(ds, e, 0, &p, &n), 0);
    ck_assert_uint_eq(n, 8);
    ck_assert(memcmp(p, "ORIGINAL", 8) == 0); /* leading space trimmed for CS */
    ck_assert_int_eq(dcm_element_string(ds, e, 1, &p, &n), 0);
    ck_assert(n == 7 && memcmp(p, "PRIMARY", 7) == 0);
    ck_assert_int_eq(dcm_element_string(ds, e, 2, &p, &n), 0);
    ck_assert(n == 5 && memcmp(p, "AXIAL", 5) == 0);
    ck_assert_int_eq(dcm_element_string(ds, e, 3, &p, &n), -ENOENT);
    char buf[8];
    ck_assert_int_eq(dcm_dataset_get_cstr(ds, DCM_TAG_ImageType, DCM_ALL_VALUES, buf, sizeof buf),
                     23);
    ck_assert_str_eq(buf, "ORIGINA"); /* cut, NUL-terminated */

    /* LT keeps backslashes and leading spaces. */
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_ImageComments, DCM_VR_NONE, "  a\\b"), 0);
    e = dcm_dataset_get(ds, DCM_TAG_ImageComments);
    ck_assert_uint_eq(dcm_element_vm(ds, e), 1);
    ck_assert_int_eq(dcm_element_string(ds, e, 0, &p, &n), 0);
    ck_assert(n == 5 && memcmp(p, "  a\\b", 5) == 0);

    /* UI pads with NUL. */
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, "1.2.3"), 0);
    e = dcm_dataset_get(ds, DCM_TAG_SOPInstanceUID);
    ck_assert_mem_eq(dcm_element_value(e), "1.2.3\0", 6);
    char uid[65];
    ck_assert_int_eq(dcm_dataset_get_cstr(ds, DCM_TAG_SOPInstanceUID, 0, uid, sizeof uid), 5);
    ck_assert_str_eq(uid, "1.2.3");

    /* Empty values and errors. */
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_AccessionNumber, DCM_VR_NONE, ""), 0);
    e = dcm_dataset_get(ds, DCM_TAG_AccessionNumber);
    ck_assert_uint_eq(dcm_element_vm(ds, e), 0);
    ck_assert_int_eq(dcm_element_string(ds, e, 0, &p, &n), -ENOENT);
    ck_assert_int_eq(dcm_dataset_get_cstr(ds, DCM_TAG_PatientID, 0, uid, sizeof uid), -ENOENT);
    ck_assert_int_eq(dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_NONE, 512), 0);
    ck_assert_int_eq(dcm_dataset_get_cstr(ds, DCM_TAG_Rows, 0, uid, sizeof uid), -EINVAL);
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG(0x0009, 0x1001), DCM_VR_NONE, "x"),
                     -EINVAL); /* unknown tag needs a VR */
    ck_assert_int_eq(dcm_dataset_set_string(ds, 0xFFFEE000u, DCM_VR_OB, "x"), -EINVAL);
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_ReferencedImageSequence, DCM_VR_NONE, "", 0),
                     -EINVAL);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(numbers)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    ck_assert_int_eq(dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_NONE, 65535), 0);
    ck_assert_int_eq(dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_NONE, 65536), -ERANGE);
    ck_assert_int_eq(dcm_dataset_set_int(ds, DCM_TAG_SmallestImagePixelValue, DCM_VR_SS, -1024), 0);
    ck_assert_int_eq(dcm_dataset_set_int(ds, DCM_TAG_InstanceNumber, DCM_VR_NONE, -42), 0);
    ck_assert_int_eq(dcm_dataset_set_double(ds, DCM_TAG_SliceThickness, DCM_VR_NONE, 0.625), 0);
    ck_assert_int_eq(dcm_dataset_set_double(ds, DCM_TAG_RescaleSlope, DCM_VR_NONE, 1.0 / 3.0), 0);
    ck_assert_int_eq(dcm_dataset_set_double(ds, DCM_TAG_RescaleIntercept, DCM_VR_NONE, -1024), 0);
    ck_assert_int_eq(dcm_dataset_set_double(ds, DCM_TAG(0x0018, 0x9087), DCM_VR_NONE, 1000.5), 0);
    ck_assert_int_eq(dcm_dataset_set_uint(ds, DCM_TAG_FrameIncrementPointer, DCM_VR_NONE,
                                          DCM_TAG_FrameTime), 0);
    ck_assert_int_eq(dcm_dataset_set_int(ds, DCM_TAG(0x0018, 0x9219), DCM_VR_SS, 40000), -ERANGE);

    uint64_t u;
    int64_t i;
    double d;
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_Rows, 0, &u), 0);
    ck_assert_uint_eq(u, 65535);
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_Rows, 1, &u), -ENOENT);
    ck_assert_int_eq(dcm_dataset_get_int(ds, DCM_TAG_SmallestImagePixelValue, 0, &i), 0);
    ck_assert_int_eq(i, -1024);
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_SmallestImagePixelValue, 0, &u), -ERANGE);
    ck_assert_int_eq(dcm_dataset_get_int(ds, DCM_TAG_InstanceNumber, 0, &i), 0);
    ck_assert_int_eq(i, -42);
    char s[32];
    dcm_dataset_get_cstr(ds, DCM_TAG_InstanceNumber, 0, s, sizeof s);
    ck_assert_str_eq(s, "-42");
    dcm_dataset_get_cstr(ds, DCM_TAG_SliceThickness, 0, s, sizeof s);
    ck_assert_str_eq(s, "0.625");
    dcm_dataset_get_cstr(ds, DCM_TAG_RescaleSlope, 0, s, sizeof s);
    ck_assert_uint_le(strlen(s), 16);
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG_RescaleSlope, 0, &d), 0);
    ck_assert_double_eq_tol(d, 1.0 / 3.0, 1e-14);
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG_RescaleIntercept, 0, &d), 0);
    ck_assert_double_eq(d, -1024);
    ck_assert_int_eq(dcm_dataset_get_int(ds, DCM_TAG_RescaleIntercept, 0, &i), -EINVAL);
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG(0x0018, 0x9087), 0, &d), 0);
    ck_assert_double_eq(d, 1000.5);
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_FrameIncrementPointer, 0, &u), 0);
    ck_assert_uint_eq(u, DCM_TAG_FrameTime);
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG_PatientName, 0, &d), -ENOENT);

    /* Multi-valued DS read from bytes, with padding; garbage is -EINVAL. */
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_PixelSpacing, DCM_VR_NONE,
                                            " 0.5\\0.75 "), 0);
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG_PixelSpacing, 1, &d), 0);
    ck_assert_double_eq(d, 0.75);
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_SeriesNumber, DCM_VR_NONE, "1A"), 0);
    ck_assert_int_eq(dcm_dataset_get_int(ds, DCM_TAG_SeriesNumber, 0, &i), -EINVAL);
    ck_assert_int_eq(dcm_element_vm(ds, dcm_dataset_get(ds, DCM_TAG_PixelSpacing)), 2);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(modify_and_track)
{
    struct tb t = { 0 };
    tb_str(&t, DCM_TAG_Modality, "CS", "CT");
    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", DCM_UNDEFINED_LENGTH);
    tb_item(&t, DCM_UNDEFINED_LENGTH);
    tb_str(&t, DCM_TAG_ReferencedSOPClassUID, "UI", "1.2");
    tb_item_end(&t);
    tb_seq_end(&t);
    tb_str(&t, DCM_TAG_PatientName, "PN", "A^B");
    struct dcm_parse_opts o = { .transfer_syntax = DCM_UID_ExplicitVRLittleEndian };
    struct dcm_dataset *ds = dcm_parse_buffer(t.d, t.n, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    struct dcm_dataset *it = dcm_dataset_item(ds, DCM_TAG_ReferencedImageSequence, 0);
    ck_assert(!dcm_dataset_changed(ds) && !dcm_dataset_changed(it));

    /* A change deep inside marks the item and its ancestors. */
    ck_assert_int_eq(dcm_dataset_set_string(it, DCM_TAG_ReferencedSOPInstanceUID, DCM_VR_NONE,
                                            "9.8.7"), 0);
    ck_assert(dcm_dataset_changed(it) && dcm_dataset_changed(ds));
    ck_assert_uint_eq(dcm_dataset_count(it), 2);

    /* Unchanged, the root is passed through; changed, it is re-encoded. */
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, 0, &out, NULL), 0);
    ck_assert_uint_eq(out.len, t.n + 14);
    struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(back);
    char why[200];
    ck_assert_msg(ds_equal(ds, back, false, why, sizeof why), "%s", why);
    dcm_dataset_unref(back);
    dcm_buf_free(&out);

    /* Remove, add items, remove items. */
    ck_assert_int_eq(dcm_dataset_remove(ds, DCM_TAG_Modality), 0);
    ck_assert_int_eq(dcm_dataset_remove(ds, DCM_TAG_Modality), -ENOENT);
    struct dcm_dataset *n2 = dcm_dataset_add_item(ds, DCM_TAG_ReferencedImageSequence);
    ck_assert_ptr_nonnull(n2);
    ck_assert_int_eq(dcm_dataset_set_string(n2, DCM_TAG_ReferencedSOPClassUID, DCM_VR_NONE, "3.4"), 0);
    ck_assert_uint_eq(dcm_element_item_count(dcm_dataset_get(ds, DCM_TAG_ReferencedImageSequence)), 2);
    ck_assert_ptr_null(dcm_dataset_add_item(ds, DCM_TAG_PatientName)); /* not an SQ */
    struct dcm_dataset *n3 = dcm_dataset_add_item(ds, DCM_TAG_OtherPatientIDsSequence);
    ck_assert_ptr_nonnull(n3);
    ck_assert_int_eq(dcm_dataset_remove_item(ds, DCM_TAG_ReferencedImageSequence, 0), 0);
    it = dcm_dataset_item(ds, DCM_TAG_ReferencedImageSequence, 0);
    char buf[16];
    dcm_dataset_get_cstr(it, DCM_TAG_ReferencedSOPClassUID, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "3.4");
    ck_assert_int_eq(dcm_dataset_remove_item(ds, DCM_TAG_ReferencedImageSequence, 5), -ENOENT);

    /* Clone: deep, independent. */
    struct dcm_dataset *c = dcm_dataset_clone(ds);
    ck_assert_msg(ds_equal(ds, c, false, why, sizeof why), "%s", why);
    ck_assert_int_eq(dcm_dataset_set_string(c, DCM_TAG_PatientName, DCM_VR_NONE, "C^D"), 0);
    dcm_dataset_get_utf8(ds, DCM_TAG_PatientName, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "A^B");
    /* An item cloned is a root of its own. */
    struct dcm_dataset *ic = dcm_dataset_clone(it);
    ck_assert_ptr_null(dcm_dataset_parent(ic));
    ck_assert_uint_eq(dcm_dataset_count(ic), 1);
    dcm_dataset_unref(ic);
    dcm_dataset_unref(c);

    /* Big values, taken over. */
    uint8_t *px = malloc(1 << 20);
    memset(px, 7, 1 << 20);
    ck_assert_int_eq(dcm_dataset_set_take(ds, DCM_TAG_PixelData, DCM_VR_OW, px, 1 << 20), 0);
    ck_assert_ptr_eq(dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PixelData)), px);
    uint8_t *odd = malloc(3);
    ck_assert_int_eq(dcm_dataset_set_take(ds, DCM_TAG_PixelData, DCM_VR_OW, odd, 3), -EINVAL);
    free(odd);
    c = dcm_dataset_clone(ds);
    ck_assert_msg(ds_equal(ds, c, false, why, sizeof why), "%s", why);
    dcm_dataset_unref(c);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(build_encapsulated)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    ck_assert_int_eq(dcm_dataset_set_string(ds, DCM_TAG_NumberOfFrames, DCM_VR_NONE, "3"), 0);
    ck_assert_int_eq(dcm_dataset_add_fragment(ds, "abc", 3), -EINVAL); /* not encapsulated yet */
    ck_assert_int_eq(dcm_dataset_set_encapsulated(ds), 0);
    ck_assert_int_eq(dcm_dataset_add_fragment(ds, "abc", 3), 0);
    ck_assert_int_eq(dcm_dataset_add_fragment(ds, "defg", 4), 0);
    char *f = malloc(6);
    memcpy(f, "hijklm", 6);
    ck_assert_int_eq(dcm_dataset_add_fragment_take(ds, f, 6), 0);
    ck_assert_int_eq(dcm_dataset_fill_offset_table(ds), 0);
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    ck_assert_uint_eq(dcm_element_fragment_count(pd), 3);
    const uint8_t *b;
    uint32_t len;
    dcm_element_fragment(pd, 0, &b, &len, NULL);
    ck_assert_uint_eq(len, 4); /* padded to even */
    ck_assert_mem_eq(b, "abc\0", 4);
    dcm_element_offset_table(pd, &b, &len);
    static const uint8_t bot[12] = { 0, 0, 0, 0, 12, 0, 0, 0, 24, 0, 0, 0 };
    ck_assert_uint_eq(len, 12);
    ck_assert_mem_eq(b, bot, 12);
    uint32_t first, count;
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 2, &first, &count, NULL), 0);
    ck_assert_uint_eq(first, 2);
    ck_assert_uint_eq(count, 1);

    /* Native syntaxes refuse it; an encapsulated one writes it. */
    struct dcm_buf out = { 0 };
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, 0, &out, &err), -ENOTSUP);
    ck_assert_str_eq(err->message, "the pixel data is encapsulated (1.2.840.10008.1.2.1); "
                                   "writing it in Explicit VR Little Endian needs a codec");
    ferry_error_free(err);
    ck_assert_int_eq(dcm_dataset_set_transfer_syntax(ds, DCM_UID_RLELossless), 0);
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_RLELossless, 0, &out, NULL), 0);
    struct dcm_parse_opts o = { .transfer_syntax = DCM_UID_RLELossless };
    struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(back);
    char why[200];
    ck_assert_msg(ds_equal(ds, back, false, why, sizeof why), "%s", why);
    dcm_dataset_unref(back);
    dcm_buf_free(&out);

    /* The Extended Offset Table, an ordinary element, takes precedence. */
    uint8_t eot[24] = { 0 };
    eot[8] = 12;
    eot[16] = 24;
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_ExtendedOffsetTable, DCM_VR_NONE, eot, 24), 0);
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 1, &first, &count, NULL), 0);
    ck_assert_uint_eq(first, 1);
    eot[16] = 25;
    ck_assert_int_eq(dcm_dataset_set(ds, DCM_TAG_ExtendedOffsetTable, DCM_VR_NONE, eot, 24), 0);
    err = NULL;
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 2, &first, &count, &err), -EINVAL);
    ck_assert_str_eq(err->message,
                     "Extended Offset Table entry 2 (25) is not the start of a fragment");
    ferry_error_free(err);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(uid_generate)
{
    char a[65], b[65];
    ck_assert_int_eq(dcm_uid_generate(a), 0);
    ck_assert_int_eq(dcm_uid_generate(b), 0);
    ck_assert_str_ne(a, b);
    ck_assert(strncmp(a, "2.25.", 5) == 0);
    ck_assert_uint_le(strlen(a), 44);
    ck_assert(a[5] != '0');
    for (const char *p = a + 5; *p; p++)
        ck_assert(*p >= '0' && *p <= '9');
}
END_TEST

TCase *tcase_values(void)
{
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, strings);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, modify_and_track);
    tcase_add_test(tc, build_encapsulated);
    tcase_add_test(tc, uid_generate);
    return tc;
}
