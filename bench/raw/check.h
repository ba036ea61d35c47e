/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/check.h - the raw-C baseline of the "check" group: a counter
 * table updated with no checks at all, as a C programmer writes it.
 */
#ifndef SK_BENCH_RAW_CHECK_H
#define SK_BENCH_RAW_CHECK_H

#include <stddef.h>

static inline void raw_table_inc(unsigned long *table, size_t idx)
{
	table[idx]++;
}

#endif
