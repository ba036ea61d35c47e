/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/klist-stress.c - iterators walk a struct sk_klist (from
 * its ends, or from a node: sk_klist_iter_init_node) while other threads
 * delete (sk_klist_del and sk_klist_remove) and add nodes (at the ends,
 * and before or behind a node), for a bounded number of rounds.  Checked
 * exactly:
 *
 *   - put() runs exactly once per add (each node's get and put counts are
 *     equal at the end, and put never runs twice in a row for one life);
 *   - no node is freed while an iterator holds it: deleted nodes are freed
 *     from put() (ASan and memcheck catch any later touch), and each
 *     iterator checks a canary in every node it is given;
 *   - an iterator sees every node that stayed on the list for its whole
 *     walk, exactly once and in order: a set of "stable" nodes is never
 *     deleted, and each walk must return all of them, in ascending order;
 *     and no node, stable or not, twice in one walk;
 *   - sk_klist_remove() returns only after put() ran for that node, on
 *     whichever thread dropped the last hold (the deleters, concurrently
 *     with the walkers that may hold it, and main at the end);
 *   - nothing is reported.
 *
 * A plain program so that TSan, helgrind and drd can run it.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/alloc.h>
#include <safekern/klist.h>

#include "../sk-test.h"

#define WALKERS 2
#define DELETERS 2
#define STABLE 16
#define CANARY 0x6b6c69737443ULL

struct item {
	uint64_t canary;
	unsigned int key;	/* stable nodes: their rank; others: ~0U */
	bool stable;
	unsigned int owner;	/* the deleter that deletes it */
	int put_done;		/* atomic: set by put() (sk_klist_remove() checks it) */
	int removing;		/* atomic: its deleter is in sk_klist_remove() */
	unsigned int gets, puts; /* atomics: this node's get() and put() calls */
	uint64_t walk[WALKERS]; /* the last walk of each walker that saw it */
	struct sk_klist_node node;
};

static struct sk_klist klist;
static struct item *stable[STABLE]; /* never deleted until the end */
static uint64_t rounds;
static unsigned long gets, puts_;	/* atomics */
static unsigned long walks, steps;	/* atomics */
static unsigned int next_owner;		/* atomic */
static unsigned long removed_puts[DELETERS]; /* atomics: puts of nodes being removed */

static struct item *to_item(struct sk_klist_node *n)
{
	return sk_container_of(n, struct item, node);
}

static void item_get(struct sk_klist_node *n)
{
	__atomic_add_fetch(&to_item(n)->gets, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&gets, 1, __ATOMIC_RELAXED);
}

/* Release: the node is off the list and no iterator holds it: free it. */
static void item_put(struct sk_klist_node *n)
{
	struct item *it = to_item(n);

	unsigned int p;

	sk_check(it->canary == CANARY, "put on a freed or corrupt node");
	/* One put per add: this node's puts catch up with its gets. */
	p = __atomic_add_fetch(&it->puts, 1, __ATOMIC_RELAXED);
	sk_check(p == __atomic_load_n(&it->gets, __ATOMIC_RELAXED), "node put %u times for %u adds",
		 p, __atomic_load_n(&it->gets, __ATOMIC_RELAXED));
	__atomic_add_fetch(&puts_, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&it->removing, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&removed_puts[it->owner], 1, __ATOMIC_RELEASE);
	if (it->stable) {
		__atomic_store_n(&it->put_done, 1, __ATOMIC_RELEASE);
		return; /* the stable nodes are freed by main */
	}
	it->canary = 0;
	sk_kfree(it);
}

static struct item *new_item(void)
{
	struct item *it = sk_kzalloc(sizeof(*it));

	sk_check(it != NULL, "alloc");
	it->canary = CANARY;
	it->key = ~0U;
	it->owner = __atomic_fetch_add(&next_owner, 1, __ATOMIC_RELAXED) % DELETERS;
	return it;
}

/*
 * Walk the whole list; every stable node must be seen once, in order
 * (forwards: ascending keys; backwards: descending).  Every third walk
 * starts at a stable node (sk_klist_iter_init_node()) and must see the
 * stable nodes beyond it.
 */
static void *walker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	unsigned long my_steps = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		bool reverse = (r + id) & 1;
		struct sk_klist_iter i;
		struct sk_klist_node *n;
		unsigned int seen = 0, from = STABLE;

		if (r % 3 == 2) {
			/* Counted as seen: the stable nodes up to @from in the
			 * walk's direction (the walk starts after it). */
			from = (unsigned int)((r / 3 + id) % STABLE);
			sk_klist_iter_init_node(&klist, &i, &stable[from]->node);
			seen = reverse ? STABLE - from : from + 1;
		} else {
			sk_klist_iter_init(&klist, &i);
		}
		while ((n = reverse ? sk_klist_prev(&i) : sk_klist_next(&i))) {
			struct item *it = to_item(n);

			sk_check(it->canary == CANARY, "iterator given a freed node");
			/* Only this walker writes its stamp, while it holds the node. */
			sk_check(it->walk[id] != r + 1, "node seen twice in one walk");
			it->walk[id] = r + 1;
			my_steps++;
			if (it->stable) {
				unsigned int want = reverse ? STABLE - 1 - seen : seen;

				sk_check(it->key == want, "stable node %u seen at %u", it->key,
					 want);
				seen++;
			}
			if ((my_steps & 7) == 0)
				sched_yield(); /* let deleters hit the node we stand on */
		}
		sk_klist_iter_exit(&i);
		sk_check(seen == STABLE, "walk (from %u) saw up to %u of %d stable nodes", from, seen,
			 STABLE);
		__atomic_add_fetch(&walks, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&steps, my_steps, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * Add a transient node next to a random position, then delete transient
 * nodes found by walking (sk_klist_del while standing on them, or
 * sk_klist_remove after moving on).
 */
static void *deleter(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (id + 1);
	unsigned long removes = 0;

	for (uint64_t r = 0; r < rounds; r++) {
		struct sk_klist_iter i;
		struct sk_klist_node *n;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;

		/* Add two transient nodes. */
		if (seed & 1)
			sk_klist_add_head(&new_item()->node, &klist);
		else
			sk_klist_add_tail(&new_item()->node, &klist);
		sk_klist_add_tail(&new_item()->node, &klist);
		/* And one next to a stable node. */
		if (seed & 2)
			sk_klist_add_before(&new_item()->node, &stable[(seed >> 8) % STABLE]->node);
		else
			sk_klist_add_behind(&new_item()->node, &stable[(seed >> 8) % STABLE]->node);

		/* Delete the transient nodes this deleter owns (each node has
		 * exactly one deleter): with
		 * sk_klist_del() while standing on them, or with
		 * sk_klist_remove() after leaving the walk (a remover must hold
		 * no node, or two removers could wait for each other). */
		sk_klist_iter_init(&klist, &i);
		while ((n = sk_klist_next(&i))) {
			struct item *it = to_item(n);

			sk_check(it->canary == CANARY, "deleter given a freed node");
			if (it->stable || it->owner != id)
				continue;
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			if (seed & 1) {
				sk_klist_del(n); /* released when we move on, or by a walker */
			} else {
				sk_klist_iter_exit(&i); /* it stays: only we delete it */
				/* Its put() may run on a walker that holds it: remove
				 * must wait for that put (counted, since it frees it). */
				__atomic_store_n(&it->removing, 1, __ATOMIC_RELEASE);
				removes++;
				sk_check(sk_klist_remove(n) == 0, "remove");
				sk_check(__atomic_load_n(&removed_puts[id], __ATOMIC_ACQUIRE) ==
						 removes,
					 "sk_klist_remove() returned before put() ran");
				sk_klist_iter_init(&klist, &i);
			}
		}
		sk_klist_iter_exit(&i);
	}
	return NULL;
}

int main(void)
{
	pthread_t w[WALKERS], d[DELETERS];
	struct sk_klist_iter i;
	struct sk_klist_node *n;
	unsigned long left = 0;

	rounds = sk_test_iters(5000, 40);
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_klist_init(&klist, item_get, item_put);

	for (unsigned int s = 0; s < STABLE; s++) {
		stable[s] = new_item();
		stable[s]->stable = true;
		stable[s]->key = s;
		sk_klist_add_tail(&stable[s]->node, &klist);
	}

	for (int t = 0; t < WALKERS; t++)
		sk_check(pthread_create(&w[t], NULL, walker, (void *)(uintptr_t)t) == 0, "create");
	for (int t = 0; t < DELETERS; t++)
		sk_check(pthread_create(&d[t], NULL, deleter, (void *)(uintptr_t)t) == 0, "create");
	for (int t = 0; t < WALKERS; t++)
		pthread_join(w[t], NULL);
	for (int t = 0; t < DELETERS; t++)
		pthread_join(d[t], NULL);

	/* Delete what is left (transient nodes a deleter did not reach). */
	sk_klist_iter_init(&klist, &i);
	while ((n = sk_klist_next(&i)))
		if (!to_item(n)->stable) {
			sk_klist_del(n);
			left++;
		}
	sk_klist_iter_exit(&i);
	/* Remove the stable nodes: put() must have run when remove returns. */
	for (unsigned int s = 0; s < STABLE; s++) {
		sk_check(sk_klist_remove(&stable[s]->node) == 0, "remove stable");
		sk_check(__atomic_load_n(&stable[s]->put_done, __ATOMIC_ACQUIRE) == 1,
			 "remove returned before put()");
		sk_kfree(stable[s]);
	}

	sk_check(gets == puts_, "%lu gets, %lu puts", gets, puts_);
	sk_check(gets == STABLE + rounds * 3 * DELETERS, "%lu gets", gets);
	sk_check(walks == WALKERS * rounds, "%lu walks", walks);
	sk_check(sk_klist_destroy(&klist) == 0, "destroy");
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("klist-stress: %d walkers, %d deleters x %lu rounds, %lu steps, %lu nodes "
	       "released, %lu left at the end, no violations\n",
	       WALKERS, DELETERS, (unsigned long)rounds, steps, puts_, left);
	return 0;
}
