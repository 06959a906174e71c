/* Lookups in the generated tables (deid_table.c), and the names of options
 * and action codes. */
#include "deid-private.h"

#include <string.h>

struct option_info {
    const char *name;      /* the step parameter's spelling */
    const char *code;      /* CID 7050, coding scheme DCM */
    const char *meaning;
};

static const struct option_info options[DEID_OPT_COUNT] = {
    [DEID_OPT_RETAIN_SAFE_PRIVATE] = { "retain-safe-private", "113111",
                                       "Retain Safe Private Option" },
    [DEID_OPT_RETAIN_UIDS] = { "retain-uids", "113110", "Retain UIDs Option" },
    [DEID_OPT_RETAIN_DEVICE_IDENTITY] = { "retain-device-identity", "113109",
                                          "Retain Device Identity Option" },
    [DEID_OPT_RETAIN_INSTITUTION_IDENTITY] = { "retain-institution-identity", "113112",
                                               "Retain Institution Identity Option" },
    [DEID_OPT_RETAIN_PATIENT_CHARACTERISTICS] = { "retain-patient-characteristics", "113108",
                                                  "Retain Patient Characteristics Option" },
    [DEID_OPT_RETAIN_LONG_FULL_DATES] = {
        "retain-long-full-dates", "113106",
        "Retain Longitudinal Temporal Information Full Dates Option" },
    [DEID_OPT_RETAIN_LONG_MODIFIED_DATES] = {
        "retain-long-modified-dates", "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option" },
    [DEID_OPT_CLEAN_DESCRIPTORS] = { "clean-descriptors", "113105", "Clean Descriptors Option" },
    [DEID_OPT_CLEAN_STRUCTURED_CONTENT] = { "clean-structured-content", "113104",
                                            "Clean Structured Content Option" },
    [DEID_OPT_CLEAN_GRAPHICS] = { "clean-graphics", "113103", "Clean Graphics Option" },
};

const char *deid_option_name(enum deid_option o)
{
    return (unsigned)o < DEID_OPT_COUNT ? options[o].name : NULL;
}

const char *deid_option_code(enum deid_option o)
{
    return (unsigned)o < DEID_OPT_COUNT ? options[o].code : NULL;
}

const char *deid_option_meaning(enum deid_option o)
{
    return (unsigned)o < DEID_OPT_COUNT ? options[o].meaning : NULL;
}

int deid_option_from_name(const char *name)
{
    for (int i = 0; i < DEID_OPT_COUNT; i++)
        if (strcmp(options[i].name, name) == 0)
            return i;
    return -1;
}

static const char *const code_names[DEID_CODE_COUNT] = {
    [DEID_CODE_NONE] = "",   [DEID_CODE_X] = "X",      [DEID_CODE_Z] = "Z",
    [DEID_CODE_D] = "D",     [DEID_CODE_K] = "K",      [DEID_CODE_C] = "C",
    [DEID_CODE_U] = "U",     [DEID_CODE_ZD] = "Z/D",   [DEID_CODE_XZ] = "X/Z",
    [DEID_CODE_XD] = "X/D",  [DEID_CODE_XZD] = "X/Z/D", [DEID_CODE_XZU] = "X/Z/U*",
};

const char *deid_code_name(enum deid_code c)
{
    return (unsigned)c < DEID_CODE_COUNT ? code_names[c] : "?";
}

int deid_code_from_name(const char *s)
{
    for (int i = 0; i < DEID_CODE_COUNT; i++)
        if (strcmp(code_names[i], s) == 0)
            return i;
    return -1;
}

const struct deid_rule *deid_rule_find(uint32_t tag)
{
    size_t lo = 0, hi = deid_rule_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (deid_rules[mid].tag == tag)
            return &deid_rules[mid];
        if (deid_rules[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < deid_pattern_rule_count; i++)
        if ((tag & deid_pattern_rules[i].mask) == deid_pattern_rules[i].tag)
            return &deid_pattern_rules[i];
    return NULL;
}

int deid_iod_find(const char *sop_class_uid)
{
    if (!sop_class_uid)
        return -1;
    size_t lo = 0, hi = deid_iod_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(deid_iods[mid].sop_class_uid, sop_class_uid);
        if (c == 0)
            return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

enum deid_type deid_iod_type_of(int iod, uint32_t tag)
{
    if (iod < 0 || (size_t)iod >= deid_iod_count)
        return DEID_TYPE_UNKNOWN;
    const struct deid_iod_type *t = &deid_iod_types[deid_iods[iod].first];
    size_t lo = 0, hi = deid_iods[iod].count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].tag == tag)
            return (enum deid_type)t[mid].type;
        if (t[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* dciodvfy knows this IOD and does not place the attribute at its top
     * level: nothing requires it there. */
    return DEID_TYPE_3;
}

/* Private Creator values are compared without their trailing spaces (the
 * padding of LO), case-sensitively as PS3.5 7.8.1 asks. */
static bool creator_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == ' ')
        la--;
    while (lb && b[lb - 1] == ' ')
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

bool deid_private_is_safe(uint16_t group, const char *creator, uint8_t element_low)
{
    if (!creator)
        return false;
    for (size_t i = 0; i < deid_safe_private_count; i++) {
        const struct deid_safe_private *s = &deid_safe_privates[i];
        if (s->group == group && s->element == element_low && creator_eq(s->creator, creator))
            return true;
    }
    return false;
}

bool deid_private_creator_known(uint16_t group, const char *creator)
{
    if (!creator)
        return false;
    for (size_t i = 0; i < deid_safe_private_count; i++)
        if (deid_safe_privates[i].group == group &&
            creator_eq(deid_safe_privates[i].creator, creator))
            return true;
    return false;
}
