/* SPDX-License-Identifier: MIT */
/*
 * lib/alloc-internal.h - what lib/alloc.c shares with lib/slab.c: the raw
 * backend (jemalloc or libc) and "tool mode", in which every block is
 * described to memcheck or AddressSanitizer.  Never installed.
 *
 * Tool mode is on for the whole process when the library was built with
 * -fsanitize=address, or when it finds itself running under memcheck at
 * its first allocation (other Valgrind tools, callgrind for the
 * benchmarks among them, see the plain fast path).  It never changes
 * afterwards, so a block's layout is fixed by the mode:
 *
 *   plain:  [ object ]                                 (the backend block)
 *   tool:   [ lead: ... struct sk__tb_hdr ][ object ][ tail red zone ]
 *
 * The lead is at least sizeof(struct sk__tb_hdr) and a multiple of the
 * alignment; the tail is at least SK__TB_TAIL bytes and ends 8-aligned.
 * The lead and tail are no-access to the tool; the object is a heap block
 * (VALGRIND_MALLOCLIKE_BLOCK / ASan unpoisoned) while it is allocated and
 * no-access after it is freed.  The header names the owner (a cache, or
 * the kmalloc family) and the state, so tool-mode frees detect double
 * frees and wrong owners even in hardened caches.
 */
#ifndef SAFEKERN_LIB_ALLOC_INTERNAL_H
#define SAFEKERN_LIB_ALLOC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <safekern/alloc.h>
#include <safekern/compiler.h>

#if defined(__SANITIZE_ADDRESS__)
#define SK__ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SK__ALLOC_ASAN 1
#endif
#endif

#define SK__HIDDEN __attribute__((visibility("hidden")))

/* ------------------------------------------------------------------------
 * Raw backend: no accounting, no tool requests.
 * ------------------------------------------------------------------------ */

/*
 * The plain mode's entry points.  With jemalloc these are jemalloc's own
 * standard entry points (malloc and free are its only ones with a fast
 * path in 5.3; the mallocx family always takes the slow path), looked up
 * in the object that defines mallocx, so that they can never be glibc's;
 * if that fails, wrappers around the mallocx family.  With
 * -Dalloc_backend=libc, libc's.  Tool mode uses the mallocx family (see
 * alloc.c); the raw functions below pick the family of the mode.
 */
struct sk__backend {
	void *(*malloc)(size_t size);
	void (*free)(void *p);
	void *(*calloc)(size_t n, size_t size);
	void *(*realloc)(void *p, size_t size);
	void *(*aligned_alloc)(size_t align, size_t size);
};
extern struct sk__backend sk__be SK__HIDDEN;
/* Whether sk__be is jemalloc's fast family (not the mallocx wrappers). */
bool sk__be_fast(void) SK__HIDDEN;

/*
 * The calling thread's shard (lib/slab.c): 0 to SK__THREAD_SHARDS - 1, its
 * own until it exits, or SK__THREAD_SHARDS when all are taken (or the
 * thread-exit hook cannot be installed).  At thread exit, slab.c calls
 * sk__handle_thread_exit() with the shard before giving it back; from
 * then on, for the rest of the exit, the thread is on SK__THREAD_SHARDS.
 */
#define SK__THREAD_SHARDS 64
unsigned int sk__thread_shard(void) SK__HIDDEN;
void sk__handle_thread_exit(unsigned int shard) SK__HIDDEN;

/* Memory for @size bytes aligned on @align (0: natural), or NULL. */
void *sk__raw_alloc(size_t size, size_t align) SK__HIDDEN;
/* Zeroed memory, or NULL. */
void *sk__raw_zalloc(size_t size, size_t align) SK__HIDDEN;
/* Release memory from sk__raw_alloc/zalloc (any size, any alignment). */
void sk__raw_free(void *p) SK__HIDDEN;

/* ------------------------------------------------------------------------
 * Mode
 * ------------------------------------------------------------------------ */

enum sk__alloc_mode {
	SK__MODE_UNSET = 0,
	SK__MODE_PLAIN = 1,
	SK__MODE_TOOL = 2,
};
extern int sk__alloc_mode_word SK__HIDDEN;
int sk__alloc_mode_init(void) SK__HIDDEN;

/* The process-wide mode, deciding it on first use. */
static inline int sk__alloc_mode(void)
{
	int m = __atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE);

	return sk_likely(m != SK__MODE_UNSET) ? m : sk__alloc_mode_init();
}

/* Counts a failed size computation and sets errno EOVERFLOW; NULL. */
void *sk__alloc_overflowed(void) SK__HIDDEN;

/* ------------------------------------------------------------------------
 * Tool mode blocks
 * ------------------------------------------------------------------------ */

#define SK__TB_TAIL 16 /* minimum red zone after the object */

enum sk__tb_state {
	SK__TB_LIVE = 0x11fe11feu,
	SK__TB_FREE = 0xdeadf4eeu,
};

struct sk__tb_hdr {
	size_t size;       /* bytes the program asked for */
	size_t total;      /* bytes of the whole region */
	const void *owner; /* the cache, or &sk__kmalloc_owner */
	uint32_t lead;     /* region start to object */
	uint32_t state;    /* enum sk__tb_state */
};

/* The owner of sk_kmalloc()'s blocks. */
extern const char sk__kmalloc_owner[] SK__HIDDEN;

/* Bytes of lead for an alignment, and of tail for a size. */
size_t sk__tb_lead(size_t align) SK__HIDDEN;
size_t sk__tb_tail(size_t size, size_t min_tail) SK__HIDDEN;

/*
 * Allocate a tool-mode block for @size bytes, aligned on @align, with at
 * least @min_tail bytes of red zone; the object is a live heap block to
 * the tool, the rest no-access.  NULL (errno ENOMEM) on failure or when
 * the layout does not fit a size_t.
 */
void *sk__tb_alloc(size_t size, size_t align, size_t min_tail, const void *owner, bool zero)
	SK__HIDDEN;

/* The header of a tool-mode object, copied out (readable or not). */
void sk__tb_read(const void *obj, struct sk__tb_hdr *out) SK__HIDDEN;
/* Set the state word of a tool-mode object's header. */
void sk__tb_set_state(const void *obj, uint32_t state) SK__HIDDEN;

/*
 * Free a tool-mode object whose header the caller validated: tell the tool
 * (free-like block), then hold the region in the tool quarantine, which
 * delays reuse so that a use after free hits no-access memory.
 */
void sk__tb_free(const void *obj, const struct sk__tb_hdr *h) SK__HIDDEN;
/* Return a region to the backend at once (no quarantine). */
void sk__tb_release(const void *obj, const struct sk__tb_hdr *h) SK__HIDDEN;

/* Make bytes readable/writable for the library itself, and no-access again. */
void sk__tool_open(const void *p, size_t n) SK__HIDDEN;
void sk__tool_close(const void *p, size_t n) SK__HIDDEN;
/* Tell the tool the object is allocated (undefined) / freed (no-access). */
void sk__tool_mark_alloc(const void *p, size_t n) SK__HIDDEN;
void sk__tool_mark_free(const void *p, size_t n) SK__HIDDEN;
/* Mark allocated bytes undefined again after the library filled them. */
void sk__tool_undefined(const void *p, size_t n) SK__HIDDEN;

/* Internal allocation for the library's own structures (tool-aware). */
void *sk__kzalloc_aligned(size_t size, size_t align) SK__HIDDEN;

#endif
