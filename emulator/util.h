/* SPDX-License-Identifier: MIT */
/*
 * Small pure helpers shared by the emulator's modules: clocks and the contract's timestamp
 * forms (§0), GUIDs, percent-decoding (§1.1) and bounded string building. No global state.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall clock in 100-ns ticks since the Unix epoch (the contract's 7-digit precision). */
int64_t util_now_ticks(void);
/* Monotonic clock in milliseconds / nanoseconds. */
int64_t util_mono_ms(void);
int64_t util_mono_ns(void);

#define UTIL_TICKS_PER_SEC 10000000LL

/* "YYYY-MM-DDTHH:MM:SS.fffffffZ" (28 chars + NUL) into |buf| (≥ 32 bytes). Returns buf. */
char *util_format_ticks(int64_t ticks, char *buf, size_t len);
/* RFC 1123 "Sun, 06 Nov 1994 08:49:37 GMT" into |buf| (≥ 32 bytes). Returns buf. */
char *util_format_http_date(time_t t, char *buf, size_t len);

/* Copies |len| bytes with invalid UTF-8 sequences replaced by U+FFFD into a new string. */
char *util_utf8_sanitize(const char *s, size_t len);

/* Number of bytes of the first |max_chars| code points of valid UTF-8 |s| (len bytes). */
size_t util_utf8_prefix_bytes(const char *s, size_t len, size_t max_chars);

/* Case-insensitive ASCII equality. */
bool util_ieq(const char *a, const char *b);

/* Parses a whole decimal string into [min, max]; false on anything else (sign, space, …). */
bool util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A growable byte buffer. */
struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};
bool strbuf_grow(struct strbuf *b, size_t more);
/* Room for |more| bytes and a NUL after what |b| holds (b->data + b->len is then writable);
 * false after out of memory. */
static inline bool strbuf_reserve(struct strbuf *b, size_t more)
{
	return (!b->oom && b->cap - b->len > more) || strbuf_grow(b, more);
}
void strbuf_append(struct strbuf *b, const char *s, size_t len);
void strbuf_puts(struct strbuf *b, const char *s);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated data (owned by the caller) or NULL after OOM; resets |b|. */
char *strbuf_steal(struct strbuf *b);
void strbuf_fini(struct strbuf *b);
