/* SPDX-License-Identifier: MIT */
/*
 * tests/lockdep-env-helper.c - spawned by test-lockdep.c with
 * SAFEKERN_LOCKDEP set (built hardened, and with -DSK_DEBUG as
 * lockdep-env-helper-debug): takes two locks in both orders and prints
 * whether the validator was on and what it reported.
 */
#include <stdio.h>

#include <safekern/lock.h>
#include <safekern/violation.h>

static SK_DEFINE_MUTEX(a);
static SK_DEFINE_MUTEX(b);

static void lu2(struct sk_mutex *x, struct sk_mutex *y)
{
	sk_mutex_lock(x);
	sk_mutex_lock(y);
	sk_mutex_unlock(y);
	sk_mutex_unlock(x);
}

int main(void)
{
	lu2(&a, &b);
	lu2(&b, &a);
	printf("enabled=%d inversions=%lu\n", sk_lockdep_enabled(),
	       sk_violation_count(SK_VIOLATION_LOCK_ORDER_INVERSION));
	return 0;
}
