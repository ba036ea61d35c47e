/* expect: releasing mutex 'm' that was not held */
/* compilers: clang */
/* sk_refcount_dec_and_mutex_lock() returned false: the mutex is not held. */
#include <safekern/refcount.h>

void put(sk_refcount_t *r, struct sk_mutex *m);
void put(sk_refcount_t *r, struct sk_mutex *m)
{
	if (sk_refcount_dec_and_mutex_lock(r, m)) {
		sk_mutex_unlock(m);
		return;
	}
#ifdef FAIL
	sk_mutex_unlock(m);
#endif
}
