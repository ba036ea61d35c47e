/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/locks.h - the raw-C baselines of the "locks" groups: pthread
 * locks taken and released as a C programmer writes it, no checks.  Depth
 * N takes N distinct locks in order and releases them in reverse.
 */
#ifndef SK_BENCH_RAW_LOCKS_H
#define SK_BENCH_RAW_LOCKS_H

#include <pthread.h>
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

/* The same pthread mutex words taken and released inline, with glibc's
 * futex protocol (0 free, 1 locked, 2 locked with waiters): a
 * compare-and-swap of 0 to 1, an exchange of 0 that wakes a waiter if it
 * found 2; a busy lock waits in pthread_mutex_lock().  No call (when
 * free), no check; of glibc's owner and user bookkeeping, what lock.h
 * keeps (the unlock clears the owner field). */
static __attribute__((noinline, cold)) void raw_mutex_wake(pthread_mutex_t *m)
{
	syscall(SYS_futex, &m->__data.__lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline __attribute__((always_inline)) void raw_mutex_inline_nest(struct raw_locks *r,
									 unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++) {
		int free_ = 0;

		if (!__atomic_compare_exchange_n(&r->m[i].__data.__lock, &free_, 1, 0,
						 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			pthread_mutex_lock(&r->m[i]);
			r->m[i].__data.__nusers--;
		}
	}
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;) {
		r->m[i].__data.__owner = 0;
		if (__atomic_exchange_n(&r->m[i].__data.__lock, 0, __ATOMIC_RELEASE) > 1)
			raw_mutex_wake(&r->m[i]);
	}
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
