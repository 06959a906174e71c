/* The jpeg plugin: 8-bit DCT JPEG (ISO/IEC 10918-1) with libjpeg-turbo.
 *
 *   jpeg-baseline       1.2.840.10008.1.2.4.50  decode and encode
 *                       quality: 1..100 (default 90)
 *                       subsampling: 444, 422 or 420 (default 422, colour only)
 *   jpeg-extended-8bit  1.2.840.10008.1.2.4.51  decode only, 8-bit streams; a
 *                       12-bit stream (process 4) is -ENOTSUP, for a 12-bit
 *                       capable decoder to take over
 *
 * Colour (PS3.5 8.2.1 and CP 1653): an RGB frame is coded as YCbCr, and the
 * data set then says YBR_FULL_422 when the chrominance is subsampled
 * (4:2:2 or 4:2:0) and YBR_FULL when it is not. A YBR_FULL frame is coded
 * without conversion. Decoding converts YBR to RGB (out_geom says so); a
 * stream whose data set says RGB is taken as RGB unless the stream itself
 * says YCbCr (a JFIF or Adobe marker): a compressor that forgot to update
 * the attribute.
 *
 * libjpeg reports errors through error_exit, which here longjmps back; a
 * warning that means lost data (a bad Huffman code, a premature end) is an
 * error too: a corrupt stream fails the job, it never yields a grey block.
 * Each function that calls setjmp keeps everything libjpeg changes in a job
 * struct owned by its caller, so nothing is indeterminate after longjmp. */
#include "codecutil.h"

/* jpeglib.h needs size_t and FILE first. */
#include <stdio.h>

#include <errno.h>
#include <jpeglib.h>
/* after jpeglib.h: its list of messages depends on jconfig.h */
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define JPG_DEFAULT_QUALITY 90
#define JPG_DEFAULT_SUBSAMPLING 422

struct jpg_state {
    int quality;     /* 1..100 */
    int subsampling; /* 444, 422, 420 */
};

struct jpg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void jpg_error_exit(j_common_ptr c)
{
    struct jpg_err *e = (struct jpg_err *)c->err;
    longjmp(e->jump, 1);
}

/* Warnings that mean the decoded pixels are not what was coded. */
static bool jpg_warning_loses_data(int code)
{
    switch (code) {
#if JPEG_LIB_VERSION >= 70 || defined(C_ARITH_CODING_SUPPORTED) || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_JPEG_EOF:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_TOO_MUCH_DATA:
        return true;
    default:
        return false;
    }
}

static void jpg_emit_message(j_common_ptr c, int level)
{
    if (level >= 0) /* trace messages */
        return;
    if (jpg_warning_loses_data(c->err->msg_code))
        jpg_error_exit(c);
    c->err->num_warnings++;
}

static void jpg_init_err(struct jpg_err *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = jpg_error_exit;
    e->pub.emit_message = jpg_emit_message;
}

/* The library's message for the error or warning that stopped it. */
static int jpg_lib_fail(j_common_ptr c, const char *doing, struct ferry_diag *diag)
{
    char msg[JMSG_LENGTH_MAX];
    c->err->format_message(c, msg);
    int code = -EBADMSG;
    switch (c->err->msg_code) {
    case JERR_OUT_OF_MEMORY:
        code = -ENOMEM;
        break;
    case JERR_BAD_PRECISION:
    case JERR_SOF_UNSUPPORTED:
    case JERR_NOT_COMPILED:
        code = -ENOTSUP;
        break;
    default:
        break;
    }
    return codec_fail(diag, code, -1, "JPEG: %s: %s", doing, msg);
}

/* ---- parameters ------------------------------------------------------- */

static int jpg_configure(const struct ferry_param *params, uint32_t n, void **state,
                         struct ferry_diag *diag)
{
    uint32_t quality = JPG_DEFAULT_QUALITY, subsampling = JPG_DEFAULT_SUBSAMPLING;
    int seen_quality = -1, seen_subsampling = -1;
    *state = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const char *k = params[i].key, *v = params[i].value;
        if (strcmp(k, "quality") == 0) {
            if (seen_quality >= 0)
                return codec_fail(diag, -EINVAL, (int32_t)i, "parameter \"quality\" given twice");
            seen_quality = (int)i;
            if (!codec_parse_uint(v, 1, 100, &quality))
                return codec_fail(diag, -EINVAL, (int32_t)i,
                                  "quality must be an integer from 1 to 100, got \"%s\"", v);
        } else if (strcmp(k, "subsampling") == 0) {
            if (seen_subsampling >= 0)
                return codec_fail(diag, -EINVAL, (int32_t)i,
                                  "parameter \"subsampling\" given twice");
            seen_subsampling = (int)i;
            if (!codec_parse_uint(v, 420, 444, &subsampling) ||
                (subsampling != 444 && subsampling != 422 && subsampling != 420))
                return codec_fail(diag, -EINVAL, (int32_t)i,
                                  "subsampling must be 444, 422 or 420, got \"%s\"", v);
        } else {
            return codec_fail(diag, -EINVAL, (int32_t)i,
                              "unknown parameter \"%s\"; jpeg-baseline takes quality, subsampling",
                              k);
        }
    }
    struct jpg_state *st = malloc(sizeof *st);
    if (!st)
        return codec_fail(diag, -ENOMEM, -1, "out of memory");
    st->quality = (int)quality;
    st->subsampling = (int)subsampling;
    *state = st;
    return 0;
}

static int jpg_configure_decode_only(const struct ferry_param *params, uint32_t n, void **state,
                                     struct ferry_diag *diag)
{
    *state = NULL;
    if (n > 0)
        return codec_fail(diag, -EINVAL, 0,
                          "unknown parameter \"%s\"; jpeg-extended-8bit takes no parameters",
                          params[0].key);
    return 0;
}

static void jpg_release(void *state) { free(state); }

/* ---- decode ------------------------------------------------------------- */

struct jpg_dec_job {
    struct jpeg_decompress_struct cinfo;
    struct jpg_err err;
    uint8_t *row; /* one row of 8-bit samples when the output is 16-bit */
};

static bool jpg_photometric_is_ybr(const struct ferry_frame *g)
{
    return strncmp(g->photometric, "YBR", 3) == 0;
}

static int jpg_decode_run(struct jpg_dec_job *job, const struct ferry_frame *in_geom,
                          const uint8_t *in, size_t in_len, uint8_t *out,
                          struct ferry_frame *out_geom, struct ferry_diag *diag)
{
    static const char *const rgb[] = {"RGB", NULL};
    struct jpeg_decompress_struct *ci = &job->cinfo;
    if (setjmp(job->err.jump))
        return jpg_lib_fail((j_common_ptr)ci, "decoding", diag);
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, in, (unsigned long)in_len);
    jpeg_read_header(ci, TRUE);
    if (ci->image_width != in_geom->columns || ci->image_height != in_geom->rows ||
        ci->num_components != (int)in_geom->samples_per_pixel)
        return codec_fail(diag, -EINVAL, -1,
                          "JPEG: the stream holds %ux%u pixels of %d samples, the data set says "
                          "%ux%u of %u",
                          ci->image_width, ci->image_height, ci->num_components, in_geom->columns,
                          in_geom->rows, in_geom->samples_per_pixel);
    if (ci->num_components == 3) {
        if (jpg_photometric_is_ybr(in_geom))
            ci->jpeg_color_space = JCS_YCbCr;
        else if (codec_photometric_is(in_geom, rgb) && !ci->saw_JFIF_marker &&
                 !ci->saw_Adobe_marker)
            ci->jpeg_color_space = JCS_RGB;
        /* else: libjpeg's reading of the markers */
        ci->out_color_space = JCS_RGB;
    } else {
        ci->out_color_space = JCS_GRAYSCALE;
    }
    ci->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(ci);
    size_t stride = (size_t)ci->output_width * (size_t)ci->output_components;
    bool wide = in_geom->bits_allocated == 16;
    if (wide) {
        job->row = malloc(stride);
        if (!job->row)
            return codec_fail(diag, -ENOMEM, -1, "JPEG: out of memory for %zu bytes", stride);
    }
    while (ci->output_scanline < ci->output_height) {
        size_t r = ci->output_scanline;
        if (!wide) {
            JSAMPROW rows[16];
            JDIMENSION want = ci->output_height - ci->output_scanline;
            if (want > 16)
                want = 16;
            for (JDIMENSION i = 0; i < want; i++)
                rows[i] = out + (r + i) * stride;
            jpeg_read_scanlines(ci, rows, want);
        } else {
            JSAMPROW rows[1] = {job->row};
            jpeg_read_scanlines(ci, rows, 1);
            uint8_t *dst = out + r * stride * 2;
            for (size_t i = 0; i < stride; i++) {
                dst[2 * i] = job->row[i];
                dst[2 * i + 1] = 0;
            }
        }
    }
    jpeg_finish_decompress(ci);
    *out_geom = *in_geom;
    out_geom->size = sizeof *out_geom;
    if (in_geom->samples_per_pixel == 3) {
        codec_set_photometric(out_geom, "RGB");
        out_geom->planar_configuration = 0;
    }
    return 0;
}

static int jpg_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
                      struct ferry_diag *diag)
{
    (void)state;
    int rc = codec_check_geometry(in_geom, out_len, "JPEG", diag);
    if (rc)
        return rc;
    if (in_geom->bits_allocated != 8 && in_geom->bits_allocated != 16)
        return codec_fail(diag, -ENOTSUP, -1, "JPEG: Bits Allocated %u (8-bit JPEG decodes into 8 or 16)",
                          in_geom->bits_allocated);
    struct jpg_dec_job job;
    memset(&job, 0, sizeof job);
    jpg_init_err(&job.err);
    job.cinfo.err = &job.err.pub;
    rc = jpg_decode_run(&job, in_geom, in, in_len, out, out_geom, diag);
    jpeg_destroy_decompress(&job.cinfo);
    free(job.row);
    if (!rc)
        codec_normalize_high_bits(out_geom, out, out_len / (out_geom->bits_allocated / 8u));
    return rc;
}

/* ---- encode ------------------------------------------------------------- */

/* A destination that grows a malloc'd buffer (libjpeg's own memory
 * destination would also do, but this one states who frees what). */
struct jpg_dest {
    struct jpeg_destination_mgr pub;
    uint8_t *buf;
    size_t cap;
};

static void jpg_dest_init(j_compress_ptr c)
{
    struct jpg_dest *d = (struct jpg_dest *)c->dest;
    d->pub.next_output_byte = d->buf;
    d->pub.free_in_buffer = d->cap;
}

static boolean jpg_dest_empty(j_compress_ptr c)
{
    struct jpg_dest *d = (struct jpg_dest *)c->dest;
    size_t used = d->cap;
    uint8_t *b = realloc(d->buf, d->cap * 2);
    if (!b)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
    d->buf = b;
    d->cap *= 2;
    d->pub.next_output_byte = b + used;
    d->pub.free_in_buffer = d->cap - used;
    return TRUE;
}

static void jpg_dest_term(j_compress_ptr c) { (void)c; }

struct jpg_enc_job {
    struct jpeg_compress_struct cinfo;
    struct jpg_err err;
    struct jpg_dest dest;
    uint8_t *row; /* one interleaved row when the input is colour-by-plane */
};

static int jpg_encode_run(struct jpg_enc_job *job, const struct jpg_state *st,
                          const struct ferry_frame *g, const uint8_t *in, struct ferry_diag *diag)
{
    struct jpeg_compress_struct *ci = &job->cinfo;
    if (setjmp(job->err.jump))
        return jpg_lib_fail((j_common_ptr)ci, "encoding", diag);
    jpeg_create_compress(ci);
    ci->dest = &job->dest.pub;
    ci->image_width = g->columns;
    ci->image_height = g->rows;
    ci->input_components = g->samples_per_pixel;
    bool colour = g->samples_per_pixel == 3;
    ci->in_color_space = !colour ? JCS_GRAYSCALE : jpg_photometric_is_ybr(g) ? JCS_YCbCr : JCS_RGB;
    jpeg_set_defaults(ci);
    jpeg_set_colorspace(ci, colour ? JCS_YCbCr : JCS_GRAYSCALE);
    jpeg_set_quality(ci, st->quality, TRUE); /* TRUE: quantisers <= 255, baseline */
    if (colour) {
        ci->comp_info[0].h_samp_factor = st->subsampling == 444 ? 1 : 2;
        ci->comp_info[0].v_samp_factor = st->subsampling == 420 ? 2 : 1;
        for (int i = 1; i < 3; i++)
            ci->comp_info[i].h_samp_factor = ci->comp_info[i].v_samp_factor = 1;
    }
    /* DICOM carries the interchange format, not JFIF (PS3.5 8.2.1). */
    ci->write_JFIF_header = FALSE;
    ci->write_Adobe_marker = FALSE;
    ci->dct_method = JDCT_ISLOW;
    ci->optimize_coding = TRUE; /* still SOF0; some 5-10% smaller for thin links */
    jpeg_start_compress(ci, TRUE);
    size_t stride = (size_t)g->columns * g->samples_per_pixel;
    bool planar = colour && g->planar_configuration == 1;
    size_t plane = (size_t)g->rows * g->columns;
    if (planar) {
        job->row = malloc(stride);
        if (!job->row)
            return codec_fail(diag, -ENOMEM, -1, "JPEG: out of memory for %zu bytes", stride);
    }
    while (ci->next_scanline < ci->image_height) {
        size_t r = ci->next_scanline;
        JSAMPROW rows[1];
        if (planar) {
            const uint8_t *p = in + r * g->columns;
            for (size_t c = 0; c < g->columns; c++) {
                job->row[3 * c] = p[c];
                job->row[3 * c + 1] = p[plane + c];
                job->row[3 * c + 2] = p[2 * plane + c];
            }
            rows[0] = job->row;
        } else {
            /* libjpeg only reads the input rows; its API is not const. */
            rows[0] = (JSAMPROW)(uintptr_t)(in + r * stride);
        }
        jpeg_write_scanlines(ci, rows, 1);
    }
    jpeg_finish_compress(ci);
    return 0;
}

static int jpg_encode(void *state, const struct ferry_host *host, const struct ferry_frame *geom,
                      const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                      struct ferry_diag *diag)
{
    static const char *const mono[] = {"MONOCHROME1", "MONOCHROME2", NULL};
    static const char *const colour[] = {"RGB", "YBR_FULL", NULL};
    static const struct jpg_state defaults = {JPG_DEFAULT_QUALITY, JPG_DEFAULT_SUBSAMPLING};
    const struct jpg_state *st = state ? state : &defaults;
    int rc = codec_check_geometry(geom, in_len, "JPEG baseline", diag);
    if (rc)
        return rc;
    if (geom->bits_allocated != 8 || geom->bits_stored != 8)
        return codec_fail(diag, -ENOTSUP, -1,
                          "JPEG baseline: Bits Allocated/Stored %u/%u (it codes 8/8)",
                          geom->bits_allocated, geom->bits_stored);
    if (geom->pixel_representation != 0)
        return codec_fail(diag, -ENOTSUP, -1, "JPEG baseline: signed pixels (it codes unsigned)");
    if (!codec_photometric_is(geom, geom->samples_per_pixel == 1 ? mono : colour))
        return codec_fail(diag, -ENOTSUP, -1,
                          "JPEG baseline: Photometric Interpretation %.24s with %u samples "
                          "(it codes MONOCHROME1/2, RGB or YBR_FULL)",
                          geom->photometric, geom->samples_per_pixel);

    struct jpg_enc_job job;
    memset(&job, 0, sizeof job);
    jpg_init_err(&job.err);
    job.cinfo.err = &job.err.pub;
    job.dest.pub.init_destination = jpg_dest_init;
    job.dest.pub.empty_output_buffer = jpg_dest_empty;
    job.dest.pub.term_destination = jpg_dest_term;
    job.dest.cap = in_len / 4 + 4096; /* quality 90 is ~10:1; it grows if not */
    job.dest.buf = malloc(job.dest.cap);
    if (!job.dest.buf) {
        rc = codec_fail(diag, -ENOMEM, -1, "JPEG: out of memory for %zu bytes", job.dest.cap);
        goto out_free;
    }
    rc = jpg_encode_run(&job, st, geom, in, diag);
    if (rc)
        goto out_free;
    size_t len = job.dest.cap - job.dest.pub.free_in_buffer;
    /* An exact copy for the host: the frame may wait before it is written. */
    out->bytes = host->alloc(len + (len & 1));
    if (!out->bytes) {
        rc = codec_fail(diag, -ENOMEM, -1, "JPEG: out of memory for %zu bytes", len);
        goto out_free;
    }
    memcpy(out->bytes, job.dest.buf, len);
    if (len & 1) /* after EOI: a DICOM fragment is even */
        out->bytes[len++] = 0;
    out->length = len;
    out->frame = *geom;
    out->frame.size = sizeof out->frame;
    if (geom->samples_per_pixel == 3) {
        codec_set_photometric(&out->frame, st->subsampling == 444 ? "YBR_FULL" : "YBR_FULL_422");
        out->frame.planar_configuration = 0;
    }
    out->lossy = 1;
out_free:
    jpeg_destroy_compress(&job.cinfo);
    free(job.row);
    free(job.dest.buf);
    return rc;
}

/* ---- the plugin ---------------------------------------------------------- */

static const struct ferry_codec jpg_baseline = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg-baseline",
    .transfer_syntax = "1.2.840.10008.1.2.4.50",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY,
    .configure = jpg_configure,
    .release = jpg_release,
    .decode = jpg_decode,
    .encode = jpg_encode,
};

static const struct ferry_codec jpg_extended = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg-extended-8bit",
    .transfer_syntax = "1.2.840.10008.1.2.4.51",
    .flags = FERRY_CODEC_DECODE,
    .configure = jpg_configure_decode_only,
    .release = jpg_release,
    .decode = jpg_decode,
    .encode = NULL,
};

static const struct ferry_codec *const jpg_codecs[] = {&jpg_baseline, &jpg_extended};

static const struct ferry_plugin jpg_plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "jpeg",
    .version = "1.0.0",
    .description = "8-bit JPEG baseline (encode, decode) and extended (decode) with libjpeg-turbo",
    .codecs = jpg_codecs,
    .n_codecs = 2,
    .steps = NULL,
    .n_steps = 0,
    .unload = NULL,
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host)
{
    if (host->abi_major != FERRY_PLUGIN_ABI_MAJOR) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "jpeg: built for plugin ABI %d, the host has %u",
                  FERRY_PLUGIN_ABI_MAJOR, host->abi_major);
        return NULL;
    }
    return &jpg_plugin;
}
