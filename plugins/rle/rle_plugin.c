/* The rle plugin: RLE Lossless (1.2.840.10008.1.2.5), decode and encode,
 * codec name "rle-lossless". The codec is in rle_codec.c. */
#include "codecutil.h"
#include "rle-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int rle_configure(const struct ferry_param *params, uint32_t n, void **state,
                         struct ferry_diag *diag)
{
    (void)params;
    *state = NULL;
    if (n > 0)
        return codec_fail(diag, -EINVAL, 0, "unknown parameter \"%s\"; rle-lossless takes no parameters",
                          params[0].key);
    return 0;
}

static void rle_release(void *state) { (void)state; }

static int rle_plugin_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t out_len,
                             struct ferry_frame *out_geom, struct ferry_diag *diag)
{
    (void)state;
    int rc = rle_check_geometry(in_geom, out_len, diag);
    if (rc)
        return rc;
    rc = rle_decode(in_geom, in, in_len, out, diag);
    if (rc)
        return rc;
    /* Written in the data set's own layout: nothing changes. */
    *out_geom = *in_geom;
    out_geom->size = sizeof *out_geom;
    return 0;
}

/* Encoded into the thread's scratch, sized for the worst case, then copied
 * into a buffer of the exact size from the host: a compressed frame may
 * wait a while before it is written, so it should not hold the worst
 * case's memory. */
static int rle_plugin_encode(void *state, const struct ferry_host *host,
                             const struct ferry_frame *geom, const uint8_t *in, size_t in_len,
                             struct ferry_encoded *out, struct ferry_diag *diag)
{
    (void)state;
    int rc = rle_check_geometry(geom, in_len, diag);
    if (rc)
        return rc;
    size_t bound = rle_encode_bound(geom);
    if (!bound)
        return codec_fail(diag, -EFBIG, -1, "RLE: a frame of %zu bytes is too large for RLE's 32-bit offsets",
                          in_len);
    uint8_t *scratch = codec_scratch_get(bound + geom->columns);
    if (!scratch)
        return codec_fail(diag, -ENOMEM, -1, "RLE: out of memory for %zu bytes", bound);
    size_t len = rle_encode(geom, in, scratch, scratch + bound);
    uint8_t *bytes = host->alloc(len);
    if (!bytes) {
        rc = codec_fail(diag, -ENOMEM, -1, "RLE: out of memory for %zu bytes", len);
        goto out_free_scratch;
    }
    memcpy(bytes, scratch, len);
    out->bytes = bytes;
    out->length = len;
    out->frame = *geom;
    out->frame.size = sizeof out->frame;
    /* The segments are colour-by-plane whatever the data set says (PS3.5
     * G.2), and decoders (DCMTK, pydicom, GDCM, ours) read either value. The
     * data set keeps the Planar Configuration it had: the note of G.2 leans
     * to 1, but IODs that take colour from modalities (Multi-frame True
     * Color SC, VL, US) enumerate 0 only, and an RLE copy of such an
     * instance must stay valid. */
    out->lossy = 0;
out_free_scratch:
    codec_scratch_put(scratch);
    return rc;
}

static const struct ferry_codec rle_codec = {
    .size = sizeof(struct ferry_codec),
    .name = "rle-lossless",
    .transfer_syntax = "1.2.840.10008.1.2.5",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE,
    .configure = rle_configure,
    .release = rle_release,
    .decode = rle_plugin_decode,
    .encode = rle_plugin_encode,
};

static const struct ferry_codec *const rle_codecs[] = {&rle_codec};

static const struct ferry_plugin rle_plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "rle",
    .version = "1.0.0",
    .description = "RLE Lossless (PS3.5 Annex G), 8/16/32 bits, 1 or 3 samples",
    .codecs = rle_codecs,
    .n_codecs = 1,
    .steps = NULL,
    .n_steps = 0,
    .unload = codec_scratch_fini,
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host)
{
    if (host->abi_major != FERRY_PLUGIN_ABI_MAJOR) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "rle: built for plugin ABI %d, the host has %u",
                  FERRY_PLUGIN_ABI_MAJOR, host->abi_major);
        return NULL;
    }
    if (codec_scratch_init()) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR, "rle: no thread-specific data key left");
        return NULL;
    }
    return &rle_plugin;
}
