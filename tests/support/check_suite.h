/* Test support: a Check suite built from a table of tests, run, and turned
 * into the exit status of the test program. What every suite's main() did
 * by hand. */
#ifndef FERRY_TEST_CHECK_SUITE_H
#define FERRY_TEST_CHECK_SUITE_H

#include <check.h>
#include <stddef.h>

struct suite_test {
    const char *tcase;  /* TCase name: consecutive rows of one name share a TCase */
    const TTest *test;
    int timeout;        /* seconds for the TCase (its first row's); 0: Check's default */
};

/* Build suite `name` from rows[0..n-1] (borrowed), give every TCase the
 * checked fixture setup/teardown (either may be NULL), run it (CK_NORMAL)
 * and return EXIT_SUCCESS, or EXIT_FAILURE if a test failed. */
int suite_run_table(const char *name, const struct suite_test *rows, size_t n, SFun setup,
                    SFun teardown);

/* suite_run_table(name, SUITE_ROWS(rows), setup, teardown) for an array. */
#define SUITE_ROWS(a) (a), sizeof(a) / sizeof((a)[0])

#endif
