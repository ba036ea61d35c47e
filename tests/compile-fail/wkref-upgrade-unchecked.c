/* expect: ignoring return value of .*sk__wkref_upgrade.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* sk_wkref_upgrade() fails on a dead object: the result must be used. */
#include <safekern/wkref.h>

int use(struct sk_wkref *w);
int use(struct sk_wkref *w)
{
#ifdef FAIL
	sk_wkref_upgrade(w);
	return 1;
#else
	return sk_wkref_upgrade(w);
#endif
}
