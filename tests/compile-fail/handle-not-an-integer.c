/* expect: incompatible type for argument 2 of .sk__handle_lookup.|passing 'uint64_t' \(aka 'unsigned long'\) to parameter of incompatible type 'sk_handle_t' */
/* compilers: gcc clang */
/*
 * sk_handle_t is a struct: an integer is not a handle (convert stored
 * values explicitly with sk_handle_from_bits()).
 */
#include <safekern/handle.h>

void *find(struct sk_handle_table *t, uint64_t stored);
void *find(struct sk_handle_table *t, uint64_t stored)
{
	void *p;

#ifdef FAIL
	p = sk_handle_lookup(t, stored);
#else
	p = sk_handle_lookup(t, sk_handle_from_bits(stored));
#endif
	return p;
}
