/* The deid plugin's private declarations: PS3.15 Annex E de-identification.
 *
 * Layers (each a file, each testable without a host except the walk):
 *   deid_table.c (generated)   Table E.1-1 compiled from data/dicom/deid_profile[_newer_rows].tsv, the IOD
 *                              Types of the compound-coded attributes, the safe
 *                              private list
 *   table.c                    lookups in those tables
 *   decide.c                   tag + VR + options + context -> one action
 *   keyed.c                    the per-deployment secret, HMAC-SHA-256
 *   uid.c, dates.c, pseudonym.c, text.c   what an action writes
 *   params.c, masks.c, pixels.c           configure(): parameters, mask file;
 *                                         black-out of frames and overlays
 *   walk.c, plugin.c           run() over an instance through struct ferry_host
 *
 * The conformance statement (what each action writes, and why) is
 * plugins/deid/CONFORMANCE.md.
 */
#ifndef FERRY_DEID_PRIVATE_H
#define FERRY_DEID_PRIVATE_H

#include <ferry/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEID_VERSION "0.1.0"

/* ---------------------------------------------------------------------------
 * Options of PS3.15 E.3 that have a column in Table E.1-1, in column order. */
enum deid_option {
    DEID_OPT_RETAIN_SAFE_PRIVATE = 0,
    DEID_OPT_RETAIN_UIDS,
    DEID_OPT_RETAIN_DEVICE_IDENTITY,
    DEID_OPT_RETAIN_INSTITUTION_IDENTITY,
    DEID_OPT_RETAIN_PATIENT_CHARACTERISTICS,
    DEID_OPT_RETAIN_LONG_FULL_DATES,
    DEID_OPT_RETAIN_LONG_MODIFIED_DATES,
    DEID_OPT_CLEAN_DESCRIPTORS,
    DEID_OPT_CLEAN_STRUCTURED_CONTENT,
    DEID_OPT_CLEAN_GRAPHICS,
    DEID_OPT_COUNT
};
#define DEID_OPT_BIT(o) (1u << (o))

/* The step parameter's spelling of an option ("retain-uids"), its CID 7050
 * code value ("113110") and code meaning. NULL for an out-of-range option. */
const char *deid_option_name(enum deid_option o);
const char *deid_option_code(enum deid_option o);
const char *deid_option_meaning(enum deid_option o);
/* The option named `name`, or -1. */
int deid_option_from_name(const char *name);

/* ---------------------------------------------------------------------------
 * Table E.1-1 */

/* Action codes as the table writes them. */
enum deid_code {
    DEID_CODE_NONE = 0, /* empty option cell: the option does not change the row */
    DEID_CODE_X,
    DEID_CODE_Z,
    DEID_CODE_D,
    DEID_CODE_K,
    DEID_CODE_C,
    DEID_CODE_U,
    DEID_CODE_ZD,  /* Z/D */
    DEID_CODE_XZ,  /* X/Z */
    DEID_CODE_XD,  /* X/D */
    DEID_CODE_XZD, /* X/Z/D */
    DEID_CODE_XZU, /* X/Z/U* */
    DEID_CODE_COUNT
};

/* "X", "X/Z/U*", ... ("" for NONE). */
const char *deid_code_name(enum deid_code c);
/* The code spelt `s`, or -1 ("" is NONE). */
int deid_code_from_name(const char *s);

enum deid_rule_flags {
    DEID_RULE_IN_STD_IOD = 1u << 0, /* in_std_comp_iod = Y */
    DEID_RULE_RETIRED = 1u << 1,
    DEID_RULE_NEWER = 1u << 2,      /* from deid_profile_newer_rows.tsv */
};

/* One row. A tag matches when (tag & mask) == rule->tag. */
struct deid_rule {
    uint32_t tag;
    uint32_t mask;
    uint8_t basic;                     /* enum deid_code */
    uint8_t option[DEID_OPT_COUNT];    /* enum deid_code, NONE when empty */
    uint8_t flags;                     /* enum deid_rule_flags */
    char vr[3];                        /* dictionary VR ("" when unknown) */
    const char *keyword;
};

/* Generated (deid_table.c). deid_rules: the concrete tags, sorted by tag.
 * deid_pattern_rules: (50xx,xxxx), (60xx,3000), (60xx,4000), private, in
 * that order. */
extern const struct deid_rule deid_rules[];
extern const size_t deid_rule_count;
extern const size_t deid_rule_count_2025a;   /* rows from deid_profile.tsv */
extern const struct deid_rule deid_pattern_rules[];
extern const size_t deid_pattern_rule_count;

/* The row that governs `tag` (concrete rows first, then patterns), or NULL.
 * Borrowed from the static table. */
const struct deid_rule *deid_rule_find(uint32_t tag);

/* Attribute Type in an IOD, as resolution of the compound codes needs it. */
enum deid_type {
    DEID_TYPE_UNKNOWN = 0,  /* IOD unknown, or the element is nested */
    DEID_TYPE_1,
    DEID_TYPE_1C,
    DEID_TYPE_2,
    DEID_TYPE_2C,
    DEID_TYPE_3,            /* also: not part of a known IOD's top level */
};

struct deid_iod {
    const char *sop_class_uid;
    uint32_t first;   /* index into deid_iod_types */
    uint32_t count;
};
struct deid_iod_type {
    uint32_t tag;
    uint8_t type;     /* enum deid_type */
};
extern const struct deid_iod deid_iods[];          /* sorted by strcmp of the UID */
extern const size_t deid_iod_count;
extern const struct deid_iod_type deid_iod_types[]; /* per IOD, sorted by tag */

/* Index of the IOD of a SOP Class UID in deid_iods, or -1. */
int deid_iod_find(const char *sop_class_uid);
/* The Type of `tag` at the top level of IOD `iod` (-1: UNKNOWN). */
enum deid_type deid_iod_type_of(int iod, uint32_t tag);

/* The safe private list (plugins/deid/safe_private.tsv). */
struct deid_safe_private {
    uint16_t group;
    uint8_t element;   /* low byte of (gggg,xxEE) */
    char vr[3];
    const char *creator;
};
extern const struct deid_safe_private deid_safe_privates[];
extern const size_t deid_safe_private_count;

/* True if element (group, xxEE) of the block reserved by `creator` is on
 * the safe list; element_low is EE. */
bool deid_private_is_safe(uint16_t group, const char *creator, uint8_t element_low);
/* True if `creator` has any entry in group `group` (its creator element is
 * then kept). */
bool deid_private_creator_known(uint16_t group, const char *creator);

/* ---------------------------------------------------------------------------
 * Decisions */

/* Compound code + Type -> one of X, Z, D, U (see CONFORMANCE.md, "compound
 * codes"). Simple codes come back unchanged. */
enum deid_code deid_resolve(enum deid_code code, enum deid_type type);

/* How the elements of a sequence's items are treated when the table does
 * not list them. Nested items inherit the strongest mode of their parents. */
enum deid_mode {
    DEID_MODE_NORMAL = 0, /* unlisted elements kept (K) */
    DEID_MODE_CLEAN = 1,  /* inside a C sequence: unlisted text is scrubbed */
    DEID_MODE_DUMMY = 2,  /* inside a D sequence: unlisted text gets dummies */
};

/* What the walk does to one element. */
enum deid_act {
    DEID_ACT_KEEP = 0,
    DEID_ACT_REMOVE,        /* X */
    DEID_ACT_EMPTY,         /* Z: zero length (an empty sequence for SQ) */
    DEID_ACT_DUMMY,         /* D: a fixed dummy valid for the VR */
    DEID_ACT_UID,           /* U: every value mapped by deid_uid_map() */
    DEID_ACT_RECURSE,       /* SQ kept; its items walked with child_mode */
    DEID_ACT_SHIFT,         /* C on DA/DT/TM: the patient's date shift */
    DEID_ACT_SCRUB,         /* C on text: deid_scrub() */
    DEID_ACT_TOKEN,         /* C on AE: a keyed token of the value */
    DEID_ACT_PRIVATE,       /* retain-safe-private: keep only if known safe */
    DEID_ACT_MASK_OVERLAY,  /* C on (60xx,3000): black out the mask rectangles */
    DEID_ACT_PSEUDONYM,     /* Patient ID / Patient's Name: the pseudonym */
    DEID_ACT_SCRUB_IDENTS,  /* unlisted text outside C and D sequences: kept, but
                             * the instance's identifying strings, e-mail
                             * addresses and dates in it are masked */
};
const char *deid_act_name(enum deid_act a);

/* Where the decided code came from. */
enum deid_source {
    DEID_SRC_BASIC = 0,     /* the Basic Profile column */
    DEID_SRC_OPTION,        /* an option's column (decision.option says which) */
    DEID_SRC_UNLISTED,      /* no row: the rules for unlisted elements */
    DEID_SRC_PRIVATE,       /* the private-attributes row */
    DEID_SRC_OVERLAY_GROUP, /* another element of a 60xx group */
    DEID_SRC_FIXED,         /* Patient ID / Name pseudonym */
};

/* What decide() needs to know besides the tag and VR. */
struct deid_scope {
    uint32_t options;       /* DEID_OPT_BIT()s */
    int iod;                /* deid_iod_find() of the instance's SOP Class, or -1 */
    uint32_t depth;         /* 0 = top level of the instance */
    enum deid_mode mode;
    bool overlay_masks;     /* mask rectangles are configured for this device
                             * (Clean Graphics can then keep overlays) */
};

struct deid_decision {
    enum deid_act act;
    enum deid_mode child_mode;      /* for RECURSE */
    enum deid_code code;            /* the single code the action comes from */
    enum deid_code table_code;      /* the code as the table wrote it (compound) */
    enum deid_type type;            /* the Type used to resolve it */
    enum deid_source source;
    int option;                     /* for DEID_SRC_OPTION: enum deid_option */
    const struct deid_rule *rule;   /* NULL when unlisted; borrowed */
};

/* Decide what happens to element `tag` of VR `vr` ("PN", "SQ", ...; "UN" or
 * NULL means the dictionary's VR when the table knows it). */
void deid_decide(uint32_t tag, const char *vr, const struct deid_scope *scope,
                 struct deid_decision *out);

/* ---------------------------------------------------------------------------
 * The secret and keyed hashes */

struct deid_secret;

/* Read the per-deployment secret from `path`: the file's bytes without
 * trailing white space, 32 to 4096 bytes, in a file that neither group nor
 * others may read. Returns NULL with a message in msg (msgsize bytes). The
 * caller owns the result (deid_secret_free). */
struct deid_secret *deid_secret_load(const char *path, char *msg, size_t msgsize);
/* The same from bytes in memory (tests; the key is copied). */
struct deid_secret *deid_secret_from_bytes(const void *key, size_t len);
void deid_secret_free(struct deid_secret *s);

/* HMAC-SHA-256(key, label || 0x00 || data) into out[32]. Thread-safe.
 * Returns 0 or -ENOMEM / -EIO. */
int deid_hmac(const struct deid_secret *s, const char *label, const void *data, size_t len,
              uint8_t out[32]);

/* ---------------------------------------------------------------------------
 * UIDs */

#define DEID_UID_MAX 64

/* Map `uid` (len bytes; trailing NUL and space padding ignored) to
 * "2.25." + the decimal of a 128-bit UUID (RFC 9562 version 8) taken from
 * HMAC-SHA-256(secret, "uid" 0 uid). Values under the standard's own root
 * "1.2.840.10008." (SOP classes, transfer syntaxes, ...) and empty values are
 * copied unchanged. out holds DEID_UID_MAX + 1 bytes. Returns the length or
 * a negative errno. */
int deid_uid_map(const struct deid_secret *s, const char *uid, size_t len, char *out);

/* ---------------------------------------------------------------------------
 * Dates */

/* The shift, in days (negative: into the past), for a patient key. */
int32_t deid_date_shift_days(const struct deid_secret *s, const char *patient_key);
#define DEID_SHIFT_MAX_DAYS 3652

/* Shift one value. in/len: the value without padding. Writes a NUL-
 * terminated value of the same form into out (outsize bytes). Return the
 * length or -EINVAL (not a valid value of that VR, or out of years
 * 0001..9999) / -ENOSPC.
 *   DA: YYYYMMDD (and the retired YYYY.MM.DD)
 *   DT: YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]: the date part moves, time of
 *       day, fraction and UTC offset stay; a value of year or year-month
 *       precision keeps its precision
 *   TM: unchanged (the shift is whole days; see CONFORMANCE.md)          */
int deid_shift_da(const char *in, size_t len, int32_t days, char *out, size_t outsize);
int deid_shift_dt(const char *in, size_t len, int32_t days, char *out, size_t outsize);
int deid_shift_tm(const char *in, size_t len, int32_t days, char *out, size_t outsize);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t deid_days_from_civil(int64_t y, unsigned m, unsigned d);
void deid_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* ---------------------------------------------------------------------------
 * Patient key and pseudonym */

/* The key that identifies a patient across studies: "id:" Patient ID, then
 * "\\" and the Issuer of Patient ID when present; when Patient ID is empty,
 * "name:" Patient's Name "\\" Birth Date; when that is empty too, "study:"
 * Study Instance UID. Inputs are UTF-8 or NULL, trimmed of spaces. Writes a
 * NUL-terminated key; returns its length or -ENOSPC. */
int deid_patient_key(const char *id, const char *issuer, const char *name, const char *birth,
                     const char *study_uid, char *out, size_t outsize);

/* A compiled pseudonym template: literal text, {site}, {hash:N} (N
 * upper-case hex digits, 1..64), {num:N} (N decimal digits, 1..38). */
enum deid_tpl_kind { DEID_TPL_TEXT, DEID_TPL_SITE, DEID_TPL_HASH, DEID_TPL_NUM };
struct deid_tpl_part {
    enum deid_tpl_kind kind;
    uint32_t width;        /* HASH, NUM */
    char *text;            /* TEXT; owned */
};
struct deid_template {
    struct deid_tpl_part *parts;
    uint32_t n;
};
#define DEID_PSEUDONYM_MAX 64   /* Patient ID is LO */

/* Compile `text` for site `site`. On error writes a message into msg and
 * returns -EINVAL (-ENOMEM). The template owns its parts (deid_template_free). */
int deid_template_compile(const char *text, const char *site, struct deid_template *t,
                          char *msg, size_t msgsize);
void deid_template_free(struct deid_template *t);
/* Render the pseudonym of a patient key. out: DEID_PSEUDONYM_MAX + 1 bytes. */
int deid_pseudonym(const struct deid_secret *s, const struct deid_template *t, const char *site,
                   const char *patient_key, char *out);

/* A keyed token for C on an AE title: "D" + 15 upper-case hex digits of
 * HMAC(secret, "token" 0 value). out: 17 bytes. */
int deid_token(const struct deid_secret *s, const char *value, char *out);

/* ---------------------------------------------------------------------------
 * Text */

/* Identifying strings of an instance (names, IDs, institution, ...), UTF-8,
 * for deid_scrub(). */
struct deid_idents {
    char **items;     /* owned */
    size_t n, cap;
};
/* Add the tokens of a value: the whole value, and its parts split at '^',
 * '=', spaces, ',' and '.' (ASCII parts of at least 2 bytes; any non-ASCII
 * part). Returns 0 or -ENOMEM. */
int deid_idents_add(struct deid_idents *id, const char *utf8);
void deid_idents_free(struct deid_idents *id);

enum deid_date_policy {
    DEID_DATES_MASK = 0,   /* replace date-like text */
    DEID_DATES_KEEP,       /* Full Dates */
    DEID_DATES_SHIFT,      /* Modified Dates */
};

/* Clean a descriptor (PS3.15 E.3.5 as CONFORMANCE.md describes): every
 * identifying string (ASCII ones as whole words, case-insensitively),
 * e-mail addresses and numbers of 5 or more digits (digits with '-', '.'
 * or '/' between them count as one number) become "***"; date-like
 * words (YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD) are masked, kept or
 * shifted by `days` according to `dates`. Returns a new NUL-terminated
 * string (malloc) or NULL on allocation failure. */
char *deid_scrub(const char *utf8, const struct deid_idents *id, enum deid_date_policy dates,
                 int32_t days);

/* What deid_scrub_ex() masks besides the identifying strings of the
 * instance and date-like words (always). */
enum deid_scrub_what {
    DEID_SCRUB_EMAILS = 1u << 0,   /* blank-delimited words with '@' inside */
    DEID_SCRUB_NUMBERS = 1u << 1,  /* numbers of 5 or more digits */
    DEID_SCRUB_ALL = DEID_SCRUB_EMAILS | DEID_SCRUB_NUMBERS,
};
/* deid_scrub() with a choice: DEID_SCRUB_ALL is deid_scrub(); the light
 * scrub of unlisted text (DEID_ACT_SCRUB_IDENTS) passes DEID_SCRUB_EMAILS,
 * so that numbers in text the table lets through stay. */
char *deid_scrub_ex(const char *utf8, const struct deid_idents *id, enum deid_date_policy dates,
                    int32_t days, unsigned what);

/* The dummy value of action D for a string VR ("ANONYMIZED", "19000101",
 * ...), or NULL for a VR that has no string dummy (binary VRs, SQ, UI). */
const char *deid_dummy_string(const char *vr);

/* ---------------------------------------------------------------------------
 * Masks and pixels */

struct deid_rect {
    uint32_t x, y, width, height;   /* columns from x, rows from y, 0-based */
};

struct deid_mask_entry {
    char *manufacturer;   /* owned; compared case-insensitively, trimmed */
    char *model;          /* owned; "*" matches any model */
    uint32_t rows, columns;
    struct deid_rect *rects;  /* owned */
    uint32_t n_rects;
    uint32_t line;        /* where it was defined */
};

struct deid_masks {
    struct deid_mask_entry *entries;
    uint32_t n;
};

/* Parse a mask file (CONFORMANCE.md, "mask file"). On error writes
 * "PATH:LINE:COL: message" into msg and returns NULL. */
struct deid_masks *deid_masks_load(const char *path, char *msg, size_t msgsize);
/* The same from text (tests); `name` stands for the path in messages. */
struct deid_masks *deid_masks_parse(const char *name, const char *text, size_t len, char *msg,
                                    size_t msgsize);
void deid_masks_free(struct deid_masks *m);
/* The entry for a device, or NULL. Borrowed from m. */
const struct deid_mask_entry *deid_masks_find(const struct deid_masks *m,
                                              const char *manufacturer, const char *model,
                                              uint32_t rows, uint32_t columns);

/* Black out rectangles in one native frame of geometry g (8, 16 or 32 bits
 * allocated; 1 or 3 samples; planar 0 or 1). Black is the lowest value for
 * MONOCHROME2, RGB and PALETTE COLOR (index 0), the highest for MONOCHROME1,
 * and Y=0 with mid-range chroma for YBR_FULL. Returns 0, or -EINVAL when
 * the geometry is not one of these or `len` is too short. */
int deid_mask_frame(uint8_t *pixels, size_t len, const struct ferry_frame *g,
                    const struct deid_rect *rects, uint32_t n);

/* Clear the bits of an overlay (`frames` planes of rows x columns, 1 bit
 * per pixel, packed one plane after the other, little-endian bit order as
 * in (60xx,3000)) that fall in the rectangles. origin_row/origin_col:
 * Overlay Origin (60xx,0050), 1-based image coordinates of the overlay's
 * first pixel. Returns 0 or -EINVAL (len too short for the planes). */
int deid_mask_overlay(uint8_t *bits, size_t len, uint32_t rows, uint32_t columns,
                      uint32_t frames, int32_t origin_row, int32_t origin_col,
                      const struct deid_rect *rects, uint32_t n);

/* ---------------------------------------------------------------------------
 * Parameters */

enum deid_burned_in { DEID_BURNED_REJECT = 0, DEID_BURNED_WARN, DEID_BURNED_MASK };

struct deid_config {
    struct deid_secret *secret;
    uint32_t options;
    char site[17];
    struct deid_template tmpl;
    enum deid_burned_in burned_in;
    struct deid_masks *masks;   /* NULL without mask-file */
    bool record_pseudonyms;
    int32_t record_param;       /* index of record-pseudonyms, or -1 */
};

/* Validate the step's parameters and build its config. On error fills diag
 * (message, and param = index of the parameter at fault or -1) and returns
 * -EINVAL (or -ENOMEM). The caller owns *out (deid_config_free). */
int deid_config_parse(const struct ferry_param *params, uint32_t n, struct deid_config **out,
                      struct ferry_diag *diag);
void deid_config_free(struct deid_config *c);
/* What the configuration needs from the host: with record-pseudonyms on,
 * a host of plugin ABI 1.1 or later whose program keeps the records
 * (record_pseudonym's probe). Returns 0, or -EINVAL with diag filled. */
int deid_config_check_host(const struct deid_config *c, const struct ferry_host *host,
                           struct ferry_diag *diag);

/* ---------------------------------------------------------------------------
 * The walk (walk.c): run one instance through the host. Returns a
 * ferry_step_result or a negative errno, explained in diag. */
int deid_run(const struct deid_config *cfg, const struct ferry_host *host,
             struct ferry_instance *inst, struct ferry_diag *diag);

/* True if an instance of this modality / SOP Class without Burned In
 * Annotation (0028,0301) usually carries burned-in text (US, ES, XC, XA,
 * RF, OT, SC and video/photographic SOP Classes). */
bool deid_burned_in_suspect(const char *modality, const char *sop_class_uid);

/* Write printf-style text into diag->message. */
void deid_diag(struct ferry_diag *diag, int32_t param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
