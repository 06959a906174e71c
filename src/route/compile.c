/* ferry — routing rules: building them (conditions, groups, routes). Every
 * operand is checked and compiled here, once: regular expressions, address
 * blocks, date ranges and numbers, so that evaluating never parses the
 * config again. */
#include "route/route-private.h"

#include "base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct route_rules *route_rules_new(const struct route_dict *dict)
{
    struct route_rules *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (r->c_locale == (locale_t)0) {
        free(r);
        return NULL;
    }
    if (dict) {
        r->dict = *dict;
        r->have_dict = true;
    }
    return r;
}

static void cond_release(struct route_cond *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->re)
            regfree(&c->re[i]);
        if (c->text)
            free(c->text[i]);
    }
    free(c->text);
    free(c->re);
    free(c->wild);
    free(c->cidr);
    free(c->name);
    free(c->opname);
}

void route_rules_free(struct route_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_conds; i++)
        cond_release(&r->conds[i]);
    for (size_t i = 0; i < r->n_routes; i++) {
        struct route_rule *ru = &r->routes[i];
        for (size_t j = 0; j < ru->n_actions; j++) {
            free((char *)ru->actions[j].destination_name);
            free((char *)ru->actions[j].pipeline_name);
        }
        free(ru->actions);
        free(ru->name);
    }
    free(r->routes);
    free(r->conds);
    free(r->nodes);
    free(r->kids);
    if (r->c_locale != (locale_t)0)
        freelocale(r->c_locale);
    free(r);
}

size_t route_rules_count(const struct route_rules *r)
{
    return r->n_routes;
}

const char *route_rules_name(const struct route_rules *r, size_t i)
{
    return i < r->n_routes ? r->routes[i].name : NULL;
}

/* ---------------------------------------------------------------------------
 * Conditions */

static const struct {
    const char *name;
    enum route_op op;
} op_names[] = {
    { "equals", OP_EQUALS }, { "wildcard", OP_WILDCARD }, { "regex", OP_REGEX },
    { "in", OP_IN },         { "range", OP_RANGE },       { "from", OP_RANGE },
    { "to", OP_RANGE },      { "<", OP_LT },              { "<=", OP_LE },
    { ">", OP_GT },          { ">=", OP_GE },             { "==", OP_EQ },
    { "lt", OP_LT },         { "le", OP_LE },             { "gt", OP_GT },
    { "ge", OP_GE },         { "eq", OP_EQ },             { "between", OP_BETWEEN },
    { "present", OP_PRESENT },
};

static bool op_is_numeric(enum route_op op)
{
    return op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE || op == OP_EQ;
}

static const char *vrc_what(enum route_vr_class vrc)
{
    switch (vrc) {
    case VR_DATE:
        return "a date (YYYYMMDD)";
    case VR_TIME:
        return "a time (HHMMSS.FFFFFF)";
    default:
        return "a date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX)";
    }
}

/* Fill c's lo/hi from one "A-B" range value (either side may be empty; a
 * value without '-' is the range it covers by itself). */
static int compile_range(struct route_cond *c, const char *v, struct ferry_error **err)
{
    char lo[64], hi[64];
    const char *dash = strchr(v, '-');
    if (dash && strchr(dash + 1, '-'))
        return ferry_error_set(err, -EINVAL, "range '%s' has more than one '-' (%s)", v,
                               c->vrc == VR_DATE   ? "dates are written YYYYMMDD"
                               : c->vrc == VR_TIME ? "times are written HHMMSS"
                                                   : "use from and to for date-times with "
                                                     "a UTC offset");
    if (strlen(v) >= sizeof lo)
        return ferry_error_set(err, -EINVAL, "'%s' is not %s", v, vrc_what(c->vrc));
    if (dash) {
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = '\0';
        snprintf(hi, sizeof hi, "%s", dash + 1);
        if (!lo[0] && !hi[0])
            return ferry_error_set(err, -EINVAL, "range '%s' has no bounds", v);
    } else {
        snprintf(lo, sizeof lo, "%s", v);
        snprintf(hi, sizeof hi, "%s", v);
    }
    if (lo[0] && route_datetime_key(c->vrc, lo, false, c->lo) < 0)
        return ferry_error_set(err, -EINVAL, "'%s' is not %s", lo, vrc_what(c->vrc));
    if (hi[0] && route_datetime_key(c->vrc, hi, true, c->hi) < 0)
        return ferry_error_set(err, -EINVAL, "'%s' is not %s", hi, vrc_what(c->vrc));
    if (c->lo[0] && c->hi[0] && strcmp(c->lo, c->hi) > 0)
        return ferry_error_set(err, -EINVAL, "range '%s' ends before it starts", v);
    return 0;
}

/* Check the operator against the field; sets c->op. */
static int check_op(struct route_cond *c, const char *op, struct ferry_error **err)
{
    if (!op) {
        c->op = c->field == FIELD_PEER ? OP_IN : OP_MATCH;
        if (c->field == FIELD_ATTR && (c->vrc == VR_SEQ || c->vrc == VR_BULK))
            goto only_present;
        return 0;
    }
    size_t i;
    for (i = 0; i < sizeof op_names / sizeof *op_names; i++)
        if (strcmp(op, op_names[i].name) == 0)
            break;
    if (i == sizeof op_names / sizeof *op_names) {
        if (c->field == FIELD_PEER)
            goto peer_ops;
        return ferry_error_set(err, -EINVAL,
                               "unknown operator '%s' (expected equals, wildcard, regex, range, "
                               "from, to, <, <=, >, >=, ==, between or present)",
                               op);
    }
    c->op = op_names[i].op;
    if (c->field == FIELD_PEER) {
        if (c->op != OP_IN)
            goto peer_ops;
        return 0;
    }
    if (c->op == OP_IN)
        return ferry_error_set(err, -EINVAL, "'in' is for peer address blocks, not %s",
                               c->name);
    if (c->field != FIELD_ATTR) {
        if (c->op != OP_EQUALS && c->op != OP_WILDCARD && c->op != OP_REGEX)
            return ferry_error_set(err, -EINVAL,
                                   "%s takes equals, wildcard or regex, not '%s'", c->name, op);
        return 0;
    }
    if ((c->vrc == VR_SEQ || c->vrc == VR_BULK) && c->op != OP_PRESENT)
        goto only_present;
    if (c->op == OP_RANGE && c->vrc != VR_DATE && c->vrc != VR_TIME && c->vrc != VR_DT)
        return ferry_error_set(err, -EINVAL,
                               "'%s' needs a date or time attribute (DA, TM or DT); %s is %s",
                               op, c->name, c->vr);
    if (op_is_numeric(c->op) && c->vrc != VR_NUMBER)
        return ferry_error_set(err, -EINVAL,
                               "'%s' needs a numeric attribute (IS, DS, US, UL, SS, SL, FL, FD, "
                               "SV or UV); %s is %s",
                               op, c->name, c->vr);
    if (c->op == OP_BETWEEN && c->vrc != VR_NUMBER && c->vrc != VR_DATE &&
        c->vrc != VR_TIME && c->vrc != VR_DT)
        return ferry_error_set(err, -EINVAL,
                               "'between' needs a numeric, date or time attribute; %s is %s",
                               c->name, c->vr);
    return 0;

peer_ops:
    return ferry_error_set(err, -EINVAL, "peer takes address blocks ('in'), not '%s'", op);
only_present:
    return ferry_error_set(err, -EINVAL,
                           "%s is %s: its value cannot be compared, only 'present' works",
                           c->name, c->vr);
}

/* Check the number of operands and compile each. */
static int compile_values(struct route_rules *r, struct route_cond *c, const char *const *v,
                          size_t n, int *bad, struct ferry_error **err)
{
    const char *opname = c->opname ? c->opname : "value";
    bool many = c->op == OP_MATCH || c->op == OP_EQUALS || c->op == OP_WILDCARD ||
                c->op == OP_REGEX || c->op == OP_IN;
    if (n == 0 && !c->opname)
        return ferry_error_set(err, -EINVAL, "%s needs a value", c->name);
    if (n == 0)
        return ferry_error_set(err, -EINVAL, "%s: '%s' needs a value", c->name, opname);
    if (c->op == OP_BETWEEN && n != 2)
        return ferry_error_set(err, -EINVAL, "between takes two values, low and high");
    if (c->op != OP_BETWEEN && !many && n != 1)
        return ferry_error_set(err, -EINVAL, "'%s' takes one value, not a list", opname);
    c->text = calloc(n, sizeof *c->text);
    if (!c->text)
        return -ENOMEM;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        const char *s = v[i];
        size_t len = strlen(s);
        if (c->field == FIELD_CALLING_AE || c->field == FIELD_CALLED_AE) {
            /* Spaces around an AE title are not significant. */
            while (*s == ' ')
                s++, len--;
            while (len && s[len - 1] == ' ')
                len--;
        }
        c->text[i] = strndup(s, len);
        if (!c->text[i])
            return -ENOMEM;
    }

    int rc = 0;
    size_t i = 0;
    switch (c->op) {
    case OP_MATCH:
        c->wild = calloc(n, sizeof *c->wild);
        if (!c->wild)
            return -ENOMEM;
        for (i = 0; i < n; i++)
            c->wild[i] = strpbrk(c->text[i], "*?") != NULL;
        return 0;
    case OP_EQUALS:
    case OP_WILDCARD:
        return 0;
    case OP_REGEX:
        c->re = calloc(n, sizeof *c->re);
        if (!c->re)
            return -ENOMEM;
        for (i = 0; i < n; i++) {
            int e = regcomp(&c->re[i], c->text[i], REG_EXTENDED | REG_NOSUB);
            if (e != 0) {
                char msg[256];
                regerror(e, &c->re[i], msg, sizeof msg);
                /* regcomp left nothing to free; keep the array consistent
                 * for cond_release by compiling an empty expression. */
                regcomp(&c->re[i], "", REG_EXTENDED | REG_NOSUB);
                for (size_t j = i + 1; j < n; j++)
                    regcomp(&c->re[j], "", REG_EXTENDED | REG_NOSUB);
                rc = ferry_error_set(err, -EINVAL, "invalid regular expression '%s': %s",
                                     c->text[i], msg);
                goto bad_value;
            }
        }
        return 0;
    case OP_IN:
        c->cidr = calloc(n, sizeof *c->cidr);
        if (!c->cidr)
            return -ENOMEM;
        for (i = 0; i < n; i++) {
            rc = route_cidr_parse(c->text[i], &c->cidr[i], err);
            if (rc < 0)
                goto bad_value;
        }
        return 0;
    case OP_RANGE:
        if (strcmp(c->opname, "range") == 0) {
            rc = compile_range(c, c->text[0], err);
        } else {
            bool upper = strcmp(c->opname, "to") == 0;
            if (route_datetime_key(c->vrc, c->text[0], upper, upper ? c->hi : c->lo) < 0)
                rc = ferry_error_set(err, -EINVAL, "'%s' is not %s", c->text[0],
                                     vrc_what(c->vrc));
        }
        if (rc < 0)
            goto bad_value;
        return 0;
    case OP_BETWEEN:
        if (c->vrc != VR_NUMBER) {
            /* Dates and times: the inclusive range from low to high. */
            for (i = 0; i < 2; i++) {
                if (route_datetime_key(c->vrc, c->text[i], i == 1, i ? c->hi : c->lo) < 0) {
                    rc = ferry_error_set(err, -EINVAL, "'%s' is not %s", c->text[i],
                                         vrc_what(c->vrc));
                    goto bad_value;
                }
            }
            c->op = OP_RANGE;
            if (strcmp(c->lo, c->hi) > 0)
                return ferry_error_set(err, -EINVAL, "between: %s is after %s", c->text[0],
                                       c->text[1]);
            return 0;
        }
        __attribute__((fallthrough));
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
    case OP_EQ:
        for (i = 0; i < n; i++) {
            if (route_parse_number(r->c_locale, c->text[i], &c->num[i]) < 0) {
                rc = ferry_error_set(err, -EINVAL, "'%s' is not a number", c->text[i]);
                goto bad_value;
            }
        }
        if (c->op == OP_BETWEEN && c->num[0] > c->num[1])
            return ferry_error_set(err, -EINVAL, "between: %s is greater than %s",
                                   c->text[0], c->text[1]);
        return 0;
    case OP_PRESENT:
        if (strcmp(c->text[0], "true") == 0) {
            c->present = true;
        } else if (strcmp(c->text[0], "false") == 0) {
            c->present = false;
        } else {
            rc = ferry_error_set(err, -EINVAL, "present takes true or false, not '%s'",
                                 c->text[0]);
            goto bad_value;
        }
        return 0;
    }
    return 0;

bad_value:
    if (bad)
        *bad = (int)i;
    return rc;
}

static int new_node(struct route_rules *r, const struct route_node *node)
{
    if (r->n_nodes >= INT32_MAX)
        return -E2BIG;
    if (route_grow((void **)&r->nodes, &r->cap_nodes, r->n_nodes + 1, sizeof *r->nodes) < 0)
        return -ENOMEM;
    r->nodes[r->n_nodes] = *node;
    return (int)r->n_nodes++;
}

int route_rules_cond(struct route_rules *r, const char *field, const char *op,
                     const char *const *values, size_t n_values, int *bad_value,
                     struct ferry_error **err)
{
    struct route_cond c = { 0 };
    int rc;
    if (bad_value)
        *bad_value = ROUTE_BAD_OP;
    if (strcmp(field, "calling_ae") == 0) {
        c.field = FIELD_CALLING_AE;
    } else if (strcmp(field, "called_ae") == 0) {
        c.field = FIELD_CALLED_AE;
    } else if (strcmp(field, "peer") == 0) {
        c.field = FIELD_PEER;
    } else {
        c.field = FIELD_ATTR;
        if (bad_value)
            *bad_value = ROUTE_BAD_FIELD;
        if (!r->have_dict)
            return ferry_error_set(err, -ENOTSUP,
                                   "attribute '%s': no data dictionary to look keywords up in",
                                   field);
        if (r->dict.lookup(r->dict.ud, field, &c.tag, c.vr) < 0)
            return ferry_error_set(err, -EINVAL, "unknown attribute keyword '%s'", field);
        if (bad_value)
            *bad_value = ROUTE_BAD_OP;
        c.vr[2] = '\0';
        c.vrc = route_vr_class(c.vr);
    }
    c.name = strdup(field);
    c.opname = op ? strdup(op) : NULL;
    if (!c.name || (op && !c.opname)) {
        rc = ferry_error_set(err, -ENOMEM, "out of memory");
        goto out_release;
    }
    rc = check_op(&c, op, err);
    if (rc < 0)
        goto out_release;
    rc = compile_values(r, &c, values, n_values, bad_value, err);
    if (rc < 0) {
        ferry_error_set(err, rc, "out of memory"); /* no-op if already set */
        goto out_release;
    }
    if (route_grow((void **)&r->conds, &r->cap_conds, r->n_conds + 1, sizeof *r->conds) < 0) {
        rc = ferry_error_set(err, -ENOMEM, "out of memory");
        goto out_release;
    }
    struct route_node node = { .kind = NODE_COND, .depth = 1, .cond = (uint32_t)r->n_conds };
    rc = new_node(r, &node);
    if (rc < 0) {
        ferry_error_set(err, rc, "out of memory");
        goto out_release;
    }
    r->conds[r->n_conds++] = c;
    return rc;

out_release:
    cond_release(&c);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Groups and routes */

static int claim_node(struct route_rules *r, int id, struct ferry_error **err)
{
    if (id < 0 || (size_t)id >= r->n_nodes)
        return ferry_error_set(err, -EINVAL, "no condition with id %d", id);
    if (r->nodes[id].used)
        return ferry_error_set(err, -EINVAL, "condition %d is used twice", id);
    return 0;
}

int route_rules_group(struct route_rules *r, enum route_group kind, const int *children,
                      size_t n, struct ferry_error **err)
{
    static const enum route_node_kind kinds[] = { NODE_ALL, NODE_ANY, NODE_NOT };
    if ((unsigned)kind > ROUTE_NOT)
        return ferry_error_set(err, -EINVAL, "unknown group kind %d", (int)kind);
    if (kind == ROUTE_NOT && n != 1)
        return ferry_error_set(err, -EINVAL, "not takes exactly one condition");
    uint32_t depth = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = claim_node(r, children[i], err);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (children[j] == children[i])
                return ferry_error_set(err, -EINVAL, "condition %d is used twice",
                                       children[i]);
        if (r->nodes[children[i]].depth > depth)
            depth = r->nodes[children[i]].depth;
    }
    if (depth + 1 > ROUTE_MAX_DEPTH)
        return ferry_error_set(err, -E2BIG, "conditions nested deeper than %d levels",
                               ROUTE_MAX_DEPTH);
    if (route_grow((void **)&r->kids, &r->cap_kids, r->n_kids + n + 1, sizeof *r->kids) < 0)
        return ferry_error_set(err, -ENOMEM, "out of memory");
    struct route_node node = {
        .kind = kinds[kind],
        .depth = depth + 1,
        .first = (uint32_t)r->n_kids,
        .count = (uint32_t)n,
    };
    int id = new_node(r, &node);
    if (id < 0)
        return ferry_error_set(err, id, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r->kids[r->n_kids++] = (uint32_t)children[i];
        r->nodes[children[i]].used = true;
    }
    return id;
}

int route_rules_add(struct route_rules *r, const struct route_spec *s, struct ferry_error **err)
{
    static const char *const action_names[] = { "forward", "discard", "quarantine" };
    int rc;
    if (!s->name || !s->name[0])
        return ferry_error_set(err, -EINVAL, "a route needs a name");
    for (size_t i = 0; i < r->n_routes; i++)
        if (strcmp(r->routes[i].name, s->name) == 0)
            return ferry_error_set(err, -EINVAL, "a route named '%s' exists already", s->name);
    if (s->match != -1) {
        rc = claim_node(r, s->match, err);
        if (rc < 0)
            return rc;
    }
    if ((unsigned)s->action > ROUTE_QUARANTINE)
        return ferry_error_set(err, -EINVAL, "unknown action %d", (int)s->action);
    if (s->action == ROUTE_FORWARD && s->n_targets == 0)
        return ferry_error_set(err, -EINVAL, "route '%s' forwards to no destination", s->name);
    if (s->action != ROUTE_FORWARD && s->cont)
        return ferry_error_set(err, -EINVAL,
                               "route '%s': continue cannot follow %s (it ends the evaluation)",
                               s->name, action_names[s->action]);
    if (s->trigger == ROUTE_TRIGGER_STUDY_STABLE && s->stable_ms == 0)
        return ferry_error_set(err, -EINVAL, "route '%s': study-stable needs a time above 0",
                               s->name);
    for (size_t i = 0; i < s->n_targets && s->action == ROUTE_FORWARD; i++)
        if (s->targets[i].priority < ROUTE_PRIORITY_MIN ||
            s->targets[i].priority > ROUTE_PRIORITY_MAX)
            return ferry_error_set(err, -EINVAL, "priority %d is out of range (%d to %d)",
                                   (int)s->targets[i].priority, ROUTE_PRIORITY_MIN,
                                   ROUTE_PRIORITY_MAX);
    if (route_grow((void **)&r->routes, &r->cap_routes, r->n_routes + 1, sizeof *r->routes) < 0)
        return ferry_error_set(err, -ENOMEM, "out of memory");

    struct route_rule ru = {
        .match = s->match,
        .trigger = s->trigger,
        .stable_ms = s->trigger == ROUTE_TRIGGER_STUDY_STABLE ? s->stable_ms : 0,
        .action = s->action,
        .cont = s->cont,
    };
    size_t n = s->action == ROUTE_FORWARD ? s->n_targets : 1;
    ru.name = strdup(s->name);
    ru.actions = calloc(n, sizeof *ru.actions);
    if (!ru.name || !ru.actions)
        goto out_nomem;
    ru.n_actions = n;
    for (size_t i = 0; i < n; i++) {
        struct route_action *a = &ru.actions[i];
        a->kind = s->action;
        a->route = (uint32_t)r->n_routes;
        a->route_name = ru.name;
        a->trigger = ru.trigger;
        a->stable_ms = ru.stable_ms;
        a->destination = UINT32_MAX;
        a->pipeline = ROUTE_NO_PIPELINE;
        a->priority = ROUTE_PRIORITY_NORMAL;
        if (s->action != ROUTE_FORWARD)
            continue;
        const struct route_target *t = &s->targets[i];
        a->destination = t->destination;
        a->pipeline = t->pipeline;
        a->priority = t->priority;
        a->destination_name = strdup(t->destination_name ? t->destination_name : "");
        if (!a->destination_name)
            goto out_nomem;
        if (t->pipeline_name) {
            a->pipeline_name = strdup(t->pipeline_name);
            if (!a->pipeline_name)
                goto out_nomem;
        }
    }
    if (s->match != -1)
        r->nodes[s->match].used = true;
    r->routes[r->n_routes++] = ru;
    return 0;

out_nomem:
    for (size_t i = 0; ru.actions && i < n; i++) {
        free((char *)ru.actions[i].destination_name);
        free((char *)ru.actions[i].pipeline_name);
    }
    free(ru.actions);
    free(ru.name);
    return ferry_error_set(err, -ENOMEM, "out of memory");
}
