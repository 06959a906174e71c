/* The dcm module's Check suite: one TCase per feature (the other test_*.c
 * files), and the dictionary here. */
#include <stdlib.h>
#include <string.h>

#include "util.h"

START_TEST(dict_lookup)
{
    const struct dcm_dict_entry *e = dcm_dict_lookup(DCM_TAG_PatientName);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->keyword, "PatientName");
    ck_assert_int_eq(e->vr, DCM_VR_PN);
    ck_assert_int_eq(e->vm_min, 1);
    ck_assert_int_eq(e->vm_max, 1);
    ck_assert_uint_eq(DCM_TAG_PatientName, 0x00100010u);

    e = dcm_dict_lookup(DCM_TAG_ImageOrientationPatient);
    ck_assert_int_eq(e->vm_min, 6);
    e = dcm_dict_lookup(DCM_TAG_ImageType);
    ck_assert_int_eq(e->vm_min, 2);
    ck_assert_int_eq(e->vm_max, 0); /* 2-n */

    uint32_t tag;
    ck_assert(dcm_dict_tag_of("StudyInstanceUID", &tag));
    ck_assert_uint_eq(tag, 0x0020000Du);
    ck_assert(!dcm_dict_tag_of("NoSuchKeyword", &tag));
    ck_assert(dcm_dict_tag_of("OverlayData", &tag));
    ck_assert_uint_eq(tag, 0x60003000u);

    /* Repeating groups: even groups of 60xx and 50xx, 7Fxx. */
    ck_assert_str_eq(dcm_dict_keyword(0x60223000u), "OverlayData");
    ck_assert_int_eq(dcm_dict_implicit_vr(0x60223000u), DCM_VR_OW);
    ck_assert_str_eq(dcm_dict_keyword(0x601E0010u), "OverlayRows");
    ck_assert_str_eq(dcm_dict_keyword(0x50103000u), "RETIRED_CurveData");
    ck_assert_str_eq(dcm_dict_keyword(0x7F020010u), "RETIRED_VariablePixelData");
    /* An odd group in the 60xx range is private. */
    ck_assert_str_eq(dcm_dict_keyword(0x60213000u), "Unknown Tag & Data");
    ck_assert_int_eq(dcm_dict_implicit_vr(0x60213000u), DCM_VR_UN);

    /* Private creators, group lengths, unknown tags. */
    ck_assert_str_eq(dcm_dict_keyword(0x00290010u), "PrivateCreator");
    ck_assert_int_eq(dcm_dict_implicit_vr(0x002900FFu), DCM_VR_LO);
    ck_assert_int_eq(dcm_dict_implicit_vr(0x00291010u), DCM_VR_UN);
    ck_assert_ptr_null(dcm_dict_lookup(0x00291010u));
    ck_assert_str_eq(dcm_dict_keyword(0x00080000u), "GenericGroupLength");
    ck_assert_int_eq(dcm_dict_implicit_vr(0x00080000u), DCM_VR_UL);
    ck_assert_int_eq(dcm_dict_implicit_vr(0x00089999u), DCM_VR_UN);

    /* Ambiguous VRs resolve for implicit VR as DCMTK does. */
    ck_assert_int_eq(dcm_dict_lookup(DCM_TAG_PixelData)->vr, DCM_VR_PX);
    ck_assert_int_eq(dcm_dict_implicit_vr(DCM_TAG_PixelData), DCM_VR_OW);
    ck_assert_int_eq(dcm_dict_implicit_vr(DCM_TAG_SmallestImagePixelValue), DCM_VR_US);
    ck_assert_int_eq(dcm_dict_implicit_vr(DCM_TAG_OffsetOfTheNextDirectoryRecord), DCM_VR_UL);
    ck_assert_int_eq(dcm_dict_implicit_vr(DCM_TAG_ReferencedImageSequence), DCM_VR_SQ);
    ck_assert_int_gt(dcm_dict_size(), 4500);
}
END_TEST

START_TEST(vr_helpers)
{
    ck_assert_str_eq(dcm_vr_name(DCM_VR_PN), "PN");
    ck_assert_str_eq(dcm_vr_name(DCM_VR_NONE), "--");
    ck_assert_str_eq(dcm_vr_name(DCM_VR_US_SS), "xs");
    ck_assert_int_eq(dcm_vr_from_name("UV"), DCM_VR_UV);
    ck_assert_int_eq(dcm_vr_from_name("ZZ"), DCM_VR_NONE);
    ck_assert_int_eq(dcm_vr_from_name("PNX"), DCM_VR_NONE);
    ck_assert_int_eq(dcm_vr_from_bytes((const uint8_t *)"OB"), DCM_VR_OB);
    ck_assert_int_eq(dcm_vr_from_bytes((const uint8_t *)"ob"), DCM_VR_NONE);
    ck_assert(dcm_vr_has_long_length(DCM_VR_UT));
    ck_assert(dcm_vr_has_long_length(DCM_VR_SV));
    ck_assert(!dcm_vr_has_long_length(DCM_VR_LT));
    ck_assert(dcm_vr_is_text(DCM_VR_PN));
    ck_assert(!dcm_vr_is_text(DCM_VR_CS));
    ck_assert(dcm_vr_is_string(DCM_VR_CS));
    ck_assert_uint_eq(dcm_vr_value_size(DCM_VR_AT), 2);
    ck_assert_uint_eq(dcm_vr_value_size(DCM_VR_OV), 8);
    ck_assert_uint_eq(dcm_vr_padding(DCM_VR_UI), 0);
    ck_assert_uint_eq(dcm_vr_padding(DCM_VR_LO), ' ');
    /* Every VR the enum names is valid, and only those. */
    int valid = 0;
    for (int a = 'A'; a <= 'Z'; a++)
        for (int b = 'A'; b <= 'Z'; b++) {
            uint8_t s[2] = { (uint8_t)a, (uint8_t)b };
            if (dcm_vr_from_bytes(s) != DCM_VR_NONE)
                valid++;
        }
    ck_assert_int_eq(valid, 34);
}
END_TEST

START_TEST(uid_tables)
{
    const struct dcm_ts *ts = dcm_ts_lookup(DCM_UID_ExplicitVRBigEndian);
    ck_assert_ptr_nonnull(ts);
    ck_assert(ts->explicit_vr && ts->big_endian && ts->retired && !ts->encapsulated);
    ts = dcm_ts_lookup_n("1.2.840.10008.1.2\0", 18);
    ck_assert_ptr_nonnull(ts);
    ck_assert(!ts->explicit_vr);
    ck_assert_str_eq(ts->keyword, "ImplicitVRLittleEndian");
    ts = dcm_ts_lookup(DCM_UID_DeflatedExplicitVRLittleEndian);
    ck_assert(ts->deflated);
    ts = dcm_ts_lookup(DCM_UID_JPEGLSLossless);
    ck_assert(ts->encapsulated && ts->lossless);
    ts = dcm_ts_lookup(DCM_UID_JPEGBaseline8Bit);
    ck_assert(ts->encapsulated && !ts->lossless);
    ck_assert(!dcm_ts_lookup(DCM_UID_JPEG2000)->lossless); /* either: not "always" */
    ck_assert(dcm_ts_is_uncompressed(dcm_ts_lookup(DCM_UID_ExplicitVRLittleEndian)));
    ck_assert(!dcm_ts_is_uncompressed(dcm_ts_lookup(DCM_UID_RLELossless)));
    ck_assert_ptr_null(dcm_ts_lookup("1.2.3"));
    size_t n;
    dcm_ts_all(&n);
    ck_assert_uint_eq(n, 26);

    const struct dcm_sop_class *sc = dcm_sop_class_lookup(DCM_UID_CTImageStorage);
    ck_assert_ptr_nonnull(sc);
    ck_assert_str_eq(sc->name, "CT Image Storage");
    ck_assert(sc->storage && sc->common);
    sc = dcm_sop_class_lookup(DCM_UID_Verification);
    ck_assert(!sc->storage);
    ck_assert_str_eq(dcm_uid_name(DCM_UID_RLELossless), "RLE Lossless");
    ck_assert_ptr_null(dcm_uid_name("1.2.3.4"));
    dcm_sop_class_all(&n);
    ck_assert_uint_gt(n, 190);
}
END_TEST

static TCase *tcase_dict_(void)
{
    TCase *tc = tcase_create("dict");
    tcase_add_test(tc, dict_lookup);
    tcase_add_test(tc, vr_helpers);
    tcase_add_test(tc, uid_tables);
    return tc;
}

TCase *tcase_dict(void)
{
    return tcase_dict_();
}

int main(void)
{
    Suite *s = suite_create("dcm");
    suite_add_tcase(s, tcase_dict());
    suite_add_tcase(s, tcase_parse());
    suite_add_tcase(s, tcase_parse_errors());
    suite_add_tcase(s, tcase_incremental());
    suite_add_tcase(s, tcase_values());
    suite_add_tcase(s, tcase_write());
    suite_add_tcase(s, tcase_roundtrip());
    suite_add_tcase(s, tcase_charset());
    suite_add_tcase(s, tcase_command());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
