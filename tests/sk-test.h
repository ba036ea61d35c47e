/* SPDX-License-Identifier: MIT */
/*
 * tests/sk-test.h - shared helpers for libsafekern's tests.
 *
 * Criterion suites include it as is.  Plain stress programs (which must run
 * under TSan, where Criterion cannot) define SK_TEST_PLAIN first and get
 * the same helpers with abort-on-failure assertions.
 */
#ifndef SK_TEST_H
#define SK_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <safekern/violation.h>

#ifndef SK_TEST_PLAIN
#include <criterion/criterion.h>
#endif

/*
 * Test-side flags polled with relaxed atomics (a "stop" word, say) are
 * invisible synchronisation to helgrind and drd: declare them.
 */
#if defined(__has_include) && __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define SK_TEST_BENIGN_RACE(addr, size) ANNOTATE_BENIGN_RACE_SIZED(addr, size, "test flag")
#define SK_TEST_HAPPENS_BEFORE(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define SK_TEST_HAPPENS_AFTER(addr) ANNOTATE_HAPPENS_AFTER(addr)
#else
#define SK_TEST_BENIGN_RACE(addr, size) ((void)(addr), (void)(size))
#define SK_TEST_HAPPENS_BEFORE(addr) ((void)(addr))
#define SK_TEST_HAPPENS_AFTER(addr) ((void)(addr))
#endif

/*
 * SK_TEST_MAKE_DEFINED() - tell memcheck that a test reads memory whose
 * old contents it means to look at (a word left by the previous user of
 * a recycled object, say).
 */
#if defined(__has_include) && __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SK_TEST_MAKE_DEFINED(addr, size) ((void)VALGRIND_MAKE_MEM_DEFINED(addr, size))
#else
#define SK_TEST_MAKE_DEFINED(addr, size) ((void)(addr), (void)(size))
#endif

/*
 * Loop counts scale with SAFEKERN_TEST_SCALE (default 1; the sanitizer
 * builds set less) and shrink 20x more under valgrind, which tests/valgrind.sh
 * announces with SAFEKERN_VALGRIND=1.
 */
static inline double sk_test_scale(void)
{
	const char *s = getenv("SAFEKERN_TEST_SCALE");
	double scale = s ? strtod(s, NULL) : 1.0;

	if (scale <= 0)
		scale = 1.0;
	if (getenv("SAFEKERN_VALGRIND"))
		scale /= 20.0;
	return scale;
}

/* @n scaled, never below @min. */
static inline uint64_t sk_test_iters(uint64_t n, uint64_t min)
{
	double v = (double)n * sk_test_scale();

	return v < (double)min ? min : (uint64_t)v;
}

static inline int sk_test_under_valgrind(void)
{
	return getenv("SAFEKERN_VALGRIND") != NULL;
}

#ifdef SK_TEST_PLAIN
#define sk_check(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)
#else
#define sk_check(cond, ...) cr_assert(cond, __VA_ARGS__)
#endif

/*
 * Every report a test process makes must be one the test expected: the
 * SK_EXPECT_VIOLATION() statements count theirs (one each, whatever a
 * recording handler saw meanwhile), a test that checks counts or recorded
 * reports itself says how many it has checked with SK_TEST_ACCOUNT(), and
 * at exit (registered by sk_test_count_policy() in Criterion suites; the
 * plain stress programs keep their own accounts) the process aborts if
 * sk_violation_total() says otherwise, so that a false report on a path
 * that still returns the right value fails the test (Criterion counts a
 * worker that crashes after its test as a failed run).
 */
static SK_UNUSED unsigned long sk_test_accounted;

#define SK_TEST_ACCOUNT(n) __atomic_fetch_add(&sk_test_accounted, (unsigned long)(n), __ATOMIC_RELAXED)

/*
 * SK_EXPECT_VIOLATION() - run @stmt and check that it made exactly one
 * report, of @kind.  The policy must be one that recovers (tests set
 * SK_VIOLATION_COUNT in their fixture; see sk_test_count_policy()).
 */
#define SK_EXPECT_VIOLATION(kind, stmt)                                       \
	do {                                                                  \
		unsigned long sk_t_before = sk_violation_count(kind);         \
		unsigned long sk_t_total = sk_violation_total();              \
		unsigned long sk_t_acc = __atomic_load_n(&sk_test_accounted, __ATOMIC_RELAXED); \
		stmt;                                                         \
		sk_check(sk_violation_count(kind) - sk_t_before == 1,         \
			 "expected one %s violation from `%s`, got %lu",      \
			 sk_violation_kind_name(kind), #stmt,                 \
			 sk_violation_count(kind) - sk_t_before);             \
		sk_check(sk_violation_total() - sk_t_total == 1,              \
			 "expected exactly one violation in all from `%s`, got %lu", \
			 #stmt, sk_violation_total() - sk_t_total);           \
		/* one, whatever @stmt accounted itself */                    \
		__atomic_store_n(&sk_test_accounted, sk_t_acc + 1, __ATOMIC_RELAXED); \
	} while (0)

/* SK_EXPECT_NO_VIOLATION() - run @stmt and check that it reported nothing. */
#define SK_EXPECT_NO_VIOLATION(stmt)                                          \
	do {                                                                  \
		unsigned long sk_t_total = sk_violation_total();              \
		stmt;                                                         \
		sk_check(sk_violation_total() == sk_t_total,                  \
			 "unexpected violation from `%s`", #stmt);            \
	} while (0)

#ifndef SK_TEST_PLAIN /* the stress programs keep their own accounts */
static pid_t sk_test_pid;

static void sk_test_check_accounted(void)
{
	unsigned long total = sk_violation_total();
	unsigned long accounted = __atomic_load_n(&sk_test_accounted, __ATOMIC_RELAXED);

	if (getpid() != sk_test_pid || total == accounted)
		return;
	fprintf(stderr, "%lu violation report(s) in this test process, %lu expected by the test\n",
		total, accounted);
	for (int k = 0; k < SK_VIOLATION_NR; k++)
		if (sk_violation_count((enum sk_violation_kind)k))
			fprintf(stderr, "  %s: %lu\n",
				sk_violation_kind_name((enum sk_violation_kind)k),
				sk_violation_count((enum sk_violation_kind)k));
	abort();
}
#endif

/* A fixture body: recover from violations and count them, silently; at
 * exit, check that every report was expected (see SK_TEST_ACCOUNT()). */
static inline void sk_test_count_policy(void)
{
	sk_violation_set_policy(SK_VIOLATION_COUNT);
#ifndef SK_TEST_PLAIN
	if (sk_test_pid != getpid()) {
		sk_test_pid = getpid();
		atexit(sk_test_check_accounted);
	}
#endif
}

/**
 * struct sk_test_report - what the last violation report said
 * @kind: its kind
 * @object: the misused object
 * @file: a copy of the caller's file, "" when the report had none
 * @line: the caller's line, or 0
 * @detail: a copy of the detail (the library's own buffer is 1024 bytes)
 * @calls: reports recorded since sk_test_record_start()
 *
 * Reports must not race each other while a test records them.
 */
struct sk_test_report {
	enum sk_violation_kind kind;
	const void *object;
	char file[256];
	unsigned int line;
	char detail[2048];
	unsigned long calls;
};

/* sk_test_record() - a violation handler; @arg is the struct sk_test_report. */
static inline void sk_test_record(const struct sk_violation *v, void *arg)
{
	struct sk_test_report *r = arg;

	r->kind = v->kind;
	r->object = v->object;
	snprintf(r->file, sizeof(r->file), "%s", v->file ? v->file : "");
	r->line = v->line;
	snprintf(r->detail, sizeof(r->detail), "%s", v->detail);
	r->calls++;
}

static struct sk_test_report *sk_test_recording;
static unsigned long sk_test_recording_from;

static inline void sk_test_record_stop(void);

/* Clear @r and record every report into it, instead of printing (a
 * recording still on is stopped first). */
static inline void sk_test_record_start(struct sk_test_report *r)
{
	if (sk_test_recording)
		sk_test_record_stop();
	memset(r, 0, sizeof(*r));
	sk_test_recording = r;
	sk_test_recording_from = __atomic_load_n(&sk_test_accounted, __ATOMIC_RELAXED);
	sk_violation_set_handler(sk_test_record, r);
}

/* Back to the built-in printing.  The reports recorded since
 * sk_test_record_start() count as expected: the test has them in its
 * struct sk_test_report to check (SK_EXPECT_VIOLATION()s in between are
 * among them).  A recorder that is never stopped (one installed for a
 * whole suite) accounts for nothing. */
static inline void sk_test_record_stop(void)
{
	sk_violation_set_handler(NULL, NULL);
	if (sk_test_recording)
		__atomic_store_n(&sk_test_accounted,
				 sk_test_recording_from + sk_test_recording->calls,
				 __ATOMIC_RELAXED);
	sk_test_recording = NULL;
}

#endif /* SK_TEST_H */
