/* Read what a JPEG interchange-format stream (ISO/IEC 10918-1 Annex B)
 * declares before any entropy-coded data: the frame header (SOFn) and the
 * first scan header. The jpegll plugin uses it to pick DCMTK's 8-, 12- or
 * 16-bit decoder and to check the stream against the data set's geometry
 * before decoding. Every length is checked against the buffer. */
#ifndef FERRY_PLUGIN_JPEG_SCAN_H
#define FERRY_PLUGIN_JPEG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct jpeg_frame_info {
    uint8_t sof;            /* SOFn marker's low byte: 0xC0..0xCF, not C4/C8/CC */
    bool lossless;          /* SOF3, SOF7, SOF11, SOF15 */
    bool arithmetic;        /* SOF9..SOF15 */
    bool hierarchical;      /* SOF5..7, SOF13..15 (DHP) */
    uint8_t precision;      /* P */
    uint16_t height;        /* Y (0: defined by DNL) */
    uint16_t width;         /* X */
    uint8_t components;     /* Nf */
    uint8_t h[4], v[4];     /* sampling factors of the first four components */
    uint8_t predictor;      /* Ss of the first scan when lossless */
    bool has_scan;          /* an SOS followed the frame header */
};

/* Scan p[0..n-1]. Returns 0 or -EINVAL with a message naming the byte
 * offset in msg. */
int jpeg_scan(const uint8_t *p, size_t n, struct jpeg_frame_info *fi, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif

#endif
