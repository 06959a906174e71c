/* The work module's Check suite. */
#include "test_work.h"

#include <stdlib.h>

int main(void)
{
    Suite *s = suite_create("work");
    suite_add_tcase(s, work_plugins_tcase());
    suite_add_tcase(s, work_pool_tcase());
    suite_add_tcase(s, work_pipeline_tcase());
    suite_add_tcase(s, work_host_tcase());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
