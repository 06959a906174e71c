/* RLE Lossless (PS3.5 Annex G): the codec itself, without the plugin glue,
 * so that tests, fuzz targets and benchmarks can call it directly. */
#ifndef FERRY_RLE_PRIVATE_H
#define FERRY_RLE_PRIVATE_H

#include <ferry/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* The frame header: segment count and 15 segment offsets, uint32 LE each. */
#define RLE_HEADER_BYTES 64u
#define RLE_MAX_SEGMENTS 15u

/* Check that g can be RLE coded: the common checks (codecutil) plus Bits
 * Allocated 8, 16 or 32 and at most 15 byte planes. `len` is the native
 * frame's size, or SIZE_MAX to skip that check. Fills diag on failure. */
int rle_check_geometry(const struct ferry_frame *g, size_t len, struct ferry_diag *diag);

/* An upper bound of the encoded size of one frame of geometry g (checked).
 * 0 if it would not fit the header's 32-bit offsets. */
size_t rle_encode_bound(const struct ferry_frame *g);

/* Encode one native frame (layout given by g, checked) into `out`, which
 * holds rle_encode_bound(g) bytes; `row` is scratch of g->columns bytes.
 * Segments go by sample, then byte from the most significant; each row is
 * coded on its own (no run crosses a row); odd segments get a zero pad byte.
 * Returns the number of bytes written (even). All pointers borrowed. */
size_t rle_encode(const struct ferry_frame *g, const uint8_t *in, uint8_t *out, uint8_t *row);

/* Decode one frame of `in_len` bytes (untrusted) into `out`, which holds
 * codec_frame_bytes(g) bytes, laid out as g says (its planar configuration
 * included). Every header field and run is checked against the bounds; an
 * error leaves a message in diag and returns -EBADMSG (corrupt stream) or
 * -EINVAL (the stream does not match g). The bits above Bits Stored are then
 * made canonical (sign-extended or zero). All pointers borrowed. */
int rle_decode(const struct ferry_frame *g, const uint8_t *in, size_t in_len, uint8_t *out,
               struct ferry_diag *diag);

#endif
