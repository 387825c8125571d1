/* SPDX-License-Identifier: MIT */
/*
 * zygote.c: sessionpool-zygote, the single-threaded process that forks sandboxed interpreters.
 *
 * Started by the client library (client.c) with the control socket on a descriptor named on the
 * command line. It chooses the isolation mode (probing namespaces once), compiles the seccomp
 * program, preloads CPython and the scientific stack (pyrunner.c), says hello, then serves one
 * request at a time on the control socket:
 *
 *   spawn {slot, warm} + [host dir] → fork a session process and hand it its session; reply
 *                                     {pid} + [socket, stdout, stderr, pidfd, clock page]
 *   status {pid}               → how a session process ended ("exit status 3", "signal SIGSEGV")
 *   stop                       → kill every session and exit
 *
 * A session process is forked per spawn (unshare(CLONE_NEWPID), fork: it is pid 1 of a new pid
 * namespace, setns back); it prepares its jail and Python state (jail_standby,
 * pyr_session_prepare, with a throw-away warm-up cell when the spawn says "warm") while the
 * zygote already sends it {"op":"assign","slot"} with the host directory attached; it then
 * finishes the jail (jail_assign) and serves the session. The zygote answers as soon as it has
 * forked: the client waits for the process's readiness, so spawns overlap. Interpreters made
 * ahead of demand are the emulator pool's ready cache (emulator/pool.c), the only one: the
 * zygote keeps none of its own.
 *
 * The zygote never waits for one session: children are reaped with waitpid(-1, WNOHANG) when
 * SIGCHLD arrives and before each request, and their statuses are kept in a small ring for
 * "status". End of file on the control socket (the emulator is gone) also kills every session.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "err.h"
#include "jail.h"
#include "policy.h"
#include "pyrunner.h"
#include "sandbox.h"
#include "spjson.h"
#include "wire.h"

#define EXIT_RING 256

struct live {
	pid_t pid;
	unsigned slot;
};

struct exit_rec {
	pid_t pid;
	int status;
	bool oom; /* killed because its slot ran out of memory */
};

/* A session process just forked, before it gets its session; the descriptors are ours. */
struct child {
	pid_t pid;
	int pidfd;
	int sock; /* our end of its session socket: the assignment, then the client's */
	int out_r;
	int err_r;
	int clock; /* memfd of the page where it writes when user code starts (pyrunner.h) */
};

struct zygote {
	int ctl;
	int sig_pipe[2];
	enum sbx_isolation requested;
	enum sbx_isolation mode;
	char reason[300];
	struct jail_config jail;
	struct sock_fprog filter;
	char state_dir[PATH_MAX - 64]; /* ours alone (the client made it); room for "/root" */
	char font_cache[PATH_MAX];     /* matplotlib's font cache, or "" */
	bool made_data_link;	       /* degraded: we created the host's /mnt/data symlink */
	struct live *live;
	size_t nlive, live_cap;
	struct exit_rec ring[EXIT_RING];
	size_t ring_next;
	bool stopping;
	struct cgroups cg;
	uint64_t disk_bytes;
	bool cg_join_failed;	   /* logged once */
	bool quiet;		   /* --quiet: no start-up line (errors only) */
	char mounts_dir[PATH_MAX]; /* --mounts-fd: the client's session mounts, not for our table */
	bool *oom_pending;	   /* per slot: out of memory, its interpreter not reaped yet */
	size_t noom;
};

static volatile sig_atomic_t sig_fd = -1;

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
		/* Full pipe: a wake-up is already pending. */
	}
	errno = saved;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
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
	if (write(2, buf, (size_t)n) < 0) {
		/* Nowhere else to report it. */
	}
}

static void describe_status(int status, char *buf, size_t n)
{
	if (WIFEXITED(status)) {
		snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		if (abbrev)
			snprintf(buf, n, "signal SIG%s", abbrev);
		else
			snprintf(buf, n, "signal %d", WTERMSIG(status));
	} else {
		snprintf(buf, n, "status 0x%x", (unsigned)status);
	}
}

/* Real and effective uid of the living (not zombie) process |pid|, from /proc; 0 or -1. */
static int proc_uids(pid_t pid, uid_t *ruid, uid_t *euid)
{
	char path[64], line[256], state = '?';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	cleanup_fclose FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned a, b;
		if (sscanf(line, "State: %c", &state) == 1 && (state == 'Z' || state == 'X'))
			return -1;
		if (sscanf(line, "Uid: %u %u", &a, &b) == 2) {
			*ruid = a;
			*euid = b;
			return 0;
		}
	}
	return -1;
}

/* Appends the children of every thread of |pid| to |*v| (/proc/PID/task/TID/children). */
static void add_children(pid_t pid, pid_t **v, size_t *n, size_t *cap)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char file[320];
		snprintf(file, sizeof(file), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		cleanup_fclose FILE *f = fopen(file, "re");
		int child;
		while (f && fscanf(f, "%d", &child) == 1) {
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 256;
				pid_t *nv = realloc(*v, nc * sizeof(*nv));
				if (!nv)
					break;
				*v = nv;
				*cap = nc;
			}
			(*v)[(*n)++] = child;
		}
	}
	if (d)
		closedir(d);
}

/*
 * Degraded mode: kills what is left of a session, every process below us running as |uid|. We
 * are a child subreaper, so a session's processes never leave our subtree, however they fork
 * or setsid(); processes of other emulators' sessions, which may well run as the same uid, are
 * never touched (kill(-1) as |uid| used to reach them all, and their interpreters died of
 * SIGKILL in the middle of a cell). Repeats until a walk finds none, so that children forked
 * meanwhile go too.
 */
static void kill_leftovers(uid_t uid)
{
	if (uid == 0)
		return;
	for (int round = 0; round < 100; round++) {
		pid_t *v = NULL;
		size_t n = 0, cap = 0, found = 0;
		add_children(getpid(), &v, &n, &cap);
		for (size_t i = 0; i < n; i++) {
			add_children(v[i], &v, &n, &cap);
			uid_t r, e;
			if (proc_uids(v[i], &r, &e) < 0 || (r != uid && e != uid))
				continue;
			found++;
			/* Checked again through a pidfd: a recycled pid is never signalled. */
			int pfd = pidfd_open(v[i], 0);
			if (pfd >= 0 && proc_uids(v[i], &r, &e) == 0 && (r == uid || e == uid))
				pidfd_send_signal(pfd, SIGKILL, NULL, 0);
			if (pfd >= 0)
				close(pfd);
		}
		free(v);
		if (!found)
			return;
		struct timespec ts = {0, 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Degraded mode: whether a live session (other than |except|) runs in |slot|. */
static bool slot_in_use(const struct zygote *z, unsigned slot, pid_t except)
{
	for (size_t i = 0; i < z->nlive; i++) {
		if (z->live[i].slot == slot && z->live[i].pid != except)
			return true;
	}
	return false;
}

static void child_close(struct child *sb)
{
	int *fds[] = {&sb->pidfd, &sb->sock, &sb->out_r, &sb->err_r, &sb->clock};
	for (size_t i = 0; i < 5; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void forget_live(struct zygote *z, pid_t pid)
{
	for (size_t i = 0; i < z->nlive; i++) {
		if (z->live[i].pid != pid)
			continue;
		unsigned slot = z->live[i].slot;
		z->live[i] = z->live[--z->nlive];
		/* Not when the slot has a new interpreter already (a restart, or the slot's next
		 * session): handle_spawn cleared the slot before handing it out. */
		if (z->mode == SBX_ISOLATION_DEGRADED && !slot_in_use(z, slot, pid)) {
			cg_slot_kill(&z->cg, slot);
			kill_leftovers(jail_session_uid(&z->jail, slot));
		}
		return;
	}
}

/* Whether |pid| is the interpreter of a slot that ran out of memory (and forgets that). */
static bool take_oom(struct zygote *z, pid_t pid)
{
	for (size_t i = 0; i < z->nlive; i++) {
		unsigned slot = z->live[i].slot;
		if (z->live[i].pid == pid && slot < z->noom && z->oom_pending[slot]) {
			z->oom_pending[slot] = false;
			return true;
		}
	}
	return false;
}

static void reap_children(struct zygote *z)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return;
		bool oom = take_oom(z, pid);
		z->ring[z->ring_next % EXIT_RING] = (struct exit_rec){pid, st, oom};
		z->ring_next++;
		forget_live(z, pid);
	}
}

/* Kills every session process and waits (bounded) until all children are gone, so
 * their namespaces are torn down when we exit. */
static void kill_all_sessions(struct zygote *z)
{
	for (size_t i = 0; i < z->nlive; i++) {
		kill(z->live[i].pid, SIGKILL);
		if (z->mode == SBX_ISOLATION_DEGRADED)
			kill_leftovers(jail_session_uid(&z->jail, z->live[i].slot));
	}
	z->nlive = 0;
	for (int round = 0; round < 1000; round++) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0 || (pid < 0 && errno == EINTR))
			continue;
		if (pid < 0)
			return; /* ECHILD: nothing left */
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int send_reply(struct zygote *z, cJSON *reply, const int *fds, size_t nfds)
{
	cleanup_free char *text = cJSON_PrintUnformatted(reply);
	if (!text)
		return -ENOMEM;
	return sbx_ctl_send(z->ctl, text, strlen(text), fds, nfds);
}

static int send_error(struct zygote *z, const char *msg)
{
	cleanup_cjson cJSON *reply = cJSON_CreateObject();
	if (!reply)
		return -ENOMEM;
	cJSON_AddBoolToObject(reply, "ok", 0);
	cJSON_AddStringToObject(reply, "error", msg);
	return send_reply(z, reply, NULL, 0);
}

__attribute__((noreturn)) static void session_fail(int sock, const char *message)
{
	cleanup_cjson cJSON *msg = cJSON_CreateObject();
	if (msg) {
		cJSON_AddStringToObject(msg, "op", "error");
		cJSON_AddStringToObject(msg, "message", message);
		cleanup_free char *text = cJSON_PrintUnformatted(msg);
		if (text)
			sbx_frame_send(sock, text, strlen(text));
	}
	_exit(JAIL_EXIT_SETUP);
}

/* The session process: preparation, then wait for a session, then serve it. */
__attribute__((noreturn)) static void run_session(struct zygote *z, const struct jail_fds *fds,
						  bool warm_up)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	struct sp_err e = {0};
	int sock = fds->sock;

	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	pyr_after_fork_child();
	if (jail_standby(&z->jail, fds, &sock, &e) < 0 || pyr_session_prepare(warm_up, &e) < 0)
		session_fail(sock, e.msg);
	cleanup_free char *text = NULL;
	size_t len = 0;
	int host = -1;
	if (sbx_frame_recv_fd(JAIL_SOCK_FD, &text, &len, &host) < 0)
		_exit(0); /* the zygote is gone or discarded us */
	cleanup_cjson cJSON *msg = sp_json_parse(text, len, len, SP_JSON_DEPTH_MAX, NULL);
	const cJSON *slot = msg ? cJSON_GetObjectItemCaseSensitive(msg, "slot") : NULL;
	if (host < 0 || !cJSON_IsNumber(slot))
		session_fail(JAIL_SOCK_FD, "malformed assignment");
	if (jail_assign(&z->jail, (unsigned)slot->valuedouble, host, &e) < 0)
		session_fail(JAIL_SOCK_FD, e.msg);
	pyr_session_main(JAIL_SOCK_FD);
}

static void shutdown_and_exit(struct zygote *z, int code) __attribute__((noreturn));

/* Forks one session process; |warm|: it runs a warm-up cell while it prepares. */
static int session_fork(struct zygote *z, bool warm, struct child *out, struct sp_err *err)
{
	cleanup_close int sock_ours = -1, sock_theirs = -1;
	cleanup_close int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	int sv[2], p[2];
	bool full = z->mode == SBX_ISOLATION_FULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return sp_err_sys(err, -errno, "socketpair");
	sock_ours = sv[0];
	sock_theirs = sv[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sp_err_sys(err, -errno, "pipe");
	out_r = p[0];
	out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sp_err_sys(err, -errno, "pipe");
	err_r = p[0];
	err_w = p[1];
	/* Mapped before the fork, so the child shares it without keeping a descriptor. */
	cleanup_close int clock = memfd_create("sessionpool-clock", MFD_CLOEXEC);
	if (clock < 0)
		return sp_err_sys(err, -errno, "memfd_create");
	if (ftruncate(clock, PYR_CLOCK_SIZE) < 0)
		return sp_err_sys(err, -errno, "ftruncate");
	void *page = mmap(NULL, PYR_CLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, clock, 0);
	if (page == MAP_FAILED)
		return sp_err_sys(err, -errno, "mmap");

	struct jail_fds jf = {.sock = sock_theirs, .out = out_w, .err = err_w};
	if (full) {
		int r = jail_prefork(&z->jail, err);
		if (r < 0) {
			munmap(page, PYR_CLOCK_SIZE);
			return r;
		}
	}
	pyr_before_fork();
	pid_t b = fork();
	if (b == 0) {
		pyr_set_clock(page);
		run_session(z, &jf, warm);
	}
	int fork_errno = errno;
	pyr_after_fork_parent();
	munmap(page, PYR_CLOCK_SIZE);
	if (full) {
		struct sp_err e = {0};
		if (jail_postfork(&z->jail, &e) < 0) {
			/* Every later fork would fail (or nest namespaces): give up loudly. */
			logf_("sessionpool-zygote: %s", e.msg);
			if (b > 0)
				kill(b, SIGKILL);
			shutdown_and_exit(z, 1);
		}
	}
	if (b < 0)
		return sp_err_sys(err, -fork_errno, "fork");
	/* B is our child and not reaped yet (only the main loop reaps): the pidfd cannot name a
	 * recycled pid. */
	int pidfd = pidfd_open(b, 0);
	if (pidfd < 0) {
		int r = sp_err_sys(err, -errno, "pidfd_open");
		kill(b, SIGKILL);
		return r;
	}
	*out = (struct child){
	    b, pidfd, steal_fd(&sock_ours), steal_fd(&out_r), steal_fd(&err_r), steal_fd(&clock)};
	return 0;
}

static void shutdown_and_exit(struct zygote *z, int code) __attribute__((noreturn));

static int handle_spawn(struct zygote *z, const cJSON *req, int *fds, size_t nfds)
{
	const cJSON *jslot = cJSON_GetObjectItemCaseSensitive(req, "slot");
	char msg[400], assign[64];
	struct sp_err e = {0};
	struct child sb;
	int r;

	if (nfds != 1 || !cJSON_IsNumber(jslot) || jslot->valuedouble < 0 ||
	    jslot->valuedouble > 1e9)
		return send_error(z, "spawn: bad request");
	unsigned slot = (unsigned)jslot->valuedouble;
	snprintf(assign, sizeof(assign), "{\"op\":\"assign\",\"slot\":%u}", slot);
	/* Degraded: a slot's uid is all that separates its sessions, so whatever a previous
	 * interpreter of the slot left behind goes before the new one starts. */
	if (z->mode == SBX_ISOLATION_DEGRADED) {
		reap_children(z);
		cg_slot_kill(&z->cg, slot);
		kill_leftovers(jail_session_uid(&z->jail, slot));
	}

	const cJSON *jwarm = cJSON_GetObjectItemCaseSensitive(req, "warm");
	if (session_fork(z, cJSON_IsTrue(jwarm), &sb, &e) < 0) {
		snprintf(msg, sizeof(msg), "spawn: %s", e.msg);
		return send_error(z, msg);
	}
	/* Into the slot's control groups before it runs anything of the session. */
	if (cg_slot_join(&z->cg, slot, sb.pid, &e) < 0 && !z->cg_join_failed) {
		z->cg_join_failed = true;
		logf_("sessionpool-zygote: sessions run without their cgroup limits: %s", e.msg);
	}
	r = sbx_frame_send_fd(sb.sock, assign, strlen(assign), fds[0]);
	if (r < 0) {
		kill(sb.pid, SIGKILL);
		child_close(&sb);
		snprintf(msg, sizeof(msg), "spawn: the session process died: %s", strerror(-r));
		return send_error(z, msg);
	}
	if (z->nlive == z->live_cap) {
		size_t cap = z->live_cap ? z->live_cap * 2 : 64;
		struct live *n = realloc(z->live, cap * sizeof(*n));
		if (!n) {
			kill(sb.pid, SIGKILL);
			child_close(&sb);
			return send_error(z, "spawn: out of memory");
		}
		z->live = n;
		z->live_cap = cap;
	}
	z->live[z->nlive++] = (struct live){sb.pid, slot};

	cleanup_cjson cJSON *reply = cJSON_CreateObject();
	if (!reply) {
		kill(sb.pid, SIGKILL);
		child_close(&sb);
		return -ENOMEM;
	}
	cJSON_AddBoolToObject(reply, "ok", 1);
	cJSON_AddNumberToObject(reply, "pid", sb.pid);
	int out_fds[5] = {sb.sock, sb.out_r, sb.err_r, sb.pidfd, sb.clock};
	r = send_reply(z, reply, out_fds, 5);
	if (r < 0)
		kill(sb.pid, SIGKILL);
	child_close(&sb);
	return r;
}

/* v1 cgroups: the kernel killed one process of a slot that ran out of memory; the session goes
 * whole, as with memory.oom.group in v2 (its cell ends CRASHED, its files stay). */
static void handle_oom(struct zygote *z, unsigned slot)
{
	uint64_t n;
	if (read(cg_slot_oom_fd(&z->cg, slot), &n, sizeof(n)) < 0)
		return;
	logf_("sessionpool-zygote: the session in slot %u ran out of memory: killed", slot);
	if (slot >= z->noom) {
		size_t len = z->cg.nslots > slot ? z->cg.nslots : slot + 1;
		bool *v = realloc(z->oom_pending, len * sizeof(*v));
		if (v) {
			memset(v + z->noom, 0, (len - z->noom) * sizeof(*v));
			z->oom_pending = v;
			z->noom = len;
		}
	}
	if (slot < z->noom)
		z->oom_pending[slot] = true;
	cg_slot_kill(&z->cg, slot);
}

/* Handles the out-of-memory events that are pending now. */
static void poll_oom(struct zygote *z)
{
	for (unsigned i = 0; i < z->cg.nslots; i++) {
		int fd = cg_slot_oom_fd(&z->cg, i);
		struct pollfd p = {fd, POLLIN, 0};
		if (fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
			handle_oom(z, i);
	}
}

static int handle_status(struct zygote *z, const cJSON *req)
{
	const cJSON *jpid = cJSON_GetObjectItemCaseSensitive(req, "pid");
	char text[64];

	if (!cJSON_IsNumber(jpid))
		return send_error(z, "status: bad request");
	pid_t pid = (pid_t)jpid->valuedouble;
	/* The kernel signals the event before the victim dies: it is there by now if it was
	 * the cause. */
	poll_oom(z);
	reap_children(z);
	cleanup_cjson cJSON *reply = cJSON_CreateObject();
	if (!reply)
		return -ENOMEM;
	cJSON_AddBoolToObject(reply, "ok", 1);
	size_t first = z->ring_next > EXIT_RING ? z->ring_next - EXIT_RING : 0;
	for (size_t i = z->ring_next; i > first; i--) {
		struct exit_rec *rec = &z->ring[(i - 1) % EXIT_RING];
		if (rec->pid == pid) {
			describe_status(rec->status, text, sizeof(text));
			if (rec->oom)
				snprintf(text + strlen(text), sizeof(text) - strlen(text),
					 ", out of memory");
			cJSON_AddStringToObject(reply, "status", text);
			return send_reply(z, reply, NULL, 0);
		}
	}
	cJSON_AddNullToObject(reply, "status");
	return send_reply(z, reply, NULL, 0);
}

/* Removes what we created outside our state directory (which the client removes). */
static void remove_traces(struct zygote *z)
{
	char target[64];
	cg_fini(&z->cg);
	if (z->made_data_link) {
		ssize_t n = readlink("/mnt/data", target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (strcmp(target, "/proc/self/fd/200") == 0)
				unlink("/mnt/data");
		}
		z->made_data_link = false;
	}
}

static void shutdown_and_exit(struct zygote *z, int code)
{
	kill_all_sessions(z);
	remove_traces(z);
	_exit(code);
}

static int handle_request(struct zygote *z)
{
	cleanup_free char *text = NULL;
	size_t len = 0, nfds = 0;
	int fds[SBX_CTL_MAXFDS];

	int r = sbx_ctl_recv(z->ctl, &text, &len, fds, &nfds, SBX_CTL_MAXFDS);
	if (r < 0)
		return r;
	reap_children(z);
	cleanup_cjson cJSON *req = sp_json_parse(text, len, len, SP_JSON_DEPTH_MAX, NULL);
	const cJSON *op = req ? cJSON_GetObjectItemCaseSensitive(req, "op") : NULL;
	const char *name = cJSON_IsString(op) ? op->valuestring : "";
	if (strcmp(name, "spawn") == 0) {
		r = handle_spawn(z, req, fds, nfds);
	} else {
		if (strcmp(name, "status") == 0)
			r = handle_status(z, req);
		else if (strcmp(name, "stop") == 0)
			z->stopping = true;
		else
			r = send_error(z, "unknown request");
	}
	for (size_t i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (z->stopping) {
		kill_all_sessions(z);
		remove_traces(z);
		cleanup_cjson cJSON *reply = cJSON_CreateObject();
		cJSON_AddBoolToObject(reply, "ok", 1);
		send_reply(z, reply, NULL, 0);
		_exit(0);
	}
	/* A failed send means the client is gone; the loop notices end of file. */
	return 0;
}

static void serve(struct zygote *z)
{
	struct pollfd *p = NULL;
	unsigned *slot_of = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n = 2;
		if (cap < 2 + z->cg.nslots) {
			cap = 2 + z->cg.nslots;
			struct pollfd *np = realloc(p, cap * sizeof(*np));
			unsigned *ns = realloc(slot_of, cap * sizeof(*ns));
			if (np)
				p = np;
			if (ns)
				slot_of = ns;
			if (!np || !ns) {
				logf_("sessionpool-zygote: out of memory");
				shutdown_and_exit(z, 1);
			}
		}
		p[0] = (struct pollfd){z->ctl, POLLIN, 0};
		p[1] = (struct pollfd){z->sig_pipe[0], POLLIN, 0};
		for (unsigned i = 0; i < z->cg.nslots; i++) {
			int fd = cg_slot_oom_fd(&z->cg, i);
			if (fd >= 0) {
				slot_of[n] = i;
				p[n++] = (struct pollfd){fd, POLLIN, 0};
			}
		}
		reap_children(z);
		int ready = poll(p, n, -1);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			logf_("sessionpool-zygote: poll: %s", strerror(errno));
			shutdown_and_exit(z, 1);
		}
		for (size_t i = 2; i < n; i++) {
			if (p[i].revents & POLLIN)
				handle_oom(z, slot_of[i]);
		}
		if (p[1].revents & POLLIN) {
			unsigned char sigs[64];
			ssize_t k = read(z->sig_pipe[0], sigs, sizeof(sigs));
			for (ssize_t i = 0; i < k; i++) {
				if (sigs[i] == SIGTERM || sigs[i] == SIGHUP)
					shutdown_and_exit(z, 0);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = handle_request(z);
			if (r == -ECONNRESET || r == -ENOTCONN || r == -EBADF)
				shutdown_and_exit(z, 0);
			if (r < 0 && r != -EAGAIN && r != -EPROTO && r != -EMSGSIZE) {
				logf_("sessionpool-zygote: control socket: %s", strerror(-r));
				shutdown_and_exit(z, 1);
			}
		}
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * The path of the directory open on |fd| (then closed). Paths come as descriptors, never on the
 * command line: every session is a fork of this process and can read /proc/self/cmdline.
 */
static int fd_path(int fd, char *buf, size_t n)
{
	char link[64];
	struct stat st;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
		return -EBADF;
	ssize_t len = readlink(link, buf, n - 1);
	close(fd);
	if (len <= 0 || (size_t)len >= n - 1 || buf[0] != '/')
		return -ENAMETOOLONG;
	buf[len] = '\0';
	return 0;
}

static const struct option zygote_opts[] = {
    {"ctl-fd", required_argument, NULL, 'c'},
    {"isolation", required_argument, NULL, 'i'},
    {"egress", required_argument, NULL, 'e'},
    {"memory", required_argument, NULL, 'm'},
    {"nproc", required_argument, NULL, 'n'},
    {"fsize", required_argument, NULL, 'f'},
    {"tmp", required_argument, NULL, 't'},
    {"disk", required_argument, NULL, 'd'},
    {"uid-base", required_argument, NULL, 'u'},
    {"state-fd", required_argument, NULL, 's'},
    {"cache-fd", required_argument, NULL, 'C'},
    {"find-links-fd", required_argument, NULL, 'w'},
    {"python-path", required_argument, NULL, 'P'},
    {"mounts-fd", required_argument, NULL, 'M'},
    {"quiet", no_argument, NULL, 'q'},
    {NULL, 0, NULL, 0},
};

/* Option |c| with argument |arg|, whose value |v| is already parsed unless c is 'i'. */
static int take_option(struct zygote *z, int c, const char *arg, uint64_t v, struct sp_err *err)
{
	switch (c) {
	case 'c':
		z->ctl = (int)v;
		break;
	case 'i':
		if (sbx_isolation_parse(arg, &z->requested) < 0)
			return sp_err_set(err, -EINVAL, "bad isolation '%s'", arg);
		break;
	case 'e':
		z->jail.egress = v != 0;
		break;
	case 'm':
		z->jail.memory_bytes = v;
		break;
	case 'n':
		z->jail.max_processes = (unsigned)v;
		break;
	case 'f':
		z->jail.file_size_bytes = v;
		break;
	case 't':
		z->jail.tmp_bytes = v;
		break;
	case 'd':
		z->disk_bytes = v;
		break;
	case 'u':
		z->jail.uid_base = (uid_t)v;
		break;
	case 's':
		if (fd_path((int)v, z->state_dir, sizeof(z->state_dir)) < 0)
			return sp_err_set(err, -EINVAL, "--state-fd: no directory on %s", arg);
		break;
	case 'w':
		if (fd_path((int)v, z->jail.find_links, sizeof(z->jail.find_links)) < 0)
			return sp_err_set(err, -EINVAL, "--find-links-fd: no directory on %s", arg);
		break;
	case 'M':
		if (fd_path((int)v, z->mounts_dir, sizeof(z->mounts_dir)) < 0)
			return sp_err_set(err, -EINVAL, "--mounts-fd: no directory on %s", arg);
		z->jail.trees = true;
		break;
	case 'C':
		if (fd_path((int)v, z->font_cache, sizeof(z->font_cache)) < 0)
			z->font_cache[0] = '\0'; /* rebuilt in the state directory */
		break;
	default:
		return sp_err_set(err, -EINVAL, "unknown option");
	}
	return 0;
}

static int parse_args(struct zygote *z, int argc, char **argv, struct sp_err *err)
{
	uint64_t v = 0;
	int c, r;

	z->ctl = -1;
	while ((c = getopt_long(argc, argv, "", zygote_opts, NULL)) != -1) {
		if (c == '?')
			return sp_err_set(err, -EINVAL, "unknown option");
		if (c == 'q') {
			z->quiet = true;
			continue;
		}
		if (c == 'P') {
			z->jail.python_path = optarg; /* argv outlives every session */
			continue;
		}
		if (c != 'i' && parse_u64(optarg, &v) < 0)
			return sp_err_set(err, -EINVAL, "bad number '%s'", optarg);
		if ((r = take_option(z, c, optarg, v, err)) < 0)
			return r;
	}
	if (z->ctl < 0 || fcntl(z->ctl, F_GETFD) < 0)
		return sp_err_set(err, -EINVAL, "--ctl-fd is required");
	if (!z->state_dir[0])
		return sp_err_set(err, -EINVAL, "--state-fd is required");
	return 0;
}

/* Descriptors: 0 and 1 are /dev/null, 2 is the log, 3 the control socket, nothing else. */
static int setup_process(struct zygote *z, struct sp_err *err)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return sp_err_sys(err, -errno, "open /dev/null");
	if (z->ctl != JAIL_SOCK_FD) {
		if (dup3(z->ctl, JAIL_SOCK_FD, O_CLOEXEC) < 0)
			return sp_err_sys(err, -errno, "dup3");
		z->ctl = JAIL_SOCK_FD;
	}
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0)
		return sp_err_sys(err, -errno, "dup2");
	fcntl(z->ctl, F_SETFD, FD_CLOEXEC);
	close_range(JAIL_SOCK_FD + 1, ~0U, 0);

	if (setsid() < 0 && errno != EPERM)
		return sp_err_sys(err, -errno, "setsid");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return sp_err_sys(err, -errno, "PR_SET_CHILD_SUBREAPER");

	/* matplotlib's font cache (0.4 s to build) persists across runs in the user's cache
	 * directory, which the client found and gave us; if there is none, it goes in our state
	 * directory (removed at stop) and is rebuilt at each start. */
	char mpl[PATH_MAX + 16];
	if (z->font_cache[0] && access(z->font_cache, W_OK | X_OK) == 0) {
		snprintf(mpl, sizeof(mpl), "%s", z->font_cache);
	} else {
		snprintf(mpl, sizeof(mpl), "%s/mplconfig", z->state_dir);
		if (mkdir(mpl, 0700) < 0 && errno != EEXIST)
			return sp_err_sys(err, -errno, "mkdir %s", mpl);
	}
	/* The environment we were exec'd with (what /proc/self/environ shows, in sessions too) is
	 * the client's fixed one; this is the one for the preload (the paths are ours), which
	 * repl.py replaces with the session's in each session process. */
	clearenv();
	setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("HOME", z->state_dir, 1);
	setenv("MPLCONFIGDIR", mpl, 1);
	setenv("MPLBACKEND", "Agg", 1);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	setenv("OMP_NUM_THREADS", "1", 1);
	setenv("MKL_NUM_THREADS", "1", 1);
	return 0;
}

/* repl.py reads where its sessions find the --pip-find-links directory (none: unset). */
static int export_find_links(const struct zygote *z, struct sp_err *err)
{
	const char *path = z->jail.find_links;
	if (!path[0])
		return 0;
	if (setenv("SESSIONPOOL_PIP_FIND_LINKS",
		   z->mode == SBX_ISOLATION_FULL ? JAIL_FIND_LINKS : path, 1) < 0)
		return sp_err_sys(err, -errno, "setenv");
	return 0;
}

/* repl.py puts the --python-path directories on sys.path before it preloads anything. */
static int export_python_path(const struct zygote *z, struct sp_err *err)
{
	if (z->jail.python_path && setenv("SESSIONPOOL_PYTHON_PATH", z->jail.python_path, 1) < 0)
		return sp_err_sys(err, -errno, "setenv");
	return 0;
}

/* The directory for the probe of the FULL sequence, given as sessions will get theirs: a
 * detached copy of a mount (jail_config.trees), or a directory. A descriptor or a negative code. */
static int probe_dir(const struct zygote *z, struct sp_err *err)
{
	int dir = z->jail.trees
		      ? open_tree(AT_FDCWD, z->state_dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
		      : open(z->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return dir < 0 ? sp_err_sys(err, -errno, "open %s", z->state_dir) : dir;
}

static int choose_mode(struct zygote *z, struct sp_err *err)
{
	struct jail_config *c = &z->jail;
	bool root = geteuid() == 0;

	c->outer_uid = getuid();
	c->outer_gid = getgid();
	c->userns = !root;
	c->filter = &z->filter;
	snprintf(c->root_dir, sizeof(c->root_dir), "%s/root", z->state_dir);
	if (mkdir(c->root_dir, 0755) < 0 && errno != EEXIST)
		return sp_err_sys(err, -errno, "mkdir %s", c->root_dir);
	if (root && c->uid_base == 0)
		return sp_err_set(err, -EINVAL, "uid base 0 would run sessions as root");

	if (z->requested != SBX_ISOLATION_DEGRADED) {
		struct sp_err perr = {0};
		int r = jail_zygote_init(c, &perr);
		if (r < 0) {
			if (z->requested == SBX_ISOLATION_FULL)
				return sp_err_set(err, r, "full isolation is not available: %s",
						  perr.msg);
			snprintf(z->reason, sizeof(z->reason), "namespaces are not available (%s)",
				 perr.msg);
			goto degraded;
		}
		cleanup_close int dir = probe_dir(z, err);
		if (dir < 0)
			return dir;
		r = jail_probe(c, dir, &perr);
		if (r == 0) {
			z->mode = SBX_ISOLATION_FULL;
			return 0;
		}
		if (z->requested == SBX_ISOLATION_FULL) {
			sp_err_wrap(&perr, "full isolation is not available");
			if (err)
				*err = perr;
			return r;
		}
		snprintf(z->reason, sizeof(z->reason), "namespaces are not available (%s)",
			 perr.msg);
	} else {
		snprintf(z->reason, sizeof(z->reason), "degraded isolation was requested");
	}
degraded:
	if (!root) {
		/* Docker's default profile is the usual cause: name the options that fix it. */
		bool container =
		    access("/.dockerenv", F_OK) == 0 || access("/run/.containerenv", F_OK) == 0;
		return sp_err_set(
		    err, -EPERM, "%s, and degraded isolation needs root for per-session uids%s",
		    z->reason,
		    container ? "; in Docker: --security-opt seccomp=docker-seccomp.json "
				"--security-opt systempaths=unconfined, or run as root"
			      : "");
	}
	z->mode = SBX_ISOLATION_DEGRADED;
	c->mode = SBX_ISOLATION_DEGRADED;
	/* /mnt/data as a symlink through each process's own descriptor 200 (pitfall 21c). */
	char target[64];
	ssize_t n = readlink("/mnt/data", target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		c->data_link = strcmp(target, "/proc/self/fd/200") == 0;
	} else if (errno == ENOENT) {
		mkdir("/mnt", 0755);
		c->data_link = symlink("/proc/self/fd/200", "/mnt/data") == 0;
		z->made_data_link = c->data_link;
	}
	if (!c->data_link) {
		size_t len = strlen(z->reason);
		snprintf(z->reason + len, sizeof(z->reason) - len,
			 "; /mnt/data could not be linked, sessions start in their host directory");
	}
	return 0;
}

/* Control groups per slot, where the machine offers them (cgroup.h); never fatal. */
static int init_cgroups(struct zygote *z)
{
	uint64_t tmp = z->jail.tmp_bytes ? z->jail.tmp_bytes : (uint64_t)64 << 20;
	uint64_t mem = 0;
	if (z->jail.memory_bytes) /* the processes' memory, plus what their tmpfs files hold */
		mem = z->jail.memory_bytes + z->disk_bytes + 2 * tmp;
	cg_init(&z->cg, mem, z->jail.max_processes);
	if (!z->cg.version && !z->quiet) /* the emulator reports it too (/healthz) */
		logf_("sessionpool-zygote: no session cgroups: %s", z->cg.reason);
	return 0;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/*
 * Backs the zygote's large anonymous mappings (the Python heap, numpy's and pandas' data) with
 * transparent huge pages where the kernel allows it (best effort: THP may be disabled). fork()
 * then copies one page-table entry per 2 MiB instead of 512, which took a standby fork from
 * about 5 to 3 ms on the reference machine; a child's first write to a shared huge page splits
 * it and copies 4 KiB as before, so sessions do not grow. Returns the bytes collapsed.
 */
static size_t collapse_heap(void)
{
	const unsigned long huge = 2UL << 20;
	cleanup_fclose FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	size_t total = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8], path[256] = "";
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3)
			continue;
		if (strcmp(perms, "rw-p") != 0 || (path[0] && strcmp(path, "[heap]") != 0))
			continue;
		unsigned long start = (lo + huge - 1) & ~(huge - 1), end = hi & ~(huge - 1);
		if (end > start && madvise((void *)start, end - start, MADV_COLLAPSE) == 0)
			total += end - start;
	}
	return total;
}

static int say_hello(struct zygote *z, const char *hello_json, const char *error)
{
	cleanup_cjson cJSON *msg = hello_json ? cJSON_Parse(hello_json) : cJSON_CreateObject();
	if (!msg)
		return -ENOMEM;
	cJSON_AddStringToObject(msg, "op", "hello");
	if (error) {
		cJSON_AddStringToObject(msg, "error", error);
	} else {
		cJSON_AddStringToObject(msg, "mode", sbx_isolation_name(z->mode));
		if (z->reason[0])
			cJSON_AddStringToObject(msg, "reason", z->reason);
		else
			cJSON_AddNullToObject(msg, "reason");
		cJSON_AddBoolToObject(msg, "root", geteuid() == 0);
		char cg[400];
		cg_describe(&z->cg, cg, sizeof(cg));
		cJSON_AddStringToObject(msg, "cgroups", cg);
	}
	return send_reply(z, msg, NULL, 0);
}

/*
 * --mounts-fd: a mount table of our own without the client's per-session mounts. Every new
 * session process copies our table when it unshares its mount namespace and detaches the copy
 * when it pivots into its root, so with the client's table (a tmpfs per live session) each
 * new session cost more than the one before. Sessions get their directory as a detached
 * mount instead (jail_config.trees). Best effort: the sessions work either way.
 */
static void drop_client_mounts(struct zygote *z)
{
	if (!z->mounts_dir[0])
		return;
	const char *why = NULL;
	if (unshare(CLONE_NEWNS) < 0)
		why = "unshare";
	else if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		why = "make / a slave";
	else if (umount2(z->mounts_dir, MNT_DETACH) < 0 && errno != EINVAL)
		why = "detach";
	if (why && !z->quiet)
		logf_("sessionpool-zygote: the session mounts stay in our mount table (%s: %s)",
		      why, strerror(errno));
}

int main(int argc, char **argv)
{
	static struct zygote z = {.requested = SBX_ISOLATION_AUTO, .mode = SBX_ISOLATION_FULL};
	struct sp_err err = {0};
	struct timespec t0, t1;

	/* No fastbins, here and so in every session: glibc's malloc_consolidate() walks every
	 * fastbin chunk the zygote left (on a session's first large malloc) and rewrites its
	 * header, a copy-on-write fault on each of those pages. It was 43 % of a new session's
	 * page faults; without fastbins a session's private memory after one cell fell from 5.4 to
	 * 3.8 MB (median of 116 interpreters, bench/README.md). Small blocks still come from the
	 * per-thread cache, and Python's own allocator serves objects up to 512 bytes. */
	mallopt(M_MXFAST, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	z.jail.mode = SBX_ISOLATION_FULL;
	if (parse_args(&z, argc, argv, &err) < 0) {
		logf_("sessionpool-zygote: %s", err.msg);
		if (z.ctl >= 0)
			say_hello(&z, NULL, err.msg);
		return 2;
	}
	drop_client_mounts(&z);
	if (setup_process(&z, &err) < 0 || choose_mode(&z, &err) < 0 ||
	    export_find_links(&z, &err) < 0 || export_python_path(&z, &err) < 0 ||
	    init_cgroups(&z) < 0 || policy_build(z.jail.egress, &z.filter, &err) < 0 ||
	    pyr_init(&err) < 0) {
		logf_("sessionpool-zygote: %s", err.msg);
		say_hello(&z, NULL, err.msg);
		return 1;
	}
	/* Free pages inside the heap go back to the kernel: a session that allocates there later
	 * gets a zero page instead of a copy of ours (3.8 to 3.4 MB private per session). Before
	 * the collapse, which would otherwise be split again. */
	malloc_trim(0);
	size_t collapsed = collapse_heap();
	cleanup_free char *hello = pyr_hello(&err);
	if (!hello) {
		logf_("sessionpool-zygote: %s", err.msg);
		say_hello(&z, NULL, err.msg);
		return 1;
	}

	if (pipe2(z.sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		logf_("sessionpool-zygote: pipe: %s", strerror(errno));
		say_hello(&z, NULL, "pipe failed");
		return 1;
	}
	sig_fd = z.sig_pipe[1];
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (say_hello(&z, hello, NULL) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!z.quiet)
		logf_(
		    "sessionpool-zygote: ready in %.0f ms, isolation %s%s%s, %zu MiB in huge "
		    "pages",
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		    sbx_isolation_name(z.mode), z.reason[0] ? ": " : "", z.reason, collapsed >> 20);
	serve(&z);
	return 0;
}
