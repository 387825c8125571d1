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

static void classify(struct route *r)
{
	size_t n = r->nseg;
	r->res = RES_NONE;
	r->methods = 0;
	if (n == 0)
		return;
	if (n == 1 && !*r->prefix && !strcmp(r->dec[0], "healthz")) {
		r->res = RES_HEALTHZ;
		r->methods = HTTP_GET;
		return;
	}
	if (word(r, 0, "code") && n == 2 && word(r, 1, "execute")) {
		r->res = RES_CODE_EXECUTE;
		r->methods = HTTP_POST;
	} else if (word(r, 0, "python") && n == 2 && word(r, 1, "execute")) {
		r->res = RES_PYTHON_EXECUTE;
		r->methods = HTTP_POST;
	} else if (word(r, 0, "python") && n == 2 && word(r, 1, "downloadFile")) {
		r->res = RES_PYTHON_DOWNLOAD;
		r->methods = HTTP_GET;
	} else if (word(r, 0, "files")) {
		if (n == 1) {
			r->res = RES_FILES;
			r->methods = HTTP_GET | HTTP_POST;
		} else if (n == 2 && word(r, 1, "upload")) {
			r->res = RES_FILES_UPLOAD;
			r->methods = HTTP_GET | HTTP_POST | HTTP_DELETE;
		} else {
			r->res = RES_FILES_SUB;
			r->methods = HTTP_GET | HTTP_DELETE;
		}
	} else if (word(r, 0, "executions")) {
		if (n == 1) {
			r->res = RES_EXECUTIONS;
			r->methods = HTTP_POST;
		} else if (n == 2) {
			r->res = RES_EXECUTION;
			r->methods = HTTP_GET;
		}
	} else if (n == 1 && word(r, 0, "session")) {
		r->res = RES_SESSION;
		r->methods = HTTP_GET | HTTP_DELETE;
	} else if (n == 1 && word(r, 0, "listSessions")) {
		r->res = RES_LIST_SESSIONS;
		r->methods = HTTP_GET;
	} else if (n == 1 && word(r, 0, "metadata")) {
		r->res = RES_METADATA;
		r->methods = HTTP_GET;
	} else if (n == 2 && word(r, 0, ".management")) {
		if (word(r, 1, "getSession"))
			r->res = RES_MGMT_GET;
		else if (word(r, 1, "listSessions"))
			r->res = RES_MGMT_LIST;
		else if (word(r, 1, "stopSession"))
			r->res = RES_MGMT_STOP;
		if (r->res != RES_NONE)
			r->methods = HTTP_GET | HTTP_POST;
	}
}

int route_parse(const char *raw_path, struct route *out)
{
	memset(out, 0, sizeof(*out));
	/* Ignore any fragment; the query was split off by the caller (or here, defensively). */
	size_t plen = strcspn(raw_path, "?#");
	/* Collapse runs of '/' and drop one trailing '/'. */
	char *p = malloc(plen + 2);
	if (!p)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < plen; i++) {
		if (raw_path[i] == '/' && o > 0 && p[o - 1] == '/')
			continue;
		p[o++] = raw_path[i];
	}
	if (o > 1 && p[o - 1] == '/')
		o--;
	p[o] = '\0';

	/* Split into raw segments. */
	size_t cap = 8, n = 0;
	char **segs = calloc(cap, sizeof(char *));
	if (!segs) {
		free(p);
		return -ENOMEM;
	}
	char *s = p;
	while (*s) {
		if (*s == '/') {
			s++;
			continue;
		}
		size_t l = strcspn(s, "/");
		if (n == cap) {
			cap *= 2;
			char **ns = realloc(segs, cap * sizeof(char *));
			if (!ns)
				goto oom;
			segs = ns;
		}
		segs[n] = strndup(s, l);
		if (!segs[n])
			goto oom;
		n++;
		s += l;
	}

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
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
	free(p);
	classify(out);
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(segs[i]);
	free(segs);
	free(p);
	route_fini(out);
	return -ENOMEM;
}

enum route_op route_op_for(const struct route *r, enum http_method m, bool new_shape)
{
	if (m == HTTP_HEAD)
		m = HTTP_GET;
	if (!(r->methods & m))
		return OP_NONE;
	switch (r->res) {
	case RES_NONE:
		return OP_NONE;
	case RES_HEALTHZ:
		return OP_HEALTHZ;
	case RES_CODE_EXECUTE:
		return OP_CODE_EXECUTE;
	case RES_PYTHON_EXECUTE:
		return OP_PYTHON_EXECUTE;
	case RES_PYTHON_DOWNLOAD:
		return OP_FILES_CONTENT; /* any supported api-version: the answer is raw bytes */
	case RES_FILES:
		return m == HTTP_POST ? OP_FILES_UPLOAD_NEW : OP_FILES_LIST;
	case RES_FILES_UPLOAD:
		if (m == HTTP_POST)
			return OP_FILES_UPLOAD_OLD;
		return m == HTTP_DELETE ? OP_FILES_DELETE : OP_FILES_META;
	case RES_FILES_SUB:
		if (m == HTTP_DELETE)
			return OP_FILES_DELETE;
		if (new_shape) {
			/* Last raw segment literally "content" with at least one before it. */
			if (r->nseg >= 3 && util_ieq(r->raw[r->nseg - 1], "content"))
				return OP_FILES_CONTENT;
			return OP_FILES_META;
		}
		if (r->nseg >= 3 && util_ieq(r->raw[1], "content"))
			return OP_FILES_CONTENT;
		return OP_FILES_META;
	case RES_EXECUTIONS:
		return OP_EXECUTIONS_POST;
	case RES_EXECUTION:
		return OP_EXECUTION_GET;
	case RES_SESSION:
		return m == HTTP_DELETE ? OP_SESSION_DELETE : OP_SESSION_GET;
	case RES_LIST_SESSIONS:
		return OP_LIST_SESSIONS;
	case RES_METADATA:
		return OP_METADATA;
	case RES_MGMT_GET:
		return OP_MGMT_GET_SESSION;
	case RES_MGMT_LIST:
		return OP_MGMT_LIST_SESSIONS;
	case RES_MGMT_STOP:
		return OP_MGMT_STOP_SESSION;
	}
	return OP_NONE;
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
	switch (op) {
	case OP_NONE:
	case OP_LIST_SESSIONS:
	case OP_METADATA:
	case OP_MGMT_LIST_SESSIONS:
	case OP_HEALTHZ:
		return false;
	case OP_CODE_EXECUTE:
	case OP_PYTHON_EXECUTE:
	case OP_EXECUTIONS_POST:
	case OP_EXECUTION_GET:
	case OP_FILES_UPLOAD_OLD:
	case OP_FILES_UPLOAD_NEW:
	case OP_FILES_LIST:
	case OP_FILES_CONTENT:
	case OP_FILES_META:
	case OP_FILES_DELETE:
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_MGMT_GET_SESSION:
	case OP_MGMT_STOP_SESSION:
		return true;
	}
	return false;
}

bool route_op_is_data(enum route_op op)
{
	switch (op) {
	case OP_CODE_EXECUTE:
	case OP_PYTHON_EXECUTE:
	case OP_EXECUTIONS_POST:
	case OP_EXECUTION_GET:
	case OP_FILES_UPLOAD_OLD:
	case OP_FILES_UPLOAD_NEW:
	case OP_FILES_LIST:
	case OP_FILES_CONTENT:
	case OP_FILES_META:
	case OP_FILES_DELETE:
		return true;
	case OP_NONE:
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_LIST_SESSIONS:
	case OP_METADATA:
	case OP_MGMT_GET_SESSION:
	case OP_MGMT_LIST_SESSIONS:
	case OP_MGMT_STOP_SESSION:
	case OP_HEALTHZ:
		return false;
	}
	return false;
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
	if (r->res == RES_PYTHON_DOWNLOAD)
		return NULL;
	switch (op) {
	case OP_FILES_CONTENT:
		if (new_shape)
			return join_dec(r, 1, r->nseg - 1, len);
		return join_dec(r, 2, r->nseg, len);
	case OP_FILES_META:
	case OP_FILES_DELETE:
		return join_dec(r, 1, r->nseg, len);
	case OP_NONE:
	case OP_CODE_EXECUTE:
	case OP_PYTHON_EXECUTE:
	case OP_EXECUTIONS_POST:
	case OP_EXECUTION_GET:
	case OP_FILES_UPLOAD_OLD:
	case OP_FILES_UPLOAD_NEW:
	case OP_FILES_LIST:
	case OP_SESSION_GET:
	case OP_SESSION_DELETE:
	case OP_LIST_SESSIONS:
	case OP_METADATA:
	case OP_MGMT_GET_SESSION:
	case OP_MGMT_LIST_SESSIONS:
	case OP_MGMT_STOP_SESSION:
	case OP_HEALTHZ:
		break;
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

static const char *const old_versions[] = {"2024-02-02-preview", "2024-08-02-preview"};
static const char *const new_versions[] = {"2024-10-02-preview", "2025-02-02-preview",
					   "2025-10-02-preview"};

enum api_version_check api_version_check(const char *v, enum api_version_mode mode, bool *is_new)
{
	if (!v || !*v)
		return APIV_MISSING;
	for (size_t i = 0; i < sizeof(old_versions) / sizeof(*old_versions); i++)
		if (!strcmp(v, old_versions[i])) {
			*is_new = false;
			return APIV_OK;
		}
	for (size_t i = 0; i < sizeof(new_versions) / sizeof(*new_versions); i++)
		if (!strcmp(v, new_versions[i])) {
			*is_new = true;
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
	return "2024-02-02-preview, 2024-08-02-preview, 2024-10-02-preview, 2025-02-02-preview, "
	       "2025-10-02-preview";
}

bool identifier_valid(const char *s, size_t len)
{
	static const char specials[] = "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`";
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
