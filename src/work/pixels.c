/* ferry — work: pixel data: frames decoded once per source, frames replaced
 * by a run, and re-encoding into a transfer syntax. */
#include "work/work-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Explicit VR LE with each frame in one fragment (PS3.5 A.4.11): the host
 * reads it without a codec. */
#define TS_ENCAPSULATED_UNCOMPRESSED "1.2.840.10008.1.2.1.98"

static int get_u16(const struct dcm_dataset *ds, uint32_t tag, uint16_t *out, bool required,
                   uint16_t dflt, struct ferry_error **err)
{
    uint64_t v;
    int rc = dcm_dataset_get_uint(ds, tag, 0, &v);
    if (rc == -ENOENT && !required) {
        *out = dflt;
        return 0;
    }
    if (rc < 0 || v > UINT16_MAX)
        return ferry_error_set(err, -EINVAL, "pixel data: (%04X,%04X) %s is %s",
                               DCM_TAG_GROUP(tag), DCM_TAG_ELEMENT(tag), dcm_dict_keyword(tag),
                               rc == -ENOENT ? "missing" : "not a usable number");
    *out = (uint16_t)v;
    return 0;
}

int work_pixel_geometry(const struct dcm_dataset *ds, struct ferry_frame *g, uint32_t *frames,
                        struct ferry_error **err)
{
    memset(g, 0, sizeof *g);
    g->size = sizeof *g;
    if (!dcm_dataset_get(ds, DCM_TAG_PixelData))
        return -ENOENT;
    uint16_t rows, cols;
    int rc;
    if ((rc = get_u16(ds, DCM_TAG_Rows, &rows, true, 0, err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_Columns, &cols, true, 0, err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_SamplesPerPixel, &g->samples_per_pixel, false, 1, err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_BitsAllocated, &g->bits_allocated, true, 0, err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_BitsStored, &g->bits_stored, false, g->bits_allocated,
                      err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_HighBit, &g->high_bit, false,
                      (uint16_t)(g->bits_stored ? g->bits_stored - 1 : 0), err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_PixelRepresentation, &g->pixel_representation, false, 0,
                      err)) < 0 ||
        (rc = get_u16(ds, DCM_TAG_PlanarConfiguration, &g->planar_configuration, false, 0,
                      err)) < 0)
        return rc;
    g->rows = rows;
    g->columns = cols;
    if (dcm_dataset_get_cstr(ds, DCM_TAG_PhotometricInterpretation, 0, g->photometric,
                             sizeof g->photometric) < 0)
        snprintf(g->photometric, sizeof g->photometric, "%s",
                 g->samples_per_pixel == 1 ? "MONOCHROME2" : "RGB");
    int64_t n = 1;
    rc = dcm_dataset_get_int(ds, DCM_TAG_NumberOfFrames, 0, &n);
    if (rc == -ENOENT)
        n = 1;
    else if (rc < 0 || n < 1 || n > INT32_MAX)
        return ferry_error_set(err, -EINVAL, "pixel data: (0028,0008) NumberOfFrames is not a "
                                             "positive number");
    *frames = (uint32_t)n;
    if (g->rows == 0 || g->columns == 0 || g->samples_per_pixel == 0 ||
        g->bits_stored > g->bits_allocated || g->bits_stored == 0)
        return ferry_error_set(err, -EINVAL,
                               "pixel data: %" PRIu32 "x%" PRIu32 ", %u samples, %u bits "
                               "allocated, %u stored do not describe an image",
                               g->rows, g->columns, g->samples_per_pixel, g->bits_allocated,
                               g->bits_stored);
    return 0;
}

size_t work_frame_size(const struct ferry_frame *g)
{
    if (g->bits_allocated == 0 || g->bits_allocated % 8 != 0)
        return 0;
    uint64_t n = (uint64_t)g->rows * g->columns * g->samples_per_pixel * (g->bits_allocated / 8);
    return n > SIZE_MAX / 2 ? 0 : (size_t)n;
}

static int unsupported_bits(const struct ferry_frame *g, struct ferry_error **err)
{
    return ferry_error_set(err, -ENOTSUP,
                           "pixel data: Bits Allocated %u is not supported (8, 16 or 32)",
                           g->bits_allocated);
}

/* Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2): for each pair of pixels of a row,
 * Y1 Y2 Cb Cr, the chrominance sampled at the first. Such a frame holds 2
 * samples per pixel, not 3. */
static bool native_422(const struct dcm_dataset *ds, const struct ferry_frame *g)
{
    return g->samples_per_pixel == 3 && strcmp(g->photometric, "YBR_FULL_422") == 0 &&
           !dcm_element_is_encapsulated(dcm_dataset_get(ds, DCM_TAG_PixelData));
}

/* Bytes of frame `index` of native pixel data, and where it starts: the
 * frames are contiguous (PS3.5 8.1.1). */
static int native_frame(const struct dcm_dataset *ds, uint32_t index, size_t flen,
                        const uint8_t **p, struct ferry_error **err)
{
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    const uint8_t *v = dcm_element_value(pd);
    if (!v || (uint64_t)dcm_element_length(pd) < (uint64_t)flen * (index + 1))
        return ferry_error_set(err, -EINVAL,
                               "pixel data: %u bytes of native pixel data hold fewer than "
                               "%u frames of %zu bytes",
                               v ? dcm_element_length(pd) : 0, index + 1, flen);
    *p = v + (size_t)index * flen;
    return 0;
}

/* A native YBR_FULL_422 frame as YBR_FULL, colour-by-pixel: each pixel gets
 * the chrominance its pair shares, so nothing is lost or made up, and every
 * codec can take it. */
static int expand_422(const struct dcm_dataset *ds, uint32_t index, const struct ferry_frame *g,
                      uint8_t **out, struct ferry_frame *out_geom, struct ferry_error **err)
{
    if (g->columns % 2 != 0)
        return ferry_error_set(err, -EINVAL,
                               "pixel data: native YBR_FULL_422 with an odd number of columns "
                               "(%u) has no whole pixel pairs",
                               g->columns);
    size_t bytes = g->bits_allocated / 8u, full = work_frame_size(g);
    size_t packed = full / 3 * 2;
    const uint8_t *in;
    int rc = native_frame(ds, index, packed, &in, err);
    if (rc < 0)
        return rc;
    uint8_t *buf = malloc(full);
    if (!buf)
        return ferry_error_set(err, -ENOMEM, "pixel data: out of memory for a %zu-byte frame",
                               full);
    size_t pairs = (size_t)g->rows * g->columns / 2;
    for (size_t i = 0; i < pairs; i++) {
        const uint8_t *y1 = in + 4 * bytes * i, *y2 = y1 + bytes, *cb = y2 + bytes,
                      *cr = cb + bytes;
        uint8_t *o = buf + 6 * bytes * i;
        memcpy(o, y1, bytes);
        memcpy(o + bytes, cb, bytes);
        memcpy(o + 2 * bytes, cr, bytes);
        memcpy(o + 3 * bytes, y2, bytes);
        memcpy(o + 4 * bytes, cb, bytes);
        memcpy(o + 5 * bytes, cr, bytes);
    }
    *out_geom = *g;
    snprintf(out_geom->photometric, sizeof out_geom->photometric, "YBR_FULL");
    out_geom->planar_configuration = 0;
    *out = buf;
    return 0;
}

/* Frames decoded by a codec from received instances, since start. */
static atomic_uint_fast64_t frames_decoded;

uint64_t work_frames_decoded(void)
{
    return (uint64_t)atomic_load(&frames_decoded);
}

/* Decode frame `index` of the source (not cached yet) into a new buffer. */
static int source_decode(struct work_source *src, uint32_t index, const struct ferry_frame *g,
                         uint8_t **out, struct ferry_frame *out_geom, struct ferry_error **err)
{
    const struct dcm_dataset *ds = src->ds;
    const char *ts = dcm_dataset_transfer_syntax(ds);
    size_t flen = work_frame_size(g);
    if (!flen)
        return unsupported_bits(g, err);
    if (!dcm_element_is_encapsulated(dcm_dataset_get(ds, DCM_TAG_PixelData)))
        return expand_422(ds, index, g, out, out_geom, err);
    uint32_t first, count;
    int rc = dcm_dataset_frame_fragments(ds, index, &first, &count, err);
    if (rc < 0)
        return rc;
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    /* The frame's fragments, concatenated when there are several. */
    const uint8_t *bytes = NULL;
    size_t len = 0;
    uint8_t *joined = NULL;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *fb;
        uint32_t fl;
        if ((rc = dcm_element_fragment(pd, first + i, &fb, &fl, NULL)) < 0 || !fb)
            return ferry_error_set(err, -EINVAL, "pixel data: fragment %u of frame %u is missing",
                                   first + i, index);
        if (count == 1) {
            bytes = fb;
            len = fl;
            break;
        }
        uint8_t *j = realloc(joined, len + fl);
        if (!j) {
            free(joined);
            return ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
        }
        joined = j;
        memcpy(joined + len, fb, fl);
        len += fl;
        bytes = joined;
    }
    uint8_t *buf = malloc(flen);
    if (!buf) {
        free(joined);
        return ferry_error_set(err, -ENOMEM, "pixel data: out of memory for a %zu-byte frame",
                               flen);
    }
    *out_geom = *g;
    if (strcmp(ts, TS_ENCAPSULATED_UNCOMPRESSED) == 0) {
        if (len < flen) {
            rc = ferry_error_set(err, -EINVAL, "pixel data: frame %u has %zu bytes, needs %zu",
                                 index, len, flen);
            goto out_free;
        }
        memcpy(buf, bytes, flen);
    } else {
        /* The first decoder of the syntax; the next one when a decoder says
         * it cannot do this frame (8-bit libjpeg-turbo and 12-bit DCMTK both
         * claim JPEG Extended). */
        const struct ferry_codec *codec = NULL;
        void *state = NULL;
        rc = -ENOTSUP;
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        while (rc == -ENOTSUP &&
               (codec = work_registry_decoder(src->reg, ts, codec, &state)) != NULL) {
            diag = (struct ferry_diag){ .size = sizeof diag, .param = -1 };
            *out_geom = *g;
            rc = codec->decode(state, g, bytes, len, buf, flen, out_geom, &diag);
        }
        if (rc == -ENOTSUP && !codec && !diag.message[0]) {
            const char *name = dcm_uid_name(ts);
            ferry_error_set(err, -ENOTSUP, "pixel data: no plugin decodes %s (%s)", ts,
                            name ? name : "unknown syntax");
            goto out_free;
        }
        if (rc < 0) {
            ferry_error_set(err, rc, "pixel data: frame %u: %s", index,
                            diag.message[0] ? diag.message : "the decoder failed");
            goto out_free;
        }
        atomic_fetch_add(&frames_decoded, 1);
    }
    free(joined);
    *out = buf;
    return 0;
out_free:
    free(buf);
    free(joined);
    return rc;
}

/* Frame `index` of the source: native bytes in place, or decoded (or
 * expanded from native YBR_FULL_422) once and cached for every pipeline of
 * the source. */
static int source_frame(struct work_source *src, uint32_t index, const uint8_t **pixels,
                        size_t *length, struct ferry_frame *geometry, struct ferry_error **err)
{
    struct ferry_frame g;
    uint32_t frames;
    int rc = work_pixel_geometry(src->ds, &g, &frames, err);
    if (rc < 0)
        return rc;
    if (index >= frames)
        return ferry_error_set(err, -ENOENT, "pixel data: no frame %u (the instance has %u)",
                               index, frames);
    size_t flen = work_frame_size(&g);
    if (!flen)
        return unsupported_bits(&g, err);
    const struct dcm_element *pd = dcm_dataset_get(src->ds, DCM_TAG_PixelData);
    if (!dcm_element_is_encapsulated(pd) && !native_422(src->ds, &g)) {
        if ((rc = native_frame(src->ds, index, flen, pixels, err)) < 0)
            return rc;
        *length = flen;
        if (geometry)
            *geometry = g;
        return 0;
    }

    pthread_mutex_lock(&src->lock);
    if (!src->frames) {
        src->frames = calloc(frames, sizeof *src->frames);
        src->geoms = calloc(frames, sizeof *src->geoms);
        src->decoding = calloc(frames, sizeof *src->decoding);
        if (!src->frames || !src->geoms || !src->decoding) {
            free(src->frames);
            free(src->geoms);
            free(src->decoding);
            src->frames = NULL;
            src->geoms = NULL;
            src->decoding = NULL;
            pthread_mutex_unlock(&src->lock);
            return ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
        }
        src->n_frames = frames;
    }
    /* Another run decoding this frame: wait for its result rather than
     * decode it twice (the destinations of one instance often run at
     * once). */
    while (!src->frames[index] && src->decoding[index])
        pthread_cond_wait(&src->decoded, &src->lock);
    uint8_t *cached = src->frames[index];
    struct ferry_frame cg = src->geoms[index];
    if (!cached)
        src->decoding[index] = true;
    pthread_mutex_unlock(&src->lock);

    if (!cached) {
        /* Decode outside the lock so pipelines decode different frames in
         * parallel. On failure the runs that waited try for themselves. */
        uint8_t *buf = NULL;
        rc = source_decode(src, index, &g, &buf, &cg, err);
        pthread_mutex_lock(&src->lock);
        src->decoding[index] = false;
        if (rc == 0 && !src->frames[index]) {
            src->frames[index] = buf;
            src->geoms[index] = cg;
            buf = NULL;
        }
        cached = src->frames[index];
        cg = src->geoms[index];
        pthread_cond_broadcast(&src->decoded);
        pthread_mutex_unlock(&src->lock);
        free(buf);
        if (rc < 0)
            return rc;
    }
    *pixels = cached;
    *length = flen;
    if (geometry)
        *geometry = cg;
    return 0;
}

/* Where the run's frames come from: the received instance, or, after a
 * compress step re-encoded the run's data set, that data set. */
static struct work_source *current_source(struct ferry_instance *inst, struct ferry_error **err)
{
    if (!inst->reencoded)
        return inst->src;
    if (!inst->cur)
        inst->cur = work_source_new(inst->ds, inst->src->reg, inst->src->context);
    if (!inst->cur)
        ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
    return inst->cur;
}

int work_instance_frame(struct ferry_instance *inst, uint32_t index, const uint8_t **pixels,
                        size_t *length, struct ferry_frame *geometry, struct ferry_error **err)
{
    if (inst->frames) {
        if (index >= inst->n_frames)
            return ferry_error_set(err, -ENOENT, "pixel data: no frame %u (the instance has %u)",
                                   index, inst->n_frames);
        if (inst->frames[index]) {
            *pixels = inst->frames[index];
            *length = work_frame_size(&inst->geom);
            if (geometry)
                *geometry = inst->geom;
            return 0;
        }
        /* not replaced: the source's, which has the same layout */
    }
    struct work_source *src = current_source(inst, err);
    return src ? source_frame(src, index, pixels, length, geometry, err) : -ENOMEM;
}

uint8_t *work_instance_take_frame(struct ferry_instance *inst, uint32_t index)
{
    uint8_t *p = NULL;
    if (inst->frames) {
        if (index >= inst->n_frames)
            return NULL;
        if ((p = inst->frames[index])) {
            inst->frames[index] = NULL;
            return p;
        }
        /* not replaced: the source's, if no one else holds it */
    }
    struct work_source *src = inst->reencoded ? inst->cur : inst->src;
    if (!src)
        return NULL;
    pthread_mutex_lock(&src->lock);
    /* One reference: this run's. No other thread can reach the cache. */
    if (atomic_load(&src->refs) == 1 && src->frames && index < src->n_frames) {
        p = src->frames[index];
        src->frames[index] = NULL;
    }
    pthread_mutex_unlock(&src->lock);
    return p;
}

void work_instance_free_frames(struct ferry_instance *inst)
{
    if (inst->frames)
        for (uint32_t i = 0; i < inst->n_frames; i++)
            free(inst->frames[i]);
    free(inst->frames);
    inst->frames = NULL;
    inst->n_frames = 0;
    work_source_unref(inst->cur);
    inst->cur = NULL;
}

/* Start replacing frames: a slot per frame, NULL while a frame is still the
 * source's (nothing is copied that a step will replace), and the layout of
 * the source's frames, which replaced ones must keep. */
static int own_frames(struct ferry_instance *inst, struct ferry_error **err)
{
    if (inst->frames)
        return 0;
    struct ferry_frame g;
    uint32_t frames;
    int rc = work_pixel_geometry(inst->ds, &g, &frames, err);
    if (rc < 0)
        return rc;
    const uint8_t *p;
    size_t len;
    struct ferry_frame fg = g;
    struct work_source *src = current_source(inst, err);
    if (!src)
        return -ENOMEM;
    if ((rc = source_frame(src, 0, &p, &len, &fg, err)) < 0)
        return rc;
    uint8_t **slots = calloc(frames, sizeof *slots);
    if (!slots)
        return ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
    inst->frames = slots;
    inst->n_frames = frames;
    inst->geom = fg;
    return 0;
}

int work_instance_set_frame(struct ferry_instance *inst, uint32_t index, const uint8_t *pixels,
                            size_t length, const struct ferry_frame *geometry)
{
    int rc = own_frames(inst, NULL);
    if (rc < 0)
        return rc;
    if (index >= inst->n_frames)
        return -ENOENT;
    struct ferry_frame g = *geometry;
    g.size = sizeof g;
    /* A step may change pixels, not the image's shape; and since frames it
     * does not replace stay as they are, not their layout either (but a
     * single frame may change its photometric interpretation). */
    if (length != work_frame_size(&g) || g.rows != inst->geom.rows ||
        g.columns != inst->geom.columns || g.bits_allocated != inst->geom.bits_allocated ||
        g.samples_per_pixel != inst->geom.samples_per_pixel)
        return -EINVAL;
    if (inst->n_frames > 1 &&
        (strncmp(g.photometric, inst->geom.photometric, sizeof g.photometric) != 0 ||
         (g.samples_per_pixel > 1 && g.planar_configuration != inst->geom.planar_configuration) ||
         g.pixel_representation != inst->geom.pixel_representation ||
         g.bits_stored != inst->geom.bits_stored))
        return -EINVAL;
    uint8_t *copy = malloc(length);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, pixels, length);
    free(inst->frames[index]);
    inst->frames[index] = copy;
    inst->geom = g;
    inst->pixels_replaced = true;
    return 0;
}
