/* expect: calling function 'counter_hits' requires holding mutex 'c->lock' exclusively */
/* compilers: clang */
/*
 * Touching guarded data after an sk_scoped_guard block has ended: the
 * guard released the lock there, and the analysis knows it.
 */
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

unsigned long counter_inc(struct counter *c);
unsigned long counter_inc(struct counter *c)
{
	unsigned long v = 0;

	sk_scoped_guard(mutex, &c->lock) {
		v = ++*counter_hits(c);
	}
#ifdef FAIL
	v = *counter_hits(c);
#endif
	return v;
}
