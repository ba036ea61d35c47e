/* SPDX-License-Identifier: MIT */
/*
 * lib/handle.c - handle tables: the out-of-line parts (insert, release,
 * transfer, growth, the free list, the cold paths of lookup/put/borrow,
 * classification and reports).  The bit layout and the protocol are
 * described in include/safekern/handle.h.
 *
 * The slot word protocol, in short:
 *
 *   - the count (bits 48-63, signed) holds one "bias" reference while the
 *     object is live, plus one per lookup;
 *   - a lookup adds one and checks the word it replaced; on mismatch it
 *     subtracts again (so counts may be transiently high on any slot,
 *     including free ones: slot memory is never freed while the table
 *     lives);
 *   - release clears LIVE, increments the generation, sets PREV and drops
 *     the bias in one CAS; transfer increments the generation and changes
 *     the owner in one CAS;
 *   - whoever brings the count to 0 while the slot holds a released object
 *     (OBJ set, LIVE clear) claims it by CAS-clearing OBJ (with the count
 *     still 0) and finalizes it: destructor, then to the finalizing thread's
 *     cache of free slots (or the shared free list), or retired if the
 *     generation space is used up.  A transient increment
 *     between the drop and the claim makes the claim fail; the thread that
 *     brings the count back to 0 claims instead.  Exactly one claim wins.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <safekern/alloc.h>
#include <safekern/annotate.h>
#include <safekern/handle.h>
#include <safekern/violation.h>

#include "alloc-internal.h"
#include "lockdep-internal.h"
#include "violation-internal.h"

#define TID_MASK SK__HANDLE_TID_MASK
#define LIVE SK__HANDLE_LIVE
#define OBJ SK__HANDLE_OBJ
#define BORROWED SK__HANDLE_BORROWED
#define PREV SK__HANDLE_PREV
#define GEN_MASK SK__HANDLE_GEN_MASK
#define GEN_SHIFT SK__HANDLE_GEN_SHIFT
/* The table key: a new incarnation number above LIVE and the table id. */
#define KEY_INCARNATION_SHIFT 10
#define OWNER_MASK SK__HANDLE_OWNER_MASK
#define OWNER_SHIFT SK__HANDLE_OWNER_SHIFT
#define REF_ONE SK__HANDLE_REF_ONE
#define COUNT_MASK SK__HANDLE_COUNT_MASK
#define INDEX_SHIFT SK__HANDLE_INDEX_SHIFT

/*
 * Happens-before annotations for helgrind and drd, issued only under them
 * (sk__lock_race_tool, set at load): natively each is a dozen instructions
 * of Valgrind's magic sequence, which memcheck and callgrind would run too.
 * Nothing at all in a build without the Valgrind headers.
 */
#ifdef SK__ANNOTATE
#define HB(addr)                                                              \
	do {                                                                  \
		if (sk_unlikely(__atomic_load_n(&sk__lock_race_tool, __ATOMIC_RELAXED))) \
			SK_ANNOTATE_HAPPENS_BEFORE(addr);                     \
	} while (0)
#define HA(addr)                                                              \
	do {                                                                  \
		if (sk_unlikely(__atomic_load_n(&sk__lock_race_tool, __ATOMIC_RELAXED))) \
			SK_ANNOTATE_HAPPENS_AFTER(addr);                      \
	} while (0)
#else
#define HB(addr) ((void)(addr))
#define HA(addr) ((void)(addr))
#endif

static inline uint32_t w_gen(uint64_t w)
{
	return (uint32_t)((w >> GEN_SHIFT) & SK__HANDLE_GEN_MAX);
}

static inline uint32_t w_owner(uint64_t w)
{
	return (uint32_t)((w & OWNER_MASK) >> OWNER_SHIFT);
}

/* References: the field holds references - 1 (a free slot holds -1). */
static inline int64_t w_count(uint64_t w)
{
	return ((int64_t)w >> SK__HANDLE_REF_SHIFT) + 1;
}

/* A never-used slot: no references, nothing else. */
#define WORD_FRESH COUNT_MASK

static inline uint64_t h_index(uint64_t v)
{
	return v >> INDEX_SHIFT;
}

/* A word left behind by a transfer out of the last generation (forwarded). */
static bool w_moved(struct sk_handle_table *t, uint64_t w)
{
	return w_gen(w) >= t->sk__gen_limit && !(w & PREV);
}

/* A released object whose last reference is gone: finalize it. */
static inline bool w_claimable(uint64_t w)
{
	return w_count(w) == 0 && (w & OBJ) && !(w & LIVE);
}

/*
 * Fewer references than any correct state has (a live object holds its
 * owner's): a put without a reference went through.  Never seen in a
 * correct program, not even for a moment.
 */
static inline bool w_deficit(uint64_t w)
{
	return w_count(w) < ((w & LIVE) ? 1 : 0);
}

/* ------------------------------------------------------------------------
 * Table and owner ids: how many live tables (owners) hold each id, handed
 * out round-robin.  Counts, not a bitmap of live ids: beyond the limit an
 * id is shared, and the destroy of one of its holders must not make it
 * free while the others live (a bitmap did: the id then went to a new
 * table or owner while the old holder still used it, so two live tables
 * or owners shared an id with fewer than the limit live).
 * ------------------------------------------------------------------------ */

#define NR_TIDS (SK_HANDLE_MAX_TABLES + 1)
#define NR_OIDS (SK_HANDLE_MAX_OWNERS + 1)

static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t tid_users[NR_TIDS];
static uint32_t tid_next = 1;
/*
 * Per table id, the first generation the next table with that id issues:
 * one past every generation its earlier tables issued, so that a handle
 * of a destroyed table is stale in a later table that gets the id back.
 * Back to 0 once it would pass GEN_FLOOR_MAX (the tables of one id
 * issued 2^23 generations on one slot between them), so that every
 * table keeps at least half the generation space per slot.
 */
static uint32_t tid_gen_floor[NR_TIDS];
#define GEN_FLOOR_MAX (SK_HANDLE_GENERATIONS / 2)
/* Table inits so far: each table's key is new, even with a reused id. */
static uint64_t table_incarnations;
static uint32_t oid_users[NR_OIDS];
static uint32_t oid_next = 1;
static const char *owner_names[NR_OIDS];
static uint64_t oid_name_copied[NR_OIDS / 64]; /* owner_names[id] is our strdup() */

/* Bit @id of the bitmap @map (oid_name_copied). */
static bool bit_test(const uint64_t *map, uint32_t id)
{
	return map[id / 64] & (UINT64_C(1) << (id % 64));
}

static void bit_set(uint64_t *map, uint32_t id)
{
	map[id / 64] |= UINT64_C(1) << (id % 64);
}

static void bit_clear(uint64_t *map, uint32_t id)
{
	map[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

/* Next id in 1..nr-1 from *next that is not in use; if all are, share one. */
static uint32_t id_alloc(uint32_t *users, uint32_t nr, uint32_t *next)
{
	uint32_t id = *next;

	for (uint32_t n = 0; n < nr - 1; n++) {
		if (!users[id])
			break;
		id = id + 1 < nr ? id + 1 : 1;
	}
	users[id]++;
	*next = id + 1 < nr ? id + 1 : 1;
	return id;
}

static void id_free(uint32_t *users, uint32_t id)
{
	if (users[id])
		users[id]--;
}

void sk_handle_owner_init(struct sk_handle_owner *owner, const char *name)
{
	uint32_t id;

	pthread_mutex_lock(&ids_lock);
	id = id_alloc(oid_users, NR_OIDS, &oid_next);
	__atomic_store_n(&owner_names[id], name, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ids_lock);
	owner->name = name;
	__atomic_store_n(&owner->sk__id, id, __ATOMIC_RELEASE);
}

static SK_NOINLINE uint32_t owner_id_assign(struct sk_handle_owner *owner);

/* The owner's id, assigned on first use for statically initialised owners. */
static inline uint32_t owner_id(struct sk_handle_owner *owner)
{
	uint32_t id = __atomic_load_n(&owner->sk__id, __ATOMIC_ACQUIRE);

	if (sk_likely(id && id < NR_OIDS))
		return id;
	return owner_id_assign(owner);
}

static uint32_t owner_id_assign(struct sk_handle_owner *owner)
{
	uint32_t id;

	pthread_mutex_lock(&ids_lock);
	id = __atomic_load_n(&owner->sk__id, __ATOMIC_ACQUIRE);
	if (!id || id >= NR_OIDS) {
		id = id_alloc(oid_users, NR_OIDS, &oid_next);
		__atomic_store_n(&owner_names[id], owner->name, __ATOMIC_RELAXED);
		__atomic_store_n(&owner->sk__id, id, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&ids_lock);
	return id;
}

static const char *owner_name(uint32_t id)
{
	const char *name = id < NR_OIDS ? __atomic_load_n(&owner_names[id], __ATOMIC_RELAXED) : NULL;

	return name ? name : "?";
}

/* ------------------------------------------------------------------------
 * Slots and chunks
 * ------------------------------------------------------------------------ */

#define SLOT_SIZE sizeof(struct sk__handle_slot)

static unsigned int chunk_of(uint64_t x)
{
	return (unsigned int)sk__handle_top_bit(x);
}

/* The slot of index @idx, or NULL if its chunk is not allocated. */
static struct sk__handle_slot *slot_at(struct sk_handle_table *t, uint64_t idx)
{
	uint64_t x = idx + SK__HANDLE_FIRST;
	unsigned int hb;
	uintptr_t base;

	if (idx >= SK_HANDLE_MAX_SLOTS)
		return NULL;
	hb = chunk_of(x);
	base = __atomic_load_n(&t->sk__chunk[hb], __ATOMIC_ACQUIRE);
	return base ? sk__handle_slot_at(base, x) : NULL;
}

/* Allocates the chunk after the current capacity.  Under t->sk__lock. */
static int grow_locked(struct sk_handle_table *t)
{
	uint64_t cap = t->sk__capacity;
	unsigned int hb = chunk_of(cap + SK__HANDLE_FIRST);
	uint64_t slots = UINT64_C(1) << hb;
	size_t bytes = (size_t)slots * SLOT_SIZE;
	uintptr_t bias = (uintptr_t)slots * SLOT_SIZE;
	void *mem;

	if (cap >= t->sk__max_slots) {
		errno = ENOSPC;
		return -1;
	}
	/* Line-aligned: take_fresh() hands slots out a cache line at a time. */
	mem = sk__raw_alloc(bytes, SK_CACHELINE_SIZE);
	if (!mem) {
		errno = ENOMEM;
		return -1;
	}
	if ((uintptr_t)mem == bias) {
		/* The biased base would be 0, which means "no chunk". */
		void *other = sk__raw_alloc(bytes, SK_CACHELINE_SIZE);

		sk__raw_free(mem);
		if (!other) {
			errno = ENOMEM;
			return -1;
		}
		mem = other;
	}
	for (uint64_t i = 0; i < slots; i++) {
		struct sk__handle_slot *s = (struct sk__handle_slot *)mem + i;

		s->sk__word = WORD_FRESH | ((uint64_t)t->sk__gen_base << GEN_SHIFT);
		s->sk__obj = 0;
	}
	/* Slot words and links are only accessed atomically. */
	SK_ANNOTATE_BENIGN_RACE_SIZED(mem, bytes, "handle slots");
	t->sk__chunk_mem[hb] = mem;
	__atomic_store_n(&t->sk__chunk[hb], (uintptr_t)mem - bias, __ATOMIC_RELEASE);
	cap += slots;
	if (cap > t->sk__max_slots)
		cap = t->sk__max_slots;
	__atomic_store_n(&t->sk__capacity, cap, __ATOMIC_RELEASE);
	return 0;
}

/* Slots per cache line; the chunks are line-aligned and their first
 * indices multiples of it (slot_at()), so index / LINE_SLOTS names a line. */
#define LINE_SLOTS (SK_CACHELINE_SIZE / sizeof(struct sk__handle_slot))
_Static_assert(SK_CACHELINE_SIZE % sizeof(struct sk__handle_slot) == 0, "slots per line");
_Static_assert(SK__HANDLE_FIRST % LINE_SLOTS == 0, "chunks start on a line");

/*
 * Never-used indices, growing the table if needed: returns the first, n,
 * and sets *@end past the last.  With @line, takes the rest of n's cache
 * line too (up to the capacity), for the caller's cache: two threads then
 * never get fresh slots on one line, which made them write each other's
 * line on every insert and release (10x slower on 2 threads).  Returns -1
 * with errno set when the table cannot grow.
 */
static int64_t take_fresh(struct sk_handle_table *t, bool line, uint64_t *end)
{
	uint64_t n = __atomic_load_n(&t->sk__next, __ATOMIC_RELAXED);

	for (;;) {
		uint64_t cap = __atomic_load_n(&t->sk__capacity, __ATOMIC_ACQUIRE);
		int rc = 0;

		if (n < cap) {
			uint64_t e = line ? (n | (LINE_SLOTS - 1)) + 1 : n + 1;

			if (e > cap)
				e = cap;
			if (__atomic_compare_exchange_n(&t->sk__next, &n, e, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				*end = e;
				return (int64_t)n;
			}
			continue;
		}
		pthread_mutex_lock(&t->sk__lock);
		if (__atomic_load_n(&t->sk__capacity, __ATOMIC_RELAXED) == cap)
			rc = grow_locked(t);
		pthread_mutex_unlock(&t->sk__lock);
		if (rc < 0)
			return -1;
		n = __atomic_load_n(&t->sk__next, __ATOMIC_RELAXED);
	}
}

/*
 * The free list: a Treiber stack of slot indices linked through the slots'
 * object fields.  The head's upper 32 bits are a version incremented on
 * every push and pop, so a pop that read a stale "next" (the slot was
 * popped, reused and pushed back meanwhile) fails its CAS instead of
 * corrupting the list (ABA).  A 32-bit version would have to wrap exactly
 * during one pop's few instructions to be fooled.
 */
static void push_free(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx)
{
	uint64_t head = __atomic_load_n(&t->sk__free, __ATOMIC_RELAXED);
	uint64_t nh;

	do {
		__atomic_store_n(&s->sk__obj, (uintptr_t)(uint32_t)head, __ATOMIC_RELAXED);
		nh = (((head >> 32) + 1) << 32) | (idx + 1);
	} while (!__atomic_compare_exchange_n(&t->sk__free, &head, nh, false, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
}

static int64_t pop_free(struct sk_handle_table *t)
{
	uint64_t head = __atomic_load_n(&t->sk__free, __ATOMIC_ACQUIRE);

	for (;;) {
		uint32_t first = (uint32_t)head;
		struct sk__handle_slot *s;
		uint64_t next, nh;

		if (!first)
			return -1;
		s = slot_at(t, first - 1);
		next = (uint32_t)__atomic_load_n(&s->sk__obj, __ATOMIC_RELAXED);
		nh = (((head >> 32) + 1) << 32) | next;
		if (__atomic_compare_exchange_n(&t->sk__free, &head, nh, false, __ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			return first - 1;
	}
}

/* ------------------------------------------------------------------------
 * Per-thread caches
 *
 * Each table has one small stack of free slot indices per thread shard
 * (lib/slab.c's: up to SK__THREAD_SHARDS threads have one of their own;
 * later threads use the shared free list only).  A slot finalized on a
 * thread goes to that thread's cache, and an insert takes from it first,
 * so a thread that inserts and releases reuses its own slots without an
 * atomic operation on the free list.  A full cache moves its older half
 * to the free list; an empty one takes from the free list.  A thread's
 * caches go back to the free lists when it exits (sk__handle_thread_exit(),
 * under tables_lock),
 * and a table leaves the list of tables (under the same lock) before it
 * is torn down, so an exiting thread never touches a destroyed table
 * (which is why a table must be destroyed before its memory is freed or
 * reused, and why init refuses to re-list a listed table).  Only the
 * owning thread reads or writes its cache, so slots cached by another
 * live thread cannot be taken: a table at its slot limit can refuse an
 * insert (ENOSPC) while up to CACHE_SLOTS slots per other thread are free
 * in their caches (documented at sk_handle_insert()).
 * ------------------------------------------------------------------------ */

#define CACHE_SLOTS 31
#define CACHE_SPILL 16
_Static_assert(CACHE_SPILL < CACHE_SLOTS, "a spill leaves room");

struct sk__handle_cache {
	uint32_t n;
	uint32_t idx[CACHE_SLOTS];
};

static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;
/* Every initialised table, under tables_lock: the thread-exit flush of the
 * caches and the debug-level owner search walk it. */
static struct sk_handle_table *tables;

static struct sk__handle_cache *my_cache(struct sk_handle_table *t)
{
	unsigned int shard;

	if (sk_unlikely(!t->sk__cache))
		return NULL;
	shard = sk__thread_shard();
	return shard < SK__THREAD_SHARDS ? &t->sk__cache[shard] : NULL;
}

/*
 * Gives the @n oldest slots of @c to the free list, oldest first, so that
 * the most recently freed of them ends on top and one thread's inserts
 * still get slots in LIFO order (the cache above the free list).
 */
static void cache_give_back(struct sk_handle_table *t, struct sk__handle_cache *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		push_free(t, slot_at(t, c->idx[i]), c->idx[i]);
	memmove(c->idx, c->idx + n, (c->n - n) * sizeof(c->idx[0]));
	c->n -= n;
}

/* Whether this thread ever put a slot in a cache: exits that did not skip
 * the walk over all tables. */
static __thread bool cached_any __attribute__((tls_model("initial-exec")));

void sk__handle_thread_exit(unsigned int shard)
{
	if (!cached_any)
		return;
	pthread_mutex_lock(&tables_lock);
	for (struct sk_handle_table *t = tables; t; t = t->sk__next_table) {
		if (t->sk__cache)
			cache_give_back(t, &t->sk__cache[shard], t->sk__cache[shard].n);
	}
	pthread_mutex_unlock(&tables_lock);
	cached_any = false;
}

/* Puts @idx on top of @c, this thread's cache, which has room. */
static void cache_push(struct sk__handle_cache *c, uint64_t idx)
{
	c->idx[c->n++] = (uint32_t)idx;
	cached_any = true;
}

/* Takes @t off the list of tables; whether it was on it.  Under tables_lock. */
static bool tables_unlink(struct sk_handle_table *t)
{
	for (struct sk_handle_table **p = &tables; *p; p = &(*p)->sk__next_table) {
		if (*p == t) {
			*p = t->sk__next_table;
			return true;
		}
	}
	return false;
}

/*
 * Before init clears @t: a table initialised twice without a destroy would
 * otherwise stay on the list twice over (a cycle that hangs the next
 * thread exit).  It is taken off and reported; its memory is leaked, as
 * before the caches existed.
 */
static void cache_check_reinit(struct sk_handle_table *t, const void *caller)
{
	bool listed;

	pthread_mutex_lock(&tables_lock);
	listed = tables_unlink(t);
	pthread_mutex_unlock(&tables_lock);
	if (sk_unlikely(listed))
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, NULL, caller,
			      "sk_handle_table_init() of a table that was not destroyed: its "
			      "objects and memory are leaked");
}

/* The caches, and @t on the list of tables (with or without caches). */
static void cache_setup(struct sk_handle_table *t)
{
	int saved = errno;

	t->sk__cache = sk__raw_zalloc(SK__THREAD_SHARDS * sizeof(struct sk__handle_cache),
				      SK_CACHELINE_SIZE);
	if (!t->sk__cache)
		errno = saved; /* init does not fail: the shared free list only */
	pthread_mutex_lock(&tables_lock);
	t->sk__next_table = tables;
	tables = t;
	pthread_mutex_unlock(&tables_lock);
}

/* @t off the list of tables, and its caches freed. */
static void cache_teardown(struct sk_handle_table *t)
{
	pthread_mutex_lock(&tables_lock);
	tables_unlink(t);
	pthread_mutex_unlock(&tables_lock);
	if (t->sk__cache)
		sk__raw_free(t->sk__cache);
	t->sk__cache = NULL;
}

/*
 * Owner destroy.  At the debug level, every listed table is searched for
 * live objects the owner still owns (not forwarded ones: w_moved()); the
 * count and the first few "table:slot" go in the report.  The search runs
 * under tables_lock, so no table is torn down meanwhile (destroy unlists
 * first); the slot words are read as sk_handle_table_count() reads them.
 */
static uint64_t owned_objects(uint32_t id, char *first, size_t size)
{
	uint64_t n = 0;
	size_t len = 0;

	first[0] = '\0';
	pthread_mutex_lock(&tables_lock);
	for (struct sk_handle_table *t = tables; t; t = t->sk__next_table) {
		uint64_t used = __atomic_load_n(&t->sk__next, __ATOMIC_ACQUIRE);

		for (uint64_t i = 0; i < used; i++) {
			struct sk__handle_slot *s = slot_at(t, i);
			uint64_t w = s ? __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED) : 0;
			int k;

			if (!(w & LIVE) || w_owner(w) != id || w_moved(t, w))
				continue;
			if (++n > 4 || len >= size)
				continue;
			k = snprintf(first + len, size - len, "%s%p:%llu", len ? ", " : "",
				     (void *)t, (unsigned long long)i);
			if (k > 0)
				len += (size_t)k;
		}
	}
	pthread_mutex_unlock(&tables_lock);
	return n;
}

int sk__handle_owner_destroy(struct sk_handle_owner *owner, bool search,
			     const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	char first[160];
	const char *keep;
	uint64_t n;
	uint32_t id;

	if (sk_unlikely(!owner)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, NULL, cs, caller,
			      "sk_handle_owner_destroy(NULL)");
		return -EINVAL;
	}
	id = __atomic_load_n(&owner->sk__id, __ATOMIC_ACQUIRE);
	if (!id || id >= NR_OIDS)
		return 0; /* never used */
#ifdef SK_DEBUG
	search = true; /* the library's own build is at the debug level */
#endif
	if (search && (n = owned_objects(id, first, sizeof(first)))) {
		sk__violation(SK_VIOLATION_HANDLE_LEAK, owner, cs, caller,
			      "handle owner '%s' destroyed while it owns %llu objects (table:slot "
			      "%s%s); refused: its id stays reserved, so no later owner can release "
			      "them",
			      owner->name ? owner->name : "?", (unsigned long long)n, first,
			      n > 4 ? ", ..." : "");
		/* The id outlives the caller's name: reports name it from a
		 * copy (made once: a copy is no longer the caller's pointer). */
		pthread_mutex_lock(&ids_lock);
		if (owner->name && !bit_test(oid_name_copied, id)) {
			keep = strdup(owner->name);
			if (keep) {
				__atomic_store_n(&owner_names[id], keep, __ATOMIC_RELAXED);
				bit_set(oid_name_copied, id);
			}
		}
		pthread_mutex_unlock(&ids_lock);
		return -EBUSY;
	}
	pthread_mutex_lock(&ids_lock);
	id_free(oid_users, id);
	if (bit_test(oid_name_copied, id)) {
		/* Only a refused destroy copies, and this one succeeded: at the
		 * debug level the id owns nothing now, so no report reads the
		 * copy.  (A hardened-level unit destroying an owner whose
		 * debug-level destroy was refused could race a report on one of
		 * its orphans: mixed levels on one owner, not supported.) */
		free((void *)(uintptr_t)owner_names[id]);
		bit_clear(oid_name_copied, id);
	}
	/* Objects orphaned at the hardened level may still be reported with
	 * this id; the caller's name may be freed from now on. */
	__atomic_store_n(&owner_names[id], "(destroyed owner)", __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ids_lock);
	__atomic_store_n(&owner->sk__id, 0, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A slot for a new object: this thread's cache, the free list, a fresh
 * one.  The rest of a fresh slot's line goes to the (empty) cache, lowest
 * index on top, so one thread still gets fresh slots in index order, as
 * one at a time would give them: a cache holds them only while the free
 * list is empty, and a spill gives them back oldest first.
 */
static int64_t take_slot(struct sk_handle_table *t)
{
	struct sk__handle_cache *c = my_cache(t);
	uint64_t end = 0;
	int64_t idx;

	if (c && c->n)
		return c->idx[--c->n];
	idx = pop_free(t);
	if (idx >= 0)
		return idx;
	idx = take_fresh(t, c != NULL, &end);
	if (idx >= 0 && end > (uint64_t)idx + 1) {
		for (uint64_t i = end - 1; i > (uint64_t)idx; i--)
			cache_push(c, i);
	}
	return idx;
}

/* A finalized slot: to this thread's cache, or the free list without one. */
static void free_slot(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx)
{
	struct sk__handle_cache *c = my_cache(t);

	if (!c) {
		push_free(t, s, idx);
		return;
	}
	if (sk_unlikely(c->n == CACHE_SLOTS))
		cache_give_back(t, c, CACHE_SPILL); /* the older half */
	cache_push(c, idx);
}

/*
 * Makes a slot we own (popped or fresh) live with @obj, owner @oid and
 * @refs references.  The slot's identity bits cannot change under us; only
 * transient lookup counts can, so one add of the difference publishes it.
 * Returns the new word's generation.
 */
static uint32_t publish(struct sk_handle_table *t, struct sk__handle_slot *s, void *obj,
			uint32_t oid, uint64_t refs)
{
	uint64_t w = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	uint64_t fixed = w & ~COUNT_MASK;
	uint64_t nfixed = (fixed & (GEN_MASK | PREV)) | t->sk__tid | LIVE | OBJ |
			  ((uint64_t)oid << OWNER_SHIFT);

	__atomic_store_n(&s->sk__obj, (uintptr_t)obj, __ATOMIC_RELAXED);
	HB(&s->sk__word);
	__atomic_fetch_add(&s->sk__word, nfixed - fixed + refs * REF_ONE, __ATOMIC_RELEASE);
	return w_gen(nfixed);
}

static sk_handle_t make_handle(struct sk_handle_table *t, uint64_t idx, uint32_t gen)
{
	return sk_handle_from_bits((idx << INDEX_SHIFT) | ((uint64_t)gen << GEN_SHIFT) | LIVE |
				   t->sk__tid);
}

/* ------------------------------------------------------------------------
 * Forwarding: a transfer out of a slot's last generation moves the object
 * to a fresh slot.  The old slot keeps draining the lookups it holds; the
 * new slot holds one extra reference for it, dropped when the old slot
 * drains.  The records are rare (once per SK_HANDLE_GENERATIONS transfers
 * of one object) and live in a list under the table's mutex.
 * ------------------------------------------------------------------------ */

struct sk__handle_forward {
	struct sk__handle_forward *next;
	uint64_t from, to;
};

static void slot_unref(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx);

static void forward_drop(struct sk_handle_table *t, uint64_t from)
{
	struct sk__handle_forward **p, *rec = NULL;

	pthread_mutex_lock(&t->sk__lock);
	for (p = &t->sk__forward; *p; p = &(*p)->next) {
		if ((*p)->from == from) {
			rec = *p;
			*p = rec->next;
			break;
		}
	}
	pthread_mutex_unlock(&t->sk__lock);
	if (rec) {
		uint64_t to = rec->to;

		sk_kfree_sized(rec, sizeof(*rec));
		slot_unref(t, slot_at(t, to), to);
	}
}

/* ------------------------------------------------------------------------
 * Finalization
 * ------------------------------------------------------------------------ */

/*
 * The tables whose destructors this thread is running, innermost first: a
 * destructor may use its table, but not destroy it, since the release or
 * put that called it still has the slot to free (see
 * sk__handle_table_destroy()).
 */
struct in_dtor {
	const struct sk_handle_table *t;
	struct in_dtor *outer;
};

static __thread struct in_dtor *in_dtor_top;

static bool in_dtor_of(const struct sk_handle_table *t)
{
	for (const struct in_dtor *d = in_dtor_top; d; d = d->outer)
		if (d->t == t)
			return true;
	return false;
}

/* Runs after a successful claim (OBJ cleared with the count at 0). */
static void finalize(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx,
		     uint64_t w)
{
	void *obj = (void *)__atomic_load_n(&s->sk__obj, __ATOMIC_RELAXED);

	HA(&s->sk__word);
	if (w_moved(t, w)) {
		forward_drop(t, idx);
	} else if (t->sk__dtor) {
		struct in_dtor d = { t, in_dtor_top };

		in_dtor_top = &d;
		t->sk__dtor(obj, t->sk__dtor_arg);
		in_dtor_top = d.outer;
	}
	__atomic_store_n(&s->sk__obj, 0, __ATOMIC_RELAXED);
	if (w_gen(w) < t->sk__gen_limit)
		free_slot(t, s, idx);
	else
		__atomic_fetch_add(&t->sk__retired, 1, __ATOMIC_RELAXED);
}

/* @w: a word this thread just produced.  Claims and finalizes if due. */
static void claim(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx, uint64_t w)
{
	while (w_claimable(w)) {
		if (__atomic_compare_exchange_n(&s->sk__word, &w, w & ~OBJ, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			finalize(t, s, idx, w & ~OBJ);
			return;
		}
	}
}

static void slot_unref(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx)
{
	uint64_t w;

	HB(&s->sk__word);
	w = __atomic_sub_fetch(&s->sk__word, REF_ONE, __ATOMIC_ACQ_REL);
	claim(t, s, idx, w);
}

/* ------------------------------------------------------------------------
 * Classification and reports
 * ------------------------------------------------------------------------ */

enum op {
	OP_LOOKUP,
	OP_PUT,
	OP_BORROW,
	OP_RELEASE,
	OP_TRANSFER,
};

static const char *const op_names[] = {
	[OP_LOOKUP] = "sk_handle_lookup",
	[OP_PUT] = "sk_handle_put",
	[OP_BORROW] = "sk_handle_borrow",
	[OP_RELEASE] = "sk_handle_release",
	[OP_TRANSFER] = "sk_handle_transfer",
};

struct verdict {
	enum sk_violation_kind kind;
	int err; /* negative errno for release/transfer */
	char detail[192];
};

#define VERDICT_OK SK_VIOLATION_NR

static void verdict_set(struct verdict *v, enum sk_violation_kind kind, int err, const char *fmt,
			...) SK_PRINTF(4, 5);

static void verdict_set(struct verdict *v, enum sk_violation_kind kind, int err, const char *fmt,
			...)
{
	va_list ap;

	v->kind = kind;
	v->err = err;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

/*
 * The handle's structure against the table: tag bits, table id, index.
 * Returns false (with the verdict) if the handle is not one of this table's.
 */
static bool check_structure(struct sk_handle_table *t, uint64_t v, struct verdict *out)
{
	uint64_t idx = h_index(v);

	if (!t->sk__key) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx used on a table that is not initialised (or destroyed)",
			    (unsigned long long)v);
		return false;
	}
	if (!v) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL, "the zero handle");
		return false;
	}
	if (!(v & LIVE) || (v >> 62)) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx has bad tag bits (not a handle)", (unsigned long long)v);
		return false;
	}
	if ((v & TID_MASK) != t->sk__tid) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx belongs to another table (table id %u, this table is %u)",
			    (unsigned long long)v, (unsigned int)(v & TID_MASK), t->sk__tid);
		return false;
	}
	if (idx >= __atomic_load_n(&t->sk__next, __ATOMIC_ACQUIRE)) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx: index %llu out of range (the table has used %llu slots)",
			    (unsigned long long)v, (unsigned long long)idx,
			    (unsigned long long)__atomic_load_n(&t->sk__next, __ATOMIC_RELAXED));
		return false;
	}
	/*
	 * Slots below sk__next are in published chunks, but sk__next moves by
	 * a relaxed CAS that does not order the chunk's publication before it
	 * (C11 allows seeing the index before the chunk): the callers use
	 * slot_at() next, so its chunk must be there.
	 */
	if (sk_unlikely(!slot_at(t, idx))) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx: index %llu is in no chunk of the table",
			    (unsigned long long)v, (unsigned long long)idx);
		return false;
	}
	return true;
}

/*
 * The handle's generation against the slot word @w, then (release and
 * transfer) its ownership.  @oid: the caller's owner id.
 */
static void check_generation(struct sk_handle_table *t, uint64_t v, uint64_t w, enum op op,
			     uint32_t oid, struct verdict *out)
{
	uint32_t hgen = w_gen(v), sgen = w_gen(w);
	unsigned long long idx = (unsigned long long)h_index(v);

	out->kind = VERDICT_OK;
	out->err = 0;
	if (op == OP_RELEASE && hgen + 1 == sgen && (w & PREV)) {
		verdict_set(out, SK_VIOLATION_HANDLE_DOUBLE_RELEASE, -EALREADY,
			    "handle %#llx (slot %llu, generation %u) was already released",
			    (unsigned long long)v, idx, hgen);
	} else if (hgen < sgen) {
		verdict_set(out, SK_VIOLATION_HANDLE_STALE, -ESTALE,
			    "handle %#llx is stale: slot %llu generation %u ended (%s, slot now at "
			    "generation %u%s)",
			    (unsigned long long)v, idx, hgen,
			    hgen + 1 == sgen ? ((w & PREV) ? "released" : "transferred") :
					       "released or transferred",
			    sgen, sgen >= t->sk__gen_limit ? ", retired" : "");
	} else if (hgen > sgen || !(w & LIVE)) {
		verdict_set(out, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx: slot %llu never issued generation %u (forged handle?)",
			    (unsigned long long)v, idx, hgen);
	} else if (op == OP_RELEASE || op == OP_TRANSFER) {
		if (v & BORROWED)
			verdict_set(out, SK_VIOLATION_HANDLE_WRONG_OWNER, -EPERM,
				    "%s() through a borrowed handle %#llx (slot %llu)", op_names[op],
				    (unsigned long long)v, idx);
		else if (w_owner(w) != oid)
			verdict_set(out, SK_VIOLATION_HANDLE_WRONG_OWNER, -EPERM,
				    "%s() of slot %llu by owner '%s' (%u); its owner is '%s' (%u)",
				    op_names[op], idx, owner_name(oid), oid, owner_name(w_owner(w)),
				    w_owner(w));
	} else if (op == OP_LOOKUP && w_count(w) <= 0) {
		verdict_set(out, SK_VIOLATION_REFCOUNT_INC_FROM_ZERO, -EINVAL,
			    "handle %#llx: the live object's count is %lld (a put dropped a reference "
			    "it did not hold)",
			    (unsigned long long)v, (long long)w_count(w));
	} else if (op == OP_LOOKUP && w_count(w) >= SK_HANDLE_MAX_REFS + 1) {
		verdict_set(out, SK_VIOLATION_REFCOUNT_OVERFLOW, -EOVERFLOW,
			    "handle %#llx: %d references held already (the most is %d)",
			    (unsigned long long)v, (int)w_count(w) - 1, SK_HANDLE_MAX_REFS);
	}
}

static void report(struct sk_handle_table *t, const struct verdict *v,
		   const struct sk_callsite *cs, const void *caller)
{
	sk__violation(v->kind, t, cs, caller, "%s", v->detail);
}

/* ------------------------------------------------------------------------
 * Cold paths of the inline operations
 * ------------------------------------------------------------------------ */

/*
 * How long a deficit is waited for before it is taken for one nobody else
 * will make good: at least this many yields and this long.  The yields
 * alone were 4 ms or less on an idle machine, shorter than a preempted
 * thread's wait on a loaded one (a correct lookup was refused once in 7
 * TSan runs of handle-misuse-race on a machine with a load of 7).
 */
#define DEFICIT_WAIT 4096
#define DEFICIT_WAIT_NS (20 * 1000 * 1000L)

static long elapsed_ns(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/*
 * The puts without a reference that have undone their decrement
 * (sk__handle_put_slow()), counted in one of 64 counters chosen by the
 * slot's address: a lookup whose undo left a deficit on a slot learns
 * from that slot's counter that the deficit was such a put's own.  Misuse
 * only.  (One counter for all slots let a misuse on any other table hide
 * this one.)
 */
#define DEFICIT_COUNTERS 64
static uint64_t deficit_undos[DEFICIT_COUNTERS];

static uint64_t *deficit_undos_of(const struct sk__handle_slot *s)
{
	return &deficit_undos[((uintptr_t)s / sizeof(*s)) % DEFICIT_COUNTERS];
}

/*
 * Wait a while (at least DEFICIT_WAIT yields and DEFICIT_WAIT_NS) for
 * @done(@s, @arg): true if it came.  Only misuse gets here.
 */
static bool deficit_wait(const struct sk__handle_slot *s,
			 bool (*done)(const struct sk__handle_slot *s, uint64_t arg), uint64_t arg)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int i = 0;; i++) {
		if (done(s, arg))
			return true;
		if (i >= DEFICIT_WAIT && elapsed_ns(&start) >= DEFICIT_WAIT_NS)
			return false;
		sched_yield();
	}
}

/*
 * For deficit_wait(): the deficit on @s was made good.  A put without a
 * reference whose own decrement showed it undoes that at once
 * (sk__handle_put_slow()).
 */
static bool deficit_gone(const struct sk__handle_slot *s, uint64_t unused)
{
	(void)unused;
	return !w_deficit(__atomic_load_n(&s->sk__word, __ATOMIC_ACQUIRE));
}

/*
 * For deficit_wait(): a put without a reference undid its decrement on @s
 * after @undos was read from @s's counter.  Not "the word shows no
 * deficit" (deficit_gone()): another lookup's transient add (a weak
 * holder's, or a correct lookup of the slot's next object) looks the same,
 * and a lookup that took it for the put's undo kept the reference it
 * should give back: the object stayed one short for good (every later
 * lookup refused, never destroyed).  A put undoing on another slot with
 * the same counter meanwhile is taken for this one's (two misuses at once,
 * 1 in 64: the count stays one short, unreported).
 */
static bool deficit_undo_counted(const struct sk__handle_slot *s, uint64_t undos)
{
	return __atomic_load_n(deficit_undos_of(s), __ATOMIC_ACQUIRE) != undos;
}

/*
 * Undo a lookup's transient reference (its handle did not match the word,
 * which was @old before the add).  It may have held the last reference of
 * an object released meanwhile: claim it then.  A deficit after the undo,
 * where there was none before the add, means a put without a reference
 * took this lookup's reference for its own: that put saw the count this
 * lookup had raised and cannot tell (it may even have finalized the
 * object).  Unless the deficit is another such put's own, which undoes
 * itself at once, the reference is given back here and the misuse
 * reported from this lookup, the only one that can see it.  (A deficit
 * that was there before the add is not this lookup's to make good.)
 */
static void lookup_undo(struct sk_handle_table *t, struct sk__handle_slot *s, uint64_t idx,
			uint64_t old, const struct sk_callsite *cs, const void *caller)
{
	uint64_t undos = __atomic_load_n(deficit_undos_of(s), __ATOMIC_ACQUIRE);
	uint64_t w = __atomic_sub_fetch(&s->sk__word, REF_ONE, __ATOMIC_ACQ_REL);

	if (sk_unlikely(w_deficit(w) && !w_deficit(old))) {
		if (deficit_wait(s, deficit_undo_counted, undos))
			return; /* that put's own undo claims, if there is anything to */
		w = __atomic_add_fetch(&s->sk__word, REF_ONE, __ATOMIC_ACQ_REL);
		sk__violation(SK_VIOLATION_REFCOUNT_UNDERFLOW, t, cs, caller,
			      "handle table %p: a put without a reference on slot %llu took the "
			      "reference of this concurrent lookup as its own; given back",
			      (void *)t, (unsigned long long)idx);
	}
	claim(t, s, idx, w);
}

void *sk__handle_lookup_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			     uint64_t old, unsigned int flags, const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	uint64_t v = h.sk__v;
	struct verdict verdict;

	/* Undo the fast path's add. */
	if (s)
		lookup_undo(t, s, h_index(v), old, cs, caller);
	if (!check_structure(t, v, &verdict)) {
		report(t, &verdict, cs, caller);
		return NULL;
	}
	if (!s) {
		/* Cannot be a live handle (its chunk was not there): classify. */
		s = slot_at(t, h_index(v));
		old = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	}
	for (int tries = 0; w_deficit(old) && !((old ^ v) & SK__HANDLE_ID_MASK) && tries < 100;
	     tries++) {
		/*
		 * The object is live (the identity matched) and its count is
		 * short: a put without a reference (reported on its own thread)
		 * between its decrement and its undo.  Wait for the undo and
		 * retry, so that a correct lookup is not refused; a deficit
		 * nobody makes good is refused and reported as what it is.
		 */
		if (!deficit_wait(s, deficit_gone, 0))
			break;
		old = __atomic_fetch_add(&s->sk__word, REF_ONE, __ATOMIC_ACQUIRE);
		if (!((old ^ v) & SK__HANDLE_KEY_MASK)) {
			HA(&s->sk__word);
			return (void *)__atomic_load_n(&s->sk__obj, __ATOMIC_RELAXED);
		}
		lookup_undo(t, s, h_index(v), old, cs, caller);
	}
	check_generation(t, v, old, OP_LOOKUP, 0, &verdict);
	if (verdict.kind == VERDICT_OK) /* cannot happen: the fast path failed */
		verdict_set(&verdict, SK_VIOLATION_HANDLE_INVALID, -EINVAL, "handle %#llx refused",
			    (unsigned long long)v);
	if (!(verdict.kind == SK_VIOLATION_HANDLE_STALE && (flags & SK__HANDLE_QUIET_STALE)))
		report(t, &verdict, cs, caller);
	return NULL;
}

void sk__handle_put_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			 uint64_t w, const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	uint64_t v = h.sk__v, undone;
	struct verdict verdict;

	if (!s) {
		/* Refused before the count was touched. */
		if (check_structure(t, v, &verdict))
			verdict_set(&verdict, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
				    "handle %#llx refused", (unsigned long long)v);
		report(t, &verdict, cs, caller);
		return;
	}
	/*
	 * This put took the count to zero or below; @w is the word it left.
	 * Zero on a released object is the last reference going: not a
	 * misuse, and a correct program gets here only then.  Decide from @w,
	 * never from a second read: a stale try_lookup can add and undo in
	 * between, and its undo then claims and frees the slot (which may be
	 * reused at once), so a second read would take this put for one
	 * without a reference.  The claim copes with a lookup still in
	 * flight: its CAS fails and that lookup's undo claims instead.
	 * Anything else was a put without a reference: undo it.
	 */
	if (w_claimable(w)) {
		claim(t, s, h_index(v), w);
		return;
	}
	/* Counted at once, before the claim (which may run a destructor): a
	 * lookup waiting for this undo must not time out after it. */
	undone = __atomic_add_fetch(&s->sk__word, REF_ONE, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(deficit_undos_of(s), 1, __ATOMIC_RELEASE);
	claim(t, s, h_index(v), undone);
	if (!check_structure(t, v, &verdict)) {
		/* A never-used slot of an allocated chunk. */
		report(t, &verdict, cs, caller);
		return;
	}
	if (!(w & ~(COUNT_MASK | GEN_MASK))) {
		/* Never issued (no identity bits, whatever transient counts other
		 * forged operations add): a fresh slot reserved in a thread's
		 * cache (take_fresh()), or given back from one to the free list. */
		verdict_set(&verdict, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
			    "handle %#llx: slot %llu was never issued (forged handle?)",
			    (unsigned long long)v, (unsigned long long)h_index(v));
		report(t, &verdict, cs, caller);
		return;
	}
	verdict_set(&verdict, SK_VIOLATION_REFCOUNT_UNDERFLOW, -EINVAL,
		    "sk_handle_put(%#llx) without a reference held (slot %llu: %s, %lld "
		    "lookup references)",
		    (unsigned long long)v, (unsigned long long)h_index(v),
		    (w & LIVE) ? "live" : (w & OBJ) ? "released" : "free",
		    (long long)(w_count(w) + 1 - ((w & LIVE) ? 1 : 0)));
	report(t, &verdict, cs, caller);
}

void sk__handle_borrow_slow(struct sk_handle_table *t, sk_handle_t h, struct sk__handle_slot *s,
			    uint64_t word, const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	uint64_t v = h.sk__v;
	struct verdict verdict;

	if (check_structure(t, v, &verdict)) {
		if (!s) {
			s = slot_at(t, h_index(v));
			word = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
		}
		check_generation(t, v, word, OP_BORROW, 0, &verdict);
		if (verdict.kind == VERDICT_OK)
			verdict_set(&verdict, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
				    "handle %#llx refused", (unsigned long long)v);
	}
	report(t, &verdict, cs, caller);
}

/* ------------------------------------------------------------------------
 * Insert, release, transfer
 * ------------------------------------------------------------------------ */

static bool check_table(struct sk_handle_table *t, const char *op, const struct sk_callsite *cs,
			const void *caller)
{
	if (sk_unlikely(!t || !t->sk__key)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, cs, caller,
			      "%s() on a table that is not initialised (or destroyed)", op);
		return false;
	}
	return true;
}

sk_handle_t sk__handle_insert(struct sk_handle_table *t, void *obj, struct sk_handle_owner *owner,
			      const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	struct sk__handle_slot *s;
	uint32_t oid, gen;
	int64_t idx;

	if (!check_table(t, "sk_handle_insert", cs, caller))
		goto einval;
	if (sk_unlikely(!obj || !owner)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, cs, caller,
			      "sk_handle_insert() with a NULL %s", obj ? "owner" : "object");
		goto einval;
	}
	oid = owner_id(owner);
	idx = take_slot(t);
	if (idx < 0)
		return sk_handle_null();
	s = slot_at(t, (uint64_t)idx);
	gen = publish(t, s, obj, oid, 1);
	return make_handle(t, (uint64_t)idx, gen);
einval:
	errno = EINVAL;
	return sk_handle_null();
}

/*
 * Whether @w is the live slot of owned handle @v, owned by @oid: identity
 * bits equal, the handle not borrowed (the slot word has OBJ where the
 * handle has BORROWED), the owner equal.  The common case of release and
 * transfer; anything else goes through the full classification.
 */
static inline bool owned_by(uint64_t w, uint64_t v, uint32_t oid)
{
	/* The tag bit first: equal identity bits mean "live" only with it. */
	return (v & LIVE) && !((w ^ v ^ OBJ) & (SK__HANDLE_ID_MASK | OBJ)) &&
	       (w & OWNER_MASK) == (uint64_t)oid << OWNER_SHIFT;
}

/* Classifies and reports a refused release or transfer; returns -errno. */
static SK_COLD int refuse_owned(struct sk_handle_table *t, uint64_t v, uint64_t w, enum op op,
				uint32_t oid, const struct sk_callsite *cs, const void *caller)
{
	struct verdict verdict;

	if (check_structure(t, v, &verdict)) {
		check_generation(t, v, w, op, oid, &verdict);
		if (verdict.kind == VERDICT_OK) /* cannot happen: owned_by() said no */
			verdict_set(&verdict, SK_VIOLATION_HANDLE_INVALID, -EINVAL,
				    "handle %#llx refused", (unsigned long long)v);
	}
	report(t, &verdict, cs, caller);
	return verdict.err;
}

int sk__handle_release(struct sk_handle_table *t, sk_handle_t h, struct sk_handle_owner *owner,
		       const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	uint64_t v = h.sk__v, idx = h_index(v), w = 0, nw;
	struct sk__handle_slot *s;
	uint32_t oid;

	if (!check_table(t, "sk_handle_release", cs, caller))
		return -EINVAL;
	if (sk_unlikely(!owner)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, cs, caller,
			      "sk_handle_release() with a NULL owner");
		return -EINVAL;
	}
	oid = owner_id(owner);
	s = slot_at(t, idx);
	if (sk_unlikely(!s))
		return refuse_owned(t, v, w, OP_RELEASE, oid, cs, caller);
	HB(&s->sk__word);
	w = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	do {
		if (sk_unlikely(!owned_by(w, v, oid)))
			return refuse_owned(t, v, w, OP_RELEASE, oid, cs, caller);
		/* End the generation, drop the owner's reference. */
		nw = ((w - REF_ONE) & ~(GEN_MASK | LIVE)) |
		     ((uint64_t)(w_gen(w) + 1) << GEN_SHIFT) | PREV;
		if (w_count(nw) == 0)
			nw &= ~OBJ; /* no lookup holds it: claim it in the same step */
	} while (!__atomic_compare_exchange_n(&s->sk__word, &w, nw, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	if (!(nw & OBJ))
		finalize(t, s, idx, nw);
	return 0;
}

/* The transfer out of a slot's last generation: see "Forwarding". */
static sk_handle_t transfer_forward(struct sk_handle_table *t, uint64_t v,
				    struct sk__handle_slot *s, uint32_t from, uint32_t to,
				    const struct sk_callsite *cs, const void *caller)
{
	struct sk__handle_forward *rec = sk_kmalloc(sizeof(*rec));
	struct sk__handle_slot *s2;
	uint64_t idx = h_index(v), w, nw;
	int64_t idx2;
	uint32_t gen2;

	if (!rec)
		return sk_handle_null(); /* errno ENOMEM */
	idx2 = take_slot(t);
	if (idx2 < 0) {
		int err = errno;

		sk_kfree_sized(rec, sizeof(*rec));
		errno = err;
		return sk_handle_null();
	}
	s2 = slot_at(t, (uint64_t)idx2);
	w = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	for (;;) {
		if (!owned_by(w, v, from)) {
			/* Lost a race with another release or transfer. */
			push_free(t, s2, (uint64_t)idx2);
			sk_kfree_sized(rec, sizeof(*rec));
			errno = -refuse_owned(t, v, w, OP_TRANSFER, from, cs, caller);
			return sk_handle_null();
		}
		/* Retire the slot; the owner's reference becomes ours. */
		nw = (w & ~(GEN_MASK | LIVE | PREV)) | ((uint64_t)t->sk__gen_limit << GEN_SHIFT);
		if (__atomic_compare_exchange_n(&s->sk__word, &w, nw, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			break;
	}
	/* The new slot: the new owner's reference plus one for the old slot. */
	gen2 = publish(t, s2, (void *)__atomic_load_n(&s->sk__obj, __ATOMIC_RELAXED), to, 2);
	rec->from = idx;
	rec->to = (uint64_t)idx2;
	pthread_mutex_lock(&t->sk__lock);
	rec->next = t->sk__forward;
	t->sk__forward = rec;
	pthread_mutex_unlock(&t->sk__lock);
	slot_unref(t, s, idx);
	return make_handle(t, (uint64_t)idx2, gen2);
}

sk_handle_t sk__handle_transfer(struct sk_handle_table *t, sk_handle_t h,
				struct sk_handle_owner *from, struct sk_handle_owner *to,
				const struct sk_callsite *cs)
{
	const void *caller = SK__RET_IP;
	uint64_t v = h.sk__v, idx = h_index(v), w = 0, nw;
	struct sk__handle_slot *s;
	uint32_t fid, toid;

	if (!check_table(t, "sk_handle_transfer", cs, caller))
		goto einval;
	if (sk_unlikely(!from || !to)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, cs, caller,
			      "sk_handle_transfer() with a NULL owner");
		goto einval;
	}
	fid = owner_id(from);
	toid = owner_id(to);
	s = slot_at(t, idx);
	if (sk_likely(s))
		w = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	do {
		if (sk_unlikely(!s || !owned_by(w, v, fid))) {
			errno = -refuse_owned(t, v, w, OP_TRANSFER, fid, cs, caller);
			return sk_handle_null();
		}
		if (w_gen(w) + 1 >= t->sk__gen_limit)
			return transfer_forward(t, v, s, fid, toid, cs, caller);
		nw = (w & ~(GEN_MASK | OWNER_MASK | PREV)) |
		     ((uint64_t)(w_gen(w) + 1) << GEN_SHIFT) | ((uint64_t)toid << OWNER_SHIFT);
	} while (!__atomic_compare_exchange_n(&s->sk__word, &w, nw, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	return make_handle(t, idx, w_gen(nw));
einval:
	errno = EINVAL;
	return sk_handle_null();
}

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

void sk_handle_table_init(struct sk_handle_table *t, sk_handle_dtor_fn dtor, void *arg)
{
	uint32_t tid, base;
	uint64_t incarnation;

	/* As destroy: the release or put running the destructor still uses
	 * the table, and would hand its slot to the new one. */
	if (sk_unlikely(in_dtor_of(t))) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, NULL, SK__RET_IP,
			      "sk_handle_table_init() from the destructor of one of the table's "
			      "objects: refused (the release or put that runs the destructor "
			      "still uses the table)");
		return;
	}
	cache_check_reinit(t, SK__RET_IP);
	memset(t, 0, sizeof(*t));
	pthread_mutex_lock(&ids_lock);
	tid = id_alloc(tid_users, NR_TIDS, &tid_next);
	base = tid_gen_floor[tid];
	incarnation = ++table_incarnations;
	pthread_mutex_unlock(&ids_lock);
	t->sk__tid = tid;
	t->sk__gen_base = base;
	t->sk__dtor = dtor;
	t->sk__dtor_arg = arg;
	t->sk__gen_limit = SK_HANDLE_GENERATIONS;
	t->sk__max_slots = SK_HANDLE_MAX_SLOTS;
	pthread_mutex_init(&t->sk__lock, NULL);
	/* Read and written only with atomics: tell helgrind and drd. */
	SK_ANNOTATE_BENIGN_RACE_SIZED(t->sk__chunk, sizeof(t->sk__chunk), "handle chunk bases");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&t->sk__free, 3 * sizeof(uint64_t),
				      "handle free list and growth");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&t->sk__retired, sizeof(t->sk__retired),
				      "handle retired count");
	cache_setup(t);
	__atomic_store_n(&t->sk__key, incarnation << KEY_INCARNATION_SHIFT | LIVE | tid,
			 __ATOMIC_RELEASE);
}

int sk__handle_table_set_limits(struct sk_handle_table *t, uint32_t gen_limit, uint64_t max_slots)
{
	if (!t || !t->sk__key || gen_limit < 1 || gen_limit > SK_HANDLE_GENERATIONS ||
	    max_slots < 1 || max_slots > SK_HANDLE_MAX_SLOTS || t->sk__next)
		return -EINVAL;
	t->sk__gen_limit = gen_limit;
	t->sk__max_slots = max_slots;
	/* A test table's slots start at generation 0 (the fuzz model's). */
	t->sk__gen_base = 0;
	return 0;
}

uint64_t sk_handle_table_count(struct sk_handle_table *t)
{
	uint64_t n = 0, used;

	if (!t || !t->sk__key)
		return 0;
	used = __atomic_load_n(&t->sk__next, __ATOMIC_ACQUIRE);
	for (uint64_t i = 0; i < used; i++) {
		struct sk__handle_slot *s = slot_at(t, i);
		uint64_t w = s ? __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED) : 0;

		if ((w & OBJ) && !w_moved(t, w))
			n++;
	}
	return n;
}

/* Destroys @t; false (reported, @t unchanged) if it cannot be. */
static bool table_destroy(struct sk_handle_table *t, const char *op, const struct sk_callsite *cs,
			  const void *caller)
{
	uint64_t live = 0, held = 0, used;
	uint32_t gen_next = 0;
	char first[96] = "";
	size_t flen = 0;

	if (!check_table(t, op, cs, caller))
		return false;
	if (sk_unlikely(in_dtor_of(t))) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, t, cs, caller,
			      "%s() from the destructor of one of the table's objects: refused (the "
			      "release or put that runs the destructor still uses the table); "
			      "destroy it after that call returns",
			      op);
		return false;
	}
	/* First, so that no exiting thread touches the table from here on. */
	cache_teardown(t);
	used = t->sk__next;
	for (uint64_t i = 0; i < used; i++) {
		struct sk__handle_slot *s = slot_at(t, i);
		uint64_t w = __atomic_load_n(&s->sk__word, __ATOMIC_ACQUIRE);

		if (w_gen(w) >= gen_next)
			gen_next = w_gen(w) + 1;
		if (!(w & OBJ) || w_moved(t, w))
			continue;
		if (w & LIVE)
			live++;
		else
			held++;
		if (live + held <= 4 && flen < sizeof(first)) {
			int n = snprintf(first + flen, sizeof(first) - flen, "%s%llu (%s)",
					 flen ? ", " : "", (unsigned long long)i,
					 (w & LIVE) ? owner_name(w_owner(w)) : "released, held");

			if (n > 0)
				flen += (size_t)n;
		}
	}
	if (live + held)
		sk__violation(SK_VIOLATION_HANDLE_LEAK, t, cs, caller,
			      "handle table destroyed with %llu objects in it (%llu live, %llu "
			      "released but held by lookups); their destructors do not run and they "
			      "are leaked; slots (owner): %s%s",
			      (unsigned long long)(live + held), (unsigned long long)live,
			      (unsigned long long)held, first, live + held > 4 ? ", ..." : "");

	while (t->sk__forward) {
		struct sk__handle_forward *rec = t->sk__forward;

		t->sk__forward = rec->next;
		sk_kfree_sized(rec, sizeof(*rec));
	}
	for (unsigned int hb = 0; hb < SK__HANDLE_NCHUNK; hb++) {
		if (t->sk__chunk_mem[hb])
			sk__raw_free(t->sk__chunk_mem[hb]);
	}
	pthread_mutex_lock(&ids_lock);
	id_free(tid_users, t->sk__tid);
	if (gen_next > tid_gen_floor[t->sk__tid])
		tid_gen_floor[t->sk__tid] = gen_next > GEN_FLOOR_MAX ? 0 : gen_next;
	pthread_mutex_unlock(&ids_lock);
	pthread_mutex_destroy(&t->sk__lock);
	memset(t, 0, sizeof(*t));
	return true;
}

void sk__handle_table_destroy(struct sk_handle_table *t, const struct sk_callsite *cs)
{
	(void)table_destroy(t, "sk_handle_table_destroy", cs, SK__RET_IP);
}

struct sk_handle_table *sk_handle_table_create(sk_handle_dtor_fn dtor, void *arg)
{
	struct sk_handle_table *t = sk_kmalloc(sizeof(*t));

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	sk_handle_table_init(t, dtor, arg);
	return t;
}

void sk__handle_table_free(struct sk_handle_table *t, const struct sk_callsite *cs)
{
	if (!t)
		return;
	/* A table that is not initialised is freed as before; one whose
	 * destructor is running is not touched. */
	(void)table_destroy(t, "sk_handle_table_free", cs, SK__RET_IP);
	if (!in_dtor_of(t))
		sk_kfree_sized(t, sizeof(*t));
}
