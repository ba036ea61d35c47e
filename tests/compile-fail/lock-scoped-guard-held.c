/* expect: mutex 'b->lock' is not held on every path through here|releasing mutex 'b->lock' that was not held */
/* compilers: clang */
/*
 * A scoped guard of a lock the function already holds (a relock, which
 * the run-time checks refuse and report) is flagged by the analysis: the
 * guard's way out ends the analysis's hold of the lock, which meets the
 * caller's hold.  (A plain sk_guard() of a held lock is not flagged: see
 * the analysis notes in cleanup.h.)
 */
#include <safekern/lock.h>

struct box {
	struct sk_mutex lock;
	int val_;
};

static int *box_val(struct box *b) SK_MUST_HOLD(b->lock);
static int *box_val(struct box *b)
{
	return &b->val_;
}

int box_bump(struct box *b) SK_MUST_HOLD(b->lock);
int box_bump(struct box *b)
{
	++*box_val(b);
#ifdef FAIL
	sk_scoped_guard(mutex, &b->lock) {
		++*box_val(b);
	}
#endif
	return *box_val(b);
}
