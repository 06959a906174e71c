/* Fuzz target for the PS3.8 PDU codec: any bytes as a PDU. Properties
 * checked beyond "no crash, no sanitizer report":
 *  - an A-ASSOCIATE that decodes re-encodes, and that encoding decodes and
 *    re-encodes to the same bytes;
 *  - a P-DATA-TF that validates iterates over exactly the PDVs counted,
 *    each inside the PDU.
 * Without FERRY_LIBFUZZER the main below replays the files given, or runs
 * built-in seeds with deterministic mutations (so it runs under gcc and the
 * sanitizer build in ctest). */
#include "base/error.h"
#include "dul/pdu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_dul_pdu: property violated: %s\n", what);
        abort();
    }
}

static void associate(const uint8_t *buf, size_t len)
{
    struct dul_associate a;
    struct ferry_error *err = NULL;
    if (dul_decode_associate(buf, len, &a, &err) < 0) {
        check(err != NULL && ferry_error_message(err)[0] != '\0', "an error without a message");
        ferry_error_free(err);
        return;
    }
    ssize_t n = dul_encode_associate(&a, NULL, 0);
    check(n > 0, "a decoded A-ASSOCIATE does not re-encode");
    uint8_t *one = malloc((size_t)n), *two = malloc((size_t)n);
    check(dul_encode_associate(&a, one, (size_t)n) == n, "encode size differs from measure");
    struct dul_associate b;
    if (dul_decode_associate(one, (size_t)n, &b, &err) < 0)
        fprintf(stderr, "fuzz_dul_pdu: %s\n", ferry_error_message(err));
    check(err == NULL, "a re-encoded A-ASSOCIATE does not decode");
    check(b.n_pc == a.n_pc && strcmp(b.called_ae, a.called_ae) == 0, "round trip changed fields");
    check(dul_encode_associate(&b, two, (size_t)n) == n && memcmp(one, two, (size_t)n) == 0,
          "encode(decode(encode(x))) differs from encode(x)");
    dul_associate_clear(&b);
    dul_associate_clear(&a);
    free(one);
    free(two);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < DUL_PDU_HEADER_LEN || size > (1u << 20))
        return 0;
    /* Make the header's length agree with the input so the item walk is
     * reached; the header itself is exercised too. */
    uint8_t *buf = malloc(size);
    memcpy(buf, data, size);
    uint32_t len = (uint32_t)(size - DUL_PDU_HEADER_LEN);
    buf[2] = (uint8_t)(len >> 24);
    buf[3] = (uint8_t)(len >> 16);
    buf[4] = (uint8_t)(len >> 8);
    buf[5] = (uint8_t)len;
    uint8_t type;
    uint32_t plen;
    struct ferry_error *err = NULL;
    if (dul_pdu_header(buf, &type, &plen, &err) < 0) {
        ferry_error_free(err);
        free(buf);
        return 0;
    }
    (void)dul_pdu_check_length(type, plen, 262144, 262144, &err);
    ferry_error_free(err);
    err = NULL;
    switch (type) {
    case DUL_PDU_ASSOCIATE_RQ:
    case DUL_PDU_ASSOCIATE_AC:
        associate(buf, size);
        break;
    case DUL_PDU_P_DATA: {
        size_t n = 0;
        if (dul_pdata_validate(buf, size, &n, &err) == 0) {
            size_t off = DUL_PDU_HEADER_LEN, seen = 0;
            struct dul_pdv pdv;
            while (dul_pdata_next(buf, size, &off, &pdv)) {
                check(pdv.data >= buf + 6 && pdv.data + pdv.len <= buf + size, "a PDV outside its PDU");
                seen++;
            }
            check(seen == n, "PDV count differs");
        }
        break;
    }
    case DUL_PDU_ASSOCIATE_RJ: {
        struct dul_reject rj;
        (void)dul_decode_reject(buf, size, &rj, &err);
        break;
    }
    case DUL_PDU_ABORT: {
        struct dul_abort ab;
        (void)dul_decode_abort(buf, size, &ab, &err);
        break;
    }
    default:
        (void)dul_decode_release(buf, size, &err);
        break;
    }
    ferry_error_free(err);
    free(buf);
    return 0;
}

#ifndef FERRY_LIBFUZZER

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Seeds made by the encoder: an RQ with every item, an AC, P-DATA. */
static size_t seed(int k, uint8_t *out, size_t cap)
{
    static const char *ts3[] = { "1.2.840.10008.1.2.1", "1.2.840.10008.1.2",
                                 "1.2.840.10008.1.2.4.70" };
    static const char *rel[] = { "1.2.840.10008.5.1.4.1.1.2.1" };
    struct dul_pc pcs[2] = {
        { .id = 1, .abstract_syntax = "1.2.840.10008.1.1", .n_ts = 1, .ts = ts3 + 1 },
        { .id = 3, .result = 0, .abstract_syntax = "1.2.840.10008.5.1.4.1.1.2", .n_ts = 3, .ts = ts3 },
    };
    struct dul_role roles[1] = { { .sop_class = "1.2.840.10008.5.1.4.1.1.2", .scu = 1, .scp = 1 } };
    static const uint8_t info[] = { 1, 1 };
    struct dul_ext_neg ext[1] = { { .sop_class = "1.2.840.10008.5.1.4.1.1.2", .info = info, .info_len = 2 } };
    struct dul_common_ext_neg cext[1] = { { .sop_class = "1.2.840.10008.5.1.4.1.1.2",
                                            .service_class = "1.2.840.10008.4.2", .n_related = 1,
                                            .related = rel } };
    struct dul_associate a = { .type = DUL_PDU_ASSOCIATE_RQ, .protocol_version = 1,
                               .called_ae = "FERRY", .calling_ae = "MODALITY", .pc = pcs, .n_pc = 2 };
    a.ui.max_length = 16384;
    a.ui.impl_class_uid = "1.2.3.4";
    a.ui.impl_version = "FUZZ";
    a.ui.has_async = true;
    a.ui.async_invoked = a.ui.async_performed = 1;
    a.ui.roles = roles;
    a.ui.n_roles = 1;
    a.ui.ext = ext;
    a.ui.n_ext = 1;
    a.ui.common_ext = cext;
    a.ui.n_common_ext = 1;
    a.ui.has_identity = true;
    a.ui.identity = (struct dul_user_identity){ .type = 2, .primary = (const uint8_t *)"u",
                                                .primary_len = 1, .secondary = (const uint8_t *)"pw",
                                                .secondary_len = 2 };
    if (k == 1) {
        a.type = DUL_PDU_ASSOCIATE_AC;
        pcs[0].n_ts = 1;
        pcs[1].n_ts = 1;
        pcs[1].result = 0;
        a.ui.n_common_ext = 0;
        a.ui.has_identity = false;
        a.ui.has_identity_ac = true;
    }
    if (k <= 1)
        return (size_t)dul_encode_associate(&a, out, cap);
    uint8_t cmd[40] = { 0 }, ds[300];
    memset(ds, 7, sizeof ds);
    struct dul_pdv pdvs[2] = { { .pc_id = 1, .mch = 3, .data = cmd, .len = sizeof cmd },
                               { .pc_id = 3, .mch = 2, .data = ds, .len = sizeof ds } };
    return (size_t)dul_encode_pdata(pdvs, 2, out, cap);
}

int main(int argc, char **argv)
{
    static uint8_t buf[70000], mut[70000];
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f) {
                perror(argv[i]);
                return 1;
            }
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
        return 0;
    }
    unsigned long runs = 0;
    for (int k = 0; k < 3; k++) {
        size_t n = seed(k, buf, sizeof buf);
        LLVMFuzzerTestOneInput(buf, n);
        for (int i = 0; i < 20000; i++) {
            size_t m = n;
            memcpy(mut, buf, n);
            int edits = 1 + (int)(next() % 4);
            for (int e = 0; e < edits; e++) {
                switch (next() % 5) {
                case 0: /* flip a byte */
                    mut[6 + next() % (m - 6)] ^= (uint8_t)(1 + next() % 255);
                    break;
                case 1: /* a length field goes wild */
                    mut[6 + next() % (m - 6)] = (uint8_t)(next() & 1 ? 0xff : 0x00);
                    break;
                case 2: /* cut */
                    m = 6 + next() % (m - 5);
                    break;
                case 3: /* insert a byte */
                    if (m < sizeof mut - 1) {
                        size_t at = 6 + next() % (m - 5);
                        memmove(mut + at + 1, mut + at, m - at);
                        mut[at] = (uint8_t)next();
                        m++;
                    }
                    break;
                default: /* the PDU type */
                    mut[0] = (uint8_t)(1 + next() % 8);
                    break;
                }
                if (m <= 6)
                    break;
            }
            LLVMFuzzerTestOneInput(mut, m);
            runs++;
        }
    }
    printf("fuzz_dul_pdu: %lu mutated PDUs, no property violated\n", runs);
    return 0;
}

#endif
