/* SPDX-License-Identifier: MIT */
/*
 * conntrack: the socket behind each CivetWeb connection, and what that connection is doing.
 *
 * CivetWeb 1.15 gives one worker thread to each connection for its whole life and offers no way
 * to reach a connection's socket. Without one, an idle keep-alive connection or a slowloris
 * client holds a worker until its timeout, a few hundred of them starve every other client, and
 * a response that must end the connection (a framing error, a 413 for a body we will not read)
 * cannot end it: CivetWeb first drains the unread body, for up to its request timeout.
 *
 * So the emulator interposes accept() (CivetWeb calls it through the PLT; the executable's
 * definition wins), records each accepted socket with its peer address, and follows the
 * connection through CivetWeb's callbacks (init_connection, the request handler, end_request,
 * connection_close), which identify a connection by the same peer address. With that:
 *
 *   - conntrack_finish() shuts a connection down (SHUT_RDWR) once its response is written, so the
 *     client sees the end at once and CivetWeb's drain ends immediately;
 *   - conntrack_relieve() runs on every accept and every 100 ms: when the connections held reach
 *     the workers less a reserve, it shuts down the connections that are making no progress,
 *     idle keep-alive ones first (oldest first), then ones that have sent nothing for
 *     |quiet_ms| while their request is incomplete (slowloris). A connection inside a request
 *     is never touched.
 *
 * Entries are removed in the connection_close callback, which CivetWeb calls before it closes
 * the socket; every shutdown happens under the table's lock and after checking that the
 * descriptor still has the recorded peer, so a reused descriptor number is never touched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_connection;

struct conntrack_stats {
	size_t held;	   /* accepted and not yet closed (queued or in a worker) */
	size_t busy;	   /* inside a request */
	size_t idle;	   /* between requests of a keep-alive connection */
	size_t fresh;	   /* accepted, no complete request yet */
	uint64_t evicted;  /* connections shut down to free a worker, since start */
	uint64_t finished; /* connections ended after a Connection: close response */
};

/* Starts tracking for a server with |workers| worker threads: keeps |reserve| of them free
 * and treats a connection as stalled after |quiet_ms| without data. Starts the 100 ms
 * housekeeping thread. Returns 0 or a negative errno. */
int conntrack_start(unsigned workers, unsigned reserve, unsigned quiet_ms);

/* Stops the housekeeping thread and forgets every connection. */
void conntrack_stop(void);

/* CivetWeb callbacks (connection identified by its peer). */
void conntrack_on_init(const struct mg_connection *conn);
/* A request is being answered (by the handler or CivetWeb's error callback). */
void conntrack_on_request(const struct mg_connection *conn);
void conntrack_on_end(const struct mg_connection *conn);
/* Forgets |conn|; returns true when its last request was read but never answered (CivetWeb
 * drops absolute-form targets and "*" silently). */
bool conntrack_on_close(const struct mg_connection *conn);

/* Makes CivetWeb end |conn| after the current response (no keep-alive, whatever the client
 * asked): call before the response head is sent, so CivetWeb itself writes
 * "Connection: close". */
void conntrack_mark_close(struct mg_connection *conn);

/* After the last byte of a response that ends the connection: shuts the socket down, so the
 * client sees end of file at once and CivetWeb does not wait for an unread body. */
void conntrack_finish(const struct mg_connection *conn);

/* One pass of the eviction policy (also run by accept and the housekeeping thread). */
void conntrack_relieve(void);

void conntrack_get_stats(struct conntrack_stats *out);

/* Applies TCP_DEFER_ACCEPT to every listening TCP socket of this process, so a client that
 * connects and sends nothing never takes a worker. */
void conntrack_defer_listeners(unsigned seconds);
