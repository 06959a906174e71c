/* The step's parameters, through the real build/plugins/deid.so: its entry
 * point, its step, and configure()'s exact messages and parameter indexes. */
#include "test_deid.h"

#include "plugin_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct harness_plugin *plugin;
static const struct ferry_step *step;
static char dir[64];
static char good[128], open_mode[128], short_secret[128], masks[128], bad_masks[128];

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void setup(void)
{
    char err[512];
    plugin = harness_load(harness_plugin_path("deid"), err, sizeof err);
    ck_assert_msg(plugin != NULL, "%s", err);
    const struct ferry_plugin *p = harness_plugin_desc(plugin);
    ck_assert_uint_eq(p->n_steps, 1);
    step = p->steps[0];
    snprintf(dir, sizeof dir, "/tmp/ferry-deid-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/secret", dir);
    snprintf(open_mode, sizeof open_mode, "%s/secret-644", dir);
    snprintf(short_secret, sizeof short_secret, "%s/secret-short", dir);
    snprintf(masks, sizeof masks, "%s/masks.tsv", dir);
    snprintf(bad_masks, sizeof bad_masks, "%s/bad-masks.tsv", dir);
    write_file(good, "q3Jx0vYbKQ2lC8fN1yWmA7pE4sT6uH9dZ5gR+oVbI0c=\n", 0600);
    write_file(open_mode, "q3Jx0vYbKQ2lC8fN1yWmA7pE4sT6uH9dZ5gR+oVbI0c=\n", 0644);
    write_file(short_secret, "short secret\n\n", 0400);
    write_file(masks, "Mindray\t*\t600x800\t0,0,800,40\n", 0644);
    write_file(bad_masks, "# devices\nMindray\t*\t600x800\t0,0,900,40\n", 0644);
}

static void teardown(void)
{
    unlink(good);
    unlink(open_mode);
    unlink(short_secret);
    unlink(masks);
    unlink(bad_masks);
    rmdir(dir);
    harness_unload(plugin);
}

/* Run configure as the host does (diag cleared, param -1); returns rc. */
static int configure(const struct ferry_param *params, uint32_t n, struct ferry_diag *diag)
{
    memset(diag, 0, sizeof *diag);
    diag->size = sizeof *diag;
    diag->param = -1;
    void *state = NULL;
    int rc = step->configure(harness_host(), params, n, &state, diag);
    if (rc == 0)
        ck_assert_ptr_nonnull(state);
    else
        ck_assert_ptr_null(state);
    step->release(state);
    return rc;
}

#define CHECK_ERROR(params, want_param, want_message)                                  \
    do {                                                                               \
        struct ferry_diag d;                                                           \
        ck_assert_int_lt(configure(params, sizeof params / sizeof params[0], &d), 0);  \
        ck_assert_str_eq(d.message, want_message);                                     \
        ck_assert_int_eq(d.param, want_param);                                         \
    } while (0)

START_TEST(test_plugin_description)
{
    const struct ferry_plugin *p = harness_plugin_desc(plugin);
    ck_assert_str_eq(p->name, "deid");
    ck_assert_uint_eq(p->abi_major, FERRY_PLUGIN_ABI_MAJOR);
    ck_assert_uint_eq(p->size, sizeof(struct ferry_plugin));
    ck_assert_uint_eq(p->n_codecs, 0);
    ck_assert_str_eq(step->name, "deid");
    ck_assert_uint_eq(step->size, sizeof(struct ferry_step));
}
END_TEST

START_TEST(test_good_configs)
{
    struct ferry_diag d;
    struct ferry_param minimal[] = { { "secret-file", good } };
    ck_assert_int_eq(configure(minimal, 1, &d), 0);
    struct ferry_param full[] = {
        { "secret-file", good },
        { "option", "retain-long-modified-dates" },
        { "option", "clean-descriptors" },
        { "option", "retain-safe-private" },
        { "pseudonym-template", "{site}-{num:12}" },
        { "site", "TOWN_01" },
        { "burned-in", "mask" },
        { "mask-file", masks },
        { "record-pseudonyms", "off" },
    };
    ck_assert_int_eq(configure(full, sizeof full / sizeof full[0], &d), 0);
    ck_assert_str_eq(d.message, "");
    struct ferry_param all_options[DEID_OPT_COUNT];
    uint32_t n = 0;
    all_options[n++] = (struct ferry_param){ "secret-file", good };
    for (int o = 0; o < DEID_OPT_COUNT; o++)
        if (o != DEID_OPT_RETAIN_LONG_FULL_DATES)
            all_options[n++] = (struct ferry_param){ "option", deid_option_name(o) };
    ck_assert_int_eq(configure(all_options, n, &d), 0);
}
END_TEST

START_TEST(test_errors)
{
    struct ferry_param none[] = { { "site", "A" } };
    CHECK_ERROR(none, -1,
                "secret-file is required (a file of 32 to 4096 secret bytes that only its owner "
                "may read)");
    struct ferry_param unknown[] = { { "secret-file", good }, { "secret", good } };
    CHECK_ERROR(unknown, 1,
                "unknown parameter \"secret\"; deid takes secret-file, option, "
                "pseudonym-template, site, burned-in, mask-file, record-pseudonyms");
    struct ferry_param twice[] = { { "secret-file", good }, { "site", "A" }, { "site", "B" } };
    CHECK_ERROR(twice, 2, "site given twice");
    struct ferry_param empty[] = { { "secret-file", good }, { "pseudonym-template", "" } };
    CHECK_ERROR(empty, 1, "pseudonym-template is empty");
    struct ferry_param bad_option[] = { { "secret-file", good }, { "option", "retain-all" } };
    CHECK_ERROR(bad_option, 1,
                "unknown option \"retain-all\"; options: retain-safe-private, retain-uids, "
                "retain-device-identity, retain-institution-identity, "
                "retain-patient-characteristics, retain-long-full-dates, "
                "retain-long-modified-dates, clean-descriptors, clean-structured-content, "
                "clean-graphics");
    struct ferry_param option_twice[] = { { "option", "retain-uids" },
                                          { "secret-file", good },
                                          { "option", "retain-uids" } };
    CHECK_ERROR(option_twice, 2, "option retain-uids given twice");
    struct ferry_param both_dates[] = { { "option", "retain-long-modified-dates" },
                                        { "option", "retain-long-full-dates" },
                                        { "secret-file", good } };
    CHECK_ERROR(both_dates, 1,
                "options retain-long-full-dates and retain-long-modified-dates exclude each "
                "other");
    struct ferry_param site[] = { { "secret-file", good }, { "site", "TOWN 01" } };
    CHECK_ERROR(site, 1, "site must be 1 to 16 letters, digits, '-' or '_', not \"TOWN 01\"");
    struct ferry_param long_site[] = { { "site", "ABCDEFGHIJKLMNOPQ" }, { "secret-file", good } };
    CHECK_ERROR(long_site, 0,
                "site must be 1 to 16 letters, digits, '-' or '_', not \"ABCDEFGHIJKLMNOPQ\"");
    struct ferry_param burned[] = { { "secret-file", good }, { "burned-in", "ignore" } };
    CHECK_ERROR(burned, 1, "burned-in must be reject, warn or mask, not \"ignore\"");
    struct ferry_param mask_no_file[] = { { "burned-in", "mask" }, { "secret-file", good } };
    CHECK_ERROR(mask_no_file, 0, "burned-in: mask needs a mask-file");
    /* The harness host answers the record_pseudonym probe with -ENOTSUP:
     * a program that keeps no map. */
    struct ferry_param record_on[] = { { "secret-file", good }, { "record-pseudonyms", "on" } };
    CHECK_ERROR(record_on, 1,
                "record-pseudonyms: on, but this program keeps no pseudonym map (no place to "
                "record it is set up); leave it off");
    struct ferry_param record_bad[] = { { "record-pseudonyms", "yes" }, { "secret-file", good } };
    CHECK_ERROR(record_bad, 0, "record-pseudonyms must be on or off, not \"yes\"");
    struct ferry_param tmpl[] = { { "secret-file", good }, { "site", "S" },
                                  { "pseudonym-template", "{site}-{hash:6}" } };
    CHECK_ERROR(tmpl, 2,
                "pseudonym-template: carries 24 bits of hash ({hash:N} gives 4 per digit, "
                "{num:N} 3.3); at least 32 are needed so that patients do not share a pseudonym");
    struct ferry_param tmpl_field[] = { { "pseudonym-template", "{patient}" },
                                        { "secret-file", good } };
    CHECK_ERROR(tmpl_field, 0,
                "pseudonym-template: unknown field {patient} at column 1 (fields: {site}, "
                "{hash:N}, {num:N})");
}
END_TEST

START_TEST(test_file_errors)
{
    char want[512];
    struct ferry_param missing[] = { { "site", "A" }, { "secret-file", "/nonexistent/secret" } };
    CHECK_ERROR(missing, 1, "secret-file /nonexistent/secret: No such file or directory");
    struct ferry_param readable[] = { { "secret-file", open_mode } };
    snprintf(want, sizeof want,
             "secret-file %s: group or others may access it (mode 0644); make it readable by "
             "its owner only (chmod 600)",
             open_mode);
    CHECK_ERROR(readable, 0, want);
    struct ferry_param too_short[] = { { "secret-file", short_secret } };
    snprintf(want, sizeof want, "secret-file %s: 12 bytes of secret; at least 32 are needed",
             short_secret);
    CHECK_ERROR(too_short, 0, want);
    struct ferry_param a_dir[] = { { "secret-file", "/tmp" } };
    CHECK_ERROR(a_dir, 0, "secret-file /tmp: not a regular file");
    struct ferry_param masks_bad[] = { { "secret-file", good }, { "mask-file", bad_masks } };
    snprintf(want, sizeof want,
             "mask-file %s:2:19: rectangle 0,0,900,40 reaches past the 600x800 image", bad_masks);
    CHECK_ERROR(masks_bad, 1, want);
    struct ferry_param masks_missing[] = { { "mask-file", "/nonexistent/m.tsv" },
                                           { "secret-file", good } };
    CHECK_ERROR(masks_missing, 0, "mask-file /nonexistent/m.tsv: No such file or directory");
}
END_TEST

/* A host of ABI 1.0 (without record_pseudonym) and hosts whose program
 * does or does not keep records. */
static int probe_ok(struct ferry_instance *i, const char *k, const char *o, const char *r)
{
    (void)k;
    (void)o;
    (void)r;
    return i ? -EIO : 0;
}

START_TEST(test_record_pseudonyms_host)
{
    struct ferry_host h10 = *harness_host();
    h10.size = (uint32_t)offsetof(struct ferry_host, record_pseudonym);
    h10.abi_minor = 0;
    struct ferry_param on[] = { { "record-pseudonyms", "on" }, { "secret-file", good } };
    struct ferry_diag d = { .size = sizeof d, .param = -1 };
    void *state = NULL;
    ck_assert_int_eq(step->configure(&h10, on, 2, &state, &d), -EINVAL);
    ck_assert_ptr_null(state);
    ck_assert_str_eq(d.message, "record-pseudonyms: on needs plugin ABI 1.1 (record_pseudonym); "
                                "this host offers 1.0; leave it off");
    ck_assert_int_eq(d.param, 0);
    /* off needs nothing of the host */
    struct ferry_param off[] = { { "record-pseudonyms", "off" }, { "secret-file", good } };
    d = (struct ferry_diag){ .size = sizeof d, .param = -1 };
    ck_assert_int_eq(step->configure(&h10, off, 2, &state, &d), 0);
    step->release(state);
    state = NULL;
    /* a host whose program keeps records */
    struct ferry_host h11 = *harness_host();
    h11.record_pseudonym = probe_ok;
    d = (struct ferry_diag){ .size = sizeof d, .param = -1 };
    ck_assert_int_eq(step->configure(&h11, on, 2, &state, &d), 0);
    ck_assert_ptr_nonnull(state);
    step->release(state);
}
END_TEST

TCase *deid_tcase_params(void)
{
    TCase *tc = tcase_create("params");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plugin_description);
    tcase_add_test(tc, test_good_configs);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_record_pseudonyms_host);
    return tc;
}
