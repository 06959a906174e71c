/* ferry — config: the schema. Every setting is declared here once: its name,
 * type, default (as YAML text, parsed by the same code as the files), limits,
 * and whether it can change on a live reload (CONF_RESTART: it cannot; a
 * reload keeps the running value and says that a restart is needed).
 *
 * docs/config.md describes each of these for administrators; a unit test
 * checks that every key here appears there. Routes, pipelines and the
 * match language are read by rules.c (their shape is not a flat table).
 */
#include "conf/conf-private.h"

#include <stddef.h>

#define FIELD(base, member) offsetof(base, member), sizeof(((base *)0)->member)

#define C(name, type, member, def, min, max, flags) \
    { name, &conf_t_##type, FIELD(struct conf, member), def, min, max, flags, NULL }
#define CE(name, member, def, names, flags) \
    { name, &conf_t_enum, FIELD(struct conf, member), def, 0, 0, flags, names }
#define D(name, type, member, def, min, max, flags) \
    { name, &conf_t_##type, FIELD(struct conf_destination, member), def, min, max, flags, NULL }
#define SECTION(name, table) { name, &conf_t_section, 0, 0, NULL, 0, 0, 0, &table }
#define DEFERRED(name) { name, &conf_t_deferred, 0, 0, NULL, 0, 0, 0, NULL }
#define TABLE(name, keys) { name, keys, sizeof keys / sizeof *keys }

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define GiB (1024ull * 1024 * 1024)
#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const duplicates[] = { "keep-newest", "keep-first", "reject", NULL };

static const struct conf_key server_keys[] = {
    C("ae_title", ae, server.ae_title, "FERRY", 0, 0, 0),
    C("port", uint, server.port, "11112", 1, 65535, CONF_RESTART),
    C("bind", ip_list, server.bind, "['0.0.0.0']", 0, 0, CONF_RESTART),
    C("data_dir", path, server.data_dir, "./ferry-data", 0, 0, CONF_RESTART),
    CE("log_level", server.log_level, "info", log_levels, 0),
    C("log_file", string, server.log_file, "''", 0, 0, CONF_RESTART),
    C("pid_file", string, server.pid_file, "''", 0, 0, CONF_RESTART),
    C("control_socket", string, server.control_socket, "''", 0, 0, CONF_RESTART),
    C("worker_threads", workers, server.worker_threads, "auto", 1, 256, CONF_RESTART),
    C("plugin_dir", string, server.plugin_dir, "''", 0, 0, CONF_RESTART),
    C("plugins", plugin_list, server.plugins, "['*']", 0, 0, CONF_RESTART),
};

static const struct conf_key limits_keys[] = {
    C("max_pdu", size, limits.max_pdu, "256KiB", 4 * KiB, 16 * MiB, 0),
    C("max_associations", uint, limits.max_associations, "1000", 1, 65535, 0),
    C("max_associations_per_peer", uint, limits.max_associations_per_peer, "32", 1, 65535, 0),
    C("max_element_length", size, limits.max_element_length, "2GiB", 64 * KiB,
      4 * GiB - 2, 0),
    C("max_sequence_depth", uint, limits.max_sequence_depth, "32", 1, 256, 0),
    C("artim_timeout", duration, limits.artim_ms, "30s", 1 * SEC, 10 * MIN, 0),
    C("idle_timeout", duration, limits.idle_ms, "5m", 1 * SEC, 1 * DAY, 0),
    C("pdu_timeout", duration, limits.pdu_ms, "60s", 1 * SEC, 1 * HOUR, 0),
    C("shutdown_deadline", duration, limits.shutdown_ms, "30s", 0, 1 * HOUR, 0),
};

static const struct conf_key accept_keys[] = {
    C("calling_ae_titles", ae_pattern_list, accept.calling_ae_titles, "[]", 0, 0, 0),
    C("peers", cidr_list, accept.peers, "[]", 0, 0, 0),
    C("sop_classes", sop_list, accept.sop_classes, "[]", 0, 0, 0),
    C("transfer_syntaxes", syntax_list, accept.transfer_syntaxes,
      "[explicit-little, implicit-little, '*']", 0, 0, 0),
    C("require_user_identity", bool, accept.require_user_identity, "false", 0, 0, 0),
    C("check_called_ae_title", bool, accept.check_called_ae_title, "false", 0, 0, 0),
};

static const struct conf_key group_commit_keys[] = {
    C("max_instances", uint, storage.group_commit_instances, "64", 1, 10000, CONF_RESTART),
    C("max_delay", duration, storage.group_commit_delay_ms, "2ms", 0, 1 * SEC, CONF_RESTART),
};
static const struct conf_table group_commit_table = TABLE("group_commit", group_commit_keys);

static const struct conf_key storage_keys[] = {
    CE("duplicates", storage.duplicates, "keep-newest", duplicates, 0),
    C("retention", retention, storage.retention_ms, "7d", 0, 3650 * DAY, 0),
    C("fsync", bool, storage.fsync, "true", 0, 0, CONF_RESTART),
    SECTION("group_commit", group_commit_table),
    C("quarantine_dir", string, storage.quarantine_dir, "''", 0, 0, CONF_RESTART),
};

static const struct conf_table server_table = TABLE("server", server_keys);
static const struct conf_table limits_table = TABLE("limits", limits_keys);
static const struct conf_table accept_table = TABLE("accept", accept_keys);
static const struct conf_table storage_table = TABLE("storage", storage_keys);

static const struct conf_key root_keys[] = {
    DEFERRED("include"),
    SECTION("server", server_table),
    SECTION("limits", limits_table),
    SECTION("accept", accept_table),
    SECTION("storage", storage_table),
    DEFERRED("destinations"),
    DEFERRED("pipelines"),
    DEFERRED("routes"),
};

const struct conf_table conf_schema_root = TABLE("", root_keys);

/* One entry of `destinations:`. */
static const struct conf_key retry_keys[] = {
    D("initial", duration, retry_initial_ms, "5s", 100, 1 * HOUR, 0),
    D("max", duration, retry_max_ms, "10m", 1 * SEC, 1 * DAY, 0),
    D("jitter", percent, retry_jitter, "20%", 0, 100, 0),
};
static const struct conf_table retry_table = TABLE("retry", retry_keys);

static const struct conf_key timeout_keys[] = {
    D("connect", duration, connect_timeout_ms, "10s", 1 * SEC, 10 * MIN, 0),
    D("response", duration, response_timeout_ms, "60s", 1 * SEC, 1 * HOUR, 0),
    D("idle", duration, idle_timeout_ms, "30s", 0, 1 * HOUR, 0),
};
static const struct conf_table timeout_table = TABLE("timeouts", timeout_keys);

static const struct conf_key destination_keys[] = {
    D("name", name, name, NULL, 0, 0, CONF_REQUIRED),
    D("host", host, host, NULL, 0, 0, CONF_REQUIRED),
    D("port", uint, port, "104", 1, 65535, 0),
    D("called_ae", ae, called_ae, NULL, 0, 0, CONF_REQUIRED),
    D("calling_ae", ae_or_empty, calling_ae, "''", 0, 0, 0),
    D("parallel", uint, parallel, "1", 1, 64, 0),
    D("max_pdu", size, max_pdu, "256KiB", 4 * KiB, 16 * MiB, 0),
    D("bandwidth", rate, bandwidth, "unlimited", 0, 0, 0),
    D("window", window, window, "always", 0, 0, 0),
    SECTION("retry", retry_table),
    D("transfer_syntaxes", syntax_list, transfer_syntaxes, "['*']", 0, 0, 0),
    D("fallback", syntax_or_none, fallback, "explicit-little", 0, 0, 0),
    SECTION("timeouts", timeout_table),
};

const struct conf_table conf_schema_destination = TABLE("destination", destination_keys);
