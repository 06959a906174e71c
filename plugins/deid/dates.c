/* Modified Dates: one shift per patient, in whole days, derived from the
 * secret and the patient key, so every study of that patient moves by the
 * same amount (intervals kept exactly; a study across midnight stays across
 * midnight). Times of day are not moved. */
#include "deid-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const unsigned short days_before_month[13] = { 0,   31,  59,  90,  120, 151, 181,
                                                      212, 243, 273, 304, 334, 365 };

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    unsigned n = days_before_month[m] - days_before_month[m - 1];
    return m == 2 && leap(y) ? n + 1 : n;
}

/* Days from 0001-01-01 to January 1st of year y (y >= 1). */
static int64_t days_before_year(int64_t y)
{
    int64_t p = y - 1;
    return p * 365 + p / 4 - p / 100 + p / 400;
}

#define EPOCH_1970 719162   /* days_before_year(1970) */

int64_t deid_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t doy = days_before_month[m - 1] + (m > 2 && leap(y) ? 1 : 0) + (int64_t)d - 1;
    return days_before_year(y) + doy - EPOCH_1970;
}

void deid_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t n = z + EPOCH_1970;          /* days since 0001-01-01 */
    if (n < 0) {                         /* before year 1: out of range */
        *y = 0;
        *m = 1;
        *d = 1;
        return;
    }
    int64_t year = n * 400 / 146097 + 1; /* within one of the right year */
    while (year > 1 && days_before_year(year) > n)
        year--;
    while (days_before_year(year + 1) <= n)
        year++;
    int64_t doy = n - days_before_year(year);
    unsigned month = 1;
    while (month < 12 && doy >= days_before_month[month] + (month >= 2 && leap(year) ? 1 : 0))
        month++;
    int64_t first = days_before_month[month - 1] + (month > 2 && leap(year) ? 1 : 0);
    *y = year;
    *m = month;
    *d = (unsigned)(doy - first + 1);
}

int32_t deid_date_shift_days(const struct deid_secret *s, const char *patient_key)
{
    uint8_t h[32];
    if (deid_hmac(s, "date", patient_key, strlen(patient_key), h) < 0)
        return -DEID_SHIFT_MAX_DAYS;   /* never 0: a failed hash must not keep dates */
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | h[i];
    return -(int32_t)(1 + v % DEID_SHIFT_MAX_DAYS);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static size_t unpadded(const char *in, size_t len)
{
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\0'))
        len--;
    return len;
}

/* Shift y-m-d by days; -EINVAL when it leaves years 1..9999. */
static int shift_ymd(int64_t *y, unsigned *m, unsigned *d, int32_t days)
{
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -EINVAL;
    deid_civil_from_days(deid_days_from_civil(*y, *m, *d) + days, y, m, d);
    return *y >= 1 && *y <= 9999 ? 0 : -EINVAL;
}

int deid_shift_da(const char *in, size_t len, int32_t days, char *out, size_t outsize)
{
    len = unpadded(in, len);
    bool dotted = len == 10 && in[4] == '.' && in[7] == '.';
    if (!(len == 8 && digits(in, 8)) &&
        !(dotted && digits(in, 4) && digits(in + 5, 2) && digits(in + 8, 2)))
        return -EINVAL;
    int64_t y = num(in, 4);
    unsigned m = num(in + (dotted ? 5 : 4), 2), d = num(in + (dotted ? 8 : 6), 2);
    if (shift_ymd(&y, &m, &d, days) < 0)
        return -EINVAL;
    int n = snprintf(out, outsize, dotted ? "%04d.%02u.%02u" : "%04d%02u%02u", (int)y, m, d);
    return n >= 0 && (size_t)n < outsize ? n : -ENOSPC;
}

int deid_shift_dt(const char *in, size_t len, int32_t days, char *out, size_t outsize)
{
    len = unpadded(in, len);
    size_t nd = 0;
    while (nd < len && in[nd] >= '0' && in[nd] <= '9')
        nd++;
    if (nd != 4 && nd != 6 && nd != 8 && nd != 10 && nd != 12 && nd != 14)
        return -EINVAL;
    size_t rest = nd;
    if (rest < len && in[rest] == '.') {   /* fraction only after seconds */
        size_t f = rest + 1;
        while (f < len && in[f] >= '0' && in[f] <= '9')
            f++;
        if (nd != 14 || f - rest - 1 < 1 || f - rest - 1 > 6)
            return -EINVAL;
        rest = f;
    }
    if (rest < len) {                      /* &ZZXX */
        if (len - rest != 5 || (in[rest] != '+' && in[rest] != '-') || !digits(in + rest + 1, 4))
            return -EINVAL;
        if (num(in + rest + 1, 2) > 14 || num(in + rest + 3, 2) > 59)
            return -EINVAL;
    }
    if ((nd >= 10 && num(in + 8, 2) > 23) || (nd >= 12 && num(in + 10, 2) > 59) ||
        (nd >= 14 && num(in + 12, 2) > 60))
        return -EINVAL;
    /* A value of year or year-month precision is moved from the middle of
     * its period and keeps its precision. */
    int64_t y = num(in, 4);
    unsigned m = nd >= 6 ? num(in + 4, 2) : 7;
    unsigned d = nd >= 8 ? num(in + 6, 2) : nd == 6 ? 15 : 2;
    if (shift_ymd(&y, &m, &d, days) < 0)
        return -EINVAL;
    char date[9];
    snprintf(date, sizeof date, "%04d%02u%02u", (int)y, m, d);
    size_t keep = nd < 8 ? nd : 8;
    if (keep + (len - keep) + 1 > outsize)
        return -ENOSPC;
    memcpy(out, date, keep);
    memcpy(out + keep, in + keep, len - keep);
    out[len] = '\0';
    return (int)len;
}

int deid_shift_tm(const char *in, size_t len, int32_t days, char *out, size_t outsize)
{
    (void)days;
    len = unpadded(in, len);
    if (len + 1 > outsize)
        return -ENOSPC;
    memcpy(out, in, len);
    out[len] = '\0';
    return (int)len;
}
