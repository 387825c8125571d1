/* SPDX-License-Identifier: MIT */
/*
 * attack_env.h: what the attack battery needs around the integration harness (harness.h): a
 * throw-away ordinary user, and emulators started as that user.
 *
 * Life cycle, in the Criterion runner process (PRE_ALL), before any test process exists:
 *   1. atk_user_acquire() when running as root: the user "sp-attack" is created if absent and
 *      a shared lock on /tmp/sp-attack-user.lock is held while it is in use.
 *   2. atk_emu_spawn() for every emulator (they start in parallel), then atk_emu_wait() each.
 *   3. POST_ALL: atk_emu_stop() each, then atk_user_release(), which deletes the user only if a
 *      test run created it and no other run still holds the lock.
 *
 * Why not emu_start(): the harness creates its temporary directory as the caller (root), mode
 * 0700, passes it as --data-dir and waits on a ready file inside it, so an emulator running as
 * another user could never write there. atk_emu_spawn() mirrors emu_start() (fork+exec in its own
 * process group, ephemeral port, private data directory, ready file polled, never a sleep) with
 * a directory owned by the user and the privileges dropped in the child before exec. The struct
 * emu it fills works with emu_request() and friends.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

struct atk_user {
	char name[32];
	uid_t uid;
	gid_t gid;
	bool created; /* useradd ran in this process */
	int lock_fd;
};

/*
 * Ensures the system user |name| exists (useradd --system when absent) and takes a shared lock
 * on it. Returns 0, or a negative errno with a one-line reason in |why|.
 */
int atk_user_acquire(struct atk_user *u, const char *name, char *why, size_t why_len);

/* Drops the lock; deletes the user when a test run created it and nobody else holds the lock. */
void atk_user_release(struct atk_user *u);

struct atk_emu {
	struct emu e;	 /* e.pid is the emulator's pid (our child) */
	char ready[300]; /* the ready file */
	char log[300];	 /* the emulator's stdout and stderr */
	bool started;
};

/*
 * Forks the emulator (EMULATOR_PATH, or SESSIONPOOL_EMULATOR from the environment) as |as|
 * (NULL: as ourselves) with --listen 127.0.0.1:0, its own --data-dir and --ready-file, then
 * |extra| (NULL-terminated, may be NULL). Does not wait. 0 or a negative errno.
 */
int atk_emu_spawn(struct atk_emu *a, const struct atk_user *as, const char *const *extra, char *why,
		  size_t why_len);

/*
 * Waits up to |timeout_s| for the ready file. 0, or a negative errno with the reason (and the
 * tail of the emulator's log) in |why|; on failure the emulator is stopped.
 */
int atk_emu_wait(struct atk_emu *a, int timeout_s, char *why, size_t why_len);

/*
 * SIGTERM, wait up to 20 s (then SIGKILL the process group), remove the directory. Returns true
 * when the emulator exited with status 0; otherwise its log goes to stderr.
 */
bool atk_emu_stop(struct atk_emu *a);

/* The last |len|-1 bytes of the emulator's log, NUL-terminated (empty when none). */
void atk_emu_log_tail(const struct atk_emu *a, char *buf, size_t len);
