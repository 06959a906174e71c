/* ferry — logging.
 *
 * Library-like modules (dcm, dul framing, codecs) return errors and never log;
 * the layer that owns an association or a job logs once, with its context.
 * A log line is one line: time, level, a context ("assoc 12 MODALITY1->FERRY
 * 10.0.0.5:40112") and the message. Problems that were survived say what was
 * done about them ("..., association aborted").
 *
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef FERRY_BASE_LOG_H
#define FERRY_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_DEBUG = 3,
};

/* Where lines go (default: stderr) and the most verbose level written
 * (default: INFO). fd is borrowed. Call before threads start. */
void ferry_log_init(int fd, enum ferry_log_level max_level);
void ferry_log_set_level(enum ferry_log_level max_level);
bool ferry_log_enabled(enum ferry_log_level level);

/* ctx may be NULL. */
void ferry_log(enum ferry_log_level level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ferry_logv(enum ferry_log_level level, const char *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* "error", "warn", "info", "debug"; returns -1 for an unknown name. */
int ferry_log_level_from_name(const char *name);

#endif
