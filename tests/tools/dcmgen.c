/* dcmgen — deterministic DICOM test data for ferry's tests and benchmarks.
 *
 *   dcmgen ct --slices N --out DIR [--seed S] [--rows R --cols C] [--signed]
 *             [--ts SYNTAX] [--charset TERM --patient-name NAME]
 *       A CT series: one study, one series, N axial slices of a synthetic
 *       body phantom with noise (16 bits allocated, 12 stored, MONOCHROME2),
 *       DIR/CT000001.dcm ... Lossless codecs compress it about 2.5-3.5:1,
 *       like real CT.
 *
 *   dcmgen image --out FILE [--rows R] [--cols C] [--bits-allocated 8|16]
 *                [--bits-stored N] [--signed] [--spp 1|3] [--photometric P]
 *                [--planar 0|1] [--frames N] [--seed S] [--ts SYNTAX]
 *                [--charset TERM --patient-name NAME]
 *       One image of a chosen geometry for codec tests. Frames are generated
 *       and written one at a time: --frames 2000 at 512x512x16 bits writes a
 *       1 GiB file without holding it in memory.
 *
 * SYNTAX is implicit, explicit (the default), big, deflated, or a UID of one
 * of those. The same arguments give the same bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dcm/dcm.h"

/* ---------------------------------------------------------------------------
 * Determinism: splitmix64, seeded per purpose */

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    uint64_t x = r->s;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Approximately normal noise with standard deviation 1 (sum of four
 * uniforms), scaled by 256: returns sigma-units * 256. */
static int32_t noise256(struct rng *r)
{
    uint64_t x = next(r);
    int32_t s = (int32_t)(x & 0xFFFF) + (int32_t)((x >> 16) & 0xFFFF) +
                (int32_t)((x >> 32) & 0xFFFF) + (int32_t)((x >> 48) & 0xFFFF) - 2 * 65536;
    /* four uniforms on [0,1) have variance 1/3: s / 65536 has sd 0.577 */
    return (int32_t)((int64_t)s * 256 * 1732 / 1000 / 65536);
}

/* A UID under 2.25 from a 128-bit number derived from the seed and a label. */
static void make_uid(char out[65], uint64_t seed, const char *label, uint64_t n)
{
    uint64_t h = seed;
    for (const char *p = label; *p; p++)
        h = mix(h ^ (uint8_t)*p);
    uint64_t hi = mix(h ^ n), lo = mix(hi ^ 0xD1B54A32D192ED03ull);
    hi &= 0x7FFFFFFFFFFFFFFFull; /* keep it well under 39 digits */
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(hi >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    char digits[48];
    int nd = 0;
    bool nonzero = true;
    while (nonzero) {
        unsigned rem = 0;
        nonzero = false;
        for (int i = 0; i < 16; i++) {
            unsigned cur = (rem << 8) | b[i];
            b[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            nonzero |= b[i] != 0;
        }
        digits[nd++] = (char)('0' + rem);
    }
    memcpy(out, "2.25.", 5);
    for (int i = 0; i < nd; i++)
        out[5 + i] = digits[nd - 1 - i];
    out[5 + nd] = '\0';
}

/* ---------------------------------------------------------------------------
 * Options */

struct opts {
    const char *out;
    uint64_t seed;
    uint32_t slices, rows, cols, frames;
    uint32_t bits_allocated, bits_stored, spp, planar;
    bool is_signed;
    const char *photometric;
    const char *ts;
    const char *charset, *patient_name;
};

static const char *syntax_uid(const char *name)
{
    if (!name || strcmp(name, "explicit") == 0)
        return DCM_UID_ExplicitVRLittleEndian;
    if (strcmp(name, "implicit") == 0)
        return DCM_UID_ImplicitVRLittleEndian;
    if (strcmp(name, "big") == 0)
        return DCM_UID_ExplicitVRBigEndian;
    if (strcmp(name, "deflated") == 0)
        return DCM_UID_DeflatedExplicitVRLittleEndian;
    const struct dcm_ts *ts = dcm_ts_lookup(name);
    return ts && dcm_ts_is_uncompressed(ts) ? ts->uid : NULL;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dcmgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

#define CHECK(expr)                                                          \
    do {                                                                     \
        int rc_ = (expr);                                                    \
        if (rc_ < 0) {                                                       \
            fprintf(stderr, "dcmgen: %s failed: %s\n", #expr, strerror(-rc_)); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* Attributes every generated instance has: patient, study, equipment. */
static void common_attributes(struct dcm_dataset *ds, const struct opts *o, const char *study,
                              const char *series, const char *modality)
{
    if (o->charset)
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_SpecificCharacterSet, DCM_VR_NONE, o->charset));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_StudyDate, DCM_VR_NONE, "20240301"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_StudyTime, DCM_VR_NONE, "101500"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_AccessionNumber, DCM_VR_NONE, "A20240301"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_Modality, DCM_VR_NONE, modality));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_Manufacturer, DCM_VR_NONE, "ferry dcmgen"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_InstitutionName, DCM_VR_NONE,
                                 "Township Hospital 7"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_ReferringPhysicianName, DCM_VR_NONE, ""));
    const char *name = o->patient_name ? o->patient_name : "Test^Patient";
    int rc = dcm_dataset_set_utf8(ds, DCM_TAG_PatientName, DCM_VR_NONE, name);
    if (rc == -EILSEQ) {
        fprintf(stderr, "dcmgen: '%s' cannot be written in %s\n", name,
                o->charset ? o->charset : "the default character set (use --charset)");
        exit(2);
    }
    CHECK(rc);
    char id[32];
    snprintf(id, sizeof id, "P%06" PRIu64, o->seed % 1000000);
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_PatientID, DCM_VR_NONE, id));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_PatientBirthDate, DCM_VR_NONE, "19580712"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_PatientSex, DCM_VR_NONE, "M"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_StudyInstanceUID, DCM_VR_NONE, study));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_SeriesInstanceUID, DCM_VR_NONE, series));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_StudyID, DCM_VR_NONE, "1"));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_SeriesNumber, DCM_VR_NONE, 2));
}

/* ---------------------------------------------------------------------------
 * Writing: the data set (all but Pixel Data) through the library, then the
 * Pixel Data element streamed frame by frame. */

struct out {
    FILE *f;
    const char *path;
};

static int file_sink(void *ud, const void *data, size_t len)
{
    struct out *o = ud;
    return fwrite(data, 1, len, o->f) == len ? 0 : -EIO;
}

typedef void (*frame_fn)(void *ud, uint32_t frame, uint8_t *buf, size_t len);

static int write_instance(const char *path, struct dcm_dataset *ds, const char *ts,
                          enum dcm_vr pixel_vr, uint32_t frames, size_t frame_len,
                          frame_fn make, void *ud, size_t swap_unit)
{
    uint64_t total = (uint64_t)frames * frame_len;
    uint64_t padded = total + (total & 1);
    if (padded > 0xFFFFFFFEull)
        return fail("%s: %" PRIu64 " bytes of pixel data do not fit one element", path, total);
    const struct dcm_ts *tsi = dcm_ts_lookup(ts);
    struct ferry_error *err = NULL;
    struct dcm_meta_info meta = { .transfer_syntax = ts, .source_ae_title = "DCMGEN" };
    struct out o = { fopen(path, "wb"), path };
    if (!o.f)
        return fail("%s: %s", path, strerror(errno));
    int rc = 0;
    if (tsi->deflated) {
        /* A deflated data set is one stream: build it whole (small images). */
        uint8_t *px = malloc(padded ? padded : 1);
        if (!px) {
            fclose(o.f);
            return fail("%s: out of memory", path);
        }
        for (uint32_t i = 0; i < frames; i++)
            make(ud, i, px + (size_t)i * frame_len, frame_len);
        if (padded != total)
            px[total] = 0;
        CHECK(dcm_dataset_set_take(ds, DCM_TAG_PixelData, pixel_vr, px, (uint32_t)padded));
        rc = dcm_write_part10(ds, &meta, 0, file_sink, &o, &err);
        dcm_dataset_remove(ds, DCM_TAG_PixelData);
    } else {
        rc = dcm_write_part10(ds, &meta, 0, file_sink, &o, &err);
        uint8_t hdr[12];
        int n = rc < 0 ? -1 : dcm_encode_header(ts, DCM_TAG_PixelData, pixel_vr, (uint32_t)padded, hdr);
        if (rc == 0 && (n < 0 || fwrite(hdr, 1, (size_t)n, o.f) != (size_t)n))
            rc = -EIO;
        uint8_t *buf = malloc(frame_len ? frame_len : 1);
        if (!buf)
            rc = -ENOMEM;
        for (uint32_t i = 0; i < frames && rc == 0; i++) {
            make(ud, i, buf, frame_len);
            if (tsi->big_endian && swap_unit == 2)
                for (size_t k = 0; k + 1 < frame_len; k += 2) {
                    uint8_t t = buf[k];
                    buf[k] = buf[k + 1];
                    buf[k + 1] = t;
                }
            if (fwrite(buf, 1, frame_len, o.f) != frame_len)
                rc = -EIO;
        }
        if (rc == 0 && padded != total && fputc(0, o.f) == EOF)
            rc = -EIO;
        free(buf);
    }
    if (fclose(o.f) != 0 && rc == 0)
        rc = -EIO;
    if (rc < 0) {
        fail("%s: %s", path, err ? ferry_error_message(err) : strerror(-rc));
        ferry_error_free(err);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * The CT phantom */

struct ct {
    const struct opts *o;
    uint32_t slice;
};

/* Hounsfield units of the phantom at (x, y) in mm from the centre, slice z
 * in 0..1 from feet to head: body ellipse of soft tissue with a fat rim,
 * lungs, spine, ribs, a few organs of different density. */
static int phantom_hu(double x, double y, double z)
{
    double bx = 170 - 25 * z, by = 120 - 10 * z;
    double e = (x * x) / (bx * bx) + (y * y) / (by * by);
    if (e > 1.0)
        return y > 150 ? -1000 : -1000; /* air (table below is left out) */
    int hu = e > 0.85 ? -100 : 40;     /* subcutaneous fat, then soft tissue */
    /* lungs in the upper half of the series */
    if (z > 0.45) {
        for (int side = -1; side <= 1; side += 2) {
            double lx = x - side * 70, ly = y + 10;
            if ((lx * lx) / (55.0 * 55.0) + (ly * ly) / (75.0 * 75.0) < 1.0)
                hu = -850;
        }
    } else {
        /* liver, kidneys */
        double lx = x + 60, ly = y + 20;
        if ((lx * lx) / (70.0 * 70.0) + (ly * ly) / (55.0 * 55.0) < 1.0)
            hu = 60;
        for (int side = -1; side <= 1; side += 2) {
            double kx = x - side * 65, ky = y - 50;
            if ((kx * kx) / (22.0 * 22.0) + (ky * ky) / (35.0 * 35.0) < 1.0)
                hu = 30;
        }
    }
    /* aorta with contrast */
    double ax = x - 15, ay = y - 40;
    if (ax * ax + ay * ay < 12.0 * 12.0)
        hu = 250;
    /* vertebra: cortical ring, cancellous inside */
    double vx = x, vy = y - 80;
    double r2 = vx * vx + vy * vy;
    if (r2 < 22.0 * 22.0)
        hu = r2 > 17.0 * 17.0 ? 1100 : 300;
    /* ribs: small bony spots on an ellipse */
    if (e > 0.7 && e < 0.8) {
        double a = atan2(y, x) * 12;
        if (a - floor(a) < 0.15)
            hu = 800;
    }
    return hu;
}

static void ct_frame(void *ud, uint32_t frame, uint8_t *buf, size_t len)
{
    (void)frame;
    struct ct *c = ud;
    const struct opts *o = c->o;
    struct rng r = { mix(o->seed ^ ((uint64_t)c->slice << 20) ^ 0x5EEDu) };
    double z = o->slices > 1 ? (double)c->slice / (o->slices - 1) : 0.5;
    double spacing = 0.7;
    uint32_t w = o->cols, h = o->rows;
    /* The FOV circle: outside it the scanner pads with -2000 (stored 0 when
     * unsigned), a realistic large constant area. */
    double fov = (w < h ? w : h) / 2.0;
    for (uint32_t yy = 0; yy < h; yy++) {
        for (uint32_t xx = 0; xx < w; xx++) {
            double dx = xx - w / 2.0, dy = yy - h / 2.0;
            int hu;
            if (dx * dx + dy * dy > fov * fov) {
                hu = -2000;
            } else {
                hu = phantom_hu(dx * spacing, dy * spacing, z);
                /* quantum noise: larger in dense tissue, some in air */
                int sigma = hu < -900 ? 6 : hu < -500 ? 18 : 14;
                hu += (noise256(&r) * sigma) / 256;
            }
            int32_t v;
            if (o->is_signed) {
                v = hu < -2048 ? -2048 : hu > 2047 ? 2047 : hu;
            } else {
                v = hu + 1024;
                v = v < 0 ? 0 : v > 4095 ? 4095 : v;
            }
            size_t k = ((size_t)yy * w + xx) * 2;
            if (k + 1 < len) {
                buf[k] = (uint8_t)v;
                buf[k + 1] = (uint8_t)((uint32_t)v >> 8);
            }
        }
    }
}

static int cmd_ct(const struct opts *o)
{
    const char *ts = syntax_uid(o->ts);
    if (!ts)
        return fail("--ts %s: not an uncompressed syntax", o->ts);
    if (!o->out)
        return fail("ct needs --out DIR");
    if (mkdir(o->out, 0755) < 0 && errno != EEXIST)
        return fail("%s: %s", o->out, strerror(errno));
    char study[65], series[65], frame_ref[65], inst[65];
    make_uid(study, o->seed, "study", 0);
    make_uid(series, o->seed, "series", 0);
    make_uid(frame_ref, o->seed, "frame-of-reference", 0);
    for (uint32_t s = 0; s < o->slices; s++) {
        struct dcm_dataset *ds = dcm_dataset_new();
        if (!ds)
            return fail("out of memory");
        make_uid(inst, o->seed, "instance", s);
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_ImageType, DCM_VR_NONE, "ORIGINAL\\PRIMARY\\AXIAL"));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_NONE, DCM_UID_CTImageStorage));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, inst));
        common_attributes(ds, o, study, series, "CT");
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_SeriesDescription, DCM_VR_NONE, "ABDOMEN-CHEST 1.25mm"));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_BodyPartExamined, DCM_VR_NONE, "CHEST"));
        /* What dciodvfy asks of a CT Image besides the above: Patient
         * Position (General Series, 2C: required for CT), Position
         * Reference Indicator (Frame of Reference, 2: may be empty) and
         * Acquisition Number (CT Image, 2). */
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_PatientPosition, DCM_VR_NONE, "FFS"));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_PositionReferenceIndicator, DCM_VR_NONE, ""));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_AcquisitionNumber, DCM_VR_NONE, 1));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_SliceThickness, DCM_VR_NONE, 1.25));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_KVP, DCM_VR_NONE, 120));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_InstanceNumber, DCM_VR_NONE, s + 1));
        double zpos = -300.0 + 1.25 * s;
        char ipp[64];
        snprintf(ipp, sizeof ipp, "-179.2\\-179.2\\%.2f", zpos);
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_ImagePositionPatient, DCM_VR_NONE, ipp));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_ImageOrientationPatient, DCM_VR_NONE,
                                     "1\\0\\0\\0\\1\\0"));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_FrameOfReferenceUID, DCM_VR_NONE, frame_ref));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_SliceLocation, DCM_VR_NONE, zpos));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_SamplesPerPixel, DCM_VR_NONE, 1));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_NONE, "MONOCHROME2"));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_NONE, o->rows));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_NONE, o->cols));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_PixelSpacing, DCM_VR_NONE, "0.7\\0.7"));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_NONE, 16));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_NONE, 12));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_NONE, 11));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_PixelRepresentation, DCM_VR_NONE, o->is_signed));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_WindowCenter, DCM_VR_NONE, "40"));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_WindowWidth, DCM_VR_NONE, "400"));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_RescaleIntercept, DCM_VR_NONE,
                                     o->is_signed ? 0 : -1024));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_RescaleSlope, DCM_VR_NONE, 1));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_RescaleType, DCM_VR_NONE, "HU"));
        char path[4096];
        snprintf(path, sizeof path, "%s/CT%06u.dcm", o->out, s + 1);
        struct ct c = { o, s };
        int rc = write_instance(path, ds, ts, DCM_VR_OW, 1, (size_t)o->rows * o->cols * 2,
                                ct_frame, &c, 2);
        dcm_dataset_unref(ds);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Single images of a chosen geometry */

struct img {
    const struct opts *o;
    bool ybr;
};

/* A value in [lo, hi] for sample `c` at (x, y) of frame f: gradients, a disc,
 * stripes and a little noise, so codecs see edges and smooth areas. */
static int32_t pattern(const struct opts *o, struct rng *r, uint32_t f, double shift, uint32_t x,
                       uint32_t y, uint32_t c, int32_t lo, int32_t hi)
{
    int64_t span = (int64_t)hi - lo;
    double fx = o->cols > 1 ? (double)x / (o->cols - 1) : 0;
    double fy = o->rows > 1 ? (double)y / (o->rows - 1) : 0;
    double v = 0.5 * fx + 0.3 * fy + 0.05 * c;
    double dx = fx - 0.5 - shift, dy = fy - 0.5;
    if (dx * dx + dy * dy < 0.06)
        v = 0.9 - 0.2 * c;
    if (((x / 8) + f) % 16 == 0)
        v = 0.1;
    v += (noise256(r) / 256.0) * 0.01;
    if (v < 0)
        v = 0;
    if (v > 1)
        v = 1;
    return (int32_t)(lo + (int64_t)(v * (double)span + 0.5));
}

static void img_frame(void *ud, uint32_t frame, uint8_t *buf, size_t len)
{
    struct img *im = ud;
    const struct opts *o = im->o;
    struct rng r = { mix(o->seed ^ ((uint64_t)frame << 24) ^ 0x1A6Eu) };
    uint32_t bytes = o->bits_allocated / 8;
    int32_t lo, hi;
    if (o->is_signed) {
        lo = -(1 << (o->bits_stored - 1));
        hi = (1 << (o->bits_stored - 1)) - 1;
    } else {
        lo = 0;
        hi = (int32_t)((1u << o->bits_stored) - 1);
    }
    size_t plane = (size_t)o->rows * o->cols;
    double shift = 0.1 * sin(frame * 0.3); /* the disc moves from frame to frame */
    for (uint32_t y = 0; y < o->rows; y++)
        for (uint32_t x = 0; x < o->cols; x++)
            for (uint32_t c = 0; c < o->spp; c++) {
                int32_t v = pattern(o, &r, frame, shift, x, y, c, lo, hi);
                if (im->ybr && c > 0)
                    v = (lo + hi) / 2 + (v - (lo + hi) / 2) / 4; /* chroma near neutral */
                size_t px = (size_t)y * o->cols + x;
                size_t idx = o->planar ? c * plane + px : px * o->spp + c;
                size_t k = idx * bytes;
                if (k + bytes > len)
                    continue;
                uint32_t u = (uint32_t)v; /* two's complement, sign-extended */
                buf[k] = (uint8_t)u;
                if (bytes == 2)
                    buf[k + 1] = (uint8_t)(u >> 8);
            }
}

static int cmd_image(const struct opts *o)
{
    const char *ts = syntax_uid(o->ts);
    if (!ts)
        return fail("--ts %s: not an uncompressed syntax", o->ts);
    if (!o->out)
        return fail("image needs --out FILE");
    if (o->bits_allocated != 8 && o->bits_allocated != 16)
        return fail("--bits-allocated must be 8 or 16");
    if (o->bits_stored < 1 || o->bits_stored > o->bits_allocated)
        return fail("--bits-stored must be 1..%u", o->bits_allocated);
    if (o->spp != 1 && o->spp != 3)
        return fail("--spp must be 1 or 3");
    if (o->rows == 0 || o->cols == 0 || o->rows > 65535 || o->cols > 65535 || o->frames == 0)
        return fail("--rows, --cols and --frames must be positive (rows, cols <= 65535)");
    const char *pi = o->photometric ? o->photometric : o->spp == 3 ? "RGB" : "MONOCHROME2";
    bool ybr = strncmp(pi, "YBR", 3) == 0;
    char study[65], series[65], inst[65];
    make_uid(study, o->seed, "study", 0);
    make_uid(series, o->seed, "image-series", 0);
    make_uid(inst, o->seed, "image", o->frames);
    struct dcm_dataset *ds = dcm_dataset_new();
    if (!ds)
        return fail("out of memory");
    const char *sop = DCM_UID_SecondaryCaptureImageStorage;
    if (o->frames > 1)
        sop = o->spp == 3 ? DCM_UID_MultiFrameTrueColorSecondaryCaptureImageStorage
              : o->bits_allocated == 8 ? DCM_UID_MultiFrameGrayscaleByteSecondaryCaptureImageStorage
                                       : DCM_UID_MultiFrameGrayscaleWordSecondaryCaptureImageStorage;
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_ImageType, DCM_VR_NONE, "DERIVED\\SECONDARY"));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_SOPClassUID, DCM_VR_NONE, sop));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_SOPInstanceUID, DCM_VR_NONE, inst));
    common_attributes(ds, o, study, series, "OT");
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_ConversionType, DCM_VR_NONE, "SYN"));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_InstanceNumber, DCM_VR_NONE, 1));
    /* Type 2C elements an SC image carries empty (no body part, no
     * orientation), and the SC Multi-frame module's Type 1 and 1C ones. The
     * multi-frame SC IODs allow MONOCHROME2 and RGB only: other
     * photometric interpretations are still written, for codec tests, and
     * dciodvfy says so. */
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_Laterality, DCM_VR_NONE, ""));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_PatientOrientation, DCM_VR_NONE, ""));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_BurnedInAnnotation, DCM_VR_NONE, "NO"));
    if (o->frames > 1 && strcmp(pi, "MONOCHROME2") == 0) {
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_PresentationLUTShape, DCM_VR_NONE, "IDENTITY"));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_RescaleIntercept, DCM_VR_NONE, 0));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_RescaleSlope, DCM_VR_NONE, 1));
        CHECK(dcm_dataset_set_string(ds, DCM_TAG_RescaleType, DCM_VR_NONE, "US"));
    }
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_SamplesPerPixel, DCM_VR_NONE, o->spp));
    CHECK(dcm_dataset_set_string(ds, DCM_TAG_PhotometricInterpretation, DCM_VR_NONE, pi));
    if (o->spp == 3)
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_PlanarConfiguration, DCM_VR_NONE, o->planar));
    if (o->frames > 1) {
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_NumberOfFrames, DCM_VR_NONE, o->frames));
        CHECK(dcm_dataset_set_uint(ds, DCM_TAG_FrameIncrementPointer, DCM_VR_NONE,
                                   DCM_TAG_FrameTime));
        CHECK(dcm_dataset_set_double(ds, DCM_TAG_FrameTime, DCM_VR_NONE, 33.3));
    }
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_Rows, DCM_VR_NONE, o->rows));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_Columns, DCM_VR_NONE, o->cols));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_BitsAllocated, DCM_VR_NONE, o->bits_allocated));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_BitsStored, DCM_VR_NONE, o->bits_stored));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_HighBit, DCM_VR_NONE, o->bits_stored - 1));
    CHECK(dcm_dataset_set_uint(ds, DCM_TAG_PixelRepresentation, DCM_VR_NONE, o->is_signed));
    size_t frame_len = (size_t)o->rows * o->cols * o->spp * (o->bits_allocated / 8);
    struct img im = { o, ybr };
    int rc = write_instance(o->out, ds, ts, o->bits_allocated == 8 ? DCM_VR_OB : DCM_VR_OW,
                            o->frames, frame_len, img_frame, &im, o->bits_allocated / 8);
    dcm_dataset_unref(ds);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Command line */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dcmgen ct --slices N --out DIR [--seed S] [--rows R] [--cols C] [--signed]\n"
            "                 [--ts SYNTAX] [--charset TERM] [--patient-name NAME]\n"
            "       dcmgen image --out FILE [--rows R] [--cols C] [--bits-allocated 8|16]\n"
            "                 [--bits-stored N] [--signed] [--spp 1|3] [--photometric P]\n"
            "                 [--planar 0|1] [--frames N] [--seed S] [--ts SYNTAX]\n"
            "                 [--charset TERM] [--patient-name NAME]\n"
            "SYNTAX: implicit, explicit (default), big, deflated, or its UID.\n"
            "NAME is UTF-8; TERM a Specific Character Set (GB18030, ISO_IR 192, ...).\n");
}

static bool number(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v > max)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    struct opts o = { .seed = 1, .slices = 400, .rows = 512, .cols = 512, .frames = 1,
                      .bits_allocated = 16, .bits_stored = 12, .spp = 1 };
    bool bits_stored_set = false;
    static const struct option longopts[] = {
        { "out", required_argument, NULL, 'o' },
        { "seed", required_argument, NULL, 's' },
        { "slices", required_argument, NULL, 'n' },
        { "rows", required_argument, NULL, 'r' },
        { "cols", required_argument, NULL, 'c' },
        { "frames", required_argument, NULL, 'f' },
        { "bits-allocated", required_argument, NULL, 'a' },
        { "bits-stored", required_argument, NULL, 'b' },
        { "signed", no_argument, NULL, 'S' },
        { "spp", required_argument, NULL, 'p' },
        { "photometric", required_argument, NULL, 'P' },
        { "planar", required_argument, NULL, 'l' },
        { "ts", required_argument, NULL, 't' },
        { "charset", required_argument, NULL, 'C' },
        { "patient-name", required_argument, NULL, 'N' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    uint64_t v;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 's':
            if (!number(optarg, UINT64_MAX, &o.seed))
                return fail("--seed %s: not a number", optarg) + 1;
            break;
        case 'n': case 'r': case 'c': case 'f': case 'a': case 'b': case 'p': case 'l':
            if (!number(optarg, c == 'f' ? 1000000 : 65535, &v))
                return fail("%s: not a number in range", optarg) + 1;
            if (c == 'n') o.slices = (uint32_t)v;
            if (c == 'r') o.rows = (uint32_t)v;
            if (c == 'c') o.cols = (uint32_t)v;
            if (c == 'f') o.frames = (uint32_t)v;
            if (c == 'a') o.bits_allocated = (uint32_t)v;
            if (c == 'b') { o.bits_stored = (uint32_t)v; bits_stored_set = true; }
            if (c == 'p') o.spp = (uint32_t)v;
            if (c == 'l') o.planar = v ? 1 : 0;
            break;
        case 'S': o.is_signed = true; break;
        case 'P': o.photometric = optarg; break;
        case 't': o.ts = optarg; break;
        case 'C': o.charset = optarg; break;
        case 'N': o.patient_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "ct") == 0)
        return cmd_ct(&o);
    if (strcmp(cmd, "image") == 0) {
        if (!bits_stored_set)
            o.bits_stored = o.bits_allocated == 8 ? 8 : 12;
        return cmd_image(&o);
    }
    usage(stderr);
    return 2;
}
