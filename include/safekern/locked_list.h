/* SPDX-License-Identifier: MIT */
/*
 * safekern/locked_list.h - a list, its length and its lock in one
 * container, every access to the list checked against the lock by the
 * compiler (clang -Wthread-safety) and, at the debug level, at run time
 *
 * Theory of operation
 * ===================
 *
 * struct sk_locked_list is the "lock-annotated container" of
 * safekern/lock.h (docs/locking.md) applied to the hardened list of
 * safekern/list.h: a struct sk_mutex, a list head and an entry count.
 * The head and the count are private; every operation that touches them
 * is an inline function annotated SK_MUST_HOLD(l->lock), so with clang's
 * -Wthread-safety (part of this project's warning set; add it to yours)
 * a call without the lock does not compile:
 *
 *   sk_locked_list_add(&e->node, &q);      error: calling function
 *                                          'sk__locked_list_add' requires
 *                                          holding mutex 'q.lock' exclusively
 *
 * Take the lock with sk_mutex_lock(&l->lock) / sk_mutex_unlock(), or a
 * guard: sk_guard(mutex)(&l->lock), sk_scoped_guard(mutex, &l->lock).
 *
 * Run-time check (debug, -DSK_DEBUG in the calling unit): every operation
 * first checks that the calling thread holds l->lock (the owner the mutex
 * records in every build); if not, it is reported
 * (SK_VIOLATION_LOCK_NOT_HELD) once and refused: the list and its count
 * are left as they were.  A walk without the lock is reported once at its
 * start and then proceeds (there is nothing to undo).  This catches what
 * the compiler cannot see: gcc builds, code built without
 * -Wthread-safety, calls through SK_NO_THREAD_SAFETY_ANALYSIS functions.
 * Hardened units compile the check to nothing (as the kernel compiles
 * lockdep_assert_held() without lockdep); the list's own hardened checks
 * (safekern/list.h) apply at both levels.
 *
 * RCU readers alongside
 * ---------------------
 *
 * With safekern/rculist.h included (after a liburcu flavour header), the
 * list also takes the _rcu writers, sk_locked_list_add_rcu() and friends
 * (the same SK_MUST_HOLD annotations and debug checks), and readers may
 * walk it without the lock, inside a read-side critical section, with
 * sk_locked_list_for_each_entry_rcu().  This is the easy way to meet
 * rculist's rule that writers serialise among themselves: the mutex does
 * it, and the compiler checks it.  On a list that readers walk without the
 * lock, use only the _rcu writers (the plain ones poison ->next under a
 * reader's feet) and free deleted entries after a grace period
 * (sk_kfree_rcu()).
 *
 * Memory ordering
 * ---------------
 *
 * That of the mutex: everything done under the lock is visible to the next
 * holder.  The _rcu writers add release publication for lock-free readers
 * (safekern/rculist.h).  The count is plain data under the lock: read it
 * with sk_locked_list_len() under the lock.
 *
 * Failure behaviour
 * -----------------
 *
 * A refused operation (lock not held at the debug level, or a failed
 * hardened list check) makes one report through the violation channel and
 * writes nothing: neither the list nor the count change.  Under the
 * default abort policy the process stops.  The count moves only when the
 * list operation succeeded, so it equals the number of entries as long as
 * no misuse went undetected.  Two go undetected, as in the kernel,
 * because catching them would cost a walk: adding an entry that is
 * already on the list away from the insertion point, and deleting or
 * moving an entry through a locked list it is not on while that list is
 * not empty (when it is empty, the count shows it: reported and refused).
 * The counts are then wrong.
 *
 * Who may call what concurrently
 * ------------------------------
 *
 *   | operation                                    | needs                 | concurrent with |
 *   |----------------------------------------------|-----------------------|-----------------|
 *   | add, add_tail, del, del_init, move, move_tail | l->lock              | RCU readers only (with the _rcu forms, below) |
 *   | first_entry_or_null, empty, len, head, for_each_entry(_safe) | l->lock | RCU readers |
 *   | add_rcu, add_tail_rcu, del_rcu, replace_rcu  | l->lock               | RCU readers (sk_locked_list_for_each_entry_rcu) |
 *   | for_each_entry_rcu, first_or_null_rcu        | a read-side critical section | everything but init/destroy |
 *   | init, destroy                                | no other user         | nothing |
 */
#ifndef SAFEKERN_LOCKED_LIST_H
#define SAFEKERN_LOCKED_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include <safekern/cleanup.h>
#include <safekern/compiler.h>
#include <safekern/list.h>
#include <safekern/lock.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct sk_locked_list - a list with its entry count and the lock that guards both
 * @lock: the mutex; take it with sk_mutex_lock(&l->lock) or a guard
 * @head_: the list head (private: reach it through sk_locked_list_head())
 * @len_: the number of entries (private: sk_locked_list_len())
 *
 * Initialise with sk_locked_list_init(), destroy with
 * sk_locked_list_destroy().
 */
struct sk_locked_list {
	struct sk_mutex lock;
	struct sk_list_head head_; /* guarded by lock */
	size_t len_;		   /* guarded by lock */
};

/*
 * sk__locked_list_not_held() - internal (lib/locked_list.c), debug: true,
 * after one report (SK_VIOLATION_LOCK_NOT_HELD) naming @op, if the calling
 * thread does not hold @l->lock.
 */
SK_API bool sk__locked_list_not_held(const struct sk_locked_list *l, const char *op,
				     const struct sk_callsite *cs) SK_NONNULL(1);

/*
 * sk__locked_list_report_unlisted() - internal (lib/locked_list.c): a
 * delete of an entry on no list (it points to itself: initialised, or
 * deleted with del_init), which would otherwise count it off @l.
 */
SK_API SK_COLD SK_NOINLINE void sk__locked_list_report_unlisted(const struct sk_locked_list *l,
							       const struct sk_list_head *entry,
							       const char *op,
							       const struct sk_callsite *cs);

/*
 * sk__locked_list_foreign() - internal (lib/locked_list.c): a listed entry
 * deleted or moved through an empty list is another list's; reported, true.
 * False for an entry the list checks will refuse themselves (NULL or
 * poisoned links).
 */
SK_API SK_COLD SK_NOINLINE bool sk__locked_list_foreign(const struct sk_locked_list *l,
							const struct sk_list_head *entry,
							const char *op, const struct sk_callsite *cs);

/*
 * sk__locked_list_report_head() - internal (lib/locked_list.c): the list's
 * own head passed where an entry of it is expected (a for_each cursor
 * used after a search that found nothing points there); reported.
 */
SK_API SK_COLD SK_NOINLINE void sk__locked_list_report_head(const struct sk_locked_list *l,
							    const char *op,
							    const struct sk_callsite *cs);

/* @entry is @l's own head: reported, true. */
#define SK__LL_IS_HEAD(l, entry, op, cs)                                      \
	(sk_unlikely((entry) == &(l)->head_) && (sk__locked_list_report_head((l), (op), (cs)), true))

/* An entry that points to itself (NULL and poison are the list's checks). */
#define SK__LL_UNLISTED(entry) (!(SK__LIST_DEBUG && sk__list_bad(entry)) && (entry)->next == (entry))

#ifdef SK_DEBUG
#define SK__LL_NOT_HELD(l, op, cs) sk_unlikely(sk__locked_list_not_held((l), (op), (cs)))
#else
#define SK__LL_NOT_HELD(l, op, cs) ((void)(l), (void)(op), (void)(cs), false)
#endif

/* ------------------------------------------------------------------------
 * Initialisation
 * ------------------------------------------------------------------------ */

/**
 * sk_locked_list_init() - initialise an empty locked list
 * @l: the list (caller memory)
 *
 * The mutex is initialised as by sk_mutex_init(): all locked lists
 * initialised by this line form one lock class.  Pair with
 * sk_locked_list_destroy().
 *
 * Context: @l must not be in use.
 */
#define sk_locked_list_init(l)                                                \
	do {                                                                  \
		struct sk_locked_list *sk__lli = (l);                         \
		sk_mutex_init(&sk__lli->lock);                                \
		sk_init_list_head(&sk__lli->head_);                           \
		sk__lli->len_ = 0;                                            \
	} while (0)

/**
 * sk_locked_list_destroy() - destroy a locked list's mutex
 * @l: the list
 *
 * As sk_mutex_destroy() (destroying a held lock is reported and refused).
 * The entries still on the list, if any, are the caller's: they are not
 * touched.
 *
 * Context: no other thread uses @l; the caller does not hold @l->lock.
 */
#define sk_locked_list_destroy(l) sk_mutex_destroy(&(l)->lock)

/* ------------------------------------------------------------------------
 * Accessors (the lock held)
 * ------------------------------------------------------------------------ */

static inline struct sk_list_head *sk__locked_list_head(struct sk_locked_list *l, const char *op,
							 const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline struct sk_list_head *sk__locked_list_head(struct sk_locked_list *l, const char *op,
							 const struct sk_callsite *cs)
{
	(void)SK__LL_NOT_HELD(l, op, cs); /* reported; an access is not refused */
	return &l->head_;
}

/**
 * sk_locked_list_head() - the underlying list head
 * @l: the list
 *
 * For the read-only operations of safekern/list.h that this header does
 * not wrap (sk_list_is_singular(), sk_list_for_each_entry_reverse(), ...).
 * Do not add or delete entries through it: the count would be wrong.
 * Debug: reported if the lock is not held (the head is still returned).
 *
 * Context: @l->lock held (checked by clang -Wthread-safety).
 * Return: the &struct sk_list_head of @l.
 */
#define sk_locked_list_head(l) sk__locked_list_head((l), "locked_list_head", SK_CALLSITE)

static inline size_t sk__locked_list_len(struct sk_locked_list *l, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline size_t sk__locked_list_len(struct sk_locked_list *l, const struct sk_callsite *cs)
{
	(void)SK__LL_NOT_HELD(l, "locked_list_len", cs); /* reported; not refused */
	return l->len_;
}

/**
 * sk_locked_list_len() - the number of entries
 * @l: the list
 *
 * O(1): the count is kept by every operation of this header.  Debug:
 * reported if the lock is not held (the value is still returned).
 *
 * Context: @l->lock held.
 * Return: the number of entries on @l.
 */
#define sk_locked_list_len(l) sk__locked_list_len((l), SK_CALLSITE)

static inline bool sk__locked_list_empty(struct sk_locked_list *l, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_empty(struct sk_locked_list *l, const struct sk_callsite *cs)
{
	return sk__list_empty(sk__locked_list_head(l, "locked_list_empty", cs), cs);
}

/**
 * sk_locked_list_empty() - is the list empty?
 * @l: the list
 *
 * Debug: reported if the lock is not held (the answer is still given).
 *
 * Context: @l->lock held.
 * Return: true if @l has no entries.
 */
#define sk_locked_list_empty(l) sk__locked_list_empty((l), SK_CALLSITE)

/**
 * sk_locked_list_first_entry_or_null() - the first entry, or NULL
 * @l: the list
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * Context: @l->lock held.
 * Return: the first entry, or NULL if the list is empty.
 */
#define sk_locked_list_first_entry_or_null(l, type, member)                   \
	__extension__({                                                       \
		struct sk_list_head *sk__llf = sk__list_first_or_null(        \
			sk__locked_list_head((l), "locked_list_first_entry_or_null", SK_CALLSITE), \
			SK_CALLSITE);                                         \
		sk__llf ? sk_list_entry(sk__llf, type, member) : (type *)NULL; \
	})

/* ------------------------------------------------------------------------
 * Adding, deleting, moving (the lock held)
 * ------------------------------------------------------------------------ */

static inline bool sk__locked_list_add(struct sk_list_head *entry, struct sk_locked_list *l,
				       bool tail, const char *op, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_add(struct sk_list_head *entry, struct sk_locked_list *l,
				       bool tail, const char *op, const struct sk_callsite *cs)
{
	if (SK__LL_NOT_HELD(l, op, cs))
		return false;
	if (sk_unlikely(!sk__list_insert(entry, &l->head_, tail, op, cs)))
		return false;
	l->len_++;
	return true;
}

/**
 * sk_locked_list_add() - add an entry at the front
 * @new: the entry (not on a list)
 * @l: the list
 *
 * Checked as sk_list_add(); debug: the lock.  On a failed check: one
 * report, nothing written.
 *
 * Context: @l->lock held (checked by clang -Wthread-safety).
 */
#define sk_locked_list_add(new, l)                                            \
	((void)sk__locked_list_add((new), (l), false, "locked_list_add", SK_CALLSITE))

/**
 * sk_locked_list_add_tail() - add an entry at the back
 * @new: the entry (not on a list)
 * @l: the list
 *
 * Checked as sk_list_add_tail(); debug: the lock.
 *
 * Context: @l->lock held.
 */
#define sk_locked_list_add_tail(new, l)                                       \
	((void)sk__locked_list_add((new), (l), true, "locked_list_add_tail", SK_CALLSITE))

static inline bool sk__locked_list_del(struct sk_list_head *entry, struct sk_locked_list *l,
				       bool init, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_del(struct sk_list_head *entry, struct sk_locked_list *l,
				       bool init, const struct sk_callsite *cs)
{
	const char *op = init ? "locked_list_del_init" : "locked_list_del";

	if (SK__LL_NOT_HELD(l, op, cs))
		return false;
	if (SK__LL_IS_HEAD(l, entry, op, cs))
		return false;
	if (init) {
		/* Already deleted with del_init (on no list): the kernel's
		 * harmless no-op; the count is not the entry's to drop. */
		if (SK__LL_UNLISTED(entry))
			return true;
		if (sk_unlikely(!l->len_) && sk__locked_list_foreign(l, entry, op, cs))
			return false;
		if (sk_unlikely(!sk__list_del_init(entry, cs)))
			return false;
	} else {
		/* The kernel's list_del() would poison it; here it would
		 * also be counted off a list it is not on. */
		if (sk_unlikely(SK__LL_UNLISTED(entry))) {
			sk__locked_list_report_unlisted(l, entry, op, cs);
			return false;
		}
		/* A listed entry and an empty @l: it is on another list. */
		if (sk_unlikely(!l->len_) && sk__locked_list_foreign(l, entry, op, cs))
			return false;
		if (sk_unlikely(!sk__list_del(entry, cs)))
			return false;
	}
	l->len_--;
	return true;
}

/**
 * sk_locked_list_del() - delete an entry
 * @entry: the entry (on @l)
 * @l: the list it is on
 *
 * The entry is poisoned, as by sk_list_del().  Checked as sk_list_del()
 * (a second delete is reported), and an entry on no list (initialised, or
 * deleted with sk_locked_list_del_init()) is reported
 * (SK_VIOLATION_LIST_DOUBLE_DEL) and left as it is, the count too; so is
 * the list's own head (SK_VIOLATION_INVALID_ARGUMENT: a walk's cursor
 * after the walk ended points there); debug: the lock.
 *
 * Context: @l->lock held.
 */
#define sk_locked_list_del(entry, l) ((void)sk__locked_list_del((entry), (l), false, SK_CALLSITE))

/**
 * sk_locked_list_del_init() - delete an entry and reinitialise it
 * @entry: the entry (on @l)
 * @l: the list it is on
 *
 * As sk_list_del_init(): the entry is left an empty list, and a second
 * call (on an entry on no list) is a harmless no-op that leaves the count
 * alone.  Do not call it on an entry of another list (the count would
 * drop).  The list's own head is reported and refused, as for
 * sk_locked_list_del().
 *
 * Context: @l->lock held.
 */
#define sk_locked_list_del_init(entry, l)                                     \
	((void)sk__locked_list_del((entry), (l), true, SK_CALLSITE))

static inline bool sk__locked_list_move(struct sk_list_head *entry, struct sk_locked_list *l,
					bool tail, const char *op, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_move(struct sk_list_head *entry, struct sk_locked_list *l,
					bool tail, const char *op, const struct sk_callsite *cs)
{
	bool unlisted;

	if (SK__LL_NOT_HELD(l, op, cs))
		return false;
	/* An entry on no list (initialised, or del_init'ed) joins @l. */
	unlisted = SK__LL_UNLISTED(entry);
	if (sk_unlikely(!unlisted && !l->len_) && sk__locked_list_foreign(l, entry, op, cs))
		return false;
	if (sk_unlikely(!sk__list_move(entry, &l->head_, tail, op, cs)))
		return false;
	l->len_ += unlisted;
	return true;
}

/**
 * sk_locked_list_move() - move an entry of the list to its front
 * @entry: the entry (on @l)
 * @l: the list
 *
 * Checked as sk_list_move(); the count does not change, unless @entry
 * was on no list (an empty list, as left by sk_init_list_head() or
 * sk_locked_list_del_init()): then, as in the kernel, it is added, and
 * counted.  Not for an entry of another locked list (neither count would
 * move): take it off with sk_locked_list_del() and add it, under both
 * locks.  Such a move into an empty @l is reported
 * (SK_VIOLATION_INVALID_ARGUMENT) and refused; so is a delete through an
 * empty @l, so a count gone wrong never wraps.
 *
 * Context: @l->lock held.
 */
#define sk_locked_list_move(entry, l)                                         \
	((void)sk__locked_list_move((entry), (l), false, "locked_list_move", SK_CALLSITE))

/**
 * sk_locked_list_move_tail() - move an entry of the list to its back (an LRU touch)
 * @entry: the entry (on @l)
 * @l: the list
 *
 * Checked as sk_list_move_tail(); the count does not change, unless
 * @entry was on no list (see sk_locked_list_move()).
 *
 * Context: @l->lock held.
 */
#define sk_locked_list_move_tail(entry, l)                                    \
	((void)sk__locked_list_move((entry), (l), true, "locked_list_move_tail", SK_CALLSITE))

/* ------------------------------------------------------------------------
 * Iteration (the lock held)
 * ------------------------------------------------------------------------ */

/*
 * The walks run sk_list_for_each_entry*() inside a loop of one iteration
 * that fetches the head once, through the checked accessor: a break in
 * the body leaves both loops.
 */
#define sk__locked_list_for_each_entry(pos, l, member, h)                     \
	for (struct sk_list_head *h = sk__locked_list_head((l), "locked_list_for_each_entry", \
							  SK_CALLSITE);        \
	     h; h = NULL)                                                     \
		sk_list_for_each_entry(pos, h, member)

/**
 * sk_locked_list_for_each_entry() - walk the entries under the lock
 * @pos: the entry cursor (a pointer to the containing type)
 * @l: the list
 * @member: the &struct sk_list_head within the entry
 *
 * The hardened walk of sk_list_for_each_entry().  Debug: a walk without
 * the lock is reported once, at its start.  Do not delete the current
 * entry (use sk_locked_list_for_each_entry_safe()).
 *
 * Context: @l->lock held for the whole walk.
 */
#define sk_locked_list_for_each_entry(pos, l, member)                         \
	sk__locked_list_for_each_entry(pos, l, member, SK__UNIQUE_ID(llh))

#define sk__locked_list_for_each_entry_safe(pos, n, l, member, h)             \
	for (struct sk_list_head *h = sk__locked_list_head((l), "locked_list_for_each_entry_safe", \
							  SK_CALLSITE);        \
	     h; h = NULL)                                                     \
		sk_list_for_each_entry_safe(pos, n, h, member)

/**
 * sk_locked_list_for_each_entry_safe() - walk the entries, allowing the current one's removal
 * @pos: the entry cursor
 * @n: another entry pointer, the lookahead
 * @l: the list
 * @member: the &struct sk_list_head within the entry
 *
 * The body may sk_locked_list_del() (or _del_init) the current entry.
 *
 * Context: @l->lock held for the whole walk.
 */
#define sk_locked_list_for_each_entry_safe(pos, n, l, member)                 \
	sk__locked_list_for_each_entry_safe(pos, n, l, member, SK__UNIQUE_ID(llh))

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_LOCKED_LIST_H */
