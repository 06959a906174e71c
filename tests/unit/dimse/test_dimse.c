/* Unit tests for src/dimse: an SCP (dul_server + dimse) and an SCU
 * (dimse_connect) on one loop over loopback. */
#include "base/log.h"
#include "base/util.h"
#include "dcm/dcm.h"
#include "dimse/dimse.h"
#include "dul/dul.h"
#include "net/net.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFICATION "1.2.840.10008.1.1"
#define CT "1.2.840.10008.5.1.4.1.1.2"
#define MR "1.2.840.10008.5.1.4.1.1.4"
#define EXPLICIT "1.2.840.10008.1.2.1"
#define IMPLICIT "1.2.840.10008.1.2"
#define PC_ECHO 1
#define PC_CT 3

/* ------------------------------------------------------------ harness */

struct rsp_seen {
    uint16_t field, message_id, status;
    char uid[80], comment[80];
};

struct scp_side {
    struct dimse_assoc *da;
    struct dimse_store *st;
    struct dcm_buf data;
    char sop_class[80], sop_instance[80], ts[80];
    uint16_t refuse;               /* status on_store returns */
    bool pause_each;               /* on_store_data asks to pause every time */
    unsigned respond_after_ms;     /* respond from a timer */
    unsigned stores, abandoned, pauses;
    bool data_done, closed, released;
    bool release_in_store;         /* call dimse_release() from on_store */
    struct net_timer timer;
};

struct scu_side {
    struct dimse_assoc *da;
    bool established, aborted, released, closed;
    unsigned writable;
    struct rsp_seen rsp[8];
    unsigned n_rsp;
};

struct harness {
    struct net_loop *loop;
    struct dul_server *server;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct scp_side scp;
    struct scu_side scu;
};

static struct harness h;

static void run_until(const bool *flag, unsigned ms)
{
    uint64_t end = net_now_ms() + ms;
    while (!*flag && net_now_ms() < end)
        ck_assert_int_eq(net_loop_run_once(h.loop, 10), 0);
    ck_assert_msg(*flag, "timed out after %u ms", ms);
}

static void run_until_n(const unsigned *n, unsigned want, unsigned ms)
{
    uint64_t end = net_now_ms() + ms;
    while (*n < want && net_now_ms() < end)
        ck_assert_int_eq(net_loop_run_once(h.loop, 10), 0);
    ck_assert_msg(*n >= want, "%u of %u after %u ms", *n, want, ms);
}

/* SCP */

static void scp_respond(struct scp_side *s)
{
    struct dimse_store *st = s->st;
    s->st = NULL;
    ck_assert_int_eq(dimse_store_respond(st, DIMSE_STATUS_SUCCESS, NULL), 0);
}

/* The SCP's timer: answer later (as the spool does after its commit), or
 * resume after a pause. */
static void scp_timer(struct net_timer *t)
{
    struct scp_side *s = ferry_container_of(t, struct scp_side, timer);
    if (s->data_done && s->st)
        scp_respond(s);
    else
        dimse_resume(s->da);
}

static uint16_t scp_on_store(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                             const struct dimse_store_rq *rq, const char **comment)
{
    struct scp_side *s = ud;
    ck_assert_ptr_eq(da, s->da);
    s->stores++;
    ck_assert_ptr_null(s->st); /* one at a time */
    snprintf(s->sop_class, sizeof s->sop_class, "%s", rq->sop_class_uid);
    snprintf(s->sop_instance, sizeof s->sop_instance, "%s", rq->sop_instance_uid);
    snprintf(s->ts, sizeof s->ts, "%s", rq->transfer_syntax);
    if (s->release_in_store)
        dimse_release(da);
    if (s->refuse) {
        /* longer than an LO holds: cut at 64 characters */
        *comment = "the disk is full; try again later, or ask the administrator\\to free space";
        return s->refuse;
    }
    s->st = st;
    s->data.len = 0;
    s->data_done = false;
    return 0;
}

static bool scp_on_data(struct dimse_assoc *da, void *ud, struct dimse_store *st,
                        const uint8_t *data, size_t len, bool last)
{
    (void)da;
    struct scp_side *s = ud;
    ck_assert_ptr_eq(st, s->st);
    ck_assert_int_eq(dcm_buf_append(&s->data, data, len), 0);
    if (last) {
        s->data_done = true;
        if (s->respond_after_ms)
            net_timer_arm(h.loop, &s->timer, s->respond_after_ms);
        else
            scp_respond(s);
        return false;
    }
    ck_assert_int_eq(dimse_store_respond(st, 0, NULL), -EBUSY); /* not before the end */
    if (s->pause_each) {
        s->pauses++;
        net_timer_arm(h.loop, &s->timer, 1);
        return true;
    }
    return false;
}

static void scp_on_abandoned(struct dimse_assoc *da, void *ud, struct dimse_store *st)
{
    (void)da;
    struct scp_side *s = ud;
    ck_assert_ptr_eq(st, s->st);
    s->st = NULL;
    s->abandoned++;
    net_timer_cancel(h.loop, &s->timer);
}

static void scp_on_released(struct dimse_assoc *da, void *ud)
{
    (void)da;
    ((struct scp_side *)ud)->released = true;
}

static void scp_on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    struct scp_side *s = ud;
    s->closed = true;
    net_timer_cancel(h.loop, &s->timer);
}

static const struct dimse_ops scp_ops = {
    .on_store = scp_on_store,
    .on_store_data = scp_on_data,
    .on_store_abandoned = scp_on_abandoned,
    .on_released = scp_on_released,
    .on_closed = scp_on_closed,
};

static void on_accept(struct dul_server *srv, void *arg, struct dul_assoc *a)
{
    (void)srv;
    (void)arg;
    h.scp.da = dimse_assoc_new(a, &scp_ops, &h.scp, NULL);
    ck_assert_ptr_nonnull(h.scp.da);
}

/* SCU */

static void scu_on_established(struct dimse_assoc *da, void *ud)
{
    (void)da;
    ((struct scu_side *)ud)->established = true;
}

static void scu_on_response(struct dimse_assoc *da, void *ud, const struct dimse_rsp *r)
{
    (void)da;
    struct scu_side *s = ud;
    ck_assert_uint_lt(s->n_rsp, 8);
    struct rsp_seen *x = &s->rsp[s->n_rsp++];
    x->field = r->command_field;
    x->message_id = r->message_id;
    x->status = r->status;
    snprintf(x->uid, sizeof x->uid, "%s", r->sop_instance_uid);
    snprintf(x->comment, sizeof x->comment, "%s", r->error_comment);
}

static void scu_on_writable(struct dimse_assoc *da, void *ud)
{
    (void)da;
    ((struct scu_side *)ud)->writable++;
}

static void scu_on_released(struct dimse_assoc *da, void *ud)
{
    (void)da;
    ((struct scu_side *)ud)->released = true;
}

static void scu_on_aborted(struct dimse_assoc *da, void *ud, const struct dul_abort_info *why)
{
    (void)da;
    (void)why;
    ((struct scu_side *)ud)->aborted = true;
}

static void scu_on_closed(struct dimse_assoc *da, void *ud)
{
    (void)da;
    ((struct scu_side *)ud)->closed = true;
}

static const struct dimse_ops scu_ops = {
    .on_established = scu_on_established,
    .on_response = scu_on_response,
    .on_writable = scu_on_writable,
    .on_released = scu_on_released,
    .on_aborted = scu_on_aborted,
    .on_closed = scu_on_closed,
};

static void setup(void)
{
    memset(&h, 0, sizeof h);
    ferry_log_init(2, getenv("DIMSE_TEST_DEBUG") ? FERRY_LOG_DEBUG : FERRY_LOG_ERROR);
    struct ferry_error *err = NULL;
    h.loop = net_loop_new(&(struct net_loop_options){ .quiet = true }, &err);
    ck_assert_msg(h.loop != NULL, "%s", ferry_error_message(err));
    /* The SCP announces a 4 KiB maximum: data sets arrive in many PDVs. */
    struct dul_policy pol = { .max_pdu = 4096 };
    h.server = dul_server_new(h.loop, &pol, on_accept, NULL, &err);
    ck_assert_ptr_nonnull(h.server);
    ck_assert_int_eq(dul_server_listen(h.server, "127.0.0.1", 0, &err), 0);
    ck_assert_int_eq(net_addr_parse("127.0.0.1", dul_server_port(h.server, 0), &h.addr,
                                    &h.addrlen), 0);
    net_timer_init(&h.scp.timer, scp_timer);
}

static void teardown(void)
{
    if (h.scu.da && !h.scu.closed)
        dimse_abort(h.scu.da);
    uint64_t end = net_now_ms() + 3000;
    while ((dul_server_assoc_count(h.server) || net_loop_conn_count(h.loop)) &&
           net_now_ms() < end)
        net_loop_run_once(h.loop, 10);
    dul_server_free(h.server);
    for (int i = 0; i < 3; i++)
        net_loop_run_once(h.loop, 0);
    net_loop_free(h.loop);
    dcm_buf_free(&h.scp.data);
}

static void connect_scu(void)
{
    static const char *echo_ts[] = { IMPLICIT };
    static const char *ct_ts[] = { EXPLICIT };
    static const struct dul_proposal props[] = {
        { .abstract_syntax = VERIFICATION, .transfer_syntaxes = echo_ts, .n_transfer_syntaxes = 1 },
        { .abstract_syntax = CT, .transfer_syntaxes = ct_ts, .n_transfer_syntaxes = 1 },
    };
    struct dul_request rq = {
        .calling_ae = "SCU",
        .called_ae = "SCP",
        .addr = (struct sockaddr *)&h.addr,
        .addrlen = h.addrlen,
        .proposals = props,
        .n_proposals = 2,
    };
    struct ferry_error *err = NULL;
    h.scu.da = dimse_connect(h.loop, &rq, &scu_ops, &h.scu, NULL, &err);
    ck_assert_msg(h.scu.da != NULL, "%s", ferry_error_message(err));
    run_until(&h.scu.established, 3000);
}

/* A C-STORE-RQ and its data set, paced by on_writable. */
static void send_store(uint16_t message_id, const char *sop_class, const char *uid,
                       const uint8_t *data, size_t len)
{
    struct dimse_store_send rq = {
        .pc_id = PC_CT,
        .message_id = message_id,
        .sop_class_uid = sop_class,
        .sop_instance_uid = uid,
    };
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dimse_send_store_rq(h.scu.da, &rq, &err), 0);
    for (size_t off = 0; off < len;) {
        size_t n = len - off < 3000 ? len - off : 3000;
        ck_assert_int_eq(dimse_send_data(h.scu.da, PC_CT, data + off, n, off + n == len), 0);
        off += n;
        while (dimse_send_congested(h.scu.da)) {
            unsigned w = h.scu.writable;
            run_until_n(&h.scu.writable, w + 1, 3000);
        }
    }
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8));
    return p;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_echo)
{
    connect_scu();
    struct ferry_error *err = NULL;
    ck_assert_int_eq(dimse_send_echo_rq(h.scu.da, PC_ECHO, 5, &err), 0);
    run_until_n(&h.scu.n_rsp, 1, 3000);
    ck_assert_uint_eq(h.scu.rsp[0].field, DIMSE_C_ECHO_RSP);
    ck_assert_uint_eq(h.scu.rsp[0].message_id, 5);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0);
    /* C-ECHO on a storage context: refused */
    ck_assert_int_eq(dimse_send_echo_rq(h.scu.da, PC_CT, 6, &err), 0);
    run_until_n(&h.scu.n_rsp, 2, 3000);
    ck_assert_uint_eq(h.scu.rsp[1].status, DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED);
    ck_assert_int_eq(dimse_send_echo_rq(h.scu.da, 9, 7, &err), -EINVAL);
    ck_assert_str_eq(err->message, "presentation context 9 was not accepted");
    ferry_error_free(err);
    ck_assert_int_eq(dul_release(dimse_assoc_dul(h.scu.da)), 0);
    run_until(&h.scu.released, 3000);
    run_until(&h.scp.closed, 3000);
}
END_TEST

START_TEST(test_store_streams_data)
{
    connect_scu();
    size_t n = 300000;
    uint8_t *data = pattern(n);
    h.scp.respond_after_ms = 20; /* as the spool answers after its commit */
    send_store(1, CT, "1.2.3.4.1", data, n);
    run_until_n(&h.scu.n_rsp, 1, 5000);
    ck_assert_uint_eq(h.scu.rsp[0].field, DIMSE_C_STORE_RSP);
    ck_assert_uint_eq(h.scu.rsp[0].message_id, 1);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0);
    ck_assert_str_eq(h.scu.rsp[0].uid, "1.2.3.4.1");
    ck_assert_str_eq(h.scp.sop_class, CT);
    ck_assert_str_eq(h.scp.sop_instance, "1.2.3.4.1");
    ck_assert_str_eq(h.scp.ts, EXPLICIT);
    ck_assert_uint_eq(h.scp.data.len, n);
    ck_assert(memcmp(h.scp.data.data, data, n) == 0);
    ck_assert_uint_gt(h.scu.writable, 0); /* the sender was paced */
    free(data);
}
END_TEST

START_TEST(test_store_owner_pauses)
{
    connect_scu();
    size_t n = 200000;
    uint8_t *data = pattern(n);
    h.scp.pause_each = true;
    send_store(2, CT, "1.2.3.4.2", data, n);
    run_until_n(&h.scu.n_rsp, 1, 10000);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0);
    ck_assert_uint_gt(h.scp.pauses, 20);
    ck_assert_uint_eq(h.scp.data.len, n);
    ck_assert(memcmp(h.scp.data.data, data, n) == 0);
    free(data);
}
END_TEST

START_TEST(test_store_refused)
{
    connect_scu();
    uint8_t *data = pattern(20000);
    h.scp.refuse = DIMSE_STATUS_OUT_OF_RESOURCES;
    send_store(3, CT, "1.2.3.4.3", data, 20000);
    run_until_n(&h.scu.n_rsp, 1, 3000);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0xA700);
    ck_assert_str_eq(h.scu.rsp[0].comment,
                     "the disk is full; try again later, or ask the administrator to f");
    ck_assert_uint_eq(h.scp.data.len, 0); /* read and dropped */
    /* another SOP class than the context's */
    h.scp.refuse = 0;
    send_store(4, MR, "1.2.3.4.4", data, 1000);
    run_until_n(&h.scu.n_rsp, 2, 3000);
    ck_assert_uint_eq(h.scu.rsp[1].status, DIMSE_STATUS_SOP_CLASS_NOT_SUPPORTED);
    ck_assert_str_eq(h.scu.rsp[1].comment, "SOP class 1.2.840.10008.5.1.4.1.1.4 not accepted on this context");
    ck_assert_uint_eq(h.scp.stores, 1); /* the owner never saw it */
    free(data);
}
END_TEST

START_TEST(test_one_at_a_time)
{
    /* Two C-STOREs sent back to back: the second is held until the first
     * is answered (the operations window is 1). */
    connect_scu();
    uint8_t *data = pattern(10000);
    h.scp.respond_after_ms = 50;
    send_store(10, CT, "1.2.3.4.10", data, 10000);
    send_store(11, CT, "1.2.3.4.11", data, 5000);
    run_until_n(&h.scu.n_rsp, 2, 5000);
    ck_assert_uint_eq(h.scu.rsp[0].message_id, 10);
    ck_assert_uint_eq(h.scu.rsp[1].message_id, 11);
    ck_assert_uint_eq(h.scp.stores, 2);
    ck_assert_uint_eq(h.scp.data.len, 5000);
    free(data);
}
END_TEST

/* Raw command sets, as a peer could send them. */
static void send_raw_command(uint8_t pc, uint16_t field, uint16_t message_id, bool with_data)
{
    struct dcm_dataset *cmd = dcm_dataset_new();
    dcm_dataset_set_string(cmd, DCM_TAG_AffectedSOPClassUID, DCM_VR_UI, CT);
    dcm_dataset_set_uint(cmd, DCM_TAG_CommandField, DCM_VR_US, field);
    if (field == DIMSE_C_CANCEL_RQ)
        dcm_dataset_set_uint(cmd, DCM_TAG_MessageIDBeingRespondedTo, DCM_VR_US, message_id);
    else
        dcm_dataset_set_uint(cmd, DCM_TAG_MessageID, DCM_VR_US, message_id);
    dcm_dataset_set_uint(cmd, DCM_TAG_CommandDataSetType, DCM_VR_US, with_data ? 0 : 0x0101);
    struct dcm_buf b = { 0 };
    ck_assert_int_eq(dcm_command_encode(cmd, &b, NULL), 0);
    ck_assert_int_eq(dul_send_pdv(dimse_assoc_dul(h.scu.da), pc, true, true, b.data, b.len), 0);
    dcm_buf_free(&b);
    dcm_dataset_unref(cmd);
    if (with_data)
        ck_assert_int_eq(dul_send_pdv(dimse_assoc_dul(h.scu.da), pc, false, true, "\0\0\0\0", 4),
                         0);
}

START_TEST(test_other_commands)
{
    connect_scu();
    send_raw_command(PC_CT, DIMSE_C_CANCEL_RQ, 1, false); /* ignored: no answer */
    send_raw_command(PC_CT, DIMSE_C_FIND_RQ, 21, true);
    send_raw_command(PC_CT, DIMSE_N_ACTION_RQ, 22, false);
    run_until_n(&h.scu.n_rsp, 2, 3000);
    ck_assert_uint_eq(h.scu.rsp[0].field, DIMSE_C_FIND_RSP);
    ck_assert_uint_eq(h.scu.rsp[0].message_id, 21);
    ck_assert_uint_eq(h.scu.rsp[0].status, DIMSE_STATUS_UNRECOGNIZED_OPERATION);
    ck_assert_str_eq(h.scu.rsp[0].comment, "C-FIND-RQ is not supported here");
    ck_assert_uint_eq(h.scu.rsp[1].field, 0x8130);
    ck_assert_uint_eq(h.scu.rsp[1].status, DIMSE_STATUS_UNRECOGNIZED_OPERATION);
    ck_assert_int_eq(dul_release(dimse_assoc_dul(h.scu.da)), 0);
    run_until(&h.scu.released, 3000);
    ck_assert_uint_eq(h.scu.n_rsp, 2);
}
END_TEST

START_TEST(test_data_without_command_aborts)
{
    connect_scu();
    ck_assert_int_eq(dul_send_pdv(dimse_assoc_dul(h.scu.da), PC_CT, false, true, "\0\0\0\0", 4), 0);
    run_until(&h.scu.aborted, 3000);
    run_until(&h.scp.closed, 3000);
}
END_TEST

START_TEST(test_release_waits_for_the_answer)
{
    /* The peer asks to release right after its data set: the release is
     * answered only after the C-STORE-RSP. */
    connect_scu();
    uint8_t *data = pattern(8000);
    h.scp.respond_after_ms = 100;
    send_store(30, CT, "1.2.3.4.30", data, 8000);
    ck_assert_int_eq(dul_release(dimse_assoc_dul(h.scu.da)), 0);
    run_until(&h.scu.released, 3000);
    ck_assert_uint_eq(h.scu.n_rsp, 1);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0);
    free(data);
}
END_TEST

START_TEST(test_abort_mid_data_abandons)
{
    connect_scu();
    uint8_t *data = pattern(8000);
    struct dimse_store_send rq = { .pc_id = PC_CT, .message_id = 40, .sop_class_uid = CT,
                                   .sop_instance_uid = "1.2.3.4.40" };
    ck_assert_int_eq(dimse_send_store_rq(h.scu.da, &rq, NULL), 0);
    ck_assert_int_eq(dimse_send_data(h.scu.da, PC_CT, data, 4000, false), 0);
    run_until_n(&h.scp.stores, 1, 3000);
    dimse_abort(h.scu.da);
    run_until(&h.scp.closed, 3000);
    ck_assert_uint_eq(h.scp.abandoned, 1);
    free(data);
}
END_TEST

START_TEST(test_scp_release_after_answer)
{
    /* Shutting down: dimse_release() on the SCP during a C-STORE; the
     * request held behind it is refused with 0xA700, then the association
     * is released. */
    connect_scu();
    uint8_t *data = pattern(6000);
    h.scp.respond_after_ms = 50;
    h.scp.release_in_store = true;
    send_store(50, CT, "1.2.3.4.50", data, 6000);
    send_store(51, CT, "1.2.3.4.51", data, 6000);
    run_until_n(&h.scu.n_rsp, 2, 5000);
    ck_assert_uint_eq(h.scu.rsp[0].status, 0);
    ck_assert_uint_eq(h.scu.rsp[1].status, DIMSE_STATUS_OUT_OF_RESOURCES);
    ck_assert_str_eq(h.scu.rsp[1].comment, "ferry is shutting down; send it again later");
    run_until(&h.scp.released, 3000);
    run_until(&h.scu.closed, 3000);
    free(data);
}
END_TEST

START_TEST(test_status_classes_and_names)
{
    ck_assert_int_eq(dimse_status_class(0x0000), DIMSE_SUCCESS);
    ck_assert_int_eq(dimse_status_class(0xB000), DIMSE_WARNING);
    ck_assert_int_eq(dimse_status_class(0x0107), DIMSE_WARNING);
    ck_assert_int_eq(dimse_status_class(0x0001), DIMSE_WARNING);
    ck_assert_int_eq(dimse_status_class(0xA700), DIMSE_FAILURE);
    ck_assert_int_eq(dimse_status_class(0xC123), DIMSE_FAILURE);
    ck_assert_int_eq(dimse_status_class(0x0122), DIMSE_FAILURE);
    ck_assert_int_eq(dimse_status_class(0xFE00), DIMSE_CANCEL);
    ck_assert_int_eq(dimse_status_class(0xFF01), DIMSE_PENDING);
    ck_assert_int_eq(dimse_status_class(0x1234), DIMSE_FAILURE);
    ck_assert_str_eq(dimse_command_name(0x0001), "C-STORE-RQ");
    ck_assert_str_eq(dimse_command_name(0x8130), "N-ACTION-RSP");
    ck_assert_str_eq(dimse_command_name(0x0FFF), "C-CANCEL-RQ");
    ck_assert_str_eq(dimse_command_name(0x4321), "command 0x4321");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dimse");
    TCase *tc = tcase_create("scp_scu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_echo);
    tcase_add_test(tc, test_store_streams_data);
    tcase_add_test(tc, test_store_owner_pauses);
    tcase_add_test(tc, test_store_refused);
    tcase_add_test(tc, test_one_at_a_time);
    tcase_add_test(tc, test_other_commands);
    tcase_add_test(tc, test_data_without_command_aborts);
    tcase_add_test(tc, test_release_waits_for_the_answer);
    tcase_add_test(tc, test_abort_mid_data_abandons);
    tcase_add_test(tc, test_scp_release_after_answer);
    suite_add_tcase(s, tc);
    tc = tcase_create("status");
    tcase_add_test(tc, test_status_classes_and_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
