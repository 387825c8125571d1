/* SPDX-License-Identifier: MIT */
/*
 * The session pool (contract §4): identifier → session table, implicit creation, capacity,
 * expiry (lazy on lookup and by a reaper thread), deletion, listing, and each session's
 * ordered executions with their records (§6.2, §8.6–§8.8).
 *
 * Life cycle: pool_new() after the zygote started; pool_start_reaper(); then any thread may
 * call the rest; pool_free() at shutdown destroys every session (processes and directories).
 *
 * A struct session returned by pool_acquire() stays valid, and counts as "a request in
 * progress" (so it never expires under the caller), until pool_release().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"
#include "sandbox.h"

struct pool;
struct session;

/* |fs| (datafs.h) makes and removes the sessions' directories; borrowed until pool_free(). */
struct datafs;
int pool_new(const struct config *cfg, struct sbx_zygote *z, const struct datafs *fs,
	     struct pool **out, struct sp_err *err);
/* Starts the reaper thread (destroys expired sessions at least once per second). */
int pool_start_reaper(struct pool *p, struct sp_err *err);
/*
 * Refuses new sessions and destroys every live one (running cells end as canceled). The pool
 * stays valid for requests still finishing until pool_free().
 */
void pool_shutdown(struct pool *p);
/* pool_shutdown(), then waits for asynchronous jobs, stops the reaper and frees |p|. NULL ok. */
void pool_free(struct pool *p);

/*
 * A data operation on |id| (valid per identifier_valid): returns the live session, creating
 * it when absent or expired if |create| (an expired one is destroyed first). Marks a request
 * in progress and sets lastAccessedAt. *prepare_ms (optional) gets the time spent creating.
 * Returns 0, -ENOENT (absent and !create), -ENOSPC (capacity reached), or another negative
 * code with |err| filled when a session could not be started.
 */
int pool_acquire(struct pool *p, const char *id, bool create, struct session **out,
		 int64_t *prepare_ms, struct sp_err *err);
/* Ends the request: sets lastAccessedAt again and drops the reference. */
void pool_release(struct pool *p, struct session *s);

struct session_info {
	char identifier[129];
	char etag[37];
	int64_t created;       /* ticks (util_now_ticks) */
	int64_t last_accessed; /* ticks */
	int64_t expire;	       /* ticks */
};

/* Non-data lookup (never creates, never touches): 0 or -ENOENT. */
int pool_info(struct pool *p, const char *id, struct session_info *out);
/* Destroys the session now (processes, files, records; running executions are canceled).
 * 0 or -ENOENT. */
int pool_delete(struct pool *p, const char *id);
/*
 * Live sessions ordered by createdAt then identifier: up to |limit| starting at |skip|, in a
 * new array *out (free()), *n entries, *more when sessions follow. 0 or -ENOMEM.
 */
int pool_list(struct pool *p, uint64_t skip, size_t limit, struct session_info **out, size_t *n,
	      bool *more);
/* Number of live (non-expired) sessions. */
size_t pool_live_count(struct pool *p);

/* Accessors, valid while the session is acquired. */
const char *session_identifier(const struct session *s);
const char *session_etag(const struct session *s);
/* Host path of the session's /mnt/data (an existing directory: <data_dir>/slots/<slot>, a tmpfs
 * of the quota's size when datafs has one). */
const char *session_dir(const struct session *s);
/* Owner (uid, and gid of the same number) for files the emulator writes there, or (uid_t)-1
 * to keep the emulator's. */
uid_t session_uid(const struct session *s);

/* ---- executions ---- */

enum exec_status { EXEC_RUNNING, EXEC_SUCCEEDED, EXEC_FAILED, EXEC_CANCELED };
enum exec_error {
	EXEC_ERR_NONE,
	EXEC_ERR_EXECUTION, /* ExecutionError */
	EXEC_ERR_TIMEOUT,   /* ExecutionTimeout */
	EXEC_ERR_RESTARTED, /* InterpreterRestarted */
	EXEC_ERR_CANCELED,  /* ExecutionCanceled */
};

struct exec_params {
	const char *code; /* not owned (copied for asynchronous executions) */
	size_t code_len;
	bool async;
	unsigned timeout_s;
	size_t stream_max;
	const char *operation_id; /* requested id (already validated) or NULL */
};

/* A snapshot of one execution record, owned by the caller (exec_view_fini). */
struct exec_view {
	char id[129];
	bool async;
	enum exec_status status;
	enum exec_error error;
	char *error_message;
	char *stdout_text; /* NUL-terminated, but may also contain U+0000: use the lengths */
	char *stderr_text;
	size_t stdout_len;
	size_t stderr_len;
	enum sbx_value_kind kind;
	char *value;
	int64_t exec_ms;
	int64_t prepare_ms; /* restart time inside the execution */
	int64_t request_ms;
	int64_t read_ms;
};
void exec_view_fini(struct exec_view *v);

/*
 * Runs a cell on an acquired session in arrival order and waits for it (synchronous), or
 * records and queues it and returns at once with status RUNNING (asynchronous; the session is
 * held until it ends). Either way the execution is recorded for session_exec_get().
 * Returns 0, or a negative code when the sandbox itself failed (|err| filled).
 */
int session_exec(struct pool *p, struct session *s, const struct exec_params *prm,
		 struct exec_view *out, struct sp_err *err);

/* The record |id| of the session: 0 or -ENOENT. */
int session_exec_get(struct session *s, const char *id, size_t id_len, struct exec_view *out);

/* Canonical error code string ("ExecutionError", …) or NULL for EXEC_ERR_NONE. */
const char *exec_error_code(enum exec_error e);
