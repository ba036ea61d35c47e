/* SPDX-License-Identifier: MIT */
/*
 * tests/tsan-mixed/main.c - a program built with TSan whose other unit
 * (plain.c) is not: the two share one sk_mutex.  The plain unit meets
 * the lock busy, so its lock waits out of line in pthread_mutex_lock()
 * (the library calls pthread in a TSan process); its unlock must then go
 * out of line too and be pthread_mutex_unlock(), or TSan never sees the
 * release and glibc's user count is left raised.  The library sends every
 * lock operation out of line while the TSan runtime is in the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include <safekern/lock.h>

#include "mixed.h"

static SK_DEFINE_MUTEX(m);
static int got, n;

static void *waiter(void *arg)
{
	(void)arg;
	plain_lock(&m); /* busy: waits out of line */
	__atomic_store_n(&got, 1, __ATOMIC_RELEASE);
	n++;
	plain_unlock(&m);
	return NULL;
}

SK_NO_THREAD_SAFETY_ANALYSIS int main(void)
{
	pthread_t t;

	for (int round = 0; round < 20; round++) {
		got = 0;
		sk_mutex_lock(&m);
		if (pthread_create(&t, NULL, waiter, NULL))
			return 2;
		usleep(2000); /* the waiter meets the lock busy */
		if (__atomic_load_n(&got, __ATOMIC_ACQUIRE)) {
			fprintf(stderr, "the waiter got a held lock\n");
			return 1;
		}
		n++;
		sk_mutex_unlock(&m);
		pthread_join(t, NULL);
	}
	sk_mutex_lock(&m);
	printf("rounds %d, lock word %d, owner %d, users %u\n", n, m.m.__data.__lock,
	       m.m.__data.__owner, m.m.__data.__nusers);
	if (n != 40 || m.m.__data.__nusers != 1) {
		fprintf(stderr, "glibc's user count: %u with the lock held once\n",
			m.m.__data.__nusers);
		return 1;
	}
	sk_mutex_unlock(&m);
	return 0;
}
