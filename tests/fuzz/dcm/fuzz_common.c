/* What both fuzz targets do with a data set that parsed: read every value
 * the ways a user would, write it in every syntax it can go to and parse
 * that again. Any inconsistency aborts (libFuzzer reports it as a crash). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void touch_dataset(const struct dcm_dataset *ds, int depth);

static void touch_element(const struct dcm_dataset *ds, const struct dcm_element *el, int depth)
{
    enum dcm_vr vr = dcm_element_vr(el);
    uint32_t vm = dcm_element_vm(ds, el);
    (void)dcm_dict_keyword(dcm_element_tag(el));
    if (dcm_element_is_sequence(el)) {
        for (uint32_t i = 0; i < dcm_element_item_count(el); i++)
            touch_dataset(dcm_element_item(el, i), depth + 1);
        return;
    }
    if (dcm_element_is_encapsulated(el)) {
        const uint8_t *b;
        uint32_t len;
        dcm_element_offset_table(el, &b, &len);
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < dcm_element_fragment_count(el); i++)
            if (dcm_element_fragment(el, i, &b, &len, NULL) == 0 && b && len)
                sink ^= b[len - 1];
        (void)sink;
        return;
    }
    if (dcm_vr_is_string(vr)) {
        for (uint32_t i = 0; i < vm + 1 && i < 64; i++) {
            char buf[64];
            const char *p;
            size_t n;
            dcm_element_string(ds, el, i, &p, &n);
            dcm_element_utf8(ds, el, i, buf, sizeof buf);
        }
        char *all = dcm_element_utf8_dup(ds, el, DCM_ALL_VALUES, NULL);
        free(all);
    }
    for (uint32_t i = 0; i < vm + 1 && i < 64; i++) {
        uint64_t u;
        int64_t s;
        double d;
        dcm_element_uint(el, i, &u);
        dcm_element_int(el, i, &s);
        dcm_element_double(el, i, &d);
    }
}

static void touch_dataset(const struct dcm_dataset *ds, int depth)
{
    struct dcm_charset cs;
    dcm_dataset_charset(ds, &cs, NULL);
    for (size_t i = 0; i < dcm_dataset_count(ds); i++)
        touch_element(ds, dcm_dataset_at(ds, i), depth);
}

void fuzz_exercise(struct dcm_dataset *ds)
{
    touch_dataset(ds, 0);
    uint32_t first, count;
    for (uint32_t f = 0; f < 4; f++)
        dcm_dataset_frame_fragments(ds, f, &first, &count, NULL);
    if (dcm_dataset_is_partial(ds))
        return;

    static const char *const syntaxes[] = {
        DCM_UID_ImplicitVRLittleEndian, DCM_UID_ExplicitVRLittleEndian,
        DCM_UID_ExplicitVRBigEndian, DCM_UID_DeflatedExplicitVRLittleEndian,
    };
    const char *own = dcm_dataset_transfer_syntax(ds);
    for (int k = -1; k < 4; k++) {
        const char *ts = k < 0 ? own : syntaxes[k];
        struct dcm_buf out = { 0 };
        struct ferry_error *err = NULL;
        int rc = dcm_write_buf(ds, ts, DCM_WRITE_NO_PASSTHROUGH, &out, &err);
        ferry_error_free(err);
        if (rc == 0) {
            /* What we wrote, we read back. */
            struct dcm_parse_opts o = { .transfer_syntax = ts };
            err = NULL;
            struct dcm_dataset *back = dcm_parse_buffer(out.data, out.len, &o, NULL, NULL, &err);
            if (!back) {
                fprintf(stderr, "wrote %s but cannot read it back: %s\n", ts,
                        ferry_error_message(err));
                abort();
            }
            ferry_error_free(err);
            /* And writing it again gives the same bytes (not for deflate,
             * whose output the compressor may vary). */
            struct dcm_buf again = { 0 };
            if (k != 3 && dcm_write_buf(back, ts, DCM_WRITE_NO_PASSTHROUGH, &again, NULL) == 0 &&
                (again.len != out.len || (out.len && memcmp(again.data, out.data, out.len) != 0))) {
                fprintf(stderr, "writing %s twice gives different bytes\n", ts);
                abort();
            }
            dcm_buf_free(&again);
            dcm_dataset_unref(back);
        }
        dcm_buf_free(&out);
    }
    /* A clone is independent of the original. */
    struct dcm_dataset *c = dcm_dataset_clone(ds);
    if (c) {
        dcm_dataset_set_string(c, DCM_TAG_PatientName, DCM_VR_PN, "FUZZ^CLONE");
        dcm_dataset_unref(c);
    }
}

static bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0) || (!a && !b);
}

bool fuzz_equal(const struct dcm_dataset *a, const struct dcm_dataset *b)
{
    if (dcm_dataset_count(a) != dcm_dataset_count(b))
        return false;
    for (size_t i = 0; i < dcm_dataset_count(a); i++) {
        const struct dcm_element *x = dcm_dataset_at(a, i), *y = dcm_dataset_at(b, i);
        if (dcm_element_tag(x) != dcm_element_tag(y) || dcm_element_vr(x) != dcm_element_vr(y) ||
            dcm_element_length(x) != dcm_element_length(y) ||
            dcm_element_offset(x) != dcm_element_offset(y) ||
            dcm_element_has_value(x) != dcm_element_has_value(y) ||
            dcm_element_item_count(x) != dcm_element_item_count(y) ||
            dcm_element_fragment_count(x) != dcm_element_fragment_count(y) ||
            dcm_element_is_encapsulated(x) != dcm_element_is_encapsulated(y))
            return false;
        for (uint32_t k = 0; k < dcm_element_item_count(x); k++)
            if (!fuzz_equal(dcm_element_item(x, k), dcm_element_item(y, k)))
                return false;
        if (dcm_element_is_encapsulated(x)) {
            for (uint32_t k = 0; k <= dcm_element_fragment_count(x); k++) {
                const uint8_t *p, *q;
                uint32_t lp, lq;
                if (k == 0) {
                    dcm_element_offset_table(x, &p, &lp);
                    dcm_element_offset_table(y, &q, &lq);
                } else {
                    dcm_element_fragment(x, k - 1, &p, &lp, NULL);
                    dcm_element_fragment(y, k - 1, &q, &lq, NULL);
                }
                if (lp != lq || !same_bytes(p, q, lp))
                    return false;
            }
        } else if (!dcm_element_is_sequence(x) &&
                   !same_bytes(dcm_element_value(x), dcm_element_value(y), dcm_element_length(x))) {
            return false;
        }
    }
    return true;
}
