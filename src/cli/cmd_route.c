/* ferry route explain FILE.dcm [--config FILE] [--calling-ae X] [--called-ae Y]
 *                     [--peer ADDR]
 *
 * Evaluates the config's routes against one file as ferryd would against an
 * instance arriving from that association, prints which routes match and
 * why, and what would be sent where (destination, pipeline, the syntax that
 * would be proposed) — without sending anything. */
#include "cli/cli.h"

#include "conf/conf.h"
#include "dcm/dcm.h"
#include "forward/forward.h"
#include "route/route_dcm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ferry route explain FILE.dcm [--config FILE] [--calling-ae AE]\n"
            "                           [--called-ae AE] [--peer ADDRESS]\n"
            "\n"
            "Print, for each route of the config (default: %s), whether it\n"
            "matches FILE.dcm as if it arrived from that association, the value each\n"
            "condition saw, and what would be sent where. Nothing is sent. Without\n"
            "--calling-ae, --called-ae or --peer, conditions on them do not match.\n"
            "Exit status: 0 done, 1 the file or the config cannot be read, 2 usage.\n",
            FERRY_DEFAULT_CONFIG);
}

static int get_attr(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size)
{
    return route_dcm_get(ud, tag, index, buf, size);
}

static const char *ts_label(const char *uid)
{
    const char *n = conf_transfer_syntax_name(uid);
    return n ? n : uid;
}

static void print_target(const struct conf *c, const struct route_action *a, const char *file_ts)
{
    const struct conf_destination *d = &c->destinations[a->destination];
    const struct conf_pipeline *p =
        a->pipeline != ROUTE_NO_PIPELINE && a->pipeline < c->n_pipelines ? &c->pipelines[a->pipeline]
                                                                        : NULL;
    printf("  to '%s' (%s at %s:%u, as %s)", d->name, d->called_ae, d->host, d->port,
           d->calling_ae);
    const char *out = NULL;
    if (p && p->n_steps) {
        char text[1024];
        if (fwd_pipeline_text(p, text, sizeof text) < 0)
            snprintf(text, sizeof text, "%zu steps", p->n_steps);
        printf(", pipeline '%s': %s", p->name, text);
        for (size_t i = 0; i < p->n_steps; i++)
            if (p->steps[i].kind == CONF_STEP_COMPRESS)
                out = strcmp(p->steps[i].name, "explicit-vr-little-endian") == 0
                          ? "1.2.840.10008.1.2.1"
                          : conf_transfer_syntax_uid(p->steps[i].name);
    } else {
        printf(", as stored");
    }
    if (!out)
        out = file_ts;
    bool allowed = d->transfer_syntaxes.others;
    for (size_t i = 0; i < d->transfer_syntaxes.n && !allowed; i++)
        allowed = strcmp(d->transfer_syntaxes.uids[i], out) == 0;
    if (allowed && d->fallback && strcmp(d->fallback, out) != 0)
        printf("; proposed in %s, else %s", ts_label(out), ts_label(d->fallback));
    else if (allowed)
        printf("; proposed in %s", ts_label(out));
    else if (d->fallback)
        printf("; the destination does not take %s: converted to %s", ts_label(out),
               ts_label(d->fallback));
    else
        printf("; the destination does not take %s and has no fallback: it would fail",
               ts_label(out));
    if (d->window.set)
        printf("; sent only %02u:%02u-%02u:%02u", d->window.start_min / 60,
               d->window.start_min % 60, d->window.end_min / 60, d->window.end_min % 60);
    if (d->bandwidth)
        printf("; at most %llu bytes/s", (unsigned long long)d->bandwidth);
    printf("\n");
}

static int parse_peer(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

int cmd_route(int argc, char **argv)
{
    const char *file = NULL, *config = NULL, *calling = NULL, *called = NULL, *peer = NULL;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    if (argc < 3 || strcmp(argv[1], "explain") != 0) {
        usage(stderr);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--config") == 0)
            slot = &config;
        else if (strcmp(a, "--calling-ae") == 0)
            slot = &calling;
        else if (strcmp(a, "--called-ae") == 0)
            slot = &called;
        else if (strcmp(a, "--peer") == 0)
            slot = &peer;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ferry route explain: %s needs a value\n", a);
                return CLI_USAGE;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' || file) {
            fprintf(stderr, "ferry route explain: unexpected '%s'\n", a);
            usage(stderr);
            return CLI_USAGE;
        } else {
            file = a;
        }
    }
    if (!file) {
        usage(stderr);
        return CLI_USAGE;
    }
    struct sockaddr_storage ss;
    if (peer && parse_peer(peer, &ss) < 0) {
        fprintf(stderr, "ferry route explain: --peer: '%s' is not an IPv4 or IPv6 address\n",
                peer);
        return CLI_USAGE;
    }
    const char *cpath = config ? config : FERRY_DEFAULT_CONFIG;
    struct conf_options opts = { .dict = route_dcm_dict() };
    struct conf_errors *errors = NULL;
    const struct conf *c = conf_load(cpath, &opts, &errors);
    if (!c) {
        if (errors)
            conf_errors_print(errors, stderr);
        else
            fprintf(stderr, "%s: cannot be loaded\n", cpath);
        conf_errors_free(errors);
        return CLI_FAILED;
    }
    struct dcm_parse_opts po = { .flags = DCM_PARSE_PART10 | DCM_PARSE_HEADER_ONLY };
    struct ferry_error *err = NULL;
    struct dcm_dataset *ds = dcm_read_file(file, &po, &err);
    if (!ds) {
        fprintf(stderr, "ferry route explain: %s\n", ferry_error_message(err));
        ferry_error_free(err);
        conf_unref(c);
        return CLI_FAILED;
    }
    char sop_class[80] = "", sop_instance[80] = "";
    dcm_dataset_get_cstr(ds, DCM_TAG_SOPClassUID, 0, sop_class, sizeof sop_class);
    dcm_dataset_get_cstr(ds, DCM_TAG_SOPInstanceUID, 0, sop_instance, sizeof sop_instance);
    const char *ts = dcm_dataset_transfer_syntax(ds);
    const char *cls = dcm_uid_name(sop_class);
    printf("%s: %s, %s, in %s\n", file, cls ? cls : sop_class, sop_instance, ts_label(ts));
    printf("as received from: calling AE %s, called AE %s, peer %s\n", calling ? calling : "(none)",
           called ? called : "(none)", peer ? peer : "(none)");
    struct route_ctx ctx = {
        .calling_ae = calling,
        .called_ae = called,
        .peer = peer ? (const struct sockaddr *)&ss : NULL,
        .get = get_attr,
        .ud = ds,
    };
    struct route_result res;
    route_result_init(&res);
    int rc = route_explain(c->rules, &ctx, &res, stdout);
    if (rc < 0) {
        fprintf(stderr, "ferry route explain: out of memory\n");
    } else {
        size_t fw = 0;
        for (size_t i = 0; i < res.n_actions; i++)
            fw += res.actions[i].kind == ROUTE_FORWARD;
        if (fw) {
            printf("would send:\n");
            for (size_t i = 0; i < res.n_actions; i++)
                if (res.actions[i].kind == ROUTE_FORWARD)
                    print_target(c, &res.actions[i], ts);
        } else {
            printf("would send: nothing\n");
        }
    }
    route_result_release(&res);
    dcm_dataset_unref(ds);
    conf_unref(c);
    return rc < 0 ? CLI_FAILED : CLI_OK;
}
