/* ferry — DICOM facts: tags, value representations, the data dictionary,
 * transfer syntaxes and SOP classes.
 *
 * The tables behind this header are generated at build time:
 *   - the data dictionary from DCMTK's dicom.dic (src/dcm/gen_dict.py);
 *   - transfer syntaxes and SOP classes from data/dicom/transfer_syntaxes.tsv
 *     and data/dicom/storage_sop_classes.tsv (src/dcm/gen_uids.py).
 *
 * The generated header "dcm/dcm_tags.h" (included below) defines one macro per
 * dictionary keyword with a fixed tag:
 *     #define DCM_TAG_PatientName 0x00100010u
 * (repeating-group entries such as OverlayData are defined for their first
 * group, 0x6000 / 0x5000 / 0x7F00), and one per UID:
 *     #define DCM_UID_ExplicitVRLittleEndian "1.2.840.10008.1.2.1"
 *     #define DCM_UID_CTImageStorage "1.2.840.10008.5.1.4.1.1.2"
 * The keyword is exactly the dictionary's (PS3.6) keyword.
 *
 * Everything here is read-only, thread-safe and needs no initialisation.
 */
#ifndef FERRY_DCM_DICT_H
#define FERRY_DCM_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* (gggg,eeee) as one 32-bit number, the same encoding as FERRY_TAG() in the
 * plugin ABI. */
#define DCM_TAG(group, element) ((((uint32_t)(group)) << 16) | ((uint32_t)(element) & 0xffffu))
#define DCM_TAG_GROUP(tag) ((uint16_t)((uint32_t)(tag) >> 16))
#define DCM_TAG_ELEMENT(tag) ((uint16_t)((uint32_t)(tag) & 0xffffu))
/* Private tags have an odd group number (groups 0001-0007 are illegal, and
 * odd anyway). */
#define DCM_TAG_IS_PRIVATE(tag) ((DCM_TAG_GROUP(tag) & 1u) != 0)
/* (gggg,0010-00FF) in an odd group: a Private Creator (always LO). */
#define DCM_TAG_IS_PRIVATE_CREATOR(tag) \
    (DCM_TAG_IS_PRIVATE(tag) && DCM_TAG_ELEMENT(tag) >= 0x0010u && DCM_TAG_ELEMENT(tag) <= 0x00ffu)

#include "dcm/dcm_tags.h" /* generated: DCM_TAG_<Keyword>, DCM_UID_<Keyword> */

/* Value representations. The value of each is its two letters packed big
 * end first ('P' << 8 | 'N'), so dcm_vr_name() is trivial and a VR read from
 * an explicit-VR stream is compared without a table.
 *
 * The last five are not VRs but what the dictionary says for elements whose
 * VR depends on context (DCMTK's notation): they never appear on a data set
 * element, only in struct dcm_dict_entry. */
enum dcm_vr {
    DCM_VR_NONE = 0, /* "no VR": item and delimiter tags; "use the dictionary" in setters */
    DCM_VR_AE = 0x4145, DCM_VR_AS = 0x4153, DCM_VR_AT = 0x4154, DCM_VR_CS = 0x4353,
    DCM_VR_DA = 0x4441, DCM_VR_DS = 0x4453, DCM_VR_DT = 0x4454, DCM_VR_FD = 0x4644,
    DCM_VR_FL = 0x464C, DCM_VR_IS = 0x4953, DCM_VR_LO = 0x4C4F, DCM_VR_LT = 0x4C54,
    DCM_VR_OB = 0x4F42, DCM_VR_OD = 0x4F44, DCM_VR_OF = 0x4F46, DCM_VR_OL = 0x4F4C,
    DCM_VR_OV = 0x4F56, DCM_VR_OW = 0x4F57, DCM_VR_PN = 0x504E, DCM_VR_SH = 0x5348,
    DCM_VR_SL = 0x534C, DCM_VR_SQ = 0x5351, DCM_VR_SS = 0x5353, DCM_VR_ST = 0x5354,
    DCM_VR_SV = 0x5356, DCM_VR_TM = 0x544D, DCM_VR_UC = 0x5543, DCM_VR_UI = 0x5549,
    DCM_VR_UL = 0x554C, DCM_VR_UN = 0x554E, DCM_VR_UR = 0x5552, DCM_VR_US = 0x5553,
    DCM_VR_UT = 0x5554, DCM_VR_UV = 0x5556,
    /* dictionary-only */
    DCM_VR_US_SS = 0x7873,    /* "xs": US or SS, by Pixel Representation */
    DCM_VR_OB_OW = 0x6F78,    /* "ox": OB or OW (overlay, waveform data) */
    DCM_VR_PX = 0x7078,       /* "px": Pixel Data, OB or OW */
    DCM_VR_US_SS_OW = 0x6C74, /* "lt": US, SS or OW (LUT Data) */
};

/* The two letters ("PN"), "--" for DCM_VR_NONE, "??" for anything else not
 * above. Static storage. */
const char *dcm_vr_name(enum dcm_vr vr);
/* The VR named by two bytes as they appear in an explicit-VR stream, or
 * DCM_VR_NONE if they name none of the 34 VRs. */
enum dcm_vr dcm_vr_from_bytes(const uint8_t b[2]);
/* A NUL-terminated name ("PN", case-sensitive) to a VR; DCM_VR_NONE if
 * unknown. Accepts the dictionary-only names too ("xs", "ox", "px", "lt"). */
enum dcm_vr dcm_vr_from_name(const char *name);
/* True for the 34 real VRs. */
bool dcm_vr_is_valid(enum dcm_vr vr);
/* True for the VRs whose explicit-VR header has a 32-bit length
 * (OB OD OF OL OV OW SQ SV UC UN UR UT UV). */
bool dcm_vr_has_long_length(enum dcm_vr vr);
/* True for character string VRs (AE AS CS DA DS DT IS LO LT PN SH ST TM UC
 * UI UR UT). */
bool dcm_vr_is_string(enum dcm_vr vr);
/* True for the string VRs whose values are in the Specific Character Set
 * (LO LT PN SH ST UC UT); the others are plain ASCII. */
bool dcm_vr_is_text(enum dcm_vr vr);
/* The size of one binary value (2 for US SS OW AT, 4 for UL SL FL OF OL,
 * 8 for FD OD SV UV OV), 1 for OB UN, 0 for strings and SQ. This is also the
 * unit the big-endian reader and writer swap. */
size_t dcm_vr_value_size(enum dcm_vr vr);
/* The byte that pads a value to even length: '\0' for UI and binary VRs,
 * ' ' for the other strings. */
uint8_t dcm_vr_padding(enum dcm_vr vr);

/* ---------------------------------------------------------------------------
 * The data dictionary */

struct dcm_dict_entry {
    uint32_t tag;          /* for a range entry: its first tag, e.g. 0x60003000 */
    uint32_t group_last;   /* last group of a range entry; == group of tag otherwise */
    uint16_t element_last; /* last element of an element range; == element otherwise */
    uint8_t group_step;    /* 2: even groups (or odd: see the tag), 1: every group */
    uint8_t retired;       /* 1 if the standard retired it */
    uint16_t vr;           /* enum dcm_vr, possibly dictionary-only (DCM_VR_US_SS, ...) */
    uint8_t vm_min;        /* VM "1-3": 1, 3, 1; "2-2n": 2, 0, 2; "1-n": 1, 0, 1 */
    uint8_t vm_max;        /* 0 means n */
    uint8_t vm_step;
    uint8_t element_step;  /* 2: even elements of an element range, 1: all */
    const char *keyword;   /* "PatientName"; never NULL */
};

/* The dictionary entry of a tag: an exact entry, else a repeating-group or
 * element-range entry (50xx, 60xx, 7Fxx, (0020,31xx)), else the generic
 * entries for group lengths ((gggg,0000) UL) and Private Creators
 * ((gggg,0010-00FF) LO in an odd group). NULL for any other private tag and
 * for unknown public tags (their VR is UN in implicit VR). Static storage. */
const struct dcm_dict_entry *dcm_dict_lookup(uint32_t tag);

/* The tag of a keyword ("PatientName"), or 0 with false if none. For a
 * repeating-group keyword, its first group. */
bool dcm_dict_tag_of(const char *keyword, uint32_t *tag);

/* The keyword of a tag, or "PrivateCreator", "GenericGroupLength", ... for
 * the generic entries, or "Unknown Tag & Data" like dcmdump. Static storage. */
const char *dcm_dict_keyword(uint32_t tag);

/* The VR an element has when the stream does not say (implicit VR): the
 * dictionary's, with ambiguous ones resolved as DCMTK resolves them
 * (xs -> US, ox -> OW, px -> OW, lt -> OW); UN for unknown and private tags;
 * LO for Private Creators; UL for group lengths. */
enum dcm_vr dcm_dict_implicit_vr(uint32_t tag);

/* Number of exact entries and range entries, for tests and tools. */
size_t dcm_dict_size(void);

/* ---------------------------------------------------------------------------
 * Transfer syntaxes */

struct dcm_ts {
    const char *uid;
    const char *name;        /* "Explicit VR Little Endian" */
    const char *keyword;     /* "ExplicitVRLittleEndian" (PS3.6 keyword) */
    bool explicit_vr;
    bool big_endian;
    bool deflated;           /* the whole data set is one raw deflate stream */
    bool encapsulated;       /* top-level Pixel Data is encapsulated */
    bool lossless;           /* always lossless (false for "either" syntaxes) */
    bool retired;
};

/* The syntax of a UID (NUL-terminated, without padding), or NULL if unknown.
 * Static storage. */
const struct dcm_ts *dcm_ts_lookup(const char *uid);
/* The same for a UID of `len` bytes that may carry a trailing NUL or space
 * pad, as it appears in a value. */
const struct dcm_ts *dcm_ts_lookup_n(const char *uid, size_t len);
/* The table, in the order of the data file; *n set to its length. */
const struct dcm_ts *dcm_ts_all(size_t *n);

/* True for the four syntaxes the dcm module reads and writes natively
 * (Implicit VR LE, Explicit VR LE, Explicit VR BE, Deflated Explicit VR LE). */
bool dcm_ts_is_uncompressed(const struct dcm_ts *ts);

/* ---------------------------------------------------------------------------
 * SOP classes (and the other UIDs of storage_sop_classes.tsv) */

struct dcm_sop_class {
    const char *uid;
    const char *name;        /* "CT Image Storage" */
    const char *keyword;     /* "CTImageStorage" */
    const char *category;    /* "storage", "verification", "query-retrieve", ... */
    bool storage;            /* category == "storage" */
    bool common;             /* one of the classes seen most often */
    bool retired;
};

/* NULL if unknown. Static storage. */
const struct dcm_sop_class *dcm_sop_class_lookup(const char *uid);
const struct dcm_sop_class *dcm_sop_class_lookup_n(const char *uid, size_t len);
const struct dcm_sop_class *dcm_sop_class_all(size_t *n);

/* The name of any UID this module knows (transfer syntax or SOP class), or
 * NULL. Static storage. */
const char *dcm_uid_name(const char *uid);

#endif
