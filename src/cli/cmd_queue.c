/* ferry queue [retry DEST|JOB | purge [DEST] | pause DEST | resume DEST]
 * ferry reload
 *
 * Both ask the running ferryd over its control socket. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry queue [OPTIONS]                 the forwarding queue, per destination\n"
            "       ferry queue [OPTIONS] retry DEST|JOB  dead and backing-off jobs of DEST (or\n"
            "                                             job number JOB) are tried again now\n"
            "       ferry queue [OPTIONS] purge [DEST]    forget done and dead jobs (of DEST)\n"
            "       ferry queue [OPTIONS] pause DEST      start nothing new for DEST\n"
            "       ferry queue [OPTIONS] resume DEST\n"
            "\n"
            "Per destination: pending, held (studies not yet stable), in flight, done and\n"
            "dead jobs, retries, the oldest job waiting, whether it is paused, what it is\n"
            "waiting for (backoff, time window, pause) and its last error.\n"
            "\n"
            "OPTIONS say how to reach ferryd (its control socket, server.control_socket):\n"
            "  --config FILE   the config ferryd runs with (default: %s)\n"
            "  --data-dir DIR  as given to ferryd --data-dir\n"
            "  --socket PATH   the socket itself\n"
            "Exit status: 0 done, 1 failed (ferryd not reachable, or it refused), 2 usage.\n",
            FERRY_DEFAULT_CONFIG);
}

int cmd_queue(int argc, char **argv)
{
    struct cli_ctl_opts o = { 0 };
    argc--;
    argv++;
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    int rc = cli_ctl_parse(&argc, argv, &o);
    if (rc != CLI_OK)
        return rc;
    char line[256];
    if (argc == 0) {
        snprintf(line, sizeof line, "queue\n");
    } else if (argc == 2 && (strcmp(argv[0], "retry") == 0 || strcmp(argv[0], "pause") == 0 ||
                             strcmp(argv[0], "resume") == 0 || strcmp(argv[0], "purge") == 0)) {
        if (argv[1][0] == '-' || strlen(argv[1]) > 64 || strpbrk(argv[1], " \t\n")) {
            usage(stderr);
            return CLI_USAGE;
        }
        snprintf(line, sizeof line, "queue %s %s\n", argv[0], argv[1]);
    } else if (argc == 1 && strcmp(argv[0], "purge") == 0) {
        snprintf(line, sizeof line, "queue purge\n");
    } else {
        usage(stderr);
        return CLI_USAGE;
    }
    char path[4096];
    if ((rc = cli_ctl_socket_path(&o, path, sizeof path)) != CLI_OK)
        return rc;
    return cli_ctl_request(path, line);
}

static void reload_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry reload [--config FILE | --data-dir DIR | --socket PATH]\n"
            "\n"
            "Make the running ferryd read its config again (as SIGHUP does) and wait for\n"
            "the outcome: a config with errors is refused, its errors printed as\n"
            "FILE:LINE:COL: message, and the running config stays in force (exit 1).\n");
}

int cmd_reload(int argc, char **argv)
{
    struct cli_ctl_opts o = { 0 };
    argc--;
    argv++;
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        reload_usage(stdout);
        return CLI_OK;
    }
    int rc = cli_ctl_parse(&argc, argv, &o);
    if (rc != CLI_OK)
        return rc;
    if (argc != 0) {
        reload_usage(stderr);
        return CLI_USAGE;
    }
    char path[4096];
    if ((rc = cli_ctl_socket_path(&o, path, sizeof path)) != CLI_OK)
        return rc;
    return cli_ctl_request(path, "reload\n");
}
