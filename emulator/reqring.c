/* SPDX-License-Identifier: MIT */
/* The ring of recent requests; see reqring.h. */
#include "reqring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "util.h"

#define QUERY_MAX   2048
#define HEADERS_MAX 4096

struct item {
	uint64_t seq; /* 0: empty */
	struct reqlog_entry e;
	char *query;   /* redacted */
	char *headers; /* "name\0value\0" pairs */
	size_t headers_len;
	char *req_body; /* UTF-8 text (sanitised) */
	bool req_cut;
	char resp_type[96];
	char *resp_body;
	bool resp_cut;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct item *ring;
static size_t cap;
static uint64_t last_seq;

void reqring_init(size_t n)
{
	if (n < 1 || n > REQRING_CAP)
		n = REQRING_CAP;
	ring = calloc(n, sizeof(*ring));
	cap = ring ? n : 0;
}

bool reqring_on(void)
{
	return cap > 0;
}

static void item_fini(struct item *it)
{
	free(it->query);
	free(it->headers);
	free(it->req_body);
	free(it->resp_body);
	memset(it, 0, sizeof(*it));
}

/* Query parameter names whose values are never kept. */
static bool secret_param(const char *name, size_t len)
{
	static const char *const words[] = {"token", "key", "sig", "secret", "password", "auth"};
	char low[64];
	if (len >= sizeof(low))
		return true;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	low[len] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

/* |q| with the values of secret-looking parameters replaced by "[redacted]". */
static char *redact_query(const char *q)
{
	struct strbuf b = {0};
	size_t n = strnlen(q, QUERY_MAX);
	for (size_t i = 0; i < n;) {
		size_t end = i + strcspn(q + i, "&");
		if (end > n)
			end = n;
		size_t eq = i + strcspn(q + i, "=&");
		if (i > 0)
			strbuf_puts(&b, "&");
		if (eq < end && secret_param(q + i, eq - i)) {
			strbuf_append(&b, q + i, eq - i + 1);
			strbuf_puts(&b, "[redacted]");
		} else {
			strbuf_append(&b, q + i, end - i);
		}
		i = end + 1;
	}
	char *raw = strbuf_steal(&b);
	char *clean = raw ? util_utf8_sanitize(raw, strlen(raw)) : NULL;
	free(raw);
	return clean;
}

static char *pack_headers(const struct reqlog_header *h, size_t n, size_t *len)
{
	struct strbuf b = {0};
	for (size_t i = 0; i < n && b.len < HEADERS_MAX; i++) {
		if (!h[i].name)
			continue;
		const char *v =
		    reqlog_header_secret(h[i].name) ? "[redacted]" : (h[i].value ? h[i].value : "");
		strbuf_append(&b, h[i].name, strlen(h[i].name) + 1);
		strbuf_append(&b, v, strnlen(v, 1024));
		strbuf_append(&b, "", 1);
	}
	*len = b.len;
	return strbuf_steal(&b);
}

static char *body_text(const char *body, size_t len, bool *cut)
{
	*cut = len > REQRING_BODY_MAX;
	if (!body || !len)
		return NULL;
	return util_utf8_sanitize(body, len > REQRING_BODY_MAX ? REQRING_BODY_MAX : len);
}

void reqring_add(const struct reqlog_entry *e, const struct reqring_capture *c)
{
	if (!cap)
		return;
	struct item it = {.e = *e};
	it.e.headers = NULL;
	it.e.nheaders = 0;
	it.e.body = NULL;
	it.e.body_len = 0;
	it.query = c->query && *c->query ? redact_query(c->query) : NULL;
	it.headers = pack_headers(c->headers, c->nheaders, &it.headers_len);
	it.req_body = body_text(c->req_body, c->req_body_len, &it.req_cut);
	it.req_cut = it.req_cut || e->bytes_in > c->req_body_len;
	it.resp_body = body_text(c->resp_body, c->resp_body_len, &it.resp_cut);
	it.resp_cut = it.resp_cut || e->bytes_out > c->resp_body_len;
	snprintf(it.resp_type, sizeof(it.resp_type), "%s", c->resp_type ? c->resp_type : "");
	pthread_mutex_lock(&lock);
	it.seq = ++last_seq;
	struct item *slot = &ring[(it.seq - 1) % cap];
	struct item old = *slot;
	*slot = it;
	pthread_mutex_unlock(&lock);
	item_fini(&old);
}

static void add_str(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static cJSON *item_json(const struct item *it)
{
	const struct reqlog_entry *e = &it->e;
	cJSON *o = cJSON_CreateObject();
	char t[40];
	cJSON_AddNumberToObject(o, "seq", (double)it->seq);
	cJSON_AddStringToObject(o, "time", util_format_ticks(e->time_ticks, t, sizeof(t)));
	cJSON_AddStringToObject(o, "method", e->method);
	cJSON_AddStringToObject(o, "route", e->route);
	add_str(o, "query", it->query);
	add_str(o, "identifier", *e->identifier ? e->identifier : NULL);
	cJSON_AddNumberToObject(o, "status", e->status);
	add_str(o, "errorCode", *e->error_code ? e->error_code : NULL);
	cJSON_AddNumberToObject(o, "durationMs", (double)e->duration_us / 1000.0);
	cJSON_AddNumberToObject(o, "bytesIn", (double)e->bytes_in);
	cJSON_AddNumberToObject(o, "bytesOut", (double)e->bytes_out);
	cJSON *hs = cJSON_AddArrayToObject(o, "requestHeaders");
	for (size_t i = 0; it->headers && i < it->headers_len;) {
		const char *name = it->headers + i;
		const char *value = name + strlen(name) + 1;
		cJSON *pair = cJSON_CreateArray();
		cleanup_free char *cn = util_utf8_sanitize(name, strlen(name));
		cleanup_free char *cv = util_utf8_sanitize(value, strlen(value));
		cJSON_AddItemToArray(pair, cJSON_CreateString(cn ? cn : ""));
		cJSON_AddItemToArray(pair, cJSON_CreateString(cv ? cv : ""));
		cJSON_AddItemToArray(hs, pair);
		i = (size_t)(value - it->headers) + strlen(value) + 1;
	}
	add_str(o, "requestBody", it->req_body);
	cJSON_AddBoolToObject(o, "requestBodyTruncated", it->req_cut);
	add_str(o, "responseType", *it->resp_type ? it->resp_type : NULL);
	add_str(o, "responseBody", it->resp_body);
	cJSON_AddBoolToObject(o, "responseBodyTruncated", it->resp_cut);
	return o;
}

static bool matches(const struct item *it, const char *identifier, int status_class)
{
	if (identifier && *identifier && strcmp(it->e.identifier, identifier) != 0)
		return false;
	return !status_class || it->e.status / 100 == status_class;
}

cJSON *reqring_json(uint64_t since, size_t limit, const char *identifier, int status_class)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, "requests");
	if (!root || !arr) {
		cJSON_Delete(root);
		return NULL;
	}
	if (limit > REQRING_LIST_MAX)
		limit = REQRING_LIST_MAX;
	pthread_mutex_lock(&lock);
	uint64_t oldest = last_seq >= cap ? last_seq - cap + 1 : 1;
	uint64_t from = since + 1 > oldest ? since + 1 : oldest;
	uint64_t dropped = from > since + 1 ? from - since - 1 : 0;
	uint64_t next = since > last_seq ? last_seq : since;
	size_t n = 0;
	for (uint64_t s = from; cap && s <= last_seq && n < limit; s++) {
		const struct item *it = &ring[(s - 1) % cap];
		next = s;
		if (it->seq != s || !matches(it, identifier, status_class))
			continue;
		cJSON_AddItemToArray(arr, item_json(it));
		n++;
	}
	pthread_mutex_unlock(&lock);
	cJSON_AddNumberToObject(root, "next", (double)next);
	cJSON_AddNumberToObject(root, "dropped", (double)dropped);
	return root;
}

void reqring_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < cap; i++)
		item_fini(&ring[i]);
	pthread_mutex_unlock(&lock);
}
