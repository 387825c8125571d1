/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c: one test per outcome (minijail's WaitTest idea): timeout with the state
 * kept, timeout with a restart, crashes, cancellation from another thread, freeing, stopping,
 * and the zygote's hello.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static struct sbx_zygote *zyg;

static void setup(void)
{
	zyg = t_zygote(SBX_ISOLATION_AUTO);
}

static void teardown(void)
{
	sbx_zygote_stop(zyg);
	t_cleanup();
}

TestSuite(lifecycle, .init = setup, .fini = teardown, .timeout = 120);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Alive: exists and is not a zombie (the zygote reaps its children asynchronously). */
static bool pid_alive(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

Test(lifecycle, hello)
{
	cr_expect_eq(strncmp(sbx_zygote_python_version(zyg), "3.11.", 5), 0, "%s",
		     sbx_zygote_python_version(zyg));
	const char *pkgs = sbx_zygote_packages_json(zyg);
	cr_assert_not_null(pkgs);
	cr_expect_eq(pkgs[0], '[');
	cr_expect_not_null(strstr(pkgs, "{\"name\":\"numpy\",\"version\":\"1."), "%.200s", pkgs);
	cr_expect_not_null(strstr(pkgs, "\"name\":\"pandas\""));
	cr_expect_not_null(strstr(pkgs, "\"name\":\"matplotlib\""));
	cr_expect_not_null(strstr(pkgs, "\"name\":\"setuptools\""));
	/* Sorted by name. */
	const char *a = strstr(pkgs, "\"name\":\"matplotlib\"");
	const char *b = strstr(pkgs, "\"name\":\"numpy\"");
	cr_expect(a && b && a < b);
	cr_expect_neq(sbx_zygote_isolation(zyg), SBX_ISOLATION_AUTO);
	if (sbx_zygote_isolation(zyg) == SBX_ISOLATION_FULL)
		cr_expect_null(sbx_zygote_isolation_reason(zyg));
	if (geteuid() == 0)
		cr_expect_eq(sbx_zygote_slot_uid(zyg, 7), (uid_t)200007);
	else
		cr_expect_eq(sbx_zygote_slot_uid(zyg, 7), (uid_t)-1);
}

Test(lifecycle, isolation_names)
{
	enum sbx_isolation m;
	cr_expect_str_eq(sbx_isolation_name(SBX_ISOLATION_AUTO), "auto");
	cr_expect_str_eq(sbx_isolation_name(SBX_ISOLATION_FULL), "full");
	cr_expect_str_eq(sbx_isolation_name(SBX_ISOLATION_DEGRADED), "degraded");
	cr_expect_eq(sbx_isolation_parse("degraded", &m), 0);
	cr_expect_eq(m, SBX_ISOLATION_DEGRADED);
	cr_expect_eq(sbx_isolation_parse("Full", &m), -EINVAL);
	cr_expect_eq(sbx_isolation_parse(NULL, &m), -EINVAL);
}

Test(lifecycle, timeout_keeps_state)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	pid_t pid = sbx_session_pid(s);
	struct sbx_exec_result r;

	t_expect_value(s, "x = 7", SBX_VALUE_NONE, NULL);
	int64_t t0 = now_ms();
	t_exec_with(s, "print('started')\nwhile True:\n    pass", 300, 5000, T_MAX_CHARS, &r);
	int64_t took = now_ms() - t0;
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.stdout_text, "started\n");
	/* The KeyboardInterrupt traceback is not reported. */
	cr_expect_str_eq(r.stderr_text, "");
	cr_expect_eq(r.value_kind, SBX_VALUE_NONE);
	cr_expect_geq(r.exec_ms, 300);
	cr_expect_lt(took, 2000);
	sbx_exec_result_fini(&r);
	cr_expect_eq(sbx_session_pid(s), pid);
	t_expect_value(s, "x", SBX_VALUE_JSON, "7");

	/* time.sleep is interruptible too. */
	t_exec_with(s, "import time\ntime.sleep(60)", 300, 5000, T_MAX_CHARS, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
	sbx_exec_result_fini(&r);
	t_expect_value(s, "x + 1", SBX_VALUE_JSON, "8");
	sbx_session_free(s);
}

Test(lifecycle, timeout_restarts_when_the_cell_ignores_sigint)
{
	const char *host;
	struct sbx_session *s = t_spawn(zyg, 2, &host);
	pid_t pid = sbx_session_pid(s);
	struct sbx_exec_result r;

	t_expect_value(s, "x = 7\nopen('keep.txt', 'w').write('kept');", SBX_VALUE_NONE, NULL);
	int64_t t0 = now_ms();
	t_exec_with(s, "sum(range(10**12))", 300, 300, T_MAX_CHARS, &r);
	int64_t took = now_ms() - t0;
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT_RESTARTED, "%s", t_outcome_name(r.outcome));
	cr_expect_geq(took, 600);
	cr_expect_lt(took, 5000);
	cr_expect_geq(r.exec_ms, 600);
	cr_expect_eq(r.value_kind, SBX_VALUE_NONE);
	sbx_exec_result_fini(&r);
	cr_expect_neq(sbx_session_pid(s), pid);
	cr_expect_not(pid_alive(pid), "the old interpreter %d is still alive", pid);

	t_exec(s, "x", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message, "NameError: name 'x' is not defined");
	sbx_exec_result_fini(&r);
	t_expect_value(s, "import os\n(os.getcwd(), open('keep.txt').read())", SBX_VALUE_TEXT,
		       "('/mnt/data', 'kept')");
	sbx_session_free(s);
}

Test(lifecycle, timeout_kills_every_process_of_the_session)
{
	struct sbx_session *s = t_spawn(zyg, 3, NULL);
	struct sbx_exec_result r;

	/* A grandchild in its own session and process group, orphaned: only the pid namespace
	 * (or, degraded, the per-session uid) catches it. */
	t_exec(s,
	       "import subprocess\n"
	       "subprocess.run(['sh', '-c', 'setsid sleep 1000.25 & exit 0'])\nNone",
	       &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	sbx_exec_result_fini(&r);
	for (int i = 0; i < 100 && t_count_sleepers("1000.25") == 0; i++)
		usleep(10000);
	cr_assert_eq(t_count_sleepers("1000.25"), 1);
	t_exec_with(s,
		    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n"
		    "    pass",
		    200, 200, T_MAX_CHARS, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT_RESTARTED, "%s", t_outcome_name(r.outcome));
	sbx_exec_result_fini(&r);
	for (int i = 0; i < 100 && t_count_sleepers("1000.25") != 0; i++)
		usleep(10000);
	cr_expect_eq(t_count_sleepers("1000.25"), 0, "the orphan survived the restart");
	t_expect_value(s, "1 + 1", SBX_VALUE_JSON, "2");
	sbx_session_free(s);
}

Test(lifecycle, crash_exit_status_restarts)
{
	const char *host;
	struct sbx_session *s = t_spawn(zyg, 4, &host);
	pid_t pid = sbx_session_pid(s);
	struct sbx_exec_result r;

	t_expect_value(s, "y = 1\nopen('f.txt', 'w').write('1');", SBX_VALUE_NONE, NULL);
	t_exec(s, "import os\nprint('bye', flush=True)\nos._exit(3)", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CRASHED, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.error_message ? r.error_message : "(NULL)", "exit status 3");
	cr_expect_str_eq(r.stdout_text, "bye\n");
	cr_expect_eq(r.value_kind, SBX_VALUE_NONE);
	sbx_exec_result_fini(&r);
	cr_expect_neq(sbx_session_pid(s), pid);
	t_expect_value(s, "'y' in globals(), open('f.txt').read()", SBX_VALUE_TEXT, "(False, '1')");
	sbx_session_free(s);
}

Test(lifecycle, crash_by_signal)
{
	struct sbx_session *s = t_spawn(zyg, 5, NULL);
	struct sbx_exec_result r;

	t_exec(s, "import ctypes\nctypes.string_at(0)", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CRASHED, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.error_message ? r.error_message : "(NULL)", "signal SIGSEGV");
	sbx_exec_result_fini(&r);
	t_expect_value(s, "1 + 1", SBX_VALUE_JSON, "2");
	sbx_session_free(s);
}

struct canceler {
	struct sbx_session *s;
	unsigned delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceler *c = arg;
	usleep(c->delay_ms * 1000);
	sbx_session_cancel(c->s);
	return NULL;
}

Test(lifecycle, cancel_from_another_thread)
{
	struct sbx_session *s = t_spawn(zyg, 6, NULL);
	pid_t pid = sbx_session_pid(s);
	struct canceler c = {s, 300};
	pthread_t th;
	struct sbx_exec_result r;

	cr_assert_eq(pthread_create(&th, NULL, cancel_later, &c), 0);
	int64_t t0 = now_ms();
	t_exec(s, "print('working', flush=True)\nimport time\ntime.sleep(30)", &r);
	int64_t took = now_ms() - t0;
	pthread_join(th, NULL);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CANCELED, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.stdout_text, "working\n");
	cr_expect_lt(took, 5000);
	sbx_exec_result_fini(&r);
	cr_expect_eq(sbx_session_pid(s), -1);
	cr_expect_not(pid_alive(pid));

	/* Later executions are canceled at once; cancel is idempotent. */
	sbx_session_cancel(s);
	t_exec(s, "1", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CANCELED);
	sbx_exec_result_fini(&r);
	sbx_session_free(s);
}

Test(lifecycle, free_kills_and_waits)
{
	struct sbx_session *s = t_spawn(zyg, 7, NULL);
	struct sbx_exec_result r;
	t_exec(s, "import subprocess\nsubprocess.Popen(['sleep', '1000.5'])\nNone", &r);
	sbx_exec_result_fini(&r);
	pid_t pid = sbx_session_pid(s);
	cr_assert_gt(pid, 0);
	cr_assert(pid_alive(pid));
	for (int i = 0; i < 100 && t_count_sleepers("1000.5") == 0; i++)
		usleep(10000);
	cr_assert_eq(t_count_sleepers("1000.5"), 1);
	sbx_session_free(s);
	cr_expect_not(pid_alive(pid), "pid %d survived sbx_session_free", pid);
	for (int i = 0; i < 100 && t_count_sleepers("1000.5") != 0; i++)
		usleep(10000);
	cr_expect_eq(t_count_sleepers("1000.5"), 0, "its child survived sbx_session_free");
	sbx_session_free(NULL);
	sbx_session_cancel(NULL);
}

Test(lifecycle, concurrent_spawns_and_execs)
{
	enum { N = 6 };
	struct sbx_session *s[N];
	for (unsigned i = 0; i < N; i++)
		s[i] = t_spawn(zyg, 10 + i, NULL);
	for (unsigned i = 0; i < N; i++) {
		char code[64], want[16];
		snprintf(code, sizeof(code), "%u * 2", i);
		snprintf(want, sizeof(want), "%u", i * 2);
		t_expect_value(s[i], code, SBX_VALUE_JSON, want);
	}
	for (unsigned i = 0; i < N; i++)
		sbx_session_free(s[i]);
}

struct spawner {
	struct sbx_zygote *z;
	unsigned slot;
	const char *dir;
	int rc;
	char out[64];
};

static void *spawn_and_run(void *arg)
{
	struct spawner *sp = arg;
	struct sbx_session *s = NULL;
	struct sp_err err = {0};
	sp->rc = sbx_session_spawn(sp->z, sp->dir, sp->slot, &s, &err);
	if (sp->rc < 0)
		return NULL;
	struct sbx_exec_request req = {"import os\nos.getpid()", 21, 10000, 1000, 100};
	struct sbx_exec_result r;
	sp->rc = sbx_session_exec(s, &req, &r, &err);
	if (sp->rc == 0) {
		snprintf(sp->out, sizeof(sp->out), "%s", r.value ? r.value : "");
		sbx_exec_result_fini(&r);
	}
	sbx_session_free(s);
	return NULL;
}

Test(lifecycle, spawn_from_many_threads)
{
	enum { N = 8 };
	pthread_t th[N];
	struct spawner sp[N];
	for (unsigned i = 0; i < N; i++) {
		sp[i] = (struct spawner){zyg, 20 + i, t_host_dir(zyg, 20 + i), -1, ""};
		cr_assert_eq(pthread_create(&th[i], NULL, spawn_and_run, &sp[i]), 0);
	}
	for (unsigned i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(sp[i].rc, 0, "thread %u", i);
		cr_expect_str_eq(sp[i].out, "1", "thread %u", i);
	}
}

Test(lifecycle, spawn_errors)
{
	struct sbx_session *s = NULL;
	struct sp_err err = {0};
	cr_expect_lt(sbx_session_spawn(zyg, "/nonexistent/dir", 1, &s, &err), 0);
	cr_expect_null(s);
	cr_expect_neq(err.msg[0], '\0');
}

Test(lifecycle, start_errors)
{
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sp_err err = {0};

	sbx_options_init(&opt);
	cr_expect_eq(sbx_zygote_start(&opt, &z, &err), -EINVAL);
	opt.zygote_path = t_zygote_path();
	opt.state_dir = "/nonexistent/state";
	cr_expect_lt(sbx_zygote_start(&opt, &z, &err), 0);
	opt.state_dir = "/tmp";
	opt.zygote_path = "/nonexistent/zygote";
	cr_expect_lt(sbx_zygote_start(&opt, &z, &err), 0);
	cr_expect_null(z);
	sbx_zygote_stop(NULL);
}

Test(lifecycle, stop_kills_live_sessions)
{
	struct sbx_zygote *z = t_zygote(SBX_ISOLATION_AUTO);
	struct sbx_session *s = t_spawn(z, 1, NULL);
	pid_t pid = sbx_session_pid(s);
	cr_assert(pid_alive(pid));
	sbx_zygote_stop(z);
	cr_expect_not(pid_alive(pid));
	/* The session is dead; freeing it afterwards is still fine. */
	sbx_session_free(s);
}

Test(lifecycle, timeout_counts_from_the_start_of_user_code)
{
	/* A thread of the session holds the GIL from 0.2 s to 1.7 s (a switch interval of 100 s:
	 * nobody asks it to let go): a cell sent at 0.4 s starts at 1.7 s, and must still get its
	 * full second (§8.6). */
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	struct sbx_exec_result r;
	t_exec(s,
	       "import sys, threading, time\n"
	       "sys.setswitchinterval(100)\n"
	       "def hog():\n    time.sleep(0.2)\n    end = time.monotonic() + 1.5\n"
	       "    while time.monotonic() < end:\n        pass\n"
	       "threading.Thread(target=hog).start()",
	       &r);
	sbx_exec_result_fini(&r);
	usleep(400 * 1000);
	int64_t t0 = now_ms();
	t_exec_with(s, "while True:\n    pass", 1000, 5000, T_MAX_CHARS, &r);
	int64_t took = now_ms() - t0;
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
	cr_expect_geq(r.exec_ms, 1000, "the cell ran %lld ms", (long long)r.exec_ms);
	cr_expect_lt(r.exec_ms, 1500, "the cell ran %lld ms", (long long)r.exec_ms);
	cr_expect_geq(took, 1900, "interrupted %lld ms after the send", (long long)took);
	sbx_exec_result_fini(&r);
	sbx_session_free(s);
}
