/* SPDX-License-Identifier: MIT */
/*
 * tests/test-ptr_ring.c - the MPMC pointer ring on one thread: exact
 * capacity for any size, single/bulk/burst forms, wrap-around past
 * UINT64_MAX, set-up errors, and misuse (each refused with exactly one
 * report and the ring unchanged).  The concurrent behaviour is in
 * tests/stress/ptr_ring-stress.c.
 */
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <safekern/ptr_ring.h>

#include "sk-test.h"

TestSuite(ptr_ring, .init = sk_test_count_policy);

/* Item i as a pointer: never NULL, never dereferenced. */
#define P(i) ((void *)(uintptr_t)((i) + 1))
#define I(p) ((uintptr_t)(p) - 1)

/*
 * Snapshot of the whole ring, to assert "unchanged": both positions, the
 * geometry and every slot's stamp and pointer, folded with FNV-1a (a
 * refused call that changed any of them would have to collide).
 */
static uint64_t ring_state(const struct sk_ptr_ring *r)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint64_t words[4] = { r->tail, r->head, r->mask, r->size };

#define FOLD(w) (h = (h ^ (uint64_t)(w)) * UINT64_C(0x100000001b3))
	for (unsigned int i = 0; i < 4; i++)
		FOLD(words[i]);
	for (unsigned int i = 0; r->slots && i < r->size; i++) {
		FOLD(r->slots[i].stamp);
		FOLD((uintptr_t)r->slots[i].ptr);
	}
#undef FOLD
	return h;
}
#define POS(r) ring_state(r)

static void fill_check_exact(unsigned int size)
{
	struct sk_ptr_ring r;
	unsigned int n = 0;
	int ret;

	cr_assert_eq(sk_ptr_ring_init(&r, size), 0, "init(%u)", size);
	cr_assert_eq(sk_ptr_ring_size(&r), size);
	/* Three laps: fill to exactly size, drain, repeat. */
	for (int lap = 0; lap < 3; lap++) {
		cr_assert(sk_ptr_ring_empty(&r));
		for (n = 0; (ret = sk_ptr_ring_produce(&r, P(n))) == 0; n++)
			cr_assert_leq(n, size);
		cr_assert_eq(ret, -ENOSPC);
		cr_assert_eq(n, size, "a ring of %u held %u", size, n);
		cr_assert(sk_ptr_ring_full(&r));
		cr_assert_eq(sk_ptr_ring_count(&r), size);
		for (unsigned int i = 0; i < size; i++) {
			void *p = sk_ptr_ring_consume(&r);

			cr_assert_eq(p, P(i), "size %u lap %d item %u", size, lap, i);
		}
		cr_assert_null(sk_ptr_ring_consume(&r));
	}
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, any_size_holds_exactly_size)
{
	static const unsigned int sizes[] = { 1, 2, 3, 4, 5, 7, 8, 9, 100, 1000, 1023, 1024, 1025 };

	for (size_t i = 0; i < SK_ARRAY_SIZE(sizes); i++)
		fill_check_exact(sizes[i]);
}

Test(ptr_ring, init_rejects_bad_sizes)
{
	struct sk_ptr_ring r;

	cr_assert_eq(sk_ptr_ring_init(&r, 0), -EINVAL);
	cr_assert_eq(sk_ptr_ring_init(&r, SK_PTR_RING_MAX_SIZE + 1), -EINVAL);
	cr_assert_eq(sk_ptr_ring_init(&r, UINT32_MAX), -EINVAL);
	/* Not cut to 32 bits: 2^32 + 8 is not a ring of 8. */
	cr_assert_eq(sk_ptr_ring_init(&r, (size_t)UINT32_MAX + 9), -EINVAL);
	cr_assert_eq(sk_ptr_ring_init(&r, (size_t)-1), -EINVAL);
	cr_assert_eq(sk_ptr_ring_size(&r), 0);
	sk_ptr_ring_cleanup(&r, NULL); /* on a failed init: nothing */
}

Test(ptr_ring, largest_size)
{
	struct sk_ptr_ring r;

	if (sk_test_under_valgrind())
		return; /* 4 GiB of address space under valgrind: skip */
	/* 4 GiB of zeroed slots: fresh pages, only the few touched are backed. */
	cr_assert_eq(sk_ptr_ring_init(&r, SK_PTR_RING_MAX_SIZE), 0);
	cr_assert_eq(sk_ptr_ring_size(&r), SK_PTR_RING_MAX_SIZE);
	/* Start two slots before the end of the first lap and cross it. */
	r.head = r.tail = SK_PTR_RING_MAX_SIZE - 2;
	r.slots[0].stamp = r.slots[1].stamp = r.mask + 1; /* as if used in lap 0 */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sk_ptr_ring_produce(&r, P(i)), 0);
	cr_assert_eq(sk_ptr_ring_count(&r), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sk_ptr_ring_consume(&r), P(i));
	cr_assert_eq(r.tail, (uint64_t)SK_PTR_RING_MAX_SIZE + 2, "second lap, slot 2");
	sk_ptr_ring_cleanup(&r, NULL);
}

#if defined(__SANITIZE_ADDRESS__)
#define SK_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SK_TEST_ASAN 1
#endif
#endif

Test(ptr_ring, init_enomem)
{
	struct sk_ptr_ring r;
	struct rlimit lim = { (rlim_t)1 << 32, (rlim_t)1 << 32 };

#ifdef SK_TEST_ASAN
	return; /* ASan's shadow memory needs far more address space */
#endif
	if (sk_test_under_valgrind())
		return; /* valgrind manages the address space itself */
	/* This test runs in its own process: cap the address space at 4 GiB. */
	cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
	cr_assert_eq(sk_ptr_ring_init(&r, SK_PTR_RING_MAX_SIZE), -ENOMEM);
	cr_assert_eq(sk_ptr_ring_size(&r), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), -EUCLEAN));
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, fifo_order_single_and_empty)
{
	struct sk_ptr_ring r;

	cr_assert_eq(sk_ptr_ring_init(&r, 6), 0);
	cr_assert_null(sk_ptr_ring_consume(&r));
	for (unsigned int i = 0; i < 100; i++) {
		cr_assert_eq(sk_ptr_ring_produce(&r, P(i)), 0);
		if (i % 3 == 2) {
			for (unsigned int k = i - 2; k <= i; k++)
				cr_assert_eq(sk_ptr_ring_consume(&r), P(k));
			cr_assert(sk_ptr_ring_empty(&r));
		}
	}
	cr_assert_eq(sk_ptr_ring_count(&r), 1);
	cr_assert_eq(sk_ptr_ring_consume(&r), P(99));
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, bulk_is_all_or_nothing)
{
	struct sk_ptr_ring r;
	void *in[8], *out[8] = { NULL };

	for (int i = 0; i < 8; i++)
		in[i] = P(i);
	cr_assert_eq(sk_ptr_ring_init(&r, 5), 0);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 3), 3);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in + 3, 3), 0, "2 free, 3 asked");
	cr_assert_eq(sk_ptr_ring_count(&r), 3);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in + 3, 2), 2);
	cr_assert(sk_ptr_ring_full(&r));
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 1), 0);
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 2), 2);
	cr_assert_eq(out[0], P(0));
	cr_assert_eq(out[1], P(1));
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 4), 0, "3 ready, 4 asked");
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 3), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(out[i], P(i + 2));
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 1), 0);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 0), 0);
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 0), 0);
	/* Exactly the size, in one go, across the lap boundary. */
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 5), 5);
	cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, 5), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(out[i], P(i));
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, burst_takes_what_there_is)
{
	struct sk_ptr_ring r;
	void *in[8], *out[8] = { NULL };

	for (int i = 0; i < 8; i++)
		in[i] = P(i);
	cr_assert_eq(sk_ptr_ring_init(&r, 5), 0);
	cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, 8), 0);
	cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 3), 3);
	cr_assert_eq(sk_ptr_ring_produce_burst(&r, in + 3, 5), 2, "2 free");
	cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 1), 0);
	cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, 4), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(out[i], P(i));
	cr_assert_eq(sk_ptr_ring_consume_batched(&r, out, 8), 1, "the kernel's name");
	cr_assert_eq(out[0], P(4));
	/* More than the size in a burst: as many as fit. */
	cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 8), 5);
	cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, 8), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(out[i], P(i));
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, mixed_forms_over_many_laps)
{
	struct sk_ptr_ring r;
	void *buf[16];
	unsigned int seed = 12345, produced = 0, consumed = 0;

	cr_assert_eq(sk_ptr_ring_init(&r, 11), 0);
	for (int step = 0; step < 20000; step++) {
		unsigned int k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % 7;
		if ((seed >> 8) & 1) {
			for (unsigned int i = 0; i < k; i++)
				buf[i] = P(produced + i);
			if ((seed >> 9) & 1)
				k = sk_ptr_ring_produce_bulk(&r, buf, k);
			else
				k = sk_ptr_ring_produce_burst(&r, buf, k);
			produced += k;
		} else {
			if ((seed >> 9) & 1)
				k = sk_ptr_ring_consume_bulk(&r, buf, k);
			else
				k = sk_ptr_ring_consume_burst(&r, buf, k);
			for (unsigned int i = 0; i < k; i++)
				cr_assert_eq(buf[i], P(consumed + i));
			consumed += k;
		}
		/* The count is clamped to the size (11): this also bounds the fill. */
		cr_assert_eq(sk_ptr_ring_count(&r), produced - consumed);
	}
	cr_assert_gt(consumed, 10000);
	sk_ptr_ring_cleanup(&r, NULL);
}

/* Position @start (index @start & mask must be below size) as if reached. */
static void start_at(struct sk_ptr_ring *r, uint64_t start)
{
	uint64_t lap = start & ~r->mask, idx = start & r->mask;

	for (uint64_t i = 0; i < r->size; i++)
		r->slots[i].stamp = i >= idx ? lap : lap + r->mask + 1;
	r->head = r->tail = start;
}

Test(ptr_ring, wraps_past_uint64_max)
{
	struct sk_ptr_ring r;
	void *buf[6];
	unsigned int next_in = 0, next_out = 0;

	/* Size 6: L = 8.  Start at the last lap, two slots before its end. */
	cr_assert_eq(sk_ptr_ring_init(&r, 6), 0);
	start_at(&r, UINT64_MAX - 7 + 4);
	cr_assert_eq(r.tail & r.mask, 4);
	SK_EXPECT_NO_VIOLATION({
		for (int round = 0; round < 10; round++) {
			for (int i = 0; i < 6; i++)
				cr_assert_eq(sk_ptr_ring_produce(&r, P(next_in++)), 0);
			cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), -ENOSPC);
			cr_assert_eq(sk_ptr_ring_count(&r), 6);
			for (int i = 0; i < 3; i++)
				cr_assert_eq(sk_ptr_ring_consume(&r), P(next_out++));
			cr_assert_eq(sk_ptr_ring_consume_bulk(&r, buf, 3), 3);
			for (int i = 0; i < 3; i++)
				cr_assert_eq(buf[i], P(next_out++));
			cr_assert_null(sk_ptr_ring_consume(&r));
		}
	});
	cr_assert_lt(r.tail, 100, "the positions wrapped past UINT64_MAX");
	sk_ptr_ring_cleanup(&r, NULL);
}

static unsigned int destroyed[8];
static unsigned int destroy_order[8], ndestroyed;

static void destroy(void *p)
{
	destroyed[I(p)]++;
	if (ndestroyed < 8)
		destroy_order[ndestroyed] = (unsigned int)I(p);
	ndestroyed++;
}

Test(ptr_ring, cleanup_destroys_what_is_left)
{
	struct sk_ptr_ring r;

	cr_assert_eq(sk_ptr_ring_init(&r, 8), 0);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(sk_ptr_ring_produce(&r, P(i)), 0);
	cr_assert_eq(sk_ptr_ring_consume(&r), P(0));
	sk_ptr_ring_cleanup(&r, destroy);
	cr_assert_eq(destroyed[0], 0);
	for (int i = 1; i < 6; i++)
		cr_assert_eq(destroyed[i], 1);
	/* Oldest first, as the header promises. */
	cr_assert_eq(ndestroyed, 5);
	for (unsigned int i = 0; i < 5; i++)
		cr_assert_eq(destroy_order[i], i + 1);
	cr_assert_eq(sk_ptr_ring_size(&r), 0);
	cr_assert_null(r.slots);
}

Test(ptr_ring, null_is_refused)
{
	struct sk_ptr_ring r;
	void *in[4] = { P(0), P(1), NULL, P(3) };
	uint64_t before;

	cr_assert_eq(sk_ptr_ring_init(&r, 8), 0);
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce(&r, NULL), -EINVAL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 4), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 4), 0));
	cr_assert_eq(POS(&r), before);
	cr_assert(sk_ptr_ring_empty(&r));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 2), 2));
	/* NULL in the last position too (the scan once stopped one short). */
	{
		void *last[3] = { P(5), P(6), NULL };

		before = POS(&r);
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, last, 3), 0));
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    cr_assert_eq(sk_ptr_ring_produce_burst(&r, last, 3), 0));
		cr_assert_eq(POS(&r), before);
		cr_assert_eq(sk_ptr_ring_count(&r), 2);
	}
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, bulk_larger_than_the_ring_is_refused)
{
	struct sk_ptr_ring r;
	void *buf[8] = { P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7) };

	cr_assert_eq(sk_ptr_ring_init(&r, 7), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, buf, 8), 0));
	cr_assert(sk_ptr_ring_empty(&r));
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, buf, 7), 7);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&r, buf, 8), 0));
	cr_assert(sk_ptr_ring_full(&r));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_consume_burst(&r, buf, 8), 7));
	sk_ptr_ring_cleanup(&r, NULL);
}

/*
 * A bulk count larger than the ring is refused before the pointers are
 * looked at: such a count is usually not the array's length either (a
 * negative number, an unchecked computation), so reading @n pointers first
 * would run off the caller's array.  Here the array ends at a guard page.
 */
Test(ptr_ring, bulk_larger_than_the_ring_reads_no_pointer)
{
	struct sk_ptr_ring r;
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void **ptrs;

	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	ptrs = (void **)(void *)(map + page) - 4; /* four pointers, then the guard page */
	for (int i = 0; i < 4; i++)
		ptrs[i] = P(i);
	cr_assert_eq(sk_ptr_ring_init(&r, 8), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, ptrs, (unsigned int)-1), 0));
	cr_assert(sk_ptr_ring_empty(&r));
	/* A count the count check passes but the ring cannot take: only the
	 * order of the two checks keeps the scan off the guard page. */
	cr_assert_eq(sk_ptr_ring_size(&r), 8);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, ptrs, 9), 0));
	cr_assert(sk_ptr_ring_empty(&r));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce_bulk(&r, ptrs, 4), 4));
	sk_ptr_ring_cleanup(&r, NULL);
	munmap(map, (size_t)page * 2);
}

Test(ptr_ring, uninitialised_ring_is_refused)
{
	struct sk_ptr_ring r;
	void *buf[2] = { P(0), P(1) };

	memset(&r, 0, sizeof(r));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&r)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&r, buf, 2), 0));
	cr_assert(sk_ptr_ring_empty(&r));
	cr_assert(sk_ptr_ring_full(&r), "no slots: no room");
	cr_assert_eq(r.tail, 0);
}

Test(ptr_ring, cleaned_up_ring_is_refused)
{
	struct sk_ptr_ring r;

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), 0);
	sk_ptr_ring_cleanup(&r, NULL);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&r, P(1)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&r)));
	{
		void *buf[2] = { P(1), P(2) };

		SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
				    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, buf, 2), 0));
		SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
				    cr_assert_eq(sk_ptr_ring_produce_burst(&r, buf, 2), 0));
	}
}

Test(ptr_ring, corrupt_position_is_refused)
{
	struct sk_ptr_ring r;
	void *buf[2] = { P(0), P(1) };
	uint64_t before;

	/* Size 5: L = 8, so a position whose index is 5, 6 or 7 is impossible. */
	cr_assert_eq(sk_ptr_ring_init(&r, 5), 0);
	cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), 0);
	r.tail = 6;
	r.head = 7;
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&r, P(1)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&r)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_burst(&r, buf, 2), 0));
	cr_assert_eq(POS(&r), before);
	r.tail = 1;
	r.head = 0;
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, corrupt_stamp_is_refused)
{
	struct sk_ptr_ring r;
	void *buf[4] = { P(0), P(1), P(2), P(3) };
	uint64_t before;

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, buf, 2), 2);
	/* A wild write: slot 2 claims to be three laps behind. */
	r.slots[2].stamp -= 3 * (r.mask + 1);
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&r, P(2)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, buf, 2), 0));
	cr_assert_eq(POS(&r), before);
	/* The consumer side: slot 0's stamp says "two laps ago". */
	r.slots[0].stamp -= 2 * (r.mask + 1);
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&r)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&r, buf, 1), 0));
	cr_assert_eq(POS(&r), before);
	sk_ptr_ring_cleanup(&r, NULL);
}

/*
 * A struct copy of a ring shares the slots and has positions of its own.
 * Its first produce went through (the slot was free for the copy's lap),
 * and a consume of the original then took that pointer and left the
 * original's head past its tail: every later produce of the original was
 * refused (the reviewer's program, 2026-11-26).  Now the copy is refused
 * before it touches a slot, and so is its cleanup, which would free the
 * original's slots.
 */
Test(ptr_ring, struct_copy_is_refused_before_any_slot)
{
	struct sk_ptr_ring r, copy;
	void *buf[2] = { P(3), P(4) };

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	copy = r;
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&copy, P(1)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&copy, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&copy, buf, 2), 0));
	for (unsigned int i = 0; i < 4; i++)
		cr_assert_eq(r.slots[i].stamp, 0, "slot %u written through the copy", i);
	cr_assert_eq(copy.tail, 0);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce(&r, P(2)), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&copy)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&copy, buf, 1), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_burst(&copy, buf, 2), 0));
	cr_assert_eq(copy.head, 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_ptr_ring_cleanup(&copy, NULL));
	/* The original is whole: what it holds, then room for all four. */
	{
		void *four[4] = { P(5), P(6), P(7), P(8) };

		SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_consume(&r), P(2)));
		SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce_bulk(&r, four, 4), 4));
		cr_assert(sk_ptr_ring_full(&r));
		for (unsigned int i = 0; i < 4; i++)
			SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_consume(&r), four[i]));
	}
	sk_ptr_ring_cleanup(&r, NULL);
}

/*
 * A stamp ahead of the position that reads it means, in a correct ring,
 * that another thread moved the position past it meanwhile: reloading the
 * position gives a new one.  A struct copy of the ring (sharing the slots,
 * not the positions) or a wild write gives the same position back, for
 * ever: that is refused, not retried.  The timeout turns the old endless
 * retry into a failure.
 */
Test(ptr_ring, stamp_ahead_of_a_still_position_is_refused)
{
	struct sk_ptr_ring r, copy;
	void *buf[2] = { P(0), P(1) };
	uint64_t before;

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	copy = r; /* shares the slots, not the positions */
	/* Past the address check (struct_copy_is_refused_before_any_slot),
	 * as a wild write could be: the stamps' own check must hold. */
	copy.sk__self = &copy;
	cr_assert_eq(sk_ptr_ring_produce(&r, P(0)), 0);
	cr_assert_eq(sk_ptr_ring_consume(&r), P(0));
	cr_assert_eq(sk_ptr_ring_produce(&r, P(1)), 0);
	/* The copy's tail and head are 0; slot 0 is free for lap 1 already. */
	before = POS(&copy);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce(&copy, P(2)), -EUCLEAN));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&copy, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&copy, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&copy)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&copy, buf, 1), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_consume_burst(&copy, buf, 2), 0));
	cr_assert_eq(POS(&copy), before);
	/* A wild write on the ring itself: slot 2's stamp five laps ahead. */
	r.slots[2].stamp += 5 * (r.mask + 1);
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, buf, 2), 0));
	cr_assert_eq(POS(&r), before);
	/* The ring itself still has what it held. */
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_consume(&r), P(1)));
	/* The next position is the corrupted slot: reported, nothing taken. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_null(sk_ptr_ring_consume(&r)));
	r.slots[2].stamp -= 5 * (r.mask + 1);
	SK_EXPECT_NO_VIOLATION(cr_assert_null(sk_ptr_ring_consume(&r)));
	sk_ptr_ring_cleanup(&r, NULL);
}

Test(ptr_ring, corruption_under_abort_policy_aborts, .signal = SIGABRT)
{
	struct sk_ptr_ring r;

	memset(&r, 0, sizeof(r));
	sk_violation_set_policy(SK_VIOLATION_ABORT);
	if (sk_ptr_ring_produce(&r, P(0)) == 0)
		cr_log_error("produce succeeded");
}

Test(ptr_ring, layout_keeps_positions_on_separate_cache_lines)
{
	cr_assert_eq(offsetof(struct sk_ptr_ring, tail), SK_CACHELINE_SIZE);
	cr_assert_eq(offsetof(struct sk_ptr_ring, head), 2 * SK_CACHELINE_SIZE);
	cr_assert_eq(sizeof(struct sk_ptr_ring), 3 * SK_CACHELINE_SIZE);
	cr_assert_eq(sizeof(struct sk__ptr_ring_slot), 16);
}

/*
 * A count that is negative (an error return, a subtraction gone below
 * zero) or wider than 32 bits is refused and reported before the array is
 * read or written, in every bulk and burst call: it was cut to 32 bits
 * (2^32 + 2 became 2) and -1 became UINT_MAX, which burst consume clamped
 * to the queued count and wrote past a 4-slot array.
 */
Test(ptr_ring, negative_and_64_bit_counts_are_refused)
{
	struct sk_ptr_ring r;
	void *in[4] = { P(0), P(1), P(2), P(3) }, *out[4] = { NULL };
	int minus_one = -1;
	long long minus_two = -2;
	uint64_t big = (UINT64_C(1) << 32) + 2, before;

	cr_assert_eq(sk_ptr_ring_init(&r, 64), 0);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 4), 4);
	cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, 4), 4);
	before = POS(&r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_bulk(&r, in, big), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, minus_one), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, minus_two), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_consume_bulk(&r, out, big), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, minus_one), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_ptr_ring_consume_batched(&r, out, big), 0));
	cr_assert_eq(POS(&r), before);
	cr_assert_eq(sk_ptr_ring_count(&r), 8, "the ring is unchanged");
	for (int i = 0; i < 4; i++)
		cr_assert_null(out[i], "nothing was written to the array");
	/* A legal count still works. */
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, 4), 4));
	sk_ptr_ring_cleanup(&r, NULL);
}

/*
 * A full ring whose next slot a producer of the previous lap has claimed
 * but not yet published: the producer of this lap is told "full"
 * (-ENOSPC), as for any full ring, not corruption.  Set up by hand: four
 * items produced, slot 0's stamp put back to before its publication.
 */
Test(ptr_ring, full_ring_with_an_unpublished_slot_is_just_full)
{
	struct sk_ptr_ring r;
	uint64_t before;

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sk_ptr_ring_produce(&r, P(i)), 0);
	r.slots[0].stamp = 0;
	before = POS(&r);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce(&r, P(4)), -ENOSPC));
	cr_assert_eq(POS(&r), before);
	r.slots[0].stamp = 1;
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sk_ptr_ring_consume(&r), P(i));
	sk_ptr_ring_cleanup(&r, NULL);
}

/* The largest count is a count: a burst of SK_PTR_RING_MAX_SIZE takes what there is. */
Test(ptr_ring, largest_count_is_accepted)
{
	struct sk_ptr_ring r;
	void *in[2] = { P(0), P(1) }, *out[2] = { NULL };

	cr_assert_eq(sk_ptr_ring_init(&r, 4), 0);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_ptr_ring_produce_burst(&r, in, 2), 2));
	SK_EXPECT_NO_VIOLATION(
		cr_assert_eq(sk_ptr_ring_consume_burst(&r, out, SK_PTR_RING_MAX_SIZE), 2));
	cr_assert(out[0] == P(0) && out[1] == P(1));
	sk_ptr_ring_cleanup(&r, NULL);
}
