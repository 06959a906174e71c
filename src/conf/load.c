/* ferry — config: reading YAML files (libyaml's document API), includes,
 * table-driven sections, defaults, and the error list. */
#include "conf/conf-private.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_INCLUDED_FILES 1000

/* ---------------------------------------------------------------------------
 * Arena */

struct conf_chunk {
    struct conf_chunk *next;
    size_t used, size;
    max_align_t data[];
};

void *conf_arena_alloc(struct conf_arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct conf_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *conf_arena_strndup(struct conf_arena *a, const char *s, size_t n)
{
    char *d = conf_arena_alloc(a, n + 1);
    if (d)
        memcpy(d, s, n);
    return d;
}

char *conf_arena_strdup(struct conf_arena *a, const char *s)
{
    return conf_arena_strndup(a, s, strlen(s));
}

void conf_arena_free(struct conf_arena *a)
{
    struct conf_chunk *c = a->head;
    while (c) {
        struct conf_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------------------
 * Errors */

__attribute__((format(printf, 6, 0)))
static int add_error(struct conf_parser *p, const char *file, unsigned file_index, uint32_t line,
                     uint32_t col, const char *fmt, va_list ap)
{
    struct conf_errors *e = p->errs;
    if (e->n >= CONF_MAX_ERRORS) {
        e->dropped++;
        return -EINVAL;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct conf_error *v = reallocarray(e->v, cap, sizeof *v);
        if (!v)
            return conf_nomem(p);
        e->v = v;
        unsigned *o = reallocarray(e->order, cap, sizeof *o);
        if (!o)
            return conf_nomem(p);
        e->order = o;
        e->cap = cap;
    }
    struct conf_error *x = &e->v[e->n];
    x->line = line;
    x->col = col;
    x->file = strdup(file);
    if (vasprintf(&x->message, fmt, ap) < 0)
        x->message = NULL;
    if (!x->file || !x->message) {
        free(x->file);
        free(x->message);
        return conf_nomem(p);
    }
    e->order[e->n++] = file_index;
    return -EINVAL;
}

int conf_nomem(struct conf_parser *p)
{
    p->nomem = true;
    return -ENOMEM;
}

int conf_error_at(struct conf_parser *p, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct conf_loc loc = conf_loc_of(p, n);
    int rc = add_error(p, loc.file, p->doc ? p->doc->index : 0, loc.line, loc.col, fmt, ap);
    va_end(ap);
    return rc;
}

int conf_error_loc(struct conf_parser *p, const struct conf_loc *loc, const char *fmt, ...)
{
    unsigned index = 0;
    for (size_t i = 0; i < p->n_docs; i++)
        if (p->docs[i]->file == loc->file)
            index = p->docs[i]->index;
    va_list ap;
    va_start(ap, fmt);
    int rc = add_error(p, loc->file, index, loc->line, loc->col, fmt, ap);
    va_end(ap);
    return rc;
}

static int cmp_errors(const void *a, const void *b, void *ud)
{
    const struct conf_errors *e = ud;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const struct conf_error *x = &e->v[i], *y = &e->v[j];
    if (e->order[i] != e->order[j])
        return e->order[i] < e->order[j] ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return i < j ? -1 : i > j;
}

static void sort_errors(struct conf_errors *e)
{
    size_t *idx = malloc(e->n * sizeof *idx + 1);
    struct conf_error *v = malloc(e->n * sizeof *v + 1);
    if (!idx || !v)
        goto out; /* unsorted is still correct */
    for (size_t i = 0; i < e->n; i++)
        idx[i] = i;
    qsort_r(idx, e->n, sizeof *idx, cmp_errors, e);
    for (size_t i = 0; i < e->n; i++)
        v[i] = e->v[idx[i]];
    memcpy(e->v, v, e->n * sizeof *v);
out:
    free(idx);
    free(v);
}

void conf_errors_print(const struct conf_errors *e, FILE *out)
{
    for (size_t i = 0; i < e->n; i++) {
        const struct conf_error *x = &e->v[i];
        if (x->line)
            fprintf(out, "%s:%u:%u: %s\n", x->file, x->line, x->col, x->message);
        else
            fprintf(out, "%s: %s\n", x->file, x->message);
    }
    if (e->dropped)
        fprintf(out, "(%zu more errors not shown)\n", e->dropped);
}

void conf_errors_free(struct conf_errors *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].file);
        free(e->v[i].message);
    }
    free(e->v);
    free(e->order);
    free(e);
}

/* ---------------------------------------------------------------------------
 * Paths of names, nodes */

static size_t path_append(struct conf_parser *p, const char *text)
{
    size_t mark = p->path_len;
    int n = snprintf(p->path + p->path_len, sizeof p->path - p->path_len, "%s", text);
    if (n > 0)
        p->path_len += (size_t)n;
    if (p->path_len >= sizeof p->path)
        p->path_len = sizeof p->path - 1;
    return mark;
}

size_t conf_path_push(struct conf_parser *p, const char *key)
{
    size_t mark = p->path_len;
    if (p->path_len)
        path_append(p, ".");
    path_append(p, key);
    return mark;
}

size_t conf_path_index(struct conf_parser *p, size_t i)
{
    char buf[32];
    snprintf(buf, sizeof buf, "[%zu]", i);
    return path_append(p, buf);
}

void conf_path_pop(struct conf_parser *p, size_t mark)
{
    p->path_len = mark;
    p->path[mark] = '\0';
}

const char *conf_path(struct conf_parser *p)
{
    if (!p->path_len)
        return "";
    snprintf(p->path_msg, sizeof p->path_msg, "%s: ", p->path);
    return p->path_msg;
}

struct conf_loc conf_loc_of(const struct conf_parser *p, const yaml_node_t *n)
{
    struct conf_loc loc = { p->doc ? p->doc->file : "?", 0, 0 };
    if (p->default_of)
        loc.file = "<default>";
    if (n) {
        loc.line = (uint32_t)n->start_mark.line + 1;
        loc.col = (uint32_t)n->start_mark.column + 1;
    }
    return loc;
}

yaml_node_t *conf_node(struct conf_parser *p, int index)
{
    return yaml_document_get_node(&p->doc->yd, index);
}

const char *conf_scalar(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    /* A value with a NUL in it (a "\0" escape) is not a string we accept. */
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return NULL;
    return (const char *)n->data.scalar.value;
}

void conf_found(const yaml_node_t *n, char *buf, size_t size)
{
    if (!n) {
        snprintf(buf, size, "nothing");
    } else if (n->type == YAML_SEQUENCE_NODE) {
        snprintf(buf, size, "a list");
    } else if (n->type == YAML_MAPPING_NODE) {
        snprintf(buf, size, "a mapping");
    } else if (n->data.scalar.length == 0) {
        snprintf(buf, size, "an empty value");
    } else if (n->data.scalar.length > 40) {
        snprintf(buf, size, "'%.37s...'", (const char *)n->data.scalar.value);
    } else {
        snprintf(buf, size, "'%s'", (const char *)n->data.scalar.value);
    }
}

/* ---------------------------------------------------------------------------
 * Mappings and tables */

int conf_map_keys(struct conf_parser *p, yaml_node_t *map, const char *const *names, size_t n,
                  const char *where, yaml_node_t **vals, yaml_node_t **keys)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        if (keys)
            keys[i] = NULL;
    }
    if (!map || map->type != YAML_MAPPING_NODE) {
        char found[96];
        conf_found(map, found, sizeof found);
        return conf_error_at(p, map, "%sexpected a mapping, found %s", conf_path(p), found);
    }
    yaml_node_t *first[64] = { 0 };
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = conf_node(p, pair->key);
        yaml_node_t *v = conf_node(p, pair->value);
        const char *name = conf_scalar(k);
        if (!name) {
            rc = conf_error_at(p, k, "a key must be a plain name");
            continue;
        }
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(name, names[i]) == 0)
                break;
        if (i == n) {
            const char *s = conf_suggest(name, names, n);
            char hint[96] = "";
            if (s)
                snprintf(hint, sizeof hint, "; did you mean '%s'?", s);
            rc = conf_error_at(p, k, "unknown key '%s' %s%s", name, where, hint);
            continue;
        }
        if (vals[i]) {
            struct conf_loc loc = conf_loc_of(p, i < 64 ? first[i] : NULL);
            rc = conf_error_at(p, k, "duplicate key '%s' (first given at %u:%u)", name, loc.line,
                               loc.col);
            continue;
        }
        vals[i] = v;
        if (i < 64)
            first[i] = k;
        if (keys)
            keys[i] = k;
    }
    return rc;
}

static int parse_default(struct conf_parser *p, const struct conf_key *k, void *field)
{
    yaml_parser_t yp;
    struct conf_doc tmp = { .file = "<default>" };
    struct conf_doc *saved = p->doc;
    int rc = -EINVAL;
    if (!yaml_parser_initialize(&yp))
        return conf_nomem(p);
    yaml_parser_set_input_string(&yp, (const unsigned char *)k->def, strlen(k->def));
    if (!yaml_parser_load(&yp, &tmp.yd)) {
        p->doc = saved;
        rc = conf_error_at(p, NULL, "%sbad default '%s'", conf_path(p), k->def);
        goto out_parser;
    }
    p->doc = &tmp;
    p->default_of = k->name;
    yaml_node_t *root = yaml_document_get_root_node(&tmp.yd);
    if (root)
        rc = k->type->parse(p, k, root, field);
    else
        rc = conf_error_at(p, NULL, "%sempty default", conf_path(p));
    p->default_of = NULL;
    p->doc = saved;
    yaml_document_delete(&tmp.yd);
out_parser:
    yaml_parser_delete(&yp);
    return rc;
}

int conf_parse_table(struct conf_parser *p, const struct conf_table *t, yaml_node_t *map,
                     void *base)
{
    const char *names[64];
    yaml_node_t *vals[64];
    int rc = 0;
    if (t->n > 64)
        return conf_nomem(p);
    for (size_t i = 0; i < t->n; i++) {
        names[i] = t->keys[i].name;
        vals[i] = NULL;
    }
    if (map) {
        char where[600];
        if (p->path_len)
            snprintf(where, sizeof where, "in %s", p->path);
        else
            snprintf(where, sizeof where, "at the top level");
        rc = conf_map_keys(p, map, names, t->n, where, vals, NULL);
        if (map->type != YAML_MAPPING_NODE)
            return rc;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct conf_key *k = &t->keys[i];
        int r;
        if (!vals[i] && (k->flags & CONF_REQUIRED)) {
            r = conf_error_at(p, map, "%smissing required key '%s'", conf_path(p), k->name);
        } else {
            size_t mark = conf_path_push(p, k->name);
            if (vals[i])
                r = k->type->parse(p, k, vals[i], (char *)base + k->offset);
            else if (k->type == &conf_t_section)
                r = conf_parse_table(p, k->arg, NULL, base);
            else if (k->def)
                r = parse_default(p, k, (char *)base + k->offset);
            else
                r = 0; /* deferred keys: nothing to do when absent */
            conf_path_pop(p, mark);
        }
        if (r < 0)
            rc = r;
    }
    return rc;
}

static int parse_section(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                         void *field)
{
    /* A section's keys are offsets from its parent's base (k->offset is 0). */
    return conf_parse_table(p, k->arg, n, field);
}

static int parse_deferred(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                          void *field)
{
    (void)field;
    if (strcmp(k->name, "destinations") == 0)
        p->doc->destinations = n;
    else if (strcmp(k->name, "pipelines") == 0)
        p->doc->pipelines = n;
    else if (strcmp(k->name, "routes") == 0)
        p->doc->routes = n;
    else if (strcmp(k->name, "include") == 0)
        p->doc->include = n;
    return 0;
}

const struct conf_type conf_t_section = { "section", CONF_S_SECTION, parse_section, NULL };
const struct conf_type conf_t_deferred = { "list", CONF_S_OTHER, parse_deferred, NULL };

/* ---------------------------------------------------------------------------
 * Files */

/* The reader (bad UTF-8, ...) reports a byte offset, not a place: find the
 * line and column (in characters) of that byte. */
static void offset_to_loc(FILE *f, size_t offset, struct conf_loc *loc)
{
    loc->line = 1;
    loc->col = 1;
    rewind(f);
    for (size_t i = 0; i < offset; i++) {
        int ch = getc(f);
        if (ch == EOF)
            break;
        if (ch == '\n') {
            loc->line++;
            loc->col = 1;
        } else if ((ch & 0xc0) != 0x80) {
            loc->col++;
        }
    }
}

/* Report what libyaml could not parse. */
static int yaml_error(struct conf_parser *p, const yaml_parser_t *yp, const char *file, FILE *f)
{
    char ctx[128] = "";
    if (yp->context)
        snprintf(ctx, sizeof ctx, " (%s at %zu:%zu)", yp->context, yp->context_mark.line + 1,
                 yp->context_mark.column + 1);
    struct conf_loc loc = { file, (uint32_t)yp->problem_mark.line + 1,
                            (uint32_t)yp->problem_mark.column + 1 };
    if (yp->error == YAML_READER_ERROR)
        offset_to_loc(f, yp->problem_offset, &loc);
    if (yp->error == YAML_MEMORY_ERROR)
        return conf_nomem(p);
    return conf_error_loc(p, &loc, "invalid YAML: %s%s", yp->problem ? yp->problem : "cannot be read",
                          ctx);
}

/* Read one file as a YAML document and add it to p->docs. `from` is the
 * include entry that named it (NULL for the main file), for errors. */
static int load_doc(struct conf_parser *p, const char *file, const yaml_node_t *from)
{
    struct conf_doc *doc;
    yaml_parser_t yp;
    struct stat st;
    int rc = 0;
    FILE *f = NULL;

    const char *why = NULL;
    if (stat(file, &st) < 0)
        why = strerror(errno);
    else if (S_ISDIR(st.st_mode))
        why = "it is a folder";
    else if (!(f = fopen(file, "rb")))
        why = strerror(errno);
    if (why) {
        if (from)
            return conf_error_at(p, from, "cannot read '%s': %s", file, why);
        struct conf_loc loc = { file, 0, 0 };
        return conf_error_loc(p, &loc, "cannot read: %s", why);
    }
    if (p->n_docs == p->cap_docs) {
        size_t cap = p->cap_docs ? p->cap_docs * 2 : 8;
        struct conf_doc **d = reallocarray(p->docs, cap, sizeof *d);
        if (!d) {
            rc = conf_nomem(p);
            goto out_close;
        }
        p->docs = d;
        p->cap_docs = cap;
    }
    /* Each document has its own allocation: pointers to it stay valid. */
    doc = conf_arena_alloc(&p->box->arena, sizeof *doc);
    if (!doc) {
        rc = conf_nomem(p);
        goto out_close;
    }
    doc->file = conf_arena_strdup(&p->box->arena, file);
    doc->index = (unsigned)p->n_docs;
    doc->main = from == NULL;
    if (!doc->file) {
        rc = conf_nomem(p);
        goto out_close;
    }
    p->docs[p->n_docs++] = doc;
    if (!yaml_parser_initialize(&yp)) {
        rc = conf_nomem(p);
        goto out_close;
    }
    yaml_parser_set_input_file(&yp, f);
    struct conf_doc *saved = p->doc;
    p->doc = doc;
    if (!yaml_parser_load(&yp, &doc->yd)) {
        rc = yaml_error(p, &yp, doc->file, f);
        goto out_parser;
    }
    doc->loaded = true;
    /* One document per file: a second one is a mistake (a stray "---"). */
    yaml_document_t next;
    if (!yaml_parser_load(&yp, &next)) {
        rc = yaml_error(p, &yp, doc->file, f);
        goto out_parser;
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    if (root) {
        struct conf_loc loc = { doc->file, (uint32_t)next.start_mark.line + 1,
                                (uint32_t)next.start_mark.column + 1 };
        rc = conf_error_loc(p, &loc, "a second YAML document; a config file holds one");
    }
    yaml_document_delete(&next);
out_parser:
    p->doc = saved;
    yaml_parser_delete(&yp);
out_close:
    fclose(f);
    return rc;
}

static bool is_yaml_name(const char *name)
{
    size_t len = strlen(name);
    if (name[0] == '.')
        return false;
    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
           (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}

static int yaml_filter(const struct dirent *d)
{
    return is_yaml_name(d->d_name);
}

/* Include one file, unless it is one we read already. */
static int include_file(struct conf_parser *p, const char *file, yaml_node_t *entry)
{
    char real[PATH_MAX];
    if (!realpath(file, real))
        return load_doc(p, file, entry); /* reports why it cannot be read */
    for (size_t i = 0; i < p->n_docs; i++) {
        char other[PATH_MAX];
        if (realpath(p->docs[i]->file, other) && strcmp(real, other) == 0)
            return conf_error_at(p, entry, "'%s' is %s", file,
                                 p->docs[i]->main ? "the main file itself" : "included twice");
    }
    if (p->n_docs > MAX_INCLUDED_FILES)
        return conf_error_at(p, entry, "more than %d included files", MAX_INCLUDED_FILES);
    return load_doc(p, file, entry);
}

/* One entry of `include:`: a file, a folder (its *.yaml and *.yml files in
 * name order) or a glob pattern, relative to the main file's folder. */
static int include_entry(struct conf_parser *p, const char *base, yaml_node_t *entry)
{
    const char *pat = conf_scalar(entry);
    char *full = NULL;
    struct stat st;
    int rc = 0;
    if (!pat || !*pat) {
        char found[96];
        conf_found(entry, found, sizeof found);
        return conf_error_at(p, entry, "%sexpected a file, folder or pattern, found %s",
                             conf_path(p), found);
    }
    if (pat[0] == '/' || strcmp(base, ".") == 0)
        full = strdup(pat);
    else if (asprintf(&full, "%s/%s", base, pat) < 0)
        full = NULL;
    if (!full)
        return conf_nomem(p);
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **list;
        int n = scandir(full, &list, yaml_filter, alphasort);
        if (n < 0) {
            rc = conf_error_at(p, entry, "cannot read folder '%s': %s", full, strerror(errno));
            goto out_free;
        }
        for (int i = 0; i < n; i++) {
            char *file = NULL;
            if (asprintf(&file, "%s/%s", full, list[i]->d_name) < 0) {
                rc = conf_nomem(p);
            } else {
                struct stat fst;
                if (stat(file, &fst) == 0 && S_ISREG(fst.st_mode) &&
                    include_file(p, file, entry) < 0)
                    rc = -EINVAL;
                free(file);
            }
            free(list[i]);
        }
        free(list);
    } else if (strpbrk(pat, "*?[")) {
        glob_t g;
        int grc = glob(full, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            rc = conf_error_at(p, entry, "'%s' matches no file", pat);
        } else if (grc != 0) {
            rc = conf_error_at(p, entry, "cannot read files matching '%s'", pat);
        } else {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                struct stat fst;
                if (stat(g.gl_pathv[i], &fst) == 0 && S_ISREG(fst.st_mode) &&
                    include_file(p, g.gl_pathv[i], entry) < 0)
                    rc = -EINVAL;
            }
        }
        if (grc == 0 || grc == GLOB_NOMATCH)
            globfree(&g);
    } else {
        rc = include_file(p, full, entry);
    }
out_free:
    free(full);
    return rc;
}

static int load_includes(struct conf_parser *p)
{
    yaml_node_t *n = p->docs[0]->include;
    int rc = 0;
    if (!n)
        return 0;
    p->doc = p->docs[0];
    char *copy = strdup(p->docs[0]->file);
    if (!copy)
        return conf_nomem(p);
    char *slash = strrchr(copy, '/');
    const char *base = ".";
    if (slash == copy)
        base = "/";
    else if (slash)
        *slash = '\0', base = copy;
    size_t mark = conf_path_push(p, "include");
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        for (size_t i = 0; i < count; i++) {
            p->doc = p->docs[0];
            yaml_node_t *e = conf_node(p, n->data.sequence.items.start[i]);
            size_t m2 = conf_path_index(p, i);
            if (include_entry(p, base, e) < 0)
                rc = -EINVAL;
            conf_path_pop(p, m2);
        }
    } else {
        rc = include_entry(p, base, n);
    }
    conf_path_pop(p, mark);
    free(copy);
    return rc;
}

/* The top level of one document: sections (main file only) and the nodes
 * of destinations, pipelines, routes and include for later. */
static int parse_root(struct conf_parser *p, struct conf_doc *doc)
{
    p->doc = doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc->yd);
    if (root && root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
        root = NULL; /* a file holding only "~" or "" */
    if (!root) {
        if (doc->main)
            return conf_parse_table(p, &conf_schema_root, NULL, &p->box->pub);
        return 0;
    }
    if (root->type != YAML_MAPPING_NODE) {
        char found[96];
        conf_found(root, found, sizeof found);
        return conf_error_at(p, root, "expected a mapping of settings at the top level, found %s",
                             found);
    }
    if (doc->main)
        return conf_parse_table(p, &conf_schema_root, root, &p->box->pub);
    /* Included files hold destinations, pipelines and routes only. */
    const struct conf_table *t = &conf_schema_root;
    const char *names[16];
    yaml_node_t *vals[16], *keys[16];
    for (size_t i = 0; i < t->n; i++)
        names[i] = t->keys[i].name;
    int rc = conf_map_keys(p, root, names, t->n, "at the top level", vals, keys);
    for (size_t i = 0; i < t->n; i++) {
        if (!vals[i])
            continue;
        if (t->keys[i].type != &conf_t_deferred || strcmp(names[i], "include") == 0)
            rc = conf_error_at(p, keys[i], "'%s' is only allowed in the main file", names[i]);
        else
            parse_deferred(p, &t->keys[i], vals[i], NULL);
    }
    return rc;
}

/* Settings whose default depends on others, and ferryd's overrides. */
static int resolve(struct conf_parser *p)
{
    struct conf_server *s = &p->box->pub.server;
    struct conf_storage *st = &p->box->pub.storage;
    struct conf_arena *a = &p->box->arena;
    const struct conf_options *o = p->opts;
    if (o && o->data_dir && !(s->data_dir = conf_arena_strdup(a, o->data_dir)))
        return conf_nomem(p);
    if (o && o->port > 0 && o->port <= 65535)
        s->port = (uint16_t)o->port;
    if (!s->data_dir)
        return 0; /* data_dir itself was wrong: already reported */
    size_t len = strlen(s->data_dir) + 32;
    if (s->control_socket && !*s->control_socket) {
        char *v = conf_arena_alloc(a, len);
        if (!v)
            return conf_nomem(p);
        snprintf(v, len, "%s/ferry.sock", s->data_dir);
        s->control_socket = v;
    }
    if (st->quarantine_dir && !*st->quarantine_dir) {
        char *v = conf_arena_alloc(a, len);
        if (!v)
            return conf_nomem(p);
        snprintf(v, len, "%s/quarantine", s->data_dir);
        st->quarantine_dir = v;
    }
    if (s->worker_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->worker_threads = n < 1 ? 1 : n > 256 ? 256 : (uint32_t)n;
    }
    return 0;
}

static int list_files(struct conf_parser *p)
{
    const char **v = conf_arena_alloc(&p->box->arena, (p->n_docs + 1) * sizeof *v);
    if (!v)
        return conf_nomem(p);
    for (size_t i = 0; i < p->n_docs; i++)
        v[i] = p->docs[i]->file;
    p->box->pub.files.v = v;
    p->box->pub.files.n = p->n_docs;
    return 0;
}

const struct conf *conf_load(const char *path, const struct conf_options *opts,
                             struct conf_errors **errors)
{
    struct conf_errors *errs = calloc(1, sizeof *errs);
    struct conf_box *box = calloc(1, sizeof *box);
    struct conf_parser p = { .box = box, .opts = opts, .errs = errs };
    if (errors)
        *errors = NULL;
    if (box)
        atomic_init(&box->refs, 1);
    if (!errs || !box)
        goto out_nomem;
    if (opts) {
        box->release_step = opts->release_step;
        box->step_ud = opts->step_ud;
    }
    box->rules = route_rules_new(opts ? opts->dict : NULL);
    box->pub.path = conf_arena_strdup(&box->arena, path);
    if (!box->rules || !box->pub.path)
        goto out_nomem;
    box->pub.rules = box->rules;

    if (load_doc(&p, path, NULL) == 0 && p.n_docs == 1 && p.docs[0]->loaded) {
        parse_root(&p, p.docs[0]);
        resolve(&p);
        load_includes(&p);
        for (size_t i = 1; i < p.n_docs; i++)
            if (p.docs[i]->loaded)
                parse_root(&p, p.docs[i]);
        conf_parse_pipelines(&p);
        conf_parse_destinations(&p);
        conf_parse_routes(&p);
        conf_check_steps(&p);
        list_files(&p);
    }
    for (size_t i = 0; i < p.n_docs; i++)
        if (p.docs[i]->loaded)
            yaml_document_delete(&p.docs[i]->yd);
    free(p.docs);
    p.docs = NULL;
    p.n_docs = 0;
    if (p.nomem)
        goto out_nomem;
    if (errs->n || errs->dropped) {
        sort_errors(errs);
        conf_unref(&box->pub);
        if (errors)
            *errors = errs;
        else
            conf_errors_free(errs);
        return NULL;
    }
    conf_errors_free(errs);
    return &box->pub;

out_nomem:
    for (size_t i = 0; i < p.n_docs; i++)
        if (p.docs[i]->loaded)
            yaml_document_delete(&p.docs[i]->yd);
    free(p.docs);
    if (box)
        conf_unref(&box->pub);
    if (errs) {
        /* Replace whatever was found with the one error that matters. */
        for (size_t i = 0; i < errs->n; i++) {
            free(errs->v[i].file);
            free(errs->v[i].message);
        }
        errs->n = 0;
        errs->dropped = 0;
        struct conf_error *e = errs->cap ? errs->v : calloc(1, sizeof *e);
        if (e) {
            errs->v = e;
            errs->cap = errs->cap ? errs->cap : 1;
            if (!errs->order)
                errs->order = calloc(1, sizeof *errs->order);
            e->file = strdup(path);
            e->message = strdup("out of memory while loading the config");
            if (e->file && e->message && errs->order) {
                errs->n = 1;
            } else {
                free(e->file);
                free(e->message);
            }
        }
    }
    if (errors && errs && errs->n)
        *errors = errs;
    else
        conf_errors_free(errs);
    return NULL;
}
