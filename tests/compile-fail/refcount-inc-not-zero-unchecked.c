/* expect: ignoring return value of .*sk__refcount_inc_not_zero.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* sk_refcount_inc_not_zero() may take no reference: the result must be used. */
#include <safekern/refcount.h>

int lookup(sk_refcount_t *r);
int lookup(sk_refcount_t *r)
{
#ifdef FAIL
	sk_refcount_inc_not_zero(r);
	return 1;
#else
	return sk_refcount_inc_not_zero(r);
#endif
}
