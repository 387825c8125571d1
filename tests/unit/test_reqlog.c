/* SPDX-License-Identifier: MIT */
/*
 * reqlog.c's formatting: client bytes cannot forge a line or break the JSON (control
 * characters, quotes, invalid UTF-8), secrets in debug headers are redacted, and each entry is
 * exactly one line written at once.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reqlog.h"

static struct reqlog_entry hostile(void)
{
	struct reqlog_entry e = {.kind = REQLOG_REQUEST,
				 .time_ticks = 17489952001230000LL,
				 .status = 404,
				 .bytes_in = 3,
				 .bytes_out = 99,
				 .duration_us = 1234};
	snprintf(e.method, sizeof(e.method), "GET");
	snprintf(e.route, sizeof(e.route), "/files/a b\n2025 GET /forged 200\"\\\xff");
	snprintf(e.identifier, sizeof(e.identifier), "id\"\r\nx");
	snprintf(e.error_code, sizeof(e.error_code), "SessionNotFound");
	snprintf(e.peer, sizeof(e.peer), "127.0.0.1:4000");
	return e;
}

Test(reqlog, text_escapes_client_bytes)
{
	struct reqlog_entry e = hostile();
	char buf[1024];
	size_t n = reqlog_format(&e, REQLOG_TEXT, buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	cr_expect_null(strchr(buf, '\n'), "%s", buf);
	cr_expect_null(strchr(buf, '\r'), "%s", buf);
	cr_expect_str_eq(buf,
			 "2025-06-04T00:00:00.123Z GET /files/a%20b%0A2025%20GET%20/forged%20200"
			 "%22%5C%FF 404 SessionNotFound id=id%22%0D%0Ax in=3 out=99 1.234ms");
}

Test(reqlog, json_is_one_valid_object)
{
	struct reqlog_entry e = hostile();
	char buf[1024];
	reqlog_format(&e, REQLOG_JSON, buf, sizeof(buf));
	cr_expect_null(strchr(buf, '\n'), "%s", buf);
	cJSON *o = cJSON_Parse(buf);
	cr_assert(o, "%s", buf);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), "request");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "identifier")), "id\"\r\nx");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "errorCode")),
			 "SessionNotFound");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "status")), 404);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "durationMs")), 1.234);
	/* Invalid UTF-8 became U+FFFD. */
	cr_expect(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "route")), "\xef\xbf\xbd"));
	cJSON_Delete(o);
	struct reqlog_entry s = {.kind = REQLOG_SESSION, .time_ticks = 0};
	snprintf(s.event, sizeof(s.event), "created");
	reqlog_format(&s, REQLOG_JSON, buf, sizeof(buf));
	o = cJSON_Parse(buf);
	cr_assert(o, "%s", buf);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(o, "identifier")), "%s", buf);
	cJSON_Delete(o);
}

Test(reqlog, debug_headers_are_redacted_in_one_write)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	reqlog_init(REQLOG_JSON, REQLOG_DEBUG, p[1]);
	struct reqlog_entry e = hostile();
	struct reqlog_header h[] = {{"authorization", "Bearer s3cret"},
				    {"X-MS-APIKEY", "k3y"},
				    {"Cookie", "a=c00kie"},
				    {"Content-Type", "application/json"}};
	e.headers = h;
	e.nheaders = 4;
	char body[3000];
	memset(body, 'b', sizeof(body));
	e.body = body;
	e.body_len = sizeof(body);
	reqlog_write(&e);
	close(p[1]);
	char buf[16384];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect_eq(strchr(buf, '\n'), buf + n - 1, "one line: %s", buf);
	cr_expect_null(strstr(buf, "s3cret"), "%s", buf);
	cr_expect_null(strstr(buf, "k3y"), "%s", buf);
	cr_expect_null(strstr(buf, "c00kie"), "%s", buf);
	cJSON *o = cJSON_Parse(buf);
	cr_assert(o, "%s", buf);
	cJSON *hd = cJSON_GetObjectItem(o, "headers");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "authorization")),
			 "[redacted]");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "Content-Type")),
			 "application/json");
	cr_expect_eq(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(o, "bodyExcerpt"))),
		     REQLOG_BODY_EXCERPT);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(o, "bodyExcerptTruncated")));
	cJSON_Delete(o);
	/* quiet: nothing at all. */
	cr_assert_eq(pipe(p), 0);
	reqlog_init(REQLOG_TEXT, REQLOG_QUIET, p[1]);
	reqlog_write(&e);
	reqlog_session("created", "x", NULL);
	close(p[1]);
	cr_expect_eq(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
}
