/* SPDX-License-Identifier: MIT */
#ifndef SK_TEST_TSAN_MIXED_H
#define SK_TEST_TSAN_MIXED_H

#include <safekern/lock.h>

void plain_lock(struct sk_mutex *m);
void plain_unlock(struct sk_mutex *m);

#endif
