/* SPDX-License-Identifier: MIT */
/*
 * One scenario on one target; see runner.h. A struct run carries the state of a scenario
 * while it runs: its variable scope, the HTTP client, the failures found so far and the
 * session identifiers to delete at the end. Hard failures stop the steps (hurl's rule);
 * recorded differences do not, so a run against a real pool captures as much as it can.
 */
#include "runner.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "cleanup.h"
#include "jsonpath.h"
#include "pct.h"
#include "predicate.h"
#include "record.h"
#include "redact.h"
#include "spjson.h"
#include "vars.h"

struct run {
	const struct scn *s;
	struct target *t;
	const struct run_opts *o;
	struct vars *vars;
	struct http_client *http;
	FILE *diag;
	char *diag_buf;
	size_t diag_len;
	char *first_failure;
	int hard;
	int soft;
	char *error;
	char **sessions;
	size_t n_sessions;
	unsigned seq;
};

/* A request ready to send, with everything it points to. */
struct built {
	struct http_request req;
	char *url;
	char *label; /* "POST /code/execute?…" for messages */
	char **strings;
	size_t n_strings;
	struct http_part *parts;
	char *body_note;
	char *token; /* the token put in Authorization by the runner, or NULL */
	size_t auth_index;
};

const char *res_kind_name(enum res_kind k)
{
	switch (k) {
	case RES_PASS:
		return "pass";
	case RES_FAIL:
		return "fail";
	case RES_ERROR:
		return "error";
	case RES_SKIP:
		return "skipped";
	case RES_TODO:
		return "todo";
	case RES_TODO_PASSED:
		return "todo-passed";
	case RES_RECORDED:
		return "recorded";
	}
	return "?";
}

void scn_result_fini(struct scn_result *r)
{
	free(r->summary);
	free(r->diag);
	memset(r, 0, sizeof(*r));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool aborted(const struct run *r)
{
	return r->o->abort_flag && *r->o->abort_flag;
}

/* Sleeps |ms|, waking early on Ctrl-C; returns false when interrupted. */
static bool pause_ms(const struct run *r, long ms)
{
	while (ms > 0) {
		if (aborted(r))
			return false;
		long step = ms < 50 ? ms : 50;
		sleep_ms(step);
		ms -= step;
	}
	return !aborted(r);
}

__attribute__((format(printf, 2, 3))) static void note(struct run *r, const char *fmt, ...)
{
	if (!r->diag)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->diag, fmt, ap);
	va_end(ap);
	fputc('\n', r->diag);
}

__attribute__((format(printf, 2, 3))) static void set_error(struct run *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	note(r, "error: %s", buf);
	if (!r->error)
		r->error = strdup(buf);
}

/* Records a failed check; |soft| ones are recorded differences ([CHOICE] on a real pool). */
static void add_failure(struct run *r, bool soft, const char *where, const char *text)
{
	if (soft) {
		r->soft++;
		note(r, "recorded: %s: %s", where, text);
		return;
	}
	r->hard++;
	note(r, "failed: %s: %s", where, text);
	if (!r->first_failure && asprintf(&r->first_failure, "%s: %s", where, text) < 0)
		r->first_failure = NULL;
}

static bool is_soft(const struct run *r, bool choice)
{
	return r->t->kind == TARGET_REAL && (choice || r->s->choice);
}

static int keep_string(struct built *b, char *s)
{
	char **grown = realloc(b->strings, (b->n_strings + 1) * sizeof(*grown));
	if (!grown) {
		free(s);
		return -ENOMEM;
	}
	b->strings = grown;
	b->strings[b->n_strings++] = s;
	return 0;
}

static void built_fini(struct built *b)
{
	for (size_t i = 0; i < b->n_strings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->parts);
	free((void *)b->req.headers);
	free(b->url);
	free(b->label);
	free(b->body_note);
	free(b->token);
	memset(b, 0, sizeof(*b));
}

static int expand(struct run *r, const char *tmpl, char **out)
{
	struct sp_err e = {0};
	int rc = vars_expand(r->vars, tmpl, out, &e);
	if (rc < 0)
		set_error(r, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

static int expand_kept(struct run *r, struct built *b, const char *tmpl, const char **out)
{
	if (!tmpl) {
		*out = NULL;
		return 0;
	}
	char *s = NULL;
	int rc = expand(r, tmpl, &s);
	if (rc < 0)
		return rc;
	if ((rc = keep_string(b, s)) < 0)
		return rc;
	*out = s;
	return 0;
}

static int data_path(struct run *r, struct built *b, const char *file, const char **out)
{
	if (strstr(file, "..")) {
		set_error(r, "data file \"%s\": \"..\" is not allowed", file);
		return -EINVAL;
	}
	char *p = NULL;
	if (asprintf(&p, "%s/%s", r->o->data_dir ? r->o->data_dir : "fixtures/data", file) < 0)
		return -ENOMEM;
	int rc = keep_string(b, p);
	if (rc < 0)
		return rc;
	struct stat st;
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_error(r, "data file %s: %s", p, strerror(errno ? errno : EINVAL));
		return -ENOENT;
	}
	*out = p;
	return 0;
}

static bool has_header(const struct scn_request *q, const char *name)
{
	for (size_t i = 0; i < q->n_headers; i++)
		if (strcasecmp(q->headers[i].name, name) == 0)
			return true;
	return false;
}

static int push_header(struct built *b, char *line)
{
	const char **grown =
	    realloc((void *)b->req.headers, (b->req.n_headers + 1) * sizeof(*grown));
	if (!grown) {
		free(line);
		return -ENOMEM;
	}
	b->req.headers = grown;
	int rc = keep_string(b, line);
	if (rc < 0)
		return rc;
	grown[b->req.n_headers++] = line;
	return 0;
}

static void url_encode(FILE *f, const char *s)
{
	cleanup_free char *e = sp_pct_encode(s, NULL);
	if (e)
		fputs(e, f);
}

/* Remembers the decoded identifier query parameter of |url|, if any. */
static void track_session(struct run *r, const char *url)
{
	const char *q = strchr(url, '?');
	while (q && *q) {
		q++;
		size_t len = strcspn(q, "&#");
		if (len > 11 && strncasecmp(q, "identifier=", 11) == 0) {
			cleanup_free char *id = sp_pct_decode(q + 11, len - 11, NULL);
			if (!id)
				return;
			for (size_t i = 0; i < r->n_sessions; i++)
				if (strcmp(r->sessions[i], id) == 0)
					return;
			char **grown = realloc(r->sessions, (r->n_sessions + 1) * sizeof(*grown));
			if (!grown)
				return;
			r->sessions = grown;
			r->sessions[r->n_sessions++] = steal_pointer(&id);
			return;
		}
		q += len;
		if (*q != '&')
			break;
	}
}

static int build_request(struct run *r, const struct scn_request *q, struct built *b)
{
	int rc;
	char *buf = NULL;
	size_t len = 0;
	cleanup_free char *target = NULL;
	if ((rc = expand(r, q->path ? q->path : q->url, &target)) < 0)
		return rc;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (q->path)
		fputs(r->t->base_url, f);
	fputs(target, f);
	bool has_query = strchr(target, '?') != NULL;
	for (size_t i = 0; i < q->n_query; i++) {
		cleanup_free char *name = NULL, *value = NULL;
		if ((rc = expand(r, q->query[i].name, &name)) < 0 ||
		    (rc = expand(r, q->query[i].value, &value)) < 0) {
			fclose(f);
			free(buf);
			return rc;
		}
		fputc(has_query ? '&' : '?', f);
		has_query = true;
		url_encode(f, name);
		fputc('=', f);
		url_encode(f, value);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	b->url = buf;
	b->req.url = b->url;
	b->req.method = q->method;
	b->req.timeout_ms = q->timeout_ms ? q->timeout_ms : r->o->request_timeout_ms;
	b->req.chunked = q->chunked;
	const char *shown = q->path ? b->url + strlen(r->t->base_url) : b->url;
	if (asprintf(&b->label, "%s %.160s", q->method, shown) < 0)
		return -ENOMEM;
	track_session(r, b->url);

	for (size_t i = 0; i < q->n_headers; i++) {
		cleanup_free char *value = NULL;
		char *line = NULL;
		if ((rc = expand(r, q->headers[i].value, &value)) < 0)
			return rc;
		/* curl drops "Name:" (it removes a default header); "Name;" sends an empty one. */
		if (value[0])
			rc = asprintf(&line, "%s: %s", q->headers[i].name, value);
		else
			rc = asprintf(&line, "%s;", q->headers[i].name);
		if (rc < 0)
			return -ENOMEM;
		if ((rc = push_header(b, line)) < 0)
			return rc;
	}
	if (!q->no_auth && !has_header(q, "Authorization")) {
		struct sp_err e = {0};
		if ((rc = token_get(r->t->token, &b->token, &e)) < 0) {
			set_error(r, "token: %s", e.msg);
			return rc;
		}
		if (b->token) {
			char *line = NULL;
			if (asprintf(&line, "Authorization: Bearer %s", b->token) < 0)
				return -ENOMEM;
			b->auth_index = b->req.n_headers;
			if ((rc = push_header(b, line)) < 0)
				return rc;
		}
	}
	bool own_type = has_header(q, "Content-Type");
	bool json = q->body_kind == SCN_BODY_JSON;
	if (!own_type && q->body_kind != SCN_BODY_NONE && q->body_kind != SCN_BODY_MULTIPART) {
		/* No form-urlencoded default from curl: a raw body goes out without a type. */
		char *line = strdup(json ? "Content-Type: application/json" : "Content-Type:");
		if (!line || (rc = push_header(b, line)) < 0)
			return line ? rc : -ENOMEM;
	}
	if (!has_header(q, "Expect") && q->body_kind != SCN_BODY_GENERATE &&
	    q->body_kind != SCN_BODY_MULTIPART) {
		char *line = strdup("Expect:");
		if (!line || (rc = push_header(b, line)) < 0)
			return line ? rc : -ENOMEM;
	}

	switch (q->body_kind) {
	case SCN_BODY_NONE:
		break;
	case SCN_BODY_JSON: {
		cleanup_cjson cJSON *j = NULL;
		struct sp_err e = {0};
		if ((rc = vars_expand_json(r->vars, q->json, &j, &e)) < 0) {
			set_error(r, "%s", e.msg);
			return rc;
		}
		char *text = cJSON_PrintUnformatted(j);
		if (!text || (rc = keep_string(b, text)) < 0)
			return text ? rc : -ENOMEM;
		b->req.body = HTTP_SRC_MEM;
		b->req.data = text;
		b->req.len = strlen(text);
		break;
	}
	case SCN_BODY_TEXT: {
		const char *text;
		if ((rc = expand_kept(r, b, q->text, &text)) < 0)
			return rc;
		b->req.body = HTTP_SRC_MEM;
		b->req.data = text;
		b->req.len = strlen(text);
		break;
	}
	case SCN_BODY_BASE64: {
		const char *text;
		char *bytes = NULL;
		size_t n = 0;
		if ((rc = expand_kept(r, b, q->text, &text)) < 0)
			return rc;
		if ((rc = sp_b64_decode(text, strlen(text), SP_B64_LAX | SP_B64_SKIP_WS, &bytes,
					&n)) < 0) {
			set_error(r, "body_base64: not base64");
			return rc;
		}
		if ((rc = keep_string(b, bytes)) < 0)
			return rc;
		b->req.body = HTTP_SRC_MEM;
		b->req.data = bytes;
		b->req.len = n;
		break;
	}
	case SCN_BODY_FILE:
		if ((rc = data_path(r, b, q->text, &b->req.data)) < 0)
			return rc;
		b->req.body = HTTP_SRC_FILE;
		if (asprintf(&b->body_note, "contents of %s", b->req.data) < 0)
			return -ENOMEM;
		break;
	case SCN_BODY_GENERATE:
		b->req.body = HTTP_SRC_GENERATE;
		b->req.gen = (struct http_gen){.size = q->gen.size, .pattern = q->gen.pattern};
		if (asprintf(&b->body_note, "%llu generated bytes, pattern \"%s\"",
			     (unsigned long long)q->gen.size, q->gen.pattern) < 0)
			return -ENOMEM;
		break;
	case SCN_BODY_MULTIPART: {
		b->parts = calloc(q->n_parts, sizeof(*b->parts));
		if (!b->parts)
			return -ENOMEM;
		char *notes = NULL;
		size_t nlen = 0;
		FILE *nf = open_memstream(&notes, &nlen);
		if (!nf)
			return -ENOMEM;
		for (size_t i = 0; i < q->n_parts && rc >= 0; i++) {
			const struct scn_part *sp = &q->parts[i];
			struct http_part *hp = &b->parts[i];
			if ((rc = expand_kept(r, b, sp->name, &hp->name)) < 0 ||
			    (rc = expand_kept(r, b, sp->filename, &hp->filename)) < 0 ||
			    (rc = expand_kept(r, b, sp->content_type, &hp->content_type)) < 0)
				break;
			fprintf(nf, "%s%s", i ? "; " : "", hp->name);
			if (hp->filename)
				fprintf(nf, " filename=\"%s\"", hp->filename);
			switch (sp->source) {
			case SCN_PART_EMPTY:
				hp->source = HTTP_SRC_NONE;
				break;
			case SCN_PART_DATA:
				hp->source = HTTP_SRC_MEM;
				if ((rc = expand_kept(r, b, sp->data, &hp->data)) == 0) {
					hp->len = strlen(hp->data);
					fprintf(nf, " %zu bytes: %.200s", hp->len, hp->data);
				}
				break;
			case SCN_PART_FILE:
				hp->source = HTTP_SRC_FILE;
				if ((rc = data_path(r, b, sp->data, &hp->data)) == 0)
					fprintf(nf, " from %s", hp->data);
				break;
			case SCN_PART_GENERATE:
				hp->source = HTTP_SRC_GENERATE;
				hp->gen = (struct http_gen){.size = sp->gen.size,
							    .pattern = sp->gen.pattern};
				fprintf(nf, " %llu generated bytes",
					(unsigned long long)sp->gen.size);
				break;
			}
		}
		fclose(nf);
		b->body_note = notes;
		if (rc < 0)
			return rc;
		b->req.parts = b->parts;
		b->req.n_parts = q->n_parts;
		break;
	}
	}
	b->req.abort_flag = r->o->abort_flag;
	return 0;
}

static void record(struct run *r, const struct built *b, const char *phase, const char *step,
		   const struct http_response *resp, const char *transport)
{
	if (!r->o->record_dir)
		return;
	struct record_entry e = {.dir = r->o->record_dir,
				 .target = r->t->name,
				 .scenario = r->s->id,
				 .seq = ++r->seq,
				 .phase = phase,
				 .step_name = step,
				 .req = &b->req,
				 .body_note = b->body_note,
				 .resp = resp,
				 .transport_error = transport};
	struct sp_err err = {0};
	if (record_write(&e, &err) < 0)
		note(r, "warning: recording failed: %s", err.msg);
}

/* Sends |b|; after a 401 to a token from a command, fetches a fresh token and retries once. */
static int send_built(struct run *r, struct built *b, struct http_response *resp, const char *phase,
		      const char *step, bool ignore_abort)
{
	const volatile sig_atomic_t *flag = b->req.abort_flag;
	if (ignore_abort)
		b->req.abort_flag = NULL;
	struct sp_err e = {0};
	int rc = http_client_perform(r->http, &b->req, resp, &e);
	record(r, b, phase, step, rc == 0 ? resp : NULL, rc == 0 ? NULL : e.msg);
	if (rc == 0 && resp->status == 401 && b->token && token_reject(r->t->token, b->token)) {
		char *fresh = NULL;
		struct sp_err te = {0};
		if (token_get(r->t->token, &fresh, &te) == 0 && fresh && strcmp(fresh, b->token)) {
			char *line = NULL;
			if (asprintf(&line, "Authorization: Bearer %s", fresh) >= 0 &&
			    keep_string(b, line) == 0) {
				((const char **)b->req.headers)[b->auth_index] = line;
				free(b->token);
				b->token = steal_pointer(&fresh);
				note(r, "note: 401 with a token from the command; retrying with a "
					"fresh one");
				http_response_fini(resp);
				rc = http_client_perform(r->http, &b->req, resp, &e);
				record(r, b, phase, step, rc == 0 ? resp : NULL,
				       rc == 0 ? NULL : e.msg);
			}
		}
		free(fresh);
	}
	b->req.abort_flag = flag;
	if (rc < 0 && rc != -ECANCELED)
		set_error(r, "%s", e.msg);
	return rc;
}

/* A failure found while evaluating an expectation. */
struct finding {
	bool choice;
	char *where;
	char *text;
};

struct findings {
	struct finding *v;
	size_t n;
};

static void findings_fini(struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].where);
		free(f->v[i].text);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

__attribute__((format(printf, 4, 5))) static void find(struct findings *f, bool choice,
						       const char *where, const char *fmt, ...)
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

/*
 * A response body as JSON, or NULL (*why, optional, tells why). The server under test is
 * untrusted: the body is bounded in size (what the client keeps) and in depth before cJSON sees
 * it; responses nest a value a session returned, so the document depth applies.
 */
static cJSON *body_json(const struct http_response *resp, enum sp_json_why *why)
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

static int expand_json(struct run *r, const cJSON *in, cJSON **out)
{
	struct sp_err e = {0};
	int rc = vars_expand_json(r->vars, in, out, &e);
	if (rc < 0)
		set_error(r, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

static int check_json(struct run *r, const struct scn_json_check *jc, const cJSON *doc,
		      struct findings *f)
{
	cleanup_cjson cJSON *preds = NULL;
	int rc = expand_json(r, jc->preds, &preds);
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
	if (!multi && jc->match == SCN_MATCH_ALL) {
		if (!pred_check(preds, m.n ? m.items[0] : NULL, PRED_JSON, why, sizeof(why)))
			find(f, jc->choice, jc->path, "%s", why);
	} else if (jc->match == SCN_MATCH_ALL) {
		if (m.n == 0 && !pred_check(preds, NULL, PRED_JSON, why, sizeof(why)))
			find(f, jc->choice, jc->path, "no value matched (%s)", why);
		for (size_t i = 0; i < m.n; i++) {
			if (!pred_check(preds, m.items[i], PRED_JSON, why, sizeof(why))) {
				find(f, jc->choice, jc->path, "item %zu: %s", i, why);
				break;
			}
		}
	} else {
		size_t hits = 0;
		for (size_t i = 0; i < m.n; i++)
			hits += pred_check(preds, m.items[i], PRED_JSON, why, sizeof(why));
		if (jc->match == SCN_MATCH_ANY && hits == 0) {
			cleanup_free char *want = pred_describe(preds, 200);
			find(f, jc->choice, jc->path, "none of %zu value(s) satisfies %s", m.n,
			     want ? want : "");
		} else if (jc->match == SCN_MATCH_NONE && hits > 0) {
			cleanup_free char *want = pred_describe(preds, 200);
			find(f, jc->choice, jc->path, "%zu value(s) satisfy %s, expected none",
			     hits, want ? want : "");
		}
	}
	jp_matches_fini(&m);
	return 0;
}

static int check_body(struct run *r, const cJSON *spec, bool choice,
		      const struct http_response *resp, struct findings *f)
{
	cleanup_cjson cJSON *b = NULL;
	int rc = expand_json(r, spec, &b);
	if (rc < 0)
		return rc;
	const char *body = resp->body ? resp->body : "";
	const cJSON *m;
	cJSON_ArrayForEach(m, b)
	{
		const char *k = m->string;
		if (strcmp(k, "choice") == 0)
			continue;
		if (strcmp(k, "equals") == 0) {
			size_t want = strlen(m->valuestring);
			if (resp->body_size != want || memcmp(body, m->valuestring, want) != 0) {
				cleanup_free char *got = excerpt(resp, 300);
				cleanup_cjson cJSON *ws = cJSON_CreateString(m->valuestring);
				cleanup_free char *wt = pred_describe(ws, 300);
				find(f, choice, "body", "expected exactly %s, got \"%s\"",
				     wt ? wt : "", got ? got : "");
			}
		} else if (strcmp(k, "matches") == 0) {
			regex_t re;
			if (pred_regcomp(&re, m->valuestring, REG_EXTENDED | REG_NOSUB) != 0) {
				find(f, choice, "body", "bad regular expression /%s/",
				     m->valuestring);
				continue;
			}
			int hit = regexec(&re, body, 0, NULL, 0);
			regfree(&re);
			if (hit != 0) {
				cleanup_free char *got = excerpt(resp, 300);
				find(f, choice, "body", "expected a match for /%s/, got \"%s\"",
				     m->valuestring, got ? got : "");
			}
		} else if (strcmp(k, "contains") == 0 || strcmp(k, "not_contains") == 0) {
			bool want = k[0] == 'c';
			bool has = memmem(body, resp->body_len, m->valuestring,
					  strlen(m->valuestring)) != NULL;
			if (has != want) {
				cleanup_free char *got = excerpt(resp, 300);
				find(f, choice, "body", "expected %s \"%s\", got \"%s\"",
				     want ? "to contain" : "not to contain", m->valuestring,
				     got ? got : "");
			}
		} else if (strcmp(k, "sha256") == 0) {
			if (strcmp(resp->sha256, m->valuestring) != 0)
				find(f, choice, "body", "expected sha256 %s, got %s (%llu bytes)",
				     m->valuestring, resp->sha256,
				     (unsigned long long)resp->body_size);
		} else if (strcmp(k, "size") == 0) {
			cleanup_cjson cJSON *n = cJSON_CreateNumber((double)resp->body_size);
			char why[300];
			if (cJSON_IsNumber(m)) {
				if ((double)resp->body_size != m->valuedouble)
					find(f, choice, "body", "expected %.0f bytes, got %llu",
					     m->valuedouble, (unsigned long long)resp->body_size);
			} else if (!pred_check(m, n, PRED_JSON, why, sizeof(why))) {
				find(f, choice, "body", "size: %s", why);
			}
		} else if (strcmp(k, "empty") == 0) {
			if ((resp->body_size == 0) != cJSON_IsTrue(m))
				find(f, choice, "body", "expected %s body, got %llu bytes",
				     cJSON_IsTrue(m) ? "an empty" : "a non-empty",
				     (unsigned long long)resp->body_size);
		}
	}
	return 0;
}

/* Evaluates |e| on |resp|, adding what does not hold to |f|. Returns <0 on a harness error. */
static int eval_expect(struct run *r, const struct scn_expect *e, const struct http_response *resp,
		       struct findings *f)
{
	int rc = 0;
	if (e->n_statuses) {
		bool ok = false;
		for (size_t i = 0; i < e->n_statuses; i++)
			ok = ok || resp->status == e->statuses[i];
		if (!ok) {
			char want[64] = "";
			size_t used = 0;
			for (size_t i = 0; i < e->n_statuses && used < sizeof(want); i++) {
				int w = snprintf(want + used, sizeof(want) - used, "%s%d",
						 i ? " or " : "", e->statuses[i]);
				used += w > 0 ? (size_t)w : 0;
			}
			cleanup_free char *body = excerpt(resp, 300);
			find(f, e->status_choice, "status", "expected %s, got %ld (body: %s)", want,
			     resp->status, body ? body : "");
		}
	}
	for (size_t i = 0; i < e->n_headers; i++) {
		const struct scn_header_check *hc = &e->headers[i];
		cleanup_cjson cJSON *preds = NULL;
		if ((rc = expand_json(r, hc->preds, &preds)) < 0)
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
			find(f, hc->choice, where, "%s", why);
	}
	if (e->n_json) {
		enum sp_json_why why;
		cleanup_cjson cJSON *doc = body_json(resp, &why);
		if (!doc) {
			cleanup_free char *body = excerpt(resp, 300);
			bool all_choice = true;
			for (size_t i = 0; i < e->n_json; i++)
				all_choice = all_choice && e->json[i].choice;
			if (why == SP_JSON_INVALID)
				find(f, all_choice, "json", "the body is not JSON: \"%s\"",
				     body ? body : "");
			else
				find(f, all_choice, "json",
				     "the body is not usable JSON (%s): \"%s\"",
				     sp_json_why_text(why), body ? body : "");
		} else {
			for (size_t i = 0; i < e->n_json; i++)
				if ((rc = check_json(r, &e->json[i], doc, f)) < 0)
					return rc;
		}
	}
	if (e->body && (rc = check_body(r, e->body, e->body_choice, resp, f)) < 0)
		return rc;
	return 0;
}

static int capture(struct run *r, const struct scn_capture *c, const struct http_response *resp,
		   struct findings *f)
{
	cleanup_cjson cJSON *value = NULL;
	switch (c->source) {
	case SCN_CAP_HEADER: {
		const char *v = http_response_header(resp, c->arg);
		if (v)
			value = cJSON_CreateString(v);
		break;
	}
	case SCN_CAP_JSON: {
		cleanup_cjson cJSON *doc = body_json(resp, NULL);
		struct jp_path p;
		struct jp_matches m = {0};
		if (doc && jp_parse(c->arg, &p, NULL) == 0) {
			if (jp_eval(&p, doc, &m) == 0 && m.n)
				value = cJSON_Duplicate(m.items[0], true);
			jp_matches_fini(&m);
			jp_path_fini(&p);
		}
		break;
	}
	case SCN_CAP_BODY:
		value = cJSON_CreateString(resp->body ? resp->body : "");
		break;
	case SCN_CAP_STATUS:
		value = cJSON_CreateNumber((double)resp->status);
		break;
	}
	char where[160];
	snprintf(where, sizeof(where), "capture %s", c->var);
	if (value && c->regex) {
		cleanup_free char *text = cJSON_IsString(value) ? strdup(value->valuestring)
								: cJSON_PrintUnformatted(value);
		regex_t re;
		regmatch_t mt[2];
		cJSON_Delete(value);
		value = NULL;
		if (text && pred_regcomp(&re, c->regex, REG_EXTENDED) == 0) {
			if (regexec(&re, text, 2, mt, 0) == 0) {
				int g = mt[1].rm_so >= 0 ? 1 : 0;
				cleanup_free char *part = strndup(
				    text + mt[g].rm_so, (size_t)(mt[g].rm_eo - mt[g].rm_so));
				value = part ? cJSON_CreateString(part) : NULL;
			}
			regfree(&re);
		}
	}
	if (!value) {
		if (!c->optional)
			find(f, false, where, "no value to capture");
		return 0;
	}
	return vars_set(r->vars, c->var, value);
}

static void apply_findings(struct run *r, struct findings *f, const char *label)
{
	for (size_t i = 0; i < f->n; i++) {
		char where[512];
		snprintf(where, sizeof(where), "%s: %s", label, f->v[i].where);
		add_failure(r, is_soft(r, f->v[i].choice), where, f->v[i].text);
	}
}

/* Applies a step's expect and captures to |resp|; |f| holds earlier findings (taken over). */
static int conclude(struct run *r, const struct scn_step *st, const char *label,
		    const struct http_response *resp, bool cleanup_phase, struct findings *f)
{
	int rc = 0;
	if (st->expect.present && (rc = eval_expect(r, &st->expect, resp, f)) < 0)
		goto out;
	for (size_t i = 0; i < st->n_captures; i++)
		if ((rc = capture(r, &st->captures[i], resp, f)) < 0)
			goto out;
	if (cleanup_phase) {
		note(r, "%s: status %ld", label, resp->status);
		for (size_t i = 0; i < f->n; i++)
			note(r, "warning: %s: %s: %s", label, f->v[i].where, f->v[i].text);
	} else {
		int before = r->hard;
		apply_findings(r, f, label);
		rc = r->hard > before ? 1 : 0;
	}
out:
	findings_fini(f);
	return rc;
}

static void step_label(char *label, size_t len, const char *phase, size_t idx,
		       const struct scn_step *st, const struct built *b)
{
	snprintf(label, len, "%s[%zu]%s%s%s (%s)", phase, idx, st->name ? " \"" : "",
		 st->name ? st->name : "", st->name ? "\"" : "", b->label);
}

/* A background request: sent by its own thread while the following steps run. */
struct bg {
	struct run *r;
	const struct scn_step *st;
	struct built b;
	struct http_response resp;
	struct http_client *http;
	pthread_t thread;
	bool started;
	int rc;
	struct sp_err err;
};

static void *bg_main(void *arg)
{
	struct bg *g = arg;
	g->rc = http_client_perform(g->http, &g->b.req, &g->resp, &g->err);
	return NULL;
}

static int bg_start(struct run *r, struct bg *g, const struct scn_step *st, bool cleanup_phase)
{
	int rc = build_request(r, &st->req, &g->b);
	if (rc < 0)
		return rc;
	if (cleanup_phase)
		g->b.req.abort_flag = NULL;
	g->r = r;
	g->st = st;
	g->http = http_client_new(&r->t->tls);
	if (!g->http || pthread_create(&g->thread, NULL, bg_main, g) != 0) {
		set_error(r, "cannot start a background request");
		return -ENOMEM;
	}
	g->started = true;
	return 0;
}

/* Waits for |g|; returns 0 with the response in g->resp, or <0 (error already noted). */
static int bg_wait(struct run *r, struct bg *g, const char *phase)
{
	if (!g->started)
		return -EINVAL;
	pthread_join(g->thread, NULL);
	g->started = false;
	record(r, &g->b, phase, g->st->name, g->rc == 0 ? &g->resp : NULL,
	       g->rc == 0 ? NULL : g->err.msg);
	if (g->rc < 0 && g->rc != -ECANCELED)
		set_error(r, "%s", g->err.msg);
	return g->rc;
}

static void bg_fini(struct bg *g)
{
	if (g->started) {
		pthread_join(g->thread, NULL);
		g->started = false;
	}
	built_fini(&g->b);
	http_response_fini(&g->resp);
	http_client_free(g->http);
	g->http = NULL;
}

/* Runs one step. Returns 0 to go on, 1 to stop (a hard failure or Ctrl-C), <0 on error. */
static int run_step(struct run *r, const struct scn_step *st, size_t idx, const char *phase,
		    struct bg *bgs)
{
	bool cleanup_phase = strcmp(phase, "step") != 0;
	char label[400];
	if (st->join) {
		struct bg *g = &bgs[st->join_index];
		int rc = bg_wait(r, g, phase);
		step_label(label, sizeof(label), phase, st->join_index, g->st, &g->b);
		if (rc == -ECANCELED) {
			note(r, "interrupted: %s", label);
			return 1;
		}
		if (rc < 0)
			return rc;
		struct findings f = {0};
		return conclude(r, g->st, label, &g->resp, cleanup_phase, &f);
	}
	if (!cleanup_phase && aborted(r))
		return 1;
	if (st->delay_ms && !cleanup_phase && !pause_ms(r, st->delay_ms))
		return 1;
	if (st->background)
		return bg_start(r, &bgs[idx], st, cleanup_phase);
	int attempts = st->has_retry ? st->retry.max : 1;
	struct http_response resp = {0};
	struct built b = {0};
	int rc = 0;
	bool until_met = !st->has_retry;
	struct findings last = {0};
	for (int attempt = 1; attempt <= attempts; attempt++) {
		built_fini(&b);
		http_response_fini(&resp);
		if ((rc = build_request(r, &st->req, &b)) < 0)
			goto out;
		step_label(label, sizeof(label), phase, idx, st, &b);
		rc = send_built(r, &b, &resp, phase, st->name, cleanup_phase);
		if (rc == -ECANCELED) {
			note(r, "interrupted: %s", label);
			rc = 1;
			goto out;
		}
		if (rc < 0)
			goto out;
		if (!st->has_retry)
			break;
		findings_fini(&last);
		const struct scn_expect *until =
		    st->retry.until.present ? &st->retry.until : &st->expect;
		if ((rc = eval_expect(r, until, &resp, &last)) < 0)
			goto out;
		if (last.n == 0) {
			until_met = true;
			break;
		}
		if (attempt < attempts && !pause_ms(r, st->retry.interval_ms)) {
			note(r, "interrupted while polling: %s", label);
			rc = 1;
			goto out;
		}
	}
	struct findings f = {0};
	if (!until_met && st->retry.until.present) {
		for (size_t i = 0; i < last.n; i++)
			find(&f, last.v[i].choice, "retry", "not met after %d attempts: %s: %s",
			     attempts, last.v[i].where, last.v[i].text);
	}
	if (!until_met && !st->retry.until.present)
		note(r, "note: %s: still failing after %d attempts", label, attempts);
	rc = conclude(r, st, label, &resp, cleanup_phase, &f);
out:
	findings_fini(&last);
	built_fini(&b);
	http_response_fini(&resp);
	return rc;
}

/* Runs a list of steps; background requests still running at the end are waited for. */
static void run_steps(struct run *r, const struct scn_step *steps, size_t n, const char *phase)
{
	bool cleanup_phase = strcmp(phase, "step") != 0;
	struct bg *bgs = calloc(n ? n : 1, sizeof(*bgs));
	if (!bgs) {
		set_error(r, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *saved = NULL;
		if (cleanup_phase) {
			saved = r->error;
			r->error = NULL;
		}
		int rc = run_step(r, &steps[i], i, phase, bgs);
		if (cleanup_phase) {
			if (r->error)
				note(r, "warning: %s[%zu] could not run", phase, i);
			free(r->error);
			r->error = saved;
		} else if (rc != 0) {
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (bgs[i].started) {
			pthread_join(bgs[i].thread, NULL);
			bgs[i].started = false;
			record(r, &bgs[i].b, phase, steps[i].name,
			       bgs[i].rc == 0 ? &bgs[i].resp : NULL,
			       bgs[i].rc == 0 ? NULL : bgs[i].err.msg);
		}
		bg_fini(&bgs[i]);
	}
	free(bgs);
}

static void delete_sessions(struct run *r)
{
	for (size_t i = 0; i < r->n_sessions; i++) {
		static const char *const routes[][2] = {
		    {"DELETE", "/session?api-version=2025-10-02-preview&identifier="},
		    {"POST", "/.management/stopSession?api-version=2025-02-02-preview&identifier="},
		};
		for (size_t k = 0; k < 2; k++) {
			char *buf = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&buf, &len);
			if (!f)
				return;
			fprintf(f, "%s%s", r->t->base_url, routes[k][1]);
			url_encode(f, r->sessions[i]);
			fclose(f);
			struct built b = {.url = buf};
			b.req = (struct http_request){
			    .method = routes[k][0], .url = buf, .timeout_ms = 30000};
			struct sp_err e = {0};
			char *line = NULL;
			if (token_get(r->t->token, &b.token, &e) == 0 && b.token &&
			    asprintf(&line, "Authorization: Bearer %s", b.token) >= 0)
				push_header(&b, line);
			struct http_response resp = {0};
			int rc = http_client_perform(r->http, &b.req, &resp, &e);
			record(r, &b, "teardown", "delete-session", rc == 0 ? &resp : NULL,
			       rc == 0 ? NULL : e.msg);
			long status = rc == 0 ? resp.status : 0;
			http_response_fini(&resp);
			built_fini(&b);
			if (status == 200 || status == 204 || status == 404) {
				note(r, "teardown: %s session %s: status %ld", routes[k][0],
				     r->sessions[i], status);
				break;
			}
			if (k == 1)
				note(r,
				     "warning: could not delete session %s (last status %ld%s%s)",
				     r->sessions[i], status, rc < 0 ? ": " : "",
				     rc < 0 ? e.msg : "");
		}
	}
}

static bool tag_value(const struct scn *s, const char *prefix, const char *value)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < s->n_tags; i++)
		if (strncmp(s->tags[i], prefix, pl) == 0 && strcmp(s->tags[i] + pl, value) == 0)
			return true;
	return false;
}

bool runner_diverges(const struct scn *s, const char *target_name, enum target_kind kind)
{
	return tag_value(s, "divergence:", target_name) ||
	       tag_value(s, "divergence:", kind == TARGET_EMULATOR ? "emulator" : "real");
}

const char *runner_skip_reason(const struct scn *s, const struct target_spec *spec,
			       enum target_kind kind, char *buf, size_t len)
{
	if (kind == TARGET_REAL && scn_has_tag(s, "emulator-only"))
		return "emulator-only";
	if (kind == TARGET_EMULATOR && scn_has_tag(s, "real-only"))
		return "real-only";
	const char *needs[32];
	size_t n = 0;
	for (size_t i = 0; i < s->n_tags && n < 32; i++)
		if (strncmp(s->tags[i], "needs:", 6) == 0)
			needs[n++] = s->tags[i] + 6;
	for (size_t i = 0; i < n; i++) {
		if (!target_cap_known(needs[i])) {
			snprintf(buf, len, "unknown capability needs:%s", needs[i]);
			return buf;
		}
		if (!target_spec_offers(spec, needs, n, needs[i])) {
			snprintf(buf, len, "needs:%s", needs[i]);
			return buf;
		}
	}
	return NULL;
}

static char *redacted(char *s)
{
	if (!s)
		return NULL;
	char *out = redact_dup(s, strlen(s), NULL);
	free(s);
	return out;
}

void runner_run(const struct scn *s, size_t index, struct target *t, const struct run_opts *o,
		struct scn_result *out)
{
	memset(out, 0, sizeof(*out));
	double start = now_seconds();
	struct run r = {.s = s, .t = t, .o = o};
	r.diag = open_memstream(&r.diag_buf, &r.diag_len);
	r.vars = vars_new(t->vars);
	r.http = http_client_new(&t->tls);
	char session[160];
	const cJSON *run_id = vars_get(t->vars, "run_id");
	snprintf(session, sizeof(session), "%s-s%03zu",
		 cJSON_IsString(run_id) ? run_id->valuestring : "spc", index);
	/* Identifiers of exactly 4 and 128 characters, for the length limits of §3. */
	char uuid[37], session4[5], session128[129];
	vars_uuid(uuid);
	snprintf(session4, sizeof(session4), "%.4s", uuid);
	memset(session128, 'x', 128);
	session128[128] = '\0';
	memcpy(session128, session, strlen(session) < 127 ? strlen(session) : 127);
	session128[strlen(session) < 127 ? strlen(session) : 127] = '-';
	if (!r.diag || !r.vars || !r.http || vars_set_str(r.vars, "session", session) < 0 ||
	    vars_set_str(r.vars, "session4", session4) < 0 ||
	    vars_set_str(r.vars, "session128", session128) < 0 ||
	    vars_set_str(r.vars, "scenario", s->id) < 0) {
		set_error(&r, "out of memory");
		goto done;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, s->vars)
	{
		cleanup_cjson cJSON *val = NULL;
		if (expand_json(&r, v, &val) < 0 || vars_set(r.vars, v->string, val) < 0)
			goto teardown;
	}
	run_steps(&r, s->steps, s->n_steps, "step");
teardown:
	run_steps(&r, s->cleanup, s->n_cleanup, "cleanup");
	delete_sessions(&r);
done:
	if (r.diag)
		fclose(r.diag);
	bool interrupted = aborted(&r);
	if (r.error) {
		out->kind = RES_ERROR;
		out->summary = strdup(r.error);
		out->token_failed = t->token && token_failed(t->token);
	} else if (r.hard) {
		out->kind = RES_FAIL;
		out->summary = r.first_failure ? strdup(r.first_failure) : NULL;
	} else if (interrupted) {
		out->kind = RES_ERROR;
		out->summary = strdup("interrupted");
	} else if (r.soft) {
		out->kind = RES_RECORDED;
		if (asprintf(&out->summary, "%d [CHOICE] difference(s) recorded", r.soft) < 0)
			out->summary = NULL;
	} else {
		out->kind = RES_PASS;
	}
	if (runner_diverges(s, t->name, t->kind)) {
		if (out->kind == RES_FAIL)
			out->kind = RES_TODO;
		else if (out->kind == RES_PASS)
			out->kind = RES_TODO_PASSED;
	}
	out->summary = redacted(out->summary);
	out->diag = redacted(r.diag_buf);
	out->seconds = now_seconds() - start;
	free(r.first_failure);
	free(r.error);
	for (size_t i = 0; i < r.n_sessions; i++)
		free(r.sessions[i]);
	free(r.sessions);
	vars_free(r.vars);
	http_client_free(r.http);
}

int runner_sweep(struct target *t, const char *run_id, const struct run_opts *o, FILE *log)
{
	struct run r = {.t = t, .o = o};
	struct scn fake = {.id = "sweep"};
	r.s = &fake;
	r.http = http_client_new(&t->tls);
	if (!r.http)
		return -ENOMEM;
	int deleted = 0;
	cleanup_free char *next = NULL;
	if (asprintf(&next, "%s/listSessions?api-version=2025-10-02-preview", t->base_url) < 0) {
		http_client_free(r.http);
		return -ENOMEM;
	}
	size_t prefix_len = strlen(run_id);
	for (int page = 0; next && page < 1000; page++) {
		struct built b = {.url = steal_pointer(&next)};
		b.req = (struct http_request){.method = "GET", .url = b.url, .timeout_ms = 30000};
		struct sp_err e = {0};
		char *line = NULL;
		if (token_get(t->token, &b.token, &e) == 0 && b.token &&
		    asprintf(&line, "Authorization: Bearer %s", b.token) >= 0)
			push_header(&b, line);
		struct http_response resp = {0};
		int rc = http_client_perform(r.http, &b.req, &resp, &e);
		built_fini(&b);
		if (rc < 0 || resp.status != 200) {
			fprintf(log, "# sweep of %s: listSessions gave %ld\n", t->name,
				rc < 0 ? 0L : resp.status);
			http_response_fini(&resp);
			break;
		}
		cleanup_cjson cJSON *doc = body_json(&resp, NULL);
		http_response_fini(&resp);
		const cJSON *item;
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "sessions"))
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "identifier");
			if (!cJSON_IsString(id) ||
			    strncmp(id->valuestring, run_id, prefix_len) != 0)
				continue;
			char **grown = realloc(r.sessions, (r.n_sessions + 1) * sizeof(*grown));
			if (!grown)
				break;
			r.sessions = grown;
			r.sessions[r.n_sessions] = strdup(id->valuestring);
			if (r.sessions[r.n_sessions])
				r.n_sessions++;
		}
		const cJSON *nl = cJSON_GetObjectItemCaseSensitive(doc, "nextLink");
		if (cJSON_IsString(nl) && nl->valuestring[0])
			next = strdup(nl->valuestring);
	}
	deleted = (int)r.n_sessions;
	r.diag = open_memstream(&r.diag_buf, &r.diag_len);
	delete_sessions(&r);
	if (r.diag)
		fclose(r.diag);
	if (r.diag_buf && r.diag_buf[0]) {
		cleanup_free char *clean = redact_dup(r.diag_buf, r.diag_len, NULL);
		fprintf(log, "# sweep: %s", clean ? clean : "");
	}
	free(r.diag_buf);
	for (size_t i = 0; i < r.n_sessions; i++)
		free(r.sessions[i]);
	free(r.sessions);
	http_client_free(r.http);
	return deleted;
}
