/* SPDX-License-Identifier: MIT */
/*
 * tests/test-slab.c - object caches: creation, allocation, statistics,
 * the leak report on destroy, the debug checks (use after free,
 * overflow, double free, wrong cache), tool mode, and a child program
 * under memcheck (or ASan) that must be caught by the tool.
 *
 * Built twice: hardened and -DSK_DEBUG.  Tests of the debug checks create
 * their caches with SK_SLAB_DEBUG, so they run at both levels.  Tests of
 * the magazines run where hardened caches have them: the hardened build
 * outside the tools (memcheck and ASan builds check that they are
 * bypassed); what the cache holds is checked against jemalloc's own
 * per-thread byte counters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <safekern/alloc.h>
#include <safekern/slab.h>

#include "sk-test.h"

#if defined(__has_include) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK_H 1
#endif

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

/* The slab_tools tests of hardened caches: skipped outside tool mode and
 * for debug caches (SAFEKERN_SLAB_DEBUG=1), which slab_debug covers. */
static void skip_unless_hardened_tool_mode(struct sk_kmem_cache *c)
{
	if (!tool_mode())
		cr_skip_test("not in tool mode (runs under memcheck and in ASan builds)");
	if (sk_kmem_cache_flags(c) & SK_SLAB_DEBUG)
		cr_skip_test("debug caches: covered by slab_debug");
}

/*
 * A write the tools would rightly flag, done on purpose so that the
 * library's own checks can be tested under memcheck and ASan too.
 */
__attribute__((noinline, no_sanitize("address"))) static void poke(void *p, size_t off,
								  unsigned char v)
{
#ifdef HAVE_MEMCHECK_H
	VALGRIND_DISABLE_ERROR_REPORTING;
#endif
	((volatile unsigned char *)p)[off] = v;
#ifdef HAVE_MEMCHECK_H
	VALGRIND_ENABLE_ERROR_REPORTING;
#endif
}

/* Hide constant sizes from gcc, which rightly warns about them at compile time. */
static size_t opaque(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

static struct sk_kmem_cache_stats stats_of(struct sk_kmem_cache *c)
{
	struct sk_kmem_cache_stats st;

	sk_kmem_cache_stats(c, &st);
	return st;
}

#define assert_stats(c, l, p, a, f)                                           \
	do {                                                                  \
		struct sk_kmem_cache_stats sk_st = stats_of(c);               \
		cr_assert(sk_st.live == (unsigned long)(l) &&                 \
				  sk_st.peak == (unsigned long)(p) &&         \
				  sk_st.allocs == (unsigned long)(a) &&       \
				  sk_st.frees == (unsigned long)(f),          \
			  "stats live %lu peak %lu allocs %lu frees %lu, expected %lu %lu %lu %lu", \
			  sk_st.live, sk_st.peak, sk_st.allocs, sk_st.frees,  \
			  (unsigned long)(l), (unsigned long)(p), (unsigned long)(a), \
			  (unsigned long)(f));                                \
	} while (0)

static struct sk_test_report last;

static void setup(void)
{
	sk_test_count_policy();
}

TestSuite(slab, .init = setup);
TestSuite(slab_debug, .init = setup);
TestSuite(slab_tools, .init = setup);

/* ------------------------------------------------------------------------
 * Creation
 * ------------------------------------------------------------------------ */

Test(slab, create_and_introspect)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("conn", 24, 0, 0, NULL);
	struct sk_kmem_cache *d = sk_kmem_cache_create(NULL, 8, 0, 0, NULL);

	cr_assert_not_null(c);
	cr_assert_not_null(d);
	cr_assert_str_eq(sk_kmem_cache_name(c), "conn");
	cr_assert_str_eq(sk_kmem_cache_name(d), "?");
	cr_assert_eq(sk_kmem_cache_size(c), 24);
	cr_assert_eq(sk_kmem_cache_align(c), 16);
	cr_assert_eq(sk_kmem_cache_align(d), 8);
#ifdef SK_DEBUG
	/* A unit built with -DSK_DEBUG creates debug caches. */
	cr_assert_eq(sk_kmem_cache_flags(c), SK_SLAB_DEBUG);
#else
	cr_assert_eq(sk_kmem_cache_flags(c), 0);
#endif
	assert_stats(c, 0, 0, 0, 0);
	cr_assert_eq(stats_of(c).quarantined, 0);
	/* NULL objects and caches are ignored. */
	sk_kmem_cache_free(c, NULL);
	assert_stats(c, 0, 0, 0, 0);
	cr_assert_eq(sk_kmem_cache_destroy(NULL), 0);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(d), 0);
	/* The flag selects the debug level in any unit. */
	c = sk_kmem_cache_create("dbg", 16, 0, SK_SLAB_DEBUG, NULL);
	cr_assert_eq(sk_kmem_cache_flags(c), SK_SLAB_DEBUG);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_violation_total(), 0);
}

Test(slab, create_rejects_invalid_arguments)
{
	struct sk_kmem_cache *c = NULL;

	errno = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    c = sk_kmem_cache_create("zero", opaque(0), 0, 0, NULL));
	cr_assert_null(c);
	cr_assert_eq(errno, EINVAL);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    c = sk_kmem_cache_create("align3", 16, 3, 0, NULL));
	cr_assert_null(c);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    c = sk_kmem_cache_create("align2M", 16, (size_t)2 << 20, 0, NULL));
	cr_assert_null(c);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    c = sk_kmem_cache_create("flags", 16, 0, 0x80, NULL));
	cr_assert_null(c);
}

Test(slab, create_size_overflow_fails_cleanly)
{
	unsigned long before = sk_kmalloc_overflows();
	struct sk_kmem_cache *c;

	errno = 0;
	SK_EXPECT_NO_VIOLATION(c = sk_kmem_cache_create("huge", opaque(SIZE_MAX - 8), 64, 0, NULL));
	cr_assert_null(c);
	cr_assert_eq(errno, EOVERFLOW);
	cr_assert_eq(sk_kmalloc_overflows(), before + 1);
	SK_EXPECT_NO_VIOLATION(c = sk_kmem_cache_create("huge", opaque(SIZE_MAX / 2), 0,
							SK_SLAB_DEBUG, NULL));
	cr_assert_null(c);
	cr_assert_eq(sk_kmalloc_overflows(), before + 2);
}

Test(slab, hwcache_align_follows_the_kernel)
{
	static const size_t sizes[][2] = { { 100, 64 }, { 64, 64 }, { 33, 64 }, { 32, 32 },
					   { 20, 32 }, { 16, 16 }, { 8, 8 }, { 5000, 64 } };

	for (size_t i = 0; i < SK_ARRAY_SIZE(sizes); i++) {
		struct sk_kmem_cache *c =
			sk_kmem_cache_create("hw", sizes[i][0], 0, SK_SLAB_HWCACHE_ALIGN, NULL);
		void *p;

		cr_assert_not_null(c);
		cr_assert_eq(sk_kmem_cache_align(c), sizes[i][1] < 8 ? 8 : sizes[i][1],
			     "size %zu: align %zu", sizes[i][0], sk_kmem_cache_align(c));
		cr_assert(sk_kmem_cache_flags(c) & SK_SLAB_HWCACHE_ALIGN);
		p = sk_kmem_cache_alloc(c);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % sizes[i][1], 0);
		sk_kmem_cache_free(c, p);
		cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	}
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

Test(slab, alloc_honours_size_and_alignment)
{
	static const size_t aligns[] = { 0, 1, 8, 16, 32, 64, 256, 4096 };
	static const size_t sizes[] = { 1, 24, 100, 4096, 5000, 70000 };

	for (size_t a = 0; a < SK_ARRAY_SIZE(aligns); a++) {
		for (size_t s = 0; s < SK_ARRAY_SIZE(sizes); s++) {
			struct sk_kmem_cache *c =
				sk_kmem_cache_create("sizes", sizes[s], aligns[a], 0, NULL);
			unsigned char *p[8];
			size_t want = sk_kmem_cache_align(c);

			cr_assert_not_null(c);
			cr_assert(want >= aligns[a] && want >= 8);
			for (int i = 0; i < 8; i++) {
				p[i] = sk_kmem_cache_alloc(c);
				cr_assert_not_null(p[i]);
				cr_assert_eq((uintptr_t)p[i] % want, 0, "size %zu align %zu: %p",
					     sizes[s], want, (void *)p[i]);
				memset(p[i], i, sizes[s]);
			}
			for (int i = 0; i < 8; i++) {
				cr_assert_eq(p[i][0], i);
				cr_assert_eq(p[i][sizes[s] - 1], i);
				sk_kmem_cache_free(c, p[i]);
			}
			assert_stats(c, 0, 8, 8, 8);
			cr_assert_eq(sk_kmem_cache_destroy(c), 0);
		}
	}
	cr_assert_eq(sk_violation_total(), 0);
}

Test(slab, zalloc_zeroes_even_reused_memory)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("z", 300, 0, 0, NULL);

	cr_assert_not_null(c);
	for (int round = 0; round < 4; round++) {
		unsigned char *p = sk_kmem_cache_zalloc(c);

		cr_assert_not_null(p);
		for (int i = 0; i < 300; i++)
			cr_assert_eq(p[i], 0, "round %d byte %d", round, i);
		memset(p, 0xee, 300);
		sk_kmem_cache_free(c, p);
	}
	assert_stats(c, 0, 1, 4, 4);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

struct conn {
	unsigned long magic;
	int refs;
	char buf[52];
};

static unsigned long ctor_calls;

static void conn_ctor(void *obj)
{
	struct conn *cn = obj;

	ctor_calls++;
	cr_assert_eq(cn->refs, cn->refs); /* touching it is fine */
	cn->magic = 0xc0ffee;
	cn->refs = 1;
}

Test(slab, constructor_runs_on_every_object)
{
	struct sk_kmem_cache *c =
		sk_kmem_cache_create("conn", sizeof(struct conn), alignof(struct conn), 0, conn_ctor);
	struct conn *a, *b, *b2;

	cr_assert_not_null(c);
	a = sk_kmem_cache_alloc(c);
	b = sk_kmem_cache_zalloc(c);
	cr_assert_eq(ctor_calls, 2);
	cr_assert_eq(a->magic, 0xc0ffee);
	cr_assert_eq(b->magic, 0xc0ffee);
	cr_assert_eq(b->refs, 1);
	for (size_t i = 0; i < sizeof(b->buf); i++)
		cr_assert_eq(b->buf[i], 0); /* zalloc: zeroed, then constructed */
	a->refs = 7;
	sk_kmem_cache_free(c, a);
	b2 = sk_kmem_cache_alloc(c);
	cr_assert_eq(ctor_calls, 3);
	cr_assert_eq(b2->refs, 1);
	/* With magazines it is the very object just freed: constructed again. */
	if (!tool_mode() && !(sk_kmem_cache_flags(c) & SK_SLAB_DEBUG))
		cr_assert_eq(b2, a);
	a = b2;
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/*
 * A constructor may store pointers (a self-pointer, as sk_init_list_head()
 * leaves), so an object from a cache is not fresh memory: the allocation
 * functions must not carry __attribute__((malloc)), which lets the
 * compiler assume that no pointer loaded from the object points back into
 * it.  With it, gcc 12 and clang 14 -O2 returned the stale 1 here.
 */
struct selfp {
	struct selfp *self;
	int v;
};

static void selfp_ctor(void *obj)
{
	struct selfp *n = obj;

	n->self = n;
	n->v = 0;
}

static SK_NOINLINE int selfp_store_through_self(struct sk_kmem_cache *c, bool zero,
						struct selfp **out)
{
	struct selfp *n = zero ? sk_kmem_cache_zalloc(c) : sk_kmem_cache_alloc(c);
	struct selfp *s;
	int r;

	*out = NULL;
	if (!n)
		return -1;
	n->v = 1;
	s = n->self;
	s->v = 2;
	r = n->v;
	*out = s; /* after the read: published before, the object escapes */
	return r;
}

Test(slab, constructor_pointers_into_the_object_are_not_assumed_away)
{
	struct sk_kmem_cache *c =
		sk_kmem_cache_create("selfp", sizeof(struct selfp), 0, 0, selfp_ctor);
	struct selfp *a, *b;

	cr_assert_not_null(c);
	cr_assert_eq(selfp_store_through_self(c, false, &a), 2);
	cr_assert_eq(selfp_store_through_self(c, true, &b), 2);
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(slab, statistics_are_exact_on_one_thread)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("st", 40, 0, 0, NULL);
	void *p[20];

	for (int i = 0; i < 10; i++)
		p[i] = sk_kmem_cache_alloc(c);
	assert_stats(c, 10, 10, 10, 0);
	for (int i = 0; i < 4; i++)
		sk_kmem_cache_free(c, p[i]);
	assert_stats(c, 6, 10, 10, 4);
	for (int i = 0; i < 2; i++)
		p[i] = sk_kmem_cache_alloc(c);
	assert_stats(c, 8, 10, 12, 4);
	/* A new peak reached and left between two reads is still recorded. */
	for (int i = 10; i < 15; i++)
		p[i] = sk_kmem_cache_alloc(c);
	for (int i = 10; i < 15; i++)
		sk_kmem_cache_free(c, p[i]);
	assert_stats(c, 8, 13, 17, 9);
	for (int i = 0; i < 2; i++)
		sk_kmem_cache_free(c, p[i]);
	for (int i = 4; i < 10; i++)
		sk_kmem_cache_free(c, p[i]);
	assert_stats(c, 0, 13, 17, 17);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/* ------------------------------------------------------------------------
 * Magazines and depot (hardened caches outside tool mode)
 * ------------------------------------------------------------------------ */

/* As slab.h documents for objects of up to 64 bytes. */
#define MAG_ROUNDS 128
#define DEPOT_MAGS 16

/* Whether @c has magazines in this run (else it must bypass them). */
static bool has_magazines(struct sk_kmem_cache *c)
{
	return !tool_mode() && !(sk_kmem_cache_flags(c) & SK_SLAB_DEBUG);
}

static struct sk_kmem_cache *mag_cache(const char *name)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create(name, 64, 0, 0, NULL);

	cr_assert_not_null(c);
	if (!has_magazines(c)) {
		cr_assert_eq(sk_kmem_cache_destroy(c), 0);
		cr_skip_test("no magazines here (debug cache or tool mode): see "
			     "slab_tools.tool_mode_bypasses_magazines");
	}
	return c;
}

/* The free objects a hardened cache holds (slab.h: the quarantined field). */
static unsigned long cached_of(struct sk_kmem_cache *c)
{
	return stats_of(c).quarantined;
}

/*
 * jemalloc's exact per-thread counters of bytes allocated and freed: an
 * independent witness that the cache gives everything back.
 */
struct je_counters {
	uint64_t *allocated, *deallocated;
};

static bool je_counters(struct je_counters *jc)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t);
	size_t sz = sizeof(jc->allocated);

	*(void **)&ctl = dlsym(RTLD_DEFAULT, "mallctl");
	return ctl && ctl("thread.allocatedp", &jc->allocated, &sz, NULL, 0) == 0 &&
	       ctl("thread.deallocatedp", &jc->deallocated, &sz, NULL, 0) == 0;
}

static uint64_t je_net(const struct je_counters *jc)
{
	return *jc->allocated - *jc->deallocated;
}

Test(slab, magazine_reuse_keeps_exact_statistics)
{
	struct sk_kmem_cache *c = mag_cache("mag");
	enum { N = 1000 };
	void **p = sk_kcalloc(N, sizeof(*p));
	void *q[10];

	for (int i = 0; i < 10; i++)
		q[i] = sk_kmem_cache_alloc(c);
	for (int i = 0; i < 10; i++)
		sk_kmem_cache_free(c, q[i]);
	/* Free, not live: they wait in the thread's magazine. */
	assert_stats(c, 0, 10, 10, 10);
	cr_assert_eq(cached_of(c), 10);
	/* Handed out again, last freed first, and counted as allocations. */
	for (int i = 9; i >= 0; i--)
		cr_assert_eq(sk_kmem_cache_alloc(c), q[i]);
	assert_stats(c, 10, 10, 20, 10);
	cr_assert_eq(cached_of(c), 0);
	for (int i = 0; i < 10; i++)
		sk_kmem_cache_free(c, q[i]);
	/* Batches larger than two magazines go through the depot and back. */
	for (int round = 1; round <= 3; round++) {
		for (int i = 0; i < N; i++) {
			p[i] = sk_kmem_cache_zalloc(c);
			cr_assert_eq(*(long *)p[i], 0);
			*(long *)p[i] = i;
		}
		assert_stats(c, N, N, 20 + round * N, 20 + (round - 1) * N);
		for (int i = 0; i < N; i++) {
			cr_assert_eq(*(long *)p[i], i);
			sk_kmem_cache_free(c, p[i]);
		}
		assert_stats(c, 0, N, 20 + round * N, 20 + round * N);
		cr_assert_eq(cached_of(c), N, "round %d: %lu cached", round, cached_of(c));
	}
	cr_assert_eq(sk_kmem_cache_shrink(c), N);
	cr_assert_eq(cached_of(c), 0);
	assert_stats(c, 0, N, 20 + 3 * N, 20 + 3 * N);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_violation_total(), 0);
	sk_kfree(p);
}

/* The naive double-free check: free(p); free(p) is refused, p not handed out twice. */
Test(slab, immediate_double_free_is_refused)
{
	struct sk_kmem_cache *c = mag_cache("dfree");
	void *p = sk_kmem_cache_alloc(c), *q = sk_kmem_cache_alloc(c), *a, *b;

	cr_assert(p && q && p != q);
	sk_kmem_cache_free(c, q);
	sk_kmem_cache_free(c, p);
	assert_stats(c, 0, 2, 2, 2);
	sk_test_record_start(&last);
	sk_kmem_cache_free(c, p);
	sk_test_record_stop();
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE), 1);
	cr_assert(strstr(last.detail, "double free"), "%s", last.detail);
	assert_stats(c, 0, 2, 2, 2); /* nothing moved */
	cr_assert_eq(cached_of(c), 2);
	a = sk_kmem_cache_alloc(c);
	b = sk_kmem_cache_alloc(c);
	cr_assert(a == p && b == q, "the refused free must not have queued p again");
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_violation_total(), 1);
}

/* The same with p the only object in the magazine. */
Test(slab, immediate_double_free_of_the_only_cached_object_is_refused)
{
	struct sk_kmem_cache *c = mag_cache("dfree1");
	void *p = sk_kmem_cache_alloc(c), *a, *b;

	cr_assert_not_null(p);
	sk_kmem_cache_free(c, p);
	cr_assert_eq(cached_of(c), 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, p));
	cr_assert_eq(cached_of(c), 1);
	a = sk_kmem_cache_alloc(c);
	b = sk_kmem_cache_alloc(c);
	cr_assert(a == p && b != p, "the refused free must not have queued p again");
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(slab, magazines_and_depot_are_bounded)
{
	struct sk_kmem_cache *c = mag_cache("cap");
	/* One thread: its two magazines and a full depot. */
	const unsigned long cap = (DEPOT_MAGS + 2) * MAG_ROUNDS;
	enum { N = 5000 };
	void **p = sk_kcalloc(N, sizeof(*p));
	unsigned long held;

	for (int i = 0; i < N; i++)
		p[i] = sk_kmem_cache_alloc(c);
	for (int i = 0; i < N; i++) {
		sk_kmem_cache_free(c, p[i]);
		if (i % 97 == 0)
			cr_assert_leq(cached_of(c), cap, "after %d frees", i + 1);
	}
	assert_stats(c, 0, N, N, N);
	/* The depot is full; what did not fit went back to the allocator. */
	cr_assert_geq(cached_of(c), DEPOT_MAGS * MAG_ROUNDS);
	cr_assert_leq(cached_of(c), cap);
	held = cached_of(c);
	cr_assert_eq(sk_kmem_cache_shrink(c), held);
	cr_assert_eq(cached_of(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	sk_kfree(p);
}

Test(slab, destroy_returns_magazines_and_depot)
{
	struct je_counters jc;
	struct sk_kmem_cache *c;
	uint64_t before;
	enum { N = 3000 };
	static void *p[N];

	if (!je_counters(&jc))
		cr_skip_test("not on jemalloc (-Dalloc_backend=libc): no byte counters");
	before = je_net(&jc);
	c = mag_cache("gone");
	for (int i = 0; i < N; i++)
		p[i] = sk_kmem_cache_alloc(c);
	for (int i = 0; i < N; i++)
		sk_kmem_cache_free(c, p[i]);
	/* Objects in both magazines and in the depot. */
	cr_assert_gt(cached_of(c), 2 * MAG_ROUNDS);
	cr_assert_gt(je_net(&jc), before + cached_of(c) * 64);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kmem_cache_destroy(c), 0));
	/* Every byte this thread took from jemalloc went back: objects, magazines, cache. */
	cr_assert_eq(je_net(&jc), before, "%lld bytes kept after destroy",
		     (long long)(je_net(&jc) - before));
}

Test(slab, destroy_with_live_objects_empties_magazines)
{
	struct je_counters jc;
	struct sk_kmem_cache *c;
	uint64_t before;
	void *keep, *p[100];

	if (!je_counters(&jc))
		cr_skip_test("not on jemalloc (-Dalloc_backend=libc): no byte counters");
	c = mag_cache("half");
	keep = sk_kmem_cache_alloc(c);
	for (int i = 0; i < 100; i++)
		p[i] = sk_kmem_cache_alloc(c);
	for (int i = 0; i < 100; i++)
		sk_kmem_cache_free(c, p[i]);
	cr_assert_eq(cached_of(c), 100);
	before = je_net(&jc);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_LEAK, cr_assert_eq(sk_kmem_cache_destroy(c), -EBUSY));
	/*
	 * The live object stays; the 100 cached ones (and the magazines) went
	 * back.  The destroyed cache took a table of the addresses freed to it
	 * (two 8-byte slots for each object live or given back here, rounded
	 * up to a power of two: 256 slots) until it is released.
	 */
	cr_assert_geq((int64_t)(before - je_net(&jc)) + 256 * 8, 100 * 64);
	assert_stats(c, 1, 101, 101, 100);
	cr_assert_eq(cached_of(c), 0);
	sk_kmem_cache_free(c, keep); /* releases the cache */
}

struct mag_thread {
	struct sk_kmem_cache *cache;
	unsigned int n;
};

static void *alloc_free_exit(void *arg)
{
	struct mag_thread *t = arg;
	void *p[200];

	for (unsigned int i = 0; i < t->n; i++)
		p[i] = sk_kmem_cache_alloc(t->cache);
	for (unsigned int i = 0; i < t->n; i++)
		sk_kmem_cache_free(t->cache, p[i]);
	return NULL;
}

/*
 * A double free to a destroyed cache counted its live objects down early:
 * the cache was released with an object still live, and that object's
 * (correct) free then wrote into the released cache, or into a new cache
 * at its address.  Nothing is allocated from a destroyed cache, so any
 * address freed to it twice is refused, older frees too; the cache lives
 * until its last real object goes.
 */
Test(slab, double_free_to_a_destroyed_cache_is_refused)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("dead", 64, 0, 0, NULL);
	void *p[3];

	cr_assert_not_null(c);
	for (int i = 0; i < 3; i++)
		cr_assert_not_null(p[i] = sk_kmem_cache_alloc(c));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_LEAK, cr_assert_eq(sk_kmem_cache_destroy(c), -EBUSY));
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, p[0]));
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, p[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, p[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, p[0]));
	/* Still there, one object live (memcheck and ASan see a released cache). */
	assert_stats(c, 1, 3, 3, 2);
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, p[2])); /* releases the cache */
}

struct free_batch {
	struct sk_kmem_cache *cache;
	void **objs;
	unsigned int n;
};

static void *free_then_exit(void *arg)
{
	struct free_batch *b = arg;

	for (unsigned int i = 0; i < b->n; i++)
		sk_kmem_cache_free(b->cache, b->objs[i]);
	return NULL;
}

/*
 * The same double free split across the destroy: the first free before it
 * (the object waits in a magazine or the depot), the second after.  The
 * destroy gave the object back to the allocator; its second free passed
 * for the free of a live object, counted the cache down to zero and
 * released it under the real last object, whose free then wrote into the
 * released cache.  The destroy records the addresses it gives back, so
 * the second free is refused and the cache lives until its last object.
 */
Test(slab, double_free_across_destroy_is_refused)
{
	struct sk_kmem_cache *c = mag_cache("split");
	enum { N = 1000, M = 150 };
	void **p = sk_kcalloc(N + M, sizeof(*p));
	struct free_batch b = { .cache = c, .objs = p + N, .n = M };
	void *live, *a;
	unsigned long before;
	pthread_t th;

	cr_assert_not_null(p);
	cr_assert_not_null(live = sk_kmem_cache_alloc(c));
	cr_assert_not_null(a = sk_kmem_cache_alloc(c));
	for (int i = 0; i < N + M; i++)
		cr_assert_not_null(p[i] = sk_kmem_cache_alloc(c));
	/* More than two magazines' worth: this thread's magazines and the depot. */
	for (int i = 0; i < N; i++)
		sk_kmem_cache_free(c, p[i]);
	sk_kmem_cache_free(c, a); /* on top of this thread's magazine */
	/* Another thread's magazines, handed to the depot when it exits. */
	cr_assert_eq(pthread_create(&th, NULL, free_then_exit, &b), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(cached_of(c), N + M + 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_LEAK, cr_assert_eq(sk_kmem_cache_destroy(c), -EBUSY));
	assert_stats(c, 1, N + M + 2, N + M + 2, N + M + 1);

	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, a));
	assert_stats(c, 1, N + M + 2, N + M + 2, N + M + 1); /* not counted: still there */
	/* Every object the destroy took from a magazine or the depot. */
	before = sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE);
	for (int i = 0; i < N + M; i++)
		sk_kmem_cache_free(c, p[i]);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE) - before, N + M);
	cr_assert_eq(sk_violation_total(), 2 + N + M);
	SK_TEST_ACCOUNT(N + M);
	assert_stats(c, 1, N + M + 2, N + M + 2, N + M + 1);
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, live)); /* releases the cache */
	sk_kfree(p);
}

Test(slab, thread_exit_hands_magazines_to_the_depot)
{
	struct je_counters jc;
	struct mag_thread t = { .cache = mag_cache("exit"), .n = 200 };
	pthread_t th;
	uint64_t before;
	unsigned long n = 201;
	void *p[200];

	/*
	 * This thread takes a shard of its own first, so that it cannot
	 * inherit the exiting thread's shard (and magazines) afterwards.
	 */
	sk_kmem_cache_free(t.cache, sk_kmem_cache_alloc(t.cache));
	cr_assert_eq(sk_kmem_cache_shrink(t.cache), 1);
	/* 200 objects: a full magazine and a partial one, both the thread's. */
	cr_assert_eq(pthread_create(&th, NULL, alloc_free_exit, &t), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_stats(t.cache, 0, 200, 201, 201);
	cr_assert_eq(cached_of(t.cache), 200);
	/* They are in the depot now: this thread gets them without the allocator. */
	if (je_counters(&jc)) {
		before = *jc.allocated;
		for (int i = 0; i < 200; i++)
			p[i] = sk_kmem_cache_alloc(t.cache);
		cr_assert_eq(*jc.allocated, before, "allocated %llu bytes, expected none",
			     (unsigned long long)(*jc.allocated - before));
		for (int i = 0; i < 200; i++)
			sk_kmem_cache_free(t.cache, p[i]);
		n += 200;
	}
	/* And a shrink from here reaches every one of them. */
	cr_assert_eq(sk_kmem_cache_shrink(t.cache), 200);
	cr_assert_eq(cached_of(t.cache), 0);
	assert_stats(t.cache, 0, 200, n, n);
	cr_assert_eq(sk_kmem_cache_destroy(t.cache), 0);
}

/*
 * A thread whose exit uses a cache after the library's own exit hook has
 * run (another key's destructor frees an object, in glibc's last round of
 * destructors) took a fresh shard and set the hook's key again, and the
 * hook never ran again: the shard stayed taken for the life of the
 * process, with its magazines.  After 63 such threads every new thread was
 * on the shared shard, without magazines.  The rest of an exit now runs
 * on the shared shard.
 */
static struct sk_kmem_cache *late_cache;
static pthread_key_t late_key;

struct late_user {
	unsigned int round;
	void *obj;
};

static void late_user_dtor(void *v)
{
	struct late_user *u = v;

	/* Re-armed until glibc's last round, as a per-thread pool may be. */
	if (++u->round < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(late_key, u);
		return;
	}
	sk_kmem_cache_free(late_cache, u->obj);
	u->obj = sk_kmem_cache_alloc(late_cache);
	sk_kmem_cache_free(late_cache, u->obj);
}

static void *late_user_thread(void *arg)
{
	struct late_user *u = arg;

	u->obj = sk_kmem_cache_alloc(late_cache);
	pthread_setspecific(late_key, u);
	return NULL;
}

/* Whether a new thread's free stays in a magazine of its own. */
static void *probe_magazines(void *arg)
{
	void *p = sk_kmem_cache_alloc(late_cache);
	unsigned long before = cached_of(late_cache);

	sk_kmem_cache_free(late_cache, p);
	*(bool *)arg = cached_of(late_cache) == before + 1;
	return NULL;
}

Test(slab, cache_use_late_in_thread_exit_keeps_shards_free)
{
	enum { THREADS = 2 * 64 };
	static struct late_user users[THREADS];
	bool has_mag = false;
	pthread_t th;

	late_cache = mag_cache("late");
	/*
	 * The library's key first: glibc runs a round's destructors in key
	 * order, and a key set by an earlier key's destructor would still
	 * have its own run in the same round.
	 */
	sk_kmem_cache_free(late_cache, sk_kmem_cache_alloc(late_cache));
	cr_assert_eq(pthread_key_create(&late_key, late_user_dtor), 0);
	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_create(&th, NULL, late_user_thread, &users[i]), 0);
		cr_assert_eq(pthread_join(th, NULL), 0);
		cr_assert_eq(users[i].round, PTHREAD_DESTRUCTOR_ITERATIONS);
	}
	assert_stats(late_cache, 0, 1, 2 * THREADS + 1, 2 * THREADS + 1);
	cr_assert_eq(pthread_create(&th, NULL, probe_magazines, &has_mag), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert(has_mag, "a new thread has no shard of its own left");
	cr_assert_eq(pthread_key_delete(late_key), 0);
	cr_assert_eq(sk_kmem_cache_destroy(late_cache), 0);
	cr_assert_eq(sk_violation_total(), 0);
}

struct parked {
	struct sk_kmem_cache *cache;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage; /* 1: magazines filled; 2: cache destroyed, exit */
};

static void *fill_then_wait(void *arg)
{
	struct parked *pk = arg;
	void *p[50];

	for (int i = 0; i < 50; i++)
		p[i] = sk_kmem_cache_alloc(pk->cache);
	for (int i = 0; i < 50; i++)
		sk_kmem_cache_free(pk->cache, p[i]);
	pthread_mutex_lock(&pk->lock);
	pk->stage = 1;
	pthread_cond_broadcast(&pk->cond);
	while (pk->stage != 2)
		pthread_cond_wait(&pk->cond, &pk->lock);
	pthread_mutex_unlock(&pk->lock);
	return NULL; /* exits after its cache was destroyed */
}

Test(slab, destroy_before_a_thread_exits_takes_its_magazines)
{
	struct je_counters jc;
	struct parked pk = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct sk_kmem_cache *other;
	uint64_t before = 0;
	bool je = je_counters(&jc);
	pthread_t th;

	pk.cache = mag_cache("early");
	other = mag_cache("other");
	cr_assert_eq(pthread_create(&th, NULL, fill_then_wait, &pk), 0);
	pthread_mutex_lock(&pk.lock);
	while (pk.stage != 1)
		pthread_cond_wait(&pk.cond, &pk.lock);
	/* The thread's 50 objects sit in its magazines; destroy takes them. */
	cr_assert_eq(cached_of(pk.cache), 50);
	if (je)
		before = *jc.deallocated;
	cr_assert_eq(sk_kmem_cache_destroy(pk.cache), 0);
	if (je)
		cr_assert_geq(*jc.deallocated - before, 50 * 64);
	/* Its exit must not touch the destroyed cache, only the live one. */
	pk.stage = 2;
	pthread_cond_broadcast(&pk.cond);
	pthread_mutex_unlock(&pk.lock);
	cr_assert_eq(pthread_join(th, NULL), 0);
	assert_stats(other, 0, 0, 0, 0);
	cr_assert_eq(sk_kmem_cache_destroy(other), 0);
	cr_assert_eq(sk_violation_total(), 0);
}

Test(slab, large_objects_bypass_magazines)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("big", 5000, 0, 0, NULL);
	void *a = sk_kmem_cache_alloc(c);

	sk_kmem_cache_free(c, a);
	assert_stats(c, 0, 1, 1, 1);
	if (!(sk_kmem_cache_flags(c) & SK_SLAB_DEBUG))
		cr_assert_eq(cached_of(c), 0); /* (a debug cache's quarantine holds it) */
	cr_assert_eq(sk_kmem_cache_shrink(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/* ------------------------------------------------------------------------
 * Destroy with live objects
 * ------------------------------------------------------------------------ */

static void destroy_with_live(unsigned int flags)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("leaky", 64, 0, flags, NULL);
	char *a = sk_kmem_cache_alloc(c);
	char *b = sk_kmem_cache_alloc(c);
	int rc = 0;
	void *none = (void *)1;

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	memset(a, 'a', 64);
	sk_test_record_start(&last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_LEAK, rc = sk_kmem_cache_destroy(c));
	sk_test_record_stop();
	cr_assert_eq(rc, -EBUSY);
	cr_assert(strstr(last.detail, "\"leaky\" destroyed with 2 live objects"), "%s",
		  last.detail);
	/* Nothing was released: the objects and the statistics are intact. */
	cr_assert_eq(a[63], 'a');
	memset(b, 'b', 64);
	assert_stats(c, 2, 2, 2, 0);
	/* The destroyed cache refuses new objects and a second destroy. */
	errno = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, none = sk_kmem_cache_alloc(c));
	cr_assert_null(none);
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, none = sk_kmem_cache_zalloc(c));
	cr_assert_null(none);
	cr_assert_eq(errno, EINVAL);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, rc = sk_kmem_cache_destroy(c));
	cr_assert_eq(rc, -EBUSY);
	/* It takes its objects back; the last one releases it (memcheck: no leak). */
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, a));
	assert_stats(c, 1, 2, 2, 1);
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, b));
}

Test(slab, destroy_with_live_objects_reports_and_keeps_them)
{
	destroy_with_live(0);
}

Test(slab_debug, destroy_with_live_objects_reports_and_keeps_them)
{
	destroy_with_live(SK_SLAB_DEBUG);
}

static int alloc_here_line;

static __attribute__((noinline)) void *alloc_here(struct sk_kmem_cache *c)
{
	alloc_here_line = __LINE__ + 1;
	return sk_kmem_cache_alloc(c);
}

Test(slab_debug, destroy_leak_report_names_allocation_sites)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("sites", 32, 0, SK_SLAB_DEBUG, NULL);
	void *a = alloc_here(c), *b = alloc_here(c);
	void *d = sk_kmem_cache_alloc(c);
	char want[128];

	sk_test_record_start(&last);
	cr_assert_eq(sk_kmem_cache_destroy(c), -EBUSY);
	sk_test_record_stop();
	cr_assert_eq(last.calls, 1);
	cr_assert(strstr(last.detail, "with 3 live objects"), "%s", last.detail);
	/* Grouped by site: alloc_here() twice, this test once. */
	snprintf(want, sizeof(want), "test-slab.c:%d in alloc_here() x2 (", alloc_here_line);
	cr_assert(strstr(last.detail, want), "want \"%s\" in: %s", want, last.detail);
	cr_assert(strstr(last.detail, "x1 ("), "%s", last.detail);
	snprintf(want, sizeof(want), "%p", a);
	cr_assert(strstr(last.detail, want), "address %s missing: %s", want, last.detail);
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	sk_kmem_cache_free(c, d);
}

/*
 * The leak report of a debug cache destroyed with many live objects takes
 * time in proportion to them (it grouped them by site comparing each with
 * every earlier one, under the library-wide debug lock: 200,000 objects
 * did not finish in 30 s), and still counts the sites it has no room to
 * show.
 */
Test(slab_debug, leak_report_of_many_objects_is_quick)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("many", 32, 0, SK_SLAB_DEBUG, NULL);
	static struct sk_callsite cs[101];
	unsigned long n = sk_test_under_valgrind() ? 3000 : 200000, shown = 0;
	void **objs = calloc(n + 100, sizeof(*objs));
	const char *p;
	char want[64];

	cr_assert_not_null(c);
	cr_assert_not_null(objs);
	for (unsigned int i = 0; i < 101; i++)
		cs[i] = (struct sk_callsite){ "many.c", "site", i + 1 };
	/* One site holds n objects; 100 more sites one each (newest first in the report). */
	for (unsigned long i = 0; i < n; i++)
		cr_assert_not_null(objs[i] = sk__kmem_cache_alloc(c, &cs[0]));
	for (unsigned long i = 0; i < 100; i++)
		cr_assert_not_null(objs[n + i] = sk__kmem_cache_alloc(c, &cs[i + 1]));
	sk_test_record_start(&last);
	cr_assert_eq(sk_kmem_cache_destroy(c), -EBUSY);
	sk_test_record_stop();
	cr_assert_eq(last.calls, 1);
	snprintf(want, sizeof(want), "with %lu live objects", n + 100);
	cr_assert(strstr(last.detail, want), "%s", last.detail);
	for (p = last.detail; (p = strstr(p, " x1 (")); p++)
		shown++;
	cr_assert(shown > 0 && shown < 100, "%lu sites shown: %s", shown, last.detail);
	snprintf(want, sizeof(want), "; and %lu more sites", 101 - shown);
	cr_assert(strstr(last.detail, want), "want \"%s\" in: %s", want, last.detail);
	for (unsigned long i = 0; i < n + 100; i++)
		sk_kmem_cache_free(c, objs[i]);
	free(objs);
}

/* ------------------------------------------------------------------------
 * Debug caches
 * ------------------------------------------------------------------------ */

/*
 * As slab.h documents: allocations reuse the oldest quarantined object only
 * while more than this many objects are quarantined.
 */
#define QUARANTINE_REUSE 256

/*
 * Free @n objects to @c (fresh ones, allocated first and all live at
 * once), behind those already quarantined: with at least one there and @n
 * QUARANTINE_REUSE, the next allocation takes the oldest.
 */
static void quarantine_more(struct sk_kmem_cache *c, unsigned int n)
{
	void **p = sk_kcalloc(n, sizeof(*p));

	cr_assert_not_null(p);
	for (unsigned int i = 0; i < n; i++)
		cr_assert_not_null(p[i] = sk_kmem_cache_alloc(c));
	for (unsigned int i = 0; i < n; i++)
		sk_kmem_cache_free(c, p[i]);
	sk_kfree(p);
}

Test(slab_debug, quarantine_is_fifo_and_counted)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("q", 32, 0, SK_SLAB_DEBUG, NULL);
	unsigned char *a = sk_kmem_cache_alloc(c), *b = sk_kmem_cache_alloc(c);
	void *x, *y;

	/* New objects are filled with 0x5a (undefined to memcheck: read natively). */
	if (!sk_test_under_valgrind())
		for (int i = 0; i < 32; i++)
			cr_assert_eq(a[i], 0x5a);
	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(stats_of(c).quarantined, 2);
	assert_stats(c, 0, 2, 2, 2);
	/* Allocations take the oldest freed objects, checked, once enough are quarantined. */
	quarantine_more(c, QUARANTINE_REUSE);
	cr_assert_eq(stats_of(c).quarantined, 2 + QUARANTINE_REUSE);
	SK_EXPECT_NO_VIOLATION(x = sk_kmem_cache_alloc(c));
	SK_EXPECT_NO_VIOLATION(y = sk_kmem_cache_alloc(c));
	cr_assert_eq(x, (void *)a);
	cr_assert_eq(y, (void *)b);
	cr_assert_eq(stats_of(c).quarantined, QUARANTINE_REUSE);
	assert_stats(c, 2, QUARANTINE_REUSE, 4 + QUARANTINE_REUSE, 2 + QUARANTINE_REUSE);
	sk_kmem_cache_free(c, x);
	sk_kmem_cache_free(c, y);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/*
 * A freed object was handed out again by the very next allocation (the
 * quarantine gave its oldest object whenever it held one): free(p);
 * q = alloc() gave q == p, and a write through p after its free landed in
 * the live q, unseen by the cache and by memcheck.  It now stays
 * quarantined (poisoned, checked) through QUARANTINE_REUSE later frees.
 */
Test(slab_debug, freed_object_is_not_handed_out_at_once)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("qr", 64, 0, SK_SLAB_DEBUG, NULL);
	char *p = sk_kmem_cache_alloc(c), *q = NULL;

	cr_assert_not_null(p);
	sk_kmem_cache_free(c, p);
	for (int i = 0; i < QUARANTINE_REUSE; i++) {
		SK_EXPECT_NO_VIOLATION(q = sk_kmem_cache_alloc(c));
		cr_assert_not_null(q);
		cr_assert_neq(q, p, "freed object handed out again at allocation %d", i + 1);
		sk_kmem_cache_free(c, q);
	}
	poke(p, 0, 'X'); /* the use after free, still in poisoned memory */
	/* Now the oldest is reused: checked first, reported, never handed out. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE, q = sk_kmem_cache_alloc(c));
	cr_assert_not_null(q);
	cr_assert_neq(q, p);
	sk_kmem_cache_free(c, q);
	assert_stats(c, 0, 1, 2 + QUARANTINE_REUSE, 2 + QUARANTINE_REUSE);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(slab_debug, quarantine_is_bounded)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("qb", 16, 0, SK_SLAB_DEBUG, NULL);
	enum { N = 1100 };
	void **p = sk_kcalloc(N, sizeof(*p));

	for (int i = 0; i < N; i++)
		p[i] = sk_kmem_cache_alloc(c);
	for (int i = 0; i < N; i++)
		sk_kmem_cache_free(c, p[i]);
	cr_assert_eq(stats_of(c).quarantined, 1024);
	assert_stats(c, 0, N, N, N);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_violation_total(), 0);
	sk_kfree(p);
}

/*
 * A write to a freed object of a debug cache is caught by the next
 * allocation that reaches it, plain or zeroed: reported with the byte and
 * the free's site, and a fresh object handed out instead (zeroed for
 * zalloc), never the damaged one.
 */
static void check_uaf_caught_on_next_alloc(bool zero)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("uaf", 48, 0, SK_SLAB_DEBUG, NULL);
	char *a = sk_kmem_cache_alloc(c);
	char *b = NULL;

	sk_kmem_cache_free(c, a);
	poke(a, 10, 'X'); /* the bug */
	quarantine_more(c, QUARANTINE_REUSE); /* a is the oldest: the next to reuse */
	sk_test_record_start(&last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE,
			    b = zero ? sk_kmem_cache_zalloc(c) : sk_kmem_cache_alloc(c));
	sk_test_record_stop();
	cr_assert(strstr(last.detail, "byte 10 is 0x58, expected 0x6b"), "%s", last.detail);
	cr_assert(strstr(last.detail, "freed at ") && strstr(last.detail, "test-slab.c:"), "%s",
		  last.detail);
	cr_assert_not_null(b);
	cr_assert_neq(b, a);
	for (int i = 0; zero && i < 48; i++)
		cr_assert_eq(b[i], 0, "byte %d", i);
	/* b is fresh: the quarantine keeps the others, never a. */
	assert_stats(c, 1, QUARANTINE_REUSE, 2 + QUARANTINE_REUSE, 1 + QUARANTINE_REUSE);
	cr_assert_eq(stats_of(c).quarantined, QUARANTINE_REUSE);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(slab_debug, use_after_free_is_caught_on_next_alloc)
{
	check_uaf_caught_on_next_alloc(false);
}

Test(slab_debug, use_after_free_is_caught_on_next_zalloc)
{
	check_uaf_caught_on_next_alloc(true);
}

Test(slab_debug, use_after_free_anywhere_is_caught_on_alloc_and_destroy)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("uaf2", 13, 0, SK_SLAB_DEBUG, NULL);
	char *a = sk_kmem_cache_alloc(c);
	char *b = sk_kmem_cache_alloc(c);
	void *x = NULL;
	int rc = -1;

	sk_kmem_cache_free(c, a);
	sk_kmem_cache_free(c, b);
	poke(a, 12, 0);  /* the last byte (0xa5) */
	poke(b, 13, 0);  /* the red zone of a free object */
	quarantine_more(c, QUARANTINE_REUSE); /* a and b are the next to reuse */
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE, x = sk_kmem_cache_alloc(c));
	sk_kmem_cache_free(c, x);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE, x = sk_kmem_cache_alloc(c));
	sk_kmem_cache_free(c, x);
	/* Objects still quarantined are checked when the cache goes. */
	x = sk_kmem_cache_alloc(c);
	sk_kmem_cache_free(c, x);
	poke(x, 0, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE, rc = sk_kmem_cache_destroy(c));
	cr_assert_eq(rc, 0);
}

static void overflow_at(size_t size, size_t off)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("ovf", size, 0, SK_SLAB_DEBUG, NULL);
	char *a = sk_kmem_cache_alloc(c);
	unsigned long total = sk_violation_total();
	void *b;

	poke(a, off, 'Z');
	sk_test_record_start(&last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_OVERFLOW, sk_kmem_cache_free(c, a));
	sk_test_record_stop();
	cr_assert(strstr(last.detail, "is 0x5a, expected 0xcc"), "%s", last.detail);
	/* Reported, then freed: the statistics moved, the red zone was restored. */
	assert_stats(c, 0, 1, 1, 1);
	quarantine_more(c, QUARANTINE_REUSE);
	SK_EXPECT_NO_VIOLATION(b = sk_kmem_cache_alloc(c));
	cr_assert_eq(b, a);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_violation_total(), total + 1);
}

/* A write after free anywhere in a quarantined object, its padding and
 * red zone included (13 bytes, 3 of padding, 16 of red zone), is caught. */
Test(slab_debug, use_after_free_at_every_offset_is_caught)
{
	for (size_t off = 0; off < 13 + 3 + 16; off++) {
		struct sk_kmem_cache *c = sk_kmem_cache_create("uaf3", 13, 0, SK_SLAB_DEBUG, NULL);
		char *a = sk_kmem_cache_alloc(c);
		int rc = -1;

		sk_kmem_cache_free(c, a);
		poke(a, off, 'Z');
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_USE_AFTER_FREE,
				    rc = sk_kmem_cache_destroy(c));
		cr_assert_eq(rc, 0, "offset %zu", off);
	}
}

Test(slab_debug, overflow_is_caught_on_free)
{
	overflow_at(40, 40);      /* one byte past the object */
	overflow_at(13, 15);      /* padding up to 8 bytes belongs to the red zone */
	overflow_at(13, 13 + 3 + 16 - 1); /* the last red zone byte */
}

Test(slab_debug, double_free_is_refused)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("df", 32, 0, SK_SLAB_DEBUG, NULL);
	void *a = sk_kmem_cache_alloc(c);
	void *b = sk_kmem_cache_alloc(c);

	sk_kmem_cache_free(c, a);
	assert_stats(c, 1, 2, 2, 1);
	sk_test_record_start(&last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, a));
	sk_test_record_stop();
	cr_assert(strstr(last.detail, "already free (freed at ") &&
			  strstr(last.detail, "test-slab.c:"),
		  "%s", last.detail);
	assert_stats(c, 1, 2, 2, 1);
	cr_assert_eq(stats_of(c).quarantined, 1);
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(slab_debug, wrong_cache_is_refused)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("mine", 32, 0, SK_SLAB_DEBUG, NULL);
	struct sk_kmem_cache *o = sk_kmem_cache_create("other", 32, 0, SK_SLAB_DEBUG, NULL);
	void *a = sk_kmem_cache_alloc(c);
	void *k = sk_kmalloc(32);
	long local = 0;

	sk_test_record_start(&last);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(o, a));
	cr_assert(strstr(last.detail, "belongs to cache \"mine\""), "%s", last.detail);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(o, &local));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(o, k));
	sk_test_record_stop();
	/* Refused: neither cache's statistics moved. */
	assert_stats(c, 1, 1, 1, 0);
	assert_stats(o, 0, 0, 0, 0);
	cr_assert_eq(local, 0);
	SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free(c, a));
	sk_kfree(k);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(o), 0);
}

Test(slab_debug, hardened_object_freed_to_debug_cache_is_refused)
{
	struct sk_kmem_cache *h = sk_kmem_cache_create("h", 32, 0, 0, NULL);
	struct sk_kmem_cache *d = sk_kmem_cache_create("d", 32, 0, SK_SLAB_DEBUG, NULL);
	void *a = sk_kmem_cache_alloc(h);

	if (sk_kmem_cache_flags(h) & SK_SLAB_DEBUG) {
		/* -DSK_DEBUG unit: h is a debug cache too; covered above. */
		sk_kmem_cache_free(h, a);
	} else {
		SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(d, a));
		assert_stats(h, 1, 1, 1, 0);
		assert_stats(d, 0, 0, 0, 0);
		sk_kmem_cache_free(h, a);
	}
	cr_assert_eq(sk_kmem_cache_destroy(h), 0);
	cr_assert_eq(sk_kmem_cache_destroy(d), 0);
}

/* ------------------------------------------------------------------------
 * SAFEKERN_SLAB_DEBUG, through a child process
 * ------------------------------------------------------------------------ */

static int run_child(const char *const argv[], const char *env, char *out, size_t outlen)
{
	int fds[2], status;
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		if (env)
			putenv((char *)env);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < outlen && (n = read(fds[0], out + got, outlen - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static const char *helper(void)
{
	const char *h = getenv("SK_TEST_SLAB_HELPER");

	cr_assert_not_null(h, "SK_TEST_SLAB_HELPER not set (run through meson test)");
	return h;
}

Test(slab_debug, env_var_makes_every_cache_debug)
{
	const char *argv[] = { helper(), "flags", NULL };
	char out[4096];
	int st;

	if (sk_test_under_valgrind())
		cr_skip_test("the child would run outside valgrind's view; covered natively");
	st = run_child(argv, "SAFEKERN_SLAB_DEBUG=1", out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert(strstr(out, "flags=2"), "%s", out);
	st = run_child(argv, "SAFEKERN_SLAB_DEBUG=0", out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert(strstr(out, "flags=0"), "%s", out);
	st = run_child(argv, "SAFEKERN_SLAB_DEBUG=yes", out, sizeof(out));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
	cr_assert(strstr(out, "invalid SAFEKERN_SLAB_DEBUG=\"yes\""), "%s", out);
	cr_assert(strstr(out, "flags=0"), "%s", out);
}

/* ------------------------------------------------------------------------
 * Tool mode: hardened caches and the kmalloc family check frees too
 * ------------------------------------------------------------------------ */

Test(slab_tools, tool_mode_checks_hardened_frees)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("t", 48, 0, 0, NULL);
	struct sk_kmem_cache *o = sk_kmem_cache_create("o", 48, 0, 0, NULL);
	void *a, *b, *k;

	skip_unless_hardened_tool_mode(c);
	a = sk_kmem_cache_alloc(c);
	b = sk_kmem_cache_alloc(c);
	k = sk_kmalloc(48);
	sk_kmem_cache_free(c, a);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, a));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(o, b));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kmem_cache_free(c, k));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_WRONG_CACHE, sk_kfree(b));
	assert_stats(c, 1, 2, 2, 1);
	assert_stats(o, 0, 0, 0, 0);
	sk_kmem_cache_free(c, b);
	sk_kfree(k);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree(k));
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(o), 0);
}

/* A handler that frees one more object to the (destroyed) cache it reports on. */
struct free_in_handler {
	struct sk_kmem_cache *cache;
	void *obj;
	unsigned int calls;
};

static void free_from_handler(const struct sk_violation *v, void *arg)
{
	struct free_in_handler *fh = arg;

	(void)v;
	fh->calls++;
	if (fh->obj) {
		void *o = fh->obj;

		fh->obj = NULL;
		sk_kmem_cache_free(fh->cache, o);
	}
}

/*
 * The report of a refused free to a destroyed cache is made with no lock
 * held: a handler may free to a destroyed cache itself (it used to hang
 * on the lock that serialises those frees).
 */
Test(slab_tools, destroyed_cache_reports_refused_free_without_its_lock)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("dead-tool", 48, 0, 0, NULL);
	struct free_in_handler fh = { .cache = c };
	void *a, *b, *d;
	int rc = 0;

	skip_unless_hardened_tool_mode(c);
	a = sk_kmem_cache_alloc(c);
	b = sk_kmem_cache_alloc(c);
	d = sk_kmem_cache_alloc(c);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_LEAK, rc = sk_kmem_cache_destroy(c));
	cr_assert_eq(rc, -EBUSY);
	sk_kmem_cache_free(c, a);
	fh.obj = b;
	sk_violation_set_handler(free_from_handler, &fh);
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, a));
	sk_violation_set_handler(NULL, NULL);
	cr_assert_eq(fh.calls, 1);
	cr_assert_null(fh.obj);
	assert_stats(c, 1, 3, 3, 2);
	sk_kmem_cache_free(c, d); /* the last one: releases the cache */
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE), 1);
}

Test(slab_tools, tool_mode_bypasses_magazines)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("bypass", 64, 0, 0, NULL);
	void *a, *b;

	if (!tool_mode())
		cr_skip_test("not in tool mode (runs under memcheck and in ASan builds)");
	if (sk_kmem_cache_flags(c) & SK_SLAB_DEBUG) {
		cr_assert_eq(sk_kmem_cache_destroy(c), 0);
		cr_skip_test("debug caches reuse through their own quarantine: see slab_debug");
	}
	/* Freed objects go to the tool's quarantine, not to a magazine. */
	a = sk_kmem_cache_alloc(c);
	sk_kmem_cache_free(c, a);
	cr_assert_eq(stats_of(c).quarantined, 0);
	b = sk_kmem_cache_alloc(c);
	cr_assert_neq(b, a, "a freed object was handed out again at once");
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kmem_cache_free(c, a));
	sk_kmem_cache_free(c, b);
	cr_assert_eq(sk_kmem_cache_shrink(c), 0);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/* ------------------------------------------------------------------------
 * The tools see cache objects: a child under memcheck, or built with ASan
 * ------------------------------------------------------------------------ */

static bool have_valgrind(void)
{
	const char *argv[] = { "valgrind", "--version", NULL };
	char out[256];
	int st = run_child(argv, NULL, out, sizeof(out));

	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* memcheck's log must contain @what in a record whose stack names @fn. */
static void expect_record(const char *log, const char *what, const char *fn)
{
	const char *p = log;

	while ((p = strstr(p, what))) {
		/* A record ends at the first line that is only "==PID==". */
		const char *rec_end = strstr(p, "==\n");
		const char *at = strstr(p, fn);

		if (at && (!rec_end || at < rec_end))
			return;
		p++;
	}
	cr_assert_fail("memcheck did not report \"%s\" in %s():\n%s", what, fn, log);
}

static void memcheck_child(const char *env)
{
	const char *argv[] = { "valgrind", "--tool=memcheck", "--leak-check=full",
			       "--show-leak-kinds=definite", "--num-callers=30", helper(),
			       "memcheck", NULL };
	static char out[1 << 17];
	int st;

	if (sk_test_under_valgrind())
		cr_skip_test("already running under valgrind (runs in the plain stages)");
#ifdef TEST_ASAN
	cr_skip_test("ASan build: the child is an ASan program (see slab_tools.asan_*)");
#endif
	if (!have_valgrind())
		cr_skip_test("valgrind is not installed (Debian package valgrind): tool "
			     "visibility not checked");
	st = run_child(argv, env, out, sizeof(out));
	if (strstr(out, "unhandled dwarf2") || strstr(out, "debuginfo reader"))
		cr_skip_test("this valgrind cannot read the build's debug info (clang 14 writes "
			     "DWARF 5, valgrind 3.19 reads DWARF 4): checked in the gcc builds");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d:\n%s", st, out);
	cr_assert(strstr(out, "destroy=-16 leaks=1"), "%s", out);
	/* The leaked cache object and kmalloc block, by their allocating functions. */
	expect_record(out, "200 bytes in 1 blocks are definitely lost", "leak_one");
	expect_record(out, "333 bytes in 1 blocks are definitely lost", "kmalloc_leak_one");
	/* The overflow and the use after free, as memcheck reports them for malloc. */
	expect_record(out, "Invalid write of size 1", "overflow_one");
	expect_record(out, "is 0 bytes after a block of size 200 alloc'd", "overflow_one");
	expect_record(out, "Invalid write of size 1", "use_after_free_one");
	expect_record(out, "is 8 bytes inside a block of size 200 free'd", "use_after_free_one");
	cr_assert(strstr(out, "ERROR SUMMARY: 4 errors"), "%s", out);
}

Test(slab_tools, memcheck_reports_leaked_and_overflowed_objects)
{
	memcheck_child(NULL);
}

Test(slab_tools, memcheck_reports_them_in_debug_caches_too)
{
	memcheck_child("SAFEKERN_SLAB_DEBUG=1");
}

#ifdef TEST_ASAN
static void asan_child(const char *mode, const char *fn)
{
	const char *argv[] = { helper(), mode, NULL };
	static char out[1 << 16];
	int st = run_child(argv, NULL, out, sizeof(out));

	cr_assert(!(WIFEXITED(st) && WEXITSTATUS(st) == 0), "ASan did not stop the child:\n%s",
		  out);
	cr_assert(strstr(out, "ERROR: AddressSanitizer: use-after-poison"), "%s", out);
	cr_assert(strstr(out, fn), "%s", out);
}

Test(slab_tools, asan_reports_overflowed_object)
{
	asan_child("overflow", "overflow_one");
}

Test(slab_tools, asan_reports_use_after_free)
{
	asan_child("uaf", "use_after_free_one");
}
#endif
