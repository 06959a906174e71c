/* The j2k plugin: JPEG 2000 (4.90, 4.91) encode and decode, HTJ2K (4.201,
 * 4.202, 4.203) decode, with OpenJPEG 2.5. */
#ifndef FERRY_PLUGIN_J2K_PRIVATE_H
#define FERRY_PLUGIN_J2K_PRIVATE_H

#include <ferry/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define J2K_MAX_LAYERS 10
#define J2K_MAX_THREADS 64
/* OpenJPEG worker threads per frame when the config does not say: enough to
 * shorten one big frame, few enough not to fight ferry's own worker pool. */
#define J2K_DEFAULT_THREADS 2

/* What configure() builds; read-only afterwards, shared by worker threads. */
struct j2k_state {
    bool lossy;                      /* irreversible 9/7 wavelet, ICT */
    bool by_psnr;                    /* layers[] are PSNR targets in dB, not ratios */
    uint32_t n_layers;               /* 1.. J2K_MAX_LAYERS */
    float layers[J2K_MAX_LAYERS];    /* compression ratios (decreasing) or PSNR (increasing) */
    uint32_t threads;
};

/* Parameters (j2k_params.c). `lossy` says which codec is configured. On
 * error fills diag (with the index of the parameter at fault) and returns
 * -EINVAL; *st is then untouched. */
int j2k_parse_params(bool lossy, const struct ferry_param *params, uint32_t n,
                     struct j2k_state *st, struct ferry_diag *diag);

/* The codec entry points (j2k_decode.c, j2k_encode.c). state may be NULL
 * (defaults). */
int j2k_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in, size_t in_len,
               uint8_t *out, size_t out_len, struct ferry_frame *out_geom,
               struct ferry_diag *diag);
int j2k_encode(const struct j2k_state *st, const struct ferry_host *host,
               const struct ferry_frame *geom, const uint8_t *in, size_t in_len,
               struct ferry_encoded *out, struct ferry_diag *diag);

/* OpenJPEG's message callbacks write into one of these (per call, so no
 * sharing between threads): the first error wins. */
struct j2k_msgbuf {
    char text[320];
};
void j2k_on_error(const char *msg, void *client_data);
void j2k_on_quiet(const char *msg, void *client_data);

#endif
