/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP client over libcurl for replaying scenario requests exactly as written: the
 * method, the raw path (no dot-segment or double-slash squashing), the headers and the body are
 * sent as given, nothing is followed or decoded, and no Accept-Encoding is added. Bodies can be
 * streamed from a file or generated on the fly, so a 128 MiB upload never sits in memory;
 * response bodies are hashed (SHA-256) as they stream in and kept in memory only up to a cap.
 *
 * Life cycle: http_client_new() → any number of http_client_perform() → http_client_free().
 * One client per thread (a client keeps its connection cache); http_response_fini() releases a
 * response. curl_global_init() must have been called before the first client is created.
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct http_tls {
	const char *cacert; /* not owned; NULL = the system store */
	bool insecure;	    /* skip certificate and host name verification */
};

struct http_gen {
	uint64_t size;
	const char *pattern; /* not owned; repeated to fill |size| bytes; never empty */
};

enum http_source { HTTP_SRC_NONE, HTTP_SRC_MEM, HTTP_SRC_FILE, HTTP_SRC_GENERATE };

struct http_part {
	const char *name;	  /* not owned */
	const char *filename;	  /* not owned; NULL = no filename parameter */
	const char *content_type; /* not owned; NULL = none */
	enum http_source source;  /* HTTP_SRC_NONE = empty content */
	const char *data;	  /* not owned: bytes (MEM) or a path (FILE) */
	size_t len;		  /* MEM */
	struct http_gen gen;	  /* GENERATE */
};

struct http_request {
	const char *method;	    /* not owned */
	const char *url;	    /* not owned; absolute */
	const char *const *headers; /* not owned; "Name: value" lines; "Name:" removes a default */
	size_t n_headers;
	enum http_source body;	       /* request body, unless |parts| is set */
	const char *data;	       /* MEM bytes or FILE path */
	size_t len;		       /* MEM */
	struct http_gen gen;	       /* GENERATE */
	const struct http_part *parts; /* not owned; multipart/form-data when n_parts > 0 */
	size_t n_parts;
	bool chunked;				 /* send the body with Transfer-Encoding: chunked */
	long timeout_ms;			 /* whole transfer; 0 = 120 s */
	const volatile sig_atomic_t *abort_flag; /* not owned; non-zero aborts; may be NULL */
};

struct http_header {
	char *name;
	char *value;
};

struct http_response {
	long status;
	char *status_line;	     /* e.g. "HTTP/1.1 200 OK" */
	struct http_header *headers; /* of the final response, in arrival order */
	size_t n_headers;
	char *body; /* NUL-terminated; at most HTTP_BODY_KEEP bytes */
	size_t body_len;
	bool body_truncated;
	uint64_t body_size; /* all bytes received */
	char sha256[65];    /* of all bytes received */
	double seconds;
	char *sent_head;     /* the request line and headers as sent */
	bool send_cut_short; /* the server answered before the whole body was sent */
};

#define HTTP_BODY_KEEP ((size_t)32 << 20)

struct http_client;

/* Returns a new client or NULL on failure. Copies nothing from |tls| that must outlive it. */
struct http_client *http_client_new(const struct http_tls *tls);
void http_client_free(struct http_client *c);

/*
 * Sends |req| and fills |resp| (caller-allocated, zeroed by the call). Returns 0 when a
 * response arrived (whatever its status), -ECANCELED when |abort_flag| stopped the transfer,
 * or another negative code for a transport failure (message in |err|). On failure |resp|
 * holds at most |sent_head| (what was sent before the failure); http_response_fini() releases
 * it and is always safe.
 */
int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp, struct sp_err *err);

void http_response_fini(struct http_response *r);

/* The first header named |name| (case-insensitive) in |r|, or NULL. Borrowed. */
const char *http_response_header(const struct http_response *r, const char *name);
