/* SPDX-License-Identifier: MIT */
/*
 * lib/kfifo.c - the out-of-line parts of the kfifo: allocation, caller
 * buffers (which free refuses), and the debug-level claim of a side by its
 * first thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <safekern/alloc.h>
#include <safekern/annotate.h>
#include <safekern/kfifo.h>

#include "violation-internal.h"

static size_t rounddown_pow_of_two(size_t n)
{
	return (size_t)1 << (63 - __builtin_clzll((unsigned long long)n));
}

int sk__kfifo_alloc(struct sk__kfifo *fifo, size_t size, size_t esize)
{
	void *data;

	sk__kfifo_setup(fifo, NULL, 0, (unsigned int)esize);
	if (size < 2 || size > SK_KFIFO_MAX_SIZE || !esize || esize > UINT32_MAX)
		return -EINVAL;
	if (size & (size - 1))
		size = rounddown_pow_of_two(size) << 1;
	data = sk_kmalloc_array(size, esize);
	if (!data)
		return -ENOMEM;
	sk__kfifo_setup(fifo, data, (unsigned int)size, (unsigned int)esize);
	fifo->owns_data = 1;
	return 0;
}

int sk__kfifo_init(struct sk__kfifo *fifo, void *buffer, size_t bytes, size_t esize, size_t align)
{
	size_t size;

	sk__kfifo_setup(fifo, NULL, 0, (unsigned int)esize);
	if (!buffer || !esize || esize > UINT32_MAX || (align && (uintptr_t)buffer % align))
		return -EINVAL;
	size = bytes / esize;
	if (size < 2)
		return -EINVAL;
	size = rounddown_pow_of_two(size);
	if (size > SK_KFIFO_MAX_SIZE)
		size = SK_KFIFO_MAX_SIZE;
	sk__kfifo_setup(fifo, buffer, (unsigned int)size, (unsigned int)esize);
	return 0;
}

void sk__kfifo_free(struct sk__kfifo *fifo, const struct sk_callsite *cs)
{
	/*
	 * A caller's buffer (sk_kfifo_init()) handed to the allocator would
	 * corrupt its heap.  Refuse, and leave the fifo as it was: the caller
	 * still owns both the buffer and a working fifo.
	 */
	if (sk_unlikely(fifo->data && !fifo->owns_data)) {
		sk__violation(SK_VIOLATION_INVALID_ARGUMENT, fifo, cs, SK__RET_IP,
			      "kfifo_free: buffer %p was given by sk_kfifo_init(), not allocated "
			      "by sk_kfifo_alloc(); not freed, the fifo is unchanged",
			      fifo->data);
		return;
	}
	if (fifo->data)
		sk_kfree_sized(fifo->data, (size_t)fifo->size * fifo->esize);
	/* As the kernel's: no buffer, no element size; every use is refused. */
	sk__kfifo_setup(fifo, NULL, 0, 0);
}

bool sk__kfifo_claim(struct sk__kfifo *fifo, int side, const struct sk_callsite *cs)
{
	uintptr_t *owner = side == SK__KFIFO_PRODUCER ? &fifo->producer : &fifo->consumer;
	uintptr_t self = (uintptr_t)pthread_self();
	uintptr_t cur = 0;

	if (__atomic_compare_exchange_n(owner, &cur, self, false, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
		/*
		 * First use of this side.  The index words are read by the
		 * other side and by queries from any thread, with atomics that
		 * helgrind and drd cannot see; the owner words are polled the
		 * same way.  The elements themselves stay checked, ordered by
		 * the happens-before annotations of the debug-level inline code.
		 */
		SK_ANNOTATE_BENIGN_RACE_SIZED(&fifo->in, sizeof(fifo->in), "kfifo in index");
		SK_ANNOTATE_BENIGN_RACE_SIZED(&fifo->out, sizeof(fifo->out), "kfifo out index");
		SK_ANNOTATE_BENIGN_RACE_SIZED(owner, sizeof(*owner), "kfifo side owner");
		return true;
	}
	if (cur == self)
		return true;
	sk__violation(SK_VIOLATION_RING_CONCURRENT_ACCESS, fifo, cs, SK__RET_IP,
		      "kfifo %s side belongs to thread %#lx, used from thread %#lx "
		      "(hand a side over with sk_kfifo_release_%s())",
		      side == SK__KFIFO_PRODUCER ? "producer" : "consumer", (unsigned long)cur,
		      (unsigned long)self, side == SK__KFIFO_PRODUCER ? "producer" : "consumer");
	return false;
}
