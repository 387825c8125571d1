/* SPDX-License-Identifier: MIT */
/* The request ring behind GET /.emulator/requests: order, paging, overflow, filters, and that
 * no secret (header value, secret-looking query parameter) is ever kept. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "reqring.h"

static void add(const char *id, int status, const char *query, const char *auth, const char *body,
		size_t body_len, uint64_t bytes_in)
{
	struct reqlog_entry e = {.kind = REQLOG_REQUEST, .status = status, .bytes_in = bytes_in};
	snprintf(e.method, sizeof(e.method), "POST");
	snprintf(e.route, sizeof(e.route), "/executions");
	snprintf(e.identifier, sizeof(e.identifier), "%s", id);
	struct reqlog_header h[] = {{"Authorization", auth},
				    {"x-ms-apikey", "mcp-secret"},
				    {"Content-Type", "application/json"}};
	struct reqring_capture c = {.query = query,
				    .headers = h,
				    .nheaders = 3,
				    .req_body = body,
				    .req_body_len = body_len,
				    .resp_type = "application/json",
				    .resp_body = "{}",
				    .resp_body_len = 2};
	reqring_add(&e, &c);
}

static char *dump(uint64_t since, size_t limit, const char *id, int cls)
{
	cJSON *j = reqring_json(since, limit, id, cls);
	cr_assert_not_null(j);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return s;
}

static int count(uint64_t since, size_t limit, const char *id, int cls, double *next,
		 double *dropped)
{
	cJSON *j = reqring_json(since, limit, id, cls);
	cr_assert_not_null(j);
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "requests"));
	*next = cJSON_GetObjectItem(j, "next")->valuedouble;
	*dropped = cJSON_GetObjectItem(j, "dropped")->valuedouble;
	cJSON_Delete(j);
	return n;
}

Test(reqring, secrets_never_enter_the_ring)
{
	reqring_init(10);
	add("abcd", 200, "api-version=x&identifier=abcd&access_token=T0KEN&sig=S1G&Key=K3Y",
	    "Bearer eyJsecret", "{\"code\":\"1\"}", 12, 12);
	char *s = dump(0, 10, NULL, 0);
	cr_expect_null(strstr(s, "eyJsecret"), "%s", s);
	cr_expect_null(strstr(s, "mcp-secret"), "%s", s);
	cr_expect_null(strstr(s, "T0KEN"), "%s", s);
	cr_expect_null(strstr(s, "S1G"), "%s", s);
	cr_expect_null(strstr(s, "K3Y"), "%s", s);
	cr_expect(strstr(s, "\"query\":\"api-version=x&identifier=abcd&access_token=[redacted]"
			    "&sig=[redacted]&Key=[redacted]\""),
		  "%s", s);
	cr_expect(strstr(s, "[\"Authorization\",\"[redacted]\"]"), "%s", s);
	cr_expect(strstr(s, "[\"Content-Type\",\"application/json\"]"), "%s", s);
	cr_expect(strstr(s, "\"requestBody\":\"{\\\"code\\\":\\\"1\\\"}\""), "%s", s);
	cr_expect(strstr(s, "\"requestBodyTruncated\":false"), "%s", s);
	free(s);
}

Test(reqring, paging_overflow_and_filters)
{
	reqring_init(4);
	double next, dropped;
	for (int i = 0; i < 6; i++)
		add(i % 2 ? "odd1" : "even", i < 3 ? 200 : 404, NULL, "x", NULL, 0, 0);
	/* Six added, four kept: 1 and 2 left before a reader saw them. */
	cr_expect_eq(count(0, 100, NULL, 0, &next, &dropped), 4);
	cr_expect_eq(next, 6);
	cr_expect_eq(dropped, 2);
	cr_expect_eq(count(6, 100, NULL, 0, &next, &dropped), 0, "nothing new");
	cr_expect_eq(next, 6);
	cr_expect_eq(count(3, 1, NULL, 0, &next, &dropped), 1, "the limit");
	cr_expect_eq(next, 4, "resume after the one returned");
	cr_expect_eq(dropped, 0);
	cr_expect_eq(count(0, 100, "odd1", 0, &next, &dropped), 2, "seq 4 and 6");
	cr_expect_eq(count(0, 100, NULL, 4, &next, &dropped), 3, "4xx: seq 4, 5, 6");
	cr_expect_eq(count(0, 100, NULL, 2, &next, &dropped), 1, "2xx still kept: seq 3");
	cr_expect_eq(count(99, 100, NULL, 0, &next, &dropped), 0);
	cr_expect_eq(next, 6, "a reader ahead of the ring (a restart) is brought back");
}

Test(reqring, long_and_binary_bodies_are_cut_and_made_text)
{
	reqring_init(2);
	static char big[REQRING_BODY_MAX + 1];
	memset(big, 'a', sizeof(big));
	big[0] = (char)0xff; /* not UTF-8 */
	add("abcd", 200, NULL, "x", big, sizeof(big), 1 << 20);
	cJSON *j = reqring_json(0, 1, NULL, 0);
	cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "requests"), 0);
	const char *b = cJSON_GetObjectItem(it, "requestBody")->valuestring;
	cr_expect(!strncmp(b, "\xef\xbf\xbd", 3), "U+FFFD for the bad byte");
	cr_expect_eq(strlen(b), 3 + REQRING_BODY_MAX - 1);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(it, "requestBodyTruncated")));
	cJSON_Delete(j);
}

Test(reqring, hostile_queries_are_redacted_and_kept_as_text)
{
	reqring_init(4);
	/* Empty pairs, a name without a value, a value with '=', a secret-looking name of every
	 * case, an over-long name (treated as secret), and bytes that are not UTF-8. */
	static char q[600];
	snprintf(q, sizeof(q), "&&=x&token&a==b&TOKEN=T1&x-API-Key=K1&%0100d=N1&v=\xff\xfe", 0);
	add("abcd", 200, q, "x", NULL, 0, 0);
	char *s = dump(0, 10, NULL, 0);
	cr_expect_null(strstr(s, "T1"), "%s", s);
	cr_expect_null(strstr(s, "K1"), "%s", s);
	cr_expect_null(strstr(s, "N1"), "%s", s);
	cr_expect(strstr(s, "&&=x&token&a==b&TOKEN=[redacted]&x-API-Key=[redacted]&"), "%s", s);
	cr_expect(strstr(s, "v=\xef\xbf\xbd\xef\xbf\xbd\""), "%s", s);
	free(s);
	/* A query longer than the ring keeps is cut, never overrun. */
	static char big[10000];
	memset(big, 'a', sizeof(big) - 1);
	add("abcd", 200, big, "x", NULL, 0, 0);
	cJSON *j = reqring_json(1, 1, NULL, 0);
	cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "requests"), 0);
	cr_expect_eq(strlen(cJSON_GetObjectItem(it, "query")->valuestring), 2048);
	cJSON_Delete(j);
}
