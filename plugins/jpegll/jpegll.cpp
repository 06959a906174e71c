/* The jpegll plugin: JPEG lossless and 12-bit extended JPEG with DCMTK
 * 3.6.7's IJG-derived 8/12/16-bit codecs (dcmjpeg), used frame by frame.
 * Debian's libjpeg-turbo 2.1 does neither; 8-bit baseline (4.50) is the
 * jpeg plugin's (libjpeg-turbo) and is not offered here.
 *
 *   jpeg-lossless      1.2.840.10008.1.2.4.57  decode, encode (predictor 1..7)
 *   jpeg-lossless-sv1  1.2.840.10008.1.2.4.70  decode, encode (predictor 1)
 *   jpeg-extended      1.2.840.10008.1.2.4.51  decode, encode (quality; lossy)
 *
 * Lossless encoding, by Bits Allocated and Pixel Representation:
 *   8 bits             8-bit codec, P = 8, the stored value
 *   16 bits, unsigned  12-bit codec (P = 12) up to 12 bits stored, else the
 *                      16-bit codec (P = 16); samples masked to Bits Stored
 *   16 bits, signed    16-bit codec, P = 16, the sign-extended 16-bit word:
 *                      JPEG differences are taken modulo 2^16 (T.81 H.1.2.1),
 *                      so -1 next to 0 costs a difference of 1, where
 *                      masking to Bits Stored would cost 2^Bits Stored - 1;
 *                      this is also what DCMTK's own encoder writes.
 * Decoding takes the low Bits Stored bits of what the codec gives, then
 * sign-extends (signed) or leaves zeros above them (unsigned), so streams of
 * either convention decode to the data set's values.
 *
 * Extended (lossy) encoding: Pixel Representation 0 only (PS3.5 8.2.1);
 * 8 bits allocated: process 2 (8-bit), monochrome or colour (RGB is coded as
 * YCbCr 4:2:2, photometric YBR_FULL_422); 16 bits allocated: process 4
 * (12-bit), monochrome, up to 12 bits stored, coded as Bits Stored 12.
 *
 * C++ behind a C entry point: no exception leaves this file. */
#include "codec_glue.hpp"
#include "frame_samples.h"
#include "jpeg_scan.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmjpeg/djcparam.h"
#include "dcmtk/dcmjpeg/djdijg12.h"
#include "dcmtk/dcmjpeg/djdijg16.h"
#include "dcmtk/dcmjpeg/djdijg8.h"
#include "dcmtk/dcmjpeg/djeijg12.h"
#include "dcmtk/dcmjpeg/djeijg16.h"
#include "dcmtk/dcmjpeg/djeijg8.h"
#include "dcmtk/dcmjpeg/djutils.h"

namespace {

enum jl_kind { JL_LOSSLESS, JL_SV1, JL_EXTENDED };

struct jl_state {
    jl_kind kind;
    int predictor;  /* lossless: selection value 1..7 */
    int quality;    /* extended: 1..100 */
    DJCodecParameter *cp;
};

DJCodecParameter *make_codec_parameter(jl_kind kind)
{
    /* Colour: the lossy encoder converts RGB to YCbCr (ECC_lossyYCbCr) and
     * subsamples 4:2:2; the lossless one never converts. Decoding converts
     * YCbCr to RGB only when the photometric interpretation says YBR (and
     * the plugin only says so for lossy streams). */
    return new DJCodecParameter(kind == JL_EXTENDED ? ECC_lossyYCbCr : ECC_lossyRGB,
                                EDC_photometricInterpretation, EUC_never, EPC_colorByPixel,
                                OFFalse, OFFalse, OFFalse, OFTrue /* optimise Huffman */, 0, 0,
                                0, OFTrue, ESS_422);
}

int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < lo || x > hi)
        return -EINVAL;
    *out = (int)x;
    return 0;
}

int configure_kind(jl_kind kind, const struct ferry_param *params, uint32_t n, void **state,
                   struct ferry_diag *diag)
{
    jl_state s = {kind, 1, 90, NULL};
    for (uint32_t i = 0; i < n; i++) {
        const char *k = params[i].key, *v = params[i].value ? params[i].value : "";
        if (kind == JL_LOSSLESS && strcmp(k, "predictor") == 0) {
            if (parse_int(v, 1, 7, &s.predictor) < 0) {
                fs_diag(diag, (int32_t)i, "predictor: '%s' is not an integer from 1 to 7", v);
                return -EINVAL;
            }
        } else if (kind == JL_EXTENDED && strcmp(k, "quality") == 0) {
            if (parse_int(v, 1, 100, &s.quality) < 0) {
                fs_diag(diag, (int32_t)i, "quality: '%s' is not an integer from 1 to 100", v);
                return -EINVAL;
            }
        } else {
            fs_diag(diag, (int32_t)i, "unknown parameter '%s' (%s)", k,
                    kind == JL_LOSSLESS   ? "this codec takes predictor"
                    : kind == JL_EXTENDED ? "this codec takes quality"
                                          : "this codec takes no parameters");
            return -EINVAL;
        }
    }
    jl_state *p = NULL;
    try {
        s.cp = make_codec_parameter(kind);
        p = new jl_state(s);
    } catch (...) {
        delete s.cp;
        fs_diag(diag, -1, "out of memory");
        return -ENOMEM;
    }
    *state = p;
    return 0;
}

extern "C" void release(void *state)
{
    jl_state *s = static_cast<jl_state *>(state);
    if (s) {
        delete s->cp;
        delete s;
    }
}

EP_Interpretation interpretation(const char *pi)
{
    if (strcmp(pi, "MONOCHROME1") == 0)
        return EPI_Monochrome1;
    if (strcmp(pi, "MONOCHROME2") == 0)
        return EPI_Monochrome2;
    if (strcmp(pi, "RGB") == 0)
        return EPI_RGB;
    if (strcmp(pi, "YBR_FULL") == 0)
        return EPI_YBR_Full;
    return EPI_Unknown; /* PALETTE COLOR: coded as is */
}

/* The frame's samples, colour-by-pixel, normalised, in 8- or 16-bit words
 * as the codec takes them; 16-bit signed samples as sign-extended words. */
void *pack(const uint8_t *in, const struct fs_layout &l, bool wide, int32_t *row)
{
    size_t count = (size_t)l.rows * l.columns * l.samples;
    void *buf = wide ? (void *)new Uint16[count] : (void *)new Uint8[count];
    for (uint32_t r = 0; r < l.rows; r++)
        for (uint32_t c = 0; c < l.samples; c++) {
            fs_read_row(in, &l, r, c, row);
            size_t at = (size_t)r * l.columns * l.samples + c;
            if (wide) {
                Uint16 *q = static_cast<Uint16 *>(buf) + at;
                for (uint32_t i = 0; i < l.columns; i++, q += l.samples)
                    *q = (Uint16)(uint32_t)row[i];
            } else {
                Uint8 *q = static_cast<Uint8 *>(buf) + at;
                for (uint32_t i = 0; i < l.columns; i++, q += l.samples)
                    *q = (Uint8)(uint32_t)row[i];
            }
        }
    return buf;
}

int encode_frame(const jl_state *st, const struct ferry_host *host, const struct ferry_frame *geom,
                 const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                 struct ferry_diag *diag)
{
    struct fs_layout l;
    bool lossy = st->kind == JL_EXTENDED;
    if (fs_layout_for_encode(geom, FS_ALLOC_8 | FS_ALLOC_16, lossy ? 12 : 16, in_len, &l, diag) < 0)
        return -EINVAL;
    const char *pi = geom->photometric;
    EP_Interpretation interp = interpretation(pi);
    const char *out_pi = pi;
    bool mono = l.samples == 1;
    if (mono ? !(interp == EPI_Monochrome1 || interp == EPI_Monochrome2 ||
                 (!lossy && strcmp(pi, "PALETTE COLOR") == 0))
             : !(interp == EPI_RGB || interp == EPI_YBR_Full)) {
        fs_diag(diag, -1, "cannot encode Photometric Interpretation '%s'%s", pi,
                mono ? (lossy ? " lossily" : "") : " (RGB or YBR_FULL)");
        return -EINVAL;
    }
    uint16_t out_bits = l.bits_stored;
    if (lossy) {
        if (l.is_signed) {
            fs_diag(diag, -1, "lossy JPEG cannot encode signed pixel data (PS3.5 8.2.1: Pixel "
                              "Representation 0 only)");
            return -EINVAL;
        }
        if (l.bytes == 2 && !mono) {
            fs_diag(diag, -1, "12-bit JPEG (process 4) is for monochrome images only");
            return -EINVAL;
        }
        if (!mono)
            out_pi = "YBR_FULL_422";
        if (l.bytes == 2)
            out_bits = 12;
    }

    /* Which of DCMTK's codecs: see the table at the top. */
    int bits = l.bytes == 1 ? 8 : (!l.is_signed && l.bits_stored <= 12) ? 12 : 16;
    if (lossy && l.bytes == 2)
        bits = 12;
    DJEncoder *enc = NULL;
    void *packed = NULL;
    int32_t *row = NULL;
    Uint8 *coded = NULL;
    Uint32 coded_len = 0;
    int rc = 0;
    try {
        EJ_Mode mode = lossy ? EJM_sequential : EJM_lossless;
        int psv = st->kind == JL_LOSSLESS ? st->predictor : 1;
        Uint8 q = (Uint8)st->quality;
        if (bits == 8)
            enc = lossy ? new DJCompressIJG8Bit(*st->cp, mode, q)
                        : new DJCompressIJG8Bit(*st->cp, mode, psv, 0);
        else if (bits == 12)
            enc = lossy ? new DJCompressIJG12Bit(*st->cp, mode, q)
                        : new DJCompressIJG12Bit(*st->cp, mode, psv, 0);
        else
            enc = new DJCompressIJG16Bit(*st->cp, mode, psv, 0);
        /* The frame as the codec takes it: the caller's bytes when the
         * samples are colour-by-pixel words of the codec's size that already
         * hold their values (every bit stored, or nothing above Bits Stored
         * of an unsigned frame: 12-bit CT), since the codec does not write
         * to its input; else a packed copy. */
        void *samples;
        bool as_is = !l.planar && (bits > 8) == (l.bytes == 2) &&
                     ((l.bits_stored == 8 * l.bytes && (bits == 8 || bits == 16)) ||
                      (bits == 12 && fs_is_canonical_unsigned(in, &l)));
        if (as_is) {
            samples = const_cast<uint8_t *>(in);
        } else {
            row = new int32_t[l.columns];
            packed = pack(in, l, bits > 8, row);
            samples = packed;
        }
        OFCondition cond =
            bits > 8 ? enc->encode((Uint16)l.columns, (Uint16)l.rows, interp, (Uint16)l.samples,
                                   static_cast<Uint16 *>(samples), coded, coded_len)
                     : enc->encode((Uint16)l.columns, (Uint16)l.rows, interp, (Uint16)l.samples,
                                   static_cast<Uint8 *>(samples), coded, coded_len);
        if (cond.bad() || !coded || coded_len == 0) {
            fs_diag(diag, -1, "JPEG encoding failed: %s", cond.bad() ? cond.text() : "no data");
            rc = -EINVAL;
        } else {
            uint8_t *bytes = static_cast<uint8_t *>(host->alloc(coded_len));
            if (!bytes) {
                fs_diag(diag, -1, "out of memory for the %u-byte JPEG stream", (unsigned)coded_len);
                rc = -ENOMEM;
            } else {
                memcpy(bytes, coded, coded_len);
                out->bytes = bytes;
                out->length = coded_len;
                out->frame = *geom;
                out->frame.size = sizeof out->frame;
                snprintf(out->frame.photometric, sizeof out->frame.photometric, "%s", out_pi);
                if (!mono)
                    out->frame.planar_configuration = 0;
                out->frame.bits_stored = out_bits;
                out->frame.high_bit = (uint16_t)(out_bits - 1);
                out->lossy = lossy ? 1 : 0;
            }
        }
    } catch (const std::bad_alloc &) {
        fs_diag(diag, -1, "out of memory in the JPEG encoder");
        rc = -ENOMEM;
    } catch (...) {
        fs_diag(diag, -1, "JPEG encoding failed: unexpected exception");
        rc = -EINVAL;
    }
    delete[] coded;
    if (bits > 8)
        delete[] static_cast<Uint16 *>(packed);
    else
        delete[] static_cast<Uint8 *>(packed);
    delete[] row;
    delete enc;
    return rc;
}

extern "C" int encode(void *state, const struct ferry_host *host, const struct ferry_frame *geom,
                      const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                      struct ferry_diag *diag)
{
    const jl_state *st = glue_state<jl_state>(state, "encode", diag);
    if (!st)
        return -EINVAL;
    return encode_frame(st, host, geom, in, in_len, out, diag);
}

bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int decode_frame(const jl_state *st, const struct ferry_frame *in_geom, const uint8_t *in,
                 size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                 struct ferry_diag *diag)
{
    struct fs_layout l;
    char why[200];
    if (fs_layout_for_decode(in_geom, FS_ALLOC_8 | FS_ALLOC_16, 16, out_len, &l, diag) < 0)
        return -EINVAL;
    if (in_len > 0xfffffffeu) {
        fs_diag(diag, -1, "JPEG frame of %zu bytes is too large", in_len);
        return -EINVAL;
    }
    struct jpeg_frame_info fi;
    if (jpeg_scan(in, in_len, &fi, why, sizeof why) < 0) {
        fs_diag(diag, -1, "%s", why);
        return -EINVAL;
    }
    if (fi.hierarchical || fi.arithmetic) {
        fs_diag(diag, -1, "JPEG %s coding (SOF%u) is not supported",
                fi.hierarchical ? "hierarchical" : "arithmetic", (unsigned)(fi.sof - 0xc0));
        return -EINVAL;
    }
    if (fi.width != l.columns || fi.height != l.rows || fi.components != l.samples) {
        fs_diag(diag, -1,
                "the JPEG frame is %ux%u with %u components but the data set says %ux%u with %u",
                (unsigned)fi.width, (unsigned)fi.height, (unsigned)fi.components,
                (unsigned)l.columns, (unsigned)l.rows, (unsigned)l.samples);
        return -EINVAL;
    }
    if (fi.precision > 8 * l.bytes) {
        fs_diag(diag, -1, "JPEG sample precision %u exceeds Bits Allocated %u",
                (unsigned)fi.precision, (unsigned)(8 * l.bytes));
        return -EINVAL;
    }
    int bits = fi.precision <= 8 ? 8 : fi.precision <= 12 ? 12 : 16;
    /* Colour conversion only for lossy YCbCr streams (the photometric says
     * which); lossless streams come out exactly as coded. */
    bool ybr = starts_with(in_geom->photometric, "YBR_") && !fi.lossless;
    size_t wide_size = (size_t)l.rows * l.columns * l.samples * (bits > 8 ? 2 : 1);
    bool direct = wide_size == out_len;
    DJDecoder *dec = NULL;
    Uint8 *tmp = NULL;
    int rc = 0;
    try {
        if (bits == 8)
            dec = new DJDecompressIJG8Bit(*st->cp, ybr);
        else if (bits == 12)
            dec = new DJDecompressIJG12Bit(*st->cp, ybr);
        else
            dec = new DJDecompressIJG16Bit(*st->cp, ybr);
        Uint8 *target = out;
        if (!direct)
            target = tmp = new Uint8[wide_size];
        OFCondition cond = dec->init();
        if (cond.good())
            cond = dec->decode(const_cast<Uint8 *>(in), (Uint32)in_len, target, (Uint32)wide_size,
                               l.is_signed ? OFTrue : OFFalse);
        if (cond == EJ_Suspension) {
            fs_diag(diag, -1, "the JPEG data ends before the image is complete");
            rc = -EINVAL;
        } else if (cond.bad()) {
            fs_diag(diag, -1, "JPEG decoding failed: %s", cond.text());
            rc = -EINVAL;
        } else {
            if (!direct) /* 8-bit samples into a 16-bit frame */
                for (size_t i = 0; i < wide_size; i++) {
                    out[2 * i] = tmp[i];
                    out[2 * i + 1] = 0;
                }
            /* Unsigned samples of at most Bits Stored bits need no masking;
             * everything else is normalised (sign, bits above). */
            if (l.is_signed || fi.precision > l.bits_stored)
                fs_normalise(out, &l);
            if (out_geom && l.samples > 1) {
                out_geom->planar_configuration = 0;
                if (ybr)
                    snprintf(out_geom->photometric, sizeof out_geom->photometric, "RGB");
                else if (starts_with(in_geom->photometric, "YBR_FULL_422") ||
                         starts_with(in_geom->photometric, "YBR_PARTIAL_42"))
                    snprintf(out_geom->photometric, sizeof out_geom->photometric, "YBR_FULL");
            }
        }
    } catch (const std::bad_alloc &) {
        fs_diag(diag, -1, "out of memory in the JPEG decoder");
        rc = -ENOMEM;
    } catch (...) {
        fs_diag(diag, -1, "JPEG decoding failed: unexpected exception");
        rc = -EINVAL;
    }
    delete[] tmp;
    delete dec;
    return rc;
}

extern "C" int decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                      struct ferry_diag *diag)
{
    const jl_state *st = glue_state<jl_state>(state, "decode", diag);
    if (!st)
        return -EINVAL;
    return decode_frame(st, in_geom, in, in_len, out, out_len, out_geom, diag);
}

const struct ferry_codec codec_lossless = {
    sizeof(struct ferry_codec), "jpeg-lossless", "1.2.840.10008.1.2.4.57",
    FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE, glue_configure<jl_kind, JL_LOSSLESS, configure_kind>,
    release, decode, encode,
};

const struct ferry_codec codec_sv1 = {
    sizeof(struct ferry_codec), "jpeg-lossless-sv1", "1.2.840.10008.1.2.4.70",
    FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE, glue_configure<jl_kind, JL_SV1, configure_kind>,
    release, decode, encode,
};

const struct ferry_codec codec_extended = {
    sizeof(struct ferry_codec), "jpeg-extended", "1.2.840.10008.1.2.4.51",
    FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY,
    glue_configure<jl_kind, JL_EXTENDED, configure_kind>, release, decode, encode,
};

const struct ferry_codec *const codecs[] = {&codec_lossless, &codec_sv1, &codec_extended};

const struct ferry_plugin plugin = glue_plugin(
    "jpegll", "0.1.0",
    "JPEG lossless (4.57, 4.70) and 12-bit extended (4.51) with DCMTK's IJG codecs", codecs,
    sizeof codecs / sizeof codecs[0], NULL);

} // namespace

extern "C" FERRY_PLUGIN_EXPORT const struct ferry_plugin *
ferry_plugin_init(const struct ferry_host *host)
{
    if (!glue_host_ok(host))
        return NULL;
    try {
        /* dcmjpeg would print IJG warnings ("premature end of data") on
         * stderr; a plugin reports through diag, never by printing. */
        DCM_dcmjpegLogger.setLogLevel(OFLogger::OFF_LOG_LEVEL);
    } catch (...) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "jpegll: cannot set up DCMTK's logger");
        return NULL;
    }
    return &plugin;
}
