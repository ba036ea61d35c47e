/* SPDX-License-Identifier: MIT */
/*
 * tests/test-kfifo.c - the SPSC kfifo: every macro, the capacity rules,
 * wrap-around past UINT_MAX, and misuse (each refused with exactly one
 * report and the fifo unchanged).  Built hardened and debug; the
 * debug-level SPSC identity checks are tested where SK_DEBUG is defined.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <safekern/kfifo.h>

#include "sk-test.h"

TestSuite(kfifo, .init = sk_test_count_policy);

/* Hide constants from the compiler, which would warn about some of them. */
static size_t opaque(size_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

/* Snapshot of the index words and geometry, to assert "unchanged". */
struct idx {
	unsigned int in, out, in_cache, out_cache, size, mask, esize;
	void *data;
};

#define SNAP(f) ((struct idx){ (f)->kfifo.in, (f)->kfifo.out, (f)->kfifo.in_cache, \
			       (f)->kfifo.out_cache, (f)->kfifo.size, (f)->kfifo.mask, \
			       (f)->kfifo.esize, (f)->kfifo.data })
/*
 * @b (after a refused call) is @a (before it): the same indices and
 * geometry; each side's cached copy of the other's index may only have been
 * refreshed to that index's real value (a cache ahead of or behind it lets
 * the producer overwrite unread elements, or the consumer read stale ones).
 */
#define SAME(a, b)                                                             \
	((a).in == (b).in && (a).out == (b).out && (a).size == (b).size &&     \
	 (a).mask == (b).mask && (a).esize == (b).esize && (a).data == (b).data && \
	 ((b).in_cache == (a).in_cache || (b).in_cache == (b).in) &&           \
	 ((b).out_cache == (a).out_cache || (b).out_cache == (b).out))

static SK_DEFINE_KFIFO(static_fifo, int, 8);

Test(kfifo, define_holds_exactly_size_in_fifo_order)
{
	int v = -1;

	cr_assert_eq(sk_kfifo_size(&static_fifo), 8);
	cr_assert_eq(sk_kfifo_esize(&static_fifo), sizeof(int));
	cr_assert(sk_kfifo_initialized(&static_fifo));
	cr_assert(sk_kfifo_is_empty(&static_fifo));
	cr_assert_eq(sk_kfifo_get(&static_fifo, &v), 0);
	cr_assert_eq(v, -1, "a failed get leaves *val alone");
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(sk_kfifo_len(&static_fifo), (unsigned int)i);
		cr_assert_eq(sk_kfifo_avail(&static_fifo), 8u - (unsigned int)i);
		cr_assert_eq(sk_kfifo_put(&static_fifo, i * 10), 1);
	}
	cr_assert(sk_kfifo_is_full(&static_fifo));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_put(&static_fifo, 99), 0));
	cr_assert_eq(sk_kfifo_len(&static_fifo), 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(sk_kfifo_peek(&static_fifo, &v), 1);
		cr_assert_eq(v, i * 10);
		cr_assert_eq(sk_kfifo_get(&static_fifo, &v), 1);
		cr_assert_eq(v, i * 10);
	}
	cr_assert(sk_kfifo_is_empty(&static_fifo));
	cr_assert_eq(sk_kfifo_peek(&static_fifo, &v), 0);
}

struct holder {
	int before;
	SK_DECLARE_KFIFO(fifo, long, 4);
	int after;
};

Test(kfifo, declare_in_struct_and_init)
{
	struct holder h;
	long v;

	memset(&h, 0xa5, sizeof(h));
	h.before = 1;
	h.after = 2;
	SK_INIT_KFIFO(h.fifo);
	cr_assert_eq(sk_kfifo_size(&h.fifo), 4);
	cr_assert_eq(sk_kfifo_esize(&h.fifo), sizeof(long));
	cr_assert(sk_kfifo_is_empty(&h.fifo));
	for (long i = 0; i < 4; i++)
		cr_assert_eq(sk_kfifo_put(&h.fifo, i - 100), 1);
	cr_assert_eq(sk_kfifo_put(&h.fifo, 5L), 0);
	for (long i = 0; i < 4; i++) {
		cr_assert_eq(sk_kfifo_get(&h.fifo, &v), 1);
		cr_assert_eq(v, i - 100);
	}
	cr_assert_eq(h.before, 1);
	cr_assert_eq(h.after, 2);
}

/* SK_STRUCT_KFIFO() used as documented: to name the type. */
typedef SK_STRUCT_KFIFO(unsigned short, 4) ushort_fifo;

/* Fills @f through a parameter of the named type; returns how many fit. */
static unsigned int fill_ushort_fifo(ushort_fifo *f, unsigned short first)
{
	unsigned int n = 0;

	while (sk_kfifo_put(f, (unsigned short)(first + n)))
		n++;
	return n;
}

Test(kfifo, struct_kfifo_names_a_type)
{
	ushort_fifo f;
	unsigned short v;

	cr_assert_eq(sizeof(f.buf), 4 * sizeof(unsigned short), "the buffer is embedded");
	SK_INIT_KFIFO(f);
	cr_assert_eq(sk_kfifo_size(&f), 4);
	cr_assert_eq(sk_kfifo_esize(&f), sizeof(unsigned short));
	cr_assert_eq(sk_kfifo_alloc(&f, 8), -EINVAL, "not a _PTR type");
	cr_assert_eq(fill_ushort_fifo(&f, 100), 4);
	for (unsigned short i = 0; i < 4; i++) {
		cr_assert_eq(sk_kfifo_get(&f, &v), 1);
		cr_assert_eq(v, 100 + i);
	}
	cr_assert(sk_kfifo_is_empty(&f));
}

Test(kfifo, layout_keeps_the_sides_on_separate_cache_lines)
{
	cr_assert_eq(sizeof(struct sk__kfifo), 3 * SK_CACHELINE_SIZE);
	cr_assert_eq(offsetof(struct sk__kfifo, out), SK_CACHELINE_SIZE);
	cr_assert_eq(offsetof(struct sk__kfifo, in), 2 * SK_CACHELINE_SIZE);
	cr_assert_lt(offsetof(struct sk__kfifo, consumer), SK_CACHELINE_SIZE + 16);
	cr_assert_lt(offsetof(struct sk__kfifo, producer), 2 * SK_CACHELINE_SIZE + 16);
	cr_assert_lt(offsetof(struct sk__kfifo, owns_data), SK_CACHELINE_SIZE, "read-only line");
}

Test(kfifo, alloc_rounds_up_and_rejects_bad_sizes)
{
	SK_DECLARE_KFIFO_PTR(f, unsigned int);
	static const struct {
		size_t ask, got;
	} cases[] = { { 2, 2 }, { 3, 4 }, { 5, 8 }, { 8, 8 }, { 1000, 1024 }, { 1025, 2048 } };

	for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
		cr_assert_eq(sk_kfifo_alloc(&f, cases[i].ask), 0);
		cr_assert_eq(sk_kfifo_size(&f), cases[i].got, "alloc(%zu)", cases[i].ask);
		/* Holds exactly size. */
		for (unsigned int k = 0; k < cases[i].got; k++)
			cr_assert_eq(sk_kfifo_put(&f, k), 1);
		cr_assert_eq(sk_kfifo_put(&f, 0u), 0);
		sk_kfifo_free(&f);
		cr_assert(!sk_kfifo_initialized(&f));
	}
	cr_assert_eq(sk_kfifo_alloc(&f, 0), -EINVAL);
	cr_assert_eq(sk_kfifo_alloc(&f, 1), -EINVAL);
	cr_assert_eq(sk_kfifo_alloc(&f, opaque((size_t)SK_KFIFO_MAX_SIZE + 1)), -EINVAL);
	cr_assert_eq(sk_kfifo_alloc(&f, opaque((size_t)1 << 40)), -EINVAL);
	cr_assert(!sk_kfifo_initialized(&f));
	sk_kfifo_free(&f); /* on a fifo without a buffer: nothing */
}

Test(kfifo, alloc_on_embedded_buffer_is_einval)
{
	SK_DECLARE_KFIFO(f, int, 4);

	SK_INIT_KFIFO(f);
	cr_assert_eq(sk_kfifo_alloc(&f, 8), -EINVAL);
	cr_assert_eq(sk_kfifo_init(&f, (void *)0, 64), -EINVAL);
	sk_kfifo_free(&f); /* does nothing to an embedded buffer */
	cr_assert_eq(sk_kfifo_size(&f), 4);
	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
}

struct huge {
	char bytes[1 << 20];
};

Test(kfifo, alloc_enomem_leaves_a_refusing_fifo)
{
	SK_DECLARE_KFIFO_PTR(f, struct huge);
	static struct huge h;

	/* 2^31 elements of 1 MiB: 2^51 bytes, more than any address space. */
	cr_assert_eq(sk_kfifo_alloc(&f, opaque(SK_KFIFO_MAX_SIZE)), -ENOMEM);
	cr_assert(!sk_kfifo_initialized(&f));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, h), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &h), 0));
	cr_assert_eq(f.kfifo.in, 0);
}

Test(kfifo, largest_size_wraps_at_the_end)
{
	SK_DECLARE_KFIFO_PTR(f, unsigned char);
	unsigned char buf[4] = { 1, 2, 3, 4 }, out[4];

	if (sk_test_under_valgrind())
		return; /* 2 GiB of address space under valgrind: skip */
	/* 2^31 bytes: virtual memory only, the pages are never touched but four. */
	cr_assert_eq(sk_kfifo_alloc(&f, opaque(SK_KFIFO_MAX_SIZE)), 0);
	cr_assert_eq(sk_kfifo_size(&f), SK_KFIFO_MAX_SIZE);
	f.kfifo.in = f.kfifo.out = f.kfifo.in_cache = f.kfifo.out_cache = SK_KFIFO_MAX_SIZE - 2;
	cr_assert_eq(sk_kfifo_in(&f, buf, 4), 4);
	cr_assert_eq(sk_kfifo_len(&f), 4);
	cr_assert_eq(sk_kfifo_out(&f, out, 4), 4);
	cr_assert_arr_eq(out, buf, 4);
	sk_kfifo_free(&f);
}

Test(kfifo, size_two)
{
	SK_DEFINE_KFIFO(f, short, 2);
	short v;

	for (int round = 0; round < 5; round++) {
		cr_assert_eq(sk_kfifo_put(&f, (short)(round * 2)), 1);
		cr_assert_eq(sk_kfifo_put(&f, (short)(round * 2 + 1)), 1);
		cr_assert_eq(sk_kfifo_put(&f, (short)-1), 0);
		cr_assert(sk_kfifo_is_full(&f));
		cr_assert_eq(sk_kfifo_get(&f, &v), 1);
		cr_assert_eq(v, round * 2);
		cr_assert_eq(sk_kfifo_get(&f, &v), 1);
		cr_assert_eq(v, round * 2 + 1);
		cr_assert_eq(sk_kfifo_get(&f, &v), 0);
	}
}

Test(kfifo, init_on_caller_buffer_rounds_down)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int buf[100];
	char raw[64] __attribute__((aligned(16)));
	int v;

	/* The size is in bytes, as the kernel's kfifo_init(). */
	cr_assert_eq(sk_kfifo_init(&f, buf, sizeof(buf)), 0);
	cr_assert_eq(sk_kfifo_size(&f), 64);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(sk_kfifo_put(&f, i), 1);
	cr_assert_eq(sk_kfifo_put(&f, 64), 0);
	cr_assert_eq(sk_kfifo_get(&f, &v), 1);
	cr_assert_eq(v, 0);
	cr_assert_eq(sk_kfifo_init(&f, buf, 2 * sizeof(int)), 0);
	cr_assert_eq(sk_kfifo_size(&f), 2);
	cr_assert_eq(sk_kfifo_init(&f, buf, 2 * sizeof(int) - 1), -EINVAL);
	cr_assert_eq(sk_kfifo_init(&f, buf, sizeof(int)), -EINVAL);
	cr_assert_eq(sk_kfifo_init(&f, buf, 0), -EINVAL);
	cr_assert_eq(sk_kfifo_init(&f, (int *)0, 64), -EINVAL);
	cr_assert_eq(sk_kfifo_init(&f, raw + 1, 32), -EINVAL, "misaligned for int");
	cr_assert(!sk_kfifo_initialized(&f));
	/* More than 2^31 elements' worth: 2^31 of them are used, not -EINVAL. */
	cr_assert_eq(sk_kfifo_init(&f, buf, opaque(((size_t)SK_KFIFO_MAX_SIZE + 5) * sizeof(int))), 0);
	cr_assert_eq(sk_kfifo_size(&f), SK_KFIFO_MAX_SIZE);
	SK_INIT_KFIFO(f); /* the fifo never touched the buffer: forget it */
}

Test(kfifo, in_out_partial_and_wrapping)
{
	SK_DEFINE_KFIFO(f, unsigned int, 8);
	unsigned int src[16], dst[16], next_in = 0, next_out = 0;

	for (unsigned int i = 0; i < 16; i++)
		src[i] = i;
	/* More than fits: as many as fit. */
	cr_assert_eq(sk_kfifo_in(&f, src, 10), 8);
	next_in = 8;
	cr_assert_eq(sk_kfifo_in(&f, src, 1), 0);
	cr_assert_eq(sk_kfifo_out(&f, dst, 5), 5);
	for (unsigned int i = 0; i < 5; i++)
		cr_assert_eq(dst[i], next_out++);
	/* Wraps inside the buffer. */
	for (unsigned int i = 0; i < 5; i++)
		src[i] = next_in + i;
	cr_assert_eq(sk_kfifo_in(&f, src, 5), 5);
	next_in += 5;
	cr_assert_eq(sk_kfifo_len(&f), 8);
	cr_assert_eq(sk_kfifo_out_peek(&f, dst, 16), 8);
	for (unsigned int i = 0; i < 8; i++)
		cr_assert_eq(dst[i], next_out + i);
	cr_assert_eq(sk_kfifo_len(&f), 8, "out_peek takes nothing out");
	cr_assert_eq(sk_kfifo_out(&f, dst, 16), 8);
	for (unsigned int i = 0; i < 8; i++)
		cr_assert_eq(dst[i], next_out++);
	cr_assert_eq(next_out, next_in);
	cr_assert_eq(sk_kfifo_out(&f, dst, 1), 0);
	cr_assert_eq(sk_kfifo_out_peek(&f, dst, 1), 0);
	cr_assert_eq(sk_kfifo_in(&f, src, 0), 0);
	cr_assert_eq(sk_kfifo_out(&f, dst, 0), 0);
}

Test(kfifo, large_in_out_use_bulk_copy)
{
	SK_DECLARE_KFIFO_PTR(f, uint64_t);
	static uint64_t src[1000], dst[1000];

	for (unsigned int i = 0; i < 1000; i++)
		src[i] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
	cr_assert_eq(sk_kfifo_alloc(&f, 1024), 0);
	cr_assert_eq(sk_kfifo_in(&f, src, 700), 700);
	cr_assert_eq(sk_kfifo_out(&f, dst, 600), 600);
	cr_assert_arr_eq(dst, src, 600 * sizeof(uint64_t));
	/* 100 left at 600..699; 900 more wrap round the end. */
	cr_assert_eq(sk_kfifo_in(&f, src + 700, 300), 300);
	cr_assert_eq(sk_kfifo_in(&f, src, 700), 624);
	cr_assert(sk_kfifo_is_full(&f));
	cr_assert_eq(sk_kfifo_out(&f, dst, 1000), 1000);
	cr_assert_arr_eq(dst, src + 600, 400 * sizeof(uint64_t));
	cr_assert_arr_eq(dst + 400, src, 600 * sizeof(uint64_t));
	sk_kfifo_free(&f);
}

/*
 * in/out of every element-size class (the one-by-one copies of 1, 2, 4, 8
 * and 16 bytes; memcpy() for 3, 12 and 20), across the end of the buffer
 * and in runs of every length, checked element by element.
 */
#define IN_OUT_ROUND_TRIP(type, make)                                         \
	do {                                                                  \
		SK_DECLARE_KFIFO(f, type, 8);                                 \
		type src[8], dst[8];                                          \
		unsigned int seq = 0, next = 0;                               \
                                                                              \
		SK_INIT_KFIFO(f);                                             \
		for (unsigned int round = 0; round < 40; round++) {           \
			unsigned int n = 1 + round % 8, room, put, got;       \
                                                                              \
			for (unsigned int k = 0; k < n; k++)                  \
				make(src[k], seq + k);                        \
			room = sk_kfifo_avail(&f);                            \
			put = sk_kfifo_in(&f, src, n);                        \
			cr_assert_eq(put, n < room ? n : room);               \
			seq += put;                                           \
			got = sk_kfifo_out(&f, dst, 1 + (round * 5) % 8);     \
			for (unsigned int k = 0; k < got; k++) {              \
				type want;                                    \
                                                                              \
				make(want, next + k);                         \
				cr_assert(!memcmp(&dst[k], &want, sizeof(want)), \
					  #type " element %u", next + k);     \
			}                                                     \
			next += got;                                          \
			cr_assert_eq(sk_kfifo_len(&f), seq - next);           \
		}                                                             \
		cr_assert_gt(f.kfifo.in, 16u, #type ": wrapped");             \
	} while (0)

struct e3 {
	unsigned char b[3];
};
struct e12 {
	uint32_t w[3];
};
struct e16 {
	uint64_t lo, hi;
};
struct e20 {
	uint32_t w[5];
};

#define MAKE_INT(v, i) ((v) = (__typeof__(v))((i) * 2654435761u + 1))
#define MAKE_E3(v, i) ((v).b[0] = (unsigned char)(i), (v).b[1] = (unsigned char)((i) >> 8), \
		       (v).b[2] = 0xa5)
#define MAKE_E12(v, i) ((v).w[0] = (i), (v).w[1] = ~(i), (v).w[2] = (i) * 3)
#define MAKE_E16(v, i) ((v).lo = (i), (v).hi = ~(uint64_t)(i))
#define MAKE_E20(v, i) ((v).w[0] = (i), (v).w[1] = ~(i), (v).w[2] = (i) * 3, \
			(v).w[3] = (i) + 7, (v).w[4] = (i) ^ 0x5555)

Test(kfifo, in_out_every_element_size)
{
	IN_OUT_ROUND_TRIP(uint8_t, MAKE_INT);
	IN_OUT_ROUND_TRIP(uint16_t, MAKE_INT);
	IN_OUT_ROUND_TRIP(uint32_t, MAKE_INT);
	IN_OUT_ROUND_TRIP(uint64_t, MAKE_INT);
	IN_OUT_ROUND_TRIP(struct e3, MAKE_E3);
	IN_OUT_ROUND_TRIP(struct e12, MAKE_E12);
	IN_OUT_ROUND_TRIP(struct e16, MAKE_E16);
	IN_OUT_ROUND_TRIP(struct e20, MAKE_E20);
}

Test(kfifo, wraps_past_uint_max)
{
	SK_DEFINE_KFIFO(f, int, 4);
	int v, buf[4] = { 7, 8, 9, 10 }, out[4];
	unsigned int start = UINT_MAX - 2;

	f.kfifo.in = f.kfifo.out = f.kfifo.in_cache = f.kfifo.out_cache = start;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			cr_assert_eq(sk_kfifo_put(&f, round * 4 + i), 1);
		cr_assert_eq(sk_kfifo_put(&f, -1), 0, "full across the wrap");
		cr_assert_eq(sk_kfifo_len(&f), 4);
		for (int i = 0; i < 4; i++) {
			cr_assert_eq(sk_kfifo_get(&f, &v), 1);
			cr_assert_eq(v, round * 4 + i);
		}
		cr_assert_eq(sk_kfifo_get(&f, &v), 0);
	}
	cr_assert_lt(f.kfifo.in, start, "the index wrapped");
	/* Bulk across the wrap. */
	f.kfifo.in = f.kfifo.out = f.kfifo.in_cache = f.kfifo.out_cache = UINT_MAX - 1;
	SK_EXPECT_NO_VIOLATION({
		cr_assert_eq(sk_kfifo_in(&f, buf, 4), 4);
		cr_assert(sk_kfifo_is_full(&f));
		cr_assert_eq(sk_kfifo_out(&f, out, 4), 4);
	});
	cr_assert_arr_eq(out, buf, sizeof(buf));
}

Test(kfifo, skip_skip_count_reset_out_reset)
{
	SK_DEFINE_KFIFO(f, int, 8);
	int v;

	for (int i = 0; i < 6; i++)
		cr_assert_eq(sk_kfifo_put(&f, i), 1);
	sk_kfifo_skip(&f);
	cr_assert_eq(sk_kfifo_get(&f, &v), 1);
	cr_assert_eq(v, 1);
	sk_kfifo_skip_count(&f, 2);
	cr_assert_eq(sk_kfifo_get(&f, &v), 1);
	cr_assert_eq(v, 4);
	sk_kfifo_skip_count(&f, 0);
	cr_assert_eq(sk_kfifo_len(&f), 1);
	sk_kfifo_reset_out(&f);
	cr_assert(sk_kfifo_is_empty(&f));
	cr_assert_eq(f.kfifo.in, 6, "reset_out keeps in");
	cr_assert_eq(sk_kfifo_put(&f, 42), 1);
	sk_kfifo_reset(&f);
	cr_assert(sk_kfifo_is_empty(&f));
	cr_assert_eq(f.kfifo.in, 0);
	cr_assert_eq(f.kfifo.out, 0);
	cr_assert_eq(f.kfifo.producer, 0);
	cr_assert_eq(f.kfifo.consumer, 0);
	cr_assert_eq(sk_kfifo_put(&f, 43), 1);
	cr_assert_eq(sk_kfifo_get(&f, &v), 1);
	cr_assert_eq(v, 43);
}

Test(kfifo, skip_beyond_len_is_refused)
{
	SK_DEFINE_KFIFO(f, int, 8);
	struct idx before;
	int v;

	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_skip(&f));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	cr_assert_eq(sk_kfifo_put(&f, 2), 1);
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_skip_count(&f, 3));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(sk_kfifo_get(&f, &v), 1);
	cr_assert_eq(v, 1);
}

Test(kfifo, struct_and_pointer_elements)
{
	struct msg {
		int id;
		char text[13];
	};
	SK_DEFINE_KFIFO(fm, struct msg, 4);
	SK_DEFINE_KFIFO(fp, struct msg *, 4);
	struct msg a = { 1, "hello" }, b, *p = NULL;

	cr_assert_eq(sk_kfifo_put(&fm, a), 1);
	cr_assert_eq(sk_kfifo_get(&fm, &b), 1);
	cr_assert_eq(b.id, 1);
	cr_assert_str_eq(b.text, "hello");
	cr_assert_eq(sk_kfifo_put(&fp, &a), 1);
	cr_assert_eq(sk_kfifo_get(&fp, &p), 1);
	cr_assert_eq(p, &a);
}

Test(kfifo, byte_fifo_struct_sk_kfifo)
{
	struct sk_kfifo f;
	const char *msg = "the quick brown fox";
	char out[32] = { 0 };

	cr_assert_eq(sk_kfifo_alloc(&f, 16), 0);
	cr_assert_eq(sk_kfifo_esize(&f), 1);
	cr_assert_eq(sk_kfifo_in(&f, (const unsigned char *)msg, (unsigned int)strlen(msg)), 16);
	cr_assert_eq(sk_kfifo_out(&f, (unsigned char *)out, sizeof(out)), 16);
	cr_assert_eq(memcmp(out, msg, 16), 0);
	sk_kfifo_free(&f);
}

Test(kfifo, uninitialised_fifo_is_refused)
{
	SK_DECLARE_KFIFO(f, int, 4);
	int v = 5, buf[2] = { 1, 2 };

	memset(&f, 0, sizeof(f)); /* declared, SK_INIT_KFIFO forgotten */
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, 1), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_peek(&f, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_in(&f, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_out(&f, buf, 2), 0));
	cr_assert_eq(v, 5);
	cr_assert_eq(f.kfifo.in, 0);
	cr_assert_eq(f.kfifo.out, 0);
	cr_assert(sk_kfifo_is_empty(&f));
	cr_assert(sk_kfifo_is_full(&f), "no buffer: no room");
}

Test(kfifo, freed_fifo_is_refused)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int v;

	cr_assert_eq(sk_kfifo_alloc(&f, 4), 0);
	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	sk_kfifo_free(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
}

/* The last report, to see that free names its caller. */
static struct sk_test_report last;

Test(kfifo, free_of_a_caller_buffer_is_refused)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int buf[8] = { 0 };
	struct idx before;
	unsigned int line;
	int v;

	sk_test_record_start(&last);
	cr_assert_eq(sk_kfifo_init(&f, buf, sizeof(buf)), 0);
	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	cr_assert_eq(sk_kfifo_put(&f, 2), 1);
	before = SNAP(&f);
	/* The kernel's kfifo_free() would kfree() the caller's array. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, (line = __LINE__, sk_kfifo_free(&f)));
	cr_assert_eq(last.object, &f.kfifo);
	cr_assert(strstr(last.file, "test-kfifo.c"), "reported at %s", last.file);
	cr_assert_eq(last.line, line);
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(f.kfifo.data, (void *)buf);
	cr_assert_eq(sk_kfifo_esize(&f), sizeof(int));
	/* Still usable, with what it held. */
	cr_assert_eq(sk_kfifo_put(&f, 3), 1);
	for (int i = 1; i <= 3; i++) {
		cr_assert_eq(sk_kfifo_get(&f, &v), 1);
		cr_assert_eq(v, i);
	}
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_kfifo_free(&f));
	cr_assert(sk_kfifo_initialized(&f));
}

Test(kfifo, free_follows_who_owns_the_buffer)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int buf[4];

	cr_assert_eq(sk_kfifo_alloc(&f, 4), 0);
	SK_EXPECT_NO_VIOLATION(sk_kfifo_free(&f));
	SK_EXPECT_NO_VIOLATION(sk_kfifo_free(&f)); /* twice: nothing */
	cr_assert(!sk_kfifo_initialized(&f));
	/* A caller's buffer after an allocated one: not the fifo's to free. */
	cr_assert_eq(sk_kfifo_init(&f, buf, sizeof(buf)), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_kfifo_free(&f));
	/* ... and an allocated one after a caller's: freed again. */
	cr_assert_eq(sk_kfifo_alloc(&f, 8), 0);
	SK_EXPECT_NO_VIOLATION(sk_kfifo_free(&f));
	cr_assert(!sk_kfifo_initialized(&f));
	/* A failed init leaves no buffer: nothing to refuse. */
	cr_assert_eq(sk_kfifo_init(&f, buf, 1), -EINVAL);
	SK_EXPECT_NO_VIOLATION(sk_kfifo_free(&f));
}

Test(kfifo, ptr_fifo_initialised_without_buffer_is_refused)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int v;

	SK_INIT_KFIFO(f);
	cr_assert(!sk_kfifo_initialized(&f));
	cr_assert_eq(sk_kfifo_esize(&f), sizeof(int));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
}

Test(kfifo, wrong_element_type_is_refused)
{
	SK_DEFINE_KFIFO(f, int, 8);
	/* The same fifo reached through a pointer of another element type. */
	typedef SK_STRUCT_KFIFO_PTR(long) long_fifo;
	long_fifo *alias = (long_fifo *)(void *)&f;
	long lv = 0, lbuf[2] = { 1, 2 };
	struct idx before;

	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(alias, 2L), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(alias, &lv), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_in(alias, lbuf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_kfifo_out_peek(alias, lbuf, 2), 0));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(lv, 0);
}

Test(kfifo, corrupt_indices_are_refused)
{
	SK_DEFINE_KFIFO(f, int, 8);
	int v, buf[3] = { 0 };
	struct idx before;

	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	/* A wild write: in runs 20 ahead of out in a fifo of 8. */
	f.kfifo.in = f.kfifo.out + 20;
	f.kfifo.in_cache = f.kfifo.out_cache = 0;
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_in(&f, buf, 3), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_out(&f, buf, 3), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_skip(&f));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_reset_out(&f));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(sk_kfifo_len(&f), 8, "len is clamped to the size");
	/*
	 * out ahead of in.  Each side checks the other's index when it reads
	 * it: the producer when its cached copy says full, the consumer when
	 * its copy says empty.
	 */
	f.kfifo.in = 8;
	f.kfifo.out_cache = 0; /* the producer's copy: full */
	f.kfifo.out = 20;
	f.kfifo.in_cache = 20; /* the consumer's copy: empty */
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&f, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_reset_out(&f));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(sk_kfifo_len(&f), 8, "len is clamped to the size");
}

Test(kfifo, corrupt_index_under_abort_policy_aborts, .signal = SIGABRT)
{
	SK_DEFINE_KFIFO(f, int, 8);

	sk_violation_set_policy(SK_VIOLATION_ABORT);
	f.kfifo.in = 100;
	if (sk_kfifo_put(&f, 1))
		cr_log_error("put succeeded");
}

/* ------------------------------------------------------------------------
 * Threads: queries from anywhere; the debug-level SPSC identity check.
 * ------------------------------------------------------------------------ */

static SK_DEFINE_KFIFO(shared, int, 16);

struct thread_result {
	unsigned int put, got, len;
	int value;
};

static void *other_producer(void *arg)
{
	struct thread_result *r = arg;

	r->put = sk_kfifo_put(&shared, 77);
	return NULL;
}

static SK_UNUSED void *other_consumer(void *arg)
{
	struct thread_result *r = arg;

	r->value = -1;
	r->got = sk_kfifo_get(&shared, &r->value);
	return NULL;
}

static void *querier(void *arg)
{
	struct thread_result *r = arg;

	r->len = sk_kfifo_len(&shared) + sk_kfifo_avail(&shared) * 100 +
		 (unsigned int)sk_kfifo_is_empty(&shared) * 10000 +
		 (unsigned int)sk_kfifo_is_full(&shared) * 100000 + sk_kfifo_size(&shared) * 1000000;
	return NULL;
}

static struct thread_result run_on_thread(void *(*fn)(void *))
{
	struct thread_result r = { 0, 0, 0, 0 };
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, fn, &r), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	return r;
}

Test(kfifo, queries_from_any_thread)
{
	struct thread_result r;

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1);
	cr_assert_eq(sk_kfifo_put(&shared, 2), 1);
	SK_EXPECT_NO_VIOLATION(r = run_on_thread(querier));
	cr_assert_eq(r.len, 2 + 14 * 100 + 16 * 1000000);
}

#ifdef SK_DEBUG

Test(kfifo, debug_second_producer_is_reported_and_refused)
{
	struct thread_result r;
	struct idx before;
	int v;

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1); /* this thread is the producer */
	before = SNAP(&shared);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS, r = run_on_thread(other_producer));
	cr_assert_eq(r.put, 0);
	cr_assert(SAME(before, SNAP(&shared)));
	cr_assert_eq(shared.kfifo.producer, (uintptr_t)pthread_self());
	/* The consumer side is still free: another thread may take it. */
	SK_EXPECT_NO_VIOLATION(r = run_on_thread(other_consumer));
	cr_assert_eq(r.got, 1);
	cr_assert_eq(r.value, 1);
	/* ... and now it is that (finished) thread's: this one is refused. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    cr_assert_eq(sk_kfifo_get(&shared, &v), 0));
}

Test(kfifo, debug_second_consumer_is_reported_for_every_consumer_operation)
{
	int v, buf[2];

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1);
	cr_assert_eq(sk_kfifo_put(&shared, 2), 1);
	cr_assert_eq(sk_kfifo_put(&shared, 3), 1);
	(void)run_on_thread(other_consumer); /* takes 1: the consumer is that thread */
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    cr_assert_eq(sk_kfifo_peek(&shared, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    cr_assert_eq(sk_kfifo_out(&shared, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    cr_assert_eq(sk_kfifo_out_peek(&shared, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS, sk_kfifo_skip(&shared));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS, sk_kfifo_reset_out(&shared));
	cr_assert_eq(sk_kfifo_len(&shared), 2);
}

static void *other_producer_in(void *arg)
{
	struct thread_result *r = arg;
	const int batch[2] = { 77, 78 };

	r->put = sk_kfifo_in(&shared, batch, 2);
	return NULL;
}

static void *other_skipper(void *arg)
{
	struct thread_result *r = arg;

	sk_kfifo_skip_count(&shared, 2);
	r->len = sk_kfifo_len(&shared);
	return NULL;
}

Test(kfifo, debug_second_producer_in_is_reported_and_refused)
{
	struct thread_result r;
	struct idx before;
	const int batch[2] = { 1, 2 };

	cr_assert_eq(sk_kfifo_in(&shared, batch, 2), 2); /* this thread is the producer */
	before = SNAP(&shared);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    r = run_on_thread(other_producer_in));
	cr_assert_eq(r.put, 0);
	cr_assert(SAME(before, SNAP(&shared)));
	cr_assert_eq(shared.kfifo.producer, (uintptr_t)pthread_self());
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_in(&shared, batch, 2), 2));
}

static void *bad_calls(void *arg)
{
	struct thread_result *r = arg;
	int buf[2] = { 5, 6 };

	r->put = sk_kfifo_in(&shared, buf, -1);
	r->got = sk_kfifo_out(&shared, buf, -1) + sk_kfifo_out_peek(&shared, buf, -1);
	sk_kfifo_skip_count(&shared, 1000);
	return NULL;
}

/*
 * A call refused by a check that needs no index (a negative count, a skip
 * beyond the size) changes nothing: it used to make its thread the owner
 * of the side first, and the program's real producer and consumer were
 * refused from then on.
 */
Test(kfifo, debug_refused_call_does_not_take_a_side)
{
	unsigned long inval = sk_violation_count(SK_VIOLATION_INVALID_ARGUMENT);
	unsigned long corrupt = sk_violation_count(SK_VIOLATION_RING_CORRUPTION);
	unsigned long total = sk_violation_total();
	struct thread_result r;
	int v;

	r = run_on_thread(bad_calls);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_INVALID_ARGUMENT) - inval, 3);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_RING_CORRUPTION) - corrupt, 1);
	cr_assert_eq(sk_violation_total() - total, 4);
	SK_TEST_ACCOUNT(4);
	cr_assert_eq(r.put, 0);
	cr_assert_eq(r.got, 0);
	cr_assert_eq(shared.kfifo.producer, 0, "a refused in took the producer side");
	cr_assert_eq(shared.kfifo.consumer, 0, "a refused out took the consumer side");
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_put(&shared, 1), 1));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_get(&shared, &v), 1));
	cr_assert_eq(v, 1);
}

Test(kfifo, debug_second_consumer_skip_count_is_reported_and_refused)
{
	struct thread_result r;
	struct idx before;
	int v;

	for (int i = 1; i <= 4; i++)
		cr_assert_eq(sk_kfifo_put(&shared, i), 1);
	cr_assert_eq(sk_kfifo_get(&shared, &v), 1); /* this thread is the consumer */
	before = SNAP(&shared);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS, r = run_on_thread(other_skipper));
	cr_assert_eq(r.len, 3, "the refused skip_count dropped elements");
	cr_assert(SAME(before, SNAP(&shared)));
	cr_assert_eq(shared.kfifo.consumer, (uintptr_t)pthread_self());
	SK_EXPECT_NO_VIOLATION(sk_kfifo_skip_count(&shared, 2));
	cr_assert_eq(sk_kfifo_get(&shared, &v), 1);
	cr_assert_eq(v, 4);
}

Test(kfifo, debug_release_hands_a_side_over)
{
	struct thread_result r;
	int v;

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1);
	cr_assert_eq(sk_kfifo_get(&shared, &v), 1);
	sk_kfifo_release_producer(&shared);
	sk_kfifo_release_consumer(&shared);
	SK_EXPECT_NO_VIOLATION(r = run_on_thread(other_producer));
	cr_assert_eq(r.put, 1);
	SK_EXPECT_NO_VIOLATION(r = run_on_thread(other_consumer));
	cr_assert_eq(r.got, 1);
	cr_assert_eq(r.value, 77);
	/* The main thread gave both sides away. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS,
			    cr_assert_eq(sk_kfifo_put(&shared, 2), 0));
	sk_kfifo_reset(&shared); /* forgets both owners */
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_put(&shared, 3), 1));
}

Test(kfifo, debug_second_producer_aborts_by_default, .signal = SIGABRT)
{
	sk_violation_set_policy(SK_VIOLATION_ABORT);
	if (!sk_kfifo_put(&shared, 1))
		cr_log_error("put failed");
	(void)run_on_thread(other_producer);
}

Test(kfifo, debug_one_report_for_two_faults)
{
	/* A second thread on a corrupt fifo: the identity check fires, alone. */
	struct thread_result r;

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1);
	shared.kfifo.in = shared.kfifo.out + 100;
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CONCURRENT_ACCESS, r = run_on_thread(other_producer));
	cr_assert_eq(r.put, 0);
}

#else /* hardened */

Test(kfifo, hardened_does_not_track_threads)
{
	struct thread_result r;

	cr_assert_eq(sk_kfifo_put(&shared, 1), 1);
	SK_EXPECT_NO_VIOLATION(r = run_on_thread(other_producer));
	cr_assert_eq(r.put, 1);
	cr_assert_eq(shared.kfifo.producer, 0, "identity fields exist but stay unset");
}

#endif

/*
 * A count that is negative or wider than 32 bits is refused and reported
 * in in, out, out_peek and skip_count, the kfifo unchanged: in of -1 from
 * a 16-byte buffer copied 4096 bytes into the fifo; out of 2^32 took
 * nothing with 4 queued, skip_count of 2^32 + 2 dropped 2.
 */
Test(kfifo, negative_and_64_bit_counts_are_refused)
{
	SK_DEFINE_KFIFO(f, unsigned char, 4096);
	unsigned char chunk[16] = { 1, 2, 3, 4 }, out[16] = { 0 };
	int minus_one = -1;
	uint64_t big = UINT64_C(1) << 32, big2 = (UINT64_C(1) << 32) + 2;
	struct idx before;

	cr_assert_eq(sk_kfifo_in(&f, chunk, 4), 4);
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_kfifo_in(&f, chunk, minus_one), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_kfifo_in(&f, chunk, big2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_kfifo_out(&f, out, big), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_kfifo_out(&f, out, minus_one), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    cr_assert_eq(sk_kfifo_out_peek(&f, out, big2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_skip_count(&f, big2));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, sk_kfifo_skip_count(&f, minus_one));
	cr_assert(SAME(before, SNAP(&f)));
	cr_assert_eq(sk_kfifo_len(&f), 4);
	cr_assert_eq(out[0], 0, "nothing was copied out");
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_out(&f, out, 16), 4));
	cr_assert_eq(out[3], 4);
}

/*
 * A struct copy of an embedded kfifo still points at the original's
 * buffer: every data-moving call on the copy is refused and reported, and
 * the original's queued elements are untouched (a put into the copy
 * overwrote them).
 */
struct with_fifo {
	int tag;
	SK_DECLARE_KFIFO(q, int, 4);
};

Test(kfifo, struct_copy_of_an_embedded_kfifo_is_refused)
{
	struct with_fifo a, b;
	int v = 0, buf[2] = { 0 };

	memset(&a, 0, sizeof(a)); /* the buffer is compared whole below */
	a.tag = 1;
	SK_INIT_KFIFO(a.q);
	cr_assert_eq(sk_kfifo_put(&a.q, 111), 1);
	b = a;
	b.tag = 2;
	struct idx before = SNAP(&b.q);
	int slots[4];

	memcpy(slots, a.q.buf, sizeof(slots));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_put(&b.q, 333), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_in(&b.q, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&b.q, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_peek(&b.q, &v), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_out(&b.q, buf, 2), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION,
			    cr_assert_eq(sk_kfifo_out_peek(&b.q, buf, 2), 0));
	cr_assert_eq(v, 0);
	/* Nothing written through the copy: its indices, and every slot of
	 * the buffer its data pointer shares with the original. */
	cr_assert(SAME(before, SNAP(&b.q)));
	cr_assert_eq(b.q.kfifo.data, (void *)a.q.buf);
	cr_assert_eq(memcmp(slots, a.q.buf, sizeof(slots)), 0);
	cr_assert_eq(buf[0], 0);
	cr_assert_eq(buf[1], 0);
	/* Initialised again, the copy is a kfifo of its own. */
	SK_INIT_KFIFO(b.q);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_put(&b.q, 333), 1));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_get(&a.q, &v), 1));
	cr_assert_eq(v, 111, "the original's element was overwritten");
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_get(&b.q, &v), 1));
	cr_assert_eq(v, 333);
}

/*
 * The edges of the checks (each moved by one had passed every test): an in
 * or put on a full fifo and a skip of the last elements are plain calls,
 * unreported; indices one past full are corruption; a count of exactly
 * SK_KFIFO_MAX_SIZE is a count, not a negative one.
 */
Test(kfifo, the_checks_stop_exactly_at_their_edges)
{
	SK_DEFINE_KFIFO(f, int, 8);
	int buf[8] = { 0 }, v;
	struct idx before;

	for (int i = 0; i < 8; i++)
		cr_assert_eq(sk_kfifo_put(&f, i), 1);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_in(&f, buf, 1), 0));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_put(&f, 8), 0));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_in(&f, buf, SK_KFIFO_MAX_SIZE), 0));
	SK_EXPECT_NO_VIOLATION(sk_kfifo_skip_count(&f, 7));
	cr_assert_eq(sk_kfifo_len(&f), 1);
	SK_EXPECT_NO_VIOLATION(sk_kfifo_skip(&f));
	cr_assert(sk_kfifo_is_empty(&f));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_in(&f, buf, SK_KFIFO_MAX_SIZE), 8));
	SK_EXPECT_NO_VIOLATION(sk_kfifo_skip_count(&f, 8));
	cr_assert(sk_kfifo_is_empty(&f));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_in(&f, buf, 3), 3));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_kfifo_out(&f, buf, SK_KFIFO_MAX_SIZE), 3));

	/* One past full, as the consumer sees it. */
	cr_assert_eq(sk_kfifo_put(&f, 1), 1);
	f.kfifo.in = f.kfifo.in_cache = f.kfifo.out + 8 + 1;
	before = SNAP(&f);
	SK_EXPECT_VIOLATION(SK_VIOLATION_RING_CORRUPTION, cr_assert_eq(sk_kfifo_get(&f, &v), 0));
	cr_assert(SAME(before, SNAP(&f)));
}

/* A caller buffer of 2^32 or 2^33 elements: the fifo uses 2^31 of them
 * (a 32-bit size would have been 0). */
Test(kfifo, init_on_a_huge_caller_buffer_uses_the_largest_size)
{
	SK_DECLARE_KFIFO_PTR(f, int);
	int buf[4];

	cr_assert_eq(sk_kfifo_init(&f, buf, opaque(((size_t)1 << 32) * sizeof(int))), 0);
	cr_assert_eq(sk_kfifo_size(&f), SK_KFIFO_MAX_SIZE);
	SK_INIT_KFIFO(f);
	cr_assert_eq(sk_kfifo_init(&f, buf, opaque(((size_t)1 << 33) * sizeof(int))), 0);
	cr_assert_eq(sk_kfifo_size(&f), SK_KFIFO_MAX_SIZE);
	SK_INIT_KFIFO(f); /* the fifo never touched the buffer: forget it */
}
