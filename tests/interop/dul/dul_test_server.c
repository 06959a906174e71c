/* dul_test_server — a DICOM acceptor built from net + dul only, for the
 * interop tests: real DCMTK peers (echoscu, storescu) and the misbehaving
 * client associate with it.
 *
 * TEST SCAFFOLDING: the DIMSE handling below (a C-ECHO-RSP and a C-STORE-RSP
 * built by hand from the command set) exists only so that the peers finish
 * cleanly; the real DIMSE layer is the `dimse` module.
 *
 * stdout (one line per event, flushed; the test scripts read it):
 *   PORT <port>
 *   ESTABLISHED <id> <calling> <called> <max_send_pdu> <n_contexts>
 *   CONTEXT <id> <pc_id> <result> <abstract_syntax> <transfer_syntax|->
 *   ECHO <id> <message_id>
 *   STORED <id> <bytes> <sop_instance_uid>
 *   RELEASED <id> | ABORTED <id> <message> | CLOSED <id>
 *   MAXPDV <id> <largest PDV payload received>
 * stderr: ferry's log.
 */
#include "base/error.h"
#include "base/log.h"
#include "dul/dul.h"
#include "net/net.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MAX_LIST 64

struct conn_state {
    unsigned id;
    uint8_t *cmd;              /* a command set being put together */
    size_t cmd_len, cmd_cap;
    bool cmd_overflow;
    uint8_t store_pc;
    uint16_t store_msg_id;
    char store_class[65], store_instance[65];
    bool in_dataset;
    uint64_t dataset_bytes;
    size_t max_pdv;
};

static struct net_loop *loop;
static struct dul_server *server;
static int sfd = -1;
static struct signalfd_siginfo siginfo;
static bool stopping;
static unsigned pause_ms; /* pause receiving after each data PDV (backpressure test) */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ------------------------------------------------ scaffolding DIMSE */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct command {
    uint16_t field, message_id, dataset_type;
    char sop_class[65], sop_instance[65];
};

static bool parse_command(const uint8_t *p, size_t n, struct command *c)
{
    memset(c, 0, sizeof *c);
    c->dataset_type = 0x0101;
    for (size_t off = 0; off + 8 <= n;) {
        uint16_t group = le16(p + off), elem = le16(p + off + 2);
        uint32_t len = le32(p + off + 4);
        if (group != 0 || len > n - off - 8)
            return false;
        const uint8_t *v = p + off + 8;
        if (elem == 0x0100 && len == 2)
            c->field = le16(v);
        else if (elem == 0x0110 && len == 2)
            c->message_id = le16(v);
        else if (elem == 0x0800 && len == 2)
            c->dataset_type = le16(v);
        else if ((elem == 0x0002 || elem == 0x1000) && len <= 64) {
            char *dst = elem == 0x0002 ? c->sop_class : c->sop_instance;
            size_t k = len;
            memcpy(dst, v, k);
            dst[k] = '\0';
            while (k && (dst[k - 1] == '\0' || dst[k - 1] == ' '))
                dst[--k] = '\0';
        }
        off += 8 + len;
    }
    return c->field != 0;
}

static size_t put_elem(uint8_t *p, uint16_t elem, const void *v, uint32_t len)
{
    p[0] = 0;
    p[1] = 0;
    p[2] = (uint8_t)elem;
    p[3] = (uint8_t)(elem >> 8);
    p[4] = (uint8_t)len;
    p[5] = (uint8_t)(len >> 8);
    p[6] = (uint8_t)(len >> 16);
    p[7] = (uint8_t)(len >> 24);
    memcpy(p + 8, v, len);
    return 8 + len;
}

static size_t put_uid(uint8_t *p, uint16_t elem, const char *uid)
{
    char buf[66];
    size_t n = strlen(uid);
    memcpy(buf, uid, n);
    if (n & 1)
        buf[n++] = '\0';
    return put_elem(p, elem, buf, (uint32_t)n);
}

static size_t put_us(uint8_t *p, uint16_t elem, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return put_elem(p, elem, b, 2);
}

/* A response command set: CommandGroupLength first. */
static size_t build_rsp(uint8_t *buf, uint16_t field, uint16_t msg_id, const char *sop_class,
                        const char *sop_instance, uint16_t status)
{
    size_t n = 12;
    n += put_uid(buf + n, 0x0002, sop_class);
    n += put_us(buf + n, 0x0100, field);
    n += put_us(buf + n, 0x0120, msg_id);
    n += put_us(buf + n, 0x0800, 0x0101);
    n += put_us(buf + n, 0x0900, status);
    if (sop_instance)
        n += put_uid(buf + n, 0x1000, sop_instance);
    uint32_t group_len = (uint32_t)(n - 12);
    uint8_t gl[4] = { (uint8_t)group_len, (uint8_t)(group_len >> 8), (uint8_t)(group_len >> 16),
                      (uint8_t)(group_len >> 24) };
    put_elem(buf, 0x0000, gl, 4);
    return n;
}

/* ---------------------------------------------------------- callbacks */

static void on_established(struct dul_assoc *a, void *arg)
{
    struct conn_state *cs = arg;
    const struct dul_assoc_info *info = dul_assoc_info(a);
    out("ESTABLISHED %u %s %s %u %zu", cs->id, info->calling_ae, info->called_ae,
        info->max_send_pdu, info->n_contexts);
    for (size_t i = 0; i < info->n_contexts; i++) {
        const struct dul_context *c = &info->contexts[i];
        out("CONTEXT %u %u %u %s %s", cs->id, c->id, c->result, c->abstract_syntax,
            c->transfer_syntax[0] ? c->transfer_syntax : "-");
    }
}

static void resume_timer_fn(struct net_timer *t);

struct pause_timer {
    struct net_timer t;
    struct dul_assoc *a;
};

static void on_pdv(struct dul_assoc *a, void *arg, const struct dul_pdv_in *pdv)
{
    struct conn_state *cs = arg;
    if (pdv->len > cs->max_pdv)
        cs->max_pdv = pdv->len;
    if (!pdv->command) {
        if (!cs->in_dataset) {
            ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(a), "test server: data set without command");
            dul_abort(a);
            return;
        }
        cs->dataset_bytes += pdv->len;
        if (pdv->last) {
            uint8_t rsp[512];
            size_t n = build_rsp(rsp, 0x8001, cs->store_msg_id, cs->store_class, cs->store_instance,
                                 0x0000);
            out("STORED %u %llu %s", cs->id, (unsigned long long)cs->dataset_bytes,
                cs->store_instance);
            cs->in_dataset = false;
            dul_send_pdv(a, cs->store_pc, true, true, rsp, n);
        } else if (pause_ms) {
            /* backpressure: pause, resume after a while */
            struct pause_timer *pt = malloc(sizeof *pt);
            pt->a = a;
            net_timer_init(&pt->t, resume_timer_fn);
            dul_pause(a);
            net_timer_arm(loop, &pt->t, pause_ms);
        }
        return;
    }
    if (cs->cmd_len + pdv->len > 65536) {
        cs->cmd_overflow = true;
    } else {
        if (cs->cmd_len + pdv->len > cs->cmd_cap) {
            cs->cmd_cap = cs->cmd_len + pdv->len;
            cs->cmd = realloc(cs->cmd, cs->cmd_cap);
        }
        memcpy(cs->cmd + cs->cmd_len, pdv->data, pdv->len);
        cs->cmd_len += pdv->len;
    }
    if (!pdv->last)
        return;
    struct command c;
    bool ok = !cs->cmd_overflow && parse_command(cs->cmd, cs->cmd_len, &c);
    cs->cmd_len = 0;
    cs->cmd_overflow = false;
    if (!ok) {
        char hex[200] = "";
        for (size_t i = 0; i < pdv->len && i < 48; i++)
            snprintf(hex + 3 * i, 4, "%02x ", pdv->data[i]);
        ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(a),
                  "test server: unreadable command set (%zu bytes: %s)", pdv->len, hex);
        dul_abort(a);
        return;
    }
    if (c.field == 0x0030) {
        uint8_t rsp[512];
        size_t n = build_rsp(rsp, 0x8030, c.message_id, c.sop_class[0] ? c.sop_class
                                                                       : "1.2.840.10008.1.1",
                             NULL, 0x0000);
        out("ECHO %u %u", cs->id, c.message_id);
        dul_send_pdv(a, pdv->pc_id, true, true, rsp, n);
    } else if (c.field == 0x0001 && c.dataset_type != 0x0101) {
        cs->in_dataset = true;
        cs->dataset_bytes = 0;
        cs->store_pc = pdv->pc_id;
        cs->store_msg_id = c.message_id;
        memcpy(cs->store_class, c.sop_class, sizeof cs->store_class);
        memcpy(cs->store_instance, c.sop_instance, sizeof cs->store_instance);
    } else {
        ferry_log(FERRY_LOG_WARN, dul_assoc_log_ctx(a), "test server: command 0x%04x not handled",
                  c.field);
        dul_abort(a);
    }
}

static void resume_timer_fn(struct net_timer *t)
{
    struct pause_timer *pt = (struct pause_timer *)t;
    dul_resume(pt->a);
    free(pt);
}

static void on_aborted(struct dul_assoc *a, void *arg, const struct dul_abort_info *why)
{
    (void)a;
    struct conn_state *cs = arg;
    out("ABORTED %u %s", cs->id, why->message ? why->message : "-");
}

static void on_closed(struct dul_assoc *a, void *arg)
{
    (void)a;
    struct conn_state *cs = arg;
    out("MAXPDV %u %zu", cs->id, cs->max_pdv);
    out("CLOSED %u", cs->id);
    free(cs->cmd);
    free(cs);
}

static void on_release_requested(struct dul_assoc *a, void *arg)
{
    struct conn_state *cs = arg;
    out("RELEASED %u", cs->id);
    dul_release_response(a);
}

static const struct dul_assoc_ops ops = {
    .on_established = on_established,
    .on_pdv = on_pdv,
    .on_release_requested = on_release_requested,
    .on_aborted = on_aborted,
    .on_closed = on_closed,
};

static void on_accept(struct dul_server *s, void *arg, struct dul_assoc *a)
{
    (void)s;
    (void)arg;
    struct conn_state *cs = calloc(1, sizeof *cs);
    if (!cs)
        return; /* no ops: dul aborts it */
    cs->id = dul_assoc_info(a)->id;
    dul_assoc_set_ops(a, &ops, cs);
}

/* ------------------------------------------------------------ shutdown */

static void drained(void *arg)
{
    (void)arg;
    net_loop_stop(loop);
}

static void server_done(void *arg)
{
    (void)arg;
    net_loop_drain(loop, 2000, drained, NULL);
}

static void on_signal(void *arg, int res)
{
    (void)arg;
    if (res < 0 || stopping)
        return;
    stopping = true;
    ferry_log(FERRY_LOG_INFO, "test-server", "signal %u, shutting down", siginfo.ssi_signo);
    dul_server_shutdown(server, 3000, server_done, NULL);
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
            "usage: dul_test_server [--host ADDR] [--port N] [--ae TITLE]... [--peer AE=CIDR[,CIDR]]...\n"
            "  [--abstract UID]... [--ts UID]... [--max-pdu N] [--max-assoc N] [--max-per-peer N]\n"
            "  [--artim-ms N] [--idle-ms N] [--pdu-ms N] [--require-identity] [--pause-ms N]\n"
            "  [--debug]\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned port = 0;
    const char *ae[MAX_LIST], *abstract[MAX_LIST], *ts[MAX_LIST];
    struct dul_peer_rule peers[MAX_LIST];
    const char *cidrs[MAX_LIST][8];
    char *peer_ae[MAX_LIST];
    struct dul_policy pol = { 0 };
    size_t n_ae = 0, n_abs = 0, n_ts = 0, n_peers = 0;
    enum ferry_log_level level = FERRY_LOG_INFO;

    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(o, "--host") && v)
            host = v;
        else if (!strcmp(o, "--port") && v)
            port = (unsigned)atoi(v);
        else if (!strcmp(o, "--ae") && v && n_ae < MAX_LIST)
            ae[n_ae++] = v;
        else if (!strcmp(o, "--abstract") && v && n_abs < MAX_LIST)
            abstract[n_abs++] = v;
        else if (!strcmp(o, "--ts") && v && n_ts < MAX_LIST)
            ts[n_ts++] = v;
        else if (!strcmp(o, "--peer") && v && n_peers < MAX_LIST) {
            char *copy = strdup(v);
            char *eq = strchr(copy, '=');
            struct dul_peer_rule *r = &peers[n_peers];
            memset(r, 0, sizeof *r);
            peer_ae[n_peers] = copy;
            if (eq) {
                *eq = '\0';
                char *save = NULL;
                for (char *t = strtok_r(eq + 1, ",", &save); t && r->n_cidrs < 8;
                     t = strtok_r(NULL, ",", &save))
                    cidrs[n_peers][r->n_cidrs++] = t;
                r->cidrs = cidrs[n_peers];
            }
            r->calling_ae = copy;
            n_peers++;
        } else if (!strcmp(o, "--max-pdu") && v)
            pol.max_pdu = (uint32_t)atoi(v);
        else if (!strcmp(o, "--max-assoc") && v)
            pol.max_associations = (unsigned)atoi(v);
        else if (!strcmp(o, "--max-per-peer") && v)
            pol.max_associations_per_peer = (unsigned)atoi(v);
        else if (!strcmp(o, "--artim-ms") && v)
            pol.artim_ms = (unsigned)atoi(v);
        else if (!strcmp(o, "--idle-ms") && v)
            pol.idle_ms = (unsigned)atoi(v);
        else if (!strcmp(o, "--pdu-ms") && v)
            pol.pdu_ms = (unsigned)atoi(v);
        else if (!strcmp(o, "--pause-ms") && v)
            pause_ms = (unsigned)atoi(v);
        else if (!strcmp(o, "--require-identity")) {
            pol.require_user_identity = true;
            takes = false;
        } else if (!strcmp(o, "--debug")) {
            level = FERRY_LOG_DEBUG;
            takes = false;
        } else {
            usage();
            return 2;
        }
        if (takes)
            i++;
    }
    ferry_log_init(2, level);
    pol.ae_titles = ae;
    pol.n_ae_titles = n_ae;
    pol.abstract_syntaxes = abstract;
    pol.n_abstract_syntaxes = n_abs;
    pol.transfer_syntaxes = ts;
    pol.n_transfer_syntaxes = n_ts;
    pol.peers = peers;
    pol.n_peers = n_peers;

    struct ferry_error *err = NULL;
    loop = net_loop_new(NULL, &err);
    if (!loop)
        goto out_err;
    server = dul_server_new(loop, &pol, on_accept, NULL, &err);
    if (!server || dul_server_listen(server, host, (uint16_t)port, &err) < 0)
        goto out_err;
    for (size_t i = 0; i < n_peers; i++)
        free(peer_ae[i]);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    net_file_read(loop, sfd, &siginfo, sizeof siginfo, 0, on_signal, NULL);

    out("PORT %u", dul_server_port(server, 0));
    int rc = net_loop_run(loop);
    dul_server_free(server);
    net_loop_free(loop);
    close(sfd);
    return rc < 0 ? 1 : 0;

out_err:
    fprintf(stderr, "dul_test_server: %s\n", ferry_error_message(err));
    ferry_error_free(err);
    return 1;
}
