/* SPDX-License-Identifier: MIT */
/*
 * tests/test-refcount.c - sk_refcount_t: every operation's normal
 * behaviour, then every misuse the kernel's LKDTM refcount suite exercises
 * (lkdtm/refcount.c), each asserting the counter's final value and exactly
 * one report of the right kind; then what reports contain.  Built at both
 * check levels.
 */
#include <limits.h>
#include <signal.h>

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
