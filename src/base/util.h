/* ferry — small helpers every module may use. */
#ifndef FERRY_BASE_UTIL_H
#define FERRY_BASE_UTIL_H

#include <stddef.h>

/* The struct of `type` whose member `member` is at `ptr` (through void *,
 * so that the compiler knows the alignment is the struct's own). */
#define ferry_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
