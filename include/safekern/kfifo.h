/* SPDX-License-Identifier: MIT */
/*
 * safekern/kfifo.h - the kernel's kfifo, single producer / single consumer,
 * lock-free, with its safety checks
 *
 * Theory of operation
 * ===================
 *
 * A kfifo is a bounded FIFO of fixed-size elements between exactly one
 * producer thread and one consumer thread, with the kernel's names and
 * macro shapes (include/linux/kfifo.h), so a kernel developer can write it
 * blind:
 *
 *	SK_DEFINE_KFIFO(jobs, struct job *, 256);	// static, 256 slots
 *
 *	if (!sk_kfifo_put(&jobs, j))			// producer thread
 *		... full ...
 *	if (sk_kfifo_get(&jobs, &j))			// consumer thread
 *		... got one ...
 *
 * or, on the heap, SK_DECLARE_KFIFO_PTR(fifo, type) + sk_kfifo_alloc() /
 * sk_kfifo_free(), or on a caller's buffer, sk_kfifo_init().
 *
 * Capacity.  The size is a power of two and a fifo of size N holds exactly
 * N elements (free-running indices, as the kernel's; unlike Concurrency
 * Kit's ck_ring and DPDK's rte_ring, which hold N - 1 in a ring of N).
 * SK_DECLARE_KFIFO()/SK_DEFINE_KFIFO() reject at compile time a size that is
 * below 2, not a power of two or above 2^31.  sk_kfifo_alloc() rounds the
 * number of elements up to a power of two and returns -EINVAL when that
 * leaves fewer than 2 or more than 2^31 (-ENOMEM when memory runs out);
 * sk_kfifo_init() rounds the number of elements that fit in the caller's
 * buffer down to a power of two, uses at most 2^31 of them, and returns
 * -EINVAL when fewer than 2 fit.
 *
 * Indices.  in and out are unsigned int and run freely, wrapping past
 * UINT_MAX; in - out is the number of elements, slot = index & (size - 1).
 * Each side keeps a private copy of the other side's index (out_cache on
 * the producer's cache line, in_cache on the consumer's) and reads the
 * shared index only when its copy says full (producer) or empty
 * (consumer); the read-only fields (buffer, size, mask, element size,
 * whether the buffer is the fifo's own) sit on a third line.  A put or
 * get that need not look at the other side touches only its own line and
 * the slot.
 *
 * Memory ordering.  The producer writes the element, then publishes in
 * with a release store; the consumer loads in with acquire before reading
 * the element.  Symmetrically the consumer publishes out with release after
 * reading the element, and the producer loads it with acquire before it
 * overwrites the slot.  So everything the producer wrote before a put
 * happens before everything the consumer does after the get that returns
 * that element.  Read-only queries (len, avail, is_empty, is_full) take
 * acquire snapshots and order nothing else.
 *
 * Who may call what concurrently (P = the producer thread, C = the
 * consumer thread, any = any thread, Q = no other thread may touch the
 * fifo during the call):
 *
 *	operation                               | caller | runs concurrently with
 *	----------------------------------------+--------+--------------------------
 *	put, in                                 | P      | C's operations, queries
 *	get, peek, out, out_peek, skip,          | C      | P's operations, queries
 *	  skip_count, reset_out                 |        |
 *	len, avail, is_empty, is_full, size,    | any    | everything (a snapshot)
 *	  esize, initialized                    |        |
 *	release_producer, release_consumer      | any    | the other side only
 *	SK_INIT_KFIFO, alloc, init, free, reset | Q      | nothing
 *
 * A single thread may be both producer and consumer.  Using a side from a
 * second thread needs mutual exclusion around that side and, at the debug
 * level, an explicit hand-over (sk_kfifo_release_producer()).
 *
 * Checks and failure behaviour.  Hardened (default): every put/get/in/out
 * compares the element size the caller's type implies with the fifo's
 * (catching a fifo that was never initialised, was freed, or is reached
 * through the wrong type) and checks that the distance between the indices
 * it uses never exceeds the size: its own index against its cached copy of
 * the other side's on every call, and against the other side's real index
 * whenever it reads it (whenever the copy says full, or empty).  A failure
 * is reported as SK_VIOLATION_RING_CORRUPTION and the operation is refused
 * (returns 0, the fifo is unchanged).  Skipping more elements than the
 * fifo holds is reported the same way and refused.  sk_kfifo_free() of a
 * buffer given by sk_kfifo_init() is reported as
 * SK_VIOLATION_INVALID_ARGUMENT and refused.  The index checks ride
 * on the compares the operation needs anyway: the fast path costs one more
 * compare (the element size).
 *
 * Debug (-DSK_DEBUG): the SPSC contract is enforced.  The first thread to
 * use the producer side (put, in) becomes the producer, the first to use
 * the consumer side becomes the consumer; a different thread on either side
 * is reported as SK_VIOLATION_RING_CONCURRENT_ACCESS and refused, until
 * ownership is handed over with sk_kfifo_release_producer() or
 * sk_kfifo_release_consumer().  (Threads are told apart by pthread_self(),
 * which the C library reuses once a thread is joined: a side whose owner
 * exited without the hand-over can pass unreported to a later thread that
 * got the same identity; it cannot race the owner, which is gone.)  The
 * debug level also adds Valgrind client requests (happens-before on
 * publish and consume, benign race on the index words), so helgrind and
 * drd report nothing on correct use.  The
 * layout is the same at both levels: the thread-identity fields exist in
 * every build.
 *
 * All data-moving operations are must-check: a put that was refused, or an
 * in that copied fewer elements than asked, must not go unnoticed.
 *
 * Not provided: the kernel's record fifos (kfifo_rec_ptr_1/2), DMA helpers,
 * the spinlocked variants and kfifo_in/out_locked (put a lock around a
 * side yourself), and to/from_user.
 */
#ifndef SAFEKERN_KFIFO_H
#define SAFEKERN_KFIFO_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <safekern/annotate.h>
#include <safekern/compiler.h>
#include <safekern/violation.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * SK_KFIFO_MAX_SIZE - the largest number of elements a kfifo can have (2^31)
 *
 * The indices are unsigned int and run freely; a power of two above 2^31
 * does not fit.
 */
#define SK_KFIFO_MAX_SIZE 0x80000000u

/*
 * struct sk__kfifo - the type-independent part of every kfifo (internal;
 * the kernel's struct __kfifo).  Three cache lines: read-only after init,
 * the consumer's, the producer's.  Padding, not alignment attributes, keeps
 * them apart, so a kfifo can live in memory of any alignment.
 *
 * @data:     the element buffer
 * @size:     number of slots (a power of two), 0 when there is no buffer
 * @mask:     @size - 1
 * @esize:    element size in bytes
 * @owns_data: 1 if sk_kfifo_alloc() allocated @data, so sk_kfifo_free()
 *            may free it; 0 for an embedded or a caller's buffer (zero, the
 *            safe value, is what every other way of setting a kfifo up
 *            leaves)
 * @out:      consumer's index (written by the consumer only)
 * @in_cache: consumer's last seen value of @in
 * @consumer: consumer thread at the debug level (0: none yet)
 * @in:       producer's index (written by the producer only)
 * @out_cache: producer's last seen value of @out
 * @producer: producer thread at the debug level (0: none yet)
 */
struct sk__kfifo {
	void *data;
	unsigned int size;
	unsigned int mask;
	unsigned int esize;
	unsigned int owns_data;
	char sk__pad0[SK_CACHELINE_SIZE - sizeof(void *) - 4 * sizeof(unsigned int)];

	unsigned int out;
	unsigned int in_cache;
	uintptr_t consumer;
	char sk__pad1[SK_CACHELINE_SIZE - 2 * sizeof(unsigned int) - sizeof(uintptr_t)];

	unsigned int in;
	unsigned int out_cache;
	uintptr_t producer;
	char sk__pad2[SK_CACHELINE_SIZE - 2 * sizeof(unsigned int) - sizeof(uintptr_t)];
};

/* The union that gives every kfifo its element type (as the kernel's). */
#define SK__STRUCT_KFIFO_COMMON(datatype)                                     \
	union {                                                               \
		struct sk__kfifo kfifo;                                       \
		__typeof__(datatype) *type;                                   \
		const __typeof__(datatype) *const_type;                       \
	}

#define SK__KFIFO_SIZE_OK(size)                                               \
	((size) >= 2 && (size) <= SK_KFIFO_MAX_SIZE && !((size) & ((size) - 1)))

/**
 * SK_STRUCT_KFIFO() - the type of a kfifo with an embedded buffer
 * @type: the element type
 * @size: number of elements: a power of two, 2 to 2^31 (checked at compile time)
 *
 * Use it to name the type (a typedef, a parameter); SK_DECLARE_KFIFO()
 * declares an object of it.
 */
#define SK_STRUCT_KFIFO(type, size)                                           \
	struct {                                                              \
		SK__STRUCT_KFIFO_COMMON(type);                                \
		SK__STATIC_ASSERT(SK__KFIFO_SIZE_OK(size),                    \
				  "kfifo size must be a power of two from 2 to 2^31"); \
		__typeof__(type) buf[SK__KFIFO_SIZE_OK(size) ? (size) : 2];   \
	}

/**
 * SK_STRUCT_KFIFO_PTR() - the type of a kfifo whose buffer is allocated
 * (sk_kfifo_alloc()) or supplied (sk_kfifo_init())
 * @type: the element type
 */
#define SK_STRUCT_KFIFO_PTR(type)                                             \
	struct {                                                              \
		SK__STRUCT_KFIFO_COMMON(type);                                \
		__typeof__(type) buf[0];                                      \
	}

/**
 * struct sk_kfifo - a byte fifo with an allocated buffer (the kernel's
 * struct kfifo): SK_STRUCT_KFIFO_PTR(unsigned char) with a name, for
 * passing fifos of bytes between functions
 * @kfifo: the type-independent part
 * @type: never used: it carries the element type for the macros
 * @const_type: never used: the const element type
 * @buf: no embedded buffer
 */
struct sk_kfifo {
	SK__STRUCT_KFIFO_COMMON(unsigned char);
	unsigned char buf[0];
};

/* True for a kfifo without an embedded buffer (its buf has no elements). */
#define SK__KFIFO_IS_PTR(fifo) (sizeof((fifo)->buf) == 0)

/* Where an embedded kfifo's data must point: its own buf (NULL: no check). */
#define SK__KFIFO_HOME(fifo) (SK__KFIFO_IS_PTR(fifo) ? NULL : (const void *)(fifo)->buf)

/**
 * SK_DECLARE_KFIFO_PTR() - declare a kfifo whose buffer comes later
 * @fifo: name of the declared kfifo
 * @type: the element type
 *
 * Follow with sk_kfifo_alloc() or sk_kfifo_init() (or SK_INIT_KFIFO() to
 * mark it as having no buffer yet).
 */
#define SK_DECLARE_KFIFO_PTR(fifo, type) SK_STRUCT_KFIFO_PTR(type) fifo

/**
 * SK_DECLARE_KFIFO() - declare a kfifo with an embedded buffer
 * @fifo: name of the declared kfifo
 * @type: the element type
 * @size: number of elements: a power of two, 2 to 2^31 (checked at compile time)
 *
 * Usable for a variable or a struct member; initialise it with
 * SK_INIT_KFIFO() before use (or declare and initialise at once with
 * SK_DEFINE_KFIFO()).
 */
#define SK_DECLARE_KFIFO(fifo, type, size) SK_STRUCT_KFIFO(type, size) fifo

/**
 * SK_INIT_KFIFO() - initialise a kfifo declared with SK_DECLARE_KFIFO()
 * @fifo: the kfifo (the object, not a pointer to it)
 *
 * A kfifo declared with SK_DECLARE_KFIFO_PTR() becomes an empty kfifo with
 * no buffer: every operation on it is refused until sk_kfifo_alloc() or
 * sk_kfifo_init() gives it one.
 *
 * Context: no other thread may use the kfifo during the call.
 */
#define SK_INIT_KFIFO(fifo)                                                   \
	((void)__extension__({                                                \
		__typeof__(&(fifo)) sk__ikf = &(fifo);                        \
		sk__kfifo_setup(&sk__ikf->kfifo,                              \
				SK__KFIFO_IS_PTR(sk__ikf) ? NULL : (void *)sk__ikf->buf, \
				(unsigned int)(sizeof(sk__ikf->buf) / sizeof(sk__ikf->buf[0])), \
				(unsigned int)sizeof(sk__ikf->buf[0]));       \
	}))

/**
 * SK_DEFINE_KFIFO() - define and initialise a kfifo with an embedded buffer
 * @fifo: name of the defined kfifo
 * @type: the element type
 * @size: number of elements: a power of two, 2 to 2^31 (checked at compile time)
 *
 * A static initialiser: ``static SK_DEFINE_KFIFO(events, struct ev, 64);``
 * is ready to use without any code running.
 */
#define SK_DEFINE_KFIFO(fifo, type, size)                                     \
	SK_DECLARE_KFIFO(fifo, type, size) = {                                \
		.kfifo = {                                                    \
			/* then size, mask, esize (a .size designator would */ \
			/* be replaced by the macro argument) */              \
			.data = (void *)(fifo).buf,                           \
			(unsigned int)(sizeof((fifo).buf) / sizeof((fifo).buf[0])), \
			(unsigned int)(sizeof((fifo).buf) / sizeof((fifo).buf[0])) - 1, \
			(unsigned int)sizeof((fifo).buf[0]),                  \
		}                                                             \
	}

/* ------------------------------------------------------------------------
 * Internal helpers (sk__*): called from the macros below, not by programs.
 * ------------------------------------------------------------------------ */

/*
 * The debug level's Valgrind client requests.  Each one is a dependent
 * chain of rotates that, on a ring's hot path, makes the debug level many
 * times slower natively: ask Valgrind once per translation unit whether it
 * is there, and skip them when it is not.
 */
#if defined(SK_DEBUG) && defined(SK__ANNOTATE)
static SK_UNUSED int sk__kfifo_valgrind = -1;

static inline bool sk__kfifo_annotating(void)
{
	int v = __atomic_load_n(&sk__kfifo_valgrind, __ATOMIC_RELAXED);

	if (sk_unlikely(v < 0)) {
		v = SK_RUNNING_ON_VALGRIND ? 1 : 0;
		SK_ANNOTATE_BENIGN_RACE_SIZED(&sk__kfifo_valgrind, sizeof(int),
					      "set once, same value from every thread");
		__atomic_store_n(&sk__kfifo_valgrind, v, __ATOMIC_RELAXED);
	}
	return v;
}

#define SK__KFIFO_HB(addr)                                                    \
	do {                                                                  \
		if (sk__kfifo_annotating())                                   \
			SK_ANNOTATE_HAPPENS_BEFORE(addr);                     \
	} while (0)
#define SK__KFIFO_HA(addr)                                                    \
	do {                                                                  \
		if (sk__kfifo_annotating())                                   \
			SK_ANNOTATE_HAPPENS_AFTER(addr);                      \
	} while (0)
#else
#define SK__KFIFO_HB(addr) ((void)(addr))
#define SK__KFIFO_HA(addr) ((void)(addr))
#endif

/* Sides, for sk__kfifo_claim(). */
#define SK__KFIFO_PRODUCER 0
#define SK__KFIFO_CONSUMER 1

/*
 * sk__kfifo_claim() - internal: the slow path of the debug-level SPSC
 * check.  Records the calling thread as the owner of @side if it has none
 * (and tells Valgrind about the index words), or reports
 * SK_VIOLATION_RING_CONCURRENT_ACCESS.  Returns true when the caller owns
 * the side.
 */
SK_API bool sk__kfifo_claim(struct sk__kfifo *fifo, int side, const struct sk_callsite *cs);

/* Internal: out-of-line bodies of alloc, init and free. */
SK_API int sk__kfifo_alloc(struct sk__kfifo *fifo, size_t size, size_t esize);
SK_API int sk__kfifo_init(struct sk__kfifo *fifo, void *buffer, size_t bytes, size_t esize,
			  size_t align);
SK_API void sk__kfifo_free(struct sk__kfifo *fifo, const struct sk_callsite *cs);

static inline SK_MUST_CHECK unsigned int sk__kfifo_uint_must_check(unsigned int v)
{
	return v;
}

static inline SK_MUST_CHECK int sk__kfifo_int_must_check(int v)
{
	return v;
}

static inline uintptr_t sk__kfifo_self(void)
{
	return (uintptr_t)pthread_self();
}

static inline void sk__kfifo_setup(struct sk__kfifo *f, void *buf, unsigned int size,
				   unsigned int esize)
{
	memset((void *)f, 0, sizeof(*f));
	f->data = buf;
	f->size = buf ? size : 0;
	f->mask = buf ? size - 1 : 0;
	f->esize = esize;
}

/*
 * The debug-level SPSC check: the caller is the recorded owner of the side,
 * or becomes it.  A constant true at the hardened level.  Called after
 * the checks that need no index (element size, count; a skip beyond the
 * size), so that a call they refuse does not make its thread the owner.
 */
static SK_ALWAYS_INLINE bool sk__kfifo_enter(struct sk__kfifo *f, int side,
					     const struct sk_callsite *cs)
{
#ifdef SK_DEBUG
	uintptr_t owner = __atomic_load_n(side == SK__KFIFO_PRODUCER ? &f->producer : &f->consumer,
					  __ATOMIC_RELAXED);

	if (sk_likely(owner == sk__kfifo_self()))
		return true;
	return sk__kfifo_claim(f, side, cs);
#else
	(void)f;
	(void)side;
	(void)cs;
	return true;
#endif
}

/*
 * An embedded kfifo's data pointer is its own buffer (@home; NULL for a
 * kfifo without one, and the test folds away).  A struct copy of the
 * kfifo still points at the original's buffer: a put into the copy would
 * overwrite elements queued in the original, a get would read them.
 */
static SK_ALWAYS_INLINE bool sk__kfifo_at_home(const struct sk__kfifo *f, const void *home,
					       const struct sk_callsite *cs)
{
	if (!home || sk_likely(f->data == home))
		return true;
	sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
		      "kfifo with an embedded buffer at %p uses the buffer at %p (a struct copy "
		      "of the kfifo, not initialised, or a wild write)",
		      home, SK_READ_ONCE(f->data));
	return false;
}

/*
 * Copy @n elements of @esize bytes (a constant after inlining).
 *
 * Elements of 1, 2, 4, 8 or 16 bytes are copied one by one, at their own
 * width.  A batch is usually built element by element just before
 * sk_kfifo_in(): memcpy() reads it back with 16- or 32-byte loads that
 * span several of those recent stores, which the CPU cannot forward from
 * its store buffer (a stall per load), and costs a call besides.  The
 * empty asm keeps the compiler from turning the loop back into memcpy()
 * or vectorising it.  Measured (ring.spsc.bulk8/bulk32, docs/ring.md):
 * 2.1x and 1.5x the throughput of memcpy().  Other sizes use memcpy().
 */
static SK_ALWAYS_INLINE void sk__kfifo_copy(void *dst, const void *src, size_t n, size_t esize)
{
	char *d = (char *)dst;
	const char *s = (const char *)src;

	if (__builtin_constant_p(esize) && esize <= 16 && !(esize & (esize - 1))) {
		for (size_t i = 0; i < n; i++) {
			__builtin_memcpy(d, s, esize);
			d += esize;
			s += esize;
			__asm__("" : "+r"(d), "+r"(s));
		}
		return;
	}
	if (n)
		memcpy(dst, src, n * esize);
}

static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__kfifo_put(struct sk__kfifo *f, const void *home, const void *val, size_t esize,
	      const struct sk_callsite *cs)
{
	unsigned int in, size;

	if (!sk__kfifo_at_home(f, home, cs))
		return 0;
	if (sk_unlikely(f->esize != esize)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo element size is %u, put of a %zu-byte element "
			      "(uninitialised, freed, or the wrong type)",
			      SK_READ_ONCE(f->esize), esize);
		return 0;
	}
	if (!sk__kfifo_enter(f, SK__KFIFO_PRODUCER, cs))
		return 0;
	in = f->in;
	size = f->size;
	if (sk_unlikely(in - f->out_cache >= size)) {
		/* Full by the cached index (or corrupt): look at the consumer's. */
		unsigned int out = __atomic_load_n(&f->out, __ATOMIC_ACQUIRE);

		f->out_cache = out;
		if (sk_unlikely(in - out >= size)) {
			if (sk_unlikely(in - out > size || !size)) {
				sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
					      "kfifo indices in %u out %u size %u", in, out, size);
			}
			return 0;
		}
	}
	SK__KFIFO_HA(&f->out);
	memcpy((char *)f->data + (size_t)(in & f->mask) * esize, val, esize);
	SK__KFIFO_HB(&f->in);
	__atomic_store_n(&f->in, in + 1, __ATOMIC_RELEASE);
	return 1;
}

/* get (@consume) or peek: one element. */
static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__kfifo_get(struct sk__kfifo *f, const void *home, void *val, size_t esize, bool consume,
	      const struct sk_callsite *cs)
{
	unsigned int out, size;

	if (!sk__kfifo_at_home(f, home, cs))
		return 0;
	if (sk_unlikely(f->esize != esize)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo element size is %u, %s of a %zu-byte element "
			      "(uninitialised, freed, or the wrong type)", SK_READ_ONCE(f->esize),
			      consume ? "get" : "peek", esize);
		return 0;
	}
	if (!sk__kfifo_enter(f, SK__KFIFO_CONSUMER, cs))
		return 0;
	out = f->out;
	size = f->size;
	if (sk_unlikely(f->in_cache - out - 1 >= size)) {
		/* Empty by the cached index (or corrupt): look at the producer's. */
		unsigned int in = __atomic_load_n(&f->in, __ATOMIC_ACQUIRE);

		f->in_cache = in;
		if (sk_unlikely(in - out - 1 >= size)) {
			if (sk_unlikely(in != out || !size)) {
				sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
					      "kfifo indices in %u out %u size %u", in, out, size);
			}
			return 0;
		}
	}
	SK__KFIFO_HA(&f->in);
	memcpy(val, (const char *)f->data + (size_t)(out & f->mask) * esize, esize);
	if (consume) {
		SK__KFIFO_HB(&f->out);
		__atomic_store_n(&f->out, out + 1, __ATOMIC_RELEASE);
	}
	return 1;
}

/*
 * A count above the largest kfifo, in in, out or out_peek: a negative
 * length converted, or a 64-bit one that would have been cut to 32 bits.
 * Refused before anything is copied.
 */
#define sk__kfifo_bad_count(f, count, what, cs)                               \
	(sk_unlikely((count) > SK_KFIFO_MAX_SIZE) &&                          \
	 (sk__violation(SK_VIOLATION_INVALID_ARGUMENT, (f), (cs), NULL,       \
			"kfifo %s of %llu elements, more than any kfifo holds "   \
			"(a negative or overflowed count?); nothing done", (what), \
			(unsigned long long)(count)), true))

static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__kfifo_in(struct sk__kfifo *f, const void *home, const void *buf, uint64_t count,
	     size_t esize, const struct sk_callsite *cs)
{
	unsigned int in, size, used, off, l, n;

	if (!sk__kfifo_at_home(f, home, cs))
		return 0;
	if (sk_unlikely(f->esize != esize)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo element size is %u, in of %zu-byte elements "
			      "(uninitialised, freed, or the wrong type)",
			      SK_READ_ONCE(f->esize), esize);
		return 0;
	}
	if (sk__kfifo_bad_count(f, count, "in", cs))
		return 0;
	if (!sk__kfifo_enter(f, SK__KFIFO_PRODUCER, cs))
		return 0;
	n = (unsigned int)count;
	if (!n)
		return 0;
	in = f->in;
	size = f->size;
	used = in - f->out_cache;
	if (sk_unlikely(used > size || size - used < n)) {
		unsigned int out = __atomic_load_n(&f->out, __ATOMIC_ACQUIRE);

		f->out_cache = out;
		used = in - out;
		if (sk_unlikely(used > size || !size)) {
			sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
				      "kfifo indices in %u out %u size %u", in, out, size);
			return 0;
		}
		if (n > size - used)
			n = size - used;
		if (!n)
			return 0;
	}
	off = in & f->mask;
	l = size - off < n ? size - off : n;
	SK__KFIFO_HA(&f->out);
	sk__kfifo_copy((char *)f->data + (size_t)off * esize, buf, l, esize);
	sk__kfifo_copy(f->data, (const char *)buf + (size_t)l * esize, n - l, esize);
	SK__KFIFO_HB(&f->in);
	__atomic_store_n(&f->in, in + n, __ATOMIC_RELEASE);
	return n;
}

/* out (@consume) or out_peek: up to @n elements. */
static SK_ALWAYS_INLINE SK_MUST_CHECK unsigned int
sk__kfifo_out(struct sk__kfifo *f, const void *home, void *buf, uint64_t count, size_t esize,
	      bool consume, const struct sk_callsite *cs)
{
	unsigned int out, size, avail, off, l, n;

	if (!sk__kfifo_at_home(f, home, cs))
		return 0;
	if (sk_unlikely(f->esize != esize)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo element size is %u, %s of %zu-byte elements "
			      "(uninitialised, freed, or the wrong type)", SK_READ_ONCE(f->esize),
			      consume ? "out" : "out_peek", esize);
		return 0;
	}
	if (sk__kfifo_bad_count(f, count, consume ? "out" : "out_peek", cs))
		return 0;
	if (!sk__kfifo_enter(f, SK__KFIFO_CONSUMER, cs))
		return 0;
	n = (unsigned int)count;
	if (!n)
		return 0;
	out = f->out;
	size = f->size;
	avail = f->in_cache - out;
	if (sk_unlikely(avail > size || avail < n)) {
		unsigned int in = __atomic_load_n(&f->in, __ATOMIC_ACQUIRE);

		f->in_cache = in;
		avail = in - out;
		if (sk_unlikely(avail > size || !size)) {
			sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
				      "kfifo indices in %u out %u size %u", in, out, size);
			return 0;
		}
		if (n > avail)
			n = avail;
		if (!n)
			return 0;
	}
	off = out & f->mask;
	l = size - off < n ? size - off : n;
	SK__KFIFO_HA(&f->in);
	sk__kfifo_copy(buf, (const char *)f->data + (size_t)off * esize, l, esize);
	sk__kfifo_copy((char *)buf + (size_t)l * esize, f->data, n - l, esize);
	if (consume) {
		SK__KFIFO_HB(&f->out);
		__atomic_store_n(&f->out, out + n, __ATOMIC_RELEASE);
	}
	return n;
}

/* skip / skip_count: drop @n elements; refused (and reported) beyond len. */
static inline unsigned int sk__kfifo_skip(struct sk__kfifo *f, uint64_t n,
					  const struct sk_callsite *cs)
{
	unsigned int out, in;

	/* Beyond the size is beyond len: refused before the side is taken. */
	if (sk_unlikely(n > f->size)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo skip of %llu, more than its size %u: out would pass in",
			      (unsigned long long)n, SK_READ_ONCE(f->size));
		return 0;
	}
	if (!sk__kfifo_enter(f, SK__KFIFO_CONSUMER, cs))
		return 0;
	out = f->out;
	in = __atomic_load_n(&f->in, __ATOMIC_ACQUIRE);
	f->in_cache = in;
	if (sk_unlikely(in - out > f->size || n > in - out)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo skip of %llu with %u element(s) queued (in %u out %u size %u): "
			      "out would pass in", (unsigned long long)n, in - out, in, out,
			      f->size);
		return 0;
	}
	SK__KFIFO_HA(&f->in);
	SK__KFIFO_HB(&f->out);
	__atomic_store_n(&f->out, out + (unsigned int)n, __ATOMIC_RELEASE);
	return (unsigned int)n;
}

static inline void sk__kfifo_reset_out(struct sk__kfifo *f, const struct sk_callsite *cs)
{
	unsigned int in;

	if (!sk__kfifo_enter(f, SK__KFIFO_CONSUMER, cs))
		return;
	in = __atomic_load_n(&f->in, __ATOMIC_ACQUIRE);
	/* Checked as every read of the other side's index: resetting out to
	 * a corrupt in would erase the evidence and hand out garbage. */
	if (sk_unlikely(in - f->out > f->size)) {
		sk__violation(SK_VIOLATION_RING_CORRUPTION, f, cs, NULL,
			      "kfifo indices in %u out %u size %u; reset_out refused", in, f->out,
			      f->size);
		return;
	}
	f->in_cache = in;
	SK__KFIFO_HA(&f->in);
	SK__KFIFO_HB(&f->out);
	__atomic_store_n(&f->out, in, __ATOMIC_RELEASE);
}

static inline void sk__kfifo_reset(struct sk__kfifo *f)
{
	__atomic_store_n(&f->in, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->out, 0, __ATOMIC_RELAXED);
	f->in_cache = 0;
	f->out_cache = 0;
	__atomic_store_n(&f->producer, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&f->consumer, 0, __ATOMIC_RELAXED);
}

/* A snapshot of the number of elements, from any thread; never above size. */
static inline unsigned int sk__kfifo_len(const struct sk__kfifo *f)
{
	/* out first: in only grows after it, so in - out cannot go negative. */
	unsigned int out = __atomic_load_n(&f->out, __ATOMIC_ACQUIRE);
	unsigned int in = __atomic_load_n(&f->in, __ATOMIC_ACQUIRE);
	unsigned int len = in - out;

	return len > f->size ? f->size : len;
}

static inline unsigned int sk__kfifo_avail(const struct sk__kfifo *f)
{
	return f->size - sk__kfifo_len(f);
}

static inline bool sk__kfifo_is_full(const struct sk__kfifo *f)
{
	return sk__kfifo_len(f) >= f->size;
}

/* ------------------------------------------------------------------------
 * The API
 * ------------------------------------------------------------------------ */

/**
 * sk_kfifo_alloc() - allocate the buffer of a kfifo declared with
 * SK_DECLARE_KFIFO_PTR()
 * @fifo: pointer to the kfifo
 * @size: number of elements; rounded up to a power of two
 *
 * The kfifo is (re)initialised: empty, no recorded producer or consumer.
 * There is no gfp argument in userspace.  The memory comes from
 * sk_kmalloc_array() and goes back with sk_kfifo_free().
 *
 * Context: no other thread may use the kfifo during the call.
 * Return: 0; -EINVAL if @size is below 2 or above 2^31 (after rounding),
 * or if @fifo has an embedded buffer; -ENOMEM if memory runs out.  On
 * failure the kfifo is left with no buffer (every operation is refused).
 */
#define sk_kfifo_alloc(fifo, size)                                            \
	sk__kfifo_int_must_check(__extension__({                              \
		__typeof__((fifo) + 1) sk__akf = (fifo);                      \
		SK__KFIFO_IS_PTR(sk__akf)                                     \
			? sk__kfifo_alloc(&sk__akf->kfifo, (size), sizeof(*sk__akf->type)) \
			: -EINVAL;                                            \
	}))

/**
 * sk_kfifo_free() - free the buffer sk_kfifo_alloc() allocated
 * @fifo: pointer to the kfifo
 *
 * The kfifo is left with no buffer: every operation on it is refused (and
 * reported) until it is allocated again.  Freeing it again, or freeing a
 * kfifo that never had a buffer, does nothing.  Does nothing for a kfifo
 * with an embedded buffer.  A buffer given by sk_kfifo_init() belongs to
 * the caller and is never freed here: the call is reported
 * (invalid_argument) and the kfifo is left as it was, still usable (the
 * kernel's kfifo_free() would kfree() the caller's buffer).
 *
 * Context: no other thread may use the kfifo during the call.
 */
#define sk_kfifo_free(fifo)                                                   \
	((void)__extension__({                                                \
		__typeof__((fifo) + 1) sk__fkf = (fifo);                      \
		if (SK__KFIFO_IS_PTR(sk__fkf))                                \
			sk__kfifo_free(&sk__fkf->kfifo, SK_CALLSITE);         \
	}))

/**
 * sk_kfifo_init() - give a kfifo declared with SK_DECLARE_KFIFO_PTR() a
 * caller-supplied buffer
 * @fifo: pointer to the kfifo
 * @buffer: the buffer; it must outlive the kfifo's use
 * @size: the buffer's size in BYTES, as the kernel's kfifo_init(); the
 *	number of elements that fit is rounded down to a power of two, at
 *	most 2^31 (a larger buffer is used in part)
 *
 * The buffer stays the caller's: sk_kfifo_free() refuses it (reported).
 *
 * Context: no other thread may use the kfifo during the call.
 * Return: 0; -EINVAL if fewer than 2 elements fit, @buffer is NULL or not
 * aligned for the element type, or @fifo has an embedded buffer.
 */
#define sk_kfifo_init(fifo, buffer, size)                                     \
	sk__kfifo_int_must_check(__extension__({                              \
		__typeof__((fifo) + 1) sk__nkf = (fifo);                      \
		SK__KFIFO_IS_PTR(sk__nkf)                                     \
			? sk__kfifo_init(&sk__nkf->kfifo, (buffer), (size),   \
					 sizeof(*sk__nkf->type), __alignof__(*sk__nkf->type)) \
			: -EINVAL;                                            \
	}))

/**
 * sk_kfifo_put() - put one element into the kfifo
 * @fifo: pointer to the kfifo
 * @val: the element, by value (converted to the element type)
 *
 * Context: the producer thread.  Checked: element size and index sanity
 * (hardened), the producer's identity (debug).
 * Return: 1 if the element was put, 0 if the kfifo was full (or the call
 * was refused and reported).  Must be checked.
 */
#define sk_kfifo_put(fifo, val)                                               \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__pkf = (fifo);                      \
		__typeof__(*sk__pkf->const_type) sk__pval = (val);            \
		sk__kfifo_put(&sk__pkf->kfifo, SK__KFIFO_HOME(sk__pkf),       \
			&sk__pval, sizeof(sk__pval), SK_CALLSITE);            \
	}))

/**
 * sk_kfifo_get() - take the oldest element out of the kfifo
 * @fifo: pointer to the kfifo
 * @val: pointer to where the element is stored (a pointer to the element type)
 *
 * Context: the consumer thread.
 * Return: 1 if an element was taken into *@val, 0 if the kfifo was empty
 * (or the call was refused and reported; *@val is then untouched).  Must be
 * checked.
 */
#define sk_kfifo_get(fifo, val)                                               \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__gkf = (fifo);                      \
		__typeof__(sk__gkf->type) sk__gval = (val);                   \
		sk__kfifo_get(&sk__gkf->kfifo, SK__KFIFO_HOME(sk__gkf),       \
			sk__gval, sizeof(*sk__gval), true, SK_CALLSITE);      \
	}))

/**
 * sk_kfifo_peek() - copy the oldest element without taking it out
 * @fifo: pointer to the kfifo
 * @val: pointer to where the element is stored
 *
 * Context: the consumer thread.
 * Return: 1 if an element was copied into *@val, 0 if the kfifo was empty
 * (or the call was refused and reported).  Must be checked.
 */
#define sk_kfifo_peek(fifo, val)                                              \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__kkf = (fifo);                      \
		__typeof__(sk__kkf->type) sk__kval = (val);                   \
		sk__kfifo_get(&sk__kkf->kfifo, SK__KFIFO_HOME(sk__kkf),       \
			sk__kval, sizeof(*sk__kval), false, SK_CALLSITE);     \
	}))

/**
 * sk_kfifo_in() - put up to @n elements into the kfifo
 * @fifo: pointer to the kfifo
 * @buf: the elements (a pointer to the element type)
 * @n: how many
 *
 * Copies as many as fit, oldest first, and publishes them at once.
 *
 * Context: the producer thread.
 * Return: the number of elements put (0 to @n).  Must be checked.
 */
#define sk_kfifo_in(fifo, buf, n)                                             \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__ikf = (fifo);                      \
		__typeof__(sk__ikf->const_type) sk__ibuf = (buf);             \
		sk__kfifo_in(&sk__ikf->kfifo, SK__KFIFO_HOME(sk__ikf),        \
			sk__ibuf, (n), sizeof(*sk__ibuf), SK_CALLSITE);       \
	}))

/**
 * sk_kfifo_out() - take up to @n elements out of the kfifo
 * @fifo: pointer to the kfifo
 * @buf: where they go (a pointer to the element type, room for @n)
 * @n: how many at most
 *
 * Context: the consumer thread.
 * Return: the number of elements taken (0 to @n).  Must be checked.
 */
#define sk_kfifo_out(fifo, buf, n)                                            \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__okf = (fifo);                      \
		__typeof__(sk__okf->type) sk__obuf = (buf);                   \
		sk__kfifo_out(&sk__okf->kfifo, SK__KFIFO_HOME(sk__okf),       \
			sk__obuf, (n), sizeof(*sk__obuf), true, SK_CALLSITE); \
	}))

/**
 * sk_kfifo_out_peek() - copy up to @n of the oldest elements without
 * taking them out
 * @fifo: pointer to the kfifo
 * @buf: where they go (a pointer to the element type, room for @n)
 * @n: how many at most
 *
 * Context: the consumer thread.
 * Return: the number of elements copied (0 to @n).  Must be checked.
 */
#define sk_kfifo_out_peek(fifo, buf, n)                                       \
	sk__kfifo_uint_must_check(__extension__({                             \
		__typeof__((fifo) + 1) sk__qkf = (fifo);                      \
		__typeof__(sk__qkf->type) sk__qbuf = (buf);                   \
		sk__kfifo_out(&sk__qkf->kfifo, SK__KFIFO_HOME(sk__qkf),       \
			sk__qbuf, (n), sizeof(*sk__qbuf), false, SK_CALLSITE); \
	}))

/**
 * sk_kfifo_skip() - drop the oldest element
 * @fifo: pointer to the kfifo
 *
 * Skipping an empty kfifo is refused and reported as
 * SK_VIOLATION_RING_CORRUPTION (the kernel's would move out past in).
 *
 * Context: the consumer thread.
 */
#define sk_kfifo_skip(fifo) ((void)sk__kfifo_skip(&(fifo)->kfifo, 1, SK_CALLSITE))

/**
 * sk_kfifo_skip_count() - drop the @count oldest elements
 * @fifo: pointer to the kfifo
 * @count: how many; more than sk_kfifo_len() is refused and reported
 *
 * Context: the consumer thread.
 */
#define sk_kfifo_skip_count(fifo, count)                                      \
	((void)sk__kfifo_skip(&(fifo)->kfifo, (count), SK_CALLSITE))

/**
 * sk_kfifo_reset() - empty the kfifo and forget its producer and consumer
 * @fifo: pointer to the kfifo
 *
 * Context: no other thread may use the kfifo during the call (as the
 * kernel's kfifo_reset()).
 */
#define sk_kfifo_reset(fifo) sk__kfifo_reset(&(fifo)->kfifo)

/**
 * sk_kfifo_reset_out() - empty the kfifo from the consumer side
 * @fifo: pointer to the kfifo
 *
 * Drops every element published so far (out = in).  Indices further
 * apart than the size (corruption) are reported
 * (SK_VIOLATION_RING_CORRUPTION) and the reset refused.
 *
 * Context: the consumer thread.
 */
#define sk_kfifo_reset_out(fifo) sk__kfifo_reset_out(&(fifo)->kfifo, SK_CALLSITE)

/**
 * sk_kfifo_len() - number of elements in the kfifo
 * @fifo: pointer to the kfifo
 *
 * Context: any thread.  Exact for the producer and consumer as far as the
 * other side has published; a snapshot for any other thread.
 * Return: 0 to sk_kfifo_size().
 */
#define sk_kfifo_len(fifo) sk__kfifo_len(&(fifo)->kfifo)

/**
 * sk_kfifo_avail() - number of free slots
 * @fifo: pointer to the kfifo
 *
 * Context: any thread (a snapshot, as sk_kfifo_len()).
 * Return: sk_kfifo_size() - sk_kfifo_len().
 */
#define sk_kfifo_avail(fifo) sk__kfifo_avail(&(fifo)->kfifo)

/**
 * sk_kfifo_is_empty() - whether the kfifo holds no element
 * @fifo: pointer to the kfifo
 *
 * Context: any thread (a snapshot).
 * Return: true if empty.
 */
#define sk_kfifo_is_empty(fifo) (sk__kfifo_len(&(fifo)->kfifo) == 0)

/**
 * sk_kfifo_is_full() - whether the kfifo has no free slot
 * @fifo: pointer to the kfifo
 *
 * Context: any thread (a snapshot).  A kfifo without a buffer is full.
 * Return: true if full.
 */
#define sk_kfifo_is_full(fifo) sk__kfifo_is_full(&(fifo)->kfifo)

/**
 * sk_kfifo_size() - number of elements the kfifo holds when full
 * @fifo: pointer to the kfifo
 *
 * Context: any thread.
 * Return: the size (a power of two), or 0 for a kfifo without a buffer.
 */
#define sk_kfifo_size(fifo) ((fifo)->kfifo.size)

/**
 * sk_kfifo_esize() - size of one element in bytes
 * @fifo: pointer to the kfifo
 *
 * Context: any thread.
 * Return: the element size the kfifo was initialised with.
 */
#define sk_kfifo_esize(fifo) ((fifo)->kfifo.esize)

/**
 * sk_kfifo_initialized() - whether the kfifo has a buffer
 * @fifo: pointer to the kfifo
 *
 * Context: any thread.
 * Return: true after SK_DEFINE_KFIFO(), SK_INIT_KFIFO() on an embedded
 * buffer, or a successful sk_kfifo_alloc()/sk_kfifo_init().
 */
#define sk_kfifo_initialized(fifo) ((fifo)->kfifo.size != 0)

/**
 * sk_kfifo_release_producer() - hand over the producer side
 * @fifo: pointer to the kfifo
 *
 * At the debug level the next thread that puts becomes the producer.  Call
 * it from the old producer after its last put (or from any thread once the
 * old producer is gone), and order that with the new producer's first put
 * (a mutex, a thread join, a release/acquire pair).  Harmless at the
 * hardened level, where the producer is not recorded.
 *
 * Context: any thread; the producer side must not be in use.
 */
#define sk_kfifo_release_producer(fifo)                                       \
	__atomic_store_n(&(fifo)->kfifo.producer, (uintptr_t)0, __ATOMIC_RELEASE)

/**
 * sk_kfifo_release_consumer() - hand over the consumer side
 * @fifo: pointer to the kfifo
 *
 * As sk_kfifo_release_producer(), for the consumer side.
 *
 * Context: any thread; the consumer side must not be in use.
 */
#define sk_kfifo_release_consumer(fifo)                                       \
	__atomic_store_n(&(fifo)->kfifo.consumer, (uintptr_t)0, __ATOMIC_RELEASE)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_KFIFO_H */
