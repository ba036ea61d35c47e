/* expect: ignoring return value of .*sk__refcount_dec_and_lock|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
/* The result of sk_refcount_dec_and_lock() says whether the spinlock is held: it must be used. */
#include <safekern/refcount.h>

SK_NO_THREAD_SAFETY_ANALYSIS void put(sk_refcount_t *r, struct sk_spinlock *l);
SK_NO_THREAD_SAFETY_ANALYSIS void put(sk_refcount_t *r, struct sk_spinlock *l)
{
#ifdef FAIL
	sk_refcount_dec_and_lock(r, l);
#else
	if (sk_refcount_dec_and_lock(r, l))
		sk_spin_unlock(l);
#endif
}
