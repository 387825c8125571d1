/* SPDX-License-Identifier: MIT */
/*
 * Requests of a scenario run: building one from a step (URL and query, headers, the runner's
 * Authorization, default headers, the body in any of its forms, multipart parts), sending it
 * (with one retry on a fresh token after a 401 to a token from a command) and recording the
 * exchange under --record.
 *
 * A struct request owns every string its http_request points to. Life cycle: zero it, then
 * request_build() or request_plain(), any number of request_send(), then request_fini() (safe
 * on a zeroed or half-built request). Not thread-safe for one request; distinct requests of a
 * run may be built on one thread and sent on others.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http_client.h"
#include "scenario.h"
#include "token.h"

struct run;

struct request {
	struct http_request req;
	char *url;
	char *label; /* "POST /code/execute?…" for messages */
	char **strings;
	size_t n_strings;
	struct http_part *parts;
	char *body_note; /* how a body not held in memory is produced, for recordings */
	char *token;	 /* the token put in Authorization by the runner, or NULL */
	size_t auth_index;
};

/*
 * Builds |b| (zeroed) from the scenario request |q|, expanding templates in |r|'s scope, and
 * remembers the identifier query parameter of the URL for the teardown. Returns 0, or a
 * negative code with the reason already the run's error (run_error).
 */
int request_build(struct run *r, const struct scn_request *q, struct request *b);

/*
 * Builds a runner-own request (teardown, sweep): |method| (borrowed, must outlive |b|), |url|
 * (taken over), a 30 s timeout and, when |tok| gives a token, the Authorization header. A
 * token failure only means no Authorization. Returns 0 or -ENOMEM (|url| freed either way).
 */
int request_plain(struct request *b, const char *method, char *url, struct token_source *tok);

void request_fini(struct request *b);

/*
 * Sends |b| with the run's client; after a 401 to a token from a command, fetches a fresh
 * token and resends once. |ignore_abort| sends even after Ctrl-C (cleanup steps). Every
 * exchange is recorded as |phase|/|step|. Returns 0 with |resp| filled, -ECANCELED when
 * interrupted, or another negative code (the transport error becomes the run's error).
 */
int request_send(struct run *r, struct request *b, struct http_response *resp, const char *phase,
		 const char *step, bool ignore_abort);

/* Writes one exchange under --record (a no-op without it); |resp| NULL after |transport|. */
void request_record(struct run *r, const struct request *b, const char *phase, const char *step,
		    const struct http_response *resp, const char *transport);
