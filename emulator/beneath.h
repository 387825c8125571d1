/* SPDX-License-Identifier: MIT */
/*
 * Opening paths below a directory without ever following a symbolic link (contract §9.1 step
 * 7). Code in a session controls everything inside its /mnt/data and can plant links to
 * escape it, so every file route goes through here: openat2() with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or, where the kernel lacks openat2 (ENOSYS), a
 * walk that opens one component at a time with O_NOFOLLOW. Paths given here are already
 * normalised by filepath.h (no "", ".", ".." segments, no leading '/').
 *
 * All functions return a new file descriptor (O_CLOEXEC) or 0 on success, or a negative errno:
 * -ELOOP when any component, including the last, is a symbolic link; -ENOTDIR when a parent
 * component (or, with O_DIRECTORY, the last) is not a directory; -ENOENT; others as open(2).
 * Thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Opens |rel| below the directory |rootfd| ("" opens that directory itself) with open(2)
 * |flags| and |mode| (O_CREAT is honoured for the last component; |mode| must be 0 without it).
 * Opens of the last component that are not O_PATH get O_NOFOLLOW, so a symlink there fails instead
 * of being followed.
 */
int beneath_open(int rootfd, const char *rel, int flags, mode_t mode) __attribute__((nonnull));

/*
 * Opens the directory |rel| below |rootfd| as an O_PATH descriptor, creating each missing
 * component with mode 0755 and, when |uid| is not (uid_t)-1, owner |uid|. Returns the fd,
 * -ELOOP (a symlink component), -ENOTDIR (a component exists and is not a directory), or
 * another negative errno.
 */
int beneath_mkdirs(int rootfd, const char *rel, uid_t uid) __attribute__((nonnull));

/* Test hook: when |on|, never use openat2 (exercise the fallback walk). */
void beneath_force_walk(bool on);
