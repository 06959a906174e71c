/* The PDU codec: round trips of every PDU and item, and every malformed
 * input with its exact error text. */
#include "test_dul.h"

#include "base/error.h"
#include "dul/pdu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ECHO "1.2.840.10008.1.1"
#define CT "1.2.840.10008.5.1.4.1.1.2"
#define IMPLICIT "1.2.840.10008.1.2"
#define EXPLICIT "1.2.840.10008.1.2.1"
#define JPEGLL "1.2.840.10008.1.2.4.70"

/* Pieces of a hand-made A-ASSOCIATE-RQ. With app_ctx, pc_echo(1) and
 * ui_basic after the fixed part the layout is:
 *   74  item 0x10 (25 bytes)
 *   99  item 0x20 (50): 103 ID; 107 sub-item 0x30 (21); 128 sub-item 0x40 (21)
 *   149 item 0x50 (29): 153 0x51 (8); 161 0x52 (11); 172 0x55 (6)
 *   178 end */
static void app_ctx(struct bb *b)
{
    bb_uid_item(b, 0x10, "1.2.840.10008.3.1.1.1");
}

static void pc_echo(struct bb *b, uint8_t id)
{
    size_t at = bb_item(b, 0x20);
    bb_u8(b, id);
    bb_u8(b, 0);
    bb_u8(b, 0);
    bb_u8(b, 0);
    bb_uid_item(b, 0x30, ECHO);
    bb_uid_item(b, 0x40, IMPLICIT);
    bb_end16(b, at);
}

static void ui_basic(struct bb *b)
{
    size_t at = bb_item(b, 0x50);
    size_t s = bb_item(b, 0x51);
    bb_u32(b, 16384);
    bb_end16(b, s);
    bb_uid_item(b, 0x52, "1.2.3.4");
    bb_uid_item(b, 0x55, "V1");
    bb_end16(b, at);
}

static void base_rq(struct bb *b)
{
    bb_assoc_start(b, 0x01, "FERRY", "MODALITY");
    app_ctx(b);
    pc_echo(b, 1);
    ui_basic(b);
    bb_pdu_end(b);
}

static void expect_error(struct bb *b, int code, const char *msg)
{
    bb_pdu_end(b);
    struct dul_associate a;
    struct ferry_error *err = NULL;
    int rc = dul_decode_associate(b->b, b->n, &a, &err);
    ck_assert_msg(rc == code, "rc %d, expected %d (%s)", rc, code, ferry_error_message(err));
    ck_assert_str_eq(ferry_error_message(err), msg);
    ck_assert_ptr_null(a.mem);
    ferry_error_free(err);
}

/* ------------------------------------------------------ round trips */

START_TEST(test_base_rq_decodes)
{
    struct bb b;
    base_rq(&b);
    ck_assert_uint_eq(b.n, 178);
    struct dul_associate a;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_decode_associate(b.b, b.n, &a, &err), 0);
    ck_assert_str_eq(a.called_ae, "FERRY");
    ck_assert_str_eq(a.calling_ae, "MODALITY");
    ck_assert_uint_eq(a.protocol_version, 1);
    ck_assert_str_eq(a.app_context, "1.2.840.10008.3.1.1.1");
    ck_assert_uint_eq(a.n_pc, 1);
    ck_assert_uint_eq(a.pc[0].id, 1);
    ck_assert_str_eq(a.pc[0].abstract_syntax, ECHO);
    ck_assert_uint_eq(a.pc[0].n_ts, 1);
    ck_assert_str_eq(a.pc[0].ts[0], IMPLICIT);
    ck_assert_uint_eq(a.ui.max_length, 16384);
    ck_assert_str_eq(a.ui.impl_class_uid, "1.2.3.4");
    ck_assert_str_eq(a.ui.impl_version, "V1");
    ck_assert(!a.ui.has_async);
    ck_assert(!a.ui.has_identity);
    dul_associate_clear(&a);
}
END_TEST

static const char *ts3[] = { EXPLICIT, IMPLICIT, JPEGLL };
static const char *ts1[] = { IMPLICIT };
static const char *related[] = { "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2" };

static void full_rq(struct dul_associate *a, struct dul_pc *pcs, struct dul_role *roles,
                    struct dul_ext_neg *ext, struct dul_common_ext_neg *cext)
{
    static const uint8_t info[] = { 1, 0, 1 };
    memset(a, 0, sizeof *a);
    a->type = DUL_PDU_ASSOCIATE_RQ;
    a->protocol_version = 1;
    strcpy(a->called_ae, "READING-CENTER");
    strcpy(a->calling_ae, "CT_TOWNSHIP_01");
    a->app_context = DUL_APPLICATION_CONTEXT;
    pcs[0] = (struct dul_pc){ .id = 1, .abstract_syntax = ECHO, .n_ts = 1, .ts = ts1 };
    pcs[1] = (struct dul_pc){ .id = 3, .abstract_syntax = CT, .n_ts = 3, .ts = ts3 };
    pcs[2] = (struct dul_pc){ .id = 255, .abstract_syntax = CT, .n_ts = 1, .ts = ts1 };
    a->pc = pcs;
    a->n_pc = 3;
    a->ui.max_length = 131072;
    a->ui.has_max_length = true;
    a->ui.impl_class_uid = "2.25.1234";
    a->ui.impl_version = "TOWNSHIP_CT_1.0";
    a->ui.has_async = true;
    a->ui.async_invoked = 3;
    a->ui.async_performed = 2;
    roles[0] = (struct dul_role){ .sop_class = CT, .scu = 1, .scp = 1 };
    roles[1] = (struct dul_role){ .sop_class = ECHO, .scu = 0, .scp = 1 };
    a->ui.roles = roles;
    a->ui.n_roles = 2;
    ext[0] = (struct dul_ext_neg){ .sop_class = CT, .info = info, .info_len = 3 };
    a->ui.ext = ext;
    a->ui.n_ext = 1;
    cext[0] = (struct dul_common_ext_neg){ .sop_class = CT, .service_class = "1.2.840.10008.4.2",
                                           .n_related = 2, .related = related };
    a->ui.common_ext = cext;
    a->ui.n_common_ext = 1;
    a->ui.has_identity = true;
    a->ui.identity = (struct dul_user_identity){ .type = 2, .positive_response_requested = 1,
                                                 .primary = (const uint8_t *)"radiologist",
                                                 .primary_len = 11,
                                                 .secondary = (const uint8_t *)"s3cret",
                                                 .secondary_len = 6 };
}

START_TEST(test_rq_round_trip)
{
    struct dul_associate a, d;
    struct dul_pc pcs[3];
    struct dul_role roles[2];
    struct dul_ext_neg ext[1];
    struct dul_common_ext_neg cext[1];
    full_rq(&a, pcs, roles, ext, cext);
    ssize_t n = dul_encode_associate(&a, NULL, 0);
    ck_assert_int_gt(n, 74);
    uint8_t *buf = malloc((size_t)n);
    ck_assert_int_eq(dul_encode_associate(&a, buf, (size_t)n), n);
    ck_assert_int_eq(dul_encode_associate(&a, buf, (size_t)n - 1), -ENOSPC);
    ck_assert_int_eq(dul_encode_associate(&a, buf, (size_t)n), n);
    struct ferry_error *err = NULL;
    ck_assert_msg(dul_decode_associate(buf, (size_t)n, &d, &err) == 0, "%s",
                  ferry_error_message(err));
    ck_assert_uint_eq(d.type, DUL_PDU_ASSOCIATE_RQ);
    ck_assert_str_eq(d.called_ae, "READING-CENTER");
    ck_assert_str_eq(d.calling_ae, "CT_TOWNSHIP_01");
    ck_assert_uint_eq(d.n_pc, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(d.pc[i].id, pcs[i].id);
        ck_assert_str_eq(d.pc[i].abstract_syntax, pcs[i].abstract_syntax);
        ck_assert_uint_eq(d.pc[i].n_ts, pcs[i].n_ts);
        for (size_t k = 0; k < d.pc[i].n_ts; k++)
            ck_assert_str_eq(d.pc[i].ts[k], pcs[i].ts[k]);
    }
    ck_assert_uint_eq(d.ui.max_length, 131072);
    ck_assert_str_eq(d.ui.impl_class_uid, "2.25.1234");
    ck_assert_str_eq(d.ui.impl_version, "TOWNSHIP_CT_1.0");
    ck_assert(d.ui.has_async);
    ck_assert_uint_eq(d.ui.async_invoked, 3);
    ck_assert_uint_eq(d.ui.async_performed, 2);
    ck_assert_uint_eq(d.ui.n_roles, 2);
    ck_assert_str_eq(d.ui.roles[1].sop_class, ECHO);
    ck_assert_uint_eq(d.ui.roles[1].scu, 0);
    ck_assert_uint_eq(d.ui.roles[1].scp, 1);
    ck_assert_uint_eq(d.ui.n_ext, 1);
    ck_assert_uint_eq(d.ui.ext[0].info_len, 3);
    ck_assert(memcmp(d.ui.ext[0].info, "\x01\x00\x01", 3) == 0);
    ck_assert_uint_eq(d.ui.n_common_ext, 1);
    ck_assert_str_eq(d.ui.common_ext[0].service_class, "1.2.840.10008.4.2");
    ck_assert_uint_eq(d.ui.common_ext[0].n_related, 2);
    ck_assert_str_eq(d.ui.common_ext[0].related[1], related[1]);
    ck_assert(d.ui.has_identity);
    ck_assert_uint_eq(d.ui.identity.type, 2);
    ck_assert_uint_eq(d.ui.identity.positive_response_requested, 1);
    ck_assert_uint_eq(d.ui.identity.primary_len, 11);
    ck_assert(memcmp(d.ui.identity.primary, "radiologist", 11) == 0);
    ck_assert(memcmp(d.ui.identity.secondary, "s3cret", 6) == 0);
    /* decode(encode(x)) encodes to the same bytes */
    uint8_t *again = malloc((size_t)n);
    ck_assert_int_eq(dul_encode_associate(&d, again, (size_t)n), n);
    ck_assert(memcmp(buf, again, (size_t)n) == 0);
    dul_associate_clear(&d);
    free(buf);
    free(again);
}
END_TEST

START_TEST(test_ac_round_trip)
{
    static const char *acc[] = { EXPLICIT };
    struct dul_pc pcs[2] = {
        { .id = 1, .result = DUL_PC_ACCEPTANCE, .n_ts = 1, .ts = acc },
        { .id = 3, .result = DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED, .n_ts = 0 },
    };
    struct dul_role roles[1] = { { .sop_class = CT, .scu = 1, .scp = 0 } };
    struct dul_associate a = { .type = DUL_PDU_ASSOCIATE_AC, .protocol_version = 1,
                               .called_ae = "FERRY", .calling_ae = "MOD", .pc = pcs, .n_pc = 2 };
    a.ui.max_length = 262144;
    a.ui.impl_class_uid = "2.25.99";
    a.ui.impl_version = "FERRY_0.1";
    a.ui.has_async = true;
    a.ui.async_invoked = a.ui.async_performed = 1;
    a.ui.roles = roles;
    a.ui.n_roles = 1;
    a.ui.has_identity_ac = true;
    a.ui.server_response = (const uint8_t *)"ticket";
    a.ui.server_response_len = 6;
    uint8_t buf[1024];
    ssize_t n = dul_encode_associate(&a, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    struct dul_associate d;
    struct ferry_error *err = NULL;
    ck_assert_msg(dul_decode_associate(buf, (size_t)n, &d, &err) == 0, "%s",
                  ferry_error_message(err));
    ck_assert_uint_eq(d.type, DUL_PDU_ASSOCIATE_AC);
    ck_assert_uint_eq(d.n_pc, 2);
    ck_assert_uint_eq(d.pc[0].result, 0);
    ck_assert_str_eq(d.pc[0].ts[0], EXPLICIT);
    ck_assert_uint_eq(d.pc[1].result, 3);
    ck_assert_uint_eq(d.pc[1].n_ts, 0); /* not significant, not kept */
    ck_assert_uint_eq(d.ui.max_length, 262144);
    ck_assert(d.ui.has_identity_ac);
    ck_assert_uint_eq(d.ui.server_response_len, 6);
    ck_assert(memcmp(d.ui.server_response, "ticket", 6) == 0);
    ck_assert_uint_eq(d.ui.n_roles, 1);
    ck_assert_uint_eq(d.ui.roles[0].scp, 0);
    dul_associate_clear(&d);
}
END_TEST

START_TEST(test_short_pdus)
{
    uint8_t buf[10];
    struct ferry_error *err = NULL;
    struct dul_reject rj = { 2, 3, 2 }, rj2;
    dul_encode_reject(&rj, buf);
    ck_assert(memcmp(buf, "\x03\x00\x00\x00\x00\x04\x00\x02\x03\x02", 10) == 0);
    ck_assert_int_eq(dul_decode_reject(buf, 10, &rj2, &err), 0);
    ck_assert_uint_eq(rj2.result, 2);
    ck_assert_uint_eq(rj2.source, 3);
    ck_assert_uint_eq(rj2.reason, 2);

    struct dul_abort ab = { DUL_ABORT_SOURCE_PROVIDER, DUL_ABORT_INVALID_PARAMETER }, ab2;
    dul_encode_abort(&ab, buf);
    ck_assert(memcmp(buf, "\x07\x00\x00\x00\x00\x04\x00\x00\x02\x06", 10) == 0);
    ck_assert_int_eq(dul_decode_abort(buf, 10, &ab2, &err), 0);
    ck_assert_uint_eq(ab2.source, 2);
    ck_assert_uint_eq(ab2.reason, 6);
    /* service-user aborts carry reason 0 */
    ab.source = DUL_ABORT_SOURCE_USER;
    dul_encode_abort(&ab, buf);
    ck_assert_uint_eq(buf[9], 0);

    dul_encode_release(DUL_PDU_RELEASE_RQ, buf);
    ck_assert(memcmp(buf, "\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00", 10) == 0);
    ck_assert_int_eq(dul_decode_release(buf, 10, &err), 0);
    dul_encode_release(DUL_PDU_RELEASE_RP, buf);
    ck_assert_uint_eq(buf[0], 6);
    ck_assert_int_eq(dul_decode_release(buf, 10, &err), 0);
    ck_assert_ptr_null(err);
}
END_TEST

START_TEST(test_pdata_round_trip)
{
    uint8_t cmd[68], data[1000];
    memset(cmd, 0xc1, sizeof cmd);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    struct dul_pdv in[3] = {
        { .pc_id = 1, .mch = DUL_MCH_COMMAND | DUL_MCH_LAST, .data = cmd, .len = sizeof cmd },
        { .pc_id = 1, .mch = 0, .data = data, .len = 600 },
        { .pc_id = 1, .mch = DUL_MCH_LAST, .data = data + 600, .len = 400 },
    };
    uint8_t buf[2000];
    ssize_t n = dul_encode_pdata(in, 3, buf, sizeof buf);
    ck_assert_int_eq(n, 6 + 3 * 6 + 68 + 1000);
    ck_assert_int_eq(dul_encode_pdata(in, 3, NULL, 0), n);
    ck_assert_int_eq(dul_encode_pdata(in, 3, buf, 100), -ENOSPC);
    n = dul_encode_pdata(in, 3, buf, sizeof buf);
    size_t count;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_pdata_validate(buf, (size_t)n, &count, &err), 0);
    ck_assert_uint_eq(count, 3);
    size_t off = 6;
    struct dul_pdv out;
    for (int i = 0; i < 3; i++) {
        ck_assert(dul_pdata_next(buf, (size_t)n, &off, &out));
        ck_assert_uint_eq(out.pc_id, 1);
        ck_assert_uint_eq(out.mch, in[i].mch);
        ck_assert_uint_eq(out.len, in[i].len);
        ck_assert(memcmp(out.data, in[i].data, out.len) == 0);
    }
    ck_assert(!dul_pdata_next(buf, (size_t)n, &off, &out));
    /* bits 2-7 of the message control header are ignored */
    buf[11] |= 0xf0;
    off = 6;
    ck_assert(dul_pdata_next(buf, (size_t)n, &off, &out));
    ck_assert_uint_eq(out.mch, 3);
}
END_TEST

START_TEST(test_unknown_items_skipped)
{
    struct bb b;
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    size_t at = bb_item(&b, 0x33);   /* undefined type, top level */
    bb_str(&b, "future");
    bb_end16(&b, at);
    app_ctx(&b);
    at = bb_item(&b, 0x20);
    bb_u8(&b, 1);
    bb_u8(&b, 0);
    bb_u8(&b, 0);
    bb_u8(&b, 0);
    bb_uid_item(&b, 0x30, ECHO);
    bb_uid_item(&b, 0x4f, "x");      /* undefined, inside a PC */
    bb_uid_item(&b, 0x40, IMPLICIT "\0"); /* a padded UID is forgiven */
    bb_end16(&b, at);
    at = bb_item(&b, 0x50);
    bb_uid_item(&b, 0x52, "1.2.3");
    bb_uid_item(&b, 0x5f, "zz");     /* undefined, inside user information */
    bb_end16(&b, at);
    bb_pdu_end(&b);
    struct dul_associate a;
    struct ferry_error *err = NULL;
    ck_assert_msg(dul_decode_associate(b.b, b.n, &a, &err) == 0, "%s", ferry_error_message(err));
    ck_assert_str_eq(a.pc[0].ts[0], IMPLICIT);
    ck_assert(!a.ui.has_max_length);
    ck_assert_uint_eq(a.ui.max_length, 0);
    dul_associate_clear(&a);
}
END_TEST

/* ------------------------------------------------------ malformed */

START_TEST(test_header_errors)
{
    uint8_t h[6] = { 0x08, 0, 0, 0, 0, 4 };
    uint8_t type;
    uint32_t len;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_pdu_header(h, &type, &len, &err), -ENOMSG);
    ck_assert_str_eq(ferry_error_message(err), "unknown PDU type 0x08");
    ferry_error_free(err);
    err = NULL;
    ck_assert_uint_eq(dul_pdu_abort_reason(-ENOMSG), 1);
    ck_assert_uint_eq(dul_pdu_abort_reason(-EPROTO), 5);
    ck_assert_uint_eq(dul_pdu_abort_reason(-EBADMSG), 6);
    ck_assert_uint_eq(dul_pdu_abort_reason(-EMSGSIZE), 6);

    static const struct {
        uint8_t type;
        uint32_t len;
        int code;
        const char *msg;
    } cases[] = {
        { 0x05, 5, -EBADMSG, "A-RELEASE-RQ: PDU-length 5, expected 4" },
        { 0x06, 0, -EBADMSG, "A-RELEASE-RP: PDU-length 0, expected 4" },
        { 0x07, 6, -EBADMSG, "A-ABORT: PDU-length 6, expected 4" },
        { 0x03, 3, -EBADMSG, "A-ASSOCIATE-RJ: PDU-length 3, expected 4" },
        { 0x01, 60, -EBADMSG,
          "A-ASSOCIATE-RQ: PDU-length 60 is shorter than the 68 bytes of fixed fields" },
        { 0x01, 300000, -EMSGSIZE, "A-ASSOCIATE-RQ: PDU-length 300000 exceeds the limit of 262144 bytes" },
        { 0x02, 300000, -EMSGSIZE, "A-ASSOCIATE-AC: PDU-length 300000 exceeds the limit of 262144 bytes" },
        { 0x04, 262145, -EMSGSIZE, "P-DATA-TF: PDU-length 262145 exceeds the maximum length 262144" },
        { 0x09, 4, -ENOMSG, "unknown PDU type 0x09" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = dul_pdu_check_length(cases[i].type, cases[i].len, 262144, 262144, &err);
        ck_assert_int_eq(rc, cases[i].code);
        ck_assert_str_eq(ferry_error_message(err), cases[i].msg);
        ferry_error_free(err);
        err = NULL;
    }
    ck_assert_int_eq(dul_pdu_check_length(0x04, 262144, 262144, 262144, &err), 0);
    ck_assert_int_eq(dul_pdu_check_length(0x01, 68, 262144, 262144, &err), 0);
}
END_TEST

START_TEST(test_rq_lengths)
{
    struct bb b;
    /* the PC item says 200 bytes; 75 follow its header */
    base_rq(&b);
    b.b[101] = 0;
    b.b[102] = 200;
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: item 0x20 at offset 99: length 200 exceeds the 75 bytes left in "
                 "the PDU");
    /* the PDU ends two bytes into an item header */
    base_rq(&b);
    b.n = 101;
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: item at offset 99 is truncated: 2 bytes left in the PDU, its "
                 "header needs 4");
    /* a sub-item runs past its presentation context item */
    base_rq(&b);
    b.b[131] = 40; /* 0x40 sub-item at 128 claims 40 bytes, 17 left in the item */
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: item 0x40 at offset 128: length 40 exceeds the 17 bytes left in "
                 "the presentation context item");
    /* user information sub-item runs past its item */
    base_rq(&b);
    b.b[175] = 9;
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: item 0x55 at offset 172: length 9 exceeds the 2 bytes left in "
                 "the user information item");
    /* an unknown item type with a lying length is still an error */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    bb_u8(&b, 0x33);
    bb_u8(&b, 0);
    bb_u16(&b, 500);
    bb_str(&b, "abc");
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: item 0x33 at offset 99: length 500 exceeds the 3 bytes left in "
                 "the PDU");
    /* PDU-length that does not match the bytes given */
    base_rq(&b);
    struct dul_associate a;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_decode_associate(b.b, b.n - 1, &a, &err), -EBADMSG);
    ck_assert_str_eq(ferry_error_message(err),
                     "A-ASSOCIATE-RQ: PDU-length 172 does not match the 171 bytes given");
    ferry_error_free(err);
}
END_TEST

START_TEST(test_rq_items)
{
    struct bb b;
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    ui_basic(&b);
    pc_echo(&b, 1);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: item 0x20 at offset 128 follows item 0x50: items out of order");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    app_ctx(&b);
    pc_echo(&b, 1);
    ui_basic(&b);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: second application context item at offset 99");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    ui_basic(&b);
    ui_basic(&b);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: second user information item at offset 178");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    pc_echo(&b, 1);
    ui_basic(&b);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: no application context item");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    ui_basic(&b);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: no presentation context item");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: no user information item");

    /* an AC's presentation context item in an RQ */
    base_rq(&b);
    b.b[99] = 0x21;
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: item 0x21 at offset 99 is not allowed in an A-ASSOCIATE-RQ");
    /* a sub-item at the top level */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    bb_uid_item(&b, 0x30, ECHO);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: item 0x30 at offset 99 belongs in a presentation context item");
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    size_t at = bb_item(&b, 0x51);
    bb_u32(&b, 0);
    bb_end16(&b, at);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: item 0x51 at offset 99 belongs in the user information item");
    /* a user information sub-item inside a presentation context */
    base_rq(&b);
    b.b[128] = 0x51;
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: presentation context 1: item 0x51 at offset 128 belongs in the "
                 "user information item");
    /* a presentation context inside user information */
    base_rq(&b);
    b.b[172] = 0x20;
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: user information: item 0x20 at offset 172 belongs at the top "
                 "level of the PDU");
}
END_TEST

START_TEST(test_rq_presentation_contexts)
{
    struct bb b;
    base_rq(&b);
    b.b[103] = 2;
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: presentation context item at offset 99: ID 2 is not odd");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    pc_echo(&b, 1);
    ui_basic(&b);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: presentation context ID 1 at offset 149 is used twice");

    /* short PC item */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    size_t at = bb_item(&b, 0x20);
    bb_u8(&b, 1);
    bb_end16(&b, at);
    ui_basic(&b);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: presentation context item at offset 99: length 1 is shorter "
                 "than 4");

    /* no transfer syntax; no abstract syntax; order; two abstract syntaxes */
    const struct {
        uint8_t first, second;
        int code;
        const char *msg;
    } cases[] = {
        { 0x30, 0x30, -EBADMSG,
          "A-ASSOCIATE-RQ: presentation context 1: second abstract syntax sub-item at offset 128" },
        { 0x40, 0x30, -EPROTO,
          "A-ASSOCIATE-RQ: presentation context 1: abstract syntax sub-item at offset 128 "
          "follows a transfer syntax sub-item" },
        { 0x40, 0x40, -EBADMSG, "A-ASSOCIATE-RQ: presentation context 1: no abstract syntax sub-item" },
        { 0x30, 0x3f, -EBADMSG, "A-ASSOCIATE-RQ: presentation context 1: no transfer syntax sub-item" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_rq(&b);
        b.b[107] = cases[i].first;
        b.b[128] = cases[i].second;
        expect_error(&b, cases[i].code, cases[i].msg);
    }
}
END_TEST

START_TEST(test_rq_values)
{
    struct bb b;
    /* UIDs */
    base_rq(&b);
    b.b[107 + 4 + 16] = 'X'; /* 1.2.840.10008.1.X */
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: abstract syntax '1.2.840.10008.1.X' at offset 107 has a "
                 "character other than digits and dots");
    base_rq(&b);
    b.b[128 + 4 + 14] = '.'; /* 1.2.840.10008...2 */
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: transfer syntax '1.2.840.10008...2' at offset 128 has an empty "
                 "component");
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    bb_uid_item(&b, 0x10, "1.2.840.10008.3.1.1.1.111111111111111111111111111111111111111111111");
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: application context name at offset 74 is longer than 64 "
                 "characters");
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    bb_uid_item(&b, 0x10, "");
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: application context name '' at offset 74 is empty");
    /* AE titles */
    base_rq(&b);
    b.b[12] = 0x01;
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: called AE title at offset 12 contains byte 0x01");
    base_rq(&b);
    memset(b.b + 26, ' ', 16);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: calling AE title at offset 26 is all spaces");
    /* user information sub-items */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    size_t at = bb_item(&b, 0x50);
    size_t s = bb_item(&b, 0x51);
    bb_u16(&b, 0);
    bb_end16(&b, s);
    bb_uid_item(&b, 0x52, "1.2.3.4");
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: maximum length sub-item at offset 153: length 2, expected 4");

    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    for (int i = 0; i < 2; i++) {
        s = bb_item(&b, 0x51);
        bb_u32(&b, 16384);
        bb_end16(&b, s);
    }
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: second sub-item 0x51 at offset 161");

    /* role selection whose UID length does not fit */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    s = bb_item(&b, 0x54);
    bb_u16(&b, 99);
    bb_str(&b, ECHO);
    bb_u8(&b, 1);
    bb_u8(&b, 0);
    bb_end16(&b, s);
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: role selection sub-item at offset 153: UID length 99 does not "
                 "fit the sub-item length 21");

    /* user identity */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    s = bb_item(&b, 0x58);
    bb_u8(&b, 9);
    bb_u8(&b, 0);
    bb_u16(&b, 2);
    bb_str(&b, "me");
    bb_u16(&b, 0);
    bb_end16(&b, s);
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG, "A-ASSOCIATE-RQ: user identity sub-item at offset 153: type 9 is not 1-5");
    b.b[157] = 1;    /* type 1 */
    b.b[163] = 0;
    b.b[164] = 7;    /* secondary length 7, nothing follows */
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: user identity sub-item at offset 153: secondary field length 7 "
                 "does not match the 0 bytes left");
    b.b[159] = 0;
    b.b[160] = 30;   /* primary length 30 */
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: user identity sub-item at offset 153: primary field length 30 "
                 "exceeds the 2 bytes left");

    /* implementation version name */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    bb_uid_item(&b, 0x55, "ABCDEFGHIJKLMNOPQ");
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: implementation version name at offset 153: length 17 is not 1-16");
    /* an AC-only sub-item in an RQ */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    s = bb_item(&b, 0x59);
    bb_u16(&b, 0);
    bb_end16(&b, s);
    bb_end16(&b, at);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-RQ: user identity (AC) sub-item at offset 153 is not allowed in an "
                 "A-ASSOCIATE-RQ");
    /* SOP class extended negotiation: UID longer than the sub-item */
    bb_assoc_start(&b, 0x01, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    at = bb_item(&b, 0x50);
    s = bb_item(&b, 0x56);
    bb_u16(&b, 40);
    bb_str(&b, CT);
    bb_end16(&b, s);
    bb_end16(&b, at);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-RQ: SOP class extended negotiation sub-item at offset 153: UID "
                 "length 40 exceeds the 25 bytes left in the sub-item");
}
END_TEST

static void ac_start(struct bb *b, uint8_t result, bool with_ts)
{
    bb_assoc_start(b, 0x02, "FERRY", "MODALITY");
    app_ctx(b);
    size_t at = bb_item(b, 0x21);
    bb_u8(b, 1);
    bb_u8(b, 0);
    bb_u8(b, result);
    bb_u8(b, 0);
    if (with_ts)
        bb_uid_item(b, 0x40, EXPLICIT);
    bb_end16(b, at);
}

START_TEST(test_ac_errors)
{
    struct bb b;
    ac_start(&b, 7, true);
    ui_basic(&b);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-AC: presentation context 1 at offset 99: result 7 is not 0-4");
    ac_start(&b, 0, false);
    ui_basic(&b);
    expect_error(&b, -EBADMSG,
                 "A-ASSOCIATE-AC: presentation context 1: accepted without a transfer syntax "
                 "sub-item");
    /* a rejected context needs no (valid) transfer syntax */
    ac_start(&b, 4, false);
    ui_basic(&b);
    bb_pdu_end(&b);
    struct dul_associate a;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_decode_associate(b.b, b.n, &a, &err), 0);
    ck_assert_uint_eq(a.pc[0].result, 4);
    dul_associate_clear(&a);
    /* an RQ's presentation context in an AC */
    bb_assoc_start(&b, 0x02, "FERRY", "MODALITY");
    app_ctx(&b);
    pc_echo(&b, 1);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-AC: item 0x20 at offset 99 is not allowed in an A-ASSOCIATE-AC");
    /* an RQ-only user identity sub-item in an AC */
    ac_start(&b, 0, true);
    size_t at = bb_item(&b, 0x50);
    size_t s = bb_item(&b, 0x58);
    bb_u8(&b, 1);
    bb_u8(&b, 0);
    bb_u16(&b, 0);
    bb_u16(&b, 0);
    bb_end16(&b, s);
    bb_end16(&b, at);
    expect_error(&b, -EPROTO,
                 "A-ASSOCIATE-AC: user identity (RQ) sub-item at offset 134 is not allowed in an "
                 "A-ASSOCIATE-AC");
    /* reserved AE fields of an AC are not tested */
    ac_start(&b, 0, true);
    ui_basic(&b);
    b.b[12] = 0x01;
    memset(b.b + 26, ' ', 16);
    bb_pdu_end(&b);
    ck_assert_int_eq(dul_decode_associate(b.b, b.n, &a, &err), 0);
    ck_assert_str_eq(a.called_ae, "FE?RY");
    dul_associate_clear(&a);
}
END_TEST

START_TEST(test_short_pdu_errors)
{
    uint8_t buf[10] = { 0x03, 0, 0, 0, 0, 4, 0, 3, 1, 1 };
    struct dul_reject rj;
    struct dul_abort ab;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_decode_reject(buf, 10, &rj, &err), -EBADMSG);
    ck_assert_str_eq(ferry_error_message(err),
                     "A-ASSOCIATE-RJ: result 3 is not 1 (permanent) or 2 (transient)");
    ferry_error_free(err);
    err = NULL;
    buf[7] = 1;
    buf[8] = 4;
    ck_assert_int_eq(dul_decode_reject(buf, 10, &rj, &err), -EBADMSG);
    ck_assert_str_eq(ferry_error_message(err), "A-ASSOCIATE-RJ: source 4 is not 1-3");
    ferry_error_free(err);
    err = NULL;
    uint8_t ab_pdu[10] = { 0x07, 0, 0, 0, 0, 4, 0, 0, 3, 0 };
    ck_assert_int_eq(dul_decode_abort(ab_pdu, 10, &ab, &err), -EBADMSG);
    ck_assert_str_eq(ferry_error_message(err), "A-ABORT: source 3 is not 0, 1 or 2");
    ferry_error_free(err);
    err = NULL;
    uint8_t rel[11] = { 0x05, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(dul_decode_release(rel, 11, &err), -EBADMSG);
    ck_assert_str_eq(ferry_error_message(err), "A-RELEASE-RQ: PDU-length 5, expected 4");
    ferry_error_free(err);
}
END_TEST

START_TEST(test_pdata_errors)
{
    static const struct {
        uint8_t bytes[32];
        size_t n;
        const char *msg;
    } cases[] = {
        { { 4, 0, 0, 0, 0, 0 }, 6, "P-DATA-TF: no PDV item" },
        { { 4, 0, 0, 0, 0, 5, 0, 0, 0, 1, 1 }, 11,
          "P-DATA-TF: PDV item at offset 6: length 1 is shorter than the presentation context ID "
          "and message control header" },
        { { 4, 0, 0, 0, 0, 14, 0, 0, 0, 100, 1, 3, 1, 2, 3, 4, 5, 6, 7, 8 }, 20,
          "P-DATA-TF: PDV item at offset 6: length 100 exceeds the 10 bytes left in the PDU" },
        { { 4, 0, 0, 0, 0, 12, 0, 0, 0, 4, 1, 3, 0xaa, 0xbb, 0, 0, 0, 9 }, 18,
          "P-DATA-TF: PDV item at offset 14: length 9 exceeds the 0 bytes left in the PDU" },
        { { 4, 0, 0, 0, 0, 10, 0, 0, 0, 4, 1, 3, 0xaa, 0xbb, 0, 0 }, 16,
          "P-DATA-TF: PDV item at offset 14 is truncated: 2 bytes left, its length field needs 4" },
        { { 4, 0, 0, 0, 0, 6, 0, 0, 0, 2, 2, 3 }, 12,
          "P-DATA-TF: PDV item at offset 6: presentation context ID 2 is not odd" },
        { { 4, 0, 0, 0, 0, 7, 0, 0, 0, 2, 1, 3 }, 12,
          "P-DATA-TF: PDU-length 7 does not match the 6 bytes given" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        struct ferry_error *err = NULL;
        int rc = dul_pdata_validate(cases[i].bytes, cases[i].n, &n, &err);
        ck_assert_int_eq(rc, -EBADMSG);
        ck_assert_str_eq(ferry_error_message(err), cases[i].msg);
        ferry_error_free(err);
    }
}
END_TEST

START_TEST(test_encode_errors)
{
    struct dul_associate a;
    struct dul_pc pcs[3];
    struct dul_role roles[2];
    struct dul_ext_neg ext[1];
    struct dul_common_ext_neg cext[1];
    full_rq(&a, pcs, roles, ext, cext);
    pcs[1].abstract_syntax = "1.2.840.10008.5.1.4.1.1.2.1111111111111111111111111111111111111111";
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
    full_rq(&a, pcs, roles, ext, cext);
    pcs[0].id = 2;
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
    full_rq(&a, pcs, roles, ext, cext);
    pcs[0].n_ts = 0;
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
    full_rq(&a, pcs, roles, ext, cext);
    strcpy(a.calling_ae, "SEVENTEEN_CHARS_X");
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
    full_rq(&a, pcs, roles, ext, cext);
    a.ui.impl_version = "";
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
    /* an item over 65535 bytes */
    static uint8_t big[70000];
    full_rq(&a, pcs, roles, ext, cext);
    a.ui.identity.primary = big;
    a.ui.identity.primary_len = 65535;
    ck_assert_int_eq(dul_encode_associate(&a, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_uid_rules)
{
    ck_assert_ptr_null(dul_uid_problem("1.2.3", 5));
    ck_assert_str_eq(dul_uid_problem("", 0), "is empty");
    ck_assert_str_eq(dul_uid_problem(".1", 2), "has an empty component");
    ck_assert_str_eq(dul_uid_problem("1.", 2), "has an empty component");
    ck_assert_str_eq(dul_uid_problem("1.a", 3), "has a character other than digits and dots");
    char long_uid[66];
    memset(long_uid, '1', 65);
    long_uid[65] = 0;
    ck_assert_str_eq(dul_uid_problem(long_uid, 65), "is longer than 64 characters");
    ck_assert_ptr_null(dul_uid_problem(long_uid, 64));
}
END_TEST

void add_pdu_tests(Suite *s)
{
    TCase *tc = tcase_create("pdu_round_trip");
    tcase_add_test(tc, test_base_rq_decodes);
    tcase_add_test(tc, test_rq_round_trip);
    tcase_add_test(tc, test_ac_round_trip);
    tcase_add_test(tc, test_short_pdus);
    tcase_add_test(tc, test_pdata_round_trip);
    tcase_add_test(tc, test_unknown_items_skipped);
    suite_add_tcase(s, tc);
    tc = tcase_create("pdu_malformed");
    tcase_add_test(tc, test_header_errors);
    tcase_add_test(tc, test_rq_lengths);
    tcase_add_test(tc, test_rq_items);
    tcase_add_test(tc, test_rq_presentation_contexts);
    tcase_add_test(tc, test_rq_values);
    tcase_add_test(tc, test_ac_errors);
    tcase_add_test(tc, test_short_pdu_errors);
    tcase_add_test(tc, test_pdata_errors);
    tcase_add_test(tc, test_encode_errors);
    tcase_add_test(tc, test_uid_rules);
    suite_add_tcase(s, tc);
}
