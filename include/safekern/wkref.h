/* SPDX-License-Identifier: MIT */
/*
 * safekern/wkref.h - struct sk_wkref: a kref with weak references (Rust's
 * Arc/Weak model), on two sk_refcount_t counters.
 *
 * Theory of operation
 * ===================
 *
 * A weak reference lets a cache, an observer list or a back pointer refer
 * to an object without keeping it alive, and turn into a real (strong)
 * reference only while the object is still alive.  The kernel has no such
 * thing; Rust's std::sync::Arc and Weak do, and struct sk_wkref follows
 * them exactly, written the kref way: embed a struct sk_wkref in the
 * object; the functions take it and callbacks receive it
 * (sk_container_of() finds the object).
 *
 * Two counts:
 *
 *   strong  the references that keep the object alive (sk_wkref_get(),
 *           sk_wkref_put(), sk_wkref_upgrade()); 1 after sk_wkref_init().
 *   weak    the references that keep only the memory alive
 *           (sk_wkref_get_weak(), sk_wkref_put_weak()), plus one held by
 *           all the strong references together; 1 after sk_wkref_init().
 *
 * Lifecycle:
 *
 *   - The put that drops the last strong reference calls release(ref)
 *     once: the destructor.  It tears the object's contents down (closes
 *     files, drops the references the object holds) but does not free the
 *     memory.  That put then drops the strong references' weak one.
 *   - The put (strong or weak) that drops the last weak reference calls
 *     dealloc(ref) once: it frees the memory.  With no weak references
 *     outstanding, that is the same sk_wkref_put(), right after release().
 *   - sk_wkref_upgrade() turns a weak reference into a new strong one
 *     (the weak one is kept; put it separately) if and only if the strong
 *     count is not zero: once release() has been called (or is about to
 *     be), an upgrade fails.  An upgrade never returns a dead object.
 *
 * Both counts are sk_refcount_t and have its saturation semantics
 * (safekern/refcount.h): an extra put, a get on a count of zero or an
 * overflow on either count is reported through the violation channel,
 * pins that count at SK_REFCOUNT_SATURATED, and leaks: release() and
 * dealloc() are never called twice, nor after a misuse made them unsafe,
 * and an upgrade on a saturated strong count is refused (a pinned count
 * cannot tell a leaked live object from a dead one: sk_wkref_upgrade()).
 * A NULL release or dealloc function is reported as
 * SK_VIOLATION_INVALID_ARGUMENT and the put is refused (counts unchanged).
 * A put_weak without a weak reference while strong references live (the
 * weak count would reach zero under them) is reported as an underflow and
 * refused, the weak count given back: dealloc() is not called.  The same
 * misuse once the object is dead cannot be told from a correct last put.
 * A last weak put while the strong count is saturated is reported
 * (SK_VIOLATION_REFCOUNT_SATURATED) and leaks the memory, the weak count
 * pinned: a pinned strong count may belong to a live object (an overflow)
 * or a dead one (an extra put), and only the latter may be freed.
 *
 * Memory ordering: as sk_kref.  Gets are relaxed (the reference the caller
 * holds orders them); puts are release; the put that calls release() or
 * dealloc() is acquire too, so release() sees every store made to the
 * object by any thread before its strong put, and dealloc() everything
 * before any put.  sk_wkref_upgrade() is acquire when it succeeds, as
 * Rust's Weak::upgrade: a weak holder may have got its pointer through a
 * path that orders nothing, and the acquire pairs with the release of the
 * strong puts that came before, so it sees the object as their holders
 * left it.
 *
 * Concurrency
 * ===========
 *
 *   operation            needs                         concurrent with
 *   ----------------------------------------------------------------------
 *   sk_wkref_init        sole owner                    nothing
 *   sk_wkref_read(_weak) nothing                       anything (a hint)
 *   sk_wkref_get         a strong reference            anything
 *   sk_wkref_put         the strong reference dropped  anything
 *   sk_wkref_get_weak    a strong or a weak reference  anything
 *   sk_wkref_put_weak    the weak reference dropped    anything
 *   sk_wkref_upgrade     a weak reference              anything
 *
 * release() runs on the thread of the last strong put, while weak holders
 * may be calling sk_wkref_upgrade() (which then fails) or
 * sk_wkref_put_weak() (which then cannot free the memory: the strong
 * references' weak one is still held until release() returns).
 */
#ifndef SAFEKERN_WKREF_H
#define SAFEKERN_WKREF_H

#include <safekern/compiler.h>
#include <safekern/refcount.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct sk_wkref - strong and weak reference counts, embedded in an object
 * @strong: references that keep the object alive
 * @weak: references that keep its memory; plus one for all strong ones
 */
struct sk_wkref {
	sk_refcount_t strong;
	sk_refcount_t weak;
};

/**
 * SK_WKREF_INIT() - a static initialiser: one strong reference, no weak ones
 */
#define SK_WKREF_INIT() { SK_REFCOUNT_INIT(1), SK_REFCOUNT_INIT(1) }

/**
 * sk_wkref_init() - initialise: one strong reference, no weak ones
 * @ref: the counts
 *
 * Context: the caller owns the object alone (it is being created).
 */
static inline void sk_wkref_init(struct sk_wkref *ref)
{
	sk_refcount_set(&ref->strong, 1);
	sk_refcount_set(&ref->weak, 1);
}

/**
 * sk_wkref_read() - the number of strong references
 * @ref: the counts
 *
 * Context: any; a hint (Rust's Arc::strong_count).
 * Return: the strong count; 0 once release() was called or is running.
 */
static inline unsigned int sk_wkref_read(const struct sk_wkref *ref)
{
	return sk_refcount_read(&ref->strong);
}

/**
 * sk_wkref_read_weak() - the number of weak references
 * @ref: the counts
 *
 * Rust's Arc::weak_count: the weak references handed out, not counting
 * the one the strong references hold together.
 *
 * Context: any; a hint, computed from two racy reads.
 * Return: the number of weak references (a saturated weak count reads as
 * (unsigned int)SK_REFCOUNT_SATURATED).
 */
static inline unsigned int sk_wkref_read_weak(const struct sk_wkref *ref)
{
	unsigned int weak = sk_refcount_read(&ref->weak);
	int strong = (int)sk_refcount_read(&ref->strong);

	if ((int)weak > 0 && strong != 0)
		weak--;
	return weak;
}

static inline void sk__wkref_get(struct sk_wkref *ref, const struct sk_callsite *cs)
{
	sk__refcount_inc(&ref->strong, cs);
}

/**
 * sk_wkref_get() - take a strong reference
 * @ref: the counts
 *
 * Context: the caller holds a strong reference (to take one from a weak
 * reference, use sk_wkref_upgrade()).  Relaxed ordering.
 */
#define sk_wkref_get(ref) sk__wkref_get((ref), SK_CALLSITE)

static inline int sk__wkref_put_weak(struct sk_wkref *ref, void (*dealloc)(struct sk_wkref *ref),
				     const struct sk_callsite *cs)
{
	if (sk_unlikely(!dealloc)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, ref, cs, NULL,
			      "sk_wkref_put_weak: NULL dealloc function; reference not dropped");
		return 0;
	}
	if (sk__refcount_dec_and_test(&ref->weak, cs)) {
		/*
		 * The last weak reference goes after the last strong one (the
		 * strong references hold one weak reference together, dropped
		 * after release()).  Live strong references here mean a
		 * put_weak without a weak reference took theirs: the memory
		 * is in use.  Give the reference back and report, instead of
		 * freeing it.  A strong count pinned by an earlier misuse
		 * (saturated, negative) cannot tell a live object (pinned by
		 * an overflow, with its holders) from a dead one (pinned by an
		 * extra put after release()): the memory is leaked, the weak
		 * count pinned too, never freed under a holder.  (The acquire
		 * of the last put orders the read.)
		 */
		int strong = (int)sk_refcount_read(&ref->strong);

		if (sk_unlikely(strong < 0)) {
			__atomic_store_n(&ref->weak.refs, SK_REFCOUNT_SATURATED, __ATOMIC_RELAXED);
			sk__violation(SK_VIOLATION_REFCOUNT_SATURATED, ref, cs, NULL,
				      "sk_wkref_put_weak: the last weak reference went while the "
				      "strong count is pinned (saturated by an earlier misuse): the "
				      "object may be alive, so dealloc() is not called and the "
				      "memory is leaked; weak count pinned");
			return 0;
		}
		if (sk_unlikely(strong > 0)) {
			int zero = 0;

			__atomic_compare_exchange_n(&ref->weak.refs, &zero, 1, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
			sk__violation(SK_VIOLATION_REFCOUNT_UNDERFLOW, ref, cs, NULL,
				      "sk_wkref_put_weak: the weak count reached zero while %d "
				      "strong reference(s) remain (a put_weak without a weak "
				      "reference): refused, nothing freed",
				      strong);
			return 0;
		}
		dealloc(ref);
		return 1;
	}
	return 0;
}

static inline int sk__wkref_put(struct sk_wkref *ref, void (*release)(struct sk_wkref *ref),
				void (*dealloc)(struct sk_wkref *ref), const struct sk_callsite *cs)
{
	if (sk_unlikely(!release || !dealloc)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, ref, cs, NULL,
			      "sk_wkref_put: NULL %s function; reference not dropped",
			      release ? "dealloc" : "release");
		return 0;
	}
	if (!sk__refcount_dec_and_test(&ref->strong, cs))
		return 0;
	release(ref);
	/* Drop the weak reference all the strong ones held together. */
	sk__wkref_put_weak(ref, dealloc, cs);
	return 1;
}

/**
 * sk_wkref_put() - drop a strong reference
 * @ref: the counts
 * @release: the destructor, called once when the last strong reference
 *	goes; it must not free the memory; must not be NULL
 * @dealloc: frees the memory, called once when the last reference of
 *	either kind goes; must not be NULL
 *
 * The last strong put calls @release(@ref), then drops the strong
 * references' weak one, calling @dealloc(@ref) if no weak reference is
 * left.  An extra put is reported (SK_VIOLATION_REFCOUNT_UNDERFLOW) and
 * calls nothing.
 *
 * Context: the caller holds the strong reference it drops.  Release
 * ordering; @release and @dealloc run with acquire ordering on the
 * caller's thread.
 * Return: 1 if @release was called, 0 otherwise.
 */
#define sk_wkref_put(ref, release, dealloc) sk__wkref_put((ref), (release), (dealloc), SK_CALLSITE)

static inline void sk__wkref_get_weak(struct sk_wkref *ref, const struct sk_callsite *cs)
{
	sk__refcount_inc(&ref->weak, cs);
}

/**
 * sk_wkref_get_weak() - take a weak reference (Rust's Arc::downgrade)
 * @ref: the counts
 *
 * The caller keeps the reference it holds; it now also holds a weak one,
 * to hand out.  Taking one on memory that was freed (weak count zero) is
 * reported as SK_VIOLATION_REFCOUNT_INC_FROM_ZERO.
 *
 * Context: the caller holds a strong or a weak reference.  Relaxed
 * ordering.
 */
#define sk_wkref_get_weak(ref) sk__wkref_get_weak((ref), SK_CALLSITE)

/**
 * sk_wkref_put_weak() - drop a weak reference
 * @ref: the counts
 * @dealloc: frees the memory if this was the last reference of either
 *	kind; must not be NULL
 *
 * Context: the caller holds the weak reference it drops.  Release
 * ordering; @dealloc runs with acquire ordering.
 * Return: 1 if @dealloc was called, 0 otherwise.
 */
#define sk_wkref_put_weak(ref, dealloc) sk__wkref_put_weak((ref), (dealloc), SK_CALLSITE)

static inline SK_MUST_CHECK int sk__wkref_upgrade(struct sk_wkref *ref,
						   const struct sk_callsite *cs)
{
	int old = __atomic_load_n(&ref->strong.refs, __ATOMIC_RELAXED);

	do {
		if (old == 0)
			return 0;
		if (sk_unlikely(old < 0)) {
			/* Saturated: alive or dead, nobody can tell.  Refuse. */
			sk__refcount_saturate(&ref->strong, old, 1, SK__REFCOUNT_WKREF_UPGRADE, cs);
			return 0;
		}
	} while (!__atomic_compare_exchange_n(&ref->strong.refs, &old,
					      (int)((unsigned int)old + 1u), true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	/* From SK_REFCOUNT_MAX: alive, and pinned alive from now on. */
	if (sk_unlikely(old == SK_REFCOUNT_MAX))
		sk__refcount_saturate(&ref->strong, old, 1, SK__REFCOUNT_WKREF_UPGRADE, cs);
	SK__REFCOUNT_ACQUIRE_EDGE(&ref->strong);
	return 1;
}

/**
 * sk_wkref_upgrade() - take a strong reference through a weak one
 * @ref: the counts
 *
 * Rust's Weak::upgrade: succeeds only while the object is alive (strong
 * count not zero), so the object returned is never one whose release() has
 * run or is running.  The weak reference is kept either way.
 *
 * A saturated strong count is refused (reported as
 * SK_VIOLATION_REFCOUNT_SATURATED, returns 0), unlike
 * sk_refcount_inc_not_zero(): the misuse that pinned it may have come after
 * the destructor (an extra put), when only the weak count holds the memory,
 * so the object cannot be proven alive.  An upgrade that overflows a count
 * at SK_REFCOUNT_MAX is reported, pins the object alive, and succeeds.
 *
 * Context: the caller holds a weak reference (or a strong one).  Acquire
 * ordering when it succeeds.
 * Return: 1 if a strong reference was taken, 0 if the object is dead.
 */
#define sk_wkref_upgrade(ref) sk__wkref_upgrade((ref), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_WKREF_H */
