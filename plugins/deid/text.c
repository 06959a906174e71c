/* Text: dummies for D, and the scrubber that cleans descriptors and
 * structured content (C). Text arrives as UTF-8 from the host whatever the
 * data set's character set (GB18030, GBK, ...), so matching is byte-wise on
 * UTF-8: a multi-byte sequence never contains an ASCII byte. */
#include "deid-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASK "***"

const char *deid_dummy_string(const char *vr)
{
    static const struct { char vr[3]; const char *value; } dummies[] = {
        { "AE", "ANONYMIZED" }, { "AS", "000Y" },     { "CS", "ANONYMIZED" },
        { "DA", "19000101" },   { "DS", "0" },        { "DT", "19000101000000" },
        { "IS", "0" },          { "LO", "ANONYMIZED" }, { "LT", "ANONYMIZED" },
        { "PN", "ANONYMIZED" }, { "SH", "ANONYMIZED" }, { "ST", "ANONYMIZED" },
        { "TM", "000000" },     { "UC", "ANONYMIZED" }, { "UT", "ANONYMIZED" },
        { "UR", "urn:uuid:00000000-0000-0000-0000-000000000000" },
    };
    if (!vr)
        return NULL;
    for (size_t i = 0; i < sizeof dummies / sizeof dummies[0]; i++)
        if (vr[0] == dummies[i].vr[0] && vr[1] == dummies[i].vr[1])
            return dummies[i].value;
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Identifying strings */

static bool ascii_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

static int add_one(struct deid_idents *id, const char *s, size_t n)
{
    while (n && *s == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || (n < 2 && ascii_only(s, n)))
        return 0;
    for (size_t i = 0; i < id->n; i++)
        if (strlen(id->items[i]) == n && memcmp(id->items[i], s, n) == 0)
            return 0;
    if (id->n == id->cap) {
        size_t cap = id->cap ? id->cap * 2 : 16;
        char **items = realloc(id->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        id->items = items;
        id->cap = cap;
    }
    char *copy = strndup(s, n);
    if (!copy)
        return -ENOMEM;
    id->items[id->n++] = copy;
    return 0;
}

static bool delimiter(char c)
{
    return c == '^' || c == '=' || c == ' ' || c == ',' || c == '.' || c == '\\';
}

/* Add a name as it may be written in text: as stored, without its
 * delimiters (a Chinese name is written without the '^' between its
 * components) and with spaces for them. */
static int add_forms(struct deid_idents *id, const char *s, size_t n)
{
    int rc = add_one(id, s, n);
    char *joined = malloc(n + 1);
    char *spaced = malloc(n + 1);
    if (!joined || !spaced) {
        free(joined);
        free(spaced);
        return -ENOMEM;
    }
    size_t jn = 0;
    for (size_t i = 0; i < n; i++) {
        spaced[i] = s[i] == '^' ? ' ' : s[i];
        if (!delimiter(s[i]))
            joined[jn++] = s[i];
    }
    if (rc == 0)
        rc = add_one(id, joined, jn);
    if (rc == 0)
        rc = add_one(id, spaced, n);
    free(joined);
    free(spaced);
    return rc;
}

int deid_idents_add(struct deid_idents *id, const char *utf8)
{
    if (!utf8)
        return 0;
    size_t n = strlen(utf8);
    int rc = add_forms(id, utf8, n);
    /* each component group of a PN (alphabetic = ideographic = phonetic) */
    for (size_t i = 0; i < n && rc == 0 && memchr(utf8, '=', n);) {
        size_t j = i;
        while (j < n && utf8[j] != '=')
            j++;
        rc = add_forms(id, utf8 + i, j - i);
        i = j + 1;
    }
    /* and every part */
    for (size_t i = 0; i < n && rc == 0;) {
        while (i < n && delimiter(utf8[i]))
            i++;
        size_t j = i;
        while (j < n && !delimiter(utf8[j]))
            j++;
        if (j > i)
            rc = add_one(id, utf8 + i, j - i);
        i = j;
    }
    return rc;
}

void deid_idents_free(struct deid_idents *id)
{
    if (!id)
        return;
    for (size_t i = 0; i < id->n; i++)
        free(id->items[i]);
    free(id->items);
    id->items = NULL;
    id->n = id->cap = 0;
}

/* ---------------------------------------------------------------------------
 * The scrubber */

struct buf {
    char *p;
    size_t n, cap;
    bool failed;
};

static void emit(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static bool alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Length of the longest identifier matching at s[i], or 0. */
static size_t ident_at(const char *s, size_t len, size_t i, const struct deid_idents *id)
{
    size_t best = 0;
    bool word_start = i == 0 || !alnum((unsigned char)s[i - 1]);
    for (size_t k = 0; id && k < id->n; k++) {
        const char *t = id->items[k];
        size_t n = strlen(t);
        if (n <= best || i + n > len)
            continue;
        if (ascii_only(t, n)) {
            if (!word_start || (i + n < len && alnum((unsigned char)s[i + n])))
                continue;
            size_t j = 0;
            while (j < n && lower((unsigned char)s[i + j]) == lower((unsigned char)t[j]))
                j++;
            if (j == n)
                best = n;
        } else if (memcmp(s + i, t, n) == 0) {
            best = n;
        }
    }
    return best;
}

/* A date-like word at s[i] (not preceded by a letter or digit): YYYYMMDD,
 * YYYY-MM-DD, YYYY/MM/DD or YYYY.MM.DD with a real calendar date of years
 * 1800..2199, not followed by a letter or digit. Returns its length. */
static size_t date_at(const char *s, size_t len, size_t i, int64_t *y, unsigned *m,
                      unsigned *d, char *sep)
{
    const char *p = s + i;
    size_t n = 0;
    if (i + 8 <= len) {
        bool all = true;
        for (int k = 0; k < 8; k++)
            all = all && digit((unsigned char)p[k]);
        if (all) {
            n = 8;
            *sep = 0;
        }
    }
    if (!n && i + 10 <= len && (p[4] == '-' || p[4] == '/' || p[4] == '.') && p[7] == p[4]) {
        bool all = true;
        for (int k = 0; k < 10; k++)
            if (k != 4 && k != 7)
                all = all && digit((unsigned char)p[k]);
        if (all) {
            n = 10;
            *sep = p[4];
        }
    }
    if (!n || (i + n < len && alnum((unsigned char)p[n])))
        return 0;
    unsigned yy = 0;
    for (int k = 0; k < 4; k++)
        yy = yy * 10 + (unsigned)(p[k] - '0');
    size_t mo = *sep ? 5 : 4, da = *sep ? 8 : 6;
    *m = (unsigned)(p[mo] - '0') * 10 + (unsigned)(p[mo + 1] - '0');
    *d = (unsigned)(p[da] - '0') * 10 + (unsigned)(p[da + 1] - '0');
    *y = yy;
    if (yy < 1800 || yy > 2199 || *m < 1 || *m > 12 || *d < 1)
        return 0;
    static const unsigned char dim[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool is_leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    if (*d > dim[*m - 1] || (*m == 2 && *d == 29 && !is_leap))
        return 0;
    return n;
}

char *deid_scrub(const char *s, const struct deid_idents *id, enum deid_date_policy dates,
                 int32_t days)
{
    return deid_scrub_ex(s, id, dates, days, DEID_SCRUB_ALL);
}

char *deid_scrub_ex(const char *s, const struct deid_idents *id, enum deid_date_policy dates,
                    int32_t days, unsigned what)
{
    struct buf b = { 0 };
    size_t len = strlen(s);
    emit(&b, "", 0);
    for (size_t i = 0; i < len && !b.failed;) {
        bool word_start = i == 0 || !alnum((unsigned char)s[i - 1]);
        bool blank_before = i == 0 || s[i - 1] == ' ' || s[i - 1] == '\n' || s[i - 1] == '\t';
        if ((what & DEID_SCRUB_EMAILS) && blank_before && s[i] != ' ' && s[i] != '\n' &&
            s[i] != '\t') {
            /* An e-mail address: a blank-delimited word with '@' inside. */
            size_t j = i;
            while (j < len && s[j] != ' ' && s[j] != '\n' && s[j] != '\t')
                j++;
            const char *at = memchr(s + i, '@', j - i);
            if (at && at > s + i && at + 1 < s + j) {
                emit(&b, MASK, strlen(MASK));
                i = j;
                continue;
            }
        }
        size_t n = ident_at(s, len, i, id);
        if (n) {
            emit(&b, MASK, strlen(MASK));
            i += n;
            continue;
        }
        if (digit((unsigned char)s[i])) {
            int64_t y;
            unsigned m, d;
            char sep;
            n = word_start ? date_at(s, len, i, &y, &m, &d, &sep) : 0;
            if (n) {
                if (dates == DEID_DATES_KEEP) {
                    emit(&b, s + i, n);
                } else if (dates == DEID_DATES_SHIFT) {
                    char in[8], out[16];
                    const char *p = s + i;
                    memcpy(in, p, 4);
                    memcpy(in + 4, p + (sep ? 5 : 4), 2);
                    memcpy(in + 6, p + (sep ? 8 : 6), 2);
                    if (deid_shift_da(in, 8, days, out, sizeof out) == 8) {
                        if (sep) {
                            char f[11] = { out[0], out[1], out[2], out[3], sep, out[4], out[5],
                                           sep, out[6], out[7], 0 };
                            emit(&b, f, 10);
                        } else {
                            emit(&b, out, 8);
                        }
                    } else {
                        emit(&b, MASK, strlen(MASK));
                    }
                } else {
                    emit(&b, MASK, strlen(MASK));
                }
                i += n;
                continue;
            }
            /* A number, with '-', '.' or '/' between digits: IDs, phone
             * numbers, accession numbers go when they hold 5 digits or more. */
            size_t j = i, nd = 0;
            while (j < len) {
                if (digit((unsigned char)s[j])) {
                    nd++;
                    j++;
                } else if ((s[j] == '-' || s[j] == '.' || s[j] == '/') && j + 1 < len &&
                           digit((unsigned char)s[j + 1])) {
                    j++;
                } else {
                    break;
                }
            }
            if (nd >= 5 && (what & DEID_SCRUB_NUMBERS))
                emit(&b, MASK, strlen(MASK));
            else
                emit(&b, s + i, j - i);
            i = j;
            continue;
        }
        emit(&b, s + i, 1);
        i++;
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
