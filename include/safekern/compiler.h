/* SPDX-License-Identifier: MIT */
/*
 * safekern/compiler.h - the compiler vocabulary every libsafekern header uses
 *
 * Branch hints, function attributes, Clang thread-safety annotations, a
 * type-checked container_of, single-copy atomic accesses and overflow-checked
 * size arithmetic.
 *
 * Everything here is usable by consumers too.  The annotation macros expand
 * to nothing on compilers without Clang's thread-safety analysis, so the same
 * code builds warning-free with gcc.
 *
 * Call sites: APIs whose misuse is reported are macros that capture the
 * caller's file, line and function in a static &struct sk_callsite (see
 * SK_CALLSITE).  The hot path only carries the pointer into the cold branch,
 * so the capture costs nothing when no misuse happens.
 */
#ifndef SAFEKERN_COMPILER_H
#define SAFEKERN_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Attributes
 * ------------------------------------------------------------------------ */

#ifndef __has_attribute
#define __has_attribute(x) 0
#endif
#ifndef __has_builtin
#define __has_builtin(x) 0
#endif

/*
 * SK__TSAN: this unit is built with ThreadSanitizer, which cannot see
 * inline assembly or fences: the headers' x86 asm fast paths and fences
 * give way to __atomic builtins (and TSan annotations) there.
 */
#if defined(__SANITIZE_THREAD__)
#define SK__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SK__TSAN 1
#endif
#endif

/**
 * sk_likely() - hint that a condition is usually true
 * @x: the condition
 *
 * Return: @x as a truth value (0 or 1).
 */
#define sk_likely(x) __builtin_expect(!!(x), 1)

/**
 * sk_unlikely() - hint that a condition is usually false
 * @x: the condition
 *
 * Every libsafekern check is written as ``if (sk_unlikely(bad)) report();``
 * so that the correct path is the fall-through and the report is out of line.
 *
 * Return: @x as a truth value (0 or 1).
 */
#define sk_unlikely(x) __builtin_expect(!!(x), 0)

/** SK_COLD - the function is rarely called; place it away from hot code. */
#define SK_COLD __attribute__((cold))
/** SK_NOINLINE - never inline the function. */
#define SK_NOINLINE __attribute__((noinline))
/** SK_ALWAYS_INLINE - inline the function even at -O0. */
#define SK_ALWAYS_INLINE inline __attribute__((always_inline))
/** SK_MUST_CHECK - the caller must use the result (warn_unused_result). */
#define SK_MUST_CHECK __attribute__((warn_unused_result))
/** SK_NONNULL - the listed pointer arguments (1-based) must not be NULL. */
#define SK_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
/** SK_NORETURN - the function does not return. */
#define SK_NORETURN __attribute__((noreturn))
/** SK_PRINTF - printf-style format checking for argument @fmt, varargs at @va. */
#define SK_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
/** SK_UNUSED - the variable or function may be unused. */
#define SK_UNUSED __attribute__((unused))
/** SK_CACHELINE_SIZE - the cache line size assumed for padding (x86-64, arm64). */
#define SK_CACHELINE_SIZE 64
/** SK_CACHELINE_ALIGNED - align a member or variable to its own cache line. */
#define SK_CACHELINE_ALIGNED __attribute__((aligned(SK_CACHELINE_SIZE)))

/**
 * SK_API - the function is exported from libsafekern.so
 *
 * The library builds with hidden visibility and a version script that
 * exports sk_* names; a function is part of the ABI only with both.
 */
#define SK_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------------
 * Clang thread-safety analysis
 *
 * clang 14 accepts these on function declarations in C and lets them name a
 * parameter's member (SK_MUST_HOLD(l->lock)).  It cannot parse guarded_by on
 * a C struct member, so guarded data is reached through annotated accessors.
 * gcc warns about unknown attributes, hence the empty fallbacks.  Annotate
 * the prototype, then define the function: gcc rejects attributes after the
 * declarator of a definition.
 * ------------------------------------------------------------------------ */

#if defined(__clang__) && __has_attribute(capability)
#define SK__TSA(x) __attribute__((x))
#else
#define SK__TSA(x)
#endif

/** SK_CAPABILITY - the struct is a lock (a capability named @name, e.g. "mutex"). */
#define SK_CAPABILITY(name) SK__TSA(capability(name))
/** SK_MUST_HOLD - the function must be called with the lock(s) held exclusively. */
#define SK_MUST_HOLD(...) SK__TSA(requires_capability(__VA_ARGS__))
/** SK_MUST_HOLD_SHARED - the function must be called with the lock(s) held at least shared. */
#define SK_MUST_HOLD_SHARED(...) SK__TSA(requires_shared_capability(__VA_ARGS__))
/** SK_ACQUIRES - the function returns with the lock(s) held exclusively. */
#define SK_ACQUIRES(...) SK__TSA(acquire_capability(__VA_ARGS__))
/** SK_ACQUIRES_SHARED - the function returns with the lock(s) held shared. */
#define SK_ACQUIRES_SHARED(...) SK__TSA(acquire_shared_capability(__VA_ARGS__))
/** SK_RELEASES - the function releases the lock(s), held exclusively on entry. */
#define SK_RELEASES(...) SK__TSA(release_capability(__VA_ARGS__))
/** SK_RELEASES_SHARED - the function releases the lock(s), held shared on entry. */
#define SK_RELEASES_SHARED(...) SK__TSA(release_shared_capability(__VA_ARGS__))
/** SK_RELEASES_GENERIC - the function releases the lock(s), held either way. */
#define SK_RELEASES_GENERIC(...) SK__TSA(release_generic_capability(__VA_ARGS__))
/**
 * SK_TRY_ACQUIRES - the function acquires the lock(s) when it returns @ret.
 * @ret: the return value that means "acquired" (1 or true for the kernel-style
 *       trylock, which returns 1 on success)
 */
#define SK_TRY_ACQUIRES(ret, ...) SK__TSA(try_acquire_capability(ret, __VA_ARGS__))
/** SK_TRY_ACQUIRES_SHARED - as SK_TRY_ACQUIRES, for a shared acquisition. */
#define SK_TRY_ACQUIRES_SHARED(ret, ...) SK__TSA(try_acquire_shared_capability(ret, __VA_ARGS__))
/** SK_ASSERT_HELD - after the call the analysis assumes the lock(s) held. */
#define SK_ASSERT_HELD(...) SK__TSA(assert_capability(__VA_ARGS__))
/** SK_ASSERT_HELD_SHARED - after the call the analysis assumes the lock(s) held shared. */
#define SK_ASSERT_HELD_SHARED(...) SK__TSA(assert_shared_capability(__VA_ARGS__))
/** SK_EXCLUDES - the function must not be called with the lock(s) held. */
#define SK_EXCLUDES(...) SK__TSA(locks_excluded(__VA_ARGS__))
/** SK_RETURNS_CAPABILITY - the function returns (a pointer to) the lock @x. */
#define SK_RETURNS_CAPABILITY(x) SK__TSA(lock_returned(x))
/** SK_NO_THREAD_SAFETY_ANALYSIS - do not analyse this function's body. */
#define SK_NO_THREAD_SAFETY_ANALYSIS SK__TSA(no_thread_safety_analysis)

/* ------------------------------------------------------------------------
 * Call sites
 * ------------------------------------------------------------------------ */

/**
 * struct sk_callsite - where an API was called from, for violation reports
 * @file: the caller's __FILE__
 * @func: the caller's __func__
 * @line: the caller's __LINE__
 */
struct sk_callsite {
	const char *file;
	const char *func;
	unsigned int line;
};

/**
 * SK_CALLSITE - a pointer to a static &struct sk_callsite for this line
 *
 * Public macros pass SK_CALLSITE to the internal function they wrap, so a
 * violation report names the consumer's line, never the header's.  Inside
 * libsafekern headers, an inline function that calls another checked
 * operation passes on the callsite it was given instead.
 */
#ifdef __cplusplus
#define SK_CALLSITE                                                           \
	([]() -> const struct sk_callsite * {                                 \
		static const struct sk_callsite sk__cs = { __FILE__, "", __LINE__ }; \
		return &sk__cs;                                               \
	}())
#else
#define SK_CALLSITE                                                           \
	__extension__({                                                       \
		static const struct sk_callsite sk__cs = { __FILE__, __func__, \
							   __LINE__ };         \
		&sk__cs;                                                      \
	})
#endif

/* ------------------------------------------------------------------------
 * container_of, READ_ONCE/WRITE_ONCE
 * ------------------------------------------------------------------------ */

/* Internal: a static assertion in either language (C11's keyword is not
 * C++'s). */
#ifdef __cplusplus
#define SK__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define SK__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#ifdef __cplusplus
#define SK__SAME_TYPE(a, b) __is_same(__typeof__(a), __typeof__(b))
#else
#define SK__SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))
#endif

/**
 * sk_container_of() - the structure that embeds a member
 * @ptr: pointer to the member
 * @type: type of the containing structure
 * @member: name of the member within @type
 *
 * Type-checked, as the kernel's container_of(): @ptr must point to the type
 * of @member (qualifiers aside) or be a void pointer, otherwise compilation
 * fails with "pointer type mismatch in sk_container_of()".
 *
 * Return: a pointer to the containing @type.
 */
#ifdef __cplusplus
#define sk_container_of(ptr, type, member)                                    \
	(__extension__({                                                      \
		char *sk__mptr = (char *)(ptr);                               \
		static_assert(SK__SAME_TYPE(*(ptr), ((type *)0)->member) ||   \
				      SK__SAME_TYPE(*(ptr), void),            \
			      "pointer type mismatch in sk_container_of()");  \
		((type *)(sk__mptr - offsetof(type, member)));                \
	}))
#else
#define sk_container_of(ptr, type, member)                                    \
	__extension__({                                                       \
		char *sk__mptr = (char *)(ptr);                               \
		_Static_assert(SK__SAME_TYPE(*(ptr), ((type *)0)->member) ||  \
				       SK__SAME_TYPE(*(ptr), void),           \
			       "pointer type mismatch in sk_container_of()"); \
		((type *)(void *)(sk__mptr - offsetof(type, member)));        \
	})
#endif

/**
 * SK_READ_ONCE() - load a scalar exactly once, without tearing
 * @x: the lvalue (an integer or pointer)
 *
 * A relaxed atomic load: the compiler may not merge, repeat or split it, and
 * the sanitizers understand it.  Orders nothing; use acquire loads for that.
 *
 * Return: the value of @x.
 */
#define SK_READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/**
 * SK_WRITE_ONCE() - store a scalar exactly once, without tearing
 * @x: the lvalue (an integer or pointer)
 * @val: the value to store
 *
 * A relaxed atomic store; orders nothing.
 */
#define SK_WRITE_ONCE(x, val) __atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

/* ------------------------------------------------------------------------
 * Overflow-checked arithmetic
 * ------------------------------------------------------------------------ */

static inline SK_MUST_CHECK bool sk__must_check_overflow(bool overflow)
{
	return sk_unlikely(overflow);
}

/**
 * sk_check_add_overflow() - add and report whether the sum overflowed
 * @a: first addend
 * @b: second addend
 * @d: pointer to the result; its type decides what "overflow" means
 *
 * Return: true if @a + @b does not fit in *@d (*@d then holds the wrapped
 * value), false otherwise.  The result must be checked.
 */
#define sk_check_add_overflow(a, b, d) sk__must_check_overflow(__builtin_add_overflow(a, b, d))

/**
 * sk_check_sub_overflow() - subtract and report whether the difference overflowed
 * @a: minuend
 * @b: subtrahend
 * @d: pointer to the result
 *
 * Return: true if @a - @b does not fit in *@d, false otherwise.  Must be checked.
 */
#define sk_check_sub_overflow(a, b, d) sk__must_check_overflow(__builtin_sub_overflow(a, b, d))

/**
 * sk_check_mul_overflow() - multiply and report whether the product overflowed
 * @a: first factor
 * @b: second factor
 * @d: pointer to the result
 *
 * Return: true if @a * @b does not fit in *@d, false otherwise.  Must be checked.
 */
#define sk_check_mul_overflow(a, b, d) sk__must_check_overflow(__builtin_mul_overflow(a, b, d))

/**
 * sk_size_mul() - multiply two sizes, saturating at SIZE_MAX
 * @a: first factor
 * @b: second factor
 *
 * A saturated size makes the allocation that follows fail instead of
 * returning a short buffer.
 *
 * Return: @a * @b, or SIZE_MAX on overflow.
 */
static inline size_t sk_size_mul(size_t a, size_t b)
{
	size_t r;

	if (__builtin_mul_overflow(a, b, &r))
		return SIZE_MAX;
	return r;
}

/**
 * sk_size_add() - add two sizes, saturating at SIZE_MAX
 * @a: first addend
 * @b: second addend
 *
 * Return: @a + @b, or SIZE_MAX on overflow.
 */
static inline size_t sk_size_add(size_t a, size_t b)
{
	size_t r;

	if (__builtin_add_overflow(a, b, &r))
		return SIZE_MAX;
	return r;
}

/**
 * sk_struct_size() - size of a structure with a trailing flexible array
 * @p: pointer to the structure (not dereferenced)
 * @member: the flexible array member
 * @count: number of array elements
 *
 * Return: sizeof(*@p) + @count * sizeof(*@p->@member), or SIZE_MAX on
 * overflow.
 */
#define sk_struct_size(p, member, count)                                      \
	sk_size_add(sizeof(*(p)), sk_size_mul(sizeof(*(p)->member), (count)))

/**
 * SK_ARRAY_SIZE() - number of elements of an array (not a pointer)
 * @arr: the array
 *
 * Passing a pointer fails to compile.
 */
#ifdef __cplusplus
#define SK_ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#else
#define SK_ARRAY_SIZE(arr)                                                    \
	(sizeof(arr) / sizeof((arr)[0]) +                                     \
	 sizeof(struct { int sk__not_an_array : SK__SAME_TYPE((arr), &(arr)[0]) ? -1 : 1; }) * 0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_COMPILER_H */
