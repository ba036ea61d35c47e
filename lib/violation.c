/* SPDX-License-Identifier: MIT */
/*
 * lib/violation.c - the single violation-reporting channel
 *
 * Everything on the report path is async-signal-tolerant in spirit: no
 * malloc, formatting into stack buffers, output with write(2), the
 * backtrace with backtrace_symbols_fd().  backtrace() itself allocates on
 * its first call (it loads libgcc_s), so the constructor primes it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <safekern/annotate.h>
#include <safekern/violation.h>

#include "violation-internal.h"

static const char *const kind_names[SK_VIOLATION_NR] = {
	[SK_VIOLATION_USER] = "user",
	[SK_VIOLATION_INVALID_ARGUMENT] = "invalid_argument",
	[SK_VIOLATION_REFCOUNT_OVERFLOW] = "refcount_overflow",
	[SK_VIOLATION_REFCOUNT_UNDERFLOW] = "refcount_underflow",
	[SK_VIOLATION_REFCOUNT_INC_FROM_ZERO] = "refcount_inc_from_zero",
	[SK_VIOLATION_REFCOUNT_DEC_TO_ZERO] = "refcount_dec_to_zero",
	[SK_VIOLATION_REFCOUNT_SATURATED] = "refcount_saturated",
	[SK_VIOLATION_LIST_CORRUPTION] = "list_corruption",
	[SK_VIOLATION_LIST_DOUBLE_ADD] = "list_double_add",
	[SK_VIOLATION_LIST_DOUBLE_DEL] = "list_double_del",
	[SK_VIOLATION_LIST_UNINITIALIZED] = "list_uninitialized",
	[SK_VIOLATION_RCU_NOT_READ_LOCKED] = "rcu_not_read_locked",
	[SK_VIOLATION_LOCK_NOT_HELD] = "lock_not_held",
	[SK_VIOLATION_LOCK_RECURSION] = "lock_recursion",
	[SK_VIOLATION_LOCK_HELD] = "lock_held",
	[SK_VIOLATION_LOCK_ORDER_INVERSION] = "lock_order_inversion",
	[SK_VIOLATION_LOCK_HELD_AT_EXIT] = "lock_held_at_exit",
	[SK_VIOLATION_LOCKDEP_CAPACITY] = "lockdep_capacity",
	[SK_VIOLATION_RING_CORRUPTION] = "ring_corruption",
	[SK_VIOLATION_RING_CONCURRENT_ACCESS] = "ring_concurrent_access",
	[SK_VIOLATION_HANDLE_STALE] = "handle_stale",
	[SK_VIOLATION_HANDLE_INVALID] = "handle_invalid",
	[SK_VIOLATION_HANDLE_DOUBLE_RELEASE] = "handle_double_release",
	[SK_VIOLATION_HANDLE_WRONG_OWNER] = "handle_wrong_owner",
	[SK_VIOLATION_HANDLE_LEAK] = "handle_leak",
	[SK_VIOLATION_ALLOC_LEAK] = "alloc_leak",
	[SK_VIOLATION_ALLOC_USE_AFTER_FREE] = "alloc_use_after_free",
	[SK_VIOLATION_ALLOC_OVERFLOW] = "alloc_overflow",
	[SK_VIOLATION_ALLOC_DOUBLE_FREE] = "alloc_double_free",
	[SK_VIOLATION_ALLOC_WRONG_CACHE] = "alloc_wrong_cache",
};

static unsigned long counts[SK_VIOLATION_NR];
static int policy = SK_VIOLATION_ABORT;

/*
 * The handler and its argument, published as a pair under a sequence
 * count (odd while a change is being written), so that a report never
 * calls one handler with another's argument.  Changes are serialised by
 * handler_lock.  (Two slots used in turn were not enough: a report that
 * loaded a slot before two changes read it while it was rewritten.)
 */
static unsigned int handler_seq;
static sk_violation_handler_fn handler_fn;
static void *handler_arg;
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Call sites already printed under SK_VIOLATION_WARN: an open-addressed
 * set of keys (the callsite pointer, or the caller address, mixed with the
 * kind).  When it is full, reports are printed every time: never lost.
 */
#define SEEN_SLOTS 1024
static uintptr_t seen[SEEN_SLOTS];

/* Serialises output so that concurrent reports do not interleave. */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread int in_report;

static void write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Returns true the first time @key is seen, or when the set is full. */
static bool first_report_from(uintptr_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 54) % SEEN_SLOTS;

	for (size_t n = 0; n < SEEN_SLOTS; n++, i = (i + 1) % SEEN_SLOTS) {
		uintptr_t cur = __atomic_load_n(&seen[i], __ATOMIC_RELAXED);

		if (cur == key)
			return false;
		if (cur == 0) {
			uintptr_t expected = 0;

			if (__atomic_compare_exchange_n(&seen[i], &expected, key, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED))
				return true;
			if (expected == key)
				return false;
		}
	}
	return true;
}

/* "symbol+0xoff (module)" or "module(+0xoff)" for an address. */
static void describe_address(char *buf, size_t len, const void *addr)
{
	Dl_info info;

	if (!addr) {
		snprintf(buf, len, "?");
		return;
	}
	if (dladdr(addr, &info) && info.dli_fname) {
		const char *mod = strrchr(info.dli_fname, '/');

		mod = mod ? mod + 1 : info.dli_fname;
		if (info.dli_sname && info.dli_saddr)
			snprintf(buf, len, "%s+0x%tx (%s)", info.dli_sname,
				 (const char *)addr - (const char *)info.dli_saddr, mod);
		else
			snprintf(buf, len, "%s(+0x%tx)", mod,
				 (const char *)addr - (const char *)info.dli_fbase);
		return;
	}
	snprintf(buf, len, "%p", addr);
}

static void print_report(const struct sk_violation *v, bool with_backtrace)
{
	char msg[2048];
	char where[512];
	char caller[256];
	int n;

	describe_address(caller, sizeof(caller), v->caller);
	if (v->file)
		snprintf(where, sizeof(where), "%s:%u in %s()", v->file, v->line,
			 v->func && v->func[0] ? v->func : "?");
	else
		snprintf(where, sizeof(where), "%s", caller);

	n = snprintf(msg, sizeof(msg),
		     "libsafekern: violation: %s on object %p at %s\n"
		     "libsafekern:   %s\n"
		     "libsafekern:   caller: %s\n",
		     sk_violation_kind_name(v->kind), v->object, where, v->detail, caller);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;

	pthread_mutex_lock(&print_lock);
	write_all(msg, (size_t)n);
	if (with_backtrace) {
		void *frames[32];
		int depth = backtrace(frames, 32);

		if (depth > 1) {
			static const char hdr[] = "libsafekern:   backtrace:\n";

			write_all(hdr, sizeof(hdr) - 1);
			/* Skip our own frame. */
			backtrace_symbols_fd(frames + 1, depth - 1, STDERR_FILENO);
		}
	}
	pthread_mutex_unlock(&print_lock);
}

/* The handler and its argument, as one of the pairs that were set. */
static sk_violation_handler_fn handler_get(void **arg)
{
	for (;;) {
		unsigned int seq = __atomic_load_n(&handler_seq, __ATOMIC_ACQUIRE);
		sk_violation_handler_fn fn;

		if (seq & 1) {
			sched_yield(); /* a change is being written */
			continue;
		}
		fn = __atomic_load_n(&handler_fn, __ATOMIC_RELAXED);
		*arg = __atomic_load_n(&handler_arg, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&handler_seq, __ATOMIC_RELAXED) == seq) {
			SK_ANNOTATE_HAPPENS_AFTER(&handler_seq);
			return fn;
		}
	}
}

void sk__violation(enum sk_violation_kind kind, const void *object, const struct sk_callsite *cs,
		   const void *caller, const char *fmt, ...)
{
	struct sk_violation v;
	sk_violation_handler_fn fn;
	void *arg;
	char detail[1024];
	int cancel_state;
	va_list ap;
	int pol = __atomic_load_n(&policy, __ATOMIC_RELAXED);

	if ((unsigned int)kind >= SK_VIOLATION_NR)
		kind = SK_VIOLATION_INVALID_ARGUMENT;
	if (!caller)
		caller = __builtin_return_address(0);

	v.kind = kind;
	v.object = object;
	v.file = cs ? cs->file : NULL;
	v.func = cs ? cs->func : NULL;
	v.line = cs ? cs->line : 0;
	v.caller = caller;
	v.count = __atomic_add_fetch(&counts[kind], 1, __ATOMIC_RELAXED);

	if (in_report) {
		/* Raised from inside a report (a handler misusing something). */
		if (pol == SK_VIOLATION_ABORT)
			abort();
		return;
	}
	/*
	 * No cancellation inside a report: write() is a cancellation point,
	 * and a thread cancelled there died holding print_lock (every later
	 * report hung) without reaching the abort.  The handler runs with
	 * cancellation disabled too.
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	in_report = 1;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	} else {
		detail[0] = '\0';
	}
	v.detail = detail;

	fn = handler_get(&arg);
	if (fn) {
		fn(&v, arg);
	} else if (pol == SK_VIOLATION_ABORT) {
		print_report(&v, true);
	} else if (pol == SK_VIOLATION_WARN) {
		uintptr_t key = (cs ? (uintptr_t)cs : (uintptr_t)caller) ^ ((uintptr_t)kind << 56);

		if (first_report_from(key ? key : 1))
			print_report(&v, true);
	}

	in_report = 0;
	if (pol == SK_VIOLATION_ABORT) {
		static const char msg[] = "libsafekern: aborting (the violation policy is abort: "
					  "the default, SAFEKERN_VIOLATION=abort or "
					  "sk_violation_set_policy())\n";

		/* Still not cancellable: write() must not end the thread first. */
		write_all(msg, sizeof(msg) - 1);
		abort();
	}
	pthread_setcancelstate(cancel_state, NULL);
}

unsigned long sk_violation_count(enum sk_violation_kind kind)
{
	if ((unsigned int)kind >= SK_VIOLATION_NR)
		return 0;
	return __atomic_load_n(&counts[kind], __ATOMIC_RELAXED);
}

unsigned long sk_violation_total(void)
{
	unsigned long sum = 0;

	for (unsigned int k = 0; k < SK_VIOLATION_NR; k++)
		sum += __atomic_load_n(&counts[k], __ATOMIC_RELAXED);
	return sum;
}

const char *sk_violation_kind_name(enum sk_violation_kind kind)
{
	if ((unsigned int)kind >= SK_VIOLATION_NR || !kind_names[kind])
		return "invalid";
	return kind_names[kind];
}

void sk_violation_set_policy(enum sk_violation_policy p)
{
	if ((unsigned int)p > SK_VIOLATION_COUNT) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, NULL, NULL, __builtin_return_address(0),
			      "sk_violation_set_policy(%d): no such policy; policy unchanged", (int)p);
		return;
	}
	__atomic_store_n(&policy, (int)p, __ATOMIC_RELAXED);
}

enum sk_violation_policy sk_violation_get_policy(void)
{
	return (enum sk_violation_policy)__atomic_load_n(&policy, __ATOMIC_RELAXED);
}

void sk_violation_set_handler(sk_violation_handler_fn fn, void *arg)
{
	unsigned int seq;

	pthread_mutex_lock(&handler_lock);
	seq = __atomic_load_n(&handler_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&handler_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&handler_fn, fn, __ATOMIC_RELAXED);
	__atomic_store_n(&handler_arg, fn ? arg : NULL, __ATOMIC_RELAXED);
	SK_ANNOTATE_HAPPENS_BEFORE(&handler_seq);
	__atomic_store_n(&handler_seq, seq + 2, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&handler_lock);
}

int sk__violation_parse_policy(const char *value, enum sk_violation_policy *out)
{
	if (!strcmp(value, "abort"))
		*out = SK_VIOLATION_ABORT;
	else if (!strcmp(value, "warn"))
		*out = SK_VIOLATION_WARN;
	else if (!strcmp(value, "count"))
		*out = SK_VIOLATION_COUNT;
	else
		return -EINVAL;
	return 0;
}

/* A fork() in the middle of sk_violation_set_handler() would leave the
 * child's sequence count odd, and its reports waiting for ever. */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&handler_lock);
}

static void atfork_release(void)
{
	pthread_mutex_unlock(&handler_lock);
}

__attribute__((constructor)) static void violation_init(void)
{
	const char *env = getenv("SAFEKERN_VIOLATION");
	void *frame[1];

	/* backtrace() allocates on first use: do it now, not in a report. */
	(void)backtrace(frame, 1);
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);

	/* Relaxed atomics by design: tell helgrind and drd. */
	SK_ANNOTATE_BENIGN_RACE_SIZED(counts, sizeof(counts), "violation counters");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&policy, sizeof(policy), "violation policy");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&handler_seq, sizeof(handler_seq), "handler sequence");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&handler_fn, sizeof(handler_fn), "handler (seqcount)");
	SK_ANNOTATE_BENIGN_RACE_SIZED(&handler_arg, sizeof(handler_arg), "handler arg (seqcount)");
	SK_ANNOTATE_BENIGN_RACE_SIZED(seen, sizeof(seen), "printed call sites");

	if (env) {
		enum sk_violation_policy p;

		if (sk__violation_parse_policy(env, &p) == 0) {
			policy = (int)p;
		} else {
			char msg[256];
			int n = snprintf(msg, sizeof(msg),
					 "libsafekern: invalid SAFEKERN_VIOLATION=\"%.64s\" "
					 "(expected abort, warn or count); policy stays abort\n",
					 env);

			if (n > 0)
				write_all(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
			policy = SK_VIOLATION_ABORT;
		}
	}
}
