/* SPDX-License-Identifier: MIT */
/*
 * tests/test-alloc.c - the kmalloc family.
 */
#include <errno.h>

#include <safekern/alloc.h>

#include "sk-test.h"

/* Hide constant sizes from gcc, which rightly warns about them at compile time. */
static size_t opaque(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

Test(kmalloc, alloc_and_free)
{
	char *p = sk_kmalloc(100);

	cr_assert_not_null(p);
	memset(p, 0xab, 100);
	sk_kfree(p);
	p = sk_kmalloc(100);
	cr_assert_not_null(p);
	sk_kfree_sized(p, 100);
	sk_kfree(NULL);
	sk_kfree_sized(NULL, 8);
}

Test(kmalloc, zero_size_is_unique_and_freeable)
{
	void *a = sk_kmalloc(0), *b = sk_kmalloc(0);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_neq(a, b);
	sk_kfree(a);
	sk_kfree_sized(b, 0);
}

Test(kmalloc, kzalloc_and_kcalloc_are_zeroed)
{
	unsigned char *p = sk_kzalloc(4096);
	unsigned long *q = sk_kcalloc(512, sizeof(*q));

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(p[i], 0);
	for (int i = 0; i < 512; i++)
		cr_assert_eq(q[i], 0);
	sk_kfree_sized(p, 4096);
	sk_kfree_sized(q, 512 * sizeof(*q));
}

Test(kmalloc, array_overflow_returns_null_and_counts)
{
	unsigned long before = sk_kmalloc_overflows();

	errno = 0;
	cr_assert_null(sk_kmalloc_array(opaque(SIZE_MAX / 2), 3));
	cr_assert_eq(errno, EOVERFLOW);
	cr_assert_null(sk_kcalloc(opaque((size_t)1 << 33), (size_t)1 << 33));
	cr_assert_eq(sk_kmalloc_overflows(), before + 2);
}

Test(kmalloc, krealloc_array_keeps_contents_and_checks_overflow)
{
	int *p = sk_kmalloc_array(4, sizeof(int));
	int *q;
	unsigned long before = sk_kmalloc_overflows();

	cr_assert_not_null(p);
	for (int i = 0; i < 4; i++)
		p[i] = i * 11;
	q = sk_krealloc_array(p, 1000, sizeof(int));
	cr_assert_not_null(q);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(q[i], i * 11);
	/* Overflow: NULL, counted, and the old block is still ours. */
	cr_assert_null(sk_krealloc_array(q, opaque(SIZE_MAX / 2), sizeof(int)));
	cr_assert_eq(sk_kmalloc_overflows(), before + 1);
	cr_assert_eq(q[3], 33);
	sk_kfree(q);

	p = sk_krealloc_array(NULL, 8, sizeof(int));
	cr_assert_not_null(p);
	sk_kfree(p);
}

Test(kmalloc, huge_request_fails_cleanly)
{
	errno = 0;
	cr_assert_null(sk_kmalloc(opaque(SIZE_MAX - 4096)));
	cr_assert_eq(errno, ENOMEM);
}
