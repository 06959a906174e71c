/* Unit tests for src/conf: defaults, units, schema errors, YAML errors,
 * includes, names. Routes, pipelines, steps and reload: test_conf_rules.c. */
#include "test_conf.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Helpers */

static char test_dir[64];

void conf_test_setup(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/ferry-conf-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(test_dir));
    ck_assert_int_eq(chdir(test_dir), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

void conf_test_teardown(void)
{
    ck_assert_int_eq(chdir("/"), 0);
    nftw(test_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void write_file(const char *name, const char *text)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s", name);
    for (char *s = strchr(dir, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    FILE *f = fopen(name, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *last_text;

const char *load_text(const char *name, const struct conf_options *opts)
{
    struct conf_options def = { .dict = &test_dict };
    struct conf_errors *errors = NULL;
    const struct conf *c = conf_load(name, opts ? opts : &def, &errors);
    size_t len = 0;
    free(last_text);
    last_text = NULL;
    FILE *out = open_memstream(&last_text, &len);
    if (c) {
        ck_assert_ptr_null(errors);
        fputs("OK\n", out);
        conf_unref(c);
    } else {
        ck_assert_ptr_nonnull(errors);
        conf_errors_print(errors, out);
        conf_errors_free(errors);
    }
    fclose(out);
    return last_text;
}

void assert_text_at(const char *file, int line, const char *got, const char *expected)
{
    const char *g = got, *e = expected;
    for (int n = 1;; n++) {
        const char *ge = strchr(g, '\n'), *ee = strchr(e, '\n');
        size_t gl = ge ? (size_t)(ge - g) : strlen(g), el = ee ? (size_t)(ee - e) : strlen(e);
        if (gl != el || memcmp(g, e, gl) != 0 || !ge != !ee)
            ck_abort_msg("%s:%d: output line %d differs\n got:      %.*s\n expected: %.*s", file,
                         line, n, (int)(gl > 600 ? 600 : gl), g, (int)(el > 600 ? 600 : el), e);
        if (!ge)
            return;
        g = ge + 1;
        e = ee + 1;
    }
}

const struct conf *load_ok(const char *name, const struct conf_options *opts)
{
    struct conf_options def = { .dict = &test_dict };
    struct conf_errors *errors = NULL;
    const struct conf *c = conf_load(name, opts ? opts : &def, &errors);
    if (!c) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        conf_errors_print(errors, out);
        fclose(out);
        ck_abort_msg("%s did not load:\n%s", name, text);
    }
    return c;
}

static const struct {
    const char *keyword;
    uint32_t tag;
    const char *vr;
} dict_table[] = {
    { "StudyDate", 0x00080020, "DA" },
    { "Modality", 0x00080060, "CS" },
    { "StationName", 0x00081010, "SH" },
    { "StudyDescription", 0x00081030, "LO" },
    { "PatientName", 0x00100010, "PN" },
    { "PatientID", 0x00100020, "LO" },
    { "PatientAge", 0x00101010, "AS" },
    { "SliceThickness", 0x00180050, "DS" },
    { "BurnedInAnnotation", 0x00280301, "CS" },
    { "RequestedProcedurePriority", 0x00401003, "SH" },
};

static int dict_lookup(void *ud, const char *keyword, uint32_t *tag, char vr[3])
{
    (void)ud;
    for (size_t i = 0; i < sizeof dict_table / sizeof *dict_table; i++) {
        if (strcmp(dict_table[i].keyword, keyword) == 0) {
            *tag = dict_table[i].tag;
            memcpy(vr, dict_table[i].vr, 3);
            return 0;
        }
    }
    return -ENOENT;
}

const struct route_dict test_dict = { dict_lookup, NULL };

int fake_get(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size)
{
    for (const struct fake_elem *e = ud; e->tag; e++) {
        if (e->tag != tag)
            continue;
        const char *v = e->value;
        for (uint32_t k = 0; k < index; k++) {
            v = strchr(v, '\\');
            if (!v)
                return -ENOENT;
            v++;
        }
        const char *end = strchr(v, '\\');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        snprintf(buf, size, "%.*s", (int)len, v);
        return (int)len;
    }
    return -ENOENT;
}

/* ---------------------------------------------------------------------------
 * Defaults */

static void check_defaults(const struct conf *c)
{
    const struct conf_server *s = &c->server;
    ck_assert_str_eq(s->ae_title, "FERRY");
    ck_assert_uint_eq(s->port, 11112);
    ck_assert_uint_eq(s->bind.n, 1);
    ck_assert_str_eq(s->bind.v[0], "0.0.0.0");
    ck_assert_str_eq(s->data_dir, "./ferry-data");
    ck_assert_int_eq(s->log_level, 2);
    ck_assert_str_eq(s->log_file, "");
    ck_assert_str_eq(s->pid_file, "");
    ck_assert_str_eq(s->control_socket, "./ferry-data/ferry.sock");
    ck_assert_uint_eq(s->worker_threads, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    ck_assert_str_eq(s->plugin_dir, "");
    ck_assert_uint_eq(s->plugins.n, 1);
    ck_assert_str_eq(s->plugins.v[0], "*");

    const struct conf_limits *l = &c->limits;
    ck_assert_uint_eq(l->max_pdu, 256 * 1024);
    ck_assert_uint_eq(l->max_associations, 1000);
    ck_assert_uint_eq(l->max_associations_per_peer, 32);
    ck_assert_uint_eq(l->max_element_length, 2ull << 30);
    ck_assert_uint_eq(l->max_sequence_depth, 32);
    ck_assert_uint_eq(l->artim_ms, 30000);
    ck_assert_uint_eq(l->idle_ms, 300000);
    ck_assert_uint_eq(l->pdu_ms, 60000);
    ck_assert_uint_eq(l->shutdown_ms, 30000);

    const struct conf_accept *a = &c->accept;
    ck_assert_uint_eq(a->calling_ae_titles.n, 0);
    ck_assert_uint_eq(a->peers.n, 0);
    ck_assert_uint_eq(a->sop_classes.n, 0);
    ck_assert_uint_eq(a->transfer_syntaxes.n, 2);
    ck_assert_str_eq(a->transfer_syntaxes.uids[0], "1.2.840.10008.1.2.1");
    ck_assert_str_eq(a->transfer_syntaxes.uids[1], "1.2.840.10008.1.2");
    ck_assert(a->transfer_syntaxes.others);
    ck_assert(!a->require_user_identity);

    const struct conf_storage *st = &c->storage;
    ck_assert_int_eq(st->duplicates, CONF_DUP_KEEP_NEWEST);
    ck_assert_uint_eq(st->retention_ms, 7ull * 86400000);
    ck_assert(st->fsync);
    ck_assert_uint_eq(st->group_commit_instances, 64);
    ck_assert_uint_eq(st->group_commit_delay_ms, 2);
    ck_assert_str_eq(st->quarantine_dir, "./ferry-data/quarantine");

    ck_assert_uint_eq(c->n_destinations, 0);
    ck_assert_uint_eq(c->n_pipelines, 0);
    ck_assert_uint_eq(route_rules_count(c->rules), 0);
}

START_TEST(test_defaults)
{
    write_file("empty.yaml", "");
    const struct conf *c = load_ok("empty.yaml", NULL);
    check_defaults(c);
    ck_assert_str_eq(c->path, "empty.yaml");
    ck_assert_uint_eq(c->files.n, 1);
    ck_assert_str_eq(c->files.v[0], "empty.yaml");
    conf_unref(c);
    write_file("comments.yaml", "# nothing but a comment\n---\n");
    c = load_ok("comments.yaml", NULL);
    check_defaults(c);
    conf_unref(c);
    /* Empty sections take their defaults too. */
    write_file("sections.yaml", "server: {}\nlimits: {}\naccept: {}\nstorage: {}\n"
                                "destinations: []\npipelines: {}\nroutes: []\n");
    c = load_ok("sections.yaml", NULL);
    check_defaults(c);
    conf_unref(c);
}
END_TEST

START_TEST(test_shipped_default)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config/ferry.yaml", getenv("FERRY_SOURCE_DIR"));
    const struct conf *c = load_ok(path, NULL);
    /* Every value the shipped file writes out is the built-in default. */
    check_defaults(c);
    conf_unref(c);
}
END_TEST

START_TEST(test_overrides)
{
    write_file("c.yaml", "server: { data_dir: /srv/a, port: 104 }\n");
    struct conf_options o = { .dict = &test_dict, .data_dir = "/srv/b", .port = 4242 };
    const struct conf *c = load_ok("c.yaml", &o);
    ck_assert_str_eq(c->server.data_dir, "/srv/b");
    ck_assert_uint_eq(c->server.port, 4242);
    ck_assert_str_eq(c->server.control_socket, "/srv/b/ferry.sock");
    ck_assert_str_eq(c->storage.quarantine_dir, "/srv/b/quarantine");
    conf_unref(c);
    /* Explicit values are kept. */
    write_file("d.yaml", "server: { control_socket: /run/f.sock, worker_threads: 3 }\n"
                         "storage: { quarantine_dir: /q }\n");
    c = load_ok("d.yaml", NULL);
    ck_assert_str_eq(c->server.control_socket, "/run/f.sock");
    ck_assert_uint_eq(c->server.worker_threads, 3);
    ck_assert_str_eq(c->storage.quarantine_dir, "/q");
    conf_unref(c);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Units */

START_TEST(test_units)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } durations[] = {
        { "30s", 30000 },    { "5m", 300000 },      { "1h", 3600000 },  { "1h30m", 5400000 },
        { "1.5h", 5400000 }, { "250ms", 250 },      { "0", 0 },         { "7d", 604800000 },
        { "2m 30s", 150000 }, { "0.5s", 500 },      { " 10s", 10000 },
    };
    for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
        uint64_t v = 1;
        ck_assert_msg(conf_parse_duration_text(durations[i].text, &v) == 0, "%s",
                      durations[i].text);
        ck_assert_uint_eq(v, durations[i].ms);
    }
    static const char *const bad_durations[] = { "30", "5 minutes", "", "1x", "-1s", "1.s",
                                                 "s", "10S", "1h 30" };
    for (size_t i = 0; i < sizeof bad_durations / sizeof *bad_durations; i++) {
        uint64_t v;
        ck_assert_msg(conf_parse_duration_text(bad_durations[i], &v) == -EINVAL, "%s",
                      bad_durations[i]);
    }

    static const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {
        { "4096", 4096 },      { "256KiB", 262144 },   { "1 MiB", 1048576 },
        { "64 kB", 64000 },    { "1.5KiB", 1536 },     { "2GiB", 2147483648ull },
        { "1MB", 1000000 },    { "3B", 3 },
    };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t v = 1;
        ck_assert_msg(conf_parse_size_text(sizes[i].text, &v) == 0, "%s", sizes[i].text);
        ck_assert_uint_eq(v, sizes[i].bytes);
    }
    static const char *const bad_sizes[] = { "1 mib", "KiB", "-1", "1 KiB/s", "",
                                             "99999999999999999999" };
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        uint64_t v;
        ck_assert_msg(conf_parse_size_text(bad_sizes[i], &v) == -EINVAL, "%s", bad_sizes[i]);
    }

    static const struct {
        const char *text;
        uint64_t bps;
    } rates[] = {
        { "2 Mbit/s", 250000 }, { "500 KiB/s", 512000 }, { "1.5 Mbit/s", 187500 },
        { "unlimited", 0 },     { "8 bit/s", 1 },        { "1 Gbit/s", 125000000 },
        { "10MB/s", 10000000 },
    };
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        uint64_t v = 1;
        ck_assert_msg(conf_parse_rate_text(rates[i].text, &v) == 0, "%s", rates[i].text);
        ck_assert_uint_eq(v, rates[i].bps);
    }
    static const char *const bad_rates[] = { "2 Mbps", "1 bit/s", "fast", "2 Mbit", "2" };
    for (size_t i = 0; i < sizeof bad_rates / sizeof *bad_rates; i++) {
        uint64_t v;
        ck_assert_msg(conf_parse_rate_text(bad_rates[i], &v) == -EINVAL, "%s", bad_rates[i]);
    }

    char buf[32];
    conf_format_size(262144, buf, sizeof buf);
    ck_assert_str_eq(buf, "256KiB");
    conf_format_size(4294967294ull, buf, sizeof buf);
    ck_assert_str_eq(buf, "4294967294B"); /* not a whole KiB: in bytes */
    conf_format_size(1000, buf, sizeof buf);
    ck_assert_str_eq(buf, "1000B");
    route_format_duration(5400000, buf, sizeof buf);
    ck_assert_str_eq(buf, "1h30m");
    route_format_duration(90061001, buf, sizeof buf);
    ck_assert_str_eq(buf, "1d1h1m1s1ms");

    /* Values in a file, with units. */
    write_file("u.yaml", "limits: { max_pdu: 1 MiB, idle_timeout: 1h30m, pdu_timeout: 1.5m }\n"
                         "destinations:\n"
                         "  - { name: d, host: h, called_ae: X, bandwidth: 1.5 Mbit/s,\n"
                         "      window: '22:00-06:00', retry: { jitter: 0% } }\n");
    const struct conf *c = load_ok("u.yaml", NULL);
    ck_assert_uint_eq(c->limits.max_pdu, 1048576);
    ck_assert_uint_eq(c->limits.idle_ms, 5400000);
    ck_assert_uint_eq(c->limits.pdu_ms, 90000);
    ck_assert_uint_eq(c->destinations[0].bandwidth, 187500);
    ck_assert(c->destinations[0].window.set);
    ck_assert_uint_eq(c->destinations[0].window.start_min, 22 * 60);
    ck_assert_uint_eq(c->destinations[0].window.end_min, 6 * 60);
    ck_assert_uint_eq(c->destinations[0].retry_jitter, 0);
    conf_unref(c);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Schema errors: every kind, with its exact text and place */

START_TEST(test_errors_server)
{
    write_file("c.yaml", "server:\n"
                         "  prot: 104\n"
                         "  port: 70000\n"
                         "  ae_title: A_VERY_LONG_AE_TITLE\n"
                         "  worker_threads: lots\n"
                         "  log_level: loud\n"
                         "  bind: [10.0.0.1, localhost]\n"
                         "  data_dir: ''\n"
                         "  plugins: [jpegls, 'bad name']\n"
                         "  port: 104\n"
                         "sever: {}\n");
    assert_text(
        load_text("c.yaml", NULL),
        "c.yaml:2:3: unknown key 'prot' in server; did you mean 'port'?\n"
        "c.yaml:3:9: server.port: expected an integer from 1 to 65535, found '70000'\n"
        "c.yaml:4:13: server.ae_title: expected an AE title (1 to 16 characters, no backslash "
        "or control characters), found 'A_VERY_LONG_AE_TITLE'\n"
        "c.yaml:5:19: server.worker_threads: expected auto or an integer from 1 to 256, found "
        "'lots'\n"
        "c.yaml:6:14: server.log_level: expected one of error, warn, info, debug, found 'loud'\n"
        "c.yaml:7:20: server.bind[1]: expected an IPv4 or IPv6 address, found 'localhost'\n"
        "c.yaml:8:13: server.data_dir: expected a path, found an empty value\n"
        "c.yaml:9:21: server.plugins[1]: expected a plugin name, or '*' for every plugin, "
        "found 'bad name'\n"
        "c.yaml:10:3: duplicate key 'port' (first given at 3:3)\n"
        "c.yaml:11:1: unknown key 'sever' at the top level; did you mean 'server'?\n");
}
END_TEST

START_TEST(test_errors_types)
{
    write_file("c.yaml", "server: [a, b]\n"
                         "limits:\n"
                         "  max_pdu: 1GiB\n"
                         "  max_associations: -1\n"
                         "  idle_timeout: 5 minutes\n"
                         "  artim_timeout: {}\n"
                         "  max_sequence_depth: [3]\n"
                         "accept:\n"
                         "  peers: [10.0.0.0/33, 'fd00::/8', 10.0.0.1/8]\n"
                         "  transfer_syntaxes: [jpeg-xx, '*', explicit-little, explicit-little]\n"
                         "  sop_classes: [CTImage, 1.2.3.04]\n"
                         "  calling_ae_titles: ['CT_*', 'A\\\\B']\n"
                         "  require_user_identity: yes\n"
                         "storage:\n"
                         "  duplicates: newest\n"
                         "  retention: 1y\n"
                         "  fsync: 1\n"
                         "  group_commit: { max_instances: 0, max_delay: 2s }\n");
    assert_text(
        load_text("c.yaml", NULL),
        "c.yaml:1:9: server: expected a mapping, found a list\n"
        "c.yaml:3:12: limits.max_pdu: expected a size from 4KiB to 16MiB (such as 4096, "
        "256KiB, 1MiB), found '1GiB'\n"
        "c.yaml:4:21: limits.max_associations: expected an integer from 1 to 65535, found "
        "'-1'\n"
        "c.yaml:5:17: limits.idle_timeout: expected a duration from 1s to 1d (such as 500ms, "
        "30s, 5m, 1h), found '5 minutes'\n"
        "c.yaml:6:18: limits.artim_timeout: expected a duration from 1s to 10m (such as "
        "500ms, 30s, 5m, 1h), found a mapping\n"
        "c.yaml:7:23: limits.max_sequence_depth: expected an integer from 1 to 256, found a "
        "list\n"
        "c.yaml:9:11: accept.peers[0]: '10.0.0.0/33': prefix length must be from 0 to 32\n"
        "c.yaml:9:36: accept.peers[2]: '10.0.0.1/8' has bits set after the prefix (the block "
        "is 10.0.0.0/8)\n"
        "c.yaml:10:23: accept.transfer_syntaxes[0]: unknown transfer syntax 'jpeg-xx' "
        "(expected a name such as explicit-little or jpeg-ls-lossless, a UID, or '*')\n"
        "c.yaml:10:32: accept.transfer_syntaxes[1]: '*' must be the last entry\n"
        "c.yaml:10:54: accept.transfer_syntaxes[3]: 'explicit-little' is listed twice\n"
        "c.yaml:11:17: accept.sop_classes[0]: unknown SOP class 'CTImage' (expected a keyword "
        "such as CTImageStorage, or a UID)\n"
        "c.yaml:11:26: accept.sop_classes[1]: unknown SOP class '1.2.3.04' (expected a "
        "keyword such as CTImageStorage, or a UID)\n"
        "c.yaml:12:31: accept.calling_ae_titles[1]: expected an AE title, wildcards allowed "
        "(1 to 16 characters, no backslash or control characters), found 'A\\\\B'\n"
        "c.yaml:13:26: accept.require_user_identity: expected true or false, found 'yes'\n"
        "c.yaml:15:15: storage.duplicates: expected one of keep-newest, keep-first, reject, "
        "found 'newest'\n"
        "c.yaml:16:14: storage.retention: expected a duration (such as 0s, 12h or 7d) up to "
        "3650d, or forever, found '1y'\n"
        "c.yaml:17:10: storage.fsync: expected true or false, found '1'\n"
        "c.yaml:18:34: storage.group_commit.max_instances: expected an integer from 1 to "
        "10000, found '0'\n"
        "c.yaml:18:48: storage.group_commit.max_delay: expected a duration from 0s to 1s "
        "(such as 500ms, 30s, 5m, 1h), found '2s'\n");
}
END_TEST

START_TEST(test_errors_destinations)
{
    write_file("c.yaml",
               "destinations:\n"
               "  - name: center\n"
               "    host: 10.1.0.5\n"
               "    called_ae: READ\n"
               "    bandwidth: 2 Mbits\n"
               "    window: 22:00-06:61\n"
               "    retry: { initial: 10m, max: 5m, jitter: 120% }\n"
               "    timeouts: { connect: 0s, idle: 0 }\n"
               "    fallback: jpeg-xx\n"
               "  - name: center\n"
               "    host: 'bad host'\n"
               "    called_ae: Y\n"
               "    window: 06:00-06:00\n"
               "    transfer_syntaxes: []\n"
               "  - port: 104\n"
               "    hots: x\n"
               "  - name: -x\n"
               "    host: h\n"
               "    called_ae: ''\n"
               "    parallel: 65\n");
    assert_text(
        load_text("c.yaml", NULL),
        "c.yaml:2:5: destinations[0]: retry.initial (10m) is longer than retry.max (5m)\n"
        "c.yaml:5:16: destinations[0].bandwidth: expected a rate such as 2 Mbit/s or 500 "
        "KiB/s, or unlimited, found '2 Mbits'\n"
        "c.yaml:6:13: destinations[0].window: expected a time window such as 22:00-06:00, or "
        "always, found '22:00-06:61'\n"
        "c.yaml:7:45: destinations[0].retry.jitter: expected a percentage from 0% to 100%, "
        "found '120%'\n"
        "c.yaml:8:26: destinations[0].timeouts.connect: expected a duration from 1s to 10m "
        "(such as 500ms, 30s, 5m, 1h), found '0s'\n"
        "c.yaml:9:15: destinations[0].fallback: expected a transfer syntax (a name such as "
        "explicit-little, or a UID), or none, found 'jpeg-xx'\n"
        "c.yaml:10:5: destinations[1]: a destination named 'center' is defined already (at "
        "c.yaml:2:5)\n"
        "c.yaml:11:11: destinations[1].host: expected a host name or an IP address, found "
        "'bad host'\n"
        "c.yaml:13:13: destinations[1].window: the window 06:00-06:00 is empty (for any time, "
        "write always)\n"
        "c.yaml:14:24: destinations[1].transfer_syntaxes: expected at least one transfer "
        "syntax\n"
        "c.yaml:15:5: destinations[2]: missing required key 'name'\n"
        "c.yaml:15:5: destinations[2]: missing required key 'host'\n"
        "c.yaml:15:5: destinations[2]: missing required key 'called_ae'\n"
        "c.yaml:16:5: unknown key 'hots' in destinations[2]; did you mean 'host'?\n"
        "c.yaml:17:11: destinations[3].name: expected a name (letters, digits, '.', '_' and "
        "'-', up to 64 characters), found '-x'\n"
        "c.yaml:19:16: destinations[3].called_ae: expected an AE title (1 to 16 characters, "
        "no backslash or control characters), found an empty value\n"
        "c.yaml:20:15: destinations[3].parallel: expected an integer from 1 to 64, found "
        "'65'\n");

    /* Good ones: defaults, shorthands, the calling AE from the server. */
    write_file("ok.yaml", "server: { ae_title: QS_FERRY }\n"
                          "destinations:\n"
                          "  - { name: a, host: 10.0.0.1, called_ae: ' A ' }\n"
                          "  - name: b\n"
                          "    host: b.example.org\n"
                          "    port: 11112\n"
                          "    called_ae: B\n"
                          "    calling_ae: ME\n"
                          "    transfer_syntaxes: jpeg-ls-lossless\n"
                          "    fallback: none\n"
                          "    retry: &slow { initial: 1m, max: 1h }\n"
                          "  - { name: c, host: c, called_ae: C, retry: *slow }\n");
    const struct conf *c = load_ok("ok.yaml", NULL);
    ck_assert_uint_eq(c->n_destinations, 3);
    const struct conf_destination *a = conf_destination(c, "a");
    ck_assert_ptr_eq(a, &c->destinations[0]);
    ck_assert_str_eq(a->called_ae, "A");
    ck_assert_str_eq(a->calling_ae, "QS_FERRY");
    ck_assert_uint_eq(a->port, 104);
    ck_assert_uint_eq(a->parallel, 1);
    ck_assert_uint_eq(a->max_pdu, 262144);
    ck_assert_uint_eq(a->bandwidth, 0);
    ck_assert(!a->window.set);
    ck_assert_uint_eq(a->retry_initial_ms, 5000);
    ck_assert_uint_eq(a->retry_max_ms, 600000);
    ck_assert_uint_eq(a->retry_jitter, 20);
    ck_assert_uint_eq(a->transfer_syntaxes.n, 0);
    ck_assert(a->transfer_syntaxes.others);
    ck_assert_str_eq(a->fallback, "1.2.840.10008.1.2.1");
    ck_assert_uint_eq(a->connect_timeout_ms, 10000);
    ck_assert_uint_eq(a->response_timeout_ms, 60000);
    ck_assert_uint_eq(a->idle_timeout_ms, 30000);
    ck_assert_uint_eq(a->loc.line, 3);
    ck_assert_uint_eq(a->loc.col, 5);
    const struct conf_destination *b = conf_destination(c, "b");
    ck_assert_str_eq(b->calling_ae, "ME");
    ck_assert_uint_eq(b->transfer_syntaxes.n, 1);
    ck_assert_str_eq(b->transfer_syntaxes.uids[0], "1.2.840.10008.1.2.4.80");
    ck_assert(!b->transfer_syntaxes.others);
    ck_assert_ptr_null(b->fallback);
    /* An alias repeats the anchored value. */
    ck_assert_uint_eq(conf_destination(c, "c")->retry_initial_ms, 60000);
    ck_assert_uint_eq(conf_destination(c, "c")->retry_max_ms, 3600000);
    ck_assert_ptr_null(conf_destination(c, "e"));
    conf_unref(c);
}
END_TEST

START_TEST(test_errors_yaml)
{
    write_file("syntax.yaml", "server:\n  port: 104\n ae_title: X\n");
    assert_text(load_text("syntax.yaml", NULL),
                     "syntax.yaml:3:2: invalid YAML: did not find expected key (while parsing "
                     "a block mapping at 1:1)\n");
    write_file("tab.yaml", "server:\n\tport: 104\n");
    assert_text(load_text("tab.yaml", NULL),
                     "tab.yaml:2:1: invalid YAML: found character that cannot start any token "
                     "(while scanning for the next token at 2:1)\n");
    write_file("two.yaml", "server: {}\n---\nlimits: {}\n");
    assert_text(load_text("two.yaml", NULL),
                     "two.yaml:2:1: a second YAML document; a config file holds one\n");
    write_file("two-bad.yaml", "server: {}\n---\n[a\n");
    assert_text(load_text("two-bad.yaml", NULL),
                "two-bad.yaml:4:1: invalid YAML: did not find expected ',' or ']' (while parsing a "
                "flow sequence at 3:1)\n");
    write_file("list.yaml", "- server\n");
    assert_text(load_text("list.yaml", NULL),
                     "list.yaml:1:1: expected a mapping of settings at the top level, found a "
                     "list\n");
    assert_text(load_text("missing.yaml", NULL),
                     "missing.yaml: cannot read: No such file or directory\n");
    mkdir("folder.yaml", 0755);
    assert_text(load_text("folder.yaml", NULL), "folder.yaml: cannot read: it is a folder\n");
    write_file("nul.yaml", "server: { ae_title: \"A\\0B\" }\n");
    assert_text(load_text("nul.yaml", NULL),
                     "nul.yaml:1:21: server.ae_title: expected an AE title (1 to 16 "
                     "characters, no backslash or control characters), found 'A'\n");
    write_file("key.yaml", "? [a]\n: 1\n");
    assert_text(load_text("key.yaml", NULL), "key.yaml:1:3: a key must be a plain name\n");
    write_file("utf8.yaml", "server: { ae_title: \"\xff\" }\n");
    assert_text(load_text("utf8.yaml", NULL),
                     "utf8.yaml:1:22: invalid YAML: invalid leading UTF-8 octet\n");
}
END_TEST

START_TEST(test_error_limit)
{
    /* More errors than CONF_MAX_ERRORS: the rest are counted, not listed. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("server:\n", f);
    for (int i = 0; i < CONF_MAX_ERRORS + 5; i++)
        fprintf(f, "  bad%d: 1\n", i);
    fclose(f);
    write_file("many.yaml", text);
    free(text);
    struct conf_errors *errors = NULL;
    struct conf_options o = { .dict = &test_dict };
    ck_assert_ptr_null(conf_load("many.yaml", &o, &errors));
    ck_assert_uint_eq(errors->n, CONF_MAX_ERRORS);
    ck_assert_uint_eq(errors->dropped, 5);
    ck_assert_str_eq(errors->v[0].message, "unknown key 'bad0' in server");
    ck_assert_uint_eq(errors->v[0].line, 2);
    ck_assert_uint_eq(errors->v[0].col, 3);
    conf_errors_free(errors);
    conf_errors_free(NULL);
    /* Without an error list, a bad config is still refused. */
    ck_assert_ptr_null(conf_load("many.yaml", &o, NULL));
}
END_TEST

/* ---------------------------------------------------------------------------
 * Includes */

START_TEST(test_include)
{
    write_file("etc/ferry.yaml", "include: [routes.d, 'more/*.yml', dest.yaml, empty.d]\n"
                                 "routes:\n"
                                 "  - { name: main-route, match: { Modality: SR }, discard: true }\n");
    write_file("etc/dest.yaml", "destinations:\n  - { name: d1, host: h, called_ae: D1 }\n");
    write_file("etc/routes.d/20-b.yaml", "routes:\n  - { name: b, forward: d2 }\n");
    write_file("etc/routes.d/10-a.yaml", "routes:\n  - { name: a, forward: [d1, d2] }\n"
                                         "pipelines:\n  p: []\n");
    write_file("etc/routes.d/.hidden.yaml", "this is not read: [\n");
    write_file("etc/routes.d/notes.txt", "neither is this: [\n");
    write_file("etc/more/x.yml", "destinations:\n  - { name: d2, host: h, called_ae: D2 }\n");
    mkdir("etc/empty.d", 0755);
    const struct conf *c = load_ok("etc/ferry.yaml", NULL);
    ck_assert_uint_eq(c->files.n, 5);
    ck_assert_str_eq(c->files.v[0], "etc/ferry.yaml");
    ck_assert_str_eq(c->files.v[1], "etc/routes.d/10-a.yaml");
    ck_assert_str_eq(c->files.v[2], "etc/routes.d/20-b.yaml");
    ck_assert_str_eq(c->files.v[3], "etc/more/x.yml");
    ck_assert_str_eq(c->files.v[4], "etc/dest.yaml");
    ck_assert_uint_eq(c->n_destinations, 2);
    ck_assert_uint_eq(c->n_pipelines, 1);
    /* Routes: the main file's first, then by file. */
    ck_assert_uint_eq(route_rules_count(c->rules), 3);
    ck_assert_str_eq(route_rules_name(c->rules, 0), "main-route");
    ck_assert_str_eq(route_rules_name(c->rules, 1), "a");
    ck_assert_str_eq(route_rules_name(c->rules, 2), "b");
    conf_unref(c);

    /* Run from inside the folder: paths stay relative to the main file. */
    ck_assert_int_eq(chdir("etc"), 0);
    c = load_ok("ferry.yaml", NULL);
    ck_assert_str_eq(c->files.v[1], "routes.d/10-a.yaml");
    conf_unref(c);
    ck_assert_int_eq(chdir(".."), 0);

    /* A single string works too; an absolute path is used as it is. */
    char abs[512], text[600];
    ck_assert_ptr_nonnull(getcwd(abs, sizeof abs - 20));
    strcat(abs, "/etc/dest.yaml");
    snprintf(text, sizeof text, "include: %s\n", abs);
    write_file("abs.yaml", text);
    c = load_ok("abs.yaml", NULL);
    ck_assert_str_eq(c->files.v[1], abs);
    conf_unref(c);
}
END_TEST

START_TEST(test_include_errors)
{
    write_file("ferry.yaml", "include:\n"
                             "  - r.d\n"
                             "  - nothing/*.yaml\n"
                             "  - missing.yaml\n"
                             "  - r.d/a.yaml\n"
                             "  - ferry.yaml\n"
                             "  - ''\n"
                             "destinations:\n"
                             "  - { name: d, host: h, called_ae: D }\n");
    write_file("r.d/a.yaml", "server: { port: 1 }\n"
                             "include: x.yaml\n"
                             "routes:\n"
                             "  - { name: r, forward: nowhere }\n"
                             "destinations:\n"
                             "  - { name: d, host: h, called_ae: D }\n");
    write_file("r.d/b.yaml", "routes: [\n");
    write_file("r.d/c.yaml", "- a\n");
    assert_text(
        load_text("ferry.yaml", NULL),
        "ferry.yaml:3:5: 'nothing/*.yaml' matches no file\n"
        "ferry.yaml:4:5: cannot read 'missing.yaml': No such file or directory\n"
        "ferry.yaml:5:5: 'r.d/a.yaml' is included twice\n"
        "ferry.yaml:6:5: 'ferry.yaml' is the main file itself\n"
        "ferry.yaml:7:5: include[5]: expected a file, folder or pattern, found an empty value\n"
        "r.d/a.yaml:1:1: 'server' is only allowed in the main file\n"
        "r.d/a.yaml:2:1: 'include' is only allowed in the main file\n"
        "r.d/a.yaml:4:25: routes[0].forward.destination: no destination named 'nowhere'\n"
        "r.d/a.yaml:6:5: destinations[0]: a destination named 'd' is defined already (at "
        "ferry.yaml:9:5)\n"
        "r.d/b.yaml:2:1: invalid YAML: did not find expected node content (while parsing a "
        "flow node at 2:1)\n"
        "r.d/c.yaml:1:1: expected a mapping of settings at the top level, found a list\n");
}
END_TEST

/* ---------------------------------------------------------------------------
 * Names and helpers */

START_TEST(test_names)
{
    ck_assert_str_eq(conf_transfer_syntax_uid("jpeg-ls-lossless"), "1.2.840.10008.1.2.4.80");
    ck_assert_str_eq(conf_transfer_syntax_uid("1.2.840.10008.1.2.4.80"), "1.2.840.10008.1.2.4.80");
    ck_assert_str_eq(conf_transfer_syntax_uid("1.2.3.4"), "1.2.3.4");
    ck_assert_ptr_null(conf_transfer_syntax_uid("JPEG-LS-LOSSLESS"));
    ck_assert_str_eq(conf_transfer_syntax_name("1.2.840.10008.1.2.4.90"), "jpeg2000-lossless");
    ck_assert_ptr_null(conf_transfer_syntax_name("1.2.3.4"));
    ck_assert_str_eq(conf_sop_class_uid("CTImageStorage"), "1.2.840.10008.5.1.4.1.1.2");
    ck_assert_str_eq(conf_sop_class_uid("1.2.840.10008.5.1.4.1.1.2"), "1.2.840.10008.5.1.4.1.1.2");
    ck_assert_str_eq(conf_sop_class_uid("1.2.826.0.1.3680043.9.9999.1"),
                     "1.2.826.0.1.3680043.9.9999.1");
    ck_assert_ptr_null(conf_sop_class_uid("Verification")); /* not a storage class */
    ck_assert_uint_ge(conf_n_sop_classes, 150);
    ck_assert(conf_uid_valid("1.2.840.10008.1.2"));
    ck_assert(conf_uid_valid("0.1"));
    ck_assert(!conf_uid_valid("1.02"));
    ck_assert(!conf_uid_valid("1..2"));
    ck_assert(!conf_uid_valid("1.2."));
    ck_assert(!conf_uid_valid(""));
    ck_assert(!conf_uid_valid("1.2.a"));
    ck_assert(!conf_uid_valid("1.22222222222222222222222222222222222222222222222222222222222222"
                              "2"));

    write_file("a.yaml", "accept:\n"
                         "  calling_ae_titles: ['CT_*', ' US1 ']\n"
                         "  peers: [10.21.0.0/16, 'fd21:3::/48']\n"
                         "  sop_classes: [CTImageStorage, 1.2.840.10008.5.1.4.1.1.4]\n");
    const struct conf *c = load_ok("a.yaml", NULL);
    ck_assert_uint_eq(c->accept.sop_classes.n, 2);
    ck_assert_str_eq(c->accept.sop_classes.v[1], "1.2.840.10008.5.1.4.1.1.4");
    ck_assert(conf_accept_calling_ae(c, "CT_DONGHU"));
    ck_assert(conf_accept_calling_ae(c, "US1"));
    ck_assert(conf_accept_calling_ae(c, "US1       "));
    ck_assert(!conf_accept_calling_ae(c, "US2"));
    ck_assert(!conf_accept_calling_ae(c, ""));
    struct sockaddr_in in4 = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET, "10.21.3.9", &in4.sin_addr);
    ck_assert(conf_accept_peer(c, (struct sockaddr *)&in4));
    inet_pton(AF_INET, "10.22.3.9", &in4.sin_addr);
    ck_assert(!conf_accept_peer(c, (struct sockaddr *)&in4));
    inet_pton(AF_INET6, "fd21:3::77", &in6.sin6_addr);
    ck_assert(conf_accept_peer(c, (struct sockaddr *)&in6));
    inet_pton(AF_INET6, "::ffff:10.21.1.1", &in6.sin6_addr);
    ck_assert(conf_accept_peer(c, (struct sockaddr *)&in6));
    inet_pton(AF_INET6, "fd22::1", &in6.sin6_addr);
    ck_assert(!conf_accept_peer(c, (struct sockaddr *)&in6));
    conf_unref(c);
    /* Empty lists accept everyone. */
    write_file("b.yaml", "");
    c = load_ok("b.yaml", NULL);
    ck_assert(conf_accept_calling_ae(c, "ANY"));
    ck_assert(conf_accept_peer(c, (struct sockaddr *)&in6));
    conf_unref(c);
}
END_TEST

static TCase *tcase(const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, conf_test_setup, conf_test_teardown);
    tcase_add_test(tc, t);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("conf");
    suite_add_tcase(s, tcase("defaults", test_defaults));
    suite_add_tcase(s, tcase("shipped_default", test_shipped_default));
    suite_add_tcase(s, tcase("overrides", test_overrides));
    suite_add_tcase(s, tcase("units", test_units));
    suite_add_tcase(s, tcase("errors_server", test_errors_server));
    suite_add_tcase(s, tcase("errors_types", test_errors_types));
    suite_add_tcase(s, tcase("errors_destinations", test_errors_destinations));
    suite_add_tcase(s, tcase("errors_yaml", test_errors_yaml));
    suite_add_tcase(s, tcase("error_limit", test_error_limit));
    suite_add_tcase(s, tcase("include", test_include));
    suite_add_tcase(s, tcase("include_errors", test_include_errors));
    suite_add_tcase(s, tcase("names", test_names));
    suite_add_tcase(s, conf_rules_tcase_pipelines());
    suite_add_tcase(s, conf_rules_tcase_steps());
    suite_add_tcase(s, conf_rules_tcase_routes());
    suite_add_tcase(s, conf_rules_tcase_match_errors());
    suite_add_tcase(s, conf_rules_tcase_consortium());
    suite_add_tcase(s, conf_rules_tcase_reload());
    suite_add_tcase(s, conf_rules_tcase_docs());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
