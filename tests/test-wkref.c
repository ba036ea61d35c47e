/* SPDX-License-Identifier: MIT */
/*
 * tests/test-wkref.c - struct sk_wkref, Rust's Arc/Weak model: the
 * destructor runs once when the last strong reference goes, the memory is
 * freed once when the last reference of either kind goes, upgrade works
 * only while the object is alive; saturation on both counts; NULL
 * callbacks refused.  Built at both check levels.
 */
#include <signal.h>

#include <safekern/alloc.h>
#include <safekern/wkref.h>

#include "sk-test.h"

#define SATURATED ((unsigned int)SK_REFCOUNT_SATURATED)

TestSuite(wkref, .init = sk_test_count_policy);

enum { ALIVE = 0x600d, DEAD = 0xdead };

struct obj {
	int state;
	struct sk_wkref ref;
};

/* Event log: 'r' for release, 'd' for dealloc, in order. */
static char events[64];
static unsigned int nevents;

static void log_event(char c)
{
	if (nevents < sizeof(events) - 1)
		events[nevents++] = c;
	events[nevents] = '\0';
}

static void reset_events(void)
{
	nevents = 0;
	events[0] = '\0';
}

static void obj_release(struct sk_wkref *ref)
{
	struct obj *o = sk_container_of(ref, struct obj, ref);

	cr_assert_eq(o->state, ALIVE, "release on a dead object");
	o->state = DEAD;
	log_event('r');
}

/* For objects on the stack: only records the event. */
static void obj_dealloc_static(struct sk_wkref *ref)
{
	struct obj *o = sk_container_of(ref, struct obj, ref);

	cr_assert_eq(o->state, DEAD, "memory freed before the destructor ran");
	log_event('d');
}

static void obj_dealloc_heap(struct sk_wkref *ref)
{
	struct obj *o = sk_container_of(ref, struct obj, ref);

	cr_assert_eq(o->state, DEAD);
	log_event('d');
	sk_kfree(o);
}

typedef void (*wk_fn)(struct sk_wkref *);

static wk_fn opaque_fn(wk_fn fn)
{
	__asm__ volatile("" : "+r"(fn));
	return fn;
}

static void obj_init(struct obj *o)
{
	o->state = ALIVE;
	sk_wkref_init(&o->ref);
}

Test(wkref, init_and_static_initialiser)
{
	struct obj o = { .state = ALIVE, .ref = SK_WKREF_INIT() };

	cr_assert_eq(sk_wkref_read(&o.ref), 1);
	cr_assert_eq(sk_wkref_read_weak(&o.ref), 0);
	obj_init(&o);
	cr_assert_eq(sk_wkref_read(&o.ref), 1);
	cr_assert_eq(sk_wkref_read_weak(&o.ref), 0);
}

Test(wkref, strong_only_releases_then_deallocs_on_last_put)
{
	struct obj *o = sk_kmalloc(sizeof(*o));
	int r;

	cr_assert_not_null(o);
	reset_events();
	obj_init(o);
	SK_EXPECT_NO_VIOLATION(sk_wkref_get(&o->ref));
	cr_assert_eq(sk_wkref_read(&o->ref), 2);
	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap));
	cr_assert_eq(r, 0);
	cr_assert_str_empty(events);
	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap));
	cr_assert_eq(r, 1);
	cr_assert_str_eq(events, "rd", "destructor, then memory, once each");
}

Test(wkref, weak_keeps_memory_not_object)
{
	struct obj *o = sk_kmalloc(sizeof(*o));
	int r;

	cr_assert_not_null(o);
	reset_events();
	obj_init(o);
	SK_EXPECT_NO_VIOLATION(sk_wkref_get_weak(&o->ref));
	SK_EXPECT_NO_VIOLATION(sk_wkref_get_weak(&o->ref));
	cr_assert_eq(sk_wkref_read_weak(&o->ref), 2);

	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap));
	cr_assert_eq(r, 1, "the last strong put runs the destructor");
	cr_assert_str_eq(events, "r", "but the memory stays: weak references remain");
	cr_assert_eq(sk_wkref_read(&o->ref), 0);
	cr_assert_eq(sk_wkref_read_weak(&o->ref), 2);
	cr_assert_eq(o->state, DEAD);

	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put_weak(&o->ref, obj_dealloc_heap));
	cr_assert_eq(r, 0);
	cr_assert_str_eq(events, "r");
	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put_weak(&o->ref, obj_dealloc_heap));
	cr_assert_eq(r, 1);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, weak_put_while_alive_does_not_free)
{
	struct obj *o = sk_kmalloc(sizeof(*o));

	cr_assert_not_null(o);
	reset_events();
	obj_init(o);
	sk_wkref_get_weak(&o->ref);
	cr_assert_eq(sk_wkref_put_weak(&o->ref, obj_dealloc_heap), 0);
	cr_assert_str_empty(events);
	cr_assert_eq(sk_wkref_read_weak(&o->ref), 0);
	cr_assert_eq(sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap), 1);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, upgrade_while_alive_and_after_death)
{
	struct obj *o = sk_kmalloc(sizeof(*o));
	int up;

	cr_assert_not_null(o);
	reset_events();
	obj_init(o);
	sk_wkref_get_weak(&o->ref);

	SK_EXPECT_NO_VIOLATION(up = sk_wkref_upgrade(&o->ref));
	cr_assert(up);
	cr_assert_eq(o->state, ALIVE);
	cr_assert_eq(sk_wkref_read(&o->ref), 2);
	cr_assert_eq(sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap), 0);
	cr_assert_eq(sk_wkref_put(&o->ref, obj_release, obj_dealloc_heap), 1);
	cr_assert_str_eq(events, "r");

	/* Dead: the upgrade fails, silently, and changes nothing. */
	SK_EXPECT_NO_VIOLATION(up = sk_wkref_upgrade(&o->ref));
	cr_assert_not(up);
	cr_assert_eq(sk_wkref_read(&o->ref), 0);
	cr_assert_eq(sk_wkref_read_weak(&o->ref), 1);
	cr_assert_eq(sk_wkref_put_weak(&o->ref, obj_dealloc_heap), 1);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, weak_from_weak)
{
	struct obj o;

	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	/* A weak holder may hand out another weak reference after death. */
	SK_EXPECT_NO_VIOLATION(sk_wkref_get_weak(&o.ref));
	cr_assert_eq(sk_wkref_read_weak(&o.ref), 2);
	cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 0);
	cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 1);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, null_callbacks_are_refused)
{
	struct obj o;
	int r;

	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_wkref_put(&o.ref, opaque_fn(NULL), obj_dealloc_static));
	cr_assert_eq(r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_wkref_put(&o.ref, obj_release, opaque_fn(NULL)));
	cr_assert_eq(r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, r = sk_wkref_put(&o.ref, NULL, NULL));
	cr_assert_eq(r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    r = sk_wkref_put_weak(&o.ref, opaque_fn(NULL)));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_wkref_read(&o.ref), 1, "counts unchanged");
	cr_assert_eq(sk_wkref_read_weak(&o.ref), 1);
	cr_assert_str_empty(events);
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 1);
	cr_assert_str_eq(events, "rd");
}

/* ------------------------------------------------------------------------
 * Saturation, on both counts
 * ------------------------------------------------------------------------ */

Test(wkref, extra_strong_put_is_an_underflow_and_calls_nothing)
{
	struct obj o;
	int r;

	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref); /* keeps the memory for the misuse */
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_wkref_put(&o.ref, obj_release, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_wkref_read(&o.ref), SATURATED);
	cr_assert_str_eq(events, "r");
	/* A pinned strong count cannot prove the object alive: refused. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, r = sk_wkref_upgrade(&o.ref));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_wkref_read(&o.ref), SATURATED);
	/*
	 * Nor can the last weak put: the pinned count could as well be a
	 * live object's (overflow_pins_and_a_weak_put_never_frees): leaked.
	 */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_eq(events, "r", "dealloc ran under a pinned strong count");
	cr_assert_eq(sk_refcount_read(&o.ref.weak), SATURATED, "the weak count is pinned too");
	/* And stays leaked: a further weak put is one on a saturated count. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_eq(events, "r");
}

/*
 * The strong count pinned alive by an overflow (its holders still use the
 * object), then a put_weak without a weak reference takes the one weak
 * reference the strong holders hold together.  Freeing now would free the
 * object under them: reported, leaked, the counts pinned.
 */
/* A fresh object whose strong count an overflowing get pinned alive. */
static void obj_init_pinned_alive(struct obj *o)
{
	reset_events();
	obj_init(o);
	sk_refcount_set(&o->ref.strong, SK_REFCOUNT_MAX);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_wkref_get(&o->ref));
	cr_assert_eq(sk_wkref_read(&o->ref), SATURATED);
}

Test(wkref, overflow_pins_and_a_weak_put_never_frees)
{
	struct obj o;
	int r;

	obj_init_pinned_alive(&o);
	cr_assert_eq(sk_refcount_read(&o.ref.weak), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_empty(events, "dealloc ran under the strong holders");
	cr_assert_eq(o.state, ALIVE);
	cr_assert_eq(sk_refcount_read(&o.ref.weak), SATURATED);
	/* The strong holders' puts change nothing and free nothing. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_wkref_put(&o.ref, obj_release, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_empty(events);
}

Test(wkref, extra_weak_put_is_an_underflow_and_never_double_frees)
{
	struct obj o;
	int r;

	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 1);
	cr_assert_str_eq(events, "rd");
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_eq(sk_refcount_read(&o.ref.weak), SATURATED);
	cr_assert_str_eq(events, "rd");
}

/*
 * A put_weak without a weak reference while the object is alive takes the
 * weak reference the strong ones hold together: the weak count reaches
 * zero with a strong reference left.  Reported and refused (the reference
 * given back), nothing freed: the strong holder's object stays usable and
 * its last put runs release() and dealloc() as usual (dealloc() ran at
 * once, and the strong holder used freed memory).
 */
Test(wkref, extra_weak_put_while_alive_never_frees)
{
	struct obj o;
	int r;

	reset_events();
	obj_init(&o);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_eq(events, "", "dealloc ran with a strong reference held");
	cr_assert_eq(sk_refcount_read(&o.ref.weak), 1, "the counts are as before");
	cr_assert_eq(sk_refcount_read(&o.ref.strong), 1);
	cr_assert_eq(o.state, ALIVE);
	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put(&o.ref, obj_release, obj_dealloc_static));
	cr_assert_eq(r, 1);
	cr_assert_str_eq(events, "rd");

	/* The same with a weak reference handed out and put twice. */
	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    r = sk_wkref_put_weak(&o.ref, obj_dealloc_static));
	cr_assert_eq(r, 0);
	cr_assert_str_eq(events, "");
	SK_EXPECT_NO_VIOLATION(r = sk_wkref_put(&o.ref, obj_release, obj_dealloc_static));
	cr_assert_eq(r, 1);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, get_on_dead_is_an_increment_from_zero)
{
	struct obj o;

	reset_events();
	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	/* A weak holder taking a strong reference without upgrading. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_wkref_get(&o.ref));
	cr_assert_eq(sk_wkref_read(&o.ref), SATURATED);
	/* The pinned strong count keeps the memory: the last weak put leaks. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    cr_assert_eq(sk_wkref_put_weak(&o.ref, obj_dealloc_static), 0));
	cr_assert_str_eq(events, "r");

	/* And a weak reference on freed memory. */
	reset_events();
	obj_init(&o);
	cr_assert_eq(sk_wkref_put(&o.ref, obj_release, obj_dealloc_static), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_wkref_get_weak(&o.ref));
	cr_assert_eq(sk_refcount_read(&o.ref.weak), SATURATED);
	cr_assert_str_eq(events, "rd");
}

Test(wkref, overflow_on_either_count)
{
	struct obj o;
	int r;

	obj_init_pinned_alive(&o);
	sk_refcount_set(&o.ref.strong, SK_REFCOUNT_MAX);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, r = sk_wkref_upgrade(&o.ref));
	cr_assert(r, "alive at SK_REFCOUNT_MAX, and pinned alive now");
	cr_assert_eq(sk_wkref_read(&o.ref), SATURATED);
	cr_assert_str_empty(events);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, r = sk_wkref_upgrade(&o.ref));
	cr_assert_eq(r, 0, "a pinned strong count is never upgraded through");
	cr_assert_eq(sk_wkref_read(&o.ref), SATURATED);

	sk_refcount_set(&o.ref.strong, 1);
	sk_refcount_set(&o.ref.weak, SK_REFCOUNT_MAX);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_wkref_get_weak(&o.ref));
	cr_assert_eq(sk_refcount_read(&o.ref.weak), SATURATED);
	/* The object dies normally; its memory, pinned, is never freed. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
			    r = sk_wkref_put(&o.ref, obj_release, obj_dealloc_static));
	cr_assert_eq(r, 1);
	cr_assert_str_eq(events, "r");
}

Test(wkref_abort, extra_put_aborts_by_default, .signal = SIGABRT)
{
	struct obj o;

	obj_init(&o);
	sk_wkref_get_weak(&o.ref);
	(void)sk_wkref_put(&o.ref, obj_release, obj_dealloc_static);
	(void)sk_wkref_put(&o.ref, obj_release, obj_dealloc_static);
}
