/* ferry — the command-line tool for administrators: dispatch to a command. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

/* Each command: cmd_<name>.c. Keep the table in alphabetical order. */
static const struct cli_command commands[] = {
    { "config", "check a config file: ferry config check FILE", cmd_config },
    { "deid", "de-identify DICOM files and folders (PS3.15 Annex E)", cmd_deid },
    { "deid-map", "read ferryd's pseudonym map (record-pseudonyms: on) for re-identification", cmd_deid_map },
    { "dump", "print DICOM files like dcmdump (names in UTF-8)", cmd_dump },
    { "queue", "the running ferryd's forwarding queue: show, retry, purge, pause, resume", cmd_queue },
    { "reload", "make the running ferryd read its config again", cmd_reload },
    { "route", "which routes match a file, and why: ferry route explain FILE.dcm", cmd_route },
    { "transcode", "re-encode a file's pixel data in another transfer syntax", cmd_transcode },
    { NULL, NULL, NULL },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ferry COMMAND [ARGS...]\n\ncommands:\n");
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\n`ferry COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    for (const struct cli_command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "ferry: unknown command '%s' (see ferry --help)\n", argv[1]);
    return CLI_USAGE;
}
