/* dcm: parsing (structure, syntaxes, options) and its error messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

#define EXPLICIT DCM_UID_ExplicitVRLittleEndian
#define IMPLICIT DCM_UID_ImplicitVRLittleEndian
#define BIG DCM_UID_ExplicitVRBigEndian

static const uint8_t us512[2] = { 0x00, 0x02 };

static void basic(struct tb *t)
{
    tb_str(t, DCM_TAG_Modality, "CS", "CT");
    tb_str(t, DCM_TAG_PatientName, "PN", "Doe^John");
    uint8_t v[2];
    if (t->big) {
        v[0] = 0x02;
        v[1] = 0x00;
    } else {
        v[0] = 0x00;
        v[1] = 0x02;
    }
    tb_el(t, DCM_TAG_Rows, "US", v, 2);
}

static void check_basic_at(struct dcm_dataset *ds, size_t count, uint64_t base)
{
    ck_assert_uint_eq(dcm_dataset_count(ds), count);
    const struct dcm_element *e = dcm_dataset_get(ds, DCM_TAG_PatientName);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(dcm_element_vr(e), DCM_VR_PN);
    ck_assert_uint_eq(dcm_element_length(e), 8);
    ck_assert_uint_eq(dcm_element_offset(e), base + 10);
    char buf[64];
    ck_assert_int_eq(dcm_dataset_get_utf8(ds, DCM_TAG_PatientName, 0, buf, sizeof buf), 8);
    ck_assert_str_eq(buf, "Doe^John");
    uint64_t rows;
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_Rows, 0, &rows), 0);
    ck_assert_uint_eq(rows, 512);
    e = dcm_dataset_get(ds, DCM_TAG_Rows);
    ck_assert_mem_eq(dcm_element_value(e), us512, 2); /* little endian in memory */
    ck_assert_uint_eq(dcm_element_offset(e), base + 26);
    ck_assert(!dcm_dataset_changed(ds));
}

static void check_basic(struct dcm_dataset *ds, bool implicit)
{
    (void)implicit; /* the offsets happen to be the same */
    check_basic_at(ds, 3, 0);
}

START_TEST(explicit_le)
{
    struct tb t = { 0 };
    basic(&t);
    struct dcm_dataset *ds = parse_ok(&t, 0, EXPLICIT);
    check_basic(ds, false);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), EXPLICIT);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(implicit_le)
{
    struct tb t = { .implicit = true };
    basic(&t);
    struct dcm_dataset *ds = parse_ok(&t, 0, IMPLICIT);
    check_basic(ds, true);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(ds, DCM_TAG_Modality)), DCM_VR_CS);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(ds, DCM_TAG_Rows)), DCM_VR_US);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(big_endian_swaps)
{
    struct tb t = { .big = true };
    basic(&t);
    uint8_t at[4] = { 0x00, 0x28, 0x00, 0x10 };       /* (0028,0010) */
    tb_el(&t, DCM_TAG_FrameIncrementPointer, "AT", at, 4);
    uint8_t fd[8] = { 0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18 }; /* pi */
    tb_el(&t, DCM_TAG_SliceThickness, "DS", "1 ", 2);
    tb_el(&t, DCM_TAG(0x0018, 0x9087), "FD", fd, 8); /* Diffusion b-value */
    uint8_t ow[4] = { 0x12, 0x34, 0x56, 0x78 };
    tb_el(&t, DCM_TAG_PixelData, "OW", ow, 4);
    struct dcm_dataset *ds = parse_ok(&t, 0, BIG);
    check_basic_at(ds, 7, 0);
    uint64_t v;
    ck_assert_int_eq(dcm_dataset_get_uint(ds, DCM_TAG_FrameIncrementPointer, 0, &v), 0);
    ck_assert_uint_eq(v, DCM_TAG_Rows);
    double d;
    ck_assert_int_eq(dcm_dataset_get_double(ds, DCM_TAG(0x0018, 0x9087), 0, &d), 0);
    ck_assert_double_eq_tol(d, 3.14159265358979, 1e-12);
    static const uint8_t ow_le[4] = { 0x34, 0x12, 0x78, 0x56 };
    ck_assert_mem_eq(dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PixelData)), ow_le, 4);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

/* (0008,1140) SQ defined length { item defined { (0008,1150) UI } }, then
 * (0008,1115) SQ undefined { item undefined { (0020,000E) UI } }. */
static void sequences(struct tb *t)
{
    struct tb it = { .implicit = t->implicit };
    tb_str(&it, DCM_TAG_ReferencedSOPClassUID, "UI", "1.2.3");
    tb_head(t, DCM_TAG_ReferencedImageSequence, "SQ", (uint32_t)(8 + it.n));
    tb_item(t, (uint32_t)it.n);
    tb_bytes(t, it.d, it.n);
    tb_head(t, DCM_TAG_ReferencedSeriesSequence, "SQ", DCM_UNDEFINED_LENGTH);
    tb_item(t, DCM_UNDEFINED_LENGTH);
    tb_str(t, DCM_TAG_SeriesInstanceUID, "UI", "1.2.3.4");
    tb_item_end(t);
    tb_item(t, DCM_UNDEFINED_LENGTH);
    tb_item_end(t);
    tb_seq_end(t);
    tb_free(&it);
}

START_TEST(nested_sequences)
{
    for (int imp = 0; imp < 2; imp++) {
        struct tb t = { .implicit = imp };
        tb_str(&t, DCM_TAG_Modality, "CS", "CT");
        sequences(&t);
        struct dcm_dataset *ds = parse_ok(&t, 0, imp ? IMPLICIT : EXPLICIT);
        ck_assert_uint_eq(dcm_dataset_count(ds), 3);
        const struct dcm_element *sq = dcm_dataset_get(ds, DCM_TAG_ReferencedImageSequence);
        ck_assert(dcm_element_is_sequence(sq));
        ck_assert(!dcm_element_undefined_length(sq));
        ck_assert_uint_eq(dcm_element_item_count(sq), 1);
        struct dcm_dataset *it = dcm_element_item(sq, 0);
        ck_assert_ptr_eq(dcm_dataset_parent(it), ds);
        ck_assert_ptr_eq(dcm_dataset_root(it), ds);
        ck_assert_uint_eq(dcm_dataset_item_length(it), 14);
        char buf[32];
        ck_assert_int_eq(dcm_dataset_get_cstr(it, DCM_TAG_ReferencedSOPClassUID, 0, buf,
                                              sizeof buf), 5);
        ck_assert_str_eq(buf, "1.2.3");
        sq = dcm_dataset_get(ds, DCM_TAG_ReferencedSeriesSequence);
        ck_assert(dcm_element_undefined_length(sq));
        ck_assert_uint_eq(dcm_element_item_count(sq), 2);
        it = dcm_dataset_item(ds, DCM_TAG_ReferencedSeriesSequence, 0);
        ck_assert(dcm_dataset_undefined_length(it));
        ck_assert_int_eq(dcm_dataset_get_cstr(it, DCM_TAG_SeriesInstanceUID, 0, buf, sizeof buf),
                         7);
        ck_assert_uint_eq(dcm_dataset_count(dcm_dataset_item(ds, DCM_TAG_ReferencedSeriesSequence, 1)),
                          0);
        ck_assert_ptr_null(dcm_dataset_item(ds, DCM_TAG_ReferencedSeriesSequence, 2));
        dcm_dataset_unref(ds);
        tb_free(&t);
    }
}
END_TEST

START_TEST(un_undefined_length)
{
    /* CP-246: UN with undefined length holds Implicit VR LE items. */
    struct tb t = { 0 };
    tb_head(&t, DCM_TAG(0x0009, 0x1010), "UN", DCM_UNDEFINED_LENGTH);
    tb_item(&t, DCM_UNDEFINED_LENGTH);
    t.implicit = true;
    tb_str(&t, DCM_TAG_PatientID, "LO", "ID7");
    t.implicit = false;
    tb_item_end(&t);
    tb_seq_end(&t);
    struct dcm_dataset *ds = parse_ok(&t, 0, EXPLICIT);
    const struct dcm_element *e = dcm_dataset_get(ds, DCM_TAG(0x0009, 0x1010));
    ck_assert(dcm_element_is_sequence(e));
    struct dcm_dataset *it = dcm_element_item(e, 0);
    char buf[16];
    ck_assert_int_eq(dcm_dataset_get_cstr(it, DCM_TAG_PatientID, 0, buf, sizeof buf), 3);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(it, DCM_TAG_PatientID)), DCM_VR_LO);
    /* Written back (re-encoded) as it came: UN, implicit items. */
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, EXPLICIT, DCM_WRITE_NO_PASSTHROUGH, &out, NULL), 0);
    ck_assert_uint_eq(out.len, t.n);
    ck_assert_mem_eq(out.data, t.d, t.n);
    dcm_buf_free(&out);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

static void encapsulated(struct tb *t, const uint8_t *bot, uint32_t botlen)
{
    tb_str(t, DCM_TAG_NumberOfFrames, "IS", "2");
    tb_head(t, DCM_TAG_PixelData, "OB", DCM_UNDEFINED_LENGTH);
    tb_item(t, botlen);
    tb_bytes(t, bot, botlen);
    tb_item(t, 4);
    tb_bytes(t, "\xFF\xD8\xFF\xD9", 4);
    tb_item(t, 6);
    tb_bytes(t, "\xFF\xD8\x01\x02\xFF\xD9", 6);
    tb_seq_end(t);
}

START_TEST(encapsulated_pixel_data)
{
    struct tb t = { 0 };
    encapsulated(&t, NULL, 0);
    struct dcm_dataset *ds = parse_ok(&t, 0, DCM_UID_JPEGBaseline8Bit);
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    ck_assert(dcm_element_is_encapsulated(pd));
    ck_assert(!dcm_element_is_sequence(pd));
    ck_assert_ptr_null(dcm_element_value(pd));
    ck_assert_uint_eq(dcm_element_fragment_count(pd), 2);
    const uint8_t *b;
    uint32_t len;
    uint64_t off;
    ck_assert_int_eq(dcm_element_offset_table(pd, &b, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(dcm_element_fragment(pd, 1, &b, &len, &off), 0);
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(b, "\xFF\xD8\x01\x02\xFF\xD9", 6);
    ck_assert_uint_eq(off, 10 + 12 + 8 + 8 + 4);
    ck_assert_int_eq(dcm_element_fragment(pd, 2, &b, &len, &off), -ENOENT);
    uint32_t first, count;
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 1, &first, &count, NULL), 0);
    ck_assert_uint_eq(first, 1);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 2, &first, &count, NULL), -ENOENT);
    dcm_dataset_unref(ds);
    tb_free(&t);

    /* With a Basic Offset Table: frame 1 starts 12 bytes after the first. */
    static const uint8_t bot[8] = { 0, 0, 0, 0, 12, 0, 0, 0 };
    encapsulated(&t, bot, 8);
    ds = parse_ok(&t, 0, DCM_UID_JPEGBaseline8Bit);
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 1, &first, &count, NULL), 0);
    ck_assert_uint_eq(first, 1);
    ck_assert_uint_eq(count, 1);
    dcm_dataset_unref(ds);
    tb_free(&t);

    static const uint8_t badbot[8] = { 0, 0, 0, 0, 13, 0, 0, 0 };
    encapsulated(&t, badbot, 8);
    ds = parse_ok(&t, 0, DCM_UID_JPEGBaseline8Bit);
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 1, &first, &count, &err), -EINVAL);
    ck_assert_str_eq(err->message, "Basic Offset Table entry 1 (13) is not the start of a fragment");
    ferry_error_free(err);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(header_only)
{
    struct tb t = { 0 };
    tb_part10(&t, EXPLICIT);
    size_t meta_end = t.n;
    basic(&t);
    size_t pd_off = t.n;
    uint8_t px[64] = { 0 };
    tb_el(&t, DCM_TAG_PixelData, "OW", px, sizeof px);
    tb_el(&t, DCM_TAG(0xFFFC, 0xFFFC), "OB", px, 4);
    struct dcm_dataset *ds = parse_ok(&t, DCM_PARSE_PART10 | DCM_PARSE_HEADER_ONLY, NULL);
    uint64_t off = 0;
    ck_assert(dcm_dataset_stop_offset(ds, &off));
    ck_assert_uint_eq(off, pd_off);
    ck_assert_uint_eq(dcm_dataset_count(ds), 3);
    ck_assert_ptr_null(dcm_dataset_get(ds, DCM_TAG_PixelData));
    ck_assert(dcm_dataset_is_partial(ds));
    ck_assert_uint_eq(dcm_element_offset(dcm_dataset_get(ds, DCM_TAG_Modality)), meta_end);
    struct ferry_error *err = NULL;
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, EXPLICIT, 0, &out, &err), -EINVAL);
    ck_assert_str_eq(err->message,
                     "the data set was parsed header-only; its pixel data is not in memory");
    ferry_error_free(err);
    ck_assert_int_eq(dcm_write_buf(ds, EXPLICIT, DCM_WRITE_PARTIAL, &out, NULL), 0);
    ck_assert_uint_eq(out.len, pd_off - meta_end);
    dcm_buf_free(&out);
    dcm_dataset_unref(ds);

    /* The incremental parser says "done" at Pixel Data and ignores the rest. */
    struct dcm_parse_opts o = { .flags = DCM_PARSE_PART10 | DCM_PARSE_HEADER_ONLY };
    struct dcm_parser *p = dcm_parser_new(&o, NULL);
    int rc = 0;
    size_t i;
    for (i = 0; i < t.n && rc == 0; i++)
        rc = dcm_parser_feed(p, t.d + i, 1, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_uint_eq(i, pd_off + 8);  /* it needed the tag and length to decide */
    ck_assert_int_eq(dcm_parser_feed(p, "garbage", 7, NULL), 1);
    ds = dcm_parser_finish(p, NULL);
    ck_assert_ptr_nonnull(ds);
    ck_assert(dcm_dataset_stop_offset(ds, &off));
    ck_assert_uint_eq(off, pd_off);
    dcm_parser_free(p);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(part10_variants)
{
    /* With preamble and meta group. */
    struct tb t = { 0 };
    tb_part10(&t, IMPLICIT);
    t.implicit = true;
    basic(&t);
    struct dcm_dataset *ds = parse_ok(&t, DCM_PARSE_PART10, NULL);
    check_basic_at(ds, 3, t.n - 36);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), IMPLICIT);
    const struct dcm_dataset *meta = dcm_dataset_meta(ds);
    ck_assert_ptr_nonnull(meta);
    ck_assert_uint_eq(dcm_dataset_count(meta), 5);
    char buf[64];
    ck_assert_int_eq(dcm_dataset_get_cstr(meta, DCM_TAG_MediaStorageSOPInstanceUID, 0, buf,
                                          sizeof buf), 7);
    ck_assert_uint_eq(dcm_dataset_count(ds), 3);
    dcm_dataset_unref(ds);
    /* Without the preamble. */
    struct tb t2 = { 0 };
    tb_bytes(&t2, t.d + 132, t.n - 132);
    ds = parse_ok(&t2, DCM_PARSE_PART10, NULL);
    ck_assert_ptr_nonnull(dcm_dataset_meta(ds));
    ck_assert_uint_eq(dcm_dataset_count(ds), 3);
    dcm_dataset_unref(ds);
    tb_free(&t2);
    tb_free(&t);

    /* No meta group at all: the syntax is guessed from the first element. */
    const char *want[] = { IMPLICIT, EXPLICIT, BIG };
    for (int k = 0; k < 3; k++) {
        struct tb n = { .implicit = k == 0, .big = k == 2 };
        basic(&n);
        ds = parse_ok(&n, DCM_PARSE_PART10, NULL);
        ck_assert_ptr_null(dcm_dataset_meta(ds));
        ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), want[k]);
        check_basic(ds, k == 0);
        dcm_dataset_unref(ds);
        tb_free(&n);
    }

    /* The meta group says explicit, the data set is implicit: the bytes win. */
    struct tb m = { 0 };
    tb_part10(&m, EXPLICIT);
    size_t base = m.n;
    m.implicit = true;
    basic(&m);
    ds = parse_ok(&m, DCM_PARSE_PART10, NULL);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), IMPLICIT);
    check_basic_at(ds, 3, base);
    dcm_dataset_unref(ds);
    tb_free(&m);
}
END_TEST

static size_t deflate_raw(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream z = { 0 };
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t m = cap - z.avail_out;
    deflateEnd(&z);
    return m;
}

START_TEST(deflated)
{
    struct tb body = { 0 };
    basic(&body);
    sequences(&body);
    uint8_t z[4096];
    size_t zn = deflate_raw(body.d, body.n, z, sizeof z);
    struct tb t = { 0 };
    tb_part10(&t, DCM_UID_DeflatedExplicitVRLittleEndian);
    tb_bytes(&t, z, zn);
    struct dcm_dataset *ds = parse_ok(&t, DCM_PARSE_PART10, NULL);
    struct dcm_dataset *plain = parse_ok(&body, 0, EXPLICIT);
    char why[256];
    ck_assert_msg(ds_equal(plain, ds, false, why, sizeof why), "%s", why);
    ck_assert_str_eq(dcm_dataset_transfer_syntax(ds), DCM_UID_DeflatedExplicitVRLittleEndian);
    /* Every chunking gives the same. */
    for (size_t c = 1; c < 40; c += 3) {
        struct dcm_parse_opts o = { .flags = DCM_PARSE_PART10 };
        struct ferry_error *err = NULL;
        struct dcm_dataset *d2 = parse_chunks(t.d, t.n, &o, c, &err);
        ck_assert_msg(d2 != NULL, "chunk %zu: %s", c, ferry_error_message(err));
        ck_assert_msg(ds_equal(plain, d2, false, why, sizeof why), "chunk %zu: %s", c, why);
        dcm_dataset_unref(d2);
    }
    /* Unchanged: passed through as the same deflated bytes. */
    struct dcm_buf out = { 0 };
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_DeflatedExplicitVRLittleEndian, 0, &out, NULL), 0);
    ck_assert_uint_eq(out.len, zn);
    ck_assert_mem_eq(out.data, z, zn);
    dcm_buf_free(&out);
    /* Re-encoded: deflated again, reads back the same. */
    ck_assert_int_eq(dcm_write_buf(ds, DCM_UID_DeflatedExplicitVRLittleEndian,
                                   DCM_WRITE_NO_PASSTHROUGH, &out, NULL), 0);
    ck_assert_uint_eq(out.len % 2, 0);
    struct dcm_parse_opts o = { .transfer_syntax = DCM_UID_DeflatedExplicitVRLittleEndian };
    struct dcm_dataset *d3 = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(d3);
    ck_assert_msg(ds_equal(plain, d3, false, why, sizeof why), "%s", why);
    dcm_dataset_unref(d3);
    dcm_buf_free(&out);
    dcm_dataset_unref(plain);
    dcm_dataset_unref(ds);
    tb_free(&t);
    tb_free(&body);
}
END_TEST

START_TEST(order_and_duplicates)
{
    struct tb t = { 0 };
    tb_str(&t, DCM_TAG_PatientName, "PN", "B");
    tb_str(&t, DCM_TAG_Modality, "CS", "CT");
    tb_str(&t, DCM_TAG_PatientName, "PN", "Second");
    struct dcm_dataset *ds = parse_ok(&t, 0, EXPLICIT);
    ck_assert_uint_eq(dcm_dataset_count(ds), 2);
    ck_assert_uint_eq(dcm_element_tag(dcm_dataset_at(ds, 0)), DCM_TAG_Modality);
    char buf[16];
    dcm_dataset_get_utf8(ds, DCM_TAG_PatientName, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "B"); /* the first one wins, as in DCMTK */
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(implicit_us_or_ss)
{
    struct tb t = { .implicit = true };
    uint8_t one[2] = { 1, 0 }, v[2] = { 0xFF, 0xFF };
    tb_el(&t, DCM_TAG_PixelRepresentation, "US", one, 2);
    tb_el(&t, DCM_TAG_SmallestImagePixelValue, "SS", v, 2);
    struct dcm_dataset *ds = parse_ok(&t, 0, IMPLICIT);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(ds, DCM_TAG_SmallestImagePixelValue)),
                     DCM_VR_SS);
    int64_t x;
    ck_assert_int_eq(dcm_dataset_get_int(ds, DCM_TAG_SmallestImagePixelValue, 0, &x), 0);
    ck_assert_int_eq(x, -1);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(unknown_vrs)
{
    /* Two capital letters: a VR from the future, 4-byte length, kept as UN. */
    struct tb t = { 0 };
    tb_tag(&t, DCM_TAG(0x0011, 0x1001));
    tb_bytes(&t, "ZZ\0\0", 4);
    tb_u32(&t, 4);
    tb_bytes(&t, "abcd", 4);
    /* Anything else: 2-byte length, the dictionary's VR. */
    tb_tag(&t, DCM_TAG_PatientName);
    tb_bytes(&t, "\x01\x02", 2);
    tb_u16(&t, 2);
    tb_bytes(&t, "AB", 2);
    struct dcm_dataset *ds = parse_ok(&t, 0, EXPLICIT);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(ds, DCM_TAG(0x0011, 0x1001))), DCM_VR_UN);
    ck_assert_int_eq(dcm_element_vr(dcm_dataset_get(ds, DCM_TAG_PatientName)), DCM_VR_PN);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(skip_bulk)
{
    struct tb t = { 0 };
    basic(&t);
    sequences(&t);
    uint8_t *big = calloc(1, 100000);
    tb_str(&t, DCM_TAG(0x0029, 0x0010), "LO", "ACME");
    tb_el(&t, DCM_TAG(0x0029, 0x1010), "OB", big, 5000);
    tb_el(&t, DCM_TAG_PixelData, "OW", big, 100000);
    free(big);
    struct dcm_parse_opts o = { .flags = DCM_PARSE_SKIP_BULK, .transfer_syntax = EXPLICIT,
                                .bulk_threshold = 1024, .max_memory = 64 * 1024 };
    for (int mode = 0; mode < 2; mode++) {
        struct ferry_error *err = NULL;
        struct dcm_dataset *ds = mode == 0 ? dcm_parse_buffer(t.d, t.n, &o, NULL, NULL, &err)
                                           : parse_chunks(t.d, t.n, &o, 0, &err);
        ck_assert_msg(ds != NULL, "%s", ferry_error_message(err));
        const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
        ck_assert(!dcm_element_has_value(pd));
        ck_assert_ptr_null(dcm_element_value(pd));
        ck_assert_uint_eq(dcm_element_length(pd), 100000);
        ck_assert(!dcm_element_has_value(dcm_dataset_get(ds, DCM_TAG(0x0029, 0x1010))));
        ck_assert(dcm_element_has_value(dcm_dataset_get(ds, DCM_TAG_PatientName)));
        ck_assert(dcm_dataset_is_partial(ds));
        struct dcm_buf out = { 0 };
        ck_assert_int_eq(dcm_write_buf(ds, EXPLICIT, 0, &out, &err), -EINVAL);
        ck_assert_str_eq(err->message, "the data set was parsed with DCM_PARSE_SKIP_BULK; some "
                                       "of its values are not in memory");
        ferry_error_free(err);
        dcm_buf_free(&out);
        dcm_dataset_unref(ds);
    }
    tb_free(&t);
}
END_TEST

/* The receiver's mode: a 1 GiB instance streamed through a parser that keeps
 * no bulk value, with a memory limit of 1 MiB it never reaches. */
START_TEST(stream_bounded)
{
    struct tb head = { 0 };
    tb_part10(&head, EXPLICIT);
    basic(&head);
    tb_str(&head, DCM_TAG_NumberOfFrames, "IS", "16384");
    tb_head(&head, DCM_TAG_PixelData, "OB", DCM_UNDEFINED_LENGTH);
    tb_item(&head, 0);
    struct dcm_parse_opts o = { .flags = DCM_PARSE_PART10 | DCM_PARSE_SKIP_BULK,
                                .max_memory = 1u << 20 };
    struct dcm_parser *p = dcm_parser_new(&o, NULL);
    ck_assert_int_eq(dcm_parser_feed(p, head.d, head.n, NULL), 0);
    static uint8_t frame[65536 + 8];
    memset(frame, 0x5A, sizeof frame);
    struct tb it = { 0 };
    tb_item(&it, 65536);
    memcpy(frame, it.d, 8);
    tb_free(&it);
    for (int i = 0; i < 16384; i++) {
        /* cut each fragment in two uneven chunks */
        ck_assert_int_eq(dcm_parser_feed(p, frame, 1001, NULL), 0);
        ck_assert_int_eq(dcm_parser_feed(p, frame + 1001, sizeof frame - 1001, NULL), 0);
    }
    struct tb tail = { 0 };
    tb_seq_end(&tail);
    ck_assert_int_eq(dcm_parser_feed(p, tail.d, tail.n, NULL), 0);
    ck_assert_uint_eq(dcm_parser_offset(p), head.n + 16384ull * sizeof frame + 8);
    struct ferry_error *err = NULL;
    struct dcm_dataset *ds = dcm_parser_finish(p, &err);
    ck_assert_msg(ds != NULL, "%s", ferry_error_message(err));
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    ck_assert_uint_eq(dcm_element_fragment_count(pd), 16384);
    const uint8_t *b;
    uint32_t len;
    ck_assert_int_eq(dcm_element_fragment(pd, 16383, &b, &len, NULL), 0);
    ck_assert_ptr_null(b);
    ck_assert_uint_eq(len, 65536);
    uint32_t first, count;
    ck_assert_int_eq(dcm_dataset_frame_fragments(ds, 700, &first, &count, NULL), 0);
    ck_assert_uint_eq(first, 700);
    dcm_parser_free(p);
    dcm_dataset_unref(ds);
    tb_free(&head);
    tb_free(&tail);
}
END_TEST

START_TEST(memory_limit)
{
    struct tb t = { 0 };
    uint8_t *big = calloc(1, 100000);
    tb_el(&t, DCM_TAG_PixelData, "OW", big, 100000);
    free(big);
    struct dcm_parse_opts o = { .flags = DCM_PARSE_COPY, .transfer_syntax = EXPLICIT,
                                .max_memory = 50000 };
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(dcm_parse_buffer(t.d, t.n, &o, NULL, NULL, &err));
    ck_assert_int_eq(err->code, -E2BIG);
    ck_assert_str_eq(err->message,
                     "offset 0, (7FE0,0010) OW: the data set exceeds the memory limit of 50000 bytes");
    ferry_error_free(err);
    err = NULL;
    ck_assert_ptr_null(parse_chunks(t.d, t.n, &o, 1000, &err));
    ck_assert_str_eq(err->message,
                     "offset 0, (7FE0,0010) OW: the data set exceeds the memory limit of 50000 bytes");
    ferry_error_free(err);
    /* Without COPY the buffer is referenced, not copied: no memory needed. */
    o.flags = 0;
    struct dcm_dataset *ds = dcm_parse_buffer(t.d, t.n, &o, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(ds);
    ck_assert_ptr_eq(dcm_element_value(dcm_dataset_get(ds, DCM_TAG_PixelData)), t.d + 12);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

static int released;
static void release_cb(void *ud)
{
    released += *(int *)ud;
}

START_TEST(source_release)
{
    struct tb t = { 0 };
    basic(&t);
    struct dcm_parse_opts o = { .transfer_syntax = EXPLICIT };
    int one = 1;
    released = 0;
    struct dcm_dataset *ds = dcm_parse_buffer(t.d, t.n, &o, release_cb, &one, NULL);
    ck_assert_ptr_nonnull(ds);
    struct dcm_dataset *c = dcm_dataset_clone(ds);
    dcm_dataset_ref(ds);
    dcm_dataset_unref(ds);
    dcm_dataset_unref(ds);
    ck_assert_int_eq(released, 0); /* the clone still points into the buffer */
    check_basic(c, false);
    dcm_dataset_unref(c);
    ck_assert_int_eq(released, 1);
    /* Failure: the caller keeps the buffer. */
    o.transfer_syntax = EXPLICIT;
    ck_assert_ptr_null(dcm_parse_buffer(t.d, t.n - 1, &o, release_cb, &one, NULL));
    ck_assert_int_eq(released, 1);
    tb_free(&t);
}
END_TEST

TCase *tcase_parse(void)
{
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, explicit_le);
    tcase_add_test(tc, implicit_le);
    tcase_add_test(tc, big_endian_swaps);
    tcase_add_test(tc, nested_sequences);
    tcase_add_test(tc, un_undefined_length);
    tcase_add_test(tc, encapsulated_pixel_data);
    tcase_add_test(tc, header_only);
    tcase_add_test(tc, part10_variants);
    tcase_add_test(tc, deflated);
    tcase_add_test(tc, order_and_duplicates);
    tcase_add_test(tc, implicit_us_or_ss);
    tcase_add_test(tc, unknown_vrs);
    tcase_add_test(tc, skip_bulk);
    tcase_add_test(tc, memory_limit);
    tcase_add_test(tc, stream_bounded);
    tcase_add_test(tc, source_release);
    return tc;
}

/* ---------------------------------------------------------------------------
 * Errors: exact text, the same from the buffer parser and in chunks */

static void expect_err(const struct tb *t, uint32_t flags, const char *ts, uint32_t max_depth,
                       uint32_t max_len, const char *want)
{
    struct dcm_parse_opts o = { .flags = flags, .transfer_syntax = ts, .max_depth = max_depth,
                                .max_element_length = max_len };
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(dcm_parse_buffer(t->d, t->n, &o, NULL, NULL, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err->message, want);
    ferry_error_free(err);
    for (size_t chunk = 0; chunk < 14; chunk += 1) {
        err = NULL;
        ck_assert_ptr_null(parse_chunks(t->d, t->n, &o, chunk, &err));
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strcmp(err->message, want) == 0, "chunk %zu: '%s'", chunk, err->message);
        ferry_error_free(err);
    }
}

START_TEST(err_truncated_value)
{
    struct tb t = { 0 };
    tb_str(&t, DCM_TAG_Modality, "CS", "CT");
    tb_head(&t, DCM_TAG_PatientName, "PN", 4000);
    uint8_t pad[200] = { 0 };
    tb_bytes(&t, pad, sizeof pad);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 10, (0010,0010) PN: value length 4000 exceeds the 200 bytes that remain");
    tb_free(&t);
}
END_TEST

START_TEST(err_truncated_header)
{
    struct tb t = { 0 };
    tb_str(&t, DCM_TAG_Modality, "CS", "CT");
    tb_bytes(&t, "\x10\x00\x10", 3);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 10: the stream ends inside a header (3 of 8 bytes)");
    tb_free(&t);
}
END_TEST

START_TEST(err_depth)
{
    struct tb t = { 0 };
    for (int i = 0; i < 3; i++) {
        tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", DCM_UNDEFINED_LENGTH);
        tb_item(&t, DCM_UNDEFINED_LENGTH);
    }
    for (int i = 0; i < 3; i++) {
        tb_item_end(&t);
        tb_seq_end(&t);
    }
    expect_err(&t, 0, EXPLICIT, 2, 0,
               "offset 40, (0008,1140) SQ: sequences nested deeper than 2 levels");
    struct dcm_dataset *ds = parse_ok(&t, 0, EXPLICIT);
    dcm_dataset_unref(ds);
    tb_free(&t);
}
END_TEST

START_TEST(err_max_length)
{
    struct tb t = { 0 };
    uint8_t v[100] = { 0 };
    tb_el(&t, DCM_TAG(0x0009, 0x1001), "OB", v, 100);
    expect_err(&t, 0, EXPLICIT, 0, 64,
               "offset 0, (0009,1001) OB: value length 100 exceeds the limit of 64 bytes");
    tb_free(&t);
}
END_TEST

START_TEST(err_structure)
{
    struct tb t = { 0 };
    tb_item(&t, 0);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 0, (FFFE,E000) item: item tag where an element was expected");
    tb_free(&t);

    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", DCM_UNDEFINED_LENGTH);
    tb_str(&t, DCM_TAG_PatientName, "PN", "X");
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 12, (0010,0010): expected an item of sequence (0008,1140)");
    tb_free(&t);

    tb_head(&t, DCM_TAG_PatientName, "PN", 2);
    tb_bytes(&t, "AB", 2);
    tb_item_end(&t);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 10, (FFFE,E00D) item delimiter: item delimiter outside an item of "
               "undefined length");
    tb_free(&t);

    tb_head(&t, DCM_TAG_PatientName, "OB", DCM_UNDEFINED_LENGTH);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 0, (0010,0010) OB: undefined length is only allowed for SQ, UN and "
               "Pixel Data");
    tb_free(&t);

    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", 8);
    tb_seq_end(&t);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 12, (FFFE,E0DD) sequence delimiter: in sequence (0008,1140) of defined "
               "length");
    tb_free(&t);

    /* A value that runs past the end of its item. */
    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", 8 + 12);
    tb_item(&t, 12);
    tb_head(&t, DCM_TAG_ReferencedSOPClassUID, "UI", 10);
    tb_bytes(&t, "1.2.3.4.5\0", 10);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 20, (0008,1150) UI: value length 10 exceeds the 4 bytes that remain");
    tb_free(&t);

    /* Lengths that the stream does not hold. */
    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", 40);
    tb_item(&t, 32);
    tb_str(&t, DCM_TAG_ReferencedSOPClassUID, "UI", "1.2.3");
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 12, (FFFE,E000) item: item length 32 exceeds the 14 bytes that remain");
    tb_free(&t);

    tb_head(&t, DCM_TAG_ReferencedImageSequence, "SQ", DCM_UNDEFINED_LENGTH);
    tb_item(&t, DCM_UNDEFINED_LENGTH);
    tb_item_end(&t);
    expect_err(&t, 0, EXPLICIT, 0, 0,
               "offset 0, (0008,1140) SQ: the stream ends before the sequence delimiter");
    tb_free(&t);

    tb_head(&t, DCM_TAG_PixelData, "OB", DCM_UNDEFINED_LENGTH);
    tb_item(&t, 0);
    tb_item(&t, 100);
    tb_bytes(&t, "abcd", 4);
    expect_err(&t, 0, DCM_UID_RLELossless, 0, 0,
               "offset 20, (FFFE,E000) item: fragment length 100 exceeds the 4 bytes that remain");
    tb_free(&t);

    tb_head(&t, DCM_TAG_PixelData, "OB", DCM_UNDEFINED_LENGTH);
    tb_item(&t, 0);
    tb_str(&t, DCM_TAG_PatientName, "PN", "X");
    expect_err(&t, 0, DCM_UID_RLELossless, 0, 0,
               "offset 20, (0010,0010): expected a fragment item of encapsulated Pixel Data");
    tb_free(&t);
}
END_TEST

START_TEST(err_meta)
{
    struct tb t = { 0 };
    tb_part10(&t, EXPLICIT);
    /* Make the group length 2 bytes short: it ends inside the last element. */
    t.d[132 + 8] = (uint8_t)(t.d[132 + 8] - 2);
    basic(&t);
    expect_err(&t, DCM_PARSE_PART10, NULL, 0, 0,
               "offset 132, (0002,0000) UL: group length 90 ends inside an element of the meta "
               "group");
    tb_free(&t);

    tb_part10(&t, DCM_UID_DeflatedExplicitVRLittleEndian);
    tb_bytes(&t, "\x07\x00", 2); /* a block of the reserved type */
    char *m = parse_err(&t, DCM_PARSE_PART10, NULL);
    ck_assert_msg(strncmp(m, "offset 239: deflate stream is corrupt (invalid block type)", 59) == 0, "%s", m);
    free(m);
    tb_free(&t);

    struct ferry_error *err = NULL;
    struct dcm_parse_opts o = { 0 };
    ck_assert_ptr_null(dcm_parser_new(&o, &err));
    ck_assert_str_eq(err->message, "a bare data set needs its transfer syntax");
    ferry_error_free(err);
}
END_TEST

TCase *tcase_parse_errors(void)
{
    TCase *tc = tcase_create("parse_errors");
    tcase_add_test(tc, err_truncated_value);
    tcase_add_test(tc, err_truncated_header);
    tcase_add_test(tc, err_depth);
    tcase_add_test(tc, err_max_length);
    tcase_add_test(tc, err_structure);
    tcase_add_test(tc, err_meta);
    return tc;
}

/* ---------------------------------------------------------------------------
 * The incremental parser gives what the buffer parser gives, for every
 * chunking, on the whole corpus (data sets or error messages). */

START_TEST(corpus_chunks)
{
    const char *dir = corpus_dir();
    if (!dir)
        return; /* python3-pydicom absent: covered by the hand-made streams above */
    char **files = list_files(dir);
    int n = 0;
    for (char **f = files; *f; f++) {
        size_t len;
        uint8_t *d = slurp(*f, &len);
        ck_assert_ptr_nonnull(d);
        static const uint32_t modes[] = { DCM_PARSE_PART10, DCM_PARSE_PART10 | DCM_PARSE_HEADER_ONLY };
        for (int m = 0; m < 2; m++) {
            struct dcm_parse_opts o = { .flags = modes[m] };
            struct ferry_error *e1 = NULL;
            struct dcm_dataset *a = dcm_parse_buffer(d, len, &o, NULL, NULL, &e1);
            static const size_t chunks[] = { 1, 2, 7, 131, 0 };
            for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
                struct ferry_error *e2 = NULL;
                struct dcm_dataset *b = parse_chunks(d, len, &o, chunks[c], &e2);
                ck_assert_msg(!a == !b, "%s chunk %zu: buffer %s, chunks %s", *f, chunks[c],
                              ferry_error_message(e1), ferry_error_message(e2));
                if (a) {
                    char why[300];
                    ck_assert_msg(ds_equal(a, b, false, why, sizeof why), "%s chunk %zu: %s", *f,
                                  chunks[c], why);
                    ck_assert_str_eq(dcm_dataset_transfer_syntax(a), dcm_dataset_transfer_syntax(b));
                    uint64_t o1 = 0, o2 = 0;
                    ck_assert_int_eq(dcm_dataset_stop_offset(a, &o1), dcm_dataset_stop_offset(b, &o2));
                    ck_assert_uint_eq(o1, o2);
                } else {
                    ck_assert_str_eq(e1->message, e2->message);
                }
                ferry_error_free(e2);
                dcm_dataset_unref(b);
            }
            ferry_error_free(e1);
            dcm_dataset_unref(a);
        }
        free(d);
        n++;
    }
    ck_assert_int_gt(n, 100);
    free_list(files);
}
END_TEST

TCase *tcase_incremental(void)
{
    TCase *tc = tcase_create("incremental");
    tcase_add_test(tc, corpus_chunks);
    tcase_set_timeout(tc, 120);
    return tc;
}
