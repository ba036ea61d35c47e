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
