/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/refcount-stress.c - N threads get and put shared objects:
 * exactly one release per object, no access after release.
 *
 * Objects live in two tables.  slots[] holds a reference to its object
 * (replace and remove drop it); index[] does not (the kref_get_unless_zero
 * lookup pattern: the release function takes the object out of the index
 * under the index lock, so a lookup may find an object whose count has
 * already reached zero and must refuse it).  Threads look objects up in
 * both ways, keep a few references for a while (so puts race with gets and
 * with the final put from another thread), replace and remove objects.
 *
 * Checks: every object is released exactly once (released == created, a
 * second release would trip the magic check or ASan's double free); every
 * object used is alive (magic check; ASan reports a use after free); no
 * violation is reported.  The objects come from malloc, not sk_kmalloc, so
 * that ASan, memcheck and helgrind see their lifetimes.  A plain program so
 * that TSan can run it; helgrind and drd run the debug build, where the
 * refcount's release/acquire hand-off is annotated.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/kref.h>

#include "../sk-test.h"

#define THREADS 4
#define SLOTS 16
#define HELD 8

enum { LIVE = 0x11fe11fe, FREED = 0xf7eef7ee };

struct obj {
	unsigned int magic;
	unsigned int key;
	unsigned long payload;
	struct sk_kref ref;
};

struct table {
	pthread_mutex_t lock;
	struct obj *obj;
};

static struct table slots[SLOTS];  /* each holds a reference */
static struct table index_[SLOTS]; /* holds none: get_unless_zero lookups */
static unsigned long created, released;

static void obj_release(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, ref);
	struct table *ix = &index_[o->key];

	sk_check(o->magic == LIVE, "release of object %p with magic %#x", (void *)o, o->magic);
	pthread_mutex_lock(&ix->lock);
	if (ix->obj == o)
		ix->obj = NULL;
	pthread_mutex_unlock(&ix->lock);
	o->magic = FREED;
	__atomic_add_fetch(&released, 1, __ATOMIC_RELAXED);
	free(o);
}

static struct obj *obj_create(unsigned int key)
{
	struct obj *o = malloc(sizeof(*o));

	sk_check(o != NULL, "out of memory");
	o->magic = LIVE;
	o->key = key;
	o->payload = key;
	sk_kref_init(&o->ref); /* the slot's reference */
	__atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
	return o;
}

static void use(struct obj *o)
{
	sk_check(o->magic == LIVE, "use of object %p with magic %#x", (void *)o, o->magic);
	sk_check(o->payload == o->key, "payload %lu, key %u", o->payload, o->key);
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
	unsigned long gets, lookups_refused;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct obj *held[HELD] = { NULL };
	unsigned int nheld = 0;

	for (uint64_t i = 0; i < w->iters; i++) {
		uint32_t r = next_rand(&w->seed);
		unsigned int k = r % SLOTS;
		unsigned int op = (r >> 8) % 16;
		struct obj *o = NULL, *old;

		if (op == 0) {
			/* Replace: the new object takes the slot and the index. */
			struct obj *n = obj_create(k);

			pthread_mutex_lock(&index_[k].lock);
			index_[k].obj = n;
			pthread_mutex_unlock(&index_[k].lock);
			pthread_mutex_lock(&slots[k].lock);
			old = slots[k].obj;
			slots[k].obj = n;
			pthread_mutex_unlock(&slots[k].lock);
			if (old)
				sk_kref_put(&old->ref, obj_release);
			continue;
		}
		if (op == 1) {
			/* Remove from the slot: drop the slot's reference. */
			pthread_mutex_lock(&slots[k].lock);
			old = slots[k].obj;
			slots[k].obj = NULL;
			pthread_mutex_unlock(&slots[k].lock);
			if (old)
				sk_kref_put(&old->ref, obj_release);
			continue;
		}
		if (op < 9) {
			/* Lookup through the slot, which holds a reference. */
			pthread_mutex_lock(&slots[k].lock);
			o = slots[k].obj;
			if (o)
				sk_kref_get(&o->ref);
			pthread_mutex_unlock(&slots[k].lock);
		} else {
			/* Lookup through the index: the count may be zero. */
			pthread_mutex_lock(&index_[k].lock);
			o = index_[k].obj;
			if (o && !sk_kref_get_unless_zero(&o->ref)) {
				w->lookups_refused++;
				o = NULL;
			}
			pthread_mutex_unlock(&index_[k].lock);
		}
		if (!o)
			continue;
		w->gets++;
		use(o);
		if (nheld == HELD) {
			/* Drop the oldest held reference: may be the last one. */
			use(held[0]);
			sk_kref_put(&held[0]->ref, obj_release);
			memmove(held, held + 1, sizeof(held[0]) * (HELD - 1));
			nheld--;
		}
		held[nheld++] = o;
	}
	while (nheld)
		sk_kref_put(&held[--nheld]->ref, obj_release);
	return NULL;
}

int main(void)
{
	struct worker w[THREADS];
	unsigned long gets = 0, refused = 0;

	for (int k = 0; k < SLOTS; k++) {
		pthread_mutex_init(&slots[k].lock, NULL);
		pthread_mutex_init(&index_[k].lock, NULL);
	}
	SK_TEST_BENIGN_RACE(&created, sizeof(created));
	SK_TEST_BENIGN_RACE(&released, sizeof(released));

	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .seed = 0x9e3779b9u * (unsigned int)(t + 1),
					.iters = sk_test_iters(200000, 2000) };
		pthread_create(&w[t].tid, NULL, worker, &w[t]);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(w[t].tid, NULL);
		gets += w[t].gets;
		refused += w[t].lookups_refused;
	}
	/* Drop the slots' references: every object must now be released. */
	for (int k = 0; k < SLOTS; k++) {
		if (slots[k].obj)
			sk_kref_put(&slots[k].obj->ref, obj_release);
		slots[k].obj = NULL;
	}
	for (int k = 0; k < SLOTS; k++)
		sk_check(index_[k].obj == NULL, "index %d still holds %p", k, (void *)index_[k].obj);
	sk_check(created > 0, "nothing created");
	sk_check(released == created, "created %lu, released %lu", created, released);
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("refcount-stress: %d threads, %lu objects created and released once each, "
	       "%lu gets, %lu lookups refused at zero\n",
	       THREADS, created, gets, refused);
	return 0;
}
