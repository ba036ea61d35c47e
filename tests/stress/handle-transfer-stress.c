/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/handle-transfer-stress.c - handles moving between owners on
 * different threads, and threads exiting with slots in their caches, with
 * exact accounting.
 *
 * Phase "ring": RING threads, each with its own owner, pass objects round
 * a ring: thread i transfers an object to thread i+1's owner and hands the
 * new handle over through i+1's inbox (a mutex-protected queue); the
 * receiver looks it up, then transfers it onward, transfers it to itself,
 * releases it or keeps it.  The table's generation space is small, so
 * transfers also forward objects to fresh slots.  Reader threads look up
 * published records (an owned handle and a borrowed copy of it) with the
 * reporting, quiet, borrowing and scoped lookups, holding some references
 * across a yield.  A record is marked stale by whoever ended its handle,
 * after the release or transfer returned; a lookup that saw the mark before
 * it started must be refused.  Senders and receivers also misuse handles on
 * purpose at points where the outcome is determined: the old handle after
 * a transfer (stale), the new handle released or transferred with the
 * sender's owner or through a borrowed copy (wrong owner), a release
 * repeated (double release, or stale if the slot moved on meanwhile).
 *
 * Phase "exit": short-lived threads insert (up to 40 objects, more than a
 * thread's slot cache holds), look up long-lived threads' objects (holding
 * some references until just before they exit), release some, transfer the
 * rest to a long-lived collector thread's owner, destroy their owner and
 * exit, in waves while two long-lived threads insert and release all along
 * and the collector releases what it is handed.  One wave has more live
 * threads than there are thread shards (the threads beyond use the shared
 * free list).  Exiting threads hand their cached free slots back to the
 * table.
 *
 * Accounting, per phase: a violation handler refuses every report that no
 * call was expecting, and each expecting call checks that it got exactly
 * the report its outcome implies (a refused reporting lookup: one stale);
 * the library's per-kind counters moved by exactly the reports the calls
 * expected.  Objects live in an array indexed by id that is never reused,
 * so every successful lookup checks a live magic word and the id the
 * handle was issued for.  At the end every inserted object was released
 * exactly once and destroyed exactly once (the destructor checks that its
 * release was called); the table holds nothing and no forwarding record; every slot
 * it ever used is either retired (as many as the table counted) or on the
 * shared free list exactly once, so no exited thread kept slots in its
 * cache (all threads that used the table have exited; the main thread
 * never touches it); phase "exit" then fills the table from a new thread
 * to exactly its slot limit minus the retired slots; destroying the table
 * reports nothing.  A plain program so that TSan can run it; helgrind and
 * drd run the debug build.
 */
#define SK_TEST_PLAIN
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include <safekern/handle.h>

#include "../sk-test.h"

#define LIVE_MAGIC 0x7ea5f3e77ea5f3e7ull
#define DEAD_MAGIC 0xdeadd0d0deadd0d0ull

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* ------------------------------------------------------------------------
 * Violations: every report must be expected by the call that made it.
 * ------------------------------------------------------------------------ */

static __thread bool tl_armed;
static __thread unsigned long tl_nreports;
static __thread enum sk_violation_kind tl_last;
static __thread unsigned long tl_seen[SK_VIOLATION_NR], tl_expect[SK_VIOLATION_NR];
static __thread bool tl_releasing;
/* Destructors run on this thread outside a release: by a lookup's last reference. */
static __thread uint64_t tl_dtors;

static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long tally_seen[SK_VIOLATION_NR], tally_expect[SK_VIOLATION_NR];

static void on_violation(const struct sk_violation *v, void *arg)
{
	(void)arg;
	if (!tl_armed) {
		fprintf(stderr, "handle-transfer-stress: unexpected %s violation (%s:%u): %s\n",
			sk_violation_kind_name(v->kind), v->file ? v->file : "?", v->line,
			v->detail);
		abort();
	}
	tl_nreports++;
	tl_last = v->kind;
	tl_seen[v->kind]++;
}

/* Reports are allowed until disarm(): it returns how many were made. */
static unsigned long arm(void)
{
	tl_armed = true;
	return tl_nreports;
}

static unsigned long disarm(unsigned long mark)
{
	tl_armed = false;
	return tl_nreports - mark;
}

/* The call made @n reports: it must have made exactly one, of @kind. */
static void expect_report(unsigned long n, enum sk_violation_kind kind, const char *what)
{
	sk_check(n == 1 && tl_last == kind, "%s: %lu reports (the last %s), expected one %s", what,
		 n, sk_violation_kind_name(tl_last), sk_violation_kind_name(kind));
	tl_expect[kind]++;
}

/* At the end of a thread: its tallies into the totals. */
static void flush_tallies(void)
{
	pthread_mutex_lock(&tally_lock);
	for (unsigned int k = 0; k < SK_VIOLATION_NR; k++) {
		tally_seen[k] += tl_seen[k];
		tally_expect[k] += tl_expect[k];
		tl_seen[k] = tl_expect[k] = 0;
	}
	pthread_mutex_unlock(&tally_lock);
}

struct counts {
	unsigned long lib[SK_VIOLATION_NR], seen[SK_VIOLATION_NR], expect[SK_VIOLATION_NR];
};

static void counts_take(struct counts *c)
{
	pthread_mutex_lock(&tally_lock);
	for (unsigned int k = 0; k < SK_VIOLATION_NR; k++) {
		c->lib[k] = sk_violation_count((enum sk_violation_kind)k);
		c->seen[k] = tally_seen[k];
		c->expect[k] = tally_expect[k];
	}
	pthread_mutex_unlock(&tally_lock);
}

/* Reports of @kind counted since @before. */
static unsigned long delta(const struct counts *before, enum sk_violation_kind kind)
{
	return sk_violation_count(kind) - before->lib[kind];
}

/* Since @before: the library counted exactly the reports the calls expected. */
static void counts_check(const struct counts *before, const char *phase)
{
	struct counts now;

	counts_take(&now);
	for (unsigned int k = 0; k < SK_VIOLATION_NR; k++) {
		unsigned long lib = now.lib[k] - before->lib[k];
		unsigned long seen = now.seen[k] - before->seen[k];
		unsigned long expect = now.expect[k] - before->expect[k];

		sk_check(lib == expect && seen == expect,
			 "%s: %lu %s violations counted, %lu handled, %lu expected", phase, lib,
			 sk_violation_kind_name((enum sk_violation_kind)k), seen, expect);
	}
}

/* ------------------------------------------------------------------------
 * Objects and records
 * ------------------------------------------------------------------------ */

struct tobj {
	uint64_t magic;
	uint64_t id;
	uint64_t hops; /* transfers so far: written by the current owner only */
};

/*
 * A phase's objects, by id, preallocated and never reused: a lookup that
 * returned a destroyed object would see DEAD_MAGIC, never another
 * object's LIVE_MAGIC in recycled memory.  Each thread inserts from its own
 * range of ids.  released[id] is set before the release is called (and
 * only for releases that must succeed), so the destructor can check it.
 */
struct pool {
	struct sk_handle_table table;
	struct tobj *objs;
	uint32_t *inserted, *released, *destroyed;
	uint64_t nids;
};

static void tobj_dtor(void *p, void *arg)
{
	struct pool *pl = arg;
	struct tobj *o = p;
	uint64_t id;

	sk_check(o >= pl->objs && o < pl->objs + pl->nids, "destructor of a foreign object %p", p);
	id = (uint64_t)(o - pl->objs);
	sk_check(o->magic == LIVE_MAGIC && o->id == id,
		 "object %llu destroyed twice or corrupt (magic %llx)", (unsigned long long)id,
		 (unsigned long long)o->magic);
	sk_check(__atomic_load_n(&pl->released[id], __ATOMIC_RELAXED) == 1,
		 "object %llu destroyed but not released", (unsigned long long)id);
	o->magic = DEAD_MAGIC;
	__atomic_add_fetch(&pl->destroyed[id], 1, __ATOMIC_RELAXED);
	if (!tl_releasing)
		tl_dtors++;
}

static void pool_init(struct pool *pl, uint64_t nids, uint32_t gen_limit, uint64_t max_slots)
{
	pl->nids = nids;
	pl->objs = calloc(nids, sizeof(*pl->objs));
	pl->inserted = calloc(nids, sizeof(uint32_t));
	pl->released = calloc(nids, sizeof(uint32_t));
	pl->destroyed = calloc(nids, sizeof(uint32_t));
	sk_check(pl->objs && pl->inserted && pl->released && pl->destroyed, "calloc");
	sk_handle_table_init(&pl->table, tobj_dtor, pl);
	sk_check(sk__handle_table_set_limits(&pl->table, gen_limit, max_slots) == 0, "limits");
}

static sk_handle_t pool_insert(struct pool *pl, uint64_t id, struct sk_handle_owner *owner)
{
	struct tobj *o;
	sk_handle_t h;

	sk_check(id < pl->nids && !pl->inserted[id], "id %llu reused or out of range",
		 (unsigned long long)id);
	o = &pl->objs[id];
	o->magic = LIVE_MAGIC;
	o->id = id;
	o->hops = 0;
	pl->inserted[id] = 1;
	h = sk_handle_insert(&pl->table, o, owner);
	sk_check(!sk_handle_is_null(h), "insert of object %llu failed: errno %d",
		 (unsigned long long)id, errno);
	return h;
}

/* Releases @h, which must succeed; the destructor may run in it. */
static void pool_release(struct pool *pl, sk_handle_t h, uint64_t id, struct sk_handle_owner *owner)
{
	int rc;

	sk_check(__atomic_add_fetch(&pl->released[id], 1, __ATOMIC_RELAXED) == 1,
		 "object %llu released twice", (unsigned long long)id);
	tl_releasing = true;
	rc = sk_handle_release(&pl->table, h, owner);
	tl_releasing = false;
	sk_check(rc == 0, "release of object %llu failed: %d", (unsigned long long)id, rc);
}

/*
 * A release repeated right after it returned: a double release, or stale
 * if the slot went through another generation meanwhile.  Either way
 * refused, with the report its result names.
 */
static void release_again(struct pool *pl, sk_handle_t h, struct sk_handle_owner *owner)
{
	unsigned long mark = arm();
	int rc = sk_handle_release(&pl->table, h, owner);
	unsigned long n = disarm(mark);

	sk_check(rc == -EALREADY || rc == -ESTALE, "a repeated release returned %d", rc);
	expect_report(n, rc == -EALREADY ? SK_VIOLATION_HANDLE_DOUBLE_RELEASE :
					   SK_VIOLATION_HANDLE_STALE,
		      "a repeated release");
}

/* Release or transfer of @h by @owner, who does not own it: refused. */
static void wrong_owner(struct pool *pl, sk_handle_t h, struct sk_handle_owner *owner,
			bool transfer)
{
	unsigned long mark = arm(), n;

	if (transfer) {
		sk_handle_t h2 = sk_handle_transfer(&pl->table, h, owner, owner);

		n = disarm(mark);
		sk_check(sk_handle_is_null(h2) && errno == EPERM,
			 "a transfer by a non-owner was not refused (errno %d)", errno);
	} else {
		int rc = sk_handle_release(&pl->table, h, owner);

		n = disarm(mark);
		sk_check(rc == -EPERM, "a release by a non-owner returned %d", rc);
	}
	expect_report(n, SK_VIOLATION_HANDLE_WRONG_OWNER,
		      transfer ? "a transfer by a non-owner" : "a release by a non-owner");
}

/* @h is stale (its end has returned, and nobody can move its slot back). */
static void use_stale(struct pool *pl, sk_handle_t h, struct sk_handle_owner *owner, uint64_t r)
{
	unsigned long mark = arm(), n;
	void *o;
	int rc;

	switch (r % 3) {
	case 0:
		o = sk_handle_lookup(&pl->table, h);
		n = disarm(mark);
		sk_check(!o, "lookup of a handle whose transfer had returned succeeded");
		expect_report(n, SK_VIOLATION_HANDLE_STALE, "lookup of the old handle");
		break;
	case 1:
		o = sk_handle_try_lookup(&pl->table, h);
		n = disarm(mark);
		sk_check(!o && n == 0, "quiet lookup of the old handle: %p, %lu reports", o, n);
		break;
	default:
		rc = sk_handle_release(&pl->table, h, owner);
		n = disarm(mark);
		sk_check(rc == -ESTALE, "release of the old handle returned %d", rc);
		expect_report(n, SK_VIOLATION_HANDLE_STALE, "release of the old handle");
		break;
	}
}

/* A published handle: the owned one and a borrowed copy, for object @id. */
struct record {
	uint64_t owned, borrowed, id;
	int stale; /* atomic: the release or transfer that ended it has returned */
};

struct records {
	struct record *r;
	uint64_t n, cap;
};

static void records_init(struct records *rs, uint64_t cap)
{
	rs->r = calloc(cap, sizeof(*rs->r));
	sk_check(rs->r, "calloc");
	rs->n = 0;
	rs->cap = cap;
	/* The stale marks are atomics, which helgrind and drd do not see; the
	 * rest is ordered by the cells' happens-before marks. */
	SK_TEST_BENIGN_RACE(rs->r, cap * sizeof(*rs->r));
}

/* A record for owned handle @h of object @id, published in @cell. */
static struct record *publish(struct pool *pl, struct records *rs, sk_handle_t h, uint64_t id,
			      uintptr_t *cell)
{
	struct record *rec;
	sk_handle_t b = sk_handle_borrow(&pl->table, h);

	sk_check(!sk_handle_is_null(b) && sk_handle_is_borrowed(b),
		 "borrow of an owned live handle");
	sk_check(rs->n < rs->cap, "out of records");
	rec = &rs->r[rs->n++];
	rec->owned = sk_handle_bits(h);
	rec->borrowed = sk_handle_bits(b);
	rec->id = id;
	SK_TEST_HAPPENS_BEFORE(cell);
	__atomic_store_n(cell, (uintptr_t)rec, __ATOMIC_RELEASE);
	return rec;
}

static void mark_stale(struct record *rec)
{
	__atomic_store_n(&rec->stale, 1, __ATOMIC_RELEASE);
}

static void check_found(struct pool *pl, const struct tobj *o, const struct record *rec, int stale,
			const char *how)
{
	sk_check(!stale, "%s accepted a handle whose release or transfer had returned", how);
	sk_check(o >= pl->objs && o < pl->objs + pl->nids, "%s returned a foreign object", how);
	sk_check(o->magic == LIVE_MAGIC, "%s returned destroyed object %llu", how,
		 (unsigned long long)(o - pl->objs));
	sk_check(o->id == rec->id, "%s returned object %llu for a handle of object %llu", how,
		 (unsigned long long)o->id, (unsigned long long)rec->id);
}

struct lstats {
	uint64_t found, refused, refused_known; /* known: marked stale before the lookup */
};

/* Successful lookups by route (atomic): each route must succeed at least
 * once in the run, or its checks on what it returns checked nothing. */
static const char *const route_names[5] = { "try_lookup", "lookup", "borrow + try_lookup",
					    "scoped lookup", "scoped try_lookup" };
static uint64_t found_by_route[5];

/*
 * One lookup of the record published in @cell (if any) by a route @r
 * chooses: quiet, reporting, borrow then quiet, scoped, scoped quiet.
 * Through the owned handle or the borrowed copy.  A refusal is checked
 * against its reports; a success against the object and the stale mark.
 * Returns the object with a reference held through *@hp (the scoped routes
 * drop theirs and return NULL).
 */
static struct tobj *lookup_cell(struct pool *pl, uintptr_t *cell, uint64_t r, sk_handle_t *hp,
				struct lstats *st)
{
	struct record *rec = (struct record *)__atomic_load_n(cell, __ATOMIC_ACQUIRE);
	struct sk_handle_table *t = &pl->table;
	struct tobj *o = NULL;
	unsigned long mark, n;
	sk_handle_t h, b;
	int stale;

	if (!rec)
		return NULL;
	SK_TEST_HAPPENS_AFTER(cell);
	h = sk_handle_from_bits((r & 1) ? rec->owned : rec->borrowed);
	if ((r & 0x3f0) == 0)
		sched_yield(); /* let it go stale */
	/* Ended before the lookup starts: it must be refused. */
	stale = __atomic_load_n(&rec->stale, __ATOMIC_ACQUIRE);
	switch ((r >> 8) % 5) {
	case 0:
		o = sk_handle_try_lookup(t, h);
		break;
	case 1:
		mark = arm();
		o = sk_handle_lookup(t, h);
		n = disarm(mark);
		if (!o)
			expect_report(n, SK_VIOLATION_HANDLE_STALE, "lookup of a published handle");
		else
			sk_check(n == 0, "a successful lookup reported");
		break;
	case 2:
		mark = arm();
		b = sk_handle_borrow(t, h);
		n = disarm(mark);
		if (sk_handle_is_null(b)) {
			expect_report(n, SK_VIOLATION_HANDLE_STALE, "borrow of a published handle");
			break;
		}
		sk_check(n == 0 && sk_handle_is_borrowed(b), "borrow: %lu reports", n);
		sk_check(!stale, "borrow accepted a handle whose release or transfer had returned");
		h = b;
		o = sk_handle_try_lookup(t, h);
		break;
	default: {
		bool quiet = (r >> 8) % 5 == 4;
		bool got;

		mark = arm();
		if (quiet) {
			SK_CLASS(handle_try, ref)(t, h);

			got = ref.obj != NULL;
			if (got) {
				check_found(pl, ref.obj, rec, stale, "scoped quiet lookup");
				if ((r & 0xf000) == 0)
					sched_yield(); /* the put may be the last */
			}
		} else {
			SK_CLASS(handle, ref)(t, h);

			got = ref.obj != NULL;
			if (got) {
				check_found(pl, ref.obj, rec, stale, "scoped lookup");
				if ((r & 0xf000) == 0)
					sched_yield();
			}
		}
		n = disarm(mark);
		if (got) {
			st->found++;
			__atomic_add_fetch(&found_by_route[(r >> 8) % 5], 1, __ATOMIC_RELAXED);
		} else
			st->refused++, st->refused_known += stale;
		if (got || quiet)
			sk_check(n == 0, "scoped lookup: %lu reports", n);
		else
			expect_report(n, SK_VIOLATION_HANDLE_STALE, "scoped lookup");
		return NULL;
	}
	}
	if (!o) {
		st->refused++;
		st->refused_known += stale;
		return NULL;
	}
	check_found(pl, o, rec, stale, "lookup");
	st->found++;
	__atomic_add_fetch(&found_by_route[(r >> 8) % 5], 1, __ATOMIC_RELAXED);
	*hp = h;
	return o;
}

/*
 * Every slot the table ever used is either retired (as many as it counted)
 * or on the shared free list, exactly once, with no object and no
 * reference: nothing sits in a per-thread cache.  Only when every thread
 * that used the table has exited.
 */
static void check_slots(struct pool *pl, uint32_t gen_limit, const char *phase)
{
	struct sk_handle_table *t = &pl->table;
	uint64_t used = t->sk__next, nfree = 0, nretired = 0;
	uint8_t *on_list = calloc(used + 1, 1);

	sk_check(on_list, "calloc");
	for (uint32_t link = (uint32_t)t->sk__free; link;) {
		uint64_t i = link - 1, x = i + SK__HANDLE_FIRST;
		struct sk__handle_slot *s;

		sk_check(i < used, "%s: free list holds slot %llu of %llu used", phase,
			 (unsigned long long)i, (unsigned long long)used);
		sk_check(!on_list[i], "%s: slot %llu twice on the free list", phase,
			 (unsigned long long)i);
		on_list[i] = 1;
		nfree++;
		s = sk__handle_slot_at(t->sk__chunk[63 - __builtin_clzll(x)], x);
		link = (uint32_t)s->sk__obj;
	}
	for (uint64_t i = 0; i < used; i++) {
		uint64_t x = i + SK__HANDLE_FIRST;
		struct sk__handle_slot *s =
		    sk__handle_slot_at(t->sk__chunk[63 - __builtin_clzll(x)], x);
		uint64_t w = s->sk__word;
		uint64_t gen = (w & SK__HANDLE_GEN_MASK) >> SK__HANDLE_GEN_SHIFT;

		sk_check(!(w & (SK__HANDLE_LIVE | SK__HANDLE_OBJ)) &&
				 (w & SK__HANDLE_COUNT_MASK) == SK__HANDLE_COUNT_MASK,
			 "%s: slot %llu not empty at the end (word %llx)", phase,
			 (unsigned long long)i, (unsigned long long)w);
		if (gen >= gen_limit) {
			sk_check(!on_list[i], "%s: retired slot %llu on the free list", phase,
				 (unsigned long long)i);
			nretired++;
		} else {
			sk_check(on_list[i],
				 "%s: slot %llu (generation %llu) is neither free nor retired: "
				 "left in an exited thread's cache?",
				 phase, (unsigned long long)i, (unsigned long long)gen);
		}
	}
	sk_check(nretired == t->sk__retired, "%s: %llu slots retired, the table counted %llu",
		 phase, (unsigned long long)nretired, (unsigned long long)t->sk__retired);
	sk_check(nfree + nretired == used, "%s: %llu free + %llu retired of %llu used", phase,
		 (unsigned long long)nfree, (unsigned long long)nretired, (unsigned long long)used);
	free(on_list);
}

/* Every id inserted was released and destroyed exactly once; the table is empty. */
static uint64_t check_objects(struct pool *pl, const char *phase)
{
	uint64_t n = 0;

	for (uint64_t id = 0; id < pl->nids; id++) {
		sk_check(
		    pl->released[id] == pl->inserted[id] && pl->destroyed[id] == pl->inserted[id],
		    "%s: object %llu inserted %u, released %u, destroyed %u times", phase,
		    (unsigned long long)id, pl->inserted[id], pl->released[id], pl->destroyed[id]);
		sk_check(pl->objs[id].magic == (pl->inserted[id] ? DEAD_MAGIC : 0),
			 "%s: object %llu magic %llx", phase, (unsigned long long)id,
			 (unsigned long long)pl->objs[id].magic);
		n += pl->inserted[id];
	}
	sk_check(sk_handle_table_count(&pl->table) == 0, "%s: table not empty", phase);
	sk_check(pl->table.sk__forward == NULL, "%s: forwarding records left", phase);
	return n;
}

/* A phase's closing line: @what, then what every phase counts. */
static void phase_summary(const char *phase, const char *what, const struct pool *pl,
			  const struct lstats *l, uint64_t dtors)
{
	printf("handle-transfer-stress: %s: %s; lookups: %llu found, %llu refused (%llu known "
	       "stale); %llu objects destroyed by a lookup's last reference; %llu slots (%llu "
	       "retired)\n",
	       phase, what, (unsigned long long)l->found, (unsigned long long)l->refused,
	       (unsigned long long)l->refused_known, (unsigned long long)dtors,
	       (unsigned long long)pl->table.sk__next, (unsigned long long)pl->table.sk__retired);
}

static void pool_destroy(struct pool *pl)
{
	sk_handle_table_destroy(&pl->table); /* any report aborts: not armed */
	free(pl->objs);
	free(pl->inserted);
	free(pl->released);
	free(pl->destroyed);
}

/* ------------------------------------------------------------------------
 * Phase "ring": transfers between owners on different threads
 * ------------------------------------------------------------------------ */

#define RING 3
#define RING_READERS 2
#define TARGET 12 /* a ring thread inserts while it owns fewer */
#define INBOX 64
#define MAXOWN (4 * TARGET + INBOX)
#define RING_CELLS 64
#define HELD 4
#define RING_GENS 64

struct msg {
	uint64_t bits; /* the receiver's owned handle */
	struct record *rec;
	uint64_t id, hops;
	unsigned int from;
};

struct inbox {
	pthread_mutex_t lock;
	unsigned int head, n, reserved;
	struct msg m[INBOX];
};

struct owned {
	sk_handle_t h;
	struct record *rec;
	uint64_t id;
};

struct ringer {
	unsigned int id;
	uint64_t iters, seed;
	struct sk_handle_owner owner;
	struct inbox in;
	struct owned own[MAXOWN + INBOX];
	unsigned int nown;
	uint64_t id_next, id_end;
	struct records recs;
	uint64_t inserted, sent, received, self, released;
};

static struct pool ring_pool;
static struct ringer ringers[RING];
static uintptr_t ring_cells[RING_CELLS];
static pthread_barrier_t ring_done;
static int ring_stop;

static bool inbox_reserve(struct inbox *in)
{
	bool ok;

	pthread_mutex_lock(&in->lock);
	ok = in->n + in->reserved < INBOX;
	if (ok)
		in->reserved++;
	pthread_mutex_unlock(&in->lock);
	return ok;
}

static void inbox_push(struct inbox *in, const struct msg *m)
{
	pthread_mutex_lock(&in->lock);
	in->m[(in->head + in->n++) % INBOX] = *m;
	in->reserved--;
	pthread_mutex_unlock(&in->lock);
}

/* Up to @max messages, oldest first. */
static unsigned int inbox_take(struct inbox *in, struct msg *out, unsigned int max)
{
	unsigned int k = 0;

	pthread_mutex_lock(&in->lock);
	while (k < max && in->n) {
		out[k++] = in->m[in->head];
		in->head = (in->head + 1) % INBOX;
		in->n--;
	}
	pthread_mutex_unlock(&in->lock);
	return k;
}

static void ring_insert(struct ringer *w)
{
	struct owned *ow = &w->own[w->nown++];

	sk_check(w->id_next < w->id_end, "out of ids");
	ow->id = w->id_next++;
	ow->h = pool_insert(&ring_pool, ow->id, &w->owner);
	ow->rec = publish(&ring_pool, &w->recs, ow->h, ow->id, &ring_cells[ow->id % RING_CELLS]);
	w->inserted++;
}

/* A handle from the inbox: ours now; look it up, and misuse it as the sender. */
static void ring_receive(struct ringer *w, const struct msg *m)
{
	sk_handle_t h = sk_handle_from_bits(m->bits);
	struct tobj *o = sk_handle_lookup(&ring_pool.table, h);
	uint64_t r = rnd(&w->seed);
	struct owned *ow;

	sk_check(o, "receiver's lookup of object %llu failed", (unsigned long long)m->id);
	sk_check(o->magic == LIVE_MAGIC && o->id == m->id && o->hops == m->hops,
		 "receiver got object %llu (hops %llu), expected %llu (hops %llu)",
		 (unsigned long long)o->id, (unsigned long long)o->hops, (unsigned long long)m->id,
		 (unsigned long long)m->hops);
	sk_handle_put(&ring_pool.table, h);
	if ((r & 7) == 0)
		wrong_owner(&ring_pool, h, &ringers[m->from].owner, r & 8);
	ow = &w->own[w->nown++];
	ow->h = h;
	ow->rec = m->rec;
	ow->id = m->id;
	w->received++;
}

static void ring_drain(struct ringer *w, unsigned int room)
{
	struct msg m[INBOX];
	unsigned int k = inbox_take(&w->in, m, room < INBOX ? room : INBOX);

	for (unsigned int i = 0; i < k; i++)
		ring_receive(w, &m[i]);
}

/* Transfers own[k] to @to (ringers[to]'s owner; to == w->id: to itself). */
static void ring_transfer(struct ringer *w, unsigned int k, unsigned int to, uint64_t r)
{
	struct ringer *dst = &ringers[to];
	struct owned old = w->own[k];
	struct tobj *o = &ring_pool.objs[old.id];
	sk_handle_t h2;
	struct record *rec2;

	o->hops++;
	h2 = sk_handle_transfer(&ring_pool.table, old.h, &w->owner, &dst->owner);
	sk_check(!sk_handle_is_null(h2), "transfer of object %llu failed: errno %d",
		 (unsigned long long)old.id, errno);
	mark_stale(old.rec);
	/* Until the new owner has it, nobody can move the slot on: the
	 * outcome of these misuses is determined. */
	if ((r & 0x30000) == 0)
		use_stale(&ring_pool, old.h, &w->owner, r >> 18);
	if (to != w->id && (r & 0xc0000) == 0)
		wrong_owner(&ring_pool, h2, &w->owner, r & 0x100000);
	if ((r & 0x600000) == 0) /* a borrowed copy, even by its owner */
		wrong_owner(&ring_pool, sk_handle_borrow(&ring_pool.table, h2), &dst->owner,
			    r & 0x800000);
	rec2 = publish(&ring_pool, &w->recs, h2, old.id, &ring_cells[old.id % RING_CELLS]);
	if (to == w->id) {
		w->own[k].h = h2;
		w->own[k].rec = rec2;
		w->self++;
		return;
	}
	w->own[k] = w->own[--w->nown];
	inbox_push(&dst->in, &(struct msg){ .bits = sk_handle_bits(h2), .rec = rec2, .id = old.id,
					    .hops = o->hops, .from = w->id });
	w->sent++;
}

static void ring_release(struct ringer *w, unsigned int k, uint64_t r)
{
	struct owned old = w->own[k];

	w->own[k] = w->own[--w->nown];
	pool_release(&ring_pool, old.h, old.id, &w->owner);
	mark_stale(old.rec);
	w->released++;
	if ((r & 0x3000000) == 0)
		release_again(&ring_pool, old.h, &w->owner);
}

static void *ringer(void *arg)
{
	struct ringer *w = arg;
	unsigned int next = (w->id + 1) % RING;

	for (uint64_t i = 0; i < w->iters; i++) {
		uint64_t r = rnd(&w->seed);
		unsigned int k, act;

		ring_drain(w, MAXOWN - w->nown);
		if (w->nown) {
			k = (unsigned int)(r % w->nown);
			act = (r >> 8) & 15;
			if (w->nown > 2 * TARGET && act >= 11)
				act = 0; /* too many: release more */
			if (act < 3) {
				ring_release(w, k, r);
			} else if (act < 11 && inbox_reserve(&ringers[next].in)) {
				ring_transfer(w, k, next, r);
			} else if (act == 11) {
				ring_transfer(w, k, w->id, r);
			} else {
				/* Look our own object up through a borrowed copy. */
				sk_handle_t b = sk_handle_borrow(&ring_pool.table, w->own[k].h);
				struct tobj *o = sk_handle_lookup(&ring_pool.table, b);

				sk_check(o && o->magic == LIVE_MAGIC && o->id == w->own[k].id,
					 "owner's lookup of its object %llu",
					 (unsigned long long)w->own[k].id);
				sk_handle_put(&ring_pool.table, b);
			}
		}
		if (w->nown < TARGET)
			ring_insert(w);
		if ((i & 127) == 0)
			sched_yield();
	}
	/* Nobody sends any more once all are here: take the rest, release all. */
	pthread_barrier_wait(&ring_done);
	ring_drain(w, INBOX);
	while (w->nown)
		ring_release(w, w->nown - 1, rnd(&w->seed));
	flush_tallies();
	return NULL;
}

struct reader_stats {
	unsigned int id;
	struct lstats l;
	uint64_t dtors;
};

static void *ring_reader(void *arg)
{
	struct reader_stats *rs = arg;
	uint64_t x = 0x2545f4914f6cdd1dull * (rs->id + 1);
	sk_handle_t held[HELD];
	unsigned int nheld = 0;

	while (!__atomic_load_n(&ring_stop, __ATOMIC_RELAXED)) {
		uint64_t r = rnd(&x);
		sk_handle_t h;
		struct tobj *o = lookup_cell(&ring_pool, &ring_cells[r % RING_CELLS], r >> 6, &h,
					     &rs->l);

		if (o) {
			if (nheld < HELD && (r & (1ull << 40))) {
				/* Keep it for a while: it may be released or
				 * transferred meanwhile, even forwarded. */
				held[nheld++] = h;
			} else {
				sk_handle_put(&ring_pool.table, h);
			}
		}
		if (nheld && ((r >> 41) & 3) == 3) {
			if (((r >> 43) & 3) == 0)
				sched_yield();
			sk_handle_put(&ring_pool.table, held[--nheld]);
		}
	}
	while (nheld)
		sk_handle_put(&ring_pool.table, held[--nheld]);
	rs->dtors = tl_dtors;
	flush_tallies();
	return NULL;
}

static void phase_ring(void)
{
	pthread_t wt[RING], rt[RING_READERS];
	struct reader_stats rs[RING_READERS];
	/* drd's cost grows about as the square of the run: a 100th under valgrind
	 * (sk_test_iters() divides by 20 there). */
	uint64_t iters = sk_test_iters(sk_test_under_valgrind() ? 30000 : 150000, 1000);
	uint64_t per = iters + TARGET + 1, inserted = 0, released = 0, sent = 0, received = 0;
	uint64_t self = 0, dtors = 0;
	struct lstats l = { 0, 0, 0 };
	struct counts before;
	char what[256];

	counts_take(&before);
	pool_init(&ring_pool, RING * per, RING_GENS, SK_HANDLE_MAX_SLOTS);
	SK_TEST_BENIGN_RACE(&ring_stop, sizeof(ring_stop));
	SK_TEST_BENIGN_RACE(ring_cells, sizeof(ring_cells));
	pthread_barrier_init(&ring_done, NULL, RING);
	for (unsigned int i = 0; i < RING; i++) {
		struct ringer *w = &ringers[i];

		w->id = i;
		w->iters = iters;
		w->seed = 0x9e3779b97f4a7c15ull * (i + 1);
		sk_handle_owner_init(&w->owner, "ring");
		pthread_mutex_init(&w->in.lock, NULL);
		w->id_next = i * per;
		w->id_end = (i + 1) * per;
		records_init(&w->recs, 2 * iters + TARGET + 1);
	}
	for (unsigned int i = 0; i < RING_READERS; i++) {
		rs[i] = (struct reader_stats){ .id = i };
		pthread_create(&rt[i], NULL, ring_reader, &rs[i]);
	}
	for (unsigned int i = 0; i < RING; i++)
		pthread_create(&wt[i], NULL, ringer, &ringers[i]);
	for (unsigned int i = 0; i < RING; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&ring_stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < RING_READERS; i++) {
		pthread_join(rt[i], NULL);
		l.found += rs[i].l.found;
		l.refused += rs[i].l.refused;
		l.refused_known += rs[i].l.refused_known;
		dtors += rs[i].dtors;
	}

	counts_check(&before, "ring");
	for (unsigned int i = 0; i < RING; i++) {
		inserted += ringers[i].inserted;
		released += ringers[i].released;
		sent += ringers[i].sent;
		received += ringers[i].received;
		self += ringers[i].self;
		sk_check(ringers[i].in.n == 0 && ringers[i].in.reserved == 0, "inbox left");
	}
	sk_check(released == inserted && received == sent,
		 "ring: %llu released of %llu, %llu received of %llu sent",
		 (unsigned long long)released, (unsigned long long)inserted,
		 (unsigned long long)received, (unsigned long long)sent);
	sk_check(check_objects(&ring_pool, "ring") == inserted, "ring: inserted count");
	check_slots(&ring_pool, RING_GENS, "ring");
	snprintf(what, sizeof(what),
		 "%llu objects, %llu transfers to the next thread, %llu to the same owner, "
		 "reports: %lu stale, %lu double release, %lu wrong owner",
		 (unsigned long long)inserted, (unsigned long long)sent, (unsigned long long)self,
		 delta(&before, SK_VIOLATION_HANDLE_STALE),
		 delta(&before, SK_VIOLATION_HANDLE_DOUBLE_RELEASE),
		 delta(&before, SK_VIOLATION_HANDLE_WRONG_OWNER));
	phase_summary("ring", what, &ring_pool, &l, dtors);
	for (unsigned int i = 0; i < RING; i++) {
		sk_check(sk_handle_owner_destroy(&ringers[i].owner) == 0, "owner destroy refused");
		pthread_mutex_destroy(&ringers[i].in.lock);
		free(ringers[i].recs.r);
	}
	pthread_barrier_destroy(&ring_done);
	pool_destroy(&ring_pool);
	counts_check(&before, "ring (after destroy)");
}

/* ------------------------------------------------------------------------
 * Phase "exit": threads exiting while others insert
 * ------------------------------------------------------------------------ */

#define CHURNERS 2
#define CHURN_OBJS 16
#define SHORT_MAX 40 /* objects a short-lived thread inserts, at most: > a cache */
#define BIG_SHORT_MAX 8 /* in the big wave (drd is slow with many live threads) */
#define WAVE 4
#define BIG_WAVE 72 /* more live threads than the 64 thread shards */
#define KEEP 48	    /* the collector releases beyond this many */
/*
 * The table's slot limit: above what the live objects, the caches and the
 * retired slots can take (in the big wave, BIG_WAVE * (BIG_SHORT_MAX + a
 * line) at most; fewer slots retire under valgrind).  Filling it at the end
 * is quadratic under drd, so smaller there.
 */
#define EXIT_SLOTS 16384
#define EXIT_SLOTS_VALGRIND 2048
#define EXIT_GENS 256

static struct pool exit_pool;
static uintptr_t churn_cells[CHURNERS * CHURN_OBJS];
static int churners_done;

struct churner {
	unsigned int id;
	uint64_t iters, seed;
	struct sk_handle_owner owner;
	struct owned own[CHURN_OBJS];
	uint64_t id_next, id_end;
	struct records recs;
};

static void churn_insert(struct churner *c, unsigned int k)
{
	struct owned *ow = &c->own[k];

	sk_check(c->id_next < c->id_end, "out of ids");
	ow->id = c->id_next++;
	ow->h = pool_insert(&exit_pool, ow->id, &c->owner);
	ow->rec = publish(&exit_pool, &c->recs, ow->h, ow->id,
			  &churn_cells[c->id * CHURN_OBJS + k]);
}

static void *churner(void *arg)
{
	struct churner *c = arg;

	for (unsigned int k = 0; k < CHURN_OBJS; k++)
		churn_insert(c, k);
	for (uint64_t i = 0; i < c->iters; i++) {
		uint64_t r = rnd(&c->seed);
		unsigned int k = (unsigned int)(r % CHURN_OBJS);

		pool_release(&exit_pool, c->own[k].h, c->own[k].id, &c->owner);
		mark_stale(c->own[k].rec);
		if ((r & 0x7f00) == 0)
			release_again(&exit_pool, c->own[k].h, &c->owner);
		churn_insert(c, k);
		if ((i & 63) == 0)
			sched_yield();
	}
	for (unsigned int k = 0; k < CHURN_OBJS; k++) {
		__atomic_store_n(&churn_cells[c->id * CHURN_OBJS + k], 0, __ATOMIC_RELEASE);
		pool_release(&exit_pool, c->own[k].h, c->own[k].id, &c->owner);
		mark_stale(c->own[k].rec);
	}
	flush_tallies();
	__atomic_add_fetch(&churners_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The collector: receives what short-lived threads keep, releases it later. */
static struct {
	struct sk_handle_owner owner;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct msg *m;
	uint64_t head, tail, cap;
	bool stop;
	uint64_t received, self;
} coll;

static void *collector(void *arg)
{
	struct owned *held = calloc(coll.cap, sizeof(*held));
	uint64_t nheld = 0, x = 0xfeedf00dcafe1234ull;

	(void)arg;
	sk_check(held, "calloc");
	for (;;) {
		uint64_t from, to;
		bool stop;

		pthread_mutex_lock(&coll.lock);
		while (coll.head == coll.tail && !coll.stop)
			pthread_cond_wait(&coll.cond, &coll.lock);
		from = coll.head;
		to = coll.head = coll.tail;
		stop = coll.stop;
		pthread_mutex_unlock(&coll.lock);
		for (uint64_t i = from; i < to; i++) {
			const struct msg *m = &coll.m[i];
			sk_handle_t h = sk_handle_from_bits(m->bits);
			struct tobj *o = sk_handle_lookup(&exit_pool.table, h);
			uint64_t r = rnd(&x);

			sk_check(o && o->magic == LIVE_MAGIC && o->id == m->id,
				 "collector's lookup of object %llu", (unsigned long long)m->id);
			sk_handle_put(&exit_pool.table, h);
			if ((r & 3) == 0) {
				h = sk_handle_transfer(&exit_pool.table, h, &coll.owner,
						       &coll.owner);
				sk_check(!sk_handle_is_null(h), "collector's transfer to itself");
				coll.self++;
			}
			held[nheld++] = (struct owned){ .h = h, .id = m->id };
			coll.received++;
		}
		while (nheld > KEEP) {
			uint64_t k = rnd(&x) % nheld;

			pool_release(&exit_pool, held[k].h, held[k].id, &coll.owner);
			held[k] = held[--nheld];
		}
		if (stop && from == to)
			break;
	}
	while (nheld) {
		nheld--;
		pool_release(&exit_pool, held[nheld].h, held[nheld].id, &coll.owner);
	}
	free(held);
	flush_tallies();
	return NULL;
}

static void collect(const struct msg *m)
{
	pthread_mutex_lock(&coll.lock);
	sk_check(coll.tail < coll.cap, "collector inbox full");
	coll.m[coll.tail++] = *m;
	pthread_cond_signal(&coll.cond);
	pthread_mutex_unlock(&coll.lock);
}

struct shorty {
	uint64_t seed, id_base;
	pthread_barrier_t *all_alive; /* the big wave: wait until all are running */
	unsigned int max; /* objects to insert, at most */
	uint64_t inserted, handed, dtors;
	struct lstats l;
};

static void *shorty(void *arg)
{
	struct shorty *st = arg;
	struct sk_handle_owner owner; /* dies with the thread */
	sk_handle_t h[SHORT_MAX], held[2];
	unsigned int n = 1 + (unsigned int)(rnd(&st->seed) % st->max), nheld = 0;

	sk_handle_owner_init(&owner, "short-lived");
	for (unsigned int i = 0; i < n; i++) {
		struct tobj *o;

		h[i] = pool_insert(&exit_pool, st->id_base + i, &owner);
		o = sk_handle_lookup(&exit_pool.table, h[i]);
		sk_check(o == &exit_pool.objs[st->id_base + i], "short-lived lookup");
		sk_handle_put(&exit_pool.table, h[i]);
	}
	st->inserted = n;
	if (st->all_alive)
		pthread_barrier_wait(st->all_alive);
	/* The long-lived threads' objects; keep up to two references. */
	for (unsigned int i = 0; i < 8; i++) {
		uint64_t r = rnd(&st->seed);
		sk_handle_t hh;
		struct tobj *o = lookup_cell(&exit_pool, &churn_cells[r % (CHURNERS * CHURN_OBJS)],
					     r >> 6, &hh, &st->l);

		if (o && nheld < 2)
			held[nheld++] = hh;
		else if (o)
			sk_handle_put(&exit_pool.table, hh);
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t r = rnd(&st->seed), id = st->id_base + i;
		sk_handle_t h2;

		if (r & 1) {
			pool_release(&exit_pool, h[i], id, &owner);
			if ((r & 0x1e) == 0)
				release_again(&exit_pool, h[i], &owner);
			continue;
		}
		h2 = sk_handle_transfer(&exit_pool.table, h[i], &owner, &coll.owner);
		sk_check(!sk_handle_is_null(h2), "transfer to the collector: errno %d", errno);
		if ((r & 0x60) == 0)
			use_stale(&exit_pool, h[i], &owner, r >> 7);
		if ((r & 0x180) == 0)
			wrong_owner(&exit_pool, h2, &owner, r & 0x200);
		collect(&(struct msg){ .bits = sk_handle_bits(h2), .id = id });
		st->handed++;
		if ((r & 0xc00) == 0)
			sched_yield();
	}
	/* The last puts may destroy the long-lived threads' objects here. */
	while (nheld)
		sk_handle_put(&exit_pool.table, held[--nheld]);
	/* Owns nothing now (the debug level searches the tables). */
	sk_check(sk_handle_owner_destroy(&owner) == 0, "short-lived owner destroy refused");
	st->dtors = tl_dtors;
	flush_tallies();
	return NULL;
}

/* From a fresh thread: the table takes exactly @slots objects more, then releases them. */
struct fill {
	uint64_t id_base, slots;
};

static void *filler(void *arg)
{
	struct fill *f = arg;
	struct sk_handle_owner owner;
	sk_handle_t *h = calloc(f->slots + 1, sizeof(*h));
	uint64_t n = 0;

	sk_check(h, "calloc");
	sk_handle_owner_init(&owner, "filler");
	for (;;) {
		struct tobj *o = &exit_pool.objs[f->id_base + n];

		sk_check(n <= f->slots, "the table took more than %llu objects",
			 (unsigned long long)f->slots);
		o->magic = LIVE_MAGIC;
		o->id = f->id_base + n;
		h[n] = sk_handle_insert(&exit_pool.table, o, &owner);
		if (sk_handle_is_null(h[n]))
			break;
		exit_pool.inserted[f->id_base + n] = 1;
		n++;
	}
	sk_check(errno == ENOSPC, "the full table's insert failed with errno %d", errno);
	exit_pool.objs[f->id_base + n] = (struct tobj){ 0, 0, 0 };
	sk_check(n == f->slots,
		 "the table took %llu objects, expected %llu (slots cached by exited threads?)",
		 (unsigned long long)n, (unsigned long long)f->slots);
	for (uint64_t i = 0; i < n; i++)
		pool_release(&exit_pool, h[i], f->id_base + i, &owner);
	sk_check(sk_handle_owner_destroy(&owner) == 0, "filler owner destroy refused");
	free(h);
	flush_tallies();
	return NULL;
}

static void phase_exit(void)
{
	static struct churner ch[CHURNERS];
	pthread_t ct[CHURNERS], colt, ft;
	/* As in phase "ring": a 100th under valgrind. */
	uint64_t iters = sk_test_iters(sk_test_under_valgrind() ? 60000 : 300000, 2000);
	uint64_t min_waves = sk_test_iters(60, 6), max_waves = sk_test_iters(400, 20);
	uint64_t per_churner = iters + CHURN_OBJS + 1;
	uint64_t short_base = CHURNERS * per_churner;
	uint64_t max_short = (max_waves - 1) * WAVE + BIG_WAVE;
	uint64_t fill_base = short_base + max_short * SHORT_MAX;
	uint64_t slots = sk_test_under_valgrind() ? EXIT_SLOTS_VALGRIND : EXIT_SLOTS;
	struct shorty *st = calloc(max_short, sizeof(*st));
	pthread_t *stt = calloc(BIG_WAVE, sizeof(*stt));
	pthread_barrier_t big;
	uint64_t nshort = 0, waves = 0, inserted = 0, handed = 0, dtors = 0;
	struct lstats l = { 0, 0, 0 };
	struct counts before;
	struct fill f;
	char what[256];

	sk_check(st && stt, "calloc");
	counts_take(&before);
	pool_init(&exit_pool, fill_base + slots + 1, EXIT_GENS, slots);
	SK_TEST_BENIGN_RACE(churn_cells, sizeof(churn_cells));
	SK_TEST_BENIGN_RACE(&churners_done, sizeof(churners_done));
	sk_handle_owner_init(&coll.owner, "collector");
	pthread_mutex_init(&coll.lock, NULL);
	pthread_cond_init(&coll.cond, NULL);
	coll.cap = max_short * SHORT_MAX;
	coll.m = calloc(coll.cap, sizeof(*coll.m));
	sk_check(coll.m, "calloc");
	pthread_create(&colt, NULL, collector, NULL);
	for (unsigned int i = 0; i < CHURNERS; i++) {
		ch[i].id = i;
		ch[i].iters = iters;
		ch[i].seed = 0x51ed270b27a5ee3dull * (i + 1);
		sk_handle_owner_init(&ch[i].owner, "churner");
		ch[i].id_next = i * per_churner;
		ch[i].id_end = (i + 1) * per_churner;
		records_init(&ch[i].recs, iters + CHURN_OBJS);
		pthread_create(&ct[i], NULL, churner, &ch[i]);
	}
	/*
	 * Waves of short-lived threads while the churners run (at least
	 * min_waves), one with more threads than shards: the second, or under
	 * valgrind the first after the churners are done (drd's cost per
	 * operation grows with the live threads).
	 */
	for (bool big_done = false;; waves++) {
		bool churning = __atomic_load_n(&churners_done, __ATOMIC_ACQUIRE) < CHURNERS;
		bool big_now;
		unsigned int nw;

		if (big_done && waves >= min_waves && (!churning || waves >= max_waves))
			break;
		big_now = !big_done && (waves + 1 == max_waves ||
					(sk_test_under_valgrind() ? !churning : waves == 1));
		big_done |= big_now;
		nw = big_now ? BIG_WAVE : WAVE;
		if (big_now)
			pthread_barrier_init(&big, NULL, BIG_WAVE);
		for (unsigned int i = 0; i < nw; i++) {
			struct shorty *s = &st[nshort + i];

			s->seed = 0x9e3779b97f4a7c15ull * (nshort + i + 1);
			s->id_base = short_base + (nshort + i) * SHORT_MAX;
			s->all_alive = big_now ? &big : NULL;
			s->max = big_now ? BIG_SHORT_MAX : SHORT_MAX;
			sk_check(pthread_create(&stt[i], NULL, shorty, s) == 0, "pthread_create");
		}
		for (unsigned int i = 0; i < nw; i++)
			pthread_join(stt[i], NULL);
		if (big_now)
			pthread_barrier_destroy(&big);
		nshort += nw;
	}
	for (unsigned int i = 0; i < CHURNERS; i++)
		pthread_join(ct[i], NULL);
	pthread_mutex_lock(&coll.lock);
	coll.stop = true;
	pthread_cond_signal(&coll.cond);
	pthread_mutex_unlock(&coll.lock);
	pthread_join(colt, NULL);

	for (uint64_t i = 0; i < nshort; i++) {
		inserted += st[i].inserted;
		handed += st[i].handed;
		dtors += st[i].dtors;
		l.found += st[i].l.found;
		l.refused += st[i].l.refused;
		l.refused_known += st[i].l.refused_known;
	}
	sk_check(coll.received == handed, "collector got %llu of %llu",
		 (unsigned long long)coll.received, (unsigned long long)handed);
	counts_check(&before, "exit");
	sk_check(check_objects(&exit_pool, "exit") ==
			 inserted + CHURNERS * (iters + CHURN_OBJS),
		 "exit: inserted count");
	check_slots(&exit_pool, EXIT_GENS, "exit");
	snprintf(what, sizeof(what),
		 "%llu short-lived threads in %llu waves inserted %llu objects, handed %llu to the "
		 "collector (%llu moved on to itself)",
		 (unsigned long long)nshort, (unsigned long long)waves,
		 (unsigned long long)inserted, (unsigned long long)handed,
		 (unsigned long long)coll.self);
	phase_summary("exit", what, &exit_pool, &l, dtors);

	/* Every free slot can be had by one thread: none stayed cached. */
	f.id_base = fill_base;
	f.slots = slots - exit_pool.table.sk__retired;
	pthread_create(&ft, NULL, filler, &f);
	pthread_join(ft, NULL);
	check_objects(&exit_pool, "exit (fill)");
	check_slots(&exit_pool, EXIT_GENS, "exit (fill)");
	counts_check(&before, "exit (fill)");

	sk_check(sk_handle_owner_destroy(&coll.owner) == 0, "collector owner destroy refused");
	for (unsigned int i = 0; i < CHURNERS; i++) {
		sk_check(sk_handle_owner_destroy(&ch[i].owner) == 0,
			 "churner owner destroy refused");
		free(ch[i].recs.r);
	}
	pthread_cond_destroy(&coll.cond);
	pthread_mutex_destroy(&coll.lock);
	free(coll.m);
	free(st);
	free(stt);
	pool_destroy(&exit_pool);
	counts_check(&before, "exit (after destroy)");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* a phase's line as it ends */
	sk_test_count_policy();
	sk_violation_set_handler(on_violation, NULL);
	SK_TEST_BENIGN_RACE(found_by_route, sizeof(found_by_route));
	phase_ring();
	phase_exit();
	sk_violation_set_handler(NULL, NULL);
	for (unsigned int i = 0; i < 5; i++)
		sk_check(found_by_route[i] > 0, "no %s ever succeeded", route_names[i]);
	return 0;
}
