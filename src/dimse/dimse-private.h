/* ferry — dimse: private declarations (assoc.c: receiving and the SCP;
 * command.c: building command sets, the SCU, names). */
#ifndef FERRY_DIMSE_PRIVATE_H
#define FERRY_DIMSE_PRIVATE_H

#include "dimse/dimse.h"

#define DIMSE_DEFAULT_MAX_COMMAND (64u * 1024u)
#define DIMSE_UID_BUF 80 /* a UID of up to 64 characters, and room to see a longer one */

enum dimse_rx {
    RX_IDLE = 0,   /* waiting for a command */
    RX_COMMAND,    /* command fragments arriving */
    RX_DATA,       /* the data set of the last command arriving */
};

/* A response dimse sends itself once a refused request's data set ends. */
struct dimse_deferred_rsp {
    bool due;
    uint8_t pc_id;
    uint16_t field;        /* the response's Command Field */
    uint16_t message_id;
    uint16_t status;
    char sop_class[DIMSE_UID_BUF];
    char sop_instance[DIMSE_UID_BUF];
    char comment[65];
};

struct dimse_store {
    struct dimse_assoc *da;
    void *user;
    uint8_t pc_id;
    uint16_t message_id;
    bool data_done;        /* the last fragment was delivered */
    char sop_class[DIMSE_UID_BUF];
    char sop_instance[DIMSE_UID_BUF];
};

struct dimse_assoc {
    struct dul_assoc *a;
    const struct dimse_ops *ops;
    void *ud;
    size_t max_command;

    enum dimse_rx rx;
    uint8_t rx_pc;
    uint8_t *cmd;
    size_t cmd_len, cmd_cap;
    struct dimse_store *receiving;     /* whose data set is arriving (NULL: dropped) */
    struct dimse_deferred_rsp deferred;

    struct dimse_store *outstanding;   /* waiting for the owner's response */
    struct dcm_dataset *held;          /* a request waiting for its turn */
    uint8_t held_pc;

    bool pause_owner, pause_held;
    bool release_wanted;               /* dimse_release() was called */
    bool release_asked;                /* the peer asked; answer when idle */
    bool release_sent;
    bool closed;
};

/* command.c */
/* Encode and send a response command set. comment may be NULL. */
int dimse_send_rsp(struct dimse_assoc *da, uint8_t pc_id, uint16_t field, uint16_t message_id,
                   const char *sop_class, const char *sop_instance, uint16_t status,
                   const char *comment);
/* A UID or AE value of the command set (trimmed), "" when absent. */
void dimse_cmd_string(const struct dcm_dataset *cmd, uint32_t tag, char *buf, size_t size);

#endif
