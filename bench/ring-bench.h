/* SPDX-License-Identifier: MIT */
/*
 * bench/ring-bench.h - the measured loops of the "ring" groups, shared by
 * sk-bench (group-ring.c) and sk-bench-dpdk (group-ring-dpdk.c), so that
 * every ring runs exactly the same loop around its own inline operations.
 *
 * An implementation X provides a state type, setup/teardown, and
 *
 *	bool X_push(struct X_state *s, unsigned int tid, void *p);
 *	bool X_pop(struct X_state *s, void **p);
 *	unsigned int X_push_n(struct X_state *s, unsigned int tid, void **p, unsigned int n);
 *	unsigned int X_pop_n(struct X_state *s, void **p, unsigned int n);
 *
 * (push_n/pop_n: as many as possible, like kfifo_in/out and the burst
 * forms).  RING_RUNNERS(X) then defines the run functions:
 *
 *	X_run_1t      one thread: push one, pop one (the pair is the op)
 *	X_run_pc      threads [0, n/2) produce t->iters items each, threads
 *	              [n/2, n) consume t->iters each (1P1C, 2P2C, 4P4C)
 *	X_run_b8/b32  1P1C moving batches of 8 or 32 with push_n/pop_n
 *
 * A full or empty ring is retried with the same back-off for everyone: 64
 * pause instructions, then sched_yield(), so that a thread sharing its
 * core with the one it waits for lets it run.  Past the sample's deadline
 * (the harness's flag, polled every iteration) the threads give up and
 * report what they did, so a ring that collapses when threads outnumber
 * cores shows as very slow instead of stalling the run.
 */
#ifndef SK_BENCH_RING_BENCH_H
#define SK_BENCH_RING_BENCH_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"

/* Every ring in the groups has room for this many pointers (ck_ring and
 * rte_ring: one less, as their rings of N hold N - 1). */
#define RING_SIZE 1024

#define RING_ITEM(i) ((void *)(uintptr_t)((i) + 1))

/* Back off once; every 64th time, yield.  Returns true past the deadline. */
static inline bool ring_relax(unsigned int *spins, const struct sk_bench_thread *t)
{
	if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return false;
	}
	*spins = 0;
	sched_yield();
	return sk_bench_expired(t);
}

/*
 * Past the deadline?  The harness's flag on every iteration (one relaxed
 * load: a peer that collapses to milliseconds per item must still stop
 * soon after the deadline), the clock every 4096th.
 */
static inline bool ring_expired(uint64_t i, const struct sk_bench_thread *t)
{
	return sk_bench_stopped(t) || ((i & 4095) == 4095 && sk_bench_expired(t));
}

static inline unsigned int ring_producers(const struct sk_bench_case *c)
{
	return c->threads > 1 ? c->threads / 2 : 1;
}

#define RING_RUN_BATCH(X, B)                                                  \
	static SK_BENCH_UNUSED void X##_run_b##B(struct sk_bench_thread *t)   \
	{                                                                     \
		struct X##_state *s = (struct X##_state *)t->state;           \
		void *buf[B];                                                 \
		uint64_t i = 0, sum = 0, rounds = 0;                          \
		unsigned int spins = 0;                                       \
                                                                              \
		if (t->id == 0) {                                             \
			while (i < t->iters) {                                \
				unsigned int n = t->iters - i < B ? (unsigned int)(t->iters - i) : B; \
				unsigned int done = 0;                        \
                                                                              \
				if (ring_expired(rounds++, t)) {              \
					t->done = i;                          \
					return;                               \
				}                                             \
				for (unsigned int k = 0; k < n; k++)          \
					buf[k] = RING_ITEM(i + k);            \
				while (done < n) {                            \
					unsigned int m = X##_push_n(s, 0, buf + done, n - done); \
					if (m) {                              \
						done += m;                    \
						spins = 0;                    \
					} else if (ring_relax(&spins, t)) {   \
						t->done = i + done;           \
						return;                       \
					}                                     \
				}                                             \
				i += n;                                       \
			}                                                     \
		} else {                                                      \
			while (i < t->iters) {                                \
				unsigned int n = t->iters - i < B ? (unsigned int)(t->iters - i) : B; \
				unsigned int m;                               \
                                                                              \
				if (ring_expired(rounds++, t)) {              \
					t->done = i;                          \
					break;                                \
				}                                             \
				m = X##_pop_n(s, buf, n);                     \
				for (unsigned int k = 0; k < m; k++)          \
					sum += (uintptr_t)buf[k];             \
				if (m) {                                      \
					spins = 0;                            \
				} else if (ring_relax(&spins, t)) {           \
					t->done = i;                          \
					break;                                \
				}                                             \
				i += m;                                       \
			}                                                     \
		}                                                             \
		t->sink = sum;                                                \
	}

#define RING_RUNNERS(X)                                                       \
	static SK_BENCH_UNUSED void X##_run_1t(struct sk_bench_thread *t)     \
	{                                                                     \
		struct X##_state *s = (struct X##_state *)t->state;           \
		uint64_t sum = 0;                                             \
                                                                              \
		for (uint64_t i = 0; i < t->iters; i++) {                     \
			void *p = NULL;                                       \
                                                                              \
			if (!X##_push(s, 0, RING_ITEM(i)) || !X##_pop(s, &p)) \
				abort();                                      \
			sum += (uintptr_t)p;                                  \
		}                                                             \
		t->sink = sum;                                                \
	}                                                                     \
	static SK_BENCH_UNUSED void X##_run_pc(struct sk_bench_thread *t)     \
	{                                                                     \
		struct X##_state *s = (struct X##_state *)t->state;           \
		unsigned int producers = t->nthreads / 2, spins = 0;          \
		uint64_t sum = 0, i;                                          \
                                                                              \
		if (t->id < producers) {                                      \
			for (i = 0; i < t->iters && !ring_expired(i, t); i++) { \
				while (!X##_push(s, t->id, RING_ITEM(i)))     \
					if (ring_relax(&spins, t))            \
						goto out;                     \
				spins = 0;                                    \
			}                                                     \
		} else {                                                      \
			for (i = 0; i < t->iters && !ring_expired(i, t); i++) { \
				void *p;                                      \
                                                                              \
				while (!X##_pop(s, &p))                       \
					if (ring_relax(&spins, t))            \
						goto out;                     \
				spins = 0;                                    \
				sum += (uintptr_t)p;                          \
			}                                                     \
		}                                                             \
	out:                                                                  \
		t->done = i;                                                  \
		t->sink = sum;                                                \
	}                                                                     \
	RING_RUN_BATCH(X, 8)                                                  \
	RING_RUN_BATCH(X, 32)

#define SK_BENCH_UNUSED __attribute__((unused))

/*
 * The cases of one implementation, by group family.  @X: its prefix;
 * @label: the case name; @base: whether it is the groups' baseline.
 */
#define RING_CASES_1T(X, label, base)                                          \
	SK_BENCH_CASE(X##_c1t, .group = "ring.1t", .name = label, .baseline = base, \
		      .setup = X##_setup, .teardown = X##_teardown, .run = X##_run_1t)
#define RING_CASES_SPSC(X, label, base)                                        \
	SK_BENCH_CASE(X##_cspsc, .group = "ring.spsc", .name = label, .baseline = base, \
		      .threads = 2, .ops_per_iter = 1, .setup = X##_setup,    \
		      .teardown = X##_teardown, .run = X##_run_pc)            \
	SK_BENCH_CASE(X##_cb8, .group = "ring.spsc.bulk8", .name = label, .baseline = base, \
		      .threads = 2, .ops_per_iter = 1, .setup = X##_setup,    \
		      .teardown = X##_teardown, .run = X##_run_b8)            \
	SK_BENCH_CASE(X##_cb32, .group = "ring.spsc.bulk32", .name = label, \
		      .baseline = base, .threads = 2, .ops_per_iter = 1,      \
		      .setup = X##_setup, .teardown = X##_teardown, .run = X##_run_b32)
#define RING_CASES_MPMC(X, label, base)                                        \
	SK_BENCH_CASE(X##_c11, .group = "ring.mpmc.1p1c", .name = label, .baseline = base, \
		      .threads = 2, .ops_per_iter = 1, .setup = X##_setup,    \
		      .teardown = X##_teardown, .run = X##_run_pc)            \
	SK_BENCH_CASE(X##_c22, .group = "ring.mpmc.2p2c", .name = label, .baseline = base, \
		      .threads = 4, .ops_per_iter = 2, .setup = X##_setup,    \
		      .teardown = X##_teardown, .run = X##_run_pc)            \
	SK_BENCH_CASE(X##_c44, .group = "ring.mpmc.4p4c", .name = label, .baseline = base, \
		      .threads = 8, .ops_per_iter = 4, .setup = X##_setup,    \
		      .teardown = X##_teardown, .run = X##_run_pc)

#endif
