/* The state machine table, checked cell by cell against the PS3.8 table in
 * data/dicom/dul_notes.md (the project's copy of the standard). */
#include "test_dul.h"

#include "dul/dul.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

START_TEST(test_table_matches_standard)
{
    const char *src = getenv("FERRY_SOURCE_DIR");
    ck_assert_msg(src != NULL, "FERRY_SOURCE_DIR not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/dicom/dul_notes.md", src);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[1024];
    int rows = 0, cells = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "| Evt", 5) != 0)
            continue;
        int evt = atoi(line + 5);
        ck_assert(evt >= 1 && evt <= 19);
        char *save = NULL;
        char *tok = strtok_r(line, "|", &save); /* the event label */
        for (int st = 1; st <= 13; st++) {
            tok = strtok_r(NULL, "|", &save);
            ck_assert_msg(tok != NULL, "Evt%d: only %d state columns", evt, st - 1);
            char *cell = trim(tok);
            enum dul_action act;
            enum dul_state next;
            bool has = dul_fsm_lookup((enum dul_state)st, (enum dul_event)evt, &act, &next);
            if (!*cell) {
                ck_assert_msg(!has, "Evt%d Sta%d: empty in PS3.8, %s in ferry", evt, st,
                              has ? dul_action_name(act) : "");
                continue;
            }
            ck_assert_msg(has, "Evt%d Sta%d: %s in PS3.8, empty in ferry", evt, st, cell);
            char want_act[16];
            char want_next[16];
            ck_assert(sscanf(cell, "%15[^:]:%15s", want_act, want_next) == 2);
            ck_assert_msg(strcmp(dul_action_name(act), want_act) == 0, "Evt%d Sta%d: %s, PS3.8 says %s",
                          evt, st, dul_action_name(act), want_act);
            if (strchr(want_next, '/'))
                ck_assert_msg(next == 0, "Evt%d Sta%d: the action must choose %s", evt, st,
                              want_next);
            else
                ck_assert_msg((int)next == atoi(want_next), "Evt%d Sta%d: next Sta%d, PS3.8 says %s",
                              evt, st, (int)next, want_next);
            cells++;
        }
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 19);
    ck_assert_int_eq(cells, 123); /* the non-empty cells of PS3.8 Table 9-10 */
}
END_TEST

START_TEST(test_table_spot_checks)
{
    enum dul_action act;
    enum dul_state next;
    /* P-DATA before association: abort */
    ck_assert(dul_fsm_lookup(DUL_STA2, DUL_EVT10, &act, &next));
    ck_assert_int_eq(act, DUL_AA1);
    ck_assert_int_eq(next, DUL_STA13);
    /* invalid PDU while established: provider abort */
    ck_assert(dul_fsm_lookup(DUL_STA6, DUL_EVT19, &act, &next));
    ck_assert_int_eq(act, DUL_AA8);
    /* release collision */
    ck_assert(dul_fsm_lookup(DUL_STA7, DUL_EVT12, &act, &next));
    ck_assert_int_eq(act, DUL_AR8);
    ck_assert_int_eq(next, 0);
    /* no P-DATA request before the association */
    ck_assert(!dul_fsm_lookup(DUL_STA5, DUL_EVT9, &act, &next));
    ck_assert(!dul_fsm_lookup(DUL_STA13, DUL_EVT15, &act, &next));
    ck_assert(!dul_fsm_lookup(0, DUL_EVT1, &act, &next));
    ck_assert(!dul_fsm_lookup(DUL_STA1, 20, &act, &next));
    ck_assert_str_eq(dul_state_name(DUL_STA13), "Sta13");
    ck_assert_str_eq(dul_action_name(DUL_AR10), "AR-10");
}
END_TEST

void add_fsm_tests(Suite *s)
{
    TCase *tc = tcase_create("state_machine");
    tcase_add_test(tc, test_table_matches_standard);
    tcase_add_test(tc, test_table_spot_checks);
    suite_add_tcase(s, tc);
}
