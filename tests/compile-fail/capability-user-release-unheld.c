/* expect: releasing pool_lock 'p->lock' that was not held */
/* compilers: clang */
/*
 * A consumer's own capability type (SK_CAPABILITY()) is checked like the
 * library's locks: releasing it twice, through the consumer's own
 * SK_RELEASES() wrapper, does not compile.  The diagnostic names the
 * capability kind the consumer gave.
 */
#include <safekern/compiler.h>

struct SK_CAPABILITY("pool_lock") pool_lock {
	int word;
};

struct pool {
	struct pool_lock lock;
	int slots_;
};

void pool_lock(struct pool_lock *l) SK_ACQUIRES(l);
void pool_unlock(struct pool_lock *l) SK_RELEASES(l);

void pool_cycle(struct pool *p);
void pool_cycle(struct pool *p)
{
	pool_lock(&p->lock);
	pool_unlock(&p->lock);
#ifdef FAIL
	pool_unlock(&p->lock);
#endif
}
