/* The work module's Check suite: one TCase per feature, one file each. */
#ifndef FERRY_TEST_WORK_H
#define FERRY_TEST_WORK_H
#include <check.h>
TCase *work_plugins_tcase(void);
TCase *work_pool_tcase(void);
TCase *work_pipeline_tcase(void);
TCase *work_host_tcase(void);
#endif
