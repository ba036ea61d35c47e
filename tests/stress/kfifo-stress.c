/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/kfifo-stress.c - one producer, one consumer, 10 million
 * sequenced items (fewer under valgrind and the sanitizers) through a
 * small kfifo, with single puts/gets, bulk in/out, peeks and skips mixed at
 * random, while a third thread polls the read-only queries.  Halfway, the
 * producer side is handed over to a new thread (sk_kfifo_release_producer()
 * and a join): at the debug level that must not be reported; so is the
 * consumer side, at a quarter of the way (sk_kfifo_release_consumer()).
 * Checks: FIFO order, nothing lost, nothing duplicated (the consumers see
 * exactly 0, 1, 2, ... N-1 between them), a checksum, and no violation at
 * all.
 *
 * A plain program so that TSan can run it; helgrind and drd run the debug
 * build, whose inline code carries the Valgrind client requests.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/kfifo.h>

#include "../sk-test.h"

static SK_DECLARE_KFIFO_PTR(fifo, uint64_t);
static uint64_t total;
static int done;

struct producer_arg {
	uint64_t from, to;
	unsigned int seed;
};

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static void backoff(unsigned int *spins)
{
	if (++*spins > 16) {
		sched_yield();
		*spins = 0;
	}
}

static void *producer(void *p)
{
	struct producer_arg *a = p;
	uint64_t next = a->from, buf[32];
	unsigned int spins = 0;

	while (next < a->to) {
		unsigned int r = rnd(&a->seed), n;

		if (r & 1) {
			n = sk_kfifo_put(&fifo, next);
		} else {
			unsigned int want = 1 + r % 32;

			if (want > a->to - next)
				want = (unsigned int)(a->to - next);
			for (unsigned int i = 0; i < want; i++)
				buf[i] = next + i;
			n = sk_kfifo_in(&fifo, buf, want);
		}
		if (n)
			spins = 0;
		else
			backoff(&spins);
		next += n;
	}
	/* Hand the producer side over; the join orders it with the next one. */
	sk_kfifo_release_producer(&fifo);
	return NULL;
}

/* @n items read by @how from @buf must be @expect, @expect + 1, ...: their sum. */
static uint64_t check_batch(const uint64_t *buf, unsigned int n, uint64_t expect, const char *how)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++) {
		sk_check(buf[i] == expect + i, "%s %llu, expected %llu", how,
			 (unsigned long long)buf[i], (unsigned long long)(expect + i));
		sum += buf[i];
	}
	return sum;
}

struct consumer_arg {
	uint64_t from, to, sum;
	unsigned int seed;
};

static void *consumer(void *p)
{
	struct consumer_arg *a = p;
	uint64_t expect = a->from, sum = 0, buf[32], v;
	unsigned int spins = 0;

	while (expect < a->to) {
		unsigned int r = rnd(&a->seed), n, want = 1 + r % 32;

		if (want > a->to - expect)
			want = (unsigned int)(a->to - expect);
		switch (r % 5) {
		case 0:
			n = sk_kfifo_get(&fifo, &v);
			if (n) {
				sk_check(v == expect, "got %llu, expected %llu",
					 (unsigned long long)v, (unsigned long long)expect);
				sum += v;
			}
			break;
		case 1:
			/* Peek, then skip what was peeked. */
			n = sk_kfifo_peek(&fifo, &v);
			if (n) {
				sk_check(v == expect, "peeked %llu, expected %llu",
					 (unsigned long long)v, (unsigned long long)expect);
				sum += v;
				sk_kfifo_skip(&fifo);
			}
			break;
		case 2:
			/* Peek a batch, then skip it. */
			n = sk_kfifo_out_peek(&fifo, buf, want);
			sum += check_batch(buf, n, expect, "out_peek");
			sk_kfifo_skip_count(&fifo, n);
			break;
		default:
			n = sk_kfifo_out(&fifo, buf, want);
			sum += check_batch(buf, n, expect, "out");
			break;
		}
		if (n)
			spins = 0;
		else
			backoff(&spins);
		expect += n;
	}
	sk_check(expect == a->to, "consumed up to %llu of %llu", (unsigned long long)expect,
		 (unsigned long long)a->to);
	a->sum = sum;
	/* Hand the consumer side over; the join orders it with the next one. */
	sk_kfifo_release_consumer(&fifo);
	return NULL;
}

/*
 * Read-only queries from a thread that is neither side, for the race
 * detectors (TSan, helgrind, drd) and the debug-level identity checks:
 * queries must be allowed from any thread.  Their values are snapshots,
 * clamped to 0..size, so there is nothing about them to check here.
 */
static void *querier(void *p)
{
	unsigned long polls = 0;

	(void)p;
	while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
		(void)sk_kfifo_len(&fifo);
		(void)sk_kfifo_avail(&fifo);
		(void)sk_kfifo_is_empty(&fifo);
		(void)sk_kfifo_is_full(&fifo);
		polls++;
		sched_yield();
	}
	return (void *)(uintptr_t)polls;
}

int main(void)
{
	pthread_t prod, cons, q;
	struct producer_arg first, second;
	struct consumer_arg c1, c2;

	total = sk_test_iters(10000000, 20000);
	SK_TEST_BENIGN_RACE(&done, sizeof(done));
	sk_check(sk_kfifo_alloc(&fifo, 256) == 0, "alloc");
	first = (struct producer_arg){ 0, total / 2, 1 };
	second = (struct producer_arg){ total / 2, total, 2 };
	c1 = (struct consumer_arg){ .from = 0, .to = total / 4, .seed = 99 };
	c2 = (struct consumer_arg){ .from = total / 4, .to = total, .seed = 98 };

	pthread_create(&cons, NULL, consumer, &c1);
	pthread_create(&q, NULL, querier, NULL);
	pthread_create(&prod, NULL, producer, &first);
	pthread_join(cons, NULL);
	pthread_create(&cons, NULL, consumer, &c2); /* the consumer's hand-over */
	pthread_join(prod, NULL);
	pthread_create(&prod, NULL, producer, &second); /* the producer's */
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	sk_check(c1.sum + c2.sum == total * (total - 1) / 2, "checksum %llu",
		 (unsigned long long)(c1.sum + c2.sum));
	sk_check(sk_kfifo_is_empty(&fifo), "items left over");
	__atomic_store_n(&done, 1, __ATOMIC_RELAXED);
	pthread_join(q, NULL);

	sk_check(sk_violation_total() == 0, "%lu violation(s)", sk_violation_total());
	sk_kfifo_free(&fifo);
	printf("kfifo-stress: %llu items in order, producer and consumer handed over once each\n",
	       (unsigned long long)total);
	return 0;
}
