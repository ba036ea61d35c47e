/* SPDX-License-Identifier: MIT */
/*
 * lib/refcount.c - the cold path of sk_refcount_t's checks: classify the
 * misuse, saturate the counter, report it (the kernel's
 * refcount_warn_saturate()).
 *
 * The inline fast paths only know that the value they saw was outside the
 * good range; everything that costs instructions (which kind, what the old
 * value was) happens here, once per misuse.
 */
#include <safekern/kref.h>
#include <safekern/refcount.h>

#include "lockdep-internal.h"
#include "violation-internal.h"

static const char *const op_names[SK__REFCOUNT_OP_NR] = {
	[SK__REFCOUNT_INC] = "sk_refcount_inc",
	[SK__REFCOUNT_ADD] = "sk_refcount_add",
	[SK__REFCOUNT_INC_NOT_ZERO] = "sk_refcount_inc_not_zero",
	[SK__REFCOUNT_ADD_NOT_ZERO] = "sk_refcount_add_not_zero",
	[SK__REFCOUNT_DEC] = "sk_refcount_dec",
	[SK__REFCOUNT_DEC_AND_TEST] = "sk_refcount_dec_and_test",
	[SK__REFCOUNT_SUB_AND_TEST] = "sk_refcount_sub_and_test",
	[SK__REFCOUNT_DEC_NOT_ONE] = "sk_refcount_dec_not_one",
	[SK__REFCOUNT_DEC_IF_ONE] = "sk_refcount_dec_if_one",
	[SK__REFCOUNT_WKREF_UPGRADE] = "sk_wkref_upgrade",
};

void sk__refcount_saturate(sk_refcount_t *r, int old, int i, enum sk__refcount_op op,
			   const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	enum sk_violation_kind kind;
	const char *what;
	const char *name;

	if ((unsigned int)op >= SK__REFCOUNT_OP_NR)
		op = SK__REFCOUNT_ADD;
	name = op_names[op];

	switch (op) {
	case SK__REFCOUNT_DEC:
	case SK__REFCOUNT_DEC_AND_TEST:
	case SK__REFCOUNT_SUB_AND_TEST:
		/*
		 * The fast path checked the flags of its locked instruction and
		 * has no old value: recompute it from what the counter holds
		 * now.  Exact unless other threads are misusing the counter at
		 * this very moment.
		 */
		old = (int)((unsigned int)__atomic_load_n(&r->refs, __ATOMIC_RELAXED) +
			    (unsigned int)i);
		break;
	default:
		break;
	}

	if (old < 0) {
		kind = SK_VIOLATION_REFCOUNT_SATURATED;
		what = "operation on a saturated counter; leaking memory";
	} else {
		switch (op) {
		case SK__REFCOUNT_INC:
		case SK__REFCOUNT_ADD:
			if (old == 0) {
				kind = SK_VIOLATION_REFCOUNT_INC_FROM_ZERO;
				what = "addition on 0; use-after-free";
			} else {
				kind = SK_VIOLATION_REFCOUNT_OVERFLOW;
				what = "overflow past SK_REFCOUNT_MAX; saturated, leaking memory";
			}
			break;
		case SK__REFCOUNT_INC_NOT_ZERO:
		case SK__REFCOUNT_ADD_NOT_ZERO:
		case SK__REFCOUNT_WKREF_UPGRADE:
			kind = SK_VIOLATION_REFCOUNT_OVERFLOW;
			what = "overflow past SK_REFCOUNT_MAX; saturated, leaking memory";
			break;
		case SK__REFCOUNT_DEC:
			if (old == 1) {
				kind = SK_VIOLATION_REFCOUNT_DEC_TO_ZERO;
				what = "decrement hit 0; leaking memory";
			} else {
				kind = SK_VIOLATION_REFCOUNT_UNDERFLOW;
				what = "underflow; use-after-free";
			}
			break;
		default:
			kind = SK_VIOLATION_REFCOUNT_UNDERFLOW;
			what = "underflow; use-after-free";
			break;
		}
	}

	/* Pin first, as the kernel does: a handler already sees it saturated. */
	__atomic_store_n(&r->refs, SK_REFCOUNT_SATURATED, __ATOMIC_RELAXED);

	if (op == SK__REFCOUNT_INC || op == SK__REFCOUNT_DEC || op == SK__REFCOUNT_DEC_AND_TEST ||
	    op == SK__REFCOUNT_INC_NOT_ZERO || op == SK__REFCOUNT_DEC_NOT_ONE ||
	    op == SK__REFCOUNT_DEC_IF_ONE || op == SK__REFCOUNT_WKREF_UPGRADE)
		sk__violation(kind, r, cs, caller, "refcount_t: %s: %s (count was %d)", name, what,
			      old);
	else
		sk__violation(kind, r, cs, caller, "refcount_t: %s(%d): %s (count was %d)", name, i,
			      what, old);
}

/*
 * The debug check after sk_kref_put_mutex()/sk_kref_put_lock() called
 * release(): the lock must be gone from this thread's held-lock stack.  The
 * validator's stack holds addresses and the call sites of the acquisitions:
 * an entry for @lock acquired at @cs is the put's own acquisition, which
 * release() should have dropped (an entry from an outer acquisition of the
 * same lock, a relock that was refused and already reported, does not
 * match @cs).  @lock is never dereferenced: release() may have freed it.
 */
void sk__kref_check_unlocked(const void *lock, const char *what, const struct sk_callsite *cs)
{
	if (!__atomic_load_n(&sk__lockdep_on, __ATOMIC_RELAXED) || !cs)
		return;
	if (sk_unlikely(sk__lockdep_held_site(lock) == cs))
		sk__violation(SK_VIOLATION_LOCK_HELD, lock, cs, SK__RET_IP,
			      "%s: the release function returned with the lock held (it must "
			      "unlock it); the lock stays held",
			      what);
}
