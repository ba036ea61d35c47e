/* SPDX-License-Identifier: MIT */
/*
 * safekern/kref.h - struct sk_kref: the kernel's kref, an embedded
 * reference count with a release function, on sk_refcount_t.
 *
 * Theory of operation
 * ===================
 *
 * Embed a struct sk_kref in the object, initialise it to 1 with
 * sk_kref_init() when the object is created, take a reference with
 * sk_kref_get() for every pointer you hand out, and drop it with
 * sk_kref_put(kref, release): the put that drops the last reference calls
 * release(kref), which finds the object with sk_container_of() and frees
 * it.  Exactly one put calls release, exactly once.
 *
 * Everything sk_refcount_t guarantees holds (safekern/refcount.h): the count
 * saturates instead of wrapping, and an extra put, a get on a freed object
 * (count 0) or an overflow is reported through the violation channel and
 * leaks the object instead of freeing it twice.  In addition, a NULL release
 * function is reported as SK_VIOLATION_INVALID_ARGUMENT and the put is
 * refused: the count is left as it was and nothing is released.  (The check
 * folds away when release is a function name, as it nearly always is.)
 *
 * Memory ordering: sk_kref_get() is relaxed (the caller already holds a
 * reference, which orders it); sk_kref_put() is release, and the put that
 * calls release is also acquire, so release() sees every store any thread
 * made to the object before its put.  sk_kref_get_unless_zero() is relaxed
 * on its own: the lookup structure's lock or RCU orders it.
 *
 * Concurrency
 * ===========
 *
 *   operation                 needs                          concurrent with
 *   -------------------------------------------------------------------------
 *   sk_kref_init              sole owner                     nothing
 *   sk_kref_read              nothing                        anything (a hint)
 *   sk_kref_get               a reference                    anything
 *   sk_kref_put               the reference dropped          anything
 *   sk_kref_get_unless_zero   the memory (RCU, lookup lock)  anything
 *
 * The lookup pattern (an object reachable from a table while its count may
 * reach zero) is: find it under the table's lock or in an RCU read-side
 * section, sk_kref_get_unless_zero(); if that fails the object is being
 * released, treat it as absent.  release() removes it from the table (under
 * the same lock) before freeing it.
 */
#ifndef SAFEKERN_KREF_H
#define SAFEKERN_KREF_H

#include <stddef.h>

#include <safekern/compiler.h>
#include <safekern/refcount.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct sk_kref - an embedded reference count
 * @refcount: the count; reach it through the sk_kref_*() functions
 */
struct sk_kref {
	sk_refcount_t refcount;
};

/**
 * SK_KREF_INIT() - a static initialiser
 * @n: the initial count
 */
#define SK_KREF_INIT(n) { SK_REFCOUNT_INIT(n) }

/**
 * sk_kref_init() - initialise a kref to 1
 * @kref: the kref
 *
 * Context: the caller owns the object alone (it is being created).
 */
static inline void sk_kref_init(struct sk_kref *kref)
{
	sk_refcount_set(&kref->refcount, 1);
}

/**
 * sk_kref_read() - the current count
 * @kref: the kref
 *
 * Context: any; the value may be stale at once.  For statistics and
 * assertions only.
 * Return: the count (saturated reads as (unsigned int)SK_REFCOUNT_SATURATED).
 */
static inline unsigned int sk_kref_read(const struct sk_kref *kref)
{
	return sk_refcount_read(&kref->refcount);
}

static inline void sk__kref_get(struct sk_kref *kref, const struct sk_callsite *cs)
{
	sk__refcount_inc(&kref->refcount, cs);
}

/**
 * sk_kref_get() - take a reference
 * @kref: the kref
 *
 * A get on a kref of zero (the object was released: use after free) is
 * reported as SK_VIOLATION_REFCOUNT_INC_FROM_ZERO and saturates it.
 *
 * Context: the caller holds a reference.  Relaxed ordering.
 */
#define sk_kref_get(kref) sk__kref_get((kref), SK_CALLSITE)

static inline int sk__kref_put(struct sk_kref *kref, void (*release)(struct sk_kref *kref),
			       const struct sk_callsite *cs)
{
	if (sk_unlikely(!release)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, kref, cs, NULL,
			      "sk_kref_put: NULL release function; reference not dropped");
		return 0;
	}
	if (sk__refcount_dec_and_test(&kref->refcount, cs)) {
		release(kref);
		return 1;
	}
	return 0;
}

/**
 * sk_kref_put() - drop a reference; release the object on the last one
 * @kref: the kref
 * @release: called with @kref when the count reaches zero; must not be NULL
 *
 * An extra put (count already zero) is reported as
 * SK_VIOLATION_REFCOUNT_UNDERFLOW, saturates the count and does not call
 * @release.  A NULL @release is reported as SK_VIOLATION_INVALID_ARGUMENT;
 * the count is left unchanged.
 *
 * Context: the caller holds the reference it drops.  Release ordering;
 * @release runs with acquire ordering, on the caller's thread.
 * Return: 1 if @release was called, 0 otherwise (the kernel's int).
 */
#define sk_kref_put(kref, release) sk__kref_put((kref), (release), SK_CALLSITE)

static inline SK_MUST_CHECK int sk__kref_get_unless_zero(struct sk_kref *kref,
							  const struct sk_callsite *cs)
{
	return sk__refcount_inc_not_zero(&kref->refcount, cs);
}

/**
 * sk_kref_get_unless_zero() - take a reference unless the count is zero
 * @kref: the kref
 *
 * For lookups: the object may be on its way to release(), which this
 * refuses to resurrect.
 *
 * Context: the memory must stay valid while this runs (the lookup
 * structure's lock, or an RCU read-side section).  Relaxed ordering.
 * Return: nonzero if a reference was taken, 0 if the count was zero.
 */
#define sk_kref_get_unless_zero(kref) sk__kref_get_unless_zero((kref), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_KREF_H */
