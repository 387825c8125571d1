/* SPDX-License-Identifier: MIT */
/*
 * jail.c: namespaces, the minimal read-only root, descriptors, ids, rlimits, capabilities and
 * seccomp for one session process (see jail.h). The order matters and follows sandbox-notes §3:
 *
 *   mounts (need CAP_SYS_ADMIN) → descriptors → drop the bounding set (needs CAP_SETPCAP) →
 *   setresuid (root mode) → rlimits → capset(0) → no_new_privs → seccomp (blocks mount & co).
 *
 * Session code never runs as kuid 0 (pitfall 12): as root every session gets uid_base + slot; as
 * an ordinary user a user namespace maps only our own uid. Read-only remounts keep the source's
 * locked flags (nosuid, nodev, noexec, atime; pitfall 17), or a user namespace gets EPERM.
 */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy.h"

#define DEFAULT_TMP_BYTES ((uint64_t)64 << 20)

uid_t jail_session_uid(const struct jail_config *c, unsigned slot)
{
	if (c->userns || c->outer_uid != 0)
		return c->outer_uid;
	return c->uid_base + slot;
}

static int write_file(const char *path, const char *text)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int write_id_maps(const struct jail_config *c, struct sp_err *err)
{
	char map[64];
	int r;

	/* Only our own ids can be mapped from inside (pitfall 11): map them to themselves. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0)
		return sp_err_sys(err, r, "write /proc/self/setgroups");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)c->outer_uid, (unsigned)c->outer_uid);
	r = write_file("/proc/self/uid_map", map);
	if (r < 0)
		return sp_err_sys(err, r, "write /proc/self/uid_map");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)c->outer_gid, (unsigned)c->outer_gid);
	r = write_file("/proc/self/gid_map", map);
	if (r < 0)
		return sp_err_sys(err, r, "write /proc/self/gid_map");
	return 0;
}

int jail_zygote_init(struct jail_config *c, struct sp_err *err)
{
	if (c->userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			return sp_err_sys(err, -errno, "unshare(CLONE_NEWUSER)");
		int r = write_id_maps(c, err);
		if (r < 0)
			return r;
		/* setns() back to a pid namespace needs CAP_SYS_ADMIN over its owner: ours must
		 * belong to our user namespace, so the zygote continues as pid 1 of a new one. */
		if (unshare(CLONE_NEWPID) < 0)
			return sp_err_sys(err, -errno, "unshare(CLONE_NEWPID)");
		pid_t inner = fork();
		if (inner < 0)
			return sp_err_sys(err, -errno, "fork");
		if (inner > 0) {
			int st;
			close_range(JAIL_SOCK_FD, ~0U, 0);
			while (waitpid(inner, &st, 0) < 0 && errno == EINTR)
				;
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
		}
		/* If the outer process is killed, so are we, and with us every session. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			return sp_err_sys(err, -errno, "PR_SET_PDEATHSIG");
	}
	c->pidns_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (c->pidns_fd < 0)
		return sp_err_sys(err, -errno, "open /proc/self/ns/pid");
	return 0;
}

int jail_prefork(const struct jail_config *c, struct sp_err *err)
{
	(void)c;
	if (unshare(CLONE_NEWPID) < 0)
		return sp_err_sys(err, -errno, "unshare(CLONE_NEWPID)");
	return 0;
}

int jail_postfork(const struct jail_config *c, struct sp_err *err)
{
	if (setns(c->pidns_fd, CLONE_NEWPID) < 0)
		return sp_err_sys(err, -errno, "setns back to the zygote's pid namespace");
	return 0;
}

/* In B: the namespaces other than pid (and user, which comes after the mounts). */
static int unshare_session(const struct jail_config *c, struct sp_err *err)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;

	if (!c->egress)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		return sp_err_sys(err, -errno, "unshare");
	if (sethostname("session", 7) < 0)
		return sp_err_sys(err, -errno, "sethostname");
	return 0;
}

/*
 * In B, once it is in its slot's control groups (the zygote moved it there before the
 * assignment): a cgroup namespace rooted at those groups, so /proc/self/cgroup reads "/" and no
 * host group path (the emulator's service, the zygote's pid) is visible from the session.
 */
static int hide_cgroups(struct sp_err *err)
{
	if (unshare(CLONE_NEWCGROUP) < 0)
		return sp_err_sys(err, -errno, "unshare(CLONE_NEWCGROUP)");
	return 0;
}

/* In B, mounts done: a user namespace of its own, so RLIMIT_NPROC counts this session only. */
static int nest_userns(const struct jail_config *c, struct sp_err *err)
{
	if (!c->userns)
		return 0;
	if (unshare(CLONE_NEWUSER) < 0)
		return sp_err_sys(err, -errno, "unshare(CLONE_NEWUSER)");
	return write_id_maps(c, err);
}

/* The per-mount flags a remount must keep: in a user namespace they are locked. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int remount(const char *path, unsigned long flags, struct sp_err *err)
{
	flags |= locked_flags(path);
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0)
		return 0;
	/* A locked nodev that statvfs did not report (pitfall 17): retry with it. */
	if (errno == EPERM &&
	    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | MS_NODEV, NULL) == 0)
		return 0;
	return sp_err_sys(err, -errno, "remount %s", path);
}

/* Remounts read-only every mount below |prefix| too (Docker binds /etc/hosts and friends). */
static int remount_submounts_ro(const char *prefix, struct sp_err *err)
{
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return sp_err_sys(err, -errno, "open /proc/self/mountinfo");
	size_t plen = strlen(prefix);
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		/* id parent major:minor root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (strncmp(mnt, prefix, plen) != 0 || mnt[plen] != '/')
			continue;
		if (strchr(mnt, '\\'))
			continue; /* octal-escaped names: not ours to guess */
		int r = remount(mnt, MS_RDONLY | MS_NOSUID, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Makes |dst| and every mount below it read-only and nosuid: one mount_setattr(AT_RECURSIVE)
 * (Linux 5.12), which costs the same however many mounts the host has; otherwise a remount of
 * each, found in /proc/self/mountinfo, whose length grows with every mount on the
 * host (the emulator's per-session tmpfs mounts included: it made each new session slower).
 */
static int make_tree_ro(const char *dst, struct sp_err *err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
	if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &a, sizeof(a)) == 0)
		return 0;
	/* ENOSYS, or EPERM from a seccomp profile that predates the call (Docker's): the old way,
	 * which reports its own errors. */
	int r = remount(dst, MS_RDONLY | MS_NOSUID, err);
	if (r < 0)
		return r;
	return remount_submounts_ro(dst, err);
}

static int bind_ro(const char *src, const char *dst, struct sp_err *err)
{
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return sp_err_sys(err, -errno, "mkdir %s", dst);
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sp_err_sys(err, -errno, "bind %s", src);
	return make_tree_ro(dst, err);
}

static int touch(const char *path, struct sp_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sp_err_sys(err, -errno, "create %s", path);
	close(fd);
	return 0;
}

static int mount_tmpfs(const char *dst, const char *opts, unsigned long flags, struct sp_err *err)
{
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return sp_err_sys(err, -errno, "mkdir %s", dst);
	if (mount("tmpfs", dst, "tmpfs", flags, opts) < 0)
		return sp_err_sys(err, -errno, "mount tmpfs on %s", dst);
	return 0;
}

/* The top-level entries of the host root that the session sees: binds or merged-usr links. */
static const char *const root_entries[] = {"/usr", "/etc",   "/bin",   "/sbin",
					   "/lib", "/lib32", "/lib64", "/libx32"};

/* True if |path| is |dir| or below it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* --python-path: each directory bound read-only at its own path, so that what the zygote
 * preloaded from it and what a session imports later are the same files. Done last, so that a
 * directory below /tmp lands on the session's /tmp, not under it. */
static int mount_python_path(const struct jail_config *c, struct sp_err *err)
{
	char dir[PATH_MAX], p[PATH_MAX + 64];
	const char *s = c->python_path;
	while (s && *s) {
		size_t n = strcspn(s, ":");
		if (n >= sizeof(dir))
			return sp_err_set(err, -ENAMETOOLONG, "a --python-path entry is too long");
		memcpy(dir, s, n);
		dir[n] = '\0';
		s += n + (s[n] == ':');
		bool bound = dir[0] != '/';
		for (size_t i = 0; i < sizeof(root_entries) / sizeof(root_entries[0]); i++)
			bound = bound || path_under(dir, root_entries[i]);
		if (bound)
			continue;
		size_t root_len = (size_t)snprintf(p, sizeof(p), "%s%s", c->root_dir, dir);
		if (root_len >= sizeof(p))
			return sp_err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
		for (char *q = p + strlen(c->root_dir) + 1;; q++) {
			if (*q != '/' && *q != '\0')
				continue;
			char saved = *q;
			*q = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return sp_err_sys(err, -errno, "mkdir %s", p);
			*q = saved;
			if (!saved)
				break;
		}
		int r = bind_ro(dir, p, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The host's root_entries in the new root |R|: bound read-only, or the same symbolic links. */
static int mount_root_entries(const char *R, struct sp_err *err)
{
	char p[PATH_MAX + 64];
	for (size_t i = 0; i < sizeof(root_entries) / sizeof(root_entries[0]); i++) {
		const char *e = root_entries[i];
		struct stat st;
		snprintf(p, sizeof(p), "%s%s", R, e);
		if (lstat(e, &st) < 0) {
			if (errno == ENOENT && i >= 2)
				continue;
			return sp_err_sys(err, -errno, "stat %s", e);
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(e, target, sizeof(target) - 1);
			if (n < 0)
				return sp_err_sys(err, -errno, "readlink %s", e);
			target[n] = '\0';
			if (symlink(target, p) < 0)
				return sp_err_sys(err, -errno, "symlink %s", p);
		} else if (S_ISDIR(st.st_mode)) {
			int r = bind_ro(e, p, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* |R|/dev: the four harmless devices bound from the host and the /proc/self/fd links. */
static int mount_dev(const char *R, struct sp_err *err)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/dev", R);
	if (mkdir(p, 0755) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	static const char *const devs[] = {"null", "zero", "random", "urandom"};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		snprintf(p, sizeof(p), "%s/dev/%s", R, devs[i]);
		snprintf(q, sizeof(q), "/dev/%s", devs[i]);
		int r = touch(p, err);
		if (r < 0)
			return r;
		if (mount(q, p, NULL, MS_BIND, NULL) < 0)
			return sp_err_sys(err, -errno, "bind %s", q);
	}
	static const char *const links[][2] = {{"fd", "/proc/self/fd"},
					       {"stdin", "/proc/self/fd/0"},
					       {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(p, sizeof(p), "%s/dev/%s", R, links[i][0]);
		if (symlink(links[i][1], p) < 0)
			return sp_err_sys(err, -errno, "symlink %s", p);
	}
	return 0;
}

/* Everything of the minimal root except /mnt/data: done while the process waits on standby. */
static int prepare_mounts(const struct jail_config *c, struct sp_err *err)
{
	const char *R = c->root_dir;
	char p[PATH_MAX + 64];
	uint64_t tmp = c->tmp_bytes ? c->tmp_bytes : DEFAULT_TMP_BYTES;
	char opts[96];
	int r;

	/* A slave, not private, until pivot_root: the host directory given later may be a mount
	 * made after this copy of the mount table (the emulator's per-session tmpfs with the
	 * /mnt/data quota, under a shared mount), and must propagate here to be bound. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return sp_err_sys(err, -errno, "make / a slave");
	/* The root and /tmp share one tmpfs (of /tmp's size: the root's directories and links
	 * take no blocks, and the root is made read-only): every superblock is a shrinker with
	 * state in every memory cgroup on the machine, so each one a session has makes every
	 * later session's cgroup bigger (about 1 KiB per 64 superblocks on the host). */
	snprintf(opts, sizeof(opts), "size=%llu,mode=755", (unsigned long long)tmp);
	if (mount("sbxroot", R, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return sp_err_sys(err, -errno, "mount tmpfs root on %s", R);
	if ((r = mount_root_entries(R, err)) < 0)
		return r;

	if (c->find_links[0]) {
		snprintf(p, sizeof(p), "%s/opt", R);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return sp_err_sys(err, -errno, "mkdir %s", p);
		snprintf(p, sizeof(p), "%s%s", R, JAIL_FIND_LINKS);
		r = bind_ro(c->find_links, p, err);
		if (r < 0)
			return r;
	}

	if ((r = mount_dev(R, err)) < 0)
		return r;
	snprintf(opts, sizeof(opts), "size=%llu,mode=1777", (unsigned long long)tmp);
	snprintf(p, sizeof(p), "%s/dev/shm", R);
	r = mount_tmpfs(p, opts, MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
	if (r < 0)
		return r;
	/* /tmp: the root's own tmpfs, in a writable mount of its own. */
	snprintf(p, sizeof(p), "%s/tmp", R);
	if (mkdir(p, 0755) < 0 || chmod(p, 01777) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	if (mount(p, p, NULL, MS_BIND, NULL) < 0)
		return sp_err_sys(err, -errno, "bind %s", p);
	r = remount(p, MS_NOSUID | MS_NODEV, err);
	if (r < 0)
		return r;

	snprintf(p, sizeof(p), "%s/mnt", R);
	if (mkdir(p, 0755) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	snprintf(p, sizeof(p), "%s/mnt/data", R);
	if (mkdir(p, 0755) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	snprintf(p, sizeof(p), "%s/proc", R);
	if (mkdir(p, 0555) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return sp_err_sys(err, -errno, "mount /proc");
	return mount_python_path(c, err);
}

/* /mnt/data, then pivot_root into the prepared root and make it read-only. */
static int finish_mounts(const struct jail_config *c, int host_dir, struct sp_err *err)
{
	const char *R = c->root_dir;
	char p[PATH_MAX + 64], q[PATH_MAX + 64], link[64];
	struct stat want, got;
	int r;

	snprintf(p, sizeof(p), "%s/mnt/data", R);
	if (fstat(host_dir, &want) < 0)
		return sp_err_sys(err, -errno, "stat of the session directory");
	if (c->trees) {
		/* A detached copy of the directory's mount, made for this process alone. */
		if (move_mount(host_dir, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return sp_err_sys(err, -errno, "attach the session directory on /mnt/data");
	} else {
		/* The descriptor names the directory, but it belongs to the zygote's mount
		 * namespace, which MS_BIND refuses (EINVAL): bind its path, and check that the path
		 * leads to the same directory here (a tmpfs mounted there after our copy of the
		 * mount table reached us by propagation, see prepare_mounts). */
		snprintf(link, sizeof(link), "/proc/self/fd/%d", host_dir);
		ssize_t n = readlink(link, q, sizeof(q) - 1);
		if (n < 0)
			return sp_err_sys(err, -errno, "readlink of the session directory");
		q[n] = '\0';
		if (mount(q, p, NULL, MS_BIND, NULL) < 0)
			return sp_err_sys(err, -errno, "bind the session directory %s on /mnt/data",
					  q);
	}
	if (stat(p, &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return sp_err_set(err, -ESTALE, "the session directory moved while it was bound");
	r = remount(p, MS_NOSUID | MS_NODEV, err);
	if (r < 0)
		return r;

	snprintf(p, sizeof(p), "%s/.old", R);
	if (mkdir(p, 0700) < 0)
		return sp_err_sys(err, -errno, "mkdir %s", p);
	if (syscall(SYS_pivot_root, R, p) < 0)
		return sp_err_sys(err, -errno, "pivot_root");
	if (chdir("/") < 0)
		return sp_err_sys(err, -errno, "chdir /");
	if (umount2("/.old", MNT_DETACH) < 0)
		return sp_err_sys(err, -errno, "detach the old root");
	if (rmdir("/.old") < 0)
		return sp_err_sys(err, -errno, "rmdir /.old");
	/* From now on nothing of the host's mount events reaches the session. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sp_err_sys(err, -errno, "make / private");
	return remount("/", MS_RDONLY | MS_NOSUID | MS_NODEV, err);
}

/* Puts the session's descriptors in place and closes everything else (pitfall 5). */
static int setup_fds(const struct jail_fds *fds, struct sp_err *err)
{
	int hi[3];
	int src[3] = {fds->sock, fds->out, fds->err};

	/* Move everything above the target numbers first, so no dup2 clobbers a source. */
	for (int i = 0; i < 3; i++) {
		hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 300);
		if (hi[i] < 0)
			return sp_err_sys(err, -errno, "dup");
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return sp_err_sys(err, -errno, "open /dev/null");
	if (dup2(null, 0) < 0 || dup2(hi[1], 1) < 0 || dup2(hi[2], 2) < 0 ||
	    dup3(hi[0], JAIL_SOCK_FD, O_CLOEXEC) < 0)
		return sp_err_sys(err, -errno, "dup2");
	if (close_range(JAIL_SOCK_FD + 1, ~0U, 0) < 0)
		return sp_err_sys(err, -errno, "close_range");
	return 0;
}

static int set_limit(int resource, uint64_t value, const char *name, struct sp_err *err)
{
	struct rlimit rl = {(rlim_t)value, (rlim_t)value};
	if (setrlimit(resource, &rl) < 0)
		return sp_err_sys(err, -errno, "setrlimit %s", name);
	return 0;
}

static int drop_privileges(const struct jail_config *c, unsigned slot, struct sp_err *err)
{
	/* PR_CAPBSET_DROP needs CAP_SETPCAP, so the bounding set goes before setresuid. */
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return sp_err_sys(err, -errno, "drop capability %d from the bounding set",
					  cap);
	}
	if (!c->userns && c->outer_uid == 0) {
		uid_t u = jail_session_uid(c, slot);
		if (u == 0)
			return sp_err_set(err, -EPERM, "refusing to run a session as uid 0");
		if (setgroups(0, NULL) < 0)
			return sp_err_sys(err, -errno, "setgroups");
		if (setresgid((gid_t)u, (gid_t)u, (gid_t)u) < 0)
			return sp_err_sys(err, -errno, "setresgid %u", (unsigned)u);
		if (setresuid(u, u, u) < 0)
			return sp_err_sys(err, -errno, "setresuid %u", (unsigned)u);
		/* Changing uid made us non-dumpable: /proc/self would belong to root. */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			return sp_err_sys(err, -errno, "PR_SET_DUMPABLE");
	}
	int r = 0;
	if (c->memory_bytes)
		r = set_limit(RLIMIT_AS, c->memory_bytes, "RLIMIT_AS", err);
	if (r == 0 && c->max_processes)
		r = set_limit(RLIMIT_NPROC, c->max_processes, "RLIMIT_NPROC", err);
	if (r == 0 && c->file_size_bytes)
		r = set_limit(RLIMIT_FSIZE, c->file_size_bytes, "RLIMIT_FSIZE", err);
	if (r == 0)
		r = set_limit(RLIMIT_NOFILE, 1024, "RLIMIT_NOFILE", err);
	if (r == 0)
		r = set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err);
	if (r < 0)
		return r;

	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return sp_err_sys(err, -errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return sp_err_sys(err, -errno, "clear ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sp_err_sys(err, -errno, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

int jail_standby(const struct jail_config *c, const struct jail_fds *fds, int *sock,
		 struct sp_err *err)
{
	int r;

	/* Signals from the emulator's terminal or process group must not reach the session, and
	 * kill(0, …) from the session must not reach the zygote (same uid in a user namespace). */
	if (setsid() < 0)
		return sp_err_sys(err, -errno, "setsid");
	/* Should the host run out of memory, sessions go first, never the emulator. */
	if (write_file("/proc/self/oom_score_adj", "1000") < 0) {
		/* Best effort: the cgroup limits are the real protection. */
	}
	if (c->mode == SBX_ISOLATION_FULL) {
		r = unshare_session(c, err);
		if (r == 0)
			r = prepare_mounts(c, err);
		if (r < 0)
			return r;
	}
	r = setup_fds(fds, err);
	if (r < 0)
		return r;
	*sock = JAIL_SOCK_FD;
	return 0;
}

int jail_assign(const struct jail_config *c, unsigned slot, int host_dir, struct sp_err *err)
{
	int r;

	if (c->mode == SBX_ISOLATION_FULL) {
		r = finish_mounts(c, host_dir, err);
		if (r == 0)
			r = hide_cgroups(err);
		if (r == 0)
			r = nest_userns(c, err);
		if (r < 0)
			return r;
		close(host_dir);
		/* fd 0 again, from the new root, so it reads as /dev/null in /proc/self/fd. */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0)
			return sp_err_sys(err, -errno, "open /dev/null");
		close(null);
		if (chdir("/mnt/data") < 0)
			return sp_err_sys(err, -errno, "chdir /mnt/data");
	} else {
		/* Best effort: where namespaces are refused (the reason for degraded mode) this
		 * fails too, and the session sees its host group paths. */
		struct sp_err ignored = {0};
		hide_cgroups(&ignored);
		if (host_dir != JAIL_DATA_FD) {
			if (dup2(host_dir, JAIL_DATA_FD) < 0)
				return sp_err_sys(err, -errno, "dup2");
			close(host_dir);
		}
		if (c->data_link ? chdir("/mnt/data") < 0 : fchdir(JAIL_DATA_FD) < 0)
			return sp_err_sys(err, -errno, "chdir to the session directory");
	}
	r = drop_privileges(c, slot, err);
	if (r < 0)
		return r;
	r = policy_install(c->filter);
	if (r < 0)
		return sp_err_sys(err, r, "install the seccomp filter");
	return 0;
}

struct probe_report {
	int code;
	char msg[200];
};

static void probe_send(int fd, int code, const char *msg)
{
	struct probe_report rep = {.code = code};
	snprintf(rep.msg, sizeof(rep.msg), "%s", msg);
	if (write(fd, &rep, sizeof(rep)) < 0)
		_exit(1);
}

int jail_probe(const struct jail_config *c, int host_dir, struct sp_err *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return sp_err_sys(err, -errno, "pipe");
	pid_t a = fork();
	if (a < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return sp_err_sys(err, e, "fork");
	}
	if (a == 0) {
		struct sp_err e = {0};
		close(p[0]);
		int r = jail_prefork(c, &e);
		if (r < 0) {
			probe_send(p[1], r, e.msg);
			_exit(1);
		}
		pid_t b = fork();
		if (b < 0) {
			probe_send(p[1], -errno, "fork into the new pid namespace failed");
			_exit(1);
		}
		if (b == 0) {
			r = unshare_session(c, &e);
			if (r == 0)
				r = prepare_mounts(c, &e);
			if (r == 0)
				r = finish_mounts(c, host_dir, &e);
			if (r == 0)
				r = hide_cgroups(&e);
			if (r == 0)
				r = nest_userns(c, &e);
			probe_send(p[1], r, r < 0 ? e.msg : "ok");
			_exit(r < 0);
		}
		int st;
		while (waitpid(b, &st, 0) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[1]);
	struct probe_report rep = {.code = -EIO};
	snprintf(rep.msg, sizeof(rep.msg), "probe child died");
	ssize_t n;
	do
		n = read(p[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	int st;
	while (waitpid(a, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(rep))
		return sp_err_set(err, -EIO, "namespace probe: no report");
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (rep.code < 0)
		return sp_err_set(err, rep.code, "%s", rep.msg);
	return 0;
}
