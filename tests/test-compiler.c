/* SPDX-License-Identifier: MIT */
/*
 * tests/test-compiler.c - compiler.h: branch hints, container_of,
 * READ/WRITE_ONCE, overflow-checked and saturating size arithmetic, call
 * sites; annotate.h's Valgrind annotations.  (What must not compile is in
 * tests/compile-fail/.)
 */
#include <limits.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>

#include "sk-test.h"

struct inner {
	int x;
};

/*
 * Truth values, not the argument: a caller may compare the result with 1
 * or store it in a narrow type.  Without the !! a 64-bit value with only
 * high bits set, or a fraction, would come back as itself (or as 0).
 */
Test(compiler, likely_and_unlikely_return_0_or_1)
{
	long long high = 1LL << 40;
	double half = 0.5;
	int x = 0, evaluated = 0;
	int *p = &x, *null = NULL;

	cr_assert_eq(sk_likely(7), 1);
	cr_assert_eq(sk_likely(-1), 1);
	cr_assert_eq(sk_likely(0), 0);
	cr_assert_eq(sk_likely(high), 1);
	cr_assert_eq(sk_likely(half), 1);
	cr_assert_eq(sk_likely(p), 1);
	cr_assert_eq(sk_likely(null), 0);
	cr_assert_eq(sk_unlikely(7), 1);
	cr_assert_eq(sk_unlikely(0), 0);
	cr_assert_eq(sk_unlikely(high), 1);
	cr_assert_eq(sk_unlikely(half), 1);
	cr_assert_eq(sk_unlikely(null), 0);
	/* The argument is evaluated exactly once. */
	cr_assert_eq(sk_likely(evaluated++), 0);
	cr_assert_eq(sk_unlikely(evaluated++), 1);
	cr_assert_eq(evaluated, 2);
}

struct outer {
	char pad[3];
	struct inner in;
	long tail[];
};

Test(compiler, container_of_finds_the_container)
{
	struct outer o;
	struct inner *ip = &o.in;
	const struct inner *cip = &o.in;
	void *vp = &o.in;

	cr_assert_eq(sk_container_of(ip, struct outer, in), &o);
	cr_assert_eq(sk_container_of(cip, struct outer, in), &o);
	cr_assert_eq(sk_container_of(vp, struct outer, in), &o);
	cr_assert_eq(sk_container_of(&o.pad, struct outer, pad), &o);
}

Test(compiler, read_once_write_once)
{
	long v = 1;
	void *p = NULL;

	SK_WRITE_ONCE(v, 42);
	cr_assert_eq(SK_READ_ONCE(v), 42);
	SK_WRITE_ONCE(p, &v);
	cr_assert_eq(SK_READ_ONCE(p), &v);
}

Test(compiler, check_overflow)
{
	size_t s;
	int i;
	unsigned int u;

	cr_assert_not(sk_check_add_overflow((size_t)1, (size_t)2, &s));
	cr_assert_eq(s, 3);
	cr_assert(sk_check_add_overflow(SIZE_MAX, (size_t)1, &s));
	cr_assert_not(sk_check_sub_overflow(5, 3, &u));
	cr_assert_eq(u, 2);
	cr_assert(sk_check_sub_overflow(3, 5, &u));
	cr_assert(sk_check_sub_overflow(INT_MIN, 1, &i));
	cr_assert_not(sk_check_mul_overflow(1000, 1000, &i));
	cr_assert_eq(i, 1000000);
	cr_assert(sk_check_mul_overflow(INT_MAX, 2, &i));
	cr_assert(sk_check_mul_overflow((size_t)1 << 33, (size_t)1 << 33, &s));
}

Test(compiler, size_arithmetic_saturates)
{
	struct outer *p = NULL;

	cr_assert_eq(sk_size_mul(3, 7), 21);
	cr_assert_eq(sk_size_mul(SIZE_MAX / 2, 3), SIZE_MAX);
	cr_assert_eq(sk_size_mul(0, SIZE_MAX), 0);
	cr_assert_eq(sk_size_add(3, 7), 10);
	cr_assert_eq(sk_size_add(SIZE_MAX, 1), SIZE_MAX);
	cr_assert_eq(sk_struct_size(p, tail, 4), sizeof(struct outer) + 4 * sizeof(long));
	cr_assert_eq(sk_struct_size(p, tail, SIZE_MAX / 4), SIZE_MAX);
	cr_assert_eq(sk_struct_size(p, tail, SIZE_MAX / 8), SIZE_MAX,
		     "a product that fits but whose sum does not must saturate too");
	/* A product that wraps to a small number (8 * (2^61 + 1) = 2^64 + 8). */
	cr_assert_eq(sk_struct_size(p, tail, ((size_t)1 << 61) + 1), SIZE_MAX);
	cr_assert_eq(sk_size_mul(8, ((size_t)1 << 61) + 1), SIZE_MAX);
}

Test(compiler, array_size)
{
	int a[7];
	struct outer b[3];

	cr_assert_eq(SK_ARRAY_SIZE(a), 7);
	cr_assert_eq(SK_ARRAY_SIZE(b), 3);
}

static const struct sk_callsite *where(const struct sk_callsite *cs)
{
	return cs;
}

Test(compiler, callsite_names_the_caller_line)
{
	int line = __LINE__ + 1;
	const struct sk_callsite *cs = where(SK_CALLSITE);

	cr_assert_str_eq(cs->file, __FILE__);
	cr_assert_str_eq(cs->func, __func__);
	cr_assert_eq(cs->line, (unsigned int)line);
}

Test(compiler, callsite_is_one_static_object_per_site)
{
	const struct sk_callsite *seen[2];

	for (int i = 0; i < 2; i++)
		seen[i] = where(SK_CALLSITE);
	cr_assert_eq(seen[0], seen[1], "one expansion site, one object");
	cr_assert_neq(where(SK_CALLSITE), seen[0], "two sites, two objects");
}

/* ------------------------------------------------------------------------
 * annotate.h.  At the debug level with <valgrind/helgrind.h> around, the
 * macros are Valgrind client requests; at the hardened level (as without
 * the headers) they are casts to void.  Both must behave alike in code.
 * ------------------------------------------------------------------------ */

#if defined(SK_DEBUG) && defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#define ANNOTATIONS_COMPILED_IN 1
#endif
#endif
#ifndef ANNOTATIONS_COMPILED_IN
#define ANNOTATIONS_COMPILED_IN 0
#endif

/*
 * Each is one statement (an unbraced if/else around it compiles) and
 * evaluates its address and size once, whichever definition is in use.
 */
Test(annotate, macros_are_statements_that_evaluate_once)
{
	long words[4] = { 0 };
	int before = 0, after = 0, benign = 0, size = 0;

	if (words[0] == 0)
		SK_ANNOTATE_HAPPENS_BEFORE(&words[before++]);
	else
		SK_ANNOTATE_HAPPENS_AFTER(&words[after++]);
	if (words[0] != 0)
		SK_ANNOTATE_HAPPENS_BEFORE(&words[before++]);
	else
		SK_ANNOTATE_HAPPENS_AFTER(&words[after++]);
	if (words[1] == 0)
		SK_ANNOTATE_BENIGN_RACE_SIZED(&words[++benign], sizeof(long) * (size_t)++size,
					      "test");
	else
		SK_ANNOTATE_HAPPENS_AFTER(&words[after++]);
	cr_assert_eq(before, 1);
	cr_assert_eq(after, 1);
	cr_assert_eq(benign, 1);
	cr_assert_eq(size, 1);
}

/*
 * Nonzero only under Valgrind, and only where the annotations are compiled
 * in; tests/valgrind.sh announces a Valgrind run with SAFEKERN_VALGRIND=1.
 */
Test(annotate, running_on_valgrind)
{
	int on = SK_RUNNING_ON_VALGRIND != 0;

	if (ANNOTATIONS_COMPILED_IN)
		cr_assert_eq(on, sk_test_under_valgrind(), "SK_RUNNING_ON_VALGRIND is %d", on);
	else
		cr_assert_eq(on, 0, "compiled out, yet nonzero");
}
