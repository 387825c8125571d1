/* SPDX-License-Identifier: MIT */
/*
 * Starvation (issue 7, part 4): connections that hold a worker without doing anything, and
 * executions queued without end, must not keep other clients waiting or grow the thread count.
 *
 *   - 1000 idle keep-alive connections (each made one request) and 100 slowloris connections
 *     (headers never finished) are open: a new client's GET /healthz and a warm execute are
 *     answered within 1 s;
 *   - 300 asynchronous executions queued on one session: the emulator's thread count stays
 *     within its configured workers plus a handful, and every queued execution still runs in
 *     order.
 *
 * Loopback only, bounded: every loop has a fixed count and every wait a deadline.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/resource.h>

#include "rawhttp.h"

#define NEW "api-version=2025-02-02-preview"

static size_t thread_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static double timed_exec(const struct emu *e, const char *ident)
{
	struct http_resp r;
	double t0 = raw_now();
	char *st = emu_exec(e, ident, "6*7", &r);
	double dt = raw_now() - t0;
	cr_assert_str_eq(st ? st : "(none)", "Succeeded", "%s %s", r.error, r.body ? r.body : "");
	free(st);
	http_resp_fini(&r);
	return dt;
}

Test(flood, idle_and_slowloris_connections_do_not_starve_a_new_client, .timeout = 300)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 1300 && rl.rlim_max >= 1300) {
		rl.rlim_cur = 1300;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	cr_assert(rl.rlim_cur >= 1300, "need 1300 descriptors (ulimit -n)");

	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	timed_exec(&e, "flood-warm"); /* the session exists and is warm */

	enum { IDLE = 1000, SLOW = 100 };
	static int idle[IDLE], slow[SLOW];
	static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	for (int i = 0; i < IDLE; i++) {
		idle[i] = raw_connect(&e);
		cr_assert(idle[i] >= 0, "connect %d: %s", i, strerror(errno));
		cr_assert(raw_send(idle[i], get, sizeof(get) - 1));
		struct pollfd p = {.fd = idle[i], .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 10000), 1, "idle connection %d got no answer in 10 s", i);
		char buf[4096];
		cr_assert(recv(idle[i], buf, sizeof(buf), 0) > 0, "connection %d", i);
	}
	static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	for (int i = 0; i < SLOW; i++) {
		slow[i] = raw_connect(&e);
		cr_assert(slow[i] >= 0);
		cr_assert(raw_send(slow[i], partial, sizeof(partial) - 1));
	}

	struct http_resp r;
	double t0 = raw_now();
	cr_assert_eq(emu_do(&e, "GET", "/healthz", &r), 0, "%s", r.error);
	double healthz_s = raw_now() - t0;
	cr_expect_eq(r.status, 200);
	/* The health check shows what happened: idle connections were closed to make room, and
	 * no more connections are open than there are workers (max-sessions + 64). */
	cJSON *h = http_resp_json(&r);
	cJSON *conns = cJSON_GetObjectItem(h, "connections");
	cJSON *evicted = cJSON_GetObjectItem(conns, "closedToFreeWorkers");
	cJSON *open = cJSON_GetObjectItem(conns, "open");
	cr_expect(cJSON_IsNumber(evicted) && evicted->valuedouble >= IDLE - 164, "%s", r.body);
	cr_expect(cJSON_IsNumber(open) && open->valuedouble <= 164 + 24, "%s", r.body);
	cJSON_Delete(h);
	http_resp_fini(&r);
	double exec_s = timed_exec(&e, "flood-warm");
	cr_expect(healthz_s < 1.0, "GET /healthz took %.3f s", healthz_s);
	cr_expect(exec_s < 1.0, "a warm execute took %.3f s", exec_s);

	/* The slowloris clients keep dribbling: still no starvation. */
	for (int i = 0; i < SLOW; i++)
		raw_send(slow[i], "a", 1);
	t0 = raw_now();
	cr_assert_eq(emu_do(&e, "GET", "/healthz", &r), 0, "%s", r.error);
	healthz_s = raw_now() - t0;
	http_resp_fini(&r);
	cr_expect(healthz_s < 1.0, "GET /healthz took %.3f s the second time", healthz_s);

	for (int i = 0; i < IDLE; i++)
		close(idle[i]);
	for (int i = 0; i < SLOW; i++)
		close(slow[i]);
	emu_stop(&e);
}

static char *post_async(const struct emu *e, const char *ident, const char *code)
{
	char path[160], body[256];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", ident);
	snprintf(body, sizeof(body), "{\"code\":\"%s\",\"executionType\":\"Asynchronous\"}", code);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path, .headers = h, .body = body, .body_len = strlen(body)};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s", r.error);
	cr_assert_eq(r.status, 202, "%ld %s", r.status, r.body);
	cJSON *j = http_resp_json(&r);
	cJSON *id = cJSON_GetObjectItem(j, "id");
	cr_assert(cJSON_IsString(id));
	char *out = strdup(id->valuestring);
	cJSON_Delete(j);
	http_resp_fini(&r);
	return out;
}

Test(flood, queued_async_executions_do_not_each_hold_a_thread, .timeout = 300)
{
	struct emu e;
	const char *args[] = {"--threads", "32", "--execution-records-per-session", "1000", NULL};
	cr_assert_eq(emu_start(&e, args, 120), 0);
	enum { QUEUED = 300 };
	/* The first cell blocks the queue until we release it by creating a file. */
	char *first = post_async(&e, "async-flood",
				 "import os, time\\n"
				 "for _ in range(600):\\n"
				 "    if os.path.exists('/mnt/data/go'): break\\n"
				 "    time.sleep(0.05)\\n"
				 "0");
	static char *ids[QUEUED];
	for (int i = 0; i < QUEUED; i++) {
		char code[32];
		snprintf(code, sizeof(code), "%d*7", i);
		ids[i] = post_async(&e, "async-flood", code);
	}
	size_t threads = thread_count(e.pid);
	cr_expect(threads > 0 && threads <= 32 + 24,
		  "%zu threads with %d executions queued (32 workers)", threads, QUEUED);

	/* Release the queue: every execution runs, in order, with its own answer. */
	char path[512];
	struct http_resp r;
	const char *h[] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY, NULL};
	const char *names[] = {"file"}, *files[] = {"go"}, *contents[] = {"1"};
	size_t blen;
	char *body = emu_multipart(&blen, 1, names, files, contents);
	struct http_req up = {.path = "/files?" NEW "&identifier=async-flood",
			      .headers = h,
			      .body = body,
			      .body_len = blen};
	cr_assert_eq(emu_request(&e, &up, &r), 0);
	cr_assert(r.status == 200 || r.status == 201, "upload: %ld %s", r.status, r.body);
	http_resp_fini(&r);
	free(body);

	double deadline = raw_now() + 120;
	for (int i = 0; i < QUEUED; i++) {
		snprintf(path, sizeof(path), "/executions/%s?" NEW "&identifier=async-flood",
			 ids[i]);
		for (;;) {
			cr_assert_eq(emu_do(&e, "GET", path, &r), 0);
			cr_assert_eq(r.status, 200, "%s: %ld", ids[i], r.status);
			bool running = strstr(r.body, "\"status\":\"Running\"") != NULL;
			if (!running) {
				char want[64];
				snprintf(want, sizeof(want), "\"executionResult\":%d", i * 7);
				cr_expect(strstr(r.body, want), "execution %d: %s", i, r.body);
				http_resp_fini(&r);
				break;
			}
			http_resp_fini(&r);
			cr_assert(raw_now() < deadline, "execution %d still running", i);
			usleep(20000);
		}
		free(ids[i]);
	}
	free(first);
	emu_stop(&e);
}
