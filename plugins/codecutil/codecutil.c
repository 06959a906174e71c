/* Helpers shared by the codec plugins: see codecutil.h. */
#include "codecutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int codec_fail(struct ferry_diag *diag, int code, int32_t param, const char *fmt, ...)
{
    if (diag) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->message, sizeof diag->message, fmt, ap);
        va_end(ap);
        diag->param = param;
    }
    return code;
}

bool codec_parse_uint(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !*text || strlen(text) > 9 || (text[0] == '0' && text[1]))
        return false;
    uint32_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10u + (uint32_t)(*p - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

unsigned codec_bytes_per_sample(const struct ferry_frame *g)
{
    switch (g->bits_allocated) {
    case 8:
        return 1;
    case 16:
        return 2;
    case 32:
        return 4;
    default:
        return 0;
    }
}

size_t codec_frame_bytes(const struct ferry_frame *g)
{
    size_t bps = codec_bytes_per_sample(g);
    if (!bps || !g->rows || !g->columns || !g->samples_per_pixel)
        return 0;
    size_t n = (size_t)g->rows * g->columns; /* both < 2^32: no overflow in 64 bits */
    if (n > SIZE_MAX / g->samples_per_pixel / bps)
        return 0;
    return n * g->samples_per_pixel * bps;
}

int codec_check_geometry(const struct ferry_frame *g, size_t len, const char *what,
                         struct ferry_diag *diag)
{
    if (g->rows < 1 || g->rows > 65535 || g->columns < 1 || g->columns > 65535)
        return codec_fail(diag, -EINVAL, -1, "%s: frame of %ux%u pixels (rows and columns must be 1..65535)",
                          what, g->rows, g->columns);
    if (g->samples_per_pixel != 1 && g->samples_per_pixel != 3)
        return codec_fail(diag, -EINVAL, -1, "%s: Samples per Pixel %u (must be 1 or 3)", what,
                          g->samples_per_pixel);
    if (!codec_bytes_per_sample(g))
        return codec_fail(diag, -EINVAL, -1, "%s: Bits Allocated %u (must be 8, 16 or 32)", what,
                          g->bits_allocated);
    if (g->bits_stored < 1 || g->bits_stored > g->bits_allocated)
        return codec_fail(diag, -EINVAL, -1, "%s: Bits Stored %u with Bits Allocated %u", what,
                          g->bits_stored, g->bits_allocated);
    if (g->pixel_representation > 1)
        return codec_fail(diag, -EINVAL, -1, "%s: Pixel Representation %u (must be 0 or 1)", what,
                          g->pixel_representation);
    if (g->samples_per_pixel > 1 && g->planar_configuration > 1)
        return codec_fail(diag, -EINVAL, -1, "%s: Planar Configuration %u (must be 0 or 1)", what,
                          g->planar_configuration);
    size_t need = codec_frame_bytes(g);
    if (!need)
        return codec_fail(diag, -EINVAL, -1, "%s: frame too large", what);
    if (len != SIZE_MAX && len != need)
        return codec_fail(diag, -EINVAL, -1, "%s: frame holds %zu bytes, the geometry needs %zu",
                          what, len, need);
    return 0;
}

/* One loop per sample size; the compiler vectorises each. The loads and
 * stores go through memcpy so that unaligned buffers are fine. */
#define NORMALIZE(T, UT, bits_all)                                                   \
    do {                                                                             \
        unsigned shift = (bits_all) - g->bits_stored;                                \
        for (size_t i = 0; i < count; i++) {                                         \
            UT u;                                                                    \
            memcpy(&u, pixels + i * sizeof u, sizeof u);                             \
            if (g->pixel_representation)                                             \
                u = (UT)(T)((T)(UT)(u << shift) >> shift);                           \
            else                                                                     \
                u = (UT)((UT)(u << shift) >> shift);                                 \
            memcpy(pixels + i * sizeof u, &u, sizeof u);                             \
        }                                                                            \
    } while (0)

void codec_normalize_high_bits(const struct ferry_frame *g, uint8_t *pixels, size_t count)
{
    if (g->bits_stored >= g->bits_allocated || g->bits_stored == 0)
        return;
    switch (g->bits_allocated) {
    case 8:
        NORMALIZE(int8_t, uint8_t, 8);
        break;
    case 16:
        NORMALIZE(int16_t, uint16_t, 16);
        break;
    case 32:
        NORMALIZE(int32_t, uint32_t, 32);
        break;
    default:
        break;
    }
}

bool codec_photometric_is(const struct ferry_frame *g, const char *const *list)
{
    size_t n = strnlen(g->photometric, sizeof g->photometric);
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(g->photometric, *list, n) == 0)
            return true;
    return false;
}

void codec_set_photometric(struct ferry_frame *g, const char *s)
{
    snprintf(g->photometric, sizeof g->photometric, "%s", s);
}

/* ---- per-thread scratch ---------------------------------------------------- */

struct codec_scratch {
    uint8_t *buf;
    size_t cap;
};

static pthread_key_t scratch_key;
static bool scratch_ready;

static void scratch_free(void *p)
{
    struct codec_scratch *s = p;
    if (s)
        free(s->buf);
    free(s);
}

int codec_scratch_init(void)
{
    if (scratch_ready)
        return 0;
    int rc = pthread_key_create(&scratch_key, scratch_free);
    if (rc)
        return -rc;
    scratch_ready = true;
    return 0;
}

void codec_scratch_fini(void)
{
    if (!scratch_ready)
        return;
    /* The calling thread's buffer can go now; no destructor of this
     * (about to be unloaded) code may run after the key is deleted. */
    scratch_free(pthread_getspecific(scratch_key));
    pthread_setspecific(scratch_key, NULL);
    pthread_key_delete(scratch_key);
    scratch_ready = false;
}

uint8_t *codec_scratch_get(size_t n)
{
    if (!n)
        n = 1;
    if (!scratch_ready || n > CODEC_SCRATCH_KEEP)
        return malloc(n);
    struct codec_scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s)) {
            free(s);
            return malloc(n);
        }
    }
    if (s->cap < n) {
        free(s->buf);
        size_t cap = n + n / 4; /* a little room for the next, larger frame */
        s->buf = malloc(cap);
        s->cap = s->buf ? cap : 0;
    }
    return s->buf;
}

void codec_scratch_put(uint8_t *p)
{
    struct codec_scratch *s = scratch_ready ? pthread_getspecific(scratch_key) : NULL;
    if (!s || p != s->buf)
        free(p);
}
