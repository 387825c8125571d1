/* SPDX-License-Identifier: MIT */
/*
 * The CivetWeb server: listener set-up (HTTP or HTTPS), the one request handler that applies
 * the contract's check order (§10.3) and dispatches to api_*.c, and CivetWeb's own protocol
 * errors rewritten into the JSON envelope.
 */
#pragma once

#include <stddef.h>

#include "err.h"
#include "http.h"

/* Under pressure, a connection whose request is incomplete is closed after this long without
 * data (see conntrack.h). */
#define SERVER_STALL_MS 250
/* TCP_DEFER_ACCEPT: a connection that sends nothing is not handed to a worker for this long. */
#define SERVER_DEFER_ACCEPT_S 10

/*
 * The start-up checks that need no zygote, run before it is started: the TLS certificate and
 * key are readable PEM and one key pair, and the listening address is free and ours to take.
 * 0, or a negative code with one line in |err| naming the flag, the file and the fix.
 */
int server_check(const struct config *c, struct sp_err *err);

/*
 * Starts listening per srv->cfg. On success fills srv->local_base and *base_url (a new string,
 * e.g. "http://127.0.0.1:41235", the real port when port 0 was asked) and returns the context.
 */
struct mg_context *server_start(struct server *srv, char **base_url, struct sp_err *err);
/* Stops listening and waits for every worker thread. */
void server_stop(struct mg_context *ctx);
