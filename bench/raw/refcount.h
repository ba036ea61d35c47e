/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/refcount.h - hand-written C baselines of the "refcount" group.
 *
 * raw_ref_get/raw_ref_put: the unchecked atomic pair a C programmer writes
 * (relaxed increment, release decrement, acquire fence on the last put).
 *
 * kraw_ref_get/kraw_ref_put: the same pair with the kernel's after-the-fact
 * checks written the straightforward way, on the old value returned by
 * fetch_add/fetch_sub (lib/refcount.c's generic refcount_t, v5.5+): the
 * reference for "what do the checks cost".
 *
 * cas_ref_get/cas_ref_put: check-then-increment in a compare-and-swap loop
 * (the pattern of GLib's g_atomic_ref_count and liburcu's urcu_ref_get): the
 * counter is never modified when it is bad, at the price of a CAS loop.
 */
#ifndef SK_BENCH_RAW_REFCOUNT_H
#define SK_BENCH_RAW_REFCOUNT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

static inline void raw_ref_get(atomic_int *r)
{
	atomic_fetch_add_explicit(r, 1, memory_order_relaxed);
}

static inline bool raw_ref_put(atomic_int *r)
{
	if (atomic_fetch_sub_explicit(r, 1, memory_order_release) == 1) {
		atomic_thread_fence(memory_order_acquire);
		return true;
	}
	return false;
}

/* The cold path of the checked baselines: saturate (never called here). */
__attribute__((cold, noinline)) static void raw_ref_saturate(atomic_int *r, int type)
{
	atomic_store_explicit(r, INT_MIN / 2, memory_order_relaxed);
	__asm__ volatile("" : : "r"(type) : "memory");
}

static inline void kraw_ref_get(atomic_int *r)
{
	int old = atomic_fetch_add_explicit(r, 1, memory_order_relaxed);

	if (__builtin_expect(!old, 0))
		raw_ref_saturate(r, 1);
	else if (__builtin_expect(old < 0 || (int)((unsigned int)old + 1u) < 0, 0))
		raw_ref_saturate(r, 2);
}

static inline bool kraw_ref_put(atomic_int *r)
{
	int old = atomic_fetch_sub_explicit(r, 1, memory_order_release);

	if (old > 0 && old == 1) {
		atomic_thread_fence(memory_order_acquire);
		return true;
	}
	if (__builtin_expect(old <= 0 || (int)((unsigned int)old - 1u) < 0, 0))
		raw_ref_saturate(r, 3);
	return false;
}

static inline void cas_ref_get(atomic_int *r)
{
	int old = atomic_load_explicit(r, memory_order_relaxed);

	do {
		if (__builtin_expect(old <= 0 || old == INT_MAX, 0)) {
			raw_ref_saturate(r, 4);
			return;
		}
	} while (!atomic_compare_exchange_weak_explicit(r, &old, old + 1, memory_order_relaxed,
							memory_order_relaxed));
}

static inline bool cas_ref_put(atomic_int *r)
{
	int old = atomic_fetch_sub_explicit(r, 1, memory_order_release);

	if (old == 1) {
		atomic_thread_fence(memory_order_acquire);
		return true;
	}
	if (__builtin_expect(old <= 0, 0))
		raw_ref_saturate(r, 5);
	return false;
}

/*
 * raw_dec_and_mutex_lock: the kernel's refcount_dec_and_mutex_lock()
 * written by hand, unchecked: decrement in a CAS loop unless the count is
 * 1; only then take the pthread mutex and decrement under it.
 */
static inline bool raw_dec_and_mutex_lock(atomic_int *r, pthread_mutex_t *m)
{
	int old = atomic_load_explicit(r, memory_order_relaxed);

	do {
		if (old == 1) {
			pthread_mutex_lock(m);
			if (atomic_fetch_sub_explicit(r, 1, memory_order_acq_rel) == 1)
				return true;
			pthread_mutex_unlock(m);
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(r, &old, old - 1, memory_order_release,
							memory_order_relaxed));
	return false;
}

/* raw_locked_put: what is written without it: every put under the lock. */
static inline bool raw_locked_put(atomic_int *r, pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	if (atomic_fetch_sub_explicit(r, 1, memory_order_release) == 1)
		return true;
	pthread_mutex_unlock(m);
	return false;
}
#endif
