/* SPDX-License-Identifier: MIT */
/*
 * safekern/ptr_ring.h - a bounded multi-producer multi-consumer ring of
 * pointers, with exact capacity and the kernel's ptr_ring names
 *
 * Theory of operation
 * ===================
 *
 * struct sk_ptr_ring is a bounded FIFO of non-NULL pointers that any number
 * of threads may produce into and consume from at once, with no lock.  The
 * names follow the kernel's include/linux/ptr_ring.h (sk_ptr_ring_init,
 * _produce, _consume, _consume_batched, _empty, _full, _cleanup); the bulk
 * (all or nothing) and burst (as many as possible) forms follow DPDK's
 * rte_ring.  NULL cannot be produced: as in the kernel, consume returns
 * NULL for "empty".
 *
 * Algorithm.  A per-slot sequence ring (Dmitry Vyukov's bounded MPMC
 * queue), with positions that encode (lap, index) so that the capacity can
 * be any number, not only a power of two.  Each slot holds the pointer and
 * a stamp; a position p is a lap number times L (L = the smallest power of
 * two >= max(size, 2)) plus an index below size.  The slot at index i is
 * free for the producer of position p when its stamp is lap(p), full for
 * the consumer of p when it is lap(p) + 1, and free for the next lap when it
 * is lap(p) + L.  A producer reads the tail position, checks the slot's
 * stamp, claims the position with one compare-and-swap on the tail, writes
 * the pointer and publishes it with a release store of the stamp; a
 * consumer does the same on the head.  Producers never read the head and
 * consumers never read the tail: "full" and "empty" are read from the slot.
 * After the last index of a lap the position jumps to the next multiple of
 * L.  Positions are 64-bit and wrap past UINT64_MAX consistently (L divides
 * 2^64).
 *
 * Capacity.  A ring of size N holds exactly N pointers, for any N from 1 to
 * SK_PTR_RING_MAX_SIZE (Concurrency Kit's ck_ring holds N - 1 in a ring of
 * N and needs a power of two; rte_ring holds N - 1 and needs a power of two
 * unless created with RING_F_EXACT_SZ, which allocates the next power of
 * two above N, up to twice the memory).  Any
 * other size is -EINVAL from sk_ptr_ring_init().  Memory: 16 bytes per
 * slot, zeroed, plus the three cache lines of the struct.
 *
 * Progress guarantee.  No operation waits for another thread: each call
 * either succeeds, or returns "full" (-ENOSPC, 0) or "empty" (NULL, 0), and
 * loops only when it lost a compare-and-swap to another thread, which then
 * made progress (or, on a load-linked/store-conditional machine such as
 * arm64 without LSE atomics, when the weak compare-and-swap failed
 * spuriously, and retries).  It is not lock-free in the strict sense, because a
 * thread preempted inside an operation can make other threads' calls
 * *fail*:
 *
 *   - a producer preempted between claiming position p and publishing the
 *     stamp makes every consumer report empty at p (they do not spin; they
 *     return NULL / 0) until it runs again, even if later positions are
 *     already published; other producers keep producing until the ring is
 *     full up to p;
 *   - a consumer preempted between claiming p and releasing the slot makes
 *     producers report full when they come round to that slot one lap
 *     later; other consumers keep consuming up to that point.
 *
 * That window is a handful of instructions (no copying loop, no waiting for
 * predecessors), so when threads outnumber cores throughput degrades
 * gracefully; rings whose producers publish in order (ck_ring's and
 * rte_ring's classic MPMC modes) make every later producer spin on the
 * preempted one instead.  Linearisability caveat of the same origin: a
 * consume can report empty while a later-claimed produce has already
 * returned, and a produce can report full while the consumer of that slot
 * has claimed it but not finished.
 *
 * Memory ordering.  Producing a pointer is a release: everything the
 * producer wrote before sk_ptr_ring_produce() happens before everything the
 * consumer that gets that pointer does after its consume.  Releasing a slot
 * is a release too, so a producer never overwrites a slot a consumer is
 * still reading.  The head and tail are moved by acq_rel CASes and read
 * with acquire loads: a thread that sees a position moved then sees every
 * stamp the mover had seen, so the "not ready" check never meets a stamp
 * older than a lap behind (on a machine that is not multi-copy atomic,
 * POWER, relaxed positions would let it, and correct use would be
 * reported as corruption).  On x86 this costs nothing.  Nothing else is
 * ordered: two pointers produced by different threads come out in the
 * order their producers claimed positions, and
 * sk_ptr_ring_count()/_empty()/_full() are snapshots.
 *
 * Who may call what concurrently:
 *
 *	operation                          | runs concurrently with
 *	-----------------------------------+----------------------------------
 *	produce, produce_bulk, _burst      | every produce and consume, queries
 *	consume, consume_bulk, _burst,     | every produce and consume, queries
 *	  consume_batched                  |
 *	count, empty, full, size           | everything (a snapshot)
 *	init, cleanup                      | nothing (no other thread may use
 *	                                   |   the ring)
 *
 * Checks and failure behaviour.  Hardened (default), on every operation:
 * the slot index a position decodes to must be below the size (a
 * corrupted or uninitialised ring would otherwise index outside the slot
 * array), a stamp that says "not ready" must be one of the two values
 * correct use produces, and a stamp that is ahead of the position must come
 * with a position that has moved when it is read again (otherwise the
 * slots belong to other positions: a struct copy of the ring, a wild write,
 * and the retry would spin for ever); each failure is reported as
 * SK_VIOLATION_RING_CORRUPTION and the call is refused (-EUCLEAN, NULL or
 * 0: the kernel's error code for a corrupted structure).  Producing NULL is
 * reported as SK_VIOLATION_INVALID_ARGUMENT and refused with -EINVAL (NULL
 * would come out as "empty" and be lost); a bulk call for more pointers
 * than the ring can ever hold is reported the same way, since it could
 * never succeed.  A ring that is not at the address sk_ptr_ring_init() set
 * it up at (a struct copy, or never initialised) is reported as
 * SK_VIOLATION_RING_CORRUPTION and refused before any slot is touched:
 * a ring cannot be moved after its init (memcpy(), realloc() of an array
 * of them), not even before first use; initialise it where it will live.
 * The fast path pays two compares (the ring's address, the index) and one
 * test (NULL) over the unchecked algorithm.  Debug (-DSK_DEBUG): Valgrind
 * client requests (happens-before on publish and on release) so that
 * helgrind and drd report nothing on correct use; the ring's words are
 * declared as deliberately racy to them when it is initialised.
 */
#ifndef SAFEKERN_PTR_RING_H
#define SAFEKERN_PTR_RING_H

#include <errno.h>
#include <stdint.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * SK_PTR_RING_MAX_SIZE - the largest ring sk_ptr_ring_init() accepts (2^28)
 *
 * 2^28 pointers are 4 GiB of slots; a queue that long is seconds of
 * latency, and a size beyond it is far more likely a bug (an unchecked
 * computation, a negative number) than a wish.
 */
#define SK_PTR_RING_MAX_SIZE (1u << 28)

/* One slot (internal): the stamp says which lap it is free or full for. */
struct sk__ptr_ring_slot {
	uint64_t stamp;
	void *ptr;
};

/**
 * struct sk_ptr_ring - a bounded MPMC ring of pointers
 * @slots: the slot array (internal)
 * @sk__self: the ring's own address, set by sk_ptr_ring_init() (internal:
 *	a struct copy of the ring has the original's, and is refused)
 * @mask: L - 1 (internal)
 * @size: the capacity
 * @tail: producers' next position (internal; its own cache line)
 * @head: consumers' next position (internal; its own cache line)
 *
 * Initialise with sk_ptr_ring_init(), tear down with sk_ptr_ring_cleanup().
 * The fields are internal; read the capacity with sk_ptr_ring_size().
 */
struct sk_ptr_ring {
	struct sk__ptr_ring_slot *slots;
	struct sk_ptr_ring *sk__self;
	uint64_t mask;
	unsigned int size;
	char sk__pad0[SK_CACHELINE_SIZE - 2 * sizeof(void *) - sizeof(uint64_t) -
		      sizeof(unsigned int)];
	uint64_t tail;
	char sk__pad1[SK_CACHELINE_SIZE - sizeof(uint64_t)];
	uint64_t head;
	char sk__pad2[SK_CACHELINE_SIZE - sizeof(uint64_t)];
};

/**
 * sk_ptr_ring_init() - initialise a ring of exactly @size pointers
 * @r: the ring (caller memory)
 * @size: capacity, 1 to SK_PTR_RING_MAX_SIZE; any value, not only powers of two
 *
 * The slots come from sk_kcalloc().
 *
 * Context: no other thread may use the ring during the call.
 * Return: 0; -EINVAL if @size is 0 or above SK_PTR_RING_MAX_SIZE; -ENOMEM
 * if memory runs out.  On failure the ring is left empty with no slots:
 * every operation on it is refused and reported, and sk_ptr_ring_cleanup()
 * on it does nothing.
 */
SK_API int sk_ptr_ring_init(struct sk_ptr_ring *r, size_t size) SK_MUST_CHECK SK_NONNULL(1);

/**
 * sk_ptr_ring_cleanup() - tear a ring down
 * @r: the ring
 * @destroy: called on every pointer still in the ring, oldest first; NULL
 *	to drop them
 *
 * Frees the slots; the ring must be initialised again before reuse.  A
 * struct copy of a ring is reported (SK_VIOLATION_RING_CORRUPTION) and
 * left alone: its slots are the original's.
 *
 * Context: no other thread may use the ring during the call.
 */
SK_API void sk_ptr_ring_cleanup(struct sk_ptr_ring *r, void (*destroy)(void *)) SK_NONNULL(1);

/*
 * sk__ptr_ring_report() - internal (lib/ptr_ring.c): report a corrupt ring
 * (SK_VIOLATION_RING_CORRUPTION) seen at position @pos of @side ("head" or
 * "tail"): @idx beyond the slots, or the slot's stamp @d away from what
 * @pos expects (@d > 0: ahead, and the position has not moved).  One cold
 * call with its arguments in registers keeps the inline operations small.
 */
SK_API SK_COLD SK_NOINLINE void sk__ptr_ring_report(const struct sk_ptr_ring *r, const char *side,
						   uint64_t pos, uint64_t idx, int64_t d,
						   const struct sk_callsite *cs);

/*
 * The size an operation works with: 0 unless the ring is the one
 * sk_ptr_ring_init() set up at this address, so that every index is out
 * of range and the operation takes the index check's report path, whose
 * reporter tells the two apart (a call site of its own made the inline
 * operations bigger, see below).  A struct copy shares the original's
 * slots but has positions of its own: its first produce went through, and
 * a consume of the original then took that pointer and left the original's
 * head past its tail, refusing every later produce (until 2026-11-26).
 * One compare, on the cache line the operation reads anyway.
 */
#define SK__PTR_RING_SIZE(r) ((r)->sk__self == (r) ? (uint64_t)(r)->size : 0)

/* ------------------------------------------------------------------------
 * Internal helpers (sk__*): called from the macros below, not by programs.
 * ------------------------------------------------------------------------ */

/*
 * The debug level's Valgrind client requests.  Each one is a dependent
 * chain of rotates that, on a ring's hot path, makes the debug level many
 * times slower natively: ask Valgrind once per translation unit whether it
 * is there, and skip them when it is not.
 */
#if defined(SK_DEBUG) && defined(SK__ANNOTATE)
static SK_UNUSED int sk__ptr_ring_valgrind = -1;

static inline bool sk__ptr_ring_annotating(void)
{
	int v = __atomic_load_n(&sk__ptr_ring_valgrind, __ATOMIC_RELAXED);

	if (sk_unlikely(v < 0)) {
		v = SK_RUNNING_ON_VALGRIND ? 1 : 0;
		SK_ANNOTATE_BENIGN_RACE_SIZED(&sk__ptr_ring_valgrind, sizeof(int),
					      "set once, same value from every thread");
		__atomic_store_n(&sk__ptr_ring_valgrind, v, __ATOMIC_RELAXED);
	}
	return v;
}

#define SK__PTR_RING_HB(addr)                                                 \
	do {                                                                  \
		if (sk__ptr_ring_annotating())                                \
			SK_ANNOTATE_HAPPENS_BEFORE(addr);                     \
	} while (0)
#define SK__PTR_RING_HA(addr)                                                 \
	do {                                                                  \
		if (sk__ptr_ring_annotating())                                \
			SK_ANNOTATE_HAPPENS_AFTER(addr);                      \
	} while (0)
#else
#define SK__PTR_RING_HB(addr) ((void)(addr))
#define SK__PTR_RING_HA(addr) ((void)(addr))
#endif

/* The position after @pos, whose index is @idx, in a ring of @size. */
static SK_ALWAYS_INLINE uint64_t sk__ptr_ring_next(uint64_t pos, uint64_t idx, uint64_t size,
						   uint64_t mask)
{
	return idx + 1 < size ? pos + 1 : (pos | mask) + 1;
}

/*
 * A stamp ahead of what the position expects means another thread moved
 * the position word past it: reload it.  The stamp was read with acquire
 * and stored with release after that move (directly, or through the
 * consumer of the slot), so the reload sees the move.  A position that has
 * not moved is a ring whose slots belong to other positions (a struct copy
 * of the ring, a wild write): reported with the bad stamps, since retrying
 * would spin for ever.  It shares their report, sk__ptr_ring_report():
 * a call site of its own made every inline produce and consume bigger, and
 * the bench's single-item produce+consume fell out of its caller's
 * inlining (69 -> 107 instructions).
 */

static SK_ALWAYS_INLINE SK_MUST_CHECK int
sk__ptr_ring_produce(struct sk_ptr_ring *r, void *ptr, const struct sk_callsite *cs)
{
	/* Read-only after init: loaded once, not after every acquire. */
	struct sk__ptr_ring_slot *slots = r->slots;
	uint64_t mask = r->mask, size = SK__PTR_RING_SIZE(r), pos;

	if (sk_unlikely(!ptr)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, r, cs, NULL,
			      "ptr_ring: producing NULL (it would come out as \"empty\")");
		return -EINVAL;
	}
	pos = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	for (;;) {
		uint64_t idx = pos & mask, lap = pos & ~mask;
		int64_t d;

		if (sk_unlikely(idx >= size)) {
			sk__ptr_ring_report(r, "tail", pos, idx, 0, cs);
			return -EUCLEAN;
		}
		d = (int64_t)(__atomic_load_n(&slots[idx].stamp, __ATOMIC_ACQUIRE) - lap);
		if (sk_likely(d == 0)) {
			if (__atomic_compare_exchange_n(&r->tail, &pos, sk__ptr_ring_next(pos, idx, size, mask),
							true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				SK__PTR_RING_HA(&r->head);
				slots[idx].ptr = ptr;
				SK__PTR_RING_HB(&r->tail);
				__atomic_store_n(&slots[idx].stamp, lap + 1, __ATOMIC_RELEASE);
				return 0;
			}
			continue; /* lost the race: pos holds the new tail */
		}
		if (d < 0) {
			/* Last lap's pointer still there, or its producer is in flight. */
			if (sk_likely(d == -(int64_t)mask || d == -(int64_t)mask - 1))
				return -ENOSPC;
		} else {
			/* Stale: the stamp is ahead because the tail moved on (above). */
			uint64_t now = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

			if (sk_likely(now != pos)) {
				pos = now;
				continue;
			}
		}
		sk__ptr_ring_report(r, "tail", pos, idx, d, cs);
		return -EUCLEAN;
	}
}

static SK_ALWAYS_INLINE SK_MUST_CHECK void *sk__ptr_ring_consume(struct sk_ptr_ring *r,
								   const struct sk_callsite *cs)
{
	/* Read-only after init: loaded once, not after every acquire. */
	struct sk__ptr_ring_slot *slots = r->slots;
	uint64_t mask = r->mask, size = SK__PTR_RING_SIZE(r), pos;

	pos = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	for (;;) {
		uint64_t idx = pos & mask, lap = pos & ~mask;
		int64_t d;

		if (sk_unlikely(idx >= size)) {
			sk__ptr_ring_report(r, "head", pos, idx, 0, cs);
			return NULL;
		}
		d = (int64_t)(__atomic_load_n(&slots[idx].stamp, __ATOMIC_ACQUIRE) - (lap + 1));
		if (sk_likely(d == 0)) {
			if (__atomic_compare_exchange_n(&r->head, &pos, sk__ptr_ring_next(pos, idx, size, mask),
							true, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
				void *ptr;

				SK__PTR_RING_HA(&r->tail);
				ptr = slots[idx].ptr;
				SK__PTR_RING_HB(&r->head);
				__atomic_store_n(&slots[idx].stamp, lap + mask + 1, __ATOMIC_RELEASE);
				return ptr;
			}
			continue;
		}
		if (d < 0) {
			/* Not produced yet, or last lap's consumer still in flight. */
			if (sk_likely(d == -1 || d == -(int64_t)mask - 1))
				return NULL;
		} else {
			/* Stale: the head moved on (see above sk__ptr_ring_produce()). */
			uint64_t now = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

			if (sk_likely(now != pos)) {
				pos = now;
				continue;
			}
		}
		sk__ptr_ring_report(r, "head", pos, idx, d, cs);
		return NULL;
	}
}

/*
 * sk__ptr_ring_claim_n() - internal: claim up to @n consecutive slots (all
 * @n or none if @all) by advancing the position word @pos: the tail for
 * producers (a slot is free when its stamp is the position's lap, @off 0;
 * the stamp of a slot whose last lap's consumer is still in flight lags by
 * @lag = mask), the head for consumers (a slot is full at lap + 1, @off 1;
 * a slot not produced yet lags by @lag = 1).  Returns how many were
 * claimed, the first at *@first; 0 if none could be (full or empty, the
 * bulk could not be met, or corruption, which is reported).
 */
static SK_ALWAYS_INLINE unsigned int
sk__ptr_ring_claim_n(struct sk_ptr_ring *r, uint64_t *pos, unsigned int n, bool all,
		     uint64_t off, uint64_t lag, const char *word, uint64_t *first,
		     const struct sk_callsite *cs)
{
	/* Read-only after init: loaded once, not after every acquire. */
	struct sk__ptr_ring_slot *slots = r->slots;
	uint64_t mask = r->mask, size = SK__PTR_RING_SIZE(r);
	uint64_t cur = __atomic_load_n(pos, __ATOMIC_ACQUIRE);

	for (;;) {
		uint64_t p = cur, idx = 0;
		unsigned int k = 0;
		int64_t d = 0;

		while (k < n) {
			idx = p & mask;
			if (sk_unlikely(idx >= size)) {
				sk__ptr_ring_report(r, word, p, idx, 0, cs);
				return 0;
			}
			d = (int64_t)(__atomic_load_n(&slots[idx].stamp, __ATOMIC_ACQUIRE) -
				      ((p & ~mask) + off));
			if (d != 0)
				break;
			k++;
			p = sk__ptr_ring_next(p, idx, size, mask);
		}
		if (k < n) {
			if (d > 0) { /* stale position: another thread moved it meanwhile */
				uint64_t now = __atomic_load_n(pos, __ATOMIC_ACQUIRE);

				if (sk_likely(now != cur)) {
					cur = now;
					continue;
				}
			}
			if (sk_unlikely(d > 0 || (d != -(int64_t)lag && d != -(int64_t)mask - 1))) {
				sk__ptr_ring_report(r, word, p, idx, d, cs);
				return 0;
			}
			if (!k || all)
				return 0; /* full or empty */
		}
		if (__atomic_compare_exchange_n(pos, &cur, p, true, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			*first = cur;
			return k;
		}
	}
}

/*
 * A count above the largest ring, in any bulk or burst call: a negative
 * length converted, or a 64-bit one that would have been cut to 32 bits.
 * Refused before anything is read or written through @ptrs.
 */
#define sk__ptr_ring_bad_count(r, count, what, cs)                            \
	(sk_unlikely((count) > SK_PTR_RING_MAX_SIZE) &&                       \
	 (sk__violation(SK_VIOLATION_INVALID_ARGUMENT, (r), (cs), NULL,       \
			"ptr_ring: %s of %llu pointers, more than any ring holds " \
			"(a negative or overflowed count?); nothing done", (what), \
			(unsigned long long)(count)), true))

/* produce_bulk (@all) and produce_burst. */
static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__ptr_ring_produce_n(struct sk_ptr_ring *r, void *const *ptrs, uint64_t count, bool all,
		       const struct sk_callsite *cs)
{
	struct sk__ptr_ring_slot *slots = r->slots;
	uint64_t mask = r->mask, size = r->size, p = 0;
	unsigned int k, n;

	if (sk__ptr_ring_bad_count(r, count, all ? "bulk produce" : "burst produce", cs))
		return 0;
	n = (unsigned int)count;
	/*
	 * The count first: one that can never succeed is rarely the array's
	 * length either, and the scan below would run off the array.
	 */
	if (sk_unlikely(all && n > size && size)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, r, cs, NULL,
			      "ptr_ring: bulk produce of %u into a ring of %u can never succeed",
			      n, r->size);
		return 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (sk_unlikely(!ptrs[i])) {
			sk__violation(SK_VIOLATION_INVALID_ARGUMENT, r, cs, NULL,
				      "ptr_ring: producing NULL at ptrs[%u] of %u (it would "
				      "come out as \"empty\"); nothing produced", i, n);
			return 0;
		}
	}
	if (!n)
		return 0;
	k = sk__ptr_ring_claim_n(r, &r->tail, n, all, 0, mask, "tail", &p, cs);
	if (!k)
		return 0;
	SK__PTR_RING_HA(&r->head);
	for (unsigned int i = 0; i < k; i++) {
		uint64_t idx = p & mask;

		slots[idx].ptr = ptrs[i];
		SK__PTR_RING_HB(&r->tail);
		__atomic_store_n(&slots[idx].stamp, (p & ~mask) + 1, __ATOMIC_RELEASE);
		p = sk__ptr_ring_next(p, idx, size, mask);
	}
	return k;
}

/* consume_bulk (@all) and consume_burst. */
static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__ptr_ring_consume_n(struct sk_ptr_ring *r, void **ptrs, uint64_t count, bool all,
		       const struct sk_callsite *cs)
{
	struct sk__ptr_ring_slot *slots = r->slots;
	uint64_t mask = r->mask, size = r->size, p = 0;
	unsigned int k, n;

	if (sk__ptr_ring_bad_count(r, count, all ? "bulk consume" : "burst consume", cs))
		return 0;
	n = (unsigned int)count;
	if (!n)
		return 0;
	if (sk_unlikely(all && n > size && size)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, r, cs, NULL,
			      "ptr_ring: bulk consume of %u from a ring of %u can never succeed",
			      n, r->size);
		return 0;
	}
	k = sk__ptr_ring_claim_n(r, &r->head, n, all, 1, 1, "head", &p, cs);
	if (!k)
		return 0;
	SK__PTR_RING_HA(&r->tail);
	for (unsigned int i = 0; i < k; i++) {
		uint64_t idx = p & mask;

		ptrs[i] = slots[idx].ptr;
		SK__PTR_RING_HB(&r->head);
		__atomic_store_n(&slots[idx].stamp, (p & ~mask) + mask + 1, __ATOMIC_RELEASE);
		p = sk__ptr_ring_next(p, idx, size, mask);
	}
	return k;
}

/* ------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------ */

/**
 * sk_ptr_ring_produce() - add one pointer
 * @r: the ring
 * @ptr: the pointer; must not be NULL
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: 0; -ENOSPC if the ring is full; -EINVAL if @ptr is NULL, or
 * -EUCLEAN if the ring is corrupt or uninitialised (both reported).  Must
 * be checked.
 */
#define sk_ptr_ring_produce(r, ptr) sk__ptr_ring_produce((r), (ptr), SK_CALLSITE)

/**
 * sk_ptr_ring_consume() - take the oldest pointer
 * @r: the ring
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: the pointer, or NULL if the ring is empty (or is corrupt or
 * uninitialised, which is reported).  Must be checked.
 */
#define sk_ptr_ring_consume(r) sk__ptr_ring_consume((r), SK_CALLSITE)

/**
 * sk_ptr_ring_produce_bulk() - add @n pointers, all or none
 * @r: the ring
 * @ptrs: the pointers; none may be NULL
 * @n: how many; more than sk_ptr_ring_size() is reported
 *
 * The @n pointers take consecutive positions: a consumer sees them in
 * order, with no other producer's pointer in between.
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: @n, or 0 if there was no room for all of them (or the call was
 * refused and reported).  Must be checked.
 */
#define sk_ptr_ring_produce_bulk(r, ptrs, n)                                  \
	sk__ptr_ring_produce_n((r), (ptrs), (n), true, SK_CALLSITE)

/**
 * sk_ptr_ring_produce_burst() - add as many of @n pointers as fit
 * @r: the ring
 * @ptrs: the pointers; none may be NULL
 * @n: how many at most
 *
 * The pointers added are the first ones of @ptrs, at consecutive positions.
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: the number added, 0 to @n.  Must be checked.
 */
#define sk_ptr_ring_produce_burst(r, ptrs, n)                                 \
	sk__ptr_ring_produce_n((r), (ptrs), (n), false, SK_CALLSITE)

/**
 * sk_ptr_ring_consume_bulk() - take @n pointers, all or none
 * @r: the ring
 * @ptrs: where they go, oldest first (room for @n)
 * @n: how many; more than sk_ptr_ring_size() is reported
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: @n, or 0 if fewer than @n were ready (or the call was refused and
 * reported).  Must be checked.
 */
#define sk_ptr_ring_consume_bulk(r, ptrs, n)                                  \
	sk__ptr_ring_consume_n((r), (ptrs), (n), true, SK_CALLSITE)

/**
 * sk_ptr_ring_consume_burst() - take as many as @n pointers as are ready
 * @r: the ring
 * @ptrs: where they go, oldest first (room for @n)
 * @n: how many at most
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: the number taken, 0 to @n.  Must be checked.
 */
#define sk_ptr_ring_consume_burst(r, ptrs, n)                                 \
	sk__ptr_ring_consume_n((r), (ptrs), (n), false, SK_CALLSITE)

/**
 * sk_ptr_ring_consume_batched() - the kernel's name for
 * sk_ptr_ring_consume_burst()
 * @r: the ring
 * @ptrs: where they go, oldest first (room for @n)
 * @n: how many at most
 *
 * Context: any thread, concurrently with any other produce and consume.
 * Return: the number taken, 0 to @n.  Must be checked.
 */
#define sk_ptr_ring_consume_batched(r, ptrs, n) sk_ptr_ring_consume_burst(r, ptrs, n)

/**
 * sk_ptr_ring_count() - number of pointers in the ring
 * @r: the ring
 *
 * Counts the claimed positions, including those whose producer has not
 * published yet.
 *
 * Context: any thread; a snapshot.
 * Return: 0 to sk_ptr_ring_size().
 */
static inline unsigned int sk_ptr_ring_count(const struct sk_ptr_ring *r)
{
	/* head first: the tail is never behind it. */
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	uint64_t mask = r->mask, size = r->size, laps, n;

	if (!size || !(mask + 1))
		return 0;
	laps = ((tail & ~mask) - (head & ~mask)) >> __builtin_ctzll(mask + 1);
	n = laps * size + (tail & mask) - (head & mask);
	return n > size ? (unsigned int)size : (unsigned int)n;
}

/**
 * sk_ptr_ring_size() - the capacity the ring was initialised with
 * @r: the ring
 *
 * Context: any thread.
 * Return: the capacity, or 0 for a ring without slots.
 */
static inline unsigned int sk_ptr_ring_size(const struct sk_ptr_ring *r)
{
	return r->size;
}

/**
 * sk_ptr_ring_empty() - whether the ring holds no pointer
 * @r: the ring
 *
 * Context: any thread; a snapshot.
 * Return: true if sk_ptr_ring_count() is 0.
 */
static inline bool sk_ptr_ring_empty(const struct sk_ptr_ring *r)
{
	return sk_ptr_ring_count(r) == 0;
}

/**
 * sk_ptr_ring_full() - whether the ring has no free slot
 * @r: the ring
 *
 * Context: any thread; a snapshot.  A ring without slots is full.
 * Return: true if sk_ptr_ring_count() is sk_ptr_ring_size().
 */
static inline bool sk_ptr_ring_full(const struct sk_ptr_ring *r)
{
	return sk_ptr_ring_count(r) >= r->size;
}

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_PTR_RING_H */
