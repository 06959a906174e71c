/* ferry — file-system helpers every module may use. */
#ifndef FERRY_BASE_FS_H
#define FERRY_BASE_FS_H

#include <sys/types.h>

/* Create the folder `path` and any missing parents, each with `mode` (as
 * umask leaves it); folders that exist already are fine. 0, or a negative
 * errno: -ENAMETOOLONG for a path of 4096 bytes or more, else mkdir's. */
int ferry_mkdir_p(const char *path, mode_t mode);

#endif
