/* Test support: see plugin_harness.h. */
#include "plugin_harness.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct harness_plugin {
    void *handle;
    const struct ferry_plugin *desc;
};

static void h_log(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void h_log(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
{
    (void)inst;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "plugin log [%d]: ", (int)level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *h_alloc(size_t n) { return malloc(n ? n : 1); }
static void h_free(void *p) { free(p); }
static struct ferry_dataset *h_root(struct ferry_instance *i) { (void)i; return NULL; }
static int h_get(struct ferry_dataset *d, uint32_t t, struct ferry_value *v)
{ (void)d; (void)t; (void)v; return -ENOSYS; }
static int h_get_string(struct ferry_dataset *d, uint32_t t, uint32_t i, char *b, size_t n)
{ (void)d; (void)t; (void)i; (void)b; (void)n; return -ENOSYS; }
static int h_set(struct ferry_dataset *d, uint32_t t, const char *vr, const void *b, uint32_t n)
{ (void)d; (void)t; (void)vr; (void)b; (void)n; return -ENOSYS; }
static int h_set_string(struct ferry_dataset *d, uint32_t t, const char *vr, const char *s)
{ (void)d; (void)t; (void)vr; (void)s; return -ENOSYS; }
static int h_remove(struct ferry_dataset *d, uint32_t t) { (void)d; (void)t; return -ENOSYS; }
static int h_foreach(struct ferry_dataset *d,
                     int (*fn)(void *, struct ferry_dataset *, const struct ferry_value *), void *ud)
{ (void)d; (void)fn; (void)ud; return -ENOSYS; }
static struct ferry_dataset *h_item(struct ferry_dataset *d, uint32_t t, uint32_t i)
{ (void)d; (void)t; (void)i; return NULL; }
static struct ferry_dataset *h_add_item(struct ferry_dataset *d, uint32_t t)
{ (void)d; (void)t; return NULL; }
static int h_pixel_info(struct ferry_instance *i, struct ferry_pixel_info *o)
{ (void)i; (void)o; return -ENOSYS; }
static int h_get_frame(struct ferry_instance *i, uint32_t x, const uint8_t **p, size_t *n,
                       struct ferry_frame *g)
{ (void)i; (void)x; (void)p; (void)n; (void)g; return -ENOSYS; }
static int h_set_frame(struct ferry_instance *i, uint32_t x, const uint8_t *p, size_t n,
                       const struct ferry_frame *g)
{ (void)i; (void)x; (void)p; (void)n; (void)g; return -ENOSYS; }

static int h_record_pseudonym(struct ferry_instance *i, const char *k, const char *o,
                              const char *r)
{ (void)i; (void)k; (void)o; (void)r; return -ENOTSUP; }

static const struct ferry_host host = {
    .size = sizeof(struct ferry_host),
    .abi_major = FERRY_PLUGIN_ABI_MAJOR,
    .abi_minor = FERRY_PLUGIN_ABI_MINOR,
    .log = h_log, .alloc = h_alloc, .free = h_free, .root = h_root, .get = h_get,
    .get_string = h_get_string, .set = h_set, .set_string = h_set_string,
    .remove = h_remove, .foreach = h_foreach, .item = h_item, .add_item = h_add_item,
    .pixel_info = h_pixel_info, .get_frame = h_get_frame, .set_frame = h_set_frame,
    .record_pseudonym = h_record_pseudonym,
};

const struct ferry_host *harness_host(void) { return &host; }

struct harness_plugin *harness_load(const char *path, char *err, size_t errlen)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "dlopen %s: %s", path, dlerror());
        return NULL;
    }
    const struct ferry_plugin *(*init)(const struct ferry_host *);
    *(void **)&init = dlsym(h, FERRY_PLUGIN_ENTRY);
    if (!init) {
        snprintf(err, errlen, "%s: no %s", path, FERRY_PLUGIN_ENTRY);
        dlclose(h);
        return NULL;
    }
    const struct ferry_plugin *d = init(&host);
    if (!d || d->abi_major != FERRY_PLUGIN_ABI_MAJOR) {
        snprintf(err, errlen, "%s: init failed or wrong ABI major", path);
        dlclose(h);
        return NULL;
    }
    struct harness_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        dlclose(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->handle = h;
    p->desc = d;
    return p;
}

void harness_unload(struct harness_plugin *p)
{
    if (!p)
        return;
    if (p->desc->unload)
        p->desc->unload();
    dlclose(p->handle);
    free(p);
}

const struct ferry_plugin *harness_plugin_desc(const struct harness_plugin *p) { return p->desc; }

const struct ferry_codec *harness_codec(const struct harness_plugin *p, const char *key)
{
    for (uint32_t i = 0; i < p->desc->n_codecs; i++) {
        const struct ferry_codec *c = p->desc->codecs[i];
        if (strcmp(c->name, key) == 0 || strcmp(c->transfer_syntax, key) == 0)
            return c;
    }
    return NULL;
}

const char *harness_plugin_path(const char *name)
{
    static char path[4096];
    const char *b = getenv("FERRY_BUILD_DIR");
    snprintf(path, sizeof path, "%s/plugins/%s.so", b ? b : "build", name);
    return path;
}

size_t harness_frame_size(const struct ferry_frame *g)
{
    return (size_t)g->rows * g->columns * g->samples_per_pixel * ((g->bits_allocated + 7u) / 8u);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* The stored value at (r, c, sample) as a signed number within bits_stored. */
static int64_t synth_value(const struct ferry_frame *g, uint32_t r, uint32_t c, uint32_t s,
                           uint32_t *rng, unsigned noise)
{
    int64_t max = ((int64_t)1 << g->bits_stored) - 1;
    double fr = g->rows > 1 ? (double)r / (g->rows - 1) : 0;
    double fc = g->columns > 1 ? (double)c / (g->columns - 1) : 0;
    double dx = fc - 0.5, dy = fr - 0.5;
    double v = 0.15 + 0.35 * fc + 0.2 * fr * (1 + s) / (1 + g->samples_per_pixel);
    if (dx * dx + dy * dy < 0.09)
        v += 0.3 * (s + 1) / g->samples_per_pixel;
    if (v > 1)
        v = 1;
    int64_t x = (int64_t)(v * max);
    if (noise)
        x += (int64_t)(xorshift(rng) % (2 * noise + 1)) - noise;
    if (x < 0)
        x = 0;
    if (x > max)
        x = max;
    if (g->pixel_representation)
        x -= (max + 1) / 2; /* centre the range on 0 */
    return x;
}

uint8_t *harness_synth_frame(const struct ferry_frame *g, uint32_t seed, unsigned noise)
{
    size_t n = harness_frame_size(g);
    uint8_t *out = calloc(1, n ? n : 1);
    if (!out)
        return NULL;
    uint32_t rng = seed ? seed : 1;
    unsigned bpp = (g->bits_allocated + 7u) / 8u;
    uint32_t spp = g->samples_per_pixel;
    for (uint32_t r = 0; r < g->rows; r++)
        for (uint32_t c = 0; c < g->columns; c++)
            for (uint32_t s = 0; s < spp; s++) {
                int64_t v = synth_value(g, r, c, s, &rng, noise);
                size_t idx = g->planar_configuration
                                 ? (size_t)s * g->rows * g->columns + (size_t)r * g->columns + c
                                 : ((size_t)r * g->columns + c) * spp + s;
                uint64_t u = (uint64_t)v; /* two's complement, sign-extended */
                for (unsigned b = 0; b < bpp; b++)
                    out[idx * bpp + b] = (uint8_t)(u >> (8 * b));
            }
    return out;
}

double harness_psnr(const struct ferry_frame *g, const uint8_t *a, const uint8_t *b)
{
    size_t n = harness_frame_size(g);
    unsigned bpp = (g->bits_allocated + 7u) / 8u;
    uint64_t mask = g->bits_stored >= 64 ? ~0ull : (((uint64_t)1 << g->bits_stored) - 1);
    double se = 0;
    size_t count = n / bpp;
    for (size_t i = 0; i < count; i++) {
        uint64_t x = 0, y = 0;
        for (unsigned k = 0; k < bpp; k++) {
            x |= (uint64_t)a[i * bpp + k] << (8 * k);
            y |= (uint64_t)b[i * bpp + k] << (8 * k);
        }
        int64_t vx = (int64_t)(x & mask), vy = (int64_t)(y & mask);
        if (g->pixel_representation && g->bits_stored < 64) {
            /* two's complement within bits_stored: -1 and 0 are neighbours */
            int64_t half = (int64_t)1 << (g->bits_stored - 1);
            if (vx >= half)
                vx -= 2 * half;
            if (vy >= half)
                vy -= 2 * half;
        }
        double d = (double)vx - (double)vy;
        se += d * d;
    }
    if (se == 0)
        return INFINITY;
    double peak = (double)mask;
    return 10.0 * log10(peak * peak / (se / (double)count));
}
