/* SPDX-License-Identifier: MIT */
/*
 * test_limits.c: per-session control groups (memory and pids; cgroup.h) where the machine offers
 * them: the limits written, an out-of-memory kill that takes the whole session and nothing else,
 * and no group left behind after stop. Skipped, with the zygote's reason, without cgroups.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(limits, .fini = t_cleanup, .timeout = 120);

#define MEM_MB	384
#define TMP_MB	16
#define DISK_MB 32

static struct sbx_zygote *zygote_with_limits(void)
{
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sp_err err = {0};
	mkdir(SBX_TEST_STATE_DIR, 0755);
	sbx_options_init(&opt);
	opt.zygote_path = t_zygote_path();
	opt.state_dir = SBX_TEST_STATE_DIR;
	opt.memory_bytes = (uint64_t)MEM_MB << 20;
	opt.tmp_bytes = (uint64_t)TMP_MB << 20;
	opt.disk_bytes = (uint64_t)DISK_MB << 20;
	opt.max_processes = 40;
	cr_assert_eq(sbx_zygote_start(&opt, &z, &err), 0, "%s", err.msg);
	const char *cg = sbx_zygote_cgroups(z);
	cr_assert_not_null(cg);
	if (strncmp(cg, "off", 3) == 0) {
		sbx_zygote_stop(z);
		cr_skip_test("no session cgroups: %s", cg);
	}
	return z;
}

/* The directory of |pid|'s group in the hierarchy of |controller| ("" for v2). */
static int group_of(pid_t pid, const char *controller, char *buf, size_t n)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	int r = -1;
	while (f && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		char *group = c2 + 1;
		group[strcspn(group, "\n")] = '\0';
		bool v2 = *controller == '\0' && c1[1] == '\0';
		if (!v2 && (*controller == '\0' || strcmp(c1 + 1, controller) != 0))
			continue;
		if (v2)
			snprintf(buf, n, "/sys/fs/cgroup%s", group);
		else
			snprintf(buf, n, "/sys/fs/cgroup/%s%s", controller, group);
		r = 0;
		break;
	}
	if (f)
		fclose(f);
	return r;
}

static unsigned long long read_u64(const char *dir, const char *file)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *text = t_read_file(path);
	cr_assert_not_null(text, "cannot read %s", path);
	unsigned long long v = strtoull(text, NULL, 10);
	free(text);
	return v;
}

Test(limits, slot_groups_carry_the_limits_and_go_at_stop)
{
	struct sbx_zygote *z = zygote_with_limits();
	struct sbx_session *s = t_spawn(z, 5, NULL);
	char mem[1024], pids[1024];
	bool v1 = strncmp(sbx_zygote_cgroups(z), "v1", 2) == 0;
	pid_t pid = sbx_session_pid(s);
	cr_assert_eq(group_of(pid, v1 ? "memory" : "", mem, sizeof(mem)), 0);
	cr_assert_eq(group_of(pid, v1 ? "pids" : "", pids, sizeof(pids)), 0);
	cr_expect(strstr(mem, "/sessionpool-") && strstr(mem, "/slot-5"), "%s", mem);
	/* The processes' memory plus what the session's tmpfs file systems may hold. */
	unsigned long long want = (unsigned long long)(MEM_MB + DISK_MB + 2 * TMP_MB) << 20;
	cr_expect_eq(read_u64(mem, v1 ? "memory.limit_in_bytes" : "memory.max"), want);
	cr_expect_eq(read_u64(pids, "pids.max"), 40ull);
	/* Its children are in the group too. */
	t_expect_value(
	    s,
	    "import subprocess\n"
	    "subprocess.run(['cat', '/proc/self/cgroup'], capture_output=True, text=True)"
	    ".stdout == open('/proc/self/cgroup').read()",
	    SBX_VALUE_TEXT, "True");
	sbx_session_free(s);
	char *parent = strdup(mem);
	*strrchr(parent, '/') = '\0';
	struct stat st;
	cr_expect_eq(stat(parent, &st), 0, "%s", parent);
	sbx_zygote_stop(z);
	cr_expect(stat(parent, &st) < 0 && errno == ENOENT, "%s is still there", parent);
	free(parent);
}

Test(limits, out_of_memory_kills_the_session_alone)
{
	struct sbx_zygote *z = zygote_with_limits();
	struct sbx_session *a = t_spawn(z, 1, NULL);
	struct sbx_session *b = t_spawn(z, 2, NULL);
	pid_t pid_b = sbx_session_pid(b);
	struct sbx_exec_result r;
	t_expect_value(a, "x = 1\nx", SBX_VALUE_JSON, "1");
	t_expect_value(b, "y = 2\ny", SBX_VALUE_JSON, "2");

	/* Each child stays below RLIMIT_AS (384 MiB); together they exceed the session's 448. */
	t_exec(a,
	       "import subprocess\n"
	       "ps = [subprocess.Popen(['/usr/bin/python3', '-c', "
	       "'import time; b = b\"x\" * (200 << 20); time.sleep(30)']) for i in range(3)]\n"
	       "[p.wait() for p in ps]",
	       &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_CRASHED, "%s: %s", t_outcome_name(r.outcome),
		     r.stderr_text);
	cr_expect(r.error_message && strstr(r.error_message, "out of memory"), "%s",
		  r.error_message ? r.error_message : "(null)");
	sbx_exec_result_fini(&r);
	/* A fresh interpreter in the same session; the other session did not notice. */
	t_expect_value(a, "'x' in globals()", SBX_VALUE_TEXT, "False");
	t_expect_value(a, "6 * 7", SBX_VALUE_JSON, "42");
	cr_expect_eq(sbx_session_pid(b), pid_b);
	t_expect_value(b, "y", SBX_VALUE_JSON, "2");
	sbx_session_free(a);
	sbx_session_free(b);
	sbx_zygote_stop(z);
}
