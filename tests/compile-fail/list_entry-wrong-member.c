/* expect: pointer type mismatch in sk_container_of\(\) */
/* compilers: gcc clang */
/*
 * sk_list_entry() is type-checked: a pointer to an hlist node (or anything
 * but a struct sk_list_head) cannot be turned into its container through a
 * list_head member.
 */
#include <safekern/list.h>

struct item {
	struct sk_hlist_node hnode;
	struct sk_list_head node;
};

struct item *get(struct sk_list_head *lp, struct sk_hlist_node *hp);
struct item *get(struct sk_list_head *lp, struct sk_hlist_node *hp)
{
	(void)lp;
	(void)hp;
#ifdef FAIL
	return sk_list_entry(hp, struct item, node);
#else
	return sk_list_entry(lp, struct item, node);
#endif
}
