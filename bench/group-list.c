/* SPDX-License-Identifier: MIT */
/*
 * bench/group-list.c - the "list" groups: what the hardened list costs
 * against the raw C a program would otherwise carry (bench/raw/list.h, the
 * kernel's list.h without checks), against the debug level, and against
 * liburcu's cds_list (<urcu/list.h>, header-only, no checks).
 *
 *   list.add_del        add an entry after the head, delete it: ns per pair
 *                       (a compiler barrier after each operation, so that
 *                       what the add stored is not known to the delete, as
 *                       in a program where they are far apart)
 *   list.add_tail_del_one
 *                       add_tail an entry to a list of two, delete it (a
 *                       queue that is mostly empty): ns per pair
 *   list.add_tail_del   add_tail 1,000 entries, then delete them all in
 *                       order (a queue): ns per entry (one add_tail + one del)
 *   list.lru            add 1,000 entries at the head, then delete them
 *                       in the order they were added, from the tail (an
 *                       LRU list's eviction): ns per entry (one add + one del)
 *   list.walk           list_for_each_entry over 1,000 entries summing a
 *                       field: ns per entry visited
 *   list.splice         splice_init a 64-entry list into an empty head
 *                       and back: ns per splice
 *
 * raw stores in sk_list's order, raw.kernel_store_order in the kernel's
 * verbatim order (see bench/raw/list.h).  Each group's baseline is the
 * faster of the two there (gcc 12, AMD EPYC): raw for add_del (where the
 * kernel order's 16-byte store stalls the delete that reads it back) and
 * for lru, the kernel order for add_tail_del (one store fewer per add, in
 * a store-bound loop).
 * This file is compiled at both levels; raw and peer cases are registered
 * once, hardened-side.
 */
#include <stdlib.h>

#include <safekern/alloc.h>
#include <safekern/list.h>

#include "bench.h"
#include "raw/list.h"

#ifdef SK_BENCH_HAVE_URCU
#include <urcu/list.h>
#endif

#define N_QUEUE 1000
#define N_WALK 1000
#define N_SPLICE 64

/* ------------------------------------------------------------------------
 * add + del pair
 * ------------------------------------------------------------------------ */

/* The state of every case: a head with two resident entries and one to move. */
struct add_del_state {
	union {
		struct {
			struct sk_list_head head, resident[2], node;
		} sk;
		struct {
			struct raw_list_head head, resident[2], node;
		} raw;
#ifdef SK_BENCH_HAVE_URCU
		struct {
			struct cds_list_head head, resident[2], node;
		} urcu;
#endif
	};
};

static struct add_del_state add_del;

static void *setup_add_del_sk(const struct sk_bench_case *c)
{
	(void)c;
	sk_init_list_head(&add_del.sk.head);
	sk_list_add_tail(&add_del.sk.resident[0], &add_del.sk.head);
	sk_list_add_tail(&add_del.sk.resident[1], &add_del.sk.head);
	return &add_del;
}

/*
 * PAIR_RUN() - define run function @fn: @add the state's one moving entry
 * to the head (@add is the head or the tail form), then @del it, a clobber
 * after each.  @member names the list type's part of struct add_del_state.
 */
#define PAIR_RUN(fn, member, type, add, del)                                  \
	static void fn(struct sk_bench_thread *t)                             \
	{                                                                     \
		uint64_t iters = t->iters;                                    \
		struct add_del_state *s = t->state;                           \
		type *head = &s->member.head, *node = &s->member.node;        \
									      \
		sk_bench_opaque(head);                                        \
		sk_bench_opaque(node);                                        \
		for (uint64_t i = 0; i < iters; i++) {                        \
			add(node, head);                                      \
			sk_bench_clobber();                                   \
			del(node);                                            \
			sk_bench_clobber();                                   \
		}                                                             \
		t->sink = (uintptr_t)head->next;                              \
	}

PAIR_RUN(run_add_del_sk, sk, struct sk_list_head, sk_list_add, sk_list_del)
SK_BENCH_CASE(list_add_del_sk, .group = "list.add_del", .name = "sk_list." SK_BENCH_LEVEL,
	      .setup = setup_add_del_sk, .run = run_add_del_sk)

PAIR_RUN(run_add_tail_del_one_sk, sk, struct sk_list_head, sk_list_add_tail, sk_list_del)
SK_BENCH_CASE(list_add_tail_del_one_sk, .group = "list.add_tail_del_one",
	      .name = "sk_list." SK_BENCH_LEVEL, .setup = setup_add_del_sk,
	      .run = run_add_tail_del_one_sk)

#ifndef SK_DEBUG
static void *setup_add_del_raw(const struct sk_bench_case *c)
{
	(void)c;
	raw_init_list_head(&add_del.raw.head);
	raw_list_add_tail(&add_del.raw.resident[0], &add_del.raw.head);
	raw_list_add_tail(&add_del.raw.resident[1], &add_del.raw.head);
	return &add_del;
}

PAIR_RUN(run_add_del_raw, raw, struct raw_list_head, raw_list_add, raw_list_del)
SK_BENCH_CASE(list_add_del_raw, .group = "list.add_del", .name = "raw", .baseline = true,
	      .setup = setup_add_del_raw, .run = run_add_del_raw)

PAIR_RUN(run_add_del_raw_kernel_order, raw, struct raw_list_head, raw_list_add_kernel_order,
	 raw_list_del)
SK_BENCH_CASE(list_add_del_raw_ko, .group = "list.add_del", .name = "raw.kernel_store_order",
	      .setup = setup_add_del_raw, .run = run_add_del_raw_kernel_order)

PAIR_RUN(run_add_tail_del_one_raw, raw, struct raw_list_head, raw_list_add_tail, raw_list_del)
SK_BENCH_CASE(list_add_tail_del_one_raw, .group = "list.add_tail_del_one", .name = "raw",
	      .baseline = true, .setup = setup_add_del_raw, .run = run_add_tail_del_one_raw)

PAIR_RUN(run_add_tail_del_one_raw_kernel_order, raw, struct raw_list_head,
	 raw_list_add_tail_kernel_order, raw_list_del)
SK_BENCH_CASE(list_add_tail_del_one_raw_ko, .group = "list.add_tail_del_one",
	      .name = "raw.kernel_store_order", .setup = setup_add_del_raw,
	      .run = run_add_tail_del_one_raw_kernel_order)

#ifdef SK_BENCH_HAVE_URCU
static void *setup_add_del_urcu(const struct sk_bench_case *c)
{
	(void)c;
	CDS_INIT_LIST_HEAD(&add_del.urcu.head);
	cds_list_add_tail(&add_del.urcu.resident[0], &add_del.urcu.head);
	cds_list_add_tail(&add_del.urcu.resident[1], &add_del.urcu.head);
	return &add_del;
}

PAIR_RUN(run_add_del_urcu, urcu, struct cds_list_head, cds_list_add, cds_list_del)
SK_BENCH_CASE(list_add_del_urcu, .group = "list.add_del", .name = "cds_list (liburcu)",
	      .setup = setup_add_del_urcu, .run = run_add_del_urcu)

PAIR_RUN(run_add_tail_del_one_urcu, urcu, struct cds_list_head, cds_list_add_tail,
	 cds_list_del)
SK_BENCH_CASE(list_add_tail_del_one_urcu, .group = "list.add_tail_del_one",
	      .name = "cds_list (liburcu)", .setup = setup_add_del_urcu,
	      .run = run_add_tail_del_one_urcu)
#endif
#endif /* !SK_DEBUG */

/* ------------------------------------------------------------------------
 * add_tail 1,000 then delete them in order
 * ------------------------------------------------------------------------ */

struct queue_state {
	void *nodes; /* N_QUEUE list heads of the case's type */
	union {
		struct sk_list_head sk;
		struct raw_list_head raw;
#ifdef SK_BENCH_HAVE_URCU
		struct cds_list_head urcu;
#endif
	} head;
};

static void *setup_queue(const struct sk_bench_case *c)
{
	struct queue_state *s = sk_kzalloc(sizeof(*s));

	(void)c;
	if (!s)
		return NULL;
	/* every node type is two pointers */
	s->nodes = sk_kcalloc(N_QUEUE, sizeof(struct sk_list_head));
	if (!s->nodes) {
		sk_kfree(s);
		return NULL;
	}
	return s;
}

static void teardown_queue(void *state)
{
	struct queue_state *s = state;

	sk_kfree(s->nodes);
	sk_kfree(s);
}

/*
 * QUEUE_RUN() - define run function @fn: fill the 1,000 entries with @add
 * (at the tail for the queue, at the head for the LRU), then delete them
 * with @del in the order they were added.  @member names the head in
 * struct queue_state, @type its list type.
 *
 * A clobber after every operation, as in list.add_del: a real program does
 * other work between two adds.  Without it gcc kept the head's pointer in
 * a register across a whole round of the unchecked lists' adds and stored
 * it once after the loop (the LRU's head->next, cds_list's head->prev),
 * which sk_list's checks, reading it back, could not do: the raw LRU ran
 * 1.15 ns against 1.51 ns for the same code as a queue (until 2026-11-26;
 * found by a review of the benchmarks).
 */
#define QUEUE_RUN(fn, member, type, init, add, del)                           \
	static void fn(struct sk_bench_thread *t)                             \
	{                                                                     \
		uint64_t iters = t->iters;                                    \
		struct queue_state *s = t->state;                             \
		type *head = &s->head.member, *n = s->nodes;                  \
									      \
		init(head);                                                   \
		for (uint64_t i = 0; i < iters; i++) {                        \
			for (size_t k = 0; k < N_QUEUE; k++) {                \
				add(&n[k], head);                             \
				sk_bench_clobber();                           \
			}                                                     \
			for (size_t k = 0; k < N_QUEUE; k++) {                \
				del(&n[k]);                                   \
				sk_bench_clobber();                           \
			}                                                     \
		}                                                             \
		t->sink = (uintptr_t)head->next;                              \
	}

#define QUEUE_CASE(id, group_, name_, fn, ...)                                \
	SK_BENCH_CASE(id, .group = group_, .name = name_, .ops_per_iter = N_QUEUE, \
		      .callgrind_iters = 100, .setup = setup_queue,           \
		      .teardown = teardown_queue, .run = fn, ##__VA_ARGS__)

QUEUE_RUN(run_queue_sk, sk, struct sk_list_head, sk_init_list_head, sk_list_add_tail, sk_list_del)
QUEUE_CASE(list_queue_sk, "list.add_tail_del", "sk_list." SK_BENCH_LEVEL, run_queue_sk)

#ifndef SK_DEBUG
QUEUE_RUN(run_queue_raw, raw, struct raw_list_head, raw_init_list_head, raw_list_add_tail,
	  raw_list_del)
QUEUE_CASE(list_queue_raw, "list.add_tail_del", "raw", run_queue_raw)

QUEUE_RUN(run_queue_raw_kernel_order, raw, struct raw_list_head, raw_init_list_head,
	  raw_list_add_tail_kernel_order, raw_list_del)
QUEUE_CASE(list_queue_raw_ko, "list.add_tail_del", "raw.kernel_store_order",
	   run_queue_raw_kernel_order, .baseline = true)

#ifdef SK_BENCH_HAVE_URCU
QUEUE_RUN(run_queue_urcu, urcu, struct cds_list_head, CDS_INIT_LIST_HEAD, cds_list_add_tail,
	  cds_list_del)
QUEUE_CASE(list_queue_urcu, "list.add_tail_del", "cds_list (liburcu)", run_queue_urcu)
#endif
#endif /* !SK_DEBUG */

/* ------------------------------------------------------------------------
 * LRU: add 1,000 at the head, evict them oldest first (from the tail).
 * The state is the queue's.
 * ------------------------------------------------------------------------ */

QUEUE_RUN(run_lru_sk, sk, struct sk_list_head, sk_init_list_head, sk_list_add, sk_list_del)
QUEUE_CASE(list_lru_sk, "list.lru", "sk_list." SK_BENCH_LEVEL, run_lru_sk)

#ifndef SK_DEBUG
QUEUE_RUN(run_lru_raw, raw, struct raw_list_head, raw_init_list_head, raw_list_add,
	  raw_list_del)
QUEUE_CASE(list_lru_raw, "list.lru", "raw", run_lru_raw)

QUEUE_RUN(run_lru_raw_kernel_order, raw, struct raw_list_head, raw_init_list_head,
	  raw_list_add_kernel_order, raw_list_del)
/* The baseline: the faster raw once the raw loop had to keep its head in
 * memory (1.39 against 1.56 ns, 2026-11-26 18:53 UTC). */
QUEUE_CASE(list_lru_raw_ko, "list.lru", "raw.kernel_store_order", run_lru_raw_kernel_order,
	   .baseline = true)

#ifdef SK_BENCH_HAVE_URCU
QUEUE_RUN(run_lru_urcu, urcu, struct cds_list_head, CDS_INIT_LIST_HEAD, cds_list_add,
	  cds_list_del)
QUEUE_CASE(list_lru_urcu, "list.lru", "cds_list (liburcu)", run_lru_urcu)
#endif
#endif /* !SK_DEBUG */

/* ------------------------------------------------------------------------
 * Walk 1,000 entries
 * ------------------------------------------------------------------------ */

struct witem_sk {
	unsigned long value;
	struct sk_list_head node;
};

struct witem_raw {
	unsigned long value;
	struct raw_list_head node;
};

#ifdef SK_BENCH_HAVE_URCU
struct witem_urcu {
	unsigned long value;
	struct cds_list_head node;
};
#endif

struct walk_state {
	void *items;
	union {
		struct sk_list_head sk;
		struct raw_list_head raw;
#ifdef SK_BENCH_HAVE_URCU
		struct cds_list_head urcu;
#endif
	} head;
};

/* All item types have the same layout: a word, then two pointers. */
static void *setup_walk(const struct sk_bench_case *c)
{
	struct walk_state *s = sk_kzalloc(sizeof(*s));

	(void)c;
	if (!s)
		return NULL;
	s->items = sk_kcalloc(N_WALK, sizeof(struct witem_sk));
	if (!s->items) {
		sk_kfree(s);
		return NULL;
	}
	return s;
}

static void teardown_walk(void *state)
{
	struct walk_state *s = state;

	sk_kfree(s->items);
	sk_kfree(s);
}

static void *setup_walk_sk(const struct sk_bench_case *c)
{
	struct walk_state *s = setup_walk(c);
	struct witem_sk *it;

	if (!s)
		return NULL;
	it = s->items;
	sk_init_list_head(&s->head.sk);
	for (size_t k = 0; k < N_WALK; k++) {
		it[k].value = k;
		sk_list_add_tail(&it[k].node, &s->head.sk);
	}
	return s;
}

static void run_walk_sk(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct walk_state *s = t->state;
	struct sk_list_head *head = &s->head.sk;
	unsigned long sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		struct witem_sk *pos;

		sk_bench_opaque(head);
		sk_list_for_each_entry(pos, head, node)
			sum += pos->value;
	}
	t->sink = sum;
}
SK_BENCH_CASE(list_walk_sk, .group = "list.walk", .name = "sk_list." SK_BENCH_LEVEL,
	      .ops_per_iter = N_WALK, .callgrind_iters = 100, .setup = setup_walk_sk,
	      .teardown = teardown_walk, .run = run_walk_sk)

#ifndef SK_DEBUG
static void *setup_walk_raw(const struct sk_bench_case *c)
{
	struct walk_state *s = setup_walk(c);
	struct witem_raw *it;

	if (!s)
		return NULL;
	it = s->items;
	raw_init_list_head(&s->head.raw);
	for (size_t k = 0; k < N_WALK; k++) {
		it[k].value = k;
		raw_list_add_tail(&it[k].node, &s->head.raw);
	}
	return s;
}

static void run_walk_raw(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct walk_state *s = t->state;
	struct raw_list_head *head = &s->head.raw;
	unsigned long sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		struct witem_raw *pos;

		sk_bench_opaque(head);
		raw_list_for_each_entry(pos, head, node)
			sum += pos->value;
	}
	t->sink = sum;
}
SK_BENCH_CASE(list_walk_raw, .group = "list.walk", .name = "raw", .baseline = true,
	      .ops_per_iter = N_WALK, .callgrind_iters = 100, .setup = setup_walk_raw,
	      .teardown = teardown_walk, .run = run_walk_raw)

#ifdef SK_BENCH_HAVE_URCU
static void *setup_walk_urcu(const struct sk_bench_case *c)
{
	struct walk_state *s = setup_walk(c);
	struct witem_urcu *it;

	if (!s)
		return NULL;
	it = s->items;
	CDS_INIT_LIST_HEAD(&s->head.urcu);
	for (size_t k = 0; k < N_WALK; k++) {
		it[k].value = k;
		cds_list_add_tail(&it[k].node, &s->head.urcu);
	}
	return s;
}

/* liburcu's caa_container_of() casts from char *: clang's -Wcast-align. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-align"
static void run_walk_urcu(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct walk_state *s = t->state;
	struct cds_list_head *head = &s->head.urcu;
	unsigned long sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		struct witem_urcu *pos;

		sk_bench_opaque(head);
		cds_list_for_each_entry(pos, head, node)
			sum += pos->value;
	}
	t->sink = sum;
}
SK_BENCH_CASE(list_walk_urcu, .group = "list.walk", .name = "cds_list (liburcu)",
	      .ops_per_iter = N_WALK, .callgrind_iters = 100, .setup = setup_walk_urcu,
	      .teardown = teardown_walk, .run = run_walk_urcu)
#pragma GCC diagnostic pop
#endif
#endif /* !SK_DEBUG */

/* ------------------------------------------------------------------------
 * splice_init back and forth
 * ------------------------------------------------------------------------ */

struct splice_state {
	union {
		struct {
			struct sk_list_head a, b, n[N_SPLICE];
		} sk;
		struct {
			struct raw_list_head a, b, n[N_SPLICE];
		} raw;
#ifdef SK_BENCH_HAVE_URCU
		struct {
			struct cds_list_head a, b, n[N_SPLICE];
		} urcu;
#endif
	};
};

static struct splice_state splice;

static void *setup_splice_sk(const struct sk_bench_case *c)
{
	(void)c;
	sk_init_list_head(&splice.sk.a);
	sk_init_list_head(&splice.sk.b);
	for (size_t k = 0; k < N_SPLICE; k++)
		sk_list_add_tail(&splice.sk.n[k], &splice.sk.a);
	return &splice;
}

static void run_splice_sk(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct splice_state *s = t->state;
	struct sk_list_head *a = &s->sk.a, *b = &s->sk.b;

	sk_bench_opaque(a);
	sk_bench_opaque(b);
	for (uint64_t i = 0; i < iters; i++) {
		sk_list_splice_init(a, b);
		sk_list_splice_init(b, a);
	}
	t->sink = (uintptr_t)a->next;
}
SK_BENCH_CASE(list_splice_sk, .group = "list.splice", .name = "sk_list." SK_BENCH_LEVEL,
	      .ops_per_iter = 2, .setup = setup_splice_sk, .run = run_splice_sk)

#ifndef SK_DEBUG
static void *setup_splice_raw(const struct sk_bench_case *c)
{
	(void)c;
	raw_init_list_head(&splice.raw.a);
	raw_init_list_head(&splice.raw.b);
	for (size_t k = 0; k < N_SPLICE; k++)
		raw_list_add_tail(&splice.raw.n[k], &splice.raw.a);
	return &splice;
}

static void run_splice_raw(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct splice_state *s = t->state;
	struct raw_list_head *a = &s->raw.a, *b = &s->raw.b;

	sk_bench_opaque(a);
	sk_bench_opaque(b);
	for (uint64_t i = 0; i < iters; i++) {
		raw_list_splice_init(a, b);
		raw_list_splice_init(b, a);
	}
	t->sink = (uintptr_t)a->next;
}
SK_BENCH_CASE(list_splice_raw, .group = "list.splice", .name = "raw", .baseline = true,
	      .ops_per_iter = 2, .setup = setup_splice_raw, .run = run_splice_raw)

#ifdef SK_BENCH_HAVE_URCU
static void *setup_splice_urcu(const struct sk_bench_case *c)
{
	(void)c;
	CDS_INIT_LIST_HEAD(&splice.urcu.a);
	CDS_INIT_LIST_HEAD(&splice.urcu.b);
	for (size_t k = 0; k < N_SPLICE; k++)
		cds_list_add_tail(&splice.urcu.n[k], &splice.urcu.a);
	return &splice;
}

static void run_splice_urcu(struct sk_bench_thread *t)
{
	uint64_t iters = t->iters;
	struct splice_state *s = t->state;
	struct cds_list_head *a = &s->urcu.a, *b = &s->urcu.b;

	sk_bench_opaque(a);
	sk_bench_opaque(b);
	for (uint64_t i = 0; i < iters; i++) {
		/* liburcu has no splice_init: splice, then reinitialise */
		cds_list_splice(a, b);
		CDS_INIT_LIST_HEAD(a);
		cds_list_splice(b, a);
		CDS_INIT_LIST_HEAD(b);
	}
	t->sink = (uintptr_t)a->next;
}
SK_BENCH_CASE(list_splice_urcu, .group = "list.splice", .name = "cds_list (liburcu)",
	      .ops_per_iter = 2, .setup = setup_splice_urcu, .run = run_splice_urcu)
#endif
#endif /* !SK_DEBUG */
