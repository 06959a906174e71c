/* Unit tests of dul: codec, state machine, negotiation, associations. */
#include "test_dul.h"

#include <stdlib.h>
#include <string.h>

void bb_u8(struct bb *b, uint8_t v)
{
    b->b[b->n++] = v;
}

void bb_u16(struct bb *b, uint16_t v)
{
    bb_u8(b, (uint8_t)(v >> 8));
    bb_u8(b, (uint8_t)v);
}

void bb_u32(struct bb *b, uint32_t v)
{
    bb_u16(b, (uint16_t)(v >> 16));
    bb_u16(b, (uint16_t)v);
}

void bb_bytes(struct bb *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

void bb_str(struct bb *b, const char *s)
{
    bb_bytes(b, s, strlen(s));
}

size_t bb_item(struct bb *b, uint8_t type)
{
    bb_u8(b, type);
    bb_u8(b, 0);
    size_t at = b->n;
    bb_u16(b, 0);
    return at;
}

void bb_end16(struct bb *b, size_t at)
{
    size_t len = b->n - at - 2;
    b->b[at] = (uint8_t)(len >> 8);
    b->b[at + 1] = (uint8_t)len;
}

void bb_assoc_start(struct bb *b, uint8_t type, const char *called, const char *calling)
{
    b->n = 0;
    bb_u8(b, type);
    bb_u8(b, 0);
    bb_u32(b, 0);
    bb_u16(b, 1);
    bb_u16(b, 0);
    char f[16];
    memset(f, ' ', 16);
    memcpy(f, called, strlen(called));
    bb_bytes(b, f, 16);
    memset(f, ' ', 16);
    memcpy(f, calling, strlen(calling));
    bb_bytes(b, f, 16);
    for (int i = 0; i < 32; i++)
        bb_u8(b, 0);
}

void bb_pdu_end(struct bb *b)
{
    uint32_t len = (uint32_t)(b->n - 6);
    b->b[2] = (uint8_t)(len >> 24);
    b->b[3] = (uint8_t)(len >> 16);
    b->b[4] = (uint8_t)(len >> 8);
    b->b[5] = (uint8_t)len;
}

void bb_uid_item(struct bb *b, uint8_t type, const char *uid)
{
    size_t at = bb_item(b, type);
    bb_str(b, uid);
    bb_end16(b, at);
}

int main(void)
{
    Suite *s = suite_create("dul");
    add_pdu_tests(s);
    add_fsm_tests(s);
    add_negotiation_tests(s);
    add_assoc_tests(s);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
