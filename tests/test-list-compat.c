/* SPDX-License-Identifier: MIT */
/*
 * tests/test-list-compat.c - safekern/compat/list.h: the same API tests as
 * test-list.c and test-hlist.c (list-api-body.h, hlist-api-body.h),
 * spelled with the kernel's own names, in a translation unit that also
 * includes the usual standard headers; then what is particular to the
 * drop-in: the types are the sk_ types, the checks and reports are the
 * same, container_of exists only on request.  (<sys/queue.h> and the
 * other collisions are in tests/compile-fail/compat-list-*.c.)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SK_COMPAT_CONTAINER_OF /* ask for container_of */
#include "list-names-compat.h"

#define LIST_API_SUITE list_compat_api
#include "list-api-body.h"

#define HLIST_API_SUITE hlist_compat_api
#include "hlist-api-body.h"

static void compat_init(void)
{
	sk_test_count_policy();
}

TestSuite(list_compat, .init = compat_init);

Test(list_compat, the_types_are_the_sk_types)
{
	LIST_HEAD(head);
	struct list_head a;
	struct sk_list_head *as_sk = &a; /* no cast: the same type */
	struct hlist_node hn;
	struct sk_hlist_node *hn_sk = &hn;

	sk_list_add(as_sk, &head);
	cr_assert(list_is_first(&a, &head));
	cr_assert_eq(sk_list_count_nodes(&head), 1);
	cr_assert_eq(LIST_POISON1, SK_LIST_POISON1);
	cr_assert_eq(LIST_POISON2, SK_LIST_POISON2);
	INIT_HLIST_NODE(hn_sk);
	cr_assert(hlist_unhashed(&hn));
}

Test(list_compat, misuse_is_reported_through_the_kernel_names)
{
	LIST_HEAD(test_head);
	struct list_head good, bad, target = { NULL, NULL };

	list_add(&good, &test_head);
	test_head.next = &target; /* LKDTM CORRUPT_LIST_ADD */
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_CORRUPTION, list_add(&bad, &test_head));
	cr_assert_null(target.prev);
	test_head.next = &good;
	list_del(&good);
	SK_EXPECT_VIOLATION(SK_VIOLATION_LIST_DOUBLE_DEL, list_del(&good));
	cr_assert(list_empty(&test_head));
}

struct outer {
	long pad;
	struct list_head node;
};

Test(list_compat, container_of_on_request)
{
	struct outer o;

	cr_assert_eq(container_of(&o.node, struct outer, node), &o);
	cr_assert_eq(list_entry(&o.node, struct outer, node), &o);
}
