/* SPDX-License-Identifier: MIT */
/*
 * The pool (pool.c) and its sessions (session.c) over a fake backend and a fake clock: expiry,
 * capacity, the ready cache, queue order, asynchronous executions, cancellation and the races
 * between them, with no processes and no sleeps. The fake's exec of a cell named "block…"
 * waits until the test opens the gate (or the session is canceled), so a test decides exactly
 * what is running when.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "pool.h"
#include "util.h"

struct fake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int spawns, spawns_ahead, frees, cancels, execs_started;
	int fail_spawn; /* the next N spawns fail */
	bool gate_open;
	char order[256]; /* last letter of each cell, in the order exec saw them */
	size_t norder;
	int64_t now;		 /* the clock, ticks */
	struct bk_session *last; /* the last one spawned */
};

struct bk_session {
	struct fake *f;
	unsigned slot;
	bool canceled;
	bool stale;
};

static struct fake F;

static int fake_spawn(void *ctx, unsigned slot, bool ahead, struct bk_session **out,
		      struct sp_err *err)
{
	struct fake *f = ctx;
	pthread_mutex_lock(&f->mu);
	if (f->fail_spawn > 0) {
		f->fail_spawn--;
		pthread_mutex_unlock(&f->mu);
		return sp_err_set(err, -EAGAIN, "the fake zygote is restarting");
	}
	f->spawns++;
	if (ahead)
		f->spawns_ahead++;
	pthread_mutex_unlock(&f->mu);
	struct bk_session *s = calloc(1, sizeof(*s));
	s->f = f;
	s->slot = slot;
	pthread_mutex_lock(&f->mu);
	f->last = s;
	pthread_mutex_unlock(&f->mu);
	*out = s;
	return 0;
}

static char *dup_text(const char *s)
{
	return strdup(s);
}

static int fake_exec(struct bk_session *s, const struct bk_exec_request *req,
		     struct bk_exec_result *out, struct sp_err *err)
{
	(void)err;
	struct fake *f = s->f;
	char code[64];
	snprintf(code, sizeof(code), "%.*s", (int)req->code_len, req->code);
	pthread_mutex_lock(&f->mu);
	f->execs_started++;
	if (f->norder < sizeof(f->order) - 1)
		f->order[f->norder++] = code[strlen(code) - 1];
	pthread_cond_broadcast(&f->cv);
	if (!strncmp(code, "block", 5))
		while (!f->gate_open && !s->canceled)
			pthread_cond_wait(&f->cv, &f->mu);
	bool canceled = s->canceled;
	pthread_mutex_unlock(&f->mu);

	memset(out, 0, sizeof(*out));
	out->stdout_text = dup_text(code);
	out->stdout_len = strlen(code);
	if (canceled) {
		out->outcome = BK_OUTCOME_CANCELED;
	} else if (!strcmp(code, "timeout")) {
		out->outcome = BK_OUTCOME_TIMEOUT;
	} else if (!strcmp(code, "crash")) {
		out->outcome = BK_OUTCOME_CRASHED;
		out->error_message = dup_text("signal SIGKILL");
	} else if (!strcmp(code, "raise")) {
		out->outcome = BK_OUTCOME_EXCEPTION;
		out->error_message = dup_text("ValueError: no");
		out->stderr_text = dup_text("Traceback\nValueError: no\n");
		out->stderr_len = strlen(out->stderr_text);
	} else {
		out->outcome = BK_OUTCOME_OK;
		out->value_kind = BK_VALUE_TEXT;
		out->value = dup_text(code);
	}
	return 0;
}

static void fake_cancel(struct bk_session *s)
{
	pthread_mutex_lock(&s->f->mu);
	s->canceled = true;
	s->f->cancels++;
	pthread_cond_broadcast(&s->f->cv);
	pthread_mutex_unlock(&s->f->mu);
}

static void fake_free(struct bk_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->f->mu);
	s->f->frees++;
	if (s->f->last == s)
		s->f->last = NULL;
	pthread_mutex_unlock(&s->f->mu);
	free(s);
}

static bool fake_stale(struct bk_session *s)
{
	pthread_mutex_lock(&s->f->mu);
	bool stale = s->stale;
	pthread_mutex_unlock(&s->f->mu);
	return stale;
}

static void fake_slot_dir(void *ctx, unsigned slot, char *buf, size_t n)
{
	(void)ctx;
	snprintf(buf, n, "/fake/slots/%u", slot);
}

static uid_t fake_slot_uid(void *ctx, unsigned slot)
{
	(void)ctx;
	return 20000 + slot;
}

static void fake_describe(void *ctx, struct bk_info *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	out->up = true;
	out->isolation = "fake";
}

static const struct backend_ops fake_ops = {
    .spawn = fake_spawn,
    .exec = fake_exec,
    .cancel = fake_cancel,
    .free = fake_free,
    .stale = fake_stale,
    .slot_dir = fake_slot_dir,
    .slot_uid = fake_slot_uid,
    .describe = fake_describe,
};

static int64_t fake_now(void *ctx)
{
	struct fake *f = ctx;
	pthread_mutex_lock(&f->mu);
	int64_t t = f->now;
	pthread_mutex_unlock(&f->mu);
	return t;
}

static void advance_s(int64_t s)
{
	pthread_mutex_lock(&F.mu);
	F.now += s * UTIL_TICKS_PER_SEC;
	pthread_mutex_unlock(&F.mu);
}

static void open_gate(void)
{
	pthread_mutex_lock(&F.mu);
	F.gate_open = true;
	pthread_cond_broadcast(&F.cv);
	pthread_mutex_unlock(&F.mu);
}

/* Waits (condition variable, no sleep) until |n| executions have started. */
static void wait_started(int n)
{
	pthread_mutex_lock(&F.mu);
	while (F.execs_started < n)
		pthread_cond_wait(&F.cv, &F.mu);
	pthread_mutex_unlock(&F.mu);
}

static int get(int *field)
{
	pthread_mutex_lock(&F.mu);
	int v = *field;
	pthread_mutex_unlock(&F.mu);
	return v;
}

static struct pool *new_pool(uint64_t cooldown, uint64_t max, size_t ready, size_t records)
{
	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.mu, NULL);
	pthread_cond_init(&F.cv, NULL);
	F.now = 1000 * UTIL_TICKS_PER_SEC;
	struct pool_options o = {.cooldown_s = cooldown,
				 .max_sessions = max,
				 .ready_target = ready,
				 .records_max = records,
				 .grace_s = 1};
	struct backend bk = {&fake_ops, &F};
	struct pool_clock clk = {fake_now, &F};
	struct pool *p = NULL;
	struct sp_err err = {0};
	cr_assert_eq(pool_new(&o, &bk, &clk, &p, &err), 0);
	return p;
}

static struct pool_entry *acquire(struct pool *p, const char *id)
{
	struct pool_entry *e = NULL;
	struct sp_err err = {0};
	cr_assert_eq(pool_acquire(p, id, true, &e, NULL, &err), 0, "%s", err.msg);
	return e;
}

/* Runs |code| on |id| (acquire, execute, release) and returns the view. */
static struct exec_view run(struct pool *p, const char *id, const char *code, bool async)
{
	struct pool_entry *e = acquire(p, id);
	struct exec_params prm = {.code = code,
				  .code_len = strlen(code),
				  .async = async,
				  .timeout_s = 7,
				  .stream_max = 100};
	struct exec_view v = {0};
	struct sp_err err = {0};
	cr_assert_eq(session_exec(entry_session(e), &prm, &v, &err), 0);
	pool_release(p, e);
	return v;
}

static int status_of(struct pool *p, const char *id, const char *exec_id, struct exec_view *v)
{
	struct pool_entry *e;
	struct sp_err err = {0};
	int r = pool_acquire(p, id, false, &e, NULL, &err);
	if (r < 0)
		return r;
	r = session_exec_get(entry_session(e), exec_id, strlen(exec_id), v);
	pool_release(p, e);
	return r;
}

Test(pool, expires_after_the_cooldown_only_when_idle)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct pool_entry *e = acquire(p, "a");
	advance_s(61);
	pool_reap(p); /* a request in progress: never expires under its caller */
	struct session_info info;
	cr_assert_eq(pool_live_count(p), 1);
	pool_release(p, e); /* lastAccessedAt = now */
	advance_s(59);
	pool_reap(p);
	cr_assert_eq(pool_info(p, "a", &info), 0);
	cr_assert_eq(info.expire - info.last_accessed, 60 * UTIL_TICKS_PER_SEC);
	advance_s(1);
	cr_assert_eq(pool_info(p, "a", &info), -ENOENT, "expired at exactly the cooldown");
	cr_assert_eq(get(&F.frees), 0, "lazy: nothing destroyed before a reap or a lookup");
	pool_reap(p);
	cr_assert_eq(get(&F.frees), 1);
	cr_assert_eq(pool_live_count(p), 0);
	pool_free(p);
}

Test(pool, an_expired_identifier_gets_a_new_session)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct pool_entry *e = acquire(p, "a");
	char etag[37];
	memcpy(etag, entry_etag(e), sizeof(etag));
	pool_release(p, e);
	advance_s(60);
	e = acquire(p, "a");
	cr_assert_str_neq(entry_etag(e), etag);
	cr_assert_eq(get(&F.frees), 1, "the expired one was destroyed first");
	cr_assert_eq(get(&F.spawns), 2);
	pool_release(p, e);
	cr_assert_eq(pool_delete(p, "a"), 0);
	cr_assert_eq(pool_delete(p, "a"), -ENOENT);
	pool_free(p);
}

Test(pool, capacity_counts_live_sessions_and_expired_ones_make_room)
{
	struct pool *p = new_pool(60, 2, 0, 10);
	pool_release(p, acquire(p, "a"));
	advance_s(30);
	pool_release(p, acquire(p, "b"));
	struct pool_entry *e;
	struct sp_err err = {0};
	cr_assert_eq(pool_acquire(p, "c", true, &e, NULL, &err), -ENOSPC);
	cr_assert_eq(pool_acquire(p, "c", false, &e, NULL, &err), -ENOENT);
	advance_s(31); /* a expires, b does not */
	cr_assert_eq(pool_acquire(p, "c", true, &e, NULL, &err), 0);
	pool_release(p, e);
	cr_assert_eq(pool_info(p, "a", &(struct session_info){0}), -ENOENT);
	cr_assert_eq(pool_info(p, "b", &(struct session_info){0}), 0);
	pool_free(p);
}

Test(pool, slots_are_reused_and_give_the_directory_and_owner)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct pool_entry *a = acquire(p, "a");
	struct pool_entry *b = acquire(p, "b");
	cr_assert_str_eq(entry_dir(a), "/fake/slots/0");
	cr_assert_str_eq(entry_dir(b), "/fake/slots/1");
	cr_assert_eq(entry_uid(b), 20001);
	pool_release(p, a);
	pool_release(p, b);
	cr_assert_eq(pool_delete(p, "a"), 0);
	struct pool_entry *c = acquire(p, "c");
	cr_assert_str_eq(entry_dir(c), "/fake/slots/0");
	pool_release(p, c);
	pool_free(p);
	cr_assert_eq(F.spawns, F.frees, "every interpreter freed at shutdown");
}

Test(pool, a_failed_spawn_leaves_nothing_behind)
{
	struct pool *p = new_pool(60, 1, 0, 10);
	F.fail_spawn = 1;
	struct pool_entry *e;
	struct sp_err err = {0};
	cr_assert_eq(pool_acquire(p, "a", true, &e, NULL, &err), -EAGAIN);
	cr_assert_str_eq(err.msg, "the fake zygote is restarting");
	cr_assert_eq(pool_live_count(p), 0);
	e = acquire(p, "a"); /* capacity 1: the failed one took no room, and slot 0 is free */
	cr_assert_str_eq(entry_dir(e), "/fake/slots/0");
	pool_release(p, e);
	pool_free(p);
}

Test(pool, listing_is_ordered_by_creation_and_paged)
{
	struct pool *p = new_pool(600, 10, 0, 10);
	const char *ids[] = {"m", "c", "x", "a"};
	for (size_t i = 0; i < 4; i++) {
		pool_release(p, acquire(p, ids[i]));
		advance_s(1);
	}
	struct session_info *v;
	size_t n;
	bool more;
	cr_assert_eq(pool_list(p, 1, 2, &v, &n, &more), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].identifier, "c");
	cr_assert_str_eq(v[1].identifier, "x");
	cr_assert(more);
	free(v);
	cr_assert_eq(pool_list(p, 3, 2, &v, &n, &more), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].identifier, "a");
	cr_assert_not(more);
	free(v);
	pool_free(p);
}

Test(ready, new_sessions_take_interpreters_spawned_ahead)
{
	struct pool *p = new_pool(60, 10, 2, 10);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(pool_ready_count(p), 2);
	cr_assert_eq(F.spawns_ahead, 2);
	struct pool_entry *e = acquire(p, "a");
	cr_assert_eq(get(&F.spawns), 2, "no spawn on the request path");
	cr_assert_eq(pool_ready_count(p), 1);
	cr_assert_str_eq(entry_dir(e), "/fake/slots/1",
			 "the newest ready one: its slot, its directory");
	pool_release(p, e);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(F.spawns_ahead, 3);
	pool_free(p);
	cr_assert_eq(F.spawns, F.frees);
}

Test(ready, a_dead_ready_interpreter_is_never_handed_out)
{
	struct pool *p = new_pool(60, 10, 1, 10);
	cr_assert_eq(pool_fill(p), 0);
	/* Its zygote died since: the next session spawns fresh instead of starting with a crash. */
	pthread_mutex_lock(&F.mu);
	F.last->stale = true;
	pthread_mutex_unlock(&F.mu);
	struct pool_entry *e = acquire(p, "a");
	cr_assert_eq(get(&F.spawns), 2);
	cr_assert_eq(get(&F.frees), 1, "the dead one was freed");
	cr_assert_eq(F.spawns_ahead, 1, "the fresh one was spawned on demand");
	pool_release(p, e);
	/* A refill also drops a dead cached interpreter first. */
	cr_assert_eq(pool_fill(p), 0);
	pthread_mutex_lock(&F.mu);
	F.last->stale = true;
	pthread_mutex_unlock(&F.mu);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(get(&F.frees), 2);
	cr_assert_eq(pool_ready_count(p), 1);
	pool_free(p);
	cr_assert_eq(F.spawns, F.frees);
}

Test(session, executions_run_in_arrival_order)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct exec_view a = run(p, "s", "block-a", true);
	wait_started(1); /* a runs (blocked in the backend) */
	struct exec_view b = run(p, "s", "b", true);
	struct exec_view c = run(p, "s", "c", true);
	cr_assert_eq(a.status, EXEC_RUNNING);
	cr_assert_eq(c.status, EXEC_RUNNING);
	cr_assert_eq(get(&F.execs_started), 1, "b and c wait for a");
	open_gate();
	struct exec_view d = run(p, "s", "d", false); /* synchronous: after a, b and c */
	cr_assert_eq(d.status, EXEC_SUCCEEDED);
	cr_assert_str_eq(F.order, "abcd");
	struct exec_view got = {0};
	cr_assert_eq(status_of(p, "s", c.id, &got), 0);
	cr_assert_eq(got.status, EXEC_SUCCEEDED);
	cr_assert_str_eq(got.value, "c");
	exec_view_fini(&got);
	exec_view_fini(&a);
	exec_view_fini(&b);
	exec_view_fini(&c);
	exec_view_fini(&d);
	pool_free(p);
}

Test(session, a_queued_asynchronous_execution_keeps_its_session_alive)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct exec_view a = run(p, "s", "block", true);
	wait_started(1);
	advance_s(3600);
	pool_reap(p);
	cr_assert_eq(pool_live_count(p), 1, "a running asynchronous execution is a request");
	open_gate();
	/* A synchronous execution queues behind it: once it returns, the first one is done. */
	struct exec_view after = run(p, "s", "after", false);
	struct exec_view got = {0};
	cr_assert_eq(status_of(p, "s", a.id, &got), 0);
	cr_assert_eq(got.status, EXEC_SUCCEEDED);
	cr_assert_str_eq(F.order, "kr");
	exec_view_fini(&got);
	exec_view_fini(&after);
	exec_view_fini(&a);
	pool_free(p);
}

Test(session, deleting_cancels_the_running_and_the_queued_executions)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct exec_view a = run(p, "s", "block-a", true);
	wait_started(1);
	struct exec_view b = run(p, "s", "b", true);
	cr_assert_eq(pool_delete(p, "s"), 0); /* returns once the running cell is canceled */
	cr_assert_eq(get(&F.cancels), 1);
	cr_assert_eq(get(&F.frees), 1);
	cr_assert_str_eq(F.order, "a", "the queued one never reached the backend");
	struct exec_view v = {0};
	cr_assert_eq(status_of(p, "s", a.id, &v), -ENOENT, "the session and its records are gone");
	exec_view_fini(&a);
	exec_view_fini(&b);
	pool_free(p); /* waits for the worker to drain the canceled job */
}

static void *deleter(void *x)
{
	wait_started(1);
	cr_assert_eq(pool_delete(x, "s"), 0);
	return NULL;
}

Test(session, a_synchronous_execution_canceled_by_delete_says_so)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct pool_entry *e = acquire(p, "s");
	struct exec_params prm = {
	    .code = "block", .code_len = 5, .timeout_s = 7, .stream_max = 100};
	struct exec_view v = {0};
	struct sp_err err = {0};
	pthread_t t;
	/* Delete from another thread once the cell runs. */
	cr_assert_eq(pthread_create(&t, NULL, deleter, p), 0);
	cr_assert_eq(session_exec(entry_session(e), &prm, &v, &err), 0);
	pthread_join(t, NULL);
	pool_release(p, e);
	cr_assert_eq(v.status, EXEC_CANCELED);
	cr_assert_eq(v.error, EXEC_ERR_CANCELED);
	cr_assert_str_eq(exec_error_code(v.error), "ExecutionCanceled");
	cr_assert_str_eq(v.error_message, "Execution canceled: the session was deleted.");
	exec_view_fini(&v);
	pool_free(p);
}

Test(session, outcomes_map_to_the_contract_errors)
{
	struct pool *p = new_pool(60, 10, 0, 10);
	struct exec_view v = run(p, "s", "timeout", false);
	cr_assert_eq(v.status, EXEC_FAILED);
	cr_assert_str_eq(exec_error_code(v.error), "ExecutionTimeout");
	cr_assert_str_eq(v.error_message, "Execution timed out after 7 seconds.");
	cr_assert_str_eq(v.stderr_text, "Execution timed out after 7 seconds.\n");
	cr_assert_eq(v.kind, BK_VALUE_NULL);
	exec_view_fini(&v);
	v = run(p, "s", "crash", false);
	cr_assert_str_eq(exec_error_code(v.error), "InterpreterRestarted");
	cr_assert(strstr(v.error_message, "(signal SIGKILL)"));
	exec_view_fini(&v);
	v = run(p, "s", "raise", false);
	cr_assert_str_eq(exec_error_code(v.error), "ExecutionError");
	cr_assert_str_eq(v.error_message, "ValueError: no");
	cr_assert_str_eq(v.stderr_text, "Traceback\nValueError: no\n");
	exec_view_fini(&v);
	v = run(p, "s", "ok", false);
	cr_assert_eq(v.status, EXEC_SUCCEEDED);
	cr_assert_null(exec_error_code(v.error));
	cr_assert_str_eq(v.stdout_text, "ok");
	exec_view_fini(&v);
	pool_free(p);
}

Test(session, records_are_bounded_and_operation_ids_unique)
{
	struct pool *p = new_pool(60, 10, 0, 2);
	struct pool_entry *e = acquire(p, "s");
	struct exec_params prm = {
	    .code = "x", .code_len = 1, .timeout_s = 7, .stream_max = 100, .operation_id = "op-1"};
	struct exec_view v1 = {0}, v2 = {0}, v3 = {0}, got = {0};
	struct sp_err err = {0};
	cr_assert_eq(session_exec(entry_session(e), &prm, &v1, &err), 0);
	cr_assert_eq(session_exec(entry_session(e), &prm, &v2, &err), 0);
	cr_assert_str_eq(v1.id, "op-1");
	cr_assert_str_neq(v2.id, "op-1", "a repeated operation-id gets a fresh id");
	prm.operation_id = NULL;
	cr_assert_eq(session_exec(entry_session(e), &prm, &v3, &err), 0);
	cr_assert_eq(session_exec_get(entry_session(e), "op-1", 4, &got), -ENOENT,
		     "the oldest of three records went (limit 2)");
	cr_assert_eq(session_exec_get(entry_session(e), v3.id, strlen(v3.id), &got), 0);
	exec_view_fini(&got);
	pool_release(p, e);
	exec_view_fini(&v1);
	exec_view_fini(&v2);
	exec_view_fini(&v3);
	pool_free(p);
}

Test(pool, shutdown_with_asynchronous_work_in_flight_frees_everything)
{
	struct pool *p = new_pool(60, 10, 1, 10);
	cr_assert_eq(pool_fill(p), 0);
	struct exec_view a = run(p, "s", "block", true);
	struct exec_view b = run(p, "t", "block", true);
	wait_started(2);
	struct exec_view c = run(p, "s", "queued", true);
	exec_view_fini(&a);
	exec_view_fini(&b);
	exec_view_fini(&c);
	pool_free(p); /* cancels both, drains the queue, waits for the workers */
	cr_assert_eq(F.spawns, F.frees);
	cr_assert_eq(F.cancels, 2);
}

Test(pool, hundreds_of_sessions_stay_findable_ordered_and_paged)
{
	struct pool *p = new_pool(600, 1000, 0, 10);
	char id[32];
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "s-%03d", 299 - i); /* created in reverse name order */
		pool_release(p, acquire(p, id));
		if (i % 3 == 0)
			advance_s(
			    1); /* groups of three share a createdAt: the identifier decides */
	}
	for (int i = 0; i < 300; i += 2) {
		snprintf(id, sizeof(id), "s-%03d", i);
		cr_assert_eq(pool_delete(p, id), 0, "%s", id);
	}
	cr_assert_eq(pool_live_count(p), 150);
	cr_assert_eq(pool_info(p, "s-001", &(struct session_info){0}), 0);
	cr_assert_eq(pool_info(p, "s-002", &(struct session_info){0}), -ENOENT);
	struct session_info prev = {0};
	size_t seen = 0;
	for (uint64_t skip = 0;; skip += 40) {
		struct session_info *v;
		size_t n;
		bool more;
		cr_assert_eq(pool_list(p, skip, 40, &v, &n, &more), 0);
		for (size_t i = 0; i < n; i++, seen++) {
			if (seen)
				cr_assert(prev.created < v[i].created ||
					      (prev.created == v[i].created &&
					       strcmp(prev.identifier, v[i].identifier) < 0),
					  "%s after %s", v[i].identifier, prev.identifier);
			prev = v[i];
		}
		free(v);
		if (!more)
			break;
	}
	cr_assert_eq(seen, 150);
	pool_free(p);
}

Test(ready, demand_raises_the_target_and_quiet_lowers_it)
{
	struct pool *p = new_pool(600, 100, 2, 10);
	cr_assert_eq(pool_fill(p), 0);
	pool_release(p, acquire(p, "a"));
	pool_release(p, acquire(p, "b"));
	cr_assert_eq(pool_ready_target(p), 2, "no miss yet");
	pool_release(p, acquire(p, "c")); /* the cache is empty: a miss */
	cr_assert_eq(pool_ready_target(p), 4);
	pool_release(p, acquire(p, "d"));
	cr_assert_eq(pool_ready_target(p), 8, "a burst doubles it, up to 4 × 2");
	pool_release(p, acquire(p, "e"));
	cr_assert_eq(pool_ready_target(p), 8);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(pool_ready_count(p), 8);
	advance_s(9);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(pool_ready_target(p), 8, "not quiet long enough");
	advance_s(1);
	cr_assert_eq(pool_fill(p), 0);
	cr_assert_eq(pool_ready_target(p), 7);
	cr_assert_eq(pool_ready_count(p), 7, "the excess interpreter is freed");
	for (int i = 0; i < 10; i++) {
		advance_s(10);
		pool_fill(p);
	}
	cr_assert_eq(pool_ready_target(p), 2, "back to the configured size, never below");
	cr_assert_eq(pool_ready_count(p), 2);
	pool_free(p);
	cr_assert_eq(F.spawns, F.frees);
}
