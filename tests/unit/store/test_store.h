/* The store suite's shared helpers (test_store.c) and the spool's TCase
 * (test_spool.c). */
#ifndef FERRY_TEST_STORE_H
#define FERRY_TEST_STORE_H

#include <check.h>
#include <stdint.h>

/* The first column of the first row of sql on the SQLite file at path. */
int64_t test_store_scalar(const char *path, const char *sql);

TCase *spool_tcase(void);
TCase *pseudonym_tcase(void);

#endif
