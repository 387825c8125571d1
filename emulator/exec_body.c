/* SPDX-License-Identifier: MIT */
/*
 * The execute request body; see exec_body.h. Members are looked up in "properties" first, then
 * at the top level (§6.1.1); null means absent for the optional ones.
 */
#include "exec_body.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "cleanup.h"
#include "spjson.h"
#include "sputf8.h"
#include "util.h"

/* A member of the body: from "properties" first, then from the top level (§6.1.1). */
static cJSON *member(const cJSON *root, const cJSON *props, const char *name)
{
	cJSON *v = props ? cJSON_GetObjectItemCaseSensitive(props, name) : NULL;
	if (v)
		return v;
	return cJSON_GetObjectItemCaseSensitive(root, name);
}

static bool integral(const cJSON *v, double min)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	       v->valuedouble == floor(v->valuedouble) && v->valuedouble >= min;
}

__attribute__((format(printf, 4, 5))) static int fail(char *msg, size_t msglen, int rc,
						      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return rc;
}

int exec_body_parse(const char *raw, size_t len, const struct config *c, struct exec_body *out,
		    char *msg, size_t msglen)
{
	if (len == 0)
		return fail(msg, msglen, -EINVAL, "The request body is empty.");
	/* Bounded in depth before cJSON sees it (a raw NUL byte is never valid JSON). */
	enum sp_json_why why;
	cleanup_cjson cJSON *root = sp_json_parse(raw, len, len, SP_JSON_DEPTH_MAX, &why);
	if (!root) {
		if (why == SP_JSON_TOO_DEEP)
			return fail(msg, msglen, -EINVAL,
				    "The request body is nested more than %d levels deep.",
				    SP_JSON_DEPTH_MAX);
		return fail(msg, msglen, -EINVAL, "The request body is not valid JSON.");
	}
	if (!cJSON_IsObject(root))
		return fail(msg, msglen, -EINVAL, "The request body must be a JSON object.");
	cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "properties");
	if (!cJSON_IsObject(props))
		props = NULL;

	static const char *const shell_only[] = {"shellCommand", "execCommandAndArgs", "stdin"};
	for (size_t i = 0; i < sizeof(shell_only) / sizeof(*shell_only); i++)
		if (member(root, props, shell_only[i]))
			return fail(msg, msglen, -EINVAL,
				    "'%s' is only available for Shell session pools.",
				    shell_only[i]);

	cJSON *code = member(root, props, "code");
	if (!code)
		code = member(root, props, "pythonCode");
	if (!cJSON_IsString(code))
		return fail(msg, msglen, -EINVAL, "'code' is required and must be a string.");

	bool b64 = false;
	cJSON *cit = member(root, props, "codeInputType");
	if (cit && !cJSON_IsNull(cit)) {
		if (!cJSON_IsString(cit))
			return fail(msg, msglen, -EINVAL, "'codeInputType' must be a string.");
		if (!strcasecmp(cit->valuestring, "InlineBase64")) {
			b64 = true;
		} else if (strcasecmp(cit->valuestring, "Inline") &&
			   strcasecmp(cit->valuestring, "InlineText")) {
			return fail(msg, msglen, -EINVAL,
				    "'codeInputType' must be Inline, InlineBase64 or InlineText.");
		}
	}

	struct exec_body b = {0};
	cJSON *et = member(root, props, "executionType");
	if (et && !cJSON_IsNull(et)) {
		if (!cJSON_IsString(et) || (strcasecmp(et->valuestring, "Synchronous") &&
					    strcasecmp(et->valuestring, "Asynchronous")))
			return fail(msg, msglen, -EINVAL,
				    "'executionType' must be Synchronous or Asynchronous.");
		b.async = !strcasecmp(et->valuestring, "Asynchronous");
	}

	b.timeout_s = (unsigned)c->exec_timeout_default_s;
	cJSON *to = member(root, props, "timeoutInSeconds");
	if (to && !cJSON_IsNull(to)) {
		if (!integral(to, 1))
			return fail(msg, msglen, -EINVAL,
				    "'timeoutInSeconds' must be a whole number of at least 1.");
		b.timeout_s = to->valuedouble > (double)c->exec_timeout_max_s
				  ? (unsigned)c->exec_timeout_max_s
				  : (unsigned)to->valuedouble;
	}

	b.stream_max = (size_t)c->output_streams_max_default;
	cJSON *om = member(root, props, "outputStreamsMaxLength");
	if (om && !cJSON_IsNull(om)) {
		if (!integral(om, 0))
			return fail(
			    msg, msglen, -EINVAL,
			    "'outputStreamsMaxLength' must be a whole number of at least 0.");
		b.stream_max = om->valuedouble > (double)EXEC_STREAM_MAX_HARD
				   ? EXEC_STREAM_MAX_HARD
				   : (size_t)om->valuedouble;
	}

	const char *src = code->valuestring;
	size_t srclen = strlen(src);
	if (b64) {
		size_t n;
		char *dec = NULL;
		if (sp_b64_decode(src, srclen, SP_B64_SKIP_WS, &dec, &n) < 0)
			return fail(msg, msglen, -EINVAL, "'code' is not valid base64.");
		if (!sp_utf8_valid(dec, n, NULL)) {
			free(dec);
			return fail(msg, msglen, -EINVAL, "'code' does not decode to UTF-8 text.");
		}
		b.code = dec;
		b.code_len = n;
		*out = b;
		return 0;
	}
	/* cJSON ends strings at an escaped NUL; keep one so the cell fails as Python would. */
	bool nul = sp_json_has_nul_escape(raw, len);
	b.code = malloc(srclen + 2);
	if (!b.code)
		return fail(msg, msglen, -ENOMEM, "Internal error: out of memory.");
	memcpy(b.code, src, srclen);
	b.code_len = srclen;
	if (nul)
		b.code[b.code_len++] = '\0';
	b.code[b.code_len] = '\0';
	*out = b;
	return 0;
}

enum exec_body_id exec_body_identifier(const char *raw, size_t len, char *buf, size_t buflen,
				       size_t *idlen)
{
	if (!raw || len == 0)
		return EXEC_BODY_ID_ABSENT;
	enum sp_json_why why;
	cleanup_cjson cJSON *root = sp_json_parse(raw, len, len, SP_JSON_DEPTH_MAX, &why);
	if (!cJSON_IsObject(root))
		return EXEC_BODY_ID_ABSENT;
	cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "properties");
	cJSON *id =
	    cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, "identifier") : NULL;
	if (!id || cJSON_IsNull(id))
		id = cJSON_GetObjectItemCaseSensitive(root, "identifier");
	if (!id || cJSON_IsNull(id))
		return EXEC_BODY_ID_ABSENT;
	if (!cJSON_IsString(id))
		return EXEC_BODY_ID_INVALID;
	size_t n = strlen(id->valuestring);
	if (n == 0)
		return EXEC_BODY_ID_ABSENT;
	/* cJSON ends a string at an escaped NUL: "abcd\u0000x" must not become "abcd". The
	 * escape is searched in the whole body: a \u0000 elsewhere can only be in the code, a
	 * cell that fails anyway (a NUL in Python source is a SyntaxError). */
	if (n >= buflen || sp_json_has_nul_escape(raw, len))
		return EXEC_BODY_ID_INVALID;
	memcpy(buf, id->valuestring, n + 1);
	*idlen = n;
	return EXEC_BODY_ID_FOUND;
}
