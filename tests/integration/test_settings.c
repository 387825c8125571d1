/* SPDX-License-Identifier: MIT */
/*
 * Behaviour that depends on settings, each test with its own emulator: expiry with a short
 * cooldown (the reaper really removes the session and its files), capacity, paging of both
 * list routes, strict authentication, the deny-role switch, the JSON body limit, lenient
 * api-versions, public base URL, HTTPS, the /mnt/data quota, and a clean shutdown (no process or
 * file left).
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NEW "api-version=2025-10-02-preview"

static void start(struct emu *e, const char *const *args)
{
	cr_assert_eq(emu_start(e, args, 120), 0, "emulator did not start");
}

static long status_of(const struct emu *e, const char *method, const char *path)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, method, path, &r), 0);
	long s = r.status;
	http_resp_fini(&r);
	return s;
}

static long exec_status(const struct emu *e, const char *id, char **code_out)
{
	struct http_resp r;
	char path[256];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path, .headers = h, .body = "{\"code\":\"1\"}"};
	q.body_len = strlen(q.body);
	cr_assert_eq(emu_request(e, &q, &r), 0);
	long s = r.status;
	if (code_out)
		*code_out = http_resp_header(&r, "x-ms-error-code");
	http_resp_fini(&r);
	return s;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

Test(settings, expiry_removes_the_session_and_its_files, .timeout = 120)
{
	struct emu e;
	/* No ready interpreters: the only slot directory is the session's. */
	const char *args[] = {"--cooldown-seconds", "2", "--ready-sessions", "0", NULL};
	start(&e, args);
	char *code = NULL;
	cr_assert_eq(exec_status(&e, "expire-1", NULL), 200);
	char sessions[512];
	snprintf(sessions, sizeof(sessions), "%s/slots", e.data_dir);
	cr_expect_eq(count_entries(sessions), 1);
	cr_expect_eq(status_of(&e, "GET", "/session?" NEW "&identifier=expire-1"), 200);
	sleep(1);
	/* a non-data operation does not extend the lease */
	cr_expect_eq(status_of(&e, "GET", "/session?" NEW "&identifier=expire-1"), 200);
	sleep(3);
	cr_expect_eq(status_of(&e, "GET", "/session?" NEW "&identifier=expire-1"), 404);
	cr_expect_eq(count_entries(sessions), 0, "the reaper left the session directory");
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "GET", "/listSessions?" NEW, &r), 0);
	cr_expect_str_eq(r.body, "{\"sessions\":[],\"nextLink\":null}");
	http_resp_fini(&r);
	free(code);
	emu_stop(&e);
}

Test(settings, capacity, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--max-sessions", "2", NULL};
	start(&e, args);
	char *code = NULL;
	cr_expect_eq(exec_status(&e, "cap-1", NULL), 200);
	cr_expect_eq(exec_status(&e, "cap-2", NULL), 200);
	cr_expect_eq(exec_status(&e, "cap-3", &code), 404);
	cr_expect_str_eq(code, "SessionPoolCapacityExceeded");
	free(code);
	/* nothing was created, and existing sessions still work */
	cr_expect_eq(status_of(&e, "GET", "/session?" NEW "&identifier=cap-3"), 404);
	cr_expect_eq(exec_status(&e, "cap-1", NULL), 200);
	cr_expect_eq(status_of(&e, "DELETE", "/session?" NEW "&identifier=cap-2"), 204);
	cr_expect_eq(exec_status(&e, "cap-3", NULL), 200);
	emu_stop(&e);
}

Test(settings, paging_of_both_lists, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--list-page-size", "2", "--public-base-url",
			      "https://pool.example/x/", NULL};
	start(&e, args);
	const char *ids[] = {"page-a", "page-b", "page-c", "page-d", "page-e"};
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(exec_status(&e, ids[i], NULL), 200);
	struct http_resp r;
	char path[512] = "/listSessions?" NEW;
	size_t seen = 0;
	for (int page = 0; page < 4; page++) {
		cr_assert_eq(emu_do(&e, "GET", path, &r), 0);
		cJSON *j = http_resp_json(&r);
		http_resp_fini(&r);
		cJSON *s;
		cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "sessions"))
		{
			cr_expect_str_eq(cJSON_GetObjectItem(s, "identifier")->valuestring,
					 ids[seen]);
			seen++;
		}
		cJSON *next = cJSON_GetObjectItem(j, "nextLink");
		if (cJSON_IsNull(next)) {
			cJSON_Delete(j);
			break;
		}
		const char *prefix = "https://pool.example/x";
		cr_assert(!strncmp(next->valuestring, prefix, strlen(prefix)), "%s",
			  next->valuestring);
		snprintf(path, sizeof(path), "%s", next->valuestring + strlen(prefix));
		cJSON_Delete(j);
	}
	cr_expect_eq(seen, 5);
	cr_assert_eq(emu_do(&e, "POST",
			    "/subscriptions/s/resourceGroups/r/sessionPools/p/.management/"
			    "listSessions?skip=2",
			    &r),
		     0);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	cr_expect_eq(cJSON_GetObjectItem(j, "count")->valueint, 2);
	cr_expect_str_eq(cJSON_GetObjectItem(j, "nextLink")->valuestring,
			 "https://pool.example/x/subscriptions/s/resourceGroups/r/sessionPools/p/"
			 ".management/listSessions?skip=4");
	cJSON_Delete(j);
	cr_assert_eq(emu_do(&e, "GET", "/.management/listSessions?skip=99&" NEW, &r), 0);
	cr_expect_str_eq(r.body, "{\"value\":[],\"count\":0,\"nextLink\":null}");
	http_resp_fini(&r);
	emu_stop(&e);
}

/* |got|'s members in the contract's order of GET session (§6.8) or, |view|, SessionView (§7.1). */
static cJSON *session_form(const cJSON *got, bool view)
{
	static const char *const plain[] = {"identifier", "expireAt", "createdAt", "lastAccessedAt",
					    "etag"};
	static const char *const viewed[] = {"identifier", "etag", "expiresAt", "createdAt",
					     "lastAccessedAt"};
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < 5; i++) {
		const char *key = view ? viewed[i] : plain[i];
		const char *from = strcmp(key, "expiresAt") ? key : "expireAt";
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(got, from));
		cr_assert(v, "no %s", from);
		cJSON_AddStringToObject(o, key, v);
	}
	return o;
}

/* The body cJSON_PrintUnformatted gives for a list page of |sessions|[from, to). */
static char *list_form(cJSON *const *sessions, size_t from, size_t to, bool view, const char *next)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(root, view ? "value" : "sessions");
	for (size_t i = from; i < to; i++)
		cJSON_AddItemToArray(arr, session_form(sessions[i], view));
	if (view)
		cJSON_AddNumberToObject(root, "count", (double)(to - from));
	if (next)
		cJSON_AddStringToObject(root, "nextLink", next);
	else
		cJSON_AddNullToObject(root, "nextLink");
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/* A Host that must be escaped in nextLink (http_public_base takes a Host with '"'). */
#define ODD_HOST "ex\"ample:80"

static char *body_of(const struct emu *e, const char *method, const char *path)
{
	static const char *const h[] = {"Host: " ODD_HOST, NULL};
	struct http_req q = {.method = method, .path = path, .headers = h};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s: %s", path, r.error);
	cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
	char *ct = http_resp_header(&r, "Content-Type");
	cr_expect_str_eq(ct, "application/json");
	free(ct);
	char *b = strdup(r.body);
	http_resp_fini(&r);
	return b;
}

/*
 * The session forms and both list pages MUST be exactly the bytes cJSON_PrintUnformatted gives
 * for their members in the contract's order: identifiers with specials of §3 (a '"' escaped),
 * nextLink with an escaped Host, count, null, no space anywhere.
 */
static struct emu pages_emu;

static void pages_start(void)
{
	static const char *const args[] = {"--list-page-size", "2", NULL};
	start(&pages_emu, args);
}

/* Also after a failed assertion: no emulator left behind. */
static void pages_stop(void)
{
	emu_stop(&pages_emu);
}

Test(settings, session_and_list_bodies_are_exact, .init = pages_start, .fini = pages_stop,
     .timeout = 120)
{
	struct emu e = pages_emu;
	const char *enc[] = {"list%22q%3A01", "list%2Fa%2Bb", "list%3C%26%3E'x%7B%7D"};
	cJSON *got[3];
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(exec_status(&e, enc[i], NULL), 200);
		char path[256];
		snprintf(path, sizeof(path), "/session?" NEW "&identifier=%s", enc[i]);
		char *b = body_of(&e, "GET", path);
		got[i] = cJSON_Parse(b);
		cr_assert(got[i], "%s", b);
		cJSON *want = session_form(got[i], false);
		char *w = cJSON_PrintUnformatted(want);
		cr_expect_str_eq(b, w, "GET session\n got  %s\n want %s", b, w);
		free(w);
		free(b);
		cJSON_Delete(want);
		snprintf(path, sizeof(path), "/.management/getSession?" NEW "&identifier=%s",
			 enc[i]);
		b = body_of(&e, "POST", path);
		want = session_form(got[i], true);
		w = cJSON_PrintUnformatted(want);
		cr_expect_str_eq(b, w, "getSession\n got  %s\n want %s", b, w);
		free(w);
		free(b);
		cJSON_Delete(want);
	}
	cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(got[0], "identifier")),
			 "list\"q:01");
	struct {
		const char *method, *path;
		size_t from, to;
		bool view;
		const char *next;
	} pages[] = {
	    {"GET", "/listSessions?" NEW, 0, 2, false,
	     "http://" ODD_HOST "/listSessions?" NEW "&skip=2"},
	    {"GET", "/listSessions?" NEW "&skip=2", 2, 3, false, NULL},
	    {"POST", "/subscriptions/s/resourceGroups/r/sessionPools/p/.management/listSessions", 0,
	     2, true,
	     "http://" ODD_HOST "/subscriptions/s/resourceGroups/r/sessionPools/p/.management/"
	     "listSessions?skip=2"},
	    {"GET", "/.management/listSessions?skip=1&api-version=2025-02-02-preview", 1, 3, true,
	     NULL},
	    {"POST", "/.management/listSessions?api-version=2025-02-02-preview", 0, 2, true,
	     "http://" ODD_HOST "/.management/listSessions?skip=2&api-version=2025-02-02-preview"},
	};
	for (size_t i = 0; i < sizeof(pages) / sizeof(*pages); i++) {
		char *b = body_of(&e, pages[i].method, pages[i].path);
		char *w = list_form(got, pages[i].from, pages[i].to, pages[i].view, pages[i].next);
		cr_expect_str_eq(b, w, "%s\n got  %s\n want %s", pages[i].path, b, w);
		free(w);
		free(b);
	}
	char *b = body_of(&e, "GET", "/listSessions?" NEW);
	cr_expect(strstr(b, "{\"identifier\":\"list\\\"q:01\",\"expireAt\":\""), "%s", b);
	cr_expect(strstr(b, ",\"nextLink\":\"http://ex\\\"ample:80/listSessions?"), "%s", b);
	free(b);
	for (size_t i = 0; i < 3; i++)
		cJSON_Delete(got[i]);
}

Test(settings, strict_auth_and_deny_role, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--auth-mode", "strict", "--static-token", "letmein", NULL};
	start(&e, args);
	struct http_resp r;
	struct http_req q = {.path = "/metadata?" NEW}; /* harness sends "Bearer x" */
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 401);
	http_resp_fini(&r);
	const char *good[] = {"Authorization: Bearer letmein", NULL};
	q.headers = good;
	q.no_auth = true;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	/* an unsigned JWT with the right audience and a future exp */
	char tok[512];
	/* {"alg":"none"} . {"aud":"https://dynamicsessions.io","exp":4102444800} */
	snprintf(tok, sizeof(tok), "Authorization: Bearer %s.%s.", "eyJhbGciOiJub25lIn0",
		 "eyJhdWQiOiJodHRwczovL2R5bmFtaWNzZXNzaW9ucy5pbyIsImV4cCI6NDEwMjQ0NDgwMH0");
	const char *jwt[] = {tok, NULL};
	q.headers = jwt;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	http_resp_fini(&r);
	emu_stop(&e);

	const char *deny[] = {"--deny-role", NULL};
	start(&e, deny);
	cr_assert_eq(emu_do(&e, "GET", "/metadata?" NEW, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect(strstr(r.body, "\"code\":\"PermissionDenied\""));
	http_resp_fini(&r);
	q = (struct http_req){.path = "/metadata?" NEW, .no_auth = true};
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 401, "authentication comes before the deny-role switch");
	http_resp_fini(&r);
	emu_stop(&e);
}

Test(settings, json_limit_lenient_versions_and_timeout_clamp, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--json-body-max-bytes",
			      "100",
			      "--api-version-mode",
			      "lenient",
			      "--exec-timeout-max-s",
			      "1",
			      "--interrupt-grace-s",
			      "1",
			      NULL};
	start(&e, args);
	const char *h[] = {"Content-Type: application/json", NULL};
	char body[256];
	snprintf(body, sizeof(body), "{\"code\":\"%0120d\"}", 1);
	struct http_req q = {.path = "/executions?" NEW "&identifier=limit-1",
			     .headers = h,
			     .body = body,
			     .body_len = strlen(body)};
	struct http_resp r;
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 413);
	cr_expect(strstr(r.body, "PayloadTooLarge"));
	http_resp_fini(&r);
	q.path = "/executions?api-version=2099-01-01&identifier=limit-1";
	q.body = "{\"code\":\"while True: pass\",\"timeoutInSeconds\":100}";
	q.body_len = strlen(q.body);
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "Execution timed out after 1 seconds."), "%s", r.body);
	http_resp_fini(&r);
	emu_stop(&e);
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	struct http_resp *r = u;
	size_t len = s * n;
	r->body = realloc(r->body, r->body_len + len + 1);
	memcpy(r->body + r->body_len, p, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

Test(settings, https_with_a_self_signed_certificate, .timeout = 120)
{
	char dir[] = "/tmp/sp-tls-XXXXXX";
	cr_assert(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
		 "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s/key.pem "
		 "-out %s/cert.pem >/dev/null 2>&1",
		 dir, dir);
	cr_assert_eq(system(cmd), 0, "openssl failed");
	char cert[300], key[300];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	struct emu e;
	const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
	start(&e, args);
	cr_assert(!strncmp(e.base_url, "https://", 8), "%s", e.base_url);
	CURL *c = curl_easy_init();
	char url[512];
	snprintf(url, sizeof(url), "%s/executions?" NEW "&identifier=tls-1", e.base_url);
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer x");
	struct http_resp r = {0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"code\":\"6*7\"}");
	curl_easy_setopt(c, CURLOPT_CAINFO, cert);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	cr_assert_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "\"executionResult\":42"), "%s", r.body);
	free(r.body);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	/* plain HTTP to the TLS port does not get an API answer */
	struct http_resp pr;
	struct emu e2 = e;
	snprintf(e2.base_url, sizeof(e2.base_url), "http://%.240s", e.base_url + 8);
	emu_do(&e2, "GET", "/metadata?" NEW, &pr);
	cr_expect_neq(pr.status, 200);
	http_resp_fini(&pr);
	emu_stop(&e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* Every pid below |root| in the process tree (children files). */
static size_t descendants(pid_t root, pid_t *out, size_t max)
{
	size_t n = 0, i = 0;
	out[n++] = root;
	while (i < n && n < max) {
		char path[128];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", out[i], out[i]);
		FILE *f = fopen(path, "r");
		i++;
		if (!f)
			continue;
		int p;
		while (n < max && fscanf(f, "%d", &p) == 1)
			out[n++] = p;
		fclose(f);
	}
	return n;
}

Test(settings, shutdown_leaves_no_process_and_no_file, .timeout = 120)
{
	struct emu e;
	start(&e, NULL);
	cr_assert_eq(exec_status(&e, "down-1", NULL), 200);
	cr_assert_eq(exec_status(&e, "down-2", NULL), 200);
	struct http_resp r;
	const char *h[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = "/executions?" NEW "&identifier=down-1",
			     .headers = h,
			     .body = "{\"code\":\"import subprocess; subprocess.Popen(['sleep', "
				     "'300'])\"}"};
	q.body_len = strlen(q.body);
	cr_assert_eq(emu_request(&e, &q, &r), 0);
	http_resp_fini(&r);
	pid_t pids[256];
	size_t n = descendants(e.pid, pids, 256);
	cr_expect_geq(n, 4, "emulator, zygote and sessions expected, got %zu", n);
	char data[300];
	snprintf(data, sizeof(data), "%s", e.data_dir);
	/* Stop it by hand: emu_stop() would SIGKILL the process group and hide leftovers. */
	cr_assert_eq(kill(e.pid, SIGTERM), 0);
	int st = 0;
	cr_assert_eq(waitpid(e.pid, &st, 0), e.pid);
	e.pid = -1;
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	for (size_t i = 1; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d", pids[i]);
		struct stat sb;
		cr_expect(stat(path, &sb) < 0 && errno == ENOENT, "pid %d is still alive", pids[i]);
	}
	struct stat sb;
	cr_expect(stat(data, &sb) < 0, "%s still exists", data);
	emu_stop(&e);
}

/* The "executionResult" (as compact JSON text) and stdout of one new-shape cell. */
static void cell(const struct emu *e, const char *id, const char *code, char **value, char **out)
{
	struct http_resp r;
	char *status = emu_exec(e, id, code, &r);
	cr_assert_not_null(status, "%s", r.body);
	cr_expect_str_eq(status, "Succeeded", "%s", r.body);
	free(status);
	cJSON *j = http_resp_json(&r);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(res, "executionResult");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(res, "stdout");
	*value = v ? cJSON_PrintUnformatted(v) : strdup("(none)");
	if (out)
		*out = strdup(cJSON_IsString(o) ? o->valuestring : "");
	cJSON_Delete(j);
	http_resp_fini(&r);
}

static long upload_bytes(const struct emu *e, const char *id, const char *name, size_t size,
			 char **body)
{
	char *content = malloc(size + 1);
	cr_assert_not_null(content);
	memset(content, 'q', size);
	content[size] = '\0';
	const char *names[] = {"file"}, *fns[] = {name}, *cs[] = {content};
	size_t len;
	char *mp = emu_multipart(&len, 1, names, fns, cs);
	free(content);
	char path[256];
	snprintf(path, sizeof(path), "/files?" NEW "&identifier=%s", id);
	const char *h[] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY, NULL};
	struct http_req q = {.path = path, .headers = h, .body = mp, .body_len = len};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "%s", r.error);
	free(mp);
	long status = r.status;
	if (body)
		*body = strdup(r.body ? r.body : "");
	http_resp_fini(&r);
	return status;
}

Test(settings, disk_quota_is_enforced_in_sessions_and_on_upload, .timeout = 120)
{
	struct emu e;
	const char *args[] = {"--session-disk-mb", "32", NULL};
	start(&e, args);
	char *value, *out, *body;
	char log[512];
	snprintf(log, sizeof(log), "%s/emulator.log", e.dir);
	FILE *f = fopen(log, "re");
	char line[512];
	bool off = false;
	while (f && fgets(line, sizeof(line), f))
		off |= strstr(line, "/mnt/data quota: off") != NULL;
	if (f)
		fclose(f);
	if (off) {
		emu_stop(&e);
		cr_skip_test("no /mnt/data quota on this machine (see the emulator's log)");
	}

	cr_expect_eq(upload_bytes(&e, "quota-1", "kept.bin", 1000, NULL), 200);
	cell(&e, "quota-1", "open('/mnt/data/kept.txt', 'w').write('before')", &value, NULL);
	free(value);
	/* Past 32 MiB: ENOSPC inside the session, which keeps running. */
	cell(&e, "quota-1",
	     "import errno\nbig = open('/mnt/data/big.bin', 'wb')\ntry:\n"
	     "    for i in range(64):\n        big.write(b'x' * (1 << 20))\n        big.flush()\n"
	     "except OSError as err:\n    print(errno.errorcode[err.errno])\n"
	     "big = None\nimport os\nos.path.getsize('/mnt/data/big.bin') >> 20",
	     &value, &out);
	cr_expect_str_eq(out, "ENOSPC\n");
	cr_expect(!strcmp(value, "31") || !strcmp(value, "32"), "big.bin: %s MiB", value);
	free(value);
	free(out);
	cell(&e, "quota-1",
	     "(open('/mnt/data/kept.txt').read(), os.path.getsize('/mnt/data/kept.bin'))", &value,
	     NULL);
	cr_expect_str_eq(value, "\"('before', 1000)\"");
	free(value);

	/* An upload that does not fit: 413 naming the quota; what was there stays. */
	cell(&e, "quota-1", "os.remove('/mnt/data/big.bin')", &value, NULL);
	free(value);
	cr_expect_eq(upload_bytes(&e, "quota-1", "huge.bin", (size_t)40 << 20, &body), 413);
	cr_expect(strstr(body, "PayloadTooLarge") && strstr(body, "quota of 32 MiB"), "%s", body);
	free(body);
	cell(&e, "quota-1", "sorted(os.listdir('/mnt/data'))", &value, NULL);
	cr_expect_str_eq(value, "\"['kept.bin', 'kept.txt']\"");
	free(value);
	char *small = NULL;
	long st = upload_bytes(&e, "quota-1", "small.bin", (size_t)1 << 20, &small);
	cr_expect_eq(st, 200, "%ld %s", st, small ? small : "");
	free(small);
	/* Another session has a quota of its own. */
	cr_expect_eq(upload_bytes(&e, "quota-2", "other.bin", (size_t)30 << 20, NULL), 200);
	emu_stop(&e);
}

static char *session_ids(const struct emu *e, const char *id)
{
	struct http_resp r;
	char *status = emu_exec(e, id, "import os; os.getuid(), os.getgid()", &r);
	cr_assert(status && !strcmp(status, "Succeeded"), "%s", r.body);
	free(status);
	cJSON *j = http_resp_json(&r);
	http_resp_fini(&r);
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult");
	char *out = strdup(cJSON_IsString(v) ? v->valuestring : "?");
	cJSON_Delete(j);
	return out;
}

Test(settings, two_emulators_never_share_session_uids, .timeout = 120)
{
	if (geteuid() != 0)
		cr_skip_test("only root emulators run sessions under host uids");
	struct emu a, b;
	start(&a, NULL);
	start(&b, NULL);
	char *ua = session_ids(&a, "uids-1");
	char *ub = session_ids(&b, "uids-1");
	cr_expect_str_neq(ua, ub, "both emulators ran their session as %s", ua);
	cr_expect(strncmp(ua, "(0,", 3) && strncmp(ub, "(0,", 3), "a session ran as root");
	free(ua);
	free(ub);
	emu_stop(&b);
	emu_stop(&a);
}
