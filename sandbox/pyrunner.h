/* SPDX-License-Identifier: MIT */
/*
 * pyrunner.h: the zygote's embedded CPython, seen from C without Python.h (pyrunner.c is the
 * only file of the zygote that includes it).
 *
 * pyr_init() once at start-up (interpreter, preload, REPL helper, gc.freeze), pyr_hello() for the
 * hello message, the fork hooks around every fork of a process that will run Python again, and
 * pyr_session_main() as the last call of a confined session process.
 */
#pragma once

#include <stdbool.h>

#include "err.h"

/* Initialises CPython (Debian's python3.11, site on), loads the REPL helper and preloads numpy,
 * pandas, matplotlib (Agg), IPython.lib.pretty and pkg_resources. 0 or a negative code. */
int pyr_init(struct sp_err *err);

/* JSON {"version":"3.11.2","packages":[{"name","version"},…]} (malloc'd) or NULL with |err|. */
char *pyr_hello(struct sp_err *err);

/*
 * The clock page: a shared page where the session records, as CLOCK_MONOTONIC nanoseconds
 * (int64, at offset 0), the moment each cell's user code starts (_sbx.mark_start(), called by
 * repl.py where it starts timing the cell). The client reads it when its deadline passes, so
 * that the timeout counts from the start of the user code (api-contract §8.6), not from when
 * the request was sent: under load the two are tens of milliseconds apart.
 */
#define PYR_CLOCK_SIZE 4096
void pyr_set_clock(void *page);

/* PyOS_BeforeFork / PyOS_AfterFork_Parent / PyOS_AfterFork_Child, plus a stdio flush before. */
void pyr_before_fork(void);
void pyr_after_fork_parent(void);
void pyr_after_fork_child(void);

/* In a standby session process: per-session Python state (streams on fds 1 and 2, a clean
 * environment, reseeded generators, a fresh __main__) and, with |warm_up|, one throw-away cell
 * that takes the copy-on-write faults of the execution path ahead of the first real cell.
 * 0 or a negative code with |err|. */
int pyr_session_prepare(bool warm_up, struct sp_err *err);

/*
 * Runs the session: {"op":"ready"} on |sock|, then one reply per request frame until end of
 * file, each carrying the request's id as its first member. Only this process answers: one
 * forked by user code that returns here exits with _exit(0) instead of replying. Never returns:
 * _exit(0) on end of file.
 */
__attribute__((noreturn)) void pyr_session_main(int sock);
