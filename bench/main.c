/* SPDX-License-Identifier: MIT */
/* bench/main.c - sk-bench: every registered group (see harness.c). */
#include "bench.h"

int main(int argc, char **argv)
{
	return sk_bench_main(argc, argv);
}
