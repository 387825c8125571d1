/* SPDX-License-Identifier: MIT */
/*
 * Executions (contract §5.1, §5.7, §6.1, §6.2, §8): request-body validation with the tolerance
 * rules of §6.1.1, the run itself (pool.c), and one renderer per shape: old
 * ({"$id":"1","properties":{…}}), legacy (flat) and new (SessionCodeExecutionResource).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "b64.h"
#include "cleanup.h"
#include "pool.h"
#include "render.h"
#include "spjson.h"

/* The largest stream cut honoured per request; memory stays bounded whatever is asked. */
#define STREAM_MAX_HARD (16u << 20)

struct exec_body {
	char *code; /* owned */
	size_t code_len;
	bool async;
	unsigned timeout_s;
	size_t stream_max;
};

/* A member of the body: from "properties" first, then from the top level (§6.1.1). */
static cJSON *member(const cJSON *root, const cJSON *props, const char *name)
{
	cJSON *v = props ? cJSON_GetObjectItemCaseSensitive(props, name) : NULL;
	if (v)
		return v;
	return cJSON_GetObjectItemCaseSensitive(root, name);
}

/* True if the raw JSON text holds a \u0000 escape (cJSON would cut the string there). */
static bool has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 5 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' && s[i + 4] == '0' &&
		    s[i + 5] == '0')
			return true;
		i++; /* skip the escaped character */
	}
	return false;
}

static bool integral(const cJSON *v, double min)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	       v->valuedouble == floor(v->valuedouble) && v->valuedouble >= min;
}

/* Validates the body; on failure sends the error and returns false. */
static bool parse_body(struct req *r, struct exec_body *out)
{
	const struct config *c = r->srv->cfg;
	cleanup_free char *raw = NULL;
	size_t len = 0;
	int rc = http_read_body(r, c->json_body_max_bytes, &raw, &len);
	if (rc == -E2BIG) {
		http_send_error(r, API_ERR_PAYLOAD_TOO_LARGE,
				"The request body exceeds the limit of %llu bytes.",
				(unsigned long long)c->json_body_max_bytes);
		return false;
	}
	if (rc < 0) {
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
				"The request body could not be read.");
		return false;
	}
	if (len == 0) {
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY, "The request body is empty.");
		return false;
	}
	/* Bounded in depth before cJSON sees it (a raw NUL byte is never valid JSON). */
	enum sp_json_why why;
	cleanup_cjson cJSON *root = sp_json_parse(raw, len, len, SP_JSON_DEPTH_MAX, &why);
	if (!root) {
		if (why == SP_JSON_TOO_DEEP)
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"The request body is nested more than %d levels deep.",
					SP_JSON_DEPTH_MAX);
		else
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"The request body is not valid JSON.");
		return false;
	}
	if (!cJSON_IsObject(root)) {
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
				"The request body must be a JSON object.");
		return false;
	}
	cJSON *props = cJSON_GetObjectItemCaseSensitive(root, "properties");
	if (!cJSON_IsObject(props))
		props = NULL;

	static const char *const shell_only[] = {"shellCommand", "execCommandAndArgs", "stdin"};
	for (size_t i = 0; i < sizeof(shell_only) / sizeof(*shell_only); i++)
		if (member(root, props, shell_only[i])) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'%s' is only available for Shell session pools.",
					shell_only[i]);
			return false;
		}

	cJSON *code = member(root, props, "code");
	if (!code)
		code = member(root, props, "pythonCode");
	if (!cJSON_IsString(code)) {
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
				"'code' is required and must be a string.");
		return false;
	}

	bool b64 = false;
	cJSON *cit = member(root, props, "codeInputType");
	if (cit && !cJSON_IsNull(cit)) {
		if (!cJSON_IsString(cit)) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'codeInputType' must be a string.");
			return false;
		}
		if (!strcasecmp(cit->valuestring, "InlineBase64")) {
			b64 = true;
		} else if (strcasecmp(cit->valuestring, "Inline") &&
			   strcasecmp(cit->valuestring, "InlineText")) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'codeInputType' must be Inline, InlineBase64 or "
					"InlineText.");
			return false;
		}
	}

	out->async = false;
	cJSON *et = member(root, props, "executionType");
	if (et && !cJSON_IsNull(et)) {
		if (!cJSON_IsString(et) || (strcasecmp(et->valuestring, "Synchronous") &&
					    strcasecmp(et->valuestring, "Asynchronous"))) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'executionType' must be Synchronous or Asynchronous.");
			return false;
		}
		out->async = !strcasecmp(et->valuestring, "Asynchronous");
	}

	out->timeout_s = (unsigned)c->exec_timeout_default_s;
	cJSON *to = member(root, props, "timeoutInSeconds");
	if (to && !cJSON_IsNull(to)) {
		if (!integral(to, 1)) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'timeoutInSeconds' must be a whole number of at least 1.");
			return false;
		}
		out->timeout_s = to->valuedouble > (double)c->exec_timeout_max_s
				     ? (unsigned)c->exec_timeout_max_s
				     : (unsigned)to->valuedouble;
	}

	out->stream_max = (size_t)c->output_streams_max_default;
	cJSON *om = member(root, props, "outputStreamsMaxLength");
	if (om && !cJSON_IsNull(om)) {
		if (!integral(om, 0)) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'outputStreamsMaxLength' must be a whole number of at "
					"least 0.");
			return false;
		}
		out->stream_max = om->valuedouble > (double)STREAM_MAX_HARD
				      ? STREAM_MAX_HARD
				      : (size_t)om->valuedouble;
	}

	const char *src = code->valuestring;
	size_t srclen = strlen(src);
	if (b64) {
		size_t n;
		char *dec = b64_decode(src, srclen, false, true, &n);
		if (!dec) {
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'code' is not valid base64.");
			return false;
		}
		if (!util_utf8_valid(dec, n)) {
			free(dec);
			http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
					"'code' does not decode to UTF-8 text.");
			return false;
		}
		out->code = dec;
		out->code_len = n;
		return true;
	}
	/* cJSON ends strings at an escaped NUL; keep one so the cell fails as Python would. */
	bool nul = has_nul_escape(raw, len);
	out->code = malloc(srclen + 2);
	if (!out->code) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return false;
	}
	memcpy(out->code, src, srclen);
	out->code_len = srclen;
	if (nul)
		out->code[out->code_len++] = '\0';
	out->code[out->code_len] = '\0';
	return true;
}

/* operation-id: 1–128 printable ASCII characters without spaces (§6.1.2). */
static const char *valid_operation_id(const struct req *r)
{
	const char *h = http_header(r, "operation-id");
	if (!h)
		return NULL;
	size_t n = strlen(h);
	if (n < 1 || n > 128)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] < 0x21 || (unsigned char)h[i] > 0x7e)
			return NULL;
	return h;
}

void api_send_acquire_error(struct req *r, int rc, enum api_error absent_error,
			    const struct sp_err *err)
{
	if (rc == -ENOSPC) {
		http_send_error(r, API_ERR_CAPACITY_EXCEEDED,
				"The session pool has reached its maximum of %llu concurrent "
				"sessions.",
				(unsigned long long)r->srv->cfg->max_sessions);
	} else if (rc == -ENOENT) {
		http_send_error(r, absent_error,
				"No session with identifier '%s' exists in this session pool.",
				r->identifier);
	} else {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: %s.",
				err && *err->msg ? err->msg : "the session could not be started");
	}
}

static void add_location(struct req *r, const char *id)
{
	cleanup_free char *base = http_public_base(r);
	cleanup_free char *eid = util_pct_encode(id);
	cleanup_free char *eident = util_pct_encode(r->identifier);
	cleanup_free char *ever = util_pct_encode(r->api_version ? r->api_version : "");
	if (!base || !eid || !eident || !ever)
		return;
	http_add_header(r, "Operation-Location", "%s%s/executions/%s?api-version=%s&identifier=%s",
			base, r->route.prefix, eid, ever, eident);
}

void api_execute(struct req *r)
{
	struct exec_body body = {0};
	if (!parse_body(r, &body))
		return;
	cleanup_free char *code = body.code;
	bool new_route = r->op == OP_EXECUTIONS_POST;
	bool async = new_route && body.async; /* the old shape has no asynchronous mode */

	struct session *s;
	struct sp_err err = {0};
	int64_t prepare_ms = 0;
	int rc = pool_acquire(r->srv->pool, r->identifier, true, &s, &prepare_ms, &err);
	if (rc < 0) {
		api_send_acquire_error(r, rc, API_ERR_SESSION_NOT_FOUND, &err);
		return;
	}
	struct exec_params prm = {
	    .code = code,
	    .code_len = body.code_len,
	    .async = async,
	    .timeout_s = body.timeout_s,
	    .stream_max = body.stream_max,
	    .operation_id = valid_operation_id(r),
	};
	struct exec_view v = {0};
	rc = session_exec(r->srv->pool, s, &prm, &v, &err);
	char etag[37];
	memcpy(etag, session_etag(s), sizeof(etag));
	pool_release(r->srv->pool, s);
	if (rc < 0) {
		exec_view_fini(&v);
		http_send_error(r, API_ERR_INTERNAL, "Internal error: %s.", err.msg);
		return;
	}

	http_add_header(r, "operation-id", "%s", v.id);
	add_location(r, v.id);
	http_add_header(r, "X-Ms-Session-Guid", "%s", etag);
	int status = 200;
	if (async) {
		status = 202;
		v.status = EXEC_RUNNING; /* the 202 always says Running (§6.1.2) */
		http_add_header(r, "Retry-After", "1");
	} else {
		int64_t total = (util_mono_ns() - r->t0_ns) / 1000000;
		http_add_header(r, "X-Ms-Overall-Execution-Time", "%lld", (long long)total);
		http_add_header(r, "X-Ms-Preparation-Time", "%lld",
				(long long)(prepare_ms + v.prepare_ms));
		http_add_header(r, "X-Ms-Execution-Request-Time", "%lld", (long long)v.request_ms);
		http_add_header(r, "X-Ms-Execution-Read-Response-Time", "%lld",
				(long long)v.read_ms);
	}
	bool fault =
	    r->srv->cfg->test_fault && !strcmp(r->srv->cfg->test_fault, "old-status-succeeded");
	cleanup_cjson cJSON *out = r->op == OP_CODE_EXECUTE ? render_exec_old(&v, fault)
				   : r->op == OP_PYTHON_EXECUTE
				       ? render_exec_legacy(&v)
				       : render_exec_new(&v, r->identifier);
	exec_view_fini(&v);
	http_send_json(r, status, out);
}

void api_execution_get(struct req *r)
{
	size_t idlen;
	const char *id = route_execution_id(&r->route, &idlen);
	struct session *s;
	struct sp_err err = {0};
	int rc = pool_acquire(r->srv->pool, r->identifier, false, &s, NULL, &err);
	if (rc < 0) {
		api_send_acquire_error(r, rc, API_ERR_EXECUTION_NOT_FOUND, &err);
		return;
	}
	struct exec_view v = {0};
	rc = session_exec_get(s, id, idlen, &v);
	char etag[37];
	memcpy(etag, session_etag(s), sizeof(etag));
	pool_release(r->srv->pool, s);
	if (rc < 0) {
		cleanup_free char *clean = util_utf8_sanitize(id, strlen(id));
		http_send_error(r, API_ERR_EXECUTION_NOT_FOUND,
				"No execution '%s' exists in session '%s'.", clean ? clean : "",
				r->identifier);
		return;
	}
	http_add_header(r, "operation-id", "%s", v.id);
	http_add_header(r, "X-Ms-Session-Guid", "%s", etag);
	if (v.status == EXEC_RUNNING)
		http_add_header(r, "Retry-After", "1");
	cleanup_cjson cJSON *out = render_exec_new(&v, r->identifier);
	exec_view_fini(&v);
	http_send_json(r, 200, out);
}
