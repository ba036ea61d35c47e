/* expect: 'l' is (still held at the end of function|not held on every path through here) */
/* compilers: clang */
/* sk_refcount_dec_and_lock() returned true: the spinlock is held and must be unlocked. */
#include <stdlib.h>

#include <safekern/refcount.h>

void put(sk_refcount_t *r, struct sk_spinlock *l, void *obj);
void put(sk_refcount_t *r, struct sk_spinlock *l, void *obj)
{
	if (!sk_refcount_dec_and_lock(r, l))
		return;
	free(obj);
#ifndef FAIL
	sk_spin_unlock(l);
#endif
}
