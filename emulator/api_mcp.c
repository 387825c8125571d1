/* SPDX-License-Identifier: MIT */
/*
 * The platform-managed MCP server, POST {base}/mcp (contract §13): the HTTP side (switch, key,
 * methods, CORS, body) around the JSON-RPC layer of mcp.c, and the environments it runs code
 * in. An environment is a session of the pool: launchShell reserves a GUID (nothing is created
 * yet, as the service allocates lazily); the first run creates the session; from then on it is
 * an ordinary session, reachable through REST with identifier=<environmentId>.
 *
 * Reservations are kept in a bounded list, each for one cooldown: one never used is forgotten
 * then (the model is told to launch again, as for an expired environment).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "guid.h"
#include "mcp.h"
#include "pool.h"
#include "render.h"
#include "util.h"

#define RESERVED_MAX 4096 /* launches kept before their first run; the oldest go first */

struct reservation {
	char id[37];
	int64_t until; /* ticks */
};

static pthread_mutex_t reserved_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reservation reserved[RESERVED_MAX];
static size_t nreserved;

/* Drops reservations past their time (reserved_lock held). */
static void prune_locked(int64_t now)
{
	for (size_t i = 0; i < nreserved;) {
		if (reserved[i].until <= now)
			reserved[i] = reserved[--nreserved];
		else
			i++;
	}
}

static void reserve(const char *id, int64_t until)
{
	pthread_mutex_lock(&reserved_lock);
	prune_locked(util_now_ticks());
	if (nreserved == RESERVED_MAX) { /* forget the oldest */
		size_t oldest = 0;
		for (size_t i = 1; i < nreserved; i++)
			if (reserved[i].until < reserved[oldest].until)
				oldest = i;
		reserved[oldest] = reserved[--nreserved];
	}
	snprintf(reserved[nreserved].id, sizeof(reserved[nreserved].id), "%s", id);
	reserved[nreserved++].until = until;
	pthread_mutex_unlock(&reserved_lock);
}

/* True when |id| is reserved and unused; |consume| forgets it. */
static bool reserved_take(const char *id, bool consume)
{
	bool found = false;
	pthread_mutex_lock(&reserved_lock);
	prune_locked(util_now_ticks());
	for (size_t i = 0; i < nreserved; i++) {
		if (strcmp(reserved[i].id, id) != 0)
			continue;
		found = true;
		if (consume)
			reserved[i] = reserved[--nreserved];
		break;
	}
	pthread_mutex_unlock(&reserved_lock);
	return found;
}

static int env_launch(void *ctx, char id[37], struct mcp_tool_error *err)
{
	struct req *r = ctx;
	(void)err;
	sp_guid(id);
	reserve(id, util_now_ticks() + (int64_t)r->srv->cfg->cooldown_seconds * UTIL_TICKS_PER_SEC);
	return 0;
}

void api_mcp_session_created(const char *identifier)
{
	reserved_take(identifier, true);
}

/* The environment's session (created on its first use, by this or any route: the pool then
 * calls api_mcp_session_created(), so a session deleted or expired since is not made again),
 * or a tool error. */
static int env_acquire(struct req *r, const char *env_id, struct pool_entry **out,
		       struct mcp_tool_error *err)
{
	bool first = reserved_take(env_id, false);
	struct sp_err e = {0};
	int rc = pool_acquire(r->srv->pool, env_id, first, out, NULL, &e);
	if (rc == 0)
		return 0;
	if (rc == -ENOENT) {
		err->kind = MCP_TOOL_NOT_FOUND;
	} else if (rc == -ENOSPC) {
		err->kind = MCP_TOOL_CAPACITY;
		api_capacity_message(r, err->msg, sizeof(err->msg));
	} else {
		err->kind = MCP_TOOL_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "%s",
			 *e.msg ? e.msg : "the session could not be started");
	}
	return rc;
}

/* Runs |prm| in |env_id| and renders the view with |render|. */
static int env_run(struct req *r, const char *env_id, struct exec_params *prm,
		   cJSON *(*render)(const struct exec_view *, bool *), cJSON **structured,
		   bool *is_error, struct mcp_tool_error *err)
{
	struct pool_entry *e;
	int rc = env_acquire(r, env_id, &e, err);
	if (rc < 0)
		return rc;
	const struct config *c = r->srv->cfg;
	prm->stream_max = (size_t)c->output_streams_max_default;
	struct exec_view v = {0};
	struct sp_err se = {0};
	rc = session_exec(entry_session(e), prm, &v, &se);
	pool_release(r->srv->pool, e);
	if (rc < 0) {
		exec_view_fini(&v);
		err->kind = MCP_TOOL_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "%s", *se.msg ? se.msg : "the sandbox failed");
		return rc;
	}
	*structured = render(&v, is_error);
	exec_view_fini(&v);
	if (!*structured) {
		err->kind = MCP_TOOL_INTERNAL;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int env_run_python(void *ctx, const char *env_id, const char *code, size_t code_len,
			  long timeout_s, cJSON **structured, bool *is_error,
			  struct mcp_tool_error *err)
{
	struct req *r = ctx;
	const struct config *c = r->srv->cfg;
	/* §8.6: the default when absent, clamped to the maximum. */
	uint64_t t = timeout_s < 0 ? c->exec_timeout_default_s : (uint64_t)timeout_s;
	if (t > c->exec_timeout_max_s)
		t = c->exec_timeout_max_s;
	struct exec_params prm = {
	    .kind = BK_EXEC_PYTHON, .code = code, .code_len = code_len, .timeout_s = (unsigned)t};
	return env_run(r, env_id, &prm, render_mcp_python, structured, is_error, err);
}

static int env_run_shell(void *ctx, const char *env_id, const char *shell_command,
			 const char *const *argv, size_t argc, cJSON **structured, bool *is_error,
			 struct mcp_tool_error *err)
{
	struct req *r = ctx;
	struct exec_params prm = {
	    .kind = shell_command ? BK_EXEC_SHELL : BK_EXEC_ARGV,
	    .code = shell_command,
	    .code_len = shell_command ? strlen(shell_command) : 0,
	    .argv = argv,
	    .argc = argc,
	    .timeout_s = (unsigned)r->srv->cfg->exec_timeout_default_s,
	};
	return env_run(r, env_id, &prm, render_mcp_shell, structured, is_error, err);
}

/* Sends a JSON body of mcp.c (or none for 202). */
static void send_reply(struct req *r, int status, const char *body, size_t len)
{
	if (status == 202 || !body) {
		http_send_empty(r, status);
		return;
	}
	http_send_body(r, status, "application/json", body, len);
}

static void send_rpc_error(struct req *r, int status, int code, const char *message)
{
	char *body = mcp_error_json(code, message);
	if (!body) {
		http_send_empty(r, 500);
		return;
	}
	send_reply(r, status, body, strlen(body));
	cJSON_free(body);
}

/* The answer to anything but POST: 405 (no server-initiated stream), OPTIONS 204. */
static void not_post(struct req *r)
{
	http_add_header(r, "Allow", "POST"); /* §13.1 */
	if (r->method == HTTP_OPTIONS) {
		http_send_empty(r, 204);
		return;
	}
	send_rpc_error(r, 405, -32600,
		       "Method not allowed: the MCP endpoint takes JSON-RPC messages by POST "
		       "(this server opens no event stream).");
}

void api_mcp(struct req *r)
{
	const struct config *c = r->srv->cfg;
	if (!c->mcp_enabled) {
		http_send_no_route(r, "the MCP server is disabled (--mcp)");
		return;
	}
	r->cors_methods = "POST, OPTIONS";
	if (http_cors_preflight(r))
		return;
	if (r->method != HTTP_POST) {
		not_post(r);
		return;
	}
	const char *key = http_header(r, "x-ms-apikey");
	if (!mcp_key_ok(c->auth_mode == AUTH_MODE_ANY, c->mcp_api_key, key)) {
		char *body = mcp_unauthorized_json(key && *key);
		http_add_header(r, "WWW-Authenticate", "ApiKey header=\"x-ms-apikey\"");
		send_reply(r, 401, body, body ? strlen(body) : 0);
		cJSON_free(body);
		return;
	}
	size_t max = c->json_body_max_bytes < MCP_BODY_MAX ? c->json_body_max_bytes : MCP_BODY_MAX;
	cleanup_free char *raw = NULL;
	size_t len = 0;
	int rc = http_read_body(r, max, &raw, &len);
	if (rc < 0) {
		if (rc == -E2BIG)
			send_rpc_error(r, 413, -32600, "The request body is too large.");
		else
			send_rpc_error(r, 400, -32700, "The request body could not be read.");
		return;
	}
	struct mcp_env_ops ops = {
	    .ctx = r,
	    .launch = env_launch,
	    .run_python = env_run_python,
	    .run_shell = env_run_shell,
	};
	struct mcp_reply out = {0};
	int status = mcp_handle(&ops, raw, len, &out);
	send_reply(r, status, out.body, out.body_len);
	mcp_reply_fini(&out);
}
