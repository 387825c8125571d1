/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h: memory and pids control groups per session slot, in the zygote (root only).
 *
 * cg_init() once at start-up finds the controllers the machine offers, cgroup v2 (memory.max,
 * pids.max, memory.oom.group, cgroup.kill) preferred, v1 (memory.limit_in_bytes, pids.max, an
 * eventfd on memory.oom_control) otherwise, and makes a parent group of this zygote's own,
 * "sessionpool-<pid>", below the zygote's current groups. Without root, or without the
 * controllers, it says why and every other call does nothing. cg_slot_join() puts a session
 * process in its slot's group (made on first use, limits written once); its children follow it.
 * cg_fini() at stop kills what is left in every slot and removes the groups.
 *
 * Memory: a session's files on tmpfs (/mnt/data, /tmp, /dev/shm) are charged to it like its
 * processes' memory, so the limit is the processes' allowance plus the sizes of those file
 * systems: a session that fills its disk quota keeps its full memory, and the interpreter
 * restarted after an out-of-memory kill does not die again at once because of its files. An
 * out-of-memory kill takes the whole session (v2: memory.oom.group; v1: the zygote polls
 * cg_slot_oom_fd() and kills the session), never another session, never the emulator.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct cg_slot {
	bool made;
	int oom_fd; /* v1: eventfd signalled on an out-of-memory event in the slot; else -1 */
};

struct cgroups {
	int version;	     /* 0: none, 1 or 2 */
	char reason[256];    /* version 0: why */
	char mem[PATH_MAX];  /* parent group with the memory controller ("" if none) */
	char pids[PATH_MAX]; /* v1: parent group with the pids controller ("" if none); v2: = mem */
	uint64_t mem_limit;  /* bytes per slot (0: none) */
	unsigned pids_max;   /* per slot (0: none) */
	struct cg_slot *slots;
	size_t nslots;
};

/* Finds the controllers and makes the parent group. Always returns 0: without cgroups,
 * cg->version is 0 and cg->reason says why. */
int cg_init(struct cgroups *cg, uint64_t mem_limit, unsigned pids_max);

/* One line for the hello: "v1 (memory 2112 MiB, pids 128)" or "off (why)". */
void cg_describe(const struct cgroups *cg, char *buf, size_t n);

/* Moves |pid| (and its threads) into the group of |slot|, making it first. 0 or -errno. */
int cg_slot_join(struct cgroups *cg, unsigned slot, pid_t pid, struct sp_err *err);

/* v1: the eventfd of |slot| (readable after an out-of-memory kill in it), or -1. */
int cg_slot_oom_fd(const struct cgroups *cg, unsigned slot);

/* Kills every process in the group of |slot| and waits (bounded) until it is empty. */
void cg_slot_kill(struct cgroups *cg, unsigned slot);

/* Kills every process of every slot and removes the groups. */
void cg_fini(struct cgroups *cg);
