/* SPDX-License-Identifier: MIT */
/*
 * tests/test-lock-ool.c - the whole of test-lock.c again, with every lock,
 * trylock and unlock macro calling the exported out-of-line function
 * (sk__mutex_lock() and friends) instead of lock.h's inline fast path.
 * The inline paths hand those functions only what they filter out (the
 * validator on, a busy lock, misuse), so without this their own
 * uncontended paths, which a program built against an older lock.h calls
 * for every operation, would go untested.
 */
#include <safekern/lock.h>

#undef sk_mutex_lock
#undef sk_mutex_trylock
#undef sk_mutex_unlock
#undef sk_spin_lock
#undef sk_spin_trylock
#undef sk_spin_unlock
#undef sk_read_lock
#undef sk_read_trylock
#undef sk_read_unlock
#undef sk_write_lock
#undef sk_write_trylock
#undef sk_write_unlock
#define sk_mutex_lock(m) sk__mutex_lock((m), SK_CALLSITE)
#define sk_mutex_trylock(m) sk__mutex_trylock((m), SK_CALLSITE)
#define sk_mutex_unlock(m) sk__mutex_unlock((m), SK_CALLSITE)
#define sk_spin_lock(l) sk__spin_lock((l), SK_CALLSITE)
#define sk_spin_trylock(l) sk__spin_trylock((l), SK_CALLSITE)
#define sk_spin_unlock(l) sk__spin_unlock((l), SK_CALLSITE)
#define sk_read_lock(rw) sk__read_lock((rw), SK_CALLSITE)
#define sk_read_trylock(rw) sk__read_trylock((rw), SK_CALLSITE)
#define sk_read_unlock(rw) sk__read_unlock((rw), SK_CALLSITE)
#define sk_write_lock(rw) sk__write_lock((rw), SK_CALLSITE)
#define sk_write_trylock(rw) sk__write_trylock((rw), SK_CALLSITE)
#define sk_write_unlock(rw) sk__write_unlock((rw), SK_CALLSITE)

#include "test-lock.c"
