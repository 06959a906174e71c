/* Unit tests for src/work: the plugin loader, with the test plugins of
 * tests/plugins/. */
#include "work/plugins.h"

#include "plugin_harness.h"
#include "test_work.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[1024];

static void setup(void)
{
    const char *b = getenv("FERRY_BUILD_DIR");
    ck_assert_ptr_nonnull(b);
    snprintf(dir, sizeof dir, "%s/tests/plugins", b);
}

static struct work_registry *load(const char *const *names, size_t n, struct ferry_error **err)
{
    return work_registry_load(dir, names, n, harness_host(), err);
}

START_TEST(test_good_plugin)
{
    struct ferry_error *err = NULL;
    const char *names[] = { "test_good" };
    struct work_registry *reg = load(names, 1, &err);
    ck_assert_msg(reg != NULL, "%s", ferry_error_message(err));
    ck_assert_uint_eq(work_registry_count(reg), 1);
    ck_assert_str_eq(work_registry_plugin(reg, 0)->name, "test-good");
    ck_assert_ptr_null(work_registry_plugin(reg, 1));

    const struct ferry_codec *c = work_registry_codec(reg, "test-invert", FERRY_CODEC_ENCODE);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_eq(work_registry_codec(reg, "1.2.826.0.1.3680043.10.1.1",
                                         FERRY_CODEC_DECODE | FERRY_CODEC_ENCODE), c);
    ck_assert_ptr_null(work_registry_codec(reg, "jpeg-ls-lossless", FERRY_CODEC_DECODE));
    ck_assert_ptr_null(work_registry_codec(reg, "test-invert", FERRY_CODEC_LOSSY));

    /* The codec really runs through the table. */
    struct ferry_frame g = { .size = sizeof g, .rows = 2, .columns = 3, .samples_per_pixel = 1,
                             .bits_allocated = 8, .bits_stored = 8, .high_bit = 7 };
    uint8_t in[6] = { 0, 1, 2, 3, 250, 255 }, back[6];
    struct ferry_encoded enc = { .size = sizeof enc };
    struct ferry_diag diag = { .size = sizeof diag, .param = -1 };
    ck_assert_int_eq(c->encode(NULL, harness_host(), &g, in, 6, &enc, &diag), 0);
    ck_assert_uint_eq(enc.bytes[0], 255);
    struct ferry_frame og = g;
    ck_assert_int_eq(c->decode(NULL, &g, enc.bytes, enc.length, back, 6, &og, &diag), 0);
    ck_assert_mem_eq(in, back, 6);
    ck_assert_int_eq(c->decode(NULL, &g, enc.bytes, 5, back, 6, &og, &diag), -EINVAL);
    ck_assert_str_eq(diag.message, "frame is 5 bytes, expected 6");
    harness_host()->free(enc.bytes);

    const struct ferry_step *s = work_registry_step(reg, "test-mark");
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_null(work_registry_step(reg, "deid"));
    struct ferry_param bad[] = { { "txt", "x" } };
    void *state = NULL;
    diag = (struct ferry_diag){ .size = sizeof diag, .param = -1 };
    ck_assert_int_eq(s->configure(harness_host(), bad, 1, &state, &diag), -EINVAL);
    ck_assert_int_eq(diag.param, 0);
    ck_assert_str_eq(diag.message, "unknown parameter 'txt'");
    work_registry_free(reg);
}
END_TEST

static void expect_refused(const char *const *names, size_t n, int code, const char *want)
{
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(load(names, n, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(err->code, code);
    ck_assert_str_eq(err->message, want);
    ferry_error_free(err);
}

static char want[4096];

START_TEST(test_wrong_major_refused)
{
    const char *names[] = { "test_good", "test_wrong_major" };
    snprintf(want, sizeof want,
             "plugin %s/test_wrong_major.so (test-future): built for plugin ABI %d.0, this "
             "ferry has %d.%d; rebuild it against this ferry's plugin.h",
             dir, FERRY_PLUGIN_ABI_MAJOR + 1, FERRY_PLUGIN_ABI_MAJOR, FERRY_PLUGIN_ABI_MINOR);
    expect_refused(names, 2, -ENOTSUP, want);
}
END_TEST

START_TEST(test_missing_entry_refused)
{
    const char *names[] = { "test_missing_entry" };
    snprintf(want, sizeof want,
             "plugin %s/test_missing_entry.so: no ferry_plugin_init() entry point; not a "
             "ferry plugin", dir);
    expect_refused(names, 1, -EINVAL, want);
}
END_TEST

START_TEST(test_duplicate_refused)
{
    const char *names[] = { "test_good", "test_duplicate" };
    snprintf(want, sizeof want,
             "plugin %s/test_duplicate.so: a plugin named 'test-good' is already loaded "
             "from %s/test_good.so", dir, dir);
    expect_refused(names, 2, -EEXIST, want);
}
END_TEST

START_TEST(test_missing_file_refused)
{
    struct ferry_error *err = NULL;
    const char *names[] = { "no_such_plugin" };
    ck_assert_ptr_null(load(names, 1, &err));
    ck_assert_int_eq(err->code, -ENOENT);
    snprintf(want, sizeof want, "plugin %s/no_such_plugin.so: cannot load: ", dir);
    ck_assert_msg(strncmp(err->message, want, strlen(want)) == 0, "%s", err->message);
    ferry_error_free(err);
}
END_TEST

START_TEST(test_load_all_refuses_the_folder_with_a_bad_one)
{
    struct ferry_error *err = NULL;
    ck_assert_ptr_null(work_registry_load_all(dir, harness_host(), &err));
    ck_assert_ptr_nonnull(err); /* the folder holds the deliberately bad ones */
    ferry_error_free(err);
    err = NULL;
    ck_assert_ptr_null(work_registry_load_all("/nonexistent-ferry-dir", harness_host(), &err));
    ck_assert_str_eq(err->message,
                     "plugins: cannot read the folder /nonexistent-ferry-dir: No such file or "
                     "directory");
    ferry_error_free(err);
}
END_TEST

TCase *work_plugins_tcase(void)
{
    TCase *tc = tcase_create("plugins");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_good_plugin);
    tcase_add_test(tc, test_wrong_major_refused);
    tcase_add_test(tc, test_missing_entry_refused);
    tcase_add_test(tc, test_duplicate_refused);
    tcase_add_test(tc, test_missing_file_refused);
    tcase_add_test(tc, test_load_all_refuses_the_folder_with_a_bad_one);
    return tc;
}
