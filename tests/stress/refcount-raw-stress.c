/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/refcount-raw-stress.c - the sk_refcount_t operations that
 * kref does not use, from N threads on shared objects: add, add_not_zero,
 * inc_not_zero_acquire to take references; dec, sub_and_test,
 * dec_and_test, dec_not_one and dec_if_one to drop them.
 *
 * Each slot holds one reference on its object; a thread takes 1 to 3
 * references under the slot's lock (so the count is not zero), keeps a few
 * holdings for a while, and drops each by one of the drop operations, in
 * the way each is meant to be used: dec only while the holding has another
 * reference, dec_not_one and dec_if_one as the tests they are (false from
 * dec_not_one, or true from dec_if_one, means this thread held the last
 * reference, which the holding must confirm).  Threads also replace slot
 * objects, dropping the slot's reference.  Whoever drops the last
 * reference frees the object.
 *
 * Exact accounting: every object is freed exactly once (freed == created,
 * a magic check on every use and free, ASan's double free); at the end,
 * with every holding dropped, each slot's object has a count of exactly 1
 * (nothing lost, nothing counted twice); no violation is reported.  A
 * plain program so that TSan can run it; helgrind and drd run the debug
 * build, where the hand-off to the freeing thread is annotated.
 */
#define SK_TEST_PLAIN
#include <pthread.h>

#include <safekern/refcount.h>

#include "../sk-test.h"

#define THREADS 4
#define SLOTS 8
#define HELD 6

enum { LIVE = 0x11fe11fe, FREED = 0xf7eef7ee };

struct obj {
	unsigned int magic;
	unsigned int key;
	sk_refcount_t ref;
};

struct slot {
	pthread_mutex_t lock;
	struct obj *obj;
};

static struct slot slots[SLOTS];
static unsigned long created, freed;
static pthread_barrier_t start; /* the workers start together */

static struct obj *obj_create(unsigned int key)
{
	struct obj *o = malloc(sizeof(*o));

	sk_check(o != NULL, "out of memory");
	o->magic = LIVE;
	o->key = key;
	sk_refcount_set(&o->ref, 1); /* the slot's reference */
	__atomic_add_fetch(&created, 1, __ATOMIC_RELAXED);
	return o;
}

/* The last reference went: called once per object. */
static void obj_free(struct obj *o)
{
	sk_check(o->magic == LIVE, "free of object %p with magic %#x", (void *)o, o->magic);
	o->magic = FREED;
	__atomic_add_fetch(&freed, 1, __ATOMIC_RELAXED);
	free(o);
}

static void use(const struct obj *o)
{
	sk_check(o->magic == LIVE, "use of object %p with magic %#x", (void *)o, o->magic);
	sk_check(o->key < SLOTS, "key %u", o->key);
}

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct holding {
	struct obj *obj;
	int refs;
};

struct worker {
	pthread_t tid;
	uint32_t seed;
	uint64_t iters;
	unsigned long taken, last;
};

/* Take 1 to 3 references on slot @k's object, under the slot's lock. */
static void take(struct worker *w, unsigned int k, uint32_t r, struct holding *h)
{
	int n = 1 + (int)(r % 3);
	struct obj *o;

	pthread_mutex_lock(&slots[k].lock);
	o = slots[k].obj;
	switch ((r >> 2) % 3) {
	case 0:
		sk_refcount_add(n, &o->ref);
		break;
	case 1:
		sk_check(sk_refcount_add_not_zero(n, &o->ref), "add_not_zero refused a held count");
		break;
	default:
		n = 1;
		sk_check(sk_refcount_inc_not_zero_acquire(&o->ref),
			 "inc_not_zero_acquire refused a held count");
		break;
	}
	pthread_mutex_unlock(&slots[k].lock);
	use(o);
	h->obj = o;
	h->refs = n;
	w->taken += (unsigned long)n;
}

/* Drop a holding, all of it, by one of the drop operations. */
static void drop(struct worker *w, struct holding *h, uint32_t r)
{
	struct obj *o = h->obj;

	use(o);
	switch (r % 4) {
	case 0: /* dec while another reference of ours is left, then the rest */
		while (h->refs > 1) {
			sk_refcount_dec(&o->ref);
			h->refs--;
		}
		break;
	case 1: /* dec_not_one: false means ours is the only reference left */
		while (h->refs > 0) {
			if (sk_refcount_dec_not_one(&o->ref)) {
				h->refs--;
				continue;
			}
			sk_check(h->refs == 1, "dec_not_one: count 1 while holding %d", h->refs);
			break;
		}
		if (h->refs == 0)
			return;
		break;
	case 2: /* dec_if_one: true means ours was the last */
		if (h->refs == 1 && sk_refcount_dec_if_one(&o->ref)) {
			w->last++;
			obj_free(o);
			return;
		}
		break;
	default:
		break;
	}
	if (sk_refcount_sub_and_test(h->refs, &o->ref)) {
		w->last++;
		obj_free(o);
	}
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct holding held[HELD];
	unsigned int nheld = 0;

	pthread_barrier_wait(&start);
	for (uint64_t i = 0; i < w->iters; i++) {
		uint32_t r = next_rand(&w->seed);
		unsigned int k = r % SLOTS;
		unsigned int op = (r >> 8) % 8;

		if (op == 0) {
			/* Replace: drop the slot's reference on the old object. */
			struct obj *n = obj_create(k), *old;

			pthread_mutex_lock(&slots[k].lock);
			old = slots[k].obj;
			slots[k].obj = n;
			pthread_mutex_unlock(&slots[k].lock);
			if (sk_refcount_dec_and_test(&old->ref)) {
				w->last++;
				obj_free(old);
			}
		} else if (op < 5 && nheld < HELD) {
			take(w, k, r >> 11, &held[nheld++]);
		} else if (nheld) {
			unsigned int j = (r >> 11) % nheld;

			drop(w, &held[j], r >> 16);
			held[j] = held[--nheld];
		}
	}
	while (nheld) {
		nheld--;
		drop(w, &held[nheld], next_rand(&w->seed));
	}
	return NULL;
}

int main(void)
{
	struct worker w[THREADS];
	unsigned long taken = 0, last = 0;
	uint64_t iters = sk_test_iters(1500000, 2000);

	SK_TEST_BENIGN_RACE(&created, sizeof(created));
	SK_TEST_BENIGN_RACE(&freed, sizeof(freed));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	pthread_barrier_init(&start, NULL, THREADS);
	for (unsigned int k = 0; k < SLOTS; k++) {
		pthread_mutex_init(&slots[k].lock, NULL);
		slots[k].obj = obj_create(k);
	}
	for (unsigned int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .seed = 0x9e3779b9u * (t + 1), .iters = iters };
		sk_check(pthread_create(&w[t].tid, NULL, worker, &w[t]) == 0, "pthread_create");
	}
	for (unsigned int t = 0; t < THREADS; t++) {
		pthread_join(w[t].tid, NULL);
		taken += w[t].taken;
		last += w[t].last;
	}
	pthread_barrier_destroy(&start);
	/*
	 * Only the slots' references are left: exactly one per object.  (Each
	 * holding is dropped whole, so the references taken and dropped match
	 * by construction; the counts themselves are what is checked.)
	 */
	for (unsigned int k = 0; k < SLOTS; k++) {
		struct obj *o = slots[k].obj;

		sk_check(sk_refcount_read(&o->ref) == 1, "slot %u: count %u, want 1", k,
			 sk_refcount_read(&o->ref));
		sk_check(sk_refcount_dec_and_test(&o->ref), "slot %u: not the last reference", k);
		obj_free(o);
		pthread_mutex_destroy(&slots[k].lock);
	}
	sk_check(freed == created, "%lu objects created, %lu freed", created, freed);
	sk_check(last + SLOTS == freed, "%lu last drops by workers + %d at the end, %lu freed",
		 last, SLOTS, freed);
	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	printf("refcount-raw-stress: %d threads x %llu iterations, %lu objects, %lu references "
	       "taken and dropped, %lu objects freed by a worker's last drop, no violations\n",
	       THREADS, (unsigned long long)iters, created, taken, last);
	return 0;
}
