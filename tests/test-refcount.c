/* SPDX-License-Identifier: MIT */
/*
 * tests/test-refcount.c - sk_refcount_t: every operation's normal
 * behaviour, then every misuse the kernel's LKDTM refcount suite exercises
 * (lkdtm/refcount.c), each asserting the counter's final value and exactly
 * one report of the right kind; then what reports contain.  Built at both
 * check levels.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <safekern/refcount.h>

#include "sk-test.h"

#define SATURATED ((unsigned int)SK_REFCOUNT_SATURATED)

TestSuite(refcount, .init = sk_test_count_policy);

/* Hide a value from the optimiser, so the non-constant paths are tested. */
static int opaque(int v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

/* ------------------------------------------------------------------------
 * Normal behaviour
 * ------------------------------------------------------------------------ */

static void constants_match_the_kernel(void)
{
	cr_assert_eq(SK_REFCOUNT_MAX, INT_MAX);
	cr_assert_eq(SK_REFCOUNT_SATURATED, INT_MIN / 2);
	cr_assert_eq(sizeof(sk_refcount_t), sizeof(int));
}

static void init_set_read(void)
{
	sk_refcount_t a = SK_REFCOUNT_INIT(3);
	sk_refcount_t z = SK_REFCOUNT_INIT(0);
	static sk_refcount_t s; /* zero-initialised memory is a count of zero */

	cr_assert_eq(sk_refcount_read(&a), 3);
	cr_assert_eq(sk_refcount_read(&z), 0);
	cr_assert_eq(sk_refcount_read(&s), 0);
	sk_refcount_set(&a, 7);
	cr_assert_eq(sk_refcount_read(&a), 7);
	sk_refcount_set_release(&a, 1);
	cr_assert_eq(sk_refcount_read(&a), 1);
	sk_refcount_set(&a, SK_REFCOUNT_SATURATED);
	cr_assert_eq(sk_refcount_read(&a), SATURATED);
}

Test(refcount, constants_init_set_read)
{
	constants_match_the_kernel();
	init_set_read();
}

Test(refcount, inc_and_add)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);

	SK_EXPECT_NO_VIOLATION(sk_refcount_inc(&r));
	cr_assert_eq(sk_refcount_read(&r), 2);
	SK_EXPECT_NO_VIOLATION(sk_refcount_add(5, &r));
	cr_assert_eq(sk_refcount_read(&r), 7);
	SK_EXPECT_NO_VIOLATION(sk_refcount_add(opaque(3), &r));
	cr_assert_eq(sk_refcount_read(&r), 10);
	SK_EXPECT_NO_VIOLATION(sk_refcount_add(0, &r));
	cr_assert_eq(sk_refcount_read(&r), 10);
	/* Up to the maximum is fine. */
	sk_refcount_set(&r, SK_REFCOUNT_MAX - 1);
	SK_EXPECT_NO_VIOLATION(sk_refcount_inc(&r));
	cr_assert_eq(sk_refcount_read(&r), (unsigned int)SK_REFCOUNT_MAX);
	sk_refcount_set(&r, SK_REFCOUNT_MAX - 4);
	SK_EXPECT_NO_VIOLATION(sk_refcount_add(opaque(4), &r));
	cr_assert_eq(sk_refcount_read(&r), (unsigned int)SK_REFCOUNT_MAX);
}

static void inc_not_zero_and_add_not_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	bool ok;

	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_inc_not_zero(&r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), 2);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero(3, &r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), 5);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero(opaque(2), &r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), 7);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_inc_not_zero_acquire(&r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), 8);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero_acquire(2, &r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), 10);
	sk_refcount_set(&r, SK_REFCOUNT_MAX - 1);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_inc_not_zero(&r));
	cr_assert(ok);
	cr_assert_eq(sk_refcount_read(&r), (unsigned int)SK_REFCOUNT_MAX);
}

/* The _not_zero forms at zero: false, still zero, and no report. */
static void not_zero_forms_refuse_zero_silently(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);
	bool ok;

	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_inc_not_zero(&r));
	cr_assert_not(ok);
	cr_assert_eq(sk_refcount_read(&r), 0);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero(4, &r));
	cr_assert_not(ok);
	cr_assert_eq(sk_refcount_read(&r), 0);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_inc_not_zero_acquire(&r));
	cr_assert_not(ok);
	cr_assert_eq(sk_refcount_read(&r), 0);
	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero_acquire(opaque(4), &r));
	cr_assert_not(ok);
	cr_assert_eq(sk_refcount_read(&r), 0);
}

/* The _not_zero forms, and at zero: false, still zero, no report. */
Test(refcount, not_zero_forms)
{
	inc_not_zero_and_add_not_zero();
	not_zero_forms_refuse_zero_silently();
}

Test(refcount, dec_and_test_and_sub_and_test)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(2);
	bool last;

	SK_EXPECT_NO_VIOLATION(last = sk_refcount_dec_and_test(&r));
	cr_assert_not(last);
	cr_assert_eq(sk_refcount_read(&r), 1);
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_dec_and_test(&r));
	cr_assert(last);
	cr_assert_eq(sk_refcount_read(&r), 0);

	sk_refcount_set(&r, 5);
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_sub_and_test(2, &r));
	cr_assert_not(last);
	cr_assert_eq(sk_refcount_read(&r), 3);
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_sub_and_test(opaque(0), &r));
	cr_assert_not(last);
	cr_assert_eq(sk_refcount_read(&r), 3);
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_sub_and_test(opaque(3), &r));
	cr_assert(last);
	cr_assert_eq(sk_refcount_read(&r), 0);

	sk_refcount_set(&r, SK_REFCOUNT_MAX);
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_sub_and_test(SK_REFCOUNT_MAX, &r));
	cr_assert(last);
	cr_assert_eq(sk_refcount_read(&r), 0);
}

static void dec(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(3);

	SK_EXPECT_NO_VIOLATION(sk_refcount_dec(&r));
	cr_assert_eq(sk_refcount_read(&r), 2);
	SK_EXPECT_NO_VIOLATION(sk_refcount_dec(&r));
	cr_assert_eq(sk_refcount_read(&r), 1);
}

static void dec_if_one(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(2);
	bool done;

	SK_EXPECT_NO_VIOLATION(done = sk_refcount_dec_if_one(&r));
	cr_assert_not(done);
	cr_assert_eq(sk_refcount_read(&r), 2);
	sk_refcount_set(&r, 1);
	SK_EXPECT_NO_VIOLATION(done = sk_refcount_dec_if_one(&r));
	cr_assert(done);
	cr_assert_eq(sk_refcount_read(&r), 0);
}

static void dec_not_one(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(3);
	bool done;

	SK_EXPECT_NO_VIOLATION(done = sk_refcount_dec_not_one(&r));
	cr_assert(done);
	cr_assert_eq(sk_refcount_read(&r), 2);
	SK_EXPECT_NO_VIOLATION(done = sk_refcount_dec_not_one(&r));
	cr_assert(done);
	cr_assert_eq(sk_refcount_read(&r), 1);
	SK_EXPECT_NO_VIOLATION(done = sk_refcount_dec_not_one(&r));
	cr_assert_not(done);
	cr_assert_eq(sk_refcount_read(&r), 1);
}

Test(refcount, dec_dec_if_one_dec_not_one)
{
	dec();
	dec_if_one();
	dec_not_one();
}

/* The usual lifecycle: one owner, gets and puts, exactly one "last". */
Test(refcount, get_put_lifecycle)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	int lasts = 0;

	for (int i = 0; i < 100; i++)
		sk_refcount_inc(&r);
	for (int i = 0; i < 101; i++)
		lasts += sk_refcount_dec_and_test(&r);
	cr_assert_eq(lasts, 1);
	cr_assert_eq(sk_refcount_read(&r), 0);
	cr_assert_eq(sk_violation_total(), 0);
}

/* ------------------------------------------------------------------------
 * LKDTM: overflow (REFCOUNT_*_OVERFLOW)
 * ------------------------------------------------------------------------ */

#define EXPECT_SATURATED(r) cr_assert_eq(sk_refcount_read(r), SATURATED, "counter %#x, expected saturated", sk_refcount_read(r))

static void lkdtm_inc_overflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX - 1);

	SK_EXPECT_NO_VIOLATION(sk_refcount_inc(&r));
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_refcount_inc(&r));
	EXPECT_SATURATED(&r);
}

static void lkdtm_add_overflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX - 1);

	SK_EXPECT_NO_VIOLATION(sk_refcount_add(1, &r));
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_refcount_add(4, &r));
	EXPECT_SATURATED(&r);
}

static void add_overflow_with_runtime_count(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX - 10);

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_refcount_add(opaque(11), &r));
	EXPECT_SATURATED(&r);
	/* The largest add, from 1, overflows too. */
	sk_refcount_set(&r, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, sk_refcount_add(opaque(INT_MAX), &r));
	EXPECT_SATURATED(&r);
}

static void lkdtm_inc_not_zero_overflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX);
	bool ok;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, ok = sk_refcount_inc_not_zero(&r));
	cr_assert(ok, "a saturated counter still counts as referenced");
	EXPECT_SATURATED(&r);
}

static void lkdtm_add_not_zero_overflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX - 1);
	bool ok;

	SK_EXPECT_NO_VIOLATION(ok = sk_refcount_add_not_zero(1, &r));
	cr_assert(ok);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, ok = sk_refcount_add_not_zero(4, &r));
	cr_assert(ok);
	EXPECT_SATURATED(&r);
}

static void not_zero_acquire_overflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_MAX);
	bool ok;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW, ok = sk_refcount_inc_not_zero_acquire(&r));
	cr_assert(ok);
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, SK_REFCOUNT_MAX - 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_OVERFLOW,
			    ok = sk_refcount_add_not_zero_acquire(opaque(2), &r));
	cr_assert(ok);
	EXPECT_SATURATED(&r);
}

/* LKDTM REFCOUNT_{INC,ADD,INC_NOT_ZERO,ADD_NOT_ZERO}_OVERFLOW, and the other forms. */
Test(refcount, lkdtm_overflow)
{
	lkdtm_inc_overflow();
	lkdtm_add_overflow();
	add_overflow_with_runtime_count();
	lkdtm_inc_not_zero_overflow();
	lkdtm_add_not_zero_overflow();
	not_zero_acquire_overflow();
}

/* ------------------------------------------------------------------------
 * LKDTM: decrement to zero and below (REFCOUNT_DEC_ZERO, *_NEGATIVE)
 * ------------------------------------------------------------------------ */

static void lkdtm_dec_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(2);

	SK_EXPECT_NO_VIOLATION(sk_refcount_dec(&r));
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_DEC_TO_ZERO, sk_refcount_dec(&r));
	EXPECT_SATURATED(&r);
}

static void lkdtm_dec_negative(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, sk_refcount_dec(&r));
	EXPECT_SATURATED(&r);
}

static void lkdtm_dec_and_test_negative(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);
	bool last;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, last = sk_refcount_dec_and_test(&r));
	cr_assert_not(last, "an underflow must never say 'free it'");
	EXPECT_SATURATED(&r);
}

static void double_put_after_last_is_an_underflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	bool last;

	SK_EXPECT_NO_VIOLATION(last = sk_refcount_dec_and_test(&r));
	cr_assert(last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, last = sk_refcount_dec_and_test(&r));
	cr_assert_not(last);
	EXPECT_SATURATED(&r);
}

static void lkdtm_sub_and_test_negative(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(3);
	bool last;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, last = sk_refcount_sub_and_test(5, &r));
	cr_assert_not(last);
	EXPECT_SATURATED(&r);
}

static void sub_and_test_runtime_count_underflow(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	bool last;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    last = sk_refcount_sub_and_test(opaque(2), &r));
	cr_assert_not(last);
	EXPECT_SATURATED(&r);
	/* Subtracting nothing from nothing is an underflow, never "last". */
	sk_refcount_set(&r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW,
			    last = sk_refcount_sub_and_test(opaque(0), &r));
	cr_assert_not(last);
	EXPECT_SATURATED(&r);
}

static void dec_not_one_and_dec_if_one_at_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);
	bool done;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, done = sk_refcount_dec_not_one(&r));
	cr_assert(done, "a misused counter is never 'the last one'");
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, done = sk_refcount_dec_if_one(&r));
	cr_assert_not(done);
	EXPECT_SATURATED(&r);
}

/* LKDTM REFCOUNT_DEC_ZERO and REFCOUNT_{DEC,DEC_AND_TEST,SUB_AND_TEST}_NEGATIVE, and the other forms. */
Test(refcount, lkdtm_dec_to_zero_and_below)
{
	lkdtm_dec_zero();
	lkdtm_dec_negative();
	lkdtm_dec_and_test_negative();
	double_put_after_last_is_an_underflow();
	lkdtm_sub_and_test_negative();
	sub_and_test_runtime_count_underflow();
	dec_not_one_and_dec_if_one_at_zero();
}

/* ------------------------------------------------------------------------
 * LKDTM: increment from zero (REFCOUNT_INC_ZERO, REFCOUNT_ADD_ZERO)
 * ------------------------------------------------------------------------ */

static void lkdtm_inc_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_refcount_inc(&r));
	EXPECT_SATURATED(&r);
}

static void lkdtm_add_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_refcount_add(3, &r));
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, sk_refcount_add(opaque(0), &r));
	EXPECT_SATURATED(&r);
}

/* LKDTM REFCOUNT_INC_ZERO, REFCOUNT_ADD_ZERO. */
Test(refcount, lkdtm_inc_and_add_from_zero)
{
	lkdtm_inc_zero();
	lkdtm_add_zero();
}

/* ------------------------------------------------------------------------
 * LKDTM: operations on a saturated counter (REFCOUNT_*_SATURATED)
 * ------------------------------------------------------------------------ */

#define ON_SATURATED(stmt)                                                    \
	do {                                                                  \
		sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_SATURATED);    \
		SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, stmt);  \
		EXPECT_SATURATED(&r);                                         \
	} while (0)

static void lkdtm_inc_saturated(void) { ON_SATURATED(sk_refcount_inc(&r)); }
static void lkdtm_dec_saturated(void) { ON_SATURATED(sk_refcount_dec(&r)); }
static void lkdtm_add_saturated(void) { ON_SATURATED(sk_refcount_add(8, &r)); }

static void lkdtm_inc_not_zero_saturated(void)
{
	bool ok = false;

	ON_SATURATED(ok = sk_refcount_inc_not_zero(&r));
	cr_assert(ok);
}

static void lkdtm_add_not_zero_saturated(void)
{
	bool ok = false;

	ON_SATURATED(ok = sk_refcount_add_not_zero(7, &r));
	cr_assert(ok);
}

static void lkdtm_dec_and_test_saturated(void)
{
	bool last = true;

	ON_SATURATED(last = sk_refcount_dec_and_test(&r));
	cr_assert_not(last);
}

static void lkdtm_sub_and_test_saturated(void)
{
	bool last = true;

	ON_SATURATED(last = sk_refcount_sub_and_test(8, &r));
	cr_assert_not(last);
}

static void other_ops_on_saturated(void)
{
	bool b = false;

	ON_SATURATED(b = sk_refcount_dec_not_one(&r));
	cr_assert(b);
	b = true;
	ON_SATURATED(b = sk_refcount_dec_if_one(&r));
	cr_assert_not(b);
	b = false;
	ON_SATURATED(b = sk_refcount_inc_not_zero_acquire(&r));
	cr_assert(b);
	b = false;
	ON_SATURATED(b = sk_refcount_add_not_zero_acquire(opaque(3), &r));
	cr_assert(b);
	b = true;
	ON_SATURATED(b = sk_refcount_sub_and_test(opaque(2), &r));
	cr_assert_not(b);
	ON_SATURATED(sk_refcount_add(opaque(2), &r));
}

/* LKDTM REFCOUNT_{INC,DEC,ADD,INC_NOT_ZERO,ADD_NOT_ZERO,DEC_AND_TEST,SUB_AND_TEST}_SATURATED, and the other forms. */
Test(refcount, lkdtm_saturated)
{
	lkdtm_inc_saturated();
	lkdtm_dec_saturated();
	lkdtm_add_saturated();
	lkdtm_inc_not_zero_saturated();
	lkdtm_add_not_zero_saturated();
	lkdtm_dec_and_test_saturated();
	lkdtm_sub_and_test_saturated();
	other_ops_on_saturated();
}

/* Anywhere in the negative half counts as saturated: racing threads move it. */
static void drifted_saturated_counter_is_still_saturated(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_SATURATED + 1000);
	bool last;

	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, sk_refcount_inc(&r));
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, SK_REFCOUNT_SATURATED - 1000);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, last = sk_refcount_dec_and_test(&r));
	cr_assert_not(last);
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, -1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, sk_refcount_inc(&r));
	EXPECT_SATURATED(&r);
	sk_refcount_set(&r, INT_MIN);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED, sk_refcount_dec(&r));
	EXPECT_SATURATED(&r);
}

/* A saturated object stays pinned through any number of further uses. */
static void saturated_never_reaches_zero(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(SK_REFCOUNT_SATURATED);
	unsigned long before = sk_violation_count(SK_VIOLATION_REFCOUNT_SATURATED);

	for (int i = 0; i < 1000; i++) {
		cr_assert_not(sk_refcount_dec_and_test(&r));
		sk_refcount_inc(&r);
		sk_refcount_dec(&r);
	}
	EXPECT_SATURATED(&r);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_REFCOUNT_SATURATED) - before, 3000);
	SK_TEST_ACCOUNT(3000);
}

Test(refcount, saturated_stays_saturated)
{
	drifted_saturated_counter_is_still_saturated();
	saturated_never_reaches_zero();
}

/* ------------------------------------------------------------------------
 * Invalid arguments: a negative count is refused, counter unchanged
 * ------------------------------------------------------------------------ */

Test(refcount, negative_count_is_refused)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(5);
	bool b;

	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_refcount_add(opaque(-1), &r));
	cr_assert_eq(sk_refcount_read(&r), 5);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    b = sk_refcount_add_not_zero(opaque(-2), &r));
	cr_assert_not(b);
	cr_assert_eq(sk_refcount_read(&r), 5);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    b = sk_refcount_add_not_zero_acquire(opaque(-2), &r));
	cr_assert_not(b);
	cr_assert_eq(sk_refcount_read(&r), 5);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    b = sk_refcount_sub_and_test(opaque(INT_MIN), &r));
	cr_assert_not(b);
	cr_assert_eq(sk_refcount_read(&r), 5);
}

/* ------------------------------------------------------------------------
 * The dec_and_lock forms.  The lock dance of the misuse cases lives in
 * helpers marked SK_NO_THREAD_SAFETY_ANALYSIS (clang would rightly refuse
 * it); the correct patterns are written plainly, so clang checks them.
 * ------------------------------------------------------------------------ */

#define NT SK_NO_THREAD_SAFETY_ANALYSIS

/* Whether another thread can take the lock now (it releases it again). */
struct probe {
	void *lock;
	int spin;
	int free;
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;

	if (p->spin) {
		struct sk_spinlock *l = p->lock;

		p->free = 0;
		if (sk_spin_trylock(l)) {
			sk_spin_unlock(l);
			p->free = 1;
		}
	} else {
		struct sk_mutex *m = p->lock;

		p->free = 0;
		if (sk_mutex_trylock(m)) {
			sk_mutex_unlock(m);
			p->free = 1;
		}
	}
	return NULL;
}

static int free_elsewhere(void *lock, int spin)
{
	struct probe p = { lock, spin, -1 };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, probe_main, &p), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	return p.free;
}

static void mutex_not_last(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(3);
	struct sk_mutex m;

	sk_mutex_init(&m);
	for (unsigned int n = 2; n >= 1; n--) {
		if (sk_refcount_dec_and_mutex_lock(&r, &m)) {
			sk_mutex_unlock(&m);
			cr_assert_fail("not the last reference, yet true");
		}
		cr_assert_eq(sk_refcount_read(&r), n);
		cr_assert(free_elsewhere(&m, 0), "the lock must not be held");
	}
	sk_mutex_destroy(&m);
}

static void spin_not_last(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(3);
	struct sk_spinlock l;

	sk_spin_lock_init(&l);
	for (unsigned int n = 2; n >= 1; n--) {
		if (sk_refcount_dec_and_lock(&r, &l)) {
			sk_spin_unlock(&l);
			cr_assert_fail("not the last reference, yet true");
		}
		cr_assert_eq(sk_refcount_read(&r), n);
		cr_assert(free_elsewhere(&l, 1), "the lock must not be held");
	}
	sk_spin_lock_destroy(&l);
}

Test(refcount, dec_and_lock_not_last_takes_no_lock)
{
	SK_EXPECT_NO_VIOLATION(mutex_not_last());
	SK_EXPECT_NO_VIOLATION(spin_not_last());
}

/* The last reference: true, zero, and the lock held by this thread. */
static int mutex_last(struct sk_mutex *m, sk_refcount_t *r)
{
	if (!sk_refcount_dec_and_mutex_lock(r, m))
		return 0;
	sk_lockdep_assert_held(m); /* checked at run time at the debug level */
	cr_assert_eq(sk_refcount_read(r), 0);
	cr_assert_not(free_elsewhere(m, 0), "the lock must be held");
	sk_mutex_unlock(m); /* reported if this thread did not hold it */
	return 1;
}

static int spin_last(struct sk_spinlock *l, sk_refcount_t *r)
{
	if (!sk_refcount_dec_and_lock(r, l))
		return 0;
	sk_lockdep_assert_held(l);
	cr_assert_eq(sk_refcount_read(r), 0);
	cr_assert_not(free_elsewhere(l, 1), "the lock must be held");
	sk_spin_unlock(l);
	return 1;
}

Test(refcount, dec_and_lock_last_returns_true_with_the_lock_held)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	struct sk_mutex m;
	struct sk_spinlock l;
	int last;

	sk_mutex_init(&m);
	sk_spin_lock_init(&l);
	SK_EXPECT_NO_VIOLATION(last = mutex_last(&m, &r));
	cr_assert(last);
	cr_assert(free_elsewhere(&m, 0), "unlocked again");
	sk_refcount_set(&r, 1);
	SK_EXPECT_NO_VIOLATION(last = spin_last(&l, &r));
	cr_assert(last);
	cr_assert(free_elsewhere(&l, 1), "unlocked again");
	sk_mutex_destroy(&m);
	sk_spin_lock_destroy(&l);
}

/* Misuse: the counter is refused before any lock is taken. */
NT static void dec_and_lock_misuse(int start, enum sk_violation_kind kind)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);
	struct sk_mutex m;
	struct sk_spinlock l;
	bool last = true;

	sk_mutex_init(&m);
	sk_spin_lock_init(&l);
	sk_refcount_set(&r, start);
	SK_EXPECT_VIOLATION(kind, last = sk_refcount_dec_and_mutex_lock(&r, &m));
	cr_assert_not(last);
	cr_assert_eq(sk_refcount_read(&r), SATURATED);
	cr_assert(free_elsewhere(&m, 0), "the lock must not be held");
	sk_refcount_set(&r, start);
	last = true;
	SK_EXPECT_VIOLATION(kind, last = sk_refcount_dec_and_lock(&r, &l));
	cr_assert_not(last);
	cr_assert_eq(sk_refcount_read(&r), SATURATED);
	cr_assert(free_elsewhere(&l, 1), "the lock must not be held");
	/* Pinned: never "the last" again. */
	for (int i = 0; i < 4; i++) {
		SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
				    last = sk_refcount_dec_and_mutex_lock(&r, &m));
		cr_assert_not(last);
		SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_SATURATED,
				    last = sk_refcount_dec_and_lock(&r, &l));
		cr_assert_not(last);
	}
	cr_assert_eq(sk_refcount_read(&r), SATURATED);
	sk_mutex_destroy(&m);
	sk_spin_lock_destroy(&l);
}

Test(refcount, dec_and_lock_underflow_saturates_without_the_lock)
{
	dec_and_lock_misuse(0, SK_VIOLATION_REFCOUNT_UNDERFLOW);
}

Test(refcount, dec_and_lock_on_saturated_stays_saturated_without_the_lock)
{
	dec_and_lock_misuse(SK_REFCOUNT_SATURATED, SK_VIOLATION_REFCOUNT_SATURATED);
	dec_and_lock_misuse(-1, SK_VIOLATION_REFCOUNT_SATURATED);
}

/*
 * The decision under the lock: a thread drops what it sees as the last
 * reference while this one holds the lock, and this one changes the count
 * before unlocking.  Whether the other thread gets to the lock before the
 * change (the path under test) or after it (then sk_refcount_dec_not_one()
 * decides), the outcome must be the same.
 */
struct dropper {
	sk_refcount_t *r;
	struct sk_mutex *m;
	bool last;
	bool held;
};

NT static void *dropper_main(void *arg)
{
	struct dropper *d = arg;

	d->last = sk_refcount_dec_and_mutex_lock(d->r, d->m);
	if (d->last) {
		d->held = !free_elsewhere(d->m, 0);
		sk_mutex_unlock(d->m);
	}
	return NULL;
}

static void dropper_race(sk_refcount_t *r, struct sk_mutex *m, struct dropper *d, int set_to)
	SK_EXCLUDES(m);
static void dropper_race(sk_refcount_t *r, struct sk_mutex *m, struct dropper *d, int set_to)
{
	const struct timespec ts = { 0, 20 * 1000 * 1000 };
	pthread_t t;

	*d = (struct dropper){ r, m, false, false };
	sk_refcount_set(r, 1);
	sk_mutex_lock(m);
	cr_assert_eq(pthread_create(&t, NULL, dropper_main, d), 0);
	nanosleep(&ts, NULL); /* let it block on the lock, most likely */
	sk_refcount_set(r, set_to);
	sk_mutex_unlock(m);
	cr_assert_eq(pthread_join(t, NULL), 0);
}

Test(refcount, dec_and_mutex_lock_decides_under_the_lock)
{
	sk_refcount_t r;
	struct sk_mutex m;
	struct dropper d;

	sk_mutex_init(&m);
	/* A lookup under the lock took a reference: not the last any more. */
	SK_EXPECT_NO_VIOLATION(dropper_race(&r, &m, &d, 2));
	cr_assert_not(d.last);
	cr_assert_eq(sk_refcount_read(&r), 1);
	cr_assert(free_elsewhere(&m, 0));
	/* Still the last one: true, with the lock held by that thread. */
	SK_EXPECT_NO_VIOLATION(dropper_race(&r, &m, &d, 1));
	cr_assert(d.last);
	cr_assert(d.held);
	cr_assert_eq(sk_refcount_read(&r), 0);
	/* A bogus put elsewhere drained it: an underflow, false, no lock. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, dropper_race(&r, &m, &d, 0));
	cr_assert_not(d.last);
	cr_assert_eq(sk_refcount_read(&r), SATURATED);
	cr_assert(free_elsewhere(&m, 0));
	sk_mutex_destroy(&m);
}

/*
 * Lock misuse: the caller already holds the lock.  The lock reports the
 * relock in the caller's name and refuses it (no deadlock); the result is
 * still right, and the caller's unlock of the refused relock is absorbed.
 */
NT static void relock_mutex(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(1);
	struct sk_mutex m;
	bool last = false;

	sk_mutex_init(&m);
	sk_mutex_lock(&m);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION, last = sk_refcount_dec_and_mutex_lock(&r, &m));
	cr_assert(last);
	cr_assert_eq(sk_refcount_read(&r), 0);
	SK_EXPECT_NO_VIOLATION(sk_mutex_unlock(&m)); /* the refused relock's */
	cr_assert_not(free_elsewhere(&m, 0), "the outer hold remains");
	SK_EXPECT_NO_VIOLATION(sk_mutex_unlock(&m));
	cr_assert(free_elsewhere(&m, 0));
	sk_mutex_destroy(&m);
}

NT static void relock_spin(void)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(2);
	struct sk_spinlock l;
	bool last = true;

	sk_spin_lock_init(&l);
	sk_spin_lock(&l);
	/* Not the last: no lock is taken, so nothing to report. */
	SK_EXPECT_NO_VIOLATION(last = sk_refcount_dec_and_lock(&r, &l));
	cr_assert_not(last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION, last = sk_refcount_dec_and_lock(&r, &l));
	cr_assert(last);
	SK_EXPECT_NO_VIOLATION(sk_spin_unlock(&l));
	cr_assert_not(free_elsewhere(&l, 1));
	SK_EXPECT_NO_VIOLATION(sk_spin_unlock(&l));
	cr_assert(free_elsewhere(&l, 1));
	sk_spin_lock_destroy(&l);
}

Test(refcount, dec_and_lock_while_holding_the_lock_is_reported_by_the_lock)
{
	relock_mutex();
	relock_spin();
}

/*
 * Contention: threads drop references to shared objects through
 * dec_and_mutex_lock / dec_and_lock while others take references under the
 * lock (lookups) and hold the lock for their own work.  The lock is held
 * exactly when true is returned: sk_lockdep_assert_held() at the debug
 * level, and mutual-exclusion accounting (a plain "inside" flag that no
 * two holders may see set, and a plain counter that loses no update) at
 * both.  Exactly one true per object.  tests/stress/refcount-lock-stress.c
 * runs the same under TSan, helgrind and drd, with the kref forms.
 */
#define C_THREADS 4
#define C_SLOTS 4

struct c_obj {
	sk_refcount_t ref;
	unsigned int trues;
};

struct c_table {
	struct sk_mutex m;
	struct sk_spinlock l;
	int spin;
	struct c_obj *slot[C_SLOTS];
	int inside;
	unsigned long entries;
	unsigned long created, freed;
	uint64_t iters;
};

static void c_enter(struct c_table *t)
{
	cr_assert_eq(t->inside, 0, "two holders at once");
	t->inside = 1;
	t->entries++;
}

static void c_leave(struct c_table *t)
{
	t->inside = 0;
}

NT static void c_lock(struct c_table *t)
{
	if (t->spin)
		sk_spin_lock(&t->l);
	else
		sk_mutex_lock(&t->m);
	c_enter(t);
}

NT static void c_unlock(struct c_table *t)
{
	c_leave(t);
	if (t->spin)
		sk_spin_unlock(&t->l);
	else
		sk_mutex_unlock(&t->m);
}

/* Drop a reference; on true, the lock is ours: assert it, account, remove.
 * Returns 1 if it entered the critical section. */
NT static int c_put(struct c_table *t, struct c_obj *o, unsigned int k)
{
	bool last;

	if (t->spin) {
		last = sk_refcount_dec_and_lock(&o->ref, &t->l);
		if (last)
			sk_lockdep_assert_held(&t->l);
	} else {
		last = sk_refcount_dec_and_mutex_lock(&o->ref, &t->m);
		if (last)
			sk_lockdep_assert_held(&t->m);
	}
	if (!last)
		return 0;
	c_enter(t);
	cr_assert_eq(sk_refcount_read(&o->ref), 0);
	cr_assert_eq(t->slot[k], o);
	cr_assert_eq(++o->trues, 1, "a second true for one object");
	t->slot[k] = NULL;
	t->freed++;
	c_unlock(t);
	free(o);
	return 1;
}

struct c_worker {
	struct c_table *t;
	uint32_t seed;
	unsigned long entered;
};

static void *c_worker_main(void *arg)
{
	struct c_worker *w = arg;
	struct c_table *t = w->t;
	struct c_obj *held[C_SLOTS] = { NULL };

	for (uint64_t i = 0; i < t->iters; i++) {
		unsigned int k;

		w->seed = w->seed * 1103515245u + 12345u;
		k = (w->seed >> 16) % C_SLOTS;
		if (held[k]) {
			w->entered += c_put(t, held[k], k);
			held[k] = NULL;
			continue;
		}
		/* A lookup under the lock: the count is never zero here. */
		c_lock(t);
		w->entered++;
		if (!t->slot[k]) {
			struct c_obj *o = calloc(1, sizeof(*o));

			cr_assert_not_null(o);
			sk_refcount_set(&o->ref, 1);
			t->slot[k] = o;
			t->created++;
		} else {
			sk_refcount_inc(&t->slot[k]->ref);
		}
		held[k] = t->slot[k];
		c_unlock(t);
	}
	for (unsigned int k = 0; k < C_SLOTS; k++)
		if (held[k])
			w->entered += c_put(t, held[k], k);
	return NULL;
}

static void contend(int spin)
{
	static struct c_table t;
	struct c_worker w[C_THREADS];
	unsigned long entered = 0;

	memset(&t, 0, sizeof(t));
	sk_mutex_init(&t.m);
	sk_spin_lock_init(&t.l);
	t.spin = spin;
	t.iters = sk_test_iters(20000, 500);
	for (int i = 0; i < C_THREADS; i++)
		w[i] = (struct c_worker){ &t, 0x9e3779b9u * (uint32_t)(i + 1), 0 };
	{
		pthread_t th[C_THREADS];

		for (int i = 0; i < C_THREADS; i++)
			cr_assert_eq(pthread_create(&th[i], NULL, c_worker_main, &w[i]), 0);
		for (int i = 0; i < C_THREADS; i++)
			cr_assert_eq(pthread_join(th[i], NULL), 0);
	}
	for (int i = 0; i < C_THREADS; i++)
		entered += w[i].entered;
	for (unsigned int k = 0; k < C_SLOTS; k++)
		cr_assert_null(t.slot[k]);
	cr_assert(t.created > 0);
	cr_assert_eq(t.freed, t.created, "created %lu, freed %lu", t.created, t.freed);
	/* Every critical section counted once under the lock: none was lost. */
	cr_assert_eq(t.entries, entered, "%lu entries under the lock, %lu made", t.entries,
		     entered);
	cr_assert_eq(sk_violation_total(), 0UL);
	sk_mutex_destroy(&t.m);
	sk_spin_lock_destroy(&t.l);
}

Test(refcount, dec_and_mutex_lock_under_contention)
{
	contend(0);
}

Test(refcount, dec_and_lock_under_contention)
{
	contend(1);
}

/* ------------------------------------------------------------------------
 * What a report contains; the default policy
 * ------------------------------------------------------------------------ */

struct seen {
	unsigned int calls;
	struct sk_violation last;
	char detail[256];
	unsigned int counter_at_report;
};

static void record(const struct sk_violation *v, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->last = *v;
	snprintf(s->detail, sizeof(s->detail), "%s", v->detail);
	s->last.detail = s->detail;
	s->counter_at_report = sk_refcount_read((const sk_refcount_t *)v->object);
}

Test(refcount, report_names_the_callers_line_and_the_object)
{
	static struct seen s;
	sk_refcount_t r = SK_REFCOUNT_INIT(0);
	unsigned int line;
	bool last;

	sk_violation_set_handler(record, &s);
	line = __LINE__ + 1;
	last = sk_refcount_dec_and_test(&r);
	sk_violation_set_handler(NULL, NULL);

	cr_assert_not(last);
	cr_assert_eq(s.calls, 1);
	SK_TEST_ACCOUNT(1);
	cr_assert_eq(s.last.kind, SK_VIOLATION_REFCOUNT_UNDERFLOW);
	cr_assert_eq(s.last.object, &r);
	cr_assert_not_null(s.last.file);
	cr_assert(strstr(s.last.file, "test-refcount.c"), "file %s", s.last.file);
	cr_assert_eq(s.last.line, line);
	cr_assert(strstr(s.last.func, "report_names_the_callers_line_and_the_object"), "func %s",
		  s.last.func);
	cr_assert(strstr(s.detail, "sk_refcount_dec_and_test"), "%s", s.detail);
	cr_assert(strstr(s.detail, "underflow"), "%s", s.detail);
	cr_assert(strstr(s.detail, "count was 0"), "%s", s.detail);
	cr_assert_eq(s.counter_at_report, SATURATED, "pinned before the report");
}

Test(refcount, report_details_per_kind)
{
	static struct seen s;
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	sk_violation_set_handler(record, &s);
	sk_refcount_inc(&r);
	cr_assert(strstr(s.detail, "sk_refcount_inc: addition on 0; use-after-free"), "%s", s.detail);
	sk_refcount_set(&r, INT_MAX);
	sk_refcount_add(2, &r);
	cr_assert(strstr(s.detail, "sk_refcount_add(2): overflow"), "%s", s.detail);
	cr_assert(strstr(s.detail, "count was 2147483647"), "%s", s.detail);
	sk_refcount_set(&r, 1);
	sk_refcount_dec(&r);
	cr_assert(strstr(s.detail, "decrement hit 0; leaking memory"), "%s", s.detail);
	sk_refcount_dec(&r);
	cr_assert(strstr(s.detail, "saturated counter"), "%s", s.detail);
	sk_violation_set_handler(NULL, NULL);
	cr_assert_eq(s.calls, 4);
	SK_TEST_ACCOUNT(4);
}

/* Under the default policy a misuse aborts the process. */
Test(refcount_abort, underflow_aborts_by_default, .signal = SIGABRT)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	sk_refcount_dec(&r);
}

Test(refcount_abort, inc_from_zero_aborts_by_default, .signal = SIGABRT)
{
	sk_refcount_t r = SK_REFCOUNT_INIT(0);

	sk_refcount_inc(&r);
}
