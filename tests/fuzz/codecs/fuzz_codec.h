/* The body of the codec fuzz targets: decode the input's frame with one
 * codec of a plugin (compiled into the target). An error must come with a
 * message; a success from a lossless syntax must survive a round trip
 * through that plugin's lossless encoder, bit for bit. Anything else aborts,
 * which libFuzzer reports. */
#ifndef FERRY_FUZZ_CODEC_H
#define FERRY_FUZZ_CODEC_H

#include "fuzz_frame.h"
#include "plugin_harness.h"

#include <stdlib.h>

static inline const struct ferry_codec *fuzz_find(const struct ferry_plugin *p, const char *name)
{
    for (uint32_t i = 0; i < p->n_codecs; i++)
        if (strcmp(p->codecs[i]->name, name) == 0)
            return p->codecs[i];
    return NULL;
}

/* `lossless`: the name of the plugin's lossless encoder, or NULL. */
static inline int fuzz_codec_one(const uint8_t *d, size_t n, const char *lossless)
{
    static const struct ferry_plugin *p;
    if (!p)
        p = ferry_plugin_init(harness_host());
    if (!p)
        abort();
    struct ferry_frame g;
    unsigned which;
    if (fuzz_frame(d, n, &g, &which))
        return 0;
    const struct ferry_codec *c = p->codecs[which % p->n_codecs];
    size_t len = fuzz_frame_bytes(&g);
    uint8_t *out = malloc(len), *again = NULL;
    struct ferry_frame og = g;
    struct ferry_diag diag = {.size = sizeof diag, .param = -1};
    int rc = c->decode(NULL, &g, d + FUZZ_HEADER, n - FUZZ_HEADER, out, len, &og, &diag);
    if (rc) {
        if (rc > 0 || !diag.message[0])
            abort(); /* a failure must say why */
        goto out_free;
    }
    const struct ferry_codec *enc = lossless ? fuzz_find(p, lossless) : NULL;
    if (!enc || strcmp(c->transfer_syntax, enc->transfer_syntax) != 0)
        goto out_free;
    struct ferry_encoded e = {.size = sizeof e};
    if (enc->encode(NULL, harness_host(), &og, out, len, &e, &diag))
        abort(); /* what decodes must encode again */
    again = malloc(len);
    /* Ask for the first decode's layout back: an RLE data set says planar
     * configuration 1 but either may be written; JPEG-LS follows its
     * stream, which kept the layout it was given. */
    struct ferry_frame dg = e.frame;
    dg.planar_configuration = og.planar_configuration;
    struct ferry_frame og2 = dg;
    if (enc->decode(NULL, &dg, e.bytes, e.length, again, len, &og2, &diag) ||
        og2.planar_configuration != og.planar_configuration || memcmp(out, again, len) != 0)
        abort(); /* and decode to the same pixels */
    free(e.bytes);
out_free:
    free(again);
    free(out);
    return 0;
}

#endif
