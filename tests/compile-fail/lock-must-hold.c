/* expect: calling function 'counter_hits' requires holding mutex 'c->lock' exclusively */
/* compilers: clang */
/*
 * The lock-annotated container: guarded data is reached only through an
 * accessor that requires the container's lock.  Calling it without the
 * lock does not compile.
 */
#include <safekern/lock.h>

struct counter {
	struct sk_mutex lock;
	unsigned long hits_; /* guarded by lock: use counter_hits() */
};

static unsigned long *counter_hits(struct counter *c) SK_MUST_HOLD(c->lock);
static unsigned long *counter_hits(struct counter *c)
{
	return &c->hits_;
}

void counter_inc(struct counter *c);
void counter_inc(struct counter *c)
{
#ifndef FAIL
	sk_mutex_lock(&c->lock);
#endif
	(*counter_hits(c))++;
#ifndef FAIL
	sk_mutex_unlock(&c->lock);
#endif
}
