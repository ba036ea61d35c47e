/* expect: calling function 'table_set' requires holding rwlock 't->lock' exclusively */
/* compilers: clang */
/* Writing guarded data under the read side of an rwlock. */
#include <safekern/lock.h>

struct table {
	struct sk_rwlock lock;
	int slots_[16];
};

static int table_get(struct table *t, int i) SK_MUST_HOLD_SHARED(t->lock);
static int table_get(struct table *t, int i)
{
	return t->slots_[i & 15];
}

static void table_set(struct table *t, int i, int v) SK_MUST_HOLD(t->lock);
static void table_set(struct table *t, int i, int v)
{
	t->slots_[i & 15] = v;
}

int table_bump(struct table *t, int i);
int table_bump(struct table *t, int i)
{
	int v;

#ifdef FAIL
	sk_scoped_guard(read_lock, &t->lock) {
#else
	sk_scoped_guard(write_lock, &t->lock) {
#endif
		v = table_get(t, i) + 1;
		table_set(t, i, v);
	}
	return v;
}
