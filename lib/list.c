/* SPDX-License-Identifier: MIT */
/*
 * lib/list.c - the out-of-line half of safekern/list.h: the cold reporters
 * behind its inline checks, the debug membership walks, and the full-list
 * validators sk_list_check() / sk_hlist_check().
 *
 * Every reporter is reached from the unlikely branch of a failed inline
 * check, in the consumer's code.  It re-examines the nodes in the same
 * order as the check, never following a NULL or poisoned pointer, and
 * makes exactly one report: the most specific kind that applies, with a
 * description in the style of the kernel's list_debug.c.  The return
 * address it reports is its own return address: the consumer's code,
 * where the check was inlined.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <safekern/list.h>
#include <safekern/violation.h>

#include "violation-internal.h"

#define POISON1 ((const void *)SK_LIST_POISON1)
#define POISON2 ((const void *)SK_LIST_POISON2)

#define LIST_CORRUPTION SK_VIOLATION_LIST_CORRUPTION
#define LIST_DOUBLE_ADD SK_VIOLATION_LIST_DOUBLE_ADD
#define LIST_DOUBLE_DEL SK_VIOLATION_LIST_DOUBLE_DEL
#define LIST_UNINITIALIZED SK_VIOLATION_LIST_UNINITIALIZED
#define INVALID_ARGUMENT SK_VIOLATION_INVALID_ARGUMENT

/* Report through the channel, from a reporter that captured @ip and has @cs. */
#define REPORT(kind, obj, ...) sk__violation((kind), (obj), cs, ip, __VA_ARGS__)

static bool bad(const void *p)
{
	return sk__list_bad(p);
}

static bool is_poison(const void *p)
{
	return p == POISON1 || p == POISON2;
}

/* How a pointer that failed sk__list_bad() reads in a report. */
static const char *bad_name(const void *p)
{
	if (!p)
		return "NULL";
	if (p == POISON1)
		return "LIST_POISON1";
	if (p == POISON2)
		return "LIST_POISON2";
	return "not a pointer";
}

/*
 * An argument the caller passed is NULL or poison (debug-level checks): a
 * NULL argument is one no correct call passes; a poisoned one was read
 * from a deleted entry's link.  Returns true if it reported.
 */
static bool report_bad_arg(const void *arg, const char *op, const char *name,
			   const struct sk_callsite *cs, const void *ip)
{
	if (!bad(arg))
		return false;
	if (!arg)
		REPORT(INVALID_ARGUMENT, arg, "%s: %s is NULL", op, name);
	else
		REPORT(LIST_CORRUPTION, arg,
		       "%s: %s is %s (%p): a link of a deleted entry was followed", op, name,
		       bad_name(arg), arg);
	return true;
}

/*
 * A head (or an entry used as a position) whose link is NULL or poison:
 * NULL means it was never initialised; poison means it is a deleted entry.
 */
static void report_bad_head_link(const void *head, const void *link, const char *op,
				  const char *what, const char *field,
				  const struct sk_callsite *cs, const void *ip)
{
	if (!link)
		REPORT(LIST_UNINITIALIZED, head,
		       "%s: %s %p was never initialised (%s is NULL)", op, what, head, field);
	else if (is_poison(link))
		REPORT(LIST_CORRUPTION, head,
		       "%s: %s %p is a deleted entry (%s is %s)", op, what, head, field,
		       bad_name(link));
	else
		REPORT(LIST_CORRUPTION, head, "%s: %s %p has %s = %p, not a pointer", op, what,
		       head, field, link);
}

static void report_inconsistent(const void *obj, const char *op, const struct sk_callsite *cs,
				const void *ip)
{
	REPORT(LIST_CORRUPTION, obj,
	       "%s: the list changed while it was being checked "
	       "(concurrent modification without the lock?)", op);
}

/* ------------------------------------------------------------------------
 * list reporters
 * ------------------------------------------------------------------------ */

void sk__list_report_add(struct sk_list_head *entry, const struct sk_list_head *head,
			 bool tail, const char *op, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *prev, *next;

	if (report_bad_arg(entry, op, "the new entry", cs, ip) ||
	    report_bad_arg(head, op, "the head", cs, ip))
		return;
	prev = tail ? head->prev : head;
	next = tail ? head : head->next;
	if (bad(tail ? prev : next)) {
		report_bad_head_link(head, tail ? prev : next, op, "head", tail ? "prev" : "next",
				     cs, ip);
		return;
	}
	if (entry == prev || entry == next) {
		REPORT(LIST_DOUBLE_ADD, entry,
		       "%s double add: new=%p, prev=%p, next=%p: the entry is already there",
		       op, (const void *)entry, (const void *)prev, (const void *)next);
		return;
	}
	if (next->prev != prev) {
		REPORT(LIST_CORRUPTION, next,
		       "%s corruption: next->prev should be prev (%p), but was %p (next=%p)", op,
		       (const void *)prev, (const void *)next->prev, (const void *)next);
		return;
	}
	if (prev->next != next) {
		REPORT(LIST_CORRUPTION, prev,
		       "%s corruption: prev->next should be next (%p), but was %p (prev=%p)", op,
		       (const void *)next, (const void *)prev->next, (const void *)prev);
		return;
	}
	report_inconsistent(head, op, cs, ip);
}

/* The delete half, shared by del and replace (@what: "entry", "old entry"). */
static void report_unlink(const struct sk_list_head *entry, const char *op, const char *what,
			  const struct sk_callsite *cs, const void *ip)
{
	const struct sk_list_head *next = entry->next, *prev = entry->prev;

	if (is_poison(next) || is_poison(prev)) {
		REPORT(LIST_DOUBLE_DEL, entry,
		       "%s: %s %p was already deleted (next=%s, prev=%s)", op, what,
		       (const void *)entry, bad(next) ? bad_name(next) : "?",
		       bad(prev) ? bad_name(prev) : "?");
		return;
	}
	if (!next || !prev) {
		REPORT(LIST_UNINITIALIZED, entry,
		       "%s: %s %p was never initialised or added (next=%p, prev=%p)", op, what,
		       (const void *)entry, (const void *)next, (const void *)prev);
		return;
	}
	if (bad(next) || bad(prev)) {
		REPORT(LIST_CORRUPTION, entry, "%s: %s %p has invalid links (next=%p, prev=%p)",
		       op, what, (const void *)entry, (const void *)next, (const void *)prev);
		return;
	}
	if (next->prev != entry) {
		REPORT(LIST_CORRUPTION, entry,
		       "%s corruption: next->prev should be %p, but was %p (next=%p)", op,
		       (const void *)entry, (const void *)next->prev, (const void *)next);
		return;
	}
	if (prev->next != entry) {
		REPORT(LIST_CORRUPTION, entry,
		       "%s corruption: prev->next should be %p, but was %p (prev=%p)", op,
		       (const void *)entry, (const void *)prev->next, (const void *)prev);
		return;
	}
	report_inconsistent(entry, op, cs, ip);
}

void sk__list_report_del(const struct sk_list_head *entry, const char *op,
			 const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;

	if (report_bad_arg(entry, op, "the entry", cs, ip))
		return;
	report_unlink(entry, op, "entry", cs, ip);
}

void sk__list_report_replace(const struct sk_list_head *old, struct sk_list_head *entry,
			     const char *op, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *next, *prev;

	if (report_bad_arg(old, op, "the old entry", cs, ip) ||
	    report_bad_arg(entry, op, "the new entry", cs, ip))
		return;
	next = old->next;
	prev = old->prev;
	if (!bad(next) && !bad(prev) && (entry == old || entry == next || entry == prev)) {
		REPORT(LIST_DOUBLE_ADD, entry,
		       "%s: the new entry %p is the old entry or its neighbour: already on the list",
		       op, (const void *)entry);
		return;
	}
	report_unlink(old, op, "old entry", cs, ip);
}

void sk__list_report_head(const struct sk_list_head *head, const char *op,
			  const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;

	if (report_bad_arg(head, op, "the head", cs, ip))
		return;
	if (bad(head->next)) {
		report_bad_head_link(head, head->next, op, "head", "next", cs, ip);
		return;
	}
	report_inconsistent(head, op, cs, ip);
}

void sk__list_report_step(const struct sk_list_head *head, const struct sk_list_head *pos,
			  bool reverse, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const char *op = reverse ? "list walk (reverse)" : "list walk";
	const char *field = reverse ? "prev" : "next";
	const struct sk_list_head *link = reverse ? pos->prev : pos->next;

	if (link == pos && pos != head) {
		REPORT(LIST_CORRUPTION, pos,
		       "%s of %p: entry %p was taken off the list with del_init during the walk "
		       "(it points to itself); delete the current entry only in a _safe walk; "
		       "walk stopped", op, (const void *)head, (const void *)pos);
		return;
	}
	if (bad(link)) {
		if (pos == head)
			report_bad_head_link(head, link, op, "head", field, cs, ip);
		else if (is_poison(link))
			REPORT(LIST_CORRUPTION, pos,
			       "%s of %p: entry %p was deleted during the walk (%s is %s); "
			       "delete the current entry only in a _safe walk; walk stopped",
			       op, (const void *)head, (const void *)pos, field, bad_name(link));
		else
			REPORT(LIST_CORRUPTION, pos, "%s of %p: entry %p has %s = %p; walk stopped",
			       op, (const void *)head, (const void *)pos, field, (const void *)link);
		return;
	}
	if ((reverse ? link->next : link->prev) != pos) {
		REPORT(LIST_CORRUPTION, pos,
		       "%s of %p: %p->%s is %p, but its %s is %p, not %p; walk stopped", op,
		       (const void *)head, (const void *)pos, field, (const void *)link,
		       reverse ? "next" : "prev",
		       (const void *)(reverse ? link->next : link->prev), (const void *)pos);
		return;
	}
	report_inconsistent(pos, op, cs, ip);
}

void sk__list_report_splice(const struct sk_list_head *list, const struct sk_list_head *head,
			    bool tail, const char *op, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *first, *last, *prev, *next;

	if (report_bad_arg(head, op, "the head", cs, ip) ||
	    report_bad_arg(list, op, "the list", cs, ip))
		return;
	first = list->next;
	last = list->prev;
	if (bad(first) || bad(last)) {
		report_bad_head_link(list, bad(first) ? first : last, op, "list",
				     bad(first) ? "next" : "prev", cs, ip);
		return;
	}
	prev = tail ? head->prev : head;
	next = tail ? head : head->next;
	if (bad(tail ? prev : next)) {
		report_bad_head_link(head, tail ? prev : next, op, "head", tail ? "prev" : "next",
				     cs, ip);
		return;
	}
	if (list == prev || list == next) {
		REPORT(LIST_DOUBLE_ADD, list,
		       "%s: splicing list %p into itself (the head %p is next to it)", op,
		       (const void *)list, (const void *)head);
		return;
	}
	if (first->prev != list) {
		REPORT(LIST_CORRUPTION, list,
		       "%s corruption: list->next->prev should be %p, but was %p (first=%p)", op,
		       (const void *)list, (const void *)first->prev, (const void *)first);
		return;
	}
	if (last->next != list) {
		REPORT(LIST_CORRUPTION, list,
		       "%s corruption: list->prev->next should be %p, but was %p (last=%p)", op,
		       (const void *)list, (const void *)last->next, (const void *)last);
		return;
	}
	if (next->prev != prev) {
		REPORT(LIST_CORRUPTION, head,
		       "%s corruption: next->prev should be prev (%p), but was %p (next=%p)", op,
		       (const void *)prev, (const void *)next->prev, (const void *)next);
		return;
	}
	if (prev->next != next) {
		REPORT(LIST_CORRUPTION, head,
		       "%s corruption: prev->next should be next (%p), but was %p (prev=%p)", op,
		       (const void *)next, (const void *)prev->next, (const void *)prev);
		return;
	}
	report_inconsistent(head, op, cs, ip);
}

void sk__list_report_cut(const struct sk_list_head *list, const struct sk_list_head *head,
			 const struct sk_list_head *entry, bool before, const char *op,
			 const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *first, *edge;

	if (report_bad_arg(list, op, "the list", cs, ip) ||
	    report_bad_arg(head, op, "the head", cs, ip) ||
	    report_bad_arg(entry, op, "the entry", cs, ip))
		return;
	first = head->next;
	if (bad(first)) {
		report_bad_head_link(head, first, op, "head", "next", cs, ip);
		return;
	}
	if (first->prev != head) {
		REPORT(LIST_CORRUPTION, head,
		       "%s corruption: head->next->prev should be %p, but was %p (next=%p)", op,
		       (const void *)head, (const void *)first->prev, (const void *)first);
		return;
	}
	if (before && first == head && entry != head) {
		REPORT(INVALID_ARGUMENT, entry, "%s: the list %p is empty: entry %p is not on it",
		       op, (const void *)head, (const void *)entry);
		return;
	}
	edge = before ? entry->prev : entry->next;
	if (bad(edge)) {
		report_bad_head_link(entry, edge, op, "entry", before ? "prev" : "next", cs, ip);
		return;
	}
	if ((before ? edge->next : edge->prev) != entry) {
		REPORT(LIST_CORRUPTION, entry,
		       "%s corruption: %s->%s should be %p, but was %p (%s=%p)", op,
		       before ? "entry->prev" : "entry->next", before ? "next" : "prev",
		       (const void *)entry, (const void *)(before ? edge->next : edge->prev),
		       before ? "prev" : "next", (const void *)edge);
		return;
	}
	if (list == head || list == entry || list == first || list == edge) {
		REPORT(INVALID_ARGUMENT, list,
		       "%s: the receiving list %p is the head or an entry of the list being cut",
		       op, (const void *)list);
		return;
	}
	report_inconsistent(head, op, cs, ip);
}

void sk__list_report_bulk(const struct sk_list_head *head, const struct sk_list_head *first,
			  const struct sk_list_head *last, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const char *op = "list_bulk_move_tail";
	const struct sk_list_head *fp, *ln, *hp;

	if (report_bad_arg(head, op, "the head", cs, ip) ||
	    report_bad_arg(first, op, "first", cs, ip) ||
	    report_bad_arg(last, op, "last", cs, ip))
		return;
	fp = first->prev;
	ln = last->next;
	hp = head->prev;
	if (bad(fp)) {
		report_bad_head_link(first, fp, op, "first", "prev", cs, ip);
		return;
	}
	if (bad(ln)) {
		report_bad_head_link(last, ln, op, "last", "next", cs, ip);
		return;
	}
	if (bad(hp)) {
		report_bad_head_link(head, hp, op, "head", "prev", cs, ip);
		return;
	}
	if (fp->next != first) {
		REPORT(LIST_CORRUPTION, first,
		       "%s corruption: first->prev->next should be %p, but was %p (prev=%p)", op,
		       (const void *)first, (const void *)fp->next, (const void *)fp);
		return;
	}
	if (ln->prev != last) {
		REPORT(LIST_CORRUPTION, last,
		       "%s corruption: last->next->prev should be %p, but was %p (next=%p)", op,
		       (const void *)last, (const void *)ln->prev, (const void *)ln);
		return;
	}
	if (hp->next != head) {
		REPORT(LIST_CORRUPTION, head,
		       "%s corruption: head->prev->next should be %p, but was %p (prev=%p)", op,
		       (const void *)head, (const void *)hp->next, (const void *)hp);
		return;
	}
	if (head == first || head == last) {
		REPORT(INVALID_ARGUMENT, head, "%s: the head %p is an end of the run it receives",
		       op, (const void *)head);
		return;
	}
	report_inconsistent(head, op, cs, ip);
}

/*
 * One checked step of a library walk: the link from @pos must be a pointer
 * and point back.  @base is where the walk started (@label names it: "the
 * head", "first") and @index is @pos's distance from it.  Reports (as @op)
 * and returns NULL if not.
 */
static SK_COLD SK_NOINLINE const struct sk_list_head *
walk_broken(const struct sk_list_head *base, const char *label, const struct sk_list_head *pos,
	    size_t index, const char *op, const struct sk_callsite *cs, const void *ip);

static inline const struct sk_list_head *walk_step(const struct sk_list_head *base,
						   const char *label,
						   const struct sk_list_head *pos, size_t index,
						   const char *op, const struct sk_callsite *cs,
						   const void *ip)
{
	const struct sk_list_head *next = pos->next;

	if (sk_likely(!bad(next) && next->prev == pos))
		return next;
	return walk_broken(base, label, pos, index, op, cs, ip);
}

/* The report of a failed walk_step(): NULL. */
static const struct sk_list_head *walk_broken(const struct sk_list_head *base, const char *label,
					      const struct sk_list_head *pos, size_t index,
					      const char *op, const struct sk_callsite *cs,
					      const void *ip)
{
	const struct sk_list_head *next = pos->next;
	char where[96];

	if (pos == base)
		snprintf(where, sizeof(where), "%s %p", label, (const void *)pos);
	else
		snprintf(where, sizeof(where), "entry #%zu (%p) after %s %p", index - 1,
			 (const void *)pos, label, (const void *)base);
	if (bad(next)) {
		if (pos == base && !next)
			report_bad_head_link(pos, next, op, label, "next", cs, ip);
		else
			REPORT(LIST_CORRUPTION, base, "%s: the ring breaks at %s: next is %s%s", op,
			       where, bad_name(next),
			       is_poison(next) ? " (a deleted entry is still linked)" : "");
		return NULL;
	}
	REPORT(LIST_CORRUPTION, base, "%s: the ring breaks after %s: its next %p has prev %p", op,
	       where, (const void *)next, (const void *)next->prev);
	return NULL;
}

/*
 * Walks the ring of @base (@label names it in reports), checking every
 * link with walk_step(), looking for @target among its entries: 1 and its
 * index in *@index if found, 0 if not, -1 after reporting a broken link.
 */
static int ring_find(const struct sk_list_head *base, const char *label,
		     const struct sk_list_head *target, size_t *index, const char *op,
		     const struct sk_callsite *cs, const void *ip)
{
	const struct sk_list_head *pos = base;

	for (size_t i = 0;; i++) {
		pos = walk_step(base, label, pos, i, op, cs, ip);
		if (!pos)
			return -1;
		if (pos == base)
			return 0;
		if (pos == target) {
			*index = i;
			return 1;
		}
	}
}

bool sk__list_debug_cut(const struct sk_list_head *head, const struct sk_list_head *entry,
			const struct sk_list_head *list, const char *op,
			const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *pos = head;
	bool has_entry = entry == head, has_list = false;

	/* One walk of @head's ring for both: @entry must be on it, @list not. */
	for (size_t i = 0;; i++) {
		pos = walk_step(head, "the head", pos, i, op, cs, ip);
		if (!pos)
			return false;
		if (pos == head)
			break;
		has_entry |= pos == entry;
		has_list |= pos == list;
	}
	if (!has_entry) {
		REPORT(INVALID_ARGUMENT, entry, "%s: entry %p is not on the list %p", op,
		       (const void *)entry, (const void *)head);
		return false;
	}
	if (has_list) {
		REPORT(INVALID_ARGUMENT, list,
		       "%s: the receiving list %p is an entry of the list %p being cut; nothing "
		       "moved", op, (const void *)list, (const void *)head);
		return false;
	}
	return true;
}

bool sk__list_debug_splice(const struct sk_list_head *list, const struct sk_list_head *head,
			   const char *op, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	size_t i;
	int found = ring_find(list, "the list", head, &i, op, cs, ip);

	if (found == 1)
		REPORT(LIST_DOUBLE_ADD, head,
		       "%s: %p is entry #%zu of the list %p spliced into it (splicing a list "
		       "into itself)",
		       op, (const void *)head, i, (const void *)list);
	return found == 0;
}

bool sk__list_debug_range(const struct sk_list_head *head, const struct sk_list_head *first,
			  const struct sk_list_head *last, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const char *op = "list_bulk_move_tail";
	const struct sk_list_head *pos = first;
	size_t i = 0;

	for (;;) {
		if (pos == head) {
			REPORT(INVALID_ARGUMENT, head,
			       "%s: the run %p..%p contains the head %p it is moved to", op,
			       (const void *)first, (const void *)last, (const void *)head);
			return false;
		}
		if (pos == last)
			return true;
		pos = walk_step(first, "first", pos, i++, op, cs, ip);
		if (!pos)
			return false;
		if (pos == first) {
			REPORT(INVALID_ARGUMENT, last, "%s: last %p does not follow first %p", op,
			       (const void *)last, (const void *)first);
			return false;
		}
	}
}

bool sk__list_check(const struct sk_list_head *head, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_list_head *pos = head;
	size_t i = 0;

	if (report_bad_arg(head, "list_check", "the head", cs, ip))
		return false;
	do {
		pos = walk_step(head, "the head", pos, i++, "list_check", cs, ip);
		if (!pos)
			return false;
	} while (pos != head);
	return true;
}

/* ------------------------------------------------------------------------
 * hlist reporters
 * ------------------------------------------------------------------------ */

void sk__hlist_report_add(struct sk_hlist_node *n, const void *where, int how,
			  const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	static const char *const ops[] = { "hlist_add_head", "hlist_add_before",
					   "hlist_add_behind", "hlist_add_tail_rcu" };
	const char *op = ops[how];
	bool head = how == SK__HLIST_ADD_HEAD || how == SK__HLIST_ADD_TAIL;

	if (report_bad_arg(n, op, "the new node", cs, ip) ||
	    report_bad_arg(where, op, head ? "the head" : "the node", cs, ip))
		return;
	if (how == SK__HLIST_ADD_TAIL) {
		REPORT(LIST_DOUBLE_ADD, n, "%s double add: %p is already on %p", op,
		       (const void *)n, where);
	} else if (how == SK__HLIST_ADD_HEAD) {
		const struct sk_hlist_head *h = (const struct sk_hlist_head *)where;
		const struct sk_hlist_node *first = h->first;

		if (first && bad(first)) {
			report_bad_head_link(h, first, op, "head", "first", cs, ip);
		} else if (n == first) {
			REPORT(LIST_DOUBLE_ADD, n, "%s double add: %p is already the first node of %p",
			       op, (const void *)n, (const void *)h);
		} else if (first && first->pprev != &h->first) {
			REPORT(LIST_CORRUPTION, h,
			       "%s corruption: first->pprev should be %p, but was %p (first=%p)", op,
			       (const void *)&h->first, (const void *)first->pprev,
			       (const void *)first);
		} else {
			report_inconsistent(h, op, cs, ip);
		}
	} else if (how == SK__HLIST_ADD_BEFORE) {
		const struct sk_hlist_node *next = (const struct sk_hlist_node *)where;
		struct sk_hlist_node *const *pprev = next->pprev;

		if (!pprev)
			REPORT(LIST_UNINITIALIZED, next,
			       "%s: the node %p to add before is not hashed (pprev is NULL)", op,
			       (const void *)next);
		else if (bad(pprev))
			report_bad_head_link(next, pprev, op, "node", "pprev", cs, ip);
		else if (n == next || pprev == &n->next)
			REPORT(LIST_DOUBLE_ADD, n, "%s double add: %p is already before %p", op,
			       (const void *)n, (const void *)next);
		else if (*pprev != next)
			REPORT(LIST_CORRUPTION, next,
			       "%s corruption: *next->pprev should be %p, but was %p (pprev=%p)", op,
			       (const void *)next, (const void *)*pprev, (const void *)pprev);
		else
			report_inconsistent(next, op, cs, ip);
	} else {
		const struct sk_hlist_node *prev = (const struct sk_hlist_node *)where;
		const struct sk_hlist_node *next = prev->next;

		if (next && bad(next))
			report_bad_head_link(prev, next, op, "node", "next", cs, ip);
		else if (!prev->pprev)
			REPORT(LIST_UNINITIALIZED, prev,
			       "%s: the node %p to add behind is not hashed (pprev is NULL)", op,
			       (const void *)prev);
		else if (bad(prev->pprev))
			report_bad_head_link(prev, prev->pprev, op, "node", "pprev", cs, ip);
		else if (prev->pprev == &prev->next)
			REPORT(INVALID_ARGUMENT, prev,
			       "%s: the node %p to add behind is a fake node (hlist_add_fake), on "
			       "no chain", op, (const void *)prev);
		else if (*prev->pprev != prev)
			REPORT(LIST_CORRUPTION, prev,
			       "%s corruption: *prev->pprev should be %p, but was %p (pprev=%p)", op,
			       (const void *)prev, (const void *)*prev->pprev,
			       (const void *)prev->pprev);
		else if (n == prev || n == next)
			REPORT(LIST_DOUBLE_ADD, n, "%s double add: %p is %p or already after it", op,
			       (const void *)n, (const void *)prev);
		else if (next && next->pprev != &prev->next)
			REPORT(LIST_CORRUPTION, prev,
			       "%s corruption: next->pprev should be %p, but was %p (next=%p)", op,
			       (const void *)&prev->next, (const void *)next->pprev,
			       (const void *)next);
		else
			report_inconsistent(prev, op, cs, ip);
	}
}

void sk__hlist_report_del(const struct sk_hlist_node *n, const char *op,
			  const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	struct sk_hlist_node *const *pprev;
	const struct sk_hlist_node *next;

	if (report_bad_arg(n, op, "the node", cs, ip))
		return;
	pprev = n->pprev;
	next = n->next;
	if (is_poison(pprev)) {
		REPORT(LIST_DOUBLE_DEL, n, "%s: node %p was already deleted (next=%s, pprev=%s)", op,
		       (const void *)n, bad(next) ? bad_name(next) : "?", bad_name(pprev));
		return;
	}
	if (!pprev) {
		REPORT(LIST_UNINITIALIZED, n,
		       "%s: node %p is not hashed (pprev is NULL: never added, or already "
		       "deleted with hlist_del_init)", op, (const void *)n);
		return;
	}
	if (bad(pprev)) {
		REPORT(LIST_CORRUPTION, n, "%s: node %p has pprev = %p, not a pointer", op,
		       (const void *)n, (const void *)pprev);
		return;
	}
	if (pprev == &n->next && next) {
		if (bad(next))
			REPORT(LIST_CORRUPTION, n,
			       "%s: fake node %p has next = %s: it was deleted before it was "
			       "faked; initialise it first", op, (const void *)n, bad_name(next));
		else
			REPORT(LIST_CORRUPTION, n,
			       "%s: fake node %p is on no list but has next = %p (a stale link); "
			       "deleting it would rewrite that node's pprev", op, (const void *)n,
			       (const void *)next);
		return;
	}
	if (*pprev != n) {
		REPORT(LIST_CORRUPTION, n, "%s corruption: *pprev should be %p, but was %p (pprev=%p)",
		       op, (const void *)n, (const void *)*pprev, (const void *)pprev);
		return;
	}
	if (next && bad(next)) {
		REPORT(LIST_CORRUPTION, n, "%s: node %p has next = %s%s", op, (const void *)n,
		       bad_name(next), is_poison(next) ? " (a deleted node is still linked)" : "");
		return;
	}
	if (next && next->pprev != &n->next) {
		REPORT(LIST_CORRUPTION, n,
		       "%s corruption: next->pprev should be %p, but was %p (next=%p)", op,
		       (const void *)&n->next, (const void *)next->pprev, (const void *)next);
		return;
	}
	report_inconsistent(n, op, cs, ip);
}

/*
 * One checked hlist step: the node after @pos (or the first, from @head).
 * @index is the step's number from the head (0: the head's first link, so
 * @pos is node #index-1, numbered from 0 as sk_list_check() numbers
 * entries), or SIZE_MAX where the caller does not know it (a walk).
 */
static bool hlist_step_ok(const struct sk_hlist_head *head, const struct sk_hlist_node *pos,
			  size_t index, const char *op, const struct sk_callsite *cs,
			  const void *ip)
{
	const struct sk_hlist_node *next = pos ? pos->next : head->first;
	struct sk_hlist_node *const *expect = pos ? &pos->next : &head->first;
	char where[64];

	if (!next)
		return true;
	if (!pos)
		snprintf(where, sizeof(where), "the head %p", (const void *)head);
	else if (index == SIZE_MAX)
		snprintf(where, sizeof(where), "node %p", (const void *)pos);
	else
		snprintf(where, sizeof(where), "node #%zu (%p)", index - 1, (const void *)pos);
	if (bad(next)) {
		if (!pos)
			report_bad_head_link(head, next, op, "head", "first", cs, ip);
		else
			REPORT(LIST_CORRUPTION, pos, "%s: %s has next = %s%s", op, where,
			       bad_name(next),
			       is_poison(next) ? " (deleted during the walk? delete only in a _safe walk)"
					       : "");
		return false;
	}
	if (next->pprev != expect) {
		REPORT(LIST_CORRUPTION, next,
		       "%s: the chain breaks after %s: its next %p has pprev %p, not %p", op, where,
		       (const void *)next, (const void *)next->pprev, (const void *)expect);
		return false;
	}
	return true;
}

void sk__hlist_report_step(const struct sk_hlist_head *head, const struct sk_hlist_node *pos,
			   const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;

	if (!pos && report_bad_arg(head, "hlist walk", "the head", cs, ip))
		return;
	if (pos && !pos->next && !pos->pprev) {
		REPORT(LIST_CORRUPTION, pos,
		       "hlist walk: the cursor %p was taken off its chain (hlist_del_init()) "
		       "during a walk that is not a _safe one; the walk ends here, the rest of "
		       "the chain unvisited", (const void *)pos);
		return;
	}
	if (hlist_step_ok(head, pos, SIZE_MAX, "hlist walk", cs, ip))
		report_inconsistent(pos ? (const void *)pos : (const void *)head, "hlist walk", cs,
				    ip);
}

void sk__hlist_report_move(const struct sk_hlist_head *from, const struct sk_hlist_node *last,
			   const struct sk_hlist_head *to, const char *op,
			   const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_hlist_node *first;

	if (report_bad_arg(from, op, last ? "from" : "old", cs, ip) ||
	    report_bad_arg(to, op, last ? "to" : "new", cs, ip))
		return;
	if (last && report_bad_arg(last, op, "last", cs, ip))
		return;
	first = from->first;
	if (last && !first) {
		REPORT(INVALID_ARGUMENT, from, "%s: the list %p is empty, yet last=%p was given", op,
		       (const void *)from, (const void *)last);
		return;
	}
	if (!hlist_step_ok(from, NULL, 0, op, cs, ip))
		return;
	if (last) {
		if (last->next) {
			REPORT(INVALID_ARGUMENT, last, "%s: last %p is not the last node (next=%p)",
			       op, (const void *)last, (const void *)last->next);
			return;
		}
		if (from == to) {
			REPORT(INVALID_ARGUMENT, from, "%s: splicing the list %p into itself", op,
			       (const void *)from);
			return;
		}
		if (!hlist_step_ok(to, NULL, 0, op, cs, ip))
			return;
	}
	report_inconsistent(from, op, cs, ip);
}

bool sk__hlist_debug_contains(const struct sk_hlist_head *head, const struct sk_hlist_node *n,
			      const char *op, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_hlist_node *pos = NULL;
	size_t i = 0;

	for (;;) {
		if (!hlist_step_ok(head, pos, i++, op, cs, ip))
			return false;
		pos = pos ? pos->next : head->first;
		if (!pos)
			break;
		if (pos == n)
			return true;
	}
	REPORT(INVALID_ARGUMENT, n, "%s: node %p is not on the list %p", op, (const void *)n,
	       (const void *)head);
	return false;
}

bool sk__hlist_check(const struct sk_hlist_head *head, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	const struct sk_hlist_node *pos = NULL;
	size_t i = 0;

	if (report_bad_arg(head, "hlist_check", "the head", cs, ip))
		return false;
	for (;;) {
		if (!hlist_step_ok(head, pos, i++, "hlist_check", cs, ip))
			return false;
		pos = pos ? pos->next : head->first;
		if (!pos)
			return true;
	}
}
