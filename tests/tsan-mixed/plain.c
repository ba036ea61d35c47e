/* SPDX-License-Identifier: MIT */
/*
 * tests/tsan-mixed/plain.c - the unit of tests/check-tsan-consumer.sh's
 * mixed program that is built *without* TSan: its lock.h takes glibc's
 * lock words inline where the process lets it (sk__lock_slow is 0).
 */
#include <safekern/lock.h>

#include "mixed.h"

SK_NO_THREAD_SAFETY_ANALYSIS void plain_lock(struct sk_mutex *m)
{
	sk_mutex_lock(m);
}

SK_NO_THREAD_SAFETY_ANALYSIS void plain_unlock(struct sk_mutex *m)
{
	sk_mutex_unlock(m);
}
