/* SPDX-License-Identifier: MIT */
/*
 * The MCP JSON-RPC layer (contract §13): methods, tools, error codes and statuses, ids, batches,
 * notifications, hostile input, and the x-ms-apikey check, against fake environments.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define GUID	     "0b6f3c1e-2d4a-4f5b-8c9d-0e1f2a3b4c5d"
#define CAPACITY_MSG "The session pool has reached its maximum of 100 concurrent sessions."

/* ---- Fake environments: the outcome depends on the environment id ---- */

struct fake {
	int launches, pythons, shells;
	char env[256];
	char code[64];
	size_t code_len;
	long timeout;
	char shell[64];
	bool shell_set;
	size_t argc;
	char argv[3][32];
	bool argv_set;
	bool launch_fails;
};

static struct fake fk;

/* 0 and the outcome of a healthy environment, or a failure chosen by the id. */
static int env_outcome(const char *env, struct mcp_tool_error *err)
{
	if (!strcmp(env, "env-missing")) {
		err->kind = MCP_TOOL_NOT_FOUND;
		return -ENOENT;
	}
	if (!strcmp(env, "env-full")) {
		err->kind = MCP_TOOL_CAPACITY;
		snprintf(err->msg, sizeof(err->msg), "%s", CAPACITY_MSG);
		return -ENOSPC;
	}
	if (!strcmp(env, "env-broken")) {
		err->kind = MCP_TOOL_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "cannot start an interpreter");
		return -EIO;
	}
	if (!strcmp(env, "env-silent"))
		return -EIO; /* fails without saying how */
	return 0;
}

static int fake_launch(void *ctx, char id[37], struct mcp_tool_error *err)
{
	cr_assert_eq(ctx, &fk);
	fk.launches++;
	if (fk.launch_fails) {
		err->kind = MCP_TOOL_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "no more GUIDs");
		return -EIO;
	}
	memcpy(id, GUID, 37);
	return 0;
}

static int fake_python(void *ctx, const char *env, const char *code, size_t code_len,
		       long timeout_s, cJSON **structured, bool *is_error,
		       struct mcp_tool_error *err)
{
	cr_assert_eq(ctx, &fk);
	fk.pythons++;
	snprintf(fk.env, sizeof(fk.env), "%s", env);
	cr_assert_lt(code_len, sizeof(fk.code));
	memcpy(fk.code, code, code_len + 1);
	fk.code_len = code_len;
	fk.timeout = timeout_s;
	int rc = env_outcome(env, err);
	if (rc < 0)
		return rc;
	if (!strcmp(env, "env-liar"))
		return 0; /* "success" with no result */
	cJSON *o = cJSON_CreateObject();
	bool failed = !strcmp(code, "1/0");
	cJSON_AddStringToObject(o, "stdout", failed ? "" : "hi\n");
	cJSON_AddStringToObject(o, "stderr", failed ? "ZeroDivisionError: division by zero\n" : "");
	if (failed) {
		cJSON_AddNullToObject(o, "executionResult");
	} else if (!strcmp(code, "plot")) {
		cJSON *img = cJSON_AddObjectToObject(o, "executionResult");
		cJSON_AddStringToObject(img, "type", "image");
		cJSON_AddStringToObject(img, "format", "png");
		cJSON_AddStringToObject(img, "base64_data", "iVBORw0KGgoAAAANSUhEUgAA");
	} else {
		cJSON_AddItemToObject(o, "executionResult", cJSON_CreateRaw("42"));
	}
	cJSON_AddStringToObject(o, "status", failed ? "Failed" : "Succeeded");
	*structured = o;
	*is_error = failed;
	return 0;
}

static int fake_shell(void *ctx, const char *env, const char *shell_command,
		      const char *const *argv, size_t argc, cJSON **structured, bool *is_error,
		      struct mcp_tool_error *err)
{
	cr_assert_eq(ctx, &fk);
	fk.shells++;
	snprintf(fk.env, sizeof(fk.env), "%s", env);
	cr_assert((shell_command == NULL) != (argv == NULL), "exactly one form");
	fk.shell_set = shell_command != NULL;
	fk.argv_set = argv != NULL;
	fk.argc = argc;
	if (shell_command) {
		cr_assert_eq(argc, 0);
		snprintf(fk.shell, sizeof(fk.shell), "%s", shell_command);
	}
	for (size_t i = 0; argv && i < argc && i < 3; i++)
		snprintf(fk.argv[i], sizeof(fk.argv[i]), "%s", argv[i]);
	int rc = env_outcome(env, err);
	if (rc < 0)
		return rc;
	int exit_code = shell_command && !strcmp(shell_command, "false") ? 1 : 0;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stdout", exit_code ? "" : "a.txt\n");
	cJSON_AddStringToObject(o, "stderr", "");
	cJSON_AddNumberToObject(o, "exitCode", exit_code);
	*structured = o;
	*is_error = exit_code != 0;
	return 0;
}

static const struct mcp_env_ops ops = {&fk, fake_launch, fake_python, fake_shell};

/* ---- Helpers ---- */

struct answer {
	int status;
	char *text; /* the body, NULL for none */
	cJSON *json;
};

static struct answer post_n(const char *body, size_t len)
{
	struct mcp_reply r;
	struct answer a = {0};
	a.status = mcp_handle(&ops, body, len, &r);
	if (r.body) {
		cr_assert_eq(strlen(r.body), r.body_len);
		a.text = strdup(r.body);
		a.json = cJSON_Parse(r.body);
		cr_assert_not_null(a.json, "the reply is JSON: %s", r.body);
	}
	mcp_reply_fini(&r);
	cr_assert_null(r.body);
	return a;
}

static struct answer post(const char *body)
{
	return post_n(body, strlen(body));
}

static void answer_fini(struct answer *a)
{
	free(a->text);
	cJSON_Delete(a->json);
}

static const cJSON *at(const cJSON *j, const char *path)
{
	/* "a.b.0.c": members and array indexes */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && j;
	     tok = strtok_r(NULL, ".", &save))
		j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(tok))
				     : cJSON_GetObjectItemCaseSensitive(j, tok);
	return j;
}

static const char *str_at(const cJSON *j, const char *path)
{
	const cJSON *v = at(j, path);
	cr_assert(cJSON_IsString(v), "%s is a string", path);
	return v->valuestring;
}

static double num_at(const cJSON *j, const char *path)
{
	const cJSON *v = at(j, path);
	cr_assert(cJSON_IsNumber(v), "%s is a number", path);
	return v->valuedouble;
}

/* A single request's error: HTTP |status|, JSON-RPC |code|, and the id as |id_text|. */
static void expect_error(const char *body, int status, int code, const char *id_text)
{
	struct answer a = post(body);
	cr_expect_eq(a.status, status, "status of %s: %d", body, a.status);
	cr_assert_not_null(a.json, "%s", body);
	cr_expect_eq(num_at(a.json, "error.code"), code, "code of %s: %s", body, a.text);
	cr_expect(strlen(str_at(a.json, "error.message")) > 0);
	cr_expect_str_eq(str_at(a.json, "jsonrpc"), "2.0");
	cr_expect_null(at(a.json, "result"));
	char want[512];
	snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{", id_text);
	cr_expect(!strncmp(a.text, want, strlen(want)), "%s answers %s", body, a.text);
	answer_fini(&a);
}

/* tools/call |tool| with |args| (JSON text) and id 9: the tool result object. */
static struct answer call_tool(const char *tool, const char *args)
{
	char *body = NULL;
	cr_assert(asprintf(&body,
			   "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
			   "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
			   tool, args) > 0);
	struct answer a = post(body);
	free(body);
	cr_assert_eq(a.status, 200, "%s", a.text);
	cr_assert_null(at(a.json, "error"), "%s", a.text);
	return a;
}

static void expect_tool_failure(const struct answer *a, const char *code)
{
	cr_expect(cJSON_IsTrue(at(a->json, "result.isError")), "%s", a->text);
	cr_expect_str_eq(str_at(a->json, "result.structuredContent.error.code"), code);
	cr_expect_str_eq(str_at(a->json, "result.content.0.type"), "text");
	cr_expect_str_eq(str_at(a->json, "result.content.0.text"),
			 str_at(a->json, "result.structuredContent.error.message"));
	cr_expect_eq(cJSON_GetArraySize(at(a->json, "result.content")), 1);
}

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
}

TestSuite(mcp, .init = setup, .timeout = 30);

/* ---- initialize, ping, tools/list ---- */

Test(mcp, initialize_without_params_as_the_documented_curl_sends_it)
{
	struct answer a = post("{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"initialize\"}");
	cr_expect_eq(a.status, 200);
	cr_expect_str_eq(a.text,
			 "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{\"protocolVersion\":"
			 "\"2025-03-26\",\"capabilities\":{\"tools\":{\"call\":true,\"list\":true,"
			 "\"listChanged\":false}},\"serverInfo\":{\"name\":\"Microsoft Container "
			 "Apps MCP Server\",\"version\":\"" SP_VERSION "\"}}}");
	answer_fini(&a);
	a = post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":null}");
	cr_expect_str_eq(str_at(a.json, "result.protocolVersion"), "2025-03-26");
	answer_fini(&a);
}

Test(mcp, initialize_negotiates_down_to_2025_03_26)
{
	static const char *const offered[] = {"2025-06-18", "2099-01-01", "2025-03-26",
					      "2024-11-05"};
	for (size_t i = 0; i < sizeof(offered) / sizeof(offered[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
			 "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":"
			 "\"test\",\"version\":\"1\"}}}",
			 offered[i]);
		struct answer a = post(body);
		cr_expect_eq(a.status, 200);
		cr_expect_str_eq(str_at(a.json, "result.protocolVersion"), "2025-03-26");
		cr_expect_str_eq(str_at(a.json, "result.serverInfo.name"),
				 "Microsoft Container Apps MCP Server");
		answer_fini(&a);
	}
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
		     "\"protocolVersion\":20250326}}",
		     200, -32602, "0");
}

Test(mcp, ping_answers_an_empty_object)
{
	struct answer a = post("{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}");
	cr_expect_eq(a.status, 200);
	cr_expect_str_eq(a.text, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}");
	answer_fini(&a);
	a = post(
	    "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\",\"params\":{\"_meta\":{}}}");
	cr_expect_str_eq(a.text, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}");
	answer_fini(&a);
}

static void expect_schema(const cJSON *tool, const char *props_json, const char *required_json)
{
	const cJSON *schema = at(tool, "inputSchema");
	cr_assert(cJSON_IsObject(schema));
	cr_expect_str_eq(str_at(schema, "type"), "object");
	/* Compare the properties without their descriptions, which are checked separately. */
	cJSON *props = cJSON_Duplicate(at(schema, "properties"), true);
	cr_assert(cJSON_IsObject(props));
	cJSON *p;
	cJSON_ArrayForEach(p, props)
	{
		const cJSON *d = at(p, "description");
		cr_expect(cJSON_IsString(d) && strlen(d->valuestring) > 10, "%s", p->string);
		cJSON_DeleteItemFromObjectCaseSensitive(p, "description");
	}
	char *got = cJSON_PrintUnformatted(props);
	cr_expect_str_eq(got, props_json);
	cJSON_free(got);
	cJSON_Delete(props);
	got = cJSON_PrintUnformatted(at(schema, "required"));
	cr_expect_str_eq(got, required_json);
	cJSON_free(got);
}

Test(mcp, tools_list_gives_exactly_the_three_tools_with_their_schemas)
{
	struct answer a = post("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}");
	cr_expect_eq(a.status, 200);
	const cJSON *list = at(a.json, "result.tools");
	cr_assert_eq(cJSON_GetArraySize(list), 3, "%s", a.text);
	cr_expect_str_eq(str_at(list, "0.name"), "launchShell");
	cr_expect_str_eq(str_at(list, "1.name"), "runPythonCodeInRemoteEnvironment");
	cr_expect_str_eq(str_at(list, "2.name"), "runShellCommandInRemoteEnvironment");
	cr_expect_null(strstr(a.text, "launchPythonEnvironment"));
	cr_expect_null(at(a.json, "result.nextCursor"));
	for (int i = 0; i < 3; i++)
		cr_expect(strlen(str_at(cJSON_GetArrayItem(list, i), "description")) > 40);
	expect_schema(cJSON_GetArrayItem(list, 0), "{}", "[]");
	expect_schema(cJSON_GetArrayItem(list, 1),
		      "{\"environmentId\":{\"type\":\"string\"},\"pythonCode\":{\"type\":"
		      "\"string\"},\"timeoutInSeconds\":{\"type\":\"integer\",\"minimum\":1}}",
		      "[\"environmentId\",\"pythonCode\"]");
	expect_schema(cJSON_GetArrayItem(list, 2),
		      "{\"environmentId\":{\"type\":\"string\"},\"shellCommand\":{\"type\":"
		      "\"string\"},\"execCommandAndArgs\":{\"type\":\"array\",\"items\":{"
		      "\"type\":\"string\"},\"minItems\":1}}",
		      "[\"environmentId\"]");
	answer_fini(&a);
	/* A cursor (pagination) is accepted and changes nothing. */
	a = post("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":"
		 "\"x\"}}");
	cr_expect_eq(cJSON_GetArraySize(at(a.json, "result.tools")), 3);
	answer_fini(&a);
}

/* ---- Ids ---- */

Test(mcp, ids_of_every_valid_type_are_echoed_as_the_exact_token)
{
	static const char *const ids[] = {
	    "\"1\"",
	    "\"\"",
	    "\"caf\\u00e9 \\\"q\\\" \\n\"",
	    "\"café\"",
	    "0",
	    "-1",
	    "42",
	    "12345678901234567890123",
	    "1.5",
	    "2.50",
	    "1e3",
	    "-0",
	    "-1.25E-7",
	    "1e400",
	    "null",
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char body[256], want[256];
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}",
			 ids[i]);
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}",
			 ids[i]);
		struct answer a = post(body);
		cr_expect_eq(a.status, 200, "%s", ids[i]);
		cr_expect_str_eq(a.text, want);
		answer_fini(&a);
	}
	/* Also in errors, in whatever member order, with an escaped key, and the first of two. */
	expect_error("{\"id\":77,\"method\":\"nope\",\"jsonrpc\":\"2.0\"}", 200, -32601, "77");
	expect_error("{\"jsonrpc\":\"2.0\",\"\\u0069d\":\"k\",\"method\":\"nope\"}", 200, -32601,
		     "\"k\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"nope\"}", 200, -32601,
		     "1");
	expect_error("\xEF\xBB\xBF {\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"nope\"}", 200, -32601,
		     "5");
}

Test(mcp, ids_of_other_types_or_loose_tokens_are_invalid_requests_answered_with_null)
{
	char longid[MCP_ID_MAX + 8];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[0] = longid[sizeof(longid) - 2] = '"';
	longid[sizeof(longid) - 1] = '\0';
	const char *bad[] = {"true", "false", "{}",	  "[1]",      "01",
			     "1.",   "-01",   "\"a\tb\"", "\"\xff\"", longid};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}",
			 bad[i]);
		expect_error(body, 400, -32600, "null");
	}
	/* At the limit the token is still echoed. */
	char okid[MCP_ID_MAX + 1];
	memset(okid, 'y', MCP_ID_MAX);
	okid[0] = okid[MCP_ID_MAX - 1] = '"';
	okid[MCP_ID_MAX] = '\0';
	char body[512];
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", okid);
	struct answer a = post(body);
	cr_expect_eq(a.status, 200);
	cr_expect_not_null(strstr(a.text, okid));
	answer_fini(&a);
}

/* ---- Notifications and client responses ---- */

Test(mcp, notifications_and_client_responses_get_202_and_no_body)
{
	static const char *const quiet[] = {
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":"
	    "3,\"reason\":\"user\"}}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/method\"}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"launchShell\"}}",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":[]}",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"error\":{\"code\":-1,\"message\":\"no\"}}",
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
	};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		struct answer a = post(quiet[i]);
		cr_expect_eq(a.status, 202, "%s", quiet[i]);
		cr_expect_null(a.text, "%s", quiet[i]);
		answer_fini(&a);
	}
	/* A notification is never executed. */
	cr_expect_eq(fk.launches, 0);
	/* An invalid notification is an Invalid Request all the same (JSON-RPC 2.0 §5). */
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}", 400, -32600, "null");
}

/* ---- Batches ---- */

Test(mcp, a_batch_gets_an_array_of_the_answers_in_order)
{
	struct answer a = post("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
			       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			       "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"nope\"},"
			       "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}},"
			       "7,"
			       "{\"jsonrpc\":\"2.0\",\"id\":3.0,\"method\":\"tools/list\"}]");
	cr_expect_eq(a.status, 200);
	cr_assert(cJSON_IsArray(a.json));
	cr_assert_eq(cJSON_GetArraySize(a.json), 4, "%s", a.text);
	cr_expect(!strncmp(a.text,
			   "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},"
			   "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"error\":{\"code\":-32601,",
			   strlen("[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},"
				  "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"error\":{\"code\":-32601,")),
		  "%s", a.text);
	cr_expect(cJSON_IsNull(at(a.json, "2.id")));
	cr_expect_eq(num_at(a.json, "2.error.code"), -32600);
	cr_expect_not_null(
	    strstr(a.text, "{\"jsonrpc\":\"2.0\",\"id\":3.0,\"result\":{\"tools\":"));
	answer_fini(&a);

	a = post("[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
		 "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}]");
	cr_expect_eq(a.status, 202);
	cr_expect_null(a.text);
	answer_fini(&a);

	/* Every element invalid: still an array of answers, HTTP 200. */
	a = post("[1,\"x\",[]]");
	cr_expect_eq(a.status, 200);
	cr_assert_eq(cJSON_GetArraySize(a.json), 3);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(num_at(cJSON_GetArrayItem(a.json, i), "error.code"), -32600);
	answer_fini(&a);

	expect_error("[]", 400, -32600, "null");
	expect_error(" [ ] ", 400, -32600, "null");
}

Test(mcp, a_batch_is_bounded)
{
	size_t cap = (MCP_BATCH_MAX + 1) * 128 + 8;
	char *body = malloc(cap);
	for (int n = MCP_BATCH_MAX; n <= MCP_BATCH_MAX + 1; n++) {
		size_t o = 0;
		body[o++] = '[';
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(
			    body + o, cap - o,
			    "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":"
			    "\"tools/call\",\"params\":{\"name\":\"launchShell\"}}",
			    i ? "," : "", i);
		body[o++] = ']';
		body[o] = '\0';
		fk.launches = 0;
		struct answer a = post(body);
		if (n == MCP_BATCH_MAX) {
			cr_expect_eq(a.status, 200);
			cr_expect_eq(cJSON_GetArraySize(a.json), MCP_BATCH_MAX);
			cr_expect_eq(fk.launches, MCP_BATCH_MAX);
			cr_expect_eq(num_at(a.json, "99.id"), 99);
		} else {
			cr_expect_eq(a.status, 400);
			cr_expect_eq(num_at(a.json, "error.code"), -32600);
			cr_expect_eq(fk.launches, 0, "nothing of a refused batch runs");
		}
		answer_fini(&a);
	}
	free(body);
}

/* ---- Error codes and statuses ---- */

Test(mcp, unparsable_bodies_are_parse_errors_with_400)
{
	static const char *const bad[] = {
	    "{",
	    "",
	    "   ",
	    "{\"jsonrpc\":\"2.0\"} x",
	    "{'a':1}",
	    "[1,]",
	    "nul",
	    "\"unterminated",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], 400, -32700, "null");
	/* A NUL byte, and no body at all. */
	struct answer a = post_n("{\"a\":\0}", 7);
	cr_expect_eq(a.status, 400);
	cr_expect_eq(num_at(a.json, "error.code"), -32700);
	answer_fini(&a);
	struct mcp_reply r;
	cr_expect_eq(mcp_handle(&ops, NULL, 0, &r), 400);
	cr_expect_not_null(strstr(r.body, "-32700"));
	mcp_reply_fini(&r);
}

Test(mcp, invalid_requests_are_32600_with_400)
{
	static const struct {
		const char *body, *id; /* the id answered: the request's when it is valid */
	} bad[] = {
	    {"42", "null"},
	    {"\"ping\"", "null"},
	    {"null", "null"},
	    {"{}", "null"},
	    {"{\"id\":1,\"method\":\"ping\"}", "1"},
	    {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", "1"},
	    {"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":\"x\"}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":3}", "1"},
	    {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":true}", "1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i].body, 400, -32600, bad[i].id);
}

Test(mcp, unknown_methods_are_32601_with_200)
{
	static const char *const names[] = {
	    "resources/list", "prompts/list", "tools/run",	 "Ping",
	    "ping ",	      "ping\\u0000",  "logging/setLevel"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"%s\"}",
			 names[i]);
		expect_error(body, 200, -32601, "4");
	}
	struct answer a = post("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}");
	cr_expect_str_eq(str_at(a.json, "error.message"), "Method not found: 'resources/list'.");
	answer_fini(&a);
	/* Raw control characters and ill-formed UTF-8 never reach the message. */
	a = post("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"a\\u0001b\xc3\"}");
	cr_expect_str_eq(str_at(a.json, "error.message"), "Method not found: 'a?b?'.");
	answer_fini(&a);
}

Test(mcp, bad_params_are_32602_with_200)
{
	static const char *const bad[] = {
	    /* params of the wrong kind */
	    "\"method\":\"tools/call\",\"params\":[\"launchShell\"]",
	    "\"method\":\"ping\",\"params\":[]",
	    "\"method\":\"tools/call\"",
	    "\"method\":\"tools/call\",\"params\":{}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":5}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"launchshell\"}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"launchShell\\u0000\"}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"launchShell\",\"arguments\":\"x\"}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"launchShell\",\"arguments\":[]}",
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"launchShell\",\"arguments\":3}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":\"q\",%s}", bad[i]);
		expect_error(body, 200, -32602, "\"q\"");
	}
	cr_expect_eq(fk.launches, 0);
}

static void expect_bad_args(const char *tool, const char *args)
{
	char body[8192];
	snprintf(body, sizeof(body),
		 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":"
		 "\"%s\",\"arguments\":%s}}",
		 tool, args);
	expect_error(body, 200, -32602, "8");
}

Test(mcp, tool_arguments_are_checked_before_anything_runs)
{
	const char *py = "runPythonCodeInRemoteEnvironment";
	expect_bad_args(py, "{}");
	expect_bad_args(py, "{\"pythonCode\":\"1\"}");
	expect_bad_args(py, "{\"environmentId\":5,\"pythonCode\":\"1\"}");
	expect_bad_args(py, "{\"environmentId\":\"\",\"pythonCode\":\"1\"}");
	expect_bad_args(py, "{\"environmentId\":null,\"pythonCode\":\"1\"}");
	expect_bad_args(py, "{\"environmentId\":\"e1\"}");
	expect_bad_args(py, "{\"environmentId\":\"e1\",\"pythonCode\":5}");
	expect_bad_args(py, "{\"environmentId\":\"e1\",\"pythonCode\":[\"1\"]}");
	static const char *const timeouts[] = {"0", "-3", "1.5", "\"10\"", "true", "[]", "1e999"};
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		char args[128];
		snprintf(args, sizeof(args),
			 "{\"environmentId\":\"e1\",\"pythonCode\":\"1\",\"timeoutInSeconds\":%s}",
			 timeouts[i]);
		expect_bad_args(py, args);
	}
	const char *sh = "runShellCommandInRemoteEnvironment";
	expect_bad_args(sh, "{\"environmentId\":\"e1\"}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"shellCommand\":null,"
			    "\"execCommandAndArgs\":null}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"shellCommand\":\"ls\","
			    "\"execCommandAndArgs\":[\"ls\"]}");
	expect_bad_args(sh, "{\"shellCommand\":\"ls\"}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"shellCommand\":5}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"shellCommand\":[\"ls\"]}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"shellCommand\":\"ls\\u0000 -l\"}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[]}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":\"ls -l\"}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[\"ls\",1]}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[\"ls\",null]}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[\"ls\",[\"-l\"]]}");
	expect_bad_args(sh, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[\"ls\","
			    "\"a\\u0000b\"]}");
	/* MCP_ARGV_MAX items pass, one more does not. */
	char *args = malloc(8 * MCP_ARGV_MAX + 128);
	for (int n = MCP_ARGV_MAX; n <= MCP_ARGV_MAX + 1; n++) {
		size_t o =
		    (size_t)sprintf(args, "{\"environmentId\":\"e1\",\"execCommandAndArgs\":[");
		for (int i = 0; i < n; i++)
			o += (size_t)sprintf(args + o, "%s\"a\"", i ? "," : "");
		strcpy(args + o, "]}");
		if (n > MCP_ARGV_MAX) {
			expect_bad_args(sh, args);
		} else {
			struct answer a = call_tool(sh, args);
			cr_expect_eq(fk.argc, MCP_ARGV_MAX);
			answer_fini(&a);
		}
	}
	free(args);
	cr_expect_eq(fk.pythons, 0);
	cr_expect_eq(fk.shells, 1);
}

/* ---- Tools ---- */

Test(mcp, launch_shell_and_its_alias_return_an_environment_id)
{
	static const char *const names[] = {"launchShell", "launchPythonEnvironment"};
	static const char *const args[] = {"{}", "null", "{\"ignored\":[1,2]}"};
	for (size_t i = 0; i < 2; i++)
		for (size_t k = 0; k < 3; k++) {
			struct answer a = call_tool(names[i], args[k]);
			cr_expect_str_eq(a.text, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{"
						 "\"content\":[{\"type\":\"text\",\"text\":"
						 "\"{\\\"environmentId\\\":\\\"" GUID "\\\"}\"}],"
						 "\"structuredContent\":{\"environmentId\":"
						 "\"" GUID "\"},\"isError\":false}}");
			answer_fini(&a);
		}
	/* Without "arguments" at all, as the documented curl call sends it. */
	struct answer a = post("{\"jsonrpc\":\"2.0\",\"id\":\"2\",\"method\":\"tools/call\","
			       "\"params\":{\"name\":\"launchShell\"}}");
	cr_expect_str_eq(str_at(a.json, "result.structuredContent.environmentId"), GUID);
	answer_fini(&a);
	cr_expect_eq(fk.launches, 7);
	fk.launch_fails = true;
	a = call_tool("launchShell", "{}");
	expect_tool_failure(&a, "InternalError");
	cr_expect_str_eq(str_at(a.json, "result.content.0.text"), "Internal error: no more GUIDs");
	answer_fini(&a);
}

Test(mcp, run_python_passes_the_arguments_and_returns_the_execution)
{
	struct answer a =
	    call_tool("runPythonCodeInRemoteEnvironment",
		      "{\"environmentId\":\"e1\",\"pythonCode\":\"print('hi')\\n42\"}");
	cr_expect_str_eq(fk.env, "e1");
	cr_expect_str_eq(fk.code, "print('hi')\n42");
	cr_expect_eq(fk.code_len, strlen("print('hi')\n42"));
	cr_expect_eq(fk.timeout, -1);
	cr_expect_str_eq(
	    a.text, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":"
		    "\"text\",\"text\":\"{\\\"stdout\\\":\\\"hi\\\\n\\\",\\\"stderr\\\":"
		    "\\\"\\\",\\\"executionResult\\\":42,\\\"status\\\":\\\"Succeeded\\\"}\"}],"
		    "\"structuredContent\":{\"stdout\":\"hi\\n\",\"stderr\":\"\","
		    "\"executionResult\":42,\"status\":\"Succeeded\"},\"isError\":false}}");
	answer_fini(&a);

	static const struct {
		const char *given;
		long passed;
	} to[] = {{"30", 30}, {"30.0", 30}, {"1", 1}, {"null", -1}, {"1e12", MCP_TIMEOUT_ARG_MAX}};
	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		char args[160];
		snprintf(args, sizeof(args),
			 "{\"environmentId\":\"e1\",\"pythonCode\":\"1\",\"timeoutInSeconds\":%s}",
			 to[i].given);
		a = call_tool("runPythonCodeInRemoteEnvironment", args);
		cr_expect_eq(fk.timeout, to[i].passed, "%s", to[i].given);
		answer_fini(&a);
	}
}

Test(mcp, a_failed_cell_is_a_tool_error_result)
{
	struct answer a = call_tool("runPythonCodeInRemoteEnvironment",
				    "{\"environmentId\":\"e1\",\"pythonCode\":\"1/0\"}");
	cr_expect(cJSON_IsTrue(at(a.json, "result.isError")));
	cr_expect_str_eq(str_at(a.json, "result.structuredContent.status"), "Failed");
	cr_expect(cJSON_IsNull(at(a.json, "result.structuredContent.executionResult")));
	cr_expect_not_null(strstr(str_at(a.json, "result.content.0.text"), "ZeroDivisionError"));
	answer_fini(&a);
}

Test(mcp, an_image_stays_whole_in_structured_content_and_is_left_out_of_the_text)
{
	struct answer a = call_tool("runPythonCodeInRemoteEnvironment",
				    "{\"environmentId\":\"e1\",\"pythonCode\":\"plot\"}");
	cr_expect_str_eq(str_at(a.json, "result.structuredContent.executionResult.base64_data"),
			 "iVBORw0KGgoAAAANSUhEUgAA");
	const char *text = str_at(a.json, "result.content.0.text");
	cr_expect_null(strstr(text, "iVBOR"));
	cJSON *shown = cJSON_Parse(text);
	cr_assert_not_null(shown, "the text is JSON: %s", text);
	cr_expect_str_eq(str_at(shown, "executionResult.type"), "image");
	cr_expect_str_eq(str_at(shown, "executionResult.base64_data"),
			 "<24 characters of base64, in structuredContent.executionResult>");
	cJSON_Delete(shown);
	cr_expect(cJSON_IsFalse(at(a.json, "result.isError")));
	answer_fini(&a);
}

Test(mcp, a_nul_in_python_code_keeps_the_text_before_it_and_one_nul)
{
	struct answer a = call_tool("runPythonCodeInRemoteEnvironment",
				    "{\"environmentId\":\"e1\",\"pythonCode\":\"ab\\u0000cd\"}");
	cr_expect_eq(fk.code_len, 3);
	cr_expect(!memcmp(fk.code, "ab\0", 4));
	answer_fini(&a);
	/* An escaped backslash before u0000 is no NUL. */
	a = call_tool("runPythonCodeInRemoteEnvironment",
		      "{\"environmentId\":\"e1\",\"pythonCode\":\"x\\\\u0000\"}");
	cr_expect_str_eq(fk.code, "x\\u0000");
	cr_expect_eq(fk.code_len, 7);
	answer_fini(&a);
}

/* Arguments of the Python (t 0) or shell (t 1) tool in environment |env|. */
static void env_args(char *buf, size_t n, int t, const char *env)
{
	if (t == 0)
		snprintf(buf, n, "{\"environmentId\":\"%s\",\"pythonCode\":\"1\"}", env);
	else
		snprintf(buf, n, "{\"environmentId\":\"%s\",\"shellCommand\":\"ls\"}", env);
}

Test(mcp, unknown_environments_are_tool_errors_that_point_to_launch_shell)
{
	const char *tools[] = {"runPythonCodeInRemoteEnvironment",
			       "runShellCommandInRemoteEnvironment"};
	for (int t = 0; t < 2; t++) {
		char args[512];
		env_args(args, sizeof(args), t, "env-missing");
		struct answer a = call_tool(tools[t], args);
		expect_tool_failure(&a, "EnvironmentNotFound");
		cr_expect_str_eq(str_at(a.json, "result.content.0.text"),
				 "Environment 'env-missing' was not found or has expired. Call "
				 "launchShell to create a new environment, then use its "
				 "environmentId.");
		answer_fini(&a);

		/* Ids that cannot name an environment never reach the server. */
		char longid[MCP_ENV_ID_MAX + 2];
		memset(longid, 'a', sizeof(longid) - 1);
		longid[sizeof(longid) - 1] = '\0';
		const char *never[] = {longid, "e1\\u0000x"};
		for (int k = 0; k < 2; k++) {
			int before = fk.pythons + fk.shells;
			env_args(args, sizeof(args), t, never[k]);
			a = call_tool(tools[t], args);
			expect_tool_failure(&a, "EnvironmentNotFound");
			cr_expect_not_null(
			    strstr(str_at(a.json, "result.content.0.text"), "launchShell"));
			cr_expect_eq(fk.pythons + fk.shells, before);
			answer_fini(&a);
		}
	}
	/* The longest id that can name one is asked about. */
	char maxid[MCP_ENV_ID_MAX + 1], args[512];
	memset(maxid, 'b', MCP_ENV_ID_MAX);
	maxid[MCP_ENV_ID_MAX] = '\0';
	env_args(args, sizeof(args), 0, maxid);
	struct answer a = call_tool(tools[0], args);
	cr_expect_str_eq(fk.env, maxid);
	answer_fini(&a);
}

Test(mcp, capacity_and_internal_failures_are_tool_errors)
{
	struct answer a = call_tool("runPythonCodeInRemoteEnvironment",
				    "{\"environmentId\":\"env-full\",\"pythonCode\":\"1\"}");
	expect_tool_failure(&a, "SessionPoolCapacityExceeded");
	cr_expect_str_eq(str_at(a.json, "result.content.0.text"), CAPACITY_MSG);
	answer_fini(&a);
	a = call_tool("runShellCommandInRemoteEnvironment",
		      "{\"environmentId\":\"env-full\",\"execCommandAndArgs\":[\"ls\"]}");
	expect_tool_failure(&a, "SessionPoolCapacityExceeded");
	answer_fini(&a);
	a = call_tool("runPythonCodeInRemoteEnvironment",
		      "{\"environmentId\":\"env-broken\",\"pythonCode\":\"1\"}");
	expect_tool_failure(&a, "InternalError");
	cr_expect_str_eq(str_at(a.json, "result.content.0.text"),
			 "Internal error: cannot start an interpreter");
	answer_fini(&a);
	a = call_tool("runPythonCodeInRemoteEnvironment",
		      "{\"environmentId\":\"env-silent\",\"pythonCode\":\"1\"}");
	expect_tool_failure(&a, "InternalError");
	cr_expect_str_eq(str_at(a.json, "result.content.0.text"), "Internal error.");
	answer_fini(&a);
	a = call_tool("runPythonCodeInRemoteEnvironment",
		      "{\"environmentId\":\"env-liar\",\"pythonCode\":\"1\"}");
	expect_tool_failure(&a, "InternalError");
	answer_fini(&a);
}

Test(mcp, run_shell_passes_one_form_and_returns_the_exit_code)
{
	struct answer a = call_tool("runShellCommandInRemoteEnvironment",
				    "{\"environmentId\":\"e2\",\"shellCommand\":\"ls /mnt/data\","
				    "\"execCommandAndArgs\":null}");
	cr_expect(fk.shell_set && !fk.argv_set);
	cr_expect_str_eq(fk.shell, "ls /mnt/data");
	cr_expect_str_eq(fk.env, "e2");
	cr_expect_str_eq(a.text,
			 "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":"
			 "\"text\",\"text\":\"{\\\"stdout\\\":\\\"a.txt\\\\n\\\",\\\"stderr\\\":"
			 "\\\"\\\",\\\"exitCode\\\":0}\"}],\"structuredContent\":{\"stdout\":"
			 "\"a.txt\\n\",\"stderr\":\"\",\"exitCode\":0},\"isError\":false}}");
	answer_fini(&a);

	a = call_tool("runShellCommandInRemoteEnvironment",
		      "{\"environmentId\":\"e2\",\"execCommandAndArgs\":[\"ls\",\"-l\",\"a b\"]}");
	cr_expect(!fk.shell_set && fk.argv_set);
	cr_expect_eq(fk.argc, 3);
	cr_expect_str_eq(fk.argv[0], "ls");
	cr_expect_str_eq(fk.argv[1], "-l");
	cr_expect_str_eq(fk.argv[2], "a b");
	answer_fini(&a);

	a = call_tool("runShellCommandInRemoteEnvironment",
		      "{\"environmentId\":\"e2\",\"shellCommand\":\"false\"}");
	cr_expect(cJSON_IsTrue(at(a.json, "result.isError")));
	cr_expect_eq(num_at(a.json, "result.structuredContent.exitCode"), 1);
	answer_fini(&a);

	/* An empty command line is a valid sh -c argument. */
	a = call_tool("runShellCommandInRemoteEnvironment",
		      "{\"environmentId\":\"e2\",\"shellCommand\":\"\"}");
	cr_expect(fk.shell_set);
	cr_expect_str_eq(fk.shell, "");
	answer_fini(&a);
}

/* ---- Hostile input ---- */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	return s;
}

Test(mcp, deep_nesting_is_refused_before_cjson_sees_it)
{
	for (size_t depth = 65; depth <= 100000; depth *= 40) {
		char *open = repeat("", "[", depth, ""), *close = repeat("", "]", depth, "");
		char *body = NULL;
		cr_assert(asprintf(&body, "%s%s", open, close) > 0);
		expect_error(body, 400, -32700, "null");
		free(body);
		body =
		    repeat("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":",
			   "{\"a\":", depth, "");
		expect_error(body, 400, -32700, "null");
		free(body);
		free(open);
		free(close);
	}
	/* 64 levels in all are fine: the ping answers. */
	char *inner = repeat("", "[", 62, ""), *outer = repeat("", "]", 62, "");
	char *body = NULL;
	cr_assert(
	    asprintf(&body,
		     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":%s%s}}",
		     inner, outer) > 0);
	struct answer a = post(body);
	cr_expect_eq(a.status, 200, "%s", a.text);
	answer_fini(&a);
	free(body);
	free(inner);
	free(outer);
}

Test(mcp, huge_strings_are_bounded_in_answers_and_passed_whole_to_the_environment)
{
	/* A 1 MiB method name: -32601 with a short message. */
	char *body = repeat("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"", "m", 1 << 20, "\"}");
	struct answer a = post(body);
	cr_expect_eq(a.status, 200);
	cr_expect_eq(num_at(a.json, "error.code"), -32601);
	cr_expect_lt(strlen(a.text), 300);
	answer_fini(&a);
	free(body);
	/* A 1 MiB tool name. */
	body = repeat(
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"", "t",
	    1 << 20, "\"}}");
	a = post(body);
	cr_expect_eq(num_at(a.json, "error.code"), -32602);
	cr_expect_lt(strlen(a.text), 400);
	answer_fini(&a);
	free(body);
	/* A 1 MiB environment id: not found, never asked, not echoed. */
	body =
	    repeat("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
		   "\"runPythonCodeInRemoteEnvironment\",\"arguments\":{\"pythonCode\":\"1\","
		   "\"environmentId\":\"",
		   "e", 1 << 20, "\"}}}");
	a = post(body);
	expect_tool_failure(&a, "EnvironmentNotFound");
	cr_expect_lt(strlen(a.text), 600);
	cr_expect_eq(fk.pythons, 0);
	answer_fini(&a);
	free(body);
}

Test(mcp, a_body_over_the_limit_is_refused_with_413)
{
	size_t n = MCP_BODY_MAX + 1;
	char *body = malloc(n);
	memset(body, ' ', n);
	memcpy(body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
	       strlen("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"));
	struct answer a = post_n(body, n);
	cr_expect_eq(a.status, 413);
	cr_expect_eq(num_at(a.json, "error.code"), -32600);
	cr_expect(cJSON_IsNull(at(a.json, "id")));
	answer_fini(&a);
	/* One byte less is read. */
	a = post_n(body, n - 1);
	cr_expect_eq(a.status, 200);
	answer_fini(&a);
	free(body);
}

Test(mcp, wrong_types_anywhere_never_crash)
{
	static const char *const vals[] = {"null",  "true", "0",  "-1.5e300", "\"\"",
					   "\"x\"", "[]",   "{}", "[null]",   "{\"a\":null}"};
	static const char *const keys[] = {"id", "jsonrpc", "method", "params"};
	static const char *const argkeys[] = {"environmentId", "pythonCode", "timeoutInSeconds",
					      "shellCommand", "execCommandAndArgs"};
	size_t n = sizeof(vals) / sizeof(vals[0]);
	for (size_t k = 0; k < 4; k++)
		for (size_t v = 0; v < n; v++) {
			char body[256];
			snprintf(body, sizeof(body),
				 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				 "\"params\":{\"name\":\"launchShell\"},\"%s\":%s}",
				 keys[k], vals[v]);
			struct answer a = post(body);
			cr_expect(a.status == 200 || a.status == 202 || a.status == 400, "%s",
				  body);
			answer_fini(&a);
		}
	for (size_t t = 0; t < 3; t++)
		for (size_t k = 0; k < 5; k++)
			for (size_t v = 0; v < n; v++) {
				static const char *const tools[] = {
				    "launchShell", "runPythonCodeInRemoteEnvironment",
				    "runShellCommandInRemoteEnvironment"};
				char body[512];
				snprintf(body, sizeof(body),
					 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
					 "\"params\":{\"name\":\"%s\",\"arguments\":{"
					 "\"%s\":%s,\"environmentId\":\"e\","
					 "\"pythonCode\":\"1\"}}}",
					 tools[t], argkeys[k], vals[v]);
				struct answer a = post(body);
				cr_expect_eq(a.status, 200, "%s", body);
				cr_expect(at(a.json, "result") || at(a.json, "error"), "%s", body);
				answer_fini(&a);
			}
}

/* ---- Authentication helpers ---- */

Test(mcp, api_key_check)
{
	cr_expect(mcp_key_ok(true, NULL, "anything"));
	cr_expect_not(mcp_key_ok(true, NULL, ""));
	cr_expect_not(mcp_key_ok(true, NULL, NULL));
	cr_expect_not(mcp_key_ok(false, NULL, "anything"));
	cr_expect(mcp_key_ok(true, "s3cret", "s3cret"));
	cr_expect(mcp_key_ok(false, "s3cret", "s3cret"));
	cr_expect_not(mcp_key_ok(true, "s3cret", "s3cre"));
	cr_expect_not(mcp_key_ok(true, "s3cret", "s3cret "));
	cr_expect_not(mcp_key_ok(true, "s3cret", "S3CRET"));
	cr_expect_not(mcp_key_ok(true, "s3cret", ""));
	cr_expect_not(mcp_key_ok(true, "s3cret", NULL));
	cr_expect_not(mcp_key_ok(true, "", ""));
}

Test(mcp, unauthorized_and_error_bodies)
{
	char *b = mcp_unauthorized_json(false);
	cr_assert_not_null(b);
	cr_expect(!strncmp(b,
			   "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,"
			   "\"message\":\"",
			   strlen("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,"
				  "\"message\":\"")),
		  "%s", b);
	cr_expect_not_null(strstr(b, "x-ms-apikey"));
	char *c = mcp_unauthorized_json(true);
	cr_expect_str_neq(b, c);
	cJSON_free(b);
	cJSON_free(c);
	b = mcp_error_json(-32600, "too \"big\"\n");
	cr_expect_str_eq(b, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			    "\"message\":\"too \\\"big\\\"\\n\"}}");
	cJSON_free(b);
}
