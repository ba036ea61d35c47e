/* SPDX-License-Identifier: MIT */
/*
 * safekern/list.h - hardened intrusive doubly linked lists and hlists, with
 * the Linux kernel's whole list API under the sk_ prefix.
 *
 * Theory of operation
 * ===================
 *
 * struct sk_list_head is the kernel's struct list_head (members next, prev)
 * and struct sk_hlist_head / sk_hlist_node are its hlist (first; next,
 * pprev).  Every kernel name exists here with the sk_ prefix (SK_ for the
 * upper-case ones), the kernel's argument order and the kernel's semantics,
 * so list_add(new, head) becomes sk_list_add(new, head).  A program that
 * carries a copy of the kernel's list.h can switch with one include:
 * <safekern/compat/list.h> maps the unprefixed names onto these.
 *
 * What is checked
 * ---------------
 *
 * hardened (the default level): every operation that relinks nodes (add,
 * add_tail, del, del_init, replace, swap, move, bulk_move_tail, rotate,
 * splice, cut, and the hlist add/del/move/splice forms) checks, inline and
 * before it writes anything:
 *
 *   - every pointer it loads from a node, for NULL and for the poison
 *     values, *before* dereferencing it: a double delete, a delete of a
 *     deleted entry or of a zeroed entry that was never added is a report,
 *     never a SIGSEGV;
 *   - the kernel's LIST_HARDENED neighbour consistency: the neighbours it
 *     relinks point back (prev->next == entry and next->prev == entry on
 *     delete; next->prev == prev and prev->next == next on insert);
 *   - adding an entry next to itself (the kernel's double-add check).
 *
 * Iteration and the read-only queries are not checked at this level: a
 * walk compiles to exactly the kernel's loop.
 *
 * debug (-DSK_DEBUG in the translation unit): in addition
 *
 *   - the argument pointers themselves (NULL, poison) on every operation;
 *   - the queries that read a head (empty, empty_careful, is_singular,
 *     first_entry_or_null, last_entry_or_null, count_nodes) check it was
 *     initialised and not deleted;
 *   - every for_each form checks at each step that pos->next->prev == pos
 *     (pos->prev->next == pos for the reverse forms; for hlist that
 *     pos->next->pprev == &pos->next), before moving on: a broken ring is
 *     reported and the walk stops as if it had reached the end, rather
 *     than running into garbage;
 *   - cut_position/cut_before check that @entry is on @head's list,
 *     bulk_move_tail that @last follows @first without crossing @head, and
 *     hlist_splice_init that @last is on @from: these walks are O(n).
 *
 * sk_list_check() and sk_hlist_check() walk a whole list (O(n)) and report
 * where it breaks, at either level: call them where you suspect damage.
 *
 * Failure behaviour
 * -----------------
 *
 * A failed check makes exactly one report through the violation channel
 * (safekern/violation.h) naming the caller's file and line, with one of the
 * kinds SK_VIOLATION_LIST_CORRUPTION (a neighbour does not point back, a
 * deleted entry is still linked), SK_VIOLATION_LIST_DOUBLE_ADD (adding an
 * entry next to itself, splicing a list into itself),
 * SK_VIOLATION_LIST_DOUBLE_DEL (deleting an entry that was deleted),
 * SK_VIOLATION_LIST_UNINITIALIZED (an entry or head whose pointers are NULL:
 * never initialised or added) or SK_VIOLATION_INVALID_ARGUMENT (an argument
 * no correct call passes, such as an entry that is not on the given list).
 * Under the default abort policy the process then stops.  Under the warn
 * and count policies the operation is skipped and every node is left
 * exactly as it was: nothing is half-applied, so a composed operation
 * (move, swap, rotate) either happens completely or not at all.  The
 * kernel's signatures are kept (sk_list_add() returns void, as list_add()
 * does), so the report and the unchanged list are the whole contract; the
 * per-kind counters and the handler show what was refused.
 *
 * Poison
 * ------
 *
 * sk_list_del() and sk_hlist_del() leave SK_LIST_POISON1/SK_LIST_POISON2 in
 * the entry.  On 64-bit targets these are the kernel's x86-64 values
 * 0xdead000000000100 and 0xdead000000000122: non-canonical addresses that
 * fault on every access (also with arm64's top-byte-ignore, since bits
 * 48-55 are not zero), unlike the low 0x100/0x122 of userspace copies.
 * The checks recognise them, and NULL, with one mask test per pointer.
 *
 * Memory ordering and concurrency
 * -------------------------------
 *
 * A list is not a concurrent structure: the caller serialises every
 * operation on one list (a lock, one owning thread).  As in the kernel,
 * the stores that lockless readers may observe are single-copy atomic
 * (relaxed), so the following lockless uses are defined:
 *
 *   | call, lockless                 | concurrent with               | gives |
 *   |--------------------------------|-------------------------------|-------|
 *   | sk_list_empty(head)            | any locked change of the list | a tear-free but instantly stale answer |
 *   | sk_list_empty_careful(entry)   | sk_list_del_init_careful(entry) (locked) | true means removed; acquire pairs with its release |
 *   | sk_hlist_unhashed_lockless(n)  | any locked add/del of @n      | tear-free, stale |
 *   | sk_hlist_empty(h)              | any locked change of @h       | tear-free, stale |
 *   | everything else                | nothing on the same list      | (caller must serialise) |
 *
 * Only sk_list_empty_careful() / sk_list_del_init_careful() order other
 * memory (acquire/release): writes made before the delete are visible to
 * the thread that sees the entry empty.  Everything else orders nothing.
 * For lists traversed under RCU, see the concurrent lists (safekern/rculist.h).
 */
#ifndef SAFEKERN_LIST_H
#define SAFEKERN_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Types, poison, internal helpers
 * ------------------------------------------------------------------------ */

/**
 * struct sk_list_head - a node of a circular doubly linked list, or its head
 * @next: the next node (the head's next is the first entry)
 * @prev: the previous node (the head's prev is the last entry)
 *
 * Embed it in your structure; an empty list is a head pointing to itself.
 */
struct sk_list_head {
	struct sk_list_head *next, *prev;
};

/**
 * struct sk_hlist_head - the head of a singly linked, NULL-terminated list
 * @first: the first node, or NULL when the list is empty
 *
 * One pointer, for hash tables of many buckets.
 */
struct sk_hlist_head {
	struct sk_hlist_node *first;
};

/**
 * struct sk_hlist_node - a node of an hlist
 * @next: the next node, or NULL at the end
 * @pprev: the address of the pointer that points to this node (the head's
 *	@first or the previous node's @next); NULL while unhashed
 */
struct sk_hlist_node {
	struct sk_hlist_node *next, **pprev;
};

#if UINTPTR_MAX > 0xffffffffu
#define SK__LIST_POISON_BASE 0xdead000000000000ull
#else
/* No non-canonical addresses on 32-bit: the first page is never mapped. */
#define SK__LIST_POISON_BASE 0ull
#endif

/**
 * SK_LIST_POISON1 - what a deleted entry's next (and hlist node's next) holds
 *
 * 0xdead000000000100 on 64-bit targets: non-canonical, faults on access.
 */
#define SK_LIST_POISON1 ((void *)(uintptr_t)(SK__LIST_POISON_BASE + 0x100))

/**
 * SK_LIST_POISON2 - what a deleted entry's prev (and hlist node's pprev) holds
 *
 * 0xdead000000000122 on 64-bit targets: non-canonical, faults on access.
 */
#define SK_LIST_POISON2 ((void *)(uintptr_t)(SK__LIST_POISON_BASE + 0x122))

/*
 * The bits of both poisons.  A pointer none of whose bits lie outside the
 * mask is NULL, a poison, or another address below 0x123 with poison-like
 * high bits: never a valid node.  One AND + branch per pointer.
 */
#define SK__LIST_BAD_MASK ((uintptr_t)(SK__LIST_POISON_BASE + 0x122))

#ifdef SK_DEBUG
#define SK__LIST_DEBUG 1
#else
#define SK__LIST_DEBUG 0
#endif

/* sk__list_bad() - internal: @p is NULL or a poison value (never dereference it). */
static inline bool sk__list_bad(const void *p)
{
	return ((uintptr_t)p & ~SK__LIST_BAD_MASK) == 0;
}

/*
 * The cold out-of-line reporters (lib/list.c).  Each is called from the
 * unlikely branch of a failed inline check, re-examines the nodes without
 * dereferencing a NULL or poisoned pointer, and makes exactly one report
 * with the kind and a precise description.  Internal: do not call.
 */
SK_API SK_COLD SK_NOINLINE void sk__list_report_add(struct sk_list_head *entry,
						   const struct sk_list_head *head, bool tail,
						   const char *op, const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_del(const struct sk_list_head *entry,
						   const char *op, const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_replace(const struct sk_list_head *old,
						       struct sk_list_head *entry,
						       const char *op,
						       const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_head(const struct sk_list_head *head,
						    const char *op, const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_step(const struct sk_list_head *head,
						    const struct sk_list_head *pos, bool reverse,
						    const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_splice(const struct sk_list_head *list,
						      const struct sk_list_head *head, bool tail,
						      const char *op,
						      const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_cut(const struct sk_list_head *list,
						   const struct sk_list_head *head,
						   const struct sk_list_head *entry, bool before,
						   const char *op, const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__list_report_bulk(const struct sk_list_head *head,
						    const struct sk_list_head *first,
						    const struct sk_list_head *last,
						    const struct sk_callsite *cs);
SK_API bool sk__list_debug_cut(const struct sk_list_head *head,
			       const struct sk_list_head *entry,
			       const struct sk_list_head *list, const char *op,
			       const struct sk_callsite *cs);
SK_API bool sk__list_debug_splice(const struct sk_list_head *list,
				  const struct sk_list_head *head, const char *op,
				  const struct sk_callsite *cs);
SK_API bool sk__list_debug_range(const struct sk_list_head *head,
				 const struct sk_list_head *first,
				 const struct sk_list_head *last, const struct sk_callsite *cs);
SK_API bool sk__list_check(const struct sk_list_head *head, const struct sk_callsite *cs);

SK_API SK_COLD SK_NOINLINE void sk__hlist_report_add(struct sk_hlist_node *n,
						    const void *where, int how,
						    const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__hlist_report_del(const struct sk_hlist_node *n,
						    const char *op, const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__hlist_report_step(const struct sk_hlist_head *head,
						     const struct sk_hlist_node *pos,
						     const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__hlist_report_move(const struct sk_hlist_head *from,
						     const struct sk_hlist_node *last,
						     const struct sk_hlist_head *to, const char *op,
						     const struct sk_callsite *cs);
SK_API bool sk__hlist_debug_contains(const struct sk_hlist_head *head,
				     const struct sk_hlist_node *n, const char *op,
				     const struct sk_callsite *cs);
SK_API bool sk__hlist_check(const struct sk_hlist_head *head, const struct sk_callsite *cs);

/* How sk__hlist_report_add() was reached. */
#define SK__HLIST_ADD_HEAD 0
#define SK__HLIST_ADD_BEFORE 1
#define SK__HLIST_ADD_BEHIND 2
#define SK__HLIST_ADD_TAIL 3 /* sk_hlist_add_tail_rcu(): a bad argument, or @n already on the chain */

/*
 * sk__list_link() - internal: insert @entry between @prev and @next.
 *
 * Store order: @entry's own two pointers are written with a store to a
 * neighbour between them.  gcc 12's SLP vectorizer merges two adjacent
 * stores to entry->next and entry->prev (the kernel's order) into one
 * 16-byte store, which the following delete reads back as two 8-byte
 * loads: a store-forwarding stall that made add+del swing 2x.  A possibly
 * aliasing store in between keeps them apart.  The neighbour stores are
 * single-copy atomic (relaxed), for the lockless readers listed above.
 */
static inline void sk__list_link(struct sk_list_head *entry, struct sk_list_head *prev,
				 struct sk_list_head *next)
{
	entry->next = next;
	SK_WRITE_ONCE(next->prev, entry);
	entry->prev = prev;
	SK_WRITE_ONCE(prev->next, entry);
}

/* sk__list_unlink() - internal: make @prev and @next neighbours. */
static inline void sk__list_unlink(struct sk_list_head *prev, struct sk_list_head *next)
{
	SK_WRITE_ONCE(next->prev, prev);
	SK_WRITE_ONCE(prev->next, next);
}

/*
 * sk__list_linked() - internal: may @entry be unlinked?  Its pointers are
 * checked for NULL and poison before either is followed, then both
 * neighbours must point back.  No report: sk__list_del_ok() makes it, and
 * the klist's release (lib/klist.c) makes its own.
 */
static inline bool sk__list_linked(const struct sk_list_head *entry)
{
	const struct sk_list_head *next, *prev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(entry)))
		return false;
	next = entry->next;
	prev = entry->prev;
	if (sk_unlikely(sk__list_bad(next) || sk__list_bad(prev)))
		return false;
	return sk_likely(next->prev == entry && prev->next == entry);
}

/* sk__list_del_ok() - internal: sk__list_linked(), reported if not. */
static inline bool sk__list_del_ok(const struct sk_list_head *entry, const char *op,
				   const struct sk_callsite *cs)
{
	if (sk_likely(sk__list_linked(entry)))
		return true;
	sk__list_report_del(entry, op, cs);
	return false;
}

/* What a deleted entry holds: copied as one struct (below). */
static const struct sk_list_head sk__list_poisoned = {
	(struct sk_list_head *)SK_LIST_POISON1,
	(struct sk_list_head *)SK_LIST_POISON2,
};

/*
 * sk__list_unlink_poison() - internal: unlink @entry (checked already) and
 * poison its links, as list_del() leaves it, in one 16-byte store.  Two
 * member stores gave that to gcc 12 only; clang 14 made them two stores of
 * 64-bit immediates, and its delete loop ran 1.3x slower.  gcc copies the
 * struct from a constant and loads it once outside a caller's loop; clang
 * 14 reloads that object in the loop (a memory clobber between two deletes
 * is enough), but hoists a vector literal's load: with it, clang's queue
 * of add_tail+del went from 2.03 to 1.82 ns (docs/list.md).
 */
static inline void sk__list_unlink_poison(struct sk_list_head *entry)
{
	sk__list_unlink(entry->prev, entry->next);
#if defined(__clang__) && UINTPTR_MAX > 0xffffffffu
	{
		typedef uintptr_t sk__v2 __attribute__((vector_size(16)));
		const sk__v2 p = { (uintptr_t)SK_LIST_POISON1, (uintptr_t)SK_LIST_POISON2 };

		__builtin_memcpy(entry, &p, sizeof(p));
	}
#else
	*entry = sk__list_poisoned;
#endif
}

/*
 * sk__list_insert_check() - internal: the checks of an insertion of @entry
 * after @head (@tail false) or before it (@tail true), without a report.
 * On success, the neighbours to link between in *@prevp and *@nextp.
 * False, without writing anything, if the insertion point is NULL,
 * poisoned or inconsistent, or if @entry is already one of its neighbours.
 */
static SK_ALWAYS_INLINE bool sk__list_insert_check(struct sk_list_head *entry,
						   struct sk_list_head *head, bool tail,
						   struct sk_list_head **prevp,
						   struct sk_list_head **nextp)
{
	struct sk_list_head *prev, *next;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(entry) || sk__list_bad(head)))
		return false;
	/*
	 * The order of the checks is measured: every check is a fused
	 * compare-and-branch, and in a tight add/del loop the branch units,
	 * not the instruction count, set the pace; this order schedules best
	 * (gcc 12, x86-64; see docs/list.md).
	 */
	if (sk_unlikely(entry == head))
		return false;
	if (tail) {
		prev = head->prev;
		next = head;
		if (sk_unlikely(sk__list_bad(prev)))
			return false;
		if (sk_unlikely(prev->next != head))
			return false;
		if (sk_unlikely(entry == prev))
			return false;
	} else {
		prev = head;
		next = head->next;
		if (sk_unlikely(sk__list_bad(next)))
			return false;
		if (sk_unlikely(next->prev != head))
			return false;
		if (sk_unlikely(entry == next))
			return false;
	}
	*prevp = prev;
	*nextp = next;
	return true;
}

/*
 * sk__list_insert_ok() - internal: sk__list_insert_check(), with one report
 * if it fails.  Shared by sk__list_insert() and the RCU adds
 * (safekern/rculist.h).
 */
static SK_ALWAYS_INLINE bool sk__list_insert_ok(struct sk_list_head *entry,
						struct sk_list_head *head, bool tail,
						struct sk_list_head **prevp,
						struct sk_list_head **nextp, const char *op,
						const struct sk_callsite *cs)
{
	if (sk_likely(sk__list_insert_check(entry, head, tail, prevp, nextp)))
		return true;
	sk__list_report_add(entry, head, tail, op, cs);
	return false;
}

/* sk__list_insert() - internal: checked insertion (sk__list_insert_ok()). */
static inline bool sk__list_insert(struct sk_list_head *entry, struct sk_list_head *head,
				   bool tail, const char *op, const struct sk_callsite *cs)
{
	struct sk_list_head *prev, *next;

	if (sk_unlikely(!sk__list_insert_ok(entry, head, tail, &prev, &next, op, cs)))
		return false;
	sk__list_link(entry, prev, next);
	return true;
}

/* ------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------ */

/**
 * SK_LIST_HEAD_INIT() - initialiser for an empty list head
 * @name: the variable being initialised
 *
 * ``struct sk_list_head h = SK_LIST_HEAD_INIT(h);``
 */
#define SK_LIST_HEAD_INIT(name) { &(name), &(name) }

/**
 * SK_LIST_HEAD() - define and initialise an empty list head
 * @name: the name of the variable
 */
#define SK_LIST_HEAD(name) struct sk_list_head name = SK_LIST_HEAD_INIT(name)

/**
 * sk_init_list_head() - initialise a list head (or entry) as an empty list
 * @list: the head
 *
 * Context: the stores are single-copy atomic, as in the kernel.
 */
static inline void sk_init_list_head(struct sk_list_head *list)
{
	SK_WRITE_ONCE(list->next, list);
	SK_WRITE_ONCE(list->prev, list);
}

/* ------------------------------------------------------------------------
 * Adding and deleting
 * ------------------------------------------------------------------------ */

/**
 * sk_list_add() - add an entry after the head (a stack)
 * @new: the entry to add
 * @head: the list head (or any entry) to add it after
 *
 * Checked (hardened): @head->next is not NULL or poison and points back to
 * @head; @new is not @head or its neighbour (double add).  On a failed
 * check: one report, nothing written.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_add(new, head) ((void)sk__list_insert((new), (head), false, "list_add", SK_CALLSITE))

/**
 * sk_list_add_tail() - add an entry before the head (a queue)
 * @new: the entry to add
 * @head: the list head (or any entry) to add it before
 *
 * Checked as sk_list_add(), on @head->prev.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_add_tail(new, head)                                           \
	((void)sk__list_insert((new), (head), true, "list_add_tail", SK_CALLSITE))

/* sk__list_del() - internal form of sk_list_del(); false if refused. */
static inline bool sk__list_del(struct sk_list_head *entry, const struct sk_callsite *cs)
{
	if (sk_unlikely(!sk__list_del_ok(entry, "list_del", cs)))
		return false;
	sk__list_unlink_poison(entry);
	return true;
}

/**
 * sk_list_del() - delete an entry from its list
 * @entry: the entry
 *
 * The entry is left poisoned (SK_LIST_POISON1/2): sk_list_empty() on it is
 * undefined, and deleting it again is reported as a double delete.
 *
 * Checked (hardened): @entry's next and prev are not NULL (never added:
 * SK_VIOLATION_LIST_UNINITIALIZED) or poison (deleted already:
 * SK_VIOLATION_LIST_DOUBLE_DEL), checked before they are followed, and both
 * neighbours point back (SK_VIOLATION_LIST_CORRUPTION).  On a failed check:
 * one report, nothing written (not even the poison).
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_del(entry) ((void)sk__list_del((entry), SK_CALLSITE))

/* sk__list_del_init() - internal form of sk_list_del_init(). */
static inline bool sk__list_del_init(struct sk_list_head *entry, const struct sk_callsite *cs)
{
	if (sk_unlikely(!sk__list_del_ok(entry, "list_del_init", cs)))
		return false;
	sk__list_unlink(entry->prev, entry->next);
	sk_init_list_head(entry);
	return true;
}

/**
 * sk_list_del_init() - delete an entry and reinitialise it as an empty list
 * @entry: the entry
 *
 * Afterwards sk_list_empty(@entry) is true and deleting it again is a
 * harmless no-op, as in the kernel.  Checked as sk_list_del().
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_del_init(entry) ((void)sk__list_del_init((entry), SK_CALLSITE))

/* sk__list_del_init_careful() - internal form of sk_list_del_init_careful(). */
static inline bool sk__list_del_init_careful(struct sk_list_head *entry,
					     const struct sk_callsite *cs)
{
	if (sk_unlikely(!sk__list_del_ok(entry, "list_del_init_careful", cs)))
		return false;
	sk__list_unlink(entry->prev, entry->next);
	SK_WRITE_ONCE(entry->prev, entry);
	SK_ANNOTATE_HAPPENS_BEFORE(&entry->next);
	__atomic_store_n(&entry->next, entry, __ATOMIC_RELEASE);
	return true;
}

/**
 * sk_list_del_init_careful() - delete and reinitialise, for a lockless reader
 * @entry: the entry
 *
 * As sk_list_del_init(), but the final store is a release: a thread that
 * sees sk_list_empty_careful(@entry) true (an acquire) also sees every
 * write made before this call.  The only operation that may run
 * concurrently with a lockless sk_list_empty_careful() on @entry.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_del_init_careful(entry) ((void)sk__list_del_init_careful((entry), SK_CALLSITE))

/* ------------------------------------------------------------------------
 * Replacing, swapping, moving
 * ------------------------------------------------------------------------ */

/*
 * sk__list_replace() - internal: checked list_replace().  The writes follow
 * the kernel's sequence exactly (re-reading old->prev after next->prev is
 * written), so that replacing an empty head leaves @entry an empty list.
 */
static inline bool sk__list_replace(struct sk_list_head *old, struct sk_list_head *entry,
				    const char *op, const struct sk_callsite *cs)
{
	const struct sk_list_head *next, *prev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(old) || sk__list_bad(entry)))
		goto bad;
	next = old->next;
	prev = old->prev;
	if (sk_unlikely(sk__list_bad(next) || sk__list_bad(prev)))
		goto bad;
	if (sk_unlikely(next->prev != old || prev->next != old))
		goto bad;
	if (sk_unlikely(entry == old || entry == next || entry == prev))
		goto bad;
	entry->next = old->next;
	SK_WRITE_ONCE(entry->next->prev, entry);
	entry->prev = old->prev;
	SK_WRITE_ONCE(entry->prev->next, entry);
	return true;
bad:
	sk__list_report_replace(old, entry, op, cs);
	return false;
}

/**
 * sk_list_replace() - put a new entry in the place of an old one
 * @old: the entry to replace (on a list)
 * @new: the entry to put in its place (not on a list)
 *
 * @old's own pointers are left as they were (use sk_list_replace_init() to
 * reinitialise it).  If @old is an empty head, @new becomes an empty list.
 *
 * Checked (hardened): @old's pointers are not NULL or poison and both its
 * neighbours point back; @new is not @old or one of its neighbours.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_replace(old, new) ((void)sk__list_replace((old), (new), "list_replace", SK_CALLSITE))

/* sk__list_replace_init() - internal form of sk_list_replace_init(). */
static inline bool sk__list_replace_init(struct sk_list_head *old, struct sk_list_head *entry,
					 const struct sk_callsite *cs)
{
	if (sk_unlikely(!sk__list_replace(old, entry, "list_replace_init", cs)))
		return false;
	sk_init_list_head(old);
	return true;
}

/**
 * sk_list_replace_init() - replace an entry and reinitialise the old one
 * @old: the entry to replace
 * @new: the entry to put in its place
 *
 * Checked as sk_list_replace().
 *
 * Context: the caller serialises operations on the list(s).
 */
#define sk_list_replace_init(old, new) ((void)sk__list_replace_init((old), (new), SK_CALLSITE))

/*
 * sk__list_swap() - internal: both entries are validated first, so the
 * three steps (delete, replace, add) can no longer fail half-way.
 */
static inline bool sk__list_swap(struct sk_list_head *entry1, struct sk_list_head *entry2,
				 const struct sk_callsite *cs)
{
	struct sk_list_head *pos;

	if (sk_unlikely(!sk__list_del_ok(entry1, "list_swap", cs)))
		return false;
	if (sk_unlikely(!sk__list_del_ok(entry2, "list_swap", cs)))
		return false;
	if (entry1 == entry2)
		return true;
	pos = entry2->prev;
	sk__list_unlink(entry2->prev, entry2->next);
	/* list_replace(entry1, entry2), in the kernel's order. */
	entry2->next = entry1->next;
	SK_WRITE_ONCE(entry2->next->prev, entry2);
	entry2->prev = entry1->prev;
	SK_WRITE_ONCE(entry2->prev->next, entry2);
	if (pos == entry1)
		pos = entry2;
	sk__list_link(entry1, pos, pos->next);
	return true;
}

/**
 * sk_list_swap() - exchange the positions of two entries
 * @entry1: an entry on a list
 * @entry2: another entry, on the same or another list
 *
 * Swapping an entry with itself does nothing (the kernel's version
 * corrupts the list).  Both entries are checked as by sk_list_del() before
 * anything is written.
 *
 * Context: the caller serialises operations on the list(s).
 */
#define sk_list_swap(entry1, entry2) ((void)sk__list_swap((entry1), (entry2), SK_CALLSITE))

/*
 * sk__list_move() - internal: unlink @list, then insert it at @head; if the
 * insertion is refused, @list is linked back where it was (the unlink left
 * its own pointers untouched), so a move is never half-applied.
 */
static inline bool sk__list_move(struct sk_list_head *list, struct sk_list_head *head, bool tail,
				 const char *op, const struct sk_callsite *cs)
{
	struct sk_list_head *prev, *next;

	if (sk_unlikely(!sk__list_del_ok(list, op, cs)))
		return false;
	sk__list_unlink(list->prev, list->next);
	if (sk_unlikely(!sk__list_insert_check(list, head, tail, &prev, &next))) {
		/* Linked back before the report: a handler (or the core dump
		 * of an abort) sees the list as it was. */
		SK_WRITE_ONCE(list->next->prev, list);
		SK_WRITE_ONCE(list->prev->next, list);
		sk__list_report_add(list, head, tail, op, cs);
		return false;
	}
	sk__list_link(list, prev, next);
	return true;
}

/**
 * sk_list_move() - delete an entry from one list and add it after a head
 * @list: the entry to move
 * @head: the head (or entry) to add it after
 *
 * Checked as sk_list_del() then sk_list_add(); if the destination is
 * refused, the entry stays where it was.
 *
 * Context: the caller serialises operations on the list(s).
 */
#define sk_list_move(list, head) ((void)sk__list_move((list), (head), false, "list_move", SK_CALLSITE))

/**
 * sk_list_move_tail() - delete an entry from one list and add it before a head
 * @list: the entry to move
 * @head: the head (or entry) to add it before
 *
 * Checked as sk_list_move().
 *
 * Context: the caller serialises operations on the list(s).
 */
#define sk_list_move_tail(list, head)                                         \
	((void)sk__list_move((list), (head), true, "list_move_tail", SK_CALLSITE))

/* sk__list_bulk_move_tail() - internal form of sk_list_bulk_move_tail(). */
static inline bool sk__list_bulk_move_tail(struct sk_list_head *head, struct sk_list_head *first,
					   struct sk_list_head *last,
					   const struct sk_callsite *cs)
{
	const struct sk_list_head *fp, *ln, *hp;

	if (SK__LIST_DEBUG &&
	    sk_unlikely(sk__list_bad(head) || sk__list_bad(first) || sk__list_bad(last)))
		goto bad;
	fp = first->prev;
	ln = last->next;
	hp = head->prev;
	if (sk_unlikely(sk__list_bad(fp) || sk__list_bad(ln) || sk__list_bad(hp)))
		goto bad;
	if (sk_unlikely(fp->next != first || ln->prev != last || hp->next != head))
		goto bad;
	if (sk_unlikely(head == first || head == last))
		goto bad;
	if (SK__LIST_DEBUG && !sk__list_debug_range(head, first, last, cs))
		return false;
	first->prev->next = last->next;
	last->next->prev = first->prev;
	head->prev->next = first;
	first->prev = head->prev;
	last->next = head;
	head->prev = last;
	return true;
bad:
	sk__list_report_bulk(head, first, last, cs);
	return false;
}

/**
 * sk_list_bulk_move_tail() - move a run of entries to the tail of a list
 * @head: the head to move them before
 * @first: the first entry of the run
 * @last: the last entry of the run (@first, or an entry after it on the
 *	same list)
 *
 * Checked (hardened): the three links that are rewritten point back, none
 * of them NULL or poison, and @head is not an end of the run.  Debug also
 * walks from @first to @last (O(run)) to check the run is one piece that
 * does not contain @head.
 *
 * Context: the caller serialises operations on the list(s).
 */
#define sk_list_bulk_move_tail(head, first, last)                             \
	((void)sk__list_bulk_move_tail((head), (first), (last), SK_CALLSITE))

/* ------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------ */

/**
 * sk_list_is_first() - is an entry the first of its list?
 * @list: the entry
 * @head: the head of the list
 *
 * Return: nonzero if @list is the first entry after @head.
 */
static inline int sk_list_is_first(const struct sk_list_head *list,
				   const struct sk_list_head *head)
{
	return list->prev == head;
}

/**
 * sk_list_is_last() - is an entry the last of its list?
 * @list: the entry
 * @head: the head of the list
 *
 * Return: nonzero if @list is the last entry before @head.
 */
static inline int sk_list_is_last(const struct sk_list_head *list,
				  const struct sk_list_head *head)
{
	return list->next == head;
}

/**
 * sk_list_is_head() - is a node the head of the list?
 * @list: the node
 * @head: the head
 *
 * Return: nonzero if @list is @head.
 */
static inline int sk_list_is_head(const struct sk_list_head *list,
				  const struct sk_list_head *head)
{
	return list == head;
}

/*
 * sk__list_empty_op() - internal form of sk_list_empty(); @op names the
 * public operation in a debug report.
 */
static inline int sk__list_empty_op(const struct sk_list_head *head, const char *op,
				    const struct sk_callsite *cs)
{
#ifdef SK_DEBUG
	const struct sk_list_head *next;

	if (sk_unlikely(sk__list_bad(head)))
		goto bad;
	next = SK_READ_ONCE(head->next);
	if (sk_unlikely(sk__list_bad(next)))
		goto bad;
	return next == head;
bad:
	sk__list_report_head(head, op, cs);
	return 1;
#else
	(void)op;
	(void)cs;
	return SK_READ_ONCE(head->next) == head;
#endif
}

/* sk__list_empty() - internal form of sk_list_empty(). */
static inline int sk__list_empty(const struct sk_list_head *head, const struct sk_callsite *cs)
{
	return sk__list_empty_op(head, "list_empty", cs);
}

/**
 * sk_list_empty() - is a list empty?
 * @head: the head
 *
 * Debug: a head that was never initialised (NULL) or was deleted
 * (poisoned) is reported, and then treated as empty.
 *
 * Context: may be called without the list's lock as a tear-free hint.
 * Return: nonzero if the list has no entries.
 */
#define sk_list_empty(head) sk__list_empty((head), SK_CALLSITE)

/* sk__list_empty_careful() - internal form of sk_list_empty_careful(). */
static inline int sk__list_empty_careful(const struct sk_list_head *head,
					 const struct sk_callsite *cs)
{
	const struct sk_list_head *next;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(head)))
		goto bad;
	next = __atomic_load_n(&head->next, __ATOMIC_ACQUIRE);
	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(next)))
		goto bad;
	if (next == head && next == SK_READ_ONCE(head->prev)) {
		SK_ANNOTATE_HAPPENS_AFTER(&head->next);
		return 1;
	}
	return 0;
bad:
	sk__list_report_head(head, "list_empty_careful", cs);
	return 1;
}

/**
 * sk_list_empty_careful() - is a list empty, checked against a racing delete?
 * @head: the head (typically an entry, to learn whether it was removed)
 *
 * Both pointers must point back to @head.  The load of next is an acquire
 * that pairs with sk_list_del_init_careful(): once this returns true,
 * everything written before that delete is visible.
 *
 * Context: lockless, against sk_list_del_init_careful() only.
 * Return: nonzero if the list is empty.
 */
#define sk_list_empty_careful(head) sk__list_empty_careful((head), SK_CALLSITE)

/* sk__list_is_singular() - internal form of sk_list_is_singular(). */
static inline int sk__list_is_singular(const struct sk_list_head *head,
				       const struct sk_callsite *cs)
{
	return !sk__list_empty_op(head, "list_is_singular", cs) && head->next == head->prev;
}

/**
 * sk_list_is_singular() - does a list have exactly one entry?
 * @head: the head
 *
 * Return: nonzero if the list has one entry.
 */
#define sk_list_is_singular(head) sk__list_is_singular((head), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Rotating, cutting, splicing
 * ------------------------------------------------------------------------ */

/* sk__list_rotate_left() - internal form of sk_list_rotate_left(). */
static inline bool sk__list_rotate_left(struct sk_list_head *head, const struct sk_callsite *cs)
{
	struct sk_list_head *first;

	if (sk__list_empty_op(head, "list_rotate_left", cs))
		return true;
	/* The head's link is followed: NULL or poison (a zeroed or deleted
	 * head) is reported, not dereferenced. */
	first = SK_READ_ONCE(head->next);
	if (sk_unlikely(sk__list_bad(first))) {
		sk__list_report_head(head, "list_rotate_left", cs);
		return false;
	}
	return sk__list_move(first, head, true, "list_rotate_left", cs);
}

/**
 * sk_list_rotate_left() - move the first entry to the tail
 * @head: the head
 *
 * Checked as sk_list_move_tail().
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_rotate_left(head) ((void)sk__list_rotate_left((head), SK_CALLSITE))

/**
 * sk_list_rotate_to_front() - rotate a list so that an entry comes first
 * @list: the entry that becomes the first
 * @head: the head of its list
 *
 * The head is moved to just before @list.  Checked as sk_list_move_tail().
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_list_rotate_to_front(list, head)                                   \
	((void)sk__list_move((head), (list), true, "list_rotate_to_front", SK_CALLSITE))

/*
 * sk__list_cut() - internal: checked list_cut_position() (@before false) or
 * list_cut_before() (@before true).
 */
static inline bool sk__list_cut(struct sk_list_head *list, struct sk_list_head *head,
				struct sk_list_head *entry, bool before, const char *op,
				const struct sk_callsite *cs)
{
	struct sk_list_head *first, *edge;

	if (SK__LIST_DEBUG &&
	    sk_unlikely(sk__list_bad(list) || sk__list_bad(head) || sk__list_bad(entry)))
		goto bad;
	first = head->next;
	if (sk_unlikely(sk__list_bad(first) || first->prev != head))
		goto bad;
	if (!before) {
		if (first == head)
			return true; /* empty: nothing to cut */
		if (head->next == head->prev && entry != head && entry != first)
			return true; /* singular, @entry not on it: the kernel does nothing */
		if (entry == head)
			goto init;
		edge = entry->next; /* the new first entry of @head */
		if (sk_unlikely(sk__list_bad(edge) || edge->prev != entry))
			goto bad;
	} else {
		if (first == entry)
			goto init;
		/* An empty @head has no entry but itself: @entry is not on it. */
		if (sk_unlikely(first == head))
			goto bad;
		edge = entry->prev; /* the last entry that moves */
		if (sk_unlikely(sk__list_bad(edge) || edge->next != entry))
			goto bad;
	}
	/* @list is none of the nodes rewritten below (the cut into itself). */
	if (sk_unlikely(list == head || list == entry || list == first || list == edge))
		goto bad;
	if (SK__LIST_DEBUG && !sk__list_debug_cut(head, entry, list, op, cs))
		return false;
	list->next = first;
	SK_WRITE_ONCE(first->prev, list);
	if (!before) {
		list->prev = entry;
		SK_WRITE_ONCE(entry->next, list);
		SK_WRITE_ONCE(head->next, edge);
		SK_WRITE_ONCE(edge->prev, head);
	} else {
		list->prev = edge;
		SK_WRITE_ONCE(edge->next, list);
		SK_WRITE_ONCE(head->next, entry);
		SK_WRITE_ONCE(entry->prev, head);
	}
	return true;
init:
	/* Nothing moves: @list is initialised, so it must not be on a non-empty @head. */
	if (sk_unlikely(first != head && (list == head || list == first)))
		goto bad;
	if (SK__LIST_DEBUG && first != head && !sk__list_debug_cut(head, entry, list, op, cs))
		return false;
	sk_init_list_head(list);
	return true;
bad:
	sk__list_report_cut(list, head, entry, before, op, cs);
	return false;
}

/**
 * sk_list_cut_position() - move the front of a list, up to an entry, to another
 * @list: an empty head, or one whose entries you do not mind losing: it
 *	receives the entries
 * @head: the list to cut
 * @entry: the last entry to move (an entry of @head), or @head to move none
 *
 * Checked (hardened): the links at @head and after @entry point back,
 * none of them NULL or poison, and @list is not @head, @entry or the
 * entries next to the cut (also when nothing moves and @list is only
 * initialised).  Debug also checks (O(n)) that @entry is on @head's list
 * and @list is not (a cut into itself at an entry away from the cut).
 *
 * Context: the caller serialises operations on the lists.
 */
#define sk_list_cut_position(list, head, entry)                               \
	((void)sk__list_cut((list), (head), (entry), false, "list_cut_position", SK_CALLSITE))

/**
 * sk_list_cut_before() - move the entries before an entry to another list
 * @list: an empty head, or one whose entries you do not mind losing
 * @head: the list to cut
 * @entry: the first entry to keep (an entry of @head); if it is the first
 *	entry, @list is just initialised; @head itself moves them all
 *
 * Checked as sk_list_cut_position(), at the link before @entry.
 *
 * Context: the caller serialises operations on the lists.
 */
#define sk_list_cut_before(list, head, entry)                                 \
	((void)sk__list_cut((list), (head), (entry), true, "list_cut_before", SK_CALLSITE))

/* What sk__list_splice_ok() found. */
#define SK__SPLICE_REFUSED 0 /* reported; nothing written */
#define SK__SPLICE_EMPTY 1   /* nothing to move (or reported by the debug check) */
#define SK__SPLICE_GO 2      /* move first..last between prev and next */

/*
 * sk__list_splice_ok() - internal: the checks of a splice of @list's entries
 * after @head (@tail false) or before it (@tail true).  On SK__SPLICE_GO,
 * the run to move in *@firstp..*@lastp and the neighbours in *@prevp and
 * *@nextp.  Shared by sk__list_splice() and the RCU splices
 * (safekern/rculist.h).
 */
static SK_ALWAYS_INLINE int sk__list_splice_ok(struct sk_list_head *list,
					       struct sk_list_head *head, bool tail,
					       struct sk_list_head **firstp,
					       struct sk_list_head **lastp,
					       struct sk_list_head **prevp,
					       struct sk_list_head **nextp, const char *op,
					       const struct sk_callsite *cs)
{
	struct sk_list_head *first, *last, *prev, *next;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(head)))
		goto bad;
	if (SK__LIST_DEBUG && sk__list_empty_op(list, op, cs))
		return SK__SPLICE_EMPTY; /* empty, or reported (uninitialised, deleted) */
	first = list->next;
	if (first == list)
		return SK__SPLICE_EMPTY;
	last = list->prev;
	if (sk_unlikely(sk__list_bad(last)))
		goto bad;
	if (tail) {
		prev = head->prev;
		next = head;
		if (sk_unlikely(sk__list_bad(prev)))
			goto bad;
	} else {
		prev = head;
		next = head->next;
		if (sk_unlikely(sk__list_bad(next)))
			goto bad;
	}
	if (sk_unlikely(sk__list_bad(first)))
		goto bad;
	if (sk_unlikely(first->prev != list || last->next != list || next->prev != prev ||
			prev->next != next))
		goto bad;
	if (sk_unlikely(list == prev || list == next))
		goto bad;
	/* Debug: @head not one of @list's own entries (O(n) in @list). */
	if (SK__LIST_DEBUG && !sk__list_debug_splice(list, head, op, cs))
		return SK__SPLICE_REFUSED;
	*firstp = first;
	*lastp = last;
	*prevp = prev;
	*nextp = next;
	return SK__SPLICE_GO;
bad:
	sk__list_report_splice(list, head, tail, op, cs);
	return SK__SPLICE_REFUSED;
}

/*
 * sk__list_splice() - internal: checked list_splice() (@tail false) or
 * list_splice_tail() (@tail true), reinitialising @list if @init.
 */
static inline bool sk__list_splice(struct sk_list_head *list, struct sk_list_head *head, bool tail,
				   bool init, const char *op, const struct sk_callsite *cs)
{
	struct sk_list_head *first, *last, *prev, *next;
	int go = sk__list_splice_ok(list, head, tail, &first, &last, &prev, &next, op, cs);

	if (go != SK__SPLICE_GO)
		return go == SK__SPLICE_EMPTY;
	SK_WRITE_ONCE(first->prev, prev);
	SK_WRITE_ONCE(prev->next, first);
	SK_WRITE_ONCE(last->next, next);
	SK_WRITE_ONCE(next->prev, last);
	if (init)
		sk_init_list_head(list);
	return true;
}

/**
 * sk_list_splice() - join two lists, the new entries first (a stack)
 * @list: the list whose entries are added; left as it was (stale)
 * @head: where to add them: after this head
 *
 * Checked (hardened): @list's first and last and the insertion point at
 * @head are not NULL or poison and point back; @list is not @head or its
 * neighbour (splicing a list into itself).  Debug also checks, O(n) in
 * @list's length, every link of @list and that @head is not one of its
 * entries (splicing a list into itself at a further entry, which would cut
 * the entries off both lists): SK_VIOLATION_LIST_DOUBLE_ADD.
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_list_splice(list, head)                                            \
	((void)sk__list_splice((list), (head), false, false, "list_splice", SK_CALLSITE))

/**
 * sk_list_splice_tail() - join two lists, the new entries last (a queue)
 * @list: the list whose entries are added; left as it was (stale)
 * @head: where to add them: before this head
 *
 * Checked as sk_list_splice().
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_list_splice_tail(list, head)                                       \
	((void)sk__list_splice((list), (head), true, false, "list_splice_tail", SK_CALLSITE))

/**
 * sk_list_splice_init() - join two lists and reinitialise the emptied one
 * @list: the list whose entries are added; left empty
 * @head: where to add them: after this head
 *
 * Checked as sk_list_splice(); a refused splice leaves @list as it was.
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_list_splice_init(list, head)                                       \
	((void)sk__list_splice((list), (head), false, true, "list_splice_init", SK_CALLSITE))

/**
 * sk_list_splice_tail_init() - join two lists at the tail, reinitialise the emptied one
 * @list: the list whose entries are added; left empty
 * @head: where to add them: before this head
 *
 * Checked as sk_list_splice().
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_list_splice_tail_init(list, head)                                  \
	((void)sk__list_splice((list), (head), true, true, "list_splice_tail_init", SK_CALLSITE))

/* ------------------------------------------------------------------------
 * Entries
 * ------------------------------------------------------------------------ */

/**
 * sk_list_entry() - the structure that embeds a list node
 * @ptr: pointer to the &struct sk_list_head
 * @type: the type of the containing structure
 * @member: the name of the &struct sk_list_head within @type
 *
 * Type-checked (sk_container_of()): @ptr must point to the type of
 * @member, or compilation fails.
 *
 * Return: the containing structure.
 */
#define sk_list_entry(ptr, type, member) sk_container_of(ptr, type, member)

/**
 * sk_list_first_entry() - the first entry of a list
 * @ptr: the head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * The list must not be empty (the result is the head's container then:
 * see sk_list_first_entry_or_null()).
 *
 * Return: the first entry.
 */
#define sk_list_first_entry(ptr, type, member) sk_list_entry((ptr)->next, type, member)

/**
 * sk_list_last_entry() - the last entry of a list
 * @ptr: the head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * The list must not be empty.
 *
 * Return: the last entry.
 */
#define sk_list_last_entry(ptr, type, member) sk_list_entry((ptr)->prev, type, member)

/* sk__list_end_or_null() - internal: the first (@last: the last) node, or
 * NULL if empty. */
static inline struct sk_list_head *sk__list_end_or_null(const struct sk_list_head *head, bool last,
							const struct sk_callsite *cs)
{
	struct sk_list_head *pos;

	/* Debug: the head, and the link this reads (next, or prev for the
	 * last), before the link is trusted. */
	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(head)))
		goto bad;
	pos = last ? SK_READ_ONCE(head->prev) : SK_READ_ONCE(head->next);
	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(pos)))
		goto bad;
	return pos != head ? pos : NULL;
bad:
	sk__list_report_head(head, last ? "list_last_entry_or_null" : "list_first_entry_or_null",
			     cs);
	return NULL;
}

/* sk__list_first_or_null() - internal: the first node, or NULL if empty. */
#define sk__list_first_or_null(head, cs) sk__list_end_or_null((head), false, (cs))

/**
 * sk_list_first_entry_or_null() - the first entry of a list, or NULL
 * @ptr: the head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * Debug: an uninitialised or deleted head is reported and gives NULL.
 *
 * Return: the first entry, or NULL if the list is empty.
 */
#define sk_list_first_entry_or_null(ptr, type, member)                        \
	__extension__({                                                       \
		struct sk_list_head *sk__fpos = sk__list_first_or_null((ptr), SK_CALLSITE); \
		sk__fpos ? sk_list_entry(sk__fpos, type, member) : (type *)NULL; \
	})

/**
 * sk_list_last_entry_or_null() - the last entry of a list, or NULL
 * @ptr: the head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * Debug: an uninitialised or deleted head is reported and gives NULL.
 *
 * Return: the last entry, or NULL if the list is empty.
 */
#define sk_list_last_entry_or_null(ptr, type, member)                         \
	__extension__({                                                       \
		struct sk_list_head *sk__lpos = sk__list_end_or_null((ptr), true, SK_CALLSITE); \
		sk__lpos ? sk_list_entry(sk__lpos, type, member) : (type *)NULL; \
	})

/**
 * sk_list_next_entry() - the entry after an entry
 * @pos: the current entry (a pointer to the containing type)
 * @member: the &struct sk_list_head within it
 *
 * Return: the next entry (the head's container if @pos is the last).
 */
#define sk_list_next_entry(pos, member)                                       \
	sk_list_entry((pos)->member.next, __typeof__(*(pos)), member)

/**
 * sk_list_prev_entry() - the entry before an entry
 * @pos: the current entry
 * @member: the &struct sk_list_head within it
 *
 * Return: the previous entry (the head's container if @pos is the first).
 */
#define sk_list_prev_entry(pos, member)                                       \
	sk_list_entry((pos)->member.prev, __typeof__(*(pos)), member)

/**
 * sk_list_next_entry_circular() - the entry after an entry, wrapping around
 * @pos: the current entry
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 *
 * Return: the next entry, or the first one if @pos is the last.
 */
#define sk_list_next_entry_circular(pos, head, member)                        \
	(sk_list_is_last(&(pos)->member, head)                                \
		 ? sk_list_first_entry(head, __typeof__(*(pos)), member)      \
		 : sk_list_next_entry(pos, member))

/**
 * sk_list_prev_entry_circular() - the entry before an entry, wrapping around
 * @pos: the current entry
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 *
 * Return: the previous entry, or the last one if @pos is the first.
 */
#define sk_list_prev_entry_circular(pos, head, member)                        \
	(sk_list_is_first(&(pos)->member, head)                               \
		 ? sk_list_last_entry(head, __typeof__(*(pos)), member)       \
		 : sk_list_prev_entry(pos, member))

/**
 * sk_list_entry_is_head() - is an entry cursor at the head?
 * @pos: the entry cursor
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 *
 * Return: nonzero if @pos is the head's (fictitious) container.
 */
#define sk_list_entry_is_head(pos, head, member) sk_list_is_head(&(pos)->member, (head))

/*
 * SK__LIST_OPAQUE() - internal: hide where a pointer came from.  The
 * cursor sk_list_prepare_entry() makes from the head is the head's
 * fictitious container, which lies partly outside the head object: when
 * gcc 12 can see that, its -Warray-bounds (part of -Wall) flags the
 * _continue walk's read of pos->member.next, although that is the head
 * itself (the kernel turned the warning off for gcc 11+ over this).  The
 * head pointer goes through an empty asm before the subtraction, which
 * costs nothing at run time.
 */
#define SK__LIST_OPAQUE(p)                                                    \
	__extension__({                                                       \
		__typeof__(p) sk__opq = (p);                                  \
		__asm__("" : "+r"(sk__opq));                                  \
		sk__opq;                                                      \
	})

/**
 * sk_list_prepare_entry() - a cursor for sk_list_for_each_entry_continue()
 * @pos: an entry to continue after, or NULL to start at the beginning
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 *
 * Return: @pos, or the head's container if @pos is NULL.
 */
#define sk_list_prepare_entry(pos, head, member)                              \
	(__extension__((pos) ?: sk_list_entry(SK__LIST_OPAQUE(head), __typeof__(*(pos)), member)))

/**
 * sk_list_safe_reset_next() - reload the lookahead of a _safe walk
 * @pos: the current entry
 * @n: the lookahead cursor of the _safe walk
 * @member: the &struct sk_list_head within the entry
 *
 * For walks that drop the lock inside the loop: after retaking it, the
 * saved @n may be stale; this sets it to @pos's current successor.
 */
#define sk_list_safe_reset_next(pos, n, member) ((n) = sk_list_next_entry(pos, member))

/* ------------------------------------------------------------------------
 * Iteration
 *
 * SK__LIST_NEXT/PREV(pos, head): the step of every walk.  hardened: the
 * plain load, exactly the kernel's loop.  debug: the link is checked
 * (NULL, poison, and that it points back to @pos) before it is followed;
 * on a failure one report is made and the step yields @head, which ends
 * the walk.  The _N forms compute the lookahead of the _safe walks: at the
 * end (pos == head) they are not checked again, so that a walk stopped by
 * a report does not report twice.
 * ------------------------------------------------------------------------ */

/* sk__list_next() - internal: the checked step of a debug walk. */
static inline struct sk_list_head *sk__list_next(const struct sk_list_head *pos,
						 const struct sk_list_head *head,
						 const struct sk_callsite *cs)
{
	struct sk_list_head *next = pos->next;

	/* next == pos: an entry taken off with del_init during the walk (the
	 * head of an empty list steps to itself, and the walk ends there). */
	if (sk_unlikely(sk__list_bad(next) || next->prev != pos || (next == pos && pos != head))) {
		sk__list_report_step(head, pos, false, cs);
		return (struct sk_list_head *)head;
	}
	return next;
}

/* sk__list_prev() - internal: the checked backward step of a debug walk. */
static inline struct sk_list_head *sk__list_prev(const struct sk_list_head *pos,
						 const struct sk_list_head *head,
						 const struct sk_callsite *cs)
{
	struct sk_list_head *prev = pos->prev;

	if (sk_unlikely(sk__list_bad(prev) || prev->next != pos || (prev == pos && pos != head))) {
		sk__list_report_step(head, pos, true, cs);
		return (struct sk_list_head *)head;
	}
	return prev;
}

/* sk__list_next_n() - internal: the lookahead step of a debug _safe walk. */
static inline struct sk_list_head *sk__list_next_n(const struct sk_list_head *pos,
						   const struct sk_list_head *head,
						   const struct sk_callsite *cs)
{
	if (pos == head)
		return pos->next;
	return sk__list_next(pos, head, cs);
}

/* sk__list_prev_n() - internal: the backward lookahead of a debug _safe walk. */
static inline struct sk_list_head *sk__list_prev_n(const struct sk_list_head *pos,
						   const struct sk_list_head *head,
						   const struct sk_callsite *cs)
{
	if (pos == head)
		return pos->prev;
	return sk__list_prev(pos, head, cs);
}

#ifdef SK_DEBUG
#define SK__LIST_NEXT(pos, head) sk__list_next((pos), (head), SK_CALLSITE)
#define SK__LIST_PREV(pos, head) sk__list_prev((pos), (head), SK_CALLSITE)
#define SK__LIST_NEXT_N(pos, head) sk__list_next_n((pos), (head), SK_CALLSITE)
#define SK__LIST_PREV_N(pos, head) sk__list_prev_n((pos), (head), SK_CALLSITE)
#else
#define SK__LIST_NEXT(pos, head) ((pos)->next)
#define SK__LIST_PREV(pos, head) ((pos)->prev)
#define SK__LIST_NEXT_N(pos, head) ((pos)->next)
#define SK__LIST_PREV_N(pos, head) ((pos)->prev)
#endif

/* The entry after / before @pos as a walk step (see SK__LIST_NEXT). */
#define SK__LIST_NEXT_ENTRY(pos, head, member)                                \
	sk_list_entry(SK__LIST_NEXT(&(pos)->member, (head)), __typeof__(*(pos)), member)
#define SK__LIST_PREV_ENTRY(pos, head, member)                                \
	sk_list_entry(SK__LIST_PREV(&(pos)->member, (head)), __typeof__(*(pos)), member)
#define SK__LIST_NEXT_ENTRY_N(pos, head, member)                              \
	sk_list_entry(SK__LIST_NEXT_N(&(pos)->member, (head)), __typeof__(*(pos)), member)
#define SK__LIST_PREV_ENTRY_N(pos, head, member)                              \
	sk_list_entry(SK__LIST_PREV_N(&(pos)->member, (head)), __typeof__(*(pos)), member)

/**
 * sk_list_for_each() - walk a list
 * @pos: the &struct sk_list_head cursor
 * @head: the head of the list
 *
 * Do not delete @pos in the body (use sk_list_for_each_safe()).  Debug:
 * each step is checked; a broken link is reported and ends the walk.
 */
#define sk_list_for_each(pos, head)                                           \
	for (pos = SK__LIST_NEXT((head), (head)); !sk_list_is_head(pos, (head)); \
	     pos = SK__LIST_NEXT(pos, (head)))

/**
 * sk_list_for_each_continue() - continue a walk after the current node
 * @pos: the &struct sk_list_head cursor, on a node of the list (or the head)
 * @head: the head of the list
 */
#define sk_list_for_each_continue(pos, head)                                  \
	for (pos = SK__LIST_NEXT(pos, (head)); !sk_list_is_head(pos, (head));  \
	     pos = SK__LIST_NEXT(pos, (head)))

/**
 * sk_list_for_each_prev() - walk a list backwards
 * @pos: the &struct sk_list_head cursor
 * @head: the head of the list
 */
#define sk_list_for_each_prev(pos, head)                                      \
	for (pos = SK__LIST_PREV((head), (head)); !sk_list_is_head(pos, (head)); \
	     pos = SK__LIST_PREV(pos, (head)))

/**
 * sk_list_for_each_reverse() - walk a list backwards (alias of sk_list_for_each_prev())
 * @pos: the &struct sk_list_head cursor
 * @head: the head of the list
 */
#define sk_list_for_each_reverse(pos, head) sk_list_for_each_prev(pos, head)

/**
 * sk_list_for_each_safe() - walk a list, allowing the current node's removal
 * @pos: the &struct sk_list_head cursor
 * @n: another &struct sk_list_head, the lookahead
 * @head: the head of the list
 */
#define sk_list_for_each_safe(pos, n, head)                                   \
	for (pos = SK__LIST_NEXT((head), (head)), n = SK__LIST_NEXT_N(pos, (head)); \
	     !sk_list_is_head(pos, (head)); pos = n, n = SK__LIST_NEXT_N(pos, (head)))

/**
 * sk_list_for_each_prev_safe() - walk backwards, allowing the current node's removal
 * @pos: the &struct sk_list_head cursor
 * @n: another &struct sk_list_head, the lookahead
 * @head: the head of the list
 */
#define sk_list_for_each_prev_safe(pos, n, head)                              \
	for (pos = SK__LIST_PREV((head), (head)), n = SK__LIST_PREV_N(pos, (head)); \
	     !sk_list_is_head(pos, (head)); pos = n, n = SK__LIST_PREV_N(pos, (head)))

/**
 * sk_list_for_each_entry() - walk the entries of a list
 * @pos: the entry cursor (a pointer to the containing type)
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry(pos, head, member)                             \
	for (pos = sk_list_entry(SK__LIST_NEXT((head), (head)), __typeof__(*(pos)), member); \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = SK__LIST_NEXT_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_reverse() - walk the entries backwards
 * @pos: the entry cursor
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_reverse(pos, head, member)                     \
	for (pos = sk_list_entry(SK__LIST_PREV((head), (head)), __typeof__(*(pos)), member); \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = SK__LIST_PREV_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_continue() - continue a walk after an entry
 * @pos: the entry cursor: the walk starts at the entry after it
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_continue(pos, head, member)                    \
	for (pos = SK__LIST_NEXT_ENTRY(pos, (head), member);                   \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = SK__LIST_NEXT_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_continue_reverse() - continue a walk backwards before an entry
 * @pos: the entry cursor: the walk starts at the entry before it
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_continue_reverse(pos, head, member)            \
	for (pos = SK__LIST_PREV_ENTRY(pos, (head), member);                   \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = SK__LIST_PREV_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_from() - walk from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_from(pos, head, member)                        \
	for (; !sk_list_entry_is_head(pos, (head), member);                   \
	     pos = SK__LIST_NEXT_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_from_reverse() - walk backwards from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_from_reverse(pos, head, member)                \
	for (; !sk_list_entry_is_head(pos, (head), member);                   \
	     pos = SK__LIST_PREV_ENTRY(pos, (head), member))

/**
 * sk_list_for_each_entry_safe() - walk the entries, allowing the current one's removal
 * @pos: the entry cursor
 * @n: another entry pointer, the lookahead
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_safe(pos, n, head, member)                     \
	for (pos = sk_list_entry(SK__LIST_NEXT((head), (head)), __typeof__(*(pos)), member), \
	    n = SK__LIST_NEXT_ENTRY_N(pos, (head), member);                    \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = n, n = SK__LIST_NEXT_ENTRY_N(n, (head), member))

/**
 * sk_list_for_each_entry_safe_continue() - continue a _safe walk after an entry
 * @pos: the entry cursor: the walk starts at the entry after it
 * @n: another entry pointer, the lookahead
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_safe_continue(pos, n, head, member)            \
	for (pos = SK__LIST_NEXT_ENTRY(pos, (head), member),                   \
	    n = SK__LIST_NEXT_ENTRY_N(pos, (head), member);                    \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = n, n = SK__LIST_NEXT_ENTRY_N(n, (head), member))

/**
 * sk_list_for_each_entry_safe_from() - a _safe walk from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @n: another entry pointer, the lookahead
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_safe_from(pos, n, head, member)                \
	for (n = SK__LIST_NEXT_ENTRY_N(pos, (head), member);                   \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = n, n = SK__LIST_NEXT_ENTRY_N(n, (head), member))

/**
 * sk_list_for_each_entry_safe_reverse() - a _safe walk backwards
 * @pos: the entry cursor
 * @n: another entry pointer, the lookahead
 * @head: the head of the list
 * @member: the &struct sk_list_head within the entry
 */
#define sk_list_for_each_entry_safe_reverse(pos, n, head, member)             \
	for (pos = sk_list_entry(SK__LIST_PREV((head), (head)), __typeof__(*(pos)), member), \
	    n = SK__LIST_PREV_ENTRY_N(pos, (head), member);                    \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = n, n = SK__LIST_PREV_ENTRY_N(n, (head), member))

/* sk__list_count_nodes() - internal form of sk_list_count_nodes(). */
static inline size_t sk__list_count_nodes(const struct sk_list_head *head,
					  const struct sk_callsite *cs)
{
	const struct sk_list_head *pos;
	size_t count = 0;

	(void)cs;
	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(head))) {
		sk__list_report_head(head, "list_count_nodes", cs);
		return 0;
	}
#ifdef SK_DEBUG
	for (pos = sk__list_next(head, head, cs); pos != head; pos = sk__list_next(pos, head, cs))
		count++;
#else
	for (pos = head->next; pos != head; pos = pos->next)
		count++;
#endif
	return count;
}

/**
 * sk_list_count_nodes() - count the entries of a list
 * @head: the head
 *
 * O(n).  Debug: each step is checked, as in sk_list_for_each().
 *
 * Return: the number of entries.
 */
#define sk_list_count_nodes(head) sk__list_count_nodes((head), SK_CALLSITE)

/**
 * sk_list_check() - walk a whole list and report where it breaks
 * @head: the head
 *
 * At any check level: follows next from @head back to @head, checking at
 * each node that next is not NULL or poison and that next->prev points
 * back.  The first break found is reported once (kind, the node's index
 * and address, what was found), and the walk stops there.  O(n); it
 * always terminates, because a walk whose every step is consistent must
 * return to @head.
 *
 * Context: the caller serialises operations on the list.
 * Return: true if the list is a consistent ring, false after a report.
 */
#define sk_list_check(head) sk__list_check((head), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * hlist: heads of one pointer, NULL-terminated chains
 * ------------------------------------------------------------------------ */

/**
 * SK_HLIST_HEAD_INIT - initialiser for an empty hlist head
 *
 * ``struct sk_hlist_head h = SK_HLIST_HEAD_INIT;``
 */
#define SK_HLIST_HEAD_INIT { NULL }

/**
 * SK_HLIST_HEAD() - define and initialise an empty hlist head
 * @name: the name of the variable
 */
#define SK_HLIST_HEAD(name) struct sk_hlist_head name = SK_HLIST_HEAD_INIT

/**
 * sk_init_hlist_head() - initialise an hlist head as empty
 * @ptr: the head
 */
#define sk_init_hlist_head(ptr) ((ptr)->first = NULL)

/**
 * sk_init_hlist_node() - initialise an hlist node as unhashed
 * @h: the node
 */
static inline void sk_init_hlist_node(struct sk_hlist_node *h)
{
	h->next = NULL;
	h->pprev = NULL;
}

/**
 * sk_hlist_unhashed() - is a node on no hlist?
 * @h: the node (initialised, or deleted with sk_hlist_del_init())
 *
 * Return: nonzero if the node is not on a list.
 */
static inline int sk_hlist_unhashed(const struct sk_hlist_node *h)
{
	return !h->pprev;
}

/**
 * sk_hlist_unhashed_lockless() - sk_hlist_unhashed() for a lockless caller
 * @h: the node
 *
 * Context: may race with locked adds and deletes of @h (tear-free).
 * Return: nonzero if the node is not on a list.
 */
static inline int sk_hlist_unhashed_lockless(const struct sk_hlist_node *h)
{
	return !SK_READ_ONCE(h->pprev);
}

/**
 * sk_hlist_empty() - is an hlist empty?
 * @h: the head
 *
 * Context: may be called without the list's lock as a tear-free hint.
 * Return: nonzero if the list has no nodes.
 */
static inline int sk_hlist_empty(const struct sk_hlist_head *h)
{
	return !SK_READ_ONCE(h->first);
}

/*
 * sk__hlist_del_ok() - internal: may @n be unlinked?  pprev is checked for
 * NULL (unhashed) and poison (deleted) before it is followed, then the
 * pointer it designates must point to @n and the next node back to @n.  A
 * fake node (sk_hlist_add_fake()) is on no list: its next must be NULL,
 * since the unlink would write next->pprev (a poison left by a delete, or
 * the old successor that sk_hlist_del_init_rcu() leaves).
 */
static inline bool sk__hlist_del_ok(const struct sk_hlist_node *n, const char *op,
				    const struct sk_callsite *cs)
{
	struct sk_hlist_node *const *pprev;
	const struct sk_hlist_node *next;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n)))
		goto bad;
	pprev = n->pprev;
	next = n->next;
	if (sk_unlikely(sk__list_bad(pprev)))
		goto bad;
	if (sk_likely(pprev != &n->next)) {
		if (sk_unlikely(*pprev != n))
			goto bad;
		if (next && sk_unlikely(sk__list_bad(next) || next->pprev != &n->next))
			goto bad;
	} else if (sk_unlikely(next)) {
		goto bad;
	}
	return true;
bad:
	sk__hlist_report_del(n, op, cs);
	return false;
}

/* sk__hlist_unlink() - internal: take @n out of its chain. */
static inline void sk__hlist_unlink(struct sk_hlist_node *n)
{
	struct sk_hlist_node *next = n->next;
	struct sk_hlist_node **pprev = n->pprev;

	SK_WRITE_ONCE(*pprev, next);
	if (next)
		SK_WRITE_ONCE(next->pprev, pprev);
}

/* What a deleted hlist node holds. */
static const struct sk_hlist_node sk__hlist_poisoned = {
	(struct sk_hlist_node *)SK_LIST_POISON1,
	(struct sk_hlist_node **)SK_LIST_POISON2,
};

/* sk__hlist_del() - internal form of sk_hlist_del(). */
static inline bool sk__hlist_del(struct sk_hlist_node *n, const struct sk_callsite *cs)
{
	if (sk_unlikely(!sk__hlist_del_ok(n, "hlist_del", cs)))
		return false;
	sk__hlist_unlink(n);
	*n = sk__hlist_poisoned; /* one 16-byte store; see sk__list_unlink_poison() */
	return true;
}

/**
 * sk_hlist_del() - delete a node from its hlist
 * @n: the node (hashed)
 *
 * The node is left poisoned; sk_hlist_unhashed() on it is false.
 *
 * Checked (hardened): @n's pprev is not NULL (unhashed: never added, or
 * deleted with sk_hlist_del_init(): SK_VIOLATION_LIST_UNINITIALIZED) or
 * poison (SK_VIOLATION_LIST_DOUBLE_DEL), checked before it is followed;
 * the pointer it designates points to @n, and the next node's pprev points
 * back (SK_VIOLATION_LIST_CORRUPTION).  On a failed check: one report,
 * nothing written.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_hlist_del(n) ((void)sk__hlist_del((n), SK_CALLSITE))

/* sk__hlist_del_init() - internal form of sk_hlist_del_init(). */
static inline bool sk__hlist_del_init(struct sk_hlist_node *n, const struct sk_callsite *cs)
{
	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n))) {
		sk__hlist_report_del(n, "hlist_del_init", cs);
		return false;
	}
	if (sk_hlist_unhashed(n))
		return true;
	if (sk_unlikely(!sk__hlist_del_ok(n, "hlist_del_init", cs)))
		return false;
	sk__hlist_unlink(n);
	sk_init_hlist_node(n);
	return true;
}

/**
 * sk_hlist_del_init() - delete a node if it is hashed, and reinitialise it
 * @n: the node
 *
 * An unhashed node is left alone, as in the kernel.  Checked as
 * sk_hlist_del() otherwise (a poisoned node is a double delete).
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_hlist_del_init(n) ((void)sk__hlist_del_init((n), SK_CALLSITE))

/*
 * The checks of the hlist adds, shared with the RCU adds
 * (safekern/rculist.h): each returns false after one report, with nothing
 * written, or true with the neighbour that the add links to.
 */
static SK_ALWAYS_INLINE bool sk__hlist_add_head_ok(struct sk_hlist_node *n,
						   struct sk_hlist_head *h,
						   struct sk_hlist_node **firstp,
						   const struct sk_callsite *cs)
{
	struct sk_hlist_node *first;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n) || sk__list_bad(h)))
		goto bad;
	first = h->first;
	if (first && sk_unlikely(sk__list_bad(first) || first->pprev != &h->first))
		goto bad;
	if (sk_unlikely(n == first))
		goto bad;
	*firstp = first;
	return true;
bad:
	sk__hlist_report_add(n, h, SK__HLIST_ADD_HEAD, cs);
	return false;
}

static SK_ALWAYS_INLINE bool sk__hlist_add_before_ok(struct sk_hlist_node *n,
						     struct sk_hlist_node *next,
						     struct sk_hlist_node ***pprevp,
						     const struct sk_callsite *cs)
{
	struct sk_hlist_node **pprev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n) || sk__list_bad(next)))
		goto bad;
	pprev = next->pprev;
	if (sk_unlikely(sk__list_bad(pprev) || *pprev != next))
		goto bad;
	if (sk_unlikely(n == next || pprev == &n->next))
		goto bad;
	*pprevp = pprev;
	return true;
bad:
	sk__hlist_report_add(n, next, SK__HLIST_ADD_BEFORE, cs);
	return false;
}

static SK_ALWAYS_INLINE bool sk__hlist_add_behind_ok(struct sk_hlist_node *n,
						     struct sk_hlist_node *prev,
						     struct sk_hlist_node **nextp,
						     const struct sk_callsite *cs)
{
	struct sk_hlist_node *next;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n) || sk__list_bad(prev)))
		goto bad;
	next = prev->next;
	if (next && sk_unlikely(sk__list_bad(next) || next->pprev != &prev->next))
		goto bad;
	/* @prev unhashed or deleted (hlist_del_rcu keeps a last node's NULL
	 * next), or not what its pprev designates (a fake node's designates
	 * its own next): @n would hang off no chain. */
	if (sk_unlikely(sk__list_bad(prev->pprev) || *prev->pprev != prev))
		goto bad;
	if (sk_unlikely(n == prev || n == next))
		goto bad;
	*nextp = next;
	return true;
bad:
	sk__hlist_report_add(n, prev, SK__HLIST_ADD_BEHIND, cs);
	return false;
}

/* sk__hlist_add_head() - internal form of sk_hlist_add_head(). */
static inline bool sk__hlist_add_head(struct sk_hlist_node *n, struct sk_hlist_head *h,
				      const struct sk_callsite *cs)
{
	struct sk_hlist_node *first;

	if (sk_unlikely(!sk__hlist_add_head_ok(n, h, &first, cs)))
		return false;
	SK_WRITE_ONCE(n->next, first);
	if (first)
		SK_WRITE_ONCE(first->pprev, &n->next);
	SK_WRITE_ONCE(h->first, n);
	SK_WRITE_ONCE(n->pprev, &h->first);
	return true;
}

/**
 * sk_hlist_add_head() - add a node at the front of an hlist
 * @n: the node (not on a list)
 * @h: the head
 *
 * Checked (hardened): the current first node is not poison and points
 * back to @h; @n is not already the first node (double add).
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_hlist_add_head(n, h) ((void)sk__hlist_add_head((n), (h), SK_CALLSITE))

/* sk__hlist_add_before() - internal form of sk_hlist_add_before(). */
static inline bool sk__hlist_add_before(struct sk_hlist_node *n, struct sk_hlist_node *next,
					const struct sk_callsite *cs)
{
	struct sk_hlist_node **pprev;

	if (sk_unlikely(!sk__hlist_add_before_ok(n, next, &pprev, cs)))
		return false;
	SK_WRITE_ONCE(n->pprev, pprev);
	SK_WRITE_ONCE(n->next, next);
	SK_WRITE_ONCE(next->pprev, &n->next);
	SK_WRITE_ONCE(*pprev, n);
	return true;
}

/**
 * sk_hlist_add_before() - add a node before another
 * @n: the node to add (not on a list)
 * @next: a hashed node to add it before
 *
 * Checked (hardened): @next is hashed (pprev not NULL or poison) and its
 * pprev designates a pointer to it; @n is not @next or already before it.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_hlist_add_before(n, next) ((void)sk__hlist_add_before((n), (next), SK_CALLSITE))

/* sk__hlist_add_behind() - internal form of sk_hlist_add_behind(). */
static inline bool sk__hlist_add_behind(struct sk_hlist_node *n, struct sk_hlist_node *prev,
					const struct sk_callsite *cs)
{
	struct sk_hlist_node *next;

	if (sk_unlikely(!sk__hlist_add_behind_ok(n, prev, &next, cs)))
		return false;
	SK_WRITE_ONCE(n->next, next);
	SK_WRITE_ONCE(prev->next, n);
	SK_WRITE_ONCE(n->pprev, &prev->next);
	if (next)
		SK_WRITE_ONCE(next->pprev, &n->next);
	return true;
}

/**
 * sk_hlist_add_behind() - add a node after another
 * @n: the node to add (not on a list)
 * @prev: the node to add it after
 *
 * Checked (hardened): @prev is on a chain (its pprev is not NULL or
 * poison and designates a pointer to @prev: behind an unhashed, deleted
 * or fake node @n would hang off no chain), its next is not poison and
 * points back; @n is not @prev or its successor.
 *
 * Context: the caller serialises operations on the list.
 */
#define sk_hlist_add_behind(n, prev) ((void)sk__hlist_add_behind((n), (prev), SK_CALLSITE))

/**
 * sk_hlist_add_fake() - make a node look hashed without a list
 * @n: the node
 *
 * For code that uses sk_hlist_unhashed() as a flag; sk_hlist_del_init() of
 * a fake node is a no-op apart from reinitialising it.  Its next must be
 * NULL by then (initialised, or deleted with sk_hlist_del_init()): a fake
 * node whose next still holds a link (poison from sk_hlist_del(), the old
 * successor from sk_hlist_del_init_rcu()) is refused on delete
 * (SK_VIOLATION_LIST_CORRUPTION), where the kernel would write through it.
 */
static inline void sk_hlist_add_fake(struct sk_hlist_node *n)
{
	n->pprev = &n->next;
}

/**
 * sk_hlist_fake() - is a node a fake (sk_hlist_add_fake())?
 * @h: the node
 *
 * Return: nonzero if @h is fake-hashed.
 */
static inline bool sk_hlist_fake(struct sk_hlist_node *h)
{
	return h->pprev == &h->next;
}

/**
 * sk_hlist_is_singular_node() - is a node the only one of an hlist?
 * @n: the node
 * @h: the head
 *
 * Return: true if @n is the first and last node of @h.
 */
static inline bool sk_hlist_is_singular_node(struct sk_hlist_node *n, struct sk_hlist_head *h)
{
	return !n->next && n->pprev == &h->first;
}

/* sk__hlist_move_list() - internal form of sk_hlist_move_list(). */
static inline bool sk__hlist_move_list(struct sk_hlist_head *old, struct sk_hlist_head *dst,
				       const struct sk_callsite *cs)
{
	struct sk_hlist_node *first;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(old) || sk__list_bad(dst)))
		goto bad;
	first = old->first;
	if (first && sk_unlikely(sk__list_bad(first) || first->pprev != &old->first))
		goto bad;
	if (old == dst)
		return true;
	dst->first = first;
	if (first)
		first->pprev = &dst->first;
	old->first = NULL;
	return true;
bad:
	sk__hlist_report_move(old, NULL, dst, "hlist_move_list", cs);
	return false;
}

/**
 * sk_hlist_move_list() - move all nodes of an hlist to another head
 * @old: the head whose nodes move; left empty
 * @new: the head that receives them (its old contents are overwritten)
 *
 * Moving a list to its own head does nothing (the kernel's version empties
 * it).  Checked (hardened): @old's first node points back to @old.
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_hlist_move_list(old, new) ((void)sk__hlist_move_list((old), (new), SK_CALLSITE))

/* sk__hlist_splice_init() - internal form of sk_hlist_splice_init(). */
static inline bool sk__hlist_splice_init(struct sk_hlist_head *from, struct sk_hlist_node *last,
					 struct sk_hlist_head *to, const struct sk_callsite *cs)
{
	struct sk_hlist_node *first, *to_first;

	if (SK__LIST_DEBUG &&
	    sk_unlikely(sk__list_bad(from) || sk__list_bad(last) || sk__list_bad(to)))
		goto bad;
	first = from->first;
	if (sk_unlikely(sk__list_bad(first) || first->pprev != &from->first))
		goto bad;
	if (sk_unlikely(last->next != NULL || from == to))
		goto bad;
	to_first = to->first;
	if (to_first && sk_unlikely(sk__list_bad(to_first) || to_first->pprev != &to->first))
		goto bad;
	if (SK__LIST_DEBUG && !sk__hlist_debug_contains(from, last, "hlist_splice_init", cs))
		return false;
	if (to_first)
		to_first->pprev = &last->next;
	last->next = to_first;
	to->first = first;
	first->pprev = &to->first;
	from->first = NULL;
	return true;
bad:
	sk__hlist_report_move(from, last, to, "hlist_splice_init", cs);
	return false;
}

/**
 * sk_hlist_splice_init() - move all nodes of an hlist to the front of another
 * @from: the non-empty source head; left empty
 * @last: the last node of @from
 * @to: the destination head
 *
 * Checked (hardened): @from is not empty and its first node points back,
 * @last->next is NULL, @to's first node points back, @from is not @to
 * (SK_VIOLATION_INVALID_ARGUMENT for the argument errors).  Debug also
 * checks (O(n)) that @last is on @from.
 *
 * Context: the caller serialises operations on both lists.
 */
#define sk_hlist_splice_init(from, last, to)                                  \
	((void)sk__hlist_splice_init((from), (last), (to), SK_CALLSITE))

/**
 * sk_hlist_entry() - the structure that embeds an hlist node
 * @ptr: pointer to the &struct sk_hlist_node
 * @type: the type of the containing structure
 * @member: the name of the node within @type
 *
 * Type-checked, as sk_list_entry().
 *
 * Return: the containing structure.
 */
#define sk_hlist_entry(ptr, type, member) sk_container_of(ptr, type, member)

/**
 * sk_hlist_entry_safe() - sk_hlist_entry() that passes NULL through
 * @ptr: pointer to the node, or NULL
 * @type: the type of the containing structure
 * @member: the name of the node within @type
 *
 * Return: the containing structure, or NULL if @ptr is NULL.
 */
#define sk_hlist_entry_safe(ptr, type, member)                                \
	__extension__({                                                       \
		__typeof__(ptr) sk__hptr = (ptr);                             \
		sk__hptr ? sk_hlist_entry(sk__hptr, type, member) : (type *)NULL; \
	})

/* sk__hlist_first() - internal: the checked first step of a debug hlist walk. */
static inline struct sk_hlist_node *sk__hlist_first(const struct sk_hlist_head *head,
						    const struct sk_callsite *cs)
{
	struct sk_hlist_node *first;

	if (sk_unlikely(sk__list_bad(head)))
		goto bad;
	first = head->first;
	if (first && sk_unlikely(sk__list_bad(first) || first->pprev != &head->first))
		goto bad;
	return first;
bad:
	sk__hlist_report_step(head, NULL, cs);
	return NULL;
}

/* sk__hlist_next() - internal: the checked step of a debug hlist walk. */
static inline struct sk_hlist_node *sk__hlist_next(const struct sk_hlist_node *pos,
						   const struct sk_callsite *cs)
{
	struct sk_hlist_node *next = pos->next;

	/* No successor: the end of the chain, unless the cursor itself was
	 * taken off it (sk_hlist_del_init() in a plain walk: no pprev). */
	if (sk_unlikely(next ? sk__list_bad(next) || next->pprev != &pos->next : !pos->pprev)) {
		sk__hlist_report_step(NULL, pos, cs);
		return NULL;
	}
	return next;
}

#ifdef SK_DEBUG
#define SK__HLIST_FIRST(head) sk__hlist_first((head), SK_CALLSITE)
#define SK__HLIST_NEXT(pos) sk__hlist_next((pos), SK_CALLSITE)
#else
#define SK__HLIST_FIRST(head) ((head)->first)
#define SK__HLIST_NEXT(pos) ((pos)->next)
#endif

/* The containing entry of a walk step, or NULL (a typed temporary). */
#define SK__HLIST_ENTRY_OR_NULL(ptr, pos, member)                             \
	__extension__({                                                       \
		struct sk_hlist_node *sk__hnode = (ptr);                      \
		sk__hnode ? sk_hlist_entry(sk__hnode, __typeof__(*(pos)), member) \
			  : (__typeof__(pos))NULL;                            \
	})

/**
 * sk_hlist_for_each() - walk an hlist
 * @pos: the &struct sk_hlist_node cursor
 * @head: the head
 *
 * Debug: each step checks that the next node's pprev points back to
 * @pos's next; a broken link is reported and ends the walk.
 */
#define sk_hlist_for_each(pos, head)                                          \
	for (pos = SK__HLIST_FIRST(head); pos; pos = SK__HLIST_NEXT(pos))

/**
 * sk_hlist_for_each_safe() - walk an hlist, allowing the current node's removal
 * @pos: the &struct sk_hlist_node cursor
 * @n: another &struct sk_hlist_node, the lookahead
 * @head: the head
 */
#define sk_hlist_for_each_safe(pos, n, head)                                  \
	for (pos = SK__HLIST_FIRST(head); pos && __extension__({ n = SK__HLIST_NEXT(pos); 1; }); \
	     pos = n)

/**
 * sk_hlist_for_each_entry() - walk the entries of an hlist
 * @pos: the entry cursor (a pointer to the containing type)
 * @head: the head
 * @member: the &struct sk_hlist_node within the entry
 */
#define sk_hlist_for_each_entry(pos, head, member)                            \
	for (pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_FIRST(head), pos, member); pos; \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT(&(pos)->member), pos, member))

/**
 * sk_hlist_for_each_entry_continue() - continue an hlist walk after an entry
 * @pos: the entry cursor: the walk starts at the entry after it
 * @member: the &struct sk_hlist_node within the entry
 */
#define sk_hlist_for_each_entry_continue(pos, member)                         \
	for (pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT(&(pos)->member), pos, member); pos; \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT(&(pos)->member), pos, member))

/**
 * sk_hlist_for_each_entry_from() - an hlist walk from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @member: the &struct sk_hlist_node within the entry
 */
#define sk_hlist_for_each_entry_from(pos, member)                             \
	for (; pos; pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT(&(pos)->member), pos, member))

/**
 * sk_hlist_for_each_entry_safe() - walk the entries, allowing the current one's removal
 * @pos: the entry cursor
 * @n: a &struct sk_hlist_node pointer, the lookahead
 * @head: the head
 * @member: the &struct sk_hlist_node within the entry
 */
#define sk_hlist_for_each_entry_safe(pos, n, head, member)                    \
	for (pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_FIRST(head), pos, member);  \
	     pos && __extension__({ n = SK__HLIST_NEXT(&(pos)->member); 1; });   \
	     pos = SK__HLIST_ENTRY_OR_NULL(n, pos, member))

/* sk__hlist_count_nodes() - internal form of sk_hlist_count_nodes(). */
static inline size_t sk__hlist_count_nodes(const struct sk_hlist_head *head,
					   const struct sk_callsite *cs)
{
	const struct sk_hlist_node *pos;
	size_t count = 0;

	(void)cs;
#ifdef SK_DEBUG
	for (pos = sk__hlist_first(head, cs); pos; pos = sk__hlist_next(pos, cs))
		count++;
#else
	for (pos = head->first; pos; pos = pos->next)
		count++;
#endif
	return count;
}

/**
 * sk_hlist_count_nodes() - count the nodes of an hlist
 * @head: the head
 *
 * O(n).  Debug: each step is checked, as in sk_hlist_for_each().
 *
 * Return: the number of nodes.
 */
#define sk_hlist_count_nodes(head) sk__hlist_count_nodes((head), SK_CALLSITE)

/**
 * sk_hlist_check() - walk a whole hlist and report where it breaks
 * @head: the head
 *
 * At any check level: each node's pprev must designate the pointer that
 * led to it (the head's first or the previous node's next), and no next
 * pointer may be poison.  The first break is reported once.  O(n).
 *
 * Context: the caller serialises operations on the list.
 * Return: true if the chain is consistent, false after a report.
 */
#define sk_hlist_check(head) sk__hlist_check((head), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_LIST_H */
