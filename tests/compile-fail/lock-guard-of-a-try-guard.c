/* expect: a conditional guard would leave the scope unlocked */
/* compilers: gcc clang */
/*
 * sk_guard() of a conditional (_try) guard: when the trylock failed, the
 * rest of the scope ran without the lock, and nothing said so (the
 * analysis took the lock as held).  It does not compile; the scoped forms
 * are the way to use a trylock guard.
 */
#include <errno.h>

#include <safekern/lock.h>

int poke(struct sk_mutex *m, int *v);
int poke(struct sk_mutex *m, int *v)
{
#ifdef FAIL
	sk_guard(mutex_try)(m);
	(*v)++;
	return 0;
#else
	sk_scoped_cond_guard(mutex_try, return -EBUSY, m) {
		(*v)++;
	}
	return 0;
#endif
}
