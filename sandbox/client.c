/* SPDX-License-Identifier: MIT */
/*
 * client.c: the emulator's side of the sandbox (sandbox.h): starts the zygote, asks it for
 * session processes, runs cells on them and watches over them.
 *
 * Invariants:
 * - The zygote's control socket is used under one mutex, one request and one reply at a time.
 * - A session's pidfd (and the canceled flag) is read and replaced only under the session's
 *   mutex, so sbx_session_cancel() from another thread never signals a stale descriptor; the
 *   session socket and pipes belong to the thread running sbx_session_exec().
 * - Signals go through pidfds only: a recycled pid can never be hit.
 * - While a cell runs, the socket, both pipes and the pidfd are polled together; pipe data is
 *   kept up to 4 bytes per code point of the stream limit (bounded to 64 MiB) and the rest is
 *   read and dropped, so any amount of output keeps memory bounded.
 */
#include "sandbox.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "constants.h"
#include "reply.h"
#include "spjson.h"
#include "sputf8.h"
#include "tree.h"
#include "utf8.h"
#include "wire.h"

#define HELLO_TIMEOUT_MS 180000 /* first start may build matplotlib's font cache */
#define CTL_TIMEOUT_MS	 30000
#define READY_TIMEOUT_MS 60000
#define DEATH_TIMEOUT_MS 10000
#define STREAM_HARD_CAP	 ((size_t)64 << 20)
#define DRAIN_CHUNK	 65536
#define PUMP_BUDGET	 ((size_t)1 << 20) /* per stream and wake-up, to stay responsive */
#define STOP_TIMEOUT_MS	 10000
#define RESPAWN_WAIT_MS	 60000 /* an existing session's restart waits this long for the zygote */
#define BACKOFF_MIN_MS	 100   /* between failed restarts of the zygote: doubling, then capped */
#define BACKOFF_MAX_MS	 5000
#define ORPHAN_RING	 256
#define ID_HISTORY	 64 /* request ids remembered per session, to recognise stale replies */
#define STALE_MAX	 8  /* stale replies tolerated while waiting for one cell */

/* One zygote process: the current one, or one being started by the supervisor. */
struct zproc {
	int ctl;
	pid_t pid;
	int pidfd;
	char *run_dir; /* <state_dir>/sbx-XXXXXX: this zygote's own files; removed when gone */
	int run_lock;  /* run_dir, open and flock()ed while we live (remove_stale_run_dirs) */
};

struct sbx_zygote {
	pthread_mutex_t lock; /* guards cur, gen, dead, stopping, the counters, sessions, orphans */
	pthread_cond_t up;    /* signalled when a restart ends or stop begins */
	struct zproc cur;
	unsigned gen;  /* +1 at each death: interpreters of older generations were killed */
	bool dead;     /* cur is gone: nothing is sent to the zygote until the supervisor is done */
	bool stopping; /* sbx_zygote_stop() began */
	unsigned restarts;
	int64_t down_since_ms;
	char last_exit[96]; /* how the last zygote ended, "" if none did */
	struct sbx_session
	    *sessions; /* every session: interpreters are killed when the zygote dies */
	pid_t orphans[ORPHAN_RING]; /* interpreters killed so, for their crash message */
	size_t orphan_next;
	pthread_t supervisor;
	bool supervised;
	int wake[2]; /* written at stop: the supervisor's waits end */
	char *zygote_path;
	char *state_dir;
	struct sbx_options opt; /* with the two paths above */
	enum sbx_isolation mode;
	char *reason;
	char *version;
	char *packages;
	char *cgroups;
	bool root;
	uid_t uid_base;
};

/* One interpreter process of a session, as handed over by the zygote. */
struct interp {
	int sock;
	int out;
	int err;
	int pidfd;
	pid_t pid;	      /* as the zygote knows it (its pid namespace may be nested) */
	pid_t local_pid;      /* in our pid namespace */
	const int64_t *clock; /* read-only view of its clock page (pyrunner.h), or NULL */
	unsigned gen;	      /* the zygote generation that forked it */
};

#define CLOCK_PAGE_SIZE 4096

struct sbx_session {
	struct sbx_zygote *z; /* not owned; NULL once the zygote was stopped */
	unsigned slot;
	int host_dir;	      /* O_PATH; survives renames of the host directory */
	pthread_mutex_t lock; /* guards canceled and it.pidfd */
	bool canceled;
	struct interp it; /* it.sock/out/err: the exec thread only */
	atomic_int pid;	  /* it.pid, readable from any thread; -1 when none */
	bool alive;
	struct sbx_session *prev, *next; /* z->sessions, under z->lock */
	/* The ids of the last requests sent (exec thread only): a reply carrying one of them is
	 * stale and discarded; any other id is a protocol violation. */
	char past_ids[ID_HISTORY][SBX_REPLY_ID_LEN + 1];
	unsigned past_next;
};

void sbx_options_init(struct sbx_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->isolation = SBX_ISOLATION_AUTO;
	opt->memory_bytes = (uint64_t)2 << 30;
	opt->max_processes = 128;
	opt->file_size_bytes = (uint64_t)128 << 20;
	opt->tmp_bytes = (uint64_t)64 << 20;
	opt->uid_base = SP_UID_BASE;
	opt->log_fd = -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Waits up to |ms| (negative: forever) for |events| on |fd|. 1 ready, 0 timeout, -errno. */
static int wait_fd(int fd, short events, int64_t ms)
{
	int64_t deadline = ms < 0 ? -1 : now_ms() + ms;
	for (;;) {
		struct pollfd p = {fd, events, 0};
		int left = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && left < 0)
			left = 0;
		int r = poll(&p, 1, left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* ---- zygote ------------------------------------------------------------------------------ */

/* Deadline |ms| from now on CLOCK_MONOTONIC, for pthread_cond_timedwait on z->up. */
static struct timespec deadline_in(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * One request/reply on the control socket. *reply is a parsed object; fds as received; *gen
 * (optional) the generation of the zygote that answered. While the zygote is being restarted,
 * waits up to |wait_ms| for it, then fails with -EAGAIN. A zygote that breaks the protocol or
 * does not answer in time is killed: the supervisor restarts it.
 */
static int ctl_call(struct sbx_zygote *z, const char *req, const int *fds, size_t nfds,
		    cJSON **reply, int *rfds, size_t *nrfds, size_t maxfds, int64_t wait_ms,
		    unsigned *gen, struct sp_err *err)
{
	cleanup_free char *text = NULL;
	size_t len = 0, got = 0;
	int tmpfds[SBX_CTL_MAXFDS];
	int r;

	pthread_mutex_lock(&z->lock);
	if (z->dead && !z->stopping && wait_ms > 0) {
		struct timespec until = deadline_in(wait_ms);
		while (z->dead && !z->stopping &&
		       pthread_cond_timedwait(&z->up, &z->lock, &until) != ETIMEDOUT)
			;
	}
	if (z->dead || z->stopping) {
		bool stopping = z->stopping;
		pthread_mutex_unlock(&z->lock);
		if (stopping)
			return sp_err_set(err, -ESHUTDOWN, "the sandbox is stopping");
		return sp_err_set(err, -EAGAIN,
				  "the sandbox is restarting (its zygote process died); retry");
	}
	if (gen)
		*gen = z->gen;
	r = sbx_ctl_send(z->cur.ctl, req, strlen(req), fds, nfds);
	if (r == 0) {
		r = wait_fd(z->cur.ctl, POLLIN, CTL_TIMEOUT_MS);
		if (r == 0)
			r = -ETIMEDOUT;
		else if (r > 0)
			r = sbx_ctl_recv(z->cur.ctl, &text, &len, tmpfds, &got, SBX_CTL_MAXFDS);
	}
	if (r < 0 && r != -EPROTO && r != -EMSGSIZE) {
		/* Gone, or hung: make sure it is gone; the supervisor sees it and restarts it. */
		z->dead = true;
		if (z->cur.pidfd >= 0)
			pidfd_send_signal(z->cur.pidfd, SIGKILL, NULL, 0);
		r = -EAGAIN;
	}
	pthread_mutex_unlock(&z->lock);
	if (r == -EAGAIN)
		return sp_err_set(err, r,
				  "the sandbox is restarting (its zygote process died); retry");
	if (r < 0)
		return sp_err_sys(err, r, "zygote control socket");

	cJSON *j = sp_json_parse(text, len, len, SP_JSON_DEPTH_MAX, NULL);
	if (!j || got > maxfds) {
		cJSON_Delete(j);
		for (size_t i = 0; i < got; i++)
			close(tmpfds[i]);
		return sp_err_set(err, -EPROTO, "malformed reply from the zygote");
	}
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		sp_err_set(err, -EIO, "zygote: %s", cJSON_IsString(e) ? e->valuestring : "error");
		cJSON_Delete(j);
		for (size_t i = 0; i < got; i++)
			close(tmpfds[i]);
		return err ? err->code : -EIO;
	}
	if (rfds)
		memcpy(rfds, tmpfds, got * sizeof(int));
	if (nrfds)
		*nrfds = got;
	*reply = j;
	return 0;
}

static char *dup_json_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* Removes a zygote's run directory: it is gone by now, and every session with it. */
static void remove_run_dir(const char *run_dir)
{
	if (!run_dir)
		return;
	int fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		sp_tree_empty(fd, 0);
	rmdir(run_dir);
}

/* Waits for the zygote process to end, killing it after |ms|; its wait status, or -1. */
static int zproc_reap(struct zproc *zp, int64_t ms)
{
	int st = -1;
	if (zp->pid <= 0)
		return -1;
	if (zp->pidfd >= 0 && wait_fd(zp->pidfd, POLLIN, ms) <= 0)
		pidfd_send_signal(zp->pidfd, SIGKILL, NULL, 0);
	else if (zp->pidfd < 0)
		kill(zp->pid, SIGKILL);
	while (waitpid(zp->pid, &st, 0) < 0 && errno == EINTR)
		;
	zp->pid = -1;
	return st;
}

/* Closes what is left of a zygote that is not running (never started, or reaped). */
static void zproc_fini(struct zproc *zp)
{
	if (zp->ctl >= 0)
		close(zp->ctl);
	if (zp->pidfd >= 0)
		close(zp->pidfd);
	remove_run_dir(zp->run_dir);
	free(zp->run_dir);
	if (zp->run_lock >= 0)
		close(zp->run_lock);
	*zp = (struct zproc){-1, -1, -1, NULL, -1};
}

/*
 * Removes the sbx-* directories of dead emulators in |state_dir| (killed with SIGKILL, they
 * could not): those nobody holds the lock of. A live emulator's directory is locked and kept.
 */
static void remove_stale_run_dirs(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "sbx-", 4) != 0 || strlen(e->d_name) != 10)
			continue;
		cleanup_close int fd =
		    openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", state_dir, e->d_name) < 0)
			continue;
		remove_run_dir(path);
		free(path);
	}
	if (d)
		closedir(d);
}

static void zygote_free(struct sbx_zygote *z)
{
	zproc_fini(&z->cur);
	if (z->wake[0] >= 0)
		close(z->wake[0]);
	if (z->wake[1] >= 0)
		close(z->wake[1]);
	pthread_mutex_destroy(&z->lock);
	pthread_cond_destroy(&z->up);
	free(z->reason);
	free(z->version);
	free(z->packages);
	free(z->cgroups);
	free(z->zygote_path);
	free(z->state_dir);
	free(z);
}

/*
 * The whole environment of the zygote, and so of every session: /proc/self/environ of a session
 * process shows the block the zygote was exec'd with (clearenv() later does not change it), so
 * nothing of the emulator's may be in it. The same variables as os.environ in a session
 * (repl.py session_init), so what a session reads in either place agrees.
 */
static char *const zygote_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "MPLBACKEND=Agg",
    "MPLCONFIGDIR=/tmp",
    "OPENBLAS_NUM_THREADS=1",
    "OMP_NUM_THREADS=1",
    "MKL_NUM_THREADS=1",
    "PIP_USER=1",
    "PIP_BREAK_SYSTEM_PACKAGES=1",
    "PIP_DISABLE_PIP_VERSION_CHECK=1",
    NULL,
};

/* Descriptor numbers in the zygote: the control socket, its state directory, the font cache,
 * the wheel directory, the directory of the session mounts. */
#define ZYG_CTL_FD    3
#define ZYG_STATE_FD  4
#define ZYG_CACHE_FD  5
#define ZYG_WHEELS_FD 6
#define ZYG_MOUNTS_FD 7

/* mkdir -p of |path| (components made 0700); 0 or -errno. */
static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
		*p = '/';
		if (r < 0)
			return r;
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* |path| as an O_PATH descriptor numbered 10 or more, clear of the numbers the zygote gets them
 * on; or a negative code. */
static int open_dir_high(const char *path, struct sp_err *err)
{
	cleanup_close int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sp_err_sys(err, -errno, "open %s", path);
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	return hi < 0 ? sp_err_sys(err, -errno, "fcntl") : hi;
}

/*
 * matplotlib's font cache (0.4 s to build) persists across runs in the user's cache directory,
 * $XDG_CACHE_HOME (or ~/.cache)/sessionpool/matplotlib, as for any Python program. The emulator's
 * environment says where that is; the zygote, which has none of it, gets the directory as an
 * O_PATH descriptor (at or above 10), or -1 when there is no such writable place.
 */
static int open_font_cache(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char buf[PATH_MAX];
	int len;
	if (xdg && xdg[0] == '/')
		len = snprintf(buf, sizeof(buf), "%s/sessionpool/matplotlib", xdg);
	else if (home && home[0] == '/' && strcmp(home, "/") != 0)
		len = snprintf(buf, sizeof(buf), "%s/.cache/sessionpool/matplotlib", home);
	else
		return -1;
	if (len < 0 || (size_t)len >= sizeof(buf) || mkdir_p(buf) < 0 ||
	    access(buf, W_OK | X_OK) < 0)
		return -1;
	int fd = open_dir_high(buf, NULL);
	return fd < 0 ? -1 : fd;
}

/*
 * fork+exec of the zygote. Its command line names no host path (argv[0] is the bare name; the
 * state directory and font cache come as descriptors) and its environment is zygote_env: a
 * session can read both (/proc/self/cmdline, /proc/self/environ) and must learn nothing of the
 * host from them.
 */
static int spawn_zygote(struct zproc *zp, const struct sbx_options *opt, int child_end,
			struct sp_err *err)
{
	char iso[16], egress[4], mem[32], nproc[32], fsize[32], tmp[32], disk[32], uidb[32];
	char sfd[8], cfd[8], wfd[8], mfd[8];
	char *argv[] = {
	    "sessionpool-zygote",
	    "--ctl-fd",
	    "3",
	    "--isolation",
	    iso,
	    "--egress",
	    egress,
	    "--memory",
	    mem,
	    "--nproc",
	    nproc,
	    "--fsize",
	    fsize,
	    "--tmp",
	    tmp,
	    "--disk",
	    disk,
	    "--uid-base",
	    uidb,
	    "--state-fd",
	    sfd,
	    NULL, /* --cache-fd */
	    NULL,
	    NULL, /* --find-links-fd */
	    NULL,
	    NULL, /* --python-path */
	    NULL,
	    NULL, /* --quiet */
	    NULL, /* --mounts-fd */
	    NULL,
	    NULL,
	};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	cleanup_close int state_hi = open_dir_high(zp->run_dir, err);
	if (state_hi < 0)
		return state_hi;
	cleanup_close int cache = open_font_cache();
	cleanup_close int wheels =
	    opt->pip_find_links ? open_dir_high(opt->pip_find_links, err) : -1;
	if (opt->pip_find_links && wheels < 0)
		return wheels;
	/* A descriptor, not the path: a session can read the zygote's command line. */
	cleanup_close int mounts = opt->mounts_dir ? open_dir_high(opt->mounts_dir, err) : -1;
	if (opt->mounts_dir && mounts < 0)
		return mounts;
	snprintf(iso, sizeof(iso), "%s", sbx_isolation_name(opt->isolation));
	snprintf(egress, sizeof(egress), "%d", opt->egress ? 1 : 0);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)opt->memory_bytes);
	snprintf(nproc, sizeof(nproc), "%u", opt->max_processes);
	snprintf(fsize, sizeof(fsize), "%llu", (unsigned long long)opt->file_size_bytes);
	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)opt->tmp_bytes);
	snprintf(disk, sizeof(disk), "%llu", (unsigned long long)opt->disk_bytes);
	snprintf(uidb, sizeof(uidb), "%u", (unsigned)opt->uid_base);
	snprintf(sfd, sizeof(sfd), "%d", ZYG_STATE_FD);
	snprintf(cfd, sizeof(cfd), "%d", ZYG_CACHE_FD);
	snprintf(wfd, sizeof(wfd), "%d", ZYG_WHEELS_FD);
	snprintf(mfd, sizeof(mfd), "%d", ZYG_MOUNTS_FD);
	size_t na = sizeof(argv) / sizeof(argv[0]) - 10;
	if (cache >= 0) {
		argv[na++] = "--cache-fd";
		argv[na++] = cfd;
	}
	if (wheels >= 0) {
		argv[na++] = "--find-links-fd";
		argv[na++] = wfd;
	}
	/* The one host path on the command line: sessions see these directories on sys.path, at
	 * the same paths, anyway. */
	if (opt->python_path && *opt->python_path) {
		argv[na++] = "--python-path";
		argv[na++] = (char *)opt->python_path;
	}
	if (opt->quiet)
		argv[na++] = "--quiet";
	if (mounts >= 0) {
		argv[na++] = "--mounts-fd";
		argv[na++] = mfd;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (opt->log_fd >= 0 && opt->log_fd != 2)
		posix_spawn_file_actions_adddup2(&fa, opt->log_fd, 2);
	posix_spawn_file_actions_adddup2(&fa, child_end, ZYG_CTL_FD);
	posix_spawn_file_actions_adddup2(&fa, state_hi, ZYG_STATE_FD);
	if (cache >= 0)
		posix_spawn_file_actions_adddup2(&fa, cache, ZYG_CACHE_FD);
	if (wheels >= 0)
		posix_spawn_file_actions_adddup2(&fa, wheels, ZYG_WHEELS_FD);
	if (mounts >= 0)
		posix_spawn_file_actions_adddup2(&fa, mounts, ZYG_MOUNTS_FD);
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *envp[64];
	size_t ne = 0;
	for (size_t i = 0; zygote_env[i]; i++)
		envp[ne++] = zygote_env[i];
	for (size_t i = 0; opt->extra_env && opt->extra_env[i] && ne < 63; i++)
		envp[ne++] = opt->extra_env[i];
	envp[ne] = NULL;
	r = posix_spawn(&zp->pid, opt->zygote_path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return sp_err_sys(err, -r, "cannot start %s", opt->zygote_path);
	zp->pidfd = pidfd_open(zp->pid, 0);
	return 0;
}

static void sup_log(const struct sbx_zygote *z, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sup_log(const struct sbx_zygote *z, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(z->opt.log_fd >= 0 ? z->opt.log_fd : 2, buf, (size_t)n) < 0) {
		/* Nowhere else to report it. */
	}
}

static void describe_exit(int st, char *buf, size_t n)
{
	if (st < 0) {
		snprintf(buf, n, "status unknown");
	} else if (WIFEXITED(st)) {
		snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
	} else if (WIFSIGNALED(st)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(st));
		if (abbrev)
			snprintf(buf, n, "signal SIG%s", abbrev);
		else
			snprintf(buf, n, "signal %d", WTERMSIG(st));
	} else {
		snprintf(buf, n, "status 0x%x", (unsigned)st);
	}
}

/*
 * One attempt at making and locking zp->run_dir: 0, -EAGAIN when another emulator's
 * remove_stale_run_dirs() took the new directory before we locked it (it is unlocked between
 * mkdtemp and flock), or another negative code. On failure nothing of it is left.
 */
static int zproc_try_run_dir(const struct sbx_zygote *z, struct zproc *zp, struct sp_err *err)
{
	size_t dlen = strlen(z->state_dir);
	zp->run_dir = malloc(dlen + sizeof("/sbx-XXXXXX"));
	if (!zp->run_dir)
		return sp_err_set(err, -ENOMEM, "out of memory");
	memcpy(zp->run_dir, z->state_dir, dlen);
	memcpy(zp->run_dir + dlen, "/sbx-XXXXXX", sizeof("/sbx-XXXXXX"));
	if (!mkdtemp(zp->run_dir)) {
		int r = sp_err_sys(err, -errno, "create a directory in %s", z->state_dir);
		free(steal_pointer(&zp->run_dir)); /* nothing to remove */
		return r;
	}
	/* Held for as long as this process lives (close-on-exec: not the zygote's), so another
	 * emulator sharing state_dir can tell our directory from a dead one's. */
	zp->run_lock = open(zp->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat locked, named;
	int r = 0;
	if (zp->run_lock < 0 || flock(zp->run_lock, LOCK_EX | LOCK_NB) < 0)
		r = errno == ENOENT || errno == EWOULDBLOCK
			? -EAGAIN
			: sp_err_sys(err, -errno, "lock %s", zp->run_dir);
	else if (fstat(zp->run_lock, &locked) < 0 || stat(zp->run_dir, &named) < 0 ||
		 locked.st_ino != named.st_ino || locked.st_dev != named.st_dev)
		r = -EAGAIN; /* removed between our open and our lock */
	else if (chmod(zp->run_dir, 0755) < 0)
		r = sp_err_sys(err, -errno, "chmod %s", zp->run_dir);
	if (r < 0)
		zproc_fini(zp);
	return r;
}

/* Makes and locks zp->run_dir, trying again when another emulator's sweep of stale directories
 * took a new one first; on failure nothing of it is left. */
static int zproc_make_run_dir(const struct sbx_zygote *z, struct zproc *zp, struct sp_err *err)
{
	int r = -EAGAIN;
	for (int attempt = 0; attempt < 8 && r == -EAGAIN; attempt++)
		r = zproc_try_run_dir(z, zp, err);
	if (r == -EAGAIN)
		return sp_err_set(err, r, "lock a new directory in %s: taken away each time",
				  z->state_dir);
	return r;
}

/* Starts the zygote process with its control socket in zp->ctl; zproc_fini() on failure. */
static int zproc_spawn(struct sbx_zygote *z, struct zproc *zp, struct sp_err *err)
{
	int sv[2];
	int r;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = sp_err_sys(err, -errno, "socketpair");
		zproc_fini(zp);
		return r;
	}
	zp->ctl = sv[0];
	/* Keep the child's end off 2 to 5, the numbers descriptors are duplicated onto. */
	int child_end = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
	close(sv[1]);
	if (child_end < 0) {
		r = sp_err_sys(err, -errno, "fcntl");
		zproc_fini(zp);
		return r;
	}
	r = spawn_zygote(zp, &z->opt, child_end, err);
	close(child_end);
	if (r < 0) {
		zproc_fini(zp);
		return r;
	}
	return 0;
}

/* Receives the hello message into *text; on failure the process is reaped and zp finished. */
static int zproc_recv_hello(struct sbx_zygote *z, struct zproc *zp, char **text, size_t *len,
			    struct sp_err *err)
{
	int r;
	size_t nfds = 0;
	int fds[SBX_CTL_MAXFDS];
	struct pollfd p[2] = {{zp->ctl, POLLIN, 0}, {z->wake[0], POLLIN, 0}};
	int64_t deadline = now_ms() + HELLO_TIMEOUT_MS;
	for (;;) {
		int left = (int)(deadline - now_ms());
		r = poll(p, 2, left > 0 ? left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		r = r < 0 ? -errno : r == 0 ? -ETIMEDOUT : p[1].revents ? -ECANCELED : 0;
		break;
	}
	if (r == 0)
		r = sbx_ctl_recv(zp->ctl, text, len, fds, &nfds, SBX_CTL_MAXFDS);
	for (size_t i = 0; r == 0 && i < nfds; i++)
		close(fds[i]);
	if (r < 0) {
		if (r == -ECANCELED)
			sp_err_set(err, r, "the sandbox is stopping");
		else
			sp_err_sys(err, r, "no hello from the zygote");
		zproc_reap(zp, 0);
		zproc_fini(zp);
		return r;
	}
	return 0;
}

/*
 * Checks the hello and, on the first start, fills the zygote's description from it; on failure
 * the process is reaped and zp finished.
 */
static int zproc_take_hello(struct sbx_zygote *z, bool first, struct zproc *zp, const char *text,
			    size_t len, struct sp_err *err)
{
	int r = 0;
	cleanup_cjson cJSON *hello = sp_json_parse(text, len, len, SP_JSON_DEPTH_MAX, NULL);
	const cJSON *e = hello ? cJSON_GetObjectItemCaseSensitive(hello, "error") : NULL;
	const cJSON *mode = hello ? cJSON_GetObjectItemCaseSensitive(hello, "mode") : NULL;
	const cJSON *pkgs = hello ? cJSON_GetObjectItemCaseSensitive(hello, "packages") : NULL;
	enum sbx_isolation m = SBX_ISOLATION_AUTO;
	if (!hello || cJSON_IsString(e) || !cJSON_IsString(mode) || !cJSON_IsArray(pkgs) ||
	    sbx_isolation_parse(mode->valuestring, &m) < 0) {
		r = sp_err_set(err, -EIO, "zygote: %s",
			       cJSON_IsString(e) ? e->valuestring : "malformed hello");
	} else if (!first && m != z->mode) {
		r = sp_err_set(err, -EPERM, "the restarted zygote has isolation %s, not %s",
			       sbx_isolation_name(m), sbx_isolation_name(z->mode));
	}
	if (r < 0) {
		zproc_reap(zp, 1000);
		zproc_fini(zp);
		return r;
	}
	if (!first)
		return 0;
	z->mode = m;
	z->reason = dup_json_string(hello, "reason");
	z->version = dup_json_string(hello, "version");
	z->packages = cJSON_PrintUnformatted(pkgs);
	z->cgroups = dup_json_string(hello, "cgroups");
	z->root = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hello, "root"));
	if (!z->version || !z->packages || !z->cgroups) {
		zproc_reap(zp, 0);
		zproc_fini(zp);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * Starts one zygote process in *zp and waits for its hello (the first start fills the zygote's
 * description; a restart must find the same isolation mode: a restart never lowers it).
 * -ECANCELED when sbx_zygote_stop() began meanwhile.
 */
static int zproc_launch(struct sbx_zygote *z, bool first, struct zproc *zp, struct sp_err *err)
{
	*zp = (struct zproc){-1, -1, -1, NULL, -1};
	int r = zproc_make_run_dir(z, zp, err);
	if (r < 0)
		return r;
	if ((r = zproc_spawn(z, zp, err)) < 0)
		return r;
	cleanup_free char *text = NULL;
	size_t len = 0;
	if ((r = zproc_recv_hello(z, zp, &text, &len, err)) < 0)
		return r;
	return zproc_take_hello(z, first, zp, text, len, err);
}

/*
 * The zygote died (or was killed as hung): from now on nothing is sent to it, and every
 * session interpreter it forked is killed. They are separate processes and could run on, but
 * the zygote is what enforces their limits (it watches v1 out-of-memory events and, in
 * degraded mode, clears a slot's leftovers), knows how they end, and, for an ordinary user, is
 * pid 1 of their pid namespace anyway: so in every mode a session keeps its identifier, files
 * and records, and its next cell reports the §8.7 crash and gets a fresh interpreter.
 */
static void zygote_died(struct sbx_zygote *z)
{
	char how[64];
	size_t killed = 0;

	pthread_mutex_lock(&z->lock);
	struct zproc old = z->cur;
	z->cur = (struct zproc){-1, -1, -1, NULL, -1};
	z->dead = true;
	z->gen++;
	z->down_since_ms = now_ms();
	for (struct sbx_session *s = z->sessions; s; s = s->next) {
		pthread_mutex_lock(&s->lock);
		if (s->it.pidfd >= 0 && s->it.gen != z->gen) {
			z->orphans[z->orphan_next++ % ORPHAN_RING] = s->it.pid;
			pidfd_send_signal(s->it.pidfd, SIGKILL, NULL, 0);
			killed++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&z->lock);

	close(old.ctl);
	old.ctl = -1;
	pid_t pid = old.pid;
	describe_exit(zproc_reap(&old, DEATH_TIMEOUT_MS), how, sizeof(how));
	zproc_fini(&old);
	pthread_mutex_lock(&z->lock);
	snprintf(z->last_exit, sizeof(z->last_exit), "%s", how);
	pthread_mutex_unlock(&z->lock);
	sup_log(z,
		"sessionpool-emulator: the zygote (pid %d) died (%s); %zu session interpreter(s) "
		"killed; restarting it",
		(int)pid, how, killed);
}

/* Starts zygotes until one says hello, with a doubling pause (capped) between attempts.
 * -ECANCELED when stopping. */
static int zygote_restart(struct sbx_zygote *z)
{
	int64_t backoff = 0;

	for (unsigned attempt = 1;; attempt++) {
		if (backoff > 0 && wait_fd(z->wake[0], POLLIN, backoff) != 0)
			return -ECANCELED;
		struct zproc zp;
		struct sp_err err = {0};
		int r = zproc_launch(z, false, &zp, &err);
		if (r == -ECANCELED)
			return r;
		if (r == 0) {
			pthread_mutex_lock(&z->lock);
			z->cur = zp;
			z->dead = false;
			z->restarts++;
			int64_t down = now_ms() - z->down_since_ms;
			unsigned n = z->restarts;
			pthread_cond_broadcast(&z->up);
			pthread_mutex_unlock(&z->lock);
			sup_log(z,
				"sessionpool-emulator: the zygote is back (pid %d) after %lld ms "
				"(restart %u)",
				(int)zp.pid, (long long)down, n);
			return 0;
		}
		backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		sup_log(z,
			"sessionpool-emulator: restarting the zygote failed (attempt %u): %s; next "
			"attempt in %lld ms",
			attempt, err.msg, (long long)backoff);
	}
}

/* The supervisor thread: sees the zygote die at once (its pidfd, or the control socket's
 * hang-up) and restarts it. */
static void *supervise(void *arg)
{
	struct sbx_zygote *z = arg;

	for (;;) {
		pthread_mutex_lock(&z->lock);
		int pidfd = z->cur.pidfd, ctl = z->cur.ctl;
		pthread_mutex_unlock(&z->lock);
		/* events 0: only the hang-up, which poll() always reports. */
		struct pollfd p[3] = {
		    {z->wake[0], POLLIN, 0}, {pidfd, POLLIN, 0}, {pidfd >= 0 ? -1 : ctl, 0, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			sup_log(z, "sessionpool-emulator: zygote supervisor: poll: %s",
				strerror(errno));
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		if (!p[1].revents && !(p[2].revents & (POLLHUP | POLLERR)))
			continue;
		zygote_died(z);
		if (zygote_restart(z) < 0)
			return NULL;
	}
}

/*
 * Whether sessions can be handed their directory as a detached copy of its mount: as root
 * (a user namespace's mounts would be locked in the session's), where open_tree() exists and
 * is allowed (a container's seccomp profile may refuse it). Else the zygote keeps the
 * directories in its mount table and sessions bind them by path.
 */
static bool trees_work(const char *dir)
{
	if (geteuid() != 0)
		return false;
	int t = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (t < 0)
		return false;
	close(t);
	return true;
}

int sbx_zygote_start(const struct sbx_options *opt, struct sbx_zygote **out, struct sp_err *err)
{
	struct stat st;
	int r;

	if (!opt || !opt->zygote_path || !opt->state_dir)
		return sp_err_set(err, -EINVAL, "zygote_path and state_dir are required");
	if (opt->isolation != SBX_ISOLATION_AUTO && opt->isolation != SBX_ISOLATION_FULL &&
	    opt->isolation != SBX_ISOLATION_DEGRADED)
		return sp_err_set(err, -EINVAL, "unknown isolation mode");
	if (stat(opt->state_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return sp_err_set(err, -ENOTDIR, "state directory %s does not exist",
				  opt->state_dir);
	if (access(opt->zygote_path, X_OK) < 0)
		return sp_err_sys(err, -errno, "zygote %s", opt->zygote_path);

	struct sbx_zygote *z = calloc(1, sizeof(*z));
	if (!z)
		return sp_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&z->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&z->up, &ca);
	pthread_condattr_destroy(&ca);
	z->cur = (struct zproc){-1, -1, -1, NULL, -1};
	z->wake[0] = z->wake[1] = -1;
	z->uid_base = opt->uid_base;
	z->opt = *opt;
	z->zygote_path = strdup(opt->zygote_path);
	z->state_dir = strdup(opt->state_dir);
	z->opt.zygote_path = z->zygote_path;
	z->opt.state_dir = z->state_dir;
	if (!z->zygote_path || !z->state_dir) {
		zygote_free(z);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	if (z->opt.mounts_dir && !trees_work(z->opt.mounts_dir))
		z->opt.mounts_dir = NULL;
	if (pipe2(z->wake, O_CLOEXEC) < 0) {
		r = sp_err_sys(err, -errno, "pipe");
		zygote_free(z);
		return r;
	}
	remove_stale_run_dirs(z->state_dir);
	r = zproc_launch(z, true, &z->cur, err);
	if (r < 0) {
		zygote_free(z);
		return r;
	}
	r = pthread_create(&z->supervisor, NULL, supervise, z);
	if (r != 0) {
		sbx_zygote_stop(z);
		return sp_err_sys(err, -r, "start the zygote supervisor thread");
	}
	z->supervised = true;
	*out = z;
	return 0;
}

void sbx_zygote_stop(struct sbx_zygote *z)
{
	if (!z)
		return;
	pthread_mutex_lock(&z->lock);
	z->stopping = true;
	pthread_cond_broadcast(&z->up);
	pthread_mutex_unlock(&z->lock);
	if (z->supervised) {
		if (write(z->wake[1], "x", 1) < 0) {
			/* A pipe of our own with room: cannot fail. */
		}
		pthread_join(z->supervisor, NULL);
		z->supervised = false;
	}
	/* The supervisor is gone: cur is ours alone (and empty if the zygote was down). Sessions
	 * still alive (the caller should have freed them) end with the zygote: canceled, and no
	 * longer pointing at it, so sbx_session_free() stays safe afterwards. */
	pthread_mutex_lock(&z->lock);
	for (struct sbx_session *s = z->sessions; s; s = s->next) {
		pthread_mutex_lock(&s->lock);
		s->canceled = true;
		s->z = NULL;
		pthread_mutex_unlock(&s->lock);
	}
	z->sessions = NULL;
	if (!z->dead && z->cur.ctl >= 0) {
		static const char stop[] = "{\"op\":\"stop\"}";
		if (sbx_ctl_send(z->cur.ctl, stop, sizeof(stop) - 1, NULL, 0) == 0 &&
		    wait_fd(z->cur.ctl, POLLIN, STOP_TIMEOUT_MS) > 0) {
			cleanup_free char *text = NULL;
			size_t len, nfds;
			int fds[SBX_CTL_MAXFDS];
			if (sbx_ctl_recv(z->cur.ctl, &text, &len, fds, &nfds, SBX_CTL_MAXFDS) ==
			    0) {
				for (size_t i = 0; i < nfds; i++)
					close(fds[i]);
			}
		}
	}
	z->dead = true;
	pthread_mutex_unlock(&z->lock);
	close(z->cur.ctl);
	z->cur.ctl = -1;
	zproc_reap(&z->cur, STOP_TIMEOUT_MS);
	zygote_free(z);
}

void sbx_zygote_health(struct sbx_zygote *z, struct sbx_zygote_health *out)
{
	pthread_mutex_lock(&z->lock);
	out->up = !z->dead;
	out->restarts = z->restarts;
	out->down_ms = z->dead ? now_ms() - z->down_since_ms : 0;
	snprintf(out->last_exit, sizeof(out->last_exit), "%s", z->last_exit);
	pthread_mutex_unlock(&z->lock);
}

enum sbx_isolation sbx_zygote_isolation(const struct sbx_zygote *z)
{
	return z->mode;
}

const char *sbx_zygote_isolation_reason(const struct sbx_zygote *z)
{
	return z->mode == SBX_ISOLATION_DEGRADED ? z->reason : NULL;
}

const char *sbx_zygote_cgroups(const struct sbx_zygote *z)
{
	return z->cgroups;
}

const char *sbx_zygote_python_version(const struct sbx_zygote *z)
{
	return z->version;
}

const char *sbx_zygote_packages_json(const struct sbx_zygote *z)
{
	return z->packages;
}

uid_t sbx_zygote_slot_uid(const struct sbx_zygote *z, unsigned slot)
{
	if (!z->root)
		return (uid_t)-1;
	return z->uid_base + slot;
}

/* How the process |pid| ended, as the zygote saw it: "exit status 3", "signal SIGSEGV". */
static void zygote_status(struct sbx_zygote *z, pid_t pid, char *buf, size_t n)
{
	char req[64];
	cJSON *reply = NULL;

	pthread_mutex_lock(&z->lock);
	for (size_t i = 0; i < ORPHAN_RING; i++) {
		if (pid > 0 && z->orphans[i] == pid) {
			z->orphans[i] = 0;
			pthread_mutex_unlock(&z->lock);
			snprintf(buf, n, "signal SIGKILL, the sandbox's zygote process died");
			return;
		}
	}
	pthread_mutex_unlock(&z->lock);
	snprintf(buf, n, "unknown status");
	snprintf(req, sizeof(req), "{\"op\":\"status\",\"pid\":%d}", (int)pid);
	if (ctl_call(z, req, NULL, 0, &reply, NULL, NULL, 0, 0, NULL, NULL) < 0)
		return;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(reply, "status");
	if (cJSON_IsString(s))
		snprintf(buf, n, "%s", s->valuestring);
	cJSON_Delete(reply);
}

/* ---- frames on non-blocking session sockets ----------------------------------------------- */

struct frame_reader {
	unsigned char hdr[4];
	size_t hdr_got;
	char *buf;
	size_t len;
	size_t got;
};

static void frame_reader_fini(struct frame_reader *fr)
{
	free(fr->buf);
	memset(fr, 0, sizeof(*fr));
}

/* 1: a frame is complete in fr->buf (NUL-terminated); 0: would block; <0: EOF or error. */
static int frame_read(int fd, struct frame_reader *fr)
{
	for (;;) {
		ssize_t n;
		if (fr->hdr_got < 4) {
			n = read(fd, fr->hdr + fr->hdr_got, 4 - fr->hdr_got);
		} else {
			if (!fr->buf) {
				/* Checked before anything is allocated: the session announces it.
				 */
				fr->len = sbx_get_u32(fr->hdr);
				if (fr->len > SBX_REPLY_FRAME_MAX)
					return -EMSGSIZE;
				fr->buf = malloc(fr->len + 1);
				if (!fr->buf)
					return -ENOMEM;
				fr->got = 0;
			}
			if (fr->got == fr->len) {
				fr->buf[fr->len] = '\0';
				return 1;
			}
			n = read(fd, fr->buf + fr->got, fr->len - fr->got);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		if (fr->hdr_got < 4)
			fr->hdr_got += (size_t)n;
		else
			fr->got += (size_t)n;
	}
}

/* Reads one frame, waiting up to |ms|. Returns 1, 0 on timeout, <0 on EOF or error. */
static int frame_read_wait(int fd, struct frame_reader *fr, int64_t ms)
{
	int64_t deadline = now_ms() + ms;
	for (;;) {
		int r = frame_read(fd, fr);
		if (r != 0)
			return r;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		r = wait_fd(fd, POLLIN, left);
		if (r <= 0)
			return r;
	}
}

/* ---- sessions ----------------------------------------------------------------------------- */

static void interp_close(struct interp *it)
{
	int *fds[] = {&it->sock, &it->out, &it->err, &it->pidfd};
	for (size_t i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (it->clock)
		munmap((void *)it->clock, CLOCK_PAGE_SIZE);
	it->clock = NULL;
	it->pid = -1;
	it->local_pid = -1;
}

static void interp_kill_wait(struct interp *it)
{
	if (it->pidfd >= 0) {
		pidfd_send_signal(it->pidfd, SIGKILL, NULL, 0);
		wait_fd(it->pidfd, POLLIN, DEATH_TIMEOUT_MS);
	}
}

/* The pid a pidfd refers to, in our pid namespace (the zygote's may be another one). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	cleanup_fclose FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Pid:", 4) == 0) {
			pid = (pid_t)strtol(line + 4, NULL, 10);
			break;
		}
	}
	return pid;
}

/* Asks the zygote for a new interpreter and waits until it is ready. */
static int interp_spawn(struct sbx_zygote *z, int host_dir, unsigned slot, bool warm,
			int64_t wait_ms, struct interp *out, struct sp_err *err)
{
	char req[64];
	cJSON *reply = NULL;
	int fds[SBX_CTL_MAXFDS];
	size_t nfds = 0;
	struct interp it = {-1, -1, -1, -1, -1, -1, NULL};

	snprintf(req, sizeof(req), "{\"op\":\"spawn\",\"slot\":%u,\"warm\":%s}", slot,
		 warm ? "true" : "false");
	/* A copy of the directory's mount for the new process to attach (its mount table has
	 * none of ours: sbx_options.mounts_dir); a copy per process, as each attaches its own. */
	cleanup_close int tree = -1;
	if (z->opt.mounts_dir && z->mode == SBX_ISOLATION_FULL) {
		tree = open_tree(host_dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0)
			return sp_err_sys(err, -errno, "copy the mount of the session directory");
	}
	int dir = tree >= 0 ? tree : host_dir;
	int r =
	    ctl_call(z, req, &dir, 1, &reply, fds, &nfds, SBX_CTL_MAXFDS, wait_ms, &it.gen, err);
	if (r < 0)
		return r;
	const cJSON *jpid = cJSON_GetObjectItemCaseSensitive(reply, "pid");
	it.pid = cJSON_IsNumber(jpid) ? (pid_t)jpid->valuedouble : -1;
	cJSON_Delete(reply);
	if (nfds != 5 || it.pid <= 0) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		return sp_err_set(err, -EPROTO, "malformed spawn reply from the zygote");
	}
	it.sock = fds[0];
	it.out = fds[1];
	it.err = fds[2];
	it.pidfd = fds[3];
	void *page = mmap(NULL, CLOCK_PAGE_SIZE, PROT_READ, MAP_SHARED, fds[4], 0);
	close(fds[4]);
	it.clock = page == MAP_FAILED ? NULL : page; /* without it: deadlines count from the send */
	it.local_pid = pidfd_pid(it.pidfd);
	if (set_nonblock(it.sock) < 0 || set_nonblock(it.out) < 0 || set_nonblock(it.err) < 0) {
		r = sp_err_sys(err, -errno, "fcntl");
		interp_kill_wait(&it);
		interp_close(&it);
		return r;
	}

	/* {"op":"ready"} once the process has its session, or {"op":"error"}. */
	struct frame_reader fr = {0};
	r = frame_read_wait(it.sock, &fr, READY_TIMEOUT_MS);
	cleanup_cjson cJSON *msg =
	    r > 0 ? sp_json_parse(fr.buf, fr.len, fr.len, SP_JSON_DEPTH_MAX, NULL) : NULL;
	frame_reader_fini(&fr);
	const cJSON *op = msg ? cJSON_GetObjectItemCaseSensitive(msg, "op") : NULL;
	if (cJSON_IsString(op) && strcmp(op->valuestring, "ready") == 0) {
		*out = it;
		return 0;
	}
	const cJSON *m = msg ? cJSON_GetObjectItemCaseSensitive(msg, "message") : NULL;
	char status[64] = "still running";
	interp_kill_wait(&it);
	if (r != 0 || msg)
		zygote_status(z, it.pid, status, sizeof(status));
	interp_close(&it);
	if (r == 0)
		return sp_err_set(err, -ETIMEDOUT, "the interpreter did not start within %d s",
				  READY_TIMEOUT_MS / 1000);
	return sp_err_set(err, -EIO, "the interpreter failed to start (%s): %s", status,
			  cJSON_IsString(m) ? m->valuestring : "no message");
}

static void session_drop_interp(struct sbx_session *s);

static int session_spawn(struct sbx_zygote *z, const char *host_dir, unsigned slot, bool warm,
			 struct sbx_session **out, struct sp_err *err)
{
	cleanup_close int dir = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return sp_err_sys(err, -errno, "session directory %s", host_dir);
	struct interp it;
	/* A new session does not wait for a restarting zygote: the caller answers "retry". */
	int r = interp_spawn(z, dir, slot, warm, 0, &it, err);
	if (r < 0)
		return r;
	struct sbx_session *s = calloc(1, sizeof(*s));
	if (!s) {
		interp_kill_wait(&it);
		interp_close(&it);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	s->z = z;
	s->slot = slot;
	s->host_dir = steal_fd(&dir);
	pthread_mutex_init(&s->lock, NULL);
	s->it = it;
	atomic_store(&s->pid, it.local_pid);
	s->alive = true;
	/* Registered only if its zygote still lives: else zygote_died() missed it. */
	pthread_mutex_lock(&z->lock);
	bool current = it.gen == z->gen;
	if (current) {
		s->next = z->sessions;
		if (z->sessions)
			z->sessions->prev = s;
		z->sessions = s;
	}
	pthread_mutex_unlock(&z->lock);
	if (!current) {
		session_drop_interp(s);
		close(s->host_dir);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return sp_err_set(err, -EAGAIN,
				  "the sandbox is restarting (its zygote process died); retry");
	}
	*out = s;
	return 0;
}

int sbx_session_spawn(struct sbx_zygote *z, const char *host_dir, unsigned slot,
		      struct sbx_session **out, struct sp_err *err)
{
	return session_spawn(z, host_dir, slot, false, out, err);
}

int sbx_session_spawn_warm(struct sbx_zygote *z, const char *host_dir, unsigned slot,
			   struct sbx_session **out, struct sp_err *err)
{
	return session_spawn(z, host_dir, slot, true, out, err);
}

bool sbx_session_stale(struct sbx_session *s)
{
	struct sbx_zygote *z = s->z;
	if (!z)
		return true;
	pthread_mutex_lock(&z->lock);
	pthread_mutex_lock(&s->lock);
	/* z->dead with the same generation: a caller found the zygote gone before the supervisor
	 * did; it will kill this interpreter with the rest of the generation any moment now. */
	bool stale = s->it.pidfd < 0 || s->it.gen != z->gen || z->dead;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&z->lock);
	return stale;
}

pid_t sbx_session_pid(const struct sbx_session *s)
{
	return atomic_load(&((struct sbx_session *)s)->pid);
}

void sbx_session_cancel(struct sbx_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->canceled = true;
	if (s->it.pidfd >= 0)
		pidfd_send_signal(s->it.pidfd, SIGKILL, NULL, 0);
	pthread_mutex_unlock(&s->lock);
}

static bool is_canceled(struct sbx_session *s)
{
	pthread_mutex_lock(&s->lock);
	bool c = s->canceled;
	pthread_mutex_unlock(&s->lock);
	return c;
}

static void session_signal(struct sbx_session *s, int sig)
{
	pthread_mutex_lock(&s->lock);
	if (s->it.pidfd >= 0)
		pidfd_send_signal(s->it.pidfd, sig, NULL, 0);
	pthread_mutex_unlock(&s->lock);
}

/* Drops the current interpreter (already dead or killed here) and its descriptors. */
static void session_drop_interp(struct sbx_session *s)
{
	pthread_mutex_lock(&s->lock);
	struct interp it = s->it;
	s->it = (struct interp){-1, -1, -1, -1, -1, -1, NULL};
	atomic_store(&s->pid, -1);
	s->alive = false;
	pthread_mutex_unlock(&s->lock);
	interp_kill_wait(&it);
	interp_close(&it);
}

/* Starts a fresh interpreter for |s|. -ECANCELED when the session was canceled meanwhile. */
static int session_respawn(struct sbx_session *s, struct sp_err *err)
{
	struct interp it;

	if (is_canceled(s))
		return -ECANCELED;
	/* An existing session waits (bounded) for a restarting zygote: its cell is already
	 * answered, or about to be. */
	int r = interp_spawn(s->z, s->host_dir, s->slot, false, RESPAWN_WAIT_MS, &it, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->z->lock);
	pthread_mutex_lock(&s->lock);
	bool canceled = s->canceled, current = it.gen == s->z->gen;
	if (!canceled && current) {
		s->it = it;
		atomic_store(&s->pid, it.local_pid);
		s->alive = true;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->z->lock);
	if (canceled || !current) {
		interp_kill_wait(&it);
		interp_close(&it);
	}
	if (canceled)
		return -ECANCELED;
	if (!current)
		return sp_err_set(err, -EAGAIN,
				  "the sandbox is restarting (its zygote process died); retry");
	return 0;
}

void sbx_session_free(struct sbx_session *s)
{
	if (!s)
		return;
	struct sbx_zygote *z = s->z;
	if (z) {
		pthread_mutex_lock(&z->lock);
		if (s->prev)
			s->prev->next = s->next;
		else if (z->sessions == s)
			z->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		pthread_mutex_unlock(&z->lock);
	}
	pthread_mutex_lock(&s->lock);
	s->canceled = true;
	pthread_mutex_unlock(&s->lock);
	session_drop_interp(s);
	close(s->host_dir);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- one cell ------------------------------------------------------------------------------ */

struct capture {
	int fd;
	char *buf;
	size_t len;
	size_t alloc;
	size_t limit; /* bytes kept; the rest is read and dropped */
	bool eof;
	/* What is past the limit is read into this and dropped: on the heap (HTTP worker threads
	 * have small stacks, CivetWeb's 100 KiB), made once per execution when first needed. */
	char *scratch;
};

/* Reads what |c->fd| has now (at most |budget| bytes; SIZE_MAX for no bound). */
static void capture_read(struct capture *c, size_t budget)
{
	while (!c->eof && budget > 0) {
		char *dst = NULL;
		size_t want = DRAIN_CHUNK;
		if (c->len < c->limit && c->alloc == c->len) {
			size_t na = c->alloc ? c->alloc * 2 : DRAIN_CHUNK;
			if (na > c->limit)
				na = c->limit;
			char *nb = realloc(c->buf, na);
			if (nb) {
				c->buf = nb;
				c->alloc = na;
			}
		}
		if (c->len < c->alloc) {
			dst = c->buf + c->len;
			want = c->alloc - c->len;
		} else if (!c->scratch && !(c->scratch = malloc(DRAIN_CHUNK))) {
			return;
		}
		if (!dst)
			dst = c->scratch;
		if (want > budget)
			want = budget;
		ssize_t n = read(c->fd, dst, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->eof = true;
			return;
		}
		if (n == 0) {
			c->eof = true;
			return;
		}
		if (dst != c->scratch)
			c->len += (size_t)n;
		budget -= (size_t)n;
	}
}

/* Discards what the pipe holds now (output written between cells). */
static void drain_discard(int fd)
{
	/* Small and on the stack: HTTP worker threads have small stacks (CivetWeb's 100 KiB), and
	 * this runs before every execution. At most 4 MiB per call, as before. */
	char scratch[4096];
	for (int i = 0; i < 1024; i++) {
		ssize_t n = read(fd, scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

/* Appends |code| as a JSON string body: escapes, and U+FFFD for bytes that are not UTF-8. */
static int json_escape(struct sbx_text *t, const char *code, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)code;
	size_t i = 0;

	while (i < len) {
		size_t start = i;
		while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
			i++;
		if (i > start && sbx_text_append(t, code + start, i - start, SIZE_MAX) < 0)
			return -ENOMEM;
		if (i >= len)
			break;
		char esc[8];
		size_t n = 0;
		size_t bad = 0;
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			n = 2;
			i++;
		} else if (s[i] < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[s[i] >> 4];
			esc[5] = hex[s[i] & 15];
			n = 6;
			i++;
		} else {
			size_t k = sp_utf8_next(s + i, len - i, &bad);
			/* sbx_text_append replaces ill-formed bytes with U+FFFD itself. */
			if (sbx_text_append(t, code + i, k ? k : bad, SIZE_MAX) < 0)
				return -ENOMEM;
			i += k ? k : bad;
			continue;
		}
		if (sbx_text_append(t, esc, n, SIZE_MAX) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* A fresh request id: 64 bits from the kernel's generator, as lowercase hex. */
static int new_request_id(char id[SBX_REPLY_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[SBX_REPLY_ID_LEN / 2];
	ssize_t n;

	do
		n = getrandom(rnd, sizeof(rnd), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(rnd))
		return -EIO;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[SBX_REPLY_ID_LEN] = '\0';
	return 0;
}

static void id_remember(struct sbx_session *s, const char *id)
{
	memcpy(s->past_ids[s->past_next % ID_HISTORY], id, SBX_REPLY_ID_LEN + 1);
	s->past_next++;
}

static bool id_is_past(const struct sbx_session *s, const char *id)
{
	unsigned n = s->past_next < ID_HISTORY ? s->past_next : ID_HISTORY;
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(s->past_ids[i], id) == 0)
			return true;
	}
	return false;
}

/* Appends the string literal |lit|. */
#define append_lit(t, lit) sbx_text_append(t, lit, sizeof(lit) - 1, SIZE_MAX)

/* Appends |s| as a JSON string, quotes included. */
static int json_string(struct sbx_text *t, const char *str, size_t len)
{
	if (append_lit(t, "\"") < 0 || json_escape(t, str, len) < 0 || append_lit(t, "\"") < 0)
		return -ENOMEM;
	return 0;
}

/*
 * {"op":"exec","id":…,"code":…} for a cell, {"op":"shell","id":…[,"path":…],"argv":[…]} for a
 * command: the session side (pyrunner.c) reads the op and the id at this fixed place, so "op"
 * and "id" stay first and in this order.
 */
static int build_request(const struct sbx_exec_request *req, const char *id, struct sbx_text *frame)
{
	static const char exec_head[] = "...." SBX_EXEC_HEAD; /* "....": the length, later */
	static const char shell_head[] = "...." SBX_SHELL_HEAD;
	const char *head = req->kind == SBX_EXEC_PYTHON ? exec_head : shell_head;
	int r = 0;

	if (sbx_text_append(frame, head, strlen(head), SIZE_MAX) < 0 ||
	    sbx_text_append(frame, id, SBX_REPLY_ID_LEN, SIZE_MAX) < 0 ||
	    append_lit(frame, "\",") < 0)
		return -ENOMEM;
	switch (req->kind) {
	case SBX_EXEC_PYTHON:
		r = append_lit(frame, "\"code\":");
		if (r == 0)
			r = json_string(frame, req->code ? req->code : "",
					req->code ? req->code_len : 0);
		break;
	case SBX_EXEC_SHELL:
		r = append_lit(frame, "\"path\":\"/bin/sh\",\"argv\":[\"sh\",\"-c\",");
		if (r == 0)
			r = json_string(frame, req->code, req->code_len);
		if (r == 0)
			r = append_lit(frame, "]");
		break;
	case SBX_EXEC_ARGV:
		r = append_lit(frame, "\"argv\":[");
		for (size_t i = 0; r == 0 && req->argv[i]; i++) {
			if (i > 0)
				r = append_lit(frame, ",");
			if (r == 0)
				r = json_string(frame, req->argv[i], strlen(req->argv[i]));
		}
		if (r == 0)
			r = append_lit(frame, "]");
		break;
	}
	if (r < 0 || append_lit(frame, "}") < 0)
		return -ENOMEM;
	if (frame->len - 4 > SBX_FRAME_MAX)
		return -EMSGSIZE;
	sbx_put_u32((unsigned char *)frame->buf, (unsigned)(frame->len - 4));
	return 0;
}

/* Why |req| cannot be sent, or NULL. */
static const char *request_invalid(const struct sbx_exec_request *req)
{
	switch (req->kind) {
	case SBX_EXEC_PYTHON:
		return NULL;
	case SBX_EXEC_SHELL:
		if (!req->code)
			return "a shell command needs its command line";
		if (memchr(req->code, '\0', req->code_len))
			return "a shell command cannot contain a NUL byte";
		return NULL;
	case SBX_EXEC_ARGV:
		if (!req->argv || !req->argv[0])
			return "a command needs at least a program name";
		return NULL;
	}
	return "unknown request kind";
}

/* Sends |len| bytes on the non-blocking socket; pipe data meanwhile is between-cells noise. */
static int send_request(struct sbx_session *s, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(s->it.sock, buf, len, MSG_NOSIGNAL);
		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct pollfd p[4] = {{s->it.sock, POLLOUT, 0},
				      {s->it.out, POLLIN, 0},
				      {s->it.err, POLLIN, 0},
				      {s->it.pidfd, POLLIN, 0}};
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents & POLLIN)
			drain_discard(s->it.out);
		if (p[2].revents & POLLIN)
			drain_discard(s->it.err);
		if (p[3].revents & POLLIN)
			return -ECONNRESET;
	}
	return 0;
}

enum phase { PHASE_RUN, PHASE_INTERRUPTED, PHASE_KILLED };

struct exec_ctx {
	struct capture out, err;
	struct frame_reader fr;
	char id[SBX_REPLY_ID_LEN + 1]; /* of the request this call sent */
	bool command;		       /* the request was a command: its reply has an exit code */
	struct sbx_reply reply;	       /* valid when have_reply */
	bool have_reply;
	char violation[160]; /* what the session did wrong, "" if nothing */
	unsigned stale;	     /* stale replies discarded so far */
	enum phase phase;
	bool died;
	int64_t t_sent_us, t_done_us;
};

static void exec_ctx_fini(struct exec_ctx *x)
{
	free(x->out.buf);
	free(x->err.buf);
	free(x->out.scratch);
	free(x->err.scratch);
	frame_reader_fini(&x->fr);
	sbx_reply_fini(&x->reply);
}

enum pump { PUMP_AGAIN, PUMP_REPLY, PUMP_DEAD, PUMP_IGNORED, PUMP_VIOLATION };

/*
 * Reads the session socket. A frame is accepted only as a well-formed reply to the request of
 * this call; a well-formed reply to an earlier request of the session is stale (a forged or
 * late answer came first) and discarded; anything else breaks the protocol.
 */
static enum pump pump_socket(struct sbx_session *s, struct exec_ctx *x)
{
	int r = frame_read(s->it.sock, &x->fr);
	if (r == 0)
		return PUMP_AGAIN;
	if (r == -EMSGSIZE) {
		snprintf(x->violation, sizeof(x->violation),
			 "a frame announced %zu bytes, more than a reply can hold (%zu)", x->fr.len,
			 SBX_REPLY_FRAME_MAX);
		frame_reader_fini(&x->fr);
		return PUMP_VIOLATION;
	}
	if (r < 0) {
		x->died = true;
		return PUMP_DEAD;
	}
	const char *why = "invalid reply";
	struct sbx_reply rep;
	r = sbx_reply_parse(x->fr.buf, x->fr.len, x->id, &rep, &why);
	frame_reader_fini(&x->fr);
	if (r == 0 && !rep.exception && x->command != (rep.exit_code >= 0)) {
		/* A command's answer is an exit code (or the helper's exception); a cell's never.
		 */
		sbx_reply_fini(&rep);
		snprintf(x->violation, sizeof(x->violation), "%s",
			 x->command ? "the reply to a command has no exit code"
				    : "the reply to a cell has an exit code");
		return PUMP_VIOLATION;
	}
	if (r == 0) {
		x->reply = rep;
		x->have_reply = true;
		return PUMP_REPLY;
	}
	if (r == SBX_REPLY_OTHER_ID) {
		bool past = id_is_past(s, rep.id);
		sbx_reply_fini(&rep);
		if (past && ++x->stale <= STALE_MAX)
			return PUMP_IGNORED;
		snprintf(x->violation, sizeof(x->violation), "%s",
			 past ? "more than 8 stale replies during one cell"
			      : "a reply to a request it was never sent");
		return PUMP_VIOLATION;
	}
	snprintf(x->violation, sizeof(x->violation), "%s",
		 r == -ENOMEM ? "its reply could not be read (out of memory)" : why);
	return PUMP_VIOLATION;
}

/*
 * When the cell's user code started (CLOCK_MONOTONIC ms, rounded up), as the session wrote it on
 * its clock page; -1 while that is before |sent| (not started yet) or in the future.
 */
static int64_t user_code_start(const struct interp *it, int64_t sent, int64_t now)
{
	if (!it->clock)
		return sent; /* no page: count from the send */
	int64_t ns = __atomic_load_n(it->clock, __ATOMIC_ACQUIRE);
	int64_t ms = ns / 1000000 + (ns % 1000000 != 0);
	return ms >= sent && ms <= now ? ms : -1;
}

#define START_POLL_MS 10

/*
 * Waits for the reply or the death of the interpreter, enforcing the deadline and grace.
 *
 * The timeout counts from the start of the user code (§8.6), which under load, or behind a
 * thread of the session that holds the GIL, comes well after the request was sent. When the
 * deadline computed from the send passes, the session's clock page says when the code started,
 * and the deadline moves there; a cell whose code has not started keeps waiting, up to one more
 * timeout after the send. Whatever the session writes on its page, it gains at most that.
 */
static void exec_wait(struct sbx_session *s, const struct sbx_exec_request *req, struct exec_ctx *x)
{
	int64_t t_int = 0, t_kill = 0;
	int64_t sent = x->t_sent_us / 1000;
	int64_t run_deadline = sent + req->timeout_ms;
	bool started = false;

	for (;;) {
		int64_t now = now_ms(), deadline = -1;
		if (x->phase == PHASE_RUN && req->timeout_ms > 0)
			deadline = run_deadline;
		else if (x->phase == PHASE_INTERRUPTED)
			deadline = t_int + req->grace_ms;
		else if (x->phase == PHASE_KILLED)
			deadline = t_kill + DEATH_TIMEOUT_MS;
		if (deadline >= 0 && now >= deadline) {
			if (x->phase == PHASE_RUN && !started) {
				int64_t start = user_code_start(&s->it, sent, now);
				int64_t cap = sent + 2 * (int64_t)req->timeout_ms;
				if (start >= 0) {
					started = true;
					run_deadline = start + req->timeout_ms;
				} else if (now < cap) {
					run_deadline =
					    now + START_POLL_MS < cap ? now + START_POLL_MS : cap;
				} else {
					started = true;
				}
				if (now < run_deadline)
					continue;
			}
			if (x->phase == PHASE_RUN) {
				session_signal(s, SIGINT);
				x->phase = PHASE_INTERRUPTED;
				t_int = now;
			} else if (x->phase == PHASE_INTERRUPTED) {
				session_signal(s, SIGKILL);
				x->phase = PHASE_KILLED;
				t_kill = now;
			} else {
				x->died = true; /* unkillable for 10 s: give up on it */
				return;
			}
			continue;
		}
		struct pollfd p[4] = {{s->it.sock, POLLIN, 0},
				      {x->out.eof ? -1 : s->it.out, POLLIN, 0},
				      {x->err.eof ? -1 : s->it.err, POLLIN, 0},
				      {s->it.pidfd, POLLIN, 0}};
		int r = poll(p, 4, deadline < 0 ? -1 : (int)(deadline - now));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			x->died = true;
			return;
		}
		if (p[1].revents)
			capture_read(&x->out, PUMP_BUDGET);
		if (p[2].revents)
			capture_read(&x->err, PUMP_BUDGET);
		if (p[0].revents) {
			enum pump k = pump_socket(s, x);
			if (k == PUMP_REPLY || k == PUMP_DEAD || k == PUMP_VIOLATION)
				return;
		}
		if (p[3].revents & POLLIN) {
			/* Dead: a reply it managed to send first still counts. */
			enum pump k;
			do
				k = pump_socket(s, x);
			while (k == PUMP_IGNORED);
			if (k != PUMP_REPLY)
				x->died = true;
			return;
		}
	}
}

static int fill_streams(struct exec_ctx *x, const char *tb, size_t max_cps,
			struct sbx_exec_result *res)
{
	struct sbx_text o = {0}, e = {0};
	int r = sbx_text_append(&o, x->out.buf ? x->out.buf : "", x->out.len, max_cps);
	if (r == 0)
		r = sbx_text_append(&e, x->err.buf ? x->err.buf : "", x->err.len, max_cps);
	if (r == 0 && tb)
		r = sbx_text_append(&e, tb, strlen(tb), max_cps);
	if (r == 0)
		r = sbx_text_finish(&o);
	if (r == 0)
		r = sbx_text_finish(&e);
	if (r < 0) {
		sbx_text_fini(&o);
		sbx_text_fini(&e);
		return r;
	}
	res->stdout_len = o.len;
	res->stderr_len = e.len;
	res->stdout_text = sbx_text_steal(&o);
	res->stderr_text = sbx_text_steal(&e);
	return 0;
}

/* Moves what the reply says into |res| (strings are stolen: the reply validated them). */
static void fill_from_reply(struct sbx_reply *rep, enum phase phase, struct sbx_exec_result *res)
{
	/* The session's own measure, never more than the time the emulator waited for it. */
	int64_t ms = rep->exec_us / 1000;
	if (rep->exec_us > 0)
		res->exec_ms = ms < res->request_ms ? ms : res->request_ms;
	if (phase != PHASE_RUN) {
		/* Interrupted at the deadline and it stopped in time: state kept, no value. */
		res->outcome = SBX_OUTCOME_TIMEOUT;
		res->exit_code = rep->exit_code; /* sbx_reply_parse: -1 with an exception */
		return;
	}
	if (rep->exception) {
		res->outcome = SBX_OUTCOME_EXCEPTION;
		res->error_message = steal_pointer(&rep->error);
		return;
	}
	res->outcome = SBX_OUTCOME_OK;
	res->value_kind = rep->kind;
	res->value = steal_pointer(&rep->value);
	res->exit_code = rep->exit_code;
}

static size_t stream_limit(size_t max_cps)
{
	if (max_cps >= STREAM_HARD_CAP / 4)
		return STREAM_HARD_CAP;
	return max_cps * 4;
}

void sbx_exec_result_fini(struct sbx_exec_result *r)
{
	if (!r)
		return;
	free(r->stdout_text);
	free(r->stderr_text);
	free(r->value);
	free(r->error_message);
	memset(r, 0, sizeof(*r));
}

/* One line on the emulator's stderr per protocol violation: which session, what it did. */
static void protocol_log(const struct sbx_session *s, const struct sbx_exec_request *req, pid_t pid,
			 const char *what)
{
	if (req->label)
		fprintf(stderr,
			"sessionpool-emulator: session %s broke the protocol (%s); its interpreter "
			"(pid %d) was killed and restarted\n",
			req->label, what, (int)pid);
	else
		fprintf(stderr,
			"sessionpool-emulator: session in slot %u broke the protocol (%s); its "
			"interpreter (pid %d) was killed and restarted\n",
			s->slot, what, (int)pid);
}

/* Fills a result that has no output: CANCELED before anything ran. */
static int result_empty(enum sbx_outcome outcome, struct sbx_exec_result *out)
{
	struct sbx_exec_result res = {
	    .outcome = outcome, .value_kind = SBX_VALUE_NONE, .exit_code = -1};
	res.stdout_text = strdup("");
	res.stderr_text = strdup("");
	if (!res.stdout_text || !res.stderr_text) {
		sbx_exec_result_fini(&res);
		return -ENOMEM;
	}
	*out = res;
	return 0;
}

int sbx_session_exec(struct sbx_session *s, const struct sbx_exec_request *req,
		     struct sbx_exec_result *out, struct sp_err *err)
{
	struct sbx_exec_result res = {.value_kind = SBX_VALUE_NONE, .exit_code = -1};
	struct exec_ctx x = {.command = req->kind != SBX_EXEC_PYTHON};
	struct sbx_text frame = {0};
	int64_t prep_us = 0;
	int r;

	const char *invalid = request_invalid(req);
	if (invalid)
		return sp_err_set(err, -EINVAL, "%s", invalid);
	if (is_canceled(s))
		return result_empty(SBX_OUTCOME_CANCELED, out);
	if (!s->alive) {
		int64_t t = now_us();
		r = session_respawn(s, err);
		prep_us += now_us() - t;
		if (r == -ECANCELED)
			return result_empty(SBX_OUTCOME_CANCELED, out);
		if (r < 0)
			return r;
	}
	r = new_request_id(x.id);
	if (r < 0)
		return sp_err_sys(err, r, "getrandom");
	r = build_request(req, x.id, &frame);
	if (r < 0) {
		sbx_text_fini(&frame);
		return sp_err_sys(err, r, "building the request");
	}
	id_remember(s, x.id);

	x.out = (struct capture){.fd = s->it.out, .limit = stream_limit(req->stream_max_chars)};
	x.err = (struct capture){.fd = s->it.err, .limit = stream_limit(req->stream_max_chars)};
	drain_discard(s->it.out);
	drain_discard(s->it.err);

	x.t_sent_us = now_us();
	struct pollfd dead = {s->it.pidfd, POLLIN, 0};
	if (poll(&dead, 1, 0) > 0 && (dead.revents & POLLIN))
		x.died = true; /* it died between cells */
	else if (send_request(s, frame.buf, frame.len) < 0)
		x.died = true;
	sbx_text_fini(&frame);
	if (!x.died)
		exec_wait(s, req, &x);
	x.t_done_us = now_us();

	int64_t t_read = now_us();
	/* Whatever it wrote before replying is in the pipes by now. */
	capture_read(&x.out, (size_t)DRAIN_CHUNK * 16);
	capture_read(&x.err, (size_t)DRAIN_CHUNK * 16);
	res.request_ms = (x.t_done_us - x.t_sent_us) / 1000;
	res.exec_ms = res.request_ms;

	const char *tb = NULL;
	bool restart = false;
	char status[64] = "";
	if (x.have_reply && x.phase == PHASE_KILLED) {
		/* It answered, but only after the kill: its state is gone all the same. */
		sbx_reply_fini(&x.reply);
		x.have_reply = false;
	}
	if (x.have_reply) {
		r = 0;
		fill_from_reply(&x.reply, x.phase, &res);
		if (res.outcome == SBX_OUTCOME_EXCEPTION)
			tb = x.reply.traceback;
	} else {
		bool canceled = is_canceled(s);
		pid_t pid = s->it.pid, local_pid = s->it.local_pid;
		r = 0;
		/* Make sure it is gone (all of its pid namespace with it), then read what is left.
		 */
		session_signal(s, SIGKILL);
		wait_fd(s->it.pidfd, POLLIN, DEATH_TIMEOUT_MS);
		capture_read(&x.out, (size_t)DRAIN_CHUNK * 16);
		capture_read(&x.err, (size_t)DRAIN_CHUNK * 16);
		session_drop_interp(s);
		if (canceled) {
			res.outcome = SBX_OUTCOME_CANCELED;
		} else if (x.violation[0]) {
			/* §8.7's crash path: whatever it sent is dropped, its files stay. */
			protocol_log(s, req, local_pid, x.violation);
			res.outcome = SBX_OUTCOME_CRASHED;
			if (asprintf(&res.error_message,
				     "killed: the session broke the protocol: %s",
				     x.violation) < 0) {
				res.error_message = NULL;
				r = -ENOMEM;
			}
			restart = true;
		} else if (x.phase != PHASE_RUN) {
			res.outcome = SBX_OUTCOME_TIMEOUT_RESTARTED;
			restart = true;
		} else {
			res.outcome = SBX_OUTCOME_CRASHED;
			zygote_status(s->z, pid, status, sizeof(status));
			res.error_message = strdup(status);
			if (!res.error_message)
				r = -ENOMEM;
			restart = true;
		}
	}
	if (r == 0)
		r = fill_streams(&x, tb, req->stream_max_chars, &res);
	res.read_ms = (now_us() - t_read) / 1000;
	exec_ctx_fini(&x);
	if (r < 0) {
		sbx_exec_result_fini(&res);
		return sp_err_sys(err, r, "collecting the result");
	}
	if (restart) {
		int64_t t = now_us();
		r = session_respawn(s, err);
		prep_us += now_us() - t;
		if (r == -ECANCELED) {
			res.outcome = SBX_OUTCOME_CANCELED;
			free(res.error_message);
			res.error_message = NULL;
		} else if (r < 0) {
			sbx_exec_result_fini(&res);
			return r;
		}
	}
	res.prepare_ms = prep_us / 1000;
	*out = res;
	return 0;
}
