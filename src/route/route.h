/* ferry — routing rules: match expressions compiled once, evaluated per instance.
 *
 * A set of rules (struct route_rules) is built once, when a config is loaded,
 * and is read-only afterwards: any number of threads may evaluate it at once.
 * The config loader (src/conf) turns the YAML of `routes:` into calls of the
 * builder below; tests and tools may call it directly.
 *
 * Building:
 *   1. route_rules_new(dict)
 *   2. conditions: route_rules_cond(rules, "Modality", NULL, {"CT","MR"}, 2, ...)
 *      returns a node id; groups of nodes: route_rules_group(ALL/ANY/NOT).
 *   3. routes, in evaluation order: route_rules_add(rules, &spec) with the id
 *      of the route's match expression and its actions.
 *
 * Evaluating: route_eval(rules, ctx, result) fills result with the actions of
 * the routes that match, in route order, stopping after the first matching
 * route whose `cont` is false. route_explain() does the same and prints why.
 *
 * The match language (field, operator, values) is documented for
 * administrators in docs/config.md ("Match expressions"); the vocabulary is
 * checked here, so that every front end gets the same errors.
 */
#ifndef FERRY_ROUTE_ROUTE_H
#define FERRY_ROUTE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ferry_error;
struct sockaddr;

/* ---------------------------------------------------------------------------
 * The data dictionary, injected: the dcm module supplies the real one. */
struct route_dict {
    /* Find an attribute by its keyword ("PatientName", case-sensitive).
     * On success returns 0, sets *tag and writes the VR as two letters and a
     * NUL into vr. Returns -ENOENT for an unknown keyword. */
    int (*lookup)(void *ud, const char *keyword, uint32_t *tag, char vr[3]);
    void *ud; /* borrowed; passed to lookup */
};

/* ---------------------------------------------------------------------------
 * Addresses and patterns (also used by the config's accept section). */

/* An address block: `prefix` leading bits of `addr` (4 bytes for AF_INET,
 * 16 for AF_INET6) are significant; the rest are zero. */
struct route_cidr {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t prefix;
    uint8_t addr[16];
};

/* Parse "10.1.0.0/16", "fd00:1::/48" or a single address ("10.1.2.3",
 * "::1": a block of one). Bits set after the prefix are an error (they are
 * usually a typo). Returns 0 or -EINVAL with *err set, e.g.
 * "'10.0.0.0/33': prefix length must be from 0 to 32". */
int route_cidr_parse(const char *text, struct route_cidr *out, struct ferry_error **err);

/* True if the socket address sa (AF_INET or AF_INET6; borrowed) lies in the
 * block. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as a dual-stack socket
 * reports IPv4 peers) match IPv4 blocks, and IPv4 addresses match
 * ::ffff:0:0/96-style blocks. NULL sa never matches. */
bool route_cidr_contains(const struct route_cidr *block, const struct sockaddr *sa);

/* Write a block as text ("10.1.0.0/16"; a single address without "/n"). */
void route_cidr_format(const struct route_cidr *block, char *buf, size_t size);

/* Write the address of sa (borrowed) as text, without port; IPv4-mapped IPv6
 * addresses are written as IPv4. "(none)" for NULL, "(unknown)" for other
 * families. */
void route_addr_format(const struct sockaddr *sa, char *buf, size_t size);

/* DICOM wildcard matching (PS3.4 C.2.2.2.4): '*' matches any run of
 * characters, '?' exactly one character. Both strings are UTF-8 and
 * NUL-terminated; '?' matches one code point, so "张?" matches "张三". */
bool route_wildcard_match(const char *pattern, const char *text);

/* ---------------------------------------------------------------------------
 * Building rules. */

struct route_rules;

/* A new, empty rule set. dict (copied; dict->ud borrowed for the life of the
 * rules) resolves attribute keywords; NULL means attribute conditions are
 * refused with an error. Returns NULL when out of memory. */
struct route_rules *route_rules_new(const struct route_dict *dict);

/* Frees the rules and everything built into them; accepts NULL. */
void route_rules_free(struct route_rules *rules);

/* Add a condition; returns its node id (>= 0) or a negative errno with *err
 * set. All strings are borrowed (copied in).
 *   field  "calling_ae", "called_ae", "peer", or an attribute keyword
 *   op     NULL for the shorthand (`Modality: CT`: DICOM matching, i.e.
 *          wildcard if the value holds '*' or '?', exact otherwise; for peer
 *          an address block), or one of: equals, wildcard, regex, in (peer),
 *          range, from, to, <, <=, >, >=, ==, lt, le, gt, ge, eq, between,
 *          present
 *   values the operands: any of them may match (match, equals, wildcard,
 *          regex, in); exactly one for range/from/to/numeric/present; two
 *          (low, high) for between.
 * On error, *bad_value (if not NULL) says what is at fault, so the caller
 * can point at it: the index of a value, ROUTE_BAD_OP (the operator, or the
 * values as a whole) or ROUTE_BAD_FIELD (the field). */
#define ROUTE_BAD_OP (-1)
#define ROUTE_BAD_FIELD (-2)
int route_rules_cond(struct route_rules *rules, const char *field, const char *op,
                     const char *const *values, size_t n_values, int *bad_value,
                     struct ferry_error **err);

enum route_group {
    ROUTE_ALL = 0, /* every child holds (an empty ALL holds) */
    ROUTE_ANY = 1, /* at least one child holds */
    ROUTE_NOT = 2, /* exactly one child, which does not hold */
};

/* Combine nodes (ids from route_rules_cond / route_rules_group; each node may
 * be used once) into a group; returns the group's node id or a negative errno
 * with *err set. Nesting deeper than ROUTE_MAX_DEPTH is refused. children is
 * borrowed. */
#define ROUTE_MAX_DEPTH 32
int route_rules_group(struct route_rules *rules, enum route_group kind, const int *children,
                      size_t n_children, struct ferry_error **err);

enum route_action_kind {
    ROUTE_FORWARD = 0,    /* send to a destination through a pipeline */
    ROUTE_DISCARD = 1,    /* deliberately do nothing more with the instance */
    ROUTE_QUARANTINE = 2, /* keep it in the quarantine folder; reason: the route */
};

enum route_trigger {
    ROUTE_TRIGGER_INSTANCE = 0,     /* act on each instance as it arrives */
    ROUTE_TRIGGER_STUDY_STABLE = 1, /* act on the study once no instance of it
                                     * has arrived for stable_ms */
};

/* Priorities of forward jobs: higher goes first. Names used by the config;
 * any value from ROUTE_PRIORITY_MIN to ROUTE_PRIORITY_MAX is allowed. */
enum {
    ROUTE_PRIORITY_MIN = 0,
    ROUTE_PRIORITY_LOW = 25,
    ROUTE_PRIORITY_NORMAL = 50,
    ROUTE_PRIORITY_HIGH = 75,
    ROUTE_PRIORITY_URGENT = 100,
    ROUTE_PRIORITY_MAX = 100,
};

/* "low" -> 25 etc.; -1 for an unknown name. */
int route_priority_from_name(const char *name);

#define ROUTE_NO_PIPELINE UINT32_MAX

/* One forward target of a route, as the caller (the config) knows it. The
 * indices are the caller's (into its own arrays of destinations and
 * pipelines) and come back unchanged in route_action. */
struct route_target {
    uint32_t destination;
    const char *destination_name; /* borrowed; copied in */
    uint32_t pipeline;            /* ROUTE_NO_PIPELINE: send as stored */
    const char *pipeline_name;    /* borrowed; copied in; NULL without pipeline */
    int32_t priority;             /* ROUTE_PRIORITY_MIN..MAX */
};

struct route_spec {
    const char *name;  /* borrowed; copied in; unique in the rules */
    int match;         /* node id; -1: the route matches every instance */
    enum route_trigger trigger;
    uint64_t stable_ms; /* ROUTE_TRIGGER_STUDY_STABLE: quiet time, > 0 */
    enum route_action_kind action;
    const struct route_target *targets; /* ROUTE_FORWARD: n_targets >= 1; borrowed */
    size_t n_targets;
    bool cont; /* after a match, go on with the next route (forward only) */
};

/* Append a route; the rules evaluate routes in the order they were added.
 * Returns 0 or a negative errno with *err set (duplicate name, unknown node,
 * continue after discard/quarantine, ...). */
int route_rules_add(struct route_rules *rules, const struct route_spec *spec,
                    struct ferry_error **err);

/* The number of routes, and the name of route i (borrowed from rules). */
size_t route_rules_count(const struct route_rules *rules);
const char *route_rules_name(const struct route_rules *rules, size_t i);

/* ---------------------------------------------------------------------------
 * Evaluating. */

/* What an instance is evaluated against. Everything borrowed for the call. */
struct route_ctx {
    const char *calling_ae;      /* NULL when unknown (never matches) */
    const char *called_ae;       /* NULL when unknown */
    const struct sockaddr *peer; /* AF_INET/AF_INET6; NULL when unknown */

    /* Value number `index` (0-based; multi-valued attributes are split at
     * '\\') of attribute `tag`, decoded from the data set's character set to
     * UTF-8 and without padding, NUL-terminated into buf. Binary numbers (US,
     * UL, SS, SL, FL, FD, SV, UV) are written as decimal text. Returns the
     * length of the value (if >= size the text was cut: the evaluator asks
     * again with a larger buffer), -ENOENT when the attribute or that value is
     * absent, or another negative errno (then the attribute counts as
     * absent). For SQ and bulk VRs (OB, OW, UN, ...) it may write nothing
     * and return 0 for index 0 when the element is present: only `present`
     * looks at them. Called on the evaluating thread only. */
    int (*get)(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size);
    void *ud;
};

/* One thing to do with the instance. Strings are borrowed from the rules. */
struct route_action {
    enum route_action_kind kind;
    uint32_t route; /* index of the route that asked for it */
    const char *route_name;
    enum route_trigger trigger;
    uint64_t stable_ms;
    /* ROUTE_FORWARD only: */
    uint32_t destination;
    const char *destination_name;
    uint32_t pipeline; /* ROUTE_NO_PIPELINE: send as stored */
    const char *pipeline_name;
    int32_t priority;
};

/* The outcome of an evaluation. Keep one per worker thread and reuse it:
 * after the first few evaluations, evaluating allocates nothing. */
struct route_result {
    struct route_action *actions; /* n_actions of them, in route order */
    size_t n_actions;
    uint32_t matched; /* how many routes matched */
    /* private: */
    size_t cap_actions;
    char *scratch; /* buffer for attribute values */
    size_t scratch_size;
};

void route_result_init(struct route_result *res);
/* Frees what the result holds (not res itself); accepts a zeroed result. */
void route_result_release(struct route_result *res);

/* Evaluate every route against ctx and fill res (its previous content is
 * replaced). Returns 0, or -ENOMEM (res then holds no actions). Thread-safe
 * for distinct res. */
int route_eval(const struct route_rules *rules, const struct route_ctx *ctx,
               struct route_result *res);

/* As route_eval, and print to out, for a person, which routes matched and
 * why: each condition with its outcome and the actual value, then what
 * would be done. Returns 0 or -ENOMEM. */
int route_explain(const struct route_rules *rules, const struct route_ctx *ctx,
                  struct route_result *res, FILE *out);

/* "30s", "5m", "1h30m", "250ms": a duration as people write it. */
void route_format_duration(uint64_t ms, char *buf, size_t size);

#endif
