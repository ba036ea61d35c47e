/* SPDX-License-Identifier: MIT */
/*
 * lib/lock-tools.c - is the process running under drd?  A file of its own
 * because <valgrind/drd.h> and <valgrind/helgrind.h> (which the rest of
 * the library uses through safekern/annotate.h) define the same ANNOTATE_*
 * macros differently.
 */
#include <stdbool.h>

#if defined(SK_HAVE_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/drd.h>)
#include <valgrind/drd.h>
#define HAVE_DRD_H 1
#endif
#endif

#include "lockdep-internal.h"

bool sk__under_drd(void)
{
#ifdef HAVE_DRD_H
	/* Zero (the default answer) unless drd handles the request. */
	return DRD_GET_VALGRIND_THREADID != 0;
#else
	return false;
#endif
}
