/* The frame geometry of a fuzz input's prefix: see fuzz_codec.h. */
#include "fuzz_codec.h"

#include <stdio.h>
#include <string.h>

void fuzz_geometry(const uint8_t *b, struct ferry_frame *g)
{
    static const uint16_t bits[4][2] = {{8, 8}, {16, 12}, {16, 16}, {16, 8}};
    static const char *mono[] = {"MONOCHROME2", "MONOCHROME1", "PALETTE COLOR", "MONOCHROME2"};
    static const char *colour[] = {"RGB", "YBR_FULL", "YBR_RCT", "YBR_ICT", "YBR_FULL_422"};
    memset(g, 0, sizeof *g);
    g->size = sizeof *g;
    g->rows = 1u + b[0];
    g->columns = 1u + b[1];
    g->samples_per_pixel = (b[2] & 1) ? 3 : 1;
    g->pixel_representation = (b[2] >> 1) & 1;
    g->bits_allocated = bits[(b[2] >> 2) & 3][0];
    g->bits_stored = bits[(b[2] >> 2) & 3][1];
    g->high_bit = (uint16_t)(g->bits_stored - 1);
    unsigned v = (b[2] >> 4) & 7;
    snprintf(g->photometric, sizeof g->photometric, "%s",
             g->samples_per_pixel == 3 ? colour[v % 5] : mono[v % 4]);
}
