/* SPDX-License-Identifier: MIT */
/*
 * bench/group-ring-dpdk.c - DPDK's rte_ring in the "ring" groups, for the
 * separate program sk-bench-dpdk (built only when libdpdk is found), which
 * also links group-ring.c so that the rte_ring cases are measured in the
 * same run as libsafekern's rings, the raw baselines and the other peers.
 *
 * The rings are created with rte_ring_init() on aligned_alloc() memory:
 * no EAL, no hugepages; only librte_ring is linked.  A ring of RING_SIZE
 * holds RING_SIZE - 1 (no RING_F_EXACT_SZ, which would double the memory).
 *
 *   rte_ring_sp_sc   RING_F_SP_ENQ | RING_F_SC_DEQ, the sp/sc functions
 *   rte_ring_mp_mc   the classic multi-producer/consumer mode
 *   rte_ring_rts     RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ ("relaxed tail
 *                    sync", built for preemptible threads), through the
 *                    generic rte_ring_enqueue/dequeue calls
 */
#include <rte_ring.h>

#include "ring-bench.h"

struct rte_state {
	struct rte_ring *r;
};

static void *rte_setup_flags(unsigned int flags)
{
	ssize_t bytes = rte_ring_get_memsize(RING_SIZE);
	struct rte_state *s;

	if (bytes < 0)
		return NULL;
	s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->r = aligned_alloc(RTE_CACHE_LINE_SIZE, ((size_t)bytes + 63) & ~(size_t)63);
	if (!s->r || rte_ring_init(s->r, "sk-bench", RING_SIZE, flags)) {
		free(s->r);
		free(s);
		return NULL;
	}
	return s;
}

static void rte_teardown(void *p)
{
	struct rte_state *s = p;

	free(s->r);
	free(s);
}

/* Single producer, single consumer. */
#define rte_spsc_state rte_state
#define rte_spsc_teardown rte_teardown

static void *rte_spsc_setup(const struct sk_bench_case *c)
{
	(void)c;
	return rte_setup_flags(RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static inline bool rte_spsc_push(struct rte_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return rte_ring_sp_enqueue(s->r, p) == 0;
}

static inline bool rte_spsc_pop(struct rte_state *s, void **p)
{
	return rte_ring_sc_dequeue(s->r, p) == 0;
}

static inline unsigned int rte_spsc_push_n(struct rte_state *s, unsigned int tid, void **p,
					   unsigned int n)
{
	(void)tid;
	return rte_ring_sp_enqueue_burst(s->r, p, n, NULL);
}

static inline unsigned int rte_spsc_pop_n(struct rte_state *s, void **p, unsigned int n)
{
	return rte_ring_sc_dequeue_burst(s->r, p, n, NULL);
}

RING_RUNNERS(rte_spsc)
RING_CASES_1T(rte_spsc, "rte_ring_sp_sc", false)
RING_CASES_SPSC(rte_spsc, "rte_ring_sp_sc", false)

/* Classic multi-producer, multi-consumer. */
#define rte_mpmc_state rte_state
#define rte_mpmc_teardown rte_teardown

static void *rte_mpmc_setup(const struct sk_bench_case *c)
{
	(void)c;
	return rte_setup_flags(0);
}

static inline bool rte_mpmc_push(struct rte_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return rte_ring_mp_enqueue(s->r, p) == 0;
}

static inline bool rte_mpmc_pop(struct rte_state *s, void **p)
{
	return rte_ring_mc_dequeue(s->r, p) == 0;
}

static inline unsigned int rte_mpmc_push_n(struct rte_state *s, unsigned int tid, void **p,
					   unsigned int n)
{
	(void)tid;
	return rte_ring_mp_enqueue_burst(s->r, p, n, NULL);
}

static inline unsigned int rte_mpmc_pop_n(struct rte_state *s, void **p, unsigned int n)
{
	return rte_ring_mc_dequeue_burst(s->r, p, n, NULL);
}

RING_RUNNERS(rte_mpmc)
RING_CASES_1T(rte_mpmc, "rte_ring_mp_mc", false)
RING_CASES_MPMC(rte_mpmc, "rte_ring_mp_mc", false)

/* Relaxed tail sync (RTS) multi-producer, multi-consumer. */
#define rte_rts_state rte_state
#define rte_rts_teardown rte_teardown

static void *rte_rts_setup(const struct sk_bench_case *c)
{
	(void)c;
	return rte_setup_flags(RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ);
}

static inline bool rte_rts_push(struct rte_state *s, unsigned int tid, void *p)
{
	(void)tid;
	return rte_ring_enqueue(s->r, p) == 0;
}

static inline bool rte_rts_pop(struct rte_state *s, void **p)
{
	return rte_ring_dequeue(s->r, p) == 0;
}

static inline unsigned int rte_rts_push_n(struct rte_state *s, unsigned int tid, void **p,
					  unsigned int n)
{
	(void)tid;
	return rte_ring_enqueue_burst(s->r, p, n, NULL);
}

static inline unsigned int rte_rts_pop_n(struct rte_state *s, void **p, unsigned int n)
{
	return rte_ring_dequeue_burst(s->r, p, n, NULL);
}

RING_RUNNERS(rte_rts)
RING_CASES_1T(rte_rts, "rte_ring_rts", false)
RING_CASES_MPMC(rte_rts, "rte_ring_rts", false)
