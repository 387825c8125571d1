/* SPDX-License-Identifier: MIT */
/*
 * The JSONPath subset scenarios use to point into a response body. Grammar:
 *
 *   path    := "$" step*
 *   step    := "." name | "[" index "]" | "[*]" | "['" text "']" | "[\"" text "\"]"
 *   name    := one or more characters other than "." and "["   (so "$.properties.$id" works)
 *   index   := optional "-" then decimal digits ("[-1]" is the last element)
 *
 * No filters, no recursive descent. "[*]" fans out over every element of an array or member
 * of an object, so a path can match several values. Life cycle: jp_parse() fills a
 * caller-allocated struct jp_path, jp_path_fini() releases it; jp_eval() borrows both the path
 * and the document. All functions are thread-safe on distinct objects.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum jp_step_kind { JP_MEMBER, JP_INDEX, JP_WILDCARD };

struct jp_step {
	enum jp_step_kind kind;
	char *name; /* JP_MEMBER: owned */
	long index; /* JP_INDEX: negative counts from the end */
};

struct jp_path {
	struct jp_step *steps; /* owned */
	size_t n_steps;
};

/* Values a path matched, in document order. The pointers borrow from the evaluated document. */
struct jp_matches {
	const cJSON **items; /* owned array */
	size_t n;
};

/*
 * Parses |expr| into |out|. Returns 0, -EINVAL with a message naming the offending column, or
 * -ENOMEM. |out| is written only on success.
 */
int jp_parse(const char *expr, struct jp_path *out, struct sp_err *err);

void jp_path_fini(struct jp_path *p);

/* True when the path contains "[*]" and so may match any number of values. */
bool jp_path_is_multi(const struct jp_path *p);

/*
 * Evaluates |p| on |root| (may be NULL: nothing matches) and fills |out| with every match.
 * Returns 0 or -ENOMEM. Release |out| with jp_matches_fini().
 */
int jp_eval(const struct jp_path *p, const cJSON *root, struct jp_matches *out);

void jp_matches_fini(struct jp_matches *m);
