/* Shared by the codec suites: see codec_test.h. */
#include "codec_test.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Split "k=v" strings into ferry_params pointing into `store`. */
static void split_params(const char *const *params, unsigned n, struct ferry_param *out,
                         char (*store)[128])
{
    for (unsigned i = 0; i < n; i++) {
        snprintf(store[i], sizeof store[i], "%s", params[i]);
        char *eq = strchr(store[i], '=');
        ck_assert_msg(eq != NULL, "parameter %s has no '='", params[i]);
        *eq = 0;
        out[i].key = store[i];
        out[i].value = eq + 1;
    }
}

int ct_configure(const struct ct_codec *c, const char *const *params, unsigned n, void **state,
                 struct ferry_diag *diag)
{
    struct ferry_param p[8];
    char store[8][128];
    ck_assert_uint_le(n, 8);
    split_params(params, n, p, store);
    memset(diag, 0, sizeof *diag);
    diag->size = sizeof *diag;
    diag->param = -1;
    *state = NULL;
    if (!c->codec->configure)
        return 0;
    return c->codec->configure(n ? p : NULL, n, state, diag);
}

void ct_open(struct ct_codec *c, const char *plugin, const char *codec, const char *const *params,
             unsigned n)
{
    char err[512];
    memset(c, 0, sizeof *c);
    c->plugin = harness_load(harness_plugin_path(plugin), err, sizeof err);
    ck_assert_msg(c->plugin != NULL, "%s", err);
    c->codec = harness_codec(c->plugin, codec);
    ck_assert_msg(c->codec != NULL, "no codec %s in %s", codec, plugin);
    struct ferry_diag diag;
    int rc = ct_configure(c, params, n, &c->state, &diag);
    ck_assert_msg(rc == 0, "configure %s: %d %s", codec, rc, diag.message);
}

void ct_close(struct ct_codec *c)
{
    if (c->codec && c->codec->release)
        c->codec->release(c->state);
    harness_unload(c->plugin);
    memset(c, 0, sizeof *c);
}

const char *ct_geom_str(const struct ferry_frame *g)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%ux%u s%u %u/%u pr%u pc%u %.24s", g->rows, g->columns,
             g->samples_per_pixel, g->bits_allocated, g->bits_stored, g->pixel_representation,
             g->planar_configuration, g->photometric);
    return buf;
}

int ct_encode(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *in,
              struct ferry_encoded *enc, struct ferry_diag *diag)
{
    memset(enc, 0, sizeof *enc);
    enc->size = sizeof *enc;
    memset(diag, 0, sizeof *diag);
    diag->size = sizeof *diag;
    diag->param = -1;
    ck_assert_ptr_nonnull(c->codec->encode);
    int rc = c->codec->encode(c->state, harness_host(), g, in, harness_frame_size(g), enc, diag);
    if (rc == 0) {
        ck_assert_ptr_nonnull(enc->bytes);
        ck_assert_uint_gt(enc->length, 0);
        ck_assert_msg(enc->length % 2 == 0, "odd encoded length %zu", enc->length);
        ck_assert_uint_eq(enc->frame.size, sizeof enc->frame);
        ck_assert_str_eq(diag->message, "");
    } else {
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(diag->message[0] != 0, "error %d without a message", rc);
        ck_assert_ptr_null(enc->bytes);
    }
    return rc;
}

int ct_decode(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *in,
              size_t len, uint8_t **out, struct ferry_frame *og, struct ferry_diag *diag)
{
    size_t n = harness_frame_size(g);
    *out = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(*out);
    memset(*out, 0xA5, n); /* no byte may be left unwritten */
    *og = *g;
    memset(diag, 0, sizeof *diag);
    diag->size = sizeof *diag;
    diag->param = -1;
    int rc = c->codec->decode(c->state, g, in, len, *out, n, og, diag);
    if (rc == 0) {
        ck_assert_str_eq(diag->message, "");
        ck_assert_uint_eq(harness_frame_size(og), n);
    } else {
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(diag->message[0] != 0, "error %d without a message", rc);
        ck_assert_ptr_null(memchr(diag->message, '\n', strlen(diag->message)));
    }
    return rc;
}

static size_t bytes_per_sample(const struct ferry_frame *g) { return (g->bits_allocated + 7u) / 8u; }

int64_t ct_sample(const struct ferry_frame *g, const uint8_t *p, size_t i)
{
    size_t b = bytes_per_sample(g);
    uint64_t u = 0;
    for (size_t k = 0; k < b; k++)
        u |= (uint64_t)p[i * b + k] << (8 * k);
    uint64_t mask = ((uint64_t)1 << g->bits_stored) - 1;
    u &= mask;
    if (g->pixel_representation && (u >> (g->bits_stored - 1)) & 1)
        return (int64_t)u - ((int64_t)1 << g->bits_stored);
    return (int64_t)u;
}

uint8_t *ct_relayout(const struct ferry_frame *g, const uint8_t *in, uint16_t pc)
{
    size_t n = harness_frame_size(g);
    uint8_t *out = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(out);
    size_t spp = g->samples_per_pixel, b = bytes_per_sample(g);
    size_t pixels = (size_t)g->rows * g->columns;
    if (spp == 1 || g->planar_configuration == pc) {
        memcpy(out, in, n);
        return out;
    }
    for (size_t p = 0; p < pixels; p++)
        for (size_t s = 0; s < spp; s++) {
            size_t by_pixel = (p * spp + s) * b, by_plane = (s * pixels + p) * b;
            if (pc == 1)
                memcpy(out + by_plane, in + by_pixel, b);
            else
                memcpy(out + by_pixel, in + by_plane, b);
        }
    return out;
}

static bool same_but_planar(const struct ferry_frame *a, const struct ferry_frame *b)
{
    return a->rows == b->rows && a->columns == b->columns &&
           a->samples_per_pixel == b->samples_per_pixel &&
           a->bits_allocated == b->bits_allocated && a->bits_stored == b->bits_stored &&
           a->pixel_representation == b->pixel_representation;
}

bool ct_same_pixels(const struct ferry_frame *ga, const uint8_t *a, const struct ferry_frame *gb,
                    const uint8_t *b, char *why, size_t whylen)
{
    if (!same_but_planar(ga, gb)) {
        snprintf(why, whylen, "geometry %s", ct_geom_str(gb));
        return false;
    }
    uint8_t *bb = ct_relayout(gb, b, ga->planar_configuration);
    size_t n = harness_frame_size(ga);
    bool same = memcmp(a, bb, n) == 0;
    if (!same) {
        size_t i = 0;
        while (i < n && a[i] == bb[i])
            i++;
        size_t s = i / bytes_per_sample(ga);
        snprintf(why, whylen, "byte %zu of %zu differs (sample %zu: %lld vs %lld)", i, n, s,
                 (long long)ct_sample(ga, a, s), (long long)ct_sample(ga, bb, s));
    }
    free(bb);
    return same;
}

int64_t ct_max_abs_error(const struct ferry_frame *ga, const uint8_t *a,
                         const struct ferry_frame *gb, const uint8_t *b)
{
    ck_assert_msg(same_but_planar(ga, gb), "geometry %s", ct_geom_str(gb));
    uint8_t *bb = ct_relayout(gb, b, ga->planar_configuration);
    size_t count = (size_t)ga->rows * ga->columns * ga->samples_per_pixel;
    int64_t worst = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t d = ct_sample(ga, a, i) - ct_sample(ga, bb, i);
        if (d < 0)
            d = -d;
        if (d > worst)
            worst = d;
    }
    free(bb);
    return worst;
}

struct ct_worker {
    const struct ct_codec *c;
    struct ferry_frame g;
    unsigned id, iterations, mismatches;
};

/* No ck_assert here: Check's asserts are for the test's own thread. */
static void *ct_worker_main(void *arg)
{
    struct ct_worker *w = arg;
    for (unsigned i = 0; i < w->iterations; i++) {
        struct ferry_frame g = w->g;
        g.rows += i % 7; /* sizes change: scratch buffers grow */
        uint8_t *in = harness_synth_frame(&g, w->id * 1000 + i + 1, 1u << (g.bits_stored / 2));
        struct ferry_encoded e = {.size = sizeof e};
        struct ferry_diag d = {.size = sizeof d, .param = -1};
        size_t n = harness_frame_size(&g);
        uint8_t *out = malloc(n);
        struct ferry_frame og = g;
        if (!in || !out ||
            w->c->codec->encode(w->c->state, harness_host(), &g, in, n, &e, &d) != 0) {
            w->mismatches++;
        } else {
            og = e.frame;
            og.planar_configuration = g.planar_configuration;
            struct ferry_frame dg = og;
            char why[64];
            if (w->c->codec->decode(w->c->state, &dg, e.bytes, e.length, out, n, &og, &d) != 0 ||
                !ct_same_pixels(&g, in, &og, out, why, sizeof why))
                w->mismatches++;
        }
        free(e.bytes);
        free(out);
        free(in);
    }
    return NULL;
}

unsigned ct_threaded_roundtrips(const struct ct_codec *c, const struct ferry_frame *g,
                                unsigned threads, unsigned iterations)
{
    pthread_t tid[16];
    struct ct_worker w[16];
    ck_assert_uint_le(threads, 16);
    for (unsigned t = 0; t < threads; t++) {
        w[t] = (struct ct_worker){c, *g, t, iterations, 0};
        ck_assert_int_eq(pthread_create(&tid[t], NULL, ct_worker_main, &w[t]), 0);
    }
    unsigned bad = 0;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        bad += w[t].mismatches;
    }
    return bad;
}

struct harness_plugin *ct_load(const char *plugin)
{
    char err[512];
    struct harness_plugin *p = harness_load(harness_plugin_path(plugin), err, sizeof err);
    ck_assert_msg(p != NULL, "%s", err);
    return p;
}

const struct ferry_codec *ct_find(const struct harness_plugin *p, const char *key)
{
    const struct ferry_codec *c = harness_codec(p, key);
    ck_assert_msg(c != NULL, "codec %s missing", key);
    return c;
}

int ct_configure_with(const struct ferry_codec *c, const struct ferry_param *p, uint32_t n,
                      void **state, struct ferry_diag *diag)
{
    memset(diag, 0, sizeof *diag);
    diag->size = sizeof *diag;
    diag->param = -1;
    *state = NULL;
    return c->configure(p, n, state, diag);
}

int ct_decode_discard(const struct ferry_codec *c, void *state, const struct ferry_frame *g,
                      const uint8_t *in, size_t len, struct ferry_diag *diag)
{
    struct ferry_frame og;
    int rc;
    free(rt_decode_new(c, state, g, in, len, &og, diag, &rc));
    return rc;
}

void ct_check_param_cases(const struct harness_plugin *plug, const struct ct_param_case *cases,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct ct_param_case *pc = &cases[i];
        const struct ferry_codec *c = ct_find(plug, pc->codec);
        struct ferry_diag d;
        void *st;
        int rc = ct_configure_with(c, pc->p, pc->n, &st, &d);
        if (pc->at == -2) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, d.message);
        } else {
            ck_assert_msg(rc == -EINVAL, "case %zu: rc %d", i, rc);
            ck_assert_int_eq(d.param, pc->at);
            ck_assert_str_eq(d.message, pc->message);
        }
        c->release(st);
    }
}

void ct_expect_param_error(const struct ct_codec *c, const char *const *p, unsigned n,
                           int32_t param, const char *msg)
{
    void *st;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_configure(c, p, n, &st, &diag), -EINVAL);
    ck_assert_str_eq(diag.message, msg);
    ck_assert_int_eq(diag.param, param);
    ck_assert_ptr_null(st);
}

uint8_t *ct_encode_synth(const struct ct_codec *c, const struct ferry_frame *g, uint32_t seed,
                         unsigned noise, struct ferry_encoded *enc)
{
    uint8_t *in = harness_synth_frame(g, seed, noise);
    ck_assert_ptr_nonnull(in);
    struct ferry_diag diag;
    int rc = ct_encode(c, g, in, enc, &diag);
    ck_assert_msg(rc == 0, "%s: %s", ct_geom_str(g), diag.message);
    return in;
}

void ct_expect_decode_error(const struct ct_codec *c, const struct ferry_frame *g, const uint8_t *s,
                            size_t n, int code, const char *msg)
{
    uint8_t *out;
    struct ferry_frame og;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_decode(c, g, s, n, &out, &og, &diag), code);
    ck_assert_str_eq(diag.message, msg);
    free(out);
}

void ct_expect_encode_error(const struct ct_codec *c, const struct ferry_frame *g, int code,
                            const char *msg)
{
    uint8_t *in = harness_synth_frame(g, 1, 0);
    struct ferry_encoded enc;
    struct ferry_diag diag;
    ck_assert_int_eq(ct_encode(c, g, in, &enc, &diag), code);
    ck_assert_str_eq(diag.message, msg);
    free(in);
}

void ct_check_encode_cases(const struct ferry_codec *c, void *state, const uint8_t *buf,
                           const struct ct_encode_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ferry_encoded e = {.size = sizeof e};
        struct ferry_diag d;
        memset(&d, 0, sizeof d);
        size_t len = harness_frame_size(&cases[i].g);
        ck_assert_int_eq(c->encode(state, harness_host(), &cases[i].g, buf, len, &e, &d), -EINVAL);
        ck_assert_str_eq(d.message, cases[i].message);
        ck_assert_ptr_null(e.bytes);
    }
}

void ct_decode_truncations(const struct ct_codec *c, const struct ferry_frame *g,
                           const uint8_t *bytes, size_t upto, const char *prefix)
{
    for (size_t n = 0; n < upto; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, bytes, n);
        uint8_t *out;
        struct ferry_frame og;
        struct ferry_diag diag;
        int rc = ct_decode(c, g, cut, n, &out, &og, &diag);
        ck_assert_msg(rc < 0, "truncated to %zu of %zu bytes decoded", n, upto);
        if (prefix)
            ck_assert_msg(strncmp(diag.message, prefix, strlen(prefix)) == 0, "%s", diag.message);
        free(out);
        free(cut);
    }
}

unsigned ct_decode_mutations(const struct ct_codec *c, const struct ferry_frame *g,
                             const uint8_t *bytes, size_t len, uint32_t *rng, int iterations,
                             int max_flips)
{
    uint8_t *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    unsigned failed = 0;
    for (int i = 0; i < iterations; i++) {
        memcpy(bad, bytes, len);
        for (int f = 0; f < 1 + i % max_flips; f++) {
            *rng = *rng * 1103515245u + 12345u;
            bad[(*rng >> 8) % len] = (uint8_t)(*rng >> 20);
        }
        uint8_t *out;
        struct ferry_frame og;
        struct ferry_diag diag;
        failed += ct_decode(c, g, bad, len, &out, &og, &diag) != 0;
        free(out);
    }
    free(bad);
    return failed;
}

void ct_check_high_bits(const struct ferry_codec *c, void *state, const struct ferry_frame *g,
                        const uint8_t *dirty, const uint8_t *clean)
{
    size_t n = harness_frame_size(g);
    struct ferry_encoded e = {.size = sizeof e};
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    ck_assert_int_eq(c->encode(state, harness_host(), g, dirty, n, &e, &d), 0);
    uint8_t *out = malloc(n);
    struct ferry_frame og = e.frame;
    ck_assert_int_eq(c->decode(state, &e.frame, e.bytes, e.length, out, n, &og, &d), 0);
    ck_assert_msg(memcmp(out, clean, n) == 0, "signed=%u: high bits not normalised",
                  (unsigned)g->pixel_representation);
    harness_host()->free(e.bytes);
    free(out);
}

void ct_lossless_matrix(const struct rt_case *cases, size_t n, const struct ferry_codec *enc,
                        void *enc_state, const struct ferry_codec *dec, void *dec_state,
                        const char *label, ct_matrix_check_fn *check, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        char desc[128];
        const struct ferry_frame *g = &cases[i].g;
        rt_describe(g, cases[i].noise, desc, sizeof desc);
        uint8_t *frame = harness_synth_frame(g, cases[i].seed, cases[i].noise);
        struct rt_result r;
        uint8_t *cs = NULL;
        size_t len = 0;
        int rc = rt_run(enc, enc_state, dec, dec_state, g, frame, &r, &cs, &len);
        free(frame);
        ck_assert_msg(rc == 0, "%s %s: %s", label, desc, r.msg);
        ck_assert_msg(r.exact, "%s %s: not bit-exact (PSNR %.2f)", label, desc, r.psnr);
        ck_assert_msg(r.lossy == 0, "%s %s: lossless encode reported lossy", label, desc);
        if (check)
            check(ctx, &cases[i], desc, &r, cs, len);
        free(cs);
    }
}

void ct_ours_make(struct ct_ours *o, const struct ferry_codec *enc, void *enc_state,
                  const struct ferry_codec *dec, void *dec_state, const struct ferry_frame *g,
                  uint32_t seed, unsigned noise, const char *path)
{
    memset(o, 0, sizeof *o);
    rt_describe(g, noise, o->desc, sizeof o->desc);
    o->frame = harness_synth_frame(g, seed, noise);
    ck_assert_msg(rt_run(enc, enc_state, dec, dec_state, g, o->frame, &o->r, &o->cs, &o->len) == 0,
                  "%s: %s", o->desc, o->r.msg);
    ck_assert_int_eq(rt_write_file(path, o->cs, o->len), 0);
    o->want = rt_reference(dec, dec_state, g, o->frame, &o->r, o->cs, o->len, &o->og);
    ck_assert_msg(o->want != NULL, "%s: our decoder fails on our stream", o->desc);
}

void ct_ours_free(struct ct_ours *o)
{
    free(o->want);
    free(o->cs);
    free(o->frame);
}
