/* SPDX-License-Identifier: MIT */
/*
 * jail.h: every confinement step of a session process, in one place (sandbox-notes §3, App. A).
 *
 * Full mode uses one fork per session: the zygote calls jail_prefork() (unshare(CLONE_NEWPID),
 * which only affects its future children), forks the session process B, which is pid 1 of the
 * new pid namespace, and calls jail_postfork() (setns back to its own pid namespace, so the next
 * unshare creates a sibling, not a nested namespace). B calls jail_standby() at once (the other
 * namespaces, the minimal root without /mnt/data, descriptors) while it waits for its session
 * (its Python state is prepared meanwhile); then it calls jail_assign() (/mnt/data,
 * pivot_root, ids, rlimits, capabilities, seccomp) and the REPL runs. As an ordinary user the
 * zygote first enters a user namespace of its own (jail_zygote_init) to hold the capabilities for
 * this, and every B then moves into a nested user namespace of its own once its mounts are done, so
 * RLIMIT_NPROC counts per session (sandbox-notes §1.5). In degraded mode there are no namespaces at
 * all. jail_probe() tries the whole sequence once at start-up, in throw-away children, to choose
 * the isolation mode.
 *
 * These functions run in freshly forked, single-threaded children: they never touch Python and
 * report failures through struct sp_err; the caller turns that into a message and an exit code.
 */
#pragma once

#include <limits.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "sandbox.h"

/* Descriptor numbers inside a session process. */
#define JAIL_SOCK_FD 3	 /* the session socket (close-on-exec) */
#define JAIL_DATA_FD 200 /* degraded mode: O_PATH descriptor of the host directory */

/* Where a session sees the --pip-find-links directory (FULL; DEGRADED sees the host path). */
#define JAIL_FIND_LINKS "/opt/pip-find-links"

/* Exit codes of session processes that fail before Python runs (minijail-style taxonomy). */
enum jail_exit {
	JAIL_EXIT_SETUP = 251,	/* namespaces, mounts, descriptors, uid, rlimits, caps, seccomp */
	JAIL_EXIT_PYTHON = 252, /* the interpreter could not be prepared for the session */
};

struct jail_config {
	enum sbx_isolation mode; /* SBX_ISOLATION_FULL or SBX_ISOLATION_DEGRADED */
	bool userns;		 /* FULL without root: user namespaces map our own uid */
	bool egress;		 /* keep the host network namespace */
	uid_t outer_uid;	 /* the zygote's ids, read before any unshare (pitfall 10) */
	gid_t outer_gid;
	uid_t uid_base;		  /* as root: the session in slot n runs as uid_base + n */
	uint64_t memory_bytes;	  /* RLIMIT_AS; 0 = unlimited */
	uint64_t file_size_bytes; /* RLIMIT_FSIZE; 0 = unlimited */
	uint64_t tmp_bytes;	  /* size of /tmp and /dev/shm */
	unsigned max_processes;	  /* RLIMIT_NPROC; 0 = unlimited */
	char root_dir[PATH_MAX];  /* FULL: empty directory the session's tmpfs root is mounted on */
	bool data_link;		  /* DEGRADED: /mnt/data is a symlink to /proc/self/fd/200 */
	char find_links[PATH_MAX]; /* FULL: host directory bound read-only on JAIL_FIND_LINKS, or ""
				    */
	const struct sock_fprog *filter; /* not owned */
	int pidns_fd;			 /* FULL: the zygote's own pid namespace */
	bool trees; /* FULL: the session directory comes as a detached mount (open_tree), which
		     * is moved into place; else as a directory, bound by its path */
	/* Extra site directories, colon-separated absolute paths outside the session's own mount
	 * points: FULL binds each read-only at the same path (those under /usr, /etc, /lib* are
	 * there already); NULL = none; not owned. */
	const char *python_path;
};

struct jail_fds {
	int sock; /* session end of the session socket */
	int out;  /* write end of the stdout pipe */
	int err;  /* write end of the stderr pipe */
};

/* The uid a session in |slot| runs as, or the zygote's own uid in a user namespace. */
uid_t jail_session_uid(const struct jail_config *c, unsigned slot);

/*
 * In the zygote, once, single-threaded, before Python: as an ordinary user, a user namespace and
 * a pid namespace of its own (the calling process then only waits for the zygote, which goes on
 * as pid 1 of that namespace, and exits with its status: this call returns in the new process
 * only); and pidns_fd.
 */
int jail_zygote_init(struct jail_config *c, struct sp_err *err);

/* FULL: the next child is pid 1 of a new pid namespace. 0 or a negative code. */
int jail_prefork(const struct jail_config *c, struct sp_err *err);

/* FULL: undoes jail_prefork for later children. 0 or a negative code. */
int jail_postfork(const struct jail_config *c, struct sp_err *err);

/*
 * In B, right after the fork (standby): the namespaces other than pid and user, the minimal root
 * without /mnt/data, and the descriptors: fd 0 is /dev/null, fds 1 and 2 the pipes,
 * JAIL_SOCK_FD the session socket, nothing else. *sock tracks where the session socket is
 * (fds->sock, then JAIL_SOCK_FD), so a failure can still be reported on it.
 */
int jail_standby(const struct jail_config *c, const struct jail_fds *fds, int *sock,
		 struct sp_err *err);

/*
 * In B, once it is given a session: /mnt/data is |host_dir| (an O_PATH descriptor, consumed),
 * pivot_root, a cgroup namespace (tried in degraded mode too), the nested user namespace, the
 * working directory /mnt/data, the uid of |slot|, rlimits, no capabilities, no_new_privs,
 * seccomp. In degraded mode |host_dir| ends up on JAIL_DATA_FD.
 */
int jail_assign(const struct jail_config *c, unsigned slot, int host_dir, struct sp_err *err);

/*
 * Runs the FULL sequence (prefork, fork, namespaces, mounts with |host_dir| as /mnt/data,
 * pivot_root, nested user namespace) in throw-away children. 0 when it works, else a negative code
 * with the failing step in |err|.
 */
int jail_probe(const struct jail_config *c, int host_dir, struct sp_err *err);
