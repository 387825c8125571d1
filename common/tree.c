/* SPDX-License-Identifier: MIT */
/* Tree removal; see tree.h. */
#include "tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void empty_dir(int dfd, dev_t dev, unsigned flags)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			sp_tree_remove_at(dirfd(d), e->d_name, dev, flags);
	}
	closedir(d);
}

void sp_tree_remove_at(int dfd, const char *name, dev_t dev, unsigned flags)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	if (flags & SP_TREE_CHMOD)
		fchmodat(dfd, name, 0700, AT_SYMLINK_NOFOLLOW);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		empty_dir(fd, dev, flags);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void sp_tree_empty(int dfd, unsigned flags)
{
	struct stat st;
	if (fstat(dfd, &st) < 0) {
		close(dfd);
		return;
	}
	empty_dir(dfd, st.st_dev, flags);
}
