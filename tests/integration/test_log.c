/* SPDX-License-Identifier: MIT */
/*
 * The request log (stderr) as a user reads it: one line per request in text and JSON, no
 * token or API key ever (not even at debug level, not from a query string), session life-cycle
 * events, CivetWeb's protocol errors with the peer, the start line alone on stdout, and
 * --quiet printing nothing but that line. Also CORS on real responses, error responses and
 * preflights. Log lines are written right after the response, so each check waits (bounded)
 * for its line to appear.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rawhttp.h"

#define NEW "api-version=2025-10-02-preview"

#define TOKEN  "tok-SECRET-bearer-5f1c"
#define APIKEY "key-SECRET-apikey-77aa"
#define QTOKEN "qry-SECRET-token-31d0"

static void start(struct emu *e, const char *const *args)
{
	cr_assert_eq(emu_start(e, args, 120), 0, "emulator did not start");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char *buf = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
		size_t n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static char *emu_log(const struct emu *e)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/emulator.log", e->dir);
	return read_file(path);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits (at most |seconds|) until the file |path| contains |needle|; returns its text. */
static char *wait_file_for(const char *path, const char *needle, int seconds)
{
	for (int i = 0;; i++) {
		char *text = read_file(path);
		if (strstr(text, needle) || i >= seconds * 50)
			return text;
		free(text);
		sleep_ms(20);
	}
}

static char *wait_log_for(const struct emu *e, const char *needle, int seconds)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/emulator.log", e->dir);
	return wait_file_for(path, needle, seconds);
}

static long post_exec(const struct emu *e, const char *id, const char *code_json_body,
		      const char *const *extra_headers, struct http_resp *out)
{
	char path[512];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	const char *h[8] = {"Content-Type: application/json"};
	size_t n = 1;
	for (size_t i = 0; extra_headers && extra_headers[i] && n < 7; i++)
		h[n++] = extra_headers[i];
	h[n] = NULL;
	struct http_req q = {.path = path, .headers = h, .body = code_json_body};
	q.body_len = strlen(code_json_body);
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0);
	long s = r.status;
	if (out)
		*out = r;
	else
		http_resp_fini(&r);
	return s;
}

/* Sends a request with a bearer token, an API key and a token in the query, plus a failed
 * one with a body, and returns the log once both lines are there. */
static char *secret_requests(const struct emu *e, bool json)
{
	const char *h[] = {"Authorization: Bearer " TOKEN, "x-ms-apikey: " APIKEY,
			   "Cookie: session=" QTOKEN, NULL};
	const char *body = "{\"code\":\"x = 20\\nx + 22\"}";
	char path[512];
	snprintf(path, sizeof(path),
		 "/executions?" NEW "&identifier=log-secret-1&access_token=" QTOKEN
		 "&token=" QTOKEN);
	const char *hh[] = {"Content-Type: application/json", h[0], h[1], h[2], NULL};
	struct http_req q = {.path = path, .headers = hh, .body = body, .no_auth = true};
	q.body_len = strlen(body);
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_fini(&r);
	/* The line is written after the response: wait for it, so the two lines keep their order.
	 */
	free(
	    wait_log_for(e, json ? "\"status\":200" : " POST /executions 200 id=log-secret-1", 20));
	/* A failed request (debug level logs its body excerpt). */
	const char *bad = "{\"code\": 12, \"note\": \"bad-body-marker\"}";
	struct http_req q2 = {.path = path, .headers = hh, .body = bad, .no_auth = true};
	q2.body_len = strlen(bad);
	cr_assert_eq(emu_request(e, &q2, &r), 0);
	cr_assert_eq(r.status, 400, "%s", r.body);
	http_resp_fini(&r);
	return wait_log_for(
	    e, json ? "\"errorCode\":\"InvalidRequestBody\"" : "400 InvalidRequestBody", 20);
}

static void assert_no_secret(const char *log)
{
	cr_expect_null(strstr(log, TOKEN), "the bearer token is in the log:\n%s", log);
	cr_expect_null(strstr(log, APIKEY), "the API key is in the log:\n%s", log);
	cr_expect_null(strstr(log, QTOKEN), "a query or cookie token is in the log:\n%s", log);
	cr_expect_null(strstr(log, "SECRET"), "a secret is in the log:\n%s", log);
}

Test(log, text_lines_per_request_without_secrets, .timeout = 120)
{
	struct emu e;
	start(&e, NULL);
	char *log = secret_requests(&e, false);
	/* Arrival time, method, route without the pool prefix, status, identifier, bytes, time. */
	cr_expect(strstr(log, " POST /executions 200 id=log-secret-1 in=25 out="), "%s", log);
	cr_expect(
	    strstr(log, " POST /executions 400 InvalidRequestBody id=log-secret-1 in=39 out="),
	    "%s", log);
	cr_expect(strstr(log, "ms\n"), "%s", log);
	assert_no_secret(log);
	free(log);

	/* The pool prefix is not part of the route; a request without identifier says id=-. */
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "GET",
			    "/subscriptions/s/resourceGroups/g/sessionPools/p/session?" NEW
			    "&identifier=log-absent-1",
			    &r),
		     0);
	cr_expect_eq(r.status, 404);
	http_resp_fini(&r);
	free(wait_log_for(&e, " GET /session 404 SessionNotFound id=log-absent-1", 20));
	cr_assert_eq(emu_do(&e, "GET", "/healthz", &r), 0);
	http_resp_fini(&r);
	log = wait_log_for(&e, "GET /healthz 200 id=-", 20);
	cr_expect(strstr(log, " GET /session 404 SessionNotFound id=log-absent-1 in=0 out="), "%s",
		  log);
	cr_expect(strstr(log, "GET /healthz 200 id=- in=0 out="), "%s", log);
	cr_expect_null(strstr(log, "subscriptions/s"), "%s", log);
	free(log);
	emu_stop(&e);
}

Test(log, debug_level_redacts_headers_and_shows_failed_bodies, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--log-level", "debug", NULL};
	start(&e, args);
	char *log = secret_requests(&e, false);
	cr_expect(strstr(log, "  > Authorization: [redacted]"), "%s", log);
	cr_expect(strstr(log, "  > x-ms-apikey: [redacted]"), "%s", log);
	cr_expect(strstr(log, "  > Cookie: [redacted]"), "%s", log);
	cr_expect(strstr(log, "  > Content-Type: application/json"), "%s", log);
	cr_expect(strstr(log, "bad-body-marker"), "the failed request's body excerpt: %s", log);
	assert_no_secret(log);
	free(log);
	emu_stop(&e);
}

static cJSON *find_json_line(const char *log, const char *kind, const char *key, const char *val)
{
	const char *p = log;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && *p == '{') {
			char *line = strndup(p, len);
			cJSON *o = cJSON_Parse(line);
			free(line);
			cr_assert(o, "a log line that starts with '{' is not JSON: %.*s", (int)len,
				  p);
			cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
			cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
			if (cJSON_IsString(k) && !strcmp(k->valuestring, kind) &&
			    cJSON_IsString(v) && !strcmp(v->valuestring, val))
				return o;
			cJSON_Delete(o);
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

Test(log, json_lines_per_request_and_event, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--log-format", "json", "--log-level", "debug", NULL};
	start(&e, args);
	char *log = secret_requests(&e, true);
	assert_no_secret(log);
	cJSON *o = find_json_line(log, "request", "errorCode", "InvalidRequestBody");
	cr_assert(o, "no JSON line for the failed request:\n%s", log);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "method")), "POST");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "route")), "/executions");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "identifier")),
			 "log-secret-1");
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "status")), 400);
	cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "bytesIn")), 39);
	cr_expect_gt(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "bytesOut")), 0);
	cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(o, "durationMs")));
	cr_expect(cJSON_IsString(cJSON_GetObjectItem(o, "time")));
	cr_expect(cJSON_IsString(cJSON_GetObjectItem(o, "peer")));
	cJSON *h = cJSON_GetObjectItem(o, "headers");
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "Authorization")),
			 "[redacted]");
	cr_expect(
	    strstr(cJSON_GetStringValue(cJSON_GetObjectItem(o, "bodyExcerpt")), "bad-body-marker"));
	cJSON_Delete(o);
	o = find_json_line(log, "session", "event", "created");
	cr_assert(o, "no JSON line for the session's creation:\n%s", log);
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "identifier")),
			 "log-secret-1");
	cJSON_Delete(o);
	free(log);
	emu_stop(&e);
}

Test(log, session_life_cycle_events, .timeout = 180)
{
	struct emu e;
	const char *args[] = {"--cooldown-seconds", "2", NULL};
	start(&e, args);
	cr_assert_eq(post_exec(&e, "life-1", "{\"code\":\"1\"}", NULL, NULL), 200);
	/* A cell over its timeout: KeyboardInterrupt. */
	cr_assert_eq(post_exec(&e, "life-1",
			       "{\"code\":\"import time\\ntime.sleep(60)\",\"timeoutInSeconds\":1}",
			       NULL, NULL),
		     200);
	/* The interpreter dies: restarted. */
	cr_assert_eq(post_exec(&e, "life-1", "{\"code\":\"import os\\nos._exit(3)\"}", NULL, NULL),
		     200);
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "DELETE", "/session?" NEW "&identifier=life-1", &r), 0);
	cr_expect_eq(r.status, 204);
	http_resp_fini(&r);
	/* Another session left alone expires. */
	cr_assert_eq(post_exec(&e, "life-2", "{\"code\":\"1\"}", NULL, NULL), 200);
	char *log = wait_log_for(&e, "session expired id=life-2", 60);
	cr_expect(strstr(log, "session created id=life-1 "), "%s", log);
	cr_expect(strstr(log, "session timeout id=life-1 execution timed out after 1 s"), "%s",
		  log);
	cr_expect(strstr(log, "session interpreter-restarted id=life-1 "), "%s", log);
	cr_expect(strstr(log, "session deleted id=life-1"), "%s", log);
	cr_expect(strstr(log, "session created id=life-2 "), "%s", log);
	cr_expect(strstr(log, "session expired id=life-2 idle for"), "%s", log);
	free(log);
	emu_stop(&e);
}

Test(log, protocol_errors_name_the_peer_and_the_reason, .timeout = 120)
{
	struct emu e;
	start(&e, NULL);
	int fd = raw_connect(&e);
	cr_assert(fd >= 0);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
	const char req[] = "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n";
	cr_assert(raw_send(fd, req, sizeof(req) - 1));
	struct raw_reply rep;
	raw_read(fd, 10, &rep);
	close(fd);
	cr_expect(!strncmp(rep.buf, "HTTP/1.1 505", 12), "%.200s", rep.buf);
	char want[128];
	snprintf(want, sizeof(want), "protocol-error 505 peer=127.0.0.1:%u ",
		 (unsigned)ntohs(me.sin_port));
	char *log = wait_log_for(&e, want, 20);
	cr_expect(strstr(log, want), "no '%s' in:\n%s", want, log);
	free(log);

	/* An absolute-form target CivetWeb would drop silently. */
	fd = raw_connect(&e);
	cr_assert(fd >= 0);
	ml = sizeof(me);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &ml), 0);
	const char abs[] = "GET http://user:pw-SECRET@example.com/healthz HTTP/1.1\r\nHost: "
			   "example.com\r\n\r\n";
	cr_assert(raw_send(fd, abs, sizeof(abs) - 1));
	raw_read(fd, 10, &rep);
	close(fd);
	cr_expect(!strncmp(rep.buf, "HTTP/1.1 400", 12), "%.200s", rep.buf);
	snprintf(want, sizeof(want), "protocol-error 400 peer=127.0.0.1:%u ",
		 (unsigned)ntohs(me.sin_port));
	log = wait_log_for(&e, want, 20);
	cr_expect(strstr(log, want), "no '%s' in:\n%s", want, log);
	cr_expect_null(strstr(log, "SECRET"), "%s", log);
	free(log);
	emu_stop(&e);
}

static void expect_header(const struct http_resp *r, const char *name, const char *want)
{
	char *v = http_resp_header(r, name);
	if (!want) {
		cr_expect_null(v, "%s: %s", name, v);
	} else {
		cr_expect(v && strstr(v, want), "%s: '%s', expected '%s'\n%s", name,
			  v ? v : "(none)", want, r->headers);
	}
	free(v);
}

Test(log, cors_on_responses_errors_and_preflights, .timeout = 120)
{
	struct emu e;
	start(&e, NULL); /* loopback listener: every origin */
	const char *origin[] = {"Origin: http://localhost:5173", NULL};
	struct http_resp r;
	cr_assert_eq(post_exec(&e, "cors-1", "{\"code\":\"6*7\"}", origin, &r), 200);
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	expect_header(&r, "Access-Control-Expose-Headers", "operation-id");
	expect_header(&r, "Access-Control-Expose-Headers", "x-ms-error-code");
	http_resp_fini(&r);

	/* An error, before authentication even. */
	struct http_req q = {
	    .path = "/session?" NEW "&identifier=cors-1", .headers = origin, .no_auth = true};
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 401);
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	http_resp_fini(&r);

	/* A browser's preflight: no token, answered 204. */
	const char *pre[] = {"Origin: http://localhost:5173", "Access-Control-Request-Method: POST",
			     "Access-Control-Request-Headers: authorization, content-type", NULL};
	struct http_req p = {.method = "OPTIONS",
			     .path = "/executions?" NEW "&identifier=cors-1",
			     .headers = pre,
			     .no_auth = true};
	cr_assert_eq(emu_request(&e, &p, &r), 0);
	cr_expect_eq(r.status, 204, "%s", r.headers);
	expect_header(&r, "Access-Control-Allow-Origin", "*");
	expect_header(&r, "Access-Control-Allow-Methods", "POST");
	expect_header(&r, "Access-Control-Allow-Methods", "DELETE");
	expect_header(&r, "Access-Control-Allow-Headers", "Authorization");
	expect_header(&r, "Access-Control-Allow-Headers", "x-ms-apikey");
	expect_header(&r, "Access-Control-Max-Age", "7200");
	http_resp_fini(&r);
	emu_stop(&e);

	/* An explicit list: the origin is echoed when listed, with Vary: Origin. */
	const char *args[] = {"--cors-origins", "http://app.example:3000, https://b.example", NULL};
	start(&e, args);
	const char *ok[] = {"Origin: http://app.example:3000", NULL};
	cr_assert_eq(post_exec(&e, "cors-2", "{\"code\":\"1\"}", ok, &r), 200);
	expect_header(&r, "Access-Control-Allow-Origin", "http://app.example:3000");
	expect_header(&r, "Vary", "Origin");
	http_resp_fini(&r);
	const char *other[] = {"Origin: http://evil.example", NULL};
	cr_assert_eq(post_exec(&e, "cors-2", "{\"code\":\"1\"}", other, &r), 200);
	expect_header(&r, "Access-Control-Allow-Origin", NULL);
	http_resp_fini(&r);
	const char *pre2[] = {"Origin: https://b.example", "Access-Control-Request-Method: DELETE",
			      NULL};
	p.headers = pre2;
	cr_assert_eq(emu_request(&e, &p, &r), 0);
	cr_expect_eq(r.status, 204);
	expect_header(&r, "Access-Control-Allow-Origin", "https://b.example");
	http_resp_fini(&r);
	emu_stop(&e);
}

Test(log, quiet_prints_only_the_start_line, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--quiet", NULL};
	start(&e, args);
	cr_assert_eq(post_exec(&e, "quiet-1", "{\"code\":\"1+1\"}", NULL, NULL), 200);
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "DELETE", "/session?" NEW "&identifier=quiet-1", &r), 0);
	http_resp_fini(&r);
	/* Stop it ourselves, so the log is read after the emulator has exited. */
	int st = 0;
	kill(e.pid, SIGTERM);
	cr_assert_eq(waitpid(e.pid, &st, 0), e.pid);
	kill(-e.pid, SIGKILL);
	e.pid = -1;
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *log = emu_log(&e);
	const char *nl = strchr(log, '\n');
	cr_expect(!strncmp(log, "sessionpool-emulator ", 21) && strstr(log, " listening on "), "%s",
		  log);
	cr_expect(nl && nl[1] == '\0', "more than the start line:\n%s", log);
	free(log);
	emu_stop(&e);
}

/* Runs the emulator with |args| to its exit (or, with |ready| set, until SIGTERM after one
 * request): stdout and stderr go to separate files under |dir|. Returns the wait status. */
static int run_split(const char *dir, const char *const *args, bool serve)
{
	char out[300], err[300], ready[300], data[300];
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	const char *lead[] = {"--ready-file", ready, "--data-dir", data, NULL};
	pid_t pid = emu_spawn(lead, args, out, err);
	cr_assert(pid >= 0);
	if (serve) {
		char *url = wait_file_for(ready, "\n", 60);
		struct emu e = {.pid = pid};
		snprintf(e.base_url, sizeof(e.base_url), "%.*s", (int)strcspn(url, "\n"), url);
		free(url);
		struct http_resp r;
		cr_expect_eq(emu_do(&e, "GET", "/healthz", &r), 0);
		cr_expect_eq(r.status, 200);
		http_resp_fini(&r);
		free(wait_file_for(err, "GET /healthz 200", 20));
		kill(pid, SIGTERM);
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	kill(-pid, SIGKILL);
	return st;
}

Test(log, the_start_line_is_alone_on_stdout, .timeout = 120)
{
	char dir[] = "/tmp/sp-log-XXXXXX";
	cr_assert(mkdtemp(dir));
	const char *args[] = {"--listen", "127.0.0.1:0", NULL};
	int st = run_split(dir, args, true);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/stdout", dir);
	char *out = read_file(path);
	const char *nl = strchr(out, '\n');
	cr_expect(!strncmp(out, "sessionpool-emulator ", 21) && nl && nl[1] == '\0', "stdout:\n%s",
		  out);
	free(out);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	char *err = read_file(path);
	cr_expect(strstr(err, " GET /healthz 200 id=- "), "stderr:\n%s", err);
	free(err);
	emu_rm_tree(dir);
}
