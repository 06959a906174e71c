/* ferry — reading and writing values. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dcm/dcm-private.h"

/* Values up to this size are copied into the arena, larger ones get their own
 * heap block (freed when replaced). */
#define ARENA_VALUE_MAX 4096u

/* ---------------------------------------------------------------------------
 * Strings */

static bool keeps_leading_spaces(enum dcm_vr vr)
{
    return vr == DCM_VR_LT || vr == DCM_VR_ST || vr == DCM_VR_UT || vr == DCM_VR_PN ||
           vr == DCM_VR_UC || vr == DCM_VR_UR;
}

void dcm__trim(enum dcm_vr vr, const uint8_t **p, size_t *n)
{
    const uint8_t *s = *p;
    size_t len = *n;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0'))
        len--;
    if (!keeps_leading_spaces(vr))
        while (len > 0 && s[0] == ' ') {
            s++;
            len--;
        }
    *p = s;
    *n = len;
}

int dcm_dataset_charset(const struct dcm_dataset *ds, struct dcm_charset *cs,
                        struct ferry_error **err)
{
    for (const struct dcm_dataset *d = ds; d; d = d->parent) {
        const struct dcm_element *e = dcm_dataset_get(d, DCM_TAG_SpecificCharacterSet);
        if (!e)
            continue;
        const char *v = (const char *)dcm_element_value(e);
        int rc = dcm_charset_parse(v, v ? e->length : 0, cs, err);
        if (rc < 0)
            memset(cs, 0, sizeof *cs);
        return rc;
    }
    memset(cs, 0, sizeof *cs);
    return 0;
}

/* The charset for splitting: errors mean the default repertoire. */
static void charset_or_default(const struct dcm_dataset *ds, enum dcm_vr vr,
                               struct dcm_charset *cs)
{
    if (!ds || !dcm_vr_is_text(vr) || dcm_dataset_charset(ds, cs, NULL) < 0)
        memset(cs, 0, sizeof *cs);
}

int dcm_element_string(const struct dcm_dataset *ds, const struct dcm_element *el,
                       uint32_t index, const char **p, size_t *n)
{
    if (!el)
        return -ENOENT;
    enum dcm_vr vr = (enum dcm_vr)el->vr;
    if (!dcm_vr_is_string(vr))
        return -EINVAL;
    if (el->flags & EL_SKIPPED)
        return -ENOENT;
    const uint8_t *v = el->length ? el->u.value : NULL;
    size_t len = v ? el->length : 0;
    struct dcm_charset cs;
    charset_or_default(ds, vr, &cs);
    size_t start, cnt;
    if (dcm_charset_split(&cs, vr, v, len, index, &start, &cnt) < 0)
        return -ENOENT;
    const uint8_t *s = v ? v + start : (const uint8_t *)"";
    dcm__trim(vr, &s, &cnt);
    *p = (const char *)s;
    *n = cnt;
    return 0;
}

int dcm_dataset_get_string(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                           const char **p, size_t *n)
{
    return dcm_element_string(ds, dcm_dataset_get(ds, tag), index, p, n);
}

int dcm_dataset_get_cstr(const struct dcm_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                         size_t bufsize)
{
    const char *p;
    size_t n;
    int rc = dcm_dataset_get_string(ds, tag, index, &p, &n);
    if (rc < 0)
        return rc;
    if (bufsize) {
        size_t k = n < bufsize - 1 ? n : bufsize - 1;
        memcpy(buf, p, k);
        buf[k] = '\0';
    }
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

uint32_t dcm_element_vm(const struct dcm_dataset *ds, const struct dcm_element *el)
{
    enum dcm_vr vr = (enum dcm_vr)el->vr;
    if (el->flags & EL_PIXSEQ)
        return 1;
    if (vr == DCM_VR_SQ)
        return dcm_element_item_count(el);
    if (el->length == 0)
        return 0;
    if (dcm_vr_is_string(vr)) {
        if (el->flags & EL_SKIPPED)
            return 1;
        struct dcm_charset cs;
        charset_or_default(ds, vr, &cs);
        return dcm_charset_count(&cs, vr, el->u.value, el->length);
    }
    switch (vr) {
    case DCM_VR_US: case DCM_VR_SS: case DCM_VR_UL: case DCM_VR_SL: case DCM_VR_FL:
    case DCM_VR_FD: case DCM_VR_SV: case DCM_VR_UV:
        return el->length / (uint32_t)dcm_vr_value_size(vr);
    case DCM_VR_AT:
        return el->length / 4;
    default:
        return 1;
    }
}

/* Decode value `index` to UTF-8 (malloc'd). */
static int utf8_of(const struct dcm_dataset *ds, const struct dcm_element *el, uint32_t index,
                   char **out, size_t *len, struct ferry_error **err)
{
    const char *p;
    size_t n;
    *out = NULL;
    *len = 0;
    if (!el)
        return ferry_error_set(err, -ENOENT, "no such element");
    int rc = dcm_element_string(ds, el, index, &p, &n);
    if (rc == -EINVAL)
        return ferry_error_set(err, rc, "(%04X,%04X) %s is not a string",
                               DCM_TAG_GROUP(el->tag), DCM_TAG_ELEMENT(el->tag),
                               dcm_vr_name((enum dcm_vr)el->vr));
    if (rc < 0)
        return ferry_error_set(err, rc, "(%04X,%04X) has no value %u", DCM_TAG_GROUP(el->tag),
                               DCM_TAG_ELEMENT(el->tag), index);
    struct dcm_charset cs;
    if (dcm_vr_is_text((enum dcm_vr)el->vr)) {
        rc = dcm_dataset_charset(ds, &cs, NULL);
        if (rc < 0)
            memset(&cs, 0, sizeof cs); /* unknown term: show the bytes as Latin-1 */
        if (rc < 0)
            cs.n = 1, cs.terms[0] = DCM_CS_LATIN1;
    } else {
        memset(&cs, 0, sizeof cs);
    }
    rc = dcm_charset_decode(&cs, (enum dcm_vr)el->vr, (const uint8_t *)p, n, out, len, err);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int dcm_element_utf8(const struct dcm_dataset *ds, const struct dcm_element *el, uint32_t index,
                     char *buf, size_t bufsize)
{
    char *s;
    size_t len;
    int rc = utf8_of(ds, el, index, &s, &len, NULL);
    if (rc < 0)
        return rc;
    if (bufsize) {
        size_t k = len < bufsize - 1 ? len : bufsize - 1;
        memcpy(buf, s, k);
        buf[k] = '\0';
    }
    free(s);
    return len > INT32_MAX ? INT32_MAX : (int)len;
}

int dcm_dataset_get_utf8(const struct dcm_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                         size_t bufsize)
{
    const struct dcm_element *el = dcm_dataset_get(ds, tag);
    if (!el)
        return -ENOENT;
    return dcm_element_utf8(ds, el, index, buf, bufsize);
}

char *dcm_element_utf8_dup(const struct dcm_dataset *ds, const struct dcm_element *el,
                           uint32_t index, struct ferry_error **err)
{
    char *s;
    size_t len;
    if (utf8_of(ds, el, index, &s, &len, err) < 0)
        return NULL;
    return s;
}

/* ---------------------------------------------------------------------------
 * Numbers */

static int number_string(const struct dcm_element *el, uint32_t index, char *buf, size_t size)
{
    const char *p;
    size_t n;
    int rc = dcm_element_string(NULL, el, index, &p, &n);
    if (rc < 0)
        return rc;
    if (n == 0 || n >= size)
        return -EINVAL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

static int binary_at(const struct dcm_element *el, uint32_t index, size_t size,
                     const uint8_t **p)
{
    if (el->flags & EL_SKIPPED)
        return -ENOENT;
    if ((uint64_t)index * size + size > el->length || !el->u.value)
        return -ENOENT;
    *p = el->u.value + (size_t)index * size;
    return 0;
}

static uint64_t rd64le(const uint8_t *p)
{
    return (uint64_t)rd32le(p) | ((uint64_t)rd32le(p + 4) << 32);
}

/* The value as the widest type that holds it exactly: *is_float, *i (signed),
 * *u (unsigned, when *is_unsigned) or *d. */
struct num {
    enum { N_INT, N_UINT, N_FLOAT } kind;
    int64_t i;
    uint64_t u;
    double d;
};

static int get_num(const struct dcm_element *el, uint32_t index, struct num *out)
{
    if (!el)
        return -ENOENT;
    const uint8_t *p;
    int rc;
    char buf[80];
    switch (el->vr) {
    case DCM_VR_US:
        if ((rc = binary_at(el, index, 2, &p)) < 0)
            return rc;
        out->kind = N_UINT, out->u = rd16le(p);
        return 0;
    case DCM_VR_SS:
        if ((rc = binary_at(el, index, 2, &p)) < 0)
            return rc;
        out->kind = N_INT, out->i = (int16_t)rd16le(p);
        return 0;
    case DCM_VR_UL:
        if ((rc = binary_at(el, index, 4, &p)) < 0)
            return rc;
        out->kind = N_UINT, out->u = rd32le(p);
        return 0;
    case DCM_VR_SL:
        if ((rc = binary_at(el, index, 4, &p)) < 0)
            return rc;
        out->kind = N_INT, out->i = (int32_t)rd32le(p);
        return 0;
    case DCM_VR_UV:
        if ((rc = binary_at(el, index, 8, &p)) < 0)
            return rc;
        out->kind = N_UINT, out->u = rd64le(p);
        return 0;
    case DCM_VR_SV:
        if ((rc = binary_at(el, index, 8, &p)) < 0)
            return rc;
        out->kind = N_INT, out->i = (int64_t)rd64le(p);
        return 0;
    case DCM_VR_AT:
        if ((rc = binary_at(el, index, 4, &p)) < 0)
            return rc;
        out->kind = N_UINT, out->u = DCM_TAG(rd16le(p), rd16le(p + 2));
        return 0;
    case DCM_VR_FL: {
        if ((rc = binary_at(el, index, 4, &p)) < 0)
            return rc;
        uint32_t b = rd32le(p);
        float f;
        memcpy(&f, &b, 4);
        out->kind = N_FLOAT, out->d = f;
        return 0;
    }
    case DCM_VR_FD: {
        if ((rc = binary_at(el, index, 8, &p)) < 0)
            return rc;
        uint64_t b = rd64le(p);
        memcpy(&out->d, &b, 8);
        out->kind = N_FLOAT;
        return 0;
    }
    case DCM_VR_IS: {
        if ((rc = number_string(el, index, buf, sizeof buf)) < 0)
            return rc;
        char *end;
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (*end || end == buf)
            return -EINVAL;
        if (errno == ERANGE)
            return -ERANGE;
        out->kind = N_INT, out->i = v;
        return 0;
    }
    case DCM_VR_DS: {
        if ((rc = number_string(el, index, buf, sizeof buf)) < 0)
            return rc;
        char *end;
        double v = strtod(buf, &end);
        if (*end || end == buf || !isfinite(v))
            return -EINVAL;
        out->kind = N_FLOAT, out->d = v;
        return 0;
    }
    default:
        return -EINVAL;
    }
}

int dcm_element_uint(const struct dcm_element *el, uint32_t index, uint64_t *out)
{
    struct num n;
    int rc = get_num(el, index, &n);
    if (rc < 0)
        return rc;
    if (n.kind == N_FLOAT)
        return -EINVAL;
    if (n.kind == N_INT) {
        if (n.i < 0)
            return -ERANGE;
        *out = (uint64_t)n.i;
    } else {
        *out = n.u;
    }
    return 0;
}

int dcm_element_int(const struct dcm_element *el, uint32_t index, int64_t *out)
{
    struct num n;
    int rc = get_num(el, index, &n);
    if (rc < 0)
        return rc;
    if (n.kind == N_FLOAT)
        return -EINVAL;
    if (n.kind == N_UINT) {
        if (n.u > INT64_MAX)
            return -ERANGE;
        *out = (int64_t)n.u;
    } else {
        *out = n.i;
    }
    return 0;
}

int dcm_element_double(const struct dcm_element *el, uint32_t index, double *out)
{
    struct num n;
    int rc = get_num(el, index, &n);
    if (rc < 0)
        return rc;
    *out = n.kind == N_FLOAT ? n.d : n.kind == N_INT ? (double)n.i : (double)n.u;
    return 0;
}

int dcm_dataset_get_uint(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                         uint64_t *out)
{
    return dcm_element_uint(dcm_dataset_get(ds, tag), index, out);
}

int dcm_dataset_get_int(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                        int64_t *out)
{
    return dcm_element_int(dcm_dataset_get(ds, tag), index, out);
}

int dcm_dataset_get_double(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                           double *out)
{
    return dcm_element_double(dcm_dataset_get(ds, tag), index, out);
}

/* ---------------------------------------------------------------------------
 * Setting */

static int resolve_vr(uint32_t tag, enum dcm_vr vr, enum dcm_vr *out)
{
    if (DCM_TAG_GROUP(tag) == 0xFFFE)
        return -EINVAL;
    if (vr == DCM_VR_NONE) {
        const struct dcm_dict_entry *e = dcm_dict_lookup(tag);
        if (!e || e->vr == DCM_VR_NONE)
            return -EINVAL;
        vr = dcm__implicit_vr(tag);
    }
    if (!dcm_vr_is_valid(vr))
        return -EINVAL;
    *out = vr;
    return 0;
}

/* The slot for `tag` in ds (existing, released, or new). */
static struct dcm_element *slot(struct dcm_dataset *ds, uint32_t tag)
{
    long i = dcm__find(ds, tag);
    struct dcm_element *el;
    if (i >= 0) {
        el = &ds->els[i];
        dcm__element_release(el);
        memset(el, 0, sizeof *el);
        el->tag = tag;
        el->offset = UINT64_MAX;
    } else {
        el = dcm__insert(ds, (size_t)(-i - 1), tag);
    }
    return el;
}

/* Copy a value (padded to even length) into memory the data set owns. */
static uint8_t *own_copy(struct dcm_root *r, const void *bytes, uint32_t len, enum dcm_vr vr,
                         uint32_t *padded, bool *heap)
{
    uint32_t plen = len + (len & 1u);
    *padded = plen;
    *heap = plen > ARENA_VALUE_MAX;
    if (plen == 0)
        return NULL;
    uint8_t *d;
    if (*heap) {
        d = malloc(plen);
        if (d)
            r->flags |= ROOT_HAS_HEAP;
    } else {
        /* The arena may refuse when a memory limit was set for parsing; a
         * setter is not bound by it. */
        size_t saved = r->mem_limit;
        r->mem_limit = 0;
        d = dcm__alloc(r, plen);
        r->mem_limit = saved;
    }
    if (!d)
        return NULL;
    if (len)
        memcpy(d, bytes, len);
    if (plen != len)
        d[len] = dcm_vr_padding(vr);
    return d;
}

int dcm_dataset_set(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const void *bytes,
                    uint32_t len)
{
    enum dcm_vr v;
    if (resolve_vr(tag, vr, &v) < 0 || v == DCM_VR_SQ || len > 0xFFFFFFFEu ||
        (len && !bytes))
        return -EINVAL;
    uint32_t plen;
    bool heap;
    uint8_t *d = own_copy(ds->root, bytes, len, v, &plen, &heap);
    if (plen && !d)
        return -ENOMEM;
    struct dcm_element *el = slot(ds, tag);
    if (!el) {
        if (heap)
            free(d);
        return -ENOMEM;
    }
    el->vr = (uint16_t)v;
    el->length = plen;
    el->u.value = d;
    if (heap)
        el->flags |= EL_HEAP;
    dcm__mark_changed(ds);
    return 0;
}

int dcm_dataset_set_take(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, void *bytes,
                         uint32_t len)
{
    enum dcm_vr v;
    if (resolve_vr(tag, vr, &v) < 0 || v == DCM_VR_SQ || (len & 1u) || len > 0xFFFFFFFEu ||
        (len && !bytes))
        return -EINVAL;
    struct dcm_element *el = slot(ds, tag);
    if (!el)
        return -ENOMEM;
    el->vr = (uint16_t)v;
    el->length = len;
    el->u.value = bytes;
    if (bytes) {
        el->flags |= EL_HEAP;
        ds->root->flags |= ROOT_HAS_HEAP;
    }
    if (!len && bytes) {
        free(bytes);
        el->u.value = NULL;
        el->flags &= ~(uint16_t)EL_HEAP;
    }
    dcm__mark_changed(ds);
    return 0;
}

int dcm_dataset_set_string(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 0xFFFFFFFEu)
        return -EINVAL;
    return dcm_dataset_set(ds, tag, vr, s, (uint32_t)n);
}

int dcm_dataset_set_utf8(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *utf8)
{
    enum dcm_vr v;
    if (resolve_vr(tag, vr, &v) < 0 || !dcm_vr_is_string(v) || !utf8)
        return -EINVAL;
    struct dcm_charset cs;
    if (dcm_dataset_charset(ds, &cs, NULL) < 0)
        return -EINVAL;
    char *out = NULL;
    size_t len = 0;
    int rc = dcm_charset_encode(&cs, v, utf8, strlen(utf8), &out, &len, NULL);
    if (rc == 0)
        rc = len > 0xFFFFFFFEu ? -EINVAL : dcm_dataset_set(ds, tag, v, out, (uint32_t)len);
    free(out);
    return rc;
}

/* DS: at most 16 characters, the shortest that reads back as the same
 * double, else the most precise that fits. */
static int format_ds(double v, char *buf, size_t size)
{
    if (!isfinite(v))
        return -ERANGE;
    /* Plain notation first ("120", not "1.2e+02"), then exponents. */
    for (int pass = 0; pass < 2; pass++)
        for (int prec = 1; prec <= 17; prec++) {
            int n = snprintf(buf, size, "%.*g", prec, v);
            if (n > 16)
                break;
            if (pass == 0 && strchr(buf, 'e'))
                continue;
            if (strtod(buf, NULL) == v)
                return n;
        }
    for (int prec = 16; prec >= 1; prec--) {
        int n = snprintf(buf, size, "%.*g", prec, v);
        if (n <= 16)
            return n;
    }
    return -ERANGE;
}

static int set_number(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, bool is_float,
                      int64_t i, uint64_t u, bool is_unsigned, double d)
{
    enum dcm_vr v;
    if (resolve_vr(tag, vr, &v) < 0)
        return -EINVAL;
    uint8_t b[8];
    char s[40];
    int n;
    /* The value as a signed or unsigned integer, when it is one. */
    bool neg = !is_unsigned && !is_float && i < 0;
    uint64_t mag = is_unsigned ? u : (uint64_t)(neg ? 0 : i);
    if (is_float && v != DCM_VR_FL && v != DCM_VR_FD && v != DCM_VR_DS) {
        if (!(d >= -9.2e18 && d <= 1.8e19) || d != floor(d))
            return -ERANGE;
        if (d < 0) {
            neg = true;
            i = (int64_t)d;
        } else {
            mag = (uint64_t)d;
            i = d <= 9.2e18 ? (int64_t)d : INT64_MAX;
        }
    }
    switch (v) {
    case DCM_VR_US:
        if (neg || mag > 0xFFFF)
            return -ERANGE;
        wr16le(b, (uint16_t)mag);
        return dcm_dataset_set(ds, tag, v, b, 2);
    case DCM_VR_SS: {
        int64_t x = neg ? i : (int64_t)mag;
        if ((!neg && mag > 0x7FFF) || x < -32768)
            return -ERANGE;
        wr16le(b, (uint16_t)(int16_t)x);
        return dcm_dataset_set(ds, tag, v, b, 2);
    }
    case DCM_VR_UL:
        if (neg || mag > 0xFFFFFFFFu)
            return -ERANGE;
        wr32le(b, (uint32_t)mag);
        return dcm_dataset_set(ds, tag, v, b, 4);
    case DCM_VR_SL: {
        int64_t x = neg ? i : (int64_t)mag;
        if ((!neg && mag > 0x7FFFFFFF) || x < INT32_MIN)
            return -ERANGE;
        wr32le(b, (uint32_t)(int32_t)x);
        return dcm_dataset_set(ds, tag, v, b, 4);
    }
    case DCM_VR_UV:
        if (neg)
            return -ERANGE;
        wr32le(b, (uint32_t)mag);
        wr32le(b + 4, (uint32_t)(mag >> 32));
        return dcm_dataset_set(ds, tag, v, b, 8);
    case DCM_VR_SV: {
        if (!neg && mag > INT64_MAX)
            return -ERANGE;
        uint64_t x = neg ? (uint64_t)i : mag;
        wr32le(b, (uint32_t)x);
        wr32le(b + 4, (uint32_t)(x >> 32));
        return dcm_dataset_set(ds, tag, v, b, 8);
    }
    case DCM_VR_AT:
        if (neg || mag > 0xFFFFFFFFu)
            return -ERANGE;
        wr16le(b, (uint16_t)(mag >> 16));
        wr16le(b + 2, (uint16_t)mag);
        return dcm_dataset_set(ds, tag, v, b, 4);
    case DCM_VR_IS:
        if (neg)
            n = snprintf(s, sizeof s, "%" PRId64, i);
        else
            n = snprintf(s, sizeof s, "%" PRIu64, mag);
        if (n > 12 || (neg && i < -2147483648LL) || (!neg && mag > 2147483647u))
            return -ERANGE;
        return dcm_dataset_set(ds, tag, v, s, (uint32_t)n);
    case DCM_VR_DS: {
        double x = is_float ? d : neg ? (double)i : (double)mag;
        n = format_ds(x, s, sizeof s);
        if (n < 0)
            return n;
        return dcm_dataset_set(ds, tag, v, s, (uint32_t)n);
    }
    case DCM_VR_FL: {
        double x = is_float ? d : neg ? (double)i : (double)mag;
        float f = (float)x;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        wr32le(b, bits);
        return dcm_dataset_set(ds, tag, v, b, 4);
    }
    case DCM_VR_FD: {
        double x = is_float ? d : neg ? (double)i : (double)mag;
        uint64_t bits;
        memcpy(&bits, &x, 8);
        wr32le(b, (uint32_t)bits);
        wr32le(b + 4, (uint32_t)(bits >> 32));
        return dcm_dataset_set(ds, tag, v, b, 8);
    }
    default:
        return -EINVAL;
    }
}

int dcm_dataset_set_uint(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, uint64_t value)
{
    return set_number(ds, tag, vr, false, 0, value, true, 0);
}

int dcm_dataset_set_int(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, int64_t value)
{
    return set_number(ds, tag, vr, false, value, 0, false, 0);
}

int dcm_dataset_set_double(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, double value)
{
    return set_number(ds, tag, vr, true, 0, 0, false, value);
}

int dcm_dataset_remove(struct dcm_dataset *ds, uint32_t tag)
{
    long i = dcm__find(ds, tag);
    if (i < 0)
        return -ENOENT;
    dcm__element_release(&ds->els[i]);
    memmove(&ds->els[i], &ds->els[i + 1], sizeof *ds->els * (ds->n - (size_t)i - 1));
    ds->n--;
    dcm__mark_changed(ds);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Sequences */

int dcm_dataset_set_sequence(struct dcm_dataset *ds, uint32_t tag)
{
    if (DCM_TAG_GROUP(tag) == 0xFFFE)
        return -EINVAL;
    struct dcm_seq *sq = dcm__alloc(ds->root, sizeof *sq);
    if (!sq)
        return -ENOMEM;
    memset(sq, 0, sizeof *sq);
    struct dcm_element *el = slot(ds, tag);
    if (!el)
        return -ENOMEM;
    el->vr = DCM_VR_SQ;
    el->flags = EL_UNDEF;
    el->u.seq = sq;
    dcm__mark_changed(ds);
    return 0;
}

struct dcm_dataset *dcm_dataset_add_item(struct dcm_dataset *ds, uint32_t tag)
{
    long i = dcm__find(ds, tag);
    if (i < 0) {
        if (dcm_dataset_set_sequence(ds, tag) < 0)
            return NULL;
        i = dcm__find(ds, tag);
    }
    struct dcm_element *el = &ds->els[i];
    if (!dcm_element_is_sequence(el) || !el->u.seq)
        return NULL;
    struct dcm_seq *sq = el->u.seq;
    struct dcm_dataset *it = dcm__item_new(ds->root, ds);
    if (!it)
        return NULL;
    it->flags = DS_UNDEF | DS_CHANGED;
    if (sq->n == sq->cap) {
        uint32_t cap = sq->cap < 4 ? 4 : sq->cap * 2;
        struct dcm_dataset **items = malloc(sizeof *items * cap);
        if (!items)
            return NULL;
        if (sq->n)
            memcpy(items, sq->items, sizeof *items * sq->n);
        if (sq->heap)
            free(sq->items);
        sq->items = items;
        sq->cap = cap;
        sq->heap = true;
        ds->root->flags |= ROOT_HAS_HEAP;
    }
    sq->items[sq->n++] = it;
    dcm__mark_changed(ds);
    return it;
}

int dcm_dataset_remove_item(struct dcm_dataset *ds, uint32_t tag, uint32_t index)
{
    long i = dcm__find(ds, tag);
    if (i < 0 || !dcm_element_is_sequence(&ds->els[i]))
        return -ENOENT;
    struct dcm_seq *sq = ds->els[i].u.seq;
    if (!sq || index >= sq->n)
        return -ENOENT;
    struct dcm_dataset *it = sq->items[index];
    for (uint32_t k = 0; k < it->n; k++)
        dcm__element_release(&it->els[k]);
    if (it->flags & DS_ELS_HEAP)
        free(it->els);
    it->els = NULL;
    it->n = it->cap = 0;
    memmove(&sq->items[index], &sq->items[index + 1],
            sizeof *sq->items * (sq->n - index - 1));
    sq->n--;
    dcm__mark_changed(ds);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Encapsulated Pixel Data */

int dcm_dataset_set_encapsulated(struct dcm_dataset *ds)
{
    struct dcm_pixseq *px = dcm__alloc(ds->root, sizeof *px);
    if (!px)
        return -ENOMEM;
    memset(px, 0, sizeof *px);
    struct dcm_element *el = slot(ds, DCM_TAG_PIXEL_DATA);
    if (!el)
        return -ENOMEM;
    el->vr = DCM_VR_OB;
    el->flags = EL_PIXSEQ | EL_UNDEF;
    el->length = DCM_UNDEFINED_LENGTH;
    el->u.px = px;
    dcm__mark_changed(ds);
    return 0;
}

static struct dcm_pixseq *pixseq_of(struct dcm_dataset *ds)
{
    long i = dcm__find(ds, DCM_TAG_PIXEL_DATA);
    if (i < 0 || !(ds->els[i].flags & EL_PIXSEQ))
        return NULL;
    return ds->els[i].u.px;
}

static int append_fragment(struct dcm_dataset *ds, struct dcm_pixseq *px, const uint8_t *bytes,
                           uint32_t len, bool heap)
{
    if (px->n == px->cap) {
        uint32_t cap = px->cap < 8 ? 8 : px->cap * 2;
        struct dcm_frag *f = malloc(sizeof *f * cap);
        if (!f)
            return -ENOMEM;
        if (px->n)
            memcpy(f, px->frags, sizeof *f * px->n);
        if (px->heap)
            free(px->frags);
        px->frags = f;
        px->cap = cap;
        px->heap = true;
        ds->root->flags |= ROOT_HAS_HEAP;
    }
    struct dcm_frag *f = &px->frags[px->n++];
    memset(f, 0, sizeof *f);
    f->bytes = bytes;
    f->length = len;
    f->flags = heap ? FRAG_HEAP : 0;
    f->offset = UINT64_MAX;
    dcm__mark_changed(ds);
    return 0;
}

int dcm_dataset_add_fragment(struct dcm_dataset *ds, const void *bytes, uint32_t len)
{
    struct dcm_pixseq *px = pixseq_of(ds);
    if (!px || len > 0xFFFFFFFEu || (len && !bytes))
        return -EINVAL;
    uint32_t plen = len + (len & 1u);
    uint8_t *d = NULL;
    if (plen) {
        d = malloc(plen);
        if (!d)
            return -ENOMEM;
        memcpy(d, bytes, len);
        if (plen != len)
            d[len] = 0;
        ds->root->flags |= ROOT_HAS_HEAP;
    }
    int rc = append_fragment(ds, px, d, plen, d != NULL);
    if (rc < 0)
        free(d);
    return rc;
}

int dcm_dataset_add_fragment_take(struct dcm_dataset *ds, void *bytes, uint32_t len)
{
    struct dcm_pixseq *px = pixseq_of(ds);
    if (!px || (len & 1u) || (len && !bytes))
        return -EINVAL;
    if (bytes)
        ds->root->flags |= ROOT_HAS_HEAP;
    return append_fragment(ds, px, bytes, len, bytes != NULL);
}

int dcm_dataset_fill_offset_table(struct dcm_dataset *ds)
{
    struct dcm_pixseq *px = pixseq_of(ds);
    if (!px)
        return -EINVAL;
    if ((uint64_t)px->n * 4 > 0xFFFFFFFEu)
        return -E2BIG;
    uint8_t *t = px->n ? malloc((size_t)px->n * 4) : NULL;
    if (px->n && !t)
        return -ENOMEM;
    uint64_t off = 0;
    for (uint32_t i = 0; i < px->n; i++) {
        if (off > UINT32_MAX) {
            free(t);
            return -E2BIG; /* 32-bit offsets: use the Extended Offset Table */
        }
        wr32le(t + 4 * i, (uint32_t)off);
        off += 8 + (uint64_t)px->frags[i].length;
    }
    if (px->bot.flags & FRAG_HEAP)
        free((void *)px->bot.bytes);
    px->bot.bytes = t;
    px->bot.length = px->n * 4;
    px->bot.flags = t ? FRAG_HEAP : 0;
    if (t)
        ds->root->flags |= ROOT_HAS_HEAP;
    dcm__mark_changed(ds);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Charset conversion of a whole tree */

struct recode {
    struct dcm_dataset *ds;
    uint32_t tag;
    enum dcm_vr vr;
    char *bytes;
    size_t len;
};

struct recode_list {
    struct recode *v;
    size_t n, cap;
};

static int collect(struct dcm_dataset *ds, const struct dcm_charset *to, struct recode_list *l,
                   struct ferry_error **err)
{
    struct dcm_charset from;
    int rc = dcm_dataset_charset(ds, &from, err);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < ds->n; i++) {
        struct dcm_element *el = &ds->els[i];
        if (dcm_element_is_sequence(el)) {
            for (uint32_t k = 0; k < dcm_element_item_count(el); k++)
                if ((rc = collect(el->u.seq->items[k], to, l, err)) < 0)
                    return rc;
            continue;
        }
        enum dcm_vr vr = (enum dcm_vr)el->vr;
        if (!dcm_vr_is_text(vr) || el->length == 0 || (el->flags & EL_SKIPPED))
            continue;
        char *u = NULL;
        size_t ulen = 0;
        rc = dcm_charset_decode(&from, vr, el->u.value, el->length, &u, &ulen, err);
        char *e = NULL;
        size_t elen = 0;
        if (rc == 0)
            rc = dcm_charset_encode(to, vr, u, ulen, &e, &elen, err);
        free(u);
        if (rc == 0 && l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            struct recode *nv = realloc(l->v, sizeof *nv * cap);
            if (!nv)
                rc = -ENOMEM;
            else
                l->v = nv, l->cap = cap;
        }
        if (rc < 0) {
            free(e);
            if (rc == -EILSEQ)
                ferry_error_prefix(err, "(%04X,%04X) %s", DCM_TAG_GROUP(el->tag),
                                   DCM_TAG_ELEMENT(el->tag), dcm_vr_name(vr));
            return rc;
        }
        l->v[l->n++] = (struct recode){ ds, el->tag, vr, e, elen };
    }
    return 0;
}

static void drop_item_charsets(struct dcm_dataset *ds, bool is_root)
{
    if (!is_root && dcm__find(ds, DCM_TAG_SpecificCharacterSet) >= 0)
        dcm_dataset_remove(ds, DCM_TAG_SpecificCharacterSet);
    for (uint32_t i = 0; i < ds->n; i++)
        if (dcm_element_is_sequence(&ds->els[i]))
            for (uint32_t k = 0; k < dcm_element_item_count(&ds->els[i]); k++)
                drop_item_charsets(ds->els[i].u.seq->items[k], false);
}

int dcm_dataset_convert_charset(struct dcm_dataset *ds, const char *term,
                                struct ferry_error **err)
{
    struct dcm_charset to;
    int rc = dcm_charset_parse(term, term ? strlen(term) : 0, &to, err);
    if (rc < 0)
        return rc;
    if (to.n > 1)
        return ferry_error_set(err, -EINVAL, "convert to a single character set, not '%s'", term);
    struct dcm_dataset *root = &ds->root->ds;
    struct recode_list l = { 0 };
    rc = collect(root, &to, &l, err);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        rc = dcm_dataset_set(l.v[i].ds, l.v[i].tag, l.v[i].vr, l.v[i].bytes, (uint32_t)l.v[i].len);
        if (rc < 0)
            ferry_error_set(err, rc, "out of memory");
    }
    if (rc == 0) {
        drop_item_charsets(root, true);
        rc = dcm_dataset_set_string(root, DCM_TAG_SpecificCharacterSet, DCM_VR_CS, term);
        if (rc < 0)
            ferry_error_set(err, rc, "out of memory");
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].bytes);
    free(l.v);
    return rc;
}
