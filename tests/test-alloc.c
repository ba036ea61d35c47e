/* SPDX-License-Identifier: MIT */
/*
 * tests/test-alloc.c - the kmalloc family.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <safekern/alloc.h>

#include "sk-test.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Whether the library describes its blocks to a tool in this run. */
static bool tool_mode(void)
{
#ifdef TEST_ASAN
	return true;
#else
	return sk_test_under_valgrind();
#endif
}

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
	errno = 0;
	cr_assert_null(sk_kcalloc(opaque((size_t)1 << 33), (size_t)1 << 33));
	cr_assert_eq(errno, EOVERFLOW);
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
	errno = 0;
	cr_assert_null(sk_krealloc_array(q, opaque(SIZE_MAX / 2), sizeof(int)));
	cr_assert_eq(errno, EOVERFLOW);
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

Test(kmalloc, kzalloc_large_is_zeroed)
{
	size_t n = 1 << 20;
	unsigned char *p = sk_kzalloc(n);

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i += 4093)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(p[n - 1], 0);
	sk_kfree_sized(p, n);
}

Test(kmalloc, krealloc_array_shrinks_grows_and_goes_to_zero)
{
	unsigned char *p = sk_kmalloc_array(1000, 1);
	unsigned char *q;

	cr_assert_not_null(p);
	for (int i = 0; i < 1000; i++)
		p[i] = (unsigned char)i;
	q = sk_krealloc_array(p, 10, 1); /* shrink: the prefix stays */
	cr_assert_not_null(q);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(q[i], i);
	p = sk_krealloc_array(q, 200000, 1); /* grow into a large class */
	cr_assert_not_null(p);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(p[i], i);
	p[199999] = 7;
	q = sk_krealloc_array(p, 0, 8); /* zero bytes: a unique minimal block */
	cr_assert_not_null(q);
	sk_kfree(q);
}

/*
 * alloc.h said that a new size of 0 "frees nothing": but the old block is
 * consumed, as by realloc() (plain mode may return it, shrunk; tool mode
 * moves it), and freeing it again is a double free.
 */
Test(kmalloc, krealloc_array_to_zero_consumes_the_block, .init = sk_test_count_policy)
{
	char *p = sk_kmalloc(8), *q;

	cr_assert_not_null(p);
	q = sk_krealloc_array(p, 0, 8);
	cr_assert_not_null(q, "a size of 0 is not a failure");
	if (tool_mode()) {
		/* The tools' quarantine keeps p's address free: a clear double free. */
		cr_assert_neq(q, p);
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(p));
	}
	sk_kfree(q);
}

Test(kmalloc, sized_free_of_arrays)
{
	int *a = sk_kmalloc_array(7, sizeof(int));
	int *b = sk_kcalloc(9, sizeof(int));

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	sk_kfree_sized(a, 7 * sizeof(int));
	sk_kfree_sized(b, 9 * sizeof(int));
}

Test(kmalloc, many_sizes_round_trip)
{
	for (size_t size = 1; size < 70000; size = size * 3 / 2 + 1) {
		unsigned char *p = sk_kmalloc(size);

		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % (size >= 16 ? 16 : 8), 0);
		p[0] = 1;
		p[size - 1] = 2;
		sk_kfree_sized(p, size);
	}
}

/* In tool mode the kmalloc family checks frees as debug caches do. */
Test(kmalloc, tool_mode_checks_frees, .init = sk_test_count_policy)
{
	char *p, *q, *r;

	if (!tool_mode())
		cr_skip_test("not in tool mode (runs under memcheck and in ASan builds)");
	p = sk_kmalloc(128);
	q = sk_kmalloc(64);
	r = sk_kmalloc(32);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree(p + 64));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree_sized(p + 64, 64));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE,
			    cr_assert_null(sk_krealloc_array(p + 64, 2, 2)));
	/* Half of what precedes p + 16 is p's hidden header: still not a block. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree(p + 16));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree(p + 1));
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_WRONG_CACHE), 5);
	/* ... and p itself was left intact and accessible. */
	memset(p, 1, 128);
	sk_kfree(p);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(p));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree_sized(p, 128));
	/* A wrong size is reported and the block freed with the right one. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_kfree_sized(q, 65));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(q));
	/* A freed block is not resized: reported, NULL, nothing touched. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE,
			    cr_assert_null(sk_krealloc_array(q, 2, 64)));
	r = sk_krealloc_array(r, 100, 1);
	cr_assert_not_null(r);
	sk_kfree_sized(r, 100);
}

/*
 * Large blocks wait in the quarantine too: those above 4 MiB used to go
 * straight back to the allocator, so a second free was taken for a
 * foreign pointer (alloc_wrong_cache) or, once the memory came back from
 * an allocation, freed that new block without a report.  A block larger
 * than the whole quarantine (16 MiB) waits alone.
 */
Test(kmalloc, tool_mode_checks_frees_of_large_blocks, .init = sk_test_count_policy)
{
	static const size_t sizes[] = { (size_t)5 << 20, (size_t)20 << 20 };

	if (!tool_mode())
		cr_skip_test("not in tool mode (runs under memcheck and in ASan builds)");
	for (size_t i = 0; i < SK_ARRAY_SIZE(sizes); i++) {
		char *p = sk_kmalloc(sizes[i]), *q;

		cr_assert_not_null(p);
		p[0] = p[sizes[i] - 1] = 1;
		sk_kfree(p);
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(p));
		/* Not handed out again while it waits. */
		q = sk_kmalloc(sizes[i]);
		cr_assert_not_null(q);
		cr_assert_neq(q, p, "a quarantined block was handed out again");
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(p));
		sk_kfree(q);
	}
}

/*
 * A foreign pointer whose preceding bytes are not mapped at all (the
 * start of an mmap()ed buffer after a hole): refused like any other, not
 * read.  Under memcheck "not addressable" also means "not mapped", and
 * the header read faulted (SIGSEGV).
 */
Test(kmalloc, tool_mode_refuses_a_pointer_after_an_unmapped_page, .init = sk_test_count_policy)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m;

	if (!tool_mode())
		cr_skip_test("not in tool mode (runs under memcheck and in ASan builds)");
	m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(munmap(m, (size_t)page), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree(m + page));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree_sized(m + page, 64));
	m[page] = 1; /* untouched and still ours */
	cr_assert_eq(munmap(m + page, (size_t)page), 0);
}

/* ------------------------------------------------------------------------
 * The cleanup class kfree: sk_free(kfree)
 *
 * Whether the class freed a block is visible in tool mode (memcheck and
 * ASan runs), where the library checks frees: a further sk_kfree() of a
 * block the class freed is a reported double free, and one of a block it
 * did not free is fine.  Outside tool mode the tests still run every path
 * (and a double free by the class would corrupt jemalloc's heap).
 * ------------------------------------------------------------------------ */

/* In tool mode: true if @p was already freed (the probe free is refused). */
static bool was_freed(void *p)
{
	unsigned long before = sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE);
	bool freed;

	sk_kfree(p);
	freed = sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE) == before + 1;
	if (freed)
		SK_TEST_ACCOUNT(1); /* the probe's own report */
	return freed;
}

Test(kfree_class, frees_at_the_end_of_the_scope_exactly_once, .init = sk_test_count_policy)
{
	unsigned long v0 = sk_violation_total();
	char *seen;

	{
		char *p sk_free(kfree) = sk_kmalloc(64);

		cr_assert_not_null(p);
		memset(p, 0x5a, 64);
		seen = p;
	}
	cr_assert_eq(sk_violation_total(), v0, "the scope's free was reported");
	if (tool_mode()) {
		/* The scope freed it once (no report above): a second free is. */
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(seen));
	}
}

/* Every exit path frees: return, break, continue, goto out of the block. */
struct pair {
	long a;
	long b;
};

static void exit_by_return(void **seen)
{
	int *p sk_free(kfree) = sk_kcalloc(4, sizeof(int));

	*seen = p;
	if (p)
		return; /* freed here */
	cr_assert_fail("out of memory");
}

Test(kfree_class, every_exit_path_frees, .init = sk_test_count_policy)
{
	unsigned long v0 = sk_violation_total();
	void *seen[8];
	int n = 0;

	exit_by_return(&seen[n++]);
	for (int i = 0; i < 3; i++) {
		struct pair *q sk_free(kfree) = sk_kzalloc(sizeof(*q));

		cr_assert_not_null(q);
		seen[n++] = q;
		if (i == 0)
			continue; /* freed here */
		if (i == 1)
			break;    /* and here */
	}
	{
		char *r sk_free(kfree) = sk_kmalloc_array(8, 8);

		cr_assert_not_null(r);
		seen[n++] = r;
		goto out; /* freed here */
	}
out:
	cr_assert_eq(n, 4);
	cr_assert_eq(sk_violation_total(), v0);
	if (tool_mode())
		for (int i = 0; i < n; i++)
			cr_assert(was_freed(seen[i]), "block %d was not freed by its scope", i);
}

Test(kfree_class, null_is_ignored, .init = sk_test_count_policy)
{
	unsigned long v0 = sk_violation_total();

	{
		void *p sk_free(kfree) = NULL;

		cr_assert_null(p);
	}
	cr_assert_eq(sk_violation_total(), v0);
}

/* sk_no_free_ptr() hands the block over: the scope frees nothing. */
Test(kfree_class, no_free_ptr_hands_the_block_over, .init = sk_test_count_policy)
{
	char *kept;

	{
		char *p sk_free(kfree) = sk_kmalloc(32);

		cr_assert_not_null(p);
		kept = sk_no_free_ptr(p);
		cr_assert_null(p);
	}
	/* Still live: ASan and memcheck would report a use after free. */
	memset(kept, 1, 32);
	cr_assert_eq(kept[31], 1);
	if (tool_mode())
		cr_assert_not(was_freed(kept), "the scope freed a handed-over block");
	else
		sk_kfree(kept);
	cr_assert_eq(sk_violation_total(), 0UL);
}

/* sk_return_ptr() on the success path; the error paths free. */
static char *make_buf(size_t n, int fail)
{
	char *p sk_free(kfree) = sk_kmalloc(n);

	if (!p || fail)
		return NULL;
	memset(p, 'b', n);
	sk_return_ptr(p);
}

Test(kfree_class, return_ptr_returns_ownership, .init = sk_test_count_policy)
{
	char *b;

	SK_EXPECT_NO_VIOLATION(b = make_buf(16, 0));
	cr_assert_not_null(b);
	cr_assert_eq(b[15], 'b');
	SK_EXPECT_NO_VIOLATION(sk_kfree(b));
	SK_EXPECT_NO_VIOLATION(b = make_buf(16, 1));
	cr_assert_null(b);
}
