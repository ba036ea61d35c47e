/* SPDX-License-Identifier: MIT */
/*
 * kvd - a small multi-threaded key-value cache on loopback, built on
 * libsafekern the way a daemon uses it.
 *
 * Protocol: one request per line, one reply per request, in order.
 *
 *   SET <key> <value>   ->  STORED
 *   GET <key>           ->  VALUE <value>  |  NOTFOUND
 *   DEL <key>           ->  DELETED        |  NOTFOUND
 *   anything else       ->  ERROR <why>
 *
 * Keys are 1-64 bytes and values 1-256 bytes, neither with spaces.  A line
 * over 326 bytes gets "ERROR line too long" and the connection stays; one
 * with no newline in its first 1,024 bytes gets it and is closed.  Out of
 * file descriptors, new connections are accepted and closed at once.
 *
 * Threads and what carries work between them (docs in README.md):
 *
 *   main (acceptor)  accepts a connection, allocates a struct conn from
 *                    the "kvd-conn" sk_kmem_cache, inserts it into the
 *                    handle table owned by the acceptor, transfers the
 *                    handle to a worker and hands it over through that
 *                    worker's inbox, an SPSC sk_kfifo of handles.
 *   workers (I/O)    own their connections (the handle owner is the
 *                    worker); read requests, turn each into a struct job
 *                    from the "kvd-job" cache carrying a *borrowed* copy of
 *                    the connection's handle, and produce it onto the
 *                    shared MPMC sk_ptr_ring.  One request per connection
 *                    is with the executors at a time, so replies stay in
 *                    order.
 *   executors        consume jobs, run them against the store, and queue
 *                    the reply on the connection's reply queue, an
 *                    sk_locked_list (every operation requires its mutex:
 *                    clang checks it), locked with sk_scoped_guard(mutex).  They reach the connection with
 *                    sk_htable_try_lookup() on the borrowed handle, so a
 *                    connection closed meanwhile is simply gone: its
 *                    handle is stale, never a dangling pointer.
 *
 * The store is a hash table of hlists read under RCU (liburcu, memb
 * flavour) and written under a per-bucket sk_mutex.  Items are immutable
 * and carry an sk_wkref: the table holds one strong reference (dropped a
 * grace period after the item is unlinked, so a reader inside its
 * critical section may still take one), readers take strong references to
 * copy the value out, and each executor keeps a small lookaside cache of
 * *weak* references to recently read items: the cache never keeps an item
 * alive, and a weak reference upgrades only while the item is.
 *
 * SIGTERM or SIGINT: stop accepting, close every connection (releasing its
 * handle), stop the executors, empty the store, wait for the grace
 * periods, and destroy the handle table and both caches, which must be
 * empty.  The exit status is 0 only if nothing leaked and the library
 * reported no violation.
 *
 * Usage: kvd [-p PORT] [-P PORTFILE] [-I PIDFILE] [-w WORKERS] [-e EXECUTORS] [-q]
 *   -p PORT      loopback port (default 7070; 0 picks a free one)
 *   -P PORTFILE  write the port there once listening
 *   -I PIDFILE   write the process id there once listening
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <urcu.h> /* the RCU flavour, before safekern/rculist.h */

#include <safekern/alloc.h>
#include <safekern/cleanup.h>
#include <safekern/handle.h>
#include <safekern/kfifo.h>
#include <safekern/list.h>
#include <safekern/lock.h>
#include <safekern/locked_list.h>
#include <safekern/ptr_ring.h>
#include <safekern/rculist.h>
#include <safekern/slab.h>
#include <safekern/violation.h>
#include <safekern/wkref.h>

#define KEY_MAX 64
#define VAL_MAX 256
#define LINE_MAX_LEN (4 + KEY_MAX + 1 + VAL_MAX + 1) /* "SET k v\n" */
#define RBUF_SIZE 1024
#define OBUF_SIZE 512
#define NBUCKETS 4096
#define LOOKASIDE 256
#define JOB_RING_SIZE 4096
#define INBOX_SIZE 256
#define MAX_THREADS 64

static bool quiet;

#define say(...)                                                              \
	do {                                                                  \
		if (!quiet)                                                   \
			fprintf(stderr, "kvd: " __VA_ARGS__);                 \
	} while (0)

static void die(const char *what)
{
	fprintf(stderr, "kvd: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ------------------------------------------------------------------------
 * The store: an RCU hash table of hlists of immutable, weakly referenced items
 * ------------------------------------------------------------------------ */

struct item {
	struct sk_hlist_node node;   /* in its bucket */
	struct sk_wkref ref;         /* strong: the table, readers; weak: lookasides */
	struct sk_rcu_head rcu;      /* the table's reference is dropped after a GP */
	uint64_t hash;
	bool unlinked;               /* set (release) when the table lets go */
	uint16_t klen, vlen;
	char data[];                 /* key, then value; not NUL-terminated */
};

/*
 * A bucket is a lock-annotated container: writers reach the list only
 * through bucket_head(), which requires the bucket's lock; RCU readers use
 * bucket_head_rcu(), which needs no lock, only a read-side critical section.
 */
struct bucket {
	struct sk_mutex lock;
	struct sk_hlist_head head_;
};

static struct bucket *buckets;
static unsigned long items_live; /* allocated items (atomic) */

static struct sk_hlist_head *bucket_head(struct bucket *b) SK_MUST_HOLD(b->lock);
static struct sk_hlist_head *bucket_head(struct bucket *b)
{
	return &b->head_;
}

static struct sk_hlist_head *bucket_head_rcu(struct bucket *b)
{
	return &b->head_;
}

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*k++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static struct bucket *bucket_of(uint64_t hash)
{
	return &buckets[(hash >> 7) % NBUCKETS];
}

static bool item_is(const struct item *it, uint64_t hash, const char *k, size_t klen)
{
	return it->hash == hash && it->klen == klen && memcmp(it->data, k, klen) == 0;
}

/* Strong count reached zero: items own nothing but their memory. */
static void item_release(struct sk_wkref *ref)
{
	(void)ref;
}

static void item_dealloc(struct sk_wkref *ref)
{
	struct item *it = sk_container_of(ref, struct item, ref);

	sk_kfree(it);
	__atomic_sub_fetch(&items_live, 1, __ATOMIC_RELAXED);
}

static struct item *item_alloc(const char *k, size_t klen, const char *v, size_t vlen)
{
	struct item *it = sk_kmalloc(sk_struct_size(it, data, klen + vlen));

	if (!it)
		return NULL;
	sk_init_hlist_node(&it->node);
	sk_wkref_init(&it->ref);
	it->hash = hash_key(k, klen);
	it->unlinked = false;
	it->klen = (uint16_t)klen;
	it->vlen = (uint16_t)vlen;
	memcpy(it->data, k, klen);
	memcpy(it->data + klen, v, vlen);
	__atomic_add_fetch(&items_live, 1, __ATOMIC_RELAXED);
	return it;
}

/* After a grace period: no reader can find the item; drop the table's reference. */
static void item_put_table_ref(void *obj)
{
	struct item *it = (struct item *)obj;

	sk_wkref_put(&it->ref, item_release, item_dealloc);
}

/* The item was just unlinked from its bucket (bucket lock held). */
static void item_unlinked(struct item *it)
{
	__atomic_store_n(&it->unlinked, true, __ATOMIC_RELEASE);
	sk_call_rcu_free(it, rcu, item_put_table_ref);
}

static struct item *bucket_find_locked(struct bucket *b, uint64_t hash, const char *k,
				       size_t klen) SK_MUST_HOLD(b->lock);
static struct item *bucket_find_locked(struct bucket *b, uint64_t hash, const char *k,
				       size_t klen)
{
	struct item *it;

	sk_hlist_for_each_entry(it, bucket_head(b), node)
		if (item_is(it, hash, k, klen))
			return it;
	return NULL;
}

/* SET: 0, or -ENOMEM. */
static int store_set(const char *k, size_t klen, const char *v, size_t vlen)
{
	struct item *new = item_alloc(k, klen, v, vlen);
	struct bucket *b;
	struct item *old;

	if (!new)
		return -ENOMEM;
	b = bucket_of(new->hash);
	sk_guard(mutex)(&b->lock);
	old = bucket_find_locked(b, new->hash, k, klen);
	if (old) {
		sk_hlist_replace_rcu(&old->node, &new->node);
		item_unlinked(old);
	} else {
		sk_hlist_add_head_rcu(&new->node, bucket_head(b));
	}
	return 0;
}

/* DEL: true if the key was there. */
static bool store_del(const char *k, size_t klen)
{
	uint64_t hash = hash_key(k, klen);
	struct bucket *b = bucket_of(hash);
	struct item *old;

	sk_guard(mutex)(&b->lock);
	old = bucket_find_locked(b, hash, k, klen);
	if (!old)
		return false;
	sk_hlist_del_rcu(&old->node);
	item_unlinked(old);
	return true;
}

/* A strong reference to the item of @k, or NULL: RCU lookup, then a get. */
static struct item *store_get_rcu(uint64_t hash, const char *k, size_t klen)
{
	struct item *it, *found = NULL;

	sk_rcu_read_lock();
	sk_hlist_for_each_entry_rcu(it, bucket_head_rcu(bucket_of(hash)), node) {
		if (item_is(it, hash, k, klen)) {
			/*
			 * The table's strong reference is dropped only a grace
			 * period after the unlink, so inside this critical
			 * section the count is never zero: a plain get is safe.
			 */
			sk_wkref_get(&it->ref);
			found = it;
			break;
		}
	}
	sk_rcu_read_unlock();
	return found;
}

static void store_init(void)
{
	buckets = sk_kcalloc(NBUCKETS, sizeof(*buckets));
	if (!buckets)
		die("store");
	for (unsigned int i = 0; i < NBUCKETS; i++) {
		sk_mutex_init(&buckets[i].lock);
		sk_init_hlist_head(&buckets[i].head_);
	}
}

/* Unlink everything, wait for the callbacks: every item is freed. */
static unsigned long store_destroy(void)
{
	unsigned long n = 0;

	for (unsigned int i = 0; i < NBUCKETS; i++) {
		struct bucket *b = &buckets[i];
		struct sk_hlist_node *tmp;
		struct item *it;

		sk_scoped_guard(mutex, &b->lock) {
			sk_hlist_for_each_entry_safe(it, tmp, bucket_head(b), node) {
				sk_hlist_del_rcu(&it->node);
				item_unlinked(it);
				n++;
			}
		}
		sk_mutex_destroy(&b->lock);
	}
	sk_rcu_barrier();
	sk_kfree(buckets);
	buckets = NULL;
	return n;
}

/* ------------------------------------------------------------------------
 * Connections and jobs
 * ------------------------------------------------------------------------ */

struct conn;
SK_HANDLE_TABLE(conn_table, struct conn);

enum op { OP_GET, OP_SET, OP_DEL };

/* A request on its way to an executor, then its reply on the way back. */
struct job {
	struct sk_list_head node;    /* on the connection's reply queue */
	conn_table_handle_t conn;    /* a borrowed copy of the worker's handle */
	enum op op;
	uint16_t klen, vlen, olen;
	char key[KEY_MAX];
	char val[VAL_MAX];
	char out[8 + VAL_MAX + 1];   /* the reply line */
};

struct worker;

struct conn {
	int fd;
	struct worker *w;
	conn_table_handle_t self;    /* the owning worker's handle */
	struct sk_locked_list replies; /* jobs with replies, under replies.lock */
	/* The rest belongs to the owning worker alone. */
	struct sk_list_head busy_node; /* on w->busy while a job is out */
	bool busy;
	bool want_out;               /* EPOLLOUT armed */
	size_t rlen, olen, ooff;
	unsigned long requests;
	char rbuf[RBUF_SIZE];
	char obuf[OBUF_SIZE];
};

struct worker {
	unsigned int id;
	pthread_t thread;
	int epfd, evfd;
	struct sk_handle_owner owner;
	SK_DECLARE_KFIFO_PTR(inbox, conn_table_handle_t); /* acceptor -> worker */
	struct sk_list_head busy;    /* connections with a job out */
	conn_table_handle_t *by_fd;  /* this worker's connections, by fd */
	unsigned int nfds;
	unsigned long served, requests;
};

struct executor {
	pthread_t thread;
	struct item *look[LOOKASIDE]; /* weak references */
	unsigned long hits, misses;
};

static struct sk_kmem_cache *conn_cache, *job_cache;
static struct conn_table conns;
static struct sk_ptr_ring jobs;
static sem_t jobs_sem;
static struct worker workers[MAX_THREADS];
static struct executor executors[MAX_THREADS];
static unsigned int nworkers = 2, nexecutors = 2;
static bool stopping, executors_stop; /* atomics */
static struct sk_handle_owner acceptor_owner = SK_HANDLE_OWNER_INIT("acceptor");

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		die("eventfd write");
}

/* The handle table's destructor: no lookup holds the connection any more. */
static void conn_free(struct conn *c, void *arg)
{
	struct job *j, *tmp;

	(void)arg;
	sk_scoped_guard(mutex, &c->replies.lock) {
		sk_locked_list_for_each_entry_safe(j, tmp, &c->replies, node) {
			sk_locked_list_del(&j->node, &c->replies);
			sk_kmem_cache_free(job_cache, j);
		}
	}
	sk_locked_list_destroy(&c->replies);
	sk_kmem_cache_free(conn_cache, c);
}

/* ------------------------------------------------------------------------
 * Executors
 * ------------------------------------------------------------------------ */

static void reply(struct job *j, const char *s)
{
	j->olen = (uint16_t)snprintf(j->out, sizeof(j->out), "%s\n", s);
}

static void lookaside_drop(struct executor *ex, unsigned int slot)
{
	struct item *it = ex->look[slot];

	ex->look[slot] = NULL;
	if (it)
		sk_wkref_put_weak(&it->ref, item_dealloc);
}

/* GET through the lookaside of weak references, then the table. */
static void do_get(struct executor *ex, struct job *j)
{
	uint64_t hash = hash_key(j->key, j->klen);
	unsigned int slot = (unsigned int)(hash % LOOKASIDE);
	struct item *it = ex->look[slot];

	if (it && item_is(it, hash, j->key, j->klen)) {
		if (sk_wkref_upgrade(&it->ref)) {
			if (!__atomic_load_n(&it->unlinked, __ATOMIC_ACQUIRE)) {
				ex->hits++;
				goto found;
			}
			sk_wkref_put(&it->ref, item_release, item_dealloc);
		}
		lookaside_drop(ex, slot); /* replaced or deleted: forget it */
	}
	ex->misses++;
	it = store_get_rcu(hash, j->key, j->klen);
	if (!it) {
		reply(j, "NOTFOUND");
		return;
	}
	if (ex->look[slot] != it) {
		lookaside_drop(ex, slot);
		sk_wkref_get_weak(&it->ref); /* we hold a strong one */
		ex->look[slot] = it;
	}
found:
	j->olen = (uint16_t)snprintf(j->out, sizeof(j->out), "VALUE %.*s\n", (int)it->vlen,
				     it->data + it->klen);
	sk_wkref_put(&it->ref, item_release, item_dealloc);
}

static void execute(struct executor *ex, struct job *j)
{
	conn_table_handle_t h;
	struct conn *c;
	struct worker *w;

	switch (j->op) {
	case OP_GET:
		do_get(ex, j);
		break;
	case OP_SET:
		reply(j, store_set(j->key, j->klen, j->val, j->vlen) ? "ERROR out of memory"
								       : "STORED");
		break;
	case OP_DEL:
		reply(j, store_del(j->key, j->klen) ? "DELETED" : "NOTFOUND");
		break;
	}

	/* A borrowed handle of a connection that closed meanwhile is stale:
	 * the lookup fails quietly and the reply has nobody to go to. */
	h = j->conn;
	c = sk_htable_try_lookup(conn_table, &conns, h);
	if (!c) {
		sk_kmem_cache_free(job_cache, j);
		return;
	}
	w = c->w;
	/* Once queued, the job belongs to the worker, which may free it at
	 * once: touch it no more (h is our copy of its handle). */
	sk_scoped_guard(mutex, &c->replies.lock)
		sk_locked_list_add_tail(&j->node, &c->replies);
	sk_htable_put(conn_table, &conns, h);
	wake(w);
}

static void *executor_main(void *arg)
{
	struct executor *ex = (struct executor *)arg;
	struct job *j;

	rcu_register_thread(); /* RCU readers and call_rcu() users register */
	for (;;) {
		while (sem_wait(&jobs_sem) && errno == EINTR)
			;
		/* A post means a job is in the ring or about to be (another
		 * producer may still be finishing its slot). */
		while (!(j = (struct job *)sk_ptr_ring_consume(&jobs)) &&
		       !__atomic_load_n(&executors_stop, __ATOMIC_ACQUIRE))
			sched_yield();
		if (!j)
			break;
		execute(ex, j);
	}
	for (unsigned int i = 0; i < LOOKASIDE; i++)
		lookaside_drop(ex, i);
	rcu_unregister_thread();
	return NULL;
}

/* ------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------ */

#define EV_WAKE UINT64_MAX

static void conn_close(struct worker *w, struct conn *c)
{
	conn_table_handle_t h = c->self;
	int fd = c->fd;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	if (c->busy)
		sk_list_del_init(&c->busy_node);
	w->by_fd[fd] = (conn_table_handle_t){ sk_handle_null() };
	w->requests += c->requests;
	/* The destructor runs when the last lookup (ours, or an executor's)
	 * is dropped; every copy of the handle is stale from now on. */
	if (sk_htable_release(conn_table, &conns, h, &w->owner))
		say("release of a connection failed\n");
}

/* False if epoll refused (ENOMEM): the caller closes this connection,
 * the daemon carries on. */
static bool conn_want_out(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = (uint64_t)c->fd };

	if (c->want_out == on)
		return true;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		say("epoll_ctl(MOD) of fd %d: %s: connection closed\n", c->fd, strerror(errno));
		return false;
	}
	c->want_out = on;
	return true;
}

/* Write out what is buffered; false if the connection failed. */
static bool conn_flush(struct worker *w, struct conn *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return conn_want_out(w, c, true);
		if (n <= 0)
			return false;
		c->ooff += (size_t)n;
	}
	c->ooff = c->olen = 0;
	return conn_want_out(w, c, false);
}

static bool conn_say(struct worker *w, struct conn *c, const char *s, size_t n)
{
	if (n > sizeof(c->obuf) - c->olen)
		return false;
	memcpy(c->obuf + c->olen, s, n);
	c->olen += n;
	return conn_flush(w, c);
}

static bool parse(struct job *j, char *line, size_t len, const char **err)
{
	char *sp1, *sp2 = NULL;
	size_t klen;

	/* The parse below uses C strings: a NUL would cut a key or value
	 * short, or hide trailing data. */
	if (memchr(line, '\0', len)) {
		*err = "ERROR bad request\n";
		return false;
	}
	line[len] = '\0';
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	sp1 = memchr(line, ' ', len);
	if (!sp1) {
		*err = "ERROR no key\n";
		return false;
	}
	*sp1++ = '\0';
	if (!strcmp(line, "GET"))
		j->op = OP_GET;
	else if (!strcmp(line, "SET"))
		j->op = OP_SET;
	else if (!strcmp(line, "DEL"))
		j->op = OP_DEL;
	else {
		*err = "ERROR unknown command\n";
		return false;
	}
	sp2 = strchr(sp1, ' ');
	klen = sp2 ? (size_t)(sp2 - sp1) : strlen(sp1);
	if (klen == 0 || klen > KEY_MAX) {
		*err = "ERROR bad key\n";
		return false;
	}
	memcpy(j->key, sp1, klen);
	j->klen = (uint16_t)klen;
	j->vlen = 0;
	if (j->op == OP_SET) {
		size_t vlen = sp2 ? strlen(sp2 + 1) : 0;

		if (vlen == 0 || vlen > VAL_MAX || memchr(sp2 + 1, ' ', vlen)) {
			*err = "ERROR bad value\n";
			return false;
		}
		memcpy(j->val, sp2 + 1, vlen);
		j->vlen = (uint16_t)vlen;
	} else if (sp2) {
		*err = "ERROR trailing data\n";
		return false;
	}
	return true;
}

static void job_produce(struct job *j)
{
	/* The ring is bounded: wait for the executors if it is full. */
	while (sk_ptr_ring_produce(&jobs, j) == -ENOSPC)
		sched_yield();
	sem_post(&jobs_sem);
}

/* Start the next buffered request, if none is out; false: close it. */
static bool conn_process(struct worker *w, struct conn *c)
{
	while (!c->busy && c->olen == 0) {
		char *nl = memchr(c->rbuf, '\n', c->rlen);
		const char *err = NULL;
		struct job *j;
		size_t len;

		if (!nl) {
			if (c->rlen < sizeof(c->rbuf))
				return true; /* wait for the rest of the line */
			(void)conn_say(w, c, "ERROR line too long\n", 20);
			return false;
		}
		len = (size_t)(nl - c->rbuf);
		j = sk_kmem_cache_alloc(job_cache);
		if (!j) {
			/* Answered and dropped, like a bad line: keeping the
			 * line ran it later, after its error reply, and put
			 * every later reply one request behind. */
			if (!conn_say(w, c, "ERROR out of memory\n", 20))
				return false;
		} else if (len > LINE_MAX_LEN || !parse(j, c->rbuf, len, &err)) {
			sk_kmem_cache_free(job_cache, j);
			if (!err)
				err = "ERROR line too long\n";
			if (!conn_say(w, c, err, strlen(err)))
				return false;
		} else {
			sk_init_list_head(&j->node);
			j->conn = sk_htable_borrow(conn_table, &conns, c->self);
			c->busy = true;
			c->requests++;
			sk_list_add_tail(&c->busy_node, &w->busy);
			job_produce(j);
		}
		c->rlen -= len + 1;
		memmove(c->rbuf, nl + 1, c->rlen);
	}
	return true;
}

static bool conn_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rlen == sizeof(c->rbuf))
			return conn_process(w, c) && c->rlen < sizeof(c->rbuf);
		n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return conn_process(w, c);
		if (n <= 0)
			return false;
		c->rlen += (size_t)n;
	}
}

/* Replies came back: send them, then start the next request. */
static void worker_collect(struct worker *w)
{
	struct conn *c, *tmp;

	sk_list_for_each_entry_safe(c, tmp, &w->busy, busy_node) {
		struct job *j = NULL;
		bool ok;

		sk_scoped_guard(mutex, &c->replies.lock) {
			j = sk_locked_list_first_entry_or_null(&c->replies, struct job, node);
			if (j)
				sk_locked_list_del(&j->node, &c->replies);
		}
		if (!j)
			continue;
		c->busy = false;
		sk_list_del_init(&c->busy_node);
		ok = conn_say(w, c, j->out, j->olen);
		sk_kmem_cache_free(job_cache, j);
		if (!ok || !conn_process(w, c))
			conn_close(w, c);
	}
}

static void worker_adopt(struct worker *w, conn_table_handle_t h)
{
	struct conn *c = sk_htable_lookup(conn_table, &conns, h);
	struct epoll_event ev = { .events = EPOLLIN };

	if (!c)
		return;
	if ((unsigned int)c->fd >= w->nfds) {
		say("fd %d beyond the table\n", c->fd);
		close(c->fd);
		sk_htable_put(conn_table, &conns, h);
		(void)sk_htable_release(conn_table, &conns, h, &w->owner);
		return;
	}
	ev.data.u64 = (uint64_t)c->fd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		/* ENOMEM, or max_user_watches: this connection only. */
		say("epoll_ctl(ADD) of fd %d: %s: connection closed\n", c->fd, strerror(errno));
		close(c->fd);
		sk_htable_put(conn_table, &conns, h);
		(void)sk_htable_release(conn_table, &conns, h, &w->owner);
		return;
	}
	c->w = w;
	w->by_fd[c->fd] = h;
	w->served++;
	sk_htable_put(conn_table, &conns, h);
}

static void worker_shutdown(struct worker *w)
{
	conn_table_handle_t h;

	while (sk_kfifo_get(&w->inbox, &h))
		worker_adopt(w, h);
	for (unsigned int fd = 0; fd < w->nfds; fd++) {
		struct conn *c;

		if (sk_handle_is_null(w->by_fd[fd].raw))
			continue;
		c = sk_htable_lookup(conn_table, &conns, w->by_fd[fd]);
		if (!c)
			continue;
		h = c->self;
		conn_close(w, c);
		sk_htable_put(conn_table, &conns, h);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct epoll_event evs[64];

	while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(w->epfd, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			conn_table_handle_t h;
			struct conn *c;
			bool ok;

			if (evs[i].data.u64 == EV_WAKE) {
				uint64_t v;

				if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					die("eventfd read");
				while (sk_kfifo_get(&w->inbox, &h))
					worker_adopt(w, h);
				worker_collect(w);
				continue;
			}
			h = w->by_fd[evs[i].data.u64];
			if (sk_handle_is_null(h.raw))
				continue; /* closed earlier in this batch */
			c = sk_htable_lookup(conn_table, &conns, h);
			if (!c)
				continue;
			ok = !(evs[i].events & (EPOLLERR | EPOLLHUP)) || (evs[i].events & EPOLLIN);
			if (ok && (evs[i].events & EPOLLOUT))
				ok = conn_flush(w, c) && conn_process(w, c);
			if (ok && (evs[i].events & EPOLLIN))
				ok = conn_readable(w, c);
			if (!ok)
				conn_close(w, c);
			sk_htable_put(conn_table, &conns, h);
		}
	}
	worker_shutdown(w);
	return NULL;
}

static void worker_init(struct worker *w, unsigned int id, unsigned int nfds)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_WAKE };
	char name[32];

	w->id = id;
	snprintf(name, sizeof(name), "worker-%u", id);
	sk_handle_owner_init(&w->owner, strdup(name));
	if (sk_kfifo_alloc(&w->inbox, INBOX_SIZE))
		die("kfifo");
	sk_init_list_head(&w->busy);
	w->nfds = nfds;
	w->by_fd = sk_kcalloc(nfds, sizeof(*w->by_fd));
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->by_fd || w->epfd < 0 || w->evfd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev))
		die("worker");
}

static void worker_destroy(struct worker *w)
{
	char *name = (char *)w->owner.name;

	sk_kfifo_free(&w->inbox);
	sk_kfree(w->by_fd);
	close(w->epfd);
	close(w->evfd);
	sk_handle_owner_destroy(&w->owner);
	free(name);
}

/* ------------------------------------------------------------------------
 * The acceptor (main thread)
 * ------------------------------------------------------------------------ */

/*
 * Out of file descriptors (EMFILE, ENFILE): the pending connection stays
 * in the listen queue, the level-triggered listen socket stays readable,
 * and a plain "try again later" would spin the acceptor at 100% CPU until
 * a connection closes.  So the acceptor keeps one descriptor in reserve
 * (/dev/null): it gives it up, accepts the connection and closes it at
 * once (the client sees the close), and takes the reserve back.  Should
 * even that fail, it waits 10 ms before the next try.
 */
static int reserve_fd = -1;
static unsigned long refused;

static void shed_one(int lfd)
{
	int fd;

	if (reserve_fd >= 0) {
		int err;

		close(reserve_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		err = errno;
		if (fd >= 0) {
			close(fd);
			if (refused++ % 1000 == 0)
				say("out of file descriptors: closing new connections (%lu so far)\n",
				    refused);
		}
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || err == EAGAIN || err == ECONNABORTED)
			return;
	}
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
}

/*
 * The next worker, round robin, whose inbox has room (this thread is the
 * inboxes' only producer, so the room stays); NULL if every inbox is full.
 */
static struct worker *pick_worker(unsigned long *rr)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[(*rr)++ % nworkers];

		if (!sk_kfifo_is_full(&w->inbox))
			return w;
	}
	return NULL;
}

static void accept_one(int lfd, unsigned long *rr)
{
	struct worker *w = pick_worker(rr);
	conn_table_handle_t h, mine;
	struct conn *c;
	int one = 1;
	int fd;

	if (!w) {
		/* Back-pressure: the connections wait in the listen backlog
		 * until a worker takes what its inbox holds (accepting them
		 * only to close them lost them). */
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
		return;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			shed_one(lfd);
		return; /* or EAGAIN, or the peer gave up already */
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = sk_kmem_cache_zalloc(conn_cache);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->w = w;
	sk_locked_list_init(&c->replies);
	sk_init_list_head(&c->busy_node);
	mine = sk_htable_insert(conn_table, &conns, c, &acceptor_owner);
	if (sk_handle_is_null(mine.raw)) {
		close(fd);
		sk_locked_list_destroy(&c->replies);
		sk_kmem_cache_free(conn_cache, c);
		return;
	}
	/* Ownership moves to the worker: our handle (and any copy) is stale now. */
	h = sk_htable_transfer(conn_table, &conns, mine, &acceptor_owner, &w->owner);
	if (sk_handle_is_null(h.raw)) {
		close(fd);
		(void)sk_htable_release(conn_table, &conns, mine, &acceptor_owner);
		return;
	}
	c->self = h;
	if (!sk_kfifo_put(&w->inbox, h)) { /* not with pick_worker()'s room */
		say("worker %u inbox full: connection refused\n", w->id);
		refused++;
		close(fd);
		(void)sk_htable_release(conn_table, &conns, h, &w->owner);
		return;
	}
	wake(w);
}

static int listen_on(int port, int *bound)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		die("listen");
	*bound = ntohs(sa.sin_port);
	return fd;
}

static void write_file(const char *path, int value)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", value) < 0 || fclose(f))
		die(path);
}

static void usage(void)
{
	fprintf(stderr, "usage: kvd [-p PORT] [-P PORTFILE] [-I PIDFILE] [-w WORKERS] [-e EXECUTORS] [-q]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *portfile = NULL, *pidfile = NULL;
	struct sk_kmem_cache_stats cs, js;
	unsigned long rr = 0, served = 0, requests = 0, items, hits = 0, misses = 0;
	struct rlimit rl;
	struct epoll_event ev;
	sigset_t sigs;
	int port = 7070, bound, lfd, sfd, epfd, opt, rc = 0;
	bool running = true;

	while ((opt = getopt(argc, argv, "p:P:I:w:e:q")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'P': portfile = optarg; break;
		case 'I': pidfile = optarg; break;
		case 'w': nworkers = (unsigned int)atoi(optarg); break;
		case 'e': nexecutors = (unsigned int)atoi(optarg); break;
		case 'q': quiet = true; break;
		default: usage();
		}
	}
	if (nworkers < 1 || nworkers > MAX_THREADS || nexecutors < 1 || nexecutors > MAX_THREADS ||
	    port < 0 || port > 65535)
		usage();

	/* Signals are read from a signalfd by this thread alone. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);

	rcu_register_thread();
	conn_cache = sk_kmem_cache_create("kvd-conn", sizeof(struct conn), 0, SK_SLAB_HWCACHE_ALIGN, NULL);
	job_cache = sk_kmem_cache_create("kvd-job", sizeof(struct job), 0, 0, NULL);
	if (!conn_cache || !job_cache)
		die("kmem_cache_create");
	sk_htable_init(conn_table, &conns, conn_free, NULL);
	if (sk_ptr_ring_init(&jobs, JOB_RING_SIZE) || sem_init(&jobs_sem, 0, 0))
		die("job ring");
	store_init();

	getrlimit(RLIMIT_NOFILE, &rl);
	for (unsigned int i = 0; i < nworkers; i++)
		worker_init(&workers[i], i,
			    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 65536 : (unsigned int)rl.rlim_cur);
	for (unsigned int i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]))
			die("pthread_create");
	for (unsigned int i = 0; i < nexecutors; i++)
		if (pthread_create(&executors[i].thread, NULL, executor_main, &executors[i]))
			die("pthread_create");

	reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (reserve_fd < 0)
		die("open /dev/null");
	lfd = listen_on(port, &bound);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = lfd };
	if (sfd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll");
	ev.data.fd = sfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev))
		die("epoll");
	/* The pid first: a script that waits for the port file may signal us. */
	if (pidfile)
		write_file(pidfile, (int)getpid());
	if (portfile)
		write_file(portfile, bound);
	say("listening on 127.0.0.1:%d (%u workers, %u executors)\n", bound, nworkers, nexecutors);

	while (running) {
		struct epoll_event e;
		int n = epoll_wait(epfd, &e, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		if (e.data.fd == sfd)
			running = false;
		else
			accept_one(lfd, &rr);
	}

	/* Shutdown, in dependency order. */
	say("shutting down\n");
	close(lfd);
	__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < nworkers; i++)
		wake(&workers[i]);
	for (unsigned int i = 0; i < nworkers; i++) {
		pthread_join(workers[i].thread, NULL);
		served += workers[i].served;
		requests += workers[i].requests;
	}
	__atomic_store_n(&executors_stop, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < nexecutors; i++)
		sem_post(&jobs_sem);
	for (unsigned int i = 0; i < nexecutors; i++) {
		pthread_join(executors[i].thread, NULL);
		hits += executors[i].hits;
		misses += executors[i].misses;
	}
	sk_ptr_ring_cleanup(&jobs, NULL); /* the executors emptied it */
	sem_destroy(&jobs_sem);
	items = store_destroy();
	for (unsigned int i = 0; i < nworkers; i++)
		worker_destroy(&workers[i]);
	if (sk_handle_table_count(&conns.base)) {
		say("connections still in the handle table\n");
		rc = 1;
	}
	sk_htable_destroy(conn_table, &conns);
	sk_handle_owner_destroy(&acceptor_owner);
	sk_kmem_cache_stats(conn_cache, &cs);
	sk_kmem_cache_stats(job_cache, &js);
	/* Both, even if the first reports live objects. */
	if (sk_kmem_cache_destroy(conn_cache))
		rc = 1;
	if (sk_kmem_cache_destroy(job_cache))
		rc = 1;
	rcu_unregister_thread();
	close(epfd);
	close(sfd);
	close(reserve_fd);

	if (__atomic_load_n(&items_live, __ATOMIC_RELAXED) || cs.live || js.live)
		rc = 1;
	if (sk_violation_total())
		rc = 1;
	fprintf(stderr,
		"kvd: shutdown: %lu connections (%lu refused), %lu requests, "
		"%lu items freed, lookaside %lu hits %lu misses; live: conn %lu job %lu item %lu; "
		"violations %lu\n",
		served, refused, requests, items, hits, misses, cs.live, js.live,
		__atomic_load_n(&items_live, __ATOMIC_RELAXED), sk_violation_total());
	return rc;
}
