/* SPDX-License-Identifier: MIT */
/*
 * safekern/slab.h - object caches (kmem_cache) on the allocation layer:
 * fixed-size objects with per-cache statistics, a leak report on destroy,
 * and a debug level that poisons, red-zones and tracks every object.
 *
 * Theory of operation
 * ===================
 *
 * A cache hands out objects of one size and alignment.  Each object is one
 * block of the allocation layer (safekern/alloc.h: jemalloc, or libc with
 * -Dalloc_backend=libc), so memory is shared with sk_kmalloc; what the
 * cache adds is a per-thread object cache, accounting and checking.
 * Objects of a cache must be freed to that cache, never with sk_kfree()
 * or free().
 *
 * Magazines.  A hardened cache keeps freed objects for reuse, as the
 * kernel's SLAB keeps them in per-CPU array caches (Bonwick's magazines
 * and depot): each thread has two magazines per cache, arrays of free
 * objects it allocates from and frees to with plain loads and stores (no
 * atomic, no lock); when both are full or both empty it trades a
 * magazine with the cache's depot, under the depot's mutex, and when the
 * depot has nothing to give it asks the allocator.  The memory held is
 * bounded per cache:
 *
 *   - a magazine holds 128 objects (objects up to 64 bytes), or 8 KiB
 *     worth of objects (larger ones, at least 2); objects above 4 KiB have
 *     no magazines and go straight back to the allocator;
 *   - each thread holds at most two magazines per cache (256 objects of
 *     up to 64 bytes, 16 KiB of larger ones); at most 64 threads have
 *     magazines at a time (the others go straight to the allocator);
 *   - the depot holds at most 16 non-empty magazines (2048 objects of up
 *     to 64 bytes, 128 KiB of larger ones) and 16 empty ones; what does
 *     not fit goes back to the allocator.
 *
 * An object in a magazine is free: it is not counted in the live count.
 * The number of free objects a cache holds is the stats' quarantined
 * field.  sk_kmem_cache_shrink() gives back the depot's objects and the
 * calling thread's; a thread's exit hands its magazines to the depot;
 * sk_kmem_cache_destroy() gives back everything.
 *
 * Debug caches, and every cache in tool mode (under memcheck, or in a
 * library built with AddressSanitizer), have no magazines: a freed
 * object goes back to the allocator (through the debug quarantine or the
 * tool's), so that the checks and the tools see every use after free.
 * Neither do destroyed caches.
 *
 * Statistics.  Every cache counts live objects, the peak of that count,
 * allocations and frees (sk_kmem_cache_stats()).  On the hot path each
 * thread bumps counters in its own cache-line-sized shard of the cache
 * with plain stores (no atomic read-modify-write, no shared line); a read
 * sums the shards.  Threads beyond the 64th concurrently alive one share
 * an overflow shard updated with atomic adds.  So:
 *
 *   - live, allocs and frees are exact whenever no operation on the cache
 *     is in flight (and a snapshot of values the counts had during the
 *     call otherwise);
 *   - peak is exact for a cache used by one thread.  With several threads
 *     it is sampled (when a thread's own view says a new peak may have
 *     been reached, and on every read): never above the true peak, but it
 *     can miss a short-lived maximum made of several threads' objects.
 *     Debug caches serialise every operation and keep an exact peak.
 *
 * Check levels.  A cache's level is chosen once, when it is created, and
 * stored in the cache: every later operation checks the cache's level, not
 * the level of the unit that calls it, so objects and caches can be passed
 * freely between units built at different levels.  A cache is a debug
 * cache when any of these holds at creation:
 *
 *   - the flags include SK_SLAB_DEBUG;
 *   - the unit calling sk_kmem_cache_create() is built with -DSK_DEBUG
 *     (the macro adds SK_SLAB_DEBUG);
 *   - the environment variable SAFEKERN_SLAB_DEBUG=1 was set when the
 *     library loaded (validates an unchanged production binary).
 *
 * Hardened caches (the default) cost a few instructions more than the
 * allocator itself (see docs/alloc.md) and check what is free to check:
 * invalid creation arguments, allocation from a destroyed cache, the
 * leak report on destroy, and the kernel's naive double-free check
 * (SLAB_FREELIST_HARDENED): freeing the object this thread last freed to
 * the cache, with no free to it in between, is reported
 * (SK_VIOLATION_ALLOC_DOUBLE_FREE) and refused while that object is on
 * top of the thread's magazine.  Frees that go straight to the allocator
 * are not checked: objects above 4 KiB, threads beyond the 64th (and a
 * free that finds no magazine to be had).  An older double free is not
 * seen at this level, except by a cache destroyed with live objects
 * (nothing is allocated from it then): it refuses an address freed to it
 * twice after the destroy, and the free after the destroy of an object
 * that was still in a magazine or the depot when the cache was destroyed
 * (its first free came before).  An object the cache had already given
 * back to the allocator before the destroy (freed straight to it, as
 * above, or from a magazine emptied into a full depot or by
 * sk_kmem_cache_shrink()) leaves no trace: a second free of it after the
 * destroy passes for the free of a live object, and the cache can then be
 * released while one of its objects is live, as a double free with
 * free() is undefined.  Hardened caches do not
 * validate the pointer given to sk_kmem_cache_free(): freeing a foreign
 * pointer there is undefined, as with free().
 *
 * Debug caches, at the cost of one library-wide mutex per operation:
 *
 *   - each object is followed by a red zone (at least 16 bytes) filled
 *     with 0xcc, checked when the object is freed: an overwrite is
 *     reported (SK_VIOLATION_ALLOC_OVERFLOW), the red zone is restored
 *     and the free goes ahead;
 *   - a freed object is filled with 0x6b (last byte 0xa5) and kept in a
 *     FIFO quarantine of the cache.  While the quarantine holds 256
 *     objects or fewer, allocations get fresh memory; beyond that an
 *     allocation takes the oldest quarantined object and checks the
 *     pattern first, so a freed object is handed out again only after at
 *     least 256 later frees to the cache, or fewer for objects above about
 *     4 KiB: the quarantine also keeps at most 1 MiB, and the oldest
 *     objects beyond it go back to the allocator (checked first), which
 *     may hand them out at once.  A write after free is reported
 *     (SK_VIOLATION_ALLOC_USE_AFTER_FREE), the damaged object is never
 *     handed out again (its memory is deliberately kept, since a stray
 *     writer may still hold it) and a fresh object is returned.  Objects
 *     leaving the quarantine otherwise (when it holds more than 1024
 *     objects or 1 MiB, and on destroy) are checked too;
 *   - every object is registered with its allocation call site; freeing a
 *     pointer the cache did not hand out (SK_VIOLATION_ALLOC_WRONG_CACHE)
 *     or an object that is already free (SK_VIOLATION_ALLOC_DOUBLE_FREE)
 *     is reported and refused: nothing is freed, no statistic moves;
 *   - new objects are filled with 0x5a unless zeroed or constructed.
 *
 * Destroying a cache that still has live objects reports one
 * SK_VIOLATION_ALLOC_LEAK with their number (and, for a debug cache, the
 * allocation sites with counts and addresses), returns -EBUSY and
 * releases nothing: the objects stay valid and the cache stays behind as
 * a "destroyed" cache that only takes its objects back.  It can still be
 * read with sk_kmem_cache_stats(), sk_kmem_cache_free() still works on
 * it, and when its last object is freed the cache itself is released.
 * Allocating from it is reported (SK_VIOLATION_INVALID_ARGUMENT) and
 * returns NULL.
 *
 * Tool visibility.  Under Valgrind's memcheck (detected when the library
 * loads) and in a library built with -fsanitize=address, every object is
 * described to the tool as a heap block with red zones, exactly like the
 * blocks of sk_kmalloc(): a leaked object, an overflow or a use after
 * free is reported by the tool as it would be for malloc (see
 * safekern/alloc.h).
 *
 * Constructors.  An optional constructor runs on every object the cache
 * hands out, before it is returned (after zeroing, for
 * sk_kmem_cache_zalloc()), including objects reused from a magazine.
 * Unlike the kernel's slab, objects are not kept in constructed state:
 * the program may leave a freed object in any state.
 *
 * Memory ordering: allocation and free order nothing between threads by
 * themselves; publish objects with the usual release/acquire or locks.
 *
 * Concurrency
 * ===========
 *
 * | call                      | may run concurrently with                 |
 * |---------------------------|-------------------------------------------|
 * | sk_kmem_cache_create      | anything                                  |
 * | sk_kmem_cache_alloc/zalloc| alloc, zalloc, free, stats on any cache   |
 * | sk_kmem_cache_free        | alloc, zalloc, free, stats on any cache   |
 * | sk_kmem_cache_shrink      | alloc, zalloc, free, stats on any cache   |
 * | sk_kmem_cache_stats, _name, _size, _flags | everything but destroy    |
 * | sk_kmem_cache_destroy     | operations on other caches only           |
 *
 * Destroy must not race with other operations on the same cache (as in
 * the kernel); after it returns 0 the cache pointer is dead.  A thread
 * may exit at any time, before or after destroying a cache it used.  Once
 * the library's own thread-exit hook has run, the rest of that thread's
 * exit (other pthread keys' destructors) allocates and frees as a thread
 * beyond the 64th: straight to the allocator.
 */
#ifndef SAFEKERN_SLAB_H
#define SAFEKERN_SLAB_H

#include <stddef.h>

#include <safekern/alloc.h>
#include <safekern/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct sk_kmem_cache - an object cache (opaque)
 *
 * Created by sk_kmem_cache_create(), released by sk_kmem_cache_destroy().
 */
struct sk_kmem_cache;

/**
 * SK_SLAB_HWCACHE_ALIGN - align objects on cache lines
 *
 * As the kernel's SLAB_HWCACHE_ALIGN: objects are aligned on
 * SK_CACHELINE_SIZE, or, for objects of at most half a line, on the
 * smallest power of two not below their size (if larger than the
 * requested alignment), so that no object straddles more lines than it
 * must.
 */
#define SK_SLAB_HWCACHE_ALIGN 0x1u

/**
 * SK_SLAB_DEBUG - make this a debug cache
 *
 * Red zones, poisoning with a quarantine, object tracking with allocation
 * sites, wrong-cache and double-free detection.  Added automatically by
 * sk_kmem_cache_create() in units built with -DSK_DEBUG, and to every
 * cache when SAFEKERN_SLAB_DEBUG=1.  sk_kmem_cache_flags() reports whether
 * a cache got it.
 */
#define SK_SLAB_DEBUG 0x2u

#ifdef SK_DEBUG
#define SK__SLAB_UNIT_FLAGS SK_SLAB_DEBUG
#else
#define SK__SLAB_UNIT_FLAGS 0u
#endif

/**
 * struct sk_kmem_cache_stats - a cache's counters
 * @live: objects allocated and not yet freed
 * @peak: the highest @live seen (exact for one thread; see the header)
 * @allocs: allocations since the cache was created
 * @frees: frees since the cache was created (refused frees not counted)
 * @quarantined: freed objects the cache holds instead of giving them back
 *	to the allocator: a debug cache's quarantine (kept for checking), a
 *	hardened cache's magazines and depot (kept for reuse; see the
 *	header for the bound).  They are not counted in @live.  Exact when
 *	no operation on the cache is in flight.
 */
struct sk_kmem_cache_stats {
	unsigned long live;
	unsigned long peak;
	unsigned long allocs;
	unsigned long frees;
	unsigned long quarantined;
};

/**
 * sk_kmem_cache_create() - create an object cache
 * @name: a name for reports and statistics (copied; NULL gives "?")
 * @size: object size in bytes, at least 1
 * @align: required alignment, a power of two, or 0 for the allocator's
 *	natural alignment (at least 8, and 16 for objects of 16 bytes and more)
 * @flags: SK_SLAB_HWCACHE_ALIGN, SK_SLAB_DEBUG (ORed)
 * @ctor: called on every object before it is handed out, or NULL
 *
 * A macro: it records the call site for reports and, in a unit built with
 * -DSK_DEBUG, adds SK_SLAB_DEBUG.  A zero @size, an alignment that is not
 * a power of two (or above 1 MiB) and unknown flags are reported as
 * SK_VIOLATION_INVALID_ARGUMENT (errno EINVAL).  A size whose layout
 * overflows returns NULL (errno EOVERFLOW), counted like the other
 * overflows (sk_kmalloc_overflows()).
 *
 * Context: any thread.
 * Return: the cache, or NULL (errno EINVAL, EOVERFLOW or ENOMEM).
 */
#define sk_kmem_cache_create(name, size, align, flags, ctor)                  \
	sk__kmem_cache_create((name), (size), (align), (flags) | SK__SLAB_UNIT_FLAGS, \
			      (ctor), SK_CALLSITE)

/**
 * sk_kmem_cache_alloc() - allocate an object
 * @cache: the cache
 *
 * The object is uninitialised (0x5a-filled in a debug cache) unless the
 * cache has a constructor, which has run on it.
 *
 * Context: any thread.
 * Return: the object, aligned as the cache says, or NULL (errno ENOMEM;
 * or EINVAL after the report for a destroyed cache).
 */
#define sk_kmem_cache_alloc(cache) sk__kmem_cache_alloc((cache), SK_CALLSITE)

/**
 * sk_kmem_cache_zalloc() - allocate a zeroed object
 * @cache: the cache
 *
 * The object is zeroed, then the constructor (if any) runs on it.
 *
 * Context: any thread.
 * Return: the object, or NULL as sk_kmem_cache_alloc().
 */
#define sk_kmem_cache_zalloc(cache) sk__kmem_cache_zalloc((cache), SK_CALLSITE)

/**
 * sk_kmem_cache_free() - return an object to its cache
 * @cache: the cache the object was allocated from
 * @obj: the object, or NULL (ignored)
 *
 * Debug caches report and refuse a pointer they did not hand out and an
 * object that is already free, and report (then free) an object whose red
 * zone was overwritten.  Hardened caches trust @obj.
 *
 * Context: any thread; @obj must not be in use by any thread.
 */
#define sk_kmem_cache_free(cache, obj) sk__kmem_cache_free((cache), (obj), SK_CALLSITE)

/**
 * sk_kmem_cache_destroy() - release a cache
 * @cache: the cache, or NULL (ignored, returns 0)
 *
 * Gives every object in the magazines and the depot back to the allocator,
 * whichever thread's magazines hold it.
 * If objects are still live, reports one SK_VIOLATION_ALLOC_LEAK (count;
 * allocation sites for a debug cache), releases nothing else and leaves the
 * cache behind, destroyed: it takes back its objects with
 * sk_kmem_cache_free() and is released with the last of them.  Objects in
 * a debug cache's quarantine are checked and released either way.
 * Destroying a destroyed cache is reported (SK_VIOLATION_INVALID_ARGUMENT).
 * After a destroy that left live objects, the last sk_kmem_cache_free() of
 * them releases the cache: any other call on it (stats, shrink, name, ...)
 * must not run concurrently with a free that may be that last one.
 *
 * Context: no other operation on @cache may run concurrently.
 * Return: 0 if the cache was released, -EBUSY if live objects kept it
 * (or it was already destroyed).
 */
#define sk_kmem_cache_destroy(cache) sk__kmem_cache_destroy((cache), SK_CALLSITE)

/**
 * sk_kmem_cache_shrink() - give cached free objects back to the allocator
 * @cache: the cache
 *
 * Empties the cache's depot and the calling thread's magazines (see the
 * header): their objects go back to the allocator.  Other threads'
 * magazines stay (at most 16 KiB of objects each; they go to the depot
 * when the thread exits).  Nothing to do for debug caches, in tool mode, or for a
 * destroyed cache.
 *
 * Context: any thread, concurrently with alloc, free and stats on
 * @cache (not with its destroy).
 * Return: the number of objects given back.
 */
SK_API unsigned long sk_kmem_cache_shrink(struct sk_kmem_cache *cache) SK_NONNULL(1);

/**
 * sk_kmem_cache_stats() - read a cache's counters
 * @cache: the cache
 * @st: filled with the counters
 *
 * Sums the per-thread shards (see the header on exactness) and records
 * the live count in the peak.
 *
 * Context: any thread, concurrently with allocation and free.
 */
SK_API void sk_kmem_cache_stats(struct sk_kmem_cache *cache, struct sk_kmem_cache_stats *st)
	SK_NONNULL(1, 2);

/**
 * sk_kmem_cache_name() - a cache's name
 * @cache: the cache
 *
 * Return: the name given at creation (a copy owned by the cache).
 */
SK_API const char *sk_kmem_cache_name(const struct sk_kmem_cache *cache) SK_NONNULL(1);

/**
 * sk_kmem_cache_size() - a cache's object size
 * @cache: the cache
 *
 * Return: the size given at creation: the bytes of each object the
 * program may use.
 */
SK_API size_t sk_kmem_cache_size(const struct sk_kmem_cache *cache) SK_NONNULL(1);

/**
 * sk_kmem_cache_align() - a cache's object alignment
 * @cache: the cache
 *
 * Return: the alignment every object has (after SK_SLAB_HWCACHE_ALIGN).
 */
SK_API size_t sk_kmem_cache_align(const struct sk_kmem_cache *cache) SK_NONNULL(1);

/**
 * sk_kmem_cache_flags() - a cache's effective flags
 * @cache: the cache
 *
 * Return: the flags given at creation, plus SK_SLAB_DEBUG if the cache
 * became a debug cache (unit level or SAFEKERN_SLAB_DEBUG).
 */
SK_API unsigned int sk_kmem_cache_flags(const struct sk_kmem_cache *cache) SK_NONNULL(1);

/*
 * Internal: the functions behind the macros above.  Do not call directly.
 * The allocations carry no __attribute__((malloc)): an object comes back
 * as its constructor (or its last user) left it, perhaps holding pointers
 * into itself, and the attribute would let the compiler assume it holds
 * none (a stale load of a field stored through such a pointer).
 */
SK_API struct sk_kmem_cache *sk__kmem_cache_create(const char *name, size_t size, size_t align,
						   unsigned int flags, void (*ctor)(void *),
						   const struct sk_callsite *cs) SK_MUST_CHECK;
SK_API void *sk__kmem_cache_alloc(struct sk_kmem_cache *cache, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK;
SK_API void *sk__kmem_cache_zalloc(struct sk_kmem_cache *cache, const struct sk_callsite *cs)
	SK_NONNULL(1) SK_MUST_CHECK;
SK_API void sk__kmem_cache_free(struct sk_kmem_cache *cache, void *obj,
				const struct sk_callsite *cs) SK_NONNULL(1);
SK_API int sk__kmem_cache_destroy(struct sk_kmem_cache *cache, const struct sk_callsite *cs);

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_SLAB_H */
