/* ferry deid-map: read the pseudonym map that ferryd keeps in its index
 * (routes whose deid step says record-pseudonyms: on), for authorized
 * re-identification.
 *
 *   ferry deid-map --data-dir DIR [--patient TEXT]
 *
 * Prints one line per row, `kind <TAB> original <TAB> replacement`, the form
 * of `ferry deid`'s map file (tab, newline and backslash written \t \n \\),
 * oldest first. --patient keeps the rows whose original or replacement is
 * TEXT: a pseudonym gives the patient, a patient ID gives the pseudonym.
 * The index must be the caller's and not readable by anyone else; reading it
 * is the data folder owner's privilege. */
#include "cli/cli.h"

#include "base/error.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: ferry deid-map --data-dir DIR [--patient TEXT]\n"
                 "  the pseudonym map ferryd keeps in DIR/index.sqlite (record-pseudonyms: on):\n"
                 "  one line per row, kind TAB original TAB replacement;\n"
                 "  --patient TEXT: only rows whose original or replacement is TEXT\n");
}

static void put_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\t')
            fputs("\\t", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*s);
    }
}

static int print_row(void *ud, const struct store_pseudonym *r)
{
    unsigned long *n = ud;
    put_escaped(r->kind);
    putchar('\t');
    put_escaped(r->original);
    putchar('\t');
    put_escaped(r->replacement);
    putchar('\n');
    (*n)++;
    return 0;
}

int cmd_deid_map(int argc, char **argv)
{
    const char *dir = NULL, *patient = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        }
        const char **slot = strcmp(a, "--data-dir") == 0  ? &dir
                            : strcmp(a, "--patient") == 0 ? &patient
                                                          : NULL;
        if (!slot) {
            fprintf(stderr, "ferry deid-map: unknown argument '%s'\n", a);
            usage(stderr);
            return CLI_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ferry deid-map: %s needs a value\n", a);
            return CLI_USAGE;
        }
        *slot = argv[++i];
    }
    if (!dir) {
        fprintf(stderr, "ferry deid-map: --data-dir is required\n");
        usage(stderr);
        return CLI_USAGE;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/index.sqlite", dir);
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "ferry deid-map: %s: %s\n", path, strerror(errno));
        return CLI_FAILED;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        fprintf(stderr,
                "ferry deid-map: %s: refused: the map is for the owner of the data folder, and "
                "the index must be theirs alone (owner %u, mode %04o)\n",
                path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return CLI_FAILED;
    }
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open_readonly(path, &err);
    if (!idx) {
        fprintf(stderr, "ferry deid-map: %s\n", ferry_error_message(err));
        ferry_error_free(err);
        return CLI_FAILED;
    }
    unsigned long n = 0;
    int rc = store_pseudonym_list(idx, patient, print_row, &n, &err);
    store_index_close(idx);
    if (rc < 0) {
        fprintf(stderr, "ferry deid-map: %s\n", ferry_error_message(err));
        ferry_error_free(err);
        return CLI_FAILED;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "ferry deid-map: cannot write: %s\n", strerror(errno));
        return CLI_FAILED;
    }
    if (patient && n == 0) {
        fprintf(stderr, "ferry deid-map: no row of the map has '%s'\n", patient);
        return CLI_FAILED;
    }
    return CLI_OK;
}
