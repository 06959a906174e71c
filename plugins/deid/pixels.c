/* Clean Pixel Data: black rectangles written into native frames and into
 * overlay bitmaps. */
#include "deid-private.h"

#include <errno.h>
#include <string.h>

static bool photometric_is(const struct ferry_frame *g, const char *name)
{
    return strncmp(g->photometric, name, sizeof g->photometric) == 0;
}

static void put_sample(uint8_t *p, unsigned bytes, uint32_t v)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));   /* native pixel data is little endian */
}

int deid_mask_frame(uint8_t *pixels, size_t len, const struct ferry_frame *g,
                    const struct deid_rect *rects, uint32_t n)
{
    unsigned ba = g->bits_allocated, bs = g->bits_stored, spp = g->samples_per_pixel;
    if ((ba != 8 && ba != 16 && ba != 32) || bs == 0 || bs > ba || (spp != 1 && spp != 3) ||
        g->planar_configuration > 1 || g->rows == 0 || g->columns == 0)
        return -EINVAL;
    unsigned bytes = ba / 8;
    size_t plane = (size_t)g->rows * g->columns;
    if (len < plane * spp * bytes)
        return -EINVAL;

    /* The value that displays as black, per sample, within bits_allocated. */
    uint32_t black[3] = { 0, 0, 0 };
    uint32_t mask = ba == 32 ? 0xFFFFFFFFu : (1u << ba) - 1;
    if (spp == 1 && photometric_is(g, "MONOCHROME1")) {
        black[0] = g->pixel_representation ? (1u << (bs - 1)) - 1 : (uint32_t)((1ull << bs) - 1);
    } else if (spp == 1 && photometric_is(g, "MONOCHROME2")) {
        /* the lowest value: 0, or the most negative, sign-extended */
        black[0] = g->pixel_representation ? (uint32_t)(-(int64_t)(1ull << (bs - 1))) & mask : 0;
    } else if (spp == 1 && photometric_is(g, "PALETTE COLOR")) {
        black[0] = 0;
    } else if (spp == 3 && photometric_is(g, "RGB")) {
        /* zeros */
    } else if (spp == 3 && photometric_is(g, "YBR_FULL")) {
        black[1] = black[2] = 1u << (bs - 1);
    } else {
        return -EINVAL;
    }

    for (uint32_t k = 0; k < n; k++) {
        const struct deid_rect *r = &rects[k];
        if (r->x >= g->columns || r->y >= g->rows)
            continue;
        uint32_t x1 = r->width > g->columns - r->x ? g->columns : r->x + r->width;
        uint32_t y1 = r->height > g->rows - r->y ? g->rows : r->y + r->height;
        for (uint32_t y = r->y; y < y1; y++)
            for (uint32_t x = r->x; x < x1; x++) {
                size_t px = (size_t)y * g->columns + x;
                for (unsigned s = 0; s < spp; s++) {
                    size_t at = g->planar_configuration ? s * plane + px : px * spp + s;
                    put_sample(pixels + at * bytes, bytes, black[s]);
                }
            }
    }
    return 0;
}

int deid_mask_overlay(uint8_t *bits, size_t len, uint32_t rows, uint32_t columns,
                      uint32_t frames, int32_t origin_row, int32_t origin_col,
                      const struct deid_rect *rects, uint32_t n)
{
    uint64_t plane = (uint64_t)rows * columns;
    if (plane == 0 || frames == 0 || (plane * frames + 7) / 8 > len)
        return -EINVAL;
    for (uint32_t k = 0; k < n; k++) {
        /* The rectangle in the overlay's own coordinates, clipped to it. */
        int64_t r0 = (int64_t)rects[k].y - (origin_row - 1);
        int64_t c0 = (int64_t)rects[k].x - (origin_col - 1);
        int64_t r1 = r0 + rects[k].height, c1 = c0 + rects[k].width;
        if (r0 < 0)
            r0 = 0;
        if (c0 < 0)
            c0 = 0;
        if (r1 > rows)
            r1 = rows;
        if (c1 > columns)
            c1 = columns;
        for (uint32_t f = 0; f < frames; f++)
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++) {
                    uint64_t bit = f * plane + (uint64_t)r * columns + (uint64_t)c;
                    bits[bit / 8] &= (uint8_t)~(1u << (bit % 8));
                }
    }
    return 0;
}
