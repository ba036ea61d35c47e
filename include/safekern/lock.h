/* SPDX-License-Identifier: MIT */
/*
 * safekern/lock.h - mutexes, spinlocks and rwlocks that the compiler and
 * the runtime both check
 *
 * Theory of operation
 * ===================
 *
 * struct sk_mutex, struct sk_spinlock and struct sk_rwlock wrap the
 * pthread mutex (the default, non-recursive type), spinlock and rwlock
 * (glibc's default, reader-preferring).  Each is checked three ways:
 *
 * 1. At compile time, by Clang's thread-safety analysis
 *    (-Wthread-safety): each type is a capability, and every operation
 *    says what it acquires, releases or requires.  Data guarded by a lock
 *    is reached through accessors annotated SK_MUST_HOLD(c->lock), since
 *    clang cannot attach guarded_by to a C struct member (the
 *    "lock-annotated container" pattern, docs/locking.md).
 *
 * 2. At run time, always (the hardened level): each lock records the
 *    thread that holds it exclusively.  Unlocking a lock this thread does
 *    not hold, relocking a lock this thread holds (which would deadlock)
 *    and destroying a held lock are reported (SK_VIOLATION_LOCK_NOT_HELD,
 *    _LOCK_RECURSION, _LOCK_HELD) and refused: the lock is left as it
 *    was.  A refused relock is remembered, so that its matching unlock is
 *    absorbed and the outer critical section keeps its lock: the program
 *    continues as if the lock were recursive, after one report.  Readers of
 *    an rwlock are not recorded (that would cost an atomic operation per
 *    read lock); what the hardened level checks on the read side: a
 *    read_lock while this thread holds the write lock (recursion), a
 *    read_unlock while any thread holds the write lock.  The uncontended
 *    cost is a few register and L1 operations beside the pthread call,
 *    which your code makes itself: the plain case is inline (see "The
 *    fast paths, inline" below; docs/locking.md has the measurements).
 *
 * 3. At run time, when the lock validator is on: a lockdep-style
 *    validator (lib/lockdep.c) tracks the locks each thread holds and
 *    builds a graph of the order in which lock *classes* are taken, so a
 *    possible deadlock (AB-BA across threads, or any longer cycle) is
 *    reported the first time the order is seen, before it can happen, with
 *    both acquisition chains.  A class is the set of locks initialised at
 *    one site (sk_mutex_init() captures a static key there, and the source
 *    text of its argument as the class name, as the kernel's mutex_init
 *    does); a lock defined with a static initialiser (SK_DEFINE_MUTEX(),
 *    SK_MUTEX_INITIALIZER()) is a class of its own, keyed by its own
 *    address, which is why such a lock must have static storage.  The
 *    validator is on when any translation unit of the program includes this
 *    header with -DSK_DEBUG, when the library was built with
 *    -Dcheck_level=debug, when SAFEKERN_LOCKDEP=1 is set in the
 *    environment (no rebuild needed), or after sk_lockdep_enable().
 *    SAFEKERN_LOCKDEP=0 keeps it off even in a debug build.  When it is
 *    off, it costs one predicted branch per lock operation.
 *
 * One misuse makes one report: a relock of a held mutex is the hardened
 * check's report (lock_recursion), and the validator does not report it
 * again.
 *
 * Memory ordering
 * ---------------
 *
 * That of the pthread primitive: lock and trylock (on success) are
 * acquire operations, unlock is a release operation.  Everything written
 * in a critical section is visible to the next thread that takes the lock.
 *
 * Failure behaviour
 * -----------------
 *
 * Every report goes through the violation channel (safekern/violation.h):
 * under the default abort policy the process stops; under warn or count the
 * operation is refused and the lock left as it was (a refused relock
 * returns without blocking; a refused unlock leaves the lock held).
 *
 * Who may call what concurrently
 * ------------------------------
 *
 * =====================  ===============================================
 * operation              may run concurrently with
 * =====================  ===============================================
 * lock, trylock, unlock  every operation on the same lock except init and
 *                        destroy (unlock only by the thread that holds it)
 * read_lock/read_unlock  every rwlock operation except init and destroy
 * init, destroy          nothing on the same lock
 * lockdep_assert_*       anything; checks the calling thread only
 * sk_lockdep_enable()    anything; locks already held are not known to
 *                        the validator (their release is trusted)
 * sk_lockdep_disable()   nothing: call it while no thread holds a lock
 * =====================  ===============================================
 *
 * All functions are async-signal-unsafe (as the pthread ones are).
 */
#ifndef SAFEKERN_LOCK_H
#define SAFEKERN_LOCK_H

#include <pthread.h>
#include <stdint.h>

#include <safekern/cleanup.h>
#include <safekern/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Lock classes
 * ------------------------------------------------------------------------ */

/** SK_LOCKDEP_MAX_SUBCLASSES - subclasses per class (sk_mutex_lock_nested()). */
#define SK_LOCKDEP_MAX_SUBCLASSES 8U

/** SK_SINGLE_DEPTH_NESTING - the subclass for one level of same-class nesting. */
#define SK_SINGLE_DEPTH_NESTING 1U

/**
 * struct sk_lock_class_key - the static object that names a lock class
 * @subkeys: one byte per subclass: the class key of subclass N is the
 *	address of @subkeys[N]
 *
 * Must have static storage duration.  sk_mutex_init() and friends declare
 * one per call site; declare your own to give locks initialised at
 * different sites one class (sk_lockdep_set_class()).
 */
struct sk_lock_class_key {
	char subkeys[SK_LOCKDEP_MAX_SUBCLASSES];
};

/**
 * struct sk_lockdep_map - per-lock checking state (private)
 * @key: the class key, or NULL for a statically initialised lock (then
 *	the lock's own address is the key)
 * @name: the class name (the source text given to the init macro)
 * @class_id: the validator's cached class for subclass 0 (0: not looked up)
 * @refused: relocks refused by the hardened check whose unlock is pending
 */
struct sk_lockdep_map {
	const struct sk_lock_class_key *key;
	const char *name;
	unsigned int class_id;
	unsigned int refused;
};

/* ------------------------------------------------------------------------
 * The lock types
 * ------------------------------------------------------------------------ */

/*
 * Each lock keeps its owner word at least SK__LOCK_OWNER_GAP bytes from
 * the start of the pthread lock, whose first word the lock operation
 * changes with a locked instruction: on a cache line that such an
 * instruction has just written, the unlock's load of the owner word waits
 * for it (see docs/locking.md); on another line it does not.
 */
#define SK__LOCK_OWNER_GAP 64

/**
 * struct sk_mutex - a sleeping lock, checked
 * @m: the pthread mutex (default type)
 * @owner: the holder (private)
 * @dep_map: checking state (private)
 *
 * Initialise with sk_mutex_init(), SK_DEFINE_MUTEX() or
 * SK_MUTEX_INITIALIZER().  All members are private.
 */
struct SK_CAPABILITY("mutex") sk_mutex {
	pthread_mutex_t m;
	struct sk_lockdep_map dep_map;
	uintptr_t owner; /* a cache line from the lock word: see SK__LOCK_OWNER_GAP */
};

/**
 * struct sk_spinlock - a busy-waiting lock, checked
 * @l: the pthread spinlock
 * @owner: the holder (private)
 * @dep_map: checking state (private)
 *
 * Initialise with sk_spin_lock_init(), SK_DEFINE_SPINLOCK() or
 * SK_SPINLOCK_INITIALIZER(): on glibc/x86 an all-zero pthread spinlock is
 * a *locked* one, so zeroed memory is not an unlocked sk_spinlock (with
 * the validator on, using one is reported).  All members are private.
 */
struct SK_CAPABILITY("spinlock") sk_spinlock {
	pthread_spinlock_t l;
	struct sk_lockdep_map dep_map;
	char sk__pad[SK__LOCK_OWNER_GAP - sizeof(struct sk_lockdep_map) - sizeof(void *)];
	uintptr_t owner; /* a cache line from the lock word: see SK__LOCK_OWNER_GAP */
};

/**
 * struct sk_rwlock - a reader-writer lock, checked
 * @rw: the pthread rwlock (glibc's default: reader-preferring, so a
 *	thread may take the read lock recursively)
 * @owner: the writer (private)
 * @dep_map: checking state (private)
 *
 * Initialise with sk_rwlock_init(), SK_DEFINE_RWLOCK() or
 * SK_RWLOCK_INITIALIZER().  All members are private.
 */
struct SK_CAPABILITY("rwlock") sk_rwlock {
	pthread_rwlock_t rw;
	struct sk_lockdep_map dep_map;
	uintptr_t owner; /* a cache line from the lock word: see SK__LOCK_OWNER_GAP */
};

/* The value of an unlocked pthread spinlock: glibc's x86 spinlocks count
 * down from 1; the generic ones (and other libcs) use 0. */
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
#define SK__SPIN_UNLOCKED 1
#else
#define SK__SPIN_UNLOCKED 0
#endif

/**
 * SK_MUTEX_INITIALIZER() - static initialiser for a struct sk_mutex
 * @lockname: the lock's name as written (used as its class name)
 *
 * For a lock with static storage duration only: its class is keyed by its
 * own address.  ``static struct foo f = { .lock = SK_MUTEX_INITIALIZER(f.lock) };``
 */
#define SK_MUTEX_INITIALIZER(lockname)                                        \
	{ PTHREAD_MUTEX_INITIALIZER, { NULL, #lockname, 0, 0 }, 0 }

/**
 * SK_DEFINE_MUTEX() - define an unlocked static struct sk_mutex
 * @name: the variable (and class) name
 */
#define SK_DEFINE_MUTEX(name) struct sk_mutex name = SK_MUTEX_INITIALIZER(name)

/**
 * SK_SPINLOCK_INITIALIZER() - static initialiser for a struct sk_spinlock
 * @lockname: the lock's name as written (its class name)
 *
 * For a lock with static storage duration only (see SK_MUTEX_INITIALIZER()).
 */
#define SK_SPINLOCK_INITIALIZER(lockname)                                     \
	{ SK__SPIN_UNLOCKED, { NULL, #lockname, 0, 0 }, { 0 }, 0 }

/**
 * SK_DEFINE_SPINLOCK() - define an unlocked static struct sk_spinlock
 * @name: the variable (and class) name
 */
#define SK_DEFINE_SPINLOCK(name) struct sk_spinlock name = SK_SPINLOCK_INITIALIZER(name)

/**
 * SK_RWLOCK_INITIALIZER() - static initialiser for a struct sk_rwlock
 * @lockname: the lock's name as written (its class name)
 *
 * For a lock with static storage duration only (see SK_MUTEX_INITIALIZER()).
 */
#define SK_RWLOCK_INITIALIZER(lockname)                                       \
	{ PTHREAD_RWLOCK_INITIALIZER, { NULL, #lockname, 0, 0 }, 0 }

/**
 * SK_DEFINE_RWLOCK() - define an unlocked static struct sk_rwlock
 * @name: the variable (and class) name
 */
#define SK_DEFINE_RWLOCK(name) struct sk_rwlock name = SK_RWLOCK_INITIALIZER(name)

/* ------------------------------------------------------------------------
 * Internal entry points.  Consumers call the macros below, which pass the
 * call site; inline code in other headers calls these with the callsite it
 * was given.  @cs may be NULL (reports then name the caller's address).
 * ------------------------------------------------------------------------ */

SK_API void sk__mutex_init(struct sk_mutex *m, const char *name,
			   const struct sk_lock_class_key *key) SK_NONNULL(1);
SK_API void sk__mutex_destroy(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_EXCLUDES(m);
SK_API void sk__mutex_lock(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_ACQUIRES(m);
SK_API void sk__mutex_lock_nested(struct sk_mutex *m, unsigned int subclass,
				  const struct sk_callsite *cs) SK_NONNULL(1) SK_ACQUIRES(m);
SK_API int sk__mutex_trylock(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK SK_TRY_ACQUIRES(1, m);
SK_API void sk__mutex_unlock(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_RELEASES(m);
/* The inline unlock's wake of one waiter on glibc's mutex word (a futex). */
SK_API SK_COLD SK_NOINLINE void sk__mutex_wake(struct sk_mutex *m) SK_NONNULL(1);

SK_API void sk__spin_lock_init(struct sk_spinlock *l, const char *name,
			       const struct sk_lock_class_key *key) SK_NONNULL(1);
SK_API void sk__spin_lock_destroy(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_EXCLUDES(l);
SK_API void sk__spin_lock(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_ACQUIRES(l);
SK_API void sk__spin_lock_nested(struct sk_spinlock *l, unsigned int subclass,
				 const struct sk_callsite *cs) SK_NONNULL(1) SK_ACQUIRES(l);
SK_API int sk__spin_trylock(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK SK_TRY_ACQUIRES(1, l);
SK_API void sk__spin_unlock(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_RELEASES(l);

SK_API void sk__rwlock_init(struct sk_rwlock *rw, const char *name,
			    const struct sk_lock_class_key *key) SK_NONNULL(1);
SK_API void sk__rwlock_destroy(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_EXCLUDES(rw);
SK_API void sk__read_lock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_ACQUIRES_SHARED(rw);
SK_API void sk__read_lock_nested(struct sk_rwlock *rw, unsigned int subclass,
				 const struct sk_callsite *cs) SK_NONNULL(1) SK_ACQUIRES_SHARED(rw);
SK_API int sk__read_trylock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK SK_TRY_ACQUIRES_SHARED(1, rw);
SK_API void sk__read_unlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_RELEASES_SHARED(rw);
SK_API void sk__write_lock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_ACQUIRES(rw);
SK_API void sk__write_lock_nested(struct sk_rwlock *rw, unsigned int subclass,
				  const struct sk_callsite *cs) SK_NONNULL(1) SK_ACQUIRES(rw);
SK_API int sk__write_trylock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK SK_TRY_ACQUIRES(1, rw);
SK_API void sk__write_unlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_RELEASES(rw);

/* ------------------------------------------------------------------------
 * The fast paths, inline
 *
 * sk_mutex_lock() and the other lock, trylock and unlock macros call these.
 * Each is the uncontended case of the exported function of the same name
 * without "_fast" (a busy spinlock or mutex goes to sk__spin_lock_nested()
 * or sk__mutex_lock_nested() at subclass 0, see there), filtered to what
 * needs no check beyond the owner word: sk__lock_slow is 0, the lock is
 * free (or, for a mutex, not ours), the unlock is the owner's plain last
 * one.  Everything else, including every misuse, goes to that exported
 * function, which checks again from the start.  Inline so that your code
 * takes the lock itself (the pthread call, or on glibc x86 the lock word:
 * below): a second call layer made the hardened locks 1.3x to 1.6x slower
 * than raw pthread on one CPU (docs/locking.md).  The owner word's
 * encoding (below) is thus part of the ABI, and so are the lock words.
 * ------------------------------------------------------------------------ */

/*
 * sk__lock_slow - nonzero when every lock operation takes the exported,
 * out-of-line path: the validator is on, the process runs under helgrind,
 * drd or TSan, or glibc's lock words are not what the inline forms below
 * assume.  Written by the library only; read here with one predicted
 * branch (the validator's off switch).
 */
extern SK_API int sk__lock_slow;

/* The owner word: the holder's thread pointer (pthread_self() elsewhere),
 * with two flag bits below it that only the out-of-line paths set. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__)
#define sk__lock_self() ((uintptr_t)__builtin_thread_pointer())
#else
#define sk__lock_self() ((uintptr_t)pthread_self())
#endif
#define SK__LOCK_OWNER_FLAGS ((uintptr_t)3)
/* The owner word of a destroyed mutex or spinlock: flag bits and no
 * thread, a value no thread's owner word takes.  Destroy also leaves the
 * lock word busy, so that the compare-and-swap of every inline lock and
 * trylock of it fails and the exported function reports the use. */
#define SK__LOCK_OWNER_DESTROYED SK__LOCK_OWNER_FLAGS

#define sk__lock_slow_now() sk_unlikely(__atomic_load_n(&sk__lock_slow, __ATOMIC_RELAXED))
#define sk__lock_owner(l) __atomic_load_n(&(l)->owner, __ATOMIC_RELAXED)
#define sk__lock_set_owner(l, v) __atomic_store_n(&(l)->owner, (v), __ATOMIC_RELAXED)

/* Held exclusively by this thread (@self: sk__lock_self()), whatever its
 * flag bits: a lock or a read lock now would deadlock.  lib/lock.c's
 * recursion checks are this test too. */
#define sk__lock_is_mine(l, self) ((sk__lock_owner(l) ^ (self)) <= SK__LOCK_OWNER_FLAGS)

/*
 * The lock words, inline (glibc on x86, not under TSan: SK__LOCK_WORD_INLINE).
 * The fast paths below take and release the pthread lock's own word
 * themselves instead of calling glibc for it: a call each way is most of
 * what the owner checks cost beside a bare pthread lock (docs/locking.md).
 * Everything else, the wait for a busy lock included, stays with pthread.
 *
 *   spinlock  glibc's x86 pthread spinlock is an int that is 1 when free:
 *             pthread_spin_trylock() is one compare-and-swap of 1 to 0,
 *             pthread_spin_unlock() one release store of 1 (the encoding
 *             SK_SPINLOCK_INITIALIZER() already bakes in).
 *   mutex     glibc's default mutex is a futex word, 0 free, 1 locked, 2
 *             locked with waiters: a compare-and-swap of 0 to 1 takes it;
 *             the unlock exchanges 0 in and, if the old value was 2, wakes
 *             one waiter (sk__mutex_wake()).  The unlock also clears
 *             glibc's owner field, as pthread_mutex_unlock() does: glibc
 *             sets it when the lock is taken by the pthread call (a busy
 *             lock, waited for out of line), and its next lock by the call
 *             asserts that it is clear.  glibc's user count is not kept:
 *             the library gives back the one pthread_mutex_lock() counts.
 *
 * The library checks both encodings against the pthread calls once at
 * load and, should a glibc ever differ (or elide the mutex), sends every
 * lock operation out of line (sk__lock_slow), where only the pthread calls
 * touch the words.  Elsewhere, and in a unit built with TSan (which models
 * pthread locks through its interceptors), these are the pthread calls;
 * in a process with the TSan runtime, every unit's lock operations go out
 * of line to them.
 */
#if defined(__GLIBC__) && defined(__linux__) && (defined(__x86_64__) || defined(__i386__)) && \
	!defined(SK__TSAN)
#define SK__LOCK_WORD_INLINE 1
#define sk__spin_word_trylock(l)                                              \
	({                                                                    \
		int sk__free = SK__SPIN_UNLOCKED;                             \
		__atomic_compare_exchange_n(&(l)->l, &sk__free, 0, 0, __ATOMIC_ACQUIRE, \
					    __ATOMIC_RELAXED);                \
	})
#define sk__spin_word_unlock(l) __atomic_store_n(&(l)->l, SK__SPIN_UNLOCKED, __ATOMIC_RELEASE)
#define sk__mutex_word_trylock(mx)                                            \
	({                                                                    \
		int sk__free = 0;                                             \
		__atomic_compare_exchange_n(&(mx)->m.__data.__lock, &sk__free, 1, 0, \
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED); \
	})
#define sk__mutex_word_unlock(mx)                                             \
	do {                                                                  \
		__atomic_store_n(&(mx)->m.__data.__owner, 0, __ATOMIC_RELAXED); \
		if (sk_unlikely(__atomic_exchange_n(&(mx)->m.__data.__lock, 0, \
						    __ATOMIC_RELEASE) > 1))   \
			sk__mutex_wake(mx);                                   \
	} while (0)
#else
#define sk__spin_word_trylock(l) (pthread_spin_trylock(&(l)->l) == 0)
#define sk__spin_word_unlock(l) ((void)pthread_spin_unlock(&(l)->l))
#define sk__mutex_word_trylock(mx) (pthread_mutex_trylock(&(mx)->m) == 0)
#define sk__mutex_word_unlock(mx) ((void)pthread_mutex_unlock(&(mx)->m))
#endif

static inline void sk__mutex_lock_fast(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_ACQUIRES(m);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__mutex_lock_fast(struct sk_mutex *m,
								   const struct sk_callsite *cs)
{
	uintptr_t self = sk__lock_self();

	/* Owner compare, then the word: a failed compare-and-swap on a lock
	 * of ours would only say "busy".  A busy lock goes to the slow path
	 * at subclass 0 (with the validator off, the wait in pthread). */
	if (sk__lock_slow_now() || sk_unlikely(sk__lock_is_mine(m, self))) {
		sk__mutex_lock(m, cs);
		return;
	}
	if (sk_unlikely(!sk__mutex_word_trylock(m))) {
		sk__mutex_lock_nested(m, 0, cs);
		return;
	}
	sk__lock_set_owner(m, self);
}

static inline SK_MUST_CHECK int sk__mutex_trylock_fast(struct sk_mutex *m,
							const struct sk_callsite *cs)
	SK_TRY_ACQUIRES(1, m);
SK_NO_THREAD_SAFETY_ANALYSIS static inline int sk__mutex_trylock_fast(struct sk_mutex *m,
								     const struct sk_callsite *cs)
{
	if (sk__lock_slow_now())
		return sk__mutex_trylock(m, cs);
	/* Busy, or destroyed (its word is left busy): only the failure pays
	 * for the look at the owner word, and only a destroyed lock calls. */
	if (!sk__mutex_word_trylock(m))
		return sk_unlikely(sk__lock_owner(m) == SK__LOCK_OWNER_DESTROYED) ?
			       sk__mutex_trylock(m, cs) : 0;
	sk__lock_set_owner(m, sk__lock_self());
	return 1;
}

static inline void sk__mutex_unlock_fast(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_RELEASES(m);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__mutex_unlock_fast(struct sk_mutex *m,
								     const struct sk_callsite *cs)
{
	/* Exactly ours, no flag: the validator's entry or a refused relock
	 * (flag bits) and every misuse go out of line; so does the slow
	 * mode, where the lock may have been taken by the pthread call and
	 * must then be released by it (helgrind, drd, TSan, a foreign word). */
	if (sk__lock_slow_now() || sk_unlikely(sk__lock_owner(m) != sk__lock_self())) {
		sk__mutex_unlock(m, cs);
		return;
	}
	sk__lock_set_owner(m, 0);
	sk__mutex_word_unlock(m);
}

static inline void sk__spin_lock_fast(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_ACQUIRES(l);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__spin_lock_fast(struct sk_spinlock *l,
								  const struct sk_callsite *cs)
{
	if (sk__lock_slow_now()) {
		sk__spin_lock(l, cs);
		return;
	}
	/* Try first: if that fails the lock is busy or ours, and the slow
	 * path tells which.  That is sk__spin_lock_nested() at subclass 0,
	 * the path sk__spin_lock() takes after its own trylock: calling
	 * sk__spin_lock() here would try the busy lock a second time. */
	if (sk_unlikely(!sk__spin_word_trylock(l))) {
		sk__spin_lock_nested(l, 0, cs);
		return;
	}
	sk__lock_set_owner(l, sk__lock_self());
}

static inline SK_MUST_CHECK int sk__spin_trylock_fast(struct sk_spinlock *l,
						       const struct sk_callsite *cs)
	SK_TRY_ACQUIRES(1, l);
SK_NO_THREAD_SAFETY_ANALYSIS static inline int sk__spin_trylock_fast(struct sk_spinlock *l,
								    const struct sk_callsite *cs)
{
	if (sk__lock_slow_now())
		return sk__spin_trylock(l, cs);
	/* Busy, or destroyed: see sk__mutex_trylock_fast(). */
	if (!sk__spin_word_trylock(l))
		return sk_unlikely(sk__lock_owner(l) == SK__LOCK_OWNER_DESTROYED) ?
			       sk__spin_trylock(l, cs) : 0;
	sk__lock_set_owner(l, sk__lock_self());
	return 1;
}

static inline void sk__spin_unlock_fast(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_RELEASES(l);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__spin_unlock_fast(struct sk_spinlock *l,
								    const struct sk_callsite *cs)
{
	/* The slow mode too: under helgrind or drd (or a foreign lock word)
	 * the release must be pthread_spin_unlock(), which only the exported
	 * function calls there; the owner compare alone would let the plain
	 * unlock of a plain lock through. */
	if (sk__lock_slow_now() || sk_unlikely(sk__lock_owner(l) != sk__lock_self())) {
		sk__spin_unlock(l, cs);
		return;
	}
	sk__lock_set_owner(l, 0);
	sk__spin_word_unlock(l);
}

static inline void sk__write_lock_fast(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ACQUIRES(rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__write_lock_fast(struct sk_rwlock *rw,
								   const struct sk_callsite *cs)
{
	/* Try first (glibc's trywrlock is the faster call); a failure is a
	 * busy lock, or ours, which the exported function tells apart. */
	if (sk__lock_slow_now() || sk_unlikely(pthread_rwlock_trywrlock(&rw->rw) != 0)) {
		sk__write_lock(rw, cs);
		return;
	}
	sk__lock_set_owner(rw, sk__lock_self());
}

static inline SK_MUST_CHECK int sk__write_trylock_fast(struct sk_rwlock *rw,
							const struct sk_callsite *cs)
	SK_TRY_ACQUIRES(1, rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline int sk__write_trylock_fast(struct sk_rwlock *rw,
								     const struct sk_callsite *cs)
{
	if (sk__lock_slow_now())
		return sk__write_trylock(rw, cs);
	if (pthread_rwlock_trywrlock(&rw->rw))
		return 0;
	sk__lock_set_owner(rw, sk__lock_self());
	return 1;
}

static inline void sk__write_unlock_fast(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_RELEASES(rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__write_unlock_fast(struct sk_rwlock *rw,
								     const struct sk_callsite *cs)
{
	if (sk_unlikely(sk__lock_owner(rw) != sk__lock_self())) {
		sk__write_unlock(rw, cs);
		return;
	}
	sk__lock_set_owner(rw, 0);
	pthread_rwlock_unlock(&rw->rw);
}

static inline void sk__read_lock_fast(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ACQUIRES_SHARED(rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__read_lock_fast(struct sk_rwlock *rw,
								  const struct sk_callsite *cs)
{
#ifdef __GLIBC__
	/*
	 * glibc's rdlock refuses (EDEADLK) when this thread holds the write
	 * lock, the one self-deadlock a read lock can meet, and the exported
	 * function then reports it.  Not the try that other C libraries need
	 * (below): glibc's tryrdlock is a compare-and-swap loop where rdlock
	 * is one fetch-and-add, 0.55 ns (9%) dearer per pair on an AMD EPYC.
	 */
	if (sk__lock_slow_now() || sk_unlikely(pthread_rwlock_rdlock(&rw->rw) != 0))
		sk__read_lock(rw, cs);
#else
	/* A try fails while any writer holds it, this thread included. */
	if (sk__lock_slow_now() || sk_unlikely(pthread_rwlock_tryrdlock(&rw->rw) != 0))
		sk__read_lock(rw, cs);
#endif
}

static inline SK_MUST_CHECK int sk__read_trylock_fast(struct sk_rwlock *rw,
						       const struct sk_callsite *cs)
	SK_TRY_ACQUIRES_SHARED(1, rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline int sk__read_trylock_fast(struct sk_rwlock *rw,
								    const struct sk_callsite *cs)
{
	if (sk__lock_slow_now())
		return sk__read_trylock(rw, cs);
	return pthread_rwlock_tryrdlock(&rw->rw) == 0;
}

static inline void sk__read_unlock_fast(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_RELEASES_SHARED(rw);
SK_NO_THREAD_SAFETY_ANALYSIS static inline void sk__read_unlock_fast(struct sk_rwlock *rw,
								    const struct sk_callsite *cs)
{
	/* No writer: readers are not recorded, so that is all there is to
	 * check without the validator. */
	if (sk__lock_slow_now() || sk_unlikely(sk__lock_owner(rw) != 0)) {
		sk__read_unlock(rw, cs);
		return;
	}
	pthread_rwlock_unlock(&rw->rw);
}

/* What sk__*_assert() checks. */
enum sk__lock_assert {
	SK__ASSERT_NOT_HELD,
	SK__ASSERT_HELD,	/* exclusively, or for an rwlock: in either mode */
	SK__ASSERT_HELD_READ,
	SK__ASSERT_HELD_WRITE,
};

SK_API void sk__mutex_assert(const struct sk_mutex *m, enum sk__lock_assert what,
			     const struct sk_callsite *cs) SK_NONNULL(1);
SK_API void sk__spin_assert(const struct sk_spinlock *l, enum sk__lock_assert what,
			    const struct sk_callsite *cs) SK_NONNULL(1);
SK_API void sk__rwlock_assert(const struct sk_rwlock *rw, enum sk__lock_assert what,
			      const struct sk_callsite *cs) SK_NONNULL(1);

/* Called by the constructor of every -DSK_DEBUG unit that includes this. */
SK_API void sk__lockdep_debug_unit(void);

/* ------------------------------------------------------------------------
 * Mutex
 * ------------------------------------------------------------------------ */

/**
 * sk_mutex_init() - initialise a mutex, with a lock class for this call site
 * @m: the mutex (caller memory)
 *
 * All mutexes initialised by this line form one lock class, named after
 * the source text of @m.  Pair with sk_mutex_destroy().
 *
 * Context: @m must not be in use.
 */
#define sk_mutex_init(m)                                                      \
	do {                                                                  \
		static struct sk_lock_class_key sk__mutex_key;                \
		sk__mutex_init((m), #m, &sk__mutex_key);                      \
	} while (0)

/**
 * sk_mutex_destroy() - destroy an unlocked mutex
 * @m: the mutex
 *
 * Destroying a held mutex is reported (lock_held) and refused: the mutex
 * stays as it was.  A destroyed mutex is poisoned until it is initialised
 * again: every lock, trylock, unlock or destroy of it is reported
 * (invalid_argument) and refused (a lock returns without the lock, a
 * trylock returns 0).
 *
 * Context: no other thread may use @m.
 */
#define sk_mutex_destroy(m) sk__mutex_destroy((m), SK_CALLSITE)

/**
 * sk_mutex_lock() - acquire a mutex, sleeping until it is free
 * @m: the mutex
 *
 * Relocking a mutex this thread holds is reported (lock_recursion) and
 * returns at once without blocking; the matching unlock is absorbed.
 *
 * Context: may sleep.  Returns with @m held.
 */
#define sk_mutex_lock(m) sk__mutex_lock_fast((m), SK_CALLSITE)

/**
 * sk_mutex_lock_nested() - acquire a mutex of a class this thread holds
 * @m: the mutex
 * @subclass: 0 .. SK_LOCKDEP_MAX_SUBCLASSES - 1; tells the validator this
 *	is an ordered nesting (parent then child), not a recursion
 *
 * Otherwise as sk_mutex_lock().  An out-of-range @subclass is reported
 * (invalid_argument) and 0 is used.
 *
 * Context: may sleep.  Returns with @m held.
 */
#define sk_mutex_lock_nested(m, subclass) sk__mutex_lock_nested((m), (subclass), SK_CALLSITE)

/**
 * sk_mutex_trylock() - acquire a mutex if it is free
 * @m: the mutex
 *
 * Never blocks, and adds no lock-order dependency (it cannot deadlock).
 *
 * Return: 1 if @m was acquired, 0 if it is held (by anyone, including
 * this thread).  The result must be checked.
 */
#define sk_mutex_trylock(m) sk__mutex_trylock_fast((m), SK_CALLSITE)

/**
 * sk_mutex_unlock() - release a mutex
 * @m: the mutex, held by this thread
 *
 * Unlocking a mutex this thread does not hold is reported (lock_not_held)
 * and refused.
 */
#define sk_mutex_unlock(m) sk__mutex_unlock_fast((m), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Spinlock
 * ------------------------------------------------------------------------ */

/**
 * sk_spin_lock_init() - initialise a spinlock, with a lock class for this site
 * @l: the spinlock (caller memory)
 *
 * As sk_mutex_init().  Pair with sk_spin_lock_destroy().
 */
#define sk_spin_lock_init(l)                                                  \
	do {                                                                  \
		static struct sk_lock_class_key sk__spin_key;                 \
		sk__spin_lock_init((l), #l, &sk__spin_key);                   \
	} while (0)

/**
 * sk_spin_lock_destroy() - destroy an unlocked spinlock
 * @l: the spinlock
 *
 * Destroying a held spinlock is reported (lock_held) and refused.  A
 * destroyed spinlock is poisoned as a destroyed mutex is (see
 * sk_mutex_destroy()).
 */
#define sk_spin_lock_destroy(l) sk__spin_lock_destroy((l), SK_CALLSITE)

/**
 * sk_spin_lock() - acquire a spinlock, spinning until it is free
 * @l: the spinlock
 *
 * Relocking a spinlock this thread holds is reported (lock_recursion)
 * and returns at once; the matching unlock is absorbed.
 *
 * Context: keep the critical section short; it must not sleep.
 */
#define sk_spin_lock(l) sk__spin_lock_fast((l), SK_CALLSITE)

/**
 * sk_spin_lock_nested() - acquire a spinlock of a class this thread holds
 * @l: the spinlock
 * @subclass: see sk_mutex_lock_nested()
 */
#define sk_spin_lock_nested(l, subclass) sk__spin_lock_nested((l), (subclass), SK_CALLSITE)

/**
 * sk_spin_trylock() - acquire a spinlock if it is free
 * @l: the spinlock
 *
 * Return: 1 if acquired, 0 otherwise.  Must be checked.
 */
#define sk_spin_trylock(l) sk__spin_trylock_fast((l), SK_CALLSITE)

/**
 * sk_spin_unlock() - release a spinlock
 * @l: the spinlock, held by this thread
 *
 * Unlocking a spinlock this thread does not hold is reported and refused.
 */
#define sk_spin_unlock(l) sk__spin_unlock_fast((l), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Reader-writer lock
 * ------------------------------------------------------------------------ */

/**
 * sk_rwlock_init() - initialise an rwlock, with a lock class for this site
 * @rw: the rwlock (caller memory)
 *
 * As sk_mutex_init().  Pair with sk_rwlock_destroy().
 */
#define sk_rwlock_init(rw)                                                    \
	do {                                                                  \
		static struct sk_lock_class_key sk__rwlock_key;               \
		sk__rwlock_init((rw), #rw, &sk__rwlock_key);                  \
	} while (0)

/**
 * sk_rwlock_destroy() - destroy an rwlock that nobody holds
 * @rw: the rwlock
 *
 * Destroying an rwlock held in either mode by any thread is reported
 * (lock_held) and refused.
 */
#define sk_rwlock_destroy(rw) sk__rwlock_destroy((rw), SK_CALLSITE)

/**
 * sk_read_lock() - acquire an rwlock for reading
 * @rw: the rwlock
 *
 * Read locks are recursive (the rwlock is reader-preferring).  A read lock
 * while this thread holds the write lock is reported (lock_recursion) and
 * refused without blocking.  A read lock glibc refuses because the reader
 * count is at its limit (2^28 holders: read locks leaked) is reported
 * (lock_held) and waited for, not skipped.  One glibc refuses because it
 * records this thread as the writer (EDEADLK, which waiting cannot clear)
 * is reported (lock_recursion) and refused.
 *
 * Context: may sleep while a writer holds @rw.
 */
#define sk_read_lock(rw) sk__read_lock_fast((rw), SK_CALLSITE)

/**
 * sk_read_lock_nested() - acquire for reading an rwlock of a held class
 * @rw: the rwlock
 * @subclass: see sk_mutex_lock_nested()
 *
 * The kernel's down_read_nested(): a parent write-held and a child of the
 * same class read-held (or both read-held) is a correct nesting that the
 * validator would otherwise report as lock_recursion.  Out of line.
 */
#define sk_read_lock_nested(rw, subclass) sk__read_lock_nested((rw), (subclass), SK_CALLSITE)

/**
 * sk_read_trylock() - acquire an rwlock for reading if no writer holds it
 * @rw: the rwlock
 *
 * Return: 1 if acquired, 0 otherwise.  Must be checked.
 */
#define sk_read_trylock(rw) sk__read_trylock_fast((rw), SK_CALLSITE)

/**
 * sk_read_unlock() - release a read lock
 * @rw: the rwlock, read-held by this thread
 *
 * A read_unlock while a writer holds @rw is reported and refused; with the
 * validator on since the start (SAFEKERN_LOCKDEP=1 or -DSK_DEBUG), so is
 * one by a thread that holds no read lock on @rw.  After a later
 * sk_lockdep_enable() such an unlock, while another thread read-holds @rw,
 * is trusted: it may be a read lock taken before the validator was on.
 */
#define sk_read_unlock(rw) sk__read_unlock_fast((rw), SK_CALLSITE)

/**
 * sk_write_lock() - acquire an rwlock for writing
 * @rw: the rwlock
 *
 * Relocking for writing while this thread holds the write lock is
 * reported and refused; so is a write lock while this thread holds a read
 * lock on @rw, when the validator is on (without it, that deadlocks, as
 * with pthreads).
 *
 * Context: may sleep.
 */
#define sk_write_lock(rw) sk__write_lock_fast((rw), SK_CALLSITE)

/**
 * sk_write_lock_nested() - acquire for writing an rwlock of a held class
 * @rw: the rwlock
 * @subclass: see sk_mutex_lock_nested()
 */
#define sk_write_lock_nested(rw, subclass) sk__write_lock_nested((rw), (subclass), SK_CALLSITE)

/**
 * sk_write_trylock() - acquire an rwlock for writing if nobody holds it
 * @rw: the rwlock
 *
 * Return: 1 if acquired, 0 otherwise.  Must be checked.
 */
#define sk_write_trylock(rw) sk__write_trylock_fast((rw), SK_CALLSITE)

/**
 * sk_write_unlock() - release a write lock
 * @rw: the rwlock, write-held by this thread
 *
 * Unlocking a write lock this thread does not hold is reported and refused.
 */
#define sk_write_unlock(rw) sk__write_unlock_fast((rw), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Classes, the validator switch
 * ------------------------------------------------------------------------ */

static inline void sk__lockdep_set_class(struct sk_lockdep_map *map,
					 const struct sk_lock_class_key *key, const char *name)
{
	map->key = key;
	if (name)
		map->name = name;
	map->class_id = 0;
}

/**
 * sk_lockdep_set_class() - put a lock in the class of another key
 * @lock: a struct sk_mutex, sk_spinlock or sk_rwlock pointer
 * @key: a struct sk_lock_class_key with static storage duration
 *
 * For locks that are initialised at one site but used in different roles
 * (the kernel's lockdep_set_class()).  Call after init, before first use.
 * With the validator on, a lock whose @key is not static (on the stack or
 * the heap) is reported once (invalid_argument) and ignored by the
 * validator.
 */
#define sk_lockdep_set_class(lock, key) sk__lockdep_set_class(&(lock)->dep_map, (key), NULL)

/**
 * sk_lockdep_set_class_and_name() - as sk_lockdep_set_class(), renaming it
 * @lock: the lock
 * @key: the class key (static storage)
 * @name: the class name (a string with static storage); NULL keeps the
 *	lock's name
 *
 * A class is named once, by the first lock of @key the validator sees;
 * locks that join it later with another name are reported under that one.
 */
#define sk_lockdep_set_class_and_name(lock, key, name)                        \
	sk__lockdep_set_class(&(lock)->dep_map, (key), (name))

/**
 * sk_lockdep_enable() - turn the lock validator on
 *
 * Locks held at this moment are unknown to the validator: their release is
 * trusted.  Call it early (first thing in main()).  It is not the same as
 * SAFEKERN_LOCKDEP=1 or -DSK_DEBUG, which turn it on before any lock
 * operation: after sk_lockdep_enable() an unbalanced sk_read_unlock() of
 * an rwlock another thread read-holds stays unreported (docs/locking.md,
 * "What it does not see").
 *
 * Return: 0, or -ENOSPC if the validator ran out of capacity earlier in
 * this process (it does not restart).
 */
SK_API int sk_lockdep_enable(void);

/**
 * sk_lockdep_disable() - turn the lock validator off
 *
 * The dependency graph is kept; sk_lockdep_enable() resumes with it.
 *
 * Context: no thread may hold a lock or be inside a lock operation.
 * Return: 0, or -EBUSY if the calling thread holds a lock the validator
 * tracks (nothing changes).
 */
SK_API int sk_lockdep_disable(void);

/**
 * sk_lockdep_enabled() - whether the lock validator is on
 *
 * Return: true if it is on.
 */
SK_API bool sk_lockdep_enabled(void);

/* ------------------------------------------------------------------------
 * Assertions: checked at run time in -DSK_DEBUG units, and always tell the
 * thread-safety analysis that the lock is held (assert_capability).
 * ------------------------------------------------------------------------ */

#ifdef SK_DEBUG
#define SK__ASSERT_CALL(fn, lock, what, cs) fn((lock), (what), (cs))
#else
#define SK__ASSERT_CALL(fn, lock, what, cs) ((void)(lock), (void)(cs))
#endif

static inline void sk__assert_held_mutex(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_ASSERT_HELD(m);
static inline void sk__assert_held_mutex(struct sk_mutex *m, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__mutex_assert, m, SK__ASSERT_HELD, cs);
}
static inline void sk__assert_held_spin(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_ASSERT_HELD(l);
static inline void sk__assert_held_spin(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__spin_assert, l, SK__ASSERT_HELD, cs);
}
static inline void sk__assert_held_rwlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ASSERT_HELD_SHARED(rw);
static inline void sk__assert_held_rwlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__rwlock_assert, rw, SK__ASSERT_HELD, cs);
}
static inline void sk__assert_not_held_mutex(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_EXCLUDES(m);
static inline void sk__assert_not_held_mutex(struct sk_mutex *m, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__mutex_assert, m, SK__ASSERT_NOT_HELD, cs);
}
static inline void sk__assert_not_held_spin(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_EXCLUDES(l);
static inline void sk__assert_not_held_spin(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__spin_assert, l, SK__ASSERT_NOT_HELD, cs);
}
static inline void sk__assert_not_held_rwlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_EXCLUDES(rw);
static inline void sk__assert_not_held_rwlock(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__rwlock_assert, rw, SK__ASSERT_NOT_HELD, cs);
}
static inline void sk__assert_held_read(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ASSERT_HELD_SHARED(rw);
static inline void sk__assert_held_read(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__rwlock_assert, rw, SK__ASSERT_HELD_READ, cs);
}
static inline void sk__assert_held_write(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ASSERT_HELD(rw);
static inline void sk__assert_held_write(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	SK__ASSERT_CALL(sk__rwlock_assert, rw, SK__ASSERT_HELD_WRITE, cs);
}

#ifdef __cplusplus
} /* extern "C" */
/* C++: the type-generic assertions are overloads. */
static inline void sk__assert_held(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_ASSERT_HELD(m);
static inline void sk__assert_held(struct sk_mutex *m, const struct sk_callsite *cs)
{
	sk__assert_held_mutex(m, cs);
}
static inline void sk__assert_held(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_ASSERT_HELD(l);
static inline void sk__assert_held(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	sk__assert_held_spin(l, cs);
}
static inline void sk__assert_held(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_ASSERT_HELD_SHARED(rw);
static inline void sk__assert_held(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	sk__assert_held_rwlock(rw, cs);
}
static inline void sk__assert_not_held(struct sk_mutex *m, const struct sk_callsite *cs)
	SK_EXCLUDES(m);
static inline void sk__assert_not_held(struct sk_mutex *m, const struct sk_callsite *cs)
{
	sk__assert_not_held_mutex(m, cs);
}
static inline void sk__assert_not_held(struct sk_spinlock *l, const struct sk_callsite *cs)
	SK_EXCLUDES(l);
static inline void sk__assert_not_held(struct sk_spinlock *l, const struct sk_callsite *cs)
{
	sk__assert_not_held_spin(l, cs);
}
static inline void sk__assert_not_held(struct sk_rwlock *rw, const struct sk_callsite *cs)
	SK_EXCLUDES(rw);
static inline void sk__assert_not_held(struct sk_rwlock *rw, const struct sk_callsite *cs)
{
	sk__assert_not_held_rwlock(rw, cs);
}
#define sk__assert_generic_held(l) sk__assert_held((l), SK_CALLSITE)
#define sk__assert_generic_not_held(l) sk__assert_not_held((l), SK_CALLSITE)
extern "C" {
#else
#define sk__assert_generic_held(l)                                            \
	_Generic((l),                                                         \
		struct sk_mutex *: sk__assert_held_mutex,                     \
		struct sk_spinlock *: sk__assert_held_spin,                   \
		struct sk_rwlock *: sk__assert_held_rwlock)((l), SK_CALLSITE)
#define sk__assert_generic_not_held(l)                                        \
	_Generic((l),                                                         \
		struct sk_mutex *: sk__assert_not_held_mutex,                 \
		struct sk_spinlock *: sk__assert_not_held_spin,               \
		struct sk_rwlock *: sk__assert_not_held_rwlock)((l), SK_CALLSITE)
#endif

/**
 * sk_lockdep_assert_held() - assert that this thread holds a lock
 * @l: a struct sk_mutex, sk_spinlock or sk_rwlock pointer
 *
 * For the thread-safety analysis, @l is held from here on (exclusively; an
 * rwlock at least shared).  In a -DSK_DEBUG unit it is also checked at run
 * time: a lock this thread does not hold (exclusively, or for an rwlock in
 * either mode) is reported (lock_not_held).  A hardened unit compiles it
 * to nothing, as the kernel does without lockdep.  Readers of an rwlock
 * are not recorded: a missing read hold is certain only while the
 * validator is on, when another thread holds the lock for writing, or
 * when nobody holds it at all.
 */
#define sk_lockdep_assert_held(l) sk__assert_generic_held(l)

/**
 * sk_lockdep_assert_not_held() - assert that this thread does not hold a lock
 * @l: a struct sk_mutex, sk_spinlock or sk_rwlock pointer
 *
 * The analysis warns if it believes @l held here.  In a -DSK_DEBUG unit a
 * lock this thread holds is reported (lock_held).
 */
#define sk_lockdep_assert_not_held(l) sk__assert_generic_not_held(l)

/**
 * sk_lockdep_assert_held_read() - assert that this thread read-holds an rwlock
 * @rw: the rwlock
 *
 * As sk_lockdep_assert_held(); at run time (-DSK_DEBUG, validator on) a
 * write hold does not count.
 */
#define sk_lockdep_assert_held_read(rw) sk__assert_held_read((rw), SK_CALLSITE)

/**
 * sk_lockdep_assert_held_write() - assert that this thread write-holds an rwlock
 * @rw: the rwlock
 *
 * For the analysis, @rw is held exclusively from here on.
 */
#define sk_lockdep_assert_held_write(rw) sk__assert_held_write((rw), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Guards (see safekern/cleanup.h): mutex, spinlock, read_lock, write_lock,
 * and the conditional mutex_try, spinlock_try, read_lock_try,
 * write_lock_try.  The lock is taken through a path the thread-safety
 * analysis does not follow, then asserted (sk__class_*_tsa): see the
 * analysis notes in cleanup.h.
 * ------------------------------------------------------------------------ */

#define SK__DEFINE_LOCK_GUARD(_name, _type, _assertfn, _lockfn, _trylockfn, _unlockfn)  \
	typedef _type *sk__class_##_name##_t;                                 \
	typedef _type *sk__class_##_name##_try_t;                             \
	static inline _type *sk__class_##_name##_tsa(_type *l) _assertfn(l);    \
	static inline _type *sk__class_##_name##_tsa(_type *l)                \
	{                                                                     \
		return l;                                                     \
	}                                                                     \
	SK_NO_THREAD_SAFETY_ANALYSIS static inline void                       \
	sk__class_##_name##_destructor(sk__class_##_name##_t *p)              \
	{                                                                     \
		if (*p)                                                       \
			_unlockfn(*p, NULL);                                    \
	}                                                                     \
	SK_NO_THREAD_SAFETY_ANALYSIS static inline _type *                    \
	sk__guard_##_name##_lock(_type *l, const struct sk_callsite *cs)      \
	{                                                                     \
		_lockfn(l, cs);                                                 \
		return l;                                                     \
	}                                                                     \
	SK_NO_THREAD_SAFETY_ANALYSIS static inline _type *                    \
	sk__guard_##_name##_trylock(_type *l, const struct sk_callsite *cs)   \
	{                                                                     \
		return _trylockfn(l, cs) ? l : NULL;                            \
	}                                                                     \
	enum { sk__class_##_name##_unconditional = 1,                         \
	       sk__class_##_name##_try_unconditional = 0 };                   \
	static inline void *sk__class_##_name##_lock_ptr(sk__class_##_name##_t *p) \
	{                                                                     \
		return (void *)*p;                                            \
	}                                                                     \
	/* For the analysis only: see sk__tsa_never() in cleanup.h. */        \
	SK_NO_THREAD_SAFETY_ANALYSIS static inline void                       \
	sk__class_##_name##_tsa_end(_type *l) SK_RELEASES_GENERIC(l);         \
	SK_NO_THREAD_SAFETY_ANALYSIS static inline void                       \
	sk__class_##_name##_tsa_end(_type *l)                                 \
	{                                                                     \
		(void)l;                                                      \
	}

SK__DEFINE_LOCK_GUARD(mutex, struct sk_mutex, SK_ASSERT_HELD, sk__mutex_lock_fast,
		      sk__mutex_trylock_fast, sk__mutex_unlock_fast)
SK__DEFINE_LOCK_GUARD(spinlock, struct sk_spinlock, SK_ASSERT_HELD, sk__spin_lock_fast,
		      sk__spin_trylock_fast, sk__spin_unlock_fast)
SK__DEFINE_LOCK_GUARD(read_lock, struct sk_rwlock, SK_ASSERT_HELD_SHARED, sk__read_lock_fast,
		      sk__read_trylock_fast, sk__read_unlock_fast)
SK__DEFINE_LOCK_GUARD(write_lock, struct sk_rwlock, SK_ASSERT_HELD, sk__write_lock_fast,
		      sk__write_trylock_fast, sk__write_unlock_fast)

/* The constructors are macros so that the guard's line is the call site. */
#define sk__class_mutex_constructor(m) sk__guard_mutex_lock(sk__class_mutex_tsa(m), SK_CALLSITE)
#define sk__class_mutex_try_constructor(m)                                    \
	sk__guard_mutex_trylock(sk__class_mutex_tsa(m), SK_CALLSITE)
#define sk__class_mutex_try_destructor sk__class_mutex_destructor
#define sk__class_mutex_try_lock_ptr sk__class_mutex_lock_ptr
#define sk__class_mutex_try_tsa_end sk__class_mutex_tsa_end

#define sk__class_spinlock_constructor(l)                                     \
	sk__guard_spinlock_lock(sk__class_spinlock_tsa(l), SK_CALLSITE)
#define sk__class_spinlock_try_constructor(l)                                 \
	sk__guard_spinlock_trylock(sk__class_spinlock_tsa(l), SK_CALLSITE)
#define sk__class_spinlock_try_destructor sk__class_spinlock_destructor
#define sk__class_spinlock_try_lock_ptr sk__class_spinlock_lock_ptr
#define sk__class_spinlock_try_tsa_end sk__class_spinlock_tsa_end

#define sk__class_read_lock_constructor(rw)                                   \
	sk__guard_read_lock_lock(sk__class_read_lock_tsa(rw), SK_CALLSITE)
#define sk__class_read_lock_try_constructor(rw)                               \
	sk__guard_read_lock_trylock(sk__class_read_lock_tsa(rw), SK_CALLSITE)
#define sk__class_read_lock_try_destructor sk__class_read_lock_destructor
#define sk__class_read_lock_try_lock_ptr sk__class_read_lock_lock_ptr
#define sk__class_read_lock_try_tsa_end sk__class_read_lock_tsa_end

#define sk__class_write_lock_constructor(rw)                                  \
	sk__guard_write_lock_lock(sk__class_write_lock_tsa(rw), SK_CALLSITE)
#define sk__class_write_lock_try_constructor(rw)                              \
	sk__guard_write_lock_trylock(sk__class_write_lock_tsa(rw), SK_CALLSITE)
#define sk__class_write_lock_try_destructor sk__class_write_lock_destructor
#define sk__class_write_lock_try_lock_ptr sk__class_write_lock_lock_ptr
#define sk__class_write_lock_try_tsa_end sk__class_write_lock_tsa_end

/* ------------------------------------------------------------------------
 * -DSK_DEBUG turns the validator on for the whole process
 * ------------------------------------------------------------------------ */

#ifdef SK_DEBUG
__attribute__((constructor(101))) static void sk__lockdep_debug_ctor(void)
{
	sk__lockdep_debug_unit();
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_LOCK_H */
