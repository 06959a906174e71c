/* A well-formed test plugin: two codecs ("test-invert", decode and encode of
 * a private syntax that stores each byte inverted; "test-lossy", a private
 * lossy syntax that clears the lowest bit of each byte, and with `fail: yes`
 * fails every frame) and one step ("test-mark", which sets Study
 * Description from its `text` parameter). */
#include <errno.h>
#include <ferry/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ferry_host *host;

static int invert_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t out_len,
                         struct ferry_frame *out_geom, struct ferry_diag *diag)
{
    (void)state; (void)in_geom; (void)out_geom;
    /* An odd frame comes with its fragment's pad byte. */
    if (in_len != out_len && !(out_len % 2 == 1 && in_len == out_len + 1)) {
        snprintf(diag->message, sizeof diag->message, "frame is %zu bytes, expected %zu",
                 in_len, out_len);
        return -EINVAL;
    }
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)~in[i];
    return 0;
}

static int invert_encode(void *state, const struct ferry_host *h, const struct ferry_frame *geom,
                         const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                         struct ferry_diag *diag)
{
    (void)state; (void)diag;
    out->bytes = h->alloc(in_len);
    if (!out->bytes)
        return -ENOMEM;
    for (size_t i = 0; i < in_len; i++)
        out->bytes[i] = (uint8_t)~in[i];
    out->length = in_len;
    out->frame = *geom;
    out->lossy = 0;
    return 0;
}

static const struct ferry_codec invert = {
    .size = sizeof(struct ferry_codec),
    .name = "test-invert",
    .transfer_syntax = "1.2.826.0.1.3680043.10.1.1",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE,
    .decode = invert_decode,
    .encode = invert_encode,
};

static int lossy_configure(const struct ferry_param *params, uint32_t n, void **state,
                           struct ferry_diag *diag)
{
    static int fail = 1;
    *state = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(params[i].key, "fail") != 0 || strcmp(params[i].value, "yes") != 0) {
            diag->param = (int32_t)i;
            snprintf(diag->message, sizeof diag->message, "only fail: yes is known");
            return -EINVAL;
        }
        *state = &fail;
    }
    return 0;
}

static int lossy_decode(void *state, const struct ferry_frame *in_geom, const uint8_t *in,
                        size_t in_len, uint8_t *out, size_t out_len,
                        struct ferry_frame *out_geom, struct ferry_diag *diag)
{
    (void)state; (void)in_geom; (void)out_geom;
    if (in_len != out_len && !(out_len % 2 == 1 && in_len == out_len + 1)) {
        snprintf(diag->message, sizeof diag->message, "frame is %zu bytes, expected %zu",
                 in_len, out_len);
        return -EINVAL;
    }
    memcpy(out, in, out_len);
    return 0;
}

static int lossy_encode(void *state, const struct ferry_host *h, const struct ferry_frame *geom,
                        const uint8_t *in, size_t in_len, struct ferry_encoded *out,
                        struct ferry_diag *diag)
{
    if (state) {
        snprintf(diag->message, sizeof diag->message, "failing on purpose");
        return -EIO;
    }
    out->bytes = h->alloc(in_len);
    if (!out->bytes)
        return -ENOMEM;
    for (size_t i = 0; i < in_len; i++)
        out->bytes[i] = in[i] & 0xFEu;
    out->length = in_len;
    out->frame = *geom;
    out->lossy = 1;
    return 0;
}

static const struct ferry_codec lossy = {
    .size = sizeof(struct ferry_codec),
    .name = "test-lossy",
    .transfer_syntax = "1.2.826.0.1.3680043.10.1.2",
    .flags = FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE | FERRY_CODEC_LOSSY,
    .configure = lossy_configure,
    .decode = lossy_decode,
    .encode = lossy_encode,
};

static int mark_configure(const struct ferry_host *h, const struct ferry_param *params,
                          uint32_t n, void **state, struct ferry_diag *diag)
{
    (void)h;
    const char *text = NULL;
    *state = NULL;
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(params[i].key, "text") != 0) {
            diag->param = (int32_t)i;
            snprintf(diag->message, sizeof diag->message, "unknown parameter '%s'",
                     params[i].key);
            return -EINVAL;
        }
        text = params[i].value;
    }
    if (!text) {
        snprintf(diag->message, sizeof diag->message, "parameter 'text' is required");
        return -EINVAL;
    }
    /* the parameters are borrowed for this call only */
    if (!(*state = strdup(text))) {
        snprintf(diag->message, sizeof diag->message, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void mark_release(void *state)
{
    free(state);
}

static int mark_run(void *state, const struct ferry_host *h, struct ferry_instance *inst,
                    struct ferry_diag *diag)
{
    (void)diag;
    return h->set_string(h->root(inst), FERRY_TAG(0x0008, 0x1030), NULL, state);
}

static const struct ferry_step mark = {
    .size = sizeof(struct ferry_step),
    .name = "test-mark",
    .configure = mark_configure,
    .release = mark_release,
    .run = mark_run,
};

static const struct ferry_codec *const codecs[] = { &invert, &lossy };
static const struct ferry_step *const steps[] = { &mark };

static const struct ferry_plugin plugin = {
    FERRY_PLUGIN_HEADER,
    .name = "test-good",
    .version = "1",
    .description = "the loader's well-formed test plugin",
    .codecs = codecs,
    .n_codecs = 2,
    .steps = steps,
    .n_steps = 1,
};

FERRY_PLUGIN_EXPORT const struct ferry_plugin *ferry_plugin_init(const struct ferry_host *h)
{
    host = h;
    return &plugin;
}
