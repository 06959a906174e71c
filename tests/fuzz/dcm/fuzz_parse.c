/* libFuzzer target: the buffer parser, as a Part 10 file and as a bare data
 * set in each uncompressed syntax, full and header-only; whatever parses is
 * read, written and read again (fuzz_exercise). */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const syntaxes[] = {
        NULL, /* Part 10 */
        DCM_UID_ImplicitVRLittleEndian,
        DCM_UID_ExplicitVRLittleEndian,
        DCM_UID_ExplicitVRBigEndian,
        DCM_UID_DeflatedExplicitVRLittleEndian,
    };
    for (size_t i = 0; i < sizeof syntaxes / sizeof syntaxes[0]; i++) {
        for (int header_only = 0; header_only < 2; header_only++) {
            struct dcm_parse_opts o = {
                .flags = (syntaxes[i] ? 0u : (uint32_t)DCM_PARSE_PART10) |
                         (header_only ? (uint32_t)DCM_PARSE_HEADER_ONLY : 0u),
                .transfer_syntax = syntaxes[i],
                .max_depth = 16,
                .max_memory = 64u << 20,
            };
            struct ferry_error *err = NULL;
            struct dcm_dataset *ds = dcm_parse_buffer(data, size, &o, NULL, NULL, &err);
            if (!ds && !err)
                abort(); /* a failure always says why */
            if (ds)
                fuzz_exercise(ds);
            dcm_dataset_unref(ds);
            ferry_error_free(err);
        }
    }
    return 0;
}
