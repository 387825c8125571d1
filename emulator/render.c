/* SPDX-License-Identifier: MIT */
/*
 * Execution responses in the three shapes (contract §5.1, §5.7, §6.1.2) and the cell value's
 * JSON form (§8.2, §8.3). Pure: a struct exec_view in, a cJSON tree out.
 */
#include "render.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "util.h"

/*
 * A JSON string of |len| bytes of valid UTF-8. cJSON strings end at the first NUL, and output
 * may hold U+0000: such text is escaped here (same escapes as cJSON) and inserted raw.
 */
static cJSON *string_n(const char *s, size_t len)
{
	if (!s)
		return cJSON_CreateString("");
	if (!memchr(s, '\0', len))
		return cJSON_CreateString(s);
	struct strbuf b = {0};
	strbuf_puts(&b, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			strbuf_puts(&b, "\\\"");
			break;
		case '\\':
			strbuf_puts(&b, "\\\\");
			break;
		case '\b':
			strbuf_puts(&b, "\\b");
			break;
		case '\f':
			strbuf_puts(&b, "\\f");
			break;
		case '\n':
			strbuf_puts(&b, "\\n");
			break;
		case '\r':
			strbuf_puts(&b, "\\r");
			break;
		case '\t':
			strbuf_puts(&b, "\\t");
			break;
		default:
			if (c < 0x20)
				strbuf_printf(&b, "\\u%04x", c);
			else
				strbuf_append(&b, (const char *)&s[i], 1);
		}
	}
	strbuf_puts(&b, "\"");
	char *text = strbuf_steal(&b);
	cJSON *j = text ? cJSON_CreateRaw(text) : cJSON_CreateString("");
	free(text);
	return j;
}

/* The cell value as JSON (§8.2, §8.3); |legacy|: null is sent as "" (§5.7). */
static cJSON *value_json(const struct exec_view *v, bool legacy)
{
	switch (v->kind) {
	case BK_VALUE_NONE:
		return cJSON_CreateString("");
	case BK_VALUE_NULL:
		return legacy ? cJSON_CreateString("") : cJSON_CreateNull();
	case BK_VALUE_JSON:
		return cJSON_CreateRaw(v->value ? v->value : "null");
	case BK_VALUE_TEXT:
		return cJSON_CreateString(v->value ? v->value : "");
	case BK_VALUE_IMAGE: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "image");
		cJSON_AddStringToObject(o, "format", "png");
		cJSON_AddStringToObject(o, "base64_data", v->value ? v->value : "");
		return o;
	}
	}
	return cJSON_CreateNull();
}

static const char *new_status(enum exec_status s)
{
	switch (s) {
	case EXEC_RUNNING:
		return "Running";
	case EXEC_SUCCEEDED:
		return "Succeeded";
	case EXEC_FAILED:
		return "Failed";
	case EXEC_CANCELED:
		return "Canceled";
	}
	return "Failed";
}

cJSON *render_exec_old(const struct exec_view *v, bool fault_succeeded)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	const char *status = ok ? "Success" : "Failure";
	if (ok && fault_succeeded)
		status = "Succeeded";
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "$id", "1");
	cJSON *p = cJSON_AddObjectToObject(root, "properties");
	cJSON_AddStringToObject(p, "$id", "2");
	cJSON_AddStringToObject(p, "status", status);
	cJSON_AddItemToObject(p, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(p, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(p, "result", ok ? value_json(v, false) : cJSON_CreateString(""));
	cJSON_AddNumberToObject(p, "executionTimeInMilliseconds", (double)v->exec_ms);
	return root;
}

cJSON *render_exec_legacy(const struct exec_view *v)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "status", ok ? "Success" : "Failure");
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(root, "result", ok ? value_json(v, true) : cJSON_CreateString(""));
	cJSON_AddNumberToObject(root, "executionTimeInMilliseconds", (double)v->exec_ms);
	return root;
}

cJSON *render_exec_new(const struct exec_view *v, const char *identifier)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "id", v->id);
	cJSON_AddStringToObject(root, "identifier", identifier);
	cJSON_AddStringToObject(root, "executionType", v->async ? "Asynchronous" : "Synchronous");
	cJSON_AddStringToObject(root, "status", new_status(v->status));
	if (v->status == EXEC_FAILED || v->status == EXEC_CANCELED) {
		cJSON *e = cJSON_AddObjectToObject(root, "error");
		cJSON *ee = cJSON_AddObjectToObject(e, "error");
		const char *code = exec_error_code(v->error);
		cJSON_AddStringToObject(ee, "code", code ? code : "ExecutionError");
		cJSON_AddStringToObject(ee, "message", v->error_message ? v->error_message : "");
	}
	if (v->status != EXEC_RUNNING) {
		cJSON *res = cJSON_AddObjectToObject(root, "result");
		cJSON_AddItemToObject(res, "stdout", string_n(v->stdout_text, v->stdout_len));
		cJSON_AddItemToObject(res, "stderr", string_n(v->stderr_text, v->stderr_len));
		cJSON_AddItemToObject(res, "executionResult",
				      v->status == EXEC_SUCCEEDED ? value_json(v, false)
								  : cJSON_CreateNull());
		cJSON_AddNumberToObject(res, "executionTimeInMilliseconds", (double)v->exec_ms);
	}
	return root;
}

cJSON *render_mcp_python(const struct exec_view *v, bool *is_error)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	*is_error = !ok;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(root, "executionResult",
			      ok ? value_json(v, false) : cJSON_CreateNull());
	cJSON_AddStringToObject(root, "status", new_status(v->status));
	return root;
}

cJSON *render_mcp_shell(const struct exec_view *v, bool *is_error)
{
	*is_error = v->status != EXEC_SUCCEEDED || v->exit_code != 0;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddNumberToObject(root, "exitCode", (double)v->exit_code);
	return root;
}
