/* SPDX-License-Identifier: MIT */
/*
 * Symlink-free resolution. openat2's RESOLVE_NO_SYMLINKS rejects a link anywhere in the path,
 * the last component included, and RESOLVE_BENEATH rejects any escape; both are atomic with
 * respect to concurrent renames by session code. The fallback walk keeps the same guarantee
 * because it never hands the kernel more than one component at a time, always with O_NOFOLLOW,
 * relative to a descriptor it already holds: a component swapped for a link between two steps
 * makes the next step fail rather than escape.
 *
 * O_PATH | O_NOFOLLOW opens a link itself instead of failing, so every failure or O_PATH result
 * is checked with fstat(at) and turned into -ELOOP when the object is a link.
 */
#include "beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

static atomic_bool no_openat2;

void beneath_force_walk(bool on)
{
	atomic_store(&no_openat2, on);
}

/* The errno of a failed open of |name| in |dirfd|, with a link reported as -ELOOP. */
static int classify(int dirfd, const char *name, int err)
{
	struct stat st;
	if ((err == ENOTDIR || err == ELOOP || err == EMLINK) &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	return -err;
}

/* Opens the last component |name| in |dirfd| with O_NOFOLLOW semantics. */
static int open_last(int dirfd, const char *name, int flags, mode_t mode)
{
	int fd =
	    (int)TEMP_FAILURE_RETRY_INT(openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode));
	if (fd < 0)
		return classify(dirfd, name, errno);
	if (flags & O_PATH) {
		struct stat st;
		int e = fstat(fd, &st) < 0 ? errno : S_ISLNK(st.st_mode) ? ELOOP : 0;
		if (e) {
			close(fd);
			return -e;
		}
	}
	return fd;
}

/*
 * Walks |rel| from |rootfd|, opening each component as an O_PATH directory (creating missing
 * ones when |mkdirs|). With |mkdirs| the last component is a directory too and its O_PATH fd is
 * returned; otherwise the last component is opened with |flags| and |mode|.
 */
static int walk(int rootfd, const char *rel, bool mkdirs, uid_t uid, int flags, mode_t mode)
{
	cleanup_free char *copy = strdup(rel);
	if (!copy)
		return -ENOMEM;
	cleanup_close int cur =
	    (int)TEMP_FAILURE_RETRY_INT(openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (cur < 0)
		return -errno;
	char *save = NULL;
	char *comp = strtok_r(copy, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		if (!next && !mkdirs)
			return open_last(cur, comp, flags, mode);
		int fd = (int)TEMP_FAILURE_RETRY_INT(
		    openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
		if (fd < 0 && errno == ENOENT && mkdirs) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
				return -errno;
			fd = (int)TEMP_FAILURE_RETRY_INT(
			    openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
			if (fd >= 0 && uid != (uid_t)-1 &&
			    fchownat(fd, "", uid, (gid_t)uid, AT_EMPTY_PATH) < 0) {
				int e = errno;
				close(fd);
				return -e;
			}
		}
		if (fd < 0)
			return classify(cur, comp, errno);
		close(cur);
		cur = fd;
		comp = next;
	}
	/* |rel| had no component left (only for mkdirs, or "" which callers handle). */
	if (mkdirs)
		return steal_fd(&cur);
	return -EINVAL;
}

int beneath_open(int rootfd, const char *rel, int flags, mode_t mode)
{
	if (!*rel) {
		int fd = (int)TEMP_FAILURE_RETRY_INT(openat(rootfd, ".", flags | O_CLOEXEC, mode));
		return fd < 0 ? -errno : fd;
	}
	if (!atomic_load(&no_openat2)) {
		struct open_how how = {
		    .flags = (unsigned long long)(flags | O_CLOEXEC),
		    .mode = mode,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		for (int tries = 0; tries < 8; tries++) {
			long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
			if (fd >= 0)
				return (int)fd;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno != ENOSYS)
				return -errno;
			atomic_store(&no_openat2, true);
			break;
		}
		if (!atomic_load(&no_openat2))
			return -EAGAIN;
	}
	return walk(rootfd, rel, false, (uid_t)-1, flags, mode);
}

int beneath_mkdirs(int rootfd, const char *rel, uid_t uid)
{
	return walk(rootfd, rel, true, uid, 0, 0);
}
