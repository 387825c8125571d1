/* SPDX-License-Identifier: MIT */
/*
 * sessionpool-emulator: settings, then the zygote (before any thread exists), the pool, the
 * HTTP server; then wait for SIGTERM/SIGINT and take everything down in reverse order, so that
 * no session process and no session directory outlives the emulator.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "backend_sbx.h"
#include "constants.h"
#include "datafs.h"
#include "http.h"
#include "pool.h"
#include "reqlog.h"
#include "reqring.h"
#include "sandbox.h"
#include "server.h"
#include "tree.h"

static char *default_zygote(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 32);
	if (n <= 0)
		return strdup("sessionpool-zygote");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	snprintf(slash ? slash + 1 : self, 32, "sessionpool-zygote");
	return strdup(self);
}

/*
 * As root, sessions run as uid_base + slot. Emulators sharing a host must not share those uids
 * (the process limit and file permissions are per uid), so each takes the first free block of
 * 65536 uids, held by a lock file for its lifetime. An ordinary user's sessions use user
 * namespaces and need no block.
 */
#define UID_BLOCK 65536u

static uid_t claim_uid_base(int *lock_fd)
{
	if (geteuid() != 0)
		return SP_UID_BASE;
	const char *dir = access("/run/lock", W_OK) == 0 ? "/run/lock" : "/tmp";
	for (unsigned k = 0; k < 1024; k++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/sessionpool-uids-%u.lock", dir, k);
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*lock_fd = fd;
			return (uid_t)(SP_UID_BASE + k * UID_BLOCK);
		}
		close(fd);
	}
	return SP_UID_BASE;
}

/*
 * Emulators may share a --data-dir: each holds a shared flock on the directory for its
 * lifetime. One that finds no other (it gets the lock exclusively) knows that whatever is in
 * slots/ and tls.pem belongs to a dead instance (killed with SIGKILL, it cleaned nothing) and
 * removes it; with a live one there, nothing is touched (a slot directory may be a mount point
 * in that emulator's namespace). The sandbox removes dead zygotes' sbx-* directories itself,
 * each of which has a lock of its own. Returns the locked descriptor, or -errno.
 */
static int lock_data_dir(const char *dir, bool quiet)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		struct stat st;
		size_t removed = 0;
		int slots = openat(fd, "slots", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = slots >= 0 ? fdopendir(slots) : NULL;
		if (!d && slots >= 0)
			close(slots);
		struct dirent *e;
		while (d && fstat(dirfd(d), &st) == 0 && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				sp_tree_remove_at(dirfd(d), e->d_name, st.st_dev, 0);
				removed++;
			}
		}
		if (d)
			closedir(d);
		if (unlinkat(fd, SP_TLS_FILE, 0) == 0)
			removed++;
		if (removed && !quiet)
			fprintf(
			    stderr,
			    "sessionpool-emulator: removed %zu entries left in %s by an emulator "
			    "that did not stop cleanly\n",
			    removed, dir);
	}
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

static int write_ready_file(const char *path, const char *url)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", url);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

/* Everything main() starts, so that each step is a function and stop() undoes them all. */
struct emulator {
	struct config cfg;
	struct sp_err err;
	int data_lock;
	int uid_lock;
	struct datafs fs;
	struct sbx_zygote *zygote;
	struct backend_sbx bs;
	struct backend bk;
	struct server srv;
	struct mg_context *ctx;
	char *url;
};

/* Settings and the checks that need no zygote (before its slow preload). Returns -1 to go on,
 * else the exit code. */
static int configure(struct emulator *e, int argc, char **argv, char **envp)
{
	config_init(&e->cfg);
	int r = config_parse(&e->cfg, argc, argv, envp, stdout, &e->err);
	if (r == 0)
		r = config_finish(&e->cfg, &e->err);
	if (r == 0 && server_check(&e->cfg, &e->err) < 0)
		r = -1;
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "sessionpool-emulator: %s\n", e->err.msg);
		config_fini(&e->cfg);
		return r < 0 ? 2 : 0;
	}
	if (e->cfg.playground_enabled)
		reqring_init(REQRING_CAP);
	enum reqlog_format log_format = REQLOG_TEXT;
	enum reqlog_level log_level = REQLOG_INFO;
	reqlog_format_parse(e->cfg.log_format, &log_format);
	reqlog_level_parse(e->cfg.log_level, &log_level);
	reqlog_init(log_format, e->cfg.quiet ? REQLOG_QUIET : log_level, 2);
	if (!e->cfg.zygote)
		e->cfg.zygote = default_zygote();
	return -1;
}

/* The data directory, its lock, and (first, while we have one thread) the private mount
 * namespace of the /mnt/data quota, which the zygote shares. 0, or the exit code. */
static int prepare_data(struct emulator *e)
{
	const struct config *c = &e->cfg;
	if (mkdir(c->data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "sessionpool-emulator: create %s: %s\n", c->data_dir,
			strerror(errno));
		return 1;
	}
	e->data_lock = lock_data_dir(c->data_dir, c->quiet);
	if (e->data_lock < 0) {
		fprintf(stderr, "sessionpool-emulator: lock %s: %s\n", c->data_dir,
			strerror(-e->data_lock));
		return 1;
	}
	if (datafs_init(&e->fs, c->data_dir, c->session_disk_mb << 20, &e->err) < 0) {
		fprintf(stderr, "sessionpool-emulator: %s\n", e->err.msg);
		close(e->data_lock);
		rmdir(c->data_dir);
		return 1;
	}
	return 0;
}

static void sandbox_options(struct emulator *e, struct sbx_options *so)
{
	const struct config *c = &e->cfg;
	sbx_options_init(so);
	so->zygote_path = c->zygote;
	so->egress = c->egress;
	so->memory_bytes = c->session_memory_mb << 20;
	so->max_processes = (unsigned)c->session_max_processes;
	so->file_size_bytes = c->upload_max_bytes;
	so->disk_bytes = c->session_disk_mb << 20;
	so->state_dir = c->data_dir;
	so->quiet = c->quiet;
	so->pip_find_links = c->pip_find_links;
	so->python_path = c->python_path;
	/* The quota tmpfs of every live session: kept out of the zygote's mount table. */
	so->mounts_dir = e->fs.quota ? e->fs.slots : NULL;
	so->uid_base = claim_uid_base(&e->uid_lock);
	sbx_isolation_parse(c->isolation, &so->isolation);
}

/* The zygote, the pool over it, the HTTP server. 0 or -1 with e->err. */
static int start(struct emulator *e)
{
	const struct config *c = &e->cfg;
	struct sbx_options so;
	sandbox_options(e, &so);
	e->srv = (struct server){.cfg = c, .started_ticks = util_now_ticks()};
	if (sbx_zygote_start(&so, &e->zygote, &e->err) < 0)
		return -1;
	backend_sbx_init(&e->bs, e->zygote, &e->fs, &e->bk);
	struct pool_options po = {.cooldown_s = c->cooldown_seconds,
				  .max_sessions = c->max_sessions,
				  .ready_target = (size_t)c->ready_sessions,
				  .records_max = (size_t)c->execution_records_per_session,
				  .grace_s = (unsigned)c->interrupt_grace_s,
				  .on_create = api_mcp_session_created};
	if (pool_new(&po, &e->bk, NULL, &e->srv.pool, &e->err) < 0 ||
	    pool_start(e->srv.pool, &e->err) < 0)
		return -1;
	if (e->fs.quota)
		snprintf(e->srv.disk_quota, sizeof(e->srv.disk_quota),
			 "%llu MiB per session (tmpfs)", (unsigned long long)c->session_disk_mb);
	else
		snprintf(e->srv.disk_quota, sizeof(e->srv.disk_quota), "off (%.200s)",
			 e->fs.reason);
	e->ctx = server_start(&e->srv, &e->url, &e->err);
	return e->ctx ? 0 : -1;
}

/* The start line on stdout (alone there), the rest on stderr, then the ready file. */
static void announce(const struct emulator *e)
{
	const struct config *c = &e->cfg;
	enum sbx_isolation mode = sbx_zygote_isolation(e->zygote);
	printf("sessionpool-emulator %s listening on %s (isolation: %s, python %s)\n", SP_VERSION,
	       e->url, sbx_isolation_name(mode), sbx_zygote_python_version(e->zygote));
	if (!c->quiet)
		fprintf(stderr, "sessionpool-emulator: session cgroups: %s; /mnt/data quota: %s\n",
			sbx_zygote_cgroups(e->zygote), e->srv.disk_quota);
	if (mode == SBX_ISOLATION_DEGRADED)
		fprintf(stderr,
			"sessionpool-emulator: WARNING: DEGRADED ISOLATION (%s). Sessions have no "
			"namespaces; only uid, seccomp and rlimits separate them from the host. "
			"See README, 'Isolation modes'.\n",
			sbx_zygote_isolation_reason(e->zygote));
	if (!c->quiet && c->playground_enabled)
		fprintf(stderr, "sessionpool-emulator: playground at %s/playground/\n", e->url);
	if (!c->quiet && c->mcp_enabled)
		fprintf(stderr, "sessionpool-emulator: MCP server at %s/mcp (x-ms-apikey: %s)\n",
			e->url,
			c->mcp_api_key ? "the --mcp-api-key value"
			: c->auth_mode == AUTH_MODE_ANY
			    ? "any non-empty key"
			    : "set --mcp-api-key to open it in strict mode");
	fflush(stdout);
	if (c->ready_file && write_ready_file(c->ready_file, e->url) < 0)
		fprintf(stderr, "sessionpool-emulator: cannot write %s\n", c->ready_file);
}

/* Everything start() and prepare_data() made, in reverse order. */
static void stop(struct emulator *e)
{
	const struct config *c = &e->cfg;
	if (e->srv.pool)
		pool_shutdown(e->srv.pool);
	server_stop(e->ctx);
	pool_free(e->srv.pool);
	sbx_zygote_stop(e->zygote);
	datafs_fini(&e->fs);
	if (c->tls_cert) {
		char pem[PATH_MAX];
		snprintf(pem, sizeof(pem), "%s/" SP_TLS_FILE, c->data_dir);
		unlink(pem);
	}
	rmdir(c->data_dir);
	if (c->ready_file)
		unlink(c->ready_file);
	free(e->url);
	free(e->srv.local_base);
	if (e->uid_lock >= 0)
		close(e->uid_lock);
	close(e->data_lock);
}

int main(int argc, char **argv, char **envp)
{
	static struct emulator e = {.data_lock = -1, .uid_lock = -1};
	int rc = configure(&e, argc, argv, envp);
	if (rc >= 0)
		return rc;
	/* Large transient buffers (request bodies, replies of MiBs) must go back to the system
	 * when freed: a fixed mmap threshold stops glibc from moving them into per-thread arenas
	 * (it raises the threshold dynamically up to 32 MiB otherwise). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	rc = prepare_data(&e);
	if (rc != 0) {
		config_fini(&e.cfg);
		return rc;
	}
	/* Signals are taken with sigwait(); every thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = 1;
	if (start(&e) == 0) {
		announce(&e);
		int sig;
		sigwait(&sigs, &sig);
		if (!e.cfg.quiet) /* stdout holds the start line alone */
			fprintf(stderr, "sessionpool-emulator: stopping (signal %d)\n", sig);
		rc = 0;
	} else {
		fprintf(stderr, "sessionpool-emulator: %s\n", e.err.msg);
	}
	stop(&e);
	config_fini(&e.cfg);
	return rc;
}
