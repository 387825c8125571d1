/* SPDX-License-Identifier: MIT */
/*
 * command.h: shell commands and programs run by a session process (zygote side, no Python).
 *
 * The session interpreter runs a command for a "shell" request (sandbox.h SBX_EXEC_SHELL and
 * SBX_EXEC_ARGV) with these three calls, in this order, on its main thread with SIGINT blocked:
 *   cmd_spawn()  starts the program (posix_spawn: no copy of the interpreter's memory);
 *   cmd_wait()   waits for it to end, or for the emulator's interrupt (SIGINT at the deadline),
 *                in which case it kills the command's processes first;
 * and the command inherits the session's confinement as it stands (uid, namespaces, seccomp
 * filter, rlimits, cgroups, no_new_privs, working directory, environment): nothing is relaxed.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* How often cmd_wait() calls its callback at least. */
#define CMD_POLL_MS 50

/*
 * Starts |argv| (argv[0] first, NULL-terminated) as the program |file| (searched in PATH when it
 * has no '/'), with environ as its environment, the working directory of the caller, stdin from
 * /dev/null, stdout and stderr the caller's fds 1 and 2, other descriptors as they are (the
 * session's own are close-on-exec), every signal at its default disposition and none blocked, in
 * a new session (so its process group and session id are its pid). *pid on success.
 * Returns 0, or a negative errno: the program could not be started (-ENOENT, -EACCES, -ENOEXEC,
 * -E2BIG, …); nothing is left running then.
 */
int cmd_spawn(const char *file, char *const argv[], pid_t *pid) __attribute__((nonnull));

/* The result of cmd_wait(). */
struct cmd_status {
	int exit_code;	  /* the exit status 0-255, or 128 + N when a signal N ended it; 255
			   * when the status was lost (user code reaped the process itself) */
	bool interrupted; /* SIGINT arrived: the command's processes were killed */
};

/*
 * Waits until |pid| (started by cmd_spawn) ends. SIGINT must be blocked in the calling thread;
 * SIGCHLD is blocked too while waiting. |intr|(|ctx|) is called every CMD_POLL_MS, when a
 * child of the caller ends (SIGCHLD: the caller may reap orphans of the command there) and
 * when a signal interrupts the wait. A SIGINT pending for the process, or |intr| returning true
 * (a thread of the caller that does not block SIGINT may have taken it), ends the wait early:
 * every process of the command's session (its process group, and any that left the group but
 * not the session) is killed with SIGKILL, and the command is reaped. Processes that left the
 * session (setsid) are not touched: they stay confined like any other process of the session, and
 * die with it. Returns 0 with *out filled, or a negative errno when waiting failed (the command was
 * then killed as above and reaped).
 */
int cmd_wait(pid_t pid, bool (*intr)(void *ctx), void *ctx, struct cmd_status *out)
    __attribute__((nonnull(4)));

/*
 * Kills every process whose session id is |sid| (not zombies), until none is left or 100
 * rounds have passed (a process may fork between the scan and the kill; a killed process no
 * longer can). |sid| must be the pid of a session leader that is not yet reaped, so that no
 * unrelated process can carry it.
 */
void cmd_kill_session(pid_t sid);
