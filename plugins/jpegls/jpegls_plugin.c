/* The jpegls plugin: JPEG-LS (ISO/IEC 14495-1) with CharLS's C API.
 *
 *   jpeg-ls-lossless       1.2.840.10008.1.2.4.80  no parameters
 *   jpeg-ls-near-lossless  1.2.840.10008.1.2.4.81  near: 0..255 (default 2)
 *
 * Both decode and encode 2..16 bits stored in 8 or 16 bits allocated, 1 or 3
 * samples, signed or unsigned. A JPEG-LS stream holds unsigned samples of P
 * bits, so DICOM puts the low Bits Stored bits of each sample in it (PS3.5
 * 8.2.3: the stream's parameters match Bits Stored); a decoded signed sample
 * is sign-extended from Bits Stored again.
 *
 * Colour: planar configuration 0 is coded sample-interleaved, 1 with no
 * interleave (one scan per component), so neither needs a copy. The data
 * set's Planar Configuration is 0 for JPEG-LS whatever the interleave (the
 * stream describes it); decoding writes what the stream holds (a stream
 * without interleave decodes colour-by-plane) and says so in out_geom.
 *
 * Speed: the native frame is handed to CharLS as it is whenever it is
 * already canonical (nothing above Bits Stored; one scan proves it), and
 * CharLS decodes straight into the host's buffer. */
#include "codecutil.h"

#include <charls/charls.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JLS_DEFAULT_NEAR 2

#define JLS_STR2(x) #x
#define JLS_STR(x) JLS_STR2(x)

struct jls_state {
    int32_t near;
};

static int jls_errc_to_errno(charls_jpegls_errc e)
{
    switch (e) {
    case CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY:
        return -ENOMEM;
    case CHARLS_JPEGLS_ERRC_PARAMETER_VALUE_NOT_SUPPORTED:
    case CHARLS_JPEGLS_ERRC_ENCODING_NOT_SUPPORTED:
    case CHARLS_JPEGLS_ERRC_BIT_DEPTH_FOR_TRANSFORM_NOT_SUPPORTED:
    case CHARLS_JPEGLS_ERRC_COLOR_TRANSFORM_NOT_SUPPORTED:
    case CHARLS_JPEGLS_ERRC_JPEGLS_PRESET_EXTENDED_PARAMETER_TYPE_NOT_SUPPORTED:
        return -ENOTSUP;
    default:
        return -EBADMSG;
    }
}

static int jls_fail(struct ferry_diag *diag, charls_jpegls_errc e, const char *doing)
{
    return codec_fail(diag, jls_errc_to_errno(e), -1, "JPEG-LS: %s: %s", doing,
                      charls_get_error_message(e));
}

/* ---- parameters ------------------------------------------------------- */

static int jls_configure_lossless(const struct ferry_param *params, uint32_t n, void **state,
                                  struct ferry_diag *diag)
{
    *state = NULL;
    if (n > 0)
        return codec_fail(diag, -EINVAL, 0,
                          "unknown parameter \"%s\"; jpeg-ls-lossless takes no parameters",
                          params[0].key);
    return 0;
}

static int jls_configure_near(const struct ferry_param *params, uint32_t n, void **state,
                              struct ferry_diag *diag)
{
    uint32_t near = JLS_DEFAULT_NEAR;
    int seen = -1;
    *state = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(params[i].key, "near") != 0)
            return codec_fail(diag, -EINVAL, (int32_t)i,
                              "unknown parameter \"%s\"; jpeg-ls-near-lossless takes near",
                              params[i].key);
        if (seen >= 0)
            return codec_fail(diag, -EINVAL, (int32_t)i, "parameter \"near\" given twice");
        seen = (int)i;
        if (!codec_parse_uint(params[i].value, 0, 255, &near))
            return codec_fail(diag, -EINVAL, (int32_t)i,
                              "near must be an integer from 0 to 255, got \"%s\"", params[i].value);
    }
    struct jls_state *st = malloc(sizeof *st);
    if (!st)
        return codec_fail(diag, -ENOMEM, -1, "out of memory");
    st->near = (int32_t)near;
    *state = st;
    return 0;
}

static void jls_release(void *state) { free(state); }

/* ---- geometry ----------------------------------------------------------- */

/* JPEG-LS codes what a native frame of this geometry holds? */
static int jls_check(const struct ferry_frame *g, size_t len, struct ferry_diag *diag)
{
    static const char *const subsampled[] = {"YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
                                             NULL};
    int rc = codec_check_geometry(g, len, "JPEG-LS", diag);
    if (rc)
        return rc;
    if (g->bits_allocated != 8 && g->bits_allocated != 16)
        return codec_fail(diag, -ENOTSUP, -1,
                          "JPEG-LS: Bits Allocated %u is not supported (8 or 16)",
                          g->bits_allocated);
    if (g->bits_stored < 2)
        return codec_fail(diag, -ENOTSUP, -1, "JPEG-LS: Bits Stored %u (JPEG-LS codes 2..16)",
                          g->bits_stored);
    if (g->samples_per_pixel == 3 && codec_photometric_is(g, subsampled))
        return codec_fail(diag, -ENOTSUP, -1,
                          "JPEG-LS: native %.24s pixel data is not supported (RGB or YBR_FULL)",
                          g->photometric);
    return 0;
}

/* Bytes CharLS uses per sample of P bits. */
static unsigned jls_sample_bytes(unsigned p) { return p > 8 ? 2 : 1; }

/* True if any of the n 16-bit samples has a bit outside `mask`. One pass
 * that the compiler vectorises. */
static bool jls_dirty16(const uint8_t *p, size_t n, uint16_t mask)
{
    uint16_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, p + 2 * i, 2);
        acc |= v;
    }
    return (acc & (uint16_t)~mask) != 0;
}

static bool jls_dirty8(const uint8_t *p, size_t n, uint8_t mask)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return (acc & (uint8_t)~mask) != 0;
}

/* The samples as CharLS wants them: the low Bits Stored bits, 1 byte each
 * when P <= 8, else 2. Returns `in` itself when it is already that, or a
 * new buffer in *copy (the caller frees it). */
static int jls_source(const struct ferry_frame *g, const uint8_t *in, size_t samples,
                      const uint8_t **src, size_t *src_len, uint8_t **copy,
                      struct ferry_diag *diag)
{
    unsigned p = g->bits_stored;
    unsigned want = jls_sample_bytes(p);
    unsigned have = g->bits_allocated / 8u;
    uint32_t mask = (uint32_t)((1u << p) - 1u);
    *copy = NULL;
    *src = in;
    *src_len = samples * want;
    if (want == have) {
        bool dirty = have == 2 ? jls_dirty16(in, samples, (uint16_t)mask)
                               : jls_dirty8(in, samples, (uint8_t)mask);
        if (!dirty)
            return 0;
    }
    uint8_t *c = malloc(*src_len ? *src_len : 1);
    if (!c)
        return codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for %zu bytes", *src_len);
    if (want == 1 && have == 1) {
        for (size_t i = 0; i < samples; i++)
            c[i] = (uint8_t)(in[i] & mask);
    } else if (want == 1) { /* 16 bits allocated, at most 8 stored */
        for (size_t i = 0; i < samples; i++)
            c[i] = (uint8_t)(in[2 * i] & mask);
    } else {
        for (size_t i = 0; i < samples; i++) {
            uint16_t v;
            memcpy(&v, in + 2 * i, 2);
            v &= (uint16_t)mask;
            memcpy(c + 2 * i, &v, 2);
        }
    }
    *copy = c;
    *src = c;
    return 0;
}

/* Sample i of a native frame, by Bits Stored, signed when g is. */
static int32_t jls_sample(const struct ferry_frame *g, const uint8_t *p, size_t i)
{
    uint32_t u = g->bits_allocated == 8 ? p[i] : (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
    unsigned shift = 32u - g->bits_stored;
    u <<= shift;
    return g->pixel_representation ? (int32_t)u >> shift : (int32_t)(u >> shift);
}

/* Near-lossless codes the low P bits as unsigned numbers, so a signed
 * sample within `near` of either end of its range may come back at the
 * other end (2047 becomes -2048 in 12 bits). True if any sample is that
 * close, and so the result must be checked. */
static bool jls_near_edge(const struct ferry_frame *g, const uint8_t *in, size_t samples,
                          int32_t near)
{
    int32_t max = (int32_t)((1u << (g->bits_stored - 1)) - 1u), min = -max - 1;
    for (size_t i = 0; i < samples; i++) {
        int32_t v = jls_sample(g, in, i);
        if (v > max - near || v < min + near)
            return true;
    }
    return false;
}

static int jls_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                      struct ferry_diag *diag);

/* Decode what was coded and check every sample is within near of the
 * input (see jls_near_edge). */
static int jls_verify_near(const struct ferry_frame *g, const uint8_t *in, size_t samples,
                           const uint8_t *coded, size_t coded_len, int32_t near,
                           struct ferry_diag *diag)
{
    size_t n = samples * (g->bits_allocated / 8u);
    uint8_t *back = malloc(n);
    if (!back)
        return codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for %zu bytes", n);
    struct ferry_frame og = *g;
    struct ferry_frame cg = *g;
    int rc = jls_decode(NULL, &cg, coded, coded_len, back, n, &og, diag);
    for (size_t i = 0; !rc && i < samples; i++) {
        int32_t a = jls_sample(g, in, i), b = jls_sample(g, back, i);
        if (a - b > near || b - a > near)
            rc = codec_fail(diag, -ERANGE, -1,
                            "JPEG-LS: near-lossless coding moved signed sample %zu across the "
                            "ends of its range (%d became %d); use near 0 or jpeg-ls-lossless",
                            i, a, b);
    }
    free(back);
    return rc;
}

/* ---- encode ------------------------------------------------------------- */

/* One CharLS encode of `src` into dest[0..cap): *written on success, else
 * CharLS's error (DESTINATION_BUFFER_TOO_SMALL when cap was short). With
 * dest NULL, only *written = CharLS's estimate of the size needed. */
static charls_jpegls_errc jls_charls_encode(const struct ferry_frame *g, int32_t near,
                                            const uint8_t *src, size_t src_len, uint8_t *dest,
                                            size_t cap, size_t *written)
{
    charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
    if (!enc)
        return CHARLS_JPEGLS_ERRC_NOT_ENOUGH_MEMORY;
    charls_frame_info fi = {
        .width = g->columns,
        .height = g->rows,
        .bits_per_sample = g->bits_stored,
        .component_count = g->samples_per_pixel,
    };
    /* Colour-by-pixel is coded sample-interleaved, colour-by-plane without
     * interleave: CharLS reads either layout as it is. */
    charls_interleave_mode ilv = g->samples_per_pixel > 1 && g->planar_configuration == 0
                                     ? CHARLS_INTERLEAVE_MODE_SAMPLE
                                     : CHARLS_INTERLEAVE_MODE_NONE;
    charls_jpegls_errc e = charls_jpegls_encoder_set_frame_info(enc, &fi);
    if (!e)
        e = charls_jpegls_encoder_set_near_lossless(enc, near);
    if (!e)
        e = charls_jpegls_encoder_set_interleave_mode(enc, ilv);
    /* Even length (a DICOM fragment is even); the preset parameters written
     * out for > 12 bits, as CharLS does by default, for older decoders. */
    if (!e)
        e = charls_jpegls_encoder_set_encoding_options(
            enc, CHARLS_ENCODING_OPTIONS_EVEN_DESTINATION_SIZE |
                     CHARLS_ENCODING_OPTIONS_INCLUDE_PC_PARAMETERS_JAI);
    if (!e && !dest)
        e = charls_jpegls_encoder_get_estimated_destination_size(enc, written);
    if (!e && dest)
        e = charls_jpegls_encoder_set_destination_buffer(enc, dest, cap);
    if (!e && dest)
        e = charls_jpegls_encoder_encode_from_buffer(enc, src, src_len, 0);
    if (!e && dest)
        e = charls_jpegls_encoder_get_bytes_written(enc, written);
    charls_jpegls_encoder_destroy(enc);
    return e;
}

/* What noise can cost: every sample at JPEG-LS's code length limit
 * LIMIT = 2 * (bpp + max(8, bpp)) bits (T.87 A.2), plus one stuffed bit per
 * 7 after 0xFF bytes, plus the markers. CharLS's own estimate is about the
 * raw size, which pure noise exceeds. */
static size_t jls_worst_case(const struct ferry_frame *g, size_t samples)
{
    size_t p = g->bits_stored, limit = 2 * (p + (p > 8 ? p : 8));
    return samples * limit / 7 + 4096;
}

static int jls_encode_near(const struct ferry_host *host, const struct ferry_frame *geom,
                           const uint8_t *in, size_t in_len, int32_t near,
                           struct ferry_encoded *out, struct ferry_diag *diag)
{
    static const char *const palette[] = {"PALETTE COLOR", NULL};
    uint8_t *copy = NULL, *dest = NULL;
    int rc = jls_check(geom, in_len, diag);
    if (rc)
        return rc;
    int32_t max_near = (int32_t)(((1u << geom->bits_stored) - 1u) / 2u);
    if (max_near > 255)
        max_near = 255;
    if (near > max_near)
        return codec_fail(diag, -EINVAL, -1, "JPEG-LS: near %d is too large for %u-bit samples (at most %d)",
                          near, geom->bits_stored, max_near);
    if (near > 0 && codec_photometric_is(geom, palette))
        return codec_fail(diag, -ENOTSUP, -1,
                          "JPEG-LS: near-lossless coding of PALETTE COLOR indices would change "
                          "colours; use near 0 or jpeg-ls-lossless");

    size_t samples = (size_t)geom->rows * geom->columns * geom->samples_per_pixel;
    const uint8_t *src;
    size_t src_len;
    rc = jls_source(geom, in, samples, &src, &src_len, &copy, diag);
    if (rc)
        return rc;

    /* The thread's scratch, of CharLS's estimate (of the worst case if
     * noise overflows it), then an exact copy for the host: a frame may wait in memory
     * before it is written, and should not hold more than it needs. */
    size_t cap = 0, written = 0;
    charls_jpegls_errc e = jls_charls_encode(geom, near, src, src_len, NULL, 0, &cap);
    for (int attempt = 0; !e && attempt < 2; attempt++) {
        dest = codec_scratch_get(cap);
        if (!dest) {
            rc = codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for %zu bytes", cap);
            goto out_free;
        }
        e = jls_charls_encode(geom, near, src, src_len, dest, cap, &written);
        if (e != CHARLS_JPEGLS_ERRC_DESTINATION_BUFFER_TOO_SMALL || attempt)
            break;
        codec_scratch_put(dest);
        dest = NULL;
        e = CHARLS_JPEGLS_ERRC_SUCCESS;
        cap = jls_worst_case(geom, samples);
    }
    if (e) {
        rc = jls_fail(diag, e, "encoding");
        goto out_free;
    }
    if (near > 0 && geom->pixel_representation && jls_near_edge(geom, in, samples, near)) {
        rc = jls_verify_near(geom, in, samples, dest, written, near, diag);
        if (rc)
            goto out_free;
    }
    out->bytes = host->alloc(written);
    if (!out->bytes) {
        rc = codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for %zu bytes", written);
        goto out_free;
    }
    memcpy(out->bytes, dest, written);
    out->length = written;
    out->frame = *geom;
    out->frame.size = sizeof out->frame;
    out->frame.planar_configuration = 0; /* the stream says how it interleaves */
    out->lossy = near > 0;
out_free:
    codec_scratch_put(dest);
    free(copy);
    return rc;
}

static int jls_encode_lossless(void *state, const struct ferry_host *host,
                               const struct ferry_frame *geom, const uint8_t *in, size_t in_len,
                               struct ferry_encoded *out, struct ferry_diag *diag)
{
    (void)state;
    return jls_encode_near(host, geom, in, in_len, 0, out, diag);
}

static int jls_encode_lossy(void *state, const struct ferry_host *host,
                            const struct ferry_frame *geom, const uint8_t *in, size_t in_len,
                            struct ferry_encoded *out, struct ferry_diag *diag)
{
    const struct jls_state *st = state;
    return jls_encode_near(host, geom, in, in_len, st ? st->near : JLS_DEFAULT_NEAR, out, diag);
}

/* ---- decode ------------------------------------------------------------- */

/* CharLS 2.4.1 (Debian 12) spends some 2^32 steps (~4 s) when the entropy-
 * coded data of a scan runs out inside a code (team-charls/charls PR 434):
 * a truncated frame would stall a worker. So before CharLS sees a stream,
 * walk its markers and make sure every scan's data ends at a marker and an
 * EOI follows. Only truncation is looked for here: anything else odd is
 * left to CharLS, which reports it. Markers: FF xx with xx >= 0x80 (inside
 * scan data JPEG-LS stuffs a 0 bit after each FF, so FF 00..7F is data;
 * RSTm markers belong to the scan). */
static int jls_truncated(struct ferry_diag *diag, size_t n, const char *where)
{
    return codec_fail(diag, -EBADMSG, -1, "JPEG-LS: the stream ends at byte %zu %s (truncated)", n,
                      where);
}

static bool jls_is_rst(uint8_t code) { return code >= 0xD0 && code <= 0xD7; }

static int jls_check_complete(const uint8_t *in, size_t n, struct ferry_diag *diag)
{
    size_t i = 0;
    while (i + 2 < n && in[i] == 0xFF && in[i + 1] == 0xFF) /* fill bytes, as CharLS allows */
        i++;
    if (i + 2 > n || in[i] != 0xFF || in[i + 1] != 0xD8)
        return 0; /* not JPEG-LS at all: CharLS says so */
    i += 2;
    for (;;) {
        if (i >= n)
            return jls_truncated(diag, n, "without an EOI marker");
        if (in[i] != 0xFF)
            return 0; /* garbage where a marker belongs: CharLS says so */
        while (i + 1 < n && in[i + 1] == 0xFF) /* fill bytes */
            i++;
        if (i + 1 >= n)
            return jls_truncated(diag, n, "inside a marker");
        uint8_t code = in[i + 1];
        if (code == 0xD9) /* EOI */
            return 0;
        if (code < 0x80 || code == 0xD8)
            return 0;
        if (jls_is_rst(code)) {
            i += 2;
            continue;
        }
        if (i + 4 > n)
            return jls_truncated(diag, n, "inside a marker segment");
        size_t len = (size_t)in[i + 2] << 8 | in[i + 3];
        if (len < 2)
            return 0;
        if (len > n - i - 2)
            return jls_truncated(diag, n, "inside a marker segment");
        i += 2 + len;
        if (code != 0xDA) /* not SOS */
            continue;
        /* The scan's data runs up to the next marker that is not RSTm. */
        for (;;) {
            const uint8_t *ff = i < n ? memchr(in + i, 0xFF, n - i) : NULL;
            if (!ff || (size_t)(ff - in) + 1 >= n)
                return jls_truncated(diag, n, "inside the scan data");
            i = (size_t)(ff - in);
            if (in[i + 1] >= 0x80 && !jls_is_rst(in[i + 1]))
                break;
            i += 2;
        }
    }
}

static int jls_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                      struct ferry_diag *diag)
{
    (void)state;
    charls_jpegls_decoder *dec = NULL;
    uint8_t *narrow = NULL;
    int rc = jls_check(in_geom, out_len, diag);
    if (rc)
        return rc;
    rc = jls_check_complete(in, in_len, diag);
    if (rc)
        return rc;
    dec = charls_jpegls_decoder_create();
    if (!dec)
        return codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for the decoder");
    charls_frame_info fi;
    charls_interleave_mode ilv = CHARLS_INTERLEAVE_MODE_NONE;
    charls_jpegls_errc e = charls_jpegls_decoder_set_source_buffer(dec, in, in_len);
    if (!e)
        e = charls_jpegls_decoder_read_header(dec);
    if (!e)
        e = charls_jpegls_decoder_get_frame_info(dec, &fi);
    if (!e)
        e = charls_jpegls_decoder_get_interleave_mode(dec, &ilv);
    if (e) {
        rc = jls_fail(diag, e, "reading the header");
        goto out_free;
    }
    if (fi.width != in_geom->columns || fi.height != in_geom->rows ||
        fi.component_count != (int32_t)in_geom->samples_per_pixel) {
        rc = codec_fail(diag, -EINVAL, -1,
                        "JPEG-LS: the stream holds %ux%u pixels of %d samples, the data set says "
                        "%ux%u of %u",
                        fi.width, fi.height, fi.component_count, in_geom->columns, in_geom->rows,
                        in_geom->samples_per_pixel);
        goto out_free;
    }
    /* P may differ from Bits Stored in streams from the wild; it only has to
     * fit the allocated bits. The samples are then made canonical by Bits
     * Stored, which is what the data set will say about them. */
    unsigned p = (unsigned)fi.bits_per_sample;
    if (p > in_geom->bits_allocated) {
        rc = codec_fail(diag, -EINVAL, -1,
                        "JPEG-LS: the stream holds %u-bit samples, the data set allocates %u bits",
                        p, in_geom->bits_allocated);
        goto out_free;
    }
    size_t samples = (size_t)in_geom->rows * in_geom->columns * in_geom->samples_per_pixel;
    size_t need = samples * jls_sample_bytes(p);
    uint8_t *dst = out;
    if (jls_sample_bytes(p) * 8u != in_geom->bits_allocated) {
        narrow = malloc(need);
        if (!narrow) {
            rc = codec_fail(diag, -ENOMEM, -1, "JPEG-LS: out of memory for %zu bytes", need);
            goto out_free;
        }
        dst = narrow;
    }
    e = charls_jpegls_decoder_decode_to_buffer(dec, dst, need, 0);
    if (e) {
        rc = jls_fail(diag, e, "decoding");
        goto out_free;
    }
    if (narrow) /* P <= 8 in 16 allocated bits: widen */
        for (size_t i = samples; i-- > 0;) {
            out[2 * i] = narrow[i];
            out[2 * i + 1] = 0;
        }
    *out_geom = *in_geom;
    out_geom->size = sizeof *out_geom;
    if (in_geom->samples_per_pixel > 1)
        out_geom->planar_configuration = ilv == CHARLS_INTERLEAVE_MODE_NONE ? 1 : 0;
    /* CharLS writes samples below 2^P: unsigned ones of P <= Bits Stored are
     * canonical already (the common case, spared a pass over the frame). */
    if (in_geom->pixel_representation || p > in_geom->bits_stored)
        codec_normalize_high_bits(out_geom, out, samples);
out_free:
    free(narrow);
    charls_jpegls_decoder_destroy(dec);
    return rc;
}

/* ---- the plugin ---------------------------------------------------------- */

static const struct ferry_codec jls_lossless = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg-ls-lossless",
    .transfer_syntax = "1.2.840.10008.1.2.4.80",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE,
    .configure = jls_configure_lossless,
    .release = jls_release,
    .decode = jls_decode,
    .encode = jls_encode_lossless,
};

static const struct ferry_codec jls_near_lossless = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg-ls-near-lossless",
    .transfer_syntax = "1.2.840.10008.1.2.4.81",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY,
    .configure = jls_configure_near,
    .release = jls_release,
    .decode = jls_decode,
    .encode = jls_encode_lossy,
};

static const struct ferry_codec *const jls_codecs[] = {&jls_lossless, &jls_near_lossless};

static const struct ferry_plugin jls_plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "jpegls",
    .version = "1.0.0",
    .description = "JPEG-LS lossless and near-lossless (CharLS " JLS_STR(CHARLS_VERSION_MAJOR) "." JLS_STR(
        CHARLS_VERSION_MINOR) " headers)",
    .codecs = jls_codecs,
    .n_codecs = 2,
    .steps = NULL,
    .n_steps = 0,
    .unload = codec_scratch_fini,
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host)
{
    if (host->abi_major != FERRY_PLUGIN_ABI_MAJOR) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "jpegls: built for plugin ABI %d, the host has %u",
                  FERRY_PLUGIN_ABI_MAJOR, host->abi_major);
        return NULL;
    }
    if (codec_scratch_init()) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "jpegls: no thread-specific data key left");
        return NULL;
    }
    return &jls_plugin;
}
