/* Unit tests for src/conf: pipelines, the step hook, routes and match
 * expressions from YAML, the consortium example, reload, the docs. */
#include "test_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static TCase *tcase(const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, conf_test_setup, conf_test_teardown);
    tcase_add_test(tc, t);
    return tc;
}

/* ---------------------------------------------------------------------------
 * Pipelines */

START_TEST(test_pipelines)
{
    write_file("c.yaml", "pipelines:\n"
                         "  lossless:\n"
                         "    - compress: jpeg-ls-lossless\n"
                         "  research:\n"
                         "    - step: deid\n"
                         "      params:\n"
                         "        secret-file: /etc/s\n"
                         "        option: [retain-uids, clean-descriptors]\n"
                         "    - compress: { syntax: jpeg-ls-near-lossless, near: 2 }\n"
                         "  nothing: []\n");
    const struct conf *c = load_ok("c.yaml", NULL);
    ck_assert_uint_eq(c->n_pipelines, 3);
    const struct conf_pipeline *p = conf_pipeline(c, "lossless");
    ck_assert_uint_eq(p->n_steps, 1);
    ck_assert_int_eq(p->steps[0].kind, CONF_STEP_COMPRESS);
    ck_assert_str_eq(p->steps[0].name, "jpeg-ls-lossless");
    ck_assert_uint_eq(p->steps[0].n_params, 0);
    p = conf_pipeline(c, "research");
    ck_assert_uint_eq(p->n_steps, 2);
    const struct conf_step *s = &p->steps[0];
    ck_assert_int_eq(s->kind, CONF_STEP_PLUGIN);
    ck_assert_str_eq(s->name, "deid");
    ck_assert_uint_eq(s->loc.line, 5);
    ck_assert_uint_eq(s->loc.col, 7);
    /* A list gives the key once per value, in order, each with its place. */
    ck_assert_uint_eq(s->n_params, 3);
    ck_assert_str_eq(s->params[0].key, "secret-file");
    ck_assert_str_eq(s->params[0].value, "/etc/s");
    ck_assert_str_eq(s->params[1].key, "option");
    ck_assert_str_eq(s->params[1].value, "retain-uids");
    ck_assert_str_eq(s->params[2].key, "option");
    ck_assert_str_eq(s->params[2].value, "clean-descriptors");
    ck_assert_str_eq(s->param_locs[0].file, "c.yaml");
    ck_assert_uint_eq(s->param_locs[0].line, 7);
    ck_assert_uint_eq(s->param_locs[0].col, 22);
    ck_assert_uint_eq(s->param_locs[2].line, 8);
    ck_assert_uint_eq(s->param_locs[2].col, 31);
    s = &p->steps[1];
    ck_assert_str_eq(s->name, "jpeg-ls-near-lossless");
    ck_assert_uint_eq(s->n_params, 1);
    ck_assert_str_eq(s->params[0].key, "near");
    ck_assert_str_eq(s->params[0].value, "2");
    ck_assert_uint_eq(conf_pipeline(c, "nothing")->n_steps, 0);
    ck_assert_ptr_null(conf_pipeline(c, "other"));
    conf_unref(c);

    write_file("bad.yaml", "pipelines:\n"
                           "  a:\n"
                           "    - compress: jpeg-ls-lossless\n"
                           "      params: { x: 1 }\n"
                           "    - step: deid\n"
                           "      params: { option: [a, { b: 1 }], nested: { a: 1 }, k: 1, k: 2 }\n"
                           "    - compress: { near: 2 }\n"
                           "    - compress: jpeg\n"
                           "      step: deid\n"
                           "    - params: {}\n"
                           "    - compress: ''\n"
                           "    - step: 'no good'\n"
                           "    - deid\n"
                           "    - step: deid\n"
                           "      params: [x]\n"
                           "  'bad name': []\n"
                           "  b: { step: x }\n"
                           "  a: []\n"
                           "destinations: {}\n"
                           "routes: 3\n");
    assert_text(
        load_text("bad.yaml", NULL),
        "bad.yaml:4:7: pipelines.a[0]: the parameters of compress go inside it: compress: { "
        "syntax: NAME, ... }\n"
        "bad.yaml:6:29: pipelines.a[1].params.option[1]: expected a value, found a mapping\n"
        "bad.yaml:6:48: pipelines.a[1].params.nested: expected a value or a list of values, "
        "found a mapping\n"
        "bad.yaml:6:64: duplicate key 'k' (first given at 6:58)\n"
        "bad.yaml:7:17: pipelines.a[2].compress: missing required key 'syntax'\n"
        "bad.yaml:9:7: pipelines.a[3]: a step is either compress or step, not both\n"
        "bad.yaml:10:7: pipelines.a[4]: expected compress: or step:\n"
        "bad.yaml:11:17: pipelines.a[5].compress.syntax: expected a transfer syntax name such "
        "as jpeg-ls-lossless, found an empty value\n"
        "bad.yaml:12:13: pipelines.a[6].step: expected a step name, found 'no good'\n"
        "bad.yaml:13:7: pipelines.a[7]: expected a step (compress: or step:), found 'deid'\n"
        "bad.yaml:15:15: pipelines.a[8].params: expected a mapping of parameters, found a list\n"
        "bad.yaml:16:3: pipelines: expected a pipeline name (letters, digits, '.', '_' and "
        "'-'), found 'bad name'\n"
        "bad.yaml:17:6: pipelines.b: expected a list of steps, found a mapping\n"
        "bad.yaml:18:3: a pipeline named 'a' is defined already (at bad.yaml:3:5)\n"
        "bad.yaml:19:15: destinations: expected a list of destinations, found a mapping\n"
        "bad.yaml:20:9: routes: expected a list of routes, found '3'\n");
}
END_TEST

/* ---------------------------------------------------------------------------
 * The step hook: plugins check their parameters while the config loads */

struct hook {
    int made, released;
};

static int check_step(void *ud, const struct conf_step *st, void **state,
                      struct ferry_diag *diag)
{
    struct hook *h = ud;
    if (st->kind == CONF_STEP_COMPRESS && strcmp(st->name, "jpeg-ls-near-lossless") == 0) {
        for (uint32_t i = 0; i < st->n_params; i++) {
            if (strcmp(st->params[i].key, "near") == 0 && atoi(st->params[i].value) > 9) {
                diag->param = (int32_t)i;
                snprintf(diag->message, sizeof diag->message, "near must be 0 to 9, not %s",
                         st->params[i].value);
                return -EINVAL;
            }
        }
    } else if (st->kind == CONF_STEP_PLUGIN && strcmp(st->name, "deid") != 0) {
        snprintf(diag->message, sizeof diag->message, "no plugin offers this step");
        return -ENOENT;
    } else if (st->kind == CONF_STEP_COMPRESS && strcmp(st->name, "rle-lossless") == 0) {
        /* Fails after building state: the config must not keep it. */
        *state = malloc(8);
        h->made++;
        diag->param = 7; /* out of range: the step's place is used */
        return -EINVAL;
    }
    *state = malloc(16);
    h->made++;
    return 0;
}

static void release_step(void *ud, const struct conf_step *st, void *state)
{
    (void)st;
    struct hook *h = ud;
    h->released++;
    free(state);
}

START_TEST(test_step_hook)
{
    struct hook h = { 0, 0 };
    struct conf_options o = { .dict = &test_dict, .check_step = check_step,
                              .release_step = release_step, .step_ud = &h };
    write_file("ok.yaml", "pipelines:\n"
                          "  a: [ { compress: { syntax: jpeg-ls-near-lossless, near: 2 } } ]\n"
                          "  b: [ { step: deid, params: { option: x } } ]\n"
                          "destinations: [ { name: d, host: h, called_ae: D } ]\n"
                          "routes:\n"
                          "  - name: r\n"
                          "    forward:\n"
                          "      - destination: d\n"
                          "        pipeline: [ { step: deid } ]\n");
    const struct conf *c = load_ok("ok.yaml", &o);
    ck_assert_int_eq(h.made, 3); /* two named pipelines, one inline */
    ck_assert_ptr_nonnull(c->pipelines[0].steps[0].state);
    ck_assert_ptr_nonnull(c->pipelines[2].steps[0].state);
    ck_assert_str_eq(c->pipelines[2].name, "r:d");
    conf_ref(c);
    conf_unref(c);
    ck_assert_int_eq(h.released, 0);
    conf_unref(c);
    ck_assert_int_eq(h.released, 3);

    h = (struct hook){ 0, 0 };
    write_file("bad.yaml", "pipelines:\n"
                           "  a:\n"
                           "    - compress: { syntax: jpeg-ls-near-lossless, near: 12 }\n"
                           "    - step: mask\n"
                           "      params: { x: 1 }\n"
                           "    - compress: rle-lossless\n"
                           "    - step: deid\n");
    assert_text(load_text("bad.yaml", &o),
                     "bad.yaml:3:56: compress 'jpeg-ls-near-lossless': near must be 0 to 9, "
                     "not 12\n"
                     "bad.yaml:4:7: step 'mask': no plugin offers this step\n"
                     "bad.yaml:6:7: compress 'rle-lossless': refused\n");
    /* Every state built was released, kept ones with the refused config. */
    ck_assert_int_eq(h.made, 2);
    ck_assert_int_eq(h.released, 2);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Routes */

static const char routes_yaml[] =
    "destinations:\n"
    "  - { name: center, host: 10.20.0.10, called_ae: READ }\n"
    "  - { name: research, host: 10.30.0.1, called_ae: RES }\n"
    "pipelines:\n"
    "  lossless: [ { compress: jpeg-ls-lossless } ]\n"
    "routes:\n"
    "  - name: sr\n"
    "    match: { Modality: SR }\n"
    "    discard: true\n"
    "  - name: er\n"
    "    match:\n"
    "      any:\n"
    "        - calling_ae: '*_ER'\n"
    "        - StudyDescription: { regex: '急诊' }\n"
    "    forward:\n"
    "      - destination: center\n"
    "        pipeline: lossless\n"
    "        priority: urgent\n"
    "    continue: true\n"
    "  - name: ct\n"
    "    match:\n"
    "      Modality: CT\n"
    "      peer: 10.21.0.0/16\n"
    "    trigger: { study-stable: 30s }\n"
    "    forward:\n"
    "      - center\n"
    "      - destination: research\n"
    "        pipeline: [ { step: deid }, { compress: jpeg2000-lossless } ]\n"
    "        priority: 10\n"
    "  - name: odd\n"
    "    match: { Modality: OT }\n"
    "    quarantine: true\n"
    "  - name: all\n"
    "    forward: research\n";

START_TEST(test_routes)
{
    write_file("c.yaml", routes_yaml);
    const struct conf *c = load_ok("c.yaml", NULL);
    ck_assert_uint_eq(route_rules_count(c->rules), 5);
    ck_assert_uint_eq(c->n_pipelines, 2);
    ck_assert_str_eq(c->pipelines[1].name, "ct:research");
    ck_assert_uint_eq(c->pipelines[1].n_steps, 2);

    static const struct fake_elem ct[] = { { 0x00080060, "CT" },
                                           { 0x00081030, "急诊头颅平扫" },
                                           { 0 } };
    struct sockaddr_in in4 = { .sin_family = AF_INET };
    inet_pton(AF_INET, "10.21.1.7", &in4.sin_addr);
    struct route_ctx ctx = { .calling_ae = "DH_CT", .peer = (struct sockaddr *)&in4,
                             .get = fake_get, .ud = (void *)ct };
    struct route_result res;
    route_result_init(&res);
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 3);
    const struct route_action *a = &res.actions[0];
    ck_assert_str_eq(a->route_name, "er");
    ck_assert_str_eq(c->destinations[a->destination].name, "center");
    ck_assert_str_eq(c->pipelines[a->pipeline].name, "lossless");
    ck_assert_int_eq(a->priority, ROUTE_PRIORITY_URGENT);
    a = &res.actions[1];
    ck_assert_str_eq(a->route_name, "ct");
    ck_assert_str_eq(a->destination_name, "center");
    ck_assert_uint_eq(a->pipeline, ROUTE_NO_PIPELINE);
    ck_assert_int_eq(a->priority, ROUTE_PRIORITY_NORMAL);
    ck_assert_int_eq(a->trigger, ROUTE_TRIGGER_STUDY_STABLE);
    ck_assert_uint_eq(a->stable_ms, 30000);
    a = &res.actions[2];
    ck_assert_str_eq(c->destinations[a->destination].name, "research");
    ck_assert_str_eq(c->pipelines[a->pipeline].name, "ct:research");
    ck_assert_int_eq(a->priority, 10);

    static const struct fake_elem sr[] = { { 0x00080060, "SR" }, { 0 } };
    ctx.ud = (void *)sr;
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_DISCARD);
    static const struct fake_elem ot[] = { { 0x00080060, "OT" }, { 0 } };
    ctx.ud = (void *)ot;
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_QUARANTINE);
    ck_assert_str_eq(res.actions[0].route_name, "odd");
    static const struct fake_elem mr[] = { { 0x00080060, "MR" }, { 0 } };
    ctx.ud = (void *)mr;
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_str_eq(res.actions[0].route_name, "all");
    route_result_release(&res);
    conf_unref(c);

    write_file("bad.yaml",
               "destinations: [ { name: center, host: h, called_ae: C } ]\n"
               "routes:\n"
               "  - name: a\n"
               "    forward: centre\n"
               "    discard: true\n"
               "  - name: a\n"
               "    trigger: study-stable\n"
               "  - name: c\n"
               "    trigger: { study-stable: 2d }\n"
               "    forward: [ { destination: center, pipeline: nope, priority: highest },\n"
               "               { pipeline: x }, center, center ]\n"
               "    continue: maybe\n"
               "  - name: d\n"
               "    quarantine: true\n"
               "    continue: true\n"
               "  - name: e\n"
               "    trigger: later\n"
               "    forward: []\n"
               "    colour: red\n"
               "  - [x]\n"
               "  - name: f\n"
               "    discard: false\n"
               "  - name: g\n"
               "    forward: { destination: center, priority: 101 }\n"
               "    trigger: { study-stable: 30s, instance: 1 }\n");
    assert_text(
        load_text("bad.yaml", NULL),
        "bad.yaml:4:14: routes[0].forward.destination: no destination named 'centre'; did you "
        "mean 'center'?\n"
        "bad.yaml:5:5: routes[0]: a route does one of forward, discard or quarantine\n"
        "bad.yaml:6:5: routes[1]: expected one of forward, discard: true or quarantine: true\n"
        "bad.yaml:6:11: routes[1]: a route named 'a' is defined already (at "
        "bad.yaml:3:5)\n"
        "bad.yaml:7:14: routes[1].trigger: study-stable needs a quiet time: trigger: { "
        "study-stable: 30s }\n"
        "bad.yaml:9:30: routes[2].trigger.study-stable: expected a duration from 1s to 1d "
        "(such as 500ms, 30s, 5m, 1h), found '2d'\n"
        "bad.yaml:10:49: routes[2].forward[0].pipeline: no pipeline named 'nope'\n"
        "bad.yaml:10:65: routes[2].forward[0].priority: expected low, normal, high, urgent or "
        "an integer from 0 to 100, found 'highest'\n"
        "bad.yaml:11:16: routes[2].forward[1]: missing required key 'destination'\n"
        "bad.yaml:11:41: routes[2].forward[3]: 'center' is named twice with the same "
        "pipeline\n"
        "bad.yaml:12:15: routes[2].continue: expected true or false, found 'maybe'\n"
        "bad.yaml:15:5: routes[3]: continue: true cannot follow quarantine (it ends the "
        "evaluation)\n"
        "bad.yaml:17:14: routes[4].trigger: expected instance or { study-stable: TIME }, found "
        "'later'\n"
        "bad.yaml:18:14: routes[4].forward: expected at least one destination\n"
        "bad.yaml:19:5: unknown key 'colour' in routes[4]\n"
        "bad.yaml:20:5: routes[5]: expected a mapping, found a list\n"
        "bad.yaml:21:5: routes[6]: expected one of forward, discard: true or quarantine: true\n"
        "bad.yaml:24:47: routes[7].forward.priority: expected low, normal, high, urgent or an "
        "integer from 0 to 100, found '101'\n"
        "bad.yaml:25:35: unknown key 'instance' in routes[7].trigger\n");
}
END_TEST

/* ---------------------------------------------------------------------------
 * Match expressions: errors at the right place */

START_TEST(test_match_errors)
{
    write_file("m.yaml",
               "routes:\n"
               "  - name: r\n"
               "    discard: true\n"
               "    match:\n"
               "      any:\n"
               "        - calling_ae: '*_ER'\n"
               "        - Modalty: CT\n"
               "        - StudyDescription: { regex: '(急诊' }\n"
               "        - StudyDate: { range: 20241301- }\n"
               "        - peer: [10.0.0.0/8, 10.0.0.1/8]\n"
               "        - SliceThickness: { '<': thin, like: 3 }\n"
               "        - PatientName: { '>=': 3 }\n"
               "        - Modality: []\n"
               "        - Modality: { regex: [] }\n"
               "        - Modality: {}\n"
               "        - Modality: { present: maybe }\n"
               "        - Modality: [a, [b]]\n"
               "        - not: [ { Modality: CT } ]\n"
               "        - all: []\n"
               "        - {}\n"
               "        - CT\n"
               "        - PatientNme: { regex: x }\n"
               "        - SliceThickness: { between: 3 }\n"
               "        - peer: { regex: '10\\..*' }\n"
               "  - name: s\n"
               "    discard: true\n"
               "    match: [Modality]\n");
    assert_text(
        load_text("m.yaml", NULL),
        "m.yaml:7:11: routes[0].match.any[1].Modalty: unknown attribute keyword 'Modalty'\n"
        "m.yaml:8:38: routes[0].match.any[2].StudyDescription: invalid regular expression "
        "'(急诊': Unmatched ( or \\(\n"
        "m.yaml:9:31: routes[0].match.any[3].StudyDate: '20241301' is not a date (YYYYMMDD)\n"
        "m.yaml:10:30: routes[0].match.any[4].peer: '10.0.0.1/8' has bits set after the "
        "prefix (the block is 10.0.0.0/8)\n"
        "m.yaml:11:34: routes[0].match.any[5].SliceThickness: 'thin' is not a number\n"
        "m.yaml:11:40: routes[0].match.any[5].SliceThickness: unknown operator 'like' "
        "(expected equals, wildcard, regex, range, from, to, <, <=, >, >=, ==, between or "
        "present)\n"
        "m.yaml:12:26: routes[0].match.any[6].PatientName: '>=' needs a numeric attribute "
        "(IS, DS, US, UL, SS, SL, FL, FD, SV or UV); PatientName is PN\n"
        "m.yaml:13:21: routes[0].match.any[7].Modality: Modality needs a value\n"
        "m.yaml:14:23: routes[0].match.any[8].Modality: Modality: 'regex' needs a value\n"
        "m.yaml:15:21: routes[0].match.any[9].Modality: expected an operator such as equals, "
        "regex or range\n"
        "m.yaml:16:32: routes[0].match.any[10].Modality: present takes true or false, not "
        "'maybe'\n"
        "m.yaml:17:25: routes[0].match.any[11].Modality[1]: expected a value, found a list\n"
        "m.yaml:18:16: routes[0].match.any[12].not: expected one condition (a mapping), found "
        "a list\n"
        "m.yaml:19:16: routes[0].match.any[13].all: expected at least one condition\n"
        "m.yaml:20:11: routes[0].match.any[14]: an empty condition\n"
        "m.yaml:21:11: routes[0].match.any[15]: expected a condition (a mapping), found "
        "'CT'\n"
        "m.yaml:22:11: routes[0].match.any[16].PatientNme: unknown attribute keyword "
        "'PatientNme'\n"
        "m.yaml:23:29: routes[0].match.any[17].SliceThickness: between takes two values, low "
        "and high\n"
        "m.yaml:24:19: routes[0].match.any[18].peer: peer takes address blocks ('in'), not "
        "'regex'\n"
        "m.yaml:27:12: routes[1].match: expected a mapping of conditions (all, any, not, "
        "calling_ae, called_ae, peer or an attribute keyword), found a list\n");

    /* Nesting deeper than the limit. */
    char deep[4096] = "routes:\n  - name: r\n    discard: true\n    match:\n";
    size_t len = strlen(deep);
    for (int i = 0; i < ROUTE_MAX_DEPTH + 1; i++)
        len += (size_t)snprintf(deep + len, sizeof deep - len, "%*snot:\n", 6 + 2 * i, "");
    snprintf(deep + len, sizeof deep - len, "%*sModality: CT\n", 6 + 2 * (ROUTE_MAX_DEPTH + 1),
             "");
    write_file("deep.yaml", deep);
    const char *text = load_text("deep.yaml", NULL);
    ck_assert_msg(strstr(text, ": conditions nested deeper than 32 levels\n") != NULL, "%s",
                  text);
    /* Reported at the mapping one level too deep: 32 levels are a
     * condition inside 31 nots. */
    ck_assert_msg(strncmp(text, "deep.yaml:37:71: routes[0].match.not.not.", 41) == 0, "%s",
                  text);

    /* Without a dictionary, attribute conditions cannot be checked. */
    write_file("nodict.yaml", "routes: [ { name: r, discard: true, match: { Modality: CT } } ]\n");
    struct conf_options none = { 0 };
    assert_text(load_text("nodict.yaml", &none),
                     "nodict.yaml:1:46: routes[0].match.Modality: attribute 'Modality': no data "
                     "dictionary to look keywords up in\n");
}
END_TEST

/* ---------------------------------------------------------------------------
 * The consortium example, end to end */

static char *explain(const struct conf *c, const struct route_ctx *ctx,
                     struct route_result *res)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ck_assert_int_eq(route_explain(c->rules, ctx, res, out), 0);
    fclose(out);
    return buf;
}

START_TEST(test_consortium)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config/examples/consortium/ferry.yaml",
             getenv("FERRY_SOURCE_DIR"));
    const struct conf *c = load_ok(path, NULL);
    ck_assert_uint_eq(c->files.n, 5);
    ck_assert_uint_eq(c->n_destinations, 2);
    ck_assert_uint_eq(route_rules_count(c->rules), 5);
    ck_assert_str_eq(c->server.ae_title, "QS_FERRY");
    const struct conf_destination *r = conf_destination(c, "research");
    ck_assert_uint_eq(r->bandwidth, 500000);
    ck_assert(r->window.set);
    const struct conf_step *deid = &conf_pipeline(c, "research-deid")->steps[0];
    ck_assert_str_eq(deid->name, "deid");
    ck_assert_str_eq(deid->params[1].key, "option");

    struct route_result res;
    route_result_init(&res);
    struct sockaddr_in in4 = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

    /* The Donghu emergency room's DR: at once, urgent. */
    static const struct fake_elem er[] = { { 0x00080060, "DX" }, { 0x00100010, "李^四" }, { 0 } };
    inet_pton(AF_INET, "10.21.1.31", &in4.sin_addr);
    struct route_ctx ctx = { .calling_ae = "DH_ER", .called_ae = "QS_FERRY",
                             .peer = (struct sockaddr *)&in4, .get = fake_get, .ud = (void *)er };
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_str_eq(res.actions[0].route_name, "emergency");
    ck_assert_int_eq(res.actions[0].priority, ROUTE_PRIORITY_URGENT);
    ck_assert_int_eq(res.actions[0].trigger, ROUTE_TRIGGER_INSTANCE);

    /* An adult CT from Nanxi over IPv6: a research copy, and the reading
     * center once the study is complete. */
    static const struct fake_elem ct[] = { { 0x00080060, "CT" },
                                           { 0x00080020, "20240611" },
                                           { 0x00101010, "047Y" },
                                           { 0x00081030, "胸部CT平扫" },
                                           { 0x00100010, "王^五" },
                                           { 0 } };
    inet_pton(AF_INET6, "fd21:3::15", &in6.sin6_addr);
    ctx = (struct route_ctx){ .calling_ae = "NX_CT", .peer = (struct sockaddr *)&in6,
                              .get = fake_get, .ud = (void *)ct };
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 2);
    ck_assert_str_eq(res.actions[0].destination_name, "research");
    ck_assert_str_eq(res.actions[0].pipeline_name, "research-deid");
    ck_assert_uint_eq(res.actions[0].stable_ms, 300000);
    ck_assert_str_eq(res.actions[1].destination_name, "reading-center");
    ck_assert_uint_eq(res.actions[1].stable_ms, 30000);

    /* What evaluating costs on these rules (printed, not asserted): the CT
     * above goes through every route but the last, regexes included. */
    struct timespec t0, t1;
    const int rounds = 100000;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < rounds; i++)
        route_eval(c->rules, &ctx, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                rounds;
    printf("conf bench: the consortium example's 5 routes, an adult CT over IPv6 (2 actions): "
           "%.0f ns per evaluation (%d evaluations)\n",
           ns, rounds);
    ck_assert_uint_eq(res.n_actions, 2);

    /* A child's CT: no research copy. */
    static const struct fake_elem child[] = { { 0x00080060, "CT" },
                                              { 0x00080020, "20240611" },
                                              { 0x00101010, "009Y" },
                                              { 0 } };
    ctx.ud = (void *)child;
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_str_eq(res.actions[0].route_name, "township-studies");

    /* A test patient, named in Chinese: stored only. */
    static const struct fake_elem test[] = { { 0x00080060, "CT" },
                                             { 0x00100010, "测试^一号" },
                                             { 0 } };
    ctx.ud = (void *)test;
    ck_assert_int_eq(route_eval(c->rules, &ctx, &res), 0);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_DISCARD);

    /* An MR from outside the townships: quarantined. */
    static const struct fake_elem mr[] = { { 0x00080060, "MR" }, { 0 } };
    inet_pton(AF_INET, "192.168.1.1", &in4.sin_addr);
    ctx = (struct route_ctx){ .calling_ae = "XL_MR", .peer = (struct sockaddr *)&in4,
                              .get = fake_get, .ud = (void *)mr };
    char *text = explain(c, &ctx, &res);
    ck_assert_uint_eq(res.n_actions, 1);
    ck_assert_int_eq(res.actions[0].kind, ROUTE_QUARANTINE);
    assert_text(
        text,
        "route 1 'test-patients': no match\n"
        "  any of: false\n"
        "    PatientName matches \"TEST^*\" or \"QC^*\" or \"测试*\" or \"*体模*\": false "
        "(PatientName is absent)\n"
        "    PatientID matches regex \"^(TEST|QC)[0-9]*$\": false (PatientID is absent)\n"
        "    calling_ae matches \"*_QC\": false (calling_ae = \"XL_MR\")\n"
        "route 2 'research-ct': no match\n"
        "  all of: false\n"
        "    Modality matches \"CT\": false (Modality = \"MR\")\n"
        "    StudyDate from 20240101: false (StudyDate is absent)\n"
        "    PatientAge matches regex \"^0*(1[89]|[2-9][0-9]|1[0-9][0-9])Y$\": false "
        "(PatientAge is absent)\n"
        "    not: true\n"
        "      BurnedInAnnotation matches \"YES\": false (BurnedInAnnotation is absent)\n"
        "route 3 'emergency': no match\n"
        "  all of: false\n"
        "    peer in 10.21.0.0/16 or fd21:3::/48: false (peer = 192.168.1.1)\n"
        "    any of: false\n"
        "      calling_ae matches \"*_ER\": false (calling_ae = \"XL_MR\")\n"
        "      RequestedProcedurePriority matches \"STAT\" or \"HIGH\": false "
        "(RequestedProcedurePriority is absent)\n"
        "      StudyDescription matches regex \"急诊|急症|EMERG|STAT\": false "
        "(StudyDescription is absent)\n"
        "route 4 'township-studies': no match\n"
        "  all of: false\n"
        "    peer in 10.21.1.0/24 or 10.21.2.0/24 or 10.21.3.0/24 or fd21:3::/48: false (peer "
        "= 192.168.1.1)\n"
        "    Modality matches \"CT\" or \"MR\" or \"DX\" or \"CR\" or \"US\" or \"MG\": true "
        "(Modality = \"MR\")\n"
        "route 5 'unexpected': match\n"
        "  (no conditions: every instance matches)\n"
        "  -> quarantine, reason: route 'unexpected'\n"
        "  stop: later routes are not evaluated\n"
        "result: 1 action\n"
        "  quarantine, reason: route 'unexpected' (route 'unexpected')\n");
    free(text);
    route_result_release(&res);
    conf_unref(c);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Reload */

struct change {
    int n;
    char text[8][256];
};

static void on_change(void *ud, const char *key, const char *running, const char *wanted)
{
    struct change *ch = ud;
    if (ch->n < 8)
        snprintf(ch->text[ch->n], sizeof ch->text[0], "%s: %s -> %s", key, running, wanted);
    ch->n++;
}

START_TEST(test_reload)
{
    struct hook h = { 0, 0 };
    struct conf_options o = { .dict = &test_dict, .check_step = check_step,
                              .release_step = release_step, .step_ud = &h };
    write_file("c.yaml", "server: { log_level: info }\n"
                         "pipelines: { p: [ { step: deid } ] }\n");
    const struct conf *first = load_ok("c.yaml", &o);
    struct conf_holder *holder = conf_holder_new(first);
    ck_assert_ptr_nonnull(holder);

    /* A reader holds the running config, as an association would. */
    const struct conf *reader = conf_holder_get(holder);
    ck_assert_ptr_eq(reader, first);

    /* A reload that changes live and restart-only settings. */
    write_file("c.yaml", "server:\n"
                         "  log_level: debug\n"
                         "  port: 11113\n"
                         "  bind: ['0.0.0.0', '::']\n"
                         "  data_dir: /srv/ferry\n"
                         "storage: { group_commit: { max_delay: 5ms } }\n"
                         "pipelines: { p: [ { step: deid } ] }\n");
    struct change ch = { 0 };
    struct conf_errors *errors = NULL;
    ck_assert_int_eq(conf_holder_reload(holder, "c.yaml", &o, &errors, on_change, &ch), 0);
    ck_assert_ptr_null(errors);
    ck_assert_int_eq(ch.n, 6);
    ck_assert_str_eq(ch.text[0], "server.port: 11112 -> 11113");
    ck_assert_str_eq(ch.text[1], "server.bind: [0.0.0.0] -> [0.0.0.0, ::]");
    ck_assert_str_eq(ch.text[2], "server.data_dir: './ferry-data' -> '/srv/ferry'");
    /* Settings whose default follows data_dir follow it here too. */
    ck_assert_str_eq(ch.text[3],
                     "server.control_socket: './ferry-data/ferry.sock' -> '/srv/ferry/ferry.sock'");
    ck_assert_str_eq(ch.text[4], "storage.group_commit.max_delay: 2ms -> 5ms");
    ck_assert_str_eq(ch.text[5],
                     "storage.quarantine_dir: './ferry-data/quarantine' -> '/srv/ferry/quarantine'");

    const struct conf *now = conf_holder_get(holder);
    ck_assert_ptr_ne(now, first);
    ck_assert_int_eq(now->server.log_level, 3);      /* live: applied */
    ck_assert_uint_eq(now->server.port, 11112);      /* restart: kept */
    ck_assert_uint_eq(now->server.bind.n, 1);
    ck_assert_str_eq(now->server.data_dir, "./ferry-data");
    ck_assert_str_eq(now->server.control_socket, "./ferry-data/ferry.sock");
    ck_assert_uint_eq(now->storage.group_commit_delay_ms, 2);
    ck_assert_str_eq(now->storage.quarantine_dir, "./ferry-data/quarantine");

    /* The old config lives on while its reader holds it. */
    ck_assert_int_eq(h.released, 0);
    ck_assert_int_eq(reader->server.log_level, 2);
    ck_assert_str_eq(reader->pipelines[0].name, "p");
    conf_unref(reader);
    ck_assert_int_eq(h.released, 1);

    /* A bad config is refused; the running one stays. */
    write_file("c.yaml", "server: { log_level: loud }\n");
    ck_assert_int_eq(conf_holder_reload(holder, "c.yaml", &o, &errors, on_change, &ch), -EINVAL);
    ck_assert_uint_eq(errors->n, 1);
    ck_assert_str_eq(errors->v[0].message,
                     "server.log_level: expected one of error, warn, info, debug, found 'loud'");
    conf_errors_free(errors);
    const struct conf *still = conf_holder_get(holder);
    ck_assert_ptr_eq(still, now);
    conf_unref(still);
    conf_unref(now);

    /* Swapping directly; the holder drops its reference when freed. */
    write_file("d.yaml", "");
    conf_holder_swap(holder, load_ok("d.yaml", &o));
    ck_assert_int_eq(h.released, 2);
    conf_holder_free(holder);
    conf_holder_free(NULL);
    conf_unref(NULL);
    ck_assert_int_eq(h.made, 2);
}
END_TEST

struct racer {
    struct conf_holder *h;
    int rounds;
    long seen;
};

static void *race_reader(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < r->rounds; i++) {
        const struct conf *c = conf_holder_get(r->h);
        r->seen += c->server.port; /* read while others swap */
        conf_unref(c);
    }
    return NULL;
}

START_TEST(test_reload_threads)
{
    write_file("a.yaml", "server: { port: 1000 }\n");
    write_file("b.yaml", "server: { port: 1000, log_level: debug }\n");
    struct conf_options o = { .dict = &test_dict };
    struct conf_holder *h = conf_holder_new(load_ok("a.yaml", &o));
    struct racer r[3] = { { h, 20000, 0 }, { h, 20000, 0 }, { h, 20000, 0 } };
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_reader, &r[i]), 0);
    const struct conf *pre[2] = { load_ok("a.yaml", &o), load_ok("b.yaml", &o) };
    for (int i = 0; i < 200; i++)
        conf_holder_swap(h, conf_ref(pre[i % 2]));
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(r[i].seen, 20000L * 1000);
    }
    conf_unref(pre[0]);
    conf_unref(pre[1]);
    conf_holder_free(h);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Docs: every setting of the schema is described in docs/config.md, and
 * every setting that needs a restart can be compared. */

static void check_table(const struct conf_table *t, const char *prefix, const char *doc)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct conf_key *k = &t->keys[i];
        char name[160], quoted[170];
        snprintf(name, sizeof name, "%s%s", prefix, k->name);
        if (k->type == &conf_t_section) {
            char sub[170];
            snprintf(sub, sizeof sub, "%s.", name);
            check_table(k->arg, sub, doc);
            continue;
        }
        snprintf(quoted, sizeof quoted, "`%s`", name);
        ck_assert_msg(strstr(doc, quoted) != NULL, "%s is not in docs/config.md", quoted);
        if (k->flags & CONF_RESTART)
            ck_assert_msg(k->type->store == CONF_S_STR || k->type->store == CONF_S_UINT ||
                              k->type->store == CONF_S_BOOL || k->type->store == CONF_S_STRINGS,
                          "%s needs a restart but cannot be compared", name);
        ck_assert_msg((k->def != NULL) != ((k->flags & CONF_REQUIRED) != 0) ||
                          k->type == &conf_t_deferred,
                      "%s: a default or required, not both", name);
    }
}

START_TEST(test_docs)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/config.md", getenv("FERRY_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    check_table(&conf_schema_root, "", doc);
    check_table(&conf_schema_destination, "destinations[].", doc);
    static const char *const route_keys[] = { "name", "match", "trigger", "forward",
                                              "discard", "quarantine", "continue" };
    for (size_t i = 0; i < sizeof route_keys / sizeof *route_keys; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "`routes[].%s`", route_keys[i]);
        ck_assert_msg(strstr(doc, quoted) != NULL, "%s is not in docs/config.md", quoted);
    }
}
END_TEST

TCase *conf_rules_tcase_pipelines(void)
{
    return tcase("pipelines", test_pipelines);
}

TCase *conf_rules_tcase_steps(void)
{
    return tcase("step_hook", test_step_hook);
}

TCase *conf_rules_tcase_routes(void)
{
    return tcase("routes", test_routes);
}

TCase *conf_rules_tcase_match_errors(void)
{
    return tcase("match_errors", test_match_errors);
}

TCase *conf_rules_tcase_consortium(void)
{
    return tcase("consortium", test_consortium);
}

TCase *conf_rules_tcase_reload(void)
{
    TCase *tc = tcase("reload", test_reload);
    tcase_add_test(tc, test_reload_threads);
    return tc;
}

TCase *conf_rules_tcase_docs(void)
{
    return tcase("docs", test_docs);
}
