/* ferry — work: re-encoding an instance's pixel data, and the attributes
 * that must follow (PS3.3 C.7.6.1.1.5 for lossy compression). */
#include "work/work-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Lossy Image Compression Method term of each syntax that can be lossy
 * (PS3.3 C.7.6.1.1.5.1, data/dicom/transfer_syntaxes.tsv). */
static const struct {
    const char *uid;
    const char *term;
} lossy_terms[] = {
    { "1.2.840.10008.1.2.4.50", "ISO_10918_1" },  { "1.2.840.10008.1.2.4.51", "ISO_10918_1" },
    { "1.2.840.10008.1.2.4.81", "ISO_14495_1" },  { "1.2.840.10008.1.2.4.91", "ISO_15444_1" },
    { "1.2.840.10008.1.2.4.203", "ISO_15444_15" },
};

static const char *lossy_term(const char *uid)
{
    for (size_t i = 0; i < sizeof lossy_terms / sizeof *lossy_terms; i++)
        if (strcmp(lossy_terms[i].uid, uid) == 0)
            return lossy_terms[i].term;
    return NULL;
}

/* Append `value` to the multi-valued string element `tag`. */
static int append_value(struct dcm_dataset *ds, uint32_t tag, enum dcm_vr vr, const char *value)
{
    const char *old;
    size_t n;
    char buf[1024];
    if (dcm_dataset_get_string(ds, tag, DCM_ALL_VALUES, &old, &n) == 0 && n > 0) {
        if (n + 1 + strlen(value) >= sizeof buf)
            return -E2BIG;
        snprintf(buf, sizeof buf, "%.*s\\%s", (int)n, old, value);
    } else {
        snprintf(buf, sizeof buf, "%s", value);
    }
    return dcm_dataset_set_string(ds, tag, vr, buf);
}

/* Image Type value 1 becomes DERIVED. */
static int mark_derived(struct dcm_dataset *ds)
{
    const char *old;
    size_t n;
    if (dcm_dataset_get_string(ds, DCM_TAG_ImageType, DCM_ALL_VALUES, &old, &n) < 0)
        return 0; /* no Image Type: nothing to say (it is not in every IOD) */
    const char *rest = memchr(old, '\\', n);
    char buf[1024];
    if (rest)
        snprintf(buf, sizeof buf, "DERIVED%.*s", (int)(n - (size_t)(rest - old)), rest);
    else
        snprintf(buf, sizeof buf, "DERIVED");
    return dcm_dataset_set_string(ds, DCM_TAG_ImageType, DCM_VR_CS, buf);
}

/* A new SOP Instance UID, with a Source Image Sequence item pointing at the
 * predecessor (PS3.3 C.7.6.1.1.5: a lossy compressed image is a new
 * instance). */
static int new_instance_uid(struct dcm_dataset *ds, struct ferry_error **err)
{
    char old_uid[65], sop_class[65], uid[65];
    if (dcm_dataset_get_cstr(ds, DCM_TAG_SOPInstanceUID, 0, old_uid, sizeof old_uid) < 0 ||
        dcm_dataset_get_cstr(ds, DCM_TAG_SOPClassUID, 0, sop_class, sizeof sop_class) < 0)
        return ferry_error_set(err, -EINVAL, "lossy compression: the instance has no SOP "
                                             "Instance or Class UID to derive a new one from");
    int rc = dcm_uid_generate(uid);
    if (rc < 0)
        return ferry_error_set(err, rc, "lossy compression: cannot make a new UID");
    struct dcm_dataset *item = dcm_dataset_add_item(ds, DCM_TAG_SourceImageSequence);
    struct dcm_dataset *code = item ? dcm_dataset_add_item(item, DCM_TAG_PurposeOfReferenceCodeSequence) : NULL;
    if (!code ||
        dcm_dataset_set_string(item, DCM_TAG_ReferencedSOPClassUID, DCM_VR_UI, sop_class) < 0 ||
        dcm_dataset_set_string(item, DCM_TAG_ReferencedSOPInstanceUID, DCM_VR_UI, old_uid) < 0 ||
        dcm_dataset_set_string(code, DCM_TAG_CodeValue, DCM_VR_SH, "121320") < 0 ||
        dcm_dataset_set_string(code, DCM_TAG_CodingSchemeDesignator, DCM_VR_SH, "DCM") < 0 ||
        dcm_dataset_set_string(code, DCM_TAG_CodeMeaning, DCM_VR_LO,
                               "Uncompressed predecessor") < 0 ||
        dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_UI, uid) < 0)
        return ferry_error_set(err, -ENOMEM, "lossy compression: out of memory");
    return 0;
}

static int set_lossy_attributes(struct dcm_dataset *ds, const char *ts, double ratio,
                                bool new_uid, struct ferry_error **err)
{
    char r[17];
    snprintf(r, sizeof r, "%.2f", ratio);
    const char *term = lossy_term(ts);
    if (dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompression, DCM_VR_CS, "01") < 0 ||
        append_value(ds, DCM_TAG_LossyImageCompressionRatio, DCM_VR_DS, r) < 0 ||
        (term && append_value(ds, DCM_TAG_LossyImageCompressionMethod, DCM_VR_CS, term) < 0) ||
        mark_derived(ds) < 0)
        return ferry_error_set(err, -ENOMEM, "lossy compression: cannot set its attributes");
    return new_uid ? new_instance_uid(ds, err) : 0;
}

/* The pixel module after re-encoding: what the frames are now. */
static int set_pixel_module(struct dcm_dataset *ds, const struct ferry_frame *g)
{
    int rc = dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_CS,
                                    g->photometric);
    if (rc == 0 && g->samples_per_pixel > 1)
        rc = dcm_dataset_set_uint(ds, DCM_TAG_PlanarConfiguration, DCM_VR_US,
                                  g->planar_configuration);
    return rc;
}

static void remove_extended_offset_table(struct dcm_dataset *ds)
{
    dcm_dataset_remove(ds, DCM_TAG_ExtendedOffsetTable);
    dcm_dataset_remove(ds, DCM_TAG_ExtendedOffsetTableLengths);
}

/* Native Explicit VR Little Endian: every frame, concatenated. */
static int encode_native(struct ferry_instance *inst, const struct ferry_frame *g,
                         uint32_t frames, struct ferry_error **err)
{
    size_t flen = work_frame_size(g);
    uint64_t total = (uint64_t)flen * frames;
    if (!flen || total > 0xFFFFFFFEu - 1)
        return ferry_error_set(err, -E2BIG,
                               "pixel data: %u frames of %zu bytes do not fit native pixel data "
                               "(4 GiB at most)",
                               frames, flen);
    size_t padded = (size_t)total + (total & 1);
    enum dcm_vr vr = g->bits_allocated <= 8 ? DCM_VR_OB : DCM_VR_OW;
    if (frames == 1 && inst->frames && inst->frames[0] && padded == total) {
        /* One replaced frame: it becomes the pixel data as it is. */
        int rc = dcm_dataset_set_take(inst->ds, DCM_TAG_PixelData, vr, inst->frames[0],
                                      (uint32_t)total);
        if (rc < 0)
            return ferry_error_set(err, rc, "pixel data: cannot replace it");
        inst->frames[0] = NULL;
        struct ferry_frame fg = inst->geom;
        remove_extended_offset_table(inst->ds);
        if ((rc = set_pixel_module(inst->ds, &fg)) < 0 ||
            (rc = dcm_dataset_set_transfer_syntax(inst->ds, DCM_UID_ExplicitVRLittleEndian)) < 0)
            return ferry_error_set(err, rc, "pixel data: cannot update the pixel module");
        return 0;
    }
    uint8_t *buf = malloc(padded ? padded : 2);
    if (!buf)
        return ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
    struct ferry_frame fg = *g;
    for (uint32_t i = 0; i < frames; i++) {
        const uint8_t *p;
        size_t len;
        int rc = work_instance_frame(inst, i, &p, &len, &fg, err);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        memcpy(buf + (size_t)i * flen, p, flen);
    }
    if (padded != total)
        buf[total] = 0;
    int rc = dcm_dataset_set_take(inst->ds, DCM_TAG_PixelData, vr, buf, (uint32_t)padded);
    if (rc < 0) {
        free(buf);
        return ferry_error_set(err, rc, "pixel data: cannot replace it");
    }
    remove_extended_offset_table(inst->ds);
    if ((rc = set_pixel_module(inst->ds, &fg)) < 0 ||
        (rc = dcm_dataset_set_transfer_syntax(inst->ds, DCM_UID_ExplicitVRLittleEndian)) < 0)
        return ferry_error_set(err, rc, "pixel data: cannot update the pixel module");
    return 0;
}

/* The Extended Offset Table (PS3.3 C.7.6.3.1.8): 64-bit offsets and lengths,
 * for pixel data whose fragments pass what the 32-bit Basic Offset Table can
 * address. */
static int set_extended_offset_table(struct dcm_dataset *ds, const uint64_t *lengths,
                                     uint32_t frames)
{
    uint64_t *off = malloc(frames * sizeof *off), *len = malloc(frames * sizeof *len);
    if (!off || !len) {
        free(off);
        free(len);
        return -ENOMEM;
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < frames; i++) {
        off[i] = at;
        uint64_t padded = lengths[i] + (lengths[i] & 1);
        len[i] = lengths[i];
        at += 8 + padded; /* item tag and length, then the fragment */
    }
    int rc = dcm_dataset_set_take(ds, DCM_TAG_ExtendedOffsetTable, DCM_VR_OV, off,
                                  frames * 8u);
    if (rc < 0)
        free(off);
    int rc2 = dcm_dataset_set_take(ds, DCM_TAG_ExtendedOffsetTableLengths, DCM_VR_OV, len,
                                   frames * 8u);
    if (rc2 < 0)
        free(len);
    return rc < 0 ? rc : rc2;
}

static int encode_with(struct ferry_instance *inst, const struct ferry_codec *codec,
                       void *state, const struct ferry_frame *g, uint32_t frames,
                       bool new_uid_on_lossy, bool *lossy, struct ferry_error **err)
{
    const struct ferry_host *host = work_host();
    struct ferry_encoded *enc = calloc(frames, sizeof *enc);
    uint64_t *lengths = calloc(frames, sizeof *lengths);
    int rc = 0;
    uint32_t done = 0;
    if (!enc || !lengths) {
        rc = ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
        goto out;
    }
    uint64_t native = 0, compressed = 0;
    bool any_lossy = false;
    for (; done < frames; done++) {
        const uint8_t *p;
        size_t len;
        struct ferry_frame fg = *g;
        if ((rc = work_instance_frame(inst, done, &p, &len, &fg, err)) < 0)
            goto out;
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        enc[done].size = sizeof enc[done];
        rc = codec->encode(state, host, &fg, p, len, &enc[done], &diag);
        if (rc < 0) {
            ferry_error_set(err, rc, "pixel data: frame %u: %s encoder: %s", done, codec->name,
                            diag.message[0] ? diag.message : "failed");
            goto out;
        }
        native += len;
        compressed += enc[done].length;
        lengths[done] = enc[done].length;
        any_lossy |= enc[done].lossy != 0;
    }

    struct dcm_dataset *ds = inst->ds;
    if ((rc = dcm_dataset_set_encapsulated(ds)) < 0) {
        ferry_error_set(err, rc, "pixel data: cannot replace it");
        goto out;
    }
    for (uint32_t i = 0; i < frames; i++) {
        /* Take the codec's buffer when it is already of even length. */
        if (enc[i].length % 2 == 0 && enc[i].length <= UINT32_MAX - 1 &&
            dcm_dataset_add_fragment_take(ds, enc[i].bytes, (uint32_t)enc[i].length) == 0) {
            enc[i].bytes = NULL;
            continue;
        }
        if (enc[i].length > UINT32_MAX - 1 ||
            (rc = dcm_dataset_add_fragment(ds, enc[i].bytes, (uint32_t)enc[i].length)) < 0) {
            rc = ferry_error_set(err, rc < 0 ? rc : -E2BIG,
                                 "pixel data: cannot add the fragment of frame %u", i);
            goto out;
        }
    }
    remove_extended_offset_table(ds);
    /* The Basic Offset Table addresses 4 GiB; past that the Extended Offset
     * Table (with an empty Basic Offset Table) does. */
    uint64_t span = compressed + 9ull * frames;
    rc = span < 0xFFFFFFFFull ? dcm_dataset_fill_offset_table(ds)
                              : set_extended_offset_table(ds, lengths, frames);
    if (rc < 0) {
        ferry_error_set(err, rc, "pixel data: cannot write its offset table");
        goto out;
    }
    if ((rc = set_pixel_module(ds, &enc[frames - 1].frame)) < 0 ||
        (rc = dcm_dataset_set_transfer_syntax(ds, codec->transfer_syntax)) < 0) {
        ferry_error_set(err, rc, "pixel data: cannot update the pixel module");
        goto out;
    }
    if (any_lossy)
        rc = set_lossy_attributes(ds, codec->transfer_syntax,
                                  compressed ? (double)native / (double)compressed : 0,
                                  new_uid_on_lossy, err);
    *lossy = any_lossy;
out:
    if (enc)
        for (uint32_t i = 0; i < frames && i <= done; i++)
            host->free(enc[i].bytes);
    free(enc);
    free(lengths);
    return rc;
}

int work_instance_encode(struct ferry_instance *inst, const struct ferry_codec *codec,
                         void *codec_state, bool new_uid_on_lossy, bool *lossy,
                         struct ferry_error **err)
{
    *lossy = false;
    struct ferry_frame g;
    uint32_t frames;
    int rc = work_pixel_geometry(inst->ds, &g, &frames, err);
    if (rc == -ENOENT)
        return 0; /* no pixel data: only the encoding of the rest, which the writer does */
    if (rc < 0)
        return rc;
    const char *target = codec ? codec->transfer_syntax : DCM_UID_ExplicitVRLittleEndian;
    const char *now = dcm_dataset_transfer_syntax(inst->ds);
    const struct dcm_ts *now_ts = dcm_ts_lookup(now);
    if (!inst->pixels_replaced) {
        if (strcmp(now, target) == 0)
            return 0; /* already there: passed through unchanged */
        if (!codec && now_ts && !now_ts->encapsulated)
            /* native to native: the writer converts the byte order */
            return dcm_dataset_set_transfer_syntax(inst->ds, target);
    }
    if (codec)
        rc = encode_with(inst, codec, codec_state, &g, frames, new_uid_on_lossy, lossy, err);
    else
        rc = encode_native(inst, &g, frames, err);
    if (rc == 0) {
        work_instance_free_frames(inst);
        inst->pixels_replaced = false;
    }
    return rc;
}
