/* SPDX-License-Identifier: MIT */
/*
 * --record DIR: every request and response of a run, one text file per exchange, at
 * DIR/<target>/<scenario id>/<NN>-<phase>-<step>.http. The file holds the request head as
 * sent, the request body (or a description of a streamed one), the response head and the
 * response body as received (up to the client's in-memory cap). Every Authorization value is
 * replaced by its scheme and "<redacted>", and the whole text passes through redact_dup(), so
 * tokens never reach a recording. Thread-safe (distinct files per exchange).
 */
#pragma once

#include <stddef.h>

#include "err.h"
#include "http_client.h"

struct record_entry {
	const char *dir;       /* not owned: the --record directory */
	const char *target;    /* not owned */
	const char *scenario;  /* not owned: the scenario id, may contain "/" */
	unsigned seq;	       /* exchange number within the scenario */
	const char *phase;     /* "step", "cleanup" or "teardown" */
	const char *step_name; /* may be NULL */
	const struct http_request *req;
	const char *body_note;		  /* how the body was produced when not in memory */
	const struct http_response *resp; /* NULL after a transport error */
	const char *transport_error;	  /* may be NULL */
};

/* Writes one exchange. Returns 0 or a negative code (message in |err|). */
int record_write(const struct record_entry *e, struct sp_err *err);

/* Creates |path| and its missing parents (mode 0755). Returns 0 or -errno. */
int record_mkdirs(const char *path);
