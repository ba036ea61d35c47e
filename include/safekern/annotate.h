/* SPDX-License-Identifier: MIT */
/*
 * safekern/annotate.h - tell Valgrind's thread checkers about
 * synchronisation they cannot see.
 *
 * helgrind and drd understand pthreads, not atomics: a lock-free structure
 * that publishes with a release store and consumes with an acquire load
 * looks like a data race to them.  libsafekern describes its own
 * synchronisation with these client requests, so that a correct program
 * using it runs clean under both tools.
 *
 * They are active in the library's own code whenever the Valgrind headers
 * were found at build time, and in inline header code at the debug level
 * (-DSK_DEBUG) when <valgrind/helgrind.h> is on the include path (install
 * Debian's valgrind package).  Otherwise they compile to nothing.  Outside
 * Valgrind an active request costs a few register-only instructions.
 *
 * SK_ANNOTATE_HAPPENS_BEFORE(addr) - everything before this point
 *	happens before any code after a matching SK_ANNOTATE_HAPPENS_AFTER(addr).
 * SK_ANNOTATE_HAPPENS_AFTER(addr) - the consuming side of that edge.
 * SK_ANNOTATE_BENIGN_RACE_SIZED(addr, size, why) - accesses to these bytes
 *	are deliberately unsynchronised (atomic counters, index words).
 * SK_RUNNING_ON_VALGRIND - nonzero under Valgrind.
 */
#ifndef SAFEKERN_ANNOTATE_H
#define SAFEKERN_ANNOTATE_H

#if (defined(SK_BUILDING_LIBRARY) && defined(SK_HAVE_VALGRIND)) ||          \
	(defined(SK_DEBUG) && defined(__has_include))
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define SK__ANNOTATE 1
#endif
#endif

#ifdef SK__ANNOTATE
#define SK_ANNOTATE_HAPPENS_BEFORE(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define SK_ANNOTATE_HAPPENS_AFTER(addr) ANNOTATE_HAPPENS_AFTER(addr)
#define SK_ANNOTATE_BENIGN_RACE_SIZED(addr, size, why)                        \
	ANNOTATE_BENIGN_RACE_SIZED(addr, size, why)
#define SK_RUNNING_ON_VALGRIND RUNNING_ON_VALGRIND
#else
#define SK_ANNOTATE_HAPPENS_BEFORE(addr) ((void)(addr))
#define SK_ANNOTATE_HAPPENS_AFTER(addr) ((void)(addr))
#define SK_ANNOTATE_BENIGN_RACE_SIZED(addr, size, why) ((void)(addr), (void)(size))
#define SK_RUNNING_ON_VALGRIND 0
#endif

#endif /* SAFEKERN_ANNOTATE_H */
