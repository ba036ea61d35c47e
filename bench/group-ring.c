/* SPDX-License-Identifier: MIT */
/*
 * bench/group-ring.c - the "ring" groups: libsafekern's SPSC kfifo and MPMC
 * ptr_ring against the raw-C rings of bench/raw/ring.h and the peers
 * people use today, Concurrency Kit's ck_ring (spsc and mpmc) and
 * liburcu's wfcqueue (MPMC), on the loops of ring-bench.h:
 *
 *   ring.1t            one thread, push one + pop one (callgrind-able)
 *   ring.spsc          1 producer + 1 consumer thread, single items (the
 *                      SPSC groups' baseline: raw_cached, Lamport's ring
 *                      with index caching as sk_kfifo has; raw is the
 *                      same without the caching)
 *   ring.spsc.bulk8    the same, batches of 8 (kfifo_in/out, bursts)
 *   ring.spsc.bulk32   batches of 32
 *   ring.mpmc.1p1c     the MPMC rings' multi-producer/consumer entry
 *                      points with 1 producer + 1 consumer: one thread per
 *                      core on a 2-core machine, so no ring waits on a
 *                      preempted thread
 *   ring.mpmc.2p2c     2 producers + 2 consumers (oversubscribed on 2
 *                      cores: rings that publish in order, rte_ring's
 *                      classic MP/MC and ck_ring_mpmc, then spin on a
 *                      preempted predecessor; rte_ring_rts is the DPDK
 *                      mode meant for preemptible threads)
 *   ring.mpmc.4p4c     4 + 4 (oversubscribed likewise)
 *
 * Items are pointers (8 bytes); ops = items moved.  DPDK's rte_ring is in
 * its own program, sk-bench-dpdk (group-ring-dpdk.c), which registers
 * these cases too so that its ratios come from one run.
 */
#ifndef SK_DEBUG
#ifdef SK_BENCH_HAVE_URCU
#define _LGPL_SOURCE /* wfcqueue's inline fast paths, as a user would build */
#include <urcu/wfcqueue.h>
#endif
#ifdef SK_BENCH_HAVE_CK
#include <ck_ring.h>
#endif
#endif

#include <safekern/alloc.h>
#include <safekern/kfifo.h>
#include <safekern/ptr_ring.h>

#include "raw/ring.h"
#include "ring-bench.h"

/* ------------------------------------------------------------------------
 * libsafekern: sk_kfifo (SPSC) and sk_ptr_ring (MPMC)
 * ------------------------------------------------------------------------ */

struct kfifo_state {
	SK_DECLARE_KFIFO_PTR(f, void *);
};

static void *kfifo_setup(const struct sk_bench_case *c)
{
	struct kfifo_state *s = sk_kmalloc(sizeof(*s));

	(void)c;
	if (s && sk_kfifo_alloc(&s->f, RING_SIZE)) {
		sk_kfree(s);
		return NULL;
	}
	return s;
}

static void kfifo_teardown(void *p)
{
	struct kfifo_state *s = p;

	sk_kfifo_free(&s->f);
	sk_kfree(s);
}

static inline bool kfifo_push(struct kfifo_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return sk_kfifo_put(&s->f, p);
}

static inline bool kfifo_pop(struct kfifo_state *s, void **p)
{
	return sk_kfifo_get(&s->f, p);
}

static inline unsigned int kfifo_push_n(struct kfifo_state *s, unsigned int tid, void **p,
					unsigned int n)
{
	(void)tid;
	return sk_kfifo_in(&s->f, p, n);
}

static inline unsigned int kfifo_pop_n(struct kfifo_state *s, void **p, unsigned int n)
{
	return sk_kfifo_out(&s->f, p, n);
}

RING_RUNNERS(kfifo)

struct ptr_ring_state {
	struct sk_ptr_ring r;
};

static void *ptr_ring_setup(const struct sk_bench_case *c)
{
	struct ptr_ring_state *s = sk_kmalloc(sizeof(*s));

	(void)c;
	if (s && sk_ptr_ring_init(&s->r, RING_SIZE)) {
		sk_kfree(s);
		return NULL;
	}
	return s;
}

static void ptr_ring_teardown(void *p)
{
	struct ptr_ring_state *s = p;

	sk_ptr_ring_cleanup(&s->r, NULL);
	sk_kfree(s);
}

static inline bool ptr_ring_push(struct ptr_ring_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return sk_ptr_ring_produce(&s->r, p) == 0;
}

static inline bool ptr_ring_pop(struct ptr_ring_state *s, void **p)
{
	return (*p = sk_ptr_ring_consume(&s->r)) != NULL;
}

static inline unsigned int ptr_ring_push_n(struct ptr_ring_state *s, unsigned int tid, void **p,
					   unsigned int n)
{
	(void)tid;
	return sk_ptr_ring_produce_burst(&s->r, p, n);
}

static inline unsigned int ptr_ring_pop_n(struct ptr_ring_state *s, void **p, unsigned int n)
{
	return sk_ptr_ring_consume_burst(&s->r, p, n);
}

RING_RUNNERS(ptr_ring)

RING_CASES_1T(kfifo, "sk_kfifo." SK_BENCH_LEVEL, false)
RING_CASES_1T(ptr_ring, "sk_ptr_ring." SK_BENCH_LEVEL, false)
RING_CASES_SPSC(kfifo, "sk_kfifo." SK_BENCH_LEVEL, false)
RING_CASES_SPSC(ptr_ring, "sk_ptr_ring." SK_BENCH_LEVEL, false)
RING_CASES_MPMC(ptr_ring, "sk_ptr_ring." SK_BENCH_LEVEL, false)

/* ------------------------------------------------------------------------
 * Raw C baselines and peers: once, in the hardened compilation
 * ------------------------------------------------------------------------ */

#ifndef SK_DEBUG

struct raw_state {
	struct raw_ring r;
};

static void *raw_setup(const struct sk_bench_case *c)
{
	struct raw_state *s = aligned_alloc(64, sizeof(*s));

	(void)c;
	if (s && !raw_ring_init(&s->r, RING_SIZE)) {
		free(s);
		return NULL;
	}
	return s;
}

static void raw_teardown(void *p)
{
	struct raw_state *s = p;

	raw_ring_destroy(&s->r);
	free(s);
}

static inline bool raw_push(struct raw_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return raw_ring_push(&s->r, p);
}

static inline bool raw_pop(struct raw_state *s, void **p)
{
	return raw_ring_pop(&s->r, p);
}

static inline unsigned int raw_push_n(struct raw_state *s, unsigned int tid, void **p,
				      unsigned int n)
{
	(void)tid;
	return raw_ring_push_n(&s->r, p, n);
}

static inline unsigned int raw_pop_n(struct raw_state *s, void **p, unsigned int n)
{
	return raw_ring_pop_n(&s->r, p, n);
}

RING_RUNNERS(raw)
RING_CASES_1T(raw, "raw", false)
RING_CASES_SPSC(raw, "raw", false)

/* The baseline: the same ring with index caching, as sk_kfifo has. */
struct rawc_state {
	struct raw_cring r;
};

static void *rawc_setup(const struct sk_bench_case *c)
{
	struct rawc_state *s = aligned_alloc(64, sizeof(*s));

	(void)c;
	if (s && !raw_cring_init(&s->r, RING_SIZE)) {
		free(s);
		return NULL;
	}
	return s;
}

static void rawc_teardown(void *p)
{
	struct rawc_state *s = p;

	raw_cring_destroy(&s->r);
	free(s);
}

static inline bool rawc_push(struct rawc_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return raw_cring_push(&s->r, p);
}

static inline bool rawc_pop(struct rawc_state *s, void **p)
{
	return raw_cring_pop(&s->r, p);
}

static inline unsigned int rawc_push_n(struct rawc_state *s, unsigned int tid, void **p,
				       unsigned int n)
{
	(void)tid;
	return raw_cring_push_n(&s->r, p, n);
}

static inline unsigned int rawc_pop_n(struct rawc_state *s, void **p, unsigned int n)
{
	return raw_cring_pop_n(&s->r, p, n);
}

RING_RUNNERS(rawc)
RING_CASES_1T(rawc, "raw_cached", true)
RING_CASES_SPSC(rawc, "raw_cached", true)

struct mutex_state {
	struct raw_locked_ring r;
};

static void *mutex_setup(const struct sk_bench_case *c)
{
	struct mutex_state *s = aligned_alloc(64, sizeof(*s));

	(void)c;
	if (s && !raw_locked_ring_init(&s->r, RING_SIZE)) {
		free(s);
		return NULL;
	}
	return s;
}

static void mutex_teardown(void *p)
{
	struct mutex_state *s = p;

	raw_locked_ring_destroy(&s->r);
	free(s);
}

static inline bool mutex_push(struct mutex_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return raw_locked_ring_push(&s->r, p);
}

static inline bool mutex_pop(struct mutex_state *s, void **p)
{
	return raw_locked_ring_pop(&s->r, p);
}

static inline unsigned int mutex_push_n(struct mutex_state *s, unsigned int tid, void **p,
					unsigned int n)
{
	unsigned int k = 0;

	while (k < n && mutex_push(s, tid, p[k]))
		k++;
	return k;
}

static inline unsigned int mutex_pop_n(struct mutex_state *s, void **p, unsigned int n)
{
	unsigned int k = 0;

	while (k < n && mutex_pop(s, &p[k]))
		k++;
	return k;
}

RING_RUNNERS(mutex)
RING_CASES_1T(mutex, "raw_mutex_ring", false)
RING_CASES_MPMC(mutex, "raw_mutex_ring", true)

#ifdef SK_BENCH_HAVE_CK
/* ck_ring: header-only; a ring of RING_SIZE holds RING_SIZE - 1. */
struct ck_state {
	struct ck_ring ring;
	struct ck_ring_buffer buf[RING_SIZE];
};

static void *ck_setup(const struct sk_bench_case *c)
{
	struct ck_state *s = aligned_alloc(64, sizeof(*s));

	(void)c;
	if (s)
		ck_ring_init(&s->ring, RING_SIZE);
	return s;
}

static void ck_teardown(void *p)
{
	free(p);
}

#define ck_spsc_state ck_state
#define ck_spsc_setup ck_setup
#define ck_spsc_teardown ck_teardown
#define ck_mpmc_state ck_state
#define ck_mpmc_setup ck_setup
#define ck_mpmc_teardown ck_teardown

static inline bool ck_spsc_push(struct ck_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return ck_ring_enqueue_spsc(&s->ring, s->buf, p);
}

static inline bool ck_spsc_pop(struct ck_state *s, void **p)
{
	return ck_ring_dequeue_spsc(&s->ring, s->buf, p);
}

/* ck_ring has no bulk operations: a loop of single ones. */
static inline unsigned int ck_spsc_push_n(struct ck_state *s, unsigned int tid, void **p,
					  unsigned int n)
{
	unsigned int k = 0;

	while (k < n && ck_spsc_push(s, tid, p[k]))
		k++;
	return k;
}

static inline unsigned int ck_spsc_pop_n(struct ck_state *s, void **p, unsigned int n)
{
	unsigned int k = 0;

	while (k < n && ck_spsc_pop(s, &p[k]))
		k++;
	return k;
}

static inline bool ck_mpmc_push(struct ck_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return ck_ring_enqueue_mpmc(&s->ring, s->buf, p);
}

static inline bool ck_mpmc_pop(struct ck_state *s, void **p)
{
	return ck_ring_dequeue_mpmc(&s->ring, s->buf, p);
}

static inline unsigned int ck_mpmc_push_n(struct ck_state *s, unsigned int tid, void **p,
					  unsigned int n)
{
	unsigned int k = 0;

	while (k < n && ck_mpmc_push(s, tid, p[k]))
		k++;
	return k;
}

static inline unsigned int ck_mpmc_pop_n(struct ck_state *s, void **p, unsigned int n)
{
	unsigned int k = 0;

	while (k < n && ck_mpmc_pop(s, &p[k]))
		k++;
	return k;
}

RING_RUNNERS(ck_spsc)
RING_RUNNERS(ck_mpmc)
RING_CASES_1T(ck_spsc, "ck_ring_spsc", false)
RING_CASES_1T(ck_mpmc, "ck_ring_mpmc", false)
RING_CASES_SPSC(ck_spsc, "ck_ring_spsc", false)
RING_CASES_MPMC(ck_mpmc, "ck_ring_mpmc", false)
#endif /* SK_BENCH_HAVE_CK */

#ifdef SK_BENCH_HAVE_URCU
/*
 * liburcu's wfcqueue: an unbounded linked queue (wait-free enqueue,
 * dequeue under the queue's mutex when there are several dequeuers).  Its
 * nodes are the items: each producer recycles a pool of RING_SIZE /
 * producers nodes, which a consumer hands back by setting ->free after it
 * read the value, so the queue holds at most RING_SIZE items, like the
 * rings.
 */
struct wfcq_item {
	struct cds_wfcq_node node;
	void *value;
	int free;
};

struct wfcq_pool {
	struct wfcq_item *items;
	unsigned int next, mask;
	char pad[64 - sizeof(void *) - 2 * sizeof(unsigned int)];
};

struct wfcq_state {
	struct cds_wfcq_head head;
	char pad0[64];
	struct cds_wfcq_tail tail;
	char pad1[64];
	struct wfcq_pool pools[8];
};

static void *wfcq_setup(const struct sk_bench_case *c)
{
	struct wfcq_state *s = aligned_alloc(64, sizeof(*s));
	unsigned int producers = ring_producers(c), per = RING_SIZE / producers;

	if (!s)
		return NULL;
	cds_wfcq_init(&s->head, &s->tail);
	for (unsigned int i = 0; i < producers; i++) {
		s->pools[i].items = aligned_alloc(64, per * sizeof(struct wfcq_item));
		if (!s->pools[i].items)
			return NULL;
		for (unsigned int k = 0; k < per; k++)
			s->pools[i].items[k].free = 1;
		s->pools[i].next = 0;
		s->pools[i].mask = per - 1;
	}
	for (unsigned int i = producers; i < 8; i++)
		s->pools[i].items = NULL;
	return s;
}

static void wfcq_teardown(void *p)
{
	struct wfcq_state *s = p;

	for (unsigned int i = 0; i < 8; i++)
		free(s->pools[i].items);
	cds_wfcq_destroy(&s->head, &s->tail);
	free(s);
}

static inline bool wfcq_push(struct wfcq_state *s, unsigned int tid, void *p)
{
	struct wfcq_pool *pool = &s->pools[tid];
	struct wfcq_item *it = &pool->items[pool->next & pool->mask];

	if (!__atomic_load_n(&it->free, __ATOMIC_ACQUIRE))
		return false; /* this producer's items are all in the queue */
	it->free = 0;
	it->value = p;
	cds_wfcq_node_init(&it->node);
	cds_wfcq_enqueue(&s->head, &s->tail, &it->node);
	pool->next++;
	return true;
}

static inline bool wfcq_pop(struct wfcq_state *s, void **p)
{
	struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&s->head, &s->tail);
	struct wfcq_item *it;

	if (!n)
		return false;
	it = sk_container_of(n, struct wfcq_item, node);
	*p = it->value;
	__atomic_store_n(&it->free, 1, __ATOMIC_RELEASE);
	return true;
}

static inline unsigned int wfcq_push_n(struct wfcq_state *s, unsigned int tid, void **p,
				       unsigned int n)
{
	unsigned int k = 0;

	while (k < n && wfcq_push(s, tid, p[k]))
		k++;
	return k;
}

static inline unsigned int wfcq_pop_n(struct wfcq_state *s, void **p, unsigned int n)
{
	unsigned int k = 0;

	while (k < n && wfcq_pop(s, &p[k]))
		k++;
	return k;
}

RING_RUNNERS(wfcq)
RING_CASES_1T(wfcq, "urcu_wfcqueue", false)
RING_CASES_MPMC(wfcq, "urcu_wfcqueue", false)
#endif /* SK_BENCH_HAVE_URCU */

#endif /* !SK_DEBUG */
