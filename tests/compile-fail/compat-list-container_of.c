/* expect: container_of */
/* compilers: gcc clang */
/*
 * The compat header defines nothing beyond the list API: container_of
 * exists only when the program asks for it with SK_COMPAT_CONTAINER_OF.
 */
#ifndef FAIL
#define SK_COMPAT_CONTAINER_OF
#endif
#include <safekern/compat/list.h>

struct outer {
	int x;
	struct list_head node;
};

struct outer *get(struct list_head *p);
struct outer *get(struct list_head *p)
{
	return container_of(p, struct outer, node);
}
