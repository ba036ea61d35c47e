/* SPDX-License-Identifier: MIT */
/*
 * tests/test-kref.c - struct sk_kref: init, read, get, put (release called
 * exactly once, on the last put), get_unless_zero, and misuse: a NULL
 * release function, a put after release, a get on a released kref.
 * Built at both check levels.
 */
#include <signal.h>

#include <safekern/alloc.h>
#include <safekern/kref.h>

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

static struct sk_violation seen;
static unsigned int seen_calls;

static void record(const struct sk_violation *v, void *arg)
{
	(void)arg;
	seen = *v;
	seen.detail = NULL;
	seen_calls++;
}

/* Reports from inside kref.h name the consumer's line, not the header's. */
Test(kref, reports_name_the_callers_line)
{
	struct obj o;
	unsigned int line_null, line_under;

	releases = 0;
	sk_kref_init(&o.ref);
	sk_violation_set_handler(record, NULL);
	line_null = __LINE__ + 1;
	(void)sk_kref_put(&o.ref, opaque_release(NULL));
	cr_assert_eq(seen.kind, SK_VIOLATION_INVALID_ARGUMENT);
	cr_assert(seen.file && strstr(seen.file, "test-kref.c"), "file %s", seen.file);
	cr_assert_eq(seen.line, line_null);
	(void)sk_kref_put(&o.ref, count_release);
	line_under = __LINE__ + 1;
	(void)sk_kref_put(&o.ref, count_release);
	sk_violation_set_handler(NULL, NULL);
	cr_assert_eq(seen.kind, SK_VIOLATION_REFCOUNT_UNDERFLOW);
	cr_assert_eq(seen.object, &o.ref.refcount);
	cr_assert(seen.file && strstr(seen.file, "test-kref.c"), "file %s", seen.file);
	cr_assert_eq(seen.line, line_under);
	cr_assert_eq(seen_calls, 2);
	cr_assert_eq(releases, 1);
}

Test(kref_abort, null_release_aborts_by_default, .signal = SIGABRT)
{
	struct obj o;

	sk_kref_init(&o.ref);
	(void)sk_kref_put(&o.ref, opaque_release(NULL));
}
