/* ferry — logging: one write(2) per line, so lines from threads never mix. */
#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static atomic_int log_max = FERRY_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void ferry_log_init(int fd, enum ferry_log_level max_level)
{
    log_fd = fd;
    atomic_store(&log_max, (int)max_level);
}

void ferry_log_set_level(enum ferry_log_level max_level)
{
    atomic_store(&log_max, (int)max_level);
}

bool ferry_log_enabled(enum ferry_log_level level)
{
    return (int)level <= atomic_load(&log_max);
}

int ferry_log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void ferry_logv(enum ferry_log_level level, const char *ctx, const char *fmt, va_list ap)
{
    if (!ferry_log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    int k = snprintf(line + n, sizeof line - n, ".%03ld %-5s ", ts.tv_nsec / 1000000L,
                     level_names[level]);
    if (k > 0)
        n += (size_t)k;
    if (ctx && *ctx && n < sizeof line) {
        k = snprintf(line + n, sizeof line - n, "[%s] ", ctx);
        if (k > 0)
            n += (size_t)k;
    }
    if (n < sizeof line) {
        k = vsnprintf(line + n, sizeof line - n, fmt, ap);
        if (k > 0)
            n += (size_t)k;
    }
    if (n >= sizeof line - 1) {
        n = sizeof line - 2; /* truncated: keep the newline */
        memcpy(line + n - 3, "...", 3);
    }
    /* One line, whatever the message held. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;
}

void ferry_log(enum ferry_log_level level, const char *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ferry_logv(level, ctx, fmt, ap);
    va_end(ap);
}
