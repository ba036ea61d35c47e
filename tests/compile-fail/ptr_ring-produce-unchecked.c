/* expect: ignoring return value of .*sk__ptr_ring_produce.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
#include <safekern/ptr_ring.h>

/* A produce into a full ring fails with -ENOSPC: it must be checked. */
void submit(struct sk_ptr_ring *r, void *job);
void submit(struct sk_ptr_ring *r, void *job)
{
#ifdef FAIL
	sk_ptr_ring_produce(r, job);
#else
	if (sk_ptr_ring_produce(r, job))
		return;
#endif
}
