/* ferry — errors a person will read. */
#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char oom_text[] = "out of memory";
static struct ferry_error oom_error = { -ENOMEM, oom_text };

#define OOM (&oom_error)

__attribute__((format(printf, 2, 0)))
static struct ferry_error *error_new(int code, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    struct ferry_error *e = malloc(sizeof *e + (size_t)n + 1);
    if (!e)
        return OOM;
    e->code = code;
    e->message = (char *)(e + 1);
    vsnprintf(e->message, (size_t)n + 1, fmt, ap);
    return e;
}

int ferry_error_setv(struct ferry_error **err, int code, const char *fmt, va_list ap)
{
    if (err && !*err)
        *err = error_new(code, fmt, ap);
    return code;
}

int ferry_error_set(struct ferry_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ferry_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void ferry_error_prefix(struct ferry_error **err, const char *fmt, ...)
{
    if (!err || !*err || *err == OOM)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    struct ferry_error *old = *err;
    size_t len = strlen(prefix) + 2 + strlen(old->message) + 1;
    struct ferry_error *e = malloc(sizeof *e + len);
    if (!e)
        return; /* keep the unprefixed message rather than lose it */
    e->code = old->code;
    e->message = (char *)(e + 1);
    snprintf(e->message, len, "%s: %s", prefix, old->message);
    free(old);
    *err = e;
}

void ferry_error_free(struct ferry_error *err)
{
    if (err && err != OOM)
        free(err);
}

const char *ferry_error_message(const struct ferry_error *err)
{
    return err ? err->message : "";
}
