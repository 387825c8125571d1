/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a POST {base}/mcp body, as emulator/mcp.c mcp_handle() sees it, with fake
 * environments whose outcome is chosen by the environment id's first byte ('n' not found, 'c'
 * capacity, 'i' internal, 's' failing silently, 'z' "success" without a result, 'g' a garbage
 * error with an unterminated message; anything else succeeds, echoing the code or command
 * into stdout, and "img…" code gives an image). Checks beyond "no crash": the ops receive only
 * what mcp.h promises (bounded NUL-terminated ids, one shell form, argc bounds, timeout bounds);
 * the status is one mcp.h lists and never 500 (no allocation fails here); a body comes exactly
 * when the status is not 202, and it is one JSON object or a non-empty array of at most
 * MCP_BATCH_MAX messages, each with "jsonrpc":"2.0" and exactly one of result and error.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mcp.h"
#include "spjson.h"

static void check_env(const char *env)
{
	size_t n = env ? strlen(env) : 0;
	if (n == 0 || n > MCP_ENV_ID_MAX)
		abort();
}

/* A failure chosen by the id's first byte, or 0. */
static int outcome(const char *env, struct mcp_tool_error *err)
{
	switch (env[0]) {
	case 'n':
		err->kind = MCP_TOOL_NOT_FOUND;
		return -2;
	case 'c':
		err->kind = MCP_TOOL_CAPACITY;
		strcpy(err->msg,
		       "The session pool has reached its maximum of 1 concurrent sessions.");
		return -28;
	case 'i':
		err->kind = MCP_TOOL_INTERNAL;
		strcpy(err->msg, "cannot start an interpreter");
		return -5;
	case 's':
		return -5;
	case 'g':
		err->kind = (enum mcp_tool_failure)77;
		memset(err->msg, 'x', sizeof(err->msg));
		return -1;
	default:
		return 0;
	}
}

static int fz_launch(void *ctx, char id[37], struct mcp_tool_error *err)
{
	(void)ctx, (void)err;
	memcpy(id, "0b6f3c1e-2d4a-4f5b-8c9d-0e1f2a3b4c5d", 37);
	return 0;
}

static int fz_python(void *ctx, const char *env, const char *code, size_t code_len, long timeout_s,
		     cJSON **structured, bool *is_error, struct mcp_tool_error *err)
{
	(void)ctx;
	check_env(env);
	if (!code || code[code_len] != '\0' || strlen(code) + 1 < code_len ||
	    (timeout_s != -1 && (timeout_s < 1 || timeout_s > MCP_TIMEOUT_ARG_MAX)))
		abort();
	int rc = outcome(env, err);
	if (rc < 0 || env[0] == 'z')
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stdout", code);
	cJSON_AddStringToObject(o, "stderr", "");
	if (!strncmp(code, "img", 3)) {
		cJSON *img = cJSON_AddObjectToObject(o, "executionResult");
		cJSON_AddStringToObject(img, "type", "image");
		cJSON_AddStringToObject(img, "format", "png");
		cJSON_AddStringToObject(img, "base64_data", code);
	} else {
		cJSON_AddNullToObject(o, "executionResult");
	}
	cJSON_AddStringToObject(o, "status", "Succeeded");
	*structured = o;
	*is_error = code_len & 1;
	return 0;
}

static int fz_shell(void *ctx, const char *env, const char *shell_command, const char *const *argv,
		    size_t argc, cJSON **structured, bool *is_error, struct mcp_tool_error *err)
{
	(void)ctx;
	check_env(env);
	if ((shell_command == NULL) == (argv == NULL) || (shell_command && argc != 0) ||
	    (argv && (argc < 1 || argc > MCP_ARGV_MAX)))
		abort();
	for (size_t i = 0; argv && i < argc; i++)
		if (!argv[i])
			abort();
	int rc = outcome(env, err);
	if (rc < 0 || env[0] == 'z')
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "stdout", shell_command ? shell_command : argv[argc - 1]);
	cJSON_AddStringToObject(o, "stderr", "");
	cJSON_AddNumberToObject(o, "exitCode", (double)argc);
	*structured = o;
	*is_error = argc != 0;
	return 0;
}

static const struct mcp_env_ops ops = {NULL, fz_launch, fz_python, fz_shell};

static void check_message(const cJSON *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");
	bool result = cJSON_GetObjectItemCaseSensitive(m, "result") != NULL;
	bool error = cJSON_GetObjectItemCaseSensitive(m, "error") != NULL;
	if (!cJSON_IsObject(m) || !cJSON_IsString(v) || strcmp(v->valuestring, "2.0") ||
	    !cJSON_GetObjectItemCaseSensitive(m, "id") || result == error)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_reply r;
	int status = mcp_handle(&ops, (const char *)data, size, &r);
	if (status != 200 && status != 202 && status != 400 && status != 413)
		abort();
	if ((status == 202) != (r.body == NULL) || (r.body && strlen(r.body) != r.body_len))
		abort();
	if (r.body) {
		cJSON *j =
		    sp_json_parse(r.body, r.body_len, r.body_len, SP_JSON_DEPTH_MAX + 8, NULL);
		if (!j)
			abort(); /* the reply is one JSON value */
		if (cJSON_IsArray(j)) {
			int n = cJSON_GetArraySize(j);
			if (n < 1 || n > MCP_BATCH_MAX || status != 200)
				abort();
			const cJSON *m;
			cJSON_ArrayForEach(m, j) check_message(m);
		} else {
			check_message(j);
		}
		cJSON_Delete(j);
	}
	mcp_reply_fini(&r);

	/* The key check on the input split in two at its first NUL. */
	const char *s = memchr(data, '\0', size);
	if (s) {
		char *key = strndup((const char *)data, (size_t)(s - (const char *)data));
		char *hdr = strndup(s + 1, size - (size_t)(s - (const char *)data) - 1);
		if (key && hdr && mcp_key_ok(true, key, hdr) != (hdr[0] && !strcmp(key, hdr)))
			abort();
		free(key);
		free(hdr);
	}
	return 0;
}
