/* SPDX-License-Identifier: MIT */
/*
 * The client side of the trust boundary (issue 7, parts 1 and 5): hostile bytes from an HTTP
 * client never crash the emulator and never leave a connection in a state where the bytes after
 * a rejected request are served as another request.
 *
 *   - JSON nested 65 … 100000 levels deep on every execute route, and in a JWT payload in strict
 *     mode: a 400 (or 401), and the emulator keeps serving;
 *   - conflicting framing (Content-Length with Transfer-Encoding, two Content-Lengths, a list):
 *     one 400, the connection closed, the smuggled request never answered;
 *   - bad HTTP versions: a clean "HTTP/1.1 505" (or 400), nothing of the client's text echoed;
 *   - absolute-form and "*" targets: a 400 instead of silence;
 *   - a 413 for a body we will not read: the connection ends at once.
 */
#include <criterion/criterion.h>

#include "b64.h"
#include "rawhttp.h"

#define SHARED_EMULATOR_ARGS "--ready-sessions", "1"
#include "shared.h"

#define NEW "api-version=2025-02-02-preview"
#define OLD "api-version=2024-02-02-preview"

static char *nested(size_t depth, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + 2 * depth + sl + 1);
	cr_assert(s);
	memcpy(s, prefix, pl);
	memset(s + pl, '[', depth);
	memset(s + pl + depth, ']', depth);
	memcpy(s + pl + 2 * depth, suffix, sl + 1);
	return s;
}

static void assert_alive(const struct emu *e, const char *ident)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, "GET", "/healthz", &r), 0, "the emulator stopped answering");
	cr_assert_eq(r.status, 200);
	http_resp_fini(&r);
	char *st = emu_exec(e, ident, "6*7", &r);
	cr_assert_str_eq(st ? st : "(none)", "Succeeded", "%s", r.body ? r.body : "");
	cr_assert(strstr(r.body, "\"executionResult\":42"), "%s", r.body);
	free(st);
	http_resp_fini(&r);
}

static long post_json(const struct emu *e, const char *path, const char *body, char **code)
{
	const char *h[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path, .headers = h, .body = body, .body_len = strlen(body)};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "transport error: %s", r.error);
	long st = r.status;
	if (code)
		*code = http_resp_header(&r, "x-ms-error-code");
	http_resp_fini(&r);
	return st;
}

Test(json, deep_nesting_on_every_execute_route_is_a_400, .timeout = 300)
{
	struct emu e = shared_emu();
	static const char *const routes[] = {
	    "/executions?" NEW "&identifier=deep-json-1",
	    "/code/execute?" OLD "&identifier=deep-json-1",
	    "/python/execute?" OLD "&identifier=deep-json-1",
	};
	static const size_t depths[] = {65, 811, 5000, 100000};
	for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++)
		for (size_t d = 0; d < sizeof(depths) / sizeof(*depths); d++) {
			/* Bare, and inside an otherwise valid body. */
			char *bare = nested(depths[d], "", "");
			char *inner = nested(depths[d], "{\"code\":\"1\",\"properties\":", "}");
			const char *bodies[] = {bare, inner};
			for (size_t b = 0; b < 2; b++) {
				char *code = NULL;
				long st = post_json(&e, routes[i], bodies[b], &code);
				cr_expect_eq(st, 400, "%s depth %zu: %ld", routes[i], depths[d],
					     st);
				cr_expect_str_eq(code ? code : "", "InvalidRequestBody");
				free(code);
			}
			free(bare);
			free(inner);
		}
	assert_alive(&e, "deep-json-2");
}

Test(json, a_body_nested_within_the_bound_still_works, .timeout = 120)
{
	struct emu e = shared_emu();
	char *body = nested(60, "{\"code\":\"6*7\",\"extra\":", "}");
	char *code = NULL;
	long st = post_json(&e, "/executions?" NEW "&identifier=deep-json-3", body, &code);
	cr_expect_eq(st, 200, "%ld %s", st, code ? code : "");
	free(code);
	free(body);
}

static char *b64url(const char *s)
{
	char *o = sp_b64_encode_alloc(s, strlen(s), SP_B64_URL);
	cr_assert(o);
	return o;
}

Test(json, deeply_nested_jwt_payload_is_a_401_before_anything_else, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--auth-mode", "strict", NULL};
	cr_assert_eq(emu_start(&e, args, 120), 0);
	static const size_t depths[] = {10, 811, 20000};
	for (size_t d = 0; d < 3; d++) {
		char *payload =
		    nested(depths[d], "{\"aud\":\"https://dynamicsessions.io\",\"x\":", "}");
		char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
		char *p = b64url(payload);
		char *auth = malloc(strlen(h) + strlen(p) + 64);
		sprintf(auth, "Authorization: Bearer %s.%s.sig", h, p);
		const char *hdr[] = {auth, "Content-Type: application/json", NULL};
		struct http_req q = {.path = "/executions?" NEW "&identifier=jwt-deep-1",
				     .headers = hdr,
				     .body = "{\"code\":\"1\"}",
				     .no_auth = true};
		q.body_len = strlen(q.body);
		struct http_resp r;
		cr_assert_eq(emu_request(&e, &q, &r), 0, "depth %zu: %s", depths[d], r.error);
		cr_expect_eq(r.status, 401, "depth %zu: %ld", depths[d], r.status);
		http_resp_fini(&r);
		free(payload);
		free(h);
		free(p);
		free(auth);
	}
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "GET", "/healthz", &r), 0, "the emulator died");
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	emu_stop(&e);
}

/* Sends |req| on a new connection and reads until the server closes it (at most 5 s). */
static void exchange(const struct emu *e, const char *req, size_t len, struct raw_reply *out)
{
	int fd = raw_connect(e);
	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	cr_assert(raw_send(fd, req, len));
	raw_read(fd, 5.0, out);
	close(fd);
}

static void assert_one_error_then_close(const struct raw_reply *rr, const char *status_line,
					const char *code, const char *what)
{
	cr_expect(!strncmp(rr->buf, status_line, strlen(status_line)), "%s: got\n%s", what,
		  rr->buf);
	char h[128];
	snprintf(h, sizeof(h), "x-ms-error-code: %s\r\n", code);
	cr_expect(strstr(rr->buf, h), "%s: no %s in\n%s", what, code, rr->buf);
	cr_expect(strstr(rr->buf, "\"error\":{\"code\":\""), "%s: no envelope in\n%s", what,
		  rr->buf);
	cr_expect_eq(raw_count_responses(rr->buf), 1, "%s: more than one response:\n%s", what,
		     rr->buf);
	cr_expect(rr->eof, "%s: the connection stayed open", what);
	cr_expect(rr->seconds < 3.0, "%s: closed only after %.1f s", what, rr->seconds);
}

#define SMUGGLED "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

Test(framing, conflicting_framing_is_400_and_closes, .timeout = 120)
{
	struct emu e = shared_emu();
	static const char *const cases[][2] = {
	    {"CL+TE", "POST /executions?" NEW "&identifier=frame-1 HTTP/1.1\r\nHost: x\r\n"
		      "Authorization: Bearer x\r\nContent-Type: application/json\r\n"
		      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED},
	    {"TE+CL", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Length: 40\r\n\r\n0\r\n\r\n" SMUGGLED},
	    {"two CL", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
		       "Content-Length: 60\r\n\r\nab" SMUGGLED},
	    {"same CL twice", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
			      "Content-Length: 2\r\n\r\nab" SMUGGLED},
	    {"CL list",
	     "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 60\r\n\r\nab" SMUGGLED},
	    {"CL sign",
	     "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab" SMUGGLED},
	    {"TE identity", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
			    "Content-Length: 2\r\n\r\nab" SMUGGLED},
	    {"TE twice", "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED},
	    {"CL text",
	     "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n" SMUGGLED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct raw_reply rr;
		exchange(&e, cases[i][1], strlen(cases[i][1]), &rr);
		assert_one_error_then_close(&rr, "HTTP/1.1 400 ", "BadRequest", cases[i][0]);
	}
}

Test(framing, bad_versions_are_answered_cleanly, .timeout = 120)
{
	struct emu e = shared_emu();
	static const char *const v505[] = {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
					   "GET /healthz HTTP/1.10\r\nHost: x\r\n\r\n",
					   "GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n"};
	for (size_t i = 0; i < 3; i++) {
		struct raw_reply rr;
		exchange(&e, v505[i], strlen(v505[i]), &rr);
		assert_one_error_then_close(&rr, "HTTP/1.1 505 HTTP Version Not Supported\r\n",
					    "HttpVersionNotSupported", v505[i]);
	}
	/* Response splitting: the client's version text must never reach the status line. */
	static const char *const split[] = {
	    "GET /healthz HTTP/1.1 200 OK\r\nX-Injected: yes\r\n\r\n",
	    "GET /healthz 1.1 200 OK\r\nX-Injected: yes\r\n\r\n",
	    "GET /healthz HTTP/1.1 200 OK X-Injected: yes\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < 3; i++) {
		struct raw_reply rr;
		exchange(&e, split[i], strlen(split[i]), &rr);
		const char *eol = strstr(rr.buf, "\r\n");
		cr_assert(eol, "no status line for %s: %s", split[i], rr.buf);
		char line[128];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - rr.buf), rr.buf);
		cr_expect(!strcmp(line, "HTTP/1.1 400 Bad Request") ||
			      !strcmp(line, "HTTP/1.1 505 HTTP Version Not Supported"),
			  "status line '%s' for %s", line, split[i]);
		cr_expect(!strstr(rr.buf, "200 OK"), "%s", rr.buf);
		cr_expect(!strstr(rr.buf, "X-Injected"), "%s", rr.buf);
		cr_expect(rr.eof, "connection left open after %s", split[i]);
	}
}

Test(framing, absolute_form_and_star_targets_get_an_answer, .timeout = 120)
{
	struct emu e = shared_emu();
	static const char *const reqs[] = {
	    "GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	    "GET http://example.invalid:8080/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < 3; i++) {
		struct raw_reply rr;
		exchange(&e, reqs[i], strlen(reqs[i]), &rr);
		assert_one_error_then_close(&rr, "HTTP/1.1 400 ", "BadRequest", reqs[i]);
	}
}

Test(framing, a_413_for_an_unread_body_closes_at_once, .timeout = 120)
{
	struct emu e = shared_emu();
	static const char req[] = "POST /executions?" NEW "&identifier=frame-413 HTTP/1.1\r\n"
				  "Host: x\r\nAuthorization: Bearer x\r\n"
				  "Content-Type: application/json\r\n"
				  "Content-Length: 99999999999\r\n\r\n{\"code\":";
	int fd = raw_connect(&e);
	cr_assert(fd >= 0);
	cr_assert(raw_send(fd, req, sizeof(req) - 1));
	/* The client keeps its end open and sends nothing more. */
	struct raw_reply rr;
	raw_read(fd, 10.0, &rr);
	close(fd);
	cr_expect(!strncmp(rr.buf, "HTTP/1.1 413 ", 13), "%s", rr.buf);
	cr_expect(strstr(rr.buf, "Connection: close\r\n"), "%s", rr.buf);
	cr_expect(rr.eof, "the connection stayed open");
	cr_expect(rr.seconds < 3.0, "closed after %.1f s", rr.seconds);
}

Test(framing, keep_alive_still_works_for_good_requests, .timeout = 60)
{
	struct emu e = shared_emu();
	static const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = raw_connect(&e);
	cr_assert(fd >= 0);
	cr_assert(raw_send(fd, two, sizeof(two) - 1));
	struct raw_reply rr;
	raw_read(fd, 1.0, &rr);
	close(fd);
	cr_expect_eq(raw_count_responses(rr.buf), 2, "%s", rr.buf);
	cr_expect(!rr.eof, "a good keep-alive connection was closed");
}
