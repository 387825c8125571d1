/* SPDX-License-Identifier: MIT */
/* The sessions' /mnt/data directories and their quota; see datafs.h. */
#include "datafs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "tree.h"

static int write_file(const char *path, const char *text)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

/* As an ordinary user: a user namespace that maps only our own ids (so files keep their
 * owners), with a mount namespace it owns. */
static int enter_userns(struct datafs *fs)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		snprintf(fs->reason, sizeof(fs->reason),
			 "no user namespace for a private mount table (%s)", strerror(errno));
		return -errno;
	}
	r = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
	if (r == 0)
		r = write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
	if (r == 0)
		r = write_file("/proc/self/gid_map", map);
	if (r < 0)
		snprintf(fs->reason, sizeof(fs->reason), "user namespace id maps: %s",
			 strerror(-r));
	return r;
}

/* Tries a tmpfs of the quota's size once, so a refusal shows at start, not per session. */
static int probe_tmpfs(struct datafs *fs)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/probe", fs->slots);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int r = datafs_make(fs, dir, (uid_t)-1, NULL);
	datafs_remove(fs, dir);
	return r;
}

int datafs_init(struct datafs *fs, const char *data_dir, uint64_t bytes, struct sp_err *err)
{
	memset(fs, 0, sizeof(*fs));
	fs->bytes = bytes;
	int len = snprintf(fs->slots, sizeof(fs->slots), "%s/slots", data_dir);
	if (len < 0 || (size_t)len >= sizeof(fs->slots))
		return sp_err_set(err, -ENAMETOOLONG, "data directory path too long");
	if (mkdir(fs->slots, 0711) < 0 && errno != EEXIST)
		return sp_err_sys(err, -errno, "create %s", fs->slots);
	if (!bytes) {
		snprintf(fs->reason, sizeof(fs->reason), "no quota was asked for");
		return 0;
	}

	if (geteuid() == 0) {
		if (unshare(CLONE_NEWNS) < 0) {
			snprintf(fs->reason, sizeof(fs->reason), "no private mount namespace (%s)",
				 strerror(errno));
			return 0;
		}
	} else if (enter_userns(fs) < 0) {
		return 0;
	}
	/* Host mounts and unmounts still reach us; nothing we mount reaches the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		snprintf(fs->reason, sizeof(fs->reason), "make / a slave mount: %s",
			 strerror(errno));
		return 0;
	}
	/* Shared, so that slot mounts made later propagate into the standby session processes'
	 * copies of our mount table (they turn theirs into slaves). As root the zygote drops this
	 * directory from its table and sessions get their slot as a detached mount instead
	 * (sbx_options.mounts_dir). */
	if (mount(fs->slots, fs->slots, NULL, MS_BIND, NULL) < 0) {
		snprintf(fs->reason, sizeof(fs->reason), "bind %.150s: %s", fs->slots,
			 strerror(errno));
		return 0;
	}
	fs->slots_bound = true;
	if (mount(NULL, fs->slots, NULL, MS_SHARED, NULL) < 0) {
		snprintf(fs->reason, sizeof(fs->reason), "make %.150s shared: %s", fs->slots,
			 strerror(errno));
		return 0;
	}
	fs->quota = true;
	int r = probe_tmpfs(fs);
	if (r < 0) {
		fs->quota = false;
		snprintf(fs->reason, sizeof(fs->reason), "tmpfs: %s", strerror(-r));
	}
	return 0;
}

void datafs_slot_dir(const struct datafs *fs, unsigned slot, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%u", fs->slots, slot);
}

int datafs_make(const struct datafs *fs, const char *dir, uid_t uid, struct sp_err *err)
{
	uid_t u = uid == (uid_t)-1 ? getuid() : uid;
	gid_t g = uid == (uid_t)-1 ? getgid() : (gid_t)uid;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sp_err_sys(err, -errno, "create %s", dir);
	if (!fs->quota) {
		if (uid != (uid_t)-1 && chown(dir, u, g) < 0)
			return sp_err_sys(err, -errno, "chown %s", dir);
		return 0;
	}
	/* nr_inodes: tmpfs counts inodes apart from blocks; empty files would otherwise let a
	 * session pin kernel memory far beyond its quota. */
	char opts[160];
	snprintf(opts, sizeof(opts), "size=%llu,nr_inodes=%llu,mode=0700,uid=%u,gid=%u",
		 (unsigned long long)fs->bytes, (unsigned long long)(fs->bytes / 4096 + 1024),
		 (unsigned)u, (unsigned)g);
	if (mount("sessionpool-data", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		int r = -errno;
		rmdir(dir);
		return sp_err_sys(err, r, "mount a tmpfs on %s", dir);
	}
	return 0;
}

void datafs_remove(const struct datafs *fs, const char *dir)
{
	/* Detached, not unmounted: copies of the mount in standby processes go with it, and a
	 * process that still holds a file open keeps only that file alive. */
	if (fs->quota && umount2(dir, MNT_DETACH) == 0 && rmdir(dir) == 0)
		return;
	chmod(dir, 0700);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Session code may have made directories unreadable: chmod them back on the way. */
	if (fd >= 0)
		sp_tree_empty(fd, SP_TREE_CHMOD);
	rmdir(dir);
}

void datafs_fini(struct datafs *fs)
{
	if (fs->slots_bound)
		umount2(fs->slots, MNT_DETACH);
	fs->slots_bound = false;
	if (fs->slots[0])
		rmdir(fs->slots);
}
