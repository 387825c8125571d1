/* SPDX-License-Identifier: MIT */
/*
 * Recovery from faults (issue 7.6): the zygote killed with SIGKILL is reported by /healthz,
 * restarted, and new sessions work again (503 ServiceUnavailable with Retry-After meanwhile,
 * never 500); an existing session keeps its files and records, reports the crash once and works
 * on; os._exit() in a cell is the §8.7 crash answer, followed by correct answers; and an
 * emulator killed with SIGKILL leaves nothing behind once the next one starts on its data
 * directory, while a live emulator sharing that directory is not disturbed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NEW	    "api-version=2025-10-02-preview"
#define DEADLINE_MS 120000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POST executions (synchronous) with |code|; the response, any status. */
static struct http_resp post_code(const struct emu *e, const char *id, const char *code)
{
	char path[256];
	snprintf(path, sizeof(path), "/executions?" NEW "&identifier=%s", id);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "code", code);
	char *body = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct http_req q = {.path = path, .headers = h, .body = body, .body_len = strlen(body)};
	struct http_resp r;
	cr_assert_eq(emu_request(e, &q, &r), 0, "transport: %s", r.error);
	free(body);
	return r;
}

/* Runs |code| and asserts a 200 whose executionResult is the JSON text |want|. */
static void expect_result(const struct emu *e, const char *id, const char *code, const char *want)
{
	struct http_resp r = post_code(e, id, code);
	cr_assert_eq(r.status, 200, "%s → %ld %s", code, r.status, r.body);
	cJSON *j = http_resp_json(&r);
	cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "executionResult");
	char *got = v ? cJSON_PrintUnformatted(v) : NULL;
	cr_expect_str_eq(got ? got : "(none)", want, "%s → %s", code, r.body);
	free(got);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

/* Runs |code| and asserts the §8.7 crash answer: 200, Failed, InterpreterRestarted, and the
 * restart line in stderr naming |how|. */
static void expect_crash(const struct emu *e, const char *id, const char *code, const char *how)
{
	struct http_resp r = post_code(e, id, code);
	cr_assert_eq(r.status, 200, "%s → %ld %s", code, r.status, r.body);
	cJSON *j = http_resp_json(&r);
	cJSON *st = cJSON_GetObjectItem(j, "status");
	cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "error");
	cJSON *se = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "stderr");
	cr_expect(cJSON_IsString(st) && !strcmp(st->valuestring, "Failed"), "%s", r.body);
	cJSON *code_item = cJSON_GetObjectItem(err, "code");
	cr_expect(cJSON_IsString(code_item) &&
		      !strcmp(code_item->valuestring, "InterpreterRestarted"),
		  "%s", r.body);
	char want[256];
	snprintf(want, sizeof(want), "The Python interpreter exited unexpectedly (%s); it was",
		 how);
	cr_expect(cJSON_IsString(se) && strstr(se->valuestring, want), "%s", r.body);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

/* GET /healthz: its HTTP status, and the body's "status" and "zygoteRestarts". */
static long healthz(const struct emu *e, char *status, size_t n, int *restarts, char *last_exit,
		    size_t ln)
{
	struct http_resp r;
	cr_assert_eq(emu_do(e, "GET", "/healthz", &r), 0);
	cJSON *j = http_resp_json(&r);
	cr_assert(j, "healthz: %s", r.body);
	cJSON *s = cJSON_GetObjectItem(j, "status");
	cJSON *k = cJSON_GetObjectItem(j, "zygoteRestarts");
	cJSON *le = cJSON_GetObjectItem(j, "zygoteLastExit");
	snprintf(status, n, "%s", cJSON_IsString(s) ? s->valuestring : "?");
	*restarts = cJSON_IsNumber(k) ? k->valueint : -1;
	if (last_exit)
		snprintf(last_exit, ln, "%s", cJSON_IsString(le) ? le->valuestring : "");
	long code = r.status;
	if (code == 503) {
		char *ra = http_resp_header(&r, "Retry-After");
		cr_expect_str_eq(ra ? ra : "", "1");
		free(ra);
		cr_expect_str_eq(status, "unavailable");
		cJSON *zs = cJSON_GetObjectItem(j, "zygote");
		cr_expect(cJSON_IsString(zs) && !strcmp(zs->valuestring, "restarting"), "%s",
			  r.body);
	}
	cJSON_Delete(j);
	http_resp_fini(&r);
	return code;
}

/* The emulator's child process named sessionpool-zygote (comm is cut to 15 characters). */
static pid_t zygote_of(pid_t emu)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)emu);
	DIR *d = opendir(path);
	struct dirent *t;
	pid_t found = -1;
	while (d && found < 0 && (t = readdir(d))) {
		if (t->d_name[0] == '.')
			continue;
		char cp[320];
		snprintf(cp, sizeof(cp), "/proc/%d/task/%s/children", (int)emu, t->d_name);
		FILE *f = fopen(cp, "r");
		int c;
		while (f && found < 0 && fscanf(f, "%d", &c) == 1) {
			char comm[64] = "", cf[64];
			snprintf(cf, sizeof(cf), "/proc/%d/comm", c);
			FILE *g = fopen(cf, "r");
			if (g && fgets(comm, sizeof(comm), g) &&
			    !strncmp(comm, "sessionpool-zyg", 15))
				found = c;
			if (g)
				fclose(g);
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* Kills the zygote with SIGKILL and waits (bounded) until /healthz says it is down. */
static void kill_zygote_and_see_it_down(const struct emu *e)
{
	char st[32];
	int before, restarts;
	cr_assert_eq(healthz(e, st, sizeof(st), &before, NULL, 0), 200);
	pid_t z = zygote_of(e->pid);
	cr_assert_gt(z, 0, "no zygote process below the emulator");
	cr_assert_eq(kill(z, SIGKILL), 0);
	int64_t end = mono_ms() + DEADLINE_MS;
	while (healthz(e, st, sizeof(st), &restarts, NULL, 0) == 200 && restarts == before) {
		cr_assert_lt(mono_ms(), end, "/healthz never reported the zygote's death");
		usleep(2000);
	}
}

/* Waits (bounded) until /healthz is 200 "ok" after |want| restarts. */
static void wait_recovered(const struct emu *e, int want)
{
	char st[32], last[96];
	int restarts;
	int64_t end = mono_ms() + DEADLINE_MS;
	for (;;) {
		long code = healthz(e, st, sizeof(st), &restarts, last, sizeof(last));
		if (code == 200 && restarts >= want)
			break;
		cr_assert(code == 200 || code == 503, "/healthz answered %ld", code);
		cr_assert_lt(mono_ms(), end, "the zygote was not restarted");
		usleep(20000);
	}
	cr_expect_str_eq(st, "ok");
	cr_expect_eq(restarts, want);
	cr_expect_str_eq(last, "signal SIGKILL");
}

/*
 * A private copy of the zygote binary (in a new temporary directory, path in |out|), so the test
 * can hold a restart back by taking its execute bits away: the 503 window is then as long as
 * the test needs, not as long as a preload happens to take.
 */
static void private_zygote(char *out, size_t len)
{
	const char *emu = getenv("SESSIONPOOL_EMULATOR");
	char src[512];
	snprintf(src, sizeof(src), "%s", emu && *emu ? emu : EMULATOR_PATH);
	char *slash = strrchr(src, '/');
	cr_assert(slash);
	snprintf(slash + 1, sizeof(src) - (size_t)(slash + 1 - src), "sessionpool-zygote");
	char dir[] = "/tmp/sp-recovery-XXXXXX";
	cr_assert(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(out, len, "%s/sessionpool-zygote", dir);
	FILE *in = fopen(src, "rb"), *o = fopen(out, "wb");
	cr_assert(in && o, "copy %s: %s", src, strerror(errno));
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, o), n);
	fclose(in);
	cr_assert_eq(fclose(o), 0);
	cr_assert_eq(chmod(out, 0755), 0);
}

static void remove_private_zygote(const char *path)
{
	unlink(path);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}

Test(recovery, zygote_killed_is_reported_restarted_and_sessions_work, .timeout = 600)
{
	struct emu e;
	char zpath[600];
	private_zygote(zpath, sizeof(zpath));
	cr_assert_eq(emu_start(&e, (const char *[]){"--zygote", zpath, NULL}, 120), 0);
	char st[32], last[96];
	int restarts;
	cr_assert_eq(healthz(&e, st, sizeof(st), &restarts, last, sizeof(last)), 200);
	cr_expect_str_eq(st, "ok");
	cr_expect_eq(restarts, 0);
	cr_expect_str_eq(last, "");

	expect_result(&e, "old-1", "x = 41\nopen('/mnt/data/kept.txt', 'w').write('kept')", "4");
	struct http_resp r = post_code(&e, "old-1", "x + 1");
	cr_assert_eq(r.status, 200);
	char *op = http_resp_header(&r, "operation-id");
	cr_assert(op);
	http_resp_fini(&r);

	/* Restarts fail while the binary cannot be executed: a new session meanwhile is refused,
	 * with a retry hint, never a 500. */
	cr_assert_eq(chmod(zpath, 0644), 0);
	kill_zygote_and_see_it_down(&e);
	r = post_code(&e, "new-during", "1 + 1");
	cr_expect_eq(r.status, 503, "%s", r.body);
	char *ra = http_resp_header(&r, "Retry-After");
	char *code = http_resp_header(&r, "x-ms-error-code");
	cr_expect_str_eq(ra ? ra : "", "1");
	cr_expect_str_eq(code ? code : "", "ServiceUnavailable");
	cJSON *j = http_resp_json(&r);
	cJSON *ec = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
	cr_expect(cJSON_IsString(ec) && !strcmp(ec->valuestring, "ServiceUnavailable"), "%s",
		  r.body);
	cJSON_Delete(j);
	free(ra);
	free(code);
	http_resp_fini(&r);

	cr_assert_eq(chmod(zpath, 0755), 0);
	wait_recovered(&e, 1);
	/* New sessions work, including the ready ones made after the restart. */
	for (int i = 0; i < 6; i++) {
		char id[32];
		snprintf(id, sizeof(id), "new-after-%d", i);
		expect_result(&e, id, "6 * 7", "42");
	}
	/* The old session: its interpreter went with the zygote (the crash is reported once);
	 * its files and execution records stay, and it works on. */
	expect_crash(&e, "old-1", "x", "signal SIGKILL, the sandbox's zygote process died");
	expect_result(&e, "old-1", "open('/mnt/data/kept.txt').read()", "\"'kept'\"");
	expect_result(&e, "old-1", "y = 5\ny * 2", "10");
	char path[256];
	snprintf(path, sizeof(path), "/executions/%s?" NEW "&identifier=old-1", op);
	cr_assert_eq(emu_do(&e, "GET", path, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "\"executionResult\":42"), "%s", r.body);
	http_resp_fini(&r);
	free(op);

	/* A second death is handled the same way. */
	kill_zygote_and_see_it_down(&e);
	wait_recovered(&e, 2);
	expect_result(&e, "new-after-second", "2 ** 10", "1024");
	emu_stop(&e);
	remove_private_zygote(zpath);
}

Test(recovery, os_exit_is_a_crash_answer_then_the_session_works, .timeout = 600)
{
	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	expect_result(&e, "exit-1", "a = 1\na", "1");
	expect_crash(&e, "exit-1", "import os\nos._exit(1)", "exit status 1");
	for (int i = 0; i < 10; i++) {
		char code[64], want[16];
		snprintf(code, sizeof(code), "%d + %d", i, i);
		snprintf(want, sizeof(want), "%d", 2 * i);
		expect_result(&e, "exit-1", code, want);
	}
	/* The same after a restart of the zygote: the crash path needs the new zygote. */
	kill_zygote_and_see_it_down(&e);
	wait_recovered(&e, 1);
	expect_crash(&e, "exit-1", "1", "signal SIGKILL, the sandbox's zygote process died");
	expect_crash(&e, "exit-1", "import os\nos._exit(3)", "exit status 3");
	for (int i = 0; i < 10; i++) {
		char code[64], want[16];
		snprintf(code, sizeof(code), "%d * 3", i);
		snprintf(want, sizeof(want), "%d", 3 * i);
		expect_result(&e, "exit-1", code, want);
	}
	emu_stop(&e);
}

static size_t count_prefix(const char *dir, const char *prefix, char *first, size_t n)
{
	DIR *d = opendir(dir);
	size_t k = 0;
	struct dirent *x;
	while (d && (x = readdir(d))) {
		if (x->d_name[0] == '.' || strncmp(x->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (k++ == 0 && first)
			snprintf(first, n, "%s", x->d_name);
	}
	if (d)
		closedir(d);
	return k;
}

/* SIGKILL of the emulator itself, then a new start on the same data directory. */
static void kill_emulator(struct emu *e)
{
	cr_assert_eq(kill(e->pid, SIGKILL), 0);
	int st;
	cr_assert_eq(waitpid(e->pid, &st, 0), e->pid);
	e->pid = -1;
}

Test(recovery, emulator_sigkill_leaves_nothing_after_the_next_start, .timeout = 600)
{
	struct emu a, b;
	char slots[400], old_sbx[300] = "", new_sbx[300] = "";
	cr_assert_eq(emu_start(&a, (const char *[]){"--ready-sessions", "2", NULL}, 120), 0);
	expect_result(&a, "doomed-1", "open('/mnt/data/f', 'w').write('x')", "1");
	snprintf(slots, sizeof(slots), "%s/slots", a.data_dir);
	cr_assert_eq(count_prefix(a.data_dir, "sbx-", old_sbx, sizeof(old_sbx)), 1);
	kill_emulator(&a);
	/* What the dead one left. */
	cr_assert_gt(count_prefix(slots, "", NULL, 0), 0);
	cr_assert_eq(count_prefix(a.data_dir, old_sbx, NULL, 0), 1);

	const char *args[] = {"--data-dir", a.data_dir, "--ready-sessions", "0", NULL};
	cr_assert_eq(emu_start(&b, args, 120), 0);
	cr_expect_eq(count_prefix(a.data_dir, old_sbx, NULL, 0), 0, "%s is still there", old_sbx);
	cr_expect_eq(count_prefix(a.data_dir, "sbx-", new_sbx, sizeof(new_sbx)), 1);
	cr_expect_eq(count_prefix(slots, "", NULL, 0), 0, "stale slot directories are left");
	expect_result(&b, "fresh-1", "import os\nos.listdir('/mnt/data')", "[]");
	emu_stop(&b);
	/* The clean stop removes the whole directory. */
	struct stat sb;
	cr_expect(stat(a.data_dir, &sb) < 0 && errno == ENOENT, "%s is left", a.data_dir);
	emu_rm_tree(a.dir);
}

Test(recovery, a_live_emulator_on_the_same_data_dir_is_left_alone, .timeout = 600)
{
	struct emu a, live, b;
	char live_sbx[300] = "";
	cr_assert_eq(emu_start(&a, (const char *[]){"--ready-sessions", "1", NULL}, 120), 0);
	char sbx_a[300] = "";
	cr_assert_eq(count_prefix(a.data_dir, "sbx-", sbx_a, sizeof(sbx_a)), 1);
	const char *share[] = {"--data-dir", a.data_dir, "--ready-sessions", "1", NULL};
	cr_assert_eq(emu_start(&live, share, 120), 0);
	expect_result(&live, "live-1", "v = 7\nopen('/mnt/data/mine', 'w').write('mine')", "4");
	kill_emulator(&a);

	cr_assert_eq(emu_start(&b, share, 120), 0);
	/* The dead one's zygote directory went; the live one's stayed, and it works on. */
	cr_expect_eq(count_prefix(a.data_dir, sbx_a, NULL, 0), 0);
	cr_expect_eq(count_prefix(a.data_dir, "sbx-", live_sbx, sizeof(live_sbx)), 2);
	expect_result(&live, "live-1", "v + open('/mnt/data/mine').read().__len__()", "11");
	expect_result(&live, "live-2", "2 + 2", "4");
	expect_result(&b, "bbb-1", "3 + 3", "6");
	emu_stop(&b);
	emu_stop(&live);
	emu_rm_tree(a.dir);
}

/* Lines of /proc/PID/mountinfo containing |needle|. */
static int mountinfo_count(pid_t pid, const char *needle)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(path, "re");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/*
 * Issue 13: each session's /mnt/data is a tmpfs of its own (the quota), mounted by the
 * emulator. Those mounts stay out of the zygote's mount table, which every new session copies,
 * so that table does not grow with the live sessions, before and after a zygote restart; each
 * session still has its own tmpfs on /mnt/data, shared with the emulator's file API.
 */
Test(recovery, session_mounts_stay_out_of_the_zygote_mount_table, .timeout = 600)
{
	if (geteuid() != 0)
		cr_skip_test("sessions get their directory as a detached mount only as root");
	struct emu e;
	cr_assert_eq(emu_start(&e, NULL, 120), 0);
	pid_t z = zygote_of(e.pid);
	cr_assert_gt(z, 0);
	int before = mountinfo_count(z, "");
	enum { N = 12 };
	for (int i = 0; i < N; i++) {
		char id[32], code[160];
		snprintf(id, sizeof(id), "mounts-%02d", i);
		snprintf(code, sizeof(code), "open('/mnt/data/own.txt', 'w').write('%s')", id);
		expect_result(&e, id, code, "9");
	}
	/* The premise: the emulator holds a quota tmpfs per session... */
	cr_assert_geq(mountinfo_count(e.pid, "sessionpool-data"), N);
	/* ...and the zygote none of them, nor more mounts than before. */
	cr_expect_eq(mountinfo_count(z, "sessionpool-data"), 0);
	cr_expect_eq(mountinfo_count(z, ""), before, "the zygote's mount table grew");
	/* Each session sees its own tmpfs on /mnt/data, and only its own file. */
	expect_result(&e, "mounts-03",
		      "[l.split()[4] + ' ' + l.split(' - ')[1].split()[1] "
		      "for l in open('/proc/self/mountinfo') if l.split()[4] == '/mnt/data']",
		      "\"['/mnt/data sessionpool-data']\"");
	expect_result(&e, "mounts-07",
		      "import os\n(os.listdir('/mnt/data'), open('/mnt/data/own.txt').read())",
		      "\"(['own.txt'], 'mounts-07')\"");
	struct http_resp r;
	cr_assert_eq(emu_do(&e, "GET", "/files?" NEW "&identifier=mounts-05", &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(strstr(r.body, "own.txt"), "%s", r.body);
	http_resp_fini(&r);

	/* A restarted zygote drops them too; the sessions keep their files. */
	kill_zygote_and_see_it_down(&e);
	wait_recovered(&e, 1);
	z = zygote_of(e.pid);
	cr_assert_gt(z, 0);
	cr_expect_eq(mountinfo_count(z, "sessionpool-data"), 0);
	expect_crash(&e, "mounts-09", "1", "signal SIGKILL, the sandbox's zygote process died");
	expect_result(&e, "mounts-09", "open('/mnt/data/own.txt').read()", "\"'mounts-09'\"");
	emu_stop(&e);
}
