/* SPDX-License-Identifier: MIT */
/*
 * wire.c: frames on session sockets and datagrams with descriptors on the control socket (see
 * wire.h). Shared by the client library and the zygote, so it allocates nothing it does not hand
 * back and keeps no state.
 */
#include "wire.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"

int sbx_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	bool is_socket = true;

	while (len > 0) {
		ssize_t n;
		if (is_socket) {
			n = send(fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				is_socket = false;
				continue;
			}
		} else {
			n = write(fd, p, len);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sbx_frame_send(int fd, const void *buf, size_t len)
{
	unsigned char hdr[4];

	if (len > SBX_FRAME_MAX)
		return -EMSGSIZE;
	sbx_put_u32(hdr, (unsigned)len);
	/* One sendmsg for the common small frame; sbx_write_all finishes partial writes. */
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)buf, len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	size_t sent = (size_t)n;
	if (sent < sizeof(hdr)) {
		int r = sbx_write_all(fd, hdr + sent, sizeof(hdr) - sent);
		if (r < 0)
			return r;
		sent = sizeof(hdr);
	}
	return sbx_write_all(fd, (const char *)buf + (sent - sizeof(hdr)),
			     len - (sent - sizeof(hdr)));
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int sbx_frame_send_fd(int fd, const void *buf, size_t len, int sendfd)
{
	unsigned char hdr[4];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;

	if (len > SBX_FRAME_MAX)
		return -EMSGSIZE;
	sbx_put_u32(hdr, (unsigned)len);
	memset(&cbuf, 0, sizeof(cbuf));
	/* The descriptor travels with the header, which is sent whole or not at all. */
	struct iovec iov = {hdr, sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sendfd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(hdr))
		return -EIO;
	return sbx_write_all(fd, buf, len);
}

static void close_cmsg_fds(struct msghdr *mh);

int sbx_frame_recv_fd(int fd, char **out, size_t *len, int *rfd)
{
	unsigned char hdr[4];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SBX_CTL_MAXFDS)];
	} cbuf;
	struct iovec iov = {hdr, sizeof(hdr)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n;

	*rfd = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(hdr)) {
		close_cmsg_fds(&mh);
		return -ECONNRESET;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*rfd < 0)
				*rfd = got;
			else
				close(got);
		}
	}
	size_t size = sbx_get_u32(hdr);
	if (size > SBX_FRAME_MAX)
		return -EMSGSIZE;
	cleanup_free char *buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	int r = read_full(fd, buf, size);
	if (r < 0)
		return r;
	buf[size] = '\0';
	*out = steal_pointer(&buf);
	*len = size;
	return 0;
}

int sbx_frame_recv(int fd, char **out, size_t *len)
{
	unsigned char hdr[4];
	int r = read_full(fd, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	size_t n = sbx_get_u32(hdr);
	if (n > SBX_FRAME_MAX)
		return -EMSGSIZE;
	cleanup_free char *buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	r = read_full(fd, buf, n);
	if (r < 0)
		return r;
	buf[n] = '\0';
	*out = steal_pointer(&buf);
	*len = n;
	return 0;
}

int sbx_ctl_send(int fd, const char *json, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SBX_CTL_MAXFDS)];
	} cbuf;
	struct iovec iov = {(void *)json, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (len > SBX_CTL_MAX || nfds > SBX_CTL_MAXFDS)
		return -EMSGSIZE;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	return 0;
}

static void close_cmsg_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

int sbx_ctl_recv(int fd, char **json, size_t *len, int *fds, size_t *nfds, size_t maxfds)
{
	ssize_t n;

	/* SOCK_SEQPACKET: MSG_TRUNC makes a peek report the whole datagram's length. */
	do
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n > SBX_CTL_MAX)
		return -EMSGSIZE;

	cleanup_free char *buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * SBX_CTL_MAXFDS)];
	} cbuf;
	struct iovec iov = {buf, (size_t)n};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t got;
	do
		got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	if (got == 0)
		return -ECONNRESET;

	size_t count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			count += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	}
	if ((mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || count > maxfds) {
		close_cmsg_fds(&mh);
		return -EPROTO;
	}
	size_t k = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t m = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds + k, CMSG_DATA(c), m * sizeof(int));
		k += m;
	}
	buf[got] = '\0';
	*json = steal_pointer(&buf);
	*len = (size_t)got;
	*nfds = k;
	return 0;
}
