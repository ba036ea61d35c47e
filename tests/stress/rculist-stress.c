/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/rculist-stress.c - RCU readers walking a list and a small
 * hash table of hlists while a writer adds, deletes, replaces and splices
 * entries and frees what it deleted through the three deferred frees
 * (sk_kfree_rcu, sk_kmem_cache_free_rcu, sk_call_rcu_free), for a bounded
 * number of writer operations.
 *
 * Every entry a reader visits must be live and whole: its magic says
 * LIVE (the sk_call_rcu_free path writes DEAD into the entry before it
 * frees it, so a reader that reaches an entry after its grace period sees
 * it even without ASan; with ASan, in tool mode, any read of a freed entry
 * is a use after free), its check word matches its key (written before
 * publication), it sits in the bucket its key names, and a walk ends at
 * the head within the bound on live entries (no cycle, no half-linked
 * entry).  Completeness: one entry per bucket is "stable", never deleted
 * or replaced, and every list walk must see all of them, once each and in
 * order, and every bucket walk its own (RCU's promise for entries that
 * stay on the list for the whole walk).  Exact accounting at the end:
 * every deferred free ran exactly once: the function path counts its
 * calls, the cache's statistics show nothing live, and the sk_kfree_rcu()
 * path, which leaves no count, is checked by memcheck (CI runs this
 * program under it: a callback that does not free leaves the entries
 * definitely lost, which fails the run; seen with such a mutant), and a
 * second free of an entry is a reported double free; nothing was
 * reported.
 *
 * A plain program so that TSan can run it (liburcu's internals suppressed
 * by library in tests/tsan.supp); helgrind and drd run the debug build,
 * whose readers and writer carry the annotations of safekern/rculist.h.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <urcu.h>

#include <safekern/alloc.h>
#include <safekern/lock.h>
#include <safekern/rculist.h>
#include <safekern/slab.h>

#include "../sk-test.h"

#define READERS 2
#define MAX_LIVE 48
#define BUCKETS 4
/*
 * A walk can be extended by entries the writer adds ahead of it, so the
 * bound on its length is the number of entries that were live at some
 * point during the walk: MAX_LIVE and the stable ones, plus at most 3
 * added per writer step.
 * A walk that visits more has visited an entry twice (a cycle).
 */
#define WALK_OK(steps, ops0)                                                  \
	((steps) <= MAX_LIVE + BUCKETS + 3 * (__atomic_load_n(&ops_done, __ATOMIC_RELAXED) - (ops0)) + 1)

#define MAGIC_LIVE 0x4c4956454c495645ull
#define MAGIC_DEAD 0xdeaddeaddeaddeadull
#define GOLD 0x9e3779b97f4a7c15ull

enum how { VIA_KFREE, VIA_CACHE, VIA_FN };

struct item {
	uint64_t magic;
	uint64_t key;
	uint64_t check;
	int from_cache;
	struct sk_list_head node;
	struct sk_hlist_node hnode;
	struct sk_rcu_head rcu;
};

static struct sk_mutex wlock; /* writers serialise */
static SK_LIST_HEAD(list);
static struct sk_hlist_head table[BUCKETS];
static struct sk_kmem_cache *cache;

static int stop;
static uint64_t ops_done; /* writer steps completed */
static uint64_t writer_ops;
static unsigned long fn_freed; /* by the deferred-free function */
static uint64_t reads[READERS];

/* Stable entries, one per bucket: key STABLE_KEY + b lands in bucket b. */
#define STABLE_KEY (UINT64_C(1) << 40)
static struct item stable[BUCKETS];

/* The writer's own bookkeeping (one writer thread). */
static struct item *live[MAX_LIVE];
static unsigned int nlive;
static uint64_t next_seq = 1;
static unsigned long queued[3];
static unsigned long allocated;

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_item(const struct item *it, int bucket)
{
	uint64_t magic = it->magic, key = it->key;

	sk_check(magic == MAGIC_LIVE, "reader reached entry %p with magic %#llx: %s", (void *)it,
		 (unsigned long long)magic,
		 magic == MAGIC_DEAD ? "freed before its grace period ended" : "not initialised");
	sk_check(it->check == (key ^ GOLD), "entry %p: check word %#llx does not match key %llu",
		 (void *)it, (unsigned long long)it->check, (unsigned long long)key);
	sk_check(bucket < 0 || (int)(key % BUCKETS) == bucket,
		 "entry %p with key %llu found in bucket %d", (void *)it, (unsigned long long)key,
		 bucket);
}

static void *reader_main(void *arg)
{
	unsigned long id = (unsigned long)(uintptr_t)arg;
	uint64_t s = 0x12345u + id, n = 0;

	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct item *pos;
		uint64_t ops0 = __atomic_load_n(&ops_done, __ATOMIC_RELAXED), steps = 0;
		int b = (int)(rng(&s) % BUCKETS);
		unsigned int nstable = 0;

		sk_rcu_read_lock();
		sk_list_for_each_entry_rcu(pos, &list, node) {
			check_item(pos, -1);
			sk_check(WALK_OK(++steps, ops0), "list walk too long: an entry seen twice?");
			if (pos->key >= STABLE_KEY) {
				sk_check(pos->key == STABLE_KEY + nstable,
					 "list walk: stable entry %llu seen as the %u-th",
					 (unsigned long long)(pos->key - STABLE_KEY), nstable);
				nstable++;
			}
			if ((steps & 7) == 0)
				sched_yield(); /* stand on an entry while the writer works */
		}
		sk_check(nstable == BUCKETS, "list walk saw %u of %d stable entries", nstable,
			 BUCKETS);
		steps = 0;
		nstable = 0;
		sk_hlist_for_each_entry_rcu(pos, &table[b], hnode) {
			check_item(pos, b);
			sk_check(WALK_OK(++steps, ops0), "hlist walk too long: an entry seen twice?");
			nstable += pos->key >= STABLE_KEY;
		}
		sk_check(nstable == 1, "bucket %d walk saw its stable entry %u times", b, nstable);
		pos = sk_list_first_or_null_rcu(&list, struct item, node);
		if (pos)
			check_item(pos, -1);
		sk_rcu_read_unlock();
		n++;
	}
	rcu_unregister_thread();
	reads[id] = n;
	return NULL;
}

static struct item *new_item(uint64_t *s, int bucket)
{
	struct item *it;
	int from_cache = (int)(rng(s) & 1);

	it = from_cache ? sk_kmem_cache_alloc(cache) : sk_kmalloc(sizeof(*it));
	sk_check(it, "allocation failed");
	it->key = next_seq++ * BUCKETS + (uint64_t)bucket;
	it->check = it->key ^ GOLD;
	it->from_cache = from_cache;
	it->magic = MAGIC_LIVE;
	sk_init_hlist_node(&it->hnode);
	allocated++;
	return it;
}

static void free_fn(void *obj)
{
	struct item *it = obj;

	__atomic_store_n(&it->magic, MAGIC_DEAD, __ATOMIC_RELAXED);
	if (it->from_cache)
		sk_kmem_cache_free(cache, it);
	else
		sk_kfree(it);
	__atomic_fetch_add(&fn_freed, 1, __ATOMIC_RELAXED);
}

/* Free an entry that was unlinked from both lists, by one of the three paths. */
static void retire(struct item *it, uint64_t *s)
{
	enum how how = (enum how)(rng(s) % 3);

	if (how == VIA_FN) {
		sk_call_rcu_free(it, rcu, free_fn);
	} else if (it->from_cache) {
		sk_kmem_cache_free_rcu(cache, it, rcu);
		how = VIA_CACHE;
	} else {
		sk_kfree_rcu(it, rcu);
		how = VIA_KFREE;
	}
	queued[how]++;
}

static void hash_add(struct item *it, uint64_t *s)
{
	struct sk_hlist_head *h = &table[it->key % BUCKETS];
	struct sk_hlist_node *first = h->first;

	switch (rng(s) % 4) {
	case 0:
		sk_hlist_add_head_rcu(&it->hnode, h);
		break;
	case 1:
		sk_hlist_add_tail_rcu(&it->hnode, h);
		break;
	case 2:
		if (first) {
			sk_hlist_add_behind_rcu(&it->hnode, first);
			break;
		}
		sk_hlist_add_head_rcu(&it->hnode, h);
		break;
	default:
		if (first) {
			sk_hlist_add_before_rcu(&it->hnode, first);
			break;
		}
		sk_hlist_add_head_rcu(&it->hnode, h);
		break;
	}
}

static void writer_step(uint64_t *s)
{
	unsigned int r = (unsigned int)(rng(s) % 16);
	struct item *it, *nw;
	unsigned int k;

	sk_mutex_lock(&wlock);
	if (nlive < 4 || (r < 6 && nlive < MAX_LIVE)) {
		it = new_item(s, (int)(rng(s) % BUCKETS));
		if (r & 1)
			sk_list_add_rcu(&it->node, &list);
		else
			sk_list_add_tail_rcu(&it->node, &list);
		hash_add(it, s);
		live[nlive++] = it;
	} else if (r < 12) {
		k = (unsigned int)(rng(s) % nlive);
		it = live[k];
		live[k] = live[--nlive];
		sk_list_del_rcu(&it->node);
		if (r & 1)
			sk_hlist_del_rcu(&it->hnode);
		else
			sk_hlist_del_init_rcu(&it->hnode);
		retire(it, s);
	} else if (r < 15) {
		k = (unsigned int)(rng(s) % nlive);
		it = live[k];
		nw = new_item(s, (int)(it->key % BUCKETS));
		sk_list_replace_rcu(&it->node, &nw->node);
		sk_hlist_replace_rcu(&it->hnode, &nw->hnode);
		live[k] = nw;
		retire(it, s);
	} else if (nlive + 3 <= MAX_LIVE) {
		SK_LIST_HEAD(batch);

		for (int i = 0; i < 3; i++) {
			it = new_item(s, (int)(rng(s) % BUCKETS));
			sk_list_add_tail(&it->node, &batch); /* private: plain adds */
			hash_add(it, s);
			live[nlive++] = it;
		}
		sk_list_splice_tail_init_rcu(&batch, &list, NULL);
	}
	sk_mutex_unlock(&wlock);
}

int main(void)
{
	pthread_t readers[READERS];
	struct sk_kmem_cache_stats st;
	uint64_t s = 0x9e3779b9u, total_reads = 0;

	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	SK_TEST_BENIGN_RACE(&ops_done, sizeof(ops_done));
	rcu_register_thread();
	sk_mutex_init(&wlock);
	for (int b = 0; b < BUCKETS; b++)
		sk_init_hlist_head(&table[b]);
	cache = sk_kmem_cache_create("rculist-stress", sizeof(struct item), 0, 0, NULL);
	sk_check(cache, "cache");
	for (int b = 0; b < BUCKETS; b++) {
		stable[b].key = STABLE_KEY + (uint64_t)b;
		stable[b].check = stable[b].key ^ GOLD;
		stable[b].magic = MAGIC_LIVE;
		sk_init_hlist_node(&stable[b].hnode);
		sk_list_add_tail_rcu(&stable[b].node, &list);
		sk_hlist_add_head_rcu(&stable[b].hnode, &table[b]);
	}
	/* drd and helgrind serialise the threads and liburcu's grace periods
	 * wait on them: a fixed, small count under valgrind keeps the run
	 * within about a minute. */
	writer_ops = sk_test_under_valgrind() ? 1500 : sk_test_iters(400000, 2000);

	for (unsigned long i = 0; i < READERS; i++)
		sk_check(!pthread_create(&readers[i], NULL, reader_main, (void *)(uintptr_t)i),
			 "pthread_create");
	for (uint64_t i = 0; i < writer_ops; i++) {
		writer_step(&s);
		__atomic_store_n(&ops_done, i + 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < READERS; i++) {
		pthread_join(readers[i], NULL);
		total_reads += reads[i];
	}

	/* Take everything down, then wait for every deferred free. */
	sk_mutex_lock(&wlock);
	while (nlive) {
		struct item *it = live[--nlive];

		sk_list_del_rcu(&it->node);
		sk_hlist_del_rcu(&it->hnode);
		retire(it, &s);
	}
	for (int b = 0; b < BUCKETS; b++) {
		sk_list_del_rcu(&stable[b].node);
		sk_hlist_del_rcu(&stable[b].hnode);
	}
	sk_check(sk_list_empty(&list), "list not empty after taking everything down");
	for (int b = 0; b < BUCKETS; b++)
		sk_check(sk_hlist_empty(&table[b]), "bucket %d not empty", b);
	sk_mutex_unlock(&wlock);
	sk_rcu_barrier();

	sk_check(fn_freed == queued[VIA_FN], "the free function ran %lu times for %lu queued",
		 fn_freed, queued[VIA_FN]);
	sk_check(queued[VIA_KFREE] + queued[VIA_CACHE] + queued[VIA_FN] == allocated,
		 "%lu allocated, %lu + %lu + %lu queued for freeing", allocated, queued[VIA_KFREE],
		 queued[VIA_CACHE], queued[VIA_FN]);
	sk_kmem_cache_stats(cache, &st);
	sk_check(st.live == 0, "%lu cache objects still live after the barrier", st.live);
	sk_check(sk_kmem_cache_destroy(cache) == 0, "cache destroy");
	sk_mutex_destroy(&wlock);
	sk_check(sk_violation_total() == 0, "%lu violations reported", sk_violation_total());
	rcu_unregister_thread();
	printf("rculist-stress: %llu writer ops, %lu entries, %llu reader walks, frees: "
	       "%lu kfree_rcu, %lu kmem_cache_free_rcu, %lu call_rcu_free\n",
	       (unsigned long long)writer_ops, allocated, (unsigned long long)total_reads,
	       queued[VIA_KFREE], queued[VIA_CACHE], queued[VIA_FN]);
	return 0;
}
