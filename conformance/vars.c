/* SPDX-License-Identifier: MIT */
/*
 * Variable scopes and template expansion; see vars.h. A scope is a small array: scenarios bind
 * a handful of names, so a linear search is both simplest and fastest. Expansion builds its
 * output with open_memstream so there is no length arithmetic to get wrong.
 */
#include "vars.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "b64.h"
#include "cleanup.h"
#include "guid.h"
#include "pct.h"

struct binding {
	char *name;
	cJSON *value;
};

struct vars {
	const struct vars *parent; /* not owned */
	struct binding *b;
	size_t n;
};

struct vars *vars_new(const struct vars *parent)
{
	struct vars *v = calloc(1, sizeof(*v));
	if (v)
		v->parent = parent;
	return v;
}

void vars_free(struct vars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->b[i].name);
		cJSON_Delete(v->b[i].value);
	}
	free(v->b);
	free(v);
}

int vars_set(struct vars *v, const char *name, const cJSON *value)
{
	cJSON *copy = cJSON_Duplicate(value, true);
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->b[i].name, name) == 0) {
			cJSON_Delete(v->b[i].value);
			v->b[i].value = copy;
			return 0;
		}
	}
	struct binding *grown = realloc(v->b, (v->n + 1) * sizeof(*grown));
	char *n = strdup(name);
	if (!grown || !n) {
		if (grown)
			v->b = grown;
		free(n);
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	v->b = grown;
	v->b[v->n++] = (struct binding){.name = n, .value = copy};
	return 0;
}

int vars_set_str(struct vars *v, const char *name, const char *value)
{
	cleanup_cjson cJSON *s = cJSON_CreateString(value);
	if (!s)
		return -ENOMEM;
	return vars_set(v, name, s);
}

const cJSON *vars_get(const struct vars *v, const char *name)
{
	for (; v; v = v->parent)
		for (size_t i = 0; i < v->n; i++)
			if (strcmp(v->b[i].name, name) == 0)
				return v->b[i].value;
	return NULL;
}

void vars_uuid(char out[37])
{
	sp_guid(out);
}

/* A parsed {{…}} expression: a literal or a name, plus filters. */
struct expr {
	char *literal; /* owned; set for {{"…"}} */
	char *name;    /* owned */
	char **filters;
	size_t n_filters;
};

static void expr_fini(struct expr *e)
{
	free(e->literal);
	free(e->name);
	for (size_t i = 0; i < e->n_filters; i++)
		free(e->filters[i]);
	free(e->filters);
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static const char *const filter_names[] = {"url", "url_path", "base64", "json", "lower", "upper"};

static bool known_filter(const char *f)
{
	for (size_t i = 0; i < sizeof(filter_names) / sizeof(filter_names[0]); i++)
		if (strcmp(f, filter_names[i]) == 0)
			return true;
	return false;
}

static void skip_spaces(const char **s, const char *end)
{
	while (*s < end && (**s == ' ' || **s == '\t'))
		(*s)++;
}

/* Parses the text between "{{" and "}}" ([s, end)). */
static int parse_expr(const char *s, const char *end, struct expr *e, struct sp_err *err)
{
	*e = (struct expr){0};
	skip_spaces(&s, end);
	if (s < end && *s == '"') {
		cleanup_free char *lit = malloc((size_t)(end - s));
		if (!lit)
			return -ENOMEM;
		size_t n = 0;
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			lit[n++] = *s;
		}
		if (s >= end)
			return sp_err_set(err, -EINVAL, "unterminated literal in template");
		lit[n] = '\0';
		s++;
		skip_spaces(&s, end);
		if (s != end)
			return sp_err_set(err, -EINVAL, "unexpected text after a template literal");
		e->literal = steal_pointer(&lit);
		return 0;
	}
	const char *start = s;
	while (s < end && name_char(*s))
		s++;
	if (s == start)
		return sp_err_set(err, -EINVAL, "empty or invalid variable name in template");
	e->name = strndup(start, (size_t)(s - start));
	if (!e->name)
		return -ENOMEM;
	skip_spaces(&s, end);
	while (s < end && *s == '|') {
		s++;
		skip_spaces(&s, end);
		start = s;
		while (s < end && name_char(*s))
			s++;
		cleanup_free char *f = strndup(start, (size_t)(s - start));
		if (!f)
			return -ENOMEM;
		if (!known_filter(f))
			return sp_err_set(err, -EINVAL,
					  "unknown template filter \"%s\" (url, url_path, base64, "
					  "json, lower, upper)",
					  f);
		char **grown = realloc(e->filters, (e->n_filters + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		e->filters = grown;
		e->filters[e->n_filters++] = steal_pointer(&f);
		skip_spaces(&s, end);
	}
	if (s != end)
		return sp_err_set(err, -EINVAL, "unexpected '%c' in template {{%.*s}}", *s,
				  (int)(end - start), start);
	return 0;
}

/* Finds the next "{{" at or after |s|; sets *close to its "}}". Returns NULL when none. */
static const char *next_open(const char *s, const char **close, int *bad)
{
	const char *open = strstr(s, "{{");
	*bad = 0;
	if (!open)
		return NULL;
	/* Skip a literal's quoted text, which may contain "}}". */
	const char *p = open + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++)
			if (*p == '\\' && p[1])
				p++;
		if (!*p) {
			*bad = 1;
			return open;
		}
	}
	*close = strstr(p, "}}");
	if (!*close)
		*bad = 1;
	return open;
}

int vars_check(const char *tmpl, struct sp_err *err)
{
	const char *s = tmpl;
	for (;;) {
		const char *close = NULL;
		int bad;
		const char *open = next_open(s, &close, &bad);
		if (!open)
			return 0;
		if (bad)
			return sp_err_set(err, -EINVAL, "unterminated \"{{\" in template");
		struct expr e;
		int r = parse_expr(open + 2, close, &e, err);
		expr_fini(&e);
		if (r < 0)
			return r;
		s = close + 2;
	}
}

static char *value_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	return cJSON_PrintUnformatted(v);
}

static void put_url(FILE *f, const char *s, bool keep_slash)
{
	cleanup_free char *e = sp_pct_encode(s, keep_slash ? "/" : NULL);
	if (e)
		fputs(e, f);
}

static void put_base64(FILE *f, const char *s)
{
	char chunk[257]; /* 48 quanta: padding only ever at the end */
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i += 192) {
		size_t n = len - i < 192 ? len - i : 192;
		sp_b64_encode(s + i, n, SP_B64_PAD, chunk);
		fputs(chunk, f);
	}
}

static void put_json(FILE *f, const char *s)
{
	cleanup_cjson cJSON *str = cJSON_CreateString(s);
	cleanup_free char *txt = str ? cJSON_PrintUnformatted(str) : NULL;
	if (txt) {
		size_t len = strlen(txt);
		fwrite(txt + 1, 1, len - 2, f); /* drop the quotes */
	}
}

static int apply_filter(const char *filter, char **text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (strcmp(filter, "url") == 0)
		put_url(f, *text, false);
	else if (strcmp(filter, "url_path") == 0)
		put_url(f, *text, true);
	else if (strcmp(filter, "base64") == 0)
		put_base64(f, *text);
	else if (strcmp(filter, "json") == 0)
		put_json(f, *text);
	else
		for (const char *s = *text; *s; s++)
			fputc(filter[0] == 'l' ? tolower((unsigned char)*s)
					       : toupper((unsigned char)*s),
			      f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	free(*text);
	*text = buf;
	return 0;
}

static int eval_expr(const struct vars *v, const struct expr *e, char **out, struct sp_err *err)
{
	cleanup_free char *text = NULL;
	if (e->literal) {
		text = strdup(e->literal);
	} else {
		const cJSON *val = vars_get(v, e->name);
		if (val) {
			text = value_text(val);
		} else if (strcmp(e->name, "uuid") == 0) {
			text = malloc(37);
			if (text)
				vars_uuid(text);
		} else {
			return sp_err_set(err, -ENOENT, "undefined variable \"%s\"", e->name);
		}
	}
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_filters; i++) {
		int r = apply_filter(e->filters[i], &text);
		if (r < 0)
			return r;
	}
	*out = steal_pointer(&text);
	return 0;
}

int vars_expand(const struct vars *v, const char *tmpl, char **out, struct sp_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	const char *s = tmpl;
	int r = 0;
	for (;;) {
		const char *close = NULL;
		int bad;
		const char *open = next_open(s, &close, &bad);
		if (!open) {
			fputs(s, f);
			break;
		}
		if (bad) {
			r = sp_err_set(err, -EINVAL, "unterminated \"{{\" in template");
			break;
		}
		fwrite(s, 1, (size_t)(open - s), f);
		struct expr e;
		r = parse_expr(open + 2, close, &e, err);
		cleanup_free char *val = NULL;
		if (r == 0)
			r = eval_expr(v, &e, &val, err);
		expr_fini(&e);
		if (r < 0)
			break;
		fputs(val, f);
		s = close + 2;
	}
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}

/* When |s| is exactly one {{name…}} without filters, returns the bound JSON value. */
static const cJSON *whole_var(const struct vars *v, const char *s)
{
	size_t len = strlen(s);
	if (len < 5 || strncmp(s, "{{", 2) != 0 || strcmp(s + len - 2, "}}") != 0)
		return NULL;
	if (strstr(s + 2, "{{") || strstr(s + 2, "}}") != s + len - 2)
		return NULL;
	struct expr e;
	struct sp_err ignored;
	const cJSON *val = NULL;
	if (parse_expr(s + 2, s + len - 2, &e, &ignored) == 0 && e.name && e.n_filters == 0)
		val = vars_get(v, e.name);
	expr_fini(&e);
	return val;
}

static int expand_node(const struct vars *v, cJSON *node, struct sp_err *err)
{
	for (cJSON *c = node->child; c; c = c->next) {
		if (cJSON_IsString(c) && strstr(c->valuestring, "{{")) {
			const cJSON *whole = whole_var(v, c->valuestring);
			cJSON *repl;
			if (whole) {
				repl = cJSON_Duplicate(whole, true);
			} else {
				char *text = NULL;
				int r = vars_expand(v, c->valuestring, &text, err);
				if (r < 0)
					return r;
				repl = cJSON_CreateString(text);
				free(text);
			}
			if (!repl)
				return -ENOMEM;
			/* A duplicate keeps its source's member name; ReplaceItemViaPointer sets
			 * none (default hooks: malloc/free). */
			free(repl->string);
			repl->string = NULL;
			if (c->string) {
				repl->string = strdup(c->string);
				if (!repl->string) {
					cJSON_Delete(repl);
					return -ENOMEM;
				}
			}
			cJSON_ReplaceItemViaPointer(node, c, repl);
			c = repl;
		} else if (cJSON_IsArray(c) || cJSON_IsObject(c)) {
			int r = expand_node(v, c, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int vars_expand_json(const struct vars *v, const cJSON *in, cJSON **out, struct sp_err *err)
{
	/* Wrap so the root itself can be a replaceable string. */
	cleanup_cjson cJSON *holder = cJSON_CreateArray();
	cJSON *copy = cJSON_Duplicate(in, true);
	if (!holder || !copy) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	cJSON_AddItemToArray(holder, copy);
	int r = expand_node(v, holder, err);
	if (r < 0)
		return r;
	*out = cJSON_DetachItemFromArray(holder, 0);
	return 0;
}
