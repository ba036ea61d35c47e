/* expect: calling function 'sk__locked_list_head' requires holding mutex 'l->lock' exclusively */
/* compilers: clang */
/*
 * safekern/locked_list.h: sk_locked_list_first_entry_or_null() without the list's lock
 * does not compile under clang -Wthread-safety -Werror.
 */
#include <safekern/locked_list.h>

struct item {
	int v;
	struct sk_list_head node;
};

int f(struct sk_locked_list *l, struct item *it, struct item *other);
int f(struct sk_locked_list *l, struct item *it, struct item *other)
{
	struct item *pos, *n;
	int r = 0;

	(void)it;
	(void)other;
	(void)pos;
	(void)n;
#ifndef FAIL
	sk_mutex_lock(&l->lock);
#endif
	r = sk_locked_list_first_entry_or_null(l, struct item, node) != NULL;
#ifndef FAIL
	sk_mutex_unlock(&l->lock);
#endif
	return r;
}
