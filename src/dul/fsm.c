/* ferry — the PS3.8 state machine: the transition table (PS3.8 Table 9-10,
 * as in data/dicom/dul_notes.md §5) and the actions. dul_fsm_fire() is the
 * only place an association changes state. */
#include "dul/dul-private.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define T(act, st) { DUL_##act, st }
#define E { DUL_ACT_NONE, 0 }
/* Cells of the same action for Sta6..Sta12 (or some of them) come up
 * often: AA-8 to Sta13 for everything unexpected. */
#define A8 T(AA8, 13)

struct cell {
    uint8_t action;
    uint8_t next;   /* 0: the action chooses */
};

/* table[event - 1][state - 1] */
static const struct cell table[19][13] = {
    /*            Sta1        Sta2        Sta3        Sta4       Sta5         Sta6        Sta7         Sta8        Sta9        Sta10        Sta11       Sta12       Sta13 */
    /* Evt1 */  { T(AE1, 4),  E,          E,          E,         E,           E,          E,           E,          E,          E,           E,          E,          E },
    /* Evt2 */  { E,          E,          E,          T(AE2, 5), E,           E,          E,           E,          E,          E,           E,          E,          E },
    /* Evt3 */  { E,          T(AA1, 13), A8,         E,         T(AE3, 6),   A8,         A8,          A8,         A8,         A8,          A8,         A8,         T(AA6, 13) },
    /* Evt4 */  { E,          T(AA1, 13), A8,         E,         T(AE4, 1),   A8,         A8,          A8,         A8,         A8,          A8,         A8,         T(AA6, 13) },
    /* Evt5 */  { T(AE5, 2),  E,          E,          E,         E,           E,          E,           E,          E,          E,           E,          E,          E },
    /* Evt6 */  { E,          T(AE6, 0),  A8,         E,         A8,          A8,         A8,          A8,         A8,         A8,          A8,         A8,         T(AA7, 13) },
    /* Evt7 */  { E,          E,          T(AE7, 6),  E,         E,           E,          E,           E,          E,          E,           E,          E,          E },
    /* Evt8 */  { E,          E,          T(AE8, 13), E,         E,           E,          E,           E,          E,          E,           E,          E,          E },
    /* Evt9 */  { E,          E,          E,          E,         E,           T(DT1, 6),  E,           T(AR7, 8),  E,          E,           E,          E,          E },
    /* Evt10 */ { E,          T(AA1, 13), A8,         E,         A8,          T(DT2, 6),  T(AR6, 7),   A8,         A8,         A8,          A8,         A8,         T(AA6, 13) },
    /* Evt11 */ { E,          E,          E,          E,         E,           T(AR1, 7),  E,           E,          E,          E,           E,          E,          E },
    /* Evt12 */ { E,          T(AA1, 13), A8,         E,         A8,          T(AR2, 8),  T(AR8, 0),   A8,         A8,         A8,          A8,         A8,         T(AA6, 13) },
    /* Evt13 */ { E,          T(AA1, 13), A8,         E,         A8,          A8,         T(AR3, 1),   A8,         A8,         T(AR10, 12), T(AR3, 1),  A8,         T(AA6, 13) },
    /* Evt14 */ { E,          E,          E,          E,         E,           E,          E,           T(AR4, 13), T(AR9, 11), E,           E,          T(AR4, 13), E },
    /* Evt15 */ { E,          E,          T(AA1, 13), T(AA2, 1), T(AA1, 13),  T(AA1, 13), T(AA1, 13),  T(AA1, 13), T(AA1, 13), T(AA1, 13),  T(AA1, 13), T(AA1, 13), E },
    /* Evt16 */ { E,          T(AA2, 1),  T(AA3, 1),  E,         T(AA3, 1),   T(AA3, 1),  T(AA3, 1),   T(AA3, 1),  T(AA3, 1),  T(AA3, 1),   T(AA3, 1),  T(AA3, 1),  T(AA2, 1) },
    /* Evt17 */ { E,          T(AA5, 1),  T(AA4, 1),  T(AA4, 1), T(AA4, 1),   T(AA4, 1),  T(AA4, 1),   T(AA4, 1),  T(AA4, 1),  T(AA4, 1),   T(AA4, 1),  T(AA4, 1),  T(AR5, 1) },
    /* Evt18 */ { E,          T(AA2, 1),  E,          E,         E,           E,          E,           E,          E,          E,           E,          E,          T(AA2, 1) },
    /* Evt19 */ { E,          T(AA1, 13), A8,         E,         A8,          A8,         A8,          A8,         A8,         A8,          A8,         A8,         T(AA7, 13) },
};

#undef T
#undef E
#undef A8

bool dul_fsm_lookup(enum dul_state s, enum dul_event e, enum dul_action *action,
                    enum dul_state *next)
{
    if (s < DUL_STA1 || s > DUL_STA13 || e < DUL_EVT1 || e > DUL_EVT19)
        return false;
    const struct cell *c = &table[e - 1][s - 1];
    if (c->action == DUL_ACT_NONE)
        return false;
    *action = (enum dul_action)c->action;
    *next = (enum dul_state)c->next;
    return true;
}

const char *dul_state_name(enum dul_state s)
{
    static const char *const names[] = { "Sta?", "Sta1", "Sta2", "Sta3", "Sta4", "Sta5",
                                         "Sta6", "Sta7", "Sta8", "Sta9", "Sta10", "Sta11",
                                         "Sta12", "Sta13" };
    return (s >= DUL_STA1 && s <= DUL_STA13) ? names[s] : names[0];
}

const char *dul_action_name(enum dul_action a)
{
    static const char *const names[] = {
        "-",    "AE-1", "AE-2", "AE-3", "AE-4", "AE-5", "AE-6", "AE-7", "AE-8",  "DT-1",
        "DT-2", "AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6", "AR-7", "AR-8",  "AR-9",
        "AR-10", "AA-1", "AA-2", "AA-3", "AA-4", "AA-5", "AA-6", "AA-7", "AA-8",
    };
    return (a >= DUL_ACT_NONE && a <= DUL_AA8) ? names[a] : "?";
}
