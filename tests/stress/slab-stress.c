/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/slab-stress.c - object caches under concurrent use:
 *
 *   phase 1: 4 threads allocate batches of 1..64 objects, check them, hand
 *            some to each other through a locked pool and free the rest
 *            and what they take from the pool (cross-thread frees), while
 *            a reader polls the statistics (monotonic, bounded);
 *   phase 2: 70 threads alive at once (more than the 64 per-thread shards,
 *            so some share the overflow shard), each holding an object
 *            across a barrier;
 *   phase 3: one thread makes a known peak.
 *
 * Every object carries a "held" word that its holder swaps in after the
 * allocation and out before the free: an object handed to two holders at
 * once (or freed twice) is caught when the second swap finds the word
 * already held (or not held).
 *
 * After each phase the statistics must be exact: allocations as counted
 * by the threads, as many frees, nothing live; for a hardened cache, the
 * free objects it holds in magazines stay within the documented bound,
 * and once the threads have exited (handing their magazines to the
 * depot) sk_kmem_cache_shrink() from the main thread gets every one back.
 *
 * A plain program so that TSan can run it.  helgrind and drd run the
 * debug build: there the phases run twice, on a debug cache (the unit is
 * built with -DSK_DEBUG) and on a hardened cache created through the
 * internal entry point, so that the tools see the magazines too.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/slab.h>

#include "../sk-test.h"

#define THREADS 4
#define BATCH 64
#define POOL (THREADS * BATCH)
#define MANY 70

struct obj {
	uint64_t owner;
	uint64_t seq;
	uint64_t held; /* HELD from the allocation to the free */
	char pad[40];
};

#define HELD 0x48454c4448454c44ull

/* Just allocated: nobody else may hold @o. */
static struct obj *got(struct obj *o)
{
	sk_check(o, "allocation failed");
	/* A fresh object's word is whatever was there: read on purpose. */
	SK_TEST_MAKE_DEFINED(&o->held, sizeof(o->held));
	sk_check(__atomic_exchange_n(&o->held, HELD, __ATOMIC_RELAXED) != HELD,
		 "object %p handed out while another holder has it", (void *)o);
	return o;
}

/* About to be freed: this holder must have it. */
static struct obj *letgo(struct obj *o)
{
	sk_check(__atomic_exchange_n(&o->held, 0, __ATOMIC_RELAXED) == HELD,
		 "object %p freed by a thread that does not hold it", (void *)o);
	return o;
}

static struct sk_kmem_cache *cache;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct obj *pool[POOL];
static size_t npool;

static int stop;
static uint64_t rounds;

struct worker {
	pthread_t tid;
	unsigned int id;
	uint64_t allocs;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct obj *mine[BATCH], *taken[BATCH];

	for (uint64_t r = 0; r < rounds; r++) {
		size_t k = 1 + (size_t)((r * 7 + w->id) % BATCH), give = k / 2, ntaken = 0;

		for (size_t i = 0; i < k; i++) {
			mine[i] = got(sk_kmem_cache_alloc(cache));
			sk_check((uintptr_t)mine[i] % sk_kmem_cache_align(cache) == 0, "alignment");
			mine[i]->owner = w->id;
			mine[i]->seq = r * BATCH + i;
		}
		w->allocs += k;
		for (size_t i = 0; i < k; i++)
			sk_check(mine[i]->owner == w->id && mine[i]->seq == r * BATCH + i,
				 "object %zu of thread %u overwritten", i, w->id);

		pthread_mutex_lock(&pool_lock);
		while (ntaken < give && npool)
			taken[ntaken++] = pool[--npool];
		for (size_t i = 0; i < give && npool < POOL; i++)
			pool[npool++] = mine[--k];
		pthread_mutex_unlock(&pool_lock);

		for (size_t i = 0; i < k; i++)
			sk_kmem_cache_free(cache, letgo(mine[i]));
		for (size_t i = 0; i < ntaken; i++) {
			sk_check(taken[i]->owner < THREADS, "pooled object overwritten");
			sk_kmem_cache_free(cache, letgo(taken[i]));
		}
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned long last_allocs = 0, last_frees = 0, reads = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct sk_kmem_cache_stats st;

		sk_kmem_cache_stats(cache, &st);
		sk_check(st.allocs >= last_allocs && st.frees >= last_frees,
			 "counters went back: %lu/%lu after %lu/%lu", st.allocs, st.frees,
			 last_allocs, last_frees);
		sk_check(st.live <= POOL + THREADS * BATCH, "live %lu", st.live);
		/* (peak >= live always holds: the snapshot raises the peak to
		 * the live count it returns; only the upper bound can fail.) */
		sk_check(st.peak <= POOL + THREADS * BATCH, "peak %lu live %lu", st.peak, st.live);
		last_allocs = st.allocs;
		last_frees = st.frees;
		reads++;
	}
	return (void *)(uintptr_t)reads;
}

/* slab.h: magazines of 128 objects (up to 64 bytes), a depot of 16. */
#define MAG_ROUNDS 128
#define DEPOT_MAGS 16

static bool hardened(void)
{
	return !(sk_kmem_cache_flags(cache) & SK_SLAB_DEBUG);
}

static void expect_exact(const char *phase, uint64_t allocs)
{
	struct sk_kmem_cache_stats st;

	sk_kmem_cache_stats(cache, &st);
	sk_check(st.allocs == allocs && st.frees == allocs && st.live == 0,
		 "%s: allocs %lu frees %lu live %lu, expected %lu allocs and frees, none live", phase,
		 st.allocs, st.frees, st.live, (unsigned long)allocs);
	if (!hardened())
		return;
	/* The workers are gone: the depot, and this thread's two magazines. */
	sk_check(st.quarantined <= (DEPOT_MAGS + 2) * MAG_ROUNDS, "%s: %lu objects cached", phase,
		 st.quarantined);
	sk_check(sk_kmem_cache_shrink(cache) == st.quarantined, "%s: shrink", phase);
	sk_kmem_cache_stats(cache, &st);
	sk_check(st.quarantined == 0, "%s: %lu objects cached after shrink", phase,
		 st.quarantined);
}

static pthread_barrier_t barrier;

static void *holder(void *arg)
{
	struct obj *o = sk_kmem_cache_zalloc(cache);

	(void)arg;
	sk_check(o && o->owner == 0 && o->held == 0, "zalloc");
	got(o);
	for (int i = 0; i < 20; i++)
		sk_kmem_cache_free(cache, letgo(got(sk_kmem_cache_alloc(cache))));
	pthread_barrier_wait(&barrier); /* all MANY threads hold an object now */
	sk_kmem_cache_free(cache, letgo(o));
	return NULL;
}

static uint64_t run_phases(void)
{
	struct worker w[THREADS];
	pthread_t rd, many[MANY];
	uint64_t total = 0;
	struct obj *peak_objs[500];
	struct sk_kmem_cache_stats st;
	uintptr_t reads;
	const char *level;

	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	/* Phase 1: batches, cross-thread frees, a concurrent reader. */
	pthread_create(&rd, NULL, reader, NULL);
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		pthread_create(&w[i].tid, NULL, worker, &w[i]);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].allocs;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(rd, (void **)&reads);
	for (size_t i = 0; i < npool; i++)
		sk_kmem_cache_free(cache, letgo(pool[i]));
	npool = 0;
	expect_exact("phase 1", total);

	/* Phase 2: more threads than shards, all alive at once. */
	pthread_barrier_init(&barrier, NULL, MANY);
	for (int i = 0; i < MANY; i++)
		sk_check(pthread_create(&many[i], NULL, holder, NULL) == 0, "pthread_create");
	for (int i = 0; i < MANY; i++)
		pthread_join(many[i], NULL);
	pthread_barrier_destroy(&barrier);
	total += MANY * 21;
	expect_exact("phase 2", total);
	sk_kmem_cache_stats(cache, &st);
	sk_check(st.peak >= 1 && st.peak <= POOL + THREADS * BATCH + MANY, "peak %lu", st.peak);

	/* Phase 3: one thread, a known new peak. */
	for (int i = 0; i < 500; i++)
		peak_objs[i] = got(sk_kmem_cache_alloc(cache));
	for (int i = 0; i < 500; i++)
		sk_kmem_cache_free(cache, letgo(peak_objs[i]));
	total += 500;
	expect_exact("phase 3", total);
	sk_kmem_cache_stats(cache, &st);
	sk_check(st.peak >= 500, "peak %lu below the 500 one thread held", st.peak);

	level = hardened() ? "hardened" : "debug";
	sk_check(sk_kmem_cache_destroy(cache) == 0, "destroy");
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("slab-stress: %llu objects (%s cache), %lu stats reads, exact\n",
	       (unsigned long long)total, level, (unsigned long)reads);
	return total;
}

int main(void)
{
	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	rounds = sk_test_iters(3000, 40);
	cache = sk_kmem_cache_create("stress", sizeof(struct obj), 0, SK_SLAB_HWCACHE_ALIGN, NULL);
	sk_check(cache, "create");
	run_phases();
#ifdef SK_DEBUG
	/* A hardened cache in the debug build too: the macro would add SK_SLAB_DEBUG. */
	cache = sk__kmem_cache_create("stress", sizeof(struct obj), 0, SK_SLAB_HWCACHE_ALIGN, NULL,
				      SK_CALLSITE);
	sk_check(cache, "create");
	if (!getenv("SAFEKERN_SLAB_DEBUG"))
		sk_check(hardened(), "not a hardened cache");
	run_phases();
#endif
	return 0;
}
