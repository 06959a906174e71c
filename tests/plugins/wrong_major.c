/* A test plugin that claims the next ABI major: the loader must refuse it. */
#include <ferry/plugin.h>

static const struct ferry_plugin plugin = {
    .size = sizeof(struct ferry_plugin),
    .abi_major = FERRY_PLUGIN_ABI_MAJOR + 1,
    .abi_minor = 0,
    .name = "test-future",
    .version = "1",
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *h)
{
    (void)h;
    return &plugin;
}
