/* SPDX-License-Identifier: MIT */
/*
 * Bearer tokens for a target: a fixed string (--token), an environment variable (--token-env)
 * or a command whose standard output is the token (--token-command, e.g. `az account
 * get-access-token … -o tsv`). A command is re-run when the token it gave is a JWT within five
 * minutes of its `exp`, and after the server rejected it with a 401. Every token obtained is
 * registered with redact.h before it is returned, so it never reaches an output.
 *
 * A failure (the command exits non-zero or prints nothing, the variable is unset) is sticky:
 * every later token_get() fails at once with the same message, without running the command
 * again, so a run can stop after the first one (token_failed()).
 *
 * Life cycle: token_source_new() → token_get()/token_reject() from any thread →
 * token_source_free(). Thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

enum token_kind { TOKEN_NONE, TOKEN_STATIC, TOKEN_ENV, TOKEN_COMMAND };

struct token_source;

/*
 * |arg| is the token (STATIC), the variable name (ENV) or the shell command (COMMAND); ignored
 * for NONE, where token_get() returns NULL tokens. Copies |arg|. Returns 0 or a negative code.
 */
int token_source_new(enum token_kind kind, const char *arg, struct token_source **out,
		     struct sp_err *err);
void token_source_free(struct token_source *t);

/*
 * Sets *out to a malloc'd copy of the current token (NULL for TOKEN_NONE), running the command
 * first when needed. Returns 0, or a negative code when the variable is unset or empty or the
 * command fails (message in |err|, never containing the token).
 */
int token_get(struct token_source *t, char **out, struct sp_err *err);

/*
 * Reports that |token| was refused (a 401). Returns true when a retry may help: the source is
 * a command, and the next token_get() will run it again (unless another thread already did).
 */
bool token_reject(struct token_source *t, const char *token);

/* True once the source has failed (see above). */
bool token_failed(struct token_source *t);

/*
 * The failure's message followed by a newline and the command's standard error (its first
 * 4 KiB, when it wrote any), malloc'd; NULL when the source has not failed or out of memory.
 * Not redacted: pass it through redact_dup() before printing.
 */
char *token_failure_text(struct token_source *t);

/* The `exp` claim of |token| when it is a JWT with a numeric exp, else 0. */
int64_t token_jwt_exp(const char *token);
