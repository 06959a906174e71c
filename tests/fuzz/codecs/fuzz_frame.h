/* Shared by the codec fuzz targets: the first FUZZ_HEADER bytes of an input
 * choose the data set's geometry, the rest is the compressed frame. Sizes
 * are kept small (at most 2^18 pixels) so that each run is quick.
 *
 *   0-1  rows - 1 (LE, mod 1024)        2-3  columns - 1 (LE, mod 1024)
 *   4    bit 0: 3 samples; bit 1: signed; bit 2: colour-by-plane;
 *        bits 3-4: bits allocated 8, 16, 32, 16
 *   5    bits stored: 1 + b % bits allocated
 *   6    photometric interpretation (index in a list, by samples)
 *   7    which codec of the plugin (index mod the plugin's count) */
#ifndef FERRY_FUZZ_FRAME_H
#define FERRY_FUZZ_FRAME_H

#include <ferry/plugin.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FUZZ_HEADER 8u

static inline int fuzz_frame(const uint8_t *d, size_t n, struct ferry_frame *g, unsigned *codec)
{
    static const char *const mono[] = {"MONOCHROME2", "MONOCHROME1", "PALETTE COLOR"};
    static const char *const colour[] = {"RGB", "YBR_FULL", "YBR_FULL_422"};
    static const uint16_t bits[] = {8, 16, 32, 16};
    if (n < FUZZ_HEADER)
        return -1;
    memset(g, 0, sizeof *g);
    g->size = sizeof *g;
    g->rows = 1u + ((uint32_t)d[0] | (uint32_t)d[1] << 8) % 1024u;
    g->columns = 1u + ((uint32_t)d[2] | (uint32_t)d[3] << 8) % 1024u;
    if ((size_t)g->rows * g->columns > (1u << 18))
        return -1;
    g->samples_per_pixel = d[4] & 1 ? 3 : 1;
    g->pixel_representation = (d[4] >> 1) & 1;
    g->planar_configuration = g->samples_per_pixel > 1 ? (d[4] >> 2) & 1 : 0;
    g->bits_allocated = bits[(d[4] >> 3) & 3];
    g->bits_stored = (uint16_t)(1 + d[5] % g->bits_allocated);
    g->high_bit = (uint16_t)(g->bits_stored - 1);
    const char *ph = g->samples_per_pixel > 1 ? colour[d[6] % 3] : mono[d[6] % 3];
    snprintf(g->photometric, sizeof g->photometric, "%s", ph);
    *codec = d[7];
    return 0;
}

static inline size_t fuzz_frame_bytes(const struct ferry_frame *g)
{
    return (size_t)g->rows * g->columns * g->samples_per_pixel * (g->bits_allocated / 8u);
}

#endif
