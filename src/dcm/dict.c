/* ferry — VRs, the data dictionary, transfer syntaxes and SOP classes. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "dcm/dcm-private.h"

/* ---------------------------------------------------------------------------
 * VRs */

/* Bit i set in row (first letter) means "first letter + 'A' + i" is a VR. */
static const uint32_t vr_rows[26] = {
    ['A' - 'A'] = (1u << ('E' - 'A')) | (1u << ('S' - 'A')) | (1u << ('T' - 'A')),
    ['C' - 'A'] = (1u << ('S' - 'A')),
    ['D' - 'A'] = (1u << ('A' - 'A')) | (1u << ('S' - 'A')) | (1u << ('T' - 'A')),
    ['F' - 'A'] = (1u << ('D' - 'A')) | (1u << ('L' - 'A')),
    ['I' - 'A'] = (1u << ('S' - 'A')),
    ['L' - 'A'] = (1u << ('O' - 'A')) | (1u << ('T' - 'A')),
    ['O' - 'A'] = (1u << ('B' - 'A')) | (1u << ('D' - 'A')) | (1u << ('F' - 'A')) |
                  (1u << ('L' - 'A')) | (1u << ('V' - 'A')) | (1u << ('W' - 'A')),
    ['P' - 'A'] = (1u << ('N' - 'A')),
    ['S' - 'A'] = (1u << ('H' - 'A')) | (1u << ('L' - 'A')) | (1u << ('Q' - 'A')) |
                  (1u << ('S' - 'A')) | (1u << ('T' - 'A')) | (1u << ('V' - 'A')),
    ['T' - 'A'] = (1u << ('M' - 'A')),
    ['U' - 'A'] = (1u << ('C' - 'A')) | (1u << ('I' - 'A')) | (1u << ('L' - 'A')) |
                  (1u << ('N' - 'A')) | (1u << ('R' - 'A')) | (1u << ('S' - 'A')) |
                  (1u << ('T' - 'A')) | (1u << ('V' - 'A')),
};

enum dcm_vr dcm_vr_from_bytes(const uint8_t b[2])
{
    unsigned a = (unsigned)b[0] - 'A', c = (unsigned)b[1] - 'A';
    if (a < 26 && c < 26 && (vr_rows[a] >> c) & 1u)
        return (enum dcm_vr)((b[0] << 8) | b[1]);
    return DCM_VR_NONE;
}

bool dcm_vr_is_valid(enum dcm_vr vr)
{
    uint8_t b[2] = { (uint8_t)((unsigned)vr >> 8), (uint8_t)vr };
    return (unsigned)vr <= 0xffff && dcm_vr_from_bytes(b) != DCM_VR_NONE;
}

const char *dcm_vr_name(enum dcm_vr vr)
{
    /* Two letters per VR, looked up rather than built so the result is
     * static. */
    static const char names[][3] = {
        "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT",
        "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
        "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV", "xs", "ox",
        "px", "lt",
    };
    if (vr == DCM_VR_NONE)
        return "--";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((unsigned)((names[i][0] << 8) | names[i][1]) == (unsigned)vr)
            return names[i];
    return "??";
}

enum dcm_vr dcm_vr_from_name(const char *name)
{
    if (!name || !name[0] || !name[1] || name[2])
        return DCM_VR_NONE;
    enum dcm_vr vr = dcm_vr_from_bytes((const uint8_t *)name);
    if (vr != DCM_VR_NONE)
        return vr;
    unsigned v = ((unsigned)(uint8_t)name[0] << 8) | (uint8_t)name[1];
    if (v == DCM_VR_US_SS || v == DCM_VR_OB_OW || v == DCM_VR_PX || v == DCM_VR_US_SS_OW)
        return (enum dcm_vr)v;
    return DCM_VR_NONE;
}

bool dcm_vr_has_long_length(enum dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_OB: case DCM_VR_OD: case DCM_VR_OF: case DCM_VR_OL: case DCM_VR_OV:
    case DCM_VR_OW: case DCM_VR_SQ: case DCM_VR_SV: case DCM_VR_UC: case DCM_VR_UN:
    case DCM_VR_UR: case DCM_VR_UT: case DCM_VR_UV:
        return true;
    default:
        return false;
    }
}

bool dcm_vr_is_string(enum dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_AE: case DCM_VR_AS: case DCM_VR_CS: case DCM_VR_DA: case DCM_VR_DS:
    case DCM_VR_DT: case DCM_VR_IS: case DCM_VR_LO: case DCM_VR_LT: case DCM_VR_PN:
    case DCM_VR_SH: case DCM_VR_ST: case DCM_VR_TM: case DCM_VR_UC: case DCM_VR_UI:
    case DCM_VR_UR: case DCM_VR_UT:
        return true;
    default:
        return false;
    }
}

bool dcm_vr_is_text(enum dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_LO: case DCM_VR_LT: case DCM_VR_PN: case DCM_VR_SH: case DCM_VR_ST:
    case DCM_VR_UC: case DCM_VR_UT:
        return true;
    default:
        return false;
    }
}

size_t dcm_vr_value_size(enum dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_US: case DCM_VR_SS: case DCM_VR_OW: case DCM_VR_AT:
        return 2;
    case DCM_VR_UL: case DCM_VR_SL: case DCM_VR_FL: case DCM_VR_OF: case DCM_VR_OL:
        return 4;
    case DCM_VR_FD: case DCM_VR_OD: case DCM_VR_SV: case DCM_VR_UV: case DCM_VR_OV:
        return 8;
    case DCM_VR_OB: case DCM_VR_UN:
        return 1;
    default:
        return 0;
    }
}

uint8_t dcm_vr_padding(enum dcm_vr vr)
{
    return dcm_vr_is_string(vr) && vr != DCM_VR_UI ? ' ' : 0;
}

void dcm__swap(uint8_t *p, size_t len, size_t unit)
{
    if (unit < 2)
        return;
    size_t n = len / unit;
    for (size_t i = 0; i < n; i++, p += unit) {
        for (size_t a = 0, b = unit - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
    }
}

/* ---------------------------------------------------------------------------
 * Dictionary */

static const struct dcm_dict_entry *exact_lookup(uint32_t tag)
{
    size_t lo = 0, hi = dcm__dict_exact_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t = dcm__dict_tags[mid];
        if (t == tag)
            return &dcm__dict_exact[mid];
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool range_matches(const struct dcm_dict_entry *e, uint32_t tag)
{
    unsigned g = DCM_TAG_GROUP(tag), el = DCM_TAG_ELEMENT(tag);
    unsigned g0 = DCM_TAG_GROUP(e->tag), e0 = DCM_TAG_ELEMENT(e->tag);
    if (g < g0 || g > e->group_last || el < e0 || el > e->element_last)
        return false;
    if ((g - g0) % e->group_step != 0)
        return false;
    return (el - e0) % e->element_step == 0;
}

const struct dcm_dict_entry *dcm_dict_lookup(uint32_t tag)
{
    const struct dcm_dict_entry *e = exact_lookup(tag);
    if (e)
        return e;
    /* Ranges are sorted most specific first; the generic group-length and
     * private-creator entries come last. */
    for (size_t i = 0; i < dcm__dict_ranges_n; i++)
        if (range_matches(&dcm__dict_ranges[i], tag))
            return &dcm__dict_ranges[i];
    return NULL;
}

static const struct dcm_dict_entry *keyword_entry(size_t idx)
{
    return idx < dcm__dict_exact_n ? &dcm__dict_exact[idx]
                                   : &dcm__dict_ranges[idx - dcm__dict_exact_n];
}

bool dcm_dict_tag_of(const char *keyword, uint32_t *tag)
{
    size_t lo = 0, hi = dcm__dict_by_keyword_n;
    if (!keyword)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct dcm_dict_entry *e = keyword_entry(dcm__dict_by_keyword[mid]);
        int c = strcmp(e->keyword, keyword);
        if (c == 0) {
            *tag = e->tag;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *tag = 0;
    return false;
}

const char *dcm_dict_keyword(uint32_t tag)
{
    const struct dcm_dict_entry *e = dcm_dict_lookup(tag);
    return e ? e->keyword : "Unknown Tag & Data";
}

enum dcm_vr dcm_dict_implicit_vr(uint32_t tag)
{
    return dcm__implicit_vr(tag);
}

enum dcm_vr dcm__implicit_vr(uint32_t tag)
{
    const struct dcm_dict_entry *e = dcm_dict_lookup(tag);
    if (!e)
        return DCM_VR_UN;
    /* Private tags other than creators and group lengths are unknown to us,
     * whatever a range entry might say. */
    switch (e->vr) {
    case DCM_VR_US_SS:
        return DCM_VR_US;
    case DCM_VR_OB_OW:
    case DCM_VR_PX:
    case DCM_VR_US_SS_OW:
        return DCM_VR_OW;
    default:
        return (enum dcm_vr)e->vr;
    }
}

size_t dcm_dict_size(void)
{
    return dcm__dict_exact_n + dcm__dict_ranges_n;
}

/* ---------------------------------------------------------------------------
 * UIDs */

/* A UID in a value may end in NUL or space padding. */
static size_t uid_len(const char *uid, size_t len)
{
    while (len > 0 && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
        len--;
    return len;
}

const struct dcm_ts *dcm_ts_lookup_n(const char *uid, size_t len)
{
    if (!uid)
        return NULL;
    len = uid_len(uid, len);
    for (size_t i = 0; i < dcm__ts_table_n; i++) {
        const char *u = dcm__ts_table[i].uid;
        if (strlen(u) == len && memcmp(u, uid, len) == 0)
            return &dcm__ts_table[i];
    }
    return NULL;
}

const struct dcm_ts *dcm_ts_lookup(const char *uid)
{
    return uid ? dcm_ts_lookup_n(uid, strlen(uid)) : NULL;
}

const struct dcm_ts *dcm_ts_all(size_t *n)
{
    *n = dcm__ts_table_n;
    return dcm__ts_table;
}

bool dcm_ts_is_uncompressed(const struct dcm_ts *ts)
{
    return ts && !ts->encapsulated &&
           (strcmp(ts->uid, DCM_UID_ImplicitVRLittleEndian) == 0 ||
            strcmp(ts->uid, DCM_UID_ExplicitVRLittleEndian) == 0 ||
            strcmp(ts->uid, DCM_UID_ExplicitVRBigEndian) == 0 ||
            strcmp(ts->uid, DCM_UID_DeflatedExplicitVRLittleEndian) == 0);
}

const struct dcm_sop_class *dcm_sop_class_lookup_n(const char *uid, size_t len)
{
    if (!uid)
        return NULL;
    len = uid_len(uid, len);
    for (size_t i = 0; i < dcm__sop_table_n; i++) {
        const char *u = dcm__sop_table[i].uid;
        if (strlen(u) == len && memcmp(u, uid, len) == 0)
            return &dcm__sop_table[i];
    }
    return NULL;
}

const struct dcm_sop_class *dcm_sop_class_lookup(const char *uid)
{
    return uid ? dcm_sop_class_lookup_n(uid, strlen(uid)) : NULL;
}

const struct dcm_sop_class *dcm_sop_class_all(size_t *n)
{
    *n = dcm__sop_table_n;
    return dcm__sop_table;
}

const char *dcm_uid_name(const char *uid)
{
    const struct dcm_ts *ts = dcm_ts_lookup(uid);
    if (ts)
        return ts->name;
    const struct dcm_sop_class *sc = dcm_sop_class_lookup(uid);
    return sc ? sc->name : NULL;
}
