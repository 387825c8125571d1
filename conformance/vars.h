/* SPDX-License-Identifier: MIT */
/*
 * Variables and {{…}} templating. A struct vars maps names to JSON values and may have a parent
 * scope (run → target → scenario), searched when a name is not found locally. Templates:
 *
 *   {{name}}              the value: strings as-is, other JSON compactly (42, true, [1,2])
 *   {{name|f1|f2}}        filters: url (percent-encode all but A-Za-z0-9-._~), url_path (same,
 *                         keeping "/"), base64, json (JSON string escaping, no quotes),
 *                         lower, upper
 *   {{"text"}}            the literal text (so a scenario can write {{"{{"}})
 *   {{uuid}}              a fresh random GUID per occurrence, unless a variable named uuid exists
 *
 * Names are letters, digits, "_", "-" and "."; spaces inside the braces are ignored. In JSON
 * templates (vars_expand_json), a string that is exactly one "{{name}}" is replaced by the
 * variable's JSON value, keeping its type, so `"equals": "{{size}}"` compares numbers.
 *
 * Life cycle: vars_new() (borrowing the parent, which must outlive the child), vars_set*(),
 * vars_free(). A struct vars is not locked: share it read-only between threads.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

#include "err.h"

struct vars;

/* Returns a new empty scope with |parent| (may be NULL), or NULL on allocation failure. */
struct vars *vars_new(const struct vars *parent);
void vars_free(struct vars *v);

/* Sets |name| to a copy of |value| (replacing a local binding). Returns 0 or -ENOMEM. */
int vars_set(struct vars *v, const char *name, const cJSON *value);
int vars_set_str(struct vars *v, const char *name, const char *value);

/* The value bound to |name| in |v| or its ancestors, or NULL. Borrowed. */
const cJSON *vars_get(const struct vars *v, const char *name);

/*
 * Expands every {{…}} in |tmpl| into a new string (*out, caller frees). Returns 0, -ENOENT for
 * an undefined variable, -EINVAL for bad syntax or an unknown filter (message in |err|), or
 * -ENOMEM. *out is written only on success.
 */
int vars_expand(const struct vars *v, const char *tmpl, char **out, struct sp_err *err);

/* Deep copy of |in| with every string (not member names) expanded; see above. Same returns. */
int vars_expand_json(const struct vars *v, const cJSON *in, cJSON **out, struct sp_err *err);

/* Checks the template syntax of |tmpl| (balanced braces, names, filters) without values. */
int vars_check(const char *tmpl, struct sp_err *err);

/* Writes a random version-4 GUID (36 lowercase characters plus NUL) into |out|. */
void vars_uuid(char out[37]);
