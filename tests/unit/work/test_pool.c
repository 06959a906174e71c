/* Unit tests for src/work: the worker pool. */
#include "work/pool.h"

#include "test_work.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct counted {
    struct work_task task;
    atomic_int *count;
    int id;
    int *order;
    atomic_int *pos;
};

static void count_run(struct work_task *t)
{
    struct counted *c = (struct counted *)t;
    if (c->order)
        c->order[atomic_fetch_add(c->pos, 1)] = c->id;
    atomic_fetch_add(c->count, 1);
}

START_TEST(test_runs_everything)
{
    struct ferry_error *err = NULL;
    struct work_pool *p = work_pool_start(4, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(work_pool_threads(p), 4);
    enum { N = 10000 };
    struct counted *tasks = calloc(N, sizeof *tasks);
    atomic_int count = 0;
    for (int i = 0; i < N; i++) {
        tasks[i] = (struct counted){ .task = { .run = count_run, .priority = i % 3 },
                                     .count = &count };
        ck_assert_int_eq(work_pool_submit(p, &tasks[i].task), 0);
    }
    work_pool_stop(p); /* drains */
    ck_assert_int_eq(atomic_load(&count), N);
    free(tasks);
}
END_TEST

/* A task that holds the only worker until released, so the queue behind it
 * can be arranged. */
struct gate {
    struct work_task task;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int open, entered;
};

static void gate_run(struct work_task *t)
{
    struct gate *g = (struct gate *)t;
    pthread_mutex_lock(&g->lock);
    g->entered = 1;
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

START_TEST(test_priority_then_fifo)
{
    struct ferry_error *err = NULL;
    struct work_pool *p = work_pool_start(1, &err);
    struct gate g = { .task = { .run = gate_run }, .lock = PTHREAD_MUTEX_INITIALIZER,
                      .cond = PTHREAD_COND_INITIALIZER };
    ck_assert_int_eq(work_pool_submit(p, &g.task), 0);
    pthread_mutex_lock(&g.lock);
    while (!g.entered)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);

    /* Routine studies queued first, then an emergency: it runs first; each
     * priority keeps its order. */
    static const int prio[] = { 0, 0, -5, 0, 10, -5, 10 };
    enum { N = sizeof prio / sizeof *prio };
    struct counted t[N];
    int order[N];
    atomic_int count = 0, pos = 0;
    for (int i = 0; i < N; i++) {
        t[i] = (struct counted){ .task = { .run = count_run, .priority = prio[i] },
                                 .count = &count, .id = i, .order = order, .pos = &pos };
        work_pool_submit(p, &t[i].task);
    }
    ck_assert_uint_eq(work_pool_queued(p), N);
    pthread_mutex_lock(&g.lock);
    g.open = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    work_pool_stop(p);
    static const int want[] = { 4, 6, 0, 1, 3, 2, 5 };
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(order[i], want[i]);
}
END_TEST

START_TEST(test_default_one_per_cpu)
{
    struct ferry_error *err = NULL;
    struct work_pool *p = work_pool_start(0, &err);
    ck_assert_uint_eq(work_pool_threads(p), (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
    work_pool_stop(p);
    work_pool_stop(NULL);
}
END_TEST

TCase *work_pool_tcase(void)
{
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, test_runs_everything);
    tcase_add_test(tc, test_priority_then_fifo);
    tcase_add_test(tc, test_default_one_per_cpu);
    return tc;
}
