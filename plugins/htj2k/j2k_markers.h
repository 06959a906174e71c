/* JPEG 2000 codestream markers (ISO/IEC 15444-1 Annex A): parse the main
 * header and the tile-part headers of a codestream, and write a copy of it
 * with TLM (tile-part lengths, A.7.1) marker segments in the main header.
 *
 * The bytes come from an encoder, not from a peer, but are parsed as if
 * hostile: every length is checked against the buffer before it is used. */
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
    /* TLM segments found in the main header */
    uint32_t tlm_segments;
    uint32_t tlm_entries;           /* tile-part lengths they list */
    bool tlm_consistent;            /* every entry matches its tile-part */
    /* layout */
    size_t main_header_end;         /* offset of the first SOT */
    size_t eoc;                     /* offset of EOC */
    uint32_t n_tileparts;
    struct jm_tilepart *tileparts;  /* owned; jm_free() */
};

/* Parse p[0..n-1]. Returns 0, -EINVAL with a message naming the byte offset
 * (into msg) for a malformed codestream, -ENOMEM. On success cs owns an
 * array the caller releases with jm_free(); on failure nothing is held. */
int jm_parse(const uint8_t *p, size_t n, struct jm_codestream *cs, char *msg, size_t msglen);
void jm_free(struct jm_codestream *cs);

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
