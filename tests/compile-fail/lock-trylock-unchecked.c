/* expect: ignoring return value of .*sk__mutex_trylock|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* The result of a trylock must be acted on. */
#include <safekern/lock.h>

SK_NO_THREAD_SAFETY_ANALYSIS void poke(struct sk_mutex *m);
SK_NO_THREAD_SAFETY_ANALYSIS void poke(struct sk_mutex *m)
{
#ifdef FAIL
	sk_mutex_trylock(m);
#else
	if (sk_mutex_trylock(m))
		sk_mutex_unlock(m);
#endif
}
