/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/handle-misuse-race.c - a put without a reference (misuse)
 * racing other operations on the same slot must still be reported once,
 * leave the slot's count right (the object destroyed exactly once, the
 * slot's next object whole), and never get a correct concurrent lookup
 * refused.
 *
 * Each case holds one interleaving open deterministically: this program
 * defines sk__handle_put_slow() and sk__handle_lookup_slow() (the inline
 * operations call them through the PLT, so these definitions win), parks
 * a thread in one of them, runs the other operation, then calls the
 * library's.  Found by a review of the put fix of 2026-11-25:
 *
 *  took_ref_claimed_late  a stale try_lookup has added its transient
 *	reference; the owner releases (the reference looks like a holder's);
 *	a put without a reference takes the count to zero and looks like the
 *	last put; the lookup's undo then leaves the count below zero.  Was:
 *	no report, the object never destroyed.
 *  took_ref_claimed_early  the same, but the misuse put finalizes the
 *	object before the lookup's undo.  Was: no report, and the slot's next
 *	object born with no reference (every lookup refused, never destroyed).
 *  lookup_during_misuse  a correct lookup between a misuse put's decrement
 *	and its undo.  Was: the lookup refused (a false refcount_inc_from_zero).
 *	Also as a scoped lookup (SK_CLASS(handle, ...)), which the cold path
 *	completes after the undo: was a crash at the end of the scope (the
 *	scope's put went through a NULL slot: the fast path sets the slot
 *	only when it succeeds itself).
 *  undo_under_next_lookup  as took_ref_claimed_early, with a correct
 *	lookup of the slot's next object adding its transient reference
 *	while the stale lookup, whose undo left the deficit, waits to see
 *	whether a put will make it good.  Was: the stale lookup took that add
 *	for the put's undo and kept the reference it should give back (no
 *	report; the next object one short for good: its lookups refused, never
 *	destroyed).  Found by a review of 2026-11-26.
 *  undo_beside_other_misuse  as took_ref_claimed_early, with a put without
 *	a reference on another table while the stale lookup waits.  Was (for
 *	a few hours on 2026-11-26, when one counter of such puts' undos served
 *	every slot): the lookup took that put's undo for the one it waited
 *	for, and the first misuse went unreported with the slot one short.
 *
 * A plain program so that TSan, helgrind and drd can run it.
 */
#define SK_TEST_PLAIN
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include <safekern/handle.h>

#include "../sk-test.h"

typedef void put_slow_fn(struct sk_handle_table *, sk_handle_t, struct sk__handle_slot *, uint64_t,
			 const struct sk_callsite *);
typedef void *lookup_slow_fn(struct sk_handle_table *, sk_handle_t, struct sk__handle_slot *,
			     uint64_t, unsigned int, const struct sk_callsite *);

static put_slow_fn *real_put_slow;
static lookup_slow_fn *real_lookup_slow;

/* How the next put's cold path is held (each fires once). */
enum { PUT_PLAIN, PUT_LATE, PUT_EARLY, PUT_DURING };
static int put_mode;
/* The next lookup's cold path: 1 park before the undo; for PUT_DURING,
 * 3 = armed, 2 = entered. */
static int lookup_park, lookup_state;
/* The next lookup's cold path waits for the stale lookup to return. */
static int lookup_hold, stale_done;
static pthread_barrier_t a, b, c;

void sk__handle_put_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			 uint64_t word, const struct sk_callsite *cs)
{
	switch (__atomic_exchange_n(&put_mode, PUT_PLAIN, __ATOMIC_ACQ_REL)) {
	case PUT_LATE: /* the decrement is done; the lookup undoes first */
		pthread_barrier_wait(&b);
		pthread_barrier_wait(&c);
		real_put_slow(t, h, s, word, cs);
		break;
	case PUT_EARLY: /* this put finalizes; then the lookup undoes */
		real_put_slow(t, h, s, word, cs);
		pthread_barrier_wait(&b);
		pthread_barrier_wait(&c);
		break;
	case PUT_DURING: /* a lookup comes in before this put's undo */
		pthread_barrier_wait(&a);
		while (__atomic_load_n(&lookup_state, __ATOMIC_ACQUIRE) != 2)
			sched_yield();
		real_put_slow(t, h, s, word, cs);
		break;
	default:
		real_put_slow(t, h, s, word, cs);
	}
}

void *sk__handle_lookup_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			     uint64_t old, unsigned int flags, const struct sk_callsite *cs)
{
	if (s && __atomic_exchange_n(&lookup_park, 0, __ATOMIC_ACQ_REL)) {
		/* The transient reference is in the count; park before the undo. */
		pthread_barrier_wait(&a);
		pthread_barrier_wait(&b);
	}
	if (s && __atomic_exchange_n(&lookup_hold, 0, __ATOMIC_ACQ_REL)) {
		/* This lookup's transient reference is in the count. */
		while (!__atomic_load_n(&stale_done, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	if (s && __atomic_load_n(&lookup_state, __ATOMIC_ACQUIRE) == 3)
		__atomic_store_n(&lookup_state, 2, __ATOMIC_RELEASE);
	return real_lookup_slow(t, h, s, old, flags, cs);
}

static unsigned long dtor_calls;

static void dtor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	__atomic_add_fetch(&dtor_calls, 1, __ATOMIC_RELAXED);
}

static struct sk_handle_table tab;
static struct sk_handle_owner owner = SK_HANDLE_OWNER_INIT("misuse-race");
static sk_handle_t stale, live;
static int obj, obj2;

static unsigned long underflows(void)
{
	return sk_violation_count(SK_VIOLATION_REFCOUNT_UNDERFLOW);
}

/* A table of one slot: @stale released, @live the slot's next object. */
static void setup(void)
{
	sk_handle_table_init(&tab, dtor, NULL);
	sk_check(sk__handle_table_set_limits(&tab, SK_HANDLE_GENERATIONS, 1) == 0, "limits");
	stale = sk_handle_insert(&tab, &obj, &owner);
	sk_check(sk_handle_release(&tab, stale, &owner) == 0, "release");
	live = sk_handle_insert(&tab, &obj, &owner);
	sk_check(sk_handle_bits(live) >> SK__HANDLE_INDEX_SHIFT ==
			 sk_handle_bits(stale) >> SK__HANDLE_INDEX_SHIFT,
		 "the insert did not reuse the slot");
	dtor_calls = 0;
}

/* The slot's next object: looked up, put, released, destroyed once. */
static void check_next_object(void)
{
	unsigned long before = dtor_calls, total = sk_violation_total();
	sk_handle_t h = sk_handle_insert(&tab, &obj2, &owner);
	void *p;

	sk_check(!sk_handle_is_null(h), "the slot was not given back (errno %d)", errno);
	p = sk_handle_lookup(&tab, h);
	sk_check(p == &obj2, "lookup of the slot's next object: %p", p);
	sk_handle_put(&tab, h);
	sk_check(sk_handle_release(&tab, h, &owner) == 0, "release of the next object");
	sk_check(dtor_calls == before + 1, "the next object was destroyed %lu times",
		 dtor_calls - before);
	sk_check(sk_violation_total() == total, "the next object's use reported %lu",
		 sk_violation_total() - total);
}

static void teardown(void)
{
	unsigned long total = sk_violation_total();

	sk_check(sk_handle_table_count(&tab) == 0, "%llu objects left",
		 (unsigned long long)sk_handle_table_count(&tab));
	sk_handle_table_destroy(&tab);
	sk_check(sk_violation_total() == total, "destroy reported %lu", sk_violation_total() - total);
}

static void *stale_lookup(void *arg)
{
	void *p;

	(void)arg;
	p = sk_handle_try_lookup(&tab, stale);
	sk_check(!p, "a stale lookup returned %p", p);
	pthread_barrier_wait(&c);
	return NULL;
}

static void took_ref(bool claimed_early)
{
	unsigned long u0;
	pthread_t th;

	setup();
	u0 = underflows();
	__atomic_store_n(&lookup_park, 1, __ATOMIC_RELEASE);
	sk_check(!pthread_create(&th, NULL, stale_lookup, NULL), "pthread_create");
	pthread_barrier_wait(&a); /* the stale lookup's reference is in the count */
	sk_check(sk_handle_release(&tab, live, &owner) == 0, "release");
	sk_check(dtor_calls == 0, "destroyed while a reference is counted");
	__atomic_store_n(&put_mode, claimed_early ? PUT_EARLY : PUT_LATE, __ATOMIC_RELEASE);
	sk_handle_put(&tab, live); /* misuse: this thread holds no reference */
	pthread_join(th, NULL);
	sk_check(underflows() - u0 == 1, "%s: %lu underflow reports, expected 1",
		 claimed_early ? "claimed early" : "claimed late", underflows() - u0);
	sk_check(dtor_calls == 1, "the object was destroyed %lu times", dtor_calls);
	check_next_object();
	teardown();
}

static void *correct_lookup(void *arg)
{
	void *p;

	(void)arg;
	pthread_barrier_wait(&a);
	p = sk_handle_lookup(&tab, live);
	sk_check(p == &obj, "a correct lookup during a misuse put was refused (%p)", p);
	sk_handle_put(&tab, live);
	return NULL;
}

/* The same lookup, scoped: its put at the end of the scope needs the slot. */
static void *correct_scoped_lookup(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&a);
	{
		SK_CLASS(handle, ref)(&tab, live);

		sk_check(ref.obj == &obj, "a correct scoped lookup during a misuse put was refused (%p)",
			 ref.obj);
		sk_check(ref.sk__slot != NULL, "the scoped lookup succeeded without its slot");
	}
	return NULL;
}

static void lookup_during_misuse(bool scoped)
{
	unsigned long total, u0;
	pthread_t th;

	setup();
	total = sk_violation_total();
	u0 = underflows();
	__atomic_store_n(&lookup_state, 3, __ATOMIC_RELEASE);
	__atomic_store_n(&put_mode, PUT_DURING, __ATOMIC_RELEASE);
	sk_check(!pthread_create(&th, NULL, scoped ? correct_scoped_lookup : correct_lookup, NULL),
		 "pthread_create");
	sk_handle_put(&tab, live); /* misuse: no reference held */
	pthread_join(th, NULL);
	sk_check(sk_violation_total() - total == 1 && underflows() - u0 == 1,
		 "%lu reports (refcount_underflow %lu, inc_from_zero %lu), expected the put's "
		 "underflow only",
		 sk_violation_total() - total, underflows() - u0,
		 sk_violation_count(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO));
	sk_check(sk_handle_release(&tab, live, &owner) == 0, "release");
	sk_check(dtor_calls == 1, "the object was destroyed %lu times", dtor_calls);
	check_next_object();
	teardown();
}

static void *stale_lookup_flagged(void *arg)
{
	void *p;

	(void)arg;
	p = sk_handle_try_lookup(&tab, stale);
	sk_check(!p, "a stale lookup returned %p", p);
	__atomic_store_n(&stale_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A stale lookup parked with its transient reference counted, then the
 * owner's release and a put without a reference, which takes the count to
 * zero and finalizes: the lookup's undo (after barrier b) runs the slot
 * short.  Returns the lookup's thread.
 */
static pthread_t park_stale_then_misuse(void)
{
	pthread_t th;

	__atomic_store_n(&stale_done, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&lookup_park, 1, __ATOMIC_RELEASE);
	sk_check(!pthread_create(&th, NULL, stale_lookup_flagged, NULL), "pthread_create");
	pthread_barrier_wait(&a); /* the stale lookup's reference is in the count */
	sk_check(sk_handle_release(&tab, live, &owner) == 0, "release");
	sk_handle_put(&tab, live); /* misuse: takes the count to zero, finalizes */
	sk_check(dtor_calls == 1, "the misuse put did not finalize (%lu)", dtor_calls);
	return th;
}

static void undo_under_next_lookup(void)
{
	unsigned long total, u0;
	struct sk__handle_slot *s;
	sk_handle_t h2;
	pthread_t th;
	void *p;

	setup();
	total = sk_violation_total();
	u0 = underflows();
	th = park_stale_then_misuse();
	h2 = sk_handle_insert(&tab, &obj2, &owner); /* the slot's next object */
	sk_check(!sk_handle_is_null(h2), "insert");
	s = sk__handle_slot_of(&tab, h2);
	pthread_barrier_wait(&b); /* the stale lookup undoes: the next object runs short */
	while ((int64_t)__atomic_load_n(&s->sk__word, __ATOMIC_ACQUIRE) >= 0)
		sched_yield();
	__atomic_store_n(&lookup_hold, 1, __ATOMIC_RELEASE);
	p = sk_handle_lookup(&tab, h2); /* correct */
	pthread_join(th, NULL);
	sk_check(p == &obj2, "a correct lookup of the slot's next object was refused (%p)", p);
	sk_handle_put(&tab, h2);
	sk_check(sk_violation_total() - total == 1 && underflows() - u0 == 1,
		 "%lu reports (refcount_underflow %lu, inc_from_zero %lu), expected one underflow",
		 sk_violation_total() - total, underflows() - u0,
		 sk_violation_count(SK_VIOLATION_REFCOUNT_INC_FROM_ZERO));
	p = sk_handle_lookup(&tab, h2);
	sk_check(p == &obj2, "a later lookup of the next object was refused (%p)", p);
	sk_handle_put(&tab, h2);
	sk_check(sk_handle_release(&tab, h2, &owner) == 0, "release of the next object");
	sk_check(dtor_calls == 2, "%lu destructor calls, expected 2", dtor_calls);
	check_next_object();
	teardown();
}

/* The library's counter of put undos for @s (lib/handle.c: 64 counters,
 * chosen by the slot's address). */
static unsigned int undo_counter_of(const struct sk__handle_slot *s)
{
	return (unsigned int)(((uintptr_t)s / sizeof(*s)) % 64);
}

static void undo_beside_other_misuse(void)
{
	struct sk_handle_table other;
	struct sk__handle_slot *s;
	sk_handle_t ho[2], hother;
	unsigned long total, u0;
	pthread_t th;
	int o3 = 3;

	setup();
	sk_handle_table_init(&other, dtor, NULL);
	s = sk__handle_slot_of(&tab, live);
	/* Two neighbouring slots have different counters: take the one whose
	 * counter is not the stale lookup's. */
	ho[0] = sk_handle_insert(&other, &o3, &owner);
	ho[1] = sk_handle_insert(&other, &o3, &owner);
	sk_check(!sk_handle_is_null(ho[0]) && !sk_handle_is_null(ho[1]), "insert");
	hother = undo_counter_of(sk__handle_slot_of(&other, ho[0])) != undo_counter_of(s) ? ho[0]
											    : ho[1];
	sk_check(undo_counter_of(sk__handle_slot_of(&other, hother)) != undo_counter_of(s),
		 "no slot with another counter");
	total = sk_violation_total();
	u0 = underflows();
	th = park_stale_then_misuse();
	pthread_barrier_wait(&b); /* the stale lookup undoes: the free slot runs short */
	/* A free slot counts -1; the undo makes it -2, and the lookup waits. */
	while ((int64_t)__atomic_load_n(&s->sk__word, __ATOMIC_ACQUIRE) >> SK__HANDLE_REF_SHIFT >= -1 &&
	       !__atomic_load_n(&stale_done, __ATOMIC_ACQUIRE))
		sched_yield();
	sk_check(!__atomic_load_n(&stale_done, __ATOMIC_ACQUIRE),
		 "the stale lookup returned before the other misuse");
	sk_handle_put(&other, hother); /* misuse on another table: undoes itself */
	pthread_join(th, NULL);
	sk_check(sk_violation_total() - total == 2 && underflows() - u0 == 2,
		 "%lu reports (refcount_underflow %lu), expected one underflow per misuse",
		 sk_violation_total() - total, underflows() - u0);
	check_next_object();
	for (int i = 0; i < 2; i++)
		sk_check(sk_handle_release(&other, ho[i], &owner) == 0, "release on the other table");
	sk_check(dtor_calls == 4, "%lu destructor calls, expected 4", dtor_calls);
	sk_handle_table_destroy(&other);
	teardown();
}

int main(void)
{
	SK_TEST_BENIGN_RACE(&dtor_calls, sizeof(dtor_calls));
	SK_TEST_BENIGN_RACE(&put_mode, sizeof(put_mode));
	SK_TEST_BENIGN_RACE(&lookup_park, sizeof(lookup_park));
	SK_TEST_BENIGN_RACE(&lookup_state, sizeof(lookup_state));
	SK_TEST_BENIGN_RACE(&lookup_hold, sizeof(lookup_hold));
	SK_TEST_BENIGN_RACE(&stale_done, sizeof(stale_done));
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	real_put_slow = (put_slow_fn *)dlsym(RTLD_NEXT, "sk__handle_put_slow");
	real_lookup_slow = (lookup_slow_fn *)dlsym(RTLD_NEXT, "sk__handle_lookup_slow");
	sk_check(real_put_slow && real_lookup_slow, "the library's cold paths not found");
	sk_check(!pthread_barrier_init(&a, NULL, 2) && !pthread_barrier_init(&b, NULL, 2) &&
			 !pthread_barrier_init(&c, NULL, 2),
		 "barriers");

	took_ref(false);
	took_ref(true);
	lookup_during_misuse(false);
	lookup_during_misuse(true);
	undo_under_next_lookup();
	undo_beside_other_misuse();

	sk_check(sk_violation_total() == 7, "%lu reports in all, expected 7", sk_violation_total());
	sk_check(sk_handle_owner_destroy(&owner) == 0, "owner destroy");
	pthread_barrier_destroy(&a);
	pthread_barrier_destroy(&b);
	pthread_barrier_destroy(&c);
	printf("handle-misuse-race: six misuse puts racing a lookup, each reported once, "
	       "each object destroyed once, the slots' next objects whole\n");
	return 0;
}
