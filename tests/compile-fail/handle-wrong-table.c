/* expect: incompatible type for argument 2 of .b_table__lookup.|passing 'a_table_handle_t' \(aka 'struct a_table_handle'\) to parameter of incompatible type 'b_table_handle_t' */
/* compilers: gcc clang */
/*
 * A handle of one typed table does not compile against another typed
 * table, even one with the same object type.
 */
#include <safekern/handle.h>

struct conn;

SK_HANDLE_TABLE(a_table, struct conn);
SK_HANDLE_TABLE(b_table, struct conn);

struct conn *find(struct a_table *a, struct b_table *b, a_table_handle_t ha, b_table_handle_t hb);
struct conn *find(struct a_table *a, struct b_table *b, a_table_handle_t ha, b_table_handle_t hb)
{
	struct conn *c;

	(void)a;
	(void)ha;
#ifdef FAIL
	c = sk_htable_lookup(b_table, b, ha);
#else
	c = sk_htable_lookup(b_table, b, hb);
#endif
	return c;
}
