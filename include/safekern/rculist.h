/* SPDX-License-Identifier: MIT */
/*
 * safekern/rculist.h - RCU-protected lists and hlists on liburcu, with the
 * hardened list's checks on every writer, and deferred frees that go
 * through the allocation layer after a grace period.
 *
 * safekern-header-test: prelude <urcu.h>
 *
 * Theory of operation
 * ===================
 *
 * The kernel's rculist.h over struct sk_list_head and struct
 * sk_hlist_head/sk_hlist_node (safekern/list.h): readers walk a list
 * inside an RCU read-side critical section, without a lock, while one
 * writer at a time adds, deletes and replaces entries with the _rcu
 * operations below, and frees what it deleted only after a grace period
 * (every reader that could still see the entry has left its critical
 * section): sk_kfree_rcu(), sk_kmem_cache_free_rcu(), sk_call_rcu_free().
 *
 * The RCU flavour is the consumer's choice
 * ----------------------------------------
 *
 * Include a liburcu flavour header *before* this one, and link that
 * flavour:
 *
 *   #include <urcu.h>            memb (membarrier), liburcu's default:
 *                                pkg-config liburcu (or liburcu-memb)
 *   #include <urcu-qsbr.h>       qsbr: liburcu-qsbr
 *   #include <urcu-bp.h>         bullet-proof: liburcu-bp
 *   #include <urcu/urcu-mb.h>    mb or signal, with URCU_API_MAP defined
 *   #include <safekern/rculist.h>
 *
 * This header uses the flavour's generic names (rcu_read_lock(),
 * rcu_read_unlock(), rcu_read_ongoing(), synchronize_rcu(), call_rcu(),
 * rcu_barrier(), struct rcu_head); including <urcu/urcu-memb.h> alone
 * hides them (liburcu's map/clear.h), and this header then stops with an
 * #error saying what to include.  liburcu's rules apply unchanged: a
 * thread registers with the flavour (rcu_register_thread()) before its
 * first read-side critical section and before it calls call_rcu() (so
 * before sk_kfree_rcu() and friends), and for qsbr it must be online.
 *
 * libsafekern.so itself does not link liburcu, and nothing else in the
 * library needs RCU: the plain lists, the locked list and the klist never
 * call into liburcu, so their users need not register threads.
 *
 * Writers serialise among themselves
 * ----------------------------------
 *
 * RCU makes readers lock-free; it does nothing for writers.  Every _rcu
 * writer below assumes that no other writer touches the same list at the
 * same time: hold the list's update-side lock around it.  The easy way is
 * struct sk_locked_list (safekern/locked_list.h), whose _rcu operations
 * at the end of this header require its mutex (checked by clang's
 * -Wthread-safety at compile time, and at run time at the debug level),
 * and whose readers walk it with sk_locked_list_for_each_entry_rcu().
 *
 * Memory ordering (C11 atomics, not liburcu's pointer macros)
 * -----------------------------------------------------------
 *
 * Publication uses the C11 model through the __atomic builtins, which
 * ThreadSanitizer understands (liburcu's rcu_dereference() is a volatile
 * load it cannot see):
 *
 *   - every store of a forward link that a reader may follow (a list
 *     entry's next, an hlist head's first, a node's next, *pprev) is a
 *     release store: everything the writer stored before it (the new
 *     entry's contents) is visible to a reader that loads the link;
 *   - every reader load of a forward link is a consume load, which gcc
 *     and clang implement as acquire (free on x86-64; ldar on arm64);
 *   - the back links (prev, pprev) are written with relaxed single-copy
 *     atomic stores and are read only by writers, under their lock;
 *   - the grace period is liburcu's: a deferred free runs after every
 *     read-side critical section that began before it was queued has
 *     ended.
 *
 * So a reader sees each entry it reaches fully initialised, and an entry
 * it reaches stays allocated until its critical section ends, even if a
 * writer deletes it meanwhile (sk_list_del_rcu() leaves ->next intact).
 * A walk may or may not see an entry added or deleted while it runs; it
 * never sees an entry twice, never sees a half-linked one, and never sees
 * both the old and the new entry of a replace.
 *
 * What is checked
 * ---------------
 *
 * Writers (both levels): the hardened list checks of safekern/list.h,
 * unchanged: every pointer loaded from a node is tested for NULL and
 * poison before it is followed, the neighbours a writer relinks must point
 * back, an entry may not be added next to itself, a deleted entry may not
 * be deleted again.  A refused operation makes one report and writes
 * nothing: the list is left exactly as it was.  Debug adds the argument
 * checks of safekern/list.h.
 *
 * Readers (debug, -DSK_DEBUG): each traversal checks once, at its start,
 * that it runs inside a read-side critical section (rcu_read_ongoing()),
 * unless the optional last argument of the _for_each_entry_rcu forms (the
 * kernel's lockdep condition: the update-side lock is held) is true; a
 * traversal outside one is reported (SK_VIOLATION_RCU_NOT_READ_LOCKED) and
 * continues.  Each step checks the forward link it follows for NULL and
 * poison: a reader standing on an entry that a writer deleted with the
 * non-RCU sk_list_del() (which poisons ->next) is reported
 * (SK_VIOLATION_LIST_CORRUPTION) and the walk ends, instead of faulting.
 * The back links are not checked on the read side: a reader can see them
 * in flux by design.  Hardened readers compile to the kernel's loop.
 *
 * Under the tools
 * ---------------
 *
 * helgrind, drd and ThreadSanitizer cannot see liburcu's grace periods
 * (membarrier, futexes), and helgrind and drd cannot see atomics.  So:
 *
 *   - sk_rcu_read_unlock() (use it instead of rcu_read_unlock()) marks
 *     a happens-before edge that every deferred-free callback,
 *     sk_synchronize_rcu() and sk_list_splice_init_rcu() consume after
 *     the grace period: the frees are then ordered after the readers;
 *   - sk_kfree_rcu() and friends mark an edge from the caller to the
 *     callback, and each callback one to sk_rcu_barrier();
 *   - at the debug level the writers declare the forward links they store
 *     a benign race (helgrind/drd; they are atomics) and mark each entry
 *     they publish, and each reader step consumes that mark.
 *
 * The marks are Valgrind client requests in -DSK_DEBUG units (with the
 * valgrind headers installed) and in the library, and __tsan_release /
 * __tsan_acquire in ThreadSanitizer builds; otherwise they compile to
 * nothing.  Readers that call rcu_read_unlock() directly are correct, but
 * the tools then report the frees as races.  liburcu's own internals still
 * look racy to the tools: suppress them by library (tests/tsan.supp,
 * tests/valgrind.supp), never by libsafekern's symbols.
 *
 * Who may call what concurrently
 * ------------------------------
 *
 *   | operation                                | needs                              | concurrent with |
 *   |------------------------------------------|------------------------------------|-----------------|
 *   | _rcu writers (add, add_tail, del, replace, splice, the hlist forms) | the list's update-side lock | any number of readers; no other writer |
 *   | _for_each_entry_rcu, entry_rcu, hlist_first/next_rcu | a read-side critical section, or the update-side lock (the walks: given as their optional condition) | one writer, any readers |
 *   | first_or_null_rcu, next_or_null_rcu      | a read-side critical section (checked at debug level) | one writer, any readers |
 *   | sk_kfree_rcu, sk_kmem_cache_free_rcu, sk_call_rcu_free | a registered thread; the object already unreachable for new readers | anything |
 *   | sk_rcu_read_lock / unlock                | a registered thread                | anything |
 *   | sk_synchronize_rcu, sk_rcu_barrier       | a registered thread outside any read-side section | anything |
 *
 * Failure behaviour: as safekern/list.h for the writers (one report, the
 * list unchanged; under the default abort policy the process stops); a
 * deferred free with a NULL cache or function is reported
 * (SK_VIOLATION_INVALID_ARGUMENT) and refused: the object is not freed
 * (a leak, never a wild free).
 */
#ifndef SAFEKERN_RCULIST_H
#define SAFEKERN_RCULIST_H

#if !defined(rcu_read_lock) || !defined(rcu_read_unlock) || !defined(rcu_read_ongoing) ||      \
	!defined(call_rcu) || !defined(synchronize_rcu) || !defined(rcu_barrier)
#error "safekern/rculist.h: include a liburcu flavour header first: <urcu.h> (memb, the default), <urcu-qsbr.h>, <urcu-bp.h>, or <urcu/urcu-mb.h> / <urcu/urcu-signal.h> with URCU_API_MAP defined"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>
#include <safekern/list.h>
#include <safekern/locked_list.h>
#include <safekern/violation.h>

#ifdef SK__TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct sk_kmem_cache;

/* ------------------------------------------------------------------------
 * Internal: publication, tool edges, reporters
 * ------------------------------------------------------------------------ */

/* A reader's load of a forward link: consume (acquire in gcc and clang). */
#define SK__RCU_DEREF(p) __atomic_load_n(&(p), __ATOMIC_CONSUME)

/*
 * Happens-before edges the tools cannot see otherwise: Valgrind client
 * requests (active in -DSK_DEBUG units and in the library) and TSan's.
 */
#ifdef SK__TSAN
#define SK__RCU_EDGE_BEFORE(a)                                                \
	do {                                                                  \
		SK_ANNOTATE_HAPPENS_BEFORE(a);                                \
		__tsan_release((void *)(a));                                  \
	} while (0)
#define SK__RCU_EDGE_AFTER(a)                                                 \
	do {                                                                  \
		__tsan_acquire((void *)(a));                                  \
		SK_ANNOTATE_HAPPENS_AFTER(a);                                 \
	} while (0)
#else
#define SK__RCU_EDGE_BEFORE(a) SK_ANNOTATE_HAPPENS_BEFORE(a)
#define SK__RCU_EDGE_AFTER(a) SK_ANNOTATE_HAPPENS_AFTER(a)
#endif

/*
 * sk__rcu_gp_edge: readers leaving a critical section (sk_rcu_read_unlock)
 * mark it; whatever runs after a grace period consumes it.
 * sk__rcu_done_edge: each deferred-free callback marks it when done;
 * sk_rcu_barrier() consumes it.  Internal: do not touch.
 */
SK_API extern char sk__rcu_gp_edge;
SK_API extern char sk__rcu_done_edge;

/*
 * SK__RCU_PUBLISH() - internal: store @v into the forward link @slot with
 * release ordering.  Debug: the link is declared a benign race for
 * helgrind/drd (readers load it with atomics), and @v, the entry being
 * published, is marked for the readers' HAPPENS_AFTER.
 */
#define SK__RCU_PUBLISH(slot, v)                                              \
	do {                                                                  \
		__typeof__(slot) sk__rpv = (v);                               \
		SK_ANNOTATE_BENIGN_RACE_SIZED(&(slot), sizeof(slot), "RCU forward link"); \
		if (sk__rpv)                                                  \
			SK_ANNOTATE_HAPPENS_BEFORE(sk__rpv);                  \
		__atomic_store_n(&(slot), sk__rpv, __ATOMIC_RELEASE);         \
	} while (0)

/* The cold reporters and the deferred-free callback (lib/rculist.c). */
SK_API SK_COLD SK_NOINLINE void sk__rcu_report_not_read_locked(const void *head, const char *op,
							      const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__rcu_report_step(const void *head, const void *pos,
						   const void *next, bool hlist,
						   const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__rcu_report_hlist_replace(const struct sk_hlist_node *old,
							    const struct sk_hlist_node *n,
							    const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__rcu_report_free(const void *obj, const char *op,
						   const struct sk_callsite *cs);
SK_API void sk__rcu_free_cb(struct rcu_head *rcu);
struct sk_rcu_head;
SK_API bool sk__rcu_free_queued(const void *obj, const struct sk_rcu_head *h, const char *op,
				const struct sk_callsite *cs);

#ifdef SK_DEBUG
#define SK__RCU_DEBUG 1
#else
#define SK__RCU_DEBUG 0
#endif

/*
 * The optional condition of the _for_each_entry_rcu forms (the kernel's
 * lockdep expression): absent means 0.
 */
#define SK__RCU_COND_PICK(a, b, ...) (b)
#define SK__RCU_COND(...) SK__RCU_COND_PICK(sk__none, ##__VA_ARGS__, 0, 0)

/* sk__rcu_check_reader() - internal: the debug check at a traversal's start. */
static inline void sk__rcu_check_reader(const void *head, const char *op, bool cond,
					const struct sk_callsite *cs)
{
	if (!cond && sk_unlikely(!rcu_read_ongoing()))
		sk__rcu_report_not_read_locked(head, op, cs);
}

#ifdef SK_DEBUG
#define SK__RCU_WALK_CHECK(head, op, ...)                                     \
	sk__rcu_check_reader((head), (op), SK__RCU_COND(__VA_ARGS__), SK_CALLSITE)
#else
#define SK__RCU_WALK_CHECK(head, op, ...) ((void)0)
#endif

/* sk__list_next_rcu() - internal: the checked step of a debug RCU walk. */
static inline struct sk_list_head *sk__list_next_rcu(const struct sk_list_head *pos,
						     const struct sk_list_head *head,
						     const struct sk_callsite *cs)
{
	struct sk_list_head *next = SK__RCU_DEREF(pos->next);

	/* next == pos: an entry taken off with the non-RCU del_init, on
	 * which the walk would spin for ever. */
	if (sk_unlikely(sk__list_bad(next) || (next == pos && pos != head))) {
		sk__rcu_report_step(head, pos, next, false, cs);
		return (struct sk_list_head *)head;
	}
	SK_ANNOTATE_HAPPENS_AFTER(next);
	return next;
}

/* sk__hlist_next_rcu() - internal: the checked step of a debug RCU hlist walk. */
static inline struct sk_hlist_node *sk__hlist_next_rcu(struct sk_hlist_node *const *link,
						       const void *head, const void *pos,
						       const struct sk_callsite *cs)
{
	struct sk_hlist_node *next = SK__RCU_DEREF(*link);

	if (next && sk_unlikely(sk__list_bad(next))) {
		sk__rcu_report_step(head, pos, next, true, cs);
		return NULL;
	}
	if (next)
		SK_ANNOTATE_HAPPENS_AFTER(next);
	return next;
}

#ifdef SK_DEBUG
#define SK__LIST_NEXT_RCU(pos, head) sk__list_next_rcu((pos), (head), SK_CALLSITE)
#define SK__HLIST_FIRST_RCU(head) sk__hlist_next_rcu(&(head)->first, (head), NULL, SK_CALLSITE)
#define SK__HLIST_NEXT_RCU(pos) sk__hlist_next_rcu(&(pos)->next, NULL, (pos), SK_CALLSITE)
#else
#define SK__LIST_NEXT_RCU(pos, head) SK__RCU_DEREF((pos)->next)
#define SK__HLIST_FIRST_RCU(head) SK__RCU_DEREF((head)->first)
#define SK__HLIST_NEXT_RCU(pos) SK__RCU_DEREF((pos)->next)
#endif

/* ------------------------------------------------------------------------
 * Read-side critical sections and grace periods
 * ------------------------------------------------------------------------ */

/**
 * sk_rcu_read_lock() - enter an RCU read-side critical section
 *
 * The flavour's rcu_read_lock(); sections nest.  Pair it with
 * sk_rcu_read_unlock().
 *
 * Context: the thread is registered with the flavour (qsbr: online).
 */
static inline void sk_rcu_read_lock(void)
{
	rcu_read_lock();
}

/**
 * sk_rcu_read_unlock() - leave an RCU read-side critical section
 *
 * The flavour's rcu_read_unlock(), plus (debug and TSan builds) the mark
 * that orders this section's reads before the frees that follow the next
 * grace period, for helgrind, drd and TSan.  In other builds it is exactly
 * rcu_read_unlock().
 *
 * Context: inside a section entered with sk_rcu_read_lock() or
 * rcu_read_lock().
 */
static inline void sk_rcu_read_unlock(void)
{
	SK__RCU_EDGE_BEFORE(&sk__rcu_gp_edge);
	rcu_read_unlock();
}

/**
 * sk_synchronize_rcu() - wait for a grace period
 *
 * The flavour's synchronize_rcu(): returns once every read-side critical
 * section that began before the call has ended.  Free what you unlinked
 * after it.  Debug and TSan builds then consume the readers' marks (see
 * sk_rcu_read_unlock()).
 *
 * Context: a registered thread, outside any read-side critical section
 * (inside one it deadlocks); may sleep.
 */
static inline void sk_synchronize_rcu(void)
{
	synchronize_rcu();
	SK__RCU_EDGE_AFTER(&sk__rcu_gp_edge);
}

/**
 * sk_rcu_barrier() - wait until every queued deferred free has run
 *
 * The flavour's rcu_barrier(): sk_kfree_rcu(), sk_kmem_cache_free_rcu()
 * and sk_call_rcu_free() calls made before it have completed when it
 * returns.  Call it before destroying a cache that deferred frees go to,
 * and before exit if a leak checker must see everything freed.
 *
 * Context: a registered thread, outside any read-side critical section;
 * not from a callback; may sleep.
 */
static inline void sk_rcu_barrier(void)
{
	rcu_barrier();
	SK__RCU_EDGE_AFTER(&sk__rcu_done_edge);
}

/**
 * sk_rcu_dereference() - load an RCU-protected pointer, for a reader
 * @p: the pointer (an lvalue)
 *
 * A consume load (acquire in gcc and clang): what the writer stored
 * before publishing the pointer with sk_rcu_assign_pointer() is visible.
 *
 * Context: a read-side critical section, or the update-side lock.
 * Return: the pointer's value.
 */
#define sk_rcu_dereference(p) SK__RCU_DEREF(p)

/**
 * sk_rcu_assign_pointer() - publish a pointer to RCU readers
 * @p: the pointer (an lvalue)
 * @v: the new value
 *
 * A release store: everything stored before it (the object @v points to)
 * is visible to a reader that loads @v with sk_rcu_dereference().
 *
 * Context: the update-side lock.
 */
#define sk_rcu_assign_pointer(p, v) SK__RCU_PUBLISH(p, v)

/* ------------------------------------------------------------------------
 * List writers
 * ------------------------------------------------------------------------ */

/**
 * sk_init_list_head_rcu() - initialise a list head that readers may see
 * @list: the head
 *
 * As sk_init_list_head(), with the forward link published (release), for
 * a head that RCU readers may be walking (the kernel's INIT_LIST_HEAD_RCU).
 *
 * Context: the update-side lock.
 */
static inline void sk_init_list_head_rcu(struct sk_list_head *list)
{
	SK__RCU_PUBLISH(list->next, list);
	SK_WRITE_ONCE(list->prev, list);
}

/*
 * sk__list_add_rcu() - internal: the checks of sk__list_insert()
 * (sk__list_insert_ok()), then the link with the final store, which makes
 * @entry reachable, a release.  The new entry's own pointers are written
 * with a neighbour store between them (see sk__list_link()).
 */
static inline bool sk__list_add_rcu(struct sk_list_head *entry, struct sk_list_head *head,
				    bool tail, const char *op, const struct sk_callsite *cs)
{
	struct sk_list_head *prev, *next;

	if (sk_unlikely(!sk__list_insert_ok(entry, head, tail, &prev, &next, op, cs)))
		return false;
	entry->next = next;
	SK_WRITE_ONCE(next->prev, entry);
	entry->prev = prev;
	SK__RCU_PUBLISH(prev->next, entry);
	return true;
}

/**
 * sk_list_add_rcu() - add an entry after a head, for RCU readers
 * @new: the entry (not on a list, initialised as the readers expect)
 * @head: the head (or entry) to add it after
 *
 * Readers see @new only once it is fully linked, with every store made to
 * it before this call visible.  Checked as sk_list_add(): on a failed
 * check, one report and nothing written.
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_list_add_rcu(new, head)                                            \
	((void)sk__list_add_rcu((new), (head), false, "list_add_rcu", SK_CALLSITE))

/**
 * sk_list_add_tail_rcu() - add an entry before a head, for RCU readers
 * @new: the entry
 * @head: the head (or entry) to add it before
 *
 * Checked as sk_list_add_tail().
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_list_add_tail_rcu(new, head)                                       \
	((void)sk__list_add_rcu((new), (head), true, "list_add_tail_rcu", SK_CALLSITE))

/* sk__list_del_rcu() - internal form of sk_list_del_rcu(). */
static inline bool sk__list_del_rcu(struct sk_list_head *entry, const char *op,
				    const struct sk_callsite *cs)
{
	struct sk_list_head *prev, *next;

	if (sk_unlikely(!sk__list_del_ok(entry, op, cs)))
		return false;
	prev = entry->prev;
	next = entry->next;
	SK_WRITE_ONCE(next->prev, prev);
	SK__RCU_PUBLISH(prev->next, next);
	SK_WRITE_ONCE(entry->prev, (struct sk_list_head *)SK_LIST_POISON2);
	return true;
}

/**
 * sk_list_del_rcu() - delete an entry that RCU readers may be standing on
 * @entry: the entry
 *
 * @entry->next is left as it was, so a reader standing on @entry carries
 * on to the rest of the list; @entry->prev is poisoned (SK_LIST_POISON2),
 * so deleting it again is reported as a double delete.  Free the entry
 * only after a grace period (sk_kfree_rcu(), sk_synchronize_rcu()), and
 * do not add it to a list before then.
 *
 * Checked as sk_list_del(): NULL and poison before they are followed,
 * both neighbours point back; on a failed check one report, nothing
 * written.
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_list_del_rcu(entry) ((void)sk__list_del_rcu((entry), "list_del_rcu", SK_CALLSITE))

/* sk__list_replace_rcu() - internal form of sk_list_replace_rcu(). */
static inline bool sk__list_replace_rcu(struct sk_list_head *old, struct sk_list_head *entry,
					const struct sk_callsite *cs)
{
	struct sk_list_head *next, *prev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(old) || sk__list_bad(entry)))
		goto bad;
	next = old->next;
	prev = old->prev;
	if (sk_unlikely(sk__list_bad(next) || sk__list_bad(prev)))
		goto bad;
	if (sk_unlikely(next->prev != old || prev->next != old))
		goto bad;
	if (sk_unlikely(entry == old || entry == next || entry == prev))
		goto bad;
	entry->next = next;
	SK_WRITE_ONCE(next->prev, entry);
	entry->prev = prev;
	SK__RCU_PUBLISH(prev->next, entry);
	SK_WRITE_ONCE(old->prev, (struct sk_list_head *)SK_LIST_POISON2);
	return true;
bad:
	sk__list_report_replace(old, entry, "list_replace_rcu", cs);
	return false;
}

/**
 * sk_list_replace_rcu() - put a new entry in the place of an old one
 * @old: the entry to replace (on a list; RCU readers may be on it)
 * @new: the entry to put in its place (not on a list)
 *
 * A reader sees either @old or @new, never both and never neither.
 * @old->next is left for readers standing on it, @old->prev is poisoned;
 * free @old after a grace period.
 *
 * Checked as sk_list_replace(): @old's pointers are not NULL or poison
 * and both neighbours point back, @new is not @old or a neighbour.
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_list_replace_rcu(old, new) ((void)sk__list_replace_rcu((old), (new), SK_CALLSITE))

/*
 * sk__rcu_mark_run() - internal, debug: mark the entries of a run that is
 * about to become reachable (helgrind/drd), and declare their forward
 * links benign races, as SK__RCU_PUBLISH() does for one entry.
 */
static inline void sk__rcu_mark_run(struct sk_list_head *first, struct sk_list_head *last)
{
#ifdef SK__ANNOTATE
	for (struct sk_list_head *pos = first;; pos = pos->next) {
		SK_ANNOTATE_BENIGN_RACE_SIZED(&pos->next, sizeof(pos->next), "RCU forward link");
		SK_ANNOTATE_HAPPENS_BEFORE(pos);
		if (pos == last)
			break;
	}
#else
	(void)first;
	(void)last;
#endif
}

/* sk__list_splice_init_rcu() - internal form of the two splice_init_rcu forms. */
static inline bool sk__list_splice_init_rcu(struct sk_list_head *list, struct sk_list_head *head,
					    bool tail, void (*sync)(void), const char *op,
					    const struct sk_callsite *cs)
{
	struct sk_list_head *first, *last, *prev, *next;
	int go = sk__list_splice_ok(list, head, tail, &first, &last, &prev, &next, op, cs);

	if (go != SK__SPLICE_GO)
		return go == SK__SPLICE_EMPTY;
	/* Readers of @list see it empty from here; wait until none is on it. */
	if (sync) {
		sk_init_list_head_rcu(list);
		sync();
		SK__RCU_EDGE_AFTER(&sk__rcu_gp_edge);
	} else {
		sk_init_list_head(list);
	}
	if (SK__RCU_DEBUG)
		sk__rcu_mark_run(first, last);
	SK_WRITE_ONCE(last->next, next);
	SK_WRITE_ONCE(next->prev, last);
	SK_WRITE_ONCE(first->prev, prev);
	SK__RCU_PUBLISH(prev->next, first);
	return true;
}

/**
 * sk_list_splice_init_rcu() - splice a list into an RCU-protected list
 * @list: the list whose entries move; left empty
 * @head: where they go: after this head (RCU readers may walk its list)
 * @sync: the flavour's synchronize_rcu (or sk_synchronize_rcu) if RCU
 *	readers may be walking @list itself; NULL if @list is private
 *
 * @list is emptied first (published), then, if @sync is given, a grace
 * period passes so that no reader is still on @list when its last entry
 * is linked to @head's list; then the entries are published as one run.
 * Readers of @head's list see all of them or none.
 *
 * Checked as sk_list_splice_init() before anything is written (including
 * before the grace period): @list's first and last point back, the
 * insertion point at @head is consistent, @list is not @head or its
 * neighbour; at the debug level also that @head is not one of @list's
 * entries (an O(n) walk of @list).
 *
 * Context: the update-side locks of both lists; with @sync: a registered
 * thread outside any read-side critical section, may sleep.
 */
#define sk_list_splice_init_rcu(list, head, sync)                             \
	((void)sk__list_splice_init_rcu((list), (head), false, (sync), "list_splice_init_rcu", \
					SK_CALLSITE))

/**
 * sk_list_splice_tail_init_rcu() - splice a list at the tail of an RCU list
 * @list: the list whose entries move; left empty
 * @head: where they go: before this head
 * @sync: as for sk_list_splice_init_rcu()
 *
 * As sk_list_splice_init_rcu(), at the tail.
 *
 * Context: as sk_list_splice_init_rcu().
 */
#define sk_list_splice_tail_init_rcu(list, head, sync)                        \
	((void)sk__list_splice_init_rcu((list), (head), true, (sync),           \
					"list_splice_tail_init_rcu", SK_CALLSITE))

/* ------------------------------------------------------------------------
 * List readers
 * ------------------------------------------------------------------------ */

/**
 * sk_list_entry_rcu() - the entry behind a forward link, loaded for a reader
 * @ptr: the link (an lvalue such as ``head->next``)
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * A consume load of @ptr, then the type-checked sk_container_of().
 *
 * Context: a read-side critical section, or the update-side lock.
 * Return: the containing entry.
 */
#define sk_list_entry_rcu(ptr, type, member) sk_container_of(SK__RCU_DEREF(ptr), type, member)

/* sk__list_first_or_null_rcu() - internal: a checked first step, or NULL. */
static inline struct sk_list_head *sk__list_first_or_null_rcu(const struct sk_list_head *head,
							      const char *op,
							      const struct sk_callsite *cs)
{
	struct sk_list_head *next;

	if (SK__RCU_DEBUG)
		sk__rcu_check_reader(head, op, false, cs);
#ifdef SK_DEBUG
	next = sk__list_next_rcu(head, head, cs);
#else
	next = SK__RCU_DEREF(head->next);
#endif
	return next != head ? next : NULL;
}

/**
 * sk_list_first_or_null_rcu() - the first entry of an RCU list, or NULL
 * @ptr: the head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * One consume load: the answer cannot change between an emptiness test and
 * the load, as it could with sk_list_empty() then sk_list_first_entry().
 * Debug: reported if called outside a read-side critical section.
 *
 * Context: a read-side critical section.
 * Return: the first entry, or NULL if the list is empty.
 */
#define sk_list_first_or_null_rcu(ptr, type, member)                          \
	__extension__({                                                       \
		struct sk_list_head *sk__rfpos =                              \
			sk__list_first_or_null_rcu((ptr), "list_first_or_null_rcu", SK_CALLSITE); \
		sk__rfpos ? sk_list_entry(sk__rfpos, type, member) : (type *)NULL; \
	})

/* sk__list_next_or_null_rcu() - internal: a checked step, or NULL at the head. */
static inline struct sk_list_head *sk__list_next_or_null_rcu(const struct sk_list_head *head,
							     const struct sk_list_head *pos,
							     const struct sk_callsite *cs)
{
	struct sk_list_head *next;

	if (SK__RCU_DEBUG)
		sk__rcu_check_reader(head, "list_next_or_null_rcu", false, cs);
#ifdef SK_DEBUG
	next = sk__list_next_rcu(pos, head, cs);
#else
	next = SK__RCU_DEREF(pos->next);
#endif
	return next != head ? next : NULL;
}

/**
 * sk_list_next_or_null_rcu() - the entry after an entry of an RCU list, or NULL
 * @head: the head of the list
 * @ptr: the current entry's &struct sk_list_head
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * Debug: reported if called outside a read-side critical section; a
 * poisoned link (deleted with the non-RCU sk_list_del()) is reported and
 * gives NULL.
 *
 * Context: a read-side critical section.
 * Return: the next entry, or NULL if @ptr is the last.
 */
#define sk_list_next_or_null_rcu(head, ptr, type, member)                     \
	__extension__({                                                       \
		struct sk_list_head *sk__rnpos =                              \
			sk__list_next_or_null_rcu((head), (ptr), SK_CALLSITE); \
		sk__rnpos ? sk_list_entry(sk__rnpos, type, member) : (type *)NULL; \
	})

/**
 * sk_list_for_each_entry_rcu() - walk an RCU list
 * @pos: the entry cursor (a pointer to the containing type)
 * @head: the head
 * @member: the &struct sk_list_head within the entry
 * @...: optional: a condition under which the walk is legal without a
 *	read-side critical section (the update-side lock is held), as the
 *	kernel's lockdep condition; evaluated at the debug level only
 *
 * Each step is a consume load of the forward link.  Debug: the walk is
 * reported once if it starts outside a read-side critical section and the
 * condition is false; a poisoned link ends it after a report.
 *
 * Context: a read-side critical section, or the condition.
 */
#define sk_list_for_each_entry_rcu(pos, head, member, ...)                    \
	for (SK__RCU_WALK_CHECK((head), "list_for_each_entry_rcu", ##__VA_ARGS__), \
	     pos = sk_list_entry(SK__LIST_NEXT_RCU((head), (head)), __typeof__(*(pos)), member); \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = sk_list_entry(SK__LIST_NEXT_RCU(&(pos)->member, (head)), __typeof__(*(pos)), \
				 member))

/**
 * sk_list_for_each_entry_continue_rcu() - continue an RCU walk after an entry
 * @pos: the entry cursor: the walk starts at the entry after it
 * @head: the head
 * @member: the &struct sk_list_head within the entry
 *
 * Debug: checked as sk_list_for_each_entry_rcu() (no condition).
 *
 * Context: a read-side critical section, the one in which @pos was found.
 */
#define sk_list_for_each_entry_continue_rcu(pos, head, member)                \
	for (SK__RCU_WALK_CHECK((head), "list_for_each_entry_continue_rcu"),   \
	     pos = sk_list_entry(SK__LIST_NEXT_RCU(&(pos)->member, (head)), __typeof__(*(pos)), \
				 member);                                     \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = sk_list_entry(SK__LIST_NEXT_RCU(&(pos)->member, (head)), __typeof__(*(pos)), \
				 member))

/**
 * sk_list_for_each_entry_from_rcu() - an RCU walk from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @head: the head
 * @member: the &struct sk_list_head within the entry
 *
 * Context: a read-side critical section, the one in which @pos was found.
 */
#define sk_list_for_each_entry_from_rcu(pos, head, member)                    \
	for (SK__RCU_WALK_CHECK((head), "list_for_each_entry_from_rcu");       \
	     !sk_list_entry_is_head(pos, (head), member);                     \
	     pos = sk_list_entry(SK__LIST_NEXT_RCU(&(pos)->member, (head)), __typeof__(*(pos)), \
				 member))

/* ------------------------------------------------------------------------
 * hlist writers
 * ------------------------------------------------------------------------ */

/* sk__hlist_del_rcu() - internal form of sk_hlist_del_rcu(). */
static inline bool sk__hlist_del_rcu(struct sk_hlist_node *n, const struct sk_callsite *cs)
{
	struct sk_hlist_node *next, **pprev;

	if (sk_unlikely(!sk__hlist_del_ok(n, "hlist_del_rcu", cs)))
		return false;
	next = n->next;
	pprev = n->pprev;
	if (next)
		SK_WRITE_ONCE(next->pprev, pprev);
	SK__RCU_PUBLISH(*pprev, next);
	SK_WRITE_ONCE(n->pprev, (struct sk_hlist_node **)SK_LIST_POISON2);
	return true;
}

/**
 * sk_hlist_del_rcu() - delete an hlist node that RCU readers may be on
 * @n: the node (hashed)
 *
 * @n->next is left for readers standing on @n; @n->pprev is poisoned, so
 * a second delete is reported.  Free @n after a grace period.  Checked as
 * sk_hlist_del().
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_del_rcu(n) ((void)sk__hlist_del_rcu((n), SK_CALLSITE))

/* sk__hlist_del_init_rcu() - internal form of sk_hlist_del_init_rcu(). */
static inline bool sk__hlist_del_init_rcu(struct sk_hlist_node *n, const struct sk_callsite *cs)
{
	struct sk_hlist_node *next, **pprev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n))) {
		sk__hlist_report_del(n, "hlist_del_init_rcu", cs);
		return false;
	}
	if (sk_hlist_unhashed(n))
		return true;
	if (sk_unlikely(!sk__hlist_del_ok(n, "hlist_del_init_rcu", cs)))
		return false;
	next = n->next;
	pprev = n->pprev;
	if (next)
		SK_WRITE_ONCE(next->pprev, pprev);
	SK__RCU_PUBLISH(*pprev, next);
	SK_WRITE_ONCE(n->pprev, (struct sk_hlist_node **)NULL);
	return true;
}

/**
 * sk_hlist_del_init_rcu() - delete an hlist node if hashed, leave it unhashed
 * @n: the node
 *
 * As sk_hlist_del_rcu(), but @n->pprev becomes NULL, so
 * sk_hlist_unhashed(@n) is true afterwards and a second call does nothing.
 * @n->next is left for readers.  Free or re-add @n after a grace period.
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_del_init_rcu(n) ((void)sk__hlist_del_init_rcu((n), SK_CALLSITE))

/* sk__hlist_replace_rcu() - internal form of sk_hlist_replace_rcu(). */
static inline bool sk__hlist_replace_rcu(struct sk_hlist_node *old, struct sk_hlist_node *n,
					 const struct sk_callsite *cs)
{
	struct sk_hlist_node *next, **pprev;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n))) {
		sk__rcu_report_hlist_replace(old, n, cs);
		return false;
	}
	if (sk_unlikely(!sk__hlist_del_ok(old, "hlist_replace_rcu", cs)))
		return false;
	next = old->next;
	pprev = old->pprev;
	if (sk_unlikely(n == old || n == next || pprev == &n->next)) {
		sk__rcu_report_hlist_replace(old, n, cs);
		return false;
	}
	if (sk_unlikely(pprev == &old->next)) {
		/* A fake node (sk_hlist_add_fake()), on no chain: @n becomes a
		 * fake node in its place, instead of pointing into @old. */
		n->next = NULL;
		n->pprev = &n->next;
		SK_WRITE_ONCE(old->pprev, (struct sk_hlist_node **)SK_LIST_POISON2);
		return true;
	}
	n->next = next;
	if (next)
		SK_WRITE_ONCE(next->pprev, &n->next);
	n->pprev = pprev;
	SK__RCU_PUBLISH(*pprev, n);
	SK_WRITE_ONCE(old->pprev, (struct sk_hlist_node **)SK_LIST_POISON2);
	return true;
}

/**
 * sk_hlist_replace_rcu() - put a new hlist node in the place of an old one
 * @old: the node to replace (hashed)
 * @new: the node to put in its place (not hashed)
 *
 * A reader sees either @old or @new.  @old->next is left for readers,
 * @old->pprev is poisoned; free @old after a grace period.  Checked as
 * sk_hlist_del() for @old; @new may not be @old or already next to it
 * (SK_VIOLATION_LIST_DOUBLE_ADD).  A fake @old (sk_hlist_add_fake()) is
 * on no chain: @new becomes a fake node, with next NULL.
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_replace_rcu(old, new) ((void)sk__hlist_replace_rcu((old), (new), SK_CALLSITE))

/* sk__hlist_add_head_rcu() - internal form of sk_hlist_add_head_rcu(). */
static inline bool sk__hlist_add_head_rcu(struct sk_hlist_node *n, struct sk_hlist_head *h,
					  const struct sk_callsite *cs)
{
	struct sk_hlist_node *first;

	if (sk_unlikely(!sk__hlist_add_head_ok(n, h, &first, cs)))
		return false;
	n->next = first;
	if (first)
		SK_WRITE_ONCE(first->pprev, &n->next);
	n->pprev = &h->first;
	SK__RCU_PUBLISH(h->first, n);
	return true;
}

/**
 * sk_hlist_add_head_rcu() - add a node at the front of an RCU hlist
 * @n: the node (not hashed, initialised as the readers expect)
 * @h: the head
 *
 * Checked as sk_hlist_add_head().
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_add_head_rcu(n, h) ((void)sk__hlist_add_head_rcu((n), (h), SK_CALLSITE))

/* sk__hlist_add_behind_rcu() - internal form of sk_hlist_add_behind_rcu(). */
static inline bool sk__hlist_add_behind_rcu(struct sk_hlist_node *n, struct sk_hlist_node *prev,
					    const struct sk_callsite *cs)
{
	struct sk_hlist_node *next;

	if (sk_unlikely(!sk__hlist_add_behind_ok(n, prev, &next, cs)))
		return false;
	n->next = next;
	if (next)
		SK_WRITE_ONCE(next->pprev, &n->next);
	n->pprev = &prev->next;
	SK__RCU_PUBLISH(prev->next, n);
	return true;
}

/**
 * sk_hlist_add_behind_rcu() - add a node after another, for RCU readers
 * @n: the node to add (not hashed)
 * @prev: the hashed node to add it after
 *
 * Checked as sk_hlist_add_behind().
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_add_behind_rcu(n, prev) ((void)sk__hlist_add_behind_rcu((n), (prev), SK_CALLSITE))

/* sk__hlist_add_before_rcu() - internal form of sk_hlist_add_before_rcu(). */
static inline bool sk__hlist_add_before_rcu(struct sk_hlist_node *n, struct sk_hlist_node *next,
					    const struct sk_callsite *cs)
{
	struct sk_hlist_node **pprev;

	if (sk_unlikely(!sk__hlist_add_before_ok(n, next, &pprev, cs)))
		return false;
	n->next = next;
	SK_WRITE_ONCE(next->pprev, &n->next);
	n->pprev = pprev;
	SK__RCU_PUBLISH(*pprev, n);
	return true;
}

/**
 * sk_hlist_add_before_rcu() - add a node before another, for RCU readers
 * @n: the node to add (not hashed)
 * @next: the hashed node to add it before
 *
 * Checked as sk_hlist_add_before().
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_add_before_rcu(n, next) ((void)sk__hlist_add_before_rcu((n), (next), SK_CALLSITE))

/* sk__hlist_add_tail_rcu() - internal form of sk_hlist_add_tail_rcu(). */
static inline bool sk__hlist_add_tail_rcu(struct sk_hlist_node *n, struct sk_hlist_head *h,
					  const struct sk_callsite *cs)
{
	struct sk_hlist_node *last = NULL, *i;

	if (SK__LIST_DEBUG && sk_unlikely(sk__list_bad(n) || sk__list_bad(h))) {
		sk__hlist_report_add(n, h, SK__HLIST_ADD_TAIL, cs); /* names the bad argument */
		return false;
	}
	for (i = h->first; i; i = i->next) {
		if (sk_unlikely(sk__list_bad(i))) {
			sk__hlist_report_step(last ? NULL : h, last, cs);
			return false;
		}
		if (sk_unlikely(i == n)) {
			/* Already on it: adding it again would cut off the
			 * nodes after it. */
			sk__hlist_report_add(n, h, SK__HLIST_ADD_TAIL, cs);
			return false;
		}
		last = i;
	}
	if (!last)
		return sk__hlist_add_head_rcu(n, h, cs);
	return sk__hlist_add_behind_rcu(n, last, cs);
}

/**
 * sk_hlist_add_tail_rcu() - add a node at the end of an RCU hlist
 * @n: the node to add (not hashed)
 * @h: the head
 *
 * O(n): walks to the last node (checking each link for NULL and poison,
 * and that @n is not on the chain already: SK_VIOLATION_LIST_DOUBLE_ADD),
 * then adds as sk_hlist_add_behind_rcu() (or sk_hlist_add_head_rcu() on an
 * empty list).
 *
 * Context: the update-side lock; readers may walk the list meanwhile.
 */
#define sk_hlist_add_tail_rcu(n, h) ((void)sk__hlist_add_tail_rcu((n), (h), SK_CALLSITE))

/* ------------------------------------------------------------------------
 * hlist readers
 * ------------------------------------------------------------------------ */

/**
 * sk_hlist_first_rcu() - the first node of an RCU hlist, loaded for a reader
 * @head: the head
 *
 * Context: a read-side critical section, or the update-side lock.
 * Return: the first node, or NULL.
 */
#define sk_hlist_first_rcu(head) SK__RCU_DEREF((head)->first)

/**
 * sk_hlist_next_rcu() - the node after a node, loaded for a reader
 * @node: the current node
 *
 * Context: a read-side critical section, or the update-side lock.
 * Return: the next node, or NULL.
 */
#define sk_hlist_next_rcu(node) SK__RCU_DEREF((node)->next)

/**
 * sk_hlist_for_each_entry_rcu() - walk an RCU hlist
 * @pos: the entry cursor
 * @head: the head
 * @member: the &struct sk_hlist_node within the entry
 * @...: optional: a condition under which the walk is legal without a
 *	read-side critical section (see sk_list_for_each_entry_rcu())
 *
 * Debug: checked as sk_list_for_each_entry_rcu(); a poisoned next (a
 * node deleted with the non-RCU sk_hlist_del()) is reported and ends the
 * walk.
 *
 * Context: a read-side critical section, or the condition.
 */
#define sk_hlist_for_each_entry_rcu(pos, head, member, ...)                   \
	for (SK__RCU_WALK_CHECK((head), "hlist_for_each_entry_rcu", ##__VA_ARGS__), \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_FIRST_RCU(head), pos, member); pos; \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT_RCU(&(pos)->member), pos, member))

/**
 * sk_hlist_for_each_entry_continue_rcu() - continue an RCU hlist walk
 * @pos: the entry cursor: the walk starts at the entry after it
 * @member: the &struct sk_hlist_node within the entry
 *
 * Context: a read-side critical section, the one in which @pos was found.
 */
#define sk_hlist_for_each_entry_continue_rcu(pos, member)                     \
	for (SK__RCU_WALK_CHECK((pos), "hlist_for_each_entry_continue_rcu"),   \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT_RCU(&(pos)->member), pos, member); pos; \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT_RCU(&(pos)->member), pos, member))

/**
 * sk_hlist_for_each_entry_from_rcu() - an RCU hlist walk from an entry (inclusive)
 * @pos: the entry cursor: the walk starts with it
 * @member: the &struct sk_hlist_node within the entry
 *
 * Context: a read-side critical section, the one in which @pos was found.
 */
#define sk_hlist_for_each_entry_from_rcu(pos, member)                         \
	for (SK__RCU_WALK_CHECK((pos), "hlist_for_each_entry_from_rcu"); pos;  \
	     pos = SK__HLIST_ENTRY_OR_NULL(SK__HLIST_NEXT_RCU(&(pos)->member), pos, member))

/* ------------------------------------------------------------------------
 * Deferred free
 * ------------------------------------------------------------------------ */

/* How sk__rcu_free_cb() frees (struct sk_rcu_head.how). */
#define SK__RCU_FREE_KFREE 0x6b66u /* sk_kfree() */
#define SK__RCU_FREE_CACHE 0x6b63u /* sk_kmem_cache_free() */
#define SK__RCU_FREE_FN 0x6b6eu    /* the caller's function */

/**
 * struct sk_rcu_head - what an object embeds to be freed after a grace period
 * @rcu: liburcu's callback head (queued by call_rcu())
 * @by: the cache (sk_kmem_cache_free_rcu()) or function (sk_call_rcu_free())
 *	that frees the object
 * @offset: where the head lies within the object (the object's address is
 *	the head's minus @offset)
 * @how: which of the three frees
 *
 * The kernel's struct rcu_head plus what the callback needs to find and
 * free the object.  Embed one per object; its contents are private and
 * need no initialisation.  A head still queued (its callback has not run)
 * is recognised by its contents, and queueing it again is reported
 * (SK_VIOLATION_ALLOC_DOUBLE_FREE) and refused; the callback clears the
 * mark before it frees, so the memory may be reused and queued again.
 */
struct sk_rcu_head {
	struct rcu_head rcu;
	union {
		struct sk_kmem_cache *cache;
		void (*fn)(void *obj);
	} by;
	unsigned int offset;
	unsigned int how;
};

/*
 * sk__call_rcu_free() - internal: fill @h (embedded in @obj) and queue it.
 * The caller's stores to the object happen before the callback (edge on @h).
 */
static inline void sk__call_rcu_free(void *obj, struct sk_rcu_head *h, unsigned int how,
				     struct sk_kmem_cache *cache, void (*fn)(void *obj),
				     const char *op, const struct sk_callsite *cs)
{
	if (sk_unlikely((how == SK__RCU_FREE_CACHE && !cache) || (how == SK__RCU_FREE_FN && !fn))) {
		sk__rcu_report_free(obj, op, cs);
		return;
	}
	/* Queued twice, liburcu's queue would turn into a cycle: its worker
	 * would run the callbacks forever and sk_rcu_barrier() never return. */
	if (sk_unlikely(sk__rcu_free_queued(obj, h, op, cs)))
		return;
	h->offset = (unsigned int)((char *)h - (char *)obj);
	h->how = how;
	if (how == SK__RCU_FREE_CACHE)
		h->by.cache = cache;
	else if (how == SK__RCU_FREE_FN)
		h->by.fn = fn;
	SK__RCU_EDGE_BEFORE(h);
	call_rcu(&h->rcu, sk__rcu_free_cb);
}

/**
 * sk_kfree_rcu() - sk_kfree() an object after a grace period
 * @ptr: the object (from sk_kmalloc() and friends), or NULL (nothing happens)
 * @rhf: the name of its &struct sk_rcu_head member
 *
 * The kernel's kfree_rcu(ptr, rhf).  Returns at once; the object is freed
 * by the flavour's call_rcu worker thread once every read-side critical
 * section that might still see it has ended.  Unlink the object first
 * (sk_list_del_rcu() and friends) and do not touch it afterwards.
 *
 * Context: a thread registered with the flavour (liburcu's rule for
 * call_rcu(); qsbr: online); may be called under the update-side lock.
 */
#define sk_kfree_rcu(ptr, rhf)                                                \
	do {                                                                  \
		__typeof__(ptr) sk__kfr = (ptr);                              \
		if (sk__kfr)                                                  \
			sk__call_rcu_free(sk__kfr, &sk__kfr->rhf, SK__RCU_FREE_KFREE, NULL, NULL, \
					  "kfree_rcu", SK_CALLSITE);          \
	} while (0)

/**
 * sk_kmem_cache_free_rcu() - free an object to its cache after a grace period
 * @cache: the &struct sk_kmem_cache it came from
 * @ptr: the object, or NULL (nothing happens)
 * @rhf: the name of its &struct sk_rcu_head member
 *
 * As sk_kfree_rcu(), freeing with sk_kmem_cache_free(@cache, @ptr) (whose
 * own checks, wrong cache and double free, apply then).  A NULL @cache is
 * reported (SK_VIOLATION_INVALID_ARGUMENT) and the object is not freed.
 * Call sk_rcu_barrier() before sk_kmem_cache_destroy(@cache).
 *
 * Context: as sk_kfree_rcu().
 */
#define sk_kmem_cache_free_rcu(cache, ptr, rhf)                               \
	do {                                                                  \
		__typeof__(ptr) sk__kcr = (ptr);                              \
		if (sk__kcr)                                                  \
			sk__call_rcu_free(sk__kcr, &sk__kcr->rhf, SK__RCU_FREE_CACHE, (cache), NULL, \
					  "kmem_cache_free_rcu", SK_CALLSITE); \
	} while (0)

/**
 * sk_call_rcu_free() - call a function on an object after a grace period
 * @ptr: the object, or NULL (nothing happens)
 * @rhf: the name of its &struct sk_rcu_head member
 * @fn: ``void fn(void *obj)``, called with @ptr: it releases the object
 *	(and what it owns) however the program allocated it
 *
 * As sk_kfree_rcu(), with the caller's choice of what frees.  @fn runs on
 * the flavour's call_rcu worker thread, must not block for long, and may
 * not call sk_synchronize_rcu() or sk_rcu_barrier().  A NULL @fn is
 * reported (SK_VIOLATION_INVALID_ARGUMENT) and nothing is queued.
 *
 * Context: as sk_kfree_rcu().
 */
#define sk_call_rcu_free(ptr, rhf, fn)                                        \
	do {                                                                  \
		__typeof__(ptr) sk__cfr = (ptr);                              \
		if (sk__cfr)                                                  \
			sk__call_rcu_free(sk__cfr, &sk__cfr->rhf, SK__RCU_FREE_FN, NULL, (fn), \
					  "call_rcu_free", SK_CALLSITE);      \
	} while (0)

/* ------------------------------------------------------------------------
 * The locked list (safekern/locked_list.h) with RCU readers: writers
 * serialised by its mutex (checked by clang -Wthread-safety, and at run
 * time at the debug level), readers lock-free.
 * ------------------------------------------------------------------------ */

static inline bool sk__locked_list_add_rcu(struct sk_list_head *entry, struct sk_locked_list *l,
					   bool tail, const char *op, const struct sk_callsite *cs)
	SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_add_rcu(struct sk_list_head *entry, struct sk_locked_list *l,
					   bool tail, const char *op, const struct sk_callsite *cs)
{
	if (SK__LL_NOT_HELD(l, op, cs))
		return false;
	if (sk_unlikely(!sk__list_add_rcu(entry, &l->head_, tail, op, cs)))
		return false;
	l->len_++;
	return true;
}

/**
 * sk_locked_list_add_rcu() - add an entry at the front, for RCU readers
 * @new: the entry (not on a list, initialised as the readers expect)
 * @l: the list
 *
 * As sk_list_add_rcu() on the list's head, counted.  Debug: the lock.
 *
 * Context: @l->lock held (checked by clang -Wthread-safety); readers may
 * walk the list meanwhile.
 */
#define sk_locked_list_add_rcu(new, l)                                        \
	((void)sk__locked_list_add_rcu((new), (l), false, "locked_list_add_rcu", SK_CALLSITE))

/**
 * sk_locked_list_add_tail_rcu() - add an entry at the back, for RCU readers
 * @new: the entry (not on a list)
 * @l: the list
 *
 * As sk_list_add_tail_rcu() on the list's head, counted.
 *
 * Context: @l->lock held; readers may walk the list meanwhile.
 */
#define sk_locked_list_add_tail_rcu(new, l)                                   \
	((void)sk__locked_list_add_rcu((new), (l), true, "locked_list_add_tail_rcu", SK_CALLSITE))

static inline bool sk__locked_list_del_rcu(struct sk_list_head *entry, struct sk_locked_list *l,
					   const struct sk_callsite *cs) SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_del_rcu(struct sk_list_head *entry, struct sk_locked_list *l,
					   const struct sk_callsite *cs)
{
	if (SK__LL_NOT_HELD(l, "locked_list_del_rcu", cs))
		return false;
	if (SK__LL_IS_HEAD(l, entry, "locked_list_del_rcu", cs))
		return false;
	if (sk_unlikely(SK__LL_UNLISTED(entry))) { /* as sk_locked_list_del() */
		sk__locked_list_report_unlisted(l, entry, "locked_list_del_rcu", cs);
		return false;
	}
	if (sk_unlikely(!l->len_) && sk__locked_list_foreign(l, entry, "locked_list_del_rcu", cs))
		return false;
	if (sk_unlikely(!sk__list_del_rcu(entry, "locked_list_del_rcu", cs)))
		return false;
	l->len_--;
	return true;
}

/**
 * sk_locked_list_del_rcu() - delete an entry that RCU readers may be standing on
 * @entry: the entry (on @l)
 * @l: the list
 *
 * As sk_list_del_rcu(), counted: ->next is left for readers, ->prev
 * poisoned.  An entry on no list, or the list's own head, is refused as
 * by sk_locked_list_del().
 * Free the entry after a grace period (sk_kfree_rcu()).
 *
 * Context: @l->lock held; readers may walk the list meanwhile.
 */
#define sk_locked_list_del_rcu(entry, l)                                      \
	((void)sk__locked_list_del_rcu((entry), (l), SK_CALLSITE))

static inline bool sk__locked_list_replace_rcu(struct sk_list_head *old, struct sk_list_head *entry,
					       struct sk_locked_list *l,
					       const struct sk_callsite *cs) SK_MUST_HOLD(l->lock);
static inline bool sk__locked_list_replace_rcu(struct sk_list_head *old, struct sk_list_head *entry,
					       struct sk_locked_list *l,
					       const struct sk_callsite *cs)
{
	if (SK__LL_NOT_HELD(l, "locked_list_replace_rcu", cs))
		return false;
	if (SK__LL_IS_HEAD(l, old, "locked_list_replace_rcu", cs) ||
	    SK__LL_IS_HEAD(l, entry, "locked_list_replace_rcu", cs))
		return false;
	/* @old must be on @l, as for sk_locked_list_del_rcu(). */
	if (sk_unlikely(SK__LL_UNLISTED(old))) {
		sk__locked_list_report_unlisted(l, old, "locked_list_replace_rcu", cs);
		return false;
	}
	if (sk_unlikely(!l->len_) && sk__locked_list_foreign(l, old, "locked_list_replace_rcu", cs))
		return false;
	return sk__list_replace_rcu(old, entry, cs);
}

/**
 * sk_locked_list_replace_rcu() - put a new entry in the place of an old one
 * @old: the entry to replace (on @l)
 * @new: the entry to put in its place (not on a list)
 * @l: the list
 *
 * As sk_list_replace_rcu(); the count does not change.  Free @old after a
 * grace period.  An @old on no list, or on another list while @l is
 * empty, is refused as by sk_locked_list_del_rcu(); the list's own head as
 * @old or @new is reported (invalid_argument) and refused.
 *
 * Context: @l->lock held; readers may walk the list meanwhile.
 */
#define sk_locked_list_replace_rcu(old, new, l)                               \
	((void)sk__locked_list_replace_rcu((old), (new), (l), SK_CALLSITE))

/**
 * sk_locked_list_for_each_entry_rcu() - walk a locked list as an RCU reader
 * @pos: the entry cursor
 * @l: the list
 * @member: the &struct sk_list_head within the entry
 *
 * sk_list_for_each_entry_rcu() over the list's head, without its lock.
 * Debug: reported once if the walk starts outside a read-side critical
 * section (holding @l->lock instead is not recognised here: under the
 * lock use sk_locked_list_for_each_entry()).
 *
 * Context: a read-side critical section.
 */
#define sk_locked_list_for_each_entry_rcu(pos, l, member)                     \
	sk_list_for_each_entry_rcu(pos, &(l)->head_, member)

/**
 * sk_locked_list_first_or_null_rcu() - the first entry of a locked list, for an RCU reader
 * @l: the list
 * @type: the type of the entries
 * @member: the &struct sk_list_head within @type
 *
 * Context: a read-side critical section.
 * Return: the first entry, or NULL if the list is empty.
 */
#define sk_locked_list_first_or_null_rcu(l, type, member)                     \
	sk_list_first_or_null_rcu(&(l)->head_, type, member)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_RCULIST_H */
