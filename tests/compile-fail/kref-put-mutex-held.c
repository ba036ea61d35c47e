/* expect: cannot call function 'sk__kref_put_mutex' while mutex 't->lock' is held */
/* compilers: clang */
/* sk_kref_put_mutex() takes the lock itself on the last put: calling it with the lock held would self-deadlock. */
#include <safekern/kref.h>

struct table {
	struct sk_mutex lock;
	int n_;
};

static int *table_n(struct table *t) SK_MUST_HOLD(t->lock);
static int *table_n(struct table *t)
{
	return &t->n_;
}

void drop(struct table *t, struct sk_kref *k, void (*release)(struct sk_kref *));
void drop(struct table *t, struct sk_kref *k, void (*release)(struct sk_kref *))
{
	sk_mutex_lock(&t->lock);
	--*table_n(t);
#ifdef FAIL
	sk_kref_put_mutex(k, release, &t->lock);
	sk_mutex_unlock(&t->lock);
#else
	sk_mutex_unlock(&t->lock);
	sk_kref_put_mutex(k, release, &t->lock);
#endif
}
