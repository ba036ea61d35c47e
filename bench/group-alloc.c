/* SPDX-License-Identifier: MIT */
/*
 * bench/group-alloc.c - the "alloc" groups: fixed-size (64-byte) objects,
 *
 *   alloc.pair       an allocation and its free, one after the other
 *   alloc.batch      1,000 allocations, then their 1,000 frees (ns per pair)
 *   alloc.pair.2t    alloc.pair on 2 threads at once (one shared cache)
 *   alloc.batch.2t   alloc.batch on 2 threads at once (one shared cache)
 *
 * through jemalloc's own malloc/free fast path (the baseline: the fastest
 * raw call, about 35 instructions against mallocx's 100), jemalloc's
 * mallocx/sdallocx, glibc's malloc/free, sk_kmalloc/sk_kfree_sized and
 * sk_kmem_cache (hardened, and a debug cache from the -DSK_DEBUG build of
 * this file).  Every object gets one store, as a program would write it.
 */
#include <stdint.h>
#include <stdlib.h>

#include <safekern/alloc.h>
#include <safekern/slab.h>

#include "bench.h"
#include "raw/alloc.h"

#define OBJ 64
#define BATCH 1000

struct alloc_state {
	struct sk_kmem_cache *cache;
	void **slots; /* BATCH per thread */
};

static void *alloc_setup(const struct sk_bench_case *c)
{
	struct alloc_state *s = calloc(1, sizeof(*s));
	unsigned int n = c->threads ? c->threads : 1;

	raw_alloc_resolve();
	if (!s)
		return NULL;
	s->slots = calloc((size_t)n * BATCH, sizeof(void *));
	s->cache = sk_kmem_cache_create("bench", OBJ, 0, 0, NULL);
	if (!s->slots || !s->cache) {
		free(s->slots);
		free(s);
		return NULL;
	}
	return s;
}

static void alloc_teardown(void *state)
{
	struct alloc_state *s = state;

	(void)sk_kmem_cache_destroy(s->cache);
	free(s->slots);
	free(s);
}

/* The allocators, all with the same shape. */
#ifndef SK_DEBUG
#ifdef SK_BENCH_HAVE_JEMALLOC
static inline void *jex_alloc(struct alloc_state *s, size_t n)
{
	(void)s;
	return raw_alloc.mallocx(n, 0);
}

static inline void jex_free(struct alloc_state *s, void *p, size_t n)
{
	(void)s;
	raw_alloc.sdallocx(p, n, 0);
}

static inline void *je_alloc(struct alloc_state *s, size_t n)
{
	(void)s;
	return raw_alloc.je_malloc(n);
}

static inline void je_free(struct alloc_state *s, void *p, size_t n)
{
	(void)s, (void)n;
	raw_alloc.je_free(p);
}
#endif

static inline void *glibc_alloc(struct alloc_state *s, size_t n)
{
	(void)s;
	return raw_alloc.libc_malloc(n);
}

static inline void glibc_free(struct alloc_state *s, void *p, size_t n)
{
	(void)s, (void)n;
	raw_alloc.libc_free(p);
}

static inline void *kmalloc_alloc(struct alloc_state *s, size_t n)
{
	(void)s;
	return sk_kmalloc(n);
}

static inline void kmalloc_free(struct alloc_state *s, void *p, size_t n)
{
	(void)s;
	sk_kfree_sized(p, n);
}
#endif

static inline void *cache_alloc(struct alloc_state *s, size_t n)
{
	(void)n;
	return sk_kmem_cache_alloc(s->cache);
}

static inline void cache_free(struct alloc_state *s, void *p, size_t n)
{
	(void)n;
	sk_kmem_cache_free(s->cache, p);
}

/*
 * The pair loop reuses one object: start from one that is not the first
 * of a page, where jemalloc's sdallocx leaves its fast path (1 object in
 * 64 of this size), so that every case measures its usual path.
 */
#define DEFINE_RUNS(name)                                                     \
	static void run_pair_##name(struct sk_bench_thread *t)                \
	{                                                                     \
		struct alloc_state *s = t->state;                             \
		size_t n = OBJ;                                               \
		void *a = name##_alloc(s, n), *b = name##_alloc(s, n);        \
                                                                              \
		if (((uintptr_t)a & 4095) == 0) {                             \
			name##_free(s, a, n);                                 \
			name##_free(s, b, n);                                 \
		} else {                                                      \
			name##_free(s, b, n);                                 \
			name##_free(s, a, n);                                 \
		}                                                             \
		for (uint64_t i = 0; i < t->iters; i++) {                     \
			long *p;                                              \
                                                                              \
			sk_bench_opaque(n);                                   \
			p = name##_alloc(s, n);                               \
			*p = (long)i;                                         \
			sk_bench_keep(p);                                     \
			name##_free(s, p, n);                                 \
		}                                                             \
	}                                                                     \
	static void run_batch_##name(struct sk_bench_thread *t)               \
	{                                                                     \
		struct alloc_state *s = t->state;                             \
		void **v = s->slots + (size_t)t->id * BATCH;                  \
		size_t n = OBJ;                                               \
                                                                              \
		for (uint64_t it = 0; it < t->iters; it++) {                  \
			for (int i = 0; i < BATCH; i++) {                     \
				sk_bench_opaque(n);                           \
				v[i] = name##_alloc(s, n);                    \
				*(long *)v[i] = i;                            \
			}                                                     \
			sk_bench_clobber();                                   \
			for (int i = 0; i < BATCH; i++)                       \
				name##_free(s, v[i], n);                      \
		}                                                             \
	}

#define REGISTER(id, fn, label, base)                                       \
	SK_BENCH_CASE(alloc_pair_##id, .group = "alloc.pair", .name = label,  \
		      .baseline = base, .setup = alloc_setup,                 \
		      .teardown = alloc_teardown, .run = run_pair_##fn)     \
	SK_BENCH_CASE(alloc_batch_##id, .group = "alloc.batch", .name = label, \
		      .baseline = base, .ops_per_iter = BATCH, .setup = alloc_setup, \
		      .teardown = alloc_teardown, .run = run_batch_##fn)    \
	SK_BENCH_CASE(alloc_pair2_##id, .group = "alloc.pair.2t", .name = label, \
		      .baseline = base, .threads = 2, .setup = alloc_setup,   \
		      .teardown = alloc_teardown, .run = run_pair_##fn)     \
	SK_BENCH_CASE(alloc_batch2_##id, .group = "alloc.batch.2t", .name = label, \
		      .baseline = base, .threads = 2, .ops_per_iter = 2 * BATCH, \
		      .setup = alloc_setup, .teardown = alloc_teardown,       \
		      .run = run_batch_##fn)

#ifndef SK_DEBUG
#ifdef SK_BENCH_HAVE_JEMALLOC
DEFINE_RUNS(jex)
REGISTER(jex, jex, "jemalloc mallocx/sdallocx", false)
#endif
DEFINE_RUNS(glibc)
#ifdef SK_BENCH_HAVE_JEMALLOC
REGISTER(glibc, glibc, "glibc malloc/free", false)
#else
REGISTER(glibc, glibc, "glibc malloc/free", true)
#endif
#ifdef SK_BENCH_HAVE_JEMALLOC
DEFINE_RUNS(je)
REGISTER(je, je, "jemalloc malloc/free", true)
#endif
DEFINE_RUNS(kmalloc)
REGISTER(kmalloc, kmalloc, "sk_kmalloc/sk_kfree_sized", false)
DEFINE_RUNS(cache)
REGISTER(cache_hardened, cache, "sk_kmem_cache." SK_BENCH_LEVEL, false)
#else
DEFINE_RUNS(cache)
REGISTER(cache_debug, cache, "sk_kmem_cache." SK_BENCH_LEVEL, false)
#endif
