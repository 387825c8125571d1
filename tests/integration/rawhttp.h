/* SPDX-License-Identifier: MIT */
/*
 * Raw HTTP over a TCP socket for tests that must send what no HTTP library sends (conflicting
 * framing, bad versions, partial headers) and see exactly what comes back, including whether
 * and when the server closes the connection. Loopback only: the address comes from the
 * emulator's base URL.
 */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static inline double raw_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connected socket to the emulator |e| (http only), or -1. */
static inline int raw_connect(const struct emu *e)
{
	const char *hp = strstr(e->base_url, "://");
	if (!hp)
		return -1;
	hp += 3;
	char host[64];
	const char *colon = strrchr(hp, ':');
	if (!colon || (size_t)(colon - hp) >= sizeof(host))
		return -1;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline bool raw_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

struct raw_reply {
	char buf[65536];
	size_t len;
	bool eof;	/* the server closed (or reset) the connection */
	double seconds; /* until EOF, or until the wait ended */
};

/* Reads from |fd| until the server closes it or |wait_s| passes with nothing new. */
static inline void raw_read(int fd, double wait_s, struct raw_reply *out)
{
	double t0 = raw_now();
	out->len = 0;
	out->eof = false;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)(wait_s * 1000));
		if (r <= 0)
			break;
		char tmp[8192];
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
		if (n <= 0) {
			out->eof = true;
			break;
		}
		size_t room = sizeof(out->buf) - 1 - out->len;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(out->buf + out->len, tmp, k);
		out->len += k;
	}
	out->buf[out->len] = '\0';
	out->seconds = raw_now() - t0;
}

/* Number of complete HTTP responses in |s| (each: status line, headers, Content-Length body). */
static inline int raw_count_responses(const char *s)
{
	int n = 0;
	while (!strncmp(s, "HTTP/1.", 7)) {
		const char *end = strstr(s, "\r\n\r\n");
		if (!end)
			break;
		long len = 0;
		const char *cl = strcasestr(s, "\r\nContent-Length:");
		if (cl && cl < end)
			len = strtol(cl + 17, NULL, 10);
		if ((long)strlen(end + 4) < len)
			break;
		n++;
		s = end + 4 + len;
	}
	return n;
}
