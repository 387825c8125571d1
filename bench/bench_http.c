/* SPDX-License-Identifier: MIT */
/*
 * bench_http: latency figures over one keep-alive libcurl connection (prints, never asserts).
 *   bench_http BASE new N      first execute on N new identifiers (new-session latency)
 *   bench_http BASE warm N     N executions of `x + 1` on one warm session
 *   bench_http BASE mcp-python N   N MCP runPythonCodeInRemoteEnvironment `x + 1` on a warm
 *                                  environment (POST /mcp, x-ms-apikey)
 *   bench_http BASE mcp-shell N    N MCP runShellCommandInRemoteEnvironment `true`
 * Prints p50/p90/p99/max in milliseconds.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char reply[4096];
static size_t reply_len;

static size_t keep(char *p, size_t s, size_t n, void *u)
{
	(void)u;
	size_t k = s * n < sizeof(reply) - 1 - reply_len ? s * n : sizeof(reply) - 1 - reply_len;
	memcpy(reply + reply_len, p, k);
	reply_len += k;
	reply[reply_len] = '\0';
	return s * n;
}

/* One POST of |body| to |url|: its time in ms; exits unless the status is 200. */
static double post(CURL *c, const char *url, const char *body)
{
	reply_len = 0;
	reply[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	double t0 = now_ms();
	CURLcode rc = curl_easy_perform(c);
	double t = now_ms() - t0;
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "bench_http: request failed (%s, HTTP %ld)\n",
			curl_easy_strerror(rc), status);
		exit(1);
	}
	return t;
}

/* A tools/call body for |tool| with |args| (a JSON object's members). */
static double mcp_call(CURL *c, const char *base, const char *tool, const char *args)
{
	char url[512], body[512];
	snprintf(url, sizeof(url), "%s/mcp", base);
	snprintf(
	    body, sizeof(body),
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
	    "\"arguments\":{%s}}}",
	    tool, args);
	double t = post(c, url, body);
	if (strstr(reply, "\"isError\":true") || !strstr(reply, "\"result\"")) {
		fprintf(stderr, "bench_http: %s failed: %s\n", tool, reply);
		exit(1);
	}
	return t;
}

/* launchShell: the new environment's id into |id|. */
static void mcp_launch(CURL *c, const char *base, char *id, size_t n)
{
	mcp_call(c, base, "launchShell", "");
	const char *k = strstr(reply, "\"environmentId\":\"");
	if (!k || sscanf(k + 17, "%36[0-9a-f-]", id) != 1 || strlen(id) != 36 || n < 37) {
		fprintf(stderr, "bench_http: launchShell: %s\n", reply);
		exit(1);
	}
}

static void mcp_bench(CURL *c, const char *base, bool shell, double *t, int n)
{
	char id[40], args[256];
	const char *tool =
	    shell ? "runShellCommandInRemoteEnvironment" : "runPythonCodeInRemoteEnvironment";
	mcp_launch(c, base, id, sizeof(id));
	snprintf(args, sizeof(args), "\"environmentId\":\"%s\",%s", id,
		 shell ? "\"shellCommand\":\"true\"" : "\"pythonCode\":\"x = 1\"");
	mcp_call(c, base, tool, args); /* creates the session */
	if (!shell)
		snprintf(args, sizeof(args), "\"environmentId\":\"%s\",\"pythonCode\":\"x + 1\"",
			 id);
	for (int i = 0; i < 50; i++)
		mcp_call(c, base, tool, args);
	for (int i = 0; i < n; i++)
		t[i] = mcp_call(c, base, tool, args);
}

static double execute(CURL *c, const char *base, const char *id, const char *code)
{
	char url[512], body[256];
	snprintf(url, sizeof(url), "%s/executions?api-version=2025-10-02-preview&identifier=%s",
		 base, id);
	snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	double t0 = now_ms();
	CURLcode rc = curl_easy_perform(c);
	double t = now_ms() - t0;
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "bench_http: request failed (%s, HTTP %ld)\n",
			curl_easy_strerror(rc), status);
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_http BASE new|warm|mcp-python|mcp-shell N\n");
		return 1;
	}
	const char *base = argv[1];
	int n = atoi(argv[3]);
	if (n < 1)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer bench");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "x-ms-apikey: bench");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, strncmp(argv[2], "mcp-", 4) ? sink : keep);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	double *t = calloc((size_t)n, sizeof(double));
	char id[64];
	if (!strncmp(argv[2], "mcp-", 4)) {
		mcp_bench(c, base, !strcmp(argv[2], "mcp-shell"), t, n);
	} else if (!strcmp(argv[2], "warm")) {
		snprintf(id, sizeof(id), "bench-warm-%d", (int)getpid());
		execute(c, base, id, "x = 1");
		for (int i = 0; i < 50; i++)
			execute(c, base, id, "x + 1");
		for (int i = 0; i < n; i++)
			t[i] = execute(c, base, id, "x + 1");
	} else {
		snprintf(id, sizeof(id), "bench-warmup-%d", (int)getpid());
		execute(c, base, id, "print(1)");
		for (int i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "bench-new-%d-%d", (int)getpid(), i);
			t[i] = execute(c, base, id, "import numpy, pandas; print(1)");
		}
	}
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("%s: n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms\n", argv[2], n, t[n / 2],
	       t[n * 9 / 10], t[n * 99 / 100], t[n - 1]);
	free(t);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return 0;
}
