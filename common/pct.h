/* SPDX-License-Identifier: MIT */
/* Percent-encoding (RFC 3986 §2.1) of query values and path segments, and its lenient decoding. */
#pragma once

#include <stddef.h>

/*
 * Encodes the NUL-terminated |in| into a new string: the unreserved characters (ASCII letters,
 * digits, "-._~") and those in |keep| (may be NULL; "/" for a path) stay, every other byte
 * becomes %XX with upper-case hex. Returns NULL on OOM.
 */
char *sp_pct_encode(const char *in, const char *keep);

/* The value of hex digit |c| (any case), or -1. */
int sp_hexval(int c);

/* Decodes |len| bytes of |in| into a new NUL-terminated string, *out_len (may be NULL) its
 * length. A '%' not followed by two hex digits is kept as it is. Returns NULL on OOM. */
char *sp_pct_decode(const char *in, size_t len, size_t *out_len);
