/* SPDX-License-Identifier: MIT */
/*
 * Secret redaction. Every token the runner obtains is registered here before it is first used,
 * and every string the runner writes out (TAP diagnostics, JUnit, reports, recordings) passes
 * through redact_dup(), so a token never reaches an output even when a server echoes it back.
 * Process-wide and thread-safe; registered secrets live until redact_clear().
 */
#pragma once

#include <stddef.h>

/* Registers |secret| (copied; ignored when NULL or shorter than 4 bytes). Returns 0 or -ENOMEM. */
int redact_register(const char *secret);

/*
 * Returns a malloc'd copy of the |len| bytes at |s| (NUL-terminated; NULL |s| gives "") with
 * every registered secret replaced by "<redacted>", and its length in *out_len (may be NULL).
 * NULL only on allocation failure.
 */
char *redact_dup(const char *s, size_t len, size_t *out_len);

/* Forgets every registered secret (for tests and for the end of main). */
void redact_clear(void);
