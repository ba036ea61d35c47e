/* SPDX-License-Identifier: MIT */
/*
 * tests/test-klist.c - struct sk_klist: every public function (init, the
 * static initialisers, destroy, add_head/tail/before/behind, del, remove,
 * node_attached, iter_init, iter_init_node, next, prev, iter_exit), the
 * get/put callbacks (put exactly once per add, when the last reference
 * goes), deletion of the node an iterator stands on, remove sleeping until
 * another thread's iterator moves on, and every misuse: double add, add
 * next to a detached node, double del and remove, del of a released node,
 * an iterator started on another klist's node, remove while this thread's
 * iterator holds the node, an iterator reference dropped twice (by exit,
 * next and prev), a broken link met by next or prev, destroy of a
 * non-empty klist.  Each misuse: exactly one report of its kind, and the
 * list, the node and the callback counts unchanged.  Built at both levels.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <ucontext.h>

#include <safekern/alloc.h>
#include <safekern/klist.h>

#include "sk-test.h"

TestSuite(klist, .init = sk_test_count_policy);

struct item {
	int id;
	int gets, puts;
	struct sk_klist_node node;
};

static void item_get(struct sk_klist_node *n)
{
	sk_container_of(n, struct item, node)->gets++;
}

static void item_put(struct sk_klist_node *n)
{
	sk_container_of(n, struct item, node)->puts++;
}

static struct item *to_item(struct sk_klist_node *n)
{
	return n ? sk_container_of(n, struct item, node) : NULL;
}

/* Walk @k forwards (or backwards) with a fresh iterator; the ids in @ids. */
static int walk(struct sk_klist *k, int *ids, int max, bool reverse)
{
	struct sk_klist_iter it;
	struct sk_klist_node *n;
	int count = 0;

	sk_klist_iter_init(k, &it);
	while ((n = reverse ? sk_klist_prev(&it) : sk_klist_next(&it))) {
		if (count < max)
			ids[count] = to_item(n)->id;
		count++;
	}
	sk_klist_iter_exit(&it);
	return count;
}

#define assert_walk(k, ...)                                                   \
	do {                                                                  \
		const int want[] = { __VA_ARGS__ };                           \
		const int nw = (int)(sizeof(want) / sizeof(want[0]));         \
		int got[32], ng = walk((k), got, 32, false);                  \
		cr_assert_eq(ng, nw, "walk: %d nodes, want %d", ng, nw);      \
		for (int w_ = 0; w_ < nw; w_++)                               \
			cr_assert_eq(got[w_], want[w_], "walk[%d] = %d, want %d", w_, \
				     got[w_], want[w_]);                      \
		ng = walk((k), got, 32, true);                                \
		cr_assert_eq(ng, nw);                                         \
		for (int w_ = 0; w_ < nw; w_++)                               \
			cr_assert_eq(got[w_], want[nw - 1 - w_]);             \
	} while (0)

static void setup_items(struct sk_klist *k, struct item *it, int n)
{
	sk_klist_init(k, item_get, item_put);
	for (int i = 0; i < n; i++) {
		it[i] = (struct item){ .id = i };
		sk_klist_add_tail(&it[i].node, k);
	}
}

static void teardown(struct sk_klist *k, struct item *it, int n)
{
	for (int i = 0; i < n; i++)
		if (sk_klist_node_attached(&it[i].node))
			sk_klist_del(&it[i].node);
	cr_assert_eq(sk_klist_destroy(k), 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(it[i].gets, it[i].puts, "item %d: %d gets, %d puts", i, it[i].gets,
			     it[i].puts);
}

/* ------------------------------------------------------------------------
 * Init, static initialisers, destroy
 * ------------------------------------------------------------------------ */

static SK_DEFINE_KLIST(static_klist, item_get, item_put);
static struct sk_klist static_klist2 = SK_KLIST_INIT(static_klist2, NULL, NULL);

Test(klist, static_initialisers)
{
	struct item a = { .id = 1 }, b = { .id = 2, .node = SK_KLIST_NODE_INIT };

	assert_walk(&static_klist);
	sk_klist_add_tail(&a.node, &static_klist);
	sk_klist_add_head(&b.node, &static_klist);
	assert_walk(&static_klist, 2, 1);
	cr_assert_eq(a.gets, 1);
	sk_klist_del(&a.node);
	sk_klist_del(&b.node);
	cr_assert_eq(a.puts, 1);
	cr_assert_eq(b.puts, 1);
	assert_walk(&static_klist);

	/* NULL callbacks are allowed. */
	sk_klist_add_tail(&a.node, &static_klist2);
	assert_walk(&static_klist2, 1);
	sk_klist_del(&a.node);
	cr_assert(!sk_klist_node_attached(&a.node));
	cr_assert_eq(a.gets, 1);
}

Test(klist, init_empty_destroy)
{
	struct sk_klist k;
	struct sk_klist_iter it;

	sk_klist_init(&k, NULL, NULL);
	sk_klist_iter_init(&k, &it);
	cr_assert_null(sk_klist_next(&it));
	cr_assert_null(sk_klist_prev(&it));
	sk_klist_iter_exit(&it);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_klist_destroy(&k), 0));
}

/*
 * A destroyed klist: each use is one report and changes nothing.  A second
 * destroy made three reports (its mutex's lock, unlock and destroy), and an
 * add made one (the refused lock) and linked the node all the same, without
 * the lock (reviews of 2026-11-26).
 */
Test(klist, use_after_destroy_is_one_report_and_refused)
{
	struct sk_klist k;
	struct sk_klist_iter it;
	struct item a = { .id = 1 };

	sk_klist_init(&k, item_get, item_put);
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(sk_klist_destroy(&k), 0));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_klist_add_tail(&a.node, &k));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_klist_add_head(&a.node, &k));
	cr_assert(!sk_klist_node_attached(&a.node));
	cr_assert_eq(a.gets, 0);
	cr_assert(k.k_list.next == &k.k_list && k.k_list.prev == &k.k_list);
	sk_klist_iter_init(&k, &it);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, cr_assert_null(sk_klist_next(&it)));
	SK_EXPECT_NO_VIOLATION(cr_assert_null(sk_klist_next(&it))); /* the iterator is done */
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&it));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, cr_assert_eq(sk_klist_destroy(&k), -EINVAL));
	/* Initialised again, it is an ordinary klist. */
	sk_klist_init(&k, item_get, item_put);
	SK_EXPECT_NO_VIOLATION(sk_klist_add_tail(&a.node, &k));
	assert_walk(&k, 1);
	teardown(&k, &a, 1);
}

Test(klist, destroy_non_empty_refused)
{
	struct sk_klist k;
	struct item it[2];
	int err = 0;

	setup_items(&k, it, 2);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, err = sk_klist_destroy(&k));
	cr_assert_eq(err, -EBUSY);
	assert_walk(&k, 0, 1); /* still usable */
	teardown(&k, it, 2);
}

/* ------------------------------------------------------------------------
 * Adding
 * ------------------------------------------------------------------------ */

Test(klist, add_head_tail_order_and_get)
{
	struct sk_klist k;
	struct item it[4] = { { .id = 0 }, { .id = 1 }, { .id = 2 }, { .id = 3 } };

	sk_klist_init(&k, item_get, item_put);
	sk_klist_add_tail(&it[1].node, &k);
	sk_klist_add_head(&it[0].node, &k);
	sk_klist_add_tail(&it[2].node, &k);
	sk_klist_add_head(&it[3].node, &k);
	assert_walk(&k, 3, 0, 1, 2);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(it[i].gets, 1);
		cr_assert_eq(it[i].puts, 0);
		cr_assert(sk_klist_node_attached(&it[i].node));
	}
	teardown(&k, it, 4);
}

Test(klist, add_before_behind)
{
	struct sk_klist k;
	struct item it[5];

	setup_items(&k, it, 2); /* 0 1 */
	it[2] = (struct item){ .id = 2 };
	it[3] = (struct item){ .id = 3 };
	it[4] = (struct item){ .id = 4 };
	sk_klist_add_behind(&it[2].node, &it[0].node); /* 0 2 1 */
	sk_klist_add_before(&it[3].node, &it[0].node); /* 3 0 2 1 */
	sk_klist_add_behind(&it[4].node, &it[1].node); /* 3 0 2 1 4 */
	assert_walk(&k, 3, 0, 2, 1, 4);
	cr_assert_eq(it[4].gets, 1);
	teardown(&k, it, 5);
}

Test(klist, add_next_to_a_dead_node)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[3];

	setup_items(&k, it, 2);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_del(&it[0].node); /* dead, still linked: a valid position */
	it[2] = (struct item){ .id = 2 };
	SK_EXPECT_NO_VIOLATION(sk_klist_add_behind(&it[2].node, &it[0].node));
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[2]);
	cr_assert_eq(it[0].puts, 1);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	sk_klist_iter_exit(&i);
	assert_walk(&k, 2, 1);
	teardown(&k, it, 3);
}

Test(klist, readd_after_release)
{
	struct sk_klist k;
	struct item it[2];

	setup_items(&k, it, 2);
	sk_klist_del(&it[0].node);
	cr_assert(!sk_klist_node_attached(&it[0].node));
	SK_EXPECT_NO_VIOLATION(sk_klist_add_tail(&it[0].node, &k));
	assert_walk(&k, 1, 0);
	cr_assert_eq(it[0].gets, 2);
	cr_assert_eq(it[0].puts, 1);
	teardown(&k, it, 2);
}

/* ------------------------------------------------------------------------
 * Deleting
 * ------------------------------------------------------------------------ */

Test(klist, del_without_iterator_releases_at_once)
{
	struct sk_klist k;
	struct item it[3];

	setup_items(&k, it, 3);
	sk_klist_del(&it[1].node);
	cr_assert_eq(it[1].puts, 1);
	cr_assert(!sk_klist_node_attached(&it[1].node));
	assert_walk(&k, 0, 2);
	teardown(&k, it, 3);
}

Test(klist, del_under_iterator_releases_when_it_moves_on)
{
	struct sk_klist k;
	struct sk_klist_iter a, b;
	struct item it[3];

	setup_items(&k, it, 3);
	sk_klist_iter_init(&k, &a);
	sk_klist_iter_init(&k, &b);
	cr_assert_eq(to_item(sk_klist_next(&a)), &it[0]);
	cr_assert_eq(to_item(sk_klist_next(&a)), &it[1]);
	cr_assert_eq(to_item(sk_klist_next(&b)), &it[0]);
	cr_assert_eq(to_item(sk_klist_next(&b)), &it[1]);

	sk_klist_del(&it[1].node);
	cr_assert_eq(it[1].puts, 0, "released while two iterators hold it");
	cr_assert(sk_klist_node_attached(&it[1].node));
	assert_walk(&k, 0, 2); /* other iterators skip it */

	cr_assert_eq(to_item(sk_klist_next(&a)), &it[2]);
	cr_assert_eq(it[1].puts, 0);
	cr_assert_eq(to_item(sk_klist_prev(&b)), &it[0]); /* b steps back */
	cr_assert_eq(it[1].puts, 1, "released by the last iterator");
	cr_assert(!sk_klist_node_attached(&it[1].node));
	sk_klist_iter_exit(&a);
	sk_klist_iter_exit(&b);
	assert_walk(&k, 0, 2);
	teardown(&k, it, 3);
}

Test(klist, iter_exit_releases_dead_node)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[2];

	setup_items(&k, it, 2);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_del(&it[0].node);
	cr_assert_eq(it[0].puts, 0);
	sk_klist_iter_exit(&i);
	cr_assert_eq(it[0].puts, 1);
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&i)); /* again: harmless */
	cr_assert_eq(it[0].puts, 1);
	teardown(&k, it, 2);
}

static int freed;

static void item_free(struct sk_klist_node *n)
{
	freed++;
	sk_kfree(to_item(n));
}

Test(klist, put_may_free_the_object)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct sk_klist_node *n;
	int seen = 0;

	sk_klist_init(&k, NULL, item_free);
	freed = 0;
	for (int id = 0; id < 8; id++) {
		struct item *p = sk_kzalloc(sizeof(*p));

		cr_assert_not_null(p);
		p->id = id;
		sk_klist_add_tail(&p->node, &k);
	}
	/* Delete each node while standing on it: the next step frees it
	 * (ASan and memcheck check that nothing touches it afterwards). */
	sk_klist_iter_init(&k, &i);
	while ((n = sk_klist_next(&i))) {
		cr_assert_eq(to_item(n)->id, seen);
		seen++;
		sk_klist_del(n);
		cr_assert_eq(freed, seen - 1);
	}
	sk_klist_iter_exit(&i);
	cr_assert_eq(seen, 8);
	cr_assert_eq(freed, 8);
	cr_assert_eq(sk_klist_destroy(&k), 0);
}

/* ------------------------------------------------------------------------
 * Remove
 * ------------------------------------------------------------------------ */

Test(klist, remove_without_iterator)
{
	struct sk_klist k;
	struct item it[2];
	int err = -1;

	setup_items(&k, it, 2);
	SK_EXPECT_NO_VIOLATION(err = sk_klist_remove(&it[0].node));
	cr_assert_eq(err, 0);
	cr_assert_eq(it[0].puts, 1);
	cr_assert(!sk_klist_node_attached(&it[0].node));
	assert_walk(&k, 1);
	teardown(&k, it, 2);
}

/*
 * A node whose neighbour's link is corrupted when it is released cannot be
 * unlinked: reported, and it stays linked, attached and dead, so put() is
 * not called (the consumer would free a node walks can still reach) and
 * remove() returns -EUCLEAN instead of waiting for a release that will
 * never come.  The klist is left for the test's end: it cannot be emptied.
 */
Test(klist, release_with_a_corrupted_neighbour_leaks_the_node)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[4];
	SK_LIST_HEAD(other);
	int err = 0;

	setup_items(&k, it, 4);
	it[2].node.n_node.prev = &other; /* it[1]'s next does not point back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_klist_del(&it[1].node));
	cr_assert_eq(it[1].puts, 0, "put() of a node that is still linked");
	cr_assert(sk_klist_node_attached(&it[1].node));
	cr_assert_eq(it[1].node.n_node.next, &it[2].node.n_node, "nothing was unlinked");
	cr_assert_eq(it[0].node.n_node.next, &it[1].node.n_node);
	it[2].node.n_node.prev = &it[1].node.n_node;
	/* The leaked node is dead: walks skip it, and an iterator started
	 * there starts at the head, as at a released node. */
	assert_walk(&k, 0, 2, 3);
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_init_node(&k, &i, &it[1].node));
	SK_EXPECT_NO_VIOLATION(cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]));
	sk_klist_iter_exit(&i);
	/* It cannot be added again, or deleted twice. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_klist_add_tail(&it[1].node, &k));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_klist_del(&it[1].node));

	it[3].node.n_node.next = &other; /* it[3]'s next (the head) does not point back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, err = sk_klist_remove(&it[3].node));
	cr_assert_eq(err, -EUCLEAN);
	cr_assert_eq(it[3].puts, 0);
	cr_assert(sk_klist_node_attached(&it[3].node));
	it[3].node.n_node.next = &k.k_list;
	assert_walk(&k, 0, 2);
	/* The others are released as usual. */
	SK_EXPECT_NO_VIOLATION(err = sk_klist_remove(&it[0].node));
	cr_assert_eq(err, 0);
	cr_assert_eq(it[0].puts, 1);
	assert_walk(&k, 2);
	/* A klist with leaked nodes cannot be destroyed (documented). */
	sk_klist_del(&it[2].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, err = sk_klist_destroy(&k));
	cr_assert_eq(err, -EBUSY);
}

/*
 * An add that the list checks refuse undoes get() with put(), and only
 * that: with no get(), put() is not called (it freed the caller's node,
 * which had never been added).
 */
Test(klist, refused_add_calls_put_only_to_undo_get)
{
	struct sk_klist k, kp;
	struct item it[2], a = { .id = 6 }, b = { .id = 7 }, c = { .id = 8 }, d = { .id = 9 };
	SK_LIST_HEAD(other);

	setup_items(&k, it, 2);
	it[0].node.n_node.prev = &other; /* the head's next does not point back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_klist_add_head(&a.node, &k));
	cr_assert_eq(a.gets, 1);
	cr_assert_eq(a.puts, 1, "get() not undone");
	cr_assert(!sk_klist_node_attached(&a.node));
	it[0].node.n_node.prev = &k.k_list;
	teardown(&k, it, 2);

	sk_klist_init(&kp, NULL, item_put);
	SK_EXPECT_NO_VIOLATION(sk_klist_add_tail(&d.node, &kp));
	d.node.n_node.next = &other; /* the tail's next does not point back */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_klist_add_tail(&b.node, &kp));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, sk_klist_add_behind(&c.node, &d.node));
	cr_assert_eq(b.puts, 0, "put() of a node that was never added, with no get()");
	cr_assert_eq(c.puts, 0, "put() of a node that was never added, with no get()");
	cr_assert(!sk_klist_node_attached(&b.node) && !sk_klist_node_attached(&c.node));
	d.node.n_node.next = &kp.k_list;
	sk_klist_del(&d.node);
	cr_assert_eq(d.puts, 1);
	cr_assert_eq(sk_klist_destroy(&kp), 0);
}

/*
 * A node whose own link was overwritten when its last reference goes: the
 * report is list_corruption at the caller's line (it was the generic
 * list_del's, with no call site and a kind taken from the link: NULL read
 * as never initialised, a poison as a double delete).  When an iterator's
 * step drops that reference, the walk ends there, with that one report.
 */
Test(klist, unlinkable_node_at_release_is_corruption_at_the_callers_line)
{
	static struct sk_list_head *const links[] = {
		NULL, (struct sk_list_head *)SK_LIST_POISON1, (struct sk_list_head *)SK_LIST_POISON2
	};
	struct sk_test_report rep;

	for (size_t l = 0; l < SK_ARRAY_SIZE(links); l++) {
		struct sk_klist k;
		struct sk_klist_iter i;
		struct item it[3];
		int err = 0, line;

		setup_items(&k, it, 3);
		sk_test_record_start(&rep);
		it[1].node.n_node.next = links[l];
		line = __LINE__ + 1;
		err = sk_klist_remove(&it[1].node);
		cr_assert_eq(rep.calls, 1, "link %zu: %lu reports", l, rep.calls);
		cr_assert_eq(rep.kind, SK_VIOLATION_LIST_CORRUPTION, "link %zu: %s", l,
			     sk_violation_kind_name(rep.kind));
		cr_assert_eq(rep.line, (unsigned int)line, "link %zu: reported at line %u", l,
			     rep.line);
		cr_assert(strstr(rep.file, "test-klist.c"), "%s", rep.file);
		cr_assert(strstr(rep.detail, "klist_remove"), "%s", rep.detail);
		cr_assert_eq(err, -EUCLEAN);
		cr_assert_eq(it[1].puts, 0);

		/* The same through an iterator's step: one report, walk over. */
		sk_test_record_start(&rep);
		sk_klist_iter_init(&k, &i);
		cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
		sk_klist_del(&it[0].node); /* the iterator holds it: released at the step */
		it[0].node.n_node.next = links[l];
		cr_assert_null(sk_klist_next(&i), "link %zu: the walk went on", l);
		sk_klist_iter_exit(&i);
		cr_assert_eq(rep.calls, 1, "link %zu: %lu reports from the step", l, rep.calls);
		cr_assert_eq(rep.kind, SK_VIOLATION_LIST_CORRUPTION);
		cr_assert(strstr(rep.detail, "klist_next"), "%s", rep.detail);
		cr_assert_eq(it[0].puts, 0);
		sk_test_record_stop();
		sk_test_count_policy();
	}
}

struct remover {
	struct sk_klist_node *node;
	int err;
	int done; /* atomic */
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	r->err = sk_klist_remove(r->node);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(klist, remove_waits_for_another_threads_iterator)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[3];
	struct remover r = { .err = -1 };
	pthread_t t;
	struct timespec ms = { 0, 20 * 1000 * 1000 };

	setup_items(&k, it, 3);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	r.node = &it[1].node;
	cr_assert_eq(pthread_create(&t, NULL, remove_thread, &r), 0);
	/* Wait until the remover has deleted it, then check it still waits. */
	while (sk_klist_node_attached(&it[1].node) && walk(&k, NULL, 0, false) == 3)
		nanosleep(&ms, NULL);
	nanosleep(&ms, NULL);
	cr_assert_eq(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 0,
		     "remove returned while an iterator holds the node");
	cr_assert_eq(it[1].puts, 0);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[2]); /* moves on: releases */
	pthread_join(t, NULL);
	cr_assert_eq(r.err, 0);
	cr_assert_eq(it[1].puts, 1);
	cr_assert(!sk_klist_node_attached(&it[1].node));
	sk_klist_iter_exit(&i);
	assert_walk(&k, 0, 2);
	teardown(&k, it, 3);
}

/*
 * A node released by one thread, reused at once (its put() has handed it
 * back, but has not returned yet), added again, stood on by an iterator
 * and removed by a third thread: that remove must wait for the iterator,
 * not be woken by the first release finishing.  (It was: waiters were
 * woken by the node's address after put() returned.)
 */
static struct {
	int released, go; /* atomics */
	int puts;
} reuse;

static void reuse_put(struct sk_klist_node *n)
{
	(void)n;
	if (reuse.puts++ == 0) {
		struct timespec ms = { 0, 1000 * 1000 };

		/* Back in the pool: reusable now, while this put() goes on. */
		__atomic_store_n(&reuse.released, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&reuse.go, __ATOMIC_ACQUIRE))
			nanosleep(&ms, NULL);
	}
}

static void *del_thread(void *arg)
{
	sk_klist_del(arg);
	return NULL;
}

Test(klist, remove_of_a_reused_node_is_not_woken_by_its_last_release)
{
	struct sk_klist k;
	struct sk_klist_node node = { 0 };
	struct sk_klist_iter i;
	struct remover r = { .node = &node, .err = -1 };
	struct timespec ms = { 0, 1000 * 1000 };
	pthread_t d, t;

	sk_klist_init(&k, NULL, reuse_put);
	sk_klist_add_tail(&node, &k);
	cr_assert_eq(pthread_create(&d, NULL, del_thread, &node), 0);
	while (!__atomic_load_n(&reuse.released, __ATOMIC_ACQUIRE))
		nanosleep(&ms, NULL);
	/* The first put() has not returned; the node is used again. */
	cr_assert(!sk_klist_node_attached(&node));
	sk_klist_add_tail(&node, &k);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(sk_klist_next(&i), &node);
	cr_assert_eq(pthread_create(&t, NULL, remove_thread, &r), 0);
	/* The remover has deleted it (walks skip it) and waits. */
	while (walk(&k, NULL, 0, false) != 0)
		nanosleep(&ms, NULL);
	/* Let the first release finish; it must not end this remove. */
	__atomic_store_n(&reuse.go, 1, __ATOMIC_RELEASE);
	pthread_join(d, NULL);
	for (int n = 0; n < 50 && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE); n++)
		nanosleep(&ms, NULL);
	cr_assert_eq(__atomic_load_n(&r.done, __ATOMIC_ACQUIRE), 0,
		     "remove returned while an iterator holds the node (woken by the node's "
		     "previous release)");
	cr_assert_eq(reuse.puts, 1);
	cr_assert(sk_klist_node_attached(&node));
	sk_klist_iter_exit(&i); /* the last reference of this use: now it returns */
	pthread_join(t, NULL);
	cr_assert_eq(r.err, 0);
	cr_assert_eq(reuse.puts, 2);
	cr_assert(!sk_klist_node_attached(&node));
	cr_assert_eq(sk_violation_total(), 0UL);
	cr_assert_eq(sk_klist_destroy(&k), 0);
}

#if defined(__x86_64__)
/*
 * A node released by an iterator's exit reads as detached as soon as its
 * word is cleared, and may be added to another klist at once (that takes
 * the other klist's lock, not this one's).  The release must not decide
 * from the word read back that the node was leaked: put() was then never
 * called for this use and the waiting remover got -EUCLEAN, with nothing
 * reported.  The main thread single-steps its sk_klist_iter_exit() (the
 * trap flag) and, at the first instruction where the node reads as
 * detached, "another thread" (the trap handler) adds it to a second klist
 * (static: its own lock class, so the validator sees no nesting of one).
 */
static SK_DEFINE_KLIST(readd_other, NULL, NULL);
static struct {
	struct sk_klist_node *node;
	volatile sig_atomic_t stepping, added;
	unsigned long traps;
} stepper;

#define EFLAGS_TF 0x100

static void step_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	stepper.traps++;
	if (!stepper.stepping) {
		uc->uc_mcontext.gregs[REG_EFL] &= ~EFLAGS_TF;
		return;
	}
	if (!stepper.added && !sk_klist_node_attached(stepper.node)) {
		stepper.added = 1;
		sk_klist_add_tail(stepper.node, &readd_other);
	}
}

static void step_start(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EFL] |= EFLAGS_TF;
}

Test(klist, readd_elsewhere_at_the_release_is_not_a_leak)
{
	struct sk_klist k;
	struct item it = { .id = 1 };
	struct sk_klist_iter i;
	struct remover r = { .node = &it.node, .err = -1 };
	struct sigaction trap = { .sa_sigaction = step_trap, .sa_flags = SA_SIGINFO };
	struct sigaction start = { .sa_sigaction = step_start, .sa_flags = SA_SIGINFO };
	struct timespec ms = { 0, 1000 * 1000 };
	pthread_t t;

	sk_klist_init(&k, item_get, item_put);
	sk_klist_add_tail(&it.node, &k);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(sk_klist_next(&i), &it.node);
	cr_assert_eq(pthread_create(&t, NULL, remove_thread, &r), 0);
	while (walk(&k, NULL, 0, false) != 0) /* deleted: the remover waits */
		nanosleep(&ms, NULL);
	cr_assert_eq(sigaction(SIGTRAP, &trap, NULL), 0);
	cr_assert_eq(sigaction(SIGUSR1, &start, NULL), 0);
	stepper.node = &it.node;
	stepper.stepping = 1;
	raise(SIGUSR1);
	sk_klist_iter_exit(&i); /* the last reference: the release */
	stepper.stepping = 0;
	pthread_join(t, NULL);
	if (!stepper.added)
		cr_skip_test("no single-stepping here (%lu traps): under valgrind?", stepper.traps);
	cr_assert_eq(r.err, 0, "remove returned %d", r.err);
	cr_assert_eq(it.puts, 1, "the release of the first use did not call put()");
	cr_assert_eq(sk_violation_total(), 0UL);
	cr_assert(sk_klist_node_attached(&it.node)); /* on readd_other now */
	sk_klist_del(&it.node);
	cr_assert(!sk_klist_node_attached(&it.node));
	cr_assert_eq(sk_klist_destroy(&k), 0);
	cr_assert_eq(sk_klist_destroy(&readd_other), 0);
}
#endif

/* ------------------------------------------------------------------------
 * Iterators
 * ------------------------------------------------------------------------ */

Test(klist, next_prev_and_restart)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[3];

	setup_items(&k, it, 3);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[0]);
	cr_assert_null(sk_klist_prev(&i));
	/* After the end, the next step starts again (the kernel's semantics). */
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[2]);
	cr_assert_eq(to_item(sk_klist_next(&i)), NULL);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_iter_exit(&i);
	teardown(&k, it, 3);
}

Test(klist, iter_init_node)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[4];

	setup_items(&k, it, 4);
	sk_klist_iter_init_node(&k, &i, &it[1].node);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[2]);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[3]);
	cr_assert_null(sk_klist_next(&i));
	sk_klist_iter_exit(&i);

	sk_klist_iter_init_node(&k, &i, &it[2].node);
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[1]);
	sk_klist_iter_exit(&i);

	/* The start node holds a reference: deleting it does not release it. */
	sk_klist_iter_init_node(&k, &i, &it[0].node);
	sk_klist_del(&it[0].node);
	cr_assert_eq(it[0].puts, 0);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	cr_assert_eq(it[0].puts, 1);
	sk_klist_iter_exit(&i);

	/* A released node starts the walk at the head, as in the kernel. */
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_init_node(&k, &i, &it[0].node));
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	sk_klist_iter_exit(&i);

	/* NULL: same as sk_klist_iter_init(). */
	sk_klist_iter_init_node(&k, &i, NULL);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	sk_klist_iter_exit(&i);
	teardown(&k, it, 4);
}

Test(klist, node_attached)
{
	struct item a = { .id = 0 };
	struct sk_klist k;

	sk_klist_init(&k, item_get, item_put);
	cr_assert(!sk_klist_node_attached(&a.node));
	sk_klist_add_head(&a.node, &k);
	cr_assert(sk_klist_node_attached(&a.node));
	sk_klist_del(&a.node);
	cr_assert(!sk_klist_node_attached(&a.node));
	cr_assert_eq(sk_klist_destroy(&k), 0);
}

/* ------------------------------------------------------------------------
 * Misuse: one report each, nothing changed
 * ------------------------------------------------------------------------ */

Test(klist, double_add_refused)
{
	struct sk_klist k, other;
	struct item it[3];

	setup_items(&k, it, 3);
	sk_klist_init(&other, item_get, item_put);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_klist_add_tail(&it[1].node, &k));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_klist_add_head(&it[1].node, &k));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_klist_add_head(&it[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_klist_add_behind(&it[2].node, &it[0].node));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_klist_add_before(&it[0].node, &it[0].node));
	assert_walk(&k, 0, 1, 2);
	assert_walk(&other);
	for (int n = 0; n < 3; n++)
		cr_assert_eq(it[n].gets, 1, "get() called on a refused add");
	cr_assert_eq(sk_klist_destroy(&other), 0);
	teardown(&k, it, 3);
}

Test(klist, add_of_dead_node_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[2];

	setup_items(&k, it, 2);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_del(&it[0].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_klist_add_tail(&it[0].node, &k));
	cr_assert_eq(it[0].gets, 1);
	assert_walk(&k, 1);
	sk_klist_iter_exit(&i);
	cr_assert_eq(it[0].puts, 1);
	teardown(&k, it, 2);
}

Test(klist, add_next_to_detached_position_refused)
{
	struct sk_klist k;
	struct item it[2], stray = { .id = 9 };

	setup_items(&k, it, 1);
	it[1] = (struct item){ .id = 1 };
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_klist_add_behind(&it[1].node, &stray.node));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_klist_add_before(&it[1].node, &stray.node));
	cr_assert(!sk_klist_node_attached(&it[1].node));
	cr_assert_eq(it[1].gets, 0);
	assert_walk(&k, 0);
	teardown(&k, it, 2);
}

Test(klist, double_del_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[3];

	setup_items(&k, it, 3);
	/* A dead node an iterator still holds. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_del(&it[0].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_klist_del(&it[0].node));
	cr_assert_eq(it[0].puts, 0, "a double del released the node");
	cr_assert(sk_klist_node_attached(&it[0].node));
	assert_walk(&k, 1, 2);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	cr_assert_eq(it[0].puts, 1);
	sk_klist_iter_exit(&i);

	/* A released node. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_klist_del(&it[0].node));
	cr_assert_eq(it[0].puts, 1);
	/* A node never added. */
	struct item never = { .id = 7 };
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_klist_del(&never.node));
	assert_walk(&k, 1, 2);
	teardown(&k, it, 3);
}

Test(klist, double_remove_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i;
	struct item it[2];
	int err = 0;

	setup_items(&k, it, 2);
	cr_assert_eq(sk_klist_remove(&it[0].node), 0);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, err = sk_klist_remove(&it[0].node));
	cr_assert_eq(err, -ENOENT);
	cr_assert_eq(it[0].puts, 1);
	/* Dead, held by an iterator of this thread: a double delete first. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	sk_klist_iter_exit(&i);
	sk_klist_iter_init_node(&k, &i, &it[1].node);
	sk_klist_del(&it[1].node);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, err = sk_klist_remove(&it[1].node));
	cr_assert_eq(err, -ENOENT);
	sk_klist_iter_exit(&i);
	cr_assert_eq(it[1].puts, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, err = sk_klist_remove(&it[1].node));
	cr_assert_eq(err, -ENOENT);
	assert_walk(&k);
	teardown(&k, it, 2);
}

Test(klist, remove_while_holding_iterator_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i, j;
	struct item it[3];
	int err = 0;

	setup_items(&k, it, 3);
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION, err = sk_klist_remove(&it[1].node));
	cr_assert_eq(err, -EDEADLK);
	cr_assert_eq(it[1].puts, 0);
	assert_walk(&k, 0, 1, 2); /* not deleted */
	/* A node the iterator has left may be removed. */
	SK_EXPECT_NO_VIOLATION(err = sk_klist_remove(&it[0].node));
	cr_assert_eq(err, 0);
	/* Two iterators on one node, one exits: still held. */
	sk_klist_iter_init_node(&k, &j, &it[1].node);
	sk_klist_iter_exit(&i);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_RECURSION, err = sk_klist_remove(&it[1].node));
	sk_klist_iter_exit(&j);
	SK_EXPECT_NO_VIOLATION(err = sk_klist_remove(&it[1].node));
	cr_assert_eq(err, 0);
	cr_assert_eq(it[1].puts, 1);
	assert_walk(&k, 2);
	teardown(&k, it, 3);
}

Test(klist, iter_init_node_of_another_klist_refused)
{
	struct sk_klist k, other;
	struct sk_klist_iter i;
	struct item it[2], o[1];

	setup_items(&k, it, 2);
	setup_items(&other, o, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_klist_iter_init_node(&k, &i, &o[0].node));
	cr_assert_null(sk_klist_next(&i), "a refused iterator must be empty");
	cr_assert_null(sk_klist_prev(&i));
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&i));
	/* o[0] holds no extra reference: a del releases it at once. */
	sk_klist_del(&o[0].node);
	cr_assert_eq(o[0].puts, 1);
	assert_walk(&k, 0, 1);
	teardown(&other, o, 1);
	teardown(&k, it, 2);
}

Test(klist, iterator_reference_dropped_twice_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i, copy;
	struct item it[2];

	setup_items(&k, it, 2);
	/* A live node: the second exit would drop the list's reference. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	copy = i;
	sk_klist_iter_exit(&i);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, sk_klist_iter_exit(&copy));
	cr_assert_eq(it[0].puts, 0, "released while on the list");
	assert_walk(&k, 0, 1);

	/* A dead node, released by the first exit. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[0]);
	sk_klist_del(&it[0].node);
	copy = i;
	sk_klist_iter_exit(&i);
	cr_assert_eq(it[0].puts, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, sk_klist_iter_exit(&copy));
	cr_assert_eq(it[0].puts, 1, "released twice");

	/* The same through next(): the walk ends. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_next(&i)), &it[1]);
	copy = i;
	cr_assert_null(sk_klist_next(&i));
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, cr_assert_null(sk_klist_next(&copy)));
	cr_assert_eq(it[1].puts, 0);
	assert_walk(&k, 1);
	teardown(&k, it, 2);
}

Test(klist, iterator_reference_dropped_twice_through_prev_refused)
{
	struct sk_klist k;
	struct sk_klist_iter i, copy;
	struct item it[2];

	setup_items(&k, it, 2);
	/* A live node: the copy's step would drop the list's reference. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[1]);
	copy = i;
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[0]);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, cr_assert_null(sk_klist_prev(&copy)));
	cr_assert_eq(it[1].puts, 0, "released while on the list");
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&copy)); /* the walk ended */
	sk_klist_iter_exit(&i);
	assert_walk(&k, 0, 1);

	/* A dead node, released when the original moved on. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[1]);
	sk_klist_del(&it[1].node);
	copy = i;
	cr_assert_eq(to_item(sk_klist_prev(&i)), &it[0]);
	cr_assert_eq(it[1].puts, 1);
	SK_EXPECT_VIOLATION(SK_VIOLATION_REFCOUNT_UNDERFLOW, cr_assert_null(sk_klist_prev(&copy)));
	cr_assert_eq(it[1].puts, 1, "released twice");
	sk_klist_iter_exit(&i);
	assert_walk(&k, 0);
	teardown(&k, it, 2);
}

/*
 * A broken link met by a step: the kernel's LKDTM corruption (a neighbour
 * pointer overwritten), with the NULL or poison a step can tell from a node
 * without following it.  One report; the walk ends with NULL; the iterator
 * lets go of the node it stood on (reference and per-thread hold); nothing
 * is written to the list.  @reverse: the same through sk_klist_prev().
 */
static struct sk_klist_node *step(struct sk_klist_iter *i, bool reverse)
{
	return reverse ? sk_klist_prev(i) : sk_klist_next(i);
}

/* The link a step in that direction follows out of @h. */
static struct sk_list_head **out_link(struct sk_list_head *h, bool reverse)
{
	return reverse ? &h->prev : &h->next;
}

static void check_broken_link_ends_the_walk(bool reverse)
{
	struct sk_klist k;
	struct sk_klist_iter i, j;
	struct item it[3];
	/* in walk order */
	struct item *first = reverse ? &it[2] : &it[0], *mid = &it[1];
	struct sk_list_head **link, *saved;
	int err = -1;

	setup_items(&k, it, 3);

	/* The head's own link, at the first step. */
	link = out_link(&k.k_list, reverse);
	saved = *link;
	*link = NULL;
	sk_klist_iter_init(&k, &i);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, cr_assert_null(step(&i, reverse)));
	*link = saved;
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&i));

	/* The link out of the node the iterator stands on. */
	sk_klist_iter_init(&k, &i);
	cr_assert_eq(to_item(step(&i, reverse)), first);
	link = out_link(&first->node.n_node, reverse);
	saved = *link;
	*link = NULL;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, cr_assert_null(step(&i, reverse)));
	*link = saved;
	SK_EXPECT_NO_VIOLATION(sk_klist_iter_exit(&i)); /* it holds nothing now */

	/* The link out of a dead node the step skips, poisoned. */
	sk_klist_iter_init_node(&k, &j, &mid->node);
	sk_klist_del(&mid->node); /* dead, held by j */
	sk_klist_iter_init_node(&k, &i, &first->node);
	link = out_link(&mid->node.n_node, reverse);
	saved = *link;
	*link = reverse ? SK_LIST_POISON2 : SK_LIST_POISON1;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, cr_assert_null(step(&i, reverse)));
	*link = saved;
	cr_assert_eq(mid->puts, 0, "a failed step released a node it did not hold");
	sk_klist_iter_exit(&j);
	cr_assert_eq(mid->puts, 1);

	SK_EXPECT_NO_VIOLATION(cr_assert(sk_list_check(&k.k_list)));
	assert_walk(&k, 0, 2);
	/* No reference left behind on first: the del releases it at once ... */
	sk_klist_del(&first->node);
	cr_assert_eq(first->puts, 1, "a failed step kept its reference");
	/* ... and no hold: a remove of it does not see this thread's iterator. */
	sk_klist_add_tail(&first->node, &k);
	SK_EXPECT_NO_VIOLATION(err = sk_klist_remove(&first->node));
	cr_assert_eq(err, 0, "a failed step kept this thread's hold");
	teardown(&k, it, 3);
}

Test(klist, broken_link_ends_a_next_walk)
{
	check_broken_link_ends_the_walk(false);
}

Test(klist, broken_link_ends_a_prev_walk)
{
	check_broken_link_ends_the_walk(true);
}

Test(klist, double_del_aborts_by_default, .signal = SIGABRT)
{
	struct sk_klist k;
	struct item a = { .id = 0 };

	sk_violation_set_policy(SK_VIOLATION_ABORT);
	sk_klist_init(&k, NULL, NULL);
	sk_klist_add_tail(&a.node, &k);
	sk_klist_del(&a.node);
	sk_klist_del(&a.node);
}
