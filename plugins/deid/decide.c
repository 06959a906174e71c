/* The decision layer: for one element (tag, VR) and the route's options, in
 * the context of its instance (IOD, depth, enclosing sequences), the one
 * action the walk applies. Pure: no host, no allocation. The rules are
 * written out in CONFORMANCE.md; this file is their implementation. */
#include "deid-private.h"

#include <string.h>

#define TAG_PATIENT_NAME 0x00100010u
#define TAG_PATIENT_ID 0x00100020u

static bool vr_eq(const char *vr, const char *x)
{
    return vr[0] == x[0] && vr[1] == x[1];
}

static bool is_date_vr(const char *vr)
{
    return vr_eq(vr, "DA") || vr_eq(vr, "DT") || vr_eq(vr, "TM");
}

/* Free text and names: what a dummy or the scrubber can replace. */
static bool is_text_vr(const char *vr)
{
    static const char *const text[] = { "LO", "SH", "ST", "LT", "UT", "UC", "UR", "PN" };
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (vr_eq(vr, text[i]))
            return true;
    return false;
}

/* Values whose meaning is a bit pattern, not text: cannot be "cleaned". */
static bool is_binary_vr(const char *vr)
{
    static const char *const bin[] = { "OB", "OD", "OF", "OL", "OV", "OW", "UN" };
    for (size_t i = 0; i < sizeof bin / sizeof bin[0]; i++)
        if (vr_eq(vr, bin[i]))
            return true;
    return false;
}

/* The elements that carry a code itself (not its meaning): kept when a
 * Clean sequence scrubs the rest of the text, since a code value is not
 * free text and SNOMED codes are long runs of digits. */
static bool is_code_structure(uint32_t tag)
{
    switch (tag) {
    case 0x00080100u: /* Code Value */
    case 0x00080101u: /* Extended Code Value */
    case 0x00080102u: /* Coding Scheme Designator */
    case 0x00080103u: /* Coding Scheme Version */
    case 0x0008010Eu: /* Coding Scheme URL */
    case 0x00080119u: /* Long Code Value */
    case 0x00080120u: /* URN Code Value */
        return true;
    default:
        return false;
    }
}

enum deid_code deid_resolve(enum deid_code code, enum deid_type type)
{
    bool t1 = type == DEID_TYPE_1 || type == DEID_TYPE_1C;
    bool t2 = type == DEID_TYPE_2 || type == DEID_TYPE_2C;
    bool t3 = type == DEID_TYPE_3;
    switch (code) {
    case DEID_CODE_ZD:   /* Z unless Type 1; unknown: D */
        return t2 || t3 ? DEID_CODE_Z : DEID_CODE_D;
    case DEID_CODE_XZ:   /* X unless Type 2; unknown (or Type 1): Z */
        return t3 ? DEID_CODE_X : DEID_CODE_Z;
    case DEID_CODE_XD:   /* X unless Type 1; Type 2 needs a value too: D */
        return t3 ? DEID_CODE_X : DEID_CODE_D;
    case DEID_CODE_XZD:
        return t3 ? DEID_CODE_X : t2 ? DEID_CODE_Z : DEID_CODE_D;
    case DEID_CODE_XZU:  /* Type 1 (or unknown): keep, remap the UIDs inside */
        return t3 ? DEID_CODE_X : t2 ? DEID_CODE_Z : DEID_CODE_U;
    default:
        (void)t1;
        return code;
    }
}

static const char *const act_names[] = {
    [DEID_ACT_KEEP] = "keep",
    [DEID_ACT_REMOVE] = "remove",
    [DEID_ACT_EMPTY] = "empty",
    [DEID_ACT_DUMMY] = "dummy",
    [DEID_ACT_UID] = "uid",
    [DEID_ACT_RECURSE] = "recurse",
    [DEID_ACT_SHIFT] = "shift",
    [DEID_ACT_SCRUB] = "scrub",
    [DEID_ACT_TOKEN] = "token",
    [DEID_ACT_PRIVATE] = "private",
    [DEID_ACT_MASK_OVERLAY] = "mask-overlay",
    [DEID_ACT_PSEUDONYM] = "pseudonym",
    [DEID_ACT_SCRUB_IDENTS] = "scrub-idents",
};

const char *deid_act_name(enum deid_act a)
{
    return (unsigned)a < sizeof act_names / sizeof act_names[0] ? act_names[a] : "?";
}

/* Protection order for options that disagree: the more protective wins. */
static int protection(enum deid_code c)
{
    switch (c) {
    case DEID_CODE_X: return 6;
    case DEID_CODE_Z: return 5;
    case DEID_CODE_D: return 4;
    case DEID_CODE_C: return 3;
    case DEID_CODE_U: return 2;
    case DEID_CODE_K: return 1;
    default: return 0;
    }
}

static enum deid_mode stronger(enum deid_mode a, enum deid_mode b)
{
    return a > b ? a : b;
}

/* The code of a listed row under the selected options (CONFORMANCE.md,
 * "options"): a date option decides date and time values and its own rows
 * when no other option speaks; otherwise the most protective code among the
 * other selected options; otherwise the Basic Profile. */
static void choose_code(const struct deid_rule *rule, const char *vr, uint32_t options,
                        struct deid_decision *out)
{
    int date_opt = -1;
    enum deid_code date_code = DEID_CODE_NONE;
    static const int date_options[] = { DEID_OPT_RETAIN_LONG_FULL_DATES,
                                        DEID_OPT_RETAIN_LONG_MODIFIED_DATES };
    for (size_t i = 0; i < 2; i++) {
        int o = date_options[i];
        if (!(options & DEID_OPT_BIT(o)))
            continue;
        enum deid_code c = (enum deid_code)rule->option[o];
        /* Rows of a newer edition have no option columns; their dates follow
         * the rule for every DA/DT/TM value. */
        if (c == DEID_CODE_NONE && (rule->flags & DEID_RULE_NEWER) && is_date_vr(vr))
            c = o == DEID_OPT_RETAIN_LONG_FULL_DATES ? DEID_CODE_K : DEID_CODE_C;
        if (c != DEID_CODE_NONE) {
            date_opt = o;
            date_code = c;
        }
    }
    int other_opt = -1;
    enum deid_code other_code = DEID_CODE_NONE;
    for (int o = 0; o < DEID_OPT_COUNT; o++) {
        if (o == DEID_OPT_RETAIN_LONG_FULL_DATES || o == DEID_OPT_RETAIN_LONG_MODIFIED_DATES)
            continue;
        if (!(options & DEID_OPT_BIT(o)))
            continue;
        enum deid_code c = (enum deid_code)rule->option[o];
        if (c != DEID_CODE_NONE && protection(c) > protection(other_code)) {
            other_opt = o;
            other_code = c;
        }
    }
    if (date_code != DEID_CODE_NONE && (is_date_vr(vr) || other_code == DEID_CODE_NONE)) {
        out->table_code = date_code;
        out->source = DEID_SRC_OPTION;
        out->option = date_opt;
    } else if (other_code != DEID_CODE_NONE) {
        out->table_code = other_code;
        out->source = DEID_SRC_OPTION;
        out->option = other_opt;
    } else {
        out->table_code = (enum deid_code)rule->basic;
        out->source = DEID_SRC_BASIC;
    }
}

/* Action of a single code on an element of VR vr. */
static void act_of(uint32_t tag, const char *vr, const struct deid_scope *sc,
                   struct deid_decision *out)
{
    bool sq = vr_eq(vr, "SQ");
    switch (out->code) {
    case DEID_CODE_X:
        out->act = DEID_ACT_REMOVE;
        break;
    case DEID_CODE_Z:
        out->act = DEID_ACT_EMPTY;
        break;
    case DEID_CODE_D:
        if (sq) {
            out->act = DEID_ACT_RECURSE;
            out->child_mode = DEID_MODE_DUMMY;
        } else {
            out->act = vr_eq(vr, "UI") ? DEID_ACT_UID : DEID_ACT_DUMMY;
        }
        break;
    case DEID_CODE_K:
        out->act = sq ? DEID_ACT_RECURSE : DEID_ACT_KEEP;
        break;
    case DEID_CODE_U:
        out->act = sq ? DEID_ACT_RECURSE : DEID_ACT_UID;
        break;
    case DEID_CODE_C:
        if (sq) {
            out->act = DEID_ACT_RECURSE;
            out->child_mode = stronger(sc->mode, DEID_MODE_CLEAN);
        } else if ((tag & 0xFF01FFFFu) == 0x60003000u) {
            out->act = sc->overlay_masks ? DEID_ACT_MASK_OVERLAY : DEID_ACT_REMOVE;
        } else if (is_date_vr(vr)) {
            out->act = DEID_ACT_SHIFT;
        } else if (vr_eq(vr, "AE")) {
            out->act = DEID_ACT_TOKEN;
        } else if (vr_eq(vr, "UI")) {
            out->act = DEID_ACT_UID;
        } else if (is_text_vr(vr) || vr_eq(vr, "CS")) {
            out->act = DEID_ACT_SCRUB;
        } else if (is_binary_vr(vr)) {
            out->act = DEID_ACT_REMOVE;   /* a bit pattern cannot be cleaned */
        } else {
            out->act = DEID_ACT_KEEP;     /* numbers, AS, AT */
        }
        break;
    default:
        out->act = DEID_ACT_REMOVE;       /* never reached: resolved codes only */
        break;
    }
}

static void unlisted(uint32_t tag, const char *vr, const struct deid_scope *sc,
                     struct deid_decision *out)
{
    out->source = DEID_SRC_UNLISTED;
    if (vr_eq(vr, "SQ")) {
        out->code = DEID_CODE_K;
        out->act = DEID_ACT_RECURSE;
    } else if (is_date_vr(vr)) {
        /* PS3.15 E.1.1 note 4: every date and time by its VR. */
        if (sc->options & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_FULL_DATES)) {
            out->code = DEID_CODE_K;
            out->act = DEID_ACT_KEEP;
        } else if (sc->options & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_MODIFIED_DATES)) {
            out->code = DEID_CODE_C;
            out->act = DEID_ACT_SHIFT;
        } else {
            out->code = DEID_CODE_X;
            out->act = DEID_ACT_REMOVE;
        }
    } else if (vr_eq(vr, "PN")) {
        out->code = sc->mode == DEID_MODE_DUMMY ? DEID_CODE_D : DEID_CODE_Z;
        out->act = sc->mode == DEID_MODE_DUMMY ? DEID_ACT_DUMMY : DEID_ACT_EMPTY;
    } else if (is_text_vr(vr) || vr_eq(vr, "AE")) {
        if (sc->mode == DEID_MODE_DUMMY) {
            out->code = DEID_CODE_D;
            out->act = DEID_ACT_DUMMY;
        } else if (sc->mode == DEID_MODE_CLEAN && !is_code_structure(tag)) {
            out->code = DEID_CODE_C;
            out->act = vr_eq(vr, "AE") ? DEID_ACT_TOKEN : DEID_ACT_SCRUB;
        } else if (!vr_eq(vr, "AE") && !is_code_structure(tag)) {
            /* The table lets it through, but nothing says it cannot quote
             * the patient, the institution or a date (a Local Namespace
             * Entity ID naming the hospital, a code meaning with a name):
             * those are masked, the rest is kept. */
            out->code = DEID_CODE_K;
            out->act = DEID_ACT_SCRUB_IDENTS;
        } else {
            out->code = DEID_CODE_K;
            out->act = DEID_ACT_KEEP;
        }
    } else {
        out->code = DEID_CODE_K;
        out->act = DEID_ACT_KEEP;
    }
    out->table_code = out->code;
}

void deid_decide(uint32_t tag, const char *vr_in, const struct deid_scope *sc,
                 struct deid_decision *out)
{
    memset(out, 0, sizeof *out);
    out->option = -1;
    out->child_mode = sc->mode;
    uint16_t group = (uint16_t)(tag >> 16);
    const struct deid_rule *rule = deid_rule_find(tag);
    out->rule = rule;

    /* The VR that decides: the element's, unless it arrived as UN (implicit
     * VR of an unknown element) and the dictionary knows better. */
    const char *vr = vr_in && vr_in[0] && vr_in[1] ? vr_in : "UN";
    if (vr_eq(vr, "UN") && rule && rule->vr[0])
        vr = rule->vr;

    if (group & 1) {
        out->source = DEID_SRC_PRIVATE;
        out->table_code = (enum deid_code)rule->basic;
        if (sc->options & DEID_OPT_BIT(DEID_OPT_RETAIN_SAFE_PRIVATE) &&
            rule->option[DEID_OPT_RETAIN_SAFE_PRIVATE] != DEID_CODE_NONE) {
            out->table_code = (enum deid_code)rule->option[DEID_OPT_RETAIN_SAFE_PRIVATE];
            out->option = DEID_OPT_RETAIN_SAFE_PRIVATE;
        }
        out->code = out->table_code;
        out->act = out->code == DEID_CODE_C ? DEID_ACT_PRIVATE : DEID_ACT_REMOVE;
        return;
    }

    /* Patient ID wherever it is, Patient's Name of the instance's patient:
     * the pseudonym, a non-empty dummy that satisfies both Z and D. */
    if (tag == TAG_PATIENT_ID || (tag == TAG_PATIENT_NAME && sc->depth == 0)) {
        out->source = DEID_SRC_FIXED;
        out->table_code = (enum deid_code)rule->basic;
        out->code = DEID_CODE_D;
        out->act = DEID_ACT_PSEUDONYM;
        return;
    }

    bool overlay_group = (group & 0xFF01u) == 0x6000u;
    bool graphics = sc->options & DEID_OPT_BIT(DEID_OPT_CLEAN_GRAPHICS);
    if (overlay_group && !(graphics && sc->overlay_masks)) {
        /* Overlays go as whole groups: what Overlay Data (60xx,3000) gets,
         * every element of its group gets, so that no half-defined overlay
         * is left. Clean Graphics keeps them only where mask rectangles can
         * clean the bitmap. */
        if (rule) {
            choose_code(rule, vr, sc->options, out);
        } else {
            out->source = DEID_SRC_OVERLAY_GROUP;
            out->table_code = DEID_CODE_X;
        }
        out->code = DEID_CODE_X;
        out->act = DEID_ACT_REMOVE;
        return;
    }
    if (overlay_group && !rule) {
        out->source = DEID_SRC_OVERLAY_GROUP;
        out->table_code = out->code = is_text_vr(vr) ? DEID_CODE_C : DEID_CODE_K;
        out->option = DEID_OPT_CLEAN_GRAPHICS;
        out->act = is_text_vr(vr) ? DEID_ACT_SCRUB : DEID_ACT_KEEP;
        return;
    }

    if (!rule) {
        unlisted(tag, vr, sc, out);
        return;
    }

    choose_code(rule, vr, sc->options, out);
    out->type = sc->depth == 0 ? deid_iod_type_of(sc->iod, tag) : DEID_TYPE_UNKNOWN;
    out->code = deid_resolve(out->table_code, out->type);

    /* Curves (50xx,xxxx) under Clean Graphics: the row's C applies to the
     * group; text is scrubbed, the curve data kept. */
    if ((tag & 0xFF010000u) == 0x50000000u && out->code == DEID_CODE_C) {
        out->act = is_text_vr(vr) ? DEID_ACT_SCRUB : DEID_ACT_KEEP;
        return;
    }
    act_of(tag, vr, sc, out);
}

bool deid_burned_in_suspect(const char *modality, const char *sop_class_uid)
{
    static const char *const modalities[] = { "US", "ES", "XC", "GM", "SM", "XA", "RF", "OT" };
    static const char *const classes[] = {
        "1.2.840.10008.5.1.4.1.1.7",        /* Secondary Capture */
        "1.2.840.10008.5.1.4.1.1.7.1",      /* Multi-frame Single Bit SC */
        "1.2.840.10008.5.1.4.1.1.7.2",      /* Multi-frame Grayscale Byte SC */
        "1.2.840.10008.5.1.4.1.1.7.3",      /* Multi-frame Grayscale Word SC */
        "1.2.840.10008.5.1.4.1.1.7.4",      /* Multi-frame True Color SC */
        "1.2.840.10008.5.1.4.1.1.6.1",      /* US Image */
        "1.2.840.10008.5.1.4.1.1.6",        /* US Image (retired) */
        "1.2.840.10008.5.1.4.1.1.3.1",      /* US Multi-frame Image */
        "1.2.840.10008.5.1.4.1.1.3",        /* US Multi-frame Image (retired) */
        "1.2.840.10008.5.1.4.1.1.77.1.1",   /* VL Endoscopic Image */
        "1.2.840.10008.5.1.4.1.1.77.1.1.1", /* Video Endoscopic Image */
        "1.2.840.10008.5.1.4.1.1.77.1.2",   /* VL Microscopic Image */
        "1.2.840.10008.5.1.4.1.1.77.1.2.1", /* Video Microscopic Image */
        "1.2.840.10008.5.1.4.1.1.77.1.4",   /* VL Photographic Image */
        "1.2.840.10008.5.1.4.1.1.77.1.4.1", /* Video Photographic Image */
        "1.2.840.10008.5.1.4.1.1.12.1",     /* X-Ray Angiographic Image */
        "1.2.840.10008.5.1.4.1.1.12.2",     /* X-Ray Radiofluoroscopic Image */
    };
    if (modality)
        for (size_t i = 0; i < sizeof modalities / sizeof modalities[0]; i++)
            if (strcmp(modality, modalities[i]) == 0)
                return true;
    if (sop_class_uid)
        for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
            if (strcmp(sop_class_uid, classes[i]) == 0)
                return true;
    return false;
}
