/* SPDX-License-Identifier: MIT */
/*
 * tests/hlist-api-body.h - one test per hlist operation, in the spirit of
 * the kernel's KUnit hlist cases (lib/list-test.c), written once and
 * compiled twice: with the sk_ names (test-hlist.c) and with the kernel's
 * names through the compat header (test-list-compat.c).  The includer
 * defines HLIST_API_SUITE and includes a list-names-*.h first.
 */
#ifndef HLIST_API_SUITE
#error "define HLIST_API_SUITE and include a list-names-*.h first"
#endif

#include "sk-test.h"

struct ht {
	int data;
	struct LN(hlist_node) node;
};

/*
 * check_chain() - @head's chain is exactly @nodes: first, every next, every
 * pprev, and the NULL at the end.
 */
static void check_chain(struct LN(hlist_head) *head, struct LN(hlist_node) *const *nodes,
			size_t n, int line)
{
	struct LN(hlist_node) **link = &head->first;

	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(*link, nodes[i], "line %d: node %zu: the link to it", line, i);
		cr_assert_eq(nodes[i]->pprev, link, "line %d: node %zu: pprev", line, i);
		link = &nodes[i]->next;
	}
	cr_assert_null(*link, "line %d: the chain does not end after %zu nodes", line, n);
}
#define CHECK_CHAIN(head, ...)                                                \
	do {                                                                  \
		struct LN(hlist_node) *const chain_[] = { __VA_ARGS__ };      \
		check_chain((head), chain_, SK_ARRAY_SIZE(chain_), __LINE__); \
	} while (0)

static void hlist_api_init(void)
{
	sk_test_count_policy();
}

TestSuite(HLIST_API_SUITE, .init = hlist_api_init);

/* HLIST_TEST() - a test of correct use: the body must report nothing. */
#define HLIST_TEST(name)                                                      \
	static void ht_##name(void);                                          \
	Test(HLIST_API_SUITE, name)                                           \
	{                                                                     \
		ht_##name();                                                  \
		cr_assert_eq(sk_violation_total(), 0,                         \
			     "correct use reported %lu violation(s)",         \
			     sk_violation_total());                           \
	}                                                                     \
	static void ht_##name(void)

HLIST_TEST(init)
{
	UN(HLIST_HEAD)(h1);
	struct LN(hlist_head) h2 = UN(HLIST_HEAD_INIT);
	struct LN(hlist_head) h3;
	struct LN(hlist_node) n;

	h3.first = (struct LN(hlist_node) *)&h3;
	T_INIT_HLIST_HEAD(&h3);
	memset(&n, 0xff, sizeof(n));
	T_INIT_HLIST_NODE(&n);
	cr_assert_null(h1.first);
	cr_assert_null(h2.first);
	cr_assert_null(h3.first);
	cr_assert_null(n.next);
	cr_assert_null(n.pprev);
}

HLIST_TEST(unhashed)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b;

	T_INIT_HLIST_NODE(&a);
	cr_assert(LN(hlist_unhashed)(&a));
	LN(hlist_add_head)(&a, &h);
	cr_assert_not(LN(hlist_unhashed)(&a));
	LN(hlist_del_init)(&a);
	cr_assert(LN(hlist_unhashed)(&a));
	LN(hlist_add_head)(&b, &h);
	LN(hlist_del)(&b);
	/* the kernel's semantics: a poisoned node does not read as unhashed */
	cr_assert_not(LN(hlist_unhashed)(&b));
}

HLIST_TEST(unhashed_lockless)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a;

	T_INIT_HLIST_NODE(&a);
	cr_assert(LN(hlist_unhashed_lockless)(&a));
	LN(hlist_add_head)(&a, &h);
	cr_assert_not(LN(hlist_unhashed_lockless)(&a));
	LN(hlist_del_init)(&a);
	cr_assert(LN(hlist_unhashed_lockless)(&a));
}

HLIST_TEST(del)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b;

	LN(hlist_add_head)(&a, &h);
	LN(hlist_add_head)(&b, &h);
	LN(hlist_del)(&a);
	CHECK_CHAIN(&h, &b);
	cr_assert_eq((void *)a.next, UN(LIST_POISON1));
	cr_assert_eq((void *)a.pprev, UN(LIST_POISON2));
	LN(hlist_del)(&b);
	cr_assert_null(h.first);
}

HLIST_TEST(del_first_and_middle)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b, c;

	LN(hlist_add_head)(&c, &h);
	LN(hlist_add_head)(&b, &h);
	LN(hlist_add_head)(&a, &h);
	LN(hlist_del)(&b);
	CHECK_CHAIN(&h, &a, &c);
	LN(hlist_del)(&a);
	CHECK_CHAIN(&h, &c);
}

HLIST_TEST(del_init)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b;

	LN(hlist_add_head)(&a, &h);
	LN(hlist_add_head)(&b, &h);
	LN(hlist_del_init)(&a);
	CHECK_CHAIN(&h, &b);
	cr_assert_null(a.next);
	cr_assert_null(a.pprev);
	/* again: an unhashed node is left alone */
	LN(hlist_del_init)(&a);
	cr_assert(LN(hlist_unhashed)(&a));
	CHECK_CHAIN(&h, &b);
}

HLIST_TEST(add_head)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b;

	LN(hlist_add_head)(&a, &h);
	CHECK_CHAIN(&h, &a);
	LN(hlist_add_head)(&b, &h);
	/* h -> b -> a */
	CHECK_CHAIN(&h, &b, &a);
}

HLIST_TEST(add_before)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b, c;

	LN(hlist_add_head)(&a, &h);
	LN(hlist_add_before)(&b, &a);
	CHECK_CHAIN(&h, &b, &a);
	LN(hlist_add_before)(&c, &a);
	CHECK_CHAIN(&h, &b, &c, &a);
}

HLIST_TEST(add_behind)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b, c;

	LN(hlist_add_head)(&a, &h);
	LN(hlist_add_behind)(&b, &a);
	CHECK_CHAIN(&h, &a, &b);
	LN(hlist_add_behind)(&c, &a);
	CHECK_CHAIN(&h, &a, &c, &b);
}

HLIST_TEST(fake)
{
	struct LN(hlist_node) a;

	T_INIT_HLIST_NODE(&a);
	cr_assert_not(LN(hlist_fake)(&a));
	LN(hlist_add_fake)(&a);
	cr_assert(LN(hlist_fake)(&a));
	cr_assert_not(LN(hlist_unhashed)(&a));
	/* deleting a fake node just reinitialises it */
	LN(hlist_del_init)(&a);
	cr_assert(LN(hlist_unhashed)(&a));
	cr_assert_not(LN(hlist_fake)(&a));
}

HLIST_TEST(is_singular_node)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a, b;

	T_INIT_HLIST_NODE(&a);
	cr_assert_not(LN(hlist_is_singular_node)(&a, &h));
	LN(hlist_add_head)(&a, &h);
	cr_assert(LN(hlist_is_singular_node)(&a, &h));
	LN(hlist_add_head)(&b, &h);
	cr_assert_not(LN(hlist_is_singular_node)(&a, &h));
	cr_assert_not(LN(hlist_is_singular_node)(&b, &h));
}

HLIST_TEST(empty)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) a;

	cr_assert(LN(hlist_empty)(&h));
	LN(hlist_add_head)(&a, &h);
	cr_assert_not(LN(hlist_empty)(&h));
}

HLIST_TEST(move_list)
{
	UN(HLIST_HEAD)(h1);
	UN(HLIST_HEAD)(h2);
	UN(HLIST_HEAD)(h3);
	struct LN(hlist_node) a, b;

	LN(hlist_add_head)(&a, &h1);
	LN(hlist_add_head)(&b, &h1);
	LN(hlist_move_list)(&h1, &h2);
	cr_assert_null(h1.first);
	CHECK_CHAIN(&h2, &b, &a);
	/* an empty list moves as an empty list */
	LN(hlist_move_list)(&h1, &h3);
	cr_assert_null(h3.first);
	/* to its own head: nothing changes */
	LN(hlist_move_list)(&h2, &h2);
	CHECK_CHAIN(&h2, &b, &a);
}

HLIST_TEST(splice_init)
{
	UN(HLIST_HEAD)(from);
	UN(HLIST_HEAD)(to);
	struct LN(hlist_node) x, y, z;

	LN(hlist_add_head)(&y, &from);
	LN(hlist_add_head)(&x, &from);
	LN(hlist_add_head)(&z, &to);
	LN(hlist_splice_init)(&from, &y, &to);
	cr_assert_null(from.first);
	CHECK_CHAIN(&to, &x, &y, &z);
	/* into an empty list */
	LN(hlist_splice_init)(&to, &z, &from);
	cr_assert_null(to.first);
	CHECK_CHAIN(&from, &x, &y, &z);
}

HLIST_TEST(count_nodes)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) n[4];

	cr_assert_eq(LN(hlist_count_nodes)(&h), 0);
	for (int i = 0; i < 4; i++)
		LN(hlist_add_head)(&n[i], &h);
	cr_assert_eq(LN(hlist_count_nodes)(&h), 4);
}

HLIST_TEST(entry)
{
	struct ht t;

	cr_assert_eq(&t, LN(hlist_entry)(&t.node, struct ht, node));
}

HLIST_TEST(entry_safe)
{
	struct ht t;
	struct LN(hlist_node) *none = NULL;

	cr_assert_eq(&t, LN(hlist_entry_safe)(&t.node, struct ht, node));
	cr_assert_null(LN(hlist_entry_safe)(none, struct ht, node));
}

/* h -> t[0] -> t[1] -> ... -> t[N_HITER-1] */
#define N_HITER 5

static void hiter_setup(struct LN(hlist_head) *h, struct ht *t)
{
	T_INIT_HLIST_HEAD(h);
	for (int i = N_HITER - 1; i >= 0; i--) {
		t[i].data = i;
		LN(hlist_add_head)(&t[i].node, h);
	}
}

HLIST_TEST(for_each)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER];
	struct LN(hlist_node) *pos;
	int i = 0;

	hiter_setup(&h, t);
	LN(hlist_for_each)(pos, &h) {
		cr_assert_eq(pos, &t[i].node);
		i++;
	}
	cr_assert_eq(i, N_HITER);
}

HLIST_TEST(for_each_safe)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER];
	struct LN(hlist_node) *pos, *n;
	int i = 0;

	hiter_setup(&h, t);
	LN(hlist_for_each_safe)(pos, n, &h) {
		cr_assert_eq(pos, &t[i].node);
		LN(hlist_del)(pos);
		i++;
	}
	cr_assert_eq(i, N_HITER);
	cr_assert(LN(hlist_empty)(&h));
}

HLIST_TEST(for_each_entry)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER], *pos;
	int i = 0;

	hiter_setup(&h, t);
	LN(hlist_for_each_entry)(pos, &h, node) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_HITER);
	cr_assert_null(pos);
}

HLIST_TEST(for_each_entry_continue)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER], *pos;
	int i = 2;

	hiter_setup(&h, t);
	pos = &t[1];
	LN(hlist_for_each_entry_continue)(pos, node) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_HITER);
	cr_assert_null(pos);
}

HLIST_TEST(for_each_entry_from)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER], *pos;
	int i = 2;

	hiter_setup(&h, t);
	pos = &t[2];
	LN(hlist_for_each_entry_from)(pos, node) {
		cr_assert_eq(pos->data, i);
		i++;
	}
	cr_assert_eq(i, N_HITER);
}

HLIST_TEST(for_each_entry_safe)
{
	struct LN(hlist_head) h;
	struct ht t[N_HITER], *pos;
	struct LN(hlist_node) *n;
	int i = 0;

	hiter_setup(&h, t);
	LN(hlist_for_each_entry_safe)(pos, n, &h, node) {
		cr_assert_eq(pos->data, i);
		LN(hlist_del)(&pos->node);
		i++;
	}
	cr_assert_eq(i, N_HITER);
	cr_assert(LN(hlist_empty)(&h));
}

HLIST_TEST(for_each_on_an_empty_hlist)
{
	UN(HLIST_HEAD)(h);
	struct LN(hlist_node) *p, *n;
	struct ht *pos;
	int visits = 0;

	LN(hlist_for_each)(p, &h)
		visits++;
	LN(hlist_for_each_safe)(p, n, &h)
		visits++;
	LN(hlist_for_each_entry)(pos, &h, node)
		visits++;
	LN(hlist_for_each_entry_safe)(pos, n, &h, node)
		visits++;
	cr_assert_eq(visits, 0);
}
