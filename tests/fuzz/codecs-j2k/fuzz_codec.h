/* Shared by the codec decoder fuzz targets: a minimal host and the frame
 * geometry taken from the first bytes of the input.
 *
 * Input layout: byte 0 rows-1, byte 1 columns-1, byte 2 flags (bit 0: three
 * samples; bit 1: signed; bits 2-3: bits allocated/stored 8/8, 16/12,
 * 16/16, 16/8; bits 4-6: photometric variant), byte 3 which codec of the
 * plugin; the rest is the compressed frame. */
#ifndef FERRY_FUZZ_CODEC_H
#define FERRY_FUZZ_CODEC_H

#include <ferry/plugin.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZ_PREFIX 4

/* The plugin compiled into the fuzz target (its ferry_plugin_init). */
const struct ferry_plugin *fuzz_plugin(void);

/* Geometry from the prefix. */
void fuzz_geometry(const uint8_t *prefix, struct ferry_frame *g);

/* Decode data[4..] with codec data[3] of the plugin; abort() if a failure
 * comes without a message or if a success leaves bytes unwritten that the
 * geometry says are pixels (the output is prefilled with a canary). */
int fuzz_decode_one(const uint8_t *data, size_t size);

#endif
