/* expect: kfifo size must be a power of two from 2 to 2\^31 */
/* compilers: gcc clang */
#include <safekern/kfifo.h>

/* SK_DECLARE_KFIFO/SK_DEFINE_KFIFO reject a size the fifo cannot honour. */
#ifdef FAIL
static SK_DEFINE_KFIFO(events, int, 6);
#else
static SK_DEFINE_KFIFO(events, int, 8);
#endif

unsigned int queued(void);
unsigned int queued(void)
{
	return sk_kfifo_len(&events);
}
