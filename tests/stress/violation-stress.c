/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/violation-stress.c - many threads report at once, under
 * the count policy and with a handler, while another thread flips the
 * policy between warn and count and the handler between two (each with
 * its own argument): every report is counted exactly once, one of the
 * handlers sees each one, always with its own argument.  A plain program
 * so that TSan can run it.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/violation.h>

#include "../sk-test.h"

#define THREADS 4

static int object;
static unsigned long handler_calls;
static int stop;
static int arg_a, arg_b;

static void handler_a(const struct sk_violation *v, void *arg)
{
	sk_check(v->kind == SK_VIOLATION_USER, "kind %d", v->kind);
	sk_check(arg == &arg_a, "handler a called with another handler's argument");
	__atomic_add_fetch(&handler_calls, 1, __ATOMIC_RELAXED);
}

static void handler_b(const struct sk_violation *v, void *arg)
{
	sk_check(v->kind == SK_VIOLATION_USER, "kind %d", v->kind);
	sk_check(arg == &arg_b, "handler b called with another handler's argument");
	__atomic_add_fetch(&handler_calls, 1, __ATOMIC_RELAXED);
}

static void *reporter(void *arg)
{
	uint64_t n = *(uint64_t *)arg;

	for (uint64_t i = 0; i < n; i++)
		sk_violation_report(SK_VIOLATION_USER, &object, "stress %lu", (unsigned long)i);
	return NULL;
}

static void *flipper(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		sk_violation_set_policy(SK_VIOLATION_WARN);
		sk_violation_set_handler(handler_b, &arg_b);
		sk_violation_set_policy(SK_VIOLATION_COUNT);
		sk_violation_set_handler(handler_a, &arg_a);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS], f;
	uint64_t n = sk_test_iters(200000, 1000);

	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	SK_TEST_BENIGN_RACE(&handler_calls, sizeof(handler_calls));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_violation_set_handler(handler_a, &arg_a);
	pthread_create(&f, NULL, flipper, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, reporter, &n);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(f, NULL);

	sk_check(sk_violation_count(SK_VIOLATION_USER) == THREADS * n, "count %lu, expected %lu",
		 sk_violation_count(SK_VIOLATION_USER), (unsigned long)(THREADS * n));
	sk_check(sk_violation_total() == THREADS * n, "total %lu", sk_violation_total());
	sk_check(handler_calls == THREADS * n, "handler saw %lu of %lu", handler_calls,
		 (unsigned long)(THREADS * n));
	printf("violation-stress: %lu reports from %d threads, all counted\n",
	       (unsigned long)(THREADS * n), THREADS);
	return 0;
}
