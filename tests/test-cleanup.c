/* SPDX-License-Identifier: MIT */
/*
 * tests/test-cleanup.c - scope-based cleanup: sk_free() frees on every exit
 * path (the allocations here go through libc malloc, so memcheck sees any
 * leak), sk_no_free_ptr() and sk_return_ptr() hand ownership out, classes
 * run their exit statement, and every lock guard releases on every exit
 * path: end of scope, early return, break, continue, goto out of the
 * scope; conditional guards run their block only when they got the lock.
 */
#include <pthread.h>
#include <stdlib.h>

#include <safekern/cleanup.h>
#include <safekern/lock.h>

#include "sk-test.h"

TestSuite(cleanup, .init = sk_test_count_policy);

/* ------------------------------------------------------------------------
 * sk_free
 * ------------------------------------------------------------------------ */

static int frees;

static void *counted_alloc(size_t n)
{
	return malloc(n);
}

static void counted_free(void *p)
{
	if (p)
		frees++;
	free(p);
}

SK_DEFINE_FREE(test_free, void *, if (_T) counted_free(_T))
SK_DEFINE_FREE(test_free_int, int *, counted_free(_T))

static int exits(int how)
{
	char *a sk_free(test_free) = counted_alloc(16);
	int *b sk_free(test_free_int) = counted_alloc(sizeof(int));

	cr_assert(a && b);
	*b = how;
	if (how == 0)
		return 0;
	for (int i = 0; i < 3; i++) {
		char *inner sk_free(test_free) = counted_alloc(8);

		cr_assert_not_null(inner);
		if (how == 1 && i == 1)
			return 1; /* frees inner, b, a */
		if (how == 2 && i == 1)
			break; /* frees inner only, here */
		if (how == 3)
			continue; /* frees inner every round */
	}
	if (how == 4)
		goto out;
	return *b;
out:
	return 40;
}

Test(cleanup, free_on_every_exit_path)
{
	frees = 0;
	cr_assert_eq(exits(0), 0);
	cr_assert_eq(frees, 2);
	frees = 0;
	cr_assert_eq(exits(1), 1);
	cr_assert_eq(frees, 4, "return from a loop: inner + 2");
	frees = 0;
	cr_assert_eq(exits(2), 2);
	cr_assert_eq(frees, 4, "break: 2 inner + 2");
	frees = 0;
	cr_assert_eq(exits(3), 3);
	cr_assert_eq(frees, 5, "continue: 3 inner + 2");
	frees = 0;
	cr_assert_eq(exits(4), 40);
	cr_assert_eq(frees, 5, "goto out of scope");
}

static int *make(int v)
{
	int *p sk_free(test_free_int) = counted_alloc(sizeof(int));

	if (!p)
		return NULL;
	*p = v;
	if (v < 0)
		return NULL; /* error path: freed */
	sk_return_ptr(p);
}

Test(cleanup, return_ptr_hands_ownership_out)
{
	int *p;

	frees = 0;
	p = make(7);
	cr_assert_not_null(p);
	cr_assert_eq(*p, 7);
	cr_assert_eq(frees, 0, "the caller owns it now");
	counted_free(p);
	cr_assert_null(make(-1));
	cr_assert_eq(frees, 2);
}

Test(cleanup, no_free_ptr_leaves_null_behind)
{
	int *kept;

	frees = 0;
	{
		int *p sk_free(test_free_int) = counted_alloc(sizeof(int));

		kept = sk_no_free_ptr(p);
		cr_assert_null(p);
	}
	cr_assert_eq(frees, 0);
	counted_free(kept);
	cr_assert_eq(frees, 1);
}

/* ------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------ */

struct ref {
	int count;
};

SK_DEFINE_CLASS(ref, struct ref *, if (_T) _T->count--, ({ r->count++; r; }), struct ref *r)

static int use_ref(struct ref *r, int early)
{
	SK_CLASS(ref, held)(r);

	cr_assert_eq(held->count, 1);
	if (early)
		return 1;
	return 0;
}

Test(cleanup, class_runs_exit_on_every_path)
{
	struct ref r = { 0 };

	use_ref(&r, 1);
	cr_assert_eq(r.count, 0);
	use_ref(&r, 0);
	cr_assert_eq(r.count, 0);
}

/* ------------------------------------------------------------------------
 * Lock guards
 * ------------------------------------------------------------------------ */

static struct sk_mutex m;
static struct sk_spinlock s;
static struct sk_rwlock rw;
static int data;

static void init_locks(void)
{
	sk_mutex_init(&m);
	sk_spin_lock_init(&s);
	sk_rwlock_init(&rw);
}

/* Is the lock free?  Asked from another thread, so that a lock held by
 * this thread is seen as held. */
static void *probe_main(void *arg)
{
	int *free_ = arg;
	int mf = 0, sf = 0, wf = 0;

	if (sk_mutex_trylock(&m)) {
		mf = 1;
		sk_mutex_unlock(&m);
	}
	if (sk_spin_trylock(&s)) {
		sf = 1;
		sk_spin_unlock(&s);
	}
	if (sk_write_trylock(&rw)) {
		wf = 1;
		sk_write_unlock(&rw);
	}
	*free_ = mf | sf << 1 | wf << 2;
	return NULL;
}

/* Bit 0: mutex free, 1: spinlock free, 2: rwlock free. */
static int locks_free(void)
{
	pthread_t t;
	int r = -1;

	pthread_create(&t, NULL, probe_main, &r);
	pthread_join(t, NULL);
	return r;
}

#define ALL_FREE 7

static int guard_paths(int how)
{
	sk_guard(mutex)(&m);
	sk_guard(spinlock)(&s);

	cr_assert_eq(locks_free(), 4, "mutex and spinlock held");
	if (how == 0)
		return 0; /* early return */
	for (int i = 0; i < 3; i++) {
		sk_guard(write_lock)(&rw);

		cr_assert_eq(locks_free(), 0);
		if (how == 1)
			return 1; /* from inside a loop */
		if (how == 2)
			break;
		if (how == 3)
			continue;
	}
	cr_assert_eq(locks_free(), 4, "the write guard ended with its block");
	if (how == 4)
		goto out;
	data++;
	return how;
out:
	return 40;
}

Test(cleanup, guards_release_on_every_exit_path)
{
	init_locks();
	for (int how = 0; how <= 5; how++) {
		guard_paths(how);
		cr_assert_eq(locks_free(), ALL_FREE, "path %d left a lock held", how);
	}
	cr_assert_eq(sk_violation_total(), 0UL);
}

static int scoped(int how)
{
	int ran = 0;

	sk_scoped_guard(mutex, &m) {
		ran++;
		cr_assert_eq(locks_free() & 1, 0);
		if (how == 1)
			return -1;
		if (how == 2)
			break;
		if (how == 3)
			continue;
		ran++;
	}
	cr_assert_eq(locks_free(), ALL_FREE, "the block's end releases");
	sk_scoped_guard(spinlock, &s) {
		ran++;
		sk_scoped_guard(read_lock, &rw) {
			ran++;
			cr_assert_eq(locks_free(), 1, "spin and read held, mutex free");
		}
		cr_assert_eq(locks_free(), 5);
	}
	sk_scoped_guard(write_lock, &rw)
		ran++;
	return ran;
}

Test(cleanup, scoped_guard_runs_once_and_releases)
{
	init_locks();
	cr_assert_eq(scoped(0), 5);
	cr_assert_eq(scoped(1), -1);
	cr_assert_eq(locks_free(), ALL_FREE);
	cr_assert_eq(scoped(2), 4);
	cr_assert_eq(scoped(3), 4);
	cr_assert_eq(sk_violation_total(), 0UL);
}

/* Holds every lock on another thread until released. */
static pthread_barrier_t taken, release;

SK_NO_THREAD_SAFETY_ANALYSIS static void *holder_main(void *arg)
{
	(void)arg;
	sk_mutex_lock(&m);
	sk_spin_lock(&s);
	sk_write_lock(&rw);
	pthread_barrier_wait(&taken);
	pthread_barrier_wait(&release);
	sk_write_unlock(&rw);
	sk_spin_unlock(&s);
	sk_mutex_unlock(&m);
	return NULL;
}

static int try_guards(void)
{
	int ran = 0;

	sk_scoped_guard(mutex_try, &m)
		ran |= 1;
	sk_scoped_guard(spinlock_try, &s)
		ran |= 2;
	sk_scoped_guard(read_lock_try, &rw)
		ran |= 4;
	sk_scoped_guard(write_lock_try, &rw)
		ran |= 8;
	return ran;
}

static int cond_guard(void)
{
	sk_scoped_cond_guard(mutex_try, return -16, &m) {
		cr_assert_eq(locks_free() & 1, 0);
		return 16;
	}
	return 0;
}

Test(cleanup, conditional_guards)
{
	pthread_t t;

	init_locks();
	cr_assert_eq(try_guards(), 15, "all free: every block runs");
	cr_assert_eq(locks_free(), ALL_FREE);
	cr_assert_eq(cond_guard(), 16);
	cr_assert_eq(locks_free(), ALL_FREE);

	pthread_barrier_init(&taken, NULL, 2);
	pthread_barrier_init(&release, NULL, 2);
	pthread_create(&t, NULL, holder_main, NULL);
	pthread_barrier_wait(&taken);
	cr_assert_eq(try_guards(), 0, "all held elsewhere: no block runs");
	cr_assert_eq(cond_guard(), -16, "the fail statement ran");
	pthread_barrier_wait(&release);
	pthread_join(t, NULL);
	cr_assert_eq(locks_free(), ALL_FREE);
	cr_assert_eq(sk_violation_total(), 0UL);
}

/* A guard for another lock type, defined with SK_DEFINE_GUARD. */
struct plain_lock {
	pthread_mutex_t mu;
	int locked, unlocked;
};

SK_DEFINE_GUARD(plain, struct plain_lock *, (pthread_mutex_lock(&_T->mu), _T->locked++),
		(_T->unlocked++, pthread_mutex_unlock(&_T->mu)))
SK_DEFINE_GUARD_COND(plain, _try, pthread_mutex_trylock(&_T->mu) == 0 && ++_T->locked)

static int user_guard(struct plain_lock *pl, int early)
{
	sk_guard(plain)(pl);
	if (early)
		return 1;
	sk_scoped_guard(plain_try, pl)
		cr_assert_fail("the lock is held by this scope's guard");
	return 0;
}

Test(cleanup, user_defined_guard)
{
	struct plain_lock pl = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	int ran = 0;

	user_guard(&pl, 1);
	user_guard(&pl, 0);
	cr_assert_eq(pl.locked, 2);
	cr_assert_eq(pl.unlocked, 2);
	sk_scoped_guard(plain_try, &pl)
		ran = 1;
	cr_assert_eq(ran, 1);
	cr_assert_eq(pl.locked, 3);
	cr_assert_eq(pl.unlocked, 3);
	sk_scoped_cond_guard(plain_try, cr_assert_fail("free lock"), &pl)
		ran = 2;
	cr_assert_eq(ran, 2);
	cr_assert_eq(pl.unlocked, 4);
}

/* A guard's report names the guard's line (the constructor is a macro). */
static struct sk_test_report seen;

/* The misuse is deliberate: clang's analysis flags a scoped guard of a
 * held lock (since the guards' exit ends its hold of the lock). */
SK_NO_THREAD_SAFETY_ANALYSIS static int relock_in_guard(void)
{
	int line;

	sk_mutex_lock(&m);
	line = __LINE__ + 1;
	sk_scoped_guard(mutex, &m) { /* relock: refused, one report */
	}
	sk_mutex_unlock(&m);
	return line;
}

Test(cleanup, guard_reports_name_the_guard_line)
{
	int line;

	init_locks();
	sk_test_record_start(&seen);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION, line = relock_in_guard());
	sk_test_record_stop();
	cr_assert_eq(seen.line, (unsigned int)line);
	cr_assert_eq(locks_free(), ALL_FREE, "the absorbed unlock kept the pairing");
}
