/* Test support for codec plugins: the geometry matrix every lossless codec
 * must round-trip bit-exactly, and one encode -> decode round trip through a
 * plugin's codecs with the comparison done. Built on plugin_harness.h. */
#ifndef FERRY_TEST_CODEC_ROUNDTRIP_H
#define FERRY_TEST_CODEC_ROUNDTRIP_H

#include "plugin_harness.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_case {
    struct ferry_frame g;
    unsigned noise;  /* amplitude handed to harness_synth_frame */
    uint32_t seed;
};

/* What the matrix covers (flags of rt_matrix). */
enum rt_matrix_flags {
    RT_SIGNED_COLOUR = 1u << 0,   /* also signed RGB / YBR_FULL */
    RT_NO_16_16 = 1u << 1,        /* leave out Bits Stored 16 */
};

/* Fill out[0..max-1] with the matrix: bits (allocated/stored) 8/8, 16/12,
 * 16/16; unsigned and signed; MONOCHROME2, MONOCHROME1, RGB planar 0 and 1,
 * YBR_FULL; sizes 1x1, 3x5 and 511x257 (rows x columns); noise 0 and high
 * (a quarter of the stored range). Returns the number of cases. */
size_t rt_matrix(struct rt_case *out, size_t max, unsigned flags);

/* A matrix of other bits and layouts: the same sizes and noise levels
 * (high noise: a quarter of 2^min(bits stored, 24)), loops in the order
 * bits, sign, layout, size, noise; seeds first_seed, first_seed + 1, ... */
struct rt_layout {
    uint16_t spp, planar;
    const char *pi;
};
struct rt_matrix_spec {
    const uint16_t (*bits)[2]; /* {allocated, stored} */
    size_t n_bits;
    const struct rt_layout *layouts;
    size_t n_layouts;
    bool signed_colour;        /* signed also for 3-sample layouts */
    uint32_t first_seed;
};
size_t rt_matrix_of(const struct rt_matrix_spec *spec, struct rt_case *out, size_t max);

/* "16/12 signed RGB planar 1 511x257 noise 1024" into buf. */
const char *rt_describe(const struct ferry_frame *g, unsigned noise, char *buf, size_t len);

struct rt_result {
    size_t raw_bytes;
    size_t coded_bytes;
    double psnr;                  /* INFINITY when bit-exact */
    bool exact;                   /* decoded == input (colour-by-pixel) */
    struct ferry_frame coded;     /* the geometry the encoder reported */
    struct ferry_frame decoded;   /* out_geom of the decoder */
    uint32_t lossy;               /* what the encoder reported */
    char msg[800];                /* why rt_run failed */
};

/* Encode frame (geometry g) with enc/enc_state, decode the result with
 * dec/dec_state into a buffer of g's size, and compare with the input
 * (converted to colour-by-pixel: decoders write planar configuration 0).
 * If coded_out is not NULL it receives the codestream (malloc'ed copy; the
 * caller frees) and *coded_len its length. Returns 0, or -1 with res->msg. */
int rt_run(const struct ferry_codec *enc, void *enc_state, const struct ferry_codec *dec,
           void *dec_state, const struct ferry_frame *g, const uint8_t *frame,
           struct rt_result *res, uint8_t **coded_out, size_t *coded_len);

/* Colour-by-pixel copy of a frame (malloc'ed). */
uint8_t *rt_interleaved(const struct ferry_frame *g, const uint8_t *frame);

/* Geometry shorthand. */
struct ferry_frame rt_geom(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba, uint16_t bs,
                           uint16_t sgn, uint16_t planar, const char *pi);

/* Read a whole file (malloc'ed) / write one. */
uint8_t *rt_read_file(const char *path, size_t *len);
int rt_write_file(const char *path, const void *data, size_t len);

/* A fresh temporary directory under $TMPDIR (static buffer). */
const char *rt_tempdir(const char *tag);

/* Run a command line through /bin/sh with a time limit in seconds; returns
 * its exit status, or -1 if it did not exit normally. Output goes to the
 * test's stderr. */
int rt_system(int timeout_s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if `prog` is on PATH. */
bool rt_have(const char *prog);

/* Raw sample files as the JPEG 2000 tools read and write them (opj .rawl,
 * ojph .yuv): components one after another, samples of 1 byte (bits
 * allocated 8) or 2 bytes little endian. Writing takes a frame of geometry
 * g in its own planar configuration; reading fills a colour-by-pixel frame
 * of geometry g. */
int rt_write_planar_raw(const char *path, const struct ferry_frame *g, const uint8_t *frame);
int rt_read_planar_raw(const char *path, const struct ferry_frame *g, uint8_t *out);

/* Keep the low bits_stored bits of every sample and sign-extend (signed) or
 * zero (unsigned) above them, in place. */
void rt_normalise(const struct ferry_frame *g, uint8_t *frame);

/* A python3 that can import pydicom ($FERRY_PYTHON, else /usr/bin/python3,
 * else python3 on PATH), or NULL. */
const char *rt_python(void);

/* Geometry as tests/support/pydicom_frames.py writes and reads it:
 * "rows,cols,spp,bits_allocated,bits_stored,pixel_repr,planar,PI". */
const char *rt_geom_arg(const struct ferry_frame *g, char *buf, size_t len);
bool rt_parse_geom(const char *s, struct ferry_frame *g);

/* Run tests/support/pydicom_frames.py with these arguments (stdout to
 * `out_path` if not NULL). Returns its exit status. */
int rt_pydicom(const char *out_path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A work directory for a test: rt_workdir_create makes a fresh one under
 * $TMPDIR (NULL if it cannot), rt_path names a file in it (one of four
 * rotating static buffers), rt_workdir_remove deletes it with its files. */
const char *rt_workdir_create(const char *tag);
const char *rt_path(const char *name);
void rt_workdir_remove(void);

/* A text file's contents with its last byte (the newline) cut off
 * (malloc'ed), or NULL. */
char *rt_read_text(const char *path);

/* pydicom_frames.py frames: write the frames of `dcm` to <prefix>.0, ...
 * and read back its transfer syntax (ts, 68 bytes), the geometry string
 * (geom, 128 bytes) and the geometry. info_path receives the script's
 * output. Returns 0, or -1 if any step failed. */
int rt_pydicom_frames(const char *dcm, const char *prefix, const char *info_path, char *ts,
                      char *geom, struct ferry_frame *g);

/* The path of `name` in pydicom's test corpus `corpus` into out; false
 * (and a line on stderr) when the file is absent: Debian trims the corpus. */
bool rt_corpus_file(const char *corpus, const char *name, char *out, size_t len);

/* Decode `in` (len bytes) with dec/dec_state as a frame of geometry g
 * into a new buffer of g's size (malloc'ed, returned even on failure);
 * *og starts as *g, *d fresh; *rc is the decoder's result. */
uint8_t *rt_decode_new(const struct ferry_codec *dec, void *dec_state,
                       const struct ferry_frame *g, const uint8_t *in, size_t len,
                       struct ferry_frame *og, struct ferry_diag *d, int *rc);

/* The pixels another decoder must give for codestream cs of round trip r
 * of `frame` (geometry g): the input colour-by-pixel when r was lossless,
 * else dec's own decode of cs (og: the geometry it wrote). NULL if that
 * decode fails. malloc'ed. */
uint8_t *rt_reference(const struct ferry_codec *dec, void *dec_state, const struct ferry_frame *g,
                      const uint8_t *frame, const struct rt_result *r, const uint8_t *cs,
                      size_t len, struct ferry_frame *og);

/* Read a planar raw file (rt_read_planar_raw) as a new colour-by-pixel
 * frame of geometry g, normalised to g's bits stored and sign; NULL if it
 * is missing or of another size. malloc'ed. */
uint8_t *rt_read_raw_frame(const char *path, const struct ferry_frame *g);

/* opj_decompress `in` (a .j2k/.j2c/.jp2 file) to the raw file `raw` and read
 * that with rt_read_raw_frame; NULL if either step fails. */
uint8_t *rt_opj_decompress(const char *in, const char *raw, const struct ferry_frame *g);

/* True if every one of tools[0..n-1] is on PATH; else says "SKIP: ..."
 * with `hint` on stderr and returns false. */
bool rt_have_all(const char *const *tools, size_t n, const char *hint);

/* Path of a file of the source tree ($FERRY_SOURCE_DIR/rel). Static buffer. */
const char *rt_source_path(const char *rel);

#endif
