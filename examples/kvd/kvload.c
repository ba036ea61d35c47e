/* SPDX-License-Identifier: MIT */
/*
 * kvload - a load generator for kvd that checks every reply.
 *
 * Opens CONNS connections from THREADS threads and sends REQUESTS requests
 * on each, one outstanding request per connection.  Each connection works
 * on keys of its own (so it knows exactly what every GET and DEL must
 * answer: reads see their own writes), reads a set of shared keys loaded
 * before the run (their values never change), and reads and overwrites a
 * few hot keys that every connection writes (a GET must return a value some
 * connection wrote, whole).  Any wrong, missing or malformed reply is an
 * error; the exit status is 0 only with none.
 *
 * Prints requests/s and latency percentiles (client-side, from the send of
 * a request to the end of its reply).
 *
 * Usage: kvload -p PORT [-c CONNS] [-t THREADS] [-n REQUESTS] [-k KEYS]
 *               [-s SHARED] [-v VALUE_SIZE]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define HOT_KEYS 8
#define MAX_VAL 256

static int port = -1;
static unsigned int nconns = 64, nthreads = 2, nrequests = 1000, nkeys = 16, nshared = 64;
static unsigned int value_size = 32;

struct conn {
	unsigned int id;
	int fd;
	uint64_t rng;
	unsigned int sent, done;
	uint64_t t0;
	char expect[MAX_VAL + 16]; /* the exact reply, or "" for a hot GET */
	bool hot_get;
	size_t rlen;
	char rbuf[MAX_VAL + 64];
	char (*vals)[MAX_VAL + 1]; /* this connection's keys: "" when absent */
};

struct thread {
	pthread_t thread;
	struct conn *conns;
	unsigned int n;
	uint64_t *lat;
	size_t nlat;
	unsigned long errors;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int connect_to(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("kvload: connect");
		exit(2);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void send_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("kvload: send");
			exit(2);
		}
		buf += w;
		n -= (size_t)w;
	}
}

static void make_value(char *v, const char *tag, unsigned int a, unsigned int b)
{
	int n = snprintf(v, MAX_VAL + 1, "%s%u.%u.", tag, a, b);

	while ((unsigned int)n < value_size)
		v[n++] = 'x';
	v[n] = '\0';
}

/* Read one reply line synchronously (setup phase). */
/* Sends @n bytes of @req (which may hold NULs) and expects @want. */
static void roundtrip_n(int fd, const char *req, size_t n, const char *want)
{
	char buf[MAX_VAL + 64];
	size_t len = 0;

	send_all(fd, req, n);
	while (!len || buf[len - 1] != '\n') {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0) {
			fprintf(stderr, "kvload: lost the connection during setup\n");
			exit(2);
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (strcmp(buf, want)) {
		fprintf(stderr, "kvload: setup: %s got %s", req, buf);
		exit(1);
	}
}

static void roundtrip(int fd, const char *req, const char *want)
{
	roundtrip_n(fd, req, strlen(req), want);
}

/* Choose and send the next request of @c. */
static void next_request(struct conn *c)
{
	char req[MAX_VAL + 96], val[MAX_VAL + 1];
	unsigned int r = (unsigned int)(xorshift(&c->rng) % 100);
	unsigned int k = (unsigned int)(xorshift(&c->rng) % nkeys);

	c->hot_get = false;
	if (r < 40) { /* GET own key */
		snprintf(req, sizeof(req), "GET c%u.k%u\n", c->id, k);
		if (c->vals[k][0])
			snprintf(c->expect, sizeof(c->expect), "VALUE %s\n", c->vals[k]);
		else
			strcpy(c->expect, "NOTFOUND\n");
	} else if (r < 60) { /* SET own key */
		make_value(val, "v", c->id, c->sent);
		snprintf(req, sizeof(req), "SET c%u.k%u %s\n", c->id, k, val);
		strcpy(c->vals[k], val);
		strcpy(c->expect, "STORED\n");
	} else if (r < 70) { /* DEL own key */
		snprintf(req, sizeof(req), "DEL c%u.k%u\n", c->id, k);
		strcpy(c->expect, c->vals[k][0] ? "DELETED\n" : "NOTFOUND\n");
		c->vals[k][0] = '\0';
	} else if (r < 90) { /* GET a shared key */
		unsigned int s = (unsigned int)(xorshift(&c->rng) % nshared);

		make_value(val, "s", s, 0);
		snprintf(req, sizeof(req), "GET shared%u\n", s);
		snprintf(c->expect, sizeof(c->expect), "VALUE %s\n", val);
	} else if (r < 95) { /* overwrite a hot key */
		make_value(val, "h", c->id, c->sent);
		snprintf(req, sizeof(req), "SET hot%u %s\n", k % HOT_KEYS, val);
		strcpy(c->expect, "STORED\n");
	} else { /* read a hot key: any whole value some connection wrote */
		snprintf(req, sizeof(req), "GET hot%u\n", k % HOT_KEYS);
		c->hot_get = true;
	}
	c->sent++;
	c->t0 = now_ns();
	send_all(c->fd, req, strlen(req));
}

/* A hot value is "h<conn>.<seq>." padded with 'x' to value_size. */
static bool hot_value_ok(const char *line)
{
	unsigned int id, seq;
	int n = 0;
	size_t len;

	if (strncmp(line, "VALUE h", 7))
		return false;
	if (sscanf(line + 7, "%u.%u.%n", &id, &seq, &n) != 2 || n == 0 || id >= nconns + 1)
		return false;
	len = strlen(line + 6) - 1; /* the value, without the newline */
	if (len != value_size && !(len > value_size && line[6 + len - 1] == '.'))
		return false;
	for (size_t i = 7 + (size_t)n; i < 6 + len; i++)
		if (line[i] != 'x')
			return false;
	return line[6 + len] == '\n';
}

/* Data arrived on @c; true once its current reply is complete. */
static bool on_readable(struct thread *t, struct conn *c)
{
	char *nl;
	ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);

	if (r <= 0) {
		fprintf(stderr, "kvload: connection %u: %s\n", c->id, r ? strerror(errno) : "closed by the server");
		exit(2);
	}
	c->rlen += (size_t)r;
	c->rbuf[c->rlen] = '\0';
	nl = memchr(c->rbuf, '\n', c->rlen);
	if (!nl) {
		if (c->rlen == sizeof(c->rbuf) - 1) {
			fprintf(stderr, "kvload: connection %u: reply too long\n", c->id);
			exit(1);
		}
		return false;
	}
	if (nl + 1 != c->rbuf + c->rlen) {
		fprintf(stderr, "kvload: connection %u: unrequested data after a reply\n", c->id);
		t->errors++;
	}
	t->lat[t->nlat++] = now_ns() - c->t0;
	if (c->hot_get ? !hot_value_ok(c->rbuf) : strcmp(c->rbuf, c->expect) != 0) {
		if (t->errors++ < 10)
			fprintf(stderr, "kvload: connection %u request %u: expected %s got %s",
				c->id, c->sent, c->hot_get ? "a hot value\n" : c->expect, c->rbuf);
	}
	c->rlen = 0;
	c->done++;
	return true;
}

static void *thread_main(void *arg)
{
	struct thread *t = (struct thread *)arg;
	struct pollfd *pfd = calloc(t->n, sizeof(*pfd));
	unsigned int active = t->n;

	if (!pfd)
		abort();
	for (unsigned int i = 0; i < t->n; i++) {
		pfd[i].fd = t->conns[i].fd;
		pfd[i].events = POLLIN;
		next_request(&t->conns[i]);
	}
	while (active) {
		if (poll(pfd, t->n, 10000) <= 0) {
			fprintf(stderr, "kvload: no reply within 10 s\n");
			exit(2);
		}
		for (unsigned int i = 0; i < t->n; i++) {
			struct conn *c = &t->conns[i];

			if (!pfd[i].revents)
				continue;
			if (!on_readable(t, c))
				continue;
			if (c->done == nrequests) {
				pfd[i].fd = -1;
				active--;
			} else {
				next_request(c);
			}
		}
	}
	free(pfd);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0;
}

int main(int argc, char **argv)
{
	struct thread *threads;
	struct conn *conns;
	uint64_t *lat, t0, t1;
	unsigned long errors = 0;
	size_t nlat = 0;
	char req[MAX_VAL + 64], val[MAX_VAL + 1], want[MAX_VAL + 16], longline[512];
	int fd, opt;

	while ((opt = getopt(argc, argv, "p:c:t:n:k:s:v:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': nconns = (unsigned int)atoi(optarg); break;
		case 't': nthreads = (unsigned int)atoi(optarg); break;
		case 'n': nrequests = (unsigned int)atoi(optarg); break;
		case 'k': nkeys = (unsigned int)atoi(optarg); break;
		case 's': nshared = (unsigned int)atoi(optarg); break;
		case 'v': value_size = (unsigned int)atoi(optarg); break;
		default: goto usage;
		}
	}
	if (port <= 0 || port > 65535 || !nconns || !nthreads || !nrequests || !nkeys || !nshared ||
	    value_size < 24 || value_size > MAX_VAL) {
usage:
		fprintf(stderr, "usage: kvload -p PORT [-c CONNS] [-t THREADS] [-n REQUESTS] [-k KEYS] "
				"[-s SHARED] [-v VALUE_SIZE (24-256)]\n");
		return 2;
	}
	if (nthreads > nconns)
		nthreads = nconns;

	/* Load the shared and hot keys. */
	fd = connect_to();
	for (unsigned int s = 0; s < nshared; s++) {
		make_value(val, "s", s, 0);
		snprintf(req, sizeof(req), "SET shared%u %s\n", s, val);
		roundtrip(fd, req, "STORED\n");
		snprintf(req, sizeof(req), "GET shared%u\n", s);
		snprintf(want, sizeof(want), "VALUE %s\n", val);
		roundtrip(fd, req, want);
	}
	for (unsigned int h = 0; h < HOT_KEYS; h++) {
		make_value(val, "h", nconns, h);
		snprintf(req, sizeof(req), "SET hot%u %s\n", h, val);
		roundtrip(fd, req, "STORED\n");
	}
	/* Every protocol error gets its reply and leaves the connection usable. */
	roundtrip(fd, "BOGUS x\n", "ERROR unknown command\n");
	roundtrip(fd, "GET\n", "ERROR no key\n");
	roundtrip(fd, "GET  x\n", "ERROR bad key\n");
	roundtrip(fd, "GET hot0 x\n", "ERROR trailing data\n");
	roundtrip(fd, "SET hot0\n", "ERROR bad value\n");
	roundtrip(fd, "SET hot0 a b\n", "ERROR bad value\n");
	/* A NUL would have cut the value (stored "a") or hidden the rest. */
	roundtrip_n(fd, "SET hot0 a\0b\n", 13, "ERROR bad request\n");
	roundtrip_n(fd, "GET hot0\0junk\n", 14, "ERROR bad request\n");
	memcpy(req, "GET ", 4);
	memset(req + 4, 'k', 65);
	strcpy(req + 69, "\n");
	roundtrip(fd, req, "ERROR bad key\n"); /* 65 bytes: one over */
	memset(longline, 'v', 400);
	memcpy(longline, "SET long ", 9);
	strcpy(longline + 400, "\n");
	roundtrip(fd, longline, "ERROR line too long\n"); /* over 327: refused, kept */
	snprintf(req, sizeof(req), "GET hot0\n");
	make_value(val, "h", nconns, 0);
	snprintf(want, sizeof(want), "VALUE %s\n", val);
	roundtrip(fd, req, want);
	close(fd);

	conns = calloc(nconns, sizeof(*conns));
	threads = calloc(nthreads, sizeof(*threads));
	lat = calloc((size_t)nconns * nrequests, sizeof(*lat));
	if (!conns || !threads || !lat)
		abort();
	for (unsigned int i = 0; i < nconns; i++) {
		conns[i].id = i;
		conns[i].fd = connect_to();
		conns[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		conns[i].vals = calloc(nkeys, sizeof(*conns[i].vals));
		if (!conns[i].vals)
			abort();
		/* A previous run may have left this connection's keys: clear them. */
		for (unsigned int k = 0; k < nkeys; k++) {
			char del[64];
			char buf[32];
			ssize_t r;

			snprintf(del, sizeof(del), "DEL c%u.k%u\n", i, k);
			send_all(conns[i].fd, del, strlen(del));
			r = read(conns[i].fd, buf, sizeof(buf));
			if (r <= 0 || buf[r - 1] != '\n') {
				fprintf(stderr, "kvload: setup: no reply to DEL\n");
				return 2;
			}
		}
	}
	for (unsigned int i = 0, first = 0; i < nthreads; i++) {
		unsigned int n = nconns / nthreads + (i < nconns % nthreads);

		threads[i].conns = conns + first;
		threads[i].n = n;
		threads[i].lat = lat + (size_t)first * nrequests;
		first += n;
	}

	t0 = now_ns();
	for (unsigned int i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i].thread, NULL, thread_main, &threads[i]))
			abort();
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(threads[i].thread, NULL);
		errors += threads[i].errors;
	}
	t1 = now_ns();

	/* Gather the latencies (each thread filled its own stretch). */
	for (unsigned int i = 0; i < nthreads; i++) {
		memmove(lat + nlat, threads[i].lat, threads[i].nlat * sizeof(*lat));
		nlat += threads[i].nlat;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("kvload: %zu requests on %u connections (%u threads) in %.3f s: %.0f requests/s\n",
	       nlat, nconns, nthreads, (double)(t1 - t0) / 1e9, (double)nlat / ((double)(t1 - t0) / 1e9));
	printf("kvload: latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	       pct(lat, nlat, 50), pct(lat, nlat, 90), pct(lat, nlat, 99), pct(lat, nlat, 99.9),
	       pct(lat, nlat, 100));
	printf("kvload: %lu wrong replies\n", errors);

	for (unsigned int i = 0; i < nconns; i++) {
		close(conns[i].fd);
		free(conns[i].vals);
	}
	free(conns);
	free(threads);
	free(lat);
	return errors || nlat != (size_t)nconns * nrequests ? 1 : 0;
}
