/* ferry — file-system helpers. */
#include "base/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

int ferry_mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return -ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    /* each prefix ending at a '/' (not the root itself), then the whole */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        buf[i] = c;
    }
    return 0;
}
