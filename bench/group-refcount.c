/* SPDX-License-Identifier: MIT */
/*
 * bench/group-refcount.c - the "refcount" groups: one get + put pair per
 * operation (inc, then dec_and_test on a counter held at 1 by its owner, so
 * the put is never the last), on one thread ("refcount") and on two threads
 * hammering the same counter ("refcount.2t").
 *
 *   raw                 unchecked atomic_fetch_add (relaxed) /
 *                       atomic_fetch_sub (release) == 1: the baseline
 *   kernel_checked_raw  the same pair with the kernel's checks on the old
 *                       value, hand-written (bench/raw/refcount.h)
 *   sk_refcount.LEVEL   sk_refcount_inc() + sk_refcount_dec_and_test()
 *   sk_kref.LEVEL       sk_kref_get() + sk_kref_put()
 *   urcu_ref            liburcu's urcu_ref_get() + urcu_ref_put()
 *   cas_loop            check-then-increment CAS loop + checked fetch_sub
 *
 * The "refcount.dec_and_lock" groups: the same get + put pair, where the
 * put is the kind that takes a lock when it drops the last reference (never
 * here: the owner holds one), so what is measured is the lock-free path
 * every put that is not the last takes:
 *
 *   raw                 atomic increment + a hand-written unchecked
 *                       refcount_dec_and_mutex_lock() (CAS loop; pthread
 *                       mutex on the last reference): the baseline
 *   locked_put          atomic increment + every put under a pthread mutex
 *                       (what is written without dec_and_lock)
 *   sk_refcount_mutex.LEVEL  sk_refcount_inc() + sk_refcount_dec_and_mutex_lock()
 *   sk_refcount_spin.LEVEL   sk_refcount_inc() + sk_refcount_dec_and_lock()
 *   sk_kref_put_mutex.LEVEL  sk_kref_get() + sk_kref_put_mutex()
 */
#include <stdlib.h>
#include <string.h>

#include <safekern/compiler.h>
#include <safekern/kref.h>
#include <safekern/lock.h>
#include <safekern/refcount.h>

#include "bench.h"
#include "raw/refcount.h"

#if defined(SK_BENCH_HAVE_URCU) && !defined(SK_DEBUG)
#include <urcu/ref.h>
#endif

/*
 * One counter on its own cache line, shared by the threads of a case.
 * Each sample starts it at 1: the owner's reference.
 */
union counter {
	atomic_int raw;
	sk_refcount_t sk;
	struct sk_kref kref;
#if defined(SK_BENCH_HAVE_URCU) && !defined(SK_DEBUG)
	struct urcu_ref urcu;
#endif
	char pad[SK_CACHELINE_SIZE];
} SK_CACHELINE_ALIGNED;

static union counter counter;

static void *counter_setup(const struct sk_bench_case *c)
{
	(void)c;
	memset(&counter, 0, sizeof(counter));
#if defined(SK_BENCH_HAVE_URCU) && !defined(SK_DEBUG)
	if (!strncmp(c->name, "urcu", 4)) {
		urcu_ref_init(&counter.urcu);
		return &counter;
	}
#endif
	sk_refcount_set(&counter.sk, 1);
	return &counter;
}

/* The put is never the last one here; reaching zero is a harness bug. */
static SK_NOINLINE SK_COLD void last_put(void *p)
{
	(void)p;
	abort();
}

static void kref_last_put(struct sk_kref *k)
{
	last_put(k);
}

#define PAIR_CASE(ident, label, base, body)                                   \
	static void run_##ident(struct sk_bench_thread *t)                    \
	{                                                                     \
		union counter *c = t->state;                                  \
		for (uint64_t i = 0; i < t->iters; i++) {                     \
			body;                                                 \
		}                                                             \
		t->sink = (uint64_t)sk_refcount_read(&c->sk);                 \
	}                                                                     \
	SK_BENCH_CASE(ident##_1t, .group = "refcount", .name = label,         \
		      .baseline = base, .setup = counter_setup,               \
		      .run = run_##ident)                                     \
	SK_BENCH_CASE(ident##_2t, .group = "refcount.2t", .name = label,      \
		      .baseline = base, .threads = 2, .setup = counter_setup, \
		      .run = run_##ident)

#ifndef SK_DEBUG
PAIR_CASE(raw, "raw", true, {
	raw_ref_get(&c->raw);
	if (raw_ref_put(&c->raw))
		last_put(c);
})

PAIR_CASE(kraw, "kernel_checked_raw", false, {
	kraw_ref_get(&c->raw);
	if (kraw_ref_put(&c->raw))
		last_put(c);
})
#endif

PAIR_CASE(sk, "sk_refcount." SK_BENCH_LEVEL, false, {
	sk_refcount_inc(&c->sk);
	if (sk_refcount_dec_and_test(&c->sk))
		last_put(c);
})

PAIR_CASE(kref, "sk_kref." SK_BENCH_LEVEL, false, {
	sk_kref_get(&c->kref);
	sk_kref_put(&c->kref, kref_last_put);
})

#ifndef SK_DEBUG
#ifdef SK_BENCH_HAVE_URCU
static void urcu_last_put(struct urcu_ref *ref)
{
	last_put(ref);
}

PAIR_CASE(urcu, "urcu_ref", false, {
	urcu_ref_get(&c->urcu);
	urcu_ref_put(&c->urcu, urcu_last_put);
})
#endif

PAIR_CASE(cas, "cas_loop", false, {
	cas_ref_get(&c->raw);
	if (cas_ref_put(&c->raw))
		last_put(c);
})
#endif

/* ------------------------------------------------------------------------
 * refcount.dec_and_lock
 * ------------------------------------------------------------------------ */

/* The lookup structure's locks, on their own line beside the counter. */
static struct {
	pthread_mutex_t raw;
	struct sk_mutex m;
	struct sk_spinlock l;
} SK_CACHELINE_ALIGNED locks;

static void *locked_setup(const struct sk_bench_case *c)
{
	pthread_mutex_init(&locks.raw, NULL);
	sk_mutex_init(&locks.m);
	sk_spin_lock_init(&locks.l);
	return counter_setup(c);
}

static void locked_teardown(void *state)
{
	(void)state;
	pthread_mutex_destroy(&locks.raw);
	sk_mutex_destroy(&locks.m);
	sk_spin_lock_destroy(&locks.l);
}

/* Never reached (the owner's reference keeps the count above 1). */
static void kref_last_put_locked(struct sk_kref *k)
{
	sk_lockdep_assert_held(&locks.m);
	sk_mutex_unlock(&locks.m);
	last_put(k);
}

#define LOCK_CASE(ident, label, base, body)                                   \
	static void run_##ident(struct sk_bench_thread *t)                    \
	{                                                                     \
		union counter *c = t->state;                                  \
		for (uint64_t i = 0; i < t->iters; i++) {                     \
			body;                                                 \
		}                                                             \
		t->sink = (uint64_t)sk_refcount_read(&c->sk);                 \
	}                                                                     \
	SK_BENCH_CASE(ident##_1t, .group = "refcount.dec_and_lock", .name = label, \
		      .baseline = base, .setup = locked_setup,                \
		      .teardown = locked_teardown, .run = run_##ident)        \
	SK_BENCH_CASE(ident##_2t, .group = "refcount.dec_and_lock.2t", .name = label, \
		      .baseline = base, .threads = 2, .setup = locked_setup,  \
		      .teardown = locked_teardown, .run = run_##ident)

#ifndef SK_DEBUG
LOCK_CASE(lraw, "raw", true, {
	raw_ref_get(&c->raw);
	if (raw_dec_and_mutex_lock(&c->raw, &locks.raw)) {
		pthread_mutex_unlock(&locks.raw);
		last_put(c);
	}
})

LOCK_CASE(llocked, "locked_put", false, {
	raw_ref_get(&c->raw);
	if (raw_locked_put(&c->raw, &locks.raw)) {
		pthread_mutex_unlock(&locks.raw);
		last_put(c);
	}
})
#endif

LOCK_CASE(lskm, "sk_refcount_mutex." SK_BENCH_LEVEL, false, {
	sk_refcount_inc(&c->sk);
	if (sk_refcount_dec_and_mutex_lock(&c->sk, &locks.m)) {
		sk_mutex_unlock(&locks.m);
		last_put(c);
	}
})

LOCK_CASE(lsks, "sk_refcount_spin." SK_BENCH_LEVEL, false, {
	sk_refcount_inc(&c->sk);
	if (sk_refcount_dec_and_lock(&c->sk, &locks.l)) {
		sk_spin_unlock(&locks.l);
		last_put(c);
	}
})

LOCK_CASE(lkref, "sk_kref_put_mutex." SK_BENCH_LEVEL, false, {
	sk_kref_get(&c->kref);
	sk_kref_put_mutex(&c->kref, kref_last_put_locked, &locks.m);
})
