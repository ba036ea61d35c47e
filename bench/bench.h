/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - libsafekern's benchmark harness.
 *
 * A benchmark file registers cases with SK_BENCH_CASE().  Cases with the
 * same group are measured together: the runner interleaves them (one sample
 * of each case in turn, repeated), so that machine noise hits all of them
 * alike, and reports each case's median ns/op, min-max, ops/s and the ratio
 * to the group's baseline case (.baseline = true: the raw-C version without
 * checks), all from the same run.
 *
 * A case's run() does t->iters iterations of its operation on its thread.
 * Single-threaded cases run on the main thread, pinned to CPU 0;
 * multi-threaded ones (.threads = N) run on N threads pinned round-robin,
 * released together by a barrier; the time is from the first thread's
 * start to the last thread's end, as the threads themselves read the
 * clock.  ops per sample = iters * .ops_per_iter (default: the number of
 * threads, i.e. every thread's iterations count).
 *
 * setup() (optional) runs before every sample and teardown() after it,
 * untimed; the state pointer it returns is passed to run().
 *
 * Files compiled at the debug level (-DSK_DEBUG) register their cases with
 * the same source: SK_BENCH_LEVEL names the level for case names.
 */
#ifndef SK_BENCH_H
#define SK_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#ifdef SK_DEBUG
#define SK_BENCH_LEVEL "debug"
#else
#define SK_BENCH_LEVEL "hardened"
#endif

/**
 * struct sk_bench_thread - what a case's run() gets on each thread
 * @id: 0 .. threads-1
 * @nthreads: number of threads of the case
 * @iters: iterations this thread must do
 * @state: the pointer setup() returned
 * @sink: write results here so the compiler cannot drop the work
 * @deadline_ns: for multi-threaded cases, the CLOCK_MONOTONIC time after
 *	which run() may give up (sk_bench_expired()), so that a case that
 *	collapses (threads spinning on a preempted one) cannot stall the run;
 *	0 for single-threaded cases
 * @done: iterations completed: set to @iters before run(); a run() that
 *	gives up lowers it, and the sample counts the fewest any thread did
 * @stop: for multi-threaded cases, a flag the harness raises at
 *	@deadline_ns (sk_bench_stopped(): cheap enough to poll every
 *	iteration); NULL for single-threaded cases
 */
struct sk_bench_thread {
	unsigned int id;
	unsigned int nthreads;
	uint64_t iters;
	void *state;
	uint64_t sink;
	double deadline_ns;
	uint64_t done;
	const int *stop;
};

/* CLOCK_MONOTONIC in nanoseconds. */
static inline double sk_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Whether the harness has called a multi-threaded sample off (a relaxed
 * load of a read-mostly word: poll it every iteration).
 */
static inline bool sk_bench_stopped(const struct sk_bench_thread *t)
{
	return t->stop && __atomic_load_n(t->stop, __ATOMIC_RELAXED);
}

/*
 * Whether a multi-threaded run is past its deadline, by the flag or by the
 * clock (the clock costs a vDSO call: check it rarely).
 */
static inline bool sk_bench_expired(const struct sk_bench_thread *t)
{
	return sk_bench_stopped(t) || (t->deadline_ns > 0 && sk_bench_now_ns() > t->deadline_ns);
}

/**
 * struct sk_bench_case - one measured case
 * @group: the comparison group ("refcount.1t")
 * @name: the case within the group ("raw", "sk_refcount hardened", ...)
 * @baseline: the group's raw-C baseline; ratios are to this case
 * @threads: threads (0 or 1: single-threaded, on the main thread)
 * @ops_per_iter: operations per iteration across all threads; 0 means
 *	@threads (each thread's iterations are operations)
 * @callgrind_iters: iterations for the callgrind mode (0: 20000)
 * @setup: optional, before each sample; returns the state
 * @teardown: optional, after each sample
 * @run: the measured loop
 * @next: registry link (the harness's)
 */
struct sk_bench_case {
	const char *group;
	const char *name;
	bool baseline;
	unsigned int threads;
	double ops_per_iter;
	uint64_t callgrind_iters;
	void *(*setup)(const struct sk_bench_case *c);
	void (*teardown)(void *state);
	void (*run)(struct sk_bench_thread *t);
	struct sk_bench_case *next;
};

void sk_bench_register(struct sk_bench_case *c);

/* Register a case at load time. */
#define SK_BENCH_CASE(ident, ...)                                             \
	static struct sk_bench_case ident = { __VA_ARGS__ };                  \
	__attribute__((constructor)) static void ident##_register(void)       \
	{                                                                     \
		sk_bench_register(&ident);                                    \
	}

/* Keep @v alive: the compiler must compute it. */
#define sk_bench_keep(v) __asm__ volatile("" : : "r"(v) : "memory")
/* Make @v opaque: the compiler cannot know its value afterwards. */
#define sk_bench_opaque(v) __asm__ volatile("" : "+r"(v))
/* A compiler barrier: memory may have changed. */
#define sk_bench_clobber() __asm__ volatile("" : : : "memory")

/* Run the registered cases; the benchmark programs' main(). */
int sk_bench_main(int argc, char **argv);

#endif /* SK_BENCH_H */
