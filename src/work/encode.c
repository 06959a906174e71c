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

/* What PS3.3 C.7.6.1.1.5 recommends besides: a Derivation Description that
 * says how (appended to an earlier one while ST's 1024 characters hold it)
 * and a Derivation Code Sequence item (113040, DCM, "Lossy Compression"). */
static int describe_derivation(struct dcm_dataset *ds, const char *ts, const char *ratio)
{
    const char *name = dcm_uid_name(ts), *old;
    size_t n = 0;
    char add[200], buf[1100];
    snprintf(add, sizeof add, "Lossy compression with %s, ratio %s:1", name ? name : ts, ratio);
    if (dcm_dataset_get_string(ds, DCM_TAG_DerivationDescription, DCM_ALL_VALUES, &old, &n) < 0)
        n = 0;
    while (n > 0 && (old[n - 1] == ' ' || old[n - 1] == '\0'))
        n--;
    int rc = 0;
    if (n == 0)
        rc = dcm_dataset_set_string(ds, DCM_TAG_DerivationDescription, DCM_VR_ST, add);
    else if (n + 2 + strlen(add) <= 1024) {
        snprintf(buf, sizeof buf, "%.*s; %s", (int)n, old, add);
        rc = dcm_dataset_set_string(ds, DCM_TAG_DerivationDescription, DCM_VR_ST, buf);
    }
    if (rc < 0)
        return rc;
    char v[17];
    for (uint32_t i = 0;; i++) {
        struct dcm_dataset *it = dcm_dataset_item(ds, DCM_TAG_DerivationCodeSequence, i);
        if (!it)
            break;
        if (dcm_dataset_get_cstr(it, DCM_TAG_CodeValue, 0, v, sizeof v) > 0 &&
            strcmp(v, "113040") == 0)
            return 0; /* said by an earlier step */
    }
    struct dcm_dataset *item = dcm_dataset_add_item(ds, DCM_TAG_DerivationCodeSequence);
    if (!item ||
        dcm_dataset_set_string(item, DCM_TAG_CodeValue, DCM_VR_SH, "113040") < 0 ||
        dcm_dataset_set_string(item, DCM_TAG_CodingSchemeDesignator, DCM_VR_SH, "DCM") < 0 ||
        dcm_dataset_set_string(item, DCM_TAG_CodeMeaning, DCM_VR_LO, "Lossy Compression") < 0)
        return -ENOMEM;
    return 0;
}

static int set_lossy_attributes(struct dcm_dataset *ds, const char *ts, double ratio,
                                bool new_uid, struct ferry_error **err)
{
    /* The extremes the pixels had may not be what they are now. */
    dcm_dataset_remove(ds, DCM_TAG_SmallestImagePixelValue);
    dcm_dataset_remove(ds, DCM_TAG_LargestImagePixelValue);
    dcm_dataset_remove(ds, DCM_TAG_SmallestPixelValueInSeries);
    dcm_dataset_remove(ds, DCM_TAG_LargestPixelValueInSeries);
    char r[17];
    snprintf(r, sizeof r, "%.2f", ratio);
    const char *term = lossy_term(ts);
    /* The ratios and the methods are parallel lists: a syntax without a
     * defined method term adds a ratio only to a data set that lists no
     * methods. */
    bool add_ratio = ratio > 0 &&
                     (term || !dcm_dataset_get(ds, DCM_TAG_LossyImageCompressionMethod));
    if (dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompression, DCM_VR_CS, "01") < 0 ||
        (add_ratio && append_value(ds, DCM_TAG_LossyImageCompressionRatio, DCM_VR_DS, r) < 0) ||
        (term && append_value(ds, DCM_TAG_LossyImageCompressionMethod, DCM_VR_CS, term) < 0) ||
        mark_derived(ds) < 0 || describe_derivation(ds, ts, r) < 0)
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

/* (7FE0,0003) Encapsulated Pixel Data Value Total Length (PS3.3 C.7.6.3),
 * newer than the dictionary. */
#define TAG_ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH 0x7FE00003u

/* What describes the old encoding of Pixel Data and is wrong for the new
 * one: the Extended Offset Table and its lengths (PS3.3 C.7.6.3.1.8 says they
 * must go or be rebuilt when the pixel data is re-encoded), and the total
 * length of the encapsulated value. */
static void remove_encoding_tables(struct dcm_dataset *ds)
{
    dcm_dataset_remove(ds, DCM_TAG_ExtendedOffsetTable);
    dcm_dataset_remove(ds, DCM_TAG_ExtendedOffsetTableLengths);
    dcm_dataset_remove(ds, TAG_ENCAPSULATED_PIXEL_DATA_VALUE_TOTAL_LENGTH);
}

/* Syntaxes whose every frame lost information (JPEG's DCT processes): the
 * pixels of such a source are lossy whatever the data set says. */
static bool always_lossy(const char *ts)
{
    return strcmp(ts, "1.2.840.10008.1.2.4.50") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.51") == 0;
}

/* Pixels decoded from an always-lossy syntax are being re-encoded: keep what
 * the standard says once lost is never regained (PS3.3 C.7.6.1.1.5: Lossy
 * Image Compression stays 01 after decompression). A source that did not
 * say so gets 01, and, when it gave no ratio or method either, the ratio of
 * its fragments and the JPEG method, so that the two lists stay in step. */
static int note_lossy_source(struct dcm_dataset *ds, const char *ts,
                             const struct ferry_frame *g, uint32_t frames)
{
    if (!always_lossy(ts))
        return 0;
    char v[8];
    if (dcm_dataset_get_cstr(ds, DCM_TAG_LossyImageCompression, 0, v, sizeof v) >= 0 &&
        strcmp(v, "01") == 0)
        return 0;
    int rc = dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompression, DCM_VR_CS, "01");
    if (rc < 0 || dcm_dataset_get(ds, DCM_TAG_LossyImageCompressionRatio) ||
        dcm_dataset_get(ds, DCM_TAG_LossyImageCompressionMethod))
        return rc;
    const struct dcm_element *pd = dcm_dataset_get(ds, DCM_TAG_PixelData);
    uint64_t coded = 0;
    for (uint32_t i = 0; pd && i < dcm_element_fragment_count(pd); i++) {
        uint32_t len = 0;
        if (dcm_element_fragment(pd, i, NULL, &len, NULL) == 0)
            coded += len;
    }
    if (coded > 0) {
        char r[17];
        snprintf(r, sizeof r, "%.2f", (double)work_frame_size(g) * frames / (double)coded);
        if ((rc = dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompressionRatio, DCM_VR_DS,
                                         r)) < 0)
            return rc;
    }
    return coded > 0 ? dcm_dataset_set_string(ds, DCM_TAG_LossyImageCompressionMethod,
                                              DCM_VR_CS, "ISO_10918_1")
                     : 0;
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
    struct ferry_frame fg = *g;
    uint8_t *buf = NULL;
    for (uint32_t i = 0; i < frames; i++) {
        const uint8_t *p;
        size_t len;
        int rc = work_instance_frame(inst, i, &p, &len, &fg, err);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        if (frames == 1 && padded == total && (buf = work_instance_take_frame(inst, 0)))
            break; /* a decoded frame only this run reads becomes the value: no copy */
        if (!buf && !(buf = malloc(padded ? padded : 2)))
            return ferry_error_set(err, -ENOMEM, "pixel data: out of memory");
        memcpy(buf + (size_t)i * flen, p, flen);
    }
    if (padded != total)
        buf[total] = 0;
    enum dcm_vr vr = g->bits_allocated <= 8 ? DCM_VR_OB : DCM_VR_OW;
    int rc = dcm_dataset_set_take(inst->ds, DCM_TAG_PixelData, vr, buf, (uint32_t)padded);
    if (rc < 0) {
        free(buf);
        return ferry_error_set(err, rc, "pixel data: cannot replace it");
    }
    remove_encoding_tables(inst->ds);
    if ((rc = set_pixel_module(inst->ds, &fg)) < 0 ||
        (rc = dcm_dataset_set_transfer_syntax(inst->ds, DCM_UID_ExplicitVRLittleEndian)) < 0)
        return ferry_error_set(err, rc, "pixel data: cannot update the pixel module");
    return 0;
}

bool work_wants_extended_offsets(enum work_offset_table mode, const uint64_t *lengths,
                                 uint32_t frames)
{
    if (mode != WORK_OFFSET_TABLE_AUTO)
        return mode == WORK_OFFSET_TABLE_EXTENDED;
    /* The Basic Offset Table's entry of the last frame: every item before
     * it, 8 bytes of tag and length and the fragment padded to even. */
    uint64_t at = 0;
    for (uint32_t i = 0; i + 1 < frames; i++)
        at += 8 + lengths[i] + (lengths[i] & 1);
    return at > UINT32_MAX;
}

/* The Extended Offset Table (PS3.3 C.7.6.3.1.8), for one fragment per frame
 * and an empty Basic Offset Table: the 64-bit offset of each frame's item tag
 * from the first item after the Basic Offset Table, and each frame's length
 * (the coded bytes, without the pad byte an odd frame gets). */
static int set_extended_offset_table(struct dcm_dataset *ds, const uint64_t *lengths,
                                     uint32_t frames)
{
    uint8_t *off = malloc((size_t)frames * 8), *len = malloc((size_t)frames * 8);
    if (!off || !len) {
        free(off);
        free(len);
        return -ENOMEM;
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < frames; i++) {
        for (int b = 0; b < 8; b++) { /* OV values are little endian */
            off[8 * i + b] = (uint8_t)(at >> (8 * b));
            len[8 * i + b] = (uint8_t)(lengths[i] >> (8 * b));
        }
        at += 8 + lengths[i] + (lengths[i] & 1);
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

/* The codec's output of frame i agrees with frame 0's: one pixel module
 * describes every frame. */
static int check_same_layout(const struct ferry_codec *codec, const struct ferry_encoded *enc,
                             uint32_t i, struct ferry_error **err)
{
    const struct ferry_frame *a = &enc[0].frame, *b = &enc[i].frame;
    if (strncmp(a->photometric, b->photometric, sizeof a->photometric) == 0 &&
        a->planar_configuration == b->planar_configuration)
        return 0;
    return ferry_error_set(err, -EPROTO,
                           "pixel data: the %s encoder made frame %u %.24s (planar %u) but "
                           "frame 0 %.24s (planar %u)",
                           codec->name, i, b->photometric, b->planar_configuration,
                           a->photometric, a->planar_configuration);
}

static int encode_with(struct ferry_instance *inst, const struct ferry_codec *codec,
                       void *state, const struct ferry_frame *g, uint32_t frames,
                       const struct work_encode_opts *opts, bool *lossy,
                       struct ferry_error **err)
{
    const struct ferry_host *host = work_host();
    struct ferry_encoded *enc = calloc(frames, sizeof *enc);
    uint64_t *lengths = calloc(frames, sizeof *lengths);
    int rc = 0;
    uint32_t done = 0;
    if (!enc || !lengths || frames > UINT32_MAX / 8) {
        rc = ferry_error_set(err, -ENOMEM, "pixel data: out of memory for %u frames", frames);
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
        if (fg.high_bit + 1 != fg.bits_stored) {
            /* Every codec codes the low Bits Stored bits of a sample. */
            rc = ferry_error_set(err, -ENOTSUP,
                                 "pixel data: High Bit %u with Bits Stored %u: only samples "
                                 "whose High Bit is Bits Stored - 1 can be compressed",
                                 fg.high_bit, fg.bits_stored);
            goto out;
        }
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        enc[done].size = sizeof enc[done];
        rc = codec->encode(state, host, &fg, p, len, &enc[done], &diag);
        if (rc == 0 && (!enc[done].bytes || enc[done].length == 0))
            rc = -EPROTO;
        if (rc < 0) {
            ferry_error_set(err, rc, "pixel data: frame %u: %s encoder: %s", done, codec->name,
                            diag.message[0] ? diag.message
                            : rc == -EPROTO ? "it returned no bytes"
                                            : "failed");
            goto out;
        }
        if ((rc = check_same_layout(codec, enc, done, err)) < 0)
            goto out;
        native += len;
        compressed += enc[done].length;
        lengths[done] = enc[done].length;
        any_lossy |= enc[done].lossy != 0;
    }

    for (uint32_t i = 0; i < frames; i++)
        if (enc[i].length > UINT32_MAX - 1) {
            rc = ferry_error_set(err, -E2BIG, "pixel data: frame %u coded in %zu bytes, more "
                                 "than a fragment holds", i, enc[i].length);
            goto out;
        }
    /* From here on ds changes: only a failed allocation can stop it. */
    struct dcm_dataset *ds = inst->ds;
    if ((rc = dcm_dataset_set_encapsulated(ds)) < 0) {
        ferry_error_set(err, rc, "pixel data: cannot replace it");
        goto out;
    }
    for (uint32_t i = 0; i < frames; i++) {
        /* One fragment per frame (PS3.5 A.4); the codec's buffer is taken
         * over when it is already of even length. */
        if (enc[i].length % 2 == 0 &&
            dcm_dataset_add_fragment_take(ds, enc[i].bytes, (uint32_t)enc[i].length) == 0) {
            enc[i].bytes = NULL;
            continue;
        }
        if ((rc = dcm_dataset_add_fragment(ds, enc[i].bytes, (uint32_t)enc[i].length)) < 0) {
            ferry_error_set(err, rc, "pixel data: cannot add the fragment of frame %u", i);
            goto out;
        }
    }
    remove_encoding_tables(ds);
    if (work_wants_extended_offsets(opts->offset_table, lengths, frames))
        rc = set_extended_offset_table(ds, lengths, frames);
    else if (!work_wants_extended_offsets(WORK_OFFSET_TABLE_AUTO, lengths, frames))
        rc = dcm_dataset_fill_offset_table(ds);
    /* else: offset-table basic past 4 GiB, the Basic Offset Table stays empty */
    if (rc < 0) {
        ferry_error_set(err, rc, "pixel data: cannot write its offset table");
        goto out;
    }
    if ((rc = set_pixel_module(ds, &enc[0].frame)) < 0 ||
        (rc = dcm_dataset_set_transfer_syntax(ds, codec->transfer_syntax)) < 0) {
        ferry_error_set(err, rc, "pixel data: cannot update the pixel module");
        goto out;
    }
    if (any_lossy)
        rc = set_lossy_attributes(ds, codec->transfer_syntax,
                                  compressed ? (double)native / (double)compressed : 0,
                                  opts->new_uid_on_lossy, err);
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
                         void *codec_state, const struct work_encode_opts *opts, bool *lossy,
                         struct ferry_error **err)
{
    static const struct work_encode_opts defaults = { .new_uid_on_lossy = true };
    if (!opts)
        opts = &defaults;
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
    if ((rc = note_lossy_source(inst->ds, now, &g, frames)) < 0)
        return ferry_error_set(err, rc, "pixel data: cannot mark the lossy source as such");
    if (codec)
        rc = encode_with(inst, codec, codec_state, &g, frames, opts, lossy, err);
    else
        rc = encode_native(inst, &g, frames, err);
    if (rc == 0) {
        /* the frames are now what ds encodes */
        work_instance_free_frames(inst);
        inst->pixels_replaced = false;
        inst->reencoded = true;
    }
    return rc;
}
