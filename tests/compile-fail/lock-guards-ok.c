/* expect: calling function 'box_val' requires holding mutex 'b->lock' exclusively */
/* compilers: clang */
/*
 * Compile-ok: every guard form and the correct locking patterns build
 * without a warning under clang -Wthread-safety -Wthread-safety-beta
 * -Werror (the unit tests build them with gcc too).  With FAIL: guarded data touched after an sk_guard()
 * that lived in an if block (where paths with and without the guard meet)
 * is reported.
 */
#include <errno.h>

#include <safekern/lock.h>

struct box {
	struct sk_mutex lock;
	int val_;
};

struct spinbox {
	struct sk_spinlock lock;
	int val_;
};

struct table {
	struct sk_rwlock lock;
	int val_;
};

static int *box_val(struct box *b) SK_MUST_HOLD(b->lock);
static int *box_val(struct box *b)
{
	return &b->val_;
}

static int *spinbox_val(struct spinbox *s) SK_MUST_HOLD(s->lock);
static int *spinbox_val(struct spinbox *s)
{
	return &s->val_;
}

static int table_read(struct table *t) SK_MUST_HOLD_SHARED(t->lock);
static int table_read(struct table *t)
{
	return t->val_;
}

static void table_write(struct table *t, int v) SK_MUST_HOLD(t->lock);
static void table_write(struct table *t, int v)
{
	t->val_ = v;
}

/* A function that must be called with the lock held, and one that takes it. */
static void box_add_locked(struct box *b, int n) SK_MUST_HOLD(b->lock);
static void box_add_locked(struct box *b, int n)
{
	sk_lockdep_assert_held(&b->lock);
	*box_val(b) += n;
}

int box_add(struct box *b, int n) SK_EXCLUDES(b->lock);
int box_add(struct box *b, int n)
{
	sk_mutex_lock(&b->lock);
	box_add_locked(b, n);
	sk_mutex_unlock(&b->lock);
	return 0;
}

int guard_to_end_of_function(struct box *b);
int guard_to_end_of_function(struct box *b)
{
	sk_guard(mutex)(&b->lock);

	if (*box_val(b) < 0)
		return -EINVAL; /* released here */
	return ++*box_val(b); /* and here */
}

int scoped_forms(struct box *b, struct spinbox *s, struct table *t);
int scoped_forms(struct box *b, struct spinbox *s, struct table *t)
{
	int v = 0;

	sk_scoped_guard(mutex, &b->lock)
		v += *box_val(b);
	sk_scoped_guard(spinlock, &s->lock) {
		v += *spinbox_val(s);
		sk_scoped_guard(read_lock, &t->lock)
			v += table_read(t);
	}
	sk_scoped_guard(write_lock, &t->lock) {
		table_write(t, v);
		v += table_read(t);
	}
	sk_scoped_guard(mutex_try, &b->lock)
		v += *box_val(b);
	sk_scoped_guard(spinlock_try, &s->lock)
		v += *spinbox_val(s);
	sk_scoped_guard(read_lock_try, &t->lock)
		v += table_read(t);
	sk_scoped_guard(write_lock_try, &t->lock)
		table_write(t, v);
	sk_scoped_cond_guard(mutex_try, return -EBUSY, &b->lock) {
		*box_val(b) = v;
	}
	sk_scoped_cond_guard(write_lock_try, return -EBUSY, &t->lock)
		table_write(t, v);
	return v;
}

int guards_to_end_of_function(struct spinbox *s, struct table *r, struct table *w);
int guards_to_end_of_function(struct spinbox *s, struct table *r, struct table *w)
{
	sk_guard(spinlock)(&s->lock);
	sk_guard(read_lock)(&r->lock);
	sk_guard(write_lock)(&w->lock);

	table_write(w, table_read(r) + *spinbox_val(s));
	return table_read(w);
}

int trylock_pattern(struct box *b);
int trylock_pattern(struct box *b)
{
	int v;

	if (!sk_mutex_trylock(&b->lock))
		return -EBUSY;
	v = ++*box_val(b);
	sk_mutex_unlock(&b->lock);
	return v;
}

int read_then_write(struct table *t);
int read_then_write(struct table *t)
{
	int v;

	sk_read_lock(&t->lock);
	v = table_read(t);
	sk_read_unlock(&t->lock);
	if (sk_write_trylock(&t->lock)) {
		table_write(t, v + 1);
		sk_write_unlock(&t->lock);
	}
	sk_write_lock(&t->lock);
	sk_lockdep_assert_held_write(&t->lock);
	table_write(t, v + 2);
	sk_write_unlock(&t->lock);
	return v;
}

int nested_pattern(struct box *parent, struct box *child);
int nested_pattern(struct box *parent, struct box *child)
{
	int v;

	sk_mutex_lock(&parent->lock);
	sk_mutex_lock_nested(&child->lock, SK_SINGLE_DEPTH_NESTING);
	v = *box_val(parent) + *box_val(child);
	sk_mutex_unlock(&child->lock);
	sk_mutex_unlock(&parent->lock);
	return v;
}

int guard_in_if(struct box *b, int cond);
int guard_in_if(struct box *b, int cond)
{
	int v = 0;

	if (cond) {
		sk_guard(mutex)(&b->lock);
		v = *box_val(b);
	}
#ifdef FAIL
	v += *box_val(b);
#endif
	return v;
}
