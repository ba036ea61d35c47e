/* expect: incompatible type for argument 2 of .b_table__ref_get.|passing 'a_table_handle_t' \(aka 'struct a_table_handle'\) to parameter of incompatible type 'b_table_handle_t' */
/* compilers: gcc clang */
/*
 * The scoped lookup of a typed table is typed too: a handle of another
 * typed table does not compile against it.
 */
#include <safekern/handle.h>

struct conn {
	int fd;
};

SK_HANDLE_TABLE(a_table, struct conn);
SK_HANDLE_TABLE(b_table, struct conn);

int conn_fd(struct b_table *b, a_table_handle_t ha, b_table_handle_t hb);
int conn_fd(struct b_table *b, a_table_handle_t ha, b_table_handle_t hb)
{
	(void)ha;
	(void)hb;
#ifdef FAIL
	sk_htable_lookup_scoped(b_table, ref, b, ha);
#else
	sk_htable_lookup_scoped(b_table, ref, b, hb);
#endif
	return ref.obj ? ref.obj->fd : -1;
}
