/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/refcount-publish-stress.c - the refcount's own memory
 * ordering, with nothing else to lean on.
 *
 * Each round, a producer fills a fresh object with plain stores, sets its
 * count to 1 with sk_refcount_set_release() and posts the pointer through
 * a relaxed atomic (which orders nothing).  The consumer takes a reference
 * with sk_refcount_inc_not_zero_acquire() and reads the fields with plain
 * loads.  Then one side writes a field, drops its reference with one of
 * the non-final drops (dec, dec_and_test, sub_and_test, dec_not_one) and
 * says so through another relaxed flag; the other side drops the last
 * reference with one of the final drops (dec_and_test, sub_and_test,
 * dec_if_one), reads that field and clears the object, with plain
 * accesses.  Who drops last alternates, and so do the drops.
 *
 * Only the refcount's release/acquire orders those plain accesses: under
 * TSan, a relaxed order in any of these operations is a reported race.
 * Helgrind and drd run the debug build, whose refcount carries their
 * happens-before marks (the counters themselves are marked as benign
 * races for them: they do not know atomics).  The other refcount stress
 * programs hand their objects over under locks or with their own
 * release/acquire, which would hide a missing order here.
 *
 * Exact accounting: every round's object is finalised exactly once, by
 * the side whose drop was the last, and no violation is reported.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <safekern/refcount.h>

#include "../sk-test.h"

struct pobj {
	uint64_t a, b, c; /* written by the producer before publication */
	uint64_t d;	  /* written by the side that does not drop last */
	sk_refcount_t ref;
};

static struct pobj *pool;
static struct pobj *mailbox;  /* relaxed */
static uint64_t taken;	      /* rounds whose reference the consumer took; relaxed */
static uint64_t dropped;      /* rounds whose non-final drop is done; relaxed */
static uint64_t finalised[2]; /* by the producer, by the consumer */

/* Wait (yielding) until *@p reaches @want; a minute without it is a hang. */
static void wait_for(const uint64_t *p, uint64_t want)
{
	time_t start = time(NULL);

	while (__atomic_load_n(p, __ATOMIC_RELAXED) < want) {
		sk_check(time(NULL) - start < 60, "no progress for a minute (waiting for %llu)",
			 (unsigned long long)want);
		sched_yield();
	}
}

/*
 * Wait until the count reads @want (relaxed: no ordering is taken from
 * it), so that the drop that follows comes after the other side's last
 * change in the counter's modification order on any memory model.
 */
static void wait_count(const sk_refcount_t *r, unsigned int want)
{
	time_t start = time(NULL);

	while (sk_refcount_read(r) != want) {
		sk_check(time(NULL) - start < 60, "no progress for a minute (count %u, want %u)",
			 sk_refcount_read(r), want);
		sched_yield();
	}
}

/* Which side drops last in round @k: the producer in even rounds. */
static int consumer_last(uint64_t k)
{
	return k & 1;
}

/* A drop that is never the last one (another reference is held). */
static void drop(struct pobj *o, uint64_t k)
{
	wait_count(&o->ref, 2);
	switch ((k >> 1) % 4) {
	case 0:
		sk_refcount_dec(&o->ref);
		break;
	case 1:
		sk_check(!sk_refcount_dec_and_test(&o->ref), "dec_and_test: not the last");
		break;
	case 2:
		sk_check(!sk_refcount_sub_and_test(1, &o->ref), "sub_and_test: not the last");
		break;
	default:
		sk_check(sk_refcount_dec_not_one(&o->ref), "dec_not_one: not the last");
		break;
	}
}

/* The last drop: then the object is ours alone, to check and clear. */
static void drop_last(struct pobj *o, uint64_t k, int side)
{
	bool last;

	wait_count(&o->ref, 1);
	switch ((k >> 1) % 3) {
	case 0:
		last = sk_refcount_dec_and_test(&o->ref);
		break;
	case 1:
		last = sk_refcount_sub_and_test(1, &o->ref);
		break;
	default:
		last = sk_refcount_dec_if_one(&o->ref);
		break;
	}
	sk_check(last, "round %llu: the last drop was not the last", (unsigned long long)k);
	sk_check(o->a == k + 1 && o->b == k + 2 && o->c == k + 3, "a torn object at the end");
	sk_check(o->d == k + 4, "the other side's write is not visible after the last drop");
	o->a = o->b = o->c = o->d = 0;
	finalised[side]++;
}

static void *producer(void *arg)
{
	uint64_t rounds = *(uint64_t *)arg;

	for (uint64_t k = 0; k < rounds; k++) {
		struct pobj *o = &pool[k];

		o->a = k + 1;
		o->b = k + 2;
		o->c = k + 3;
		sk_refcount_set_release(&o->ref, 1);
		__atomic_store_n(&mailbox, o, __ATOMIC_RELAXED);
		wait_for(&taken, k + 1);
		if (consumer_last(k)) {
			o->d = k + 4;
			drop(o, k);
			__atomic_store_n(&dropped, k + 1, __ATOMIC_RELAXED);
		} else {
			wait_for(&dropped, k + 1);
			drop_last(o, k, 0);
		}
	}
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t rounds = *(uint64_t *)arg;

	for (uint64_t k = 0; k < rounds; k++) {
		struct pobj *o;

		while ((o = __atomic_load_n(&mailbox, __ATOMIC_RELAXED)) != &pool[k])
			sched_yield();
		/* The producer holds one; until its set_release() is seen here,
		 * the count may still read 0 (not on x86). */
		while (!sk_refcount_inc_not_zero_acquire(&o->ref))
			sched_yield();
		sk_check(o->a == k + 1 && o->b == k + 2 && o->c == k + 3,
			 "round %llu: the published object is torn", (unsigned long long)k);
		__atomic_store_n(&taken, k + 1, __ATOMIC_RELAXED);
		if (consumer_last(k)) {
			wait_for(&dropped, k + 1);
			drop_last(o, k, 1);
		} else {
			o->d = k + 4;
			drop(o, k);
			__atomic_store_n(&dropped, k + 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

int main(void)
{
	/* drd's time grows faster than the rounds (2,000: 130 s; 400: 2 s). */
	uint64_t rounds = sk_test_under_valgrind() ? 400 : sk_test_iters(40000, 400);
	pthread_t p, c;

	SK_TEST_BENIGN_RACE(&mailbox, sizeof(mailbox));
	SK_TEST_BENIGN_RACE(&taken, sizeof(taken));
	SK_TEST_BENIGN_RACE(&dropped, sizeof(dropped));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	pool = calloc(rounds, sizeof(*pool));
	sk_check(pool, "calloc");
	/* Helgrind and drd do not know atomics: the counters are accessed
	 * only atomically, the fields are what they check. */
	for (uint64_t k = 0; k < rounds; k++)
		SK_TEST_BENIGN_RACE(&pool[k].ref, sizeof(pool[k].ref));
	pthread_create(&c, NULL, consumer, &rounds);
	pthread_create(&p, NULL, producer, &rounds);
	pthread_join(p, NULL);
	pthread_join(c, NULL);

	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	sk_check(finalised[0] + finalised[1] == rounds && finalised[0] == (rounds + 1) / 2,
		 "%llu rounds, finalised %llu by the producer and %llu by the consumer",
		 (unsigned long long)rounds, (unsigned long long)finalised[0],
		 (unsigned long long)finalised[1]);
	for (uint64_t k = 0; k < rounds; k++)
		sk_check(pool[k].a == 0 && pool[k].d == 0 && sk_refcount_read(&pool[k].ref) == 0,
			 "round %llu was not finalised", (unsigned long long)k);
	free(pool);
	printf("refcount-publish-stress: %llu rounds, %llu finalised by the producer, "
	       "%llu by the consumer\n",
	       (unsigned long long)rounds, (unsigned long long)finalised[0],
	       (unsigned long long)finalised[1]);
	return 0;
}
