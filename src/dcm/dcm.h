/* ferry — the DICOM data set library (`dcm`).
 *
 * What it does: parse and write DICOM data sets (Part 10 files, bare data
 * sets, DIMSE command sets) in Implicit VR Little Endian, Explicit VR Little
 * Endian, Explicit VR Big Endian and Deflated Explicit VR Little Endian, and
 * carry the encapsulated pixel data of every compressed syntax unchanged.
 * It does no I/O of its own, apart from the few functions marked
 * "CONVENIENCE I/O" at the end, meant for tools and tests.
 *
 * ---------------------------------------------------------------------------
 * The model
 *
 * A data set is a tree. struct dcm_dataset is both the top level of an
 * instance (its "root") and each item of a sequence. A data set holds its
 * elements in ascending tag order. An SQ element holds items (data sets).
 * Encapsulated Pixel Data holds its Basic Offset Table and its fragments;
 * the Extended Offset Table (7FE0,0001/0002) is an ordinary element.
 *
 * Values in memory are little endian, as in Explicit VR Little Endian,
 * whatever the source syntax: the big-endian reader swaps binary VRs, the
 * writer swaps them back. String values keep the bytes of the data set's
 * Specific Character Set, with their padding.
 *
 * A value either points into the source buffer the parser read (the root
 * keeps a reference to it) or is a copy owned by the data set (the arena of
 * the root, or a heap block for large values). Modifying anything (set, add,
 * remove, replace at any depth) marks that data set and its ancestors as
 * changed. A root that was not changed and is written in its source syntax is
 * copied from the source bytes: passed through byte for byte.
 *
 * Roots are reference-counted (dcm_dataset_ref / dcm_dataset_unref) so that
 * several destinations can share one parsed instance. The count is atomic;
 * nothing else is: a shared data set is read-only by convention. A pipeline
 * that modifies an instance shared with others modifies a dcm_dataset_clone().
 *
 * Pointers to elements (struct dcm_element *) and to value bytes are borrowed
 * from their data set. They stay valid until that data set is modified (any
 * set/add/remove on it, which may move its element array) or freed. Item
 * pointers (struct dcm_dataset * of an item) stay valid until their sequence
 * element is removed or replaced, or the root is freed.
 *
 * Errors: functions that a person's reading depends on take
 * `struct ferry_error **err` (may be NULL); the first error wins. Parse errors
 * read
 *     offset 1234, (0010,0010) PN: value length 4000 exceeds the 200 bytes that remain
 * that is: the byte offset of the element's (or item's) tag in the stream
 * given to the parser (for a Part 10 file, the file offset; for a deflated
 * data set, the offset in the inflated stream, counted on from the end of the
 * meta group; for a corrupt deflate stream, the compressed bytes read), the tag,
 * its VR when known, and the reason. Codes: -EINVAL malformed input, -E2BIG a
 * configured limit was exceeded, -ENOMEM, -ENOTSUP a syntax or conversion this
 * module cannot do. Nothing reads out of bounds; every length a stream claims
 * is checked before it is used; an allocation failure is an error.
 *
 * Threads: independent data sets may be used from different threads at once.
 * A data set (with its items) is used by one thread at a time, except that
 * concurrent readers of an unchanging data set are fine.
 */
#ifndef FERRY_DCM_H
#define FERRY_DCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/version.h"
#include "dcm/dcm_charset.h"
#include "dcm/dcm_dict.h"

struct dcm_dataset;  /* opaque: a root or an item */
struct dcm_element;  /* opaque: one element of a data set */
struct dcm_parser;   /* opaque: an incremental parser */

/* Pass as `index` to string functions to mean the whole value (all values
 * with their backslashes). */
#define DCM_ALL_VALUES UINT32_MAX

/* The length a stream uses for "undefined length". */
#define DCM_UNDEFINED_LENGTH 0xFFFFFFFFu

/* ---------------------------------------------------------------------------
 * Output buffers */

/* A growable byte buffer. Zero-initialise it ({0}); free data with
 * dcm_buf_free(). */
struct dcm_buf {
    uint8_t *data;   /* malloc'd, owned by the buffer */
    size_t len;
    size_t cap;
};

void dcm_buf_free(struct dcm_buf *buf);
/* Append bytes; -ENOMEM if it cannot grow (the buffer is unchanged). */
int dcm_buf_append(struct dcm_buf *buf, const void *data, size_t len);

/* Where writers put their bytes: called with consecutive pieces of the
 * output; returns 0 or a negative errno, which stops the writer and is
 * returned by it. `data` is borrowed for the call. */
typedef int (*dcm_write_fn)(void *ud, const void *data, size_t len);

/* ---------------------------------------------------------------------------
 * Parsing */

enum dcm_parse_flags {
    /* The input is a Part 10 file: 128-byte preamble, "DICM", then the File
     * Meta Information (group 0002, Explicit VR LE) naming the syntax of the
     * rest. A file without preamble that starts with group 0002, and a file
     * with no meta group at all (whose syntax is then detected from its first
     * element), are read too. Without this flag the input is a bare data set
     * in opts->transfer_syntax. */
    DCM_PARSE_PART10 = 1u << 0,
    /* Stop at the first top-level element whose tag is (7FE0,0010) Pixel
     * Data or greater: that element's offset is reported
     * (dcm_dataset_stop_offset()), its bytes and what follows are neither
     * read nor buffered. The incremental parser returns 1 from
     * dcm_parser_feed() at that point and ignores further input. */
    DCM_PARSE_HEADER_ONLY = 1u << 1,
    /* Do not keep the bytes of values longer than opts->bulk_threshold
     * (including native Pixel Data and every pixel fragment): the element
     * is kept with its tag, VR and length but no value
     * (dcm_element_has_value() is false), and the parser skips over the bytes
     * without buffering them. Nesting is tracked and the whole stream is
     * checked to be well-formed. For a receiver that streams a data set to
     * disk and parses it only for its index attributes: memory stays bounded
     * by opts->max_memory whatever the instance size. A data set parsed this
     * way cannot be written (dcm_write() refuses). */
    DCM_PARSE_SKIP_BULK = 1u << 2,
    /* Copy every value, even from a buffer: the data set keeps no reference
     * to the input (dcm_parse_buffer() only; the incremental parser always
     * copies). */
    DCM_PARSE_COPY = 1u << 3,
};

struct dcm_parse_opts {
    uint32_t flags;                 /* enum dcm_parse_flags */
    /* Syntax of a bare data set (NUL-terminated UID). Required without
     * DCM_PARSE_PART10; ignored with it. An unknown UID is read as Explicit
     * VR Little Endian (every syntax defined since 1998 is). */
    const char *transfer_syntax;
    uint32_t max_depth;             /* sequence nesting limit; 0: 64 */
    uint32_t max_element_length;    /* longest value accepted; 0: no limit */
    uint32_t bulk_threshold;        /* for DCM_PARSE_SKIP_BULK; 0: 4096 */
    size_t max_memory;              /* limit on what the data set allocates
                                     * (arena, copies, inflated bytes);
                                     * 0: no limit */
};

/* Parse a whole buffer (a Part 10 file or a bare data set, by opts->flags).
 * Returns a new root (reference count 1) or NULL with *err set.
 *
 * Ownership of `data`: unless DCM_PARSE_COPY is set, values point into it, so
 * it must outlive the data set. When `release` is not NULL it is called once,
 * with `release_ud`, when the data set (and every clone of it) no longer needs
 * the buffer: the data set then owns the buffer. On failure `release` is not
 * called and the caller keeps the buffer. With `release` NULL, the caller
 * keeps it and guarantees its lifetime. */
struct dcm_dataset *dcm_parse_buffer(const void *data, size_t len,
                                     const struct dcm_parse_opts *opts,
                                     void (*release)(void *ud), void *release_ud,
                                     struct ferry_error **err);

/* Incremental parsing: the same results as dcm_parse_buffer() (every value
 * copied) from the same bytes cut into chunks of any size, down to one byte.
 * `opts` is copied. Returns NULL with *err set for invalid options or
 * -ENOMEM. */
struct dcm_parser *dcm_parser_new(const struct dcm_parse_opts *opts, struct ferry_error **err);

/* Feed the next `len` bytes (borrowed for the call). Returns 0 when more
 * input is welcome, 1 when the parser needs no more (header-only and Pixel
 * Data reached: the rest of the stream may be fed or not, it is ignored), or a
 * negative errno with *err set, after which the parser only accepts
 * dcm_parser_free(). */
int dcm_parser_feed(struct dcm_parser *p, const void *data, size_t len,
                    struct ferry_error **err);

/* The end of the stream: returns the parsed root (a new reference, owned by
 * the caller) if the stream was a complete, well-formed data set (or reached
 * Pixel Data in header-only mode), else NULL with *err set (for example
 * "offset 0, (7FE0,0010) OW: value length 524288 exceeds the 1000 bytes that
 * remain" for a truncated stream). Call once; then dcm_parser_free(). */
struct dcm_dataset *dcm_parser_finish(struct dcm_parser *p, struct ferry_error **err);

/* Bytes consumed so far (the offset the next byte fed will have). */
uint64_t dcm_parser_offset(const struct dcm_parser *p);

/* Frees the parser and whatever it built that finish() did not hand out.
 * Accepts NULL. */
void dcm_parser_free(struct dcm_parser *p);

/* Convenience for DIMSE: parse a command set (group 0000, Implicit VR LE).
 * Values are copied. */
struct dcm_dataset *dcm_command_parse(const void *data, size_t len, struct ferry_error **err);

/* ---------------------------------------------------------------------------
 * Data sets: life cycle */

/* A new empty root (reference count 1), or NULL (out of memory). Its transfer
 * syntax is Explicit VR Little Endian until set. */
struct dcm_dataset *dcm_dataset_new(void);

/* Take another reference to the root of `ds` (an item refers to its root).
 * Returns ds. Thread-safe. */
struct dcm_dataset *dcm_dataset_ref(struct dcm_dataset *ds);

/* Drop a reference to the root of `ds`; the last one frees the tree, the
 * copies it owns, and releases the source buffer. Accepts NULL. Thread-safe.
 * After it, `ds` (and every pointer into the tree) is no longer the caller's. */
void dcm_dataset_unref(struct dcm_dataset *ds);

/* A deep copy of `ds` (a root, or an item: then the copy is a new root holding
 * that item's elements), reference count 1, sharing the source buffer (values
 * from it are not copied), or NULL (out of memory). A root's copy keeps the
 * transfer syntax, file meta, changed state and pass-through ability of the
 * original; an item's copy counts as changed. */
struct dcm_dataset *dcm_dataset_clone(const struct dcm_dataset *ds);

/* The root of the tree `ds` belongs to (ds itself for a root). Borrowed. */
struct dcm_dataset *dcm_dataset_root(const struct dcm_dataset *ds);
/* The data set holding the sequence that holds item `ds`, NULL for a root.
 * Borrowed. */
struct dcm_dataset *dcm_dataset_parent(const struct dcm_dataset *ds);

/* True if `ds` or anything below it was modified since parsing (or creation). */
bool dcm_dataset_changed(const struct dcm_dataset *ds);

/* The syntax the root was parsed from (or set with the function below); a
 * string of root storage, borrowed. For a Part 10 file, the meta group's
 * Transfer Syntax UID; when the first element shows that the data set is
 * encoded otherwise (implicit where the meta group says explicit, or the
 * other byte order; pydicom looks the same way), the uncompressed syntax it
 * really is in, except that an encapsulated syntax is kept (the pixel data is
 * still in it) and only the encoding of the other elements is corrected. A
 * file without meta group: Implicit VR Little Endian, or what its first
 * element shows. */
const char *dcm_dataset_transfer_syntax(const struct dcm_dataset *ds);

/* Say that the root's (pixel data) is now in syntax `uid` (copied), e.g.
 * after a codec re-encoded the pixel data. Marks the root changed. */
int dcm_dataset_set_transfer_syntax(struct dcm_dataset *ds, const char *uid);

/* The File Meta Information (group 0002) read from a Part 10 file, or NULL
 * (bare data set, or a file without meta group). It lives in the root's tree
 * (dcm_dataset_root() of it is ds's root) without being one of its elements.
 * Borrowed from the root; do not modify it (dcm_write_part10 builds a fresh
 * meta group). */
const struct dcm_dataset *dcm_dataset_meta(const struct dcm_dataset *ds);

/* Header-only parsing: the byte offset of the (7FE0,0010) element's tag (or
 * of the first top-level tag past it) where parsing stopped, in the
 * coordinates of the stream given to the parser. Returns false (and leaves
 * *offset) when the parse was not header-only or the data set has no such
 * element. */
bool dcm_dataset_stop_offset(const struct dcm_dataset *ds, uint64_t *offset);

/* The root was parsed with DCM_PARSE_SKIP_BULK or stopped by
 * DCM_PARSE_HEADER_ONLY: some of its content is not in memory. */
bool dcm_dataset_is_partial(const struct dcm_dataset *ds);

/* ---------------------------------------------------------------------------
 * Elements: lookup and iteration */

/* The element `tag` of data set `ds` (top level, or an item: no descent), or
 * NULL. Borrowed. O(log n). */
const struct dcm_element *dcm_dataset_get(const struct dcm_dataset *ds, uint32_t tag);

/* The number of elements of `ds`, and element i (0 <= i < count) in tag
 * order. Borrowed. */
size_t dcm_dataset_count(const struct dcm_dataset *ds);
const struct dcm_element *dcm_dataset_at(const struct dcm_dataset *ds, size_t i);

/* Item `index` of sequence `tag` in `ds`, or NULL (absent, not SQ, or out
 * of range). Borrowed. */
struct dcm_dataset *dcm_dataset_item(const struct dcm_dataset *ds, uint32_t tag, uint32_t index);

uint32_t dcm_element_tag(const struct dcm_element *el);
enum dcm_vr dcm_element_vr(const struct dcm_element *el);
/* The value length in bytes as it is in memory (even, unless the source had an
 * odd length); for SQ and encapsulated Pixel Data: the length the source
 * gave, DCM_UNDEFINED_LENGTH when undefined (and for encapsulated Pixel Data
 * built in memory), 0 for a sequence built in memory. */
uint32_t dcm_element_length(const struct dcm_element *el);
/* The value bytes (little endian), or NULL for SQ, for encapsulated Pixel
 * Data, for an empty value, and for a value skipped by DCM_PARSE_SKIP_BULK.
 * Borrowed. */
const uint8_t *dcm_element_value(const struct dcm_element *el);
/* False when DCM_PARSE_SKIP_BULK left the value out. */
bool dcm_element_has_value(const struct dcm_element *el);
/* The byte offset of the element's tag in the parsed stream, or UINT64_MAX
 * for an element added in memory. */
uint64_t dcm_element_offset(const struct dcm_element *el);
/* The source encoded this SQ (or encapsulated Pixel Data) with undefined
 * length; the writer keeps that choice. Sequences built in memory are
 * written with undefined length and say so here. */
bool dcm_element_undefined_length(const struct dcm_element *el);

/* Sequences. */
bool dcm_element_is_sequence(const struct dcm_element *el);
uint32_t dcm_element_item_count(const struct dcm_element *el);
/* Item i, or NULL. Borrowed (see the model above). */
struct dcm_dataset *dcm_element_item(const struct dcm_element *el, uint32_t i);
/* The source encoded item `ds` with undefined length. */
bool dcm_dataset_undefined_length(const struct dcm_dataset *ds);
/* The length the source gave an item of defined length (0 for others and for
 * items built in memory). */
uint32_t dcm_dataset_item_length(const struct dcm_dataset *ds);
/* Byte offset of an item's tag in the parsed stream (UINT64_MAX if built in
 * memory or a root). */
uint64_t dcm_dataset_offset(const struct dcm_dataset *ds);

/* Encapsulated Pixel Data (undefined length, fragments). */
bool dcm_element_is_encapsulated(const struct dcm_element *el);
/* The number of fragments after the Basic Offset Table item. */
uint32_t dcm_element_fragment_count(const struct dcm_element *el);
/* Fragment i: its bytes (borrowed; NULL if skipped by DCM_PARSE_SKIP_BULK),
 * length and the offset of its item tag in the stream. -ENOENT if out of
 * range. */
int dcm_element_fragment(const struct dcm_element *el, uint32_t i, const uint8_t **bytes,
                         uint32_t *length, uint64_t *offset);
/* The Basic Offset Table item's value (possibly empty: *length 0). */
int dcm_element_offset_table(const struct dcm_element *el, const uint8_t **bytes,
                             uint32_t *length);

/* Which fragments hold frame `frame` (0-based) of the encapsulated Pixel Data
 * of root `ds`, using in turn: the Extended Offset Table, the Basic Offset
 * Table, one fragment per frame when fragments == Number of Frames, or all
 * fragments for a single frame. -ENOENT without encapsulated Pixel Data or for
 * frame >= Number of Frames; -EINVAL with *err set when the tables are
 * inconsistent with the fragments. */
int dcm_dataset_frame_fragments(const struct dcm_dataset *ds, uint32_t frame, uint32_t *first,
                                uint32_t *count, struct ferry_error **err);

/* ---------------------------------------------------------------------------
 * Values: reading
 *
 * String values: `index` selects one value of a multi-valued element (split
 * at backslashes with the charset in mind), or DCM_ALL_VALUES. Raw accessors
 * give the bytes without leading/trailing padding (spaces and NULs; leading
 * spaces are kept for LT, ST, UT and PN, where they may matter). Decoding
 * accessors go through the Specific Character Set in effect for `ds` (its own
 * (0008,0005), else its nearest ancestor's). */

/* The number of values: string values split at backslashes (0 for empty),
 * binary values by dcm_vr_value_size(), 1 for OB/OW/UN/OF/... with a value,
 * the number of items for SQ. */
uint32_t dcm_element_vm(const struct dcm_dataset *ds, const struct dcm_element *el);

/* Raw string value `index`: *p points into the value (borrowed, not
 * NUL-terminated), *n its length. -ENOENT if the element or the value is
 * absent, -EINVAL if the VR is not a string VR. */
int dcm_element_string(const struct dcm_dataset *ds, const struct dcm_element *el,
                       uint32_t index, const char **p, size_t *n);
int dcm_dataset_get_string(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                           const char **p, size_t *n);

/* A raw value copied into buf as a NUL-terminated string, for ASCII values
 * (UIDs, AE titles, codes): returns the length (which may be >= bufsize: then
 * the copy was cut), -ENOENT, -EINVAL as above. */
int dcm_dataset_get_cstr(const struct dcm_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                         size_t bufsize);

/* String value `index` decoded to UTF-8 into buf, NUL-terminated. Returns the
 * length of the whole decoded text (if >= bufsize the text was cut; ask again
 * with a larger buffer), -ENOENT, -EINVAL (not a string VR), -ENOMEM, -ENOTSUP
 * (charset conversion unavailable). Same contract as the plugin ABI's
 * get_string. */
int dcm_element_utf8(const struct dcm_dataset *ds, const struct dcm_element *el, uint32_t index,
                     char *buf, size_t bufsize);
int dcm_dataset_get_utf8(const struct dcm_dataset *ds, uint32_t tag, uint32_t index, char *buf,
                         size_t bufsize);
/* The same into a malloc'd string the caller frees; NULL with *err on
 * failure (absent element: -ENOENT). */
char *dcm_element_utf8_dup(const struct dcm_dataset *ds, const struct dcm_element *el,
                           uint32_t index, struct ferry_error **err);

/* Numeric value `index`:
 *   uint: US UL UV AT(as the 32-bit tag) and non-negative SS SL SV IS;
 *   int:  US SS UL SL SV UV(if it fits) IS;
 *   double: all of the above plus FL FD DS.
 * Returns 0, -ENOENT (absent element or value), -EINVAL (VR not numeric, or
 * an IS/DS string that is not a number), -ERANGE (does not fit). */
int dcm_element_uint(const struct dcm_element *el, uint32_t index, uint64_t *out);
int dcm_element_int(const struct dcm_element *el, uint32_t index, int64_t *out);
int dcm_element_double(const struct dcm_element *el, uint32_t index, double *out);
int dcm_dataset_get_uint(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                         uint64_t *out);
int dcm_dataset_get_int(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                        int64_t *out);
int dcm_dataset_get_double(const struct dcm_dataset *ds, uint32_t tag, uint32_t index,
                           double *out);

/* The character set in effect for `ds` (see above). Returns 0, or -EINVAL
 * with *err for a value naming an unknown term (then *cs is the default). */
int dcm_dataset_charset(const struct dcm_dataset *ds, struct dcm_charset *cs,
                        struct ferry_error **err);

/* ---------------------------------------------------------------------------
 * Values: writing
 *
 * Setters add the element when absent and replace it when present (in the
 * data set `ds` given, top level or item), copy what they are given, and mark
 * `ds` and its ancestors changed. `vr` DCM_VR_NONE means the dictionary's VR
 * (an ambiguous dictionary VR resolves as in implicit VR; a tag unknown to the
 * dictionary needs an explicit VR: -EINVAL). Odd lengths are padded with the
 * VR's padding byte. Returns 0, -EINVAL (bad VR for the call, SQ given to a
 * value setter, an item tag, a value too long for the VR's length field),
 * -ENOMEM. Every element pointer into `ds` is invalidated. */

/* Binary or string bytes, little endian for binary VRs. len may be 0. */
int dcm_dataset_set(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const void *bytes,
                    uint32_t len);
/* Same, but takes over `bytes` (malloc'd; freed with free() when the value
 * is replaced or the data set freed) instead of copying: for pixel data. On
 * failure the caller keeps `bytes`. len must be even. */
int dcm_dataset_set_take(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, void *bytes,
                         uint32_t len);
/* A string value from NUL-terminated bytes already in the data set's charset
 * (or ASCII: UIDs, codes, AE titles, dates). Several values joined by '\\'. */
int dcm_dataset_set_string(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *s);
/* A text value from UTF-8, encoded in the charset in effect for `ds`.
 * -EILSEQ when the text does not fit that charset (nothing changed: the caller
 * may dcm_dataset_convert_charset() to ISO_IR 192 and try again). */
int dcm_dataset_set_utf8(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *utf8);
/* One numeric value. US UL SS SL SV UV are binary, IS and DS decimal strings
 * (DS with up to 16 characters, the shortest that round-trips when possible),
 * FL FD binary floats. -ERANGE if the value does not fit the VR. */
int dcm_dataset_set_uint(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, uint64_t value);
int dcm_dataset_set_int(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, int64_t value);
int dcm_dataset_set_double(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, double value);

/* Remove element `tag` (and everything below it). -ENOENT if absent. */
int dcm_dataset_remove(struct dcm_dataset *ds, uint32_t tag);

/* Sequences: make `tag` an empty SQ (replacing what was there). */
int dcm_dataset_set_sequence(struct dcm_dataset *ds, uint32_t tag);
/* Append an empty item to sequence `tag` (creating the SQ if absent) and
 * return it (borrowed), or NULL (not an SQ, -ENOMEM). */
struct dcm_dataset *dcm_dataset_add_item(struct dcm_dataset *ds, uint32_t tag);
/* Remove item `index` of sequence `tag`. -ENOENT if absent. */
int dcm_dataset_remove_item(struct dcm_dataset *ds, uint32_t tag, uint32_t index);

/* Encapsulated Pixel Data: replace (7FE0,0010) of root `ds` by an encapsulated
 * one with an empty Basic Offset Table and no fragments (VR OB). */
int dcm_dataset_set_encapsulated(struct dcm_dataset *ds);
/* Append a fragment (copied, padded to even length) to the encapsulated Pixel
 * Data of `ds`; -EINVAL if it is not encapsulated. */
int dcm_dataset_add_fragment(struct dcm_dataset *ds, const void *bytes, uint32_t len);
/* Same, taking over a malloc'd buffer (len even); on failure the caller keeps
 * it. */
int dcm_dataset_add_fragment_take(struct dcm_dataset *ds, void *bytes, uint32_t len);
/* Fill the Basic Offset Table from the fragments, assuming one fragment per
 * frame (the table is the offsets of the fragments' item tags). */
int dcm_dataset_fill_offset_table(struct dcm_dataset *ds);

/* Re-encode every text value (LO LT PN SH ST UC UT) of the whole tree of
 * `ds` from the charsets in effect into `term` (a single defined term, e.g.
 * "ISO_IR 192"), set (0008,0005) of the root to it and remove it from items.
 * -EILSEQ if some text cannot be represented in `term` (nothing changed),
 * -EINVAL for an unknown term. */
int dcm_dataset_convert_charset(struct dcm_dataset *ds, const char *term,
                                struct ferry_error **err);

/* ---------------------------------------------------------------------------
 * Writing */

enum dcm_write_flags {
    /* Re-encode even when the data set could be passed through. */
    DCM_WRITE_NO_PASSTHROUGH = 1u << 0,
    /* Write a partial data set (header-only parse) as far as it goes: only
     * the header, without the pixel data that was never read. */
    DCM_WRITE_PARTIAL = 1u << 1,
};

/* Write the data set (no meta group, no preamble) of root or item `ds` in
 * transfer syntax `ts_uid`, in pieces to `fn`. Group lengths ((gggg,0000))
 * present in the data set are recomputed; sequences and items keep the
 * defined/undefined length choice of their source (built in memory:
 * undefined). Native syntaxes convert byte order; an encapsulated source can
 * only be written in an encapsulated syntax and native Pixel Data only in a
 * native one (-ENOTSUP otherwise: the dcm module does not run codecs).
 * Unchanged data written in its source syntax is copied from the source
 * bytes. Returns 0 or the negative errno of the failure, with *err set. */
int dcm_write(const struct dcm_dataset *ds, const char *ts_uid, uint32_t flags, dcm_write_fn fn,
              void *ud, struct ferry_error **err);
/* Same into a buffer (appended to `out`). */
int dcm_write_buf(const struct dcm_dataset *ds, const char *ts_uid, uint32_t flags,
                  struct dcm_buf *out, struct ferry_error **err);

/* What goes into a File Meta Information group. Strings are NUL-terminated
 * and borrowed for the call; NULL fields take the default given. */
struct dcm_meta_info {
    const char *transfer_syntax;        /* required */
    const char *sop_class_uid;          /* NULL: the data set's (0008,0016) */
    const char *sop_instance_uid;       /* NULL: the data set's (0008,0018) */
    const char *source_ae_title;        /* NULL: (0002,0016) left out */
    const char *implementation_class_uid;   /* NULL: FERRY_IMPLEMENTATION_CLASS_UID */
    const char *implementation_version_name; /* NULL: FERRY_IMPLEMENTATION_VERSION */
};


/* A new unique UID "2.25.<128 random bits as a decimal integer>" (PS3.5
 * B.2), from getrandom(), NUL-terminated into out. Returns 0 or -errno. */
int dcm_uid_generate(char out[65]);

/* Encode a File Meta Information group (0002,0000)-(0002,0016) with its group
 * length, in Explicit VR LE, appended to `out` (no preamble). -EINVAL if a
 * required UID is missing. */
int dcm_meta_encode(const struct dcm_meta_info *meta, const struct dcm_dataset *ds,
                    struct dcm_buf *out, struct ferry_error **err);

/* A whole Part 10 file: 128 zero bytes, "DICM", the meta group from `meta`
 * (dcm_meta_encode) and the data set in meta->transfer_syntax. */
int dcm_write_part10(const struct dcm_dataset *ds, const struct dcm_meta_info *meta,
                     uint32_t flags, dcm_write_fn fn, void *ud, struct ferry_error **err);

/* The header of one element as `ts_uid` encodes it (8 or 12 bytes, or 8 for
 * item and delimiter tags) into out; returns its size, or -EINVAL (a length
 * that the VR's 16-bit length field cannot hold). For writers that stream a
 * large value themselves (dcmgen writes multi-frame Pixel Data frame by frame
 * after dcm_write of the rest). length may be DCM_UNDEFINED_LENGTH. */
int dcm_encode_header(const char *ts_uid, uint32_t tag, enum dcm_vr vr, uint32_t length,
                      uint8_t out[12]);

/* DIMSE command sets: encode `cmd` (group 0000 elements only) in Implicit VR
 * LE with (0000,0000) Command Group Length added or updated first, appended
 * to `out`. -EINVAL if an element is not in group 0000. */
int dcm_command_encode(struct dcm_dataset *cmd, struct dcm_buf *out, struct ferry_error **err);

/* ---------------------------------------------------------------------------
 * CONVENIENCE I/O (for tools and tests; the daemon feeds buffers instead) */

/* Parse a file: read whole into memory that the data set then owns (mapped
 * instead for files over 64 MiB); or, header-only or with DCM_PARSE_COPY,
 * read in chunks through the incremental parser (until Pixel Data when
 * header-only). opts NULL means { DCM_PARSE_PART10 }. Errors are prefixed
 * with the path. */
struct dcm_dataset *dcm_read_file(const char *path, const struct dcm_parse_opts *opts,
                                  struct ferry_error **err);

/* Write a Part 10 file (created or truncated, mode 0644). */
int dcm_write_file(const char *path, const struct dcm_dataset *ds,
                   const struct dcm_meta_info *meta, struct ferry_error **err);

#endif
