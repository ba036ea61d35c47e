/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/locked_list-stress.c - struct sk_locked_list shared by two
 * writer threads, serialised by its mutex (the point of the container),
 * adding, deleting, replacing and moving entries with the _rcu writers
 * and freeing through sk_call_rcu_free(), while two RCU readers walk it
 * without the lock and, now and then, under the lock.
 *
 * Then a second phase without RCU readers (moves are not RCU-safe: a
 * reader on a moved entry can be carried back to the head or into a
 * loop): the writers add and delete with the plain writers, free at once,
 * touch entries with sk_locked_list_move()/_move_tail() and delete from
 * inside sk_locked_list_for_each_entry_safe(), while two threads walk the
 * list under the lock.
 *
 * Checked: every entry an RCU reader reaches is live and whole (its magic
 * is LIVE: the free function writes DEAD before freeing; under ASan any
 * read of a freed entry is a use after free), a walk under the lock sees
 * exactly sk_locked_list_len() entries, a moved entry is then first (or
 * last) and the count did not change, a del_init'ed entry is empty, and
 * after each phase the list holds exactly the entries the writers hold,
 * each once (by identity, not only by count); at the end every entry was
 * freed exactly once and nothing was reported.  Bounded by a number of
 * writer steps.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <urcu.h>

#include <safekern/alloc.h>
#include <safekern/rculist.h>

#include "../sk-test.h"

#define WRITERS 2
#define READERS 2
#define MAX_LIVE 32 /* per writer */

#define MAGIC_LIVE 0x4c4956454c495645ull
#define MAGIC_DEAD 0xdeaddeaddeaddeadull

struct item {
	uint64_t magic;
	unsigned int owner;
	unsigned int seen; /* the final walk's mark (under the lock) */
	struct sk_list_head node;
	struct sk_rcu_head rcu;
};

static struct sk_locked_list list;
static int stop;
static unsigned long freed;
static uint64_t walks[READERS], locked_walks[READERS];
/*
 * Walks per reader and phase: unbounded natively (they run until the
 * writers are done); bounded under Valgrind, which runs one thread at a
 * time and let a reader take millions of walks (minutes under drd).
 */
static uint64_t max_walks = UINT64_MAX;

struct writer {
	unsigned int id;
	uint64_t ops;
	void (*step)(struct writer *w, uint64_t *s); /* this phase's step */
	uint64_t seed;
	struct item *live[MAX_LIVE];
	unsigned int nlive;
	unsigned long allocated, queued;
};

static struct writer writers[WRITERS];

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void free_fn(void *obj)
{
	struct item *it = obj;

	__atomic_store_n(&it->magic, MAGIC_DEAD, __ATOMIC_RELAXED);
	sk_kfree(it);
	__atomic_fetch_add(&freed, 1, __ATOMIC_RELAXED);
}

static struct item *new_item(struct writer *w)
{
	struct item *it = sk_kzalloc(sizeof(*it));

	sk_check(it, "allocation failed");
	it->magic = MAGIC_LIVE;
	it->owner = w->id;
	w->allocated++;
	return it;
}

static void retire(struct writer *w, struct item *it)
{
	sk_call_rcu_free(it, rcu, free_fn);
	w->queued++;
}

/* A walk under the lock: the count and the walk agree. */
static void locked_walk(void) SK_EXCLUDES(list.lock);
static void locked_walk(void)
{
	struct item *pos;
	size_t n = 0, len;

	sk_mutex_lock(&list.lock);
	sk_locked_list_for_each_entry(pos, &list, node) {
		sk_check(pos->magic == MAGIC_LIVE, "locked walk: entry %p not live", (void *)pos);
		n++;
	}
	len = sk_locked_list_len(&list);
	sk_mutex_unlock(&list.lock);
	sk_check(n == len, "locked walk saw %zu entries, count says %zu", n, len);
}

static void *reader_main(void *arg)
{
	unsigned long id = (unsigned long)(uintptr_t)arg;
	uint64_t n = 0, nl = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && n < max_walks) {
		struct item *pos;
		size_t steps = 0;

		sk_rcu_read_lock();
		sk_locked_list_for_each_entry_rcu(pos, &list, node) {
			uint64_t magic = pos->magic;

			sk_check(magic == MAGIC_LIVE, "reader reached entry %p with magic %#llx",
				 (void *)pos, (unsigned long long)magic);
			sk_check(pos->owner < WRITERS, "entry %p: owner %u", (void *)pos, pos->owner);
			/* bound: every entry live at some point during the walk */
			sk_check(++steps <= 100000, "RCU walk does not end: a cycle?");
			if ((steps & 7) == 0)
				sched_yield();
		}
		sk_rcu_read_unlock();
		if ((++n & 15) == 0) {
			locked_walk();
			nl++;
		}
	}
	rcu_unregister_thread();
	walks[id] = n;
	locked_walks[id] = nl;
	return NULL;
}

static void writer_step(struct writer *w, uint64_t *s)
{
	unsigned int r = (unsigned int)(rng(s) % 16), k;
	struct item *nw = NULL, *old = NULL;

	/* Allocate outside the lock, as a daemon would. */
	if (w->nlive < 2 || (r < 7 && w->nlive < MAX_LIVE) || (r >= 12 && r < 14))
		nw = new_item(w);
	sk_mutex_lock(&list.lock);
	if (nw && (w->nlive < 2 || r < 12)) {
		if (r & 1)
			sk_locked_list_add_rcu(&nw->node, &list);
		else
			sk_locked_list_add_tail_rcu(&nw->node, &list);
		w->live[w->nlive++] = nw;
		nw = NULL;
	} else if (r < 12) {
		k = (unsigned int)(rng(s) % w->nlive);
		old = w->live[k];
		w->live[k] = w->live[--w->nlive];
		sk_locked_list_del_rcu(&old->node, &list);
	} else if (nw) {
		k = (unsigned int)(rng(s) % w->nlive);
		old = w->live[k];
		sk_locked_list_replace_rcu(&old->node, &nw->node, &list);
		w->live[k] = nw;
		nw = NULL;
	} else {
		/* The count covers at least this writer's entries. */
		sk_check(sk_locked_list_len(&list) >= w->nlive, "count below %u", w->nlive);
	}
	sk_check(!nw, "writer: unused new entry");
	sk_mutex_unlock(&list.lock);
	if (old)
		retire(w, old);
}

/* Either phase: w->ops steps of w->step. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t s = w->seed;

	rcu_register_thread();
	for (uint64_t i = 0; i < w->ops; i++)
		w->step(w, &s);
	rcu_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------------------
 * Phase 2: no RCU readers; moves, plain writers, deletes from a safe walk
 * ------------------------------------------------------------------------ */

static uint64_t moves, safe_deletes;

/* Frees at once: nothing walks the list without the lock in phase 2. */
static void free_now(struct writer *w, struct item *it)
{
	free_fn(it);
	w->queued++;
}

static unsigned int live_index(const struct writer *w, const struct item *it)
{
	for (unsigned int k = 0; k < w->nlive; k++)
		if (w->live[k] == it)
			return k;
	return w->nlive;
}

static void writer_step2(struct writer *w, uint64_t *s)
{
	unsigned int r = (unsigned int)(rng(s) % 16), k;
	struct item *nw = NULL, *old = NULL;
	size_t len;

	if (w->nlive < 2 || (r < 5 && w->nlive < MAX_LIVE))
		nw = new_item(w);
	sk_mutex_lock(&list.lock);
	len = sk_locked_list_len(&list);
	if (nw) {
		struct sk_list_head *h = sk_locked_list_head(&list);

		if (r & 1) {
			sk_locked_list_add(&nw->node, &list);
			sk_check(h->next == &nw->node, "added entry is not first");
		} else {
			sk_locked_list_add_tail(&nw->node, &list);
			sk_check(h->prev == &nw->node, "added entry is not last");
		}
		sk_check(sk_locked_list_len(&list) == len + 1, "add: count %zu after %zu",
			 sk_locked_list_len(&list), len);
		w->live[w->nlive++] = nw;
	} else if (r < 8) {
		k = (unsigned int)(rng(s) % w->nlive);
		old = w->live[k];
		w->live[k] = w->live[--w->nlive];
		if (r & 1) {
			sk_locked_list_del_init(&old->node, &list);
			sk_check(sk_list_empty(&old->node), "del_init left the entry linked");
		} else {
			sk_locked_list_del(&old->node, &list);
		}
		sk_check(sk_locked_list_len(&list) == len - 1, "del: count %zu after %zu",
			 sk_locked_list_len(&list), len);
	} else if (r < 14) {
		struct sk_list_head *h = sk_locked_list_head(&list);
		struct item *it = w->live[rng(s) % w->nlive];

		/* An LRU touch: to the back, or to the front. */
		if (r & 1) {
			sk_locked_list_move_tail(&it->node, &list);
			sk_check(h->prev == &it->node, "moved entry is not last");
		} else {
			sk_locked_list_move(&it->node, &list);
			sk_check(h->next == &it->node, "moved entry is not first");
		}
		sk_check(sk_locked_list_len(&list) == len, "move changed the count: %zu -> %zu", len,
			 sk_locked_list_len(&list));
		moves++;
	} else {
		/* Delete this writer's entries met in a safe walk, one in four. */
		struct item *pos, *n;
		size_t seen = 0, gone = 0;

		sk_locked_list_for_each_entry_safe(pos, n, &list, node) {
			sk_check(pos->magic == MAGIC_LIVE, "safe walk: entry %p not live", (void *)pos);
			seen++;
			k = live_index(w, pos);
			if (pos->owner == w->id && k < w->nlive && w->nlive > 2 && (rng(s) & 3) == 0) {
				w->live[k] = w->live[--w->nlive];
				sk_locked_list_del(&pos->node, &list);
				free_now(w, pos);
				gone++;
			}
		}
		sk_check(seen == len, "safe walk saw %zu entries, count was %zu", seen, len);
		sk_check(sk_locked_list_len(&list) == len - gone, "safe walk: count %zu, expected %zu",
			 sk_locked_list_len(&list), len - gone);
		safe_deletes += gone;
	}
	sk_mutex_unlock(&list.lock);
	if (old)
		free_now(w, old);
}

static void *locked_walker_main(void *arg)
{
	unsigned long id = (unsigned long)(uintptr_t)arg;
	uint64_t n = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && n < max_walks) {
		locked_walk();
		n++;
		sched_yield(); /* leave the lock to the writers */
	}
	locked_walks[id] += n;
	return NULL;
}

/* The count is what the writers hold, and the list holds each of their entries once. */
static void check_identity(const char *when) SK_MUST_HOLD(list.lock);
static void check_identity(const char *when)
{
	struct item *pos;
	size_t held = 0, n = 0, len = sk_locked_list_len(&list);

	for (unsigned int i = 0; i < WRITERS; i++)
		held += writers[i].nlive;
	sk_check(len == held, "%s: count %zu, writers hold %zu", when, len, held);
	sk_locked_list_for_each_entry(pos, &list, node) {
		sk_check(pos->magic == MAGIC_LIVE && !pos->seen,
			 "%s: entry %p on the list twice, or not live", when, (void *)pos);
		pos->seen = 1;
		n++;
	}
	sk_check(n == held, "%s: the walk saw %zu entries, writers hold %zu", when, n, held);
	for (unsigned int i = 0; i < WRITERS; i++)
		for (unsigned int k = 0; k < writers[i].nlive; k++) {
			sk_check(writers[i].live[k]->seen, "%s: writer %u's entry %u not on the list",
				 when, i, k);
			writers[i].live[k]->seen = 0;
		}
}

int main(void)
{
	pthread_t rt[READERS], wt[WRITERS];
	unsigned long allocated = 0, queued = 0;
	uint64_t total_walks = 0, total_locked = 0;

	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	if (sk_test_under_valgrind())
		max_walks = 3000;
	rcu_register_thread();
	sk_locked_list_init(&list);
	for (unsigned int i = 0; i < WRITERS; i++) {
		writers[i].id = i;
		writers[i].ops = sk_test_under_valgrind() ? 1500 : sk_test_iters(100000, 1000);
		writers[i].step = writer_step;
		writers[i].seed = 0x9e3779b9u + i * 7919u;
	}
	for (unsigned long i = 0; i < READERS; i++)
		sk_check(!pthread_create(&rt[i], NULL, reader_main, (void *)(uintptr_t)i),
			 "pthread_create");
	for (unsigned int i = 0; i < WRITERS; i++)
		sk_check(!pthread_create(&wt[i], NULL, writer_main, &writers[i]), "pthread_create");
	for (unsigned int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < READERS; i++) {
		pthread_join(rt[i], NULL);
		total_walks += walks[i];
		total_locked += locked_walks[i];
	}

	sk_mutex_lock(&list.lock);
	check_identity("after phase 1");
	sk_mutex_unlock(&list.lock);

	/* Phase 2: the RCU readers are gone; walkers take the lock. */
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < WRITERS; i++) {
		writers[i].step = writer_step2;
		writers[i].seed = 0x7f4a7c15u + i * 104729u;
	}
	for (unsigned long i = 0; i < READERS; i++)
		sk_check(!pthread_create(&rt[i], NULL, locked_walker_main, (void *)(uintptr_t)i),
			 "pthread_create");
	for (unsigned int i = 0; i < WRITERS; i++)
		sk_check(!pthread_create(&wt[i], NULL, writer_main, &writers[i]), "pthread_create");
	for (unsigned int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	total_locked = 0;
	for (unsigned int i = 0; i < READERS; i++)
		total_locked += locked_walks[i];

	sk_mutex_lock(&list.lock);
	check_identity("after phase 2");
	for (unsigned int i = 0; i < WRITERS; i++) {
		struct writer *w = &writers[i];

		while (w->nlive) {
			struct item *it = w->live[--w->nlive];

			sk_locked_list_del_rcu(&it->node, &list);
			sk_call_rcu_free(it, rcu, free_fn);
			w->queued++;
		}
	}
	sk_check(sk_locked_list_empty(&list) && sk_locked_list_len(&list) == 0,
		 "list not empty after taking everything down");
	sk_mutex_unlock(&list.lock);
	sk_rcu_barrier();
	for (unsigned int i = 0; i < WRITERS; i++) {
		allocated += writers[i].allocated;
		queued += writers[i].queued;
	}
	sk_check(queued == allocated, "%lu allocated, %lu queued for freeing", allocated, queued);
	sk_check(freed == queued, "the free function ran %lu times for %lu queued", freed, queued);
	sk_locked_list_destroy(&list);
	sk_check(sk_violation_total() == 0, "%lu violations reported", sk_violation_total());
	rcu_unregister_thread();
	sk_check(moves > 0 && safe_deletes > 0, "phase 2 made %llu moves, %llu safe-walk deletes",
		 (unsigned long long)moves, (unsigned long long)safe_deletes);
	printf("locked_list-stress: %d writers x %llu ops per phase, %lu entries, %llu RCU walks, "
	       "%llu locked walks, %llu moves, %llu deletes from safe walks\n",
	       WRITERS, (unsigned long long)writers[0].ops, allocated,
	       (unsigned long long)total_walks, (unsigned long long)total_locked,
	       (unsigned long long)moves, (unsigned long long)safe_deletes);
	return 0;
}
