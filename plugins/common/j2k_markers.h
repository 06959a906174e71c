/* JPEG 2000 codestream markers (ISO/IEC 15444-1 Annex A), shared by the j2k
 * and htj2k plugins: parse the main header and the tile-part headers of a
 * codestream; write a copy with TLM (tile-part lengths, A.7.1) marker
 * segments in the main header (htj2k, 4.202); check that tile-part data holds
 * no marker codes (j2k, before OpenJPEG decodes).
 *
 * Input is parsed as hostile: every length is checked against the buffer
 * before it is used. */
#ifndef FERRY_PLUGIN_J2K_MARKERS_H
#define FERRY_PLUGIN_J2K_MARKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on tile-parts accepted (the syntax allows 65535 tiles of 255
 * tile-parts; nothing ferry writes comes near). */
#define JM_MAX_TILEPARTS 65536u

/* Progression orders as COD codes them. */
enum jm_progression { JM_LRCP = 0, JM_RLCP = 1, JM_RPCL = 2, JM_PCRL = 3, JM_CPRL = 4 };

struct jm_tilepart {
    size_t offset;    /* of its SOT marker */
    size_t data;      /* of the first byte after its SOD marker */
    uint32_t length;  /* Psot: SOT marker to the end of its data */
    uint16_t tile;    /* Isot */
    uint8_t part;     /* TPsot */
    uint8_t parts;    /* TNsot (0: not said) */
};

struct jm_codestream {
    /* SIZ */
    uint32_t width, height;         /* Xsiz - XOsiz, Ysiz - YOsiz */
    uint32_t tiles;                 /* number of tiles */
    uint16_t components;
    uint16_t rsiz;
    bool has_cap;                   /* CAP marker (Part 15 codestreams) */
    /* COD */
    uint8_t progression;            /* enum jm_progression */
    uint16_t layers;
    uint8_t decompositions;
    bool reversible;                /* 5/3 wavelet */
    bool mct;                       /* multiple component transform */
    uint8_t block_style;            /* code-block style (0x40: HT code-blocks) */
    /* TLM segments found in the main header */
    uint32_t tlm_segments;
    uint32_t tlm_entries;           /* tile-part lengths they list */
    bool tlm_consistent;            /* every entry matches its tile-part */
    /* layout */
    size_t main_header_end;         /* offset of the first SOT */
    size_t eoc;                     /* offset of EOC (n when the last tile-part
                                     * ends the buffer without one) */
    uint32_t n_tileparts;
    struct jm_tilepart *tileparts;  /* owned; jm_free() */
};

/* Parse p[0..n-1]. Returns 0, -EINVAL with a message naming the byte offset
 * (into msg) for a malformed codestream, -ENOMEM. On success cs owns an
 * array the caller releases with jm_free(); on failure nothing is held. */
int jm_parse(const uint8_t *p, size_t n, struct jm_codestream *cs, char *msg, size_t msglen);
void jm_free(struct jm_codestream *cs);

/* Coded data never holds a marker code: Part 1 (MQ coder, packet header
 * bit stuffing) and Part 15 (HT bit-streams) both keep every pair of bytes
 * in tile-part data below 0xFF90, so that markers can be found by scanning.
 * Returns 0, or -EINVAL with *at set to the offset of the first 0xFF of a
 * pair from 0xFF90 to 0xFFFF (SOP 0xFF91 and EPH 0xFF92 excepted) in the
 * data of a tile-part of cs. Decoders that assert() on such bytes (the HT
 * block decoders of OpenJPEG 2.5.0 and OpenJPH 0.9 do) must not see them. */
int jm_check_data(const uint8_t *p, size_t n, const struct jm_codestream *cs, size_t *at);

/* The codestream inside a JP2 file (its jp2c box): *cs, *cs_len point into
 * p. Returns 0 or -EINVAL with a message. */
int jm_jp2_codestream(const uint8_t *p, size_t n, const uint8_t **cs, size_t *cs_len, char *msg,
                      size_t msglen);

/* The photometric rules of a JPEG 2000 encoder (the j2k and htj2k plugins):
 * one sample MONOCHROME1/2, or PALETTE COLOR when not lossy; three samples
 * RGB, coded with the component transform (*ct true; *out_pi YBR_RCT, or
 * YBR_ICT when lossy, PS3.5 A.4.4), or YBR_FULL as it is. Otherwise -EINVAL
 * with the reason in msg. */
int jm_encode_photometric(uint32_t samples, const char *pi, bool lossy, bool *ct,
                          const char **out_pi, char *msg, size_t msglen);

/* Bytes of the TLM marker segments jm_write_with_tlm() inserts for cs. */
size_t jm_tlm_size(const struct jm_codestream *cs);

/* Copy p (parsed into cs, which must have no TLM yet) to out, inserting TLM
 * marker segments just before the first SOT. out holds n + jm_tlm_size(cs)
 * bytes. */
void jm_write_with_tlm(const uint8_t *p, size_t n, const struct jm_codestream *cs, uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif
