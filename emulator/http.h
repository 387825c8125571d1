/* SPDX-License-Identifier: MIT */
/*
 * The HTTP layer over CivetWeb: one struct req per request (routing results, query, identity),
 * bounded body reading, and the only functions that write responses. Every response carries
 * Date (CivetWeb adds it) and, for errors, the JSON envelope with x-ms-error-code (§10.1).
 * HEAD requests get the headers of the GET response and no body.
 */
#pragma once

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "errors.h"
#include "route.h"
#include "util.h"

struct pool;

/* Process-wide state handed to every request; read-only after start except through pool. */
struct server {
	const struct config *cfg;
	struct pool *pool;
	bool tls;
	int64_t started_ticks;
	char *local_base;     /* scheme://host:port of the listener, for requests without Host */
	char disk_quota[256]; /* the /mnt/data quota in force, for /healthz */
};

struct req {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct server *srv;
	enum http_method method;
	struct route route;
	struct query query;
	enum route_op op;
	bool new_shape;
	const char *api_version; /* borrowed from query; NULL when absent */
	const char *identifier;	 /* decoded, borrowed from query; NULL when absent */
	size_t identifier_len;
	/* python/execute without an identifier in the query: the body's (§3) */
	char body_identifier[129];
	int64_t t0_ns;	       /* arrival, monotonic */
	struct strbuf headers; /* extra response headers, "Name: value\r\n" lines */
	bool responded;
	bool continued;	     /* "100 Continue" was written: CivetWeb's header API is unusable */
	bool close;	     /* the response ends the connection (http_close_after) */
	bool cors_preflight; /* answered as a CORS preflight (no CORS headers added twice) */
	const char *cors_methods; /* a preflight's Allow-Methods; NULL: every method we serve */
	/* For the request log (reqlog.h): */
	int status;		 /* the status sent, 0 until then */
	const char *error_code;	 /* x-ms-error-code sent (static string), NULL when none */
	uint64_t bytes_in;	 /* body bytes read (http_read) */
	uint64_t bytes_out;	 /* body bytes written (http_write) */
	char error_message[256]; /* the error envelope's message, for debug lines */
	char *body_excerpt;	 /* debug level or |capture|: the first bytes of the body read */
	size_t body_excerpt_len;
	size_t body_seen; /* total body bytes offered to the excerpt */
	/* For the request ring (reqring.h), when |capture|: */
	bool capture;
	char resp_type[96]; /* Content-Type sent */
	char *resp_excerpt; /* the first bytes of the response body, or NULL */
	size_t resp_excerpt_len;
};

/* Adds a response header for the response still to be sent. */
void http_add_header(struct req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends |status| with a compact JSON body (cJSON_PrintUnformatted of |body|; not consumed). */
void http_send_json(struct req *r, int status, const cJSON *body);
/* Sends |status| with the JSON text |json|. */
void http_send_json_text(struct req *r, int status, const char *json, size_t len);
/* Sends the error envelope {"error":{"code","message"}} with x-ms-error-code. */
void http_send_error(struct req *r, enum api_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 404 RouteNotFound "No route matches '<method> <path>'.", or with ": <why>" before the dot
 * (a feature turned off). */
void http_send_no_route(struct req *r, const char *why);
/* Sends |status| with no body (Content-Length: 0). */
void http_send_empty(struct req *r, int status);
/* Sends |status| with |ctype| and |len| bytes of |body|. */
void http_send_body(struct req *r, int status, const char *ctype, const char *body, size_t len);
/*
 * Starts a response whose body the caller then writes with http_write (e.g. a file download).
 * |content_length| ≥ 0. Returns false if the connection failed.
 */
bool http_send_headers(struct req *r, int status, const char *ctype, int64_t content_length);
/* Writes body bytes after http_send_headers (nothing for HEAD). Returns false on error. */
bool http_write(struct req *r, const void *buf, size_t len);

/* The request header |name| (case-insensitive) or NULL. */
const char *http_header(const struct req *r, const char *name);

/* Content-Length of the request body, or -1 when unknown (chunked). */
int64_t http_content_length(const struct req *r);

/*
 * Answers "100 Continue" if the client sent Expect: 100-continue (CivetWeb does not for
 * request handlers; without it curl stalls a second before each large body).
 */
void http_continue(struct req *r);

/*
 * Reads the whole request body, at most |max| bytes, into a new NUL-terminated buffer.
 * Returns 0, -E2BIG when the body exceeds |max| (the rest is drained or the connection closed),
 * -EIO on a read error, -ENOMEM.
 */
int http_read_body(struct req *r, size_t max, char **out, size_t *len);

/*
 * mg_read() for request bodies: counts the bytes for the request log and, at debug level,
 * keeps the first REQLOG_BODY_EXCERPT of them. Same return values as mg_read().
 */
int http_read(struct req *r, void *buf, size_t len);

/* Adds the CORS headers of the response to |r| when --cors-origins allows the request's
 * Origin (see README, "CORS"). Every response path calls it. */
void http_add_cors(struct req *r);

/*
 * A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method, from an allowed
 * origin): answers 204 with the Allow-* headers and returns true; false when |r| is not one
 * (the request then goes through the usual checks).
 */
bool http_cors_preflight(struct req *r);

/* Releases what the request log kept of |r|. */
void http_req_fini(struct req *r);

/*
 * An error answered outside the request handler (CivetWeb's protocol errors, requests CivetWeb
 * drops; used by server.c's callbacks): the contract's envelope, written raw so the status line
 * is always "HTTP/1.1" (CivetWeb would echo the client's version text there), with
 * Connection: close.
 */
void http_send_raw_error(struct mg_connection *conn, int status, enum api_error e,
			 const char *message);

/* Marks the connection to be closed after this response (e.g. a body left unread). */
void http_close_after(struct req *r);

/*
 * The public base URL for absolute links: public_base_url when set, else
 * <listener scheme>://<Host header> (the listener address without Host). New string.
 */
char *http_public_base(const struct req *r);
