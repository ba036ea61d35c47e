/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/ptr_ring-stress.c - the MPMC ring with 2 and 4 producers
 * against 2 and 4 consumers (4 to 8 threads on a 2-core machine: the
 * oversubscribed case is the normal one), single, bulk and burst operations
 * mixed at random, on a ring whose size is not a power of two, while
 * another thread polls the read-only queries.  Every item is a pointer to a
 * payload the producer writes just before producing it and the consumer
 * reads (so helgrind and drd check the ring's ordering of the memory it
 * hands over), carrying its producer and a per-producer sequence number.
 * Checks: every item is
 * consumed exactly once (per-consumer tallies merged at the end), each
 * consumer sees each producer's items in increasing order, a global
 * checksum, and no violation.
 *
 * A plain program so that TSan can run it; helgrind and drd run the debug
 * build.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/alloc.h>
#include <safekern/ptr_ring.h>

#include "../sk-test.h"

#define MAX_THREADS 4
#define RING_SIZE 100 /* not a power of two: positions jump at each lap */

static struct sk_ptr_ring ring;
static unsigned int nprod, ncons;
static uint64_t per_producer;
static int producers_done, stop_querier;
/* payloads[p][seq]: what producer p's item seq points to. */
static uint64_t *payloads[MAX_THREADS];
/* tally[c][p][seq]: how many times consumer c got item seq of producer p. */
static unsigned char *tally[MAX_THREADS][MAX_THREADS];
static uint64_t sums[MAX_THREADS], counts[MAX_THREADS];

static uint64_t encode(unsigned int p, uint64_t seq)
{
	return ((uint64_t)(p + 1) << 40) | seq;
}

/* Written by the producer right before it produces the pointer. */
static void *item(unsigned int p, uint64_t seq)
{
	payloads[p][seq] = encode(p, seq);
	return &payloads[p][seq];
}

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static void backoff(unsigned int *spins)
{
	if (++*spins > 8) {
		sched_yield();
		*spins = 0;
	}
}

static void *producer(void *arg)
{
	unsigned int p = (unsigned int)(uintptr_t)arg, seed = 7 + p, spins = 0;
	uint64_t next = 0;
	void *buf[8];

	while (next < per_producer) {
		unsigned int r = rnd(&seed), want = 1 + r % 8, n;

		if (want > per_producer - next)
			want = (unsigned int)(per_producer - next);
		for (unsigned int i = 0; i < want; i++)
			buf[i] = item(p, next + i);
		switch ((r >> 4) % 3) {
		case 0:
			n = sk_ptr_ring_produce(&ring, buf[0]) == 0;
			break;
		case 1:
			n = sk_ptr_ring_produce_bulk(&ring, buf, want);
			sk_check(n == 0 || n == want, "bulk produced %u of %u", n, want);
			break;
		default:
			n = sk_ptr_ring_produce_burst(&ring, buf, want);
			break;
		}
		if (n)
			spins = 0;
		else
			backoff(&spins);
		next += n;
	}
	return NULL;
}

static void take(unsigned int c, uint64_t *last, void *ptr)
{
	uint64_t v = *(uint64_t *)ptr, seq = v & ((1ull << 40) - 1);
	unsigned int p = (unsigned int)(v >> 40) - 1;

	sk_check(p < nprod && seq < per_producer, "garbage item %#llx", (unsigned long long)v);
	sk_check(ptr == &payloads[p][seq], "item %#llx at the wrong address",
		 (unsigned long long)v);
	sk_check(last[p] == UINT64_MAX || seq > last[p],
		 "consumer %u: producer %u's item %llu after %llu", c, p,
		 (unsigned long long)seq, (unsigned long long)last[p]);
	last[p] = seq;
	tally[c][p][seq]++;
	sums[c] += v;
	counts[c]++;
}

static void *consumer(void *arg)
{
	unsigned int c = (unsigned int)(uintptr_t)arg, seed = 1000 + c, spins = 0;
	uint64_t last[MAX_THREADS];
	void *buf[8];

	for (unsigned int p = 0; p < MAX_THREADS; p++)
		last[p] = UINT64_MAX;
	for (;;) {
		unsigned int r = rnd(&seed), want = 1 + r % 8, n;
		void *one;

		switch ((r >> 4) % 3) {
		case 0:
			one = sk_ptr_ring_consume(&ring);
			n = one != NULL;
			if (one)
				take(c, last, one);
			break;
		case 1:
			n = sk_ptr_ring_consume_bulk(&ring, buf, want);
			sk_check(n == 0 || n == want, "bulk consumed %u of %u", n, want);
			for (unsigned int i = 0; i < n; i++)
				take(c, last, buf[i]);
			break;
		default:
			n = sk_ptr_ring_consume_burst(&ring, buf, want);
			for (unsigned int i = 0; i < n; i++)
				take(c, last, buf[i]);
			break;
		}
		if (n) {
			spins = 0;
			continue;
		}
		/*
		 * Once every producer has returned, every claimed position is
		 * published: an empty ring is then empty for good.
		 */
		if (__atomic_load_n(&producers_done, __ATOMIC_ACQUIRE)) {
			one = sk_ptr_ring_consume(&ring);
			if (!one)
				break;
			take(c, last, one);
			continue;
		}
		backoff(&spins);
	}
	return NULL;
}

static void *querier(void *arg)
{
	(void)arg;
	/*
	 * For the race detectors only: the queries read the positions while
	 * they move.  No claim about the snapshots is checked here (the count
	 * is clamped to 0..size, so a bound on it could not fail); their
	 * values are checked in tests/test-ptr_ring.c.
	 */
	while (!__atomic_load_n(&stop_querier, __ATOMIC_RELAXED)) {
		(void)sk_ptr_ring_count(&ring);
		(void)sk_ptr_ring_empty(&ring);
		(void)sk_ptr_ring_full(&ring);
		sched_yield();
	}
	return NULL;
}

static void run(unsigned int producers, unsigned int consumers, uint64_t items)
{
	pthread_t prod[MAX_THREADS], cons[MAX_THREADS], q;
	uint64_t sum = 0, expect = 0, n = 0;

	nprod = producers;
	ncons = consumers;
	per_producer = items;
	producers_done = 0;
	stop_querier = 0;
	sk_check(sk_ptr_ring_init(&ring, RING_SIZE) == 0, "init");
	for (unsigned int p = 0; p < producers; p++) {
		payloads[p] = sk_kcalloc(items, sizeof(uint64_t));
		sk_check(payloads[p] != NULL, "out of memory");
	}
	for (unsigned int c = 0; c < consumers; c++) {
		sums[c] = counts[c] = 0;
		for (unsigned int p = 0; p < producers; p++) {
			tally[c][p] = sk_kcalloc(items, 1);
			sk_check(tally[c][p] != NULL, "out of memory");
		}
	}

	pthread_create(&q, NULL, querier, NULL);
	for (unsigned int c = 0; c < consumers; c++)
		pthread_create(&cons[c], NULL, consumer, (void *)(uintptr_t)c);
	for (unsigned int p = 0; p < producers; p++)
		pthread_create(&prod[p], NULL, producer, (void *)(uintptr_t)p);
	for (unsigned int p = 0; p < producers; p++)
		pthread_join(prod[p], NULL);
	__atomic_store_n(&producers_done, 1, __ATOMIC_RELEASE);
	for (unsigned int c = 0; c < consumers; c++)
		pthread_join(cons[c], NULL);
	__atomic_store_n(&stop_querier, 1, __ATOMIC_RELAXED);
	pthread_join(q, NULL);

	sk_check(sk_ptr_ring_empty(&ring), "items left in the ring");
	for (unsigned int p = 0; p < producers; p++) {
		for (uint64_t s = 0; s < items; s++) {
			unsigned int seen = 0;

			for (unsigned int c = 0; c < consumers; c++)
				seen += tally[c][p][s];
			sk_check(seen == 1, "producer %u item %llu consumed %u times", p,
				 (unsigned long long)s, seen);
			expect += encode(p, s);
		}
		sk_kfree(payloads[p]);
	}
	for (unsigned int c = 0; c < consumers; c++) {
		sum += sums[c];
		n += counts[c];
		for (unsigned int p = 0; p < producers; p++)
			sk_kfree(tally[c][p]);
	}
	sk_check(n == producers * items, "consumed %llu of %llu", (unsigned long long)n,
		 (unsigned long long)(producers * items));
	sk_check(sum == expect, "checksum %#llx, expected %#llx", (unsigned long long)sum,
		 (unsigned long long)expect);
	sk_ptr_ring_cleanup(&ring, NULL);
	printf("ptr_ring-stress: %uP%uC: %llu items, each exactly once, in order per producer\n",
	       producers, consumers, (unsigned long long)n);
}

int main(void)
{
	uint64_t items = sk_test_iters(400000, 2000);

	SK_TEST_BENIGN_RACE(&producers_done, sizeof(producers_done));
	SK_TEST_BENIGN_RACE(&stop_querier, sizeof(stop_querier));
	run(2, 2, items);
	run(4, 4, items);
	run(2, 4, items);
	run(4, 2, items);
	sk_check(sk_violation_total() == 0, "%lu violation(s)", sk_violation_total());
	return 0;
}
