/* SPDX-License-Identifier: MIT */
/*
 * Emulator instances; see emulator.h. Between fork() and exec() the child only makes
 * async-signal-safe calls (the runner is multi-threaded), so argv is built before forking.
 * The child gets its own process group: a terminal Ctrl-C reaches only the runner, which then
 * deletes its sessions and stops the instances in order.
 */
#include "emulator.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

struct emu_instance {
	pid_t pid;
	bool running;
	char *dir;
	char *log;
	char *base_url;
	char *keep_log_as;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t registry[64];

static void registry_set(pid_t pid, bool add)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		if (add && registry[i] == 0) {
			registry[i] = pid;
			break;
		}
		if (!add && registry[i] == pid) {
			registry[i] = 0;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

void emu_kill_all(void)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (registry[i] > 0)
			kill(registry[i], SIGKILL);
	pthread_mutex_unlock(&registry_lock);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

char *emu_log_tail(const struct emu_instance *e, size_t max)
{
	cleanup_close int fd = open(e->log, O_RDONLY | O_CLOEXEC);
	char *buf = calloc(1, max + 1);
	if (!buf || fd < 0)
		return buf;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)max ? size - (off_t)max : 0;
	ssize_t n = pread(fd, buf, max, from);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Reads the ready file's first complete line into *out; 0 when there is none yet. */
static int read_ready(const char *path, char **out)
{
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	cleanup_free char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n <= 0 || line[n - 1] != '\n')
		return 0;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	while (n > 0 && line[n - 1] == '/')
		line[--n] = '\0';
	if (n == 0)
		return 0;
	*out = steal_pointer(&line);
	return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with wait status %d", status);
}

/* Makes the instance's directory and names the ready file, data directory and log in it. */
static int make_dir(struct emu_instance *e, const struct emu_launch *l, char **ready, char **data,
		    struct sp_err *err)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	if (asprintf(&e->dir, "%s/sp-conformance-XXXXXX", tmp) < 0) {
		e->dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(e->dir))
		return sp_err_sys(err, -errno, "cannot create a directory in %s", tmp);
	if (asprintf(ready, "%s/ready", e->dir) < 0 || asprintf(data, "%s/data", e->dir) < 0 ||
	    asprintf(&e->log, "%s/emulator.log", e->dir) < 0 ||
	    (l->keep_log_as && !(e->keep_log_as = strdup(l->keep_log_as))))
		return -ENOMEM;
	if (mkdir(*data, 0700) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", *data);
	return 0;
}

/* In the forked child: only async-signal-safe calls until execv(). */
static _Noreturn void exec_child(const char *binary, const char **argv, int logfd, pid_t parent)
{
	/* The runner blocks SIGINT/SIGTERM (its signal thread takes them) and ignores
	 * SIGPIPE; a blocked mask and ignored dispositions survive exec, so undo both or
	 * the emulator could neither be stopped nor interrupt its cells. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	int devnull = open("/dev/null", O_RDONLY);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(126);
	setpgid(0, 0);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(126);
	execv(binary, (char *const *)argv);
	static const char msg[] = "exec of the emulator failed\n";
	ssize_t ignored = write(2, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(127);
}

/* Starts the emulator process, its output going to e->log; e->pid and e->running on success. */
static int spawn(struct emu_instance *e, const struct emu_launch *l, const char *ready,
		 const char *data, struct sp_err *err)
{
	size_t argc = 0;
	const char **argv = calloc(l->n_args + 8, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[argc++] = l->binary;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--ready-file";
	argv[argc++] = ready;
	argv[argc++] = "--data-dir";
	argv[argc++] = data;
	for (size_t i = 0; i < l->n_args; i++)
		argv[argc++] = l->args[i];
	argv[argc] = NULL;

	int logfd = open(e->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		int r = sp_err_sys(err, -errno, "cannot create %s", e->log);
		free(argv);
		return r;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		exec_child(l->binary, argv, logfd, parent);
	int saved = errno;
	close(logfd);
	free(argv);
	if (pid < 0)
		return sp_err_sys(err, -saved, "fork");
	e->pid = pid;
	e->running = true;
	registry_set(pid, true);
	return 0;
}

/* Waits for the ready file; fails when the emulator ends first or the timeout passes. */
static int wait_ready(struct emu_instance *e, const struct emu_launch *l, const char *ready,
		      struct sp_err *err)
{
	long deadline = now_ms() + (l->ready_timeout_ms > 0 ? l->ready_timeout_ms : 60000);
	for (;;) {
		if (read_ready(ready, &e->base_url))
			return 0;
		int status;
		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			e->running = false;
			registry_set(e->pid, false);
			char how[96];
			describe_status(status, how, sizeof(how));
			cleanup_free char *tail = emu_log_tail(e, 600);
			return sp_err_set(err, -ECHILD, "%s %s before it was ready; log: %s",
					  l->binary, how, tail ? tail : "");
		}
		if (now_ms() > deadline) {
			cleanup_free char *tail = emu_log_tail(e, 600);
			return sp_err_set(err, -ETIMEDOUT,
					  "%s did not write its ready file within %d ms; log: %s",
					  l->binary,
					  l->ready_timeout_ms > 0 ? l->ready_timeout_ms : 60000,
					  tail ? tail : "");
		}
		sleep_ms(20);
	}
}

int emu_start(const struct emu_launch *l, struct emu_instance **out, struct sp_err *err)
{
	struct emu_instance *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	cleanup_free char *ready = NULL, *data = NULL;
	int r = make_dir(e, l, &ready, &data, err);
	if (r == 0)
		r = spawn(e, l, ready, data, err);
	if (r == 0)
		r = wait_ready(e, l, ready, err);
	if (r < 0) {
		emu_free(e);
		return r;
	}
	*out = e;
	return 0;
}

const char *emu_base_url(const struct emu_instance *e)
{
	return e->base_url;
}

int emu_stop(struct emu_instance *e, struct sp_err *err)
{
	if (!e->running)
		return 0;
	kill(e->pid, SIGTERM);
	long deadline = now_ms() + 10000;
	int status = 0;
	bool killed = false;
	for (;;) {
		pid_t w = waitpid(e->pid, &status, WNOHANG);
		if (w == e->pid || (w < 0 && errno != EINTR))
			break;
		if (!killed && now_ms() > deadline) {
			kill(e->pid, SIGKILL);
			killed = true;
		}
		sleep_ms(10);
	}
	e->running = false;
	registry_set(e->pid, false);
	if (killed)
		return sp_err_set(err, -ECHILD, "the emulator ignored SIGTERM for 10 s (killed)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char how[96];
		describe_status(status, how, sizeof(how));
		cleanup_free char *tail = emu_log_tail(e, 400);
		return sp_err_set(err, -ECHILD, "the emulator %s after SIGTERM; log: %s", how,
				  tail ? tail : "");
	}
	return 0;
}

static void copy_file(const char *from, const char *to)
{
	cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
	cleanup_close int outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || outfd < 0)
		return;
	char buf[65536];
	ssize_t n;
	while ((n = TEMP_FAILURE_RETRY_INT(read(in, buf, sizeof(buf)))) > 0)
		if (write(outfd, buf, (size_t)n) != n)
			return;
}

void emu_free(struct emu_instance *e)
{
	if (!e)
		return;
	emu_stop(e, NULL);
	if (e->keep_log_as && e->log)
		copy_file(e->log, e->keep_log_as);
	if (e->dir)
		nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(e->dir);
	free(e->log);
	free(e->base_url);
	free(e->keep_log_as);
	free(e);
}
