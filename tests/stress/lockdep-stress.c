/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/lockdep-stress.c - the lock validator under concurrency:
 * threads build the dependency graph at the same time, then invert each
 * other's orders at the same time, and every report is accounted for.
 *
 * Pair k has two classes, "pair<k>.x" and "pair<k>.y".  In phase 1 thread
 * k takes x then y (on its own locks, many times).  In phase 2 threads
 * k-1 and k-2 both take y then x on their own locks of the same classes,
 * at the same time, k-2 under an outer lock (another chain to the same
 * inverted edge): one possible deadlock per pair must be reported, no
 * more (a second thread finding the same inversion is not a new report),
 * and it must name both classes.  Three threads close a cycle of three
 * classes across threads (p -> q on one, q -> r on another, then r -> p
 * on a third): one report naming all three.  All along, every thread
 * nests shared locks in one global order (real contention, new chains
 * validated by several threads at once, then the chain cache): nothing
 * reported there, and every increment made under those locks is counted.
 * Last, short-lived threads register with the validator and exit at the
 * same time; outside Valgrind (helgrind reports it as the bug it is) some
 * of them exit holding a lock, reported once each.
 *
 * No thread's locks are ever taken in both orders, so nothing deadlocks
 * and helgrind's own lock-order check has nothing to find.  Runs at both
 * check levels: the hardened build turns the validator on with
 * sk_lockdep_enable().  A plain program so that TSan, helgrind and drd can
 * run it.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/lock.h>

#include "../sk-test.h"

#define THREADS 4
#define ORDERED 6
#define SHORT_THREADS 24
#define MAX_REPORTS 64

#define NT SK_NO_THREAD_SAFETY_ANALYSIS

/* Pair k's locks as thread t has them: locks[t][k]. */
static struct {
	struct sk_mutex x, y;
} locks[THREADS][THREADS];
static struct sk_lock_class_key key_x[THREADS], key_y[THREADS];
static char name_x[THREADS][16], name_y[THREADS][16];

/* One class ("&outer[t]"), a lock per thread. */
static struct sk_mutex outer[THREADS];

/* The three-class cycle: each of threads 0..2 has its own locks. */
static struct sk_mutex cyc_p[3], cyc_q[3], cyc_r[3];
static struct sk_lock_class_key key_p, key_q, key_r;

/* Shared, always nested in index order. */
static struct sk_mutex ordered[ORDERED];
static struct sk_lock_class_key ordered_keys[ORDERED];
static unsigned long ordered_n[ORDERED];
static unsigned long ordered_done[THREADS + SHORT_THREADS];

static pthread_barrier_t phase;
static uint64_t iters;

/* Every report, recorded from whichever thread made it. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	enum sk_violation_kind kind;
	char detail[1024];
} rec[MAX_REPORTS];
static unsigned int nrec, lost;

static void record(const struct sk_violation *v, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rec_lock);
	if (nrec < MAX_REPORTS) {
		rec[nrec].kind = v->kind;
		snprintf(rec[nrec].detail, sizeof(rec[nrec].detail), "%s", v->detail);
		nrec++;
	} else {
		lost++;
	}
	pthread_mutex_unlock(&rec_lock);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random subset of the shared locks, in index order; counts under each. */
NT static void ordered_round(unsigned int who, uint64_t *seed)
{
	unsigned int mask = (unsigned int)(xorshift(seed) >> 32) & ((1U << ORDERED) - 1);

	for (unsigned int k = 0; k < ORDERED; k++)
		if (mask & (1U << k))
			sk_mutex_lock(&ordered[k]);
	for (unsigned int k = ORDERED; k-- > 0;)
		if (mask & (1U << k)) {
			ordered_n[k]++;
			ordered_done[who]++;
			sk_mutex_unlock(&ordered[k]);
		}
}

NT static void take_two(struct sk_mutex *first, struct sk_mutex *second)
{
	sk_mutex_lock(first);
	sk_mutex_lock(second);
	sk_mutex_unlock(second);
	sk_mutex_unlock(first);
}

static void *worker(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (t + 1);

	/* Phase 1: x before y for this thread's own pair; the cycle's edges. */
	for (uint64_t i = 0; i < iters; i++) {
		take_two(&locks[t][t].x, &locks[t][t].y);
		if (t == 0)
			take_two(&cyc_p[0], &cyc_q[0]);
		else if (t == 1)
			take_two(&cyc_q[1], &cyc_r[1]);
		ordered_round(t, &seed);
	}
	pthread_barrier_wait(&phase);

	/* Phase 2: y before x for the next two pairs, on this thread's locks. */
	for (uint64_t i = 0; i < iters; i++) {
		/*
		 * The second inverts under an outer lock: another chain
		 * reaching the same inverted edge, so only the edge (not
		 * the chain cache) can tell it was reported already.
		 */
		take_two(&locks[t][(t + 1) % THREADS].y, &locks[t][(t + 1) % THREADS].x);
		sk_mutex_lock(&outer[t]);
		take_two(&locks[t][(t + 2) % THREADS].y, &locks[t][(t + 2) % THREADS].x);
		sk_mutex_unlock(&outer[t]);
		take_two(&locks[t][t].x, &locks[t][t].y); /* the right order still passes */
		if (t == 2)
			take_two(&cyc_r[2], &cyc_p[2]);
		ordered_round(t, &seed);
	}
	return NULL;
}

static struct sk_mutex exit_lock[SHORT_THREADS];
static bool exit_holding[SHORT_THREADS];

NT static void *short_lived(void *arg)
{
	unsigned int i = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x2545f4914f6cdd1dULL * (i + 1);

	for (int r = 0; r < 16; r++)
		ordered_round(THREADS + i, &seed);
	if (exit_holding[i])
		sk_mutex_lock(&exit_lock[i]); /* and exit: the bug reported */
	return NULL;
}

/* How many recorded reports of @kind contain every string of @want. */
static unsigned int reports_naming(enum sk_violation_kind kind, const char *const *want,
				   unsigned int nwant)
{
	unsigned int n = 0;

	for (unsigned int r = 0; r < nrec; r++) {
		unsigned int w = 0;

		if (rec[r].kind != kind)
			continue;
		while (w < nwant && strstr(rec[r].detail, want[w]))
			w++;
		n += w == nwant;
	}
	return n;
}

int main(void)
{
	pthread_t th[THREADS], sh[SHORT_THREADS];
	unsigned long sum_n = 0, sum_done = 0, held_exits = 0;
	char want_x[80], want_y[80];

	iters = sk_test_iters(50000, 500);
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_violation_set_handler(record, NULL);
	sk_check(sk_lockdep_enable() == 0, "the validator cannot be turned on");

	for (unsigned int k = 0; k < THREADS; k++) {
		snprintf(name_x[k], sizeof(name_x[k]), "pair%u.x", k);
		snprintf(name_y[k], sizeof(name_y[k]), "pair%u.y", k);
		for (unsigned int t = 0; t < THREADS; t++) {
			sk_mutex_init(&locks[t][k].x);
			sk_mutex_init(&locks[t][k].y);
			sk_lockdep_set_class_and_name(&locks[t][k].x, &key_x[k], name_x[k]);
			sk_lockdep_set_class_and_name(&locks[t][k].y, &key_y[k], name_y[k]);
		}
	}
	for (unsigned int t = 0; t < THREADS; t++)
		sk_mutex_init(&outer[t]);
	for (unsigned int t = 0; t < 3; t++) {
		sk_mutex_init(&cyc_p[t]);
		sk_mutex_init(&cyc_q[t]);
		sk_mutex_init(&cyc_r[t]);
		sk_lockdep_set_class_and_name(&cyc_p[t], &key_p, "cyc.p");
		sk_lockdep_set_class_and_name(&cyc_q[t], &key_q, "cyc.q");
		sk_lockdep_set_class_and_name(&cyc_r[t], &key_r, "cyc.r");
	}
	for (unsigned int k = 0; k < ORDERED; k++) {
		sk_mutex_init(&ordered[k]);
		sk_lockdep_set_class(&ordered[k], &ordered_keys[k]);
	}
	sk_check(pthread_barrier_init(&phase, NULL, THREADS) == 0, "barrier");

	for (unsigned int t = 0; t < THREADS; t++)
		sk_check(pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t) == 0, "create");
	for (unsigned int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* Short-lived threads, all started before any is joined. */
	for (unsigned int i = 0; i < SHORT_THREADS; i++) {
		sk_mutex_init(&exit_lock[i]);
		exit_holding[i] = !sk_test_under_valgrind() && i % 4 == 3;
		held_exits += exit_holding[i];
	}
	for (unsigned int i = 0; i < SHORT_THREADS; i++)
		sk_check(pthread_create(&sh[i], NULL, short_lived, (void *)(uintptr_t)i) == 0,
			 "create");
	for (unsigned int i = 0; i < SHORT_THREADS; i++)
		pthread_join(sh[i], NULL);

	sk_violation_set_handler(NULL, NULL);
	pthread_barrier_destroy(&phase);

	/* One inversion per pair, naming both of its classes. */
	for (unsigned int k = 0; k < THREADS; k++) {
		const char *want[] = { want_x, want_y, "lockdep-stress.c:" };

		snprintf(want_x, sizeof(want_x), "\"%s\"", name_x[k]);
		snprintf(want_y, sizeof(want_y), "\"%s\"", name_y[k]);
		sk_check(reports_naming(SK_VIOLATION_LOCK_ORDER_INVERSION, want, 3) == 1,
			 "pair %u: %u inversion reports naming it, expected 1", k,
			 reports_naming(SK_VIOLATION_LOCK_ORDER_INVERSION, want, 3));
	}
	/* The cycle across three threads: one report, all three classes. */
	{
		const char *want[] = { "\"cyc.p\"", "\"cyc.q\"", "\"cyc.r\"" };

		sk_check(reports_naming(SK_VIOLATION_LOCK_ORDER_INVERSION, want, 3) == 1,
			 "%u reports of the three-class cycle, expected 1",
			 reports_naming(SK_VIOLATION_LOCK_ORDER_INVERSION, want, 3));
	}
	/* Each dead holder: one report naming its lock's class. */
	{
		const char *want[] = { "thread exited holding 1 lock", "\"&exit_lock[i]\"" };

		sk_check(reports_naming(SK_VIOLATION_LOCK_HELD_AT_EXIT, want, 2) == held_exits,
			 "%u held-at-exit reports, expected %lu",
			 reports_naming(SK_VIOLATION_LOCK_HELD_AT_EXIT, want, 2), held_exits);
	}
	/* Nothing else: the counters agree with the records. */
	sk_check(lost == 0, "%u reports beyond the record", lost);
	sk_check(nrec == THREADS + 1 + held_exits, "%u reports, expected %lu", nrec,
		 THREADS + 1 + held_exits);
	sk_check(sk_violation_count(SK_VIOLATION_LOCK_ORDER_INVERSION) == THREADS + 1, "%lu inversions",
		 sk_violation_count(SK_VIOLATION_LOCK_ORDER_INVERSION));
	sk_check(sk_violation_count(SK_VIOLATION_LOCK_HELD_AT_EXIT) == held_exits, "%lu held at exit",
		 sk_violation_count(SK_VIOLATION_LOCK_HELD_AT_EXIT));
	sk_check(sk_violation_total() == nrec, "%lu violations, %u recorded", sk_violation_total(),
		 nrec);
	sk_check(sk_lockdep_enabled(), "the validator turned itself off (capacity?)");

	/* The shared locks did their job. */
	for (unsigned int k = 0; k < ORDERED; k++)
		sum_n += ordered_n[k];
	for (unsigned int i = 0; i < THREADS + SHORT_THREADS; i++)
		sum_done += ordered_done[i];
	sk_check(sum_n == sum_done && sum_n > 0, "ordered locks: %lu increments, %lu made", sum_n,
		 sum_done);

	for (unsigned int k = 0; k < THREADS; k++)
		for (unsigned int t = 0; t < THREADS; t++) {
			sk_mutex_destroy(&locks[t][k].x);
			sk_mutex_destroy(&locks[t][k].y);
		}
	for (unsigned int t = 0; t < THREADS; t++)
		sk_mutex_destroy(&outer[t]);
	for (unsigned int t = 0; t < 3; t++) {
		sk_mutex_destroy(&cyc_p[t]);
		sk_mutex_destroy(&cyc_q[t]);
		sk_mutex_destroy(&cyc_r[t]);
	}
	for (unsigned int k = 0; k < ORDERED; k++)
		sk_mutex_destroy(&ordered[k]);
	for (unsigned int i = 0; i < SHORT_THREADS; i++)
		if (!exit_holding[i])
			sk_mutex_destroy(&exit_lock[i]);
	sk_check(sk_violation_total() == nrec, "destroy reported %lu", sk_violation_total() - nrec);

	printf("lockdep-stress: %d threads x %lu iterations, %lu shared acquisitions, "
	       "%u reports (%d inversions, 1 cycle, %lu held at exit), all accounted for\n",
	       THREADS, (unsigned long)iters, sum_n, nrec, THREADS, held_exits);
	return 0;
}
