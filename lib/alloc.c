/* SPDX-License-Identifier: MIT */
/*
 * lib/alloc.c - the kmalloc family on jemalloc (or libc), and tool mode:
 * describing every block to memcheck and AddressSanitizer.
 *
 * See alloc-internal.h for the block layouts.  The plain path is the
 * allocator's own fast path plus one predicted branch; everything that
 * tool mode adds lives behind that branch.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef SK_ALLOC_LIBC
#include <jemalloc/jemalloc.h>
#endif

#ifdef SK_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#endif

#include <safekern/alloc.h>
#include <safekern/violation.h>

#include "alloc-internal.h"
#include "violation-internal.h"

#ifdef SK__ALLOC_ASAN
#include <sanitizer/asan_interface.h>
#endif

static unsigned long overflows;
static bool be_fast;

void *sk__alloc_overflowed(void)
{
	__atomic_add_fetch(&overflows, 1, __ATOMIC_RELAXED);
	errno = EOVERFLOW;
	return NULL;
}

static void *enomem(void)
{
	errno = ENOMEM;
	return NULL;
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ------------------------------------------------------------------------
 * Raw backend: two families of entry points, each self-consistent
 *
 * A block is always released through the family that allocated it.  The
 * plain-mode family (sk__be) is the fastest one available; tool mode uses
 * tool_be, jemalloc's mallocx family, which Valgrind never redirects, so
 * that memcheck watches the real allocator (Valgrind replaces any
 * library's malloc/free/calloc/realloc/aligned_alloc with its own).
 * ------------------------------------------------------------------------ */

#ifdef SK_ALLOC_LIBC

static void *libc_aligned_alloc(size_t align, size_t size)
{
	return aligned_alloc(align, size);
}

struct sk__backend sk__be = { malloc, free, calloc, realloc, libc_aligned_alloc };
static const struct sk__backend tool_be = { malloc, free, calloc, realloc, libc_aligned_alloc };

static void backend_init(void)
{
}

#else /* jemalloc */

/* The mallocx family with malloc's contract: any size, errno on failure. */
static void *jx_ret(void *p)
{
	if (!p)
		errno = ENOMEM;
	return p;
}

static void *jx_malloc(size_t size)
{
	/* mallocx(0) is undefined in jemalloc: ask for one byte. */
	return jx_ret(mallocx(size ? size : 1, 0));
}

static void jx_free(void *p)
{
	if (p)
		dallocx(p, 0);
}

static void *jx_calloc(size_t n, size_t size)
{
	size_t bytes;

	if (sk_check_mul_overflow(n, size, &bytes))
		return jx_ret(NULL);
	return jx_ret(mallocx(bytes ? bytes : 1, MALLOCX_ZERO));
}

static void *jx_realloc(void *p, size_t size)
{
	return jx_ret(p ? rallocx(p, size ? size : 1, 0) : mallocx(size ? size : 1, 0));
}

static void *jx_aligned_alloc(size_t align, size_t size)
{
	return jx_ret(mallocx(size ? size : 1, MALLOCX_ALIGN(align)));
}

/* Until backend_init() finds jemalloc's fast entry points: the mallocx family. */
struct sk__backend sk__be = { jx_malloc, jx_free, jx_calloc, jx_realloc, jx_aligned_alloc };
static const struct sk__backend tool_be = { jx_malloc, jx_free, jx_calloc, jx_realloc,
					    jx_aligned_alloc };

/*
 * jemalloc 5.3 has a fast path only in malloc() and free() (and in
 * sdallocx() for pointers that are not page-aligned): mallocx() always
 * runs the general path, about 100 instructions against 35.  Its
 * malloc/free are unreachable by name when glibc's come first in the
 * symbol search order, so look the standard entry points up in the very
 * object that defines mallocx, and use them only if they all come from
 * that object: then they are jemalloc's, whatever the process's malloc
 * is.  (Valgrind's tools redirect them to their own heap; that is fine,
 * since the plain mode uses this family alone.)
 */
static void backend_init(void)
{
	static const char *const names[] = { "malloc", "free", "calloc", "realloc",
					     "aligned_alloc" };
	void *fn[SK_ARRAY_SIZE(names)];
	Dl_info xi, fi;
	void *h;
	bool ok = true;

	if (getenv("SAFEKERN_ALLOC_MALLOCX"))
		return; /* documented: force the mallocx family (for measurements) */
	if (!dladdr((void *)&mallocx, &xi) || !xi.dli_fname)
		return;
	h = dlopen(xi.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	/* jemalloc linked statically into the program: search from the program. */
	if (!h)
		h = dlopen(NULL, RTLD_LAZY);
	if (!h)
		return;
	for (size_t i = 0; i < SK_ARRAY_SIZE(names); i++) {
		fn[i] = dlsym(h, names[i]);
		if (!fn[i] || !dladdr(fn[i], &fi) || fi.dli_fbase != xi.dli_fbase)
			ok = false;
	}
	if (ok) {
		sk__be.malloc = (void *(*)(size_t))(uintptr_t)fn[0];
		sk__be.free = (void (*)(void *))(uintptr_t)fn[1];
		sk__be.calloc = (void *(*)(size_t, size_t))(uintptr_t)fn[2];
		sk__be.realloc = (void *(*)(void *, size_t))(uintptr_t)fn[3];
		sk__be.aligned_alloc = (void *(*)(size_t, size_t))(uintptr_t)fn[4];
		be_fast = true;
	}
	dlclose(h);
}

#endif

bool sk__be_fast(void)
{
	return be_fast;
}

static const struct sk__backend *family(void)
{
	return sk__alloc_mode() == SK__MODE_TOOL ? &tool_be : &sk__be;
}

void *sk__raw_alloc(size_t size, size_t align)
{
	const struct sk__backend *be = family();

	if (align <= 16) {
		/* jemalloc's classes below 16 bytes are only 8-aligned. */
		if (align == 16 && size < 16)
			size = 16;
		return be->malloc(size ? size : 1);
	}
	if (size > SIZE_MAX - align)
		return NULL;
	return be->aligned_alloc(align, round_up(size ? size : 1, align));
}

void *sk__raw_zalloc(size_t size, size_t align)
{
	const struct sk__backend *be = family();
	void *p;

	if (align <= 16) {
		if (align == 16 && size < 16)
			size = 16;
		return be->calloc(1, size ? size : 1);
	}
	p = sk__raw_alloc(size, align);
	if (p)
		memset(p, 0, size);
	return p;
}

void sk__raw_free(void *p)
{
	family()->free(p);
}

/* ------------------------------------------------------------------------
 * Mode: plain, or tool mode for memcheck / ASan
 * ------------------------------------------------------------------------ */

int sk__alloc_mode_word;
static pthread_once_t mode_once = PTHREAD_ONCE_INIT;

static bool under_memcheck(void)
{
#ifdef SK_HAVE_VALGRIND
	static const char probe = 1;
	char vbits;

	/* 1 only from memcheck: other tools (callgrind, helgrind) return 0. */
	return RUNNING_ON_VALGRIND && VALGRIND_GET_VBITS(&probe, &vbits, 1) == 1;
#else
	return false;
#endif
}

static void mode_decide(void)
{
	int m = SK__MODE_PLAIN;

	backend_init();
#ifdef SK__ALLOC_ASAN
	m = SK__MODE_TOOL;
#endif
	if (under_memcheck())
		m = SK__MODE_TOOL;
	__atomic_store_n(&sk__alloc_mode_word, m, __ATOMIC_RELEASE);
}

int sk__alloc_mode_init(void)
{
	pthread_once(&mode_once, mode_decide);
	return __atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE);
}

__attribute__((constructor)) static void alloc_init(void)
{
	(void)sk__alloc_mode_init();
}

/* ------------------------------------------------------------------------
 * Tool requests (no-ops outside tool mode: plain mode under helgrind or
 * drd must not describe blocks the tool already knows from its malloc)
 * ------------------------------------------------------------------------ */

static bool tool_on(void)
{
	return sk__alloc_mode() == SK__MODE_TOOL;
}

void sk__tool_open(const void *p, size_t n)
{
	if (!tool_on())
		return;
#ifdef SK_HAVE_VALGRIND
	VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
#ifdef SK__ALLOC_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
	(void)p, (void)n;
}

void sk__tool_close(const void *p, size_t n)
{
	if (!tool_on())
		return;
#ifdef SK_HAVE_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
#ifdef SK__ALLOC_ASAN
	ASAN_POISON_MEMORY_REGION(p, n);
#endif
	(void)p, (void)n;
}

void sk__tool_mark_alloc(const void *p, size_t n)
{
	if (!tool_on())
		return;
#ifdef SK_HAVE_VALGRIND
	VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, 0);
#endif
#ifdef SK__ALLOC_ASAN
	ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
	(void)p, (void)n;
}

void sk__tool_mark_free(const void *p, size_t n)
{
	if (!tool_on())
		return;
#ifdef SK_HAVE_VALGRIND
	VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
#ifdef SK__ALLOC_ASAN
	ASAN_POISON_MEMORY_REGION(p, n);
#endif
	(void)p, (void)n;
}

void sk__tool_undefined(const void *p, size_t n)
{
	if (!tool_on())
		return;
#ifdef SK_HAVE_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(p, n);
#endif
	(void)p, (void)n;
}

/*
 * Whether the bytes before a pointer are hidden from the tool, as every
 * tool-mode header is.  A pointer that did not come from this layer has
 * ordinary memory there (another variable, the inside of a block): the
 * library must neither trust nor re-protect it.  Every tool-mode object is
 * 16-aligned and its whole header no-access; probing each 8-byte granule
 * and the last byte tells a header from memory that is only partly hidden.
 */
#if !defined(SK__ALLOC_ASAN) && defined(SK_HAVE_VALGRIND)
/* Whether the pages of [p, p + n) are mapped (mincore() fails with ENOMEM
 * on a hole). */
static bool mapped(const void *p, size_t n)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(page - 1);
	unsigned char vec[4];

	if ((uintptr_t)p + n - start > sizeof(vec) * page)
		return false;
	return mincore((void *)start, (uintptr_t)p + n - start, vec) == 0;
}
#endif

static bool header_hidden(const void *h, size_t n)
{
	const char *b = h;

	if ((uintptr_t)h % 16)
		return false;
#if defined(SK__ALLOC_ASAN)
	for (size_t i = 0; i < n; i += 8)
		if (!__asan_address_is_poisoned(b + i))
			return false;
	return __asan_address_is_poisoned(b + n - 1);
#elif defined(SK_HAVE_VALGRIND)
	char vbits;

	/* GET_VBITS returns 3, reporting nothing, when a byte is not
	 * addressable: a header, or memory that is not mapped at all (the
	 * start of an mmap()ed buffer), which reading would fault on. */
	for (size_t i = 0; i < n; i += 8)
		if (VALGRIND_GET_VBITS(b + i, &vbits, 1) != 3)
			return false;
	return VALGRIND_GET_VBITS(b + n - 1, &vbits, 1) == 3 && mapped(b, n);
#else
	(void)b, (void)n;
	return true;
#endif
}

/* ------------------------------------------------------------------------
 * Tool-mode blocks
 * ------------------------------------------------------------------------ */

const char sk__kmalloc_owner[] = "sk_kmalloc";

size_t sk__tb_lead(size_t align)
{
	size_t lead = round_up(sizeof(struct sk__tb_hdr), 16);

	return align > lead ? align : round_up(lead, align ? align : 1);
}

size_t sk__tb_tail(size_t size, size_t min_tail)
{
	return min_tail + (round_up(size, 8) - size);
}

void *sk__tb_alloc(size_t size, size_t align, size_t min_tail, const void *owner, bool zero)
{
	size_t lead = sk__tb_lead(align);
	size_t tail, total;
	struct sk__tb_hdr *h;
	char *region, *obj;

	if (size > SIZE_MAX / 2 - lead - min_tail)
		return enomem();
	tail = sk__tb_tail(size, min_tail);
	total = lead + size + tail;
	region = sk__raw_alloc(total, align > 16 ? align : 16);
	if (!region)
		return enomem();
	obj = region + lead;
	h = (struct sk__tb_hdr *)(void *)obj - 1;

	/* Whatever the region was before, it is ours now: hide all of it. */
	sk__tool_close(region, total);
	sk__tool_open(h, sizeof(*h));
	h->size = size;
	h->total = total;
	h->owner = owner;
	h->lead = (uint32_t)lead;
	h->state = SK__TB_LIVE;
	sk__tool_close(h, sizeof(*h));

	sk__tool_mark_alloc(obj, size);
	if (zero)
		memset(obj, 0, size);
	return obj;
}

void sk__tb_read(const void *obj, struct sk__tb_hdr *out)
{
	const struct sk__tb_hdr *h = (const struct sk__tb_hdr *)obj - 1;

	if (!header_hidden(h, sizeof(*h))) {
		memset(out, 0, sizeof(*out));
		return;
	}
	sk__tool_open(h, sizeof(*h));
	memcpy(out, h, sizeof(*out));
	sk__tool_close(h, sizeof(*h));
}

void sk__tb_set_state(const void *obj, uint32_t state)
{
	struct sk__tb_hdr *h = (struct sk__tb_hdr *)(uintptr_t)obj - 1;

	sk__tool_open(h, sizeof(*h));
	h->state = state;
	sk__tool_close(h, sizeof(*h));
}

/*
 * The tool quarantine: freed tool-mode regions wait here, no-access, before
 * they go back to the allocator, so that a use after free touches memory
 * the tool knows is freed (memcheck keeps its own 20 MB queue for malloc;
 * ASan 256 MB).  FIFO, bounded in slots and bytes (the newest block is
 * kept even beyond the bytes).
 */
#define TQ_SLOTS 8192
#define TQ_BYTES ((size_t)16 << 20)

static struct tq_slot {
	void *region;
	size_t total;
} tq[TQ_SLOTS];
static size_t tq_head, tq_count, tq_bytes;
static pthread_mutex_t tq_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Give a tool-mode region back to the allocator, accessible again: the
 * allocator may reuse the memory for its own metadata (a new thread's
 * cache, say), which the tool must not then report as a use after free.
 */
static void tb_give_back(void *region, size_t total)
{
#ifdef SK_HAVE_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(region, total);
#endif
#ifdef SK__ALLOC_ASAN
	ASAN_UNPOISON_MEMORY_REGION(region, total);
#endif
	(void)total;
	sk__raw_free(region);
}

void sk__tb_release(const void *obj, const struct sk__tb_hdr *h)
{
	tb_give_back((char *)(uintptr_t)obj - h->lead, h->total);
}

void sk__tb_free(const void *obj, const struct sk__tb_hdr *h)
{
	void *region = (char *)(uintptr_t)obj - h->lead;

	sk__tool_mark_free(obj, h->size + sk__tb_tail(h->size, 0));
	sk__tb_set_state(obj, SK__TB_FREE);
	/*
	 * Every block waits, however large: one given back at once lost its
	 * FREE header to the allocator, and a second free of it was refused
	 * as a foreign pointer, or went through unreported once the memory
	 * was handed out again.  A block larger than the quarantine waits
	 * alone, until the next free.
	 */
	pthread_mutex_lock(&tq_lock);
	while (tq_count && (tq_count == TQ_SLOTS || tq_bytes + h->total > TQ_BYTES)) {
		struct tq_slot *old = &tq[tq_head];

		tb_give_back(old->region, old->total);
		tq_bytes -= old->total;
		tq_head = (tq_head + 1) % TQ_SLOTS;
		tq_count--;
	}
	tq[(tq_head + tq_count) % TQ_SLOTS] = (struct tq_slot){ region, h->total };
	tq_count++;
	tq_bytes += h->total;
	pthread_mutex_unlock(&tq_lock);
}

/*
 * Validate a block handed to the kmalloc family's free in tool mode.
 * Returns true if it may be freed; otherwise reports (one violation) and
 * the caller refuses the operation.
 */
static bool tb_check_kmalloc(const void *p, struct sk__tb_hdr *h, const char *fn, const void *ip)
{
	sk__tb_read(p, h);
	if (sk_likely(h->state == SK__TB_LIVE && h->owner == sk__kmalloc_owner))
		return true;
	if (h->state == SK__TB_FREE && h->owner == sk__kmalloc_owner)
		sk__violation(SK_VIOLATION_ALLOC_DOUBLE_FREE, p, NULL, ip,
			      "%s(%p): block already freed; refused", fn, p);
	else if (h->state == SK__TB_LIVE || h->state == SK__TB_FREE)
		sk__violation(SK_VIOLATION_ALLOC_WRONG_CACHE, p, NULL, ip,
			      "%s(%p): object of a kmem_cache, free it to its cache; refused", fn,
			      p);
	else
		sk__violation(SK_VIOLATION_ALLOC_WRONG_CACHE, p, NULL, ip,
			      "%s(%p): not allocated by sk_kmalloc; refused", fn, p);
	return false;
}

void *sk__kzalloc_aligned(size_t size, size_t align)
{
	if (sk__alloc_mode() == SK__MODE_TOOL)
		return sk__tb_alloc(size, align, SK__TB_TAIL, sk__kmalloc_owner, true);
	return sk__raw_zalloc(size, align);
}

/* ------------------------------------------------------------------------
 * The kmalloc family
 * ------------------------------------------------------------------------ */

/*
 * The plain path is a mode test and a tail call into the allocator (whose
 * entry points set errno on failure and take 0 bytes); everything else is
 * out of line.  An unset mode (first call) takes the slow path too.
 */
static SK_NOINLINE void *kmalloc_slow(size_t size, bool zero)
{
	if (sk__alloc_mode() == SK__MODE_TOOL)
		return sk__tb_alloc(size, 0, SK__TB_TAIL, sk__kmalloc_owner, zero);
	return zero ? sk_kzalloc(size) : sk_kmalloc(size);
}

void *sk_kmalloc(size_t size)
{
	if (sk_unlikely(__atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE) != SK__MODE_PLAIN))
		return kmalloc_slow(size, false);
	return sk__be.malloc(size);
}

void *sk_kzalloc(size_t size)
{
	void *p;

	if (sk_unlikely(__atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE) != SK__MODE_PLAIN))
		return kmalloc_slow(size, true);
	/* Small blocks: the fast path and a memset beat a zeroing calloc. */
	if (size > 1024)
		return sk__be.calloc(1, size);
	p = sk__be.malloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *sk_kmalloc_array(size_t n, size_t size)
{
	size_t bytes;

	if (sk_check_mul_overflow(n, size, &bytes))
		return sk__alloc_overflowed();
	return sk_kmalloc(bytes);
}

void *sk_kcalloc(size_t n, size_t size)
{
	size_t bytes;

	if (sk_check_mul_overflow(n, size, &bytes))
		return sk__alloc_overflowed();
	return sk_kzalloc(bytes);
}

static void *tool_realloc(void *p, size_t bytes, const void *ip)
{
	struct sk__tb_hdr h;
	void *q;

	if (!p)
		return sk__tb_alloc(bytes, 0, SK__TB_TAIL, sk__kmalloc_owner, false);
	if (!tb_check_kmalloc(p, &h, "sk_krealloc_array", ip)) {
		errno = EINVAL;
		return NULL;
	}
	q = sk__tb_alloc(bytes, 0, SK__TB_TAIL, sk__kmalloc_owner, false);
	if (!q)
		return NULL;
	memcpy(q, p, h.size < bytes ? h.size : bytes);
	sk__tb_free(p, &h);
	return q;
}

void *sk_krealloc_array(void *p, size_t new_n, size_t size)
{
	size_t bytes;
	void *q;

	if (sk_check_mul_overflow(new_n, size, &bytes))
		return sk__alloc_overflowed();
	if (sk_unlikely(sk__alloc_mode() != SK__MODE_PLAIN))
		return tool_realloc(p, bytes, SK__RET_IP);
	q = sk__be.realloc(p, bytes ? bytes : 1);
	return q;
}

static SK_NOINLINE void kfree_slow(const void *p, size_t size, bool sized, const void *ip)
{
	struct sk__tb_hdr h;

	if (!p)
		return;
	if (sk__alloc_mode() != SK__MODE_TOOL) {
		sk__be.free((void *)(uintptr_t)p);
		return;
	}
	if (!tb_check_kmalloc(p, &h, sized ? "sk_kfree_sized" : "sk_kfree", ip))
		return;
	if (sized && sk_unlikely(size != h.size))
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, p, NULL, ip,
			      "sk_kfree_sized(%p, %zu): block was allocated with %zu bytes; "
			      "freed with the recorded size",
			      p, size, h.size);
	sk__tb_free(p, &h);
}

/*
 * Plain mode: the allocator's own free takes NULL.  jemalloc 5.3's free()
 * is as fast as its sdallocx() at best, and does not leave its fast path
 * for page-aligned objects as sdallocx() does, so the size only serves
 * the checks of tool mode.
 */
void sk_kfree(const void *p)
{
	if (sk_unlikely(__atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE) != SK__MODE_PLAIN)) {
		kfree_slow(p, 0, false, SK__RET_IP);
		return;
	}
	sk__be.free((void *)(uintptr_t)p);
}

void sk_kfree_sized(const void *p, size_t size)
{
	if (sk_unlikely(__atomic_load_n(&sk__alloc_mode_word, __ATOMIC_ACQUIRE) != SK__MODE_PLAIN)) {
		kfree_slow(p, size, true, SK__RET_IP);
		return;
	}
	sk__be.free((void *)(uintptr_t)p);
}

unsigned long sk_kmalloc_overflows(void)
{
	return __atomic_load_n(&overflows, __ATOMIC_RELAXED);
}
