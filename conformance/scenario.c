/* SPDX-License-Identifier: MIT */
/*
 * Scenario loading and validation; see scenario.h. Validation happens once, here: the runner
 * trusts every struct it is given. Each parse function takes the key path of the object it
 * reads ("steps[2].request") so that an error names the exact place, and every object's keys
 * are checked against a closed list before any of them is read.
 */
#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonpath.h"
#include "predicate.h"
#include "spjson.h"
#include "vars.h"

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define WHERE_MAX 256

/* snprintf that truncates silently: key paths are for messages only. */
__attribute__((format(printf, 3, 4))) static void bprintf(char *buf, size_t len, const char *fmt,
							  ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

struct pctx {
	const char *file;
	struct sp_err *err;
};

__attribute__((format(printf, 3, 4))) static int fail(struct pctx *c, const char *where,
						      const char *fmt, ...)
{
	char reason[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (where && where[0])
		return sp_err_set(c->err, -EINVAL, "%s: %s: %s", c->file, where, reason);
	return sp_err_set(c->err, -EINVAL, "%s: %s", c->file, reason);
}

static void sub(char *out, const char *where, const char *key)
{
	bprintf(out, WHERE_MAX, "%s%s%s", where, where[0] ? "." : "", key);
}

static int check_keys(struct pctx *c, const cJSON *obj, const char *where,
		      const char *const *allowed)
{
	if (!cJSON_IsObject(obj))
		return fail(c, where, "expected an object");
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, m->string) == 0;
		if (ok)
			continue;
		char list[200] = "";
		size_t used = 0;
		for (const char *const *a = allowed; *a && used < sizeof(list); a++) {
			int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
					 *a);
			used += w > 0 ? (size_t)w : 0;
		}
		return fail(c, where, "unknown key \"%s\" (expected one of: %s)", m->string, list);
	}
	return 0;
}

static int template_ok(struct pctx *c, const char *where, const char *s)
{
	struct sp_err e = {0};
	if (vars_check(s, &e) < 0)
		return fail(c, where, "%s", e.msg);
	return 0;
}

static int templates_in_json(struct pctx *c, const char *where, const cJSON *v)
{
	if (cJSON_IsString(v))
		return template_ok(c, where, v->valuestring);
	const cJSON *m;
	cJSON_ArrayForEach(m, v)
	{
		int r = templates_in_json(c, where, m);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads an optional string member (a template when |tmpl|); *out stays NULL when absent. */
static int opt_string(struct pctx *c, const cJSON *obj, const char *where, const char *key,
		      bool tmpl, const char **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!m)
		return 0;
	char w[WHERE_MAX];
	sub(w, where, key);
	if (!cJSON_IsString(m))
		return fail(c, w, "expected a string");
	if (tmpl) {
		int r = template_ok(c, w, m->valuestring);
		if (r < 0)
			return r;
	}
	*out = m->valuestring;
	return 0;
}

static int req_string(struct pctx *c, const cJSON *obj, const char *where, const char *key,
		      bool tmpl, const char **out)
{
	if (!cJSON_GetObjectItemCaseSensitive(obj, key))
		return fail(c, where, "missing required key \"%s\"", key);
	return opt_string(c, obj, where, key, tmpl, out);
}

static int opt_bool(struct pctx *c, const cJSON *obj, const char *where, const char *key, bool *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!m)
		return 0;
	if (!cJSON_IsBool(m)) {
		char w[WHERE_MAX];
		sub(w, where, key);
		return fail(c, w, "expected true or false");
	}
	*out = cJSON_IsTrue(m);
	return 0;
}

static int opt_int(struct pctx *c, const cJSON *obj, const char *where, const char *key, double lo,
		   double hi, double *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!m)
		return 0;
	char w[WHERE_MAX];
	sub(w, where, key);
	if (!cJSON_IsNumber(m) || m->valuedouble != floor(m->valuedouble) || m->valuedouble < lo ||
	    m->valuedouble > hi)
		return fail(c, w, "expected an integer from %.0f to %.0f", lo, hi);
	*out = m->valuedouble;
	return 0;
}

static int string_list(struct pctx *c, const cJSON *arr, const char *where, const char ***out,
		       size_t *n)
{
	if (!cJSON_IsArray(arr))
		return fail(c, where, "expected an array of strings");
	size_t count = (size_t)cJSON_GetArraySize(arr);
	const char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	size_t i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, arr)
	{
		if (!cJSON_IsString(m) || !m->valuestring[0]) {
			free(list);
			char w[WHERE_MAX];
			bprintf(w, sizeof(w), "%s[%zu]", where, i);
			return fail(c, w, "expected a non-empty string");
		}
		list[i++] = m->valuestring;
	}
	*out = list;
	*n = count;
	return 0;
}

static int parse_generate(struct pctx *c, const cJSON *g, const char *where,
			  struct scn_generate *out)
{
	int r = check_keys(c, g, where, KEYS("size", "pattern"));
	if (r < 0)
		return r;
	double size = -1;
	r = opt_int(c, g, where, "size", 0, (double)SCN_GENERATE_MAX, &size);
	if (r < 0)
		return r;
	if (size < 0)
		return fail(c, where, "missing required key \"size\"");
	const char *pattern = NULL;
	r = opt_string(c, g, where, "pattern", false, &pattern);
	if (r < 0)
		return r;
	if (pattern && !pattern[0])
		return fail(c, where, "pattern: must not be empty");
	out->size = (uint64_t)size;
	out->pattern = pattern ? pattern : "0123456789abcdef";
	return 0;
}

static int parse_kv_object(struct pctx *c, const cJSON *obj, const char *where, struct scn_kv **out,
			   size_t *n)
{
	if (!cJSON_IsObject(obj))
		return fail(c, where, "expected an object of strings");
	size_t count = (size_t)cJSON_GetArraySize(obj), i = 0;
	struct scn_kv *kv = calloc(count ? count : 1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		char w[WHERE_MAX];
		sub(w, where, m->string);
		int r = cJSON_IsString(m) ? 0 : fail(c, w, "expected a string");
		if (r == 0)
			r = template_ok(c, w, m->valuestring);
		if (r == 0 && !m->string[0])
			r = fail(c, where, "empty header name");
		if (r < 0) {
			free(kv);
			return r;
		}
		kv[i++] = (struct scn_kv){.name = m->string, .value = m->valuestring};
	}
	*out = kv;
	*n = count;
	return 0;
}

static int parse_query(struct pctx *c, const cJSON *arr, const char *where, struct scn_kv **out,
		       size_t *n)
{
	if (!cJSON_IsArray(arr))
		return fail(c, where, "expected an array of [name, value] pairs");
	size_t count = (size_t)cJSON_GetArraySize(arr), i = 0;
	struct scn_kv *kv = calloc(count ? count : 1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	const cJSON *pair;
	cJSON_ArrayForEach(pair, arr)
	{
		char w[WHERE_MAX];
		bprintf(w, sizeof(w), "%s[%zu]", where, i);
		const cJSON *k = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
		int r = 0;
		if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(k) ||
		    !cJSON_IsString(v))
			r = fail(c, w, "expected a [name, value] pair of strings");
		if (r == 0)
			r = template_ok(c, w, k->valuestring);
		if (r == 0)
			r = template_ok(c, w, v->valuestring);
		if (r < 0) {
			free(kv);
			return r;
		}
		kv[i++] = (struct scn_kv){.name = k->valuestring, .value = v->valuestring};
	}
	*out = kv;
	*n = count;
	return 0;
}

static int parse_part(struct pctx *c, const cJSON *p, const char *where, struct scn_part *out)
{
	int r = check_keys(c, p, where,
			   KEYS("name", "filename", "content_type", "data", "file", "generate"));
	if (r < 0)
		return r;
	struct scn_part part = {0};
	if ((r = req_string(c, p, where, "name", true, &part.name)) < 0 ||
	    (r = opt_string(c, p, where, "filename", true, &part.filename)) < 0 ||
	    (r = opt_string(c, p, where, "content_type", true, &part.content_type)) < 0)
		return r;
	int sources = 0;
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(p, "generate");
	if (cJSON_GetObjectItemCaseSensitive(p, "data")) {
		sources++;
		part.source = SCN_PART_DATA;
		r = opt_string(c, p, where, "data", true, &part.data);
	}
	if (r == 0 && cJSON_GetObjectItemCaseSensitive(p, "file")) {
		sources++;
		part.source = SCN_PART_FILE;
		r = opt_string(c, p, where, "file", false, &part.data);
	}
	if (r == 0 && g) {
		sources++;
		part.source = SCN_PART_GENERATE;
		char w[WHERE_MAX];
		sub(w, where, "generate");
		r = parse_generate(c, g, w, &part.gen);
	}
	if (r < 0)
		return r;
	if (sources > 1)
		return fail(c, where, "give at most one of \"data\", \"file\", \"generate\"");
	*out = part;
	return 0;
}

static bool valid_method(const char *m)
{
	if (!m[0])
		return false;
	for (; *m; m++)
		if (!isupper((unsigned char)*m))
			return false;
	return true;
}

static int parse_request(struct pctx *c, const cJSON *req, const char *where,
			 struct scn_request *out)
{
	int r = check_keys(c, req, where,
			   KEYS("method", "path", "url", "query", "headers", "auth", "json", "body",
				"body_base64", "body_file", "generate", "multipart", "chunked",
				"timeout_ms"));
	if (r < 0)
		return r;
	char w[WHERE_MAX];
	if ((r = req_string(c, req, where, "method", false, &out->method)) < 0)
		return r;
	if (!valid_method(out->method)) {
		sub(w, where, "method");
		return fail(c, w, "expected an upper-case HTTP method such as GET or POST");
	}
	if ((r = opt_string(c, req, where, "path", true, &out->path)) < 0 ||
	    (r = opt_string(c, req, where, "url", true, &out->url)) < 0)
		return r;
	if (!out->path == !out->url)
		return fail(c, where, "give exactly one of \"path\" and \"url\"");
	if (out->path && out->path[0] != '/' && out->path[0] != '{') {
		sub(w, where, "path");
		return fail(c, w, "must start with \"/\"");
	}
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(req, "query");
	if (q) {
		sub(w, where, "query");
		if ((r = parse_query(c, q, w, &out->query, &out->n_query)) < 0)
			return r;
	}
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(req, "headers");
	if (h) {
		sub(w, where, "headers");
		if ((r = parse_kv_object(c, h, w, &out->headers, &out->n_headers)) < 0)
			return r;
	}
	const char *auth = NULL;
	if ((r = opt_string(c, req, where, "auth", false, &auth)) < 0)
		return r;
	if (auth && strcmp(auth, "default") != 0 && strcmp(auth, "none") != 0) {
		sub(w, where, "auth");
		return fail(c, w, "expected \"default\" or \"none\"");
	}
	out->no_auth = auth && strcmp(auth, "none") == 0;
	if ((r = opt_bool(c, req, where, "chunked", &out->chunked)) < 0)
		return r;
	double timeout = 0;
	if ((r = opt_int(c, req, where, "timeout_ms", 1, 3600000, &timeout)) < 0)
		return r;
	out->timeout_ms = (long)timeout;

	static const char *const bodies[] = {"json",	  "body",     "body_base64",
					     "body_file", "generate", "multipart"};
	int n_bodies = 0;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		n_bodies += cJSON_GetObjectItemCaseSensitive(req, bodies[i]) != NULL;
	if (n_bodies > 1)
		return fail(c, where,
			    "give at most one body: json, body, body_base64, body_file, generate "
			    "or multipart");
	const cJSON *m;
	if ((m = cJSON_GetObjectItemCaseSensitive(req, "json"))) {
		out->body_kind = SCN_BODY_JSON;
		out->json = m;
		sub(w, where, "json");
		r = templates_in_json(c, w, m);
	} else if (cJSON_GetObjectItemCaseSensitive(req, "body")) {
		out->body_kind = SCN_BODY_TEXT;
		r = opt_string(c, req, where, "body", true, &out->text);
	} else if (cJSON_GetObjectItemCaseSensitive(req, "body_base64")) {
		out->body_kind = SCN_BODY_BASE64;
		r = opt_string(c, req, where, "body_base64", true, &out->text);
	} else if (cJSON_GetObjectItemCaseSensitive(req, "body_file")) {
		out->body_kind = SCN_BODY_FILE;
		r = opt_string(c, req, where, "body_file", false, &out->text);
	} else if ((m = cJSON_GetObjectItemCaseSensitive(req, "generate"))) {
		out->body_kind = SCN_BODY_GENERATE;
		sub(w, where, "generate");
		r = parse_generate(c, m, w, &out->gen);
	} else if ((m = cJSON_GetObjectItemCaseSensitive(req, "multipart"))) {
		out->body_kind = SCN_BODY_MULTIPART;
		sub(w, where, "multipart");
		if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) == 0)
			return fail(c, w, "expected a non-empty array of parts");
		out->n_parts = (size_t)cJSON_GetArraySize(m);
		out->parts = calloc(out->n_parts, sizeof(*out->parts));
		if (!out->parts)
			return -ENOMEM;
		size_t i = 0;
		const cJSON *p;
		cJSON_ArrayForEach(p, m)
		{
			char pw[WHERE_MAX];
			bprintf(pw, sizeof(pw), "%s[%zu]", w, i);
			if ((r = parse_part(c, p, pw, &out->parts[i++])) < 0)
				return r;
		}
	}
	return r;
}

static const char *const body_keys[] = {
    "equals", "matches", "contains", "not_contains", "sha256", "size", "empty", "choice", NULL};

static int parse_body_check(struct pctx *c, const cJSON *b, const char *where, bool *choice)
{
	int r = check_keys(c, b, where, body_keys);
	if (r < 0)
		return r;
	if (cJSON_GetArraySize(b) == 0)
		return fail(c, where, "no check given");
	char w[WHERE_MAX];
	const cJSON *m;
	cJSON_ArrayForEach(m, b)
	{
		sub(w, where, m->string);
		const char *k = m->string;
		if (strcmp(k, "choice") == 0 || strcmp(k, "empty") == 0) {
			if (!cJSON_IsBool(m))
				return fail(c, w, "expected true or false");
		} else if (strcmp(k, "size") == 0) {
			if (cJSON_IsObject(m)) {
				struct sp_err e = {0};
				if (pred_validate(m, w, NULL, &e) < 0)
					return fail(c, NULL, "%s", e.msg);
			} else if (!cJSON_IsNumber(m)) {
				return fail(c, w, "expected a number or predicates");
			}
		} else if (strcmp(k, "sha256") == 0) {
			if (!cJSON_IsString(m) || strlen(m->valuestring) != 64 ||
			    strspn(m->valuestring, "0123456789abcdef") != 64)
				return fail(c, w, "expected 64 lowercase hex digits");
		} else {
			if (!cJSON_IsString(m))
				return fail(c, w, "expected a string");
			if ((r = template_ok(c, w, m->valuestring)) < 0)
				return r;
			if (strcmp(k, "matches") == 0 && !strstr(m->valuestring, "{{")) {
				regex_t re;
				if (pred_regcomp(&re, m->valuestring, REG_EXTENDED | REG_NOSUB) !=
				    0)
					return fail(c, w, "bad regular expression");
				regfree(&re);
			}
		}
	}
	*choice = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "choice"));
	return 0;
}

static int parse_statuses(struct pctx *c, const cJSON *st, const char *w, struct scn_expect *out)
{
	size_t n = cJSON_IsArray(st) ? (size_t)cJSON_GetArraySize(st) : 1;
	out->statuses = calloc(n ? n : 1, sizeof(int));
	if (!out->statuses)
		return -ENOMEM;
	const cJSON *one = cJSON_IsArray(st) ? st->child : st;
	for (size_t i = 0; i < n; i++, one = one->next) {
		if (!cJSON_IsNumber(one) || one->valuedouble < 100 || one->valuedouble > 599 ||
		    one->valuedouble != floor(one->valuedouble))
			return fail(c, w, "expected an HTTP status (100-599) or a list");
		out->statuses[out->n_statuses++] = (int)one->valuedouble;
	}
	if (n == 0)
		return fail(c, w, "expected at least one status");
	return 0;
}

static int parse_header_checks(struct pctx *c, const cJSON *h, const char *w,
			       struct scn_expect *out)
{
	if (!cJSON_IsObject(h))
		return fail(c, w, "expected an object of header checks");
	out->n_headers = (size_t)cJSON_GetArraySize(h);
	out->headers = calloc(out->n_headers ? out->n_headers : 1, sizeof(*out->headers));
	if (!out->headers)
		return -ENOMEM;
	int r;
	size_t i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, h)
	{
		char hw[WHERE_MAX];
		sub(hw, w, m->string);
		struct scn_header_check *hc = &out->headers[i++];
		hc->name = m->string;
		hc->preds = m;
		if (cJSON_IsString(m)) {
			if ((r = template_ok(c, hw, m->valuestring)) < 0)
				return r;
			continue;
		}
		struct sp_err pe = {0};
		if (pred_validate(m, hw, KEYS("choice"), &pe) < 0)
			return fail(c, NULL, "%s", pe.msg);
		if ((r = templates_in_json(c, hw, m)) < 0 ||
		    (r = opt_bool(c, m, hw, "choice", &hc->choice)) < 0)
			return r;
	}
	return 0;
}

/* One element of "json": a path, predicates and how they apply to the path's matches. */
static int parse_json_check(struct pctx *c, const cJSON *a, const char *aw,
			    struct scn_json_check *jc)
{
	int r;
	if (!cJSON_IsObject(a))
		return fail(c, aw, "expected an object with \"path\" and predicates");
	if ((r = req_string(c, a, aw, "path", false, &jc->path)) < 0)
		return r;
	struct jp_path jp;
	struct sp_err pe = {0};
	if (jp_parse(jc->path, &jp, &pe) < 0) {
		char pw[WHERE_MAX];
		sub(pw, aw, "path");
		return fail(c, pw, "%s", pe.msg);
	}
	jp_path_fini(&jp);
	if (pred_validate(a, aw, KEYS("path", "match", "choice"), &pe) < 0)
		return fail(c, NULL, "%s", pe.msg);
	const char *match = NULL;
	if ((r = opt_string(c, a, aw, "match", false, &match)) < 0 ||
	    (r = opt_bool(c, a, aw, "choice", &jc->choice)) < 0 ||
	    (r = templates_in_json(c, aw, a)) < 0)
		return r;
	jc->preds = a;
	if (!match || strcmp(match, "all") == 0) {
		jc->match = SCN_MATCH_ALL;
	} else if (strcmp(match, "any") == 0) {
		jc->match = SCN_MATCH_ANY;
	} else if (strcmp(match, "none") == 0) {
		jc->match = SCN_MATCH_NONE;
	} else {
		char mw[WHERE_MAX];
		sub(mw, aw, "match");
		return fail(c, mw, "expected \"all\", \"any\" or \"none\"");
	}
	return 0;
}

static int parse_json_checks(struct pctx *c, const cJSON *j, const char *w, struct scn_expect *out)
{
	if (!cJSON_IsArray(j))
		return fail(c, w, "expected an array of assertions");
	out->n_json = (size_t)cJSON_GetArraySize(j);
	out->json = calloc(out->n_json ? out->n_json : 1, sizeof(*out->json));
	if (!out->json)
		return -ENOMEM;
	int r;
	size_t i = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, j)
	{
		char aw[WHERE_MAX];
		bprintf(aw, sizeof(aw), "%s[%zu]", w, i);
		if ((r = parse_json_check(c, a, aw, &out->json[i++])) < 0)
			return r;
	}
	return 0;
}

static int parse_expect(struct pctx *c, const cJSON *e, const char *where, struct scn_expect *out)
{
	int r = check_keys(c, e, where, KEYS("status", "status_choice", "headers", "json", "body"));
	if (r < 0)
		return r;
	out->present = true;
	char w[WHERE_MAX];
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
	if (st) {
		sub(w, where, "status");
		if ((r = parse_statuses(c, st, w, out)) < 0)
			return r;
	}
	if ((r = opt_bool(c, e, where, "status_choice", &out->status_choice)) < 0)
		return r;
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "headers");
	if (h) {
		sub(w, where, "headers");
		if ((r = parse_header_checks(c, h, w, out)) < 0)
			return r;
	}
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(e, "json");
	if (j) {
		sub(w, where, "json");
		if ((r = parse_json_checks(c, j, w, out)) < 0)
			return r;
	}
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "body");
	if (b) {
		sub(w, where, "body");
		if ((r = parse_body_check(c, b, w, &out->body_choice)) < 0)
			return r;
		out->body = b;
	}
	return 0;
}

static int parse_captures(struct pctx *c, const cJSON *cap, const char *where, struct scn_step *st)
{
	if (!cJSON_IsObject(cap))
		return fail(c, where, "expected an object of variable: source");
	st->n_captures = (size_t)cJSON_GetArraySize(cap);
	st->captures = calloc(st->n_captures ? st->n_captures : 1, sizeof(*st->captures));
	if (!st->captures)
		return -ENOMEM;
	size_t i = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, cap)
	{
		char w[WHERE_MAX];
		sub(w, where, m->string);
		struct scn_capture *cp = &st->captures[i++];
		cp->var = m->string;
		int r = check_keys(
		    c, m, w,
		    KEYS("header", "json", "body", "status", "regex", "optional", "session"));
		if (r < 0)
			return r;
		const char *name = m->string;
		bool okname = name[0] != '\0';
		for (const char *s = name; *s; s++)
			okname = okname && (isalnum((unsigned char)*s) || strchr("_-.", *s));
		if (!okname)
			return fail(c, w, "variable names are letters, digits, '_', '-' and '.'");
		int sources = 0;
		if (cJSON_GetObjectItemCaseSensitive(m, "header")) {
			sources++;
			cp->source = SCN_CAP_HEADER;
			r = opt_string(c, m, w, "header", false, &cp->arg);
		}
		if (r == 0 && cJSON_GetObjectItemCaseSensitive(m, "json")) {
			sources++;
			cp->source = SCN_CAP_JSON;
			r = opt_string(c, m, w, "json", false, &cp->arg);
			struct jp_path jp;
			struct sp_err pe = {0};
			if (r == 0 && jp_parse(cp->arg, &jp, &pe) < 0)
				return fail(c, w, "json: %s", pe.msg);
			if (r == 0)
				jp_path_fini(&jp);
		}
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "body");
		if (r == 0 && b) {
			sources++;
			cp->source = SCN_CAP_BODY;
			if (!cJSON_IsTrue(b))
				return fail(c, w, "body: expected true");
		}
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "status");
		if (r == 0 && s) {
			sources++;
			cp->source = SCN_CAP_STATUS;
			if (!cJSON_IsTrue(s))
				return fail(c, w, "status: expected true");
		}
		if (r == 0)
			r = opt_string(c, m, w, "regex", false, &cp->regex);
		if (r == 0)
			r = opt_bool(c, m, w, "optional", &cp->optional);
		if (r == 0)
			r = opt_bool(c, m, w, "session", &cp->session);
		if (r < 0)
			return r;
		if (sources != 1)
			return fail(
			    c, w, "give exactly one of \"header\", \"json\", \"body\", \"status\"");
		if (cp->regex) {
			regex_t re;
			if (pred_regcomp(&re, cp->regex, REG_EXTENDED) != 0)
				return fail(c, w, "regex: bad regular expression");
			regfree(&re);
		}
	}
	return 0;
}

static int parse_step(struct pctx *c, const cJSON *s, const char *where, struct scn_step *st)
{
	char w[WHERE_MAX];
	const char *comment = NULL;
	int r;
	if (cJSON_GetObjectItemCaseSensitive(s, "join")) {
		if ((r = check_keys(c, s, where, KEYS("join", "comment"))) < 0 ||
		    (r = req_string(c, s, where, "join", false, &st->join)) < 0 ||
		    (r = opt_string(c, s, where, "comment", false, &comment)) < 0)
			return r;
		return 0;
	}
	r = check_keys(c, s, where,
		       KEYS("name", "comment", "request", "expect", "capture", "retry", "delay_ms",
			    "background"));
	if (r < 0)
		return r;
	if ((r = opt_string(c, s, where, "name", false, &st->name)) < 0 ||
	    (r = opt_string(c, s, where, "comment", false, &comment)) < 0)
		return r;
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "request");
	if (!req)
		return fail(c, where, "missing required key \"request\" (or \"join\")");
	sub(w, where, "request");
	if ((r = parse_request(c, req, w, &st->req)) < 0)
		return r;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "expect");
	if (e) {
		sub(w, where, "expect");
		if ((r = parse_expect(c, e, w, &st->expect)) < 0)
			return r;
	}
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(s, "capture");
	if (cap) {
		sub(w, where, "capture");
		if ((r = parse_captures(c, cap, w, st)) < 0)
			return r;
	}
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(s, "retry");
	if (rt) {
		sub(w, where, "retry");
		if ((r = check_keys(c, rt, w, KEYS("max", "interval_ms", "until"))) < 0)
			return r;
		double max = 0, interval = 500;
		if ((r = opt_int(c, rt, w, "max", 1, 100000, &max)) < 0 ||
		    (r = opt_int(c, rt, w, "interval_ms", 0, 600000, &interval)) < 0)
			return r;
		if (max < 1)
			return fail(c, w, "missing required key \"max\"");
		st->has_retry = true;
		st->retry.max = (int)max;
		st->retry.interval_ms = (int)interval;
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(rt, "until");
		if (u) {
			char uw[WHERE_MAX];
			sub(uw, w, "until");
			if ((r = parse_expect(c, u, uw, &st->retry.until)) < 0)
				return r;
		} else if (!st->expect.present) {
			return fail(c, w, "a retry needs \"until\" or the step's \"expect\"");
		}
	}
	double delay = 0;
	if ((r = opt_int(c, s, where, "delay_ms", 0, 600000, &delay)) < 0)
		return r;
	st->delay_ms = (long)delay;
	if ((r = opt_bool(c, s, where, "background", &st->background)) < 0)
		return r;
	if (st->background && !st->name)
		return fail(c, where, "a background step needs a \"name\" to join it by");
	if (st->background && st->has_retry)
		return fail(c, where, "a background step cannot retry");
	return 0;
}

/* Resolves join steps to the background step they wait for; each is joined exactly once. */
static int link_joins(struct pctx *c, const char *key, struct scn_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char w[WHERE_MAX];
		bprintf(w, sizeof(w), "%s[%zu]", key, i);
		if (steps[i].background) {
			for (size_t k = 0; k < i; k++)
				if (steps[k].name && strcmp(steps[k].name, steps[i].name) == 0)
					return fail(c, w, "step name \"%s\" is used twice",
						    steps[i].name);
		}
		if (!steps[i].join)
			continue;
		bool found = false;
		for (size_t k = 0; k < i && !found; k++) {
			if (steps[k].background && strcmp(steps[k].name, steps[i].join) == 0) {
				for (size_t m = k + 1; m < i; m++)
					if (steps[m].join &&
					    strcmp(steps[m].join, steps[i].join) == 0)
						return fail(c, w, "\"%s\" is joined twice",
							    steps[i].join);
				steps[i].join_index = k;
				found = true;
			}
		}
		if (!found)
			return fail(c, w, "join: no earlier background step named \"%s\"",
				    steps[i].join);
	}
	return 0;
}

static int parse_steps(struct pctx *c, const cJSON *arr, const char *key, struct scn_step **out,
		       size_t *n, bool required)
{
	if (!arr) {
		if (required)
			return fail(c, NULL, "missing required key \"%s\"", key);
		return 0;
	}
	if (!cJSON_IsArray(arr) || (required && cJSON_GetArraySize(arr) == 0))
		return fail(c, key, "expected a%s array of steps", required ? " non-empty" : "n");
	size_t count = (size_t)cJSON_GetArraySize(arr);
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*n = count;
	size_t i = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, arr)
	{
		char w[WHERE_MAX];
		bprintf(w, sizeof(w), "%s[%zu]", key, i);
		int r = parse_step(c, s, w, &(*out)[i++]);
		if (r < 0)
			return r;
	}
	return link_joins(c, key, *out, count);
}

static int parse_provenance(struct pctx *c, const cJSON *p, struct scn *s)
{
	if (!p)
		return fail(c, NULL, "missing required key \"provenance\"");
	int r = check_keys(c, p, "provenance", KEYS("sections", "tags"));
	if (r < 0)
		return r;
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(p, "sections");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(p, "tags");
	if (!sec || !tags)
		return fail(c, "provenance", "needs both \"sections\" and \"tags\"");
	if ((r = string_list(c, sec, "provenance.sections", &s->sections, &s->n_sections)) < 0 ||
	    (r = string_list(c, tags, "provenance.tags", &s->prov_tags, &s->n_prov_tags)) < 0)
		return r;
	if (s->n_sections == 0 || s->n_prov_tags == 0)
		return fail(c, "provenance", "\"sections\" and \"tags\" must not be empty");
	for (size_t i = 0; i < s->n_prov_tags; i++) {
		const char *t = s->prov_tags[i];
		if (strcmp(t, "SPEC") && strcmp(t, "DOC") && strcmp(t, "CLIENT") &&
		    strcmp(t, "CHOICE"))
			return fail(c, "provenance.tags",
				    "unknown tag \"%s\" (expected SPEC, DOC, CLIENT or CHOICE)", t);
	}
	/* Wholly [CHOICE] only when nothing else is claimed; mixed scenarios mark their
	 * [CHOICE] assertions one by one ("choice": true). */
	s->choice = true;
	for (size_t i = 0; i < s->n_prov_tags; i++)
		s->choice = s->choice && strcmp(s->prov_tags[i], "CHOICE") == 0;
	return 0;
}

static int check_tags(struct pctx *c, const struct scn *s)
{
	for (size_t i = 0; i < s->n_tags; i++) {
		const char *t = s->tags[i];
		const char *colon = strchr(t, ':');
		char w[WHERE_MAX];
		bprintf(w, sizeof(w), "tags[%zu]", i);
		if (colon && strncmp(t, "needs:", 6) != 0 && strncmp(t, "divergence:", 11) != 0)
			return fail(c, w,
				    "\"%s\": only needs:<capability> and divergence:<target> take "
				    "a colon",
				    t);
		if (colon && !colon[1])
			return fail(c, w, "\"%s\": empty name after the colon", t);
		if (strcmp(t, "emulator-only") == 0 && scn_has_tag(s, "real-only"))
			return fail(c, "tags", "emulator-only and real-only exclude each other");
	}
	return 0;
}

static void where_of_error(const char *text, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at && *p; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Why sp_json_parse refused |text|, with the line and column where that can be told. */
static int json_error(struct pctx *c, const char *text, size_t len, enum sp_json_why why)
{
	int line, col;
	switch (why) {
	case SP_JSON_TOO_DEEP:
		return fail(c, NULL, "JSON nested more than %d levels deep", SP_JSON_DEPTH_DOC);
	case SP_JSON_TOO_LARGE:
		return fail(c, NULL, "larger than %zu MiB", SCN_FILE_MAX >> 20);
	case SP_JSON_NO_MEMORY:
		return -ENOMEM;
	case SP_JSON_OK:
	case SP_JSON_INVALID:
		break;
	}
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		where_of_error(text, nul, &line, &col);
		return fail(c, NULL, "line %d, column %d: a NUL byte", line, col);
	}
	/* The depth was checked, so cJSON may parse again to locate the error. */
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!doc) {
		where_of_error(text, end ? end : text, &line, &col);
		return fail(c, NULL, "line %d, column %d: invalid JSON", line, col);
	}
	cJSON_Delete(doc);
	while (end && (size_t)(end - text) < len && isspace((unsigned char)*end))
		end++;
	where_of_error(text, end ? end : text, &line, &col);
	return fail(c, NULL, "line %d, column %d: text after the JSON object", line, col);
}

int scn_parse(const char *text, size_t len, const char *file, const char *id, struct scn **out,
	      struct sp_err *err)
{
	struct pctx c = {.file = file, .err = err};
	struct scn *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int r = 0;
	s->id = strdup(id);
	s->file = strdup(file);
	if (!s->id || !s->file) {
		r = -ENOMEM;
		goto out;
	}
	/* Bounded in size and depth before cJSON sees it (cJSON recurses). */
	enum sp_json_why why;
	s->doc = sp_json_parse(text, len, SCN_FILE_MAX, SP_JSON_DEPTH_DOC, &why);
	if (!s->doc) {
		r = json_error(&c, text, len, why);
		goto out;
	}
	const cJSON *d = s->doc;
	if ((r = check_keys(&c, d, "",
			    KEYS("name", "description", "provenance", "since", "tags", "vars",
				 "steps", "cleanup", "comment"))) < 0)
		goto out;
	const char *comment = NULL;
	if ((r = opt_string(&c, d, "", "name", false, &s->name)) < 0 ||
	    (r = req_string(&c, d, "", "description", false, &s->description)) < 0 ||
	    (r = opt_string(&c, d, "", "since", false, &s->since)) < 0 ||
	    (r = opt_string(&c, d, "", "comment", false, &comment)) < 0)
		goto out;
	if (!s->description[0]) {
		r = fail(&c, "description", "must say what MUST hold");
		goto out;
	}
	if (!s->name)
		s->name = s->id;
	if ((r = parse_provenance(&c, cJSON_GetObjectItemCaseSensitive(d, "provenance"), s)) < 0)
		goto out;
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(d, "tags");
	if (tags && (r = string_list(&c, tags, "tags", &s->tags, &s->n_tags)) < 0)
		goto out;
	if ((r = check_tags(&c, s)) < 0)
		goto out;
	s->vars = cJSON_GetObjectItemCaseSensitive(d, "vars");
	if (s->vars && !cJSON_IsObject(s->vars)) {
		r = fail(&c, "vars", "expected an object");
		goto out;
	}
	if (s->vars && (r = templates_in_json(&c, "vars", s->vars)) < 0)
		goto out;
	if ((r = parse_steps(&c, cJSON_GetObjectItemCaseSensitive(d, "steps"), "steps", &s->steps,
			     &s->n_steps, true)) < 0 ||
	    (r = parse_steps(&c, cJSON_GetObjectItemCaseSensitive(d, "cleanup"), "cleanup",
			     &s->cleanup, &s->n_cleanup, false)) < 0)
		goto out;
out:
	if (r < 0) {
		scn_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int scn_load(const char *file, const char *id, struct scn **out, struct sp_err *err)
{
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sp_err_sys(err, -errno, "%s: cannot open", file);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_err_sys(err, -errno, "%s: cannot stat", file);
	if ((uint64_t)st.st_size > SCN_FILE_MAX)
		return sp_err_set(err, -EFBIG, "%s: larger than %zu MiB", file, SCN_FILE_MAX >> 20);
	size_t len = (size_t)st.st_size;
	cleanup_free char *text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	size_t got = 0;
	while (got < len) {
		ssize_t n = TEMP_FAILURE_RETRY_INT(read(fd, text + got, len - got));
		if (n < 0)
			return sp_err_sys(err, -errno, "%s: cannot read", file);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	return scn_parse(text, got, file, id, out, err);
}

static void free_expect(struct scn_expect *e)
{
	free(e->statuses);
	free(e->headers);
	free(e->json);
}

static void free_steps(struct scn_step *steps, size_t n)
{
	for (size_t i = 0; steps && i < n; i++) {
		struct scn_step *st = &steps[i];
		free(st->req.query);
		free(st->req.headers);
		free(st->req.parts);
		free_expect(&st->expect);
		free_expect(&st->retry.until);
		free(st->captures);
	}
	free(steps);
}

void scn_free(struct scn *s)
{
	if (!s)
		return;
	free_steps(s->steps, s->n_steps);
	free_steps(s->cleanup, s->n_cleanup);
	free(s->tags);
	free(s->sections);
	free(s->prov_tags);
	cJSON_Delete(s->doc);
	free(s->id);
	free(s->file);
	free(s);
}

bool scn_has_tag(const struct scn *s, const char *tag)
{
	for (size_t i = 0; i < s->n_tags; i++)
		if (strcmp(s->tags[i], tag) == 0)
			return true;
	return false;
}
