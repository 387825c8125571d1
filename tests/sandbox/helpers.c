/* SPDX-License-Identifier: MIT */
/* helpers.c: fixtures of the sandbox tests (see helpers.h). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
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

#include "b64.h"
#include "tree.h"

static char tmp_root[256];

const char *t_zygote_path(void)
{
	const char *env = getenv("SBX_TEST_ZYGOTE");
	return env && *env ? env : SBX_TEST_ZYGOTE;
}

void t_cleanup(void)
{
	struct stat st;
	if (tmp_root[0] && lstat(tmp_root, &st) == 0)
		sp_tree_remove_at(AT_FDCWD, tmp_root, st.st_dev, 0);
	tmp_root[0] = '\0';
}

static void ensure_tmp_root(void)
{
	if (tmp_root[0])
		return;
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/sbxtest.%d.XXXXXX", (int)getpid());
	cr_assert_not_null(mkdtemp(tmp_root), "mkdtemp: %s", strerror(errno));
	chmod(tmp_root, 0755);
	atexit(t_cleanup);
}

struct sbx_zygote *t_zygote(enum sbx_isolation iso)
{
	return t_zygote_egress(iso, false);
}

struct sbx_zygote *t_zygote_egress(enum sbx_isolation iso, bool egress)
{
	struct sbx_options opt;
	struct sbx_zygote *z = NULL;
	struct sp_err err = {0};

	mkdir(SBX_TEST_STATE_DIR, 0755);
	sbx_options_init(&opt);
	opt.zygote_path = t_zygote_path();
	opt.state_dir = SBX_TEST_STATE_DIR;
	opt.isolation = iso;
	opt.egress = egress;
	int r = sbx_zygote_start(&opt, &z, &err);
	cr_assert_eq(r, 0, "sbx_zygote_start: %s", err.msg);
	cr_assert_not_null(z);
	return z;
}

const char *t_host_dir(struct sbx_zygote *z, unsigned slot)
{
	static char paths[64][300];
	static unsigned next;

	ensure_tmp_root();
	cr_assert_lt(next, 64u, "too many host directories in one test");
	char *p = paths[next++];
	snprintf(p, sizeof(paths[0]), "%s/host%u.XXXXXX", tmp_root, slot);
	cr_assert_not_null(mkdtemp(p));
	uid_t u = z ? sbx_zygote_slot_uid(z, slot) : (uid_t)-1;
	if (u != (uid_t)-1)
		cr_assert_eq(chown(p, u, u), 0, "chown: %s", strerror(errno));
	chmod(p, 0700);
	return p;
}

struct sbx_session *t_spawn(struct sbx_zygote *z, unsigned slot, const char **host)
{
	struct sbx_session *s = NULL;
	struct sp_err err = {0};
	const char *dir = t_host_dir(z, slot);

	int r = sbx_session_spawn(z, dir, slot, &s, &err);
	cr_assert_eq(r, 0, "sbx_session_spawn: %s", err.msg);
	if (host)
		*host = dir;
	return s;
}

void t_exec_with(struct sbx_session *s, const char *code, unsigned timeout_ms, unsigned grace_ms,
		 size_t max_chars, struct sbx_exec_result *r)
{
	struct sbx_exec_request req = {
	    .code = code,
	    .code_len = strlen(code),
	    .timeout_ms = timeout_ms,
	    .grace_ms = grace_ms,
	    .stream_max_chars = max_chars,
	};
	struct sp_err err = {0};
	int rc = sbx_session_exec(s, &req, r, &err);
	cr_assert_eq(rc, 0, "sbx_session_exec(%s): %s", code, err.msg);
	cr_assert_not_null(r->stdout_text);
	cr_assert_not_null(r->stderr_text);
}

void t_exec(struct sbx_session *s, const char *code, struct sbx_exec_result *r)
{
	t_exec_with(s, code, T_TIMEOUT_MS, T_GRACE_MS, T_MAX_CHARS, r);
}

void t_expect_value(struct sbx_session *s, const char *code, enum sbx_value_kind kind,
		    const char *value)
{
	struct sbx_exec_result r;
	t_exec(s, code, &r);
	cr_expect_eq(r.outcome, SBX_OUTCOME_OK, "[%s] outcome %s, stderr: %s", code,
		     t_outcome_name(r.outcome), r.stderr_text);
	cr_expect_eq(r.value_kind, kind, "[%s] kind %s, expected %s (value %s)", code,
		     t_kind_name(r.value_kind), t_kind_name(kind), r.value ? r.value : "NULL");
	if (value)
		cr_expect_str_eq(r.value ? r.value : "(NULL)", value, "[%s] got <%s> want <%s>",
				 code, r.value ? r.value : "(NULL)", value);
	else
		cr_expect_null(r.value, "[%s] value %s", code, r.value);
	sbx_exec_result_fini(&r);
}

const char *t_outcome_name(enum sbx_outcome o)
{
	static const char *const names[] = {"OK",      "EXCEPTION", "TIMEOUT", "TIMEOUT_RESTARTED",
					    "CRASHED", "CANCELED"};
	return (unsigned)o < 6 ? names[o] : "?";
}

const char *t_kind_name(enum sbx_value_kind k)
{
	static const char *const names[] = {"NONE", "NULL", "JSON", "TEXT", "IMAGE"};
	return (unsigned)k < 5 ? names[k] : "?";
}

unsigned char *t_base64_decode(const char *in, size_t *out_len)
{
	char *out = NULL;
	if (sp_b64_decode(in, strlen(in), SP_B64_PAD, &out, out_len) < 0)
		return NULL;
	return (unsigned char *)out;
}

char *t_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		sp_tree_remove_at(AT_FDCWD, path, st.st_dev, 0);
}

int t_as_nobody(const char *tag, int (*child)(const char *state, const char *host, void *arg),
		void *arg, void (*inspect)(const char *host, void *arg))
{
	const uid_t nobody = 65534;
	char state[128], host[128];
	snprintf(state, sizeof(state), "/tmp/sbxtest-%s.XXXXXX", tag);
	snprintf(host, sizeof(host), "/tmp/sbxtest-%s-host.XXXXXX", tag);
	cr_assert_not_null(mkdtemp(state));
	cr_assert_not_null(mkdtemp(host));
	cr_assert_eq(chown(state, nobody, nobody), 0);
	cr_assert_eq(chown(host, nobody, nobody), 0);
	chmod(state, 0755);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(nobody, nobody, nobody) < 0 ||
		    setresuid(nobody, nobody, nobody) < 0)
			_exit(2);
		_exit(child(state, host, arg));
	}
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (inspect)
		inspect(host, arg);
	/* Leftovers in /tmp (a tree nobody made unreadable) are harmless. */
	remove_tree(state);
	remove_tree(host);
	return st;
}

int t_count_sleepers(const char *arg)
{
	char want[64], path[300], buf[64];
	int n = snprintf(want, sizeof(want), "sleep%c%s", 0, arg) + 1;
	int count = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t got = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		count += got == (size_t)n && memcmp(buf, want, (size_t)n) == 0;
	}
	if (d)
		closedir(d);
	return count;
}

static int mnt_data_lock = -1;
static bool mnt_data_existed;

void t_mnt_data_take(void)
{
	struct stat st;
	mkdir(SBX_TEST_STATE_DIR, 0755);
	mnt_data_lock =
	    open(SBX_TEST_STATE_DIR "/mnt-data.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(mnt_data_lock, 0);
	cr_assert_eq(flock(mnt_data_lock, LOCK_EX), 0);
	mnt_data_existed = lstat("/mnt/data", &st) == 0;
}

void t_mnt_data_give_back(void)
{
	char target[64];
	ssize_t n = readlink("/mnt/data", target, sizeof(target) - 1);
	if (!mnt_data_existed && n > 0) {
		target[n] = '\0';
		if (strcmp(target, "/proc/self/fd/200") == 0)
			unlink("/mnt/data");
	}
	close(mnt_data_lock);
	mnt_data_lock = -1;
}
