/* SPDX-License-Identifier: MIT */
/*
 * tests/list-names-sk.h - the list API test bodies (list-api-body.h,
 * hlist-api-body.h) spelled with the sk_ names.  The bodies write every
 * name through these macros, so that the same tests run against
 * <safekern/list.h> and against <safekern/compat/list.h>
 * (list-names-compat.h).
 */
#ifndef LIST_NAMES_H
#define LIST_NAMES_H

#include <safekern/list.h>

#define LN(x) sk_##x /* lower-case names: LN(list_add) is sk_list_add */
#define UN(x) SK_##x /* upper-case names: UN(LIST_HEAD) is SK_LIST_HEAD */
/* The three kernel names whose case differs in the sk_ spelling. */
#define T_INIT_LIST_HEAD sk_init_list_head
#define T_INIT_HLIST_HEAD sk_init_hlist_head
#define T_INIT_HLIST_NODE sk_init_hlist_node

#endif
