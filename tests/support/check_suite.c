/* Test support: see check_suite.h. */
#include "check_suite.h"

#include <stdlib.h>
#include <string.h>

int suite_run_table(const char *name, const struct suite_test *rows, size_t n, SFun setup,
                    SFun teardown)
{
    Suite *s = suite_create(name);
    TCase *tc = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!tc || strcmp(rows[i].tcase, rows[i - 1].tcase) != 0) {
            tc = tcase_create(rows[i].tcase);
            if (setup || teardown)
                tcase_add_checked_fixture(tc, setup, teardown);
            if (rows[i].timeout > 0)
                tcase_set_timeout(tc, rows[i].timeout);
            suite_add_tcase(s, tc);
        }
        tcase_add_test(tc, rows[i].test);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
