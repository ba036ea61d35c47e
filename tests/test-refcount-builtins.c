/* SPDX-License-Identifier: MIT */
/*
 * tests/test-refcount-builtins.c - the refcount suite again, on the
 * portable __atomic builtin paths (what other architectures and TSan
 * builds use) instead of x86's asm goto: same semantics, same tests.
 */
#define SK_REFCOUNT_NO_ASM 1
#include "test-refcount.c"
