/* ferry — timers: a pairing heap of deadlines in user space; the ring holds
 * one absolute IORING_OP_TIMEOUT for the earliest (loop.c arms it). Timers
 * are re-armed on every PDU, so arming must be cheap: O(1) insert, no
 * allocation, no system call. */
#include "net/net-private.h"

#include <time.h>

uint64_t net_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t net_now_ms(void)
{
    return net_now_ns() / 1000000u;
}

void net_timer_init(struct net_timer *t, void (*fn)(struct net_timer *t))
{
    t->deadline_ns = 0;
    t->child = t->next = t->prev = NULL;
    t->armed = false;
    t->fn = fn;
}

bool net_timer_armed(const struct net_timer *t)
{
    return t->armed;
}

/* Join two heaps; the root with the later deadline becomes the first child
 * of the other. prev of a first child points at its parent; of any other
 * child at its left sibling. */
static struct net_timer *meld(struct net_timer *a, struct net_timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (b->deadline_ns < a->deadline_ns) {
        struct net_timer *t = a;
        a = b;
        b = t;
    }
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    a->next = a->prev = NULL;
    return a;
}

/* The standard two-pass merge of a sibling list. */
static struct net_timer *merge_pairs(struct net_timer *first)
{
    if (!first)
        return NULL;
    first->prev = NULL;
    /* pass 1: meld pairs left to right, collect results in a list through
     * ->prev (reused as a stack link) */
    struct net_timer *stack = NULL;
    while (first) {
        struct net_timer *a = first, *b = first->next;
        first = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b)
            b->next = b->prev = NULL;
        struct net_timer *m = meld(a, b);
        m->prev = stack;
        stack = m;
    }
    /* pass 2: meld right to left */
    struct net_timer *root = NULL;
    while (stack) {
        struct net_timer *next = stack->prev;
        stack->prev = NULL;
        root = meld(root, stack);
        stack = next;
    }
    return root;
}

static void heap_remove(struct net_loop *l, struct net_timer *t)
{
    if (t == l->timer_root) {
        l->timer_root = merge_pairs(t->child);
    } else {
        /* unlink t (and its subtree) from its sibling list */
        if (t->prev->child == t)
            t->prev->child = t->next;
        else
            t->prev->next = t->next;
        if (t->next)
            t->next->prev = t->prev;
        t->next = t->prev = NULL;
        l->timer_root = meld(l->timer_root, merge_pairs(t->child));
    }
    t->child = t->next = t->prev = NULL;
    t->armed = false;
}

void net_timer_cancel(struct net_loop *l, struct net_timer *t)
{
    if (t->armed)
        heap_remove(l, t);
}

void net_timer_arm(struct net_loop *l, struct net_timer *t, uint64_t ms)
{
    if (t->armed)
        heap_remove(l, t);
    t->deadline_ns = net_now_ns() + ms * 1000000u;
    t->child = t->next = t->prev = NULL;
    t->armed = true;
    l->timer_root = meld(l->timer_root, t);
}

void net_timers_expire(struct net_loop *l)
{
    if (!l->timer_root)
        return;
    uint64_t now = net_now_ns();
    /* A callback may arm timers again; those with a deadline of now (0 ms)
     * would run in this loop forever, so only timers due before we started
     * run in this round. */
    while (l->timer_root && l->timer_root->deadline_ns <= now) {
        struct net_timer *t = l->timer_root;
        heap_remove(l, t);
        t->fn(t);
    }
}
