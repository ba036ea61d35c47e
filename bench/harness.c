/* SPDX-License-Identifier: MIT */
/*
 * bench/harness.c - the runner behind every benchmark program.
 *
 *   sk-bench [--quick] [--filter PATTERN] [--reps N] [--time-ms N]
 *            [--csv FILE] [--json FILE] [--list]
 *   sk-bench --callgrind GROUP/CASE [--iters N]
 *
 * See bench.h for the measurement model.  --callgrind runs one
 * single-threaded case once with callgrind instrumentation on around the
 * measured loop only (run it under valgrind --tool=callgrind
 * --instr-atstart=no; bench/callgrind.py does this for every case).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif

#include "bench.h"

#ifndef SK_BENCH_CFLAGS
#define SK_BENCH_CFLAGS "?"
#endif

static struct sk_bench_case *registry;
static unsigned int ncases;

void sk_bench_register(struct sk_bench_case *c)
{
	/* Append, so that cases appear in registration order. */
	struct sk_bench_case **p = &registry;

	while (*p)
		p = &(*p)->next;
	c->next = NULL;
	*p = c;
	ncases++;
}

struct options {
	bool quick;
	bool list;
	const char *filter;
	unsigned int reps;
	double time_ms;
	const char *csv;
	const char *json;
	const char *callgrind;
	uint64_t iters;
};

struct result {
	struct sk_bench_case *c;
	double *samples; /* ns per op */
	unsigned int n;
	double median, min, max;
	double ratio; /* to the group's baseline median; 0 if none */
	uint64_t iters;
};

static double now_ns(void)
{
	return sk_bench_now_ns();
}

static unsigned int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

static void pin_to(unsigned int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % ncpus(), &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		static int warned; /* one warning per run; a race only repeats it */

		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
			fprintf(stderr, "sk-bench: warning: cannot pin threads to CPUs "
					"(pthread_setaffinity_np failed): multi-threaded "
					"figures of this run may share a core\n");
	}
}

static unsigned int case_threads(const struct sk_bench_case *c)
{
	return c->threads ? c->threads : 1;
}

static double case_ops(const struct sk_bench_case *c, uint64_t iters)
{
	double per = c->ops_per_iter > 0 ? c->ops_per_iter : (double)case_threads(c);

	return (double)iters * per;
}

/*
 * The watchdog of a multi-threaded sample: the main thread sleeps until
 * every worker has finished or the deadline has passed, and then raises
 * @stop, which the workers can poll every iteration.  (A worker that only
 * read the clock every few thousand items could run on for minutes when a
 * peer collapses to milliseconds per item.)
 */
struct watchdog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int finished;
	int stop;
};

struct thread_arg {
	struct sk_bench_thread t;
	const struct sk_bench_case *c;
	pthread_barrier_t *barrier;
	struct watchdog *wd;
	pthread_t tid;
	double start, end;
};

/*
 * Each thread times its own run: the main thread, descheduled after the
 * barrier on a busy machine, could otherwise start the clock after the
 * workers finished (and report near-zero times).
 */
static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;

	pin_to(a->t.id);
	pthread_barrier_wait(a->barrier);
	a->start = now_ns();
	a->c->run(&a->t);
	a->end = now_ns();
	pthread_mutex_lock(&a->wd->lock);
	a->wd->finished++;
	pthread_cond_signal(&a->wd->cond);
	pthread_mutex_unlock(&a->wd->lock);
	return NULL;
}

/* Wait for the workers until @deadline_ns, then call the sample off. */
static void watch(struct watchdog *wd, unsigned int n, double deadline_ns)
{
	struct timespec ts = { (time_t)(deadline_ns / 1e9),
			       (long)(deadline_ns - (double)(time_t)(deadline_ns / 1e9) * 1e9) };

	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	pthread_mutex_lock(&wd->lock);
	while (wd->finished < n) {
		if (pthread_cond_timedwait(&wd->cond, &wd->lock, &ts) == ETIMEDOUT) {
			__atomic_store_n(&wd->stop, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&wd->lock);
}

/*
 * One timed sample: returns elapsed ns; *@done gets the iterations that
 * count (fewer than @iters if a thread gave up at its deadline, @budget_ns
 * after the threads were created).
 */
static double sample(struct sk_bench_case *c, uint64_t iters, double budget_ns, uint64_t *done)
{
	void *state = c->setup ? c->setup(c) : NULL;
	unsigned int n = case_threads(c);
	double t0, t1;

	if (c->setup && !state) {
		fprintf(stderr, "sk-bench: setup of %s/%s failed\n", c->group, c->name);
		exit(1);
	}
	*done = iters;
	if (!c->threads || c->threads == 1) {
		struct sk_bench_thread t = { 0, 1, iters, state, 0, 0, iters, NULL };

		t0 = now_ns();
		c->run(&t);
		t1 = now_ns();
		sk_bench_keep(t.sink);
	} else {
		struct thread_arg *args = calloc(n, sizeof(*args));
		pthread_barrier_t barrier;
		struct watchdog wd = { .finished = 0, .stop = 0 };
		pthread_condattr_t ca;

		if (!args) {
			perror("sk-bench");
			exit(1);
		}
		double deadline = now_ns() + budget_ns;

		pthread_mutex_init(&wd.lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&wd.cond, &ca);
		pthread_condattr_destroy(&ca);
		pthread_barrier_init(&barrier, NULL, n + 1);
		for (unsigned int i = 0; i < n; i++) {
			args[i].t = (struct sk_bench_thread){ i, n, iters, state, 0, deadline, iters,
							      &wd.stop };
			args[i].c = c;
			args[i].barrier = &barrier;
			args[i].wd = &wd;
			if (pthread_create(&args[i].tid, NULL, thread_main, &args[i])) {
				perror("sk-bench: pthread_create");
				exit(1);
			}
		}
		pthread_barrier_wait(&barrier);
		watch(&wd, n, deadline);
		for (unsigned int i = 0; i < n; i++)
			pthread_join(args[i].tid, NULL);
		/* From the first thread's start to the last thread's end. */
		t0 = args[0].start;
		t1 = args[0].end;
		for (unsigned int i = 1; i < n; i++) {
			t0 = args[i].start < t0 ? args[i].start : t0;
			t1 = args[i].end > t1 ? args[i].end : t1;
		}
		for (unsigned int i = 0; i < n; i++)
			if (args[i].t.done < *done)
				*done = args[i].t.done;
		pthread_barrier_destroy(&barrier);
		pthread_cond_destroy(&wd.cond);
		pthread_mutex_destroy(&wd.lock);
		free(args);
	}
	if (c->teardown)
		c->teardown(state);
	return t1 - t0;
}

/* How long a multi-threaded sample may run before its threads give up. */
#define SAMPLE_BUDGET(target_ns) ((target_ns) * 20 > 2e8 ? (target_ns) * 20 : 2e8)

/*
 * Calibration of a multi-threaded case trusts samples of this many
 * iterations or more (not in --quick runs, which only smoke-test).
 */
#define MIN_THREADED_ITERS (UINT64_C(1) << 16)

/* Iterations for one sample to take about @target_ns. */
static uint64_t calibrate(struct sk_bench_case *c, double target_ns, uint64_t min_threaded)
{
	uint64_t iters = 16;

	for (;;) {
		uint64_t done;
		double t = sample(c, iters, SAMPLE_BUDGET(target_ns), &done);

		/*
		 * Threads can take milliseconds to be scheduled on a loaded
		 * machine: a short threaded sample measures that, not the work,
		 * and would calibrate to samples that measure it again.  A
		 * sample ten times the target is trusted anyway (a case that
		 * collapses must not take minutes to calibrate).
		 */
		if (c->threads > 1 && iters < min_threaded && t < 10 * target_ns)
			t = 0;
		if (t >= target_ns / 8 || iters >= (UINT64_C(1) << 40) || done < iters) {
			double per = t / (double)(done ? done : 1);
			double want = per > 0 ? target_ns / per : (double)iters * 2;

			return want < 1 ? 1 : (uint64_t)want;
		}
		iters *= 4;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool selected(const struct options *o, const struct sk_bench_case *c)
{
	char full[256];

	if (!o->filter)
		return true;
	snprintf(full, sizeof(full), "%s/%s", c->group, c->name);
	if (strchr(o->filter, '*') || strchr(o->filter, '?') || strchr(o->filter, '['))
		return fnmatch(o->filter, full, 0) == 0;
	return strstr(full, o->filter) != NULL;
}

static void machine_line(FILE *f, const char *prefix)
{
	char model[256] = "unknown CPU";
	FILE *ci = fopen("/proc/cpuinfo", "r");
	struct utsname u;
	char line[512];
	time_t t = time(NULL);
	char date[64];

	if (ci) {
		while (fgets(line, sizeof(line), ci)) {
			char *colon = strchr(line, ':');

			if (!strncmp(line, "model name", 10) && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(ci);
	}
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));
	fprintf(f, "%smachine: %s, %u cores, %s %s | compiler: %s | flags: %s | %s\n", prefix,
		model, ncpus(), u.sysname, u.release,
#ifdef __clang__
		"clang " __clang_version__,
#else
		"gcc " __VERSION__,
#endif
		SK_BENCH_CFLAGS, date);
}

/* A CSV field, quoted (RFC 4180): case names may contain commas. */
static void csv_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sk-bench [--quick] [--filter PATTERN] [--reps N] [--time-ms N]\n"
		"                [--csv FILE] [--json FILE] [--list]\n"
		"       sk-bench --callgrind GROUP/CASE [--iters N]\n"
		"PATTERN is a substring of GROUP/CASE, or a glob if it has * ? [\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--quick")) {
			o->quick = true;
		} else if (!strcmp(a, "--list")) {
			o->list = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			exit(0);
		} else if (v && !strcmp(a, "--filter")) {
			o->filter = v, i++;
		} else if (v && !strcmp(a, "--reps")) {
			o->reps = (unsigned int)strtoul(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "--time-ms")) {
			o->time_ms = strtod(v, NULL), i++;
		} else if (v && !strcmp(a, "--csv")) {
			o->csv = v, i++;
		} else if (v && !strcmp(a, "--json")) {
			o->json = v, i++;
		} else if (v && !strcmp(a, "--callgrind")) {
			o->callgrind = v, i++;
		} else if (v && !strcmp(a, "--iters")) {
			o->iters = strtoull(v, NULL, 10), i++;
		} else {
			fprintf(stderr, "sk-bench: unknown or incomplete option '%s'\n", a);
			usage();
			return -1;
		}
	}
	if (!o->reps)
		o->reps = o->quick ? 3 : 11;
	if (o->time_ms <= 0)
		o->time_ms = o->quick ? 2 : 20;
	return 0;
}

static int run_callgrind(const struct options *o)
{
	for (struct sk_bench_case *c = registry; c; c = c->next) {
		char full[256];

		snprintf(full, sizeof(full), "%s/%s", c->group, c->name);
		if (strcmp(full, o->callgrind))
			continue;
		if (c->threads > 1) {
			fprintf(stderr, "sk-bench: %s is multi-threaded; callgrind mode takes "
					"single-threaded cases\n", full);
			return 2;
		}
		uint64_t iters = o->iters ? o->iters : c->callgrind_iters ? c->callgrind_iters : 20000;
		void *state = c->setup ? c->setup(c) : NULL;
		struct sk_bench_thread t = { 0, 1, iters, state, 0, 0, iters, NULL };

#ifdef HAVE_CALLGRIND
		CALLGRIND_START_INSTRUMENTATION;
#endif
		c->run(&t);
#ifdef HAVE_CALLGRIND
		CALLGRIND_STOP_INSTRUMENTATION;
#endif
		sk_bench_keep(t.sink);
		if (c->teardown)
			c->teardown(state);
		printf("%s iters=%llu ops=%.0f\n", full, (unsigned long long)iters, case_ops(c, iters));
		return 0;
	}
	fprintf(stderr, "sk-bench: no case named '%s' (see --list)\n", o->callgrind);
	return 2;
}

static void *nop_thread(void *arg)
{
	return arg;
}

/*
 * Make the process multi-threaded for good: glibc skips the locked
 * instruction of its mutexes (and takes other single-thread shortcuts, in
 * malloc too) while a process has never had a second thread, which no
 * program that needs a lock runs into.  Before every case, timed or under
 * callgrind, so that both measure the path a threaded program takes.
 */
static int go_multithreaded(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, nop_thread, NULL) || pthread_join(t, NULL)) {
		perror("sk-bench: starting a thread");
		return -1;
	}
	return 0;
}

int sk_bench_main(int argc, char **argv)
{
	struct options o = { 0 };
	struct result *res;
	unsigned int n = 0;
	FILE *csv = NULL, *json = NULL;

	if (parse(argc, argv, &o))
		return 2;
	if (go_multithreaded())
		return 1;
	if (o.callgrind)
		return run_callgrind(&o);

	if (o.list) {
		for (struct sk_bench_case *c = registry; c; c = c->next)
			if (selected(&o, c))
				printf("%s/%s\tthreads=%u%s\n", c->group, c->name, case_threads(c),
				       c->baseline ? "\tbaseline" : "");
		return 0;
	}

	res = calloc(ncases ? ncases : 1, sizeof(*res));
	if (!res)
		return 1;
	for (struct sk_bench_case *c = registry; c; c = c->next)
		if (selected(&o, c))
			res[n++].c = c;
	if (!n) {
		fprintf(stderr, "sk-bench: no case matches '%s'\n", o.filter ? o.filter : "");
		free(res);
		return 2;
	}

	pin_to(0);
	machine_line(stdout, "# ");
	printf("# %u samples per case, ~%.0f ms each, cases of a group interleaved; "
	       "ratio = median / baseline median\n",
	       o.reps, o.time_ms);
	printf("%-16s %-34s %3s %10s %21s %10s %8s\n", "group", "case", "thr", "ns/op", "(min - max)",
	       "Mops/s", "ratio");

	if (o.csv) {
		csv = fopen(o.csv, "w");
		if (!csv) {
			fprintf(stderr, "sk-bench: %s: %s\n", o.csv, strerror(errno));
			return 1;
		}
		machine_line(csv, "# ");
		fprintf(csv, "group,case,threads,ns_per_op_median,ns_per_op_min,ns_per_op_max,"
			     "mops_per_s,ratio_to_baseline,baseline,samples\n");
	}
	if (o.json) {
		json = fopen(o.json, "w");
		if (!json) {
			fprintf(stderr, "sk-bench: %s: %s\n", o.json, strerror(errno));
			return 1;
		}
		fprintf(json, "{\n  \"machine\": ");
		{
			char buf[1024];
			FILE *m = fmemopen(buf, sizeof(buf), "w");

			machine_line(m, "");
			fclose(m);
			buf[strcspn(buf, "\n")] = '\0';
			json_string(json, buf);
		}
		fprintf(json, ",\n  \"results\": [");
	}

	bool first_json = true;

	/* Groups in order of first appearance. */
	for (unsigned int gi = 0; gi < n; gi++) {
		const char *group = res[gi].c->group;
		bool seen_before = false;
		unsigned int members[256];
		unsigned int m = 0;
		int base = -1;

		for (unsigned int k = 0; k < gi; k++)
			if (!strcmp(res[k].c->group, group))
				seen_before = true;
		if (seen_before)
			continue;
		for (unsigned int k = gi; k < n && m < 256; k++)
			if (!strcmp(res[k].c->group, group))
				members[m++] = k;

		for (unsigned int k = 0; k < m; k++) {
			struct result *r = &res[members[k]];

			r->iters = calibrate(r->c, o.time_ms * 1e6, o.quick ? 0 : MIN_THREADED_ITERS);
			r->samples = calloc(o.reps, sizeof(double));
			if (!r->samples)
				return 1;
			if (r->c->baseline && base < 0)
				base = (int)members[k];
		}
		/* Interleave: one sample of each case per round. */
		for (unsigned int rep = 0; rep < o.reps; rep++) {
			for (unsigned int k = 0; k < m; k++) {
				struct result *r = &res[members[k]];
				uint64_t done;
				double t = sample(r->c, r->iters, SAMPLE_BUDGET(o.time_ms * 1e6),
						  &done);

				r->samples[r->n++] = t / case_ops(r->c, done ? done : 1);
			}
		}
		for (unsigned int k = 0; k < m; k++) {
			struct result *r = &res[members[k]];

			qsort(r->samples, r->n, sizeof(double), cmp_double);
			r->min = r->samples[0];
			r->max = r->samples[r->n - 1];
			r->median = r->n % 2 ? r->samples[r->n / 2]
					     : (r->samples[r->n / 2 - 1] + r->samples[r->n / 2]) / 2;
		}
		for (unsigned int k = 0; k < m; k++) {
			struct result *r = &res[members[k]];
			char range[64];

			r->ratio = base >= 0 && res[base].median > 0 ? r->median / res[base].median : 0;
			snprintf(range, sizeof(range), "(%.3g - %.3g)", r->min, r->max);
			printf("%-16s %-34s %3u %10.3f %21s %10.2f ", r->c->group, r->c->name,
			       case_threads(r->c), r->median, range, 1e3 / r->median);
			if (base >= 0)
				printf("%7.2fx%s\n", r->ratio, r->c->baseline ? " (baseline)" : "");
			else
				printf("%8s\n", "-");
			if (csv) {
				csv_string(csv, r->c->group);
				fputc(',', csv);
				csv_string(csv, r->c->name);
				fprintf(csv, ",%u,%.4f,%.4f,%.4f,%.3f,%.4f,%d,%u\n",
					case_threads(r->c), r->median, r->min, r->max,
					1e3 / r->median, r->ratio, r->c->baseline, r->n);
			}
			if (json) {
				fprintf(json, "%s\n    {\"group\": ", first_json ? "" : ",");
				json_string(json, r->c->group);
				fprintf(json, ", \"case\": ");
				json_string(json, r->c->name);
				fprintf(json,
					", \"threads\": %u, \"ns_per_op\": {\"median\": %.4f, "
					"\"min\": %.4f, \"max\": %.4f}, \"mops_per_s\": %.3f, "
					"\"ratio\": %.4f, \"baseline\": %s, \"samples\": %u}",
					case_threads(r->c), r->median, r->min, r->max, 1e3 / r->median,
					r->ratio, r->c->baseline ? "true" : "false", r->n);
				first_json = false;
			}
			free(r->samples);
		}
		fflush(stdout);
	}
	if (csv)
		fclose(csv);
	if (json) {
		fprintf(json, "\n  ]\n}\n");
		fclose(json);
	}
	free(res);
	return 0;
}
