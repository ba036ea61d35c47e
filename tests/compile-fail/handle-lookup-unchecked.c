/* expect: ignoring return value of .sk__handle_lookup.|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/*
 * A lookup's result must be checked: it is NULL when the handle was
 * refused, and ignoring it also leaks the reference it took.
 */
#include <safekern/handle.h>

int use(struct sk_handle_table *t, sk_handle_t h);
int use(struct sk_handle_table *t, sk_handle_t h)
{
#ifdef FAIL
	sk_handle_lookup(t, h);
#else
	if (!sk_handle_lookup(t, h))
		return -1;
#endif
	sk_handle_put(t, h);
	return 0;
}
