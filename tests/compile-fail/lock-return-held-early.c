/* expect: mutex 'c->lock' is not held on every path through here */
/* compilers: clang */
/* Returning early with the lock held: a forgotten unlock on one path. */
#include <safekern/lock.h>

struct counter {
	struct sk_mutex lock;
	unsigned long hits_;
};

static unsigned long *counter_hits(struct counter *c) SK_MUST_HOLD(c->lock);
static unsigned long *counter_hits(struct counter *c)
{
	return &c->hits_;
}

int counter_inc_below(struct counter *c, unsigned long limit);
int counter_inc_below(struct counter *c, unsigned long limit)
{
	sk_mutex_lock(&c->lock);
	if (*counter_hits(c) >= limit) {
#ifndef FAIL
		sk_mutex_unlock(&c->lock);
#endif
		return -1;
	}
	(*counter_hits(c))++;
	sk_mutex_unlock(&c->lock);
	return 0;
}
