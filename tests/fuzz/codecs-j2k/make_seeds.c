/* Write the seed corpora of the codec fuzz targets (tests/fuzz/codecs-j2k/corpus/...)
 * from small frames encoded by the built plugins. Not a test: run it by hand
 * after a codec changes its output, then commit the corpus:
 *
 *   FERRY_BUILD_DIR=build build/tests/fuzz_make_seeds tests/fuzz/codecs-j2k/corpus
 */
#include "codec_roundtrip.h"
#include "fuzz_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

static void put(const char *target, const char *name, const uint8_t *prefix, const uint8_t *data,
                size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (prefix)
        fwrite(prefix, 1, FUZZ_PREFIX, f);
    fwrite(data, 1, len, f);
    fclose(f);
}

/* Encode a synthetic frame; returns the codestream (malloc'ed). The prefix
 * describes the coded geometry for fuzz_geometry(). */
static uint8_t *encode(struct harness_plugin *p, const char *codec, const char *key,
                       const char *value, uint8_t rows, uint8_t cols, uint8_t flags,
                       size_t *len)
{
    struct ferry_frame g;
    uint8_t b[3] = {(uint8_t)(rows - 1), (uint8_t)(cols - 1), flags};
    fuzz_geometry(b, &g);
    /* the frame to encode: same geometry, photometric the encoder takes */
    if (g.samples_per_pixel == 3)
        snprintf(g.photometric, sizeof g.photometric, "RGB");
    else
        snprintf(g.photometric, sizeof g.photometric, "MONOCHROME2");
    const struct ferry_codec *c = harness_codec(p, codec);
    struct ferry_param prm[] = {{key, value}};
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    void *st = NULL;
    if (!c || c->configure(prm, key ? 1 : 0, &st, &d) != 0) {
        fprintf(stderr, "%s: %s\n", codec, d.message);
        exit(1);
    }
    uint8_t *frame = harness_synth_frame(&g, rows * 7u + cols, 40);
    struct ferry_encoded e = {.size = sizeof e};
    if (c->encode(st, harness_host(), &g, frame, harness_frame_size(&g), &e, &d) != 0) {
        fprintf(stderr, "%s: %s\n", codec, d.message);
        exit(1);
    }
    uint8_t *out = malloc(e.length);
    memcpy(out, e.bytes, e.length);
    *len = e.length;
    harness_host()->free(e.bytes);
    free(frame);
    c->release(st);
    return out;
}

#define FLAGS(spp3, sgn, bits, variant) \
    ((uint8_t)((spp3) | ((sgn) << 1) | ((bits) << 2) | ((variant) << 4)))

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    char err[512];
    struct harness_plugin *j2k = harness_load(harness_plugin_path("j2k"), err, sizeof err);
    struct harness_plugin *ht = harness_load(harness_plugin_path("htj2k"), err, sizeof err);
    struct harness_plugin *jl = harness_load(harness_plugin_path("jpegll"), err, sizeof err);
    if (!j2k || !ht || !jl) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* j2k decoders: codec index 0 4.90, 1 4.91, 2 4.201, 3 4.202, 4 4.203 */
    static const struct {
        int plugin; /* 0 j2k, 1 htj2k */
        const char *codec, *key, *value;
        uint8_t rows, cols, flags, index;
        const char *name;
    } js[] = {
        {0, "jpeg2000-lossless", NULL, NULL, 16, 16, FLAGS(0, 1, 1, 0), 0, "j2k_16x16_s12"},
        {0, "jpeg2000-lossless", NULL, NULL, 1, 1, FLAGS(0, 0, 0, 0), 0, "j2k_1x1_u8"},
        {0, "jpeg2000-lossless", NULL, NULL, 13, 9, FLAGS(1, 0, 0, 2), 0, "j2k_13x9_rct"},
        {0, "jpeg2000", "rate", "10", 24, 17, FLAGS(0, 0, 0, 0), 1, "j2k_24x17_lossy"},
        {0, "jpeg2000", "rate", "20,10", 20, 20, FLAGS(1, 0, 0, 3), 1, "j2k_20x20_ict"},
        {1, "htj2k-lossless", NULL, NULL, 16, 16, FLAGS(0, 0, 2, 0), 2, "ht_16x16_u16"},
        {1, "htj2k-lossless", NULL, NULL, 12, 12, FLAGS(1, 0, 0, 2), 2, "ht_12x12_rct"},
        {1, "htj2k-lossless-rpcl", NULL, NULL, 32, 32, FLAGS(0, 1, 1, 1), 3, "ht_32x32_rpcl"},
        {1, "htj2k", NULL, NULL, 16, 24, FLAGS(0, 0, 0, 0), 4, "ht_16x24_lossy"},
    };
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
        size_t len;
        uint8_t *cs = encode(js[i].plugin ? ht : j2k, js[i].codec, js[i].key, js[i].value,
                             js[i].rows, js[i].cols, js[i].flags, &len);
        uint8_t prefix[FUZZ_PREFIX] = {(uint8_t)(js[i].rows - 1), (uint8_t)(js[i].cols - 1),
                                       js[i].flags, js[i].index};
        put("j2k_decode", js[i].name, prefix, cs, len);
        put("j2k_markers", js[i].name, NULL, cs, len);
        free(cs);
    }
    /* jpegll decoders: 0 4.57, 1 4.70, 2 4.51 */
    static const struct {
        const char *codec, *key, *value;
        uint8_t rows, cols, flags, index;
        const char *name;
    } ls[] = {
        {"jpeg-lossless-sv1", NULL, NULL, 16, 16, FLAGS(0, 0, 1, 0), 1, "sv1_u12"},
        {"jpeg-lossless-sv1", NULL, NULL, 16, 16, FLAGS(0, 1, 1, 0), 1, "sv1_s12_p16"},
        {"jpeg-lossless-sv1", NULL, NULL, 16, 16, FLAGS(0, 0, 2, 0), 1, "sv1_u16"},
        {"jpeg-lossless", "predictor", "7", 16, 16, FLAGS(0, 0, 0, 0), 0, "p7_u8"},
        {"jpeg-lossless-sv1", NULL, NULL, 12, 10, FLAGS(1, 0, 0, 0), 1, "sv1_rgb"},
        {"jpeg-extended", "quality", "80", 16, 16, FLAGS(0, 0, 1, 0), 2, "ext_12"},
        {"jpeg-extended", NULL, NULL, 16, 24, FLAGS(1, 0, 0, 4), 2, "ext_ybr422"},
    };
    for (size_t i = 0; i < sizeof ls / sizeof ls[0]; i++) {
        size_t len;
        uint8_t *cs = encode(jl, ls[i].codec, ls[i].key, ls[i].value, ls[i].rows, ls[i].cols,
                             ls[i].flags, &len);
        uint8_t prefix[FUZZ_PREFIX] = {(uint8_t)(ls[i].rows - 1), (uint8_t)(ls[i].cols - 1),
                                       ls[i].flags, ls[i].index};
        put("jpegll_decode", ls[i].name, prefix, cs, len);
        put("jpeg_scan", ls[i].name, NULL, cs, len);
        free(cs);
    }
    harness_unload(j2k);
    harness_unload(ht);
    harness_unload(jl);
    return 0;
}
