/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/locks.h - the raw-C baselines of the "locks" groups: pthread
 * locks taken and released as a C programmer writes it, no checks.  Depth
 * N takes N distinct locks in order and releases them in reverse.
 */
#ifndef SK_BENCH_RAW_LOCKS_H
#define SK_BENCH_RAW_LOCKS_H

#include <pthread.h>

#define RAW_LOCKS_MAX 4

struct raw_locks {
	pthread_mutex_t m[RAW_LOCKS_MAX];
	pthread_spinlock_t s[RAW_LOCKS_MAX];
	pthread_rwlock_t rw[RAW_LOCKS_MAX];
};

static inline void raw_locks_init(struct raw_locks *r)
{
	for (int i = 0; i < RAW_LOCKS_MAX; i++) {
		pthread_mutex_init(&r->m[i], NULL);
		pthread_spin_init(&r->s[i], PTHREAD_PROCESS_PRIVATE);
		pthread_rwlock_init(&r->rw[i], NULL);
	}
}

static inline __attribute__((always_inline)) void raw_mutex_nest(struct raw_locks *r, unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		pthread_mutex_lock(&r->m[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		pthread_mutex_unlock(&r->m[i]);
}

static inline __attribute__((always_inline)) void raw_spin_nest(struct raw_locks *r, unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		pthread_spin_lock(&r->s[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		pthread_spin_unlock(&r->s[i]);
}

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
/* The same pthread spinlock words taken and released inline, with glibc's
 * own x86 encoding (1 free; compare-and-swap to 0; store 1): no call, no
 * check.  What the library's inline fast path does around its checks. */
#define RAW_SPIN_INLINE 1
static inline __attribute__((always_inline)) void raw_spin_inline_nest(struct raw_locks *r,
									unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++) {
		int free_ = 1;

		while (!__atomic_compare_exchange_n(&r->s[i], &free_, 0, 0, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
			free_ = 1;
	}
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		__atomic_store_n(&r->s[i], 1, __ATOMIC_RELEASE);
}
#endif

static inline __attribute__((always_inline)) void raw_wrlock_nest(struct raw_locks *r, unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		pthread_rwlock_wrlock(&r->rw[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		pthread_rwlock_unlock(&r->rw[i]);
}

static inline __attribute__((always_inline)) void raw_rdlock_nest(struct raw_locks *r, unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		pthread_rwlock_rdlock(&r->rw[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		pthread_rwlock_unlock(&r->rw[i]);
}

#endif
