/* SPDX-License-Identifier: MIT */
/*
 * safekern/cleanup.h - scope-based resource management, in the style of
 * the kernel's linux/cleanup.h
 *
 * Theory of operation
 * ===================
 *
 * A variable declared with a cleanup attribute runs a function when it
 * goes out of scope, on every exit path: falling off the end of the
 * block, return, break, continue and goto out of the block.  Three
 * layers are built on that:
 *
 *   auto-free pointers  SK_DEFINE_FREE(name, type, expr) defines how to
 *                       free a @type; a variable declared
 *                       ``type p sk_free(name) = ...;`` is freed when it
 *                       goes out of scope.  sk_no_free_ptr(p) takes the
 *                       pointer back out (the cleanup then sees NULL);
 *                       sk_return_ptr(p) returns it.
 *   classes             SK_DEFINE_CLASS(name, type, exit, init, args...)
 *                       and SK_CLASS(name, var)(args): a constructor and
 *                       a destructor bound to a scope (a reference held for
 *                       the scope, a handle looked up for the scope).
 *   guards              SK_DEFINE_GUARD(name, type, lock, unlock) and
 *                       SK_DEFINE_GUARD_COND(name, ext, condlock);
 *                       sk_guard(name)(lock) holds a lock to the end of the
 *                       enclosing scope, sk_scoped_guard(name, lock) { }
 *                       for one block, sk_scoped_cond_guard(name, fail,
 *                       lock) { } for a conditional (trylock) guard that
 *                       runs @fail when the lock was not taken.
 *
 * The guards for libsafekern's own locks (mutex, spinlock, read_lock,
 * write_lock and their _try forms) are defined in <safekern/lock.h>; this
 * header depends on <safekern/compiler.h> only, so that any header can use
 * SK_DEFINE_FREE.
 *
 * The rules (the kernel's, for the same reasons)
 * ----------------------------------------------
 *
 * - Define and initialise in one statement:
 *   ``struct foo *p sk_free(kfree) = sk_kmalloc(n);``
 *   Never declare ``= NULL`` at the top and assign later: cleanups run in
 *   reverse order of *declaration*, so a late assignment can free an
 *   object after the lock guarding it was released.
 * - Declaration order is destruction order.  Declare a guard before the
 *   auto-free variables its critical section creates if they must be freed
 *   under the lock, after them otherwise.
 * - Do not jump (goto) forward into the scope of a cleanup variable past
 *   its declaration: clang rejects it, gcc runs the cleanup on an
 *   uninitialised value.  Jumping out of the scope is fine.  Do not mix
 *   goto-based error unwinding and cleanup variables in one function.
 * - break and continue inside sk_scoped_guard() and sk_scoped_cond_guard()
 *   leave the guard's block (they are loops of one iteration), not an
 *   enclosing loop.
 *
 * Thread-safety analysis
 * ----------------------
 *
 * Clang's analysis does not see cleanup functions (clang 14 nor 19).  The
 * lock guards therefore take the lock through a path the analysis does not
 * follow and tell it "held" with an assert_capability function, which it
 * accepts at the end of the function without a release.  The scoped
 * guards' way out of their block meets a branch that never runs and
 * releases the lock for the analysis (sk__tsa_never()), so the analysis
 * merges the assertion away where the block ends: touching guarded data
 * after the block is reported, and so is a scoped guard of a lock the
 * analysis knows held already: "not held on every path through here".
 * For a mutex, spinlock or write lock that is a relock, which the run-time
 * checks refuse too.  For a read lock it is not: read locks are recursive,
 * but the analysis does not count holds, so a scoped read guard nested in
 * another of the same lock (or in a function that holds it for reading)
 * is flagged although correct; take the lock once.  (Until 2026-11-26 the
 * assertion was made in the loop's condition and merged away where the
 * loop's paths met, which accepted nested read guards but kept the
 * compiler from seeing that an unconditional guard's block runs: a
 * function ending in a guarded block that returns warned -Wreturn-type.
 * They are now the kernel's loops, whose way out is a jump from the
 * increment; the two cannot be had together with clang 14.)  A plain
 * sk_guard() of a held lock is not flagged.  For sk_guard() the analysis
 * keeps the lock held until the end of the function, or until a point where
 * paths with and without the guard meet (after an if or a loop that
 * contains it); after a plain nested block ``{ sk_guard(...)(...); }`` it
 * still believes the lock held.  Prefer sk_scoped_guard() for a region
 * smaller than the function.  Guards defined with SK_DEFINE_GUARD() for
 * other lock types are invisible to the analysis.
 *
 * Memory ordering: none of its own; the lock or free function decides.
 * Failure behaviour: none of its own; a guard's lock or unlock reports
 * misuse through the lock's own checks.
 * Concurrency: a cleanup variable belongs to the thread running the
 * scope; nothing here is shared.
 */
#ifndef SAFEKERN_CLEANUP_H
#define SAFEKERN_CLEANUP_H

#include <safekern/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SK__PASTE2(a, b) a##b
#define SK__PASTE(a, b) SK__PASTE2(a, b)
#define SK__UNIQUE_ID(prefix) SK__PASTE(SK__PASTE(sk__uniq_, prefix), __COUNTER__)
#define SK__CLEANUP(fn) __attribute__((cleanup(fn)))

/* ------------------------------------------------------------------------
 * Auto-free pointers
 * ------------------------------------------------------------------------ */

/**
 * SK_DEFINE_FREE() - define how sk_free(@_name) releases a variable
 * @_name: the name used with sk_free()
 * @_type: the variable's type (a pointer type)
 * @_free: a statement freeing ``_T``, the variable's value; it must accept
 *	NULL (write ``if (_T) ...``), since sk_no_free_ptr() leaves NULL behind
 *
 * Example: <safekern/alloc.h> defines kfree as
 * ``SK_DEFINE_FREE(kfree, void *, if (_T) sk_kfree(_T))``, so that
 * ``char *buf sk_free(kfree) = sk_kmalloc(len);`` works.  Use at file scope.
 */
#define SK_DEFINE_FREE(_name, _type, _free)                                   \
	static inline SK_UNUSED void sk__free_##_name(void *p)                          \
	{                                                                     \
		_type _T = *(_type *)p;                                       \
		_free;                                                        \
	}

/**
 * sk_free() - variable attribute: free the variable when it leaves scope
 * @_name: a name defined with SK_DEFINE_FREE()
 *
 * Declare and initialise in one statement (see the rules above).
 */
#define sk_free(_name) SK__CLEANUP(sk__free_##_name)

static inline SK_MUST_CHECK const volatile void *sk__must_check_ptr(const volatile void *p)
{
	return p;
}

#define sk__get_and_null(p)                                                   \
	__extension__({                                                       \
		__typeof__(p) *sk__gan_ptr = &(p);                            \
		__typeof__(p) sk__gan_val = *sk__gan_ptr;                     \
		*sk__gan_ptr = NULL;                                          \
		sk__gan_val;                                                  \
	})

/**
 * sk_no_free_ptr() - take ownership out of an sk_free() variable
 * @p: the variable (an lvalue declared with sk_free())
 *
 * Sets @p to NULL, so that its cleanup frees nothing, and returns the old
 * value.  The result must be used: dropping it leaks the object.
 *
 * Return: the pointer @p held.
 */
#define sk_no_free_ptr(p) ((__typeof__(p))sk__must_check_ptr(sk__get_and_null(p)))

/**
 * sk_return_ptr() - return the pointer held by an sk_free() variable
 * @p: the variable
 *
 * ``return sk_no_free_ptr(p);``: the object survives the scope.
 */
#define sk_return_ptr(p) return sk_no_free_ptr(p)

/* ------------------------------------------------------------------------
 * Classes
 * ------------------------------------------------------------------------ */

/**
 * SK_DEFINE_CLASS() - define a type bound to a scope
 * @_name: the class name used with SK_CLASS()
 * @_type: the type of the scoped value
 * @_exit: a statement run on ``_T`` (the value) when the scope ends
 * @_init: an expression producing the value from the constructor's
 *	arguments
 * @...: the constructor's parameter list (``void`` for none)
 *
 * Use at file scope.  SK_CLASS(@_name, var)(args) then declares ``var``.
 */
#define SK_DEFINE_CLASS(_name, _type, _exit, _init, ...)                      \
	typedef _type sk__class_##_name##_t;                                  \
	static inline SK_UNUSED void sk__class_##_name##_destructor(_type *p)           \
	{                                                                     \
		_type _T SK_UNUSED = *p;                                      \
		_exit;                                                        \
	}                                                                     \
	static inline SK_UNUSED _type sk__class_##_name##_constructor(__VA_ARGS__)      \
	{                                                                     \
		_type sk__t = _init;                                          \
		return sk__t;                                                 \
	}

/**
 * SK_CLASS() - declare a variable of a class defined with SK_DEFINE_CLASS()
 * @_name: the class
 * @var: the variable name
 *
 * Followed by the constructor's arguments in parentheses:
 * ``SK_CLASS(name, var)(args);``.  The class's exit statement runs when
 * @var leaves scope.
 */
#define SK_CLASS(_name, var)                                                  \
	sk__class_##_name##_t var SK__CLEANUP(sk__class_##_name##_destructor) SK_UNUSED = \
		sk__class_##_name##_constructor

/* ------------------------------------------------------------------------
 * Guards
 * ------------------------------------------------------------------------ */

/**
 * SK_DEFINE_GUARD() - define a lock guard for a lock type
 * @_name: the guard name used with sk_guard() and sk_scoped_guard()
 * @_type: a pointer to the lock type
 * @_lock: a statement locking ``_T``
 * @_unlock: a statement unlocking ``_T``
 *
 * Use at file scope.  The guards of libsafekern's own locks are defined
 * in <safekern/lock.h> and carry the thread-safety analysis; a guard
 * defined here is invisible to it (the analysis cannot see the cleanup).
 */
#define SK_DEFINE_GUARD(_name, _type, _lock, _unlock)                         \
	SK_DEFINE_CLASS(_name, _type, if (_T) { _unlock; }, ({ _lock; _T; }), _type _T) \
	enum { sk__class_##_name##_unconditional = 1 };                       \
	static inline SK_UNUSED void *sk__class_##_name##_lock_ptr(sk__class_##_name##_t *p) \
	{                                                                     \
		return (void *)*p;                                            \
	}                                                                     \
	static inline SK_UNUSED void sk__class_##_name##_tsa_end(_type _T)    \
	{                                                                     \
		(void)_T;                                                     \
	}

/**
 * SK_DEFINE_GUARD_COND() - define a conditional form of a guard
 * @_name: a guard defined with SK_DEFINE_GUARD()
 * @_ext: the suffix of the new guard's name (``_try``)
 * @_condlock: an expression that tries to lock ``_T`` and is true on success
 *
 * Defines the guard @_name@_ext for sk_scoped_guard() (the block runs only
 * if the lock was taken) and sk_scoped_cond_guard().
 */
#define SK_DEFINE_GUARD_COND(_name, _ext, _condlock)                          \
	typedef sk__class_##_name##_t sk__class_##_name##_ext##_t;            \
	static inline SK_UNUSED void sk__class_##_name##_ext##_destructor(sk__class_##_name##_t *p) \
	{                                                                     \
		sk__class_##_name##_destructor(p);                            \
	}                                                                     \
	static inline SK_UNUSED sk__class_##_name##_t sk__class_##_name##_ext##_constructor( \
		sk__class_##_name##_t _T)                                     \
	{                                                                     \
		return _T && (_condlock) ? _T : NULL;                         \
	}                                                                     \
	enum { sk__class_##_name##_ext##_unconditional = 0 };                 \
	static inline SK_UNUSED void *sk__class_##_name##_ext##_lock_ptr(sk__class_##_name##_t *p) \
	{                                                                     \
		return (void *)*p;                                            \
	}                                                                     \
	static inline SK_UNUSED void sk__class_##_name##_ext##_tsa_end(sk__class_##_name##_t _T) \
	{                                                                     \
		(void)_T;                                                     \
	}

/**
 * sk_guard() - hold a lock until the end of the enclosing scope
 * @_name: the guard (mutex, spinlock, read_lock, write_lock, or one defined
 *	with SK_DEFINE_GUARD())
 *
 * Followed by the lock in parentheses: ``sk_guard(mutex)(&obj->lock);``.
 * The lock is released on every exit from the scope.  Not for the
 * conditional (_try) guards, whose failed trylock would leave the rest of
 * the scope unlocked: they do not compile here (a static assertion); use
 * sk_scoped_guard() or sk_scoped_cond_guard() for those.
 */
#define sk_guard(_name)                                                       \
	SK__STATIC_ASSERT(sk__class_##_name##_unconditional,                  \
			  "sk_guard(" #_name "): a conditional guard would leave the scope unlocked " \
			  "when the trylock fails; use sk_scoped_guard() or sk_scoped_cond_guard()"); \
	sk__class_##_name##_t SK__UNIQUE_ID(guard)                            \
		SK__CLEANUP(sk__class_##_name##_destructor) SK_UNUSED =       \
		sk__class_##_name##_constructor

/*
 * A function the compiler knows returns false, and the thread-safety
 * analysis does not: on the scoped guards' way out, a branch that ends the
 * analysis's hold of the lock (sk__class_*_tsa_end()) which never runs, so
 * that after the block the analysis takes the lock for not held (it drops
 * an asserted lock held on one way into a join and not on the other).
 */
static inline SK_UNUSED int sk__tsa_never(void)
{
	return 0;
}

/*
 * As the kernel's (since 6.12): the loop's exit is a jump out of its
 * increment, and for an unconditional guard its condition is always true,
 * so that the compiler knows the block runs (a block that returns does not
 * leave the function without a return value: -Wreturn-type, with
 * optimisation; gcc -O0 still warns, as for the kernel's).
 */
#define sk__scoped_guard(_name, _scope, _label, ...)                          \
	for (sk__class_##_name##_t _scope SK__CLEANUP(sk__class_##_name##_destructor) = \
		     sk__class_##_name##_constructor(__VA_ARGS__);             \
	     sk__class_##_name##_lock_ptr(&_scope) || sk__class_##_name##_unconditional; \
	     __extension__({ goto _label; }))                                 \
		if (0) {                                                      \
		_label:                                                       \
			if (sk__tsa_never())                                  \
				sk__class_##_name##_tsa_end(__VA_ARGS__);     \
			break;                                                \
		} else

#define sk__scoped_guard_id(_name, _id, ...)                                  \
	sk__scoped_guard(_name, SK__PASTE(sk__scope_, _id), SK__PASTE(sk__label_, _id), __VA_ARGS__)

/**
 * sk_scoped_guard() - hold a lock for the following block
 * @_name: the guard; a conditional (_try) guard runs the block only if the
 *	lock was taken
 * @...: the lock
 *
 * ``sk_scoped_guard(mutex, &obj->lock) { ... }``.  The lock is released
 * when the block ends, by any path.  The statement is a loop of one
 * iteration: break and continue leave the block.  The thread-safety
 * analysis treats the lock as held inside the block only.  As the
 * kernel's: an unconditional guard's block runs even if its constructor
 * gave NULL (a guard defined with SK_DEFINE_GUARD() for a lock that may be
 * absent needs a conditional form); write an empty block as ``{ }`` (a
 * bare ``;`` warns -Wempty-body); the guard has a label, so a macro that
 * expands its argument twice cannot take a guard in it.  In C++, g++
 * still warns -Wreturn-type after a guarded block that returns.
 */
#define sk_scoped_guard(_name, ...) sk__scoped_guard_id(_name, __COUNTER__, __VA_ARGS__)

#define sk__scoped_cond_guard(_name, _fail, _scope, _label, ...)              \
	for (sk__class_##_name##_t _scope SK__CLEANUP(sk__class_##_name##_destructor) = \
		     sk__class_##_name##_constructor(__VA_ARGS__);             \
	     1; __extension__({ goto _label; }))                              \
		if (!sk__class_##_name##_lock_ptr(&_scope)) {                 \
			SK__STATIC_ASSERT(!sk__class_##_name##_unconditional, \
				"sk_scoped_cond_guard(" #_name "): not a conditional guard"); \
			_fail;                                                \
		_label:                                                       \
			if (sk__tsa_never())                                  \
				sk__class_##_name##_tsa_end(__VA_ARGS__);     \
			break;                                                \
		} else

/**
 * sk_scoped_cond_guard() - try a lock; run a statement if it was not taken
 * @_name: a conditional guard (mutex_try, spinlock_try, read_lock_try,
 *	write_lock_try, or one defined with SK_DEFINE_GUARD_COND()); an
 *	unconditional one does not compile (a static assertion)
 * @_fail: the statement to run when the lock was not taken (``return
 *	-EBUSY``, say)
 * @...: the lock
 *
 * ``sk_scoped_cond_guard(mutex_try, return -EBUSY, &obj->lock) { ... }``.
 * The block runs with the lock held and releases it when it ends.  The
 * thread-safety analysis does not check the @_fail statement against the
 * lock (it sees the lock asserted there too).
 */
#define sk__scoped_cond_guard_id(_name, _fail, _id, ...)                      \
	sk__scoped_cond_guard(_name, _fail, SK__PASTE(sk__scope_, _id),        \
			      SK__PASTE(sk__label_, _id), __VA_ARGS__)
#define sk_scoped_cond_guard(_name, _fail, ...)                               \
	sk__scoped_cond_guard_id(_name, _fail, __COUNTER__, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_CLEANUP_H */
