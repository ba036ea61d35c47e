/* expect: releasing (mutex|spinlock) '.*' that was not held */
/* compilers: clang */
/* Releasing a lock that is not held (a double unlock). */
#include <safekern/lock.h>

void twice(struct sk_spinlock *l);
void twice(struct sk_spinlock *l)
{
	sk_spin_lock(l);
	sk_spin_unlock(l);
#ifdef FAIL
	sk_spin_unlock(l);
#endif
}
