/* expect: mutex 't->lock' is not held on every path through here */
/* compilers: clang */
/*
 * Compile-ok: the dec_and_lock forms and the kref puts, used correctly
 * (guarded data touched after a true result, release() functions that
 * assert and unlock, kref put results ignored or branched on), build
 * without a warning under clang -Wthread-safety -Wthread-safety-beta
 * -Werror: clang 14 accepts the conditional acquire in C and tracks it.
 * With FAIL, a function that returns after a true result without
 * unlocking is reported.  (clang only: the analysis is clang's; the unit
 * and stress tests build the same patterns with gcc.)
 */
#include <safekern/alloc.h>
#include <safekern/kref.h>
#include <safekern/lock.h>
#include <safekern/refcount.h>

struct table {
	struct sk_mutex lock;
	struct sk_spinlock spin;
	struct obj *entry_;
};

struct obj {
	struct table *t;
	sk_refcount_t ref;
	struct sk_kref kref;
};

/* Guarded data, reached through annotated accessors (docs/locking.md). */
static struct obj **table_entry(struct table *t) SK_MUST_HOLD(t->lock);
static struct obj **table_entry(struct table *t)
{
	return &t->entry_;
}

static struct obj **table_entry_spin(struct table *t) SK_MUST_HOLD(t->spin);
static struct obj **table_entry_spin(struct table *t)
{
	return &t->entry_;
}

/* The kernel's pattern: true means "last reference, lock held". */
void obj_put(struct obj *o);
void obj_put(struct obj *o)
{
	struct table *t = o->t;

	if (!sk_refcount_dec_and_mutex_lock(&o->ref, &t->lock))
		return;
	*table_entry(t) = NULL; /* guarded: the analysis knows the lock is held */
	sk_mutex_unlock(&t->lock);
	sk_kfree(o);
}

void obj_put_spin(struct obj *o);
void obj_put_spin(struct obj *o)
{
	struct table *t = o->t;

	if (sk_refcount_dec_and_lock(&o->ref, &t->spin)) {
		*table_entry_spin(t) = NULL;
		sk_spin_unlock(&t->spin);
		sk_kfree(o);
	}
}

/* release() for sk_kref_put_mutex(): assert the lock, then unlock it. */
static void obj_release(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, kref);
	struct table *t = o->t;

	sk_lockdep_assert_held(&t->lock);
	*table_entry(t) = NULL;
	sk_mutex_unlock(&t->lock);
	sk_kfree(o);
}

static void obj_release_spin(struct sk_kref *kref)
{
	struct obj *o = sk_container_of(kref, struct obj, kref);
	struct table *t = o->t;

	sk_lockdep_assert_held(&t->spin);
	*table_entry_spin(t) = NULL;
	sk_spin_unlock(&t->spin);
	sk_kfree(o);
}

/* The kref puts: the result may be ignored, or branched on. */
int obj_kput(struct obj *o);
int obj_kput(struct obj *o)
{
	int released = 0;

	sk_kref_put_mutex(&o->kref, obj_release, &o->t->lock);
	if (sk_kref_put_lock(&o->kref, obj_release_spin, &o->t->spin))
		released++;
	return released;
}

/* A lookup under the lock, then a put after it. */
struct obj *obj_get(struct table *t);
struct obj *obj_get(struct table *t)
{
	struct obj *o;

	sk_mutex_lock(&t->lock);
	o = *table_entry(t);
	if (o)
		sk_kref_get(&o->kref);
	sk_mutex_unlock(&t->lock);
	return o;
}

#ifdef FAIL
int obj_put_leaks_the_lock(struct obj *o);
int obj_put_leaks_the_lock(struct obj *o)
{
	struct table *t = o->t;

	if (sk_refcount_dec_and_mutex_lock(&o->ref, &t->lock)) {
		*table_entry(t) = NULL;
		return 1; /* the lock is still held */
	}
	return 0;
}
#endif
