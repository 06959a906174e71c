/* Unit tests for src/base: errors and log lines. */
#include "base/error.h"
#include "base/fs.h"
#include "base/log.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_error_first_wins)
{
    struct ferry_error *err = NULL;
    ck_assert_int_eq(ferry_error_set(&err, -EINVAL, "at offset %d: bad %s", 132, "length"), -EINVAL);
    ferry_error_set(&err, -ENOMEM, "second");
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->code, -EINVAL);
    ck_assert_str_eq(err->message, "at offset 132: bad length");
    ferry_error_prefix(&err, "%s", "ct.dcm");
    ck_assert_str_eq(ferry_error_message(err), "ct.dcm: at offset 132: bad length");
    ferry_error_free(err);
    ferry_error_free(NULL);
    /* A NULL error pointer is allowed: the code still comes back. */
    ck_assert_int_eq(ferry_error_set(NULL, -EIO, "ignored"), -EIO);
    ck_assert_str_eq(ferry_error_message(NULL), "");
}
END_TEST

START_TEST(test_log_one_line)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ferry_log_init(p[1], FERRY_LOG_INFO);
    ferry_log(FERRY_LOG_DEBUG, NULL, "hidden");
    ferry_log(FERRY_LOG_WARN, "assoc 3 CT1->FERRY", "line\nbreak kept on %s", "one line");
    close(p[1]);
    char buf[512] = { 0 };
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    ferry_log_init(2, FERRY_LOG_INFO);
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_null(strstr(buf, "hidden"));
    ck_assert_ptr_nonnull(strstr(buf, "warn  [assoc 3 CT1->FERRY] line break kept on one line\n"));
    ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
    ck_assert_int_eq(ferry_log_level_from_name("DEBUG"), FERRY_LOG_DEBUG);
    ck_assert_int_eq(ferry_log_level_from_name("loud"), -1);
}
END_TEST

START_TEST(test_mkdir_p)
{
    char root[] = "/tmp/ferry-base-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[256], file[256];
    snprintf(path, sizeof path, "%s/a/b/c/", root);
    ck_assert_int_eq(ferry_mkdir_p(path, 0750), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(ferry_mkdir_p(path, 0750), 0); /* there already */
    /* a file in the way: mkdir's own error */
    snprintf(file, sizeof file, "%s/a/f", root);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/a/f/g", root);
    ck_assert_int_eq(ferry_mkdir_p(path, 0750), -ENOTDIR);
    ck_assert_int_eq(ferry_mkdir_p("", 0750), -ENAMETOOLONG);
    char *longp = malloc(5000);
    memset(longp, 'x', 4999);
    longp[4999] = '\0';
    ck_assert_int_eq(ferry_mkdir_p(longp, 0750), -ENAMETOOLONG);
    free(longp);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, test_error_first_wins);
    suite_add_tcase(s, tc);
    tc = tcase_create("fs");
    tcase_add_test(tc, test_mkdir_p);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_test(tc, test_log_one_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
