/* SPDX-License-Identifier: MIT */
/*
 * bench/group-check.c - the "check" group: what libsafekern's check
 * pattern costs on a hot path.  A counter-table update, unchecked (raw),
 * with a bounds check whose failure goes to the cold out-of-line reporter
 * (the shape of every libsafekern check), and with an overflow-checked add.
 * The index is opaque to the compiler, so the check cannot be proven away.
 */
#include <safekern/compiler.h>
#include <safekern/violation.h>

#include "bench.h"
#include "raw/check.h"

#define SLOTS 64

static unsigned long table[SLOTS];

#ifndef SK_DEBUG
static void run_raw(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		size_t idx = i % SLOTS;

		sk_bench_opaque(idx);
		raw_table_inc(table, idx);
	}
	t->sink = table[0];
}
SK_BENCH_CASE(check_raw, .group = "check", .name = "raw", .baseline = true, .run = run_raw)
#endif

static void run_bounds(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		size_t idx = i % SLOTS;

		sk_bench_opaque(idx);
		if (sk_unlikely(idx >= SLOTS)) {
			sk_violation_report(SK_VIOLATION_INVALID_ARGUMENT, table, "index %zu", idx);
			continue;
		}
		table[idx]++;
	}
	t->sink = table[0];
}
SK_BENCH_CASE(check_bounds, .group = "check", .name = "bounds_checked." SK_BENCH_LEVEL,
	      .run = run_bounds)

static void run_overflow(struct sk_bench_thread *t)
{
	for (uint64_t i = 0; i < t->iters; i++) {
		size_t idx = i % SLOTS;
		unsigned long v;

		sk_bench_opaque(idx);
		if (sk_check_add_overflow(table[idx], 1UL, &v)) {
			sk_violation_report(SK_VIOLATION_INVALID_ARGUMENT, table, "overflow");
			continue;
		}
		table[idx] = v;
	}
	t->sink = table[0];
}
SK_BENCH_CASE(check_overflow, .group = "check", .name = "add_overflow_checked." SK_BENCH_LEVEL,
	      .run = run_overflow)
