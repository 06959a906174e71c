/* ferry — data sets: memory, life cycle, lookup, element accessors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dcm/dcm-private.h"

/* The first arena chunk is allocated with the root; a header-only parse of a
 * CT slice fits in it. */
#define ARENA_FIRST 12288u
#define ARENA_MAX_CHUNK (1u << 20)

/* ---------------------------------------------------------------------------
 * Buffers */

void dcm_buf_free(struct dcm_buf *buf)
{
    if (!buf)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

int dcm_buf_append(struct dcm_buf *buf, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - buf->len)
        return -ENOMEM;
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len)
            cap = cap > SIZE_MAX / 2 ? buf->len + len : cap * 2;
        uint8_t *d = realloc(buf->data, cap);
        if (!d)
            return -ENOMEM;
        buf->data = d;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Arena */

bool dcm__charge(struct dcm_root *r, size_t n)
{
    if (r->mem_limit && (n > r->mem_limit || r->mem_used > r->mem_limit - n)) {
        r->over_limit = true;
        return false;
    }
    r->mem_used += n;
    return true;
}

void *dcm__alloc(struct dcm_root *r, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct arena_chunk *c = r->arena;
    if (c && c->size - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    size_t size = c ? c->size * 2 : ARENA_FIRST;
    if (size > ARENA_MAX_CHUNK)
        size = ARENA_MAX_CHUNK;
    bool dedicated = n > size / 2;
    if (dedicated)
        size = n;
    if (size > SIZE_MAX - sizeof *c || !dcm__charge(r, size + sizeof *c))
        return NULL;
    struct arena_chunk *nc = malloc(sizeof *nc + size);
    if (!nc) {
        r->mem_used -= size + sizeof *c;
        return NULL;
    }
    nc->size = size;
    nc->used = n;
    if (dedicated && c) {
        /* Keep the current chunk at the head: it still has room. */
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        r->arena = nc;
    }
    return nc->data;
}

/* ---------------------------------------------------------------------------
 * Roots and items */

struct dcm_root *dcm__root_new(void)
{
    /* One allocation for the root and its first arena chunk. */
    struct dcm_root *r = malloc(sizeof *r + sizeof(struct arena_chunk) + ARENA_FIRST);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    struct arena_chunk *c = (struct arena_chunk *)(void *)(r + 1);
    c->next = NULL;
    c->size = ARENA_FIRST;
    c->used = 0;
    r->arena = c;
    r->ds.root = r;
    r->ds.flags = DS_ROOT;
    r->ds.offset = UINT64_MAX;
    atomic_init(&r->refs, 1);
    r->stop_offset = UINT64_MAX;
    dcm__root_set_ts(r, DCM_UID_ExplicitVRLittleEndian, strlen(DCM_UID_ExplicitVRLittleEndian));
    return r;
}

void dcm__root_set_ts(struct dcm_root *r, const char *uid, size_t len)
{
    while (len > 0 && (uid[len - 1] == '\0' || uid[len - 1] == ' '))
        len--;
    if (len >= sizeof r->ts_uid)
        len = sizeof r->ts_uid - 1;
    memcpy(r->ts_uid, uid, len);
    r->ts_uid[len] = '\0';
    r->ts = dcm_ts_lookup(r->ts_uid);
}

struct dcm_dataset *dcm__item_new(struct dcm_root *r, struct dcm_dataset *parent)
{
    struct dcm_dataset *it = dcm__alloc(r, sizeof *it);
    if (!it)
        return NULL;
    memset(it, 0, sizeof *it);
    it->root = r;
    it->parent = parent;
    it->offset = UINT64_MAX;
    return it;
}

struct dcm_dataset *dcm_dataset_new(void)
{
    struct dcm_root *r = dcm__root_new();
    return r ? &r->ds : NULL;
}

void dcm__source_unref(struct dcm_source *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (s->release)
        s->release(s->ud);
    free(s);
}

static void dataset_release(struct dcm_dataset *ds)
{
    for (uint32_t i = 0; i < ds->n; i++)
        dcm__element_release(&ds->els[i]);
    if (ds->flags & DS_ELS_HEAP)
        free(ds->els);
    ds->els = NULL;
    ds->n = ds->cap = 0;
    ds->flags &= ~(uint32_t)DS_ELS_HEAP;
}

void dcm__element_release(struct dcm_element *el)
{
    if (el->vr == DCM_VR_SQ && !(el->flags & EL_PIXSEQ)) {
        struct dcm_seq *sq = el->u.seq;
        if (sq) {
            for (uint32_t i = 0; i < sq->n; i++)
                dataset_release(sq->items[i]);
            if (sq->heap)
                free(sq->items);
            sq->items = NULL;
            sq->n = sq->cap = 0;
            sq->heap = false;
        }
        return;
    }
    if (el->flags & EL_PIXSEQ) {
        struct dcm_pixseq *px = el->u.px;
        if (px) {
            if (px->bot.flags & FRAG_HEAP)
                free((void *)px->bot.bytes);
            for (uint32_t i = 0; i < px->n; i++)
                if (px->frags[i].flags & FRAG_HEAP)
                    free((void *)px->frags[i].bytes);
            if (px->heap)
                free(px->frags);
            px->frags = NULL;
            px->n = px->cap = 0;
            px->heap = false;
        }
        return;
    }
    if (el->flags & EL_HEAP)
        free((void *)el->u.value);
    el->u.value = NULL;
    el->flags &= ~(uint16_t)EL_HEAP;
}

static void root_free(struct dcm_root *r)
{
    if (r->flags & ROOT_HAS_HEAP) {
        dataset_release(&r->ds);
        if (r->meta)
            dataset_release(r->meta);
    }
    struct arena_chunk *first = (struct arena_chunk *)(void *)(r + 1);
    for (struct arena_chunk *c = r->arena, *next; c; c = next) {
        next = c->next;
        if (c != first)
            free(c);
    }
    dcm__source_unref(r->source);
    free(r);
}

struct dcm_dataset *dcm_dataset_ref(struct dcm_dataset *ds)
{
    if (ds)
        atomic_fetch_add(&ds->root->refs, 1);
    return ds;
}

void dcm_dataset_unref(struct dcm_dataset *ds)
{
    if (!ds)
        return;
    struct dcm_root *r = ds->root;
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        root_free(r);
}

struct dcm_dataset *dcm_dataset_root(const struct dcm_dataset *ds)
{
    return &ds->root->ds;
}

struct dcm_dataset *dcm_dataset_parent(const struct dcm_dataset *ds)
{
    return ds->parent;
}

bool dcm_dataset_changed(const struct dcm_dataset *ds)
{
    return (ds->flags & DS_CHANGED) != 0;
}

void dcm__mark_changed(struct dcm_dataset *ds)
{
    for (; ds && !(ds->flags & DS_CHANGED); ds = ds->parent)
        ds->flags |= DS_CHANGED;
}

const char *dcm_dataset_transfer_syntax(const struct dcm_dataset *ds)
{
    return ds->root->ts_uid;
}

int dcm_dataset_set_transfer_syntax(struct dcm_dataset *ds, const char *uid)
{
    if (!uid || !*uid || strlen(uid) > 64)
        return -EINVAL;
    dcm__root_set_ts(ds->root, uid, strlen(uid));
    dcm__mark_changed(&ds->root->ds);
    return 0;
}

const struct dcm_dataset *dcm_dataset_meta(const struct dcm_dataset *ds)
{
    return ds->root->meta;
}

bool dcm_dataset_stop_offset(const struct dcm_dataset *ds, uint64_t *offset)
{
    const struct dcm_root *r = ds->root;
    if (!(r->flags & ROOT_STOPPED))
        return false;
    *offset = r->stop_offset;
    return true;
}

bool dcm_dataset_is_partial(const struct dcm_dataset *ds)
{
    return (ds->root->flags & (ROOT_STOPPED | ROOT_SKIP_BULK)) != 0;
}

/* ---------------------------------------------------------------------------
 * Clone */

struct clone_ctx {
    struct dcm_root *dst;
    const struct dcm_source *src;
};

static const uint8_t *clone_bytes(struct clone_ctx *cc, const uint8_t *p, size_t n, bool *heap)
{
    *heap = false;
    if (!p || n == 0)
        return p;
    uint8_t *d;
    if (n > 4096) {
        d = malloc(n);
        *heap = true;
        cc->dst->flags |= ROOT_HAS_HEAP;
    } else {
        d = dcm__alloc(cc->dst, n);
    }
    if (d)
        memcpy(d, p, n);
    return d;
}

static int clone_into(struct clone_ctx *cc, const struct dcm_dataset *from, struct dcm_dataset *to);

static int clone_element(struct clone_ctx *cc, const struct dcm_element *e, struct dcm_element *d,
                         struct dcm_dataset *owner)
{
    bool heap;
    *d = *e;
    d->flags &= ~(uint16_t)EL_HEAP;
    if (e->flags & EL_PIXSEQ) {
        const struct dcm_pixseq *px = e->u.px;
        struct dcm_pixseq *npx = dcm__alloc(cc->dst, sizeof *npx);
        if (!npx)
            return -ENOMEM;
        memset(npx, 0, sizeof *npx);
        d->u.px = npx;
        npx->bot = px->bot;
        npx->bot.flags &= ~(uint32_t)FRAG_HEAP;
        if (px->bot.bytes && px->bot.length) {
            npx->bot.bytes = clone_bytes(cc, px->bot.bytes, px->bot.length, &heap);
            if (!npx->bot.bytes)
                return -ENOMEM;
            if (heap)
                npx->bot.flags |= FRAG_HEAP;
        }
        if (px->n) {
            npx->frags = dcm__alloc(cc->dst, sizeof *npx->frags * px->n);
            if (!npx->frags)
                return -ENOMEM;
            npx->cap = px->n;
            for (uint32_t i = 0; i < px->n; i++) {
                const struct dcm_frag *f = &px->frags[i];
                struct dcm_frag *nf = &npx->frags[i];
                *nf = *f;
                nf->flags &= ~(uint32_t)FRAG_HEAP;
                if (f->bytes && f->length && !(f->flags & FRAG_SKIPPED) &&
                    !(cc->src && f->bytes >= cc->src->data &&
                      f->bytes < cc->src->data + cc->src->len)) {
                    nf->bytes = clone_bytes(cc, f->bytes, f->length, &heap);
                    if (!nf->bytes)
                        return -ENOMEM;
                    if (heap)
                        nf->flags |= FRAG_HEAP;
                }
                npx->n = i + 1;
            }
        }
        return 0;
    }
    if (e->vr == DCM_VR_SQ) {
        const struct dcm_seq *sq = e->u.seq;
        struct dcm_seq *nsq = dcm__alloc(cc->dst, sizeof *nsq);
        if (!nsq)
            return -ENOMEM;
        memset(nsq, 0, sizeof *nsq);
        d->u.seq = nsq;
        if (!sq || sq->n == 0)
            return 0;
        nsq->items = dcm__alloc(cc->dst, sizeof *nsq->items * sq->n);
        if (!nsq->items)
            return -ENOMEM;
        nsq->cap = sq->n;
        for (uint32_t i = 0; i < sq->n; i++) {
            struct dcm_dataset *it = dcm__item_new(cc->dst, owner);
            if (!it)
                return -ENOMEM;
            nsq->items[i] = it;
            nsq->n = i + 1;
            int rc = clone_into(cc, sq->items[i], it);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if ((e->flags & EL_SOURCE) || !e->u.value || e->length == 0)
        return 0;
    d->u.value = clone_bytes(cc, e->u.value, e->length, &heap);
    if (!d->u.value)
        return -ENOMEM;
    if (heap)
        d->flags |= EL_HEAP;
    return 0;
}

static int clone_into(struct clone_ctx *cc, const struct dcm_dataset *from, struct dcm_dataset *to)
{
    to->flags = (from->flags & ~(uint32_t)(DS_ELS_HEAP | DS_ROOT)) | (to->flags & DS_ROOT);
    to->src = from->src;
    to->src_len = from->src_len;
    to->length = from->length;
    to->offset = from->offset;
    if (from->n == 0)
        return 0;
    to->els = dcm__alloc(cc->dst, sizeof *to->els * from->n);
    if (!to->els)
        return -ENOMEM;
    to->cap = from->n;
    for (uint32_t i = 0; i < from->n; i++) {
        int rc = clone_element(cc, &from->els[i], &to->els[i], to);
        to->n = i + 1;
        if (rc < 0)
            return rc;
    }
    return 0;
}

struct dcm_dataset *dcm_dataset_clone(const struct dcm_dataset *ds)
{
    const struct dcm_root *sr = ds->root;
    struct dcm_root *r = dcm__root_new();
    if (!r)
        return NULL;
    struct clone_ctx cc = { r, sr->source };
    if (sr->source) {
        atomic_fetch_add(&sr->source->refs, 1);
        r->source = sr->source;
    }
    r->ts = sr->ts;
    memcpy(r->ts_uid, sr->ts_uid, sizeof r->ts_uid);
    r->flags = sr->flags & (ROOT_STOPPED | ROOT_SKIP_BULK | ROOT_PARTIAL);
    r->stop_offset = sr->stop_offset;
    if (clone_into(&cc, ds, &r->ds) < 0)
        goto fail;
    r->ds.parent = NULL;
    if (ds == &sr->ds) {
        r->raw = sr->raw;
        r->raw_len = sr->raw_len;
        if (sr->meta) {
            r->meta = dcm__item_new(r, NULL);
            if (!r->meta || clone_into(&cc, sr->meta, r->meta) < 0)
                goto fail;
        }
    } else {
        /* An item as a new root: it has no source bytes of its own. */
        r->ds.src = NULL;
        r->ds.src_len = 0;
        r->ds.flags &= ~(uint32_t)(DS_UNDEF | DS_SRC_IMPLICIT | DS_SRC_BIG);
        r->ds.flags |= DS_CHANGED;
    }
    return &r->ds;
fail:
    r->flags |= ROOT_HAS_HEAP;
    root_free(r);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Lookup and insertion */

long dcm__find(const struct dcm_dataset *ds, uint32_t tag)
{
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t = ds->els[mid].tag;
        if (t == tag)
            return (long)mid;
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

struct dcm_element *dcm__insert(struct dcm_dataset *ds, size_t i, uint32_t tag)
{
    if (ds->n == ds->cap) {
        uint32_t cap = ds->cap < 8 ? 8 : ds->cap * 2;
        struct dcm_element *els = malloc(sizeof *els * cap);
        if (!els)
            return NULL;
        if (ds->n)
            memcpy(els, ds->els, sizeof *els * ds->n);
        if (ds->flags & DS_ELS_HEAP)
            free(ds->els);
        ds->els = els;
        ds->cap = cap;
        ds->flags |= DS_ELS_HEAP;
        ds->root->flags |= ROOT_HAS_HEAP;
    }
    memmove(&ds->els[i + 1], &ds->els[i], sizeof *ds->els * (ds->n - i));
    ds->n++;
    struct dcm_element *el = &ds->els[i];
    memset(el, 0, sizeof *el);
    el->tag = tag;
    el->offset = UINT64_MAX;
    return el;
}

const struct dcm_element *dcm_dataset_get(const struct dcm_dataset *ds, uint32_t tag)
{
    long i = dcm__find(ds, tag);
    return i >= 0 ? &ds->els[i] : NULL;
}

size_t dcm_dataset_count(const struct dcm_dataset *ds)
{
    return ds->n;
}

const struct dcm_element *dcm_dataset_at(const struct dcm_dataset *ds, size_t i)
{
    return i < ds->n ? &ds->els[i] : NULL;
}

struct dcm_dataset *dcm_dataset_item(const struct dcm_dataset *ds, uint32_t tag, uint32_t index)
{
    const struct dcm_element *el = dcm_dataset_get(ds, tag);
    return el ? dcm_element_item(el, index) : NULL;
}

/* ---------------------------------------------------------------------------
 * Element accessors */

uint32_t dcm_element_tag(const struct dcm_element *el) { return el->tag; }
enum dcm_vr dcm_element_vr(const struct dcm_element *el) { return (enum dcm_vr)el->vr; }
uint32_t dcm_element_length(const struct dcm_element *el) { return el->length; }
uint64_t dcm_element_offset(const struct dcm_element *el) { return el->offset; }

const uint8_t *dcm_element_value(const struct dcm_element *el)
{
    if (el->vr == DCM_VR_SQ || (el->flags & (EL_PIXSEQ | EL_SKIPPED)) || el->length == 0)
        return NULL;
    return el->u.value;
}

bool dcm_element_has_value(const struct dcm_element *el)
{
    return !(el->flags & EL_SKIPPED);
}

bool dcm_element_undefined_length(const struct dcm_element *el)
{
    return (el->flags & EL_UNDEF) != 0;
}

bool dcm_element_is_sequence(const struct dcm_element *el)
{
    return el->vr == DCM_VR_SQ && !(el->flags & EL_PIXSEQ);
}

uint32_t dcm_element_item_count(const struct dcm_element *el)
{
    return dcm_element_is_sequence(el) && el->u.seq ? el->u.seq->n : 0;
}

struct dcm_dataset *dcm_element_item(const struct dcm_element *el, uint32_t i)
{
    if (!dcm_element_is_sequence(el) || !el->u.seq || i >= el->u.seq->n)
        return NULL;
    return el->u.seq->items[i];
}

bool dcm_dataset_undefined_length(const struct dcm_dataset *ds)
{
    return (ds->flags & DS_UNDEF) != 0;
}

uint32_t dcm_dataset_item_length(const struct dcm_dataset *ds)
{
    return (ds->flags & (DS_UNDEF | DS_ROOT)) ? 0 : ds->length;
}

uint64_t dcm_dataset_offset(const struct dcm_dataset *ds)
{
    return ds->offset;
}

bool dcm_element_is_encapsulated(const struct dcm_element *el)
{
    return (el->flags & EL_PIXSEQ) != 0;
}

uint32_t dcm_element_fragment_count(const struct dcm_element *el)
{
    return (el->flags & EL_PIXSEQ) && el->u.px ? el->u.px->n : 0;
}

int dcm_element_fragment(const struct dcm_element *el, uint32_t i, const uint8_t **bytes,
                         uint32_t *length, uint64_t *offset)
{
    if (!(el->flags & EL_PIXSEQ) || !el->u.px || i >= el->u.px->n)
        return -ENOENT;
    const struct dcm_frag *f = &el->u.px->frags[i];
    if (bytes)
        *bytes = (f->flags & FRAG_SKIPPED) ? NULL : f->bytes;
    if (length)
        *length = f->length;
    if (offset)
        *offset = f->offset;
    return 0;
}

int dcm_element_offset_table(const struct dcm_element *el, const uint8_t **bytes,
                             uint32_t *length)
{
    if (!(el->flags & EL_PIXSEQ) || !el->u.px)
        return -ENOENT;
    const struct dcm_frag *f = &el->u.px->bot;
    if (bytes)
        *bytes = (f->flags & FRAG_SKIPPED) ? NULL : f->bytes;
    if (length)
        *length = f->length;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Frames of encapsulated Pixel Data */

static int frames_of(const struct dcm_dataset *ds, uint32_t *frames)
{
    uint64_t n = 1;
    const struct dcm_element *nf = dcm_dataset_get(ds, DCM_TAG_NumberOfFrames);
    if (nf && nf->length > 0) {
        int64_t v;
        if (dcm_element_int(nf, 0, &v) < 0 || v < 1 || v > UINT32_MAX)
            return -EINVAL;
        n = (uint64_t)v;
    }
    *frames = (uint32_t)n;
    return 0;
}

/* The index of the fragment whose item tag is at `off` bytes after the first
 * fragment's item tag, or -1. */
static long fragment_at(const struct dcm_pixseq *px, uint64_t off)
{
    uint64_t pos = 0;
    for (uint32_t i = 0; i < px->n; i++) {
        if (pos == off)
            return (long)i;
        if (pos > off)
            return -1;
        pos += 8 + (uint64_t)px->frags[i].length;
    }
    return -1;
}

int dcm_dataset_frame_fragments(const struct dcm_dataset *ds, uint32_t frame, uint32_t *first,
                                uint32_t *count, struct ferry_error **err)
{
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA);
    if (!pd || !(pd->flags & EL_PIXSEQ) || !pd->u.px)
        return -ENOENT;
    const struct dcm_pixseq *px = pd->u.px;
    uint32_t frames;
    if (frames_of(ds, &frames) < 0)
        return ferry_error_set(err, -EINVAL, "Number of Frames is not a positive integer");
    if (frame >= frames)
        return -ENOENT;
    if (px->n == 0)
        return ferry_error_set(err, -EINVAL, "encapsulated Pixel Data has no fragments");

    const struct dcm_element *eot = dcm_dataset_get(ds, DCM_TAG_ExtendedOffsetTable);
    if (eot && eot->length > 0 && eot->u.value) {
        if (eot->length / 8 != frames || eot->length % 8 != 0)
            return ferry_error_set(err, -EINVAL,
                                   "Extended Offset Table has %u bytes for %u frames",
                                   eot->length, frames);
        uint64_t off = (uint64_t)rd32le(eot->u.value + 8 * frame) |
                       ((uint64_t)rd32le(eot->u.value + 8 * frame + 4) << 32);
        long i = fragment_at(px, off);
        if (i < 0)
            return ferry_error_set(err, -EINVAL,
                                   "Extended Offset Table entry %u (%llu) is not the start of a fragment",
                                   frame, (unsigned long long)off);
        *first = (uint32_t)i;
        *count = 1;
        return 0;
    }
    if (px->bot.length > 0 && px->bot.bytes && !(px->bot.flags & FRAG_SKIPPED)) {
        if (px->bot.length / 4 != frames || px->bot.length % 4 != 0)
            return ferry_error_set(err, -EINVAL, "Basic Offset Table has %u bytes for %u frames",
                                   px->bot.length, frames);
        uint32_t off = rd32le(px->bot.bytes + 4 * frame);
        long i = fragment_at(px, off);
        if (i < 0)
            return ferry_error_set(err, -EINVAL,
                                   "Basic Offset Table entry %u (%u) is not the start of a fragment",
                                   frame, off);
        uint32_t end = px->n;
        if (frame + 1 < frames) {
            uint32_t noff = rd32le(px->bot.bytes + 4 * (frame + 1));
            long j = fragment_at(px, noff);
            if (j < 0 || j <= i)
                return ferry_error_set(err, -EINVAL,
                                       "Basic Offset Table entry %u (%u) is not the start of a fragment",
                                       frame + 1, noff);
            end = (uint32_t)j;
        }
        *first = (uint32_t)i;
        *count = end - (uint32_t)i;
        return 0;
    }
    if (px->n == frames) {
        *first = frame;
        *count = 1;
        return 0;
    }
    if (frames == 1) {
        *first = 0;
        *count = px->n;
        return 0;
    }
    return ferry_error_set(err, -EINVAL,
                           "%u fragments for %u frames and no offset table to tell them apart",
                           px->n, frames);
}

/* ---------------------------------------------------------------------------
 * Errors */

int dcm__perr(struct ferry_error **err, int code, uint64_t offset, uint32_t tag, unsigned vr,
              const char *fmt, ...)
{
    if (!err || *err)
        return code;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *kind = NULL;
    if (tag == DCM_TAG_ITEM)
        kind = "item";
    else if (tag == DCM_TAG_ITEM_DELIM)
        kind = "item delimiter";
    else if (tag == DCM_TAG_SEQ_DELIM)
        kind = "sequence delimiter";
    if (kind)
        return ferry_error_set(err, code, "offset %llu, (%04X,%04X) %s: %s",
                               (unsigned long long)offset, DCM_TAG_GROUP(tag),
                               DCM_TAG_ELEMENT(tag), kind, what);
    if (vr != DCM_VR_NONE)
        return ferry_error_set(err, code, "offset %llu, (%04X,%04X) %s: %s",
                               (unsigned long long)offset, DCM_TAG_GROUP(tag),
                               DCM_TAG_ELEMENT(tag), dcm_vr_name((enum dcm_vr)vr), what);
    return ferry_error_set(err, code, "offset %llu, (%04X,%04X): %s", (unsigned long long)offset,
                           DCM_TAG_GROUP(tag), DCM_TAG_ELEMENT(tag), what);
}
