/* expect: ignoring return value of .*sk__must_check_overflow.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
#include <stddef.h>
#include <safekern/compiler.h>

size_t total(size_t a, size_t b);
size_t total(size_t a, size_t b)
{
	size_t r = 0;
#ifdef FAIL
	sk_check_sub_overflow(a, b, &r);
#else
	if (sk_check_sub_overflow(a, b, &r))
		return 0;
#endif
	return r;
}
