/* Unit tests for the pseudonym map in the index (src/store/pseudonym.c):
 * rows recorded once, read back whole or by patient, the upgrade of a v2
 * index, errors. */
#include "test_store.h"

#include "store/store.h"

#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char pdir[256];
static char ppath[300];

static void p_setup(void)
{
    snprintf(pdir, sizeof pdir, "/tmp/ferry-pseudonym-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(pdir));
    snprintf(ppath, sizeof ppath, "%s/index.sqlite", pdir);
}

static void p_teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void record(struct store_index *idx, const char *kind, const char *orig,
                   const char *repl)
{
    struct store_pseudonym r = { .kind = kind, .original = orig, .replacement = repl,
                                 .step = "deid", .context = "TEST 1.2.3", .recorded_ms = 1000 };
    struct ferry_error *err = NULL;
    ck_assert_int_eq(store_index_begin(idx, &err), 0);
    int rc = store_pseudonym_record(idx, &r, &err);
    ck_assert_msg(rc == 0, "%s", ferry_error_message(err));
    ck_assert_int_eq(store_index_commit(idx, &err), 0);
}

struct rows {
    char text[1024];
    int n;
};

static int collect(void *ud, const struct store_pseudonym *r)
{
    struct rows *rows = ud;
    size_t len = strlen(rows->text);
    snprintf(rows->text + len, sizeof rows->text - len, "%s|%s|%s|%s;", r->kind, r->original,
             r->replacement, r->step);
    rows->n++;
    return 0;
}

static int stop_at_first(void *ud, const struct store_pseudonym *r)
{
    (void)r;
    (*(int *)ud)++;
    return 7;
}

START_TEST(test_record_and_list)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(ppath, &err);
    ck_assert_ptr_nonnull(idx);
    record(idx, "patient-id", "P001", "DEID-AAAA");
    record(idx, "patient-name", "张^三", "DEID-AAAA");
    record(idx, "patient-id", "P001", "DEID-AAAA"); /* again: one row */
    record(idx, "patient-id", "P002", "DEID-BBBB");
    ck_assert_int_eq(test_store_scalar(ppath, "SELECT count(*) FROM pseudonym"), 3);
    store_index_close(idx);

    idx = store_index_open_readonly(ppath, &err);
    ck_assert_ptr_nonnull(idx);
    struct rows all = { "", 0 };
    ck_assert_int_eq(store_pseudonym_list(idx, NULL, collect, &all, &err), 0);
    ck_assert_str_eq(all.text, "patient-id|P001|DEID-AAAA|deid;patient-name|张^三|DEID-AAAA|deid;"
                               "patient-id|P002|DEID-BBBB|deid;");
    /* by pseudonym: the patient back */
    struct rows one = { "", 0 };
    ck_assert_int_eq(store_pseudonym_list(idx, "DEID-AAAA", collect, &one, &err), 0);
    ck_assert_str_eq(one.text, "patient-id|P001|DEID-AAAA|deid;patient-name|张^三|DEID-AAAA|deid;");
    /* by original: the pseudonym */
    struct rows two = { "", 0 };
    ck_assert_int_eq(store_pseudonym_list(idx, "P002", collect, &two, &err), 0);
    ck_assert_str_eq(two.text, "patient-id|P002|DEID-BBBB|deid;");
    struct rows none = { "", 0 };
    ck_assert_int_eq(store_pseudonym_list(idx, "P003", collect, &none, &err), 0);
    ck_assert_int_eq(none.n, 0);
    int calls = 0;
    ck_assert_int_eq(store_pseudonym_list(idx, NULL, stop_at_first, &calls, &err), 7);
    ck_assert_int_eq(calls, 1);
    ck_assert_ptr_null(err);
    store_index_close(idx);
}
END_TEST

START_TEST(test_record_errors)
{
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(ppath, &err);
    ck_assert_ptr_nonnull(idx);
    struct store_pseudonym r = { .kind = "", .original = "a", .replacement = "b" };
    ck_assert_int_eq(store_pseudonym_record(idx, &r, &err), -EINVAL);
    char want[600];
    snprintf(want, sizeof want, "index %s: a pseudonym record needs a kind, an original and a "
                                "replacement", ppath);
    ck_assert_str_eq(err->message, want);
    ferry_error_free(err);
    store_index_close(idx);
}
END_TEST

/* An index of schema v2 (before the map) is upgraded: its rows stay, the
 * table appears, and until then listing it gives no rows. */
START_TEST(test_upgrade_from_v2)
{
    /* a v3 index made a v2 one: without the map's table */
    struct ferry_error *err = NULL;
    struct store_index *idx = store_index_open(ppath, &err);
    ck_assert_ptr_nonnull(idx);
    store_index_close(idx);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(ppath, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "DROP TABLE pseudonym;"
                                  "INSERT INTO destination_state VALUES('reading', 1);"
                                  "PRAGMA user_version=2;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    idx = store_index_open_readonly(ppath, &err);
    ck_assert_ptr_nonnull(idx);
    struct rows rows = { "", 0 };
    ck_assert_int_eq(store_pseudonym_list(idx, NULL, collect, &rows, &err), 0);
    ck_assert_int_eq(rows.n, 0);
    store_index_close(idx);

    idx = store_index_open(ppath, &err);
    ck_assert_msg(idx != NULL, "%s", ferry_error_message(err));
    store_index_close(idx);
    ck_assert_int_eq(test_store_scalar(ppath, "PRAGMA user_version"), 3);
    ck_assert_int_eq(test_store_scalar(ppath, "SELECT paused FROM destination_state"), 1);
    ck_assert_int_eq(test_store_scalar(ppath, "SELECT count(*) FROM pseudonym"), 0);
}
END_TEST

TCase *pseudonym_tcase(void)
{
    TCase *tc = tcase_create("pseudonym");
    tcase_add_checked_fixture(tc, p_setup, p_teardown);
    tcase_add_test(tc, test_record_and_list);
    tcase_add_test(tc, test_record_errors);
    tcase_add_test(tc, test_upgrade_from_v2);
    return tc;
}
