/* expect: calling function 'pool_slots' requires holding pool_lock 'p->lock' exclusively */
/* compilers: clang */
/*
 * Compile-ok: a consumer's own lock type, declared a capability with
 * SK_CAPABILITY() and wrapped in functions carrying every other
 * annotation macro of safekern/compiler.h, used correctly, builds without
 * a warning under clang -Wthread-safety -Wthread-safety-beta -Werror.
 * Each annotation is needed for that: without it the analysis would lose
 * track of the lock somewhere below.  With FAIL: a write through an
 * accessor that needs the lock exclusively, while it is held shared.
 */
#include <safekern/compiler.h>
#include <safekern/lock.h>

/* A reader-writer lock of the consumer's own, built on sk_rwlock. */
struct SK_CAPABILITY("pool_lock") pool_lock {
	struct sk_rwlock rw;
	int writer;	/* written only by the writer: pool_unlock_any() reads it */
};

struct pool {
	struct pool_lock lock;
	int slots_;	/* guarded by lock: use pool_slots() */
};

void pool_lock(struct pool_lock *l) SK_ACQUIRES(l);
void pool_lock_shared(struct pool_lock *l) SK_ACQUIRES_SHARED(l);
void pool_unlock(struct pool_lock *l) SK_RELEASES(l);
void pool_unlock_shared(struct pool_lock *l) SK_RELEASES_SHARED(l);
void pool_unlock_any(struct pool_lock *l) SK_RELEASES_GENERIC(l);
int pool_trylock(struct pool_lock *l) SK_TRY_ACQUIRES(1, l);
int pool_trylock_shared(struct pool_lock *l) SK_TRY_ACQUIRES_SHARED(1, l);
void pool_assert_held(struct pool_lock *l) SK_ASSERT_HELD(l);
void pool_assert_held_shared(struct pool_lock *l) SK_ASSERT_HELD_SHARED(l);
struct pool_lock *pool_lock_of(struct pool *p) SK_RETURNS_CAPABILITY(&p->lock);

static int *pool_slots(struct pool *p) SK_MUST_HOLD(p->lock);
static const int *pool_slots_ro(struct pool *p) SK_MUST_HOLD_SHARED(p->lock);

/*
 * The wrappers themselves: the analysis cannot tell that taking l->rw is
 * taking l, so their bodies are not analysed (as lib/lock.c's are not).
 */
SK_NO_THREAD_SAFETY_ANALYSIS void pool_lock(struct pool_lock *l)
{
	sk_write_lock(&l->rw);
	l->writer = 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_lock_shared(struct pool_lock *l)
{
	sk_read_lock(&l->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_unlock(struct pool_lock *l)
{
	l->writer = 0;
	sk_write_unlock(&l->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_unlock_shared(struct pool_lock *l)
{
	sk_read_unlock(&l->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_unlock_any(struct pool_lock *l)
{
	if (l->writer)
		pool_unlock(l);
	else
		pool_unlock_shared(l);
}

SK_NO_THREAD_SAFETY_ANALYSIS int pool_trylock(struct pool_lock *l)
{
	if (!sk_write_trylock(&l->rw))
		return 0;
	l->writer = 1;
	return 1;
}

SK_NO_THREAD_SAFETY_ANALYSIS int pool_trylock_shared(struct pool_lock *l)
{
	return sk_read_trylock(&l->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_assert_held(struct pool_lock *l)
{
	sk_lockdep_assert_held_write(&l->rw);
}

SK_NO_THREAD_SAFETY_ANALYSIS void pool_assert_held_shared(struct pool_lock *l)
{
	sk_lockdep_assert_held_read(&l->rw);
}

struct pool_lock *pool_lock_of(struct pool *p)
{
	return &p->lock;
}

static int *pool_slots(struct pool *p)
{
	return &p->slots_;
}

static const int *pool_slots_ro(struct pool *p)
{
	return &p->slots_;
}

/* Users of the wrappers: all analysed. */

int pool_take(struct pool *p);
int pool_take(struct pool *p)
{
	int n;

	pool_lock(&p->lock);
	n = (*pool_slots(p))--;
	pool_unlock(&p->lock);
	return n;
}

int pool_peek(struct pool *p);
int pool_peek(struct pool *p)
{
	int n;

	pool_lock_shared(&p->lock);
	n = *pool_slots_ro(p);
	pool_unlock_shared(&p->lock);
	return n;
}

int pool_try_take(struct pool *p);
int pool_try_take(struct pool *p)
{
	int n;

	if (!pool_trylock(&p->lock))
		return -1;
	n = (*pool_slots(p))--;
	pool_unlock(&p->lock);
	return n;
}

int pool_try_peek(struct pool *p);
int pool_try_peek(struct pool *p)
{
	int n;

	if (!pool_trylock_shared(&p->lock))
		return -1;
	n = *pool_slots_ro(p);
	pool_unlock_shared(&p->lock);
	return n;
}

/* One release for either mode. */
int pool_take_release_any(struct pool *p);
int pool_take_release_any(struct pool *p)
{
	int n;

	pool_lock(&p->lock);
	n = (*pool_slots(p))--;
	pool_unlock_any(&p->lock);
	return n;
}

int pool_peek_release_any(struct pool *p);
int pool_peek_release_any(struct pool *p)
{
	int n;

	pool_lock_shared(&p->lock);
	n = *pool_slots_ro(p);
	pool_unlock_any(&p->lock);
	return n;
}

/* Called with the lock held by a caller the analysis cannot see (a callback). */
int pool_take_held(struct pool *p);
int pool_take_held(struct pool *p)
{
	pool_assert_held(&p->lock);
	return (*pool_slots(p))--;
}

int pool_peek_held(struct pool *p);
int pool_peek_held(struct pool *p)
{
	pool_assert_held_shared(&p->lock);
	return *pool_slots_ro(p);
}

/* The lock reached through a function: the analysis knows which it is. */
int pool_take_via(struct pool *p);
int pool_take_via(struct pool *p)
{
	int n;

	pool_lock(pool_lock_of(p));
	n = (*pool_slots(p))--;
	pool_unlock(pool_lock_of(p));
	return n;
}

int pool_write_while_shared(struct pool *p);
int pool_write_while_shared(struct pool *p)
{
	int n;

	pool_lock_shared(&p->lock);
	n = *pool_slots_ro(p);
#ifdef FAIL
	*pool_slots(p) = n + 1;
#endif
	pool_unlock_shared(&p->lock);
	return n;
}
