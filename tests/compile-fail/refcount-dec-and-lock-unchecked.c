/* expect: ignoring return value of .*sk__refcount_dec_and_mutex_lock|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* The result of sk_refcount_dec_and_mutex_lock() says whether the lock is held: it must be used. */
#include <safekern/refcount.h>

SK_NO_THREAD_SAFETY_ANALYSIS void put(sk_refcount_t *r, struct sk_mutex *m);
SK_NO_THREAD_SAFETY_ANALYSIS void put(sk_refcount_t *r, struct sk_mutex *m)
{
#ifdef FAIL
	sk_refcount_dec_and_mutex_lock(r, m);
#else
	if (sk_refcount_dec_and_mutex_lock(r, m))
		sk_mutex_unlock(m);
#endif
}
