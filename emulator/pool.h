/* SPDX-License-Identifier: MIT */
/*
 * The session pool (contract §4): identifier → session table, implicit creation, capacity,
 * expiry (lazy on lookup and by a reaper thread, against an injectable clock), deletion,
 * listing, and the ready cache of interpreters spawned ahead of demand. Each table entry owns
 * one session (session.h), which runs its executions; both reach the sandbox only through a
 * backend (backend.h).
 *
 * Life cycle: pool_new(); pool_start() for the reaper and ready-cache threads (unit tests
 * skip it and call pool_reap()/pool_fill() themselves); then any thread may call the rest;
 * pool_free() at shutdown destroys every session (processes and directories).
 *
 * An entry returned by pool_acquire() stays valid, and counts as "a request in progress" (so
 * it never expires under the caller), until pool_release().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"
#include "err.h"
#include "session.h"

struct pool;
struct pool_entry;

struct pool_options {
	uint64_t cooldown_s;   /* idle seconds before a session expires */
	uint64_t max_sessions; /* live sessions at once */
	size_t ready_target;   /* interpreters kept spawned ahead of demand */
	size_t records_max;    /* finished execution records kept per session */
	unsigned grace_s;      /* a timed-out cell's time to stop before a kill */
	/* Called (without the pool's lock) each time a session is created, with its identifier,
	 * whatever the route: the MCP server forgets its reservation of that id. May be NULL. */
	void (*on_create)(const char *identifier);
};

/* The pool's wall clock, in 100-ns ticks since the epoch (util_now_ticks() when NULL). */
struct pool_clock {
	int64_t (*now_ticks)(void *ctx);
	void *ctx;
};

/* |bk| and |clock| (NULL: the real one) are copied; what they point to is borrowed until
 * pool_free(). */
int pool_new(const struct pool_options *o, const struct backend *bk, const struct pool_clock *clock,
	     struct pool **out, struct sp_err *err);
/* Starts the reaper thread (pool_reap() four times a second) and, with a ready target, the
 * thread that keeps the ready cache full (pool_fill()). */
int pool_start(struct pool *p, struct sp_err *err);
/* Destroys every expired session now (what the reaper does). */
void pool_reap(struct pool *p);
/* Spawns ready interpreters until the cache holds its target, or one spawn failed (then
 * -errno). What the ready-cache threads do when woken. */
int pool_fill(struct pool *p);
/* Interpreters in the ready cache now. */
size_t pool_ready_count(struct pool *p);
/* The ready cache's current target: the configured ready_target, raised (doubled, up to 4×
 * and at most 64) when a creation finds the cache empty, lowered by one after each 10 quiet
 * seconds (pool_fill() and the fillers apply the decay and free the excess). */
size_t pool_ready_target(struct pool *p);
/*
 * Refuses new sessions and destroys every live one (running cells end as canceled). The pool
 * stays valid for requests still finishing until pool_free().
 */
void pool_shutdown(struct pool *p);
/* pool_shutdown(), then waits for asynchronous jobs, stops the threads and frees |p|. NULL ok. */
void pool_free(struct pool *p);

/*
 * A data operation on |id| (valid per identifier_valid): returns the live session's entry,
 * creating it when absent or expired if |create| (an expired one is destroyed first). Marks a
 * request in progress and sets lastAccessedAt. *prepare_ms (optional) gets the time spent
 * creating. Returns 0, -ENOENT (absent and !create), -ENOSPC (capacity reached), or another
 * negative code with |err| filled when a session could not be started.
 */
int pool_acquire(struct pool *p, const char *id, bool create, struct pool_entry **out,
		 int64_t *prepare_ms, struct sp_err *err);
/* Ends the request: sets lastAccessedAt again and drops the reference. */
void pool_release(struct pool *p, struct pool_entry *e);

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
/* What the backend reports about itself (health, isolation, runtime). */
void pool_describe(struct pool *p, struct bk_info *out);

/* Accessors, valid while the entry is acquired. */
struct session *entry_session(const struct pool_entry *e);
const char *entry_identifier(const struct pool_entry *e);
const char *entry_etag(const struct pool_entry *e);
/* Host path of the session's /mnt/data (an existing directory). */
const char *entry_dir(const struct pool_entry *e);
/* Owner (uid, and gid of the same number) for files the emulator writes there, or (uid_t)-1
 * to keep the emulator's. */
uid_t entry_uid(const struct pool_entry *e);
