/* SPDX-License-Identifier: MIT */
/*
 * bench/group-klist.c - the "klist" groups: one full iteration over a
 * list of 1,000 nodes (one op = one walk, summing a payload per node), and
 * an add + delete pair.
 *
 *   raw mutex walk    a raw list walked under a pthread mutex held for
 *                     the whole walk (bench/raw/klist.h; baseline)
 *   sk_list+sk_mutex  the hardened sk_list walked under an sk_mutex held
 *                     for the whole walk (what struct sk_klist replaces)
 *   sk_klist <level>  sk_klist_iter_init, sk_klist_next to the end,
 *                     sk_klist_iter_exit: the lock is taken once per step
 *                     and each step takes and drops a node reference, so
 *                     that other threads may add and delete meanwhile
 *
 *   klist.add_del       add_tail one node to the 1,000-node list and
 *                       delete it (no iterator holds it, so the delete
 *                       releases it): ns per pair, against the raw list
 *                       with a pthread mutex round trip for each
 *
 * The klist pays per node what the raw walk pays per walk (a lock round
 * trip, two reference-count updates, the per-thread hold table): the
 * price of never holding the lock across the caller's loop body.  The
 * debug case runs with the lock validator on (as a -DSK_DEBUG unit does).
 * Measured in a multi-threaded process (see group-locks.c).
 */
#include <pthread.h>
#include <stdlib.h>

#include <safekern/klist.h>
#include <safekern/list.h>
#include <safekern/lock.h>

#include "bench.h"
#include "raw/klist.h"

#define NODES 1000

struct sk_knode {
	uint64_t payload;
	struct sk_klist_node node;
};

struct sk_lnode {
	uint64_t payload;
	struct sk_list_head link;
};

static struct raw_klist raw;
static struct raw_knode raw_nodes[NODES];
static struct sk_klist klist;
static struct sk_knode k_nodes[NODES], k_extra;
static struct sk_mutex list_lock;
static struct sk_list_head list;
static struct sk_lnode l_nodes[NODES];

static void prepare(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	raw_klist_init(&raw);
	sk_klist_init(&klist, NULL, NULL);
	sk_mutex_init(&list_lock);
	sk_init_list_head(&list);
	for (int i = 0; i < NODES; i++) {
		raw_nodes[i].payload = (uint64_t)i;
		raw_klist_add_tail(&raw, &raw_nodes[i]);
		k_nodes[i].payload = (uint64_t)i;
		sk_klist_add_tail(&k_nodes[i].node, &klist);
		l_nodes[i].payload = (uint64_t)i;
		sk_mutex_lock(&list_lock);
		sk_list_add_tail(&l_nodes[i].link, &list);
		sk_mutex_unlock(&list_lock);
	}
}

#ifdef SK_DEBUG
static void *setup(const struct sk_bench_case *c)
{
	(void)c;
	prepare();
	(void)sk_lockdep_enable();
	return &klist;
}

static void teardown(void *state)
{
	(void)state;
	(void)sk_lockdep_disable();
}
#define TEARDOWN teardown
#else
static void *setup(const struct sk_bench_case *c)
{
	(void)c;
	prepare();
	(void)sk_lockdep_disable();
	return &klist;
}
#define TEARDOWN NULL
#endif

#ifndef SK_DEBUG
static void run_raw(struct sk_bench_thread *t)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++)
		sum += raw_klist_walk(&raw);
	t->sink = sum;
}
SK_BENCH_CASE(case_klist_raw, .group = "klist.walk1000", .name = "raw mutex walk",
	      .baseline = true, .callgrind_iters = 1000, .setup = setup, .run = run_raw)

static uint64_t sk_list_walk(void)
{
	struct sk_list_head *pos;
	uint64_t sum = 0;

	sk_mutex_lock(&list_lock);
	sk_list_for_each(pos, &list)
		sum += sk_list_entry(pos, struct sk_lnode, link)->payload;
	sk_mutex_unlock(&list_lock);
	return sum;
}

static void run_sk_list(struct sk_bench_thread *t)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++)
		sum += sk_list_walk();
	t->sink = sum;
}
SK_BENCH_CASE(case_klist_sk_list, .group = "klist.walk1000", .name = "sk_list+sk_mutex",
	      .callgrind_iters = 1000, .setup = setup, .run = run_sk_list)
#endif

static void run_klist(struct sk_bench_thread *t)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < t->iters; i++) {
		struct sk_klist_iter it;
		struct sk_klist_node *n;

		sk_klist_iter_init(&klist, &it);
		while ((n = sk_klist_next(&it)))
			sum += sk_container_of(n, struct sk_knode, node)->payload;
		sk_klist_iter_exit(&it);
	}
	t->sink = sum;
}
SK_BENCH_CASE(case_klist_sk, .group = "klist.walk1000", .name = "sk_klist " SK_BENCH_LEVEL,
	      .callgrind_iters = 1000, .setup = setup, .teardown = TEARDOWN, .run = run_klist)

/* ------------------------------------------------------------------------
 * add_tail + del of one node (the delete drops the last reference)
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static struct raw_knode raw_extra;

static void run_raw_add_del(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		raw_klist_add_tail(&raw, &raw_extra);
		raw_klist_del(&raw, &raw_extra);
	}
	t->sink = (uintptr_t)raw.head.prev;
}
SK_BENCH_CASE(case_klist_add_del_raw, .group = "klist.add_del", .name = "raw mutex list",
	      .baseline = true, .setup = setup, .run = run_raw_add_del)
#endif

static void run_klist_add_del(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		sk_klist_add_tail(&k_extra.node, &klist);
		sk_klist_del(&k_extra.node);
	}
	t->sink = (uintptr_t)sk_klist_node_attached(&k_extra.node);
}
SK_BENCH_CASE(case_klist_add_del_sk, .group = "klist.add_del", .name = "sk_klist " SK_BENCH_LEVEL,
	      .setup = setup, .teardown = TEARDOWN, .run = run_klist_add_del)
