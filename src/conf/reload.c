/* ferry — config: references, the running config of a daemon, reloads, and
 * small lookups other modules use. */
#include "conf/conf-private.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const struct conf *conf_ref(const struct conf *c)
{
    atomic_fetch_add_explicit(&conf_box_of(c)->refs, 1, memory_order_relaxed);
    return c;
}

static void box_free(struct conf_box *b)
{
    if (b->release_step) {
        for (size_t i = 0; i < b->pub.n_pipelines; i++) {
            const struct conf_pipeline *pl = &b->pipes[i];
            for (size_t j = 0; j < pl->n_steps; j++)
                if (pl->steps[j].state)
                    b->release_step(b->step_ud, &pl->steps[j], pl->steps[j].state);
        }
    }
    route_rules_free(b->rules);
    free(b->dests);
    free(b->pipes);
    conf_arena_free(&b->arena);
    free(b);
}

void conf_unref(const struct conf *c)
{
    if (!c)
        return;
    struct conf_box *b = conf_box_of(c);
    /* Release: our writes before the drop; acquire: the freeing thread sees
     * everyone else's. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        box_free(b);
}

/* ---------------------------------------------------------------------------
 * Settings that need a restart */

static void format_value(const struct conf_key *k, const void *field, char *buf, size_t size)
{
    if (k->type->format) {
        k->type->format(k, field, buf, size);
        return;
    }
    switch (k->type->store) {
    case CONF_S_STR:
        snprintf(buf, size, "'%s'", *(const char *const *)field);
        return;
    case CONF_S_UINT: {
        uint64_t v = k->size == 2 ? *(const uint16_t *)field
                   : k->size == 4 ? *(const uint32_t *)field
                                  : *(const uint64_t *)field;
        snprintf(buf, size, "%" PRIu64, v);
        return;
    }
    case CONF_S_BOOL:
        snprintf(buf, size, "%s", *(const bool *)field ? "true" : "false");
        return;
    case CONF_S_INT:
        snprintf(buf, size, "%d", *(const int *)field);
        return;
    case CONF_S_STRINGS: {
        const struct conf_strings *l = field;
        size_t used = (size_t)snprintf(buf, size, "[");
        for (size_t i = 0; i < l->n && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", l->v[i]);
        if (used < size)
            snprintf(buf + used, size - used, "]");
        return;
    }
    default:
        snprintf(buf, size, "?");
        return;
    }
}

static bool same_value(const struct conf_key *k, const void *a, const void *b)
{
    switch (k->type->store) {
    case CONF_S_STR:
        return strcmp(*(const char *const *)a, *(const char *const *)b) == 0;
    case CONF_S_STRINGS: {
        const struct conf_strings *x = a, *y = b;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0)
                return false;
        return true;
    }
    default:
        return memcmp(a, b, k->size) == 0;
    }
}

/* Copy the running value at `from` into next's field `to` (next's arena). */
static int copy_value(struct conf_box *next, const struct conf_key *k, void *to, const void *from)
{
    switch (k->type->store) {
    case CONF_S_STR: {
        char *s = conf_arena_strdup(&next->arena, *(const char *const *)from);
        if (!s)
            return -ENOMEM;
        *(const char **)to = s;
        return 0;
    }
    case CONF_S_STRINGS: {
        const struct conf_strings *src = from;
        struct conf_strings *dst = to;
        const char **v = conf_arena_alloc(&next->arena, (src->n + 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < src->n; i++)
            if (!(v[i] = conf_arena_strdup(&next->arena, src->v[i])))
                return -ENOMEM;
        dst->v = v;
        dst->n = src->n;
        return 0;
    }
    default:
        memcpy(to, from, k->size);
        return 0;
    }
}

static int keep_table(struct conf_box *next, const struct conf *running,
                      const struct conf_table *t, const char *prefix, conf_change_fn *fn,
                      void *ud)
{
    int count = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct conf_key *k = &t->keys[i];
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k->name);
        if (k->type == &conf_t_section) {
            int r = keep_table(next, running, k->arg, name, fn, ud);
            if (r < 0)
                return r;
            count += r;
            continue;
        }
        if (!(k->flags & CONF_RESTART))
            continue;
        void *to = (char *)&next->pub + k->offset;
        const void *from = (const char *)running + k->offset;
        if (same_value(k, to, from))
            continue;
        if (fn) {
            char a[512], b[512];
            format_value(k, from, a, sizeof a);
            format_value(k, to, b, sizeof b);
            fn(ud, name, a, b);
        }
        if (copy_value(next, k, to, from) < 0)
            return -ENOMEM;
        count++;
    }
    return count;
}

int conf_keep_restart_settings(const struct conf *next, const struct conf *running,
                               conf_change_fn *fn, void *ud)
{
    /* next is not shared yet: writing it is the loader finishing its job. */
    return keep_table(conf_box_of(next), running, &conf_schema_root, "", fn, ud);
}

/* ---------------------------------------------------------------------------
 * The holder */

struct conf_holder {
    pthread_mutex_t lock; /* guards cur; held only to copy a pointer */
    const struct conf *cur;
};

struct conf_holder *conf_holder_new(const struct conf *initial)
{
    struct conf_holder *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->cur = initial;
    return h;
}

void conf_holder_free(struct conf_holder *h)
{
    if (!h)
        return;
    conf_unref(h->cur);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

const struct conf *conf_holder_get(struct conf_holder *h)
{
    /* The lock makes "read the pointer, take a reference" one step: without
     * it a swap could free the config between the two. */
    pthread_mutex_lock(&h->lock);
    const struct conf *c = conf_ref(h->cur);
    pthread_mutex_unlock(&h->lock);
    return c;
}

void conf_holder_swap(struct conf_holder *h, const struct conf *next)
{
    pthread_mutex_lock(&h->lock);
    const struct conf *old = h->cur;
    h->cur = next;
    pthread_mutex_unlock(&h->lock);
    conf_unref(old);
}

int conf_holder_reload(struct conf_holder *h, const char *path, const struct conf_options *opts,
                       struct conf_errors **errors, conf_change_fn *fn, void *ud)
{
    const struct conf *next = conf_load(path, opts, errors);
    if (!next)
        return -EINVAL;
    const struct conf *running = conf_holder_get(h);
    int rc = conf_keep_restart_settings(next, running, fn, ud);
    conf_unref(running);
    if (rc < 0) {
        conf_unref(next);
        return rc;
    }
    conf_holder_swap(h, next);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Lookups */

bool conf_accept_calling_ae(const struct conf *c, const char *ae)
{
    const struct conf_strings *l = &c->accept.calling_ae_titles;
    char trimmed[17];
    if (l->n == 0)
        return true;
    while (*ae == ' ')
        ae++;
    size_t len = strlen(ae);
    while (len && ae[len - 1] == ' ')
        len--;
    if (len == 0 || len > 16)
        return false;
    memcpy(trimmed, ae, len);
    trimmed[len] = '\0';
    for (size_t i = 0; i < l->n; i++)
        if (route_wildcard_match(l->v[i], trimmed))
            return true;
    return false;
}

bool conf_accept_peer(const struct conf *c, const struct sockaddr *peer)
{
    const struct conf_cidrs *l = &c->accept.peers;
    if (l->n == 0)
        return true;
    for (size_t i = 0; i < l->n; i++)
        if (route_cidr_contains(&l->v[i], peer))
            return true;
    return false;
}

const struct conf_destination *conf_destination(const struct conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_destinations; i++)
        if (c->destinations[i].name && strcmp(c->destinations[i].name, name) == 0)
            return &c->destinations[i];
    return NULL;
}

const struct conf_pipeline *conf_pipeline(const struct conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_pipelines; i++)
        if (strcmp(c->pipelines[i].name, name) == 0)
            return &c->pipelines[i];
    return NULL;
}
