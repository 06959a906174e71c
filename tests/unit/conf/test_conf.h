/* Unit tests for src/conf: helpers shared by the test files. */
#ifndef FERRY_TEST_CONF_H
#define FERRY_TEST_CONF_H

#include "conf/conf-private.h"

#include <check.h>

/* Each test runs in a fresh temporary folder (the current directory). */
void conf_test_setup(void);
void conf_test_teardown(void);

/* Write a file (creating its folders) relative to the test folder. */
void write_file(const char *name, const char *text);

/* Load name with opts (NULL: the test dictionary only) and return what
 * `ferry config check` would print: the error lines, or "OK\n". The string
 * is valid until the next call. */
const char *load_text(const char *name, const struct conf_options *opts);

/* Compare texts line by line; on a difference, fail naming the first
 * differing line (Check cannot carry very long messages). */
#define assert_text(got, expected) assert_text_at(__FILE__, __LINE__, got, expected)
void assert_text_at(const char *file, int line, const char *got, const char *expected);

/* Load and expect success. */
const struct conf *load_ok(const char *name, const struct conf_options *opts);

/* The test dictionary. */
extern const struct route_dict test_dict;

/* A fake instance for evaluating routes. */
struct fake_elem {
    uint32_t tag;
    const char *value; /* values separated by '\\' */
};
int fake_get(void *ud, uint32_t tag, uint32_t index, char *buf, size_t size);

TCase *conf_rules_tcase_pipelines(void);
TCase *conf_rules_tcase_steps(void);
TCase *conf_rules_tcase_routes(void);
TCase *conf_rules_tcase_match_errors(void);
TCase *conf_rules_tcase_consortium(void);
TCase *conf_rules_tcase_reload(void);
TCase *conf_rules_tcase_docs(void);

#endif
