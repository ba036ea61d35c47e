/* expect: negative width */
/* compilers: gcc clang */
#include <safekern/compiler.h>

size_t count(void);
size_t count(void)
{
	int a[4];
	int *p = a;

	(void)p;
#ifdef FAIL
	return SK_ARRAY_SIZE(p);
#else
	return SK_ARRAY_SIZE(a);
#endif
}
