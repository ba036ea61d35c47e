/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/handle.h - the raw-C baseline of the "handle" groups: what a
 * careful C programmer writes by hand for index+generation handles.  A
 * flat array of slots; a handle is (generation << 32 | index); a lookup
 * indexes the array, compares the generation and takes a reference with an
 * atomic add; a put drops it.  No other checks: no bounds check, no table
 * identity, no owner, no saturation or underflow check, and a lookup that
 * races a release can return an object whose generation just ended (the
 * generation is compared before the count is taken).  Insert and release
 * use an index stack, unlocked (the caller's lock, if any, is separate).
 */
#ifndef SK_BENCH_RAW_HANDLE_H
#define SK_BENCH_RAW_HANDLE_H

#include <stdint.h>

struct raw_handle_slot {
	uint32_t gen;
	uint32_t refs;
	void *obj;
};

struct raw_handle_table {
	struct raw_handle_slot *slots;
	uint32_t *free; /* stack of free indices */
	uint32_t nfree;
};

static inline void *raw_handle_lookup(struct raw_handle_table *t, uint64_t h)
{
	struct raw_handle_slot *s = &t->slots[(uint32_t)h];

	if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != (uint32_t)(h >> 32))
		return NULL;
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_ACQUIRE);
	return s->obj;
}

static inline void raw_handle_put(struct raw_handle_table *t, uint64_t h)
{
	__atomic_fetch_sub(&t->slots[(uint32_t)h].refs, 1, __ATOMIC_RELEASE);
}

static inline uint64_t raw_handle_insert(struct raw_handle_table *t, void *obj)
{
	uint32_t idx = t->free[--t->nfree];
	struct raw_handle_slot *s = &t->slots[idx];

	s->obj = obj;
	return (uint64_t)s->gen << 32 | idx;
}

static inline void raw_handle_release(struct raw_handle_table *t, uint64_t h)
{
	struct raw_handle_slot *s = &t->slots[(uint32_t)h];

	__atomic_store_n(&s->gen, s->gen + 1, __ATOMIC_RELEASE);
	s->obj = NULL;
	t->free[t->nfree++] = (uint32_t)h;
}

#endif
