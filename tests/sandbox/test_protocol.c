/* SPDX-License-Identifier: MIT */
/*
 * sbx_reply_parse() (sandbox/reply.h), the one parser of what a session sends back: every
 * reply repl.py writes MUST be accepted and rebuilt exactly (number tokens verbatim), and
 * anything else a session can write MUST be refused with -EPROTO, never spliced or crashed on.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

#define ID    "0123456789abcdef"
#define OTHER "fedcba9876543210"

static int parse(const char *frame, struct sbx_reply *out, const char **why)
{
	return sbx_reply_parse(frame, strlen(frame), ID, out, why);
}

/* A successful reply of |kind| whose "value" member is the JSON text |value|. */
static char *ok_frame(const char *kind, const char *value)
{
	char *s = NULL;
	cr_assert(asprintf(&s,
			   "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"ok\",\"kind\":\"%s\","
			   "\"value\":%s,\"exec_us\":1234}",
			   kind, value) > 0);
	return s;
}

static void expect_value(const char *kind, const char *value, const char *want)
{
	struct sbx_reply r;
	const char *why = NULL;
	char *f = ok_frame(kind, value);
	int rc = parse(f, &r, &why);
	cr_assert_eq(rc, 0, "%s: %s", f, why ? why : "");
	cr_expect_str_eq(r.value, want, "%s", f);
	cr_expect_eq(r.value_len, strlen(want));
	cr_expect_eq(r.exec_us, 1234);
	sbx_reply_fini(&r);
	free(f);
}

static void expect_refused(const char *frame)
{
	struct sbx_reply r;
	memset(&r, 0x5a, sizeof(r));
	const char *why = NULL;
	cr_expect_eq(parse(frame, &r, &why), -EPROTO, "accepted: %s", frame);
	cr_expect(why && *why, "no reason for %s", frame);
	cr_expect_eq(r.exec_us, (int64_t)0x5a5a5a5a5a5a5a5a, "*out written on failure");
}

static void expect_value_refused(const char *kind, const char *value)
{
	char *f = ok_frame(kind, value);
	expect_refused(f);
	free(f);
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);
	cr_assert(s);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

Test(reply, what_repl_py_writes)
{
	struct sbx_reply r;
	const char *why = NULL;
	cr_assert_eq(parse("{\"id\":\"" ID
			   "\",\"op\":\"result\",\"status\":\"ok\",\"kind\":\"none\","
			   "\"value\":null,\"exec_us\":0}",
			   &r, &why),
		     0, "%s", why);
	cr_expect_eq(r.kind, SBX_VALUE_NONE);
	cr_expect_null(r.value);
	cr_expect_str_eq(r.id, ID);
	sbx_reply_fini(&r);

	cr_assert_eq(parse("{\"id\":\"" ID "\",\"op\":\"result\",\"status\":\"exception\","
			   "\"kind\":\"none\",\"value\":null,\"exec_us\":5,\"ename\":"
			   "\"ZeroDivisionError\",\"traceback\":\"Traceback …\\n\",\"error\":"
			   "\"ZeroDivisionError: division by zero\"}",
			   &r, &why),
		     0, "%s", why);
	cr_expect(r.exception);
	cr_expect_str_eq(r.error, "ZeroDivisionError: division by zero");
	cr_expect_str_eq(r.traceback, "Traceback …\n");
	sbx_reply_fini(&r);

	char *f = ok_frame("null", "null");
	cr_assert_eq(parse(f, &r, &why), 0, "%s", why);
	cr_expect_eq(r.kind, SBX_VALUE_NULL);
	cr_expect_null(r.value);
	sbx_reply_fini(&r);
	free(f);
	expect_value("text", "\"'it\\\\'s' \\u00e9\\n\\\"\"", "'it\\'s' \xc3\xa9\n\"");
	expect_value("image", "\"aGVsbG8=\"", "aGVsbG8=");
	expect_value("image", "\"aGVsbA==\"", "aGVsbA==");
	expect_value("image", "\"aGVs\"", "aGVs");
}

Test(reply, json_values_are_regenerated_with_verbatim_numbers)
{
	expect_value("json", "\"42\"", "42");
	expect_value("json", "\"1000000000000000000000000000000\"",
		     "1000000000000000000000000000000");
	expect_value("json", "\"0.30000000000000004\"", "0.30000000000000004");
	expect_value("json", "\"[1e+16, -0.0, 1.50, 1E400]\"", "[1e+16,-0.0,1.50,1E400]");
	expect_value("json",
		     "\" {\\\"a\\\" : [1, {\\\"b\\\": \\\"x\\\\\\\"y\\\"}], \\\"t\\\": true} \"",
		     "{\"a\":[1,{\"b\":\"x\\\"y\"}],\"t\":true}");
	expect_value("json", "\"[]\"", "[]");
	expect_value("json", "\"{}\"", "{}");
	/* Strings inside come out re-escaped by the emulator, U+FFFD for a lone surrogate. */
	expect_value("json", "\"[\\\"\\\\u0001\\\\udc00\\\"]\"",
		     "[\"\\u0001\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"]");
}

Test(reply, json_values_that_would_rewrite_the_response)
{
	expect_value_refused("json", "\"1,\\\"status\\\":\\\"Failed\\\"\"");
	expect_value_refused("json",
			     "\"1},\\\"identifier\\\":\\\"other\\\",\\\"x\\\":{\\\"a\\\":1\"");
	expect_value_refused("json", "\"[1,2\"");
	expect_value_refused("json", "\"1 2\"");
	expect_value_refused("json", "\"\"");
	expect_value_refused("json", "\"  \"");
	expect_value_refused("json", "\"\\\"a string\\\"\"");
	expect_value_refused("json", "\"true\"");
	expect_value_refused("json", "\"null\"");
	expect_value_refused("json", "\"NaN\"");
	expect_value_refused("json", "\"01\"");
	expect_value_refused("json", "\"[1,]\"");
	expect_value_refused("json", "\"/*c*/1\"");
	expect_value_refused("json", "null");
	expect_value_refused("json", "42");
}

Test(reply, json_value_depth)
{
	static const size_t depths[] = {60, 61, 100, 811, 100000};
	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		char *v = nested(depths[i]);
		size_t n = strlen(v) + 3;
		char *q = malloc(n);
		cr_assert(q);
		snprintf(q, n, "\"%s\"", v);
		if (depths[i] <= SBX_REPLY_VALUE_DEPTH_MAX)
			expect_value("json", q, v);
		else
			expect_value_refused("json", q);
		free(q);
		free(v);
	}
}

Test(reply, nested_frames)
{
	static const size_t depths[] = {2, 10, 100, 811, 100000};
	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		char *v = nested(depths[i]);
		expect_refused(v);
		char *f = ok_frame("json", v);
		expect_refused(f);
		free(f);
		char *obj = NULL;
		cr_assert(asprintf(&obj, "{\"op\":%s}", v) > 0);
		expect_refused(obj);
		free(obj);
		free(v);
	}
}

Test(reply, schema_violations)
{
	static const char *const frames[] = {
	    "",
	    "42",
	    "\"op\"",
	    "null",
	    "{}",
	    "{\"op\":\"result\"}",
	    /* unknown op, status, kind, member; duplicate; wrong types */
	    "{\"op\":\"pong\",\"id\":\"" ID "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"fine\",\"kind\":\"none\",\"value\":"
	    "null,\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"ok\",\"kind\":\"html\",\"value\":"
	    "\"x\",\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1,\"identifier\":\"other\"}",
	    "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"ok\",\"status\":\"ok\",\"kind\":"
	    "\"none\",\"value\":null,\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":\"1\"}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":-1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1.5}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1e3}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":false,"
	    "\"exec_us\":1}",
	    /* ids */
	    "{\"op\":\"result\",\"id\":\"0123456789ABCDEF\",\"status\":\"ok\",\"kind\":\"none\","
	    "\"value\":null,\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"0123\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":7,\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1}",
	    "{\"op\":\"result\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,\"exec_us\":1}",
	    /* consistency between status, kind and value */
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":\"x\","
	    "\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"text\",\"value\":null,"
	    "\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1,\"error\":\"x\"}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"exception\",\"kind\":\"none\",\"value\":"
	    "null,\"exec_us\":1}",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"exception\",\"kind\":\"text\",\"value\":"
	    "\"x\",\"exec_us\":1,\"ename\":\"E\",\"error\":\"E\",\"traceback\":\"\"}",
	    /* trailing data, two documents */
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1} x",
	    "{\"op\":\"result\",\"id\":\"" ID
	    "\",\"status\":\"ok\",\"kind\":\"none\",\"value\":null,"
	    "\"exec_us\":1}{}",
	};
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		expect_refused(frames[i]);
}

Test(reply, strings_and_images)
{
	/* Ill-formed UTF-8 (a surrogate, an overlong form) in text, message and traceback. */
	expect_value_refused("text", "\"\xed\xa0\x80\"");
	expect_value_refused("text", "\"\xc0\x80\"");
	expect_value_refused("text", "\"\\udc00\"");
	expect_refused(
	    "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"exception\",\"kind\":"
	    "\"none\",\"value\":null,\"exec_us\":1,\"ename\":\"E\",\"error\":\"\xc0\x80\","
	    "\"traceback\":\"\"}");
	/* Not strict base64. */
	static const char *const images[] = {
	    "\"\"",	     "\"aGVsbG8\"", "\"aGVsbG9=\"", "\"aGVsbB==\"", "\"aGVs bG8=\"",
	    "\"aGVsbG8==\"", "\"a=Vs\"",    "\"aGV-\"",	    "\"====\"",	    "\"aGVsbG8=\\n\"",
	};
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		expect_value_refused("image", images[i]);
	/* A NUL byte in the frame. */
	struct sbx_reply r;
	const char *why = NULL;
	static const char nul[] = "{\"op\":\"result\"\0}";
	cr_expect_eq(sbx_reply_parse(nul, sizeof(nul) - 1, ID, &r, &why), -EPROTO);
}

Test(reply, bounds)
{
	/* A value of exactly 8 MiB is accepted; one byte more is not. */
	size_t n = SBX_REPLY_VALUE_MAX;
	char *v = malloc(n + 4);
	cr_assert(v);
	v[0] = '"';
	memset(v + 1, 'a', n);
	strcpy(v + 1 + n, "\"");
	char *f = ok_frame("text", v);
	struct sbx_reply r;
	const char *why = NULL;
	cr_expect_eq(parse(f, &r, &why), 0, "%s", why ? why : "");
	sbx_reply_fini(&r);
	free(f);
	v[1 + n] = 'a';
	strcpy(v + 2 + n, "\"");
	expect_value_refused("text", v);
	free(v);

	/* A message of 4096 code points, then 4097. */
	char msg[4097 * 2 + 1];
	for (size_t i = 0; i < 4096; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);
	msg[2 * 4096] = '\0';
	char *e = NULL;
	cr_assert(asprintf(&e,
			   "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"exception\",\"kind\":"
			   "\"none\",\"value\":null,\"exec_us\":1,\"ename\":\"E\",\"error\":\"%s\","
			   "\"traceback\":\"\"}",
			   msg) > 0);
	cr_expect_eq(parse(e, &r, &why), 0, "%s", why ? why : "");
	sbx_reply_fini(&r);
	free(e);
	memcpy(msg + 2 * 4096, "\xc3\xa9", 2);
	msg[2 * 4097] = '\0';
	cr_assert(asprintf(&e,
			   "{\"op\":\"result\",\"id\":\"" ID "\",\"status\":\"exception\",\"kind\":"
			   "\"none\",\"value\":null,\"exec_us\":1,\"ename\":\"E\",\"error\":\"%s\","
			   "\"traceback\":\"\"}",
			   msg) > 0);
	expect_refused(e);
	free(e);

	/* The frame bound itself, checked before anything else. */
	char small[] = "{}";
	cr_expect_eq(sbx_reply_parse(small, SBX_REPLY_FRAME_MAX + 1, ID, &r, &why), -EPROTO);
}

Test(reply, other_ids_are_reported_not_accepted)
{
	struct sbx_reply r;
	const char *why = NULL;
	char *f = ok_frame("json", "\"7\"");
	cr_assert_eq(sbx_reply_parse(f, strlen(f), OTHER, &r, &why), SBX_REPLY_OTHER_ID);
	cr_expect_str_eq(r.id, ID);
	sbx_reply_fini(&r);
	free(f);
}
