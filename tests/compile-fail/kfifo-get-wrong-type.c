/* expect: incompatible pointer type|incompatible-pointer-types */
/* compilers: gcc clang */
#include <safekern/kfifo.h>

/* get and out take a pointer to the element type: no silent truncation. */
static SK_DEFINE_KFIFO(ints, int, 8);

long take(void);
long take(void)
{
#ifdef FAIL
	long v = 0;
#else
	int v = 0;
#endif
	if (!sk_kfifo_get(&ints, &v))
		return -1;
	return v;
}
