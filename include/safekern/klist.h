/* SPDX-License-Identifier: MIT */
/*
 * safekern/klist.h - struct sk_klist: the kernel's klist, a list whose
 * nodes are reference counted so that iterators and deleters may run at
 * the same time
 *
 * Theory of operation
 * ===================
 *
 * A struct sk_klist is a list head, the lock that protects it (a struct
 * sk_mutex) and two callbacks, get() and put(), that the consumer uses to
 * hold the object embedding a node while the node is on the list.  Each
 * struct sk_klist_node carries a reference count (a struct sk_kref):
 *
 *   - the list holds one reference from sk_klist_add_*() until
 *     sk_klist_del() (or sk_klist_remove());
 *   - an iterator holds one reference on the node it stands on, taken by
 *     sk_klist_next()/sk_klist_prev() under the lock and dropped when it
 *     moves on or exits.
 *
 * So the lock is held only for one step at a time, never across the
 * caller's loop body, and any thread may delete any node meanwhile,
 * including the one an iterator stands on.  A deleted node is marked dead
 * at once (iterators skip it, sk_klist_node_attached() still says true)
 * and leaves the list when its last reference goes: when the last
 * iterator standing on it moves on, or at once if none does.  At that
 * moment, exactly once per add, the node is unlinked, detached
 * (sk_klist_node_attached() turns false) and put(node) is called: that is
 * the "release" of the node, and the consumer may free the node from
 * put() or after it.  sk_klist_remove() deletes and then sleeps until the
 * release has happened (put() has returned).
 *
 * An iterator sees every node that was on the list, not dead, for the
 * whole walk, exactly once, in list order; a node added or deleted during
 * the walk may or may not be seen.
 *
 * Nodes start detached: a node must be zeroed (static storage,
 * sk_kzalloc(), "= { 0 }") or set with SK_KLIST_NODE_INIT before its first
 * add.  After its release it is detached again and may be added anew.
 *
 * Memory ordering
 * ---------------
 *
 * Every operation that touches the list or a node's count does so under
 * the klist's lock: what a thread wrote before adding a node is visible to
 * every iterator that returns it; what an iterator's thread wrote before
 * it moved on (or a deleter before sk_klist_del()) is visible to the
 * thread that calls put() for that node, and to sk_klist_remove()'s caller
 * when it returns.  sk_klist_node_attached() is a relaxed load: a hint
 * unless the caller's own synchronisation orders it.
 *
 * Failure behaviour
 * -----------------
 *
 * Misuse is reported through the violation channel (safekern/violation.h)
 * and refused, leaving the list and the node as they were:
 *
 *   misuse                                            kind
 *   ------------------------------------------------------------------------
 *   add of a node that is attached (or dead, not       list_double_add
 *     yet released) to any klist
 *   add before/behind a node that is not on a klist    invalid_argument
 *   del or remove of a node already deleted, or not    list_double_del
 *     on a klist
 *   sk_klist_iter_init_node() with a node of another   invalid_argument
 *     klist (the iterator is left empty)
 *   sk_klist_remove() of a node an iterator of the     lock_recursion
 *     calling thread stands on (it would wait for      (returns -EDEADLK;
 *     itself forever)                                   the node stays)
 *   dropping an iterator reference the iterator does   refcount_underflow
 *     not own (a copied iterator exited twice): the     (the walk ends)
 *     node would be released twice, or while on
 *     the list.  Caught only when the count shows it:
 *     with another iterator on the same node, the
 *     second drop goes unreported and uses up that
 *     iterator's reference
 *   the hardened list checks on the links              list_corruption, ...
 *   a node whose neighbour's link is corrupted when    list_corruption
 *     it is released: it stays linked, put() is not    (leaked; remove
 *     called; a next/prev that released it ends the    returns -EUCLEAN)
 *     walk
 *
 * Who may call what concurrently
 * ------------------------------
 *
 * ========================  ==============================================
 * operation                 may run concurrently with
 * ========================  ==============================================
 * add_head/tail/before/     every operation on the klist, except init and
 * behind, del, remove       destroy; not two of them on one node
 * iter_init(_node), next,   everything except init and destroy; each
 * prev, iter_exit           iterator is used by one thread at a time,
 *                           the thread that initialised it
 * node_attached             anything (a relaxed hint)
 * init, destroy             nothing on the same klist
 * ========================  ==============================================
 *
 * get() is called before the lock is taken, put() after it is released:
 * both may take the klist's lock (by calling sk_klist_*()) and may sleep.
 * No operation holds the klist's lock when it returns.
 */
#ifndef SAFEKERN_KLIST_H
#define SAFEKERN_KLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <safekern/compiler.h>
#include <safekern/kref.h>
#include <safekern/list.h>
#include <safekern/lock.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_klist_node;

/**
 * struct sk_klist - a list of reference-counted nodes
 * @k_lock: the lock; everything below is guarded by it (reached only
 *	through the library's SK_MUST_HOLD(k->k_lock) accessors)
 * @k_list: the list head (guarded by @k_lock; private)
 * @get: called with each node as it is added (may be NULL)
 * @put: called with each node when it is released (may be NULL)
 *
 * Initialise with sk_klist_init(), SK_DEFINE_KLIST() or SK_KLIST_INIT();
 * destroy with sk_klist_destroy().  All members are private.
 */
struct sk_klist {
	struct sk_mutex k_lock;
	struct sk_list_head k_list;
	void (*get)(struct sk_klist_node *n);
	void (*put)(struct sk_klist_node *n);
};

/**
 * struct sk_klist_node - a node of a klist, embedded in the consumer's object
 * @n_klist: the klist, and the dead bit (private; sk_klist_node_attached())
 * @n_node: the links (guarded by the klist's lock; private)
 * @n_ref: the list's and the iterators' references (private)
 *
 * Must be zeroed (or SK_KLIST_NODE_INIT) before the first add.
 */
struct sk_klist_node {
	void *n_klist;
	struct sk_list_head n_node;
	struct sk_kref n_ref;
};

/**
 * struct sk_klist_iter - a position in a klist
 * @i_klist: the klist walked (private)
 * @i_cur: the node the iterator stands on and holds, or NULL (private)
 */
struct sk_klist_iter {
	struct sk_klist *i_klist;
	struct sk_klist_node *i_cur;
};

/**
 * SK_KLIST_NODE_INIT - initialiser for a detached node
 *
 * ``struct item it = { .node = SK_KLIST_NODE_INIT };``  Equivalent to
 * zeroing the node.
 */
#define SK_KLIST_NODE_INIT { NULL, { NULL, NULL }, SK_KREF_INIT(0) }

/**
 * SK_KLIST_INIT() - static initialiser for an empty klist
 * @name: the variable being initialised (its lock is named after it)
 * @get: the get callback, or NULL
 * @put: the put callback, or NULL
 *
 * For a klist with static storage duration (its lock class is keyed by
 * the lock's address, see SK_MUTEX_INITIALIZER()).
 */
#define SK_KLIST_INIT(name, get, put)                                         \
	{ SK_MUTEX_INITIALIZER(name.k_lock), SK_LIST_HEAD_INIT(name.k_list), (get), (put) }

/**
 * SK_DEFINE_KLIST() - define an empty static klist
 * @name: the variable name
 * @get: the get callback, or NULL
 * @put: the put callback, or NULL
 */
#define SK_DEFINE_KLIST(name, get, put) struct sk_klist name = SK_KLIST_INIT(name, get, put)

/**
 * sk_klist_init() - initialise an empty klist
 * @k: the klist (caller memory)
 * @get: called with each node when it is added, before the lock is taken
 *	(the kernel's use: take a reference on the embedding object); or NULL
 * @put: called with each node when it is released, after the lock is
 *	dropped: once per add; or NULL.  An add that the list checks refuse
 *	after get() was called calls put() to undo it (never without a get())
 *
 * The locks of all klists initialised here form one lock class.
 *
 * Context: @k must not be in use.
 */
SK_API void sk_klist_init(struct sk_klist *k, void (*get)(struct sk_klist_node *),
			  void (*put)(struct sk_klist_node *)) SK_NONNULL(1);

SK_API int sk__klist_destroy(struct sk_klist *k, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_EXCLUDES(k->k_lock);

/**
 * sk_klist_destroy() - destroy an empty klist (the lock)
 * @k: the klist
 *
 * A klist that still has nodes (dead or alive) is reported
 * (invalid_argument) and left as it was; one with a node leaked by a
 * corrupted neighbour (see sk_klist_remove()) can never be destroyed.
 * Any later use of a destroyed klist (add, an iterator's init at a node or
 * step, a second destroy) is reported once (invalid_argument) and refused
 * until it is initialised again.
 *
 * Context: no other thread may use @k.
 * Return: 0, -EBUSY if @k is not empty, -EINVAL if it was destroyed.
 */
#define sk_klist_destroy(k) sk__klist_destroy((k), SK_CALLSITE)

SK_API void sk__klist_add(struct sk_klist_node *n, struct sk_klist *k, bool tail,
			  const struct sk_callsite *cs) SK_NONNULL(1, 2) SK_EXCLUDES(k->k_lock);
SK_API void sk__klist_add_pos(struct sk_klist_node *n, struct sk_klist_node *pos, bool before,
			      const struct sk_callsite *cs) SK_NONNULL(1, 2);

/**
 * sk_klist_add_head() - add a node at the head of a klist
 * @n: the node (detached)
 * @k: the klist
 *
 * Calls k->get(@n), then links @n first.  A node that is attached to a
 * klist (or dead and not yet released) is reported (list_double_add) and
 * nothing happens (get() is not called).
 *
 * Context: any thread; takes @k's lock.
 */
#define sk_klist_add_head(n, k) sk__klist_add((n), (k), false, SK_CALLSITE)

/**
 * sk_klist_add_tail() - add a node at the tail of a klist
 * @n: the node (detached)
 * @k: the klist
 *
 * As sk_klist_add_head(), linking @n last.
 *
 * Context: any thread; takes @k's lock.
 */
#define sk_klist_add_tail(n, k) sk__klist_add((n), (k), true, SK_CALLSITE)

/**
 * sk_klist_add_behind() - add a node after another
 * @n: the node (detached)
 * @pos: a node on a klist (the caller keeps it there); may be dead
 *
 * As sk_klist_add_head(), on @pos's klist.  A @pos that is not on a klist
 * is reported (invalid_argument) and nothing happens.
 *
 * Context: any thread; takes the klist's lock.
 */
#define sk_klist_add_behind(n, pos) sk__klist_add_pos((n), (pos), false, SK_CALLSITE)

/**
 * sk_klist_add_before() - add a node before another
 * @n: the node (detached)
 * @pos: a node on a klist (the caller keeps it there); may be dead
 *
 * As sk_klist_add_behind(), linking @n just before @pos.
 *
 * Context: any thread; takes the klist's lock.
 */
#define sk_klist_add_before(n, pos) sk__klist_add_pos((n), (pos), true, SK_CALLSITE)

SK_API void sk__klist_del(struct sk_klist_node *n, const struct sk_callsite *cs) SK_NONNULL(1);
SK_API int sk__klist_remove(struct sk_klist_node *n, const struct sk_callsite *cs) SK_NONNULL(1);

/**
 * sk_klist_del() - delete a node
 * @n: the node, on a klist and not yet deleted
 *
 * Marks @n dead (iterators skip it) and drops the list's reference: if no
 * iterator stands on @n it is released now (unlinked, detached, put()
 * called on this thread), otherwise by the last iterator to move on.
 * A node already deleted, or not on a klist, is reported
 * (list_double_del) and nothing happens.
 *
 * Context: any thread; takes the klist's lock.  @n's memory must stay
 * valid until put(@n) has been called.
 */
#define sk_klist_del(n) sk__klist_del((n), SK_CALLSITE)

/**
 * sk_klist_remove() - delete a node and wait for its release
 * @n: the node, on a klist and not yet deleted
 *
 * sk_klist_del(), then sleeps until @n has been released and put(@n) has
 * returned, so that the caller may free @n when this returns.  A node
 * already deleted, or not on a klist, is reported (list_double_del).  A
 * node that an iterator of the calling thread stands on would never be
 * released while this thread sleeps: that is reported (lock_recursion)
 * and refused, without sleeping; the node stays on the list.  (The
 * calling thread's holds are tracked in a small per-thread table: one
 * that holds more than 8 distinct nodes through iterators at once may not
 * be caught, and then sleeps as the kernel would.)
 *
 * Context: may sleep; takes the klist's lock.  Must not be called from
 * put() for the same node.
 * Return: 0 once @n is released; -ENOENT if it was refused as a double
 * delete; -EDEADLK if refused because the calling thread holds @n;
 * -EUCLEAN if @n could not be unlinked at its release because a
 * neighbour's link is corrupted (reported, list_corruption): @n is then
 * still linked, attached and dead, put() is not called, and it must not
 * be freed (it is leaked).
 */
#define sk_klist_remove(n) sk__klist_remove((n), SK_CALLSITE)

/**
 * sk_klist_node_attached() - whether a node is on a klist
 * @n: the node
 *
 * True from the add until the release: a deleted node that an iterator
 * still stands on reads as attached, as in the kernel.
 *
 * Context: any thread; a relaxed load (the answer may be stale at once
 * unless the caller orders it against the add and the release).
 * Return: true if @n is attached.
 */
static inline bool sk_klist_node_attached(const struct sk_klist_node *n)
{
	return SK_READ_ONCE(n->n_klist) != NULL;
}

SK_API void sk__klist_iter_init_node(struct sk_klist *k, struct sk_klist_iter *i,
				     struct sk_klist_node *n, const struct sk_callsite *cs)
	SK_NONNULL(1, 2) SK_EXCLUDES(k->k_lock);
SK_API struct sk_klist_node *sk__klist_next(struct sk_klist_iter *i, bool reverse,
					    const struct sk_callsite *cs) SK_NONNULL(1)
	SK_EXCLUDES(i->i_klist->k_lock);
SK_API void sk__klist_iter_exit(struct sk_klist_iter *i, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_EXCLUDES(i->i_klist->k_lock);

/**
 * sk_klist_iter_init() - start an iterator at the head of a klist
 * @k: the klist
 * @i: the iterator (caller memory)
 *
 * The first sk_klist_next() returns the first live node, the first
 * sk_klist_prev() the last one.  Pair with sk_klist_iter_exit().
 *
 * Context: any thread; the iterator belongs to the calling thread.
 */
#define sk_klist_iter_init(k, i) sk__klist_iter_init_node((k), (i), NULL, SK_CALLSITE)

/**
 * sk_klist_iter_init_node() - start an iterator at a node
 * @k: the klist
 * @i: the iterator (caller memory)
 * @n: the node to start at (the first step moves away from it), or NULL
 *
 * The iterator takes a reference on @n (it may be dead, still linked).  A
 * node that was released meanwhile (detached) starts the walk at the head,
 * as in the kernel.  A node of another klist is reported
 * (invalid_argument) and the iterator is left empty: next and prev return
 * NULL.  Pair with sk_klist_iter_exit().
 *
 * Context: any thread; takes @k's lock.  @n's memory must be valid.
 */
#define sk_klist_iter_init_node(k, i, n) sk__klist_iter_init_node((k), (i), (n), SK_CALLSITE)

/**
 * sk_klist_next() - step to the next live node
 * @i: the iterator
 *
 * Takes a reference on the next node that is not dead and drops the one
 * on the current node (which may release it: put() is then called here,
 * after the lock is dropped).  After the last node it returns NULL; one
 * more call starts again from the head, as in the kernel.
 *
 * Context: any thread, the iterator's own; takes the klist's lock for one
 * step.
 * Return: the node, which stays valid until the next step or
 * sk_klist_iter_exit(), or NULL at the end.
 */
#define sk_klist_next(i) sk__klist_next((i), false, SK_CALLSITE)

/**
 * sk_klist_prev() - step to the previous live node
 * @i: the iterator
 *
 * As sk_klist_next(), towards the head.
 *
 * Context: as sk_klist_next().
 * Return: the node, or NULL at the head.
 */
#define sk_klist_prev(i) sk__klist_next((i), true, SK_CALLSITE)

/**
 * sk_klist_iter_exit() - end an iteration
 * @i: the iterator
 *
 * Drops the reference on the current node, if any (which may release it:
 * put() is called here).  Calling it again is harmless.
 *
 * Context: any thread, the iterator's own; takes the klist's lock if the
 * iterator holds a node.
 */
#define sk_klist_iter_exit(i) sk__klist_iter_exit((i), SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_KLIST_H */
