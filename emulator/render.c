/* SPDX-License-Identifier: MIT */
/*
 * Execution responses in the three shapes (contract §5.1, §5.7, §6.1.2) and the cell value's
 * JSON form (§8.2, §8.3). Pure: a struct exec_view in, a cJSON tree out.
 *
 * Sessions and list pages (§6.8, §6.10, §7.1, §7.2) are text written into one buffer, not a
 * tree: a page of 300 through cJSON was 4,800 allocations (item, key and value of each member),
 * 900 gmtime_r and snprintf calls for its times and a printing pass (issue 13's profile of
 * listSessions). The bytes stay cJSON_PrintUnformatted's: a string that needs an escape is
 * printed by cJSON itself, and times are util_format_ticks' text.
 */
#include "render.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "util.h"

/*
 * A JSON string of |len| bytes of valid UTF-8. cJSON strings end at the first NUL, and output
 * may hold U+0000: such text is escaped here (same escapes as cJSON) and inserted raw.
 */
static cJSON *string_n(const char *s, size_t len)
{
	if (!s)
		return cJSON_CreateString("");
	if (!memchr(s, '\0', len))
		return cJSON_CreateString(s);
	struct strbuf b = {0};
	strbuf_puts(&b, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			strbuf_puts(&b, "\\\"");
			break;
		case '\\':
			strbuf_puts(&b, "\\\\");
			break;
		case '\b':
			strbuf_puts(&b, "\\b");
			break;
		case '\f':
			strbuf_puts(&b, "\\f");
			break;
		case '\n':
			strbuf_puts(&b, "\\n");
			break;
		case '\r':
			strbuf_puts(&b, "\\r");
			break;
		case '\t':
			strbuf_puts(&b, "\\t");
			break;
		default:
			if (c < 0x20)
				strbuf_printf(&b, "\\u%04x", c);
			else
				strbuf_append(&b, (const char *)&s[i], 1);
		}
	}
	strbuf_puts(&b, "\"");
	char *text = strbuf_steal(&b);
	cJSON *j = text ? cJSON_CreateRaw(text) : cJSON_CreateString("");
	free(text);
	return j;
}

/* The cell value as JSON (§8.2, §8.3); |legacy|: null is sent as "" (§5.7). */
static cJSON *value_json(const struct exec_view *v, bool legacy)
{
	switch (v->kind) {
	case BK_VALUE_NONE:
		return cJSON_CreateString("");
	case BK_VALUE_NULL:
		return legacy ? cJSON_CreateString("") : cJSON_CreateNull();
	case BK_VALUE_JSON:
		return cJSON_CreateRaw(v->value ? v->value : "null");
	case BK_VALUE_TEXT:
		return cJSON_CreateString(v->value ? v->value : "");
	case BK_VALUE_IMAGE: {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "image");
		cJSON_AddStringToObject(o, "format", "png");
		cJSON_AddStringToObject(o, "base64_data", v->value ? v->value : "");
		return o;
	}
	}
	return cJSON_CreateNull();
}

static const char *new_status(enum exec_status s)
{
	switch (s) {
	case EXEC_RUNNING:
		return "Running";
	case EXEC_SUCCEEDED:
		return "Succeeded";
	case EXEC_FAILED:
		return "Failed";
	case EXEC_CANCELED:
		return "Canceled";
	}
	return "Failed";
}

cJSON *render_exec_old(const struct exec_view *v, bool fault_succeeded)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	const char *status = ok ? "Success" : "Failure";
	if (ok && fault_succeeded)
		status = "Succeeded";
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "$id", "1");
	cJSON *p = cJSON_AddObjectToObject(root, "properties");
	cJSON_AddStringToObject(p, "$id", "2");
	cJSON_AddStringToObject(p, "status", status);
	cJSON_AddItemToObject(p, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(p, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(p, "result", ok ? value_json(v, false) : cJSON_CreateString(""));
	cJSON_AddNumberToObject(p, "executionTimeInMilliseconds", (double)v->exec_ms);
	return root;
}

cJSON *render_exec_legacy(const struct exec_view *v)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "status", ok ? "Success" : "Failure");
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(root, "result", ok ? value_json(v, true) : cJSON_CreateString(""));
	cJSON_AddNumberToObject(root, "executionTimeInMilliseconds", (double)v->exec_ms);
	return root;
}

cJSON *render_exec_new(const struct exec_view *v, const char *identifier)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "id", v->id);
	cJSON_AddStringToObject(root, "identifier", identifier);
	cJSON_AddStringToObject(root, "executionType", v->async ? "Asynchronous" : "Synchronous");
	cJSON_AddStringToObject(root, "status", new_status(v->status));
	if (v->status == EXEC_FAILED || v->status == EXEC_CANCELED) {
		cJSON *e = cJSON_AddObjectToObject(root, "error");
		cJSON *ee = cJSON_AddObjectToObject(e, "error");
		const char *code = exec_error_code(v->error);
		cJSON_AddStringToObject(ee, "code", code ? code : "ExecutionError");
		cJSON_AddStringToObject(ee, "message", v->error_message ? v->error_message : "");
	}
	if (v->status != EXEC_RUNNING) {
		cJSON *res = cJSON_AddObjectToObject(root, "result");
		cJSON_AddItemToObject(res, "stdout", string_n(v->stdout_text, v->stdout_len));
		cJSON_AddItemToObject(res, "stderr", string_n(v->stderr_text, v->stderr_len));
		cJSON_AddItemToObject(res, "executionResult",
				      v->status == EXEC_SUCCEEDED ? value_json(v, false)
								  : cJSON_CreateNull());
		cJSON_AddNumberToObject(res, "executionTimeInMilliseconds", (double)v->exec_ms);
	}
	return root;
}

cJSON *render_mcp_python(const struct exec_view *v, bool *is_error)
{
	bool ok = v->status == EXEC_SUCCEEDED;
	*is_error = !ok;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddItemToObject(root, "executionResult",
			      ok ? value_json(v, false) : cJSON_CreateNull());
	cJSON_AddStringToObject(root, "status", new_status(v->status));
	return root;
}

cJSON *render_mcp_shell(const struct exec_view *v, bool *is_error)
{
	*is_error = v->status != EXEC_SUCCEEDED || v->exit_code != 0;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "stdout", string_n(v->stdout_text, v->stdout_len));
	cJSON_AddItemToObject(root, "stderr", string_n(v->stderr_text, v->stderr_len));
	cJSON_AddNumberToObject(root, "exitCode", (double)v->exit_code);
	return root;
}

/* ---- Sessions and list pages as text ---- */

#define jt_lit(t, s) strbuf_append((t), (s), sizeof(s) - 1)

/* The bytes a JSON string cannot hold as they are ('"', '\\', controls), and for safety every
 * byte outside printable ASCII: cJSON prints a string with any of them. */
static const bool not_plain[256] = {
    [0x00 ... 0x1f] = true,
    ['"'] = true,
    ['\\'] = true,
    [0x7f ... 0xff] = true,
};

/* True when no byte of |s| is not_plain (every etag, the usual identifier): JSON, and cJSON,
 * write such a string as it is. *len: its length. */
static bool plain(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (!not_plain[p[i]])
		i++;
	*len = i;
	return !p[i];
}

/*
 * |s| as a JSON string: copied between quotes when plain(), else printed by cJSON itself into
 * |t| (an item that borrows |s|, no allocation). cJSON needs at most 6 bytes a byte (\u00XX),
 * the quotes, its NUL and one byte of its own margin.
 */
static void jt_string(struct strbuf *t, const char *s)
{
	size_t n;
	if (plain(s, &n)) {
		if (!strbuf_reserve(t, n + 2))
			return;
		char *at = t->data + t->len;
		at[0] = '"';
		memcpy(at + 1, s, n);
		at[n + 1] = '"';
		at[n + 2] = '\0';
		t->len += n + 2;
		return;
	}
	n = strlen(s);
	if (n > (INT_MAX - 4) / 6) {
		t->oom = true;
		return;
	}
	if (!strbuf_reserve(t, 6 * n + 4))
		return;
	cJSON item = {.type = cJSON_String | cJSON_IsReference, .valuestring = (char *)s};
	char *at = t->data + t->len;
	size_t room = t->cap - t->len;
	if (!cJSON_PrintPreallocated(&item, at, room > INT_MAX ? INT_MAX : (int)room, false)) {
		t->oom = true;
		return;
	}
	t->len += strlen(at);
}

/*
 * One member's last formatted time, util_format_ticks' text. A page is sorted by createdAt, so
 * its times mostly fall on one day: within it only the clock and the fraction are written again
 * ("…THH:MM:SS.fffffffZ"; POSIX days have 86,400 s, as gmtime_r counts them).
 */
struct time_cache {
	bool full;
	int64_t day;
	int64_t sec;
	size_t len;
	char text[40];
};

/* The |n| last decimal digits of |v| at |at|. */
static void put_digits(char *at, uint32_t v, int n)
{
	while (n-- > 0) {
		at[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* |ticks| as util_format_ticks' text in quotes (only digits and "-:.TZ": nothing to escape). */
static void jt_time(struct strbuf *t, struct time_cache *c, int64_t ticks)
{
	int64_t sec = ticks / UTIL_TICKS_PER_SEC;
	char *end = c->text + c->len;
	if (ticks < 0 || !c->full || sec / 86400 != c->day) {
		util_format_ticks(ticks, c->text, sizeof(c->text));
		c->len = strlen(c->text);
		c->day = sec / 86400;
		c->sec = sec;
		c->full = ticks >= 0 && c->len >= 20;
	} else {
		if (sec != c->sec) {
			put_digits(end - 17, (uint32_t)(sec % 86400 / 3600), 2);
			put_digits(end - 14, (uint32_t)(sec % 3600 / 60), 2);
			put_digits(end - 11, (uint32_t)(sec % 60), 2);
			c->sec = sec;
		}
		put_digits(end - 8, (uint32_t)(ticks % UTIL_TICKS_PER_SEC), 7);
	}
	if (!strbuf_reserve(t, c->len + 2))
		return;
	t->data[t->len++] = '"';
	memcpy(t->data + t->len, c->text, c->len);
	t->len += c->len;
	t->data[t->len++] = '"';
	t->data[t->len] = '\0';
}

struct times {
	struct time_cache expire, created, accessed;
};

static void jt_session(struct strbuf *t, struct times *c, const struct session_info *s, bool view)
{
	jt_lit(t, "{\"identifier\":");
	jt_string(t, s->identifier);
	if (view) {
		jt_lit(t, ",\"etag\":");
		jt_string(t, s->etag);
		jt_lit(t, ",\"expiresAt\":");
	} else {
		jt_lit(t, ",\"expireAt\":");
	}
	jt_time(t, &c->expire, s->expire);
	jt_lit(t, ",\"createdAt\":");
	jt_time(t, &c->created, s->created);
	jt_lit(t, ",\"lastAccessedAt\":");
	jt_time(t, &c->accessed, s->last_accessed);
	if (!view) {
		jt_lit(t, ",\"etag\":");
		jt_string(t, s->etag);
	}
	jt_lit(t, "}");
}

/* The members' names, punctuation and three quoted times of one session, with room to spare. */
#define SESSION_TEXT 192

static char *jt_finish(struct strbuf *t, size_t *len)
{
	size_t n = t->len;
	char *text = strbuf_steal(t);
	if (text)
		*len = n;
	return text;
}

char *render_session(const struct session_info *s, bool view, size_t *len)
{
	struct strbuf t = {0};
	struct times c = {0};
	strbuf_reserve(&t, SESSION_TEXT + 6 * sizeof(s->identifier) + 6 * sizeof(s->etag));
	jt_session(&t, &c, s, view);
	return jt_finish(&t, len);
}

char *render_session_list(const struct session_info *items, size_t n, bool view,
			  const char *next_link, size_t *len)
{
	struct strbuf t = {0};
	struct times c = {0};
	/* One allocation of about the page's size when there is nothing to escape (jt_string grows
	 * it otherwise): a larger one would touch fresh pages on every request. */
	size_t need = 64 + (next_link ? strlen(next_link) : 0) + 6 * sizeof(items->identifier);
	for (size_t i = 0; i < n; i++)
		need += SESSION_TEXT + strlen(items[i].identifier) + strlen(items[i].etag);
	strbuf_reserve(&t, need);
	if (view)
		jt_lit(&t, "{\"value\":[");
	else
		jt_lit(&t, "{\"sessions\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			jt_lit(&t, ",");
		jt_session(&t, &c, &items[i], view);
	}
	jt_lit(&t, "]");
	if (view) {
		/* cJSON prints a whole number in int range with %d */
		char count[32];
		int k = snprintf(count, sizeof(count), ",\"count\":%zu", n);
		strbuf_append(&t, count, (size_t)k);
	}
	jt_lit(&t, ",\"nextLink\":");
	if (next_link)
		jt_string(&t, next_link);
	else
		jt_lit(&t, "null");
	jt_lit(&t, "}");
	return jt_finish(&t, len);
}
