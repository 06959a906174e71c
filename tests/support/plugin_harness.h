/* Test support: load one plugin shared object outside the daemon, with a
 * host table that only offers log/alloc/free (the data set and pixel
 * functions answer -ENOSYS), so codec tests can call a codec's configure,
 * decode and encode directly. Also: synthetic frames of any geometry. */
#ifndef FERRY_TEST_PLUGIN_HARNESS_H
#define FERRY_TEST_PLUGIN_HARNESS_H

#include <ferry/plugin.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct harness_plugin;

/* dlopen `path` and run its entry point. Returns NULL with a message in err. */
struct harness_plugin *harness_load(const char *path, char *err, size_t errlen);
void harness_unload(struct harness_plugin *p);
const struct ferry_plugin *harness_plugin_desc(const struct harness_plugin *p);
const struct ferry_host *harness_host(void);

/* The codec whose name or transfer syntax UID is `key`, or NULL. Borrowed. */
const struct ferry_codec *harness_codec(const struct harness_plugin *p, const char *key);

/* Path of a built plugin: $FERRY_BUILD_DIR/plugins/<name>.so (FERRY_BUILD_DIR
 * is set by ferry_add_unit_test). Returns a static buffer. */
const char *harness_plugin_path(const char *name);

/* Bytes of one native frame of geometry g. */
size_t harness_frame_size(const struct ferry_frame *g);

/* A deterministic synthetic frame: smooth gradients and shapes plus noise of
 * amplitude `noise` (in stored-value units), within bits_stored, signed values
 * sign-extended to bits_allocated when pixel_representation is 1, laid out
 * by planar_configuration. Caller frees with free(). */
uint8_t *harness_synth_frame(const struct ferry_frame *g, uint32_t seed, unsigned noise);

/* Peak signal-to-noise ratio in dB between two frames of geometry g (over
 * the stored bits); INFINITY when identical. */
double harness_psnr(const struct ferry_frame *g, const uint8_t *a, const uint8_t *b);

#ifdef __cplusplus
}
#endif

#endif
