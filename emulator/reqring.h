/* SPDX-License-Identifier: MIT */
/*
 * The bounded in-memory ring of recent API requests behind GET /.emulator/requests (the
 * playground's Requests view): what the request log writes, plus the query (secret-looking
 * parameters redacted), the request headers (secrets redacted, as in the debug log) and the
 * first REQRING_BODY_MAX bytes of the request and response bodies, as UTF-8 text.
 *
 * Never in the ring: a value of Authorization, Proxy-Authorization, x-ms-apikey, Cookie or
 * Set-Cookie (reqlog_header_secret), nor of a query parameter whose name says it is a secret
 * (token, key, sig, …). Bodies are kept as sent: they are the user's own code and files.
 *
 * Thread-safe; one process-wide ring. reqring_init() once before threads, or never (then the
 * ring is off and reqring_add() does nothing).
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reqlog.h"

#define REQRING_CAP	 500  /* requests kept; the oldest go first */
#define REQRING_BODY_MAX 4096 /* bytes of each body kept */
#define REQRING_LIST_MAX 500  /* most items one GET returns */

/* Turns the ring on with room for |cap| requests (1 to REQRING_CAP). */
void reqring_init(size_t cap);
/* Whether reqring_init() ran: requests should be captured. */
bool reqring_on(void);

struct reqring_capture {
	const char *query; /* raw query string, or NULL */
	const struct reqlog_header *headers;
	size_t nheaders;
	const char *req_body; /* the first bytes of the request body read, or NULL */
	size_t req_body_len;
	const char *resp_type; /* response Content-Type, or NULL */
	const char *resp_body; /* the first bytes of the response body, or NULL */
	size_t resp_body_len;
};

/* Adds one finished request (|e| of kind REQLOG_REQUEST). */
void reqring_add(const struct reqlog_entry *e, const struct reqring_capture *c);

/*
 * {"requests":[…],"next":N,"dropped":D}: the requests with a sequence number above |since|, oldest
 * first, at most |limit|; |identifier| and |status_class| (e.g. 4 for 4xx; 0 for any) filter.
 * "next" is the sequence number to pass as |since| next time, "dropped" how many requests after
 * |since| left the ring before they could be read. NULL when memory runs out.
 */
cJSON *reqring_json(uint64_t since, size_t limit, const char *identifier, int status_class);
