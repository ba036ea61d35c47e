/* SPDX-License-Identifier: MIT */
/*
 * tests/test-violation.c - the violation channel: kinds, counters, each
 * policy, the environment variable, the handler, call sites, concurrency.
 */
#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <safekern/violation.h>

#include "sk-test.h"

extern char **environ;

/* ------------------------------------------------------------------------
 * stderr capture into a temporary file (the reporter uses write(2)).
 * ------------------------------------------------------------------------ */

struct capture {
	FILE *file;
	int saved_fd;
};

static void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	cr_assert_not_null(c->file);
	c->saved_fd = dup(STDERR_FILENO);
	cr_assert_geq(c->saved_fd, 0);
	cr_assert_geq(dup2(fileno(c->file), STDERR_FILENO), 0);
}

/* Ends the capture and returns what was written, NUL-terminated. */
static char *capture_end(struct capture *c, char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	rewind(c->file);
	n = fread(buf, 1, len - 1, c->file);
	buf[n] = '\0';
	fclose(c->file);
	return buf;
}

static unsigned int count_substr(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Runs @fn in a child with stderr on a pipe; returns the wait status. */
static int run_child(void (*fn)(void *), void *arg, char *out, size_t len)
{
	int fds[2];
	int status;
	size_t got = 0;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static int object;

/* ------------------------------------------------------------------------
 * Kinds and counters
 * ------------------------------------------------------------------------ */

Test(violation, kind_names_are_stable_distinct_lower_case)
{
	for (int k = 0; k < SK_VIOLATION_NR; k++) {
		const char *name = sk_violation_kind_name((enum sk_violation_kind)k);

		cr_assert_str_neq(name, "invalid", "kind %d has no name", k);
		for (const char *p = name; *p; p++)
			cr_assert(islower((unsigned char)*p) || *p == '_', "kind name %s", name);
		for (int j = 0; j < k; j++)
			cr_assert_str_neq(name, sk_violation_kind_name((enum sk_violation_kind)j));
	}
	cr_assert_str_eq(sk_violation_kind_name(SK_VIOLATION_REFCOUNT_OVERFLOW), "refcount_overflow");
	cr_assert_str_eq(sk_violation_kind_name(SK_VIOLATION_LIST_CORRUPTION), "list_corruption");
	cr_assert_str_eq(sk_violation_kind_name(SK_VIOLATION_NR), "invalid");
	cr_assert_str_eq(sk_violation_kind_name((enum sk_violation_kind)-1), "invalid");
	cr_assert_eq(sk_violation_count(SK_VIOLATION_NR), 0);
	cr_assert_eq(sk_violation_count((enum sk_violation_kind)-1), 0);
}

Test(violation, default_policy_is_abort)
{
	/* The test runner does not set SAFEKERN_VIOLATION. */
	if (getenv("SAFEKERN_VIOLATION"))
		cr_skip_test("SAFEKERN_VIOLATION is set in the environment");
	cr_assert_eq(sk_violation_get_policy(), SK_VIOLATION_ABORT);
	cr_assert_eq(sk_violation_total(), 0);
}

Test(violation, count_policy_counts_silently)
{
	struct capture c;
	char out[4096];

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	cr_assert_eq(sk_violation_get_policy(), SK_VIOLATION_COUNT);
	capture_begin(&c);
	SK_EXPECT_VIOLATION(SK_VIOLATION_USER, sk_violation_report(SK_VIOLATION_USER, &object, "one"));
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION,
			    sk_violation_report(SK_VIOLATION_LIST_CORRUPTION, &object, "two"));
	capture_end(&c, out, sizeof(out));
	cr_assert_str_eq(out, "", "count policy printed: %s", out);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_USER), 1);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_LIST_CORRUPTION), 1);
	cr_assert_eq(sk_violation_total(), 2);
}

Test(violation, invalid_policy_is_reported_and_ignored)
{
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_violation_set_policy((enum sk_violation_policy)42));
	cr_assert_eq(sk_violation_get_policy(), SK_VIOLATION_COUNT);
}

Test(violation, invalid_kind_is_counted_as_invalid_argument)
{
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	SK_EXPECT_VIOLATION(SK_VIOLATION_INVALID_ARGUMENT,
			    sk_violation_report((enum sk_violation_kind)999, &object, "bad kind"));
}

/* ------------------------------------------------------------------------
 * warn: printed once per call site, with kind, object and call site
 * ------------------------------------------------------------------------ */

Test(violation, warn_prints_once_per_call_site)
{
	struct capture c;
	char out[16384];
	char expect[128];
	int site_line = 0;

	sk_violation_set_policy(SK_VIOLATION_WARN);
	capture_begin(&c);
	for (int i = 0; i < 3; i++) {
		site_line = __LINE__ + 1;
		sk_violation_report(SK_VIOLATION_HANDLE_STALE, &object, "iteration %d", i);
	}
	sk_violation_report(SK_VIOLATION_HANDLE_STALE, &object, "another site");
	capture_end(&c, out, sizeof(out));

	cr_assert_eq(sk_violation_count(SK_VIOLATION_HANDLE_STALE), 4);
	cr_assert_eq(count_substr(out, "libsafekern: violation: handle_stale"), 2, "%s", out);
	snprintf(expect, sizeof(expect), "on object %p at ", (void *)&object);
	cr_assert(strstr(out, expect), "object address missing: %s", out);
	snprintf(expect, sizeof(expect), "test-violation.c:%d in %s()", site_line, __func__);
	cr_assert(strstr(out, expect), "call site %s missing: %s", expect, out);
	cr_assert(strstr(out, "iteration 0"), "%s", out);
	cr_assert_null(strstr(out, "iteration 1"), "second report from one site printed: %s", out);
	cr_assert(strstr(out, "another site"), "%s", out);
	cr_assert(strstr(out, "backtrace:"), "%s", out);
}

/* A function-style API: no callsite, the caller's return address instead. */
SK_NOINLINE void sk_test_trigger_from_function(void);
SK_NOINLINE void sk_test_trigger_from_function(void)
{
	sk__violation(SK_VIOLATION_USER, &object, NULL, NULL, "from a function");
	__asm__ volatile("" ::: "memory"); /* keep the call a call, not a tail jump */
}

Test(violation, function_caller_is_resolved_to_a_symbol)
{
	struct capture c;
	char out[16384];

	sk_violation_set_policy(SK_VIOLATION_WARN);
	capture_begin(&c);
	sk_test_trigger_from_function();
	capture_end(&c, out, sizeof(out));
	cr_assert(strstr(out, "at sk_test_trigger_from_function+0x"), "%s", out);
	cr_assert(strstr(out, "caller: sk_test_trigger_from_function+0x"), "%s", out);
}

/* ------------------------------------------------------------------------
 * abort: printed with a backtrace, then SIGABRT
 * ------------------------------------------------------------------------ */

static void abort_child(void *arg)
{
	(void)arg;
	sk_violation_set_policy(SK_VIOLATION_ABORT);
	sk_violation_report(SK_VIOLATION_REFCOUNT_UNDERFLOW, &object, "detail %d", 7);
	fprintf(stderr, "STILL RUNNING\n");
}

Test(violation, abort_policy_reports_then_aborts)
{
	char out[16384];
	char expect[128];
	int status;

	status = run_child(abort_child, NULL, out, sizeof(out));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s", status, out);
	cr_assert(strstr(out, "libsafekern: violation: refcount_underflow"), "%s", out);
	snprintf(expect, sizeof(expect), "on object %p", (void *)&object);
	cr_assert(strstr(out, expect), "%s", out);
	cr_assert(strstr(out, "test-violation.c:"), "%s", out);
	cr_assert(strstr(out, " in abort_child()"), "%s", out);
	cr_assert(strstr(out, "detail 7"), "%s", out);
	cr_assert(strstr(out, "backtrace:"), "%s", out);
	cr_assert(strstr(out, "aborting"), "%s", out);
	cr_assert_null(strstr(out, "STILL RUNNING"));
}

Test(violation, default_abort_is_a_death, .signal = SIGABRT)
{
	sk_violation_report(SK_VIOLATION_USER, &object, "must abort");
}

/* ------------------------------------------------------------------------
 * The handler
 * ------------------------------------------------------------------------ */

struct seen {
	unsigned long calls;
	struct sk_violation last;
	char detail[256];
	void *arg;
};

static void record_handler(const struct sk_violation *v, void *arg)
{
	struct seen *s = arg;

	__atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
	s->last = *v;
	snprintf(s->detail, sizeof(s->detail), "%s", v->detail);
	s->last.detail = s->detail;
	s->arg = arg;
}

Test(violation, handler_receives_the_report_and_replaces_printing)
{
	static struct seen s;
	struct capture c;
	char out[4096];
	int line;

	sk_violation_set_policy(SK_VIOLATION_WARN);
	sk_violation_set_handler(record_handler, &s);
	capture_begin(&c);
	line = __LINE__ + 1;
	sk_violation_report(SK_VIOLATION_RING_CORRUPTION, &object, "head %d tail %d", 5, 9);
	capture_end(&c, out, sizeof(out));

	cr_assert_str_eq(out, "", "handler did not replace printing: %s", out);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.arg, &s);
	cr_assert_eq(s.last.kind, SK_VIOLATION_RING_CORRUPTION);
	cr_assert_eq(s.last.object, &object);
	cr_assert_str_eq(s.last.file, __FILE__);
	cr_assert_str_eq(s.last.func, __func__);
	cr_assert_eq(s.last.line, (unsigned int)line);
	cr_assert_not_null(s.last.caller);
	cr_assert_str_eq(s.detail, "head 5 tail 9");
	cr_assert_eq(s.last.count, 1);

	/* The handler sees every report, not once per site. */
	sk_violation_report(SK_VIOLATION_RING_CORRUPTION, &object, "again");
	cr_assert_eq(s.calls, 2);
	cr_assert_eq(s.last.count, 2);

	/* NULL restores the built-in printing. */
	sk_violation_set_handler(NULL, NULL);
	capture_begin(&c);
	sk_violation_report(SK_VIOLATION_RING_CORRUPTION, &object, "printed");
	capture_end(&c, out, sizeof(out));
	cr_assert(strstr(out, "ring_corruption"), "%s", out);
	cr_assert_eq(s.calls, 2);
}

static void handler_then_abort_child(void *arg)
{
	sk_violation_set_handler(record_handler, arg);
	sk_violation_set_policy(SK_VIOLATION_ABORT);
	sk_violation_report(SK_VIOLATION_USER, &object, "x");
	fprintf(stderr, "STILL RUNNING\n");
}

Test(violation, abort_policy_aborts_after_the_handler)
{
	static struct seen s;
	char out[4096];
	int status = run_child(handler_then_abort_child, &s, out, sizeof(out));

	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x", status);
	cr_assert_null(strstr(out, "STILL RUNNING"));
}

static void reentrant_handler(const struct sk_violation *v, void *arg)
{
	unsigned long *calls = arg;

	(*calls)++;
	if (v->kind == SK_VIOLATION_USER)
		sk_violation_report(SK_VIOLATION_INVALID_ARGUMENT, &object, "nested");
}

Test(violation, a_report_from_inside_a_handler_is_counted_not_reentered)
{
	static unsigned long calls;

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_violation_set_handler(reentrant_handler, &calls);
	sk_violation_report(SK_VIOLATION_USER, &object, "outer");
	cr_assert_eq(calls, 1);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_USER), 1);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_INVALID_ARGUMENT), 1);
	cr_assert_eq(sk_violation_total(), 2);
}

/* ------------------------------------------------------------------------
 * SAFEKERN_VIOLATION, read at load time: run a helper with it set
 * ------------------------------------------------------------------------ */

static int spawn_helper(const char *env_value, char *out, size_t len)
{
	const char *helper = getenv("SK_TEST_ENV_HELPER");
	char envbuf[128];
	char *envp[2] = { NULL, NULL };
	char *argv[] = { (char *)helper, NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], status;
	size_t got = 0;
	pid_t pid;

	cr_assert_not_null(helper, "SK_TEST_ENV_HELPER not set (run through meson test)");
	if (env_value) {
		snprintf(envbuf, sizeof(envbuf), "SAFEKERN_VIOLATION=%s", env_value);
		envp[0] = envbuf;
	}
	cr_assert_eq(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	cr_assert_eq(posix_spawn(&pid, helper, &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(violation_env, unset_means_abort)
{
	char out[8192];
	int status = spawn_helper(NULL, out, sizeof(out));

	cr_assert(strstr(out, "policy=abort"), "%s", out);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s", status, out);
}

Test(violation_env, warn)
{
	char out[8192];
	int status = spawn_helper("warn", out, sizeof(out));

	cr_assert(strstr(out, "policy=warn"), "%s", out);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, out);
	cr_assert_eq(count_substr(out, "libsafekern: violation: user"), 1, "%s", out);
	cr_assert(strstr(out, "violation-env-helper.c:"), "%s", out);
	cr_assert(strstr(out, "count=2"), "%s", out);
}

Test(violation_env, count)
{
	char out[8192];
	int status = spawn_helper("count", out, sizeof(out));

	cr_assert(strstr(out, "policy=count"), "%s", out);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, out);
	cr_assert_null(strstr(out, "libsafekern: violation"), "%s", out);
	cr_assert(strstr(out, "count=2"), "%s", out);
}

Test(violation_env, abort)
{
	char out[8192];
	int status = spawn_helper("abort", out, sizeof(out));

	cr_assert(strstr(out, "policy=abort"), "%s", out);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s", status, out);
	cr_assert(strstr(out, "libsafekern: violation: user"), "%s", out);
}

/* An empty value is a value too: reported, as any other that is not a policy. */
Test(violation_env, invalid_value_is_reported_and_policy_stays_abort)
{
	static const char *const values[] = { "warning", "" };

	for (size_t i = 0; i < SK_ARRAY_SIZE(values); i++) {
		char out[8192], want[64];
		int status = spawn_helper(values[i], out, sizeof(out));

		snprintf(want, sizeof(want), "invalid SAFEKERN_VIOLATION=\"%s\"", values[i]);
		cr_assert(strstr(out, want), "%s", out);
		cr_assert(strstr(out, "policy=abort"), "%s", out);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s",
			  status, out);
	}
}

/* ------------------------------------------------------------------------
 * Concurrent reports
 * ------------------------------------------------------------------------ */

#define THREADS 8

struct worker {
	pthread_barrier_t *barrier;
	uint64_t iters;
};

static void *report_worker(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->barrier);
	for (uint64_t i = 0; i < w->iters; i++)
		sk_violation_report(SK_VIOLATION_ALLOC_DOUBLE_FREE, &object, "concurrent %lu",
				    (unsigned long)i);
	return NULL;
}

static void run_workers(uint64_t iters)
{
	pthread_t t[THREADS];
	pthread_barrier_t barrier;
	struct worker w = { &barrier, iters };

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, report_worker, &w), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
}

Test(violation_concurrent, counters_are_exact)
{
	uint64_t iters = sk_test_iters(20000, 100);

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	run_workers(iters);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE), THREADS * iters);
	cr_assert_eq(sk_violation_total(), THREADS * iters);
}

Test(violation_concurrent, warn_prints_one_site_once_across_threads)
{
	uint64_t iters = sk_test_iters(2000, 50);
	struct capture c;
	static char out[65536];

	sk_violation_set_policy(SK_VIOLATION_WARN);
	capture_begin(&c);
	run_workers(iters);
	capture_end(&c, out, sizeof(out));
	cr_assert_eq(count_substr(out, "libsafekern: violation:"), 1, "%s", out);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_ALLOC_DOUBLE_FREE), THREADS * iters);
}

static void counting_handler(const struct sk_violation *v, void *arg)
{
	(void)v;
	__atomic_add_fetch((unsigned long *)arg, 1, __ATOMIC_RELAXED);
}

Test(violation_concurrent, handler_sees_every_report)
{
	static unsigned long calls;
	uint64_t iters = sk_test_iters(20000, 100);

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_violation_set_handler(counting_handler, &calls);
	run_workers(iters);
	cr_assert_eq(calls, THREADS * iters);
}

/*
 * A thread with a cancellation pending reports.  write() is a cancellation
 * point: the report used to end there, the thread dying with the print lock
 * held, so the report was never finished (no abort under that policy) and
 * every later report hung.  The report completes; the cancellation acts at
 * the thread's next cancellation point.
 */
static void *cancelled_reporter(void *arg)
{
	int *returned = arg;

	pthread_cancel(pthread_self());
	sk_violation_report(SK_VIOLATION_USER, &object, "cancellation pending");
	*returned = 1;
	pthread_testcancel();
	return NULL;
}

Test(violation_concurrent, a_pending_cancellation_does_not_end_a_report, .timeout = 30)
{
	static char out[8192];
	struct capture c;
	pthread_t t;
	void *res;
	int returned = 0;

	sk_violation_set_policy(SK_VIOLATION_WARN);
	capture_begin(&c);
	cr_assert_eq(pthread_create(&t, NULL, cancelled_reporter, &returned), 0);
	cr_assert_eq(pthread_join(t, &res), 0);
	sk_violation_report(SK_VIOLATION_USER, &object, "after the cancelled thread");
	capture_end(&c, out, sizeof(out));
	cr_assert_eq(returned, 1, "the report did not return: %s", out);
	cr_assert_eq(res, PTHREAD_CANCELED, "the cancellation was lost");
	cr_assert(strstr(out, "cancellation pending"), "%s", out);
	cr_assert(strstr(out, "after the cancelled thread"), "%s", out);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_USER), 2);
}

/* The same under the abort policy, in a child: the process must abort. */
static void *cancelled_aborter(void *arg)
{
	(void)arg;
	pthread_cancel(pthread_self());
	sk_violation_report(SK_VIOLATION_USER, &object, "cancellation pending");
	return NULL;
}

static void cancelled_abort_child(void *arg)
{
	pthread_t t;

	(void)arg;
	sk_violation_set_policy(SK_VIOLATION_ABORT);
	if (pthread_create(&t, NULL, cancelled_aborter, NULL) == 0)
		pthread_join(t, NULL);
	fprintf(stderr, "STILL RUNNING\n");
}

Test(violation_concurrent, a_pending_cancellation_does_not_stop_the_abort, .timeout = 30)
{
	static char out[16384];
	int status = run_child(cancelled_abort_child, NULL, out, sizeof(out));

	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s", status, out);
	cr_assert(strstr(out, "cancellation pending"), "%s", out);
	cr_assert(strstr(out, "aborting"), "%s", out);
	cr_assert_null(strstr(out, "STILL RUNNING"), "%s", out);
}

/*
 * Handlers changed while another thread reports: every call is one of the
 * pairs that were set, never a handler with another handler's argument
 * (two slots used in turn gave that, about once in 7,000 calls).
 */
struct tagged {
	unsigned long calls, wrong;
};

static struct tagged tag_a, tag_b, tag_c;

#define TAGGED_HANDLER(name, tag)                                            \
	static void name(const struct sk_violation *v, void *arg)            \
	{                                                                     \
		(void)v;                                                      \
		tag.calls++; /* only the reporting thread calls handlers */   \
		if (arg != &tag)                                              \
			tag.wrong++;                                          \
	}
TAGGED_HANDLER(handler_a, tag_a)
TAGGED_HANDLER(handler_b, tag_b)
TAGGED_HANDLER(handler_c, tag_c)

static int reporting_done;

static void *tagged_reporter(void *arg)
{
	uint64_t iters = *(uint64_t *)arg;

	for (uint64_t i = 0; i < iters; i++)
		sk_violation_report(SK_VIOLATION_USER, &object, "tagged");
	__atomic_store_n(&reporting_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(violation_concurrent, a_handler_gets_its_own_argument)
{
	uint64_t iters = sk_test_iters(400000, 2000);
	pthread_t t;
	unsigned long sets = 0;

	sk_violation_set_policy(SK_VIOLATION_COUNT);
	sk_violation_set_handler(handler_a, &tag_a);
	cr_assert_eq(pthread_create(&t, NULL, tagged_reporter, &iters), 0);
	while (!__atomic_load_n(&reporting_done, __ATOMIC_ACQUIRE)) {
		sk_violation_set_handler(handler_b, &tag_b);
		sk_violation_set_handler(handler_c, &tag_c);
		sk_violation_set_handler(handler_a, &tag_a);
		sets += 3;
	}
	pthread_join(t, NULL);
	sk_violation_set_handler(NULL, NULL);
	cr_assert_eq(tag_a.calls + tag_b.calls + tag_c.calls, iters);
	cr_assert_eq(tag_a.wrong + tag_b.wrong + tag_c.wrong, 0,
		     "%lu of %lu calls had another handler's argument (%lu changes)",
		     tag_a.wrong + tag_b.wrong + tag_c.wrong, (unsigned long)iters, sets);
	cr_assert_eq(sk_violation_count(SK_VIOLATION_USER), iters);
}
