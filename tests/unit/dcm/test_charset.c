/* dcm: Specific Character Set decoding, encoding, splitting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *decode(const char *term, enum dcm_vr vr, const char *bytes)
{
    struct dcm_charset cs;
    ck_assert_int_eq(dcm_charset_parse(term, strlen(term), &cs, NULL), 0);
    char *out = NULL;
    size_t n = 0;
    ck_assert_int_eq(dcm_charset_decode(&cs, vr, (const uint8_t *)bytes, strlen(bytes), &out, &n,
                                        NULL), 0);
    ck_assert_uint_eq(strlen(out), n);
    return out;
}

static char *encode(const char *term, enum dcm_vr vr, const char *utf8, int *rc)
{
    struct dcm_charset cs;
    ck_assert_int_eq(dcm_charset_parse(term, strlen(term), &cs, NULL), 0);
    char *out = NULL;
    size_t n = 0;
    *rc = dcm_charset_encode(&cs, vr, utf8, strlen(utf8), &out, &n, NULL);
    if (*rc < 0) {
        free(out);
        return NULL;
    }
    return out;
}

#define CHECK_DECODE(term, vr, bytes, want)        \
    do {                                           \
        char *s_ = decode(term, vr, bytes);        \
        ck_assert_str_eq(s_, want);                \
        free(s_);                                  \
    } while (0)

START_TEST(decode_chinese)
{
    CHECK_DECODE("GB18030", DCM_VR_PN, "\xd5\xc5\xc8\xfd", "张三");
    CHECK_DECODE("GB18030", DCM_VR_LO, "\xa2\xe3\x94\x39\xfc\x36", "€😀");
    CHECK_DECODE("GBK", DCM_VR_PN, "Wang^\xcd\xf5", "Wang^王");
    CHECK_DECODE("ISO_IR 192", DCM_VR_PN, "Wang^XiaoDong=王^小东=", "Wang^XiaoDong=王^小东=");
    /* PS3.5 Annex K: ISO 2022 IR 58, escape sequences after each delimiter. */
    CHECK_DECODE("\\ISO 2022 IR 58", DCM_VR_PN,
                 "Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=",
                 "Zhang^XiaoDong=张^小东=");
    CHECK_DECODE("ISO 2022 IR 6\\ISO 2022 IR 58", DCM_VR_PN,
                 "Wang^XiaoDong=\x1b$)A\xcd\xf5^\x1b$)A\xd0\xa1\xb6\xab=",
                 "Wang^XiaoDong=王^小东=");
    /* A sender that leaves the escape out: the listed G1 set is assumed. */
    CHECK_DECODE("\\ISO 2022 IR 58", DCM_VR_PN, "\xcd\xf5", "王");
    /* Bytes that are not GB18030: replaced, never an error. */
    CHECK_DECODE("GB18030", DCM_VR_LO, "A\xff", "A\xEF\xBF\xBD");
    CHECK_DECODE("ISO_IR 192", DCM_VR_LO, "A\xc3", "A\xEF\xBF\xBD");
}
END_TEST

START_TEST(decode_other)
{
    CHECK_DECODE("ISO_IR 100", DCM_VR_PN, "Buc^J\xe9r\xf4me", "Buc^Jérôme");
    CHECK_DECODE("", DCM_VR_PN, "Doe^John", "Doe^John");
    CHECK_DECODE("ISO_IR 144", DCM_VR_PN, "\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3",
                 "Люкceмбypг");
    CHECK_DECODE("\\ISO 2022 IR 87", DCM_VR_PN,
                 "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
                 "Yamada^Tarou=山田^太郎=やまだ^たろう");
    CHECK_DECODE("\\ISO 2022 IR 149", DCM_VR_PN, "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf", "김희중");
    /* No Specific Character Set but bytes over 0x7F: UTF-8 if they are. */
    CHECK_DECODE("", DCM_VR_PN, "张^三", "张^三");
    CHECK_DECODE("", DCM_VR_PN, "J\xe9r\xf4me", "Jérôme");
        /* CS values are ASCII whatever the charset. */
    CHECK_DECODE("GB18030", DCM_VR_CS, "ORIGINAL", "ORIGINAL");
}
END_TEST

START_TEST(charset_files)
{
    /* pydicom's charset test files, with the names pydicom decodes. */
    static const struct { const char *file, *name; } files[] = {
        { "chrArab.dcm", "قباني^لنزار" },
        { "chrFren.dcm", "Buc^Jérôme" },
        { "chrGerm.dcm", "Äneas^Rüdiger" },
        { "chrGreek.dcm", "Διονυσιος" },
        { "chrH31.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう" },
        { "chrH32.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう" },
        { "chrHbrw.dcm", "שרון^דבורה" },
        { "chrI2.dcm", "Hong^Gildong=洪^吉洞=홍^길동" },
        { "chrJapMulti.dcm", "やまだ^たろう" },
        { "chrJapMultiExplicitIR6.dcm", "やまだ^たろう" },
        { "chrKoreanMulti.dcm", "김희중" },
        { "chrRuss.dcm", "Люкceмбypг" },
        { "chrX1.dcm", "Wang^XiaoDong=王^小東=" },
        { "chrX2.dcm", "Wang^XiaoDong=王^小东=" },
    };
    const char *c = corpus_dir();
    if (!c)
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/../charset_files/%s", c, files[i].file);
        struct ferry_error *err = NULL;
        struct dcm_dataset *ds = dcm_read_file(path, NULL, &err);
        ck_assert_msg(ds != NULL, "%s", ferry_error_message(err));
        char buf[256];
        int n = dcm_dataset_get_utf8(ds, DCM_TAG_PatientName, DCM_ALL_VALUES, buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_msg(strcmp(buf, files[i].name) == 0, "%s: '%s'", files[i].file, buf);
        dcm_dataset_unref(ds);
    }
    /* An item with its own Specific Character Set. */
    char path[512];
    snprintf(path, sizeof path, "%s/../charset_files/chrSQEncoding1.dcm", c);
    struct dcm_dataset *ds = dcm_read_file(path, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    const struct dcm_element *sq = dcm_dataset_at(ds, dcm_dataset_count(ds) - 1);
    ck_assert(dcm_element_is_sequence(sq));
    char buf[256];
    dcm_dataset_get_utf8(dcm_element_item(sq, 0), DCM_TAG_PatientName, DCM_ALL_VALUES, buf,
                         sizeof buf);
    ck_assert_str_eq(buf, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう");
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(encode_text)
{
    int rc;
    char *s = encode("GB18030", DCM_VR_PN, "张三", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(s, "\xd5\xc5\xc8\xfd");
    free(s);
    s = encode("\\ISO 2022 IR 58", DCM_VR_PN, "Zhang^XiaoDong=张^小东=", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(s, "Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=");
    free(s);
    s = encode("\\ISO 2022 IR 87", DCM_VR_PN, "Yamada^Tarou=山田^太郎", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(s, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B");
    free(s);
    s = encode("ISO_IR 100", DCM_VR_PN, "Buc^Jérôme", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(s, "Buc^J\xe9r\xf4me");
    free(s);
    ck_assert_ptr_null(encode("ISO_IR 100", DCM_VR_PN, "张三", &rc));
    ck_assert_int_eq(rc, -EILSEQ);
    ck_assert_ptr_null(encode("", DCM_VR_PN, "é", &rc));
    ck_assert_int_eq(rc, -EILSEQ);
    ck_assert_ptr_null(encode("\\ISO 2022 IR 58", DCM_VR_PN, "김", &rc));
    ck_assert_int_eq(rc, -EILSEQ);
    s = encode("ISO_IR 192", DCM_VR_PN, "김^张", &rc);
    ck_assert_str_eq(s, "김^张");
    free(s);
    ck_assert_ptr_null(encode("GB18030", DCM_VR_PN, "bad\xff", &rc));
    ck_assert_int_eq(rc, -EINVAL);
    /* Round trips through every multi-byte Chinese set. */
    const char *terms[] = { "GB18030", "GBK", "\\ISO 2022 IR 58", "ISO 2022 IR 6\\ISO 2022 IR 58",
                            "ISO_IR 192" };
    for (size_t i = 0; i < 5; i++) {
        s = encode(terms[i], DCM_VR_PN, "Li^Si=李^四=", &rc);
        ck_assert_int_eq(rc, 0);
        char *back = decode(terms[i], DCM_VR_PN, s);
        ck_assert_str_eq(back, "Li^Si=李^四=");
        free(back);
        free(s);
    }
}
END_TEST

START_TEST(split)
{
    struct dcm_charset cs;
    ck_assert_int_eq(dcm_charset_parse("GBK", 3, &cs, NULL), 0);
    /* 乗 is 81 5C in GBK: its second byte is a backslash but not a delimiter. */
    const uint8_t v[] = { 0x81, 0x5C, '\\', 'B' };
    size_t start, n;
    ck_assert_uint_eq(dcm_charset_count(&cs, DCM_VR_LO, v, 4), 2);
    ck_assert_int_eq(dcm_charset_split(&cs, DCM_VR_LO, v, 4, 0, &start, &n), 0);
    ck_assert_uint_eq(start, 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(dcm_charset_split(&cs, DCM_VR_LO, v, 4, 1, &start, &n), 0);
    ck_assert_uint_eq(start, 3);
    ck_assert_int_eq(dcm_charset_split(&cs, DCM_VR_LO, v, 4, 2, &start, &n), -ENOENT);
    struct dcm_charset plain;
    dcm_charset_parse("", 0, &plain, NULL);
    ck_assert_uint_eq(dcm_charset_count(&plain, DCM_VR_LO, v, 4), 3);
    /* LT is one value, whatever its backslashes. */
    ck_assert_uint_eq(dcm_charset_count(&plain, DCM_VR_LT, (const uint8_t *)"a\\b", 3), 1);
    ck_assert_uint_eq(dcm_charset_count(&plain, DCM_VR_LO, (const uint8_t *)"  ", 2), 0);

    /* Through the data set. */
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SpecificCharacterSet, DCM_VR_NONE, "GBK");
    dcm_dataset_set(ds, DCM_TAG_OtherPatientNames, DCM_VR_NONE, v, 4);
    char buf[32];
    ck_assert_int_eq(dcm_dataset_get_utf8(ds, DCM_TAG_OtherPatientNames, 0, buf, sizeof buf), 3);
    ck_assert_str_eq(buf, "乗");
    ck_assert_int_eq(dcm_dataset_get_utf8(ds, DCM_TAG_OtherPatientNames, 1, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "B");
    dcm_dataset_unref(ds);

    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_charset_parse("ISO_IR 100\\KLINGON", 18, &cs, &err), -EINVAL);
    ck_assert_str_eq(err->message, "unknown Specific Character Set term 'KLINGON'");
    ferry_error_free(err);
    ck_assert_str_eq(dcm_cs_term(DCM_CS_GB2312, true), "ISO 2022 IR 58");
    ck_assert_str_eq(dcm_cs_term(DCM_CS_LATIN1, false), "ISO_IR 100");
}
END_TEST

START_TEST(set_and_convert)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SpecificCharacterSet, DCM_VR_NONE, "ISO_IR 100");
    ck_assert_int_eq(dcm_dataset_set_utf8(ds, DCM_TAG_PatientName, DCM_VR_NONE, "Buc^Jérôme"), 0);
    ck_assert_mem_eq(dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PatientName)), "Buc^J\xe9r\xf4me", 10);
    struct dcm_dataset *it = dcm_dataset_add_item(ds, DCM_TAG_OtherPatientIDsSequence);
    dcm_dataset_set_string(it, DCM_TAG_SpecificCharacterSet, DCM_VR_NONE, "GB18030");
    ck_assert_int_eq(dcm_dataset_set_utf8(it, DCM_TAG_PatientName, DCM_VR_NONE, "张三"), 0);
    /* Chinese does not fit Latin-1: nothing changes, the caller converts. */
    ck_assert_int_eq(dcm_dataset_set_utf8(ds, DCM_TAG_PatientAddress, DCM_VR_NONE, "北京"), -EILSEQ);
    ck_assert_ptr_null(dcm_dataset_get(ds, DCM_TAG_PatientAddress));
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_dataset_convert_charset(ds, "ISO_IR 100", &err), -EILSEQ);
    ck_assert_str_eq(err->message,
                     "(0010,0010) PN: the text cannot be represented in the character set");
    ferry_error_free(err);
    ck_assert_int_eq(dcm_dataset_convert_charset(ds, "ISO_IR 192", NULL), 0);
    ck_assert_int_eq(dcm_dataset_set_utf8(ds, DCM_TAG_PatientAddress, DCM_VR_NONE, "北京"), 0);
    char buf[64];
    dcm_dataset_get_cstr(ds, DCM_TAG_SpecificCharacterSet, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "ISO_IR 192");
    ck_assert_ptr_null(dcm_dataset_get(it, DCM_TAG_SpecificCharacterSet));
    ck_assert_mem_eq(dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PatientName)), "Buc^Jérôme", 12);
    ck_assert_mem_eq(dcm_element_value(dcm_dataset_get(it, DCM_TAG_PatientName)), "张三", 6);
    dcm_dataset_get_utf8(ds, DCM_TAG_PatientAddress, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "北京");
    dcm_dataset_unref(ds);
}
END_TEST

TCase *tcase_charset(void)
{
    TCase *tc = tcase_create("charset");
    tcase_add_test(tc, decode_chinese);
    tcase_add_test(tc, decode_other);
    tcase_add_test(tc, charset_files);
    tcase_add_test(tc, encode_text);
    tcase_add_test(tc, split);
    tcase_add_test(tc, set_and_convert);
    return tc;
}
