/* Acceptor decisions: transfer syntax preference, presentation context
 * results, AE and address rules, limits, user identity, roles; policy
 * errors; CIDR ranges. */
#include "test_dul.h"

#include "base/error.h"
#include "dul/dul-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ECHO "1.2.840.10008.1.1"
#define CT "1.2.840.10008.5.1.4.1.1.2"
#define MR "1.2.840.10008.5.1.4.1.1.4"
#define IMPLICIT "1.2.840.10008.1.2"
#define EXPLICIT "1.2.840.10008.1.2.1"
#define BIG "1.2.840.10008.1.2.2"
#define JPEG_BASE "1.2.840.10008.1.2.4.50"
#define JPEGLL "1.2.840.10008.1.2.4.70"
#define J2K "1.2.840.10008.1.2.4.91"

static struct sockaddr_storage addr4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    v4->sin_family = AF_INET;
    inet_pton(AF_INET, a, &v4->sin_addr);
    return ss;
}

static struct sockaddr_storage addr6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    v6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &v6->sin6_addr);
    return ss;
}

static struct dul_policy_c *compile(const struct dul_policy *p)
{
    struct ferry_error *err = NULL;
    struct dul_policy_c *c = dul_policy_compile(p, &err);
    ck_assert_msg(c != NULL, "%s", ferry_error_message(err));
    return c;
}

/* An RQ view: the strings live in the caller's statics. */
struct rq_builder {
    struct dul_associate rq;
    struct dul_pc pc[8];
    struct dul_role roles[4];
};

static void rq_init(struct rq_builder *b, const char *called, const char *calling)
{
    memset(b, 0, sizeof *b);
    b->rq.type = DUL_PDU_ASSOCIATE_RQ;
    b->rq.protocol_version = 1;
    strcpy(b->rq.called_ae, called);
    strcpy(b->rq.calling_ae, calling);
    b->rq.app_context = DUL_APPLICATION_CONTEXT;
    b->rq.pc = b->pc;
    b->rq.ui.max_length = 16384;
    b->rq.ui.impl_class_uid = "1.2.3";
    b->rq.ui.roles = b->roles;
}

static void rq_pc(struct rq_builder *b, const char *abstract, const char **ts, size_t n)
{
    struct dul_pc *pc = &b->pc[b->rq.n_pc];
    pc->id = (uint8_t)(2 * b->rq.n_pc + 1);
    pc->abstract_syntax = abstract;
    pc->ts = ts;
    pc->n_ts = n;
    b->rq.n_pc++;
}

static void expect_reject(const struct dul_decision *d, uint8_t result, uint8_t source,
                          uint8_t reason, const char *why)
{
    ck_assert_msg(!d->accept, "accepted: %s", d->why);
    ck_assert_uint_eq(d->rj.result, result);
    ck_assert_uint_eq(d->rj.source, source);
    ck_assert_uint_eq(d->rj.reason, reason);
    ck_assert_str_eq(d->why, why);
}

START_TEST(test_default_policy_accepts_storage)
{
    struct dul_policy_c *p = compile(NULL);
    ck_assert_uint_eq(p->max_pdu, 262144);
    ck_assert_uint_eq(p->n_abstract, 1 + dul_storage_sop_class_count());
    ck_assert_uint_eq(dul_storage_sop_class_count(), 191);
    ck_assert_uint_eq(dul_default_transfer_syntax_count(), 26);
    ck_assert_str_eq(dul_default_transfer_syntax(0), EXPLICIT);
    ck_assert_str_eq(dul_default_transfer_syntax(1), IMPLICIT);
    ck_assert_ptr_null(dul_default_transfer_syntax(26));
    static const char *echo_ts[] = { IMPLICIT };
    static const char *ct_ts[] = { IMPLICIT, BIG, EXPLICIT };   /* requestor order */
    static const char *lossy_or_ll[] = { JPEG_BASE, JPEGLL };
    static const char *unknown_ts[] = { "1.2.3.4.5.6" };
    static const char *video[] = { "1.2.840.10008.1.2.4.102" };
    struct rq_builder b;
    rq_init(&b, "ANY", "MOD");
    rq_pc(&b, ECHO, echo_ts, 1);
    rq_pc(&b, CT, ct_ts, 3);
    rq_pc(&b, MR, lossy_or_ll, 2);
    rq_pc(&b, "1.2.840.10008.5.1.4.1.2.2.1", echo_ts, 1); /* Q/R FIND: not storage */
    rq_pc(&b, CT, unknown_ts, 1);
    rq_pc(&b, "1.2.840.10008.5.1.4.1.1.77.1.6", video, 1); /* VL whole slide, MPEG-4 */
    struct sockaddr_storage peer = addr4("10.1.2.3");
    struct dul_decision d;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert_msg(d.accept, "%s", d.why);
    ck_assert_str_eq(d.why, "4 of 6 presentation contexts accepted");
    const struct dul_associate *ac = &d.ac;
    ck_assert_uint_eq(ac->type, DUL_PDU_ASSOCIATE_AC);
    ck_assert_str_eq(ac->called_ae, "ANY");
    ck_assert_uint_eq(ac->n_pc, 6);
    ck_assert_uint_eq(ac->pc[0].result, 0);
    ck_assert_str_eq(ac->pc[0].ts[0], IMPLICIT);
    /* our preference, not the requestor's order: explicit first */
    ck_assert_uint_eq(ac->pc[1].result, 0);
    ck_assert_str_eq(ac->pc[1].ts[0], EXPLICIT);
    /* lossless before lossy */
    ck_assert_str_eq(ac->pc[2].ts[0], JPEGLL);
    ck_assert_uint_eq(ac->pc[3].result, DUL_PC_ABSTRACT_SYNTAX_NOT_SUPPORTED);
    ck_assert_uint_eq(ac->pc[4].result, DUL_PC_TRANSFER_SYNTAXES_NOT_SUPPORTED);
    ck_assert_uint_eq(ac->pc[5].result, 0); /* stored as received, whatever it is */
    ck_assert_uint_eq(ac->ui.max_length, 262144);
    ck_assert_str_eq(ac->ui.impl_class_uid, DUL_FERRY_IMPL_CLASS_UID);
    ck_assert_str_eq(ac->ui.impl_version, "FERRY_0.1");
    ck_assert(!ac->ui.has_async);
    ck_assert(!ac->ui.has_identity_ac);
    /* the AC encodes and decodes */
    uint8_t buf[4096];
    ssize_t n = dul_encode_associate(ac, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    struct dul_associate back;
    struct ferry_error *err = NULL;
    ck_assert_msg(dul_decode_associate(buf, (size_t)n, &back, &err) == 0, "%s",
                  ferry_error_message(err));
    ck_assert_uint_eq(back.pc[4].result, 4);
    dul_associate_clear(&back);
    dul_decision_clear(&d);
    dul_policy_unref(p);
}
END_TEST

START_TEST(test_policy_narrows_and_orders)
{
    static const char *abs[] = { CT };
    static const char *ts[] = { IMPLICIT, JPEGLL };
    struct dul_policy pol = { .abstract_syntaxes = abs, .n_abstract_syntaxes = 1,
                              .transfer_syntaxes = ts, .n_transfer_syntaxes = 2 };
    struct dul_policy_c *p = compile(&pol);
    static const char *prop[] = { EXPLICIT, JPEGLL, IMPLICIT };
    static const char *only_explicit[] = { EXPLICIT };
    struct rq_builder b;
    rq_init(&b, "F", "M");
    rq_pc(&b, CT, prop, 3);
    rq_pc(&b, ECHO, prop, 3);
    rq_pc(&b, CT, only_explicit, 1);
    struct sockaddr_storage peer = addr4("127.0.0.1");
    struct dul_decision d;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert(d.accept);
    ck_assert_str_eq(d.ac.pc[0].ts[0], IMPLICIT);
    ck_assert_uint_eq(d.ac.pc[1].result, 3);
    ck_assert_uint_eq(d.ac.pc[2].result, 4);
    dul_decision_clear(&d);
    dul_policy_unref(p);
}
END_TEST

START_TEST(test_all_contexts_rejected_still_accepts)
{
    struct dul_policy_c *p = compile(NULL);
    static const char *ts[] = { "1.2.3" };
    struct rq_builder b;
    rq_init(&b, "F", "M");
    rq_pc(&b, CT, ts, 1);
    struct sockaddr_storage peer = addr4("127.0.0.1");
    struct dul_decision d;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert(d.accept);
    ck_assert_str_eq(d.why, "0 of 1 presentation contexts accepted");
    ck_assert_uint_eq(d.ac.pc[0].result, 4);
    dul_decision_clear(&d);
    dul_policy_unref(p);
}
END_TEST

START_TEST(test_rejections)
{
    static const char *aes[] = { "FERRY", "FERRY_BACKUP" };
    static const char *t1[] = { "10.1.0.0/16" };
    static const char *t2[] = { "10.2.0.0/16", "2001:db8::/32" };
    static const char *any_from[] = { "192.168.7.0/24" };
    struct dul_peer_rule peers[] = {
        { .calling_ae = "TOWNSHIP1_CT", .cidrs = t1, .n_cidrs = 1 },
        { .calling_ae = "TOWNSHIP2_DR", .cidrs = t2, .n_cidrs = 2 },
        { .calling_ae = "ANYWHERE" },
        { .calling_ae = NULL, .cidrs = any_from, .n_cidrs = 1 },
    };
    struct dul_policy pol = { .ae_titles = aes, .n_ae_titles = 2, .peers = peers, .n_peers = 4,
                              .max_associations = 10, .max_associations_per_peer = 2 };
    struct dul_policy_c *p = compile(&pol);
    static const char *ts[] = { IMPLICIT };
    struct rq_builder b;
    struct dul_decision d;
    struct sockaddr_storage in1 = addr4("10.1.200.7"), in2v6 = addr6("2001:db8::5"),
                            mapped = addr6("::ffff:10.1.9.9"), other = addr4("10.3.0.1"),
                            lab = addr4("192.168.7.20");

    rq_init(&b, "FERRY_BACKUP", "TOWNSHIP1_CT");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
    ck_assert_msg(d.accept, "%s", d.why);
    dul_decision_clear(&d);
    dul_negotiate(p, &b.rq, &mapped, 0, 0, &d); /* IPv4-mapped IPv6 */
    ck_assert_msg(d.accept, "%s", d.why);
    dul_decision_clear(&d);
    dul_negotiate(p, &b.rq, &other, 0, 0, &d);
    expect_reject(&d, 1, 1, 1, "calling AE title 'TOWNSHIP1_CT' is not allowed from 10.3.0.1");

    rq_init(&b, "FERRY", "TOWNSHIP2_DR");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &in2v6, 0, 0, &d);
    ck_assert_msg(d.accept, "%s", d.why);
    dul_decision_clear(&d);

    rq_init(&b, "FERRY", "ANYWHERE");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &other, 0, 0, &d);
    ck_assert(d.accept);
    dul_decision_clear(&d);

    /* any AE from the lab range, none from elsewhere */
    rq_init(&b, "FERRY", "SOMEBODY");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &lab, 0, 0, &d);
    ck_assert(d.accept);
    dul_decision_clear(&d);
    dul_negotiate(p, &b.rq, &other, 0, 0, &d);
    expect_reject(&d, 1, 1, 1, "calling AE title 'SOMEBODY' is not allowed from 10.3.0.1");

    rq_init(&b, "FERRY", "TOWNSHIP1_CT");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &in1, 10, 0, &d);
    expect_reject(&d, 2, 3, 2, "10 associations open, the limit is 10");
    dul_negotiate(p, &b.rq, &in1, 5, 2, &d);
    expect_reject(&d, 2, 3, 2, "2 associations open from 10.1.200.7, the limit per peer is 2");

    rq_init(&b, "OTHER", "TOWNSHIP1_CT");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
    expect_reject(&d, 1, 1, 7, "called AE title 'OTHER' is not ours");

    rq_init(&b, "FERRY", "TOWNSHIP1_CT");
    rq_pc(&b, CT, ts, 1);
    b.rq.app_context = "1.2.3.4";
    dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
    expect_reject(&d, 1, 1, 2, "application context '1.2.3.4' is not DICOM's");

    rq_init(&b, "FERRY", "TOWNSHIP1_CT");
    rq_pc(&b, CT, ts, 1);
    b.rq.protocol_version = 2;
    dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
    expect_reject(&d, 1, 2, 2, "protocol version 0x0002 does not have bit 0 set");
    dul_policy_unref(p);

    /* a calling AE that no rule names */
    static const char *t3[] = { "10.0.0.0/8" };
    struct dul_peer_rule only[] = { { .calling_ae = "KNOWN", .cidrs = t3, .n_cidrs = 1 } };
    struct dul_policy pol2 = { .peers = only, .n_peers = 1 };
    p = compile(&pol2);
    rq_init(&b, "X", "STRANGER");
    rq_pc(&b, CT, ts, 1);
    dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
    expect_reject(&d, 1, 1, 3, "calling AE title 'STRANGER' is not allowed");
    dul_policy_unref(p);

    /* DICOM wildcards in calling AE titles */
    struct dul_peer_rule wild[] = { { .calling_ae = "CT_*" }, { .calling_ae = "DR?" },
                                    { .calling_ae = "*MR*X" } };
    struct dul_policy pol3 = { .peers = wild, .n_peers = 3 };
    p = compile(&pol3);
    static const char *const good[] = { "CT_", "CT_ROOM2", "DR1", "MRX", "A_MR_MRX" };
    static const char *const bad[] = { "CT", "XCT_1", "DR", "DR12", "MR_XY", "MR" };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        rq_init(&b, "X", good[i]);
        rq_pc(&b, CT, ts, 1);
        dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
        ck_assert_msg(d.accept, "%s: %s", good[i], d.why);
        dul_decision_clear(&d);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rq_init(&b, "X", bad[i]);
        rq_pc(&b, CT, ts, 1);
        dul_negotiate(p, &b.rq, &in1, 0, 0, &d);
        ck_assert_msg(!d.accept, "%s was accepted", bad[i]);
        ck_assert_int_eq(d.rj.reason, 3);
    }
    dul_policy_unref(p);
}
END_TEST

START_TEST(test_user_identity_roles_async)
{
    static const char *ts[] = { IMPLICIT };
    struct dul_policy pol = { .require_user_identity = true };
    struct dul_policy_c *p = compile(&pol);
    struct rq_builder b;
    struct dul_decision d;
    struct sockaddr_storage peer = addr4("127.0.0.1");
    rq_init(&b, "F", "M");
    rq_pc(&b, CT, ts, 1);
    rq_pc(&b, ECHO, ts, 1);
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    expect_reject(&d, 1, 1, 1, "a user identity is required and none was sent");

    b.rq.ui.has_identity = true;
    b.rq.ui.identity = (struct dul_user_identity){ .type = 2, .positive_response_requested = 1,
                                                   .primary = (const uint8_t *)"dr",
                                                   .primary_len = 2 };
    b.rq.ui.has_async = true;
    b.rq.ui.async_invoked = 5;
    b.rq.ui.async_performed = 5;
    b.roles[0] = (struct dul_role){ .sop_class = CT, .scu = 1, .scp = 1 };
    b.roles[1] = (struct dul_role){ .sop_class = MR, .scu = 1, .scp = 1 }; /* not proposed */
    b.roles[2] = (struct dul_role){ .sop_class = CT, .scu = 0, .scp = 1 }; /* duplicate */
    b.rq.ui.n_roles = 3;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert_msg(d.accept, "%s", d.why);
    ck_assert(d.ac.ui.has_identity_ac);
    ck_assert_uint_eq(d.ac.ui.server_response_len, 0);
    /* the AC with its empty server response encodes (UBSan once saw a
     * memcpy from NULL here) and decodes */
    uint8_t buf[2048];
    ssize_t n = dul_encode_associate(&d.ac, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    struct dul_associate back;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_decode_associate(buf, (size_t)n, &back, &err), 0);
    ck_assert(back.ui.has_identity_ac);
    ck_assert_uint_eq(back.ui.server_response_len, 0);
    dul_associate_clear(&back);
    ck_assert(d.ac.ui.has_async);
    ck_assert_uint_eq(d.ac.ui.async_invoked, 1);
    ck_assert_uint_eq(d.ac.ui.async_performed, 1);
    ck_assert_uint_eq(d.ac.ui.n_roles, 1);
    ck_assert_str_eq(d.ac.ui.roles[0].sop_class, CT);
    ck_assert_uint_eq(d.ac.ui.roles[0].scu, 1);
    ck_assert_uint_eq(d.ac.ui.roles[0].scp, 0);
    dul_decision_clear(&d);
    /* SAML: accepted, but no response ferry could make */
    b.rq.ui.identity.type = 4;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert(d.accept);
    ck_assert(!d.ac.ui.has_identity_ac);
    dul_decision_clear(&d);
    /* no positive response asked for */
    b.rq.ui.identity.type = 1;
    b.rq.ui.identity.positive_response_requested = 0;
    dul_negotiate(p, &b.rq, &peer, 0, 0, &d);
    ck_assert(!d.ac.ui.has_identity_ac);
    dul_decision_clear(&d);
    dul_policy_unref(p);
}
END_TEST

START_TEST(test_policy_errors)
{
    static const struct {
        const char *ae, *cidr, *ts;
        uint32_t max_pdu;
        const char *msg;
    } cases[] = {
        { "THIS_IS_SEVENTEEN", NULL, NULL, 0, "policy: AE title 'THIS_IS_SEVENTEEN' is longer than 16 characters" },
        { "   ", NULL, NULL, 0, "policy: AE title '   ' is empty" },
        { "BAD\\AE", NULL, NULL, 0, "policy: AE title 'BAD\\AE' has a character other than printable ASCII" },
        { NULL, "10.0.0.0/33", NULL, 0, "policy: peer rule 1: '10.0.0.0/33': prefix length 33 is over 32" },
        { NULL, "10.0.0/8", NULL, 0, "policy: peer rule 1: '10.0.0/8' is not an address or address range" },
        { NULL, "10.0.0.0/", NULL, 0, "policy: peer rule 1: '10.0.0.0/': prefix length missing after '/'" },
        { NULL, "::1/1x", NULL, 0, "policy: peer rule 1: '::1/1x': prefix length is not a number" },
        { NULL, NULL, "1.2.840.10008.1.2.x", 0, "policy: transfer syntax '1.2.840.10008.1.2.x' has a character other than digits and dots" },
        { NULL, NULL, NULL, 1000, "policy: max_pdu 1000 is outside 4096..16777216" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dul_policy pol = { .max_pdu = cases[i].max_pdu };
        const char *ae[1] = { cases[i].ae };
        const char *cidr[1] = { cases[i].cidr };
        const char *ts[1] = { cases[i].ts };
        struct dul_peer_rule rule = { .calling_ae = "X", .cidrs = cidr, .n_cidrs = 1 };
        if (cases[i].ae) {
            pol.ae_titles = ae;
            pol.n_ae_titles = 1;
        }
        if (cases[i].cidr) {
            pol.peers = &rule;
            pol.n_peers = 1;
        }
        if (cases[i].ts) {
            pol.transfer_syntaxes = ts;
            pol.n_transfer_syntaxes = 1;
        }
        struct ferry_error *err = NULL;
        ck_assert_ptr_null(dul_policy_compile(&pol, &err));
        ck_assert_int_eq(err->code, -EINVAL);
        ck_assert_str_eq(ferry_error_message(err), cases[i].msg);
        ferry_error_free(err);
    }
}
END_TEST

START_TEST(test_cidr)
{
    struct dul_cidr c;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dul_cidr_parse("10.1.2.3/8", &c, &err), 0);
    ck_assert_int_eq(c.family, AF_INET);
    ck_assert_uint_eq(c.prefix, 8);
    ck_assert_uint_eq(c.addr[1], 0); /* host bits cleared */
    struct sockaddr_storage a = addr4("10.200.1.1"), b = addr4("11.0.0.1");
    ck_assert(dul_cidr_match(&c, &a));
    ck_assert(!dul_cidr_match(&c, &b));
    ck_assert_int_eq(dul_cidr_parse("192.168.1.7", &c, &err), 0);
    ck_assert_uint_eq(c.prefix, 32);
    a = addr4("192.168.1.7");
    b = addr4("192.168.1.8");
    ck_assert(dul_cidr_match(&c, &a));
    ck_assert(!dul_cidr_match(&c, &b));
    ck_assert_int_eq(dul_cidr_parse("172.16.0.0/12", &c, &err), 0);
    a = addr4("172.31.255.255");
    b = addr4("172.32.0.0");
    ck_assert(dul_cidr_match(&c, &a));
    ck_assert(!dul_cidr_match(&c, &b));
    ck_assert_int_eq(dul_cidr_parse("2001:db8:abcd::/48", &c, &err), 0);
    a = addr6("2001:db8:abcd:1::9");
    b = addr6("2001:db8:abce::1");
    ck_assert(dul_cidr_match(&c, &a));
    ck_assert(!dul_cidr_match(&c, &b));
    a = addr4("10.0.0.1");
    ck_assert(!dul_cidr_match(&c, &a)); /* families differ */
    ck_assert_int_eq(dul_cidr_parse("0.0.0.0/0", &c, &err), 0);
    ck_assert(dul_cidr_match(&c, &a));
    ck_assert_int_eq(dul_cidr_parse("::/0", &c, &err), 0);
    ck_assert(!dul_cidr_match(&c, &a)); /* ::/0 is IPv6 only */
    ck_assert_ptr_null(err);
    ck_assert_int_eq(dul_cidr_parse("", &c, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "'' is not an address or address range");
    ferry_error_free(err);
}
END_TEST

START_TEST(test_reject_text)
{
    char buf[160];
    struct dul_reject rj = { 1, 1, 7 };
    dul_reject_describe(&rj, buf, sizeof buf);
    ck_assert_str_eq(buf, "permanent, service-user, called AE title not recognized");
    rj = (struct dul_reject){ 2, 3, 2 };
    dul_reject_describe(&rj, buf, sizeof buf);
    ck_assert_str_eq(buf, "transient, service-provider (presentation), local limit exceeded");
    ck_assert_str_eq(dul_abort_reason_name(2, 6), "service-provider, invalid PDU parameter value");
    ck_assert_str_eq(dul_abort_reason_name(0, 6), "service-user");
}
END_TEST

void add_negotiation_tests(Suite *s)
{
    TCase *tc = tcase_create("negotiation");
    tcase_add_test(tc, test_default_policy_accepts_storage);
    tcase_add_test(tc, test_policy_narrows_and_orders);
    tcase_add_test(tc, test_all_contexts_rejected_still_accepts);
    tcase_add_test(tc, test_rejections);
    tcase_add_test(tc, test_user_identity_roles_async);
    tcase_add_test(tc, test_policy_errors);
    tcase_add_test(tc, test_cidr);
    tcase_add_test(tc, test_reject_text);
    suite_add_tcase(s, tc);
}
