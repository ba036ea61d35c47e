/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/list.h - the raw-C baseline of the "list" groups: the kernel's
 * list.h as userspace programs copy it, with no checks at all (plain
 * stores, the low 0x100/0x122 poisons of the copies).
 *
 * raw_list_add() stores in the same order as sk_list_add(), the new
 * entry's two pointers apart.  raw_list_add_kernel_order() is the kernel's
 * verbatim order (next->prev, new->next, new->prev, prev->next), which
 * gcc 12 -O2 vectorises into one 16-byte store of new->next/new->prev: one
 * store fewer, but a delete (or a checked add next to it) that reads the
 * entry back at once stalls on store forwarding.  Each list group takes
 * the faster of the two as its baseline (bench/group-list.c).
 */
#ifndef SK_BENCH_RAW_LIST_H
#define SK_BENCH_RAW_LIST_H

#include <stddef.h>

struct raw_list_head {
	struct raw_list_head *next, *prev;
};

#define RAW_LIST_POISON1 ((struct raw_list_head *)0x100)
#define RAW_LIST_POISON2 ((struct raw_list_head *)0x122)

#define raw_list_entry(ptr, type, member)                                     \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void raw_init_list_head(struct raw_list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void raw__list_add(struct raw_list_head *new_, struct raw_list_head *prev,
				 struct raw_list_head *next)
{
	new_->next = next;
	next->prev = new_;
	new_->prev = prev;
	prev->next = new_;
}

static inline void raw__list_add_kernel_order(struct raw_list_head *new_,
					      struct raw_list_head *prev,
					      struct raw_list_head *next)
{
	next->prev = new_;
	new_->next = next;
	new_->prev = prev;
	prev->next = new_;
}

static inline void raw_list_add(struct raw_list_head *new_, struct raw_list_head *head)
{
	raw__list_add(new_, head, head->next);
}

static inline void raw_list_add_tail(struct raw_list_head *new_, struct raw_list_head *head)
{
	raw__list_add(new_, head->prev, head);
}

static inline void raw_list_add_kernel_order(struct raw_list_head *new_,
					     struct raw_list_head *head)
{
	raw__list_add_kernel_order(new_, head, head->next);
}

static inline void raw_list_add_tail_kernel_order(struct raw_list_head *new_,
						  struct raw_list_head *head)
{
	raw__list_add_kernel_order(new_, head->prev, head);
}

static inline void raw_list_del(struct raw_list_head *entry)
{
	struct raw_list_head *next = entry->next, *prev = entry->prev;

	next->prev = prev;
	prev->next = next;
	entry->next = RAW_LIST_POISON1;
	entry->prev = RAW_LIST_POISON2;
}

static inline int raw_list_empty(const struct raw_list_head *head)
{
	return head->next == head;
}

static inline void raw_list_splice_init(struct raw_list_head *list, struct raw_list_head *head)
{
	if (!raw_list_empty(list)) {
		struct raw_list_head *first = list->next, *last = list->prev;
		struct raw_list_head *next = head->next;

		first->prev = head;
		head->next = first;
		last->next = next;
		next->prev = last;
		raw_init_list_head(list);
	}
}

#define raw_list_for_each_entry(pos, head, member)                            \
	for (pos = raw_list_entry((head)->next, __typeof__(*(pos)), member);  \
	     &pos->member != (head);                                          \
	     pos = raw_list_entry(pos->member.next, __typeof__(*(pos)), member))

#endif
