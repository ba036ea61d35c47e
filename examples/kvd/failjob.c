/* SPDX-License-Identifier: MIT */
/*
 * examples/kvd/failjob.c - an LD_PRELOAD shim for check-oom-reply.py: the
 * Nth allocation (KVD_FAIL_JOB=N) from the cache named "kvd-job" fails, as
 * it would out of memory.  kvd reaches sk__kmem_cache_alloc() through
 * libsafekern.so's dynamic symbol, so this definition comes first.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <safekern/slab.h>

typedef void *alloc_fn(struct sk_kmem_cache *, const struct sk_callsite *);

void *sk__kmem_cache_alloc(struct sk_kmem_cache *cache, const struct sk_callsite *cs)
{
	static alloc_fn *real;
	static int n;
	const char *nth = getenv("KVD_FAIL_JOB");

	if (!real)
		real = (alloc_fn *)dlsym(RTLD_NEXT, "sk__kmem_cache_alloc");
	if (nth && !strcmp(sk_kmem_cache_name(cache), "kvd-job") &&
	    __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED) == atoi(nth))
		return NULL;
	return real(cache, cs);
}
