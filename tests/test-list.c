/* SPDX-License-Identifier: MIT */
/*
 * tests/test-list.c - safekern/list.h, lists: every API operation
 * (list-api-body.h, with the sk_ names), then misuse: corruption the way
 * the kernel's LKDTM CORRUPT_LIST_ADD/DEL provoke it, double add, double
 * delete, never-added entries, refused composed operations (which must not
 * half-apply), the debug-level walk checks, and sk_list_check().
 *
 * Every misuse test asserts both halves of the contract: exactly one
 * report of the right kind, and every node involved unchanged, pointer
 * for pointer.  Built and run at both check levels.
 */
#include <signal.h>
#include <string.h>

#include "list-names-sk.h"

#define LIST_API_SUITE list_api
#include "list-api-body.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* Snapshot the listed nodes; CHECK_UNCHANGED compares every pointer. */
#define SNAPSHOT(name, ...)                                                   \
	struct sk_list_head *const name##_nodes[] = { __VA_ARGS__ };          \
	struct sk_list_head name##_copy[SK_ARRAY_SIZE(name##_nodes)];         \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_nodes); name##_i++) \
	name##_copy[name##_i] = *name##_nodes[name##_i]

#define CHECK_UNCHANGED(name)                                                 \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_nodes); name##_i++) { \
		cr_assert_eq(name##_nodes[name##_i]->next, name##_copy[name##_i].next, \
			     "node %zu: next changed", name##_i);             \
		cr_assert_eq(name##_nodes[name##_i]->prev, name##_copy[name##_i].prev, \
			     "node %zu: prev changed", name##_i);             \
	}

/* What the last report said (recorded under the count policy). */
static struct sk_test_report last;

static void misuse_init(void)
{
	sk_test_count_policy();
	sk_test_record_start(&last);
}

TestSuite(list_misuse, .init = misuse_init);

/* A list of @n entries e[0..n-1]. */
static void fill(struct sk_list_head *head, struct sk_list_head *e, int n)
{
	sk_init_list_head(head);
	for (int i = 0; i < n; i++)
		sk_list_add_tail(&e[i], head);
}

/* ------------------------------------------------------------------------
 * The kernel's LKDTM list tests: redirect a neighbour pointer, then add or
 * delete.  The "write what where" must not happen.
 * ------------------------------------------------------------------------ */

Test(list_misuse, lkdtm_corrupt_list_add)
{
	SK_LIST_HEAD(test_head);
	struct sk_list_head good, bad, target = { NULL, NULL };
	struct sk_list_head *redirection = &target;

	sk_list_add(&good, &test_head);
	test_head.next = redirection;
	memset(&bad, 0x5a, sizeof(bad));
	SNAPSHOT(s, &test_head, &good, &bad, &target);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_add(&bad, &test_head));
	CHECK_UNCHANGED(s);
	cr_assert_null(target.next, "the overwrite happened");
	cr_assert_null(target.prev, "the overwrite happened");
	cr_assert(strstr(last.detail, "next->prev should be prev"), "%s", last.detail);
}

Test(list_misuse, lkdtm_corrupt_list_add_tail)
{
	SK_LIST_HEAD(test_head);
	struct sk_list_head good, bad, target = { NULL, NULL };

	sk_list_add_tail(&good, &test_head);
	test_head.prev = &target;
	SNAPSHOT(s, &test_head, &good, &target);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_add_tail(&bad, &test_head));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "prev->next should be next"), "%s", last.detail);
}

Test(list_misuse, lkdtm_corrupt_list_del)
{
	SK_LIST_HEAD(test_head);
	struct sk_list_head item, target = { NULL, NULL };

	sk_list_add(&item, &test_head);
	SK_EXPECT_NO_VIOLATION(sk_list_del(&item));
	sk_list_add(&item, &test_head);
	/* As LKDTM does: corrupt "next" */
	item.next = &target;
	SNAPSHOT(s, &test_head, &item, &target);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_del(&item));
	CHECK_UNCHANGED(s);
	cr_assert_null(target.prev, "the overwrite happened");
	cr_assert(strstr(last.detail, "next->prev should be"), "%s", last.detail);
}

Test(list_misuse, corrupt_prev_on_del)
{
	struct sk_list_head head, e[3], target = { NULL, NULL };

	fill(&head, e, 3);
	e[1].prev = &target;
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &target);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_del(&e[1]));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "prev->next should be"), "%s", last.detail);
}

Test(list_misuse, neighbour_redirected_on_del)
{
	/* the entry is fine; a neighbour no longer points back */
	struct sk_list_head head, e[3], other;

	fill(&head, e, 3);
	e[2].prev = &other;
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_del(&e[1]));
	CHECK_UNCHANGED(s);
}

/* ------------------------------------------------------------------------
 * Double delete, double add, never-added entries
 * ------------------------------------------------------------------------ */

Test(list_misuse, double_del)
{
	struct sk_list_head head, e[3];

	fill(&head, e, 3);
	sk_list_del(&e[1]);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_del(&e[1]));
	CHECK_UNCHANGED(s);
	cr_assert_eq((void *)e[1].next, SK_LIST_POISON1);
	cr_assert(strstr(last.detail, "already deleted"), "%s", last.detail);
}

Test(list_misuse, del_of_the_last_entry_twice)
{
	SK_LIST_HEAD(head);
	struct sk_list_head a;

	sk_list_add(&a, &head);
	sk_list_del(&a);
	SNAPSHOT(s, &head, &a);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_del(&a));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_del_init(&a));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_del_init_careful(&a));
	CHECK_UNCHANGED(s);
	CHECK_EMPTY(&head);
}

Test(list_misuse, del_of_a_zeroed_entry)
{
	struct sk_list_head z;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_del(&z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_del_init(&z));
	cr_assert_null(z.next);
	cr_assert_null(z.prev);
	cr_assert(strstr(last.detail, "never initialised or added"), "%s", last.detail);
}

Test(list_misuse, del_of_an_initialised_unlinked_entry_is_fine)
{
	struct sk_list_head a;

	sk_init_list_head(&a);
	SK_EXPECT_NO_VIOLATION(sk_list_del(&a));
	cr_assert_eq((void *)a.next, SK_LIST_POISON1);
}

Test(list_misuse, double_add)
{
	SK_LIST_HEAD(head);
	struct sk_list_head a, b;

	sk_list_add(&b, &head);
	sk_list_add(&a, &head);
	SNAPSHOT(s, &head, &a, &b);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_add(&a, &head));
	CHECK_UNCHANGED(s);
	CHECK_RING(&head, &a, &b);
}

Test(list_misuse, double_add_tail)
{
	SK_LIST_HEAD(head);
	struct sk_list_head a, b;

	sk_list_add_tail(&a, &head);
	sk_list_add_tail(&b, &head);
	SNAPSHOT(s, &head, &a, &b);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_add_tail(&b, &head));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, add_of_the_head_to_itself)
{
	SK_LIST_HEAD(head);

	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_add(&head, &head));
	CHECK_EMPTY(&head);
}

Test(list_misuse, add_to_a_zeroed_head)
{
	struct sk_list_head z, a;

	memset(&z, 0, sizeof(z));
	memset(&a, 0x5a, sizeof(a));
	SNAPSHOT(s, &z, &a);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_add(&a, &z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_add_tail(&a, &z));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "never initialised"), "%s", last.detail);
}

Test(list_misuse, add_after_a_deleted_entry)
{
	struct sk_list_head head, e[2], a;

	fill(&head, e, 2);
	sk_list_del(&e[0]);
	SNAPSHOT(s, &head, &e[0], &e[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_add(&a, &e[0]));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "deleted entry"), "%s", last.detail);
}

/* ------------------------------------------------------------------------
 * replace, swap, move, rotate: refused as a whole
 * ------------------------------------------------------------------------ */

Test(list_misuse, replace_of_a_deleted_entry)
{
	struct sk_list_head head, e[3], fresh;

	fill(&head, e, 3);
	sk_list_del(&e[1]);
	memset(&fresh, 0x5a, sizeof(fresh));
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &fresh);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_replace(&e[1], &fresh));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_replace_init(&e[1], &fresh));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, replace_with_corrupt_neighbour)
{
	struct sk_list_head head, e[3], fresh, other;

	fill(&head, e, 3);
	e[0].next = &other;
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_replace(&e[1], &fresh));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, replace_with_an_entry_already_there)
{
	struct sk_list_head head, e[3];

	fill(&head, e, 3);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_replace(&e[1], &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_replace(&e[1], &e[0]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_replace_init(&e[1], &e[1]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, swap_with_a_deleted_entry)
{
	struct sk_list_head head1, head2, e[2], f[2];

	fill(&head1, e, 2);
	fill(&head2, f, 2);
	sk_list_del(&f[1]);
	SNAPSHOT(s, &head1, &e[0], &e[1], &head2, &f[0], &f[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_swap(&e[0], &f[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_swap(&f[1], &e[0]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, move_of_a_deleted_entry)
{
	struct sk_list_head head1, head2, e[2], f[1];

	fill(&head1, e, 2);
	fill(&head2, f, 1);
	sk_list_del(&e[0]);
	SNAPSHOT(s, &head1, &e[0], &e[1], &head2, &f[0]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_move(&e[0], &head2));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_move_tail(&e[0], &head2));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, move_to_a_corrupt_destination_is_not_half_applied)
{
	struct sk_list_head head1, head2, e[3], f[2], other;

	fill(&head1, e, 3);
	fill(&head2, f, 2);
	f[0].prev = &other; /* head2->next no longer points back */
	SNAPSHOT(s, &head1, &e[0], &e[1], &e[2], &head2, &f[0], &f[1]);
	/* the entry was unlinked before the destination was refused: it is back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_move(&e[1], &head2));
	CHECK_UNCHANGED(s);
	f[0].prev = &head2;
	f[1].next = &other; /* head2->prev no longer points back */
	SNAPSHOT(t, &head1, &e[0], &e[1], &e[2], &head2, &f[0], &f[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_move_tail(&e[1], &head2));
	CHECK_UNCHANGED(t);
}

Test(list_misuse, move_to_a_zeroed_head)
{
	struct sk_list_head head, e[2], z;

	fill(&head, e, 2);
	memset(&z, 0, sizeof(z));
	SNAPSHOT(s, &head, &e[0], &e[1], &z);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_move(&e[0], &z));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, move_onto_itself)
{
	struct sk_list_head head, e[3];

	fill(&head, e, 3);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_move(&e[1], &e[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_move_tail(&e[1], &e[1]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, rotate_corrupt_list)
{
	struct sk_list_head head, e[3], other;

	fill(&head, e, 3);
	e[1].prev = &other; /* the first entry's successor does not point back */
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_rotate_left(&head));
	CHECK_UNCHANGED(s);
}

/*
 * The head's own link is followed by a rotation: a zeroed head, or a
 * deleted entry passed as the head, faulted at the hardened level (the
 * NULL or poisoned next was dereferenced).
 */
Test(list_misuse, rotate_left_of_a_zeroed_or_deleted_head)
{
	struct sk_list_head head, e[2], z;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_rotate_left(&z));
	fill(&head, e, 2);
	sk_list_del(&e[0]);
	SNAPSHOT(s, &head, &e[0], &e[1], &z);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_rotate_left(&e[0]));
	CHECK_UNCHANGED(s);
}

/*
 * A refused move has put the entry back before it reports: a handler (or
 * the core dump of the default abort) sees the list as it was.  The entry
 * used to be reported while still unlinked from its list.
 */
static struct sk_list_head *seen_nodes[6];
static struct sk_list_head seen_copy[6];
static bool seen_intact;

static void check_intact_handler(const struct sk_violation *v, void *arg)
{
	(void)v;
	(void)arg;
	seen_intact = true;
	for (size_t i = 0; i < SK_ARRAY_SIZE(seen_nodes); i++)
		if (seen_nodes[i]->next != seen_copy[i].next ||
		    seen_nodes[i]->prev != seen_copy[i].prev)
			seen_intact = false;
}

Test(list_misuse, a_refused_move_reports_with_the_list_as_it_was)
{
	struct sk_list_head head, e[3], dest, f[1], other;
	struct sk_list_head *const nodes[6] = { &head, &e[0], &e[1], &e[2], &dest, &f[0] };

	fill(&head, e, 3);
	fill(&dest, f, 1);
	f[0].prev = &other; /* the destination is corrupt, both ways */
	f[0].next = &other;
	for (size_t i = 0; i < SK_ARRAY_SIZE(nodes); i++) {
		seen_nodes[i] = nodes[i];
		seen_copy[i] = *nodes[i];
	}
	sk_test_record_stop(); /* this test's handler instead of the suite's recorder */
	sk_violation_set_handler(check_intact_handler, NULL);
	seen_intact = false;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_move(&e[1], &dest));
	cr_assert(seen_intact, "list_move reported with the entry still unlinked");
	seen_intact = false;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_move_tail(&e[1], &dest));
	cr_assert(seen_intact, "list_move_tail reported with the entry still unlinked");
	/* rotate_to_front(e[1], &head): the head moves, and may not go before itself. */
	seen_intact = false;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_rotate_to_front(&head, &head));
	cr_assert(seen_intact, "list_rotate_to_front reported with the head still unlinked");
	sk_violation_set_handler(NULL, NULL);
	for (size_t i = 0; i < SK_ARRAY_SIZE(nodes); i++) {
		cr_assert_eq(nodes[i]->next, seen_copy[i].next);
		cr_assert_eq(nodes[i]->prev, seen_copy[i].prev);
	}
}

/*
 * cut_before() at an empty head: an empty list has no entry but its head,
 * so an @entry of another list cannot be on it.  Nothing to walk, so the
 * hardened level refuses it too (it moved @list and @head into the other
 * list as if they were entries).
 */
Test(list_misuse, cut_before_of_an_empty_list_at_another_lists_entry)
{
	struct sk_list_head empty, recv, other, e[3];

	sk_init_list_head(&empty);
	sk_init_list_head(&recv);
	fill(&other, e, 3);
	SNAPSHOT(s, &empty, &recv, &other, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&recv, &empty, &e[1]));
	cr_assert(strstr(last.detail, "is empty"), "%s", last.detail);
	CHECK_UNCHANGED(s);
	/* At the head itself it is the kernel's no-op: @list initialised. */
	SK_EXPECT_NO_VIOLATION(sk_list_cut_before(&recv, &empty, &empty));
	cr_assert(sk_list_empty(&recv));
}

Test(list_misuse, rotate_to_front_of_a_deleted_entry)
{
	struct sk_list_head head, e[3];

	fill(&head, e, 3);
	sk_list_del(&e[1]);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_rotate_to_front(&e[1], &head));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, bulk_move_tail_corrupt)
{
	struct sk_list_head head1, head2, e[4], f[1], other;

	fill(&head1, e, 4);
	fill(&head2, f, 1);
	e[0].next = &other; /* first->prev->next != first */
	SNAPSHOT(s, &head1, &e[0], &e[1], &e[2], &e[3], &head2, &f[0]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_bulk_move_tail(&head2, &e[1], &e[2]));
	CHECK_UNCHANGED(s);
	e[0].next = &e[1];
	SNAPSHOT(t, &head1, &e[0], &e[1], &e[2], &e[3]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_bulk_move_tail(&e[1], &e[1], &e[2]));
	CHECK_UNCHANGED(t);
}

/* ------------------------------------------------------------------------
 * cut and splice
 * ------------------------------------------------------------------------ */

Test(list_misuse, cut_position_corrupt)
{
	struct sk_list_head head, e[4], recv, other;

	fill(&head, e, 4);
	sk_init_list_head(&recv);
	e[2].prev = &other; /* the link after the cut point */
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3], &recv);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_cut_position(&recv, &head, &e[1]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, cut_into_the_list_itself)
{
	struct sk_list_head head, e[4];

	fill(&head, e, 4);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&head, &head, &e[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[2], &head, &e[2]));
	CHECK_UNCHANGED(s);
}

/*
 * The cuts that move nothing (cut_position at @head, cut_before at the
 * first entry) only initialise @list: with @list the head or the first
 * entry, that would orphan the entries or unlink one silently.  And
 * @list may not be the entry next to the cut point either.
 */
Test(list_misuse, cut_into_the_list_itself_at_its_ends)
{
	struct sk_list_head head, e[4];

	fill(&head, e, 4);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&head, &head, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&e[0], &head, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&head, &head, &e[0]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[0], &head, &e[0]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&e[0], &head, &e[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&e[2], &head, &e[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[0], &head, &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[1], &head, &e[2]));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "receiving list"), "%s", last.detail);
	/* Where nothing is cut, the kernel does nothing, and so do we. */
	sk_init_list_head(&head);
	SK_EXPECT_NO_VIOLATION(sk_list_cut_position(&head, &head, &head));
	SK_EXPECT_NO_VIOLATION(sk_list_cut_before(&head, &head, &head));
	cr_assert(sk_list_empty(&head));
}

Test(list_misuse, cut_before_corrupt)
{
	struct sk_list_head head, e[4], recv, other;

	fill(&head, e, 4);
	sk_init_list_head(&recv);
	e[1].next = &other; /* entry->prev->next != entry */
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3], &recv);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_cut_before(&recv, &head, &e[2]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, splice_of_a_zeroed_list)
{
	struct sk_list_head head, e[2], z;

	fill(&head, e, 2);
	memset(&z, 0, sizeof(z));
	SNAPSHOT(s, &head, &e[0], &e[1], &z);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_splice(&z, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_splice_tail_init(&z, &head));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, splice_into_itself)
{
	struct sk_list_head head, e[2];

	fill(&head, e, 2);
	SNAPSHOT(s, &head, &e[0], &e[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice(&head, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice_init(&head, &e[1]));
	CHECK_UNCHANGED(s);
}

/*
 * Into itself at an entry that is not next to the head: only the debug
 * level's walk of the spliced list sees it (it would cut the entries off
 * both lists).  A broken link in the middle of the spliced list, which the
 * hardened checks at its ends do not see, is also found by that walk.
 */
#ifdef SK_DEBUG
Test(list_misuse, splice_into_itself_further_in)
{
	struct sk_list_head head, e[4], dst, other;

	fill(&head, e, 4);
	sk_init_list_head(&dst);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3], &dst);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice(&head, &e[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice_init(&head, &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice_tail(&head, &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_splice_tail_init(&head, &e[1]));
	CHECK_UNCHANGED(s);
	e[2].prev = &other; /* e[1]->next->prev != e[1] */
	SNAPSHOT(t, &head, &e[0], &e[1], &e[2], &e[3], &dst);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_splice_init(&head, &dst));
	CHECK_UNCHANGED(t);
	e[2].prev = &e[1];
	SK_EXPECT_NO_VIOLATION(sk_list_splice_init(&head, &dst));
	cr_assert_eq(sk_list_count_nodes(&dst), 4);
	cr_assert(sk_list_empty(&head));
}
#endif

Test(list_misuse, splice_to_a_corrupt_destination)
{
	struct sk_list_head head1, head2, e[2], f[2], other;

	fill(&head1, e, 2);
	fill(&head2, f, 2);
	f[0].prev = &other;
	SNAPSHOT(s, &head1, &e[0], &e[1], &head2, &f[0], &f[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_splice_init(&head1, &head2));
	CHECK_UNCHANGED(s);
	f[0].prev = &head2;
	e[1].next = &other; /* the source's last entry */
	SNAPSHOT(t, &head1, &e[0], &e[1], &head2, &f[0], &f[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_splice_tail(&head1, &head2));
	CHECK_UNCHANGED(t);
}

/* ------------------------------------------------------------------------
 * Reports: where, and the abort policy
 * ------------------------------------------------------------------------ */

Test(list_misuse, report_names_the_callers_line)
{
	struct sk_list_head z;
	unsigned int line;

	memset(&z, 0, sizeof(z));
	line = __LINE__ + 1;
	sk_list_del(&z);
	cr_assert_eq(last.calls, 1);
	SK_TEST_ACCOUNT(1);
	cr_assert_eq(last.kind, SK_VIOLATION_LIST_UNINITIALIZED);
	cr_assert_eq(last.object, &z);
	cr_assert(strstr(last.file, "test-list.c"), "file %s", last.file);
	cr_assert_eq(last.line, line);
}

Test(list_misuse_abort, double_del_aborts_by_default, .signal = SIGABRT)
{
	SK_LIST_HEAD(head);
	struct sk_list_head a;

	sk_list_add(&a, &head);
	sk_list_del(&a);
	sk_list_del(&a);
}

/* ------------------------------------------------------------------------
 * sk_list_check(): at both levels
 * ------------------------------------------------------------------------ */

Test(list_misuse, check_accepts_a_consistent_list)
{
	struct sk_list_head head, e[5];
	bool ok;

	fill(&head, e, 5);
	SK_EXPECT_NO_VIOLATION(ok = sk_list_check(&head));
	cr_assert(ok);
	sk_init_list_head(&head);
	SK_EXPECT_NO_VIOLATION(ok = sk_list_check(&head));
	cr_assert(ok);
}

Test(list_misuse, check_finds_where_the_ring_breaks)
{
	struct sk_list_head head, e[5];
	bool ok = true;

	fill(&head, e, 5);
	e[3].prev = &e[0];
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, ok = sk_list_check(&head));
	cr_assert_not(ok);
	cr_assert(strstr(last.detail, "after entry #2"), "%s", last.detail);
	cr_assert_eq(last.object, &head);
}

Test(list_misuse, check_finds_a_deleted_entry_still_linked)
{
	struct sk_list_head head, e[4];
	bool ok = true;

	fill(&head, e, 4);
	e[2].next = (struct sk_list_head *)SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, ok = sk_list_check(&head));
	cr_assert_not(ok);
	cr_assert(strstr(last.detail, "entry #2"), "%s", last.detail);
	cr_assert(strstr(last.detail, "LIST_POISON1"), "%s", last.detail);
}

Test(list_misuse, check_of_a_zeroed_head)
{
	struct sk_list_head z;
	bool ok = true;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, ok = sk_list_check(&z));
	cr_assert_not(ok);
}

/* ------------------------------------------------------------------------
 * Walks.  A ring whose forward links are intact but where e[2].prev is
 * wrong: hardened walks do not check (the forward walk visits all five,
 * nothing is reported); debug walks stop at the break with one report.
 * ------------------------------------------------------------------------ */

struct item {
	int data;
	struct sk_list_head node;
};

static void broken_ring(struct sk_list_head *head, struct item *it)
{
	sk_init_list_head(head);
	for (int i = 0; i < 5; i++) {
		it[i].data = i;
		sk_list_add_tail(&it[i].node, head);
	}
	it[2].node.prev = &it[0].node;
}

#ifdef SK_DEBUG
#define WALK_EXPECT(n_debug, n_hardened, stmt)                                \
	do {                                                                  \
		visits = 0;                                                   \
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, stmt);      \
		cr_assert_eq(visits, (n_debug), "%s: %d visits", #stmt, visits); \
	} while (0)
#else
#define WALK_EXPECT(n_debug, n_hardened, stmt)                                \
	do {                                                                  \
		visits = 0;                                                   \
		SK_EXPECT_NO_VIOLATION(stmt);                                 \
		cr_assert_eq(visits, (n_hardened), "%s: %d visits", #stmt, visits); \
	} while (0)
#endif

Test(list_misuse, every_walk_form_on_a_broken_ring)
{
	struct sk_list_head head, *p, *n;
	struct item it[5], *pos, *tmp;
	int visits;

	broken_ring(&head, it);
	/* forward: e0, e1, then the step e1 -> e2 fails (e2->prev is e0) */
	WALK_EXPECT(2, 5, sk_list_for_each(p, &head) visits++);
	WALK_EXPECT(2, 5, sk_list_for_each_safe(p, n, &head) visits++);
	WALK_EXPECT(2, 5, sk_list_for_each_entry(pos, &head, node) visits++);
	WALK_EXPECT(2, 5, sk_list_for_each_entry_safe(pos, tmp, &head, node) visits++);
	p = &it[0].node;
	WALK_EXPECT(1, 4, sk_list_for_each_continue(p, &head) visits++);
	pos = &it[0];
	WALK_EXPECT(1, 4, sk_list_for_each_entry_continue(pos, &head, node) visits++);
	pos = &it[0];
	WALK_EXPECT(2, 5, sk_list_for_each_entry_from(pos, &head, node) visits++);
	pos = &it[0];
	WALK_EXPECT(1, 4, sk_list_for_each_entry_safe_continue(pos, tmp, &head, node) visits++);
	pos = &it[0];
	WALK_EXPECT(2, 5, sk_list_for_each_entry_safe_from(pos, tmp, &head, node) visits++);
	/* backward: e4, e3, e2, then the step e2 -> e0 fails (e0->next is e1) */
	WALK_EXPECT(3, 4, sk_list_for_each_prev(p, &head) visits++);
	WALK_EXPECT(3, 4, sk_list_for_each_reverse(p, &head) visits++);
	WALK_EXPECT(3, 4, sk_list_for_each_prev_safe(p, n, &head) visits++);
	WALK_EXPECT(3, 4, sk_list_for_each_entry_reverse(pos, &head, node) visits++);
	WALK_EXPECT(3, 4, sk_list_for_each_entry_safe_reverse(pos, tmp, &head, node) visits++);
	pos = &it[4];
	WALK_EXPECT(2, 3, sk_list_for_each_entry_continue_reverse(pos, &head, node) visits++);
	pos = &it[4];
	WALK_EXPECT(3, 4, sk_list_for_each_entry_from_reverse(pos, &head, node) visits++);
	/* count_nodes walks too */
	{
		size_t count = 0;

		WALK_EXPECT(0, 0, count = sk_list_count_nodes(&head));
		cr_assert_eq(count, SK__LIST_DEBUG ? 2 : 5);
	}
}

Test(list_misuse, walk_stops_where_the_ring_breaks_and_reports_once)
{
	struct sk_list_head head;
	struct item it[5], *pos;
	int visits = 0;

	broken_ring(&head, it);
	sk_list_for_each_entry(pos, &head, node)
		visits++;
	/* the cursor ends at the head, as after a normal walk */
	cr_assert(sk_list_entry_is_head(pos, &head, node));
	cr_assert_eq(sk_violation_total(), SK__LIST_DEBUG ? 1ul : 0ul);
	SK_TEST_ACCOUNT(sk_violation_total());
	cr_assert_eq(visits, SK__LIST_DEBUG ? 2 : 5);
}

#ifdef SK_DEBUG
/*
 * A plain walk of @head -> it[0..2] whose body takes the cursor off the
 * list (with del_init if @init): reported at the step after the first
 * visit (@detail names the report), and the ring left as it[1], it[2].
 */
static void check_cursor_taken_off_in_a_walk(struct sk_list_head *head, struct item *it,
					     bool init, const char *detail)
{
	struct item *pos;
	int visits = 0;

	sk_init_list_head(head);
	for (int i = 0; i < 3; i++)
		sk_list_add_tail(&it[i].node, head);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_for_each_entry(pos, head, node) {
		visits++;
		if (init)
			sk_list_del_init(&pos->node);
		else
			sk_list_del(&pos->node);
	});
	cr_assert_eq(visits, 1);
	cr_assert(strstr(last.detail, detail), "%s", last.detail);
	CHECK_RING(head, &it[1].node, &it[2].node);
}

Test(list_misuse, debug_deleting_the_cursor_in_a_plain_walk)
{
	struct sk_list_head head;
	struct item it[3];

	check_cursor_taken_off_in_a_walk(&head, it, false, "deleted during the walk");
}

/*
 * The same with del_init: the entry points to itself, which passed the
 * step's check (its next's prev is itself), and the walk went round it
 * for ever; in a _safe walk, the lookahead taken off the list likewise.
 */
Test(list_misuse, debug_del_init_of_the_cursor_or_lookahead_in_a_walk)
{
	struct sk_list_head head;
	struct item it[3], *pos, *n;
	int visits = 0;

	check_cursor_taken_off_in_a_walk(&head, it, true, "del_init");
	/* The lookahead is checked as it is taken: the entry taken off is
	 * the last one visited, and the walk ends after it. */
	visits = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_for_each_entry_safe(pos, n, &head, node) {
				    if (visits++ == 0)
					    sk_list_del_init(&n->node);
			    });
	cr_assert_eq(visits, 2);
	CHECK_RING(&head, &it[1].node);
	visits = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_for_each_entry_reverse(pos, &head, node) {
				    visits++;
				    sk_list_del_init(&pos->node);
			    });
	cr_assert_eq(visits, 1);
	cr_assert(sk_list_empty(&head));
}

/* A cut whose receiving list is an entry of the list being cut, away from
 * the cut (the hardened checks see only the nodes next to it). */
Test(list_misuse, debug_cut_into_an_entry_of_the_list_itself)
{
	struct sk_list_head head, e[5];

	fill(&head, e, 5);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3], &e[4]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&e[3], &head, &e[1]));
	cr_assert(strstr(last.detail, "receiving list"), "%s", last.detail);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_cut_position(&e[0], &head, &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[4], &head, &e[2]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[0], &head, &e[3]));
	CHECK_UNCHANGED(s);
}

/*
 * The cuts that move nothing (cut_position at the head, cut_before at the
 * first entry) only initialise @list: the debug membership check must run
 * there too, or an entry of the list itself was initialised in place and
 * the ring broken, unreported.
 */
Test(list_misuse, debug_cut_of_nothing_into_an_entry_of_the_list_itself)
{
	struct sk_list_head head, e[4];

	fill(&head, e, 4);
	SNAPSHOT(s, &head, &e[0], &e[1], &e[2], &e[3]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_position(&e[2], &head, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&e[2], &head, &e[0]));
	CHECK_UNCHANGED(s);
}

Test(list_misuse, debug_walk_of_a_zeroed_head)
{
	struct sk_list_head z, *p;
	int visits = 0;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_for_each(p, &z) visits++);
	cr_assert_eq(visits, 0);
}

Test(list_misuse, debug_queries_check_the_head)
{
	struct sk_list_head z, head, e[1];
	SK_LIST_HEAD(h2);
	struct item it;
	int r = 0;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, r = sk_list_empty(&z));
	cr_assert(r, "an uninitialised head reads as empty after the report");
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, r = sk_list_is_singular(&z));
	cr_assert_not(r);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, r = sk_list_empty_careful(&z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED,
			    cr_assert_null(sk_list_first_entry_or_null(&z, struct item, node)));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED,
			    cr_assert_null(sk_list_last_entry_or_null(&z, struct item, node)));
	/* The last entry is read through prev: a head whose prev alone is
	 * broken is reported there, not followed. */
	sk_list_add(&it.node, &h2);
	h2.prev = SK_LIST_POISON2;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    cr_assert_null(sk_list_last_entry_or_null(&h2, struct item, node)));
	h2.prev = &it.node;
	cr_assert_eq(sk_list_last_entry_or_null(&h2, struct item, node), &it);
	fill(&head, e, 1);
	sk_list_del(&e[0]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, r = sk_list_empty(&e[0]));
	cr_assert(r);
}

Test(list_misuse, debug_null_arguments)
{
	SK_LIST_HEAD(head);
	struct sk_list_head a;

	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_del(NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_add(NULL, &head));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_add(&a, NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_replace(&a, NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_splice(&head, NULL));
	CHECK_EMPTY(&head);
}

Test(list_misuse, debug_poisoned_argument)
{
	struct sk_list_head head, e[2];

	fill(&head, e, 2);
	sk_list_del(&e[0]);
	/* following a deleted entry's link gives a poison: caught before use */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_del(e[0].next));
	CHECK_RING(&head, &e[1]);
}

Test(list_misuse, debug_cut_of_an_entry_not_on_the_list)
{
	struct sk_list_head head1, head2, e[3], f[2], recv;

	fill(&head1, e, 3);
	fill(&head2, f, 2);
	sk_init_list_head(&recv);
	SNAPSHOT(s, &head1, &e[0], &e[1], &e[2], &head2, &f[0], &f[1], &recv);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_position(&recv, &head1, &f[0]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_list_cut_before(&recv, &head1, &f[1]));
	CHECK_UNCHANGED(s);
	cr_assert(strstr(last.detail, "is not on the list"), "%s", last.detail);
}

Test(list_misuse, debug_bulk_move_of_a_broken_run)
{
	struct sk_list_head head1, head2, head3, e[4], f[1];

	fill(&head1, e, 4);
	fill(&head2, f, 1);
	sk_init_list_head(&head3);
	SNAPSHOT(s, &head1, &e[0], &e[1], &e[2], &e[3], &head2, &f[0], &head3);
	/* first and last on different lists: the walk from first comes back to it */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_bulk_move_tail(&head3, &e[1], &f[0]));
	cr_assert(strstr(last.detail, "does not follow"), "%s", last.detail);
	/* the run wraps through the destination head */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_list_bulk_move_tail(&head1, &e[3], &e[0]));
	cr_assert(strstr(last.detail, "contains the head"), "%s", last.detail);
	CHECK_UNCHANGED(s);
}
#else
Test(list_misuse, hardened_queries_and_walks_are_unchecked)
{
	struct sk_list_head z;

	/* no check at this level: a zeroed head simply reads as not empty */
	memset(&z, 0, sizeof(z));
	SK_EXPECT_NO_VIOLATION(cr_assert_not(sk_list_empty(&z)));
}
#endif
