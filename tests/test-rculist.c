/* SPDX-License-Identifier: MIT */
/*
 * tests/test-rculist.c - safekern/rculist.h on liburcu's default (memb)
 * flavour: every writer (list and hlist) and its order, what a reader
 * standing on a deleted or replaced entry sees, every reader form, the
 * three deferred frees (including that they wait for a reader that is
 * still in its critical section), and misuse: the hardened checks on the
 * writers (one report, every node unchanged), the debug reader checks
 * (outside a read-side critical section; a link poisoned by the non-RCU
 * delete, which hardened lookups pass through unchecked), NULL cache or
 * function for a deferred free.
 *
 * Built and run at both check levels; the debug-only expectations say so.
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <urcu.h>

#include <safekern/alloc.h>
#include <safekern/rculist.h>
#include <safekern/slab.h>

#include "sk-test.h"

#ifdef SK_DEBUG
#define DEBUG_LEVEL 1
#else
#define DEBUG_LEVEL 0
#endif

struct item {
	int value;
	struct sk_list_head node;
	struct sk_hlist_node hnode;
	struct sk_rcu_head rcu;
};

static struct sk_test_report last;

static void setup(void)
{
	sk_test_count_policy();
	sk_test_record_start(&last);
	rcu_register_thread();
}

static void teardown(void)
{
	sk_rcu_barrier();
	rcu_unregister_thread();
}

TestSuite(rculist, .init = setup, .fini = teardown);

/* Snapshot of list nodes (next and prev) to prove a refused op wrote nothing. */
#define SNAP(name, ...)                                                       \
	struct sk_list_head *const name##_n[] = { __VA_ARGS__ };              \
	struct sk_list_head name##_c[SK_ARRAY_SIZE(name##_n)];                \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_n); name##_i++) \
	name##_c[name##_i] = *name##_n[name##_i]
#define UNCHANGED(name)                                                       \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_n); name##_i++) { \
		cr_assert_eq(name##_n[name##_i]->next, name##_c[name##_i].next, "node %zu next", \
			     name##_i);                                       \
		cr_assert_eq(name##_n[name##_i]->prev, name##_c[name##_i].prev, "node %zu prev", \
			     name##_i);                                       \
	}

/* The values of a list's entries, in order, read as an RCU reader. */
static int collect(struct sk_list_head *head, int *out, int max)
{
	struct item *pos;
	int n = 0;

	sk_rcu_read_lock();
	sk_list_for_each_entry_rcu(pos, head, node) {
		if (n < max)
			out[n] = pos->value;
		n++;
	}
	sk_rcu_read_unlock();
	return n;
}

static int hcollect(struct sk_hlist_head *head, int *out, int max)
{
	struct item *pos;
	int n = 0;

	sk_rcu_read_lock();
	sk_hlist_for_each_entry_rcu(pos, head, hnode) {
		if (n < max)
			out[n] = pos->value;
		n++;
	}
	sk_rcu_read_unlock();
	return n;
}

#define EXPECT_SEQ(got, n, ...)                                               \
	do {                                                                  \
		const int sk_exp[] = { __VA_ARGS__ };                         \
		cr_assert_eq((n), (int)SK_ARRAY_SIZE(sk_exp), "length %d, expected %zu", (n), \
			     SK_ARRAY_SIZE(sk_exp));                          \
		for (size_t sk_k = 0; sk_k < SK_ARRAY_SIZE(sk_exp); sk_k++)   \
			cr_assert_eq((got)[sk_k], sk_exp[sk_k], "entry %zu: %d, expected %d", sk_k, \
				     (got)[sk_k], sk_exp[sk_k]);              \
	} while (0)

/* ------------------------------------------------------------------------
 * List writers and readers
 * ------------------------------------------------------------------------ */

Test(rculist, add_and_walk)
{
	SK_LIST_HEAD(head);
	struct item it[4] = { { .value = 1 }, { .value = 2 }, { .value = 3 }, { .value = 4 } };
	struct item *pos;
	int got[8], n;

	SK_EXPECT_NO_VIOLATION({
		sk_list_add_rcu(&it[1].node, &head);
		sk_list_add_rcu(&it[0].node, &head);
		sk_list_add_tail_rcu(&it[2].node, &head);
		sk_list_add_tail_rcu(&it[3].node, &head);
	});
	n = collect(&head, got, 8);
	EXPECT_SEQ(got, n, 1, 2, 3, 4);
	cr_assert(sk_list_check(&head));

	sk_rcu_read_lock();
	pos = sk_list_first_or_null_rcu(&head, struct item, node);
	cr_assert_eq(pos, &it[0]);
	pos = sk_list_next_or_null_rcu(&head, &pos->node, struct item, node);
	cr_assert_eq(pos, &it[1]);
	pos = sk_list_next_or_null_rcu(&head, &it[3].node, struct item, node);
	cr_assert_null(pos);
	pos = sk_list_entry_rcu(head.next, struct item, node);
	cr_assert_eq(pos, &it[0]);
	/* continue after it[1], from it[2] inclusive */
	pos = &it[1];
	n = 0;
	sk_list_for_each_entry_continue_rcu(pos, &head, node)
		got[n++] = pos->value;
	EXPECT_SEQ(got, n, 3, 4);
	pos = &it[2];
	n = 0;
	sk_list_for_each_entry_from_rcu(pos, &head, node)
		got[n++] = pos->value;
	EXPECT_SEQ(got, n, 3, 4);
	sk_rcu_read_unlock();
}

Test(rculist, first_or_null_on_empty)
{
	SK_LIST_HEAD(head);
	struct item *pos;

	sk_rcu_read_lock();
	pos = sk_list_first_or_null_rcu(&head, struct item, node);
	sk_rcu_read_unlock();
	cr_assert_null(pos);
	sk_init_list_head_rcu(&head);
	cr_assert(head.next == &head && head.prev == &head);
}

Test(rculist, del_leaves_next_for_readers)
{
	SK_LIST_HEAD(head);
	struct item it[3] = { { .value = 1 }, { .value = 2 }, { .value = 3 } };
	struct item *pos;
	int got[4], n = 0;

	for (int i = 0; i < 3; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	sk_rcu_read_lock();
	pos = sk_list_first_or_null_rcu(&head, struct item, node); /* a reader on it[0] */
	SK_EXPECT_NO_VIOLATION(sk_list_del_rcu(&it[0].node));
	cr_assert_eq(it[0].node.next, &it[1].node, "next kept for readers");
	cr_assert_eq(it[0].node.prev, (struct sk_list_head *)SK_LIST_POISON2, "prev poisoned");
	/* the reader standing on the deleted entry carries on */
	sk_list_for_each_entry_continue_rcu(pos, &head, node)
		got[n++] = pos->value;
	sk_rcu_read_unlock();
	EXPECT_SEQ(got, n, 2, 3);
	n = collect(&head, got, 4);
	EXPECT_SEQ(got, n, 2, 3);
	cr_assert(sk_list_check(&head));
}

Test(rculist, replace)
{
	SK_LIST_HEAD(head);
	struct item it[3] = { { .value = 1 }, { .value = 2 }, { .value = 3 } };
	struct item nw = { .value = 20 };
	int got[4], n;

	for (int i = 0; i < 3; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	SK_EXPECT_NO_VIOLATION(sk_list_replace_rcu(&it[1].node, &nw.node));
	n = collect(&head, got, 4);
	EXPECT_SEQ(got, n, 1, 20, 3);
	cr_assert_eq(it[1].node.next, &it[2].node, "old next kept for readers");
	cr_assert_eq(it[1].node.prev, (struct sk_list_head *)SK_LIST_POISON2);
	cr_assert(sk_list_check(&head));
}

Test(rculist, splice_init)
{
	SK_LIST_HEAD(head);
	SK_LIST_HEAD(priv);
	SK_LIST_HEAD(shared);
	struct item it[6];
	int got[8], n;

	for (int i = 0; i < 6; i++)
		it[i].value = i;
	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[5].node, &head);
	sk_list_add_tail(&it[1].node, &priv); /* a private list, built plainly */
	sk_list_add_tail(&it[2].node, &priv);
	sk_list_add_tail_rcu(&it[3].node, &shared);
	sk_list_add_tail_rcu(&it[4].node, &shared);

	SK_EXPECT_NO_VIOLATION(sk_list_splice_init_rcu(&priv, &it[0].node, NULL));
	cr_assert(sk_list_empty(&priv));
	/* a list RCU readers may be on: with a grace period */
	SK_EXPECT_NO_VIOLATION(sk_list_splice_tail_init_rcu(&shared, &it[5].node, sk_synchronize_rcu));
	cr_assert(sk_list_empty(&shared));
	n = collect(&head, got, 8);
	EXPECT_SEQ(got, n, 0, 1, 2, 3, 4, 5);
	cr_assert(sk_list_check(&head));
	/* an empty list splices to nothing */
	SK_EXPECT_NO_VIOLATION(sk_list_splice_init_rcu(&priv, &head, synchronize_rcu));
	cr_assert_eq(sk_list_count_nodes(&head), 6);
}

/* ------------------------------------------------------------------------
 * List writers: misuse (one report, nothing written)
 * ------------------------------------------------------------------------ */

Test(rculist, del_twice)
{
	SK_LIST_HEAD(head);
	struct item it[2];

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	sk_list_del_rcu(&it[0].node);
	SNAP(s, &head, &it[0].node, &it[1].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_list_del_rcu(&it[0].node));
	UNCHANGED(s);
	cr_assert(sk_list_check(&head));
}

Test(rculist, del_never_added)
{
	struct item it;

	memset(&it, 0, sizeof(it));
	SNAP(s, &it.node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_list_del_rcu(&it.node));
	UNCHANGED(s);
}

Test(rculist, add_double_and_corrupt)
{
	SK_LIST_HEAD(head);
	struct item it[3] = { { .value = 1 }, { .value = 2 }, { .value = 3 } };

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	{
		SNAP(s, &head, &it[0].node, &it[1].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_list_add_rcu(&it[0].node, &head));
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_list_add_tail_rcu(&it[1].node, &head));
		UNCHANGED(s);
	}
	/* LKDTM-style: redirect a neighbour's back pointer, then add next to it */
	it[0].node.prev = &it[1].node;
	{
		SNAP(s, &head, &it[0].node, &it[1].node, &it[2].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_list_add_rcu(&it[2].node, &head));
		UNCHANGED(s);
	}
}

Test(rculist, replace_misuse)
{
	SK_LIST_HEAD(head);
	struct item it[2], nw;

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	{
		SNAP(s, &head, &it[0].node, &it[1].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_list_replace_rcu(&it[0].node, &it[1].node));
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_list_replace_rcu(&it[0].node, &it[0].node));
		UNCHANGED(s);
	}
	sk_list_del_rcu(&it[0].node);
	{
		SNAP(s, &head, &it[0].node, &it[1].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
				    sk_list_replace_rcu(&it[0].node, &nw.node));
		UNCHANGED(s);
	}
}

/*
 * The old entry's links, each check on its own: the case above trips both
 * the poison check and the neighbour check, so either alone would pass it.
 */
Test(rculist, replace_of_a_poisoned_or_inconsistent_old_entry)
{
	SK_LIST_HEAD(head);
	struct item it[3], nw;
	struct sk_list_head *saved;

	for (int i = 0; i < 3; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	/* Both links poisoned (sk_list_del): nothing may be dereferenced. */
	sk_list_del(&it[0].node);
	sk_init_list_head(&nw.node);
	{
		SNAP(s, &head, &it[0].node, &it[1].node, &it[2].node, &nw.node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
				    sk_list_replace_rcu(&it[0].node, &nw.node));
		UNCHANGED(s);
	}
	/* Valid pointers, but it[2] no longer points back at it[1]. */
	saved = it[2].node.prev;
	it[2].node.prev = &head;
	{
		SNAP(s, &head, &it[1].node, &it[2].node, &nw.node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
				    sk_list_replace_rcu(&it[1].node, &nw.node));
		UNCHANGED(s);
	}
	it[2].node.prev = saved;
	SK_EXPECT_NO_VIOLATION(sk_list_replace_rcu(&it[1].node, &nw.node));
}

Test(rculist, splice_into_itself)
{
	SK_LIST_HEAD(head);
	struct item it[2];

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	SNAP(s, &head, &it[0].node, &it[1].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_list_splice_init_rcu(&head, &it[1].node, sk_synchronize_rcu));
	UNCHANGED(s);
}

/* A grace period that counts itself: a refused splice must not wait for one. */
static int sync_calls;

static void counting_sync(void)
{
	sync_calls++;
	sk_synchronize_rcu();
}

Test(rculist, splice_tail_into_itself)
{
	SK_LIST_HEAD(head);
	struct item it[2];

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	sync_calls = 0;
	SNAP(s, &head, &it[0].node, &it[1].node);
	/* before the first entry is after the head: the head is next to itself */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_list_splice_tail_init_rcu(&head, &it[0].node, counting_sync));
	UNCHANGED(s);
	cr_assert_eq(sync_calls, 0, "refused before the grace period");
}

#ifdef SK_DEBUG
/* Further in: only the debug level's walk of the spliced list sees it. */
Test(rculist, splice_into_itself_further_in)
{
	SK_LIST_HEAD(head);
	struct item it[4];

	for (int i = 0; i < 4; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	sync_calls = 0;
	SNAP(s, &head, &it[0].node, &it[1].node, &it[2].node, &it[3].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_list_splice_tail_init_rcu(&head, &it[2].node, counting_sync));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_list_splice_init_rcu(&head, &it[1].node, counting_sync));
	UNCHANGED(s);
	cr_assert_eq(sync_calls, 0, "refused before the grace period");
}
#endif

Test(rculist, splice_tail_init_corrupt)
{
	SK_LIST_HEAD(head);
	SK_LIST_HEAD(priv);
	struct item it[4];
	int got[4], n;

	for (int i = 0; i < 4; i++)
		it[i].value = i;
	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	sk_list_add_tail(&it[2].node, &priv);
	sk_list_add_tail(&it[3].node, &priv);
	sync_calls = 0;

	/* LKDTM-style: the list's last entry no longer points back at it */
	it[3].node.next = &it[0].node;
	{
		SNAP(s, &head, &priv, &it[0].node, &it[1].node, &it[2].node, &it[3].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
				    sk_list_splice_tail_init_rcu(&priv, &head, counting_sync));
		UNCHANGED(s);
	}
	it[3].node.next = &priv;
	/* the insertion point: the head's prev no longer points forward to it */
	head.prev = &it[0].node;
	{
		SNAP(s, &head, &priv, &it[0].node, &it[1].node, &it[2].node, &it[3].node);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
				    sk_list_splice_tail_init_rcu(&priv, &head, counting_sync));
		UNCHANGED(s);
	}
	head.prev = &it[1].node;
	cr_assert_eq(sync_calls, 0, "refused before the grace period");
	/* repaired, the same splice goes through: the refusals left nothing behind */
	SK_EXPECT_NO_VIOLATION(sk_list_splice_tail_init_rcu(&priv, &head, counting_sync));
	cr_assert_eq(sync_calls, 1);
	cr_assert(sk_list_empty(&priv));
	n = collect(&head, got, 4);
	EXPECT_SEQ(got, n, 0, 1, 2, 3);
	cr_assert(sk_list_check(&head));
}

/* ------------------------------------------------------------------------
 * hlist
 * ------------------------------------------------------------------------ */

Test(rculist, hlist_writers_and_readers)
{
	SK_HLIST_HEAD(h);
	struct item it[6];
	struct item *pos;
	int got[8], n;

	for (int i = 0; i < 6; i++) {
		it[i].value = i;
		sk_init_hlist_node(&it[i].hnode);
	}
	SK_EXPECT_NO_VIOLATION({
		sk_hlist_add_tail_rcu(&it[2].hnode, &h);      /* empty: as add_head */
		sk_hlist_add_head_rcu(&it[0].hnode, &h);
		sk_hlist_add_behind_rcu(&it[1].hnode, &it[0].hnode);
		sk_hlist_add_tail_rcu(&it[4].hnode, &h);
		sk_hlist_add_before_rcu(&it[3].hnode, &it[4].hnode);
	});
	n = hcollect(&h, got, 8);
	EXPECT_SEQ(got, n, 0, 1, 2, 3, 4);
	cr_assert(sk_hlist_check(&h));

	sk_rcu_read_lock();
	cr_assert_eq(sk_hlist_first_rcu(&h), &it[0].hnode);
	cr_assert_eq(sk_hlist_next_rcu(&it[0].hnode), &it[1].hnode);
	pos = &it[2];
	n = 0;
	sk_hlist_for_each_entry_continue_rcu(pos, hnode)
		got[n++] = pos->value;
	EXPECT_SEQ(got, n, 3, 4);
	pos = &it[3];
	n = 0;
	sk_hlist_for_each_entry_from_rcu(pos, hnode)
		got[n++] = pos->value;
	EXPECT_SEQ(got, n, 3, 4);
	sk_rcu_read_unlock();

	SK_EXPECT_NO_VIOLATION(sk_hlist_del_rcu(&it[2].hnode));
	cr_assert_eq(it[2].hnode.next, &it[3].hnode, "next kept for readers");
	cr_assert_eq(it[2].hnode.pprev, (struct sk_hlist_node **)SK_LIST_POISON2);
	SK_EXPECT_NO_VIOLATION(sk_hlist_replace_rcu(&it[3].hnode, &it[5].hnode));
	cr_assert_eq(it[3].hnode.next, &it[4].hnode);
	cr_assert_eq(it[3].hnode.pprev, (struct sk_hlist_node **)SK_LIST_POISON2);
	SK_EXPECT_NO_VIOLATION(sk_hlist_del_init_rcu(&it[0].hnode));
	cr_assert(sk_hlist_unhashed(&it[0].hnode));
	cr_assert_eq(it[0].hnode.next, &it[1].hnode, "next kept for readers");
	SK_EXPECT_NO_VIOLATION(sk_hlist_del_init_rcu(&it[0].hnode)); /* unhashed: no-op */
	n = hcollect(&h, got, 8);
	EXPECT_SEQ(got, n, 1, 5, 4);
	cr_assert(sk_hlist_check(&h));
}

Test(rculist, hlist_misuse)
{
	SK_HLIST_HEAD(h);
	struct item it[3];

	for (int i = 0; i < 3; i++)
		sk_init_hlist_node(&it[i].hnode);
	sk_hlist_add_head_rcu(&it[1].hnode, &h);
	sk_hlist_add_head_rcu(&it[0].hnode, &h);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_head_rcu(&it[0].hnode, &h));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_hlist_add_behind_rcu(&it[1].hnode, &it[0].hnode));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_hlist_add_before_rcu(&it[0].hnode, &it[1].hnode));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_hlist_replace_rcu(&it[0].hnode, &it[1].hnode));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_hlist_replace_rcu(&it[0].hnode, &it[0].hnode));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_hlist_del_rcu(&it[2].hnode));
	sk_hlist_del_rcu(&it[1].hnode);
	{
		struct sk_hlist_node c0 = it[0].hnode, c1 = it[1].hnode;
		struct sk_hlist_node *first = h.first;

		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_hlist_del_rcu(&it[1].hnode));
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
				    sk_hlist_del_init_rcu(&it[1].hnode));
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
				    sk_hlist_replace_rcu(&it[1].hnode, &it[2].hnode));
		cr_assert(h.first == first && !memcmp(&c0, &it[0].hnode, sizeof(c0)) &&
			  !memcmp(&c1, &it[1].hnode, sizeof(c1)));
	}
	/* a poisoned link on the way to the tail: refused, nothing added */
	it[0].hnode.next = (struct sk_hlist_node *)SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_tail_rcu(&it[2].hnode, &h));
	cr_assert(sk_hlist_unhashed(&it[2].hnode));
	it[0].hnode.next = NULL;
}

/*
 * Misuse the writers used to accept:
 * - add_tail of a node already in the middle of the chain (it cut off the
 *   nodes after it);
 * - add_behind a node deleted with hlist_del_rcu while it was last (its
 *   next stays NULL for readers): the new node hung off no chain;
 * - replace of a fake node: the new node's pprev pointed into the old one,
 *   to be freed after the grace period.
 */
Test(rculist, hlist_writers_refuse_what_would_unhook_nodes)
{
	SK_HLIST_HEAD(h);
	struct item it[4];
	struct sk_hlist_node *first;

	for (int i = 0; i < 4; i++)
		sk_init_hlist_node(&it[i].hnode);
	for (int i = 2; i >= 0; i--)
		sk_hlist_add_head_rcu(&it[i].hnode, &h); /* 0 1 2 */
	first = h.first;
	{
		struct sk_hlist_node c[3] = { it[0].hnode, it[1].hnode, it[2].hnode };

		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_hlist_add_tail_rcu(&it[1].hnode, &h));
		cr_assert(strstr(last.detail, "already on"), "%s", last.detail);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_hlist_add_tail_rcu(&it[0].hnode, &h));
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
				    sk_hlist_add_tail_rcu(&it[2].hnode, &h));
		cr_assert(h.first == first && !memcmp(c, (struct sk_hlist_node[3]){ it[0].hnode,
			  it[1].hnode, it[2].hnode }, sizeof(c)), "the chain changed");
	}

	if (DEBUG_LEVEL) {
		/* A bad argument is named with the operation it was given to. */
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    sk_hlist_add_tail_rcu((struct sk_hlist_node *)NULL, &h));
		cr_assert(strstr(last.detail, "hlist_add_tail_rcu"), "%s", last.detail);
	}

	sk_hlist_del_rcu(&it[2].hnode); /* last: its next stays NULL */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_hlist_add_behind_rcu(&it[3].hnode, &it[2].hnode));
	cr_assert(strstr(last.detail, "deleted entry"), "%s", last.detail);
	cr_assert(sk_hlist_unhashed(&it[3].hnode));
	cr_assert_null(it[1].hnode.next);
	sk_init_hlist_node(&it[2].hnode); /* unhashed: pprev NULL */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED,
			    sk_hlist_add_behind_rcu(&it[3].hnode, &it[2].hnode));
	cr_assert(sk_hlist_unhashed(&it[3].hnode));
	SK_EXPECT_NO_VIOLATION(sk_hlist_add_behind_rcu(&it[3].hnode, &it[1].hnode));
	cr_assert(it[1].hnode.next == &it[3].hnode && it[3].hnode.pprev == &it[1].hnode.next);

	/* replace of a fake node: the new node becomes fake itself */
	{
		struct sk_hlist_node fake, n;

		sk_init_hlist_node(&fake);
		sk_init_hlist_node(&n);
		sk_hlist_add_fake(&fake);
		SK_EXPECT_NO_VIOLATION(sk_hlist_replace_rcu(&fake, &n));
		cr_assert(sk_hlist_fake(&n));
		cr_assert_null(n.next);
		cr_assert(n.pprev == &n.next, "the new node points into the old one");
		SK_EXPECT_NO_VIOLATION(sk_hlist_del_init_rcu(&n));
		cr_assert(sk_hlist_unhashed(&n));
	}
}

/* ------------------------------------------------------------------------
 * Publication helpers
 * ------------------------------------------------------------------------ */

Test(rculist, dereference_assign)
{
	static struct item *gp;
	struct item a = { .value = 7 };
	struct item *p;

	sk_rcu_assign_pointer(gp, &a);
	sk_rcu_read_lock();
	p = sk_rcu_dereference(gp);
	cr_assert_eq(p, &a);
	cr_assert_eq(p->value, 7);
	sk_rcu_read_unlock();
}

/* ------------------------------------------------------------------------
 * Deferred free
 * ------------------------------------------------------------------------ */

static unsigned long freed_calls;
static void *freed_obj;

static void count_free(void *obj)
{
	__atomic_store_n(&freed_obj, obj, __ATOMIC_RELAXED);
	__atomic_fetch_add(&freed_calls, 1, __ATOMIC_RELAXED);
	sk_kfree(obj);
}

Test(rculist, kfree_rcu)
{
	SK_LIST_HEAD(head);
	struct item *it = sk_kzalloc(sizeof(*it));
	struct item *none = NULL;

	cr_assert_not_null(it);
	sk_list_add_rcu(&it->node, &head);
	sk_list_del_rcu(&it->node);
	SK_EXPECT_NO_VIOLATION(sk_kfree_rcu(it, rcu));
	SK_EXPECT_NO_VIOLATION(sk_kfree_rcu(none, rcu)); /* NULL: nothing */
	sk_rcu_barrier(); /* memcheck and ASan see the free, or the leak */
}

Test(rculist, kmem_cache_free_rcu)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("rcu-items", sizeof(struct item), 0, 0, NULL);
	struct sk_kmem_cache_stats st;
	struct item *it[8];

	cr_assert_not_null(c);
	for (int i = 0; i < 8; i++) {
		it[i] = sk_kmem_cache_zalloc(c);
		cr_assert_not_null(it[i]);
	}
	for (int i = 0; i < 8; i++)
		SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free_rcu(c, it[i], rcu));
	sk_rcu_barrier();
	sk_kmem_cache_stats(c, &st);
	cr_assert_eq(st.live, 0, "live %lu after the barrier", st.live);
	cr_assert_eq(st.frees, 8);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

Test(rculist, call_rcu_free)
{
	struct item *it = sk_kzalloc(sizeof(*it));

	cr_assert_not_null(it);
	freed_calls = 0;
	SK_EXPECT_NO_VIOLATION(sk_call_rcu_free(it, rcu, count_free));
	sk_rcu_barrier();
	cr_assert_eq(freed_calls, 1);
	cr_assert_eq(freed_obj, it);
}

Test(rculist, deferred_free_refuses_null)
{
	struct item it;
	void (*nofn)(void *) = NULL;
	struct sk_kmem_cache *nocache = NULL;

	freed_calls = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_call_rcu_free(&it, rcu, nofn));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_kmem_cache_free_rcu(nocache, &it, rcu));
	sk_rcu_barrier();
	cr_assert_eq(freed_calls, 0, "nothing was queued");
}

/* A reader that holds its critical section open until told. */
static int reader_in, reader_go;

static void *holding_reader(void *arg)
{
	(void)arg;
	rcu_register_thread();
	sk_rcu_read_lock();
	__atomic_store_n(&reader_in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&reader_go, __ATOMIC_ACQUIRE))
		usleep(1000);
	sk_rcu_read_unlock();
	rcu_unregister_thread();
	return NULL;
}

/* Start a holding_reader() and wait until it is inside its critical section. */
static void start_holding_reader(pthread_t *t)
{
	reader_in = reader_go = 0;
	cr_assert_eq(pthread_create(t, NULL, holding_reader, NULL), 0);
	while (!__atomic_load_n(&reader_in, __ATOMIC_ACQUIRE))
		usleep(1000);
}

/* Let it end its critical section, and join it. */
static void end_holding_reader(pthread_t t)
{
	__atomic_store_n(&reader_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

Test(rculist, deferred_free_waits_for_readers)
{
	struct item *it = sk_kzalloc(sizeof(*it));
	pthread_t t;

	cr_assert_not_null(it);
	freed_calls = 0;
	start_holding_reader(&t);
	sk_call_rcu_free(it, rcu, count_free);
	usleep(50 * 1000); /* plenty for a grace period that is not held up */
	cr_assert_eq(__atomic_load_n(&freed_calls, __ATOMIC_RELAXED), 0,
		     "freed while a reader was still in its critical section");
	end_holding_reader(t);
	sk_rcu_barrier();
	cr_assert_eq(freed_calls, 1);
}

/* Counts, frees nothing: the object may be queued again afterwards. */
static int counted_calls;

static void count_only(void *obj)
{
	(void)obj;
	__atomic_fetch_add(&counted_calls, 1, __ATOMIC_RELAXED);
}

/*
 * Queued twice before its callback ran, a head would make liburcu's queue
 * a cycle: the worker ran the callbacks forever and sk_rcu_barrier() never
 * returned, with nothing reported.  A reader holds the grace period open,
 * so the first callback cannot have run at the second call.
 */
Test(rculist, deferred_free_of_a_queued_head_is_refused)
{
	struct item *it = sk_kmalloc(sizeof(*it)); /* not zeroed: the head needs no init */
	pthread_t t;

	cr_assert_not_null(it);
	counted_calls = 0;
	start_holding_reader(&t);
	SK_EXPECT_NO_VIOLATION(sk_call_rcu_free(it, rcu, count_only));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_call_rcu_free(it, rcu, count_only));
	SK_EXPECT_VIOLATION(SK_VIOLATION_ALLOC_DOUBLE_FREE, sk_kfree_rcu(it, rcu));
	end_holding_reader(t);
	sk_rcu_barrier(); /* returns: the queue holds the head once */
	cr_assert_eq(counted_calls, 1);

	/* Its callback has run: the head may be queued again, from anywhere. */
	SK_EXPECT_NO_VIOLATION(sk_call_rcu_free(it, rcu, count_only));
	sk_rcu_barrier();
	cr_assert_eq(counted_calls, 2);
	SK_EXPECT_NO_VIOLATION(sk_kfree_rcu(it, rcu));
	sk_rcu_barrier();
}

/* Memory freed after a grace period and reused holds an old head: not queued. */
Test(rculist, deferred_free_of_reused_memory_is_not_refused)
{
	struct sk_kmem_cache *c = sk_kmem_cache_create("rcu-reuse", sizeof(struct item), 0, 0, NULL);
	struct sk_kmem_cache_stats st;

	cr_assert_not_null(c);
	for (int i = 0; i < 16; i++) {
		struct item *it = sk_kmem_cache_alloc(c); /* not zeroed */

		cr_assert_not_null(it);
		SK_EXPECT_NO_VIOLATION(sk_kmem_cache_free_rcu(c, it, rcu));
		sk_rcu_barrier();
	}
	sk_kmem_cache_stats(c, &st);
	cr_assert_eq(st.frees, 16);
	cr_assert_eq(st.live, 0);
	cr_assert_eq(sk_kmem_cache_destroy(c), 0);
}

/* ------------------------------------------------------------------------
 * Reader checks (debug level)
 * ------------------------------------------------------------------------ */

Test(rculist, walk_outside_read_side_section)
{
	SK_LIST_HEAD(head);
	SK_HLIST_HEAD(h);
	struct item it[2] = { { .value = 1 }, { .value = 2 } };
	struct item *pos;
	unsigned long before = sk_violation_count(SK_VIOLATION_RCU_NOT_READ_LOCKED);
	int n = 0;

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	sk_init_hlist_node(&it[0].hnode);
	sk_hlist_add_head_rcu(&it[0].hnode, &h);

	/* one report per traversal (not per step); the walk completes */
	sk_list_for_each_entry_rcu(pos, &head, node)
		n++;
	cr_assert_eq(n, 2);
	sk_hlist_for_each_entry_rcu(pos, &h, hnode)
		n++;
	cr_assert_eq(n, 3);
	pos = sk_list_first_or_null_rcu(&head, struct item, node);
	cr_assert_eq(pos, &it[0]);
	pos = sk_list_next_or_null_rcu(&head, &it[0].node, struct item, node);
	cr_assert_eq(pos, &it[1]);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_RCU_NOT_READ_LOCKED) - before,
		     DEBUG_LEVEL ? 4 : 0);
	cr_assert_eq(sk_violation_total(), DEBUG_LEVEL ? 4 : 0, "nothing else reported");
	SK_TEST_ACCOUNT(sk_violation_total());

	/* the update-side condition makes a locked walk legal */
	SK_EXPECT_NO_VIOLATION({
		sk_list_for_each_entry_rcu(pos, &head, node, true)
			n++;
		sk_hlist_for_each_entry_rcu(pos, &h, hnode, 1 == 1)
			n++;
	});
	/* and inside a read-side section nothing is reported */
	SK_EXPECT_NO_VIOLATION({
		rcu_read_lock(); /* liburcu's own, nested in ours */
		sk_rcu_read_lock();
		sk_list_for_each_entry_rcu(pos, &head, node)
			n++;
		sk_rcu_read_unlock();
		rcu_read_unlock();
	});
	cr_assert_eq(n, 8);
}

/* Expect one rcu_not_read_locked report at the debug level, none when hardened. */
#define EXPECT_NOT_READ_LOCKED(stmt)                                          \
	do {                                                                  \
		if (DEBUG_LEVEL)                                              \
			SK_EXPECT_VIOLATION(SK_VIOLATION_RCU_NOT_READ_LOCKED, stmt); \
		else                                                          \
			SK_EXPECT_NO_VIOLATION(stmt);                         \
	} while (0)

Test(rculist, continue_and_from_outside_read_side_section)
{
	SK_LIST_HEAD(head);
	SK_HLIST_HEAD(h);
	struct item it[3] = { { .value = 1 }, { .value = 2 }, { .value = 3 } };
	struct item *pos;
	int n;

	for (int i = 0; i < 3; i++) {
		sk_list_add_tail_rcu(&it[i].node, &head);
		sk_init_hlist_node(&it[i].hnode);
	}
	for (int i = 2; i >= 0; i--)
		sk_hlist_add_head_rcu(&it[i].hnode, &h);

	/*
	 * A cursor carried past the end of its critical section: one report
	 * per walk (not per step, hence three entries), and the walk completes.
	 */
	pos = &it[0];
	n = 0;
	EXPECT_NOT_READ_LOCKED(sk_list_for_each_entry_continue_rcu(pos, &head, node) n++);
	cr_assert_eq(n, 2);
	pos = &it[0];
	n = 0;
	EXPECT_NOT_READ_LOCKED(sk_list_for_each_entry_from_rcu(pos, &head, node) n++);
	cr_assert_eq(n, 3);
	pos = &it[0];
	n = 0;
	EXPECT_NOT_READ_LOCKED(sk_hlist_for_each_entry_continue_rcu(pos, hnode) n++);
	cr_assert_eq(n, 2);
	pos = &it[0];
	n = 0;
	EXPECT_NOT_READ_LOCKED(sk_hlist_for_each_entry_from_rcu(pos, hnode) n++);
	cr_assert_eq(n, 3);

	/* the same walks inside a section report nothing */
	n = 0;
	SK_EXPECT_NO_VIOLATION({
		sk_rcu_read_lock();
		pos = &it[0];
		sk_list_for_each_entry_continue_rcu(pos, &head, node)
			n++;
		pos = &it[0];
		sk_list_for_each_entry_from_rcu(pos, &head, node)
			n++;
		pos = &it[0];
		sk_hlist_for_each_entry_continue_rcu(pos, hnode)
			n++;
		pos = &it[0];
		sk_hlist_for_each_entry_from_rcu(pos, hnode)
			n++;
		sk_rcu_read_unlock();
	});
	cr_assert_eq(n, 10);
}

#ifdef SK_DEBUG
Test(rculist, reader_on_entry_deleted_without_rcu)
{
	SK_LIST_HEAD(head);
	SK_HLIST_HEAD(h);
	struct item it[3] = { { .value = 1 }, { .value = 2 }, { .value = 3 } };
	struct item *pos;
	int n = 0;

	for (int i = 0; i < 3; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	sk_rcu_read_lock();
	pos = sk_list_first_or_null_rcu(&head, struct item, node);
	sk_list_del(&it[0].node); /* the wrong delete: poisons next under a reader */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_for_each_entry_continue_rcu(pos, &head, node) n++);
	cr_assert_eq(n, 0, "the walk stopped instead of following the poison");

	sk_init_hlist_node(&it[0].hnode);
	sk_init_hlist_node(&it[1].hnode);
	sk_hlist_add_head_rcu(&it[1].hnode, &h);
	sk_hlist_add_head_rcu(&it[0].hnode, &h);
	pos = &it[0];
	sk_hlist_del(&it[0].hnode);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_hlist_for_each_entry_continue_rcu(pos, hnode) n++);
	cr_assert_eq(n, 0);

	/* The non-RCU del_init leaves the entry pointing to itself: the step
	 * reports it and stops (it spun on the entry for ever, unreported). */
	pos = &it[1];
	sk_list_del_init(&it[1].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_for_each_entry_continue_rcu(pos, &head, node) {
				    if (++n > 3)
					    break;
			    });
	cr_assert_eq(n, 0, "the walk went on from a self-pointing entry (%d steps)", n);
	cr_assert(strstr(last.detail, "points to itself"), "%s", last.detail);
	sk_rcu_read_unlock();
}

#endif

#ifdef SK_DEBUG
/*
 * A reader that records the entries it walks past while a writer (this
 * thread, for determinism) deletes @victim with the non-RCU delete just as
 * the reader stands on it: the reader's next step meets LIST_POISON1.
 */
static int walk_deleting(struct sk_list_head *head, struct item *victim, int *out, int max)
{
	struct item *pos;
	int n = 0;

	sk_list_for_each_entry_rcu(pos, head, node) {
		if (n < max)
			out[n] = pos->value;
		n++;
		if (pos == victim)
			sk_list_del(&victim->node);
	}
	return n;
}

static int hwalk_deleting(struct sk_hlist_head *h, struct item *victim, int *out, int max)
{
	struct item *pos;
	int n = 0;

	sk_hlist_for_each_entry_rcu(pos, h, hnode) {
		if (n < max)
			out[n] = pos->value;
		n++;
		if (pos == victim)
			sk_hlist_del(&victim->hnode);
	}
	return n;
}

Test(rculist, list_readers_stop_at_poisoned_link)
{
	SK_LIST_HEAD(head);
	SK_LIST_HEAD(outer);
	SK_LIST_HEAD(sub);
	struct item it[4] = { { .value = 1 }, { .value = 2 }, { .value = 3 }, { .value = 4 } };
	struct item *pos;
	int got[4], n;

	for (int i = 0; i < 4; i++)
		sk_list_add_tail_rcu(&it[i].node, &head);
	sk_rcu_read_lock();
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, n = walk_deleting(&head, &it[1], got, 4));
	EXPECT_SEQ(got, n, 1, 2); /* stopped instead of following the poison */
	/* the lookup from the same entry: reported, and NULL (the documented answer) */
	pos = &it[0];
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    pos = sk_list_next_or_null_rcu(&head, &it[1].node, struct item, node));
	cr_assert_null(pos);
	/* a walk from the deleted entry: the entry itself, then the stop */
	pos = &it[1];
	n = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_list_for_each_entry_from_rcu(pos, &head, node) got[n++] = pos->value);
	EXPECT_SEQ(got, n, 2);
	/* a head deleted with sk_list_del() (a sub-list's, say): NULL, not the poison */
	sk_list_add(&sub, &outer);
	sk_list_del(&sub);
	pos = &it[0];
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    pos = sk_list_first_or_null_rcu(&sub, struct item, node));
	cr_assert_null(pos);
	sk_rcu_read_unlock();
	/* the list itself was relinked correctly by the (wrong) delete */
	n = collect(&head, got, 4);
	EXPECT_SEQ(got, n, 1, 3, 4);
}

Test(rculist, hlist_readers_stop_at_poisoned_link)
{
	SK_HLIST_HEAD(h);
	struct item it[4] = { { .value = 1 }, { .value = 2 }, { .value = 3 }, { .value = 4 } };
	struct item *pos;
	int got[4], n;

	for (int i = 0; i < 4; i++)
		sk_init_hlist_node(&it[i].hnode);
	for (int i = 3; i >= 0; i--)
		sk_hlist_add_head_rcu(&it[i].hnode, &h);
	sk_rcu_read_lock();
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, n = hwalk_deleting(&h, &it[1], got, 4));
	EXPECT_SEQ(got, n, 1, 2);
	pos = &it[1];
	n = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_hlist_for_each_entry_from_rcu(pos, hnode) got[n++] = pos->value);
	EXPECT_SEQ(got, n, 2);
	sk_rcu_read_unlock();
	n = hcollect(&h, got, 4);
	EXPECT_SEQ(got, n, 1, 3, 4);
}
#else
/*
 * Hardened readers are the kernel's plain loads: a poisoned link is given
 * back as loaded, unreported (the debug level checks it: above).  Only the
 * lookups are tried here; a walk would follow the poison and fault.
 */
Test(rculist, hardened_lookups_do_not_check_links)
{
	SK_LIST_HEAD(head);
	SK_LIST_HEAD(outer);
	SK_LIST_HEAD(sub);
	struct item it[2];
	struct item *pos;

	sk_list_add_tail_rcu(&it[0].node, &head);
	sk_list_add_tail_rcu(&it[1].node, &head);
	sk_list_del(&it[0].node);
	sk_list_add(&sub, &outer);
	sk_list_del(&sub);
	sk_rcu_read_lock();
	SK_EXPECT_NO_VIOLATION(pos = sk_list_next_or_null_rcu(&head, &it[0].node, struct item,
								node));
	cr_assert_eq((void *)pos, (char *)SK_LIST_POISON1 - offsetof(struct item, node));
	SK_EXPECT_NO_VIOLATION(pos = sk_list_first_or_null_rcu(&sub, struct item, node));
	cr_assert_eq((void *)pos, (char *)SK_LIST_POISON1 - offsetof(struct item, node));
	sk_rcu_read_unlock();
}
#endif

/* ------------------------------------------------------------------------
 * The default policy aborts
 * ------------------------------------------------------------------------ */

static void abort_setup(void)
{
	rcu_register_thread();
}

Test(rculist_abort, double_del_rcu_aborts, .init = abort_setup, .signal = SIGABRT)
{
	SK_LIST_HEAD(head);
	struct item it;

	sk_list_add_rcu(&it.node, &head);
	sk_list_del_rcu(&it.node);
	sk_list_del_rcu(&it.node);
}
