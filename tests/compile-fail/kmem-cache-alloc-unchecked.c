/* expect: ignoring return value of .*sk__kmem_cache_alloc.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* An allocation whose result is dropped is a leak (or a missed NULL). */
#include <safekern/slab.h>

void *grab(struct sk_kmem_cache *c);
void *grab(struct sk_kmem_cache *c)
{
#ifdef FAIL
	sk_kmem_cache_alloc(c);
	return NULL;
#else
	return sk_kmem_cache_alloc(c);
#endif
}
