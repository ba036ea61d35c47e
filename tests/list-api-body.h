/* SPDX-License-Identifier: MIT */
/*
 * tests/list-api-body.h - one test per list operation, in the spirit of
 * the kernel's KUnit list suite (lib/list-test.c), written once and
 * compiled twice: with the sk_ names (test-list.c) and with the kernel's
 * names through the compat header (test-list-compat.c).  The includer
 * defines LIST_API_SUITE and includes a list-names-*.h first.
 *
 * Every test checks the exact pointers of the resulting ring, not just
 * the order, and checks that correct use reported nothing.
 */
#ifndef LIST_API_SUITE
#error "define LIST_API_SUITE and include a list-names-*.h first"
#endif

#include <string.h>

#include <safekern/alloc.h>

#include "sk-test.h"

struct lt {
	int data;
	struct LN(list_head) list;
};

/*
 * check_ring() - @head's ring is exactly @nodes, in order: every next and
 * prev pointer, including the head's.
 */
static void check_ring(const struct LN(list_head) *head, struct LN(list_head) *const *nodes,
		       size_t n, int line)
{
	const struct LN(list_head) *prev = head;

	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(prev->next, nodes[i], "line %d: node %zu: prev->next", line, i);
		cr_assert_eq(nodes[i]->prev, prev, "line %d: node %zu: prev link", line, i);
		prev = nodes[i];
	}
	cr_assert_eq(prev->next, head, "line %d: last->next is not the head", line);
	cr_assert_eq(head->prev, prev, "line %d: head->prev is not the last", line);
}
#define CHECK_RING(head, ...)                                                 \
	do {                                                                  \
		struct LN(list_head) *const ring_[] = { __VA_ARGS__ };        \
		check_ring((head), ring_, SK_ARRAY_SIZE(ring_), __LINE__);    \
	} while (0)
#define CHECK_EMPTY(head)                                                     \
	do {                                                                  \
		cr_assert_eq((head)->next, (head), "line %d: not empty", __LINE__); \
		cr_assert_eq((head)->prev, (head), "line %d: not empty", __LINE__); \
	} while (0)

static void list_api_init(void)
{
	sk_test_count_policy();
}

TestSuite(LIST_API_SUITE, .init = list_api_init);

/*
 * LIST_TEST() - a test of correct use: runs the body, then checks that
 * nothing was reported (under the count policy a report would otherwise
 * go unnoticed).
 */
#define LIST_TEST(name)                                                       \
	static void lt_##name(void);                                          \
	Test(LIST_API_SUITE, name)                                            \
	{                                                                     \
		lt_##name();                                                  \
		cr_assert_eq(sk_violation_total(), 0,                         \
			     "correct use reported %lu violation(s)",         \
			     sk_violation_total());                           \
	}                                                                     \
	static void lt_##name(void)

LIST_TEST(init)
{
	UN(LIST_HEAD)(list1);
	struct LN(list_head) list2 = UN(LIST_HEAD_INIT)(list2);
	struct LN(list_head) list3, *list4;

	list4 = (struct LN(list_head) *)sk_kmalloc(sizeof(*list4));
	cr_assert_not_null(list4);
	memset(&list3, 0xff, sizeof(list3));
	memset(list4, 0xff, sizeof(*list4));
	T_INIT_LIST_HEAD(&list3);
	T_INIT_LIST_HEAD(list4);

	CHECK_EMPTY(&list1);
	CHECK_EMPTY(&list2);
	CHECK_EMPTY(&list3);
	CHECK_EMPTY(list4);
	cr_assert(LN(list_empty)(&list1));
	cr_assert(LN(list_empty)(list4));
	sk_kfree(list4);
}

LIST_TEST(add)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add)(&a, &list);
	LN(list_add)(&b, &list);
	/* list: [list] -> b -> a */
	CHECK_RING(&list, &b, &a);
}

LIST_TEST(add_tail)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	/* list: [list] -> a -> b */
	CHECK_RING(&list, &a, &b);
}

LIST_TEST(add_after_entry)
{
	struct LN(list_head) a, b, c;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&c, &list);
	LN(list_add)(&b, &a); /* any entry can serve as the position */
	CHECK_RING(&list, &a, &b, &c);
}

LIST_TEST(del)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_del)(&a);
	/* list: [list] -> b; a is poisoned */
	CHECK_RING(&list, &b);
	cr_assert_eq((void *)a.next, UN(LIST_POISON1));
	cr_assert_eq((void *)a.prev, UN(LIST_POISON2));
	LN(list_del)(&b);
	CHECK_EMPTY(&list);
}

LIST_TEST(poison_values_are_non_canonical)
{
	uintptr_t p1 = (uintptr_t)UN(LIST_POISON1), p2 = (uintptr_t)UN(LIST_POISON2);

	if (sizeof(void *) == 8) {
		/* x86-64: bits 63..47 must all be equal for a canonical address. */
		cr_assert_neq(p1 >> 47, 0);
		cr_assert_neq(p1 >> 47, (uintptr_t)0x1ffff);
		cr_assert_neq(p2 >> 47, 0);
		cr_assert_neq(p2 >> 47, (uintptr_t)0x1ffff);
		/* and not a low address a copied list.h would use */
		cr_assert_neq(p1, 0x100);
		cr_assert_neq(p2, 0x122);
	}
	cr_assert_neq(p1, p2);
}

LIST_TEST(replace)
{
	struct LN(list_head) a_old, a_new, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a_old, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_replace)(&a_old, &a_new);
	/* list: [list] -> a_new -> b */
	CHECK_RING(&list, &a_new, &b);
	/* the old entry keeps its pointers */
	cr_assert_eq(a_old.next, &b);
	cr_assert_eq(a_old.prev, &list);
}

LIST_TEST(replace_init)
{
	struct LN(list_head) a_old, a_new, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a_old, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_replace_init)(&a_old, &a_new);
	CHECK_RING(&list, &a_new, &b);
	CHECK_EMPTY(&a_old);
}

LIST_TEST(replace_init_of_an_empty_head)
{
	/* The kernel's semantics: an empty @old leaves @new an empty list. */
	UN(LIST_HEAD)(old);
	struct LN(list_head) fresh;

	LN(list_replace_init)(&old, &fresh);
	CHECK_EMPTY(&old);
	CHECK_EMPTY(&fresh);
}

LIST_TEST(swap)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_swap)(&a, &b);
	/* list: [list] -> b -> a */
	CHECK_RING(&list, &b, &a);
}

LIST_TEST(swap_apart_across_lists_and_with_itself)
{
	struct LN(list_head) a, b, c, d, x, y;
	UN(LIST_HEAD)(list);
	UN(LIST_HEAD)(other);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_add_tail)(&c, &list);
	LN(list_add_tail)(&d, &list);
	LN(list_swap)(&a, &d);
	CHECK_RING(&list, &d, &b, &c, &a);
	LN(list_add_tail)(&x, &other);
	LN(list_add_tail)(&y, &other);
	LN(list_swap)(&b, &y);
	CHECK_RING(&list, &d, &y, &c, &a);
	CHECK_RING(&other, &x, &b);
	LN(list_swap)(&c, &c);
	CHECK_RING(&list, &d, &y, &c, &a);
}

LIST_TEST(del_init)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_del_init)(&a);
	CHECK_RING(&list, &b);
	cr_assert(LN(list_empty)(&a));
	/* deleting a del_init'ed entry again is a harmless no-op */
	LN(list_del_init)(&a);
	CHECK_EMPTY(&a);
	CHECK_RING(&list, &b);
}

LIST_TEST(del_init_careful)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	cr_assert_not(LN(list_empty_careful)(&a));
	LN(list_del_init_careful)(&a);
	CHECK_RING(&list, &b);
	cr_assert(LN(list_empty_careful)(&a));
	CHECK_EMPTY(&a);
}

LIST_TEST(move)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&a, &list1);
	LN(list_add_tail)(&b, &list2);
	LN(list_move)(&a, &list2);
	CHECK_EMPTY(&list1);
	CHECK_RING(&list2, &a, &b);
	/* moving to where it already is */
	LN(list_move)(&a, &list2);
	CHECK_RING(&list2, &a, &b);
}

LIST_TEST(move_tail)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&a, &list1);
	LN(list_add_tail)(&b, &list2);
	LN(list_move_tail)(&a, &list2);
	CHECK_EMPTY(&list1);
	CHECK_RING(&list2, &b, &a);
	LN(list_move_tail)(&a, &list2);
	CHECK_RING(&list2, &b, &a);
}

LIST_TEST(bulk_move_tail)
{
	struct LN(list_head) a, b, c, d, x, y;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&a, &list1);
	LN(list_add_tail)(&b, &list1);
	LN(list_add_tail)(&c, &list1);
	LN(list_add_tail)(&d, &list1);
	LN(list_add_tail)(&x, &list2);
	LN(list_add_tail)(&y, &list2);
	LN(list_bulk_move_tail)(&list2, &b, &c);
	CHECK_RING(&list1, &a, &d);
	CHECK_RING(&list2, &x, &y, &b, &c);
	/* a run of one, within the same list */
	LN(list_bulk_move_tail)(&list2, &x, &x);
	CHECK_RING(&list2, &y, &b, &c, &x);
}

LIST_TEST(is_head)
{
	struct LN(list_head) a, b, c;

	T_INIT_LIST_HEAD(&a);
	T_INIT_LIST_HEAD(&c);
	LN(list_add_tail)(&b, &a);
	cr_assert(LN(list_is_head)(&a, &a));
	cr_assert_not(LN(list_is_head)(&a, &b));
	cr_assert_not(LN(list_is_head)(&a, &c));
}

LIST_TEST(is_first)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	cr_assert(LN(list_is_first)(&a, &list));
	cr_assert_not(LN(list_is_first)(&b, &list));
}

LIST_TEST(is_last)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	cr_assert_not(LN(list_is_last)(&a, &list));
	cr_assert(LN(list_is_last)(&b, &list));
}

LIST_TEST(empty)
{
	struct LN(list_head) a;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&a, &list1);
	cr_assert_not(LN(list_empty)(&list1));
	cr_assert(LN(list_empty)(&list2));
}

LIST_TEST(empty_careful)
{
	/* this test only checks the non-racy path */
	struct LN(list_head) a;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&a, &list1);
	cr_assert_not(LN(list_empty_careful)(&list1));
	cr_assert(LN(list_empty_careful)(&list2));
	/* half-updated: next points back, prev does not */
	list2.prev = &a;
	cr_assert_not(LN(list_empty_careful)(&list2));
	list2.prev = &list2;
}

LIST_TEST(rotate_left)
{
	struct LN(list_head) a, b, c;
	UN(LIST_HEAD)(list);

	LN(list_rotate_left)(&list); /* empty: nothing */
	CHECK_EMPTY(&list);
	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_add_tail)(&c, &list);
	LN(list_rotate_left)(&list);
	CHECK_RING(&list, &b, &c, &a);
}

LIST_TEST(rotate_to_front)
{
	struct LN(list_head) a, b, c, d;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&a, &list);
	LN(list_add_tail)(&b, &list);
	LN(list_add_tail)(&c, &list);
	LN(list_add_tail)(&d, &list);
	LN(list_rotate_to_front)(&c, &list);
	CHECK_RING(&list, &c, &d, &a, &b);
}

LIST_TEST(is_singular)
{
	struct LN(list_head) a, b;
	UN(LIST_HEAD)(list);

	cr_assert_not(LN(list_is_singular)(&list));
	LN(list_add_tail)(&a, &list);
	cr_assert(LN(list_is_singular)(&list));
	LN(list_add_tail)(&b, &list);
	cr_assert_not(LN(list_is_singular)(&list));
}

LIST_TEST(cut_position)
{
	struct LN(list_head) e[4];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	for (int i = 0; i < 4; i++)
		LN(list_add_tail)(&e[i], &list1);
	LN(list_cut_position)(&list2, &list1, &e[1]);
	CHECK_RING(&list2, &e[0], &e[1]);
	CHECK_RING(&list1, &e[2], &e[3]);
	/* cutting at the head moves nothing and initialises the receiver */
	LN(list_cut_position)(&list2, &list1, &list1);
	CHECK_EMPTY(&list2);
	CHECK_RING(&list1, &e[2], &e[3]);
	/* up to the last entry moves everything */
	LN(list_cut_position)(&list2, &list1, &e[3]);
	CHECK_EMPTY(&list1);
	CHECK_RING(&list2, &e[2], &e[3]);
}

LIST_TEST(cut_position_empty_and_singular)
{
	struct LN(list_head) a, b, stranger;
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	T_INIT_LIST_HEAD(&stranger);
	LN(list_add_tail)(&b, &list2);
	LN(list_cut_position)(&list2, &list1, &list1); /* empty: nothing at all */
	CHECK_RING(&list2, &b);
	LN(list_add_tail)(&a, &list1);
	/* singular, entry not on it: the kernel does nothing */
	LN(list_cut_position)(&list2, &list1, &stranger);
	CHECK_RING(&list1, &a);
	CHECK_RING(&list2, &b);
	LN(list_cut_position)(&list2, &list1, &a);
	CHECK_EMPTY(&list1);
	CHECK_RING(&list2, &a);
}

LIST_TEST(cut_before)
{
	struct LN(list_head) e[4];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	for (int i = 0; i < 4; i++)
		LN(list_add_tail)(&e[i], &list1);
	LN(list_cut_before)(&list2, &list1, &e[2]);
	CHECK_RING(&list2, &e[0], &e[1]);
	CHECK_RING(&list1, &e[2], &e[3]);
	/* before the first entry: nothing moves, the receiver is initialised */
	LN(list_cut_before)(&list2, &list1, &e[2]);
	CHECK_EMPTY(&list2);
	CHECK_RING(&list1, &e[2], &e[3]);
	/* before the head: everything moves */
	LN(list_cut_before)(&list2, &list1, &list1);
	CHECK_EMPTY(&list1);
	CHECK_RING(&list2, &e[2], &e[3]);
}

LIST_TEST(splice)
{
	struct LN(list_head) e[5];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&e[0], &list1);
	LN(list_add_tail)(&e[1], &list1);
	LN(list_add_tail)(&e[2], &list2);
	LN(list_add_tail)(&e[3], &list2);
	LN(list_add_tail)(&e[4], &list1);
	LN(list_splice)(&list2, &e[1]);
	CHECK_RING(&list1, &e[0], &e[1], &e[2], &e[3], &e[4]);
	/* splicing an empty list changes nothing */
	T_INIT_LIST_HEAD(&list2);
	LN(list_splice)(&list2, &list1);
	CHECK_RING(&list1, &e[0], &e[1], &e[2], &e[3], &e[4]);
}

LIST_TEST(splice_tail)
{
	struct LN(list_head) e[5];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&e[0], &list1);
	LN(list_add_tail)(&e[1], &list1);
	LN(list_add_tail)(&e[2], &list2);
	LN(list_add_tail)(&e[3], &list2);
	LN(list_add_tail)(&e[4], &list1);
	LN(list_splice_tail)(&list2, &e[4]);
	CHECK_RING(&list1, &e[0], &e[1], &e[2], &e[3], &e[4]);
}

LIST_TEST(splice_init)
{
	struct LN(list_head) e[5];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&e[0], &list1);
	LN(list_add_tail)(&e[1], &list1);
	LN(list_add_tail)(&e[2], &list2);
	LN(list_add_tail)(&e[3], &list2);
	LN(list_add_tail)(&e[4], &list1);
	LN(list_splice_init)(&list2, &e[1]);
	CHECK_RING(&list1, &e[0], &e[1], &e[2], &e[3], &e[4]);
	CHECK_EMPTY(&list2);
}

LIST_TEST(splice_tail_init)
{
	struct LN(list_head) e[5];
	UN(LIST_HEAD)(list1);
	UN(LIST_HEAD)(list2);

	LN(list_add_tail)(&e[0], &list1);
	LN(list_add_tail)(&e[1], &list1);
	LN(list_add_tail)(&e[2], &list2);
	LN(list_add_tail)(&e[3], &list2);
	LN(list_add_tail)(&e[4], &list1);
	LN(list_splice_tail_init)(&list2, &e[4]);
	CHECK_RING(&list1, &e[0], &e[1], &e[2], &e[3], &e[4]);
	CHECK_EMPTY(&list2);
}

LIST_TEST(count_nodes)
{
	struct LN(list_head) e[5];
	UN(LIST_HEAD)(list);

	cr_assert_eq(LN(list_count_nodes)(&list), 0);
	for (int i = 0; i < 5; i++)
		LN(list_add_tail)(&e[i], &list);
	cr_assert_eq(LN(list_count_nodes)(&list), 5);
}

LIST_TEST(entry)
{
	struct lt test_struct;

	cr_assert_eq(&test_struct, LN(list_entry)(&test_struct.list, struct lt, list));
}

LIST_TEST(entry_is_head)
{
	struct lt test_struct1, test_struct2, test_struct3;

	T_INIT_LIST_HEAD(&test_struct1.list);
	T_INIT_LIST_HEAD(&test_struct3.list);
	LN(list_add_tail)(&test_struct2.list, &test_struct1.list);
	cr_assert(LN(list_entry_is_head)((&test_struct1), &test_struct1.list, list));
	cr_assert_not(LN(list_entry_is_head)((&test_struct2), &test_struct1.list, list));
	cr_assert_not(LN(list_entry_is_head)((&test_struct3), &test_struct1.list, list));
}

LIST_TEST(first_entry)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&test_struct1.list, &list);
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct1, LN(list_first_entry)(&list, struct lt, list));
}

LIST_TEST(last_entry)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&test_struct1.list, &list);
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct2, LN(list_last_entry)(&list, struct lt, list));
}

LIST_TEST(first_entry_or_null)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	cr_assert_null(LN(list_first_entry_or_null)(&list, struct lt, list));
	LN(list_add_tail)(&test_struct1.list, &list);
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct1, LN(list_first_entry_or_null)(&list, struct lt, list));
}

LIST_TEST(last_entry_or_null)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	cr_assert_null(LN(list_last_entry_or_null)(&list, struct lt, list));
	LN(list_add_tail)(&test_struct1.list, &list);
	cr_assert_eq(&test_struct1, LN(list_last_entry_or_null)(&list, struct lt, list));
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct2, LN(list_last_entry_or_null)(&list, struct lt, list));
}

LIST_TEST(next_entry)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&test_struct1.list, &list);
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct2, LN(list_next_entry)(&test_struct1, list));
}

LIST_TEST(prev_entry)
{
	struct lt test_struct1, test_struct2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&test_struct1.list, &list);
	LN(list_add_tail)(&test_struct2.list, &list);
	cr_assert_eq(&test_struct1, LN(list_prev_entry)(&test_struct2, list));
}

LIST_TEST(next_entry_circular)
{
	struct lt t1, t2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&t1.list, &list);
	LN(list_add_tail)(&t2.list, &list);
	cr_assert_eq(&t2, LN(list_next_entry_circular)(&t1, &list, list));
	cr_assert_eq(&t1, LN(list_next_entry_circular)(&t2, &list, list));
}

LIST_TEST(prev_entry_circular)
{
	struct lt t1, t2;
	UN(LIST_HEAD)(list);

	LN(list_add_tail)(&t1.list, &list);
	LN(list_add_tail)(&t2.list, &list);
	cr_assert_eq(&t1, LN(list_prev_entry_circular)(&t2, &list, list));
	cr_assert_eq(&t2, LN(list_prev_entry_circular)(&t1, &list, list));
}

LIST_TEST(prepare_entry)
{
	struct lt t[3], *pos = NULL;
	UN(LIST_HEAD)(list);
	int seen = 0;

	for (int i = 0; i < 3; i++) {
		t[i].data = i;
		LN(list_add_tail)(&t[i].list, &list);
	}
	/* NULL: continue from the start */
	pos = LN(list_prepare_entry)(pos, &list, list);
	cr_assert(LN(list_entry_is_head)(pos, &list, list));
	LN(list_for_each_entry_continue)(pos, &list, list)
		cr_assert_eq(pos->data, seen++);
	cr_assert_eq(seen, 3);
	/* an entry: continue after it */
	pos = &t[0];
	pos = LN(list_prepare_entry)(pos, &list, list);
	cr_assert_eq(pos, &t[0]);
}

LIST_TEST(safe_reset_next)
{
	struct lt t[3], *pos, *n;
	UN(LIST_HEAD)(list);
	int seen = 0;

	for (int i = 0; i < 3; i++) {
		t[i].data = i;
		LN(list_add_tail)(&t[i].list, &list);
	}
	LN(list_for_each_entry_safe)(pos, n, &list, list) {
		if (pos == &t[0]) {
			/* the lookahead (t[1]) goes away "while the lock is dropped" */
			LN(list_del)(&t[1].list);
			LN(list_safe_reset_next)(pos, n, list);
			cr_assert_eq(n, &t[2]);
		}
		seen++;
	}
	cr_assert_eq(seen, 2);
}

/* ------------------------------------------------------------------------
 * Iteration: every for_each form visits exactly the expected sequence.
 * ------------------------------------------------------------------------ */

#define N_ITER 5

static void iter_setup(struct LN(list_head) *list, struct lt *t)
{
	T_INIT_LIST_HEAD(list);
	for (int i = 0; i < N_ITER; i++) {
		t[i].data = i;
		LN(list_add_tail)(&t[i].list, list);
	}
}

LIST_TEST(for_each)
{
	struct LN(list_head) e[3], *pos;
	UN(LIST_HEAD)(list);
	int i = 0;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	LN(list_for_each)(pos, &list) {
		cr_assert_eq(pos, &e[i]);
		i++;
	}
	cr_assert_eq(i, 3);
}

LIST_TEST(for_each_continue)
{
	struct LN(list_head) e[3], *pos;
	UN(LIST_HEAD)(list);
	int i = 1;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	pos = &e[0];
	LN(list_for_each_continue)(pos, &list) {
		cr_assert_eq(pos, &e[i]);
		i++;
	}
	cr_assert_eq(i, 3);
	cr_assert_eq(pos, &list);
}

LIST_TEST(for_each_prev)
{
	struct LN(list_head) e[3], *pos;
	UN(LIST_HEAD)(list);
	int i = 2;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	LN(list_for_each_prev)(pos, &list) {
		cr_assert_eq(pos, &e[i]);
		i--;
	}
	cr_assert_eq(i, -1);
}

LIST_TEST(for_each_reverse)
{
	struct LN(list_head) e[3], *pos;
	UN(LIST_HEAD)(list);
	int i = 2;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	LN(list_for_each_reverse)(pos, &list) {
		cr_assert_eq(pos, &e[i]);
		i--;
	}
	cr_assert_eq(i, -1);
}

LIST_TEST(for_each_safe)
{
	struct LN(list_head) e[3], *pos, *n;
	UN(LIST_HEAD)(list);
	int i = 0;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	LN(list_for_each_safe)(pos, n, &list) {
		cr_assert_eq(pos, &e[i]);
		LN(list_del)(pos);
		i++;
	}
	cr_assert_eq(i, 3);
	CHECK_EMPTY(&list);
}

LIST_TEST(for_each_prev_safe)
{
	struct LN(list_head) e[3], *pos, *n;
	UN(LIST_HEAD)(list);
	int i = 2;

	for (int k = 0; k < 3; k++)
		LN(list_add_tail)(&e[k], &list);
	LN(list_for_each_prev_safe)(pos, n, &list) {
		cr_assert_eq(pos, &e[i]);
		LN(list_del)(pos);
		i--;
	}
	cr_assert_eq(i, -1);
	CHECK_EMPTY(&list);
}

LIST_TEST(for_each_entry)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = 0;

	iter_setup(&list, t);
	LN(list_for_each_entry)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_ITER);
	cr_assert(LN(list_entry_is_head)(pos, &list, list));
}

LIST_TEST(for_each_entry_reverse)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = N_ITER - 1;

	iter_setup(&list, t);
	LN(list_for_each_entry_reverse)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i--;
	}
	cr_assert_eq(i, -1);
}

LIST_TEST(for_each_entry_continue)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[1];
	LN(list_for_each_entry_continue)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_ITER);
}

LIST_TEST(for_each_entry_continue_reverse)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[3];
	LN(list_for_each_entry_continue_reverse)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i--;
	}
	cr_assert_eq(i, -1);
}

LIST_TEST(for_each_entry_from)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[2];
	LN(list_for_each_entry_from)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_ITER);
}

LIST_TEST(for_each_entry_from_reverse)
{
	struct lt t[N_ITER], *pos;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[2];
	LN(list_for_each_entry_from_reverse)(pos, &list, list) {
		cr_assert_eq(pos->data, i);
		i--;
	}
	cr_assert_eq(i, -1);
}

LIST_TEST(for_each_entry_safe)
{
	struct lt t[N_ITER], *pos, *n;
	struct LN(list_head) list;
	int i = 0;

	iter_setup(&list, t);
	LN(list_for_each_entry_safe)(pos, n, &list, list) {
		cr_assert_eq(pos->data, i);
		LN(list_del)(&pos->list);
		i++;
	}
	cr_assert_eq(i, N_ITER);
	CHECK_EMPTY(&list);
}

LIST_TEST(for_each_entry_safe_continue)
{
	struct lt t[N_ITER], *pos, *n;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[1];
	LN(list_for_each_entry_safe_continue)(pos, n, &list, list) {
		cr_assert_eq(pos->data, i);
		LN(list_del)(&pos->list);
		i++;
	}
	cr_assert_eq(i, N_ITER);
	CHECK_RING(&list, &t[0].list, &t[1].list);
}

LIST_TEST(for_each_entry_safe_from)
{
	struct lt t[N_ITER], *pos, *n;
	struct LN(list_head) list;
	int i = 2;

	iter_setup(&list, t);
	pos = &t[2];
	LN(list_for_each_entry_safe_from)(pos, n, &list, list) {
		cr_assert_eq(pos->data, i);
		LN(list_del)(&pos->list);
		i++;
	}
	cr_assert_eq(i, N_ITER);
	CHECK_RING(&list, &t[0].list, &t[1].list);
}

LIST_TEST(for_each_entry_safe_reverse)
{
	struct lt t[N_ITER], *pos, *n;
	struct LN(list_head) list;
	int i = N_ITER - 1;

	iter_setup(&list, t);
	LN(list_for_each_entry_safe_reverse)(pos, n, &list, list) {
		cr_assert_eq(pos->data, i);
		LN(list_del)(&pos->list);
		i--;
	}
	cr_assert_eq(i, -1);
	CHECK_EMPTY(&list);
}

LIST_TEST(for_each_on_an_empty_list)
{
	struct LN(list_head) *p, *n;
	struct lt *pos, *tmp;
	UN(LIST_HEAD)(list);
	int visits = 0;

	LN(list_for_each)(p, &list)
		visits++;
	LN(list_for_each_prev)(p, &list)
		visits++;
	LN(list_for_each_safe)(p, n, &list)
		visits++;
	LN(list_for_each_prev_safe)(p, n, &list)
		visits++;
	LN(list_for_each_entry)(pos, &list, list)
		visits++;
	LN(list_for_each_entry_reverse)(pos, &list, list)
		visits++;
	LN(list_for_each_entry_safe)(pos, tmp, &list, list)
		visits++;
	LN(list_for_each_entry_safe_reverse)(pos, tmp, &list, list)
		visits++;
	cr_assert_eq(visits, 0);
}
