/* ferry — the command-line tool: where plugins are looked for. */
#include "cli/cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* build/bin/ferry -> build/plugins */
void cli_plugin_dir(char *out, size_t n)
{
    const char *env = getenv("FERRY_PLUGIN_DIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        snprintf(out, n, "plugins");
        return;
    }
    exe[len] = '\0';
    char *dir = dirname(exe); /* .../bin */
    snprintf(out, n, "%s/../plugins", dir);
}
