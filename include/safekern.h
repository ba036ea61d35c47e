/* SPDX-License-Identifier: MIT */
/*
 * safekern.h - umbrella header: every libsafekern header that needs no
 * choice from the consumer.  Headers that need one (an RCU flavour, say)
 * are included on their own; see each header's opening comment.
 */
#ifndef SAFEKERN_H
#define SAFEKERN_H

#include <safekern/alloc.h>
#include <safekern/cleanup.h>
#include <safekern/compiler.h>
#include <safekern/list.h>
#include <safekern/locked_list.h>
#include <safekern/handle.h>
#include <safekern/klist.h>
#include <safekern/kref.h>
#include <safekern/lock.h>
#include <safekern/refcount.h>
#include <safekern/slab.h>
#include <safekern/kfifo.h>
#include <safekern/ptr_ring.h>
#include <safekern/violation.h>
#include <safekern/wkref.h>

#endif
