/* expect: pointer type mismatch in sk_container_of() */
/* compilers: gcc clang */
#include <safekern/compiler.h>

struct inner { int x; };
struct other { int x; };
struct outer { struct inner in; };

struct outer *get(struct inner *ip, struct other *op);
struct outer *get(struct inner *ip, struct other *op)
{
	(void)ip;
	(void)op;
#ifdef FAIL
	return sk_container_of(op, struct outer, in);
#else
	return sk_container_of(ip, struct outer, in);
#endif
}
