/* The j2k plugin: JPEG 2000 with OpenJPEG 2.5.
 *
 *   jpeg2000-lossless   1.2.840.10008.1.2.4.90   decode, encode (5/3, RCT)
 *   jpeg2000            1.2.840.10008.1.2.4.91   decode, encode (9/7, ICT; lossy)
 *   htj2k-*-openjpeg    1.2.840.10008.1.2.4.201/202/203   decode only
 *
 * HTJ2K is encoded by the htj2k plugin (OpenJPH); OpenJPEG 2.5 decodes HT
 * code-blocks, so this plugin offers the HTJ2K decoders. Their names differ
 * from the htj2k plugin's encoder names so both plugins can load together.
 *
 * Encoded frames are raw J2K codestreams (SOC first), as PS3.5 A.4.4 wants;
 * colour RGB is written with the component transform and photometric
 * YBR_RCT (lossless) or YBR_ICT (lossy), colour-by-pixel on decoding. */
#include "frame_samples.h"
#include "j2k-private.h"

#include <errno.h>
#include <openjpeg.h>
#include <stdio.h>
#include <stdlib.h>

static int configure_common(bool lossy, const struct ferry_param *params, uint32_t n,
                            void **state, struct ferry_diag *diag)
{
    struct j2k_state s;
    int rc = j2k_parse_params(lossy, params, n, &s, diag);
    if (rc < 0)
        return rc;
    struct j2k_state *p = malloc(sizeof *p);
    if (!p) {
        fs_diag(diag, -1, "out of memory");
        return -ENOMEM;
    }
    *p = s;
    *state = p;
    return 0;
}

static int configure_lossless(const struct ferry_param *params, uint32_t n, void **state,
                              struct ferry_diag *diag)
{
    return configure_common(false, params, n, state, diag);
}

static int configure_lossy(const struct ferry_param *params, uint32_t n, void **state,
                           struct ferry_diag *diag)
{
    return configure_common(true, params, n, state, diag);
}

/* The HTJ2K decoders take no parameters. */
static int configure_decode_only(const struct ferry_param *params, uint32_t n, void **state,
                                 struct ferry_diag *diag)
{
    (void)params;
    *state = NULL;
    if (n > 0) {
        fs_diag(diag, 0, "unknown parameter '%s' (this decoder takes no parameters)",
                params[0].key);
        return -EINVAL;
    }
    return 0;
}

static void release(void *state)
{
    free(state);
}

static int encode(void *state, const struct ferry_host *host, const struct ferry_frame *geom,
                  const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                  struct ferry_diag *diag)
{
    if (!state) {
        fs_diag(diag, -1, "encode called without configure");
        return -EINVAL;
    }
    return j2k_encode(state, host, geom, in, in_len, out, diag);
}

static const struct ferry_codec codec_lossless = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg2000-lossless",
    .transfer_syntax = "1.2.840.10008.1.2.4.90",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE,
    .configure = configure_lossless,
    .release = release,
    .decode = j2k_decode,
    .encode = encode,
};

static const struct ferry_codec codec_lossy = {
    .size = sizeof(struct ferry_codec),
    .name = "jpeg2000",
    .transfer_syntax = "1.2.840.10008.1.2.4.91",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY,
    .configure = configure_lossy,
    .release = release,
    .decode = j2k_decode,
    .encode = encode,
};

static const struct ferry_codec codec_ht_lossless = {
    .size = sizeof(struct ferry_codec),
    .name = "htj2k-lossless-openjpeg",
    .transfer_syntax = "1.2.840.10008.1.2.4.201",
    .flags = FERRY_CODEC_DECODE,
    .configure = configure_decode_only,
    .release = release,
    .decode = j2k_decode,
};

static const struct ferry_codec codec_ht_rpcl = {
    .size = sizeof(struct ferry_codec),
    .name = "htj2k-lossless-rpcl-openjpeg",
    .transfer_syntax = "1.2.840.10008.1.2.4.202",
    .flags = FERRY_CODEC_DECODE,
    .configure = configure_decode_only,
    .release = release,
    .decode = j2k_decode,
};

static const struct ferry_codec codec_ht = {
    .size = sizeof(struct ferry_codec),
    .name = "htj2k-openjpeg",
    .transfer_syntax = "1.2.840.10008.1.2.4.203",
    .flags = FERRY_CODEC_DECODE,
    .configure = configure_decode_only,
    .release = release,
    .decode = j2k_decode,
};

static const struct ferry_codec *const codecs[] = {
    &codec_lossless, &codec_lossy, &codec_ht_lossless, &codec_ht_rpcl, &codec_ht,
};

static const struct ferry_plugin plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "j2k",
    .version = "0.1.0",
    .description = "JPEG 2000 lossless/lossy encode and decode, HTJ2K decode (OpenJPEG)",
    .codecs = codecs,
    .n_codecs = sizeof codecs / sizeof codecs[0],
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *host)
{
    if (!host || host->abi_major != FERRY_PLUGIN_ABI_MAJOR)
        return NULL;
    const char *v = opj_version();
    unsigned major = 0, minor = 0;
    if (!v || sscanf(v, "%u.%u", &major, &minor) != 2 || major < 2 || (major == 2 && minor < 5)) {
        host->log(NULL, FERRY_PLUGIN_LOG_ERROR,
                  "j2k: OpenJPEG %s is too old (2.5 or later decodes HTJ2K)", v ? v : "?");
        return NULL;
    }
    return &plugin;
}
