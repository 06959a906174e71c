/* ferry — work: loading plugins and finding their codecs and steps.
 *
 * A registry holds the plugins loaded from a folder, in the order they were
 * asked for. It is built at start (or for a config reload) on the main
 * thread, then only read, from any thread, until it is freed.
 */
#ifndef FERRY_WORK_PLUGINS_H
#define FERRY_WORK_PLUGINS_H

#include <ferry/plugin.h>
#include <stddef.h>

#include "base/error.h"

struct work_registry;

/* Load each plugin named in `names` (a name "jpegls" means <dir>/jpegls.so;
 * a name with a '/' is a path) and register its codecs and steps. `host` is
 * borrowed for the registry's life. A plugin that cannot be used — no entry
 * point, another ABI major, a struct older than ABI 1.0 allows, a name or a
 * codec name already taken, an init that fails — is refused: the whole call
 * fails with *err naming the plugin, its path and the reason, and nothing
 * stays loaded. */
struct work_registry *work_registry_load(const char *dir, const char *const *names,
                                         size_t n_names, const struct ferry_host *host,
                                         struct ferry_error **err);

/* Every *.so of `dir`, in name order (for tools such as `ferry transcode`). */
struct work_registry *work_registry_load_all(const char *dir, const struct ferry_host *host,
                                             struct ferry_error **err);

/* Unloads every plugin (calling its unload()); accepts NULL. */
void work_registry_free(struct work_registry *reg);

size_t work_registry_count(const struct work_registry *reg);
/* Plugin i's description; borrowed. */
const struct ferry_plugin *work_registry_plugin(const struct work_registry *reg, size_t i);

/* The codec named `name` (e.g. "jpeg-ls-lossless") or whose transfer syntax
 * UID is `name`, that can do `flags` (FERRY_CODEC_DECODE, _ENCODE);
 * the first registered wins. NULL if none. Borrowed. */
const struct ferry_codec *work_registry_codec(const struct work_registry *reg,
                                              const char *name, unsigned flags);

/* The codec that decodes transfer syntax `uid` and its decoding state (what
 * its configure() made of no parameters at load time, or NULL), or NULL.
 * When one decoder answers -ENOTSUP for a frame, the next one for the same
 * syntax (`after`: the previous answer, NULL for the first) may try. */
const struct ferry_codec *work_registry_decoder(const struct work_registry *reg, const char *uid,
                                                const struct ferry_codec *after, void **state);

/* The step called `name`, or NULL. Borrowed. */
const struct ferry_step *work_registry_step(const struct work_registry *reg, const char *name);

#endif
