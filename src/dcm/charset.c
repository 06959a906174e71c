/* ferry — Specific Character Set: decoding to UTF-8, encoding from it,
 * splitting values. PS3.5 6.1 and PS3.3 C.12.1.1.2. */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "dcm/dcm-private.h"

#define ESC 0x1b

enum set_kind {
    K_ASCII,      /* G0 ASCII */
    K_G1_96,      /* single-byte set invoked in GR */
    K_G1_94X2,    /* double-byte set invoked in GR (GB2312, KS X 1001) */
    K_G0_94X2,    /* double-byte set in G0, 7-bit (JIS X 0208, JIS X 0212) */
    K_MULTI,      /* non-ISO 2022 multi-byte encoding (UTF-8, GBK, GB18030) */
    K_JIS0201,    /* ISO_IR 13: katakana in GR, romaji in G0 */
};

struct cs_info {
    const char *term;        /* defined term without code extensions */
    const char *term2022;    /* with code extensions */
    const char *iconv;       /* iconv name of the run encoding */
    uint8_t kind;
    const char *esc;         /* escape sequence after ESC that designates it */
};

static const struct cs_info cs_table[DCM_CS_COUNT_] = {
    [DCM_CS_DEFAULT] = { "ISO_IR 6", "ISO 2022 IR 6", "ASCII", K_ASCII, "(B" },
    [DCM_CS_UTF8] = { "ISO_IR 192", NULL, "UTF-8", K_MULTI, NULL },
    [DCM_CS_GB18030] = { "GB18030", NULL, "GB18030", K_MULTI, NULL },
    [DCM_CS_GBK] = { "GBK", NULL, "GBK", K_MULTI, NULL },
    [DCM_CS_GB2312] = { NULL, "ISO 2022 IR 58", "GB2312", K_G1_94X2, "$)A" },
    [DCM_CS_LATIN1] = { "ISO_IR 100", "ISO 2022 IR 100", "ISO-8859-1", K_G1_96, "-A" },
    [DCM_CS_LATIN2] = { "ISO_IR 101", "ISO 2022 IR 101", "ISO-8859-2", K_G1_96, "-B" },
    [DCM_CS_LATIN3] = { "ISO_IR 109", "ISO 2022 IR 109", "ISO-8859-3", K_G1_96, "-C" },
    [DCM_CS_LATIN4] = { "ISO_IR 110", "ISO 2022 IR 110", "ISO-8859-4", K_G1_96, "-D" },
    [DCM_CS_CYRILLIC] = { "ISO_IR 144", "ISO 2022 IR 144", "ISO-8859-5", K_G1_96, "-L" },
    [DCM_CS_ARABIC] = { "ISO_IR 127", "ISO 2022 IR 127", "ISO-8859-6", K_G1_96, "-G" },
    [DCM_CS_GREEK] = { "ISO_IR 126", "ISO 2022 IR 126", "ISO-8859-7", K_G1_96, "-F" },
    [DCM_CS_HEBREW] = { "ISO_IR 138", "ISO 2022 IR 138", "ISO-8859-8", K_G1_96, "-H" },
    [DCM_CS_LATIN5] = { "ISO_IR 148", "ISO 2022 IR 148", "ISO-8859-9", K_G1_96, "-M" },
    [DCM_CS_LATIN9] = { "ISO_IR 203", "ISO 2022 IR 203", "ISO-8859-15", K_G1_96, "-b" },
    [DCM_CS_THAI] = { "ISO_IR 166", "ISO 2022 IR 166", "TIS-620", K_G1_96, "-T" },
    [DCM_CS_JIS_X0201] = { "ISO_IR 13", "ISO 2022 IR 13", "SHIFT_JIS", K_JIS0201, ")I" },
    [DCM_CS_JIS_X0208] = { NULL, "ISO 2022 IR 87", "EUC-JP", K_G0_94X2, "$B" },
    [DCM_CS_JIS_X0212] = { NULL, "ISO 2022 IR 159", "EUC-JP", K_G0_94X2, "$(D" },
    [DCM_CS_KSX1001] = { NULL, "ISO 2022 IR 149", "EUC-KR", K_G1_94X2, "$)C" },
};

const char *dcm_cs_term(enum dcm_cs cs, bool iso2022)
{
    if ((unsigned)cs >= DCM_CS_COUNT_)
        return "";
    const struct cs_info *i = &cs_table[cs];
    if (iso2022 && i->term2022)
        return i->term2022;
    return i->term ? i->term : i->term2022;
}

/* ---------------------------------------------------------------------------
 * Parsing (0008,0005) */

int dcm_charset_parse(const char *value, size_t len, struct dcm_charset *out,
                      struct ferry_error **err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    uint32_t idx = 0;
    bool any_2022 = false;
    while (i <= len) {
        size_t j = i;
        while (j < len && value[j] != '\\')
            j++;
        size_t a = i, b = j;
        while (a < b && (value[a] == ' ' || value[a] == '\0'))
            a++;
        while (b > a && (value[b - 1] == ' ' || value[b - 1] == '\0'))
            b--;
        size_t n = b - a;
        if (idx >= DCM_CHARSET_MAX_TERMS)
            return ferry_error_set(err, -EINVAL, "Specific Character Set has more than %d terms",
                                   DCM_CHARSET_MAX_TERMS);
        int found = -1;
        bool is2022 = false;
        if (n == 0) {
            found = DCM_CS_DEFAULT;
        } else {
            for (int k = 0; k < DCM_CS_COUNT_ && found < 0; k++) {
                const struct cs_info *ci = &cs_table[k];
                if (ci->term && strlen(ci->term) == n && memcmp(ci->term, value + a, n) == 0)
                    found = k;
                else if (ci->term2022 && strlen(ci->term2022) == n &&
                         memcmp(ci->term2022, value + a, n) == 0) {
                    found = k;
                    is2022 = true;
                }
            }
        }
        if (found < 0)
            return ferry_error_set(err, -EINVAL, "unknown Specific Character Set term '%.*s'",
                                   (int)(n > 64 ? 64 : n), value + a);
        any_2022 |= is2022;
        out->terms[idx++] = (uint8_t)found;
        if (j >= len)
            break;
        i = j + 1;
    }
    /* A single empty or default term is the default repertoire. */
    if (idx == 1 && out->terms[0] == DCM_CS_DEFAULT && !any_2022)
        idx = 0;
    out->n = (uint8_t)idx;
    out->iso2022 = any_2022 || idx > 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Output buffer */

struct obuf {
    char *d;
    size_t len, cap;
    bool failed;
};

static void ob_put(struct obuf *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *d = realloc(o->d, cap);
        if (!d) {
            o->failed = true;
            return;
        }
        o->d = d;
        o->cap = cap;
    }
    memcpy(o->d + o->len, p, n);
    o->len += n;
    o->d[o->len] = '\0';
}

static void ob_byte(struct obuf *o, uint8_t c) { ob_put(o, &c, 1); }

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

static void ob_latin1(struct obuf *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c < 0x80) {
            ob_byte(o, c);
        } else {
            uint8_t u[2] = { (uint8_t)(0xC0 | (c >> 6)), (uint8_t)(0x80 | (c & 0x3F)) };
            ob_put(o, u, 2);
        }
    }
}

/* Length of a valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t k;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
        k = 2; cp = c & 0x1F; min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        k = 3; cp = c & 0x0F; min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        k = 4; cp = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

static void ob_utf8(struct obuf *o, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0) {
            ob_put(o, REPLACEMENT, 3);
            i++;
        } else {
            ob_put(o, p + i, k);
            i += k;
        }
    }
}

/* Convert with iconv. Decoding (to UTF-8) replaces invalid input with
 * U+FFFD; encoding returns -EILSEQ. */
static int conv(const char *to, const char *from, const uint8_t *in, size_t n, struct obuf *o,
                bool lenient, struct ferry_error **err)
{
    if (n == 0)
        return 0;
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return ferry_error_set(err, -ENOTSUP, "iconv cannot convert from %s to %s", from, to);
    char *ip = (char *)(uintptr_t)in;
    size_t il = n;
    int rc = 0;
    char tmp[512];
    while (il > 0) {
        char *op = tmp;
        size_t ol = sizeof tmp;
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        ob_put(o, tmp, sizeof tmp - ol);
        if (r != (size_t)-1)
            continue;
        if (errno == E2BIG)
            continue;
        if (!lenient) {
            rc = -EILSEQ;
            break;
        }
        /* EILSEQ or EINVAL (truncated sequence): one byte becomes U+FFFD. */
        ob_put(o, REPLACEMENT, 3);
        ip++;
        il--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    if (rc == 0) {
        char *op = tmp;
        size_t ol = sizeof tmp;
        iconv(cd, NULL, NULL, &op, &ol);
        ob_put(o, tmp, sizeof tmp - ol);
    }
    iconv_close(cd);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Decoding */

static bool is_delimiter(uint8_t c, enum dcm_vr vr)
{
    if (c == '\\' || c == '\r' || c == '\n' || c == '\f' || c == '\t')
        return true;
    return vr == DCM_VR_PN && (c == '^' || c == '=');
}

/* The state of ISO 2022 decoding. */
struct g_state {
    int g0;   /* enum dcm_cs of G0: DEFAULT, JIS_X0208, JIS_X0212, JIS_X0201 (romaji) */
    int g1;   /* enum dcm_cs of G1, or -1 */
};

static void initial_state(const struct dcm_charset *cs, struct g_state *st, bool lenient)
{
    st->g0 = DCM_CS_DEFAULT;
    st->g1 = -1;
    if (cs->n == 0)
        return;
    int t = cs->terms[0];
    switch (cs_table[t].kind) {
    case K_G1_96:
    case K_G1_94X2:
        st->g1 = t;
        break;
    case K_G0_94X2:
        st->g0 = t;
        break;
    case K_JIS0201:
        st->g1 = t;
        st->g0 = t;
        break;
    default:
        break;
    }
    /* Lenient: high bytes with nothing in G1 decode with the first listed
     * set that lives there, as if its escape sequence had been sent. */
    if (st->g1 < 0 && lenient)
        for (int i = 0; i < cs->n; i++) {
            int k = cs_table[cs->terms[i]].kind;
            if (k == K_G1_96 || k == K_G1_94X2 || k == K_JIS0201) {
                st->g1 = cs->terms[i];
                break;
            }
        }
}

/* Match an escape sequence at p (after ESC). Returns its length after ESC
 * and the set it designates, or 0. */
static size_t match_escape(const uint8_t *p, size_t n, int *set)
{
    for (int k = 0; k < DCM_CS_COUNT_; k++) {
        const char *e = cs_table[k].esc;
        if (!e)
            continue;
        size_t el = strlen(e);
        if (el <= n && memcmp(p, e, el) == 0) {
            *set = k;
            return el;
        }
    }
    if (n >= 2 && p[0] == '(' && p[1] == 'J') { /* JIS X 0201 romaji in G0 */
        *set = DCM_CS_JIS_X0201 | 0x100;
        return 2;
    }
    return 0;
}

static int decode_2022(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *b,
                       size_t n, struct obuf *o, struct ferry_error **err)
{
    struct g_state st, init;
    initial_state(cs, &init, true);
    st = init;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0) {
        uint8_t c = b[i];
        if (c == ESC) {
            int set;
            size_t el = match_escape(b + i + 1, n - i - 1, &set);
            if (el == 0) {
                ob_put(o, REPLACEMENT, 3);
                i++;
                continue;
            }
            if (set & 0x100)
                st.g0 = DCM_CS_JIS_X0201;
            else if (cs_table[set].kind == K_ASCII)
                st.g0 = DCM_CS_DEFAULT;
            else if (cs_table[set].kind == K_G0_94X2)
                st.g0 = set;
            else
                st.g1 = set;
            i += 1 + el;
            continue;
        }
        if (c < 0x80) {
            if (st.g0 == DCM_CS_JIS_X0208 || st.g0 == DCM_CS_JIS_X0212) {
                /* A run of 7-bit double-byte characters: to EUC-JP. */
                size_t j = i;
                while (j + 1 < n && b[j] >= 0x21 && b[j] < 0x7F && b[j + 1] >= 0x21 &&
                       b[j + 1] < 0x7F)
                    j += 2;
                if (j == i) {
                    ob_byte(o, c);
                    if (is_delimiter(c, vr))
                        st = init;
                    i++;
                    continue;
                }
                size_t pairs = (j - i) / 2;
                uint8_t *tmp = malloc(pairs * 3);
                if (!tmp)
                    return -ENOMEM;
                size_t t = 0;
                for (size_t k = i; k < j; k += 2) {
                    if (st.g0 == DCM_CS_JIS_X0212)
                        tmp[t++] = 0x8F;
                    tmp[t++] = (uint8_t)(b[k] | 0x80);
                    tmp[t++] = (uint8_t)(b[k + 1] | 0x80);
                }
                rc = conv("UTF-8", "EUC-JP", tmp, t, o, true, err);
                free(tmp);
                i = j;
                continue;
            }
            ob_byte(o, c);
            if (is_delimiter(c, vr))
                st = init;
            i++;
            continue;
        }
        /* GR: a run of bytes >= 0x80 in the G1 set. */
        size_t j = i;
        while (j < n && b[j] >= 0x80)
            j++;
        if (st.g1 < 0) {
            for (size_t k = i; k < j; k++)
                ob_put(o, REPLACEMENT, 3);
        } else if (st.g1 == DCM_CS_LATIN1) {
            ob_latin1(o, b + i, j - i);
        } else {
            rc = conv("UTF-8", cs_table[st.g1].iconv, b + i, j - i, o, true, err);
        }
        i = j;
    }
    return rc;
}

int dcm_charset_decode(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                       size_t len, char **out, size_t *out_len, struct ferry_error **err)
{
    struct obuf o = { *out, *out_len, *out ? *out_len + 1 : 0, false };
    int rc = 0;
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = bytes[i] < 0x80 && bytes[i] != ESC;
    if (len == 0 || ascii || cs->n == 0 || !dcm_vr_is_text(vr)) {
        /* Bytes over 0x7F where only ASCII is allowed: shown as UTF-8 when
         * they are valid UTF-8 (senders that forget (0008,0005) mostly write
         * that), else as Latin-1, so that nothing is lost from sight. */
        bool utf8 = true;
        for (size_t i = 0; i < len && utf8;) {
            size_t k = utf8_seq(bytes + i, len - i);
            utf8 = k != 0;
            i += k;
        }
        if (ascii || utf8)
            ob_put(&o, bytes, len);
        else
            ob_latin1(&o, bytes, len);
    } else if (!cs->iso2022) {
        int t = cs->terms[0];
        if (t == DCM_CS_UTF8)
            ob_utf8(&o, bytes, len);
        else if (t == DCM_CS_LATIN1)
            ob_latin1(&o, bytes, len);
        else
            rc = conv("UTF-8", cs_table[t].iconv, bytes, len, &o, true, err);
    } else {
        rc = decode_2022(cs, vr, bytes, len, &o, err);
    }
    if (len == 0)
        ob_put(&o, "", 0);
    *out = o.d;
    if (o.failed)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    if (rc == 0)
        *out_len = o.len;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Encoding */

static int esc_put(struct obuf *o, int set)
{
    ob_byte(o, ESC);
    ob_put(o, cs_table[set].esc, strlen(cs_table[set].esc));
    return 0;
}

/* Encode one run of non-ASCII UTF-8 text with set `t` as ISO 2022 bytes
 * (GR bytes for G1 sets, 7-bit pairs for G0 double-byte sets). */
static int encode_run(int t, const uint8_t *p, size_t n, struct obuf *o)
{
    struct obuf tmp = { 0 };
    int rc = conv(cs_table[t].iconv, "UTF-8", p, n, &tmp, false, NULL);
    if (rc == 0 && !tmp.failed) {
        const uint8_t *q = (const uint8_t *)tmp.d;
        size_t m = tmp.len;
        int kind = cs_table[t].kind;
        for (size_t i = 0; i < m && rc == 0; i++) {
            uint8_t c = q[i];
            if (c < 0x80) {
                rc = -EILSEQ; /* the set turned text into ASCII: not ours */
            } else if (kind == K_G0_94X2) {
                /* EUC-JP: 0x8F prefix marks JIS X 0212, 0x8E half-width
                 * kana: only plain JIS X 0208 pairs (t == 0208) or 0x8F
                 * triples (t == 0212) belong to the set. */
                if (t == DCM_CS_JIS_X0212) {
                    if (c != 0x8F || i + 2 >= m) {
                        rc = -EILSEQ;
                        break;
                    }
                    ob_byte(o, q[i + 1] & 0x7F);
                    ob_byte(o, q[i + 2] & 0x7F);
                    i += 2;
                } else {
                    if (c == 0x8F || c == 0x8E || i + 1 >= m) {
                        rc = -EILSEQ;
                        break;
                    }
                    ob_byte(o, c & 0x7F);
                    ob_byte(o, q[i + 1] & 0x7F);
                    i++;
                }
            } else if (kind == K_JIS0201) {
                if (c < 0xA1 || c > 0xDF) {
                    rc = -EILSEQ;
                    break;
                }
                ob_byte(o, c);
            } else {
                ob_byte(o, c);
            }
        }
    }
    if (tmp.failed)
        rc = -ENOMEM;
    free(tmp.d);
    return rc < 0 ? rc : 0;
}

static int encode_2022(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *p, size_t n,
                       struct obuf *o)
{
    struct g_state init, st;
    initial_state(cs, &init, false);
    st = init;
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            /* ASCII needs G0 = ASCII. */
            if (st.g0 != DCM_CS_DEFAULT && st.g0 != DCM_CS_JIS_X0201) {
                esc_put(o, DCM_CS_DEFAULT);
                st.g0 = DCM_CS_DEFAULT;
            }
            /* G0 is ASCII at a delimiter now; after it, the decoder is back
             * in the initial state, and so is this encoder. */
            ob_byte(o, c);
            if (is_delimiter(c, vr))
                st = init;
            i++;
            continue;
        }
        /* A run of non-ASCII characters (up to the next ASCII byte). */
        size_t j = i;
        while (j < n && p[j] >= 0x80)
            j++;
        size_t k = i;
        while (k < j) {
            /* Longest prefix of [k, j) that one listed set can encode,
             * trying character by character. */
            size_t cl = utf8_seq(p + k, j - k);
            if (cl == 0)
                return -EINVAL;
            int chosen = -1;
            for (int t = 0; t < cs->n && chosen < 0; t++) {
                int set = cs->terms[t];
                int kind = cs_table[set].kind;
                if (kind == K_ASCII || kind == K_MULTI)
                    continue;
                struct obuf probe = { 0 };
                if (encode_run(set, p + k, cl, &probe) == 0)
                    chosen = set;
                free(probe.d);
            }
            if (chosen < 0)
                return -EILSEQ;
            /* Extend with following characters the same set can take. */
            size_t e = k + cl;
            while (e < j) {
                size_t l2 = utf8_seq(p + e, j - e);
                if (l2 == 0)
                    return -EINVAL;
                struct obuf probe = { 0 };
                int r = encode_run(chosen, p + e, l2, &probe);
                free(probe.d);
                if (r != 0)
                    break;
                e += l2;
            }
            int kind = cs_table[chosen].kind;
            if (kind == K_G0_94X2) {
                if (st.g0 != chosen) {
                    esc_put(o, chosen);
                    st.g0 = chosen;
                }
            } else if (st.g1 != chosen) {
                esc_put(o, chosen);
                st.g1 = chosen;
            }
            int rc = encode_run(chosen, p + k, e - k, o);
            if (rc < 0)
                return rc;
            k = e;
        }
        i = j;
    }
    if (st.g0 != DCM_CS_DEFAULT && st.g0 != init.g0)
        esc_put(o, DCM_CS_DEFAULT);
    return 0;
}

int dcm_charset_encode(const struct dcm_charset *cs, enum dcm_vr vr, const char *utf8,
                       size_t len, char **out, size_t *out_len, struct ferry_error **err)
{
    const uint8_t *p = (const uint8_t *)utf8;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i);
        if (k == 0)
            return ferry_error_set(err, -EINVAL, "invalid UTF-8 at byte %zu", i);
        i += k;
    }
    struct obuf o = { *out, *out_len, *out ? *out_len + 1 : 0, false };
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = p[i] < 0x80 && p[i] != ESC;
    int rc = 0;
    if (ascii) {
        ob_put(&o, p, len);
    } else if (cs->n == 0 || !dcm_vr_is_text(vr)) {
        rc = -EILSEQ;
    } else if (!cs->iso2022) {
        int t = cs->terms[0];
        if (t == DCM_CS_UTF8)
            ob_put(&o, p, len);
        else
            rc = conv(cs_table[t].iconv, "UTF-8", p, len, &o, false, err);
    } else {
        rc = encode_2022(cs, vr, p, len, &o);
    }
    if (len == 0)
        ob_put(&o, "", 0);
    *out = o.d;
    if (o.failed)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    if (rc == -EILSEQ)
        return ferry_error_set(err, -EILSEQ, "the text cannot be represented in the character set");
    if (rc < 0)
        return rc;
    *out_len = o.len;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Splitting values */

static bool multi_valued(enum dcm_vr vr)
{
    return !(vr == DCM_VR_LT || vr == DCM_VR_ST || vr == DCM_VR_UT || vr == DCM_VR_UR);
}

/* The byte length of the character at p in a GBK/GB18030 value (1, 2, 4). */
static size_t gb_char(const uint8_t *p, size_t n, bool gb18030)
{
    if (p[0] < 0x81 || p[0] == 0xFF || n < 2)
        return 1;
    if (gb18030 && p[1] >= 0x30 && p[1] <= 0x39)
        return n >= 4 ? 4 : 1;
    return 2;
}

/* Find the end of the value starting at `i` (the index of its delimiter, or
 * len). */
static size_t value_end(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *b,
                        size_t len, size_t i)
{
    if (i >= len)
        return len;
    int t = cs && cs->n ? cs->terms[0] : DCM_CS_DEFAULT;
    bool text = dcm_vr_is_text(vr);
    if (text && cs && !cs->iso2022 && (t == DCM_CS_GBK || t == DCM_CS_GB18030)) {
        while (i < len && b[i] != '\\')
            i += gb_char(b + i, len - i, t == DCM_CS_GB18030);
        return i < len ? i : len;
    }
    if (text && cs && cs->iso2022) {
        /* In a 7-bit double-byte G0 set, 0x5C is half of a character. */
        bool dbl = false;
        for (int k = 0; k < cs->n; k++)
            if (cs_table[cs->terms[k]].kind == K_G0_94X2)
                dbl = true;
        if (cs->n && cs_table[cs->terms[0]].kind == K_G0_94X2)
            dbl = true;
        bool in = dbl && cs->n && cs_table[cs->terms[0]].kind == K_G0_94X2;
        while (i < len) {
            if (b[i] == ESC) {
                int set;
                size_t el = match_escape(b + i + 1, len - i - 1, &set);
                if (el) {
                    in = !(set & 0x100) && cs_table[set].kind == K_G0_94X2;
                    i += 1 + el;
                    continue;
                }
            }
            if (in && b[i] >= 0x21 && b[i] < 0x7F) {
                i += i + 1 < len ? 2 : 1;
                continue;
            }
            if (b[i] == '\\')
                return i;
            i++;
        }
        return len;
    }
    const uint8_t *d = memchr(b + i, '\\', len - i);
    return d ? (size_t)(d - b) : len;
}

int dcm_charset_split(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                      size_t len, uint32_t index, size_t *start, size_t *n)
{
    if (!multi_valued(vr) || index == DCM_ALL_VALUES) {
        if (index != 0 && index != DCM_ALL_VALUES)
            return -ENOENT;
        if (len == 0 && index == 0 && multi_valued(vr))
            return -ENOENT;
        *start = 0;
        *n = len;
        return 0;
    }
    size_t i = 0;
    for (uint32_t k = 0;; k++) {
        size_t e = value_end(cs, vr, bytes, len, i);
        if (k == index) {
            if (len == 0)
                return -ENOENT;
            *start = i;
            *n = e - i;
            return 0;
        }
        if (e >= len)
            return -ENOENT;
        i = e + 1;
    }
}

uint32_t dcm_charset_count(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                           size_t len)
{
    /* An all-padding value is empty. */
    size_t trimmed = len;
    while (trimmed > 0 && (bytes[trimmed - 1] == ' ' || bytes[trimmed - 1] == '\0'))
        trimmed--;
    if (trimmed == 0)
        return 0;
    if (!multi_valued(vr))
        return 1;
    uint32_t count = 1;
    size_t i = 0;
    for (;;) {
        size_t e = value_end(cs, vr, bytes, len, i);
        if (e >= len)
            return count;
        count++;
        i = e + 1;
    }
}
