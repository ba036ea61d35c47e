/* expect: a list.h \(a copy of the kernel's\) was included before */
/* compilers: gcc clang */
/*
 * A program that still includes its copied list.h before the compat header
 * is told so, instead of getting two definitions of every name.
 */
#ifdef FAIL
/* what a copied list.h leaves behind */
#define _LINUX_LIST_H
struct list_head {
	struct list_head *next, *prev;
};
#define list_entry(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif
#include <safekern/compat/list.h>

int empty(void);
int empty(void)
{
	LIST_HEAD(h);

	return list_empty(&h);
}
