/* Encode one native frame as a JPEG 2000 codestream (J2K, not JP2) with
 * OpenJPEG, into memory. */
#include "frame_samples.h"
#include "j2k-private.h"
#include "j2k_markers.h"

#include <errno.h>
#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing output stream. */
struct mem_out {
    uint8_t *data;
    size_t len;   /* bytes written so far (the end of the codestream) */
    size_t cap;
    size_t pos;
    bool failed;  /* an allocation failed */
};

static bool mem_reserve(struct mem_out *m, size_t need)
{
    if (need <= m->cap)
        return true;
    size_t cap = m->cap ? m->cap : 64 * 1024;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    uint8_t *p = realloc(m->data, cap);
    if (!p)
        return false;
    m->data = p;
    m->cap = cap;
    return true;
}

static OPJ_SIZE_T mem_write(void *buf, OPJ_SIZE_T n, void *ud)
{
    struct mem_out *m = ud;
    if (n > SIZE_MAX - m->pos || !mem_reserve(m, m->pos + n)) {
        m->failed = true;
        return (OPJ_SIZE_T)-1;
    }
    if (m->pos > m->len) /* a skip went past the end: zero the gap */
        memset(m->data + m->len, 0, m->pos - m->len);
    memcpy(m->data + m->pos, buf, n);
    m->pos += n;
    if (m->pos > m->len)
        m->len = m->pos;
    return n;
}

static OPJ_OFF_T mem_skip(OPJ_OFF_T n, void *ud)
{
    struct mem_out *m = ud;
    if (n < 0 && (size_t)-n > m->pos)
        return -1;
    m->pos = (size_t)((OPJ_OFF_T)m->pos + n);
    return n;
}

static OPJ_BOOL mem_seek(OPJ_OFF_T pos, void *ud)
{
    struct mem_out *m = ud;
    if (pos < 0)
        return OPJ_FALSE;
    m->pos = (size_t)pos;
    return OPJ_TRUE;
}

/* Resolution levels: OpenJPEG's default of 6 (5 decompositions), fewer for
 * frames too small to halve that often. */
static int resolutions(uint32_t w, uint32_t h)
{
    uint32_t m = w < h ? w : h;
    int n = 1;
    while (n < 6 && (m >> n) > 0)
        n++;
    return n;
}

int j2k_encode(const struct j2k_state *st, const struct ferry_host *host,
               const struct ferry_frame *geom, const uint8_t *in, size_t in_len,
               struct ferry_encoded *out, struct ferry_diag *diag)
{
    struct fs_layout l;
    struct j2k_msgbuf err = {{0}};
    struct mem_out m = {0};
    opj_image_t *image = NULL;
    opj_codec_t *codec = NULL;
    opj_stream_t *stream = NULL;
    int rc = -EINVAL;
    char why[200];

    if (fs_layout_for_encode(geom, FS_ALLOC_8 | FS_ALLOC_16, 16, in_len, &l, diag) < 0)
        return -EINVAL;
    const char *out_pi;
    bool mct; /* PS3.5 A.4.4: the colour transform, named by the photometric */
    if (jm_encode_photometric(l.samples, geom->photometric, st->lossy, &mct, &out_pi, why,
                              sizeof why) < 0) {
        fs_diag(diag, -1, "%s", why);
        return -EINVAL;
    }

    opj_image_cmptparm_t cp[3];
    memset(cp, 0, sizeof cp);
    for (uint32_t c = 0; c < l.samples; c++) {
        cp[c].dx = cp[c].dy = 1;
        cp[c].w = l.columns;
        cp[c].h = l.rows;
        cp[c].prec = l.bits_stored;
        cp[c].sgnd = l.is_signed;
    }
    image = opj_image_create(l.samples, cp, l.samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!image) {
        fs_diag(diag, -1, "out of memory for the JPEG 2000 image");
        return -ENOMEM;
    }
    image->x0 = image->y0 = 0;
    image->x1 = l.columns;
    image->y1 = l.rows;
    for (uint32_t c = 0; c < l.samples; c++)
        for (uint32_t r = 0; r < l.rows; r++)
            fs_read_row(in, &l, r, c, image->comps[c].data + (size_t)r * l.columns);

    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.cod_format = 0; /* J2K codestream */
    p.numresolution = resolutions(l.columns, l.rows);
    p.tcp_mct = mct ? 1 : 0;
    if (!st->lossy) {
        p.irreversible = 0;
        p.tcp_numlayers = 1;
        p.tcp_rates[0] = 0; /* lossless */
        p.cp_disto_alloc = 1;
    } else {
        p.irreversible = 1;
        p.tcp_numlayers = (int)st->n_layers;
        for (uint32_t i = 0; i < st->n_layers; i++) {
            if (st->by_psnr)
                p.tcp_distoratio[i] = st->layers[i];
            else
                p.tcp_rates[i] = st->layers[i];
        }
        if (st->by_psnr)
            p.cp_fixed_quality = 1;
        else
            p.cp_disto_alloc = 1;
    }

    codec = opj_create_compress(OPJ_CODEC_J2K);
    if (!codec) {
        rc = -ENOMEM;
        fs_diag(diag, -1, "OpenJPEG could not create an encoder");
        goto out;
    }
    opj_set_error_handler(codec, j2k_on_error, &err);
    opj_set_warning_handler(codec, j2k_on_quiet, NULL);
    opj_set_info_handler(codec, j2k_on_quiet, NULL);
    if (!opj_setup_encoder(codec, &p, image)) {
        fs_diag(diag, -1, "OpenJPEG encoder setup failed: %s", err.text);
        goto out;
    }
    if (st->threads > 1 && opj_has_thread_support())
        opj_codec_set_threads(codec, (int)st->threads);

    stream = opj_stream_create(64 * 1024, OPJ_FALSE);
    if (!stream) {
        rc = -ENOMEM;
        fs_diag(diag, -1, "OpenJPEG could not create a stream");
        goto out;
    }
    opj_stream_set_user_data(stream, &m, NULL);
    opj_stream_set_write_function(stream, mem_write);
    opj_stream_set_skip_function(stream, mem_skip);
    opj_stream_set_seek_function(stream, mem_seek);
    if (!opj_start_compress(codec, image, stream) || !opj_encode(codec, stream) ||
        !opj_end_compress(codec, stream)) {
        if (m.failed) {
            rc = -ENOMEM;
            fs_diag(diag, -1, "out of memory for the JPEG 2000 codestream");
        } else {
            fs_diag(diag, -1, "JPEG 2000 encoding failed: %s",
                    err.text[0] ? err.text : "no reason given");
        }
        goto out;
    }
    /* The stream object holds written bytes until it is destroyed. */
    opj_stream_destroy(stream);
    stream = NULL;
    if (m.failed || m.len < 4) {
        rc = m.failed ? -ENOMEM : -EIO;
        fs_diag(diag, -1, "JPEG 2000 encoding produced no codestream");
        goto out;
    }

    uint8_t *bytes = host->alloc(m.len);
    if (!bytes) {
        rc = -ENOMEM;
        fs_diag(diag, -1, "out of memory for the %zu-byte codestream", m.len);
        goto out;
    }
    memcpy(bytes, m.data, m.len);
    out->bytes = bytes;
    out->length = m.len;
    out->frame = *geom;
    out->frame.size = sizeof out->frame;
    snprintf(out->frame.photometric, sizeof out->frame.photometric, "%s", out_pi);
    if (l.samples > 1)
        out->frame.planar_configuration = 0;
    out->lossy = st->lossy ? 1 : 0;
    rc = 0;

out:
    if (stream)
        opj_stream_destroy(stream);
    if (codec)
        opj_destroy_codec(codec);
    if (image)
        opj_image_destroy(image);
    free(m.data);
    return rc;
}
