/* SPDX-License-Identifier: MIT */
/*
 * lib/lockdep-internal.h - what the lock operations (lib/lock.c) and the
 * lock validator (lib/lockdep.c) share.  Never installed.
 */
#ifndef SAFEKERN_LIB_LOCKDEP_INTERNAL_H
#define SAFEKERN_LIB_LOCKDEP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <safekern/lock.h>

/*
 * sk__lock_slow (declared in lock.h, whose inline fast paths read it):
 * nonzero when every lock operation must take its slow path: the validator
 * is on, or the process runs under helgrind or drd (whose slow path first
 * declares the lock's owner word a benign race).
 */
#define SK__HIDDEN __attribute__((visibility("hidden")))
/* The validator is on. */
extern SK__HIDDEN int sk__lockdep_on;
/* Running under helgrind or drd. */
extern SK__HIDDEN int sk__lock_race_tool;

/* Nonzero if glibc's pthread spinlock or mutex is not the lock word
 * lock.h's inline fast paths assume (SK__LOCK_WORD_INLINE); checked once,
 * at load. */
SK__HIDDEN int sk__lock_words_foreign(void);
/* lib/lock.c takes and releases spinlocks and mutexes with the pthread
 * calls only: a word is foreign, or helgrind, drd or a TSan program watch
 * (they see only the calls).
 * Otherwise it uses the inline words as lock.h does.  Set at load. */
extern SK__HIDDEN int sk__lock_calls_only;

/* Acquisition flags for sk__lockdep_acquire(). */
#define SK__LD_READ 1U	/* a read (shared, recursive) acquisition */
#define SK__LD_TRY 2U	/* a successful trylock: no dependency, no validation */
#define SK__LD_RWLOCK 4U /* the lock is an rwlock (same-instance read/write check) */

enum sk__ld_result {
	SK__LD_UNTRACKED,	/* validator off, lock untracked, or out of capacity */
	SK__LD_TRACKED,		/* pushed on this thread's held-lock stack */
	SK__LD_REFUSED,		/* would self-deadlock: reported, do not lock */
};

/*
 * Before blocking on (or after a successful trylock of) @lock.  Reports
 * what it finds (at most one report per call) and returns what the caller
 * must do.
 */
enum sk__ld_result sk__lockdep_acquire(struct sk_lockdep_map *map, const void *lock,
				       unsigned int subclass, unsigned int flags,
				       const struct sk_callsite *cs, const void *ip);

enum sk__ld_release {
	SK__LD_REL_FOUND,	/* popped */
	SK__LD_REL_MISSING,	/* not on this thread's stack, and the validator
				 * has seen every acquisition of the lock */
	SK__LD_REL_UNKNOWN,	/* not on the stack; it may have been taken
				 * before the validator was on */
};

/* Before releasing @lock (SK__LD_READ in @flags for a read unlock): pops
 * the topmost entry of that mode for it. */
enum sk__ld_release sk__lockdep_release(const struct sk_lockdep_map *map, const void *lock,
					unsigned int flags);

/* Pops the entry of a write acquisition the validator refused; false if
 * there is none (then the unlock is the caller's to judge). */
bool sk__lockdep_release_refused(const void *lock);

/* -1: @lock is not on this thread's stack; else the SK__LD_READ bit of the
 * topmost entry for it. */
int sk__lockdep_held_mode(const void *lock);

/* Where this thread acquired @lock (NULL if unknown). */
const struct sk_callsite *sk__lockdep_held_site(const void *lock);

/* True if the validator has seen every acquisition of @map's lock: it was
 * on from load time and never turned off, and the lock has a class; and
 * this thread's held-lock stack is still there (false once its exit hook
 * has run, for the program's later pthread-key destructors). */
bool sk__lockdep_authoritative(const struct sk_lockdep_map *map);

/* Declares a lock's owner word and class cache as benign races to helgrind
 * and drd (called on slow paths, i.e. under those tools). */
void sk__lock_annotate(uintptr_t *owner, struct sk_lockdep_map *map);

/* Under drd (lib/lock-tools.c; false without the Valgrind headers). */
bool sk__under_drd(void);

#endif
