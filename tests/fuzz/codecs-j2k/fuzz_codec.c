/* See fuzz_codec.h. */
#include "fuzz_codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void h_log(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void h_log(struct ferry_instance *inst, int32_t level, const char *fmt, ...)
{
    (void)inst;
    (void)level;
    (void)fmt;
}
static void *h_alloc(size_t n) { return malloc(n ? n : 1); }
static void h_free(void *p) { free(p); }

/* Only log/alloc/free are called by codecs; the rest stays NULL here. */
static const struct ferry_host host = {
    .size = sizeof(struct ferry_host),
    .abi_major = FERRY_PLUGIN_ABI_MAJOR,
    .abi_minor = FERRY_PLUGIN_ABI_MINOR,
    .log = h_log,
    .alloc = h_alloc,
    .free = h_free,
};

const struct ferry_plugin *fuzz_plugin(void)
{
    static const struct ferry_plugin *p;
    if (!p)
        p = ferry_plugin_init(&host);
    if (!p)
        abort();
    return p;
}

int fuzz_decode_one(const uint8_t *data, size_t size)
{
    if (size < FUZZ_PREFIX)
        return 0;
    const struct ferry_plugin *p = fuzz_plugin();
    const struct ferry_codec *c = p->codecs[data[3] % p->n_codecs];
    if (!(c->flags & FERRY_CODEC_DECODE))
        return 0;
    struct ferry_frame g;
    fuzz_geometry(data, &g);
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    void *st = NULL;
    if (c->configure && c->configure(NULL, 0, &st, &d) != 0)
        abort(); /* decoders configure without parameters */
    size_t n = (size_t)g.rows * g.columns * g.samples_per_pixel * (g.bits_allocated / 8u);
    uint8_t *out = malloc(n);
    if (!out)
        abort();
    struct ferry_frame og = g;
    int rc = c->decode(st, &g, data + FUZZ_PREFIX, size - FUZZ_PREFIX, out, n, &og, &d);
    if (getenv("FERRY_FUZZ_VERBOSE"))
        fprintf(stderr, "%s %ux%u %s: %d %s\n", c->name, (unsigned)g.columns, (unsigned)g.rows,
                g.photometric, rc, d.message);
    if (rc != 0 && d.message[0] == '\0')
        abort(); /* every failure explains itself */
    if (rc == 0 && memchr(d.message, '\0', sizeof d.message) == NULL)
        abort();
    free(out);
    if (c->release)
        c->release(st);
    return 0;
}
