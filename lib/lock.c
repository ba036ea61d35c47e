/* SPDX-License-Identifier: MIT */
/*
 * lib/lock.c - sk_mutex, sk_spinlock, sk_rwlock: the pthread call plus the
 * hardened owner checks, and the slow paths into the validator.
 *
 * The owner word
 * ==============
 *
 * Each lock records the thread that holds it exclusively: the thread
 * pointer (unique among live threads, aligned, so the low bits are free):
 *
 *   bit 0  OWNER_REFUSED  a relock by the owner was refused; dep_map.refused
 *                         counts the unlocks still to absorb
 *   bit 1  OWNER_TRACKED  the acquisition is on the validator's held-lock
 *                         stack; the unlock must pop it
 *
 * and OWNER_DESTROYED (both bits, no thread) poisons a destroyed mutex or
 * spinlock, whose lock word destroy also leaves busy: lock.h's inline
 * compare-and-swap fails, and the functions here report the use
 * (invalid_argument) and refuse it.  Without the poison an uncontended
 * lock of a destroyed mutex took the word silently, and a contended one
 * got EINVAL from pthread_mutex_lock(), which was ignored: two threads
 * in the critical section.
 *
 * The owner writes it after acquiring and clears it before releasing, so
 * "owner == me" is exact for the calling thread (it only ever sees its own
 * writes of its own value), and any other value means "not mine".  The
 * fast paths are therefore: lock = one predicted branch on sk__lock_slow,
 * a compare of the owner word, the lock word (the pthread call, or on
 * glibc x86 its word inline: lock.h), a store; unlock = the branch, a
 * compare of the owner word (which also catches OWNER_TRACKED and
 * OWNER_REFUSED: no separate flag load), a store, the lock word.  The
 * spinlock tries the lock first and reads the owner only when that fails,
 * since a spinlock's cost is all in the atomic operation.
 *
 * lock.h has the same fast paths inline (the owner word's encoding and
 * SELF() are defined there), and calls the functions here only for what
 * they filter out: the slow mode, a busy lock, a lock of ours, an unlock
 * that is not the owner's plain last one.  The functions here still start
 * with their own fast path: they are complete operations, which a program
 * built against an older lock.h calls for every lock and unlock
 * (tests/test-lock-ool.c runs the lock tests through them).
 *
 * The owner word is read without the lock (relaxed atomics, so TSan
 * agrees): helgrind and drd would call that a race, so under them every
 * operation takes the slow path, which declares the word benign first.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include <safekern/lock.h>
#ifdef SK__LOCK_WORD_INLINE
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include <safekern/annotate.h>
#include <safekern/violation.h>

#include "lockdep-internal.h"
#include "violation-internal.h"

/* The owner word is a cache line away from the lock word (lock.h). */
_Static_assert(offsetof(struct sk_mutex, owner) >= SK__LOCK_OWNER_GAP, "mutex owner word");
_Static_assert(offsetof(struct sk_spinlock, owner) >= SK__LOCK_OWNER_GAP, "spinlock owner word");
_Static_assert(offsetof(struct sk_rwlock, owner) >= SK__LOCK_OWNER_GAP, "rwlock owner word");

#define OWNER_REFUSED ((uintptr_t)1)
#define OWNER_TRACKED ((uintptr_t)2)
#define OWNER_FLAGS SK__LOCK_OWNER_FLAGS
/* A destroyed mutex or spinlock (lock.h): no thread's owner word. */
#define OWNER_DESTROYED SK__LOCK_OWNER_DESTROYED

/*
 * dep_map.refused (only the owner touches it): the refused relocks whose
 * unlocks are still to absorb (all of it for a mutex or spinlock).  An
 * rwlock counts its refused read locks (read after own write) apart, so
 * that each unlock absorbs one of its own kind: a write_unlock that comes
 * before the refused read's unlock (an attempted downgrade) ends the write
 * hold, but the lock stays held for the read (READ_OWED) and that
 * read_unlock releases it.
 *
 * A full field sticks (saturates, as a refcount does): the relocks beyond
 * it are not counted and every later unlock of that kind is absorbed, so
 * the lock stays held for good by its owner (leaked; the relock that fills
 * the field says so in its report), instead of the count running into the
 * next field and an unlock releasing a lock that is still owed (it did,
 * after 32768 refused read relocks of an rwlock, or 65536 write relocks).
 * A mutex or spinlock counts in all 32 bits, so it saturates only at
 * UINT_MAX.  With the read field full, the first write_unlock ends the
 * write hold (READ_OWED), a later one is reported as usual.
 */
#define REFUSED_WRITE 1U
#define REFUSED_WRITES 0xffffU
#define REFUSED_READ (1U << 16)
#define REFUSED_READS 0x7fff0000U
#define REFUSED_READ_OWED (1U << 31)

#define RD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WR(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The calling thread's identity: its thread pointer (== pthread_self() on
 * glibc), one register read on x86-64 and arm64; the same as lock.h's
 * inline fast paths use. */
#define SELF() sk__lock_self()

static const char *lock_name(const struct sk_lockdep_map *map)
{
	return map->name ? map->name : "(unnamed)";
}

/* Under helgrind or drd: declare the owner word a benign race (once). */
static void annotate(uintptr_t *owner, struct sk_lockdep_map *map)
{
	if (RD(sk__lock_race_tool))
		sk__lock_annotate(owner, map);
}

/*
 * The lock slow paths (every lock while the validator is on) come in three
 * parts: NAME_core() does the work, NAME_tool() declares the owner word a
 * benign race first and then calls it (under helgrind or drd), and
 * NAME_slow() picks one.  (The spinlock's two instances are one
 * always-inline body with a "tool" flag, since its wait differs too.)
 * With the annotation called from the core itself, the core kept all its
 * arguments in saved registers across that call: with the validator on, a
 * spinlock lock+unlock took 247 instructions instead of 221 (callgrind).
 */

/* ------------------------------------------------------------------------
 * Shared cold paths
 * ------------------------------------------------------------------------ */

/* The field of map->refused that counts relocks of @unit's kind: all of
 * it for a mutex or spinlock, a field of it for an rwlock. */
static inline unsigned int refused_mask(unsigned int unit, bool rwlock)
{
	if (!rwlock)
		return ~0U;
	return unit == REFUSED_READ ? REFUSED_READS : REFUSED_WRITES;
}

/* A relock by the owner: remember it so that its unlock is absorbed, then
 * report.  Only the owner touches map->refused. */
static SK_COLD SK_NOINLINE void refuse_recursion(uintptr_t *owner, struct sk_lockdep_map *map,
						 const void *lock, const char *what, unsigned int unit,
						 bool rwlock, const struct sk_callsite *cs,
						 const void *ip)
{
	const struct sk_callsite *first = RD(sk__lockdep_on) ? sk__lockdep_held_site(lock) : NULL;
	unsigned int mask = refused_mask(unit, rwlock);
	const char *full = "";

	if ((map->refused & mask) != mask) {
		map->refused += unit;
		if ((map->refused & mask) == mask)
			full = "; that is the most refused relocks not yet unlocked that are "
			       "counted: the lock is now held for good by this thread (leaked; "
			       "its unlocks are absorbed)";
	}
	WR(*owner, RD(*owner) | OWNER_REFUSED);
	if (first && first->file)
		sk__violation(SK_VIOLATION_LOCK_RECURSION, lock, cs, ip,
			      "%s \"%s\" is already held by this thread (acquired at %s:%u): "
			      "refused instead of deadlocking%s",
			      what, lock_name(map), first->file, first->line, full);
	else
		sk__violation(SK_VIOLATION_LOCK_RECURSION, lock, cs, ip,
			      "%s \"%s\" is already held by this thread: refused instead of "
			      "deadlocking%s",
			      what, lock_name(map), full);
}

static SK_COLD SK_NOINLINE void report_not_held(uintptr_t o, const struct sk_lockdep_map *map,
						const void *lock, const char *what, bool rwlock,
						const struct sk_callsite *cs, const void *ip)
{
	const char *why = o ? "another thread holds it" : "it is not locked";

	/* Readers are not recorded: only the validator knows of our own. */
	if (rwlock && !o)
		why = RD(sk__lockdep_on) && sk__lockdep_held_mode(lock) == (int)SK__LD_READ
			      ? "this thread holds it for reading"
			      : "nobody holds it for writing";
	sk__violation(SK_VIOLATION_LOCK_NOT_HELD, lock, cs, ip,
		      "%s of \"%s\", which this thread does not hold (%s): refused", what,
		      lock_name(map), why);
}

/* The owner's unlock of a lock whose relock was refused: absorbed. */
static void absorb_refused(uintptr_t *owner, struct sk_lockdep_map *map, uintptr_t o,
			   unsigned int unit, bool rwlock)
{
	unsigned int mask = refused_mask(unit, rwlock);

	if ((map->refused & mask) == mask)
		return; /* saturated: held for good */
	map->refused -= unit;
	if (map->refused == 0)
		WR(*owner, o & ~OWNER_REFUSED);
}

/*
 * The owner compare is not the whole story when a thread exited holding
 * the lock: its thread pointer stays in the owner word, and glibc may give
 * it to a new thread, which then passes the compare.  An acquisition the
 * validator tracked (OWNER_TRACKED) stays on its acquirer's held-lock
 * stack until the unlock: when the validator has seen every acquisition
 * of the lock and it is not on ours, this thread never took it.
 */
static SK_COLD SK_NOINLINE void report_dead_owner(const struct sk_lockdep_map *map,
						  const void *lock, const char *what,
						  const struct sk_callsite *cs, const void *ip)
{
	sk__violation(SK_VIOLATION_LOCK_NOT_HELD, lock, cs, ip,
		      "%s of \"%s\", which this thread never locked: a thread that exited "
		      "holding it had this thread's identity (its thread pointer, reused): "
		      "refused, the lock stays held",
		      what, lock_name(map));
}

/* Held under this thread's identity but, the validator is sure, not taken
 * by this thread (see report_dead_owner()); without popping anything. */
static bool not_our_acquisition(const struct sk_lockdep_map *map, const void *lock, uintptr_t o)
{
	return (o & OWNER_TRACKED) && RD(sk__lockdep_on) && sk__lockdep_held_mode(lock) < 0 &&
	       sk__lockdep_authoritative(map);
}

/* The owner's last unlock: the validator's entry (if any) and the owner
 * word.  False, after a report, if the validator says this thread never
 * took the lock (see report_dead_owner()): the lock then stays held. */
static bool owner_release(uintptr_t *owner, struct sk_lockdep_map *map, const void *lock,
			  uintptr_t o, const char *what, const struct sk_callsite *cs,
			  const void *ip)
{
	if ((o & OWNER_TRACKED) &&
	    sk_unlikely(sk__lockdep_release(map, lock, 0) == SK__LD_REL_MISSING)) {
		report_dead_owner(map, lock, what, cs, ip);
		return false;
	}
	WR(*owner, 0);
	return true;
}

static SK_COLD SK_NOINLINE void report_write_ended(const struct sk_lockdep_map *map,
						   const void *lock, const struct sk_callsite *cs,
						   const void *ip)
{
	sk__violation(SK_VIOLATION_LOCK_NOT_HELD, lock, cs, ip,
		      "write_unlock of \"%s\", whose write hold this thread already ended "
		      "(it is held only for a refused read lock): refused",
		      lock_name(map));
}

/*
 * Locks of a destroyed (or otherwise unusable) mutex or spinlock that this
 * thread was refused: the caller's matching unlock is absorbed without a
 * second report (one misuse, one report), as a refused relock's is.  A few
 * per thread, oldest overwritten; an unlock beyond them is reported too.
 * Each entry keeps the owner word the refusal saw: an unlock absorbs it
 * only while the word is the same (the lock still destroyed, or held by
 * the same other thread), so a refusal whose unlock never came cannot
 * hide a later misuse of the lock once it was initialised again or
 * changed hands (a review, 2026-11-26); the entry goes either way.
 */
#define REFUSED_LOCKS 4
static __thread struct { const void *lock; uintptr_t owner; } refused_locks[REFUSED_LOCKS]
	__attribute__((tls_model("initial-exec")));
static __thread unsigned int refused_next __attribute__((tls_model("initial-exec")));

static void note_refused_lock(const void *lock, uintptr_t o)
{
	unsigned int i = refused_next++ % REFUSED_LOCKS;

	refused_locks[i].lock = lock;
	refused_locks[i].owner = o;
}

static bool absorb_refused_lock(const void *lock, uintptr_t o)
{
	for (unsigned int i = 0; i < REFUSED_LOCKS; i++) {
		if (refused_locks[i].lock == lock) {
			refused_locks[i].lock = NULL;
			return refused_locks[i].owner == o;
		}
	}
	return false;
}

/* Use of a destroyed mutex or spinlock (owner word OWNER_DESTROYED). */
static SK_COLD SK_NOINLINE void report_destroyed(const struct sk_lockdep_map *map,
						 const void *lock, const char *what,
						 const struct sk_callsite *cs, const void *ip)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, lock, cs, ip,
		      "%s \"%s\", which was destroyed (initialise it again before use): refused",
		      what, lock_name(map));
}

/* A lock of a destroyed mutex or spinlock: reported, refused, and its
 * unlock to come absorbed (see refused_locks). */
static SK_COLD SK_NOINLINE void lock_destroyed(const struct sk_lockdep_map *map, const void *lock,
					       const char *what, const struct sk_callsite *cs,
					       const void *ip)
{
	report_destroyed(map, lock, what, cs, ip);
	note_refused_lock(lock, OWNER_DESTROYED);
}

static SK_COLD SK_NOINLINE void report_destroy_held(uintptr_t o, const struct sk_lockdep_map *map,
						    const void *lock, const char *what,
						    const struct sk_callsite *cs, const void *ip)
{
	sk__violation(SK_VIOLATION_LOCK_HELD, lock, cs, ip,
		      "destroying %s \"%s\" while %s holds it: refused, the lock is left as it was",
		      what, lock_name(map),
		      (o & ~OWNER_FLAGS) == SELF() ? "this thread" :
		      o ? "another thread" : "a thread");
}

static SK_COLD SK_NOINLINE unsigned int bad_subclass(unsigned int subclass, const void *lock,
						    const struct sk_callsite *cs, const void *ip)
{
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, lock, cs, ip,
		      "lock subclass %u out of range (0..%u): using 0", subclass,
		      SK_LOCKDEP_MAX_SUBCLASSES - 1);
	return 0;
}

static void init_lock(uintptr_t *owner, struct sk_lockdep_map *map, const char *name,
		      const struct sk_lock_class_key *key)
{
	*owner = 0;
	map->key = key;
	map->name = name;
	map->class_id = 0;
	map->refused = 0;
	/* Before other threads see the lock, where that is possible. */
	annotate(owner, map);
}

/* Exclusive unlock, slow path: not the owner, a refused relock to absorb,
 * or a validator entry to pop. */
static SK_ALWAYS_INLINE bool unlock_slow(uintptr_t *owner, struct sk_lockdep_map *map,
					 const void *lock, const char *what, bool rwlock,
					 const struct sk_callsite *cs, const void *ip)
{
	uintptr_t o = RD(*owner);

	if (sk_unlikely((o & ~OWNER_FLAGS) != SELF())) {
		/* The unlock that goes with a refused lock of an unusable one. */
		if (absorb_refused_lock(lock, o))
			return false;
		if (o == OWNER_DESTROYED) {
			report_destroyed(map, lock, rwlock ? "write_unlock of" : "unlock of", cs, ip);
			return false;
		}
		/* A write lock the validator refused (read-held by us) is absorbed,
		 * even if the validator went off since: one misuse, one report. */
		if (rwlock && sk__lockdep_release_refused(lock))
			return false;
		report_not_held(o, map, lock, what, rwlock, cs, ip);
		return false;
	}
	if (o & OWNER_REFUSED) {
		unsigned int r = map->refused;

		/* Not ours to absorb either (rare: the check costs a stack walk). */
		if (sk_unlikely(not_our_acquisition(map, lock, o))) {
			report_dead_owner(map, lock, what, cs, ip);
			return false;
		}

		if (!rwlock || (r & REFUSED_WRITES))
			absorb_refused(owner, map, o, REFUSED_WRITE, rwlock);
		else if ((r & REFUSED_READS) && !(r & REFUSED_READ_OWED))
			/* Still held: one refused read now owes the release (a
			 * saturated count stays full: held for good). */
			map->refused = ((r & REFUSED_READS) == REFUSED_READS ? r : r - REFUSED_READ) |
				       REFUSED_READ_OWED;
		else
			report_write_ended(map, lock, cs, ip);
		return false;
	}
	return owner_release(owner, map, lock, o, what, cs, ip);
}

/* ------------------------------------------------------------------------
 * Mutex
 * ------------------------------------------------------------------------ */

/*
 * The mutex word as lock.h's inline fast paths take it (where there is no
 * inline word, lock.h's macros are the pthread calls themselves), unless
 * sk__lock_calls_only (then the pthread calls).  A busy word is waited for
 * in pthread_mutex_lock().
 */
static SK_ALWAYS_INLINE int mutex_word_trylock(struct sk_mutex *m)
{
	if (sk_unlikely(RD(sk__lock_calls_only)))
		return pthread_mutex_trylock(&m->m) == 0;
	return sk__mutex_word_trylock(m);
}

/* 0, or the error of pthread_mutex_lock(), which took nothing (the
 * default type fails only with EINVAL: not an initialised mutex). */
static SK_ALWAYS_INLINE int mutex_word_lock(struct sk_mutex *m)
{
	int err;

	if (sk_unlikely(RD(sk__lock_calls_only)))
		return pthread_mutex_lock(&m->m);
	if (sk_likely(sk__mutex_word_trylock(m)))
		return 0;
	err = pthread_mutex_lock(&m->m);
#ifdef SK__LOCK_WORD_INLINE
	/* glibc counted a user, which the word's unlock does not give back
	 * (the owner field glibc set, it clears): as if the word took it. */
	if (sk_likely(err == 0))
		m->m.__data.__nusers--;
#endif
	return err;
}

static SK_ALWAYS_INLINE void mutex_word_unlock(struct sk_mutex *m)
{
	if (sk_unlikely(RD(sk__lock_calls_only)))
		pthread_mutex_unlock(&m->m);
	else
		sk__mutex_word_unlock(m);
}

void sk__mutex_wake(struct sk_mutex *m)
{
#ifdef SK__LOCK_WORD_INLINE
	/* glibc's waiters on a process-private mutex wait on a private futex.
	 * The word may be gone by now (its next owner freed it): an error is
	 * harmless, as in glibc, whose wake leaves errno alone too. */
	int err = errno;

	syscall(SYS_futex, &m->m.__data.__lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	errno = err;
#else
	(void)m;
#endif
}

/*
 * pthread_mutex_lock() refused the mutex (@err): destroyed (poisoned by
 * sk__mutex_destroy(), or by pthread_mutex_destroy() behind our back) or
 * never initialised.  The caller must not run as if it held the lock, and
 * must not be recorded as the owner: reported, refused.
 */
static SK_COLD SK_NOINLINE void mutex_refused(struct sk_mutex *m, int err, const char *what,
					      const struct sk_callsite *cs, const void *ip)
{
	if (RD(m->owner) == OWNER_DESTROYED) {
		report_destroyed(&m->dep_map, m, what, cs, ip);
		return;
	}
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, m, cs, ip,
		      "%s \"%s\" refused by the C library (error %d%s): refused, the lock is "
		      "not taken",
		      what, lock_name(&m->dep_map), err,
		      err == EINVAL ? ", EINVAL: not an initialised mutex (destroyed?)" : "");
}

/* A lock pthread_mutex_lock() refused: as mutex_refused(), and its unlock
 * to come absorbed (see refused_locks), as rdlock_refused() and
 * wrlock_refused() do for an rwlock. */
static SK_COLD SK_NOINLINE void mutex_lock_refused(struct sk_mutex *m, int err,
						   const struct sk_callsite *cs, const void *ip)
{
	mutex_refused(m, err, "lock of mutex", cs, ip);
	note_refused_lock(m, RD(m->owner));
}

/* A trylock that failed: busy, or destroyed (its word is left busy). */
static inline int mutex_trylock_failed(struct sk_mutex *m, const struct sk_callsite *cs,
				       const void *ip)
{
	if (sk_unlikely(RD(m->owner) == OWNER_DESTROYED))
		report_destroyed(&m->dep_map, m, "trylock of mutex", cs, ip);
	return 0;
}

void sk__mutex_init(struct sk_mutex *m, const char *name, const struct sk_lock_class_key *key)
{
	pthread_mutex_init(&m->m, NULL);
	init_lock(&m->owner, &m->dep_map, name, key);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__mutex_destroy(struct sk_mutex *m,
						    const struct sk_callsite *cs)
{
	uintptr_t o;
	int err = 0;

	annotate(&m->owner, &m->dep_map);
	o = RD(m->owner);
	if (sk_unlikely(o == OWNER_DESTROYED)) {
		report_destroyed(&m->dep_map, m, "destroy of mutex", cs, SK__RET_IP);
		return;
	}
	if (sk_unlikely(o || (err = pthread_mutex_trylock(&m->m)))) {
		if (err && err != EBUSY)
			mutex_refused(m, err, "destroy of mutex", cs, SK__RET_IP);
		else
			report_destroy_held(o, &m->dep_map, m, "mutex", cs, SK__RET_IP);
		return;
	}
	pthread_mutex_unlock(&m->m);
	pthread_mutex_destroy(&m->m);
	/* Poisoned until the next init (see OWNER_DESTROYED): the word busy
	 * for lock.h's inline compare-and-swap (glibc's calls fail on the
	 * kind its destroy set), where the library knows the word. */
#ifdef SK__LOCK_WORD_INLINE
	if (!RD(sk__lock_calls_only))
		__atomic_store_n(&m->m.__data.__lock, 1, __ATOMIC_RELAXED);
#endif
	WR(m->owner, OWNER_DESTROYED);
}

static SK_NOINLINE void mutex_lock_core(struct sk_mutex *m, unsigned int subclass,
					const struct sk_callsite *cs, const void *ip)
{
	uintptr_t self = SELF(), tracked = 0, o = RD(m->owner);
	int err;

	if (sk_unlikely((o ^ self) <= OWNER_FLAGS)) { /* sk__lock_is_mine() */
		refuse_recursion(&m->owner, &m->dep_map, m, "mutex", REFUSED_WRITE, false, cs,
				 ip);
		return;
	}
	/* Before the validator, which would judge the acquisition too. */
	if (sk_unlikely(o == OWNER_DESTROYED)) {
		lock_destroyed(&m->dep_map, m, "lock of mutex", cs, ip);
		return;
	}
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&m->dep_map, m, subclass, 0, cs, ip) == SK__LD_TRACKED)
		tracked = OWNER_TRACKED;
	err = mutex_word_lock(m);
	if (sk_unlikely(err)) {
		if (tracked)
			(void)sk__lockdep_release(&m->dep_map, m, 0);
		mutex_lock_refused(m, err, cs, ip);
		return;
	}
	WR(m->owner, self | tracked);
}

static SK_COLD SK_NOINLINE void mutex_lock_tool(struct sk_mutex *m, unsigned int subclass,
						const struct sk_callsite *cs, const void *ip)
{
	sk__lock_annotate(&m->owner, &m->dep_map);
	mutex_lock_core(m, subclass, cs, ip);
}

static inline void mutex_lock_slow(struct sk_mutex *m, unsigned int subclass,
				   const struct sk_callsite *cs, const void *ip)
{
	if (sk_unlikely(RD(sk__lock_race_tool)))
		mutex_lock_tool(m, subclass, cs, ip);
	else
		mutex_lock_core(m, subclass, cs, ip);
}

static SK_NOINLINE void mutex_lock_plain(struct sk_mutex *m, const struct sk_callsite *cs,
					 const void *ip)
{
	uintptr_t self = SELF();
	int err;

	if (sk_unlikely(sk__lock_is_mine(m, self))) {
		mutex_lock_core(m, 0, cs, ip); /* ours: refused there */
		return;
	}
	/* A destroyed mutex fails here too: its word is busy and glibc
	 * refuses the kind its destroy set. */
	err = mutex_word_lock(m);
	if (sk_unlikely(err)) {
		mutex_lock_refused(m, err, cs, ip);
		return;
	}
	WR(m->owner, self);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__mutex_lock(struct sk_mutex *m, const struct sk_callsite *cs)
{
	/* Tail calls only: the slow mode needs no stack frame here. */
	if (sk_unlikely(RD(sk__lock_slow)))
		mutex_lock_slow(m, 0, cs, SK__RET_IP);
	else
		mutex_lock_plain(m, cs, SK__RET_IP);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__mutex_lock_nested(struct sk_mutex *m, unsigned int subclass,
							const struct sk_callsite *cs)
{
	if (sk_unlikely(subclass >= SK_LOCKDEP_MAX_SUBCLASSES))
		subclass = bad_subclass(subclass, m, cs, SK__RET_IP);
	mutex_lock_slow(m, subclass, cs, SK__RET_IP);
}

static SK_NOINLINE int mutex_trylock_slow(struct sk_mutex *m, const struct sk_callsite *cs,
					  const void *ip)
{
	uintptr_t tracked = 0;

	annotate(&m->owner, &m->dep_map);
	if (!mutex_word_trylock(m))
		return mutex_trylock_failed(m, cs, ip);
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&m->dep_map, m, 0, SK__LD_TRY, cs, ip) == SK__LD_TRACKED)
		tracked = OWNER_TRACKED;
	WR(m->owner, SELF() | tracked);
	return 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS int sk__mutex_trylock(struct sk_mutex *m, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(sk__lock_slow)))
		return mutex_trylock_slow(m, cs, SK__RET_IP);
	if (!mutex_word_trylock(m))
		return mutex_trylock_failed(m, cs, SK__RET_IP);
	WR(m->owner, SELF());
	return 1;
}

static SK_NOINLINE void mutex_unlock_slow(struct sk_mutex *m, const struct sk_callsite *cs,
					  const void *ip)
{
	if (unlock_slow(&m->owner, &m->dep_map, m, "unlock", false, cs, ip))
		mutex_word_unlock(m);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__mutex_unlock(struct sk_mutex *m, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(m->owner) != SELF())) {
		mutex_unlock_slow(m, cs, SK__RET_IP);
		return;
	}
	WR(m->owner, 0);
	mutex_word_unlock(m);
}

/*
 * lock.h's fast paths take and release glibc's lock words inline
 * (SK__LOCK_WORD_INLINE, described there).  Checked here against the
 * pthread calls, once at load: on a mismatch every lock operation goes out
 * of line (sk__lock_slow), where only the pthread calls touch the words.
 * Nonzero if either word differs from what lock.h assumes.
 */
#ifdef SK__LOCK_WORD_INLINE
static int spin_word_foreign(void)
{
	pthread_spinlock_t w;
	int bad;

	if (pthread_spin_init(&w, PTHREAD_PROCESS_PRIVATE))
		return 1;
	bad = w != SK__SPIN_UNLOCKED || pthread_spin_trylock(&w) != 0;
	if (!bad) {
		bad = w != 0;
		pthread_spin_unlock(&w);
		bad |= w != SK__SPIN_UNLOCKED;
	}
	pthread_spin_destroy(&w);
	return bad;
}

/* Also foreign: a mutex glibc elides (lock elision leaves the word 0 and
 * marks the kind), since only glibc's unlock can end the transaction. */
static int mutex_word_foreign(void)
{
	struct sk_mutex t;
	int bad;

	if (pthread_mutex_init(&t.m, NULL))
		return 1;
	/* The pthread calls as the word sees them. */
	bad = t.m.__data.__lock != 0 || t.m.__data.__kind != 0 || pthread_mutex_lock(&t.m) != 0;
	if (!bad) {
		/* Held: glibc recorded an owner and counted a user, which the
		 * word's unlock clears and the library gives back. */
		bad = t.m.__data.__lock != 1 || t.m.__data.__kind != 0 ||
		      t.m.__data.__owner == 0 || t.m.__data.__nusers != 1;
		pthread_mutex_unlock(&t.m);
		bad |= t.m.__data.__lock != 0 || t.m.__data.__owner != 0 ||
		       t.m.__data.__nusers != 0;
	}
	/* The word as the pthread calls see it. */
	if (!bad && sk__mutex_word_trylock(&t)) {
		bad = pthread_mutex_trylock(&t.m) != EBUSY;
		sk__mutex_word_unlock(&t);
		if (pthread_mutex_trylock(&t.m) == 0)
			pthread_mutex_unlock(&t.m);
		else
			bad = 1;
	} else {
		bad = 1;
	}
	pthread_mutex_destroy(&t.m);
	return bad;
}
#endif

int sk__lock_words_foreign(void)
{
#ifdef SK__LOCK_WORD_INLINE
	return spin_word_foreign() | mutex_word_foreign();
#else
	return 0;
#endif
}

/* ------------------------------------------------------------------------
 * Spinlock
 * ------------------------------------------------------------------------ */

/* The lock word as lock.h's inline fast paths take it (where there is no
 * inline word, lock.h's macros are the pthread calls themselves), unless
 * sk__lock_calls_only (then the pthread calls).  1 if taken. */
static SK_ALWAYS_INLINE int spin_word_trylock(struct sk_spinlock *l)
{
	if (sk_unlikely(RD(sk__lock_calls_only)))
		return pthread_spin_trylock(&l->l) == 0;
	return sk__spin_word_trylock(l);
}

static SK_ALWAYS_INLINE void spin_word_unlock(struct sk_spinlock *l)
{
	if (sk_unlikely(RD(sk__lock_calls_only)))
		pthread_spin_unlock(&l->l);
	else
		sk__spin_word_unlock(l);
}

void sk__spin_lock_init(struct sk_spinlock *l, const char *name, const struct sk_lock_class_key *key)
{
	pthread_spin_init(&l->l, PTHREAD_PROCESS_PRIVATE);
	init_lock(&l->owner, &l->dep_map, name, key);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__spin_lock_destroy(struct sk_spinlock *l,
							const struct sk_callsite *cs)
{
	uintptr_t o;

	annotate(&l->owner, &l->dep_map);
	o = RD(l->owner);
	if (sk_unlikely(o == OWNER_DESTROYED)) {
		report_destroyed(&l->dep_map, l, "destroy of spinlock", cs, SK__RET_IP);
		return;
	}
	if (sk_unlikely(o || pthread_spin_trylock(&l->l))) {
		report_destroy_held(o, &l->dep_map, l, "spinlock", cs, SK__RET_IP);
		return;
	}
	pthread_spin_unlock(&l->l);
	pthread_spin_destroy(&l->l);
	/* Poisoned until the next init (see OWNER_DESTROYED), the word busy
	 * (an int, as SK_SPINLOCK_INITIALIZER() has it): a pthread spinlock
	 * stays usable after glibc's destroy, which does nothing, and a use
	 * of a destroyed one would otherwise go unreported. */
	__atomic_store_n(&l->l, SK__SPIN_UNLOCKED ? 0 : 1, __ATOMIC_RELAXED);
	WR(l->owner, OWNER_DESTROYED);
}

/* A trylock that failed: busy, or destroyed (its word is left busy). */
static inline int spin_trylock_failed(struct sk_spinlock *l, const struct sk_callsite *cs,
				      const void *ip)
{
	if (sk_unlikely(RD(l->owner) == OWNER_DESTROYED))
		report_destroyed(&l->dep_map, l, "trylock of spinlock", cs, ip);
	return 0;
}

/*
 * A spinlock that was never initialised (no name, no class key: zeroed
 * memory) and whose word is busy: where the C library's unlocked value is
 * not 0 (glibc on x86), zeroed memory is a held spinlock that nobody will
 * release, and the wait never ends.  Reported before the wait (unless the
 * validator has reported it already), so that the hang is not silent.
 */
static SK_COLD SK_NOINLINE void spin_uninitialised(struct sk_spinlock *l, uintptr_t tracked,
						   const struct sk_callsite *cs, const void *ip)
{
	if (SK__SPIN_UNLOCKED == 0 || l->dep_map.name || l->dep_map.key)
		return;
	if (RD(sk__lockdep_on) && !tracked)
		return; /* the validator reported the lock with no class */
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, l, cs, ip,
		      "spinlock %p was never initialised (sk_spin_lock_init(), "
		      "SK_DEFINE_SPINLOCK()): zeroed memory is a held spinlock to this C "
		      "library, so this wait cannot end unless the lock is initialised",
		      (void *)l);
}

/*
 * The body of a spinlock acquisition outside the fast path; @tool: under
 * helgrind or drd, where the owner word is first declared a benign race,
 * and a busy lock is waited for with trylock and sched_yield(): valgrind
 * runs one thread at a time, so spinning only burns the time slice, and
 * helgrind 3.19's model of glibc's x86 pthread_spin_lock (whose unlock is
 * the same function as its init) was seen to go wrong with it ("recursive
 * write lock granted") where trylock does not.  Two instances, so that the
 * common one (the validator on) keeps few values across its calls.
 */
static SK_ALWAYS_INLINE void spin_lock_body(struct sk_spinlock *l, unsigned int subclass,
					    const struct sk_callsite *cs, const void *ip, bool tool)
{
	uintptr_t self = SELF(), tracked = 0, o;

	if (tool)
		sk__lock_annotate(&l->owner, &l->dep_map);
	o = RD(l->owner);
	if (sk_unlikely((o ^ self) <= OWNER_FLAGS)) { /* sk__lock_is_mine() */
		refuse_recursion(&l->owner, &l->dep_map, l, "spinlock", REFUSED_WRITE, false, cs,
				 ip);
		return;
	}
	/* Its word is busy for good: refused before the wait (and before the
	 * validator, which would judge the acquisition too). */
	if (sk_unlikely(o == OWNER_DESTROYED)) {
		lock_destroyed(&l->dep_map, l, "lock of spinlock", cs, ip);
		return;
	}
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&l->dep_map, l, subclass, 0, cs, ip) == SK__LD_TRACKED)
		tracked = OWNER_TRACKED;
	if (tool) {
		if (pthread_spin_trylock(&l->l)) {
			spin_uninitialised(l, tracked, cs, ip);
			while (pthread_spin_trylock(&l->l))
				sched_yield();
		}
	} else if (!spin_word_trylock(l)) {
		spin_uninitialised(l, tracked, cs, ip);
		pthread_spin_lock(&l->l);
	}
	WR(l->owner, self | tracked);
}

static SK_COLD SK_NOINLINE void spin_lock_tool(struct sk_spinlock *l, unsigned int subclass,
					       const struct sk_callsite *cs, const void *ip)
{
	spin_lock_body(l, subclass, cs, ip, true);
}

static SK_NOINLINE void spin_lock_slow(struct sk_spinlock *l, unsigned int subclass,
				       const struct sk_callsite *cs, const void *ip)
{
	if (sk_unlikely(RD(sk__lock_race_tool))) {
		spin_lock_tool(l, subclass, cs, ip);
		return;
	}
	spin_lock_body(l, subclass, cs, ip, false);
}

static SK_NOINLINE void spin_lock_try(struct sk_spinlock *l, const struct sk_callsite *cs,
				      const void *ip)
{
	if (sk_unlikely(!spin_word_trylock(l))) {
		/* Busy (or ours: the slow path tells which). */
		spin_lock_slow(l, 0, cs, ip);
		return;
	}
	WR(l->owner, SELF());
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__spin_lock(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	/* Two tail calls: the slow mode (which lock.h's inline path sends
	 * here) needs no stack frame of this function's. */
	if (sk_unlikely(RD(sk__lock_slow)))
		spin_lock_slow(l, 0, cs, SK__RET_IP);
	else
		spin_lock_try(l, cs, SK__RET_IP);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__spin_lock_nested(struct sk_spinlock *l, unsigned int subclass,
						       const struct sk_callsite *cs)
{
	if (sk_unlikely(subclass >= SK_LOCKDEP_MAX_SUBCLASSES))
		subclass = bad_subclass(subclass, l, cs, SK__RET_IP);
	spin_lock_slow(l, subclass, cs, SK__RET_IP);
}

static SK_NOINLINE int spin_trylock_slow(struct sk_spinlock *l, const struct sk_callsite *cs,
					 const void *ip)
{
	uintptr_t tracked = 0;

	annotate(&l->owner, &l->dep_map);
	if (!spin_word_trylock(l))
		return spin_trylock_failed(l, cs, ip);
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&l->dep_map, l, 0, SK__LD_TRY, cs, ip) == SK__LD_TRACKED)
		tracked = OWNER_TRACKED;
	WR(l->owner, SELF() | tracked);
	return 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS int sk__spin_trylock(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(sk__lock_slow)))
		return spin_trylock_slow(l, cs, SK__RET_IP);
	if (!spin_word_trylock(l))
		return spin_trylock_failed(l, cs, SK__RET_IP);
	WR(l->owner, SELF());
	return 1;
}

static SK_NOINLINE void spin_unlock_slow(struct sk_spinlock *l, const struct sk_callsite *cs,
					 const void *ip)
{
	if (unlock_slow(&l->owner, &l->dep_map, l, "unlock", false, cs, ip))
		spin_word_unlock(l);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__spin_unlock(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(l->owner) != SELF())) {
		spin_unlock_slow(l, cs, SK__RET_IP);
		return;
	}
	WR(l->owner, 0);
	spin_word_unlock(l);
}

/* ------------------------------------------------------------------------
 * Reader-writer lock
 * ------------------------------------------------------------------------ */

void sk__rwlock_init(struct sk_rwlock *rw, const char *name, const struct sk_lock_class_key *key)
{
	pthread_rwlock_init(&rw->rw, NULL);
	init_lock(&rw->owner, &rw->dep_map, name, key);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__rwlock_destroy(struct sk_rwlock *rw,
						     const struct sk_callsite *cs)
{
	uintptr_t o;

	annotate(&rw->owner, &rw->dep_map);
	o = RD(rw->owner);
	/* Readers are not recorded: taking it for writing proves nobody holds it. */
	if (sk_unlikely(o || pthread_rwlock_trywrlock(&rw->rw))) {
		report_destroy_held(o, &rw->dep_map, rw, "rwlock", cs, SK__RET_IP);
		return;
	}
	pthread_rwlock_unlock(&rw->rw);
	pthread_rwlock_destroy(&rw->rw);
}

/*
 * pthread_rwlock_wrlock() refused the lock (@err), having taken nothing:
 * EDEADLK when glibc records this thread as the writer, which the owner
 * word does not (a writer exited holding the lock and its thread ID came
 * back as ours: see rdlock_refused()).  The caller must not run as if it
 * held the lock, nor be recorded as the owner: reported, refused.
 */
static SK_COLD SK_NOINLINE void wrlock_refused(struct sk_rwlock *rw, int err,
					       const struct sk_callsite *cs, const void *ip)
{
	sk__violation(err == EDEADLK ? SK_VIOLATION_LOCK_RECURSION : SK_VIOLATION_INVALID_ARGUMENT,
		      rw, cs, ip,
		      "write_lock of \"%s\" refused by the C library (error %d%s): refused, the "
		      "lock is not taken",
		      lock_name(&rw->dep_map), err,
		      err == EDEADLK ? ", EDEADLK: it records this thread as the writer" : "");
	note_refused_lock(rw, RD(rw->owner)); /* its write_unlock is absorbed */
}

static SK_NOINLINE void write_lock_core(struct sk_rwlock *rw, unsigned int subclass,
					const struct sk_callsite *cs, const void *ip)
{
	uintptr_t self = SELF(), tracked = 0;
	int err;

	if (sk_unlikely(sk__lock_is_mine(rw, self))) {
		refuse_recursion(&rw->owner, &rw->dep_map, rw, "rwlock (write)", REFUSED_WRITE, true,
				 cs, ip);
		return;
	}
	if (RD(sk__lockdep_on)) {
		switch (sk__lockdep_acquire(&rw->dep_map, rw, subclass, SK__LD_RWLOCK, cs, ip)) {
		case SK__LD_REFUSED:
			return; /* read-held by this thread: reported, not locked */
		case SK__LD_TRACKED:
			tracked = OWNER_TRACKED;
			break;
		case SK__LD_UNTRACKED:
			break;
		}
	}
	err = pthread_rwlock_wrlock(&rw->rw);
	if (sk_unlikely(err)) {
		if (tracked)
			(void)sk__lockdep_release(&rw->dep_map, rw, 0);
		wrlock_refused(rw, err, cs, ip);
		return;
	}
	WR(rw->owner, self | tracked);
}

static SK_COLD SK_NOINLINE void write_lock_tool(struct sk_rwlock *rw, unsigned int subclass,
						const struct sk_callsite *cs, const void *ip)
{
	sk__lock_annotate(&rw->owner, &rw->dep_map);
	write_lock_core(rw, subclass, cs, ip);
}

static inline void write_lock_slow(struct sk_rwlock *rw, unsigned int subclass,
				   const struct sk_callsite *cs, const void *ip)
{
	if (sk_unlikely(RD(sk__lock_race_tool)))
		write_lock_tool(rw, subclass, cs, ip);
	else
		write_lock_core(rw, subclass, cs, ip);
}

static SK_NOINLINE void write_lock_plain(struct sk_rwlock *rw, const struct sk_callsite *cs,
					 const void *ip)
{
	uintptr_t self = SELF();
	int err;

	if (sk_unlikely(sk__lock_is_mine(rw, self))) {
		write_lock_core(rw, 0, cs, ip); /* ours: refused there */
		return;
	}
	err = pthread_rwlock_wrlock(&rw->rw);
	if (sk_unlikely(err)) {
		wrlock_refused(rw, err, cs, ip);
		return;
	}
	WR(rw->owner, self);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__write_lock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	/* Tail calls only: the slow mode needs no stack frame here. */
	if (sk_unlikely(RD(sk__lock_slow)))
		write_lock_slow(rw, 0, cs, SK__RET_IP);
	else
		write_lock_plain(rw, cs, SK__RET_IP);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__write_lock_nested(struct sk_rwlock *rw, unsigned int subclass,
							const struct sk_callsite *cs)
{
	if (sk_unlikely(subclass >= SK_LOCKDEP_MAX_SUBCLASSES))
		subclass = bad_subclass(subclass, rw, cs, SK__RET_IP);
	write_lock_slow(rw, subclass, cs, SK__RET_IP);
}

static SK_NOINLINE int write_trylock_slow(struct sk_rwlock *rw, const struct sk_callsite *cs,
					  const void *ip)
{
	uintptr_t tracked = 0;

	annotate(&rw->owner, &rw->dep_map);
	if (pthread_rwlock_trywrlock(&rw->rw))
		return 0;
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&rw->dep_map, rw, 0, SK__LD_TRY | SK__LD_RWLOCK, cs, ip) ==
		    SK__LD_TRACKED)
		tracked = OWNER_TRACKED;
	WR(rw->owner, SELF() | tracked);
	return 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS int sk__write_trylock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(sk__lock_slow)))
		return write_trylock_slow(rw, cs, SK__RET_IP);
	if (pthread_rwlock_trywrlock(&rw->rw))
		return 0;
	WR(rw->owner, SELF());
	return 1;
}

static SK_NOINLINE void write_unlock_slow(struct sk_rwlock *rw, const struct sk_callsite *cs,
					  const void *ip)
{
	if (unlock_slow(&rw->owner, &rw->dep_map, rw, "write_unlock", true, cs, ip))
		pthread_rwlock_unlock(&rw->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__write_unlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(rw->owner) != SELF())) {
		write_unlock_slow(rw, cs, SK__RET_IP);
		return;
	}
	WR(rw->owner, 0);
	pthread_rwlock_unlock(&rw->rw);
}

/*
 * A read lock the C library refused.  glibc's pthread_rwlock_rdlock() fails
 * with EAGAIN when the reader count is at its limit (2^28 read holds at
 * once), which only leaked read locks reach: returning would let the
 * caller run without the lock, so it is reported once and then waited for,
 * polling every millisecond, as a writer waits for those readers (forever,
 * if this thread leaked them itself).  The wait is not a cancellation
 * point, and errno is kept.  Any other error (EDEADLK: glibc records this
 * thread as the writer, which the owner word does not, e.g. after a
 * writer exited holding the lock and its thread ID was reused) cannot
 * clear by waiting: reported, and the read lock is refused; no other
 * writer can take the lock while glibc records one.
 */
static SK_COLD SK_NOINLINE bool rdlock_refused(struct sk_rwlock *rw, int err,
					       const struct sk_callsite *cs, const void *ip)
{
	const struct timespec ms = { 0, 1000000 };
	int saved_errno = errno, cancel;

	if (err == EAGAIN) {
		sk__violation(SK_VIOLATION_LOCK_HELD, rw, cs, ip,
			      "read_lock of \"%s\" refused by the C library (EAGAIN): its reader "
			      "count is at the limit, read locks leaked?; waiting until it is granted",
			      lock_name(&rw->dep_map));
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
		do {
			nanosleep(&ms, NULL);
			err = pthread_rwlock_rdlock(&rw->rw);
		} while (err == EAGAIN);
		pthread_setcancelstate(cancel, NULL);
	}
	if (err != 0)
		sk__violation(err == EDEADLK ? SK_VIOLATION_LOCK_RECURSION
					     : SK_VIOLATION_INVALID_ARGUMENT,
			      rw, cs, ip,
			      "read_lock of \"%s\" refused by the C library (error %d%s): "
			      "refused, the lock is not taken",
			      lock_name(&rw->dep_map), err,
			      err == EDEADLK ? ", EDEADLK: it records this thread as the writer" : "");
	if (err)
		note_refused_lock(rw, RD(rw->owner)); /* its read_unlock is absorbed */
	errno = saved_errno;
	return err == 0;
}

/* pthread_rwlock_rdlock(), its refusals reported (see rdlock_refused());
 * false if refused. */
static inline bool rdlock(struct sk_rwlock *rw, const struct sk_callsite *cs, const void *ip)
{
	int err = pthread_rwlock_rdlock(&rw->rw);

	return sk_likely(err == 0) || rdlock_refused(rw, err, cs, ip);
}

static SK_NOINLINE void read_lock_core(struct sk_rwlock *rw, unsigned int subclass,
				       const struct sk_callsite *cs, const void *ip)
{
	if (sk_unlikely(sk__lock_is_mine(rw, SELF()))) {
		/* The write lock is ours: a read lock would deadlock. */
		refuse_recursion(&rw->owner, &rw->dep_map, rw, "rwlock (read after write)",
				 REFUSED_READ, true, cs, ip);
		return;
	}
	if (RD(sk__lockdep_on) &&
	    sk__lockdep_acquire(&rw->dep_map, rw, subclass, SK__LD_READ | SK__LD_RWLOCK, cs, ip) ==
		    SK__LD_TRACKED) {
		if (sk_unlikely(!rdlock(rw, cs, ip)))
			(void)sk__lockdep_release(&rw->dep_map, rw, SK__LD_READ); /* refused */
		return;
	}
	(void)rdlock(rw, cs, ip);
}

static SK_COLD SK_NOINLINE void read_lock_tool(struct sk_rwlock *rw, unsigned int subclass,
					       const struct sk_callsite *cs, const void *ip)
{
	sk__lock_annotate(&rw->owner, &rw->dep_map);
	read_lock_core(rw, subclass, cs, ip);
}

static inline void read_lock_slow(struct sk_rwlock *rw, unsigned int subclass,
				  const struct sk_callsite *cs, const void *ip)
{
	if (sk_unlikely(RD(sk__lock_race_tool)))
		read_lock_tool(rw, subclass, cs, ip);
	else
		read_lock_core(rw, subclass, cs, ip);
}

static SK_NOINLINE void read_lock_plain(struct sk_rwlock *rw, const struct sk_callsite *cs,
					const void *ip)
{
	if (sk_unlikely(sk__lock_is_mine(rw, SELF()))) {
		read_lock_core(rw, 0, cs, ip); /* write-held by us: refused there */
		return;
	}
	(void)rdlock(rw, cs, ip);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__read_lock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	/* Tail calls only: the slow mode needs no stack frame here. */
	if (sk_unlikely(RD(sk__lock_slow)))
		read_lock_slow(rw, 0, cs, SK__RET_IP);
	else
		read_lock_plain(rw, cs, SK__RET_IP);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__read_lock_nested(struct sk_rwlock *rw, unsigned int subclass,
						       const struct sk_callsite *cs)
{
	if (sk_unlikely(subclass >= SK_LOCKDEP_MAX_SUBCLASSES))
		subclass = bad_subclass(subclass, rw, cs, SK__RET_IP);
	read_lock_slow(rw, subclass, cs, SK__RET_IP);
}

static SK_NOINLINE int read_trylock_slow(struct sk_rwlock *rw, const struct sk_callsite *cs,
					 const void *ip)
{
	annotate(&rw->owner, &rw->dep_map);
	if (pthread_rwlock_tryrdlock(&rw->rw))
		return 0;
	if (RD(sk__lockdep_on))
		(void)sk__lockdep_acquire(&rw->dep_map, rw, 0,
					  SK__LD_READ | SK__LD_TRY | SK__LD_RWLOCK, cs, ip);
	return 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS int sk__read_trylock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(sk__lock_slow)))
		return read_trylock_slow(rw, cs, SK__RET_IP);
	return pthread_rwlock_tryrdlock(&rw->rw) == 0;
}

/* Nobody holds @rw at all: then a read_unlock is certainly unbalanced. */
static bool rwlock_unheld(struct sk_rwlock *rw)
{
	if (pthread_rwlock_trywrlock(&rw->rw))
		return false;
	pthread_rwlock_unlock(&rw->rw);
	return true;
}

static SK_NOINLINE void read_unlock_slow(struct sk_rwlock *rw, const struct sk_callsite *cs,
					 const void *ip)
{
	uintptr_t o;

	annotate(&rw->owner, &rw->dep_map);
	o = RD(rw->owner);
	if (sk_unlikely(o)) {
		if ((o & ~OWNER_FLAGS) == SELF() && (o & OWNER_REFUSED)) {
			unsigned int r = rw->dep_map.refused;

			if (sk_unlikely(not_our_acquisition(&rw->dep_map, rw, o))) {
				report_dead_owner(&rw->dep_map, rw, "read_unlock", cs, ip);
				return;
			}
			if (r & REFUSED_READS) {
				absorb_refused(&rw->owner, &rw->dep_map, o, REFUSED_READ, true);
				return;
			}
			if (r == REFUSED_READ_OWED) {
				/* The write hold ended before this refused read's
				 * unlock: it is the last one, and releases. */
				if (!owner_release(&rw->owner, &rw->dep_map, rw, o, "read_unlock",
						   cs, ip))
					return;
				rw->dep_map.refused = 0;
				pthread_rwlock_unlock(&rw->rw);
				return;
			}
		}
		/* The read_unlock that goes with a read lock glibc refused. */
		if (absorb_refused_lock(rw, o))
			return;
		sk__violation(SK_VIOLATION_LOCK_NOT_HELD, rw, cs, ip,
			      "read_unlock of \"%s\" while %s holds it for writing: refused",
			      lock_name(&rw->dep_map),
			      (o & ~OWNER_FLAGS) == SELF() ? "this thread" : "another thread");
		return;
	}
	if (RD(sk__lockdep_on)) {
		switch (sk__lockdep_release(&rw->dep_map, rw, SK__LD_READ)) {
		case SK__LD_REL_FOUND:
			break;
		case SK__LD_REL_MISSING:
			sk__violation(SK_VIOLATION_LOCK_NOT_HELD, rw, cs, ip,
				      "read_unlock of \"%s\", which this thread has not read-locked: "
				      "refused",
				      lock_name(&rw->dep_map));
			return;
		case SK__LD_REL_UNKNOWN:
			/* Maybe read-locked before the validator was on; certain only
			 * if nobody holds it at all. */
			if (rwlock_unheld(rw)) {
				sk__violation(SK_VIOLATION_LOCK_NOT_HELD, rw, cs, ip,
					      "read_unlock of \"%s\", which nobody holds: refused",
					      lock_name(&rw->dep_map));
				return;
			}
			break;
		}
	}
	pthread_rwlock_unlock(&rw->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void sk__read_unlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	if (sk_unlikely(RD(sk__lock_slow)) || sk_unlikely(RD(rw->owner) != 0)) {
		read_unlock_slow(rw, cs, SK__RET_IP);
		return;
	}
	pthread_rwlock_unlock(&rw->rw);
}

/* ------------------------------------------------------------------------
 * Assertions (called from -DSK_DEBUG units)
 * ------------------------------------------------------------------------ */

static SK_COLD SK_NOINLINE void report_assert(bool held, const struct sk_lockdep_map *map,
					      const void *lock, const char *how,
					      const struct sk_callsite *cs, const void *ip)
{
	if (held) {
		const struct sk_callsite *site =
			RD(sk__lockdep_on) ? sk__lockdep_held_site(lock) : NULL;

		if (site && site->file)
			sk__violation(SK_VIOLATION_LOCK_HELD, lock, cs, ip,
				      "\"%s\" is held by this thread (acquired at %s:%u) but "
				      "must not be",
				      lock_name(map), site->file, site->line);
		else
			sk__violation(SK_VIOLATION_LOCK_HELD, lock, cs, ip,
				      "\"%s\" is held by this thread but must not be",
				      lock_name(map));
	} else {
		sk__violation(SK_VIOLATION_LOCK_NOT_HELD, lock, cs, ip,
			      "\"%s\" must be held%s by this thread, and is not", lock_name(map),
			      how);
	}
}

static void assert_exclusive(const uintptr_t *owner, const struct sk_lockdep_map *map,
			     const void *lock, enum sk__lock_assert what,
			     const struct sk_callsite *cs, const void *ip)
{
	bool held;

	annotate((uintptr_t *)owner, (struct sk_lockdep_map *)map);
	held = (RD(*owner) & ~OWNER_FLAGS) == SELF();
	if (what == SK__ASSERT_NOT_HELD ? held : !held)
		report_assert(held, map, lock, "", cs, ip);
}

void sk__mutex_assert(const struct sk_mutex *m, enum sk__lock_assert what,
		      const struct sk_callsite *cs)
{
	assert_exclusive(&m->owner, &m->dep_map, m, what, cs, SK__RET_IP);
}

void sk__spin_assert(const struct sk_spinlock *l, enum sk__lock_assert what,
		     const struct sk_callsite *cs)
{
	assert_exclusive(&l->owner, &l->dep_map, l, what, cs, SK__RET_IP);
}

void sk__rwlock_assert(const struct sk_rwlock *crw, enum sk__lock_assert what,
		       const struct sk_callsite *cs)
{
	struct sk_rwlock *rw = (struct sk_rwlock *)crw; /* the probe locks it */
	const void *ip = SK__RET_IP;
	bool wheld, rheld = false, rknown = false;
	int mode;

	annotate(&rw->owner, &rw->dep_map);
	wheld = (RD(rw->owner) & ~OWNER_FLAGS) == SELF();
	mode = RD(sk__lockdep_on) ? sk__lockdep_held_mode(rw) : -1;
	rheld = mode == (int)SK__LD_READ;
	/* Not on our stack: certain only if the validator saw everything, if
	 * another thread holds the lock for writing (then no reader does), or
	 * if nobody holds the lock at all.  The probe takes the lock for a
	 * moment (other threads' trylocks fail meanwhile): only the checks
	 * that need it make it, and where a correct caller holds the lock it
	 * fails at once. */
	if (what == SK__ASSERT_HELD || what == SK__ASSERT_HELD_READ)
		rknown = rheld ||
			 (RD(sk__lockdep_on) && sk__lockdep_authoritative(&rw->dep_map)) ||
			 (!wheld && (RD(rw->owner) & ~OWNER_FLAGS)) || /* another's write hold */
			 (!wheld && rwlock_unheld(rw));

	switch (what) {
	case SK__ASSERT_NOT_HELD:
		if (wheld || rheld)
			report_assert(true, &rw->dep_map, rw, "", cs, ip);
		break;
	case SK__ASSERT_HELD:
		if (!wheld && !rheld && rknown)
			report_assert(false, &rw->dep_map, rw, "", cs, ip);
		break;
	case SK__ASSERT_HELD_READ:
		if (wheld || (!rheld && rknown))
			report_assert(false, &rw->dep_map, rw, " for reading", cs, ip);
		break;
	case SK__ASSERT_HELD_WRITE:
		if (!wheld)
			report_assert(false, &rw->dep_map, rw, " for writing", cs, ip);
		break;
	}
}
