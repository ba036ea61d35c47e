/* SPDX-License-Identifier: MIT */
/*
 * tests/test-fork.c - what a child of fork() may do (docs/concurrency.md):
 * a child of a single-threaded parent uses tables, caches, locks and
 * objects made before the fork, new ones, and new threads.  Each child
 * reports through its exit status: 0, or the number of the check that
 * failed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <safekern/handle.h>
#include <safekern/lock.h>
#include <safekern/slab.h>
#include <safekern/violation.h>

#include "sk-test.h"

#define NOBJ 64

static struct sk_handle_table tab;
static struct sk_handle_owner owner;
static int objs[2 * NOBJ];
static struct sk_kmem_cache *cache;
static struct sk_mutex outer, inner;

static void setup(void)
{
	sk_test_count_policy();
	sk_handle_table_init(&tab, NULL, NULL);
	sk_handle_owner_init(&owner, "fork-test");
	cache = sk_kmem_cache_create("fork-test", 48, 0, 0, NULL);
	cr_assert_not_null(cache);
	sk_mutex_init(&outer);
	sk_mutex_init(&inner);
}

static void teardown(void)
{
	sk_mutex_destroy(&inner);
	sk_mutex_destroy(&outer);
	sk_kmem_cache_destroy(cache);
	sk_handle_table_destroy(&tab);
	sk_handle_owner_destroy(&owner);
}

TestSuite(fork, .init = setup, .fini = teardown);

/* Inserts, looks up and releases objs[first .. first + NOBJ - 1], and
 * allocates and frees objects of the cache; nonzero on a wrong result. */
static int churn(int first)
{
	void *mem[NOBJ];

	for (int i = first; i < first + NOBJ; i++) {
		sk_handle_t h = sk_handle_insert(&tab, &objs[i], &owner);
		void *p;

		if (sk_handle_is_null(h))
			return 1;
		p = sk_handle_lookup(&tab, h);
		if (p != &objs[i])
			return 1;
		sk_handle_put(&tab, h);
		if (sk_handle_release(&tab, h, &owner))
			return 1;
	}
	for (int i = 0; i < NOBJ; i++) {
		mem[i] = sk_kmem_cache_alloc(cache);
		if (!mem[i])
			return 1;
	}
	for (int i = 0; i < NOBJ; i++)
		sk_kmem_cache_free(cache, mem[i]);
	return 0;
}

static void *churn_thread(void *arg)
{
	return churn((int)(intptr_t)arg) ? (void *)1 : NULL;
}

/* Locks in the order the parent used. */
SK_NO_THREAD_SAFETY_ANALYSIS static void lock_both(void)
{
	sk_mutex_lock(&outer);
	sk_mutex_lock(&inner);
	sk_mutex_unlock(&inner);
	sk_mutex_unlock(&outer);
}

static int child(sk_handle_t kept, void *kept_mem)
{
	pthread_t th;
	void *rc;

	/* What the parent made before the fork. */
	if (sk_handle_lookup(&tab, kept) != &objs[2 * NOBJ - 1])
		return 10;
	sk_handle_put(&tab, kept);
	if (sk_handle_release(&tab, kept, &owner))
		return 11;
	sk_kmem_cache_free(cache, kept_mem);
	/* New objects, on this thread and on a new one. */
	if (churn(0))
		return 12;
	if (pthread_create(&th, NULL, churn_thread, (void *)(intptr_t)NOBJ))
		return 13;
	if (pthread_join(th, &rc) || rc)
		return 14;
	lock_both();
	if (sk_violation_total())
		return 15;
	return 0;
}

static void expect_child_ok(pid_t pid)
{
	int status;

	cr_assert_gt(pid, 0, "fork failed");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child did not exit (status %#x)", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "check %d failed in the child", WEXITSTATUS(status));
}

Test(fork, a_child_of_a_single_threaded_parent_uses_everything)
{
	sk_handle_t kept;
	void *kept_mem;
	pthread_t th;
	void *rc;

	/* The parent, and a thread that has exited by the fork. */
	cr_assert_eq(churn(0), 0);
	cr_assert_eq(pthread_create(&th, NULL, churn_thread, (void *)(intptr_t)NOBJ), 0);
	cr_assert_eq(pthread_join(th, &rc), 0);
	cr_assert_null(rc);
	lock_both();
	kept = sk_handle_insert(&tab, &objs[2 * NOBJ - 1], &owner);
	cr_assert(!sk_handle_is_null(kept));
	kept_mem = sk_kmem_cache_alloc(cache);
	cr_assert_not_null(kept_mem);

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(child(kept, kept_mem));
	expect_child_ok(pid);

	/* The parent's copies are untouched by the child. */
	cr_assert_eq(sk_handle_lookup(&tab, kept), &objs[2 * NOBJ - 1]);
	sk_handle_put(&tab, kept);
	cr_assert_eq(sk_handle_release(&tab, kept, &owner), 0);
	sk_kmem_cache_free(cache, kept_mem);
	cr_assert_eq(sk_violation_total(), 0);
}

/* A lock the forking thread holds stays held by it in the child (the same
 * thread, as far as the owner check and the validator know): both release
 * it without a report. */
SK_NO_THREAD_SAFETY_ANALYSIS static int unlock_in_child(void)
{
	sk_mutex_unlock(&outer);
	if (sk_mutex_trylock(&outer) != 1)
		return 20;
	sk_mutex_unlock(&outer);
	lock_both();
	return sk_violation_total() ? 21 : 0;
}

SK_NO_THREAD_SAFETY_ANALYSIS static void lock_outer(void)
{
	sk_mutex_lock(&outer);
}

SK_NO_THREAD_SAFETY_ANALYSIS static void unlock_outer(void)
{
	sk_mutex_unlock(&outer);
}

Test(fork, a_lock_held_across_the_fork_is_released_on_both_sides)
{
	pid_t pid;

	lock_outer();
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(unlock_in_child());
	expect_child_ok(pid);
	unlock_outer();
	lock_both();
	cr_assert_eq(sk_violation_total(), 0);
}
