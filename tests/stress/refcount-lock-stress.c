/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/refcount-lock-stress.c - the dec_and_lock forms under
 * contention: sk_refcount_dec_and_mutex_lock(), sk_refcount_dec_and_lock(),
 * sk_kref_put_mutex() and sk_kref_put_lock(), one mode after the other.
 *
 * A table of slots behind one lock (a struct sk_mutex or sk_spinlock)
 * reaches its objects without holding a reference: every put goes through
 * a dec_and_lock form, so a lookup under the lock never sees a count of
 * zero and takes its reference with a plain increment.  Threads look
 * objects up (creating one in an empty slot), keep a few references for a
 * while, and drop them, so that final puts race with lookups that
 * resurrect the count under the lock, and with other final puts.  Some
 * take the lock just to work under it.
 *
 * Checks:
 *   - the lock is held exactly when true is returned (or release() is
 *     called): sk_lockdep_assert_held() (run-time in the debug build), and
 *     mutual-exclusion accounting: a plain "inside" flag that no holder
 *     may find set, and a plain counter of critical sections that must
 *     equal the sum of what the threads entered (no lost update);
 *   - exactly one true (one release) per object: a per-object count under
 *     the lock, and released == created at the end;
 *   - no use after free (magic check; ASan), no violation.
 *
 * Objects come from malloc so that ASan, memcheck and helgrind see their
 * lifetimes.  A plain program so that TSan can run it; helgrind and drd
 * run the debug build, where the refcount's release/acquire hand-off is
 * annotated and lockdep checks every acquisition.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/kref.h>
#include <safekern/lock.h>
#include <safekern/refcount.h>

#include "../sk-test.h"

#define THREADS 4
#define SLOTS 4
#define HELD 4

enum { LIVE = 0x10c4ed01, FREED = 0xdeadf7ee };

enum mode { REFCOUNT_MUTEX, REFCOUNT_SPIN, KREF_MUTEX, KREF_SPIN, NMODES };

static const char *const mode_names[NMODES] = {
	"sk_refcount_dec_and_mutex_lock",
	"sk_refcount_dec_and_lock",
	"sk_kref_put_mutex",
	"sk_kref_put_lock",
};

struct table;

struct obj {
	unsigned int magic;
	unsigned int key;
	unsigned int trues; /* under the lock */
	struct table *t;
	struct sk_kref ref; /* the refcount modes use ref.refcount */
};

struct table {
	enum mode mode;
	struct sk_mutex m;
	struct sk_spinlock l;
	struct obj *slot[SLOTS];
	int inside;            /* plain: a second holder would see it set */
	unsigned long entries; /* plain: critical sections, counted under the lock */
	unsigned long created, released;
};

static bool spin_mode(const struct table *t)
{
	return t->mode == REFCOUNT_SPIN || t->mode == KREF_SPIN;
}

/* Inside a critical section: the lock is ours. */
static void enter(struct table *t)
{
	sk_check(t->inside == 0, "two holders of the %s lock at once", mode_names[t->mode]);
	t->inside = 1;
	t->entries++;
}

static void leave(struct table *t)
{
	t->inside = 0;
}

SK_NO_THREAD_SAFETY_ANALYSIS static void table_lock(struct table *t)
{
	if (spin_mode(t))
		sk_spin_lock(&t->l);
	else
		sk_mutex_lock(&t->m);
	enter(t);
}

SK_NO_THREAD_SAFETY_ANALYSIS static void table_unlock(struct table *t)
{
	leave(t);
	if (spin_mode(t))
		sk_spin_unlock(&t->l);
	else
		sk_mutex_unlock(&t->m);
}

static void use(const struct obj *o)
{
	sk_check(o->magic == LIVE, "use of object %p with magic %#x", (const void *)o, o->magic);
}

/* The last reference is gone and the lock is held: unlink, unlock, free. */
SK_NO_THREAD_SAFETY_ANALYSIS static void unlink_and_free(struct obj *o)
{
	struct table *t = o->t;

	enter(t);
	use(o);
	sk_check(sk_kref_read(&o->ref) == 0, "count %u at release", sk_kref_read(&o->ref));
	sk_check(++o->trues == 1, "object %p released %u times", (void *)o, o->trues);
	sk_check(t->slot[o->key] == o, "slot %u does not hold the released object", o->key);
	t->slot[o->key] = NULL;
	t->released++;
	o->magic = FREED;
	table_unlock(t);
	free(o);
}

/* release() for the kref modes: called with the lock held, must unlock. */
static void release_mutex(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, ref);

	sk_lockdep_assert_held(&o->t->m);
	unlink_and_free(o);
}

static void release_spin(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, ref);

	sk_lockdep_assert_held(&o->t->l);
	unlink_and_free(o);
}

/* Drop one reference; 1 if it was the last (the put entered the lock).
 * (The per-mode unlock is in unlink_and_free(), which the analysis cannot
 * name; tests/compile-fail/refcount-dec-and-lock-ok.c checks the patterns.) */
SK_NO_THREAD_SAFETY_ANALYSIS static int put(struct table *t, struct obj *o)
{
	use(o);
	switch (t->mode) {
	case REFCOUNT_MUTEX:
		if (!sk_refcount_dec_and_mutex_lock(&o->ref.refcount, &t->m))
			return 0;
		sk_lockdep_assert_held(&t->m);
		unlink_and_free(o);
		return 1;
	case REFCOUNT_SPIN:
		if (!sk_refcount_dec_and_lock(&o->ref.refcount, &t->l))
			return 0;
		sk_lockdep_assert_held(&t->l);
		unlink_and_free(o);
		return 1;
	case KREF_MUTEX:
		return sk_kref_put_mutex(&o->ref, release_mutex, &t->m);
	case KREF_SPIN:
		return sk_kref_put_lock(&o->ref, release_spin, &t->l);
	case NMODES:
		break;
	}
	return 0;
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct worker {
	pthread_t tid;
	struct table *t;
	uint32_t seed;
	uint64_t iters;
	unsigned long entered, lookups, finals;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct table *t = w->t;
	struct obj *held[HELD] = { NULL };
	unsigned int nheld = 0;

	for (uint64_t i = 0; i < w->iters; i++) {
		uint32_t r = next_rand(&w->seed);
		unsigned int k = r % SLOTS;
		unsigned int op = (r >> 8) % 8;
		struct obj *o;

		if (op == 0) {
			/* Work under the lock, racing the final puts. */
			table_lock(t);
			w->entered++;
			if (t->slot[k])
				use(t->slot[k]);
			table_unlock(t);
			continue;
		}
		if (nheld == HELD || (op == 1 && nheld)) {
			/* Drop the oldest reference: may be the last. */
			o = held[0];
			memmove(held, held + 1, sizeof(held[0]) * (HELD - 1));
			nheld--;
			if (put(t, o)) {
				w->entered++;
				w->finals++;
			}
			continue;
		}
		/* Lookup under the lock: the count is never zero here.  Dawdle
		 * a little first, so that final puts of this object queue on
		 * the lock behind us and find the count raised again. */
		table_lock(t);
		w->entered++;
		for (volatile int spin = 0; spin < 64; spin++)
			;
		o = t->slot[k];
		if (!o) {
			o = malloc(sizeof(*o));
			sk_check(o != NULL, "out of memory");
			o->magic = LIVE;
			o->key = k;
			o->trues = 0;
			o->t = t;
			sk_kref_init(&o->ref); /* our reference */
			t->slot[k] = o;
			t->created++;
		} else {
			use(o);
			sk_kref_get(&o->ref);
		}
		table_unlock(t);
		w->lookups++;
		held[nheld++] = o;
	}
	while (nheld) {
		if (put(t, held[--nheld])) {
			w->entered++;
			w->finals++;
		}
	}
	return NULL;
}

static void run(enum mode mode)
{
	static struct table t;
	struct worker w[THREADS];
	unsigned long entered = 0, lookups = 0, finals = 0;

	memset(&t, 0, sizeof(t));
	t.mode = mode;
	sk_mutex_init(&t.m);
	sk_spin_lock_init(&t.l);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .t = &t,
					.seed = 0x9e3779b9u * (uint32_t)(i + 1 + 16 * (int)mode),
					.iters = sk_test_iters(200000, 1000) };
		sk_check(pthread_create(&w[i].tid, NULL, worker, &w[i]) == 0, "pthread_create");
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		entered += w[i].entered;
		lookups += w[i].lookups;
		finals += w[i].finals;
	}
	for (int k = 0; k < SLOTS; k++)
		sk_check(t.slot[k] == NULL, "slot %d still holds %p", k, (void *)t.slot[k]);
	sk_check(t.created > 0, "nothing created");
	sk_check(t.released == t.created, "%s: created %lu, released %lu", mode_names[mode],
		 t.created, t.released);
	sk_check(finals == t.created, "%s: %lu true results for %lu objects", mode_names[mode],
		 finals, t.created);
	sk_check(t.entries == entered, "%s: %lu critical sections counted, %lu entered",
		 mode_names[mode], t.entries, entered);
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	sk_mutex_destroy(&t.m);
	sk_spin_lock_destroy(&t.l);
	printf("refcount-lock-stress: %s: %d threads, %lu lookups, %lu objects, each "
	       "released once under the lock\n",
	       mode_names[mode], THREADS, lookups, t.created);
}

int main(void)
{
	for (int m = 0; m < NMODES; m++)
		run((enum mode)m);
	return 0;
}
