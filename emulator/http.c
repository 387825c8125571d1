/* SPDX-License-Identifier: MIT */
/*
 * Responses and bounded request reading over CivetWeb; see http.h. All responses go through
 * mg_response_header_*, which adds Date and the keep-alive header; errors are always the JSON
 * envelope (CivetWeb's own mg_send_http_error is text/plain and closes the connection).
 */
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "conntrack.h"
#include "reqlog.h"
#include "reqring.h"

void http_add_header(struct req *r, const char *name, const char *fmt, ...)
{
	char val[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	strbuf_printf(&r->headers, "%s: %s\r\n", name, val);
}

/*
 * The excerpt buffers of the calling worker thread: two of EXCERPT_MAX bytes, made on its first
 * request and kept for its life (one request at a time per thread: no allocation per request,
 * nothing on the workers' small stacks), freed when the thread ends. NULL when out of memory.
 */
#define EXCERPT_MAX (REQRING_BODY_MAX + 1)

static pthread_key_t excerpt_key;
static pthread_once_t excerpt_once = PTHREAD_ONCE_INIT;

static void excerpt_key_make(void)
{
	if (pthread_key_create(&excerpt_key, free) != 0)
		excerpt_key = (pthread_key_t)-1;
}

static char *thread_excerpts(void)
{
	pthread_once(&excerpt_once, excerpt_key_make);
	if (excerpt_key == (pthread_key_t)-1)
		return NULL;
	char *b = pthread_getspecific(excerpt_key);
	if (!b && (b = malloc(2 * EXCERPT_MAX)) && pthread_setspecific(excerpt_key, b) != 0) {
		free(b);
		b = NULL;
	}
	return b;
}

/* Appends up to EXCERPT_MAX bytes in all of |buf| (|n| bytes) to the excerpt *ex: the
 * thread's first buffer (|which| 0, the request body) or its second (1, the response). */
static void keep_excerpt(char **ex, size_t *len, int which, const void *buf, size_t n)
{
	if (!n || *len >= EXCERPT_MAX)
		return;
	if (!*ex) {
		char *b = thread_excerpts();
		if (!b)
			return;
		*ex = b + which * EXCERPT_MAX;
	}
	size_t k = EXCERPT_MAX - *len < n ? EXCERPT_MAX - *len : n;
	memcpy(*ex + *len, buf, k);
	*len += k;
}

/* Whether CivetWeb keeps the connection after this request: HTTP/1.1 unless the client said
 * "Connection: close", HTTP/1.0 only with "Connection: keep-alive". */
static bool client_keeps_alive(const struct req *r)
{
	const char *c = mg_get_header(r->conn, "Connection");
	if (c && strcasestr(c, "close"))
		return false;
	if (r->ri->http_version && !strcmp(r->ri->http_version, "1.0"))
		return c && strcasestr(c, "keep-alive");
	return true;
}

/*
 * The response head, written by hand in one piece, with |body| (|blen| bytes, may be NULL) in
 * the same write when it is small: CivetWeb's mg_response_header_* sends every header line in
 * its own send(), a TCP segment each with TCP_NODELAY (17 per answer to an execution, measured
 * with strace). Also the only way after http_continue(): once anything went out, CivetWeb 1.15
 * refuses mg_response_header_*. A larger body goes in a second write: copying it into the head
 * cost more than the send it saved (a listSessions page just under 64 KiB: a new 128 KiB buffer,
 * its page faults and the copy were 37 % of the handler's samples; issue 13's profile).
 */
#define INLINE_BODY_MAX (16u << 10)

static bool start(struct req *r, int status, const char *ctype, int64_t length, const char *body,
		  size_t blen)
{
	r->responded = true;
	r->status = status;
	if (r->capture && ctype)
		snprintf(r->resp_type, sizeof(r->resp_type), "%s", ctype);
	if (!r->cors_preflight)
		http_add_cors(r);
	if (!r->close && !client_keeps_alive(r))
		http_close_after(r);
	char date[40];
	util_format_http_date(time(NULL), date, sizeof(date));
	struct strbuf h = {0};
	strbuf_printf(&h, "HTTP/1.1 %d %s\r\n", status, http_reason_phrase(status));
	if (ctype)
		strbuf_printf(&h, "Content-Type: %s\r\n", ctype);
	strbuf_printf(&h, "Content-Length: %lld\r\n", (long long)length);
	if (r->headers.len)
		strbuf_append(&h, r->headers.data, r->headers.len);
	strbuf_printf(&h, "Date: %s\r\n%s\r\n", date, r->close ? "" : "Connection: keep-alive\r\n");
	bool inline_body = body && blen <= INLINE_BODY_MAX && r->method != HTTP_HEAD;
	if (inline_body)
		strbuf_append(&h, body, blen);
	bool ok = !h.oom && mg_write(r->conn, h.data, h.len) == (int)h.len;
	if (ok && inline_body) {
		r->bytes_out += blen;
		keep_excerpt(&r->resp_excerpt, &r->resp_excerpt_len, 1, body,
			     r->capture ? blen : 0);
	}
	strbuf_fini(&h);
	return ok;
}

bool http_write(struct req *r, const void *buf, size_t len)
{
	if (r->method == HTTP_HEAD || len == 0)
		return true;
	int n = mg_write(r->conn, buf, len);
	if (n > 0) {
		r->bytes_out += (uint64_t)n;
		keep_excerpt(&r->resp_excerpt, &r->resp_excerpt_len, 1, buf,
			     r->capture ? (size_t)n : 0);
	}
	return n == (int)len;
}

bool http_send_headers(struct req *r, int status, const char *ctype, int64_t content_length)
{
	return start(r, status, ctype, content_length, NULL, 0);
}

void http_send_body(struct req *r, int status, const char *ctype, const char *body, size_t len)
{
	/* start() writes a body of up to INLINE_BODY_MAX with the head, else only the head. */
	if (start(r, status, ctype, (int64_t)len, body ? body : "", len) && len > INLINE_BODY_MAX)
		http_write(r, body, len);
}

void http_send_json_text(struct req *r, int status, const char *json, size_t len)
{
	http_send_body(r, status, "application/json", json, len);
}

void http_send_json(struct req *r, int status, const cJSON *body)
{
	char *s = cJSON_PrintUnformatted(body);
	if (!s) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	http_send_json_text(r, status, s, strlen(s));
	cJSON_free(s);
}

void http_send_empty(struct req *r, int status)
{
	start(r, status, NULL, 0, NULL, 0);
}

void http_send_no_route(struct req *r, const char *why)
{
	http_send_error(r, API_ERR_ROUTE_NOT_FOUND, "No route matches '%s %s'%s%s.",
			r->ri->request_method, r->ri->local_uri_raw ? r->ri->local_uri_raw : "",
			why ? ": " : "", why ? why : "");
}

/* {"error":{"code","message"}}, |clean| already valid UTF-8 (NULL: ""); NULL when out of memory. */
static cJSON *error_envelope(enum api_error e, const char *clean)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *inner = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(inner, "code", api_error_code(e));
	cJSON_AddStringToObject(inner, "message", clean ? clean : "");
	return root;
}

void http_send_error(struct req *r, enum api_error e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message may quote client input: make sure it is valid UTF-8 for the JSON. */
	cleanup_free char *clean = util_utf8_sanitize(msg, strlen(msg));
	cleanup_cjson cJSON *root = error_envelope(e, clean);
	/* Kept for the request log's debug line: cut to its buffer on purpose. */
	const char *kept = clean ? clean : msg;
	size_t kept_len = strnlen(kept, sizeof(r->error_message) - 1);
	memcpy(r->error_message, kept, kept_len);
	r->error_message[kept_len] = '\0';
	r->error_code = api_error_code(e);
	http_add_header(r, "x-ms-error-code", "%s", api_error_code(e));
	if (e == API_ERR_UNAUTHORIZED)
		http_add_header(r, "WWW-Authenticate", "Bearer");
	http_send_json(r, api_error_status(e), root);
}

const char *http_header(const struct req *r, const char *name)
{
	return mg_get_header(r->conn, name);
}

int64_t http_content_length(const struct req *r)
{
	return r->ri->content_length;
}

void http_continue(struct req *r)
{
	const char *e = mg_get_header(r->conn, "Expect");
	if (e && !strcasecmp(e, "100-continue") && strcmp(r->ri->http_version, "1.1") == 0 &&
	    !r->continued) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		mg_write(r->conn, cont, sizeof(cont) - 1);
		r->continued = true;
	}
}

void http_close_after(struct req *r)
{
	if (r->close)
		return;
	r->close = true;
	http_add_header(r, "Connection", "close");
	conntrack_mark_close(r->conn);
}

int http_read_body(struct req *r, size_t max, char **out, size_t *len)
{
	int64_t cl = http_content_length(r);
	if (cl > (int64_t)max) {
		/* Never read what we will refuse: the client gets 413 and the connection ends. */
		http_close_after(r);
		return -E2BIG;
	}
	http_continue(r);
	size_t cap = cl > 0 ? (size_t)cl + 1 : 4096;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max + 1) {
				free(buf);
				http_close_after(r);
				return -E2BIG;
			}
			size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		int got = http_read(r, buf + n, cap - n - 1);
		if (got < 0) {
			free(buf);
			http_close_after(r);
			return -EIO;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			free(buf);
			http_close_after(r);
			return -E2BIG;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

char *http_public_base(const struct req *r)
{
	const struct config *c = r->srv->cfg;
	struct strbuf b = {0};
	if (c->public_base_url && *c->public_base_url) {
		size_t l = strlen(c->public_base_url);
		while (l > 0 && c->public_base_url[l - 1] == '/')
			l--;
		strbuf_append(&b, c->public_base_url, l);
		return strbuf_steal(&b);
	}
	const char *host = mg_get_header(r->conn, "Host");
	if (host && *host && !strpbrk(host, " \t\r\n/\\?#@")) {
		strbuf_printf(&b, "%s://%s", r->srv->tls ? "https" : "http", host);
		return strbuf_steal(&b);
	}
	strbuf_puts(&b, r->srv->local_base);
	return strbuf_steal(&b);
}

int http_read(struct req *r, void *buf, size_t len)
{
	int n = mg_read(r->conn, buf, len);
	if (n <= 0)
		return n;
	r->bytes_in += (uint64_t)n;
	if (r->capture || reqlog_enabled(REQLOG_DEBUG))
		keep_excerpt(&r->body_excerpt, &r->body_excerpt_len, 0, buf, (size_t)n);
	r->body_seen += (size_t)n;
	return n;
}

void http_req_fini(struct req *r)
{
	r->body_excerpt = NULL; /* the worker thread's buffers */
	r->resp_excerpt = NULL;
}

/* ---- CORS ---- */

/* Headers a browser client may read from responses (the rest are CORS-safelisted). */
#define CORS_EXPOSE                                                                                \
	"operation-id, Operation-Location, Location, x-ms-error-code, Retry-After, "               \
	"WWW-Authenticate, Last-Modified, X-Ms-Session-Guid, X-Ms-Overall-Execution-Time, "        \
	"X-Ms-Preparation-Time, X-Ms-Execution-Request-Time, X-Ms-Execution-Read-Response-Time"
/* Request headers clients send (Content-Type is needed for application/json bodies). */
#define CORS_ALLOW_HEADERS                                                                         \
	"Authorization, Content-Type, x-ms-apikey, operation-id, x-ms-client-request-id, "         \
	"x-ms-useragent, traceparent, tracestate, Accept, Mcp-Session-Id, MCP-Protocol-Version"
#define CORS_ALLOW_METHODS "GET, POST, DELETE, HEAD, OPTIONS"
#define CORS_MAX_AGE	   "7200"

/* The Access-Control-Allow-Origin value for |r|, or NULL when CORS does not apply. */
static const char *cors_origin(const struct req *r, bool *vary)
{
	const char *list = r->srv->cfg->cors_origins;
	*vary = false;
	if (!list || !*list)
		return NULL;
	if (config_list_contains(list, "*"))
		return "*";
	*vary = true;
	const char *origin = mg_get_header(r->conn, "Origin");
	if (!origin || !*origin)
		return NULL;
	/* Scheme and host are case-insensitive; the list was validated at start-up. */
	size_t ol = strlen(origin), l;
	const char *p = list, *item;
	while ((item = config_list_next(&p, &l)))
		if (l == ol && !strncasecmp(item, origin, l))
			return origin;
	return NULL;
}

void http_add_cors(struct req *r)
{
	bool vary;
	const char *allow = cors_origin(r, &vary);
	if (vary)
		http_add_header(r, "Vary", "Origin");
	if (!allow)
		return;
	http_add_header(r, "Access-Control-Allow-Origin", "%s", allow);
	http_add_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE);
}

/* True if |v| is a list of header names (a preflight's Access-Control-Request-Headers). */
static bool header_list_ok(const char *v)
{
	size_t n = strlen(v);
	return n > 0 && n <= 1024 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_, ") == n;
}

bool http_cors_preflight(struct req *r)
{
	if (r->method != HTTP_OPTIONS || !mg_get_header(r->conn, "Origin") ||
	    !mg_get_header(r->conn, "Access-Control-Request-Method"))
		return false;
	bool vary;
	const char *allow = cors_origin(r, &vary);
	if (!allow)
		return false;
	r->cors_preflight = true;
	http_add_header(r, "Access-Control-Allow-Origin", "%s", allow);
	http_add_header(r, "Access-Control-Allow-Methods", "%s",
			r->cors_methods ? r->cors_methods : CORS_ALLOW_METHODS);
	const char *asked = mg_get_header(r->conn, "Access-Control-Request-Headers");
	if (asked && header_list_ok(asked))
		http_add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS ", %s",
				asked);
	else
		http_add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	http_add_header(r, "Access-Control-Max-Age", CORS_MAX_AGE);
	http_add_header(r, "Vary", "%s",
			vary ? "Origin, Access-Control-Request-Headers"
			     : "Access-Control-Request-Headers");
	http_send_empty(r, 204);
	return true;
}

void http_send_raw_error(struct mg_connection *conn, int status, enum api_error e,
			 const char *message)
{
	cleanup_free char *clean = util_utf8_sanitize(message, strlen(message));
	cleanup_cjson cJSON *root = error_envelope(e, clean);
	cleanup_free char *body = root ? cJSON_PrintUnformatted(root) : NULL;
	if (!body)
		return;
	char date[40];
	util_format_http_date(time(NULL), date, sizeof(date));
	struct strbuf h = {0};
	strbuf_printf(&h,
		      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\nx-ms-error-code: %s\r\nDate: %s\r\n"
		      "Connection: close\r\n\r\n%s",
		      status, http_reason_phrase(status), strlen(body), api_error_code(e), date,
		      body);
	if (!h.oom)
		mg_write(conn, h.data, h.len);
	strbuf_fini(&h);
}
