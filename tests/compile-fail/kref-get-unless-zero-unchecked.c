/* expect: ignoring return value of .*sk__kref_get_unless_zero.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* sk_kref_get_unless_zero() may take no reference: the result must be used. */
#include <safekern/kref.h>

int lookup(struct sk_kref *k);
int lookup(struct sk_kref *k)
{
#ifdef FAIL
	sk_kref_get_unless_zero(k);
	return 1;
#else
	return sk_kref_get_unless_zero(k);
#endif
}
