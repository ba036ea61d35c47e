/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/handle-publish-stress.c - the handle table's own memory
 * ordering, with nothing else to lean on.
 *
 * A producer fills an object with plain stores, inserts it and hands a
 * borrowed copy of its handle to the consumer through a relaxed atomic
 * (which orders nothing); the consumer looks it up, acknowledges it (a
 * relaxed store the producer waits on a bounded while), reads the fields
 * with plain loads and puts it; the producer then releases it, racing the
 * put, and whichever thread drops the last reference runs the destructor,
 * which checks and clears the object with plain accesses and frees it.
 * Only the table's release/acquire orders those accesses: under TSan a
 * relaxed order in the insert's publication, the lookup's count or the
 * put's drop is a reported race (each was tried, 3 runs of 3; the
 * handle-stress program hands its handles over with its own
 * release/acquire, which hid them).  Helgrind and drd run the debug
 * build, whose table carries their happens-before marks.
 *
 * Exact accounting: every inserted object is destroyed exactly once, and
 * no violation is reported (stale lookups are the quiet try form).
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include <safekern/handle.h>

#include "../sk-test.h"

/* How long the producer waits for the consumer's acknowledgement. */
#define PATIENCE 1000

struct pobj {
	uint64_t a, b, c;
};

static struct sk_handle_table table;
static struct sk_handle_owner owner;
static uint64_t mailbox; /* a borrowed handle's bits; relaxed */
static uint64_t ack;	 /* the bits the consumer has looked up; relaxed */
static uint64_t inserted, destroyed, seen;
static int done;

static void pobj_free(void *p, void *arg)
{
	struct pobj *o = p;

	(void)arg;
	sk_check(o->b == o->a + 1 && o->c == o->a + 2, "the destructor saw a torn object");
	o->a = o->b = o->c = 0;
	free(o);
	__atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
}

/*
 * Each round: fill, insert, post the borrowed handle, wait (a bounded
 * while) until the consumer has looked it up, then release it, which may
 * race the consumer's put for the last reference.
 */
static void *producer(void *arg)
{
	uint64_t rounds = *(uint64_t *)arg;

	for (uint64_t i = 0; i < rounds; i++) {
		struct pobj *o = malloc(sizeof(*o));
		sk_handle_t h;
		uint64_t bits;

		sk_check(o, "malloc");
		o->a = i;
		o->b = i + 1;
		o->c = i + 2;
		h = sk_handle_insert(&table, o, &owner);
		sk_check(!sk_handle_is_null(h), "insert");
		__atomic_add_fetch(&inserted, 1, __ATOMIC_RELAXED);
		bits = sk_handle_bits(sk_handle_borrow(&table, h));
		__atomic_store_n(&mailbox, bits, __ATOMIC_RELAXED);
		for (int w = 0; w < PATIENCE && __atomic_load_n(&ack, __ATOMIC_RELAXED) != bits; w++)
			sched_yield();
		sk_check(sk_handle_release(&table, h, &owner) == 0, "release");
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t mine = 0, last = 0;

	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
		uint64_t bits = __atomic_load_n(&mailbox, __ATOMIC_RELAXED);
		sk_handle_t h;
		struct pobj *o;

		if (!bits || bits == last) {
			sched_yield();
			continue;
		}
		last = bits;
		h = sk_handle_from_bits(bits);
		o = sk_handle_try_lookup(&table, h);
		__atomic_store_n(&ack, bits, __ATOMIC_RELAXED);
		if (!o)
			continue; /* released meanwhile: refused quietly */
		sk_check(o->b == o->a + 1 && o->c == o->a + 2, "a lookup saw a torn object");
		mine++;
		sk_handle_put(&table, h);
	}
	__atomic_add_fetch(&seen, mine, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	uint64_t rounds = sk_test_iters(100000, 500);
	pthread_t p, c;

	SK_TEST_BENIGN_RACE(&mailbox, sizeof(mailbox));
	SK_TEST_BENIGN_RACE(&ack, sizeof(ack));
	SK_TEST_BENIGN_RACE(&done, sizeof(done));
	SK_TEST_BENIGN_RACE(&inserted, sizeof(inserted));
	SK_TEST_BENIGN_RACE(&destroyed, sizeof(destroyed));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_handle_table_init(&table, pobj_free, NULL);
	sk_handle_owner_init(&owner, "producer");
	pthread_create(&c, NULL, consumer, NULL);
	pthread_create(&p, NULL, producer, &rounds);
	pthread_join(p, NULL);
	pthread_join(c, NULL);

	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	sk_check(seen > 0, "the consumer never found a live object: nothing was tested");
	sk_check(inserted == rounds && destroyed == rounds,
		 "%llu rounds, %llu inserted, %llu destroyed", (unsigned long long)rounds,
		 (unsigned long long)inserted, (unsigned long long)destroyed);
	sk_handle_table_destroy(&table);
	sk_handle_owner_destroy(&owner);
	printf("handle-publish-stress: %llu objects, %llu lookups found one\n",
	       (unsigned long long)rounds, (unsigned long long)seen);
	return 0;
}
