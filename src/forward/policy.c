/* ferry — forward: the small rules the forwarder lives by, as pure
 * functions: pipeline texts, time windows, backoff, the bandwidth bucket,
 * what a status or a rejection means. */
#include "forward/forward.h"

#include "conf/conf.h"
#include "dimse/dimse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ pipeline text */

static bool must_escape(unsigned char c)
{
    return c <= 0x20 || c == 0x7F || c == '%' || c == '|' || c == '=';
}

/* Append s escaped; false when out of room. */
static bool put_escaped(char *buf, size_t size, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t need = must_escape(*p) ? 3 : 1;
        if (*n + need >= size)
            return false;
        if (need == 3) {
            buf[(*n)++] = '%';
            buf[(*n)++] = hex[*p >> 4];
            buf[(*n)++] = hex[*p & 15];
        } else {
            buf[(*n)++] = (char)*p;
        }
    }
    buf[*n] = '\0';
    return true;
}

static bool put_raw(char *buf, size_t size, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len >= size)
        return false;
    memcpy(buf + *n, s, len + 1);
    *n += len;
    return true;
}

int fwd_pipeline_text(const struct conf_pipeline *p, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return -ENAMETOOLONG;
    buf[0] = '\0';
    if (!p)
        return 0;
    for (size_t i = 0; i < p->n_steps; i++) {
        const struct conf_step *s = &p->steps[i];
        if (i && !put_raw(buf, size, &n, " | "))
            goto too_long;
        if (!put_raw(buf, size, &n, s->kind == CONF_STEP_COMPRESS ? "compress " : "step ") ||
            !put_escaped(buf, size, &n, s->name))
            goto too_long;
        for (uint32_t k = 0; k < s->n_params; k++) {
            if (!put_raw(buf, size, &n, " ") || !put_escaped(buf, size, &n, s->params[k].key) ||
                !put_raw(buf, size, &n, "=") || !put_escaped(buf, size, &n, s->params[k].value))
                goto too_long;
        }
    }
    return (int)n;
too_long:
    buf[0] = '\0';
    return -ENAMETOOLONG;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A new string: s[0..len) with %XX decoded; NULL on a bad escape or no memory. */
static char *unescape(const char *s, size_t len, int *bad)
{
    char *out = malloc(len + 1);
    if (!out) {
        *bad = -ENOMEM;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[n++] = s[i];
            continue;
        }
        if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
            free(out);
            *bad = -EINVAL;
            return NULL;
        }
        out[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
        i += 2;
    }
    out[n] = '\0';
    return out;
}

void fwd_steps_free(struct fwd_steps *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        struct fwd_step *st = &s->v[i];
        free(st->name);
        for (uint32_t k = 0; k < st->n_params; k++) {
            free(st->keys[k]);
            free(st->values[k]);
        }
        free(st->keys);
        free(st->values);
    }
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* One step: "compress NAME K=V ..." in [p, end). */
static int parse_step(const char *p, const char *end, struct fwd_step *st, size_t index,
                      struct ferry_error **err)
{
    const char *word[64 + 2];
    size_t wlen[64 + 2], nw = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        if (nw == sizeof word / sizeof *word)
            return ferry_error_set(err, -EINVAL, "pipeline step %zu: too many parameters",
                                   index + 1);
        word[nw] = w;
        wlen[nw++] = (size_t)(p - w);
    }
    if (nw < 2)
        return ferry_error_set(err, -EINVAL, "pipeline step %zu: expected 'compress NAME' or "
                               "'step NAME'", index + 1);
    if (wlen[0] == 8 && memcmp(word[0], "compress", 8) == 0)
        st->compress = true;
    else if (wlen[0] == 4 && memcmp(word[0], "step", 4) == 0)
        st->compress = false;
    else
        return ferry_error_set(err, -EINVAL, "pipeline step %zu: '%.*s' is neither compress nor "
                               "step", index + 1, (int)wlen[0], word[0]);
    int bad = 0;
    if (!(st->name = unescape(word[1], wlen[1], &bad)))
        goto bad_escape;
    st->n_params = (uint32_t)(nw - 2);
    if (st->n_params) {
        st->keys = calloc(st->n_params, sizeof *st->keys);
        st->values = calloc(st->n_params, sizeof *st->values);
        if (!st->keys || !st->values)
            return ferry_error_set(err, -ENOMEM, "out of memory");
    }
    for (uint32_t k = 0; k < st->n_params; k++) {
        const char *w = word[k + 2];
        const char *eq = memchr(w, '=', wlen[k + 2]);
        if (!eq)
            return ferry_error_set(err, -EINVAL, "pipeline step %zu: parameter '%.*s' has no "
                                   "'='", index + 1, (int)wlen[k + 2], w);
        if (!(st->keys[k] = unescape(w, (size_t)(eq - w), &bad)) ||
            !(st->values[k] = unescape(eq + 1, wlen[k + 2] - (size_t)(eq - w) - 1, &bad)))
            goto bad_escape;
    }
    return 0;
bad_escape:
    if (bad == -ENOMEM)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    return ferry_error_set(err, -EINVAL, "pipeline step %zu: a bad %%XX escape", index + 1);
}

int fwd_steps_parse(const char *text, struct fwd_steps *out, struct ferry_error **err)
{
    out->v = NULL;
    out->n = 0;
    if (!text || !*text)
        return 0;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '|';
    out->v = calloc(n, sizeof *out->v);
    if (!out->v)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        const char *bar = strchr(p, '|');
        const char *end = bar ? bar : p + strlen(p);
        out->n = i + 1;
        int rc = parse_step(p, end, &out->v[i], i, err);
        if (rc < 0) {
            fwd_steps_free(out);
            return rc;
        }
        p = bar ? bar + 1 : end;
    }
    return 0;
}

const char *fwd_steps_output_syntax(const struct fwd_steps *s)
{
    const char *ts = NULL;
    for (size_t i = 0; s && i < s->n; i++) {
        if (!s->v[i].compress)
            continue;
        const char *name = s->v[i].name;
        if (strcmp(name, "explicit-vr-little-endian") == 0 || strcmp(name, "uncompressed") == 0)
            ts = "1.2.840.10008.1.2.1";
        else
            ts = conf_transfer_syntax_uid(name);
    }
    return ts;
}

/* --------------------------------------------------------------- window */

bool fwd_window_open(const struct conf_window *w, unsigned minute)
{
    if (!w || !w->set || w->start_min == w->end_min)
        return true;
    if (w->start_min < w->end_min)
        return minute >= w->start_min && minute < w->end_min;
    return minute >= w->start_min || minute < w->end_min; /* across midnight */
}

unsigned fwd_window_wait(const struct conf_window *w, unsigned minute)
{
    if (fwd_window_open(w, minute))
        return 0;
    return (w->start_min + 1440u - minute) % 1440u;
}

/* -------------------------------------------------------------- backoff */

uint64_t fwd_backoff_ms(uint64_t initial, uint64_t max, uint32_t jitter, unsigned n, double r)
{
    if (n < 1)
        n = 1;
    uint64_t d = initial ? initial : 1;
    for (unsigned i = 1; i < n && d < max; i++)
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    if (d > max)
        d = max;
    if (jitter > 100)
        jitter = 100;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    uint64_t cut = (uint64_t)((double)d * (double)jitter / 100.0 * r);
    return d - cut;
}

/* --------------------------------------------------------------- bucket */

void fwd_bucket_init(struct fwd_bucket *b, uint64_t rate, uint64_t now_ns)
{
    b->rate = rate;
    /* A tenth of a second's worth, at least 16 KiB: small enough that the
     * rate holds over a few seconds, big enough for a PDU or so at once. */
    b->burst = rate / 10 < 16384 ? 16384 : rate / 10;
    b->tokens = (double)b->burst;
    b->last_ns = now_ns;
}

size_t fwd_bucket_take(struct fwd_bucket *b, size_t want, uint64_t now_ns, uint64_t *wait_ms)
{
    *wait_ms = 0;
    if (b->rate == 0 || want == 0)
        return want;
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * (double)b->rate / 1e9;
        if (b->tokens > (double)b->burst)
            b->tokens = (double)b->burst;
        b->last_ns = now_ns;
    }
    /* Send in pieces of at least 4 KiB (or what is left), never more than
     * the bucket holds. */
    size_t min_piece = want < 4096 ? want : 4096;
    if (b->tokens < (double)min_piece) {
        double missing = (double)min_piece - b->tokens;
        uint64_t ms = (uint64_t)(missing * 1000.0 / (double)b->rate) + 1;
        *wait_ms = ms;
        return 0;
    }
    size_t n = want;
    if ((double)n > b->tokens)
        n = (size_t)b->tokens;
    b->tokens -= (double)n;
    return n;
}

/* ------------------------------------------------------------- statuses */

enum fwd_verdict fwd_status_verdict(uint16_t status, const char **meaning)
{
    const char *m = "failure";
    enum fwd_verdict v = FWD_RETRY;
    switch (dimse_status_class(status)) {
    case DIMSE_SUCCESS:
        *meaning = "success";
        return FWD_DELIVERED;
    case DIMSE_WARNING:
        *meaning = status == 0xB000   ? "warning: coercion of data elements"
                   : status == 0xB007 ? "warning: data set does not match SOP class"
                   : status == 0xB006 ? "warning: elements discarded"
                                      : "warning";
        return FWD_DELIVERED_WARNING;
    case DIMSE_CANCEL:
        *meaning = "cancelled";
        return FWD_RETRY;
    case DIMSE_PENDING:
        *meaning = "pending (not a final status for C-STORE)";
        return FWD_RETRY;
    case DIMSE_FAILURE:
        break;
    }
    if ((status & 0xFF00) == 0xA700) {
        m = "out of resources";
    } else if ((status & 0xFF00) == 0xA900) {
        m = "data set does not match SOP class";
        v = FWD_DEAD;
    } else if ((status & 0xF000) == 0xC000) {
        m = "cannot understand";
        v = FWD_DEAD;
    } else {
        switch (status) {
        case 0x0122: m = "SOP class not supported"; v = FWD_DEAD; break;
        case 0x0124: m = "not authorized"; v = FWD_DEAD; break;
        case 0x0117: m = "invalid SOP instance"; v = FWD_DEAD; break;
        case 0x0211: m = "unrecognized operation"; v = FWD_DEAD; break;
        case 0x0212: m = "mistyped argument"; v = FWD_DEAD; break;
        case 0x0111:
            /* The destination already has this instance: it is delivered. */
            *meaning = "duplicate SOP instance (the destination has it already)";
            return FWD_DELIVERED_WARNING;
        case 0x0110: m = "processing failure"; break;
        case 0x0210: m = "duplicate invocation"; break;
        case 0x0213: m = "resource limitation"; break;
        default: m = "failure"; break;
        }
    }
    *meaning = m;
    return v;
}

bool fwd_reject_transient(uint8_t result, uint8_t source, uint8_t reason, const char **why)
{
    const char *w = "no reason given";
    switch (source) {
    case 1:
        w = reason == 2   ? "application context name not supported"
            : reason == 3 ? "calling AE title not recognized"
            : reason == 7 ? "called AE title not recognized"
                          : "no reason given";
        break;
    case 2:
        w = reason == 2 ? "protocol version not supported" : "no reason given";
        break;
    case 3:
        w = reason == 1   ? "temporary congestion"
            : reason == 2 ? "local limit exceeded"
                          : "no reason given";
        break;
    default:
        break;
    }
    *why = w;
    /* Congestion and limits pass by nature, whatever result the peer put. */
    return result == 2 || source == 3;
}
