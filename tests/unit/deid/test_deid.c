/* Unit tests for plugins/deid: the generated table, the decision layer,
 * keyed UIDs, dates and pseudonyms, text cleaning, parameters, mask files
 * and pixel masks. The walk over a real instance is tested once the host
 * (src/work on src/dcm) exists. */
#include "test_deid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tsv *tsv_read(const char *relpath)
{
    const char *root = getenv("FERRY_SOURCE_DIR");
    ck_assert_msg(root != NULL, "FERRY_SOURCE_DIR is not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, relpath);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    struct tsv *t = calloc(1, sizeof *t);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (line[0] == '#' || n == 0)
            continue;
        size_t cols = 1;
        for (ssize_t i = 0; i < n; i++)
            cols += line[i] == '\t';
        char **cells = calloc(cols, sizeof *cells);
        char *p = line;
        for (size_t c = 0; c < cols; c++) {
            char *tab = strchr(p, '\t');
            if (tab)
                *tab = '\0';
            cells[c] = strdup(p);
            p = tab ? tab + 1 : p + strlen(p);
        }
        if (!t->header) {
            t->header = cells;
            t->n_cols = cols;
            continue;
        }
        ck_assert_msg(cols == t->n_cols, "%s: a row has %zu cells, the header %zu", path, cols,
                      t->n_cols);
        t->rows = realloc(t->rows, (t->n_rows + 1) * sizeof *t->rows);
        t->rows[t->n_rows++] = cells;
    }
    free(line);
    fclose(f);
    return t;
}

void tsv_free(struct tsv *t)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (size_t c = 0; c < t->n_cols; c++)
        free(t->header[c]);
    free(t->header);
    free(t->rows);
    free(t);
}

int tsv_col(const struct tsv *t, const char *name)
{
    for (size_t c = 0; c < t->n_cols; c++)
        if (strcmp(t->header[c], name) == 0)
            return (int)c;
    return -1;
}

int parse_tag(const char *s, uint32_t *tag)
{
    unsigned g, e;
    char end;
    if (sscanf(s, "(%4x,%4x%c", &g, &e, &end) != 3 || end != ')' || strlen(s) != 11)
        return 0;
    *tag = g << 16 | e;
    return 1;
}

static struct {
    uint32_t tag;
    char vr[3];
} *dict;
static size_t dict_n;

const char *dict_vr(uint32_t tag)
{
    if (!dict) {
        FILE *f = fopen(FERRY_DCMTK_DICT, "r");
        ck_assert_msg(f != NULL, "cannot open %s", FERRY_DCMTK_DICT);
        char line[512];
        dict = calloc(6000, sizeof *dict);
        while (fgets(line, sizeof line, f) && dict_n < 6000) {
            uint32_t t;
            char vr[8];
            line[11] = '\0';
            if (line[0] != '(' || !parse_tag(line, &t) || sscanf(line + 12, "%7s", vr) != 1 ||
                strlen(vr) != 2 || vr[0] < 'A' || vr[0] > 'Z')
                continue;
            dict[dict_n].tag = t;
            memcpy(dict[dict_n].vr, vr, 3);
            dict_n++;
        }
        fclose(f);
    }
    for (size_t i = 0; i < dict_n; i++)
        if (dict[i].tag == tag)
            return dict[i].vr;
    return NULL;
}

struct deid_secret *test_secret(void)
{
    static const char key[] = "ferry-deid-test-secret-0123456789abcdef";
    struct deid_secret *s = deid_secret_from_bytes(key, strlen(key));
    ck_assert_ptr_nonnull(s);
    return s;
}

int main(void)
{
    Suite *s = suite_create("deid");
    suite_add_tcase(s, deid_tcase_table());
    suite_add_tcase(s, deid_tcase_decide());
    suite_add_tcase(s, deid_tcase_uid());
    suite_add_tcase(s, deid_tcase_dates());
    suite_add_tcase(s, deid_tcase_pseudonym());
    suite_add_tcase(s, deid_tcase_text());
    suite_add_tcase(s, deid_tcase_pixels());
    suite_add_tcase(s, deid_tcase_masks());
    suite_add_tcase(s, deid_tcase_params());
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(dict);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
