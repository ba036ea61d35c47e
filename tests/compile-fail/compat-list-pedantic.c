/* expect: omitting (the )?middle (term|operand) */
/* compilers: gcc clang */
/* flags: -std=c11 -Wpedantic */
/*
 * The compat header's macros build in a strict ISO C program
 * (-std=c11 -Wpedantic -Werror): its GNU extensions are all marked
 * __extension__.  list_prepare_entry() was not (the GNU "a ?: b").  With
 * FAIL, the program's own "a ?: b" is reported, proving the warning is on.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <safekern/compat/list.h>

struct item {
	int v;
	struct list_head node;
	struct hlist_node hnode;
};

int walk(struct list_head *head, struct item *pos, struct hlist_head *hh);
int walk(struct list_head *head, struct item *pos, struct hlist_head *hh)
{
	struct item *n;
	int sum = 0;

	pos = list_prepare_entry(pos, head, node);
	list_for_each_entry_continue(pos, head, node)
		sum += pos->v;
	list_for_each_entry_safe(pos, n, head, node)
		sum += pos->v;
	list_for_each_entry_reverse(pos, head, node)
		sum += list_first_entry_or_null(head, struct item, node) == pos;
	hlist_for_each_entry(pos, hh, hnode)
		sum += pos->v;
#ifdef FAIL
	sum = sum ?: 1;
#endif
	return sum;
}
