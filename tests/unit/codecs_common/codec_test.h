/* Shared by the codec suites (tests/unit/jpegls, jpeg, rle): a codec
 * loaded through the plugin harness, encode/decode wrappers that check what
 * the ABI promises, and layout-independent frame comparison. Compiled into
 * each suite (this folder has no CMakeLists.txt of its own). */
#ifndef FERRY_CODEC_TEST_H
#define FERRY_CODEC_TEST_H

#include "plugin_harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A loaded codec and its configured state. */
struct ct_codec {
    struct harness_plugin *plugin;
    const struct ferry_codec *codec;
    void *state;
};

/* Load build/plugins/<plugin>.so, find `codec` and configure it with the
 * "k=v" strings in params (n of them). Fails the test on any error. */
void ct_open(struct ct_codec *c, const char *plugin, const char *codec, const char *const *params,
             unsigned n);
void ct_close(struct ct_codec *c);

/* Configure `codec` of an opened plugin with params and return the result;
 * on error diag holds the message and the parameter index. */
int ct_configure(const struct ct_codec *c, const char *const *params, unsigned n,
                 void **state, struct ferry_diag *diag);

struct ferry_frame ct_geom(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba, uint16_t bs,
                           uint16_t pr, uint16_t pc, const char *photometric);

/* "8x3 s1 16/12 pr1 pc0 MONOCHROME2" for messages. Static buffer. */
const char *ct_geom_str(const struct ferry_frame *g);

/* Encode; returns the codec's result. On success enc->bytes is malloc'd
 * (the harness host's alloc) and the caller frees it. */
int ct_encode(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *in,
              struct ferry_encoded *enc, struct ferry_diag *diag);

/* Decode `in` as a frame of data set geometry g into a new buffer (*out,
 * freed by the caller) and the geometry written (*og). */
int ct_decode(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *in,
              size_t len, uint8_t **out, struct ferry_frame *og, struct ferry_diag *diag);

/* True if frame b (geometry gb) holds exactly the bytes of frame a
 * (geometry ga) once both are in the same planar configuration; the
 * geometries must agree on everything else. Otherwise false, with the first
 * difference described in why. */
bool ct_same_pixels(const struct ferry_frame *ga, const uint8_t *a, const struct ferry_frame *gb,
                    const uint8_t *b, char *why, size_t whylen);

/* The largest |a - b| over all samples (values read by Bits Stored, signed
 * when the geometry is), after bringing both to ga's planar configuration. */
int64_t ct_max_abs_error(const struct ferry_frame *ga, const uint8_t *a,
                         const struct ferry_frame *gb, const uint8_t *b);

/* A copy of frame `in` (geometry g) laid out with planar configuration pc. */
uint8_t *ct_relayout(const struct ferry_frame *g, const uint8_t *in, uint16_t pc);

/* Several threads encode and decode frames of geometry g (different
 * contents, growing sizes so that per-thread buffers grow) with one codec
 * state at once, as the worker pool does; each result must decode to its
 * own input. Returns the number of mismatches. */
unsigned ct_threaded_roundtrips(const struct ct_codec *c, const struct ferry_frame *g,
                                unsigned threads, unsigned iterations);

/* Sample i (in g's own layout order) as a number, by Bits Stored. */
int64_t ct_sample(const struct ferry_frame *g, const uint8_t *p, size_t i);

#endif
