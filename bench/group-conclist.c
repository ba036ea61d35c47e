/* SPDX-License-Identifier: MIT */
/*
 * bench/group-conclist.c - the concurrent list groups: reading a shared
 * list with RCU against the locks a daemon would otherwise use, and what
 * the lock-annotated list costs against a raw list under a raw mutex.
 *
 *   conclist.walk         walk a 1,000-entry list summing a field, one
 *                         thread, no writer: ns per walk.  Raw list under
 *                         a pthread rwlock read lock (baseline), under a
 *                         pthread mutex; sk rculist (a struct sk_locked_list
 *                         read with sk_locked_list_for_each_entry_rcu()
 *                         inside sk_rcu_read_lock()); liburcu's
 *                         cds_list_for_each_entry_rcu(); the locked list
 *                         walked under its mutex.
 *   conclist.walk_writer  the same walks on thread 0 while thread 1 updates
 *                         the list every 2 us (busy-waiting between, no
 *                         lock held): adds one entry and deletes the one
 *                         it added before: under the write lock
 *                         or the mutex for the raw cases; with the _rcu
 *                         writers under the locked list's mutex, freeing
 *                         through sk_kfree_rcu(), for the RCU case.  ns
 *                         per walk of the reader (the writer's work is not
 *                         counted).  Two threads on a 2-core machine, plus
 *                         liburcu's call_rcu worker for the RCU case.
 *   conclist.add_del      lock, add an entry, unlock; lock, delete it,
 *                         unlock: raw list under a raw pthread mutex
 *                         (baseline) against sk_locked_list_add/del under
 *                         its sk_mutex.  ns per add+del pair.
 *
 * The RCU cases need liburcu (memb flavour) and are compiled in when the
 * build found it (SK_BENCH_HAVE_URCU).  The debug cases turn the lock
 * validator on in their setup (warm) and off in their teardown, as
 * bench/group-locks.c does.  Measured in a multi-threaded process (a
 * thread is started and joined first), as a program that needs locks is.
 */
#define _LGPL_SOURCE /* liburcu's inline read side and rcu_dereference, as a user would build */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <safekern/alloc.h>
#include <safekern/compiler.h>
#include <safekern/locked_list.h>
#include <safekern/lock.h>

#ifdef SK_BENCH_HAVE_URCU
#include <urcu.h>
#include <urcu/rculist.h>

#include <safekern/rculist.h>
#endif

#include "bench.h"
#include "raw/list.h"

#define NT SK_NO_THREAD_SAFETY_ANALYSIS
#define N_WALK 1000

/* ------------------------------------------------------------------------
 * Shared state: one list of each kind, built once
 * ------------------------------------------------------------------------ */

struct cl_entry {
	long value;
	struct sk_list_head sk;
	struct raw_list_head raw;
#ifdef SK_BENCH_HAVE_URCU
	struct cds_list_head cds;
	struct sk_rcu_head rcu;
#endif
};

struct cl_state {
	int stop; /* the reader is done: the writer stops */
	int built;
};

/* One set per level (this file is compiled twice). */
static struct cl_state st;
static struct cl_entry entries[N_WALK];
static SK_UNUSED struct cl_entry spare; /* the raw writers' entry */
static struct sk_locked_list sklist;
static struct raw_list_head rawhead;
static SK_UNUSED pthread_rwlock_t rawrw = PTHREAD_RWLOCK_INITIALIZER;
static SK_UNUSED pthread_mutex_t rawmtx = PTHREAD_MUTEX_INITIALIZER;
#ifdef SK_BENCH_HAVE_URCU
static CDS_LIST_HEAD(cdshead);
#endif

NT static void build(void)
{

	if (st.built)
		return;
	st.built = 1;
	sk_locked_list_init(&sklist);
	raw_init_list_head(&rawhead);
	sk_mutex_lock(&sklist.lock);
	for (int i = 0; i < N_WALK; i++) {
		entries[i].value = i;
		sk_locked_list_add_tail(&entries[i].sk, &sklist);
		raw_list_add_tail(&entries[i].raw, &rawhead);
#ifdef SK_BENCH_HAVE_URCU
		cds_list_add_tail_rcu(&entries[i].cds, &cdshead);
#endif
	}
	sk_mutex_unlock(&sklist.lock);
}

static void *setup(const struct sk_bench_case *c)
{
	(void)c;
	build();
	__atomic_store_n(&st.stop, 0, __ATOMIC_RELAXED);
#ifdef SK_DEBUG
	if (!sk_lockdep_enable()) {
		sk_mutex_lock(&sklist.lock); /* warm the validator */
		sk_mutex_unlock(&sklist.lock);
	}
#else
	(void)sk_lockdep_disable();
#endif
	return &st;
}

static void teardown(void *state)
{
	(void)state;
#ifdef SK_DEBUG
	(void)sk_lockdep_disable();
#endif
}

static bool stopped(void)
{
	return __atomic_load_n(&st.stop, __ATOMIC_RELAXED);
}

static void stop_writer(void)
{
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELAXED);
}

/*
 * The writer's pace: one update every WRITER_GAP_NS, busy-waiting between
 * (outside any lock), so the writer neither sleeps nor monopolises the
 * lock: about one update per walk of the readers.
 */
#define WRITER_GAP_NS 2000

static SK_UNUSED void writer_pause(void)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < WRITER_GAP_NS &&
		 !stopped());
}

/* ------------------------------------------------------------------------
 * The walks (the reader's side of both walk groups)
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static long walk_raw_rwlock(void)
{
	struct cl_entry *pos;
	long sum = 0;

	pthread_rwlock_rdlock(&rawrw);
	raw_list_for_each_entry(pos, &rawhead, raw)
		sum += pos->value;
	pthread_rwlock_unlock(&rawrw);
	return sum;
}

static long walk_raw_mutex(void)
{
	struct cl_entry *pos;
	long sum = 0;

	pthread_mutex_lock(&rawmtx);
	raw_list_for_each_entry(pos, &rawhead, raw)
		sum += pos->value;
	pthread_mutex_unlock(&rawmtx);
	return sum;
}

#ifdef SK_BENCH_HAVE_URCU
static long walk_cds_rcu(void)
{
	struct cl_entry *pos;
	long sum = 0;

	rcu_read_lock();
	/* liburcu's container_of casts from char * (-Wcast-align in clang) */
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wcast-align\"")
	cds_list_for_each_entry_rcu(pos, &cdshead, cds)
		sum += pos->value;
	_Pragma("GCC diagnostic pop")
	rcu_read_unlock();
	return sum;
}
#endif
#endif /* !SK_DEBUG */

#ifdef SK_BENCH_HAVE_URCU
static long walk_sk_rcu(void)
{
	struct cl_entry *pos;
	long sum = 0;

	sk_rcu_read_lock();
	sk_locked_list_for_each_entry_rcu(pos, &sklist, sk)
		sum += pos->value;
	sk_rcu_read_unlock();
	return sum;
}
#endif

static long walk_sk_locked(void) SK_EXCLUDES(sklist.lock);
static long walk_sk_locked(void)
{
	struct cl_entry *pos;
	long sum = 0;

	sk_mutex_lock(&sklist.lock);
	sk_locked_list_for_each_entry(pos, &sklist, sk)
		sum += pos->value;
	sk_mutex_unlock(&sklist.lock);
	return sum;
}

/* The reader threads of the RCU cases register with liburcu for the sample. */
static void no_hook(void)
{
}

#ifdef SK_BENCH_HAVE_URCU
#define RCU_ENTER rcu_register_thread
#define RCU_EXIT rcu_unregister_thread
#endif

#define WALK_RUN(fn, enter, exit_)                                            \
	static void run_walk_##fn(struct sk_bench_thread *t)                  \
	{                                                                     \
		long sum = 0;                                                 \
		enter();                                                      \
		for (uint64_t i = 0; i < t->iters; i++)                       \
			sum += fn();                                          \
		exit_();                                                      \
		t->sink = (uint64_t)sum;                                      \
	}

#ifndef SK_DEBUG
WALK_RUN(walk_raw_rwlock, no_hook, no_hook)
WALK_RUN(walk_raw_mutex, no_hook, no_hook)
SK_BENCH_CASE(cl_walk_rwlock, .group = "conclist.walk", .name = "raw, pthread rwlock (read)",
	      .baseline = true, .callgrind_iters = 2000, .setup = setup, .teardown = teardown,
	      .run = run_walk_walk_raw_rwlock)
SK_BENCH_CASE(cl_walk_mutex, .group = "conclist.walk", .name = "raw, pthread mutex",
	      .callgrind_iters = 2000, .setup = setup, .teardown = teardown,
	      .run = run_walk_walk_raw_mutex)
#ifdef SK_BENCH_HAVE_URCU
WALK_RUN(walk_cds_rcu, RCU_ENTER, RCU_EXIT)
SK_BENCH_CASE(cl_walk_cds, .group = "conclist.walk", .name = "cds_list rcu (liburcu)",
	      .callgrind_iters = 2000, .setup = setup, .teardown = teardown,
	      .run = run_walk_walk_cds_rcu)
#endif
#endif /* !SK_DEBUG */

#ifdef SK_BENCH_HAVE_URCU
WALK_RUN(walk_sk_rcu, RCU_ENTER, RCU_EXIT)
SK_BENCH_CASE(cl_walk_sk_rcu, .group = "conclist.walk", .name = "sk rculist " SK_BENCH_LEVEL,
	      .callgrind_iters = 2000, .setup = setup, .teardown = teardown,
	      .run = run_walk_walk_sk_rcu)
#endif
WALK_RUN(walk_sk_locked, no_hook, no_hook)
SK_BENCH_CASE(cl_walk_sk_locked, .group = "conclist.walk",
	      .name = "sk locked_list (mutex) " SK_BENCH_LEVEL, .callgrind_iters = 2000,
	      .setup = setup, .teardown = teardown, .run = run_walk_walk_sk_locked)

/* ------------------------------------------------------------------------
 * Walks with a concurrent writer
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG
static void writer_raw_rwlock(void)
{
	while (!stopped()) {
		pthread_rwlock_wrlock(&rawrw);
		raw_list_add(&spare.raw, &rawhead);
		pthread_rwlock_unlock(&rawrw);
		pthread_rwlock_wrlock(&rawrw);
		raw_list_del(&spare.raw);
		pthread_rwlock_unlock(&rawrw);
		writer_pause();
	}
}

static void writer_raw_mutex(void)
{
	while (!stopped()) {
		pthread_mutex_lock(&rawmtx);
		raw_list_add(&spare.raw, &rawhead);
		pthread_mutex_unlock(&rawmtx);
		pthread_mutex_lock(&rawmtx);
		raw_list_del(&spare.raw);
		pthread_mutex_unlock(&rawmtx);
		writer_pause();
	}
}
#endif

#ifdef SK_BENCH_HAVE_URCU
/* Add a fresh entry, delete the one added before, free it after a grace period. */
static void writer_sk_rcu(void) SK_EXCLUDES(sklist.lock);
static void writer_sk_rcu(void)
{
	struct cl_entry *prev = NULL, *e;

	rcu_register_thread();
	while (!stopped()) {
		e = sk_kzalloc(sizeof(*e));
		if (!e)
			break;
		e->value = -1;
		sk_mutex_lock(&sklist.lock);
		sk_locked_list_add_rcu(&e->sk, &sklist);
		if (prev)
			sk_locked_list_del_rcu(&prev->sk, &sklist);
		sk_mutex_unlock(&sklist.lock);
		sk_kfree_rcu(prev, rcu);
		prev = e;
		writer_pause();
	}
	if (prev) {
		sk_mutex_lock(&sklist.lock);
		sk_locked_list_del_rcu(&prev->sk, &sklist);
		sk_mutex_unlock(&sklist.lock);
		sk_kfree_rcu(prev, rcu);
	}
	rcu_unregister_thread();
}

static void teardown_rcu(void *state)
{
	sk_rcu_barrier(); /* every entry the writer retired is freed */
	teardown(state);
}
#endif

/* Thread 0 reads (its walks are the operations), thread 1 writes until it is done. */
#define WALK_WRITER_RUN(rd, wr, enter, exit_)                                 \
	static void run_ww_##rd(struct sk_bench_thread *t)                    \
	{                                                                     \
		long sum = 0;                                                 \
		if (t->id == 1) {                                             \
			wr();                                                 \
			return;                                               \
		}                                                             \
		enter();                                                      \
		for (uint64_t i = 0; i < t->iters; i++)                       \
			sum += rd();                                          \
		exit_();                                                      \
		stop_writer();                                                \
		t->sink = (uint64_t)sum;                                      \
	}

#ifndef SK_DEBUG
WALK_WRITER_RUN(walk_raw_rwlock, writer_raw_rwlock, no_hook, no_hook)
WALK_WRITER_RUN(walk_raw_mutex, writer_raw_mutex, no_hook, no_hook)
/* The baseline is the faster raw case, the mutex: glibc's default rwlock
 * favours readers and its writer sleeps (the rwlock was the baseline until
 * 2026-11-26, which made every ratio look 10x better; docs/rculist.md). */
SK_BENCH_CASE(cl_ww_rwlock, .group = "conclist.walk_writer", .name = "raw, pthread rwlock",
	      .threads = 2, .ops_per_iter = 1, .setup = setup, .teardown = teardown,
	      .run = run_ww_walk_raw_rwlock)
SK_BENCH_CASE(cl_ww_mutex, .group = "conclist.walk_writer", .name = "raw, pthread mutex",
	      .baseline = true, .threads = 2, .ops_per_iter = 1, .setup = setup,
	      .teardown = teardown, .run = run_ww_walk_raw_mutex)
#endif
#ifdef SK_BENCH_HAVE_URCU
WALK_WRITER_RUN(walk_sk_rcu, writer_sk_rcu, RCU_ENTER, RCU_EXIT)
SK_BENCH_CASE(cl_ww_sk_rcu, .group = "conclist.walk_writer",
	      .name = "sk rculist " SK_BENCH_LEVEL " (writer: locked_list _rcu + kfree_rcu)",
	      .threads = 2, .ops_per_iter = 1, .setup = setup, .teardown = teardown_rcu,
	      .run = run_ww_walk_sk_rcu)
#endif

/* ------------------------------------------------------------------------
 * add + del, each in its own critical section
 * ------------------------------------------------------------------------ */

static struct sk_locked_list adl;
static struct cl_entry ad_entry, ad_resident[2];
static struct raw_list_head ad_rawhead;
static SK_UNUSED pthread_mutex_t ad_rawmtx = PTHREAD_MUTEX_INITIALIZER;

NT static void *setup_add_del(const struct sk_bench_case *c)
{
	static int done;

	if (!done) {
		done = 1;
		sk_locked_list_init(&adl);
		raw_init_list_head(&ad_rawhead);
		sk_mutex_lock(&adl.lock);
		for (int i = 0; i < 2; i++) {
			sk_locked_list_add_tail(&ad_resident[i].sk, &adl);
			raw_list_add_tail(&ad_resident[i].raw, &ad_rawhead);
		}
		sk_mutex_unlock(&adl.lock);
	}
	return setup(c);
}

#ifndef SK_DEBUG
static void run_add_del_raw(struct sk_bench_thread *t)
{
	struct raw_list_head *head = &ad_rawhead, *node = &ad_entry.raw;
	pthread_mutex_t *m = &ad_rawmtx;

	sk_bench_opaque(head);
	sk_bench_opaque(node);
	for (uint64_t i = 0; i < t->iters; i++) {
		pthread_mutex_lock(m);
		raw_list_add(node, head);
		pthread_mutex_unlock(m);
		sk_bench_clobber();
		pthread_mutex_lock(m);
		raw_list_del(node);
		pthread_mutex_unlock(m);
		sk_bench_clobber();
	}
	t->sink = (uintptr_t)head->next;
}
SK_BENCH_CASE(cl_add_del_raw, .group = "conclist.add_del", .name = "raw list, pthread mutex",
	      .baseline = true, .setup = setup_add_del, .teardown = teardown,
	      .run = run_add_del_raw)
#endif

NT static void run_add_del_sk(struct sk_bench_thread *t)
{
	struct sk_locked_list *l = &adl;
	struct sk_list_head *node = &ad_entry.sk;

	sk_bench_opaque(l);
	sk_bench_opaque(node);
	for (uint64_t i = 0; i < t->iters; i++) {
		sk_mutex_lock(&l->lock);
		sk_locked_list_add(node, l);
		sk_mutex_unlock(&l->lock);
		sk_bench_clobber();
		sk_mutex_lock(&l->lock);
		sk_locked_list_del(node, l);
		sk_mutex_unlock(&l->lock);
		sk_bench_clobber();
	}
	t->sink = (uintptr_t)l->head_.next;
}
SK_BENCH_CASE(cl_add_del_sk, .group = "conclist.add_del", .name = "sk_locked_list " SK_BENCH_LEVEL,
	      .setup = setup_add_del, .teardown = teardown, .run = run_add_del_sk)
