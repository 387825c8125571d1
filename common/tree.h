/* SPDX-License-Identifier: MIT */
/*
 * Removal of directory trees that untrusted code may have shaped: everything happens relative
 * to open directory descriptors, symlinks are never followed (they are removed as entries), and
 * a directory on another file system (a mount point is someone else's) is neither entered nor
 * removed. Best effort: what cannot be removed stays, silently.
 */
#pragma once

#include <sys/types.h>

enum sp_tree_flags {
	/* chmod each directory to 0700 before entering it (session code may have made it
	 * unreadable or unwritable) */
	SP_TREE_CHMOD = 1u << 0,
};

/* Removes everything below the directory open as |dfd| (consumed: closed on return), staying
 * on |dfd|'s file system. */
void sp_tree_empty(int dfd, unsigned flags);

/* Removes |name| in the directory |dfd| and everything below it, when |name| is on the file
 * system |dev|. |dfd| stays open. */
void sp_tree_remove_at(int dfd, const char *name, dev_t dev, unsigned flags);
