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

#include "backend_sbx.h"
#include "constants.h"
#include "datafs.h"
#include "http.h"
#include "pool.h"
#include "reqlog.h"
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

int main(int argc, char **argv, char **envp)
{
	struct config cfg;
	struct sp_err err = {0};
	config_init(&cfg);
	int r = config_parse(&cfg, argc, argv, envp, stdout, &err);
	if (r == 0)
		r = config_finish(&cfg, &err);
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "sessionpool-emulator: %s\n", err.msg);
		config_fini(&cfg);
		return r < 0 ? 2 : 0;
	}
	/* What can be checked without the zygote is checked before its slow preload. */
	if (server_check(&cfg, &err) < 0) {
		fprintf(stderr, "sessionpool-emulator: %s\n", err.msg);
		config_fini(&cfg);
		return 2;
	}
	enum reqlog_format log_format = REQLOG_TEXT;
	enum reqlog_level log_level = REQLOG_INFO;
	reqlog_format_parse(cfg.log_format, &log_format);
	reqlog_level_parse(cfg.log_level, &log_level);
	reqlog_init(log_format, cfg.quiet ? REQLOG_QUIET : log_level, 2);
	if (!cfg.zygote)
		cfg.zygote = default_zygote();
	/* Large transient buffers (request bodies, replies of MiBs) must go back to the system
	 * when freed: a fixed mmap threshold stops glibc from moving them into per-thread arenas
	 * (it raises the threshold dynamically up to 32 MiB otherwise). */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (mkdir(cfg.data_dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "sessionpool-emulator: create %s: %s\n", cfg.data_dir,
			strerror(errno));
		return 1;
	}
	int data_lock = lock_data_dir(cfg.data_dir, cfg.quiet);
	if (data_lock < 0) {
		fprintf(stderr, "sessionpool-emulator: lock %s: %s\n", cfg.data_dir,
			strerror(-data_lock));
		config_fini(&cfg);
		return 1;
	}
	/* First, while we have one thread: the private mount namespace of the /mnt/data quota,
	 * which the zygote started below shares. */
	struct datafs fs;
	if (datafs_init(&fs, cfg.data_dir, cfg.session_disk_mb << 20, &err) < 0) {
		fprintf(stderr, "sessionpool-emulator: %s\n", err.msg);
		rmdir(cfg.data_dir);
		config_fini(&cfg);
		return 1;
	}

	/* Signals are taken with sigwait(); every thread inherits the mask. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sbx_options so;
	sbx_options_init(&so);
	so.zygote_path = cfg.zygote;
	so.egress = cfg.egress;
	so.memory_bytes = cfg.session_memory_mb << 20;
	so.max_processes = (unsigned)cfg.session_max_processes;
	so.file_size_bytes = cfg.upload_max_bytes;
	so.disk_bytes = cfg.session_disk_mb << 20;
	so.state_dir = cfg.data_dir;
	so.quiet = cfg.quiet;
	so.pip_find_links = cfg.pip_find_links;
	so.python_path = cfg.python_path;
	int uid_lock = -1;
	so.uid_base = claim_uid_base(&uid_lock);
	sbx_isolation_parse(cfg.isolation, &so.isolation);

	struct server srv = {.cfg = &cfg, .started_ticks = util_now_ticks()};
	struct sbx_zygote *zygote = NULL;
	struct backend_sbx bs;
	struct backend bk;
	struct mg_context *ctx = NULL;
	char *url = NULL;
	int rc = 1;
	if (sbx_zygote_start(&so, &zygote, &err) < 0)
		goto fail;
	backend_sbx_init(&bs, zygote, &fs, &bk);
	if (pool_new(
		&(struct pool_options){.cooldown_s = cfg.cooldown_seconds,
				       .max_sessions = cfg.max_sessions,
				       .ready_target = (size_t)cfg.ready_sessions,
				       .records_max = (size_t)cfg.execution_records_per_session,
				       .grace_s = (unsigned)cfg.interrupt_grace_s},
		&bk, NULL, &srv.pool, &err) < 0 ||
	    pool_start(srv.pool, &err) < 0 || !(ctx = server_start(&srv, &url, &err)))
		goto fail;
	enum sbx_isolation mode = sbx_zygote_isolation(zygote);
	printf("sessionpool-emulator %s listening on %s (isolation: %s, python %s)\n", SP_VERSION,
	       url, sbx_isolation_name(mode), sbx_zygote_python_version(zygote));
	if (fs.quota)
		snprintf(srv.disk_quota, sizeof(srv.disk_quota), "%llu MiB per session (tmpfs)",
			 (unsigned long long)cfg.session_disk_mb);
	else
		snprintf(srv.disk_quota, sizeof(srv.disk_quota), "off (%.200s)", fs.reason);
	if (!cfg.quiet)
		fprintf(stderr, "sessionpool-emulator: session cgroups: %s; /mnt/data quota: %s\n",
			sbx_zygote_cgroups(zygote), srv.disk_quota);
	if (mode == SBX_ISOLATION_DEGRADED)
		fprintf(stderr,
			"sessionpool-emulator: WARNING: DEGRADED ISOLATION (%s). Sessions have no "
			"namespaces; only uid, seccomp and rlimits separate them from the host. "
			"See README, 'Isolation modes'.\n",
			sbx_zygote_isolation_reason(zygote));
	fflush(stdout);
	if (cfg.ready_file && write_ready_file(cfg.ready_file, url) < 0)
		fprintf(stderr, "sessionpool-emulator: cannot write %s\n", cfg.ready_file);

	int sig;
	sigwait(&stop, &sig);
	if (!cfg.quiet) /* stdout holds the start line alone */
		fprintf(stderr, "sessionpool-emulator: stopping (signal %d)\n", sig);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "sessionpool-emulator: %s\n", err.msg);
out:
	if (srv.pool)
		pool_shutdown(srv.pool);
	server_stop(ctx);
	pool_free(srv.pool);
	sbx_zygote_stop(zygote);
	datafs_fini(&fs);
	if (cfg.tls_cert) {
		char pem[PATH_MAX];
		snprintf(pem, sizeof(pem), "%s/" SP_TLS_FILE, cfg.data_dir);
		unlink(pem);
	}
	rmdir(cfg.data_dir);
	if (cfg.ready_file)
		unlink(cfg.ready_file);
	free(url);
	free(srv.local_base);
	config_fini(&cfg);
	if (uid_lock >= 0)
		close(uid_lock);
	close(data_lock);
	return rc;
}
