/* Shared by the codec suites (tests/unit/jpegls, jpeg, rle, j2k, htj2k,
 * jpegll): a codec loaded through the plugin harness, encode/decode
 * wrappers that check what the ABI promises, layout-independent frame
 * comparison, and the checks every codec suite makes (parameter and
 * geometry refusals, broken streams, the lossless matrix). The library
 * ferry_test_codec_unit (this folder's CMakeLists.txt); Check asserts, so
 * for the test's own thread only. */
#ifndef FERRY_CODEC_TEST_H
#define FERRY_CODEC_TEST_H

#include "check_suite.h"
#include "codec_roundtrip.h"
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

/* ---- plugins and codecs by hand (a state per configure) ---------------- */

/* Load build/plugins/<plugin>.so; fails the test if it cannot. */
struct harness_plugin *ct_load(const char *plugin);

/* The codec of p named (or with the transfer syntax) key; fails the test
 * if there is none. Borrowed from the plugin. */
const struct ferry_codec *ct_find(const struct harness_plugin *p, const char *key);

/* c->configure(p, n, state, diag) with a fresh diag and *state NULL. */
int ct_configure_with(const struct ferry_codec *c, const struct ferry_param *p, uint32_t n,
                      void **state, struct ferry_diag *diag);

/* c->decode of `in` (len bytes) as a frame of geometry g into a buffer
 * of g's size, which is thrown away; diag is reset first. */
int ct_decode_discard(const struct ferry_codec *c, void *state, const struct ferry_frame *g,
                      const uint8_t *in, size_t len, struct ferry_diag *diag);

/* ---- parameters and refusals --------------------------------------------- */

/* One configure call of a table: codec (name or UID), parameters, and the
 * expected outcome: at == -2 success, else -EINVAL with diag.param == at
 * and exactly `message`. */
struct ct_param_case {
    const char *codec;
    struct ferry_param p[12];
    uint32_t n;
    int32_t at;
    const char *message;
};
void ct_check_param_cases(const struct harness_plugin *plug, const struct ct_param_case *cases,
                          size_t n);

/* ct_configure of c with "k=v" params fails -EINVAL with exactly msg,
 * naming parameter `param`, and leaves no state. */
void ct_expect_param_error(const struct ct_codec *c, const char *const *p, unsigned n,
                           int32_t param, const char *msg);

/* A synthetic frame of geometry g (seed, noise; returned, the caller
 * frees) encoded by c into *enc (enc->bytes: the caller frees); fails the
 * test if encoding fails. */
uint8_t *ct_encode_synth(const struct ct_codec *c, const struct ferry_frame *g, uint32_t seed,
                         unsigned noise, struct ferry_encoded *enc);

/* Decoding s (n bytes) as a frame of geometry g fails with `code` and
 * exactly msg. */
void ct_expect_decode_error(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *s,
                            size_t n, int code, const char *msg);

/* Encoding a synthetic frame of geometry g (seed 1, no noise) fails with
 * `code` and exactly msg. */
void ct_expect_encode_error(const struct ct_codec *c, const struct ferry_frame *g, int code,
                            const char *msg);

/* A geometry an encoder refuses, and its exact message. */
struct ct_encode_case {
    struct ferry_frame g;
    const char *message;
};
/* c->encode(state) of a zero frame (buf, at least the largest case's
 * size) of each case's geometry fails -EINVAL with the case's message and
 * no bytes. */
void ct_check_encode_cases(const struct ferry_codec *c, void *state, const uint8_t *buf,
                           const struct ct_encode_case *cases, size_t n);

/* ---- broken streams ------------------------------------------------------ */

/* Decode each prefix of `bytes` shorter than `upto` (each in a buffer of
 * its own size, so that ASan sees a read past it): every one must fail,
 * with a message that starts with `prefix` (NULL: any message). */
void ct_decode_truncations(const struct ct_codec *c, const struct ferry_frame *g,
                           const uint8_t *bytes, size_t upto, const char *prefix);

/* `iterations` decodes of `bytes` with 1 .. max_flips random bytes
 * replaced (1 + i % max_flips in iteration i; *rng the generator's state,
 * carried on). Must never crash; returns how many decodes failed. */
unsigned ct_decode_mutations(const struct ct_codec *c, const struct ferry_frame *g,
                             const uint8_t *bytes, size_t len, uint32_t *rng, int iterations,
                             int max_flips);

/* ---- round trips ---------------------------------------------------------- */

/* Bits above the high bit: encoding `dirty` (junk there) with c/state and
 * decoding gives exactly `clean` (the same samples, canonical). */
void ct_check_high_bits(const struct ferry_codec *c, void *state, const struct ferry_frame *g,
                        const uint8_t *dirty, const uint8_t *clean);

/* What a suite checks of one case of the lossless matrix beyond what
 * ct_lossless_matrix does: r is the round trip, cs/len the codestream. */
typedef void ct_matrix_check_fn(void *ctx, const struct rt_case *c, const char *desc,
                                const struct rt_result *r, const uint8_t *cs, size_t len);

/* Every case of cases[0..n-1] (from rt_matrix) encoded by enc/enc_state
 * and decoded by dec/dec_state: each must succeed, be bit-exact and not
 * lossy, then check(ctx, ...) runs (may be NULL). `label` starts the
 * messages. */
void ct_lossless_matrix(const struct rt_case *cases, size_t n, const struct ferry_codec *enc,
                        void *enc_state, const struct ferry_codec *dec, void *dec_state,
                        const char *label, ct_matrix_check_fn *check, void *ctx);

/* ---- interop ------------------------------------------------------------ */

/* A frame of ours for another decoder: the synthetic input, our
 * codestream (also in file `path`), the round trip through our own
 * decoder, and the pixels the other decoder must give (rt_reference). */
struct ct_ours {
    uint8_t *frame;
    uint8_t *cs;
    size_t len;
    struct rt_result r;
    uint8_t *want;
    struct ferry_frame og; /* what our decoder wrote (lossy), else g */
    char desc[128];
};

/* Fill *o for a frame of geometry g (seed, noise) encoded by enc/enc_state
 * and decoded by dec/dec_state; fails the test if any step fails. */
void ct_ours_make(struct ct_ours *o, const struct ferry_codec *enc, void *enc_state,
                  const struct ferry_codec *dec, void *dec_state, const struct ferry_frame *g,
                  uint32_t seed, unsigned noise, const char *path);
void ct_ours_free(struct ct_ours *o);

#endif
