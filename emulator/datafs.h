/* SPDX-License-Identifier: MIT */
/*
 * The sessions' /mnt/data on the host: one directory per session slot,
 * <data_dir>/slots/<slot>, made when a session (or a ready interpreter) takes the slot and
 * removed when it is destroyed.
 *
 * Quota (--session-disk-mb): each slot directory is a tmpfs of that size (mode 0700, owned by
 * the session's uid), so that writes past the quota fail with ENOSPC, inside sessions as for
 * uploads, and destroying a session is an unmount. The mounts live in a mount namespace of the
 * emulator's own, which datafs_init() enters before the zygote starts (the zygote shares it),
 * so the host's mount table never sees them: as root, CLONE_NEWNS with / made a slave (host
 * mounts still propagate in, ours never out); as an ordinary user, a user namespace mapping
 * only our own ids, when the kernel allows one. Otherwise slot directories are plain
 * directories and there is no quota (datafs.reason says why).
 *
 * A mount point cannot be renamed, hence directories named by slot, not by session: a ready
 * interpreter's directory simply becomes its session's. <data_dir>/slots is a shared bind
 * mount, so a slot's tmpfs also appears in the zygote's pre-forked standby processes, which
 * copied the mount table before it was mounted (sandbox/jail.c binds it on /mnt/data there).
 *
 * Life cycle: datafs_init() first in main(), while the process has one thread; then
 * datafs_make()/datafs_remove() from any thread (they touch only their own directory);
 * datafs_fini() last, once every session is gone.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct datafs {
	bool quota;	  /* slot directories are tmpfs of |bytes| each */
	uint64_t bytes;	  /* the quota */
	char reason[256]; /* !quota: why, one line */
	char slots[PATH_MAX - 32];
	bool slots_bound; /* |slots| is our shared bind mount */
};

/*
 * Creates <data_dir>/slots and, when a quota can be had, enters the private mount namespace.
 * Must run before any thread exists and before the zygote starts. 0, or a negative code when
 * the directory cannot be made; the lack of a quota is not an error (fs->reason).
 */
int datafs_init(struct datafs *fs, const char *data_dir, uint64_t bytes, struct sp_err *err);

/* The host directory of |slot| into |buf|. */
void datafs_slot_dir(const struct datafs *fs, unsigned slot, char *buf, size_t n);

/* Makes the directory |dir| (from datafs_slot_dir): a fresh tmpfs with the quota, or a plain
 * 0700 directory, owned by |uid| ((uid_t)-1: ours). 0 or a negative code. */
int datafs_make(const struct datafs *fs, const char *dir, uid_t uid, struct sp_err *err);

/* Removes |dir| and everything in it: an unmount, or a recursive delete without quota. */
void datafs_remove(const struct datafs *fs, const char *dir);

/* Removes <data_dir>/slots (every slot must be removed already). */
void datafs_fini(struct datafs *fs);
