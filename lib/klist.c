/* SPDX-License-Identifier: MIT */
/*
 * lib/klist.c - struct sk_klist (safekern/klist.h), after the kernel's
 * lib/klist.c.
 *
 * The list, the nodes' links, their dead bits and their counts change only
 * under the klist's lock (k->k_lock); the helpers that touch them are
 * annotated SK_MUST_HOLD(k->k_lock), so clang's thread-safety analysis
 * checks every path here.  n_klist is also read without the lock (by
 * sk_klist_node_attached() and to find a node's klist before locking it),
 * so it is accessed with relaxed atomics; its value only changes from a
 * klist to NULL when the node is released, and a caller that passes the
 * node to del, remove or add_before/behind guarantees that has not
 * happened (it holds the node on the list).
 *
 * sk_klist_remove() sleeps on a condition variable under one global lock,
 * as the kernel's klist_remove() sleeps on a global waiter list: waiters
 * are few, and only the release of a node that a remover waits for
 * (KNODE_WAITED in its word, set under the klist's lock) takes that lock,
 * to take its removers and wake them.  The lock order is k->k_lock, then
 * remove_lock.
 *
 * Each thread keeps a small table of the nodes its iterators hold (the
 * per-thread "holds"), so that a remove that would wait for the calling
 * thread itself is reported instead of hanging.  It is exact while a
 * thread holds at most HOLD_SLOTS distinct nodes; beyond that, holds are
 * only counted, and such a remove may hang as the kernel's would.  The
 * table never claims a hold the thread does not have: a put always
 * decrements the node's slot if there is one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <safekern/klist.h>
#include <safekern/list.h>
#include <safekern/lock.h>
#include <safekern/violation.h>

#include "violation-internal.h"

#define KNODE_DEAD ((uintptr_t)1)
/* An sk_klist_remove() waits for this use's release (set under the lock). */
#define KNODE_WAITED ((uintptr_t)2)
#define KNODE_FLAGS (KNODE_DEAD | KNODE_WAITED)

/* ------------------------------------------------------------------------
 * The node's klist pointer and dead bit
 * ------------------------------------------------------------------------ */

static uintptr_t knode_word(const struct sk_klist_node *n)
{
	return (uintptr_t)__atomic_load_n(&n->n_klist, __ATOMIC_RELAXED);
}

static struct sk_klist *knode_klist(const struct sk_klist_node *n)
{
	return (struct sk_klist *)(knode_word(n) & ~KNODE_FLAGS);
}

static void knode_set_word(struct sk_klist_node *n, uintptr_t w)
{
	__atomic_store_n(&n->n_klist, (void *)w, __ATOMIC_RELAXED);
}

/* The guarded data, reached only with the lock held. */
static struct sk_list_head *klist_head(struct sk_klist *k) SK_MUST_HOLD(k->k_lock);
static struct sk_list_head *klist_head(struct sk_klist *k)
{
	return &k->k_list;
}

static bool knode_dead(struct sk_klist *k, const struct sk_klist_node *n) SK_MUST_HOLD(k->k_lock);
static bool knode_dead(struct sk_klist *k, const struct sk_klist_node *n)
{
	(void)k;
	return knode_word(n) & KNODE_DEAD;
}

/* Whether @n is on @k (alive or dead). */
static bool knode_on(struct sk_klist *k, const struct sk_klist_node *n) SK_MUST_HOLD(k->k_lock);
static bool knode_on(struct sk_klist *k, const struct sk_klist_node *n)
{
	return knode_klist(n) == k;
}

static struct sk_klist_node *to_knode(struct sk_list_head *h)
{
	return sk_container_of(h, struct sk_klist_node, n_node);
}

/* ------------------------------------------------------------------------
 * Per-thread holds (see the top of the file)
 * ------------------------------------------------------------------------ */

#define HOLD_SLOTS 8

struct klist_holds {
	const struct sk_klist_node *node[HOLD_SLOTS];
	unsigned long count[HOLD_SLOTS];
	unsigned long untracked;
};

static __thread struct klist_holds holds __attribute__((tls_model("initial-exec")));

static void hold_get(const struct sk_klist_node *n)
{
	struct klist_holds *h = &holds;
	int free_slot = -1;

	for (int s = 0; s < HOLD_SLOTS; s++) {
		if (h->node[s] == n) {
			h->count[s]++;
			return;
		}
		if (!h->node[s] && free_slot < 0)
			free_slot = s;
	}
	if (free_slot >= 0) {
		h->node[free_slot] = n;
		h->count[free_slot] = 1;
	} else {
		h->untracked++;
	}
}

static void hold_put(const struct sk_klist_node *n)
{
	struct klist_holds *h = &holds;

	for (int s = 0; s < HOLD_SLOTS; s++) {
		if (h->node[s] == n) {
			if (--h->count[s] == 0)
				h->node[s] = NULL;
			return;
		}
	}
	if (h->untracked)
		h->untracked--;
}

/*
 * One step of an iterator: put(@from), then get(@to), in one pass in the
 * common case (the slot @from held alone is handed to @to).  That may give
 * @to a second slot if it already has one; counts stay exact (a put takes
 * from the first slot found), so no hold is ever claimed falsely.
 */
static void hold_move(const struct sk_klist_node *from, const struct sk_klist_node *to)
{
	struct klist_holds *h = &holds;

	if (from && to) {
		for (int s = 0; s < HOLD_SLOTS; s++) {
			if (h->node[s] == from) {
				if (h->count[s] == 1) {
					h->node[s] = to;
					return;
				}
				break;
			}
		}
	}
	if (from)
		hold_put(from);
	if (to)
		hold_get(to);
}

static bool hold_has(const struct sk_klist_node *n)
{
	for (int s = 0; s < HOLD_SLOTS; s++)
		if (holds.node[s] == n)
			return true;
	return false;
}

/* ------------------------------------------------------------------------
 * Waiters of sk_klist_remove()
 * ------------------------------------------------------------------------ */

struct klist_waiter {
	struct sk_list_head list;
	const struct sk_klist_node *node;
	const struct sk_klist *klist; /* the node's klist at the remove */
	bool woken;
	int err; /* sk_klist_remove()'s: 0, or -EUCLEAN (leaked: knode_release_locked()) */
};

static pthread_mutex_t remove_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t remove_cond = PTHREAD_COND_INITIALIZER;
static SK_LIST_HEAD(remove_waiters);

/*
 * Move the sk_klist_remove() callers waiting for @n onto @to.  Called with
 * @n's klist locked, at the moment its last reference goes, if a remover
 * registered (KNODE_WAITED; other releases skip remove_lock): waiters are
 * told apart only by the node's address, and once released @n may be
 * added anew and removed again (or freed, and its address reused) at
 * once, so waking by address after the unlock could wake the remover of
 * that next use while an iterator still holds it.  A remover registers
 * under the klist's lock too, so this use's removers are taken, and a
 * remover of a next use on another klist (whose node read as detached a
 * moment early: knode_release_locked() clears the word first) is told
 * apart by its klist.
 */
static SK_NOINLINE void take_waiters(const struct sk_klist *k, const struct sk_klist_node *n,
				     struct sk_list_head *to)
{
	struct sk_list_head *pos, *tmp;

	sk_init_list_head(to);
	pthread_mutex_lock(&remove_lock);
	for (pos = remove_waiters.next, tmp = pos->next; pos != &remove_waiters;
	     pos = tmp, tmp = pos->next) {
		struct klist_waiter *w = sk_container_of(pos, struct klist_waiter, list);

		if (w->node == n && w->klist == k)
			sk__list_move(&w->list, to, true, "klist_remove", NULL);
	}
	pthread_mutex_unlock(&remove_lock);
}

/* Wake the waiters take_waiters() moved onto @waiters, handing them @err. */
static void wake_waiters(struct sk_list_head *waiters, int err)
{
	struct sk_list_head *pos, *tmp;

	if (sk_list_empty(waiters))
		return;
	pthread_mutex_lock(&remove_lock);
	for (pos = waiters->next, tmp = pos->next; pos != waiters; pos = tmp, tmp = pos->next) {
		struct klist_waiter *w = sk_container_of(pos, struct klist_waiter, list);

		sk__list_del(&w->list, NULL);
		w->err = err;
		w->woken = true;
	}
	pthread_cond_broadcast(&remove_cond);
	pthread_mutex_unlock(&remove_lock);
}

/* ------------------------------------------------------------------------
 * Dropping a reference
 * ------------------------------------------------------------------------ */

/* What a knode_put_locked() did, for finish_release(). */
struct knode_put {
	enum {
		KNODE_KEPT,	/* a reference is left */
		KNODE_RELEASED, /* the last went: unlinked, detached */
		KNODE_LEAKED,	/* the last went, but knode_release_locked() could not unlink */
	} how;
	struct sk_list_head waiters; /* if the last went: the removers of this use of the node */
};

/*
 * The last reference on @n went, with the lock held: unlink it and clear
 * its word, and take this use's removers (if one registered: the word's
 * KNODE_WAITED, read before it is cleared).  Out of line: the walks'
 * steps, which leave the count above zero, do not pay for it.
 *
 * The unlink is checked: a corrupted neighbour is reported, not followed,
 * and then @n stays linked (a walk can still reach it), so it must not be
 * handed to put() to be freed: it keeps its (dead) klist word and is
 * leaked (dead, count 0, still linked: walks skip it, an iterator cannot
 * start at it, and the klist can no longer be destroyed).
 */
static SK_NOINLINE void knode_release_locked(struct sk_klist *k, struct sk_klist_node *n,
					     struct knode_put *put, const char *op,
					     const struct sk_callsite *cs) SK_MUST_HOLD(k->k_lock);
static SK_NOINLINE void knode_release_locked(struct sk_klist *k, struct sk_klist_node *n,
					     struct knode_put *put, const char *op,
					     const struct sk_callsite *cs)
{
	bool waited = knode_word(n) & KNODE_WAITED;

	/* Decided by the unlink, not by reading the word back: once it is
	 * cleared, another thread may add @n to another klist (whose lock it
	 * takes, not ours) and set the word before it is read.  @n is linked
	 * (its word says so), so a link that fails the check is corruption,
	 * whatever it holds: reported as such, at the caller's line. */
	if (sk_likely(sk__list_linked(&n->n_node))) {
		sk__list_unlink_poison(&n->n_node);
		knode_set_word(n, 0);
		put->how = KNODE_RELEASED;
	} else {
		sk__violation(SK_VIOLATION_LIST_CORRUPTION, n, cs, SK__RET_IP,
			      "%s: node %p of klist %p cannot be unlinked at its release (prev "
			      "%p, next %p do not point back to it); left linked and dead, "
			      "put() not called",
			      op, (void *)n, (void *)k, (void *)n->n_node.prev,
			      (void *)n->n_node.next);
		put->how = KNODE_LEAKED;
	}
	if (sk_unlikely(waited))
		take_waiters(k, n, &put->waiters);
	else
		sk_init_list_head(&put->waiters);
}

/*
 * Drop one reference on @n, with the lock held: the list's (@kill: mark it
 * dead first) or an iterator's.  The caller hands @put to finish_release()
 * after unlocking.  Whether @n was leaked, and whose removes end with it,
 * are decided here, under the lock: once released, @n may be added anew
 * at once.
 */
static void knode_put_locked(struct sk_klist *k, struct sk_klist_node *n, bool kill,
			     struct knode_put *put, const char *op, const struct sk_callsite *cs)
	SK_MUST_HOLD(k->k_lock);
static void knode_put_locked(struct sk_klist *k, struct sk_klist_node *n, bool kill,
			     struct knode_put *put, const char *op, const struct sk_callsite *cs)
{
	if (kill)
		knode_set_word(n, knode_word(n) | KNODE_DEAD);
	if (sk__refcount_dec_and_test(&n->n_ref.refcount, cs)) {
		knode_release_locked(k, n, put, op, cs);
		return;
	}
	put->how = KNODE_KEPT;
}

/* finish_release() when the last reference went. */
static SK_NOINLINE void finish_release_slow(struct sk_klist *k, struct sk_klist_node *n,
					    struct knode_put *put)
{
	if (sk_unlikely(put->how == KNODE_LEAKED)) {
		wake_waiters(&put->waiters, -EUCLEAN);
		return;
	}
	if (k->put)
		k->put(n);
	wake_waiters(&put->waiters, 0);
}

/*
 * After the unlock, if @put says the last reference went: the consumer's
 * put(), then this use's removers; only the removers if @n was leaked.
 * (The slow paths stay out of line: inlined, their register saves were
 * paid by every step of every walk.)
 */
static inline void finish_release(struct sk_klist *k, struct sk_klist_node *n,
				  struct knode_put *put)
{
	if (put->how != KNODE_KEPT)
		finish_release_slow(k, n, put);
}

/*
 * May an iterator of @k drop its reference on @n?  It holds one only if
 * @n is on @k and its count leaves the list's own reference (if @n is
 * alive) intact.  Reports and returns false otherwise.
 */
static bool iter_put_ok(struct sk_klist *k, struct sk_klist_node *n, const struct sk_callsite *cs,
			const void *ip) SK_MUST_HOLD(k->k_lock);
static bool iter_put_ok(struct sk_klist *k, struct sk_klist_node *n, const struct sk_callsite *cs,
			const void *ip)
{
	unsigned int refs = sk_kref_read(&n->n_ref);

	if (sk_unlikely(!knode_on(k, n))) {
		sk__violation(SK_VIOLATION_REFCOUNT_UNDERFLOW, n, cs, ip,
			      "klist iterator: node %p is no longer on klist %p: it was released "
			      "already (iterator copied or exited twice?); reference not dropped",
			      (void *)n, (void *)k);
		return false;
	}
	if (sk_unlikely(refs <= (knode_dead(k, n) ? 0U : 1U))) {
		sk__violation(SK_VIOLATION_REFCOUNT_UNDERFLOW, n, cs, ip,
			      "klist iterator: node %p has no iterator reference left (count %u, %s): "
			      "dropping it would release the node %s; reference not dropped",
			      (void *)n, refs, knode_dead(k, n) ? "dead" : "on the list",
			      knode_dead(k, n) ? "twice" : "while it is on the list");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Init, destroy
 * ------------------------------------------------------------------------ */

void sk_klist_init(struct sk_klist *k, void (*get)(struct sk_klist_node *),
		   void (*put)(struct sk_klist_node *))
{
	sk_init_list_head(&k->k_list);
	sk_mutex_init(&k->k_lock);
	k->get = get;
	k->put = put;
}

/*
 * A klist destroyed already (its mutex poisoned by sk_mutex_destroy()):
 * one report, and the operation is refused before it takes or changes
 * anything.  Without it the mutex refused the lock (one report), the
 * operation went ahead unlocked and linked a node into the destroyed
 * klist, and a second destroy made three reports (a review, 2026-11-26).
 */
static bool klist_destroyed(const struct sk_klist *k, const char *op,
			    const struct sk_callsite *cs, const void *ip)
{
	if (sk_likely(sk__lock_owner(&k->k_lock) != SK__LOCK_OWNER_DESTROYED))
		return false;
	sk__violation(SK_VIOLATION_INVALID_ARGUMENT, k, cs, ip,
		      "%s: klist %p was destroyed (initialise it again before use): refused", op,
		      (const void *)k);
	return true;
}

int sk__klist_destroy(struct sk_klist *k, const struct sk_callsite *cs)
{
	bool empty;

	if (sk_unlikely(klist_destroyed(k, "klist_destroy", cs, SK__RET_IP)))
		return -EINVAL;
	sk__mutex_lock(&k->k_lock, cs);
	empty = klist_head(k)->next == klist_head(k);
	sk__mutex_unlock(&k->k_lock, cs);
	if (sk_unlikely(!empty)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, k, cs, SK__RET_IP,
			      "klist_destroy: klist %p still has nodes; not destroyed", (void *)k);
		return -EBUSY;
	}
	sk__mutex_destroy(&k->k_lock, cs);
	return 0;
}

/* ------------------------------------------------------------------------
 * Adding
 * ------------------------------------------------------------------------ */

/* A node to add must be detached.  Reports and returns false if not. */
static bool add_ok(struct sk_klist_node *n, const char *op, const struct sk_callsite *cs,
		   const void *ip)
{
	uintptr_t w = knode_word(n);

	if (sk_likely(!w))
		return true;
	sk__violation(SK_VIOLATION_LIST_DOUBLE_ADD, n, cs, ip,
		      "%s: node %p is %s klist %p; not added", op, (void *)n,
		      (w & KNODE_DEAD) ? "deleted but not yet released from" : "already on",
		      (void *)(w & ~KNODE_FLAGS));
	return false;
}

/* Link @n (get() already called) after @prev / before @next's position. */
/*
 * Returns false if the list checks refused it.  The caller must decide on
 * this result, not on @n afterwards: once the lock is dropped another
 * thread may delete and free @n.
 */
static bool add_locked(struct sk_klist *k, struct sk_klist_node *n, struct sk_list_head *at,
		       bool before, const char *op, const struct sk_callsite *cs)
	SK_MUST_HOLD(k->k_lock);
static bool add_locked(struct sk_klist *k, struct sk_klist_node *n, struct sk_list_head *at,
		       bool before, const char *op, const struct sk_callsite *cs)
{
	sk_kref_init(&n->n_ref);
	if (sk_unlikely(!sk__list_insert(&n->n_node, at, before, op, cs)))
		return false;
	knode_set_word(n, (uintptr_t)k);
	return true;
}

void sk__klist_add(struct sk_klist_node *n, struct sk_klist *k, bool tail,
		   const struct sk_callsite *cs)
{
	const char *op = tail ? "klist_add_tail" : "klist_add_head";
	bool added;

	if (sk_unlikely(!add_ok(n, op, cs, SK__RET_IP) ||
			klist_destroyed(k, op, cs, SK__RET_IP)))
		return;
	if (k->get)
		k->get(n);
	sk__mutex_lock(&k->k_lock, cs);
	added = add_locked(k, n, klist_head(k), tail, op, cs);
	sk__mutex_unlock(&k->k_lock, cs);
	if (sk_unlikely(!added) && k->get && k->put)
		k->put(n); /* refused by the list checks: undo get() */
}

void sk__klist_add_pos(struct sk_klist_node *n, struct sk_klist_node *pos, bool before,
		       const struct sk_callsite *cs)
{
	const char *op = before ? "klist_add_before" : "klist_add_behind";
	struct sk_klist *k;
	bool ok, added = false;

	if (sk_unlikely(!add_ok(n, op, cs, SK__RET_IP)))
		return;
	k = knode_klist(pos);
	if (sk_unlikely(!k)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, pos, cs, SK__RET_IP,
			      "%s: position %p is not on a klist; node %p not added", op,
			      (void *)pos, (void *)n);
		return;
	}
	if (sk_unlikely(klist_destroyed(k, op, cs, SK__RET_IP)))
		return;
	if (k->get)
		k->get(n);
	sk__mutex_lock(&k->k_lock, cs);
	ok = knode_on(k, pos);
	if (sk_likely(ok))
		added = add_locked(k, n, &pos->n_node, before, op, cs);
	sk__mutex_unlock(&k->k_lock, cs);
	if (sk_unlikely(!ok))
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, pos, cs, SK__RET_IP,
			      "%s: position %p left its klist %p; node %p not added", op,
			      (void *)pos, (void *)k, (void *)n);
	if (sk_unlikely(!added) && k->get && k->put)
		k->put(n); /* refused: undo get() (none without a get()) */
}

/* ------------------------------------------------------------------------
 * Deleting
 * ------------------------------------------------------------------------ */

/* Reports a del/remove of a node that is dead or not on a klist. */
static SK_COLD void report_double_del(struct sk_klist_node *n, struct sk_klist *k, const char *op,
				      const struct sk_callsite *cs, const void *ip)
{
	if (!k)
		sk__violation(SK_VIOLATION_LIST_DOUBLE_DEL, n, cs, ip,
			      "%s: node %p is not on a klist (released already, or never added)",
			      op, (void *)n);
	else
		sk__violation(SK_VIOLATION_LIST_DOUBLE_DEL, n, cs, ip,
			      "%s: node %p of klist %p was deleted already (an iterator still "
			      "holds it)",
			      op, (void *)n, (void *)k);
}

/*
 * Delete @n, registering @w (if not NULL: sk_klist_remove()) as a waiter
 * for its release.  Returns 0, or -ENOENT (double delete) or -EDEADLK (a
 * remove of a node this thread holds) after one report.
 */
static int klist_del(struct sk_klist_node *n, struct klist_waiter *w, const char *op,
		     const struct sk_callsite *cs, const void *ip)
{
	struct sk_klist *k = knode_klist(n), *cur = NULL;
	struct knode_put put = { .how = KNODE_KEPT };
	int err = 0;

	if (sk_unlikely(!k)) {
		report_double_del(n, NULL, op, cs, ip);
		return -ENOENT;
	}
	sk__mutex_lock(&k->k_lock, cs);
	if (sk_unlikely(!knode_on(k, n) || knode_dead(k, n))) {
		cur = knode_klist(n);
		err = -ENOENT;
	} else if (w) {
		if (sk_unlikely(hold_has(n))) {
			err = -EDEADLK;
		} else {
			w->klist = k;
			pthread_mutex_lock(&remove_lock);
			sk__list_insert(&w->list, &remove_waiters, true, "klist_remove", NULL);
			pthread_mutex_unlock(&remove_lock);
			/* The release of this use takes its removers (and only
			 * a release of a waited-for node takes remove_lock). */
			knode_set_word(n, knode_word(n) | KNODE_WAITED);
		}
	}
	if (sk_likely(!err))
		knode_put_locked(k, n, true, &put, op, cs);
	sk__mutex_unlock(&k->k_lock, cs);
	if (sk_unlikely(err == -ENOENT))
		report_double_del(n, cur, op, cs, ip);
	else if (sk_unlikely(err == -EDEADLK))
		sk__violation(SK_VIOLATION_LOCK_RECURSION, n, cs, ip,
			      "%s: an iterator of this thread stands on node %p: waiting for its "
			      "release would deadlock; not removed",
			      op, (void *)n);
	else
		finish_release(k, n, &put);
	return err;
}

void sk__klist_del(struct sk_klist_node *n, const struct sk_callsite *cs)
{
	(void)klist_del(n, NULL, "klist_del", cs, SK__RET_IP);
}

int sk__klist_remove(struct sk_klist_node *n, const struct sk_callsite *cs)
{
	struct klist_waiter w = { .node = n, .woken = false, .err = 0 };
	int err;

	err = klist_del(n, &w, "klist_remove", cs, SK__RET_IP);
	if (err)
		return err;
	pthread_mutex_lock(&remove_lock);
	while (!w.woken)
		pthread_cond_wait(&remove_cond, &remove_lock);
	pthread_mutex_unlock(&remove_lock);
	return w.err;
}

/* ------------------------------------------------------------------------
 * Iterating
 * ------------------------------------------------------------------------ */

void sk__klist_iter_init_node(struct sk_klist *k, struct sk_klist_iter *i, struct sk_klist_node *n,
			      const struct sk_callsite *cs)
{
	struct sk_klist *other = NULL;

	i->i_klist = k;
	i->i_cur = NULL;
	if (!n)
		return;
	if (sk_unlikely(klist_destroyed(k, "klist_iter_init_node", cs, SK__RET_IP))) {
		i->i_klist = NULL;
		return;
	}
	sk__mutex_lock(&k->k_lock, cs);
	if (sk_likely(knode_on(k, n))) {
		/* On the list, dead or alive: it has a reference, unless it
		 * was leaked (knode_release_locked()): then as if released. */
		if (sk_likely(sk_kref_read(&n->n_ref))) {
			sk__kref_get(&n->n_ref, cs);
			i->i_cur = n;
		}
	} else {
		other = knode_klist(n);
	}
	sk__mutex_unlock(&k->k_lock, cs);
	if (i->i_cur) {
		hold_get(n);
	} else if (sk_unlikely(other)) {
		i->i_klist = NULL;
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, n, cs, SK__RET_IP,
			      "klist_iter_init_node: node %p is on klist %p, not on %p; the iterator "
			      "is left empty",
			      (void *)n, (void *)other, (void *)k);
	}
	/* Otherwise @n was released: the walk starts at the head. */
}

struct sk_klist_node *sk__klist_next(struct sk_klist_iter *i, bool reverse,
				     const struct sk_callsite *cs)
{
	struct sk_klist *k = i->i_klist;
	struct sk_klist_node *last = i->i_cur, *found = NULL;
	struct sk_list_head *head, *pos;
	struct knode_put put = { .how = KNODE_KEPT };

	if (sk_unlikely(!k))
		return NULL;
	/* (A destroyed klist is empty: an iterator on it holds no node.) */
	if (sk_unlikely(klist_destroyed(k, reverse ? "klist_prev" : "klist_next", cs, SK__RET_IP))) {
		i->i_klist = NULL;
		return NULL;
	}
	sk__mutex_lock(&k->k_lock, cs);
	head = klist_head(k);
	if (last) {
		if (sk_unlikely(!iter_put_ok(k, last, cs, SK__RET_IP))) {
			sk__mutex_unlock(&k->k_lock, cs);
			hold_put(last);
			i->i_cur = NULL;
			return NULL;
		}
		/* Read the link before the put: it may unlink @last. */
		pos = reverse ? last->n_node.prev : last->n_node.next;
		knode_put_locked(k, last, false, &put, reverse ? "klist_prev" : "klist_next", cs);
		/* Reported there: the links next to @last are not to be
		 * followed, so the walk ends (one report, not a second one from
		 * the step). */
		if (sk_unlikely(put.how == KNODE_LEAKED))
			pos = head;
	} else {
		pos = reverse ? head->prev : head->next;
	}
	while (pos != head) {
		struct sk_klist_node *n;

		/* Before container_of(): arithmetic on NULL or a poison is undefined. */
		if (sk_unlikely(sk__list_bad(pos))) {
			sk__violation(SK_VIOLATION_LIST_CORRUPTION, k, cs, SK__RET_IP,
				      "klist_%s: a link of klist %p is %p; walk ended",
				      reverse ? "prev" : "next", (void *)k, (void *)pos);
			break;
		}
		n = to_knode(pos);
		if (sk_likely(!knode_dead(k, n))) {
			sk__kref_get(&n->n_ref, cs);
			found = n;
			break;
		}
		pos = reverse ? pos->prev : pos->next;
	}
	i->i_cur = found;
	sk__mutex_unlock(&k->k_lock, cs);
	hold_move(last, found);
	finish_release(k, last, &put);
	return found;
}

void sk__klist_iter_exit(struct sk_klist_iter *i, const struct sk_callsite *cs)
{
	struct sk_klist *k = i->i_klist;
	struct sk_klist_node *n = i->i_cur;
	struct knode_put put = { .how = KNODE_KEPT };
	bool ok;

	if (!n || !k)
		return;
	sk__mutex_lock(&k->k_lock, cs);
	ok = iter_put_ok(k, n, cs, SK__RET_IP);
	if (sk_likely(ok))
		knode_put_locked(k, n, false, &put, "klist_iter_exit", cs);
	sk__mutex_unlock(&k->k_lock, cs);
	i->i_cur = NULL;
	hold_put(n);
	finish_release(k, n, &put);
}
