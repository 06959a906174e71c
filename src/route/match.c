/* ferry — routing rules: the comparisons (wildcards, address blocks, dates
 * and times, numbers) and small helpers they share. */
#include "route/route-private.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int route_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4;
    while (n < need)
        n *= 2;
    void *p = reallocarray(*buf, n, elem);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Wildcards */

/* The start of the code point after the one at s (s points at a non-NUL). */
static const char *next_cp(const char *s)
{
    s++;
    while ((*s & 0xc0) == 0x80)
        s++;
    return s;
}

bool route_wildcard_match(const char *p, const char *t)
{
    /* Greedy matching with one backtrack point: the last '*' seen. On a
     * mismatch the '*' takes one more code point of the text. Literal
     * characters compare byte by byte, which keeps t on code point
     * boundaries because UTF-8 lead bytes encode the sequence's length. */
    const char *star_p = NULL, *star_t = NULL;
    while (*t) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p;
            star_t = t;
            continue;
        }
        if (*p == '?') {
            p++;
            t = next_cp(t);
            continue;
        }
        if (*p && *p == *t) {
            p++;
            t++;
            continue;
        }
        if (!star_p)
            return false;
        star_t = next_cp(star_t);
        t = star_t;
        p = star_p;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* ---------------------------------------------------------------------------
 * Address blocks */

int route_cidr_parse(const char *text, struct route_cidr *out, struct ferry_error **err)
{
    char addr[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    memset(out, 0, sizeof *out);
    if (alen == 0 || alen >= sizeof addr)
        return ferry_error_set(err, -EINVAL, "'%s' is not an IPv4 or IPv6 address", text);
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    unsigned bits;
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        bits = 128;
    } else {
        return ferry_error_set(err, -EINVAL, "'%s' is not an IPv4 or IPv6 address", text);
    }
    unsigned prefix = bits;
    if (slash) {
        const char *d = slash + 1;
        char *end;
        if (*d < '0' || *d > '9' || strlen(d) > 3)
            goto bad_prefix;
        unsigned long v = strtoul(d, &end, 10);
        if (*end || v > bits)
            goto bad_prefix;
        prefix = (unsigned)v;
    }
    out->prefix = (uint8_t)prefix;
    /* Bits after the prefix must be zero. */
    for (unsigned i = prefix; i < bits; i++) {
        if (out->addr[i / 8] & (0x80u >> (i % 8))) {
            struct route_cidr fixed = *out;
            for (unsigned j = prefix; j < bits; j++)
                fixed.addr[j / 8] &= (uint8_t) ~(0x80u >> (j % 8));
            char buf[INET6_ADDRSTRLEN + 8];
            route_cidr_format(&fixed, buf, sizeof buf);
            return ferry_error_set(err, -EINVAL,
                                   "'%s' has bits set after the prefix (the block is %s)",
                                   text, buf);
        }
    }
    return 0;

bad_prefix:
    return ferry_error_set(err, -EINVAL, "'%s': prefix length must be from 0 to %u", text,
                           bits);
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool route_cidr_contains(const struct route_cidr *block, const struct sockaddr *sa)
{
    uint8_t a6[16];
    const uint8_t *a4 = NULL;
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        a4 = (const uint8_t *)&in->sin_addr;
        memcpy(a6, v4mapped, 12);
        memcpy(a6 + 12, a4, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(a6, &in6->sin6_addr, 16);
        if (memcmp(a6, v4mapped, 12) == 0)
            a4 = a6 + 12;
    } else {
        return false;
    }
    if (block->family == AF_INET)
        return a4 && prefix_equal(a4, block->addr, block->prefix);
    return prefix_equal(a6, block->addr, block->prefix);
}

void route_cidr_format(const struct route_cidr *block, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    unsigned bits = block->family == AF_INET ? 32 : 128;
    if (!inet_ntop(block->family, block->addr, a, sizeof a))
        snprintf(a, sizeof a, "?");
    if (block->prefix == bits)
        snprintf(buf, size, "%s", a);
    else
        snprintf(buf, size, "%s/%u", a, block->prefix);
}

void route_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (!sa) {
        snprintf(buf, size, "(none)");
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(buf, size, "%s", a);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = (const uint8_t *)&in6->sin6_addr;
        if (memcmp(b, v4mapped, 12) == 0)
            inet_ntop(AF_INET, b + 12, a, sizeof a);
        else
            inet_ntop(AF_INET6, b, a, sizeof a);
        snprintf(buf, size, "%s", a);
    } else {
        snprintf(buf, size, "(unknown)");
    }
}

/* ---------------------------------------------------------------------------
 * Dates and times */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Copy text without trailing spaces and without the separators older
 * encoders put in (ACR-NEMA "2004.01.31", "12:30:00"). */
static int strip_copy(const char *text, char *out, size_t size, char sep)
{
    size_t len = strlen(text);
    while (len && text[len - 1] == ' ')
        len--;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == sep)
            continue;
        if (j + 1 >= size)
            return -EINVAL;
        out[j++] = text[i];
    }
    out[j] = '\0';
    return 0;
}

/* YYYY[MM[DD]] (8 digits in a value; shorter is a bound). */
static int date_key(const char *s, size_t len, bool upper, char *key)
{
    if ((len != 4 && len != 6 && len != 8) || !all_digits(s, len))
        return -EINVAL;
    memcpy(key, s, len);
    if (len < 6)
        memcpy(key + 4, upper ? "12" : "01", 2);
    if (len < 8)
        memcpy(key + 6, upper ? "31" : "01", 2);
    int month = two(key + 4), day = two(key + 6);
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return -EINVAL;
    return 0;
}

/* HH[MM[SS[.F{1,6}]]] -> HHMMSSffffff */
static int time_key(const char *s, size_t len, bool upper, char *key)
{
    const char *dot = memchr(s, '.', len);
    size_t whole = dot ? (size_t)(dot - s) : len;
    if ((whole != 2 && whole != 4 && whole != 6) || !all_digits(s, whole))
        return -EINVAL;
    if (dot && whole != 6)
        return -EINVAL;
    memcpy(key, s, whole);
    for (size_t i = whole; i < 6; i += 2)
        memcpy(key + i, upper ? "59" : "00", 2);
    if (two(key) > 23 || two(key + 2) > 59 || two(key + 4) > 60)
        return -EINVAL;
    size_t frac = 0;
    if (dot) {
        frac = len - whole - 1;
        if (frac < 1 || frac > 6 || !all_digits(dot + 1, frac))
            return -EINVAL;
        memcpy(key + 6, dot + 1, frac);
    }
    for (size_t i = frac; i < 6; i++)
        key[6 + i] = upper ? '9' : '0';
    return 0;
}

int route_datetime_key(enum route_vr_class vrc, const char *text, bool upper,
                       char key[ROUTE_KEY_SIZE])
{
    char s[64];
    memset(key, 0, ROUTE_KEY_SIZE);
    if (vrc == VR_DATE) {
        if (strip_copy(text, s, sizeof s, '.') < 0)
            return -EINVAL;
        return date_key(s, strlen(s), upper, key);
    }
    if (vrc == VR_TIME) {
        if (strip_copy(text, s, sizeof s, ':') < 0)
            return -EINVAL;
        return time_key(s, strlen(s), upper, key);
    }
    if (vrc != VR_DT || strip_copy(text, s, sizeof s, '\0') < 0)
        return -EINVAL;
    /* YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]: the UTC offset is ignored (the
     * times are compared as written). */
    size_t len = strlen(s);
    char *off = NULL;
    for (size_t i = 4; i < len; i++)
        if (s[i] == '+' || s[i] == '-')
            off = s + i;
    if (off) {
        if (strlen(off) != 5 || !all_digits(off + 1, 4))
            return -EINVAL;
        len = (size_t)(off - s);
    }
    const char *dot = memchr(s, '.', len);
    size_t whole = dot ? (size_t)(dot - s) : len;
    size_t dlen = whole < 8 ? whole : 8;
    if (date_key(s, dlen, upper, key) < 0)
        return -EINVAL;
    if (whole <= 8) {
        if (dot)
            return -EINVAL;
        memcpy(key + 8, upper ? "235959999999" : "000000000000", 12);
        return 0;
    }
    return time_key(s + 8, len - 8, upper, key + 8);
}

/* ---------------------------------------------------------------------------
 * Numbers and VRs */

int route_parse_number(locale_t loc, const char *text, double *out)
{
    char *end;
    while (*text == ' ')
        text++;
    if (!*text)
        return -EINVAL;
    errno = 0;
    double v = strtod_l(text, &end, loc);
    if (end == text || errno == ERANGE)
        return -EINVAL;
    while (*end == ' ')
        end++;
    if (*end || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

enum route_vr_class route_vr_class(const char *vr)
{
    /* Besides the 34 VRs, dictionaries (DCMTK's dicom.dic) use "xs" (US or
     * SS), "up" (UL pointer), "ox" (OB or OW), "px" (Pixel Data), "lt" (US,
     * SS or OW) and "na" (no value). */
    static const char *const numbers[] = { "IS", "DS", "US", "UL", "SS", "SL", "FL",
                                           "FD", "SV", "UV", "xs", "up" };
    static const char *const bulk[] = { "OB", "OW", "OF", "OD", "OL", "OV",
                                        "UN", "ox", "px", "lt", "na" };
    if (strcmp(vr, "DA") == 0)
        return VR_DATE;
    if (strcmp(vr, "TM") == 0)
        return VR_TIME;
    if (strcmp(vr, "DT") == 0)
        return VR_DT;
    if (strcmp(vr, "SQ") == 0)
        return VR_SEQ;
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        if (strcmp(vr, numbers[i]) == 0)
            return VR_NUMBER;
    for (size_t i = 0; i < sizeof bulk / sizeof *bulk; i++)
        if (strcmp(vr, bulk[i]) == 0)
            return VR_BULK;
    return VR_TEXT;
}

int route_priority_from_name(const char *name)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {
        { "low", ROUTE_PRIORITY_LOW },
        { "normal", ROUTE_PRIORITY_NORMAL },
        { "high", ROUTE_PRIORITY_HIGH },
        { "urgent", ROUTE_PRIORITY_URGENT },
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].value;
    return -1;
}

void route_format_duration(uint64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 },
                  { "ms", 1 } };
    size_t used = 0;
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof *units && ms; i++) {
        if (ms < units[i].ms)
            continue;
        uint64_t n = ms / units[i].ms;
        ms %= units[i].ms;
        int w = snprintf(buf + used, used < size ? size - used : 0, "%llu%s",
                         (unsigned long long)n, units[i].unit);
        if (w > 0)
            used += (size_t)w;
        if (used >= size)
            break;
    }
}
