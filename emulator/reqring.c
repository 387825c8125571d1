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

/*
 * One request, kept raw in one block: the query, the "name\0value\0" header pairs (secret
 * values already replaced), then the two body excerpts. Copying is all a request pays; the
 * query's redaction and the bodies' conversion to text happen when the ring is read.
 */
struct item {
	uint64_t seq; /* 0: empty */
	struct reqlog_entry e;
	char *blob;
	size_t qlen, hlen, reqlen, resplen;
	bool req_cut, resp_cut;
	char resp_type[96];
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
	free(it->blob);
	memset(it, 0, sizeof(*it));
}

/* Query parameter names whose values are never shown. */
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

/* |q| (|n| bytes) with the values of secret-looking parameters replaced by "[redacted]", as
 * UTF-8 text. */
static char *redact_query(const char *q, size_t n)
{
	struct strbuf b = {0};
	for (size_t i = 0; i < n;) {
		const char *amp = memchr(q + i, '&', n - i);
		size_t end = amp ? (size_t)(amp - q) : n;
		const char *eqp = memchr(q + i, '=', end - i);
		size_t eq = eqp ? (size_t)(eqp - q) : end;
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

static const char *header_value(const struct reqlog_header *h)
{
	return reqlog_header_secret(h->name) ? "[redacted]" : (h->value ? h->value : "");
}

/* Packs the header pairs into |out| (NULL: only measures). Returns the bytes. */
static size_t pack_headers(const struct reqlog_header *h, size_t n, char *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n && len < HEADERS_MAX; i++) {
		if (!h[i].name)
			continue;
		const char *v = header_value(&h[i]);
		size_t nl = strlen(h[i].name) + 1, vl = strnlen(v, 1024);
		if (out) {
			memcpy(out + len, h[i].name, nl);
			memcpy(out + len + nl, v, vl);
			out[len + nl + vl] = '\0';
		}
		len += nl + vl + 1;
	}
	return len;
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
	it.qlen = c->query ? strnlen(c->query, QUERY_MAX) : 0;
	it.hlen = pack_headers(c->headers, c->nheaders, NULL);
	it.reqlen = c->req_body ? c->req_body_len : 0;
	it.resplen = c->resp_body ? c->resp_body_len : 0;
	it.req_cut = it.reqlen > REQRING_BODY_MAX || e->bytes_in > it.reqlen;
	it.resp_cut = it.resplen > REQRING_BODY_MAX || e->bytes_out > it.resplen;
	if (it.reqlen > REQRING_BODY_MAX)
		it.reqlen = REQRING_BODY_MAX;
	if (it.resplen > REQRING_BODY_MAX)
		it.resplen = REQRING_BODY_MAX;
	it.blob = malloc(it.qlen + it.hlen + it.reqlen + it.resplen + 1);
	if (!it.blob)
		return;
	char *o = it.blob;
	memcpy(o, c->query ? c->query : "", it.qlen);
	o += it.qlen;
	o += pack_headers(c->headers, c->nheaders, o);
	memcpy(o, c->req_body ? c->req_body : "", it.reqlen);
	memcpy(o + it.reqlen, c->resp_body ? c->resp_body : "", it.resplen);
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

/* |len| bytes as a JSON string (ill-formed UTF-8 → U+FFFD), or null when there are none. */
static void add_text(cJSON *o, const char *name, const char *s, size_t len)
{
	char *t = len ? util_utf8_sanitize(s, len) : NULL;
	add_str(o, name, t);
	free(t);
}

static void add_headers(cJSON *o, const char *h, size_t hlen)
{
	cJSON *hs = cJSON_AddArrayToObject(o, "requestHeaders");
	for (size_t i = 0; i < hlen;) {
		const char *name = h + i;
		size_t nl = strlen(name);
		const char *value = name + nl + 1;
		size_t vl = strlen(value);
		cJSON *pair = cJSON_CreateArray();
		cleanup_free char *cn = util_utf8_sanitize(name, nl);
		cleanup_free char *cv = util_utf8_sanitize(value, vl);
		cJSON_AddItemToArray(pair, cJSON_CreateString(cn ? cn : ""));
		cJSON_AddItemToArray(pair, cJSON_CreateString(cv ? cv : ""));
		cJSON_AddItemToArray(hs, pair);
		i += nl + 1 + vl + 1;
	}
}

static cJSON *item_json(const struct item *it)
{
	const struct reqlog_entry *e = &it->e;
	const char *q = it->blob, *h = q + it->qlen, *req = h + it->hlen, *resp = req + it->reqlen;
	cJSON *o = cJSON_CreateObject();
	char t[40];
	cJSON_AddNumberToObject(o, "seq", (double)it->seq);
	cJSON_AddStringToObject(o, "time", util_format_ticks(e->time_ticks, t, sizeof(t)));
	add_text(o, "method", e->method, strlen(e->method));
	add_text(o, "route", e->route, strlen(e->route));
	cleanup_free char *query = it->qlen ? redact_query(q, it->qlen) : NULL;
	add_str(o, "query", query);
	add_text(o, "identifier", e->identifier, strlen(e->identifier));
	cJSON_AddNumberToObject(o, "status", e->status);
	add_str(o, "errorCode", *e->error_code ? e->error_code : NULL);
	cJSON_AddNumberToObject(o, "durationMs", (double)e->duration_us / 1000.0);
	cJSON_AddNumberToObject(o, "bytesIn", (double)e->bytes_in);
	cJSON_AddNumberToObject(o, "bytesOut", (double)e->bytes_out);
	add_headers(o, h, it->hlen);
	add_text(o, "requestBody", req, it->reqlen);
	cJSON_AddBoolToObject(o, "requestBodyTruncated", it->req_cut);
	add_str(o, "responseType", *it->resp_type ? it->resp_type : NULL);
	add_text(o, "responseBody", resp, it->resplen);
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
