/* expect: ignoring return value of .*sk__refcount_dec_and_test.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* The result of sk_refcount_dec_and_test() decides the free: it must be used. */
#include <safekern/refcount.h>

void put(sk_refcount_t *r, void (*free_it)(sk_refcount_t *));
void put(sk_refcount_t *r, void (*free_it)(sk_refcount_t *))
{
#ifdef FAIL
	sk_refcount_dec_and_test(r);
#else
	if (sk_refcount_dec_and_test(r))
		free_it(r);
#endif
}
