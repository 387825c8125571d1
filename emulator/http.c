/* SPDX-License-Identifier: MIT */
/*
 * Responses and bounded request reading over CivetWeb; see http.h. All responses go through
 * mg_response_header_*, which adds Date and the keep-alive header; errors are always the JSON
 * envelope (CivetWeb's own mg_send_http_error is text/plain and closes the connection).
 */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "conntrack.h"

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
 * The response head written by hand. Needed after http_continue(): once anything went out
 * through mg_write/mg_printf, CivetWeb 1.15 marks the response as started and every
 * mg_response_header_* call fails (-3), so no response would be sent at all.
 */
static bool start_raw(struct req *r, int status, const char *ctype, int64_t length)
{
	char date[40];
	util_format_http_date(time(NULL), date, sizeof(date));
	bool close = r->headers.data && strcasestr(r->headers.data, "Connection: close\r\n");
	struct strbuf h = {0};
	strbuf_printf(&h, "HTTP/1.1 %d %s\r\n", status, http_reason_phrase(status));
	if (ctype)
		strbuf_printf(&h, "Content-Type: %s\r\n", ctype);
	strbuf_printf(&h, "Content-Length: %lld\r\n", (long long)length);
	if (r->headers.len)
		strbuf_append(&h, r->headers.data, r->headers.len);
	strbuf_printf(&h, "Date: %s\r\n%s\r\n", date, close ? "" : "Connection: keep-alive\r\n");
	bool ok = !h.oom && mg_write(r->conn, h.data, h.len) == (int)h.len;
	strbuf_fini(&h);
	return ok;
}

static bool start(struct req *r, int status, const char *ctype, int64_t length)
{
	r->responded = true;
	if (r->continued)
		return start_raw(r, status, ctype, length);
	if (mg_response_header_start(r->conn, status) < 0)
		return false;
	if (ctype)
		mg_response_header_add(r->conn, "Content-Type", ctype, -1);
	char len[32];
	snprintf(len, sizeof(len), "%lld", (long long)length);
	mg_response_header_add(r->conn, "Content-Length", len, -1);
	if (r->headers.len)
		mg_response_header_add_lines(r->conn, r->headers.data);
	return mg_response_header_send(r->conn) >= 0;
}

bool http_write(struct req *r, const void *buf, size_t len)
{
	if (r->method == HTTP_HEAD || len == 0)
		return true;
	return mg_write(r->conn, buf, len) == (int)len;
}

bool http_send_headers(struct req *r, int status, const char *ctype, int64_t content_length)
{
	return start(r, status, ctype, content_length);
}

void http_send_body(struct req *r, int status, const char *ctype, const char *body, size_t len)
{
	if (start(r, status, ctype, (int64_t)len))
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
	start(r, status, NULL, 0);
}

void http_send_error(struct req *r, enum api_error e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	cJSON *inner = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(inner, "code", api_error_code(e));
	/* The message may quote client input: make sure it is valid UTF-8 for the JSON. */
	cleanup_free char *clean = util_utf8_sanitize(msg, strlen(msg));
	cJSON_AddStringToObject(inner, "message", clean ? clean : "");
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
		int got = mg_read(r->conn, buf + n, cap - n - 1);
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
