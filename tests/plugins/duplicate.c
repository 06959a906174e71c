/* A test plugin that takes the name of test/good.c's: refused when both load. */
#include <ferry/plugin.h>

static const struct ferry_plugin plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "test-good",
    .version = "2",
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *h)
{
    (void)h;
    return &plugin;
}
