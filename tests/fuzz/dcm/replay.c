/* Replay runner: runs a fuzz target's LLVMFuzzerTestOneInput over every file
 * of the folders given (the committed seed corpus and the regression inputs),
 * so that ctest exercises them under gcc and the sanitizer build without
 * libFuzzer. Exit 0 when all ran (a crash or abort() fails the test), 1 when
 * a folder holds no file at all. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int run_dir(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
        size_t n = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        (*files)++;
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++)
        if (run_dir(argv[i], &files) < 0)
            return 1;
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
