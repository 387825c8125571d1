/* SPDX-License-Identifier: MIT */
/*
 * Sessions and pool (contract §6.8–§6.11, §7): GET/DELETE session, the two list routes with
 * skip/nextLink paging, .management/getSession and stopSession, metadata, and /healthz.
 * None of these create a session or change lastAccessedAt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "conntrack.h"
#include "pct.h"
#include "pool.h"
#include "render.h"

static void add_time(cJSON *o, const char *name, int64_t ticks)
{
	char buf[40];
	cJSON_AddStringToObject(o, name, util_format_ticks(ticks, buf, sizeof(buf)));
}

static void not_found(struct req *r)
{
	http_send_error(r, API_ERR_SESSION_NOT_FOUND,
			"No session with identifier '%s' exists in this session pool.",
			r->identifier);
}

void api_session(struct req *r)
{
	struct pool *p = r->srv->pool;
	if (r->op == OP_SESSION_DELETE || r->op == OP_MGMT_STOP_SESSION) {
		if (pool_delete(p, r->identifier) < 0) {
			not_found(r);
			return;
		}
		if (r->op == OP_SESSION_DELETE) {
			http_send_empty(r, 204);
			return;
		}
		const char *pool_name = r->route.pool ? r->route.pool : r->srv->cfg->pool_name;
		struct strbuf b = {0};
		strbuf_printf(&b, "Session %s in session pool %s stopped.", r->identifier,
			      pool_name);
		cleanup_free char *text = strbuf_steal(&b);
		if (!text) {
			http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
			return;
		}
		http_send_body(r, 200, "text/plain", text, strlen(text));
		return;
	}
	struct session_info info;
	if (pool_info(p, r->identifier, &info) < 0) {
		not_found(r);
		return;
	}
	size_t len;
	cleanup_free char *body = render_session(&info, r->op != OP_SESSION_GET, &len);
	if (!body) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	http_send_json_text(r, 200, body, len);
}

/* The absolute URL of the page after this one (§6.10, §7.2), or NULL when out of memory. */
static char *next_link(const struct req *r, bool mgmt, unsigned long long next)
{
	cleanup_free char *base = http_public_base(r);
	cleanup_free char *ver = r->api_version ? sp_pct_encode(r->api_version, NULL) : NULL;
	struct strbuf b = {0};
	if (mgmt) {
		strbuf_printf(&b, "%s%s/.management/listSessions?skip=%llu", base ? base : "",
			      r->route.prefix, next);
		if (ver)
			strbuf_printf(&b, "&api-version=%s", ver);
	} else {
		strbuf_printf(&b, "%s%s/listSessions?api-version=%s&skip=%llu", base ? base : "",
			      r->route.prefix, ver ? ver : "", next);
	}
	return strbuf_steal(&b);
}

void api_list_sessions(struct req *r)
{
	const struct config *c = r->srv->cfg;
	bool mgmt = r->op == OP_MGMT_LIST_SESSIONS;
	uint64_t skip = 0;
	const char *sk = query_get(&r->query, "skip", NULL);
	if (sk && *sk && !util_parse_u64(sk, 0, 2147483647ULL, &skip)) {
		http_send_error(
		    r, API_ERR_INVALID_QUERY_PARAMETER,
		    "The skip query parameter must be an integer from 0 to 2147483647.");
		return;
	}
	struct session_info *items = NULL;
	size_t n = 0;
	bool more = false;
	if (pool_list(r->srv->pool, skip, (size_t)c->list_page_size, &items, &n, &more) < 0) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	cleanup_free char *link = more ? next_link(r, mgmt, (unsigned long long)(skip + n)) : NULL;
	size_t len;
	/* A link that could not be made (out of memory) is sent as "", never as null. */
	cleanup_free char *body =
	    render_session_list(items, n, mgmt, more ? (link ? link : "") : NULL, &len);
	free(items);
	if (!body) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	http_send_json_text(r, 200, body, len);
}

void api_metadata(struct req *r)
{
	struct bk_info bi;
	pool_describe(r->srv->pool, &bi);
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	cJSON *rt = cJSON_AddArrayToObject(root, "runtimes");
	cJSON *py = cJSON_CreateObject();
	cJSON_AddStringToObject(py, "name", "python");
	cJSON_AddStringToObject(py, "version", bi.python_version);
	cJSON_AddItemToArray(rt, py);
	cJSON_AddItemToObject(root, "preInstalledPackages", cJSON_CreateRaw(bi.packages_json));
	add_time(root, "createdAt", r->srv->started_ticks);
	add_time(root, "lastUpdatedAt", r->srv->started_ticks);
	cJSON *k = cJSON_AddObjectToObject(root, "jupyterKernel");
	cJSON_AddStringToObject(k, "name", "sessionpool-python-worker");
	cJSON_AddStringToObject(k, "version", SP_VERSION);
	cJSON_AddStringToObject(k, "projectUrl", SP_PROJECT_URL);
	cJSON_AddStringToObject(k, "description",
				"Runs each session's cells in a sandboxed CPython interpreter "
				"forked from a preloaded zygote, with IPython-style cell values.");
	http_send_json(r, 200, root);
}

void api_healthz(struct req *r)
{
	struct bk_info zh;
	pool_describe(r->srv->pool, &zh);
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	/* While the zygote restarts, new sessions get 503: so does the health check. */
	cJSON_AddStringToObject(root, "status", zh.up ? "ok" : "unavailable");
	cJSON_AddStringToObject(root, "zygote", zh.up ? "up" : "restarting");
	cJSON_AddNumberToObject(root, "zygoteRestarts", (double)zh.restarts);
	if (zh.last_exit[0])
		cJSON_AddStringToObject(root, "zygoteLastExit", zh.last_exit);
	else
		cJSON_AddNullToObject(root, "zygoteLastExit");
	cJSON_AddStringToObject(root, "version", SP_VERSION);
	cJSON_AddStringToObject(root, "isolation", zh.isolation);
	const char *why = zh.isolation_why;
	if (why)
		cJSON_AddStringToObject(root, "isolationReason", why);
	else
		cJSON_AddNullToObject(root, "isolationReason");
	cJSON_AddStringToObject(root, "sessionCgroups", zh.cgroups);
	cJSON_AddStringToObject(root, "diskQuota", r->srv->disk_quota);
	cJSON_AddNumberToObject(root, "liveSessions", (double)pool_live_count(r->srv->pool));
	cJSON_AddNumberToObject(root, "maxSessions", (double)r->srv->cfg->max_sessions);
	cJSON_AddStringToObject(root, "python", zh.python_version);
	struct conntrack_stats cs;
	conntrack_get_stats(&cs);
	cJSON *conns = cJSON_AddObjectToObject(root, "connections");
	cJSON_AddNumberToObject(conns, "open", (double)cs.held);
	cJSON_AddNumberToObject(conns, "inRequest", (double)cs.busy);
	cJSON_AddNumberToObject(conns, "idle", (double)cs.idle);
	cJSON_AddNumberToObject(conns, "waitingForRequest", (double)cs.fresh);
	cJSON_AddNumberToObject(conns, "closedToFreeWorkers", (double)cs.evicted);
	cJSON_AddNumberToObject(conns, "closedAfterResponse", (double)cs.finished);
	if (!zh.up)
		http_add_header(r, "Retry-After", "1");
	http_send_json(r, zh.up ? 200 : 503, root);
}
