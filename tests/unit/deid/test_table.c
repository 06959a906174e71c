/* The generated table against the TSV files it was generated from. */
#include "test_deid.h"

#include <string.h>

static const char *const option_cols[DEID_OPT_COUNT] = {
    "retain_safe_private",         "retain_uids",
    "retain_device_identity",      "retain_institution_identity",
    "retain_patient_characteristics", "retain_long_full_dates",
    "retain_long_modified_dates",  "clean_descriptors",
    "clean_structured_content",    "clean_graphics",
};

/* Every row of deid_profile.tsv is in the table with the same codes. */
START_TEST(test_every_row_present)
{
    struct tsv *t = tsv_read("data/dicom/deid_profile.tsv");
    int c_tag = tsv_col(t, "tag"), c_basic = tsv_col(t, "basic_profile_action");
    int c_kw = tsv_col(t, "keyword");
    ck_assert_int_ge(c_tag, 0);
    ck_assert_uint_eq(t->n_rows, 631);
    size_t concrete = 0, patterns = 0;
    size_t basic_counts[DEID_CODE_COUNT] = { 0 };
    for (size_t r = 0; r < t->n_rows; r++) {
        char **row = t->rows[r];
        uint32_t tag;
        const struct deid_rule *rule;
        if (parse_tag(row[c_tag], &tag)) {
            concrete++;
            rule = deid_rule_find(tag);
            ck_assert_msg(rule != NULL, "%s missing", row[c_tag]);
            ck_assert_uint_eq(rule->tag, tag);
            ck_assert_uint_eq(rule->mask, 0xFFFFFFFFu);
            ck_assert_str_eq(rule->keyword, row[c_kw]);
            ck_assert(!(rule->flags & DEID_RULE_NEWER));
        } else {
            patterns++;
            ck_assert_uint_lt(patterns - 1, deid_pattern_rule_count);
            rule = &deid_pattern_rules[patterns - 1];
        }
        int basic = deid_code_from_name(row[c_basic]);
        ck_assert_int_gt(basic, 0);
        ck_assert_msg(rule->basic == basic, "%s basic %s", row[c_tag], row[c_basic]);
        basic_counts[basic]++;
        for (int o = 0; o < DEID_OPT_COUNT; o++) {
            int col = tsv_col(t, option_cols[o]);
            ck_assert_int_ge(col, 0);
            ck_assert_msg(rule->option[o] == deid_code_from_name(row[col]),
                          "%s option %s: table %s, TSV '%s'", row[c_tag], option_cols[o],
                          deid_code_name(rule->option[o]), row[col]);
        }
    }
    ck_assert_uint_eq(concrete, 627);
    ck_assert_uint_eq(concrete, deid_rule_count_2025a);
    ck_assert_uint_eq(patterns, 4);
    ck_assert_uint_eq(patterns, deid_pattern_rule_count);
    /* deid_notes.md's counts of the Basic Profile codes (patterns included) */
    ck_assert_uint_eq(basic_counts[DEID_CODE_X], 393);
    ck_assert_uint_eq(basic_counts[DEID_CODE_D], 92);
    ck_assert_uint_eq(basic_counts[DEID_CODE_U], 55);
    ck_assert_uint_eq(basic_counts[DEID_CODE_Z], 42);
    ck_assert_uint_eq(basic_counts[DEID_CODE_XD], 22);
    ck_assert_uint_eq(basic_counts[DEID_CODE_XZ], 11);
    ck_assert_uint_eq(basic_counts[DEID_CODE_XZD], 8);
    ck_assert_uint_eq(basic_counts[DEID_CODE_ZD], 6);
    ck_assert_uint_eq(basic_counts[DEID_CODE_XZU], 2);
    tsv_free(t);
}
END_TEST

/* The option columns' counts as deid_notes.md gives them, from the table. */
START_TEST(test_option_counts)
{
    size_t n[DEID_OPT_COUNT][DEID_CODE_COUNT] = { { 0 } };
    for (size_t i = 0; i < deid_rule_count; i++)
        for (int o = 0; o < DEID_OPT_COUNT; o++)
            n[o][deid_rules[i].option[o]]++;
    for (size_t i = 0; i < deid_pattern_rule_count; i++)
        for (int o = 0; o < DEID_OPT_COUNT; o++)
            n[o][deid_pattern_rules[i].option[o]]++;
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_UIDS][DEID_CODE_K], 60);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_DEVICE_IDENTITY][DEID_CODE_K], 46);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_DEVICE_IDENTITY][DEID_CODE_C], 11);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_INSTITUTION_IDENTITY][DEID_CODE_K], 10);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_PATIENT_CHARACTERISTICS][DEID_CODE_K], 10);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_PATIENT_CHARACTERISTICS][DEID_CODE_C], 4);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_LONG_FULL_DATES][DEID_CODE_K], 167);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_LONG_MODIFIED_DATES][DEID_CODE_C], 167);
    ck_assert_uint_eq(n[DEID_OPT_CLEAN_DESCRIPTORS][DEID_CODE_C], 131);
    ck_assert_uint_eq(n[DEID_OPT_CLEAN_STRUCTURED_CONTENT][DEID_CODE_C], 3);
    ck_assert_uint_eq(n[DEID_OPT_CLEAN_GRAPHICS][DEID_CODE_C], 4);
    ck_assert_uint_eq(n[DEID_OPT_RETAIN_SAFE_PRIVATE][DEID_CODE_C], 1);
}
END_TEST

/* The table is sorted (deid_rule_find() searches it) and has no duplicates. */
START_TEST(test_sorted)
{
    for (size_t i = 1; i < deid_rule_count; i++)
        ck_assert_uint_lt(deid_rules[i - 1].tag, deid_rules[i].tag);
}
END_TEST

START_TEST(test_spot_checks)
{
    const struct deid_rule *r = deid_rule_find(0x00100010u);
    ck_assert_str_eq(r->keyword, "PatientName");
    ck_assert_int_eq(r->basic, DEID_CODE_Z);
    ck_assert_str_eq(r->vr, "PN");
    r = deid_rule_find(0x00080018u);
    ck_assert_int_eq(r->basic, DEID_CODE_U);
    ck_assert_int_eq(r->option[DEID_OPT_RETAIN_UIDS], DEID_CODE_K);
    r = deid_rule_find(0x00081140u);
    ck_assert_int_eq(r->basic, DEID_CODE_XZU);
    ck_assert_str_eq(deid_code_name(r->basic), "X/Z/U*");
    r = deid_rule_find(0x00181200u);   /* Date of Last Calibration */
    ck_assert_int_eq(r->basic, DEID_CODE_X);
    ck_assert_int_eq(r->option[DEID_OPT_RETAIN_DEVICE_IDENTITY], DEID_CODE_K);
    ck_assert_int_eq(r->option[DEID_OPT_RETAIN_LONG_FULL_DATES], DEID_CODE_K);
    ck_assert_int_eq(r->option[DEID_OPT_RETAIN_LONG_MODIFIED_DATES], DEID_CODE_C);
    r = deid_rule_find(0x0040A730u);   /* Content Sequence */
    ck_assert_int_eq(r->basic, DEID_CODE_D);
    ck_assert_int_eq(r->option[DEID_OPT_CLEAN_STRUCTURED_CONTENT], DEID_CODE_C);
    ck_assert(r->flags & DEID_RULE_IN_STD_IOD);
    ck_assert_ptr_null(deid_rule_find(0x00280010u));   /* Rows: not in the table */
    ck_assert_ptr_null(deid_rule_find(0x7FE00010u));   /* Pixel Data */
}
END_TEST

/* The pattern rows' masks. */
START_TEST(test_masks)
{
    const struct deid_rule *curve = &deid_pattern_rules[0], *ovl = &deid_pattern_rules[1],
                           *cmt = &deid_pattern_rules[2], *priv = &deid_pattern_rules[3];
    ck_assert_str_eq(curve->keyword, "CurveData");
    ck_assert_str_eq(ovl->keyword, "OverlayData");
    ck_assert_str_eq(cmt->keyword, "OverlayComments");
    ck_assert_str_eq(priv->keyword, "PrivateAttributes");
    ck_assert_ptr_eq(deid_rule_find(0x50000010u), curve);
    ck_assert_ptr_eq(deid_rule_find(0x50FE3000u), curve);
    ck_assert_ptr_eq(deid_rule_find(0x50012000u), priv);    /* odd: private, not a curve */
    ck_assert_ptr_eq(deid_rule_find(0x60003000u), ovl);
    ck_assert_ptr_eq(deid_rule_find(0x601E3000u), ovl);
    ck_assert_ptr_eq(deid_rule_find(0x60FE3000u), ovl);
    ck_assert_ptr_eq(deid_rule_find(0x60013000u), priv);
    ck_assert_ptr_eq(deid_rule_find(0x60004000u), cmt);
    ck_assert_ptr_eq(deid_rule_find(0x60224000u), cmt);
    ck_assert_ptr_null(deid_rule_find(0x60003001u));
    ck_assert_ptr_null(deid_rule_find(0x60000010u));        /* Overlay Rows: no row */
    ck_assert_ptr_null(deid_rule_find(0x61003000u));        /* not a 60xx group */
    ck_assert_ptr_eq(deid_rule_find(0x00090010u), priv);
    ck_assert_ptr_eq(deid_rule_find(0x00191001u), priv);
    ck_assert_ptr_eq(deid_rule_find(0x7FE10010u), priv);
    ck_assert_ptr_eq(deid_rule_find(0xFFFAFFFAu), deid_rule_find(0xFFFAFFFAu));
    ck_assert_str_eq(deid_rule_find(0xFFFAFFFAu)->keyword, "DigitalSignaturesSequence");
    ck_assert_int_eq(curve->option[DEID_OPT_CLEAN_GRAPHICS], DEID_CODE_C);
    ck_assert_int_eq(priv->option[DEID_OPT_RETAIN_SAFE_PRIVATE], DEID_CODE_C);
}
END_TEST

/* The newer edition's rows: present, basic code only, flagged. */
START_TEST(test_newer_rows)
{
    struct tsv *t = tsv_read("data/dicom/deid_profile_newer_rows.tsv");
    int c_tag = tsv_col(t, "tag"), c_basic = tsv_col(t, "basic_profile_action");
    ck_assert_uint_eq(t->n_rows, 26);
    ck_assert_uint_eq(deid_rule_count, deid_rule_count_2025a + t->n_rows);
    for (size_t r = 0; r < t->n_rows; r++) {
        uint32_t tag;
        ck_assert(parse_tag(t->rows[r][c_tag], &tag));
        const struct deid_rule *rule = deid_rule_find(tag);
        ck_assert_ptr_nonnull(rule);
        ck_assert(rule->flags & DEID_RULE_NEWER);
        ck_assert_int_eq(rule->basic, deid_code_from_name(t->rows[r][c_basic]));
        for (int o = 0; o < DEID_OPT_COUNT; o++)
            ck_assert_int_eq(rule->option[o], DEID_CODE_NONE);
    }
    ck_assert_int_eq(deid_rule_find(0x0040B020u)->basic, DEID_CODE_XD);
    ck_assert_int_eq(deid_rule_find(0x00700006u)->basic, DEID_CODE_D);
    tsv_free(t);
}
END_TEST

/* Every fact of iod_types.tsv is in the generated IOD table. */
START_TEST(test_iod_types)
{
    struct tsv *t = tsv_read("plugins/deid/iod_types.tsv");
    int c_uid = tsv_col(t, "sop_class_uid"), c_tag = tsv_col(t, "tag"), c_type = tsv_col(t, "type");
    size_t distinct = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (r == 0 || strcmp(t->rows[r][c_uid], t->rows[r - 1][c_uid]) != 0)
            distinct++;
        int iod = deid_iod_find(t->rows[r][c_uid]);
        ck_assert_int_ge(iod, 0);
        uint32_t tag;
        ck_assert(parse_tag(t->rows[r][c_tag], &tag));
        static const char *const names[] = { "?", "1", "1C", "2", "2C", "3" };
        ck_assert_str_eq(names[deid_iod_type_of(iod, tag)], t->rows[r][c_type]);
    }
    ck_assert_uint_eq(distinct, deid_iod_count);
    ck_assert_uint_gt(deid_iod_count, 100);
    int ct = deid_iod_find("1.2.840.10008.5.1.4.1.1.2");
    int enhanced_ct = deid_iod_find("1.2.840.10008.5.1.4.1.1.2.1");
    ck_assert_int_eq(deid_iod_type_of(ct, 0x00100020u), DEID_TYPE_2);          /* Patient ID */
    ck_assert_int_eq(deid_iod_type_of(ct, 0x00080023u), DEID_TYPE_2C);         /* Content Date */
    ck_assert_int_eq(deid_iod_type_of(enhanced_ct, 0x00080023u), DEID_TYPE_1);
    ck_assert_int_eq(deid_iod_type_of(enhanced_ct, 0x00181000u), DEID_TYPE_1); /* serial */
    ck_assert_int_eq(deid_iod_type_of(ct, 0x00181000u), DEID_TYPE_3);
    ck_assert_int_eq(deid_iod_type_of(enhanced_ct, 0x00081140u), DEID_TYPE_3); /* absent */
    ck_assert_int_eq(deid_iod_find("1.2.3.4"), -1);
    ck_assert_int_eq(deid_iod_find(NULL), -1);
    ck_assert_int_eq(deid_iod_type_of(-1, 0x00100020u), DEID_TYPE_UNKNOWN);
    tsv_free(t);
}
END_TEST

START_TEST(test_safe_private_list)
{
    struct tsv *t = tsv_read("plugins/deid/safe_private.tsv");
    ck_assert_uint_eq(t->n_rows, deid_safe_private_count);
    tsv_free(t);
    ck_assert(deid_private_is_safe(0x0019, "GEMS_ACQU_01", 0x23));
    ck_assert(deid_private_is_safe(0x0019, "GEMS_ACQU_01  ", 0x23));   /* LO padding */
    ck_assert(!deid_private_is_safe(0x0019, "GEMS_ACQU_01", 0x22));
    ck_assert(!deid_private_is_safe(0x0019, "gems_acqu_01", 0x23));    /* case-sensitive */
    ck_assert(!deid_private_is_safe(0x0021, "GEMS_ACQU_01", 0x23));
    ck_assert(!deid_private_is_safe(0x0019, NULL, 0x23));
    ck_assert(deid_private_is_safe(0x7053, "Philips PET Private Group", 0x00));
    ck_assert(deid_private_creator_known(0x2005, "Philips MR Imaging DD 001"));
    ck_assert(!deid_private_creator_known(0x0029, "SIEMENS CSA HEADER"));
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(deid_option_name(DEID_OPT_RETAIN_UIDS), "retain-uids");
    ck_assert_int_eq(deid_option_from_name("clean-graphics"), DEID_OPT_CLEAN_GRAPHICS);
    ck_assert_int_eq(deid_option_from_name("clean_graphics"), -1);
    ck_assert_ptr_null(deid_option_name(DEID_OPT_COUNT));
    for (int o = 0; o < DEID_OPT_COUNT; o++) {
        ck_assert_int_eq(deid_option_from_name(deid_option_name(o)), o);
        ck_assert_uint_eq(strlen(deid_option_code(o)), 6);
        ck_assert_uint_le(strlen(deid_option_meaning(o)), 64);   /* Code Meaning is LO */
    }
    ck_assert_str_eq(deid_option_code(DEID_OPT_RETAIN_SAFE_PRIVATE), "113111");
    ck_assert_str_eq(deid_option_code(DEID_OPT_RETAIN_INSTITUTION_IDENTITY), "113112");
    ck_assert_int_eq(deid_code_from_name("X/Z/U*"), DEID_CODE_XZU);
    ck_assert_int_eq(deid_code_from_name("X/Z/U"), -1);
    ck_assert_int_eq(deid_code_from_name(""), DEID_CODE_NONE);
}
END_TEST

TCase *deid_tcase_table(void)
{
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_every_row_present);
    tcase_add_test(tc, test_option_counts);
    tcase_add_test(tc, test_sorted);
    tcase_add_test(tc, test_spot_checks);
    tcase_add_test(tc, test_masks);
    tcase_add_test(tc, test_newer_rows);
    tcase_add_test(tc, test_iod_types);
    tcase_add_test(tc, test_safe_private_list);
    tcase_add_test(tc, test_names);
    return tc;
}
