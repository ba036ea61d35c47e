/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz-handle.c - model-based libFuzzer harness for handle tables.
 *
 * The input is decoded into a table configuration (generation space and
 * slot limit, small ones included so that retirement, forwarding and a
 * full table happen) and a sequence of operations: insert, lookup,
 * try_lookup, put, borrow, transfer, release, and each of them on garbage
 * handles forged from known ones (flipped table id or tag bits, shifted
 * index or generation, raw bytes, the zero handle, another table's
 * handle).  Every operation runs on the real table and on a simple
 * reference model (an array of slots with a LIFO free list), under the
 * count policy, and everything must match exactly: the returned object or
 * handle bits, the return code and errno, which violation kind was
 * reported (or none), and which destructors ran.  At the end the table is
 * destroyed: the model predicts the leak report.
 *
 * Run a campaign (clang build):
 *   build/tests/fuzz-handle -max_total_time=3600 -jobs=2 CORPUS_DIR
 * CI runs a fixed number of runs from a fixed seed (meson suite 'fuzz').
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <safekern/handle.h>

#define MAX_SLOTS 1024
#define MAX_OBJS 512
#define MAX_KNOWN 256
#define NOWNERS 3

#define MARK SK__HANDLE_LIVE
#define BORROWED SK__HANDLE_BORROWED

struct fobj {
	int id;
	int alive;
};

/* ------------------------------------------------------------------------
 * The reference model
 * ------------------------------------------------------------------------ */

struct mslot {
	uint32_t gen;
	int live, obj, prev;
	int owner;
	long count; /* the owner's reference + lookups + forwarding references */
	int objid;
};

struct model {
	struct mslot s[MAX_SLOTS];
	uint64_t next, capacity, max_slots;
	unsigned int chunks; /* chunks allocated: 64, 128, 256, ... slots */
	uint32_t gen_limit, tid;
	int free_stack[MAX_SLOTS];
	int nfree;
	int fwd_from[MAX_SLOTS], fwd_to[MAX_SLOTS];
	int nfwd;
	int destroyed[MAX_OBJS * 2]; /* destructor log of the current operation */
	int ndestroyed;
};

static struct model m;
static struct fobj objs[MAX_OBJS];
static int nobjs;
static struct sk_handle_table tab, other;
static struct sk_handle_owner owners[NOWNERS];
static sk_handle_t known[MAX_KNOWN];
static int nknown, known_next;
static sk_handle_t other_handle;
static int real_destroyed[MAX_OBJS * 2], nreal_destroyed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz-handle: mismatch at %s:%d: %s: ", __FILE__, \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

static void dtor(void *p, void *arg)
{
	struct fobj *o = p;

	CHECK(arg == &tab, "destructor argument");
	CHECK(o->alive, "object %d destroyed twice", o->id);
	o->alive = 0;
	real_destroyed[nreal_destroyed++] = o->id;
}

static uint32_t f_gen(uint64_t v)
{
	return (uint32_t)((v >> SK__HANDLE_GEN_SHIFT) & SK__HANDLE_GEN_MAX);
}

static uint64_t f_idx(uint64_t v)
{
	return v >> SK__HANDLE_INDEX_SHIFT;
}

static uint64_t m_handle(uint64_t idx, uint32_t gen)
{
	return (idx << SK__HANDLE_INDEX_SHIFT) | ((uint64_t)gen << SK__HANDLE_GEN_SHIFT) | MARK |
	       m.tid;
}

/* Whether the chunk that holds @idx is allocated. */
static int m_chunk_allocated(uint64_t idx)
{
	uint64_t x = idx + 64;
	unsigned int hb = 63u - (unsigned int)__builtin_clzll(x);

	return hb >= 6 && hb < 6 + m.chunks;
}

/* The structure check: 0 if @v is one of this table's handles in range. */
static int m_structure(uint64_t v)
{
	if (!v || !(v & MARK) || (v >> 62) || (v & SK__HANDLE_TID_MASK) != m.tid ||
	    f_idx(v) >= m.next)
		return SK_VIOLATION_HANDLE_INVALID;
	return 0;
}

static void m_finalize(int idx);

static void m_unref(int idx)
{
	struct mslot *s = &m.s[idx];

	s->count--;
	if (s->count == 0 && s->obj && !s->live) {
		s->obj = 0;
		m_finalize(idx);
	}
}

static void m_finalize(int idx)
{
	struct mslot *s = &m.s[idx];

	if (s->gen >= m.gen_limit && !s->prev) {
		/* Moved: drop the forwarding reference on the new slot. */
		for (int i = 0; i < m.nfwd; i++) {
			if (m.fwd_from[i] == idx) {
				int to = m.fwd_to[i];

				m.fwd_from[i] = m.fwd_from[m.nfwd - 1];
				m.fwd_to[i] = m.fwd_to[m.nfwd - 1];
				m.nfwd--;
				m_unref(to);
				break;
			}
		}
	} else {
		m.destroyed[m.ndestroyed++] = s->objid;
	}
	if (s->gen < m.gen_limit)
		m.free_stack[m.nfree++] = idx;
}

/* A slot for a new object: LIFO free list, else a never-used one. */
static int m_take_slot(void)
{
	if (m.nfree)
		return m.free_stack[--m.nfree];
	if (m.next < m.capacity)
		return (int)m.next++;
	if (m.capacity >= m.max_slots)
		return -ENOSPC;
	m.capacity += UINT64_C(64) << m.chunks;
	m.chunks++;
	if (m.capacity > m.max_slots)
		m.capacity = m.max_slots;
	return (int)m.next++;
}

static void m_publish(int idx, int objid, int owner, long count)
{
	struct mslot *s = &m.s[idx];

	s->live = 1;
	s->obj = 1;
	s->owner = owner;
	s->count += count;
	s->objid = objid;
}

/* The generation check of sk_handle_* on a structurally valid handle. */
enum mop { M_LOOKUP, M_BORROW, M_RELEASE, M_TRANSFER };

static int m_generation(uint64_t v, enum mop op, int owner)
{
	struct mslot *s = &m.s[f_idx(v)];
	uint32_t hgen = f_gen(v);

	if (op == M_RELEASE && hgen + 1 == s->gen && s->prev)
		return SK_VIOLATION_HANDLE_DOUBLE_RELEASE;
	if (hgen < s->gen)
		return SK_VIOLATION_HANDLE_STALE;
	if (hgen > s->gen || !s->live)
		return SK_VIOLATION_HANDLE_INVALID;
	if (op == M_RELEASE || op == M_TRANSFER) {
		if ((v & BORROWED) || s->owner != owner)
			return SK_VIOLATION_HANDLE_WRONG_OWNER;
	} else if (op == M_LOOKUP && s->count <= 0) {
		return SK_VIOLATION_REFCOUNT_INC_FROM_ZERO; /* after a put stole a reference */
	} else if (op == M_LOOKUP && s->count >= SK_HANDLE_MAX_REFS + 1) {
		return SK_VIOLATION_REFCOUNT_OVERFLOW;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Running one operation on both and comparing: begin_op() before the
 * model's prediction, end_op() after the real operation.
 * ------------------------------------------------------------------------ */

static unsigned long counts_before[SK_VIOLATION_NR];

static void begin_op(void)
{
	for (int k = 0; k < SK_VIOLATION_NR; k++)
		counts_before[k] = sk_violation_count((enum sk_violation_kind)k);
	m.ndestroyed = 0;
	nreal_destroyed = 0;
}

static int trace; /* FUZZ_TRACE=1: print every operation (to debug a crash input) */

/* @kind: the expected violation, or 0 for none. */
static void end_op(const char *what, uint64_t v, int kind)
{
	if (trace)
		fprintf(stderr, "%-10s %#18llx expect %-22s destructors %d\n", what,
			(unsigned long long)v,
			kind ? sk_violation_kind_name((enum sk_violation_kind)kind) : "-",
			m.ndestroyed);
	for (int k = 0; k < SK_VIOLATION_NR; k++) {
		unsigned long d = sk_violation_count((enum sk_violation_kind)k) - counts_before[k];

		CHECK(d == (unsigned long)(k == kind && kind), "%s(%#llx): %lu x %s, expected %s",
		      what, (unsigned long long)v, d, sk_violation_kind_name((enum sk_violation_kind)k),
		      kind ? sk_violation_kind_name((enum sk_violation_kind)kind) : "none");
	}
	CHECK(nreal_destroyed == m.ndestroyed, "%s(%#llx): %d destructors ran, expected %d", what,
	      (unsigned long long)v, nreal_destroyed, m.ndestroyed);
	for (int i = 0; i < m.ndestroyed; i++)
		CHECK(real_destroyed[i] == m.destroyed[i], "%s: destructor of object %d, expected %d",
		      what, real_destroyed[i], m.destroyed[i]);
}

static void remember(sk_handle_t h)
{
	known[known_next] = h;
	known_next = (known_next + 1) % MAX_KNOWN;
	if (nknown < MAX_KNOWN)
		nknown++;
}

static void op_insert(int owner)
{
	sk_handle_t h;
	int idx, objid;
	uint64_t expect = 0;

	if (nobjs == MAX_OBJS)
		return;
	begin_op();
	objid = nobjs++;
	objs[objid].id = objid;
	objs[objid].alive = 1;
	idx = m_take_slot();
	if (idx >= 0) {
		m_publish(idx, objid, owner, 1);
		expect = m_handle((uint64_t)idx, m.s[idx].gen);
	}
	errno = 0;
	h = sk_handle_insert(&tab, &objs[objid], &owners[owner]);
	end_op("insert", 0, 0);
	CHECK(sk_handle_bits(h) == expect, "insert returned %#llx, expected %#llx",
	      (unsigned long long)sk_handle_bits(h), (unsigned long long)expect);
	if (idx < 0) {
		CHECK(errno == ENOSPC, "insert into a full table: errno %d", errno);
		objs[objid].alive = 0;
		return;
	}
	remember(h);
}

static void op_lookup(uint64_t v, int try_only)
{
	int kind = m_structure(v), objid = -1;
	void *p;

	begin_op();
	if (!kind) {
		kind = m_generation(v, M_LOOKUP, 0);
		if (!kind) {
			m.s[f_idx(v)].count++;
			objid = m.s[f_idx(v)].objid;
		} else if (kind == SK_VIOLATION_HANDLE_STALE && try_only) {
			kind = 0;
		}
	}
	p = try_only ? sk_handle_try_lookup(&tab, sk_handle_from_bits(v))
		     : sk_handle_lookup(&tab, sk_handle_from_bits(v));
	end_op(try_only ? "try_lookup" : "lookup", v, kind);
	CHECK(p == (objid < 0 ? NULL : (void *)&objs[objid]), "lookup(%#llx) returned %p",
	      (unsigned long long)v, p);
	if (p)
		CHECK(((struct fobj *)p)->alive, "lookup returned a destroyed object");
}

static void op_put(uint64_t v)
{
	int kind = 0;

	begin_op();
	if (!(v & MARK) || (v & SK__HANDLE_TID_MASK) != m.tid || !m_chunk_allocated(f_idx(v)) ||
	    f_idx(v) >= m.next) {
		kind = SK_VIOLATION_HANDLE_INVALID;
	} else {
		struct mslot *s = &m.s[f_idx(v)];

		if (s->count == 1 && s->obj && !s->live)
			m_unref((int)f_idx(v));
		else if (s->count >= 2)
			s->count--;
		else
			kind = SK_VIOLATION_REFCOUNT_UNDERFLOW;
	}
	sk_handle_put(&tab, sk_handle_from_bits(v));
	end_op("put", v, kind);
}

static void op_borrow(uint64_t v)
{
	int kind = m_structure(v);
	sk_handle_t b;

	begin_op();
	if (!kind)
		kind = m_generation(v, M_BORROW, 0);
	b = sk_handle_borrow(&tab, sk_handle_from_bits(v));
	end_op("borrow", v, kind);
	CHECK(sk_handle_bits(b) == (kind ? 0 : v | BORROWED), "borrow(%#llx) returned %#llx",
	      (unsigned long long)v, (unsigned long long)sk_handle_bits(b));
	if (!kind)
		remember(b);
}

static int kind_errno(int kind)
{
	switch (kind) {
	case SK_VIOLATION_HANDLE_STALE:
		return ESTALE;
	case SK_VIOLATION_HANDLE_DOUBLE_RELEASE:
		return EALREADY;
	case SK_VIOLATION_HANDLE_WRONG_OWNER:
		return EPERM;
	default:
		return EINVAL;
	}
}

static void op_release(uint64_t v, int owner)
{
	int kind = m_structure(v), rc;

	begin_op();
	if (!kind)
		kind = m_generation(v, M_RELEASE, owner);
	if (!kind) {
		struct mslot *s = &m.s[f_idx(v)];

		s->gen++;
		s->live = 0;
		s->prev = 1;
		m_unref((int)f_idx(v));
	}
	rc = sk_handle_release(&tab, sk_handle_from_bits(v), &owners[owner]);
	end_op("release", v, kind);
	CHECK(rc == (kind ? -kind_errno(kind) : 0), "release(%#llx) returned %d, expected %d",
	      (unsigned long long)v, rc, kind ? -kind_errno(kind) : 0);
}

static void op_transfer(uint64_t v, int from, int to)
{
	int kind = m_structure(v), err = 0;
	uint64_t expect = 0;
	sk_handle_t n;

	begin_op();
	if (!kind)
		kind = m_generation(v, M_TRANSFER, from);
	if (!kind) {
		int idx = (int)f_idx(v);
		struct mslot *s = &m.s[idx];

		if (s->gen + 1 >= m.gen_limit) {
			int idx2 = m_take_slot();

			if (idx2 < 0) {
				err = -idx2;
			} else {
				s->live = 0;
				s->gen = m.gen_limit;
				s->prev = 0;
				m_publish(idx2, s->objid, to, 2);
				m.fwd_from[m.nfwd] = idx;
				m.fwd_to[m.nfwd] = idx2;
				m.nfwd++;
				expect = m_handle((uint64_t)idx2, m.s[idx2].gen);
				m_unref(idx);
			}
		} else {
			s->gen++;
			s->owner = to;
			s->prev = 0;
			expect = m_handle((uint64_t)idx, s->gen);
		}
	} else {
		err = kind_errno(kind);
	}
	errno = 0;
	n = sk_handle_transfer(&tab, sk_handle_from_bits(v), &owners[from], &owners[to]);
	end_op("transfer", v, kind);
	CHECK(sk_handle_bits(n) == expect, "transfer(%#llx) returned %#llx, expected %#llx",
	      (unsigned long long)v, (unsigned long long)sk_handle_bits(n),
	      (unsigned long long)expect);
	if (expect)
		remember(n);
	else
		CHECK(errno == err, "transfer(%#llx): errno %d, expected %d", (unsigned long long)v,
		      errno, err);
}

/* ------------------------------------------------------------------------
 * Decoding the input
 * ------------------------------------------------------------------------ */

struct input {
	const uint8_t *p;
	size_t n;
};

static int take(struct input *in, uint8_t *b)
{
	if (!in->n)
		return 0;
	*b = *in->p++;
	in->n--;
	return 1;
}

static uint64_t pick_known(uint8_t b)
{
	return nknown ? sk_handle_bits(known[b % nknown]) : 0;
}

/* A garbage handle made from a known one (or raw bytes). */
static uint64_t forge(struct input *in, uint64_t v)
{
	uint8_t mode = 0, a = 0;
	uint64_t raw = 0;

	take(in, &mode);
	take(in, &a);
	switch (mode % 11) {
	case 0:
		return v ^ (UINT64_C(1) << (a % 9)); /* another table id */
	case 1:
		return v & ~MARK; /* tag bit cleared */
	case 2:
		return v | (UINT64_C(1) << (62 + (a & 1))); /* must-be-zero bits */
	case 3:
		return v + ((uint64_t)(a + 1) << SK__HANDLE_INDEX_SHIFT); /* index */
	case 4:
		return v + ((uint64_t)(a % 4 + 1) << SK__HANDLE_GEN_SHIFT); /* newer generation */
	case 5:
		return v - ((uint64_t)(a % 4 + 1) << SK__HANDLE_GEN_SHIFT); /* older generation */
	case 6:
		for (int i = 0; i < 8; i++) {
			uint8_t b = 0;

			take(in, &b);
			raw = raw << 8 | b;
		}
		return raw ^ a;
	case 7:
		return 0;
	case 8:
		return v ^ BORROWED;
	case 9:
		return sk_handle_bits(other_handle);
	default:
		return v + ((uint64_t)(a % 8) << SK__HANDLE_INDEX_SHIFT) +
		       ((uint64_t)(a >> 3) << SK__HANDLE_GEN_SHIFT);
	}
}

static void run_op(struct input *in, uint8_t op, uint64_t v)
{
	uint8_t a = 0, b = 0;

	take(in, &a);
	switch (op) {
	case 0:
		op_lookup(v, 0);
		break;
	case 1:
		op_lookup(v, 1);
		break;
	case 2:
		op_put(v);
		break;
	case 3:
		op_borrow(v);
		break;
	case 4:
		take(in, &b);
		op_transfer(v, a % NOWNERS, b % NOWNERS);
		break;
	default:
		op_release(v, a % NOWNERS);
		break;
	}
}

static const uint32_t gen_limits[] = { 1, 2, 3, 5, 8, 100, SK_HANDLE_GENERATIONS };
static const uint64_t slot_limits[] = { 1, 4, 63, 64, 65, 200, MAX_SLOTS };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sk_violation_set_policy(SK_VIOLATION_COUNT);
	trace = getenv("FUZZ_TRACE") != NULL;
	for (int i = 0; i < NOWNERS; i++)
		sk_handle_owner_init(&owners[i], i == 0 ? "owner0" : i == 1 ? "owner1" : "owner2");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	static struct fobj other_obj;
	uint8_t cfg = 0, op;
	long live = 0;

	take(&in, &cfg);
	memset(&m, 0, sizeof(m));
	nobjs = nknown = known_next = 0;
	sk_handle_table_init(&tab, dtor, &tab);
	m.gen_limit = gen_limits[cfg % 7];
	m.max_slots = slot_limits[(cfg / 7) % 7];
	CHECK(sk__handle_table_set_limits(&tab, m.gen_limit, m.max_slots) == 0, "limits");
	m.tid = tab.sk__tid;
	sk_handle_table_init(&other, NULL, NULL);
	other_handle = sk_handle_insert(&other, &other_obj, &owners[0]);
	CHECK(!sk_handle_is_null(other_handle), "insert into the other table");

	while (take(&in, &op)) {
		uint8_t sel = 0;

		if (op % 16 < 4) {
			op_insert(op % NOWNERS);
			continue;
		}
		take(&in, &sel);
		if (op % 16 < 12)
			run_op(&in, (uint8_t)(op % 16 - 4), pick_known(sel));
		else
			run_op(&in, (uint8_t)(op % 6), forge(&in, pick_known(sel)));
	}

	/* Destroying the table: one leak report if objects are left, no destructor. */
	for (uint64_t i = 0; i < m.next; i++)
		if (m.s[i].obj && !(m.s[i].gen >= m.gen_limit && !m.s[i].prev))
			live++;
	CHECK(sk_handle_table_count(&tab) == (uint64_t)live, "count %llu, model %ld",
	      (unsigned long long)sk_handle_table_count(&tab), live);
	begin_op();
	sk_handle_table_destroy(&tab);
	end_op("destroy", 0, live ? SK_VIOLATION_HANDLE_LEAK : 0);
	CHECK(sk_handle_release(&other, other_handle, &owners[0]) == 0, "other release");
	sk_handle_table_destroy(&other);
	return 0;
}
