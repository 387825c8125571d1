/* SPDX-License-Identifier: MIT */
/*
 * Executions (contract §5.1, §5.7, §6.1, §6.2, §8): request-body validation with the tolerance
 * rules of §6.1.1, the run itself (pool.c), and one renderer per shape: old
 * ({"$id":"1","properties":{…}}), legacy (flat) and new (SessionCodeExecutionResource).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "exec_body.h"
#include "pct.h"
#include "pool.h"
#include "render.h"

/* python/execute without a query identifier (§3): the body's, checked before the rest of the
 * body (§10.3); on failure sends MissingIdentifier or InvalidIdentifier and returns false. */
static bool body_identifier(struct req *r, const char *raw, size_t len)
{
	size_t n = 0;
	switch (
	    exec_body_identifier(raw, len, r->body_identifier, sizeof(r->body_identifier), &n)) {
	case EXEC_BODY_ID_FOUND:
		if (identifier_valid(r->body_identifier, n)) {
			r->identifier = r->body_identifier;
			r->identifier_len = n;
			return true;
		}
		break;
	case EXEC_BODY_ID_ABSENT:
		http_send_error(r, API_ERR_MISSING_IDENTIFIER,
				"The identifier query parameter is required (python/execute also "
				"takes properties.identifier from a JSON body).");
		return false;
	case EXEC_BODY_ID_INVALID:
		break;
	}
	http_send_error(r, API_ERR_INVALID_IDENTIFIER,
			"The body's identifier must be a string of 4 to 128 characters from A-Z, "
			"a-z, 0-9 and %s.",
			IDENTIFIER_SPECIALS);
	return false;
}

/* Reads and validates the body; on failure sends the error and returns false. */
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
	if (!r->identifier && !body_identifier(r, raw, len))
		return false;
	char msg[256];
	rc = exec_body_parse(raw, len, c, out, msg, sizeof(msg));
	if (rc < 0) {
		http_send_error(r, rc == -ENOMEM ? API_ERR_INTERNAL : API_ERR_INVALID_REQUEST_BODY,
				"%s", msg);
		return false;
	}
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

void api_capacity_message(const struct req *r, char *buf, size_t n)
{
	snprintf(buf, n, "The session pool has reached its maximum of %llu concurrent sessions.",
		 (unsigned long long)r->srv->cfg->max_sessions);
}

void api_send_acquire_error(struct req *r, int rc, enum api_error absent_error,
			    const struct sp_err *err)
{
	if (rc == -ENOSPC) {
		char msg[128];
		api_capacity_message(r, msg, sizeof(msg));
		http_send_error(r, API_ERR_CAPACITY_EXCEEDED, "%s", msg);
	} else if (rc == -ENOENT) {
		http_send_error(r, absent_error,
				"No session with identifier '%s' exists in this session pool.",
				r->identifier);
	} else if (rc == -EAGAIN) {
		http_add_header(r, "Retry-After", "1");
		http_send_error(r, API_ERR_SERVICE_UNAVAILABLE, "%s.",
				err && *err->msg ? err->msg : "the sandbox is restarting; retry");
	} else {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: %s.",
				err && *err->msg ? err->msg : "the session could not be started");
	}
}

static void add_location(struct req *r, const char *id)
{
	cleanup_free char *base = http_public_base(r);
	cleanup_free char *eid = sp_pct_encode(id, NULL);
	cleanup_free char *eident = sp_pct_encode(r->identifier, NULL);
	cleanup_free char *ever = sp_pct_encode(r->api_version ? r->api_version : "", NULL);
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

	struct pool_entry *s;
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
	rc = session_exec(entry_session(s), &prm, &v, &err);
	char etag[37];
	memcpy(etag, entry_etag(s), sizeof(etag));
	pool_release(r->srv->pool, s);
	if (rc == -EAGAIN) {
		exec_view_fini(&v);
		http_add_header(r, "Retry-After", "1");
		http_send_error(r, API_ERR_SERVICE_UNAVAILABLE, "%s.", err.msg);
		return;
	}
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
	struct pool_entry *s;
	struct sp_err err = {0};
	int rc = pool_acquire(r->srv->pool, r->identifier, false, &s, NULL, &err);
	if (rc < 0) {
		api_send_acquire_error(r, rc, API_ERR_EXECUTION_NOT_FOUND, &err);
		return;
	}
	struct exec_view v = {0};
	rc = session_exec_get(entry_session(s), id, idlen, &v);
	char etag[37];
	memcpy(etag, entry_etag(s), sizeof(etag));
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
