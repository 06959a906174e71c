/* RLE Lossless (PS3.5 Annex G), written from the standard's description:
 *
 *   frame   = header (64 bytes) + segments
 *   header  = uint32 LE segment count (1..15), then 15 uint32 LE offsets of
 *             the segments from the start of the frame (unused ones 0)
 *   segment = one byte plane of one sample, PackBits-coded: a header byte n
 *             then, for n in 0..127, n+1 literal bytes; for n in 129..255
 *             (-127..-1), one byte repeated 257-n times; n = 128 is a no-op
 *   order   = sample 0's most significant byte plane first, ... its least
 *             significant, then sample 1's, ...
 *
 * The decoder treats every byte as hostile: segment count, offsets and each
 * run are checked against the input and output bounds before use. */
#include "rle-private.h"

#include "codecutil.h"

#include <errno.h>
#include <string.h>

int rle_check_geometry(const struct ferry_frame *g, size_t len, struct ferry_diag *diag)
{
    int rc = codec_check_geometry(g, len, "RLE", diag);
    if (rc)
        return rc;
    unsigned segments = g->samples_per_pixel * codec_bytes_per_sample(g);
    if (segments > RLE_MAX_SEGMENTS)
        return codec_fail(diag, -EINVAL, -1,
                          "RLE: %u samples of %u bits need %u segments (at most %u)",
                          g->samples_per_pixel, g->bits_allocated, segments, RLE_MAX_SEGMENTS);
    return 0;
}

/* Worst case of one row of n bytes: literals of 128 cost 129, the row's last
 * literal one byte more, and a replicate run never costs more than it
 * codes. */
static size_t row_bound(size_t n) { return n + n / 128 + 2; }

size_t rle_encode_bound(const struct ferry_frame *g)
{
    unsigned segments = g->samples_per_pixel * codec_bytes_per_sample(g);
    size_t seg = (size_t)g->rows * row_bound(g->columns) + 1; /* + pad */
    size_t total = RLE_HEADER_BYTES + segments * seg;
    return total > UINT32_MAX ? 0 : total;
}

/* PackBits one row of n contiguous bytes into o; returns the bytes written.
 * A replicate run starts at 2 equal bytes; a literal stops before 3 equal
 * bytes (breaking it for 2 would cost a byte) or at 128 bytes. */
static size_t pack_row(const uint8_t *s, size_t n, uint8_t *o)
{
    uint8_t *p = o;
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && s[i + run] == s[i])
            run++;
        if (run >= 2) {
            *p++ = (uint8_t)(257 - run);
            *p++ = s[i];
            i += run;
            continue;
        }
        size_t start = i;
        while (i < n && i - start < 128) {
            if (i + 2 < n && s[i] == s[i + 1] && s[i] == s[i + 2])
                break;
            i++;
        }
        size_t lit = i - start;
        *p++ = (uint8_t)(lit - 1);
        memcpy(p, s + start, lit);
        p += lit;
    }
    return (size_t)(p - o);
}

/* Where byte `byte` (0 = least significant) of sample `s` of pixel 0 lies,
 * and the distance from one pixel's to the next. */
static void plane_layout(const struct ferry_frame *g, unsigned s, unsigned byte, size_t *first,
                         size_t *stride)
{
    size_t bps = codec_bytes_per_sample(g);
    size_t pixels = (size_t)g->rows * g->columns;
    if (g->samples_per_pixel > 1 && g->planar_configuration == 1) {
        *first = s * pixels * bps + byte;
        *stride = bps;
    } else {
        *first = s * bps + byte;
        *stride = bps * g->samples_per_pixel;
    }
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t rle_encode(const struct ferry_frame *g, const uint8_t *in, uint8_t *out, uint8_t *row)
{
    unsigned bps = codec_bytes_per_sample(g);
    unsigned segments = g->samples_per_pixel * bps;
    size_t cols = g->columns;
    memset(out, 0, RLE_HEADER_BYTES);
    put_le32(out, segments);
    size_t pos = RLE_HEADER_BYTES;
    unsigned seg = 0;
    for (unsigned s = 0; s < g->samples_per_pixel; s++) {
        for (unsigned b = bps; b-- > 0; seg++) {
            size_t first, stride;
            plane_layout(g, s, b, &first, &stride);
            put_le32(out + 4 + 4 * seg, (uint32_t)pos);
            for (size_t r = 0; r < g->rows; r++) {
                const uint8_t *src = in + first + r * cols * stride;
                if (stride != 1) {
                    for (size_t c = 0; c < cols; c++)
                        row[c] = src[c * stride];
                    src = row;
                }
                pos += pack_row(src, cols, out + pos);
            }
            if (pos & 1)
                out[pos++] = 0;
        }
    }
    return pos;
}

/* Unpack one segment (untrusted bytes s[0..n)) into `count` bytes at dst,
 * dst[k * stride]. Stops once `count` bytes are out; what follows in the
 * segment (padding) is ignored. */
static int unpack_segment(const uint8_t *s, size_t n, uint8_t *dst, size_t count, size_t stride,
                          unsigned seg, struct ferry_diag *diag)
{
    size_t i = 0, k = 0;
    while (k < count) {
        if (i >= n)
            return codec_fail(diag, -EBADMSG, -1,
                              "RLE: segment %u ends after %zu of %zu bytes", seg + 1, k, count);
        unsigned h = s[i++];
        if (h == 128)
            continue;
        size_t len = h < 128 ? h + 1u : 257u - h;
        if (len > count - k)
            return codec_fail(diag, -EBADMSG, -1,
                              "RLE: segment %u: a run of %zu bytes at byte %zu passes the end of "
                              "the %zu-byte plane",
                              seg + 1, len, i - 1, count);
        if (h < 128) {
            if (len > n - i)
                return codec_fail(diag, -EBADMSG, -1,
                                  "RLE: segment %u: a literal run of %zu bytes at byte %zu is cut "
                                  "off by the end of the segment",
                                  seg + 1, len, i - 1);
            if (stride == 1)
                memcpy(dst + k, s + i, len);
            else
                for (size_t j = 0; j < len; j++)
                    dst[(k + j) * stride] = s[i + j];
            i += len;
        } else {
            if (i >= n)
                return codec_fail(diag, -EBADMSG, -1,
                                  "RLE: segment %u: a replicate run at byte %zu has no value",
                                  seg + 1, i - 1);
            uint8_t v = s[i++];
            if (stride == 1)
                memset(dst + k, v, len);
            else
                for (size_t j = 0; j < len; j++)
                    dst[(k + j) * stride] = v;
        }
        k += len;
    }
    return 0;
}

int rle_decode(const struct ferry_frame *g, const uint8_t *in, size_t in_len, uint8_t *out,
               struct ferry_diag *diag)
{
    unsigned bps = codec_bytes_per_sample(g);
    unsigned want = g->samples_per_pixel * bps;
    size_t pixels = (size_t)g->rows * g->columns;
    if (in_len < RLE_HEADER_BYTES)
        return codec_fail(diag, -EBADMSG, -1, "RLE: %zu bytes, shorter than the 64-byte header",
                          in_len);
    uint32_t count = get_le32(in);
    if (count < 1 || count > RLE_MAX_SEGMENTS)
        return codec_fail(diag, -EBADMSG, -1, "RLE: header says %u segments (must be 1..15)",
                          count);
    if (count != want)
        return codec_fail(diag, -EINVAL, -1,
                          "RLE: header says %u segments, the geometry needs %u (%u samples x %u "
                          "bytes)",
                          count, want, g->samples_per_pixel, bps);
    uint32_t offsets[RLE_MAX_SEGMENTS + 1];
    for (unsigned i = 0; i < count; i++) {
        offsets[i] = get_le32(in + 4 + 4 * i);
        uint32_t lo = i ? offsets[i - 1] : RLE_HEADER_BYTES;
        if (offsets[i] < lo || offsets[i] > in_len)
            return codec_fail(diag, -EBADMSG, -1,
                              "RLE: segment %u offset %u outside %u..%zu", i + 1, offsets[i], lo,
                              in_len);
    }
    offsets[count] = (uint32_t)(in_len > UINT32_MAX ? UINT32_MAX : in_len);
    unsigned seg = 0;
    for (unsigned s = 0; s < g->samples_per_pixel; s++) {
        for (unsigned b = bps; b-- > 0; seg++) {
            size_t first, stride;
            plane_layout(g, s, b, &first, &stride);
            int rc = unpack_segment(in + offsets[seg], offsets[seg + 1] - offsets[seg], out + first,
                                    pixels, stride, seg, diag);
            if (rc)
                return rc;
        }
    }
    codec_normalize_high_bits(g, out, pixels * g->samples_per_pixel);
    return 0;
}
