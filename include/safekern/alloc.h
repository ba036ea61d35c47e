/* SPDX-License-Identifier: MIT */
/*
 * safekern/alloc.h - the allocation layer: kmalloc-style allocation on
 * jemalloc's mallocx family.
 *
 * Theory of operation
 * ===================
 *
 * Every libsafekern structure allocates through this layer, and so can the
 * program.  By default it is backed by jemalloc, which lives beside glibc's
 * malloc in the process: when only libsafekern.so links jemalloc, plain
 * malloc() still goes to glibc.  There are therefore two heaps, and a
 * pointer from sk_kmalloc() must be freed with sk_kfree() or
 * sk_kfree_sized(), never free(), and vice versa.  A library built with
 * -Dalloc_backend=libc routes the layer to malloc/free instead (handy for
 * tool runs); the rule stays the same.
 *
 * The layer calls jemalloc's own malloc()/free(), looked up in the object
 * that defines mallocx() so that they can never be glibc's: in jemalloc 5.3
 * they are the only entry points with a fast path (about 35 instructions
 * each, where mallocx() takes about 100).  If that lookup fails, or with
 * SAFEKERN_ALLOC_MALLOCX set in the environment, it uses the mallocx
 * family.  Either way one heap, jemalloc's; see docs/alloc.md.
 *
 * Size arithmetic is overflow-checked: sk_kmalloc_array(), sk_kcalloc()
 * and sk_krealloc_array() return NULL when n * size does not fit in a
 * size_t, never a short buffer, and count the event (see
 * sk_kmalloc_overflows()).  An overflowing request is a failed allocation,
 * as in the kernel, not a violation: programs pass untrusted counts here
 * and must handle NULL anyway.
 *
 * A zero-byte request returns a unique pointer that may not be
 * dereferenced, as malloc(0) does on glibc, so that NULL always means
 * failure.
 *
 * Auto-free (safekern/cleanup.h): this header defines the cleanup class
 * kfree, the kernel's DEFINE_FREE(kfree, ...), so that
 * ``char *buf sk_free(kfree) = sk_kmalloc(len);`` is given to sk_kfree()
 * when buf leaves its scope, on every exit path; sk_no_free_ptr(buf) and
 * sk_return_ptr(buf) hand the block on instead (the cleanup then sees
 * NULL, which it ignores).  Any pointer type from this family may be
 * declared so; memory from an sk_kmem_cache needs its cache and is not
 * covered.
 *
 * Tool visibility.  jemalloc's memory is invisible to Valgrind's memcheck
 * and to AddressSanitizer: they only track malloc.  So when the library
 * finds itself under memcheck (decided once, at load), or was itself built
 * with -fsanitize=address, it runs in "tool mode": every block gets a
 * hidden header and a red zone of at least 16 bytes, is described to the
 * tool (VALGRIND_MALLOCLIKE_BLOCK/FREELIKE_BLOCK, ASan poisoning) and,
 * once freed, waits no-access in a quarantine of up to 16 MiB and 8192
 * blocks (a larger block waits alone, until the next free) before it is
 * reused.  A leaked block, an overflow or a use after free is then reported
 * by the tool as it would be for malloc.  In tool mode the frees also
 * check the header: freeing a block twice (SK_VIOLATION_ALLOC_DOUBLE_FREE),
 * or a pointer this family did not hand out (a cache object, the inside of
 * a block: SK_VIOLATION_ALLOC_WRONG_CACHE) is reported and refused.
 * LeakSanitizer does not scan jemalloc's memory: with ASan, leaks of these
 * blocks are not reported (memcheck reports them; or build with
 * -Dalloc_backend=libc).
 *
 * All functions are thread-safe.
 */
#ifndef SAFEKERN_ALLOC_H
#define SAFEKERN_ALLOC_H

#include <stddef.h>

#include <safekern/cleanup.h>
#include <safekern/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SK__MALLOC_LIKE(...) __attribute__((malloc, alloc_size(__VA_ARGS__))) SK_MUST_CHECK

/**
 * sk_kmalloc() - allocate memory
 * @size: bytes to allocate (0 gives a unique non-NULL pointer)
 *
 * Return: uninitialised memory aligned for any type, or NULL (errno
 * ENOMEM).  Free it with sk_kfree() or sk_kfree_sized().
 */
SK_API void *sk_kmalloc(size_t size) SK__MALLOC_LIKE(1);

/**
 * sk_kzalloc() - allocate zeroed memory
 * @size: bytes to allocate
 *
 * Return: zeroed memory, or NULL.
 */
SK_API void *sk_kzalloc(size_t size) SK__MALLOC_LIKE(1);

/**
 * sk_kmalloc_array() - allocate an array, overflow-checked
 * @n: number of elements
 * @size: size of one element
 *
 * Return: uninitialised memory for @n elements, or NULL if @n * @size
 * overflows (counted; errno EOVERFLOW) or memory runs out (errno ENOMEM).
 */
SK_API void *sk_kmalloc_array(size_t n, size_t size) SK__MALLOC_LIKE(1, 2);

/**
 * sk_kcalloc() - allocate a zeroed array, overflow-checked
 * @n: number of elements
 * @size: size of one element
 *
 * Return: zeroed memory for @n elements, or NULL as sk_kmalloc_array().
 */
SK_API void *sk_kcalloc(size_t n, size_t size) SK__MALLOC_LIKE(1, 2);

/**
 * sk_krealloc_array() - resize an array, overflow-checked
 * @p: memory from this layer, or NULL (then this allocates)
 * @new_n: new number of elements
 * @size: size of one element
 *
 * The first min(old, new) bytes are kept.  On failure @p is untouched and
 * still owned by the caller.  On success @p is consumed, as by realloc():
 * only the result may be used and freed (it may be @p itself).  That holds
 * for @new_n * @size == 0 too: @p is consumed and the result is a unique
 * minimal allocation, like sk_kmalloc(0), never NULL because of the size.
 *
 * Return: the (possibly moved) memory, or NULL as sk_kmalloc_array().
 */
SK_API void *sk_krealloc_array(void *p, size_t new_n, size_t size) SK_MUST_CHECK;

/**
 * sk_kfree() - free memory from this layer
 * @p: the memory, or NULL (ignored)
 *
 * In tool mode a double free or a foreign pointer is reported and refused
 * (see the header).
 *
 * Auto-free: a variable declared ``type *p sk_free(kfree) = sk_kmalloc(n);``
 * (any function of this family) is passed to sk_kfree() when it leaves
 * its scope, once, on every exit path, unless sk_no_free_ptr(p) or
 * sk_return_ptr(p) took the pointer out first (see safekern/cleanup.h).
 */
SK_API void sk_kfree(const void *p);

/* The cleanup class kfree, for sk_free(kfree): see sk_kfree(). */
SK_DEFINE_FREE(kfree, void *, if (_T) sk_kfree(_T))

/**
 * sk_kfree_sized() - free memory whose size the caller knows
 * @p: the memory, or NULL (ignored)
 * @size: the size passed when it was allocated (or for an array, n * size)
 *
 * The kernel's kfree() with the size stated.  With jemalloc 5.3 it costs
 * what sk_kfree() costs (jemalloc's free() is its fastest path).  In tool
 * mode the size is checked: a wrong one is reported
 * (SK_VIOLATION_INVALID_ARGUMENT) and the block freed with the right one.
 */
SK_API void sk_kfree_sized(const void *p, size_t size);

/**
 * sk_kmalloc_overflows() - how many requests failed on size overflow
 *
 * Return: the count since the library was loaded.
 */
SK_API unsigned long sk_kmalloc_overflows(void);

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_ALLOC_H */
