/* SPDX-License-Identifier: MIT */
/*
 * bench/raw/alloc.h - the raw-C baselines of the "alloc" groups: what a C
 * programmer calls without libsafekern.
 *
 *   mallocx/sdallocx   jemalloc's non-standard API beside glibc's malloc,
 *                      as a program that links jemalloc without replacing
 *                      malloc calls it (the baseline until 2026-11-26);
 *   je malloc/free     jemalloc's standard entry points, as a program that
 *                      replaced its malloc with jemalloc calls them (the
 *                      baseline since: the faster; bench/group-alloc.c);
 *   glibc malloc/free  the default.
 *
 * The benchmark program must not link jemalloc itself (it would then
 * replace glibc's malloc in the whole process), so each function is looked
 * up in the library that defines it: jemalloc is loaded already, as a
 * dependency of libsafekern.  An indirect call costs what the PLT call of
 * a linked program costs.
 */
#ifndef SK_BENCH_RAW_ALLOC_H
#define SK_BENCH_RAW_ALLOC_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct raw_alloc_fns {
	void *(*mallocx)(size_t size, int flags);
	void (*sdallocx)(void *p, size_t size, int flags);
	void *(*je_malloc)(size_t size);
	void (*je_free)(void *p);
	void *(*libc_malloc)(size_t size);
	void (*libc_free)(void *p);
};

static struct raw_alloc_fns raw_alloc;

static void *raw_alloc_sym(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
	void *f = h ? dlsym(h, name) : NULL;

	if (!f) {
		fprintf(stderr, "sk-bench: %s not found in %s\n", name, lib);
		exit(1);
	}
	dlclose(h);
	return f;
}

#define RAW_ALLOC_FN(dst, lib, name) ((dst) = (__typeof__(dst))(uintptr_t)raw_alloc_sym(lib, name))

/* Look everything up once (any case's setup calls this). */
static void raw_alloc_resolve(void)
{
	if (raw_alloc.libc_malloc)
		return;
#ifdef SK_BENCH_HAVE_JEMALLOC
	RAW_ALLOC_FN(raw_alloc.mallocx, "libjemalloc.so.2", "mallocx");
	RAW_ALLOC_FN(raw_alloc.sdallocx, "libjemalloc.so.2", "sdallocx");
	RAW_ALLOC_FN(raw_alloc.je_malloc, "libjemalloc.so.2", "malloc");
	RAW_ALLOC_FN(raw_alloc.je_free, "libjemalloc.so.2", "free");
#endif
	RAW_ALLOC_FN(raw_alloc.libc_malloc, "libc.so.6", "malloc");
	RAW_ALLOC_FN(raw_alloc.libc_free, "libc.so.6", "free");
}

#endif
