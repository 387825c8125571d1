/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP server for the runner's self-tests, so they exercise the runner without the
 * emulator. It takes the emulator's launch flags (--listen, --ready-file; the rest are
 * ignored), so the runner's --emulator mode can start it, and answers:
 *
 *   ANY /echo…            JSON {method, path, query, headers{lower-case name: value}, body,
 *                         body_size, body_sha256} describing the request
 *   GET /status/N         status N, JSON {"status": N}, header X-Echo: yes
 *   GET /counter/NAME     {"count": n}, n counting calls per NAME (for polling tests)
 *   GET /bytes/N          N bytes of "0123456789abcdef" repeated
 *   GET /slow/MS          waits MS milliseconds, then {"slept": MS}
 *   GET /secure           200 only with "Authorization: Bearer fresh-token", else 401
 *   GET /signals          {"blocked": B, "sigpipe_ignored": I}: the signal state the server
 *                         was started with (a child must not inherit the runner's)
 *   GET /args             {"args": [...]}: the command-line arguments after the program name
 *   GET /listSessions     {"sessions": [{"identifier": …}…], "nextLink": null}, one session per
 *                         comma-separated name in the query parameter ids (none without it)
 *   DELETE /session       204 (the runner's session cleanup)
 *
 * State is one mutex-guarded counter table. SIGTERM or SIGINT stops it.
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "sha256.h"

static bool started_blocked, started_sigpipe_ignored;
static int saved_argc;
static char **saved_argv;
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[64];
	int count;
} counters[64];

static void send_json(struct mg_connection *c, int status, cJSON *j, const char *extra)
{
	cleanup_free char *txt = cJSON_PrintUnformatted(j);
	size_t len = txt ? strlen(txt) : 0;
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
			 "%zu\r\n%s\r\n",
			 status, mg_get_response_code_text(c, status), len, extra ? extra : "");
	if (n > 0 && (size_t)n < sizeof(head))
		mg_write(c, head, (size_t)n);
	if (txt)
		mg_write(c, txt, len);
}

static int handle_echo(struct mg_connection *c, const struct mg_request_info *ri)
{
	cleanup_cjson cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "method", ri->request_method);
	cJSON_AddStringToObject(j, "path", ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri);
	cJSON_AddStringToObject(j, "query", ri->query_string ? ri->query_string : "");
	cJSON *h = cJSON_AddObjectToObject(j, "headers");
	for (int i = 0; i < ri->num_headers; i++) {
		char name[128];
		snprintf(name, sizeof(name), "%s", ri->http_headers[i].name);
		for (char *p = name; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (!cJSON_GetObjectItemCaseSensitive(h, name))
			cJSON_AddStringToObject(h, name, ri->http_headers[i].value);
	}
	struct sha256 s;
	sha256_init(&s);
	char buf[65536];
	char *keep = NULL;
	size_t kept = 0, total = 0;
	int n;
	while ((n = mg_read(c, buf, sizeof(buf))) > 0) {
		sha256_update(&s, buf, (size_t)n);
		total += (size_t)n;
		if (kept < 65536) {
			size_t take = (size_t)n < 65536 - kept ? (size_t)n : 65536 - kept;
			char *grown = realloc(keep, kept + take + 1);
			if (!grown)
				break;
			keep = grown;
			memcpy(keep + kept, buf, take);
			kept += take;
			keep[kept] = '\0';
		}
	}
	char hex[65];
	sha256_final_hex(&s, hex);
	cJSON_AddStringToObject(j, "body", keep ? keep : "");
	cJSON_AddNumberToObject(j, "body_size", (double)total);
	cJSON_AddStringToObject(j, "body_sha256", hex);
	free(keep);
	send_json(c, 200, j, NULL);
	return 200;
}

static int handler(struct mg_connection *c, void *arg)
{
	(void)arg;
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *uri = ri->local_uri;
	const char *m = ri->request_method;
	cleanup_cjson cJSON *j = cJSON_CreateObject();
	if (strncmp(uri, "/echo", 5) == 0)
		return handle_echo(c, ri);
	if (strncmp(uri, "/status/", 8) == 0) {
		int status = atoi(uri + 8);
		if (status < 200 || status > 599)
			status = 400;
		cJSON_AddNumberToObject(j, "status", status);
		send_json(c, status, j, "X-Echo: yes\r\n");
		return status;
	}
	if (strncmp(uri, "/counter/", 9) == 0) {
		int count = 0;
		pthread_mutex_lock(&counters_lock);
		for (size_t i = 0; i < 64; i++) {
			if (counters[i].name[0] == '\0')
				snprintf(counters[i].name, sizeof(counters[i].name), "%s", uri + 9);
			if (strcmp(counters[i].name, uri + 9) == 0) {
				count = ++counters[i].count;
				break;
			}
		}
		pthread_mutex_unlock(&counters_lock);
		cJSON_AddNumberToObject(j, "count", count);
		send_json(c, 200, j, NULL);
		return 200;
	}
	if (strncmp(uri, "/bytes/", 7) == 0) {
		long n = atol(uri + 7);
		char head[128];
		int hn = snprintf(head, sizeof(head),
				  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
				  "Content-Length: %ld\r\n\r\n",
				  n);
		mg_write(c, head, (size_t)hn);
		static const char pat[] = "0123456789abcdef";
		char buf[4096];
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pat[i % 16];
		for (long sent = 0; sent < n;) {
			long chunk = n - sent < (long)sizeof(buf) ? n - sent : (long)sizeof(buf);
			if (mg_write(c, buf, (size_t)chunk) <= 0)
				break;
			sent += chunk;
		}
		return 200;
	}
	if (strncmp(uri, "/slow/", 6) == 0) {
		long ms = atol(uri + 6);
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		cJSON_AddNumberToObject(j, "slept", (double)ms);
		send_json(c, 200, j, NULL);
		return 200;
	}
	if (strcmp(uri, "/secure") == 0) {
		const char *auth = mg_get_header(c, "Authorization");
		bool ok = auth && strcmp(auth, "Bearer fresh-token") == 0;
		cJSON_AddBoolToObject(j, "ok", ok);
		send_json(c, ok ? 200 : 401, j, ok ? NULL : "WWW-Authenticate: Bearer\r\n");
		return ok ? 200 : 401;
	}
	if (strcmp(uri, "/signals") == 0) {
		cJSON_AddBoolToObject(j, "blocked", started_blocked);
		cJSON_AddBoolToObject(j, "sigpipe_ignored", started_sigpipe_ignored);
		send_json(c, 200, j, NULL);
		return 200;
	}
	if (strcmp(uri, "/args") == 0) {
		cJSON *args = cJSON_AddArrayToObject(j, "args");
		for (int i = 1; i < saved_argc; i++)
			cJSON_AddItemToArray(args, cJSON_CreateString(saved_argv[i]));
		send_json(c, 200, j, NULL);
		return 200;
	}
	if (strcmp(uri, "/listSessions") == 0) {
		cJSON *sessions = cJSON_AddArrayToObject(j, "sessions");
		char ids[1024];
		const char *q = ri->query_string ? ri->query_string : "";
		if (mg_get_var(q, strlen(q), "ids", ids, sizeof(ids)) > 0) {
			char *save = NULL;
			for (char *id = strtok_r(ids, ",", &save); id;
			     id = strtok_r(NULL, ",", &save)) {
				cJSON *item = cJSON_CreateObject();
				cJSON_AddStringToObject(item, "identifier", id);
				cJSON_AddItemToArray(sessions, item);
			}
		}
		cJSON_AddNullToObject(j, "nextLink");
		send_json(c, 200, j, NULL);
		return 200;
	}
	if (strcmp(uri, "/session") == 0 && strcmp(m, "DELETE") == 0) {
		static const char head[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
		mg_write(c, head, sizeof(head) - 1);
		return 204;
	}
	cJSON_AddStringToObject(j, "error", "no such path");
	send_json(c, 404, j, NULL);
	return 404;
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0", *ready = NULL;
	saved_argc = argc;
	saved_argv = argv;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen = argv[++i];
		else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
			ready = argv[++i];
		else if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc && argv[i + 1][0] != '-')
			i++; /* an emulator flag with a value: ignored */
	}
	sigset_t set, initial;
	sigprocmask(SIG_BLOCK, NULL, &initial);
	started_blocked = sigismember(&initial, SIGTERM) || sigismember(&initial, SIGINT);
	struct sigaction pipe_action;
	sigaction(SIGPIPE, NULL, &pipe_action);
	started_sigpipe_ignored = pipe_action.sa_handler == SIG_IGN;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	mg_init_library(0);
	const char *options[] = {"listening_ports", listen, "num_threads", "16", NULL};
	struct mg_callbacks cb = {0};
	struct mg_context *ctx = mg_start(&cb, NULL, options);
	if (!ctx) {
		fprintf(stderr, "echo_server: cannot listen on %s\n", listen);
		return 1;
	}
	mg_set_request_handler(ctx, "/", handler, NULL);
	struct mg_server_port ports[4];
	int n = mg_get_server_ports(ctx, 4, ports);
	if (n < 1) {
		mg_stop(ctx);
		return 1;
	}
	printf("echo_server listening on http://127.0.0.1:%d\n", ports[0].port);
	fflush(stdout);
	if (ready) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "http://127.0.0.1:%d\n", ports[0].port) < 0 ||
		    fclose(f) != 0 || rename(tmp, ready) < 0) {
			mg_stop(ctx);
			return 1;
		}
	}
	int sig;
	sigwait(&set, &sig);
	/* mg_stop() takes about three seconds (its master thread polls with a long quantum);
	 * a test helper with no state worth flushing simply leaves. */
	_exit(0);
}
