/* expect: ignoring return value of .*sk__must_check_ptr */
/* compilers: gcc */
/*
 * Taking a pointer out of an sk_free() variable and dropping it leaks it.
 * gcc only: clang does not diagnose a discarded cast of a must-check
 * result inside a macro (nor does it for the kernel's no_free_ptr()); the
 * gcc build of the tree catches it.
 */
#include <stdlib.h>

#include <safekern/cleanup.h>

SK_DEFINE_FREE(libc_free, void *, free(_T))

void *make(void);
void *make(void)
{
	char *p sk_free(libc_free) = malloc(16);

#ifdef FAIL
	sk_no_free_ptr(p);
	return NULL;
#else
	sk_return_ptr(p);
#endif
}
