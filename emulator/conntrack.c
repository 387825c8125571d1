/* SPDX-License-Identifier: MIT */
/* Connection tracking around CivetWeb; see conntrack.h. */
#include "conntrack.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum cstate {
	C_FREE = 0,
	C_FRESH,   /* accepted; no complete request yet (maybe still queued) */
	C_BUSY,	   /* inside a request */
	C_IDLE,	   /* between requests */
	C_EVICTED, /* shut down by us; CivetWeb has not closed it yet */
};

struct centry {
	enum cstate state;
	uint16_t port; /* peer port, host order */
	char addr[INET6_ADDRSTRLEN];
	int64_t since_ns; /* when the entry entered its state */
	bool answered;	  /* the current request got a response (or there is none) */
	int next;	  /* next fd with the same peer port, -1 at the end */
};

#define PORTS 65536

static struct {
	pthread_mutex_t lock;
	struct centry *e; /* indexed by fd */
	size_t cap;
	int *by_port; /* peer port -> first fd, -1 when none */
	size_t held, busy, idle, fresh;
	uint64_t evicted, finished;
	unsigned workers, reserve, quiet_ms;
	bool on;
	pthread_t keeper;
	atomic_bool stop;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t *counter(enum cstate s)
{
	switch (s) {
	case C_FRESH:
		return &T.fresh;
	case C_BUSY:
		return &T.busy;
	case C_IDLE:
		return &T.idle;
	case C_FREE:
	case C_EVICTED:
		break;
	}
	return NULL;
}

static void set_state(struct centry *c, enum cstate s)
{
	size_t *old = counter(c->state), *new = counter(s);
	if (old)
		(*old)--;
	if (new)
		(*new)++;
	c->state = s;
	c->since_ns = util_mono_ns();
}

static int peer_of(const struct sockaddr *sa, char *addr, size_t len, uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)len) ? 0 : -EINVAL;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*port = ntohs(in6->sin6_port);
		return inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)len) ? 0 : -EINVAL;
	}
	return -EAFNOSUPPORT;
}

static void unlink_port_locked(int fd)
{
	struct centry *c = &T.e[fd];
	int *p = &T.by_port[c->port];
	while (*p >= 0 && *p != fd)
		p = &T.e[*p].next;
	if (*p == fd)
		*p = c->next;
	c->next = -1;
}

static void remove_locked(int fd)
{
	struct centry *c = &T.e[fd];
	if (c->state == C_FREE)
		return;
	set_state(c, C_FREE);
	unlink_port_locked(fd);
	T.held--;
}

static int grow_locked(int fd)
{
	if ((size_t)fd < T.cap)
		return 0;
	size_t ncap = T.cap ? T.cap : 1024;
	while (ncap <= (size_t)fd)
		ncap *= 2;
	struct centry *ne = realloc(T.e, ncap * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	memset(ne + T.cap, 0, (ncap - T.cap) * sizeof(*ne));
	for (size_t i = T.cap; i < ncap; i++)
		ne[i].next = -1;
	T.e = ne;
	T.cap = ncap;
	return 0;
}

/* The accepted socket |fd| with peer |sa|: a new entry (replacing a stale one for that fd). */
static void track(int fd, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
	if (peer_of(sa, addr, sizeof(addr), &port) < 0)
		return;
	pthread_mutex_lock(&T.lock);
	if (T.on && grow_locked(fd) == 0) {
		remove_locked(fd);
		struct centry *c = &T.e[fd];
		c->answered = false;
		memcpy(c->addr, addr, sizeof(addr));
		c->port = port;
		c->next = T.by_port[port];
		T.by_port[port] = fd;
		T.held++;
		set_state(c, C_FRESH);
	}
	pthread_mutex_unlock(&T.lock);
}

/*
 * CivetWeb's accept(). Defined in the executable, it takes precedence over libc's for
 * libcivetweb (see conntrack.h). accept4 with no flags is the same system call.
 */
int accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
int accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int c = accept4(fd, (struct sockaddr *)&ss, &sl, 0);
	if (c < 0)
		return c;
	if (addr && addrlen) {
		memcpy(addr, &ss, *addrlen < sl ? *addrlen : sl);
		*addrlen = sl;
	}
	track(c, (struct sockaddr *)&ss);
	conntrack_relieve();
	return c;
}

/* The fd of |conn| (under the lock), or -1. */
static int find_locked(const struct mg_connection *conn)
{
	if (!T.on || !conn)
		return -1;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	if (!ri || ri->remote_port <= 0 || ri->remote_port >= PORTS)
		return -1;
	for (int fd = T.by_port[ri->remote_port]; fd >= 0; fd = T.e[fd].next)
		if (!strcmp(T.e[fd].addr, ri->remote_addr))
			return fd;
	return -1;
}

/* True when |fd| is still a socket connected to the peer recorded for it. */
static bool same_peer_locked(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    peer_of((struct sockaddr *)&ss, addr, sizeof(addr), &port) < 0)
		return false;
	return port == T.e[fd].port && !strcmp(addr, T.e[fd].addr);
}

static void transition(const struct mg_connection *conn, enum cstate s)
{
	pthread_mutex_lock(&T.lock);
	int fd = find_locked(conn);
	if (fd >= 0) {
		if (T.e[fd].state != C_EVICTED)
			set_state(&T.e[fd], s);
		T.e[fd].answered = s == C_BUSY;
	}
	pthread_mutex_unlock(&T.lock);
}

void conntrack_on_init(const struct mg_connection *conn)
{
	transition(conn, C_FRESH);
}

void conntrack_on_request(const struct mg_connection *conn)
{
	transition(conn, C_BUSY);
}

void conntrack_on_end(const struct mg_connection *conn)
{
	transition(conn, C_IDLE);
}

bool conntrack_on_close(const struct mg_connection *conn)
{
	bool unanswered = false;
	pthread_mutex_lock(&T.lock);
	int fd = find_locked(conn);
	if (fd >= 0) {
		unanswered = !T.e[fd].answered && T.e[fd].state != C_EVICTED;
		remove_locked(fd);
	}
	pthread_mutex_unlock(&T.lock);
	return unanswered;
}

void conntrack_mark_close(struct mg_connection *conn)
{
	/* CivetWeb decides keep-alive from the request's Connection header (should_keep_alive)
	 * and writes its own Connection header from that decision: make the request say close. */
	struct mg_request_info *ri = (struct mg_request_info *)mg_get_request_info(conn);
	if (!ri)
		return;
	for (int i = 0; i < ri->num_headers; i++)
		if (ri->http_headers[i].name &&
		    !strcasecmp(ri->http_headers[i].name, "Connection")) {
			ri->http_headers[i].value = "close";
			return;
		}
	int i = ri->num_headers < MG_MAX_HEADERS ? ri->num_headers++ : MG_MAX_HEADERS - 1;
	ri->http_headers[i].name = "Connection";
	ri->http_headers[i].value = "close";
}

void conntrack_finish(const struct mg_connection *conn)
{
	pthread_mutex_lock(&T.lock);
	int fd = find_locked(conn);
	if (fd >= 0 && same_peer_locked(fd)) {
		shutdown(fd, SHUT_RDWR);
		set_state(&T.e[fd], C_EVICTED);
		T.finished++;
	}
	pthread_mutex_unlock(&T.lock);
}

/* Milliseconds since |fd| last received data (TCP_INFO), or since its state began. */
static int64_t quiet_ms_locked(int fd, int64_t now)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && tl >= sizeof(ti))
		return ti.tcpi_last_data_recv;
	return (now - T.e[fd].since_ns) / 1000000;
}

/* True when the peer sent bytes that CivetWeb has not read yet (a request is waiting). */
static bool has_unread(int fd)
{
	int n = 0;
	return ioctl(fd, SIOCINQ, &n) == 0 && n > 0;
}

struct victim {
	int fd;
	int64_t score; /* higher goes first */
};

static int by_score(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;
	return (x->score < y->score) - (x->score > y->score);
}

void conntrack_relieve(void)
{
	pthread_mutex_lock(&T.lock);
	size_t live = T.busy + T.idle + T.fresh;
	size_t limit = T.workers > T.reserve ? T.workers - T.reserve : 1;
	if (!T.on || live < limit || T.idle + T.fresh == 0) {
		pthread_mutex_unlock(&T.lock);
		return;
	}
	size_t need = live - limit + 1;
	struct victim *v = malloc((T.idle + T.fresh) * sizeof(*v));
	size_t n = 0;
	int64_t now = util_mono_ns();
	for (size_t fd = 0; v && fd < T.cap && n < T.idle + T.fresh; fd++) {
		struct centry *c = &T.e[fd];
		if ((c->state == C_IDLE || c->state == C_FRESH) && has_unread((int)fd))
			continue;
		if (c->state == C_IDLE) {
			/* Idle keep-alive connections go first, the longest idle first. */
			v[n++] =
			    (struct victim){(int)fd, INT64_MAX / 2 + (now - c->since_ns) / 1000};
		} else if (c->state == C_FRESH) {
			int64_t q = quiet_ms_locked((int)fd, now);
			if (q >= (int64_t)T.quiet_ms)
				v[n++] = (struct victim){(int)fd, q};
		}
	}
	if (v)
		qsort(v, n, sizeof(*v), by_score);
	for (size_t i = 0; v && i < n && need > 0; i++) {
		if (!same_peer_locked(v[i].fd))
			continue;
		shutdown(v[i].fd, SHUT_RDWR);
		set_state(&T.e[v[i].fd], C_EVICTED);
		T.evicted++;
		need--;
	}
	free(v);
	pthread_mutex_unlock(&T.lock);
}

static void *keeper_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&T.stop)) {
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
		conntrack_relieve();
	}
	return NULL;
}

int conntrack_start(unsigned workers, unsigned reserve, unsigned quiet_ms)
{
	pthread_mutex_lock(&T.lock);
	if (!T.by_port) {
		T.by_port = malloc(PORTS * sizeof(*T.by_port));
		if (!T.by_port) {
			pthread_mutex_unlock(&T.lock);
			return -ENOMEM;
		}
		for (size_t i = 0; i < PORTS; i++)
			T.by_port[i] = -1;
	}
	T.workers = workers;
	T.reserve = reserve;
	T.quiet_ms = quiet_ms;
	T.on = true;
	pthread_mutex_unlock(&T.lock);
	atomic_store(&T.stop, false);
	int r = pthread_create(&T.keeper, NULL, keeper_main, NULL);
	if (r) {
		pthread_mutex_lock(&T.lock);
		T.on = false;
		pthread_mutex_unlock(&T.lock);
		return -r;
	}
	return 0;
}

void conntrack_stop(void)
{
	pthread_mutex_lock(&T.lock);
	bool was_on = T.on;
	T.on = false;
	free(T.e);
	T.e = NULL;
	T.cap = 0;
	free(T.by_port);
	T.by_port = NULL;
	T.held = T.busy = T.idle = T.fresh = 0;
	pthread_mutex_unlock(&T.lock);
	if (was_on) {
		atomic_store(&T.stop, true);
		pthread_join(T.keeper, NULL);
	}
}

void conntrack_get_stats(struct conntrack_stats *out)
{
	pthread_mutex_lock(&T.lock);
	*out = (struct conntrack_stats){.held = T.held,
					.busy = T.busy,
					.idle = T.idle,
					.fresh = T.fresh,
					.evicted = T.evicted,
					.finished = T.finished};
	pthread_mutex_unlock(&T.lock);
}

void conntrack_defer_listeners(unsigned seconds)
{
	int max = (int)sysconf(_SC_OPEN_MAX);
	if (max <= 0 || max > 65536)
		max = 65536;
	for (int fd = 0; fd < max; fd++) {
		int on = 0;
		socklen_t l = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l) < 0 || !on)
			continue;
		int domain = 0;
		l = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 ||
		    (domain != AF_INET && domain != AF_INET6))
			continue;
		int s = (int)seconds;
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &s, sizeof(s));
	}
}
