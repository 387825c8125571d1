/* SPDX-License-Identifier: MIT */
/*
 * The runner's pieces on one step, without a server: a request built from a scenario step
 * (URL, query encoding, headers, auth, bodies), the identifiers tracked for the teardown, and
 * expectations and captures evaluated on a response made up here.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "expect.h"
#include "request.h"
#include "run.h"
#include "teardown.h"

#define HEAD                                                                                       \
	"{\"description\":\"d MUST hold\",\"provenance\":{\"sections\":[\"§5.1\"],\"tags\":"      \
	"[\"DOC\"]},"

#define POOL "http://127.0.0.1:9/subscriptions/s/resourceGroups/rg/sessionPools/p"

struct fixture {
	struct scn *s;
	struct target *t;
	struct run_opts o;
	struct run r;
};

static void setup(struct fixture *fx, const char *scenario)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	struct sp_err err = {0};
	cr_assert_eq(scn_parse(scenario, strlen(scenario), "t.json", "area/001-t", &fx->s, &err), 0,
		     "%s", err.msg);
	struct target_spec spec;
	target_spec_init(&spec);
	spec.url = strdup(POOL);
	spec.token_kind = TOKEN_STATIC;
	spec.token_arg = strdup("tok-123456");
	cr_assert_eq(target_open(&spec, NULL, 0, NULL, NULL, &fx->t, &err), 0, "%s", err.msg);
	target_spec_fini(&spec);
	fx->o = (struct run_opts){.request_timeout_ms = 5000};
	cr_assert_eq(run_init(&fx->r, fx->s, fx->t, &fx->o, true), 0);
	cr_assert_eq(vars_set_str(fx->r.vars, "session", "sess-1"), 0);
	cr_assert_eq(vars_set_str(fx->r.vars, "code", "6*7"), 0);
}

static void teardown_fx(struct fixture *fx)
{
	run_fini(&fx->r);
	target_close(fx->t, NULL);
	scn_free(fx->s);
	curl_global_cleanup();
}

static void expect_headers(const struct request *b, const char *const *want, size_t n)
{
	cr_expect_eq(b->req.n_headers, n, "%zu headers", b->req.n_headers);
	for (size_t i = 0; i < n && i < b->req.n_headers; i++)
		cr_expect_str_eq(b->req.headers[i], want[i]);
}

Test(request, json_step_with_query_headers_and_auth)
{
	struct fixture fx;
	setup(&fx, HEAD "\"steps\":[{\"request\":{\"method\":\"POST\","
			"\"path\":\"/code/execute?api-version={{api_new}}\","
			"\"query\":[[\"identifier\",\"{{session}}/a b\"]],"
			"\"headers\":{\"operation-id\":\"op-{{session}}\",\"X-Empty\":\"\"},"
			"\"json\":{\"properties\":{\"code\":\"{{code}}\"}}}}]}");
	struct request b = {0};
	cr_assert_eq(request_build(&fx.r, &fx.s->steps[0].req, &b), 0, "%s", fx.r.error);
	cr_expect_str_eq(b.req.url, POOL "/code/execute?api-version=2025-10-02-preview"
					 "&identifier=sess-1%2Fa%20b");
	cr_expect_str_eq(b.label, "POST /code/execute?api-version=2025-10-02-preview"
				  "&identifier=sess-1%2Fa%20b");
	cr_expect_str_eq(b.req.method, "POST");
	cr_expect_eq(b.req.timeout_ms, 5000);
	static const char *const want[] = {"operation-id: op-sess-1", "X-Empty;",
					   "Authorization: Bearer tok-123456",
					   "Content-Type: application/json", "Expect:"};
	expect_headers(&b, want, 5);
	cr_expect_str_eq(b.token, "tok-123456");
	cr_expect_eq(b.auth_index, 2);
	cr_expect_eq(b.req.body, HTTP_SRC_MEM);
	cr_expect_eq(b.req.len, strlen("{\"properties\":{\"code\":\"6*7\"}}"));
	cr_expect(memcmp(b.req.data, "{\"properties\":{\"code\":\"6*7\"}}", b.req.len) == 0);
	cr_expect_eq(b.req.abort_flag, NULL);
	cr_assert_eq(fx.r.sessions.n, 1, "the identifier is tracked for the teardown");
	cr_expect_str_eq(fx.r.sessions.ids[0], "sess-1/a b");
	/* Building it again tracks nothing new. */
	request_fini(&b);
	cr_assert_eq(request_build(&fx.r, &fx.s->steps[0].req, &b), 0);
	cr_expect_eq(fx.r.sessions.n, 1);
	request_fini(&b);
	teardown_fx(&fx);
}

Test(request, a_step_says_what_the_runner_adds)
{
	struct fixture fx;
	setup(&fx,
	      HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/x\","
		   "\"auth\":\"none\",\"headers\":{\"Expect\":\"100-continue\"}}},"
		   "{\"request\":{\"method\":\"POST\",\"url\":\"{{origin}}/raw\","
		   "\"body\":\"plain {{session}}\",\"headers\":{\"Content-Type\":\"text/plain\","
		   "\"Authorization\":\"Bearer mine\"},\"timeout_ms\":77}},"
		   "{\"request\":{\"method\":\"PUT\",\"path\":\"/b\",\"body_base64\":\"aGk=\"}}]}");
	struct request b = {0};
	cr_assert_eq(request_build(&fx.r, &fx.s->steps[0].req, &b), 0);
	static const char *const want0[] = {"Expect: 100-continue"};
	expect_headers(&b, want0, 1);
	cr_expect_null(b.token);
	cr_expect_eq(b.req.body, HTTP_SRC_NONE);
	request_fini(&b);

	cr_assert_eq(request_build(&fx.r, &fx.s->steps[1].req, &b), 0);
	cr_expect_str_eq(b.req.url, "http://127.0.0.1:9/raw");
	cr_expect_str_eq(b.label, "POST http://127.0.0.1:9/raw");
	static const char *const want1[] = {"Content-Type: text/plain",
					    "Authorization: Bearer mine", "Expect:"};
	expect_headers(&b, want1, 3);
	cr_expect_null(b.token, "the step's own Authorization replaces the runner's");
	cr_expect_eq(b.req.timeout_ms, 77);
	cr_expect_eq(b.req.len, strlen("plain sess-1"));
	request_fini(&b);

	cr_assert_eq(request_build(&fx.r, &fx.s->steps[2].req, &b), 0);
	static const char *const want2[] = {"Authorization: Bearer tok-123456",
					    "Content-Type:", "Expect:"};
	expect_headers(&b, want2, 3);
	cr_expect_eq(b.req.len, 2);
	cr_expect(memcmp(b.req.data, "hi", 2) == 0);
	request_fini(&b);
	cr_expect_eq(fx.r.sessions.n, 0);
	cr_expect_null(fx.r.error);
	teardown_fx(&fx);
}

Test(request, multipart_parts_and_their_description)
{
	struct fixture fx;
	setup(&fx, HEAD "\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":\"/files\","
			"\"multipart\":[{\"name\":\"file\",\"filename\":\"{{session}}.txt\","
			"\"data\":\"hi\"},{\"name\":\"big\",\"generate\":{\"size\":10}}]}}]}");
	struct request b = {0};
	cr_assert_eq(request_build(&fx.r, &fx.s->steps[0].req, &b), 0);
	cr_assert_eq(b.req.n_parts, 2);
	cr_expect_str_eq(b.req.parts[0].filename, "sess-1.txt");
	cr_expect_eq(b.req.parts[0].source, HTTP_SRC_MEM);
	cr_expect_eq(b.req.parts[1].source, HTTP_SRC_GENERATE);
	cr_expect_eq(b.req.parts[1].gen.size, 10);
	cr_expect_str_eq(b.body_note,
			 "file filename=\"sess-1.txt\" 2 bytes: hi; big 10 generated bytes");
	static const char *const want[] = {"Authorization: Bearer tok-123456"};
	expect_headers(&b, want, 1);
	request_fini(&b);
	teardown_fx(&fx);
}

Test(request, undefined_variable_is_the_runs_error)
{
	struct fixture fx;
	setup(&fx, HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/{{nope}}\"}}]}");
	struct request b = {0};
	cr_expect_lt(request_build(&fx.r, &fx.s->steps[0].req, &b), 0);
	cr_assert_not_null(fx.r.error);
	cr_expect(strstr(fx.r.error, "nope"), "%s", fx.r.error);
	request_fini(&b);
	teardown_fx(&fx);
}

Test(teardown, identifiers_are_tracked_once_decoded)
{
	struct tracked s = {0};
	teardown_track_url(&s, "http://h/x?api-version=1&identifier=a%20b&y=2");
	teardown_track_url(&s, "http://h/x?IDENTIFIER=a%20b");
	teardown_track_url(&s, "http://h/x?identifier=");
	teardown_track_url(&s, "http://h/x?foo=1#identifier=frag");
	teardown_track_url(&s, "http://h/identifier=c");
	cr_expect_eq(teardown_track_id(&s, "d"), 0);
	cr_assert_eq(s.n, 2);
	cr_expect_str_eq(s.ids[0], "a b");
	cr_expect_str_eq(s.ids[1], "d");
	teardown_tracked_fini(&s);
	cr_expect_eq(s.n, 0);
}

static void fake_response(struct http_response *resp, long status, const char *body)
{
	static struct http_header h[] = {{(char *)"Content-Type", (char *)"application/json"},
					 {(char *)"operation-id", (char *)"op-7"}};
	memset(resp, 0, sizeof(*resp));
	resp->status = status;
	resp->headers = h;
	resp->n_headers = 2;
	resp->body = (char *)body;
	resp->body_len = strlen(body);
	resp->body_size = resp->body_len;
	strcpy(resp->sha256, "0");
}

Test(expect, findings_failures_and_captures)
{
	struct fixture fx;
	setup(&fx, HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/x\"},"
			"\"expect\":{\"status\":[201,202],"
			"\"headers\":{\"Content-Type\":{\"matches\":\"^text/\"},"
			"\"operation-id\":\"op-7\"},"
			"\"json\":[{\"path\":\"$.a[*]\",\"match\":\"any\",\"equals\":2},"
			"{\"path\":\"$.s\",\"equals\":\"{{session}}\",\"choice\":true}],"
			"\"body\":{\"contains\":\"x42\",\"not_contains\":\"zzz\",\"size\":5}},"
			"\"capture\":{\"n\":{\"json\":\"$.s\",\"regex\":\"([0-9]+)\"},"
			"\"op\":{\"header\":\"operation-id\"},\"st\":{\"status\":true},"
			"\"gone\":{\"header\":\"x-none\",\"optional\":true}}}]}");
	static const char body[] = "{\"a\":[1,2,3],\"s\":\"x42y\"}";
	struct http_response resp;
	fake_response(&resp, 200, body);
	struct findings f = {0};
	cr_assert_eq(expect_eval(&fx.r, &fx.s->steps[0].expect, &resp, &f), 0);
	cr_assert_eq(f.n, 4, "status, Content-Type, $.s and the size");
	cr_expect_str_eq(f.v[0].where, "status");
	cr_expect_str_eq(f.v[0].text,
			 "expected 201 or 202, got 200 (body: {\"a\":[1,2,3],\"s\":\"x42y\"})");
	cr_expect_str_eq(f.v[1].where, "header Content-Type");
	cr_expect_str_eq(f.v[2].where, "$.s");
	cr_expect(f.v[2].choice);
	cr_expect_str_eq(f.v[3].where, "body");
	cr_expect_str_eq(f.v[3].text, "expected 5 bytes, got 24");
	findings_fini(&f);

	/* On a real target the [CHOICE] one is recorded, the others fail the step. */
	cr_assert_eq(expect_conclude(&fx.r, &fx.s->steps[0], "step[0]", &resp, false, &f), 1);
	cr_expect_eq(fx.r.hard, 3);
	cr_expect_eq(fx.r.soft, 1);
	cr_expect(strncmp(fx.r.first_failure, "step[0]: status: expected 201 or 202", 36) == 0,
		  "%s", fx.r.first_failure);
	const cJSON *n = vars_get(fx.r.vars, "n");
	cr_expect(cJSON_IsString(n) && strcmp(n->valuestring, "42") == 0, "regex group 1");
	const cJSON *op = vars_get(fx.r.vars, "op");
	cr_expect(cJSON_IsString(op) && strcmp(op->valuestring, "op-7") == 0);
	const cJSON *st = vars_get(fx.r.vars, "st");
	cr_expect(cJSON_IsNumber(st) && st->valuedouble == 200);
	cr_expect_null(vars_get(fx.r.vars, "gone"));

	/* In the cleanup phase the same findings are warnings only. */
	int hard = fx.r.hard;
	cr_expect_eq(expect_conclude(&fx.r, &fx.s->steps[0], "cleanup[0]", &resp, true, &f), 0);
	cr_expect_eq(fx.r.hard, hard);
	fflush(fx.r.diag);
	cr_expect(strstr(fx.r.diag_buf, "warning: cleanup[0]: status: expected 201 or 202"), "%s",
		  fx.r.diag_buf);
	teardown_fx(&fx);
}

Test(expect, session_captures_are_tracked_for_the_teardown)
{
	struct fixture fx;
	setup(&fx,
	      HEAD "\"steps\":[{\"request\":{\"method\":\"POST\",\"path\":\"/mcp\"},"
		   "\"capture\":{\"env\":{\"json\":\"$.result.structuredContent.environmentId\","
		   "\"session\":true},\"plain\":{\"json\":\"$.other\"},"
		   "\"num\":{\"json\":\"$.id\",\"session\":true},"
		   "\"none\":{\"json\":\"$.missing\",\"session\":true,\"optional\":true}}}]}");
	static const char body[] = "{\"id\":7,\"other\":\"not-a-session\",\"result\":"
				   "{\"structuredContent\":{\"environmentId\":\"env-1\"}}}";
	struct http_response resp;
	fake_response(&resp, 200, body);
	struct findings f = {0};
	cr_assert_eq(expect_conclude(&fx.r, &fx.s->steps[0], "step[0]", &resp, false, &f), 1);
	cr_assert_eq(fx.r.sessions.n, 1, "only the string marked \"session\" is tracked");
	cr_expect_str_eq(fx.r.sessions.ids[0], "env-1");
	const cJSON *env = vars_get(fx.r.vars, "env");
	cr_expect(cJSON_IsString(env) && strcmp(env->valuestring, "env-1") == 0);
	cr_expect_eq(fx.r.hard, 1, "a number cannot be a session identifier");
	cr_expect_str_eq(fx.r.first_failure,
			 "step[0]: capture num: a session identifier must be a non-empty string");
	/* Captured again (a retry, a second step): tracked once. */
	cr_assert_eq(expect_conclude(&fx.r, &fx.s->steps[0], "step[0]", &resp, false, &f), 1);
	cr_expect_eq(fx.r.sessions.n, 1);
	teardown_fx(&fx);
}

Test(expect, body_that_is_not_json)
{
	struct fixture fx;
	setup(&fx, HEAD "\"steps\":[{\"request\":{\"method\":\"GET\",\"path\":\"/x\"},"
			"\"expect\":{\"json\":[{\"path\":\"$.a\",\"exists\":true}]},"
			"\"capture\":{\"v\":{\"json\":\"$.a\"}}}]}");
	struct http_response resp;
	fake_response(&resp, 200, "not\njson");
	struct findings f = {0};
	cr_assert_eq(expect_conclude(&fx.r, &fx.s->steps[0], "step[0]", &resp, false, &f), 1);
	cr_expect_str_eq(fx.r.first_failure, "step[0]: json: the body is not JSON: \"not\\njson\"");
	fflush(fx.r.diag);
	cr_expect(strstr(fx.r.diag_buf, "capture v: no value to capture"), "%s", fx.r.diag_buf);
	teardown_fx(&fx);
}
