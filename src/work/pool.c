/* ferry — work: the worker pool (a priority queue and N threads). */
#include "work/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* One FIFO per priority in use, lanes sorted by priority (highest first):
 * queueing is O(number of priorities), never O(queue length). */
struct lane {
    int32_t priority;
    struct work_task *head, *tail;
};

#define MAX_LANES 32

struct work_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct lane lanes[MAX_LANES];
    unsigned n_lanes;
    size_t queued;
    bool stopping;
    unsigned n;
    pthread_t threads[];
};

/* Under lock: the first task of the highest non-empty lane, or NULL. */
static struct work_task *take(struct work_pool *p)
{
    for (unsigned i = 0; i < p->n_lanes; i++) {
        struct lane *l = &p->lanes[i];
        if (!l->head)
            continue;
        struct work_task *t = l->head;
        l->head = t->next;
        if (!l->head)
            l->tail = NULL;
        p->queued--;
        return t;
    }
    return NULL;
}

/* Under lock: the lane of `prio`, created in order; NULL if all lanes are
 * taken by other priorities (then the nearest lower lane serves). */
static struct lane *lane_for(struct work_pool *p, int32_t prio)
{
    unsigned i = 0;
    while (i < p->n_lanes && p->lanes[i].priority > prio)
        i++;
    if (i < p->n_lanes && p->lanes[i].priority == prio)
        return &p->lanes[i];
    if (p->n_lanes == MAX_LANES) {
        /* Reuse an empty lane if there is one, else share the nearest. */
        for (unsigned k = 0; k < p->n_lanes; k++)
            if (!p->lanes[k].head) {
                for (unsigned m = k; m + 1 < p->n_lanes; m++)
                    p->lanes[m] = p->lanes[m + 1];
                p->n_lanes--;
                return lane_for(p, prio);
            }
        return &p->lanes[i < p->n_lanes ? i : p->n_lanes - 1];
    }
    for (unsigned k = p->n_lanes; k > i; k--)
        p->lanes[k] = p->lanes[k - 1];
    p->lanes[i] = (struct lane){ .priority = prio };
    p->n_lanes++;
    return &p->lanes[i];
}

static void *worker_main(void *arg)
{
    struct work_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct work_task *t;
        while (!(t = take(p)) && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (!t)
            break; /* stopping and drained */
        pthread_mutex_unlock(&p->lock);
        t->next = NULL;
        t->run(t);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct work_pool *work_pool_start(unsigned threads, struct ferry_error **err)
{
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (unsigned)cpus : 1;
    }
    struct work_pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
    if (!p) {
        ferry_error_set(err, -ENOMEM, "worker pool: out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (unsigned i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
        if (rc != 0) {
            ferry_error_set(err, -rc, "worker pool: cannot start worker %u of %u", i + 1,
                            threads);
            p->n = i;
            work_pool_stop(p);
            return NULL;
        }
    }
    p->n = threads;
    return p;
}

int work_pool_submit(struct work_pool *p, struct work_task *t)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        return -ESHUTDOWN;
    }
    struct lane *l = lane_for(p, t->priority);
    t->next = NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    p->queued++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void work_pool_stop(struct work_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

unsigned work_pool_threads(const struct work_pool *p)
{
    return p->n;
}

size_t work_pool_queued(struct work_pool *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->queued;
    pthread_mutex_unlock(&p->lock);
    return n;
}
