/* SPDX-License-Identifier: MIT */
/*
 * tests/test-kref.c - struct sk_kref: init, read, get, put (release called
 * exactly once, on the last put), get_unless_zero, and misuse: a NULL
 * release function, a put after release, a get on a released kref.
 * Built at both check levels.
 */
#include <pthread.h>
#include <signal.h>

#include <safekern/alloc.h>
#include <safekern/kref.h>
#include <safekern/lock.h>

#include "sk-test.h"

#define SATURATED ((unsigned int)SK_REFCOUNT_SATURATED)

TestSuite(kref, .init = sk_test_count_policy);

struct obj {
	int payload;
	struct sk_kref ref;
};

static unsigned int releases;
static struct obj *released;

/* Counts, but leaves the memory alone: the tests keep using the struct. */
static void count_release(struct sk_kref *kref)
{
	releases++;
	released = sk_container_of(kref, struct obj, ref);
}

static void free_release(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, ref);

	releases++;
	sk_kfree(o);
}

/* A NULL the optimiser cannot see through. */
static void (*opaque_release(void (*fn)(struct sk_kref *)))(struct sk_kref *)
{
	__asm__ volatile("" : "+r"(fn));
	return fn;
}

Test(kref, init_read_static_initialiser)
{
	struct obj o = { .payload = 1, .ref = SK_KREF_INIT(4) };

	cr_assert_eq(sk_kref_read(&o.ref), 4);
	sk_kref_init(&o.ref);
	cr_assert_eq(sk_kref_read(&o.ref), 1);
}

Test(kref, get_put_release_once_on_last_put)
{
	struct obj o = { .payload = 1 };
	int r;

	releases = 0;
	released = NULL;
	sk_kref_init(&o.ref);
	SK_EXPECT_NO_VIOLATION(sk_kref_get(&o.ref));
	SK_EXPECT_NO_VIOLATION(sk_kref_get(&o.ref));
	cr_assert_eq(sk_kref_read(&o.ref), 3);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put(&o.ref, count_release));
	cr_assert_eq(r, 0);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put(&o.ref, count_release));
	cr_assert_eq(r, 0);
	cr_assert_eq(releases, 0);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put(&o.ref, count_release));
	cr_assert_eq(r, 1);
	cr_assert_eq(releases, 1);
	cr_assert_eq(released, &o, "release gets the kref; container_of finds the object");
	cr_assert_eq(sk_kref_read(&o.ref), 0);
}

Test(kref, release_frees_heap_object)
{
	struct obj *o = sk_kzalloc(sizeof(*o));

	cr_assert_not_null(o);
	releases = 0;
	sk_kref_init(&o->ref);
	sk_kref_get(&o->ref);
	cr_assert_eq(sk_kref_put(&o->ref, free_release), 0);
	cr_assert_eq(sk_kref_put(&o->ref, free_release), 1);
	cr_assert_eq(releases, 1);
}

Test(kref, get_unless_zero)
{
	struct obj o;
	int got;

	sk_kref_init(&o.ref);
	SK_EXPECT_NO_VIOLATION(got = sk_kref_get_unless_zero(&o.ref));
	cr_assert(got);
	cr_assert_eq(sk_kref_read(&o.ref), 2);

	sk_refcount_set(&o.ref.refcount, 0);
	SK_EXPECT_NO_VIOLATION(got = sk_kref_get_unless_zero(&o.ref));
	cr_assert_not(got);
	cr_assert_eq(sk_kref_read(&o.ref), 0);
}

Test(kref, null_release_is_refused)
{
	struct obj o;
	int r;

	releases = 0;
	sk_kref_init(&o.ref);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_kref_put(&o.ref, opaque_release(NULL)));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), 1, "the reference was not dropped");
	cr_assert_eq(releases, 0);
	/* A constant NULL, too. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, r = sk_kref_put(&o.ref, NULL));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), 1);
	/* The real put still works. */
	cr_assert_eq(sk_kref_put(&o.ref, count_release), 1);
	cr_assert_eq(releases, 1);
}

Test(kref, put_after_release_is_an_underflow_and_never_releases_twice)
{
	struct obj o;
	int r;

	releases = 0;
	sk_kref_init(&o.ref);
	cr_assert_eq(sk_kref_put(&o.ref, count_release), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, r = sk_kref_put(&o.ref, count_release));
	cr_assert_eq(r, 0);
	cr_assert_eq(releases, 1);
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
	/* Pinned: any number of further puts never release. */
	for (int i = 0; i < 10; i++)
		SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
				    r = sk_kref_put(&o.ref, count_release));
	cr_assert_eq(releases, 1);
}

Test(kref, get_after_release_is_an_increment_from_zero)
{
	struct obj o;

	releases = 0;
	sk_kref_init(&o.ref);
	cr_assert_eq(sk_kref_put(&o.ref, count_release), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_kref_get(&o.ref));
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
	/* The resurrected reference can never release it again. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, (void)sk_kref_put(&o.ref, count_release));
	cr_assert_eq(releases, 1);
}

Test(kref, get_overflow_saturates)
{
	struct obj o = { .ref = SK_KREF_INIT(SK_REFCOUNT_MAX) };
	int got;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_kref_get(&o.ref));
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
	sk_refcount_set(&o.ref.refcount, SK_REFCOUNT_MAX);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, got = sk_kref_get_unless_zero(&o.ref));
	cr_assert(got);
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
}

/* ------------------------------------------------------------------------
 * sk_kref_put_mutex(), sk_kref_put_lock(): release() runs with the table's
 * lock held and unlocks it.  Misuse lives in helpers marked
 * SK_NO_THREAD_SAFETY_ANALYSIS; the correct pattern is written plainly.
 * ------------------------------------------------------------------------ */

#define NT SK_NO_THREAD_SAFETY_ANALYSIS

struct table {
	struct sk_mutex m;
	struct sk_spinlock l;
	struct lobj *entry; /* reachable without a reference, under the lock */
	unsigned int releases;
	int held_in_release; /* the lock was held when release() ran */
};

struct lobj {
	struct table *t;
	struct sk_kref ref;
};

/* Another thread's view: 1 if it could take the lock now. */
struct probe {
	void *lock;
	int spin;
	int free;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;

	p->free = 0;
	if (p->spin) {
		if (sk_spin_trylock((struct sk_spinlock *)p->lock)) {
			sk_spin_unlock((struct sk_spinlock *)p->lock);
			p->free = 1;
		}
	} else if (sk_mutex_trylock((struct sk_mutex *)p->lock)) {
		sk_mutex_unlock((struct sk_mutex *)p->lock);
		p->free = 1;
	}
	return NULL;
}

static int free_elsewhere(void *lock, int spin)
{
	struct probe p = { lock, spin, -1 };
	pthread_t th;

	cr_assert_eq(pthread_create(&th, NULL, probe_main, &p), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	return p.free;
}

/* The documented release(): assert the lock (which also tells the
 * analysis), unlink, unlock, free. */
static void release_mutex(struct sk_kref *kref)
{
	struct lobj *o = sk_container_of(kref, struct lobj, ref);
	struct table *t = o->t;

	sk_lockdep_assert_held(&t->m);
	t->held_in_release = !free_elsewhere(&t->m, 0);
	t->entry = NULL;
	t->releases++;
	sk_mutex_unlock(&t->m);
	sk_kfree(o);
}

static void release_spin(struct sk_kref *kref)
{
	struct lobj *o = sk_container_of(kref, struct lobj, ref);
	struct table *t = o->t;

	sk_lockdep_assert_held(&t->l);
	t->held_in_release = !free_elsewhere(&t->l, 1);
	t->entry = NULL;
	t->releases++;
	sk_spin_unlock(&t->l);
	sk_kfree(o);
}

static struct lobj *lobj_new(struct table *t)
{
	struct lobj *o = sk_kzalloc(sizeof(*o));

	cr_assert_not_null(o);
	o->t = t;
	sk_kref_init(&o->ref);
	t->entry = o;
	return o;
}

static void table_init(struct table *t)
{
	memset(t, 0, sizeof(*t));
	sk_mutex_init(&t->m);
	sk_spin_lock_init(&t->l);
}

static void table_destroy(struct table *t)
{
	sk_mutex_destroy(&t->m);
	sk_spin_lock_destroy(&t->l);
}

/* A lookup under the lock: with put_mutex, the count is never zero here. */
static struct lobj *lookup_mutex(struct table *t)
{
	struct lobj *o;

	sk_mutex_lock(&t->m);
	o = t->entry;
	if (o)
		sk_kref_get(&o->ref);
	sk_mutex_unlock(&t->m);
	return o;
}

Test(kref, put_mutex_releases_under_the_lock_on_the_last_put)
{
	struct table t;
	struct lobj *o, *p;
	int r;

	table_init(&t);
	o = lobj_new(&t);
	p = lookup_mutex(&t);
	cr_assert_eq(p, o);
	cr_assert_eq(sk_kref_read(&o->ref), 2);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_mutex(&p->ref, release_mutex, &t.m));
	cr_assert_eq(r, 0);
	cr_assert_eq(t.releases, 0);
	cr_assert(free_elsewhere(&t.m, 0), "a put that is not the last takes no lock");
	cr_assert_eq(sk_kref_read(&o->ref), 1);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_mutex(&o->ref, release_mutex, &t.m));
	cr_assert_eq(r, 1);
	cr_assert_eq(t.releases, 1);
	cr_assert(t.held_in_release, "release() runs with the lock held");
	cr_assert_null(t.entry);
	cr_assert(free_elsewhere(&t.m, 0), "release() unlocked it");
	cr_assert_null(lookup_mutex(&t));
	table_destroy(&t);
}

Test(kref, put_lock_releases_under_the_spinlock_on_the_last_put)
{
	struct table t;
	struct lobj *o;
	int r;

	table_init(&t);
	o = lobj_new(&t);
	sk_kref_get(&o->ref);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_lock(&o->ref, release_spin, &t.l));
	cr_assert_eq(r, 0);
	cr_assert(free_elsewhere(&t.l, 1));
	cr_assert_eq(t.releases, 0);
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_lock(&o->ref, release_spin, &t.l));
	cr_assert_eq(r, 1);
	cr_assert_eq(t.releases, 1);
	cr_assert(t.held_in_release);
	cr_assert(free_elsewhere(&t.l, 1));
	table_destroy(&t);
}

/* Counts, keeps the memory, unlocks: for the misuse tests. */
struct kobj {
	void *lock;
	struct sk_kref ref;
};

static unsigned int locked_releases;

NT static void count_release_unlock_mutex(struct sk_kref *kref)
{
	struct kobj *o = sk_container_of(kref, struct kobj, ref);

	locked_releases++;
	sk_mutex_unlock((struct sk_mutex *)o->lock);
}

NT static void count_release_unlock_spin(struct sk_kref *kref)
{
	struct kobj *o = sk_container_of(kref, struct kobj, ref);

	locked_releases++;
	sk_spin_unlock((struct sk_spinlock *)o->lock);
}

Test(kref, put_mutex_and_put_lock_null_release_is_refused)
{
	struct table t;
	struct obj o;
	int r;

	table_init(&t);
	sk_kref_init(&o.ref);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_kref_put_mutex(&o.ref, opaque_release(NULL), &t.m));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), 1, "the reference was not dropped");
	cr_assert(free_elsewhere(&t.m, 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_kref_put_lock(&o.ref, opaque_release(NULL), &t.l));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), 1);
	cr_assert(free_elsewhere(&t.l, 1));
	table_destroy(&t);
}

Test(kref, put_mutex_and_put_lock_after_release_underflow_without_the_lock)
{
	struct table t;
	struct kobj o;
	int r;

	table_init(&t);
	locked_releases = 0;
	o.lock = &t.m;
	sk_kref_init(&o.ref);
	cr_assert_eq(sk_kref_put_mutex(&o.ref, count_release_unlock_mutex, &t.m), 1);
	cr_assert_eq(locked_releases, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_kref_put_mutex(&o.ref, count_release_unlock_mutex, &t.m));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
	cr_assert(free_elsewhere(&t.m, 0), "no lock taken");
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_kref_put_mutex(&o.ref, count_release_unlock_mutex, &t.m));
	cr_assert_eq(r, 0);

	o.lock = &t.l;
	sk_kref_init(&o.ref);
	cr_assert_eq(sk_kref_put_lock(&o.ref, count_release_unlock_spin, &t.l), 1);
	cr_assert_eq(locked_releases, 2);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_kref_put_lock(&o.ref, count_release_unlock_spin, &t.l));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_kref_read(&o.ref), SATURATED);
	cr_assert(free_elsewhere(&t.l, 1));
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_kref_put_lock(&o.ref, count_release_unlock_spin, &t.l));
	cr_assert_eq(r, 0);
	cr_assert_eq(locked_releases, 2, "never released twice");
	table_destroy(&t);
}

/* A put_mutex by a thread that already holds the lock: the lock reports
 * the relock in the caller's name and refuses it; release() still runs
 * under the (outer) lock, and its unlock is absorbed. */
NT static void put_mutex_while_holding(struct table *t, struct kobj *o, int *r)
{
	sk_mutex_lock(&t->m);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION,
			    *r = sk_kref_put_mutex(&o->ref, count_release_unlock_mutex, &t->m));
	cr_assert_not(free_elsewhere(&t->m, 0), "the outer hold remains");
	SK_EXPECT_NO_VIOLATION(sk_mutex_unlock(&t->m));
}

Test(kref, put_mutex_while_holding_the_lock_is_reported_once)
{
	struct table t;
	struct kobj o;
	int r = 0;

	table_init(&t);
	locked_releases = 0;
	o.lock = &t.m;
	sk_kref_init(&o.ref);
	put_mutex_while_holding(&t, &o, &r);
	cr_assert_eq(r, 1);
	cr_assert_eq(locked_releases, 1);
	cr_assert(free_elsewhere(&t.m, 0));
	table_destroy(&t);
}

/* A release() that forgets to unlock: reported at the debug level (the
 * validator is on there), not at the hardened level. */
static void release_keeps_lock(struct sk_kref *kref)
{
	(void)kref;
	locked_releases++;
}

NT static void unlock_mutex(struct sk_mutex *m)
{
	sk_mutex_unlock(m);
}

NT static void unlock_spin(struct sk_spinlock *l)
{
	sk_spin_unlock(l);
}

Test(kref, release_returning_with_the_lock_held)
{
	struct table t;
	struct obj o;
	int r;

	table_init(&t);
	locked_releases = 0;
	sk_kref_init(&o.ref);
#ifdef SK_DEBUG
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_HELD,
			    r = sk_kref_put_mutex(&o.ref, release_keeps_lock, &t.m));
#else
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_mutex(&o.ref, release_keeps_lock, &t.m));
#endif
	cr_assert_eq(r, 1);
	cr_assert_not(free_elsewhere(&t.m, 0), "the lock stays held");
	SK_EXPECT_NO_VIOLATION(unlock_mutex(&t.m));

	sk_kref_init(&o.ref);
#ifdef SK_DEBUG
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_HELD,
			    r = sk_kref_put_lock(&o.ref, release_keeps_lock, &t.l));
#else
	SK_EXPECT_NO_VIOLATION(r = sk_kref_put_lock(&o.ref, release_keeps_lock, &t.l));
#endif
	cr_assert_eq(r, 1);
	cr_assert_not(free_elsewhere(&t.l, 1));
	SK_EXPECT_NO_VIOLATION(unlock_spin(&t.l));
	cr_assert_eq(locked_releases, 2);
	table_destroy(&t);
}

static struct sk_test_report seen;

/* Reports from inside kref.h name the consumer's line, not the header's. */
Test(kref, reports_name_the_callers_line)
{
	struct obj o;
	unsigned int line_null, line_under;

	releases = 0;
	sk_kref_init(&o.ref);
	sk_test_record_start(&seen);
	line_null = __LINE__ + 1;
	(void)sk_kref_put(&o.ref, opaque_release(NULL));
	cr_assert_eq(seen.kind, SK_VIOLATION_INVALID_ARGUMENT);
	cr_assert(strstr(seen.file, "test-kref.c"), "file %s", seen.file);
	cr_assert_eq(seen.line, line_null);
	(void)sk_kref_put(&o.ref, count_release);
	line_under = __LINE__ + 1;
	(void)sk_kref_put(&o.ref, count_release);
	sk_test_record_stop();
	cr_assert_eq(seen.kind, SK_VIOLATION_REFCOUNT_UNDERFLOW);
	cr_assert_eq(seen.object, &o.ref.refcount);
	cr_assert(strstr(seen.file, "test-kref.c"), "file %s", seen.file);
	cr_assert_eq(seen.line, line_under);
	cr_assert_eq(seen.calls, 2);
	cr_assert_eq(releases, 1);
}

/* The lock operations inside sk_kref_put_mutex() report in the caller's
 * name too: a relock names the put's line. */
NT static unsigned int relock_from_put(struct table *t, struct kobj *o)
{
	unsigned int line;

	sk_mutex_lock(&t->m);
	line = __LINE__ + 1;
	(void)sk_kref_put_mutex(&o->ref, count_release_unlock_mutex, &t->m);
	sk_mutex_unlock(&t->m);
	return line;
}

Test(kref, put_mutex_lock_reports_name_the_callers_line)
{
	struct table t;
	struct kobj o;
	unsigned int line;

	table_init(&t);
	o.lock = &t.m;
	sk_kref_init(&o.ref);
	sk_test_record_start(&seen);
	line = relock_from_put(&t, &o);
	sk_test_record_stop();
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.kind, SK_VIOLATION_LOCK_RECURSION);
	cr_assert_eq(seen.object, &t.m);
	cr_assert(strstr(seen.file, "test-kref.c"), "file %s", seen.file);
	cr_assert_eq(seen.line, line);
#ifdef SK_DEBUG
	/* And the debug check of release() names it as well. */
	sk_kref_init(&o.ref);
	sk_test_record_start(&seen);
	line = __LINE__ + 1;
	(void)sk_kref_put_mutex(&o.ref, release_keeps_lock, &t.m);
	sk_test_record_stop();
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.kind, SK_VIOLATION_LOCK_HELD);
	cr_assert_eq(seen.line, line);
	unlock_mutex(&t.m);
#endif
	table_destroy(&t);
}

Test(kref_abort, null_release_aborts_by_default, .signal = SIGABRT)
{
	struct obj o;

	sk_kref_init(&o.ref);
	(void)sk_kref_put(&o.ref, opaque_release(NULL));
}
