/* expect: ignoring return value of .*sk__must_check_ptr */
/* compilers: gcc */
/*
 * sk_free(kfree): a pointer taken out with sk_no_free_ptr() and dropped is
 * leaked; the result must be used.  (gcc only: clang does not diagnose a
 * discarded cast result in a macro, see docs/locking.md.)
 */
#include <stddef.h>

#include <safekern/alloc.h>

void *make(size_t n);
void *make(size_t n)
{
	char *p sk_free(kfree) = sk_kmalloc(n);

	if (!p)
		return NULL;
	p[0] = 0;
#ifdef FAIL
	sk_no_free_ptr(p);
	return NULL;
#else
	sk_return_ptr(p);
#endif
}
