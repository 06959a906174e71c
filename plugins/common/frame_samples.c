/* Native frames <-> integer rows: see frame_samples.h. */
#include "frame_samples.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fs_diag(struct ferry_diag *d, int32_t param, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    d->param = param;
}

int fs_layout_from_frame(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         struct fs_layout *l, char *msg, size_t msglen)
{
    memset(l, 0, sizeof *l);
    if (g->rows == 0 || g->columns == 0 || g->rows > 65535 || g->columns > 65535) {
        snprintf(msg, msglen, "unsupported frame size %ux%u (rows and columns must be 1 to 65535)",
                 (unsigned)g->rows, (unsigned)g->columns);
        return -EINVAL;
    }
    if (g->samples_per_pixel != 1 && g->samples_per_pixel != 3) {
        snprintf(msg, msglen, "unsupported Samples per Pixel %u (1 or 3)",
                 (unsigned)g->samples_per_pixel);
        return -EINVAL;
    }
    unsigned ba = g->bits_allocated;
    bool ok = (ba == 8 && (allocs & FS_ALLOC_8)) || (ba == 16 && (allocs & FS_ALLOC_16)) ||
              (ba == 32 && (allocs & FS_ALLOC_32));
    if (!ok) {
        snprintf(msg, msglen, "unsupported Bits Allocated %u (this codec takes%s%s%s)", ba,
                 (allocs & FS_ALLOC_8) ? " 8" : "", (allocs & FS_ALLOC_16) ? " 16" : "",
                 (allocs & FS_ALLOC_32) ? " 32" : "");
        return -EINVAL;
    }
    uint32_t maxbs = ba < max_bits_stored ? ba : max_bits_stored;
    if (maxbs > 31)
        maxbs = 31;
    if (g->bits_stored < 1 || g->bits_stored > maxbs) {
        snprintf(msg, msglen, "unsupported Bits Stored %u with Bits Allocated %u (1 to %u)",
                 (unsigned)g->bits_stored, ba, (unsigned)maxbs);
        return -EINVAL;
    }
    if (g->high_bit != g->bits_stored - 1) {
        snprintf(msg, msglen, "High Bit %u is not Bits Stored - 1 (%u)", (unsigned)g->high_bit,
                 (unsigned)g->bits_stored - 1);
        return -EINVAL;
    }
    if (g->pixel_representation > 1) {
        snprintf(msg, msglen, "invalid Pixel Representation %u", (unsigned)g->pixel_representation);
        return -EINVAL;
    }
    if (g->samples_per_pixel > 1 && g->planar_configuration > 1) {
        snprintf(msg, msglen, "invalid Planar Configuration %u",
                 (unsigned)g->planar_configuration);
        return -EINVAL;
    }
    l->rows = g->rows;
    l->columns = g->columns;
    l->samples = g->samples_per_pixel;
    l->bytes = ba / 8;
    l->bits_stored = g->bits_stored;
    l->is_signed = g->pixel_representation == 1;
    l->planar = g->samples_per_pixel > 1 && g->planar_configuration == 1;
    l->frame_size = (size_t)l->rows * l->columns * l->samples * l->bytes;
    return 0;
}

/* fs_layout_from_frame with the reason in diag. */
static int layout_or_diag(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                          struct fs_layout *l, struct ferry_diag *diag)
{
    char why[200];
    int rc = fs_layout_from_frame(g, allocs, max_bits_stored, l, why, sizeof why);
    if (rc < 0)
        fs_diag(diag, -1, "%s", why);
    return rc;
}

int fs_layout_for_encode(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         size_t in_len, struct fs_layout *l, struct ferry_diag *diag)
{
    if (layout_or_diag(g, allocs, max_bits_stored, l, diag) < 0)
        return -EINVAL;
    if (in_len != l->frame_size) {
        fs_diag(diag, -1, "the frame has %zu bytes but its geometry needs %zu", in_len,
                l->frame_size);
        return -EINVAL;
    }
    return 0;
}

int fs_layout_for_decode(const struct ferry_frame *g, unsigned allocs, uint32_t max_bits_stored,
                         size_t out_len, struct fs_layout *l, struct ferry_diag *diag)
{
    if (layout_or_diag(g, allocs, max_bits_stored, l, diag) < 0)
        return -EINVAL;
    if (out_len == l->frame_size)
        return 0;
    fs_diag(diag, -1, "the output buffer holds %zu bytes but a %ux%u frame needs %zu", out_len,
            (unsigned)l->columns, (unsigned)l->rows, l->frame_size);
    return -EINVAL;
}

int64_t fs_min_value(const struct fs_layout *l)
{
    return l->is_signed ? -((int64_t)1 << (l->bits_stored - 1)) : 0;
}

int64_t fs_max_value(const struct fs_layout *l)
{
    return l->is_signed ? ((int64_t)1 << (l->bits_stored - 1)) - 1
                        : ((int64_t)1 << l->bits_stored) - 1;
}

/* Where row `row` of component `comp` starts (in samples) and the distance
 * between two of its samples. */
static void row_geometry(const struct fs_layout *l, uint32_t row, uint32_t comp, size_t *start,
                         size_t *stride)
{
    if (l->planar) {
        *start = ((size_t)comp * l->rows + row) * l->columns;
        *stride = 1;
    } else {
        *start = (size_t)row * l->columns * l->samples + comp;
        *stride = l->samples;
    }
}

static inline int32_t norm(uint32_t v, uint32_t mask, unsigned shift, bool is_signed)
{
    if (is_signed)
        return (int32_t)(v << shift) >> shift;
    return (int32_t)(v & mask);
}

void fs_read_row(const uint8_t *frame, const struct fs_layout *l, uint32_t row, uint32_t comp,
                 int32_t *out)
{
    size_t start, stride;
    row_geometry(l, row, comp, &start, &stride);
    unsigned shift = 32 - l->bits_stored;
    uint32_t mask = 0xffffffffu >> shift;
    uint32_t n = l->columns;
    bool sg = l->is_signed;
    switch (l->bytes) {
    case 1: {
        const uint8_t *p = frame + start;
        if (stride == 1) { /* the common case, kept simple enough to vectorise */
            if (sg)
                for (uint32_t i = 0; i < n; i++)
                    out[i] = (int32_t)((uint32_t)p[i] << shift) >> shift;
            else
                for (uint32_t i = 0; i < n; i++)
                    out[i] = (int32_t)(p[i] & mask);
            break;
        }
        for (uint32_t i = 0; i < n; i++, p += stride)
            out[i] = norm(*p, mask, shift, sg);
        break;
    }
    case 2: {
        const uint8_t *p = frame + 2 * start;
        if (stride == 1) {
            if (sg)
                for (uint32_t i = 0; i < n; i++)
                    out[i] = (int32_t)((uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << shift) >> shift;
            else
                for (uint32_t i = 0; i < n; i++)
                    out[i] = (int32_t)((uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) & mask);
            break;
        }
        size_t step = 2 * stride;
        for (uint32_t i = 0; i < n; i++, p += step)
            out[i] = norm((uint32_t)(p[0] | (p[1] << 8)), mask, shift, sg);
        break;
    }
    default: {
        const uint8_t *p = frame + 4 * start;
        size_t step = 4 * stride;
        for (uint32_t i = 0; i < n; i++, p += step) {
            uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                         ((uint32_t)p[3] << 24);
            out[i] = norm(v, mask, shift, sg);
        }
        break;
    }
    }
}

void fs_write_row(uint8_t *frame, const struct fs_layout *l, uint32_t row, uint32_t comp,
                  const int32_t *in)
{
    size_t start, stride;
    row_geometry(l, row, comp, &start, &stride);
    unsigned shift = 32 - l->bits_stored;
    uint32_t mask = 0xffffffffu >> shift;
    bool sg = l->is_signed;
    uint32_t n = l->columns;
    switch (l->bytes) {
    case 1: {
        uint8_t *p = frame + start;
        for (uint32_t i = 0; i < n; i++, p += stride)
            *p = (uint8_t)norm((uint32_t)in[i], mask, shift, sg);
        break;
    }
    case 2: {
        uint8_t *p = frame + 2 * start;
        if (stride == 1) { /* separate loops, simple enough to vectorise */
            if (sg)
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t u = (uint32_t)((int32_t)((uint32_t)in[i] << shift) >> shift);
                    p[2 * i] = (uint8_t)u;
                    p[2 * i + 1] = (uint8_t)(u >> 8);
                }
            else
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t u = (uint32_t)in[i] & mask;
                    p[2 * i] = (uint8_t)u;
                    p[2 * i + 1] = (uint8_t)(u >> 8);
                }
            break;
        }
        size_t step = 2 * stride;
        for (uint32_t i = 0; i < n; i++, p += step) {
            uint32_t u = (uint32_t)norm((uint32_t)in[i], mask, shift, sg);
            p[0] = (uint8_t)u;
            p[1] = (uint8_t)(u >> 8);
        }
        break;
    }
    default: {
        uint8_t *p = frame + 4 * start;
        size_t step = 4 * stride;
        for (uint32_t i = 0; i < n; i++, p += step) {
            uint32_t u = (uint32_t)norm((uint32_t)in[i], mask, shift, sg);
            p[0] = (uint8_t)u;
            p[1] = (uint8_t)(u >> 8);
            p[2] = (uint8_t)(u >> 16);
            p[3] = (uint8_t)(u >> 24);
        }
        break;
    }
    }
}

void fs_normalise(uint8_t *frame, const struct fs_layout *l)
{
    unsigned shift = 32 - l->bits_stored;
    uint32_t mask = 0xffffffffu >> shift;
    size_t count = l->frame_size / l->bytes;
    if (l->bits_stored == 8 * l->bytes)
        return; /* every bit is stored: nothing to mask or extend */
    switch (l->bytes) {
    case 1:
        for (size_t i = 0; i < count; i++)
            frame[i] = (uint8_t)norm(frame[i], mask, shift, l->is_signed);
        break;
    case 2:
        if (l->is_signed)
            for (size_t i = 0; i < count; i++) {
                uint8_t *p = frame + 2 * i;
                uint32_t v = (uint32_t)((int32_t)((uint32_t)(p[0] | (p[1] << 8)) << shift) >> shift);
                p[0] = (uint8_t)v;
                p[1] = (uint8_t)(v >> 8);
            }
        else {
            uint8_t lo = (uint8_t)mask, hi = (uint8_t)(mask >> 8);
            for (size_t i = 0; i < count; i++) {
                frame[2 * i] &= lo;
                frame[2 * i + 1] &= hi;
            }
        }
        break;
    default:
        for (size_t i = 0; i < count; i++) {
            uint8_t *p = frame + 4 * i;
            uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                         ((uint32_t)p[3] << 24);
            v = (uint32_t)norm(v, mask, shift, l->is_signed);
            p[0] = (uint8_t)v;
            p[1] = (uint8_t)(v >> 8);
            p[2] = (uint8_t)(v >> 16);
            p[3] = (uint8_t)(v >> 24);
        }
        break;
    }
}

void fs_planar_to_interleaved(uint8_t *dst, const uint8_t *src, const struct fs_layout *l)
{
    size_t plane = (size_t)l->rows * l->columns;
    unsigned b = l->bytes, s = l->samples;
    for (size_t i = 0; i < plane; i++)
        for (unsigned c = 0; c < s; c++)
            memcpy(dst + (i * s + c) * b, src + (c * plane + i) * b, b);
}

bool fs_is_canonical_unsigned(const uint8_t *frame, const struct fs_layout *l)
{
    if (l->is_signed)
        return false;
    size_t n = l->frame_size / l->bytes;
    if (l->bytes == 1) {
        uint8_t acc = 0;
        for (size_t i = 0; i < n; i++)
            acc |= frame[i];
        return l->bits_stored >= 8 || (acc >> l->bits_stored) == 0;
    }
    if (l->bytes == 2) {
        uint16_t acc = 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, frame + 2 * i, 2);
            acc |= v;
        }
        return l->bits_stored >= 16 || (acc >> l->bits_stored) == 0;
    }
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, frame + 4 * i, 4);
        acc |= v;
    }
    return l->bits_stored >= 32 || (acc >> l->bits_stored) == 0;
}
