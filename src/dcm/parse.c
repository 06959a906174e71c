/* ferry — the data set parser.
 *
 * One state machine serves both entry points. dcm_parse_buffer() runs it once
 * over the whole buffer (values then point into the buffer: no copies), the
 * incremental parser runs it over each chunk (values are copied as they
 * arrive, so a chunk can be forgotten once fed). The machine only ever needs a
 * whole token in view for element and item headers (at most 12 bytes, 132 for
 * the preamble): when a chunk ends inside one, the few bytes are kept in
 * `carry` and completed from the next chunk. Value bytes stream straight into
 * their destination (or are skipped), so nothing else is buffered.
 *
 * Errors at the end of the stream are produced by the same code for both
 * entry points, so the two report the same text for the same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "dcm/dcm-private.h"

#define DEFAULT_MAX_DEPTH 64u
#define DEFAULT_BULK 4096u
#define SMALL_VALUE 65536u       /* values up to this size are copied into the arena */
/* A large value's buffer starts at its length or 1 MiB, whichever is less,
 * and doubles as bytes arrive: a lying length costs at most 1 MiB. */
#define HEAP_FIRST (1u << 20)
#define ZBUF 65536u
#define NO_END UINT64_MAX
/* Handler results besides "n bytes consumed" and negative errnos. */
#define R_NEED (-3000L)            /* the token needs p->need bytes */
#define R_INFLATE(k) (-1000L - (long)(k)) /* k bytes used, the rest is deflated */
#define R_IS_INFLATE(n) ((n) <= -1000L && (n) > -2000L)

enum pstate {
    PS_PREAMBLE,
    PS_DETECT,
    PS_ELEMENT,
    PS_VALUE,
    PS_ITEM,
    PS_FRAG,
    PS_STOPPED,
    PS_DONE,
    PS_FAILED,
};

enum lkind { LV_ROOT, LV_META, LV_ITEM, LV_SEQ, LV_PIXSEQ };

struct level {
    uint8_t kind;
    bool implicit, big;
    bool unsorted;
    uint32_t base;            /* first scratch index of this level's children */
    uint32_t owner;           /* LV_SEQ / LV_PIXSEQ: index of the element in els */
    uint32_t last_tag;
    uint64_t start;           /* offset of the content's first byte */
    uint64_t end;             /* offset after the content, NO_END if undefined */
    uint64_t limit;           /* min(end, parent's limit) */
    uint64_t tag_offset;      /* offset of the owner's (item's, element's) tag */
    uint32_t tag;             /* owner's tag */
    struct dcm_dataset *ds;   /* LV_ROOT, LV_META, LV_ITEM */
    struct dcm_pixseq *px;    /* LV_PIXSEQ */
};

enum { CUR_ELEMENT, CUR_BOT, CUR_FRAG };

struct dcm_parser {
    struct dcm_parse_opts opts;
    struct dcm_root *root;
    enum pstate state;
    int error;
    bool final;               /* no more input will come */
    bool persistent;          /* the bytes being parsed stay valid (buffer mode) */
    bool part10;
    bool meta_has_gl;
    bool inflating, z_ended, z_init;
    uint64_t pos;             /* stream offset of the next byte */
    size_t need;              /* bytes the current token needs */
    uint64_t meta_end;        /* from the group length, or NO_END */
    uint64_t ds_start;        /* offset where the data set (after the meta group) starts */
    uint64_t meta_gl_offset;  /* offset of (0002,0000) */
    uint32_t seq_depth;

    struct level *lv;
    uint32_t depth, lv_cap;

    struct dcm_element *els;
    uint32_t n_els, cap_els;
    struct dcm_dataset **items;
    uint32_t n_items, cap_items;
    struct dcm_frag *frags;
    uint32_t n_frags, cap_frags;

    /* the value being read */
    int cur_kind;
    uint32_t cur_index;
    uint32_t val_len, val_got;
    uint64_t val_tag_offset;
    uint32_t val_tag;
    uint16_t val_vr;
    bool val_skip, val_heap, val_swap;
    uint8_t *val_buf;
    uint32_t val_cap;

    /* buffer mode */
    const uint8_t *buf;
    uint64_t buf_off;

    uint8_t carry[160];
    size_t carry_len;

    z_stream z;
    uint8_t *zbuf;
};

/* ---------------------------------------------------------------------------
 * Scratch vectors */

static bool grow(void **v, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return true;
    uint32_t nc = *cap ? *cap * 2 : 64;
    if (nc <= *cap)
        return false;
    void *nv = realloc(*v, (size_t)nc * size);
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

static int fail(struct dcm_parser *p, int code)
{
    p->state = PS_FAILED;
    p->error = code;
    return code;
}

static int oom(struct dcm_parser *p, struct ferry_error **err, uint64_t off, uint32_t tag,
               unsigned vr)
{
    if (p->root->over_limit)
        dcm__perr(err, -E2BIG, off, tag, vr, "the data set exceeds the memory limit of %zu bytes",
                  p->root->mem_limit);
    else
        dcm__perr(err, -ENOMEM, off, tag, vr, "out of memory");
    return fail(p, err && *err ? (*err)->code : -ENOMEM);
}

static struct level *push_level(struct dcm_parser *p, uint8_t kind)
{
    if (p->depth == p->lv_cap)
        return NULL; /* bounded by max_depth, checked by the callers */
    struct level *parent = p->depth ? &p->lv[p->depth - 1] : NULL;
    struct level *l = &p->lv[p->depth++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    if (parent) {
        l->implicit = parent->implicit;
        l->big = parent->big;
        l->limit = parent->limit;
    } else {
        l->limit = NO_END;
    }
    l->end = NO_END;
    return l;
}

/* Nothing inside a defined-length item or sequence may run past its end
 * (`limit` is the nearest such end). A container closes when the stream
 * reaches its limit: like DCMTK, an item whose own length overshoots the end
 * of its sequence ends with the sequence (some DICOMDIR writers produce
 * these). */
static void set_end(struct level *l, uint64_t end)
{
    l->end = end;
    if (end < l->limit)
        l->limit = end;
}

/* ---------------------------------------------------------------------------
 * Closing levels */

/* Sort a level's elements when the stream had them out of order; the first
 * of duplicate tags wins (as DCMTK does). */
static uint32_t sort_elements(struct dcm_element *e, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct dcm_element x = e[i];
        uint32_t j = i;
        while (j > 0 && e[j - 1].tag > x.tag) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = x;
    }
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (out > 0 && e[out - 1].tag == e[i].tag) {
            dcm__element_release(&e[i]);
            continue;
        }
        e[out++] = e[i];
    }
    return out;
}

static int fill_dataset(struct dcm_parser *p, struct level *l, struct ferry_error **err)
{
    struct dcm_dataset *ds = l->ds;
    uint32_t n = p->n_els - l->base;
    struct dcm_element *src = n ? p->els + l->base : NULL;
    if (n && l->unsorted)
        n = sort_elements(src, n);
    if (n) {
        ds->els = dcm__alloc(p->root, sizeof *ds->els * n);
        if (!ds->els) {
            /* Keep the scratch consistent so that dcm_parser_free releases
             * what the elements own. */
            return oom(p, err, l->tag_offset, l->tag, DCM_VR_NONE);
        }
        memcpy(ds->els, src, sizeof *ds->els * n);
        for (uint32_t i = 0; i < n; i++)
            if (ds->els[i].vr == DCM_VR_SQ && !(ds->els[i].flags & EL_PIXSEQ) &&
                ds->els[i].u.seq)
                for (uint32_t k = 0; k < ds->els[i].u.seq->n; k++)
                    ds->els[i].u.seq->items[k]->parent = ds;
    }
    ds->n = ds->cap = n;
    p->n_els = l->base;
    return 0;
}

static int close_item(struct dcm_parser *p, uint64_t content_end, struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    int rc = fill_dataset(p, l, err);
    if (rc < 0)
        return rc;
    struct dcm_dataset *ds = l->ds;
    /* An undefined-length item can exceed 4 GiB: then it is never passed
     * through (src stays NULL). */
    if (content_end - l->start <= UINT32_MAX) {
        ds->src_len = (uint32_t)(content_end - l->start);
        if (p->persistent && !p->inflating)
            ds->src = p->buf + (l->start - p->buf_off);
    }
    p->depth--;
    if (!grow((void **)&p->items, &p->cap_items, p->n_items, sizeof *p->items))
        return oom(p, err, l->tag_offset, DCM_TAG_ITEM, DCM_VR_NONE);
    p->items[p->n_items++] = ds;
    p->state = PS_ITEM;
    return 0;
}

static int close_seq(struct dcm_parser *p, struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    struct dcm_seq *sq = dcm__alloc(p->root, sizeof *sq);
    uint32_t n = p->n_items - l->base;
    if (!sq)
        return oom(p, err, l->tag_offset, l->tag, DCM_VR_SQ);
    memset(sq, 0, sizeof *sq);
    if (n) {
        sq->items = dcm__alloc(p->root, sizeof *sq->items * n);
        if (!sq->items)
            return oom(p, err, l->tag_offset, l->tag, DCM_VR_SQ);
        memcpy(sq->items, p->items + l->base, sizeof *sq->items * n);
    }
    sq->n = sq->cap = n;
    p->els[l->owner].u.seq = sq;
    p->n_items = l->base;
    p->depth--;
    p->seq_depth--;
    p->state = PS_ELEMENT;
    return 0;
}

static int close_pixseq(struct dcm_parser *p, struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    struct dcm_pixseq *px = l->px;
    uint32_t n = p->n_frags - l->base;
    if (n) {
        px->frags = dcm__alloc(p->root, sizeof *px->frags * n);
        if (!px->frags)
            return oom(p, err, l->tag_offset, l->tag, DCM_VR_NONE);
        memcpy(px->frags, p->frags + l->base, sizeof *px->frags * n);
    }
    px->n = px->cap = n;
    p->n_frags = l->base;
    p->depth--;
    p->seq_depth--;
    p->state = PS_ELEMENT;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Transfer syntax selection */

static void level_syntax(struct level *l, const struct dcm_ts *ts)
{
    /* An unknown syntax is Explicit VR Little Endian, like every syntax
     * defined since the big-endian one. */
    l->implicit = ts ? !ts->explicit_vr : false;
    l->big = ts ? ts->big_endian : false;
    if (l->kind == LV_ROOT) {
        /* The root remembers how its bytes are encoded, for pass-through. */
        l->ds->flags &= ~(uint32_t)(DS_SRC_IMPLICIT | DS_SRC_BIG);
        l->ds->flags |= (l->implicit ? DS_SRC_IMPLICIT : 0u) | (l->big ? DS_SRC_BIG : 0u);
    }
}

static bool is_deflated(const struct dcm_ts *ts)
{
    return ts && ts->deflated;
}

/* The meta group ended: open the data set in the syntax it names. Returns 2
 * when the rest of the stream must be inflated first. */
static int start_dataset(struct dcm_parser *p, struct ferry_error **err)
{
    struct dcm_root *r = p->root;
    const struct dcm_dataset *meta = r->meta;
    bool have_ts = false;
    if (meta) {
        const struct dcm_element *e = dcm_dataset_get(meta, DCM_TAG_TransferSyntaxUID);
        if (e && e->length > 0 && e->u.value && !(e->flags & EL_SKIPPED)) {
            dcm__root_set_ts(r, (const char *)e->u.value, e->length);
            have_ts = r->ts_uid[0] != '\0';
        }
    }
    if (!have_ts)
        dcm__root_set_ts(r, DCM_UID_ImplicitVRLittleEndian,
                         strlen(DCM_UID_ImplicitVRLittleEndian));
    struct level *l = push_level(p, LV_ROOT);
    if (!l)
        return fail(p, -EINVAL);
    l->ds = &r->ds;
    l->start = p->pos;
    l->tag_offset = p->pos;
    p->ds_start = p->pos;
    level_syntax(l, r->ts);
    if (is_deflated(r->ts)) {
        p->state = PS_ELEMENT;
        return 2;
    }
    /* Like DCMTK, trust the bytes over the meta group when they disagree
     * about implicit/explicit VR or byte order (and guess when there is no
     * meta group). */
    p->state = PS_DETECT;
    (void)err;
    return 0;
}

static void detect_syntax(struct dcm_parser *p, const uint8_t *b, size_t avail)
{
    struct dcm_root *r = p->root;
    struct level *l = &p->lv[p->depth - 1];
    if (avail < 6)
        return;
    uint16_t gle = rd16le(b), gbe = rd16be(b);
    bool big = l->big;
    if (gle > 0xff && gbe <= 0xff)
        big = true;
    else if (gbe > 0xff && gle <= 0xff)
        big = false;
    bool explicit_vr = dcm_vr_from_bytes(b + 4) != DCM_VR_NONE;
    if (big == l->big && explicit_vr == !l->implicit)
        return;
    if (r->ts && r->ts->encapsulated) {
        /* The pixel data is still what the meta group says (some writers
         * put a compressed syntax's UID over an implicit-VR data set): keep
         * the syntax, note how the bytes are really encoded. */
        l->implicit = !explicit_vr;
        l->big = big;
        r->ds.flags &= ~(uint32_t)(DS_SRC_IMPLICIT | DS_SRC_BIG);
        r->ds.flags |= (l->implicit ? DS_SRC_IMPLICIT : 0u) | (big ? DS_SRC_BIG : 0u);
        return;
    }
    const char *uid;
    if (big)
        uid = DCM_UID_ExplicitVRBigEndian; /* there is no implicit big endian */
    else
        uid = explicit_vr ? DCM_UID_ExplicitVRLittleEndian : DCM_UID_ImplicitVRLittleEndian;
    dcm__root_set_ts(r, uid, strlen(uid));
    level_syntax(l, r->ts);
}

/* ---------------------------------------------------------------------------
 * Values */

static struct dcm_element *push_element(struct dcm_parser *p)
{
    if (!grow((void **)&p->els, &p->cap_els, p->n_els, sizeof *p->els))
        return NULL;
    struct dcm_element *e = &p->els[p->n_els++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Start reading `len` value bytes for the current target. */
static int begin_value(struct dcm_parser *p, size_t avail, bool skip, bool swap,
                       struct ferry_error **err)
{
    p->val_got = 0;
    p->val_skip = skip;
    p->val_swap = swap;
    p->val_heap = false;
    p->val_buf = NULL;
    p->val_cap = 0;
    if (skip || p->val_len == 0)
        return 0;
    /* A value that can point into the buffer needs no memory. */
    if (p->persistent && !swap && !p->inflating && !(p->opts.flags & DCM_PARSE_COPY))
        return 0;
    /* Nothing is allocated for bytes that have not arrived, so a lying length
     * costs nothing: small values get their final size in the arena (when
     * the stream can still hold them), large ones a heap buffer that grows as
     * bytes come. */
    if (p->persistent && avail < p->val_len)
        return 0; /* truncated: reported at the end */
    if (p->val_len <= SMALL_VALUE) {
        p->val_buf = dcm__alloc(p->root, p->val_len);
        if (!p->val_buf)
            return oom(p, err, p->val_tag_offset, p->val_tag, p->val_vr);
        p->val_cap = p->val_len;
        return 0;
    }
    uint32_t cap = p->persistent ? p->val_len : (p->val_len < HEAP_FIRST ? p->val_len : HEAP_FIRST);
    if (!dcm__charge(p->root, cap) || !(p->val_buf = malloc(cap)))
        return oom(p, err, p->val_tag_offset, p->val_tag, p->val_vr);
    p->root->flags |= ROOT_HAS_HEAP;
    p->val_heap = true;
    p->val_cap = cap;
    return 0;
}

/* Store a finished value into its target. */
static void end_value(struct dcm_parser *p, const uint8_t *direct)
{
    const uint8_t *v = direct ? direct : p->val_buf;
    bool heap = !direct && p->val_heap;
    uint32_t fl = 0;
    if (p->val_skip)
        v = NULL;
    if (v && p->val_swap)
        dcm__swap((uint8_t *)v, p->val_len, dcm_vr_value_size((enum dcm_vr)p->val_vr));
    if (p->cur_kind == CUR_ELEMENT) {
        struct dcm_element *e = &p->els[p->cur_index];
        if (e->tag == DCM_TAG_FileMetaInformationGroupLength && p->depth &&
            p->lv[p->depth - 1].kind == LV_META && p->val_len == 4 && v && !p->meta_has_gl) {
            p->meta_has_gl = true;
            p->meta_gl_offset = p->val_tag_offset;
            p->meta_end = p->val_tag_offset + 12 + rd32le(v);
        }
        e->u.value = p->val_len ? v : NULL;
        if (p->val_skip)
            e->flags |= EL_SKIPPED;
        if (heap)
            e->flags |= EL_HEAP;
        if (direct)
            e->flags |= EL_SOURCE;
        p->val_heap = false; /* the element owns it now */
        p->state = PS_ELEMENT;
        return;
    }
    if (p->val_skip)
        fl |= FRAG_SKIPPED;
    if (heap)
        fl |= FRAG_HEAP;
    struct dcm_frag *f = p->cur_kind == CUR_BOT ? &p->lv[p->depth - 1].px->bot
                                                : &p->frags[p->cur_index];
    f->bytes = p->val_len ? v : NULL;
    f->flags = fl;
    p->val_heap = false;
    p->state = PS_FRAG;
}

/* Consume value bytes from b[0..avail). Returns bytes used. */
static size_t feed_value(struct dcm_parser *p, const uint8_t *b, size_t avail,
                         struct ferry_error **err, int *rc)
{
    uint32_t rem = p->val_len - p->val_got;
    *rc = 0;
    if (!p->val_skip && !p->val_buf && p->val_len && p->val_got == 0 && avail >= rem &&
        p->persistent && !p->val_swap) {
        end_value(p, b); /* point into the buffer */
        return rem;
    }
    size_t take = avail < rem ? avail : rem;
    if (!p->val_skip && take) {
        if (!p->val_buf) {
            /* buffer mode with a truncated value: account and stop */
            p->val_got += (uint32_t)take;
            return take;
        }
        if (p->val_got + take > p->val_cap) {
            uint64_t nc = (uint64_t)p->val_cap * 2;
            if (nc < p->val_got + take)
                nc = p->val_got + take;
            if (nc > p->val_len)
                nc = p->val_len;
            uint8_t *nb = NULL;
            if (dcm__charge(p->root, (size_t)(nc - p->val_cap)))
                nb = realloc(p->val_buf, (size_t)nc);
            if (!nb) {
                *rc = oom(p, err, p->val_tag_offset, p->val_tag, p->val_vr);
                return 0;
            }
            p->val_buf = nb;
            p->val_cap = (uint32_t)nc;
        }
        memcpy(p->val_buf + p->val_got, b, take);
    }
    p->val_got += (uint32_t)take;
    if (p->val_got == p->val_len)
        end_value(p, NULL);
    return take;
}

/* ---------------------------------------------------------------------------
 * Element headers */

static bool header_only_stop(const struct dcm_parser *p, const struct level *l, uint32_t tag)
{
    return (p->opts.flags & DCM_PARSE_HEADER_ONLY) && l->kind == LV_ROOT &&
           tag >= DCM_TAG_PIXEL_DATA && tag != DCM_TAG_ITEM && tag != DCM_TAG_ITEM_DELIM &&
           tag != DCM_TAG_SEQ_DELIM;
}

static uint32_t read_tag(const struct level *l, const uint8_t *b)
{
    return l->big ? ((uint32_t)rd16be(b) << 16) | rd16be(b + 2)
                  : ((uint32_t)rd16le(b) << 16) | rd16le(b + 2);
}

static uint32_t read32(const struct level *l, const uint8_t *b)
{
    return l->big ? rd32be(b) : rd32le(b);
}

static int meta_length_error(struct dcm_parser *p, struct ferry_error **err)
{
    return dcm__perr(err, -EINVAL, p->meta_gl_offset, DCM_TAG_FileMetaInformationGroupLength,
                     DCM_VR_UL, "group length %llu ends inside an element of the meta group",
                     (unsigned long long)(p->meta_end - p->meta_gl_offset - 12));
}

/* The VR of an element of an implicit-VR stream. The dictionary's "US or SS"
 * is resolved like DCMTK does: SS when the same data set has already said
 * Pixel Representation 1. */
static enum dcm_vr implicit_vr(const struct dcm_parser *p, const struct level *l, uint32_t tag)
{
    const struct dcm_dict_entry *e = dcm_dict_lookup(tag);
    if (!e || e->vr != DCM_VR_US_SS)
        return dcm__implicit_vr(tag);
    for (uint32_t i = p->n_els; i-- > l->base;) {
        const struct dcm_element *pr = &p->els[i];
        if (pr->tag == DCM_TAG_PixelRepresentation) {
            bool is_signed = pr->length >= 2 && pr->u.value && !(pr->flags & EL_SKIPPED) &&
                             rd16le(pr->u.value) == 1;
            return is_signed ? DCM_VR_SS : DCM_VR_US;
        }
    }
    return DCM_VR_US;
}

/* One element header in a data set level. Returns bytes consumed (0: need
 * more, p->need set), or a negative errno. */
static long element_header(struct dcm_parser *p, const uint8_t *b, size_t avail,
                           struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    uint64_t off = p->pos;

    if (off >= l->limit && l->kind == LV_ITEM) {
        int rc = close_item(p, off, err);
        return rc < 0 ? rc : 0;
    }
    if (l->kind == LV_META && p->meta_has_gl && off >= p->meta_end) {
        int rc = 0;
        if (off > p->meta_end)
            return fail(p, meta_length_error(p, err));
        if (fill_dataset(p, l, err) < 0)
            return p->error;
        p->depth--;
        rc = start_dataset(p, err);
        return rc < 0 ? rc : (rc == 2 ? R_INFLATE(0) : 0);
    }
    if (avail < 8) {
        p->need = 8;
        return R_NEED;
    }
    uint32_t tag = read_tag(l, b);
    if (l->kind == LV_META && DCM_TAG_GROUP(tag) != 0x0002) {
        if (fill_dataset(p, l, err) < 0)
            return p->error;
        p->depth--;
        int rc = start_dataset(p, err);
        return rc < 0 ? rc : (rc == 2 ? R_INFLATE(0) : 0);
    }
    if (header_only_stop(p, l, tag)) {
        p->root->stop_offset = off;
        p->root->flags |= ROOT_STOPPED;
        p->state = PS_STOPPED;
        return 0;
    }
    if (DCM_TAG_GROUP(tag) == 0xFFFE) {
        if (tag == DCM_TAG_ITEM_DELIM && l->kind == LV_ITEM && l->end == NO_END) {
            int rc = close_item(p, off, err);
            return rc < 0 ? rc : 8;
        }
        if (tag == DCM_TAG_ITEM_DELIM)
            return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                     "item delimiter outside an item of undefined length"));
        if (tag == DCM_TAG_SEQ_DELIM)
            return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                     "sequence delimiter outside a sequence of undefined length"));
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "item tag where an element was expected"));
    }

    enum dcm_vr vr;
    uint32_t len;
    size_t hdr;
    bool un_sq = false;
    if (l->implicit) {
        len = read32(l, b + 4);
        hdr = 8;
        vr = implicit_vr(p, l, tag);
    } else {
        vr = dcm_vr_from_bytes(b + 4);
        bool lng;
        if (vr != DCM_VR_NONE) {
            lng = dcm_vr_has_long_length(vr);
        } else {
            /* DCMTK's rule for VRs it does not know: two capital letters are
             * a VR defined after us, with a 4-byte length like every VR
             * added since 2007; anything else is garbage with a 2-byte
             * length. Either way the value is kept as UN. */
            lng = b[4] >= 'A' && b[4] <= 'Z' && b[5] >= 'A' && b[5] <= 'Z';
            vr = lng ? DCM_VR_UN : dcm__implicit_vr(tag);
        }
        if (lng) {
            if (avail < 12) {
                p->need = 12;
                return R_NEED;
            }
            len = read32(l, b + 8);
            hdr = 12;
        } else {
            len = l->big ? rd16be(b + 6) : rd16le(b + 6);
            hdr = 8;
        }
    }
    uint64_t after = off + hdr;
    if (after > l->limit)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, vr,
                                 "the element header crosses the end of its item"));

    if (p->n_els > l->base && tag <= l->last_tag)
        l->unsorted = true;
    l->last_tag = tag;

    if (len != DCM_UNDEFINED_LENGTH && len > l->limit - after)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, vr,
                                 "value length %u exceeds the %llu bytes that remain", len,
                                 (unsigned long long)(l->limit - after)));

    if (len == DCM_UNDEFINED_LENGTH) {
        bool pixel = tag == DCM_TAG_PIXEL_DATA &&
                     (vr == DCM_VR_OB || vr == DCM_VR_OW || vr == DCM_VR_UN);
        if (!pixel && vr != DCM_VR_SQ && vr != DCM_VR_UN && !l->implicit)
            return fail(p, dcm__perr(err, -EINVAL, off, tag, vr,
                                     "undefined length is only allowed for SQ, UN and Pixel Data"));
        if (p->seq_depth >= p->opts.max_depth)
            return fail(p, dcm__perr(err, -E2BIG, off, tag, pixel ? vr : DCM_VR_SQ,
                                     "sequences nested deeper than %u levels",
                                     p->opts.max_depth));
        struct dcm_element *e = push_element(p);
        if (!e)
            return oom(p, err, off, tag, vr);
        e->tag = tag;
        e->offset = off;
        e->length = len;
        e->flags = EL_UNDEF;
        struct level *nl;
        if (pixel) {
            /* PS3.5 A.4: encapsulated Pixel Data is OB, whatever a writer
             * put (DCMTK reads it as OB too). */
            e->vr = DCM_VR_OB;
            e->flags |= EL_PIXSEQ;
            struct dcm_pixseq *px = dcm__alloc(p->root, sizeof *px);
            if (!px)
                return oom(p, err, off, tag, vr);
            memset(px, 0, sizeof *px);
            e->u.px = px;
            nl = push_level(p, LV_PIXSEQ);
            nl->px = px;
            nl->base = p->n_frags;
            p->state = PS_FRAG;
        } else {
            un_sq = vr == DCM_VR_UN && !l->implicit;
            e->vr = DCM_VR_SQ;
            if (un_sq)
                e->flags |= EL_UN_SQ;
            nl = push_level(p, LV_SEQ);
            nl->base = p->n_items;
            p->state = PS_ITEM;
            if (un_sq) {
                /* CP-246: the items of UN with undefined length are
                 * Implicit VR Little Endian. */
                nl->implicit = true;
                nl->big = false;
            }
        }
        nl->owner = p->n_els - 1;
        nl->tag = tag;
        nl->tag_offset = off;
        nl->start = after;
        p->seq_depth++;
        return (long)hdr;
    }

    if (vr == DCM_VR_SQ) {
        if (p->seq_depth >= p->opts.max_depth)
            return fail(p, dcm__perr(err, -E2BIG, off, tag, vr,
                                     "sequences nested deeper than %u levels",
                                     p->opts.max_depth));
        struct dcm_element *e = push_element(p);
        if (!e)
            return oom(p, err, off, tag, vr);
        e->tag = tag;
        e->vr = DCM_VR_SQ;
        e->offset = off;
        e->length = len;
        struct level *nl = push_level(p, LV_SEQ);
        nl->base = p->n_items;
        nl->owner = p->n_els - 1;
        nl->tag = tag;
        nl->tag_offset = off;
        nl->start = after;
        set_end(nl, after + len);
        p->seq_depth++;
        p->state = PS_ITEM;
        return (long)hdr;
    }

    if (p->opts.max_element_length && len > p->opts.max_element_length)
        return fail(p, dcm__perr(err, -E2BIG, off, tag, vr,
                                 "value length %u exceeds the limit of %u bytes", len,
                                 p->opts.max_element_length));
    struct dcm_element *e = push_element(p);
    if (!e)
        return oom(p, err, off, tag, vr);
    e->tag = tag;
    e->vr = (uint16_t)vr;
    e->offset = off;
    e->length = len;
    p->cur_kind = CUR_ELEMENT;
    p->cur_index = p->n_els - 1;
    p->val_len = len;
    p->val_tag = tag;
    p->val_vr = (uint16_t)vr;
    p->val_tag_offset = off;
    p->state = PS_VALUE;
    bool skip = (p->opts.flags & DCM_PARSE_SKIP_BULK) && len > p->opts.bulk_threshold;
    int rc = begin_value(p, avail - hdr, skip, l->big && dcm_vr_value_size(vr) > 1, err);
    return rc < 0 ? rc : (long)hdr;
}

/* An item header inside a sequence. */
static long item_header(struct dcm_parser *p, const uint8_t *b, size_t avail,
                        struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    uint64_t off = p->pos;
    if (off >= l->limit) {
        int rc = close_seq(p, err);
        return rc < 0 ? rc : 0;
    }
    if (avail < 8) {
        p->need = 8;
        return R_NEED;
    }
    uint32_t tag = read_tag(l, b);
    uint32_t len = read32(l, b + 4);
    uint64_t after = off + 8;
    if (after > l->limit)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "the item header crosses the end of sequence (%04X,%04X)",
                                 DCM_TAG_GROUP(l->tag), DCM_TAG_ELEMENT(l->tag)));
    if (tag == DCM_TAG_SEQ_DELIM) {
        if (l->end != NO_END)
            return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                     "in sequence (%04X,%04X) of defined length",
                                     DCM_TAG_GROUP(l->tag), DCM_TAG_ELEMENT(l->tag)));
        int rc = close_seq(p, err);
        return rc < 0 ? rc : 8;
    }
    if (tag != DCM_TAG_ITEM)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "expected an item of sequence (%04X,%04X)",
                                 DCM_TAG_GROUP(l->tag), DCM_TAG_ELEMENT(l->tag)));
    struct dcm_dataset *parent = NULL;
    for (uint32_t i = p->depth; i-- > 0;)
        if (p->lv[i].ds) {
            parent = p->lv[i].ds;
            break;
        }
    struct dcm_dataset *it = dcm__item_new(p->root, parent);
    if (!it)
        return oom(p, err, off, tag, DCM_VR_NONE);
    it->offset = off;
    it->length = len;
    if (len == DCM_UNDEFINED_LENGTH)
        it->flags |= DS_UNDEF;
    if (l->implicit)
        it->flags |= DS_SRC_IMPLICIT;
    if (l->big)
        it->flags |= DS_SRC_BIG;
    struct level *nl = push_level(p, LV_ITEM);
    nl->ds = it;
    nl->base = p->n_els;
    nl->tag = DCM_TAG_ITEM;
    nl->tag_offset = off;
    nl->start = after;
    if (len != DCM_UNDEFINED_LENGTH)
        set_end(nl, after + len);
    p->state = PS_ELEMENT;
    return 8;
}

/* A fragment item (or the end) of encapsulated Pixel Data. */
static long frag_header(struct dcm_parser *p, const uint8_t *b, size_t avail,
                        struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    uint64_t off = p->pos;
    if (avail < 8) {
        p->need = 8;
        return R_NEED;
    }
    uint32_t tag = read_tag(l, b);
    uint32_t len = read32(l, b + 4);
    if (tag == DCM_TAG_SEQ_DELIM) {
        int rc = close_pixseq(p, err);
        return rc < 0 ? rc : 8;
    }
    if (tag != DCM_TAG_ITEM)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "expected a fragment item of encapsulated Pixel Data"));
    if (len == DCM_UNDEFINED_LENGTH)
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "fragment with undefined length"));
    if (off + 8 > l->limit || len > l->limit - (off + 8))
        return fail(p, dcm__perr(err, -EINVAL, off, tag, DCM_VR_NONE,
                                 "fragment length %u exceeds the %llu bytes that remain", len,
                                 (unsigned long long)(off + 8 > l->limit ? 0 : l->limit - off - 8)));
    if (p->opts.max_element_length && len > p->opts.max_element_length)
        return fail(p, dcm__perr(err, -E2BIG, off, tag, DCM_VR_NONE,
                                 "fragment length %u exceeds the limit of %u bytes", len,
                                 p->opts.max_element_length));
    /* The first item is the Basic Offset Table. */
    bool bot = l->px->bot.offset == 0 && p->n_frags == l->base && !l->unsorted;
    if (bot) {
        l->unsorted = true; /* used here as "BOT seen" */
        l->px->bot.length = len;
        l->px->bot.offset = off;
        p->cur_kind = CUR_BOT;
    } else {
        if (!grow((void **)&p->frags, &p->cap_frags, p->n_frags, sizeof *p->frags))
            return oom(p, err, off, tag, DCM_VR_NONE);
        struct dcm_frag *f = &p->frags[p->n_frags++];
        memset(f, 0, sizeof *f);
        f->length = len;
        f->offset = off;
        p->cur_kind = CUR_FRAG;
        p->cur_index = p->n_frags - 1;
    }
    p->val_len = len;
    p->val_tag = tag;
    p->val_vr = DCM_VR_OB;
    p->val_tag_offset = off;
    p->state = PS_VALUE;
    bool skip = (p->opts.flags & DCM_PARSE_SKIP_BULK) && len > p->opts.bulk_threshold;
    int rc = begin_value(p, avail - 8, skip, false, err);
    return rc < 0 ? rc : 8;
}

/* ---------------------------------------------------------------------------
 * Preamble and meta group */

static long preamble(struct dcm_parser *p, const uint8_t *b, size_t avail,
                     struct ferry_error **err)
{
    if (avail < 132 && !p->final) {
        p->need = 132;
        return R_NEED;
    }
    size_t used = 0;
    if (avail >= 132 && memcmp(b + 128, "DICM", 4) == 0)
        used = 132;
    const uint8_t *m = b + used;
    size_t mavail = avail - used;
    /* A meta group without the preamble, or none at all. */
    if (mavail >= 6 && rd16le(m) == 0x0002 && dcm_vr_from_bytes(m + 4) != DCM_VR_NONE) {
        struct level *l = push_level(p, LV_META);
        struct dcm_dataset *meta = dcm__item_new(p->root, NULL);
        if (!l || !meta)
            return oom(p, err, p->pos + used, 0x00020000u, DCM_VR_NONE);
        l->ds = meta;
        l->start = p->pos + used;
        l->implicit = false;
        l->big = false;
        p->root->meta = meta;
        p->meta_end = NO_END;
        p->state = PS_ELEMENT;
        return (long)used;
    }
    if (used == 132 && mavail < 6 && !p->final) {
        p->need = 138;
        return R_NEED;
    }
    p->pos += used;
    int rc = start_dataset(p, err);
    p->pos -= used;
    if (rc == 2)
        return R_INFLATE(used);
    return rc < 0 ? rc : (long)used;
}

/* ---------------------------------------------------------------------------
 * The machine */

/* Run over b[0..len). Returns 0 (needs more: p->need), 1 (stopped), 2 (the
 * rest is a deflate stream: *used tells where it starts), or a negative
 * errno. */
static int run(struct dcm_parser *p, const uint8_t *b, size_t len, size_t *used,
               struct ferry_error **err)
{
    static const uint8_t none[1];
    size_t i = 0;
    int ret = 0;
    if (!b)
        b = none; /* never read: len is 0 */
    for (;;) {
        long n;
        size_t avail = len - i;
        switch (p->state) {
        case PS_PREAMBLE:
            n = preamble(p, b + i, avail, err);
            break;
        case PS_DETECT:
            if (avail < 6 && !p->final) {
                p->need = 6;
                goto out;
            }
            detect_syntax(p, b + i, avail);
            p->state = PS_ELEMENT;
            continue;
        case PS_ELEMENT:
            n = element_header(p, b + i, avail, err);
            break;
        case PS_ITEM:
            n = item_header(p, b + i, avail, err);
            break;
        case PS_FRAG:
            n = frag_header(p, b + i, avail, err);
            break;
        case PS_VALUE:
            if (p->val_got == p->val_len) { /* an empty value */
                end_value(p, NULL);
                continue;
            }
            if (avail == 0) {
                p->need = 1;
                goto out;
            }
            n = (long)feed_value(p, b + i, avail, err, &ret);
            if (ret < 0)
                goto out;
            break;
        case PS_STOPPED:
            ret = 1;
            goto out;
        default:
            ret = p->error ? p->error : -EINVAL;
            goto out;
        }
        if (n == R_NEED)
            goto out;
        if (R_IS_INFLATE(n)) {
            size_t k = (size_t)(-n - 1000);
            i += k;
            p->pos += k;
            ret = 2;
            goto out;
        }
        if (n < 0) {
            ret = (int)n;
            goto out;
        }
        i += (size_t)n;
        p->pos += (uint64_t)n;
    }
out:
    *used = i;
    if (ret < 0 && p->state != PS_FAILED)
        fail(p, ret);
    return ret;
}

/* ---------------------------------------------------------------------------
 * Feeding: the carry, and inflation */

static int feed_plain(struct dcm_parser *p, const uint8_t *data, size_t len, size_t *consumed,
                      struct ferry_error **err)
{
    size_t done = 0;
    int rc = 0;
    while (done < len || (p->carry_len && p->carry_len >= p->need)) {
        if (p->carry_len) {
            size_t want = p->need > p->carry_len ? p->need - p->carry_len : 0;
            size_t take = want < len - done ? want : len - done;
            memcpy(p->carry + p->carry_len, data + done, take);
            p->carry_len += take;
            done += take;
            if (p->carry_len < p->need)
                break;
            size_t used;
            rc = run(p, p->carry, p->carry_len, &used, err);
            memmove(p->carry, p->carry + used, p->carry_len - used);
            p->carry_len -= used;
            if (rc == 2) {
                /* the carried bytes after the meta group are deflated */
                break;
            }
            if (rc != 0)
                break;
            continue;
        }
        size_t used;
        rc = run(p, data + done, len - done, &used, err);
        done += used;
        if (rc != 0)
            break;
        size_t left = len - done;
        if (left) {
            if (left > sizeof p->carry) /* cannot happen: p->need <= 138 */
                return fail(p, ferry_error_set(err, -EINVAL, "offset %llu: parser state error",
                                               (unsigned long long)p->pos));
            memcpy(p->carry, data + done, left);
            p->carry_len = left;
            done = len;
        }
        break;
    }
    *consumed = done;
    return rc;
}

static int inflate_feed(struct dcm_parser *p, const uint8_t *data, size_t len, bool flush,
                        struct ferry_error **err)
{
    if (p->z_ended) {
        return 0; /* bytes after the deflate stream's end are ignored */
    }
    p->z.next_in = (Bytef *)(uintptr_t)data;
    p->z.avail_in = (uInt)len;
    do {
        p->z.next_out = p->zbuf;
        p->z.avail_out = ZBUF;
        int zr = inflate(&p->z, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        /* What was inflated before any error goes to the parser first, so
         * that the result does not depend on how the input was cut: a
         * header-only parse may be done before the corrupt part. */
        size_t n = ZBUF - p->z.avail_out;
        size_t used;
        int rc = feed_plain(p, p->zbuf, n, &used, err);
        if (rc != 0)
            return rc;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return fail(p, ferry_error_set(err, -EINVAL,
                                           "offset %llu: deflate stream is corrupt (%s)",
                                           (unsigned long long)(p->ds_start + p->z.total_in),
                                           p->z.msg ? p->z.msg : "zlib error"));
        if (zr == Z_STREAM_END) {
            p->z_ended = true;
            break;
        }
        if (zr == Z_BUF_ERROR && n == 0)
            break;
    } while (p->z.avail_in > 0 || p->z.avail_out == 0);
    return 0;
}

static int start_inflate(struct dcm_parser *p, struct ferry_error **err)
{
    p->zbuf = malloc(ZBUF);
    if (!p->zbuf)
        return oom(p, err, p->pos, 0, DCM_VR_NONE);
    memset(&p->z, 0, sizeof p->z);
    if (inflateInit2(&p->z, -15) != Z_OK)
        return oom(p, err, p->pos, 0, DCM_VR_NONE);
    p->z_init = true;
    p->inflating = true;
    p->persistent = false; /* inflated bytes live in a reused buffer */
    return 0;
}

static int feed(struct dcm_parser *p, const uint8_t *data, size_t len, struct ferry_error **err)
{
    if (p->state == PS_FAILED)
        return p->error;
    if (p->state == PS_STOPPED)
        return 1;
    if (p->inflating)
        return inflate_feed(p, data, len, false, err);
    size_t used;
    int rc = feed_plain(p, data, len, &used, err);
    if (rc != 2)
        return rc;
    /* The meta group ended and the rest is deflated: the carried bytes (if the
     * switch happened there) and the rest of this chunk go to zlib. */
    rc = start_inflate(p, err);
    if (rc < 0)
        return rc;
    uint8_t carried[sizeof p->carry];
    size_t nc = p->carry_len;
    memcpy(carried, p->carry, nc);
    p->carry_len = 0;
    p->need = 0;
    if (nc && (rc = inflate_feed(p, carried, nc, false, err)) != 0)
        return rc;
    return inflate_feed(p, data + used, len - used, false, err);
}

/* ---------------------------------------------------------------------------
 * The end of the stream */

static int finish_errors(struct dcm_parser *p, struct ferry_error **err)
{
    struct level *l = &p->lv[p->depth - 1];
    if (p->state == PS_VALUE) {
        uint32_t got = p->val_got;
        if (p->cur_kind == CUR_ELEMENT)
            return dcm__perr(err, -EINVAL, p->val_tag_offset, p->val_tag, p->val_vr,
                             "value length %u exceeds the %u bytes that remain", p->val_len, got);
        return dcm__perr(err, -EINVAL, p->val_tag_offset, DCM_TAG_ITEM, DCM_VR_NONE,
                         "fragment length %u exceeds the %u bytes that remain", p->val_len, got);
    }
    if (p->carry_len)
        return ferry_error_set(err, -EINVAL,
                               "offset %llu: the stream ends inside a header (%zu of %zu bytes)",
                               (unsigned long long)p->pos, p->carry_len,
                               p->need ? p->need : (size_t)8);
    switch (l->kind) {
    case LV_ITEM:
        if (l->end != NO_END)
            return dcm__perr(err, -EINVAL, l->tag_offset, DCM_TAG_ITEM, DCM_VR_NONE,
                             "item length %llu exceeds the %llu bytes that remain",
                             (unsigned long long)(l->end - l->start),
                             (unsigned long long)(p->pos - l->start));
        return dcm__perr(err, -EINVAL, l->tag_offset, DCM_TAG_ITEM, DCM_VR_NONE,
                         "the stream ends before the item delimiter");
    case LV_SEQ:
        if (l->end != NO_END)
            return dcm__perr(err, -EINVAL, l->tag_offset, l->tag, DCM_VR_SQ,
                             "sequence length %llu exceeds the %llu bytes that remain",
                             (unsigned long long)(l->end - l->start),
                             (unsigned long long)(p->pos - l->start));
        return dcm__perr(err, -EINVAL, l->tag_offset, l->tag, DCM_VR_SQ,
                         "the stream ends before the sequence delimiter");
    case LV_PIXSEQ:
        return dcm__perr(err, -EINVAL, l->tag_offset, l->tag, p->els[l->owner].vr,
                         "the stream ends before the end of the encapsulated pixel data");
    default:
        return ferry_error_set(err, -EINVAL, "offset %llu: the stream ends unexpectedly",
                               (unsigned long long)p->pos);
    }
}

/* ---------------------------------------------------------------------------
 * Public entry points */

static int check_opts(struct dcm_parse_opts *o, struct ferry_error **err)
{
    if (!(o->flags & DCM_PARSE_PART10) && (!o->transfer_syntax || !*o->transfer_syntax))
        return ferry_error_set(err, -EINVAL, "a bare data set needs its transfer syntax");
    if (o->max_depth == 0)
        o->max_depth = DEFAULT_MAX_DEPTH;
    if (o->max_depth > 10000)
        return ferry_error_set(err, -EINVAL, "max_depth %u is unreasonable", o->max_depth);
    if (o->bulk_threshold == 0)
        o->bulk_threshold = DEFAULT_BULK;
    return 0;
}

struct dcm_parser *dcm_parser_new(const struct dcm_parse_opts *opts, struct ferry_error **err)
{
    struct dcm_parser *p = calloc(1, sizeof *p);
    if (!p) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    p->opts = *opts;
    if (check_opts(&p->opts, err) < 0) {
        free(p);
        return NULL;
    }
    p->opts.transfer_syntax = NULL; /* not kept: copied into the root */
    p->lv_cap = 2 * p->opts.max_depth + 4;
    p->lv = calloc(p->lv_cap, sizeof *p->lv);
    p->root = dcm__root_new();
    if (!p->lv || !p->root) {
        ferry_error_set(err, -ENOMEM, "out of memory");
        dcm_parser_free(p);
        return NULL;
    }
    p->root->mem_limit = p->opts.max_memory;
    p->root->mem_used = 0;
    if (p->opts.flags & DCM_PARSE_SKIP_BULK)
        p->root->flags |= ROOT_SKIP_BULK;
    p->part10 = (opts->flags & DCM_PARSE_PART10) != 0;
    p->meta_end = NO_END;
    if (p->part10) {
        p->state = PS_PREAMBLE;
        return p;
    }
    dcm__root_set_ts(p->root, opts->transfer_syntax, strlen(opts->transfer_syntax));
    struct level *l = push_level(p, LV_ROOT);
    l->ds = &p->root->ds;
    level_syntax(l, p->root->ts);
    p->state = PS_ELEMENT;
    if (is_deflated(p->root->ts) && start_inflate(p, err) < 0) {
        dcm_parser_free(p);
        return NULL;
    }
    return p;
}

int dcm_parser_feed(struct dcm_parser *p, const void *data, size_t len, struct ferry_error **err)
{
    static const uint8_t empty[1];
    if (!data || len == 0) {
        data = empty;
        len = 0;
    }
    p->persistent = false;
    return feed(p, data, len, err);
}

uint64_t dcm_parser_offset(const struct dcm_parser *p)
{
    return p->pos + p->carry_len;
}

static void parser_release_scratch(struct dcm_parser *p)
{
    /* What the unfinished levels own: elements in the scratch, heap
     * fragments, a value being read. */
    for (uint32_t i = 0; i < p->n_els; i++)
        dcm__element_release(&p->els[i]);
    for (uint32_t i = 0; i < p->n_frags; i++)
        if (p->frags[i].flags & FRAG_HEAP)
            free((void *)p->frags[i].bytes);
    for (uint32_t d = 0; d < p->depth; d++)
        if (p->lv[d].kind == LV_PIXSEQ && p->lv[d].px && (p->lv[d].px->bot.flags & FRAG_HEAP))
            free((void *)p->lv[d].px->bot.bytes);
    for (uint32_t i = 0; i < p->n_items; i++) {
        struct dcm_dataset *it = p->items[i];
        for (uint32_t k = 0; k < it->n; k++)
            dcm__element_release(&it->els[k]);
    }
    if (p->val_heap)
        free(p->val_buf); /* a large value being read when the parse ended */
    p->n_els = p->n_frags = p->n_items = 0;
    p->val_heap = false;
}

static struct dcm_dataset *finish(struct dcm_parser *p, struct ferry_error **err)
{
    if (p->state == PS_FAILED)
        return NULL;
    if (p->inflating && p->state != PS_STOPPED && !p->z_ended) {
        if (inflate_feed(p, NULL, 0, true, err) < 0)
            return NULL;
    }
    if (p->state == PS_PREAMBLE || p->state == PS_DETECT) {
        /* Short stream: decide on what there is. */
        p->final = true;
        uint8_t tmp[sizeof p->carry];
        size_t n = p->carry_len, used;
        memcpy(tmp, p->carry, n);
        p->carry_len = 0;
        int rc = run(p, tmp, n, &used, err);
        if (rc == 2) {
            if (start_inflate(p, err) < 0 || inflate_feed(p, tmp + used, n - used, true, err) < 0)
                return NULL;
        } else if (rc < 0) {
            return NULL;
        } else if (used < n) {
            memcpy(p->carry, tmp + used, n - used);
            p->carry_len = n - used;
        }
    }
    if (p->state == PS_FAILED)
        return NULL;
    struct level *l = p->depth ? &p->lv[p->depth - 1] : NULL;
    if (p->state != PS_STOPPED) {
        if (p->state == PS_ELEMENT && l && l->kind == LV_META && p->carry_len == 0) {
            /* A file with nothing but a meta group. */
            if (p->meta_has_gl && p->pos != p->meta_end) {
                fail(p, meta_length_error(p, err));
                return NULL;
            }
            if (fill_dataset(p, l, err) < 0)
                return NULL;
            p->depth--;
            if (start_dataset(p, err) < 0)
                return NULL;
            p->state = PS_ELEMENT;
            l = &p->lv[p->depth - 1];
        }
        if (!(p->state == PS_ELEMENT && l && l->kind == LV_ROOT && p->carry_len == 0)) {
            if (p->state != PS_FAILED)
                fail(p, finish_errors(p, err));
            return NULL;
        }
    }
    /* Close the root (the levels above it are closed when stopped early). */
    struct level *rl = &p->lv[0];
    if (p->state == PS_STOPPED) {
        /* Header-only: everything is closed below the root by construction
         * (the stop happens at the top level). */
    }
    if (fill_dataset(p, rl, err) < 0)
        return NULL;
    p->depth = 0;
    p->state = PS_DONE;
    struct dcm_root *r = p->root;
    p->root = NULL;
    return &r->ds;
}

struct dcm_dataset *dcm_parser_finish(struct dcm_parser *p, struct ferry_error **err)
{
    p->persistent = false;
    return finish(p, err);
}

void dcm_parser_free(struct dcm_parser *p)
{
    if (!p)
        return;
    if (p->root) {
        parser_release_scratch(p);
        p->root->flags |= ROOT_HAS_HEAP;
        dcm_dataset_unref(&p->root->ds);
    }
    if (p->z_init)
        inflateEnd(&p->z);
    free(p->zbuf);
    free(p->els);
    free(p->items);
    free(p->frags);
    free(p->lv);
    free(p);
}

static void release_source(struct dcm_root *r, const uint8_t *data, size_t len,
                           void (*release)(void *), void *ud, bool *ok)
{
    struct dcm_source *s = malloc(sizeof *s);
    *ok = s != NULL;
    if (!s)
        return;
    atomic_init(&s->refs, 1);
    s->data = data;
    s->len = len;
    s->release = release;
    s->ud = ud;
    r->source = s;
}

struct dcm_dataset *dcm_parse_buffer(const void *data, size_t len,
                                     const struct dcm_parse_opts *opts,
                                     void (*release)(void *ud), void *release_ud,
                                     struct ferry_error **err)
{
    static const uint8_t empty[1];
    if (!data || len == 0) {
        data = empty;
        len = 0;
    }
    struct dcm_parser *p = dcm_parser_new(opts, err);
    if (!p)
        return NULL;
    /* Values can point into the buffer, unless asked to copy or the data set
     * is deflated (then they come from a reused inflate buffer). */
    p->persistent = !(opts->flags & DCM_PARSE_COPY) && !p->inflating;
    p->final = true;
    p->buf = data;
    p->buf_off = 0;
    struct dcm_dataset *ds = NULL;
    int rc = feed(p, data, len, err);
    if (rc >= 0)
        ds = finish(p, err);
    if (ds) {
        struct dcm_root *r = ds->root;
        if (!(opts->flags & DCM_PARSE_COPY)) {
            bool ok;
            release_source(r, data, len, release, release_ud, &ok);
            if (!ok) {
                /* Values point into data: the data set cannot live without
                 * knowing whom to tell when it is done with it. */
                ferry_error_set(err, -ENOMEM, "out of memory");
                r->flags |= ROOT_HAS_HEAP;
                dcm_dataset_unref(ds);
                ds = NULL;
            } else if (!(r->flags & ROOT_STOPPED) && p->ds_start <= len) {
                /* The data set's encoded bytes, for pass-through. */
                r->raw = (const uint8_t *)data + p->ds_start;
                r->raw_len = len - (size_t)p->ds_start;
                if (!p->inflating && r->raw_len <= UINT32_MAX) {
                    r->ds.src = r->raw;
                    r->ds.src_len = (uint32_t)r->raw_len;
                }
            }
        } else if (release) {
            /* Nothing points into the buffer: give it back now. */
            release(release_ud);
        }
    }
    dcm_parser_free(p);
    return ds;
}

struct dcm_dataset *dcm_command_parse(const void *data, size_t len, struct ferry_error **err)
{
    struct dcm_parse_opts o = { .flags = DCM_PARSE_COPY,
                                .transfer_syntax = DCM_UID_ImplicitVRLittleEndian };
    return dcm_parse_buffer(data, len, &o, NULL, NULL, err);
}
