/* SPDX-License-Identifier: MIT */
/*
 * The request log: one line per HTTP request, per session life-cycle event and per protocol
 * error CivetWeb refused, in text or JSON (one object per line), on stderr.
 *
 * Life cycle: reqlog_init() once in main() before any thread exists; then any thread may call
 * reqlog_write() and the helpers. Each entry is formatted into one buffer and written with one
 * write(2), so lines of concurrent requests never interleave; there is no lock.
 *
 * struct reqlog_entry is self-contained (fixed-size fields, no pointers into a request) except
 * for the debug extras, which are borrowed for the duration of reqlog_write() only: a bounded
 * ring of recent entries can keep copies of the struct as they are.
 *
 * Secrets never reach the log: the query string is not logged at all, and the debug headers
 * have the values of Authorization, Proxy-Authorization, x-ms-apikey, Cookie and Set-Cookie
 * replaced by "[redacted]".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum reqlog_format { REQLOG_TEXT, REQLOG_JSON };
enum reqlog_level { REQLOG_QUIET, REQLOG_INFO, REQLOG_DEBUG };

enum reqlog_kind {
	REQLOG_REQUEST,	 /* an HTTP request and its response */
	REQLOG_SESSION,	 /* a session life-cycle event (event: created, expired, …) */
	REQLOG_PROTOCOL, /* a request CivetWeb refused before the handler (peer, reason) */
};

/* Debug-level bound on the request body excerpt (bytes before UTF-8 sanitising). */
#define REQLOG_BODY_EXCERPT 1024

struct reqlog_header {
	const char *name;
	const char *value;
};

struct reqlog_entry {
	enum reqlog_kind kind;
	int64_t time_ticks; /* wall clock, util_now_ticks() */
	char method[16];
	char route[256];      /* normalised path without the pool prefix, e.g. "/executions" */
	char identifier[129]; /* "" when the request had none */
	int status;	      /* HTTP status; 0 = none was sent */
	char error_code[64];  /* x-ms-error-code, "" when none */
	uint64_t bytes_in;    /* request body bytes read */
	uint64_t bytes_out;   /* response body bytes written */
	int64_t duration_us;  /* arrival to response end */
	char peer[64];	      /* "ADDR:PORT" of the client */
	char event[32];	      /* REQLOG_SESSION: "created", "expired", "deleted", … */
	char detail[256];     /* REQLOG_SESSION/REQLOG_PROTOCOL: free text; REQLOG_REQUEST:
			       * the error message (logged at debug level) */
	/* Debug level only, borrowed for the call, never kept: */
	const struct reqlog_header *headers;
	size_t nheaders;
	const char *body; /* request body excerpt (failed requests), NULL = none */
	size_t body_len;
};

/* Sets the format, the level and the descriptor lines go to (normally 2). Not thread-safe:
 * call before any thread exists. */
void reqlog_init(enum reqlog_format format, enum reqlog_level level, int fd);

/* Parses "text"/"json" and "quiet"/"info"/"debug": 0 or -EINVAL. */
int reqlog_format_parse(const char *s, enum reqlog_format *out);
int reqlog_level_parse(const char *s, enum reqlog_level *out);

/* True if entries are written at |level| (REQLOG_INFO: anything at all). Thread-safe. */
bool reqlog_enabled(enum reqlog_level level);

/*
 * Formats |e| per the configured format into one line (debug extras added when the level is
 * debug and |e| carries them) and writes it with one write(2). Never fails visibly: a line
 * that cannot be written is dropped. Thread-safe.
 */
void reqlog_write(const struct reqlog_entry *e);

/*
 * Formats |e| into |buf| (|len| bytes) as reqlog_write() would, without the debug extras;
 * returns the line's length (the line may be cut to len - 1). For tests and a future ring.
 */
size_t reqlog_format(const struct reqlog_entry *e, enum reqlog_format format, char *buf,
		     size_t len);

/* A session life-cycle event (created, expired, deleted, interpreter-restarted, timeout) for
 * |identifier| (may be NULL), with an optional printf-formatted detail (|fmt| may be NULL). */
void reqlog_session(const char *event, const char *identifier, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A request CivetWeb refused: the client |peer| ("ADDR:PORT"), the answered |status| and the
 * |reason|. */
void reqlog_protocol(const char *peer, int status, const char *reason);

/* True if header |name| carries a secret whose value must never be logged. */
bool reqlog_header_secret(const char *name);
