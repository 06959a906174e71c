/* C++ glue shared by the C++ codec plugins (htj2k, jpegll): the pieces of
 * the plugin ABI that both wrote out by hand. Header only, and everything
 * here is internal to the plugin that includes it (no symbol crosses a
 * plugin boundary). No exception leaves these functions. */
#ifndef FERRY_PLUGIN_CODEC_GLUE_HPP
#define FERRY_PLUGIN_CODEC_GLUE_HPP

#include "frame_samples.h"

#include <cerrno>
#include <cstring>

#include <ferry/plugin.h>

namespace {

/* The configure callback of one codec of a plugin whose codecs differ by a
 * kind: configure_kind(kind, params, n, state, diag) does the work. */
template <typename Kind, Kind kind,
          int (*configure_kind)(Kind, const struct ferry_param *, uint32_t, void **,
                                struct ferry_diag *)>
int glue_configure(const struct ferry_param *params, uint32_t n, void **state,
                   struct ferry_diag *diag)
{
    return configure_kind(kind, params, n, state, diag);
}

/* The state of a codec's call, or NULL with "<what> called without
 * configure" in diag. */
template <typename State>
const State *glue_state(void *state, const char *what, struct ferry_diag *diag)
{
    if (!state)
        fs_diag(diag, -1, "%s called without configure", what);
    return static_cast<const State *>(state);
}

/* The plugin's description: this ABI, its codecs, no steps. */
struct ferry_plugin glue_plugin(const char *name, const char *version, const char *description,
                                const struct ferry_codec *const *codecs, uint32_t n_codecs,
                                void (*unload)(void))
{
    return ferry_plugin{sizeof(struct ferry_plugin), FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR,
                        name, version, description, codecs, n_codecs, NULL, 0, unload};
}

/* ferry_plugin_init's first check: a host of this ABI major. */
inline bool glue_host_ok(const struct ferry_host *host)
{
    return host && host->abi_major == FERRY_PLUGIN_ABI_MAJOR;
}

} // namespace

#endif
