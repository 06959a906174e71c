/* ferryd: signals. They are blocked in every thread (before any thread
 * starts) and taken by one small thread with sigwaitinfo(), which hands
 * them to the network thread through net_loop_post(): SIGTERM and SIGINT
 * start the shutdown, SIGHUP a reload. (A signalfd read on the ring would
 * keep an operation in flight for the whole life of the loop.) */
#include "ferryd/ferryd.h"

#include "base/log.h"
#include "base/util.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sigset_t handled(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

int ferryd_signals_block(void)
{
    sigset_t set = handled();
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-send is an error code, not a death */
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

#define SIG_BIT_HUP 1u
#define SIG_BIT_TERM 2u
#define SIG_BIT_INT 4u

/* On the network thread. */
static void deliver(struct net_work *w)
{
    struct ferryd *d = ferry_container_of(w, struct ferryd, signal_work);
    atomic_store(&d->signal_posted, false);
    unsigned bits = atomic_exchange(&d->signal_bits, 0u);
    if (bits & (SIG_BIT_TERM | SIG_BIT_INT))
        ferryd_shutdown(d, bits & SIG_BIT_TERM ? "SIGTERM" : "SIGINT");
    else if ((bits & SIG_BIT_HUP) && !d->stopping)
        ferryd_reload(d);
}

static void *signal_main(void *arg)
{
    struct ferryd *d = arg;
    sigset_t set = handled();
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (atomic_load(&d->signal_exit))
            return NULL;
        if (sig < 0)
            continue; /* EINTR */
        unsigned bit = sig == SIGHUP ? SIG_BIT_HUP : sig == SIGTERM ? SIG_BIT_TERM : SIG_BIT_INT;
        atomic_fetch_or(&d->signal_bits, bit);
        if (!atomic_exchange(&d->signal_posted, true))
            net_loop_post(d->loop, &d->signal_work);
    }
}

int ferryd_signals_start(struct ferryd *d, char *msg, size_t msg_size)
{
    d->signal_work.fn = deliver;
    int rc = pthread_create(&d->signal_thread, NULL, signal_main, d);
    if (rc != 0) {
        snprintf(msg, msg_size, "cannot start the signal thread: %s", strerror(rc));
        return -rc;
    }
    d->signal_started = true;
    return 0;
}

void ferryd_signals_stop(struct ferryd *d)
{
    if (!d->signal_started)
        return;
    atomic_store(&d->signal_exit, true);
    pthread_kill(d->signal_thread, SIGHUP);
    pthread_join(d->signal_thread, NULL);
    d->signal_started = false;
}
