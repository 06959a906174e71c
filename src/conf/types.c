/* ferry — config: value types. Each type reads a YAML node into its field
 * and, when the node is wrong, reports "PATH: expected WHAT, found WHAT" at
 * the node. Units are parsed here: durations ("30s", "1h30m"), sizes
 * ("256KiB", "1MiB", "64 kB"), rates ("2 Mbit/s", "500 KiB/s"). */
#include "conf/conf-private.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Helpers */

static int expected(struct conf_parser *p, const yaml_node_t *n, const char *what)
{
    char found[96];
    conf_found(n, found, sizeof found);
    return conf_error_at(p, n, "%sexpected %s, found %s", conf_path(p), what, found);
}

static void store_uint(void *field, size_t size, uint64_t v)
{
    switch (size) {
    case sizeof(uint16_t):
        *(uint16_t *)field = (uint16_t)v;
        break;
    case sizeof(uint32_t):
        *(uint32_t *)field = (uint32_t)v;
        break;
    default:
        *(uint64_t *)field = v;
        break;
    }
}

static uint64_t load_uint(const void *field, size_t size)
{
    switch (size) {
    case sizeof(uint16_t):
        return *(const uint16_t *)field;
    case sizeof(uint32_t):
        return *(const uint32_t *)field;
    default:
        return *(const uint64_t *)field;
    }
}

/* Digits [. digits] at *s; advances *s. The value is int + frac / 10^digits. */
static int parse_decimal(const char **s, uint64_t *ipart, uint64_t *frac, unsigned *fdigits)
{
    const char *q = *s;
    uint64_t v = 0;
    if (*q < '0' || *q > '9')
        return -EINVAL;
    for (; *q >= '0' && *q <= '9'; q++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(*q - '0'), &v))
            return -ERANGE;
    *frac = 0;
    *fdigits = 0;
    if (*q == '.') {
        q++;
        if (*q < '0' || *q > '9')
            return -EINVAL;
        for (; *q >= '0' && *q <= '9'; q++) {
            if (*fdigits < 9) {
                *frac = *frac * 10 + (uint64_t)(*q - '0');
                (*fdigits)++;
            }
        }
    }
    *ipart = v;
    *s = q;
    return 0;
}

/* (int + frac/10^d) * mult, rounded down. */
static int scale(uint64_t ipart, uint64_t frac, unsigned fdigits, uint64_t mult, uint64_t *out)
{
    unsigned __int128 v = (unsigned __int128)ipart * mult;
    unsigned __int128 p10 = 1;
    for (unsigned i = 0; i < fdigits; i++)
        p10 *= 10;
    v += (unsigned __int128)frac * mult / p10;
    if (v > UINT64_MAX)
        return -ERANGE;
    *out = (uint64_t)v;
    return 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit *find_unit(const struct unit *u, const char *s, size_t len)
{
    for (; u->name; u++)
        if (strlen(u->name) == len && memcmp(u->name, s, len) == 0)
            return u;
    return NULL;
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

int conf_parse_duration_text(const char *s, uint64_t *ms)
{
    static const struct unit units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }, { NULL, 0 },
    };
    uint64_t total = 0;
    s = skip_spaces(s);
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*s)
        return -EINVAL;
    while (*s) {
        uint64_t ip, frac, v;
        unsigned fd;
        if (parse_decimal(&s, &ip, &frac, &fd) < 0)
            return -EINVAL;
        s = skip_spaces(s);
        const char *u = s;
        while ((*s >= 'a' && *s <= 'z'))
            s++;
        const struct unit *unit = find_unit(units, u, (size_t)(s - u));
        if (!unit || scale(ip, frac, fd, unit->mult, &v) < 0 ||
            __builtin_add_overflow(total, v, &total))
            return -EINVAL;
        s = skip_spaces(s);
    }
    *ms = total;
    return 0;
}

static int parse_with_units(const char *s, const struct unit *units, const struct unit *bare,
                            uint64_t *out)
{
    uint64_t ip, frac;
    unsigned fd;
    s = skip_spaces(s);
    if (parse_decimal(&s, &ip, &frac, &fd) < 0)
        return -EINVAL;
    s = skip_spaces(s);
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    const struct unit *unit = len ? find_unit(units, s, len) : bare;
    if (!unit)
        return -EINVAL;
    return scale(ip, frac, fd, unit->mult, out) < 0 ? -EINVAL : 0;
}

int conf_parse_size_text(const char *s, uint64_t *bytes)
{
    static const struct unit units[] = {
        { "B", 1 },
        { "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 }, { "TiB", 1ull << 40 },
        { "kB", 1000 }, { "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
        { "TB", 1000000000000ull }, { NULL, 0 },
    };
    static const struct unit bare = { "", 1 };
    return parse_with_units(s, units, &bare, bytes);
}

int conf_parse_rate_text(const char *s, uint64_t *bytes_per_s)
{
    /* In bits per second, then divided by 8. */
    static const struct unit units[] = {
        { "bit/s", 1 }, { "kbit/s", 1000 }, { "Kbit/s", 1000 }, { "Mbit/s", 1000000 },
        { "Gbit/s", 1000000000 },
        { "B/s", 8 }, { "kB/s", 8000 }, { "KB/s", 8000 }, { "MB/s", 8000000 },
        { "GB/s", 8000000000ull },
        { "KiB/s", 8ull << 10 }, { "MiB/s", 8ull << 20 }, { "GiB/s", 8ull << 30 },
        { NULL, 0 },
    };
    uint64_t bits;
    if (strcmp(s, "unlimited") == 0) {
        *bytes_per_s = 0;
        return 0;
    }
    if (parse_with_units(s, units, NULL, &bits) < 0 || bits / 8 == 0)
        return -EINVAL;
    *bytes_per_s = bits / 8;
    return 0;
}

void conf_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    while (u < 4 && bytes && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, "%" PRIu64 "%s", bytes, units[u]);
}

/* Levenshtein distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[65];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *conf_suggest(const char *s, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3; /* at most two edits */
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(s, names[i]);
        if (d < bestd && d < strlen(names[i])) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

bool conf_ae_title_valid(const char *s, bool allow_wildcards)
{
    size_t len = strlen(s);
    bool nonspace = false;
    if (len == 0 || len > 16)
        return false;
    for (const char *q = s; *q; q++) {
        if (*q < 0x20 || *q > 0x7e || *q == '\\')
            return false;
        if (!allow_wildcards && (*q == '*' || *q == '?'))
            return false;
        nonspace |= *q != ' ';
    }
    return nonspace;
}

bool conf_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return false;
    for (const char *q = s; *q; q++) {
        bool ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                  (*q >= '0' && *q <= '9') || (q != s && (*q == '-' || *q == '_' || *q == '.'));
        if (!ok)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * Scalars */

static int parse_string(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                        void *field)
{
    (void)k;
    const char *s = conf_scalar(n);
    if (!s)
        return expected(p, n, "a string");
    char *v = conf_arena_strdup(&p->box->arena, s);
    if (!v)
        return conf_nomem(p);
    *(const char **)field = v;
    return 0;
}

static int parse_path(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    if (!s || !*s)
        return expected(p, n, "a path");
    return parse_string(p, k, n, field);
}

/* AE titles are stored without leading and trailing spaces. */
static int store_trimmed(struct conf_parser *p, const char *s, void *field)
{
    while (*s == ' ')
        s++;
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    char *v = conf_arena_strndup(&p->box->arena, s, len);
    if (!v)
        return conf_nomem(p);
    *(const char **)field = v;
    return 0;
}

#define AE_WHAT "an AE title (1 to 16 characters, no backslash or control characters)"

static int parse_ae(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                    void *field)
{
    (void)k;
    const char *s = conf_scalar(n);
    if (!s || !conf_ae_title_valid(s, false))
        return expected(p, n, AE_WHAT);
    return store_trimmed(p, s, field);
}

static int parse_ae_or_empty(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                             void *field)
{
    const char *s = conf_scalar(n);
    if (s && !*s)
        return store_trimmed(p, s, field);
    return parse_ae(p, k, n, field);
}

static int parse_name(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    if (!s || !conf_name_valid(s))
        return expected(p, n, "a name (letters, digits, '.', '_' and '-', up to 64 characters)");
    return parse_string(p, k, n, field);
}

static int parse_host(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    bool ok = s && *s && strlen(s) <= 253;
    for (const char *q = s; ok && *q; q++)
        ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
             *q == '.' || *q == '-' || *q == ':' || *q == '_';
    if (!ok)
        return expected(p, n, "a host name or an IP address");
    return parse_string(p, k, n, field);
}

static int parse_uint(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    uint64_t v = 0;
    bool ok = s && *s;
    for (const char *q = s; ok && *q; q++)
        ok = *q >= '0' && *q <= '9' && !__builtin_mul_overflow(v, 10, &v) &&
             !__builtin_add_overflow(v, (uint64_t)(*q - '0'), &v);
    if (!ok || v < k->min || v > k->max) {
        char what[96];
        snprintf(what, sizeof what, "an integer from %" PRIu64 " to %" PRIu64, k->min, k->max);
        return expected(p, n, what);
    }
    store_uint(field, k->size, v);
    return 0;
}

static int parse_bool(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    (void)k;
    const char *s = conf_scalar(n);
    if (s && strcmp(s, "true") == 0)
        *(bool *)field = true;
    else if (s && strcmp(s, "false") == 0)
        *(bool *)field = false;
    else
        return expected(p, n, "true or false");
    return 0;
}

static void duration_what(const struct conf_key *k, char *what, size_t size)
{
    char lo[32], hi[32];
    route_format_duration(k->min, lo, sizeof lo);
    route_format_duration(k->max, hi, sizeof hi);
    snprintf(what, size, "a duration from %s to %s (such as 500ms, 30s, 5m, 1h)", lo, hi);
}

int conf_parse_duration_node(struct conf_parser *p, yaml_node_t *n, uint64_t min, uint64_t max,
                             uint64_t *out)
{
    struct conf_key k = { .min = min, .max = max };
    const char *s = conf_scalar(n);
    uint64_t v;
    if (!s || conf_parse_duration_text(s, &v) < 0 || v < min || v > max) {
        char what[128];
        duration_what(&k, what, sizeof what);
        return expected(p, n, what);
    }
    *out = v;
    return 0;
}

static int parse_duration(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                          void *field)
{
    uint64_t v;
    int rc = conf_parse_duration_node(p, n, k->min, k->max, &v);
    if (rc == 0)
        store_uint(field, k->size, v);
    return rc;
}

static void format_duration(const struct conf_key *k, const void *field, char *buf, size_t size)
{
    route_format_duration(load_uint(field, k->size), buf, size);
}

static int parse_size(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    uint64_t v;
    if (!s || conf_parse_size_text(s, &v) < 0 || v < k->min || v > k->max) {
        char lo[32], hi[32], what[128];
        conf_format_size(k->min, lo, sizeof lo);
        conf_format_size(k->max, hi, sizeof hi);
        snprintf(what, sizeof what, "a size from %s to %s (such as 4096, 256KiB, 1MiB)", lo, hi);
        return expected(p, n, what);
    }
    store_uint(field, k->size, v);
    return 0;
}

static void format_size(const struct conf_key *k, const void *field, char *buf, size_t size)
{
    conf_format_size(load_uint(field, k->size), buf, size);
}

static int parse_rate(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *s = conf_scalar(n);
    uint64_t v;
    if (!s || conf_parse_rate_text(s, &v) < 0)
        return expected(p, n, "a rate such as 2 Mbit/s or 500 KiB/s, or unlimited");
    store_uint(field, k->size, v);
    return 0;
}

static int parse_percent(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                         void *field)
{
    const char *s = conf_scalar(n);
    char *end;
    unsigned long v = 0;
    bool ok = s && *s >= '0' && *s <= '9';
    if (ok) {
        v = strtoul(s, &end, 10);
        ok = strcmp(end, "%") == 0 && v >= k->min && v <= k->max;
    }
    if (!ok) {
        char what[64];
        snprintf(what, sizeof what, "a percentage from %" PRIu64 "%% to %" PRIu64 "%%", k->min,
                 k->max);
        return expected(p, n, what);
    }
    store_uint(field, k->size, v);
    return 0;
}

static int parse_enum(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                      void *field)
{
    const char *const *names = k->arg;
    const char *s = conf_scalar(n);
    for (int i = 0; s && names[i]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *(int *)field = i;
            return 0;
        }
    }
    char what[160] = "one of ";
    for (int i = 0; names[i]; i++) {
        strncat(what, names[i], sizeof what - strlen(what) - 1);
        if (names[i + 1])
            strncat(what, ", ", sizeof what - strlen(what) - 1);
    }
    return expected(p, n, what);
}

static void format_enum(const struct conf_key *k, const void *field, char *buf, size_t size)
{
    const char *const *names = k->arg;
    snprintf(buf, size, "%s", names[*(const int *)field]);
}

static int parse_workers(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                         void *field)
{
    const char *s = conf_scalar(n);
    if (s && strcmp(s, "auto") == 0) {
        store_uint(field, k->size, 0); /* resolved after loading */
        return 0;
    }
    char *end;
    unsigned long v = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
    if (!s || !v || *end || v < k->min || v > k->max) {
        char what[64];
        snprintf(what, sizeof what, "auto or an integer from %" PRIu64 " to %" PRIu64, k->min,
                 k->max);
        return expected(p, n, what);
    }
    store_uint(field, k->size, v);
    return 0;
}

static int parse_retention(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                           void *field)
{
    const char *s = conf_scalar(n);
    uint64_t v;
    if (s && strcmp(s, "forever") == 0) {
        store_uint(field, k->size, CONF_FOREVER);
        return 0;
    }
    if (!s || conf_parse_duration_text(s, &v) < 0 || v > k->max)
        return expected(p, n, "a duration (such as 0s, 12h or 7d) up to 3650d, or forever");
    store_uint(field, k->size, v);
    return 0;
}

static int hhmm(const char *s, uint16_t *min)
{
    if (!(s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' &&
          s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9'))
        return -EINVAL;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    if (h > 23)
        return -EINVAL;
    *min = (uint16_t)(h * 60 + (s[3] - '0') * 10 + (s[4] - '0'));
    return 0;
}

static int parse_window(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                        void *field)
{
    (void)k;
    struct conf_window *w = field;
    const char *s = conf_scalar(n);
    memset(w, 0, sizeof *w);
    if (s && strcmp(s, "always") == 0)
        return 0;
    if (!s || strlen(s) != 11 || s[5] != '-' || hhmm(s, &w->start_min) < 0 ||
        hhmm(s + 6, &w->end_min) < 0)
        return expected(p, n, "a time window such as 22:00-06:00, or always");
    if (w->start_min == w->end_min)
        return conf_error_at(p, n, "%sthe window %s is empty (for any time, write always)",
                             conf_path(p), s);
    w->set = true;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Lists: a scalar is a list of one. */

typedef int item_fn(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i, void *out);

static int parse_list(struct conf_parser *p, yaml_node_t *n, const char *what, size_t elem,
                      item_fn *fn, void **items, size_t *count)
{
    yaml_node_t *one[1] = { n };
    yaml_node_t **nodes = one;
    size_t k = 1;
    int rc = 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        k = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        nodes = NULL;
    } else if (n->type != YAML_SCALAR_NODE) {
        return expected(p, n, what);
    }
    void *arr = k ? conf_arena_alloc(&p->box->arena, k * elem) : NULL;
    if (k && !arr)
        return conf_nomem(p);
    for (size_t i = 0; i < k; i++) {
        yaml_node_t *item = nodes ? nodes[i] : conf_node(p, n->data.sequence.items.start[i]);
        size_t mark = nodes ? p->path_len : conf_path_index(p, i);
        const char *s = conf_scalar(item);
        int r = s ? fn(p, item, s, i, (char *)arr + i * elem) : expected(p, item, what);
        conf_path_pop(p, mark);
        if (r < 0)
            rc = r;
    }
    *items = arr;
    *count = k;
    return rc;
}

static int store_item(struct conf_parser *p, const char *s, void *out)
{
    const char *v = conf_arena_strdup(&p->box->arena, s);
    if (!v)
        return conf_nomem(p);
    *(const char **)out = v;
    return 0;
}

static int ip_item(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i, void *out)
{
    (void)i;
    unsigned char buf[16];
    if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
        return expected(p, n, "an IPv4 or IPv6 address");
    return store_item(p, s, out);
}

static int ae_pattern_item(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i,
                           void *out)
{
    (void)i;
    if (!conf_ae_title_valid(s, true))
        return expected(p, n, "an AE title, wildcards allowed (1 to 16 characters, no "
                              "backslash or control characters)");
    return store_trimmed(p, s, out);
}

static int plugin_item(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i, void *out)
{
    (void)i;
    if (strcmp(s, "*") != 0 && !conf_name_valid(s))
        return expected(p, n, "a plugin name, or '*' for every plugin");
    return store_item(p, s, out);
}

static int cidr_item(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i, void *out)
{
    (void)i;
    struct ferry_error *err = NULL;
    if (route_cidr_parse(s, out, &err) < 0) {
        conf_error_at(p, n, "%s%s", conf_path(p), ferry_error_message(err));
        ferry_error_free(err);
        return -EINVAL;
    }
    return 0;
}

static int sop_item(struct conf_parser *p, yaml_node_t *n, const char *s, size_t i, void *out)
{
    (void)i;
    const char *uid = conf_sop_class_uid(s);
    if (!uid)
        return conf_error_at(p, n,
                             "%sunknown SOP class '%s' (expected a keyword such as "
                             "CTImageStorage, or a UID)",
                             conf_path(p), s);
    return store_item(p, uid, out);
}

static int parse_strings(struct conf_parser *p, yaml_node_t *n, const char *what, item_fn *fn,
                         void *field)
{
    struct conf_strings *l = field;
    void *items = NULL;
    size_t k = 0;
    int rc = parse_list(p, n, what, sizeof(const char *), fn, &items, &k);
    l->v = items;
    l->n = k;
    return rc;
}

static int parse_ip_list(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                         void *field)
{
    (void)k;
    return parse_strings(p, n, "a list of IPv4 or IPv6 addresses", ip_item, field);
}

static int parse_ae_pattern_list(struct conf_parser *p, const struct conf_key *k,
                                 yaml_node_t *n, void *field)
{
    (void)k;
    return parse_strings(p, n, "a list of AE titles", ae_pattern_item, field);
}

static int parse_plugin_list(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                             void *field)
{
    (void)k;
    return parse_strings(p, n, "a list of plugin names", plugin_item, field);
}

static int parse_sop_list(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                          void *field)
{
    (void)k;
    return parse_strings(p, n, "a list of SOP classes", sop_item, field);
}

static int parse_cidr_list(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                           void *field)
{
    (void)k;
    struct conf_cidrs *l = field;
    void *items = NULL;
    size_t count = 0;
    int rc = parse_list(p, n, "a list of addresses or CIDR blocks", sizeof(struct route_cidr),
                        cidr_item, &items, &count);
    l->v = items;
    l->n = count;
    return rc;
}

/* A list of transfer syntaxes by name or UID; "*" last means "and every
 * other". */
static int parse_syntax_list(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                             void *field)
{
    (void)k;
    struct conf_syntaxes *l = field;
    static const char what[] = "a list of transfer syntaxes";
    yaml_node_t *one[1] = { n };
    size_t count = 1;
    int rc = 0;
    memset(l, 0, sizeof *l);
    if (n->type == YAML_SEQUENCE_NODE)
        count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    else if (n->type != YAML_SCALAR_NODE)
        return expected(p, n, what);
    if (count == 0)
        return conf_error_at(p, n, "%sexpected at least one transfer syntax", conf_path(p));
    const char **uids = conf_arena_alloc(&p->box->arena, count * sizeof *uids);
    if (!uids)
        return conf_nomem(p);
    l->uids = uids;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item =
            n->type == YAML_SEQUENCE_NODE ? conf_node(p, n->data.sequence.items.start[i]) : one[0];
        size_t mark = n->type == YAML_SEQUENCE_NODE ? conf_path_index(p, i) : p->path_len;
        const char *s = conf_scalar(item);
        const char *uid = s ? conf_transfer_syntax_uid(s) : NULL;
        if (!s) {
            rc = expected(p, item, "a transfer syntax");
        } else if (strcmp(s, "*") == 0) {
            if (i + 1 != count)
                rc = conf_error_at(p, item, "%s'*' must be the last entry", conf_path(p));
            l->others = true;
        } else if (!uid) {
            rc = conf_error_at(p, item,
                               "%sunknown transfer syntax '%s' (expected a name such as "
                               "explicit-little or jpeg-ls-lossless, a UID, or '*')",
                               conf_path(p), s);
        } else {
            bool dup = false;
            for (size_t j = 0; j < l->n; j++)
                dup |= strcmp(uids[j], uid) == 0;
            if (dup) {
                rc = conf_error_at(p, item, "%s'%s' is listed twice", conf_path(p), s);
            } else if (!(uids[l->n++] = conf_arena_strdup(&p->box->arena, uid))) {
                rc = conf_nomem(p);
            }
        }
        conf_path_pop(p, mark);
    }
    return rc;
}

static int parse_syntax_or_none(struct conf_parser *p, const struct conf_key *k,
                                yaml_node_t *n, void *field)
{
    (void)k;
    const char *s = conf_scalar(n);
    const char *uid = s ? conf_transfer_syntax_uid(s) : NULL;
    if (s && strcmp(s, "none") == 0) {
        *(const char **)field = NULL;
        return 0;
    }
    if (!uid)
        return expected(p, n, "a transfer syntax (a name such as explicit-little, or a UID), "
                              "or none");
    return store_item(p, uid, field);
}

const struct conf_type conf_t_string = { "string", CONF_S_STR, parse_string, NULL };
const struct conf_type conf_t_path = { "path", CONF_S_STR, parse_path, NULL };
const struct conf_type conf_t_ae = { "AE title", CONF_S_STR, parse_ae, NULL };
const struct conf_type conf_t_ae_or_empty = { "AE title", CONF_S_STR, parse_ae_or_empty, NULL };
const struct conf_type conf_t_name = { "name", CONF_S_STR, parse_name, NULL };
const struct conf_type conf_t_host = { "host", CONF_S_STR, parse_host, NULL };
const struct conf_type conf_t_uint = { "integer", CONF_S_UINT, parse_uint, NULL };
const struct conf_type conf_t_bool = { "boolean", CONF_S_BOOL, parse_bool, NULL };
const struct conf_type conf_t_duration = { "duration", CONF_S_UINT, parse_duration,
                                           format_duration };
const struct conf_type conf_t_size = { "size", CONF_S_UINT, parse_size, format_size };
const struct conf_type conf_t_rate = { "rate", CONF_S_OTHER, parse_rate, NULL };
const struct conf_type conf_t_percent = { "percentage", CONF_S_OTHER, parse_percent, NULL };
const struct conf_type conf_t_enum = { "name", CONF_S_INT, parse_enum, format_enum };
const struct conf_type conf_t_workers = { "threads", CONF_S_UINT, parse_workers, NULL };
const struct conf_type conf_t_retention = { "retention", CONF_S_OTHER, parse_retention, NULL };
const struct conf_type conf_t_window = { "window", CONF_S_OTHER, parse_window, NULL };
const struct conf_type conf_t_ip_list = { "addresses", CONF_S_STRINGS, parse_ip_list, NULL };
const struct conf_type conf_t_ae_pattern_list = { "AE titles", CONF_S_OTHER,
                                                  parse_ae_pattern_list, NULL };
const struct conf_type conf_t_plugin_list = { "plugins", CONF_S_STRINGS, parse_plugin_list,
                                              NULL };
const struct conf_type conf_t_cidr_list = { "CIDR blocks", CONF_S_OTHER, parse_cidr_list, NULL };
const struct conf_type conf_t_sop_list = { "SOP classes", CONF_S_OTHER, parse_sop_list, NULL };
const struct conf_type conf_t_syntax_list = { "transfer syntaxes", CONF_S_OTHER,
                                              parse_syntax_list, NULL };
const struct conf_type conf_t_syntax_or_none = { "transfer syntax", CONF_S_STR,
                                                 parse_syntax_or_none, NULL };
