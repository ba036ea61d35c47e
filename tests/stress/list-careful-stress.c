/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/list-careful-stress.c - the one lockless use safekern/list.h
 * defines: a waiter queues its entry under a mutex and then polls
 * sk_list_empty_careful() on it without the lock, while a waker takes
 * entries off the queue under the mutex with sk_list_del_init_careful().
 * Once a waiter sees its entry empty, the waker's writes made before the
 * delete (the grant) must be visible, and the waker must no longer touch
 * the entry: the waiter reuses it at once.  Neighbouring waiters' entries
 * are relinked while their owners poll them.
 *
 * Exact accounting: every wait is granted exactly once, with the value
 * the waker wrote for it.  A plain program, so that TSan can run it; the
 * debug build carries the happens-before annotations helgrind and drd
 * need (safekern/annotate.h).
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/list.h>

#include "../sk-test.h"

#define WAITERS 3

struct waiter {
	struct sk_list_head entry;
	unsigned long seq;     /* written by the owner before queueing */
	unsigned long granted; /* written by the waker before the delete */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static SK_LIST_HEAD(queue);
static uint64_t waits_per_thread;
static unsigned long granted_total; /* under lock */

static void *waiter_main(void *arg)
{
	unsigned long id = (unsigned long)(uintptr_t)arg;
	struct waiter w;

	/* the owner polls the entry while the waker relinks it: by design */
	SK_TEST_BENIGN_RACE(&w.entry, sizeof(w.entry));
	for (uint64_t i = 0; i < waits_per_thread; i++) {
		w.seq = id << 32 | i;
		w.granted = 0;
		pthread_mutex_lock(&lock);
		sk_list_add_tail(&w.entry, &queue);
		pthread_mutex_unlock(&lock);
		while (!sk_list_empty_careful(&w.entry))
			sched_yield();
		/* acquire: the grant written before the delete is visible */
		sk_check(w.granted == (w.seq ^ 0x5a5a5a5aul), "waiter %lu wait %lu: granted %lx",
			 id, (unsigned long)i, w.granted);
	}
	return NULL;
}

static void *waker_main(void *arg)
{
	uint64_t total = *(uint64_t *)arg;
	uint64_t done = 0;

	while (done < total) {
		struct waiter *w = NULL;

		pthread_mutex_lock(&lock);
		if (!sk_list_empty(&queue)) {
			w = sk_list_first_entry(&queue, struct waiter, entry);
			w->granted = w->seq ^ 0x5a5a5a5aul;
			/* the last access to w: its owner may reuse it at once */
			sk_list_del_init_careful(&w->entry);
			granted_total++;
			done++;
		}
		pthread_mutex_unlock(&lock);
		if (!w)
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	pthread_t waiters[WAITERS], waker;
	uint64_t total;

	sk_violation_set_policy(SK_VIOLATION_ABORT);
	waits_per_thread = sk_test_iters(20000, 200);
	total = waits_per_thread * WAITERS;
	for (unsigned long i = 0; i < WAITERS; i++)
		sk_check(!pthread_create(&waiters[i], NULL, waiter_main, (void *)(uintptr_t)i),
			 "pthread_create");
	sk_check(!pthread_create(&waker, NULL, waker_main, &total), "pthread_create");
	for (unsigned long i = 0; i < WAITERS; i++)
		pthread_join(waiters[i], NULL);
	pthread_join(waker, NULL);

	sk_check(granted_total == total, "granted %lu of %lu", granted_total,
		 (unsigned long)total);
	sk_check(sk_list_empty(&queue), "entries left on the queue");
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("list-careful-stress: %lu waits granted, each once\n", granted_total);
	return 0;
}
