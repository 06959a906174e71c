/* JPEG headers: see jpeg_scan.h.
 *
 * Markers (T.81 Table B.1): SOI FFD8, EOI FFD9, SOFn FFC0-FFCF except DHT
 * FFC4, JPG FFC8 and DAC FFCC; SOS FFDA; RSTm FFD0-FFD7 and TEM FF01 stand
 * alone; every other marker has a 2-byte length that counts itself. Any
 * number of FF fill bytes may precede a marker. */
#include "jpeg_scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int fail(char *msg, size_t msglen, size_t at, const char *what)
{
    snprintf(msg, msglen, "JPEG byte %zu: %s", at, what);
    return -EINVAL;
}

static bool is_sof(uint8_t m)
{
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

int jpeg_scan(const uint8_t *p, size_t n, struct jpeg_frame_info *fi, char *msg, size_t msglen)
{
    memset(fi, 0, sizeof *fi);
    if (n < 2 || p[0] != 0xff || p[1] != 0xd8)
        return fail(msg, msglen, 0, "not a JPEG stream (no SOI marker)");
    size_t pos = 2;
    bool have_sof = false;
    for (;;) {
        /* a marker: FF, optional FF fill, a code */
        if (pos >= n || p[pos] != 0xff)
            return fail(msg, msglen, pos, have_sof ? "no scan after the frame header"
                                                   : "no frame header (SOF) before the data");
        while (pos < n && p[pos] == 0xff)
            pos++;
        if (pos >= n)
            return fail(msg, msglen, pos, "the stream ends inside a marker");
        uint8_t m = p[pos++];
        size_t at = pos - 2;
        if (m == 0x00)
            return fail(msg, msglen, at, "entropy-coded data before the first scan");
        if (m == 0xd8 || m == 0xd9)
            return fail(msg, msglen, at, "SOI or EOI before the first scan");
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
            continue; /* TEM, RSTm: no length */
        if (n - pos < 2)
            return fail(msg, msglen, at, "marker segment length cut off");
        size_t len = ((size_t)p[pos] << 8) | p[pos + 1];
        if (len < 2 || len > n - pos)
            return fail(msg, msglen, at, "marker segment runs past the end of the stream");
        const uint8_t *s = p + pos + 2;
        size_t slen = len - 2;
        if (is_sof(m)) {
            if (have_sof)
                return fail(msg, msglen, at, "a second frame header");
            if (slen < 6)
                return fail(msg, msglen, at, "frame header too short");
            fi->sof = m;
            fi->lossless = (m & 3) == 3;
            fi->arithmetic = m >= 0xc9;
            fi->hierarchical = (m & 4) != 0; /* C5-C7, CD-CF (C4, CC are not SOFs) */
            fi->precision = s[0];
            fi->height = (uint16_t)((s[1] << 8) | s[2]);
            fi->width = (uint16_t)((s[3] << 8) | s[4]);
            fi->components = s[5];
            if (fi->components == 0 || slen != 6 + 3u * fi->components)
                return fail(msg, msglen, at, "frame header length does not match its components");
            if (fi->precision < 2 || fi->precision > 16)
                return fail(msg, msglen, at, "sample precision outside 2..16");
            for (unsigned c = 0; c < fi->components && c < 4; c++) {
                fi->h[c] = s[6 + 3 * c + 1] >> 4;
                fi->v[c] = s[6 + 3 * c + 1] & 15;
            }
            have_sof = true;
        } else if (m == 0xda) {
            if (!have_sof)
                return fail(msg, msglen, at, "a scan before the frame header");
            if (slen < 1 || slen != 4 + 2u * s[0])
                return fail(msg, msglen, at, "scan header length does not match its components");
            fi->predictor = s[1 + 2 * s[0]];
            fi->has_scan = true;
            return 0;
        }
        pos += len;
    }
}
