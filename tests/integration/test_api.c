/* SPDX-License-Identifier: MIT */
/*
 * The API over HTTP against one shared emulator with default settings: every execute route in
 * its shape, executions (sync, async, records), cell values, images, output capture, failures
 * (exception, timeout, kill-and-restart, crash, cancellation by deletion), sessions and lists,
 * metadata, routing rules, the error catalogue and the check order, and malformed input.
 */
#include <pthread.h>
#include <unistd.h>

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

static struct http_resp get(const struct emu *e, const char *method, const char *path)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, method, path, &r), 0, "%s: %s", path, r.error);
	return r;
}

/* Asserts an error envelope with |status| and |code|, and the x-ms-error-code header. */
static void expect_error(struct http_resp *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "want %ld %s, got %ld: %s", status, code, r->status,
		     r->body);
	cJSON *j = http_resp_json(r);
	cr_assert(j, "not JSON: %s", r->body);
	cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
	cr_expect(cJSON_IsString(c) && !strcmp(c->valuestring, code), "want %s: %s", code, r->body);
	cr_expect(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message")));
	char *h = http_resp_header(r, "x-ms-error-code");
	cr_expect(h && !strcmp(h, code), "x-ms-error-code %s", h ? h : "(none)");
	char *ct = http_resp_header(r, "Content-Type");
	cr_expect(ct && !strcmp(ct, "application/json"));
	free(ct);
	free(h);
	cJSON_Delete(j);
	http_resp_fini(r);
}

/* POST executions (new shape) and return the parsed body. */
static cJSON *run_new(const struct emu *e, const char *id, const char *body_json)
{
	char path[512];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	struct http_resp r = post(e, path, body_json);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	cr_assert(j);
	return j;
}

static cJSON *code_json(const char *code, long timeout)
{
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "code", code);
	if (timeout > 0)
		cJSON_AddNumberToObject(b, "timeoutInSeconds", (double)timeout);
	return b;
}

static cJSON *run_code(const struct emu *e, const char *id, const char *code, long timeout)
{
	cJSON *b = code_json(code, timeout);
	char *s = cJSON_PrintUnformatted(b);
	cJSON *j = run_new(e, id, s);
	free(s);
	cJSON_Delete(b);
	return j;
}

static const char *str_at(cJSON *j, const char *a, const char *b)
{
	cJSON *x = cJSON_GetObjectItem(j, a);
	if (b)
		x = cJSON_GetObjectItem(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

Test(exec, old_shape_body_and_headers)
{
	struct emu e = shared_emu();
	struct http_resp r = post(&e, "/code/execute?identifier=old-shape-1&" OLD,
				  "{\"properties\":{\"codeInputType\":\"inline\",\"executionType\":"
				  "\"synchronous\",\"code\":\"6*7\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body,
			 "{\"$id\":\"1\",\"properties\":{\"$id\":\"2\",\"status\":\"Success\","
			 "\"stdout\":\"\",\"stderr\":\"\",\"result\":42,"
			 "\"executionTimeInMilliseconds\":") == r.body,
		  "%s", r.body);
	const char *names[] = {"operation-id",
			       "Operation-Location",
			       "X-Ms-Session-Guid",
			       "X-Ms-Overall-Execution-Time",
			       "X-Ms-Preparation-Time",
			       "X-Ms-Execution-Request-Time",
			       "X-Ms-Execution-Read-Response-Time",
			       "Date"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char *h = http_resp_header(&r, names[i]);
		cr_expect(h && *h, "missing %s", names[i]);
		free(h);
	}
	char *loc = http_resp_header(&r, "Operation-Location");
	char *opid = http_resp_header(&r, "operation-id");
	char want[512];
	snprintf(want, sizeof(want), "%s/executions/%s?" OLD "&identifier=old-shape-1", e.base_url,
		 opid);
	cr_expect_str_eq(loc, want);
	free(loc);
	free(opid);
	http_resp_fini(&r);
}

Test(exec, state_persists_across_shapes_and_routes)
{
	struct emu e = shared_emu();
	struct http_resp r = post(&e, "/code/execute?identifier=persist-1&" OLD,
				  "{\"properties\":{\"code\":\"import math\\nv = 41\"}}");
	cr_assert_eq(r.status, 200);
	http_resp_fini(&r);
	r = post(&e, "/python/execute?identifier=persist-1&" OLD,
		 "{\"properties\":{\"identifier\":\"ignored\",\"codeInputType\":\"inline\","
		 "\"executionType\":\"synchronous\",\"pythonCode\":\"v += 1\\nprint(v)\\nNone\"}}");
	cr_assert_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"status\":\"Success\",\"stdout\":\"42\\n\",\"stderr\":\"\","
				 "\"result\":\"\",\"executionTimeInMilliseconds\":0}");
	http_resp_fini(&r);
	cJSON *j = run_code(&e, "persist-1", "math.floor(v / 2)", 0);
	cJSON *res = cJSON_GetObjectItem(j, "result");
	cr_expect_eq(cJSON_GetObjectItem(res, "executionResult")->valueint, 21);
	cJSON_Delete(j);
	j = run_code(&e, "persist-1", "import os; os.getcwd()", 0);
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "executionResult", NULL),
			 "'/mnt/data'");
	cJSON_Delete(j);
}

Test(exec, cell_values_over_http)
{
	struct emu e = shared_emu();
	struct {
		const char *code;
		const char *json;
	} rows[] = {
	    {"print(7*9)", "\"\""},
	    {"x = 1", "\"\""},
	    {"a = None;a", "null"},
	    {"{}.get('k')", "\"\""},
	    {"6*7;", "\"\""},
	    {"sum([1,10,-1541])", "-1530"},
	    {"a = float('nan');a", "\"nan\""},
	    {"a = \"nan\";a", "\"'nan'\""},
	    {"0.1 + 0.2", "0.30000000000000004"},
	    {"10**30", "1000000000000000000000000000000"},
	    {"1e16", "1e+16"},
	    {"True", "\"True\""},
	    {"[1, 2, 3]", "[1,2,3]"},
	    {"['a', 'b']", "\"['a', 'b']\""},
	    {"(1, 2)", "\"(1, 2)\""},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		/* Look at the raw body: number tokens must arrive verbatim, not via a double. */
		cJSON *b = code_json(rows[i].code, 0);
		char *body = cJSON_PrintUnformatted(b);
		cJSON_Delete(b);
		struct http_resp r = post(&e, "/executions?" NEW "&identifier=values-1", body);
		free(body);
		char want[256];
		snprintf(want, sizeof(want), "\"executionResult\":%s,", rows[i].json);
		cr_expect(strstr(r.body, want), "%s -> %s", rows[i].code, r.body);
		http_resp_fini(&r);
	}
}

Test(exec, image_is_a_png)
{
	struct emu e = shared_emu();
	cJSON *j = run_code(&e, "image-1",
			    "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()", 0);
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult");
	cr_expect_str_eq(str_at(v, "type", NULL), "image");
	cr_expect_str_eq(str_at(v, "format", NULL), "png");
	const char *b64 = str_at(v, "base64_data", NULL);
	cr_assert(b64);
	cr_expect(!strncmp(b64, "iVBORw0KGgo", 11), "not a PNG");
	cJSON_Delete(j);
	/* old shape: an unclosed figure at the end of the cell */
	struct http_resp r = post(&e, "/code/execute?identifier=image-1&" OLD,
				  "{\"properties\":{\"code\":\"plt.figure(); plt.bar([1],[2])\"}}");
	cr_expect(strstr(r.body,
			 "\"result\":{\"type\":\"image\",\"format\":\"png\",\"base64_data\":"
			 "\"iVBORw0KGgo"),
		  "%.200s", r.body);
	http_resp_fini(&r);
}

Test(exec, fd_level_output_and_utf8)
{
	struct emu e = shared_emu();
	cJSON *j = run_code(&e, "output-1",
			    "import os, sys\nprint('a')\nos.system('echo b; echo c >&2')\n"
			    "print('d')\nprint('é€', file=sys.stderr)",
			    0);
	cJSON *res = cJSON_GetObjectItem(j, "result");
	cr_expect_str_eq(str_at(res, "stdout", NULL), "a\nb\nd\n");
	cr_expect_str_eq(str_at(res, "stderr", NULL), "c\né€\n");
	cJSON_Delete(j);
	j = run_new(&e, "output-1",
		    "{\"code\":\"print('x' * 100)\",\"outputStreamsMaxLength\":10}");
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "stdout", NULL), "xxxxxxxxxx");
	cJSON_Delete(j);
}

Test(exec, exception_is_reported)
{
	struct emu e = shared_emu();
	cJSON *j = run_code(&e, "exc-1", "print('before')\n1/0", 0);
	cr_expect_str_eq(str_at(j, "status", NULL), "Failed");
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "error");
	cr_expect_str_eq(str_at(err, "code", NULL), "ExecutionError");
	cr_expect_str_eq(str_at(err, "message", NULL), "ZeroDivisionError: division by zero");
	cJSON *res = cJSON_GetObjectItem(j, "result");
	cr_expect_str_eq(str_at(res, "stdout", NULL), "before\n");
	cr_expect_str_eq(str_at(res, "stderr", NULL),
			 "Traceback (most recent call last):\n  File \"<cell>\", line 2, in "
			 "<module>\nZeroDivisionError: division by zero\n");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(res, "executionResult")));
	cJSON_Delete(j);
	struct http_resp r = post(&e, "/code/execute?identifier=exc-1&" OLD,
				  "{\"properties\":{\"code\":\"raise SystemExit(3)\"}}");
	cr_expect(strstr(r.body, "\"status\":\"Failure\""), "%s", r.body);
	cr_expect(strstr(r.body, "\"result\":\"\""), "%s", r.body);
	http_resp_fini(&r);
	j = run_code(&e, "exc-1", "'alive'", 0); /* the interpreter survived SystemExit */
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "executionResult", NULL),
			 "'alive'");
	cJSON_Delete(j);
}

Test(exec, timeout_interrupts_and_keeps_state, .timeout = 60)
{
	struct emu e = shared_emu();
	cJSON_Delete(run_code(&e, "timeout-1", "kept = 7", 0));
	cJSON *j = run_code(&e, "timeout-1", "while True: pass", 1);
	cr_expect_str_eq(str_at(j, "status", NULL), "Failed");
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "error");
	cr_expect_str_eq(str_at(err, "code", NULL), "ExecutionTimeout");
	cr_expect_str_eq(str_at(err, "message", NULL), "Execution timed out after 1 seconds.");
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "stderr", NULL),
			 "Execution timed out after 1 seconds.\n");
	cJSON_Delete(j);
	j = run_code(&e, "timeout-1", "kept", 0);
	cr_expect_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult")->valueint, 7);
	cJSON_Delete(j);
}

Test(exec, stuck_c_loop_is_killed_and_restarted, .timeout = 90)
{
	struct emu e = shared_emu();
	cJSON_Delete(
	    run_code(&e, "kill-1", "lost = 1\nopen('/mnt/data/kept.txt', 'w').write('k')", 0));
	cJSON *j = run_code(&e, "kill-1", "sum(range(10**12))", 1);
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "error");
	cr_expect_str_eq(str_at(err, "code", NULL), "ExecutionTimeout");
	cr_expect_str_eq(str_at(err, "message", NULL),
			 "Execution timed out after 1 seconds. The Python interpreter was "
			 "restarted; variables and imports were lost.");
	cJSON_Delete(j);
	j = run_code(&e, "kill-1", "'lost' in globals(), open('/mnt/data/kept.txt').read()", 0);
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "executionResult", NULL),
			 "(False, 'k')");
	cJSON_Delete(j);
}

Test(exec, crash_restarts_the_interpreter)
{
	struct emu e = shared_emu();
	cJSON_Delete(run_code(&e, "crash-1", "gone = 1", 0));
	cJSON *j = run_code(&e, "crash-1", "import os; os._exit(3)", 0);
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "error");
	cr_expect_str_eq(str_at(err, "code", NULL), "InterpreterRestarted");
	cr_expect(strstr(str_at(cJSON_GetObjectItem(j, "result"), "stderr", NULL),
			 "The Python interpreter exited unexpectedly (exit status 3); it was "
			 "restarted and variables and imports were lost.\n"));
	cJSON_Delete(j);
	j = run_code(&e, "crash-1", "'gone' in globals()", 0);
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "executionResult", NULL),
			 "False");
	cJSON_Delete(j);
}

Test(exec, async_flow_and_records)
{
	struct emu e = shared_emu();
	struct http_resp r;
	const char *hdrs[] = {"Content-Type: application/json", "operation-id: my-op-1", NULL};
	struct http_req q = {.path = "/executions?" NEW "&identifier=async-1",
			     .headers = hdrs,
			     .body = "{\"code\":\"import time\\ntime.sleep(0.5)\\nv = 5\\nv\","
				     "\"executionType\":\"Asynchronous\"}"};
	q.body_len = strlen(q.body);
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 202);
	cr_expect_str_eq(r.body, "{\"id\":\"my-op-1\",\"identifier\":\"async-1\",\"executionType\":"
				 "\"Asynchronous\",\"status\":\"Running\"}");
	char *ra = http_resp_header(&r, "Retry-After");
	cr_expect(ra && !strcmp(ra, "1"));
	free(ra);
	http_resp_fini(&r);
	/* A synchronous cell queued behind it runs after it (arrival order). */
	cJSON *j = run_code(&e, "async-1", "v * 2", 0);
	cr_expect_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult")->valueint, 10);
	cJSON_Delete(j);
	r = get(&e, "GET", "/executions/my-op-1?" NEW "&identifier=async-1");
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "{\"id\":\"my-op-1\",\"identifier\":\"async-1\",\"executionType\":"
				 "\"Asynchronous\",\"status\":\"Succeeded\",\"result\":{\"stdout\":"
				 "\"\",\"stderr\":\"\",\"executionResult\":5,"
				 "\"executionTimeInMilliseconds\":") == r.body,
		  "%s", r.body);
	http_resp_fini(&r);
	/* Records are per session: another session's id, and an unknown id, are 404. */
	cJSON_Delete(run_code(&e, "async-2", "1", 0));
	r = get(&e, "GET", "/executions/my-op-1?" NEW "&identifier=async-2");
	expect_error(&r, 404, "ExecutionNotFound");
	r = get(&e, "GET", "/executions/nope?" NEW "&identifier=async-1");
	expect_error(&r, 404, "ExecutionNotFound");
	r = get(&e, "GET", "/executions/my-op-1?" NEW "&identifier=never-created");
	expect_error(&r, 404, "ExecutionNotFound");
	r = get(&e, "GET", "/session?" NEW "&identifier=never-created");
	expect_error(&r, 404, "SessionNotFound");
	/* A duplicate operation-id gets a fresh GUID. */
	q.body = "{\"code\":\"1\"}";
	q.body_len = strlen(q.body);
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	char *id = http_resp_header(&r, "operation-id");
	cr_expect(id && strcmp(id, "my-op-1") && strlen(id) == 36, "%s", id);
	free(id);
	http_resp_fini(&r);
}

Test(exec, body_tolerance_and_validation)
{
	struct emu e = shared_emu();
	const char *path = "/executions?" NEW "&identifier=body-1";
	/* accepted forms */
	const char *ok[] = {
	    "{\"properties\":{\"code\":\"1\"}}",
	    "{\"pythonCode\":\"1\"}",
	    "{\"code\":\"1\",\"codeInputType\":\"INLINE\",\"executionType\":\"synchronous\"}",
	    "{\"code\":\"MQ==\",\"codeInputType\":\"InlineBase64\"}",
	    "{\"code\":\"M\\nQ\",\"codeInputType\":\"inlinebase64\"}",
	    "{\"code\":\"1\",\"codeInputType\":\"InlineText\",\"timeoutInSeconds\":9999}",
	    "{\"code\":\"1\",\"timeoutInSeconds\":null,\"useEmptyKernel\":true,"
	    "\"returnJupyterFormatExecutionResult\":true,\"identifier\":\"zzz\"}",
	    "{\"code\":\"1\",\"outputStreamsMaxLength\":0}",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		struct http_resp r = post(&e, path, ok[i]);
		cr_expect_eq(r.status, 200, "%s -> %s", ok[i], r.body);
		cr_expect(strstr(r.body, "\"executionResult\":1"), "%s -> %s", ok[i], r.body);
		http_resp_fini(&r);
	}
	const char *bad[] = {
	    "",
	    "{",
	    "[1]",
	    "\"code\"",
	    "{}",
	    "{\"code\":1}",
	    "{\"code\":null}",
	    "{\"code\":\"1\",\"codeInputType\":\"Base32\"}",
	    "{\"code\":\"1\",\"codeInputType\":7}",
	    "{\"code\":\"1\",\"executionType\":\"Later\"}",
	    "{\"code\":\"1\",\"timeoutInSeconds\":0}",
	    "{\"code\":\"1\",\"timeoutInSeconds\":1.5}",
	    "{\"code\":\"1\",\"timeoutInSeconds\":\"10\"}",
	    "{\"code\":\"1\",\"outputStreamsMaxLength\":-1}",
	    "{\"code\":\"1\",\"shellCommand\":\"ls\"}",
	    "{\"code\":\"1\",\"stdin\":\"x\"}",
	    "{\"code\":\"!!\",\"codeInputType\":\"InlineBase64\"}",
	    "{\"code\":\"/w==\",\"codeInputType\":\"InlineBase64\"}",
	    "{\"code\":\"1\"} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct http_resp r = post(&e, path, bad[i]);
		expect_error(&r, 400, "InvalidRequestBody");
	}
	/* A declared text/plain body is still parsed as JSON. */
	const char *plain[] = {"Content-Type: text/plain", NULL};
	struct http_req q = {.path = path, .headers = plain, .body = "{\"code\":\"2\"}"};
	q.body_len = strlen(q.body);
	struct http_resp r;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	/* \u0000 in code is a syntax error of the cell, not a cut string. */
	cJSON *j = run_new(&e, "body-1", "{\"code\":\"1\\u0000\"}");
	cr_expect_str_eq(str_at(j, "status", NULL), "Failed");
	cJSON_Delete(j);
}

Test(errors, catalogue_and_check_order)
{
	struct emu e = shared_emu();
	struct http_resp r;
	/* 401 before anything else, even for an unknown route */
	struct http_req q = {.path = "/nope", .no_auth = true};
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	char *www = http_resp_header(&r, "WWW-Authenticate");
	cr_expect(www && !strcmp(www, "Bearer"));
	free(www);
	expect_error(&r, 401, "Unauthorized");
	const char *basic[] = {"Authorization: Basic abc", NULL};
	q.path = "/metadata?" NEW;
	q.headers = basic;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	expect_error(&r, 401, "Unauthorized");
	r = get(&e, "GET", "/nope?" NEW);
	expect_error(&r, 404, "RouteNotFound");
	r = get(&e, "GET", "/subscriptions/s/resourceGroups/r/executions?" NEW);
	expect_error(&r, 404, "RouteNotFound");
	/* method before api-version */
	r = get(&e, "PUT", "/session");
	char *allow = http_resp_header(&r, "Allow");
	cr_expect(allow && !strcmp(allow, "GET, DELETE, HEAD, OPTIONS"), "%s", allow);
	free(allow);
	expect_error(&r, 405, "MethodNotAllowed");
	r = get(&e, "GET", "/code/execute");
	expect_error(&r, 405, "MethodNotAllowed");
	/* api-version before identifier */
	r = get(&e, "GET", "/session");
	expect_error(&r, 400, "MissingApiVersion");
	r = get(&e, "GET", "/session?api-version=");
	expect_error(&r, 400, "MissingApiVersion");
	r = get(&e, "GET", "/session?api-version=2023-01-01&identifier=x");
	expect_error(&r, 400, "UnsupportedApiVersion");
	r = get(&e, "GET", "/session?" NEW);
	expect_error(&r, 400, "MissingIdentifier");
	r = get(&e, "GET", "/session?" NEW "&identifier=");
	expect_error(&r, 400, "MissingIdentifier");
	const char *bad_ids[] = {"abc", "ab%20cd", "ab%5Ccd", "caf%C3%A9", "a%00bcd"};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++) {
		char path[256];
		snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", bad_ids[i]);
		r = post(&e, path, "{\"code\":\"1\"}");
		expect_error(&r, 400, "InvalidIdentifier");
	}
	/* identifier before body */
	r = post(&e, "/executions?" NEW "&identifier=abc", "not json");
	expect_error(&r, 400, "InvalidIdentifier");
	r = get(&e, "GET", "/listSessions?" NEW "&skip=-1");
	expect_error(&r, 400, "InvalidQueryParameter");
	r = get(&e, "GET", "/listSessions?" NEW "&skip=2147483648");
	expect_error(&r, 400, "InvalidQueryParameter");
	r = get(&e, "GET", "/.management/listSessions?skip=x");
	expect_error(&r, 400, "InvalidQueryParameter");
	r = get(&e, "DELETE", "/session?" NEW "&identifier=no-such-session");
	expect_error(&r, 404, "SessionNotFound");
	r = get(&e, "POST", "/.management/getSession?" NEW "&identifier=no-such-session");
	expect_error(&r, 404, "SessionNotFound");
	r = get(&e, "POST", "/.management/stopSession?" NEW "&identifier=no-such-session");
	expect_error(&r, 404, "SessionNotFound");
}

Test(routes, prefix_slashes_case_head_options)
{
	struct emu e = shared_emu();
	const char *paths[] = {
	    "/subscriptions/s/resourceGroups/rg/sessionPools/p/code/"
	    "execute?identifier=route-1&" OLD,
	    "/subscriptions/s/resourceGroups/rg/sessionPools/p//code/execute/?" OLD
	    "&identifier=route-1",
	    "//CODE/Execute?IDENTIFIER=route-1&API-VERSION=2024-08-02-preview",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		struct http_resp r = post(&e, paths[i], "{\"properties\":{\"code\":\"1\"}}");
		cr_expect_eq(r.status, 200, "%s: %s", paths[i], r.body);
		http_resp_fini(&r);
	}
	cJSON_Delete(run_code(&e, "route-1", "1", 0));
	struct http_resp r = get(&e, "HEAD", "/session?" NEW "&identifier=route-1");
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, 0);
	char *cl = http_resp_header(&r, "Content-Length");
	cr_expect(cl && atoi(cl) > 50, "%s", cl);
	free(cl);
	http_resp_fini(&r);
	r = get(&e, "OPTIONS", "/executions");
	cr_expect_eq(r.status, 204);
	char *allow = http_resp_header(&r, "Allow");
	cr_expect_str_eq(allow, "POST, OPTIONS");
	free(allow);
	http_resp_fini(&r);
	/* identifiers with '+' and '/' are kept as sent (no '+' to space) */
	cJSON *j = run_code(&e, "a+b/c%2Fd", "1", 0);
	cr_expect_str_eq(str_at(j, "identifier", NULL), "a+b/c/d");
	cJSON_Delete(j);
}

Test(sessions, get_delete_management_and_lists)
{
	struct emu e = shared_emu();
	cJSON_Delete(run_code(&e, "sess-1", "x = 1", 0));
	struct http_resp r = get(&e, "GET", "/session?" NEW "&identifier=sess-1");
	cr_assert_eq(r.status, 200);
	cJSON *s1 = http_resp_json(&r);
	http_resp_fini(&r);
	const char *keys[] = {"identifier", "expireAt", "createdAt", "lastAccessedAt", "etag"};
	cJSON *it = s1->child;
	for (size_t i = 0; i < 5; i++, it = it->next)
		cr_expect(it && !strcmp(it->string, keys[i]), "member %zu", i);
	const char *created = str_at(s1, "createdAt", NULL);
	cr_expect_eq(strlen(created), 28);
	cr_expect_eq(created[19], '.');
	cr_expect_eq(created[27], 'Z');
	/* GET session and getSession do not touch lastAccessedAt */
	usleep(20000);
	r = get(&e, "GET", "/.management/getSession?identifier=sess-1&" NEW);
	cJSON *v = http_resp_json(&r);
	http_resp_fini(&r);
	const char *vkeys[] = {"identifier", "etag", "expiresAt", "createdAt", "lastAccessedAt"};
	it = v->child;
	for (size_t i = 0; i < 5; i++, it = it->next)
		cr_expect(it && !strcmp(it->string, vkeys[i]), "member %zu", i);
	cr_expect_str_eq(str_at(v, "lastAccessedAt", NULL), str_at(s1, "lastAccessedAt", NULL));
	cr_expect_str_eq(str_at(v, "etag", NULL), str_at(s1, "etag", NULL));
	cJSON_Delete(v);
	/* lists */
	r = get(&e, "GET", "/listSessions?" NEW);
	cr_expect(strstr(r.body, "\"identifier\":\"sess-1\""));
	cr_expect(strstr(r.body, "\"nextLink\":null"));
	http_resp_fini(&r);
	r = get(&e, "POST", "/.management/listSessions");
	cJSON *l = http_resp_json(&r);
	http_resp_fini(&r);
	cr_expect(cJSON_IsArray(cJSON_GetObjectItem(l, "value")));
	cr_expect_eq(cJSON_GetObjectItem(l, "count")->valueint,
		     cJSON_GetArraySize(cJSON_GetObjectItem(l, "value")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(l, "nextLink")));
	cJSON_Delete(l);
	/* stopSession: text/plain, pool from the prefix or the default name */
	r = get(&e, "POST",
		"/subscriptions/s/resourceGroups/r/sessionPools/myPool/.management/"
		"stopSession?" NEW "&identifier=sess-1");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "Session sess-1 in session pool myPool stopped.");
	char *ct = http_resp_header(&r, "Content-Type");
	cr_expect_str_eq(ct, "text/plain");
	free(ct);
	http_resp_fini(&r);
	r = get(&e, "GET", "/session?" NEW "&identifier=sess-1");
	expect_error(&r, 404, "SessionNotFound");
	/* a data operation creates a fresh session: new etag, empty state */
	cJSON *j = run_code(&e, "sess-1", "'x' in globals()", 0);
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(j, "result"), "executionResult", NULL),
			 "False");
	cJSON_Delete(j);
	r = get(&e, "GET", "/session?" NEW "&identifier=sess-1");
	cJSON *s2 = http_resp_json(&r);
	http_resp_fini(&r);
	cr_expect_str_neq(str_at(s2, "etag", NULL), str_at(s1, "etag", NULL));
	cJSON_Delete(s2);
	r = get(&e, "DELETE", "/session?" NEW "&identifier=sess-1");
	cr_expect_eq(r.status, 204);
	cr_expect_eq(r.body_len, 0);
	http_resp_fini(&r);
	r = get(&e, "POST", "/.management/stopSession?" NEW "&identifier=sess-2-none");
	expect_error(&r, 404, "SessionNotFound");
	cJSON_Delete(run_code(&e, "sess-3", "1", 0));
	r = get(&e, "GET", "/.management/stopSession?" NEW "&identifier=sess-3");
	cr_expect_str_eq(r.body, "Session sess-3 in session pool emulator-pool stopped.");
	http_resp_fini(&r);
	cJSON_Delete(s1);
}

struct bg {
	const struct emu *e;
	cJSON *reply;
};

static void *bg_exec(void *arg)
{
	struct bg *b = arg;
	b->reply = run_code(b->e, "cancel-1", "import time\ntime.sleep(60)", 0);
	return NULL;
}

Test(sessions, delete_cancels_a_running_execution, .timeout = 60)
{
	struct emu e = shared_emu();
	cJSON_Delete(run_code(&e, "cancel-1", "1", 0));
	struct bg b = {.e = &e};
	pthread_t t;
	pthread_create(&t, NULL, bg_exec, &b);
	usleep(700000);
	struct http_resp r = get(&e, "DELETE", "/session?" NEW "&identifier=cancel-1");
	cr_expect_eq(r.status, 204);
	http_resp_fini(&r);
	pthread_join(t, NULL);
	cr_assert(b.reply);
	cr_expect_str_eq(str_at(b.reply, "status", NULL), "Canceled");
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(b.reply, "error"), "error");
	cr_expect_str_eq(str_at(err, "code", NULL), "ExecutionCanceled");
	cr_expect_str_eq(str_at(cJSON_GetObjectItem(b.reply, "result"), "stderr", NULL),
			 "Execution canceled: the session was deleted.\n");
	cJSON_Delete(b.reply);
}

Test(pool, metadata_and_healthz)
{
	struct emu e = shared_emu();
	struct http_resp r = get(&e, "GET", "/metadata?" NEW);
	cr_assert_eq(r.status, 200);
	cJSON *m = http_resp_json(&r);
	http_resp_fini(&r);
	cJSON *rt = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "runtimes"), 0);
	cr_expect_str_eq(str_at(rt, "name", NULL), "python");
	cr_expect(!strncmp(str_at(rt, "version", NULL), "3.", 2));
	cJSON *pk;
	bool numpy = false, pandas = false, setuptools = false;
	cJSON_ArrayForEach(pk, cJSON_GetObjectItem(m, "preInstalledPackages"))
	{
		const char *n = str_at(pk, "name", NULL);
		numpy |= n && !strcmp(n, "numpy");
		pandas |= n && !strcmp(n, "pandas");
		setuptools |= n && !strcmp(n, "setuptools");
	}
	cr_expect(numpy && pandas && setuptools);
	cr_expect(str_at(m, "createdAt", NULL) && str_at(m, "lastUpdatedAt", NULL));
	cJSON *k = cJSON_GetObjectItem(m, "jupyterKernel");
	cr_expect(str_at(k, "name", NULL) && str_at(k, "version", NULL) &&
		  str_at(k, "projectUrl", NULL) && str_at(k, "description", NULL));
	cJSON_Delete(m);
	struct http_req q = {.path = "/healthz", .no_auth = true};
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "\"isolation\":\"full\"") ||
		  strstr(r.body, "\"isolation\":\"degraded\""));
	http_resp_fini(&r);
}

Test(robustness, malformed_http_gets_json_and_server_keeps_serving)
{
	struct emu e = shared_emu();
	size_t big = 100 * 1024;
	char *hdr = malloc(big + 16);
	memcpy(hdr, "X-Big: ", 7);
	memset(hdr + 7, 'a', big);
	hdr[7 + big] = '\0';
	const char *hdrs[] = {hdr, NULL};
	struct http_req q = {.path = "/metadata?" NEW, .headers = hdrs};
	struct http_resp r;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 400);
	char *code = http_resp_header(&r, "x-ms-error-code");
	cr_expect_str_eq(code, "BadRequest");
	free(code);
	cr_expect(strstr(r.body, "\"error\":{\"code\":\"BadRequest\""), "%s", r.body);
	http_resp_fini(&r);
	free(hdr);
	/* a body far over the JSON limit is refused without being read */
	q = (struct http_req){.path = "/executions?" NEW "&identifier=robust-1",
			      .headers = json_hdr};
	size_t n = 17 * 1024 * 1024;
	char *body = malloc(n + 1);
	memset(body, ' ', n);
	body[n] = '\0';
	q.body = body;
	q.body_len = n;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 413);
	http_resp_fini(&r);
	free(body);
	r = get(&e, "GET", "/metadata?" NEW);
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
}
