/* SPDX-License-Identifier: MIT */
/*
 * lib/lockdep.c - the lock validator: a lockdep for userspace.
 *
 * What it keeps
 * =============
 *
 * - Lock classes (at most LD_MAX_CLASSES): one per (key, subclass), where
 *   the key is the static struct sk_lock_class_key an init site declared,
 *   or, for a statically initialised lock, the lock's own address.  A
 *   lock caches its subclass-0 class id in dep_map.class_id; other
 *   subclasses go through a lock-free hash of keys.
 * - A dependency graph between classes: an edge A -> B means "some thread
 *   held A while it blocked (or could block) on B", recorded with the two
 *   acquisition sites.  Each edge carries the modes it was seen in (A held
 *   for read or write, B wanted for read or write), because with a
 *   reader-preferring rwlock a reader waits only for a writer: a cycle is a
 *   possible deadlock only if no lock in it is both held and wanted for
 *   reading (the kernel's "strong dependency path").
 * - Per thread, a stack of the locks it holds (LD_DEPTH deep) and, for
 *   each entry, a hash of the stack up to it (the chain key).
 * - A chain cache: the set of chain keys already validated.  A chain that
 *   was validated once is valid forever (the graph only grows), so a
 *   repeated locking pattern costs one hash probe: O(1).
 *
 * Per acquisition (not trylock), on a chain cache miss, under graph_lock:
 * a class already held (and not both for reading) is reported as possible
 * recursive locking; then, walking down the held stack to the first lock
 * not taken by trylock, each held class H gets an edge H -> new, and each
 * *new* edge is checked with a breadth-first search for a path back from
 * new to H.  A path is a cycle: reported with both chains, once per edge.
 * Trylock acquisitions add no edge of their own (they cannot block) but
 * are pushed, so that what is taken while they are held depends on them.
 *
 * Reports are formatted under graph_lock and made after it is dropped, so
 * a violation handler may take locks.  At most one misuse report per
 * acquisition: if a second problem shows up in the same validation, the
 * chain is not cached, so it is reported when the chain is seen again.
 *
 * Capacity (classes, edges, chains, stack depth, memory) running out is
 * reported once; the validator then turns itself off for good, and every
 * lock operation is back on its fast path.
 *
 * Concurrency: graph_lock (a plain pthread mutex) serialises the slow
 * path.  The chain cache, the class hash and the caches in the locks are
 * read without it (relaxed atomics: an entry, once there, never changes),
 * and declared benign to helgrind and drd.  Each thread's stack is its
 * own.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <safekern/alloc.h>
#include <safekern/annotate.h>
#include <safekern/lock.h>
#include <safekern/violation.h>

#include "lockdep-internal.h"
#include "violation-internal.h"

#define LD_MAX_CLASSES 8191U
#define LD_UNTRACKED 0xffffU /* dep_map.class_id of a lock the validator ignores */
#define LD_CLASS_HASH 16384U
#define LD_MAX_EDGES 32768U
#define LD_EDGE_HASH 65536U
#define LD_CHAIN_SLOTS 65536U
#define LD_MAX_CHAINS (LD_CHAIN_SLOTS / 4 * 3)
#define LD_DEPTH 48U

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WR(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

int sk__lock_slow;
int sk__lockdep_on;
int sk__lock_race_tool;
int sk__lock_calls_only;

static int ld_complete;		/* on since load, never turned off */
static int ld_exhausted;	/* ran out of capacity: never on again */
static int ld_capacity_reported;
static int ld_forced_off;	/* SAFEKERN_LOCKDEP=0 */
static int ld_ever_on;		/* turned on at least once */
static unsigned long long ld_load_adds; /* objects loaded when the library was */
static unsigned int ld_gen = 1;	/* thread stacks of another generation are stale */

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ld_once = PTHREAD_ONCE_INIT;
static pthread_key_t ld_key;

/* ------------------------------------------------------------------------
 * Data
 * ------------------------------------------------------------------------ */

struct ld_site {
	const struct sk_callsite *cs;
	const void *ip;
};

struct ld_class {
	uintptr_t key;
	const char *name;
	unsigned int subclass;
	bool rwlock;
	uint32_t first_edge; /* 1-based index into edges[], 0: none */
};

struct ld_edge {
	uint16_t from, to;
	uint8_t modes; /* bit (held_read << 1 | want_read): combinations recorded */
	uint8_t bad;   /* combinations that closed a cycle (reported, not recorded) */
	uint32_t next; /* next edge out of @from */
	struct ld_site from_site, to_site;
};

/* All under graph_lock, except the hash arrays marked lock-free. */
static struct ld_class classes[LD_MAX_CLASSES + 1];
static unsigned int nr_classes;
static uintptr_t class_keys[LD_CLASS_HASH]; /* lock-free reads */
static uint16_t class_ids[LD_CLASS_HASH];   /* lock-free reads */

static struct ld_edge edges[LD_MAX_EDGES + 1];
static unsigned int nr_edges;
static uint32_t edge_keys[LD_EDGE_HASH];
static uint32_t edge_index[LD_EDGE_HASH];

static uint64_t chain_keys[LD_CHAIN_SLOTS]; /* lock-free reads */
static unsigned int nr_chains;

/* Breadth-first search state: a state is (class, wanted-for-read). */
static uint32_t bfs_gen;
static uint32_t bfs_mark[2][LD_MAX_CLASSES + 1];
static uint32_t bfs_via[2][LD_MAX_CLASSES + 1];	/* edge that reached the state */
static uint32_t bfs_from[2][LD_MAX_CLASSES + 1];	/* the state it came from */
static uint32_t bfs_queue[2 * (LD_MAX_CLASSES + 1)];
static uint32_t bfs_path[2 * (LD_MAX_CLASSES + 1)];

struct ld_held {
	uint64_t chain_key; /* hash of the stack up to and including this entry */
	const void *lock;
	struct ld_site site;
	uint16_t class_id;
	uint8_t flags;	 /* SK__LD_READ, SK__LD_TRY, SK__LD_RWLOCK */
	uint8_t refused; /* a write acquisition refused (would self-deadlock) */
};

struct ld_thread {
	unsigned int gen;
	unsigned int depth;
	struct ld_held held[LD_DEPTH + 1]; /* the last only for a refused write lock */
};

static __thread struct ld_thread *ld_self __attribute__((tls_model("initial-exec")));
/*
 * Set when this thread's exit hook has run (thread_exit()): its held-lock
 * stack is gone, so the validator no longer knows what it holds.  The
 * program's own pthread-key destructors can run after ours (POSIX allows
 * an unlock there); such an unlock must not be judged against the empty
 * stack (it was refused as a dead owner's until a review, 2026-11-26).
 */
static __thread bool ld_exited __attribute__((tls_model("initial-exec")));

/* A report prepared under graph_lock, made after it is dropped. */
struct ld_report {
	enum sk_violation_kind kind; /* SK_VIOLATION_NR: none */
	const void *object;
	struct ld_site site;
	char text[960];
};

struct ld_reports {
	struct ld_report problem;
	struct ld_report capacity;
	bool suppressed; /* a second problem was found: do not cache the chain */
};

static void report_init(struct ld_reports *r)
{
	r->problem.kind = SK_VIOLATION_NR;
	r->capacity.kind = SK_VIOLATION_NR;
	r->suppressed = false;
}

static void report_emit(struct ld_report *rep)
{
	if (rep->kind != SK_VIOLATION_NR)
		sk__violation(rep->kind, rep->object, rep->site.cs, rep->site.ip, "%s", rep->text);
}

static void reports_emit(struct ld_reports *r)
{
	report_emit(&r->problem);
	report_emit(&r->capacity);
}

/* Claims the problem slot; false (and the chain stays uncached) if taken. */
static bool problem_slot(struct ld_reports *r, enum sk_violation_kind kind, const void *object,
			 struct ld_site site)
{
	if (r->problem.kind != SK_VIOLATION_NR) {
		r->suppressed = true;
		return false;
	}
	r->problem.kind = kind;
	r->problem.object = object;
	r->problem.site = site;
	r->problem.text[0] = '\0';
	return true;
}

/* Bounded appending formatter. */
SK_PRINTF(2, 3) static void append(struct ld_report *rep, const char *fmt, ...)
{
	size_t len = strlen(rep->text);
	va_list ap;

	if (len + 1 >= sizeof(rep->text))
		return;
	va_start(ap, fmt);
	vsnprintf(rep->text + len, sizeof(rep->text) - len, fmt, ap);
	va_end(ap);
}

static void append_site(struct ld_report *rep, struct ld_site s)
{
	if (s.cs && s.cs->file)
		append(rep, "%s:%u", s.cs->file, s.cs->line);
	else
		append(rep, "%p", s.ip);
}

static void append_class(struct ld_report *rep, unsigned int id)
{
	const struct ld_class *c = &classes[id];

	if (c->subclass)
		append(rep, "\"%s\"/%u", c->name, c->subclass);
	else
		append(rep, "\"%s\"", c->name);
}

static void append_mode(struct ld_report *rep, unsigned int id, unsigned int read)
{
	if (classes[id].rwlock)
		append(rep, read ? " (read)" : " (write)");
}

/* "this thread holds: "A" (f.c:1), "B" (read, f.c:2)" */
static void append_held(struct ld_report *rep, const struct ld_thread *t)
{
	const char *sep = "";

	append(rep, "; this thread holds: ");
	for (unsigned int i = 0; i < t->depth; i++) {
		const struct ld_held *h = &t->held[i];

		if (h->refused)
			continue;
		append(rep, "%s", sep);
		append_class(rep, h->class_id);
		append_mode(rep, h->class_id, h->flags & SK__LD_READ);
		append(rep, " at ");
		append_site(rep, h->site);
		sep = ", ";
	}
}

/* ------------------------------------------------------------------------
 * On, off, capacity
 * ------------------------------------------------------------------------ */

static void set_slow(void)
{
	/* The pthread-calls-only modes, fixed at load, keep everything out of
	 * line; the validator's switch adds itself. */
	WR(sk__lock_slow, RD(sk__lockdep_on) | RD(sk__lock_calls_only));
}

/* Turns the validator off for good and prepares the one capacity report. */
static void exhaust(struct ld_reports *r, const char *what, unsigned int limit,
		    const void *object, struct ld_site site)
{
	WR(ld_exhausted, 1);
	WR(sk__lockdep_on, 0);
	WR(ld_complete, 0);
	set_slow();
	if (__atomic_exchange_n(&ld_capacity_reported, 1, __ATOMIC_RELAXED))
		return;
	r->capacity.kind = SK_VIOLATION_LOCKDEP_CAPACITY;
	r->capacity.object = object;
	r->capacity.site = site;
	snprintf(r->capacity.text, sizeof(r->capacity.text),
		 "lock validator: out of %s (%u): validation stopped for the rest of the "
		 "process",
		 what, limit);
}

static int turn_on(bool complete)
{
	int ret = 0;

	pthread_mutex_lock(&graph_lock);
	if (RD(ld_exhausted)) {
		ret = -ENOSPC;
	} else if (!RD(sk__lockdep_on)) {
		/* Complete only if it was never off while locks could be taken. */
		if (ld_ever_on)
			complete = false;
		ld_ever_on = 1;
		WR(ld_gen, RD(ld_gen) + 1);
		WR(ld_complete, complete ? 1 : 0);
		WR(sk__lockdep_on, 1);
		set_slow();
	}
	pthread_mutex_unlock(&graph_lock);
	return ret;
}

/* ------------------------------------------------------------------------
 * Hashes
 * ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x7fb5d329728ea185ULL;
	k ^= k >> 27;
	k *= 0x81dadef4bc2dd44dULL;
	k ^= k >> 33;
	return k;
}

/* The chain key of a stack whose top has key @prev, after pushing @id. */
static inline uint64_t chain_next(uint64_t prev, unsigned int id, unsigned int flags)
{
	uint64_t h = (uint64_t)(id | (flags & (SK__LD_READ | SK__LD_TRY)) << 14) + 1;
	uint64_t k = mix64(prev ^ (h * 0x9e3779b97f4a7c15ULL));

	return k ? k : 1;
}

static bool chain_find(uint64_t key)
{
	for (uint32_t i = (uint32_t)key & (LD_CHAIN_SLOTS - 1);; i = (i + 1) & (LD_CHAIN_SLOTS - 1)) {
		uint64_t k = RD(chain_keys[i]);

		if (k == key)
			return true;
		if (!k)
			return false;
	}
}

/* Under graph_lock.  False when the cache is full. */
static bool chain_insert(uint64_t key)
{
	uint32_t i;

	if (nr_chains >= LD_MAX_CHAINS)
		return false;
	for (i = (uint32_t)key & (LD_CHAIN_SLOTS - 1); RD(chain_keys[i]);
	     i = (i + 1) & (LD_CHAIN_SLOTS - 1))
		if (RD(chain_keys[i]) == key)
			return true;
	WR(chain_keys[i], key);
	nr_chains++;
	return true;
}

static unsigned int class_find(uintptr_t key)
{
	for (uint32_t i = (uint32_t)mix64(key) & (LD_CLASS_HASH - 1);; i = (i + 1) & (LD_CLASS_HASH - 1)) {
		uintptr_t k = __atomic_load_n(&class_keys[i], __ATOMIC_ACQUIRE);

		if (k == key)
			return RD(class_ids[i]);
		if (!k)
			return 0;
	}
}

/* Under graph_lock.  Returns the edge (from, to), creating it; 0 if full. */
static uint32_t edge_get(unsigned int from, unsigned int to)
{
	uint32_t key = (uint32_t)from << 16 | to, i, e;

	for (i = mix64(key) & (LD_EDGE_HASH - 1); edge_keys[i]; i = (i + 1) & (LD_EDGE_HASH - 1))
		if (edge_keys[i] == key)
			return edge_index[i];
	if (nr_edges >= LD_MAX_EDGES)
		return 0;
	e = ++nr_edges;
	edges[e] = (struct ld_edge){ .from = (uint16_t)from, .to = (uint16_t)to,
				     .next = classes[from].first_edge };
	classes[from].first_edge = e;
	edge_keys[i] = key;
	edge_index[i] = e;
	return e;
}

/* ------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------ */

/* A lock with no key must be static: inside a loaded object's image; so
 * must a key. */
static bool is_static_object(const void *p)
{
	Dl_info info;

	return dladdr(p, &info) != 0;
}

/* The report of a lock the validator ignores: no class, or no static key. */
static void no_class_text(struct ld_report *rep, const struct sk_lockdep_map *map,
			  const void *lock)
{
	const char *name = map->name ? map->name : "(unnamed)";

	if (map->key)
		snprintf(rep->text, sizeof(rep->text),
			 "lock \"%s\" at %p has a lock class key at %p that is not a static "
			 "object (on the stack or the heap? keys must have static storage); the "
			 "validator ignores the lock",
			 name, lock, (const void *)map->key);
	else
		snprintf(rep->text, sizeof(rep->text),
			 "lock \"%s\" at %p has no lock class: it was not initialised with its "
			 "_init() function and is not a static object (zeroed memory?); the "
			 "validator ignores it",
			 name, lock);
}

static SK_NOINLINE unsigned int class_slow(struct sk_lockdep_map *map, const void *lock,
					   unsigned int subclass, unsigned int flags,
					   struct ld_site site)
{
	uintptr_t key = (uintptr_t)(map->key ? (const void *)map->key : lock) + subclass;
	unsigned int id = class_find(key);
	struct ld_reports r;

	report_init(&r);
	if (!id) {
		/*
		 * dladdr() takes the loader's lock: never under graph_lock.  A
		 * class is keyed by an address for the life of the process, so
		 * the key must be static, as the kernel's lockdep demands: keys
		 * on the stack or the heap come and go at shared addresses, and
		 * unrelated locks would become one class (a correct nesting of
		 * them reported as recursion, a real misuse of one unreported).
		 */
		bool ok = is_static_object(map->key ? (const void *)map->key : lock);

		pthread_mutex_lock(&graph_lock);
		id = class_find(key);
		if (id) {
			/* Registered meanwhile. */
		} else if (!ok) {
			id = LD_UNTRACKED;
			if (problem_slot(&r, SK_VIOLATION_INVALID_ARGUMENT, lock, site))
				no_class_text(&r.problem, map, lock);
		} else if (nr_classes >= LD_MAX_CLASSES || !RD(sk__lockdep_on)) {
			if (RD(sk__lockdep_on))
				exhaust(&r, "lock classes", LD_MAX_CLASSES, lock, site);
			id = 0;
		} else {
			uint32_t i;

			id = ++nr_classes;
			classes[id] = (struct ld_class){
				.key = key,
				.name = map->name ? map->name : "(unnamed)",
				.subclass = subclass,
				.rwlock = (flags & SK__LD_RWLOCK) != 0,
			};
			for (i = (uint32_t)mix64(key) & (LD_CLASS_HASH - 1); class_keys[i];
			     i = (i + 1) & (LD_CLASS_HASH - 1))
				;
			WR(class_ids[i], (uint16_t)id);
			__atomic_store_n(&class_keys[i], key, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&graph_lock);
	}
	/*
	 * Released: a thread that reads the cached id without the graph lock
	 * (class_of()) may go on to read classes[id] (a report's name).
	 * (Under helgrind and drd, lib/lock.c declared this word benign.)
	 */
	if (id && (subclass == 0 || id == LD_UNTRACKED))
		__atomic_store_n(&map->class_id, id, __ATOMIC_RELEASE);
	reports_emit(&r);
	return id == LD_UNTRACKED ? 0 : id;
}

static inline unsigned int class_of(struct sk_lockdep_map *map, const void *lock,
				    unsigned int subclass, unsigned int flags, struct ld_site site)
{
	unsigned int id = __atomic_load_n(&map->class_id, __ATOMIC_ACQUIRE);

	if (sk_likely(id && subclass == 0))
		return id == LD_UNTRACKED ? 0 : id;
	if (id == LD_UNTRACKED)
		return 0;
	return class_slow(map, lock, subclass, flags, site);
}

/* ------------------------------------------------------------------------
 * Cycle search
 * ------------------------------------------------------------------------ */

/*
 * A path of recorded edges from class @from, entered wanting it for
 * @from_read, to class @to, arriving in a mode that @to_held_read can
 * block on.  Consecutive edges must not meet "wanted for read" with "held
 * for read".  Returns the number of edges, stored in bfs_path[]; 0 if none.
 */
static unsigned int find_path(unsigned int from, unsigned int from_read, unsigned int to,
			      unsigned int to_held_read)
{
	uint32_t head = 0, tail = 0, start = from << 1 | from_read, found = UINT32_MAX, n = 0;

	if (++bfs_gen == 0) {
		memset(bfs_mark, 0, sizeof(bfs_mark));
		bfs_gen = 1;
	}
	bfs_mark[from_read][from] = bfs_gen;
	bfs_queue[tail++] = start;
	while (head < tail) {
		uint32_t s = bfs_queue[head++], x = s >> 1, w = s & 1;

		if (x == to && !(w && to_held_read)) {
			found = s;
			break;
		}
		for (uint32_t e = classes[x].first_edge; e; e = edges[e].next) {
			const struct ld_edge *ed = &edges[e];

			for (unsigned int bit = 0; bit < 4; bit++) {
				unsigned int h = bit >> 1, w2 = bit & 1;

				if (!(ed->modes & (1U << bit)) || (w && h))
					continue;
				if (bfs_mark[w2][ed->to] == bfs_gen)
					continue;
				bfs_mark[w2][ed->to] = bfs_gen;
				bfs_via[w2][ed->to] = e;
				bfs_from[w2][ed->to] = s;
				bfs_queue[tail++] = (uint32_t)ed->to << 1 | w2;
			}
		}
	}
	if (found == UINT32_MAX)
		return 0;
	for (uint32_t s = found; s != start; s = bfs_from[s & 1][s >> 1])
		bfs_path[n++] = bfs_via[s & 1][s >> 1];
	for (uint32_t i = 0; i < n / 2; i++) {
		uint32_t tmp = bfs_path[i];

		bfs_path[i] = bfs_path[n - 1 - i];
		bfs_path[n - 1 - i] = tmp;
	}
	return n;
}

/* ------------------------------------------------------------------------
 * Validation (chain cache miss)
 * ------------------------------------------------------------------------ */

/* Adds the dependency prev -> (id, flags).  False when out of edges. */
static bool add_dependency(const struct ld_thread *t, const struct ld_held *prev, unsigned int id,
			   unsigned int flags, struct ld_site site, struct ld_reports *r)
{
	unsigned int hp = prev->flags & SK__LD_READ, wn = flags & SK__LD_READ, n;
	uint8_t bit = (uint8_t)(1U << (hp << 1 | wn));
	uint32_t e = edge_get(prev->class_id, id);
	struct ld_edge *ed;

	if (!e) {
		exhaust(r, "lock dependencies", LD_MAX_EDGES, prev->lock, site);
		return false;
	}
	ed = &edges[e];
	if ((ed->modes | ed->bad) & bit)
		return true;

	n = find_path(id, wn, prev->class_id, hp);
	if (n) {
		/* Marked reported only if it is: a dropped one comes again. */
		if (!problem_slot(r, SK_VIOLATION_LOCK_ORDER_INVERSION, prev->lock, site))
			return true;
		ed->bad |= bit;
		append(&r->problem, "possible deadlock (lock order inversion): acquiring ");
		append_class(&r->problem, id);
		append_mode(&r->problem, id, wn);
		append(&r->problem, " at ");
		append_site(&r->problem, site);
		append(&r->problem, " while holding ");
		append_class(&r->problem, prev->class_id);
		append_mode(&r->problem, prev->class_id, hp);
		append(&r->problem, " (acquired at ");
		append_site(&r->problem, prev->site);
		append(&r->problem, "); the opposite order was seen before: ");
		for (unsigned int i = 0; i < n; i++) {
			const struct ld_edge *pe = &edges[bfs_path[i]];

			if (i == 8 && n > 9) {
				append(&r->problem, "; ... (%u more)", n - i);
				break;
			}
			append(&r->problem, "%s", i ? "; " : "");
			append_class(&r->problem, pe->from);
			append(&r->problem, " at ");
			append_site(&r->problem, pe->from_site);
			append(&r->problem, " then ");
			append_class(&r->problem, pe->to);
			append(&r->problem, " at ");
			append_site(&r->problem, pe->to_site);
		}
		append_held(&r->problem, t);
		return true;
	}
	if (!ed->modes) {
		ed->from_site = prev->site;
		ed->to_site = site;
	}
	ed->modes |= bit;
	return true;
}

static void validate(const struct ld_thread *t, unsigned int id, const void *lock,
		     unsigned int flags, struct ld_site site, uint64_t key)
{
	unsigned int wn = flags & SK__LD_READ;
	struct ld_reports r;

	report_init(&r);
	pthread_mutex_lock(&graph_lock);
	if (!RD(sk__lockdep_on) || chain_find(key))
		goto out;

	/* The same class, already held (both reads may nest). */
	for (unsigned int i = t->depth; i-- > 0;) {
		const struct ld_held *h = &t->held[i];
		uint32_t e;
		uint8_t bit;

		if (h->refused || h->class_id != id || ((h->flags & SK__LD_READ) && wn))
			continue;
		e = edge_get(id, id);
		if (!e) {
			exhaust(&r, "lock dependencies", LD_MAX_EDGES, lock, site);
			goto out;
		}
		bit = (uint8_t)(1U << ((h->flags & SK__LD_READ) << 1 | wn));
		if (!(edges[e].bad & bit)) {
			if (problem_slot(&r, SK_VIOLATION_LOCK_RECURSION, lock, site)) {
				edges[e].bad |= bit;
				append(&r.problem, "possible recursive locking: acquiring ");
				append_class(&r.problem, id);
				append_mode(&r.problem, id, wn);
				append(&r.problem, " at ");
				append_site(&r.problem, site);
				append(&r.problem, " while this thread holds another lock of the "
						   "same class, acquired at ");
				append_site(&r.problem, h->site);
				append(&r.problem, " (if the nesting is ordered, take the inner "
						   "one with the _nested() form and a subclass)");
				append_held(&r.problem, t);
			}
		}
		break;
	}

	/* Dependencies: every held lock down to the first one not trylocked. */
	for (unsigned int i = t->depth; i-- > 0;) {
		const struct ld_held *h = &t->held[i];

		if (h->refused)
			continue;
		if (h->class_id != id && !add_dependency(t, h, id, flags, site, &r))
			goto out;
		if (!(h->flags & SK__LD_TRY))
			break;
	}

	if (!r.suppressed && !chain_insert(key))
		exhaust(&r, "lock chains", LD_MAX_CHAINS, lock, site);
out:
	pthread_mutex_unlock(&graph_lock);
	reports_emit(&r);
}

/* ------------------------------------------------------------------------
 * Per-thread state
 * ------------------------------------------------------------------------ */

static void thread_exit(void *p)
{
	struct ld_thread *t = p;
	unsigned int n = 0;

	if (RD(sk__lockdep_on) && t->gen == RD(ld_gen)) {
		const struct ld_held *top = NULL;

		for (unsigned int i = 0; i < t->depth; i++)
			if (!t->held[i].refused) {
				n++;
				top = &t->held[i];
			}
		if (n) {
			struct ld_report rep = { .kind = SK_VIOLATION_LOCK_HELD_AT_EXIT,
						 .object = top->lock,
						 .site = top->site };

			rep.text[0] = '\0';
			append(&rep, "thread exited holding %u lock%s", n, n > 1 ? "s" : "");
			append_held(&rep, t);
			report_emit(&rep);
		}
	}
	ld_exited = true;
	ld_self = NULL;
	sk_kfree(t);
}

static SK_NOINLINE struct ld_thread *thread_get(struct ld_site site)
{
	struct ld_thread *t = ld_self;
	unsigned int gen = RD(ld_gen);

	if (t) {
		/* The validator was turned off and on: old entries are stale. */
		t->gen = gen;
		t->depth = 0;
		return t;
	}
	/* After our exit hook, a lock taken in a later key destructor: a new
	 * stack would never be freed (no destructor round is left to do it),
	 * and the validator is not authoritative for this thread any more. */
	if (ld_exited)
		return NULL;
	t = sk_kzalloc(sizeof(*t));
	if (!t) {
		struct ld_reports r;

		report_init(&r);
		exhaust(&r, "memory for a thread's held-lock stack", (unsigned int)sizeof(*t), NULL,
			site);
		reports_emit(&r);
		return NULL;
	}
	t->gen = gen;
	ld_self = t;
	pthread_setspecific(ld_key, t);
	return t;
}

static inline struct ld_thread *thread_current(void)
{
	struct ld_thread *t = ld_self;

	return t && t->gen == RD(ld_gen) ? t : NULL;
}

/* ------------------------------------------------------------------------
 * The lock operations' entry points
 * ------------------------------------------------------------------------ */

/* A write lock (not a trylock) of an rwlock: it would deadlock on a read
 * lock of it that this thread holds (read_held()). */
#define WRITE_LOCK(flags) (((flags) & (SK__LD_RWLOCK | SK__LD_READ | SK__LD_TRY)) == SK__LD_RWLOCK)

/* The entry of @lock this thread holds below @depth (not refused), or NULL. */
static SK_ALWAYS_INLINE const struct ld_held *read_held(const struct ld_thread *t,
							unsigned int depth, const void *lock)
{
	for (unsigned int i = depth; i-- > 0;)
		if (t->held[i].lock == lock && !t->held[i].refused)
			return &t->held[i];
	return NULL;
}

/*
 * sk__lockdep_acquire()'s every case: a thread's first lock, a new class
 * or subclass, an untracked lock, a full stack, a write lock of an rwlock
 * this thread read-holds, a chain not in the cache.  Starts from scratch:
 * the fast path changed nothing.
 */
static SK_NOINLINE enum sk__ld_result acquire_slow(struct sk_lockdep_map *map, const void *lock,
						   unsigned int subclass, unsigned int flags,
						   const struct sk_callsite *cs, const void *ip)
{
	struct ld_site site = { cs, ip };
	struct ld_thread *t = ld_self;
	const struct ld_held *held;
	struct ld_held *h;
	unsigned int id, depth;
	uint64_t prev, key;

	if (sk_unlikely(!t || t->gen != RD(ld_gen))) {
		t = thread_get(site);
		if (!t)
			return SK__LD_UNTRACKED;
	}
	id = class_of(map, lock, subclass, flags, site);
	if (!id)
		return SK__LD_UNTRACKED;
	depth = t->depth;
	prev = depth ? t->held[depth - 1].chain_key : 0;

	/*
	 * Before the depth check: a full stack must not turn this refusal
	 * into a deadlock (the validator, out of capacity, would let the
	 * write lock through).  A refused entry may take the spare slot
	 * above LD_DEPTH; with that one taken too (a second refused write
	 * lock at full depth), the refusal still stands without an entry,
	 * and its unlock is reported as well.
	 */
	held = WRITE_LOCK(flags) ? read_held(t, depth, lock) : NULL;
	if (held) {
		if (depth <= LD_DEPTH) {
			h = &t->held[depth];
			*h = (struct ld_held){ prev, lock, site, (uint16_t)id, (uint8_t)flags, 1 };
			t->depth = depth + 1;
		}
		sk__violation(SK_VIOLATION_LOCK_RECURSION, lock, cs, ip,
			      "write_lock of rwlock \"%s\", which this thread holds for "
			      "reading (acquired at %s:%u): refused instead of deadlocking",
			      classes[id].name, held->site.cs ? held->site.cs->file : "?",
			      held->site.cs ? held->site.cs->line : 0);
		return SK__LD_REFUSED;
	}
	if (sk_unlikely(depth >= LD_DEPTH)) {
		struct ld_reports r;

		report_init(&r);
		exhaust(&r, "held-lock stack depth", LD_DEPTH, lock, site);
		reports_emit(&r);
		return SK__LD_UNTRACKED;
	}

	key = chain_next(prev, id, flags);
	if (!(flags & SK__LD_TRY) && !chain_find(key))
		validate(t, id, lock, flags, site, key);

	h = &t->held[depth];
	*h = (struct ld_held){ key, lock, site, (uint16_t)id, (uint8_t)flags, 0 };
	t->depth = depth + 1;
	return SK__LD_TRACKED;
}

/*
 * The validator's steady state, a repeated pattern: a known class at
 * subclass 0 pushed on a stack whose chain is in the cache.  Calls
 * nothing, so that it saves no registers; anything else is
 * acquire_slow()'s.
 */
enum sk__ld_result sk__lockdep_acquire(struct sk_lockdep_map *map, const void *lock,
				       unsigned int subclass, unsigned int flags,
				       const struct sk_callsite *cs, const void *ip)
{
	struct ld_thread *t = ld_self;
	unsigned int id, depth;
	uint64_t key;

	if (!RD(sk__lockdep_on))
		return SK__LD_UNTRACKED;
	if (sk_unlikely(!t || t->gen != RD(ld_gen) || subclass))
		return acquire_slow(map, lock, subclass, flags, cs, ip);
	id = __atomic_load_n(&map->class_id, __ATOMIC_ACQUIRE);
	if (sk_unlikely(id - 1 >= LD_UNTRACKED - 1))
		return acquire_slow(map, lock, subclass, flags, cs, ip);
	depth = t->depth;
	if (sk_unlikely(depth >= LD_DEPTH))
		return acquire_slow(map, lock, subclass, flags, cs, ip);
	if (WRITE_LOCK(flags) && sk_unlikely(read_held(t, depth, lock)))
		return acquire_slow(map, lock, subclass, flags, cs, ip);
	key = chain_next(depth ? t->held[depth - 1].chain_key : 0, id, flags);
	if (!(flags & SK__LD_TRY) && !chain_find(key))
		return acquire_slow(map, lock, subclass, flags, cs, ip);
	t->held[depth] = (struct ld_held){ key, lock, { cs, ip }, (uint16_t)id, (uint8_t)flags, 0 };
	t->depth = depth + 1;
	return SK__LD_TRACKED;
}

/* Removes entry @i; the entries above it get new chain keys and are
 * validated again in their new context (as the kernel's lockdep does). */
static void remove_entry(struct ld_thread *t, unsigned int i)
{
	struct ld_held above[LD_DEPTH];
	unsigned int n = t->depth - i - 1;

	if (n == 0) {
		t->depth = i;
		return;
	}
	if (t->held[i].refused) {
		/* A refused entry did not enter the chain keys. */
		memmove(&t->held[i], &t->held[i + 1], n * sizeof(t->held[0]));
		t->depth--;
		return;
	}
	memcpy(above, &t->held[i + 1], n * sizeof(above[0]));
	t->depth = i;
	for (unsigned int k = 0; k < n; k++) {
		struct ld_held *h = &above[k];
		uint64_t prev = t->depth ? t->held[t->depth - 1].chain_key : 0;

		if (h->refused) {
			h->chain_key = prev;
		} else {
			h->chain_key = chain_next(prev, h->class_id, h->flags);
			if (!(h->flags & SK__LD_TRY) && RD(sk__lockdep_on) && !chain_find(h->chain_key))
				validate(t, h->class_id, h->lock, h->flags, h->site, h->chain_key);
		}
		t->held[t->depth++] = *h;
	}
}

static enum sk__ld_release not_found(const struct sk_lockdep_map *map)
{
	return sk__lockdep_authoritative(map) ? SK__LD_REL_MISSING : SK__LD_REL_UNKNOWN;
}

enum sk__ld_release sk__lockdep_release(const struct sk_lockdep_map *map, const void *lock,
					unsigned int flags)
{
	struct ld_thread *t = thread_current();

	if (!t)
		return not_found(map);
	for (unsigned int i = t->depth; i-- > 0;) {
		const struct ld_held *h = &t->held[i];

		if (h->lock == lock && !h->refused &&
		    (h->flags & SK__LD_READ) == (flags & SK__LD_READ)) {
			if (sk_likely(i + 1 == t->depth))
				t->depth = i; /* the usual case: the top entry */
			else
				remove_entry(t, i);
			return SK__LD_REL_FOUND;
		}
	}
	return not_found(map);
}

bool sk__lockdep_release_refused(const void *lock)
{
	struct ld_thread *t = thread_current();

	if (!t)
		return false;
	for (unsigned int i = t->depth; i-- > 0;) {
		if (t->held[i].lock == lock && t->held[i].refused) {
			remove_entry(t, i);
			return true;
		}
	}
	return false;
}

int sk__lockdep_held_mode(const void *lock)
{
	struct ld_thread *t = thread_current();

	if (!t)
		return -1;
	for (unsigned int i = t->depth; i-- > 0;)
		if (t->held[i].lock == lock && !t->held[i].refused)
			return t->held[i].flags & SK__LD_READ;
	return -1;
}

const struct sk_callsite *sk__lockdep_held_site(const void *lock)
{
	struct ld_thread *t = thread_current();

	if (!t)
		return NULL;
	for (unsigned int i = t->depth; i-- > 0;)
		if (t->held[i].lock == lock && !t->held[i].refused)
			return t->held[i].site.cs;
	return NULL;
}

bool sk__lockdep_authoritative(const struct sk_lockdep_map *map)
{
	unsigned int id = RD(map->class_id);

	return RD(sk__lockdep_on) && RD(ld_complete) && id && id != LD_UNTRACKED && !ld_exited;
}

/*
 * Under helgrind and drd: declare each lock's owner word and class cache
 * benign races, once per lock.  Once matters: helgrind 3.19 loses track of
 * a pthread spinlock's state when the neighbouring owner word is declared
 * again and again while other threads use the lock (it then reports a
 * "recursive write lock granted").  A lock-free set of the owner words
 * done so far; the first thread to claim one annotates it while the others
 * wait for it to be published.
 */
#define ANNOTATED_SLOTS 4096U
static uintptr_t annotated[ANNOTATED_SLOTS];

void sk__lock_annotate(uintptr_t *owner, struct sk_lockdep_map *map)
{
	uintptr_t key = (uintptr_t)owner, v;
	uint32_t i = (uint32_t)mix64(key) & (ANNOTATED_SLOTS - 1);

	for (uint32_t n = 0; n < ANNOTATED_SLOTS;) {
		v = __atomic_load_n(&annotated[i], __ATOMIC_ACQUIRE);
		if (v == key)
			return;
		if (v == (key | 1)) {
			while (__atomic_load_n(&annotated[i], __ATOMIC_ACQUIRE) != key)
				sched_yield();
			return;
		}
		if (v == 0) {
			if (!__atomic_compare_exchange_n(&annotated[i], &v, key | 1, false,
							 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				continue; /* lost the slot: look at it again */
			break;
		}
		i = (i + 1) & (ANNOTATED_SLOTS - 1);
		n++;
	}
	/* Ours to annotate (or the set is full: annotate anyway). */
	SK_ANNOTATE_BENIGN_RACE_SIZED(owner, sizeof(*owner), "lock owner word");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&map->class_id, sizeof(map->class_id),
				      "validator class cache");
	if (v == 0)
		__atomic_store_n(&annotated[i], key, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------
 * Set-up, the switch, fork
 * ------------------------------------------------------------------------ */

static void fork_prepare(void)
{
	pthread_mutex_lock(&graph_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&graph_lock);
}

static void fork_child(void)
{
	pthread_mutex_unlock(&graph_lock);
}

/*
 * A program built with ThreadSanitizer: its lock.h calls the pthread
 * spinlock and mutex functions (which TSan intercepts), so this library
 * must too, or TSan never sees the unlocks it makes out of line; and every
 * lock operation goes out of line, so that a unit built without TSan in
 * the same process (or this library, built with it, beside a plain
 * program) never takes a lock word inline that TSan saw taken or released
 * by a pthread call.  The TSan runtime (gcc's libtsan, clang's static one)
 * exports __tsan_init.
 */
extern void __tsan_init(void) __attribute__((weak));

static bool under_tsan(void)
{
	return __tsan_init != NULL;
}

static bool under_helgrind(void)
{
#ifdef SK__ANNOTATE
	static char probe;

	/* 1 (one addressable byte) under helgrind; the default (-2) otherwise. */
	return RUNNING_ON_VALGRIND && (int)VALGRIND_HG_GET_ABITS(&probe, NULL, 1) == 1;
#else
	return false;
#endif
}

static void write_stderr(const char *msg, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, msg, len);

		if (n <= 0)
			return;
		msg += n;
		len -= (size_t)n;
	}
}

static int adds_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds))
		*(unsigned long long *)data = info->dlpi_adds;
	return 1; /* the counter is the loader's: one object is enough */
}

/* How many objects the loader has loaded so far (dlopen() adds to it). */
static unsigned long long objects_loaded(void)
{
	unsigned long long n = 0;

	dl_iterate_phdr(adds_cb, &n);
	return n;
}

static void ld_init(void)
{
	const char *env = getenv("SAFEKERN_LOCKDEP");
	int want = -1;

	ld_load_adds = objects_loaded();
	pthread_key_create(&ld_key, thread_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);

	/* Read without graph_lock by design (see the top of this file). */
	SK_ANNOTATE_BENIGN_RACE_SIZED(chain_keys, sizeof(chain_keys), "validator chain cache");
	SK_ANNOTATE_BENIGN_RACE_SIZED(annotated, sizeof(annotated), "annotated owner words");
	SK_ANNOTATE_BENIGN_RACE_SIZED(class_keys, sizeof(class_keys), "validator class hash");
	SK_ANNOTATE_BENIGN_RACE_SIZED(class_ids, sizeof(class_ids), "validator class hash");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&sk__lock_slow, sizeof(sk__lock_slow), "lock slow-path flag");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&sk__lockdep_on, sizeof(sk__lockdep_on), "validator switch");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&ld_gen, sizeof(ld_gen), "validator generation");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&ld_complete, sizeof(ld_complete), "validator state");

	WR(sk__lock_race_tool, under_helgrind() || sk__under_drd());
	/* lock.h's inline lock words would be wrong, or tools watch only the
	 * pthread calls: those calls alone, and everything out of line. */
	WR(sk__lock_calls_only,
	   sk__lock_words_foreign() | RD(sk__lock_race_tool) | (int)under_tsan());
	set_slow();

	if (env && env[0]) {
		if (!strcmp(env, "1")) {
			want = 1;
		} else if (!strcmp(env, "0")) {
			want = 0;
			WR(ld_forced_off, 1);
		} else {
			char msg[200];
			int n = snprintf(msg, sizeof(msg),
					 "libsafekern: invalid SAFEKERN_LOCKDEP=\"%.32s\" (expected 0 "
					 "or 1); ignored\n",
					 env);

			if (n > 0)
				write_stderr(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
		}
	}
	if (want == 1)
		(void)turn_on(true);
}

__attribute__((constructor)) static void ld_ctor(void)
{
	pthread_once(&ld_once, ld_init);
}

/*
 * A debug unit's constructor.  At start-up (or in the dlopen() that loads
 * the library itself) no lock can be held yet, so the validator sees every
 * acquisition; a unit dlopen()ed later, while the program may hold read
 * locks the validator never saw, turns it on as sk_lockdep_enable() does
 * (otherwise their unlocks would be reported and refused).
 */
void sk__lockdep_debug_unit(void)
{
	pthread_once(&ld_once, ld_init);
	/* Already on (every unit after the first): no loader walk. */
	if (!RD(ld_forced_off) && !RD(sk__lockdep_on))
		(void)turn_on(objects_loaded() == ld_load_adds);
}

int sk_lockdep_enable(void)
{
	pthread_once(&ld_once, ld_init);
	return turn_on(false);
}

int sk_lockdep_disable(void)
{
	struct ld_thread *t = thread_current();

	if (RD(sk__lockdep_on) && t) {
		for (unsigned int i = 0; i < t->depth; i++)
			if (!t->held[i].refused)
				return -EBUSY;
	}
	pthread_mutex_lock(&graph_lock);
	WR(sk__lockdep_on, 0);
	WR(ld_complete, 0);
	set_slow();
	pthread_mutex_unlock(&graph_lock);
	return 0;
}

bool sk_lockdep_enabled(void)
{
	return RD(sk__lockdep_on) != 0;
}
