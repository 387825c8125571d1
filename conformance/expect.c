/* SPDX-License-Identifier: MIT */
/*
 * Expectations and captures; see expect.h. Messages quote at most 300 bytes of a body, with
 * control characters escaped, so a binary or huge response cannot flood the TAP output.
 */
#include "expect.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jsonpath.h"
#include "predicate.h"
#include "run.h"
#include "teardown.h"
#include "vars.h"

void findings_fini(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].where);
		free(f->v[i].text);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

void expect_find(struct findings *f, bool choice, const char *where, const char *fmt, ...)
{
	struct finding *grown = realloc(f->v, (f->n + 1) * sizeof(*grown));
	if (!grown)
		return;
	f->v = grown;
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	f->v[f->n++] = (struct finding){.choice = choice, .where = strdup(where), .text = text};
}

/* Responses nest a value a session returned, so the document depth applies. */
cJSON *expect_body_json(const struct http_response *resp, enum sp_json_why *why)
{
	return sp_json_parse(resp->body ? resp->body : "", resp->body_len, HTTP_BODY_KEEP,
			     SP_JSON_DEPTH_DOC, why);
}

static char *excerpt(const struct http_response *resp, size_t max)
{
	size_t len = resp->body_len < max ? resp->body_len : max;
	char *out = malloc(len * 4 + 8);
	if (!out)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)resp->body[i];
		if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)sprintf(out + n, "\\x%02x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	if (resp->body_len > max)
		n += (size_t)sprintf(out + n, "\xe2\x80\xa6");
	out[n] = '\0';
	return out;
}

/* A multi-valued path ([*]) under "match": any, none, or all (the default). */
static void check_json_multi(const struct scn_json_check *jc, const cJSON *preds,
			     const struct jp_matches *m, struct findings *f)
{
	char why[512] = "";
	if (jc->match == SCN_MATCH_ALL) {
		if (m->n == 0 && !pred_check(preds, NULL, PRED_JSON, why, sizeof(why)))
			expect_find(f, jc->choice, jc->path, "no value matched (%s)", why);
		for (size_t i = 0; i < m->n; i++) {
			if (!pred_check(preds, m->items[i], PRED_JSON, why, sizeof(why))) {
				expect_find(f, jc->choice, jc->path, "item %zu: %s", i, why);
				break;
			}
		}
		return;
	}
	size_t hits = 0;
	for (size_t i = 0; i < m->n; i++)
		hits += pred_check(preds, m->items[i], PRED_JSON, why, sizeof(why));
	if (jc->match == SCN_MATCH_ANY && hits == 0) {
		cleanup_free char *want = pred_describe(preds, 200);
		expect_find(f, jc->choice, jc->path, "none of %zu value(s) satisfies %s", m->n,
			    want ? want : "");
	} else if (jc->match == SCN_MATCH_NONE && hits > 0) {
		cleanup_free char *want = pred_describe(preds, 200);
		expect_find(f, jc->choice, jc->path, "%zu value(s) satisfy %s, expected none", hits,
			    want ? want : "");
	}
}

static int check_json(struct run *r, const struct scn_json_check *jc, const cJSON *doc,
		      struct findings *f)
{
	cleanup_cjson cJSON *preds = NULL;
	int rc = run_expand_json(r, jc->preds, &preds);
	if (rc < 0)
		return rc;
	struct jp_path path;
	if ((rc = jp_parse(jc->path, &path, NULL)) < 0)
		return rc;
	struct jp_matches m = {0};
	rc = jp_eval(&path, doc, &m);
	bool multi = jp_path_is_multi(&path);
	jp_path_fini(&path);
	if (rc < 0)
		return rc;
	char why[512] = "";
	if (multi || jc->match != SCN_MATCH_ALL)
		check_json_multi(jc, preds, &m, f);
	else if (!pred_check(preds, m.n ? m.items[0] : NULL, PRED_JSON, why, sizeof(why)))
		expect_find(f, jc->choice, jc->path, "%s", why);
	jp_matches_fini(&m);
	return 0;
}

/* One member of a body check: "equals", "matches", "contains", "sha256", "size", "empty". */
struct body_ctx {
	const struct http_response *resp;
	const char *body; /* never NULL */
	bool choice;
	struct findings *f;
};

static void body_equals(const struct body_ctx *c, const cJSON *m)
{
	size_t want = strlen(m->valuestring);
	if (c->resp->body_size == want && memcmp(c->body, m->valuestring, want) == 0)
		return;
	cleanup_free char *got = excerpt(c->resp, 300);
	cleanup_cjson cJSON *ws = cJSON_CreateString(m->valuestring);
	cleanup_free char *wt = pred_describe(ws, 300);
	expect_find(c->f, c->choice, "body", "expected exactly %s, got \"%s\"", wt ? wt : "",
		    got ? got : "");
}

static void body_matches(const struct body_ctx *c, const cJSON *m)
{
	regex_t re;
	if (pred_regcomp(&re, m->valuestring, REG_EXTENDED | REG_NOSUB) != 0) {
		expect_find(c->f, c->choice, "body", "bad regular expression /%s/", m->valuestring);
		return;
	}
	int hit = regexec(&re, c->body, 0, NULL, 0);
	regfree(&re);
	if (hit != 0) {
		cleanup_free char *got = excerpt(c->resp, 300);
		expect_find(c->f, c->choice, "body", "expected a match for /%s/, got \"%s\"",
			    m->valuestring, got ? got : "");
	}
}

static void body_contains(const struct body_ctx *c, const cJSON *m)
{
	bool want = m->string[0] == 'c';
	bool has =
	    memmem(c->body, c->resp->body_len, m->valuestring, strlen(m->valuestring)) != NULL;
	if (has == want)
		return;
	cleanup_free char *got = excerpt(c->resp, 300);
	expect_find(c->f, c->choice, "body", "expected %s \"%s\", got \"%s\"",
		    want ? "to contain" : "not to contain", m->valuestring, got ? got : "");
}

static void body_sha256(const struct body_ctx *c, const cJSON *m)
{
	if (strcmp(c->resp->sha256, m->valuestring) != 0)
		expect_find(c->f, c->choice, "body", "expected sha256 %s, got %s (%llu bytes)",
			    m->valuestring, c->resp->sha256,
			    (unsigned long long)c->resp->body_size);
}

static void body_size(const struct body_ctx *c, const cJSON *m)
{
	unsigned long long size = (unsigned long long)c->resp->body_size;
	if (cJSON_IsNumber(m)) {
		if ((double)c->resp->body_size != m->valuedouble)
			expect_find(c->f, c->choice, "body", "expected %.0f bytes, got %llu",
				    m->valuedouble, size);
		return;
	}
	cleanup_cjson cJSON *n = cJSON_CreateNumber((double)c->resp->body_size);
	char why[300];
	if (!pred_check(m, n, PRED_JSON, why, sizeof(why)))
		expect_find(c->f, c->choice, "body", "size: %s", why);
}

static void body_empty(const struct body_ctx *c, const cJSON *m)
{
	if ((c->resp->body_size == 0) != cJSON_IsTrue(m))
		expect_find(c->f, c->choice, "body", "expected %s body, got %llu bytes",
			    cJSON_IsTrue(m) ? "an empty" : "a non-empty",
			    (unsigned long long)c->resp->body_size);
}

static const struct {
	const char *key;
	void (*check)(const struct body_ctx *c, const cJSON *m);
} body_checks[] = {
    {"equals", body_equals},	     {"matches", body_matches}, {"contains", body_contains},
    {"not_contains", body_contains}, {"sha256", body_sha256},	{"size", body_size},
    {"empty", body_empty},
};

static int check_body(struct run *r, const cJSON *spec, bool choice,
		      const struct http_response *resp, struct findings *f)
{
	cleanup_cjson cJSON *b = NULL;
	int rc = run_expand_json(r, spec, &b);
	if (rc < 0)
		return rc;
	struct body_ctx c = {
	    .resp = resp, .body = resp->body ? resp->body : "", .choice = choice, .f = f};
	const cJSON *m;
	cJSON_ArrayForEach(m, b)
	{
		for (size_t i = 0; i < sizeof(body_checks) / sizeof(body_checks[0]); i++) {
			if (strcmp(m->string, body_checks[i].key) == 0) {
				body_checks[i].check(&c, m);
				break;
			}
		}
	}
	return 0;
}

static void check_status(const struct scn_expect *e, const struct http_response *resp,
			 struct findings *f)
{
	for (size_t i = 0; i < e->n_statuses; i++)
		if (resp->status == e->statuses[i])
			return;
	char want[64] = "";
	size_t used = 0;
	for (size_t i = 0; i < e->n_statuses && used < sizeof(want); i++) {
		int w = snprintf(want + used, sizeof(want) - used, "%s%d", i ? " or " : "",
				 e->statuses[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	cleanup_free char *body = excerpt(resp, 300);
	expect_find(f, e->status_choice, "status", "expected %s, got %ld (body: %s)", want,
		    resp->status, body ? body : "");
}

static int check_header(struct run *r, const struct scn_header_check *hc,
			const struct http_response *resp, struct findings *f)
{
	cleanup_cjson cJSON *preds = NULL;
	int rc = run_expand_json(r, hc->preds, &preds);
	if (rc < 0)
		return rc;
	if (cJSON_IsString(preds)) {
		cJSON *obj = cJSON_CreateObject();
		if (!obj || !cJSON_AddItemToObject(obj, "equals", preds)) {
			cJSON_Delete(obj);
			return -ENOMEM;
		}
		preds = obj;
	}
	const char *v = http_response_header(resp, hc->name);
	cleanup_cjson cJSON *actual = v ? cJSON_CreateString(v) : NULL;
	char why[512];
	char where[160];
	snprintf(where, sizeof(where), "header %s", hc->name);
	if (!pred_check(preds, actual, PRED_TEXT, why, sizeof(why)))
		expect_find(f, hc->choice, where, "%s", why);
	return 0;
}

/* The JSON assertions; a body that is not usable JSON is one finding for all of them. */
static int check_json_list(struct run *r, const struct scn_expect *e,
			   const struct http_response *resp, struct findings *f)
{
	enum sp_json_why why;
	cleanup_cjson cJSON *doc = expect_body_json(resp, &why);
	if (doc) {
		for (size_t i = 0; i < e->n_json; i++) {
			int rc = check_json(r, &e->json[i], doc, f);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	cleanup_free char *body = excerpt(resp, 300);
	bool all_choice = true;
	for (size_t i = 0; i < e->n_json; i++)
		all_choice = all_choice && e->json[i].choice;
	if (why == SP_JSON_INVALID)
		expect_find(f, all_choice, "json", "the body is not JSON: \"%s\"",
			    body ? body : "");
	else
		expect_find(f, all_choice, "json", "the body is not usable JSON (%s): \"%s\"",
			    sp_json_why_text(why), body ? body : "");
	return 0;
}

int expect_eval(struct run *r, const struct scn_expect *e, const struct http_response *resp,
		struct findings *f)
{
	int rc = 0;
	if (e->n_statuses)
		check_status(e, resp, f);
	for (size_t i = 0; i < e->n_headers; i++)
		if ((rc = check_header(r, &e->headers[i], resp, f)) < 0)
			return rc;
	if (e->n_json && (rc = check_json_list(r, e, resp, f)) < 0)
		return rc;
	if (e->body && (rc = check_body(r, e->body, e->body_choice, resp, f)) < 0)
		return rc;
	return 0;
}

/* The raw value a capture takes from |resp| (caller deletes), or NULL. */
static cJSON *capture_source(const struct scn_capture *c, const struct http_response *resp)
{
	switch (c->source) {
	case SCN_CAP_HEADER: {
		const char *v = http_response_header(resp, c->arg);
		return v ? cJSON_CreateString(v) : NULL;
	}
	case SCN_CAP_JSON: {
		cleanup_cjson cJSON *doc = expect_body_json(resp, NULL);
		struct jp_path p;
		struct jp_matches m = {0};
		cJSON *value = NULL;
		if (doc && jp_parse(c->arg, &p, NULL) == 0) {
			if (jp_eval(&p, doc, &m) == 0 && m.n)
				value = cJSON_Duplicate(m.items[0], true);
			jp_matches_fini(&m);
			jp_path_fini(&p);
		}
		return value;
	}
	case SCN_CAP_BODY:
		return cJSON_CreateString(resp->body ? resp->body : "");
	case SCN_CAP_STATUS:
		return cJSON_CreateNumber((double)resp->status);
	}
	return NULL;
}

/* The part of |value| (taken over) that |regex| matches: group 1, else the whole match. */
static cJSON *capture_regex(cJSON *value, const char *regex)
{
	cleanup_free char *text =
	    cJSON_IsString(value) ? strdup(value->valuestring) : cJSON_PrintUnformatted(value);
	cJSON_Delete(value);
	regex_t re;
	regmatch_t mt[2];
	if (!text || pred_regcomp(&re, regex, REG_EXTENDED) != 0)
		return NULL;
	cJSON *out = NULL;
	if (regexec(&re, text, 2, mt, 0) == 0) {
		int g = mt[1].rm_so >= 0 ? 1 : 0;
		cleanup_free char *part =
		    strndup(text + mt[g].rm_so, (size_t)(mt[g].rm_eo - mt[g].rm_so));
		out = part ? cJSON_CreateString(part) : NULL;
	}
	regfree(&re);
	return out;
}

static int capture(struct run *r, const struct scn_capture *c, const struct http_response *resp,
		   struct findings *f)
{
	cleanup_cjson cJSON *value = capture_source(c, resp);
	if (value && c->regex)
		value = capture_regex(steal_pointer(&value), c->regex);
	if (!value) {
		char where[160];
		snprintf(where, sizeof(where), "capture %s", c->var);
		if (!c->optional)
			expect_find(f, false, where, "no value to capture");
		return 0;
	}
	if (c->session) {
		if (!cJSON_IsString(value) || !value->valuestring[0]) {
			char where[160];
			snprintf(where, sizeof(where), "capture %s", c->var);
			expect_find(f, false, where,
				    "a session identifier must be a non-empty string");
			return 0;
		}
		if (teardown_track_id(&r->sessions, value->valuestring) < 0) {
			run_error(r, "out of memory");
			return -ENOMEM;
		}
	}
	return vars_set(r->vars, c->var, value);
}

static void apply_findings(struct run *r, struct findings *f, const char *label)
{
	for (size_t i = 0; i < f->n; i++) {
		char where[512];
		snprintf(where, sizeof(where), "%s: %s", label, f->v[i].where);
		run_failure(r, run_is_soft(r, f->v[i].choice), where, f->v[i].text);
	}
}

int expect_conclude(struct run *r, const struct scn_step *st, const char *label,
		    const struct http_response *resp, bool cleanup_phase, struct findings *f)
{
	int rc = 0;
	if (st->expect.present && (rc = expect_eval(r, &st->expect, resp, f)) < 0)
		goto out;
	for (size_t i = 0; i < st->n_captures; i++)
		if ((rc = capture(r, &st->captures[i], resp, f)) < 0)
			goto out;
	if (cleanup_phase) {
		run_note(r, "%s: status %ld", label, resp->status);
		for (size_t i = 0; i < f->n; i++)
			run_note(r, "warning: %s: %s: %s", label, f->v[i].where, f->v[i].text);
	} else {
		int before = r->hard;
		apply_findings(r, f, label);
		rc = r->hard > before ? 1 : 0;
	}
out:
	findings_fini(f);
	return rc;
}
