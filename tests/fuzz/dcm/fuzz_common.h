/* Shared by the fuzz targets and their replay runner. */
#ifndef FERRY_FUZZ_COMMON_H
#define FERRY_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcm/dcm.h"

/* Read and write a parsed data set every way the API allows; abort() on an
 * inconsistency. */
void fuzz_exercise(struct dcm_dataset *ds);
/* Same elements, VRs, lengths, offsets and bytes. */
bool fuzz_equal(const struct dcm_dataset *a, const struct dcm_dataset *b);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
