/* ferry config check FILE — validate a config and what it includes. */
#include "cli/cli.h"
#include "route/route_dcm.h"
#include "conf/conf.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry config check FILE\n"
            "\n"
            "Read FILE and every file it includes, and check them all against the\n"
            "config schema (docs/config.md). Prints each problem as\n"
            "FILE:LINE:COL: message and exits 1, or prints a one-line summary and\n"
            "exits 0. Pipeline steps are checked for their shape only: whether a\n"
            "plugin accepts its parameters is checked when ferryd loads the config.\n");
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

int cmd_config(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0 || argv[2][0] == '-') {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *path = argv[2];
    struct conf_options opts = { .dict = route_dcm_dict() };
    struct conf_errors *errors = NULL;
    const struct conf *c = conf_load(path, &opts, &errors);
    if (!c) {
        if (errors)
            conf_errors_print(errors, stderr);
        else
            fprintf(stderr, "%s: cannot be loaded\n", path);
        conf_errors_free(errors);
        return CLI_FAILED;
    }
    size_t routes = route_rules_count(c->rules);
    printf("%s: ok: %zu destination%s, %zu route%s, %zu pipeline%s, %zu file%s\n", path,
           c->n_destinations, plural(c->n_destinations), routes, plural(routes),
           c->n_pipelines, plural(c->n_pipelines), c->files.n, plural(c->files.n));
    conf_unref(c);
    return CLI_OK;
}
