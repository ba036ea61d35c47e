/* SPDX-License-Identifier: MIT */
/*
 * safekern/handle.h - ownership-tagged, generation-checked handle tables
 *
 * Theory of operation
 * ===================
 *
 * A handle table stores object pointers and hands out handles: 64-bit
 * values (sk_handle_t, a struct, so that a handle never mixes with an
 * integer) that name a slot of one table, in one generation, with an
 * ownership tag.  A handle is looked up to reach its object; the lookup
 * takes a reference that sk_handle_put() drops.  An *owned* handle may also
 * be released (the object's destructor runs once no lookup holds it) or
 * transferred to another owner (move semantics: the old handle, and every
 * copy of it, becomes stale; the new owner gets a new owned handle).  A
 * *borrowed* copy (sk_handle_borrow()) may only be looked up.  Owners are
 * explicit tokens (struct sk_handle_owner: a module, a thread context),
 * checked on release and transfer.
 *
 * sk_handle_try_lookup() is the lookup for weak references (a timer that
 * holds a connection's handle): a stale handle is refused without a report.
 *
 * Scoped lookups (safekern/cleanup.h): SK_CLASS(handle, ref)(t, h) looks
 * @h up and binds the result to the scope of ref: ref.obj is the object
 * with a reference held (or NULL if the lookup was refused), and the
 * reference is dropped with sk_handle_put() when ref leaves its scope, on
 * every exit path.  SK_CLASS(handle_try, ref)(t, h) does the same with
 * sk_handle_try_lookup(); typed tables have sk_htable_lookup_scoped() and
 * sk_htable_try_lookup_scoped().  The lookup takes a reference and no
 * lock, so that is all the scope drops.
 *
 * What is caught, reported through the violation channel and refused:
 *
 *   handle_stale           a handle whose object was released or transferred
 *   handle_double_release  releasing a handle that was already released
 *   handle_invalid         a forged or garbage handle: index out of range,
 *                          another table's handle, bad tag bits, a
 *                          generation the slot never issued, the zero handle
 *   handle_wrong_owner     release or transfer by a non-owner, or through a
 *                          borrowed handle
 *   handle_leak            destroying a table that still holds objects
 *   refcount_overflow      a lookup beyond SK_HANDLE_MAX_REFS held references
 *   refcount_underflow     sk_handle_put() without a reference held
 *   refcount_inc_from_zero a lookup of a live object whose count such puts
 *                          drained
 *   invalid_argument       a NULL object or owner, an unusable table
 *
 * Bit budget
 * ----------
 *
 * Each slot is 16 bytes: the object pointer and one 64-bit atomic word that
 * holds the slot's generation, state, owner and reference count.  The
 * handle repeats the slot word's identity bits at the same positions, so a
 * lookup checks table, tag, generation, liveness and saturation with one
 * XOR and one mask after a single atomic add:
 *
 *   bits    slot word                      handle
 *   0-8     table id (1..511)              table id
 *   9       LIVE                           MARK (always 1: tag bit)
 *   10-33   generation (24 bits)           generation
 *   34      holds an object                BORROWED (tag bit)
 *   35      previous generation released   index bits 0-26 (bits 35-61)
 *   36-47   owner id (1..4095)
 *   48-61   references - 1 (14 bits)
 *   62-63   count guard                    must be 0 (index out of range)
 *
 * so that:
 *
 *   - SK_HANDLE_MAX_SLOTS (134,217,664) slots per table;
 *   - SK_HANDLE_GENERATIONS (16,777,215) generations per slot: every release
 *     and every transfer starts a new one.  A slot that uses its last
 *     generation is retired (never reused); a transfer out of the last
 *     generation moves the object to a fresh slot.  A generation never wraps,
 *     so an old handle never becomes valid again in its table; nor in a
 *     later table that gets the id back: a table's fresh slots start one
 *     past every generation the earlier tables with its id issued (until
 *     those issued 2^23 on one slot between them: then back to 0);
 *   - SK_HANDLE_MAX_TABLES (511) live tables have distinct ids (ids are
 *     reused round-robin, skipping ones in use: a table initialised while
 *     fewer than 511 others live gets an id no live table has; beyond 511
 *     live tables, ids are shared, a table keeps its id while it lives, and
 *     a wrong-table handle among tables sharing one is caught only by its
 *     generation, index and liveness checks);
 *   - SK_HANDLE_MAX_OWNERS (4095) live owners have distinct ids (same rule);
 *   - SK_HANDLE_MAX_REFS (16384) lookup references may be held at once on
 *     one object; the next lookup is refused (refcount_overflow).  The
 *     count includes, for a moment, every lookup in progress on the slot
 *     (a lookup counts itself before it checks the handle, and a failing
 *     one takes that back), and an object a transfer moved to a fresh slot
 *     holds one more there: a program that holds close to the limit can
 *     be refused a little below it.
 *
 * The count is stored minus one (a free slot holds -1), so that the put
 * that drops the last reference, or one that was not held, is the put
 * whose subtraction goes below zero: one sign test on the flags.
 *
 * A forged value that happens to name a live slot of the right table passes
 * the lookup check only if it also carries the tag bit, the table id and
 * that slot's current generation: a chance of 2^-34 (about 6e-11) for a
 * random value; one flipped key bit is always caught; a handle of another
 * live table (while at most 511 have been live at once) is always caught.
 *
 * Stale versus double release
 * ---------------------------
 *
 * Releasing or transferring ends a generation at once (the slot's
 * generation is incremented then; a reused slot keeps it), and the slot
 * records in one bit whether its previous generation ended by a release.
 * A release whose handle names exactly the previous generation of a slot
 * whose previous generation was released is a double release, whether the
 * slot is still free, still draining lookups, or already reused.  Any other
 * older generation is stale (including a double release after the slot went
 * through one more generation).  A generation newer than the slot's, or
 * equal to that of a slot that holds no live object, was never issued: invalid.
 * The checks run in this order: handle structure (invalid), generation
 * (stale, double release, invalid), ownership (wrong owner).
 *
 * Memory ordering
 * ---------------
 *
 *   - sk_handle_insert() happens before every lookup that returns the object
 *     (release on the publishing add, acquire on the lookup's add).
 *   - Every sk_handle_put() and the sk_handle_release() happen before the
 *     destructor (release on each drop, acquire before the destructor).
 *   - A failed lookup orders nothing.  A transfer is a full barrier on the
 *     slot but orders nothing for the new owner, who gets the handle through
 *     the program's own channel (which orders it).
 *
 * Lookups are lock-free and need no thread registration: a lookup adds one
 * to the slot word and then checks the word it replaced; a mismatch undoes
 * the add.  Because a reference is counted before it is checked, a lookup
 * racing a release either holds a live object or fails; the destructor
 * runs after the last reference is dropped, on the thread that drops it.
 * Slots live in chunks that double in size and never move (a chunk is only
 * freed by sk_handle_table_destroy()).  Free slots are cached per thread
 * (31 per thread and table, for up to 64 threads), so that a thread that
 * inserts and releases reuses its own slots without touching the shared
 * free list;
 * behind the caches, a lock-free LIFO list whose head carries a 32-bit
 * version tag against ABA.  A thread's cached slots return to the list
 * when it exits.  Growth (one chunk allocation) and the rare forwarding
 * records take a mutex.
 *
 * Failure behaviour
 * -----------------
 *
 * A refused operation changes nothing and says so in its result: a NULL
 * object, a zero handle, or a negative errno.  sk_handle_put() without a
 * reference is undone.  Out of memory (ENOMEM) and a full table (ENOSPC)
 * are not violations: insert and transfer return the zero handle with errno
 * set, and a failed transfer leaves the old handle valid.
 *
 * What the checks cannot see: sk_handle_put() does not check the
 * generation (a held reference pins the slot, and transfers legitimately
 * move the generation on while references are held), so a put with a stale
 * handle of the same table, a forged one with a generation the slot never
 * issued, or one of a destroyed table whose table id a later table got
 * back, drops a reference somebody else holds if the slot holds any (the
 * scoped form's put, which knows its slot and table, cannot be misled);
 * handles are values and copies of an owned handle are
 * owned too (the run-time owner check, not the tag, decides who may release).
 *
 * Concurrency
 * -----------
 *
 *   operation                 may run concurrently with
 *   lookup, try_lookup, put,  everything but init/destroy of the table
 *   borrow
 *   insert                    everything but init/destroy of the table
 *   release, transfer         everything but init/destroy of the table; of
 *                             two racing releases (or transfers) of one
 *                             handle exactly one succeeds
 *   table init, destroy       nothing on the same table
 *   owner init, destroy       nothing using the same owner
 *
 * The destructor runs on the thread whose release or put dropped the last
 * reference, with no library lock held: it may use the table, and destroy
 * other tables, but not destroy its own (that call still uses it): such a
 * sk_handle_table_destroy() or _free() is reported (invalid_argument) and
 * refused, the table left as it was.
 *
 * Check levels: every check above is O(1) and on at both levels; the debug
 * level (-DSK_DEBUG) adds Valgrind happens-before annotations to the inline
 * lookup and put, so helgrind and drd understand the lock-free publication.
 *
 * Typed tables: SK_HANDLE_TABLE(name, type) declares struct name, its
 * handle type name_handle_t and typed functions, used through the
 * sk_htable_*() macros; a handle of one typed table does not compile
 * against another.
 */
#ifndef SAFEKERN_HANDLE_H
#define SAFEKERN_HANDLE_H

#include <pthread.h>
#include <stdint.h>

#include <safekern/annotate.h>
#include <safekern/cleanup.h>
#include <safekern/compiler.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Limits and encoding
 * ------------------------------------------------------------------------ */

/** SK_HANDLE_MAX_SLOTS - the most slots one table can have. */
#define SK_HANDLE_MAX_SLOTS ((UINT64_C(1) << 27) - 64)
/** SK_HANDLE_GENERATIONS - generations a slot issues before it is retired. */
#define SK_HANDLE_GENERATIONS ((UINT32_C(1) << 24) - 1)
/** SK_HANDLE_MAX_REFS - lookup references that may be held at once on one object. */
#define SK_HANDLE_MAX_REFS 16384
/** SK_HANDLE_MAX_TABLES - live tables that are told apart exactly. */
#define SK_HANDLE_MAX_TABLES 511
/** SK_HANDLE_MAX_OWNERS - live owners that are told apart exactly. */
#define SK_HANDLE_MAX_OWNERS 4095

#ifdef SK_DEBUG
#define SK__HANDLE_DEBUG true
#else
#define SK__HANDLE_DEBUG false
#endif

/* Internal: the bit layout described in the theory block. */
#define SK__HANDLE_TID_MASK UINT64_C(0x1ff)
#define SK__HANDLE_LIVE (UINT64_C(1) << 9)
#define SK__HANDLE_GEN_SHIFT 10
#define SK__HANDLE_GEN_MAX UINT64_C(0xffffff)
#define SK__HANDLE_GEN_MASK (SK__HANDLE_GEN_MAX << SK__HANDLE_GEN_SHIFT)
#define SK__HANDLE_OBJ (UINT64_C(1) << 34)
#define SK__HANDLE_BORROWED (UINT64_C(1) << 34)
#define SK__HANDLE_PREV (UINT64_C(1) << 35)
#define SK__HANDLE_INDEX_SHIFT 35
#define SK__HANDLE_OWNER_SHIFT 36
#define SK__HANDLE_OWNER_MASK (UINT64_C(0xfff) << SK__HANDLE_OWNER_SHIFT)
#define SK__HANDLE_REF_SHIFT 48
#define SK__HANDLE_REF_ONE (UINT64_C(1) << SK__HANDLE_REF_SHIFT)
#define SK__HANDLE_COUNT_MASK (UINT64_C(0xffff) << SK__HANDLE_REF_SHIFT)
/* Identity: table id, LIVE/MARK and generation. */
#define SK__HANDLE_ID_MASK UINT64_C(0x3ffffffff)
/* What a lookup compares: identity plus the count guard (saturation). */
#define SK__HANDLE_KEY_MASK (SK__HANDLE_ID_MASK | (UINT64_C(3) << 62))
/* Slots of the first chunk; chunk k holds 2^k slots for k >= 6. */
#define SK__HANDLE_FIRST 64
#define SK__HANDLE_NCHUNK 30

/**
 * typedef sk_handle_t - a handle: an opaque 64-bit value
 *
 * Copy it freely; compare with sk_handle_eq(); test with
 * sk_handle_is_null().  The zero value (sk_handle_null()) is never a
 * valid handle.  sk_handle_bits() and sk_handle_from_bits() convert to and
 * from a uint64_t for storage (epoll data, a wire format); a value that was
 * not a handle is caught when it is used.
 */
typedef struct sk_handle {
	uint64_t sk__v;
} sk_handle_t;

/**
 * typedef sk_handle_dtor_fn - an object destructor
 * @obj: the object being released
 * @arg: the argument given at table init
 *
 * Runs once per inserted object, when it has been released and no lookup
 * holds it, on the thread that dropped the last reference.
 */
typedef void (*sk_handle_dtor_fn)(void *obj, void *arg);

/**
 * struct sk_handle_owner - an owner token
 * @name: a name for reports (may be NULL; must outlive the owner)
 * @sk__id: internal: the owner id, 0 until first use
 *
 * Static owners can use SK_HANDLE_OWNER_INIT() and get their id on first
 * use; others use sk_handle_owner_init() and sk_handle_owner_destroy().
 */
struct sk_handle_owner {
	const char *name;
	uint32_t sk__id;
};

/**
 * SK_HANDLE_OWNER_INIT() - static initializer for a &struct sk_handle_owner
 * @owner_name: the name for reports (a string literal)
 */
#define SK_HANDLE_OWNER_INIT(owner_name) { (owner_name), 0 }

/* Internal: one slot (16 bytes). */
struct sk__handle_slot {
	uint64_t sk__word;
	uintptr_t sk__obj; /* the object, or the free-list link while free */
};

struct sk__handle_forward;
struct sk__handle_cache;

/**
 * struct sk_handle_table - a handle table
 *
 * All members are internal.  Initialise with sk_handle_table_init() (or
 * allocate with sk_handle_table_create()); the layout is the same at both
 * check levels.
 */
struct sk_handle_table {
	/* Read by every lookup and put. */
	uintptr_t sk__chunk[SK__HANDLE_NCHUNK]; /* biased chunk bases, 0 = none */
	uint64_t sk__key; /* incarnation << 10 | LIVE | table id; 0 when not initialised */
	char sk__pad[SK_CACHELINE_SIZE];
	/* Written by insert and release. */
	uint64_t sk__free; /* free-list head: version << 32 | (index + 1) */
	uint64_t sk__next; /* first never-used index */
	uint64_t sk__capacity; /* slots allocated */
	/* Set at init. */
	sk_handle_dtor_fn sk__dtor;
	void *sk__dtor_arg;
	uint64_t sk__max_slots;
	uint32_t sk__gen_limit;
	uint32_t sk__tid;
	uint32_t sk__gen_base; /* fresh slots' first generation */
	pthread_mutex_t sk__lock; /* growth and forwarding records */
	struct sk__handle_forward *sk__forward;
	uint64_t sk__retired;
	/* Per-thread caches of free slots (NULL: none); list of tables with one. */
	struct sk__handle_cache *sk__cache;
	struct sk_handle_table *sk__next_table;
	/* The chunks' own addresses: sk__chunk holds them biased, which leak
	 * checkers (memcheck, LeakSanitizer) cannot follow. */
	void *sk__chunk_mem[SK__HANDLE_NCHUNK];
};

/* ------------------------------------------------------------------------
 * Handle values
 * ------------------------------------------------------------------------ */

/**
 * sk_handle_null() - the zero handle, never valid
 *
 * Return: a handle with all bits clear.
 */
static inline sk_handle_t sk_handle_null(void)
{
	sk_handle_t h = { 0 };

	return h;
}

/**
 * sk_handle_is_null() - whether a handle is the zero handle
 * @h: the handle
 *
 * Insert, borrow and transfer return the zero handle when they fail.
 *
 * Return: true for the zero handle.
 */
static inline bool sk_handle_is_null(sk_handle_t h)
{
	return h.sk__v == 0;
}

/**
 * sk_handle_eq() - whether two handles are the same value
 * @a: a handle
 * @b: another handle
 *
 * An owned handle and a borrowed copy of it differ in their tag bit.
 *
 * Return: true if all 64 bits are equal.
 */
static inline bool sk_handle_eq(sk_handle_t a, sk_handle_t b)
{
	return a.sk__v == b.sk__v;
}

/**
 * sk_handle_is_borrowed() - whether a handle is a borrowed copy
 * @h: the handle
 *
 * Return: true if @h carries the borrowed tag.
 */
static inline bool sk_handle_is_borrowed(sk_handle_t h)
{
	return (h.sk__v & SK__HANDLE_BORROWED) != 0;
}

/**
 * sk_handle_bits() - a handle as a 64-bit integer, for storage
 * @h: the handle
 *
 * Return: the handle's bits.
 */
static inline uint64_t sk_handle_bits(sk_handle_t h)
{
	return h.sk__v;
}

/**
 * sk_handle_from_bits() - a handle from a stored 64-bit integer
 * @bits: a value from sk_handle_bits()
 *
 * No check happens here: a value that is not a live handle is reported
 * when it is used.
 *
 * Return: the handle.
 */
static inline sk_handle_t sk_handle_from_bits(uint64_t bits)
{
	sk_handle_t h;

	h.sk__v = bits;
	return h;
}

/* ------------------------------------------------------------------------
 * Owners
 * ------------------------------------------------------------------------ */

/**
 * sk_handle_owner_init() - initialise an owner token
 * @owner: the owner
 * @name: its name for reports (may be NULL; must outlive the owner)
 *
 * Gives the owner an id distinct from every other live owner's while at
 * most SK_HANDLE_MAX_OWNERS are live.
 *
 * Context: any thread; not concurrently with other uses of @owner.
 */
SK_API void sk_handle_owner_init(struct sk_handle_owner *owner, const char *name);

/**
 * sk_handle_owner_destroy() - retire an owner token
 * @owner: the owner
 *
 * Its id becomes free for later owners.  Objects it still owns keep the
 * id, so release or transfer them first: a later owner that gets the same
 * id would pass their owner check.
 *
 * Checked (debug level: -DSK_DEBUG in the calling unit, or a library built
 * at the debug level): every live table is searched for objects @owner
 * still owns, O(slots of all tables).  If there are any, the destroy is
 * reported (SK_VIOLATION_HANDLE_LEAK, with their count and the first
 * slots) and refused: the id stays reserved for good, so no later owner
 * can release or transfer those objects, and @owner is left as it was (it
 * can release them and be destroyed again); reports name the id from a
 * copy of @owner's name, so the caller may free the name either way.  At
 * the hardened level this is not checked (ids are reused round-robin, so a
 * reused id reaches an orphaned object only after SK_HANDLE_MAX_OWNERS - 1
 * other owners).
 *
 * Context: any thread; @owner is not used afterwards (unless refused).
 * Return: 0; -EBUSY if refused (debug level); -EINVAL (reported) if @owner
 * is NULL.
 */
#define sk_handle_owner_destroy(owner)                                        \
	sk__handle_owner_destroy((owner), SK__HANDLE_DEBUG, SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

/**
 * sk_handle_table_init() - initialise a table in caller memory
 * @t: the table
 * @dtor: the destructor for released objects (may be NULL)
 * @arg: passed to @dtor
 *
 * Allocates the per-thread caches of free slots (8 KiB; without them the
 * table still works, through the shared free list only) and puts the table
 * on the list that exiting threads visit to return their cached slots; the
 * first chunk (64 slots) is allocated by the first insert.  So a table must
 * be destroyed (sk_handle_table_destroy()) before its memory is freed,
 * reused or moved.  A table freed without it is not caught: the list still
 * holds it, and later table inits and thread exits read and write the
 * freed memory.  Initialising a table that was not destroyed is
 * reported (invalid_argument) and leaks what it held; from the destructor
 * of one of its own objects it is reported and refused, the table left as
 * it was (as sk_handle_table_destroy() there).
 *
 * Context: no other operation on @t may run concurrently.
 */
SK_API void sk_handle_table_init(struct sk_handle_table *t, sk_handle_dtor_fn dtor, void *arg);

/**
 * sk_handle_table_destroy() - destroy a table initialised in caller memory
 * @t: the table
 *
 * Frees the table's memory.  Objects still in the table (live, or released
 * but still held by lookups) are reported once as handle_leak with their
 * count; their destructors do not run (the table cannot know whether their
 * owners still use them) and the objects are leaked, as the kernel leaks a
 * cache destroyed with live objects.  Afterwards every operation on @t
 * is refused as invalid until it is initialised again.  Called from the
 * destructor of one of @t's objects, it is reported (invalid_argument)
 * and refused, @t unchanged: destroy @t after the release or put that ran
 * the destructor has returned.
 *
 * Context: no other operation on @t may run concurrently.
 */
#define sk_handle_table_destroy(t) sk__handle_table_destroy((t), SK_CALLSITE)

/**
 * sk_handle_table_create() - allocate and initialise a table
 * @dtor: the destructor for released objects (may be NULL)
 * @arg: passed to @dtor
 *
 * Return: the table, or NULL (errno ENOMEM).  Free it with
 * sk_handle_table_free().
 */
SK_API struct sk_handle_table *sk_handle_table_create(sk_handle_dtor_fn dtor,
						      void *arg) SK_MUST_CHECK;

/**
 * sk_handle_table_free() - destroy and free a table from sk_handle_table_create()
 * @t: the table, or NULL
 *
 * As sk_handle_table_destroy(), then frees @t (not when refused because a
 * destructor of @t's is running).
 *
 * Context: no other operation on @t may run concurrently.
 */
#define sk_handle_table_free(t) sk__handle_table_free((t), SK_CALLSITE)

/**
 * sk_handle_table_count() - how many objects the table holds
 * @t: the table
 *
 * Counts live objects plus released ones that lookups still hold.  Walks
 * the table (O(slots)); under concurrent changes the result is a snapshot
 * of each slot at a slightly different time.
 *
 * Return: the number of objects.
 */
SK_API uint64_t sk_handle_table_count(struct sk_handle_table *t);

/* ------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------ */

/**
 * sk_handle_insert() - store an object and get an owned handle to it
 * @t: the table
 * @obj: the object (not NULL)
 * @owner: its owner (not NULL)
 *
 * Return: an owned handle, or the zero handle: errno ENOMEM or ENOSPC (the
 * table is full: SK_HANDLE_MAX_SLOTS slots in use, not counting up to 31
 * free slots per other live thread that sit in that thread's cache), or
 * EINVAL after a reported invalid_argument (NULL @obj or @owner, a table
 * that is not initialised).
 *
 * Context: any thread, lock-free except when the table grows.
 */
#define sk_handle_insert(t, obj, owner) sk__handle_insert((t), (obj), (owner), SK_CALLSITE)

/**
 * sk_handle_lookup() - the object behind a handle, with a reference held
 * @t: the table
 * @h: an owned or borrowed handle
 *
 * Drop the reference with sk_handle_put(t, h) (the same handle, or any
 * handle of the same slot): the object is not destroyed while it is held,
 * even if it is released or transferred meanwhile.
 *
 * Return: the object, or NULL after a reported violation (stale, invalid,
 * refcount_overflow); the result must be checked.
 *
 * Context: any thread; lock-free (one atomic add, undone on failure).
 */
#define sk_handle_lookup(t, h) sk__handle_lookup((t), (h), SK_CALLSITE)

/**
 * sk_handle_try_lookup() - sk_handle_lookup() for handles that may be stale
 * @t: the table
 * @h: an owned or borrowed handle
 *
 * For weak references (a timer that holds a connection's handle, a cache):
 * a stale handle is refused without a report.  Everything else is as
 * sk_handle_lookup(): invalid handles and saturation are reported.
 *
 * Return: the object with a reference held, or NULL; must be checked.
 *
 * Context: any thread; lock-free.  A lookup that fails can run the
 * destructor, as either form can: a stale lookup's reference, counted
 * before the check, may be the last one of an object released meanwhile,
 * and its undo then destroys it.  Do not look up under a lock that the
 * destructor takes.
 */
#define sk_handle_try_lookup(t, h) sk__handle_try_lookup((t), (h), SK_CALLSITE)

/**
 * sk_handle_put() - drop the reference a lookup took
 * @t: the table
 * @h: the handle that was looked up
 *
 * If the object was released meanwhile and this was the last reference,
 * its destructor runs here.  A put without a held reference is reported
 * (refcount_underflow) and undone; a handle of another table, a forged
 * index or a value without the tag bit is reported and ignored.  The
 * generation is not checked: see "What the checks cannot see" above.
 *
 * Context: any thread; lock-free.
 */
#define sk_handle_put(t, h) sk__handle_put((t), (h), SK_CALLSITE)

/**
 * sk_handle_borrow() - a borrowed copy of a handle
 * @t: the table
 * @h: a live handle (owned or borrowed)
 *
 * The copy can be looked up, not released or transferred.  It becomes
 * stale with the handle it was made from.
 *
 * Return: the borrowed copy, or the zero handle after a reported
 * violation (stale, invalid).
 *
 * Context: any thread; lock-free (one load).
 */
#define sk_handle_borrow(t, h) sk__handle_borrow((t), (h), SK_CALLSITE)

/**
 * sk_handle_transfer() - move an object to another owner
 * @t: the table
 * @h: the owned handle
 * @from: the current owner
 * @to: the new owner (may equal @from)
 *
 * @h and every copy of it become stale; references held by lookups stay
 * valid and are dropped with sk_handle_put() as usual.
 *
 * Return: the new owned handle, or the zero handle: after a reported
 * violation (stale, invalid, wrong_owner; errno ESTALE, EINVAL, EPERM), or
 * errno ENOMEM/ENOSPC when the slot's last generation was reached and a
 * fresh slot could not be had (@h then stays valid).
 *
 * Context: any thread; lock-free except in the last generation.
 */
#define sk_handle_transfer(t, h, from, to) sk__handle_transfer((t), (h), (from), (to), SK_CALLSITE)

/**
 * sk_handle_release() - release an object
 * @t: the table
 * @h: the owned handle
 * @owner: its owner
 *
 * The handle and its copies become stale at once.  The destructor runs now
 * if no lookup holds the object, otherwise on the last sk_handle_put().
 *
 * Return: 0, or after a reported violation -EINVAL (invalid), -ESTALE
 * (stale), -EALREADY (double release), -EPERM (wrong owner, or a borrowed
 * handle).
 *
 * Context: any thread; lock-free.
 */
#define sk_handle_release(t, h, owner) sk__handle_release((t), (h), (owner), SK_CALLSITE)

/* ------------------------------------------------------------------------
 * Internal: out-of-line parts.  Do not call; use the macros above.
 * ------------------------------------------------------------------------ */

SK_API int sk__handle_owner_destroy(struct sk_handle_owner *owner, bool search,
				    const struct sk_callsite *cs);
SK_API void sk__handle_table_destroy(struct sk_handle_table *t, const struct sk_callsite *cs);
SK_API void sk__handle_table_free(struct sk_handle_table *t, const struct sk_callsite *cs);
SK_API sk_handle_t sk__handle_insert(struct sk_handle_table *t, void *obj,
				     struct sk_handle_owner *owner,
				     const struct sk_callsite *cs) SK_MUST_CHECK;
SK_API sk_handle_t sk__handle_transfer(struct sk_handle_table *t, sk_handle_t h,
				       struct sk_handle_owner *from, struct sk_handle_owner *to,
				       const struct sk_callsite *cs) SK_MUST_CHECK;
SK_API int sk__handle_release(struct sk_handle_table *t, sk_handle_t h,
			      struct sk_handle_owner *owner, const struct sk_callsite *cs);
/* Cold paths of the inline operations: @s is NULL when the fast path did
 * not touch a slot, else the slot whose count it changed (@old: the word
 * before the change, where the fast path has it). */
SK_API SK_COLD SK_NOINLINE void *sk__handle_lookup_slow(struct sk_handle_table *t, sk_handle_t h,
							struct sk__handle_slot *s, uint64_t old,
							unsigned int flags,
							const struct sk_callsite *cs);
#define SK__HANDLE_QUIET_STALE 1u
SK_API SK_COLD SK_NOINLINE void sk__handle_put_slow(struct sk_handle_table *t, sk_handle_t h,
						    struct sk__handle_slot *s, uint64_t word,
						    const struct sk_callsite *cs);
SK_API SK_COLD SK_NOINLINE void sk__handle_borrow_slow(struct sk_handle_table *t, sk_handle_t h,
						       struct sk__handle_slot *s, uint64_t word,
						       const struct sk_callsite *cs);
/*
 * sk__handle_table_set_limits() - for tests only: shrink a fresh table's
 * generation space (@gen_limit generations per slot, 1..SK_HANDLE_GENERATIONS)
 * and slot count (1..SK_HANDLE_MAX_SLOTS) so retirement, forwarding and a
 * full table can be exercised.  Returns 0, or -EINVAL (bad values, or the
 * table already used slots).
 */
SK_API int sk__handle_table_set_limits(struct sk_handle_table *t, uint32_t gen_limit,
				       uint64_t max_slots);

/* The slot's address from its chunk base; NULL-free by construction. */
static inline struct sk__handle_slot *sk__handle_slot_at(uintptr_t base, uint64_t x)
{
	return (struct sk__handle_slot *)(base + x * sizeof(struct sk__handle_slot));
}

/* ------------------------------------------------------------------------
 * Internal: inline fast paths
 * ------------------------------------------------------------------------ */

/*
 * The index of the top set bit of @x (not 0): the chunk of a slot.  gcc
 * folds 63 - clz into one bsr only while the 63 stays an immediate, which
 * its loop-invariant motion can undo in a caller's loop (seen: three more
 * instructions per lookup); its x86 builtin is always the one bsr.
 */
static SK_ALWAYS_INLINE unsigned long sk__handle_top_bit(uint64_t x)
{
#if defined(__x86_64__) && __has_builtin(__builtin_ia32_bsrdi)
	return (unsigned long)__builtin_ia32_bsrdi((long long)x);
#else
	return 63UL - (unsigned long)__builtin_clzll(x);
#endif
}

/*
 * The decode every inline operation starts with: @h's slot number in *@xp
 * and the base of its chunk (0 if the chunk is not there yet: a forged
 * index, or one beyond the table).
 */
static SK_ALWAYS_INLINE uintptr_t sk__handle_chunk(struct sk_handle_table *t, sk_handle_t h,
						   uint64_t *xp)
{
	uint64_t x = (h.sk__v >> SK__HANDLE_INDEX_SHIFT) + SK__HANDLE_FIRST;

	*xp = x;
	return __atomic_load_n(&t->sk__chunk[sk__handle_top_bit(x)], __ATOMIC_ACQUIRE);
}

/* @h lacks @t's table id or the tag bit: another table's handle, one used
 * after @t was destroyed (its key is zero then), or a forged value. */
static SK_ALWAYS_INLINE bool sk__handle_foreign(const struct sk_handle_table *t, sk_handle_t h)
{
	return (h.sk__v ^ t->sk__key) & (SK__HANDLE_TID_MASK | SK__HANDLE_LIVE);
}

/*
 * The slot of @h's index in @t, whose chunk is known to be there: for a
 * lookup that the cold path completed although the fast path reached no
 * slot.  Out of line so that the fast path keeps nothing alive across the
 * cold call for it.
 */
static SK_NOINLINE SK_COLD SK_UNUSED struct sk__handle_slot *sk__handle_slot_of(struct sk_handle_table *t,
									  sk_handle_t h)
{
	uint64_t x;
	uintptr_t base = sk__handle_chunk(t, h, &x);

	return sk__handle_slot_at(base, x);
}

/*
 * The lookup; *@sp is the slot whose count it raised (when it returns an
 * object), which the scoped forms' put drops.  The cold path can return the
 * object too (a correct lookup that waited out a put without a reference,
 * then counted again at the slot of @h's index), so *@sp is set on that
 * way as well.
 */
static inline SK_MUST_CHECK void *sk__handle_lookup_slot(struct sk_handle_table *t, sk_handle_t h,
							unsigned int flags,
							const struct sk_callsite *cs,
							struct sk__handle_slot **sp)
{
	uint64_t x;
	uintptr_t base = sk__handle_chunk(t, h, &x);
	struct sk__handle_slot *s;
	uint64_t old;

	/* Equal identity bits mean "live" only if the handle has its tag bit:
	 * a forged value without it could equal a free slot's word. */
	if (sk_unlikely(!base || !(h.sk__v & SK__HANDLE_LIVE))) {
		void *obj = sk__handle_lookup_slow(t, h, NULL, 0, flags, cs);

		if (obj)
			*sp = sk__handle_slot_of(t, h);
		return obj;
	}
	s = sk__handle_slot_at(base, x);
	/* Count first, then check what was counted: see the theory block. */
	old = __atomic_fetch_add(&s->sk__word, SK__HANDLE_REF_ONE, __ATOMIC_ACQUIRE);
	if (sk_unlikely((old ^ h.sk__v) & SK__HANDLE_KEY_MASK)) {
		*sp = s;
		return sk__handle_lookup_slow(t, h, s, old, flags, cs);
	}
	SK_ANNOTATE_HAPPENS_AFTER(&s->sk__word);
	*sp = s;
	return (void *)__atomic_load_n(&s->sk__obj, __ATOMIC_RELAXED);
}

static inline SK_MUST_CHECK void *sk__handle_lookup_flags(struct sk_handle_table *t, sk_handle_t h,
							 unsigned int flags,
							 const struct sk_callsite *cs)
{
	struct sk__handle_slot *s;

	return sk__handle_lookup_slot(t, h, flags, cs, &s);
}

static inline SK_MUST_CHECK void *sk__handle_lookup(struct sk_handle_table *t, sk_handle_t h,
						   const struct sk_callsite *cs)
{
	return sk__handle_lookup_flags(t, h, 0, cs);
}

static inline SK_MUST_CHECK void *sk__handle_try_lookup(struct sk_handle_table *t, sk_handle_t h,
						       const struct sk_callsite *cs)
{
	return sk__handle_lookup_flags(t, h, SK__HANDLE_QUIET_STALE, cs);
}

/* The put's count drop, on the slot of @h in @t (already checked, or
 * known from the lookup that took the reference). */
static inline void sk__handle_put_slot(struct sk_handle_table *t, sk_handle_t h,
				       struct sk__handle_slot *s, const struct sk_callsite *cs)
{
	uint64_t word;

	SK_ANNOTATE_HAPPENS_BEFORE(&s->sk__word);
	/*
	 * The count field holds references - 1: below zero means this put
	 * dropped the last reference (or one that was not held).  The slow
	 * path decides from the word this put left, never from a later read.
	 * Not inline assembly branching on the locked xadd's own sign flag:
	 * one instruction fewer, but 1.17x the raw handle's time against
	 * 0.94x (x86, gcc 12; docs/handle.md).
	 */
	word = __atomic_sub_fetch(&s->sk__word, SK__HANDLE_REF_ONE, __ATOMIC_RELEASE);
	if (sk_unlikely((int64_t)word < 0))
		sk__handle_put_slow(t, h, s, word, cs);
}

static inline void sk__handle_put(struct sk_handle_table *t, sk_handle_t h,
				  const struct sk_callsite *cs)
{
	uint64_t x;
	uintptr_t base = sk__handle_chunk(t, h, &x);

	if (sk_unlikely(!base || sk__handle_foreign(t, h))) {
		sk__handle_put_slow(t, h, NULL, 0, cs);
		return;
	}
	sk__handle_put_slot(t, h, sk__handle_slot_at(base, x), cs);
}

static inline SK_MUST_CHECK sk_handle_t sk__handle_borrow(struct sk_handle_table *t, sk_handle_t h,
							 const struct sk_callsite *cs)
{
	uint64_t x;
	uintptr_t base = sk__handle_chunk(t, h, &x);
	struct sk__handle_slot *s;
	uint64_t w;

	if (sk_unlikely(!base || !(h.sk__v & SK__HANDLE_LIVE))) {
		sk__handle_borrow_slow(t, h, NULL, 0, cs);
		return sk_handle_null();
	}
	s = sk__handle_slot_at(base, x);
	w = __atomic_load_n(&s->sk__word, __ATOMIC_RELAXED);
	if (sk_unlikely((w ^ h.sk__v) & SK__HANDLE_ID_MASK)) {
		sk__handle_borrow_slow(t, h, s, w, cs);
		return sk_handle_null();
	}
	h.sk__v |= SK__HANDLE_BORROWED;
	return h;
}

/* ------------------------------------------------------------------------
 * Scoped lookups (safekern/cleanup.h)
 * ------------------------------------------------------------------------ */

/**
 * struct sk_handle_ref - a handle lookup bound to a scope
 * @table: the table the handle was looked up in
 * @handle: the handle that was looked up (its reference is dropped through it)
 * @obj: the object, with a reference held until the end of the scope; NULL
 *	if the lookup was refused (nothing is then dropped)
 * @cs: the lookup's call site, which also names the put at the end of the
 *	scope in reports (private)
 * @sk__slot: the slot whose count the lookup raised: the put at the end of
 *	the scope drops it there without decoding and checking @handle again
 *	(private)
 *
 * Declared with SK_CLASS(handle, var)(t, h) or SK_CLASS(handle_try,
 * var)(t, h); read @obj, touch nothing else.
 */
struct sk_handle_ref {
	struct sk_handle_table *table;
	sk_handle_t handle;
	void *obj;
	const struct sk_callsite *cs;
	struct sk__handle_slot *sk__slot;
	uint64_t sk__key;
};

static inline struct sk_handle_ref sk__handle_ref_get(struct sk_handle_table *t, sk_handle_t h,
						      unsigned int flags,
						      const struct sk_callsite *cs)
{
	struct sk_handle_ref r;

	r.table = t;
	r.handle = h;
	r.cs = cs;
	r.sk__slot = NULL;
	r.sk__key = t->sk__key;
	r.obj = sk__handle_lookup_slot(t, h, flags, cs, &r.sk__slot);
	return r;
}

/* The class handle (and handle_try) for SK_CLASS(): see cleanup.h.  The
 * constructors are macros so that the declaration's line is the call site. */
typedef struct sk_handle_ref sk__class_handle_t;
typedef struct sk_handle_ref sk__class_handle_try_t;

/*
 * The scoped forms' put: at the slot the lookup counted, unless @t was
 * destroyed (and perhaps initialised again) within the scope.  Its chunks
 * are freed then, and the put is refused as sk_handle_put() refuses it
 * (handle_invalid), instead of writing to freed memory.  The table's key
 * as the lookup saw it (@key) against its key now: every init gives a
 * table a new key, even one that gets the same table id back.
 */
static inline void sk__handle_put_ref(struct sk_handle_table *t, sk_handle_t h,
				      struct sk__handle_slot *s, uint64_t key,
				      const struct sk_callsite *cs)
{
	if (sk_unlikely(t->sk__key != key)) {
		sk__handle_put_slow(t, h, NULL, 0, cs);
		return;
	}
	sk__handle_put_slot(t, h, s, cs);
}

static inline SK_UNUSED void sk__class_handle_destructor(struct sk_handle_ref *r)
{
	if (r->obj)
		sk__handle_put_ref(r->table, r->handle, r->sk__slot, r->sk__key, r->cs);
}

#define sk__class_handle_try_destructor sk__class_handle_destructor
#define sk__class_handle_constructor(t, h) sk__handle_ref_get((t), (h), 0, SK_CALLSITE)
#define sk__class_handle_try_constructor(t, h)                                \
	sk__handle_ref_get((t), (h), SK__HANDLE_QUIET_STALE, SK_CALLSITE)

/*
 * SK_CLASS(handle, var)(t, h) and SK_CLASS(handle_try, var)(t, h) are
 * documented here, under the name of the class (cleanup.h's SK_CLASS()
 * declares the variable):
 *
 *	SK_CLASS(handle, ref)(&table, h);
 *	if (!ref.obj)
 *		return -ESTALE;         (nothing to drop)
 *	use((struct conn *)ref.obj);
 *	return 0;                       (sk_handle_put(&table, h) runs here)
 *
 * handle: the lookup is sk_handle_lookup(t, h): a stale, invalid or
 * saturated handle is reported and ref.obj is NULL.  handle_try: the lookup
 * is sk_handle_try_lookup(t, h): a stale handle gives NULL without a
 * report.  When ref.obj is not NULL, the reference is dropped as
 * sk_handle_put(t, h) would drop it, but at the slot the lookup counted
 * (no second decode of h, only the check of its table id: fewer
 * instructions than a lookup and a put; a table destroyed within the
 * scope makes the put a reported handle_invalid, as for sk_handle_put()),
 * when ref leaves its scope, by any path, with the
 * declaration's line as the call site of reports; the object may be
 * released or transferred meanwhile, its destructor then runs at the end
 * of the scope (the last put).  ref.obj must be checked before use (the
 * scoped form cannot make that a compile-time requirement); do not copy
 * ref.obj out of the scope, the reference ends with it.  Lock-free, any
 * thread; as the cleanup.h rules say, declare it where it is initialised
 * and do not jump into its scope.
 */

/* ------------------------------------------------------------------------
 * Typed tables
 * ------------------------------------------------------------------------ */

/**
 * SK_HANDLE_TABLE() - declare a typed handle table
 * @name: the table type's name: declares struct @name, the handle type
 *	@name##_handle_t and the functions behind the sk_htable_*() macros
 * @type: the object type (a complete or incomplete type; objects are
 *	@type pointers)
 *
 * A handle of one typed table is a different type from every other
 * table's, so passing it to another table does not compile.  Use at file
 * scope, then:
 *
 *	SK_HANDLE_TABLE(conn_table, struct conn);
 *	static struct conn_table conns;
 *	sk_htable_init(conn_table, &conns, conn_free, NULL);
 *	conn_table_handle_t h = sk_htable_insert(conn_table, &conns, c, &owner);
 *	struct conn *c = sk_htable_lookup(conn_table, &conns, h);
 *
 * The destructor has the type void (*)(@type *obj, void *arg).
 */
#define SK_HANDLE_TABLE(name, type)                                           \
	typedef struct name##_handle {                                        \
		sk_handle_t raw;                                              \
	} name##_handle_t;                                                    \
	struct name {                                                         \
		struct sk_handle_table base;                                  \
		void (*sk__dtor)(type *obj, void *arg);                       \
		void *sk__arg;                                                \
	};                                                                    \
	static inline SK_UNUSED void name##__dtor(void *obj, void *arg)       \
	{                                                                     \
		struct name *sk__t = (struct name *)arg;                      \
		if (sk__t->sk__dtor)                                          \
			sk__t->sk__dtor((type *)obj, sk__t->sk__arg);         \
	}                                                                     \
	static inline SK_UNUSED void name##__init(struct name *t,             \
			void (*dtor)(type *obj, void *arg), void *arg)        \
	{                                                                     \
		t->sk__dtor = dtor;                                           \
		t->sk__arg = arg;                                             \
		sk_handle_table_init(&t->base, name##__dtor, t);              \
	}                                                                     \
	static inline SK_UNUSED void name##__destroy(struct name *t,          \
			const struct sk_callsite *cs)                         \
	{                                                                     \
		sk__handle_table_destroy(&t->base, cs);                       \
	}                                                                     \
	static inline SK_UNUSED SK_MUST_CHECK name##_handle_t name##__insert( \
		struct name *t, type *obj, struct sk_handle_owner *owner,     \
		const struct sk_callsite *cs)                                 \
	{                                                                     \
		name##_handle_t h;                                            \
		h.raw = sk__handle_insert(&t->base, (void *)obj, owner, cs);  \
		return h;                                                     \
	}                                                                     \
	static inline SK_UNUSED SK_MUST_CHECK type *name##__lookup(           \
		struct name *t, name##_handle_t h, const struct sk_callsite *cs) \
	{                                                                     \
		return (type *)sk__handle_lookup(&t->base, h.raw, cs);        \
	}                                                                     \
	static inline SK_UNUSED SK_MUST_CHECK type *name##__try_lookup(       \
		struct name *t, name##_handle_t h, const struct sk_callsite *cs) \
	{                                                                     \
		return (type *)sk__handle_try_lookup(&t->base, h.raw, cs);    \
	}                                                                     \
	static inline SK_UNUSED void name##__put(struct name *t,              \
			name##_handle_t h, const struct sk_callsite *cs)      \
	{                                                                     \
		sk__handle_put(&t->base, h.raw, cs);                          \
	}                                                                     \
	static inline SK_UNUSED SK_MUST_CHECK name##_handle_t name##__borrow( \
		struct name *t, name##_handle_t h, const struct sk_callsite *cs) \
	{                                                                     \
		h.raw = sk__handle_borrow(&t->base, h.raw, cs);               \
		return h;                                                     \
	}                                                                     \
	static inline SK_UNUSED SK_MUST_CHECK name##_handle_t name##__transfer( \
		struct name *t, name##_handle_t h, struct sk_handle_owner *from, \
		struct sk_handle_owner *to, const struct sk_callsite *cs)     \
	{                                                                     \
		h.raw = sk__handle_transfer(&t->base, h.raw, from, to, cs);   \
		return h;                                                     \
	}                                                                     \
	static inline SK_UNUSED int name##__release(struct name *t,           \
			name##_handle_t h, struct sk_handle_owner *owner,     \
			const struct sk_callsite *cs)                         \
	{                                                                     \
		return sk__handle_release(&t->base, h.raw, owner, cs);        \
	}                                                                     \
	struct name##_ref {                                                   \
		struct name *table;                                           \
		name##_handle_t handle;                                       \
		type *obj;                                                    \
		const struct sk_callsite *cs;                                 \
		struct sk__handle_slot *sk__slot;                             \
		uint64_t sk__key;                                             \
	};                                                                    \
	static inline SK_UNUSED struct name##_ref name##__ref_get(            \
		struct name *t, name##_handle_t h, unsigned int flags,        \
		const struct sk_callsite *cs)                                 \
	{                                                                     \
		struct name##_ref r;                                          \
		r.table = t;                                                  \
		r.handle = h;                                                 \
		r.cs = cs;                                                    \
		r.sk__slot = NULL;                                            \
		r.sk__key = t->base.sk__key;                                  \
		r.obj = (type *)sk__handle_lookup_slot(&t->base, h.raw, flags, cs, \
						       &r.sk__slot);          \
		return r;                                                     \
	}                                                                     \
	static inline SK_UNUSED void name##__ref_put(struct name##_ref *r)    \
	{                                                                     \
		if (r->obj)                                                   \
			sk__handle_put_ref(&r->table->base, r->handle.raw,    \
					   r->sk__slot, r->sk__key, r->cs);   \
	}                                                                     \
	struct name##__sk_semicolon

/**
 * sk_htable_init() - initialise a typed table
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @dtor: destructor, void (*)(type *obj, void *arg), or NULL
 * @arg: passed to @dtor
 *
 * Context: as sk_handle_table_init().
 */
#define sk_htable_init(name, t, dtor, arg) name##__init((t), (dtor), (arg))

/**
 * sk_htable_destroy() - destroy a typed table (see sk_handle_table_destroy())
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 *
 * Context: as sk_handle_table_destroy().
 */
#define sk_htable_destroy(name, t) name##__destroy((t), SK_CALLSITE)

/**
 * sk_htable_insert() - typed sk_handle_insert()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @obj: the object, a pointer to the table's type
 * @owner: its owner
 *
 * Return: an owned @name##_handle_t; its .raw is the zero handle on failure.
 */
#define sk_htable_insert(name, t, obj, owner) name##__insert((t), (obj), (owner), SK_CALLSITE)

/**
 * sk_htable_lookup() - typed sk_handle_lookup()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: a handle of this table type
 *
 * Return: the object (a pointer to the table's type) with a reference
 * held, or NULL; must be checked.
 */
#define sk_htable_lookup(name, t, h) name##__lookup((t), (h), SK_CALLSITE)

/**
 * sk_htable_try_lookup() - typed sk_handle_try_lookup()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: a handle of this table type, possibly stale
 *
 * Return: the object with a reference held, or NULL; must be checked.
 */
#define sk_htable_try_lookup(name, t, h) name##__try_lookup((t), (h), SK_CALLSITE)

/**
 * sk_htable_put() - typed sk_handle_put()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: the handle that was looked up
 */
#define sk_htable_put(name, t, h) name##__put((t), (h), SK_CALLSITE)

/**
 * sk_htable_borrow() - typed sk_handle_borrow()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: a live handle of this table type
 *
 * Return: the borrowed copy; its .raw is the zero handle on failure.
 */
#define sk_htable_borrow(name, t, h) name##__borrow((t), (h), SK_CALLSITE)

/**
 * sk_htable_transfer() - typed sk_handle_transfer()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: the owned handle
 * @from: the current owner
 * @to: the new owner
 *
 * Return: the new owned handle; its .raw is the zero handle on failure.
 */
#define sk_htable_transfer(name, t, h, from, to) name##__transfer((t), (h), (from), (to), SK_CALLSITE)

/**
 * sk_htable_release() - typed sk_handle_release()
 * @name: the name given to SK_HANDLE_TABLE()
 * @t: pointer to the struct @name
 * @h: the owned handle
 * @owner: its owner
 *
 * Return: as sk_handle_release().
 */
#define sk_htable_release(name, t, h, owner) name##__release((t), (h), (owner), SK_CALLSITE)

/**
 * sk_htable_lookup_scoped() - declare a typed lookup bound to the scope
 * @name: the name given to SK_HANDLE_TABLE()
 * @var: the variable to declare, a struct @name##_ref: @var.obj is the
 *	object (a pointer to the table's type) with a reference held, or
 *	NULL if the lookup was refused
 * @t: pointer to the struct @name
 * @h: a handle of this table type
 *
 * The typed SK_CLASS(handle, @var)(@t, @h): a statement that declares and
 * initialises @var with sk_htable_lookup(), whose reference is dropped with
 * sk_htable_put() when @var leaves its scope, by any exit path (nothing
 * is dropped if the lookup was refused).  Reports, including the put's,
 * name this line.  ``sk_htable_lookup_scoped(conn_table, c, &conns, h);
 * if (!c.obj) return -ESTALE; use(c.obj);``.  Check @var.obj before use
 * and do not keep it past the scope.
 *
 * Context: any thread; lock-free.  Follow the cleanup.h rules (no jump
 * into the scope).
 */
#define sk_htable_lookup_scoped(name, var, t, h)                              \
	struct name##_ref var SK__CLEANUP(name##__ref_put) =                  \
		name##__ref_get((t), (h), 0, SK_CALLSITE)

/**
 * sk_htable_try_lookup_scoped() - declare a typed try-lookup bound to the scope
 * @name: the name given to SK_HANDLE_TABLE()
 * @var: the variable to declare (struct @name##_ref)
 * @t: pointer to the struct @name
 * @h: a handle of this table type, possibly stale
 *
 * sk_htable_lookup_scoped() with sk_htable_try_lookup(): a stale handle
 * gives @var.obj NULL without a report.
 *
 * Context: any thread; lock-free.
 */
#define sk_htable_try_lookup_scoped(name, var, t, h)                          \
	struct name##_ref var SK__CLEANUP(name##__ref_put) =                  \
		name##__ref_get((t), (h), SK__HANDLE_QUIET_STALE, SK_CALLSITE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_HANDLE_H */
