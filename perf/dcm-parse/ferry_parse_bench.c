/* Benchmark (not a test): ferry's parser over every file of a folder.
 *
 *   ferry_parse_bench MODE DIR RUNS
 *
 * MODE:
 *   full         dcm_read_file (mmap; values point into the mapping)
 *   full-copy    dcm_read_file with DCM_PARSE_COPY (every value copied)
 *   header       dcm_read_file with DCM_PARSE_HEADER_ONLY
 *   mem-full     dcm_parse_buffer on files already in memory
 *   mem-header   the same, header-only (what the daemon does per instance)
 *   mem-full-copy  mem-full with DCM_PARSE_COPY
 *
 * Prints the median over RUNS of the mean CPU time (user + system) per file,
 * in microseconds, and checks that every file parsed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcm/dcm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ferry_parse_bench full|full-copy|header|mem-full|mem-header DIR RUNS\n");
        return 2;
    }
    const char *mode = argv[1];
    int runs = atoi(argv[3]);
    DIR *d = opendir(argv[2]);
    if (!d || runs < 1) {
        perror(argv[2]);
        return 2;
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            files = realloc(files, sizeof *files * cap);
        }
        size_t len = strlen(argv[2]) + strlen(e->d_name) + 2;
        files[n] = malloc(len);
        snprintf(files[n], len, "%s/%s", argv[2], e->d_name);
        n++;
    }
    closedir(d);
    qsort(files, n, sizeof *files, cmp_str);
    bool mem = strncmp(mode, "mem-", 4) == 0;
    uint32_t flags = DCM_PARSE_PART10;
    if (strstr(mode, "header"))
        flags |= DCM_PARSE_HEADER_ONLY;
    if (strstr(mode, "full-copy"))
        flags |= DCM_PARSE_COPY;
    uint8_t **bufs = calloc(n, sizeof *bufs);
    size_t *lens = calloc(n, sizeof *lens);
    if (mem)
        for (size_t i = 0; i < n; i++) {
            FILE *f = fopen(files[i], "rb");
            fseek(f, 0, SEEK_END);
            lens[i] = (size_t)ftell(f);
            fseek(f, 0, SEEK_SET);
            bufs[i] = malloc(lens[i]);
            if (fread(bufs[i], 1, lens[i], f) != lens[i])
                return 1;
            fclose(f);
        }
    double *t = calloc((size_t)runs, sizeof *t);
    struct dcm_parse_opts o = { .flags = flags };
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            struct ferry_error *err = NULL;
            struct dcm_dataset *ds = mem ? dcm_parse_buffer(bufs[i], lens[i], &o, NULL, NULL, &err)
                                         : dcm_read_file(files[i], &o, &err);
            if (!ds) {
                fprintf(stderr, "%s: %s\n", files[i], ferry_error_message(err));
                return 1;
            }
            dcm_dataset_unref(ds);
        }
        t[r] = (now() - t0) / (double)n * 1e6;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("%.2f\n", t[runs / 2]);
    return 0;
}
