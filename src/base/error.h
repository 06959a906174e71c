/* ferry — errors a person will read.
 *
 * Modules whose errors reach an administrator (the data set parser, the config
 * loader, the rule compiler, the plugin loader) take a `struct ferry_error **err`.
 * The first error set wins: later calls on an already-set error do nothing, so
 * the message names the place where things first went wrong. The code is a
 * negative errno value (-EINVAL malformed input, -ENOMEM, -EIO, -ENOSPC,
 * -ENOTSUP, -E2BIG a limit was exceeded, -ENOENT).
 *
 * Error text is part of the contract: tests match it.
 */
#ifndef FERRY_BASE_ERROR_H
#define FERRY_BASE_ERROR_H

#include <stdarg.h>

struct ferry_error {
    int code;          /* negative errno */
    char *message;     /* NUL-terminated, no trailing newline; in the same
                        * allocation as the struct */
};

/* Set *err (when err is not NULL and *err is NULL) to a new error. The
 * message is formatted like printf. Returns code, so that callers can write
 * `return ferry_error_set(err, -EINVAL, "...")`. If allocation fails, *err is
 * set to a static out-of-memory error that ferry_error_free() ignores. */
int ferry_error_set(struct ferry_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ferry_error_setv(struct ferry_error **err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefix the message of an existing error with "prefix: " (for example a file
 * name the lower layer did not know). No-op when err or *err is NULL. */
void ferry_error_prefix(struct ferry_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Frees an error; accepts NULL. */
void ferry_error_free(struct ferry_error *err);

/* The message, or "" for NULL. Borrowed from err. */
const char *ferry_error_message(const struct ferry_error *err);

#endif
