/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/wkref-stress.c - weak upgrades racing the last strong put.
 *
 * slots[] hold weak references.  Each thread, at random, either creates an
 * object (it holds the only strong reference), publishes a weak reference
 * to it in a slot, and drops its strong reference a little later (usually
 * the last one: the destructor runs while others are upgrading), or takes
 * a weak reference from a slot and upgrades it.  An upgrade must either
 * fail or return a live object (state ALIVE, never DEAD or freed); an
 * object's destructor runs exactly once, after which its memory is freed
 * exactly once, when the last weak reference goes.
 *
 * Memory from malloc so that ASan and the Valgrind tools see it (see
 * refcount-stress.c).  A plain program so that TSan can run it; helgrind
 * and drd run the debug build.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/wkref.h>

#include "../sk-test.h"

#define THREADS 4
#define SLOTS 8
#define OWNED 4

enum { ALIVE = 0xa11ea11e, DEAD = 0xdeaddead, FREED = 0xf7eef7ee };

struct obj {
	unsigned int state;
	unsigned int id;
	struct sk_wkref ref;
};

struct slot {
	pthread_mutex_t lock;
	struct obj *obj; /* a weak reference */
};

static struct slot slots[SLOTS];
static unsigned long created, destroyed, freed;

static void obj_release(struct sk_wkref *ref)
{
	struct obj *o = sk_container_of(ref, struct obj, ref);

	sk_check(o->state == ALIVE, "destructor on object %u in state %#x", o->id, o->state);
	o->state = DEAD;
	__atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
}

static void obj_dealloc(struct sk_wkref *ref)
{
	struct obj *o = sk_container_of(ref, struct obj, ref);

	sk_check(o->state == DEAD, "freeing object %u in state %#x", o->id, o->state);
	o->state = FREED;
	__atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
	free(o);
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
	uint32_t seed;
	uint64_t iters;
	unsigned long upgrades, upgrade_failures;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct obj *owned[OWNED] = { NULL };
	unsigned int nowned = 0;

	for (uint64_t i = 0; i < w->iters; i++) {
		uint32_t r = next_rand(&w->seed);
		unsigned int k = r % SLOTS;
		struct obj *o, *old;

		if ((r >> 8) % 4 == 0) {
			/* Create, publish a weak reference, keep the strong one. */
			o = malloc(sizeof(*o));
			sk_check(o != NULL, "out of memory");
			o->state = ALIVE;
			o->id = (unsigned int)__atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
			sk_wkref_init(&o->ref);
			sk_wkref_get_weak(&o->ref); /* the slot's */
			pthread_mutex_lock(&slots[k].lock);
			old = slots[k].obj;
			slots[k].obj = o;
			pthread_mutex_unlock(&slots[k].lock);
			if (old)
				sk_wkref_put_weak(&old->ref, obj_dealloc);
			if (nowned == OWNED) {
				/* Usually the last strong reference. */
				sk_wkref_put(&owned[0]->ref, obj_release, obj_dealloc);
				memmove(owned, owned + 1, sizeof(owned[0]) * (OWNED - 1));
				nowned--;
			}
			owned[nowned++] = o;
			continue;
		}

		/* Take a weak reference from the slot, then upgrade it. */
		pthread_mutex_lock(&slots[k].lock);
		o = slots[k].obj;
		if (o)
			sk_wkref_get_weak(&o->ref);
		pthread_mutex_unlock(&slots[k].lock);
		if (!o)
			continue;
		if (sk_wkref_upgrade(&o->ref)) {
			w->upgrades++;
			sk_check(o->state == ALIVE, "upgrade returned object %u in state %#x", o->id,
				 o->state);
			if (r & 0x10000) {
				/* Pass it around a little: another strong reference. */
				sk_wkref_get(&o->ref);
				sk_wkref_put(&o->ref, obj_release, obj_dealloc);
			}
			sk_check(o->state == ALIVE, "object %u died under a strong reference", o->id);
			sk_wkref_put(&o->ref, obj_release, obj_dealloc);
		} else {
			w->upgrade_failures++;
			sk_check(sk_wkref_read(&o->ref) == 0, "upgrade failed on a live object");
		}
		sk_wkref_put_weak(&o->ref, obj_dealloc);
	}
	while (nowned)
		sk_wkref_put(&owned[--nowned]->ref, obj_release, obj_dealloc);
	return NULL;
}

int main(void)
{
	struct worker w[THREADS];
	unsigned long ups = 0, fails = 0;

	for (int k = 0; k < SLOTS; k++)
		pthread_mutex_init(&slots[k].lock, NULL);
	SK_TEST_BENIGN_RACE(&created, sizeof(created));
	SK_TEST_BENIGN_RACE(&destroyed, sizeof(destroyed));
	SK_TEST_BENIGN_RACE(&freed, sizeof(freed));

	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .seed = 0x2545f491u * (unsigned int)(t + 3),
					.iters = sk_test_iters(200000, 2000) };
		pthread_create(&w[t].tid, NULL, worker, &w[t]);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(w[t].tid, NULL);
		ups += w[t].upgrades;
		fails += w[t].upgrade_failures;
	}
	/* Every strong reference is gone: every object was destroyed once. */
	sk_check(destroyed == created, "created %lu, destroyed %lu", created, destroyed);
	for (int k = 0; k < SLOTS; k++) {
		if (slots[k].obj)
			sk_wkref_put_weak(&slots[k].obj->ref, obj_dealloc);
		slots[k].obj = NULL;
	}
	sk_check(freed == created, "created %lu, freed %lu", created, freed);
	sk_check(ups > 0, "no upgrade succeeded");
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("wkref-stress: %d threads, %lu objects destroyed and freed once each, "
	       "%lu upgrades, %lu refused on dead objects\n",
	       THREADS, created, ups, fails);
	return 0;
}
