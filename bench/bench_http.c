/* SPDX-License-Identifier: MIT */
/*
 * bench_http: latency figures over one keep-alive libcurl connection (prints, never asserts).
 *   bench_http BASE new N      first execute on N new identifiers (new-session latency)
 *   bench_http BASE warm N     N executions of `x + 1` on one warm session
 *   bench_http BASE mcp-python N   N MCP runPythonCodeInRemoteEnvironment `x + 1` on a warm
 *                                  environment (POST /mcp, x-ms-apikey)
 *   bench_http BASE mcp-shell N    N MCP runShellCommandInRemoteEnvironment `true`
 *   bench_http BASE create N CONC SECONDS
 *                              first execute of `print(1)` on N new identifiers over CONC
 * keep-alive connections at once; stops early after SECONDS, or when MemAvailable falls under 2
 * GiB; prints the creation rate too bench_http BASE list N     N walks of every listSessions page
 * (following nextLink); a walk's time is the sum of its requests' round trips (parsing excluded)
 * Prints key=value figures, p50/p90/p99/max in milliseconds.
 */
#include "cleanup.h"
#include "spjson.h"

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
	return post(c, url, body);
}

/* MemAvailable in kB, or -1 when /proc/meminfo cannot be read. */
static long mem_available_kb(void)
{
	cleanup_fclose FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	return kb;
}

#define CREATE_CONC_MAX 64
#define MEM_RESERVE_KB	(2L * 1024 * 1024)

struct slot {
	CURL *c;
	char url[512];
	double t0;
};

static void slot_start(CURLM *m, struct slot *s, const char *base, int seq)
{
	snprintf(s->url, sizeof(s->url),
		 "%s/executions?api-version=2025-10-02-preview&identifier=bench-create-%d-%d", base,
		 (int)getpid(), seq);
	curl_easy_setopt(s->c, CURLOPT_URL, s->url);
	s->t0 = now_ms();
	curl_multi_add_handle(m, s->c);
}

/*
 * Up to |n| first executes on new identifiers, |conc| in flight at once (curl multi, one
 * keep-alive connection per slot). Each latency goes into t[]; returns how many finished and
 * sets *elapsed (ms) and *why_stopped (NULL when all |n| ran).
 */
static int create_sessions(const char *base, struct curl_slist *h, int n, int conc, double secs,
			   double *t, double *elapsed, const char **why_stopped)
{
	CURLM *m = curl_multi_init();
	struct slot s[CREATE_CONC_MAX];
	int started = 0, done = 0, active = 0;
	const char *stop = NULL;
	double start = now_ms(), deadline = start + secs * 1e3;
	for (int i = 0; i < conc; i++) {
		s[i].c = curl_easy_init();
		curl_easy_setopt(s[i].c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(s[i].c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(s[i].c, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(s[i].c, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(s[i].c, CURLOPT_POSTFIELDS, "{\"code\":\"print(1)\"}");
		curl_easy_setopt(s[i].c, CURLOPT_PRIVATE, &s[i]);
	}
	for (int i = 0; i < conc && started < n; i++, active++)
		slot_start(m, &s[i], base, started++);
	while (active > 0) {
		int running, left;
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *e = msg->easy_handle;
			CURLcode rc = msg->data.result;
			struct slot *sl = NULL;
			long status = 0;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&sl);
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
			curl_multi_remove_handle(m, e);
			active--;
			if (rc != CURLE_OK || status != 200) {
				fprintf(stderr,
					"bench_http: create: request failed (%s, HTTP %ld)\n",
					curl_easy_strerror(rc), status);
				exit(1);
			}
			t[done++] = now_ms() - sl->t0;
			long avail = done % 20 ? -1 : mem_available_kb();
			if (!stop && now_ms() > deadline)
				stop = "time-limit";
			if (!stop && avail >= 0 && avail < MEM_RESERVE_KB)
				stop = "MemAvailable-under-2GiB";
			if (!stop && started < n) {
				slot_start(m, sl, base, started++);
				active++;
			}
		}
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	*elapsed = now_ms() - start;
	*why_stopped = stop;
	for (int i = 0; i < conc; i++)
		curl_easy_cleanup(s[i].c);
	curl_multi_cleanup(m);
	return done;
}

#define LIST_BODY_MAX (64u << 20)

struct body {
	char *p;
	size_t n;
};

static size_t grow(char *p, size_t s, size_t n, void *u)
{
	struct body *b = u;
	if (b->n + s * n > LIST_BODY_MAX)
		return 0;
	char *q = realloc(b->p, b->n + s * n + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, p, s * n);
	b->p = q;
	b->n += s * n;
	b->p[b->n] = '\0';
	return s * n;
}

/* One walk over every listSessions page: the sum of the round trips in ms. */
static double list_walk(CURL *c, const char *base, int *pages, int *sessions)
{
	char url[2048];
	struct body b = {0};
	double total = 0;
	snprintf(url, sizeof(url), "%s/listSessions?api-version=2025-10-02-preview", base);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	*pages = *sessions = 0;
	for (int p = 0; p < 100000 && url[0]; p++) {
		b.n = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(c);
		total += now_ms() - t0;
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		enum sp_json_why why = SP_JSON_OK;
		cleanup_cjson cJSON *j =
		    rc == CURLE_OK && status == 200
			? sp_json_parse(b.p, b.n, LIST_BODY_MAX, SP_JSON_DEPTH_MAX, &why)
			: NULL;
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "sessions");
		const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "nextLink");
		if (!cJSON_IsArray(list) || !(cJSON_IsNull(next) || cJSON_IsString(next)) ||
		    (cJSON_IsString(next) && strlen(next->valuestring) >= sizeof(url))) {
			fprintf(stderr, "bench_http: listSessions: %s, HTTP %ld, %s\n",
				curl_easy_strerror(rc), status,
				j ? "unexpected members" : sp_json_why_text(why));
			exit(1);
		}
		*sessions += cJSON_GetArraySize(list);
		(*pages)++;
		if (cJSON_IsString(next))
			snprintf(url, sizeof(url), "%s", next->valuestring);
		else
			url[0] = '\0';
	}
	free(b.p);
	return total;
}

static void print_percentiles(const char *mode, double *t, int n)
{
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("%s: n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms max=%.2f ms", mode, n, t[n / 2],
	       t[n * 9 / 10], t[n * 99 / 100], t[n - 1]);
}

static const char usage[] = "usage: bench_http BASE new|warm|mcp-python|mcp-shell|list N\n"
			    "       bench_http BASE create N CONC SECONDS\n";

int main(int argc, char **argv)
{
	const char *base = argv[1], *mode = argc > 2 ? argv[2] : "";
	bool create = !strcmp(mode, "create");
	if (argc != (create ? 6 : 4)) {
		fputs(usage, stderr);
		return 1;
	}
	int n = atoi(argv[3]);
	int conc = create ? atoi(argv[4]) : 1;
	double secs = create ? atof(argv[5]) : 0;
	if (n < 1 || conc < 1 || conc > CREATE_CONC_MAX || (create && !(secs > 0))) {
		fputs(usage, stderr);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer bench");
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "x-ms-apikey: bench");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, strncmp(mode, "mcp-", 4) ? sink : keep);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	double *t = calloc((size_t)n, sizeof(double));
	char id[64];
	int rc = 0;
	if (!strncmp(mode, "mcp-", 4) &&
	    (!strcmp(mode + 4, "python") || !strcmp(mode + 4, "shell"))) {
		mcp_bench(c, base, !strcmp(mode, "mcp-shell"), t, n);
		print_percentiles(mode, t, n);
	} else if (!strcmp(mode, "warm")) {
		snprintf(id, sizeof(id), "bench-warm-%d", (int)getpid());
		execute(c, base, id, "x = 1");
		for (int i = 0; i < 50; i++)
			execute(c, base, id, "x + 1");
		for (int i = 0; i < n; i++)
			t[i] = execute(c, base, id, "x + 1");
		print_percentiles(mode, t, n);
	} else if (!strcmp(mode, "new")) {
		snprintf(id, sizeof(id), "bench-warmup-%d", (int)getpid());
		execute(c, base, id, "print(1)");
		for (int i = 0; i < n; i++) {
			snprintf(id, sizeof(id), "bench-new-%d-%d", (int)getpid(), i);
			t[i] = execute(c, base, id, "import numpy, pandas; print(1)");
		}
		print_percentiles(mode, t, n);
	} else if (create) {
		double ms;
		const char *why;
		int done = create_sessions(base, h, n, conc, secs, t, &ms, &why);
		print_percentiles(mode, t, done);
		printf(" conc=%d seconds=%.3f rate=%.1f/s stopped=%s", conc, ms / 1e3,
		       done / (ms / 1e3), why ? why : "no");
	} else if (!strcmp(mode, "list")) {
		int pages = 0, sessions = 0;
		for (int i = 0; i < n; i++)
			t[i] = list_walk(c, base, &pages, &sessions);
		qsort(t, (size_t)n, sizeof(double), cmp);
		printf("list: walks=%d pages=%d sessions=%d p50=%.2f ms min=%.2f ms max=%.2f ms", n,
		       pages, sessions, t[n / 2], t[0], t[n - 1]);
	} else {
		fputs(usage, stderr);
		rc = 1;
	}
	if (!rc)
		putchar('\n');
	free(t);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc;
}
