/* SPDX-License-Identifier: MIT */
/*
 * test_shell.c: commands in a session (sandbox.h SBX_EXEC_SHELL and SBX_EXEC_ARGV, issue 11):
 * `sh -c` with pipes and exit codes, argv run verbatim without a shell, the two streams apart,
 * the output cut and U+FFFD, stdin at end of file, the timeout killing the command and its
 * children with the session's state kept, the working directory and files shared with Python,
 * the session's environment, the tools a session root has (as root and as an ordinary user),
 * programs that cannot be started, background children, invalid requests, and the protocol
 * (a cell's reply never carries an exit code; the reply parser's exit_code member).
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
#include "reply.h"

static struct sbx_zygote *zyg;
static struct sbx_session *ses;
static const char *host;

static void setup(void)
{
	zyg = t_zygote(SBX_ISOLATION_AUTO);
	ses = t_spawn(zyg, 1, &host);
}

static void teardown(void)
{
	sbx_session_free(ses);
	sbx_zygote_stop(zyg);
	t_cleanup();
}

TestSuite(shell, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers: no Criterion assertion in them, so the unprivileged child can use them too --- */

/* Runs a command; returns the sandbox's code (0, or negative with a message on stderr). */
static int run_cmd(struct sbx_session *s, enum sbx_exec_kind kind, const char *line,
		   const char *const *argv, unsigned timeout_ms, size_t max_chars,
		   struct sbx_exec_result *r)
{
	struct sbx_exec_request req = {
	    .code = line,
	    .code_len = line ? strlen(line) : 0,
	    .timeout_ms = timeout_ms,
	    .grace_ms = T_GRACE_MS,
	    .stream_max_chars = max_chars,
	    .kind = kind,
	    .argv = argv,
	};
	struct sp_err err = {0};
	int rc = sbx_session_exec(s, &req, r, &err);
	if (rc < 0)
		fprintf(stderr, "sbx_session_exec(%s): %s\n", line ? line : argv[0], err.msg);
	return rc;
}

/* 0 when the command ended OK with exactly this output and exit code, else 1 (and why). */
static int check_cmd(struct sbx_session *s, enum sbx_exec_kind kind, const char *line,
		     const char *const *argv, const char *out, const char *err, int code)
{
	struct sbx_exec_result r;
	const char *what = line ? line : argv[0];
	if (run_cmd(s, kind, line, argv, T_TIMEOUT_MS, T_MAX_CHARS, &r) < 0)
		return 1;
	int bad = r.outcome != SBX_OUTCOME_OK || r.exit_code != code ||
		  strcmp(r.stdout_text, out) != 0 || (err && strcmp(r.stderr_text, err) != 0);
	if (bad)
		fprintf(stderr,
			"[%s] outcome %s exit %d stdout <%s> stderr <%s>; want exit %d stdout <%s> "
			"stderr <%s>\n",
			what, t_outcome_name(r.outcome), r.exit_code, r.stdout_text, r.stderr_text,
			code, out, err ? err : "(any)");
	sbx_exec_result_fini(&r);
	return bad;
}

static int check_sh(struct sbx_session *s, const char *line, const char *out, const char *err,
		    int code)
{
	return check_cmd(s, SBX_EXEC_SHELL, line, NULL, out, err, code);
}

static int check_argv(struct sbx_session *s, const char *const *argv, const char *out,
		      const char *err, int code)
{
	return check_cmd(s, SBX_EXEC_ARGV, NULL, argv, out, err, code);
}

/* 0 when the Python cell's TEXT/JSON value is |want|, else 1. */
static int check_py(struct sbx_session *s, const char *code, const char *want)
{
	struct sbx_exec_request req = {code, strlen(code), T_TIMEOUT_MS, T_GRACE_MS, T_MAX_CHARS};
	struct sbx_exec_result r;
	struct sp_err err = {0};
	if (sbx_session_exec(s, &req, &r, &err) < 0) {
		fprintf(stderr, "[%s] exec: %s\n", code, err.msg);
		return 1;
	}
	const char *got = r.outcome == SBX_OUTCOME_EXCEPTION ? r.error_message : r.value;
	int bad = strcmp(got ? got : "(NULL)", want) != 0 || r.exit_code != -1;
	if (bad)
		fprintf(stderr, "[%s] got %s exit %d (%s), want %s\n", code, got ? got : "(NULL)",
			r.exit_code, r.stderr_text, want);
	sbx_exec_result_fini(&r);
	return bad;
}

/*
 * The tools a session root must have (issue 11), each run for real: through /bin/sh, and
 * directly. Returns the number of failures.
 */
static int check_tools(struct sbx_session *s)
{
	int bad = 0;
	bad += check_sh(s, "printf 'b\\na\\nc\\n' > t.txt; echo sh-ok", "sh-ok\n", "", 0);
	static const char *const names[] = {"sh",   "bash", "ls", "cat",  "grep", "sed",    "awk",
					    "head", "tail", "wc", "find", "sort", "python3"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char line[64], want[64];
		snprintf(line, sizeof(line), "command -v %s", names[i]);
		snprintf(want, sizeof(want), "/usr/bin/%s\n", names[i]);
		bad += check_sh(s, line, want, "", 0);
	}
	bad +=
	    check_argv(s, (const char *const[]){"sh", "-c", "echo $0 ok", NULL}, "sh ok\n", "", 0);
	bad += check_argv(s, (const char *const[]){"bash", "-c", "echo $((6 * 7))", NULL}, "42\n",
			  "", 0);
	bad += check_argv(s, (const char *const[]){"ls", "t.txt", NULL}, "t.txt\n", "", 0);
	bad += check_argv(s, (const char *const[]){"cat", "t.txt", NULL}, "b\na\nc\n", "", 0);
	bad +=
	    check_argv(s, (const char *const[]){"grep", "-n", "a", "t.txt", NULL}, "2:a\n", "", 0);
	bad += check_argv(s, (const char *const[]){"grep", "-q", "zzz", "t.txt", NULL}, "", "", 1);
	bad += check_argv(s, (const char *const[]){"sed", "s/a/A/", "t.txt", NULL}, "b\nA\nc\n", "",
			  0);
	bad += check_argv(s, (const char *const[]){"awk", "{ print NR \":\" $0 }", "t.txt", NULL},
			  "1:b\n2:a\n3:c\n", "", 0);
	bad += check_argv(s, (const char *const[]){"head", "-n", "1", "t.txt", NULL}, "b\n", "", 0);
	bad += check_argv(s, (const char *const[]){"tail", "-n", "1", "t.txt", NULL}, "c\n", "", 0);
	bad += check_argv(s, (const char *const[]){"wc", "-l", "t.txt", NULL}, "3 t.txt\n", "", 0);
	bad += check_argv(s, (const char *const[]){"find", ".", "-name", "t.txt", NULL},
			  "./t.txt\n", "", 0);
	bad += check_argv(s, (const char *const[]){"sort", "t.txt", NULL}, "a\nb\nc\n", "", 0);
	bad += check_argv(
	    s,
	    (const char *const[]){"python3", "-c",
				  "import sys, os; print(sys.executable, os.getcwd())", NULL},
	    "/usr/bin/python3 /mnt/data\n", "", 0);
	bad +=
	    check_sh(s, "sort t.txt | head -n 2 | tail -n 1 | sed s/b/B/ | awk '{print $1 \"!\"}'",
		     "B!\n", "", 0);
	/* Confined like a cell: same uid, no capabilities, seccomp, no network. */
	bad +=
	    check_sh(s, "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t'",
		     "CapEff:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n", "", 0);
	bad += check_sh(s, "[ \"$(id -u)\" = \"$(python3 -c 'import os; print(os.getuid())')\" ]",
			"", "", 0);
	bad += check_sh(s, "python3 -c 'import socket; socket.socket()' 2>&1 | tail -n 1",
			"PermissionError: [Errno 13] Permission denied\n", "", 0);
	return bad;
}

static void wait_sleepers(const char *arg, int want)
{
	for (int i = 0; i < 300 && t_count_sleepers(arg) != want; i++)
		usleep(10000);
}

/* What a session itself sees: the processes whose command line holds |needle|. */
#define PY_PROCS(needle)                                                                           \
	"import os\n"                                                                              \
	"def _cmdline(p):\n"                                                                       \
	"    try:\n"                                                                               \
	"        return open('/proc/%s/cmdline' % p, 'rb').read()\n"                               \
	"    except OSError:\n"                                                                    \
	"        return b''\n"                                                                     \
	"len([p for p in os.listdir('/proc') if p.isdigit() and b'" needle "' in _cmdline(p)])"

/* ---- tests ---------------------------------------------------------------------------------- */

Test(shell, sh_pipes_and_exit_codes)
{
	cr_expect_eq(check_sh(ses, "echo hello | tr a-z A-Z", "HELLO\n", "", 0), 0);
	cr_expect_eq(
	    check_sh(ses, "printf '3\\n1\\n2\\n' | sort -n | tr '\\n' ' '", "1 2 3 ", "", 0), 0);
	cr_expect_eq(check_sh(ses, "false", "", "", 1), 0);
	cr_expect_eq(check_sh(ses, "echo partial; exit 3", "partial\n", "", 3), 0);
	cr_expect_eq(check_sh(ses, "exit 255", "", "", 255), 0);
	/* Ended by a signal: 128 + N, as shells report it. */
	cr_expect_eq(check_sh(ses, "kill -TERM $$", "", "", 143), 0);
	cr_expect_eq(check_sh(ses, "kill -KILL $$", "", "", 137), 0);
	/* $0 is "sh": messages read as a shell's. */
	cr_expect_eq(check_sh(ses, "echo $0", "sh\n", "", 0), 0);
	cr_expect_eq(check_sh(ses, "", "", "", 0), 0);
}

Test(shell, argv_reaches_the_program_verbatim)
{
	const char *const argv[] = {
	    "printf", "[%s]\\n", "a b; echo injected", "$HOME", "`id`", "'\"*", "", NULL};
	cr_expect_eq(
	    check_argv(ses, argv, "[a b; echo injected]\n[$HOME]\n[`id`]\n['\"*]\n[]\n", "", 0), 0);
	/* argv[0] is looked up in PATH; a path is taken as it is. */
	cr_expect_eq(check_argv(ses, (const char *const[]){"/usr/bin/printenv", "HOME", NULL},
				"/tmp\n", "", 0),
		     0);
	/* Non-ASCII arguments arrive as UTF-8. */
	cr_expect_eq(
	    check_argv(ses, (const char *const[]){"echo", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac", NULL},
		       "\xc3\xa9t\xc3\xa9 \xe2\x82\xac\n", "", 0),
	    0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"sh", "-c", "exit $1", "sh", "42", NULL},
				"", "", 42),
		     0);
}

Test(shell, stdout_and_stderr_apart)
{
	cr_expect_eq(check_sh(ses, "echo out1; echo err1 >&2; echo out2; echo err2 >&2",
			      "out1\nout2\n", "err1\nerr2\n", 0),
		     0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"ls", "/no/such/dir", NULL}, "",
				"ls: cannot access '/no/such/dir': No such file or directory\n", 2),
		     0);
}

Test(shell, output_is_cut_and_memory_stays_bounded)
{
	struct sbx_exec_result r;
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL,
			     "head -c 50000000 /dev/zero | tr '\\0' y; head -c 3000 /dev/zero | "
			     "tr '\\0' e >&2; exit 4",
			     NULL, T_TIMEOUT_MS, 1000, &r),
		     0);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "%s", t_outcome_name(r.outcome));
	cr_expect_eq(r.exit_code, 4);
	cr_expect_eq(r.stdout_len, 1000);
	cr_expect_eq(strspn(r.stdout_text, "y"), 1000);
	cr_expect_eq(r.stderr_len, 1000);
	cr_expect_eq(strspn(r.stderr_text, "e"), 1000);
	sbx_exec_result_fini(&r);
	/* Cut by code points, not bytes. */
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL,
			     "for i in 1 2 3 4 5 6; do printf '\\303\\251'; done", NULL,
			     T_TIMEOUT_MS, 4, &r),
		     0);
	cr_expect_str_eq(r.stdout_text, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	sbx_exec_result_fini(&r);
}

Test(shell, invalid_utf8_becomes_replacement_characters)
{
	cr_expect_eq(check_sh(ses, "printf 'a\\377b\\300\\n'; printf '\\355\\240\\200' >&2",
			      "a\xef\xbf\xbd"
			      "b\xef\xbf\xbd\n",
			      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0),
		     0);
	/* Binary output, NUL bytes included, arrives whole (stdout_len counts them). */
	struct sbx_exec_result r;
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL, "printf 'x\\000y'", NULL, T_TIMEOUT_MS, 100, &r),
		     0);
	cr_expect_eq(r.stdout_len, 3);
	cr_expect_eq(memcmp(r.stdout_text, "x\0y", 3), 0);
	sbx_exec_result_fini(&r);
}

Test(shell, stdin_is_at_end_of_file)
{
	cr_expect_eq(check_sh(ses, "cat; read line; echo read=$?", "read=1\n", "", 0), 0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"wc", "-c", NULL}, "0\n", "", 0), 0);
	cr_expect_eq(check_sh(ses, "readlink /proc/self/fd/0", "/dev/null\n", "", 0), 0);
}

Test(shell, timeout_kills_the_command_and_its_children)
{
	struct sbx_exec_result r;
	cr_assert_eq(check_py(ses, "kept = 'state'\nkept", "'state'"), 0);
	/* Children in the group (a pipeline, a background job) and one that left the group but not
	 * the session (setpgid): all killed. One that left the session (setsid) stays, confined.
	 * The command waits until the last two have left (files), so that the deadline finds them
	 * gone even on a loaded machine. */
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL,
			     "sleep 1000.11 & "
			     "python3 -c 'import os, time; os.setpgid(0, 0); open(\"pg.ready\", "
			     "\"w\"); time.sleep(1000.12)' & "
			     "setsid sh -c 'touch sid.ready; exec sleep 1000.13' & "
			     "while [ ! -e pg.ready ] || [ ! -e sid.ready ]; do sleep 0.05; done; "
			     "echo started; sleep 1000.14 | cat",
			     NULL, 3000, T_MAX_CHARS, &r),
		     0);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s: %s", t_outcome_name(r.outcome),
		     r.stderr_text);
	cr_expect_eq(r.exit_code, 137);
	cr_expect_str_eq(r.stdout_text, "started\n");
	cr_expect_lt(r.request_ms, 8000);
	sbx_exec_result_fini(&r);
	cr_expect_eq(check_py(ses, PY_PROCS("1000.1"), "1"), 0, "only the setsid child is left");
	cr_expect_eq(check_py(ses, PY_PROCS("1000.13"), "1"), 0);
	/* The interpreter kept its state and answers; commands run again (no stale interrupt). */
	cr_expect_eq(check_py(ses, "kept", "'state'"), 0);
	cr_expect_eq(check_sh(ses, "sleep 0.2; echo after", "after\n", "", 0), 0);
	/* The left-over process dies with the session. */
	wait_sleepers("1000.13", 1);
	cr_expect_eq(t_count_sleepers("1000.13"), 1);
	sbx_session_free(ses);
	ses = NULL;
	wait_sleepers("1000.13", 0);
	cr_expect_eq(t_count_sleepers("1000.13"), 0,
		     "a process of the command survived its session");
}

Test(shell, timeout_with_python_threads_that_take_sigint)
{
	/* A thread started by a cell runs with SIGINT unblocked: the kernel may hand it the
	 * emulator's interrupt instead of the waiting main thread. It must still end the command
	 * in time, not after the grace period with a restart. */
	cr_assert_eq(
	    check_py(ses,
		     "import threading, time\n"
		     "for _ in range(4):\n"
		     "    threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
		     "threading.active_count()",
		     "5"),
	    0);
	for (int i = 0; i < 3; i++) {
		struct sbx_exec_result r;
		cr_assert_eq(run_cmd(ses, SBX_EXEC_ARGV, NULL,
				     (const char *const[]){"sleep", "1000.21", NULL}, 300,
				     T_MAX_CHARS, &r),
			     0);
		cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
		cr_expect_eq(r.exit_code, 137);
		sbx_exec_result_fini(&r);
	}
	cr_expect_eq(check_py(ses, "threading.active_count()", "5"), 0);
	cr_expect_eq(check_py(ses, PY_PROCS("1000.21"), "0"), 0);
}

Test(shell, a_command_that_ignores_everything_is_killed_at_the_deadline)
{
	struct sbx_exec_result r;
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL, "trap '' INT TERM HUP; while :; do :; done", NULL,
			     300, T_MAX_CHARS, &r),
		     0);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
	cr_expect_eq(r.exit_code, 137);
	sbx_exec_result_fini(&r);
	cr_expect_eq(check_sh(ses, "echo alive", "alive\n", "", 0), 0);
}

Test(shell, working_directory_and_files_shared_with_python)
{
	cr_expect_eq(check_sh(ses, "pwd", "/mnt/data\n", "", 0), 0);
	cr_expect_eq(check_sh(ses, "echo from-shell > s.txt", "", "", 0), 0);
	cr_expect_eq(check_py(ses, "open('/mnt/data/s.txt').read()", "'from-shell\\n'"), 0);
	cr_expect_eq(check_py(ses, "open('p.txt', 'w').write('from-python')", "11"), 0);
	cr_expect_eq(
	    check_argv(ses, (const char *const[]){"cat", "p.txt", NULL}, "from-python", "", 0), 0);
	/* The files are the session's host directory. */
	char path[400];
	snprintf(path, sizeof(path), "%s/s.txt", host);
	char *content = t_read_file(path);
	cr_expect_str_eq(content ? content : "(missing)", "from-shell\n");
	free(content);
	/* The working directory is the interpreter's: a cell's os.chdir() holds for commands. */
	cr_expect_eq(check_py(ses, "import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')",
			      "(NULL)"),
		     0);
	cr_expect_eq(check_sh(ses, "pwd; cd /tmp", "/mnt/data/sub\n", "", 0), 0);
	cr_expect_eq(check_py(ses, "os.getcwd()", "'/mnt/data/sub'"), 0);
}

Test(shell, the_sessions_environment)
{
	cr_expect_eq(check_sh(ses, "echo \"$HOME $LANG $PATH\"",
			      "/tmp C.UTF-8 /usr/local/bin:/usr/bin:/bin\n", "", 0),
		     0);
	/* Exactly os.environ, as cells leave it. */
	cr_expect_eq(check_py(ses,
			      "import os\nos.environ['SP_SHELL_VAR'] = 'v 1'\n"
			      "os.environ.pop('MKL_NUM_THREADS')\nNone",
			      "(NULL)"),
		     0);
	cr_expect_eq(check_sh(ses, "echo \"[$SP_SHELL_VAR][${MKL_NUM_THREADS-unset}]\"",
			      "[v 1][unset]\n", "", 0),
		     0);
	/* Exactly os.environ: the command writes its environment (but the PWD sh adds), Python
	 * compares. */
	cr_expect_eq(check_sh(ses, "env | grep -v ^PWD= > env.txt", "", "", 0), 0);
	cr_expect_eq(check_py(ses,
			      "sorted(open('env.txt').read().splitlines()) == "
			      "sorted('%s=%s' % kv for kv in os.environ.items())",
			      "True"),
		     0);
	cr_expect_eq(
	    check_argv(ses,
		       (const char *const[]){"grep", "-c", "^SP_SHELL_VAR=v 1$", "env.txt", NULL},
		       "1\n", "", 0),
	    0);
}

Test(shell, programs_that_cannot_start)
{
	cr_expect_eq(check_argv(ses, (const char *const[]){"no-such-program-xyz", "arg", NULL}, "",
				"no-such-program-xyz: command not found\n", 127),
		     0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"/mnt/data/nope", NULL}, "",
				"/mnt/data/nope: No such file or directory\n", 127),
		     0);
	cr_expect_eq(check_sh(ses, "no-such-program-xyz", "",
			      "sh: 1: no-such-program-xyz: not found\n", 127),
		     0);
	cr_expect_eq(check_sh(ses, "printf 'echo x' > plain.sh", "", "", 0), 0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"./plain.sh", NULL}, "",
				"./plain.sh: Permission denied\n", 126),
		     0);
	cr_expect_eq(check_argv(ses, (const char *const[]){"/mnt/data", NULL}, "",
				"/mnt/data: Permission denied\n", 126),
		     0);
	/* Nothing broke: the interpreter answers. */
	cr_expect_eq(check_py(ses, "6 * 7", "42"), 0);
}

Test(shell, background_children_do_not_hold_the_call)
{
	/* The background job keeps stdout and stderr open: the call still returns at once. */
	struct sbx_exec_result r;
	cr_assert_eq(run_cmd(ses, SBX_EXEC_SHELL, "sleep 1000.31 & echo bg", NULL, T_TIMEOUT_MS,
			     T_MAX_CHARS, &r),
		     0);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK);
	cr_expect_eq(r.exit_code, 0);
	cr_expect_str_eq(r.stdout_text, "bg\n");
	cr_expect_lt(r.request_ms, 5000);
	sbx_exec_result_fini(&r);
	cr_expect_eq(check_py(ses, PY_PROCS("1000.31"), "1"), 0, "the background job runs on");
	/* Output it writes between calls is not part of the next call's. */
	cr_expect_eq(
	    check_sh(ses, "(sleep 0.3; echo late; touch late.done) & echo now", "now\n", "", 0), 0);
	char done[400];
	snprintf(done, sizeof(done), "%s/late.done", host);
	for (int i = 0; i < 1000 && access(done, F_OK) != 0; i++)
		usleep(10000);
	cr_assert_eq(access(done, F_OK), 0, "the background job did not finish");
	cr_expect_eq(check_sh(ses, "echo next", "next\n", "", 0), 0);
	wait_sleepers("1000.31", 1);
	cr_expect_eq(t_count_sleepers("1000.31"), 1);
	sbx_session_free(ses);
	ses = NULL;
	wait_sleepers("1000.31", 0);
	cr_expect_eq(t_count_sleepers("1000.31"), 0);
}

Test(shell, orphans_are_reaped_while_the_command_runs)
{
	/* Each (… &) leaves an orphan to pid 1, the interpreter: reaped as they end, they never
	 * reach the session's 128 processes, however many the command makes. */
	cr_expect_eq(check_sh(ses,
			      "for i in $(seq 400); do (true &); (sleep 0.001 &); done; echo done",
			      "done\n", "", 0),
		     0);
	/* A cell's own children are left to it: its Popen still gets the exit status. */
	cr_expect_eq(check_py(ses,
			      "import subprocess\n"
			      "p = subprocess.Popen(['sh', '-c', 'sleep 0.3; exit 3'])\n"
			      "p.pid > 0",
			      "True"),
		     0);
	cr_expect_eq(check_sh(ses, "sleep 0.8", "", "", 0), 0);
	cr_expect_eq(check_py(ses, "p.wait()", "3"), 0);
}

Test(shell, python_state_is_untouched)
{
	cr_expect_eq(check_py(ses, "x = 41\nimport sys\nsys.stdout.write('py ')\nx", "41"), 0);
	cr_expect_eq(check_sh(ses, "echo shell", "shell\n", "", 0), 0);
	cr_expect_eq(check_py(ses, "x + 1", "42"), 0);
	/* Output buffered by Python before the command does not leak into it. */
	cr_expect_eq(check_py(ses, "print('buffered', end='')\nNone", "(NULL)"), 0);
	cr_expect_eq(check_sh(ses, "echo only", "only\n", "", 0), 0);
	/* The session socket is not inherited: a command has fds 0-2 only, and what it opens
	 * (ls: 3, the directory it reads). */
	cr_expect_eq(check_argv(ses, (const char *const[]){"ls", "/proc/self/fd", NULL},
				"0\n1\n2\n3\n", "", 0),
		     0);
}

Test(shell, tools_as_root_or_ourselves)
{
	cr_expect_eq(check_tools(ses), 0);
}

/* As an ordinary user (nobody), in a child process: full isolation through user namespaces. */
static int unprivileged_child(const char *state, const char *dir, void *arg)
{
	(void)arg;
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sbx_session *s = NULL;
	struct sp_err err = {0};

	sbx_options_init(&opt);
	opt.zygote_path = t_zygote_path();
	opt.state_dir = state;
	opt.isolation = SBX_ISOLATION_FULL;
	if (sbx_zygote_start(&opt, &z, &err) < 0) {
		fprintf(stderr, "unprivileged start: %s\n", err.msg);
		return 10;
	}
	if (sbx_session_spawn(z, dir, 1, &s, &err) < 0) {
		fprintf(stderr, "unprivileged spawn: %s\n", err.msg);
		sbx_zygote_stop(z);
		return 11;
	}
	int bad = check_tools(s);
	char want[64];
	snprintf(want, sizeof(want), "%u 1\n", (unsigned)getuid());
	/* The command's parent is the session's interpreter, pid 1 of its own pid namespace. */
	bad += check_sh(s, "echo $(id -u) $PPID", want, "", 0);
	/* kill(-1) reaches nothing outside the session's own processes. */
	bad += check_sh(s, "kill -9 -1; echo $?", "1\n", NULL, 0);
	bad += check_py(s, "1 + 1", "2");
	sbx_session_free(s);
	sbx_zygote_stop(z);
	return bad ? 20 + (bad > 9 ? 9 : bad) : 0;
}

Test(shell, tools_as_an_ordinary_user)
{
	if (geteuid() != 0) {
		cr_assert_eq(unprivileged_child(SBX_TEST_STATE_DIR, t_host_dir(NULL, 1), NULL), 0);
		return;
	}
	int st = t_as_nobody("shell-unpriv", unprivileged_child, NULL, NULL);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x (see stderr)", st);
}

Test(shell, invalid_requests_are_refused)
{
	struct sbx_exec_result r;
	struct sp_err err = {0};
	struct sbx_exec_request req = {.timeout_ms = T_TIMEOUT_MS, .stream_max_chars = 100};

	req.kind = SBX_EXEC_ARGV;
	cr_expect_eq(sbx_session_exec(ses, &req, &r, &err), -EINVAL);
	req.argv = (const char *const[]){NULL};
	cr_expect_eq(sbx_session_exec(ses, &req, &r, &err), -EINVAL);
	req.kind = SBX_EXEC_SHELL;
	cr_expect_eq(sbx_session_exec(ses, &req, &r, &err), -EINVAL);
	req.code = "echo a\0b";
	req.code_len = 8;
	cr_expect_eq(sbx_session_exec(ses, &req, &r, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "a shell command cannot contain a NUL byte");
	req.kind = (enum sbx_exec_kind)7;
	cr_expect_eq(sbx_session_exec(ses, &req, &r, &err), -EINVAL);
	/* Nothing ran, nothing broke. */
	cr_expect_eq(check_sh(ses, "echo fine", "fine\n", "", 0), 0);
}

/* ---- the protocol ------------------------------------------------------------------------- */

Test(shell, a_cell_that_forges_an_exit_code_breaks_the_protocol)
{
	struct sbx_exec_result r;
	cr_assert_eq(check_py(ses, "kept = 1", "(NULL)"), 0);
	t_exec(ses,
	       "import os, sys, json, struct\n"
	       "def _cur_id():\n"
	       "    f = sys._getframe()\n"
	       "    while f is not None:\n"
	       "        r = f.f_locals.get('req')\n"
	       "        if isinstance(r, dict) and isinstance(r.get('id'), str):\n"
	       "            return r['id']\n"
	       "        f = f.f_back\n"
	       "b = json.dumps({'id': _cur_id(), 'op': 'result', 'status': 'ok', 'kind': 'none',\n"
	       "                'value': None, 'exec_us': 1, 'exit_code': 0}).encode()\n"
	       "os.write(3, struct.pack('<I', len(b)) + b)\n"
	       "import time\n"
	       "time.sleep(5)",
	       &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CRASHED, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.error_message ? r.error_message : "",
			 "killed: the session broke the protocol: the reply to a cell has an exit "
			 "code");
	sbx_exec_result_fini(&r);
	/* Restarted: state gone, both kinds work. */
	cr_expect_eq(check_py(ses, "'kept' in globals()", "False"), 0);
	cr_expect_eq(check_sh(ses, "echo ok", "ok\n", "", 0), 0);
}

#define RID "0123456789abcdef"

static int parse_reply(const char *frame, struct sbx_reply *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	return sbx_reply_parse(frame, strlen(frame), RID, r, why);
}

Test(shell, reply_exit_code_member)
{
	struct sbx_reply r;
	const char *why = NULL;
	cr_assert_eq(
	    parse_reply("{\"id\":\"" RID "\",\"op\":\"result\",\"status\":\"ok\","
			"\"kind\":\"none\",\"value\":null,\"exec_us\":7,\"exit_code\":137}",
			&r, &why),
	    0, "%s", why ? why : "");
	cr_expect_eq(r.exit_code, 137);
	sbx_reply_fini(&r);
	cr_assert_eq(parse_reply("{\"id\":\"" RID "\",\"op\":\"result\",\"status\":\"ok\","
				 "\"kind\":\"none\",\"value\":null,\"exec_us\":7}",
				 &r, &why),
		     0);
	cr_expect_eq(r.exit_code, -1, "no exit code: -1");
	sbx_reply_fini(&r);

	static const char *const refused[] = {
	    "\"exit_code\":256",
	    "\"exit_code\":-1",
	    "\"exit_code\":1.0",
	    "\"exit_code\":1e2",
	    "\"exit_code\":\"0\"",
	    "\"exit_code\":null",
	    "\"exit_code\":1000000000000000000000",
	    "\"exit_code\":0,\"exit_code\":0",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char f[300];
		snprintf(f, sizeof(f),
			 "{\"id\":\"" RID
			 "\",\"op\":\"result\",\"status\":\"ok\",\"kind\":\"none\","
			 "\"value\":null,\"exec_us\":7,%s}",
			 refused[i]);
		cr_expect_eq(parse_reply(f, &r, &why), -EPROTO, "accepted: %s", f);
	}
	/* Only with status ok and no value. */
	cr_expect_eq(parse_reply("{\"id\":\"" RID "\",\"op\":\"result\",\"status\":\"ok\","
				 "\"kind\":\"json\",\"value\":\"1\",\"exec_us\":7,\"exit_code\":0}",
				 &r, &why),
		     -EPROTO);
	cr_expect_eq(parse_reply("{\"id\":\"" RID "\",\"op\":\"result\",\"status\":\"exception\","
				 "\"kind\":\"none\",\"value\":null,\"exec_us\":7,\"ename\":\"E\","
				 "\"error\":\"E\",\"traceback\":\"\",\"exit_code\":0}",
				 &r, &why),
		     -EPROTO);
	cr_expect_str_eq(why, "an exit code comes with an exception or a value");
}

/* ---- degraded mode -------------------------------------------------------------------------- */

Test(shell, degraded_mode)
{
	if (geteuid() != 0)
		cr_skip_test("degraded mode needs root (per-session uids)");
	t_mnt_data_take();

	struct sbx_zygote *z = t_zygote(SBX_ISOLATION_DEGRADED);
	const char *dir;
	struct sbx_session *s = t_spawn(z, 5, &dir);
	/* /mnt/data resolves through the interpreter's descriptor 200, which commands inherit. */
	cr_expect_eq(check_sh(s, "id -u; echo d > /mnt/data/d.txt; cat /mnt/data/d.txt",
			      "200005\nd\n", "", 0),
		     0);
	cr_expect_eq(check_py(s, "open('/mnt/data/d.txt').read()", "'d\\n'"), 0);
	char path[400];
	snprintf(path, sizeof(path), "%s/d.txt", dir);
	char *content = t_read_file(path);
	cr_expect_str_eq(content ? content : "(missing)", "d\n");
	free(content);
	cr_expect_eq(check_sh(s, "python3 -c 'import socket; socket.socket()' 2>&1 | tail -n 1",
			      "PermissionError: [Errno 13] Permission denied\n", "", 0),
		     0);
	struct sbx_exec_result r;
	cr_assert_eq(
	    run_cmd(s, SBX_EXEC_SHELL, "sleep 1000.41 & sleep 1000.42", NULL, 300, T_MAX_CHARS, &r),
	    0);
	cr_expect_eq(r.outcome, SBX_OUTCOME_TIMEOUT, "%s", t_outcome_name(r.outcome));
	sbx_exec_result_fini(&r);
	wait_sleepers("1000.41", 0);
	cr_expect_eq(t_count_sleepers("1000.41"), 0);
	cr_expect_eq(t_count_sleepers("1000.42"), 0);
	sbx_session_free(s);
	sbx_zygote_stop(z);
	t_mnt_data_give_back();
}
