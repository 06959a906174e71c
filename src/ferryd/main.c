/* ferryd — the ferry daemon: receives instances (C-STORE), keeps them
 * durably in its spool and index. main() reads the command line;
 * server.c does the rest. */
#include "base/version.h"
#include "ferryd/ferryd.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferryd [--config FILE] [--data-dir DIR] [--port N] [--foreground]\n"
            "\n"
            "The ferry daemon: a DICOM C-ECHO / C-STORE server that keeps every instance\n"
            "it acknowledges durably on disk (spool and index in the data folder).\n"
            "\n"
            "  --config FILE   the configuration (default: %s);\n"
            "                  `ferry config check FILE` validates one\n"
            "  --data-dir DIR  the data folder (spool, index, quarantine, log, pid file),\n"
            "                  instead of the config's server.data_dir\n"
            "  --port N        the TCP port, instead of the config's server.port\n"
            "  --foreground    stay in the foreground and log to standard error; without\n"
            "                  it ferryd detaches once it listens, and logs to\n"
            "                  DIR/ferryd.log (unless server.log_file says otherwise)\n"
            "  --help          this text\n"
            "\n"
            "Signals: SIGTERM stops accepting, lets instances in flight finish (up to\n"
            "limits.shutdown_deadline) and exits 0; SIGHUP reloads the configuration\n"
            "(a bad one is refused and the running one stays). Exit status 2: a bad\n"
            "command line or configuration; 1: ferryd could not start.\n",
            FERRY_DEFAULT_CONFIG);
}

static int bad(const char *what, const char *arg)
{
    fprintf(stderr, "ferryd: %s%s (ferryd --help says more)\n", what, arg);
    return 2;
}

int main(int argc, char **argv)
{
    /* Keep freed memory in malloc (work.h). Every instance passes through
     * buffers of a PDU or more (receiving, reading the spool, sending):
     * with glibc's defaults those above 128 KiB are fresh mappings, faulted
     * in page by page and unmapped again (a TLB shootdown on every core),
     * and a shrinking heap is handed back to the kernel just as often.
     * perf/forward: the forwarder spent more time in those faults than in
     * sending; perf/deid: masking costs 31% of a JPEG-LS encode with the
     * defaults, 1% with these. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    struct ferryd_args args = { .config = FERRY_DEFAULT_CONFIG };
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = NULL;
        const char *eq = strchr(o, '=');
        char name[32];
        if (strncmp(o, "--", 2) == 0 && eq && (size_t)(eq - o) < sizeof name) {
            memcpy(name, o, (size_t)(eq - o));
            name[eq - o] = '\0';
            v = eq + 1;
            o = name;
        }
        bool takes = strcmp(o, "--config") == 0 || strcmp(o, "--data-dir") == 0 ||
                     strcmp(o, "--port") == 0;
        if (takes && !v) {
            if (i + 1 >= argc)
                return bad(o, " needs a value");
            v = argv[++i];
        } else if (!takes && v) {
            return bad(o, " takes no value");
        }
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(o, "--foreground") == 0) {
            args.foreground = true;
        } else if (strcmp(o, "--config") == 0) {
            args.config = v;
        } else if (strcmp(o, "--data-dir") == 0) {
            if (!*v)
                return bad("--data-dir needs a folder", "");
            args.data_dir = v;
        } else if (strcmp(o, "--port") == 0) {
            char *end;
            errno = 0;
            long p = strtol(v, &end, 10);
            if (errno || *end || end == v || p < 1 || p > 65535) {
                fprintf(stderr, "ferryd: --port: expected a port from 1 to 65535, found '%s'\n", v);
                return 2;
            }
            args.port = (int)p;
        } else {
            fprintf(stderr, "ferryd: unknown option '%s' (ferryd --help says more)\n", argv[i]);
            return 2;
        }
    }
    return ferryd_run(&args);
}
