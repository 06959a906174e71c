/* ferry — routing rules: evaluating them for an instance, and explaining the
 * outcome to a person. Evaluation runs on worker threads for every instance:
 * it reads the compiled rules only, and allocates nothing once the result's
 * buffers have grown to fit (glibc's regexec may allocate internally). */
#include "route/route-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Values longer than this are compared by their first ROUTE_MAX_VALUE-1
 * bytes (no routing decision needs more of a UT). */
#define ROUTE_MAX_VALUE (1u << 20)
/* At most this many values of a multi-valued attribute are looked at. */
#define ROUTE_MAX_VALUES 1024u

void route_result_init(struct route_result *res)
{
    memset(res, 0, sizeof *res);
}

void route_result_release(struct route_result *res)
{
    free(res->actions);
    free(res->scratch);
    memset(res, 0, sizeof *res);
}

/* ---------------------------------------------------------------------------
 * Fetching values */

/* Value `index` of the attribute into res->scratch, without trailing spaces.
 * Returns its length, or a negative errno (-ENOENT: absent). */
static int fetch(const struct route_ctx *ctx, uint32_t tag, uint32_t index,
                 struct route_result *res)
{
    if (!ctx->get)
        return -ENOENT;
    if (!res->scratch &&
        route_grow((void **)&res->scratch, &res->scratch_size, 256, 1) < 0)
        return -ENOMEM;
    for (;;) {
        int n = ctx->get(ctx->ud, tag, index, res->scratch, res->scratch_size);
        if (n < 0)
            return n;
        if ((size_t)n >= res->scratch_size) {
            size_t want = (size_t)n + 1 < ROUTE_MAX_VALUE ? (size_t)n + 1 : ROUTE_MAX_VALUE;
            if (want > res->scratch_size &&
                route_grow((void **)&res->scratch, &res->scratch_size, want, 1) == 0)
                continue;
            n = (int)res->scratch_size - 1; /* compare what fits */
        }
        res->scratch[n] = '\0';
        while (n > 0 && res->scratch[n - 1] == ' ')
            res->scratch[--n] = '\0';
        return n;
    }
}

/* An AE title from the context into scratch, without surrounding spaces.
 * Returns -ENOENT when the context has none. */
static int fetch_ae(const char *ae, struct route_result *res)
{
    if (!ae)
        return -ENOENT;
    while (*ae == ' ')
        ae++;
    size_t len = strlen(ae);
    while (len && ae[len - 1] == ' ')
        len--;
    if (route_grow((void **)&res->scratch, &res->scratch_size, len + 1, 1) < 0)
        return -ENOMEM;
    memcpy(res->scratch, ae, len);
    res->scratch[len] = '\0';
    return (int)len;
}

/* ---------------------------------------------------------------------------
 * Testing one value */

static bool value_test(const struct route_rules *r, const struct route_cond *c, const char *v)
{
    double x;
    char key[ROUTE_KEY_SIZE];
    switch (c->op) {
    case OP_MATCH:
        for (size_t i = 0; i < c->n; i++)
            if (c->wild[i] ? route_wildcard_match(c->text[i], v) : strcmp(c->text[i], v) == 0)
                return true;
        return false;
    case OP_EQUALS:
        for (size_t i = 0; i < c->n; i++)
            if (strcmp(c->text[i], v) == 0)
                return true;
        return false;
    case OP_WILDCARD:
        for (size_t i = 0; i < c->n; i++)
            if (route_wildcard_match(c->text[i], v))
                return true;
        return false;
    case OP_REGEX:
        for (size_t i = 0; i < c->n; i++)
            if (regexec(&c->re[i], v, 0, NULL, 0) == 0)
                return true;
        return false;
    case OP_RANGE:
        if (route_datetime_key(c->vrc, v, false, key) < 0)
            return false;
        return (!c->lo[0] || strcmp(key, c->lo) >= 0) && (!c->hi[0] || strcmp(key, c->hi) <= 0);
    case OP_LT:
        return route_parse_number(r->c_locale, v, &x) == 0 && x < c->num[0];
    case OP_LE:
        return route_parse_number(r->c_locale, v, &x) == 0 && x <= c->num[0];
    case OP_GT:
        return route_parse_number(r->c_locale, v, &x) == 0 && x > c->num[0];
    case OP_GE:
        return route_parse_number(r->c_locale, v, &x) == 0 && x >= c->num[0];
    case OP_EQ:
        return route_parse_number(r->c_locale, v, &x) == 0 && x == c->num[0];
    case OP_BETWEEN:
        return route_parse_number(r->c_locale, v, &x) == 0 && x >= c->num[0] &&
               x <= c->num[1];
    case OP_IN:
    case OP_PRESENT:
        break;
    }
    return false;
}

bool route_cond_test(const struct route_rules *r, const struct route_cond *c,
                     const struct route_ctx *ctx, struct route_result *res)
{
    switch (c->field) {
    case FIELD_PEER:
        for (size_t i = 0; i < c->n; i++)
            if (route_cidr_contains(&c->cidr[i], ctx->peer))
                return true;
        return false;
    case FIELD_CALLING_AE:
    case FIELD_CALLED_AE:
        if (fetch_ae(c->field == FIELD_CALLING_AE ? ctx->calling_ae : ctx->called_ae, res) < 0)
            return false;
        return value_test(r, c, res->scratch);
    case FIELD_ATTR:
        break;
    }
    if (c->op == OP_PRESENT && (c->vrc == VR_SEQ || c->vrc == VR_BULK))
        return (fetch(ctx, c->tag, 0, res) >= 0) == c->present;
    for (uint32_t i = 0; i < ROUTE_MAX_VALUES; i++) {
        int n = fetch(ctx, c->tag, i, res);
        if (n < 0)
            break;
        if (c->op == OP_PRESENT) {
            if (n > 0)
                return c->present;
        } else if (value_test(r, c, res->scratch)) {
            return true;
        }
    }
    return c->op == OP_PRESENT ? !c->present : false;
}

static bool eval_node(const struct route_rules *r, uint32_t id, const struct route_ctx *ctx,
                      struct route_result *res)
{
    const struct route_node *n = &r->nodes[id];
    const uint32_t *kid = r->kids + n->first;
    switch (n->kind) {
    case NODE_COND:
        return route_cond_test(r, &r->conds[n->cond], ctx, res);
    case NODE_ALL:
        for (uint32_t i = 0; i < n->count; i++)
            if (!eval_node(r, kid[i], ctx, res))
                return false;
        return true;
    case NODE_ANY:
        for (uint32_t i = 0; i < n->count; i++)
            if (eval_node(r, kid[i], ctx, res))
                return true;
        return false;
    case NODE_NOT:
        return !eval_node(r, kid[0], ctx, res);
    }
    return false;
}

static bool route_matches(const struct route_rules *r, const struct route_rule *ru,
                          const struct route_ctx *ctx, struct route_result *res)
{
    return ru->match < 0 || eval_node(r, (uint32_t)ru->match, ctx, res);
}

static int add_actions(struct route_result *res, const struct route_rule *ru)
{
    if (route_grow((void **)&res->actions, &res->cap_actions, res->n_actions + ru->n_actions,
                   sizeof *res->actions) < 0)
        return -ENOMEM;
    memcpy(res->actions + res->n_actions, ru->actions, ru->n_actions * sizeof *ru->actions);
    res->n_actions += ru->n_actions;
    res->matched++;
    return 0;
}

int route_eval(const struct route_rules *r, const struct route_ctx *ctx,
               struct route_result *res)
{
    res->n_actions = 0;
    res->matched = 0;
    for (size_t i = 0; i < r->n_routes; i++) {
        const struct route_rule *ru = &r->routes[i];
        if (!route_matches(r, ru, ctx, res))
            continue;
        if (add_actions(res, ru) < 0) {
            res->n_actions = 0;
            return -ENOMEM;
        }
        if (!ru->cont)
            break;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Explaining */

/* Print s quoted, with control characters shown as '?'. */
static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
    fputc('"', out);
}

static void put_values(FILE *out, const struct route_cond *c, bool quoted, const char *sep)
{
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            fputs(sep, out);
        if (quoted)
            put_quoted(out, c->text[i]);
        else
            fputs(c->text[i], out);
    }
}

static void put_cond(FILE *out, const struct route_cond *c)
{
    fprintf(out, "%s ", c->name);
    switch (c->op) {
    case OP_MATCH:
        fputs("matches ", out);
        put_values(out, c, true, " or ");
        break;
    case OP_EQUALS:
        fputs("equals ", out);
        put_values(out, c, true, " or ");
        break;
    case OP_WILDCARD:
        fputs("matches wildcard ", out);
        put_values(out, c, true, " or ");
        break;
    case OP_REGEX:
        fputs("matches regex ", out);
        put_values(out, c, true, " or ");
        break;
    case OP_IN:
        fputs("in ", out);
        put_values(out, c, false, " or ");
        break;
    case OP_RANGE:
        if (strcmp(c->opname, "range") == 0)
            fputs("in range ", out);
        else
            fprintf(out, "%s ", c->opname);
        put_values(out, c, false, " and ");
        break;
    case OP_BETWEEN:
        fputs("between ", out);
        put_values(out, c, false, " and ");
        break;
    case OP_PRESENT:
        fputs(c->present ? "is present" : "is absent", out);
        break;
    default:
        fprintf(out, "%s ", c->opname);
        put_values(out, c, false, "");
        break;
    }
}

/* What the condition saw: " (Modality = \"MR\")". */
static void put_actual(FILE *out, const struct route_cond *c, const struct route_ctx *ctx,
                       struct route_result *res)
{
    char addr[64];
    switch (c->field) {
    case FIELD_PEER:
        if (!ctx->peer) {
            fputs(" (peer not given)", out);
            return;
        }
        route_addr_format(ctx->peer, addr, sizeof addr);
        fprintf(out, " (peer = %s)", addr);
        return;
    case FIELD_CALLING_AE:
    case FIELD_CALLED_AE:
        if (fetch_ae(c->field == FIELD_CALLING_AE ? ctx->calling_ae : ctx->called_ae, res) < 0) {
            fprintf(out, " (%s not given)", c->name);
            return;
        }
        fprintf(out, " (%s = ", c->name);
        put_quoted(out, res->scratch);
        fputc(')', out);
        return;
    case FIELD_ATTR:
        break;
    }
    if (c->vrc == VR_SEQ || c->vrc == VR_BULK) {
        int n = fetch(ctx, c->tag, 0, res);
        fprintf(out, " (%s is %s)", c->name, n >= 0 ? "present" : "absent");
        return;
    }
    uint32_t i;
    for (i = 0; i < ROUTE_MAX_VALUES; i++) {
        int n = fetch(ctx, c->tag, i, res);
        if (n < 0 && n != -ENOENT && i == 0) {
            fprintf(out, " (%s could not be read: %s)", c->name, strerror(-n));
            return;
        }
        if (n < 0)
            break;
        if (i == 16) {
            fputs("\\...", out);
            i++;
            break;
        }
        fprintf(out, i == 0 ? " (%s = \"" : "\\", c->name);
        for (const char *s = res->scratch; *s; s++)
            fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
    }
    if (i == 0)
        fprintf(out, " (%s is absent)", c->name);
    else
        fputs("\")", out);
}

static void explain_node(const struct route_rules *r, uint32_t id, const struct route_ctx *ctx,
                         struct route_result *res, FILE *out, int indent)
{
    static const char *const group_names[] = { "", "all of", "any of", "not" };
    const struct route_node *n = &r->nodes[id];
    bool ok = eval_node(r, id, ctx, res);
    fprintf(out, "%*s", indent, "");
    if (n->kind == NODE_COND) {
        const struct route_cond *c = &r->conds[n->cond];
        put_cond(out, c);
        fprintf(out, ": %s", ok ? "true" : "false");
        put_actual(out, c, ctx, res);
        fputc('\n', out);
        return;
    }
    fprintf(out, "%s: %s\n", group_names[n->kind], ok ? "true" : "false");
    for (uint32_t i = 0; i < n->count; i++)
        explain_node(r, r->kids[n->first + i], ctx, res, out, indent + 2);
}

static void put_priority(FILE *out, int32_t p)
{
    static const char *const names[] = { "low", "normal", "high", "urgent" };
    if (p > 0 && p % 25 == 0)
        fprintf(out, "priority %d (%s)", (int)p, names[p / 25 - 1]);
    else
        fprintf(out, "priority %d", (int)p);
}

static void put_action(FILE *out, const struct route_action *a)
{
    char d[32];
    switch (a->kind) {
    case ROUTE_FORWARD:
        fprintf(out, "forward to '%s', ", a->destination_name);
        if (a->pipeline_name)
            fprintf(out, "pipeline '%s', ", a->pipeline_name);
        else
            fputs("as stored, ", out);
        put_priority(out, a->priority);
        if (a->trigger == ROUTE_TRIGGER_STUDY_STABLE) {
            route_format_duration(a->stable_ms, d, sizeof d);
            fprintf(out, ", once the study has been stable for %s", d);
        } else {
            fputs(", on arrival", out);
        }
        break;
    case ROUTE_DISCARD:
        fputs("discard", out);
        break;
    case ROUTE_QUARANTINE:
        fprintf(out, "quarantine, reason: route '%s'", a->route_name);
        break;
    }
}

int route_explain(const struct route_rules *r, const struct route_ctx *ctx,
                  struct route_result *res, FILE *out)
{
    size_t stopped_at = SIZE_MAX;
    res->n_actions = 0;
    res->matched = 0;
    for (size_t i = 0; i < r->n_routes; i++) {
        const struct route_rule *ru = &r->routes[i];
        fprintf(out, "route %zu '%s': ", i + 1, ru->name);
        if (stopped_at != SIZE_MAX) {
            fprintf(out, "not evaluated (route %zu '%s' stopped the evaluation)\n",
                    stopped_at + 1, r->routes[stopped_at].name);
            continue;
        }
        bool ok = route_matches(r, ru, ctx, res);
        fputs(ok ? "match\n" : "no match\n", out);
        if (ru->match < 0)
            fputs("  (no conditions: every instance matches)\n", out);
        else
            explain_node(r, (uint32_t)ru->match, ctx, res, out, 2);
        if (!ok)
            continue;
        for (size_t j = 0; j < ru->n_actions; j++) {
            fputs("  -> ", out);
            put_action(out, &ru->actions[j]);
            fputc('\n', out);
        }
        if (add_actions(res, ru) < 0) {
            res->n_actions = 0;
            return -ENOMEM;
        }
        if (ru->cont) {
            fputs("  continue with the next route\n", out);
        } else {
            fputs("  stop: later routes are not evaluated\n", out);
            stopped_at = i;
        }
    }
    if (res->n_actions == 0) {
        fputs("result: no route matched; the instance is only stored\n", out);
        return 0;
    }
    fprintf(out, "result: %zu action%s\n", res->n_actions, res->n_actions == 1 ? "" : "s");
    for (size_t j = 0; j < res->n_actions; j++) {
        fputs("  ", out);
        put_action(out, &res->actions[j]);
        fprintf(out, " (route '%s')\n", res->actions[j].route_name);
    }
    return 0;
}
