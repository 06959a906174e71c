/* Patient ID and Patient's Name: a pseudonym from a template, keyed by the
 * patient (not the study), so every study of one patient gets the same one.
 * Also the keyed token that cleans AE titles. */
#include "deid-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append src (len bytes) to out at *pos; -ENOSPC past outsize - 1. */
static int put(char *out, size_t outsize, size_t *pos, const char *src, size_t len)
{
    if (*pos + len + 1 > outsize)
        return -ENOSPC;
    memcpy(out + *pos, src, len);
    *pos += len;
    out[*pos] = '\0';
    return 0;
}

static void trimmed(const char *s, const char **start, size_t *len)
{
    if (!s) {
        *start = "";
        *len = 0;
        return;
    }
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    *start = s;
    *len = n;
}

int deid_patient_key(const char *id, const char *issuer, const char *name, const char *birth,
                     const char *study_uid, char *out, size_t outsize)
{
    const char *a, *b;
    size_t la, lb, pos = 0;
    int rc;
    if (outsize == 0)
        return -ENOSPC;
    out[0] = '\0';
    trimmed(id, &a, &la);
    if (la) {
        trimmed(issuer, &b, &lb);
        rc = put(out, outsize, &pos, "id:", 3);
        if (rc == 0)
            rc = put(out, outsize, &pos, a, la);
        if (rc == 0 && lb) {
            rc = put(out, outsize, &pos, "\\", 1);
            if (rc == 0)
                rc = put(out, outsize, &pos, b, lb);
        }
        return rc < 0 ? rc : (int)pos;
    }
    trimmed(name, &a, &la);
    trimmed(birth, &b, &lb);
    if (la || lb) {
        rc = put(out, outsize, &pos, "name:", 5);
        if (rc == 0)
            rc = put(out, outsize, &pos, a, la);
        if (rc == 0)
            rc = put(out, outsize, &pos, "\\", 1);
        if (rc == 0)
            rc = put(out, outsize, &pos, b, lb);
        return rc < 0 ? rc : (int)pos;
    }
    trimmed(study_uid, &a, &la);
    rc = put(out, outsize, &pos, "study:", 6);
    if (rc == 0)
        rc = put(out, outsize, &pos, a, la);
    return rc < 0 ? rc : (int)pos;
}

void deid_template_free(struct deid_template *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->n; i++)
        free(t->parts[i].text);
    free(t->parts);
    t->parts = NULL;
    t->n = 0;
}

static int add_part(struct deid_template *t, enum deid_tpl_kind kind, uint32_t width,
                    const char *text, size_t len)
{
    struct deid_tpl_part *p = realloc(t->parts, (t->n + 1) * sizeof *p);
    if (!p)
        return -ENOMEM;
    t->parts = p;
    p = &t->parts[t->n];
    p->kind = kind;
    p->width = width;
    p->text = NULL;
    if (kind == DEID_TPL_TEXT) {
        p->text = strndup(text, len);
        if (!p->text)
            return -ENOMEM;
    }
    t->n++;
    return 0;
}

/* Parse the N of "hash:N" / "num:N"; -1 if it is not a number in 1..max. */
static int width_of(const char *s, size_t len, int max)
{
    if (len == 0 || len > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= max ? v : -1;
}

int deid_template_compile(const char *text, const char *site, struct deid_template *t,
                          char *msg, size_t msgsize)
{
    int rc = -EINVAL;
    size_t length = 0;
    unsigned millibits = 0;   /* 4000 per hex digit, 3321 per decimal digit */
    t->parts = NULL;
    t->n = 0;
    if (!*text) {
        snprintf(msg, msgsize, "is empty");
        goto out_free;
    }
    for (size_t i = 0; text[i];) {
        unsigned char c = (unsigned char)text[i];
        if (c == '{') {
            const char *close = strchr(text + i, '}');
            if (!close) {
                snprintf(msg, msgsize, "'{' at column %zu is not closed", i + 1);
                goto out_free;
            }
            const char *f = text + i + 1;
            size_t flen = (size_t)(close - f);
            int w, err;
            if (flen == 4 && memcmp(f, "site", 4) == 0) {
                err = add_part(t, DEID_TPL_SITE, 0, NULL, 0);
                length += strlen(site);
            } else if (flen > 5 && memcmp(f, "hash:", 5) == 0) {
                if ((w = width_of(f + 5, flen - 5, 64)) < 0) {
                    snprintf(msg, msgsize, "{hash:N} at column %zu needs N from 1 to 64", i + 1);
                    goto out_free;
                }
                err = add_part(t, DEID_TPL_HASH, (uint32_t)w, NULL, 0);
                length += (size_t)w;
                millibits += 4000u * (unsigned)w;
            } else if (flen > 4 && memcmp(f, "num:", 4) == 0) {
                if ((w = width_of(f + 4, flen - 4, 38)) < 0) {
                    snprintf(msg, msgsize, "{num:N} at column %zu needs N from 1 to 38", i + 1);
                    goto out_free;
                }
                err = add_part(t, DEID_TPL_NUM, (uint32_t)w, NULL, 0);
                length += (size_t)w;
                millibits += 3321u * (unsigned)w;
            } else {
                snprintf(msg, msgsize,
                         "unknown field {%.*s} at column %zu (fields: {site}, {hash:N}, {num:N})",
                         (int)(flen > 32 ? 32 : flen), f, i + 1);
                goto out_free;
            }
            if (err < 0)
                goto out_nomem;
            i += flen + 2;
            continue;
        }
        if (c == '}') {
            snprintf(msg, msgsize, "'}' at column %zu has no '{'", i + 1);
            goto out_free;
        }
        /* The pseudonym is written as Patient ID (LO) and as a one-component
         * Patient's Name (PN): printable ASCII without the value separator
         * '\\' and the PN delimiters '^' and '='. */
        if (c < 0x20 || c > 0x7E || c == '\\' || c == '^' || c == '=') {
            if (c >= 0x20 && c <= 0x7E)
                snprintf(msg, msgsize, "character '%c' at column %zu is not allowed", c, i + 1);
            else
                snprintf(msg, msgsize, "byte 0x%02X at column %zu is not allowed (printable "
                         "ASCII only)", c, i + 1);
            goto out_free;
        }
        size_t j = i;
        while (text[j] && text[j] != '{' && text[j] != '}' && (unsigned char)text[j] >= 0x20 &&
               (unsigned char)text[j] <= 0x7E && text[j] != '\\' && text[j] != '^' &&
               text[j] != '=')
            j++;
        if (add_part(t, DEID_TPL_TEXT, 0, text + i, j - i) < 0)
            goto out_nomem;
        length += j - i;
        i = j;
    }
    if (millibits < 32000) {
        snprintf(msg, msgsize,
                 "carries %u bits of hash ({hash:N} gives 4 per digit, {num:N} 3.3); at least "
                 "32 are needed so that patients do not share a pseudonym", millibits / 1000);
        goto out_free;
    }
    if (length > DEID_PSEUDONYM_MAX) {
        snprintf(msg, msgsize, "expands to %zu characters; Patient ID holds at most %d", length,
                 DEID_PSEUDONYM_MAX);
        goto out_free;
    }
    return 0;

out_nomem:
    snprintf(msg, msgsize, "out of memory");
    rc = -ENOMEM;
out_free:
    deid_template_free(t);
    return rc;
}

int deid_pseudonym(const struct deid_secret *s, const struct deid_template *t, const char *site,
                   const char *patient_key, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t h[32];
    int rc = deid_hmac(s, "patient", patient_key, strlen(patient_key), h);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < t->n && rc == 0; i++) {
        const struct deid_tpl_part *p = &t->parts[i];
        char buf[64];
        switch (p->kind) {
        case DEID_TPL_TEXT:
            rc = put(out, DEID_PSEUDONYM_MAX + 1, &pos, p->text, strlen(p->text));
            break;
        case DEID_TPL_SITE:
            rc = put(out, DEID_PSEUDONYM_MAX + 1, &pos, site, strlen(site));
            break;
        case DEID_TPL_HASH:
            for (uint32_t k = 0; k < p->width; k++)
                buf[k] = hex[(h[k / 2] >> (k % 2 ? 0 : 4)) & 0xF];
            rc = put(out, DEID_PSEUDONYM_MAX + 1, &pos, buf, p->width);
            break;
        case DEID_TPL_NUM: {
            /* The second half of the hash, as an integer, modulo 10^N. */
            unsigned __int128 v = 0;
            for (int k = 16; k < 32; k++)
                v = (v << 8) | h[k];
            for (uint32_t k = p->width; k > 0; k--) {
                buf[k - 1] = (char)('0' + (int)(v % 10));
                v /= 10;
            }
            rc = put(out, DEID_PSEUDONYM_MAX + 1, &pos, buf, p->width);
            break;
        }
        }
    }
    return rc < 0 ? rc : (int)pos;
}

int deid_token(const struct deid_secret *s, const char *value, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t h[32];
    int rc = deid_hmac(s, "token", value, strlen(value), h);
    if (rc < 0)
        return rc;
    out[0] = 'D';
    for (int k = 0; k < 15; k++)
        out[1 + k] = hex[(h[k / 2] >> (k % 2 ? 0 : 4)) & 0xF];
    out[16] = '\0';
    return 16;
}
