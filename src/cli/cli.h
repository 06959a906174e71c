/* ferry — the command-line tool: one file per command (cmd_<name>.c), each
 * exporting one function that takes the arguments after the command's name
 * (argv[0] is the command name) and returns the exit status:
 * 0 done, 1 failed (the reason printed on stderr), 2 usage error. */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stddef.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The commands (cmd_<name>.c). */
int cmd_config(int argc, char **argv);
int cmd_deid(int argc, char **argv);
int cmd_deid_map(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_transcode(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_route(int argc, char **argv);

/* ctl.c: talking to a running ferryd over its control socket. */
struct cli_ctl_opts {
    const char *config;    /* --config FILE */
    const char *data_dir;  /* --data-dir DIR */
    const char *socket;    /* --socket PATH */
};
/* Take those options out of argv (the rest stays, in order). */
int cli_ctl_parse(int *argc, char **argv, struct cli_ctl_opts *o);
/* The socket: --socket, else the config's server.control_socket. */
int cli_ctl_socket_path(const struct cli_ctl_opts *o, char *out, size_t size);
/* Send one request line, print the answer; returns the exit status. */
int cli_ctl_request(const char *path, const char *line);

/* The folder plugins are loaded from by default: $FERRY_PLUGIN_DIR, else
 * the plugins folder next to the folder of this program (build/bin/ferry ->
 * build/plugins). */
void cli_plugin_dir(char *out, size_t n);

#endif
