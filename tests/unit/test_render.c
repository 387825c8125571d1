/* SPDX-License-Identifier: MIT */
/* Execution responses in the three shapes, every value kind (contract §5.1, §5.7, §6.1.2,
 * §8.2 emission, §8.3 images, §8.5–§8.8 failures); sessions and list pages (§6.8, §6.10, §7.1,
 * §7.2) byte for byte as cJSON_PrintUnformatted prints the same members. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

static char *text(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static struct exec_view ok_view(enum bk_value_kind k, const char *value)
{
	struct exec_view v = {0};
	strcpy(v.id, "testExecutionId");
	v.status = EXEC_SUCCEEDED;
	v.kind = k;
	v.value = value ? strdup(value) : NULL;
	v.stdout_text = strdup("63\n");
	v.stdout_len = 3;
	v.stderr_text = strdup("");
	v.exec_ms = 4;
	return v;
}

Test(render, old_shape_value_kinds)
{
	struct {
		enum bk_value_kind k;
		const char *value;
		const char *result;
	} rows[] = {
	    {BK_VALUE_NONE, NULL, "\"\""},
	    {BK_VALUE_NULL, NULL, "null"},
	    {BK_VALUE_JSON, "42", "42"},
	    {BK_VALUE_JSON, "[1,2,3]", "[1,2,3]"},
	    {BK_VALUE_JSON, "1000000000000000000000000000000", "1000000000000000000000000000000"},
	    {BK_VALUE_JSON, "0.30000000000000004", "0.30000000000000004"},
	    {BK_VALUE_TEXT, "'nan'", "\"'nan'\""},
	    {BK_VALUE_TEXT, "\"it's\"", "\"\\\"it's\\\"\""},
	    {BK_VALUE_TEXT, "['a',\n 'b']", "\"['a',\\n 'b']\""},
	    {BK_VALUE_IMAGE, "iVBOR",
	     "{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"iVBOR\"}"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct exec_view v = ok_view(rows[i].k, rows[i].value);
		char *s = text(render_exec_old(&v, false));
		char want[512];
		snprintf(want, sizeof(want),
			 "{\"$id\":\"1\",\"properties\":{\"$id\":\"2\",\"status\":\"Success\","
			 "\"stdout\":\"63\\n\",\"stderr\":\"\",\"result\":%s,"
			 "\"executionTimeInMilliseconds\":4}}",
			 rows[i].result);
		cr_expect_str_eq(s, want, "row %zu", i);
		free(s);
		exec_view_fini(&v);
	}
}

Test(render, legacy_sends_null_as_empty_string)
{
	struct exec_view v = ok_view(BK_VALUE_NULL, NULL);
	char *s = text(render_exec_legacy(&v));
	cr_expect_str_eq(s,
			 "{\"status\":\"Success\",\"stdout\":\"63\\n\",\"stderr\":\"\",\"result\":"
			 "\"\",\"executionTimeInMilliseconds\":4}");
	free(s);
	exec_view_fini(&v);
}

Test(render, new_shape_matches_the_spec_example)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	char *s = text(render_exec_new(&v, "testSessionIdentifier"));
	cr_expect_str_eq(s,
			 "{\"id\":\"testExecutionId\",\"identifier\":\"testSessionIdentifier\","
			 "\"executionType\":\"Synchronous\",\"status\":\"Succeeded\",\"result\":{"
			 "\"stdout\":\"63\\n\",\"stderr\":\"\",\"executionResult\":\"\","
			 "\"executionTimeInMilliseconds\":4}}");
	free(s);
	exec_view_fini(&v);
}

Test(render, running_has_no_result)
{
	struct exec_view v = {0};
	strcpy(v.id, "x");
	v.async = true;
	v.status = EXEC_RUNNING;
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect_str_eq(s, "{\"id\":\"x\",\"identifier\":\"abcd\",\"executionType\":"
			    "\"Asynchronous\",\"status\":\"Running\"}");
	free(s);
}

Test(render, failures_in_each_shape)
{
	struct exec_view v = ok_view(BK_VALUE_NULL, NULL);
	v.status = EXEC_FAILED;
	v.error = EXEC_ERR_EXECUTION;
	v.error_message = strdup("ZeroDivisionError: division by zero");
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect_str_eq(
	    s, "{\"id\":\"testExecutionId\",\"identifier\":\"abcd\",\"executionType\":"
	       "\"Synchronous\",\"status\":\"Failed\",\"error\":{\"error\":{\"code\":"
	       "\"ExecutionError\",\"message\":\"ZeroDivisionError: division by zero\"}},"
	       "\"result\":{\"stdout\":\"63\\n\",\"stderr\":\"\",\"executionResult\":null,"
	       "\"executionTimeInMilliseconds\":4}}");
	free(s);
	s = text(render_exec_old(&v, false));
	cr_expect(strstr(s, "\"status\":\"Failure\""));
	cr_expect(strstr(s, "\"result\":\"\""));
	free(s);
	s = text(render_exec_legacy(&v));
	cr_expect(strstr(s, "\"status\":\"Failure\""));
	free(s);
	v.status = EXEC_CANCELED;
	v.error = EXEC_ERR_CANCELED;
	s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"status\":\"Canceled\""));
	cr_expect(strstr(s, "\"code\":\"ExecutionCanceled\""));
	free(s);
	exec_view_fini(&v);
}

Test(render, non_ascii_is_utf8_and_slash_is_not_escaped)
{
	struct exec_view v = ok_view(BK_VALUE_TEXT, "'é/€'");
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"executionResult\":\"'é/€'\""), "%s", s);
	free(s);
	exec_view_fini(&v);
}

Test(render, test_fault_changes_only_old_status)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	char *s = text(render_exec_old(&v, true));
	cr_expect(strstr(s, "\"status\":\"Succeeded\""));
	free(s);
	exec_view_fini(&v);
}

Test(render, output_with_nul_bytes_is_not_cut)
{
	struct exec_view v = ok_view(BK_VALUE_NONE, NULL);
	free(v.stdout_text);
	v.stdout_text = malloc(8);
	memcpy(v.stdout_text, "a\0b\"\x01\n\0", 8);
	v.stdout_len = 7;
	char *s = text(render_exec_new(&v, "abcd"));
	cr_expect(strstr(s, "\"stdout\":\"a\\u0000b\\\"\\u0001\\n\\u0000\""), "%s", s);
	free(s);
	s = text(render_exec_old(&v, false));
	cr_expect(strstr(s, "\"stdout\":\"a\\u0000b"), "%s", s);
	free(s);
	exec_view_fini(&v);
}

/* ---- sessions and list pages ---- */

/* The session as a cJSON tree, members in the contract's order, times from util_format_ticks:
 * what the text renderers must print byte for byte. */
static cJSON *want_session(const struct session_info *s, bool view)
{
	char e[40], c[40], a[40];
	util_format_ticks(s->expire, e, sizeof(e));
	util_format_ticks(s->created, c, sizeof(c));
	util_format_ticks(s->last_accessed, a, sizeof(a));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "identifier", s->identifier);
	if (view)
		cJSON_AddStringToObject(o, "etag", s->etag);
	cJSON_AddStringToObject(o, view ? "expiresAt" : "expireAt", e);
	cJSON_AddStringToObject(o, "createdAt", c);
	cJSON_AddStringToObject(o, "lastAccessedAt", a);
	if (!view)
		cJSON_AddStringToObject(o, "etag", s->etag);
	return o;
}

static char *want_list(const struct session_info *items, size_t n, bool view, const char *next)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, view ? "value" : "sessions");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, want_session(&items[i], view));
	if (view)
		cJSON_AddNumberToObject(root, "count", (double)n);
	if (next)
		cJSON_AddStringToObject(root, "nextLink", next);
	else
		cJSON_AddNullToObject(root, "nextLink");
	return text(root);
}

#define T(sec, frac) ((int64_t)(sec)*UTIL_TICKS_PER_SEC + (frac))

static struct session_info info(const char *id, const char *etag, int64_t created, int64_t accessed,
				int64_t expire)
{
	struct session_info s = {.created = created, .last_accessed = accessed, .expire = expire};
	snprintf(s.identifier, sizeof(s.identifier), "%s", id);
	snprintf(s.etag, sizeof(s.etag), "%s", etag);
	return s;
}

/* Identifiers with every special the contract allows (§3), one needing each of cJSON's escapes,
 * non-ASCII; times in one second, across seconds, days and back, at .0000000 and .9999999, at
 * the epoch and before it, in the year 10000. */
static size_t odd_sessions(struct session_info *s)
{
	const char *g = "0b7e4c7a-3f1e-4d7b-9a7e-2f0c6d1b5e8a";
	int64_t t = T(1765017355, 1234567);
	size_t n = 0;
	s[n++] = info("plain-0001", g, t, t + 1, t + T(3600, 1));
	s[n++] = info("_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`", "", t + 2, t + 3, t + T(3600, 3));
	s[n++] = info("esc\"\\\b\f\n\r\t\x01\x1f", g, T(1765017355, 0), T(1765017355, 9999999),
		      T(1765020955, 0));
	s[n++] = info("caf\xc3\xa9-\xe2\x82\xac", g, T(1765017356, 0), T(1765017355, 5),
		      T(1765020955, 5));
	s[n++] =
	    info("back-0001", "\"etag\"", T(1765017355, 42), T(1765017356, 42), T(1765017355, 42));
	s[n++] = info("epoch-0001", g, 0, T(0, 1), T(-1, 0));
	s[n++] = info("before-0001", g, -1, -T(1, 5), T(1765017355, 7));
	s[n++] = info("day-0001", g, t - T(86400, 0), t + T(86400 * 400, 99), t - T(3600, 9));
	s[n++] = info("day-0002", g, t + T(86399, 1), t + T(7322, 2), t + T(1, 3));
	s[n++] =
	    info("y10k-0001", g, T(253402300799, 9999999), T(253402300800, 1), T(253402304461, 2));
	s[n++] = info("plain-0001", g, t, t, t);
	return n;
}

Test(render, session_forms_are_cjson_bytes)
{
	struct session_info s[16];
	size_t n = odd_sessions(s);
	for (size_t i = 0; i < n; i++)
		for (int view = 0; view < 2; view++) {
			size_t len = 0;
			char *got = render_session(&s[i], view, &len);
			char *want = text(want_session(&s[i], view));
			cr_assert(got);
			cr_expect_str_eq(got, want, "session %zu view %d", i, view);
			cr_expect_eq(len, strlen(got));
			free(got);
			free(want);
		}
}

Test(render, list_pages_are_cjson_bytes)
{
	struct session_info s[16];
	size_t n = odd_sessions(s);
	const char *links[] = {NULL, "",
			       "http://h\"st:1/subscriptions/s/resourceGroups/r/sessionPools/p/"
			       ".management/listSessions?skip=300&api-version=2025-02-02-preview",
			       "https://pool.example/x/listSessions?api-version=a%20b&skip=2"};
	for (size_t k = 0; k <= n; k++)
		for (size_t l = 0; l < sizeof(links) / sizeof(*links); l++)
			for (int view = 0; view < 2; view++) {
				size_t len = 0;
				char *got = render_session_list(s, k, view, links[l], &len);
				char *want = want_list(s, k, view, links[l]);
				cr_assert(got);
				cr_expect_str_eq(got, want, "%zu sessions, link %zu, view %d", k, l,
						 view);
				cr_expect_eq(len, strlen(got));
				free(got);
				free(want);
			}
	size_t len = 0;
	char *got = render_session_list(NULL, 0, true, NULL, &len);
	cr_expect_str_eq(got, "{\"value\":[],\"count\":0,\"nextLink\":null}");
	free(got);
	got = render_session_list(NULL, 0, false, NULL, &len);
	cr_expect_str_eq(got, "{\"sessions\":[],\"nextLink\":null}");
	free(got);
}

/* A full page: creation times 0.37 s apart (several per second, then the next second), expiry
 * times 20 minutes apart (across hours and days), identifiers of 4 to 128 bytes, a third of
 * them all '"'. */
Test(render, a_page_of_300_is_cjson_bytes)
{
	enum { N = 300 };
	struct session_info *s = calloc(N, sizeof(*s));
	cr_assert(s);
	int64_t t0 = T(1765017355, 1);
	for (size_t i = 0; i < N; i++) {
		char id[129];
		size_t l = 4 + i % 125;
		memset(id, i % 3 ? 'a' + (int)(i % 26) : '"', l);
		id[l] = '\0';
		int64_t c = t0 + (int64_t)i * 3700001;
		s[i] = info(id, "8d1f6a8e-6c3b-4f7e-8a53-0e7b2f9c4d1a", c,
			    c + (int64_t)(i % 7) * 999, c + (int64_t)i * T(1234, 567));
	}
	for (int view = 0; view < 2; view++) {
		size_t len = 0;
		const char *link = "http://127.0.0.1:8080/listSessions?api-version=x&skip=600";
		char *got = render_session_list(s, N, view, link, &len);
		char *want = want_list(s, N, view, link);
		cr_assert(got);
		cr_expect_eq(len, strlen(want));
		cr_expect(!strcmp(got, want), "view %d differs", view);
		free(got);
		free(want);
	}
	free(s);
}

/* Each byte but NUL, alone and amid letters, in an identifier and an etag: the same bytes as
 * cJSON's printer (its escapes, and everything else as it is). */
Test(render, every_byte_is_printed_as_cjson_prints_it)
{
	for (int c = 1; c < 256; c++) {
		char id[16], etag[8];
		snprintf(id, sizeof(id), "ab%ccd", c);
		snprintf(etag, sizeof(etag), "%c", c);
		struct session_info s = info(id, etag, T(1765017355, 1), T(1765017355, 2), 3);
		for (int view = 0; view < 2; view++) {
			size_t len = 0;
			char *got = render_session_list(&s, 1, view, id, &len);
			char *want = want_list(&s, 1, view, id);
			cr_assert(got);
			cr_expect_str_eq(got, want, "byte %d", c);
			free(got);
			free(want);
		}
	}
}
