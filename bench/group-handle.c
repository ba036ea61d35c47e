/* SPDX-License-Identifier: MIT */
/*
 * bench/group-handle.c - the "handle" groups: what a checked handle costs.
 *
 *   handle.lookup          lookup + read a field + put, against a raw pointer
 *                          dereference and the hand-written baseline
 *                          (bench/raw/handle.h); also the scoped lookup
 *                          (SK_CLASS(handle, ...)), whose put needs no decode
 *   handle.insert_release  an insert and a release, against the hand-written
 *                          unlocked index stack, and the same under a mutex
 *   handle.lookup.2t_same  two threads looking up one handle
 *   handle.lookup.2t_diff  two threads looking up different handles (slots in
 *                          different cache lines)
 *   handle.insert_release.2t  two threads inserting and releasing on one table,
 *                          against the hand-written stack under a mutex
 *
 * The handle is made opaque to the compiler on every iteration, so the
 * decode and the checks cannot be hoisted out of the loop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <safekern/handle.h>

#include "bench.h"
#include "raw/handle.h"

#define NOBJ 16
#define RAW_SLOTS 64

struct bobj {
	uint64_t value;
	char pad[56];
};

struct state {
	struct sk_handle_table tab;
	struct sk_handle_owner owner;
	sk_handle_t h[NOBJ];
	struct raw_handle_table raw;
	struct raw_handle_slot *raw_slots;
	uint32_t raw_free[RAW_SLOTS];
	uint64_t rh[NOBJ];
	pthread_mutex_t lock;
	struct bobj *objs;
};

static void *setup(const struct sk_bench_case *c)
{
	struct state *st = calloc(1, sizeof(*st));

	(void)c;
	if (!st)
		return NULL;
	st->objs = aligned_alloc(64, NOBJ * sizeof(struct bobj));
	st->raw_slots = aligned_alloc(64, RAW_SLOTS * sizeof(struct raw_handle_slot));
	if (!st->objs || !st->raw_slots)
		return NULL;
	memset(st->objs, 0, NOBJ * sizeof(struct bobj));
	memset(st->raw_slots, 0, RAW_SLOTS * sizeof(struct raw_handle_slot));
	pthread_mutex_init(&st->lock, NULL);
	sk_handle_table_init(&st->tab, NULL, NULL);
	sk_handle_owner_init(&st->owner, "bench");
	st->raw.slots = st->raw_slots;
	st->raw.free = st->raw_free;
	for (uint32_t i = 0; i < RAW_SLOTS; i++)
		st->raw_free[st->raw.nfree++] = RAW_SLOTS - 1 - i;
	for (int i = 0; i < NOBJ; i++) {
		st->objs[i].value = (uint64_t)i + 1;
		st->h[i] = sk_handle_insert(&st->tab, &st->objs[i], &st->owner);
		st->rh[i] = raw_handle_insert(&st->raw, &st->objs[i]);
		if (sk_handle_is_null(st->h[i]))
			return NULL;
	}
	return st;
}

static void teardown(void *p)
{
	struct state *st = p;

	for (int i = 0; i < NOBJ; i++)
		if (sk_handle_release(&st->tab, st->h[i], &st->owner))
			abort();
	sk_handle_table_destroy(&st->tab);
	sk_handle_owner_destroy(&st->owner);
	pthread_mutex_destroy(&st->lock);
	free(st->objs);
	free(st->raw_slots);
	free(st);
}

/* Thread @id's handle: 8 slots (128 bytes) apart, so never one cache line. */
static unsigned int my_obj(const struct sk_bench_thread *t)
{
	return (t->id * 8) % NOBJ;
}

/* ------------------------------------------------------------------------
 * Lookup + put
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static void run_raw_pointer(struct sk_bench_thread *t)
{
	struct state *st = t->state;
	struct bobj *p = &st->objs[0];
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++) {
		struct bobj *o = p;

		sk_bench_opaque(o);
		sum += o->value;
	}
	t->sink = sum;
}

static void raw_handle_loop(struct sk_bench_thread *t, unsigned int obj)
{
	struct state *st = t->state;
	uint64_t h0 = st->rh[obj], sum = 0;

	for (uint64_t i = 0; i < t->iters; i++) {
		uint64_t h = h0;
		struct bobj *o;

		sk_bench_opaque(h);
		o = raw_handle_lookup(&st->raw, h);
		if (o)
			sum += o->value;
		raw_handle_put(&st->raw, h);
	}
	t->sink = sum;
}

/* Every thread on object 0. */
static void run_raw_handle(struct sk_bench_thread *t)
{
	raw_handle_loop(t, 0);
}

SK_BENCH_CASE(handle_lookup_ptr, .group = "handle.lookup", .name = "raw_pointer",
	      .setup = setup, .teardown = teardown, .run = run_raw_pointer)
SK_BENCH_CASE(handle_lookup_raw, .group = "handle.lookup", .name = "raw_handle",
	      .baseline = true, .setup = setup, .teardown = teardown, .run = run_raw_handle)
SK_BENCH_CASE(handle_lookup_raw_same, .group = "handle.lookup.2t_same", .name = "raw_handle",
	      .baseline = true, .threads = 2, .setup = setup, .teardown = teardown,
	      .run = run_raw_handle)
#endif

static void sk_handle_loop(struct sk_bench_thread *t, unsigned int obj)
{
	struct state *st = t->state;
	sk_handle_t h0 = st->h[obj];
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++) {
		sk_handle_t h = h0;
		struct bobj *o;

		sk_bench_opaque(h.sk__v);
		o = (struct bobj *)sk_handle_lookup(&st->tab, h);
		if (o)
			sum += o->value;
		sk_handle_put(&st->tab, h);
	}
	t->sink = sum;
}

/* Every thread on object 0. */
static void run_sk_handle(struct sk_bench_thread *t)
{
	sk_handle_loop(t, 0);
}

SK_BENCH_CASE(handle_lookup_sk, .group = "handle.lookup", .name = "sk_handle." SK_BENCH_LEVEL,
	      .setup = setup, .teardown = teardown, .run = run_sk_handle)

/* The scoped form: the put at the end of the scope drops the count at the
 * slot the lookup found, without decoding the handle again. */
static void run_sk_handle_scoped(struct sk_bench_thread *t)
{
	struct state *st = t->state;
	sk_handle_t h0 = st->h[0];
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++) {
		sk_handle_t h = h0;

		sk_bench_opaque(h.sk__v);
		{
			SK_CLASS(handle, ref)(&st->tab, h);
			if (ref.obj)
				sum += ((struct bobj *)ref.obj)->value;
		}
	}
	t->sink = sum;
}
SK_BENCH_CASE(handle_lookup_sk_scoped, .group = "handle.lookup",
	      .name = "sk_handle_scoped." SK_BENCH_LEVEL, .setup = setup, .teardown = teardown,
	      .run = run_sk_handle_scoped)
SK_BENCH_CASE(handle_lookup_sk_same, .group = "handle.lookup.2t_same",
	      .name = "sk_handle." SK_BENCH_LEVEL, .threads = 2, .setup = setup,
	      .teardown = teardown, .run = run_sk_handle)

/* Each thread on its own object, in its own cache line. */
#ifndef SK_DEBUG
static void run_raw_handle_diff(struct sk_bench_thread *t)
{
	raw_handle_loop(t, my_obj(t));
}

SK_BENCH_CASE(handle_lookup_raw_diff, .group = "handle.lookup.2t_diff", .name = "raw_handle",
	      .baseline = true, .threads = 2, .setup = setup, .teardown = teardown,
	      .run = run_raw_handle_diff)
#endif

static void run_sk_handle_diff(struct sk_bench_thread *t)
{
	sk_handle_loop(t, my_obj(t));
}

SK_BENCH_CASE(handle_lookup_sk_diff, .group = "handle.lookup.2t_diff",
	      .name = "sk_handle." SK_BENCH_LEVEL, .threads = 2, .setup = setup,
	      .teardown = teardown, .run = run_sk_handle_diff)

/* ------------------------------------------------------------------------
 * Insert + release
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static void run_raw_insert_release(struct sk_bench_thread *t)
{
	struct state *st = t->state;
	struct bobj *o = &st->objs[0];

	for (uint64_t i = 0; i < t->iters; i++) {
		uint64_t h = raw_handle_insert(&st->raw, o);

		sk_bench_opaque(h);
		raw_handle_release(&st->raw, h);
	}
}

static void run_raw_mutex_insert_release(struct sk_bench_thread *t)
{
	struct state *st = t->state;
	struct bobj *o = &st->objs[0];

	for (uint64_t i = 0; i < t->iters; i++) {
		uint64_t h;

		pthread_mutex_lock(&st->lock);
		h = raw_handle_insert(&st->raw, o);
		pthread_mutex_unlock(&st->lock);
		sk_bench_opaque(h);
		pthread_mutex_lock(&st->lock);
		raw_handle_release(&st->raw, h);
		pthread_mutex_unlock(&st->lock);
	}
}

SK_BENCH_CASE(handle_ir_raw, .group = "handle.insert_release", .name = "raw_unlocked",
	      .baseline = true, .setup = setup, .teardown = teardown,
	      .run = run_raw_insert_release)
SK_BENCH_CASE(handle_ir_raw_mutex, .group = "handle.insert_release", .name = "raw_mutex",
	      .setup = setup, .teardown = teardown, .run = run_raw_mutex_insert_release)
SK_BENCH_CASE(handle_ir_raw_mutex_2t, .group = "handle.insert_release.2t", .name = "raw_mutex",
	      .baseline = true, .threads = 2, .setup = setup, .teardown = teardown,
	      .run = run_raw_mutex_insert_release)
#endif

/*
 * Insert and release are library functions, out of line, and the same at
 * both check levels: the debug build of this file would measure the same
 * code under a "debug" name (it did until 2026-11-26).  Hardened only.
 */
#ifndef SK_DEBUG
static void run_sk_insert_release(struct sk_bench_thread *t)
{
	struct state *st = t->state;
	struct bobj *o = &st->objs[0];

	for (uint64_t i = 0; i < t->iters; i++) {
		sk_handle_t h = sk_handle_insert(&st->tab, o, &st->owner);

		sk_bench_opaque(h.sk__v);
		if (sk_handle_release(&st->tab, h, &st->owner))
			abort();
	}
}

SK_BENCH_CASE(handle_ir_sk, .group = "handle.insert_release", .name = "sk_handle." SK_BENCH_LEVEL,
	      .setup = setup, .teardown = teardown, .run = run_sk_insert_release)
SK_BENCH_CASE(handle_ir_sk_2t, .group = "handle.insert_release.2t",
	      .name = "sk_handle." SK_BENCH_LEVEL, .threads = 2, .setup = setup,
	      .teardown = teardown, .run = run_sk_insert_release)
#endif
