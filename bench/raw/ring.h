/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/ring.h - the raw-C baselines of the "ring" groups, as a C
 * programmer writes them without a library:
 *
 *  - raw_ring: Lamport's single-producer single-consumer ring with C11
 *    acquire/release, free-running indices, a power-of-two size, the two
 *    indices on separate cache lines, and NO index caching: every push
 *    reads the consumer's index and every pop the producer's.  No checks.
 *  - raw_cring: the same with index caching, as sk_kfifo and the careful
 *    rings do: each side keeps a copy of the other's index on its own
 *    cache line and reads the shared one only when the copy says full
 *    (or empty).  No checks.  The SPSC groups' baseline.
 *  - raw_locked_ring: a ring of pointers behind one pthread mutex, the
 *    multi-producer multi-consumer queue people write first.
 */
#ifndef SK_BENCH_RAW_RING_H
#define SK_BENCH_RAW_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct raw_ring {
	unsigned int head; /* consumer */
	char pad0[60];
	unsigned int tail; /* producer */
	char pad1[60];
	unsigned int mask;
	void **buf;
};

/* @size: a power of two; holds @size pointers. */
static inline bool raw_ring_init(struct raw_ring *r, unsigned int size)
{
	r->head = r->tail = 0;
	r->mask = size - 1;
	r->buf = calloc(size, sizeof(void *));
	return r->buf != NULL;
}

static inline void raw_ring_destroy(struct raw_ring *r)
{
	free(r->buf);
}

static inline bool raw_ring_push(struct raw_ring *r, void *p)
{
	unsigned int t = r->tail;

	if (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) > r->mask)
		return false;
	r->buf[t & r->mask] = p;
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static inline bool raw_ring_pop(struct raw_ring *r, void **p)
{
	unsigned int h = r->head;

	if (__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) == h)
		return false;
	*p = r->buf[h & r->mask];
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

/* Both rings' bulk moves: @n of @p into @buf at @t, published by *@tail;
 * @n from @buf at @h into @p, handed back by *@head. */
static inline unsigned int raw_ring_copy_in(void **buf, unsigned int mask, unsigned int *tail,
					    unsigned int t, void *const *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		buf[(t + i) & mask] = p[i];
	__atomic_store_n(tail, t + n, __ATOMIC_RELEASE);
	return n;
}

static inline unsigned int raw_ring_copy_out(void *const *buf, unsigned int mask,
					     unsigned int *head, unsigned int h, void **p,
					     unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = buf[(h + i) & mask];
	__atomic_store_n(head, h + n, __ATOMIC_RELEASE);
	return n;
}

/* As many of @n as fit, published at once. */
static inline unsigned int raw_ring_push_n(struct raw_ring *r, void *const *p, unsigned int n)
{
	unsigned int t = r->tail;
	unsigned int room = r->mask + 1 - (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE));

	return raw_ring_copy_in(r->buf, r->mask, &r->tail, t, p, n > room ? room : n);
}

static inline unsigned int raw_ring_pop_n(struct raw_ring *r, void **p, unsigned int n)
{
	unsigned int h = r->head;
	unsigned int avail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) - h;

	return raw_ring_copy_out(r->buf, r->mask, &r->head, h, p, n > avail ? avail : n);
}

struct raw_cring {
	unsigned int tail;	 /* producer's */
	unsigned int head_cache; /* the producer's copy of head */
	char pad0[56];
	unsigned int head;	 /* consumer's */
	unsigned int tail_cache; /* the consumer's copy of tail */
	char pad1[56];
	unsigned int mask;
	void **buf;
};

/* @size: a power of two; holds @size pointers. */
static inline bool raw_cring_init(struct raw_cring *r, unsigned int size)
{
	r->head = r->tail = r->head_cache = r->tail_cache = 0;
	r->mask = size - 1;
	r->buf = calloc(size, sizeof(void *));
	return r->buf != NULL;
}

static inline void raw_cring_destroy(struct raw_cring *r)
{
	free(r->buf);
}

/* Room for @n at @t, from the cached head, refreshed only when short. */
static inline unsigned int raw_cring_room(struct raw_cring *r, unsigned int t, unsigned int n)
{
	unsigned int room = r->mask + 1 - (t - r->head_cache);

	if (room < n) {
		r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		room = r->mask + 1 - (t - r->head_cache);
	}
	return room;
}

/* Items from @h, from the cached tail, refreshed only when short. */
static inline unsigned int raw_cring_avail(struct raw_cring *r, unsigned int h, unsigned int n)
{
	unsigned int avail = r->tail_cache - h;

	if (avail < n) {
		r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		avail = r->tail_cache - h;
	}
	return avail;
}

static inline bool raw_cring_push(struct raw_cring *r, void *p)
{
	unsigned int t = r->tail;

	if (!raw_cring_room(r, t, 1))
		return false;
	r->buf[t & r->mask] = p;
	__atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static inline bool raw_cring_pop(struct raw_cring *r, void **p)
{
	unsigned int h = r->head;

	if (!raw_cring_avail(r, h, 1))
		return false;
	*p = r->buf[h & r->mask];
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

static inline unsigned int raw_cring_push_n(struct raw_cring *r, void *const *p, unsigned int n)
{
	unsigned int t = r->tail, room = raw_cring_room(r, t, n);

	return raw_ring_copy_in(r->buf, r->mask, &r->tail, t, p, n > room ? room : n);
}

static inline unsigned int raw_cring_pop_n(struct raw_cring *r, void **p, unsigned int n)
{
	unsigned int h = r->head, avail = raw_cring_avail(r, h, n);

	return raw_ring_copy_out(r->buf, r->mask, &r->head, h, p, n > avail ? avail : n);
}

struct raw_locked_ring {
	pthread_mutex_t lock;
	unsigned int head, tail, mask;
	void **buf;
};

static inline bool raw_locked_ring_init(struct raw_locked_ring *r, unsigned int size)
{
	pthread_mutex_init(&r->lock, NULL);
	r->head = r->tail = 0;
	r->mask = size - 1;
	r->buf = calloc(size, sizeof(void *));
	return r->buf != NULL;
}

static inline void raw_locked_ring_destroy(struct raw_locked_ring *r)
{
	pthread_mutex_destroy(&r->lock);
	free(r->buf);
}

static inline bool raw_locked_ring_push(struct raw_locked_ring *r, void *p)
{
	bool ok;

	pthread_mutex_lock(&r->lock);
	ok = r->tail - r->head <= r->mask;
	if (ok)
		r->buf[r->tail++ & r->mask] = p;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static inline bool raw_locked_ring_pop(struct raw_locked_ring *r, void **p)
{
	bool ok;

	pthread_mutex_lock(&r->lock);
	ok = r->tail != r->head;
	if (ok)
		*p = r->buf[r->head++ & r->mask];
	pthread_mutex_unlock(&r->lock);
	return ok;
}

#endif
