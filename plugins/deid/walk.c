/* The walk: one instance through struct ferry_host. Everything it decides
 * comes from decide.c and everything it writes from uid.c, dates.c,
 * pseudonym.c, text.c and pixels.c; this file only reads elements, applies
 * those results at every depth, and records what was done.
 *
 * Order: gather the context (IOD, patient key, device, identifying strings)
 * -> burned-in policy (quarantine before anything changes) -> pixel masks
 * -> the data sets, depth first -> the attributes that record the method.
 *
 * What this file relies on from the host, beyond plugin.h's text:
 *   - foreach(): fn may walk and change the items of the sequence it was
 *     handed (item() on that sequence, then changes inside the items);
 *   - set() with VR "SQ" and length 0 makes an empty sequence (Z on a
 *     sequence); if the host refuses, the sequence is removed instead;
 *   - get_string() of an ST, LT, UT or UR value returns the whole value at
 *     index 0 (a backslash is not a delimiter in those VRs), and -EINVAL for
 *     a UN value;
 *   - the File Meta Information is the host's: (0002,0003) follows the new
 *     (0008,0018), the source AE title goes, the preamble is zeros (E.1.1
 *     item 7). */
#include "deid-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_SOP_CLASS_UID 0x00080016u
#define TAG_MODALITY 0x00080060u
#define TAG_MANUFACTURER 0x00080070u
#define TAG_MODEL 0x00081090u
#define TAG_PRIVATE_CHARACTERISTICS 0x00080300u
#define TAG_PRIVATE_GROUP_REFERENCE 0x00080301u
#define TAG_PRIVATE_CREATOR_REFERENCE 0x00080302u
#define TAG_BLOCK_STATUS 0x00080303u
#define TAG_NONIDENTIFYING_ELEMENTS 0x00080304u
#define TAG_DEID_ACTION_SEQUENCE 0x00080305u
#define TAG_IDENTIFYING_ELEMENTS 0x00080306u
#define TAG_DEID_ACTION 0x00080307u
#define TAG_CODE_VALUE 0x00080100u
#define TAG_CODING_SCHEME 0x00080102u
#define TAG_CODE_MEANING 0x00080104u
#define TAG_PATIENT_NAME 0x00100010u
#define TAG_PATIENT_ID 0x00100020u
#define TAG_ISSUER 0x00100021u
#define TAG_BIRTH_DATE 0x00100030u
#define TAG_IDENTITY_REMOVED 0x00120062u
#define TAG_DEID_METHOD 0x00120063u
#define TAG_DEID_METHOD_CODES 0x00120064u
#define TAG_STUDY_UID 0x0020000Du
#define TAG_BURNED_IN 0x00280301u
#define TAG_LONGITUDINAL_MODIFIED 0x00280303u

/* Strings whose values are searched for and masked in cleaned text. */
static const uint32_t ident_tags[] = {
    0x00080050u, /* Accession Number */
    0x00080080u, /* Institution Name */
    0x00080081u, /* Institution Address */
    0x00080090u, /* Referring Physician's Name */
    0x00080092u, /* Referring Physician's Address */
    0x00081010u, /* Station Name */
    0x00081040u, /* Institutional Department Name */
    0x00081048u, /* Physician(s) of Record */
    0x00081050u, /* Performing Physician's Name */
    0x00081060u, /* Name of Physician(s) Reading Study */
    0x00081070u, /* Operators' Name */
    0x00100010u, /* Patient's Name */
    0x00100020u, /* Patient ID */
    0x00100021u, /* Issuer of Patient ID */
    0x00101000u, /* Other Patient IDs */
    0x00101001u, /* Other Patient Names */
    0x00101005u, /* Patient's Birth Name */
    0x00101040u, /* Patient's Address */
    0x00101060u, /* Patient's Mother's Birth Name */
    0x00102154u, /* Patient's Telephone Numbers */
    0x00200010u, /* Study ID */
    0x00321032u, /* Requesting Physician */
    0x00400006u, /* Scheduled Performing Physician's Name */
    0x00401010u, /* Names of Intended Recipients of Results */
};

/* A block of private elements declared in (0008,0300). */
struct declared_block {
    uint16_t group;
    char creator[65];
    bool safe;                    /* Block Identifying Information Status SAFE */
    uint8_t nonidentifying[256];  /* 1 for each element offset listed */
    char action[256];             /* 'D', 'Z', 'X', 'U' or 0 */
};

struct creator {
    uint16_t group;
    uint8_t block;
    char name[65];
};

struct walk {
    const struct deid_config *cfg;
    const struct ferry_host *host;
    struct ferry_instance *inst;
    struct ferry_diag *diag;
    int iod;
    int32_t shift_days;
    char pseudonym[DEID_PSEUDONYM_MAX + 1];
    struct deid_idents idents;
    const struct deid_mask_entry *mask;
    bool pixels_masked;
};

/* One data set being walked. */
struct level {
    struct walk *w;
    uint32_t depth;
    enum deid_mode mode;
    struct creator *creators;
    size_t n_creators;
    struct declared_block *declared;
    size_t n_declared;
};

static int walk_dataset(struct walk *w, struct ferry_dataset *ds, uint32_t depth,
                        enum deid_mode mode);

/* ---------------------------------------------------------------------------
 * Reading values */

/* Value `index` of a string element as UTF-8, in a new buffer (free()).
 * Returns its length, -ENOENT, or another negative errno. */
static int get_text(const struct ferry_host *h, struct ferry_dataset *ds, uint32_t tag,
                    uint32_t index, char **out)
{
    char small[256];
    *out = NULL;
    int n = h->get_string(ds, tag, index, small, sizeof small);
    if (n < 0)
        return n;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return -ENOMEM;
    if ((size_t)n < sizeof small) {
        memcpy(s, small, (size_t)n + 1);
    } else {
        int m = h->get_string(ds, tag, index, s, (size_t)n + 1);
        if (m < 0 || m > n) {
            free(s);
            return m < 0 ? m : -EIO;
        }
    }
    *out = s;
    return n;
}

/* The first value into a fixed buffer ("" when absent). */
static void get_first(const struct ferry_host *h, struct ferry_dataset *ds, uint32_t tag,
                      char *buf, size_t size)
{
    int n = h->get_string(ds, tag, 0, buf, size);
    if (n < 0 || (size_t)n >= size)
        buf[0] = '\0';
}

static bool single_valued_text(const char *vr)
{
    return strcmp(vr, "ST") == 0 || strcmp(vr, "LT") == 0 || strcmp(vr, "UT") == 0 ||
           strcmp(vr, "UR") == 0;
}

/* A growing string. */
struct text {
    char *p;
    size_t n, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->n + n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p)
            return -ENOMEM;
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------------
 * Actions on one element */

/* Rewrite each backslash-separated value of an ASCII element (UI, DA, DT,
 * TM) with fn; a value fn rejects becomes empty. */
typedef int (*value_fn)(struct walk *w, const char *in, size_t len, char *out, size_t size);

static int rewrite_ascii(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v,
                         const char *vr, value_fn fn)
{
    struct text t = { 0 };
    int rc = text_add(&t, "", 0);
    const char *b = (const char *)v->bytes;
    size_t len = b ? v->length : 0;
    for (size_t i = 0; rc == 0;) {
        size_t j = i;
        while (j < len && b[j] != '\\')
            j++;
        size_t s = i, e = j;
        while (s < e && b[s] == ' ')
            s++;
        while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\0'))
            e--;
        char out[80];
        int n = e > s ? fn(w, b + s, e - s, out, sizeof out) : 0;
        if (n < 0 && n != -EINVAL && n != -ENOSPC)
            rc = n;
        else if (n > 0)
            rc = text_add(&t, out, (size_t)n);
        if (rc == 0 && j < len)
            rc = text_add(&t, "\\", 1);
        if (j >= len)
            break;
        i = j + 1;
    }
    if (rc == 0)
        rc = w->host->set(ds, v->tag, vr, t.p, (uint32_t)t.n);
    free(t.p);
    return rc;
}

static int map_uid(struct walk *w, const char *in, size_t len, char *out, size_t size)
{
    (void)size;
    return deid_uid_map(w->cfg->secret, in, len, out);
}

static int shift_value(struct walk *w, const char *in, size_t len, char *out, size_t size,
                       const char *vr)
{
    if (strcmp(vr, "DA") == 0)
        return deid_shift_da(in, len, w->shift_days, out, size);
    if (strcmp(vr, "DT") == 0)
        return deid_shift_dt(in, len, w->shift_days, out, size);
    return deid_shift_tm(in, len, w->shift_days, out, size);
}

static int shift_da(struct walk *w, const char *in, size_t len, char *out, size_t size)
{
    return shift_value(w, in, len, out, size, "DA");
}

static int shift_dt(struct walk *w, const char *in, size_t len, char *out, size_t size)
{
    return shift_value(w, in, len, out, size, "DT");
}

static int shift_tm(struct walk *w, const char *in, size_t len, char *out, size_t size)
{
    return shift_value(w, in, len, out, size, "TM");
}

/* Rewrite each value of a string element through its UTF-8 text. */
typedef char *(*text_fn)(struct walk *w, const char *in);

static int rewrite_text(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v,
                        const char *vr, text_fn fn)
{
    struct text t = { 0 };
    bool changed = false;
    int rc = text_add(&t, "", 0);
    uint32_t last = single_valued_text(vr) ? 1 : UINT32_MAX;
    for (uint32_t i = 0; rc == 0 && i < last; i++) {
        char *in = NULL;
        int n = get_text(w->host, ds, v->tag, i, &in);
        if (n == -ENOENT)
            break;
        if (n == -EINVAL && i == 0) {
            /* the host cannot read it as text (a UN value): what cannot be
             * cleaned is removed */
            free(t.p);
            return w->host->remove(ds, v->tag);
        }
        if (n < 0) {
            rc = n;
            break;
        }
        char *out = fn(w, in);
        if (!out) {
            free(in);
            rc = -ENOMEM;
            break;
        }
        changed = changed || strcmp(in, out) != 0;
        if (i)
            rc = text_add(&t, "\\", 1);
        if (rc == 0)
            rc = text_add(&t, out, strlen(out));
        free(in);
        free(out);
    }
    if (rc == 0 && (changed || strcmp(vr, v->vr) != 0))
        rc = w->host->set_string(ds, v->tag, vr, t.p);
    free(t.p);
    return rc;
}

static char *scrub_value(struct walk *w, const char *in)
{
    uint32_t o = w->cfg->options;
    enum deid_date_policy dates = o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_FULL_DATES) ? DEID_DATES_KEEP
                                  : o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_MODIFIED_DATES)
                                      ? DEID_DATES_SHIFT
                                      : DEID_DATES_MASK;
    return deid_scrub(in, &w->idents, dates, w->shift_days);
}

static char *scrub_idents_value(struct walk *w, const char *in)
{
    uint32_t o = w->cfg->options;
    enum deid_date_policy dates = o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_FULL_DATES) ? DEID_DATES_KEEP
                                  : o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_MODIFIED_DATES)
                                      ? DEID_DATES_SHIFT
                                      : DEID_DATES_MASK;
    return deid_scrub_ex(in, &w->idents, dates, w->shift_days, DEID_SCRUB_EMAILS);
}

static char *token_value(struct walk *w, const char *in)
{
    char *out = malloc(17);
    if (out && deid_token(w->cfg->secret, in, out) < 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* D on an element: the VR's dummy, or zeros for a binary value. */
static int dummy(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v,
                 const char *vr)
{
    const char *s = deid_dummy_string(vr);
    if (s)
        return w->host->set_string(ds, v->tag, vr, s);
    uint32_t len = v->length;
    if (len == 0)
        len = strcmp(v->vr, "FD") == 0 || strcmp(v->vr, "SV") == 0 || strcmp(v->vr, "UV") == 0
                  ? 8
              : strcmp(v->vr, "US") == 0 || strcmp(v->vr, "SS") == 0 ? 2
                                                                       : 4;
    uint8_t *zeros = calloc(1, len);
    if (!zeros)
        return -ENOMEM;
    int rc = w->host->set(ds, v->tag, v->vr, zeros, len);
    free(zeros);
    return rc;
}

/* Z: a zero-length value; for a sequence, an empty sequence (the host's
 * set() with VR "SQ" and length 0). A host that cannot make one gets the
 * sequence removed: nothing identifying is kept either way. */
static int empty(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v)
{
    int rc = w->host->set(ds, v->tag, v->vr, "", 0);
    if (rc < 0 && strcmp(v->vr, "SQ") == 0)
        rc = w->host->remove(ds, v->tag);
    return rc;
}

static int recurse(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v,
                   uint32_t depth, enum deid_mode mode)
{
    for (uint32_t i = 0; i < v->items; i++) {
        struct ferry_dataset *item = w->host->item(ds, v->tag, i);
        if (!item)
            return -EIO;
        int rc = walk_dataset(w, item, depth + 1, mode);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Overlay Data under Clean Graphics: the device's rectangles cleared in
 * every plane of the overlay. */
static int mask_overlay(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v)
{
    uint32_t group = v->tag & 0xFFFF0000u;
    struct ferry_value rows, cols, origin, frames;
    if (!v->bytes || w->host->get(ds, group | 0x0010u, &rows) < 0 || rows.length < 2 ||
        w->host->get(ds, group | 0x0011u, &cols) < 0 || cols.length < 2)
        return w->host->remove(ds, v->tag);
    int32_t orow = 1, ocol = 1;
    if (w->host->get(ds, group | 0x0050u, &origin) == 0 && origin.length >= 4) {
        orow = (int16_t)(origin.bytes[0] | origin.bytes[1] << 8);
        ocol = (int16_t)(origin.bytes[2] | origin.bytes[3] << 8);
    }
    uint32_t nframes = 1;
    char buf[16];
    if (w->host->get(ds, group | 0x0015u, &frames) == 0 &&
        w->host->get_string(ds, group | 0x0015u, 0, buf, sizeof buf) > 0)
        nframes = (uint32_t)strtoul(buf, NULL, 10);
    uint8_t *copy = malloc(v->length ? v->length : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, v->bytes, v->length);
    int rc = deid_mask_overlay(copy, v->length, (uint32_t)(rows.bytes[0] | rows.bytes[1] << 8),
                               (uint32_t)(cols.bytes[0] | cols.bytes[1] << 8),
                               nframes ? nframes : 1, orow, ocol, w->mask->rects,
                               w->mask->n_rects);
    rc = rc < 0 ? w->host->remove(ds, v->tag) : w->host->set(ds, v->tag, v->vr, copy, v->length);
    free(copy);
    return rc;
}

/* record-pseudonyms: hand the host what `tag` held and what replaced it.
 * The host keeps it where only the data folder's owner reads it; a failure
 * fails the instance, so that nothing leaves unrecorded. */
static int note_pseudonym(struct walk *w, const char *kind, const char *original,
                          const char *replacement)
{
    if (!w->cfg->record_pseudonyms || !original || !*original)
        return 0;
    int rc = w->host->record_pseudonym(w->inst, kind, original, replacement);
    if (rc < 0)
        deid_diag(w->diag, -1, "record-pseudonyms: the host could not record the %s: %s", kind,
                  strerror(-rc));
    return rc;
}

/* The pseudonym of the instance's patient replaces Patient ID or Patient's
 * Name at the top level. */
static int set_pseudonym(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v,
                         const char *vr)
{
    if (w->cfg->record_pseudonyms) {
        char *orig = NULL;
        int rc = get_text(w->host, ds, v->tag, 0, &orig);
        if (rc >= 0)
            rc = note_pseudonym(w, v->tag == TAG_PATIENT_ID ? "patient-id" : "patient-name",
                                orig, w->pseudonym);
        free(orig);
        if (rc < 0 && rc != -ENOENT && rc != -EINVAL)
            return rc;
    }
    return w->host->set_string(ds, v->tag, vr, w->pseudonym);
}

/* U on the Study Instance UID of the instance, recorded when asked. */
static int map_study_uid(struct walk *w, struct ferry_dataset *ds, const struct ferry_value *v)
{
    if (w->cfg->record_pseudonyms && v->bytes) {
        char orig[DEID_UID_MAX + 1], mapped[DEID_UID_MAX + 1];
        size_t n = v->length < DEID_UID_MAX ? v->length : DEID_UID_MAX;
        memcpy(orig, v->bytes, n);
        while (n && (orig[n - 1] == '\0' || orig[n - 1] == ' '))
            n--;
        orig[n] = '\0';
        if (n && deid_uid_map(w->cfg->secret, orig, n, mapped) > 0) {
            int rc = note_pseudonym(w, "study-uid", orig, mapped);
            if (rc < 0)
                return rc;
        }
    }
    return rewrite_ascii(w, ds, v, "UI", map_uid);
}

/* ---------------------------------------------------------------------------
 * Private elements under retain-safe-private */

static const struct declared_block *declared(const struct level *L, uint16_t group,
                                             const char *creator)
{
    for (size_t i = 0; i < L->n_declared; i++)
        if (L->declared[i].group == group && strcmp(L->declared[i].creator, creator) == 0)
            return &L->declared[i];
    return NULL;
}

static const char *creator_of(const struct level *L, uint16_t group, uint8_t block)
{
    for (size_t i = 0; i < L->n_creators; i++)
        if (L->creators[i].group == group && L->creators[i].block == block)
            return L->creators[i].name;
    return NULL;
}

static int private_element(struct level *L, struct ferry_dataset *ds,
                           const struct ferry_value *v)
{
    struct walk *w = L->w;
    uint16_t group = (uint16_t)(v->tag >> 16), elem = (uint16_t)v->tag;
    if (elem >= 0x0010 && elem <= 0x00FF) {   /* a Private Creator */
        struct creator c = { .group = group, .block = (uint8_t)elem };
        get_first(w->host, ds, v->tag, c.name, sizeof c.name);
        size_t n = strlen(c.name);
        while (n && c.name[n - 1] == ' ')
            c.name[--n] = '\0';
        if (!deid_private_creator_known(group, c.name) && !declared(L, group, c.name))
            return w->host->remove(ds, v->tag);
        struct creator *cs = realloc(L->creators, (L->n_creators + 1) * sizeof *cs);
        if (!cs)
            return -ENOMEM;
        L->creators = cs;
        L->creators[L->n_creators++] = c;
        return 0;
    }
    const char *creator = elem >= 0x1000 ? creator_of(L, group, (uint8_t)(elem >> 8)) : NULL;
    if (!creator)
        return w->host->remove(ds, v->tag);
    uint8_t low = (uint8_t)elem;
    const struct declared_block *b = declared(L, group, creator);
    bool keep = false;
    char action = 0;
    if (b) {
        keep = b->safe || b->nonidentifying[low];
        action = b->action[low];
    } else {
        keep = deid_private_is_safe(group, creator, low);
    }
    if (keep)
        return strcmp(v->vr, "SQ") == 0 ? recurse(w, ds, v, L->depth, L->mode) : 0;
    switch (action) {
    case 'D':
        return dummy(w, ds, v, v->vr);
    case 'Z':
        return empty(w, ds, v);
    case 'U':
        return rewrite_ascii(w, ds, v, v->vr, map_uid);
    default:
        return w->host->remove(ds, v->tag);
    }
}

/* Read (0008,0300) of this data set: blocks the instance itself declares
 * safe, and per-element actions (PS3.15 E.3.10, PS3.3 C.12.1.1.7). */
static int read_declarations(struct level *L, struct ferry_dataset *ds)
{
    struct walk *w = L->w;
    struct ferry_value seq;
    if (w->host->get(ds, TAG_PRIVATE_CHARACTERISTICS, &seq) < 0)
        return 0;
    for (uint32_t i = 0; i < seq.items; i++) {
        struct ferry_dataset *it = w->host->item(ds, TAG_PRIVATE_CHARACTERISTICS, i);
        struct ferry_value g, list;
        if (!it || w->host->get(it, TAG_PRIVATE_GROUP_REFERENCE, &g) < 0 || g.length < 2)
            continue;
        struct declared_block *d = realloc(L->declared, (L->n_declared + 1) * sizeof *d);
        if (!d)
            return -ENOMEM;
        L->declared = d;
        d = &L->declared[L->n_declared];
        memset(d, 0, sizeof *d);
        d->group = (uint16_t)(g.bytes[0] | g.bytes[1] << 8);
        get_first(w->host, it, TAG_PRIVATE_CREATOR_REFERENCE, d->creator, sizeof d->creator);
        char status[16];
        get_first(w->host, it, TAG_BLOCK_STATUS, status, sizeof status);
        d->safe = strcmp(status, "SAFE") == 0;
        if (w->host->get(it, TAG_NONIDENTIFYING_ELEMENTS, &list) == 0 && list.bytes)
            for (uint32_t k = 0; k + 1 < list.length; k += 2)
                d->nonidentifying[list.bytes[k]] = 1;   /* offsets are 0x00..0xFF */
        struct ferry_value acts;
        if (w->host->get(it, TAG_DEID_ACTION_SEQUENCE, &acts) == 0)
            for (uint32_t a = 0; a < acts.items; a++) {
                struct ferry_dataset *ai = w->host->item(it, TAG_DEID_ACTION_SEQUENCE, a);
                char act[8];
                if (!ai || w->host->get(ai, TAG_IDENTIFYING_ELEMENTS, &list) < 0 || !list.bytes)
                    continue;
                get_first(w->host, ai, TAG_DEID_ACTION, act, sizeof act);
                if (strlen(act) != 1 || !strchr("DZXU", act[0]))
                    continue;
                for (uint32_t k = 0; k + 1 < list.length; k += 2)
                    d->action[list.bytes[k]] = act[0];
            }
        if (d->creator[0])
            L->n_declared++;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The data sets */

static int apply(struct level *L, struct ferry_dataset *ds, const struct ferry_value *v)
{
    struct walk *w = L->w;
    const struct ferry_host *h = w->host;
    struct deid_scope sc = {
        .options = w->cfg->options,
        .iod = w->iod,
        .depth = L->depth,
        .mode = L->mode,
        .overlay_masks = w->mask != NULL,
    };
    struct deid_decision d;
    deid_decide(v->tag, v->vr, &sc, &d);
    /* the VR the action writes: an element that arrived as UN takes the
     * dictionary's VR, as the decision did */
    const char *vr = strcmp(v->vr, "UN") == 0 && d.rule && d.rule->vr[0] ? d.rule->vr : v->vr;
    /* UN bytes that cannot be read: a sequence that arrived as UN of defined
     * length cannot be walked, and an unlisted UN value inside an item that
     * is cleaned or dummied cannot be cleaned. What cannot be cleaned goes. */
    if (strcmp(v->vr, "UN") == 0 &&
        (d.act == DEID_ACT_RECURSE ||
         (d.source == DEID_SRC_UNLISTED && L->mode != DEID_MODE_NORMAL)))
        return h->remove(ds, v->tag);
    switch (d.act) {
    case DEID_ACT_KEEP:
        return 0;
    case DEID_ACT_REMOVE:
        return h->remove(ds, v->tag);
    case DEID_ACT_EMPTY:
        return empty(w, ds, v);
    case DEID_ACT_DUMMY:
        return dummy(w, ds, v, vr);
    case DEID_ACT_UID:
        if (v->tag == TAG_STUDY_UID && L->depth == 0)
            return map_study_uid(w, ds, v);
        return rewrite_ascii(w, ds, v, "UI", map_uid);
    case DEID_ACT_RECURSE:
        return recurse(w, ds, v, L->depth, d.child_mode);
    case DEID_ACT_SHIFT:
        if (strcmp(vr, "DA") == 0)
            return rewrite_ascii(w, ds, v, "DA", shift_da);
        if (strcmp(vr, "DT") == 0)
            return rewrite_ascii(w, ds, v, "DT", shift_dt);
        if (strcmp(vr, "TM") == 0)
            return rewrite_ascii(w, ds, v, "TM", shift_tm);
        return empty(w, ds, v);   /* a date in an unknown form cannot be shifted */
    case DEID_ACT_SCRUB:
        return rewrite_text(w, ds, v, vr, scrub_value);
    case DEID_ACT_TOKEN:
        return rewrite_text(w, ds, v, vr, token_value);
    case DEID_ACT_SCRUB_IDENTS:
        return rewrite_text(w, ds, v, vr, scrub_idents_value);
    case DEID_ACT_PRIVATE:
        return private_element(L, ds, v);
    case DEID_ACT_MASK_OVERLAY:
        return mask_overlay(w, ds, v);
    case DEID_ACT_PSEUDONYM:
        if (L->depth == 0)
            return set_pseudonym(w, ds, v, vr);
        /* a Patient ID nested in a sequence (another patient, or the same):
         * the pseudonym of that ID */
        {
            char *id = NULL, key[160], p[DEID_PSEUDONYM_MAX + 1];
            int rc = get_text(h, ds, v->tag, 0, &id);
            if (rc == -ENOENT)
                return empty(w, ds, v);
            if (rc < 0)
                return rc;
            rc = deid_patient_key(id, NULL, NULL, NULL, NULL, key, sizeof key);
            if (rc >= 0)
                rc = deid_pseudonym(w->cfg->secret, &w->cfg->tmpl, w->cfg->site, key, p);
            if (rc < 0) {
                free(id);
                return empty(w, ds, v);
            }
            rc = note_pseudonym(w, "patient-id", id, p);
            free(id);
            return rc < 0 ? rc : h->set_string(ds, v->tag, vr, p);
        }
    }
    return -EINVAL;
}

static int visit(void *ud, struct ferry_dataset *ds, const struct ferry_value *v)
{
    struct level *L = ud;
    int rc = apply(L, ds, v);
    if (rc < 0 && !L->w->diag->message[0])
        deid_diag(L->w->diag, -1, "while de-identifying (%04X,%04X) at depth %u: %s",
                  (unsigned)(v->tag >> 16), (unsigned)(v->tag & 0xFFFF), L->depth,
                  strerror(-rc));
    return rc;
}

static int walk_dataset(struct walk *w, struct ferry_dataset *ds, uint32_t depth,
                        enum deid_mode mode)
{
    struct level L = { .w = w, .depth = depth, .mode = mode };
    int rc = 0;
    if (depth > 64) {
        deid_diag(w->diag, -1, "sequences nested deeper than 64 levels");
        return -E2BIG;
    }
    if (w->cfg->options & DEID_OPT_BIT(DEID_OPT_RETAIN_SAFE_PRIVATE))
        rc = read_declarations(&L, ds);
    if (rc == 0)
        rc = w->host->foreach(ds, visit, &L);
    free(L.creators);
    free(L.declared);
    return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------------------
 * Context, burned-in policy, and the record of what was done */

static int gather(struct walk *w, struct ferry_dataset *root)
{
    const struct ferry_host *h = w->host;
    static const uint32_t key_tags[5] = { TAG_PATIENT_ID, TAG_ISSUER, TAG_PATIENT_NAME,
                                          TAG_BIRTH_DATE, TAG_STUDY_UID };
    char *v[5] = { NULL }, sop[68], key[2048];
    int rc = 0;
    get_first(h, root, TAG_SOP_CLASS_UID, sop, sizeof sop);
    w->iod = deid_iod_find(sop);
    for (int i = 0; i < 5 && rc >= 0; i++) {
        rc = get_text(h, root, key_tags[i], 0, &v[i]);
        if (rc == -ENOENT || rc == -EINVAL)
            rc = 0;
    }
    if (rc >= 0)
        rc = deid_patient_key(v[0], v[1], v[2], v[3], v[4], key, sizeof key);
    for (int i = 0; i < 5; i++)
        free(v[i]);
    if (rc < 0)
        return rc;
    w->shift_days = deid_date_shift_days(w->cfg->secret, key);
    rc = deid_pseudonym(w->cfg->secret, &w->cfg->tmpl, w->cfg->site, key, w->pseudonym);
    if (rc < 0)
        return rc;
    for (size_t t = 0; t < sizeof ident_tags / sizeof ident_tags[0]; t++)
        for (uint32_t i = 0;; i++) {
            char *s = NULL;
            rc = get_text(h, root, ident_tags[t], i, &s);
            if (rc == -ENOENT || rc == -EINVAL)
                break;
            if (rc < 0)
                return rc;
            rc = deid_idents_add(&w->idents, s);
            free(s);
            if (rc < 0)
                return rc;
        }
    return 0;
}

static int burned_in(struct walk *w, struct ferry_dataset *root)
{
    const struct ferry_host *h = w->host;
    char flag[16], modality[17], sop[68], manufacturer[65], model[65];
    get_first(h, root, TAG_BURNED_IN, flag, sizeof flag);
    get_first(h, root, TAG_MODALITY, modality, sizeof modality);
    get_first(h, root, TAG_SOP_CLASS_UID, sop, sizeof sop);
    get_first(h, root, TAG_MANUFACTURER, manufacturer, sizeof manufacturer);
    get_first(h, root, TAG_MODEL, model, sizeof model);

    struct ferry_pixel_info info = { .size = sizeof info };
    bool pixels = h->pixel_info(w->inst, &info) == 0;
    if (pixels && w->cfg->masks)
        w->mask = deid_masks_find(w->cfg->masks, manufacturer, model, info.frame.rows,
                                  info.frame.columns);

    char why[160];
    if (strcmp(flag, "YES") == 0)
        snprintf(why, sizeof why, "Burned In Annotation (0028,0301) is YES");
    else if (!flag[0] && deid_burned_in_suspect(modality, sop))
        snprintf(why, sizeof why,
                 "no Burned In Annotation (0028,0301) on a %s instance, which usually carries "
                 "burned-in text", modality[0] ? modality : sop);
    else
        return FERRY_STEP_OK;
    if (!pixels)
        return FERRY_STEP_OK;

    switch (w->cfg->burned_in) {
    case DEID_BURNED_REJECT:
        deid_diag(w->diag, -1, "burned-in annotation: %s (burned-in: reject)", why);
        return FERRY_STEP_QUARANTINE;
    case DEID_BURNED_WARN:
        h->log(w->inst, FERRY_PLUGIN_LOG_WARN,
               "deid: passed with burned-in annotation: %s (burned-in: warn)", why);
        return FERRY_STEP_OK;
    case DEID_BURNED_MASK:
        break;
    }
    if (!w->mask) {
        deid_diag(w->diag, -1,
                  "burned-in annotation: %s, and the mask file has no rectangles for "
                  "\"%s\" \"%s\" %ux%u",
                  why, manufacturer, model, info.frame.rows, info.frame.columns);
        return FERRY_STEP_QUARANTINE;
    }
    for (uint32_t f = 0; f < (info.frames ? info.frames : 1); f++) {
        const uint8_t *px;
        size_t len;
        struct ferry_frame g = { .size = sizeof g };
        int rc = h->get_frame(w->inst, f, &px, &len, &g);
        if (rc < 0) {
            deid_diag(w->diag, -1, "burned-in annotation: cannot decode frame %u to mask it", f);
            return rc;
        }
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, px, len);
        rc = deid_mask_frame(copy, len, &g, w->mask->rects, w->mask->n_rects);
        if (rc < 0) {
            free(copy);
            deid_diag(w->diag, -1,
                      "burned-in annotation: cannot mask frames of photometric interpretation "
                      "%.24s, %u bits allocated, %u samples",
                      g.photometric, g.bits_allocated, g.samples_per_pixel);
            return FERRY_STEP_QUARANTINE;
        }
        rc = h->set_frame(w->inst, f, copy, len, &g);
        free(copy);
        if (rc < 0)
            return rc;
    }
    w->pixels_masked = true;
    return FERRY_STEP_OK;
}

static int add_code(struct walk *w, struct ferry_dataset *root, const char *value,
                    const char *meaning)
{
    struct ferry_dataset *it = w->host->add_item(root, TAG_DEID_METHOD_CODES);
    if (!it)
        return -EIO;
    int rc = w->host->set_string(it, TAG_CODE_VALUE, "SH", value);
    if (rc == 0)
        rc = w->host->set_string(it, TAG_CODING_SCHEME, "SH", "DCM");
    if (rc == 0)
        rc = w->host->set_string(it, TAG_CODE_MEANING, "LO", meaning);
    return rc;
}

static int record(struct walk *w, struct ferry_dataset *root)
{
    const struct ferry_host *h = w->host;
    uint32_t o = w->cfg->options;
    int rc = h->set_string(root, TAG_IDENTITY_REMOVED, "CS", "YES");

    /* De-identification Method: earlier passes' values, then this one. */
    struct text t = { 0 };
    for (uint32_t i = 0; rc == 0; i++) {
        char *s = NULL;
        int n = get_text(h, root, TAG_DEID_METHOD, i, &s);
        if (n == -ENOENT || n == -EINVAL)
            break;
        if (n < 0) {
            rc = n;
            break;
        }
        rc = text_add(&t, s, strlen(s));
        if (rc == 0)
            rc = text_add(&t, "\\", 1);
        free(s);
    }
    if (rc == 0)
        rc = text_add(&t, "ferry deid " DEID_VERSION ": PS3.15 E.1 Basic Profile",
                      strlen("ferry deid " DEID_VERSION ": PS3.15 E.1 Basic Profile"));
    if (rc == 0)
        rc = h->set_string(root, TAG_DEID_METHOD, "LO", t.p);
    free(t.p);

    if (rc == 0)
        rc = add_code(w, root, "113100", "Basic Application Confidentiality Profile");
    if (rc == 0 && w->pixels_masked)
        rc = add_code(w, root, "113101", "Clean Pixel Data Option");
    for (int opt = 0; rc == 0 && opt < DEID_OPT_COUNT; opt++)
        if (o & DEID_OPT_BIT(opt))
            rc = add_code(w, root, deid_option_code(opt), deid_option_meaning(opt));

    if (rc == 0)
        rc = h->set_string(root, TAG_LONGITUDINAL_MODIFIED, "CS",
                           o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_FULL_DATES) ? "UNMODIFIED"
                           : o & DEID_OPT_BIT(DEID_OPT_RETAIN_LONG_MODIFIED_DATES) ? "MODIFIED"
                                                                                   : "REMOVED");
    if (rc == 0 && w->pixels_masked)
        rc = h->set_string(root, TAG_BURNED_IN, "CS", "NO");
    return rc;
}

int deid_run(const struct deid_config *cfg, const struct ferry_host *host,
             struct ferry_instance *inst, struct ferry_diag *diag)
{
    struct walk w = { .cfg = cfg, .host = host, .inst = inst, .diag = diag, .iod = -1 };
    struct ferry_dataset *root = host->root(inst);
    int rc;
    if (!root) {
        deid_diag(diag, -1, "the instance has no data set");
        return -EINVAL;
    }
    rc = gather(&w, root);
    if (rc < 0) {
        deid_diag(diag, -1, "while reading the patient's identity: %s", strerror(-rc));
        goto out;
    }
    rc = burned_in(&w, root);
    if (rc != FERRY_STEP_OK)
        goto out;
    rc = walk_dataset(&w, root, 0, DEID_MODE_NORMAL);
    if (rc < 0) {
        if (!diag->message[0])
            deid_diag(diag, -1, "while de-identifying: %s", strerror(-rc));
        goto out;
    }
    rc = record(&w, root);
    if (rc < 0)
        deid_diag(diag, -1, "while recording the de-identification method: %s", strerror(-rc));
out:
    deid_idents_free(&w.idents);
    return rc;
}
