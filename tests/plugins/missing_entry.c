/* A shared object without ferry_plugin_init: the loader must refuse it. */
#include <ferry/plugin.h>

FERRY_PLUGIN_EXPORT int ferry_plugin_start(void);
FERRY_PLUGIN_EXPORT int ferry_plugin_start(void)
{
    return 0;
}
