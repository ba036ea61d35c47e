/* SPDX-License-Identifier: MIT */
/*
 * tests/test-hlist.c - safekern/list.h, hlists: every API operation
 * (hlist-api-body.h, with the sk_ names), then misuse: a redirected
 * neighbour link (as LKDTM does for lists), double delete, deleting an
 * unhashed or zeroed node, double add in each add form, refused moves
 * and splices, the debug walk checks, and sk_hlist_check().  Each misuse
 * test asserts one report of the right kind and every node unchanged.
 * Built and run at both check levels.
 */
#include <signal.h>
#include <string.h>

#include "list-names-sk.h"

#define HLIST_API_SUITE hlist_api
#include "hlist-api-body.h"

/* Snapshot the listed nodes (next, pprev) and heads (first). */
#define SNAPSHOT(name, ...)                                                   \
	struct sk_hlist_node *const name##_nodes[] = { __VA_ARGS__ };         \
	struct sk_hlist_node name##_copy[SK_ARRAY_SIZE(name##_nodes)];        \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_nodes); name##_i++) \
	name##_copy[name##_i] = *name##_nodes[name##_i]

#define CHECK_UNCHANGED(name)                                                 \
	for (size_t name##_i = 0; name##_i < SK_ARRAY_SIZE(name##_nodes); name##_i++) { \
		cr_assert_eq(name##_nodes[name##_i]->next, name##_copy[name##_i].next, \
			     "node %zu: next changed", name##_i);             \
		cr_assert_eq(name##_nodes[name##_i]->pprev, name##_copy[name##_i].pprev, \
			     "node %zu: pprev changed", name##_i);            \
	}

/* The same for heads (first). */
#define SNAP_HEADS(name, ...)                                                 \
	struct sk_hlist_head *const name##_heads[] = { __VA_ARGS__ };         \
	struct sk_hlist_head name##_hcopy[SK_ARRAY_SIZE(name##_heads)];       \
	for (size_t name##_j = 0; name##_j < SK_ARRAY_SIZE(name##_heads); name##_j++) \
	name##_hcopy[name##_j] = *name##_heads[name##_j]

#define CHECK_HEADS_UNCHANGED(name)                                           \
	for (size_t name##_j = 0; name##_j < SK_ARRAY_SIZE(name##_heads); name##_j++) \
		cr_assert_eq(name##_heads[name##_j]->first, name##_hcopy[name##_j].first, \
			     "head %zu: first changed", name##_j)

static struct sk_test_report last;

static void misuse_init(void)
{
	sk_test_count_policy();
	sk_test_record_start(&last);
}

TestSuite(hlist_misuse, .init = misuse_init);

/* h -> n[0] -> ... -> n[k-1] */
static void chain(struct sk_hlist_head *h, struct sk_hlist_node *n, int k)
{
	sk_init_hlist_head(h);
	for (int i = k - 1; i >= 0; i--)
		sk_hlist_add_head(&n[i], h);
}


Test(hlist_misuse, corrupt_next_on_del)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], target = { NULL, NULL };

	chain(&h, n, 3);
	n[1].next = &target; /* LKDTM style: redirect the link */
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1], &n[2], &target);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del(&n[1]));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	cr_assert_null(target.pprev, "the overwrite happened");
	cr_assert(strstr(last.detail, "next->pprev should be"), "%s", last.detail);
}

Test(hlist_misuse, corrupt_pprev_on_del)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], *decoy = NULL;

	chain(&h, n, 3);
	n[1].pprev = &decoy;
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1], &n[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del(&n[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del_init(&n[1]));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	cr_assert_null(decoy, "the overwrite happened");
}

Test(hlist_misuse, double_del)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3];

	chain(&h, n, 3);
	sk_hlist_del(&n[1]);
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1], &n[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_hlist_del(&n[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_hlist_del_init(&n[1]));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	cr_assert(strstr(last.detail, "already deleted"), "%s", last.detail);
}

Test(hlist_misuse, del_of_an_unhashed_node)
{
	struct sk_hlist_node a;

	sk_init_hlist_node(&a);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_hlist_del(&a));
	cr_assert_null(a.next);
	cr_assert_null(a.pprev);
	/* del_init of an unhashed node is the kernel's no-op, not a misuse */
	SK_EXPECT_NO_VIOLATION(sk_hlist_del_init(&a));
}

Test(hlist_misuse, del_of_a_zeroed_node)
{
	struct sk_hlist_node z;

	memset(&z, 0, sizeof(z));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_hlist_del(&z));
	cr_assert(strstr(last.detail, "not hashed"), "%s", last.detail);
}

Test(hlist_misuse, double_add_head)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[2];

	chain(&h, n, 2);
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_head(&n[0], &h));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
}

Test(hlist_misuse, add_head_to_a_corrupt_head)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[2], a, *decoy = NULL;

	chain(&h, n, 2);
	n[0].pprev = &decoy;
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_head(&a, &h));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	h.first = (struct sk_hlist_node *)SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_head(&a, &h));
}

Test(hlist_misuse, add_before_misuse)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], a, loose;

	chain(&h, n, 3);
	sk_init_hlist_node(&loose);
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1], &n[2], &loose);
	/* before a node that is on no list */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED, sk_hlist_add_before(&a, &loose));
	/* before itself, or where it already is */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_before(&n[1], &n[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_before(&n[0], &n[1]));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	/* before a deleted node */
	sk_hlist_del(&n[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_before(&a, &n[2]));
	cr_assert(strstr(last.detail, "deleted entry"), "%s", last.detail);
}

Test(hlist_misuse, add_behind_misuse)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], a;

	chain(&h, n, 3);
	SNAP_HEADS(s, &h);
	SNAPSHOT(s, &n[0], &n[1], &n[2]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_behind(&n[1], &n[1]));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_hlist_add_behind(&n[2], &n[1]));
	n[2].pprev = &n[0].next; /* n[1]'s successor does not point back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_behind(&a, &n[1]));
	n[2].pprev = &n[1].next;
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	sk_hlist_del(&n[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_behind(&a, &n[1]));
}

/* A fake node is on no chain: a node added behind it would hang off
 * nothing (and leave a fake node with a next, which no delete accepts). */
Test(hlist_misuse, add_behind_a_fake_node_is_refused)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[2], a, b;

	chain(&h, n, 2);
	sk_init_hlist_node(&a);
	sk_init_hlist_node(&b);
	sk_hlist_add_fake(&a);
	SNAPSHOT(s, &a, &b);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_add_behind(&b, &a));
	cr_assert(strstr(last.detail, "fake"), "%s", last.detail);
	CHECK_UNCHANGED(s);
	SK_EXPECT_NO_VIOLATION(sk_hlist_del_init(&a));
	/* A chain node whose pprev designates something else: corruption. */
	n[1].pprev = &a.next;
	SNAPSHOT(c, &n[0], &n[1], &b);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_add_behind(&b, &n[1]));
	CHECK_UNCHANGED(c);
	n[1].pprev = &n[0].next;
	SK_EXPECT_NO_VIOLATION(sk_hlist_add_behind(&b, &n[1]));
	cr_assert(sk_hlist_check(&h));
}

Test(hlist_misuse, fake_node_del_is_fine)
{
	struct sk_hlist_node a;

	sk_init_hlist_node(&a);
	sk_hlist_add_fake(&a);
	SK_EXPECT_NO_VIOLATION(sk_hlist_del_init(&a));
	cr_assert(sk_hlist_unhashed(&a));
	sk_hlist_add_fake(&a);
	SK_EXPECT_NO_VIOLATION(sk_hlist_del(&a));
}

/*
 * A fake node is on no list, but its next may still hold a link: poison
 * after sk_hlist_del(), or the old successor after
 * sk_hlist_del_init_rcu() (which, as the kernel's, leaves next alone).
 * Deleting it would write next->pprev: a SIGSEGV on the poison, a silent
 * rewrite of a node on another list otherwise.  Refused, nothing written.
 */
Test(hlist_misuse, del_of_a_fake_node_with_a_stale_next)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[2], a;

	chain(&h, n, 2);
	sk_init_hlist_node(&a);
	sk_hlist_add_fake(&a);
	a.next = &n[1]; /* what sk_hlist_del_init_rcu() of a former n[1]'s predecessor leaves */
	SNAPSHOT(s, &n[0], &n[1], &a);
	SNAP_HEADS(sh, &h);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del_init(&a));
	cr_assert(strstr(last.detail, "fake"), "%s", last.detail);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del(&a));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(sh);
	cr_assert(sk_hlist_check(&h));

	sk_init_hlist_node(&a);
	sk_hlist_add_fake(&a);
	sk_hlist_del(&a); /* fine: poisons it */
	sk_hlist_add_fake(&a);
	SNAPSHOT(p, &a);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del(&a));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_del_init(&a));
	CHECK_UNCHANGED(p);
	cr_assert(strstr(last.detail, "LIST_POISON1"), "%s", last.detail);
}

Test(hlist_misuse, move_list_of_a_corrupt_head)
{
	struct sk_hlist_head h1, h2;
	struct sk_hlist_node n[2], *decoy = NULL;

	chain(&h1, n, 2);
	sk_init_hlist_head(&h2);
	n[0].pprev = &decoy;
	SNAP_HEADS(s, &h1, &h2);
	SNAPSHOT(s, &n[0], &n[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_move_list(&h1, &h2));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
}

Test(hlist_misuse, splice_init_misuse)
{
	struct sk_hlist_head from, to, empty;
	struct sk_hlist_node f[2], t[2], *decoy = NULL;

	chain(&from, f, 2);
	chain(&to, t, 2);
	sk_init_hlist_head(&empty);
	SNAP_HEADS(s, &from, &to, &empty);
	SNAPSHOT(s, &f[0], &f[1], &t[0], &t[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_splice_init(&empty, &f[1], &to));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_splice_init(&from, &f[0], &to));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_splice_init(&from, &f[1], &from));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	t[0].pprev = &decoy;
	SNAP_HEADS(u, &from, &to);
	SNAPSHOT(u, &f[0], &f[1], &t[0], &t[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_splice_init(&from, &f[1], &to));
	CHECK_UNCHANGED(u);
	CHECK_HEADS_UNCHANGED(u);
}

Test(hlist_misuse, report_names_the_callers_line)
{
	struct sk_hlist_node z;
	unsigned int line;

	memset(&z, 0, sizeof(z));
	line = __LINE__ + 1;
	sk_hlist_del(&z);
	cr_assert_eq(last.calls, 1);
	SK_TEST_ACCOUNT(1);
	cr_assert_eq(last.line, line);
}

Test(hlist_misuse_abort, double_del_aborts_by_default, .signal = SIGABRT)
{
	SK_HLIST_HEAD(h);
	struct sk_hlist_node a;

	sk_hlist_add_head(&a, &h);
	sk_hlist_del(&a);
	sk_hlist_del(&a);
}

Test(hlist_misuse, check)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[4];
	bool ok = false;

	chain(&h, n, 4);
	SK_EXPECT_NO_VIOLATION(ok = sk_hlist_check(&h));
	cr_assert(ok);
	n[2].pprev = &n[0].next;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, ok = sk_hlist_check(&h));
	cr_assert_not(ok);
	/* Numbered from 0, as sk_list_check() numbers entries. */
	cr_assert(strstr(last.detail, "after node #1"), "%s", last.detail);
	n[2].pprev = &n[1].next;
	n[3].next = (struct sk_hlist_node *)SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, ok = sk_hlist_check(&h));
	cr_assert(strstr(last.detail, "LIST_POISON1"), "%s", last.detail);
	cr_assert(strstr(last.detail, "node #3"), "%s", last.detail);
}

/* A debug walk does not know the index: it names the node by address only. */
Test(hlist_misuse, debug_walk_report_names_the_node)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[4], *pos;
	char addr[32];

	if (!SK__LIST_DEBUG)
		cr_skip_test("debug level only");
	chain(&h, n, 4);
	n[2].next = (struct sk_hlist_node *)SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each(pos, &h) {});
	snprintf(addr, sizeof(addr), "%p", (void *)&n[2]);
	cr_assert(strstr(last.detail, addr), "%s", last.detail);
	cr_assert_null(strstr(last.detail, "#"), "%s", last.detail);
	n[2].next = &n[3];
	n[3].pprev = &n[1].next;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each(pos, &h) {});
	cr_assert(strstr(last.detail, addr), "%s", last.detail);
}

/*
 * Walks over a chain whose next links are intact but where n[2].pprev is
 * wrong: hardened walks visit all four without a report; debug walks stop
 * after n[1] with one report.
 */
struct hitem {
	int data;
	struct sk_hlist_node node;
};

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

Test(hlist_misuse, every_walk_form_on_a_broken_chain)
{
	struct sk_hlist_head h;
	struct hitem it[4], *pos;
	struct sk_hlist_node *p, *n;
	int visits;

	sk_init_hlist_head(&h);
	for (int i = 3; i >= 0; i--)
		sk_hlist_add_head(&it[i].node, &h);
	it[2].node.pprev = &it[0].node.next;
	WALK_EXPECT(2, 4, sk_hlist_for_each(p, &h) visits++);
	WALK_EXPECT(2, 4, sk_hlist_for_each_safe(p, n, &h) visits++);
	WALK_EXPECT(2, 4, sk_hlist_for_each_entry(pos, &h, node) visits++);
	WALK_EXPECT(2, 4, sk_hlist_for_each_entry_safe(pos, n, &h, node) visits++);
	pos = &it[0];
	WALK_EXPECT(1, 3, sk_hlist_for_each_entry_continue(pos, node) visits++);
	pos = &it[0];
	WALK_EXPECT(2, 4, sk_hlist_for_each_entry_from(pos, node) visits++);
	{
		size_t count = 0;

		WALK_EXPECT(0, 0, count = sk_hlist_count_nodes(&h));
		cr_assert_eq(count, SK__LIST_DEBUG ? 2 : 4);
	}
}

#ifdef SK_DEBUG
Test(hlist_misuse, debug_deleting_the_cursor_in_a_plain_walk)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], *p;
	int visits = 0;

	chain(&h, n, 3);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each(p, &h) {
		visits++;
		sk_hlist_del(p);
	});
	cr_assert_eq(visits, 1);
	CHECK_CHAIN(&h, &n[1], &n[2]);
}

/*
 * The same with sk_hlist_del_init(): the cursor's next is NULL then, which
 * looked like the end of the chain, so the walk ended early without a
 * report.  A node on a chain always has a pprev; the cursor has none.
 */
Test(hlist_misuse, debug_del_init_of_the_cursor_in_a_plain_walk)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[3], *p;
	struct hitem it[3], *pos;
	int visits = 0;

	chain(&h, n, 3);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each(p, &h) {
		visits++;
		sk_hlist_del_init(p);
	});
	cr_assert(strstr(last.detail, "taken off its chain"), "%s", last.detail);
	cr_assert_eq(visits, 1);
	CHECK_CHAIN(&h, &n[1], &n[2]);
	sk_init_hlist_head(&h);
	for (int i = 2; i >= 0; i--)
		sk_hlist_add_head(&it[i].node, &h);
	visits = 0;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each_entry(pos, &h, node) {
		visits++;
		sk_hlist_del_init(&pos->node);
	});
	cr_assert_eq(visits, 1);
	/* The _safe forms take the next node first: fine. */
	visits = 0;
	SK_EXPECT_NO_VIOLATION(sk_hlist_for_each_entry_safe(pos, p, &h, node) {
		visits++;
		sk_hlist_del_init(&pos->node);
	});
	cr_assert_eq(visits, 2);
	cr_assert(sk_hlist_empty(&h));
}

Test(hlist_misuse, debug_walk_of_a_corrupt_head)
{
	struct sk_hlist_head h;
	struct sk_hlist_node n[2], *p, *decoy = NULL;
	int visits = 0;

	chain(&h, n, 2);
	n[0].pprev = &decoy;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_hlist_for_each(p, &h) visits++);
	cr_assert_eq(visits, 0);
}

Test(hlist_misuse, debug_splice_init_of_a_node_not_on_from)
{
	struct sk_hlist_head from, to, other;
	struct sk_hlist_node f[2], t[1], o[1];

	chain(&from, f, 2);
	chain(&to, t, 1);
	chain(&other, o, 1);
	SNAP_HEADS(s, &from, &to);
	SNAPSHOT(s, &f[0], &f[1], &t[0], &o[0]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_splice_init(&from, &o[0], &to));
	CHECK_UNCHANGED(s);
	CHECK_HEADS_UNCHANGED(s);
	cr_assert(strstr(last.detail, "is not on the list"), "%s", last.detail);
}

Test(hlist_misuse, debug_null_arguments)
{
	SK_HLIST_HEAD(h);
	struct sk_hlist_node a;

	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_del(NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_del_init(NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_add_head(NULL, &h));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_add_head(&a, NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_add_before(&a, NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_add_behind(&a, NULL));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_hlist_move_list(&h, NULL));
	cr_assert_null(h.first);
}
#endif
