/* Helpers for the dcm unit tests: building encoded streams by hand, comparing
 * data sets, finding the pydicom corpus. */
#ifndef FERRY_TEST_DCM_UTIL_H
#define FERRY_TEST_DCM_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcm/dcm.h"

/* A byte stream under construction. */
struct tb {
    uint8_t *d;
    size_t n, cap;
    bool big;       /* big endian */
    bool implicit;  /* implicit VR */
};

void tb_bytes(struct tb *t, const void *p, size_t n);
void tb_u16(struct tb *t, uint16_t v);
void tb_u32(struct tb *t, uint32_t v);
void tb_tag(struct tb *t, uint32_t tag);
/* An element header (with VR unless implicit). */
void tb_head(struct tb *t, uint32_t tag, const char *vr, uint32_t len);
/* An element with a value. */
void tb_el(struct tb *t, uint32_t tag, const char *vr, const void *v, uint32_t len);
void tb_str(struct tb *t, uint32_t tag, const char *vr, const char *s);
/* Item / delimiter headers (never a VR). */
void tb_item(struct tb *t, uint32_t len);
void tb_item_end(struct tb *t);
void tb_seq_end(struct tb *t);
/* Preamble, DICM and a meta group naming `ts`. */
void tb_part10(struct tb *t, const char *ts);
void tb_free(struct tb *t);

/* Parse helpers that fail the test with the error message. */
struct dcm_dataset *parse_ok(const struct tb *t, uint32_t flags, const char *ts);
/* Parse and return the error message (malloc'd), failing if it parses. */
char *parse_err(const struct tb *t, uint32_t flags, const char *ts);
/* Feed in chunks of `chunk` bytes (0: a pseudo-random mix of sizes). */
struct dcm_dataset *parse_chunks(const uint8_t *d, size_t n, const struct dcm_parse_opts *o,
                                 size_t chunk, struct ferry_error **err);

/* Deep equality; on difference, writes where into why (if not NULL).
 * loose_vr: accept a VR difference where the second is UN or both are the
 * dictionary's choice after an implicit-VR round trip. */
bool ds_equal(const struct dcm_dataset *a, const struct dcm_dataset *b, bool loose_vr,
              char *why, size_t why_size);

/* Read a whole file into memory (malloc'd), NULL if absent. */
uint8_t *slurp(const char *path, size_t *n);
/* The pydicom test_files folder, or NULL when python3-pydicom is absent. */
const char *corpus_dir(void);
/* Every regular file under dir (recursively), NULL-terminated, malloc'd. */
char **list_files(const char *dir);
void free_list(char **l);

/* The TCases of the suite. */
TCase *tcase_dict(void);
TCase *tcase_parse(void);
TCase *tcase_parse_errors(void);
TCase *tcase_incremental(void);
TCase *tcase_values(void);
TCase *tcase_write(void);
TCase *tcase_roundtrip(void);
TCase *tcase_charset(void);
TCase *tcase_command(void);

#endif
