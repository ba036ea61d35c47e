/* expect: cannot call function 'sk__assert_not_held_mutex' while mutex 'm' is held */
/* compilers: clang */
/* sk_lockdep_assert_not_held() where the analysis knows the lock is held. */
#include <safekern/lock.h>

void callback_outside_lock(struct sk_mutex *m);
void callback_outside_lock(struct sk_mutex *m)
{
	sk_mutex_lock(m);
#ifdef FAIL
	sk_lockdep_assert_not_held(m);
#endif
	sk_mutex_unlock(m);
	sk_lockdep_assert_not_held(m);
}
