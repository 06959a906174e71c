/* The decision layer: every row of the TSV under every option, compound
 * codes, and the rules for what the table does not list. */
#include "test_deid.h"

#include <string.h>

static const char *const option_cols[DEID_OPT_COUNT] = {
    "retain_safe_private",         "retain_uids",
    "retain_device_identity",      "retain_institution_identity",
    "retain_patient_characteristics", "retain_long_full_dates",
    "retain_long_modified_dates",  "clean_descriptors",
    "clean_structured_content",    "clean_graphics",
};

static bool vr_in(const char *vr, const char *list)
{
    for (const char *p = list; *p; p += 3)
        if (vr[0] == p[0] && vr[1] == p[1])
            return true;
    return false;
}

/* What PS3.15 E.1.1 and CONFORMANCE.md say one resolved code does to an
 * element of this VR (written from the definitions, not from decide.c). */
static enum deid_act expected_act(enum deid_code code, const char *vr, enum deid_mode *child)
{
    bool sq = strcmp(vr, "SQ") == 0;
    *child = DEID_MODE_NORMAL;
    switch (code) {
    case DEID_CODE_X:
        return DEID_ACT_REMOVE;
    case DEID_CODE_Z:
        return DEID_ACT_EMPTY;
    case DEID_CODE_D:
        if (sq)
            *child = DEID_MODE_DUMMY;
        return sq ? DEID_ACT_RECURSE : strcmp(vr, "UI") == 0 ? DEID_ACT_UID : DEID_ACT_DUMMY;
    case DEID_CODE_K:
        return sq ? DEID_ACT_RECURSE : DEID_ACT_KEEP;
    case DEID_CODE_U:
        return sq ? DEID_ACT_RECURSE : DEID_ACT_UID;
    case DEID_CODE_C:
        if (sq) {
            *child = DEID_MODE_CLEAN;
            return DEID_ACT_RECURSE;
        }
        if (vr_in(vr, "DA DT TM "))
            return DEID_ACT_SHIFT;
        if (strcmp(vr, "AE") == 0)
            return DEID_ACT_TOKEN;
        if (strcmp(vr, "UI") == 0)
            return DEID_ACT_UID;
        if (vr_in(vr, "LO SH ST LT UT UC UR PN CS "))
            return DEID_ACT_SCRUB;
        if (vr_in(vr, "OB OD OF OL OV OW UN "))
            return DEID_ACT_REMOVE;
        return DEID_ACT_KEEP;
    default:
        ck_abort_msg("unresolved code %s", deid_code_name(code));
        return DEID_ACT_REMOVE;
    }
}

/* The IOD-safe fallback for an unknown Type. */
static enum deid_code fallback(enum deid_code c)
{
    switch (c) {
    case DEID_CODE_ZD: return DEID_CODE_D;
    case DEID_CODE_XZ: return DEID_CODE_Z;
    case DEID_CODE_XD: return DEID_CODE_D;
    case DEID_CODE_XZD: return DEID_CODE_D;
    case DEID_CODE_XZU: return DEID_CODE_U;
    default: return c;
    }
}

/* Every concrete row, alone and under each option, at the top level of an
 * unknown IOD and nested: the action is what the TSV's cell says. */
START_TEST(test_every_row_every_option)
{
    struct tsv *t = tsv_read("data/dicom/deid_profile.tsv");
    int c_tag = tsv_col(t, "tag"), c_basic = tsv_col(t, "basic_profile_action");
    size_t checked = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        char **row = t->rows[r];
        uint32_t tag;
        if (!parse_tag(row[c_tag], &tag))
            continue;
        const char *vr = dict_vr(tag);
        if (!vr)
            vr = "LO";   /* not in DCMTK 3.6.7's dictionary: decided by the element's VR */
        for (int opt = -1; opt < DEID_OPT_COUNT; opt++) {
            const char *cell = opt >= 0 ? row[tsv_col(t, option_cols[opt])] : "";
            enum deid_code table_code = (enum deid_code)deid_code_from_name(cell[0] ? cell
                                                                                    : row[c_basic]);
            for (uint32_t depth = 0; depth < 2; depth++) {
                struct deid_scope sc = { .options = opt >= 0 ? DEID_OPT_BIT(opt) : 0,
                                         .iod = -1, .depth = depth };
                struct deid_decision d;
                deid_decide(tag, vr, &sc, &d);
                if (tag == 0x00100020u || (tag == 0x00100010u && depth == 0)) {
                    ck_assert_int_eq(d.act, DEID_ACT_PSEUDONYM);
                    continue;
                }
                enum deid_mode child;
                enum deid_code code = fallback(table_code);
                enum deid_act act = expected_act(code, vr, &child);
                ck_assert_msg(d.table_code == table_code && d.code == code && d.act == act,
                              "%s %s VR %s option %s depth %u: got %s->%s %s, want %s->%s %s",
                              row[c_tag], row[tsv_col(t, "keyword")], vr,
                              opt >= 0 ? option_cols[opt] : "none", depth,
                              deid_code_name(d.table_code), deid_code_name(d.code),
                              deid_act_name(d.act), deid_code_name(table_code),
                              deid_code_name(code), deid_act_name(act));
                if (act == DEID_ACT_RECURSE)
                    ck_assert_int_eq(d.child_mode, child);
                ck_assert_int_eq(d.source, cell[0] ? DEID_SRC_OPTION : DEID_SRC_BASIC);
                ck_assert_int_eq(d.option, cell[0] ? opt : -1);
                ck_assert_ptr_eq(d.rule, deid_rule_find(tag));
                checked++;
            }
        }
    }
    ck_assert_uint_eq(checked, 627 * 11 * 2 - 11 * 3);   /* less the pseudonym cases */
    tsv_free(t);
}
END_TEST

/* The compound codes against their definitions (PS3.15 E.1.1): Type 1
 * needs a value, Type 2 the attribute, Type 3 nothing; unknown takes the
 * IOD-safe side. */
START_TEST(test_compound_resolution)
{
    static const enum deid_type types[] = { DEID_TYPE_UNKNOWN, DEID_TYPE_1, DEID_TYPE_1C,
                                            DEID_TYPE_2, DEID_TYPE_2C, DEID_TYPE_3 };
    static const struct {
        enum deid_code code;
        const char *want[6];   /* per type above */
    } m[] = {
        { DEID_CODE_ZD, { "D", "D", "D", "Z", "Z", "Z" } },
        { DEID_CODE_XZ, { "Z", "Z", "Z", "Z", "Z", "X" } },
        { DEID_CODE_XD, { "D", "D", "D", "D", "D", "X" } },
        { DEID_CODE_XZD, { "D", "D", "D", "Z", "Z", "X" } },
        { DEID_CODE_XZU, { "U", "U", "U", "Z", "Z", "X" } },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        for (size_t k = 0; k < 6; k++)
            ck_assert_str_eq(deid_code_name(deid_resolve(m[i].code, types[k])), m[i].want[k]);
    for (int c = DEID_CODE_X; c <= DEID_CODE_U; c++)
        for (size_t k = 0; k < 6; k++)
            ck_assert_int_eq(deid_resolve(c, types[k]), c);
}
END_TEST

/* At the top level of a known IOD the Type comes from iod_types.tsv. */
START_TEST(test_compound_by_iod)
{
    int ct = deid_iod_find("1.2.840.10008.5.1.4.1.1.2");
    int ect = deid_iod_find("1.2.840.10008.5.1.4.1.1.2.1");
    struct deid_decision d;
    struct deid_scope sc = { .iod = ct };
    deid_decide(0x00080080u, "LO", &sc, &d);    /* Institution Name X/Z/D, Type 3 */
    ck_assert_int_eq(d.type, DEID_TYPE_3);
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    deid_decide(0x00080023u, "DA", &sc, &d);    /* Content Date Z/D, Type 2C */
    ck_assert_int_eq(d.act, DEID_ACT_EMPTY);
    deid_decide(0x00181000u, "LO", &sc, &d);    /* Device Serial Number X/Z/D, Type 3 */
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    deid_decide(0x00081140u, "SQ", &sc, &d);    /* Referenced Image Sequence X/Z/U*, 3 */
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    sc.iod = ect;
    deid_decide(0x00080023u, "DA", &sc, &d);    /* Type 1 in Enhanced CT */
    ck_assert_int_eq(d.code, DEID_CODE_D);
    ck_assert_int_eq(d.act, DEID_ACT_DUMMY);
    deid_decide(0x00181000u, "LO", &sc, &d);    /* Type 1 in Enhanced General Equipment */
    ck_assert_int_eq(d.act, DEID_ACT_DUMMY);
    deid_decide(0x00081111u, "SQ", &sc, &d);    /* Ref. PPS Sequence X/Z/D, Type 1C */
    ck_assert_int_eq(d.act, DEID_ACT_RECURSE);
    ck_assert_int_eq(d.child_mode, DEID_MODE_DUMMY);
    deid_decide(0x00400555u, "SQ", &sc, &d);    /* Acquisition Context X/Z, Type 2 */
    ck_assert_int_eq(d.act, DEID_ACT_EMPTY);
    sc.depth = 1;                                /* nested: Type unknown, IOD-safe side */
    deid_decide(0x00080080u, "LO", &sc, &d);
    ck_assert_int_eq(d.type, DEID_TYPE_UNKNOWN);
    ck_assert_int_eq(d.act, DEID_ACT_DUMMY);
    /* every fact of the IOD table resolves as the definitions say */
    struct tsv *t = tsv_read("plugins/deid/iod_types.tsv");
    for (size_t r = 0; r < t->n_rows; r++) {
        uint32_t tag;
        ck_assert(parse_tag(t->rows[r][tsv_col(t, "tag")], &tag));
        struct deid_scope top = { .iod = deid_iod_find(t->rows[r][tsv_col(t, "sop_class_uid")]) };
        deid_decide(tag, dict_vr(tag), &top, &d);
        if (tag == 0x00100020u)
            continue;
        const char *type = t->rows[r][tsv_col(t, "type")];
        enum deid_code table = (enum deid_code)deid_rule_find(tag)->basic;
        bool t1 = type[0] == '1', t2 = type[0] == '2';
        enum deid_code want = table == DEID_CODE_ZD  ? (t1 ? DEID_CODE_D : DEID_CODE_Z)
                              : table == DEID_CODE_XZ ? (t1 || t2 ? DEID_CODE_Z : DEID_CODE_X)
                              : table == DEID_CODE_XD ? (t1 || t2 ? DEID_CODE_D : DEID_CODE_X)
                              : table == DEID_CODE_XZD
                                  ? (t1 ? DEID_CODE_D : t2 ? DEID_CODE_Z : DEID_CODE_X)
                                  : (t1 ? DEID_CODE_U : t2 ? DEID_CODE_Z : DEID_CODE_X);
        ck_assert_msg(d.code == want, "%s %s type %s: %s", t->rows[r][0], t->rows[r][1], type,
                      deid_code_name(d.code));
    }
    tsv_free(t);
}
END_TEST

static struct deid_decision decide(uint32_t tag, const char *vr, uint32_t options,
                                   uint32_t depth, enum deid_mode mode, bool masks)
{
    struct deid_scope sc = { .options = options, .iod = -1, .depth = depth, .mode = mode,
                             .overlay_masks = masks };
    struct deid_decision d;
    deid_decide(tag, vr, &sc, &d);
    return d;
}

#define OPT(o) DEID_OPT_BIT(DEID_OPT_##o)

START_TEST(test_private)
{
    struct deid_decision d = decide(0x00191023u, "DS", 0, 0, DEID_MODE_NORMAL, false);
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    ck_assert_int_eq(d.source, DEID_SRC_PRIVATE);
    d = decide(0x00190010u, "LO", 0, 0, DEID_MODE_NORMAL, false);
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    d = decide(0x00191023u, "DS", OPT(RETAIN_SAFE_PRIVATE), 3, DEID_MODE_DUMMY, false);
    ck_assert_int_eq(d.act, DEID_ACT_PRIVATE);
    ck_assert_int_eq(d.option, DEID_OPT_RETAIN_SAFE_PRIVATE);
    d = decide(0x00190010u, "LO", OPT(RETAIN_SAFE_PRIVATE), 0, DEID_MODE_NORMAL, false);
    ck_assert_int_eq(d.act, DEID_ACT_PRIVATE);
}
END_TEST

START_TEST(test_overlays_and_curves)
{
    /* Basic Profile: the whole 60xx group goes with its Overlay Data. */
    ck_assert_int_eq(decide(0x60003000u, "OW", 0, 0, 0, true).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x60000010u, "US", 0, 0, 0, true).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x60020022u, "LO", 0, 0, 0, true).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x60004000u, "LT", 0, 0, 0, true).act, DEID_ACT_REMOVE);
    /* Clean Graphics without rectangles for the device: still removed. */
    struct deid_decision d = decide(0x60003000u, "OW", OPT(CLEAN_GRAPHICS), 0, 0, false);
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    ck_assert_int_eq(d.table_code, DEID_CODE_C);
    ck_assert_int_eq(decide(0x60000010u, "US", OPT(CLEAN_GRAPHICS), 0, 0, false).act,
                     DEID_ACT_REMOVE);
    /* ... with rectangles: the bitmap is masked, the group kept, text scrubbed. */
    ck_assert_int_eq(decide(0x60003000u, "OW", OPT(CLEAN_GRAPHICS), 0, 0, true).act,
                     DEID_ACT_MASK_OVERLAY);
    ck_assert_int_eq(decide(0x60000010u, "US", OPT(CLEAN_GRAPHICS), 0, 0, true).act,
                     DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x60001500u, "LO", OPT(CLEAN_GRAPHICS), 0, 0, true).act,
                     DEID_ACT_SCRUB);
    ck_assert_int_eq(decide(0x60004000u, "LT", OPT(CLEAN_GRAPHICS), 0, 0, true).act,
                     DEID_ACT_SCRUB);
    /* Curves */
    ck_assert_int_eq(decide(0x50000010u, "US", 0, 0, 0, false).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x50002500u, "LO", OPT(CLEAN_GRAPHICS), 0, 0, false).act,
                     DEID_ACT_SCRUB);
    ck_assert_int_eq(decide(0x50003000u, "OB", OPT(CLEAN_GRAPHICS), 0, 0, false).act,
                     DEID_ACT_KEEP);
    /* Graphic Annotation Sequence: D (dummy text inside), C with Clean Graphics */
    d = decide(0x00700001u, "SQ", 0, 0, 0, false);
    ck_assert_int_eq(d.act, DEID_ACT_RECURSE);
    ck_assert_int_eq(d.child_mode, DEID_MODE_DUMMY);
    d = decide(0x00700001u, "SQ", OPT(CLEAN_GRAPHICS), 0, 0, false);
    ck_assert_int_eq(d.child_mode, DEID_MODE_CLEAN);
}
END_TEST

START_TEST(test_unlisted)
{
    ck_assert_int_eq(decide(0x00280010u, "US", 0, 0, 0, false).act, DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x00280010u, "US", 0, 2, DEID_MODE_DUMMY, false).act, DEID_ACT_KEEP);
    /* every date by its VR (PS3.15 E.1.1 note 4) */
    struct deid_decision d = decide(0x00140102u, "DA", 0, 0, 0, false);
    ck_assert_int_eq(d.act, DEID_ACT_REMOVE);
    ck_assert_int_eq(d.source, DEID_SRC_UNLISTED);
    ck_assert_int_eq(decide(0x00140102u, "DA", OPT(RETAIN_LONG_FULL_DATES), 0, 0, false).act,
                     DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x00140103u, "TM", OPT(RETAIN_LONG_MODIFIED_DATES), 1, 0, false).act,
                     DEID_ACT_SHIFT);
    /* person names */
    ck_assert_int_eq(decide(0x00140104u, "PN", 0, 0, 0, false).act, DEID_ACT_EMPTY);
    ck_assert_int_eq(decide(0x00140104u, "PN", 0, 1, DEID_MODE_DUMMY, false).act,
                     DEID_ACT_DUMMY);
    /* text: kept with the instance's identifying strings and dates masked,
     * scrubbed inside a C sequence, dummied inside a D sequence */
    d = decide(0x00080104u, "LO", 0, 1, DEID_MODE_NORMAL, false);
    ck_assert_int_eq(d.act, DEID_ACT_SCRUB_IDENTS);
    ck_assert_int_eq(d.code, DEID_CODE_K);
    ck_assert_int_eq(decide(0x00400031u, "UT", 0, 1, DEID_MODE_NORMAL, false).act,
                     DEID_ACT_SCRUB_IDENTS);
    ck_assert_int_eq(decide(0x00080100u, "SH", 0, 1, DEID_MODE_NORMAL, false).act, DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x00400241u, "AE", 0, 1, DEID_MODE_NORMAL, false).act !=
                         DEID_ACT_SCRUB_IDENTS, 1);
    ck_assert_int_eq(decide(0x00180015u, "CS", 0, 0, DEID_MODE_NORMAL, false).act, DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x00080104u, "LO", 0, 1, DEID_MODE_CLEAN, false).act, DEID_ACT_SCRUB);
    ck_assert_int_eq(decide(0x00080104u, "LO", 0, 1, DEID_MODE_DUMMY, false).act, DEID_ACT_DUMMY);
    ck_assert_int_eq(decide(0x00080100u, "SH", 0, 1, DEID_MODE_CLEAN, false).act, DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x00080100u, "SH", 0, 1, DEID_MODE_DUMMY, false).act, DEID_ACT_DUMMY);
    ck_assert_int_eq(decide(0x0040A040u, "CS", 0, 1, DEID_MODE_DUMMY, false).act, DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x0040A160u, "UT", 0, 1, DEID_MODE_CLEAN, false).act, DEID_ACT_SCRUB);
    /* sequences carry the mode down */
    d = decide(0x0040A043u, "SQ", 0, 1, DEID_MODE_CLEAN, false);
    ck_assert_int_eq(d.act, DEID_ACT_RECURSE);
    ck_assert_int_eq(d.child_mode, DEID_MODE_CLEAN);
}
END_TEST

START_TEST(test_modes)
{
    /* Content Sequence: D in the Basic Profile, C with Clean Structured Content */
    struct deid_decision d = decide(0x0040A730u, "SQ", 0, 0, 0, false);
    ck_assert_int_eq(d.child_mode, DEID_MODE_DUMMY);
    d = decide(0x0040A730u, "SQ", OPT(CLEAN_STRUCTURED_CONTENT), 0, 0, false);
    ck_assert_int_eq(d.child_mode, DEID_MODE_CLEAN);
    /* the stronger mode of the parents wins */
    d = decide(0x0040A730u, "SQ", OPT(CLEAN_STRUCTURED_CONTENT), 2, DEID_MODE_DUMMY, false);
    ck_assert_int_eq(d.child_mode, DEID_MODE_DUMMY);
    d = decide(0x00081140u, "SQ", 0, 2, DEID_MODE_CLEAN, false);   /* X/Z/U* nested: U */
    ck_assert_int_eq(d.act, DEID_ACT_RECURSE);
    ck_assert_int_eq(d.child_mode, DEID_MODE_CLEAN);
    /* a listed row keeps its own action inside a D sequence */
    ck_assert_int_eq(decide(0x00081155u, "UI", 0, 3, DEID_MODE_DUMMY, false).act, DEID_ACT_UID);
}
END_TEST

START_TEST(test_option_precedence)
{
    /* Date of Last Calibration: device K, full dates K, modified dates C */
    ck_assert_int_eq(decide(0x00181200u, "DA", 0, 0, 0, false).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x00181200u, "DA", OPT(RETAIN_DEVICE_IDENTITY), 0, 0, false).act,
                     DEID_ACT_KEEP);
    struct deid_decision d = decide(0x00181200u, "DA",
                                    OPT(RETAIN_DEVICE_IDENTITY) | OPT(RETAIN_LONG_MODIFIED_DATES),
                                    0, 0, false);
    ck_assert_int_eq(d.act, DEID_ACT_SHIFT);
    ck_assert_int_eq(d.option, DEID_OPT_RETAIN_LONG_MODIFIED_DATES);
    /* Allergies: patient characteristics C and descriptors C agree */
    d = decide(0x00102110u, "LO", OPT(RETAIN_PATIENT_CHARACTERISTICS) | OPT(CLEAN_DESCRIPTORS),
               0, 0, false);
    ck_assert_int_eq(d.act, DEID_ACT_SCRUB);
    /* Timezone Offset From UTC (SH) is a date row: kept through the scrubber */
    ck_assert_int_eq(decide(0x00080201u, "SH", OPT(RETAIN_LONG_MODIFIED_DATES), 0, 0, false).act,
                     DEID_ACT_SCRUB);
    /* a binary timestamp cannot be modified: removed */
    ck_assert_int_eq(decide(0x04000310u, "OB", OPT(RETAIN_LONG_MODIFIED_DATES), 0, 0, false).act,
                     DEID_ACT_REMOVE);
    /* AE titles under Retain Device Identity: C, a keyed token */
    ck_assert_int_eq(decide(0x00080055u, "AE", OPT(RETAIN_DEVICE_IDENTITY), 0, 0, false).act,
                     DEID_ACT_TOKEN);
    ck_assert_int_eq(decide(0x00080055u, "AE", 0, 0, 0, false).act, DEID_ACT_REMOVE);
    /* UIDs: U, K with Retain UIDs */
    ck_assert_int_eq(decide(0x0020000Du, "UI", 0, 0, 0, false).act, DEID_ACT_UID);
    ck_assert_int_eq(decide(0x0020000Du, "UI", OPT(RETAIN_UIDS), 0, 0, false).act, DEID_ACT_KEEP);
}
END_TEST

START_TEST(test_newer_and_un)
{
    /* a newer-edition date row: X, and the date options by VR */
    ck_assert_int_eq(decide(0x0040A034u, "DT", 0, 0, 0, false).act, DEID_ACT_REMOVE);
    ck_assert_int_eq(decide(0x0040A034u, "DT", OPT(RETAIN_LONG_FULL_DATES), 0, 0, false).act,
                     DEID_ACT_KEEP);
    ck_assert_int_eq(decide(0x0040A034u, "DT", OPT(RETAIN_LONG_MODIFIED_DATES), 0, 0, false).act,
                     DEID_ACT_SHIFT);
    ck_assert_int_eq(decide(0x00100012u, "LO", OPT(RETAIN_PATIENT_CHARACTERISTICS), 0, 0, false)
                         .act,
                     DEID_ACT_REMOVE);
    /* an element that arrived as UN is decided by its dictionary VR */
    ck_assert_int_eq(decide(0x00080020u, "UN", OPT(RETAIN_LONG_MODIFIED_DATES), 0, 0, false).act,
                     DEID_ACT_SHIFT);
    ck_assert_int_eq(decide(0x00080020u, NULL, 0, 0, 0, false).act, DEID_ACT_EMPTY);
}
END_TEST

START_TEST(test_pseudonym_places)
{
    ck_assert_int_eq(decide(0x00100020u, "LO", 0, 0, 0, false).act, DEID_ACT_PSEUDONYM);
    ck_assert_int_eq(decide(0x00100020u, "LO", 0, 4, DEID_MODE_DUMMY, false).act,
                     DEID_ACT_PSEUDONYM);
    ck_assert_int_eq(decide(0x00100010u, "PN", 0, 0, 0, false).act, DEID_ACT_PSEUDONYM);
    ck_assert_int_eq(decide(0x00100010u, "PN", 0, 1, 0, false).act, DEID_ACT_EMPTY);
}
END_TEST

START_TEST(test_burned_in_suspects)
{
    ck_assert(deid_burned_in_suspect("US", NULL));
    ck_assert(deid_burned_in_suspect("XA", "1.2.840.10008.5.1.4.1.1.12.1"));
    ck_assert(deid_burned_in_suspect("", "1.2.840.10008.5.1.4.1.1.7"));
    ck_assert(deid_burned_in_suspect(NULL, "1.2.840.10008.5.1.4.1.1.77.1.1.1"));
    ck_assert(!deid_burned_in_suspect("CT", "1.2.840.10008.5.1.4.1.1.2"));
    ck_assert(!deid_burned_in_suspect("MR", "1.2.840.10008.5.1.4.1.1.4"));
    ck_assert(!deid_burned_in_suspect(NULL, NULL));
}
END_TEST

TCase *deid_tcase_decide(void)
{
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, test_every_row_every_option);
    tcase_add_test(tc, test_compound_resolution);
    tcase_add_test(tc, test_compound_by_iod);
    tcase_add_test(tc, test_private);
    tcase_add_test(tc, test_overlays_and_curves);
    tcase_add_test(tc, test_unlisted);
    tcase_add_test(tc, test_modes);
    tcase_add_test(tc, test_option_precedence);
    tcase_add_test(tc, test_newer_and_un);
    tcase_add_test(tc, test_pseudonym_places);
    tcase_add_test(tc, test_burned_in_suspects);
    return tc;
}
