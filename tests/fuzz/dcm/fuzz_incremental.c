/* libFuzzer target: the incremental parser. The first byte picks the options
 * and the chunk sizes; the rest is the stream. Whatever the chunking, the
 * result must be what the buffer parser gives for the same bytes: the same
 * data set, or the same error message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    static const char *const syntaxes[] = {
        NULL, DCM_UID_ImplicitVRLittleEndian, DCM_UID_ExplicitVRLittleEndian,
        DCM_UID_ExplicitVRBigEndian, DCM_UID_DeflatedExplicitVRLittleEndian,
        NULL, NULL, NULL,
    };
    const char *ts = syntaxes[ctl & 7];
    struct dcm_parse_opts o = {
        .flags = (ts ? 0u : (uint32_t)DCM_PARSE_PART10) |
                 ((ctl & 0x08) ? (uint32_t)DCM_PARSE_HEADER_ONLY : 0u) |
                 ((ctl & 0x10) ? (uint32_t)DCM_PARSE_SKIP_BULK : 0u),
        .transfer_syntax = ts,
        .max_depth = 16,
        .bulk_threshold = 64,
        .max_memory = 64u << 20,
    };

    struct ferry_error *e1 = NULL;
    struct dcm_parse_opts copy = o;
    copy.flags |= DCM_PARSE_COPY;
    struct dcm_dataset *a = dcm_parse_buffer(data, size, &copy, NULL, NULL, &e1);

    /* Chunk sizes from a small generator seeded by the control byte. */
    uint32_t seed = 0x9E3779B9u ^ ctl;
    struct ferry_error *e2 = NULL;
    struct dcm_parser *p = dcm_parser_new(&o, &e2);
    if (!p)
        abort();
    size_t i = 0;
    int rc = 0;
    uint8_t *chunk = malloc(size ? size : 1);
    while (i < size && rc == 0) {
        seed = seed * 1664525u + 1013904223u;
        size_t k = (ctl & 0x20) ? 1 : 1 + (seed >> 24) % 37;
        if (k > size - i)
            k = size - i;
        memcpy(chunk, data + i, k);
        rc = dcm_parser_feed(p, chunk, k, &e2);
        memset(chunk, 0xEE, k); /* nothing may point into a fed chunk */
        i += k;
    }
    free(chunk);
    struct dcm_dataset *b = rc < 0 ? NULL : dcm_parser_finish(p, &e2);
    dcm_parser_free(p);

    if (!a != !b) {
        fprintf(stderr, "buffer: %s\nchunks: %s\n", ferry_error_message(e1),
                ferry_error_message(e2));
        abort();
    }
    if (a && !fuzz_equal(a, b)) {
        fprintf(stderr, "buffer and chunks parse to different data sets\n");
        abort();
    }
    if (!a && strcmp(ferry_error_message(e1), ferry_error_message(e2)) != 0) {
        fprintf(stderr, "buffer: %s\nchunks: %s\n", ferry_error_message(e1),
                ferry_error_message(e2));
        abort();
    }
    if (b)
        fuzz_exercise(b);
    dcm_dataset_unref(a);
    dcm_dataset_unref(b);
    ferry_error_free(e1);
    ferry_error_free(e2);
    return 0;
}
