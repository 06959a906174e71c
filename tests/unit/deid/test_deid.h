/* tests/unit/deid: one suite, a TCase per feature, spread over files. */
#ifndef FERRY_TEST_DEID_H
#define FERRY_TEST_DEID_H

#include "deid-private.h"

#include <check.h>
#include <stddef.h>

TCase *deid_tcase_table(void);
TCase *deid_tcase_decide(void);
TCase *deid_tcase_uid(void);
TCase *deid_tcase_dates(void);
TCase *deid_tcase_pseudonym(void);
TCase *deid_tcase_text(void);
TCase *deid_tcase_pixels(void);
TCase *deid_tcase_masks(void);
TCase *deid_tcase_params(void);

/* One row of a TSV file as strings (the header's columns). */
struct tsv {
    char **header;
    size_t n_cols;
    char ***rows;   /* rows[i][col] */
    size_t n_rows;
};
/* Read $FERRY_SOURCE_DIR/<relpath>; '#' lines are comments. Aborts the test on error. */
struct tsv *tsv_read(const char *relpath);
void tsv_free(struct tsv *t);
/* Column index of name, or -1. */
int tsv_col(const struct tsv *t, const char *name);

/* (GGGG,EEEE) -> tag; returns false for patterns. */
int parse_tag(const char *s, uint32_t *tag);

/* The dictionary VR of a tag from DCMTK's dicom.dic, or NULL. */
const char *dict_vr(uint32_t tag);

/* The test secret ("ferry-deid-test-secret-0123456789abcdef"). */
struct deid_secret *test_secret(void);

#endif
