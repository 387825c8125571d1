/* SPDX-License-Identifier: MIT */
/*
 * A target's api-versions and teardown routes; see target_api.h. The built-in defaults are the
 * tables below, the one place in the runner that names an api-version or a route of its own.
 */
#include "target_api.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static const struct {
	const char *key; /* in "api_versions" */
	const char *var;
	const char *value;
} versions[TARGET_API_N] = {
    [TARGET_API_OLD] = {"old", "api_old", "2024-02-02-preview"},
    [TARGET_API_NEW] = {"new", "api_new", "2025-10-02-preview"},
    [TARGET_API_MANAGEMENT] = {"management", "api_management", "2025-02-02-preview"},
};

/* Delete first; a pool without DELETE session may still offer the management route. */
static const struct {
	const char *method;
	const char *path;
} default_delete[] = {
    {"DELETE", "/session?api-version={{api_new}}&identifier={{identifier|url}}"},
    {"POST",
     "/.management/stopSession?api-version={{api_management}}&identifier={{identifier|url}}"},
};

static const char default_list_method[] = "GET";
static const char default_list_path[] = "/listSessions?api-version={{api_new}}";

const char *target_api_default(enum target_api_version v)
{
	return versions[v].value;
}

void target_api_init(struct target_api *a)
{
	memset(a, 0, sizeof(*a));
}

static void route_fini(struct target_route *r)
{
	free(r->method);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

static void routes_free(struct target_route *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		route_fini(&v[i]);
	free(v);
}

void target_api_fini(struct target_api *a)
{
	for (size_t i = 0; i < TARGET_API_N; i++)
		free(a->versions[i]);
	routes_free(a->delete_session, a->n_delete_session);
	route_fini(&a->list_sessions);
	memset(a, 0, sizeof(*a));
}

void target_routes_fini(struct target_routes *r)
{
	routes_free(r->delete_session, r->n_delete_session);
	route_fini(&r->list_sessions);
	memset(r, 0, sizeof(*r));
}

int target_closed_keys(const cJSON *obj, const char *const *keys, size_t n, const char *file,
		       const char *where, struct sp_err *err)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, obj)
	{
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(keys[i], m->string) == 0;
		if (!ok)
			return sp_err_set(err, -EINVAL, "%s: %s%sunknown key \"%s\"", file,
					  where ? where : "", where ? ": " : "", m->string);
	}
	return 0;
}

static int load_versions(const cJSON *obj, const char *file, struct target_api *a,
			 struct sp_err *err)
{
	if (!cJSON_IsObject(obj))
		return sp_err_set(err, -EINVAL, "%s: api_versions: expected an object", file);
	const char *keys[TARGET_API_N];
	for (size_t i = 0; i < TARGET_API_N; i++)
		keys[i] = versions[i].key;
	int r = target_closed_keys(obj, keys, TARGET_API_N, file, "api_versions", err);
	for (size_t i = 0; i < TARGET_API_N && r == 0; i++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, versions[i].key);
		if (!m)
			continue;
		if (!cJSON_IsString(m) || !m->valuestring[0] || strpbrk(m->valuestring, "&#? "))
			return sp_err_set(err, -EINVAL,
					  "%s: api_versions: %s: expected a non-empty string "
					  "usable in a query",
					  file, versions[i].key);
		if (!(a->versions[i] = strdup(m->valuestring)))
			return -ENOMEM;
	}
	return r;
}

static bool is_method(const char *s)
{
	if (!s[0])
		return false;
	for (; *s; s++)
		if (!isupper((unsigned char)*s))
			return false;
	return true;
}

/* One route object {"method": "POST", "path": "/…"} at |where|. */
static int load_route(const cJSON *obj, const char *file, const char *where,
		      struct target_route *out, struct sp_err *err)
{
	static const char *const keys[] = {"method", "path"};
	if (!cJSON_IsObject(obj))
		return sp_err_set(err, -EINVAL, "%s: %s: expected {\"method\": …, \"path\": …}",
				  file, where);
	int r = target_closed_keys(obj, keys, 2, file, where, err);
	if (r < 0)
		return r;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "method");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "path");
	if (!cJSON_IsString(m) || !is_method(m->valuestring))
		return sp_err_set(err, -EINVAL, "%s: %s: method: expected an upper-case method",
				  file, where);
	if (!cJSON_IsString(p) || p->valuestring[0] != '/')
		return sp_err_set(err, -EINVAL, "%s: %s: path: expected a path starting with /",
				  file, where);
	struct sp_err te = {0};
	if (vars_check(p->valuestring, &te) < 0)
		return sp_err_set(err, -EINVAL, "%s: %s: path: %s", file, where, te.msg);
	out->method = strdup(m->valuestring);
	out->path = strdup(p->valuestring);
	return out->method && out->path ? 0 : -ENOMEM;
}

static int load_delete(const cJSON *arr, const char *file, struct target_api *a, struct sp_err *err)
{
	if (!cJSON_IsArray(arr))
		return sp_err_set(err, -EINVAL,
				  "%s: teardown: delete_session: expected a list of "
				  "routes",
				  file);
	size_t n = (size_t)cJSON_GetArraySize(arr);
	a->delete_set = true;
	if (n == 0)
		return 0;
	if (!(a->delete_session = calloc(n, sizeof(*a->delete_session))))
		return -ENOMEM;
	const cJSON *m;
	cJSON_ArrayForEach(m, arr)
	{
		char where[64];
		snprintf(where, sizeof(where), "teardown: delete_session[%zu]",
			 a->n_delete_session);
		int r = load_route(m, file, where, &a->delete_session[a->n_delete_session], err);
		a->n_delete_session++;
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_teardown(const cJSON *obj, const char *file, struct target_api *a,
			 struct sp_err *err)
{
	static const char *const keys[] = {"delete_session", "list_sessions"};
	if (!cJSON_IsObject(obj))
		return sp_err_set(err, -EINVAL, "%s: teardown: expected an object", file);
	int r = target_closed_keys(obj, keys, 2, file, "teardown", err);
	if (r < 0)
		return r;
	const cJSON *del = cJSON_GetObjectItemCaseSensitive(obj, "delete_session");
	if (del && (r = load_delete(del, file, a, err)) < 0)
		return r;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "list_sessions");
	if (!list)
		return 0;
	a->list_set = true;
	if (cJSON_IsNull(list))
		return 0;
	return load_route(list, file, "teardown: list_sessions", &a->list_sessions, err);
}

int target_api_load(const cJSON *file_obj, const char *file, struct target_api *a,
		    struct sp_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(file_obj, "api_versions");
	int r = v ? load_versions(v, file, a, err) : 0;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(file_obj, "teardown");
	if (r == 0 && t)
		r = load_teardown(t, file, a, err);
	return r;
}

static int route_set(struct target_route *out, const char *method, const char *path)
{
	out->method = strdup(method);
	out->path = path ? strdup(path) : NULL;
	if (!out->method || (path && !out->path)) {
		route_fini(out);
		return -ENOMEM;
	}
	return 0;
}

static int resolve_delete(const struct target_api *a, struct target_routes *out)
{
	size_t n = a->delete_set ? a->n_delete_session
				 : sizeof(default_delete) / sizeof(default_delete[0]);
	if (n == 0)
		return 0;
	if (!(out->delete_session = calloc(n, sizeof(*out->delete_session))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int r = a->delete_set
			    ? route_set(&out->delete_session[i], a->delete_session[i].method,
					a->delete_session[i].path)
			    : route_set(&out->delete_session[i], default_delete[i].method,
					default_delete[i].path);
		if (r < 0)
			return r;
		out->n_delete_session++;
	}
	return 0;
}

int target_api_resolve(const struct target_api *a, struct vars *vars, struct target_routes *out)
{
	for (size_t i = 0; i < TARGET_API_N; i++) {
		const char *value = a->versions[i] ? a->versions[i] : versions[i].value;
		if (vars_set_str(vars, versions[i].var, value) < 0)
			return -ENOMEM;
	}
	struct target_routes r = {0};
	int rc = resolve_delete(a, &r);
	if (rc == 0 && !a->list_set)
		rc = route_set(&r.list_sessions, default_list_method, default_list_path);
	else if (rc == 0 && a->list_sessions.path)
		rc = route_set(&r.list_sessions, a->list_sessions.method, a->list_sessions.path);
	if (rc < 0) {
		target_routes_fini(&r);
		return rc;
	}
	*out = r;
	return 0;
}
