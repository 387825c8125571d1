/* SPDX-License-Identifier: MIT */
/*
 * utf8.h: growing text buffers that only ever hold valid UTF-8 and count their code points.
 *
 * Bytes are decoded as UTF-8; each maximal ill-formed subpart (Unicode 15, §3.9, the policy
 * Python's "replace" error handler also follows) becomes one U+FFFD. Appending stops at a code
 * point budget, so a stream can be cut to its first N code points without ever holding more.
 */
#pragma once

#include <stddef.h>

struct sbx_text {
	char *buf;  /* NUL-terminated when non-NULL; owned */
	size_t len; /* bytes, without the NUL */
	size_t cap; /* allocated bytes */
	size_t cps; /* code points held */
};

/*
 * Decodes |len| bytes of |in| and appends them to |t| until |t| holds |max_cps| code points.
 * Returns 0 or -ENOMEM (|t| is then unchanged beyond what fit before the failure).
 */
int sbx_text_append(struct sbx_text *t, const char *in, size_t len, size_t max_cps);

/* Makes |t| a valid empty string (allocates one byte). Returns 0 or -ENOMEM. */
int sbx_text_finish(struct sbx_text *t);

/* Frees the buffer and zeroes |t|. */
void sbx_text_fini(struct sbx_text *t);

/* Hands the buffer to the caller (NUL-terminated) and zeroes |t|. */
char *sbx_text_steal(struct sbx_text *t);
