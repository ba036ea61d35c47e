/* SPDX-License-Identifier: MIT */
/*
 * tests/lockdep-debug-module.c - a -DSK_DEBUG unit that test-lockdep
 * dlopen()s while it holds a lock: lock.h gives this unit the constructor
 * that turns the validator on.
 */
#include <safekern/lock.h>

int sk_test_debug_module(void);

int sk_test_debug_module(void)
{
	return 1;
}
