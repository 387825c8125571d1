/* SPDX-License-Identifier: MIT */
/*
 * Tracked sessions, their deletion and the end-of-run sweep; see teardown.h. The routes come
 * from the target (target_api.h); this file only knows the shape of a session list, which is
 * the contract's (§6.10: "sessions"[].identifier and "nextLink").
 */
#include "teardown.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "expect.h"
#include "pct.h"
#include "redact.h"
#include "request.h"
#include "run.h"

int teardown_track_id(struct tracked *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], id) == 0)
			return 0;
	char **grown = realloc(s->ids, (s->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->ids = grown;
	if (!(s->ids[s->n] = strdup(id)))
		return -ENOMEM;
	s->n++;
	return 0;
}

void teardown_track_url(struct tracked *s, const char *url)
{
	const char *q = strchr(url, '?');
	while (q && *q) {
		q++;
		size_t len = strcspn(q, "&#");
		if (len > 11 && strncasecmp(q, "identifier=", 11) == 0) {
			cleanup_free char *id = sp_pct_decode(q + 11, len - 11, NULL);
			if (id)
				(void)teardown_track_id(s, id);
			return;
		}
		q += len;
		if (*q != '&')
			break;
	}
}

void teardown_tracked_fini(struct tracked *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

/* The absolute URL of |route| expanded in |scope|, or NULL (reason in |e|). */
static char *route_url(const struct target *t, const struct target_route *route,
		       const struct vars *scope, struct sp_err *e)
{
	cleanup_free char *path = NULL;
	if (vars_expand(scope, route->path, &path, e) < 0)
		return NULL;
	char *url = NULL;
	if (asprintf(&url, "%s%s", t->base_url, path) < 0)
		return NULL;
	return url;
}

/* Sends one delete route ({{identifier}} is bound in |scope|); returns the status, or 0 with the
 * reason in |e|. */
static long delete_via(struct run *r, const struct target_route *route, const struct vars *scope,
		       struct sp_err *e)
{
	char *url = route_url(r->t, route, scope, e);
	if (!url)
		return 0;
	struct request b;
	if (request_plain(&b, route->method, url, r->t->token) < 0)
		return 0;
	struct http_response resp = {0};
	int rc = http_client_perform(r->http, &b.req, &resp, e);
	request_record(r, &b, "teardown", "delete-session", rc == 0 ? &resp : NULL,
		       rc == 0 ? NULL : e->msg);
	long status = rc == 0 ? resp.status : 0;
	if (rc == 0)
		e->msg[0] = '\0';
	http_response_fini(&resp);
	request_fini(&b);
	return status;
}

static void delete_one(struct run *r, const char *id, struct vars *scope)
{
	const struct target_routes *routes = &r->t->routes;
	if (vars_set_str(scope, "identifier", id) < 0)
		return;
	for (size_t k = 0; k < routes->n_delete_session; k++) {
		const struct target_route *route = &routes->delete_session[k];
		struct sp_err e = {0};
		long status = delete_via(r, route, scope, &e);
		if (status == 200 || status == 204 || status == 404) {
			run_note(r, "teardown: %s session %s: status %ld", route->method, id,
				 status);
			return;
		}
		if (k + 1 == routes->n_delete_session)
			run_note(r, "warning: could not delete session %s (last status %ld%s%s)",
				 id, status, e.msg[0] ? ": " : "", e.msg);
	}
}

void teardown_delete_tracked(struct run *r)
{
	if (!r->sessions.n || !r->t->routes.n_delete_session)
		return;
	struct vars *scope = vars_new(r->t->vars);
	if (!scope) {
		run_note(r, "warning: out of memory: sessions not deleted");
		return;
	}
	for (size_t i = 0; i < r->sessions.n; i++)
		delete_one(r, r->sessions.ids[i], scope);
	vars_free(scope);
}

/* Tracks the listed sessions of |doc| whose identifier starts with |run_id|. */
static void track_listed(struct tracked *s, const cJSON *doc, const char *run_id)
{
	size_t prefix_len = strlen(run_id);
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "sessions"))
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "identifier");
		if (cJSON_IsString(id) && strncmp(id->valuestring, run_id, prefix_len) == 0 &&
		    teardown_track_id(s, id->valuestring) < 0)
			return;
	}
}

/* Fetches one page at |url| (taken over); returns the next page's URL or NULL. */
static char *list_page(struct run *r, char *url, const char *run_id, FILE *log)
{
	struct request b;
	if (request_plain(&b, r->t->routes.list_sessions.method, url, r->t->token) < 0)
		return NULL;
	struct sp_err e = {0};
	struct http_response resp = {0};
	int rc = http_client_perform(r->http, &b.req, &resp, &e);
	request_fini(&b);
	if (rc < 0 || resp.status != 200) {
		fprintf(log, "# sweep of %s: the list_sessions route gave %ld\n", r->t->name,
			rc < 0 ? 0L : resp.status);
		http_response_fini(&resp);
		return NULL;
	}
	cleanup_cjson cJSON *doc = expect_body_json(&resp, NULL);
	http_response_fini(&resp);
	track_listed(&r->sessions, doc, run_id);
	const cJSON *nl = cJSON_GetObjectItemCaseSensitive(doc, "nextLink");
	return cJSON_IsString(nl) && nl->valuestring[0] ? strdup(nl->valuestring) : NULL;
}

int teardown_sweep(struct target *t, const char *run_id, const struct run_opts *o, FILE *log)
{
	if (!t->routes.list_sessions.path)
		return 0;
	static const struct scn sweep = {.id = "sweep"};
	struct run r;
	if (run_init(&r, &sweep, t, o, false) < 0) {
		run_fini(&r);
		return -ENOMEM;
	}
	struct sp_err e = {0};
	char *next = route_url(t, &t->routes.list_sessions, t->vars, &e);
	if (!next)
		fprintf(log, "# sweep of %s: %s\n", t->name, e.msg[0] ? e.msg : "out of memory");
	for (int page = 0; next && page < 1000; page++)
		next = list_page(&r, next, run_id, log);
	free(next);
	int found = (int)r.sessions.n;
	teardown_delete_tracked(&r);
	run_close_diag(&r);
	if (r.diag_buf && r.diag_buf[0]) {
		cleanup_free char *clean = redact_dup(r.diag_buf, r.diag_len, NULL);
		fprintf(log, "# sweep: %s", clean ? clean : "");
	}
	run_fini(&r);
	return found;
}
