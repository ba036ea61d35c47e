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
 *   sk_kref_put_mutex,        the reference dropped; the     anything
 *   sk_kref_put_lock          lock not held by the caller
 *
 * The lookup pattern (an object reachable from a table while its count may
 * reach zero) is: find it under the table's lock or in an RCU read-side
 * section, sk_kref_get_unless_zero(); if that fails the object is being
 * released, treat it as absent.  release() removes it from the table (under
 * the same lock) before freeing it.
 *
 * When the table's lock is a libsafekern lock, sk_kref_put_mutex() and
 * sk_kref_put_lock() do that in the kernel's way: the last put takes the
 * lock before the count reaches zero (sk_refcount_dec_and_mutex_lock(),
 * sk_refcount_dec_and_lock()).  If every put of such an object goes
 * through them, a lookup under the lock never sees a count of zero and
 * can use sk_kref_get() instead of sk_kref_get_unless_zero().  release()
 * is called with the lock held and must unlock it (after removing the
 * object from the table).  Puts that are not the last take no lock.
 *
 * Thread-safety analysis: the analysis cannot follow the call through the
 * release pointer, so release() itself tells it the lock is held
 * (sk_lockdep_assert_held(), which the debug level also checks at run
 * time) before it unlocks.  For the caller, sk_kref_put_mutex() and
 * sk_kref_put_lock() take and drop the lock inside: they require that it
 * is not held (locks_excluded), and the result is the kernel's
 * informational int, which may be ignored.  At the debug level (the
 * validator on), a release() that returns with the lock still held is
 * reported (SK_VIOLATION_LOCK_HELD).
 */
#ifndef SAFEKERN_KREF_H
#define SAFEKERN_KREF_H

#include <stddef.h>

#include <safekern/compiler.h>
#include <safekern/lock.h>
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

/*
 * Internal: after release() returned from sk_kref_put_mutex() or
 * sk_kref_put_lock(), at the debug level: reports SK_VIOLATION_LOCK_HELD if
 * this thread still holds @lock as acquired at @cs, i.e. if release() did
 * not unlock it.  Asks the lock validator, which compares addresses only:
 * @lock may be freed memory by now.  Does nothing while the validator is off.
 */
SK_API void sk__kref_check_unlocked(const void *lock, const char *what,
				    const struct sk_callsite *cs);

/* For the thread-safety analysis: release() has unlocked @lock (it cannot
 * follow the function pointer); at the debug level, check that it did. */
static inline void sk__kref_released_mutex(struct sk_mutex *lock, const struct sk_callsite *cs)
	SK_RELEASES(lock);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void
sk__kref_released_mutex(struct sk_mutex *lock, const struct sk_callsite *cs)
{
#ifdef SK_DEBUG
	sk__kref_check_unlocked(lock, "sk_kref_put_mutex", cs);
#else
	(void)lock;
	(void)cs;
#endif
}

static inline void sk__kref_released_spin(struct sk_spinlock *lock, const struct sk_callsite *cs)
	SK_RELEASES(lock);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void
sk__kref_released_spin(struct sk_spinlock *lock, const struct sk_callsite *cs)
{
#ifdef SK_DEBUG
	sk__kref_check_unlocked(lock, "sk_kref_put_lock", cs);
#else
	(void)lock;
	(void)cs;
#endif
}

static inline int sk__kref_put_mutex(struct sk_kref *kref, void (*release)(struct sk_kref *kref),
				     struct sk_mutex *lock, const struct sk_callsite *cs)
	SK_EXCLUDES(lock);
static inline int sk__kref_put_mutex(struct sk_kref *kref, void (*release)(struct sk_kref *kref),
				     struct sk_mutex *lock, const struct sk_callsite *cs)
{
	if (sk_unlikely(!release)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, kref, cs, NULL,
			      "sk_kref_put_mutex: NULL release function; reference not dropped");
		return 0;
	}
	if (sk__refcount_dec_and_mutex_lock(&kref->refcount, lock, cs)) {
		release(kref);
		sk__kref_released_mutex(lock, cs);
		return 1;
	}
	return 0;
}

static inline int sk__kref_put_lock(struct sk_kref *kref, void (*release)(struct sk_kref *kref),
				    struct sk_spinlock *lock, const struct sk_callsite *cs)
	SK_EXCLUDES(lock);
static inline int sk__kref_put_lock(struct sk_kref *kref, void (*release)(struct sk_kref *kref),
				    struct sk_spinlock *lock, const struct sk_callsite *cs)
{
	if (sk_unlikely(!release)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, kref, cs, NULL,
			      "sk_kref_put_lock: NULL release function; reference not dropped");
		return 0;
	}
	if (sk__refcount_dec_and_lock(&kref->refcount, lock, cs)) {
		release(kref);
		sk__kref_released_spin(lock, cs);
		return 1;
	}
	return 0;
}

/**
 * sk_kref_put_mutex() - drop a reference; on the last, release it under a mutex
 * @kref: the kref
 * @release: called with @kref, and with @lock held, when the count reaches
 *	zero; must unlock @lock; must not be NULL
 * @lock: the mutex of the structure that finds the object (struct sk_mutex *)
 *
 * The kernel's kref_put_mutex(), on sk_refcount_dec_and_mutex_lock(): a
 * put that is not the last takes no lock; the last one takes @lock before
 * the count reaches zero and calls @release with it held.  Write
 * @release as: find the object (sk_container_of()),
 * sk_lockdep_assert_held(@lock), remove it from the structure,
 * sk_mutex_unlock(@lock), free it.  An extra put is reported
 * (SK_VIOLATION_REFCOUNT_UNDERFLOW) and saturates the count without taking
 * the lock or calling @release; a NULL @release is reported
 * (SK_VIOLATION_INVALID_ARGUMENT) and leaves the count unchanged.  At the
 * debug level, a @release that returns with @lock still held is reported
 * (SK_VIOLATION_LOCK_HELD; the lock stays held).
 *
 * Context: the caller holds the reference it drops and does not hold
 * @lock (the analysis checks this); may sleep.  Release ordering; @release
 * runs with acquire ordering, on the caller's thread.
 * Return: 1 if @release was called, 0 otherwise (the kernel's int; it may
 * be ignored).
 */
#define sk_kref_put_mutex(kref, release, lock)                                \
	sk__kref_put_mutex((kref), (release), (lock), SK_CALLSITE)

/**
 * sk_kref_put_lock() - drop a reference; on the last, release it under a spinlock
 * @kref: the kref
 * @release: called with @kref, and with @lock held, when the count reaches
 *	zero; must unlock @lock; must not be NULL
 * @lock: the spinlock of the structure that finds the object
 *	(struct sk_spinlock *)
 *
 * sk_kref_put_mutex() for a spinlock (the kernel's kref_put_lock(), on
 * sk_refcount_dec_and_lock()).
 *
 * Context: the caller holds the reference it drops and does not hold
 * @lock.  Release ordering; @release runs with acquire ordering.
 * Return: 1 if @release was called, 0 otherwise.
 */
#define sk_kref_put_lock(kref, release, lock)                                 \
	sk__kref_put_lock((kref), (release), (lock), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_KREF_H */
