/* ferry — dcm module internals. Not for other modules. */
#ifndef FERRY_DCM_PRIVATE_H
#define FERRY_DCM_PRIVATE_H

#include <stdatomic.h>
#include <string.h>

#include "dcm/dcm.h"

/* ---------------------------------------------------------------------------
 * Generated tables (gen_tables.py) */
extern const uint32_t dcm__dict_tags[];
extern const struct dcm_dict_entry dcm__dict_exact[];
extern const size_t dcm__dict_exact_n;
extern const struct dcm_dict_entry dcm__dict_ranges[];
extern const size_t dcm__dict_ranges_n;
extern const uint16_t dcm__dict_by_keyword[];
extern const size_t dcm__dict_by_keyword_n;
extern const struct dcm_ts dcm__ts_table[];
extern const size_t dcm__ts_table_n;
extern const struct dcm_sop_class dcm__sop_table[];
extern const size_t dcm__sop_table_n;

#define DCM_TAG_ITEM 0xFFFEE000u
#define DCM_TAG_ITEM_DELIM 0xFFFEE00Du
#define DCM_TAG_SEQ_DELIM 0xFFFEE0DDu
#define DCM_TAG_PIXEL_DATA 0x7FE00010u

/* ---------------------------------------------------------------------------
 * Byte order */

static inline uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t rd16be(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t rd32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void wr16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void wr16be(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Swap a value of `len` bytes in place in units of `unit` bytes (2, 4, 8; 0
 * or 1: nothing). A trailing partial unit is left alone. */
void dcm__swap(uint8_t *p, size_t len, size_t unit);

/* ---------------------------------------------------------------------------
 * The tree */

enum {
    EL_HEAP = 1u << 0,     /* value (or seq/pixseq arrays) malloc'd: free on replace */
    EL_UNDEF = 1u << 1,    /* source used undefined length (SQ, pixel sequence) */
    EL_SKIPPED = 1u << 2,  /* value not kept (DCM_PARSE_SKIP_BULK) */
    EL_PIXSEQ = 1u << 3,   /* encapsulated Pixel Data: u.px */
    EL_SOURCE = 1u << 4,   /* value points into the root's source buffer */
    EL_UN_SQ = 1u << 5,    /* UN with undefined length read as a sequence of
                            * Implicit VR LE items; written back as UN */
};

struct dcm_element {
    uint32_t tag;
    uint16_t vr;
    uint16_t flags;
    uint32_t length;
    uint32_t reserved_;
    union {
        const uint8_t *value;
        struct dcm_seq *seq;
        struct dcm_pixseq *px;
    } u;
    uint64_t offset;
};

struct dcm_seq {
    uint32_t n, cap;
    bool heap;                 /* items array malloc'd */
    struct dcm_dataset **items;
};

enum { FRAG_HEAP = 1u << 0, FRAG_SKIPPED = 1u << 1 };

struct dcm_frag {
    const uint8_t *bytes;
    uint32_t length;
    uint32_t flags;
    uint64_t offset;
};

struct dcm_pixseq {
    struct dcm_frag bot;
    uint32_t n, cap;
    bool heap;                 /* frags array malloc'd */
    struct dcm_frag *frags;
};

enum {
    DS_CHANGED = 1u << 0,
    DS_ELS_HEAP = 1u << 1,     /* els malloc'd */
    DS_UNDEF = 1u << 2,        /* item had undefined length */
    DS_SRC_IMPLICIT = 1u << 3, /* content encoded implicit VR (items of UN) */
    DS_SRC_BIG = 1u << 4,      /* content encoded big endian */
    DS_ROOT = 1u << 5,
};

struct dcm_root;

struct dcm_dataset {
    struct dcm_root *root;
    struct dcm_dataset *parent;
    struct dcm_element *els;
    uint32_t n, cap;
    uint32_t flags;
    uint32_t src_len;          /* bytes of content (at src, when kept) */
    uint32_t length;           /* the item length the source gave */
    const uint8_t *src;        /* encoded content in the source buffer, or NULL */
    uint64_t offset;           /* item tag offset; UINT64_MAX otherwise */
};

struct dcm_source {
    atomic_uint refs;
    const uint8_t *data;
    size_t len;
    void (*release)(void *ud);
    void *ud;
};

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) uint8_t data[];
};

enum {
    ROOT_STOPPED = 1u << 0,    /* header-only parse stopped at Pixel Data */
    ROOT_SKIP_BULK = 1u << 1,
    ROOT_HAS_HEAP = 1u << 2,   /* something in the tree was malloc'd */
    ROOT_PARTIAL = 1u << 3,
};

struct dcm_root {
    struct dcm_dataset ds;     /* first: a root is a data set */
    atomic_uint refs;
    uint32_t flags;
    struct arena_chunk *arena;
    size_t mem_used, mem_limit;
    bool over_limit;           /* an allocation was refused for the limit */
    struct dcm_source *source;
    struct dcm_dataset *meta;
    const struct dcm_ts *ts;   /* NULL if unknown */
    char ts_uid[68];
    uint64_t stop_offset;
    const uint8_t *raw;        /* the data set as encoded in the source (for a
                                * deflated one: the deflate stream) */
    size_t raw_len;
};

static inline struct dcm_root *ds_root(const struct dcm_dataset *ds) { return ds->root; }

/* Arena allocation from the root (16-byte aligned); NULL when out of memory
 * or over the root's memory limit. */
void *dcm__alloc(struct dcm_root *r, size_t n);
/* Account heap bytes against the limit: false when over it. */
bool dcm__charge(struct dcm_root *r, size_t n);

struct dcm_root *dcm__root_new(void);
void dcm__root_set_ts(struct dcm_root *r, const char *uid, size_t len);
void dcm__source_unref(struct dcm_source *s);
/* Free what element `el` owns on the heap (recursively). */
void dcm__element_release(struct dcm_element *el);
void dcm__mark_changed(struct dcm_dataset *ds);
/* Index of tag in ds, or -(insertion point) - 1. */
long dcm__find(const struct dcm_dataset *ds, uint32_t tag);
/* Insert an element slot at index i (from dcm__find), returning it zeroed
 * apart from the tag; NULL on -ENOMEM. */
struct dcm_element *dcm__insert(struct dcm_dataset *ds, size_t i, uint32_t tag);
/* A new empty item data set in r's arena. */
struct dcm_dataset *dcm__item_new(struct dcm_root *r, struct dcm_dataset *parent);

/* The resolved implicit VR of tag in data set context (xs by Pixel
 * Representation when known). */
enum dcm_vr dcm__implicit_vr(uint32_t tag);

/* Error helper: "offset N, (gggg,eeee) VR: " prefix. vr may be DCM_VR_NONE;
 * what names the item/delimiter kind for FFFE tags. */
int dcm__perr(struct ferry_error **err, int code, uint64_t offset, uint32_t tag, unsigned vr,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Trim padding of a string value of VR vr. */
void dcm__trim(enum dcm_vr vr, const uint8_t **p, size_t *n);

#endif
