/* SPDX-License-Identifier: MIT */
/*
 * attack_env.c: the throw-away user and emulators started as that user (see attack_env.h).
 * Everything here runs in the Criterion runner process, single-threaded, before and after the
 * tests; failures are reported as text for the tests to print, never by aborting.
 */
#include "attack_env.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef EMULATOR_PATH
#define EMULATOR_PATH "sessionpool-emulator"
#endif

#define USER_LOCK    "/tmp/sp-attack-user.lock"
#define USER_CREATED "/tmp/sp-attack-user.created"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs argv[0] from PATH and waits; returns its exit status, or -1 if it could not run. */
static int run_tool(const char *const *argv)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int atk_user_acquire(struct atk_user *u, const char *name, char *why, size_t why_len)
{
	memset(u, 0, sizeof(*u));
	u->lock_fd = -1;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->lock_fd = open(USER_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (u->lock_fd < 0 || flock(u->lock_fd, LOCK_EX) < 0) {
		int e = errno;
		snprintf(why, why_len, "cannot lock %s: %s", USER_LOCK, strerror(e));
		return -e;
	}
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		const char *argv[] = {"useradd",
				      "--system",
				      "--no-create-home",
				      "--shell",
				      "/usr/sbin/nologin",
				      "--comment",
				      "sessionpool attack tests",
				      name,
				      NULL};
		int rc = run_tool(argv);
		pw = getpwnam(name);
		if (rc != 0 || !pw) {
			snprintf(why, why_len, "useradd %s failed (exit status %d)", name, rc);
			flock(u->lock_fd, LOCK_UN);
			return -EPERM;
		}
		/* Remember that a test run made it, for whichever run releases it last. */
		int fd = open(USER_CREATED, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		u->created = true;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	flock(u->lock_fd, LOCK_SH);
	return 0;
}

void atk_user_release(struct atk_user *u)
{
	if (u->lock_fd < 0)
		return;
	/* The last run to let go removes a user that a run created; a user that existed before
	 * any run (no marker) is left alone. */
	if (flock(u->lock_fd, LOCK_EX | LOCK_NB) == 0 && access(USER_CREATED, F_OK) == 0) {
		const char *argv[] = {"userdel", u->name, NULL};
		int rc = run_tool(argv);
		if (rc == 0)
			unlink(USER_CREATED);
		else
			fprintf(stderr, "attacks: userdel %s failed (exit status %d)\n", u->name,
				rc);
	}
	close(u->lock_fd);
	u->lock_fd = -1;
}

int atk_emu_spawn(struct atk_emu *a, const struct atk_user *as, const char *const *extra, char *why,
		  size_t why_len)
{
	memset(a, 0, sizeof(*a));
	a->e.pid = -1;
	snprintf(a->e.dir, sizeof(a->e.dir), "/tmp/sp-atk-XXXXXX");
	if (!mkdtemp(a->e.dir)) {
		int e = errno;
		snprintf(why, why_len, "mkdtemp: %s", strerror(e));
		a->e.dir[0] = '\0';
		return -e;
	}
	if (as && chown(a->e.dir, as->uid, as->gid) < 0) {
		int e = errno;
		snprintf(why, why_len, "chown %s: %s", a->e.dir, strerror(e));
		emu_rm_tree(a->e.dir);
		return -e;
	}
	snprintf(a->e.data_dir, sizeof(a->e.data_dir), "%s/data", a->e.dir);
	snprintf(a->ready, sizeof(a->ready), "%s/ready", a->e.dir);
	snprintf(a->log, sizeof(a->log), "%s/emulator.log", a->e.dir);

	const char *bin = getenv("SESSIONPOOL_EMULATOR");
	if (!bin || !*bin)
		bin = EMULATOR_PATH;
	const char *argv[64];
	size_t n = 0;
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--ready-file";
	argv[n++] = a->ready;
	argv[n++] = "--data-dir";
	argv[n++] = a->e.data_dir;
	for (size_t i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(why, why_len, "fork: %s", strerror(e));
		emu_rm_tree(a->e.dir);
		return -e;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (as) {
			if (setgroups(0, NULL) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
			    setresuid(as->uid, as->uid, as->uid) < 0) {
				fprintf(stderr, "attacks: cannot become %s: %s\n", as->name,
					strerror(errno));
				_exit(126);
			}
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	a->e.pid = pid;
	a->started = true;
	return 0;
}

void atk_emu_log_tail(const struct atk_emu *a, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(a->log, "re");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	long from = size > (long)len - 1 ? size - ((long)len - 1) : 0;
	fseek(f, from, SEEK_SET);
	size_t got = fread(buf, 1, len - 1, f);
	buf[got] = '\0';
	fclose(f);
}

int atk_emu_wait(struct atk_emu *a, int timeout_s, char *why, size_t why_len)
{
	char tail[1024];
	long waited = 0, limit = (timeout_s > 0 ? timeout_s : 60) * 1000L;

	for (;;) {
		FILE *f = fopen(a->ready, "re");
		if (f) {
			char line[256];
			bool ok = fgets(line, sizeof(line), f) && strchr(line, '\n');
			fclose(f);
			if (ok) {
				line[strcspn(line, "\r\n")] = '\0';
				snprintf(a->e.base_url, sizeof(a->e.base_url), "%s", line);
				return 0;
			}
		}
		int st;
		if (waitpid(a->e.pid, &st, WNOHANG) == a->e.pid) {
			a->e.pid = -1;
			atk_emu_log_tail(a, tail, sizeof(tail));
			snprintf(why, why_len,
				 "the emulator exited (%s %d) before it was ready: %s",
				 WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), tail);
			atk_emu_stop(a);
			return -ECHILD;
		}
		if (waited >= limit) {
			atk_emu_log_tail(a, tail, sizeof(tail));
			snprintf(why, why_len, "the emulator was not ready within %d s: %s",
				 timeout_s, tail);
			atk_emu_stop(a);
			return -ETIMEDOUT;
		}
		sleep_ms(20);
		waited += 20;
	}
}

bool atk_emu_stop(struct atk_emu *a)
{
	int status = 0;
	bool clean = true;

	if (!a->started)
		return true;
	if (a->e.pid > 0) {
		kill(a->e.pid, SIGTERM);
		pid_t r = 0;
		for (int i = 0; i < 1000 && r != a->e.pid; i++) {
			r = waitpid(a->e.pid, &status, WNOHANG);
			if (r < 0 && errno != EINTR)
				break;
			if (r != a->e.pid)
				sleep_ms(20);
		}
		if (r != a->e.pid) {
			kill(-a->e.pid, SIGKILL);
			waitpid(a->e.pid, &status, 0);
			clean = false;
		}
		/* Anything left in its process group. */
		kill(-a->e.pid, SIGKILL);
		clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!clean || getenv("SESSIONPOOL_TEST_LOG")) {
			char tail[8192];
			atk_emu_log_tail(a, tail, sizeof(tail));
			fprintf(stderr, "---- %s (%s %d) ----\n%s---- end of log ----\n", a->log,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
		}
		a->e.pid = -1;
	}
	emu_rm_tree(a->e.dir);
	a->e.dir[0] = '\0';
	a->started = false;
	return clean;
}
