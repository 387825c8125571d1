/* SPDX-License-Identifier: MIT */
/*
 * command.c: running a command inside a session process (see command.h).
 *
 * posix_spawn (clone with CLONE_VM | CLONE_VFORK, then execve) rather than fork: the interpreter
 * maps tens of megabytes, and a fork would copy its page tables and take copy-on-write faults
 * for nothing. The seccomp filter allows this clone (no namespace flag) and answers clone3 with
 * ENOSYS, after which glibc uses clone.
 *
 * Interrupts: SIGINT stays blocked in the interpreter's main thread for the whole request, so
 * a SIGINT sent to the process stays pending and is read here from a signalfd; a thread of the
 * interpreter started by user code while SIGINT was unblocked may take it instead (Python's
 * handler then only records it), which the caller's callback reports. Either way the command's
 * session is killed, so pipes and grandchildren of a shell (`sleep 1000 | cat &`) go with it.
 */
#include "command.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define SWEEP_ROUNDS 100

extern char **environ;

int cmd_spawn(const char *file, char *const argv[], pid_t *pid)
{
	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t none, all;
	int r;

	if (!argv[0])
		return -EINVAL;
	sigemptyset(&none);
	sigfillset(&all);
	r = posix_spawnattr_init(&attr);
	if (r != 0)
		return -r;
	r = posix_spawn_file_actions_init(&fa);
	if (r != 0) {
		posix_spawnattr_destroy(&attr);
		return -r;
	}
	/* A session of its own: the process group and session id to kill at an interrupt, and
	 * no controlling terminal to reach. The interpreter ignores SIGPIPE and SIGXFSZ (Python)
	 * and blocks SIGINT: the command gets neither. */
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t child = -1;
	if (r == 0)
		r = posix_spawnp(&child, file, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return -r;
	*pid = child;
	return 0;
}

/* The session id and state of /proc/<name>; false when it is gone or unreadable. */
static bool proc_session(int proc, const char *name, pid_t *sid, char *state)
{
	char path[64], buf[512];

	snprintf(path, sizeof(path), "%s/stat", name);
	cleanup_close int fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* pid (comm) state ppid pgrp session …: comm may hold spaces and parentheses. */
	char *p = strrchr(buf, ')');
	int s = 0;
	if (!p || sscanf(p + 1, " %c %*d %*d %d", state, &s) != 2)
		return false;
	*sid = (pid_t)s;
	return true;
}

void cmd_kill_session(pid_t sid)
{
	if (sid <= 1)
		return;
	kill(-sid, SIGKILL);
	for (int round = 0; round < SWEEP_ROUNDS; round++) {
		DIR *d = opendir("/proc");
		if (!d)
			return;
		unsigned found = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			pid_t s;
			char state;
			if (!proc_session(dirfd(d), e->d_name, &s, &state) || s != sid)
				continue;
			if (state == 'Z' || state == 'X')
				continue;
			kill((pid_t)strtol(e->d_name, NULL, 10), SIGKILL);
			found++;
		}
		closedir(d);
		if (!found)
			return;
		/* Killed processes take a moment to become zombies. */
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Reaps |pid|: its exit code, or 255 when it was reaped by someone else. */
static int reap(pid_t pid)
{
	int st = 0;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	return r == pid ? exit_code(st) : 255;
}

/* Reads every signal pending on |sigfd|; true if SIGINT was one of them. */
static bool take_signals(int sigfd)
{
	struct signalfd_siginfo si;
	bool sigint = false;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		sigint = sigint || si.ssi_signo == SIGINT;
	return sigint;
}

int cmd_wait(pid_t pid, bool (*intr)(void *ctx), void *ctx, struct cmd_status *out)
{
	sigset_t watch, chld, old;
	int r = 0;

	/* SIGCHLD too, blocked for the wait only: an orphan of the command that ends wakes us,
	 * and |intr| reaps it at once (a thread of ours that does not block SIGCHLD may take it:
	 * then the next tick does). */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	sigemptyset(&watch);
	sigaddset(&watch, SIGINT);
	sigaddset(&watch, SIGCHLD);
	cleanup_close int sigfd = signalfd(-1, &watch, SFD_NONBLOCK | SFD_CLOEXEC);
	cleanup_close int pidfd = pidfd_open(pid, 0);
	bool done = false;
	if (sigfd < 0 || pidfd < 0)
		r = -errno;
	while (r == 0) {
		struct pollfd p[2] = {{pidfd, POLLIN, 0}, {sigfd, POLLIN, 0}};
		int n = poll(p, 2, CMD_POLL_MS);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			done = true;
			break;
		}
		bool hit = n > 0 && (p[1].revents & POLLIN) && take_signals(sigfd);
		if (!hit && intr && intr(ctx))
			hit = true;
		if (hit)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (done) {
		*out = (struct cmd_status){.exit_code = reap(pid), .interrupted = false};
		return 0;
	}
	cmd_kill_session(pid);
	*out = (struct cmd_status){.exit_code = reap(pid), .interrupted = true};
	return r;
}
