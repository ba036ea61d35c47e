/* SPDX-License-Identifier: MIT */
/*
 * safekern/refcount.h - sk_refcount_t: a reference counter that saturates
 * instead of wrapping, with the Linux kernel's refcount_t semantics.
 *
 * The interface matches the kernel's refcount_t (include/linux/refcount.h)
 * name for name after the sk_ prefix, argument for argument: a kernel
 * developer can port code by adding the prefix.  Use it, or struct sk_kref
 * (safekern/kref.h) built on it, for every object whose lifetime a counter
 * decides.  The dec_and_lock forms take libsafekern's checked locks
 * (safekern/lock.h).  (Not provided: the kernel's tracing variants taking
 * an int *oldp, and refcount_dec_and_lock_irqsave(): no interrupts here.)
 *
 * Saturation semantics
 * ====================
 *
 * sk_refcount_t differs from a plain atomic int in that it saturates at
 * SK_REFCOUNT_SATURATED and stays there: a bug that would wrap the counter
 * (an extra put, an overflow) can no longer reach zero and free an object
 * that is still in use.  The object leaks instead, and the misuse is
 * reported through the violation channel (safekern/violation.h).
 *
 * As in the kernel, and to keep the cost of a plain atomic, the checks run
 * *after* the atomic operation: sk_refcount_inc(), sk_refcount_add(),
 * sk_refcount_dec(), sk_refcount_dec_and_test() and sk_refcount_sub_and_test()
 * are one fetch-add or fetch-sub (no compare-and-swap loop), and the counter
 * is allowed to hold an unchecked value for a moment before the cold path
 * sets it to SK_REFCOUNT_SATURATED.  The "bad" range is the negative half of
 * the int; SK_REFCOUNT_SATURATED (INT_MIN / 2) sits in its middle, about 2^30
 * operations away from both zero and INT_MAX:
 *
 *   0                         INT_MAX      SATURATED         -1 (UINT_MAX)
 *   +----------------------------+--------------+----------------+
 *   | good: 1 .. INT_MAX         |<------------ bad --------------->|
 *
 * so that threads racing on a saturated counter between a bad operation and
 * the reset cannot drag it back to a good value.  (The kernel's argument
 * bounds the racing tasks by PID_MAX_LIMIT; a process has far fewer threads
 * than 2^30.)
 *
 * The following are misuse.  Each sets the counter to SK_REFCOUNT_SATURATED
 * and makes exactly one report, of the kind given, naming the caller's file
 * and line; none ever frees, and none returns "last reference":
 *
 *   - an increment or add that would pass SK_REFCOUNT_MAX (INT_MAX):
 *     SK_VIOLATION_REFCOUNT_OVERFLOW (inc, add, inc_not_zero, add_not_zero);
 *   - an increment or add on a counter of zero (the object may be freed:
 *     use after free): SK_VIOLATION_REFCOUNT_INC_FROM_ZERO (inc, add);
 *   - a decrement below zero: SK_VIOLATION_REFCOUNT_UNDERFLOW (dec,
 *     dec_and_test, sub_and_test, dec_not_one, dec_if_one, the dec_and_lock
 *     forms);
 *   - sk_refcount_dec() dropping the last reference (nobody can release the
 *     object now: a leak): SK_VIOLATION_REFCOUNT_DEC_TO_ZERO;
 *   - any read-modify-write on a counter that is already saturated
 *     (negative): SK_VIOLATION_REFCOUNT_SATURATED.
 *
 * The _not_zero forms are not misused by a zero counter: they return false
 * and leave it at zero (that is what they are for).  A negative @i passed to
 * an _add or _sub form is refused as SK_VIOLATION_INVALID_ARGUMENT and leaves
 * the counter unchanged (the kernel does not check this; only a non-constant
 * @i costs a test).
 *
 * The checks are the same at both check levels: they are O(1) and sit on
 * the flags of the atomic instruction where the hardware allows it.  On
 * x86, sk_refcount_dec_and_test() is ``lock sub; je; jl`` (the raw C version
 * is ``lock sub; je``), sk_refcount_dec() is ``lock dec; jle`` and
 * sk_refcount_inc() is ``lock xadd`` plus one range compare (an increment
 * from zero cannot be seen on the flags); other architectures, TSan builds
 * and -DSK_REFCOUNT_NO_ASM use the __atomic builtins with the same checks
 * on the old value.  The classification (which kind,
 * the old value) is done in the cold path; where the old value is not
 * known there, it is recomputed from the counter, so a report on a counter
 * that other threads are corrupting at the same moment may name the
 * neighbouring kind (underflow for saturated, say).  The counter saturates
 * regardless.  The debug level (-DSK_DEBUG) adds the Valgrind annotations
 * described below.
 *
 * Memory ordering
 * ===============
 *
 * As the kernel's Documentation/core-api/refcount-vs-atomic.rst, in C11 terms:
 *
 *   sk_refcount_set(), sk_refcount_read()       relaxed (no ordering)
 *   sk_refcount_set_release()                   release
 *   sk_refcount_inc(), sk_refcount_add()        relaxed
 *   sk_refcount_inc_not_zero(),
 *   sk_refcount_add_not_zero()                  relaxed (CAS loop)
 *   sk_refcount_inc_not_zero_acquire(),
 *   sk_refcount_add_not_zero_acquire()          acquire on success
 *   sk_refcount_dec()                           release
 *   sk_refcount_dec_and_test(),
 *   sk_refcount_sub_and_test()                  release; acquire when they
 *                                               return true
 *   sk_refcount_dec_if_one()                    release; acquire on success
 *   sk_refcount_dec_not_one()                   release
 *   sk_refcount_dec_and_mutex_lock(),
 *   sk_refcount_dec_and_lock()                  release; acquire (and the
 *                                               lock's acquire) when they
 *                                               return true
 *
 * Increments are relaxed: whatever gave the caller the pointer (a lock, an
 * RCU dereference, a reference it already holds) orders them.  Decrements
 * are release, so everything the putter did to the object happens before
 * the final put; the final put is also acquire, so the thread that frees
 * the object sees all of it.  (The kernel relies on a control dependency
 * for sk_refcount_dec_if_one(); C11 has none, so it is acquire on success
 * here, which costs nothing on x86 and arm64.)
 *
 * The _acquire variants and sk_refcount_set_release() are for objects whose
 * memory is reused for another object of the same type (a slab with
 * SLAB_TYPESAFE_BY_RCU, an object pool): the initialiser sets the counter
 * with sk_refcount_set_release() after writing the object's identity, a
 * lookup takes the reference with sk_refcount_inc_not_zero_acquire() and
 * then re-checks the identity (the key): if it changed, it puts the
 * reference and retries.
 *
 * Valgrind: helgrind and drd do not understand atomics.  At the debug level,
 * every release operation is annotated SK_ANNOTATE_HAPPENS_BEFORE(counter)
 * and every acquire operation that succeeds SK_ANNOTATE_HAPPENS_AFTER(counter)
 * (safekern/annotate.h), so that a program freeing an object after its
 * final put runs clean under both tools.  Build the units that put shared
 * objects with -DSK_DEBUG for such runs.
 *
 * Concurrency
 * ===========
 *
 * Every operation is atomic and may be called by any thread concurrently
 * with any other operation on the same counter, with one rule: a thread
 * may only increment, decrement or test a counter while it holds a
 * reference (the counter is positive and cannot reach zero under it),
 * except through the _not_zero forms, which need only that the memory is
 * still there (an RCU read-side section, a lock on the lookup structure, a
 * type-stable cache).
 *
 *   operation                      needs                       concurrent with
 *   ---------------------------------------------------------------------------
 *   set, set_release               sole owner (init/reuse)     reads only
 *   read                           nothing                     anything (a hint)
 *   inc, add                       a reference                 anything
 *   inc/add_not_zero(_acquire)     the memory                  anything
 *   dec, dec_not_one               a reference                 anything
 *   dec_and_test, sub_and_test,
 *   dec_if_one                     the reference(s) dropped    anything
 *   dec_and_mutex_lock,            the reference dropped; the  anything
 *   dec_and_lock                   lock not held by the caller
 *
 * The dec_and_lock forms
 * ======================
 *
 * sk_refcount_dec_and_mutex_lock() and sk_refcount_dec_and_lock() (a
 * spinlock) are for objects that a lookup structure reaches without holding
 * a reference: the final put must take the structure's lock before the
 * count reaches zero, so that no lookup under that lock can find the object
 * between its last put and its removal.  As in the kernel, they first try
 * sk_refcount_dec_not_one() (a CAS loop, no lock: the common case); only
 * when the count is 1 do they take the lock and sk_refcount_dec_and_test()
 * under it.  They return true with the lock held when that dropped the last
 * reference (remove the object, unlock, free it), and false with the lock
 * not held otherwise (also when a lookup took a new reference under the
 * lock meanwhile).  Misuse is reported as for sk_refcount_dec_not_one() and
 * sk_refcount_dec_and_test() (underflow, saturated) and returns false
 * without the lock; lock misuse (taking the lock while holding it) is
 * reported by the lock (safekern/lock.h), naming the caller's line.
 *
 * For Clang's thread-safety analysis both are conditional acquires
 * (try_acquire_capability(true, lock)) and must-check: the caller must
 * branch on the result and unlock on the true path; returning with the
 * lock still held, or unlocking it on the false path, is a compile-time
 * warning.
 *
 * Failure behaviour: under the default abort policy a misuse aborts after
 * the report; under warn or count the operation recovers as described
 * above (counter saturated, object leaked, no "last reference" returned).
 */
#ifndef SAFEKERN_REFCOUNT_H
#define SAFEKERN_REFCOUNT_H

#include <limits.h>
#include <stdbool.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>
#include <safekern/lock.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * typedef sk_refcount_t - a saturating reference counter
 * @refs: the count; reach it only through the sk_refcount_*() functions
 *
 * The kernel's refcount_t: an int, accessed atomically.  Zero-initialised
 * memory holds a counter of zero.
 */
typedef struct sk_refcount_struct {
	int refs;
} sk_refcount_t;

/** SK_REFCOUNT_MAX - the largest count (INT_MAX); one more is an overflow. */
#define SK_REFCOUNT_MAX INT_MAX
/** SK_REFCOUNT_SATURATED - where a misused counter is pinned (INT_MIN / 2). */
#define SK_REFCOUNT_SATURATED (INT_MIN / 2)

/**
 * SK_REFCOUNT_INIT() - a static initialiser
 * @n: the initial count
 *
 * ``static sk_refcount_t r = SK_REFCOUNT_INIT(1);``
 */
#define SK_REFCOUNT_INIT(n) { (n) }

/*
 * Internal: which operation failed, so the cold path names it and knows
 * what the value it was given means.  A constant at every call site.
 */
enum sk__refcount_op {
	SK__REFCOUNT_INC,          /* @old: value before */
	SK__REFCOUNT_ADD,          /* @old: value before */
	SK__REFCOUNT_INC_NOT_ZERO, /* @old: value before (never 0) */
	SK__REFCOUNT_ADD_NOT_ZERO, /* @old: value before (never 0) */
	SK__REFCOUNT_DEC,          /* @old unknown: recomputed from the counter */
	SK__REFCOUNT_DEC_AND_TEST, /* @old unknown: recomputed */
	SK__REFCOUNT_SUB_AND_TEST, /* @old unknown: recomputed */
	SK__REFCOUNT_DEC_NOT_ONE,  /* @old: value seen */
	SK__REFCOUNT_DEC_IF_ONE,   /* @old: value seen */
	SK__REFCOUNT_WKREF_UPGRADE, /* @old: value seen (safekern/wkref.h) */
	SK__REFCOUNT_OP_NR
};

/*
 * sk__refcount_saturate() - internal: the cold path of every check.
 * Classifies the misuse (overflow, increment from zero, underflow, decrement
 * to zero, operation on a saturated counter) from @op, @old and @i, sets
 * the counter to SK_REFCOUNT_SATURATED and reports once, naming @cs and the
 * caller's return address.  The kernel's refcount_warn_saturate().
 */
SK_API SK_COLD SK_NOINLINE void sk__refcount_saturate(sk_refcount_t *r, int old, int i,
						      enum sk__refcount_op op,
						      const struct sk_callsite *cs);

/*
 * The final decrement's flags: on x86 the decrements are written so that
 * the checks read the flags of the locked instruction (asm goto, as the
 * kernel's x86 atomics do).  ThreadSanitizer cannot see inline assembly,
 * so its builds, other architectures, and SK_REFCOUNT_NO_ASM use the
 * __atomic builtins (one xadd and compares on x86).
 */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(SK__TSAN) &&                     \
	!defined(SK_REFCOUNT_NO_ASM)
#define SK__REFCOUNT_X86_ASM 1
#endif

/*
 * The acquire half of a final decrement.  A fence after the release RMW is
 * enough in C11 (and free on x86); TSan does not model fences, so its
 * builds make the decrement itself acq_rel instead.
 */
#ifdef SK__TSAN
#define SK__REFCOUNT_DEC_ORDER __ATOMIC_ACQ_REL
#define SK__REFCOUNT_ACQUIRE_AFTER_DEC() ((void)0)
#else
#define SK__REFCOUNT_DEC_ORDER __ATOMIC_RELEASE
#define SK__REFCOUNT_ACQUIRE_AFTER_DEC() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif

/* Valgrind happens-before edges, at the debug level only (see above). */
#ifdef SK_DEBUG
#define SK__REFCOUNT_RELEASE_EDGE(r) SK_ANNOTATE_HAPPENS_BEFORE(r)
#define SK__REFCOUNT_ACQUIRE_EDGE(r) SK_ANNOTATE_HAPPENS_AFTER(r)
#else
#define SK__REFCOUNT_RELEASE_EDGE(r) ((void)(r))
#define SK__REFCOUNT_ACQUIRE_EDGE(r) ((void)(r))
#endif

/* ------------------------------------------------------------------------
 * Plain accesses
 * ------------------------------------------------------------------------ */

/**
 * sk_refcount_set() - set a counter's value
 * @r: the counter
 * @n: the value
 *
 * A relaxed store: for initialisation, before the object is shared.
 *
 * Context: the caller owns the object alone.
 */
static inline void sk_refcount_set(sk_refcount_t *r, int n)
{
	__atomic_store_n(&r->refs, n, __ATOMIC_RELAXED);
}

/**
 * sk_refcount_set_release() - set a counter's value with release ordering
 * @r: the counter
 * @n: the value
 *
 * For objects whose memory is reused (see "Memory ordering" above): every
 * store to the object before this one is visible to a thread that then
 * takes a reference with sk_refcount_inc_not_zero_acquire().
 *
 * Context: the caller owns the object alone.
 */
static inline void sk_refcount_set_release(sk_refcount_t *r, int n)
{
	SK__REFCOUNT_RELEASE_EDGE(r);
	__atomic_store_n(&r->refs, n, __ATOMIC_RELEASE);
}

/**
 * sk_refcount_read() - a counter's current value
 * @r: the counter
 *
 * A relaxed load.  The value may be stale by the time the caller looks at
 * it; use it for statistics and assertions, never to decide a free.
 *
 * Context: any.
 * Return: the count (as the kernel, unsigned: a saturated counter reads as
 * (unsigned int)SK_REFCOUNT_SATURATED).
 */
static inline unsigned int sk_refcount_read(const sk_refcount_t *r)
{
	return (unsigned int)__atomic_load_n(&r->refs, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * Increments
 * ------------------------------------------------------------------------ */

/* Reports a negative @i; the counter is left alone. */
#define SK__REFCOUNT_NEGATIVE(r, i, name, cs)                                 \
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, (r), (cs), NULL,          \
		      name "(%d): negative count; counter unchanged", (i))

static inline void sk__refcount_add_op(int i, sk_refcount_t *r, enum sk__refcount_op op,
				       const struct sk_callsite *cs)
{
	int old;

	if (sk_unlikely(i < 0)) {
		SK__REFCOUNT_NEGATIVE(r, i, "sk_refcount_add", cs);
		return;
	}
	old = __atomic_fetch_add(&r->refs, i, __ATOMIC_RELAXED);
	/*
	 * Good: 1 <= old <= SK_REFCOUNT_MAX - i.  One unsigned compare covers
	 * zero (old - 1 wraps to UINT_MAX), negative (saturated) and overflow.
	 */
	if (sk_unlikely((unsigned int)old - 1u >= (unsigned int)(SK_REFCOUNT_MAX - i)))
		sk__refcount_saturate(r, old, i, op, cs);
}

static inline void sk__refcount_add(int i, sk_refcount_t *r, const struct sk_callsite *cs)
{
	sk__refcount_add_op(i, r, SK__REFCOUNT_ADD, cs);
}

static inline void sk__refcount_inc(sk_refcount_t *r, const struct sk_callsite *cs)
{
	sk__refcount_add_op(1, r, SK__REFCOUNT_INC, cs);
}

/**
 * sk_refcount_add() - add references
 * @i: how many (>= 0)
 * @r: the counter
 *
 * One relaxed fetch-add, then the check.  Adding to a counter of zero is a
 * use after free (SK_VIOLATION_REFCOUNT_INC_FROM_ZERO); passing
 * SK_REFCOUNT_MAX is SK_VIOLATION_REFCOUNT_OVERFLOW; a saturated counter is
 * SK_VIOLATION_REFCOUNT_SATURATED.  Each saturates the counter.  Prefer
 * sk_refcount_inc(); batched adds make the saturation argument weaker (see
 * the header).
 *
 * Context: the caller holds a reference.  Relaxed ordering.
 */
#define sk_refcount_add(i, r) sk__refcount_add((i), (r), SK_CALLSITE)

/**
 * sk_refcount_inc() - take a reference
 * @r: the counter
 *
 * sk_refcount_add(1, @r).
 *
 * Context: the caller holds a reference.  Relaxed ordering.
 */
#define sk_refcount_inc(r) sk__refcount_inc((r), SK_CALLSITE)

static inline SK_MUST_CHECK bool sk__refcount_add_not_zero_op(int i, sk_refcount_t *r,
							       int success_order,
							       enum sk__refcount_op op,
							       const struct sk_callsite *cs)
{
	int old;

	if (sk_unlikely(i < 0)) {
		SK__REFCOUNT_NEGATIVE(r, i, "sk_refcount_add_not_zero", cs);
		return false;
	}
	old = __atomic_load_n(&r->refs, __ATOMIC_RELAXED);
	do {
		if (!old)
			break;
	} while (!__atomic_compare_exchange_n(&r->refs, &old, (int)((unsigned int)old + (unsigned int)i),
					      true, success_order, __ATOMIC_RELAXED));

	/* Zero passes (old - 0 is fine); negative or overflowing does not. */
	if (sk_unlikely((unsigned int)old > (unsigned int)(SK_REFCOUNT_MAX - i)))
		sk__refcount_saturate(r, old, i, op, cs);
	return old != 0;
}

static inline SK_MUST_CHECK bool sk__refcount_add_not_zero(int i, sk_refcount_t *r,
							    const struct sk_callsite *cs)
{
	return sk__refcount_add_not_zero_op(i, r, __ATOMIC_RELAXED, SK__REFCOUNT_ADD_NOT_ZERO, cs);
}

static inline SK_MUST_CHECK bool sk__refcount_inc_not_zero(sk_refcount_t *r,
							    const struct sk_callsite *cs)
{
	return sk__refcount_add_not_zero_op(1, r, __ATOMIC_RELAXED, SK__REFCOUNT_INC_NOT_ZERO, cs);
}

static inline SK_MUST_CHECK bool sk__refcount_add_not_zero_acquire(int i, sk_refcount_t *r,
								    const struct sk_callsite *cs)
{
	bool ok = sk__refcount_add_not_zero_op(i, r, __ATOMIC_ACQUIRE, SK__REFCOUNT_ADD_NOT_ZERO,
					       cs);

	if (ok)
		SK__REFCOUNT_ACQUIRE_EDGE(r);
	return ok;
}

static inline SK_MUST_CHECK bool sk__refcount_inc_not_zero_acquire(sk_refcount_t *r,
								    const struct sk_callsite *cs)
{
	bool ok = sk__refcount_add_not_zero_op(1, r, __ATOMIC_ACQUIRE, SK__REFCOUNT_INC_NOT_ZERO,
					       cs);

	if (ok)
		SK__REFCOUNT_ACQUIRE_EDGE(r);
	return ok;
}

/**
 * sk_refcount_add_not_zero() - add references unless the count is zero
 * @i: how many (>= 0)
 * @r: the counter
 *
 * A compare-and-swap loop, as in the kernel: a counter of zero is left at
 * zero (the object is being freed; find another or create one).  An
 * overflow or a saturated counter saturates and is reported, and then the
 * call still returns true: the caller holds a reference to a leaked,
 * never-freed object.
 *
 * Context: the memory must stay valid (RCU, a lock on the lookup structure).
 * Relaxed ordering; see sk_refcount_add_not_zero_acquire().
 * Return: false if the count was zero (nothing taken), true otherwise.
 */
#define sk_refcount_add_not_zero(i, r) sk__refcount_add_not_zero((i), (r), SK_CALLSITE)

/**
 * sk_refcount_inc_not_zero() - take a reference unless the count is zero
 * @r: the counter
 *
 * sk_refcount_add_not_zero(1, @r).
 *
 * Context: the memory must stay valid.  Relaxed ordering.
 * Return: false if the count was zero, true if a reference was taken.
 */
#define sk_refcount_inc_not_zero(r) sk__refcount_inc_not_zero((r), SK_CALLSITE)

/**
 * sk_refcount_add_not_zero_acquire() - add references unless zero, acquire
 * @i: how many (>= 0)
 * @r: the counter
 *
 * As sk_refcount_add_not_zero(), with acquire ordering when it succeeds:
 * the stores made before a matching sk_refcount_set_release() are visible.
 * For objects whose memory is reused: re-check the object's identity after
 * taking the reference.
 *
 * Context: the memory must stay valid.
 * Return: false if the count was zero, true otherwise.
 */
#define sk_refcount_add_not_zero_acquire(i, r)                                \
	sk__refcount_add_not_zero_acquire((i), (r), SK_CALLSITE)

/**
 * sk_refcount_inc_not_zero_acquire() - take a reference unless zero, acquire
 * @r: the counter
 *
 * sk_refcount_add_not_zero_acquire(1, @r).
 *
 * Context: the memory must stay valid.
 * Return: false if the count was zero, true if a reference was taken.
 */
#define sk_refcount_inc_not_zero_acquire(r) sk__refcount_inc_not_zero_acquire((r), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Decrements
 * ------------------------------------------------------------------------ */

static inline SK_MUST_CHECK bool sk__refcount_sub_and_test_op(int i, sk_refcount_t *r,
							       enum sk__refcount_op op,
							       const struct sk_callsite *cs)
{
#ifndef SK__REFCOUNT_X86_ASM
	int old;
#endif

	if (sk_unlikely(i < 0)) {
		SK__REFCOUNT_NEGATIVE(r, i, "sk_refcount_sub_and_test", cs);
		return false;
	}
	SK__REFCOUNT_RELEASE_EDGE(r);
#ifdef SK__REFCOUNT_X86_ASM
	/*
	 * ZF: the count reached zero.  SF != OF ("less"): old - i < 0 as
	 * integers, i.e. old < i, which also catches a saturated counter.
	 * The locked instruction is a full barrier: release, and acquire.
	 */
	__asm__ goto("lock subl %[i], %[refs]\n\t"
		     "je %l[zero]\n\t"
		     "jl %l[bad]"
		     : /* no outputs: the memory clobber covers refs */
		     : [refs] "m"(r->refs), [i] "ir"(i)
		     : "memory", "cc"
		     : zero, bad);
	return false;
#else
	/* The kernel's checks on the old value: exact, also at INT_MIN. */
	old = __atomic_fetch_sub(&r->refs, i, SK__REFCOUNT_DEC_ORDER);
	if (sk_likely(old > i))
		return false;
	if (old < i)
		goto bad;
	goto zero;
#endif
zero:
	/* sub_and_test(0) on a counter of zero is an underflow, not a free. */
	if (sk_unlikely(i == 0))
		goto bad;
	SK__REFCOUNT_ACQUIRE_AFTER_DEC();
	SK__REFCOUNT_ACQUIRE_EDGE(r);
	return true;
bad:
	sk__refcount_saturate(r, 0, i, op, cs);
	return false;
}

static inline SK_MUST_CHECK bool sk__refcount_sub_and_test(int i, sk_refcount_t *r,
							    const struct sk_callsite *cs)
{
	return sk__refcount_sub_and_test_op(i, r, SK__REFCOUNT_SUB_AND_TEST, cs);
}

static inline SK_MUST_CHECK bool sk__refcount_dec_and_test(sk_refcount_t *r,
							    const struct sk_callsite *cs)
{
	return sk__refcount_sub_and_test_op(1, r, SK__REFCOUNT_DEC_AND_TEST, cs);
}

/**
 * sk_refcount_sub_and_test() - drop references; true if that was the last
 * @i: how many (>= 0)
 * @r: the counter
 *
 * One release fetch-sub, then the check.  Dropping more references than
 * the counter holds is SK_VIOLATION_REFCOUNT_UNDERFLOW (a use after free or
 * a double put) and a saturated counter SK_VIOLATION_REFCOUNT_SATURATED;
 * either saturates the counter and returns false, so the object is never
 * freed twice.
 *
 * Context: the caller holds the @i references it drops.  Release ordering,
 * and acquire ordering when it returns true.
 * Return: true if the count reached zero: free the object.  False
 * otherwise.
 */
#define sk_refcount_sub_and_test(i, r) sk__refcount_sub_and_test((i), (r), SK_CALLSITE)

/**
 * sk_refcount_dec_and_test() - drop a reference; true if it was the last
 * @r: the counter
 *
 * sk_refcount_sub_and_test(1, @r): the usual "put".
 *
 * Context: the caller holds the reference it drops.  Release ordering, and
 * acquire ordering when it returns true.
 * Return: true if the count reached zero: free the object.  False otherwise.
 */
#define sk_refcount_dec_and_test(r) sk__refcount_dec_and_test((r), SK_CALLSITE)

static inline void sk__refcount_dec(sk_refcount_t *r, const struct sk_callsite *cs)
{
#ifdef SK__REFCOUNT_X86_ASM
	SK__REFCOUNT_RELEASE_EDGE(r);
	/* "less or equal": old - 1 <= 0, i.e. old <= 1, the kernel's check. */
	__asm__ goto("lock decl %[refs]\n\t"
		     "jle %l[bad]"
		     :
		     : [refs] "m"(r->refs)
		     : "memory", "cc"
		     : bad);
	return;
bad:
	sk__refcount_saturate(r, 0, 1, SK__REFCOUNT_DEC, cs);
#else
	int old;

	SK__REFCOUNT_RELEASE_EDGE(r);
	old = __atomic_fetch_sub(&r->refs, 1, __ATOMIC_RELEASE);
	if (sk_unlikely(old <= 1))
		sk__refcount_saturate(r, 0, 1, SK__REFCOUNT_DEC, cs);
#endif
}

/**
 * sk_refcount_dec() - drop a reference that is known not to be the last
 * @r: the counter
 *
 * For a reference whose owner knows another one is held (a parent's).
 * Dropping the last reference this way leaks the object: it is reported as
 * SK_VIOLATION_REFCOUNT_DEC_TO_ZERO and the counter saturates; below zero
 * is SK_VIOLATION_REFCOUNT_UNDERFLOW.
 *
 * Context: the caller holds the reference and another is held.  Release
 * ordering.
 */
#define sk_refcount_dec(r) sk__refcount_dec((r), SK_CALLSITE)

static inline SK_MUST_CHECK bool sk__refcount_dec_if_one(sk_refcount_t *r,
							  const struct sk_callsite *cs)
{
	int val = 1;

	SK__REFCOUNT_RELEASE_EDGE(r);
	if (__atomic_compare_exchange_n(&r->refs, &val, 0, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED)) {
		SK__REFCOUNT_ACQUIRE_EDGE(r);
		return true;
	}
	if (sk_unlikely(val <= 0))
		sk__refcount_saturate(r, val, 1, SK__REFCOUNT_DEC_IF_ONE, cs);
	return false;
}

/**
 * sk_refcount_dec_if_one() - drop the last reference, only if it is the last
 * @r: the counter
 *
 * Compare-and-swap 1 -> 0: for an owner that wants to tear the object down
 * only when nobody else holds it.  A counter of zero or below (the caller's
 * reference is already gone) is reported (SK_VIOLATION_REFCOUNT_UNDERFLOW
 * or SK_VIOLATION_REFCOUNT_SATURATED; the kernel does not check) and
 * saturated.
 *
 * Context: the caller holds a reference.  Release ordering, acquire when it
 * succeeds.
 * Return: true if the count went from 1 to 0 (free the object), false if it
 * was not 1 (nothing changed, unless it was misused).
 */
#define sk_refcount_dec_if_one(r) sk__refcount_dec_if_one((r), SK_CALLSITE)

static inline SK_MUST_CHECK bool sk__refcount_dec_not_one(sk_refcount_t *r,
							   const struct sk_callsite *cs)
{
	int val = __atomic_load_n(&r->refs, __ATOMIC_RELAXED);

	SK__REFCOUNT_RELEASE_EDGE(r);
	do {
		if (sk_unlikely(val <= 0)) {
			/* Underflow or saturated: pinned, never "the last one". */
			sk__refcount_saturate(r, val, 1, SK__REFCOUNT_DEC_NOT_ONE, cs);
			return true;
		}
		if (val == 1)
			return false;
	} while (!__atomic_compare_exchange_n(&r->refs, &val, val - 1, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	return true;
}

/**
 * sk_refcount_dec_not_one() - drop a reference unless it is the last
 * @r: the counter
 *
 * A compare-and-swap loop that decrements unless the count is 1.  The
 * building block of the dec_and_lock forms: the last reference is dropped
 * under the lock instead.  A counter of zero (SK_VIOLATION_REFCOUNT_UNDERFLOW)
 * or a saturated one (SK_VIOLATION_REFCOUNT_SATURATED; the kernel is silent
 * here) is reported, saturated, and counts as "not the last".
 *
 * Context: the caller holds a reference.  Release ordering.
 * Return: true if it decremented (or the counter is saturated), false if
 * the count is 1 (unchanged).
 */
#define sk_refcount_dec_not_one(r) sk__refcount_dec_not_one((r), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Decrement and lock (see "The dec_and_lock forms" above)
 * ------------------------------------------------------------------------ */

static inline SK_MUST_CHECK bool sk__refcount_dec_and_mutex_lock(sk_refcount_t *r,
								  struct sk_mutex *lock,
								  const struct sk_callsite *cs)
	SK_TRY_ACQUIRES(true, lock);
static inline bool sk__refcount_dec_and_mutex_lock(sk_refcount_t *r, struct sk_mutex *lock,
						   const struct sk_callsite *cs)
{
	/* Not the last reference: drop it without the lock. */
	if (sk__refcount_dec_not_one(r, cs))
		return false;
	sk__mutex_lock_fast(lock, cs);
	/* A lookup under the lock may have taken a reference meanwhile. */
	if (!sk__refcount_dec_and_test(r, cs)) {
		sk__mutex_unlock_fast(lock, cs);
		return false;
	}
	return true;
}

static inline SK_MUST_CHECK bool sk__refcount_dec_and_lock(sk_refcount_t *r,
							    struct sk_spinlock *lock,
							    const struct sk_callsite *cs)
	SK_TRY_ACQUIRES(true, lock);
static inline bool sk__refcount_dec_and_lock(sk_refcount_t *r, struct sk_spinlock *lock,
					     const struct sk_callsite *cs)
{
	if (sk__refcount_dec_not_one(r, cs))
		return false;
	sk__spin_lock_fast(lock, cs);
	if (!sk__refcount_dec_and_test(r, cs)) {
		sk__spin_unlock_fast(lock, cs);
		return false;
	}
	return true;
}

/**
 * sk_refcount_dec_and_mutex_lock() - drop a reference; lock a mutex if it was the last
 * @r: the counter
 * @lock: the mutex of the structure that finds the object without a
 *	reference (struct sk_mutex *)
 *
 * The kernel's refcount_dec_and_mutex_lock(): sk_refcount_dec_not_one()
 * first, without the lock; if the count is 1, take @lock and
 * sk_refcount_dec_and_test() under it.  A counter of zero or a saturated
 * one is reported (SK_VIOLATION_REFCOUNT_UNDERFLOW,
 * SK_VIOLATION_REFCOUNT_SATURATED), saturated, and returns false without
 * the lock.  The lock operations report in the caller's name (a relock
 * of @lock by its holder is SK_VIOLATION_LOCK_RECURSION, and it is then
 * not taken twice).
 *
 * A conditional acquire for the thread-safety analysis: the result must
 * be checked, and on true @lock must be unlocked by the caller.
 *
 * Context: the caller holds the reference it drops and does not hold
 * @lock; may sleep (on @lock).  Release ordering; acquire ordering, and
 * @lock held, when it returns true.
 * Return: true if the count reached zero: @lock is held (remove the
 * object, unlock, free it).  False otherwise: @lock is not held.
 */
#define sk_refcount_dec_and_mutex_lock(r, lock)                               \
	sk__refcount_dec_and_mutex_lock((r), (lock), SK_CALLSITE)

/**
 * sk_refcount_dec_and_lock() - drop a reference; lock a spinlock if it was the last
 * @r: the counter
 * @lock: the spinlock of the structure that finds the object without a
 *	reference (struct sk_spinlock *)
 *
 * sk_refcount_dec_and_mutex_lock() for a spinlock: the kernel's
 * refcount_dec_and_lock().
 *
 * Context: the caller holds the reference it drops and does not hold
 * @lock.  Release ordering; acquire ordering, and @lock held, when it
 * returns true.
 * Return: true if the count reached zero, with @lock held; false
 * otherwise, without it.
 */
#define sk_refcount_dec_and_lock(r, lock) sk__refcount_dec_and_lock((r), (lock), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_REFCOUNT_H */
