/* Test support: see codec_roundtrip.h. */
#include "codec_roundtrip.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct ferry_frame rt_geom(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t ba, uint16_t bs,
                           uint16_t sgn, uint16_t planar, const char *pi)
{
    struct ferry_frame g = {
        .size = sizeof g,
        .rows = rows,
        .columns = cols,
        .samples_per_pixel = spp,
        .bits_allocated = ba,
        .bits_stored = bs,
        .high_bit = (uint16_t)(bs - 1),
        .pixel_representation = sgn,
        .planar_configuration = planar,
    };
    snprintf(g.photometric, sizeof g.photometric, "%s", pi);
    return g;
}

size_t rt_matrix_of(const struct rt_matrix_spec *spec, struct rt_case *out, size_t max)
{
    static const uint32_t sizes[][2] = {{1, 1}, {3, 5}, {511, 257}};
    size_t n = 0;
    uint32_t seed = spec->first_seed;
    for (size_t b = 0; b < spec->n_bits; b++) {
        uint16_t ba = spec->bits[b][0], bs = spec->bits[b][1];
        for (uint16_t sgn = 0; sgn < 2; sgn++)
            for (size_t lay = 0; lay < spec->n_layouts; lay++) {
                const struct rt_layout *l = &spec->layouts[lay];
                if (sgn && l->spp == 3 && !spec->signed_colour)
                    continue;
                for (size_t s = 0; s < 3; s++)
                    for (int hi = 0; hi < 2; hi++) {
                        if (n >= max)
                            return n;
                        struct rt_case *c = &out[n++];
                        c->g = rt_geom(sizes[s][0], sizes[s][1], l->spp, ba, bs, sgn, l->planar,
                                       l->pi);
                        c->noise = hi ? (1u << (bs > 24 ? 24 : bs)) / 4 : 0;
                        c->seed = seed++;
                    }
            }
    }
    return n;
}

size_t rt_matrix(struct rt_case *out, size_t max, unsigned flags)
{
    static const uint16_t all_bits[][2] = {{8, 8}, {16, 12}, {16, 16}};
    static const struct rt_layout layouts[] = {
        {1, 0, "MONOCHROME2"}, {1, 0, "MONOCHROME1"}, {3, 0, "RGB"}, {3, 1, "RGB"}, {3, 0, "YBR_FULL"},
    };
    uint16_t bits[3][2];
    size_t n_bits = 0;
    for (size_t b = 0; b < 3; b++)
        if (!((flags & RT_NO_16_16) && all_bits[b][1] == 16)) {
            bits[n_bits][0] = all_bits[b][0];
            bits[n_bits++][1] = all_bits[b][1];
        }
    struct rt_matrix_spec spec = {
        (const uint16_t(*)[2])bits, n_bits, layouts, sizeof layouts / sizeof layouts[0],
        (flags & RT_SIGNED_COLOUR) != 0, 7,
    };
    return rt_matrix_of(&spec, out, max);
}

const char *rt_describe(const struct ferry_frame *g, unsigned noise, char *buf, size_t len)
{
    snprintf(buf, len, "%u/%u %s %s%s %ux%u noise %u", (unsigned)g->bits_allocated,
             (unsigned)g->bits_stored, g->pixel_representation ? "signed" : "unsigned",
             g->photometric,
             g->samples_per_pixel > 1 ? (g->planar_configuration ? " planar 1" : " planar 0") : "",
             (unsigned)g->rows, (unsigned)g->columns, noise);
    return buf;
}

uint8_t *rt_interleaved(const struct ferry_frame *g, const uint8_t *frame)
{
    size_t n = harness_frame_size(g);
    uint8_t *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    if (g->samples_per_pixel == 1 || g->planar_configuration == 0) {
        memcpy(out, frame, n);
        return out;
    }
    size_t plane = (size_t)g->rows * g->columns;
    unsigned b = (g->bits_allocated + 7u) / 8u, s = g->samples_per_pixel;
    for (size_t i = 0; i < plane; i++)
        for (unsigned c = 0; c < s; c++)
            memcpy(out + (i * s + c) * b, frame + (c * plane + i) * b, b);
    return out;
}

int rt_run(const struct ferry_codec *enc, void *enc_state, const struct ferry_codec *dec,
           void *dec_state, const struct ferry_frame *g, const uint8_t *frame,
           struct rt_result *res, uint8_t **coded_out, size_t *coded_len)
{
    const struct ferry_host *host = harness_host();
    memset(res, 0, sizeof *res);
    size_t n = harness_frame_size(g);
    res->raw_bytes = n;
    struct ferry_encoded e = {.size = sizeof e};
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    int rc = enc->encode(enc_state, host, g, frame, n, &e, &d);
    if (rc != 0) {
        snprintf(res->msg, sizeof res->msg, "encode failed (%d): %s", rc, d.message);
        return -1;
    }
    if (!e.bytes || e.length == 0) {
        snprintf(res->msg, sizeof res->msg, "encode returned no bytes");
        return -1;
    }
    res->coded_bytes = e.length;
    res->coded = e.frame;
    res->lossy = e.lossy;
    if (coded_out) {
        *coded_out = malloc(e.length);
        if (*coded_out)
            memcpy(*coded_out, e.bytes, e.length);
        *coded_len = e.length;
    }
    uint8_t *outbuf = malloc(n ? n : 1);
    uint8_t *expect = rt_interleaved(g, frame);
    int ret = -1;
    if (!outbuf || !expect) {
        snprintf(res->msg, sizeof res->msg, "out of memory");
        goto out;
    }
    memset(outbuf, 0xA5, n);
    struct ferry_frame in_geom = e.frame;
    res->decoded = e.frame;
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.param = -1;
    rc = dec->decode(dec_state, &in_geom, e.bytes, e.length, outbuf, n, &res->decoded, &d);
    if (rc != 0) {
        snprintf(res->msg, sizeof res->msg, "decode failed (%d): %s", rc, d.message);
        goto out;
    }
    struct ferry_frame cmp = *g;
    cmp.planar_configuration = 0;
    res->exact = memcmp(outbuf, expect, n) == 0;
    res->psnr = res->exact ? INFINITY : harness_psnr(&cmp, expect, outbuf);
    ret = 0;
out:
    host->free(e.bytes);
    free(outbuf);
    free(expect);
    return ret;
}

uint8_t *rt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

int rt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    size_t k = fwrite(data, 1, len, f);
    int rc = (k == len && fclose(f) == 0) ? 0 : -EIO;
    if (k != len)
        fclose(f);
    return rc;
}

const char *rt_tempdir(const char *tag)
{
    static char path[4096];
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ferry-%s-XXXXXX", t && *t ? t : "/tmp", tag);
    if (!mkdtemp(path))
        return NULL;
    return path;
}

int rt_system(int timeout_s, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char secs[16];
    snprintf(secs, sizeof secs, "%d", timeout_s);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl("/usr/bin/timeout", "timeout", "-k", "5", secs, "/bin/sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

bool rt_have(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char buf[4096];
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0)
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static size_t sample_bytes(const struct ferry_frame *g)
{
    return (g->bits_allocated + 7u) / 8u;
}

int rt_write_planar_raw(const char *path, const struct ferry_frame *g, const uint8_t *frame)
{
    size_t n = harness_frame_size(g);
    uint8_t *planar = malloc(n ? n : 1);
    if (!planar)
        return -ENOMEM;
    size_t plane = (size_t)g->rows * g->columns, b = sample_bytes(g), s = g->samples_per_pixel;
    if (s == 1 || g->planar_configuration == 1) {
        memcpy(planar, frame, n);
    } else {
        for (size_t i = 0; i < plane; i++)
            for (size_t c = 0; c < s; c++)
                memcpy(planar + (c * plane + i) * b, frame + (i * s + c) * b, b);
    }
    int rc = rt_write_file(path, planar, n);
    free(planar);
    return rc;
}

int rt_read_planar_raw(const char *path, const struct ferry_frame *g, uint8_t *out)
{
    size_t len, n = harness_frame_size(g);
    uint8_t *planar = rt_read_file(path, &len);
    if (!planar)
        return -ENOENT;
    if (len != n) {
        free(planar);
        return -EINVAL;
    }
    size_t plane = (size_t)g->rows * g->columns, b = sample_bytes(g), s = g->samples_per_pixel;
    for (size_t i = 0; i < plane; i++)
        for (size_t c = 0; c < s; c++)
            memcpy(out + (i * s + c) * b, planar + (c * plane + i) * b, b);
    free(planar);
    return 0;
}

void rt_normalise(const struct ferry_frame *g, uint8_t *frame)
{
    size_t b = sample_bytes(g), count = harness_frame_size(g) / b;
    unsigned bs = g->bits_stored;
    for (size_t i = 0; i < count; i++) {
        uint64_t v = 0;
        for (size_t k = 0; k < b; k++)
            v |= (uint64_t)frame[i * b + k] << (8 * k);
        uint64_t mask = bs >= 64 ? ~0ull : (((uint64_t)1 << bs) - 1);
        v &= mask;
        if (g->pixel_representation && bs < 64 && (v >> (bs - 1)) & 1)
            v |= ~mask;
        for (size_t k = 0; k < b; k++)
            frame[i * b + k] = (uint8_t)(v >> (8 * k));
    }
}

const char *rt_python(void)
{
    static char found[512];
    static int state; /* 0 unknown, 1 found, -1 none */
    if (state)
        return state > 0 ? found : NULL;
    const char *cands[] = {getenv("FERRY_PYTHON"), "/usr/bin/python3", "python3"};
    for (size_t i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        if (rt_system(60, "%s -c 'import pydicom' 2>/dev/null", cands[i]) == 0) {
            snprintf(found, sizeof found, "%s", cands[i]);
            state = 1;
            return found;
        }
    }
    state = -1;
    return NULL;
}

const char *rt_source_path(const char *rel)
{
    static char path[4096];
    const char *s = getenv("FERRY_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", s ? s : ".", rel);
    return path;
}

const char *rt_geom_arg(const struct ferry_frame *g, char *buf, size_t len)
{
    snprintf(buf, len, "%u,%u,%u,%u,%u,%u,%u,%s", (unsigned)g->rows, (unsigned)g->columns,
             (unsigned)g->samples_per_pixel, (unsigned)g->bits_allocated,
             (unsigned)g->bits_stored, (unsigned)g->pixel_representation,
             (unsigned)g->planar_configuration, g->photometric);
    return buf;
}

bool rt_parse_geom(const char *s, struct ferry_frame *g)
{
    unsigned r, c, spp, ba, bs, pr, pl;
    char pi[24];
    if (sscanf(s, "%u,%u,%u,%u,%u,%u,%u,%23s", &r, &c, &spp, &ba, &bs, &pr, &pl, pi) != 8)
        return false;
    *g = rt_geom(r, c, (uint16_t)spp, (uint16_t)ba, (uint16_t)bs, (uint16_t)pr, (uint16_t)pl, pi);
    return true;
}

int rt_pydicom(const char *out_path, const char *fmt, ...)
{
    const char *py = rt_python();
    if (!py)
        return -1;
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    if (out_path)
        return rt_system(120, "%s '%s' %s > '%s'", py,
                         rt_source_path("tests/support/pydicom_frames.py"), args, out_path);
    return rt_system(120, "%s '%s' %s", py, rt_source_path("tests/support/pydicom_frames.py"),
                     args);
}

static char workdir[4096];

const char *rt_workdir_create(const char *tag)
{
    const char *d = rt_tempdir(tag);
    if (!d)
        return NULL;
    snprintf(workdir, sizeof workdir, "%s", d);
    return workdir;
}

const char *rt_path(const char *name)
{
    static char buf[4][4200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", workdir, name);
    return buf[k];
}

void rt_workdir_remove(void)
{
    if (workdir[0])
        rt_system(60, "rm -rf '%s'", workdir);
    workdir[0] = '\0';
}

char *rt_read_text(const char *path)
{
    size_t n;
    char *text = (char *)rt_read_file(path, &n);
    if (!text)
        return NULL;
    text[n > 0 ? n - 1 : 0] = '\0';
    return text;
}

int rt_pydicom_frames(const char *dcm, const char *prefix, const char *info_path, char *ts,
                      char *geom, struct ferry_frame *g)
{
    if (rt_pydicom(info_path, "frames '%s' '%s'", dcm, prefix) != 0)
        return -1;
    char *info = rt_read_text(info_path);
    if (!info)
        return -1;
    unsigned frames;
    int k = sscanf(info, "%67s %u %127s", ts, &frames, geom);
    free(info);
    return k == 3 && rt_parse_geom(geom, g) ? 0 : -1;
}

bool rt_corpus_file(const char *corpus, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", corpus, name);
    FILE *f = fopen(out, "rb");
    if (!f) {
        fprintf(stderr, "corpus file %s absent (Debian trims pydicom's corpus)\n", name);
        return false;
    }
    fclose(f);
    return true;
}

uint8_t *rt_decode_new(const struct ferry_codec *dec, void *dec_state,
                       const struct ferry_frame *g, const uint8_t *in, size_t len,
                       struct ferry_frame *og, struct ferry_diag *d, int *rc)
{
    size_t n = harness_frame_size(g);
    uint8_t *out = malloc(n ? n : 1);
    *og = *g;
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    d->param = -1;
    *rc = out ? dec->decode(dec_state, g, in, len, out, n, og, d) : -ENOMEM;
    return out;
}

uint8_t *rt_reference(const struct ferry_codec *dec, void *dec_state, const struct ferry_frame *g,
                      const uint8_t *frame, const struct rt_result *r, const uint8_t *cs,
                      size_t len, struct ferry_frame *og)
{
    if (!r->lossy) {
        *og = *g;
        return rt_interleaved(g, frame);
    }
    struct ferry_diag d;
    int rc;
    uint8_t *want = rt_decode_new(dec, dec_state, &r->coded, cs, len, og, &d, &rc);
    if (rc != 0 || harness_frame_size(og) != harness_frame_size(g)) {
        free(want);
        return NULL;
    }
    return want;
}

uint8_t *rt_read_raw_frame(const char *path, const struct ferry_frame *g)
{
    size_t n = harness_frame_size(g);
    uint8_t *out = malloc(n ? n : 1);
    if (!out || rt_read_planar_raw(path, g, out) != 0) {
        free(out);
        return NULL;
    }
    struct ferry_frame gi = *g;
    gi.planar_configuration = 0;
    rt_normalise(&gi, out);
    return out;
}

uint8_t *rt_opj_decompress(const char *in, const char *raw, const struct ferry_frame *g)
{
    if (rt_system(120, "opj_decompress -quiet -i '%s' -o '%s' > /dev/null", in, raw) != 0)
        return NULL;
    return rt_read_raw_frame(raw, g);
}

bool rt_have_all(const char *const *tools, size_t n, const char *hint)
{
    for (size_t i = 0; i < n; i++)
        if (!rt_have(tools[i])) {
            fprintf(stderr, "SKIP: %s not on PATH (%s)\n", tools[i], hint);
            return false;
        }
    return true;
}
