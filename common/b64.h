/* SPDX-License-Identifier: MIT */
/*
 * RFC 4648 base64, standard (+ /) and URL-safe (- _) alphabets: the one codec of the project
 * (JWT segments, InlineBase64 code, image values, scenario bodies and filters).
 *
 * Decoding is strict unless SP_B64_LAX is given: only the chosen alphabet, no single leftover
 * character, the unused bits of the last character zero, and padding, when present (always
 * with SP_B64_PAD), exactly what completes the last quantum and nothing after it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum sp_b64_flags {
	SP_B64_URL = 1u << 0,	  /* the URL-safe alphabet instead of the standard one */
	SP_B64_PAD = 1u << 1,	  /* encode: append '='; decode: padding required */
	SP_B64_SKIP_WS = 1u << 2, /* decode: ignore ASCII whitespace (isspace in the C locale) */
	/* decode: either alphabet, stop at the first '=' (ignoring the rest), drop leftover bits;
	 * the conformance runner's tolerance for hand-written data, never for a server's input */
	SP_B64_LAX = 1u << 3,
};

/* Characters sp_b64_encode writes for |n| bytes, without the NUL. */
size_t sp_b64_encoded_len(size_t n, unsigned flags);

/* Encodes |n| bytes of |in| into |out| (sp_b64_encoded_len + 1 bytes, NUL-terminated);
 * returns the number of characters written, without the NUL. */
size_t sp_b64_encode(const void *in, size_t n, unsigned flags, char *out);

/* Like sp_b64_encode into a new buffer; NULL on OOM. */
char *sp_b64_encode_alloc(const void *in, size_t n, unsigned flags);

/*
 * Decodes |len| characters of |in| into a new NUL-terminated buffer *out (caller frees),
 * *out_len (may be NULL) its length. Returns 0, -EINVAL on bad input, -ENOMEM.
 */
int sp_b64_decode(const char *in, size_t len, unsigned flags, char **out, size_t *out_len);

/* True when sp_b64_decode would accept |in|; allocates nothing. */
bool sp_b64_valid(const char *in, size_t len, unsigned flags);
