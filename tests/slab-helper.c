/* SPDX-License-Identifier: MIT */
/*
 * tests/slab-helper.c - spawned by test-slab.c:
 *
 *   slab-helper flags      print the effective flags of a new cache (for
 *                          SAFEKERN_SLAB_DEBUG at load time)
 *   slab-helper memcheck   run under memcheck: leak one cache object and
 *                          one sk_kmalloc block, overflow a cache object
 *                          by one byte, write a freed one; memcheck must
 *                          report each, in the functions named below
 *   slab-helper overflow   (ASan build) overflow a cache object by one byte
 *   slab-helper uaf        (ASan build) write a freed cache object
 *
 * The misuse is deliberate; the violation policy is "count" so that the
 * library's own reports (the leak on destroy) do not stop the program.
 */
#include <stdio.h>
#include <string.h>

#include <safekern/alloc.h>
#include <safekern/slab.h>
#include <safekern/violation.h>

#define OBJ_SIZE 200

/* One cache per scenario, so that a debug cache's reuse cannot mix them. */
static struct sk_kmem_cache *cache, *ovf_cache, *uaf_cache;
static void *volatile sink;

static __attribute__((noinline)) void leak_one(void)
{
	sink = sk_kmem_cache_alloc(cache);
	sink = NULL;
}

static __attribute__((noinline)) void kmalloc_leak_one(void)
{
	sink = sk_kmalloc(333);
	sink = NULL;
}

static __attribute__((noinline)) void overflow_one(void)
{
	char *p = sk_kmem_cache_alloc(ovf_cache);

	sink = p;
	p[OBJ_SIZE] = 1; /* one byte past the object */
	sk_kmem_cache_free(ovf_cache, p);
}

static __attribute__((noinline)) void use_after_free_one(void)
{
	char *p = sk_kmem_cache_alloc(uaf_cache);

	sink = p;
	sk_kmem_cache_free(uaf_cache, p);
	p[8] = 1; /* after free */
}

/* Overwrite dead stack slots that might still hold a leaked pointer. */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char junk[4096];

	memset((char *)junk, 0, sizeof(junk));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	cache = sk_kmem_cache_create("helper", OBJ_SIZE, 0, 0, NULL);
	ovf_cache = sk_kmem_cache_create("overflow", OBJ_SIZE, 0, 0, NULL);
	uaf_cache = sk_kmem_cache_create("uaf", OBJ_SIZE, 0, 0, NULL);
	if (!cache || !ovf_cache || !uaf_cache)
		return 2;
	if (!strcmp(mode, "flags")) {
		printf("flags=%u\n", sk_kmem_cache_flags(cache));
		return sk_kmem_cache_destroy(cache) == 0 ? 0 : 3;
	}
	if (!strcmp(mode, "memcheck")) {
		leak_one();
		kmalloc_leak_one();
		overflow_one();
		use_after_free_one();
		scrub_stack();
		/* One live (leaked) object: reported, cache kept. */
		int rc = sk_kmem_cache_destroy(cache);

		printf("destroy=%d leaks=%lu\n", rc, sk_violation_count(SK_VIOLATION_ALLOC_LEAK));
		return 0;
	}
	if (!strcmp(mode, "overflow")) {
		overflow_one();
		return 0;
	}
	if (!strcmp(mode, "uaf")) {
		use_after_free_one();
		return 0;
	}
	fprintf(stderr, "slab-helper: unknown mode '%s'\n", mode);
	return 2;
}
