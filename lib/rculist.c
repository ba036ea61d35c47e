/* SPDX-License-Identifier: MIT */
/*
 * lib/rculist.c - the out-of-line half of safekern/rculist.h: the cold
 * reporters of its debug reader checks and of its argument checks, and
 * the callback behind sk_kfree_rcu(), sk_kmem_cache_free_rcu() and
 * sk_call_rcu_free().
 *
 * The library includes a liburcu flavour header only for the definition
 * of struct rcu_head, whose layout every flavour shares; it calls nothing
 * in liburcu and does not link it.  The callback runs on the consumer's
 * flavour's call_rcu worker thread.
 */
#include <stdbool.h>
#include <stddef.h>

#include <urcu.h>

#include <safekern/alloc.h>
#include <safekern/annotate.h>
#include <safekern/rculist.h>
#include <safekern/slab.h>
#include <safekern/violation.h>

#include "violation-internal.h"

#ifdef SK_HAVE_VALGRIND
#include <valgrind/helgrind.h>
#include <valgrind/memcheck.h>
/*
 * liburcu wrote its queue links into the head (call_rcu() on the queueing
 * thread, the dequeue on the worker) with synchronisation helgrind and drd
 * cannot see; once it calls the callback it never touches the head again.
 * Tell the tools the head now belongs to the callback, or the free that
 * follows (a debug cache poisons the object) looks like a race with
 * call_rcu()'s stores.
 */
#define HANDED_OVER(p, n) VALGRIND_HG_CLEAN_MEMORY((p), (n))
#else
#define HANDED_OVER(p, n) ((void)(p), (void)(n))
#endif

char sk__rcu_gp_edge;
char sk__rcu_done_edge;

#define POISON1 ((const void *)SK_LIST_POISON1)
#define POISON2 ((const void *)SK_LIST_POISON2)

void sk__rcu_report_not_read_locked(const void *head, const char *op,
				    const struct sk_callsite *cs)
{
	sk__violation(SK_VIOLATION_RCU_NOT_READ_LOCKED, head, cs, SK__RET_IP,
		      "%s of %p outside an RCU read-side critical section (no rcu_read_lock(), "
		      "and no update-side lock condition given)",
		      op, head);
}

void sk__rcu_report_step(const void *head, const void *pos, const void *next, bool hlist,
			 const struct sk_callsite *cs)
{
	const char *what = hlist ? "hlist walk (RCU)" : "list walk (RCU)";

	if (next == pos && pos != head)
		sk__violation(SK_VIOLATION_LIST_CORRUPTION, pos, cs, SK__RET_IP,
			      "%s of %p: entry %p points to itself: it was taken off the list "
			      "with sk_list_del_init(), which RCU readers cannot survive (use "
			      "sk_list_del_rcu()); walk stopped",
			      what, head, pos);
	else if (next == POISON1 || next == POISON2)
		sk__violation(SK_VIOLATION_LIST_CORRUPTION, pos ? pos : head, cs, SK__RET_IP,
			      "%s of %p: %s %p has a poisoned next (%s): it was deleted with "
			      "%s, which RCU readers cannot survive (use %s); walk stopped",
			      what, head, pos ? "entry" : "head", pos ? pos : head,
			      next == POISON1 ? "LIST_POISON1" : "LIST_POISON2",
			      hlist ? "sk_hlist_del()" : "sk_list_del()",
			      hlist ? "sk_hlist_del_rcu()" : "sk_list_del_rcu()");
	else if (!next)
		sk__violation(SK_VIOLATION_LIST_UNINITIALIZED, pos ? pos : head, cs, SK__RET_IP,
			      "%s of %p: %s %p has next = NULL (never initialised or added); "
			      "walk stopped",
			      what, head, pos ? "entry" : "head", pos ? pos : head);
	else
		sk__violation(SK_VIOLATION_LIST_CORRUPTION, pos ? pos : head, cs, SK__RET_IP,
			      "%s of %p: %s %p has next = %p, not a pointer; walk stopped", what,
			      head, pos ? "entry" : "head", pos ? pos : head, next);
}

void sk__rcu_report_hlist_replace(const struct sk_hlist_node *old, const struct sk_hlist_node *n,
				  const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;

	if (!n) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, n, cs, ip,
			      "hlist_replace_rcu: the new node is NULL");
		return;
	}
	if (sk__list_bad(n)) {
		sk__violation(SK_VIOLATION_LIST_CORRUPTION, n, cs, ip,
			      "hlist_replace_rcu: the new node is %p, a poison value: a link of a "
			      "deleted node was followed",
			      (const void *)n);
		return;
	}
	sk__violation(SK_VIOLATION_LIST_DOUBLE_ADD, n, cs, ip,
		      "hlist_replace_rcu: the new node %p is the old node %p or next to it: "
		      "already on the list",
		      (const void *)n, (const void *)old);
}

void sk__rcu_report_free(const void *obj, const char *op, const struct sk_callsite *cs)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, obj, cs, SK__RET_IP,
		      "%s: the %s is NULL; object %p not queued (leaked rather than freed wrongly)",
		      op, op[0] == 'c' ? "free function" : "cache", obj);
}

/*
 * Is @h queued already (sk__call_rcu_free() on it, and its callback not
 * run yet)?  Then report and return true.  The head needs no
 * initialisation, so it may be read uninitialised here: memcheck is told
 * the two words are defined (they are overwritten at once if not queued).
 * A false match needs both our callback's address and a free kind in
 * memory that never held a queued head, or one whose callback has run:
 * the callback clears the kind first.
 */
bool sk__rcu_free_queued(const void *obj, const struct sk_rcu_head *h, const char *op,
			 const struct sk_callsite *cs)
{
	unsigned int how;

#ifdef SK_HAVE_VALGRIND
	VALGRIND_MAKE_MEM_DEFINED(&h->rcu.func, sizeof(h->rcu.func));
	VALGRIND_MAKE_MEM_DEFINED(&h->how, sizeof(h->how));
#endif
	if (sk_likely(h->rcu.func != sk__rcu_free_cb))
		return false;
	how = __atomic_load_n(&h->how, __ATOMIC_RELAXED);
	if (how != SK__RCU_FREE_KFREE && how != SK__RCU_FREE_CACHE && how != SK__RCU_FREE_FN)
		return false;
	sk__violation(SK_VIOLATION_ALLOC_DOUBLE_FREE, obj, cs, SK__RET_IP,
		      "%s: object %p is queued for a deferred free already (struct sk_rcu_head %p, "
		      "its callback not run yet); not queued again",
		      op, obj, (const void *)h);
	return true;
}

void sk__rcu_free_cb(struct rcu_head *rcu)
{
	struct sk_rcu_head *h = sk_container_of(rcu, struct sk_rcu_head, rcu);
	unsigned int how;
	void *obj;

	/*
	 * The queueing thread's stores, then every reader that could see it.
	 * The edges first: drd forgets a happens-before object whose memory
	 * is cleaned, and h->rcu is where the edge on h lives.
	 */
	SK__RCU_EDGE_AFTER(h);
	SK__RCU_EDGE_AFTER(&sk__rcu_gp_edge);
	HANDED_OVER(rcu, sizeof(*rcu));
	obj = (char *)h - h->offset;
	/* Not queued any more: sk__rcu_free_queued() must not match it once
	 * the memory is freed and reused, or when @fn queues it again. */
	how = h->how;
	__atomic_store_n(&h->how, 0, __ATOMIC_RELAXED);
	switch (how) {
	case SK__RCU_FREE_KFREE:
		sk_kfree(obj);
		break;
	case SK__RCU_FREE_CACHE:
		sk__kmem_cache_free(h->by.cache, obj, NULL);
		break;
	case SK__RCU_FREE_FN:
		h->by.fn(obj);
		break;
	default:
		/* Overwritten while queued: the object is leaked, never freed wildly. */
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, h, NULL, NULL,
			      "deferred free: struct sk_rcu_head %p was overwritten while queued "
			      "(how = %#x); object leaked",
			      (const void *)h, how);
		break;
	}
	SK__RCU_EDGE_BEFORE(&sk__rcu_done_edge);
}
