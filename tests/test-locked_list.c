/* SPDX-License-Identifier: MIT */
/*
 * tests/test-locked_list.c - safekern/locked_list.h: every operation under
 * the lock (order, count, the walks, break out of a walk, nested walks,
 * guards), the hardened list checks through the container (one report, the
 * list and its count unchanged), the debug run-time check of the lock (an
 * operation without it, or with another thread holding it: one
 * lock_not_held report, refused, nothing changed; a walk without it: one
 * report at its start, then the walk), a destroy under the lock (refused,
 * the list still usable), and the _rcu forms of safekern/rculist.h with an
 * RCU reader.
 *
 * The calls made without the lock on purpose sit in functions marked
 * SK_NO_THREAD_SAFETY_ANALYSIS: clang refuses them otherwise (that is
 * tests/compile-fail/locked-list-*.c).  Built and run at both levels.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <urcu.h>

#include <safekern/alloc.h>
#include <safekern/rculist.h>

#include "sk-test.h"

#ifdef SK_DEBUG
#define DEBUG_LEVEL 1
#else
#define DEBUG_LEVEL 0
#endif

struct item {
	int value;
	struct sk_list_head node;
	struct sk_rcu_head rcu;
};

static struct sk_locked_list list;
static struct item items[8];

static void setup(void)
{
	sk_test_count_policy();
	rcu_register_thread();
	sk_locked_list_init(&list);
	for (int i = 0; i < 8; i++)
		items[i].value = i;
}

static void teardown(void)
{
	sk_locked_list_destroy(&list);
	sk_rcu_barrier();
	rcu_unregister_thread();
}

TestSuite(locked_list, .init = setup, .fini = teardown);

/* The values in order, and the count, read under the lock. */
static size_t snapshot(int *out, size_t max) SK_EXCLUDES(list.lock);
static size_t snapshot(int *out, size_t max)
{
	struct item *pos;
	size_t n = 0, len;

	sk_mutex_lock(&list.lock);
	sk_locked_list_for_each_entry(pos, &list, node) {
		if (n < max)
			out[n] = pos->value;
		n++;
	}
	len = sk_locked_list_len(&list);
	sk_mutex_unlock(&list.lock);
	cr_assert_eq(n, len, "walk saw %zu entries, count says %zu", n, len);
	return n;
}

#define EXPECT_LIST(...)                                                      \
	do {                                                                  \
		const int want[] = { __VA_ARGS__ };                           \
		int got[16];                                                  \
		size_t sk_n = snapshot(got, 16);                              \
		cr_assert_eq(sk_n, SK_ARRAY_SIZE(want), "length %zu, want %zu", sk_n, \
			     SK_ARRAY_SIZE(want));                            \
		for (size_t i = 0; i < sk_n; i++)                             \
			cr_assert_eq(got[i], want[i], "entry %zu: %d, want %d", i, got[i], \
				     want[i]);                                \
	} while (0)

static void expect_empty(void) SK_EXCLUDES(list.lock);
static void expect_empty(void)
{
	int got[1];

	cr_assert_eq(snapshot(got, 1), 0);
	sk_mutex_lock(&list.lock);
	cr_assert(sk_locked_list_empty(&list));
	cr_assert_null(sk_locked_list_first_entry_or_null(&list, struct item, node));
	sk_mutex_unlock(&list.lock);
}

Test(locked_list, init_empty)
{
	expect_empty();
}

Test(locked_list, add_add_tail_order_and_count)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[1].node, &list);
	sk_locked_list_add(&items[0].node, &list);
	sk_locked_list_add_tail(&items[2].node, &list);
	cr_assert_eq(sk_locked_list_len(&list), 3);
	cr_assert_not(sk_locked_list_empty(&list));
	cr_assert_eq(sk_locked_list_first_entry_or_null(&list, struct item, node), &items[0]);
	cr_assert(sk_list_is_head(items[2].node.next, sk_locked_list_head(&list)));
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0, 1, 2);
}

/*
 * A second del_init is the kernel's harmless no-op (the entry is on no
 * list): it must leave the count alone, not drop it (it wrapped to
 * SIZE_MAX on an emptied list, with nothing reported).
 */
Test(locked_list, del_init_twice_keeps_the_count)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add_tail(&items[0].node, &list);
	sk_locked_list_add_tail(&items[1].node, &list);
	sk_locked_list_del_init(&items[0].node, &list);
	SK_EXPECT_NO_VIOLATION(sk_locked_list_del_init(&items[0].node, &list));
	cr_assert(sk_list_empty(&items[0].node));
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_locked_list_del_init(&items[1].node, &list);
	SK_EXPECT_NO_VIOLATION(sk_locked_list_del_init(&items[1].node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 0);
	sk_mutex_unlock(&list.lock);
	expect_empty();
}

/*
 * A delete of an entry on no list (initialised, or del_init'ed) counted it
 * off the list, with nothing reported: the count wrapped to SIZE_MAX.  It
 * is refused and reported; the entry and the list are left as they were.
 */
Test(locked_list, del_of_an_unlisted_entry_is_refused)
{
	sk_init_list_head(&items[0].node);
	sk_mutex_lock(&list.lock);
	sk_locked_list_add_tail(&items[1].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_locked_list_del(&items[0].node, &list));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
			    sk_locked_list_del_rcu(&items[0].node, &list));
	cr_assert(sk_list_empty(&items[0].node), "the entry was changed");
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_locked_list_del_init(&items[1].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_locked_list_del(&items[1].node, &list));
	cr_assert(sk_list_empty(&items[1].node));
	cr_assert_eq(sk_locked_list_len(&list), 0);
	cr_assert(sk_list_empty(sk_locked_list_head(&list)));
	sk_mutex_unlock(&list.lock);
	expect_empty();
}

/*
 * The list's own head where an entry is expected: a for_each_entry cursor
 * after a walk that found nothing points there.  Deleting it unlinked and
 * poisoned the head (or, with del_init, left an empty list counted 1), and
 * the _rcu forms left the entries in a ring with no head, on which an RCU
 * reader never ends.  Reported and refused; list and count unchanged.
 */
Test(locked_list, the_lists_own_head_is_not_an_entry)
{
	struct item x = { .value = 7 };
	struct sk_list_head *head;

	sk_init_list_head(&x.node);
	sk_mutex_lock(&list.lock);
	head = sk_locked_list_head(&list);
	for (int empty = 1; empty >= 0; empty--) {
		if (!empty) {
			sk_locked_list_add_tail(&items[0].node, &list);
			sk_locked_list_add_tail(&items[1].node, &list);
		}
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_locked_list_del(head, &list));
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    sk_locked_list_del_init(head, &list));
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    sk_locked_list_del_rcu(head, &list));
		SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
				    sk_locked_list_replace_rcu(head, &x.node, &list));
		cr_assert(sk_list_empty(&x.node), "the replacement was linked");
		cr_assert_eq(sk_locked_list_len(&list), empty ? 0 : 2);
		cr_assert_eq(sk_list_count_nodes(head), empty ? 0 : 2);
		cr_assert_eq(sk_list_empty(head), empty);
	}
	/* And as the replacement of an entry: the kernel's list checks catch
	 * it only while the head is still linked; here it is refused before. */
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_locked_list_replace_rcu(&items[0].node, head, &list));
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0, 1);
}

/*
 * A replace_rcu of an entry on no list (self-linked) linked the new entry
 * into a two-entry ring off the list, with nothing reported.  Refused as a
 * delete of it is; the new entry stays unlinked.
 */
Test(locked_list, replace_rcu_of_an_unlisted_entry_is_refused)
{
	struct item x = { .value = 7 };

	sk_init_list_head(&items[0].node);
	sk_init_list_head(&x.node);
	sk_mutex_lock(&list.lock);
	sk_locked_list_add_tail(&items[1].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
			    sk_locked_list_replace_rcu(&items[0].node, &x.node, &list));
	cr_assert(sk_list_empty(&items[0].node));
	cr_assert(sk_list_empty(&x.node));
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(1);
}

/*
 * A move of an entry on no list (initialised, or del_init'ed) adds it, as
 * sk_list_move() does: the count must follow (it stayed short of the
 * entries, with nothing reported).
 */
Test(locked_list, move_of_an_unlisted_entry_counts_it)
{
	sk_init_list_head(&items[0].node);
	sk_mutex_lock(&list.lock);
	sk_locked_list_move_tail(&items[0].node, &list);
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_locked_list_add_tail(&items[1].node, &list);
	sk_locked_list_del_init(&items[1].node, &list);
	sk_locked_list_move(&items[1].node, &list);
	cr_assert_eq(sk_locked_list_len(&list), 2);
	sk_locked_list_move_tail(&items[1].node, &list); /* on the list: no change */
	cr_assert_eq(sk_locked_list_len(&list), 2);
	sk_mutex_unlock(&list.lock);
	cr_assert_eq(sk_violation_total(), 0UL);
	EXPECT_LIST(0, 1);
}

/*
 * An entry that points to itself forward but not back is not on no list:
 * the move's list check refuses it, and it must not be counted onto @list.
 */
Test(locked_list, refused_move_of_a_half_unlisted_entry_is_not_counted)
{
	struct sk_list_head stray;

	sk_mutex_lock(&list.lock);
	sk_locked_list_add_tail(&items[0].node, &list);
	items[1].node.next = &items[1].node;
	items[1].node.prev = &stray;
	stray.next = stray.prev = &stray;
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_locked_list_move_tail(&items[1].node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 1);
	cr_assert_eq(items[1].node.next, &items[1].node);
	cr_assert_eq(items[1].node.prev, &stray);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0);
}

Test(locked_list, del_del_init_move)
{
	sk_mutex_lock(&list.lock);
	for (int i = 0; i < 4; i++)
		sk_locked_list_add_tail(&items[i].node, &list);
	sk_locked_list_del(&items[1].node, &list);
	cr_assert_eq(items[1].node.next, (struct sk_list_head *)SK_LIST_POISON1);
	sk_locked_list_del_init(&items[2].node, &list);
	cr_assert(sk_list_empty(&items[2].node));
	sk_locked_list_move(&items[3].node, &list);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(3, 0);
	sk_mutex_lock(&list.lock);
	sk_locked_list_move_tail(&items[3].node, &list);
	cr_assert_eq(sk_locked_list_len(&list), 2);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0, 3);
}

Test(locked_list, walk_safe_deletes_and_break)
{
	struct item *pos, *n;
	int seen = 0;

	sk_mutex_lock(&list.lock);
	for (int i = 0; i < 6; i++)
		sk_locked_list_add_tail(&items[i].node, &list);
	/* break leaves the walk (both loops of the macro) */
	sk_locked_list_for_each_entry(pos, &list, node) {
		if (pos->value == 2)
			break;
		seen++;
	}
	cr_assert_eq(seen, 2);
	cr_assert_eq(pos, &items[2]);
	/* nested walks of one list (distinct hidden variables) */
	seen = 0;
	sk_locked_list_for_each_entry(pos, &list, node) {
		struct item *inner;

		sk_locked_list_for_each_entry(inner, &list, node)
			seen++;
	}
	cr_assert_eq(seen, 36);
	sk_locked_list_for_each_entry_safe(pos, n, &list, node) {
		if (pos->value % 2)
			sk_locked_list_del(&pos->node, &list);
	}
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0, 2, 4);
	sk_mutex_lock(&list.lock);
	sk_locked_list_for_each_entry_safe(pos, n, &list, node)
		sk_locked_list_del_init(&pos->node, &list);
	sk_mutex_unlock(&list.lock);
	expect_empty();
}

static size_t len_guarded(void) SK_EXCLUDES(list.lock);
static size_t len_guarded(void)
{
	sk_guard(mutex)(&list.lock);

	return sk_locked_list_len(&list);
}

Test(locked_list, guards)
{
	sk_scoped_guard(mutex, &list.lock) {
		sk_locked_list_add(&items[0].node, &list);
		sk_locked_list_add(&items[1].node, &list);
	}
	cr_assert_eq(len_guarded(), 2);
	sk_scoped_guard(mutex, &list.lock) {
		sk_locked_list_del(&items[0].node, &list);
		sk_locked_list_del(&items[1].node, &list);
	}
	expect_empty();
}

/* ------------------------------------------------------------------------
 * Hardened list checks through the container: one report, nothing changed
 * ------------------------------------------------------------------------ */

Test(locked_list, double_add_refused_count_unchanged)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[0].node, &list);
	sk_locked_list_add(&items[1].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD, sk_locked_list_add(&items[1].node, &list));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_locked_list_add_tail(&items[0].node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 2);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(1, 0);
}

Test(locked_list, double_del_refused_count_unchanged)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[0].node, &list);
	sk_locked_list_add(&items[1].node, &list);
	sk_locked_list_del(&items[0].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, sk_locked_list_del(&items[0].node, &list));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
			    sk_locked_list_del_init(&items[0].node, &list));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
			    sk_locked_list_move(&items[0].node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(1);
}

Test(locked_list, never_added_del_refused)
{
	struct item fresh = { .value = 9 };

	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[0].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_UNINITIALIZED,
			    sk_locked_list_del(&fresh.node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_mutex_unlock(&list.lock);
	cr_assert_null(fresh.node.next);
	EXPECT_LIST(0);
}

/* ------------------------------------------------------------------------
 * The lock, checked at run time (debug) where the compiler cannot see it
 * ------------------------------------------------------------------------ */

/* Each makes one operation without the lock: clang would refuse it. */
static void unlocked_add(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_add(struct item *it)
{
	sk_locked_list_add(&it->node, &list);
}

static void unlocked_add_tail(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_add_tail(struct item *it)
{
	sk_locked_list_add_tail(&it->node, &list);
}

static void unlocked_del(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_del(struct item *it)
{
	sk_locked_list_del(&it->node, &list);
}

static void unlocked_del_init(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_del_init(struct item *it)
{
	sk_locked_list_del_init(&it->node, &list);
}

static void unlocked_move_tail(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_move_tail(struct item *it)
{
	sk_locked_list_move_tail(&it->node, &list);
}

static void unlocked_move(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_move(struct item *it)
{
	sk_locked_list_move(&it->node, &list);
}

static void unlocked_add_rcu(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_add_rcu(struct item *it)
{
	sk_locked_list_add_rcu(&it->node, &list);
}

static void unlocked_add_tail_rcu(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_add_tail_rcu(struct item *it)
{
	sk_locked_list_add_tail_rcu(&it->node, &list);
}

static void unlocked_del_rcu(struct item *it) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_del_rcu(struct item *it)
{
	sk_locked_list_del_rcu(&it->node, &list);
}

static void unlocked_replace_rcu(struct item *old, struct item *n) SK_NO_THREAD_SAFETY_ANALYSIS;
static void unlocked_replace_rcu(struct item *old, struct item *n)
{
	sk_locked_list_replace_rcu(&old->node, &n->node, &list);
}

static size_t unlocked_len(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static size_t unlocked_len(void)
{
	return sk_locked_list_len(&list);
}

static struct sk_list_head *unlocked_head(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static struct sk_list_head *unlocked_head(void)
{
	return sk_locked_list_head(&list);
}

static bool unlocked_empty(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static bool unlocked_empty(void)
{
	return sk_locked_list_empty(&list);
}

static struct item *unlocked_first(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static struct item *unlocked_first(void)
{
	return sk_locked_list_first_entry_or_null(&list, struct item, node);
}

static int unlocked_walk(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static int unlocked_walk(void)
{
	struct item *pos;
	int n = 0;

	sk_locked_list_for_each_entry(pos, &list, node)
		n++;
	return n;
}

static int unlocked_walk_safe(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static int unlocked_walk_safe(void)
{
	struct item *pos, *n;
	int count = 0;

	sk_locked_list_for_each_entry_safe(pos, n, &list, node)
		count++;
	return count;
}

/* Expect one lock_not_held report at the debug level, none when hardened. */
#define EXPECT_NOT_HELD(stmt)                                                 \
	do {                                                                  \
		if (DEBUG_LEVEL)                                              \
			SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_NOT_HELD, stmt); \
		else                                                          \
			SK_EXPECT_NO_VIOLATION(stmt);                         \
	} while (0)

static void fill3(void) SK_EXCLUDES(list.lock);
static void fill3(void)
{
	sk_scoped_guard(mutex, &list.lock) {
		for (int i = 0; i < 3; i++)
			sk_locked_list_add_tail(&items[i].node, &list);
	}
}

Test(locked_list, writers_without_lock_refused_at_debug)
{
	size_t len;

	if (!DEBUG_LEVEL) {
		/* Hardened units do not check the lock at run time: the
		 * operations proceed (the compiler is the check). */
		SK_EXPECT_NO_VIOLATION(unlocked_add(&items[0]));
		SK_EXPECT_NO_VIOLATION(unlocked_del(&items[0]));
		expect_empty();
		return;
	}
	fill3();
	EXPECT_NOT_HELD(unlocked_add(&items[5]));
	EXPECT_NOT_HELD(unlocked_add_tail(&items[5]));
	EXPECT_NOT_HELD(unlocked_del(&items[1]));
	EXPECT_NOT_HELD(unlocked_del_init(&items[1]));
	EXPECT_NOT_HELD(unlocked_move_tail(&items[0]));
	EXPECT_NOT_HELD(unlocked_move(&items[2]));
	EXPECT_NOT_HELD(unlocked_add_rcu(&items[5]));
	EXPECT_NOT_HELD(unlocked_add_tail_rcu(&items[5]));
	EXPECT_NOT_HELD(unlocked_del_rcu(&items[1]));
	EXPECT_NOT_HELD(unlocked_replace_rcu(&items[1], &items[5]));
	/* refused: nothing changed (items[5] was never linked) */
	cr_assert_null(items[5].node.next);
	EXPECT_LIST(0, 1, 2);
	/* an accessor is reported but answers */
	EXPECT_NOT_HELD(len = unlocked_len());
	cr_assert_eq(len, 3);
}

Test(locked_list, accessors_without_lock_reported_then_answer)
{
	struct sk_list_head *h;
	struct item *first;
	bool empty;

	fill3();
	/* reported at the debug level, never refused: each still answers */
	EXPECT_NOT_HELD(h = unlocked_head());
	cr_assert(sk_list_is_head(items[2].node.next, h), "the list's own head");
	EXPECT_NOT_HELD(empty = unlocked_empty());
	cr_assert_not(empty);
	EXPECT_NOT_HELD(first = unlocked_first());
	cr_assert_eq(first, &items[0]);
	EXPECT_LIST(0, 1, 2);
}

Test(locked_list, walk_without_lock_reported_once_then_walks)
{
	int n;

	fill3();
	EXPECT_NOT_HELD(n = unlocked_walk());
	cr_assert_eq(n, 3);
	EXPECT_NOT_HELD(n = unlocked_walk_safe());
	cr_assert_eq(n, 3);
}

static void *hold_lock(void *arg) SK_NO_THREAD_SAFETY_ANALYSIS;
static void *hold_lock(void *arg)
{
	int *step = arg;

	sk_mutex_lock(&list.lock);
	__atomic_store_n(step, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(step, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
	sk_mutex_unlock(&list.lock);
	return NULL;
}

Test(locked_list, lock_held_by_another_thread_is_not_held)
{
	pthread_t t;
	int step = 0;

	fill3();
	cr_assert_eq(pthread_create(&t, NULL, hold_lock, &step), 0);
	while (__atomic_load_n(&step, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
	EXPECT_NOT_HELD(unlocked_del(&items[0]));
	__atomic_store_n(&step, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (DEBUG_LEVEL)
		EXPECT_LIST(0, 1, 2);
	else
		EXPECT_LIST(1, 2);
}

/* Destroy under the lock: clang would refuse it (sk_mutex_destroy excludes the lock). */
static void destroy_held(void) SK_NO_THREAD_SAFETY_ANALYSIS;
static void destroy_held(void)
{
	sk_locked_list_destroy(&list);
}

Test(locked_list, destroy_while_held_refused_list_usable)
{
	fill3();
	sk_mutex_lock(&list.lock);
	/* a check of the mutex itself: both levels */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LOCK_HELD, destroy_held());
	/*
	 * Refused: the list and count are as they were, and the lock is still
	 * this thread's (the debug check of each operation, and the unlock's
	 * owner check at both levels, would report otherwise).
	 */
	SK_EXPECT_NO_VIOLATION({
		cr_assert_eq(sk_locked_list_len(&list), 3);
		sk_locked_list_del(&items[1].node, &list);
		sk_mutex_unlock(&list.lock);
	});
	EXPECT_LIST(0, 2);
	/* and, unlocked, it destroys cleanly; a fresh one for the teardown */
	SK_EXPECT_NO_VIOLATION(sk_locked_list_destroy(&list));
	sk_locked_list_init(&list);
}

/* ------------------------------------------------------------------------
 * The _rcu forms (safekern/rculist.h) and an RCU reader
 * ------------------------------------------------------------------------ */

static int rcu_collect(int *out, int max)
{
	struct item *pos;
	int n = 0;

	sk_rcu_read_lock();
	sk_locked_list_for_each_entry_rcu(pos, &list, node) {
		if (n < max)
			out[n] = pos->value;
		n++;
	}
	sk_rcu_read_unlock();
	return n;
}

Test(locked_list, rcu_writers_and_reader)
{
	struct item *a = sk_kzalloc(sizeof(*a)), *b = sk_kzalloc(sizeof(*b)),
		    *c = sk_kzalloc(sizeof(*c)), *first;
	int got[4], n;

	cr_assert(a && b && c);
	a->value = 10;
	b->value = 11;
	c->value = 12;
	sk_scoped_guard(mutex, &list.lock) {
		sk_locked_list_add_rcu(&a->node, &list);
		sk_locked_list_add_tail_rcu(&b->node, &list);
		cr_assert_eq(sk_locked_list_len(&list), 2);
	}
	n = rcu_collect(got, 4);
	cr_assert_eq(n, 2);
	cr_assert(got[0] == 10 && got[1] == 11);
	sk_scoped_guard(mutex, &list.lock) {
		sk_locked_list_replace_rcu(&a->node, &c->node, &list);
		cr_assert_eq(sk_locked_list_len(&list), 2);
	}
	sk_kfree_rcu(a, rcu);
	sk_rcu_read_lock();
	first = sk_locked_list_first_or_null_rcu(&list, struct item, node);
	cr_assert_eq(first, c);
	sk_rcu_read_unlock();
	sk_scoped_guard(mutex, &list.lock) {
		sk_locked_list_del_rcu(&b->node, &list);
		SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL,
				    sk_locked_list_del_rcu(&b->node, &list));
		cr_assert_eq(sk_locked_list_len(&list), 1);
		sk_locked_list_del_rcu(&c->node, &list);
		cr_assert_eq(sk_locked_list_len(&list), 0);
	}
	sk_kfree_rcu(b, rcu);
	sk_kfree_rcu(c, rcu);
	cr_assert_eq(rcu_collect(got, 4), 0);
}

Test(locked_list, rcu_double_add_refused_count_unchanged)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add_rcu(&items[0].node, &list);
	sk_locked_list_add_tail_rcu(&items[1].node, &list);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_locked_list_add_rcu(&items[0].node, &list));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_ADD,
			    sk_locked_list_add_tail_rcu(&items[1].node, &list));
	cr_assert_eq(sk_locked_list_len(&list), 2);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0, 1);
}

static int rcu_walk_unlocked(void)
{
	struct item *pos;
	int n = 0;

	sk_locked_list_for_each_entry_rcu(pos, &list, node)
		n++;
	return n;
}

Test(locked_list, rcu_walk_outside_read_side_section)
{
	int n;

	fill3();
	if (DEBUG_LEVEL)
		SK_EXPECT_VIOLATION(SK_VIOLATION_RCU_NOT_READ_LOCKED, n = rcu_walk_unlocked());
	else
		SK_EXPECT_NO_VIOLATION(n = rcu_walk_unlocked());
	cr_assert_eq(n, 3);
}

/* ------------------------------------------------------------------------
 * The default policy aborts
 * ------------------------------------------------------------------------ */

static void abort_setup(void)
{
	sk_locked_list_init(&list);
}

Test(locked_list_abort, double_del_aborts, .init = abort_setup, .signal = SIGABRT)
{
	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[0].node, &list);
	sk_locked_list_del(&items[0].node, &list);
	sk_locked_list_del(&items[0].node, &list);
	sk_mutex_unlock(&list.lock);
}

/*
 * An entry of another locked list, moved or deleted through an empty one:
 * reported and refused, both counts unchanged (the move left list A's
 * count at 1 and B's at 0, and a later delete through B wrapped B's count
 * to SIZE_MAX).
 */
Test(locked_list, entry_of_another_list_through_an_empty_one_refused)
{
	struct sk_locked_list other;
	struct item x = { .value = 5 };

	sk_locked_list_init(&other);
	sk_mutex_lock(&list.lock);
	sk_locked_list_add(&items[0].node, &list);
	sk_mutex_unlock(&list.lock);
	sk_mutex_lock(&other.lock);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_locked_list_move(&items[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_locked_list_move_tail(&items[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT, sk_locked_list_del(&items[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_locked_list_del_init(&items[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_locked_list_del_rcu(&items[0].node, &other));
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_locked_list_replace_rcu(&items[0].node, &x.node, &other));
	cr_assert_eq(sk_locked_list_len(&other), 0);
	cr_assert(sk_locked_list_empty(&other));
	/* An entry on no list still joins an empty list by a move. */
	sk_init_list_head(&x.node);
	SK_EXPECT_NO_VIOLATION(sk_locked_list_move(&x.node, &other));
	cr_assert_eq(sk_locked_list_len(&other), 1);
	sk_locked_list_del(&x.node, &other);
	sk_mutex_unlock(&other.lock);
	sk_mutex_lock(&list.lock);
	cr_assert_eq(sk_locked_list_len(&list), 1);
	sk_mutex_unlock(&list.lock);
	EXPECT_LIST(0);
	sk_locked_list_destroy(&other);
}

/*
 * Debug: a NULL or poisoned entry pointer given to a delete or move through
 * an empty locked list is the list's report, as through a non-empty one
 * (the foreign-entry test read its links first, and crashed).
 */
Test(locked_list, bad_entry_pointer_through_an_empty_list_reported)
{
	static const enum sk_violation_kind kind[2] = { SK_VIOLATION_INVALID_ARGUMENT,
							SK_VIOLATION_LIST_CORRUPTION };
	struct sk_list_head *bad[2] = { NULL, (struct sk_list_head *)SK_LIST_POISON1 };

	if (!DEBUG_LEVEL)
		cr_skip_test("debug level only (hardened does not check the entry pointer itself)");
	sk_mutex_lock(&list.lock);
	for (int i = 0; i < 2; i++) {
		SK_EXPECT_VIOLATION(kind[i], sk_locked_list_del(bad[i], &list));
		SK_EXPECT_VIOLATION(kind[i], sk_locked_list_del_init(bad[i], &list));
		SK_EXPECT_VIOLATION(kind[i], sk_locked_list_del_rcu(bad[i], &list));
		SK_EXPECT_VIOLATION(kind[i], sk_locked_list_move(bad[i], &list));
		SK_EXPECT_VIOLATION(kind[i], sk_locked_list_move_tail(bad[i], &list));
		cr_assert_eq(sk_locked_list_len(&list), 0);
		cr_assert(sk_list_empty(sk_locked_list_head(&list)));
	}
	sk_mutex_unlock(&list.lock);
}
