/* dcm: writing, round trips in every uncompressed syntax, pass-through,
 * DIMSE command sets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *const native[] = {
    DCM_UID_ImplicitVRLittleEndian,
    DCM_UID_ExplicitVRLittleEndian,
    DCM_UID_ExplicitVRBigEndian,
    DCM_UID_DeflatedExplicitVRLittleEndian,
};

START_TEST(encode_header)
{
    uint8_t b[12];
    ck_assert_int_eq(dcm_encode_header(DCM_UID_ExplicitVRLittleEndian, DCM_TAG_PixelData,
                                       DCM_VR_OW, 1000, b), 12);
    static const uint8_t want[12] = { 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0, 0xE8, 0x03, 0, 0 };
    ck_assert_mem_eq(b, want, 12);
    ck_assert_int_eq(dcm_encode_header(DCM_UID_ImplicitVRLittleEndian, DCM_TAG_PixelData,
                                       DCM_VR_OW, 1000, b), 8);
    static const uint8_t want_i[8] = { 0xE0, 0x7F, 0x10, 0x00, 0xE8, 0x03, 0, 0 };
    ck_assert_mem_eq(b, want_i, 8);
    ck_assert_int_eq(dcm_encode_header(DCM_UID_ExplicitVRBigEndian, DCM_TAG_Rows, DCM_VR_US, 2,
                                       b), 8);
    static const uint8_t want_b[8] = { 0x00, 0x28, 0x00, 0x10, 'U', 'S', 0x00, 0x02 };
    ck_assert_mem_eq(b, want_b, 8);
    ck_assert_int_eq(dcm_encode_header(DCM_UID_ExplicitVRLittleEndian, DCM_TAG_Rows, DCM_VR_US,
                                       70000, b), -EINVAL);
    ck_assert_int_eq(dcm_encode_header(DCM_UID_ExplicitVRLittleEndian, 0xFFFEE000u, DCM_VR_NONE,
                                       DCM_UNDEFINED_LENGTH, b), 8);
}
END_TEST

START_TEST(part10_and_meta)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_NONE, DCM_UID_CTImageStorage);
    dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, "1.2.3.4.5");
    dcm_dataset_set_string(ds, DCM_TAG_PatientName, DCM_VR_NONE, "Doe^Jane");
    dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_NONE, 2);
    dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_NONE, 2);
    static const uint8_t px[8] = { 1, 0, 2, 0, 3, 0, 4, 0 };
    dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, 8);
    char path[] = "/tmp/ferry-dcm-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    for (size_t k = 0; k < 4; k++) {
        struct dcm_meta_info meta = { .transfer_syntax = native[k], .source_ae_title = "MODALITY1" };
        struct ferry_error *err = NULL;
        ck_assert_msg(dcm_write_file(path, ds, &meta, &err) == 0, "%s", ferry_error_message(err));
        struct dcm_dataset *back = dcm_read_file(path, NULL, &err);
        ck_assert_msg(back != NULL, "%s", ferry_error_message(err));
        ck_assert_str_eq(dcm_dataset_transfer_syntax(back), native[k]);
        char why[200];
        ck_assert_msg(ds_equal(ds, back, true, why, sizeof why), "%s: %s", native[k], why);
        const struct dcm_dataset *m = dcm_dataset_meta(back);
        char buf[80];
        ck_assert_int_gt(dcm_dataset_get_cstr(m, DCM_TAG_SourceApplicationEntityTitle, 0, buf,
                                              sizeof buf), 0);
        ck_assert_str_eq(buf, "MODALITY1");
        dcm_dataset_get_cstr(m, DCM_TAG_MediaStorageSOPClassUID, 0, buf, sizeof buf);
        ck_assert_str_eq(buf, DCM_UID_CTImageStorage);
        dcm_dataset_get_cstr(m, DCM_TAG_ImplementationClassUID, 0, buf, sizeof buf);
        ck_assert_str_eq(buf, FERRY_IMPLEMENTATION_CLASS_UID);
        uint64_t gl;
        ck_assert_int_eq(dcm_dataset_get_uint(m, DCM_TAG_FileMetaInformationGroupLength, 0, &gl), 0);
        struct dcm_buf mb = { 0 };
        ck_assert_int_eq(dcm_meta_encode(&meta, ds, &mb, NULL), 0);
        ck_assert_uint_eq(gl, mb.len - 12);
        dcm_buf_free(&mb);
        dcm_dataset_unref(back);
    }
    unlink(path);
    struct dcm_meta_info bad = { .transfer_syntax = DCM_UID_ExplicitVRLittleEndian };
    struct dcm_dataset *empty = dcm_dataset_new();
    struct dcm_buf mb = { 0 };
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_meta_encode(&bad, empty, &mb, &err), -EINVAL);
    ck_assert_str_eq(err->message, "meta group: no SOP Class UID (0008,0016)");
    ferry_error_free(err);
    dcm_dataset_unref(empty);
    err = NULL;
    ck_assert_ptr_null(dcm_read_file("/nonexistent/x.dcm", NULL, &err));
    ck_assert_str_eq(err->message, "/nonexistent/x.dcm: No such file or directory");
    ferry_error_free(err);
    dcm_dataset_unref(ds);
}
END_TEST

START_TEST(group_lengths_and_defined_lengths)
{
    /* A data set with a (0008,0000) group length and a defined-length
     * sequence: after a change both are recomputed. */
    struct tb t = { 0 };
    struct tb g = { 0 };
    struct tb it = { 0 };
    tb_str(&g, DCM_TAG_Modality, "CS", "CT");
    tb_str(&it, DCM_TAG_ReferencedSOPClassUID, "UI", "1.2");
    tb_head(&g, DCM_TAG_ReferencedImageSequence, "SQ", (uint32_t)(8 + it.n));
    tb_item(&g, (uint32_t)it.n);
    tb_bytes(&g, it.d, it.n);
    uint8_t gl[4] = { (uint8_t)g.n, 0, 0, 0 };
    tb_el(&t, 0x00080000u, "UL", gl, 4);
    tb_bytes(&t, g.d, g.n);
    tb_str(&t, DCM_TAG_PatientName, "PN", "X");
    struct dcm_parse_opts o = { .transfer_syntax = DCM_UID_ExplicitVRLittleEndian };
    struct dcm_dataset *ds = dcm_parse_buffer(t.d, t.n, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    /* Re-encoded unchanged: the same bytes. */
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, DCM_WRITE_NO_PASSTHROUGH,
                                   &out, NULL), 0);
    ck_assert_uint_eq(out.len, t.n);
    ck_assert_mem_eq(out.data, t.d, t.n);
    dcm_buf_free(&out);
    dcm_dataset_set_string(ds, DCM_TAG_Modality, DCM_VR_NONE, "MR\\PT");
    struct dcm_dataset *item = dcm_dataset_item(ds, DCM_TAG_ReferencedImageSequence, 0);
    dcm_dataset_set_string(item, DCM_TAG_ReferencedSOPInstanceUID, DCM_VR_NONE, "1.2.3.4");
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, 0, &out, NULL), 0);
    struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(back);
    uint64_t v;
    ck_assert_int_eq(dcm_dataset_get_uint(back, 0x00080000u, 0, &v), 0);
    ck_assert_uint_eq(v, out.len - 12 - 10); /* all but itself and (0010,0010) */
    const struct dcm_element *sq = dcm_dataset_get(back, DCM_TAG_ReferencedImageSequence);
    ck_assert(!dcm_element_undefined_length(sq));
    ck_assert_uint_eq(dcm_element_length(sq), 8 + 12 + 16);
    ck_assert_uint_eq(dcm_dataset_item_length(dcm_element_item(sq, 0)), 12 + 16);
    dcm_dataset_unref(back);
    dcm_buf_free(&out);
    dcm_dataset_unref(ds);
    tb_free(&t);
    tb_free(&g);
    tb_free(&it);
}
END_TEST

static int failing_sink(void *ud, const void *data, size_t len)
{
    (void)data;
    size_t *budget = ud;
    if (len > *budget)
        return -ENOSPC;
    *budget -= len;
    return 0;
}

START_TEST(sink_errors)
{
    struct dcm_dataset *ds = dcm_dataset_new();
    uint8_t *px = calloc(1, 100000);
    dcm_dataset_set(ds, DCM_TAG_PixelData, DCM_VR_OW, px, 100000);
    free(px);
    dcm_dataset_set_string(ds, DCM_TAG_PatientName, DCM_VR_NONE, "X");
    size_t budget = 50;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_write(ds, DCM_UID_ExplicitVRLittleEndian, 0, failing_sink, &budget, &err),
                     -ENOSPC);
    ck_assert_str_eq(err->message, "write failed");
    ferry_error_free(err);
    err = NULL;
    ck_assert_int_eq(dcm_write(ds, "1.2.3.4", 0, failing_sink, &budget, &err), -ENOTSUP);
    ck_assert_str_eq(err->message, "unknown transfer syntax 1.2.3.4");
    ferry_error_free(err);
    dcm_dataset_unref(ds);
}
END_TEST

TCase *tcase_write(void)
{
    TCase *tc = tcase_create("write");
    tcase_add_test(tc, encode_header);
    tcase_add_test(tc, part10_and_meta);
    tcase_add_test(tc, group_lengths_and_defined_lengths);
    tcase_add_test(tc, sink_errors);
    return tc;
}

/* ---------------------------------------------------------------------------
 * Round trips over the corpus */

/* The data set's bytes after the meta group, for pass-through checks. */
static size_t dataset_start(const uint8_t *d, size_t n)
{
    if (n < 144 || memcmp(d + 128, "DICM", 4) != 0)
        return 0;
    uint32_t gl = (uint32_t)d[140] | ((uint32_t)d[141] << 8) | ((uint32_t)d[142] << 16) |
                  ((uint32_t)d[143] << 24);
    return 144 + gl;
}

START_TEST(corpus_roundtrip)
{
    const char *dir = corpus_dir();
    if (!dir)
        return;
    char **files = list_files(dir);
    int parsed = 0, native_rt = 0, passthrough = 0, reencoded_same = 0;
    for (char **f = files; *f; f++) {
        struct dcm_dataset *ds = dcm_read_file(*f, NULL, NULL);
        if (!ds)
            continue;
        parsed++;
        size_t len;
        uint8_t *raw = slurp(*f, &len);
        const char *ts = dcm_dataset_transfer_syntax(ds);
        const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
        bool encaps = pd && dcm_element_is_encapsulated(pd);

        /* Pass-through: unchanged, in its own syntax, byte for byte. */
        struct dcm_buf out = { 0 };
        struct ferry_error *err = NULL;
        ck_assert_msg(dcm_write_buf(ds, ts, 0, &out, &err) == 0, "%s: %s", *f,
                      ferry_error_message(err));
        size_t start = dataset_start(raw, len);
        if (dcm_dataset_meta(ds) && start <= len && out.len == len - start &&
            memcmp(out.data, raw + start, out.len) == 0)
            passthrough++;
        dcm_buf_free(&out);

        /* Re-encoded in its own syntax: the same data set. */
        ck_assert_msg(dcm_write_buf(ds, ts, DCM_WRITE_NO_PASSTHROUGH, &out, &err) == 0, "%s: %s",
                      *f, ferry_error_message(err));
        if (dcm_dataset_meta(ds) && out.len == len - start &&
            memcmp(out.data, raw + start, out.len) == 0)
            reencoded_same++;
        struct dcm_parse_opts o = { .transfer_syntax = ts };
        struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, &err);
        ck_assert_msg(back != NULL, "%s re-encoded: %s", *f, ferry_error_message(err));
        char why[300];
        ck_assert_msg(ds_equal(ds, back, false, why, sizeof why), "%s re-encoded: %s", *f, why);
        dcm_dataset_unref(back);
        dcm_buf_free(&out);

        /* Every uncompressed syntax (native pixel data only). */
        for (size_t k = 0; k < 4 && !encaps; k++) {
            err = NULL;
            ck_assert_msg(dcm_write_buf(ds, native[k], DCM_WRITE_NO_PASSTHROUGH, &out, &err) == 0,
                          "%s -> %s: %s", *f,
                          native[k], ferry_error_message(err));
            struct dcm_parse_opts o2 = { .transfer_syntax = native[k] };
            back = dcm_parse_buffer(out.data, out.len, &o2, NULL, NULL, &err);
            ck_assert_msg(back != NULL, "%s -> %s: %s", *f, native[k], ferry_error_message(err));
            bool loose = k == 0; /* implicit VR: VRs come from the dictionary */
            ck_assert_msg(ds_equal(ds, back, loose, why, sizeof why), "%s -> %s: %s", *f,
                          native[k], why);
            /* And back to the first syntax again: a fixed point. */
            struct dcm_buf out2 = { 0 };
            ck_assert_int_eq(dcm_write_buf(back, native[k], DCM_WRITE_NO_PASSTHROUGH, &out2, NULL), 0);
            if (k != 3) /* deflate output may differ in compression, not content */
                ck_assert_msg(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0,
                              "%s -> %s: writing twice differs", *f, native[k]);
            dcm_buf_free(&out2);
            dcm_dataset_unref(back);
            dcm_buf_free(&out);
            if (k == 3)
                native_rt++;
        }
        if (encaps) {
            err = NULL;
            ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_ExplicitVRLittleEndian, 0, &out, &err),
                             -ENOTSUP);
            ferry_error_free(err);
            dcm_buf_free(&out);
        }
        free(raw);
        dcm_dataset_unref(ds);
    }
    free_list(files);
    ck_assert_int_gt(parsed, 140);
    ck_assert_int_gt(native_rt, 100);
    ck_assert_int_gt(passthrough, 140);
    /* Most files come out of the writer byte for byte as they went in. */
    ck_assert_msg(reencoded_same > 120, "only %d re-encoded identically", reencoded_same);
}
END_TEST

TCase *tcase_roundtrip(void)
{
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, corpus_roundtrip);
    tcase_set_timeout(tc, 120);
    return tc;
}

/* ---------------------------------------------------------------------------
 * DIMSE command sets */

START_TEST(command_sets)
{
    struct dcm_dataset *cmd = dcm_dataset_new();
    ck_assert_int_eq(dcm_dataset_set_string(cmd, DCM_TAG_AffectedSOPClassUID, DCM_VR_NONE,
                                            DCM_UID_Verification), 0);
    ck_assert_int_eq(dcm_dataset_set_uint(cmd, DCM_TAG_CommandField, DCM_VR_NONE, 0x0030), 0);
    ck_assert_int_eq(dcm_dataset_set_uint(cmd, DCM_TAG_MessageID, DCM_VR_NONE, 7), 0);
    ck_assert_int_eq(dcm_dataset_set_uint(cmd, DCM_TAG_CommandDataSetType, DCM_VR_NONE, 0x0101), 0);
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_command_encode(cmd, &out, NULL), 0);
    static const uint8_t want[] = {
        0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, '1', '.', '2', '.', '8', '4', '0', '.',
        '1', '0', '0', '0', '8', '.', '1', '.', '1', 0x00,
        0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
        0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00,
        0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01,
    };
    ck_assert_uint_eq(out.len, sizeof want);
    ck_assert_mem_eq(out.data, want, sizeof want);
    uint64_t gl;
    ck_assert_int_eq(dcm_dataset_get_uint(cmd, DCM_TAG_CommandGroupLength, 0, &gl), 0);
    ck_assert_uint_eq(gl, 0x38);

    struct ferry_error *err = NULL;
    struct dcm_dataset *back = dcm_command_parse(out.data, out.len, &err);
    ck_assert_ptr_nonnull(back);
    uint64_t v;
    ck_assert_int_eq(dcm_dataset_get_uint(back, DCM_TAG_MessageID, 0, &v), 0);
    ck_assert_uint_eq(v, 7);
    char uid[65];
    dcm_dataset_get_cstr(back, DCM_TAG_AffectedSOPClassUID, 0, uid, sizeof uid);
    ck_assert_str_eq(uid, DCM_UID_Verification);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(back, DCM_TAG_CommandField)), DCM_VR_US);
    dcm_dataset_unref(back);
    dcm_buf_free(&out);

    /* Encoding twice gives the same (the group length is not counted in). */
    ck_assert_int_eq(dcm_command_encode(cmd, &out, NULL), 0);
    ck_assert_mem_eq(out.data, want, sizeof want);
    dcm_buf_free(&out);

    dcm_dataset_set_string(cmd, DCM_TAG_PatientName, DCM_VR_NONE, "X");
    ck_assert_int_eq(dcm_command_encode(cmd, &out, &err), -EINVAL);
    ck_assert_str_eq(err->message, "(0010,0010) is not a command element (group 0000)");
    ferry_error_free(err);
    dcm_buf_free(&out);
    dcm_dataset_unref(cmd);
}
END_TEST

TCase *tcase_command(void)
{
    TCase *tc = tcase_create("command");
    tcase_add_test(tc, command_sets);
    return tc;
}
