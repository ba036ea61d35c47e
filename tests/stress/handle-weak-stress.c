/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/handle-weak-stress.c - a weak holder's sk_handle_try_lookup()
 * racing the put that drops a released object's last reference.  Both are
 * correct use: the lookup must fail quietly, the destructor must run
 * exactly once, and nothing may be reported.
 *
 * The window: the put's decrement takes the count below zero and sends it
 * to the cold path; a stale try_lookup adds a reference, sees the handle
 * is stale and undoes it, and its undo finds the count at zero and
 * finalizes the object (the slot goes back to a cache and may be reused
 * at once).  The put's cold path must decide from its own decrement, not
 * from a later read of the slot, which would take it for a put without a
 * reference (a false refcount_underflow, and a reference added back that
 * kept the slot's next object from ever being destroyed).
 *
 * Part 1 opens the window deterministically: this program defines
 * sk__handle_put_slow() (the inline put calls it through the PLT, so this
 * definition wins), parks the put there while another thread runs the
 * stale lookup, then calls the library's.  Part 2 runs the race as it
 * comes: one thread inserts, looks up, releases and puts, another
 * try_lookups the latest handle, for a number of rounds.  A plain
 * program so that TSan, helgrind and drd can run it.
 */
#define SK_TEST_PLAIN
#include <dlfcn.h>
#include <pthread.h>

#include <safekern/handle.h>

#include "../sk-test.h"

static struct sk_handle_table tab;
/* Part 1's table: one slot, so the slot the stale lookup frees is the
 * one every later insert gets. */
static struct sk_handle_table one;
static struct sk_handle_owner owner = SK_HANDLE_OWNER_INIT("weak-stress");
static unsigned long dtor_calls;

static void dtor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	__atomic_add_fetch(&dtor_calls, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * Part 1: the window held open
 * ------------------------------------------------------------------------ */

typedef void put_slow_fn(struct sk_handle_table *, sk_handle_t, struct sk__handle_slot *,
			 uint64_t, const struct sk_callsite *);

static pthread_barrier_t parked, resumed;
static int armed, interposed;
static sk_handle_t stale;

static put_slow_fn *real_put_slow;

void sk__handle_put_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			 uint64_t word, const struct sk_callsite *cs)
{
	__atomic_store_n(&interposed, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&armed, 0, __ATOMIC_ACQ_REL)) {
		pthread_barrier_wait(&parked);  /* the count is below zero now */
		pthread_barrier_wait(&resumed); /* the stale lookup has run */
	}
	real_put_slow(t, h, s, word, cs);
}

static void *stale_lookup(void *arg)
{
	void *p;

	(void)arg;
	pthread_barrier_wait(&parked);
	p = sk_handle_try_lookup(&one, stale);
	sk_check(!p, "a lookup of a released handle returned %p", p);
	pthread_barrier_wait(&resumed);
	return NULL;
}

static void window(void)
{
	static int obj, next;
	pthread_t th;
	sk_handle_t h;
	void *p;

	real_put_slow = (put_slow_fn *)dlsym(RTLD_NEXT, "sk__handle_put_slow");
	sk_check(real_put_slow, "the library's sk__handle_put_slow not found");
	sk_check(!pthread_barrier_init(&parked, NULL, 2) && !pthread_barrier_init(&resumed, NULL, 2),
		 "barriers");
	sk_check(!pthread_create(&th, NULL, stale_lookup, NULL), "pthread_create");
	stale = sk_handle_insert(&one, &obj, &owner);
	p = sk_handle_lookup(&one, stale);
	sk_check(p == &obj, "lookup");
	sk_check(sk_handle_release(&one, stale, &owner) == 0, "release");
	sk_check(dtor_calls == 0, "destroyed while a lookup holds it");
	__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
	sk_handle_put(&one, stale); /* the last reference; parks in the cold path */
	pthread_join(th, NULL);
	sk_check(__atomic_load_n(&interposed, __ATOMIC_RELAXED),
		 "the put did not go through this program's cold path");
	sk_check(dtor_calls == 1, "destructor ran %lu times, expected 1", dtor_calls);
	sk_check(sk_violation_total() == 0, "%lu violations (refcount_underflow: %lu)",
		 sk_violation_total(), sk_violation_count(SK_VIOLATION_REFCOUNT_UNDERFLOW));

	/* The slot holds no reference too many: its next objects go (the
	 * stale lookup's thread has exited: its cache is back in the table). */
	for (int i = 0; i < 200; i++) {
		h = sk_handle_insert(&one, &next, &owner);
		sk_check(!sk_handle_is_null(h), "insert");
		sk_check(sk_handle_release(&one, h, &owner) == 0, "release");
	}
	sk_check(dtor_calls == 201, "destructor ran %lu times, expected 201", dtor_calls);
	sk_check(sk_handle_table_count(&one) == 0, "%llu objects left",
		 (unsigned long long)sk_handle_table_count(&one));
	pthread_barrier_destroy(&parked);
	pthread_barrier_destroy(&resumed);
}

/* ------------------------------------------------------------------------
 * Part 2: the race as it comes
 * ------------------------------------------------------------------------ */

static int weak_obj;
static uint64_t latest;
static int stop;
static unsigned long weak_hits; /* atomic: the weak holder's lookups that succeeded */

static void *weak_holder(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		sk_handle_t h = sk_handle_from_bits(__atomic_load_n(&latest, __ATOMIC_ACQUIRE));
		void *p;

		if (sk_handle_is_null(h))
			continue;
		p = sk_handle_try_lookup(&tab, h);
		if (p) {
			sk_check(p == &weak_obj, "try_lookup returned %p", p);
			__atomic_add_fetch(&weak_hits, 1, __ATOMIC_RELAXED);
			sk_handle_put(&tab, h);
		}
	}
	return NULL;
}

static uint64_t as_it_comes(uint64_t rounds)
{
	unsigned long before = dtor_calls;
	pthread_t th;
	uint64_t i;

	sk_check(!pthread_create(&th, NULL, weak_holder, NULL), "pthread_create");
	/* Past @rounds only until the weak holder has held an object (then
	 * its put, not the owner's, can be the last): the object stays live
	 * for a millisecond each round, for up to 20,000 rounds (a short run
	 * under memcheck, which runs one thread at a time, can end without
	 * the weak holder ever meeting a live object). */
	for (i = 0; i < rounds || !__atomic_load_n(&weak_hits, __ATOMIC_RELAXED); i++) {
		sk_handle_t h = sk_handle_insert(&tab, &weak_obj, &owner);
		void *p;

		sk_check(!sk_handle_is_null(h), "insert");
		__atomic_store_n(&latest, sk_handle_bits(h), __ATOMIC_RELEASE);
		if (i >= rounds) {
			sk_check(i - rounds < 20000, "the weak holder's lookups never succeeded");
			nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		}
		p = sk_handle_lookup(&tab, h);
		sk_check(p == &weak_obj, "lookup");
		sk_check(sk_handle_release(&tab, h, &owner) == 0, "release");
		sk_handle_put(&tab, h); /* the last reference, unless the weak holder has one */
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	sk_check(dtor_calls - before == i, "%lu destructor calls for %llu objects",
		 dtor_calls - before, (unsigned long long)i);
	return i;
}

int main(void)
{
	uint64_t rounds = sk_test_iters(400000, 2000);

	/* Test-side atomics, invisible to helgrind and drd. */
	SK_TEST_BENIGN_RACE(&dtor_calls, sizeof(dtor_calls));
	SK_TEST_BENIGN_RACE(&interposed, sizeof(interposed));
	SK_TEST_BENIGN_RACE(&armed, sizeof(armed));
	SK_TEST_BENIGN_RACE(&latest, sizeof(latest));
	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	SK_TEST_BENIGN_RACE(&weak_hits, sizeof(weak_hits));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_handle_table_init(&tab, dtor, NULL);
	sk_handle_table_init(&one, dtor, NULL);
	sk_check(sk__handle_table_set_limits(&one, SK_HANDLE_GENERATIONS, 1) == 0, "limits");
	window();
	sk_handle_table_destroy(&one);
	rounds = as_it_comes(rounds);
	sk_check(sk_violation_total() == 0, "%lu violations (refcount_underflow: %lu)",
		 sk_violation_total(), sk_violation_count(SK_VIOLATION_REFCOUNT_UNDERFLOW));
	sk_check(sk_handle_table_count(&tab) == 0, "%llu objects left",
		 (unsigned long long)sk_handle_table_count(&tab));
	sk_handle_table_destroy(&tab);
	sk_check(sk_violation_total() == 0, "destroy reported %lu", sk_violation_total());
	sk_check(sk_handle_owner_destroy(&owner) == 0, "owner destroy");
	printf("handle-weak-stress: the held-open window, then %llu rounds against a weak "
	       "holder (%lu of its lookups succeeded), %lu destructor calls, no reports\n",
	       (unsigned long long)rounds, weak_hits, dtor_calls);
	return 0;
}
