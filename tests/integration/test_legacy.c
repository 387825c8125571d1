/* SPDX-License-Identifier: MIT */
/*
 * The routes older Semantic Kernel .NET builds used (contract §1.3, §3, §5.4, §5.7):
 * POST python/execute with the identifier in the body only, and GET python/downloadFile?filename=.
 * Identifier sources and their check order (§10.3), the raw-bytes download and its errors.
 */
#include "shared.h"

#define OLD "api-version=2024-02-02-preview"
#define NEW "api-version=2025-10-02-preview"

static const char *const json_hdr[] = {"Content-Type: application/json", NULL};

static struct http_resp post(const struct emu *e, const char *path, const char *body)
{
	struct http_resp r;
	struct http_req q = {.method = "POST",
			     .path = path,
			     .headers = json_hdr,
			     .body = body,
			     .body_len = body ? strlen(body) : 0};
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s: %s", path, r.error);
	return r;
}

static struct http_resp get(const struct emu *e, const char *path)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, "GET", path, &r), 0, "%s: %s", path, r.error);
	return r;
}

static void expect_error(struct http_resp *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "want %ld %s, got %ld: %s", status, code, r->status,
		     r->body);
	cJSON *j = http_resp_json(r);
	cr_assert(j, "not JSON: %s", r->body);
	cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
	cr_expect(cJSON_IsString(c) && !strcmp(c->valuestring, code), "want %s: %s", code, r->body);
	char *h = http_resp_header(r, "x-ms-error-code");
	cr_expect(h && !strcmp(h, code), "x-ms-error-code %s", h ? h : "(none)");
	free(h);
	cJSON_Delete(j);
	http_resp_fini(r);
}

/* A flat python/execute answer: asserts 200 Success and returns the "result" as text. */
static char *flat_result(struct http_resp *r)
{
	cr_assert_eq(r->status, 200, "%ld: %s", r->status, r->body);
	cJSON *j = http_resp_json(r);
	cr_assert(j, "not JSON: %s", r->body);
	cJSON *st = cJSON_GetObjectItem(j, "status");
	cr_expect(cJSON_IsString(st) && !strcmp(st->valuestring, "Success"), "%s", r->body);
	cr_expect(!cJSON_GetObjectItem(j, "properties"), "flat response expected: %s", r->body);
	char *out = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "result"));
	cJSON_Delete(j);
	http_resp_fini(r);
	return out;
}

static long session_status(const struct emu *e, const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/session?" NEW "&identifier=%s", id);
	struct http_resp r = get(e, path);
	long st = r.status;
	http_resp_fini(&r);
	return st;
}

Test(legacy, body_properties_identifier_names_the_session, .timeout = 120)
{
	struct emu e = shared_emu();
	/* The request of Semantic Kernel .NET late 2024: no identifier in the query. */
	struct http_resp r = post(&e, "/python/execute?" OLD,
				  "{\"properties\":{\"identifier\":\"leg-body-1\","
				  "\"codeInputType\":\"inline\",\"executionType\":\"synchronous\","
				  "\"pythonCode\":\"kept = 7\\nkept * 6\"}}");
	char *res = flat_result(&r);
	cr_expect_str_eq(res, "42");
	cJSON_free(res);
	/* The same interpreter, reached through the query on another route. */
	r = post(&e, "/code/execute?" OLD "&identifier=leg-body-1",
		 "{\"properties\":{\"code\":\"kept\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "\"result\":7"), "%s", r.body);
	http_resp_fini(&r);
}

Test(legacy, top_level_identifier_and_prefix, .timeout = 120)
{
	struct emu e = shared_emu();
	struct http_resp r =
	    post(&e, "/subscriptions/s/resourceGroups/rg/sessionPools/p/python/execute?" OLD,
		 "{\"identifier\":\"leg-top-1\",\"codeInputType\":\"inline\","
		 "\"executionType\":\"synchronous\",\"pythonCode\":\"'top'\"}");
	char *res = flat_result(&r);
	cr_expect_str_eq(res, "\"'top'\""); /* text/plain repr */
	cJSON_free(res);
	cr_expect_eq(session_status(&e, "leg-top-1"), 200);
	/* properties.identifier null: the top-level one is used. */
	r = post(&e, "/python/execute?" OLD,
		 "{\"identifier\":\"leg-top-2\",\"properties\":{\"identifier\":null,"
		 "\"pythonCode\":\"1\"}}");
	res = flat_result(&r);
	cJSON_free(res);
	cr_expect_eq(session_status(&e, "leg-top-2"), 200);
}

Test(legacy, query_identifier_wins_over_the_body, .timeout = 120)
{
	struct emu e = shared_emu();
	struct http_resp r = post(&e, "/python/execute?" OLD "&identifier=leg-query-1",
				  "{\"properties\":{\"identifier\":\"leg-bodyx-1\","
				  "\"pythonCode\":\"where = 'q'\"}}");
	char *res = flat_result(&r);
	cJSON_free(res);
	cr_expect_eq(session_status(&e, "leg-query-1"), 200);
	cr_expect_eq(session_status(&e, "leg-bodyx-1"), 404);
	/* With a query identifier an invalid body identifier is ignored. */
	r = post(&e, "/python/execute?" OLD "&identifier=leg-query-1",
		 "{\"properties\":{\"identifier\":\"a b\",\"pythonCode\":\"where\"}}");
	res = flat_result(&r);
	cr_expect_str_eq(res, "\"'q'\"");
	cJSON_free(res);
}

Test(legacy, missing_in_query_and_body, .timeout = 60)
{
	struct emu e = shared_emu();
	struct http_resp r =
	    post(&e, "/python/execute?" OLD, "{\"properties\":{\"pythonCode\":\"1\"}}");
	expect_error(&r, 400, "MissingIdentifier");
	r = post(&e, "/python/execute?" OLD "&identifier=",
		 "{\"properties\":{\"identifier\":\"\",\"pythonCode\":\"1\"}}");
	expect_error(&r, 400, "MissingIdentifier");
	/* The identifier is checked before the body's syntax (§10.3). */
	r = post(&e, "/python/execute?" OLD, "{not json");
	expect_error(&r, 400, "MissingIdentifier");
	r = post(&e, "/python/execute?" OLD, NULL);
	expect_error(&r, 400, "MissingIdentifier");
	/* ... and after the api-version. */
	r = post(&e, "/python/execute",
		 "{\"properties\":{\"identifier\":\"leg-nov-1\","
		 "\"pythonCode\":\"1\"}}");
	expect_error(&r, 400, "MissingApiVersion");
	/* Only python/execute reads the body's identifier. */
	r = post(&e, "/code/execute?" OLD,
		 "{\"properties\":{\"identifier\":\"leg-other-1\",\"code\":\"1\"}}");
	expect_error(&r, 400, "MissingIdentifier");
	r = post(&e, "/executions?" NEW, "{\"identifier\":\"leg-other-2\",\"code\":\"1\"}");
	expect_error(&r, 400, "MissingIdentifier");
}

Test(legacy, invalid_body_identifier, .timeout = 60)
{
	struct emu e = shared_emu();
	static const char *const bodies[] = {
	    "{\"properties\":{\"identifier\":\"abc\",\"pythonCode\":\"1\"}}",
	    "{\"properties\":{\"identifier\":\"has space\",\"pythonCode\":\"1\"}}",
	    "{\"properties\":{\"identifier\":12345,\"pythonCode\":\"1\"}}",
	    "{\"identifier\":[\"leg-arr-1\"],\"pythonCode\":\"1\"}",
	    "{\"identifier\":\"leg-nul-1\\u0000x\",\"pythonCode\":\"1\"}",
	    /* An invalid properties.identifier is not replaced by a valid top-level one. */
	    "{\"identifier\":\"leg-fine-1\",\"properties\":{\"identifier\":\"\\u00e9t\\u00e9t\","
	    "\"pythonCode\":\"1\"}}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		struct http_resp r = post(&e, "/python/execute?" OLD, bodies[i]);
		expect_error(&r, 400, "InvalidIdentifier");
	}
	cr_expect_eq(session_status(&e, "leg-fine-1"), 404);
	/* 129 characters. */
	char body[512], id[130];
	memset(id, 'x', 129);
	id[129] = '\0';
	snprintf(body, sizeof(body), "{\"identifier\":\"%s\",\"pythonCode\":\"1\"}", id);
	struct http_resp r = post(&e, "/python/execute?" OLD, body);
	expect_error(&r, 400, "InvalidIdentifier");
	/* A valid body identifier, then the body's own errors. */
	r = post(&e, "/python/execute?" OLD, "{\"identifier\":\"leg-nocode-1\"}");
	expect_error(&r, 400, "InvalidRequestBody");
}

/* Writes |code| into session |id| through python/execute. */
static void run(const struct emu *e, const char *id, const char *code_json)
{
	char path[256], body[1024];
	snprintf(path, sizeof(path), "/python/execute?" OLD "&identifier=%s", id);
	snprintf(body, sizeof(body), "{\"properties\":{\"pythonCode\":%s}}", code_json);
	struct http_resp r = post(e, path, body);
	cJSON_free(flat_result(&r));
}

Test(legacy, download_file_raw_bytes, .timeout = 120)
{
	struct emu e = shared_emu();
	run(&e, "leg-dl-1",
	    "\"import os\\nos.makedirs('/mnt/data/sub', exist_ok=True)\\n"
	    "open('/mnt/data/notes.txt', 'w').write('hello legacy\\\\n')\\n"
	    "open('/mnt/data/sub/all.bin', 'wb').write(bytes(range(256)))\"");

	struct http_resp r =
	    get(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-1&filename=notes.txt");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(r.body_len, 13);
	cr_expect(!memcmp(r.body, "hello legacy\n", 13));
	char *ct = http_resp_header(&r, "Content-Type");
	cr_expect(ct && !strncmp(ct, "text/plain", 10), "%s", ct ? ct : "(none)");
	free(ct);
	char *lm = http_resp_header(&r, "Last-Modified");
	cr_expect(lm && strstr(lm, "GMT"), "%s", lm ? lm : "(none)");
	free(lm);
	http_resp_fini(&r);

	/* A sub-directory, encoded as Uri.EscapeDataString does; the same bytes as files/content.
	 */
	r = get(&e, "/python/downloadFile?identifier=leg-dl-1&filename=sub%2Fall.bin&" OLD);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(r.body_len, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq((unsigned char)r.body[i], i);
	struct http_resp same = get(&e, "/files/content/sub/all.bin?" OLD "&identifier=leg-dl-1");
	cr_expect_eq(same.body_len, r.body_len);
	cr_expect(!memcmp(same.body, r.body, r.body_len));
	http_resp_fini(&same);
	http_resp_fini(&r);

	/* The /mnt/data/ form and a new api-version work too (the answer is raw bytes). */
	r = get(&e, "/python/downloadFile?" NEW
		    "&identifier=leg-dl-1&filename=%2Fmnt%2Fdata%2Fnotes.txt");
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect_eq(r.body_len, 13);
	http_resp_fini(&r);
}

Test(legacy, download_file_errors, .timeout = 120)
{
	struct emu e = shared_emu();
	run(&e, "leg-dl-2", "\"open('/mnt/data/a.txt', 'w').write('a')\"");
	struct http_resp r =
	    get(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-2&filename=missing.txt");
	expect_error(&r, 404, "FileNotFound");
	r = get(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-2");
	expect_error(&r, 400, "InvalidQueryParameter");
	r = get(&e,
		"/python/downloadFile?" OLD "&identifier=leg-dl-2&filename=..%2F..%2Fetc%2Fpasswd");
	expect_error(&r, 400, "InvalidFilePath");
	r = get(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-2&filename=");
	expect_error(&r, 400, "InvalidFilePath");
	/* §10.3: the identifier before the other query parameters; no body identifier here. */
	r = get(&e, "/python/downloadFile?" OLD "&filename=a.txt");
	expect_error(&r, 400, "MissingIdentifier");
	r = get(&e, "/python/downloadFile?" OLD "&identifier=ab&filename=a.txt");
	expect_error(&r, 400, "InvalidIdentifier");
	r = get(&e, "/python/downloadFile?identifier=leg-dl-2&filename=a.txt");
	expect_error(&r, 400, "MissingApiVersion");
	r = post(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-2&filename=a.txt", "{}");
	char *allow = http_resp_header(&r, "Allow");
	cr_expect(allow && !strcmp(allow, "GET, HEAD, OPTIONS"), "%s", allow ? allow : "(none)");
	free(allow);
	expect_error(&r, 405, "MethodNotAllowed");
	/* A directory is not a file. */
	run(&e, "leg-dl-2", "\"import os\\nos.makedirs('/mnt/data/d', exist_ok=True)\"");
	r = get(&e, "/python/downloadFile?" OLD "&identifier=leg-dl-2&filename=d");
	expect_error(&r, 404, "FileNotFound");
}
