/* Parameters of the jpeg2000 and jpeg2000-lossless compress steps.
 *
 *   jpeg2000-lossless:  threads
 *   jpeg2000:           rate | psnr, threads
 *
 * rate: compression ratios, one per quality layer, each > 1 and decreasing
 *       ("20" or "40,20,10"): the last layer reaches the last ratio.
 *       Default 10 (10:1) when neither rate nor psnr is given.
 * psnr: PSNR targets in dB, one per quality layer, increasing ("45" or
 *       "35,45"), each from 10 to 150.
 * threads: OpenJPEG worker threads for one frame, 1 to 64 (default 2).
 *
 * A list may be given as one comma-separated value or as repeated keys. */
#include "j2k-private.h"
#include "frame_samples.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse a comma-separated list of numbers, appending to vals[*n]. Returns 0,
 * -EINVAL for a bad number, -E2BIG for too many. */
static int parse_list(const char *s, float *vals, uint32_t *n)
{
    const char *p = s;
    for (;;) {
        char *end;
        while (*p == ' ')
            p++;
        double v = strtod(p, &end);
        if (end == p || !isfinite(v))
            return -EINVAL;
        while (*end == ' ')
            end++;
        if (*n >= J2K_MAX_LAYERS)
            return -E2BIG;
        vals[(*n)++] = (float)v;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -EINVAL;
        p = end + 1;
    }
}

int j2k_parse_params(bool lossy, const struct ferry_param *params, uint32_t n,
                     struct j2k_state *st, struct ferry_diag *diag)
{
    struct j2k_state s = {.lossy = lossy, .threads = J2K_DEFAULT_THREADS};
    int32_t rate_at = -1, psnr_at = -1;
    for (uint32_t i = 0; i < n; i++) {
        const char *k = params[i].key, *v = params[i].value ? params[i].value : "";
        if (lossy && (strcmp(k, "rate") == 0 || strcmp(k, "psnr") == 0)) {
            bool is_psnr = k[0] == 'p';
            if ((is_psnr && rate_at >= 0) || (!is_psnr && psnr_at >= 0)) {
                fs_diag(diag, (int32_t)i, "give either rate or psnr, not both");
                return -EINVAL;
            }
            if (is_psnr)
                psnr_at = (int32_t)i;
            else
                rate_at = (int32_t)i;
            int r = parse_list(v, s.layers, &s.n_layers);
            if (r == -E2BIG) {
                fs_diag(diag, (int32_t)i, "%s: at most %d quality layers", k, J2K_MAX_LAYERS);
                return -EINVAL;
            }
            if (r < 0) {
                fs_diag(diag, (int32_t)i, "%s: '%s' is not a number or a comma-separated list of numbers",
                        k, v);
                return -EINVAL;
            }
            s.by_psnr = is_psnr;
        } else if (strcmp(k, "threads") == 0) {
            char *end;
            long t = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || t < 1 || t > J2K_MAX_THREADS) {
                fs_diag(diag, (int32_t)i, "threads: '%s' is not an integer from 1 to %d", v,
                        J2K_MAX_THREADS);
                return -EINVAL;
            }
            s.threads = (uint32_t)t;
        } else {
            fs_diag(diag, (int32_t)i, "unknown parameter '%s' (%s)", k,
                    lossy ? "this codec takes rate, psnr and threads"
                          : "this codec is lossless and takes only threads");
            return -EINVAL;
        }
    }
    if (lossy && s.n_layers == 0) {
        s.layers[0] = 10.0f;
        s.n_layers = 1;
    }
    for (uint32_t j = 0; lossy && j < s.n_layers; j++) {
        float x = s.layers[j];
        if (!s.by_psnr) {
            if (!(x > 1.0f)) {
                fs_diag(diag, rate_at, "rate: a compression ratio must be greater than 1 (got %g)",
                        (double)x);
                return -EINVAL;
            }
            if (j > 0 && !(x < s.layers[j - 1])) {
                fs_diag(diag, rate_at,
                        "rate: the ratios of successive quality layers must decrease (%g after %g)",
                        (double)x, (double)s.layers[j - 1]);
                return -EINVAL;
            }
        } else {
            if (!(x >= 10.0f && x <= 150.0f)) {
                fs_diag(diag, psnr_at, "psnr: a target must be from 10 to 150 dB (got %g)",
                        (double)x);
                return -EINVAL;
            }
            if (j > 0 && !(x > s.layers[j - 1])) {
                fs_diag(diag, psnr_at,
                        "psnr: the targets of successive quality layers must increase (%g after %g)",
                        (double)x, (double)s.layers[j - 1]);
                return -EINVAL;
            }
        }
    }
    *st = s;
    return 0;
}
