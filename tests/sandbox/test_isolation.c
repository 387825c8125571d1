/* SPDX-License-Identifier: MIT */
/*
 * test_isolation.c: what a session can see and do in full isolation: pid 1 of its own pid
 * namespace, its own /proc and /mnt/data only, no network, a read-only root, a non-root uid, no
 * capabilities, seccomp, rlimits, no leaked descriptors or environment, distinct random seeds.
 * Each probe runs inside the session and its result is compared exactly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static struct sbx_zygote *zyg;

static void setup(void)
{
	zyg = t_zygote(SBX_ISOLATION_FULL);
}

static void teardown(void)
{
	sbx_zygote_stop(zyg);
	t_cleanup();
}

TestSuite(isolation, .init = setup, .fini = teardown, .timeout = 90);

static void expect_exception(struct sbx_session *s, const char *code, const char *message)
{
	struct sbx_exec_result r;
	t_exec(s, code, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_EXCEPTION, "[%s] %s", code, t_outcome_name(r.outcome));
	cr_expect_str_eq(r.error_message ? r.error_message : "(NULL)", message,
			 "[%s] got <%s> want <%s>", code, r.error_message, message);
	sbx_exec_result_fini(&r);
}

Test(isolation, pid_namespace_and_proc)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	t_expect_value(s, "import os\nos.getpid()", SBX_VALUE_JSON, "1");
	t_expect_value(s, "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())",
		       SBX_VALUE_JSON, "[1]");
	/* The emulator's pid does not exist in here. */
	char code[96];
	snprintf(code, sizeof(code), "os.path.exists('/proc/%d')", (int)getpid());
	t_expect_value(s, code, SBX_VALUE_TEXT, getpid() == 1 ? "True" : "False");
	t_expect_value(s, "import socket\nsocket.gethostname()", SBX_VALUE_TEXT, "'session'");
	sbx_session_free(s);
}

Test(isolation, mnt_data_is_private)
{
	const char *host_a, *host_b;
	struct sbx_session *a = t_spawn(zyg, 1, &host_a);
	struct sbx_session *b = t_spawn(zyg, 2, &host_b);
	char path[400], code[600];

	t_expect_value(a, "import os\nos.getcwd()", SBX_VALUE_TEXT, "'/mnt/data'");
	t_expect_value(a, "open('secret.txt', 'w').write('A only')", SBX_VALUE_JSON, "6");
	snprintf(path, sizeof(path), "%s/secret.txt", host_a);
	char *content = t_read_file(path);
	cr_expect_str_eq(content ? content : "(missing)", "A only");
	free(content);

	/* A file written on the host (an upload) is visible at once. */
	snprintf(path, sizeof(path), "%s/upload.txt", host_b);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("uploaded", f);
	fclose(f);
	if (geteuid() == 0)
		cr_assert_eq(chown(path, sbx_zygote_slot_uid(zyg, 2), sbx_zygote_slot_uid(zyg, 2)),
			     0);
	t_expect_value(b, "import os\nsorted(os.listdir('/mnt/data'))", SBX_VALUE_TEXT,
		       "['upload.txt']");
	t_expect_value(b, "open('/mnt/data/upload.txt').read()", SBX_VALUE_TEXT, "'uploaded'");
	/* Uploaded modules are importable, as in Jupyter: '' and /mnt/data lead sys.path. */
	snprintf(path, sizeof(path), "%s/helper_mod.py", host_b);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("ANSWER = 42\n", f);
	fclose(f);
	t_expect_value(b, "import sys, helper_mod\n(sys.path[:2], helper_mod.ANSWER)",
		       SBX_VALUE_TEXT, "(['', '/mnt/data'], 42)");
	/* A's directory is not reachable from B, by its host path or otherwise. */
	snprintf(code, sizeof(code), "os.path.exists(%s)", "'secret.txt'");
	t_expect_value(b, code, SBX_VALUE_TEXT, "False");
	snprintf(code, sizeof(code), "os.path.exists('%s')", host_a);
	t_expect_value(b, code, SBX_VALUE_TEXT, "False");
	t_expect_value(b,
		       "sorted(set(os.listdir('/')) - {'bin', 'sbin', 'lib', 'lib32', 'lib64', "
		       "'libx32'})",
		       SBX_VALUE_TEXT, "['dev', 'etc', 'mnt', 'proc', 'tmp', 'usr']");
	sbx_session_free(a);
	sbx_session_free(b);
}

Test(isolation, no_network)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	expect_exception(s, "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
			 "PermissionError: [Errno 13] Permission denied");
	expect_exception(s, "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
			 "PermissionError: [Errno 13] Permission denied");
	expect_exception(s, "socket.create_connection(('127.0.0.1', 80))",
			 "PermissionError: [Errno 13] Permission denied");
	/* AF_UNIX stays available (multiprocessing, asyncio). */
	t_expect_value(s, "a, b = socket.socketpair()\na.send(b'x')\nb.recv(1)", SBX_VALUE_TEXT,
		       "b'x'");
	t_expect_value(s, "import asyncio\nawait asyncio.sleep(0, 'ok')", SBX_VALUE_TEXT, "'ok'");
	sbx_session_free(s);
}

Test(isolation, network_namespace_has_only_loopback)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	t_expect_value(
	    s, "sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:])",
	    SBX_VALUE_TEXT, "['lo']");
	sbx_session_free(s);
}

Test(isolation, egress_keeps_the_host_network)
{
	struct sbx_zygote *z = t_zygote_egress(SBX_ISOLATION_AUTO, true);
	struct sbx_session *s = t_spawn(z, 1, NULL);
	t_expect_value(
	    s, "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.close()",
	    SBX_VALUE_NONE, NULL);
	t_expect_value(s, "len(open('/proc/net/dev').readlines()[2:]) > 1", SBX_VALUE_TEXT, "True");
	sbx_session_free(s);
	sbx_zygote_stop(z);
}

Test(isolation, read_only_root_and_writable_tmp)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	expect_exception(s, "open('/usr/evil', 'w')",
			 "OSError: [Errno 30] Read-only file system: '/usr/evil'");
	expect_exception(s, "open('/etc/passwd', 'a')",
			 "PermissionError: [Errno 13] Permission denied: '/etc/passwd'");
	expect_exception(s, "open('/evil', 'w')",
			 "OSError: [Errno 30] Read-only file system: '/evil'");
	t_expect_value(s, "open('/tmp/t', 'w').write('ok')\nopen('/tmp/t').read()", SBX_VALUE_TEXT,
		       "'ok'");
	t_expect_value(s, "import os\nos.environ['HOME'], os.environ['MPLCONFIGDIR']",
		       SBX_VALUE_TEXT, "('/tmp', '/tmp')");
	t_expect_value(s,
		       "from multiprocessing import Pool\nwith Pool(2) as p:\n"
		       "    r = p.map(abs, [-1, -2, -3])\nr",
		       SBX_VALUE_JSON, "[1,2,3]");
	sbx_session_free(s);
}

Test(isolation, identity_and_privileges)
{
	struct sbx_session *s = t_spawn(zyg, 3, NULL);
	char want[32];

	if (geteuid() == 0)
		snprintf(want, sizeof(want), "(%u, %u)", 200003u, 200003u);
	else
		snprintf(want, sizeof(want), "(%u, %u)", (unsigned)getuid(), (unsigned)getgid());
	t_expect_value(s, "import os\nos.getuid(), os.getgid()", SBX_VALUE_TEXT, want);
	t_expect_value(
	    s,
	    "st = {l.split(':')[0]: l.split()[1] for l in open('/proc/self/status') "
	    "if ':' in l and len(l.split()) > 1}\n"
	    "[st['CapEff'], st['CapPrm'], st['CapBnd'], st['NoNewPrivs'], st['Seccomp']]",
	    SBX_VALUE_TEXT,
	    "['0000000000000000', '0000000000000000', '0000000000000000', '1', '2']");
	t_expect_value(s, "sorted(os.listdir('/proc/self/fd'))", SBX_VALUE_TEXT,
		       "['0', '1', '2', '3', '4']");
	t_expect_value(s, "os.readlink('/proc/self/fd/0')", SBX_VALUE_TEXT, "'/dev/null'");
	t_expect_value(
	    s, "sorted(os.environ)", SBX_VALUE_TEXT,
	    "['HOME',\n 'LANG',\n 'MKL_NUM_THREADS',\n 'MPLBACKEND',\n 'MPLCONFIGDIR',\n "
	    "'OMP_NUM_THREADS',\n 'OPENBLAS_NUM_THREADS',\n 'PATH',\n "
	    "'PIP_BREAK_SYSTEM_PACKAGES',\n "
	    "'PIP_DISABLE_PIP_VERSION_CHECK',\n 'PIP_USER']");
	t_expect_value(s, "import resource\nresource.getrlimit(resource.RLIMIT_NPROC)",
		       SBX_VALUE_TEXT, "(128, 128)");
	t_expect_value(s, "resource.getrlimit(resource.RLIMIT_CORE)", SBX_VALUE_TEXT, "(0, 0)");
	expect_exception(s, "bytearray(3 * 1024 ** 3)", "MemoryError");
	t_expect_value(s, "len(bytearray(64 * 1024 ** 2))", SBX_VALUE_JSON, "67108864");
	sbx_session_free(s);
}

Test(isolation, seccomp_refuses_namespaces_mounts_and_ptrace)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	/* (return value, errno) of raw calls through ctypes. */
	t_expect_value(s,
		       "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
		       "def call(f, *a):\n    r = f(*a)\n    return r, ctypes.get_errno()\n"
		       "call(libc.unshare, 0x10000000)",
		       SBX_VALUE_TEXT, "(-1, 1)");
	t_expect_value(s, "call(libc.mount, b'none', b'/tmp', b'tmpfs', 0, None)", SBX_VALUE_TEXT,
		       "(-1, 1)");
	t_expect_value(s, "call(libc.syscall, 101, 16, 1, 0, 0)", SBX_VALUE_TEXT, "(-1, 1)");
	/* clone() with a namespace flag is refused; clone3 says ENOSYS so glibc falls back. */
	t_expect_value(s, "call(libc.syscall, 56, 0x20000000 | 17, 0, 0, 0, 0)", SBX_VALUE_TEXT,
		       "(-1, 1)");
	t_expect_value(s, "call(libc.syscall, 435, 0, 0)", SBX_VALUE_TEXT, "(-1, 38)");
	t_expect_value(s, "call(libc.syscall, 321, 0, 0, 0)", SBX_VALUE_TEXT, "(-1, 1)");
	/* Threads and processes still work. */
	t_expect_value(s,
		       "import threading\nout = []\nt = threading.Thread(target=out.append, "
		       "args=(1,))\nt.start(); t.join()\nout",
		       SBX_VALUE_JSON, "[1]");
	t_expect_value(s, "import subprocess\nsubprocess.run(['true']).returncode", SBX_VALUE_JSON,
		       "0");
	sbx_session_free(s);
}

/* Issue 13: the root and /tmp are one tmpfs (a superblock less per session, and so less kernel
 * memory in every memory cgroup), /tmp still writable, 1777 and of its own size, the root still
 * read-only, /dev/shm still a tmpfs of its own. */
Test(isolation, root_and_tmp_share_one_tmpfs)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	t_expect_value(s,
		       "import os\nst = os.statvfs('/tmp')\n"
		       "(os.stat('/').st_dev == os.stat('/tmp').st_dev,"
		       " os.stat('/dev/shm').st_dev != os.stat('/tmp').st_dev,"
		       " st.f_blocks * st.f_frsize >> 20, oct(os.stat('/tmp').st_mode),"
		       " os.statvfs('/').f_flag & os.ST_RDONLY != 0,"
		       " os.statvfs('/tmp').f_flag & os.ST_RDONLY != 0)",
		       SBX_VALUE_TEXT, "(True, True, 64, '0o41777', True, False)");
	sbx_session_free(s);
}

Test(isolation, sessions_get_different_random_numbers)
{
	struct sbx_session *a = t_spawn(zyg, 1, NULL);
	struct sbx_session *b = t_spawn(zyg, 2, NULL);
	static const char code[] =
	    "import random, numpy\n(random.random(), float(numpy.random.rand()))";
	struct sbx_exec_result ra, rb;
	t_exec(a, code, &ra);
	t_exec(b, code, &rb);
	cr_assert_eq(ra.value_kind, SBX_VALUE_TEXT, "%s", ra.stderr_text);
	cr_assert_eq(rb.value_kind, SBX_VALUE_TEXT, "%s", rb.stderr_text);
	/* Compare each generator separately: "(python, numpy)". */
	char *ca = strchr(ra.value, ','), *cb = strchr(rb.value, ',');
	cr_assert(ca && cb);
	cr_expect_neq(strncmp(ra.value, rb.value, (size_t)(ca - ra.value)), 0, "random: %s vs %s",
		      ra.value, rb.value);
	cr_expect_str_neq(ca, cb, "numpy.random: %s vs %s", ra.value, rb.value);
	sbx_exec_result_fini(&ra);
	sbx_exec_result_fini(&rb);
	sbx_session_free(a);
	sbx_session_free(b);
}

Test(isolation, zombies_of_orphans_are_reaped_but_own_children_are_not)
{
	struct sbx_session *s = t_spawn(zyg, 1, NULL);
	struct sbx_exec_result r;
	t_exec(s,
	       "import subprocess, time, os\n"
	       "mine = subprocess.Popen(['sh', '-c', 'exit 7'])\n"
	       "subprocess.run(['sh', '-c', 'sleep 0.05 & exit 0'])\n"
	       "time.sleep(0.3)",
	       &r);
	cr_assert_eq(r.outcome, SBX_OUTCOME_OK, "%s", r.stderr_text);
	sbx_exec_result_fini(&r);
	/* The orphaned sleep was reaped after the cell; our Popen still gets its status. */
	t_expect_value(s,
		       "[p for p in os.listdir('/proc') if p.isdigit() and "
		       "open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0] == 'Z' and "
		       "int(p) != mine.pid]",
		       SBX_VALUE_JSON, "[]");
	t_expect_value(s, "mine.wait()", SBX_VALUE_JSON, "7");
	sbx_session_free(s);
}
