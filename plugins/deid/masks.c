/* The mask file: per device (manufacturer, model, rows x columns), the
 * rectangles of burned-in text to black out. One device per line, four
 * tab-separated fields:
 *
 *     # manufacturer <TAB> model <TAB> ROWSxCOLUMNS <TAB> rectangles
 *     GE Healthcare	LOGIQ E10	768x1024	0,0,1024,64; 0,700,300,68
 *
 * A rectangle is x,y,width,height in pixels (x a column, y a row, from the
 * top left, 0-based); several are separated by ';' or spaces. A model of
 * "*" matches every model of that manufacturer. '#' starts a comment line.
 * Errors name PATH:LINE:COL. */
#include "deid-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASK_FILE_MAX (1u << 20)

void deid_masks_free(struct deid_masks *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n; i++) {
        free(m->entries[i].manufacturer);
        free(m->entries[i].model);
        free(m->entries[i].rects);
    }
    free(m->entries);
    free(m);
}

struct parser {
    const char *name;
    char *msg;
    size_t msgsize;
    uint32_t line;
};

__attribute__((format(printf, 3, 4)))
static int error_at(struct parser *p, size_t col, const char *fmt, ...)
{
    int n = snprintf(p->msg, p->msgsize, "%s:%u:%zu: ", p->name, p->line, col);
    if (n >= 0 && (size_t)n < p->msgsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->msg + n, p->msgsize - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* A decimal number 0..65535 at s (length n, no sign); -1 otherwise. */
static long number(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535 ? v : -1;
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return strndup(s, n);
}

static int parse_rects(struct parser *p, const char *s, size_t n, size_t col0,
                       struct deid_mask_entry *e)
{
    for (size_t i = 0; i < n;) {
        while (i < n && (s[i] == ' ' || s[i] == ';'))
            i++;
        if (i == n)
            break;
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != ';')
            j++;
        long v[4];
        int got = 0;
        bool ok = true;
        for (size_t k = i;;) {
            size_t c = k;
            while (c < j && s[c] != ',')
                c++;
            if (got == 4) {
                ok = false;
                break;
            }
            v[got] = number(s + k, c - k);
            if (v[got++] < 0)
                ok = false;
            if (c == j || !ok)
                break;
            k = c + 1;
        }
        if (!ok || got != 4)
            return error_at(p, col0 + i, "rectangle \"%.*s\" must be x,y,width,height",
                            (int)(j - i > 40 ? 40 : j - i), s + i);
        if (v[2] == 0 || v[3] == 0)
            return error_at(p, col0 + i, "rectangle \"%.*s\" is empty", (int)(j - i), s + i);
        if (v[0] + v[2] > (long)e->columns || v[1] + v[3] > (long)e->rows)
            return error_at(p, col0 + i, "rectangle %ld,%ld,%ld,%ld reaches past the %ux%u image",
                            v[0], v[1], v[2], v[3], e->rows, e->columns);
        struct deid_rect *r = realloc(e->rects, (e->n_rects + 1) * sizeof *r);
        if (!r)
            return -ENOMEM;
        e->rects = r;
        e->rects[e->n_rects++] = (struct deid_rect){ (uint32_t)v[0], (uint32_t)v[1],
                                                     (uint32_t)v[2], (uint32_t)v[3] };
        i = j;
    }
    if (e->n_rects == 0)
        return error_at(p, col0, "no rectangles");
    return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n, struct deid_masks *m)
{
    const char *field[4];
    size_t flen[4], fcol[4];
    int nf = 0;
    for (size_t i = 0;; i++) {
        size_t j = i;
        while (j < n && s[j] != '\t')
            j++;
        if (nf < 4) {
            field[nf] = s + i;
            flen[nf] = j - i;
            fcol[nf] = i + 1;
        }
        nf++;
        i = j;
        if (j >= n)
            break;
    }
    if (nf != 4)
        return error_at(p, 1,
                        "expected 4 fields separated by tabs (manufacturer, model, "
                        "ROWSxCOLUMNS, rectangles), found %d", nf);
    struct deid_mask_entry e = { .line = p->line };
    int rc = -ENOMEM;
    e.manufacturer = trimmed_dup(field[0], flen[0]);
    e.model = trimmed_dup(field[1], flen[1]);
    if (!e.manufacturer || !e.model)
        goto out_free;
    if (!e.manufacturer[0]) {
        rc = error_at(p, fcol[0], "empty manufacturer");
        goto out_free;
    }
    if (!e.model[0]) {
        rc = error_at(p, fcol[1], "empty model (write * for every model)");
        goto out_free;
    }
    const char *x = memchr(field[2], 'x', flen[2]);
    long rows = x ? number(field[2], (size_t)(x - field[2])) : -1;
    long cols = x ? number(x + 1, flen[2] - (size_t)(x - field[2]) - 1) : -1;
    if (rows <= 0 || cols <= 0) {
        rc = error_at(p, fcol[2], "size \"%.*s\" must be ROWSxCOLUMNS, e.g. 768x1024",
                      (int)(flen[2] > 20 ? 20 : flen[2]), field[2]);
        goto out_free;
    }
    e.rows = (uint32_t)rows;
    e.columns = (uint32_t)cols;
    rc = parse_rects(p, field[3], flen[3], fcol[3], &e);
    if (rc < 0)
        goto out_free;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct deid_mask_entry *o = &m->entries[i];
        if (strcasecmp(o->manufacturer, e.manufacturer) == 0 &&
            strcasecmp(o->model, e.model) == 0 && o->rows == e.rows && o->columns == e.columns) {
            rc = error_at(p, 1, "same device and size as line %u", o->line);
            goto out_free;
        }
    }
    struct deid_mask_entry *entries = realloc(m->entries, (m->n + 1) * sizeof *entries);
    if (!entries) {
        rc = -ENOMEM;
        goto out_free;
    }
    m->entries = entries;
    m->entries[m->n++] = e;
    return 0;

out_free:
    if (rc == -ENOMEM)
        snprintf(p->msg, p->msgsize, "%s: out of memory", p->name);
    free(e.manufacturer);
    free(e.model);
    free(e.rects);
    return rc;
}

struct deid_masks *deid_masks_parse(const char *name, const char *text, size_t len, char *msg,
                                    size_t msgsize)
{
    struct deid_masks *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(msg, msgsize, "%s: out of memory", name);
        return NULL;
    }
    struct parser p = { name, msg, msgsize, 0 };
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        p.line++;
        size_t n = j - i;
        if (n && text[i + n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (text[i + k] == ' ' || text[i + k] == '\t'))
            k++;
        if (k < n && text[i + k] != '#' && parse_line(&p, text + i, n, m) < 0) {
            deid_masks_free(m);
            return NULL;
        }
        i = j + 1;
    }
    if (m->n == 0) {
        snprintf(msg, msgsize, "%s: no devices", name);
        deid_masks_free(m);
        return NULL;
    }
    return m;
}

struct deid_masks *deid_masks_load(const char *path, char *msg, size_t msgsize)
{
    struct deid_masks *m = NULL;
    char *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msgsize, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MASK_FILE_MAX) {
        snprintf(msg, msgsize, "%s: not a regular file of at most 1 MiB", path);
        goto out_close;
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        snprintf(msg, msgsize, "%s: out of memory", path);
        goto out_close;
    }
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, text + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(msg, msgsize, "%s: %s", path, strerror(errno));
            goto out_free;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    m = deid_masks_parse(path, text, len, msg, msgsize);
out_free:
    free(text);
out_close:
    close(fd);
    return m;
}

/* Equal after trimming spaces, ignoring case. */
static bool same_name(const char *a, const char *b)
{
    while (*a == ' ')
        a++;
    while (*b == ' ')
        b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == ' ')
        la--;
    while (lb && b[lb - 1] == ' ')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

const struct deid_mask_entry *deid_masks_find(const struct deid_masks *m,
                                              const char *manufacturer, const char *model,
                                              uint32_t rows, uint32_t columns)
{
    const struct deid_mask_entry *any = NULL;
    if (!m || !manufacturer)
        return NULL;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct deid_mask_entry *e = &m->entries[i];
        if (e->rows != rows || e->columns != columns || !same_name(e->manufacturer, manufacturer))
            continue;
        if (model && same_name(e->model, model))
            return e;   /* an exact model wins over "*" */
        if (strcmp(e->model, "*") == 0)
            any = e;
    }
    return any;
}
