/* Small helpers shared by the codec plugins (jpegls, jpeg, rle). Each plugin
 * compiles codecutil.c into its own shared object: no symbol crosses a
 * plugin boundary (everything here has hidden visibility), and no plugin
 * links against another or against the daemon. */
#ifndef FERRY_CODECUTIL_H
#define FERRY_CODECUTIL_H

#include <ferry/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write a message (printf-style) into diag and set diag->param (-1 when no
 * parameter is at fault). diag may be NULL. Always returns `code`, so a
 * caller can write `return codec_fail(diag, -EINVAL, -1, "...")`. */
int codec_fail(struct ferry_diag *diag, int code, int32_t param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parse `text` as a decimal integer in [min, max]: digits only, no sign, no
 * spaces, no leading zero, at most 9 digits. Returns false if it is anything else. */
bool codec_parse_uint(const char *text, uint32_t min, uint32_t max, uint32_t *out);

/* Bytes per sample (bits_allocated / 8) or 0 when bits_allocated is not a
 * multiple of 8 in 8..32. */
unsigned codec_bytes_per_sample(const struct ferry_frame *g);

/* rows * columns * samples * bytes per sample, or 0 on overflow or a zero
 * dimension. */
size_t codec_frame_bytes(const struct ferry_frame *g);

/* Check the parts of a geometry every codec needs: rows and columns in
 * 1..65535, samples per pixel 1 or 3, bits allocated 8, 16 or 32, bits
 * stored in 1..bits_allocated, pixel representation 0 or 1, planar
 * configuration 0 or 1, and (when `len` is not SIZE_MAX) a frame of exactly
 * `len` bytes. High Bit is not checked: the codecs read Bits Stored. On failure fills diag and returns -EINVAL; `what` names the
 * codec in the message. */
int codec_check_geometry(const struct ferry_frame *g, size_t len, const char *what,
                         struct ferry_diag *diag);

/* Make the bits above bits_stored of `count` samples of g's size canonical
 * in place: copies of the sign bit (bit bits_stored - 1) when g is signed,
 * zero when unsigned. Nothing to do when bits_stored == bits_allocated. */
void codec_normalize_high_bits(const struct ferry_frame *g, uint8_t *pixels, size_t count);

/* True if g's photometric interpretation equals one in the NULL-terminated
 * list (g->photometric need not be NUL-terminated). */
bool codec_photometric_is(const struct ferry_frame *g, const char *const *list);

/* Copy a photometric interpretation into a geometry (NUL-terminated, cut to
 * fit). */
void codec_set_photometric(struct ferry_frame *g, const char *s);

/* Per-thread scratch memory, kept from one call to the next so that a
 * worker encoding frame after frame does not map and fault in fresh pages
 * each time. codec_scratch_init() runs in ferry_plugin_init(),
 * codec_scratch_fini() in the plugin's unload (buffers of threads still
 * alive then are not freed: unload happens at exit). Requests above
 * CODEC_SCRATCH_KEEP bytes get memory of their own, freed by put. One
 * buffer per thread at a time: get, use, put. */
#define CODEC_SCRATCH_KEEP ((size_t)64 << 20)

int codec_scratch_init(void);
void codec_scratch_fini(void);
/* At least n bytes, or NULL when memory is short. Give it back with put. */
uint8_t *codec_scratch_get(size_t n);
void codec_scratch_put(uint8_t *p);

#endif
