/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/handle-stress.c - lookups racing releases, inserts and
 * transfers on one handle table, with exact accounting.
 *
 * Writers own a range of shared cells each.  A writer repeatedly releases
 * the object behind one of its cells, or transfers it between its two
 * owners, and publishes a borrowed copy of the new handle in the cell.
 * Readers look up random cells with sk_handle_try_lookup() or its scoped
 * form, SK_CLASS(handle_try, ...) (the handles go stale under them:
 * refused quietly) and check that every object they get is alive, holding some references across a yield and dropping them
 * later, after the object may have been released.  The table's generation
 * space is small, so slots retire and transfers forward objects to fresh
 * slots all along, and the table grows while readers run.
 *
 * Every handle a writer publishes has a record that the writer marks
 * stale once the release or transfer that ends it has returned; a reader
 * that saw the mark before its lookup must be refused (a lookup that
 * races the release may go either way), so a stale handle accepted after
 * its end is caught, whichever object its slot holds by then.
 *
 * At the end: every inserted object was destroyed exactly once, by its
 * destructor, never while a reader held it (the destructor checks, and
 * ASan/memcheck see the frees); the lookups counted on the objects they
 * returned add up, at the destructors, to the lookups that succeeded; both
 * lookup forms succeeded at least once (the writers go on, an iteration a
 * millisecond for up to EXTRA more, until they have); and no violation
 * was reported.  A plain
 * program so that TSan can run it; helgrind and drd run the debug build.
 */
#define SK_TEST_PLAIN
#include <pthread.h>
#include <sched.h>

#include <safekern/handle.h>

#include "../sk-test.h"

#define WRITERS 2
#define READERS 2
#define CELLS_PER_WRITER 32
#define CELLS (WRITERS * CELLS_PER_WRITER)
#define LIVE_MAGIC 0x11fe11fe11fe11feull
#define HELD 4
#define EXTRA 20000 /* iterations past the count, waiting for the readers */

struct sobj {
	uint64_t magic;
	uint64_t readers; /* lookups that saw it, for accounting */
	unsigned int cell;
};

/* A published handle: its bits, and whether its end has returned. */
struct record {
	uint64_t bits;
	int stale; /* atomic */
};

static struct sk_handle_table table;
static uint64_t cells[CELLS]; /* published record + 1 (0 = empty) */
static struct record *records[WRITERS];
static uint64_t nrecords;
static uint64_t inserted, destroyed, destroyed_by_readers, found, refused, refused_stale;
static uint64_t readers_at_destroy; /* the objects' reader counts, summed by the destructor */
static int found_plain, found_scoped; /* a lookup of that form succeeded */
static __thread int is_reader;
static int stop;

static void sobj_free(void *p, void *arg)
{
	struct sobj *o = p;

	sk_check(arg == &table, "destructor argument");
	sk_check(o->magic == LIVE_MAGIC, "object destroyed twice or corrupt (magic %llx)",
		 (unsigned long long)o->magic);
	o->magic = 0;
	__atomic_add_fetch(&readers_at_destroy, __atomic_load_n(&o->readers, __ATOMIC_RELAXED),
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&destroyed, 1, __ATOMIC_RELAXED);
	if (is_reader) /* the last put after a release */
		__atomic_add_fetch(&destroyed_by_readers, 1, __ATOMIC_RELAXED);
	free(o);
}

struct writer {
	unsigned int id;
	uint64_t iters;
	struct sk_handle_owner owner[2];
	sk_handle_t own[CELLS_PER_WRITER];
	unsigned int holder[CELLS_PER_WRITER]; /* which owner holds it */
	uint64_t rec[CELLS_PER_WRITER];	/* the record of own[c] */
	uint64_t next_rec;
};

static sk_handle_t insert_new(struct writer *w, unsigned int c)
{
	struct sobj *o = malloc(sizeof(*o));
	sk_handle_t h;

	sk_check(o, "malloc");
	o->magic = LIVE_MAGIC;
	o->readers = 0;
	o->cell = w->id * CELLS_PER_WRITER + c;
	h = sk_handle_insert(&table, o, &w->owner[0]);
	sk_check(!sk_handle_is_null(h), "insert failed");
	__atomic_add_fetch(&inserted, 1, __ATOMIC_RELAXED);
	w->holder[c] = 0;
	return h;
}

static void publish(struct writer *w, unsigned int c)
{
	sk_handle_t b = sk_handle_borrow(&table, w->own[c]);
	uint64_t r = w->next_rec++;

	sk_check(!sk_handle_is_null(b), "borrow of an owned live handle failed");
	sk_check(r < nrecords, "out of records");
	records[w->id][r].bits = sk_handle_bits(b);
	w->rec[c] = r;
	SK_TEST_HAPPENS_BEFORE(&cells[w->id * CELLS_PER_WRITER + c]);
	__atomic_store_n(&cells[w->id * CELLS_PER_WRITER + c], r + 1, __ATOMIC_RELEASE);
}

/* The release or transfer that ended own[c] has returned. */
static void mark_stale(struct writer *w, unsigned int c)
{
	__atomic_store_n(&records[w->id][w->rec[c]].stale, 1, __ATOMIC_RELEASE);
}

static void *writer(void *arg)
{
	struct writer *w = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1);

	for (unsigned int c = 0; c < CELLS_PER_WRITER; c++) {
		w->own[c] = insert_new(w, c);
		publish(w, c);
	}
	/* Past the iterations, only until the readers have found an object
	 * with each lookup form (a starved reader would make the lookup
	 * checks vacuous), slowly: a short run under valgrind can end before
	 * the readers are scheduled. */
	for (uint64_t i = 0; i < w->iters || !(__atomic_load_n(&found_plain, __ATOMIC_RELAXED) &&
					       __atomic_load_n(&found_scoped, __ATOMIC_RELAXED));
	     i++) {
		unsigned int c, to;

		if (i >= w->iters) {
			sk_check(i - w->iters < EXTRA, "the readers found no object with %s",
				 __atomic_load_n(&found_plain, __ATOMIC_RELAXED)
					 ? "the scoped lookup"
					 : "sk_handle_try_lookup()");
			nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		}

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		c = (unsigned int)(x % CELLS_PER_WRITER);
		if (x & (1u << 20)) {
			/* Move it to the other owner: the old handle goes stale. */
			to = !w->holder[c];
			w->own[c] = sk_handle_transfer(&table, w->own[c], &w->owner[w->holder[c]],
						       &w->owner[to]);
			sk_check(!sk_handle_is_null(w->own[c]), "transfer failed");
			mark_stale(w, c);
			w->holder[c] = to;
		} else {
			int rc = sk_handle_release(&table, w->own[c], &w->owner[w->holder[c]]);

			sk_check(rc == 0, "release failed: %d", rc);
			mark_stale(w, c);
			w->own[c] = insert_new(w, c);
		}
		publish(w, c);
		if ((i & 255) == 0)
			sched_yield();
	}
	for (unsigned int c = 0; c < CELLS_PER_WRITER; c++) {
		__atomic_store_n(&cells[w->id * CELLS_PER_WRITER + c], 0, __ATOMIC_RELEASE);
		sk_check(sk_handle_release(&table, w->own[c], &w->owner[w->holder[c]]) == 0,
			 "final release");
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t x = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 1);
	sk_handle_t held[HELD];
	unsigned int nheld = 0;
	uint64_t my_found = 0, my_refused = 0, my_refused_stale = 0;

	is_reader = 1;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		unsigned int c;
		uint64_t pub;
		struct record *rec;
		struct sobj *o;
		sk_handle_t h;
		int stale;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		c = (unsigned int)(x % CELLS);
		pub = __atomic_load_n(&cells[c], __ATOMIC_ACQUIRE);
		if (!pub)
			continue;
		SK_TEST_HAPPENS_AFTER(&cells[c]);
		rec = &records[c / CELLS_PER_WRITER][pub - 1];
		h = sk_handle_from_bits(rec->bits);
		if ((x & 0x1c0) == 0)
			sched_yield(); /* let the handle go stale */
		/* Ended before the lookup starts: it must be refused. */
		stale = __atomic_load_n(&rec->stale, __ATOMIC_ACQUIRE);
		if (x & 0x800) {
			/* The scoped form: the reference is dropped when ref
			 * leaves the block, possibly after a release. */
			SK_CLASS(handle_try, ref)(&table, h);

			if (!ref.obj) {
				my_refused++;
				my_refused_stale += stale;
				continue;
			}
			sk_check(!stale, "scoped lookup accepted a handle whose %s had returned",
				 "release or transfer");
			o = (struct sobj *)ref.obj;
			my_found++;
			__atomic_store_n(&found_scoped, 1, __ATOMIC_RELAXED);
			sk_check(o->magic == LIVE_MAGIC, "scoped lookup returned a dead object");
			sk_check(o->cell == c, "scoped lookup returned the object of cell %u for cell %u",
				 o->cell, c);
			__atomic_add_fetch(&o->readers, 1, __ATOMIC_RELAXED);
			if ((x & 0x3000) == 0)
				sched_yield(); /* hold it while it may be released */
			continue;
		}
		o = sk_handle_try_lookup(&table, h);
		if (!o) {
			my_refused++;
			my_refused_stale += stale;
			continue;
		}
		sk_check(!stale, "lookup accepted a handle whose release or transfer had returned");
		my_found++;
		__atomic_store_n(&found_plain, 1, __ATOMIC_RELAXED);
		sk_check(o->magic == LIVE_MAGIC, "lookup returned a dead object");
		sk_check(o->cell == c, "lookup returned the object of cell %u for cell %u", o->cell, c);
		__atomic_add_fetch(&o->readers, 1, __ATOMIC_RELAXED);
		if (nheld < HELD && (x & 8)) {
			/* Keep it for a while: it may be released meanwhile. */
			held[nheld++] = h;
			continue;
		}
		sk_handle_put(&table, h);
		if (nheld && (x & 0x30) == 0x30) {
			/* The handle may be stale by now: the put still drops the
			 * reference its lookup took. */
			if ((x & 0x600) == 0)
				sched_yield();
			sk_handle_put(&table, held[--nheld]);
		}
	}
	while (nheld)
		sk_handle_put(&table, held[--nheld]);
	__atomic_add_fetch(&found, my_found, __ATOMIC_RELAXED);
	__atomic_add_fetch(&refused, my_refused, __ATOMIC_RELAXED);
	__atomic_add_fetch(&refused_stale, my_refused_stale, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	pthread_t wt[WRITERS], rt[READERS];
	static struct writer w[WRITERS];
	uint64_t iters = sk_test_iters(300000, 2000);

	SK_TEST_BENIGN_RACE(&stop, sizeof(stop));
	SK_TEST_BENIGN_RACE(cells, sizeof(cells));
	SK_TEST_BENIGN_RACE(&inserted, sizeof(inserted));
	SK_TEST_BENIGN_RACE(&destroyed, sizeof(destroyed));
	SK_TEST_BENIGN_RACE(&destroyed_by_readers, sizeof(destroyed_by_readers));
	SK_TEST_BENIGN_RACE(&readers_at_destroy, sizeof(readers_at_destroy));
	SK_TEST_BENIGN_RACE(&found_plain, sizeof(found_plain));
	SK_TEST_BENIGN_RACE(&found_scoped, sizeof(found_scoped));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_handle_table_init(&table, sobj_free, &table);
	nrecords = iters + EXTRA + CELLS_PER_WRITER;
	for (unsigned int i = 0; i < WRITERS; i++) {
		records[i] = calloc(nrecords, sizeof(struct record));
		sk_check(records[i], "calloc");
		/* The stale marks are atomics, which helgrind and drd do not see;
		 * the bits are ordered by the cells' happens-before marks. */
		SK_TEST_BENIGN_RACE(records[i], nrecords * sizeof(struct record));
	}
	/* A small generation space: slots retire and transfers forward. */
	sk_check(sk__handle_table_set_limits(&table, 64, SK_HANDLE_MAX_SLOTS) == 0, "limits");

	for (unsigned int i = 0; i < READERS; i++)
		pthread_create(&rt[i], NULL, reader, (void *)(uintptr_t)i);
	for (unsigned int i = 0; i < WRITERS; i++) {
		w[i].id = i;
		w[i].iters = iters;
		sk_handle_owner_init(&w[i].owner[0], "writer");
		sk_handle_owner_init(&w[i].owner[1], "writer-alt");
		pthread_create(&wt[i], NULL, writer, &w[i]);
	}
	for (unsigned int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);

	sk_check(sk_violation_total() == 0, "%lu violations", sk_violation_total());
	sk_check(inserted == destroyed, "%llu inserted, %llu destroyed",
		 (unsigned long long)inserted, (unsigned long long)destroyed);
	sk_check(sk_handle_table_count(&table) == 0, "table not empty");
	sk_check(readers_at_destroy == found,
		 "%llu lookups succeeded, but the destroyed objects counted %llu",
		 (unsigned long long)found, (unsigned long long)readers_at_destroy);
	sk_check(found_plain && found_scoped, "a lookup form never succeeded");
	sk_check(table.sk__forward == NULL, "forwarding records left");
	printf("handle-stress: %llu objects inserted and destroyed (%llu by a reader's last put), "
	       "%llu lookups found, %llu refused as stale (%llu known stale before the lookup), "
	       "%llu slots retired, %llu slots\n",
	       (unsigned long long)inserted, (unsigned long long)destroyed_by_readers,
	       (unsigned long long)found, (unsigned long long)refused,
	       (unsigned long long)refused_stale, (unsigned long long)table.sk__retired,
	       (unsigned long long)table.sk__next);
	sk_handle_table_destroy(&table);
	for (unsigned int i = 0; i < WRITERS; i++)
		free(records[i]);
	for (unsigned int i = 0; i < WRITERS; i++) {
		sk_handle_owner_destroy(&w[i].owner[0]);
		sk_handle_owner_destroy(&w[i].owner[1]);
	}
	return 0;
}
