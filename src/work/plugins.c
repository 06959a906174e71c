/* ferry — work: the plugin loader. */
#include "work/plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loaded {
    void *handle;
    const struct ferry_plugin *desc;
    char *path;
    void **decode_states; /* per codec of desc: its state for decoding */
};

struct work_registry {
    struct loaded *plugins;
    size_t n, cap;
};

/* The smallest structs a 1.0 plugin can hand us: everything up to the last
 * member that 1.0 defined. A plugin of a later minor hands bigger ones. */
#define END_OF(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define PLUGIN_MIN_SIZE END_OF(struct ferry_plugin, unload)
#define CODEC_MIN_SIZE END_OF(struct ferry_codec, encode)
#define STEP_MIN_SIZE END_OF(struct ferry_step, run)

static const struct ferry_codec *find_codec(const struct work_registry *reg, const char *name,
                                            unsigned flags)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct ferry_plugin *p = reg->plugins[i].desc;
        for (uint32_t k = 0; k < p->n_codecs; k++) {
            const struct ferry_codec *c = p->codecs[k];
            if ((c->flags & flags) != flags)
                continue;
            if (strcmp(c->name, name) == 0 || strcmp(c->transfer_syntax, name) == 0)
                return c;
        }
    }
    return NULL;
}

static const struct ferry_codec *find_codec_name(const struct work_registry *reg,
                                                 const char *name)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct ferry_plugin *p = reg->plugins[i].desc;
        for (uint32_t k = 0; k < p->n_codecs; k++)
            if (strcmp(p->codecs[k]->name, name) == 0)
                return p->codecs[k];
    }
    return NULL;
}

/* Check what a plugin describes before anything of it is used. */
static int check_desc(const struct work_registry *reg, const struct ferry_plugin *d,
                      const char *path, struct ferry_error **err)
{
    if (d->size < PLUGIN_MIN_SIZE)
        return ferry_error_set(err, -EINVAL,
                               "plugin %s: its description is %u bytes, older than plugin ABI "
                               "1.0 allows (%zu); rebuild it",
                               path, d->size, (size_t)PLUGIN_MIN_SIZE);
    if (d->abi_major != FERRY_PLUGIN_ABI_MAJOR)
        return ferry_error_set(err, -ENOTSUP,
                               "plugin %s (%s): built for plugin ABI %u.%u, this ferry has "
                               "%d.%d; rebuild it against this ferry's plugin.h",
                               path, d->name ? d->name : "?", d->abi_major, d->abi_minor,
                               FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR);
    if (!d->name || !*d->name)
        return ferry_error_set(err, -EINVAL, "plugin %s: it has no name", path);
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->plugins[i].desc->name, d->name) == 0)
            return ferry_error_set(err, -EEXIST,
                                   "plugin %s: a plugin named '%s' is already loaded from %s",
                                   path, d->name, reg->plugins[i].path);
    if ((d->n_codecs && !d->codecs) || (d->n_steps && !d->steps))
        return ferry_error_set(err, -EINVAL, "plugin %s (%s): codec or step list missing",
                               path, d->name);
    for (uint32_t k = 0; k < d->n_codecs; k++) {
        const struct ferry_codec *c = d->codecs[k];
        if (!c || c->size < CODEC_MIN_SIZE || !c->name || !c->transfer_syntax)
            return ferry_error_set(err, -EINVAL, "plugin %s (%s): codec %u is malformed", path,
                                   d->name, k);
        if (((c->flags & FERRY_CODEC_DECODE) && !c->decode) ||
            ((c->flags & FERRY_CODEC_ENCODE) && !c->encode))
            return ferry_error_set(err, -EINVAL,
                                   "plugin %s (%s): codec '%s' lacks the function its flags "
                                   "promise",
                                   path, d->name, c->name);
        const struct ferry_codec *other = find_codec_name(reg, c->name);
        if (other)
            return ferry_error_set(err, -EEXIST,
                                   "plugin %s (%s): a codec named '%s' is already loaded", path,
                                   d->name, c->name);
    }
    for (uint32_t k = 0; k < d->n_steps; k++) {
        const struct ferry_step *s = d->steps[k];
        if (!s || s->size < STEP_MIN_SIZE || !s->name || !s->run)
            return ferry_error_set(err, -EINVAL, "plugin %s (%s): step %u is malformed", path,
                                   d->name, k);
        if (work_registry_step(reg, s->name))
            return ferry_error_set(err, -EEXIST,
                                   "plugin %s (%s): a step named '%s' is already loaded", path,
                                   d->name, s->name);
    }
    return 0;
}

static void release_states(const struct ferry_plugin *d, void **states)
{
    for (uint32_t k = 0; k < d->n_codecs; k++)
        if (states[k] && d->codecs[k]->release)
            d->codecs[k]->release(states[k]);
    free(states);
}

static int load_one(struct work_registry *reg, const char *path, const struct ferry_host *host,
                    struct ferry_error **err)
{
    int rc;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return ferry_error_set(err, -ENOENT, "plugin %s: cannot load: %s", path, dlerror());
    const struct ferry_plugin *(*init)(const struct ferry_host *);
    *(void **)&init = dlsym(h, FERRY_PLUGIN_ENTRY);
    if (!init) {
        rc = ferry_error_set(err, -EINVAL, "plugin %s: no %s() entry point; not a ferry plugin",
                             path, FERRY_PLUGIN_ENTRY);
        goto out_close;
    }
    const struct ferry_plugin *d = init(host);
    if (!d) {
        rc = ferry_error_set(err, -EIO, "plugin %s: %s() failed (see the lines above)", path,
                             FERRY_PLUGIN_ENTRY);
        goto out_close;
    }
    if ((rc = check_desc(reg, d, path, err)) < 0)
        goto out_unload;
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? 2 * reg->cap : 8;
        struct loaded *p = realloc(reg->plugins, cap * sizeof *p);
        if (!p) {
            rc = ferry_error_set(err, -ENOMEM, "plugin %s: out of memory", path);
            goto out_unload;
        }
        reg->plugins = p;
        reg->cap = cap;
    }
    char *copy = strdup(path);
    void **states = calloc(d->n_codecs ? d->n_codecs : 1, sizeof *states);
    if (!copy || !states) {
        free(copy);
        free(states);
        rc = ferry_error_set(err, -ENOMEM, "plugin %s: out of memory", path);
        goto out_unload;
    }
    /* Decoders take no parameters: configure each once, now. */
    for (uint32_t k = 0; k < d->n_codecs; k++) {
        const struct ferry_codec *c = d->codecs[k];
        if (!(c->flags & FERRY_CODEC_DECODE) || !c->configure)
            continue;
        struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
        if (c->configure(NULL, 0, &states[k], &diag) < 0) {
            rc = ferry_error_set(err, -EINVAL, "plugin %s (%s): codec '%s' cannot be set up "
                                 "for decoding: %s", path, d->name, c->name, diag.message);
            release_states(d, states);
            free(copy);
            goto out_unload;
        }
    }
    reg->plugins[reg->n++] = (struct loaded){ h, d, copy, states };
    return 0;

out_unload:
    /* Only a description that passed the size check may be trusted for
     * unload(). */
    if (d->size >= PLUGIN_MIN_SIZE && d->abi_major == FERRY_PLUGIN_ABI_MAJOR && d->unload)
        d->unload();
out_close:
    dlclose(h);
    return rc;
}

struct work_registry *work_registry_load(const char *dir, const char *const *names,
                                         size_t n_names, const struct ferry_host *host,
                                         struct ferry_error **err)
{
    struct work_registry *reg = calloc(1, sizeof *reg);
    if (!reg) {
        ferry_error_set(err, -ENOMEM, "plugins: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n_names; i++) {
        char path[4096];
        if (strchr(names[i], '/'))
            snprintf(path, sizeof path, "%s", names[i]);
        else
            snprintf(path, sizeof path, "%s/%s.so", dir, names[i]);
        if (load_one(reg, path, host, err) < 0) {
            work_registry_free(reg);
            return NULL;
        }
    }
    return reg;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_plugin_file(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 3 && strcmp(e->d_name + n - 3, ".so") == 0;
}

struct work_registry *work_registry_load_all(const char *dir, const struct ferry_host *host,
                                             struct ferry_error **err)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_plugin_file, by_name);
    if (n < 0) {
        ferry_error_set(err, -errno, "plugins: cannot read the folder %s: %s", dir,
                        strerror(errno));
        return NULL;
    }
    const char **names = calloc((size_t)n + 1, sizeof *names);
    char (*paths)[4096] = calloc((size_t)n + 1, sizeof *paths);
    struct work_registry *reg = NULL;
    if (!names || !paths) {
        ferry_error_set(err, -ENOMEM, "plugins: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, list[i]->d_name);
        names[i] = paths[i];
    }
    reg = work_registry_load(dir, names, (size_t)n, host, err);
out:
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    free(names);
    free(paths);
    return reg;
}

void work_registry_free(struct work_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = reg->n; i-- > 0;) {
        release_states(reg->plugins[i].desc, reg->plugins[i].decode_states);
        if (reg->plugins[i].desc->unload)
            reg->plugins[i].desc->unload();
        dlclose(reg->plugins[i].handle);
        free(reg->plugins[i].path);
    }
    free(reg->plugins);
    free(reg);
}

size_t work_registry_count(const struct work_registry *reg)
{
    return reg->n;
}

const struct ferry_plugin *work_registry_plugin(const struct work_registry *reg, size_t i)
{
    return i < reg->n ? reg->plugins[i].desc : NULL;
}

const struct ferry_codec *work_registry_codec(const struct work_registry *reg,
                                              const char *name, unsigned flags)
{
    return find_codec(reg, name, flags);
}

const struct ferry_codec *work_registry_decoder(const struct work_registry *reg, const char *uid,
                                                const struct ferry_codec *after, void **state)
{
    bool passed = after == NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const struct ferry_plugin *p = reg->plugins[i].desc;
        for (uint32_t k = 0; k < p->n_codecs; k++) {
            const struct ferry_codec *c = p->codecs[k];
            if (!passed) {
                passed = c == after;
                continue;
            }
            if ((c->flags & FERRY_CODEC_DECODE) && strcmp(c->transfer_syntax, uid) == 0) {
                *state = reg->plugins[i].decode_states[k];
                return c;
            }
        }
    }
    return NULL;
}

const struct ferry_step *work_registry_step(const struct work_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct ferry_plugin *p = reg->plugins[i].desc;
        for (uint32_t k = 0; k < p->n_steps; k++)
            if (strcmp(p->steps[k]->name, name) == 0)
                return p->steps[k];
    }
    return NULL;
}
