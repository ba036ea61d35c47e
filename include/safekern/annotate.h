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
 * They are compiled into the library's own code whenever the Valgrind
 * headers were found at build time (lib/handle.c issues its own only when
 * running under helgrind or drd), and into inline header code at the debug level
 * (-DSK_DEBUG) when <valgrind/helgrind.h> is on the include path (install
 * Debian's valgrind package).  Otherwise they compile to nothing.  Outside
 * Valgrind an active request costs a few register-only instructions.
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
#define SK__HB(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define SK__HA(addr) ANNOTATE_HAPPENS_AFTER(addr)
#define SK__BENIGN(addr, size, why) ANNOTATE_BENIGN_RACE_SIZED(addr, size, why)
#define SK__ON_VALGRIND RUNNING_ON_VALGRIND
#else
#define SK__HB(addr) ((void)(addr))
#define SK__HA(addr) ((void)(addr))
#define SK__BENIGN(addr, size, why) ((void)(addr), (void)(size))
#define SK__ON_VALGRIND 0
#endif

/**
 * SK_ANNOTATE_HAPPENS_BEFORE() - the publishing side of a happens-before edge
 * @addr: the address both sides name (a slot, a node)
 *
 * Everything this thread did before the annotation happens before whatever
 * another thread does after an SK_ANNOTATE_HAPPENS_AFTER() on the same
 * @addr.  Place it just before the release store that publishes.
 */
#define SK_ANNOTATE_HAPPENS_BEFORE(addr) SK__HB(addr)

/**
 * SK_ANNOTATE_HAPPENS_AFTER() - the consuming side of a happens-before edge
 * @addr: the address the publisher named
 *
 * Place it just after the acquire load that observed the publication.
 */
#define SK_ANNOTATE_HAPPENS_AFTER(addr) SK__HA(addr)

/**
 * SK_ANNOTATE_BENIGN_RACE_SIZED() - declare bytes deliberately unsynchronised
 * @addr: start of the bytes (an atomic counter, an index word)
 * @size: their size
 * @why: a string literal saying why, for the tool's messages
 *
 * helgrind and drd stop reporting accesses to these bytes.  Use it only for
 * words accessed with atomics whose ordering is described by happens-before
 * annotations elsewhere, never to silence a real race.
 */
#define SK_ANNOTATE_BENIGN_RACE_SIZED(addr, size, why) SK__BENIGN(addr, size, why)

/**
 * SK_RUNNING_ON_VALGRIND - nonzero when the program runs under Valgrind
 *
 * 0 when the annotations are compiled out.
 */
#define SK_RUNNING_ON_VALGRIND SK__ON_VALGRIND

#endif /* SAFEKERN_ANNOTATE_H */
