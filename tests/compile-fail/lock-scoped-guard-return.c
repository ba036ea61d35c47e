/* expect: not a conditional guard */
/* flags: -O2 */
/*
 * Compile-ok: a scoped guard's block that returns ends the function, as
 * the kernel's scoped_guard() since 6.12: no -Wreturn-type (gcc and clang
 * warned until 2026-11-26; gcc -O0 still does, as for the kernel's).
 * With FAIL: sk_scoped_cond_guard() of an unconditional guard, whose
 * failure statement could never run, does not compile (the kernel's
 * BUILD_BUG_ON there).
 */
#include <errno.h>

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

int box_get(struct box *b);
int box_get(struct box *b)
{
	sk_scoped_guard(mutex, &b->lock) {
		return *box_val(b);
	}
}

int box_try_get(struct box *b);
int box_try_get(struct box *b)
{
	sk_scoped_cond_guard(mutex_try, return -EBUSY, &b->lock) {
		return *box_val(b);
	}
}

int box_sum(struct box *b, int n);
int box_sum(struct box *b, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++) {
		sk_scoped_guard(mutex, &b->lock) {
			if (i == 1)
				continue;
			sum += *box_val(b);
			if (i == 3)
				break;
		}
	}
#ifdef FAIL
	sk_scoped_cond_guard(mutex, return -EBUSY, &b->lock) {
		sum += *box_val(b);
	}
#endif
	return sum;
}
