/* SPDX-License-Identifier: MIT */
/*
 * bench/group-locks.c - the "locks" groups: uncontended lock+unlock.
 *
 *   locks.<type>.dN    N distinct locks taken in order and released in
 *                      reverse (N = 1, 2, 4), for mutex, spin, wrlock
 *                      (rwlock write side) and rdlock (read side): raw
 *                      pthread (baseline), sk hardened (validator off),
 *                      sk debug (validator on, chain cache warm).  One op
 *                      = one lock + one unlock.
 *   locks.cs.<type>    the same at depth 1 with a counter increment inside
 *                      (a critical section that touches memory, as real
 *                      ones do).
 *   locks.switch.mtx   the cost of the validator's off switch alone: raw
 *   locks.switch.spn   pthread lock+unlock with and without the one
 *                      predicted branch the library adds on a global flag.
 *
 * Measured in a multi-threaded process: glibc drops the lock prefix of its
 * mutexes while a process has one thread (2.4 ns instead of 12 here),
 * which no program that needs a lock sees; sk_bench_main() starts and
 * joins a thread before any case runs.
 *
 * The validator is process-wide and a -DSK_DEBUG unit turns it on at load
 * (this program links both levels of every group): sk-bench turns it off
 * at start (unless SAFEKERN_LOCKDEP is set), the debug cases here turn it
 * on in their setup and off in their teardown.
 */
#include <pthread.h>
#include <stdlib.h>

#include <safekern/compiler.h>
#include <safekern/lock.h>

#include "bench.h"
#include "raw/locks.h"

#define NT SK_NO_THREAD_SAFETY_ANALYSIS

static struct raw_locks raw;
static struct sk_mutex sm[RAW_LOCKS_MAX];
static struct sk_spinlock ss[RAW_LOCKS_MAX];
static struct sk_rwlock srw[RAW_LOCKS_MAX];
static struct sk_lock_class_key keys[3][RAW_LOCKS_MAX];
static SK_UNUSED unsigned long counter;

NT static SK_ALWAYS_INLINE void skn_mutex_nest(unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		sk_mutex_lock(&sm[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		sk_mutex_unlock(&sm[i]);
}

NT static SK_ALWAYS_INLINE void skn_spin_nest(unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		sk_spin_lock(&ss[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		sk_spin_unlock(&ss[i]);
}

NT static SK_ALWAYS_INLINE void skn_wrlock_nest(unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		sk_write_lock(&srw[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		sk_write_unlock(&srw[i]);
}

NT static SK_ALWAYS_INLINE void skn_rdlock_nest(unsigned int depth)
{
#pragma GCC unroll 4
	for (unsigned int i = 0; i < depth; i++)
		sk_read_lock(&srw[i]);
#pragma GCC unroll 4
	for (unsigned int i = depth; i-- > 0;)
		sk_read_unlock(&srw[i]);
}

static void prepare(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	raw_locks_init(&raw);
	for (int i = 0; i < RAW_LOCKS_MAX; i++) {
		sk_mutex_init(&sm[i]);
		sk_spin_lock_init(&ss[i]);
		sk_rwlock_init(&srw[i]);
		/* Distinct classes, so that nesting is an order, not a recursion. */
		sk_lockdep_set_class(&sm[i], &keys[0][i]);
		sk_lockdep_set_class(&ss[i], &keys[1][i]);
		sk_lockdep_set_class(&srw[i], &keys[2][i]);
	}
}

#ifdef SK_DEBUG
/* Validator on, every pattern of the group seen once: the chain cache is
 * warm, as in a program's steady state. */
static void *setup(const struct sk_bench_case *c)
{
	(void)c;
	prepare();
	if (sk_lockdep_enable())
		return NULL;
	for (unsigned int d = 1; d <= RAW_LOCKS_MAX; d++) {
		skn_mutex_nest(d);
		skn_spin_nest(d);
		skn_wrlock_nest(d);
		skn_rdlock_nest(d);
	}
	return &raw;
}

static void teardown(void *state)
{
	(void)state;
	(void)sk_lockdep_disable();
}

#define TEARDOWN teardown
#else
static void *setup(const struct sk_bench_case *c)
{
	(void)c;
	prepare();
	(void)sk_lockdep_disable();
	return &raw;
}

#define TEARDOWN NULL

/* sk-bench measures each case at its own level (see the top of the file). */
__attribute__((constructor)) static void validator_off_in_sk_bench(void)
{
	if (!getenv("SAFEKERN_LOCKDEP"))
		(void)sk_lockdep_disable();
}
#endif

/* ------------------------------------------------------------------------
 * Nesting depth 1, 2, 4
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
#define RAW_CASE(type, d)                                                     \
	static void run_raw_##type##_##d(struct sk_bench_thread *t)           \
	{                                                                     \
		for (uint64_t i = 0; i < t->iters; i++)                       \
			raw_##type##_nest(&raw, d);                           \
	}                                                                     \
	SK_BENCH_CASE(case_raw_##type##_##d, .group = "locks." #type ".d" #d, \
		      .name = "raw pthread", .baseline = true, .ops_per_iter = d, \
		      .setup = setup, .run = run_raw_##type##_##d)
#else
#define RAW_CASE(type, d)
#endif

#define SK_CASE(type, d)                                                      \
	static void run_sk_##type##_##d(struct sk_bench_thread *t)            \
	{                                                                     \
		for (uint64_t i = 0; i < t->iters; i++)                       \
			skn_##type##_nest(d);                                  \
	}                                                                     \
	SK_BENCH_CASE(case_sk_##type##_##d, .group = "locks." #type ".d" #d,  \
		      .name = "sk " SK_BENCH_LEVEL, .ops_per_iter = d, .setup = setup, \
		      .teardown = TEARDOWN, .run = run_sk_##type##_##d)

#define DEPTH_CASES(type)                                                     \
	RAW_CASE(type, 1)                                                     \
	SK_CASE(type, 1)                                                      \
	RAW_CASE(type, 2)                                                     \
	SK_CASE(type, 2)                                                      \
	RAW_CASE(type, 4)                                                     \
	SK_CASE(type, 4)

DEPTH_CASES(mutex)
DEPTH_CASES(spin)

/* Not baselines: the spinlock and mutex words taken inline with no checks
 * (as lock.h's fast paths take them on glibc x86, without the owner
 * word), so the report shows what the checks cost apart from the calls
 * saved. */
#if !defined(SK_DEBUG) && defined(RAW_SPIN_INLINE)
#define INLINE_CASE(type, d)                                                  \
	static void run_inline_##type##_##d(struct sk_bench_thread *t)        \
	{                                                                     \
		for (uint64_t i = 0; i < t->iters; i++)                       \
			raw_##type##_inline_nest(&raw, d);                    \
	}                                                                     \
	SK_BENCH_CASE(case_inline_##type##_##d, .group = "locks." #type ".d" #d, \
		      .name = "raw inline CAS", .ops_per_iter = d, .setup = setup, \
		      .run = run_inline_##type##_##d)
INLINE_CASE(mutex, 1)
INLINE_CASE(mutex, 2)
INLINE_CASE(mutex, 4)
INLINE_CASE(spin, 1)
INLINE_CASE(spin, 2)
INLINE_CASE(spin, 4)
#endif
DEPTH_CASES(wrlock)
DEPTH_CASES(rdlock)

/* ------------------------------------------------------------------------
 * A critical section that touches memory (hardened vs raw only)
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static void run_cs_raw_mutex(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_mutex_lock(&raw.m[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		pthread_mutex_unlock(&raw.m[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_raw_mutex, .group = "locks.cs.mutex", .name = "raw pthread",
	      .baseline = true, .setup = setup, .run = run_cs_raw_mutex)

static void run_cs_sk_mutex(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		sk_mutex_lock(&sm[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		sk_mutex_unlock(&sm[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_sk_mutex, .group = "locks.cs.mutex", .name = "sk hardened",
	      .setup = setup, .run = run_cs_sk_mutex)

static void run_cs_raw_spin(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_spin_lock(&raw.s[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		pthread_spin_unlock(&raw.s[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_raw_spin, .group = "locks.cs.spin", .name = "raw pthread",
	      .baseline = true, .setup = setup, .run = run_cs_raw_spin)

static void run_cs_sk_spin(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		sk_spin_lock(&ss[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		sk_spin_unlock(&ss[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_sk_spin, .group = "locks.cs.spin", .name = "sk hardened",
	      .setup = setup, .run = run_cs_sk_spin)

static void run_cs_raw_wrlock(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_rwlock_wrlock(&raw.rw[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		pthread_rwlock_unlock(&raw.rw[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_raw_wrlock, .group = "locks.cs.wrlock", .name = "raw pthread",
	      .baseline = true, .setup = setup, .run = run_cs_raw_wrlock)

static void run_cs_sk_wrlock(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		sk_write_lock(&srw[0]);
		SK_WRITE_ONCE(counter, SK_READ_ONCE(counter) + 1);
		sk_write_unlock(&srw[0]);
	}
	t->sink = counter;
}
SK_BENCH_CASE(case_cs_sk_wrlock, .group = "locks.cs.wrlock", .name = "sk hardened",
	      .setup = setup, .run = run_cs_sk_wrlock)

/* ------------------------------------------------------------------------
 * The off switch alone: one predicted branch on a global flag before the
 * lock, as sk__mutex_lock() and sk__spin_lock() have it.
 * ------------------------------------------------------------------------ */

static int switch_flag;

static SK_COLD SK_NOINLINE void switch_slow(void)
{
	sk_bench_clobber();
}

static void *setup_switch(const struct sk_bench_case *c)
{
	int off = 0;

	sk_bench_opaque(off); /* the compiler cannot prove the flag stays 0 */
	SK_WRITE_ONCE(switch_flag, off);
	return setup(c);
}

static void run_switch_raw_mutex(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_mutex_lock(&raw.m[0]);
		pthread_mutex_unlock(&raw.m[0]);
	}
}
SK_BENCH_CASE(case_switch_raw_mutex, .group = "locks.switch.mtx", .name = "raw pthread",
	      .baseline = true, .setup = setup_switch, .run = run_switch_raw_mutex)

static void run_switch_flag_mutex(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		if (sk_unlikely(SK_READ_ONCE(switch_flag)))
			switch_slow();
		pthread_mutex_lock(&raw.m[0]);
		pthread_mutex_unlock(&raw.m[0]);
	}
}
SK_BENCH_CASE(case_switch_flag_mutex, .group = "locks.switch.mtx", .name = "raw + off switch",
	      .setup = setup_switch, .run = run_switch_flag_mutex)

static void run_switch_raw_spin(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_spin_lock(&raw.s[0]);
		pthread_spin_unlock(&raw.s[0]);
	}
}
SK_BENCH_CASE(case_switch_raw_spin, .group = "locks.switch.spn", .name = "raw pthread",
	      .baseline = true, .setup = setup_switch, .run = run_switch_raw_spin)

static void run_switch_flag_spin(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		if (sk_unlikely(SK_READ_ONCE(switch_flag)))
			switch_slow();
		pthread_spin_lock(&raw.s[0]);
		pthread_spin_unlock(&raw.s[0]);
	}
}
SK_BENCH_CASE(case_switch_flag_spin, .group = "locks.switch.spn", .name = "raw + off switch",
	      .setup = setup_switch, .run = run_switch_flag_spin)
#endif
