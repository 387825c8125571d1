/* SPDX-License-Identifier: MIT */
/*
 * The emulator's own routes (not in the contract): GET / redirects to the playground,
 * GET /playground/{file} serves its embedded files (no token needed to load the page; its API
 * calls carry one), and GET /.emulator/requests serves the request ring (reqring.h) that the
 * playground's Requests view polls. --playground disabled turns all three off (404).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "mime.h"
#include "playground.h"
#include "reqring.h"

static bool enabled(struct req *r)
{
	if (r->srv->cfg->playground_enabled)
		return true;
	http_send_no_route(r, "the playground is disabled (--playground)");
	return false;
}

void api_root(struct req *r)
{
	if (!enabled(r))
		return;
	http_add_header(r, "Location", "/playground/");
	http_add_header(r, "Cache-Control", "no-store");
	http_send_body(r, 302, "text/plain; charset=utf-8", "See /playground/\n", 17);
}

void api_playground(struct req *r)
{
	if (!enabled(r))
		return;
	const char *raw = r->ri->local_uri_raw ? r->ri->local_uri_raw : "";
	size_t rawlen = strlen(raw);
	if (r->route.nseg == 1 && (!rawlen || raw[rawlen - 1] != '/')) {
		/* /playground: the page's relative links need the slash */
		http_add_header(r, "Location", "/playground/");
		http_send_body(r, 301, "text/plain; charset=utf-8", "See /playground/\n", 17);
		return;
	}
	const char *name = r->route.nseg == 2 ? r->route.dec[1] : "";
	if (!*name)
		name = "index.html";
	for (const struct playground_file *f = playground_files; f->name; f++) {
		if (r->route.nseg > 2 || strcmp(f->name, name) != 0)
			continue;
		/* The page's own scripts only, nothing from elsewhere; no framing by other sites.
		 */
		http_add_header(r, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data: blob:; "
				"style-src 'self'; script-src 'self'; connect-src 'self'; "
				"frame-ancestors 'none'");
		http_add_header(r, "X-Content-Type-Options", "nosniff");
		http_add_header(r, "Cache-Control", "no-cache");
		http_send_body(r, 200, mime_type_for(f->name), (const char *)f->data, f->len);
		return;
	}
	http_send_error(r, API_ERR_ROUTE_NOT_FOUND, "The playground has no file '%s'.",
			r->ri->local_uri_raw ? r->ri->local_uri_raw : "");
}

/* A non-negative integer query parameter, |def| when absent; false (answered) when bad. */
static bool query_u64(struct req *r, const char *name, uint64_t def, uint64_t max, uint64_t *out)
{
	const char *v = query_get(&r->query, name, NULL);
	*out = def;
	if (!v)
		return true;
	if (util_parse_u64(v, 0, max, out))
		return true;
	http_send_error(r, API_ERR_INVALID_QUERY_PARAMETER,
			"'%s' must be a whole number from 0 to %llu.", name,
			(unsigned long long)max);
	return false;
}

void api_requests(struct req *r)
{
	if (!enabled(r))
		return;
	uint64_t since, limit, status;
	if (!query_u64(r, "since", 0, UINT64_MAX / 2, &since) ||
	    !query_u64(r, "limit", 100, REQRING_LIST_MAX, &limit) ||
	    !query_u64(r, "status", 0, 5, &status))
		return;
	const char *id = query_get(&r->query, "identifier", NULL);
	cleanup_cjson cJSON *out = reqring_json(since, (size_t)limit, id, (int)status);
	if (!out) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	http_add_header(r, "Cache-Control", "no-store");
	http_send_json(r, 200, out);
}
