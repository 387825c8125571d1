/* SPDX-License-Identifier: MIT */
/*
 * test_streams.c: stdout and stderr (api-contract §8.4, §8.5): Python and fd-level output,
 * order across forks, tracebacks and error messages, truncation by code points, U+FFFD, bounded
 * memory for huge output, output between cells discarded, input() and SystemExit.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

static struct sbx_zygote *zyg;
static struct sbx_session *ses;

static void setup(void)
{
	zyg = t_zygote(SBX_ISOLATION_AUTO);
	ses = t_spawn(zyg, 1, NULL);
}

static void teardown(void)
{
	sbx_session_free(ses);
	sbx_zygote_stop(zyg);
	t_cleanup();
}

TestSuite(streams, .init = setup, .fini = teardown, .timeout = 120);

static void expect_output(const char *code, const char *out, const char *err)
{
	struct sbx_exec_result r;
	t_exec(ses, code, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "[%s] %s: %s", code, t_outcome_name(r.outcome),
		     r.stderr_text);
	cr_expect_str_eq(r.stdout_text, out, "[%s] stdout <%s>", code, r.stdout_text);
	cr_expect_str_eq(r.stderr_text, err, "[%s] stderr <%s>", code, r.stderr_text);
	sbx_exec_result_fini(&r);
}

Test(streams, python_and_fd_level_stdout_in_order)
{
	expect_output("print('a')\nimport sys\nsys.stdout.write('b\\n')", "a\nb\n", "");
	/* os.system writes on fd 1 from a child: our buffer is flushed before the fork. */
	expect_output("import os\nprint('before')\nos.system('echo from-shell')\nprint('after')",
		      "before\nfrom-shell\nafter\n", "");
	expect_output("import subprocess\nprint('1')\nsubprocess.run(['echo', 'sub'])\nprint('2')",
		      "1\nsub\n2\n", "");
	expect_output("import os\nos.write(1, b'raw fd\\n')", "raw fd\n", "");
	expect_output("import os\nprint('p', end='')\npid = os.fork()\nif pid == 0:\n"
		      "    print('child', flush=True)\n    os._exit(0)\nos.waitpid(pid, 0)\n"
		      "print('parent')",
		      "pchild\nparent\n", "");
}

Test(streams, c_stdio_is_flushed)
{
	struct sbx_exec_result r;
	t_exec(ses, "import ctypes\nctypes.CDLL(None).printf(b'from C\\n')\nNone", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_expect_str_eq(r.stdout_text, "from C\n");
	sbx_exec_result_fini(&r);
}

Test(streams, stderr_then_traceback)
{
	struct sbx_exec_result r;
	t_exec(ses, "import sys\nprint('out')\nprint('err1', file=sys.stderr)\n1/0", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_EXCEPTION, "%s", t_outcome_name(r.outcome));
	cr_expect_str_eq(r.stdout_text, "out\n");
	cr_expect_str_eq(r.stderr_text, "err1\nTraceback (most recent call last):\n"
					"  File \"<cell>\", line 4, in <module>\n"
					"ZeroDivisionError: division by zero\n");
	cr_expect_str_eq(r.error_message, "ZeroDivisionError: division by zero");
	cr_expect_eq(r.value_kind, SBX_VALUE_NONE);
	sbx_exec_result_fini(&r);
}

Test(streams, traceback_through_earlier_cell)
{
	struct sbx_exec_result r;
	t_exec(ses, "def f(d):\n    return {}[d]", &r);
	sbx_exec_result_fini(&r);
	t_exec(ses, "x = 1\nf('missing')", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.stderr_text, "Traceback (most recent call last):\n"
					"  File \"<cell>\", line 2, in <module>\n"
					"  File \"<cell>\", line 2, in f\n"
					"KeyError: 'missing'\n");
	cr_expect_str_eq(r.error_message, "KeyError: 'missing'");
	sbx_exec_result_fini(&r);
}

Test(streams, syntax_errors)
{
	struct sbx_exec_result r;
	t_exec(ses, "x = (1 +", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_eq(strncmp(r.stderr_text, "  File \"<cell>\", line 1\n", 24), 0, "%s",
		     r.stderr_text);
	cr_expect_null(strstr(r.stderr_text, "sessionpool"), "helper frame leaked: %s",
		       r.stderr_text);
	cr_expect_eq(strncmp(r.error_message, "SyntaxError: ", 13), 0, "%s", r.error_message);
	sbx_exec_result_fini(&r);

	/* Notebook syntax is accepted (§8.1); an unknown magic is IPython's usage error, shown
	 * as IPython shows it: one line, no traceback. */
	t_exec(ses, "%no_such_magic_xyz", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message ? r.error_message : "",
			 "UsageError: Line magic function `%no_such_magic_xyz` not found.");
	cr_expect_str_eq(r.stderr_text ? r.stderr_text : "",
			 "UsageError: Line magic function `%no_such_magic_xyz` not found.\n");
	sbx_exec_result_fini(&r);
	/* Still a SyntaxError when the cell is broken after the transform too. */
	t_exec(ses, "%time x = (1 +", &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect(r.error_message && strstr(r.error_message, "SyntaxError"), "%s",
		  r.error_message ? r.error_message : "(null)");
	sbx_exec_result_fini(&r);

	/* Source with NUL: a SyntaxError too. */
	struct sbx_exec_request req = {"1\0", 2, T_TIMEOUT_MS, T_GRACE_MS, T_MAX_CHARS};
	struct sp_err err = {0};
	cr_assert_eq(sbx_session_exec(ses, &req, &r, &err), 0, "%s", err.msg);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message,
			 "SyntaxError: source code string cannot contain null bytes");
	sbx_exec_result_fini(&r);
}

Test(streams, exceptions_keep_the_interpreter)
{
	struct sbx_exec_result r;
	t_exec(ses, "kept = 'yes'\nimport sys\nsys.exit(3)", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message, "SystemExit: 3");
	sbx_exec_result_fini(&r);

	t_exec(ses, "raise KeyboardInterrupt", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message, "KeyboardInterrupt");
	sbx_exec_result_fini(&r);

	t_exec(ses, "input()", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message, "EOFError: EOF when reading a line");
	sbx_exec_result_fini(&r);

	t_exec(ses, "exit()", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.error_message, "SystemExit: None");
	sbx_exec_result_fini(&r);
	/* exit() closed sys.stdin: input() still gets end of file. */
	t_exec(ses, "input('prompt> ')", &r);
	cr_expect_str_eq(r.error_message, "EOFError: EOF when reading a line");
	sbx_exec_result_fini(&r);

	t_expect_value(ses, "kept", SBX_VALUE_TEXT, "'yes'");
}

Test(streams, truncation_by_code_points)
{
	struct sbx_exec_result r;
	t_exec_with(ses,
		    "print('\u00e9' * 10000)\nimport sys\nprint('\u20ac' * 50, file=sys.stderr)",
		    T_TIMEOUT_MS, T_GRACE_MS, 5, &r);
	cr_expect_str_eq(r.stdout_text, "\u00e9\u00e9\u00e9\u00e9\u00e9");
	cr_expect_eq(r.stdout_len, 10u);
	cr_expect_str_eq(r.stderr_text, "\u20ac\u20ac\u20ac\u20ac\u20ac");
	sbx_exec_result_fini(&r);

	t_exec_with(ses, "print('abc')", T_TIMEOUT_MS, T_GRACE_MS, 0, &r);
	cr_expect_str_eq(r.stdout_text, "");
	sbx_exec_result_fini(&r);

	/* The cut applies after the traceback is appended. */
	t_exec_with(ses, "import sys\nsys.stderr.write('12345')\n1/0", T_TIMEOUT_MS, T_GRACE_MS, 8,
		    &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION);
	cr_expect_str_eq(r.stderr_text, "12345Tra");
	sbx_exec_result_fini(&r);
}

Test(streams, invalid_utf8_and_nul)
{
	struct sbx_exec_result r;
	t_exec(ses,
	       "import os\nos.write(1, b'a\\xffb\\xed\\xa0\\x80c\\xf0\\x9f\\x98\\x80\\xe2\\x82')",
	       &r);
	/* ff, a lone surrogate (ed a0 80: three maximal subparts), a valid emoji, a cut sequence */
	cr_expect_str_eq(r.stdout_text, "a\xef\xbf\xbd"
					"b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
					"c\xf0\x9f\x98\x80\xef\xbf\xbd");
	sbx_exec_result_fini(&r);

	t_exec(ses, "print('a\\0b')", &r);
	cr_expect_eq(r.stdout_len, 4u);
	cr_expect_eq(memcmp(r.stdout_text, "a\0b\n", 4), 0);
	sbx_exec_result_fini(&r);

	/* Lone surrogates in Python text never break the reply. */
	t_expect_value(ses, "'\\ud800'", SBX_VALUE_TEXT, "'\\ud800'");
	t_exec(ses, "print('\\ud800')", &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_expect_str_eq(r.stdout_text, "\\ud800\n");
	sbx_exec_result_fini(&r);
}

Test(streams, huge_output_keeps_memory_bounded)
{
	struct rusage before, after;
	struct sbx_exec_result r;

	getrusage(RUSAGE_SELF, &before);
	/* 1 GiB on stdout, through Python and straight through fd 1. */
	t_exec_with(ses,
		    "import sys, os\nchunk = 'x' * (1 << 20)\n"
		    "for _ in range(512):\n    sys.stdout.write(chunk)\n"
		    "b = b'y' * (1 << 20)\nfor _ in range(512):\n    os.write(1, b)\nprint('end')",
		    120000, T_GRACE_MS, 10, &r);
	getrusage(RUSAGE_SELF, &after);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	cr_expect_str_eq(r.stdout_text, "xxxxxxxxxx");
	cr_expect_lt(after.ru_maxrss - before.ru_maxrss, 64 * 1024, "grew by %ld KiB",
		     after.ru_maxrss - before.ru_maxrss);
	sbx_exec_result_fini(&r);
}

Test(streams, output_between_cells_is_discarded)
{
	struct sbx_exec_result r;
	t_exec(ses,
	       "import threading, time, sys, subprocess\n"
	       "def late():\n    time.sleep(0.3)\n    print('late', flush=True)\n"
	       "threading.Thread(target=late).start()\n"
	       "subprocess.Popen(['sh', '-c', 'sleep 0.3; echo late-child >&2'])\n"
	       "print('now')",
	       &r);
	cr_expect_str_eq(r.stdout_text, "now\n");
	sbx_exec_result_fini(&r);
	usleep(700 * 1000);
	expect_output("print('next')", "next\n", "");
}

Test(streams, buffered_output_between_cells_is_discarded)
{
	/* Not flushed: it sits in the interpreter's buffers until the next cell flushes them. The
	 * logging handler keeps its own reference to sys.stderr. */
	struct sbx_exec_result r;
	t_exec(ses,
	       "import threading, logging, sys\n"
	       "log = logging.getLogger('bg')\n"
	       "log.addHandler(logging.StreamHandler(sys.stderr))\n"
	       "threading.Timer(0.3, lambda: (print('late'), log.warning('late-log'))).start()\n"
	       "print('now')",
	       &r);
	cr_expect_str_eq(r.stdout_text, "now\n");
	cr_expect_str_eq(r.stderr_text, "");
	sbx_exec_result_fini(&r);
	usleep(1000 * 1000);
	expect_output("print('next')\nlog.warning('now-log')", "next\n", "now-log\n");
	/* More than the 64 KiB buffer between cells: the excess is dropped too. */
	t_exec(ses, "threading.Timer(0.2, lambda: print('y' * 200000)).start()", &r);
	sbx_exec_result_fini(&r);
	usleep(700 * 1000);
	expect_output("print('after')", "after\n", "");
}

Test(streams, background_threads_run_between_cells)
{
	struct sbx_exec_result r;
	t_exec(ses,
	       "import threading, time\ncount = [0]\n"
	       "def tick():\n    while count[0] < 20:\n        count[0] += 1\n        "
	       "time.sleep(0.01)\n"
	       "threading.Thread(target=tick, daemon=True).start()",
	       &r);
	sbx_exec_result_fini(&r);
	usleep(500 * 1000);
	t_expect_value(ses, "count[0]", SBX_VALUE_JSON, "20");
}

Test(streams, exec_time_is_measured)
{
	struct sbx_exec_result r;
	t_exec(ses, "import time\ntime.sleep(0.25)", &r);
	cr_expect_geq(r.exec_ms, 250);
	cr_expect_lt(r.exec_ms, 2000);
	cr_expect_geq(r.request_ms, r.exec_ms);
	sbx_exec_result_fini(&r);
}
