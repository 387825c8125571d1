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

/*
 * Starts listening per srv->cfg. On success fills srv->local_base and *base_url (a new string,
 * e.g. "http://127.0.0.1:41235", the real port when port 0 was asked) and returns the context.
 */
struct mg_context *server_start(struct server *srv, char **base_url, struct sp_err *err);
/* Stops listening and waits for every worker thread. */
void server_stop(struct mg_context *ctx);
