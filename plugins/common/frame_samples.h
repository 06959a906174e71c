/* Native DICOM frames <-> rows of integer samples, for the codec plugins.
 *
 * Not a plugin: each codec plugin that needs it compiles frame_samples.c into
 * its own shared object (plugins never share code at run time).
 *
 * A native frame (PS3.5 8.1) holds rows x columns pixels of samples_per_pixel
 * samples, each in bits_allocated bits (little endian), colour-by-pixel
 * (planar configuration 0) or colour-by-plane (1). Only the low bits_stored
 * bits of a sample carry its value (high bit = bits_stored - 1 is required).
 * Reading normalises a sample to its value: unsigned samples are masked to
 * bits_stored, signed ones sign-extended from bit bits_stored - 1, so garbage
 * above the high bit never reaches an encoder. Writing does the converse:
 * zeros above bits_stored for unsigned, sign extension for signed, so that a
 * lossless round trip of a sign-extended frame is bit-exact. */
#ifndef FERRY_PLUGIN_FRAME_SAMPLES_H
#define FERRY_PLUGIN_FRAME_SAMPLES_H

#include <ferry/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fs_layout {
    uint32_t rows;
    uint32_t columns;
    uint32_t samples;       /* samples per pixel */
    uint32_t bytes;         /* bytes per sample: 1, 2 or 4 */
    uint32_t bits_stored;   /* 1..32 */
    bool is_signed;
    bool planar;            /* planar configuration 1 */
    size_t frame_size;      /* rows * columns * samples * bytes */
};

/* Bit set of the Bits Allocated values a codec accepts. */
enum fs_alloc {
    FS_ALLOC_8 = 1u << 0,
    FS_ALLOC_16 = 1u << 1,
    FS_ALLOC_32 = 1u << 2,
};

/* Check geometry g and fill *l. Accepts Samples per Pixel 1 or 3, the Bits
 * Allocated values in `allocs`, Bits Stored from 1 to min(bits allocated,
 * max_bits_stored), High Bit = Bits Stored - 1, Pixel Representation 0/1,
 * Planar Configuration 0/1, rows and columns from 1 to 65535. On failure
 * returns -EINVAL and writes why into msg (NUL-terminated). */
int fs_layout_from_frame(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         struct fs_layout *l, char *msg, size_t msglen);

/* fs_layout_from_frame for an encoder's input frame of in_len bytes, or a
 * decoder's output buffer of out_len bytes, which must be the frame's
 * size. On failure writes the reason into diag (param -1) and returns
 * -EINVAL. */
int fs_layout_for_encode(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         size_t in_len, struct fs_layout *l, struct ferry_diag *diag);
int fs_layout_for_decode(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         size_t out_len, struct fs_layout *l, struct ferry_diag *diag);

/* The smallest and largest value a sample of l can hold. */
int64_t fs_min_value(const struct fs_layout *l);
int64_t fs_max_value(const struct fs_layout *l);

/* Read row `row` of component `comp` of frame (borrowed, l->frame_size
 * bytes) into out[0..columns-1], normalised as above. */
void fs_read_row(const uint8_t *frame, const struct fs_layout *l, uint32_t row, uint32_t comp,
                 int32_t *out);

/* Write in[0..columns-1] as row `row` of component `comp` of frame: the low
 * bits_stored bits of each value, with zeros (unsigned) or the sign (signed)
 * above them. Values are not clamped: a value outside the range of
 * bits_stored wraps (callers clamp first where a codec may overshoot). */
void fs_write_row(uint8_t *frame, const struct fs_layout *l, uint32_t row, uint32_t comp,
                  const int32_t *in);

/* Normalise a whole frame in place (mask or sign-extend each sample from
 * bits_stored). For decoders whose library wrote raw samples. */
void fs_normalise(uint8_t *frame, const struct fs_layout *l);

/* True if no sample of the frame has a bit set at or above bits_stored,
 * i.e. the bytes already hold every sample's unsigned value (one pass that
 * the compiler vectorises). False for signed layouts. */
bool fs_is_canonical_unsigned(const uint8_t *frame, const struct fs_layout *l);

/* Copy a colour-by-plane frame to colour-by-pixel (dst and src distinct,
 * both l->frame_size bytes). */
void fs_planar_to_interleaved(uint8_t *dst, const uint8_t *src, const struct fs_layout *l);

/* Helpers for diag messages: formats into d->message (truncating). */
void fs_diag(struct ferry_diag *d, int32_t param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif
