/* ferry — talking to a running ferryd over its control socket (the client
 * side of src/forward/control.c): find the socket, send one line, print
 * the answer. */
#include "cli/cli.h"

#include "conf/conf.h"
#include "route/route_dcm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int cli_ctl_socket_path(const struct cli_ctl_opts *o, char *out, size_t size)
{
    if (o->socket) {
        snprintf(out, size, "%s", o->socket);
        return CLI_OK;
    }
    struct conf_options opts = { .dict = route_dcm_dict(), .data_dir = o->data_dir };
    struct conf_errors *errors = NULL;
    const char *path = o->config ? o->config : FERRY_DEFAULT_CONFIG;
    const struct conf *c = conf_load(path, &opts, &errors);
    if (!c) {
        fprintf(stderr, "ferry: cannot read the config %s to find ferryd's control socket "
                        "(give --socket PATH):\n", path);
        if (errors)
            conf_errors_print(errors, stderr);
        conf_errors_free(errors);
        return CLI_FAILED;
    }
    snprintf(out, size, "%s", c->server.control_socket);
    conf_unref(c);
    return CLI_OK;
}

/* Parse --config FILE, --data-dir DIR, --socket PATH (also --x=v) out of
 * argv, leaving the rest in order in argv[0..*argc). */
int cli_ctl_parse(int *argc, char **argv, struct cli_ctl_opts *o)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *names[] = { "--config", "--data-dir", "--socket" };
        const char **slots[] = { &o->config, &o->data_dir, &o->socket };
        for (int k = 0; k < 3 && !slot; k++) {
            size_t len = strlen(names[k]);
            if (strncmp(a, names[k], len) != 0)
                continue;
            if (a[len] == '=') {
                *slots[k] = a + len + 1;
                slot = slots[k];
            } else if (a[len] == '\0') {
                if (i + 1 >= *argc) {
                    fprintf(stderr, "ferry: %s needs a value\n", names[k]);
                    return CLI_USAGE;
                }
                *slots[k] = argv[++i];
                slot = slots[k];
            }
        }
        if (!slot)
            argv[n++] = argv[i];
    }
    *argc = n;
    return CLI_OK;
}

int cli_ctl_request(const char *path, const char *line)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "ferry: cannot reach ferryd at %s: the path is too long for a socket\n",
                path);
        return CLI_FAILED;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        fprintf(stderr, "ferry: cannot reach ferryd at %s: %s%s\n", path, strerror(e),
                e == ENOENT || e == ECONNREFUSED ? " (is ferryd running?)" : "");
        if (fd >= 0)
            close(fd);
        return CLI_FAILED;
    }
    size_t len = strlen(line);
    const char *p = line;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            fprintf(stderr, "ferry: cannot talk to ferryd at %s: %s\n", path, strerror(errno));
            close(fd);
            return CLI_FAILED;
        }
        p += w;
        len -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* The answer: "ok" or "error: WHY", then text, then ferryd closes. */
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return CLI_FAILED;
    }
    for (;;) {
        if (n + 1 == cap) {
            char *q = realloc(buf, cap * 2);
            if (!q)
                break;
            buf = q;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    int rc;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    const char *body = nl ? nl + 1 : "";
    if (strcmp(buf, "ok") == 0) {
        fputs(body, stdout);
        rc = CLI_OK;
    } else if (strncmp(buf, "error: ", 7) == 0) {
        fprintf(stderr, "ferry: %s\n", buf + 7);
        fputs(body, stderr);
        rc = CLI_FAILED;
    } else {
        fprintf(stderr, "ferry: ferryd at %s gave no answer%s%s\n", path, n ? ": " : "",
                n ? buf : "");
        rc = CLI_FAILED;
    }
    free(buf);
    return rc;
}
