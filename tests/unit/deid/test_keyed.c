/* Keyed UIDs, date shifts and pseudonyms.
 *
 * The expected values were computed independently of the plugin with
 * Python's hmac module, with the test secret S below:
 *
 *   python3 -c '
 *   import hmac, hashlib
 *   S = b"ferry-deid-test-secret-0123456789abcdef"
 *   h = lambda label, v, k=S: hmac.new(k, label.encode() + b"\0" + v.encode(),
 *                                      hashlib.sha256).digest()
 *   def uid(u, k=S):
 *       d = bytearray(h("uid", u, k)[:16]); d[6] = d[6] & 0x0f | 0x80; d[8] = d[8] & 0x3f | 0x80
 *       return "2.25." + str(int.from_bytes(d, "big"))
 *   print(uid("1.2.3.4"), uid("9"), uid("1.2.3.4", b"another-secret-another-secret-xx"))
 *   print(-(1 + int.from_bytes(h("date", "id:12345")[:8], "big") % 3652))
 *   d = h("patient", "id:12345"); print(d.hex().upper()[:12],
 *                                       int.from_bytes(d[16:], "big") % 10**10)
 *   print("D" + h("token", "CT_STATION_01").hex().upper()[:15])'
 */
#include "test_deid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_uid(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 64 || u[0] == '.' || u[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (u[i] == '.') {
            if (u[i + 1] == '.')
                return false;
            continue;
        }
        if (u[i] < '0' || u[i] > '9')
            return false;
        bool first = i == 0 || u[i - 1] == '.';
        if (first && u[i] == '0' && i + 1 < n && u[i + 1] != '.')
            return false;   /* leading zero */
    }
    return true;
}

START_TEST(test_uid_vectors)
{
    struct deid_secret *s = test_secret();
    char out[DEID_UID_MAX + 1];
    ck_assert_int_eq(deid_uid_map(s, "1.2.3.4", 7, out), 44);
    ck_assert_str_eq(out, "2.25.194639091074520648945902360103484889793");
    deid_uid_map(s, "1.3.12.2.1107.5.2.43.67060.2018121813193538934142630", 52, out);
    ck_assert_str_eq(out, "2.25.282280506506105808661296711987636900631");
    deid_uid_map(s, "9", 1, out);
    ck_assert_str_eq(out, "2.25.154736659553902685741221346708642471352");
    /* padding (a NUL or a space) is not part of the UID */
    deid_uid_map(s, "1.2.3.4\0", 8, out);
    ck_assert_str_eq(out, "2.25.194639091074520648945902360103484889793");
    deid_uid_map(s, " 1.2.3.4 ", 9, out);
    ck_assert_str_eq(out, "2.25.194639091074520648945902360103484889793");
    deid_secret_free(s);

    static const char other[] = "another-secret-another-secret-xx";
    s = deid_secret_from_bytes(other, strlen(other));
    deid_uid_map(s, "1.2.3.4", 7, out);
    ck_assert_str_eq(out, "2.25.77393235274141024744988797116832651778");
    deid_secret_free(s);
}
END_TEST

START_TEST(test_uid_form)
{
    struct deid_secret *s = test_secret();
    char in[80], out[DEID_UID_MAX + 1], again[DEID_UID_MAX + 1];
    unsigned seed = 7;
    for (int i = 0; i < 2000; i++) {
        seed = seed * 1103515245u + 12345u;
        int n = snprintf(in, sizeof in, "1.2.826.0.1.3680043.%u.%d.%u", seed % 100000, i,
                         seed >> 8);
        int len = deid_uid_map(s, in, (size_t)n, out);
        ck_assert_int_gt(len, 5);
        ck_assert_int_le(len, 64);
        ck_assert_uint_eq(strlen(out), (size_t)len);
        ck_assert_msg(strncmp(out, "2.25.", 5) == 0 && valid_uid(out), "%s", out);
        ck_assert_int_eq(deid_uid_map(s, in, (size_t)n, again), len);   /* deterministic */
        ck_assert_str_eq(out, again);
    }
    /* standard UIDs and empty values are kept */
    ck_assert_int_eq(deid_uid_map(s, "1.2.840.10008.5.1.4.1.1.2", 25, out), 25);
    ck_assert_str_eq(out, "1.2.840.10008.5.1.4.1.1.2");
    ck_assert_int_eq(deid_uid_map(s, "1.2.840.10008.1.2.4.80\0", 23, out), 22);
    ck_assert_int_eq(deid_uid_map(s, "", 0, out), 0);
    ck_assert_str_eq(out, "");
    /* the root itself, or a look-alike, is not a standard UID */
    deid_uid_map(s, "1.2.840.100081", 14, out);
    ck_assert_str_ne(out, "1.2.840.100081");
    deid_secret_free(s);
}
END_TEST

/* ------------------------------------------------------------------------ */

static const char *da(const char *in, int32_t days)
{
    static char out[32];
    int n = deid_shift_da(in, strlen(in), days, out, sizeof out);
    return n < 0 ? (n == -EINVAL ? "EINVAL" : "error") : out;
}

static const char *dt(const char *in, int32_t days)
{
    static char out[40];
    int n = deid_shift_dt(in, strlen(in), days, out, sizeof out);
    return n < 0 ? (n == -EINVAL ? "EINVAL" : "error") : out;
}

static int64_t day_number(const char *yyyymmdd)
{
    unsigned y, m, d;
    ck_assert_int_eq(sscanf(yyyymmdd, "%4u%2u%2u", &y, &m, &d), 3);
    return deid_days_from_civil(y, m, d);
}

START_TEST(test_calendar)
{
    ck_assert_int_eq(deid_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(deid_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(deid_days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(deid_days_from_civil(1, 1, 1), -719162);
    ck_assert_int_eq(deid_days_from_civil(9999, 12, 31), 2932896);
    /* every 13th day from year 1 to 9999 goes there and back */
    for (int64_t z = -719162; z <= 2932896; z += 13) {
        int64_t y;
        unsigned m, d;
        deid_civil_from_days(z, &y, &m, &d);
        ck_assert_int_eq(deid_days_from_civil(y, m, d), z);
    }
}
END_TEST

START_TEST(test_shift_da)
{
    ck_assert_str_eq(da("20240301", -1), "20240229");    /* leap day */
    ck_assert_str_eq(da("20230301", -1), "20230228");
    ck_assert_str_eq(da("19000301", -1), "19000228");    /* 1900: no leap day */
    ck_assert_str_eq(da("20000301", -1), "20000229");    /* 2000: leap day */
    ck_assert_str_eq(da("20000101", -1), "19991231");    /* year boundary */
    ck_assert_str_eq(da("20240229", 366), "20250301");
    ck_assert_str_eq(da("20240131", 1), "20240201");     /* month boundary */
    ck_assert_str_eq(da("20240115", -3652), "20140115");   /* 3652 days: 10 years, 2 of them leap */
    ck_assert_str_eq(da("2024.03.01", -1), "2024.02.29"); /* retired ACR-NEMA form */
    ck_assert_str_eq(da("20240101 ", -1), "20231231");    /* padding */
    ck_assert_str_eq(da("20230229", -1), "EINVAL");
    ck_assert_str_eq(da("20241301", -1), "EINVAL");
    ck_assert_str_eq(da("2024013", -1), "EINVAL");
    ck_assert_str_eq(da("2024-03-01", -1), "EINVAL");
    ck_assert_str_eq(da("00010101", -1), "EINVAL");     /* before year 1 */
    ck_assert_str_eq(da("99991231", 1), "EINVAL");
    char small[8];
    ck_assert_int_eq(deid_shift_da("20240301", 8, -1, small, sizeof small), -ENOSPC);
}
END_TEST

START_TEST(test_intervals_kept)
{
    static const char *const dates[] = { "20231231", "20240101", "20240228", "20240229",
                                         "20240301", "19991231", "20000229", "21000301",
                                         "19000101", "20241130" };
    static const int32_t shifts[] = { -1, -28, -29, -365, -366, -1461, -3652, 17, 400 };
    for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++)
        for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++)
            for (size_t j = 0; j < sizeof dates / sizeof dates[0]; j++) {
                char a[32], b[32];
                snprintf(a, sizeof a, "%s", da(dates[i], shifts[s]));
                snprintf(b, sizeof b, "%s", da(dates[j], shifts[s]));
                ck_assert_int_eq(day_number(b) - day_number(a),
                                 day_number(dates[j]) - day_number(dates[i]));
                ck_assert_int_eq(day_number(a) - day_number(dates[i]), shifts[s]);
            }
}
END_TEST

START_TEST(test_shift_dt)
{
    ck_assert_str_eq(dt("20240301103000.123456+0800", -1), "20240229103000.123456+0800");
    ck_assert_str_eq(dt("20240301235959-0500", -1), "20240229235959-0500");
    ck_assert_str_eq(dt("20240301", -1), "20240229");
    ck_assert_str_eq(dt("2024030112", -1), "2024022912");
    ck_assert_str_eq(dt("20000101000000", -1), "19991231000000");
    /* year and year-month precision keep their precision */
    ck_assert_str_eq(dt("2024", -200), "2023");          /* from 2024-07-02 */
    ck_assert_str_eq(dt("2024", -100), "2024");
    ck_assert_str_eq(dt("202403", -20), "202402");       /* from 2024-03-15 */
    ck_assert_str_eq(dt("202403+0800", -10), "202403+0800");
    ck_assert_str_eq(dt("2024030", -1), "EINVAL");
    ck_assert_str_eq(dt("20240301.5", -1), "EINVAL");   /* fraction needs seconds */
    ck_assert_str_eq(dt("20240301103000.1234567", -1), "EINVAL");
    ck_assert_str_eq(dt("20240301103000+08", -1), "EINVAL");
    ck_assert_str_eq(dt("20240301103000+1500", -1), "EINVAL");
    ck_assert_str_eq(dt("20240301240000", -1), "EINVAL");
    ck_assert_str_eq(dt("20240230", -1), "EINVAL");
    ck_assert_str_eq(dt("2024x", -1), "EINVAL");
    /* a DA and the date of a DT move alike */
    ck_assert_str_eq(da("20240310", -2175), "20180327");
    ck_assert_str_eq(dt("20240310080000+0800", -2175), "20180327080000+0800");
    /* TM: whole-day shifts keep the time of day */
    char out[32];
    ck_assert_int_eq(deid_shift_tm("103000.5 ", 9, -2175, out, sizeof out), 8);
    ck_assert_str_eq(out, "103000.5");
}
END_TEST

START_TEST(test_shift_days)
{
    struct deid_secret *s = test_secret();
    ck_assert_int_eq(deid_date_shift_days(s, "id:12345"), -2175);
    ck_assert_int_eq(deid_date_shift_days(s, "id:12345\\HOSP"), -325);
    ck_assert_int_eq(deid_date_shift_days(s, "id:67890"), -463);
    char key[64];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "id:P%d", i);
        int32_t d = deid_date_shift_days(s, key);
        ck_assert_int_ge(d, -DEID_SHIFT_MAX_DAYS);
        ck_assert_int_le(d, -1);
    }
    deid_secret_free(s);
}
END_TEST

/* ------------------------------------------------------------------------ */

static const char *key(const char *id, const char *issuer, const char *name, const char *birth,
                       const char *study)
{
    static char out[128];
    int n = deid_patient_key(id, issuer, name, birth, study, out, sizeof out);
    return n < 0 ? "ERROR" : out;
}

START_TEST(test_patient_key)
{
    ck_assert_str_eq(key("12345", "HOSP", "Wang^Xiaoming", "19800101", "1.2.3"), "id:12345\\HOSP");
    ck_assert_str_eq(key(" 12345 ", NULL, "x", NULL, NULL), "id:12345");
    ck_assert_str_eq(key("12345", "  ", NULL, NULL, NULL), "id:12345");
    ck_assert_str_eq(key("", "HOSP", "王^小明", "19800101", "1.2.3"), "name:王^小明\\19800101");
    ck_assert_str_eq(key(NULL, NULL, NULL, "19800101", "1.2.3"), "name:\\19800101");
    ck_assert_str_eq(key("  ", NULL, "", "", "1.2.3"), "study:1.2.3");
    ck_assert_str_eq(key(NULL, NULL, NULL, NULL, NULL), "study:");
    char small[8];
    ck_assert_int_eq(deid_patient_key("1234567890", NULL, NULL, NULL, NULL, small, sizeof small),
                     -ENOSPC);
}
END_TEST

static const char *compile_error(const char *tmpl, const char *site)
{
    static char msg[256];
    struct deid_template t;
    msg[0] = '\0';
    if (deid_template_compile(tmpl, site, &t, msg, sizeof msg) == 0) {
        deid_template_free(&t);
        return "OK";
    }
    ck_assert_ptr_null(t.parts);
    return msg;
}

START_TEST(test_template_errors)
{
    ck_assert_str_eq(compile_error("{site}-{hash:8}", "TOWN01"), "OK");
    ck_assert_str_eq(compile_error("P{num:10}", "X"), "OK");
    ck_assert_str_eq(compile_error("", "X"), "is empty");
    ck_assert_str_eq(compile_error("{site}-{hash:8", "X"), "'{' at column 8 is not closed");
    ck_assert_str_eq(compile_error("{site}}", "X"), "'}' at column 7 has no '{'");
    ck_assert_str_eq(compile_error("{sight}-{hash:8}", "X"),
                     "unknown field {sight} at column 1 (fields: {site}, {hash:N}, {num:N})");
    ck_assert_str_eq(compile_error("A{hash:0}", "X"), "{hash:N} at column 2 needs N from 1 to 64");
    ck_assert_str_eq(compile_error("A{hash:65}", "X"), "{hash:N} at column 2 needs N from 1 to 64");
    ck_assert_str_eq(compile_error("A{hash:x}", "X"), "{hash:N} at column 2 needs N from 1 to 64");
    ck_assert_str_eq(compile_error("{num:39}", "X"), "{num:N} at column 1 needs N from 1 to 38");
    ck_assert_str_eq(compile_error("{site}^{hash:8}", "X"),
                     "character '^' at column 7 is not allowed");
    ck_assert_str_eq(compile_error("{hash:8}\\x", "X"), "character '\\' at column 9 is not allowed");
    ck_assert_str_eq(compile_error("患者{hash:8}", "X"),
                     "byte 0xE6 at column 1 is not allowed (printable ASCII only)");
    ck_assert_str_eq(compile_error("{site}-{hash:4}", "X"),
                     "carries 16 bits of hash ({hash:N} gives 4 per digit, {num:N} 3.3); at least "
                     "32 are needed so that patients do not share a pseudonym");
    ck_assert_str_eq(compile_error("{site}", "X"),
                     "carries 0 bits of hash ({hash:N} gives 4 per digit, {num:N} 3.3); at least "
                     "32 are needed so that patients do not share a pseudonym");
    ck_assert_str_eq(compile_error("{num:9}", "X"),
                     "carries 29 bits of hash ({hash:N} gives 4 per digit, {num:N} 3.3); at least "
                     "32 are needed so that patients do not share a pseudonym");
    ck_assert_str_eq(compile_error("{site}-{hash:64}", "ABCDEFGHIJKLMNOP"),
                     "expands to 81 characters; Patient ID holds at most 64");
}
END_TEST

START_TEST(test_pseudonym)
{
    struct deid_secret *s = test_secret();
    struct deid_template t;
    char msg[128], out[DEID_PSEUDONYM_MAX + 1], again[DEID_PSEUDONYM_MAX + 1];
    ck_assert_int_eq(deid_template_compile("{site}-{hash:12}/{num:10}", "TOWN01", &t, msg,
                                           sizeof msg), 0);
    ck_assert_int_eq(deid_pseudonym(s, &t, "TOWN01", "id:12345", out), 30);
    ck_assert_str_eq(out, "TOWN01-5F935769E0B8/7636529117");
    /* stable for the patient, different for another */
    deid_pseudonym(s, &t, "TOWN01", "id:12345", again);
    ck_assert_str_eq(out, again);
    deid_pseudonym(s, &t, "TOWN01", "id:12346", again);
    ck_assert_str_ne(out, again);
    deid_template_free(&t);
    /* the widest template */
    ck_assert_int_eq(deid_template_compile("{hash:64}", "X", &t, msg, sizeof msg), 0);
    ck_assert_int_eq(deid_pseudonym(s, &t, "X", "id:12345", out), 64);
    ck_assert_int_eq(strncmp(out, "5F935769E0B8", 12), 0);
    deid_template_free(&t);

    ck_assert_int_eq(deid_token(s, "CT_STATION_01", out), 16);
    ck_assert_str_eq(out, "DE793F230BC60AFA");
    deid_secret_free(s);
}
END_TEST

TCase *deid_tcase_uid(void)
{
    TCase *tc = tcase_create("uid");
    tcase_add_test(tc, test_uid_vectors);
    tcase_add_test(tc, test_uid_form);
    return tc;
}

TCase *deid_tcase_dates(void)
{
    TCase *tc = tcase_create("dates");
    tcase_add_test(tc, test_calendar);
    tcase_add_test(tc, test_shift_da);
    tcase_add_test(tc, test_intervals_kept);
    tcase_add_test(tc, test_shift_dt);
    tcase_add_test(tc, test_shift_days);
    return tc;
}

TCase *deid_tcase_pseudonym(void)
{
    TCase *tc = tcase_create("pseudonym");
    tcase_add_test(tc, test_patient_key);
    tcase_add_test(tc, test_template_errors);
    tcase_add_test(tc, test_pseudonym);
    return tc;
}
