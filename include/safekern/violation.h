/* SPDX-License-Identifier: MIT */
/*
 * safekern/violation.h - the one channel every detected misuse goes through
 *
 * Theory of operation
 * ===================
 *
 * Every check in libsafekern is an inline, well-predicted branch.  When it
 * fails, it calls one cold out-of-line reporter in libsafekern.so with
 *
 *   - a kind (enum sk_violation_kind),
 *   - the address of the object that was misused,
 *   - the call site: the consumer's file, line and function where the API is
 *     a macro (it captures SK_CALLSITE), and in every case the return address
 *     in the caller, resolved to a symbol when the dynamic symbol table has
 *     one (addr2line turns module+offset into file:line otherwise).
 *
 * The reporter counts the violation (a per-kind counter, readable with
 * sk_violation_count()), then acts according to the policy:
 *
 *   SK_VIOLATION_ABORT  print the report and a backtrace on stderr, abort()
 *                       (the default: a misuse is a bug, stop before the
 *                       memory is corrupted further);
 *   SK_VIOLATION_WARN   print the report the first time a call site reports
 *                       (later reports from the same site are only counted),
 *                       then recover as the kernel does: a refcount
 *                       saturates and leaks, a corrupt list operation is
 *                       skipped, a stale handle is refused;
 *   SK_VIOLATION_COUNT  recover silently; only the counters move.
 *
 * The initial policy comes from the environment variable SAFEKERN_VIOLATION
 * (abort, warn or count), read when the library loads.  Any other value is
 * reported on stderr, naming the variable and the value, and the policy
 * stays abort.  sk_violation_set_policy() changes it at run time.
 *
 * A handler installed with sk_violation_set_handler() replaces the built-in
 * printing (it receives a &struct sk_violation); the policy still decides
 * whether the process aborts after the handler returns.
 *
 * Guarantees: a correct program never reports.  One misuse makes one report,
 * even where two checks (a hardened check and a debug validator) could both
 * catch it.  A recovered operation never loses data silently: it says so in
 * its return value or leaves the structure as it was.  The report path is
 * thread-safe and does not call malloc.  A violation raised while the same
 * thread is already reporting (from a handler, say) is counted and, under
 * SK_VIOLATION_ABORT, aborts, but is not printed or handed to the handler.
 * A report runs with thread cancellation disabled (the handler too), so a
 * pending cancellation acts after it.  A handler must return: one left by
 * longjmp() leaves its thread marked as reporting, and that thread's later
 * reports are only counted.
 */
#ifndef SAFEKERN_VIOLATION_H
#define SAFEKERN_VIOLATION_H

#include <safekern/compiler.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum sk_violation_kind - what kind of misuse was detected
 * @SK_VIOLATION_USER: raised by the program itself via sk_violation_report()
 * @SK_VIOLATION_INVALID_ARGUMENT: an argument no correct call passes (a NULL
 *	release function, a size the structure cannot honour, ...)
 * @SK_VIOLATION_REFCOUNT_OVERFLOW: a reference count would pass INT_MAX
 * @SK_VIOLATION_REFCOUNT_UNDERFLOW: a reference count would drop below zero
 * @SK_VIOLATION_REFCOUNT_INC_FROM_ZERO: an increment or add on a count of
 *	zero (the object may already be freed: use after free)
 * @SK_VIOLATION_REFCOUNT_DEC_TO_ZERO: sk_refcount_dec() dropped the last
 *	reference (the object can never be released: leak)
 * @SK_VIOLATION_REFCOUNT_SATURATED: an operation on a counter that is
 *	already saturated
 * @SK_VIOLATION_LIST_CORRUPTION: a neighbour's next/prev does not point back
 * @SK_VIOLATION_LIST_DOUBLE_ADD: adding an entry next to itself, or one that
 *	is already on a list
 * @SK_VIOLATION_LIST_DOUBLE_DEL: deleting an entry that was deleted (poisoned)
 * @SK_VIOLATION_LIST_UNINITIALIZED: an entry or head with NULL pointers (never
 *	initialised or added)
 * @SK_VIOLATION_RCU_NOT_READ_LOCKED: an RCU traversal outside a read-side
 *	critical section
 * @SK_VIOLATION_LOCK_NOT_HELD: unlocking, or asserting, a lock this thread
 *	does not hold
 * @SK_VIOLATION_LOCK_RECURSION: acquiring a non-recursive lock this thread
 *	already holds (would deadlock)
 * @SK_VIOLATION_LOCK_HELD: destroying a held lock,
 *	sk_lockdep_assert_not_held() on a held one, a kref release
 *	function that returned with its lock held, or a read lock the C
 *	library refused because the rwlock's reader count is at its limit
 *	(leaked read locks; the read lock is then waited for)
 * @SK_VIOLATION_LOCK_ORDER_INVERSION: lockdep found a cycle in the lock order
 *	(a possible deadlock)
 * @SK_VIOLATION_LOCK_HELD_AT_EXIT: a thread exited holding locks
 * @SK_VIOLATION_LOCKDEP_CAPACITY: the validator ran out of room (reported
 *	once; validation stops)
 * @SK_VIOLATION_RING_CORRUPTION: ring indices that no correct use produces
 * @SK_VIOLATION_RING_CONCURRENT_ACCESS: a second thread on a single-producer
 *	or single-consumer side
 * @SK_VIOLATION_HANDLE_STALE: a handle whose object was released or moved
 * @SK_VIOLATION_HANDLE_INVALID: a forged or garbage handle (bad index, table
 *	or tag bits)
 * @SK_VIOLATION_HANDLE_DOUBLE_RELEASE: releasing a handle twice
 * @SK_VIOLATION_HANDLE_WRONG_OWNER: release or transfer by a non-owner or
 *	through a borrowed handle
 * @SK_VIOLATION_HANDLE_LEAK: destroying a handle table with live objects
 * @SK_VIOLATION_ALLOC_LEAK: destroying a cache with live objects
 * @SK_VIOLATION_ALLOC_USE_AFTER_FREE: a freed object was written to
 * @SK_VIOLATION_ALLOC_OVERFLOW: an object's red zone was overwritten
 * @SK_VIOLATION_ALLOC_DOUBLE_FREE: freeing an object twice
 * @SK_VIOLATION_ALLOC_WRONG_CACHE: freeing an object to a cache it does not
 *	belong to, or a pointer no cache handed out
 * @SK_VIOLATION_NR: number of kinds (not a kind)
 */
enum sk_violation_kind {
	SK_VIOLATION_USER,
	SK_VIOLATION_INVALID_ARGUMENT,
	SK_VIOLATION_REFCOUNT_OVERFLOW,
	SK_VIOLATION_REFCOUNT_UNDERFLOW,
	SK_VIOLATION_REFCOUNT_INC_FROM_ZERO,
	SK_VIOLATION_REFCOUNT_DEC_TO_ZERO,
	SK_VIOLATION_REFCOUNT_SATURATED,
	SK_VIOLATION_LIST_CORRUPTION,
	SK_VIOLATION_LIST_DOUBLE_ADD,
	SK_VIOLATION_LIST_DOUBLE_DEL,
	SK_VIOLATION_LIST_UNINITIALIZED,
	SK_VIOLATION_RCU_NOT_READ_LOCKED,
	SK_VIOLATION_LOCK_NOT_HELD,
	SK_VIOLATION_LOCK_RECURSION,
	SK_VIOLATION_LOCK_HELD,
	SK_VIOLATION_LOCK_ORDER_INVERSION,
	SK_VIOLATION_LOCK_HELD_AT_EXIT,
	SK_VIOLATION_LOCKDEP_CAPACITY,
	SK_VIOLATION_RING_CORRUPTION,
	SK_VIOLATION_RING_CONCURRENT_ACCESS,
	SK_VIOLATION_HANDLE_STALE,
	SK_VIOLATION_HANDLE_INVALID,
	SK_VIOLATION_HANDLE_DOUBLE_RELEASE,
	SK_VIOLATION_HANDLE_WRONG_OWNER,
	SK_VIOLATION_HANDLE_LEAK,
	SK_VIOLATION_ALLOC_LEAK,
	SK_VIOLATION_ALLOC_USE_AFTER_FREE,
	SK_VIOLATION_ALLOC_OVERFLOW,
	SK_VIOLATION_ALLOC_DOUBLE_FREE,
	SK_VIOLATION_ALLOC_WRONG_CACHE,
	SK_VIOLATION_NR
};

/**
 * enum sk_violation_policy - what a detected misuse does to the process
 * @SK_VIOLATION_ABORT: print the report and a backtrace, then abort() (default)
 * @SK_VIOLATION_WARN: print once per call site, then recover
 * @SK_VIOLATION_COUNT: recover silently; only the counters record it
 */
enum sk_violation_policy {
	SK_VIOLATION_ABORT,
	SK_VIOLATION_WARN,
	SK_VIOLATION_COUNT,
};

/**
 * struct sk_violation - one report, as a handler receives it
 * @kind: what was detected
 * @object: the address of the misused object (may be NULL)
 * @file: the caller's file, or NULL when the API is a function
 * @func: the caller's function name, or NULL
 * @line: the caller's line, or 0
 * @caller: the return address in the caller
 * @detail: a one-line description of what was found (never NULL)
 * @count: this kind's counter, including this report
 *
 * Valid only during the handler call; copy what you keep.
 */
struct sk_violation {
	enum sk_violation_kind kind;
	const void *object;
	const char *file;
	const char *func;
	unsigned int line;
	const void *caller;
	const char *detail;
	unsigned long count;
};

/**
 * typedef sk_violation_handler_fn - a user callback for violation reports
 * @v: the report
 * @arg: the argument given to sk_violation_set_handler()
 *
 * Called on the thread that detected the misuse, possibly from many threads
 * at once, possibly with locks held: do not take locks the program takes
 * around libsafekern calls, and do not call back into the misused object.
 */
typedef void (*sk_violation_handler_fn)(const struct sk_violation *v, void *arg);

/**
 * sk_violation_count() - how many violations of one kind were detected
 * @kind: the kind
 *
 * Context: any thread; the counters are relaxed atomics and only grow.
 * Return: the count since the library was loaded, or 0 for an invalid @kind.
 */
SK_API unsigned long sk_violation_count(enum sk_violation_kind kind);

/**
 * sk_violation_total() - how many violations of any kind were detected
 *
 * Return: the sum of all per-kind counters.
 */
SK_API unsigned long sk_violation_total(void);

/**
 * sk_violation_kind_name() - a kind's stable lower-case name, for logs
 * @kind: the kind
 *
 * Return: a static string such as "refcount_overflow", or "invalid" for a
 * value outside the enum.
 */
SK_API const char *sk_violation_kind_name(enum sk_violation_kind kind);

/**
 * sk_violation_set_policy() - choose what a violation does to the process
 * @policy: the new policy
 *
 * Context: any thread; takes effect for reports that start afterwards.
 * An invalid @policy is itself reported (as SK_VIOLATION_INVALID_ARGUMENT)
 * and leaves the policy unchanged.
 */
SK_API void sk_violation_set_policy(enum sk_violation_policy policy);

/**
 * sk_violation_get_policy() - the policy in force
 *
 * Return: the current policy.
 */
SK_API enum sk_violation_policy sk_violation_get_policy(void);

/**
 * sk_violation_set_handler() - replace the built-in printing with a callback
 * @fn: the handler, or NULL to restore the built-in printing
 * @arg: passed to @fn unchanged
 *
 * The policy still applies after the handler returns: under
 * SK_VIOLATION_ABORT the process aborts, under the others it recovers.  Set
 * the handler while no report is in flight (at start-up, typically); a
 * report racing the change calls either the old or the new handler, with
 * its own @arg.  @fn runs with cancellation disabled and must return (not
 * leave by longjmp()).
 */
SK_API void sk_violation_set_handler(sk_violation_handler_fn fn, void *arg);

/**
 * sk_violation_report() - report a misuse detected by the program itself
 * @kind: the kind (SK_VIOLATION_USER for the program's own checks)
 * @object: the address of the misused object
 * @fmt: printf-style description of what was found
 *
 * Goes through the same channel, counters and policy as the library's own
 * checks, with the caller's file and line.  Under SK_VIOLATION_ABORT this
 * does not return.
 */
#define sk_violation_report(kind, object, ...)                                \
	sk__violation((kind), (object), SK_CALLSITE, NULL, __VA_ARGS__)

/*
 * sk__violation() - internal: the cold reporter behind every check.
 * @cs may be NULL; @caller NULL means "my own return address", which is the
 * consumer's code when the check was inlined there.  Library functions pass
 * __builtin_return_address(0) of their own frame.
 */
SK_API SK_COLD SK_NOINLINE void sk__violation(enum sk_violation_kind kind, const void *object,
					     const struct sk_callsite *cs, const void *caller,
					     const char *fmt, ...) SK_PRINTF(5, 6);

#ifdef __cplusplus
}
#endif

#endif /* SAFEKERN_VIOLATION_H */
