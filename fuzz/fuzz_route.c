/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: request-target routing. The input is a request target as CivetWeb hands it over
 * (a C string: it stops at the first NUL), split at the first '?' into the path
 * (route_parse: // collapsing, the pool prefix, percent-decoding, the route table) and the query
 * (query_parse). Then every consumer of the parsed route runs as http.c would: the operation for
 * each method and shape, the Allow header, the file name and execution id, api-version and
 * identifier checks.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filepath.h"
#include "fuzz.h"
#include "route.h"

/* A normalised path (filepath.h): relative, no empty, "." or ".." segment, bounded. */
static void check_normalised(const char *p)
{
	size_t len = strlen(p);
	if (len > FILEPATH_PATH_MAX || p[0] == '/' || (len && p[len - 1] == '/') || strstr(p, "//"))
		abort();
	for (const char *seg = p; *seg;) {
		size_t l = strcspn(seg, "/");
		if (l > FILEPATH_SEGMENT_MAX || (l == 1 && seg[0] == '.') ||
		    (l == 2 && seg[0] == '.' && seg[1] == '.'))
			abort();
		seg += l + (seg[l] == '/');
	}
	filepath_basename(p);
	if (filepath_dirname_len(p) > len)
		abort();
}

static void use_route(const struct route *r, const struct query *q)
{
	size_t plen = 0;
	const char *pv = query_get(q, "path", &plen);
	char *dir = NULL;
	if (filepath_normalize(pv ? pv : "", pv ? plen : 0, &dir) == 0) {
		check_normalised(dir);
		free(dir);
	}
	static const enum http_method methods[] = {HTTP_GET,  HTTP_POST,    HTTP_DELETE,
						   HTTP_HEAD, HTTP_OPTIONS, HTTP_OTHER};
	char allow[128];
	route_allow(r, allow, sizeof(allow));
	if (!memchr(allow, '\0', sizeof(allow)))
		abort();
	for (int shape = 0; shape < 2; shape++)
		for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
			enum route_op op = route_op_for(r, methods[i], shape);
			route_op_session_scoped(op);
			route_op_is_data(op);
			size_t len = 0;
			char *name = route_file_name(r, op, shape, &len);
			if (name && name[len] != '\0')
				abort();
			char *rel = NULL;
			if (name && filepath_effective(pv, plen, name, len, &rel) == 0) {
				if (!rel[0])
					abort(); /* a file operation never names the root */
				check_normalised(rel);
				free(rel);
			}
			free(name);
		}
	route_res_shared(r->res);
	if (r->res == RES_EXECUTION) {
		size_t len = 0;
		const char *id = route_execution_id(r, &len);
		if (!id)
			abort();
	}
	size_t vlen = 0;
	const char *v = query_get(q, "api-version", &vlen);
	bool is_new = false;
	api_version_check(v, API_VERSION_STRICT, &is_new);
	api_version_check(v, API_VERSION_LENIENT, &is_new);
	size_t ilen = 0;
	const char *ident = query_get(q, "identifier", &ilen);
	if (ident)
		identifier_valid(ident, ilen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *target = strndup((const char *)data, size);
	if (!target)
		return 0;
	char *qm = strchr(target, '?');
	if (qm)
		*qm = '\0';
	struct route r = {0};
	struct query q = {0};
	if (route_parse(target, &r) == 0) {
		if (query_parse(qm ? qm + 1 : NULL, &q) == 0) {
			use_route(&r, &q);
			query_fini(&q);
		}
		route_fini(&r);
	}
	free(target);
	return 0;
}
