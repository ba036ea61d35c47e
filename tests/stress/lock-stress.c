/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/lock-stress.c - threads hammer sk_mutex, sk_spinlock and
 * sk_rwlock (plain, trylock, nested in one global order, and through
 * guards) with exact accounting: every increment made under a lock is
 * there at the end, readers never see a half-finished write, and nothing
 * is reported.  The debug build runs with the lock validator on, so the
 * nested phase also exercises its concurrent slow path (new chains
 * validated by several threads at once) and its chain cache.  One mutex
 * is held across a sched_yield() now and then, so that its waiters sleep
 * in the kernel and each unlock must wake one (on glibc x86 the inline
 * unlock's wake, lock.h).  A plain program so that TSan, helgrind and drd
 * can run it.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/lock.h>

#include "../sk-test.h"

#define THREADS 4
#define NESTED 6

struct counters {
	struct sk_mutex mutex;
	unsigned long mutex_n;
	struct sk_spinlock spin;
	unsigned long spin_n;
	struct sk_rwlock rw;
	unsigned long rw_a, rw_b;
	unsigned long reads, torn;
	struct sk_mutex nested[NESTED];
	unsigned long nested_n[NESTED];
	struct sk_mutex guarded;
	unsigned long guarded_n;
	struct sk_mutex sleepy;
	unsigned long sleepy_n;
};

static struct counters c;
static struct sk_lock_class_key nested_keys[NESTED];
static unsigned long nested_want[NESTED]; /* under stats_lock */
static SK_DEFINE_SPINLOCK(stats_lock);
static unsigned long trylock_hits;

static uint64_t iters;

static void guarded_inc(void)
{
	sk_guard(mutex)(&c.guarded);
	c.guarded_n++;
}

/* Conditional locking in a loop is beyond the thread-safety analysis. */
SK_NO_THREAD_SAFETY_ANALYSIS static void nested_round(unsigned int mask, unsigned long *mine)
{
	for (unsigned int k = 0; k < NESTED; k++)
		if (mask & (1U << k))
			sk_mutex_lock(&c.nested[k]);
	for (unsigned int k = NESTED; k-- > 0;)
		if (mask & (1U << k)) {
			c.nested_n[k]++;
			mine[k]++;
			sk_mutex_unlock(&c.nested[k]);
		}
}

static void *worker(void *arg)
{
	unsigned int id = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (id + 1);
	unsigned long my_reads = 0, my_try = 0, my_nested[NESTED] = { 0 };

	for (uint64_t i = 0; i < iters; i++) {
		/* Mutex, half of the time through trylock. */
		if ((i & 1) && sk_mutex_trylock(&c.mutex)) {
			my_try++;
			c.mutex_n++;
			sk_mutex_unlock(&c.mutex);
		} else {
			sk_mutex_lock(&c.mutex);
			c.mutex_n++;
			sk_mutex_unlock(&c.mutex);
		}

		sk_spin_lock(&c.spin);
		c.spin_n++;
		sk_spin_unlock(&c.spin);

		/* Rwlock: one write in four. */
		if (i % 4 == (uint64_t)id % 4) {
			sk_write_lock(&c.rw);
			c.rw_a++;
			c.rw_b++;
			sk_write_unlock(&c.rw);
		} else {
			sk_read_lock(&c.rw);
			if (c.rw_a != c.rw_b)
				__atomic_add_fetch(&c.torn, 1, __ATOMIC_RELAXED);
			sk_read_unlock(&c.rw);
			my_reads++;
		}

		/* Nested: a random subset, always in index order. */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		nested_round((unsigned int)(seed >> 32) & ((1U << NESTED) - 1), my_nested);

		guarded_inc();

		/* Held across a yield: the others block and sleep on it. */
		if (i % 16 == (uint64_t)id) {
			sk_mutex_lock(&c.sleepy);
			sched_yield();
			c.sleepy_n++;
			sk_mutex_unlock(&c.sleepy);
		}
	}
	sk_spin_lock(&stats_lock);
	c.reads += my_reads;
	trylock_hits += my_try;
	for (int k = 0; k < NESTED; k++)
		nested_want[k] += my_nested[k];
	sk_spin_unlock(&stats_lock);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	unsigned long nested_total = 0, sleepy_want = 0;

	iters = sk_test_iters(100000, 500);
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	SK_TEST_BENIGN_RACE(&c.torn, sizeof(c.torn));

	sk_mutex_init(&c.mutex);
	sk_spin_lock_init(&c.spin);
	sk_rwlock_init(&c.rw);
	sk_mutex_init(&c.guarded);
	sk_mutex_init(&c.sleepy);
	for (int k = 0; k < NESTED; k++) {
		sk_mutex_init(&c.nested[k]);
		sk_lockdep_set_class(&c.nested[k], &nested_keys[k]);
	}

	for (int i = 0; i < THREADS; i++)
		sk_check(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0, "create");
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	sk_check(c.mutex_n == THREADS * iters, "mutex %lu", c.mutex_n);
	sk_check(c.spin_n == THREADS * iters, "spin %lu", c.spin_n);
	sk_check(c.rw_a == c.rw_b, "rw %lu %lu", c.rw_a, c.rw_b);
	sk_check(c.rw_a + c.reads == THREADS * iters, "rw %lu + %lu", c.rw_a, c.reads);
	sk_check(c.torn == 0, "readers saw %lu torn writes", c.torn);
	sk_check(c.guarded_n == THREADS * iters, "guarded %lu", c.guarded_n);
	for (uint64_t id = 0; id < THREADS && id < iters; id++)
		sleepy_want += (iters - id + 15) / 16;
	sk_check(c.sleepy_n == sleepy_want, "sleepy %lu of %lu", c.sleepy_n, sleepy_want);
#ifdef __GLIBC__
	/* glibc's own fields as its calls would have left them. */
	sk_check(c.sleepy.m.__data.__lock == 0 && c.sleepy.m.__data.__owner == 0 &&
			 c.sleepy.m.__data.__nusers == 0,
		 "sleepy mutex left %d/%d/%u", c.sleepy.m.__data.__lock, c.sleepy.m.__data.__owner,
		 c.sleepy.m.__data.__nusers);
#endif
	/* Each nested counter is exact: a lock that let two threads in at
	 * once would lose an increment. */
	for (int k = 0; k < NESTED; k++) {
		sk_check(c.nested_n[k] == nested_want[k], "nested %d: %lu of %lu", k, c.nested_n[k],
			 nested_want[k]);
		nested_total += c.nested_n[k];
	}
	sk_check(nested_total > 0, "nested");
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
#ifdef SK_DEBUG
	/* The debug build is the validator's stress: it must have been on. */
	sk_check(sk_lockdep_enabled(), "the validator was off (SAFEKERN_LOCKDEP=0?)");
#endif

	sk_mutex_destroy(&c.mutex);
	sk_spin_lock_destroy(&c.spin);
	sk_rwlock_destroy(&c.rw);
	sk_mutex_destroy(&c.guarded);
	sk_mutex_destroy(&c.sleepy);
	for (int k = 0; k < NESTED; k++)
		sk_mutex_destroy(&c.nested[k]);
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("lock-stress: %d threads x %lu iterations, validator %s, %lu trylock hits, "
	       "%lu nested acquisitions, no violations\n",
	       THREADS, (unsigned long)iters, sk_lockdep_enabled() ? "on" : "off", trylock_hits,
	       nested_total);
	return 0;
}
