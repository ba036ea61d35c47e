/* SPDX-License-Identifier: MIT */
/*
 * tests/list-names-compat.h - the list API test bodies spelled with the
 * kernel's own names, through <safekern/compat/list.h>.
 */
#ifndef LIST_NAMES_H
#define LIST_NAMES_H

#include <safekern/compat/list.h>

#define LN(x) x
#define UN(x) x
#define T_INIT_LIST_HEAD INIT_LIST_HEAD
#define T_INIT_HLIST_HEAD INIT_HLIST_HEAD
#define T_INIT_HLIST_NODE INIT_HLIST_NODE

#endif
