/* expect: calling function 'pool_slots' requires holding pool_lock 'p->lock' exclusively */
/* compilers: clang */
/*
 * A consumer's own capability type guarding data through an SK_MUST_HOLD()
 * accessor (the lock-annotated container pattern, with a lock type that is
 * not libsafekern's): calling the accessor without taking the lock does
 * not compile.  (Taking it shared only: capability-user-ok.c.)
 */
#include <safekern/compiler.h>

struct SK_CAPABILITY("pool_lock") pool_lock {
	int word;
};

struct pool {
	struct pool_lock lock;
	int slots_;	/* guarded by lock: use pool_slots() */
};

void pool_lock(struct pool_lock *l) SK_ACQUIRES(l);
void pool_unlock(struct pool_lock *l) SK_RELEASES(l);

static int *pool_slots(struct pool *p) SK_MUST_HOLD(p->lock);
static int *pool_slots(struct pool *p)
{
	return &p->slots_;
}

int pool_take(struct pool *p);
int pool_take(struct pool *p)
{
	int n;

#ifndef FAIL
	pool_lock(&p->lock);
#endif
	n = (*pool_slots(p))--;
#ifndef FAIL
	pool_unlock(&p->lock);
#endif
	return n;
}
