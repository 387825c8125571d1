/* SPDX-License-Identifier: MIT */
/*
 * The request log; see reqlog.h. Formatting is done into a stack buffer (grown on the heap only
 * for debug extras) and handed to one write(2). Every byte that came from a client is escaped:
 * in text lines, bytes outside printable ASCII (and space, '"', '\\') in the method, route and
 * identifier become %XX, and free text has control characters replaced; in JSON, strings are
 * escaped per RFC 8259 after invalid UTF-8 is replaced by U+FFFD.
 */
#include "reqlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sputf8.h"
#include "util.h"

static enum reqlog_format g_format = REQLOG_TEXT;
static enum reqlog_level g_level = REQLOG_INFO;
static int g_fd = 2;

void reqlog_init(enum reqlog_format format, enum reqlog_level level, int fd)
{
	g_format = format;
	g_level = level;
	g_fd = fd;
}

int reqlog_format_parse(const char *s, enum reqlog_format *out)
{
	if (s && !strcmp(s, "text"))
		*out = REQLOG_TEXT;
	else if (s && !strcmp(s, "json"))
		*out = REQLOG_JSON;
	else
		return -EINVAL;
	return 0;
}

int reqlog_level_parse(const char *s, enum reqlog_level *out)
{
	if (s && !strcmp(s, "quiet"))
		*out = REQLOG_QUIET;
	else if (s && !strcmp(s, "info"))
		*out = REQLOG_INFO;
	else if (s && !strcmp(s, "debug"))
		*out = REQLOG_DEBUG;
	else
		return -EINVAL;
	return 0;
}

bool reqlog_enabled(enum reqlog_level level)
{
	return g_level != REQLOG_QUIET && g_level >= level;
}

bool reqlog_header_secret(const char *name)
{
	static const char *const secret[] = {"Authorization", "Proxy-Authorization", "x-ms-apikey",
					     "Cookie", "Set-Cookie"};
	for (size_t i = 0; name && i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!strcasecmp(name, secret[i]))
			return true;
	return false;
}

/* ---- a line buffer: stack first, heap when it must grow ---- */

struct lbuf {
	char *p;
	size_t len, cap;
	bool heap, fixed, oom;
};

static void lb_reserve(struct lbuf *b, size_t more)
{
	if (b->oom || b->len + more < b->cap)
		return;
	if (b->fixed) {
		b->oom = true;
		return;
	}
	size_t ncap = b->cap * 2;
	while (ncap <= b->len + more)
		ncap *= 2;
	char *np = b->heap ? realloc(b->p, ncap) : malloc(ncap);
	if (!np) {
		b->oom = true;
		return;
	}
	if (!b->heap)
		memcpy(np, b->p, b->len);
	b->p = np;
	b->cap = ncap;
	b->heap = true;
}

static void lb_add(struct lbuf *b, const char *s, size_t n)
{
	lb_reserve(b, n);
	if (b->oom) {
		/* A fixed buffer keeps what fits. */
		if (b->fixed && b->len + 1 < b->cap) {
			size_t k = b->cap - 1 - b->len < n ? b->cap - 1 - b->len : n;
			memcpy(b->p + b->len, s, k);
			b->len += k;
		}
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void lb_puts(struct lbuf *b, const char *s)
{
	lb_add(b, s, strlen(s));
}

static void lb_printf(struct lbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_printf(struct lbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		lb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static const char hexd[] = "0123456789ABCDEF";

/* A token of a text line (method, route, identifier): printable ASCII kept, the rest %XX. */
static void lb_token(struct lbuf *b, const char *s, size_t n)
{
	if (n == 0) {
		lb_add(b, "-", 1);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
			char ch = (char)c;
			lb_add(b, &ch, 1);
		} else {
			char esc[3] = {'%', hexd[c >> 4], hexd[c & 15]};
			lb_add(b, esc, 3);
		}
	}
}

/* Free text in a text line: valid UTF-8, control characters as '?'. */
static void lb_text(struct lbuf *b, const char *s, size_t n)
{
	char *clean = util_utf8_sanitize(s, n);
	if (!clean)
		return;
	for (char *q = clean; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	lb_puts(b, clean);
	free(clean);
}

/* A JSON string (with quotes) of |n| bytes of |s|. */
static void lb_json_str(struct lbuf *b, const char *s, size_t n)
{
	char *clean = sp_utf8_valid(s, n, NULL) ? NULL : util_utf8_sanitize(s, n);
	const char *p = clean ? clean : s;
	size_t len = clean ? strlen(clean) : n;
	lb_add(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		lb_add(b, p + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			lb_add(b, "\\\"", 2);
			break;
		case '\\':
			lb_add(b, "\\\\", 2);
			break;
		case '\n':
			lb_add(b, "\\n", 2);
			break;
		case '\r':
			lb_add(b, "\\r", 2);
			break;
		case '\t':
			lb_add(b, "\\t", 2);
			break;
		default: {
			char esc[7] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15], 0};
			lb_add(b, esc, 6);
		}
		}
	}
	lb_add(b, p + run, len - run);
	lb_add(b, "\"", 1);
	free(clean);
}

static void lb_json_field(struct lbuf *b, const char *name, const char *s)
{
	lb_printf(b, ",\"%s\":", name);
	if (s && *s)
		lb_json_str(b, s, strlen(s));
	else
		lb_puts(b, "null");
}

static void lb_time(struct lbuf *b, int64_t ticks)
{
	time_t sec = (time_t)(ticks / UTIL_TICKS_PER_SEC);
	unsigned ms = (unsigned)((ticks % UTIL_TICKS_PER_SEC) / 10000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	lb_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static const char *kind_name(enum reqlog_kind k)
{
	switch (k) {
	case REQLOG_REQUEST:
		return "request";
	case REQLOG_SESSION:
		return "session";
	case REQLOG_PROTOCOL:
		return "protocol";
	}
	return "request";
}

static void format_text(struct lbuf *b, const struct reqlog_entry *e)
{
	lb_time(b, e->time_ticks);
	switch (e->kind) {
	case REQLOG_REQUEST:
		lb_add(b, " ", 1);
		lb_token(b, e->method, strlen(e->method));
		lb_add(b, " ", 1);
		lb_token(b, e->route, strlen(e->route));
		lb_printf(b, " %d", e->status);
		if (e->error_code[0]) {
			lb_add(b, " ", 1);
			lb_token(b, e->error_code, strlen(e->error_code));
		}
		lb_puts(b, " id=");
		lb_token(b, e->identifier, strlen(e->identifier));
		lb_printf(b, " in=%llu out=%llu %lld.%03lldms", (unsigned long long)e->bytes_in,
			  (unsigned long long)e->bytes_out, (long long)(e->duration_us / 1000),
			  (long long)(e->duration_us % 1000));
		break;
	case REQLOG_SESSION:
		lb_puts(b, " session ");
		lb_token(b, e->event, strlen(e->event));
		lb_puts(b, " id=");
		lb_token(b, e->identifier, strlen(e->identifier));
		if (e->detail[0]) {
			lb_add(b, " ", 1);
			lb_text(b, e->detail, strlen(e->detail));
		}
		break;
	case REQLOG_PROTOCOL:
		lb_printf(b, " protocol-error %d peer=", e->status);
		lb_token(b, e->peer, strlen(e->peer));
		lb_add(b, " ", 1);
		lb_text(b, e->detail, strlen(e->detail));
		break;
	}
}

static void format_json(struct lbuf *b, const struct reqlog_entry *e)
{
	lb_puts(b, "{\"time\":\"");
	lb_time(b, e->time_ticks);
	lb_printf(b, "\",\"kind\":\"%s\"", kind_name(e->kind));
	switch (e->kind) {
	case REQLOG_REQUEST:
		lb_json_field(b, "method", e->method);
		lb_json_field(b, "route", e->route);
		lb_json_field(b, "identifier", e->identifier);
		lb_printf(b, ",\"status\":%d", e->status);
		lb_json_field(b, "errorCode", e->error_code);
		lb_printf(b, ",\"bytesIn\":%llu,\"bytesOut\":%llu,\"durationMs\":%lld.%03lld",
			  (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
			  (long long)(e->duration_us / 1000), (long long)(e->duration_us % 1000));
		lb_json_field(b, "peer", e->peer);
		break;
	case REQLOG_SESSION:
		lb_json_field(b, "event", e->event);
		lb_json_field(b, "identifier", e->identifier);
		lb_json_field(b, "detail", e->detail);
		break;
	case REQLOG_PROTOCOL:
		lb_printf(b, ",\"status\":%d", e->status);
		lb_json_field(b, "peer", e->peer);
		lb_json_field(b, "reason", e->detail);
		break;
	}
}

/* Debug extras of a request: headers (secrets redacted), error message, body excerpt. */
static void format_debug(struct lbuf *b, const struct reqlog_entry *e, enum reqlog_format f)
{
	size_t blen = e->body_len < REQLOG_BODY_EXCERPT ? e->body_len : REQLOG_BODY_EXCERPT;
	if (f == REQLOG_JSON) {
		lb_puts(b, ",\"headers\":{");
		for (size_t i = 0; i < e->nheaders; i++) {
			const char *n = e->headers[i].name ? e->headers[i].name : "";
			const char *v = e->headers[i].value ? e->headers[i].value : "";
			if (i)
				lb_add(b, ",", 1);
			lb_json_str(b, n, strlen(n));
			lb_add(b, ":", 1);
			if (reqlog_header_secret(n))
				lb_puts(b, "\"[redacted]\"");
			else
				lb_json_str(b, v, strlen(v));
		}
		lb_add(b, "}", 1);
		if (e->detail[0])
			lb_json_field(b, "errorMessage", e->detail);
		if (e->body) {
			lb_puts(b, ",\"bodyExcerpt\":");
			lb_json_str(b, e->body, blen);
			lb_printf(b, ",\"bodyExcerptTruncated\":%s",
				  e->body_len > blen ? "true" : "false");
		}
		return;
	}
	for (size_t i = 0; i < e->nheaders; i++) {
		const char *n = e->headers[i].name ? e->headers[i].name : "";
		const char *v = e->headers[i].value ? e->headers[i].value : "";
		lb_puts(b, "\n  > ");
		lb_text(b, n, strlen(n));
		lb_puts(b, ": ");
		if (reqlog_header_secret(n))
			lb_puts(b, "[redacted]");
		else
			lb_text(b, v, strlen(v));
	}
	if (e->detail[0]) {
		lb_puts(b, "\n  message: ");
		lb_text(b, e->detail, strlen(e->detail));
	}
	if (e->body) {
		lb_puts(b, "\n  body: ");
		lb_json_str(b, e->body, blen);
		if (e->body_len > blen)
			lb_printf(b, " (first %zu of %zu bytes)", blen, e->body_len);
	}
}

size_t reqlog_format(const struct reqlog_entry *e, enum reqlog_format format, char *buf, size_t len)
{
	if (!len)
		return 0;
	struct lbuf b = {.p = buf, .cap = len, .fixed = true};
	if (format == REQLOG_JSON) {
		format_json(&b, e);
		lb_add(&b, "}", 1);
	} else {
		format_text(&b, e);
	}
	b.p[b.len] = '\0';
	return b.len;
}

void reqlog_write(const struct reqlog_entry *e)
{
	if (!reqlog_enabled(REQLOG_INFO))
		return;
	char stack[1024];
	struct lbuf b = {.p = stack, .cap = sizeof(stack)};
	bool debug = g_level == REQLOG_DEBUG && e->kind == REQLOG_REQUEST;
	if (g_format == REQLOG_JSON) {
		format_json(&b, e);
		if (debug)
			format_debug(&b, e, REQLOG_JSON);
		lb_add(&b, "}", 1);
	} else {
		format_text(&b, e);
		if (debug)
			format_debug(&b, e, REQLOG_TEXT);
	}
	lb_add(&b, "\n", 1);
	if (!b.oom) {
		const char *p = b.p;
		size_t left = b.len;
		while (left) {
			ssize_t n = write(g_fd, p, left);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
	}
	if (b.heap)
		free(b.p);
}

void reqlog_session(const char *event, const char *identifier, const char *fmt, ...)
{
	if (!reqlog_enabled(REQLOG_INFO))
		return;
	struct reqlog_entry e = {.kind = REQLOG_SESSION, .time_ticks = util_now_ticks()};
	snprintf(e.event, sizeof(e.event), "%s", event);
	snprintf(e.identifier, sizeof(e.identifier), "%s", identifier ? identifier : "");
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e.detail, sizeof(e.detail), fmt, ap);
		va_end(ap);
	}
	reqlog_write(&e);
}

void reqlog_protocol(const char *peer, int status, const char *reason)
{
	if (!reqlog_enabled(REQLOG_INFO))
		return;
	struct reqlog_entry e = {
	    .kind = REQLOG_PROTOCOL, .time_ticks = util_now_ticks(), .status = status};
	snprintf(e.peer, sizeof(e.peer), "%s", peer ? peer : "");
	snprintf(e.detail, sizeof(e.detail), "%s", reason ? reason : "");
	reqlog_write(&e);
}
