/* expect: mutex 'c->lock' is still held at the end of function */
/* compilers: clang */
/* Returning with a lock held. */
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

unsigned long counter_get(struct counter *c);
unsigned long counter_get(struct counter *c)
{
	unsigned long v;

	sk_mutex_lock(&c->lock);
	v = *counter_hits(c);
#ifndef FAIL
	sk_mutex_unlock(&c->lock);
#endif
	return v;
}
