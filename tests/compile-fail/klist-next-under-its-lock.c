/* expect: cannot call function 'sk__klist_next' while mutex 'it.i_klist->k_lock' is held */
/* compilers: clang */
/*
 * A klist step takes the klist's lock: calling it with that lock held
 * would self-deadlock (the lock module refuses it at run time).  The
 * iterator's next, prev and exit say so to the analysis, as the add and
 * iter_init do.
 */
#include <safekern/klist.h>

int count_first(struct sk_klist *k);
int count_first(struct sk_klist *k)
{
	struct sk_klist_iter it;
	int n = 0;

	sk_klist_iter_init(k, &it);
#ifdef FAIL
	sk_mutex_lock(&it.i_klist->k_lock);
	if (sk_klist_next(&it))
		n++;
	sk_mutex_unlock(&it.i_klist->k_lock);
#else
	if (sk_klist_next(&it))
		n++;
#endif
	sk_klist_iter_exit(&it);
	return n;
}
