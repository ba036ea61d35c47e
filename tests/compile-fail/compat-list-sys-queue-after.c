/* expect: requires 2 arguments|too few arguments provided to function-like macro */
/* compilers: gcc clang */
/*
 * The compat header first, then <sys/queue.h>.  A redefinition made inside
 * a system header is not diagnosed by gcc or clang (not even with
 * -Werror), so from the include on, queue(3)'s LIST_HEAD(name, type) is
 * the one in force.  That is never a silent change of meaning: a
 * kernel-style LIST_HEAD(name) written after the include does not compile
 * (the FAIL case), and one written before it was expanded as the kernel's.
 * The documented advice is SK_COMPAT_NO_LIST_HEAD whenever queue(3) is in
 * the same file.
 */
#include <stdio.h>
#include <stdlib.h>

#include <safekern/compat/list.h>
#include <sys/queue.h>
#include <string.h>

struct qnode {
	LIST_ENTRY(qnode) link;
};
LIST_HEAD(qhead, qnode);

int empty_both(void);
int empty_both(void)
{
	struct qhead qh = LIST_HEAD_INITIALIZER(qh);
#ifdef FAIL
	LIST_HEAD(kh);
#else
	struct list_head kh = LIST_HEAD_INIT(kh);
#endif

	return LIST_EMPTY(&qh) && list_empty(&kh);
}
