/* expect: LIST_HEAD is already defined \(by <sys/queue.h>\?\); define SK_COMPAT_NO_LIST_HEAD */
/* compilers: gcc clang */
/*
 * <sys/queue.h> first, then the compat header: with the documented opt-out
 * (SK_COMPAT_NO_LIST_HEAD) both APIs live in one program, next to the
 * usual standard headers; without it the compat header stops with a clear
 * #error instead of silently replacing queue(3)'s LIST_HEAD.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#ifndef FAIL
#define SK_COMPAT_NO_LIST_HEAD
#endif
#include <safekern/compat/list.h>

struct qnode {
	int v;
	LIST_ENTRY(qnode) link; /* queue(3) */
};
LIST_HEAD(qhead, qnode); /* queue(3)'s LIST_HEAD: a struct declarator */

struct knode {
	int v;
	struct list_head link; /* the kernel's list, hardened */
};

int count_both(void);
int count_both(void)
{
	struct qhead qh = LIST_HEAD_INITIALIZER(qh);
	struct qnode q = { .v = 1 };
	SK_LIST_HEAD(kh); /* the kernel's LIST_HEAD(kh), under the opt-out */
	struct list_head kh2 = LIST_HEAD_INIT(kh2);
	struct knode k = { .v = 2 };
	struct knode *pos;
	struct qnode *qp;
	int sum = 0;

	LIST_INSERT_HEAD(&qh, &q, link);
	list_add(&k.link, &kh);
	list_splice_init(&kh, &kh2);
	LIST_FOREACH(qp, &qh, link)
		sum += qp->v;
	list_for_each_entry(pos, &kh2, link)
		sum += pos->v;
	return sum;
}
