/* SPDX-License-Identifier: MIT */
/*
 * utf8.c: UTF-8 validation with U+FFFD replacement and code-point truncation (see utf8.h). The
 * well-formed byte sequences are exactly those of Unicode Table 3-7; anything else is replaced
 * one maximal subpart at a time, so a stream cut in the middle of a character and then resumed
 * never turns valid text into replacement characters.
 */
#include "utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sputf8.h"

static const char replacement[] = "\xef\xbf\xbd";

static int reserve(struct sbx_text *t, size_t extra)
{
	if (t->len + extra + 1 <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap : 256;
	while (cap < t->len + extra + 1)
		cap *= 2;
	char *p = realloc(t->buf, cap);
	if (!p)
		return -ENOMEM;
	t->buf = p;
	t->cap = cap;
	return 0;
}

int sbx_text_append(struct sbx_text *t, const char *in, size_t len, size_t max_cps)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	if (t->cps >= max_cps || len == 0)
		return sbx_text_finish(t);
	/* Most text is ASCII: reserve one byte per code point up front, grow on demand. */
	size_t budget = max_cps - t->cps;
	if (reserve(t, len < budget ? len : budget) < 0)
		return -ENOMEM;
	while (i < len && t->cps < max_cps) {
		/* Fast path: a run of ASCII. */
		size_t run = 0;
		size_t left = max_cps - t->cps;
		while (i + run < len && run < left && s[i + run] < 0x80)
			run++;
		if (run > 0) {
			if (reserve(t, run) < 0)
				return -ENOMEM;
			memcpy(t->buf + t->len, s + i, run);
			t->len += run;
			t->cps += run;
			i += run;
			continue;
		}
		size_t bad = 0;
		size_t n = sp_utf8_next(s + i, len - i, &bad);
		const void *src = n ? (const void *)(s + i) : (const void *)replacement;
		size_t srclen = n ? n : 3;
		if (reserve(t, srclen) < 0)
			return -ENOMEM;
		memcpy(t->buf + t->len, src, srclen);
		t->len += srclen;
		t->cps++;
		i += n ? n : bad;
	}
	t->buf[t->len] = '\0';
	return 0;
}

int sbx_text_finish(struct sbx_text *t)
{
	if (reserve(t, 0) < 0)
		return -ENOMEM;
	t->buf[t->len] = '\0';
	return 0;
}

void sbx_text_fini(struct sbx_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

char *sbx_text_steal(struct sbx_text *t)
{
	char *p = t->buf;
	memset(t, 0, sizeof(*t));
	return p;
}
