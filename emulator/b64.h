/* SPDX-License-Identifier: MIT */
/* RFC 4648 base64 decoding, standard and URL-safe alphabets (JWT segments, InlineBase64 code). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes |in| (|len| bytes) into a new NUL-terminated buffer, *out_len its length.
 * |url|: the URL-safe alphabet (- _) instead of (+ /). Padding is optional but, when present,
 * must be correct and final. |skip_ws|: ASCII whitespace is ignored. Returns NULL on bad input
 * or OOM.
 */
char *b64_decode(const char *in, size_t len, bool url, bool skip_ws, size_t *out_len);
