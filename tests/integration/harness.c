/* SPDX-License-Identifier: MIT */
/*
 * See harness.h. The emulator is started with fork+exec in its own process group, so that
 * emu_stop() can end it and anything it left behind with one signal; readiness is the
 * appearance of a complete first line in the ready file, polled every 20 ms.
 */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tree.h"

#ifndef EMULATOR_PATH
#define EMULATOR_PATH "sessionpool-emulator"
#endif

void emu_rm_tree(const char *dir)
{
	struct stat st;
	if (*dir && lstat(dir, &st) == 0)
		sp_tree_remove_at(AT_FDCWD, dir, st.st_dev, 0);
}

static void dump_log(const struct emu *e)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/emulator.log", e->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[1024];
	fprintf(stderr, "---- %s ----\n", path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int emu_start(struct emu *e, const char *const *extra_args, int timeout_s)
{
	memset(e, 0, sizeof(*e));
	e->pid = -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/sp-it-XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	snprintf(e->data_dir, sizeof(e->data_dir), "%s/data", e->dir);
	char ready[300], log[300];
	snprintf(ready, sizeof(ready), "%s/ready", e->dir);
	snprintf(log, sizeof(log), "%s/emulator.log", e->dir);

	const char *bin = getenv("SESSIONPOOL_EMULATOR");
	if (!bin || !*bin)
		bin = EMULATOR_PATH;
	const char *argv[64];
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--ready-file";
	argv[n++] = ready;
	argv[n++] = "--data-dir";
	argv[n++] = e->data_dir;
	for (size_t i = 0; extra_args && extra_args[i] && n < 63; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	e->pid = pid;

	long waited = 0, limit = (timeout_s > 0 ? timeout_s : 60) * 1000L;
	for (;;) {
		FILE *f = fopen(ready, "r");
		if (f) {
			char line[256];
			bool ok = fgets(line, sizeof(line), f) && strchr(line, '\n');
			fclose(f);
			if (ok) {
				line[strcspn(line, "\r\n")] = '\0';
				snprintf(e->base_url, sizeof(e->base_url), "%s", line);
				return 0;
			}
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			e->pid = -1;
			dump_log(e);
			return -ECHILD;
		}
		if (waited >= limit) {
			dump_log(e);
			emu_stop(e);
			return -ETIMEDOUT;
		}
		sleep_ms(20);
		waited += 20;
	}
}

int emu_stop(struct emu *e)
{
	int status = -1;
	bool unclean = false;
	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		for (int i = 0; i < 1000; i++) {
			pid_t r = waitpid(e->pid, &status, WNOHANG);
			if (r == e->pid || (r < 0 && errno != EINTR))
				break;
			if (i == 999) {
				kill(-e->pid, SIGKILL);
				waitpid(e->pid, &status, 0);
			}
			sleep_ms(20);
		}
		/* Anything left in the process group. */
		kill(-e->pid, SIGKILL);
		e->pid = -1;
		/* A sanitizer report, a crash or a hang at shutdown is a failure of every test:
		 * the emulator must exit 0 on SIGTERM. */
		unclean = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (unclean) {
		fprintf(stderr, "harness: the emulator did not exit cleanly on SIGTERM (%s %d)\n",
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		dump_log(e);
		emu_rm_tree(e->dir);
		abort();
	}
	if (getenv("SESSIONPOOL_TEST_LOG"))
		dump_log(e);
	emu_rm_tree(e->dir);
	e->dir[0] = '\0';
	return status;
}

void http_resp_fini(struct http_resp *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct grow {
	char *p;
	size_t len;
	size_t cap;
};

/* Doubling: a 40 MiB download arrives in 16 KiB pieces, and a realloc per piece (each a copy
 * under ASan) took minutes in the sanitizer build. */
static void grow_add(struct grow *g, const char *s, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		while (cap < g->len + n + 1)
			cap *= 2;
		char *np = realloc(g->p, cap);
		if (!np)
			abort();
		g->p = np;
		g->cap = cap;
	}
	memcpy(g->p + g->len, s, n);
	g->len += n;
	g->p[g->len] = '\0';
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	grow_add(ud, ptr, size * nmemb);
	return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct grow *g = ud;
	size_t n = size * nmemb;
	/* A new status line (after 100 Continue) starts a new header block. */
	if (n >= 5 && !strncmp(ptr, "HTTP/", 5)) {
		free(g->p);
		g->p = NULL;
		g->len = 0;
		return n;
	}
	if (n == 2 && ptr[0] == '\r')
		return n;
	grow_add(g, ptr, n);
	return n;
}

int emu_request(const struct emu *e, const struct http_req *q, struct http_resp *out)
{
	memset(out, 0, sizeof(*out));
	CURL *c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	char url[4096];
	snprintf(url, sizeof(url), "%s%s", e->base_url, q->path);
	struct grow body = {0}, hdr = {0};
	struct curl_slist *hl = NULL;
	if (!q->no_auth)
		hl = curl_slist_append(hl, "Authorization: Bearer x");
	for (size_t i = 0; q->headers && q->headers[i]; i++)
		hl = curl_slist_append(hl, q->headers[i]);
	const char *method = q->method;
	if (!method)
		method = (q->body || q->read) ? "POST" : "GET";

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (q->read) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, q->read);
		curl_easy_setopt(c, CURLOPT_READDATA, q->read_ctx);
		if (q->read_len >= 0)
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->read_len);
		if (strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		if (strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &out->seconds);
	if (rc != CURLE_OK)
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (!body.p)
		grow_add(&body, "", 0);
	if (!hdr.p)
		grow_add(&hdr, "", 0);
	out->body = body.p;
	out->body_len = body.len;
	out->headers = hdr.p;
	return rc == CURLE_OK ? 0 : -EIO;
}

int emu_do(const struct emu *e, const char *method, const char *path, struct http_resp *out)
{
	struct http_req q = {.method = method, .path = path};
	return emu_request(e, &q, out);
}

char *http_resp_header(const struct http_resp *r, const char *name)
{
	size_t nl = strlen(name);
	const char *p = r->headers;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return strndup(v, (size_t)(p + ll - v));
		}
		p = eol ? eol + 2 : p + ll;
	}
	return NULL;
}

cJSON *http_resp_json(const struct http_resp *r)
{
	return r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
}

char *emu_exec(const struct emu *e, const char *identifier, const char *code,
	       struct http_resp *resp)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "code", code);
	char *body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	char *eid = curl_easy_escape(NULL, identifier, 0);
	char path[1024];
	snprintf(path, sizeof(path), "/executions?api-version=2025-10-02-preview&identifier=%s",
		 eid);
	curl_free(eid);
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path, .headers = hdrs, .body = body, .body_len = strlen(body)};
	struct http_resp local;
	struct http_resp *r = resp ? resp : &local;
	int rc = emu_request(e, &q, r);
	cJSON_free(body);
	char *status = NULL;
	if (rc == 0) {
		cJSON *j = http_resp_json(r);
		cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
		if (cJSON_IsString(s))
			status = strdup(s->valuestring);
		cJSON_Delete(j);
	}
	if (!resp)
		http_resp_fini(&local);
	return status;
}

char *emu_multipart(size_t *len, size_t nparts, const char *const *names,
		    const char *const *filenames, const char *const *contents)
{
	struct grow g = {0};
	for (size_t i = 0; i < nparts; i++) {
		char head[1024];
		if (filenames[i])
			snprintf(
			    head, sizeof(head),
			    "--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
			    "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
			    EMU_BOUNDARY, names[i], filenames[i]);
		else
			snprintf(head, sizeof(head),
				 "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
				 EMU_BOUNDARY, names[i]);
		grow_add(&g, head, strlen(head));
		grow_add(&g, contents[i], strlen(contents[i]));
		grow_add(&g, "\r\n", 2);
	}
	char tail[128];
	snprintf(tail, sizeof(tail), "--%s--\r\n", EMU_BOUNDARY);
	grow_add(&g, tail, strlen(tail));
	*len = g.len;
	return g.p;
}

pid_t emu_spawn(const char *const *lead, const char *const *args, const char *out, const char *err)
{
	const char *bin = getenv("SESSIONPOOL_EMULATOR");
	if (!bin || !*bin)
		bin = EMULATOR_PATH;
	const char *argv[64] = {bin};
	size_t n = 1;
	for (size_t i = 0; lead && lead[i] && n < 63; i++)
		argv[n++] = lead[i];
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	setpgid(0, 0);
	int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		_exit(126);
	execv(bin, (char *const *)argv);
	_exit(127);
}
