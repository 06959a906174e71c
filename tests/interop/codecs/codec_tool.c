/* codec_tool: one codec plugin's encode or decode on files, for the interop
 * script (interop_codecs.py), which wraps the bytes in DICOM files and has
 * DCMTK decode or encode them. Also writes the harness's synthetic frames.
 *
 *   codec_tool synth GEOM SEED NOISE OUT.raw
 *   codec_tool encode PLUGIN.so CODEC GEOM IN.raw OUT.bin [key=value ...]
 *   codec_tool decode PLUGIN.so CODEC GEOM IN.bin OUT.raw
 *   codec_tool batch      the same commands, one a line on stdin
 *
 * GEOM is rows,columns,samples,bits_allocated,bits_stored,
 * pixel_representation,planar_configuration,PHOTOMETRIC. encode and decode
 * print the output's geometry (same form) and lossy flag on stdout, synth
 * prints "ok". Exit
 * status: 0 done, 3 the codec failed (its code and message on stderr),
 * 4 the codec cannot do this stream (-ENOTSUP), 2 usage or I/O error. */
#include "codec_roundtrip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: codec_tool synth GEOM SEED NOISE OUT\n"
                    "       codec_tool encode PLUGIN CODEC GEOM IN OUT [key=value ...]\n"
                    "       codec_tool decode PLUGIN CODEC GEOM IN OUT\n"
                    "       codec_tool batch   (commands on stdin)\n");
    return 2;
}

static int parse_geom(const char *s, struct ferry_frame *g)
{
    unsigned v[7];
    char photometric[64];
    memset(g, 0, sizeof *g);
    if (sscanf(s, "%u,%u,%u,%u,%u,%u,%u,%63s", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               photometric) != 8) {
        fprintf(stderr, "bad geometry %s\n", s);
        return -1;
    }
    g->size = sizeof *g;
    g->rows = v[0];
    g->columns = v[1];
    g->samples_per_pixel = (uint16_t)v[2];
    g->bits_allocated = (uint16_t)v[3];
    g->bits_stored = (uint16_t)v[4];
    g->high_bit = (uint16_t)(v[4] ? v[4] - 1 : 0);
    g->pixel_representation = (uint16_t)v[5];
    g->planar_configuration = (uint16_t)v[6];
    /* "PALETTE_COLOR" on the command line stands for "PALETTE COLOR" */
    for (char *p = photometric; *p; p++)
        if (*p == '_' && strncmp(photometric, "PALETTE", 7) == 0)
            *p = ' ';
    if (strlen(photometric) >= sizeof g->photometric) {
        fprintf(stderr, "photometric interpretation too long: %s\n", photometric);
        return -1;
    }
    memcpy(g->photometric, photometric, strlen(photometric) + 1);
    return 0;
}

static void print_geom(const struct ferry_frame *g, unsigned lossy)
{
    char photometric[sizeof g->photometric + 1];
    snprintf(photometric, sizeof photometric, "%.*s", (int)sizeof g->photometric, g->photometric);
    for (char *p = photometric; *p; p++)
        if (*p == ' ')
            *p = '_';
    printf("%u,%u,%u,%u,%u,%u,%u,%s %u\n", g->rows, g->columns, g->samples_per_pixel,
           g->bits_allocated, g->bits_stored, g->pixel_representation, g->planar_configuration,
           photometric, lossy);
}

/* The whole file; *len its size. Caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *buf = rt_read_file(path, len);
    if (!buf)
        perror(path);
    return buf;
}

static int spew(const char *path, const uint8_t *p, size_t n)
{
    int rc = rt_write_file(path, p, n);
    if (rc) {
        errno = -rc;
        perror(path);
        return -1;
    }
    return 0;
}

static int codec_status(int rc, const struct ferry_diag *d)
{
    fprintf(stderr, "error %d: %s\n", rc, d->message);
    return rc == -ENOTSUP ? 4 : 3;
}

/* Plugins stay loaded for the whole run (batch mode loads each once). */
static struct {
    char path[4096];
    struct harness_plugin *p;
} loaded[8];

static struct harness_plugin *plugin(const char *path)
{
    size_t i = 0;
    for (; i < 8 && loaded[i].p; i++)
        if (strcmp(loaded[i].path, path) == 0)
            return loaded[i].p;
    if (i == 8)
        return NULL;
    char err[512];
    loaded[i].p = harness_load(path, err, sizeof err);
    if (!loaded[i].p)
        fprintf(stderr, "%s\n", err);
    else
        snprintf(loaded[i].path, sizeof loaded[i].path, "%s", path);
    return loaded[i].p;
}

/* One command (argv[0] is its name); the status as main's. */
static int run(int argc, char **argv)
{
    struct ferry_frame g;
    if (argc < 1)
        return usage();
    if (strcmp(argv[0], "synth") == 0) {
        if (argc != 5 || parse_geom(argv[1], &g))
            return usage();
        uint8_t *px = harness_synth_frame(&g, (uint32_t)strtoul(argv[2], NULL, 10),
                                          (unsigned)strtoul(argv[3], NULL, 10));
        int rc = px && spew(argv[4], px, harness_frame_size(&g)) == 0 ? 0 : 2;
        free(px);
        if (!rc)
            printf("ok\n");
        return rc;
    }
    bool enc = strcmp(argv[0], "encode") == 0;
    if ((!enc && strcmp(argv[0], "decode") != 0) || argc < 6 || (!enc && argc != 6) ||
        parse_geom(argv[3], &g))
        return usage();
    struct harness_plugin *p = plugin(argv[1]);
    if (!p)
        return 2;
    int status = 2;
    void *state = NULL;
    uint8_t *out = NULL;
    size_t in_len = 0;
    uint8_t *in = slurp(argv[4], &in_len);
    const struct ferry_codec *c = harness_codec(p, argv[2]);
    if (!c || !in) {
        fprintf(stderr, "no codec %s or no input\n", argv[2]);
        goto out;
    }
    struct ferry_diag d = {.size = sizeof d, .param = -1};
    struct ferry_param params[16];
    uint32_t n = 0;
    for (int i = 6; i < argc && n < 16; i++, n++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            goto out;
        *eq = 0;
        params[n].key = argv[i];
        params[n].value = eq + 1;
    }
    int rc = c->configure ? c->configure(n ? params : NULL, n, &state, &d) : 0;
    if (rc) {
        status = codec_status(rc, &d);
        goto out;
    }
    if (enc) {
        struct ferry_encoded e = {.size = sizeof e};
        rc = c->encode(state, harness_host(), &g, in, in_len, &e, &d);
        if (rc) {
            status = codec_status(rc, &d);
            goto out;
        }
        out = e.bytes;
        status = spew(argv[5], e.bytes, e.length) ? 2 : 0;
        print_geom(&e.frame, e.lossy);
    } else {
        size_t n_out = harness_frame_size(&g);
        out = malloc(n_out ? n_out : 1);
        struct ferry_frame og = g;
        rc = out ? c->decode(state, &g, in, in_len, out, n_out, &og, &d) : -ENOMEM;
        if (rc) {
            status = codec_status(rc, &d);
            goto out;
        }
        status = spew(argv[5], out, n_out) ? 2 : 0;
        print_geom(&og, 0);
    }
out:
    if (c && c->release)
        c->release(state);
    free(out);
    free(in);
    return status;
}

/* batch: one command a line on stdin (words split at spaces); after each,
 * its output line (for a failure: "status N") on stdout, flushed, and the
 * message on stderr. Saves a process (and, under ASan, its start-up) per
 * frame. */
static int batch(void)
{
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        char *argv[32];
        int argc = 0;
        for (char *tok = strtok(line, " \n"); tok && argc < 32; tok = strtok(NULL, " \n"))
            argv[argc++] = tok;
        if (!argc)
            continue;
        int rc = run(argc, argv);
        if (rc)
            printf("status %d\n", rc);
        fflush(stdout);
        fflush(stderr);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = argc == 2 && strcmp(argv[1], "batch") == 0 ? batch() : run(argc - 1, argv + 1);
    for (size_t i = 0; i < 8 && loaded[i].p; i++)
        harness_unload(loaded[i].p);
    return rc;
}
