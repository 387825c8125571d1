/* SPDX-License-Identifier: MIT */
/*
 * Predicates: the checks a scenario applies to one value (a JSON node, a header, a body). A
 * predicate set is a JSON object whose members are all checked:
 *
 *   equals V        deep JSON equality (numbers compared as doubles)
 *   not_equals V    the opposite
 *   type T | [T…]   "string" "number" "integer" "boolean" "null" "array" "object"
 *   exists B        the value is present (B true) or absent (B false)
 *   absent B        the value is absent (B true) or present (B false)
 *   matches RE      POSIX extended regex, searched in a string value
 *   one_of [V…]     deep-equal to one of the listed values
 *   gte N, lte N    numeric bounds
 *   length N | {…}  code points of a string, or members of an array/object; N or a predicate set
 *   keys [K…]       the object's member names, exactly, in this order
 *   contains V      a string containing V as a substring, or an array holding an element equal to V
 *   seconds_since {"time": T, predicates…}
 *                   the value is an RFC 3339 timestamp; the predicates apply to the number of
 *                   seconds from T (also RFC 3339) to it, e.g. {"time": "{{t}}", "gte": 300}
 *
 * Specs are borrowed; nothing is retained between calls. Thread-safe.
 */
#pragma once

#include <cjson/cJSON.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum pred_mode {
	PRED_JSON, /* the value is a JSON node */
	PRED_TEXT, /* the value is a string from a header or body: gte/lte accept numeric text */
};

/* True when |key| is one of the predicate names above. */
bool pred_is_key(const char *key);

/*
 * Checks that |spec| is a well-formed predicate set: an object whose members are all predicate
 * names (extra names listed in |allowed_extra|, NULL-terminated, may be NULL, are skipped),
 * each with a value of the right type, and at least one predicate. Regular expressions without
 * "{{" are compiled to check them. Returns 0 or -EINVAL with "|where|: reason" in |err|.
 */
int pred_validate(const cJSON *spec, const char *where, const char *const *allowed_extra,
		  struct sp_err *err);

/*
 * Evaluates every predicate of |spec| on |actual| (NULL = absent). Returns true when all hold;
 * otherwise false with a one-line reason, e.g. `expected "Success", got "Succeeded"`, in |why|.
 */
bool pred_check(const cJSON *spec, const cJSON *actual, enum pred_mode mode, char *why,
		size_t why_len);

/* Parses an RFC 3339 timestamp (any number of fractional digits, Z or ±hh:mm) into seconds
 * since the epoch. Returns 0 or -EINVAL. */
int pred_parse_time(const char *s, double *out);

/* Largest regular expression pred_regcomp() compiles, in bytes and in estimated tree nodes. */
#define PRED_REGEX_MAX_LEN  4096
#define PRED_REGEX_MAX_COST 20000
/* Most counts applied to pieces that can match the empty string ("a*+", "(b?)+": see
 * nullable_repeats in predicate.c). */
#define PRED_REGEX_MAX_NULLABLE_REPEATS 3

/*
 * regcomp(), after refusing with REG_ESIZE ("Regular expression too big") a pattern longer than
 * PRED_REGEX_MAX_LEN or one glibc would expand past PRED_REGEX_MAX_COST nodes: glibc copies the
 * piece a count repeats (x{m,n} about n times, x+ twice), so stacked and nested counts multiply
 * ("4++++…" with 34 '+' took over 2 GiB, found by fuzz_scenario); or one that repeats pieces
 * able to match the empty string more than PRED_REGEX_MAX_NULLABLE_REPEATS times ("_*+++…" took
 * over 90 s). Every regex of a scenario goes through it. On failure |re| must not be freed.
 */
int pred_regcomp(regex_t *re, const char *pattern, int cflags);

/* Compact JSON text of |v| cut to |max| bytes with "…" ("<absent>" for NULL). Caller frees. */
char *pred_describe(const cJSON *v, size_t max);
