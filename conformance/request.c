/* SPDX-License-Identifier: MIT */
/*
 * Building, sending and recording requests; see request.h. A scenario's path is sent byte for
 * byte after the target's base URL (no normalisation), query pairs are percent-encoded, and
 * the runner adds only what a scenario did not say: Authorization, a Content-Type for a body,
 * and an empty Expect (so curl never waits for 100 Continue on an ordinary body).
 */
#include "request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "b64.h"
#include "cleanup.h"
#include "pct.h"
#include "record.h"
#include "run.h"
#include "teardown.h"

static int keep_string(struct request *b, char *s)
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

void request_fini(struct request *b)
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

static int expand_kept(struct run *r, struct request *b, const char *tmpl, const char **out)
{
	if (!tmpl) {
		*out = NULL;
		return 0;
	}
	char *s = NULL;
	int rc = run_expand(r, tmpl, &s);
	if (rc < 0)
		return rc;
	if ((rc = keep_string(b, s)) < 0)
		return rc;
	*out = s;
	return 0;
}

static int data_path(struct run *r, struct request *b, const char *file, const char **out)
{
	if (strstr(file, "..")) {
		run_error(r, "data file \"%s\": \"..\" is not allowed", file);
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
		run_error(r, "data file %s: %s", p, strerror(errno ? errno : EINVAL));
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

static int push_header(struct request *b, char *line)
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

/* Adds "Authorization: Bearer <b->token>" when the runner has a token. */
static int push_auth(struct request *b)
{
	if (!b->token)
		return 0;
	char *line = NULL;
	if (asprintf(&line, "Authorization: Bearer %s", b->token) < 0)
		return -ENOMEM;
	b->auth_index = b->req.n_headers;
	return push_header(b, line);
}

int request_plain(struct request *b, const char *method, char *url, struct token_source *tok)
{
	memset(b, 0, sizeof(*b));
	if (!url)
		return -ENOMEM;
	b->url = url;
	b->req = (struct http_request){.method = method, .url = url, .timeout_ms = 30000};
	struct sp_err e = {0};
	if (token_get(tok, &b->token, &e) == 0)
		(void)push_auth(b);
	return 0;
}

static void url_encode(FILE *f, const char *s)
{
	cleanup_free char *e = sp_pct_encode(s, NULL);
	if (e)
		fputs(e, f);
}

/* Appends the step's query pairs to |f|, percent-encoded. */
static int put_query(struct run *r, const struct scn_request *q, bool has_query, FILE *f)
{
	for (size_t i = 0; i < q->n_query; i++) {
		cleanup_free char *name = NULL, *value = NULL;
		int rc;
		if ((rc = run_expand(r, q->query[i].name, &name)) < 0 ||
		    (rc = run_expand(r, q->query[i].value, &value)) < 0)
			return rc;
		fputc(has_query ? '&' : '?', f);
		has_query = true;
		url_encode(f, name);
		fputc('=', f);
		url_encode(f, value);
	}
	return 0;
}

/* The URL (base URL + path, or the absolute url, then the query), label and request line. */
static int build_url(struct run *r, const struct scn_request *q, struct request *b)
{
	cleanup_free char *target = NULL;
	int rc = run_expand(r, q->path ? q->path : q->url, &target);
	if (rc < 0)
		return rc;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (q->path)
		fputs(r->t->base_url, f);
	fputs(target, f);
	rc = put_query(r, q, strchr(target, '?') != NULL, f);
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	b->url = buf;
	b->req.url = b->url;
	b->req.method = q->method;
	b->req.timeout_ms = q->timeout_ms ? q->timeout_ms : r->o->request_timeout_ms;
	b->req.chunked = q->chunked;
	const char *shown = q->path ? b->url + strlen(r->t->base_url) : b->url;
	if (asprintf(&b->label, "%s %.160s", q->method, shown) < 0)
		return -ENOMEM;
	teardown_track_url(&r->sessions, b->url);
	return 0;
}

static int add_step_headers(struct run *r, const struct scn_request *q, struct request *b)
{
	for (size_t i = 0; i < q->n_headers; i++) {
		cleanup_free char *value = NULL;
		char *line = NULL;
		int rc;
		if ((rc = run_expand(r, q->headers[i].value, &value)) < 0)
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
	return 0;
}

static int add_auth(struct run *r, const struct scn_request *q, struct request *b)
{
	if (q->no_auth || has_header(q, "Authorization"))
		return 0;
	struct sp_err e = {0};
	int rc = token_get(r->t->token, &b->token, &e);
	if (rc < 0) {
		run_error(r, "token: %s", e.msg);
		return rc;
	}
	return push_auth(b);
}

static int add_literal(struct request *b, const char *text)
{
	char *line = strdup(text);
	return line ? push_header(b, line) : -ENOMEM;
}

static int add_default_headers(const struct scn_request *q, struct request *b)
{
	int rc = 0;
	bool json = q->body_kind == SCN_BODY_JSON;
	if (!has_header(q, "Content-Type") && q->body_kind != SCN_BODY_NONE &&
	    q->body_kind != SCN_BODY_MULTIPART) {
		/* No form-urlencoded default from curl: a raw body goes out without a type. */
		rc = add_literal(b, json ? "Content-Type: application/json" : "Content-Type:");
	}
	if (rc == 0 && !has_header(q, "Expect") && q->body_kind != SCN_BODY_GENERATE &&
	    q->body_kind != SCN_BODY_MULTIPART)
		rc = add_literal(b, "Expect:");
	return rc;
}

static void set_mem_body(struct request *b, const char *data, size_t len)
{
	b->req.body = HTTP_SRC_MEM;
	b->req.data = data;
	b->req.len = len;
}

static int body_json(struct run *r, const struct scn_request *q, struct request *b)
{
	cleanup_cjson cJSON *j = NULL;
	int rc = run_expand_json(r, q->json, &j);
	if (rc < 0)
		return rc;
	char *text = cJSON_PrintUnformatted(j);
	if (!text || (rc = keep_string(b, text)) < 0)
		return text ? rc : -ENOMEM;
	set_mem_body(b, text, strlen(text));
	return 0;
}

static int body_base64(struct run *r, const struct scn_request *q, struct request *b)
{
	const char *text;
	char *bytes = NULL;
	size_t n = 0;
	int rc = expand_kept(r, b, q->text, &text);
	if (rc < 0)
		return rc;
	if ((rc = sp_b64_decode(text, strlen(text), SP_B64_LAX | SP_B64_SKIP_WS, &bytes, &n)) < 0) {
		run_error(r, "body_base64: not base64");
		return rc;
	}
	if ((rc = keep_string(b, bytes)) < 0)
		return rc;
	set_mem_body(b, bytes, n);
	return 0;
}

/* Part |i|; describes it on |nf| for recordings. */
static int build_part(struct run *r, struct request *b, size_t i, const struct scn_part *sp,
		      FILE *nf)
{
	struct http_part *hp = &b->parts[i];
	int rc;
	if ((rc = expand_kept(r, b, sp->name, &hp->name)) < 0 ||
	    (rc = expand_kept(r, b, sp->filename, &hp->filename)) < 0 ||
	    (rc = expand_kept(r, b, sp->content_type, &hp->content_type)) < 0)
		return rc;
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
		hp->gen = (struct http_gen){.size = sp->gen.size, .pattern = sp->gen.pattern};
		fprintf(nf, " %llu generated bytes", (unsigned long long)sp->gen.size);
		break;
	}
	return rc;
}

static int body_multipart(struct run *r, const struct scn_request *q, struct request *b)
{
	b->parts = calloc(q->n_parts, sizeof(*b->parts));
	if (!b->parts)
		return -ENOMEM;
	char *notes = NULL;
	size_t nlen = 0;
	FILE *nf = open_memstream(&notes, &nlen);
	if (!nf)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < q->n_parts && rc >= 0; i++)
		rc = build_part(r, b, i, &q->parts[i], nf);
	fclose(nf);
	b->body_note = notes;
	if (rc < 0)
		return rc;
	b->req.parts = b->parts;
	b->req.n_parts = q->n_parts;
	return 0;
}

static int build_body(struct run *r, const struct scn_request *q, struct request *b)
{
	int rc = 0;
	const char *text;
	switch (q->body_kind) {
	case SCN_BODY_NONE:
		break;
	case SCN_BODY_JSON:
		return body_json(r, q, b);
	case SCN_BODY_TEXT:
		if ((rc = expand_kept(r, b, q->text, &text)) == 0)
			set_mem_body(b, text, strlen(text));
		break;
	case SCN_BODY_BASE64:
		return body_base64(r, q, b);
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
	case SCN_BODY_MULTIPART:
		return body_multipart(r, q, b);
	}
	return rc;
}

int request_build(struct run *r, const struct scn_request *q, struct request *b)
{
	int rc;
	if ((rc = build_url(r, q, b)) < 0 || (rc = add_step_headers(r, q, b)) < 0 ||
	    (rc = add_auth(r, q, b)) < 0 || (rc = add_default_headers(q, b)) < 0 ||
	    (rc = build_body(r, q, b)) < 0)
		return rc;
	b->req.abort_flag = r->o->abort_flag;
	return 0;
}

void request_record(struct run *r, const struct request *b, const char *phase, const char *step,
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
		run_note(r, "warning: recording failed: %s", err.msg);
}

/* After a 401 to |b|'s token: a fresh token from the command, and the request sent again. */
static int resend_fresh(struct run *r, struct request *b, struct http_response *resp,
			const char *phase, const char *step, struct sp_err *e)
{
	cleanup_free char *fresh = NULL;
	struct sp_err te = {0};
	if (token_get(r->t->token, &fresh, &te) < 0 || !fresh || strcmp(fresh, b->token) == 0)
		return 0;
	char *line = NULL;
	if (asprintf(&line, "Authorization: Bearer %s", fresh) < 0 || keep_string(b, line) < 0)
		return 0;
	((const char **)b->req.headers)[b->auth_index] = line;
	free(b->token);
	b->token = steal_pointer(&fresh);
	run_note(r, "note: 401 with a token from the command; retrying with a fresh one");
	http_response_fini(resp);
	int rc = http_client_perform(r->http, &b->req, resp, e);
	request_record(r, b, phase, step, rc == 0 ? resp : NULL, rc == 0 ? NULL : e->msg);
	return rc;
}

int request_send(struct run *r, struct request *b, struct http_response *resp, const char *phase,
		 const char *step, bool ignore_abort)
{
	const volatile sig_atomic_t *flag = b->req.abort_flag;
	if (ignore_abort)
		b->req.abort_flag = NULL;
	struct sp_err e = {0};
	int rc = http_client_perform(r->http, &b->req, resp, &e);
	request_record(r, b, phase, step, rc == 0 ? resp : NULL, rc == 0 ? NULL : e.msg);
	if (rc == 0 && resp->status == 401 && b->token && token_reject(r->t->token, b->token))
		rc = resend_fresh(r, b, resp, phase, step, &e);
	b->req.abort_flag = flag;
	if (rc < 0 && rc != -ECANCELED)
		run_error(r, "%s", e.msg);
	return rc;
}
