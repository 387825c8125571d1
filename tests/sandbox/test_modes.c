/* SPDX-License-Identifier: MIT */
/*
 * test_modes.c: the isolation modes other than "full as root": full isolation as an ordinary
 * user (user namespaces), forced degraded mode, and AUTO falling back to degraded under a
 * Docker-like seccomp profile (sbx-dockerlike). Degraded mode links /mnt/data on the host: the
 * degraded tests take a lock and remove that link again if they created it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(modes, .fini = t_cleanup, .timeout = 120);

/* Runs one cell in |s| and compares its TEXT/JSON value; 0 when equal, else prints and 1. */
static int check(struct sbx_session *s, const char *code, const char *want)
{
	struct sbx_exec_request req = {code, strlen(code), 20000, 2000, 4096};
	struct sbx_exec_result r;
	struct sp_err err = {0};
	if (sbx_session_exec(s, &req, &r, &err) < 0) {
		fprintf(stderr, "[%s] exec: %s\n", code, err.msg);
		return 1;
	}
	const char *got = r.outcome == SBX_OUTCOME_EXCEPTION ? r.error_message : r.value;
	int bad = strcmp(got ? got : "(NULL)", want) != 0;
	if (bad)
		fprintf(stderr, "[%s] got %s (%s), want %s\n", code, got ? got : "(NULL)",
			r.stderr_text, want);
	sbx_exec_result_fini(&r);
	return bad;
}

/* As an ordinary user (nobody), in a child process: the user-namespace path of full mode. */
static int unprivileged_child(const char *state, const char *host, void *arg)
{
	(void)arg;
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sbx_session *s = NULL;
	struct sp_err err = {0};
	int bad = 0;
	char want[64];

	sbx_options_init(&opt);
	opt.zygote_path = t_zygote_path();
	opt.state_dir = state;
	opt.isolation = SBX_ISOLATION_FULL;
	if (sbx_zygote_start(&opt, &z, &err) < 0) {
		fprintf(stderr, "unprivileged start: %s\n", err.msg);
		return 10;
	}
	if (sbx_zygote_slot_uid(z, 1) != (uid_t)-1)
		bad++;
	if (sbx_session_spawn(z, host, 1, &s, &err) < 0) {
		fprintf(stderr, "unprivileged spawn: %s\n", err.msg);
		sbx_zygote_stop(z);
		return 11;
	}
	snprintf(want, sizeof(want), "(%u, 1, '/mnt/data')", (unsigned)getuid());
	bad += check(s, "import os\n(os.getuid(), os.getpid(), os.getcwd())", want);
	bad += check(s, "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())", "[1]");
	bad += check(s, "open('made.txt', 'w').write('x')", "1");
	bad += check(s, "import socket\nsocket.socket()",
		     "PermissionError: [Errno 13] Permission denied");
	bad +=
	    check(s, "open('/usr/x', 'w')", "OSError: [Errno 30] Read-only file system: '/usr/x'");
	bad += check(s,
		     "[l.split()[1] for l in open('/proc/self/status') "
		     "if l.startswith(('CapEff', 'Seccomp:'))]",
		     "['0000000000000000', '2']");
	/* kill(-1) reaches only the session's own namespace. */
	bad += check(s, "import os, signal\nos.kill(-1, signal.SIGKILL)",
		     "ProcessLookupError: [Errno 3] No such process");
	bad += check(s, "import resource\nresource.getrlimit(resource.RLIMIT_NPROC)", "(128, 128)");
	bad +=
	    check(s, "import subprocess\n[subprocess.run(['true']).returncode for _ in range(3)]",
		  "[0,0,0]");
	struct sbx_exec_request req = {"sum(range(10**12))", 18, 200, 200, 100};
	struct sbx_exec_result r;
	if (sbx_session_exec(s, &req, &r, &err) < 0 || r.outcome != SBX_OUTCOME_TIMEOUT_RESTARTED) {
		fprintf(stderr, "unprivileged restart failed: %s\n", err.msg);
		bad++;
	} else {
		sbx_exec_result_fini(&r);
	}
	bad += check(s, "open('made.txt').read()", "'x'");
	sbx_session_free(s);
	sbx_zygote_stop(z);
	return bad ? 20 + (bad > 9 ? 9 : bad) : 0;
}

/* The session user owns what the session wrote in its /mnt/data. */
static void made_by_nobody(const char *host, void *arg)
{
	struct stat sb;
	char made[160];
	snprintf(made, sizeof(made), "%s/made.txt", host);
	*(bool *)arg = stat(made, &sb) == 0 && sb.st_uid == 65534;
}

Test(modes, unprivileged_full)
{
	if (geteuid() != 0) {
		/* We are the ordinary user already. */
		cr_assert_eq(unprivileged_child(SBX_TEST_STATE_DIR, t_host_dir(NULL, 1), NULL), 0);
		return;
	}
	bool made_ok = false;
	int st = t_as_nobody("unpriv", unprivileged_child, &made_ok, made_by_nobody);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x (see stderr)", st);
	cr_expect(made_ok, "made.txt is missing or not owned by the session user");
}

Test(modes, degraded)
{
	if (geteuid() != 0)
		cr_skip_test("degraded mode needs root (per-session uids)");
	t_mnt_data_take();
	struct sbx_zygote *z = t_zygote(SBX_ISOLATION_DEGRADED);
	cr_expect_eq(sbx_zygote_isolation(z), SBX_ISOLATION_DEGRADED);
	cr_expect_not_null(sbx_zygote_isolation_reason(z));
	const char *host_a, *host_b;
	struct sbx_session *a = t_spawn(z, 1, &host_a);
	struct sbx_session *b = t_spawn(z, 2, &host_b);
	char code[400];

	t_expect_value(a, "import os\nos.getuid()", SBX_VALUE_JSON, "200001");
	t_expect_value(a, "open('/mnt/data/a.txt', 'w').write('A')", SBX_VALUE_JSON, "1");
	t_expect_value(a, "open('rel.txt', 'w').write('R')", SBX_VALUE_JSON, "1");
	t_expect_value(b, "import os\nos.listdir('/mnt/data')", SBX_VALUE_JSON, "[]");
	snprintf(code, sizeof(code), "open('%s/a.txt').read()", host_a);
	struct sbx_exec_result r;
	t_exec(b, code, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_eq(strncmp(r.error_message, "PermissionError", 15), 0, "%s", r.error_message);
	sbx_exec_result_fini(&r);
	t_exec(a, "import socket\nsocket.socket()", &r);
	cr_expect_str_eq(r.error_message, "PermissionError: [Errno 13] Permission denied");
	sbx_exec_result_fini(&r);
	t_expect_value(a,
		       "[l.split()[1] for l in open('/proc/self/status') "
		       "if l.startswith(('CapEff', 'NoNewPrivs', 'Seccomp:'))]",
		       SBX_VALUE_TEXT, "['0000000000000000', '1', '2']");
	t_expect_value(a, "sorted(os.listdir('/proc/self/fd'))", SBX_VALUE_TEXT,
		       "['0', '1', '2', '200', '3', '4']");

	/* Freeing kills the session's stray processes too (by uid, there is no pid namespace). */
	t_exec(a, "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '1000.75'])\nNone", &r);
	sbx_exec_result_fini(&r);
	for (int i = 0; i < 100 && t_count_sleepers("1000.75") == 0; i++)
		usleep(10000);
	cr_expect_eq(t_count_sleepers("1000.75"), 1);
	sbx_session_free(a);
	for (int i = 0; i < 200 && t_count_sleepers("1000.75") != 0; i++)
		usleep(10000);
	cr_expect_eq(t_count_sleepers("1000.75"), 0, "a stray process survived");

	char path[400];
	snprintf(path, sizeof(path), "%s/a.txt", host_a);
	char *content = t_read_file(path);
	cr_expect_str_eq(content ? content : "(missing)", "A");
	free(content);
	snprintf(path, sizeof(path), "%s/rel.txt", host_a);
	content = t_read_file(path);
	cr_expect_str_eq(content ? content : "(missing)", "R");
	free(content);

	t_exec_with(b, "sum(range(10**12))", 200, 200, 100, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT_RESTARTED, "%s", t_outcome_name(r.outcome));
	sbx_exec_result_fini(&r);
	t_expect_value(b, "1 + 1", SBX_VALUE_JSON, "2");
	sbx_session_free(b);
	sbx_zygote_stop(z);
	t_mnt_data_give_back();
}

Test(modes, auto_falls_back_to_degraded_without_namespaces)
{
	if (geteuid() != 0)
		cr_skip_test("degraded mode needs root (per-session uids)");
	t_mnt_data_take();
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sp_err err = {0};

	mkdir(SBX_TEST_STATE_DIR, 0755);
	sbx_options_init(&opt);
	opt.zygote_path = SBX_TEST_DOCKERLIKE;
	opt.state_dir = SBX_TEST_STATE_DIR;
	opt.isolation = SBX_ISOLATION_FULL;
	cr_expect_lt(sbx_zygote_start(&opt, &z, &err), 0);
	cr_expect_not_null(strstr(err.msg, "full isolation is not available"), "%s", err.msg);

	opt.isolation = SBX_ISOLATION_AUTO;
	cr_assert_eq(sbx_zygote_start(&opt, &z, &err), 0, "%s", err.msg);
	cr_expect_eq(sbx_zygote_isolation(z), SBX_ISOLATION_DEGRADED);
	const char *why = sbx_zygote_isolation_reason(z);
	cr_expect(why && strstr(why, "Operation not permitted"), "reason: %s", why ? why : "NULL");
	struct sbx_session *s = t_spawn(z, 3, NULL);
	t_expect_value(s, "import os\n(os.getuid(), open('/mnt/data/f', 'w').write('ok'))",
		       SBX_VALUE_TEXT, "(200003, 2)");
	sbx_session_free(s);
	sbx_zygote_stop(z);
	t_mnt_data_give_back();
}

Test(modes, degraded_cleanup_spares_other_zygotes_sessions)
{
	if (geteuid() != 0)
		cr_skip_test("degraded mode needs root (per-session uids)");
	t_mnt_data_take();
	/* Both zygotes use the default uid base: slot 7 is uid 200007 in each. */
	struct sbx_zygote *full = t_zygote(SBX_ISOLATION_FULL);
	struct sbx_zygote *deg = t_zygote(SBX_ISOLATION_DEGRADED);
	cr_assert_eq(sbx_zygote_slot_uid(full, 7), sbx_zygote_slot_uid(deg, 7));
	struct sbx_session *a = t_spawn(full, 7, NULL);
	pid_t pid = sbx_session_pid(a);
	struct sbx_exec_result r;
	t_exec(a, "import subprocess\np = subprocess.Popen(['sleep', '1000.25'])\nNone", &r);
	sbx_exec_result_fini(&r);

	/* The degraded session's end (a free, a crash and its restart, a stop) kills what is left
	 * of it; nothing of the other zygote's session with the same uid. */
	struct sbx_session *b = t_spawn(deg, 7, NULL);
	t_exec(b, "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '1000.5'])\nNone", &r);
	sbx_exec_result_fini(&r);
	for (int i = 0; i < 3; i++) {
		t_exec(b, "import os\nos._exit(3)", &r);
		cr_expect_eq(r.outcome, SBX_OUTCOME_CRASHED, "%s", t_outcome_name(r.outcome));
		sbx_exec_result_fini(&r);
		/* The fresh interpreter must not die of the old one's clean-up either. */
		t_expect_value(b, "6 * 7", SBX_VALUE_JSON, "42");
	}
	for (int i = 0; i < 200 && t_count_sleepers("1000.5") != 0; i++)
		usleep(10000);
	cr_expect_eq(t_count_sleepers("1000.5"), 0,
		     "the degraded session's stray process survived");
	sbx_session_free(b);
	sbx_zygote_stop(deg);
	t_mnt_data_give_back();

	cr_expect_eq(sbx_session_pid(a), pid);
	t_expect_value(a, "p.poll() is None", SBX_VALUE_TEXT, "True");
	cr_expect_eq(t_count_sleepers("1000.25"), 1);
	sbx_session_free(a);
	sbx_zygote_stop(full);
}

/* As the ordinary user of a container: the zygote under sandbox/docker-seccomp.json (applied by
 * sbx-dockerprofile as Docker would), FULL isolation. With |stock| (Docker's own default
 * profile) FULL must be refused instead. 0 when the outcome is the expected one. */
static int docker_profile_child(const char *state, const char *host, void *arg)
{
	bool stock = *(const bool *)arg;
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sbx_session *s = NULL;
	struct sp_err err = {0};

	static char *const stock_env[] = {"SBX_PROFILE_STOCK=1", NULL};
	static char *const ours_env[] = {"SBX_PROFILE_STOCK=0", NULL};
	sbx_options_init(&opt);
	opt.extra_env = stock ? stock_env : ours_env; /* the zygote gets no other environment */
	opt.zygote_path = SBX_TEST_DOCKERPROFILE;
	opt.state_dir = state;
	opt.isolation = SBX_ISOLATION_FULL;
	int r = sbx_zygote_start(&opt, &z, &err);
	if (stock) {
		if (r == 0 || !strstr(err.msg, "full isolation is not available")) {
			fprintf(stderr, "docker's default profile: %s\n",
				r == 0 ? "started" : err.msg);
			sbx_zygote_stop(z);
			return 12;
		}
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "docker profile start: %s\n", err.msg);
		return 10;
	}
	if (sbx_session_spawn(z, host, 1, &s, &err) < 0) {
		fprintf(stderr, "docker profile spawn: %s\n", err.msg);
		sbx_zygote_stop(z);
		return 11;
	}
	int bad = check(s, "import os\n(os.getpid(), os.getcwd(), open('p.txt', 'w').write('p'))",
			"(1, '/mnt/data', 1)");
	bad += check(s, "import socket\nsocket.socket()",
		     "PermissionError: [Errno 13] Permission denied");
	sbx_session_free(s);
	sbx_zygote_stop(z);
	return bad ? 20 : 0;
}

Test(modes, docker_profile_allows_full_isolation_for_an_ordinary_user)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to become the container's ordinary user");
	for (int i = 0; i < 2; i++) {
		bool stock = i == 1;
		int st = t_as_nobody("profile", docker_profile_child, &stock, NULL);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s profile: child status 0x%x",
			  stock ? "Docker's default" : "our", st);
	}
}

Test(modes, docker_profile_as_root_without_cap_sys_admin_falls_back_to_degraded)
{
	if (geteuid() != 0)
		cr_skip_test("needs root");
	/* Root in a container has Docker's default capabilities: namespaces need CAP_SYS_ADMIN
	 * whatever the profile allows, so AUTO falls back (README: run with --user). */
	t_mnt_data_take();
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sp_err err = {0};
	mkdir(SBX_TEST_STATE_DIR, 0755);
	static char *const env[] = {"SBX_PROFILE_STOCK=0", "SBX_PROFILE_DOCKER_CAPS=1", NULL};
	sbx_options_init(&opt);
	opt.extra_env = env;
	opt.zygote_path = SBX_TEST_DOCKERPROFILE;
	opt.state_dir = SBX_TEST_STATE_DIR;
	cr_assert_eq(sbx_zygote_start(&opt, &z, &err), 0, "%s", err.msg);
	cr_expect_eq(sbx_zygote_isolation(z), SBX_ISOLATION_DEGRADED);
	struct sbx_session *s = t_spawn(z, 4, NULL);
	t_expect_value(s, "import os\nos.getuid()", SBX_VALUE_JSON, "200004");
	sbx_session_free(s);
	sbx_zygote_stop(z);
	t_mnt_data_give_back();
}
