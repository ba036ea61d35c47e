/* expect: ignoring return value of .*sk__kfifo_uint_must_check.*|ignoring return value of function declared with 'warn_unused_result' attribute */
/* compilers: gcc clang */
#include <safekern/kfifo.h>

/* A put into a full fifo fails: its result must be checked (as a get's). */
static SK_DEFINE_KFIFO(jobs, int, 8);

void submit(int job);
void submit(int job)
{
#ifdef FAIL
	sk_kfifo_put(&jobs, job);
#else
	if (!sk_kfifo_put(&jobs, job))
		return;
#endif
}
