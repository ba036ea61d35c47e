/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/klist.h - the raw-C baseline of the "klist" groups: a plain
 * doubly linked list under a pthread mutex, taken for each add and delete
 * and held for the whole walk, as a C programmer writes it for a shared
 * list: no checks and no reference counts.
 */
#ifndef SK_BENCH_RAW_KLIST_H
#define SK_BENCH_RAW_KLIST_H

#include <pthread.h>
#include <stdint.h>

struct raw_knode {
	struct raw_knode *next, *prev;
	uint64_t payload;
};

struct raw_klist {
	pthread_mutex_t lock;
	struct raw_knode head;
};

static inline void raw_klist_init(struct raw_klist *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->head.next = l->head.prev = &l->head;
}

static inline void raw_klist_add_tail(struct raw_klist *l, struct raw_knode *n)
{
	pthread_mutex_lock(&l->lock);
	n->prev = l->head.prev;
	n->next = &l->head;
	l->head.prev->next = n;
	l->head.prev = n;
	pthread_mutex_unlock(&l->lock);
}

static inline void raw_klist_del(struct raw_klist *l, struct raw_knode *n)
{
	pthread_mutex_lock(&l->lock);
	n->prev->next = n->next;
	n->next->prev = n->prev;
	pthread_mutex_unlock(&l->lock);
}

/* One full walk: the sum of the payloads. */
static inline uint64_t raw_klist_walk(struct raw_klist *l)
{
	uint64_t sum = 0;

	pthread_mutex_lock(&l->lock);
	for (struct raw_knode *n = l->head.next; n != &l->head; n = n->next)
		sum += n->payload;
	pthread_mutex_unlock(&l->lock);
	return sum;
}

#endif /* SK_BENCH_RAW_KLIST_H */
