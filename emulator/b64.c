/* SPDX-License-Identifier: MIT */
/* RFC 4648 base64 decoding; see b64.h. */
#include "b64.h"

#include <stdlib.h>

static int val(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *b64_decode(const char *in, size_t len, bool url, bool skip_ws, size_t *out_len)
{
	char *out = malloc(len / 4 * 3 + 4);
	if (!out)
		return NULL;
	size_t o = 0, pad = 0, nq = 0;
	unsigned acc = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (skip_ws && is_ws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			goto bad; /* data after padding */
		int v = val(c, url);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		if (++nq == 4) {
			out[o++] = (char)(acc >> 16);
			out[o++] = (char)(acc >> 8);
			out[o++] = (char)acc;
			acc = 0;
			nq = 0;
		}
	}
	if (nq == 1)
		goto bad;
	if (pad && pad != (nq == 0 ? 0u : 4 - nq))
		goto bad;
	if (nq == 2) {
		if (acc & 0xf)
			goto bad;
		out[o++] = (char)(acc >> 4);
	} else if (nq == 3) {
		if (acc & 0x3)
			goto bad;
		out[o++] = (char)(acc >> 10);
		out[o++] = (char)(acc >> 2);
	}
	out[o] = '\0';
	*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}
