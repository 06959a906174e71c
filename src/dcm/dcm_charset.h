/* ferry — Specific Character Set (0008,0005): decoding values to UTF-8 and
 * encoding UTF-8 into a data set's character set.
 *
 * Values keep the bytes they arrived with; these helpers convert on demand
 * (through iconv, with fast paths for ASCII, ISO_IR 100 and ISO_IR 192).
 *
 * Supported terms: the default repertoire (empty, ISO_IR 6, ISO 2022 IR 6),
 * ISO_IR 192 (UTF-8), GB18030, GBK, ISO 2022 IR 58 (GB2312 through escape
 * sequences, with IR 6), ISO_IR 100/101/109/110/144/127/126/138/148/203/166
 * and their ISO 2022 forms, ISO_IR 13 / ISO 2022 IR 13 (JIS X 0201),
 * ISO 2022 IR 87 and IR 159 (JIS X 0208/0212), ISO 2022 IR 149 (KS X 1001).
 *
 * Thread-safe; no global state.
 */
#ifndef FERRY_DCM_CHARSET_H
#define FERRY_DCM_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "dcm/dcm_dict.h"

/* The character sets a term of (0008,0005) can name. */
enum dcm_cs {
    DCM_CS_DEFAULT = 0,   /* ISO_IR 6 / ISO 2022 IR 6 / empty: ASCII */
    DCM_CS_UTF8,          /* ISO_IR 192 */
    DCM_CS_GB18030,       /* GB18030 */
    DCM_CS_GBK,           /* GBK */
    DCM_CS_GB2312,        /* ISO 2022 IR 58 */
    DCM_CS_LATIN1,        /* ISO_IR 100 */
    DCM_CS_LATIN2,        /* ISO_IR 101 */
    DCM_CS_LATIN3,        /* ISO_IR 109 */
    DCM_CS_LATIN4,        /* ISO_IR 110 */
    DCM_CS_CYRILLIC,      /* ISO_IR 144 */
    DCM_CS_ARABIC,        /* ISO_IR 127 */
    DCM_CS_GREEK,         /* ISO_IR 126 */
    DCM_CS_HEBREW,        /* ISO_IR 138 */
    DCM_CS_LATIN5,        /* ISO_IR 148 */
    DCM_CS_LATIN9,        /* ISO_IR 203 */
    DCM_CS_THAI,          /* ISO_IR 166 */
    DCM_CS_JIS_X0201,     /* ISO_IR 13 */
    DCM_CS_JIS_X0208,     /* ISO 2022 IR 87 */
    DCM_CS_JIS_X0212,     /* ISO 2022 IR 159 */
    DCM_CS_KSX1001,       /* ISO 2022 IR 149 */
    DCM_CS_COUNT_
};

#define DCM_CHARSET_MAX_TERMS 8

/* A parsed Specific Character Set: up to 8 terms, in order. iso2022 is true
 * when the value has several terms or names an "ISO 2022 ..." term: then
 * escape sequences switch between the listed sets. A plain value. */
struct dcm_charset {
    uint8_t n;                               /* 0: the default repertoire */
    bool iso2022;
    uint8_t terms[DCM_CHARSET_MAX_TERMS];    /* enum dcm_cs */
};

/* Parse a (0008,0005) value (bytes, backslash-separated, padding allowed;
 * `value` may be NULL with len 0 for the default). Returns 0 or -EINVAL with
 * "unknown Specific Character Set term 'X'" in *err for an unknown term. */
int dcm_charset_parse(const char *value, size_t len, struct dcm_charset *out,
                      struct ferry_error **err);

/* The defined term of a set ("ISO_IR 192", "GB18030", "ISO 2022 IR 58"),
 * in its ISO 2022 form when iso2022. Static storage. */
const char *dcm_cs_term(enum dcm_cs cs, bool iso2022);

/* Decode `len` bytes of a value of VR `vr` in charset `cs` to UTF-8.
 * Appends to *out (a malloc'd buffer of *out_len bytes, *out may be NULL),
 * keeping it NUL-terminated; on success *out_len is the new length without
 * the NUL. Bytes that are invalid in the charset become U+FFFD (decoding is
 * for display and matching, and never fails on content). ISO 2022 escape
 * sequences are honoured and reset at value delimiters ('\\') and, for PN, at
 * '^' and '='. Bytes over 0x7F in the default repertoire (no (0008,0005))
 * are shown as UTF-8 when they are valid UTF-8, else as Latin-1. Returns 0, -ENOMEM, or -ENOTSUP when iconv lacks a needed
 * conversion (with the reason in *err). On failure *out is still owned by the
 * caller. */
int dcm_charset_decode(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                       size_t len, char **out, size_t *out_len, struct ferry_error **err);

/* Encode UTF-8 text for a value of VR `vr` in charset `cs`. Appends to *out
 * like dcm_charset_decode (no NUL counted in *out_len, no padding added).
 * For ISO 2022 sets, ASCII stays as is and other text gets the escape
 * sequence of the first listed set that can hold it, reset to the first
 * term's set before each delimiter. Returns 0, -EILSEQ when some character
 * has no representation in the charset (the caller may switch the data set
 * to ISO_IR 192: dcm_dataset_convert_charset()), -EINVAL for invalid UTF-8,
 * -ENOMEM. */
int dcm_charset_encode(const struct dcm_charset *cs, enum dcm_vr vr, const char *utf8,
                       size_t len, char **out, size_t *out_len, struct ferry_error **err);

/* Where value number `index` (0-based) of a string value starts and how long
 * it is, without its padding: splits at '\\' while skipping the trail bytes
 * of multi-byte characters (GBK and GB18030 trail bytes can be 0x5C).
 * Single-valued VRs (LT, ST, UT, UR) have one value whatever their bytes.
 * Returns 0, or -ENOENT if there are fewer values. */
int dcm_charset_split(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                      size_t len, uint32_t index, size_t *start, size_t *n);

/* The number of values of a string value (0 for an empty value). */
uint32_t dcm_charset_count(const struct dcm_charset *cs, enum dcm_vr vr, const uint8_t *bytes,
                           size_t len);

#endif
