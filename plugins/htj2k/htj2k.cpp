/* The htj2k plugin: High-Throughput JPEG 2000 (ISO/IEC 15444-15) encoding
 * with OpenJPH 0.9.
 *
 *   htj2k-lossless        1.2.840.10008.1.2.4.201   encode (5/3, RCT)
 *   htj2k-lossless-rpcl   1.2.840.10008.1.2.4.202   encode (5/3, RCT, RPCL, TLM)
 *   htj2k                 1.2.840.10008.1.2.4.203   encode (9/7, ICT; lossy)
 *
 * Decoding of all three is the j2k plugin's (OpenJPEG 2.5 decodes HT
 * code-blocks). OpenJPH 0.9 decodes about 3x faster, but returns wrong
 * pixels without an error for codestreams with more decompositions than the
 * image is large, and assert()s (aborting the process) on some corrupt
 * headers and code-blocks: not for data from the network. See
 * perf/codecs-j2k/README.md.
 *
 * 4.202 (PS3.5 10.18): progression order RPCL; enough decompositions that
 * the lowest resolution is at most 64 columns or rows wide; TLM marker
 * segments present. OpenJPH 0.9 cannot write TLM, so the plugin parses the
 * codestream it produced and inserts them (j2k_markers.c).
 *
 * Parameters:
 *   htj2k:  qstep   quantisation step of the 9/7 wavelet, relative to the
 *                   range of Bits Stored (OpenJPH's -qstep), 0.00001 to 0.5,
 *                   or "auto" (the default): 1/256 (OpenJPH's own default
 *                   for 8-bit images), but no more than 16 grey levels, so
 *                   that 16-bit CT whose values span 12 bits is not coded
 *                   16 times coarser than 12-bit CT. On 12-bit CT-like
 *                   frames auto gives about 12:1 at 54 dB PSNR, close to
 *                   jpeg2000's default 10:1.
 * The lossless codecs take no parameters.
 *
 * This is C++ behind a C entry point: no exception leaves this file. */
#include "codec_glue.hpp"
#include "frame_samples.h"
#include "j2k_markers.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

namespace {

enum ht_kind { HT_LOSSLESS, HT_LOSSLESS_RPCL, HT_LOSSY };

struct ht_state {
    ht_kind kind;
    double qstep; /* 0: auto */
};

/* The "auto" step for samples of `bits` bits: see the top. */
double auto_qstep(uint32_t bits)
{
    double q = 1.0 / 256.0, cap = 16.0 / (double)(1u << bits);
    return q < cap ? q : cap;
}

/* OpenJPH reports errors by printing to a FILE and then throwing; 0.9's
 * configure_error() is a no-op, so the message is captured through a FILE
 * whose writes land in a per-thread buffer (unbuffered, so each write
 * happens on the thread that raised the error). */
thread_local char tl_error[400];
thread_local size_t tl_error_len;

ssize_t capture_write(void *, const char *buf, size_t size)
{
    size_t room = sizeof tl_error - 1 - tl_error_len;
    size_t k = size < room ? size : room;
    memcpy(tl_error + tl_error_len, buf, k);
    tl_error_len += k;
    tl_error[tl_error_len] = '\0';
    return (ssize_t)size;
}

ssize_t discard_write(void *, const char *, size_t size)
{
    return (ssize_t)size;
}

FILE *error_stream;
FILE *quiet_stream;

/* "ojph error 0x000300A1 at ojph_params.cpp:123: the message" -> "the message" */
const char *ojph_message()
{
    const char *at = strstr(tl_error, " at ");
    const char *m = at ? strstr(at, ": ") : NULL;
    const char *s = m ? m + 2 : tl_error;
    static thread_local char clean[400];
    snprintf(clean, sizeof clean, "%s", s);
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    return clean[0] ? clean : "no reason given";
}

/* Decompositions: 5 (OpenJPH's default) or fewer for frames too small to
 * halve that often, keeping the lowest resolution at least 2 samples wide
 * and high (with a 1x1 one, as 16x16 with 4 levels or 32x32 with 5 give,
 * OpenJPH 0.9's 9/7 path codes wrong coefficients: errors of half the range
 * that every decoder reproduces); for RPCL at least enough for a lowest
 * resolution of at most 64 columns or rows (PS3.5 10.18). */
uint32_t decompositions(uint32_t w, uint32_t h, bool rpcl)
{
    uint32_t m = w < h ? w : h;
    uint32_t d = 0;
    while (d < 5 && ((m + (1u << (d + 1)) - 1) >> (d + 1)) >= 2)
        d++;
    if (rpcl)
        while (d < 32 && ((m + (1u << d) - 1) >> d) > 64)
            d++;
    return d;
}

int parse_qstep(const char *v, double *out)
{
    if (strcmp(v, "auto") == 0) {
        *out = 0;
        return 0;
    }
    char *end;
    double q = strtod(v, &end);
    if (end == v || *end != '\0' || !std::isfinite(q) || q < 0.00001 || q > 0.5)
        return -EINVAL;
    *out = q;
    return 0;
}

int configure_kind(ht_kind kind, const struct ferry_param *params, uint32_t n, void **state,
                   struct ferry_diag *diag)
{
    ht_state s{kind, 0};
    for (uint32_t i = 0; i < n; i++) {
        const char *k = params[i].key, *v = params[i].value ? params[i].value : "";
        if (kind == HT_LOSSY && strcmp(k, "qstep") == 0) {
            if (parse_qstep(v, &s.qstep) < 0) {
                fs_diag(diag, (int32_t)i,
                        "qstep: '%s' is not auto or a number from 0.00001 to 0.5", v);
                return -EINVAL;
            }
        } else {
            fs_diag(diag, (int32_t)i, "unknown parameter '%s' (%s)", k,
                    kind == HT_LOSSY ? "this codec takes qstep"
                                     : "this codec is lossless and takes no parameters");
            return -EINVAL;
        }
    }
    ht_state *p = static_cast<ht_state *>(malloc(sizeof *p));
    if (!p) {
        fs_diag(diag, -1, "out of memory");
        return -ENOMEM;
    }
    *p = s;
    *state = p;
    return 0;
}

extern "C" void release(void *state)
{
    free(state);
}

/* Run OpenJPH, leaving the codestream in `file` (valid until it is closed).
 * Throws what OpenJPH throws. */
void run_encoder(const ht_state *st, const struct fs_layout &l, bool ct, const uint8_t *in,
                 ojph::mem_outfile &file)
{
    ojph::codestream cs;
    ojph::param_siz siz = cs.access_siz();
    siz.set_image_extent(ojph::point(l.columns, l.rows));
    siz.set_image_offset(ojph::point(0, 0));
    siz.set_tile_size(ojph::size(l.columns, l.rows));
    siz.set_tile_offset(ojph::point(0, 0));
    siz.set_num_components(l.samples);
    for (uint32_t c = 0; c < l.samples; c++)
        siz.set_component(c, ojph::point(1, 1), l.bits_stored, l.is_signed);
    ojph::param_cod cod = cs.access_cod();
    bool lossy = st->kind == HT_LOSSY;
    cod.set_num_decomposition(decompositions(l.columns, l.rows, st->kind == HT_LOSSLESS_RPCL));
    cod.set_block_dims(64, 64);
    cod.set_progression_order("RPCL");
    cod.set_color_transform(ct);
    cod.set_reversible(!lossy);
    if (lossy)
        cs.access_qcd().set_irrev_quant(
            (float)(st->qstep > 0 ? st->qstep : auto_qstep(l.bits_stored)));
    cs.set_planar(false);
    file.open();
    cs.write_headers(&file);
    ojph::ui32 next = 0;
    ojph::line_buf *line = cs.exchange(NULL, next);
    for (uint32_t r = 0; r < l.rows; r++)
        for (uint32_t c = 0; c < l.samples; c++) {
            fs_read_row(in, &l, r, next, line->i32);
            line = cs.exchange(line, next);
        }
    cs.flush();
}

extern "C" int encode(void *state, const struct ferry_host *host, const struct ferry_frame *geom,
                      const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                      struct ferry_diag *diag)
{
    const ht_state *st = glue_state<ht_state>(state, "encode", diag);
    if (!st)
        return -EINVAL;
    struct fs_layout l;
    char why[200];
    if (fs_layout_for_encode(geom, FS_ALLOC_8 | FS_ALLOC_16, 16, in_len, &l, diag) < 0)
        return -EINVAL;
    /* Photometric rules shared with the j2k plugin. */
    bool lossy = st->kind == HT_LOSSY, ct;
    const char *out_pi;
    if (jm_encode_photometric(l.samples, geom->photometric, lossy, &ct, &out_pi, why,
                              sizeof why) < 0) {
        fs_diag(diag, -1, "%s", why);
        return -EINVAL;
    }

    int rc = 0;
    tl_error_len = 0;
    tl_error[0] = '\0';
    try {
        ojph::mem_outfile file;
        run_encoder(st, l, ct, in, file);
        const uint8_t *data = file.get_data();
        size_t len = (size_t)file.tell();
        struct jm_codestream cs;
        bool tlm = st->kind == HT_LOSSLESS_RPCL;
        size_t extra = 0;
        if (tlm) {
            /* Re-read what OpenJPH wrote: where the tile-parts are, and
             * that it is what 4.202 asks for. */
            if (jm_parse(data, len, &cs, why, sizeof why) < 0) {
                fs_diag(diag, -1, "OpenJPH wrote a codestream ferry cannot parse: %s", why);
                file.close();
                return -EIO;
            }
            if (cs.progression != JM_RPCL || cs.tlm_segments != 0) {
                fs_diag(diag, -1, "OpenJPH did not write an RPCL codestream without TLM");
                jm_free(&cs);
                file.close();
                return -EIO;
            }
            extra = jm_tlm_size(&cs);
        }
        uint8_t *bytes = static_cast<uint8_t *>(host->alloc(len + extra));
        if (!bytes) {
            if (tlm)
                jm_free(&cs);
            file.close();
            fs_diag(diag, -1, "out of memory for the %zu-byte codestream", len + extra);
            return -ENOMEM;
        }
        if (tlm) {
            jm_write_with_tlm(data, len, &cs, bytes);
            jm_free(&cs);
        } else {
            memcpy(bytes, data, len);
        }
        file.close();
        out->bytes = bytes;
        out->length = len + extra;
        out->frame = *geom;
        out->frame.size = sizeof out->frame;
        snprintf(out->frame.photometric, sizeof out->frame.photometric, "%s", out_pi);
        if (l.samples > 1)
            out->frame.planar_configuration = 0;
        out->lossy = lossy ? 1 : 0;
    } catch (const std::bad_alloc &) {
        fs_diag(diag, -1, "out of memory in OpenJPH");
        rc = -ENOMEM;
    } catch (const std::exception &) {
        fs_diag(diag, -1, "HTJ2K encoding failed: %s", ojph_message());
        rc = -EINVAL;
    } catch (...) {
        fs_diag(diag, -1, "HTJ2K encoding failed: unknown exception");
        rc = -EINVAL;
    }
    return rc;
}

const struct ferry_codec codec_lossless = {
    sizeof(struct ferry_codec), "htj2k-lossless", "1.2.840.10008.1.2.4.201",
    FERRY_CODEC_ENCODE, glue_configure<ht_kind, HT_LOSSLESS, configure_kind>, release, NULL, encode,
};

const struct ferry_codec codec_rpcl = {
    sizeof(struct ferry_codec), "htj2k-lossless-rpcl", "1.2.840.10008.1.2.4.202",
    FERRY_CODEC_ENCODE, glue_configure<ht_kind, HT_LOSSLESS_RPCL, configure_kind>, release, NULL,
    encode,
};

const struct ferry_codec codec_lossy = {
    sizeof(struct ferry_codec), "htj2k", "1.2.840.10008.1.2.4.203",
    FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY, glue_configure<ht_kind, HT_LOSSY, configure_kind>,
    release, NULL, encode,
};

const struct ferry_codec *const codecs[] = {&codec_lossless, &codec_rpcl, &codec_lossy};

extern "C" void unload(void)
{
    ojph::set_error_stream(stderr);
    ojph::set_warning_stream(stdout);
    ojph::set_info_stream(stdout);
    if (error_stream)
        fclose(error_stream);
    if (quiet_stream)
        fclose(quiet_stream);
    error_stream = quiet_stream = NULL;
}

const struct ferry_plugin plugin = glue_plugin(
    "htj2k", "0.1.0", "HTJ2K lossless, lossless RPCL (with TLM) and lossy encoding (OpenJPH)", codecs,
    sizeof codecs / sizeof codecs[0], unload);

} // namespace

extern "C" FERRY_PLUGIN_EXPORT const struct ferry_plugin *
ferry_plugin_init(const struct ferry_host *host)
{
    if (!glue_host_ok(host))
        return NULL;
    if (!error_stream) {
        cookie_io_functions_t cap = {NULL, capture_write, NULL, NULL};
        cookie_io_functions_t quiet = {NULL, discard_write, NULL, NULL};
        error_stream = fopencookie(NULL, "w", cap);
        quiet_stream = fopencookie(NULL, "w", quiet);
        if (!error_stream || !quiet_stream) {
            host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "htj2k: cannot set up OpenJPH's message streams");
            unload();
            return NULL;
        }
        setvbuf(error_stream, NULL, _IONBF, 0);
        setvbuf(quiet_stream, NULL, _IONBF, 0);
        ojph::set_error_stream(error_stream);
        ojph::set_warning_stream(quiet_stream);
        ojph::set_info_stream(quiet_stream);
    }
    return &plugin;
}
