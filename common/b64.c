/* SPDX-License-Identifier: MIT */
/* RFC 4648 base64; see b64.h. */
#include "b64.h"

#include <errno.h>
#include <stdlib.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t sp_b64_encoded_len(size_t n, unsigned flags)
{
	if (flags & SP_B64_PAD)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t sp_b64_encode(const void *in, size_t n, unsigned flags, char *out)
{
	const char *a = (flags & SP_B64_URL) ? url_alpha : std_alpha;
	const unsigned char *u = in;
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16 | (unsigned)u[i + 1] << 8 | u[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i) {
		unsigned v = (unsigned)u[i] << 16 | (n - i == 2 ? (unsigned)u[i + 1] << 8 : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (n - i == 2)
			out[o++] = a[v >> 6 & 63];
		else if (flags & SP_B64_PAD)
			out[o++] = '=';
		if (flags & SP_B64_PAD)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

char *sp_b64_encode_alloc(const void *in, size_t n, unsigned flags)
{
	char *out = malloc(sp_b64_encoded_len(n, flags) + 1);
	if (out)
		sp_b64_encode(in, n, flags, out);
	return out;
}

static int val(unsigned char c, unsigned flags)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	bool url = flags & SP_B64_URL, lax = flags & SP_B64_LAX;
	if ((c == '-' && (url || lax)) || (c == '+' && (!url || lax)))
		return 62;
	if ((c == '_' && (url || lax)) || (c == '/' && (!url || lax)))
		return 63;
	return -1;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Decodes into |out| (room for len / 4 * 3 + 3 bytes) or only checks when |out| is NULL;
 * returns the decoded length or -EINVAL. */
static long decode(const unsigned char *in, size_t len, unsigned flags, char *out)
{
	size_t o = 0, pad = 0, nq = 0;
	unsigned acc = 0;
	bool lax = flags & SP_B64_LAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		if ((flags & SP_B64_SKIP_WS) && is_ws(c))
			continue;
		if (c == '=') {
			if (lax)
				break;
			pad++;
			continue;
		}
		if (pad)
			return -EINVAL; /* data after padding */
		int v = val(c, flags);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		if (++nq == 4) {
			if (out) {
				out[o] = (char)(acc >> 16);
				out[o + 1] = (char)(acc >> 8);
				out[o + 2] = (char)acc;
			}
			o += 3;
			acc = 0;
			nq = 0;
		}
	}
	if (!lax) {
		if (nq == 1)
			return -EINVAL;
		if (pad != (nq == 0 ? 0u : 4 - nq) && (pad || (flags & SP_B64_PAD)))
			return -EINVAL;
		if ((nq == 2 && (acc & 0xf)) || (nq == 3 && (acc & 0x3)))
			return -EINVAL;
	}
	if (nq >= 2) {
		acc <<= 6 * (4 - nq); /* as if the quantum were complete */
		if (out)
			out[o] = (char)(acc >> 16);
		o++;
		if (nq == 3) {
			if (out)
				out[o] = (char)(acc >> 8);
			o++;
		}
	}
	return (long)o;
}

int sp_b64_decode(const char *in, size_t len, unsigned flags, char **out, size_t *out_len)
{
	char *buf = malloc(len / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	long n = decode((const unsigned char *)in, len, flags, buf);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	if (out_len)
		*out_len = (size_t)n;
	return 0;
}

bool sp_b64_valid(const char *in, size_t len, unsigned flags)
{
	return decode((const unsigned char *)in, len, flags, NULL) >= 0;
}
