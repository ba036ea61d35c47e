/* SPDX-License-Identifier: MIT */
/*
 * lib/slab.c - object caches on the allocation layer.
 *
 * Hot path (hardened cache, plain mode): one predicted branch on the
 * cache's "slow" word, then the calling thread's own cache-line shard of
 * the cache (found through a thread-local offset): a pop from or a push
 * to its loaded magazine, and the statistics, all plain loads and stores
 * (see slab.h for what is exact and for the bound on cached objects).
 * An empty or full magazine leads to alloc_refill() / free_spill(): swap
 * with the previous magazine, trade with the depot (mutex), or use the
 * allocator.
 *
 * Everything else - constructors, tool mode, debug caches, destroyed
 * caches, threads beyond the shards - is behind the slow word or the
 * thread-local offset; tool mode, debug and destroyed caches never touch
 * the magazines.
 *
 * Debug caches keep their state under one library-wide mutex (dbg_lock):
 * a registry of every debug object (address -> cache, state, call sites),
 * and per cache a list of live objects and a FIFO quarantine of freed
 * ones.  Registry keys hold object addresses bit-inverted, so that leak
 * checkers do not see them as references: an object the program leaks is
 * reported as lost, not "still reachable through the registry".
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <safekern/annotate.h>
#include <safekern/slab.h>
#include <safekern/violation.h>

#include "alloc-internal.h"
#include "violation-internal.h"

#ifdef SK__ANNOTATE
#define HG_ENABLE_CHECKING(p, n) VALGRIND_HG_ENABLE_CHECKING(p, n)
#else
#define HG_ENABLE_CHECKING(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_SHARDS SK__THREAD_SHARDS /* exclusively owned shards; one more is shared */
_Static_assert(SLAB_SHARDS <= 64, "tid_used is one 64-bit word");
#define SLAB_RZ 16              /* minimum debug red zone */
#define QUARANTINE_OBJS 1024
#define QUARANTINE_BYTES ((size_t)1 << 20)
/*
 * Allocations reuse the oldest quarantined object only while more than
 * this many are quarantined: a freed object stays out of use for at least
 * that many later frees, so that a write through a stale pointer lands in
 * poisoned memory (checked) rather than in the next object handed out.
 * Not for objects above QUARANTINE_BYTES / QUARANTINE_REUSE (about 4 KiB
 * with the red zone): the byte bound trims the quarantine first, and
 * jemalloc may hand a trimmed object out again at once (documented).
 */
#define QUARANTINE_REUSE (QUARANTINE_OBJS / 4)
#define MAX_ALIGN ((size_t)1 << 20)

/* The kernel's poison values (include/linux/poison.h). */
#define POISON_INUSE 0x5a
#define POISON_FREE 0x6b
#define POISON_END 0xa5
#define RED_ACTIVE 0xcc
#define RED_INACTIVE 0xbb

enum {
	SLOW_CTOR = 1u << 0,  /* alloc: run the constructor */
	SLOW_ALIGN = 1u << 1, /* alloc: natural alignment is not enough */
	SLOW_TOOL = 1u << 2,  /* tool mode */
	SLOW_DEBUG = 1u << 3, /* debug cache */
	SLOW_DEAD = 1u << 4,  /* destroyed with live objects */
};

/*
 * Magazines (Bonwick's, as in the kernel's SLAB per-CPU array_cache): a
 * magazine is an array of free objects.  Each thread with a shard of its
 * own has two per cache, loaded and previous, and allocates from and
 * frees to them with plain loads and stores; the cache's depot, under a
 * mutex, holds magazines that threads hand over when both of theirs are
 * full, and gives them out when both are empty.
 */
#define MAG_ROUNDS 128          /* objects in a magazine, for objects up to 64 bytes */
#define MAG_BYTES 8192          /* larger objects: fewer rounds; none above 4 KiB */
#define DEPOT_MAGS 16           /* non-empty magazines in a depot; as many empty */

struct slab_mag {
	unsigned int rounds; /* objects in objs[] */
	unsigned int cap;    /* size of objs[]; 0 for the empty sentinel */
	struct slab_mag *next; /* in the depot */
	unsigned int owner;    /* in the depot: the shard that put it there */
	void *objs[];
};

/*
 * What an unused shard points at: never written (it has no room and no
 * objects), it sends the first allocation and free to the slow path.
 */
static struct slab_mag mag_none;

/* One thread's counters and magazines in one cache: used only by that thread. */
struct slab_shard {
	uint64_t allocs;
	uint64_t frees;
	/*
	 * Sampling threshold: this shard's live count (allocs - frees) above
	 * which the cache's live count may exceed its recorded peak, as of
	 * the last sample: peak - (live - own) then.
	 */
	int64_t limit;
	struct slab_mag *loaded; /* never NULL: a magazine or &mag_none */
	struct slab_mag *prev;   /* &mag_none while loaded is */
	/*
	 * Objects taken from the allocator and given back to it: fills -
	 * drains - live over all shards is the number of free objects the
	 * cache holds in magazines.
	 */
	uint64_t fills;
	uint64_t drains;
} SK_CACHELINE_ALIGNED;

/* The full (non-empty) and empty magazines a cache keeps for all threads. */
struct slab_depot {
	pthread_mutex_t lock;
	struct slab_mag *full;  /* at most DEPOT_MAGS */
	struct slab_mag *empty; /* at most DEPOT_MAGS */
	unsigned int nfull, nempty;
};

struct dbg_obj;

struct slab_debug {
	struct dbg_obj *live;           /* doubly linked */
	struct dbg_obj *q_head, *q_tail; /* quarantine, oldest first */
	size_t q_count, q_bytes;
	unsigned long nlive, peak, allocs, frees;
};

/*
 * The objects freed to a cache destroyed with live ones: nothing can be
 * allocated from it any more, so an address freed to it twice is a double
 * free.  It also holds the free objects the destroy took from the
 * magazines and the depot, so that a second free of one of them (its
 * first free came before the destroy) is refused as well.  Open
 * addressing, at most half full (sized for the objects live at destroy
 * plus those taken from the magazines); without a table (out of memory)
 * only the last address is remembered.
 */
struct dead_set {
	uintptr_t *slot;
	size_t mask; /* slots - 1 */
	uintptr_t last;
};

struct sk_kmem_cache {
	/* Read by every operation: one line. */
	unsigned int slow_alloc;
	unsigned int slow_free;
	size_t alloc_size; /* plain fast path: size rounded up to the alignment */
	uintptr_t align_mask;
	size_t size;
	size_t align; /* 0: natural */
	size_t rz;    /* debug: red zone bytes after each object */
	void (*ctor)(void *);
	struct slab_debug *dbg;

	unsigned int flags;
	unsigned int mag_rounds; /* 0: no magazines (tool mode, debug, large objects) */
	char *name;
	uint64_t peak; /* under stat_lock */
	pthread_mutex_t stat_lock;
	struct sk_kmem_cache *next_mag_cache; /* under caches_lock */
	bool listed;                          /* under caches_lock */
	struct slab_depot depot;
	/* Destroyed with live objects: the objects freed since (under dead_lock). */
	struct dead_set dead;
	struct slab_shard shards[SLAB_SHARDS + 1]; /* the last one is shared, without magazines */
};

static bool slab_debug_env;

/* ------------------------------------------------------------------------
 * Per-thread shard index
 * ------------------------------------------------------------------------ */

/*
 * Shard index + 1; 0 until the thread first touches an object cache or
 * a handle table's slot cache (sk__thread_shard()), and the shared shard
 * from the thread's exit hook on (see tid_release()).  slab_off is the byte
 * offset of the thread's own shard in a cache, or 0 when it has none (not
 * assigned yet, or sharing the overflow shard): the hot path tests and
 * adds that one word.
 */
static __thread unsigned int slab_tid __attribute__((tls_model("initial-exec")));
static __thread size_t slab_off __attribute__((tls_model("initial-exec")));

static pthread_mutex_t tid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tid_used; /* bit i: shard i is owned by a live thread */
static pthread_key_t tid_key;
static int tid_key_state; /* under tid_lock: 0 not yet, 1 created, -1 failed */

static void mag_thread_exit(unsigned int t);

/* Gives shard @t back for another thread to take. */
static void tid_put(unsigned int t)
{
	pthread_mutex_lock(&tid_lock);
	tid_used &= ~((uint64_t)1 << t);
	pthread_mutex_unlock(&tid_lock);
}

/*
 * Thread exit (the key's destructor): hand the thread's magazines to the
 * depots and its cached free handle slots to their tables, then give its
 * shard back.
 *
 * The thread stays on the shared shard for the rest of its exit.  Other
 * keys' destructors may still free to caches or release handles after
 * this one; with slab_tid back at 0 they would take a fresh shard and set
 * the key again, and if that happened in glibc's last destructor round
 * (PTHREAD_DESTRUCTOR_ITERATIONS) this destructor would not run again:
 * the shard would stay taken for the life of the process, its magazines
 * and slot caches out of reach.
 */
static void tid_release(void *v)
{
	unsigned int t = (unsigned int)(uintptr_t)v - 1;

	if (t < SLAB_SHARDS) {
		mag_thread_exit(t);
		sk__handle_thread_exit(t);
		tid_put(t);
	}
	slab_tid = SLAB_SHARDS + 1;
	slab_off = 0;
}

/*
 * Give the calling thread a shard of its own, or the shared one when all
 * are taken (or the thread-exit hook cannot be installed).  The key is
 * created under the mutex rather than with pthread_once, which helgrind
 * does not model.
 */
static unsigned int tid_assign(void)
{
	unsigned int t = SLAB_SHARDS;

	pthread_mutex_lock(&tid_lock);
	if (tid_key_state == 0)
		tid_key_state = pthread_key_create(&tid_key, tid_release) == 0 ? 1 : -1;
	if (tid_key_state > 0 && ~tid_used) {
		t = (unsigned int)__builtin_ctzll(~tid_used);
		tid_used |= (uint64_t)1 << t;
	}
	pthread_mutex_unlock(&tid_lock);
	/* Non-NULL, so that the destructor runs at thread exit. */
	if (t < SLAB_SHARDS && pthread_setspecific(tid_key, (void *)(uintptr_t)(t + 1))) {
		/* No exit hook: its shard would never be given back. */
		tid_put(t);
		t = SLAB_SHARDS;
	}
	if (t < SLAB_SHARDS)
		slab_off = offsetof(struct sk_kmem_cache, shards) + t * sizeof(struct slab_shard);
	slab_tid = t + 1;
	return t;
}

unsigned int sk__thread_shard(void)
{
	unsigned int t = slab_tid;

	return t ? t - 1 : tid_assign();
}

/* ------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------ */

/* Sum the shards: allocations first, then frees, so live is never over. */
static void shard_sums(struct sk_kmem_cache *c, uint64_t *allocs, uint64_t *frees)
{
	uint64_t a = 0, f = 0;

	for (unsigned int i = 0; i <= SLAB_SHARDS; i++)
		a += __atomic_load_n(&c->shards[i].allocs, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i <= SLAB_SHARDS; i++)
		f += __atomic_load_n(&c->shards[i].frees, __ATOMIC_RELAXED);
	*allocs = a;
	*frees = f;
}

static uint64_t live_of(uint64_t a, uint64_t f)
{
	return a > f ? a - f : 0;
}

/*
 * Free objects held in magazines and the depot: taken from the allocator,
 * not given back, not live.  Exact whenever no operation is in flight.
 */
static uint64_t cached_of(struct sk_kmem_cache *c, uint64_t live)
{
	uint64_t fills = 0, drains = 0;

	for (unsigned int i = 0; i <= SLAB_SHARDS; i++) {
		drains += __atomic_load_n(&c->shards[i].drains, __ATOMIC_RELAXED);
		fills += __atomic_load_n(&c->shards[i].fills, __ATOMIC_RELAXED);
	}
	return fills > drains + live ? fills - drains - live : 0;
}

/* A thread's view says a new peak may have been reached: sample. */
static SK_COLD SK_NOINLINE void peak_sample(struct sk_kmem_cache *c, struct slab_shard *s)
{
	uint64_t a, f, live, own;

	pthread_mutex_lock(&c->stat_lock);
	shard_sums(c, &a, &f);
	live = live_of(a, f);
	if (live > c->peak)
		c->peak = live;
	own = __atomic_load_n(&s->allocs, __ATOMIC_RELAXED) -
	      __atomic_load_n(&s->frees, __ATOMIC_RELAXED);
	__atomic_store_n(&s->limit, (int64_t)(c->peak - live + own), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->stat_lock);
}

static SK_NOINLINE void stat_alloc_slow(struct sk_kmem_cache *c);
static SK_NOINLINE void stat_free_slow(struct sk_kmem_cache *c);

static inline struct slab_shard *my_shard(struct sk_kmem_cache *c, size_t off)
{
	return (struct slab_shard *)(void *)((char *)c + off);
}

/*
 * Add @n to a counter of a shard that only the calling thread writes: a
 * plain read and a relaxed store (readers on other threads load it
 * relaxed), no read-modify-write.
 */
static inline void shard_add(uint64_t *ctr, uint64_t n)
{
	__atomic_store_n(ctr, *ctr + n, __ATOMIC_RELAXED);
}

/* A shard without magazines: its next alloc and free take the slow path. */
static inline void shard_unload(struct slab_shard *s)
{
	s->loaded = &mag_none;
	s->prev = &mag_none;
}

static inline void stat_alloc(struct sk_kmem_cache *c)
{
	size_t off = slab_off;
	struct slab_shard *s;
	uint64_t a;

	if (sk_unlikely(!off)) {
		stat_alloc_slow(c);
		return;
	}
	s = my_shard(c, off);
	a = s->allocs + 1;
	__atomic_store_n(&s->allocs, a, __ATOMIC_RELAXED);
	if (sk_unlikely((int64_t)(a - s->frees) > s->limit))
		peak_sample(c, s);
}

static inline void stat_free(struct sk_kmem_cache *c)
{
	size_t off = slab_off;
	struct slab_shard *s;

	if (sk_unlikely(!off)) {
		stat_free_slow(c);
		return;
	}
	s = my_shard(c, off);
	shard_add(&s->frees, 1);
}

static void stat_alloc_slow(struct sk_kmem_cache *c)
{
	struct slab_shard *s;
	uint64_t a;

	if (slab_tid == 0 && tid_assign() < SLAB_SHARDS) {
		stat_alloc(c);
		return;
	}
	s = &c->shards[SLAB_SHARDS];
	/* The shared shard: atomic read-modify-write. */
	a = __atomic_add_fetch(&s->allocs, 1, __ATOMIC_RELAXED);
	if ((int64_t)(a - __atomic_load_n(&s->frees, __ATOMIC_RELAXED)) >
	    __atomic_load_n(&s->limit, __ATOMIC_RELAXED))
		peak_sample(c, s);
}

static void stat_free_slow(struct sk_kmem_cache *c)
{
	if (slab_tid == 0 && tid_assign() < SLAB_SHARDS) {
		stat_free(c);
		return;
	}
	__atomic_add_fetch(&c->shards[SLAB_SHARDS].frees, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * Reports
 * ------------------------------------------------------------------------ */

static void fmt_site(char *buf, size_t n, const struct sk_callsite *cs, const void *ip)
{
	if (cs)
		snprintf(buf, n, "%s:%u in %s()", cs->file, cs->line,
			 cs->func && cs->func[0] ? cs->func : "?");
	else if (ip)
		snprintf(buf, n, "%p", ip);
	else
		snprintf(buf, n, "?");
}

static void *dead_alloc(struct sk_kmem_cache *c, const struct sk_callsite *cs, const void *ip)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, c, cs, ip,
		      "allocation from destroyed cache \"%s\"; refused", c->name);
	errno = EINVAL;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Cache release
 * ------------------------------------------------------------------------ */

static void cache_release(struct sk_kmem_cache *c)
{
	sk__be.free(c->dead.slot);
	HG_ENABLE_CHECKING(c->shards, sizeof(c->shards));
	HG_ENABLE_CHECKING(&c->slow_alloc, 2 * sizeof(c->slow_alloc));
	pthread_mutex_destroy(&c->stat_lock);
	pthread_mutex_destroy(&c->depot.lock);
	sk_kfree(c->dbg);
	sk_kfree(c->name);
	sk_kfree(c);
}

/* Serialises frees into destroyed hardened caches with their release. */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;

/* Sizes the set for @count addresses (under dead_lock, before mark_dead()). */
static void dead_set_init(struct dead_set *d, uint64_t count)
{
	size_t n = 16;

	while (n < 2 * count && n < ((size_t)1 << 40))
		n <<= 1;
	d->slot = n / 2 >= count ? sk__be.calloc(n, sizeof(*d->slot)) : NULL;
	d->mask = d->slot ? n - 1 : 0;
	d->last = 0;
}

/* Records @obj as freed; false if it was already (under dead_lock). */
static bool dead_set_add(struct dead_set *d, const void *obj)
{
	uintptr_t p = (uintptr_t)obj;
	size_t i;

	if (!d->slot) {
		if (p == d->last)
			return false;
		d->last = p;
		return true;
	}
	for (i = (size_t)((p >> 4) * UINT64_C(0x9e3779b97f4a7c15) >> 20) & d->mask; d->slot[i];
	     i = (i + 1) & d->mask)
		if (d->slot[i] == p)
			return false;
	d->slot[i] = p;
	return true;
}

static void mark_dead(struct sk_kmem_cache *c)
{
	__atomic_or_fetch(&c->slow_alloc, SLOW_DEAD, __ATOMIC_RELAXED);
	__atomic_or_fetch(&c->slow_free, SLOW_DEAD, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * Debug caches
 * ------------------------------------------------------------------------ */

enum { DBG_LIVE = 1, DBG_FREE = 2 };

struct dbg_obj {
	uintptr_t key; /* ~address: not a pointer to leak checkers */
	struct dbg_obj *hnext;
	struct dbg_obj *prev, *next; /* live list, or quarantine (next only) */
	struct sk_kmem_cache *cache;
	const struct sk_callsite *alloc_cs, *free_cs;
	const void *alloc_ip, *free_ip;
	unsigned int state;
};

/* Adaptive: critical sections are a few hundred instructions; spin first. */
static pthread_mutex_t dbg_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static struct dbg_obj **reg;
static unsigned int reg_bits;
static size_t reg_count;

/* Objects kept forever because they were written after free. */
struct abandoned {
	struct abandoned *next;
	void *obj;
};
static struct abandoned *abandoned_list;

static uintptr_t obj_key(const void *obj)
{
	return ~(uintptr_t)obj;
}

static void *key_obj(uintptr_t key)
{
	return (void *)~key;
}

static size_t reg_slot(uintptr_t key)
{
	return (size_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> (64 - reg_bits));
}

static struct dbg_obj *reg_find(const void *obj)
{
	uintptr_t key = obj_key(obj);

	if (!reg)
		return NULL;
	for (struct dbg_obj *e = reg[reg_slot(key)]; e; e = e->hnext)
		if (e->key == key)
			return e;
	return NULL;
}

static void reg_grow(void)
{
	unsigned int bits = reg ? reg_bits + 1 : 8;
	struct dbg_obj **nr = sk_kcalloc((size_t)1 << bits, sizeof(*nr));
	struct dbg_obj **old = reg;
	size_t oldn = reg ? (size_t)1 << reg_bits : 0;

	if (!nr)
		return; /* longer chains; still correct */
	reg = nr;
	reg_bits = bits;
	for (size_t i = 0; i < oldn; i++) {
		for (struct dbg_obj *e = old[i], *next; e; e = next) {
			size_t s = reg_slot(e->key);

			next = e->hnext;
			e->hnext = reg[s];
			reg[s] = e;
		}
	}
	sk_kfree(old);
}

static bool reg_insert(struct dbg_obj *e)
{
	size_t s;

	if (!reg || reg_count >= (size_t)1 << reg_bits)
		reg_grow();
	if (!reg)
		return false;
	s = reg_slot(e->key);
	e->hnext = reg[s];
	reg[s] = e;
	reg_count++;
	return true;
}

static void reg_remove(struct dbg_obj *e)
{
	struct dbg_obj **pp = &reg[reg_slot(e->key)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	reg_count--;
}

static void live_link(struct slab_debug *d, struct dbg_obj *e)
{
	e->prev = NULL;
	e->next = d->live;
	if (d->live)
		d->live->prev = e;
	d->live = e;
}

static void live_unlink(struct slab_debug *d, struct dbg_obj *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		d->live = e->next;
	if (e->next)
		e->next->prev = e->prev;
}

/* A report to make once dbg_lock is dropped (reporters may call handlers). */
struct pending {
	enum sk_violation_kind kind;
	const void *obj;
	char detail[768];
};

struct pendings {
	struct pending one[4];
	unsigned int n;
	unsigned long dropped;
};

static void pendings_init(struct pendings *p)
{
	p->n = 0;
	p->dropped = 0;
}

static struct pending *pending_add(struct pendings *p)
{
	if (p->n == SK_ARRAY_SIZE(p->one)) {
		p->dropped++;
		return NULL;
	}
	return &p->one[p->n++];
}

static void pendings_report_all(struct pendings *p, const struct sk_callsite *cs,
				const void *ip)
{
	for (unsigned int i = 0; i < p->n; i++)
		sk__violation(p->one[i].kind, p->one[i].obj, cs, ip, "%s", p->one[i].detail);
	/* Never lost: each damaged object is one violation, even unprinted. */
	for (unsigned long i = 0; i < p->dropped; i++)
		sk__violation(SK_VIOLATION_ALLOC_USE_AFTER_FREE, NULL, cs, ip,
			      "(further damaged object in the same operation)");
}

/* Index of the first byte of @p[0..@n) that is not @v, or @n. */
static size_t mismatch(const unsigned char *p, size_t n, unsigned char v)
{
	uint64_t pat = 0x0101010101010101ull * v;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w != pat)
			break;
	}
	for (; i < n; i++)
		if (p[i] != v)
			return i;
	return n;
}

static inline void pendings_report(struct pendings *p, const struct sk_callsite *cs,
				   const void *ip)
{
	if (sk_unlikely(p->n))
		pendings_report_all(p, cs, ip);
}

/*
 * Check a quarantined object's poison and red zone.  Returns true if
 * intact; otherwise queues a use-after-free report.
 */
static bool dbg_check_free(struct sk_kmem_cache *c, struct dbg_obj *e, struct pendings *pend)
{
	unsigned char *o = key_obj(e->key);
	size_t n = c->size + c->rz, bad;
	unsigned char want = POISON_FREE;

	sk__tool_open(o, n);
	bad = mismatch(o, c->size - 1, POISON_FREE);
	if (bad == c->size - 1 && o[bad] != POISON_END)
		want = POISON_END;
	else if (bad == c->size - 1)
		bad = c->size + mismatch(o + c->size, c->rz, want = RED_INACTIVE);
	if (bad < n) {
		struct pending *p = pending_add(pend);

		if (p) {
			char as[256], fs[256];

			fmt_site(as, sizeof(as), e->alloc_cs, e->alloc_ip);
			fmt_site(fs, sizeof(fs), e->free_cs, e->free_ip);
			p->kind = SK_VIOLATION_ALLOC_USE_AFTER_FREE;
			p->obj = o;
			snprintf(p->detail, sizeof(p->detail),
				 "object %p of cache \"%s\" (%zu bytes) written after free: "
				 "byte %zu is 0x%02x, expected 0x%02x; allocated at %s, freed at %s; "
				 "the object is never reused",
				 (void *)o, c->name, c->size, bad, o[bad], want, as, fs);
		}
	}
	sk__tool_close(o, n);
	return bad == n;
}

/* Return a debug object's memory to the allocator. */
static void dbg_release_mem(void *obj)
{
	if (sk__alloc_mode() == SK__MODE_TOOL) {
		struct sk__tb_hdr h;

		sk__tb_read(obj, &h);
		sk__tb_release(obj, &h);
	} else {
		sk__raw_free(obj);
	}
}

/* Keep a damaged object's memory forever, reachable (not a leak). */
static void dbg_abandon(void *obj)
{
	struct abandoned *a = sk_kmalloc(sizeof(*a));

	if (a) {
		a->obj = obj;
		a->next = abandoned_list;
		abandoned_list = a;
	}
}

/*
 * Take the oldest object out of the quarantine, checked.  Returns its
 * entry, or NULL if the object was damaged: then it is abandoned and its
 * entry freed.
 */
static struct dbg_obj *q_pop(struct sk_kmem_cache *c, struct pendings *pend)
{
	struct slab_debug *d = c->dbg;
	struct dbg_obj *e = d->q_head;

	d->q_head = e->next;
	if (!d->q_head)
		d->q_tail = NULL;
	d->q_count--;
	d->q_bytes -= c->size + c->rz;
	if (dbg_check_free(c, e, pend))
		return e;
	reg_remove(e);
	dbg_abandon(key_obj(e->key));
	sk_kfree(e);
	return NULL;
}

/* Drop quarantined objects (checked) until within @max_objs/@max_bytes. */
static void q_trim(struct sk_kmem_cache *c, size_t max_objs, size_t max_bytes,
		   struct pendings *pend)
{
	struct slab_debug *d = c->dbg;

	while (d->q_head && (d->q_count > max_objs || d->q_bytes > max_bytes)) {
		struct dbg_obj *e = q_pop(c, pend);

		if (e) {
			reg_remove(e);
			dbg_release_mem(key_obj(e->key));
			sk_kfree(e);
		}
	}
}

static void fill_new(struct sk_kmem_cache *c, unsigned char *o, bool zero)
{
	sk__tool_open(o + c->size, c->rz);
	memset(o + c->size, RED_ACTIVE, c->rz);
	sk__tool_close(o + c->size, c->rz);
	if (zero) {
		memset(o, 0, c->size);
	} else {
		memset(o, POISON_INUSE, c->size);
		sk__tool_undefined(o, c->size);
	}
}

static void *debug_alloc(struct sk_kmem_cache *c, bool zero, const struct sk_callsite *cs,
			 const void *ip)
{
	struct slab_debug *d = c->dbg;
	struct pendings pend; /* 3 KB: pendings_init(), no zeroing */
	struct dbg_obj *e = NULL;
	unsigned char *o;
	bool tool = sk__alloc_mode() == SK__MODE_TOOL;

	pendings_init(&pend);
	pthread_mutex_lock(&dbg_lock);
	if (__atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED) & SLOW_DEAD) {
		pthread_mutex_unlock(&dbg_lock);
		return dead_alloc(c, cs, ip);
	}
	/*
	 * Fresh memory until the quarantine holds enough objects: popping
	 * whenever it is non-empty handed the object freed last out again at
	 * the next allocation (free(p); q = alloc() gave q == p).  Memory
	 * stays bounded: frees trim the quarantine to QUARANTINE_OBJS and
	 * QUARANTINE_BYTES either way.
	 */
	if (d->q_count > QUARANTINE_REUSE)
		e = q_pop(c, &pend);
	if (e) {
		o = key_obj(e->key);
		if (tool)
			sk__tb_set_state(o, SK__TB_LIVE);
		sk__tool_mark_alloc(o, c->size);
	} else {
		o = tool ? sk__tb_alloc(c->size, c->align, SLAB_RZ, c, false)
			 : sk__raw_alloc(c->size + c->rz, c->align);
		e = o ? sk_kzalloc(sizeof(*e)) : NULL;
		if (e) {
			e->key = obj_key(o);
			e->cache = c;
		}
		if (!e || !reg_insert(e)) {
			if (o)
				dbg_release_mem(o);
			sk_kfree(e);
			pthread_mutex_unlock(&dbg_lock);
			pendings_report(&pend, cs, ip);
			errno = ENOMEM;
			return NULL;
		}
	}
	fill_new(c, o, zero);
	e->state = DBG_LIVE;
	e->alloc_cs = cs;
	e->alloc_ip = ip;
	e->free_cs = NULL;
	e->free_ip = NULL;
	live_link(d, e);
	d->allocs++;
	if (++d->nlive > d->peak)
		d->peak = d->nlive;
	pthread_mutex_unlock(&dbg_lock);

	pendings_report(&pend, cs, ip);
	if (c->ctor)
		c->ctor(o);
	return o;
}

static void debug_release_cache_locked(struct sk_kmem_cache *c, struct pendings *pend)
{
	q_trim(c, 0, 0, pend);
}

static void debug_free(struct sk_kmem_cache *c, void *obj, const struct sk_callsite *cs,
		       const void *ip)
{
	struct slab_debug *d = c->dbg;
	struct pendings pend; /* 3 KB: pendings_init(), no zeroing */
	enum sk_violation_kind kind;
	unsigned char *o = obj, *rz;
	struct dbg_obj *e;
	char site[256], detail[768];
	bool release = false;
	size_t bad;

	pendings_init(&pend);
	pthread_mutex_lock(&dbg_lock);
	e = reg_find(obj);
	if (sk_unlikely(!e || e->cache != c || e->state != DBG_LIVE)) {
		if (!e) {
			kind = SK_VIOLATION_ALLOC_WRONG_CACHE;
			snprintf(detail, sizeof(detail),
				 "%p was not allocated from cache \"%s\" (nor from any debug cache, "
				 "or it was released long ago); refused",
				 obj, c->name);
		} else if (e->cache != c) {
			kind = SK_VIOLATION_ALLOC_WRONG_CACHE;
			fmt_site(site, sizeof(site), e->alloc_cs, e->alloc_ip);
			snprintf(detail, sizeof(detail),
				 "%p belongs to cache \"%s\" (allocated at %s), not to cache \"%s\"; "
				 "refused",
				 obj, e->cache->name, site, c->name);
		} else {
			kind = SK_VIOLATION_ALLOC_DOUBLE_FREE;
			fmt_site(site, sizeof(site), e->free_cs, e->free_ip);
			snprintf(detail, sizeof(detail),
				 "object %p of cache \"%s\" is already free (freed at %s); refused",
				 obj, c->name, site);
		}
		pthread_mutex_unlock(&dbg_lock);
		sk__violation(kind, obj, cs, ip, "%s", detail);
		return;
	}

	/* Red zone: still 0xcc? */
	rz = o + c->size;
	sk__tool_open(rz, c->rz);
	bad = mismatch(rz, c->rz, RED_ACTIVE);
	if (sk_unlikely(bad < c->rz)) {
		fmt_site(site, sizeof(site), e->alloc_cs, e->alloc_ip);
		snprintf(detail, sizeof(detail),
			 "object %p of cache \"%s\" (%zu bytes, allocated at %s) overflowed: "
			 "red zone byte %zu (object offset %zu) is 0x%02x, expected 0x%02x; "
			 "red zone restored, object freed",
			 obj, c->name, c->size, site, bad, c->size + bad, rz[bad], RED_ACTIVE);
	}
	memset(rz, RED_INACTIVE, c->rz);
	sk__tool_close(rz, c->rz);

	/* Poison and quarantine. */
	if (sk__alloc_mode() == SK__MODE_TOOL)
		sk__tb_set_state(o, SK__TB_FREE);
	sk__tool_mark_free(o, c->size);
	sk__tool_open(o, c->size);
	memset(o, POISON_FREE, c->size - 1);
	o[c->size - 1] = POISON_END;
	/* Object and red zone together, so that ASan's last granule is covered. */
	sk__tool_close(o, c->size + c->rz);

	e->state = DBG_FREE;
	e->free_cs = cs;
	e->free_ip = ip;
	live_unlink(d, e);
	e->next = NULL;
	if (d->q_tail)
		d->q_tail->next = e;
	else
		d->q_head = e;
	d->q_tail = e;
	d->q_count++;
	d->q_bytes += c->size + c->rz;
	d->nlive--;
	d->frees++;
	q_trim(c, QUARANTINE_OBJS, QUARANTINE_BYTES, &pend);
	if ((__atomic_load_n(&c->slow_free, __ATOMIC_RELAXED) & SLOW_DEAD) && d->nlive == 0) {
		debug_release_cache_locked(c, &pend);
		release = true;
	}
	pthread_mutex_unlock(&dbg_lock);

	if (bad < c->rz)
		sk__violation(SK_VIOLATION_ALLOC_OVERFLOW, obj, cs, ip, "%s", detail);
	pendings_report(&pend, cs, ip);
	if (release)
		cache_release(c);
}

/* Same allocation site: the call site, or without one the return address. */
static bool same_site(const struct dbg_obj *a, const struct dbg_obj *b)
{
	return a->alloc_cs == b->alloc_cs && (a->alloc_cs || a->alloc_ip == b->alloc_ip);
}

/* An allocation site, as same_site() compares them. */
struct site_key {
	const void *cs, *ip;
};

static struct site_key site_of(const struct dbg_obj *e)
{
	return (struct site_key){ e->alloc_cs, e->alloc_cs ? NULL : e->alloc_ip };
}

static int site_cmp(const void *a, const void *b)
{
	const struct site_key *x = a, *y = b;

	if (x->cs != y->cs)
		return (uintptr_t)x->cs < (uintptr_t)y->cs ? -1 : 1;
	if (x->ip != y->ip)
		return (uintptr_t)x->ip < (uintptr_t)y->ip ? -1 : 1;
	return 0;
}

/*
 * Distinct allocation sites among @n live objects of @d, sorting their
 * sites (n log n: a cache can be destroyed with millions of objects); 0
 * if the array cannot be had.
 */
static unsigned long count_sites(struct slab_debug *d, unsigned long n)
{
	struct site_key *k = sk_kmalloc_array(n, sizeof(*k));
	unsigned long i = 0, sites = 0;

	if (!k)
		return 0;
	for (struct dbg_obj *e = d->live; e && i < n; e = e->next)
		k[i++] = site_of(e);
	qsort(k, i, sizeof(*k), site_cmp);
	for (unsigned long j = 0; j < i; j++)
		if (j == 0 || site_cmp(&k[j - 1], &k[j]))
			sites++;
	sk_kfree(k);
	return sites;
}

/*
 * Leak report of a debug cache: allocation sites with counts and addresses.
 * Only the sites that fit in @buf are grouped object by object (a bounded
 * number, each a pass over the live list); the rest are counted apart.
 */
static void debug_leak_detail(struct sk_kmem_cache *c, char *buf, size_t n)
{
	struct slab_debug *d = c->dbg;
	const struct dbg_obj *shown_site[64];
	size_t len;
	unsigned int sites = 0;
	unsigned long all_sites;
	bool full = false;

	len = (size_t)snprintf(buf, n,
			       "cache \"%s\" destroyed with %lu live objects (memory kept; the "
			       "cache is released with its last object); allocated at:",
			       c->name, d->nlive);
	/* In list order: each site at its first object, with its count. */
	for (struct dbg_obj *e = d->live; e && !full; e = e->next) {
		bool seen = false;
		unsigned long count = 0;
		char site[256];
		int shown = 0;

		for (unsigned int i = 0; i < sites && !seen; i++)
			seen = same_site(shown_site[i], e);
		if (seen)
			continue;
		if (len >= n - 64 || sites == SK_ARRAY_SIZE(shown_site)) {
			full = true;
			break;
		}
		for (struct dbg_obj *f = e; f; f = f->next)
			if (same_site(f, e))
				count++;
		fmt_site(site, sizeof(site), e->alloc_cs, e->alloc_ip);
		len += (size_t)snprintf(buf + len, n - len, "%s %s x%lu (", sites ? ";" : "", site,
					count);
		for (struct dbg_obj *f = e; f && shown < 3 && len < n; f = f->next) {
			if (same_site(f, e))
				len += (size_t)snprintf(buf + len, n - len, "%s%p", shown++ ? " " : "",
							key_obj(f->key));
		}
		if (len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s)", count > 3 ? " ..." : "");
		shown_site[sites++] = e;
	}
	if (!full || len >= n)
		return;
	all_sites = count_sites(d, d->nlive);
	if (all_sites > sites)
		snprintf(buf + len, n - len, "; and %lu more sites", all_sites - sites);
	else if (!all_sites)
		snprintf(buf + len, n - len, "; and more sites");
}

static int debug_destroy(struct sk_kmem_cache *c, const struct sk_callsite *cs, const void *ip)
{
	struct slab_debug *d = c->dbg;
	struct pendings pend; /* 3 KB: pendings_init(), no zeroing */
	char detail[900];
	unsigned long nlive;

	pendings_init(&pend);
	pthread_mutex_lock(&dbg_lock);
	if (__atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED) & SLOW_DEAD) {
		pthread_mutex_unlock(&dbg_lock);
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, c, cs, ip,
			      "cache \"%s\" destroyed twice (it still has objects)", c->name);
		return -EBUSY;
	}
	debug_release_cache_locked(c, &pend);
	nlive = d->nlive;
	if (nlive) {
		debug_leak_detail(c, detail, sizeof(detail));
		mark_dead(c);
	}
	pthread_mutex_unlock(&dbg_lock);

	pendings_report(&pend, cs, ip);
	if (nlive) {
		sk__violation(SK_VIOLATION_ALLOC_LEAK, c, cs, ip, "%s", detail);
		return -EBUSY;
	}
	cache_release(c);
	return 0;
}

/* ------------------------------------------------------------------------
 * Magazines and depots (hardened caches in plain mode)
 * ------------------------------------------------------------------------ */

/*
 * Caches with magazines, so that a thread's exit can hand its magazines
 * over; a cache leaves the list when it is destroyed, before its
 * magazines are emptied, so that no exit ever touches a destroyed cache.
 * Lock order: caches_lock, then a depot's lock.
 */
static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sk_kmem_cache *mag_caches;

/*
 * Critical sections are a few dozen instructions: an adaptive mutex spins
 * before it sleeps, where a plain one would put a thread to sleep in the
 * kernel whenever two threads trade at the same moment.
 */
static void depot_lock_init(struct slab_depot *d)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&d->lock, &a);
	pthread_mutexattr_destroy(&a);
}

/* Rounds per magazine for objects of @alloc_size bytes; 0: no magazines. */
static unsigned int mag_rounds_for(size_t alloc_size)
{
	size_t n = MAG_BYTES / alloc_size;

	if (n < 2)
		return 0;
	return n > MAG_ROUNDS ? MAG_ROUNDS : (unsigned int)n;
}

static struct slab_mag *mag_new(struct sk_kmem_cache *c)
{
	struct slab_mag *m = sk_kmalloc(sizeof(*m) + c->mag_rounds * sizeof(void *));

	if (m) {
		m->rounds = 0;
		m->cap = c->mag_rounds;
		m->next = NULL;
	}
	return m;
}

/*
 * Give a magazine's objects back to the allocator; returns how many.
 * @dead: NULL, or the set of a cache being destroyed with live objects,
 * which records each address (see struct dead_set).
 */
static unsigned int mag_drain(struct slab_mag *m, struct dead_set *dead)
{
	unsigned int n = m->rounds;

	for (unsigned int i = 0; i < n; i++) {
		if (dead)
			dead_set_add(dead, m->objs[i]);
		sk__be.free(m->objs[i]);
	}
	m->rounds = 0;
	return n;
}

/* Drain and release a magazine (nothing for &mag_none); returns objects drained. */
static unsigned int mag_free(struct slab_mag *m, struct dead_set *dead)
{
	unsigned int n;

	if (!m->cap)
		return 0;
	n = mag_drain(m, dead);
	sk_kfree(m);
	return n;
}

static void depot_push(struct slab_mag **list, unsigned int *count, struct slab_mag *m)
{
	m->next = *list;
	*list = m;
	(*count)++;
}

static struct slab_mag *depot_pop(struct slab_mag **list, unsigned int *count)
{
	struct slab_mag *m = *list;

	if (m) {
		*list = m->next;
		(*count)--;
	}
	return m;
}

/*
 * Unlink the first full magazine that shard @me put in the depot, whose
 * objects are likely still in this CPU's cache; or else the newest one.
 */
static struct slab_mag *depot_pop_full(struct slab_depot *d, unsigned int me)
{
	struct slab_mag **pp = &d->full, *m;

	for (m = d->full; m && m->owner != me; m = m->next)
		pp = &m->next;
	if (!m)
		return depot_pop(&d->full, &d->nfull);
	*pp = m->next;
	d->nfull--;
	return m;
}

/*
 * Take a non-empty magazine from the depot for shard @me, leaving @empty
 * (an empty magazine, or &mag_none) in exchange.  NULL if the depot has
 * none; then the caller keeps @empty.
 */
static struct slab_mag *depot_get_full(struct slab_depot *d, struct slab_mag *empty,
				       unsigned int me)
{
	struct slab_mag *m, *spare = NULL;

	pthread_mutex_lock(&d->lock);
	m = depot_pop_full(d, me);
	if (m && empty->cap) {
		if (d->nempty < DEPOT_MAGS)
			depot_push(&d->empty, &d->nempty, empty);
		else
			spare = empty;
	}
	pthread_mutex_unlock(&d->lock);
	sk_kfree(spare);
	return m;
}

/* An empty magazine: the depot's, or a new one; NULL if out of memory. */
static struct slab_mag *depot_get_empty(struct sk_kmem_cache *c)
{
	struct slab_depot *d = &c->depot;
	struct slab_mag *m;

	pthread_mutex_lock(&d->lock);
	m = depot_pop(&d->empty, &d->nempty);
	pthread_mutex_unlock(&d->lock);
	return m ? m : mag_new(c);
}

/*
 * Hand @full (a non-empty magazine) to the depot and take an empty one.
 * When the depot already holds DEPOT_MAGS, @full's objects go back to
 * the allocator instead (*drained says how many) and @full is returned
 * as the empty magazine.  NULL only if a new magazine cannot be had.
 */
static struct slab_mag *depot_swap_full(struct sk_kmem_cache *c, struct slab_mag *full,
					unsigned int me, unsigned int *drained)
{
	struct slab_depot *d = &c->depot;
	struct slab_mag *e = NULL;
	bool kept = false;

	full->owner = me;
	pthread_mutex_lock(&d->lock);
	if (d->nfull < DEPOT_MAGS) {
		depot_push(&d->full, &d->nfull, full);
		e = depot_pop(&d->empty, &d->nempty);
		kept = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (!kept) {
		*drained = mag_drain(full, NULL);
		return full;
	}
	return e ? e : mag_new(c);
}

/*
 * A thread lets go of @m (exit): into the depot if it has room for it,
 * otherwise its objects go back to the allocator and it is released.
 * Returns the objects drained.
 */
static unsigned int depot_put(struct sk_kmem_cache *c, struct slab_mag *m)
{
	struct slab_depot *d = &c->depot;
	bool kept = false;

	if (!m->cap)
		return 0;
	pthread_mutex_lock(&d->lock);
	if (m->rounds && d->nfull < DEPOT_MAGS) {
		m->owner = SLAB_SHARDS; /* nobody's: the thread is gone */
		depot_push(&d->full, &d->nfull, m);
		kept = true;
	} else if (!m->rounds && d->nempty < DEPOT_MAGS) {
		depot_push(&d->empty, &d->nempty, m);
		kept = true;
	}
	pthread_mutex_unlock(&d->lock);
	return kept ? 0 : mag_free(m, NULL);
}

/* Empty the depot: objects back to the allocator (@dead: as mag_drain()); returns how many. */
static uint64_t depot_flush(struct sk_kmem_cache *c, struct dead_set *dead)
{
	struct slab_depot *d = &c->depot;
	struct slab_mag *full, *empty, *next;
	uint64_t n = 0;

	pthread_mutex_lock(&d->lock);
	full = d->full;
	empty = d->empty;
	d->full = d->empty = NULL;
	d->nfull = d->nempty = 0;
	pthread_mutex_unlock(&d->lock);
	for (; full; full = next) {
		next = full->next;
		n += mag_free(full, dead);
	}
	for (; empty; empty = next) {
		next = empty->next;
		sk_kfree(empty);
	}
	return n;
}

/* Count @n objects given back to the allocator, in the caller's shard. */
static void stat_drain(struct sk_kmem_cache *c, uint64_t n)
{
	size_t off = slab_off;
	struct slab_shard *s;

	if (!off && slab_tid == 0 && tid_assign() < SLAB_SHARDS)
		off = slab_off;
	if (!off) {
		__atomic_add_fetch(&c->shards[SLAB_SHARDS].drains, n, __ATOMIC_RELAXED);
		return;
	}
	s = my_shard(c, off);
	shard_add(&s->drains, n);
}

/* Empty a shard's magazines into the allocator (@dead: as mag_drain()); returns how many. */
static uint64_t shard_flush(struct slab_shard *s, struct dead_set *dead)
{
	uint64_t n = mag_free(s->loaded, dead) + mag_free(s->prev, dead);

	shard_unload(s);
	return n;
}

/* Thread @t exits: its magazines in every cache go to the depots. */
static void mag_thread_exit(unsigned int t)
{
	pthread_mutex_lock(&caches_lock);
	for (struct sk_kmem_cache *c = mag_caches; c; c = c->next_mag_cache) {
		struct slab_shard *s = &c->shards[t];
		uint64_t n = depot_put(c, s->loaded) + depot_put(c, s->prev);

		shard_unload(s);
		if (n)
			shard_add(&s->drains, n);
	}
	pthread_mutex_unlock(&caches_lock);
}

static void mag_cache_link(struct sk_kmem_cache *c)
{
	pthread_mutex_lock(&caches_lock);
	c->next_mag_cache = mag_caches;
	mag_caches = c;
	c->listed = true;
	pthread_mutex_unlock(&caches_lock);
}

/*
 * Destroy, first step: take the cache off the list, so that no thread
 * exit touches its magazines from now on.  No operation on the cache runs
 * concurrently (the destroy contract), so after this every shard's
 * magazines and the depot are the destroy's alone.
 */
static void mag_unlist(struct sk_kmem_cache *c)
{
	if (!c->mag_rounds)
		return;
	pthread_mutex_lock(&caches_lock);
	if (c->listed) {
		struct sk_kmem_cache **pp = &mag_caches;

		while (*pp != c)
			pp = &(*pp)->next_mag_cache;
		*pp = c->next_mag_cache;
		c->listed = false;
	}
	pthread_mutex_unlock(&caches_lock);
}

/* The free objects in the magazines and the depot of an unlisted cache. */
static uint64_t mag_held(struct sk_kmem_cache *c)
{
	uint64_t n = 0;

	if (!c->mag_rounds)
		return 0;
	for (unsigned int i = 0; i < SLAB_SHARDS; i++)
		n += c->shards[i].loaded->rounds + c->shards[i].prev->rounds;
	pthread_mutex_lock(&c->depot.lock);
	for (struct slab_mag *m = c->depot.full; m; m = m->next)
		n += m->rounds;
	pthread_mutex_unlock(&c->depot.lock);
	return n;
}

/*
 * Destroy, second step (after mag_unlist()): give every cached object
 * back to the allocator, from every shard's magazines and the depot.
 * @dead: as mag_drain(), for a cache destroyed with live objects.
 */
static void mag_teardown(struct sk_kmem_cache *c, struct dead_set *dead)
{
	uint64_t n = 0;

	if (!c->mag_rounds)
		return;
	for (unsigned int i = 0; i < SLAB_SHARDS; i++)
		n += shard_flush(&c->shards[i], dead);
	n += depot_flush(c, dead);
	if (n)
		stat_drain(c, n);
}

unsigned long sk_kmem_cache_shrink(struct sk_kmem_cache *c)
{
	size_t off = slab_off;
	uint64_t n = 0;

	if (!c->mag_rounds || (__atomic_load_n(&c->slow_free, __ATOMIC_RELAXED) & SLOW_DEAD))
		return 0;
	if (off)
		n = shard_flush(my_shard(c, off), NULL);
	n += depot_flush(c, NULL);
	if (n)
		stat_drain(c, n);
	return (unsigned long)n;
}

/* ------------------------------------------------------------------------
 * Hot paths and slow paths of hardened caches
 * ------------------------------------------------------------------------ */

static void *plain_aligned(struct sk_kmem_cache *c)
{
	return sk__be.aligned_alloc(c->align, c->alloc_size);
}

/* A new object from the allocator, aligned as the cache needs; NULL (errno ENOMEM). */
static void *backend_alloc(struct sk_kmem_cache *c)
{
	void *p;

	if (__atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED) & SLOW_ALIGN) {
		p = plain_aligned(c);
	} else {
		p = sk__be.malloc(c->alloc_size);
		if (p && ((uintptr_t)p & c->align_mask)) {
			/*
			 * The allocator's natural alignment did not cover this
			 * size (large classes may be offset by cache lines): ask
			 * for the alignment, now and from now on.
			 */
			sk__be.free(p);
			__atomic_or_fetch(&c->slow_alloc, SLOW_ALIGN, __ATOMIC_RELAXED);
			p = plain_aligned(c);
		}
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

static SK_COLD SK_NOINLINE void *alloc_sample(struct sk_kmem_cache *c, struct slab_shard *s,
					      void *p)
{
	peak_sample(c, s);
	return p;
}

/* Count an allocation in the caller's own shard @s; returns @p. */
static inline void *alloc_done(struct sk_kmem_cache *c, struct slab_shard *s, void *p)
{
	uint64_t a = s->allocs + 1;

	__atomic_store_n(&s->allocs, a, __ATOMIC_RELAXED);
	if (sk_unlikely((int64_t)(a - s->frees) > s->limit))
		return alloc_sample(c, s, p);
	return p;
}

static unsigned int shard_index(struct sk_kmem_cache *c, struct slab_shard *s)
{
	return (unsigned int)(s - c->shards);
}

static SK_NOINLINE void *alloc_unsharded(struct sk_kmem_cache *c, bool zero);
static SK_NOINLINE void *alloc_refill(struct sk_kmem_cache *c, struct slab_shard *s, bool zero);

/*
 * Plain-mode allocation (no tool, no debug, not destroyed): pop the
 * loaded magazine; when it is empty, alloc_refill() swaps in the previous
 * one, trades with the depot or asks the allocator.
 */
static inline void *alloc_plain(struct sk_kmem_cache *c, bool zero)
{
	size_t off = slab_off;
	struct slab_shard *s;
	struct slab_mag *m;
	void *p;

	if (sk_unlikely(!off))
		return alloc_unsharded(c, zero);
	s = my_shard(c, off);
	m = s->loaded;
	if (sk_unlikely(!m->rounds))
		return alloc_refill(c, s, zero);
	p = m->objs[--m->rounds];
	if (zero)
		memset(p, 0, c->size);
	return alloc_done(c, s, p);
}

static SK_NOINLINE void *alloc_refill(struct sk_kmem_cache *c, struct slab_shard *s, bool zero)
{
	struct slab_mag *m = s->loaded, *pv = s->prev, *f;
	void *p;

	if (pv->rounds) {
		f = pv;
	} else if (!c->mag_rounds || !(f = depot_get_full(&c->depot, pv, shard_index(c, s)))) {
		p = backend_alloc(c);
		if (!p)
			return NULL;
		shard_add(&s->fills, 1);
		if (zero)
			memset(p, 0, c->size);
		return alloc_done(c, s, p);
	}
	/* The previous magazine went to the depot if it was not the one swapped in. */
	s->prev = m;
	s->loaded = f;
	p = f->objs[--f->rounds];
	if (zero)
		memset(p, 0, c->size);
	return alloc_done(c, s, p);
}

/* A thread without a shard of its own: give it one, or use the shared shard. */
static SK_NOINLINE void *alloc_unsharded(struct sk_kmem_cache *c, bool zero)
{
	void *p;

	if (slab_tid == 0 && tid_assign() < SLAB_SHARDS)
		return alloc_plain(c, zero);
	p = backend_alloc(c);
	if (!p)
		return NULL;
	if (zero)
		memset(p, 0, c->size);
	__atomic_add_fetch(&c->shards[SLAB_SHARDS].fills, 1, __ATOMIC_RELAXED);
	stat_alloc_slow(c);
	return p;
}

static SK_NOINLINE void *cache_alloc_slow(struct sk_kmem_cache *c, bool zero,
					  const struct sk_callsite *cs, const void *ip)
{
	unsigned int slow = __atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED);
	void *p;

	if (slow & SLOW_DEBUG)
		return debug_alloc(c, zero, cs, ip);
	if (slow & SLOW_DEAD)
		return dead_alloc(c, cs, ip);
	if (slow & SLOW_TOOL) {
		/* Straight from the allocator: no magazines in tool mode. */
		p = sk__tb_alloc(c->size, c->align, SK__TB_TAIL, c, zero);
		if (!p)
			return NULL;
		stat_alloc(c);
	} else {
		p = alloc_plain(c, zero);
		if (!p)
			return NULL;
	}
	if (c->ctor)
		c->ctor(p);
	return p;
}

static inline void *cache_alloc(struct sk_kmem_cache *c, bool zero, const struct sk_callsite *cs,
				const void *ip)
{
	if (sk_unlikely(__atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED)))
		return cache_alloc_slow(c, zero, cs, ip);
	return alloc_plain(c, zero);
}

void *sk__kmem_cache_alloc(struct sk_kmem_cache *c, const struct sk_callsite *cs)
{
	return cache_alloc(c, false, cs, SK__RET_IP);
}

void *sk__kmem_cache_zalloc(struct sk_kmem_cache *c, const struct sk_callsite *cs)
{
	return cache_alloc(c, true, cs, SK__RET_IP);
}

/* Tool mode, hardened cache: whether the header @h of @obj allows its free. */
static bool tool_free_valid(struct sk_kmem_cache *c, const struct sk__tb_hdr *h)
{
	return sk_likely(h->owner == c && h->state == SK__TB_LIVE);
}

/*
 * Report the refused free of @obj, whose header @h is not valid for @c
 * (only compared: @c may be gone by now); @name is the cache's name.
 */
static SK_COLD SK_NOINLINE void tool_free_refused(const struct sk_kmem_cache *c, const char *name,
						  void *obj, const struct sk__tb_hdr *h,
						  const struct sk_callsite *cs, const void *ip)
{
	if (h->owner == c && h->state == SK__TB_FREE)
		sk__violation(SK_VIOLATION_ALLOC_DOUBLE_FREE, obj, cs, ip,
			      "object %p of cache \"%s\" is already free; refused", obj, name);
	else if (h->owner == sk__kmalloc_owner && h->state == SK__TB_LIVE)
		sk__violation(SK_VIOLATION_ALLOC_WRONG_CACHE, obj, cs, ip,
			      "%p was allocated by sk_kmalloc, not from cache \"%s\"; refused", obj,
			      name);
	else if (h->state == SK__TB_LIVE || h->state == SK__TB_FREE)
		sk__violation(SK_VIOLATION_ALLOC_WRONG_CACHE, obj, cs, ip,
			      "%p belongs to another cache, not to cache \"%s\"; refused", obj,
			      name);
	else
		sk__violation(SK_VIOLATION_ALLOC_WRONG_CACHE, obj, cs, ip,
			      "%p was not allocated from cache \"%s\"; refused", obj, name);
}

/*
 * Free straight to the allocator: tool mode (@h: the header, validated
 * by tool_free_valid()), and destroyed caches.
 */
static void free_one(struct sk_kmem_cache *c, void *obj, unsigned int slow,
		     const struct sk__tb_hdr *h)
{
	if (slow & SLOW_TOOL) {
		stat_free(c);
		sk__tb_free(obj, h);
		return;
	}
	stat_free(c);
	stat_drain(c, 1);
	sk__be.free(obj);
}

static SK_NOINLINE void cache_free_slow(struct sk_kmem_cache *c, void *obj,
					const struct sk_callsite *cs, const void *ip)
{
	unsigned int slow = __atomic_load_n(&c->slow_free, __ATOMIC_RELAXED);
	bool dead = slow & SLOW_DEAD;
	struct sk__tb_hdr h;
	uint64_t a, f;
	bool release;

	if (slow & SLOW_DEBUG) {
		debug_free(c, obj, cs, ip);
		return;
	}
	/*
	 * Destroyed: the free that takes the last object releases the cache,
	 * under dead_lock.  A refused free is reported once dead_lock is
	 * dropped (a violation handler may itself free to a destroyed cache),
	 * with a copy of the name: another thread's free may release the
	 * cache meanwhile.
	 */
	if (dead)
		pthread_mutex_lock(&dead_lock);
	if (slow & SLOW_TOOL) {
		sk__tb_read(obj, &h);
		if (!tool_free_valid(c, &h)) {
			const char *name = c->name;
			char copy[128];

			if (dead) {
				snprintf(copy, sizeof(copy), "%s", c->name);
				name = copy;
				pthread_mutex_unlock(&dead_lock);
			}
			tool_free_refused(c, name, obj, &h, cs, ip);
			return;
		}
	}
	/*
	 * Nothing is allocated from a destroyed cache, so an address freed to
	 * it twice is a double free: refused, or the count would reach zero
	 * early and release the cache under its last live objects.
	 */
	if (dead && !dead_set_add(&c->dead, obj)) {
		char copy[128];

		snprintf(copy, sizeof(copy), "%s", c->name);
		pthread_mutex_unlock(&dead_lock);
		sk__violation(SK_VIOLATION_ALLOC_DOUBLE_FREE, obj, cs, ip,
			      "object %p was already freed to cache \"%s\" after it was "
			      "destroyed: a double free; refused",
			      obj, copy);
		return;
	}
	free_one(c, obj, slow, &h);
	if (!dead)
		return;
	shard_sums(c, &a, &f);
	release = live_of(a, f) == 0;
	pthread_mutex_unlock(&dead_lock);
	if (release)
		cache_release(c);
}

static SK_NOINLINE void free_unsharded(struct sk_kmem_cache *c, void *obj,
					const struct sk_callsite *cs, const void *ip);
static SK_NOINLINE void free_spill(struct sk_kmem_cache *c, struct slab_shard *s, void *obj);

static SK_COLD SK_NOINLINE void report_naive_double_free(struct sk_kmem_cache *c, void *obj,
							   const struct sk_callsite *cs,
							   const void *ip)
{
	sk__violation(SK_VIOLATION_ALLOC_DOUBLE_FREE, obj, cs, ip,
		      "object %p of cache \"%s\" was the last object this thread freed to it: "
		      "a double free; refused",
		      obj, c->name);
}

/*
 * Plain-mode free: push onto the loaded magazine; when it is full,
 * free_spill() swaps in the previous one or trades with the depot.
 *
 * Before the push, the kernel's naive double-free check
 * (SLAB_FREELIST_HARDENED's "object == fp"): freeing the object that is
 * already on top of the magazine, i.e. free(p); free(p) with no free to
 * this cache between them, is reported and refused, so the object is not
 * handed out twice.  One compare against a line the push touches anyway.
 */
static inline void free_plain(struct sk_kmem_cache *c, void *obj, const struct sk_callsite *cs,
			      const void *ip)
{
	size_t off = slab_off;
	struct slab_shard *s;
	struct slab_mag *m;

	if (sk_unlikely(!off)) {
		free_unsharded(c, obj, cs, ip);
		return;
	}
	s = my_shard(c, off);
	m = s->loaded;
	if (sk_unlikely(m->rounds && m->objs[m->rounds - 1] == obj)) {
		report_naive_double_free(c, obj, cs, ip);
		return;
	}
	if (sk_unlikely(m->rounds == m->cap)) {
		free_spill(c, s, obj);
		return;
	}
	m->objs[m->rounds++] = obj;
	shard_add(&s->frees, 1);
}

static SK_NOINLINE void free_spill(struct sk_kmem_cache *c, struct slab_shard *s, void *obj)
{
	struct slab_mag *m = s->loaded, *pv = s->prev, *e;
	unsigned int drained = 0;

	if (pv->cap && !pv->rounds) {
		e = pv;
	} else {
		/* The previous magazine (if any) goes to the depot, or drains. */
		e = !c->mag_rounds ? NULL
		    : pv->cap      ? depot_swap_full(c, pv, shard_index(c, s), &drained)
				   : depot_get_empty(c);
		if (!e) {
			/* No magazines, or none to be had: the allocator takes it. */
			if (pv->cap) {
				/* pv is in the depot now. */
				s->prev = m;
				s->loaded = &mag_none;
			}
			shard_add(&s->frees, 1);
			shard_add(&s->drains, 1);
			sk__be.free(obj);
			return;
		}
	}
	s->prev = m;
	s->loaded = e;
	e->objs[e->rounds++] = obj;
	shard_add(&s->frees, 1);
	if (drained)
		shard_add(&s->drains, drained);
}

/* A thread without a shard of its own: give it one, or use the shared shard. */
static SK_NOINLINE void free_unsharded(struct sk_kmem_cache *c, void *obj,
					const struct sk_callsite *cs, const void *ip)
{
	if (slab_tid == 0 && tid_assign() < SLAB_SHARDS) {
		free_plain(c, obj, cs, ip);
		return;
	}
	stat_free_slow(c);
	__atomic_add_fetch(&c->shards[SLAB_SHARDS].drains, 1, __ATOMIC_RELAXED);
	sk__be.free(obj);
}

void sk__kmem_cache_free(struct sk_kmem_cache *c, void *obj, const struct sk_callsite *cs)
{
	if (sk_unlikely(!obj))
		return;
	if (sk_unlikely(__atomic_load_n(&c->slow_free, __ATOMIC_RELAXED))) {
		cache_free_slow(c, obj, cs, SK__RET_IP);
		return;
	}
	free_plain(c, obj, cs, SK__RET_IP);
}

/* ------------------------------------------------------------------------
 * Create, destroy, introspection
 * ------------------------------------------------------------------------ */

static struct sk_kmem_cache *bad_create(const struct sk_callsite *cs, const void *ip,
					const char *name, const char *why, size_t v)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, NULL, cs, ip,
		      "sk_kmem_cache_create(\"%s\"): %s (%zu); no cache created", name ? name : "?",
		      why, v);
	errno = EINVAL;
	return NULL;
}

struct sk_kmem_cache *sk__kmem_cache_create(const char *name, size_t size, size_t align,
					    unsigned int flags, void (*ctor)(void *),
					    const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	struct sk_kmem_cache *c;
	bool tool = sk__alloc_mode() == SK__MODE_TOOL;
	size_t alloc_size, lead, rz, block;
	unsigned int slow = 0;

	if (flags & ~(SK_SLAB_HWCACHE_ALIGN | SK_SLAB_DEBUG))
		return bad_create(cs, ip, name, "unknown flags", flags);
	if (size == 0)
		return bad_create(cs, ip, name, "object size", size);
	if (align & (align - 1) || align > MAX_ALIGN)
		return bad_create(cs, ip, name, "alignment not a power of two up to 1 MiB", align);
	if (size > SIZE_MAX / 4)
		return sk__alloc_overflowed();
	if (flags & SK_SLAB_HWCACHE_ALIGN) {
		size_t ralign = SK_CACHELINE_SIZE;

		while (size <= ralign / 2)
			ralign /= 2;
		if (ralign > align)
			align = ralign;
	}
	if (slab_debug_env)
		flags |= SK_SLAB_DEBUG;

	/* The layouts must fit in a size_t with room to spare. */
	lead = sk__tb_lead(align);
	rz = sk__tb_tail(size, SLAB_RZ);
	alloc_size = align > 1 ? (size + align - 1) & ~(align - 1) : size;
	if (sk_check_add_overflow(size, align, &block) ||
	    sk_check_add_overflow(block, lead + rz, &block) || block > SIZE_MAX / 2)
		return sk__alloc_overflowed();

	c = sk__kzalloc_aligned(sizeof(*c), SK_CACHELINE_SIZE);
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->name = sk_kmalloc(strlen(name ? name : "?") + 1);
	if (!c->name) {
		sk_kfree(c);
		errno = ENOMEM;
		return NULL;
	}
	strcpy(c->name, name ? name : "?");
	c->flags = flags;
	c->size = size;
	c->align = align;
	c->alloc_size = alloc_size;
	c->align_mask = align > 1 ? align - 1 : 0;
	c->ctor = ctor;
	pthread_mutex_init(&c->stat_lock, NULL);
	depot_lock_init(&c->depot);
	for (unsigned int i = 0; i <= SLAB_SHARDS; i++) {
		shard_unload(&c->shards[i]);
	}

	if (ctor)
		slow |= SLOW_CTOR;
#ifdef SK_ALLOC_LIBC
	if (align > 16)
		slow |= SLOW_ALIGN; /* glibc's malloc is only 16-aligned */
#endif
	if (tool)
		slow |= SLOW_TOOL;
	if (flags & SK_SLAB_DEBUG) {
		c->rz = rz;
		c->dbg = sk__kzalloc_aligned(sizeof(*c->dbg), 0);
		if (!c->dbg) {
			pthread_mutex_destroy(&c->depot.lock);
			pthread_mutex_destroy(&c->stat_lock);
			sk_kfree(c->name);
			sk_kfree(c);
			errno = ENOMEM;
			return NULL;
		}
		slow |= SLOW_DEBUG;
	}
	c->slow_alloc = slow;
	c->slow_free = slow & (SLOW_TOOL | SLOW_DEBUG);
	/* Tool mode and debug caches bypass the magazines: the checks see every free. */
	if (!(slow & (SLOW_TOOL | SLOW_DEBUG)))
		c->mag_rounds = mag_rounds_for(alloc_size);

	/* Owner-written counters read by others; flags flipped by destroy. */
	SK_ANNOTATE_BENIGN_RACE_SIZED(c->shards, sizeof(c->shards), "kmem_cache shards");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&c->slow_alloc, 2 * sizeof(c->slow_alloc),
				      "kmem_cache slow words");
	if (c->mag_rounds)
		mag_cache_link(c);
	return c;
}

int sk__kmem_cache_destroy(struct sk_kmem_cache *c, const struct sk_callsite *cs)
{
	const void *ip = SK__RET_IP;
	uint64_t a, f, live;

	if (!c)
		return 0;
	if (c->dbg)
		return debug_destroy(c, cs, ip);

	mag_unlist(c);
	pthread_mutex_lock(&dead_lock);
	if (__atomic_load_n(&c->slow_alloc, __ATOMIC_RELAXED) & SLOW_DEAD) {
		pthread_mutex_unlock(&dead_lock);
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, c, cs, ip,
			      "cache \"%s\" destroyed twice (it still has objects)", c->name);
		return -EBUSY;
	}
	/*
	 * Every cached object goes back.  With live objects left, the cache
	 * stays behind and counts their frees down to its release; an object
	 * that was freed before the destroy and sat in a magazine must then
	 * not pass for one of them when it is freed again (the count would
	 * reach zero under a live object), so the set of addresses freed to
	 * the destroyed cache starts with the ones given back here.
	 */
	shard_sums(c, &a, &f);
	live = live_of(a, f);
	if (live)
		dead_set_init(&c->dead, live + mag_held(c));
	mag_teardown(c, live ? &c->dead : NULL);
	if (live)
		mark_dead(c);
	pthread_mutex_unlock(&dead_lock);

	if (live) {
		sk__violation(SK_VIOLATION_ALLOC_LEAK, c, cs, ip,
			      "cache \"%s\" destroyed with %llu live objects (memory kept; the "
			      "cache is released with its last object; allocation sites are "
			      "recorded by debug caches: SAFEKERN_SLAB_DEBUG=1)",
			      c->name, (unsigned long long)live);
		return -EBUSY;
	}
	cache_release(c);
	return 0;
}

void sk_kmem_cache_stats(struct sk_kmem_cache *c, struct sk_kmem_cache_stats *st)
{
	uint64_t a, f, live;

	if (c->dbg) {
		pthread_mutex_lock(&dbg_lock);
		st->live = c->dbg->nlive;
		st->peak = c->dbg->peak;
		st->allocs = c->dbg->allocs;
		st->frees = c->dbg->frees;
		st->quarantined = c->dbg->q_count;
		pthread_mutex_unlock(&dbg_lock);
		return;
	}
	pthread_mutex_lock(&c->stat_lock);
	shard_sums(c, &a, &f);
	live = live_of(a, f);
	if (live > c->peak)
		c->peak = live;
	st->live = (unsigned long)live;
	st->peak = (unsigned long)c->peak;
	st->allocs = (unsigned long)a;
	st->frees = (unsigned long)f;
	st->quarantined = c->mag_rounds ? (unsigned long)cached_of(c, live) : 0;
	pthread_mutex_unlock(&c->stat_lock);
}

const char *sk_kmem_cache_name(const struct sk_kmem_cache *c)
{
	return c->name;
}

size_t sk_kmem_cache_size(const struct sk_kmem_cache *c)
{
	return c->size;
}

size_t sk_kmem_cache_align(const struct sk_kmem_cache *c)
{
	if (c->align > 8)
		return c->align;
	return c->size >= 16 ? 16 : 8;
}

unsigned int sk_kmem_cache_flags(const struct sk_kmem_cache *c)
{
	return c->flags;
}

__attribute__((constructor)) static void slab_init(void)
{
	const char *env = getenv("SAFEKERN_SLAB_DEBUG");

	if (!env || !env[0] || !strcmp(env, "0"))
		return;
	if (!strcmp(env, "1")) {
		slab_debug_env = true;
		return;
	}
	fprintf(stderr, "libsafekern: invalid SAFEKERN_SLAB_DEBUG=\"%.64s\" (expected 0 or 1); "
			"ignored\n",
		env);
}
