/* SPDX-License-Identifier: MIT */
/*
 * Starting and stopping sessionpool-emulator instances for --emulator mode. Each instance gets
 * a private temporary directory holding its --data-dir, its --ready-file and its log; it
 * listens on an ephemeral port of 127.0.0.1, and is ready when the ready file names its base
 * URL. The child is killed with SIGTERM if the runner dies (PR_SET_PDEATHSIG), so an instance
 * never outlives its runner.
 *
 * Life cycle: emu_start() → emu_base_url() → emu_stop() → emu_free() (which also stops and
 * removes the directory). Thread-safe on distinct instances; emu_kill_all() may be called from
 * any thread (the runner's signal thread) at any time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct emu_launch {
	const char *binary;	 /* not owned */
	const char *const *args; /* not owned; extra flags after the runner's own */
	size_t n_args;
	int ready_timeout_ms;	 /* 0 = 60000 */
	const char *keep_log_as; /* not owned; copy the log here at free time; may be NULL */
};

struct emu_instance;

/*
 * Starts an instance and waits until it is ready. Returns 0 with *out set, or a negative code
 * with a message (including the tail of the emulator's log) in |err|.
 */
int emu_start(const struct emu_launch *l, struct emu_instance **out, struct sp_err *err);

/* The ready file's first line, e.g. "http://127.0.0.1:41235". Borrowed. */
const char *emu_base_url(const struct emu_instance *e);

/*
 * Sends SIGTERM, waits up to ten seconds, then SIGKILL. Returns 0 when the emulator exited
 * with status 0, else -ECHILD with how it ended in |err|. Idempotent.
 */
int emu_stop(struct emu_instance *e, struct sp_err *err);

/* Stops the instance if needed, keeps the log if asked, removes the directory, frees. */
void emu_free(struct emu_instance *e);

/* The last |max| bytes of the instance's log, malloc'd (never NULL unless out of memory). */
char *emu_log_tail(const struct emu_instance *e, size_t max);

/* SIGKILLs every running instance (for a second Ctrl-C). Async with respect to the others. */
void emu_kill_all(void);
