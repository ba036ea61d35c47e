/* SPDX-License-Identifier: MIT */
/*
 * lib/ptr_ring.c - set-up and tear-down of the MPMC pointer ring.
 */
#include <errno.h>
#include <string.h>

#include <safekern/alloc.h>
#include <safekern/annotate.h>
#include <safekern/ptr_ring.h>

#include "violation-internal.h"

/* Give memory that was declared racy back to helgrind/drd when it is freed. */
#ifdef SK__ANNOTATE
#define ANNOTATE_RACES_END(addr, size) VALGRIND_HG_ENABLE_CHECKING(addr, size)
#else
#define ANNOTATE_RACES_END(addr, size) ((void)(addr), (void)(size))
#endif

int sk_ptr_ring_init(struct sk_ptr_ring *r, size_t size)
{
	struct sk__ptr_ring_slot *slots;
	uint64_t lap = 2;

	memset(r, 0, sizeof(*r));
	/* Set on failure too: a ring without slots reports its size (0). */
	r->sk__self = r;
	if (!size || size > SK_PTR_RING_MAX_SIZE)
		return -EINVAL;
	while (lap < size)
		lap <<= 1;
	/* Zeroed slots are free for lap 0: the stamps need no other set-up. */
	slots = sk_kcalloc(size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	r->slots = slots;
	r->mask = lap - 1;
	r->size = size;
	/*
	 * The stamps and positions are read and written with atomics that
	 * helgrind and drd do not understand; the pointers are ordered by the
	 * stamps.  The debug-level inline code adds the happens-before edges
	 * for what the pointers point to.
	 */
	SK_ANNOTATE_BENIGN_RACE_SIZED(slots, (size_t)size * sizeof(*slots), "ptr_ring slots");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&r->tail, sizeof(r->tail), "ptr_ring tail");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&r->head, sizeof(r->head), "ptr_ring head");
	return 0;
}

/* A ring not at the address its init set it up at (SK__PTR_RING_SIZE()). */
static void report_self(const struct sk_ptr_ring *r, const struct sk_callsite *cs, void *ret_ip)
{
	const struct sk_ptr_ring *home = SK_READ_ONCE(r->sk__self);

	if (!home)
		sk__violation(SK_VIOLATION_RING_CORRUPTION, r, cs, ret_ip,
			      "ptr_ring: not initialised (zeroed, or cleaned up); refused");
	else
		sk__violation(SK_VIOLATION_RING_CORRUPTION, r, cs, ret_ip,
			      "ptr_ring: initialised at %p, used at %p (a struct copy of the "
			      "ring, which shares its slots, or corrupt); refused",
			      (const void *)home, (const void *)r);
}

void sk_ptr_ring_cleanup(struct sk_ptr_ring *r, void (*destroy)(void *))
{
	if (r->slots && r->sk__self != r) {
		/* A copy: freeing the slots would free the original's. */
		report_self(r, NULL, SK__RET_IP);
		return;
	}
	if (r->slots) {
		if (destroy) {
			void *p;

			while ((p = sk__ptr_ring_consume(r, NULL)) != NULL)
				destroy(p);
		}
		ANNOTATE_RACES_END(r->slots, (size_t)r->size * sizeof(*r->slots));
		sk_kfree_sized(r->slots, (size_t)r->size * sizeof(*r->slots));
		ANNOTATE_RACES_END(&r->tail, sizeof(r->tail));
		ANNOTATE_RACES_END(&r->head, sizeof(r->head));
	}
	memset(r, 0, sizeof(*r));
}

void sk__ptr_ring_report(const struct sk_ptr_ring *r, const char *side, uint64_t pos,
			 uint64_t idx, int64_t d, const struct sk_callsite *cs)
{
	if (SK_READ_ONCE(r->sk__self) != r) {
		report_self(r, cs, SK__RET_IP);
		return;
	}
	if (idx >= r->size)
		sk__violation(SK_VIOLATION_RING_CORRUPTION, r, cs, SK__RET_IP,
			      "ptr_ring: %s %#llx decodes to slot %llu of %u (uninitialised or "
			      "corrupt)", side, (unsigned long long)pos, (unsigned long long)idx,
			      r->size);
	else
		sk__violation(SK_VIOLATION_RING_CORRUPTION, r, cs, SK__RET_IP,
			      "ptr_ring: slot %llu stamp is %lld from %s %#llx%s",
			      (unsigned long long)idx, (long long)d, side, (unsigned long long)pos,
			      d > 0 ? ", which has not moved (a copy of the ring, or corrupt)" : "");
}
