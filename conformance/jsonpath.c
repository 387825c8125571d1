/* SPDX-License-Identifier: MIT */
/*
 * JSONPath subset; see jsonpath.h. Parsing produces a flat list of steps; evaluation walks the
 * document depth-first so matches come out in document order. Member lookup is case-sensitive
 * and, for duplicate member names, takes the first (as cJSON does).
 */
#include "jsonpath.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static int push_step(struct jp_path *p, struct jp_step st)
{
	struct jp_step *grown = realloc(p->steps, (p->n_steps + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	p->steps = grown;
	p->steps[p->n_steps++] = st;
	return 0;
}

static int parse_quoted(const char *expr, const char **cur, char **out, struct sp_err *err)
{
	const char *s = *cur;
	char quote = *s++;
	cleanup_free char *name = malloc(strlen(s) + 1);
	if (!name)
		return -ENOMEM;
	size_t n = 0;
	for (;; s++) {
		if (*s == '\0')
			return sp_err_set(err, -EINVAL, "unterminated quoted name at column %zu",
					  (size_t)(*cur - expr) + 1);
		if (*s == '\\' && (s[1] == quote || s[1] == '\\')) {
			name[n++] = *++s;
			continue;
		}
		if (*s == quote)
			break;
		name[n++] = *s;
	}
	name[n] = '\0';
	if (s[1] != ']')
		return sp_err_set(err, -EINVAL, "expected ']' at column %zu",
				  (size_t)(s + 1 - expr) + 1);
	*cur = s + 2;
	*out = steal_pointer(&name);
	return 0;
}

static int parse_bracket(const char *expr, const char **cur, struct jp_step *st, struct sp_err *err)
{
	const char *s = *cur + 1; /* after '[' */
	if (*s == '*') {
		if (s[1] != ']')
			return sp_err_set(err, -EINVAL, "expected ']' after '*' at column %zu",
					  (size_t)(s + 1 - expr) + 1);
		*st = (struct jp_step){.kind = JP_WILDCARD};
		*cur = s + 2;
		return 0;
	}
	if (*s == '\'' || *s == '"') {
		char *name = NULL;
		int r = parse_quoted(expr, &s, &name, err);
		if (r < 0)
			return r;
		*st = (struct jp_step){.kind = JP_MEMBER, .name = name};
		*cur = s;
		return 0;
	}
	const char *digits = *s == '-' ? s + 1 : s;
	if (*digits < '0' || *digits > '9')
		return sp_err_set(err, -EINVAL,
				  "expected an index, '*' or a quoted name at column %zu",
				  (size_t)(s - expr) + 1);
	char *end;
	errno = 0;
	long idx = strtol(s, &end, 10);
	if (errno || *end != ']')
		return sp_err_set(err, -EINVAL, "bad index at column %zu", (size_t)(s - expr) + 1);
	*st = (struct jp_step){.kind = JP_INDEX, .index = idx};
	*cur = end + 1;
	return 0;
}

int jp_parse(const char *expr, struct jp_path *out, struct sp_err *err)
{
	if (!expr || expr[0] != '$')
		return sp_err_set(err, -EINVAL, "a path must start with '$'");
	struct jp_path p = {0};
	const char *s = expr + 1;
	int r = 0;
	while (*s && r == 0) {
		struct jp_step st = {0};
		if (*s == '.') {
			size_t len = strcspn(s + 1, ".[");
			if (len == 0) {
				r = sp_err_set(err, -EINVAL, "empty member name at column %zu",
					       (size_t)(s - expr) + 2);
				break;
			}
			st.kind = JP_MEMBER;
			st.name = strndup(s + 1, len);
			if (!st.name) {
				r = -ENOMEM;
				break;
			}
			s += 1 + len;
		} else if (*s == '[') {
			r = parse_bracket(expr, &s, &st, err);
			if (r < 0)
				break;
		} else {
			r = sp_err_set(err, -EINVAL, "unexpected '%c' at column %zu", *s,
				       (size_t)(s - expr) + 1);
			break;
		}
		r = push_step(&p, st);
		if (r < 0)
			free(st.name);
	}
	if (r < 0) {
		jp_path_fini(&p);
		return r;
	}
	*out = p;
	return 0;
}

void jp_path_fini(struct jp_path *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		free(p->steps[i].name);
	free(p->steps);
	p->steps = NULL;
	p->n_steps = 0;
}

bool jp_path_is_multi(const struct jp_path *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == JP_WILDCARD)
			return true;
	return false;
}

static int add_match(struct jp_matches *m, const cJSON *v)
{
	const cJSON **grown = realloc(m->items, (m->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->items = grown;
	m->items[m->n++] = v;
	return 0;
}

static int walk(const struct jp_path *p, size_t at, const cJSON *v, struct jp_matches *out)
{
	if (at == p->n_steps)
		return add_match(out, v);
	const struct jp_step *st = &p->steps[at];
	switch (st->kind) {
	case JP_MEMBER: {
		if (!cJSON_IsObject(v))
			return 0;
		const cJSON *child = cJSON_GetObjectItemCaseSensitive(v, st->name);
		return child ? walk(p, at + 1, child, out) : 0;
	}
	case JP_INDEX: {
		if (!cJSON_IsArray(v))
			return 0;
		long n = cJSON_GetArraySize(v);
		long idx = st->index < 0 ? n + st->index : st->index;
		if (idx < 0 || idx >= n)
			return 0;
		return walk(p, at + 1, cJSON_GetArrayItem(v, (int)idx), out);
	}
	case JP_WILDCARD: {
		if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
			return 0;
		const cJSON *child;
		cJSON_ArrayForEach(child, v)
		{
			int r = walk(p, at + 1, child, out);
			if (r < 0)
				return r;
		}
		return 0;
	}
	}
	return 0;
}

int jp_eval(const struct jp_path *p, const cJSON *root, struct jp_matches *out)
{
	struct jp_matches m = {0};
	int r = root ? walk(p, 0, root, &m) : 0;
	if (r < 0) {
		jp_matches_fini(&m);
		return r;
	}
	*out = m;
	return 0;
}

void jp_matches_fini(struct jp_matches *m)
{
	free(m->items);
	m->items = NULL;
	m->n = 0;
}
