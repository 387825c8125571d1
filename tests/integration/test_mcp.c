/* SPDX-License-Identifier: MIT */
/*
 * The platform-managed MCP server (contract §13) against the real emulator, as a user sees it:
 * the documented curl sequence (each request on its own connection, no Accept header, no
 * session header, no Authorization), Python and shell in an environment, sharing the session
 * with REST, tool errors (unknown, deleted, expired, capacity), the x-ms-apikey check in every
 * mode, the switch, the JSON-RPC errors, the body limit, notifications, batches and ids, the
 * streamable-HTTP details (Accept, MCP-Protocol-Version, version negotiation, CORS, keep-alive),
 * the pool prefix, and the request log. Most tests share one emulator with default settings;
 * tests that need other flags start their own.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rawhttp.h"
#include "shared.h"

#define NEW "api-version=2025-10-02-preview"
#define KEY "mcp-test-key-1"

#define TOOL_LAUNCH "launchShell"
#define TOOL_PY	    "runPythonCodeInRemoteEnvironment"
#define TOOL_SH	    "runShellCommandInRemoteEnvironment"

/* The last response body, for assertion messages (each test runs in its own process). */
static char last[4096];

static void remember(const struct http_resp *r)
{
	snprintf(last, sizeof(last), "%ld %s", r->status, r->body ? r->body : "");
}

/*
 * POSTs |body| to |path| the way the documented curl calls do: Content-Type: application/json,
 * x-ms-apikey |key| (none when NULL; an empty value when ""), no Accept (libcurl's default is
 * removed unless |extra| brings one), no Authorization, a new connection; |extra| (NULL-ended,
 * may be NULL) adds header lines.
 */
static struct http_resp post_mcp(const struct emu *e, const char *path, const char *key,
				 const char *const *extra, const char *body)
{
	const char *h[24];
	size_t n = 0;
	char keyh[512];
	bool accept = false;
	h[n++] = "Content-Type: application/json";
	if (key) {
		if (*key)
			snprintf(keyh, sizeof(keyh), "x-ms-apikey: %s", key);
		else
			snprintf(keyh, sizeof(keyh), "x-ms-apikey;"); /* curl: an empty value */
		h[n++] = keyh;
	}
	for (size_t i = 0; extra && extra[i] && n < 22; i++) {
		accept |= !strncasecmp(extra[i], "Accept:", 7);
		h[n++] = extra[i];
	}
	if (!accept)
		h[n++] = "Accept:"; /* removes libcurl's "Accept: * / *" */
	h[n] = NULL;
	struct http_req q = {.method = "POST",
			     .path = path,
			     .headers = h,
			     .body = body,
			     .body_len = strlen(body),
			     .no_auth = true};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "POST %s: %s", path, r.error);
	remember(&r);
	return r;
}

/* A REST request with the harness's bearer token. */
static struct http_resp rest(const struct emu *e, const char *method, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct http_resp rest(const struct emu *e, const char *method, const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	struct http_resp r;
	cr_assert_eq(emu_do(e, method, path, &r), 0, "%s %s: %s", method, path, r.error);
	remember(&r);
	return r;
}

/* The member at |dotted| ("result.content.0.text": names, or indexes into arrays), or NULL. */
static cJSON *at(const cJSON *j, const char *dotted)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", dotted);
	char *save = NULL;
	const cJSON *cur = j;
	for (char *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save)) {
		if (cJSON_IsArray(cur) && *k >= '0' && *k <= '9')
			cur = cJSON_GetArrayItem(cur, atoi(k));
		else
			cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	}
	return (cJSON *)cur;
}

static const char *str_at(const cJSON *j, const char *dotted)
{
	const cJSON *x = at(j, dotted);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static bool str_is(const cJSON *j, const char *dotted, const char *want)
{
	const char *s = str_at(j, dotted);
	return s && !strcmp(s, want);
}

static bool num_is(const cJSON *j, const char *dotted, double want)
{
	const cJSON *x = at(j, dotted);
	return cJSON_IsNumber(x) && x->valuedouble == want;
}

static bool header_is(const struct http_resp *r, const char *name, const char *want)
{
	char *h = http_resp_header(r, name);
	bool ok = h && !strcmp(h, want);
	free(h);
	return ok;
}

/* Case-insensitive: the value of header |name| holds |token| (comma-separated list). */
static bool header_lists(const struct http_resp *r, const char *name, const char *token)
{
	char *h = http_resp_header(r, name);
	bool ok = false;
	size_t tl = strlen(token);
	for (char *p = h; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, ",");
		size_t end = l;
		while (end && p[end - 1] == ' ')
			end--;
		if (end == tl && !strncasecmp(p, token, tl))
			ok = true;
		p += l;
	}
	free(h);
	return ok;
}

static bool is_guid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]);
}

/* A JSON-RPC call with a 200 answer: the parsed body (caller deletes). */
static cJSON *rpc_at(const struct emu *e, const char *path, const char *body)
{
	struct http_resp r = post_mcp(e, path, KEY, NULL, body);
	cr_assert_eq(r.status, 200, "%s", last);
	cr_expect(header_is(&r, "Content-Type", "application/json"), "%s", last);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	cr_assert(j, "not JSON: %s", last);
	cr_expect(cJSON_IsArray(j) || str_is(j, "jsonrpc", "2.0"), "%s", last);
	return j;
}

static cJSON *rpc(const struct emu *e, const char *body)
{
	return rpc_at(e, "/mcp", body);
}

/* tools/call |name| with |args| (consumed; NULL: no "arguments"): the parsed answer, whose
 * "result" is asserted present and "id" echoed. */
static cJSON *call_tool(const struct emu *e, const char *name, cJSON *args)
{
	static int next_id = 100;
	int id = next_id++;
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(b, "id", id);
	cJSON_AddStringToObject(b, "method", "tools/call");
	cJSON *p = cJSON_AddObjectToObject(b, "params");
	cJSON_AddStringToObject(p, "name", name);
	if (args)
		cJSON_AddItemToObject(p, "arguments", args);
	char *s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	cJSON *j = rpc(e, s);
	cJSON_free(s);
	cr_assert(num_is(j, "id", id), "id not echoed: %s", last);
	cr_assert(cJSON_IsObject(at(j, "result")), "no result: %s", last);
	cr_expect(str_is(j, "result.content.0.type", "text"), "%s", last);
	cr_expect(cJSON_GetArraySize(at(j, "result.content")) == 1, "%s", last);
	cr_expect(cJSON_IsBool(at(j, "result.isError")), "%s", last);
	return j;
}

static bool is_error(const cJSON *j)
{
	return cJSON_IsTrue(at(j, "result.isError"));
}

static const char *text_of(const cJSON *j)
{
	const char *t = str_at(j, "result.content.0.text");
	return t ? t : "";
}

/* launchShell: the environmentId, checked to be a GUID. */
static void launch(const struct emu *e, char id[37])
{
	cJSON *j = call_tool(e, TOOL_LAUNCH, cJSON_CreateObject());
	const char *s = str_at(j, "result.structuredContent.environmentId");
	cr_assert(is_guid(s), "environmentId is not a GUID: %s", last);
	cr_expect(!is_error(j), "%s", last);
	snprintf(id, 37, "%s", s);
	cJSON_Delete(j);
}

static cJSON *py(const struct emu *e, const char *env, const char *code, long timeout_s)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "environmentId", env);
	cJSON_AddStringToObject(a, "pythonCode", code);
	if (timeout_s > 0)
		cJSON_AddNumberToObject(a, "timeoutInSeconds", (double)timeout_s);
	return call_tool(e, TOOL_PY, a);
}

static cJSON *sh(const struct emu *e, const char *env, const char *command)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "environmentId", env);
	cJSON_AddStringToObject(a, "shellCommand", command);
	return call_tool(e, TOOL_SH, a);
}

static cJSON *sh_argv(const struct emu *e, const char *env, const char *const *argv, int argc)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "environmentId", env);
	cJSON_AddItemToObject(a, "execCommandAndArgs", cJSON_CreateStringArray(argv, argc));
	return call_tool(e, TOOL_SH, a);
}

/* A Python run that must succeed with |stdout| and the JSON value |result| (compact text). */
static void expect_py_ok(const struct emu *e, const char *env, const char *code,
			 const char *stdout_want, const char *result_json)
{
	cJSON *j = py(e, env, code, 0);
	cr_expect(str_is(j, "result.structuredContent.status", "Succeeded"), "%s: %s", code, last);
	cr_expect(!is_error(j), "%s: %s", code, last);
	cr_expect(str_is(j, "result.structuredContent.stdout", stdout_want), "%s: %s", code, last);
	cr_expect(str_is(j, "result.structuredContent.stderr", ""), "%s: %s", code, last);
	char *v = cJSON_PrintUnformatted(at(j, "result.structuredContent.executionResult"));
	cr_expect(v && !strcmp(v, result_json), "%s: executionResult %s, want %s", code,
		  v ? v : "(absent)", result_json);
	cJSON_free(v);
	cJSON_Delete(j);
}

/* A shell run with exactly |out|, |err| and |code|; isError exactly when |code| is not 0. */
static void expect_sh(cJSON *j, const char *out, const char *err, int code)
{
	cr_expect(str_is(j, "result.structuredContent.stdout", out), "stdout: %s", last);
	cr_expect(str_is(j, "result.structuredContent.stderr", err), "stderr: %s", last);
	cr_expect(num_is(j, "result.structuredContent.exitCode", code), "exitCode: %s", last);
	cr_expect(is_error(j) == (code != 0), "isError: %s", last);
	cJSON_Delete(j);
}

/* The tool error for an environment that does not exist (contract §13.2). */
static void expect_not_found(cJSON *j, const char *env)
{
	cr_expect(is_error(j), "%s", last);
	const char *t = text_of(j);
	cr_expect(strstr(t, "not found") && strstr(t, "launchShell") && strstr(t, env),
		  "the text must say '%s' was not found and name launchShell: %s", env, last);
	cr_expect(str_is(j, "result.structuredContent.error.code", "EnvironmentNotFound"), "%s",
		  last);
	cJSON_Delete(j);
}

/* A JSON-RPC error answer with |status|, |code| and the id token |id_json| ("null", "7"). */
static void expect_rpc_error(const struct emu *e, const char *body, long status, int code,
			     const char *id_json)
{
	struct http_resp r = post_mcp(e, "/mcp", KEY, NULL, body);
	cr_expect_eq(r.status, status, "%s -> %s", body, last);
	cr_expect(header_is(&r, "Content-Type", "application/json"), "%s", last);
	cJSON *j = http_resp_json(&r);
	cr_expect(str_is(j, "jsonrpc", "2.0"), "%s -> %s", body, last);
	cr_expect(num_is(j, "error.code", code), "%s -> %s", body, last);
	cr_expect(cJSON_IsString(at(j, "error.message")), "%s -> %s", body, last);
	cr_expect(!at(j, "result"), "%s -> %s", body, last);
	char want[128];
	snprintf(want, sizeof(want), "\"id\":%s,", id_json);
	cr_expect(strstr(r.body, want), "%s: want %s in %s", body, want, last);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

/* GET listSessions (one page holds every session here): does it list |id|? */
static bool listed(const struct emu *e, const char *id)
{
	struct http_resp r = rest(e, "GET", "/listSessions?" NEW);
	cr_assert_eq(r.status, 200, "%s", last);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	bool found = false;
	const cJSON *s;
	cJSON_ArrayForEach(s, at(j, "sessions"))
	{
		found |= str_is(s, "identifier", id);
	}
	cJSON_Delete(j);
	return found;
}

/* POST files (new api-version): |content| as |name| in session |id|'s /mnt/data. */
static void upload(const struct emu *e, const char *id, const char *name, const char *content)
{
	const char *names[] = {"file"}, *fns[] = {name}, *cs[] = {content};
	size_t len;
	char *mp = emu_multipart(&len, 1, names, fns, cs);
	char path[512];
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s", id);
	const char *h[] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY, NULL};
	struct http_req q = {.path = path, .headers = h, .body = mp, .body_len = len};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0);
	free(mp);
	remember(&r);
	cr_assert_eq(r.status, 200, "upload: %s", last);
	http_resp_fini(&r);
}

/* ---- the documented curl sequence ---- */

Test(curl_flow, initialize_list_launch_and_python_state, .timeout = 120)
{
	struct emu e = shared_emu();
	/* initialize with no params at all, as the tutorial's curl call sends */
	cJSON *j = rpc(&e, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"initialize\"}");
	cr_expect(str_is(j, "id", "1"), "the string id must come back a string: %s", last);
	cr_expect(str_is(j, "result.protocolVersion", "2025-03-26"), "%s", last);
	cr_expect(str_is(j, "result.serverInfo.name", "Microsoft Container Apps MCP Server"), "%s",
		  last);
	const char *v = str_at(j, "result.serverInfo.version");
	cr_expect(v && *v, "serverInfo.version: %s", last);
	cr_expect(cJSON_IsTrue(at(j, "result.capabilities.tools.call")), "%s", last);
	cr_expect(cJSON_IsTrue(at(j, "result.capabilities.tools.list")), "%s", last);
	cr_expect(cJSON_IsFalse(at(j, "result.capabilities.tools.listChanged")), "%s", last);
	cr_expect(!at(j, "error"), "%s", last);
	cJSON_Delete(j);

	/* tools/list: exactly the three tools, not the alias */
	j = rpc(&e, "{\"jsonrpc\":\"2.0\",\"id\":\"2\",\"method\":\"tools/list\"}");
	const cJSON *tools = at(j, "result.tools");
	cr_assert(cJSON_IsArray(tools), "%s", last);
	cr_expect_eq(cJSON_GetArraySize(tools), 3, "%s", last);
	const char *want[] = {TOOL_LAUNCH, TOOL_PY, TOOL_SH};
	for (size_t i = 0; i < 3; i++) {
		const cJSON *t, *found = NULL;
		cJSON_ArrayForEach(t, tools)
		{
			if (str_is(t, "name", want[i]))
				found = t;
		}
		cr_expect(found, "tool %s missing: %s", want[i], last);
		if (!found)
			continue;
		const char *d = str_at(found, "description");
		cr_expect(d && *d, "%s has no description", want[i]);
		cr_expect(str_is(found, "inputSchema.type", "object"), "%s", want[i]);
		cr_expect(cJSON_IsObject(at(found, "inputSchema.properties")), "%s", want[i]);
		cr_expect(cJSON_IsArray(at(found, "inputSchema.required")), "%s", want[i]);
	}
	cr_expect(!strstr(last, "launchPythonEnvironment"), "the alias is listed: %s", last);
	const cJSON *req = NULL, *t;
	cJSON_ArrayForEach(t, tools)
	{
		if (str_is(t, "name", TOOL_PY))
			req = at(t, "inputSchema.required");
	}
	char *reqs = cJSON_PrintUnformatted(req);
	cr_expect(reqs && !strcmp(reqs, "[\"environmentId\",\"pythonCode\"]"), "required: %s",
		  reqs ? reqs : "(none)");
	cJSON_free(reqs);
	cJSON_Delete(j);

	/* launchShell, in the tutorial's form */
	j = rpc(&e, "{\"jsonrpc\":\"2.0\",\"id\":\"3\",\"method\":\"tools/call\",\"params\":"
		    "{\"name\":\"launchShell\",\"arguments\":{}}}");
	cr_expect(str_is(j, "id", "3"), "%s", last);
	const char *env0 = str_at(j, "result.structuredContent.environmentId");
	cr_assert(is_guid(env0), "environmentId: %s", last);
	char env[37];
	snprintf(env, sizeof(env), "%s", env0);
	cr_expect(cJSON_IsFalse(at(j, "result.isError")), "%s", last);
	cr_expect(strstr(text_of(j), env), "the text must carry the id: %s", last);
	cJSON_Delete(j);

	/* Python keeps state across calls */
	char body[1024];
	snprintf(body, sizeof(body),
		 "{\"jsonrpc\":\"2.0\",\"id\":\"4\",\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"runPythonCodeInRemoteEnvironment\",\"arguments\":{\"environmentId\":\"%s\","
		 "\"pythonCode\":\"x = 41\"}}}",
		 env);
	j = rpc(&e, body);
	cr_expect(str_is(j, "result.structuredContent.status", "Succeeded"), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.executionResult", ""), "%s", last);
	cJSON_Delete(j);
	snprintf(body, sizeof(body),
		 "{\"jsonrpc\":\"2.0\",\"id\":\"5\",\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"runPythonCodeInRemoteEnvironment\",\"arguments\":{\"environmentId\":\"%s\","
		 "\"pythonCode\":\"x + 1\"}}}",
		 env);
	j = rpc(&e, body);
	cr_expect(str_is(j, "id", "5"), "%s", last);
	cr_expect(num_is(j, "result.structuredContent.executionResult", 42), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.status", "Succeeded"), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.stdout", ""), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.stderr", ""), "%s", last);
	cr_expect(cJSON_IsFalse(at(j, "result.isError")), "%s", last);
	cr_expect(strstr(text_of(j), "42"), "the text must show the value: %s", last);
	cJSON_Delete(j);

	/* the older tool name still launches, though it is not listed */
	j = call_tool(&e, "launchPythonEnvironment", NULL);
	cr_expect(is_guid(str_at(j, "result.structuredContent.environmentId")), "%s", last);
	cr_expect(!str_is(j, "result.structuredContent.environmentId", env), "%s", last);
	cJSON_Delete(j);
}

Test(python, stdout_exception_and_working_directory, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	expect_py_ok(&e, env, "print('hello from mcp')\nprint('line 2')",
		     "hello from mcp\nline 2\n", "\"\"");
	expect_py_ok(&e, env, "import os\nos.getcwd()", "", "\"'/mnt/data'\"");
	expect_py_ok(&e, env, "print('a')\n6 * 7", "a\n", "42");

	cJSON *j = py(&e, env, "y = 5\nprint('before')\n1 / 0", 0);
	cr_expect(is_error(j), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.status", "Failed"), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.stdout", "before\n"), "%s", last);
	const char *err = str_at(j, "result.structuredContent.stderr");
	cr_expect(err && strstr(err, "Traceback (most recent call last):\n") == err &&
		      strstr(err, "File \"<cell>\", line 3") &&
		      strstr(err, "ZeroDivisionError: division by zero\n"),
		  "stderr must hold the traceback: %s", last);
	cr_expect(cJSON_IsNull(at(j, "result.structuredContent.executionResult")), "%s", last);
	cr_expect(strstr(text_of(j), "ZeroDivisionError"),
		  "the text must show the exception to clients without structuredContent: %s",
		  last);
	cJSON_Delete(j);
	/* the interpreter kept its state through the exception */
	expect_py_ok(&e, env, "y * 2", "", "10");
}

Test(python, image_result_is_the_image_object, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	cJSON *j = py(&e, env,
		      "import matplotlib.pyplot as plt\n"
		      "plt.plot([1, 2, 3], [3, 1, 2])\n"
		      "plt.show()",
		      0);
	cr_expect(!is_error(j), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.status", "Succeeded"), "%s", last);
	const cJSON *img = at(j, "result.structuredContent.executionResult");
	cr_assert(cJSON_IsObject(img), "executionResult is not the image object: %s", last);
	cr_expect_eq(cJSON_GetArraySize(img), 3, "%s", last);
	cr_expect(str_is(img, "type", "image"), "%s", last);
	cr_expect(str_is(img, "format", "png"), "%s", last);
	const char *b64 = str_at(img, "base64_data");
	/* "iVBORw0KGgo" is the base64 of the PNG signature */
	cr_expect(b64 && strlen(b64) > 1000 && !strncmp(b64, "iVBORw0KGgo", 11), "base64_data");
	cr_expect(b64 && strlen(b64) % 4 == 0 && !strchr(b64, '\n'), "base64_data padding");
	const char *t = text_of(j);
	cr_expect(strlen(t) < 1024, "the text carries %zu bytes (base64?): %.300s", strlen(t), t);
	cr_expect(!strstr(t, "iVBORw0KGgo"), "the text carries the base64: %.300s", t);
	cr_expect(strstr(t, "image"), "the text must say there is an image: %s", t);
	cJSON_Delete(j);
}

Test(python, timeout_in_seconds, .timeout = 60)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	expect_py_ok(&e, env, "kept = 'yes'", "", "\"\"");
	time_t t0 = time(NULL);
	cJSON *j = py(&e, env, "while True: pass", 1);
	time_t took = time(NULL) - t0;
	cr_expect(is_error(j), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.status", "Failed"), "%s", last);
	cr_expect(
	    str_is(j, "result.structuredContent.stderr", "Execution timed out after 1 seconds.\n"),
	    "%s", last);
	cr_expect(cJSON_IsNull(at(j, "result.structuredContent.executionResult")), "%s", last);
	cr_expect(took <= 10, "a 1 s timeout took %lld s", (long long)took);
	cJSON_Delete(j);
	/* a KeyboardInterrupt that ends the loop keeps the interpreter (§8.6) */
	expect_py_ok(&e, env, "kept", "", "\"'yes'\"");
}

/* ---- shell ---- */

Test(shell, shell_command_pipes_exit_code_and_stderr, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	expect_sh(sh(&e, env, "printf 'b\\na\\nc\\n' | sort | head -n 2 && echo oops >&2; exit 3"),
		  "a\nb\n", "oops\n", 3);
	expect_sh(sh(&e, env, "echo ok | tr a-z A-Z"), "OK\n", "", 0);
	expect_sh(sh(&e, env, "pwd"), "/mnt/data\n", "", 0);
	const char *pwd[] = {"pwd"};
	expect_sh(sh_argv(&e, env, pwd, 1), "/mnt/data\n", "", 0);
	/* a command that does not exist: the shell's 127 and its message */
	cJSON *j = sh(&e, env, "no-such-command-xyz");
	cr_expect(num_is(j, "result.structuredContent.exitCode", 127), "%s", last);
	cr_expect(is_error(j), "%s", last);
	const char *err = str_at(j, "result.structuredContent.stderr");
	cr_expect(err && strstr(err, "no-such-command-xyz"), "%s", last);
	cr_expect(strstr(text_of(j), "no-such-command-xyz"), "%s", last);
	cJSON_Delete(j);
	/* the working directory a Python cell sets is the one commands run in (§13.2) */
	expect_py_ok(&e, env, "import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')", "",
		     "\"\"");
	expect_sh(sh(&e, env, "pwd"), "/mnt/data/sub\n", "", 0);
}

Test(shell, exec_command_and_args_verbatim, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	/* the format holds a backslash and an n, for printf itself to turn into a newline */
	const char *argv[] = {"printf", "[%s]\\n", "two words; echo injected",
			      "$HOME",	"*",	   "a\"b'c"};
	expect_sh(sh_argv(&e, env, argv, 6), "[two words; echo injected]\n[$HOME]\n[*]\n[a\"b'c]\n",
		  "", 0);
	const char *fail[] = {"sh", "-c", "echo to-err >&2; exit 7"};
	expect_sh(sh_argv(&e, env, fail, 3), "", "to-err\n", 7);
	const char *missing[] = {"/nonexistent/program"};
	cJSON *j = sh_argv(&e, env, missing, 1);
	cr_expect(num_is(j, "result.structuredContent.exitCode", 127), "%s", last);
	cr_expect(is_error(j), "%s", last);
	cJSON_Delete(j);
}

/* ---- sharing the session with REST ---- */

Test(rest, files_are_shared_both_ways, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	/* REST upload (new api-version) into the environment's /mnt/data */
	upload(&e, env, "from-rest.txt", "uploaded through POST files");

	expect_sh(sh(&e, env, "cat from-rest.txt"), "uploaded through POST files", "", 0);
	const char *cat[] = {"cat", "/mnt/data/from-rest.txt"};
	expect_sh(sh_argv(&e, env, cat, 2), "uploaded through POST files", "", 0);
	expect_py_ok(&e, env, "print(open('/mnt/data/from-rest.txt').read())",
		     "uploaded through POST files\n", "\"\"");

	/* a file a command writes is listed and downloaded through REST */
	expect_sh(sh(&e, env, "printf 'made by sh\\n' > from-shell.txt"), "", "", 0);
	struct http_resp r = rest(&e, "GET", "/files?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 200, "%s", last);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	const cJSON *f, *found = NULL;
	cJSON_ArrayForEach(f, at(j, "value"))
	{
		if (str_is(f, "name", "from-shell.txt"))
			found = f;
	}
	cr_expect(found && num_is(found, "sizeInBytes", 11) && str_is(found, "type", "file"),
		  "from-shell.txt is not listed with 11 bytes: %s", last);
	cr_expect_eq(cJSON_GetArraySize(at(j, "value")), 2, "%s", last);
	cJSON_Delete(j);
	r = rest(&e, "GET", "/files/from-shell.txt/content?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 200, "%s", last);
	cr_expect(r.body_len == 11 && !memcmp(r.body, "made by sh\n", 11), "%s", last);
	http_resp_fini(&r);
	/* and Python wrote what REST downloads, too */
	expect_py_ok(&e, env, "open('from-py.txt', 'w').write('py!')", "", "3");
	r = rest(&e, "GET", "/files/from-py.txt/content?" NEW "&identifier=%s", env);
	cr_expect(r.status == 200 && !strcmp(r.body, "py!"), "%s", last);
	http_resp_fini(&r);
}

Test(rest, the_environment_is_a_session_after_its_first_run, .timeout = 120)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	/* launchShell creates nothing */
	cr_expect(!listed(&e, env), "listed before its first run");
	struct http_resp r = rest(&e, "GET", "/session?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 404, "%s", last);
	cr_expect(header_is(&r, "x-ms-error-code", "SessionNotFound"), "%s", last);
	http_resp_fini(&r);
	/* the first run creates the session */
	expect_sh(sh(&e, env, "true"), "", "", 0);
	cr_expect(listed(&e, env), "not listed after its first run");
	r = rest(&e, "GET", "/session?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 200, "%s", last);
	cJSON *j = http_resp_json(&r);
	cr_expect(str_is(j, "identifier", env), "%s", last);
	cJSON_Delete(j);
	http_resp_fini(&r);
	/* REST code runs in the same interpreter as MCP code */
	expect_py_ok(&e, env, "shared_value = 'set by mcp'", "", "\"\"");
	char *st = emu_exec(&e, env, "print(shared_value)", &r);
	cr_expect(st && !strcmp(st, "Succeeded"), "%s", r.body);
	j = http_resp_json(&r);
	cr_expect(str_is(j, "result.stdout", "set by mcp\n"), "%s", r.body);
	cJSON_Delete(j);
	free(st);
	http_resp_fini(&r);
}

/* ---- tool errors ---- */

Test(errors, unknown_environment, .timeout = 60)
{
	struct emu e = shared_emu();
	expect_not_found(py(&e, "no-such-environment", "1", 0), "no-such-environment");
	expect_not_found(sh(&e, "no-such-environment", "true"), "no-such-environment");
	/* a well-formed GUID that launchShell never gave */
	const char *guid = "0b7c2f0e-8f63-4c6b-9d0c-3f1e2a4b5c6d";
	expect_not_found(py(&e, guid, "1", 0), guid);
	const char *argv[] = {"true"};
	expect_not_found(sh_argv(&e, guid, argv, 1), guid);
	cr_expect(!listed(&e, guid), "a session was created for an unknown environment");
}

Test(errors, environment_deleted_through_rest, .timeout = 60)
{
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	expect_py_ok(&e, env, "z = 1", "", "\"\"");
	struct http_resp r = rest(&e, "DELETE", "/session?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 204, "%s", last);
	http_resp_fini(&r);
	expect_not_found(py(&e, env, "z", 0), env);
	expect_not_found(sh(&e, env, "true"), env);
	cr_expect(!listed(&e, env), "the deleted environment came back");
}

Test(errors, environment_first_used_through_rest_then_deleted, .timeout = 60)
{
	/* The environment's session is created by a REST upload, not by a tool call, and then
	 * deleted through REST: it is gone for MCP too, not silently re-created empty. */
	struct emu e = shared_emu();
	char env[37];
	launch(&e, env);
	upload(&e, env, "needed.csv", "a,b\n1,2\n");
	cr_expect(listed(&e, env));
	struct http_resp r = rest(&e, "DELETE", "/session?" NEW "&identifier=%s", env);
	cr_expect_eq(r.status, 204, "%s", last);
	http_resp_fini(&r);
	expect_not_found(sh(&e, env, "cat needed.csv"), env);
	cr_expect(!listed(&e, env), "the deleted environment came back, empty");
}

static struct emu own;

static void own_start(const char *const *args)
{
	cr_assert_eq(emu_start(&own, args, 120), 0, "the emulator did not start");
}

static void own_stop(void)
{
	emu_stop(&own);
}

static void start_capacity(void)
{
	static const char *const args[] = {"--max-sessions", "1", "--ready-sessions", "1", NULL};
	own_start(args);
}

Test(errors, capacity_is_a_tool_error, .init = start_capacity, .fini = own_stop, .timeout = 120)
{
	char *st = emu_exec(&own, "rest-holds-the-slot", "1", NULL);
	cr_assert(st && !strcmp(st, "Succeeded"), "the REST session did not start");
	free(st);
	char env[37];
	launch(&own, env);
	const char *msg = "The session pool has reached its maximum of 1 concurrent sessions.";
	cJSON *j = py(&own, env, "1", 0);
	cr_expect(is_error(j), "%s", last);
	cr_expect(!strcmp(text_of(j), msg), "%s", last);
	cr_expect(str_is(j, "result.structuredContent.error.code", "SessionPoolCapacityExceeded"),
		  "%s", last);
	cJSON_Delete(j);
	j = sh(&own, env, "true");
	cr_expect(is_error(j) && !strcmp(text_of(j), msg), "%s", last);
	cJSON_Delete(j);
	cr_expect(!listed(&own, env), "an environment was created beyond capacity");
	/* once the slot is free, the same environmentId works: nothing was used up */
	struct http_resp r =
	    rest(&own, "DELETE", "/session?" NEW "&identifier=rest-holds-the-slot");
	cr_expect_eq(r.status, 204, "%s", last);
	http_resp_fini(&r);
	expect_py_ok(&own, env, "6 * 7", "", "42");
	cr_expect(listed(&own, env));
}

static void start_short(void)
{
	static const char *const args[] = {"--cooldown-seconds",
					   "2",
					   "--json-body-max-bytes",
					   "4096",
					   "--ready-sessions",
					   "1",
					   NULL};
	own_start(args);
}

Test(errors, expired_environments_are_not_found, .init = start_short, .fini = own_stop,
     .timeout = 120)
{
	char unused[37], used[37];
	launch(&own, unused);
	launch(&own, used);
	expect_sh(sh(&own, used, "echo alive"), "alive\n", "", 0);
	cr_expect(listed(&own, used));
	/* past the cooldown: the used one expired, the unused reservation lapsed */
	struct timespec ts = {3, 500 * 1000 * 1000};
	nanosleep(&ts, NULL);
	cr_expect(!listed(&own, used), "the environment did not expire");
	expect_not_found(py(&own, used, "1", 0), used);
	expect_not_found(sh(&own, unused, "true"), unused);
	/* a new one works */
	char fresh[37];
	launch(&own, fresh);
	expect_py_ok(&own, fresh, "6 * 7", "", "42");
}

Test(protocol, body_over_the_json_limit_is_413, .init = start_short, .fini = own_stop,
     .timeout = 120)
{
	char *big = malloc(5001);
	cr_assert(big);
	memset(big, ' ', 5000);
	big[5000] = '\0';
	const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
	memcpy(big, ping, strlen(ping));
	struct http_resp r = post_mcp(&own, "/mcp", KEY, NULL, big);
	cr_expect_eq(r.status, 413, "%s", last);
	cJSON *j = http_resp_json(&r);
	cr_expect(str_is(j, "jsonrpc", "2.0") && cJSON_IsNull(at(j, "id")) &&
		      num_is(j, "error.code", -32600),
		  "%s", last);
	cJSON_Delete(j);
	http_resp_fini(&r);
	/* within the limit, the same request is answered */
	big[4000] = '\0';
	r = post_mcp(&own, "/mcp", KEY, NULL, big);
	cr_expect_eq(r.status, 200, "%s", last);
	http_resp_fini(&r);
	free(big);
}

/* ---- authentication and the switch ---- */

/* Asserts the 401 of §13.1 for a request with key |key| (NULL: none) and |extra| headers. */
static void expect_401(const struct emu *e, const char *key, const char *const *extra)
{
	struct http_resp r =
	    post_mcp(e, "/mcp", key, extra, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	cr_expect_eq(r.status, 401, "key %s: %s", key ? key : "(none)", last);
	cr_expect(header_is(&r, "WWW-Authenticate", "ApiKey header=\"x-ms-apikey\""), "%s", last);
	cr_expect(header_is(&r, "Content-Type", "application/json"), "%s", last);
	cJSON *j = http_resp_json(&r);
	cr_expect(str_is(j, "jsonrpc", "2.0"), "%s", last);
	cr_expect(at(j, "id") && cJSON_IsNull(at(j, "id")), "%s", last);
	cr_expect(num_is(j, "error.code", -32001), "%s", last);
	const char *m = str_at(j, "error.message");
	cr_expect(m && *m, "%s", last);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

static void expect_pong(const struct emu *e, const char *key, const char *const *extra)
{
	struct http_resp r =
	    post_mcp(e, "/mcp", key, extra, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	cr_expect_eq(r.status, 200, "key %s: %s", key ? key : "(none)", last);
	cr_expect(!strcmp(r.body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"), "%s", last);
	http_resp_fini(&r);
}

Test(auth, any_non_empty_key_in_the_default_mode, .timeout = 60)
{
	struct emu e = shared_emu();
	expect_401(&e, NULL, NULL);
	expect_401(&e, "", NULL);
	/* a bearer token is no substitute for the key */
	const char *bearer[] = {"Authorization: Bearer some-token", NULL};
	expect_401(&e, NULL, bearer);
	expect_pong(&e, "k", NULL);
	expect_pong(&e, "any other key", bearer);
}

static void start_key(void)
{
	static const char *const args[] = {"--mcp-api-key", "s3cret", "--ready-sessions", "0",
					   NULL};
	own_start(args);
}

Test(auth, configured_key_is_the_only_key, .init = start_key, .fini = own_stop, .timeout = 120)
{
	expect_401(&own, NULL, NULL);
	expect_401(&own, "wrong", NULL);
	expect_401(&own, "s3cre", NULL);
	expect_401(&own, "s3crett", NULL);
	expect_401(&own, "S3CRET", NULL);
	const char *bearer[] = {"Authorization: Bearer s3cret", NULL};
	expect_401(&own, NULL, bearer);
	expect_pong(&own, "s3cret", NULL);
	/* the start-up diagnostics say where the endpoint is, but never the key */
	char path[300];
	snprintf(path, sizeof(path), "%s/emulator.log", own.dir);
	FILE *f = fopen(path, "r");
	cr_assert(f);
	char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char where[300];
	snprintf(where, sizeof(where), "%s/mcp", own.base_url);
	cr_expect(strstr(buf, where), "the log does not say where the MCP server is:\n%s", buf);
	cr_expect(!strstr(buf, "s3cret"), "the key is in the log:\n%s", buf);
}

static void start_env_key(void)
{
	/* the environment variable, as a container user sets it */
	setenv("SESSIONPOOL_MCP_API_KEY", "from-env", 1);
	static const char *const args[] = {"--ready-sessions", "0", NULL};
	own_start(args);
}

Test(auth, key_from_the_environment, .init = start_env_key, .fini = own_stop, .timeout = 120)
{
	expect_401(&own, "other", NULL);
	expect_pong(&own, "from-env", NULL);
}

static void start_strict(void)
{
	static const char *const args[] = {
	    "--auth-mode", "strict", "--static-token", "tok", "--ready-sessions", "0", NULL};
	own_start(args);
}

Test(auth, strict_mode_without_a_key_refuses_every_key, .init = start_strict, .fini = own_stop,
     .timeout = 120)
{
	expect_401(&own, "tok", NULL);
	expect_401(&own, "anything", NULL);
	const char *bearer[] = {"Authorization: Bearer tok", NULL};
	expect_401(&own, "tok", bearer);
	/* the REST side still opens with its token: only /mcp is closed */
	struct http_resp r;
	const char *h[] = {"Authorization: Bearer tok", NULL};
	struct http_req q = {.path = "/listSessions?" NEW, .headers = h, .no_auth = true};
	cr_assert_eq(emu_request(&own, &q, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	http_resp_fini(&r);
}

static void start_disabled(void)
{
	static const char *const args[] = {"--mcp", "disabled", "--ready-sessions", "0", NULL};
	own_start(args);
}

Test(auth, disabled_is_route_not_found, .init = start_disabled, .fini = own_stop, .timeout = 120)
{
	const char *paths[] = {"/mcp", "/subscriptions/s/resourceGroups/g/sessionPools/p/mcp"};
	for (size_t i = 0; i < 2; i++) {
		struct http_resp r = post_mcp(&own, paths[i], KEY, NULL,
					      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
		cr_expect_eq(r.status, 404, "%s: %s", paths[i], last);
		cr_expect(header_is(&r, "x-ms-error-code", "RouteNotFound"), "%s", last);
		cJSON *j = http_resp_json(&r);
		cr_expect(str_is(j, "error.code", "RouteNotFound"), "%s", last);
		cJSON_Delete(j);
		http_resp_fini(&r);
	}
}

/* ---- JSON-RPC ---- */

Test(protocol, other_methods_are_405_with_allow, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *methods[] = {"GET", "DELETE"};
	for (size_t i = 0; i < 2; i++) {
		const char *h[] = {"x-ms-apikey: " KEY, "Accept: text/event-stream", NULL};
		struct http_req q = {.method = methods[i], .path = "/mcp", .headers = h};
		struct http_resp r;
		cr_assert_eq(emu_request(&e, &q, &r), 0);
		remember(&r);
		cr_expect_eq(r.status, 405, "%s: %s", methods[i], last);
		cr_expect(header_lists(&r, "Allow", "POST"), "%s: Allow", methods[i]);
		cr_expect(!header_lists(&r, "Allow", methods[i]), "%s: Allow", methods[i]);
		char *ct = http_resp_header(&r, "Content-Type");
		cr_expect(!ct || strncmp(ct, "text/event-stream", 17),
			  "an event stream was opened");
		free(ct);
		http_resp_fini(&r);
	}
}

Test(protocol, error_codes, .timeout = 60)
{
	struct emu e = shared_emu();
	expect_rpc_error(&e, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":", 400, -32700, "null");
	expect_rpc_error(&e, "not json at all", 400, -32700, "null");
	expect_rpc_error(&e, "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}", 400, -32600,
			 "7");
	expect_rpc_error(&e, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/list\"}", 200,
			 -32601, "7");
	expect_rpc_error(&e, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"no/such\",\"params\":{}}",
			 200, -32601, "7");
	/* bad params: unknown tool, missing or mistyped arguments */
	const char *bad[] = {
	    "{\"name\":\"noSuchTool\"}",
	    "{\"name\":\"launchShell_\"}",
	    "{\"arguments\":{}}",
	    "{\"name\":\"" TOOL_PY "\",\"arguments\":{\"environmentId\":\"x-x-x-x\"}}",
	    "{\"name\":\"" TOOL_PY "\",\"arguments\":{\"pythonCode\":\"1\"}}",
	    "{\"name\":\"" TOOL_PY
	    "\",\"arguments\":{\"environmentId\":\"x-x-x-x\",\"pythonCode\":1}}",
	    "{\"name\":\"" TOOL_PY "\",\"arguments\":{\"environmentId\":5,\"pythonCode\":\"1\"}}",
	    "{\"name\":\"" TOOL_PY "\",\"arguments\":{\"environmentId\":\"x-x-x-x\",\"pythonCode\":"
	    "\"1\",\"timeoutInSeconds\":\"5\"}}",
	    "{\"name\":\"" TOOL_PY "\",\"arguments\":{\"environmentId\":\"x-x-x-x\",\"pythonCode\":"
	    "\"1\",\"timeoutInSeconds\":0}}",
	    "{\"name\":\"" TOOL_SH "\",\"arguments\":{\"environmentId\":\"x-x-x-x\"}}",
	    "{\"name\":\"" TOOL_SH
	    "\",\"arguments\":{\"environmentId\":\"x-x-x-x\",\"shellCommand\":"
	    "\"true\",\"execCommandAndArgs\":[\"true\"]}}",
	    "{\"name\":\"" TOOL_SH "\",\"arguments\":{\"environmentId\":\"x-x-x-x\","
	    "\"execCommandAndArgs\":\"ls -l\"}}",
	    "{\"name\":\"" TOOL_SH "\",\"arguments\":{\"environmentId\":\"x-x-x-x\","
	    "\"execCommandAndArgs\":[]}}",
	    "{\"name\":\"" TOOL_SH "\",\"arguments\":{\"environmentId\":\"x-x-x-x\","
	    "\"execCommandAndArgs\":[\"echo\",1]}}",
	    "{\"name\":\"" TOOL_SH
	    "\",\"arguments\":{\"environmentId\":\"x-x-x-x\",\"shellCommand\":"
	    "false}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char body[1024];
		snprintf(body, sizeof(body),
			 "{\"jsonrpc\":\"2.0\",\"id\":\"p%zu\",\"method\":\"tools/call\","
			 "\"params\":%s}",
			 i, bad[i]);
		char id[16];
		snprintf(id, sizeof(id), "\"p%zu\"", i);
		expect_rpc_error(&e, body, 200, -32602, id);
	}
}

Test(protocol, notifications_are_202_with_no_body, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *bodies[] = {
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":"
	    "3,\"reason\":\"user\"}}",
	    /* a response from the client is answered with nothing, too */
	    "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}",
	};
	for (size_t i = 0; i < 3; i++) {
		struct http_resp r = post_mcp(&e, "/mcp", KEY, NULL, bodies[i]);
		cr_expect_eq(r.status, 202, "%s -> %s", bodies[i], last);
		cr_expect_eq(r.body_len, 0, "%s -> %s", bodies[i], last);
		http_resp_fini(&r);
	}
}

Test(protocol, batch_answers_in_order, .timeout = 60)
{
	struct emu e = shared_emu();
	cJSON *j = rpc(&e, "[{\"jsonrpc\":\"2.0\",\"id\":\"first\",\"method\":\"ping\"},"
			   "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"no/such\"},"
			   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"},"
			   "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"initialize\"}]");
	cr_assert(cJSON_IsArray(j), "%s", last);
	cr_assert_eq(cJSON_GetArraySize(j), 4,
		     "one answer per request, none for the "
		     "notification: %s",
		     last);
	cr_expect(str_is(j, "0.id", "first") && cJSON_IsObject(at(j, "0.result")), "%s", last);
	cr_expect(num_is(j, "1.id", 2) && num_is(j, "1.error.code", -32601), "%s", last);
	cr_expect(num_is(j, "2.id", 3) && cJSON_GetArraySize(at(j, "2.result.tools")) == 3, "%s",
		  last);
	cr_expect(num_is(j, "3.id", 4) && str_is(j, "3.result.protocolVersion", "2025-03-26"), "%s",
		  last);
	cJSON_Delete(j);
	/* a batch of notifications only: nothing to answer */
	struct http_resp r =
	    post_mcp(&e, "/mcp", KEY, NULL,
		     "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]");
	cr_expect_eq(r.status, 202, "%s", last);
	cr_expect_eq(r.body_len, 0, "%s", last);
	http_resp_fini(&r);
}

Test(protocol, ids_are_echoed_exactly, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *ids[] = {
	    "\"1\"", "\"req-\\u00e9-\\\"q\\\"\"", "12345678901234567890", "-1", "0", "\"\"",
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		char body[256], want[256];
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}",
			 ids[i]);
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}",
			 ids[i]);
		struct http_resp r = post_mcp(&e, "/mcp", KEY, NULL, body);
		cr_expect_eq(r.status, 200, "%s", last);
		cr_expect(!strcmp(r.body, want), "id %s: got %s", ids[i], r.body);
		http_resp_fini(&r);
	}
	/* a big integer id on a tool call, too */
	struct http_resp r = post_mcp(
	    &e, "/mcp", KEY, NULL,
	    "{\"jsonrpc\":\"2.0\",\"id\":98765432109876543210,\"method\":\"tools/call\",\"params\":"
	    "{\"name\":\"launchShell\"}}");
	cr_expect(strstr(r.body, "{\"jsonrpc\":\"2.0\",\"id\":98765432109876543210,\"result\":"),
		  "%s", last);
	http_resp_fini(&r);
}

/* ---- streamable HTTP ---- */

Test(streamable, sdk_headers_and_version_negotiation, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *sdk[] = {"Accept: application/json, text/event-stream",
			     "MCP-Protocol-Version: 2025-03-26", NULL};
	struct http_resp r =
	    post_mcp(&e, "/mcp", KEY, sdk,
		     "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
		     "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{"
		     "\"name\":\"sdk-test\",\"version\":\"1.0.0\"}}}");
	cr_expect_eq(r.status, 200, "%s", last);
	cr_expect(header_is(&r, "Content-Type", "application/json"), "%s", last);
	cJSON *j = http_resp_json(&r);
	cr_expect(num_is(j, "id", 0), "%s", last);
	cr_expect(str_is(j, "result.protocolVersion", "2025-03-26"), "%s", last);
	cJSON_Delete(j);
	http_resp_fini(&r);

	r = post_mcp(&e, "/mcp", KEY, sdk,
		     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	cr_expect_eq(r.status, 202, "%s", last);
	cr_expect_eq(r.body_len, 0, "%s", last);
	http_resp_fini(&r);

	r = post_mcp(&e, "/mcp", KEY, sdk,
		     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
		     "\"launchShell\",\"arguments\":{}}}");
	cr_expect_eq(r.status, 200, "%s", last);
	cr_expect(header_is(&r, "Content-Type", "application/json"), "%s", last);
	j = http_resp_json(&r);
	cr_expect(is_guid(str_at(j, "result.structuredContent.environmentId")), "%s", last);
	cJSON_Delete(j);
	/* no MCP session is imposed: none is required and none is handed out */
	char *sid = http_resp_header(&r, "Mcp-Session-Id");
	cr_expect_null(sid, "Mcp-Session-Id: %s", sid);
	free(sid);
	http_resp_fini(&r);
}

Test(streamable, cors_preflight_and_response, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *h[] = {"Origin: http://localhost:6274", "Access-Control-Request-Method: POST",
			   "Access-Control-Request-Headers: content-type, x-ms-apikey, "
			   "mcp-protocol-version",
			   NULL};
	struct http_req q = {.method = "OPTIONS", .path = "/mcp", .headers = h, .no_auth = true};
	struct http_resp r;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	remember(&r);
	cr_expect(r.status == 204 || r.status == 200, "preflight: %s", last);
	char *o = http_resp_header(&r, "Access-Control-Allow-Origin");
	cr_expect(o && (!strcmp(o, "*") || !strcmp(o, "http://localhost:6274")), "origin %s",
		  o ? o : "(none)");
	free(o);
	cr_expect(header_lists(&r, "Access-Control-Allow-Methods", "POST"), "%s", r.headers);
	const char *need[] = {"x-ms-apikey", "mcp-protocol-version", "content-type",
			      "mcp-session-id"};
	for (size_t i = 0; i < 4; i++)
		cr_expect(header_lists(&r, "Access-Control-Allow-Headers", need[i]),
			  "%s not allowed:\n%s", need[i], r.headers);
	http_resp_fini(&r);

	/* the POST itself carries the origin header, so the browser may read the answer */
	const char *origin[] = {"Origin: http://localhost:6274", NULL};
	r = post_mcp(&e, "/mcp", KEY, origin, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	cr_expect_eq(r.status, 200, "%s", last);
	o = http_resp_header(&r, "Access-Control-Allow-Origin");
	cr_expect(o && (!strcmp(o, "*") || !strcmp(o, "http://localhost:6274")), "origin %s",
		  o ? o : "(none)");
	free(o);
	http_resp_fini(&r);
	/* and so does a 401, so the browser can tell the user the key is wrong */
	r = post_mcp(&e, "/mcp", NULL, origin,
		     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
	cr_expect_eq(r.status, 401, "%s", last);
	o = http_resp_header(&r, "Access-Control-Allow-Origin");
	cr_expect(o != NULL, "no Access-Control-Allow-Origin on the 401");
	free(o);
	cr_expect(header_lists(&r, "Access-Control-Expose-Headers", "WWW-Authenticate"), "%s",
		  r.headers);
	http_resp_fini(&r);
}

Test(streamable, one_keep_alive_connection, .timeout = 60)
{
	/* An SDK client sends everything on one connection: a refused request must not break it. */
	struct emu e = shared_emu();
	const char *bodies[] = {
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\"}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}",
	};
	int fd = raw_connect(&e);
	cr_assert_geq(fd, 0);
	char req[1024];
	for (size_t i = 0; i < 4; i++) {
		int n = snprintf(req, sizeof(req),
				 "POST /mcp HTTP/1.1\r\nHost: x\r\n%sContent-Type: "
				 "application/json\r\nAccept: application/json, "
				 "text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
				 i ? "x-ms-apikey: " KEY "\r\n" : "", strlen(bodies[i]), bodies[i]);
		cr_assert(raw_send(fd, req, (size_t)n));
	}
	struct raw_reply *out = malloc(sizeof(*out));
	cr_assert(out);
	raw_read(fd, 1.0, out);
	close(fd);
	cr_expect_eq(raw_count_responses(out->buf), 4, "%s", out->buf);
	const char *statuses[] = {"HTTP/1.1 401", "HTTP/1.1 200", "HTTP/1.1 202", "HTTP/1.1 200"};
	const char *p = out->buf;
	for (size_t i = 0; i < 4 && p; i++) {
		p = strstr(p, "HTTP/1.1 ");
		cr_expect(p && !strncmp(p, statuses[i], 12), "response %zu: %s", i, out->buf);
		if (p)
			p++;
	}
	cr_expect(strstr(out->buf, "\"id\":3,\"result\":{\"tools\":["), "%s", out->buf);
	free(out);
}

Test(streamable, pool_prefix_api_version_and_authorization, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *paths[] = {
	    "/subscriptions/s/resourceGroups/g/sessionPools/p/mcp",
	    "/mcp?api-version=2025-10-02-preview",
	    "/mcp?api-version=1999-01-01-nonsense",
	    "/subscriptions/s/resourceGroups/g/sessionPools/p/mcp?api-version=2024-02-02-preview",
	};
	const char *authz[] = {"Authorization: Bearer not-a-jwt", NULL};
	for (size_t i = 0; i < 4; i++) {
		struct http_resp r =
		    post_mcp(&e, paths[i], KEY, i % 2 ? authz : NULL,
			     "{\"jsonrpc\":\"2.0\",\"id\":\"pp\",\"method\":\"tools/list\"}");
		cr_expect_eq(r.status, 200, "%s: %s", paths[i], last);
		cJSON *j = http_resp_json(&r);
		cr_expect(str_is(j, "id", "pp") && cJSON_GetArraySize(at(j, "result.tools")) == 3,
			  "%s: %s", paths[i], last);
		cJSON_Delete(j);
		http_resp_fini(&r);
	}
	/* the environment launched under the prefix runs under the plain path (one pool) */
	cJSON *j =
	    rpc_at(&e, "/subscriptions/s/resourceGroups/g/sessionPools/p/mcp",
		   "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"launchShell\"}}");
	char env[37];
	snprintf(env, sizeof(env), "%s", str_at(j, "result.structuredContent.environmentId"));
	cJSON_Delete(j);
	cr_assert(is_guid(env), "%s", last);
	expect_sh(sh(&e, env, "echo under the plain path"), "under the plain path\n", "", 0);
}

/* ---- the request log ---- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4097 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The shared emulator's log once it holds |needle| (waits up to 10 s: lines follow replies). */
static char *log_with(const struct emu *e, const char *needle)
{
	char path[400];
	snprintf(path, sizeof(path), "%s", e->data_dir);
	char *slash = strrchr(path, '/');
	cr_assert(slash, "data dir %s", e->data_dir);
	snprintf(slash, sizeof(path) - (size_t)(slash - path), "/emulator.log");
	for (int i = 0;; i++) {
		char *text = read_all(path);
		if (strstr(text, needle) || i >= 500)
			return text;
		free(text);
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* A ping padded with spaces to exactly |len| bytes, so its log line is recognisable. */
static char *padded_ping(size_t len)
{
	const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
	char *b = malloc(len + 1);
	cr_assert(b);
	memset(b, ' ', len);
	memcpy(b, ping, strlen(ping));
	b[len] = '\0';
	return b;
}

Test(reqlog, names_mcp_requests, .timeout = 60)
{
	struct emu e = shared_emu();
	const char *secret = "log-key-SECRET-5e0a";
	char *b = padded_ping(7717);
	struct http_resp r = post_mcp(&e, "/mcp", secret, NULL, b);
	cr_expect_eq(r.status, 200, "%s", last);
	http_resp_fini(&r);
	free(b);
	b = padded_ping(7729);
	r = post_mcp(&e, "/subscriptions/s/resourceGroups/g/sessionPools/p/mcp", secret, NULL, b);
	cr_expect_eq(r.status, 200, "%s", last);
	http_resp_fini(&r);
	free(b);
	char *text = log_with(&e, " in=7729 ");
	cr_expect(strstr(text, " POST /mcp 200 id=- in=7717 "), "no line for POST /mcp:\n%s", text);
	cr_expect(strstr(text, " POST /mcp 200 id=- in=7729 "),
		  "the prefixed request is not logged as /mcp:\n%s", text);
	cr_expect(!strstr(text, secret), "the API key is in the log");
	char where[300];
	snprintf(where, sizeof(where), "MCP server at %s/mcp", e.base_url);
	cr_expect(strstr(text, where), "the log does not say where the MCP server is");
	free(text);
	/* refusals are logged too */
	r = post_mcp(&e, "/mcp", NULL, NULL, "{}");
	http_resp_fini(&r);
	struct http_req q = {.method = "DELETE", .path = "/mcp?marker=1", .no_auth = true};
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	http_resp_fini(&r);
	text = log_with(&e, " DELETE /mcp 405 ");
	cr_expect(strstr(text, " POST /mcp 401 "), "no line for the 401");
	cr_expect(strstr(text, " DELETE /mcp 405 "), "no line for the 405");
	free(text);
}
