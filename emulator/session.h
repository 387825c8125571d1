/* SPDX-License-Identifier: MIT */
/*
 * One session's executions (contract §6.2, §8.6–§8.8): the arrival-order queue (FIFO
 * tickets), the one worker thread that drains its asynchronous executions, the records kept
 * for GET executions/{id}, and cancellation when the session is destroyed. It runs code
 * through a backend session (backend.h) and knows nothing of the pool: the pool creates a
 * session around a spawned backend session and destroys it when the session leaves its table.
 *
 * Holding: an asynchronous execution outlives its request, so the session asks its owner to
 * keep it alive through |lease| (hold when a job is queued or a worker starts, release when
 * it ends). The worker's release is its very last touch of the session.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "err.h"

struct session;

struct session_lease {
	void (*hold)(void *ctx);
	void (*release)(void *ctx);
	void *ctx;
};

struct session_limits {
	size_t records_max; /* finished records kept (the newest one always) */
	unsigned grace_s;   /* from the timeout's interrupt to the kill */
	const char *label;  /* the identifier, for log lines; borrowed for the session's life */
};

enum exec_status { EXEC_RUNNING, EXEC_SUCCEEDED, EXEC_FAILED, EXEC_CANCELED };
enum exec_error {
	EXEC_ERR_NONE,
	EXEC_ERR_EXECUTION, /* ExecutionError */
	EXEC_ERR_TIMEOUT,   /* ExecutionTimeout */
	EXEC_ERR_RESTARTED, /* InterpreterRestarted */
	EXEC_ERR_CANCELED,  /* ExecutionCanceled */
};

struct exec_params {
	enum bk_exec_kind kind; /* zero: a Python cell */
	const char *code;	/* not owned (copied for asynchronous executions) */
	size_t code_len;
	const char *const *argv; /* BK_EXEC_ARGV, argv[argc] NULL; not owned (synchronous only) */
	size_t argc;
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
	enum bk_value_kind kind;
	char *value;
	int exit_code; /* shell commands */
	int64_t exec_ms;
	int64_t prepare_ms; /* restart time inside the execution */
	int64_t request_ms;
	int64_t read_ms;
};
void exec_view_fini(struct exec_view *v);

/* A session running on |bks| (consumed, even on failure). NULL when out of memory. */
struct session *session_new(const struct backend *bk, struct bk_session *bks,
			    const struct session_limits *lim, const struct session_lease *lease);

/*
 * Ends the session: cancels the running execution and waits for it, drops queued ones (their
 * records end canceled), frees the records and the backend session (its processes and
 * directory). Executions started later end canceled at once. The memory stays until
 * session_free().
 */
void session_close(struct session *s);

/* Frees |s| (after session_close(), once nobody can reach it). NULL ok. */
void session_free(struct session *s);

/*
 * Runs an execution in arrival order and waits for it (synchronous), or records and queues
 * it and returns at once with status RUNNING (asynchronous). Either way it is recorded for
 * session_exec_get(). Returns 0, or a negative code when the backend itself failed (|err|).
 */
int session_exec(struct session *s, const struct exec_params *prm, struct exec_view *out,
		 struct sp_err *err);

/* The record |id| of the session: 0 or -ENOENT. */
int session_exec_get(struct session *s, const char *id, size_t id_len, struct exec_view *out);
