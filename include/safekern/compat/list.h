/* SPDX-License-Identifier: MIT */
/*
 * safekern/compat/list.h - a drop-in for a copied kernel list.h: the
 * kernel's unprefixed list and hlist names, as the hardened sk_ versions.
 *
 * A program that carries a copy of the kernel's list.h (or a userspace
 * copy of one) switches by replacing that include with this one:
 *
 *     #include <safekern/compat/list.h>
 *
 * Every name is a macro that expands to the sk_ name of safekern/list.h,
 * with the kernel's argument order and semantics, so the program compiles
 * unchanged and gains the checks: struct list_head *is* struct
 * sk_list_head (the tags are aliased with object-like macros, so an
 * identifier spelled list_head, hlist_head or hlist_node anywhere in the
 * translation unit is renamed consistently), list_add() is sk_list_add(),
 * and so on.  The failure behaviour, memory ordering and concurrency
 * contract are those of safekern/list.h.
 *
 * What it defines, and what it does not
 * -------------------------------------
 *
 * Only the list API: the names below, LIST_POISON1/2, and the struct tag
 * aliases.  It does not define offsetof (the standard <stddef.h> one is
 * used), container_of, prefetch, WRITE_ONCE, LIST_HEAD's queue(3)
 * namesake, or the kernel's reserved internals (__list_add, __list_del,
 * __list_del_entry, __hlist_del): see docs/list.md for their replacements.
 *
 *   - container_of: define SK_COMPAT_CONTAINER_OF before the include to get
 *     container_of(ptr, type, member) as the type-checked sk_container_of().
 *     If container_of is already defined, that is a compile error.
 *
 * Collisions: compile errors, never a silent change of meaning
 * -------------------------------------------------------------
 *
 *   - <sys/queue.h> (and the BSD queue(3) macros) define LIST_HEAD(name,
 *     type), a struct declarator, where the kernel's LIST_HEAD(name) defines
 *     a list head variable.  Both cannot exist in one translation unit.
 *     If LIST_HEAD is already defined when this header is included, it
 *     stops with an #error.  If <sys/queue.h> comes later, its LIST_HEAD
 *     replaces the kernel's from that point on, and gcc and clang say
 *     nothing (redefinitions inside system headers are not diagnosed, even
 *     with -Werror); that never changes a use's meaning silently: a
 *     one-argument LIST_HEAD(name) after the include does not compile.
 *     The opt-out, advised whenever queue(3) is in the same file: define
 *     SK_COMPAT_NO_LIST_HEAD before including this header, keep queue(3)'s
 *     LIST_HEAD, and write the kernel's definitions as SK_LIST_HEAD(name)
 *     or "struct list_head name = LIST_HEAD_INIT(name);".
 *   - A copy of the kernel's list.h included earlier (its _LINUX_LIST_H
 *     guard, or list_entry, list_for_each, INIT_LIST_HEAD, ... already
 *     defined) is an #error: remove it.  One included later redefines
 *     these names and fails to compile.
 */
#ifndef SAFEKERN_COMPAT_LIST_H
#define SAFEKERN_COMPAT_LIST_H

#include <safekern/list.h>

#if defined(_LINUX_LIST_H) || defined(list_entry) || defined(list_for_each) ||                \
	defined(list_for_each_entry) || defined(INIT_LIST_HEAD) || defined(LIST_HEAD_INIT) || \
	defined(hlist_entry) || defined(LIST_POISON1) || defined(list_head)
#error "safekern/compat/list.h: a list.h (a copy of the kernel's) was included before: remove it, this header replaces it"
#endif

#if defined(SK_COMPAT_CONTAINER_OF) && defined(container_of)
#error "safekern/compat/list.h: SK_COMPAT_CONTAINER_OF asks for container_of, but container_of is already defined"
#endif

#if !defined(SK_COMPAT_NO_LIST_HEAD) && defined(LIST_HEAD)
#error "safekern/compat/list.h: LIST_HEAD is already defined (by <sys/queue.h>?); define SK_COMPAT_NO_LIST_HEAD before including this header and write SK_LIST_HEAD(name) for the kernel's LIST_HEAD(name) (see docs/list.md)"
#endif

/* The struct tags: struct list_head is struct sk_list_head. */
/** list_head - the kernel's name for &struct sk_list_head */
#define list_head sk_list_head
/** hlist_head - the kernel's name for &struct sk_hlist_head */
#define hlist_head sk_hlist_head
/** hlist_node - the kernel's name for &struct sk_hlist_node */
#define hlist_node sk_hlist_node

#ifndef SK_COMPAT_NO_LIST_HEAD
/**
 * LIST_HEAD() - the kernel's name for SK_LIST_HEAD(): define an empty list head
 * @name: the variable
 *
 * Absent if SK_COMPAT_NO_LIST_HEAD is defined (for <sys/queue.h> users).
 */
#define LIST_HEAD(name) SK_LIST_HEAD(name) /* queue(3) too: see SK_COMPAT_NO_LIST_HEAD */
#endif

#ifdef SK_COMPAT_CONTAINER_OF
/** container_of() - sk_container_of(), on request (SK_COMPAT_CONTAINER_OF) */
#define container_of(ptr, type, member) sk_container_of(ptr, type, member)
#endif

/** LIST_HEAD_INIT() - the kernel's name for SK_LIST_HEAD_INIT() */
#define LIST_HEAD_INIT(name) SK_LIST_HEAD_INIT(name)

/** INIT_LIST_HEAD() - the kernel's name for sk_init_list_head() */
#define INIT_LIST_HEAD(list) sk_init_list_head(list)

/** LIST_POISON1 - the kernel's name for SK_LIST_POISON1 */
#define LIST_POISON1 SK_LIST_POISON1

/** LIST_POISON2 - the kernel's name for SK_LIST_POISON2 */
#define LIST_POISON2 SK_LIST_POISON2

/** list_add() - the kernel's name for sk_list_add() */
#define list_add(new, head) sk_list_add(new, head)

/** list_add_tail() - the kernel's name for sk_list_add_tail() */
#define list_add_tail(new, head) sk_list_add_tail(new, head)

/** list_del() - the kernel's name for sk_list_del() */
#define list_del(entry) sk_list_del(entry)

/** list_del_init() - the kernel's name for sk_list_del_init() */
#define list_del_init(entry) sk_list_del_init(entry)

/** list_del_init_careful() - the kernel's name for sk_list_del_init_careful() */
#define list_del_init_careful(entry) sk_list_del_init_careful(entry)

/** list_replace() - the kernel's name for sk_list_replace() */
#define list_replace(old, new) sk_list_replace(old, new)

/** list_replace_init() - the kernel's name for sk_list_replace_init() */
#define list_replace_init(old, new) sk_list_replace_init(old, new)

/** list_swap() - the kernel's name for sk_list_swap() */
#define list_swap(entry1, entry2) sk_list_swap(entry1, entry2)

/** list_move() - the kernel's name for sk_list_move() */
#define list_move(list, head) sk_list_move(list, head)

/** list_move_tail() - the kernel's name for sk_list_move_tail() */
#define list_move_tail(list, head) sk_list_move_tail(list, head)

/** list_bulk_move_tail() - the kernel's name for sk_list_bulk_move_tail() */
#define list_bulk_move_tail(head, first, last) sk_list_bulk_move_tail(head, first, last)

/** list_is_first() - the kernel's name for sk_list_is_first() */
#define list_is_first(list, head) sk_list_is_first(list, head)

/** list_is_last() - the kernel's name for sk_list_is_last() */
#define list_is_last(list, head) sk_list_is_last(list, head)

/** list_is_head() - the kernel's name for sk_list_is_head() */
#define list_is_head(list, head) sk_list_is_head(list, head)

/** list_empty() - the kernel's name for sk_list_empty() */
#define list_empty(head) sk_list_empty(head)

/** list_empty_careful() - the kernel's name for sk_list_empty_careful() */
#define list_empty_careful(head) sk_list_empty_careful(head)

/** list_is_singular() - the kernel's name for sk_list_is_singular() */
#define list_is_singular(head) sk_list_is_singular(head)

/** list_rotate_left() - the kernel's name for sk_list_rotate_left() */
#define list_rotate_left(head) sk_list_rotate_left(head)

/** list_rotate_to_front() - the kernel's name for sk_list_rotate_to_front() */
#define list_rotate_to_front(list, head) sk_list_rotate_to_front(list, head)

/** list_cut_position() - the kernel's name for sk_list_cut_position() */
#define list_cut_position(list, head, entry) sk_list_cut_position(list, head, entry)

/** list_cut_before() - the kernel's name for sk_list_cut_before() */
#define list_cut_before(list, head, entry) sk_list_cut_before(list, head, entry)

/** list_splice() - the kernel's name for sk_list_splice() */
#define list_splice(list, head) sk_list_splice(list, head)

/** list_splice_tail() - the kernel's name for sk_list_splice_tail() */
#define list_splice_tail(list, head) sk_list_splice_tail(list, head)

/** list_splice_init() - the kernel's name for sk_list_splice_init() */
#define list_splice_init(list, head) sk_list_splice_init(list, head)

/** list_splice_tail_init() - the kernel's name for sk_list_splice_tail_init() */
#define list_splice_tail_init(list, head) sk_list_splice_tail_init(list, head)

/** list_count_nodes() - the kernel's name for sk_list_count_nodes() */
#define list_count_nodes(head) sk_list_count_nodes(head)

/** list_entry() - the kernel's name for sk_list_entry() */
#define list_entry(ptr, type, member) sk_list_entry(ptr, type, member)

/** list_first_entry() - the kernel's name for sk_list_first_entry() */
#define list_first_entry(ptr, type, member) sk_list_first_entry(ptr, type, member)

/** list_last_entry() - the kernel's name for sk_list_last_entry() */
#define list_last_entry(ptr, type, member) sk_list_last_entry(ptr, type, member)

/** list_first_entry_or_null() - the kernel's name for sk_list_first_entry_or_null() */
#define list_first_entry_or_null(ptr, type, member) sk_list_first_entry_or_null(ptr, type, member)
/** list_last_entry_or_null() - the kernel's name for sk_list_last_entry_or_null() */
#define list_last_entry_or_null(ptr, type, member) sk_list_last_entry_or_null(ptr, type, member)

/** list_next_entry() - the kernel's name for sk_list_next_entry() */
#define list_next_entry(pos, member) sk_list_next_entry(pos, member)

/** list_prev_entry() - the kernel's name for sk_list_prev_entry() */
#define list_prev_entry(pos, member) sk_list_prev_entry(pos, member)

/** list_next_entry_circular() - the kernel's name for sk_list_next_entry_circular() */
#define list_next_entry_circular(pos, head, member) sk_list_next_entry_circular(pos, head, member)

/** list_prev_entry_circular() - the kernel's name for sk_list_prev_entry_circular() */
#define list_prev_entry_circular(pos, head, member) sk_list_prev_entry_circular(pos, head, member)

/** list_entry_is_head() - the kernel's name for sk_list_entry_is_head() */
#define list_entry_is_head(pos, head, member) sk_list_entry_is_head(pos, head, member)

/** list_prepare_entry() - the kernel's name for sk_list_prepare_entry() */
#define list_prepare_entry(pos, head, member) sk_list_prepare_entry(pos, head, member)

/** list_safe_reset_next() - the kernel's name for sk_list_safe_reset_next() */
#define list_safe_reset_next(pos, n, member) sk_list_safe_reset_next(pos, n, member)

/** list_for_each() - the kernel's name for sk_list_for_each() */
#define list_for_each(pos, head) sk_list_for_each(pos, head)

/** list_for_each_continue() - the kernel's name for sk_list_for_each_continue() */
#define list_for_each_continue(pos, head) sk_list_for_each_continue(pos, head)

/** list_for_each_prev() - the kernel's name for sk_list_for_each_prev() */
#define list_for_each_prev(pos, head) sk_list_for_each_prev(pos, head)

/** list_for_each_reverse() - the kernel's name for sk_list_for_each_reverse() */
#define list_for_each_reverse(pos, head) sk_list_for_each_reverse(pos, head)

/** list_for_each_safe() - the kernel's name for sk_list_for_each_safe() */
#define list_for_each_safe(pos, n, head) sk_list_for_each_safe(pos, n, head)

/** list_for_each_prev_safe() - the kernel's name for sk_list_for_each_prev_safe() */
#define list_for_each_prev_safe(pos, n, head) sk_list_for_each_prev_safe(pos, n, head)

/** list_for_each_entry() - the kernel's name for sk_list_for_each_entry() */
#define list_for_each_entry(pos, head, member) sk_list_for_each_entry(pos, head, member)

/** list_for_each_entry_reverse() - the kernel's name for sk_list_for_each_entry_reverse() */
#define list_for_each_entry_reverse(pos, head, member) sk_list_for_each_entry_reverse(pos, head, member)

/** list_for_each_entry_continue() - the kernel's name for sk_list_for_each_entry_continue() */
#define list_for_each_entry_continue(pos, head, member) sk_list_for_each_entry_continue(pos, head, member)

/** list_for_each_entry_continue_reverse() - the kernel's name for sk_list_for_each_entry_continue_reverse() */
#define list_for_each_entry_continue_reverse(pos, head, member) sk_list_for_each_entry_continue_reverse(pos, head, member)

/** list_for_each_entry_from() - the kernel's name for sk_list_for_each_entry_from() */
#define list_for_each_entry_from(pos, head, member) sk_list_for_each_entry_from(pos, head, member)

/** list_for_each_entry_from_reverse() - the kernel's name for sk_list_for_each_entry_from_reverse() */
#define list_for_each_entry_from_reverse(pos, head, member) sk_list_for_each_entry_from_reverse(pos, head, member)

/** list_for_each_entry_safe() - the kernel's name for sk_list_for_each_entry_safe() */
#define list_for_each_entry_safe(pos, n, head, member) sk_list_for_each_entry_safe(pos, n, head, member)

/** list_for_each_entry_safe_continue() - the kernel's name for sk_list_for_each_entry_safe_continue() */
#define list_for_each_entry_safe_continue(pos, n, head, member) sk_list_for_each_entry_safe_continue(pos, n, head, member)

/** list_for_each_entry_safe_from() - the kernel's name for sk_list_for_each_entry_safe_from() */
#define list_for_each_entry_safe_from(pos, n, head, member) sk_list_for_each_entry_safe_from(pos, n, head, member)

/** list_for_each_entry_safe_reverse() - the kernel's name for sk_list_for_each_entry_safe_reverse() */
#define list_for_each_entry_safe_reverse(pos, n, head, member) sk_list_for_each_entry_safe_reverse(pos, n, head, member)

/** HLIST_HEAD_INIT - the kernel's name for SK_HLIST_HEAD_INIT */
#define HLIST_HEAD_INIT SK_HLIST_HEAD_INIT

/** HLIST_HEAD() - the kernel's name for SK_HLIST_HEAD() */
#define HLIST_HEAD(name) SK_HLIST_HEAD(name)

/** INIT_HLIST_HEAD() - the kernel's name for sk_init_hlist_head() */
#define INIT_HLIST_HEAD(ptr) sk_init_hlist_head(ptr)

/** INIT_HLIST_NODE() - the kernel's name for sk_init_hlist_node() */
#define INIT_HLIST_NODE(h) sk_init_hlist_node(h)

/** hlist_unhashed() - the kernel's name for sk_hlist_unhashed() */
#define hlist_unhashed(h) sk_hlist_unhashed(h)

/** hlist_unhashed_lockless() - the kernel's name for sk_hlist_unhashed_lockless() */
#define hlist_unhashed_lockless(h) sk_hlist_unhashed_lockless(h)

/** hlist_empty() - the kernel's name for sk_hlist_empty() */
#define hlist_empty(h) sk_hlist_empty(h)

/** hlist_del() - the kernel's name for sk_hlist_del() */
#define hlist_del(n) sk_hlist_del(n)

/** hlist_del_init() - the kernel's name for sk_hlist_del_init() */
#define hlist_del_init(n) sk_hlist_del_init(n)

/** hlist_add_head() - the kernel's name for sk_hlist_add_head() */
#define hlist_add_head(n, h) sk_hlist_add_head(n, h)

/** hlist_add_before() - the kernel's name for sk_hlist_add_before() */
#define hlist_add_before(n, next) sk_hlist_add_before(n, next)

/** hlist_add_behind() - the kernel's name for sk_hlist_add_behind() */
#define hlist_add_behind(n, prev) sk_hlist_add_behind(n, prev)

/** hlist_add_fake() - the kernel's name for sk_hlist_add_fake() */
#define hlist_add_fake(n) sk_hlist_add_fake(n)

/** hlist_fake() - the kernel's name for sk_hlist_fake() */
#define hlist_fake(h) sk_hlist_fake(h)

/** hlist_is_singular_node() - the kernel's name for sk_hlist_is_singular_node() */
#define hlist_is_singular_node(n, h) sk_hlist_is_singular_node(n, h)

/** hlist_move_list() - the kernel's name for sk_hlist_move_list() */
#define hlist_move_list(old, new) sk_hlist_move_list(old, new)

/** hlist_splice_init() - the kernel's name for sk_hlist_splice_init() */
#define hlist_splice_init(from, last, to) sk_hlist_splice_init(from, last, to)

/** hlist_count_nodes() - the kernel's name for sk_hlist_count_nodes() */
#define hlist_count_nodes(head) sk_hlist_count_nodes(head)

/** hlist_entry() - the kernel's name for sk_hlist_entry() */
#define hlist_entry(ptr, type, member) sk_hlist_entry(ptr, type, member)

/** hlist_entry_safe() - the kernel's name for sk_hlist_entry_safe() */
#define hlist_entry_safe(ptr, type, member) sk_hlist_entry_safe(ptr, type, member)

/** hlist_for_each() - the kernel's name for sk_hlist_for_each() */
#define hlist_for_each(pos, head) sk_hlist_for_each(pos, head)

/** hlist_for_each_safe() - the kernel's name for sk_hlist_for_each_safe() */
#define hlist_for_each_safe(pos, n, head) sk_hlist_for_each_safe(pos, n, head)

/** hlist_for_each_entry() - the kernel's name for sk_hlist_for_each_entry() */
#define hlist_for_each_entry(pos, head, member) sk_hlist_for_each_entry(pos, head, member)

/** hlist_for_each_entry_continue() - the kernel's name for sk_hlist_for_each_entry_continue() */
#define hlist_for_each_entry_continue(pos, member) sk_hlist_for_each_entry_continue(pos, member)

/** hlist_for_each_entry_from() - the kernel's name for sk_hlist_for_each_entry_from() */
#define hlist_for_each_entry_from(pos, member) sk_hlist_for_each_entry_from(pos, member)

/** hlist_for_each_entry_safe() - the kernel's name for sk_hlist_for_each_entry_safe() */
#define hlist_for_each_entry_safe(pos, n, head, member) sk_hlist_for_each_entry_safe(pos, n, head, member)

#endif /* SAFEKERN_COMPAT_LIST_H */
