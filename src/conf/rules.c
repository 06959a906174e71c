/* ferry — config: destinations, pipelines and routes, gathered from the main
 * file and every included one, then checked against each other (a route's
 * destination and pipeline must exist), and match expressions turned into
 * route_rules_* calls. Pipeline steps are handed to the daemon's check hook. */
#include "conf/conf-private.h"

#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct conf_parser *p, const yaml_node_t *n, size_t i)
{
    return conf_node(p, n->data.sequence.items.start[i]);
}

static int expected(struct conf_parser *p, const yaml_node_t *n, const char *what)
{
    char found[96];
    conf_found(n, found, sizeof found);
    return conf_error_at(p, n, "%sexpected %s, found %s", conf_path(p), what, found);
}

/* "in routes[2]" for unknown-key messages. */
static const char *where(struct conf_parser *p, char *buf, size_t size)
{
    snprintf(buf, size, "in %s", p->path);
    return buf;
}

/* ---------------------------------------------------------------------------
 * Pipelines */

/* Count the params a mapping of key: value-or-list gives. */
static int count_params(struct conf_parser *p, yaml_node_t *map, const char *skip, size_t *n)
{
    int rc = 0;
    *n = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = conf_node(p, pr->key), *v = conf_node(p, pr->value);
        const char *key = conf_scalar(k);
        if (!key) {
            rc = conf_error_at(p, k, "a key must be a plain name");
            continue;
        }
        if (skip && strcmp(key, skip) == 0)
            continue;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
            const char *other = conf_scalar(conf_node(p, q->key));
            if (other && strcmp(other, key) == 0) {
                struct conf_loc loc = conf_loc_of(p, conf_node(p, q->key));
                rc = conf_error_at(p, k, "duplicate key '%s' (first given at %u:%u)", key,
                                   loc.line, loc.col);
                goto next;
            }
        }
        if (v->type == YAML_SEQUENCE_NODE) {
            for (size_t i = 0; i < seq_len(v); i++) {
                yaml_node_t *item = seq_item(p, v, i);
                if (!conf_scalar(item)) {
                    size_t mark = conf_path_push(p, key);
                    conf_path_index(p, i);
                    rc = expected(p, item, "a value");
                    conf_path_pop(p, mark);
                }
            }
            *n += seq_len(v);
        } else if (conf_scalar(v)) {
            *n += 1;
        } else {
            size_t mark = conf_path_push(p, key);
            rc = expected(p, v, "a value or a list of values");
            conf_path_pop(p, mark);
        }
next:;
    }
    return rc;
}

/* The params of a step from a mapping (a list becomes repeated keys). */
static int parse_params(struct conf_parser *p, yaml_node_t *map, const char *skip,
                        struct conf_step *st)
{
    size_t n;
    if (map->type != YAML_MAPPING_NODE)
        return expected(p, map, "a mapping of parameters");
    int rc = count_params(p, map, skip, &n);
    if (rc < 0)
        return rc;
    struct ferry_param *params = conf_arena_alloc(&p->box->arena, (n + 1) * sizeof *params);
    struct conf_loc *locs = conf_arena_alloc(&p->box->arena, (n + 1) * sizeof *locs);
    if (!params || !locs)
        return conf_nomem(p);
    size_t j = 0;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = conf_node(p, pr->key), *v = conf_node(p, pr->value);
        const char *key = conf_scalar(k);
        if (skip && strcmp(key, skip) == 0)
            continue;
        const char *akey = conf_arena_strdup(&p->box->arena, key);
        if (!akey)
            return conf_nomem(p);
        size_t count = v->type == YAML_SEQUENCE_NODE ? seq_len(v) : 1;
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *item = v->type == YAML_SEQUENCE_NODE ? seq_item(p, v, i) : v;
            params[j].key = akey;
            params[j].value = conf_arena_strdup(&p->box->arena, conf_scalar(item));
            if (!params[j].value)
                return conf_nomem(p);
            locs[j] = conf_loc_of(p, item);
            j++;
        }
    }
    st->params = params;
    st->param_locs = locs;
    st->n_params = (uint32_t)n;
    return 0;
}

static int parse_step(struct conf_parser *p, yaml_node_t *item, struct conf_step *st)
{
    static const char *const names[] = { "compress", "step", "params" };
    yaml_node_t *v[3], *k[3];
    char buf[600];
    st->loc = conf_loc_of(p, item);
    if (item->type != YAML_MAPPING_NODE)
        return expected(p, item, "a step (compress: or step:)");
    int rc = conf_map_keys(p, item, names, 3, where(p, buf, sizeof buf), v, k);
    if (rc < 0)
        return rc;
    if (v[0] && v[1])
        return conf_error_at(p, k[1], "%sa step is either compress or step, not both",
                             conf_path(p));
    if (!v[0] && !v[1])
        return conf_error_at(p, item, "%sexpected compress: or step:", conf_path(p));
    const char *name;
    if (v[0]) {
        st->kind = CONF_STEP_COMPRESS;
        if (v[2])
            return conf_error_at(p, k[2],
                                 "%sthe parameters of compress go inside it: compress: { "
                                 "syntax: NAME, ... }",
                                 conf_path(p));
        size_t mark = conf_path_push(p, "compress");
        yaml_node_t *syn = v[0];
        if (v[0]->type == YAML_MAPPING_NODE) {
            syn = NULL;
            for (yaml_node_pair_t *pr = v[0]->data.mapping.pairs.start;
                 pr < v[0]->data.mapping.pairs.top; pr++) {
                const char *key = conf_scalar(conf_node(p, pr->key));
                if (key && strcmp(key, "syntax") == 0)
                    syn = conf_node(p, pr->value);
            }
            if (!syn)
                rc = conf_error_at(p, v[0], "%smissing required key 'syntax'", conf_path(p));
            else
                rc = parse_params(p, v[0], "syntax", st);
        }
        name = syn ? conf_scalar(syn) : NULL;
        if (syn && (!name || !*name)) {
            size_t m2 = conf_path_push(p, "syntax");
            rc = expected(p, syn, "a transfer syntax name such as jpeg-ls-lossless");
            conf_path_pop(p, m2);
        }
        conf_path_pop(p, mark);
    } else {
        st->kind = CONF_STEP_PLUGIN;
        size_t mark = conf_path_push(p, "step");
        name = conf_scalar(v[1]);
        if (!name || !conf_name_valid(name)) {
            rc = expected(p, v[1], "a step name");
            name = NULL;
        }
        conf_path_pop(p, mark);
        if (v[2]) {
            mark = conf_path_push(p, "params");
            if (parse_params(p, v[2], NULL, st) < 0)
                rc = -EINVAL;
            conf_path_pop(p, mark);
        }
    }
    if (name && !(st->name = conf_arena_strdup(&p->box->arena, name)))
        return conf_nomem(p);
    return rc;
}

/* Append a pipeline parsed from a list of steps; returns its index or -1. */
static long add_pipeline(struct conf_parser *p, const char *name, yaml_node_t *list)
{
    struct conf_box *b = p->box;
    int rc = 0;
    if (list->type != YAML_SEQUENCE_NODE) {
        expected(p, list, "a list of steps");
        return -1;
    }
    size_t n = seq_len(list);
    struct conf_step *steps = conf_arena_alloc(&b->arena, (n + 1) * sizeof *steps);
    const char *aname = conf_arena_strdup(&b->arena, name);
    if (!steps || !aname) {
        conf_nomem(p);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t mark = conf_path_index(p, i);
        if (parse_step(p, seq_item(p, list, i), &steps[i]) < 0)
            rc = -EINVAL;
        conf_path_pop(p, mark);
    }
    if (b->pub.n_pipelines == b->cap_pipes) {
        size_t cap = b->cap_pipes ? b->cap_pipes * 2 : 8;
        struct conf_pipeline *v = reallocarray(b->pipes, cap, sizeof *v);
        if (!v) {
            conf_nomem(p);
            return -1;
        }
        b->pipes = v;
        b->pub.pipelines = v;
        b->cap_pipes = cap;
    }
    b->pipes[b->pub.n_pipelines] = (struct conf_pipeline){
        .name = aname, .loc = conf_loc_of(p, list), .steps = steps, .n_steps = n,
    };
    /* Kept even when a step is wrong, so that duplicates and references to
     * it are judged as usual. */
    size_t idx = b->pub.n_pipelines++;
    return rc < 0 ? -1 : (long)idx;
}

int conf_parse_pipelines(struct conf_parser *p)
{
    int rc = 0;
    for (size_t d = 0; d < p->n_docs; d++) {
        yaml_node_t *map = p->docs[d]->pipelines;
        if (!map)
            continue;
        p->doc = p->docs[d];
        size_t mark = conf_path_push(p, "pipelines");
        if (map->type != YAML_MAPPING_NODE) {
            rc = expected(p, map, "a mapping of pipeline names to lists of steps");
            conf_path_pop(p, mark);
            continue;
        }
        for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
             pr < map->data.mapping.pairs.top; pr++) {
            yaml_node_t *k = conf_node(p, pr->key);
            const char *name = conf_scalar(k);
            if (!name || !conf_name_valid(name)) {
                rc = expected(p, k, "a pipeline name (letters, digits, '.', '_' and '-')");
                continue;
            }
            const struct conf_pipeline *dup = conf_pipeline(&p->box->pub, name);
            if (dup) {
                rc = conf_error_at(p, k, "a pipeline named '%s' is defined already (at %s:%u:%u)",
                                   name, dup->loc.file, dup->loc.line, dup->loc.col);
                continue;
            }
            size_t m2 = conf_path_push(p, name);
            if (add_pipeline(p, name, conf_node(p, pr->value)) < 0)
                rc = -EINVAL;
            conf_path_pop(p, m2);
        }
        conf_path_pop(p, mark);
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Destinations */

int conf_parse_destinations(struct conf_parser *p)
{
    struct conf_box *b = p->box;
    int rc = 0;
    for (size_t d = 0; d < p->n_docs; d++) {
        yaml_node_t *list = p->docs[d]->destinations;
        if (!list)
            continue;
        p->doc = p->docs[d];
        size_t mark = conf_path_push(p, "destinations");
        if (list->type != YAML_SEQUENCE_NODE) {
            rc = expected(p, list, "a list of destinations");
            conf_path_pop(p, mark);
            continue;
        }
        for (size_t i = 0; i < seq_len(list); i++) {
            yaml_node_t *item = seq_item(p, list, i);
            if (b->pub.n_destinations == b->cap_dests) {
                size_t cap = b->cap_dests ? b->cap_dests * 2 : 8;
                struct conf_destination *v = reallocarray(b->dests, cap, sizeof *v);
                if (!v)
                    return conf_nomem(p);
                b->dests = v;
                b->pub.destinations = v;
                b->cap_dests = cap;
            }
            struct conf_destination *dst = &b->dests[b->pub.n_destinations];
            memset(dst, 0, sizeof *dst);
            size_t m2 = conf_path_index(p, i);
            dst->loc = conf_loc_of(p, item);
            if (conf_parse_table(p, &conf_schema_destination, item, dst) < 0)
                rc = -EINVAL;
            if (dst->retry_initial_ms > dst->retry_max_ms && dst->retry_max_ms) {
                char a[32], c[32];
                route_format_duration(dst->retry_initial_ms, a, sizeof a);
                route_format_duration(dst->retry_max_ms, c, sizeof c);
                rc = conf_error_at(p, item, "%sretry.initial (%s) is longer than retry.max (%s)",
                                   conf_path(p), a, c);
            }
            if (dst->calling_ae && !*dst->calling_ae)
                dst->calling_ae = b->pub.server.ae_title;
            const struct conf_destination *dup = dst->name ? conf_destination(&b->pub, dst->name)
                                                           : NULL;
            if (dup) {
                rc = conf_error_at(p, item,
                                   "%sa destination named '%s' is defined already (at %s:%u:%u)",
                                   conf_path(p), dst->name, dup->loc.file, dup->loc.line,
                                   dup->loc.col);
                dst->name = NULL; /* keep the first one findable */
            }
            b->pub.n_destinations++;
            conf_path_pop(p, m2);
        }
        conf_path_pop(p, mark);
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Match expressions */

static int parse_conditions(struct conf_parser *p, yaml_node_t *map, int depth, int *ids,
                            size_t max, size_t *n);

/* Report a route_rules_* error at the node it is about. */
static int rule_error(struct conf_parser *p, const yaml_node_t *n, struct ferry_error *err)
{
    int rc = conf_error_at(p, n, "%s%s", conf_path(p), ferry_error_message(err));
    ferry_error_free(err);
    return rc;
}

/* The values of an operand node: a scalar or a list of scalars. */
static int operand_values(struct conf_parser *p, yaml_node_t *v, const char **vals,
                          yaml_node_t **nodes, size_t max, size_t *n)
{
    *n = 0;
    if (conf_scalar(v)) {
        vals[0] = conf_scalar(v);
        nodes[0] = v;
        *n = 1;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(p, v, "a value, a list of values, or a mapping of operators");
    if (seq_len(v) > max)
        return conf_error_at(p, v, "%smore than %zu values", conf_path(p), max);
    for (size_t i = 0; i < seq_len(v); i++) {
        yaml_node_t *item = seq_item(p, v, i);
        if (!conf_scalar(item)) {
            size_t mark = conf_path_index(p, i);
            int rc = expected(p, item, "a value");
            conf_path_pop(p, mark);
            return rc;
        }
        vals[i] = conf_scalar(item);
        nodes[i] = item;
    }
    *n = seq_len(v);
    return 0;
}

#define MAX_VALUES 256

/* One condition: `field: value`, `field: [values]` or `field: {op: value,
 * ...}` (several operators: all must hold). */
static int parse_cond(struct conf_parser *p, yaml_node_t *key, yaml_node_t *v, int *id)
{
    struct route_rules *rules = p->box->rules;
    const char *field = conf_scalar(key);
    const char *vals[MAX_VALUES];
    yaml_node_t *nodes[MAX_VALUES];
    size_t n;
    int bad, rc;
    struct ferry_error *err = NULL;

    if (v->type != YAML_MAPPING_NODE) {
        rc = operand_values(p, v, vals, nodes, MAX_VALUES, &n);
        if (rc < 0)
            return rc;
        *id = route_rules_cond(rules, field, NULL, vals, n, &bad, &err);
        if (*id >= 0)
            return 0;
        return rule_error(p, bad == ROUTE_BAD_FIELD ? key : bad >= 0 ? nodes[bad] : v, err);
    }
    size_t nops = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (nops == 0)
        return conf_error_at(p, v, "%sexpected an operator such as equals, regex or range",
                             conf_path(p));
    int ids[16];
    if (nops > 16)
        return conf_error_at(p, v, "%smore than 16 operators", conf_path(p));
    rc = 0;
    for (size_t i = 0; i < nops; i++) {
        yaml_node_pair_t *pr = &v->data.mapping.pairs.start[i];
        yaml_node_t *opk = conf_node(p, pr->key), *opv = conf_node(p, pr->value);
        const char *op = conf_scalar(opk);
        if (!op) {
            rc = conf_error_at(p, opk, "%san operator must be a plain name", conf_path(p));
            continue;
        }
        size_t mark = conf_path_push(p, op);
        int r = operand_values(p, opv, vals, nodes, MAX_VALUES, &n);
        if (r == 0) {
            ids[i] = route_rules_cond(rules, field, op, vals, n, &bad, &err);
            if (ids[i] < 0) {
                /* Report the field and the operator at their keys. */
                conf_path_pop(p, mark);
                mark = p->path_len;
                r = rule_error(p, bad == ROUTE_BAD_FIELD ? key
                                  : bad == ROUTE_BAD_OP  ? opk
                                                         : nodes[bad],
                               err);
                err = NULL;
                if (bad == ROUTE_BAD_FIELD) {
                    conf_path_pop(p, mark);
                    return r;
                }
            }
        }
        conf_path_pop(p, mark);
        if (r < 0)
            rc = r;
    }
    if (rc < 0)
        return rc;
    if (nops == 1) {
        *id = ids[0];
        return 0;
    }
    *id = route_rules_group(rules, ROUTE_ALL, ids, nops, &err);
    return *id >= 0 ? 0 : rule_error(p, v, err);
}

/* A list or mapping of conditions under all:/any:, as node ids. */
static int parse_group_list(struct conf_parser *p, yaml_node_t *v, int depth, int *ids,
                            size_t max, size_t *n)
{
    *n = 0;
    if (v->type == YAML_MAPPING_NODE)
        return parse_conditions(p, v, depth, ids, max, n);
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(p, v, "a list of conditions");
    if (seq_len(v) == 0)
        return conf_error_at(p, v, "%sexpected at least one condition", conf_path(p));
    if (seq_len(v) > max)
        return conf_error_at(p, v, "%smore than %zu conditions", conf_path(p), max);
    int rc = 0;
    for (size_t i = 0; i < seq_len(v); i++) {
        yaml_node_t *item = seq_item(p, v, i);
        size_t mark = conf_path_index(p, i), k = 0;
        int sub[64];
        int r = item->type == YAML_MAPPING_NODE ? parse_conditions(p, item, depth, sub, 64, &k)
                                                : expected(p, item, "a condition (a mapping)");
        if (r == 0 && k == 0)
            r = conf_error_at(p, item, "%san empty condition", conf_path(p));
        if (r == 0 && k > 1) {
            struct ferry_error *err = NULL;
            sub[0] = route_rules_group(p->box->rules, ROUTE_ALL, sub, k, &err);
            if (sub[0] < 0)
                r = rule_error(p, item, err);
        }
        if (r == 0)
            ids[(*n)++] = sub[0];
        else
            rc = r;
        conf_path_pop(p, mark);
    }
    return rc;
}

/* Every key of a mapping is one condition (implicitly all of them). */
static int parse_conditions(struct conf_parser *p, yaml_node_t *map, int depth, int *ids,
                            size_t max, size_t *n)
{
    int rc = 0;
    *n = 0;
    if (depth > ROUTE_MAX_DEPTH)
        return conf_error_at(p, map, "%sconditions nested deeper than %d levels", conf_path(p),
                             ROUTE_MAX_DEPTH);
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (count > max)
        return conf_error_at(p, map, "%smore than %zu conditions", conf_path(p), max);
    for (size_t i = 0; i < count; i++) {
        yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
        yaml_node_t *k = conf_node(p, pr->key), *v = conf_node(p, pr->value);
        const char *name = conf_scalar(k);
        int id = -1, r;
        struct ferry_error *err = NULL;
        if (!name) {
            rc = conf_error_at(p, k, "%sa condition's key must be a plain name", conf_path(p));
            continue;
        }
        size_t mark = conf_path_push(p, name);
        if (strcmp(name, "all") == 0 || strcmp(name, "any") == 0) {
            int sub[64];
            size_t k2 = 0;
            r = parse_group_list(p, v, depth + 1, sub, 64, &k2);
            if (r == 0) {
                id = route_rules_group(p->box->rules, name[1] == 'l' ? ROUTE_ALL : ROUTE_ANY, sub,
                                       k2, &err);
                if (id < 0)
                    r = rule_error(p, k, err);
            }
        } else if (strcmp(name, "not") == 0) {
            int sub[64];
            size_t k2 = 0;
            if (v->type != YAML_MAPPING_NODE) {
                r = expected(p, v, "one condition (a mapping)");
            } else {
                r = parse_conditions(p, v, depth + 1, sub, 64, &k2);
                if (r == 0 && k2 == 0)
                    r = conf_error_at(p, v, "%san empty condition", conf_path(p));
            }
            if (r == 0 && k2 > 1) {
                sub[0] = route_rules_group(p->box->rules, ROUTE_ALL, sub, k2, &err);
                if (sub[0] < 0)
                    r = rule_error(p, v, err), err = NULL;
            }
            if (r == 0) {
                id = route_rules_group(p->box->rules, ROUTE_NOT, sub, 1, &err);
                if (id < 0)
                    r = rule_error(p, k, err);
            }
        } else {
            r = parse_cond(p, k, v, &id);
        }
        conf_path_pop(p, mark);
        if (r < 0)
            rc = r;
        else
            ids[(*n)++] = id;
    }
    return rc;
}

/* A route's match: a mapping of conditions; *id -1 when it matches all. */
static int parse_match(struct conf_parser *p, yaml_node_t *v, int *id)
{
    int ids[64];
    size_t n = 0;
    struct ferry_error *err = NULL;
    *id = -1;
    if (v->type != YAML_MAPPING_NODE)
        return expected(p, v, "a mapping of conditions (all, any, not, calling_ae, called_ae, "
                              "peer or an attribute keyword)");
    int rc = parse_conditions(p, v, 1, ids, 64, &n);
    if (rc < 0 || n == 0)
        return rc;
    if (n == 1) {
        *id = ids[0];
        return 0;
    }
    *id = route_rules_group(p->box->rules, ROUTE_ALL, ids, n, &err);
    return *id >= 0 ? 0 : rule_error(p, v, err);
}

/* ---------------------------------------------------------------------------
 * Routes */

static int parse_trigger(struct conf_parser *p, yaml_node_t *v, struct route_spec *s)
{
    static const char what[] = "instance or { study-stable: TIME }";
    const char *t = conf_scalar(v);
    if (t && strcmp(t, "instance") == 0) {
        s->trigger = ROUTE_TRIGGER_INSTANCE;
        return 0;
    }
    if (t && strcmp(t, "study-stable") == 0)
        return conf_error_at(p, v, "%sstudy-stable needs a quiet time: trigger: { study-stable: "
                                   "30s }",
                             conf_path(p));
    if (v->type != YAML_MAPPING_NODE)
        return expected(p, v, what);
    static const char *const names[] = { "study-stable" };
    yaml_node_t *val;
    char buf[600];
    int rc = conf_map_keys(p, v, names, 1, where(p, buf, sizeof buf), &val, NULL);
    if (rc < 0)
        return rc;
    if (!val)
        return expected(p, v, what);
    size_t mark = conf_path_push(p, "study-stable");
    rc = conf_parse_duration_node(p, val, 1000, 86400000, &s->stable_ms);
    conf_path_pop(p, mark);
    s->trigger = ROUTE_TRIGGER_STUDY_STABLE;
    return rc;
}

static const char *destination_hint(const struct conf *c, const char *name, char *buf,
                                    size_t size)
{
    const char *names[256];
    size_t n = 0;
    for (size_t i = 0; i < c->n_destinations && n < 256; i++)
        if (c->destinations[i].name)
            names[n++] = c->destinations[i].name;
    const char *s = conf_suggest(name, names, n);
    if (s)
        snprintf(buf, size, "; did you mean '%s'?", s);
    else if (n == 0)
        snprintf(buf, size, " (no destinations are defined)");
    else
        buf[0] = '\0';
    return buf;
}

static int parse_target(struct conf_parser *p, yaml_node_t *v, const char *route,
                        struct route_target *t)
{
    static const char *const names[] = { "destination", "pipeline", "priority" };
    yaml_node_t *vals[3] = { NULL, NULL, NULL };
    const struct conf *c = &p->box->pub;
    char buf[600];
    int rc = 0;
    t->pipeline = ROUTE_NO_PIPELINE;
    t->priority = ROUTE_PRIORITY_NORMAL;
    if (conf_scalar(v)) {
        vals[0] = v;
    } else if (v->type == YAML_MAPPING_NODE) {
        rc = conf_map_keys(p, v, names, 3, where(p, buf, sizeof buf), vals, NULL);
        if (!vals[0])
            return conf_error_at(p, v, "%smissing required key 'destination'", conf_path(p));
    } else {
        return expected(p, v, "a destination name or a mapping with destination:");
    }

    size_t mark = conf_path_push(p, "destination");
    const char *dname = conf_scalar(vals[0]);
    const struct conf_destination *d = dname ? conf_destination(c, dname) : NULL;
    if (!dname)
        rc = expected(p, vals[0], "a destination name");
    else if (!d)
        rc = conf_error_at(p, vals[0], "%sno destination named '%s'%s", conf_path(p), dname,
                           destination_hint(c, dname, buf, sizeof buf));
    if (d) {
        t->destination = (uint32_t)(d - c->destinations);
        t->destination_name = d->name;
    }
    conf_path_pop(p, mark);

    if (vals[1]) {
        mark = conf_path_push(p, "pipeline");
        const char *pname = conf_scalar(vals[1]);
        if (pname) {
            const struct conf_pipeline *pl = conf_pipeline(c, pname);
            if (!pl)
                rc = conf_error_at(p, vals[1], "%sno pipeline named '%s'", conf_path(p), pname);
            else
                t->pipeline = (uint32_t)(pl - c->pipelines);
        } else if (vals[1]->type == YAML_SEQUENCE_NODE) {
            char name[200];
            snprintf(name, sizeof name, "%s:%s", route, dname ? dname : "?");
            long idx = add_pipeline(p, name, vals[1]);
            if (idx < 0)
                rc = -EINVAL;
            else
                t->pipeline = (uint32_t)idx;
        } else {
            rc = expected(p, vals[1], "a pipeline name or a list of steps");
        }
        if (t->pipeline != ROUTE_NO_PIPELINE)
            t->pipeline_name = c->pipelines[t->pipeline].name;
        conf_path_pop(p, mark);
    }

    if (vals[2]) {
        mark = conf_path_push(p, "priority");
        const char *s = conf_scalar(vals[2]);
        int prio = s ? route_priority_from_name(s) : -1;
        if (s && prio < 0 && *s >= '0' && *s <= '9' && strlen(s) <= 3) {
            char *end;
            long v2 = strtol(s, &end, 10);
            if (!*end && v2 <= ROUTE_PRIORITY_MAX)
                prio = (int)v2;
        }
        if (prio < 0)
            rc = expected(p, vals[2], "low, normal, high, urgent or an integer from 0 to 100");
        else
            t->priority = prio;
        conf_path_pop(p, mark);
    }
    return rc;
}

static int parse_forward(struct conf_parser *p, yaml_node_t *v, const char *route,
                         struct route_target **out, size_t *n)
{
    size_t count = v->type == YAML_SEQUENCE_NODE ? seq_len(v) : 1;
    int rc = 0;
    *n = 0;
    if (count == 0)
        return conf_error_at(p, v, "%sexpected at least one destination", conf_path(p));
    struct route_target *t = conf_arena_alloc(&p->box->arena, count * sizeof *t);
    bool *ok = conf_arena_alloc(&p->box->arena, count * sizeof *ok);
    if (!t || !ok)
        return conf_nomem(p);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = v->type == YAML_SEQUENCE_NODE ? seq_item(p, v, i) : v;
        size_t mark = v->type == YAML_SEQUENCE_NODE ? conf_path_index(p, i) : p->path_len;
        int r = parse_target(p, item, route, &t[i]);
        ok[i] = r == 0;
        for (size_t j = 0; r == 0 && j < i; j++)
            if (ok[j] && t[j].destination == t[i].destination && t[j].pipeline == t[i].pipeline)
                r = conf_error_at(p, item, "%s'%s' is named twice with the same pipeline",
                                  conf_path(p), t[i].destination_name);
        conf_path_pop(p, mark);
        if (r < 0)
            rc = r;
    }
    *out = t;
    *n = count;
    return rc;
}

struct seen_route {
    const char *name;
    struct conf_loc loc;
};

static int parse_route(struct conf_parser *p, yaml_node_t *item, struct seen_route *seen,
                       size_t n_seen)
{
    static const char *const names[] = { "name",    "match",      "trigger", "forward",
                                         "discard", "quarantine", "continue" };
    enum { NAME, MATCH, TRIGGER, FORWARD, DISCARD, QUARANTINE, CONTINUE, N };
    yaml_node_t *v[N], *k[N];
    char buf[600];
    struct route_spec s = { .match = -1 };
    struct conf_key namekey = { .name = "name" };
    struct conf_key boolkey = { .name = "" };
    bool discard = false, quarantine = false;
    int rc = conf_map_keys(p, item, names, N, where(p, buf, sizeof buf), v, k);
    if (item->type != YAML_MAPPING_NODE)
        return rc;

    if (!v[NAME]) {
        rc = conf_error_at(p, item, "%smissing required key 'name'", conf_path(p));
    } else {
        size_t mark = conf_path_push(p, "name");
        if (conf_t_name.parse(p, &namekey, v[NAME], &s.name) < 0)
            rc = -EINVAL;
        conf_path_pop(p, mark);
    }
    for (size_t i = 0; s.name && i < n_seen; i++) {
        if (strcmp(seen[i].name, s.name) == 0) {
            rc = conf_error_at(p, v[NAME], "%sa route named '%s' is defined already (at %s:%u:%u)",
                               conf_path(p), s.name, seen[i].loc.file, seen[i].loc.line,
                               seen[i].loc.col);
            break;
        }
    }
    const char *rname = s.name ? s.name : "?";
    size_t mark;
    if (v[MATCH]) {
        mark = conf_path_push(p, "match");
        if (parse_match(p, v[MATCH], &s.match) < 0)
            rc = -EINVAL;
        conf_path_pop(p, mark);
    }
    if (v[TRIGGER]) {
        mark = conf_path_push(p, "trigger");
        if (parse_trigger(p, v[TRIGGER], &s) < 0)
            rc = -EINVAL;
        conf_path_pop(p, mark);
    }
    for (int i = DISCARD; i <= CONTINUE; i++) {
        if (!v[i])
            continue;
        bool *b = i == DISCARD ? &discard : i == QUARANTINE ? &quarantine : &s.cont;
        mark = conf_path_push(p, names[i]);
        if (conf_t_bool.parse(p, &boolkey, v[i], b) < 0)
            rc = -EINVAL;
        conf_path_pop(p, mark);
    }
    int actions = (v[FORWARD] != NULL) + discard + quarantine;
    if (actions == 0)
        rc = conf_error_at(p, item, "%sexpected one of forward, discard: true or quarantine: true",
                           conf_path(p));
    if (actions > 1) {
        int second = v[FORWARD] && discard ? DISCARD : QUARANTINE;
        rc = conf_error_at(p, k[second], "%sa route does one of forward, discard or quarantine",
                           conf_path(p));
    }
    struct route_target *targets = NULL;
    if (v[FORWARD]) {
        s.action = ROUTE_FORWARD;
        mark = conf_path_push(p, "forward");
        if (parse_forward(p, v[FORWARD], rname, &targets, &s.n_targets) < 0)
            rc = -EINVAL;
        s.targets = targets;
        conf_path_pop(p, mark);
    } else {
        s.action = discard ? ROUTE_DISCARD : ROUTE_QUARANTINE;
    }
    if (s.cont && s.action != ROUTE_FORWARD && actions == 1)
        rc = conf_error_at(p, k[CONTINUE], "%scontinue: true cannot follow %s (it ends the "
                                           "evaluation)",
                           conf_path(p), discard ? "discard" : "quarantine");
    if (rc < 0)
        return rc;
    struct ferry_error *err = NULL;
    if (route_rules_add(p->box->rules, &s, &err) < 0)
        return rule_error(p, item, err);
    return 0;
}

int conf_parse_routes(struct conf_parser *p)
{
    struct seen_route *seen = NULL;
    size_t n_seen = 0, cap = 0;
    int rc = 0;
    for (size_t d = 0; d < p->n_docs; d++) {
        yaml_node_t *list = p->docs[d]->routes;
        if (!list)
            continue;
        p->doc = p->docs[d];
        size_t mark = conf_path_push(p, "routes");
        if (list->type != YAML_SEQUENCE_NODE) {
            rc = expected(p, list, "a list of routes");
            conf_path_pop(p, mark);
            continue;
        }
        for (size_t i = 0; i < seq_len(list); i++) {
            yaml_node_t *item = seq_item(p, list, i);
            size_t m2 = conf_path_index(p, i);
            if (parse_route(p, item, seen, n_seen) < 0)
                rc = -EINVAL;
            /* Remember the name for duplicate checks, even of a bad route. */
            const char *name = NULL;
            if (item->type == YAML_MAPPING_NODE)
                for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
                     pr < item->data.mapping.pairs.top; pr++)
                    if (conf_scalar(conf_node(p, pr->key)) &&
                        strcmp(conf_scalar(conf_node(p, pr->key)), "name") == 0)
                        name = conf_scalar(conf_node(p, pr->value));
            if (name) {
                if (n_seen == cap) {
                    cap = cap ? cap * 2 : 16;
                    struct seen_route *v = reallocarray(seen, cap, sizeof *v);
                    if (!v) {
                        free(seen);
                        return conf_nomem(p);
                    }
                    seen = v;
                }
                const char *aname = conf_arena_strdup(&p->box->arena, name);
                if (!aname) {
                    free(seen);
                    return conf_nomem(p);
                }
                seen[n_seen++] = (struct seen_route){ aname, conf_loc_of(p, item) };
            }
            conf_path_pop(p, m2);
        }
        conf_path_pop(p, mark);
    }
    free(seen);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Steps, checked by the daemon's hook */

int conf_check_steps(struct conf_parser *p)
{
    const struct conf_options *o = p->opts;
    int rc = 0;
    if (!o || !o->check_step)
        return 0;
    for (size_t i = 0; i < p->box->pub.n_pipelines; i++) {
        struct conf_pipeline *pl = &p->box->pipes[i];
        for (size_t j = 0; j < pl->n_steps; j++) {
            struct conf_step *st = (struct conf_step *)&pl->steps[j];
            if (!st->name)
                continue; /* already reported */
            struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
            void *state = NULL;
            if (o->check_step(o->step_ud, st, &state, &diag) == 0) {
                st->state = state;
                continue;
            }
            diag.message[sizeof diag.message - 1] = '\0';
            const struct conf_loc *loc = &st->loc;
            if (diag.param >= 0 && (uint32_t)diag.param < st->n_params)
                loc = &st->param_locs[diag.param];
            rc = conf_error_loc(p, loc, "%s '%s': %s",
                                st->kind == CONF_STEP_COMPRESS ? "compress" : "step", st->name,
                                diag.message[0] ? diag.message : "refused");
            if (state && o->release_step)
                o->release_step(o->step_ud, st, state);
        }
    }
    return rc;
}
