/* ferry — work: the worker pool.
 *
 * Codec and de-identification work runs here, never on the network thread.
 * A task is queued by any thread; a worker calls task->run(task) and forgets
 * it: handing the result back (usually through net's wake-up queue to the
 * network thread) is the task's own business. Higher priority runs first;
 * equal priorities run in the order queued.
 */
#ifndef FERRY_WORK_POOL_H
#define FERRY_WORK_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct work_task {
    void (*run)(struct work_task *task); /* on a worker; may free the task */
    int32_t priority;                    /* higher first */
    struct work_task *next;              /* the pool's */
};

struct work_pool;

/* Start `threads` workers (0: one per online CPU). */
struct work_pool *work_pool_start(unsigned threads, struct ferry_error **err);

/* Queue a task (borrowed until its run() starts). Any thread. Returns
 * -ESHUTDOWN once the pool is stopping. */
int work_pool_submit(struct work_pool *pool, struct work_task *task);

/* Let the queued tasks run, then stop the workers. Accepts NULL. */
void work_pool_stop(struct work_pool *pool);

unsigned work_pool_threads(const struct work_pool *pool);

/* Tasks queued and not yet started. */
size_t work_pool_queued(struct work_pool *pool);

#endif
