/* SPDX-License-Identifier: MIT */
/*
 * wire.h: the two framings spoken between the client library, the zygote and session processes.
 *
 * Session sockets (SOCK_STREAM) carry frames: a little-endian u32 length, then that many bytes of
 * UTF-8 JSON. The zygote control socket (SOCK_SEQPACKET) carries one JSON document per datagram,
 * with file descriptors attached as SCM_RIGHTS. Every function here is blocking, retries EINTR,
 * never raises SIGPIPE and returns 0 or a negative errno-style code. Received descriptors are
 * always close-on-exec.
 */
#pragma once

#include <stddef.h>

/* Largest session frame accepted (a reply carries the cell value, which may be an image). */
#define SBX_FRAME_MAX ((size_t)96 << 20)
/* Largest control datagram (the hello carries the package list). */
#define SBX_CTL_MAX ((size_t)4 << 20)
/* Most descriptors attached to one control datagram. */
#define SBX_CTL_MAXFDS 8

/* How a session request frame begins: the session reads the op and the request id at this fixed
 * place (a cell, a command), so the client writes "op" and "id" first, in this order. */
#define SBX_EXEC_HEAD  "{\"op\":\"exec\",\"id\":\""
#define SBX_SHELL_HEAD "{\"op\":\"shell\",\"id\":\""

/* Writes all of |buf| (send(MSG_NOSIGNAL) on sockets, write() otherwise). -EPIPE on a closed peer.
 */
int sbx_write_all(int fd, const void *buf, size_t len);

/* Sends one frame: the u32 length of |len| bytes, then the bytes. -EMSGSIZE above SBX_FRAME_MAX. */
int sbx_frame_send(int fd, const void *buf, size_t len);

/*
 * Receives one frame into a malloc'd, NUL-terminated buffer (*out, length *len without the NUL).
 * Returns -ECONNRESET on end of file (clean or in the middle of a frame), -EMSGSIZE when the
 * announced length exceeds SBX_FRAME_MAX.
 */
int sbx_frame_recv(int fd, char **out, size_t *len);

/* Like sbx_frame_send, with |sendfd| (borrowed) attached to the frame as SCM_RIGHTS. */
int sbx_frame_send_fd(int fd, const void *buf, size_t len, int sendfd);

/* Like sbx_frame_recv; a descriptor attached to the frame is stored in *rfd (else -1). */
int sbx_frame_recv_fd(int fd, char **out, size_t *len, int *rfd);

/* Sends one control datagram with |nfds| descriptors (borrowed, not closed). */
int sbx_ctl_send(int fd, const char *json, size_t len, const int *fds, size_t nfds);

/*
 * Receives one control datagram into a malloc'd, NUL-terminated buffer. Up to |maxfds|
 * descriptors are stored in |fds| and their number in *nfds; the caller owns them. Returns
 * -ECONNRESET on end of file; on any error no descriptor is left open.
 */
int sbx_ctl_recv(int fd, char **json, size_t *len, int *fds, size_t *nfds, size_t maxfds);

/* Little-endian u32 helpers for the frame header. */
static inline void sbx_put_u32(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	p[2] = (unsigned char)((v >> 16) & 0xff);
	p[3] = (unsigned char)((v >> 24) & 0xff);
}

static inline unsigned sbx_get_u32(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24;
}
