/* ferry — config: declarations shared by the conf module's files.
 *
 *   schema.c   the tables: every setting, its type, default, limits, reload
 *   types.c    the value types (durations, sizes, rates, AE titles, ...)
 *   load.c     YAML documents, includes, sections, errors, conf_load()
 *   rules.c    destinations, pipelines and routes (match expressions)
 *   reload.c   references, the holder, settings that need a restart
 *   names.c    transfer syntax names and SOP class keywords
 */
#ifndef FERRY_CONF_PRIVATE_H
#define FERRY_CONF_PRIVATE_H

#include "base/util.h"
#include "conf/conf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <yaml.h>

/* ---------------------------------------------------------------------------
 * Memory: everything a config owns comes from its arena and goes with it. */

struct conf_chunk;

struct conf_arena {
    struct conf_chunk *head;
};

void *conf_arena_alloc(struct conf_arena *a, size_t size);          /* zeroed; NULL on ENOMEM */
char *conf_arena_strndup(struct conf_arena *a, const char *s, size_t n);
char *conf_arena_strdup(struct conf_arena *a, const char *s);
void conf_arena_free(struct conf_arena *a);

/* A config with what only this module sees. */
struct conf_box {
    atomic_uint refs;
    struct conf_arena arena;
    struct conf pub;
    struct conf_destination *dests; /* = pub.destinations, writable while loading */
    size_t cap_dests;
    struct conf_pipeline *pipes;    /* = pub.pipelines */
    size_t cap_pipes;
    struct route_rules *rules;
    conf_release_step_fn *release_step;
    void *step_ud;
};

#define conf_box_of(c) ferry_container_of(c, struct conf_box, pub)

/* ---------------------------------------------------------------------------
 * The schema */

struct conf_parser;
struct conf_key;

/* How a type's value is stored, so that settings that need a restart can be
 * compared and carried over without knowing the type. */
enum conf_store {
    CONF_S_STR,     /* const char * */
    CONF_S_UINT,    /* uint16_t / uint32_t / uint64_t, by key->size */
    CONF_S_BOOL,    /* bool */
    CONF_S_INT,     /* int (enums) */
    CONF_S_STRINGS, /* struct conf_strings */
    CONF_S_OTHER,   /* compared by nobody: never a restart setting */
    CONF_S_SECTION, /* a nested table; same base as its parent */
};

/* Parse node into field (base + key->offset). Errors are reported through
 * conf_error_at(); returns 0 or -EINVAL (or -ENOMEM). */
typedef int conf_parse_fn(struct conf_parser *p, const struct conf_key *k, yaml_node_t *n,
                          void *field);
/* Write the value at field as it would be written in a config. */
typedef void conf_format_fn(const struct conf_key *k, const void *field, char *buf,
                            size_t size);

struct conf_type {
    const char *name;
    enum conf_store store;
    conf_parse_fn *parse;
    conf_format_fn *format; /* NULL: by store */
};

enum {
    CONF_REQUIRED = 1u << 0, /* no default: must be given */
    CONF_RESTART = 1u << 1,  /* cannot change on a live reload */
};

struct conf_key {
    const char *name;
    const struct conf_type *type;
    size_t offset;   /* from the base struct of the table (struct conf for the
                      * main file's sections, struct conf_destination, ...) */
    size_t size;
    const char *def; /* the default, as YAML text; NULL with CONF_REQUIRED */
    uint64_t min, max;
    unsigned flags;
    const void *arg; /* enum names (NULL-terminated), or a sub-table */
};

struct conf_table {
    const char *name; /* "server"; "" for the top level */
    const struct conf_key *keys;
    size_t n;
};

extern const struct conf_type conf_t_string, conf_t_path, conf_t_ae, conf_t_ae_or_empty,
    conf_t_name, conf_t_host, conf_t_uint, conf_t_bool, conf_t_duration, conf_t_size,
    conf_t_rate, conf_t_percent, conf_t_enum, conf_t_log_level, conf_t_workers,
    conf_t_retention, conf_t_window, conf_t_ip_list, conf_t_ae_pattern_list,
    conf_t_plugin_list, conf_t_cidr_list, conf_t_sop_list, conf_t_syntax_list,
    conf_t_syntax_or_none, conf_t_section, conf_t_deferred;

/* The main file's top level, and the table of one destination. */
extern const struct conf_table conf_schema_root;
extern const struct conf_table conf_schema_destination;

/* ---------------------------------------------------------------------------
 * Loading */

struct conf_doc {
    yaml_document_t yd;
    bool loaded;
    bool main;
    const char *file;            /* arena */
    unsigned index;              /* order of the file: main 0 */
    yaml_node_t *destinations;   /* top-level nodes, or NULL */
    yaml_node_t *pipelines;
    yaml_node_t *routes;
    yaml_node_t *include;
    yaml_node_t *include_key;
};

struct conf_parser {
    struct conf_box *box;
    const struct conf_options *opts;
    struct conf_errors *errs;
    struct conf_doc **docs;      /* main first; each in the arena */
    size_t n_docs, cap_docs;
    struct conf_doc *doc;        /* the document being read */
    const char *default_of;      /* when parsing a default: the key's name */
    char path[512];              /* dotted name of what is being read */
    size_t path_len;
    char path_msg[516];          /* conf_path()'s "path: " */
    bool nomem;
};

/* Report an error at node n of the current document (n may be NULL: the
 * whole file). Returns -EINVAL. */
int conf_error_at(struct conf_parser *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int conf_error_loc(struct conf_parser *p, const struct conf_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record that memory ran out (once). Returns -ENOMEM. */
int conf_nomem(struct conf_parser *p);

/* The dotted name being read: push a key or an index, pop back to a mark. */
size_t conf_path_push(struct conf_parser *p, const char *key);
size_t conf_path_index(struct conf_parser *p, size_t i);
void conf_path_pop(struct conf_parser *p, size_t mark);
/* "server.port: " or "" at the top level. */
const char *conf_path(struct conf_parser *p);

/* The place of n in the current document. */
struct conf_loc conf_loc_of(const struct conf_parser *p, const yaml_node_t *n);

yaml_node_t *conf_node(struct conf_parser *p, int index);
/* The text of a scalar (NUL-terminated by libyaml), or NULL for other nodes. */
const char *conf_scalar(const yaml_node_t *n);
/* "a list", "a mapping", "'text'" or "an empty value": what was found. */
void conf_found(const yaml_node_t *n, char *buf, size_t size);

/* The value nodes of a mapping's keys, in the order of `names`; reports
 * duplicate keys and keys not in `names` (with a suggestion). `where` names
 * the mapping in messages ("in server", "in a route"). Fills vals[i] (and
 * keys[i] if keys is not NULL) with NULL for keys not given. Returns 0 or
 * -EINVAL (errors reported; vals still filled for the keys that are known). */
int conf_map_keys(struct conf_parser *p, yaml_node_t *map, const char *const *names, size_t n,
                  const char *where, yaml_node_t **vals, yaml_node_t **keys);

/* Read a mapping with a table into base (node NULL: every key takes its
 * default). */
int conf_parse_table(struct conf_parser *p, const struct conf_table *t, yaml_node_t *map,
                     void *base);

/* --- rules.c --- */
int conf_parse_pipelines(struct conf_parser *p);
int conf_parse_destinations(struct conf_parser *p);
int conf_parse_routes(struct conf_parser *p);
int conf_check_steps(struct conf_parser *p);

/* --- types.c --- */
/* "256KiB", "1h30m": for messages and reload notes. */
void conf_format_size(uint64_t bytes, char *buf, size_t size);
int conf_parse_duration_text(const char *s, uint64_t *ms);
int conf_parse_size_text(const char *s, uint64_t *bytes);
int conf_parse_rate_text(const char *s, uint64_t *bytes_per_s);
/* Suggest the name in names (n) closest to s, or NULL. */
const char *conf_suggest(const char *s, const char *const *names, size_t n);
bool conf_ae_title_valid(const char *s, bool allow_wildcards);
bool conf_name_valid(const char *s);
/* Parse a duration node with limits; used by rules.c for triggers. */
int conf_parse_duration_node(struct conf_parser *p, yaml_node_t *n, uint64_t min, uint64_t max,
                             uint64_t *out);

/* --- names.c --- */
struct conf_sop_class {
    const char *uid;
    const char *keyword;
};
extern const struct conf_sop_class conf_sop_classes[];
extern const size_t conf_n_sop_classes;

#endif
