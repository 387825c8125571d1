/* SPDX-License-Identifier: MIT */
/* Small pure helpers; see util.h. */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sputf8.h"

int64_t util_now_ticks(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * UTIL_TICKS_PER_SEC + ts.tv_nsec / 100;
}

int64_t util_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t util_mono_ms(void)
{
	return util_mono_ns() / 1000000LL;
}

char *util_format_ticks(int64_t ticks, char *buf, size_t len)
{
	time_t secs = (time_t)(ticks / UTIL_TICKS_PER_SEC);
	long frac = (long)(ticks % UTIL_TICKS_PER_SEC);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%07ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

char *util_format_http_date(time_t t, char *buf, size_t len)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

char *util_utf8_sanitize(const char *s, size_t len)
{
	struct strbuf b = {0};
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = sp_utf8_next(p + i, len - i, NULL);
		if (n) {
			strbuf_append(&b, s + i, n);
			i += n;
		} else {
			strbuf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	if (!b.data)
		strbuf_append(&b, "", 0);
	return strbuf_steal(&b);
}

size_t util_utf8_prefix_bytes(const char *s, size_t len, size_t max_chars)
{
	size_t i = 0, chars = 0;
	while (i < len && chars < max_chars) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (i + n > len)
			n = len - i;
		i += n;
		chars++;
	}
	return i;
}

bool util_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !*s)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool strbuf_grow(struct strbuf *b, size_t more)
{
	if (b->oom)
		return false;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len <= more)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->oom = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void strbuf_append(struct strbuf *b, const char *s, size_t len)
{
	if (!strbuf_reserve(b, len))
		return;
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_append(b, s, strlen(s));
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		strbuf_append(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	strbuf_append(b, big, (size_t)n);
	free(big);
}

char *strbuf_steal(struct strbuf *b)
{
	if (b->oom) {
		strbuf_fini(b);
		return NULL;
	}
	if (!b->data)
		strbuf_append(b, "", 0);
	char *d = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void strbuf_fini(struct strbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}
