/* expect: calling function 'sk__locked_list_len' requires holding mutex 'l->lock' exclusively */
/* compilers: clang */
/*
 * Compile-ok: every locked-list operation in correct use (sk_mutex_lock,
 * sk_guard, sk_scoped_guard, trylock, a function annotated SK_MUST_HOLD,
 * RCU readers without the lock) builds without a warning under clang
 * -Wthread-safety -Wthread-safety-beta -Werror (tests/test-locked_list.c
 * builds the same patterns with gcc too).  With FAIL: the count read
 * after the sk_scoped_guard() block has released the lock is reported.
 */
#include <errno.h>

#include <urcu.h>

#include <safekern/rculist.h>

struct item {
	int v;
	struct sk_list_head node;
	struct sk_rcu_head rcu;
};

/* A helper that must be called with the lock: clang checks its callers. */
static int sum_locked(struct sk_locked_list *l) SK_MUST_HOLD(l->lock);
static int sum_locked(struct sk_locked_list *l)
{
	struct item *pos;
	int s = 0;

	sk_locked_list_for_each_entry(pos, l, node)
		s += pos->v;
	return s;
}

int plain_ops(struct sk_locked_list *l, struct item *a, struct item *b);
int plain_ops(struct sk_locked_list *l, struct item *a, struct item *b)
{
	struct item *pos, *n, *first;
	int r;

	sk_mutex_lock(&l->lock);
	sk_locked_list_add(&a->node, l);
	sk_locked_list_add_tail(&b->node, l);
	sk_locked_list_move(&b->node, l);
	sk_locked_list_move_tail(&b->node, l);
	first = sk_locked_list_first_entry_or_null(l, struct item, node);
	r = first ? first->v : 0;
	r += (int)sk_locked_list_len(l) + sk_locked_list_empty(l);
	r += sk_list_is_singular(sk_locked_list_head(l));
	r += sum_locked(l);
	sk_locked_list_del_init(&b->node, l);
	sk_locked_list_for_each_entry_safe(pos, n, l, node)
		sk_locked_list_del(&pos->node, l);
	sk_mutex_unlock(&l->lock);
	return r;
}

int guarded_ops(struct sk_locked_list *l, struct item *a);
int guarded_ops(struct sk_locked_list *l, struct item *a)
{
	int r = 0;

	sk_scoped_guard(mutex, &l->lock) {
		sk_locked_list_add(&a->node, l);
		r += (int)sk_locked_list_len(l);
	}
	if (sk_mutex_trylock(&l->lock)) {
		sk_locked_list_del(&a->node, l);
		sk_mutex_unlock(&l->lock);
	}
#ifdef FAIL
	r += (int)sk_locked_list_len(l);
#endif
	return r;
}

int guard_to_end(struct sk_locked_list *l);
int guard_to_end(struct sk_locked_list *l)
{
	sk_guard(mutex)(&l->lock);

	if (sk_locked_list_empty(l))
		return -ENOENT;
	return sum_locked(l);
}

/* Writers under the lock, readers in an RCU read-side critical section. */
int rcu_ops(struct sk_locked_list *l, struct item *a, struct item *b, struct item *c);
int rcu_ops(struct sk_locked_list *l, struct item *a, struct item *b, struct item *c)
{
	struct item *pos;
	int r = 0;

	sk_scoped_guard(mutex, &l->lock) {
		sk_locked_list_add_rcu(&a->node, l);
		sk_locked_list_add_tail_rcu(&b->node, l);
	}
	sk_rcu_read_lock();
	sk_locked_list_for_each_entry_rcu(pos, l, node)
		r += pos->v;
	pos = sk_locked_list_first_or_null_rcu(l, struct item, node);
	r += pos ? pos->v : 0;
	sk_rcu_read_unlock();
	sk_scoped_guard(mutex, &l->lock) {
		sk_locked_list_replace_rcu(&a->node, &c->node, l);
		sk_locked_list_del_rcu(&b->node, l);
	}
	sk_kfree_rcu(a, rcu);
	sk_kfree_rcu(b, rcu);
	return r;
}
