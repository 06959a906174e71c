/* Shared by the dul unit test files: one suite, one TCase per feature. */
#ifndef FERRY_TEST_DUL_H
#define FERRY_TEST_DUL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

void add_pdu_tests(Suite *s);
void add_fsm_tests(Suite *s);
void add_negotiation_tests(Suite *s);
void add_assoc_tests(Suite *s);

/* A byte builder for hand-made PDUs. */
struct bb {
    uint8_t b[70000];
    size_t n;
};

void bb_u8(struct bb *b, uint8_t v);
void bb_u16(struct bb *b, uint16_t v);
void bb_u32(struct bb *b, uint32_t v);
void bb_bytes(struct bb *b, const void *p, size_t n);
void bb_str(struct bb *b, const char *s);
/* An item: type, reserved, a 16-bit length filled by bb_end16. */
size_t bb_item(struct bb *b, uint8_t type);
void bb_end16(struct bb *b, size_t at);
/* The 74-byte start of an A-ASSOCIATE-RQ/AC; bb_pdu_end fills PDU-length. */
void bb_assoc_start(struct bb *b, uint8_t type, const char *called, const char *calling);
void bb_pdu_end(struct bb *b);
void bb_uid_item(struct bb *b, uint8_t type, const char *uid);

#endif
