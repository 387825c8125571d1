/* SPDX-License-Identifier: MIT */
/*
 * Routing rules of contract §1.1–§1.5 and §3. The path is normalised (collapse //, drop one
 * trailing /, strip the optional pool prefix), split into raw segments, then each segment is
 * percent-decoded; route words match case-insensitively, names and IDs do not.
 */
#include "route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pct.h"
#include "util.h"

enum http_method http_method_parse(const char *m)
{
	if (!strcmp(m, "GET"))
		return HTTP_GET;
	if (!strcmp(m, "POST"))
		return HTTP_POST;
	if (!strcmp(m, "DELETE"))
		return HTTP_DELETE;
	if (!strcmp(m, "HEAD"))
		return HTTP_HEAD;
	if (!strcmp(m, "OPTIONS"))
		return HTTP_OPTIONS;
	return HTTP_OTHER;
}

void route_fini(struct route *r)
{
	for (size_t i = 0; i < r->nseg; i++) {
		free(r->raw[i]);
		free(r->dec[i]);
	}
	free(r->raw);
	free(r->dec);
	free(r->dec_len);
	free(r->prefix);
	free(r->pool);
	memset(r, 0, sizeof(*r));
}

static bool word(const struct route *r, size_t i, const char *w)
{
	return i < r->nseg && strlen(r->dec[i]) == r->dec_len[i] && util_ieq(r->dec[i], w);
}

/*
 * The route patterns (contract §1.3): '/'-separated words matched case-insensitively against
 * the decoded segments after the pool prefix; "*" is one segment, "+" (last) one or more.
 * A root_exact pattern needs no pool prefix and matches case-sensitively. First match wins.
 */
static const struct {
	enum route_resource res;
	const char *pattern;
	bool root_exact;
} resources[] = {
    {RES_HEALTHZ, "healthz", true},
    {RES_CODE_EXECUTE, "code/execute", false},
    {RES_PYTHON_EXECUTE, "python/execute", false},
    {RES_PYTHON_DOWNLOAD, "python/downloadFile", false},
    {RES_FILES, "files", false},
    {RES_FILES_UPLOAD, "files/upload", false},
    {RES_FILES_SUB, "files/+", false},
    {RES_EXECUTIONS, "executions", false},
    {RES_EXECUTION, "executions/*", false},
    {RES_SESSION, "session", false},
    {RES_LIST_SESSIONS, "listSessions", false},
    {RES_METADATA, "metadata", false},
    {RES_MGMT_GET, ".management/getSession", false},
    {RES_MGMT_LIST, ".management/listSessions", false},
    {RES_MGMT_STOP, ".management/stopSession", false},
    {RES_MCP, "mcp", false},
    {RES_ROOT, "", true},
    {RES_PLAYGROUND, "playground", true},
    {RES_PLAYGROUND, "playground/+", true},
    {RES_EMU_REQUESTS, ".emulator/requests", true},
};

#define SD (OPF_SESSION | OPF_DATA)
/* The operation table (route.h, struct route_row): one row per way to reach an operation. */
static const struct route_row table[] = {
    {OP_HEALTHZ, RES_HEALTHZ, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_NO_AUTH},
    {OP_CODE_EXECUTE, RES_CODE_EXECUTE, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_PYTHON_EXECUTE, RES_PYTHON_EXECUTE, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0,
     SD | OPF_ID_IN_BODY},
    {OP_EXECUTIONS_POST, RES_EXECUTIONS, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_EXECUTION_GET, RES_EXECUTION, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_FILES_UPLOAD_OLD, RES_FILES_UPLOAD, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_FILES_UPLOAD_NEW, RES_FILES, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_FILES_LIST, RES_FILES, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    /* python/downloadFile: any supported api-version; the name is the `filename` query */
    {OP_FILES_CONTENT, RES_PYTHON_DOWNLOAD, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, SD},
    {OP_FILES_CONTENT, RES_FILES_SUB, HTTP_GET, SHAPE_NEW, MATCH_CONTENT_LAST, 1, 1, SD},
    {OP_FILES_CONTENT, RES_FILES_SUB, HTTP_GET, SHAPE_OLD, MATCH_CONTENT_SECOND, 2, 0, SD},
    {OP_FILES_META, RES_FILES_UPLOAD, HTTP_GET, SHAPE_ANY, MATCH_ANY, 1, 0, SD},
    {OP_FILES_META, RES_FILES_SUB, HTTP_GET, SHAPE_ANY, MATCH_ANY, 1, 0, SD},
    {OP_FILES_DELETE, RES_FILES_UPLOAD, HTTP_DELETE, SHAPE_ANY, MATCH_ANY, 1, 0, SD},
    {OP_FILES_DELETE, RES_FILES_SUB, HTTP_DELETE, SHAPE_ANY, MATCH_ANY, 1, 0, SD},
    {OP_SESSION_GET, RES_SESSION, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_SESSION},
    {OP_SESSION_DELETE, RES_SESSION, HTTP_DELETE, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_SESSION},
    {OP_LIST_SESSIONS, RES_LIST_SESSIONS, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, 0},
    {OP_METADATA, RES_METADATA, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, 0},
    {OP_MGMT_GET_SESSION, RES_MGMT_GET, HTTP_GET | HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0,
     OPF_SESSION},
    {OP_MGMT_LIST_SESSIONS, RES_MGMT_LIST, HTTP_GET | HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0,
     OPF_APIV_OPTIONAL},
    {OP_MGMT_STOP_SESSION, RES_MGMT_STOP, HTTP_GET | HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0,
     OPF_SESSION},
    /* §13: no Authorization, no api-version; its own key check (x-ms-apikey) */
    {OP_MCP, RES_MCP, HTTP_POST, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_NO_AUTH | OPF_OWN_CHECKS},
    /* The emulator's own (not in the contract): the playground (no auth to load the page; its
     * calls carry a token) and the request feed it polls. */
    {OP_ROOT, RES_ROOT, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_NO_AUTH | OPF_QUIET},
    {OP_PLAYGROUND, RES_PLAYGROUND, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0, OPF_NO_AUTH | OPF_QUIET},
    {OP_EMU_REQUESTS, RES_EMU_REQUESTS, HTTP_GET, SHAPE_ANY, MATCH_ANY, 0, 0,
     OPF_APIV_OPTIONAL | OPF_QUIET},
};
#undef SD

const struct route_row *route_table(size_t *n)
{
	*n = sizeof(table) / sizeof(*table);
	return table;
}

/* True if the segments of |r| match |pattern| (see resources[]). */
static bool pattern_matches(const struct route *r, const char *pattern, bool exact)
{
	size_t i = 0;
	for (const char *w = pattern; *w; i++) {
		size_t l = strcspn(w, "/");
		if (l == 1 && *w == '+')
			return i < r->nseg;
		if (i >= r->nseg)
			return false;
		char buf[32];
		snprintf(buf, sizeof(buf), "%.*s", (int)l, w);
		bool ok =
		    (l == 1 && *w == '*') || (exact ? !strcmp(r->dec[i], buf) : word(r, i, buf));
		if (!ok)
			return false;
		w += l + (w[l] == '/');
	}
	return i == r->nseg;
}

static void classify(struct route *r)
{
	r->res = RES_NONE;
	r->methods = 0;
	for (size_t i = 0; i < sizeof(resources) / sizeof(*resources); i++) {
		if (resources[i].root_exact && *r->prefix)
			continue;
		if (pattern_matches(r, resources[i].pattern, resources[i].root_exact)) {
			r->res = resources[i].res;
			break;
		}
	}
	for (size_t i = 0; r->res != RES_NONE && i < sizeof(table) / sizeof(*table); i++)
		if (table[i].res == r->res)
			r->methods |= table[i].methods;
}

static void free_segments(char **segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
}

/* The raw segments of the path (the part before '?' or '#'), empty ones dropped: runs of '/'
 * collapse and a trailing '/' goes. 0 or -ENOMEM. */
static int split_segments(const char *raw_path, char ***out, size_t *nout)
{
	size_t plen = strcspn(raw_path, "?#"), cap = 8, n = 0;
	char **segs = calloc(cap, sizeof(char *));
	if (!segs)
		return -ENOMEM;
	for (size_t i = 0; i < plen;) {
		if (raw_path[i] == '/') {
			i++;
			continue;
		}
		size_t l = strcspn(raw_path + i, "/?#");
		if (n == cap) {
			char **ns = realloc(segs, 2 * cap * sizeof(char *));
			if (!ns)
				goto oom;
			segs = ns;
			cap *= 2;
		}
		if (!(segs[n] = strndup(raw_path + i, l)))
			goto oom;
		n++;
		i += l;
	}
	*out = segs;
	*nout = n;
	return 0;
oom:
	free_segments(segs, n);
	return -ENOMEM;
}

int route_parse(const char *raw_path, struct route *out)
{
	memset(out, 0, sizeof(*out));
	char **segs;
	size_t n;
	if (split_segments(raw_path, &segs, &n) < 0)
		return -ENOMEM;

	/* Strip the optional pool prefix: all six segments, none empty, words case-insensitive. */
	size_t skip = 0;
	if (n >= 6 && util_ieq(segs[0], "subscriptions") && util_ieq(segs[2], "resourceGroups") &&
	    util_ieq(segs[4], "sessionPools"))
		skip = 6;
	struct strbuf pre = {0};
	for (size_t i = 0; i < skip; i++) {
		strbuf_puts(&pre, "/");
		strbuf_puts(&pre, segs[i]);
	}
	out->prefix = strbuf_steal(&pre);
	if (!out->prefix)
		goto oom;
	if (skip) {
		out->pool = sp_pct_decode(segs[5], strlen(segs[5]), NULL);
		if (!out->pool)
			goto oom;
	}
	out->nseg = n - skip;
	out->raw = calloc(out->nseg + 1, sizeof(char *));
	out->dec = calloc(out->nseg + 1, sizeof(char *));
	out->dec_len = calloc(out->nseg + 1, sizeof(size_t));
	if (!out->raw || !out->dec || !out->dec_len)
		goto oom;
	for (size_t i = 0; i < out->nseg; i++) {
		out->raw[i] = segs[skip + i];
		segs[skip + i] = NULL;
		out->dec[i] = sp_pct_decode(out->raw[i], strlen(out->raw[i]), &out->dec_len[i]);
		if (!out->dec[i])
			goto oom;
	}
	free_segments(segs, n);
	classify(out);
	return 0;
oom:
	free_segments(segs, n);
	route_fini(out);
	return -ENOMEM;
}

static bool row_fits(const struct route_row *row, const struct route *r, bool new_shape)
{
	if (row->res != r->res)
		return false;
	if ((row->shape == SHAPE_NEW && !new_shape) || (row->shape == SHAPE_OLD && new_shape))
		return false;
	switch (row->match) {
	case MATCH_ANY:
		return true;
	case MATCH_CONTENT_SECOND:
		return r->nseg >= 3 && util_ieq(r->raw[1], "content");
	case MATCH_CONTENT_LAST:
		return r->nseg >= 3 && util_ieq(r->raw[r->nseg - 1], "content");
	}
	return false;
}

const struct route_row *route_match_row(const struct route *r, enum http_method m, bool new_shape)
{
	if (m == HTTP_HEAD)
		m = HTTP_GET;
	if (!(r->methods & m))
		return NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
		if ((table[i].methods & m) && row_fits(&table[i], r, new_shape))
			return &table[i];
	return NULL;
}

enum route_op route_op_for(const struct route *r, enum http_method m, bool new_shape)
{
	const struct route_row *row = route_match_row(r, m, new_shape);
	return row ? row->op : OP_NONE;
}

unsigned route_op_flags(enum route_op op)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (table[i].op == op)
			return table[i].flags;
	return 0;
}

unsigned route_res_flags(enum route_resource res)
{
	unsigned f = 0;
	for (size_t i = 0; res != RES_NONE && i < sizeof(table) / sizeof(*table); i++)
		if (table[i].res == res)
			f |= table[i].flags;
	return f;
}

enum route_op route_own_checks_op(const struct route *r)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (table[i].res == r->res && (table[i].flags & OPF_OWN_CHECKS))
			return table[i].op;
	return OP_NONE;
}

bool route_api_version_optional(const struct route *r, enum http_method m)
{
	if (m == HTTP_HEAD)
		m = HTTP_GET;
	bool any = false;
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		if (table[i].res != r->res || !(table[i].methods & m))
			continue;
		if (!(table[i].flags & OPF_APIV_OPTIONAL))
			return false;
		any = true;
	}
	return any;
}

const char *route_allow(const struct route *r, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	static const struct {
		unsigned bit;
		const char *name;
	} order[] = {{HTTP_GET, "GET"}, {HTTP_POST, "POST"}, {HTTP_DELETE, "DELETE"}};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (r->methods & order[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      order[i].name);
	if (r->methods & HTTP_GET)
		o += (size_t)snprintf(buf + o, len - o, "%sHEAD", o ? ", " : "");
	snprintf(buf + o, len - o, "%sOPTIONS", o ? ", " : "");
	return buf;
}

bool route_op_session_scoped(enum route_op op)
{
	return route_op_flags(op) & OPF_SESSION;
}

bool route_op_is_data(enum route_op op)
{
	return route_op_flags(op) & OPF_DATA;
}

bool route_res_shared(enum route_resource res)
{
	return res == RES_FILES || res == RES_FILES_SUB || res == RES_FILES_UPLOAD;
}

static char *join_dec(const struct route *r, size_t from, size_t to, size_t *len)
{
	size_t total = 0;
	for (size_t i = from; i < to; i++)
		total += r->dec_len[i] + 1;
	char *s = malloc(total + 1);
	if (!s)
		return NULL;
	size_t o = 0;
	for (size_t i = from; i < to; i++) {
		if (i > from)
			s[o++] = '/';
		memcpy(s + o, r->dec[i], r->dec_len[i]);
		o += r->dec_len[i];
	}
	s[o] = '\0';
	*len = o;
	return s;
}

char *route_file_name(const struct route *r, enum route_op op, bool new_shape, size_t *len)
{
	size_t dummy;
	if (!len)
		len = &dummy;
	errno = 0;
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		const struct route_row *row = &table[i];
		if (row->op != op || row->res != r->res || !row->name_from ||
		    (row->shape == SHAPE_NEW && !new_shape) ||
		    (row->shape == SHAPE_OLD && new_shape))
			continue;
		return join_dec(r, row->name_from, r->nseg - row->name_trim, len);
	}
	return NULL;
}

const char *route_execution_id(const struct route *r, size_t *len)
{
	if (r->res != RES_EXECUTION)
		return NULL;
	if (len)
		*len = r->dec_len[1];
	return r->dec[1];
}

void query_fini(struct query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->names[i]);
		free(q->values[i]);
	}
	free(q->names);
	free(q->values);
	free(q->lens);
	memset(q, 0, sizeof(*q));
}

int query_parse(const char *raw, struct query *out)
{
	memset(out, 0, sizeof(*out));
	if (!raw || !*raw)
		return 0;
	size_t count = 1;
	for (const char *p = raw; *p; p++)
		if (*p == '&')
			count++;
	out->names = calloc(count, sizeof(char *));
	out->values = calloc(count, sizeof(char *));
	out->lens = calloc(count, sizeof(size_t));
	if (!out->names || !out->values || !out->lens) {
		query_fini(out);
		return -ENOMEM;
	}
	const char *p = raw;
	while (1) {
		size_t l = strcspn(p, "&#");
		if (l > 0) {
			const char *eq = memchr(p, '=', l);
			size_t nl = eq ? (size_t)(eq - p) : l;
			const char *v = eq ? eq + 1 : p + l;
			size_t vl = eq ? l - nl - 1 : 0;
			out->names[out->n] = sp_pct_decode(p, nl, NULL);
			out->values[out->n] = sp_pct_decode(v, vl, &out->lens[out->n]);
			if (!out->names[out->n] || !out->values[out->n]) {
				out->n++;
				query_fini(out);
				return -ENOMEM;
			}
			out->n++;
		}
		if (p[l] != '&')
			break;
		p += l + 1;
	}
	return 0;
}

const char *query_get(const struct query *q, const char *name, size_t *len)
{
	for (size_t i = 0; i < q->n; i++)
		if (util_ieq(q->names[i], name)) {
			if (len)
				*len = q->lens[i];
			return q->values[i];
		}
	return NULL;
}

/* The supported api-versions (contract §1.4), oldest first: X(version, new shape). */
#define API_VERSIONS(X)                                                                            \
	X("2024-02-02-preview", false)                                                             \
	X("2024-08-02-preview", false)                                                             \
	X("2024-10-02-preview", true)                                                              \
	X("2025-02-02-preview", true)                                                              \
	X("2025-10-02-preview", true)

#define API_VERSION_ROW(v, n)  {v, n},
#define API_VERSION_TEXT(v, n) ", " v

static const struct {
	const char *v;
	bool is_new;
} api_versions[] = {API_VERSIONS(API_VERSION_ROW)};

enum api_version_check api_version_check(const char *v, enum api_version_mode mode, bool *is_new)
{
	if (!v || !*v)
		return APIV_MISSING;
	for (size_t i = 0; i < sizeof(api_versions) / sizeof(*api_versions); i++)
		if (!strcmp(v, api_versions[i].v)) {
			*is_new = api_versions[i].is_new;
			return APIV_OK;
		}
	if (mode == API_VERSION_LENIENT) {
		*is_new = true;
		return APIV_OK;
	}
	return APIV_UNSUPPORTED;
}

const char *api_versions_supported(void)
{
	/* The list joined with ", " (the leading ", " skipped). */
	return &API_VERSIONS(API_VERSION_TEXT)[2];
}

bool identifier_valid(const char *s, size_t len)
{
	static const char specials[] = IDENTIFIER_SPECIALS;
	if (len < 4 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c != 0 && strchr(specials, c));
		if (!ok)
			return false;
	}
	return true;
}
