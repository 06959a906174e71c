/* Unit tests for src/route: matchers, compile errors, evaluation, explain. */
#include "route/route.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* ---------------------------------------------------------------------------
 * A small dictionary and a fake instance */

static const struct {
    const char *keyword;
    uint32_t tag;
    const char *vr;
} dict_table[] = {
    { "ImageType", 0x00080008, "CS" },
    { "StudyDate", 0x00080020, "DA" },
    { "StudyTime", 0x00080030, "TM" },
    { "AcquisitionDateTime", 0x0008002a, "DT" },
    { "AccessionNumber", 0x00080050, "SH" },
    { "Modality", 0x00080060, "CS" },
    { "InstitutionName", 0x00080080, "LO" },
    { "StationName", 0x00081010, "SH" },
    { "StudyDescription", 0x00081030, "LO" },
    { "ReferencedSeriesSequence", 0x00081115, "SQ" },
    { "PatientName", 0x00100010, "PN" },
    { "PatientID", 0x00100020, "LO" },
    { "PatientAge", 0x00101010, "AS" },
    { "SliceThickness", 0x00180050, "DS" },
    { "SeriesNumber", 0x00200011, "IS" },
    { "Rows", 0x00280010, "US" },
    { "RequestedProcedurePriority", 0x00401003, "SH" },
    { "PixelData", 0x7fe00010, "OW" },
};

static int dict_lookup(void *ud, const char *keyword, uint32_t *tag, char vr[3])
{
    (void)ud;
    for (size_t i = 0; i < sizeof dict_table / sizeof *dict_table; i++) {
        if (strcmp(dict_table[i].keyword, keyword) == 0) {
            *tag = dict_table[i].tag;
            memcpy(vr, dict_table[i].vr, 3);
            return 0;
        }
    }
    return -ENOENT;
}

static const struct route_dict test_dict = { dict_lookup, NULL };

struct fake_elem {
    uint32_t tag;
    const char *value; /* values separated by '\\' */
};

struct fake {
    const struct fake_elem *elems;
    size_t n;
    int calls;
    int fail_tag_errno; /* returned for tag 0x00100020 when set */
};

static int fake_get(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size)
{
    struct fake *f = ud;
    f->calls++;
    if (f->fail_tag_errno && tag == 0x00100020)
        return -f->fail_tag_errno;
    for (size_t i = 0; i < f->n; i++) {
        if (f->elems[i].tag != tag)
            continue;
        const char *v = f->elems[i].value;
        for (uint32_t k = 0; k < index; k++) {
            v = strchr(v, '\\');
            if (!v)
                return -ENOENT;
            v++;
        }
        const char *end = strchr(v, '\\');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        if (size > 0) {
            size_t c = len < size - 1 ? len : size - 1;
            memcpy(buf, v, c);
            buf[c] = '\0';
        }
        return (int)len;
    }
    return -ENOENT;
}

static const struct fake_elem ct_elems[] = {
    { 0x00080008, "ORIGINAL\\PRIMARY\\AXIAL" },
    { 0x00080020, "20240315" },
    { 0x00080030, "143005.25" },
    { 0x0008002a, "20240315143005+0800" },
    { 0x00080050, "" },
    { 0x00080060, "CT" },
    { 0x00080080, "青山镇卫生院" },
    { 0x00081030, "急诊头颅CT平扫" },
    { 0x00081115, "" },
    { 0x00100010, "张^三丰" },
    { 0x00100020, "P000123" },
    { 0x00180050, "2.5 " },
    { 0x00200011, "3" },
    { 0x00280010, "512" },
};

static struct sockaddr_in peer4;
static struct sockaddr_in6 peer6, peer_mapped;

static void setup_addrs(void)
{
    memset(&peer4, 0, sizeof peer4);
    peer4.sin_family = AF_INET;
    inet_pton(AF_INET, "10.1.2.3", &peer4.sin_addr);
    memset(&peer6, 0, sizeof peer6);
    peer6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "fd00:1:2::9", &peer6.sin6_addr);
    memset(&peer_mapped, 0, sizeof peer_mapped);
    peer_mapped.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &peer_mapped.sin6_addr);
}

static struct fake ct_fake;

static struct route_ctx ct_ctx(void)
{
    ct_fake = (struct fake){ ct_elems, sizeof ct_elems / sizeof *ct_elems, 0, 0 };
    return (struct route_ctx){
        .calling_ae = "CT_QINGSHAN ",
        .called_ae = "FERRY",
        .peer = (const struct sockaddr *)&peer4,
        .get = fake_get,
        .ud = &ct_fake,
    };
}

/* Compile one condition into fresh rules and evaluate it against the CT. */
static int eval1_ctx(const char *field, const char *op, const char *const *v, size_t n,
                     const struct route_ctx *ctx)
{
    struct ferry_error *err = NULL;
    struct route_rules *r = route_rules_new(&test_dict);
    ck_assert_ptr_nonnull(r);
    int id = route_rules_cond(r, field, op, v, n, NULL, &err);
    if (id < 0)
        ck_abort_msg("compile %s %s: %s", field, op ? op : "(match)", ferry_error_message(err));
    struct route_target t = { 0, "dest", ROUTE_NO_PIPELINE, NULL, ROUTE_PRIORITY_NORMAL };
    struct route_spec s = { .name = "r", .match = id, .action = ROUTE_FORWARD,
                            .targets = &t, .n_targets = 1 };
    ck_assert_int_eq(route_rules_add(r, &s, &err), 0);
    struct route_result res;
    route_result_init(&res);
    ck_assert_int_eq(route_eval(r, ctx, &res), 0);
    int matched = res.n_actions == 1;
    route_result_release(&res);
    route_rules_free(r);
    return matched;
}

static int eval1(const char *field, const char *op, const char *v1)
{
    struct route_ctx ctx = ct_ctx();
    return eval1_ctx(field, op, &v1, 1, &ctx);
}

/* Compile one condition and return the error text ("" if it compiled). */
static char err_text[512];
static int err_bad;

static const char *compile_err(const char *field, const char *op, const char *const *v,
                               size_t n)
{
    struct ferry_error *err = NULL;
    struct route_rules *r = route_rules_new(&test_dict);
    int id = route_rules_cond(r, field, op, v, n, &err_bad, &err);
    snprintf(err_text, sizeof err_text, "%s", id < 0 ? ferry_error_message(err) : "");
    ferry_error_free(err);
    route_rules_free(r);
    return err_text;
}

static const char *compile_err1(const char *field, const char *op, const char *v)
{
    return compile_err(field, op, &v, 1);
}

/* ---------------------------------------------------------------------------
 * Matchers */

START_TEST(test_wildcard)
{
    ck_assert(route_wildcard_match("CT*", "CT_QINGSHAN"));
    ck_assert(route_wildcard_match("*", ""));
    ck_assert(route_wildcard_match("C?", "CT"));
    ck_assert(!route_wildcard_match("C?", "C"));
    ck_assert(!route_wildcard_match("C?", "CTX"));
    ck_assert(route_wildcard_match("*_ER", "CT_ER"));
    ck_assert(!route_wildcard_match("*_ER", "CT_ER2"));
    ck_assert(route_wildcard_match("a*b*c", "axxbyyc"));
    ck_assert(!route_wildcard_match("a*b*c", "axxbyy"));
    ck_assert(route_wildcard_match("**a", "bba"));
    ck_assert(route_wildcard_match("", ""));
    ck_assert(!route_wildcard_match("", "x"));
    /* '?' is one character, not one byte. */
    ck_assert(route_wildcard_match("张?", "张三"));
    ck_assert(!route_wildcard_match("张??", "张三"));
    ck_assert(route_wildcard_match("张^??", "张^三丰"));
    ck_assert(route_wildcard_match("*三*", "张^三丰"));
    ck_assert(!route_wildcard_match("李*", "张^三丰"));
    ck_assert(route_wildcard_match("*CT平扫", "急诊头颅CT平扫"));
}
END_TEST

START_TEST(test_cidr)
{
    struct route_cidr c;
    struct ferry_error *err = NULL;
    ck_assert_int_eq(route_cidr_parse("10.1.0.0/16", &c, &err), 0);
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer4));
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer_mapped));
    ck_assert(!route_cidr_contains(&c, (struct sockaddr *)&peer6));
    ck_assert(!route_cidr_contains(&c, NULL));
    ck_assert_int_eq(route_cidr_parse("10.1.2.4", &c, &err), 0);
    ck_assert(!route_cidr_contains(&c, (struct sockaddr *)&peer4));
    ck_assert_int_eq(route_cidr_parse("0.0.0.0/0", &c, &err), 0);
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer4));
    ck_assert(!route_cidr_contains(&c, (struct sockaddr *)&peer6));
    ck_assert_int_eq(route_cidr_parse("fd00:1::/32", &c, &err), 0);
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer6));
    ck_assert(!route_cidr_contains(&c, (struct sockaddr *)&peer4));
    ck_assert_int_eq(route_cidr_parse("fd00:1:2::/49", &c, &err), 0);
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer6));
    ck_assert_int_eq(route_cidr_parse("fd00:1:3::/48", &c, &err), 0);
    ck_assert(!route_cidr_contains(&c, (struct sockaddr *)&peer6));
    /* An IPv4 peer against an IPv4-mapped IPv6 block. */
    ck_assert_int_eq(route_cidr_parse("::ffff:10.1.0.0/112", &c, &err), 0);
    ck_assert(route_cidr_contains(&c, (struct sockaddr *)&peer4));
    ck_assert_ptr_null(err);
    char buf[64];
    ck_assert_int_eq(route_cidr_parse("fd00:1::/32", &c, &err), 0);
    route_cidr_format(&c, buf, sizeof buf);
    ck_assert_str_eq(buf, "fd00:1::/32");
    route_addr_format((struct sockaddr *)&peer_mapped, buf, sizeof buf);
    ck_assert_str_eq(buf, "10.1.2.3");
    route_addr_format((struct sockaddr *)&peer6, buf, sizeof buf);
    ck_assert_str_eq(buf, "fd00:1:2::9");

    static const struct {
        const char *in, *msg;
    } bad[] = {
        { "10.0.0.0/33", "'10.0.0.0/33': prefix length must be from 0 to 32" },
        { "fd00::/129", "'fd00::/129': prefix length must be from 0 to 128" },
        { "10.0.0.0/", "'10.0.0.0/': prefix length must be from 0 to 32" },
        { "10.0.0.0/8x", "'10.0.0.0/8x': prefix length must be from 0 to 32" },
        { "300.1.1.1", "'300.1.1.1' is not an IPv4 or IPv6 address" },
        { "ct-room", "'ct-room' is not an IPv4 or IPv6 address" },
        { "/8", "'/8' is not an IPv4 or IPv6 address" },
        { "10.0.0.1/8", "'10.0.0.1/8' has bits set after the prefix (the block is 10.0.0.0/8)" },
        { "fd00:1::1/64",
          "'fd00:1::1/64' has bits set after the prefix (the block is fd00:1::/64)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(route_cidr_parse(bad[i].in, &c, &err), -EINVAL);
        ck_assert_str_eq(ferry_error_message(err), bad[i].msg);
        ferry_error_free(err);
        err = NULL;
    }
}
END_TEST

START_TEST(test_exact_and_wildcard)
{
    ck_assert(eval1("Modality", NULL, "CT"));
    ck_assert(!eval1("Modality", NULL, "MR"));
    ck_assert(!eval1("Modality", NULL, "C"));
    ck_assert(eval1("Modality", NULL, "C?"));
    ck_assert(eval1("Modality", "equals", "CT"));
    ck_assert(!eval1("Modality", "equals", "C?"));
    ck_assert(eval1("Modality", "wildcard", "*"));
    /* Trailing spaces of values do not count. */
    ck_assert(eval1("SliceThickness", "equals", "2.5"));
    /* Any of several values; any value of a multi-valued attribute. */
    const char *mods[] = { "MR", "CT" };
    struct route_ctx ctx = ct_ctx();
    ck_assert(eval1_ctx("Modality", NULL, mods, 2, &ctx));
    ck_assert(eval1("ImageType", NULL, "AXIAL"));
    ck_assert(!eval1("ImageType", NULL, "LOCALIZER"));
    /* Absent attributes never match a value. */
    ck_assert(!eval1("StationName", NULL, "*"));
    /* AE titles: spaces around them do not count, case does. */
    ck_assert(eval1("calling_ae", NULL, "CT_QINGSHAN"));
    ck_assert(eval1("calling_ae", NULL, " CT_QINGSHAN "));
    ck_assert(eval1("calling_ae", NULL, "CT_*"));
    ck_assert(!eval1("calling_ae", NULL, "ct_qingshan"));
    ck_assert(eval1("called_ae", "equals", "FERRY"));
    ck_assert(!eval1("called_ae", "wildcard", "ARCH*"));
    ctx.calling_ae = NULL;
    const char *any = "*";
    ck_assert(!eval1_ctx("calling_ae", NULL, &any, 1, &ctx));
}
END_TEST

START_TEST(test_chinese)
{
    ck_assert(eval1("PatientName", NULL, "张^三丰"));
    ck_assert(eval1("PatientName", NULL, "张*"));
    ck_assert(eval1("PatientName", NULL, "张^??"));
    ck_assert(!eval1("PatientName", NULL, "张^?"));
    ck_assert(!eval1("PatientName", NULL, "李*"));
    ck_assert(eval1("StudyDescription", "regex", "^急诊"));
    ck_assert(eval1("StudyDescription", "regex", "头颅|胸部"));
    ck_assert(!eval1("StudyDescription", "regex", "^头颅"));
    ck_assert(eval1("InstitutionName", "wildcard", "*镇卫生院"));
    ck_assert(!eval1("InstitutionName", "equals", "青山镇"));
}
END_TEST

START_TEST(test_regex)
{
    ck_assert(eval1("StudyDescription", "regex", "CT"));
    ck_assert(eval1("StudyDescription", "regex", "C[TR]平扫$"));
    ck_assert(!eval1("StudyDescription", "regex", "^CT"));
    ck_assert(eval1("calling_ae", "regex", "^CT_(QING|HONG)SHAN$"));
    ck_assert(!eval1("calling_ae", "regex", "^US_"));
    ck_assert_str_eq(compile_err1("StudyDescription", "regex", "(急诊"),
                     "invalid regular expression '(急诊': Unmatched ( or \\(");
    const char *two[] = { "ok", "a{2,1}" };
    ck_assert_str_eq(compile_err("StudyDescription", "regex", two, 2),
                     "invalid regular expression 'a{2,1}': Invalid content of \\{\\}");
    ck_assert_int_eq(err_bad, 1);
}
END_TEST

START_TEST(test_dates)
{
    ck_assert(eval1("StudyDate", "range", "20240101-20241231"));
    ck_assert(eval1("StudyDate", "range", "20240315-20240315"));
    ck_assert(eval1("StudyDate", "range", "20240315"));
    ck_assert(eval1("StudyDate", "range", "2024"));
    ck_assert(eval1("StudyDate", "range", "202403"));
    ck_assert(!eval1("StudyDate", "range", "202404"));
    ck_assert(eval1("StudyDate", "range", "20240101-"));
    ck_assert(!eval1("StudyDate", "range", "20240316-"));
    ck_assert(eval1("StudyDate", "range", "-20240315"));
    ck_assert(!eval1("StudyDate", "range", "-20240314"));
    ck_assert(eval1("StudyDate", "from", "20240315"));
    ck_assert(!eval1("StudyDate", "from", "20240316"));
    ck_assert(eval1("StudyDate", "to", "2024"));
    ck_assert(!eval1("StudyDate", "to", "2023"));
    const char *b[] = { "20240301", "20240331" };
    struct route_ctx ctx = ct_ctx();
    ck_assert(eval1_ctx("StudyDate", "between", b, 2, &ctx));
    /* Times: partial bounds cover their whole span. */
    ck_assert(eval1("StudyTime", "range", "14-15"));
    ck_assert(eval1("StudyTime", "range", "1430-1430"));
    ck_assert(eval1("StudyTime", "range", "143005.25-143005.25"));
    ck_assert(!eval1("StudyTime", "range", "143005.26-"));
    ck_assert(!eval1("StudyTime", "range", "08-12"));
    ck_assert(eval1("StudyTime", "to", "14:30:05.3"));
    /* Date-times. */
    ck_assert(eval1("AcquisitionDateTime", "range", "20240315-20240315"));
    ck_assert(eval1("AcquisitionDateTime", "from", "202403151430"));
    ck_assert(!eval1("AcquisitionDateTime", "from", "202403151431"));
    ck_assert(eval1("AcquisitionDateTime", "to", "20240315143005+0800"));
    /* Errors. */
    ck_assert_str_eq(compile_err1("StudyDate", "range", "20241301-"),
                     "'20241301' is not a date (YYYYMMDD)");
    ck_assert_str_eq(compile_err1("StudyDate", "range", "2024-01-01"),
                     "range '2024-01-01' has more than one '-' (dates are written YYYYMMDD)");
    ck_assert_str_eq(compile_err1("StudyDate", "from", "2024-03"),
                     "'2024-03' is not a date (YYYYMMDD)");
    ck_assert_str_eq(compile_err1("StudyDate", "range", "20241231-20240101"),
                     "range '20241231-20240101' ends before it starts");
    ck_assert_str_eq(compile_err1("StudyDate", "range", "-"), "range '-' has no bounds");
    ck_assert_str_eq(compile_err1("StudyTime", "range", "2500-"),
                     "'2500' is not a time (HHMMSS.FFFFFF)");
    ck_assert_str_eq(compile_err1("AcquisitionDateTime", "range",
                                  "20240101-0500-20240102-0500"),
                     "range '20240101-0500-20240102-0500' has more than one '-' (use from and "
                     "to for date-times with a UTC offset)");
    ck_assert_str_eq(compile_err1("AcquisitionDateTime", "to", "2024031514300"),
                     "'2024031514300' is not a date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)");
    const char *rev[] = { "20240331", "20240301" };
    ck_assert_str_eq(compile_err("StudyDate", "between", rev, 2),
                     "between: 20240331 is after 20240301");
    ck_assert_str_eq(compile_err1("PatientName", "range", "2024-"),
                     "'range' needs a date or time attribute (DA, TM or DT); PatientName is PN");
}
END_TEST

START_TEST(test_dates_bad_values)
{
    /* A malformed date in the instance never matches a range. */
    static const struct fake_elem bad[] = { { 0x00080020, "2024-03-15" } };
    struct fake f = { bad, 1, 0, 0 };
    struct route_ctx ctx = { .get = fake_get, .ud = &f };
    const char *v = "2024";
    ck_assert(!eval1_ctx("StudyDate", "range", &v, 1, &ctx));
    /* The ACR-NEMA form is understood. */
    static const struct fake_elem old[] = { { 0x00080020, "2024.03.15" } };
    struct fake g = { old, 1, 0, 0 };
    ctx.ud = &g;
    ck_assert(eval1_ctx("StudyDate", "range", &v, 1, &ctx));
}
END_TEST

START_TEST(test_numbers)
{
    ck_assert(eval1("SliceThickness", "<", "3"));
    ck_assert(!eval1("SliceThickness", "<", "2.5"));
    ck_assert(eval1("SliceThickness", "<=", "2.5"));
    ck_assert(eval1("SliceThickness", ">", "2.4999"));
    ck_assert(!eval1("SliceThickness", "gt", "2.5"));
    ck_assert(eval1("SliceThickness", "ge", "2.5"));
    ck_assert(eval1("SliceThickness", "==", "2.50"));
    ck_assert(!eval1("SliceThickness", "eq", "2"));
    ck_assert(eval1("Rows", ">=", "512"));
    ck_assert(!eval1("Rows", "lt", "512"));
    ck_assert(eval1("SeriesNumber", "le", "3e0"));
    const char *b[] = { "1", "3" };
    const char *b2[] = { "2.6", "3" };
    struct route_ctx ctx = ct_ctx();
    ck_assert(eval1_ctx("SliceThickness", "between", b, 2, &ctx));
    ck_assert(!eval1_ctx("SliceThickness", "between", b2, 2, &ctx));
    ck_assert_str_eq(compile_err1("SliceThickness", "<", "thin"), "'thin' is not a number");
    ck_assert_str_eq(compile_err1("SliceThickness", "<", "nan"), "'nan' is not a number");
    ck_assert_str_eq(compile_err1("Modality", ">=", "3"),
                     "'>=' needs a numeric attribute (IS, DS, US, UL, SS, SL, FL, FD, SV or "
                     "UV); Modality is CS");
    const char *rev[] = { "3", "1" };
    ck_assert_str_eq(compile_err("SliceThickness", "between", rev, 2),
                     "between: 3 is greater than 1");
    ck_assert_str_eq(compile_err1("SliceThickness", "between", "3"),
                     "between takes two values, low and high");
    ck_assert_str_eq(compile_err("SliceThickness", "<", b, 2),
                     "'<' takes one value, not a list");
}
END_TEST

START_TEST(test_present)
{
    ck_assert(eval1("PatientID", "present", "true"));
    ck_assert(!eval1("PatientID", "present", "false"));
    /* Present but empty counts as absent. */
    ck_assert(!eval1("AccessionNumber", "present", "true"));
    ck_assert(eval1("AccessionNumber", "present", "false"));
    ck_assert(!eval1("StationName", "present", "true"));
    ck_assert(eval1("StationName", "present", "false"));
    /* Sequences and bulk data: present is all that can be asked. */
    ck_assert(eval1("ReferencedSeriesSequence", "present", "true"));
    ck_assert(!eval1("PixelData", "present", "true"));
    ck_assert_str_eq(compile_err1("PatientID", "present", "yes"),
                     "present takes true or false, not 'yes'");
    ck_assert_str_eq(compile_err1("ReferencedSeriesSequence", NULL, "x"),
                     "ReferencedSeriesSequence is SQ: its value cannot be compared, only "
                     "'present' works");
    ck_assert_str_eq(compile_err1("PixelData", "equals", "x"),
                     "PixelData is OW: its value cannot be compared, only 'present' works");
    /* A value that cannot be read counts as absent. */
    struct route_ctx ctx = ct_ctx();
    ct_fake.fail_tag_errno = EINVAL;
    const char *t = "true";
    ck_assert(!eval1_ctx("PatientID", "present", &t, 1, &ctx));
}
END_TEST

START_TEST(test_peer)
{
    struct route_ctx ctx = ct_ctx();
    const char *v4[] = { "192.168.0.0/16", "10.1.0.0/16" };
    const char *v6[] = { "fd00:1::/32" };
    const char *one[] = { "10.1.2.3" };
    ck_assert(eval1_ctx("peer", NULL, v4, 2, &ctx));
    ck_assert(eval1_ctx("peer", "in", one, 1, &ctx));
    ck_assert(!eval1_ctx("peer", NULL, v6, 1, &ctx));
    ctx.peer = (const struct sockaddr *)&peer6;
    ck_assert(eval1_ctx("peer", NULL, v6, 1, &ctx));
    ck_assert(!eval1_ctx("peer", NULL, v4, 2, &ctx));
    ctx.peer = (const struct sockaddr *)&peer_mapped;
    ck_assert(eval1_ctx("peer", NULL, v4, 2, &ctx));
    ctx.peer = NULL;
    ck_assert(!eval1_ctx("peer", NULL, v4, 2, &ctx));
    const char *bad[] = { "10.0.0.0/8", "fd00::/200" };
    ck_assert_str_eq(compile_err("peer", NULL, bad, 2),
                     "'fd00::/200': prefix length must be from 0 to 128");
    ck_assert_int_eq(err_bad, 1);
    ck_assert_str_eq(compile_err1("peer", "regex", "10\\..*"),
                     "peer takes address blocks ('in'), not 'regex'");
}
END_TEST

START_TEST(test_compile_errors)
{
    ck_assert_str_eq(compile_err1("Modalty", NULL, "CT"), "unknown attribute keyword 'Modalty'");
    ck_assert_str_eq(compile_err1("Modality", "like", "CT"),
                     "unknown operator 'like' (expected equals, wildcard, regex, range, from, "
                     "to, <, <=, >, >=, ==, between or present)");
    ck_assert_str_eq(compile_err1("calling_ae", "range", "A-B"),
                     "calling_ae takes equals, wildcard or regex, not 'range'");
    ck_assert_str_eq(compile_err1("Modality", "in", "10.0.0.0/8"),
                     "'in' is for peer address blocks, not Modality");
    ck_assert_str_eq(compile_err("Modality", NULL, NULL, 0), "Modality needs a value");
    ck_assert_str_eq(compile_err1("PatientName", "between", "A"),
                     "'between' needs a numeric, date or time attribute; PatientName is PN");
    const char *two[] = { "20240101", "20240102" };
    ck_assert_str_eq(compile_err("StudyDate", "from", two, 2), "'from' takes one value, not a list");
    /* Without a dictionary, attribute conditions are refused. */
    struct ferry_error *err = NULL;
    struct route_rules *r = route_rules_new(NULL);
    const char *ct = "CT";
    ck_assert_int_eq(route_rules_cond(r, "Modality", NULL, &ct, 1, NULL, &err), -ENOTSUP);
    ck_assert_str_eq(ferry_error_message(err),
                     "attribute 'Modality': no data dictionary to look keywords up in");
    ferry_error_free(err);
    err = NULL;
    ck_assert_int_ge(route_rules_cond(r, "calling_ae", NULL, &ct, 1, NULL, &err), 0);
    route_rules_free(r);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Groups and routes */

static int cond(struct route_rules *r, const char *field, const char *op, const char *v)
{
    struct ferry_error *err = NULL;
    int id = route_rules_cond(r, field, op, &v, 1, NULL, &err);
    if (id < 0)
        ck_abort_msg("%s", ferry_error_message(err));
    return id;
}

static int group(struct route_rules *r, enum route_group kind, int a, int b)
{
    struct ferry_error *err = NULL;
    int kids[2] = { a, b };
    int id = route_rules_group(r, kind, kids, kind == ROUTE_NOT ? 1 : 2, &err);
    if (id < 0)
        ck_abort_msg("%s", ferry_error_message(err));
    return id;
}

static bool holds(struct route_rules *r, int id)
{
    struct route_target t = { 0, "d", ROUTE_NO_PIPELINE, NULL, ROUTE_PRIORITY_NORMAL };
    char name[32];
    snprintf(name, sizeof name, "r%zu", route_rules_count(r));
    struct route_spec s = { .name = name, .match = id, .action = ROUTE_FORWARD,
                            .targets = &t, .n_targets = 1, .cont = true };
    ck_assert_int_eq(route_rules_add(r, &s, NULL), 0);
    /* Evaluate only the route just added by looking at its action. */
    struct route_ctx ctx = ct_ctx();
    struct route_result res;
    route_result_init(&res);
    ck_assert_int_eq(route_eval(r, &ctx, &res), 0);
    bool found = false;
    for (size_t i = 0; i < res.n_actions; i++)
        found |= res.actions[i].route == route_rules_count(r) - 1;
    route_result_release(&res);
    return found;
}

START_TEST(test_groups)
{
    struct route_rules *r = route_rules_new(&test_dict);
    int ct = cond(r, "Modality", NULL, "CT");
    int mr = cond(r, "Modality", NULL, "MR");
    ck_assert(holds(r, group(r, ROUTE_ANY, ct, mr)));
    ck_assert(!holds(r, group(r, ROUTE_ALL, cond(r, "Modality", NULL, "CT"),
                              cond(r, "Modality", NULL, "MR"))));
    ck_assert(holds(r, group(r, ROUTE_NOT, cond(r, "Modality", NULL, "MR"), 0)));
    /* not(all(CT, not(any(peer in 192.168/16, StudyDate in 2023)))) */
    int deep = group(r, ROUTE_NOT,
                     group(r, ROUTE_ALL, cond(r, "Modality", NULL, "CT"),
                           group(r, ROUTE_NOT,
                                 group(r, ROUTE_ANY, cond(r, "peer", NULL, "192.168.0.0/16"),
                                       cond(r, "StudyDate", "range", "2023")),
                                 0)),
                     0);
    ck_assert(!holds(r, deep));
    /* An empty all holds, an empty any does not. */
    ck_assert(holds(r, route_rules_group(r, ROUTE_ALL, NULL, 0, NULL)));
    ck_assert(!holds(r, route_rules_group(r, ROUTE_ANY, NULL, 0, NULL)));

    /* Errors: reuse, not with two, depth. */
    struct ferry_error *err = NULL;
    int a = cond(r, "Modality", NULL, "CT");
    int kids[2] = { a, a };
    ck_assert_int_eq(route_rules_group(r, ROUTE_ANY, kids, 2, &err), -EINVAL);
    char want[64];
    snprintf(want, sizeof want, "condition %d is used twice", a);
    ck_assert_str_eq(ferry_error_message(err), want);
    ferry_error_free(err);
    err = NULL;
    kids[1] = cond(r, "Modality", NULL, "MR");
    ck_assert_int_eq(route_rules_group(r, ROUTE_NOT, kids, 2, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "not takes exactly one condition");
    ferry_error_free(err);
    err = NULL;
    int id = a;
    for (int d = 2; d <= ROUTE_MAX_DEPTH; d++)
        id = group(r, ROUTE_NOT, id, 0);
    ck_assert_int_eq(route_rules_group(r, ROUTE_NOT, &id, 1, &err), -E2BIG);
    ck_assert_str_eq(ferry_error_message(err), "conditions nested deeper than 32 levels");
    ferry_error_free(err);
    ck_assert(!holds(r, id)); /* 31 nots around CT (32 levels): odd, so not CT */
    route_rules_free(r);
}
END_TEST

/* A consortium-like rule set used by the routes, explain and bench tests. */
static struct route_rules *sample_rules(void)
{
    struct route_rules *r = route_rules_new(&test_dict);
    struct ferry_error *err = NULL;
    const char *er[] = { "*_ER", "*_JZ" };
    const char *stat[] = { "STAT", "HIGH" };
    int e1 = route_rules_cond(r, "calling_ae", NULL, er, 2, NULL, &err);
    int e2 = route_rules_cond(r, "RequestedProcedurePriority", NULL, stat, 2, NULL, &err);
    int e3 = cond(r, "StudyDescription", "regex", "急诊|EMERG");
    int k1[] = { e1, e2, e3 };
    int emerg = route_rules_group(r, ROUTE_ANY, k1, 3, &err);
    struct route_target center = { 0, "reading-center", 0, "lossless", ROUTE_PRIORITY_URGENT };
    struct route_spec s1 = { .name = "emergency", .match = emerg, .action = ROUTE_FORWARD,
                             .targets = &center, .n_targets = 1, .cont = true };
    ck_assert_int_eq(route_rules_add(r, &s1, &err), 0);

    int sr = cond(r, "Modality", NULL, "SR");
    struct route_spec s2 = { .name = "no-sr", .match = sr, .action = ROUTE_DISCARD };
    ck_assert_int_eq(route_rules_add(r, &s2, &err), 0);

    int t1 = cond(r, "peer", NULL, "10.1.0.0/16");
    int t2 = cond(r, "Modality", NULL, "CT");
    int k2[] = { t1, t2 };
    int town = route_rules_group(r, ROUTE_ALL, k2, 2, &err);
    struct route_target two[] = {
        { 0, "reading-center", 0, "lossless", ROUTE_PRIORITY_NORMAL },
        { 1, "research", 1, "research-deid", ROUTE_PRIORITY_LOW },
    };
    struct route_spec s3 = { .name = "township-ct", .match = town, .action = ROUTE_FORWARD,
                             .targets = two, .n_targets = 2,
                             .trigger = ROUTE_TRIGGER_STUDY_STABLE, .stable_ms = 30000 };
    ck_assert_int_eq(route_rules_add(r, &s3, &err), 0);

    struct route_spec s4 = { .name = "everything-else", .match = -1,
                             .action = ROUTE_QUARANTINE };
    ck_assert_int_eq(route_rules_add(r, &s4, &err), 0);
    ck_assert_ptr_null(err);
    return r;
}

START_TEST(test_routes)
{
    struct route_rules *r = sample_rules();
    ck_assert_uint_eq(route_rules_count(r), 4);
    ck_assert_str_eq(route_rules_name(r, 2), "township-ct");
    ck_assert_ptr_null(route_rules_name(r, 4));
    struct route_result res;
    route_result_init(&res);
    struct route_ctx ctx = ct_ctx();
    /* Emergency (by description) continues; township-ct stops. */
    ck_assert_int_eq(route_eval(r, &ctx, &res), 0);
    ck_assert_uint_eq(res.matched, 2);
    ck_assert_uint_eq(res.n_actions, 3);
    ck_assert_str_eq(res.actions[0].route_name, "emergency");
    ck_assert_int_eq(res.actions[0].priority, ROUTE_PRIORITY_URGENT);
    ck_assert_int_eq(res.actions[0].trigger, ROUTE_TRIGGER_INSTANCE);
    ck_assert_str_eq(res.actions[1].destination_name, "reading-center");
    ck_assert_uint_eq(res.actions[2].destination, 1);
    ck_assert_uint_eq(res.actions[2].pipeline, 1);
    ck_assert_str_eq(res.actions[2].pipeline_name, "research-deid");
    ck_assert_int_eq(res.actions[2].trigger, ROUTE_TRIGGER_STUDY_STABLE);
    ck_assert_uint_eq(res.actions[2].stable_ms, 30000);
    /* From elsewhere, an MR: quarantined by the catch-all. */
    static const struct fake_elem mr[] = { { 0x00080060, "MR" } };
    struct fake f = { mr, 1, 0, 0 };
    struct route_ctx ctx2 = { .calling_ae = "MR1", .get = fake_get, .ud = &f };
    ck_assert_int_eq(route_eval(r, &ctx2, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_QUARANTINE);
    ck_assert_str_eq(res.actions[0].route_name, "everything-else");
    /* An SR: discarded, and nothing after it runs. */
    static const struct fake_elem sr[] = { { 0x00080060, "SR" } };
    f.elems = sr;
    ck_assert_int_eq(route_eval(r, &ctx2, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_DISCARD);
    route_result_release(&res);

    /* Errors adding routes. */
    struct ferry_error *err = NULL;
    struct route_spec dup = { .name = "no-sr", .match = -1, .action = ROUTE_DISCARD };
    ck_assert_int_eq(route_rules_add(r, &dup, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "a route named 'no-sr' exists already");
    ferry_error_free(err);
    err = NULL;
    struct route_spec cont = { .name = "q", .match = -1, .action = ROUTE_QUARANTINE, .cont = true };
    ck_assert_int_eq(route_rules_add(r, &cont, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err),
                     "route 'q': continue cannot follow quarantine (it ends the evaluation)");
    ferry_error_free(err);
    err = NULL;
    struct route_spec none = { .name = "f", .match = -1, .action = ROUTE_FORWARD };
    ck_assert_int_eq(route_rules_add(r, &none, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "route 'f' forwards to no destination");
    ferry_error_free(err);
    err = NULL;
    struct route_target hi = { 0, "d", ROUTE_NO_PIPELINE, NULL, 101 };
    struct route_spec pr = { .name = "p", .match = -1, .action = ROUTE_FORWARD,
                             .targets = &hi, .n_targets = 1 };
    ck_assert_int_eq(route_rules_add(r, &pr, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "priority 101 is out of range (0 to 100)");
    ferry_error_free(err);
    err = NULL;
    struct route_spec used = { .name = "u", .match = 0, .action = ROUTE_DISCARD };
    ck_assert_int_eq(route_rules_add(r, &used, &err), -EINVAL);
    ck_assert_str_eq(ferry_error_message(err), "condition 0 is used twice");
    ferry_error_free(err);
    route_rules_free(r);
    ck_assert_int_eq(route_priority_from_name("high"), ROUTE_PRIORITY_HIGH);
    ck_assert_int_eq(route_priority_from_name("HIGH"), -1);
}
END_TEST

static char *explain_text(struct route_rules *r, const struct route_ctx *ctx)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct route_result res;
    route_result_init(&res);
    ck_assert_int_eq(route_explain(r, ctx, &res, out), 0);
    fclose(out);
    route_result_release(&res);
    return buf;
}

START_TEST(test_explain)
{
    struct route_rules *r = sample_rules();
    struct route_ctx ctx = ct_ctx();
    char *text = explain_text(r, &ctx);
    ck_assert_str_eq(
        text,
        "route 1 'emergency': match\n"
        "  any of: true\n"
        "    calling_ae matches \"*_ER\" or \"*_JZ\": false (calling_ae = \"CT_QINGSHAN\")\n"
        "    RequestedProcedurePriority matches \"STAT\" or \"HIGH\": false "
        "(RequestedProcedurePriority is absent)\n"
        "    StudyDescription matches regex \"急诊|EMERG\": true "
        "(StudyDescription = \"急诊头颅CT平扫\")\n"
        "  -> forward to 'reading-center', pipeline 'lossless', priority 100 (urgent), on "
        "arrival\n"
        "  continue with the next route\n"
        "route 2 'no-sr': no match\n"
        "  Modality matches \"SR\": false (Modality = \"CT\")\n"
        "route 3 'township-ct': match\n"
        "  all of: true\n"
        "    peer in 10.1.0.0/16: true (peer = 10.1.2.3)\n"
        "    Modality matches \"CT\": true (Modality = \"CT\")\n"
        "  -> forward to 'reading-center', pipeline 'lossless', priority 50 (normal), once "
        "the study has been stable for 30s\n"
        "  -> forward to 'research', pipeline 'research-deid', priority 25 (low), once the "
        "study has been stable for 30s\n"
        "  stop: later routes are not evaluated\n"
        "route 4 'everything-else': not evaluated (route 3 'township-ct' stopped the "
        "evaluation)\n"
        "result: 3 actions\n"
        "  forward to 'reading-center', pipeline 'lossless', priority 100 (urgent), on "
        "arrival (route 'emergency')\n"
        "  forward to 'reading-center', pipeline 'lossless', priority 50 (normal), once the "
        "study has been stable for 30s (route 'township-ct')\n"
        "  forward to 'research', pipeline 'research-deid', priority 25 (low), once the "
        "study has been stable for 30s (route 'township-ct')\n");
    free(text);

    /* Nothing known: every condition fails, the catch-all quarantines. */
    struct route_ctx empty = { 0 };
    text = explain_text(r, &empty);
    ck_assert_str_eq(
        text,
        "route 1 'emergency': no match\n"
        "  any of: false\n"
        "    calling_ae matches \"*_ER\" or \"*_JZ\": false (calling_ae not given)\n"
        "    RequestedProcedurePriority matches \"STAT\" or \"HIGH\": false "
        "(RequestedProcedurePriority is absent)\n"
        "    StudyDescription matches regex \"急诊|EMERG\": false (StudyDescription is "
        "absent)\n"
        "route 2 'no-sr': no match\n"
        "  Modality matches \"SR\": false (Modality is absent)\n"
        "route 3 'township-ct': no match\n"
        "  all of: false\n"
        "    peer in 10.1.0.0/16: false (peer not given)\n"
        "    Modality matches \"CT\": false (Modality is absent)\n"
        "route 4 'everything-else': match\n"
        "  (no conditions: every instance matches)\n"
        "  -> quarantine, reason: route 'everything-else'\n"
        "  stop: later routes are not evaluated\n"
        "result: 1 action\n"
        "  quarantine, reason: route 'everything-else' (route 'everything-else')\n");
    free(text);
    route_rules_free(r);

    /* Every operator's wording, multi-valued actual values, read errors. */
    r = route_rules_new(&test_dict);
    int k[8];
    const char *b[] = { "1", "3" };
    const char *d[] = { "20240301", "20240331" };
    k[0] = cond(r, "ImageType", "equals", "AXIAL");
    k[1] = cond(r, "StudyDate", "from", "20240101");
    k[2] = cond(r, "StudyTime", "range", "08-18");
    k[3] = route_rules_cond(r, "SliceThickness", "between", b, 2, NULL, NULL);
    k[4] = cond(r, "Rows", ">=", "512");
    k[5] = cond(r, "AccessionNumber", "present", "false");
    k[6] = cond(r, "PatientID", "wildcard", "P*");
    k[7] = route_rules_cond(r, "StudyDate", "between", d, 2, NULL, NULL);
    int all = route_rules_group(r, ROUTE_ALL, k, 8, NULL);
    struct route_spec s = { .name = "ops", .match = all, .action = ROUTE_DISCARD };
    ck_assert_int_eq(route_rules_add(r, &s, NULL), 0);
    ctx = ct_ctx();
    ct_fake.fail_tag_errno = EIO;
    text = explain_text(r, &ctx);
    ck_assert_str_eq(
        text,
        "route 1 'ops': no match\n"
        "  all of: false\n"
        "    ImageType equals \"AXIAL\": true (ImageType = \"ORIGINAL\\PRIMARY\\AXIAL\")\n"
        "    StudyDate from 20240101: true (StudyDate = \"20240315\")\n"
        "    StudyTime in range 08-18: true (StudyTime = \"143005.25\")\n"
        "    SliceThickness between 1 and 3: true (SliceThickness = \"2.5\")\n"
        "    Rows >= 512: true (Rows = \"512\")\n"
        "    AccessionNumber is absent: true (AccessionNumber = \"\")\n"
        "    PatientID matches wildcard \"P*\": false (PatientID could not be read: "
        "Input/output error)\n"
        "    StudyDate between 20240301 and 20240331: true (StudyDate = \"20240315\")\n"
        "result: no route matched; the instance is only stored\n");
    free(text);
    route_rules_free(r);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Cost of an evaluation (a measurement, printed, not asserted) */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

START_TEST(test_bench)
{
    struct route_rules *r = sample_rules();
    struct route_result res;
    route_result_init(&res);
    struct route_ctx ctx = ct_ctx();
    ctx.calling_ae = "US_HONGSHAN";
    static const struct fake_elem us[] = { { 0x00080060, "US" },
                                           { 0x00081030, "腹部超声 routine" } };
    struct fake f = { us, 2, 0, 0 };
    ctx.ud = &f;
    const int n = 200000;
    /* Warm up: the result's buffers grow once. */
    ck_assert_int_eq(route_eval(r, &ctx, &res), 0);
    void *actions = res.actions, *scratch = res.scratch;
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
        route_eval(r, &ctx, &res);
    double t1 = now_ns();
    /* The buffers did not move: no allocation in the loop. */
    ck_assert_ptr_eq(res.actions, actions);
    ck_assert_ptr_eq(res.scratch, scratch);
    ck_assert_uint_eq(res.n_actions, 1); /* quarantined by the catch-all */
    printf("route bench: 4 routes, 7 conditions incl. one regex, no route but the catch-all "
           "matching: %.0f ns per evaluation (%d evaluations, %.1f attribute reads each)\n",
           (t1 - t0) / n, n, (double)f.calls / (n + 1));
    route_result_release(&res);
    route_rules_free(r);
}
END_TEST

int main(void)
{
    setup_addrs();
    Suite *s = suite_create("route");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        { "wildcard", test_wildcard },
        { "cidr", test_cidr },
        { "exact", test_exact_and_wildcard },
        { "chinese", test_chinese },
        { "regex", test_regex },
        { "dates", test_dates },
        { "dates_bad_values", test_dates_bad_values },
        { "numbers", test_numbers },
        { "present", test_present },
        { "peer", test_peer },
        { "compile_errors", test_compile_errors },
        { "groups", test_groups },
        { "routes", test_routes },
        { "explain", test_explain },
        { "bench", test_bench },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
