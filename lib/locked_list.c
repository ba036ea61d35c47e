/* SPDX-License-Identifier: MIT */
/*
 * lib/locked_list.c - the out-of-line half of safekern/locked_list.h: the
 * debug-level check that the calling thread holds the list's mutex, and
 * its report; the reports of a delete of an entry on no list, of another
 * list's entry, and of the list's own head.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <safekern/locked_list.h>
#include <safekern/violation.h>

#include "violation-internal.h"

/*
 * The owner word of struct sk_mutex as lib/lock.c keeps it in every build:
 * the holder's thread pointer (pthread_self() elsewhere), low two bits
 * flags.  Must match lib/lock.c (SELF(), OWNER_FLAGS); the locked-list
 * tests check both answers.
 */
#define OWNER_FLAGS ((uintptr_t)3)
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__)
#define SELF() ((uintptr_t)__builtin_thread_pointer())
#else
#define SELF() ((uintptr_t)pthread_self())
#endif

bool sk__locked_list_not_held(const struct sk_locked_list *l, const char *op,
			      const struct sk_callsite *cs)
{
	uintptr_t owner = __atomic_load_n(&l->lock.owner, __ATOMIC_RELAXED);

	if (sk_likely((owner & ~OWNER_FLAGS) == SELF()))
		return false;
	sk__violation(SK_VIOLATION_LOCK_NOT_HELD, l, cs, SK__RET_IP,
		      "%s on locked list %p without its lock \"%s\" held by this thread%s", op,
		      (const void *)l, l->lock.dep_map.name ? l->lock.dep_map.name : "(unnamed)",
		      (owner & ~OWNER_FLAGS) ? " (another thread holds it)" : "");
	return true;
}

bool sk__locked_list_foreign(const struct sk_locked_list *l, const struct sk_list_head *entry,
			     const char *op, const struct sk_callsite *cs)
{
	/* A NULL or poisoned entry, or one with bad links: the list's own
	 * checks report it. */
	if (sk__list_bad(entry) || sk__list_bad(SK_READ_ONCE(entry->next)) ||
	    sk__list_bad(SK_READ_ONCE(entry->prev)))
		return false;
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, entry, cs, SK__RET_IP,
		      "%s: entry %p is on a list, and locked list %p is empty: the entry is on "
		      "another list (move it between locked lists with del, then add, under "
		      "both locks); nothing changed",
		      op, (const void *)entry, (const void *)l);
	return true;
}

void sk__locked_list_report_unlisted(const struct sk_locked_list *l,
				     const struct sk_list_head *entry, const char *op,
				     const struct sk_callsite *cs)
{
	sk__violation(SK_VIOLATION_LIST_DOUBLE_DEL, entry, cs, SK__RET_IP,
		      "%s: entry %p is on no list (it points to itself: never added, or deleted "
		      "with del_init); locked list %p and its count left as they are",
		      op, (const void *)entry, (const void *)l);
}

void sk__locked_list_report_head(const struct sk_locked_list *l, const char *op,
				 const struct sk_callsite *cs)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, l, cs, SK__RET_IP,
		      "%s: the entry is locked list %p's own head, not an entry of it (a "
		      "for_each cursor used after the walk ended?); nothing changed",
		      op, (const void *)l);
}
