/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h: the emulator's view of session processes (library "sandbox", client side).
 *
 * Life cycle:
 *   1. sbx_zygote_start() once, early in main() (before CivetWeb starts its threads). It
 *      fork+execs sessionpool-zygote, which preloads CPython and the scientific stack and
 *      answers with a hello (isolation mode, interpreter version, installed packages).
 *   2. sbx_session_spawn() per session: the zygote forks one sandboxed interpreter whose
 *      /mnt/data is the given host directory.
 *   3. sbx_session_exec() any number of times, one at a time per session (the caller
 *      serialises); sbx_session_cancel() from any thread kills a session for good.
 *   4. sbx_session_free() kills what is left and releases everything.
 *   5. sbx_zygote_stop() at shutdown, after every session has been freed.
 *
 * This library knows nothing of HTTP, API shapes or api-versions. It runs a closed set of
 * operations (spawn, exec, interrupt, kill) and returns neutral results. All functions return
 * 0 or a negative errno-style code, with details in an optional struct sp_err.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

enum sbx_isolation {
	SBX_ISOLATION_AUTO,	/* full when the kernel allows it, else degraded */
	SBX_ISOLATION_FULL,	/* namespaces + pivot_root + uid + rlimits + seccomp */
	SBX_ISOLATION_DEGRADED, /* no namespaces: per-session uid, seccomp, rlimits */
};

/* "auto", "full", "degraded". */
const char *sbx_isolation_name(enum sbx_isolation mode);
/* Parses a name of sbx_isolation_name(); returns 0 or -EINVAL. */
int sbx_isolation_parse(const char *name, enum sbx_isolation *out);

struct sbx_options {
	const char *zygote_path; /* path of the sessionpool-zygote binary; not owned */
	enum sbx_isolation isolation;
	bool egress;		    /* true: sessions share the host network, no socket rule */
	uint64_t memory_bytes;	    /* RLIMIT_AS per session; 0 = unlimited */
	unsigned max_processes;	    /* RLIMIT_NPROC per session (and pids cgroup where offered) */
	uint64_t file_size_bytes;   /* RLIMIT_FSIZE per session; 0 = unlimited */
	uint64_t tmp_bytes;	    /* size of the session's tmpfs /tmp and /dev/shm */
	uint64_t disk_bytes;	    /* the /mnt/data quota the caller enforces (tmpfs size); counted
				     * in the session's memory cgroup, which holds its files too;
				     * 0 = none */
	uid_t uid_base;		    /* running as root: session in slot n runs as uid_base + n */
	const char *state_dir;	    /* a directory the sandbox may use: it makes one sbx-XXXXXX
				     * subdirectory there and removes it in sbx_zygote_stop();
				     * not owned; must exist */
	int log_fd;		    /* where the zygote writes its diagnostics; -1 = stderr */
	bool quiet;		    /* the zygote writes errors only (not its start-up line) */
	const char *python_path;    /* extra site directories, colon-separated absolute paths:
				     * read-only at the same path in sessions, on sys.path before
				     * Debian's dist-packages; NULL = none; not owned */
	const char *pip_find_links; /* a wheel directory, read-only in sessions, where pip
				     * installs from (no index); NULL = none; not owned */
	const char *mounts_dir;	    /* where the caller mounts the sessions' directories (one
				     * mount each, e.g. a quota tmpfs), or NULL: full isolation
				     * as root then hands each session its directory as a
				     * detached copy of its mount (open_tree), and the zygote
				     * (given a descriptor, as sessions can read its command
				     * line) drops this directory from its own mount table, so the
				     * table a new session copies does not grow with the live
				     * sessions; not owned */
	char *const *extra_env;	    /* tests only: "NAME=value" strings added to the zygote's fixed
				     * environment (sessions see them); NULL-terminated, not owned,
				     * valid until sbx_zygote_stop(); NULL = none */
};

/* Fills |opt| with the defaults (isolation auto, 2 GiB, 128 processes, 128 MiB file size,
 * 64 MiB tmpfs, uid base 200000, log to stderr). zygote_path and state_dir stay NULL. */
void sbx_options_init(struct sbx_options *opt);

struct sbx_zygote;

/*
 * Starts the zygote and waits for its hello (it preloads numpy, pandas, matplotlib: about a
 * second). On success *out owns the zygote. Thread-safe afterwards: every function taking a
 * struct sbx_zygote may be called from any thread.
 */
int sbx_zygote_start(const struct sbx_options *opt, struct sbx_zygote **out, struct sp_err *err);

/* Stops the zygote (and with it every session process still alive), removes everything the
 * sandbox created (its directory in state_dir; in degraded mode the host's /mnt/data symlink if
 * this zygote made it) and frees |z|. NULL ok. */
void sbx_zygote_stop(struct sbx_zygote *z);

/*
 * Supervision: a thread started by sbx_zygote_start() sees the zygote die at once (its pidfd),
 * logs it on log_fd, kills every session interpreter it forked (the sessions themselves stay:
 * their next exec reports CRASHED, "signal SIGKILL, the sandbox's zygote process died", and
 * gets a fresh interpreter) and starts a new zygote, again and again with a doubling pause
 * (0.1 s up to 5 s) until one says hello with the same isolation mode. Meanwhile
 * sbx_session_spawn() fails at once with -EAGAIN, and an existing session's restart waits for
 * the zygote up to 60 s, then fails with -EAGAIN.
 */
struct sbx_zygote_health {
	bool up;	    /* false from the death until the restarted zygote said hello */
	unsigned restarts;  /* successful restarts since sbx_zygote_start() */
	int64_t down_ms;    /* while down: for how long */
	char last_exit[96]; /* how the last zygote that died ended ("signal SIGKILL"), or "" */
};
void sbx_zygote_health(struct sbx_zygote *z, struct sbx_zygote_health *out);

/* The isolation mode in force (never AUTO), and, for DEGRADED, why (static string or NULL). */
enum sbx_isolation sbx_zygote_isolation(const struct sbx_zygote *z);
const char *sbx_zygote_isolation_reason(const struct sbx_zygote *z);

/*
 * The session control groups in force, one line: "v1 (memory 2176 MiB, pids 128)", or
 * "off (why)". Borrowed. With cgroups, a session's processes together (and its files on tmpfs)
 * stay under memory_bytes + disk_bytes + 2 × tmp_bytes and max_processes; one that runs out of
 * memory is killed whole (its cell ends CRASHED), never another session or the emulator.
 */
const char *sbx_zygote_cgroups(const struct sbx_zygote *z);

/* The sessions' interpreter version, e.g. "3.11.2" (platform.python_version()). Borrowed. */
const char *sbx_zygote_python_version(const struct sbx_zygote *z);

/* The installed distributions as a compact JSON array [{"name":…,"version":…},…], duplicates
 * removed (first on sys.path wins), sorted by name case-insensitively. Borrowed. */
const char *sbx_zygote_packages_json(const struct sbx_zygote *z);

/*
 * The uid that owns files of the session in |slot|, or (uid_t)-1 when sessions run under the
 * emulator's own uid (unprivileged mode, user namespace). The caller creates the session's
 * host directory and every file it writes there (uploads) with this owner, mode 0700 for the
 * directory.
 */
uid_t sbx_zygote_slot_uid(const struct sbx_zygote *z, unsigned slot);

struct sbx_session;

/*
 * Forks a new sandboxed interpreter whose /mnt/data is |host_dir| (an existing directory, owned
 * as sbx_zygote_slot_uid() says) and whose working directory is /mnt/data. |slot| is a number
 * unique among live sessions (it selects the uid in root mode). Blocks until the interpreter is
 * ready. On success *out owns the session.
 */
int sbx_session_spawn(struct sbx_zygote *z, const char *host_dir, unsigned slot,
		      struct sbx_session **out, struct sp_err *err);
/* The same, for an interpreter made ahead of demand (a ready cache): before it says ready it
 * runs one throw-away cell, so that the copy-on-write faults of the first cell are paid now. */
int sbx_session_spawn_warm(struct sbx_zygote *z, const char *host_dir, unsigned slot,
			   struct sbx_session **out, struct sp_err *err);

/* True when the session's interpreter is gone or was forked by a zygote that has died since,
 * or that is found dead now (its next exec would report CRASHED): a ready-made session in that
 * state should be freed and spawned again rather than handed out. */
bool sbx_session_stale(struct sbx_session *s);

/* Kills the session's processes, waits until they are gone, frees |s|. NULL ok. */
void sbx_session_free(struct sbx_session *s);

/*
 * Kills the session for good, from any thread: an exec in progress returns
 * SBX_OUTCOME_CANCELED, later execs return SBX_OUTCOME_CANCELED at once. Idempotent.
 */
void sbx_session_cancel(struct sbx_session *s);

/* The pid (in the emulator's pid namespace) of the session's interpreter, or -1 when none. */
pid_t sbx_session_pid(const struct sbx_session *s);

enum sbx_outcome {
	SBX_OUTCOME_OK,		       /* the cell ran to completion */
	SBX_OUTCOME_EXCEPTION,	       /* uncaught exception; traceback appended to stderr */
	SBX_OUTCOME_TIMEOUT,	       /* interrupted at the deadline, interpreter kept its state */
	SBX_OUTCOME_TIMEOUT_RESTARTED, /* did not stop within the grace period: killed, restarted */
	SBX_OUTCOME_CRASHED,	       /* interpreter died during the cell, or broke the protocol
					* (killed; error_message "killed: the session broke the
					* protocol: …", and one line on stderr): restarted */
	SBX_OUTCOME_CANCELED,	       /* sbx_session_cancel() */
};

enum sbx_value_kind {
	SBX_VALUE_NONE,	 /* no cell value (no trailing expression, `;`, or a call returning None) */
	SBX_VALUE_NULL,	 /* the trailing expression (not a call) evaluated to None */
	SBX_VALUE_JSON,	 /* value: compact JSON (number, array or object, at most 60 deep) that the
			  * emulator parsed and generated itself; number tokens verbatim */
	SBX_VALUE_TEXT,	 /* value: the text/plain representation T, to be sent as a JSON string */
	SBX_VALUE_IMAGE, /* value: base64 (standard alphabet, padded) of the last PNG rendered */
};

/*
 * What a request runs. Python cells and commands share the session: its interpreter's working
 * directory (/mnt/data unless a cell changed it), its environment (os.environ as cells left it),
 * its files, and every limit of its confinement.
 *
 * A command (SHELL or ARGV) runs in a process the interpreter starts for it (posix_spawn), with
 * exactly the interpreter's confinement (uid, namespaces, seccomp filter, rlimits, cgroups, no
 * capabilities, no_new_privs; no network unless egress), stdin /dev/null, stdout and stderr
 * the same pipes as a cell's (same stream_max_chars cut, ill-formed UTF-8 → U+FFFD), every
 * signal at its default, in a new session (setsid). The call returns when that process exits,
 * whatever its children do: background children keep running, confined to the session, and die
 * with it (output they write between calls is discarded, §8.4, and during a later call is part
 * of that call's output, like a cell's background threads); what it orphans is reaped as it
 * ends, so zombies never fill the process limit. At the deadline (timeout_ms, counted
 * from the start of the command) the session kills every process of the command's session
 * (its process group and what left the group but not the session) and answers: outcome
 * SBX_OUTCOME_TIMEOUT, the Python state kept. A session that does not answer within grace_ms
 * is killed and restarted as for a cell (SBX_OUTCOME_TIMEOUT_RESTARTED).
 */
enum sbx_exec_kind {
	SBX_EXEC_PYTHON, /* code: a Python cell; the zero value */
	SBX_EXEC_SHELL,	 /* code: a command line, run as `/bin/sh -c <code>` (argv[0] "sh") */
	SBX_EXEC_ARGV,	 /* argv: a program and its arguments, run directly, no shell */
};

struct sbx_exec_request {
	const char *code; /* PYTHON: UTF-8 source; SHELL: the command line (UTF-8, no NUL byte;
			   * ill-formed bytes are sent as U+FFFD); not owned */
	size_t code_len;
	unsigned timeout_ms;	 /* from the start of user code to SIGINT; 0 = none */
	unsigned grace_ms;	 /* from SIGINT to SIGKILL + restart */
	size_t stream_max_chars; /* each stream is cut to its first N code points */
	const char *label;	 /* names the session in log lines (its identifier); not owned;
				  * NULL: the slot number is used */
	enum sbx_exec_kind kind; /* zero-initialised requests are Python cells */
	const char *const *argv; /* ARGV: NULL-terminated, at least argv[0], the program (looked up
				  * in the session's PATH unless it holds a '/'); UTF-8 strings
				  * (ill-formed bytes → U+FFFD); not owned */
};

struct sbx_exec_result {
	enum sbx_outcome outcome;
	char *stdout_text; /* valid UTF-8 (bad bytes → U+FFFD), at most stream_max_chars code points
			    */
	char *stderr_text; /* same; for EXCEPTION the traceback is already appended; the
			    * emulator's own messages (timeout, restart, cancel) are not */
	size_t stdout_len; /* byte lengths of the two texts: they may contain U+0000 */
	size_t stderr_len;
	enum sbx_value_kind value_kind; /* always NONE for a command */
	char *value;	     /* NULL for NONE and NULL kinds; valid UTF-8, ends at a U+0000 */
	char *error_message; /* EXCEPTION: last line of format_exception_only, e.g.
			      * "ZeroDivisionError: division by zero";
			      * CRASHED: "exit status 1", "signal SIGSEGV", "signal SIGKILL" */
	int64_t exec_ms;     /* wall time of the user code, interruption included */
	int64_t prepare_ms;  /* time spent (re)starting an interpreter during this call */
	int64_t request_ms;  /* from handing the cell over until the reply (or death) was seen */
	int64_t read_ms;     /* reading and converting the reply */
	int exit_code;	     /* commands: OK → the exit status 0-255, 128 + N when signal N ended
			      * the process (shells' convention), 127 when the program was not
			      * found and 126 when it could not be executed (a line on stderr says
			      * why, as a shell would); TIMEOUT → the status of the killed command
			      * (137 = 128 + SIGKILL, unless it ended on its own meanwhile);
			      * -1 otherwise (Python cells, other outcomes, and EXCEPTION, which
			      * for a command means the session's helper failed) */
};

/*
 * Runs one cell or command. Not to be called concurrently on one session (the caller
 * serialises). Returns 0 with *out filled for every outcome of the user code (including
 * timeouts, crashes and cancellation); a negative code only when the sandbox itself failed
 * (e.g. the zygote is gone and no interpreter could be restarted), or -EINVAL for a request
 * that cannot be sent (unknown kind, SHELL without code or with a NUL byte in it, ARGV without
 * argv[0]; nothing ran). Release *out with sbx_exec_result_fini().
 */
int sbx_session_exec(struct sbx_session *s, const struct sbx_exec_request *req,
		     struct sbx_exec_result *out, struct sp_err *err);

void sbx_exec_result_fini(struct sbx_exec_result *r);
