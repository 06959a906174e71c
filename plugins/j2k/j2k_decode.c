/* Decode one JPEG 2000 / HTJ2K frame with OpenJPEG, from memory. */
#include "frame_samples.h"
#include "j2k-private.h"
#include "j2k_markers.h"

#include <errno.h>
#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void j2k_on_error(const char *msg, void *client_data)
{
    struct j2k_msgbuf *b = client_data;
    if (b->text[0])
        return; /* the first error is the cause; later ones are consequences */
    snprintf(b->text, sizeof b->text, "%s", msg);
    size_t n = strlen(b->text);
    while (n > 0 && (b->text[n - 1] == '\n' || b->text[n - 1] == '\r' || b->text[n - 1] == ' '))
        b->text[--n] = '\0';
}

void j2k_on_quiet(const char *msg, void *client_data)
{
    (void)msg;
    (void)client_data;
}

/* A read-only stream over the caller's bytes. */
struct mem_in {
    const uint8_t *data;
    size_t len;
    size_t pos;
};

static OPJ_SIZE_T mem_read(void *buf, OPJ_SIZE_T n, void *ud)
{
    struct mem_in *m = ud;
    if (m->pos >= m->len)
        return (OPJ_SIZE_T)-1;
    size_t k = m->len - m->pos;
    if (k > n)
        k = n;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return k;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *ud)
{
    struct mem_in *m = ud;
    if (n < 0) {
        if ((size_t)-n > m->pos)
            n = -(OPJ_OFF_T)m->pos;
    } else if ((size_t)n > m->len - m->pos) {
        n = (OPJ_OFF_T)(m->len - m->pos);
    }
    m->pos = (size_t)((OPJ_OFF_T)m->pos + n);
    return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T pos, void *ud)
{
    struct mem_in *m = ud;
    if (pos < 0 || (size_t)pos > m->len)
        return OPJ_FALSE;
    m->pos = (size_t)pos;
    return OPJ_TRUE;
}

static const uint8_t jp2_signature[12] = {0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50,
                                          0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a};

/* "YBR_RCT" and "YBR_ICT" name the JPEG 2000 colour transforms, which the
 * decoder undoes: what comes out is RGB. */
static bool is_j2k_ybr(const char *pi)
{
    return strcmp(pi, "YBR_RCT") == 0 || strcmp(pi, "YBR_ICT") == 0;
}

int j2k_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in, size_t in_len,
               uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
               struct ferry_diag *diag)
{
    const struct j2k_state *st = state;
    struct fs_layout l;
    struct j2k_msgbuf err = {{0}};
    opj_codec_t *codec = NULL;
    opj_stream_t *stream = NULL;
    opj_image_t *image = NULL;
    int rc = -EINVAL;
    char why[200];

    if (fs_layout_for_decode(in_geom, FS_ALLOC_8 | FS_ALLOC_16 | FS_ALLOC_32, 31, out_len, &l,
                             diag) < 0)
        return -EINVAL;
    OPJ_CODEC_FORMAT fmt;
    const uint8_t *cs = in;
    size_t cs_len = in_len;
    if (in_len >= 4 && in[0] == 0xff && in[1] == 0x4f && in[2] == 0xff && in[3] == 0x51) {
        fmt = OPJ_CODEC_J2K;
    } else if (in_len >= sizeof jp2_signature &&
               memcmp(in, jp2_signature, sizeof jp2_signature) == 0) {
        fmt = OPJ_CODEC_JP2; /* not what DICOM asks for, but seen in the wild */
        if (jm_jp2_codestream(in, in_len, &cs, &cs_len, why, sizeof why) < 0) {
            fs_diag(diag, -1, "%s", why);
            return -EINVAL;
        }
    } else {
        fs_diag(diag, -1, "not a JPEG 2000 codestream (it does not start with SOC and SIZ markers)");
        return -EINVAL;
    }
    /* Our own pass over the markers first: the geometry is checked before
     * OpenJPEG allocates anything, and tile-part data holding marker codes
     * (which valid coded data never does) is refused, because OpenJPEG
     * 2.5.0's HT block decoder assert()s, aborting the process, on some. */
    struct jm_codestream info;
    if (jm_parse(cs, cs_len, &info, why, sizeof why) < 0) {
        fs_diag(diag, -1, "invalid JPEG 2000 codestream: %s", why);
        return -EINVAL;
    }
    size_t at = 0;
    int bad = jm_check_data(cs, cs_len, &info, &at);
    uint32_t cw = info.width, ch = info.height, nc = info.components;
    jm_free(&info);
    if (bad < 0) {
        fs_diag(diag, -1,
                "corrupt JPEG 2000 codestream: byte %zu holds the marker code 0xFF%02X inside "
                "tile-part data",
                at, (unsigned)cs[at + 1]);
        return -EINVAL;
    }
    if (nc != l.samples) {
        fs_diag(diag, -1, "the codestream has %u components but Samples per Pixel is %u",
                (unsigned)nc, (unsigned)l.samples);
        return -EINVAL;
    }
    if (cw != l.columns || ch != l.rows) {
        fs_diag(diag, -1, "the codestream is %ux%u but the data set says %ux%u (columns x rows)",
                (unsigned)cw, (unsigned)ch, (unsigned)l.columns, (unsigned)l.rows);
        return -EINVAL;
    }

    codec = opj_create_decompress(fmt);
    if (!codec) {
        fs_diag(diag, -1, "OpenJPEG could not create a decoder");
        return -ENOMEM;
    }
    opj_set_error_handler(codec, j2k_on_error, &err);
    opj_set_warning_handler(codec, j2k_on_quiet, NULL);
    opj_set_info_handler(codec, j2k_on_quiet, NULL);
    opj_dparameters_t dp;
    opj_set_default_decoder_parameters(&dp);
    if (!opj_setup_decoder(codec, &dp)) {
        fs_diag(diag, -1, "OpenJPEG decoder setup failed: %s", err.text);
        goto out;
    }
    uint32_t threads = st ? st->threads : J2K_DEFAULT_THREADS;
    if (threads > 1 && opj_has_thread_support())
        opj_codec_set_threads(codec, (int)threads);

    struct mem_in m = {.data = in, .len = in_len, .pos = 0};
    stream = opj_stream_create(64 * 1024, OPJ_TRUE);
    if (!stream) {
        rc = -ENOMEM;
        fs_diag(diag, -1, "OpenJPEG could not create a stream");
        goto out;
    }
    opj_stream_set_user_data(stream, &m, NULL);
    opj_stream_set_user_data_length(stream, in_len);
    opj_stream_set_read_function(stream, mem_read);
    opj_stream_set_skip_function(stream, mem_skip);
    opj_stream_set_seek_function(stream, mem_seek);

    if (!opj_read_header(stream, codec, &image) || !image) {
        fs_diag(diag, -1, "invalid JPEG 2000 main header: %s",
                err.text[0] ? err.text : "unreadable");
        goto out;
    }
    /* Check what the header promises against the data set's geometry before
     * OpenJPEG allocates anything for the tiles. */
    if (image->numcomps != l.samples) {
        fs_diag(diag, -1, "the codestream has %u components but Samples per Pixel is %u",
                (unsigned)image->numcomps, (unsigned)l.samples);
        goto out;
    }
    if (image->x1 - image->x0 != l.columns || image->y1 - image->y0 != l.rows) {
        fs_diag(diag, -1, "the codestream is %ux%u but the data set says %ux%u (columns x rows)",
                (unsigned)(image->x1 - image->x0), (unsigned)(image->y1 - image->y0),
                (unsigned)l.columns, (unsigned)l.rows);
        goto out;
    }
    for (uint32_t c = 0; c < image->numcomps; c++) {
        const opj_image_comp_t *ic = &image->comps[c];
        if (ic->dx != 1 || ic->dy != 1) {
            fs_diag(diag, -1, "component %u is subsampled (%ux%u), which DICOM does not allow",
                    (unsigned)c, (unsigned)ic->dx, (unsigned)ic->dy);
            goto out;
        }
        if (ic->prec < 1 || ic->prec > 8 * l.bytes || ic->prec > 31) {
            fs_diag(diag, -1, "component %u has %u-bit samples, more than Bits Allocated %u",
                    (unsigned)c, (unsigned)ic->prec, (unsigned)(8 * l.bytes));
            goto out;
        }
    }

    if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) {
        fs_diag(diag, -1, "JPEG 2000 decoding failed: %s",
                err.text[0] ? err.text : "corrupt or truncated codestream");
        goto out;
    }
    for (uint32_t c = 0; c < image->numcomps; c++) {
        const opj_image_comp_t *ic = &image->comps[c];
        if (!ic->data || ic->w != l.columns || ic->h != l.rows) {
            fs_diag(diag, -1, "JPEG 2000 decoding gave component %u of %ux%u, not %ux%u",
                    (unsigned)c, (unsigned)ic->w, (unsigned)ic->h, (unsigned)l.columns,
                    (unsigned)l.rows);
            goto out;
        }
    }

    /* OpenJPEG clamps decoded samples to each component's own range; writing
     * keeps the low bits_stored bits and extends the sign of Pixel
     * Representation, so a codestream whose signedness disagrees with the
     * data set (seen in the wild) still yields the data set's values. */
    for (uint32_t c = 0; c < l.samples; c++)
        for (uint32_t r = 0; r < l.rows; r++)
            fs_write_row(out, &l, r, c, image->comps[c].data + (size_t)r * l.columns);

    if (out_geom) {
        if (l.samples == 3) {
            if (is_j2k_ybr(in_geom->photometric))
                snprintf(out_geom->photometric, sizeof out_geom->photometric, "RGB");
            out_geom->planar_configuration = 0;
        }
    }
    rc = 0;

out:
    if (image)
        opj_image_destroy(image);
    if (stream)
        opj_stream_destroy(stream);
    if (codec)
        opj_destroy_codec(codec);
    return rc;
}
