/* SPDX-License-Identifier: MIT */
/*
 * lib/alloc.c - kmalloc family on jemalloc's mallocx API (or libc).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef SK_ALLOC_LIBC
#include <jemalloc/jemalloc.h>
#endif

#include <safekern/alloc.h>

static unsigned long overflows;

static void *overflowed(void)
{
	__atomic_add_fetch(&overflows, 1, __ATOMIC_RELAXED);
	errno = EOVERFLOW;
	return NULL;
}

#ifdef SK_ALLOC_LIBC

static void *backend_alloc(size_t size, int zero)
{
	return zero ? calloc(1, size ? size : 1) : malloc(size ? size : 1);
}

static void backend_free(void *p, size_t size)
{
	(void)size;
	free(p);
}

static void *backend_realloc(void *p, size_t size)
{
	return realloc(p, size ? size : 1);
}

#else

static void *backend_alloc(size_t size, int zero)
{
	/* mallocx(0) is undefined in jemalloc: ask for one byte. */
	return mallocx(size ? size : 1, zero ? MALLOCX_ZERO : 0);
}

static void backend_free(void *p, size_t size)
{
	if (size)
		sdallocx(p, size, 0);
	else
		dallocx(p, 0);
}

static void *backend_realloc(void *p, size_t size)
{
	if (!p)
		return mallocx(size ? size : 1, 0);
	return rallocx(p, size ? size : 1, 0);
}

#endif

void *sk_kmalloc(size_t size)
{
	void *p = backend_alloc(size, 0);

	if (!p)
		errno = ENOMEM;
	return p;
}

void *sk_kzalloc(size_t size)
{
	void *p = backend_alloc(size, 1);

	if (!p)
		errno = ENOMEM;
	return p;
}

void *sk_kmalloc_array(size_t n, size_t size)
{
	size_t bytes;

	if (sk_check_mul_overflow(n, size, &bytes))
		return overflowed();
	return sk_kmalloc(bytes);
}

void *sk_kcalloc(size_t n, size_t size)
{
	size_t bytes;

	if (sk_check_mul_overflow(n, size, &bytes))
		return overflowed();
	return sk_kzalloc(bytes);
}

void *sk_krealloc_array(void *p, size_t new_n, size_t size)
{
	size_t bytes;
	void *q;

	if (sk_check_mul_overflow(new_n, size, &bytes))
		return overflowed();
	q = backend_realloc(p, bytes);
	if (!q)
		errno = ENOMEM;
	return q;
}

void sk_kfree(const void *p)
{
	if (p)
		backend_free((void *)p, 0);
}

void sk_kfree_sized(const void *p, size_t size)
{
	if (p)
		backend_free((void *)p, size ? size : 1);
}

unsigned long sk_kmalloc_overflows(void)
{
	return __atomic_load_n(&overflows, __ATOMIC_RELAXED);
}
