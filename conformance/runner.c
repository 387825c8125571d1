/* SPDX-License-Identifier: MIT */
/*
 * One scenario on one target; see runner.h. This file drives the steps: it sets up the run's
 * variables, runs each step (sent once, polled under "retry", or started in the background and
 * joined later), then the cleanup steps and the teardown, and turns the run into a result.
 * Building and sending requests is request.c, checking responses expect.c, deleting sessions
 * teardown.c; the state they share is struct run (run.h). Hard failures stop the steps (hurl's
 * rule); recorded differences do not, so a run against a real pool captures as much as it can.
 */
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "expect.h"
#include "redact.h"
#include "request.h"
#include "run.h"
#include "teardown.h"

const char *res_kind_name(enum res_kind k)
{
	switch (k) {
	case RES_PASS:
		return "pass";
	case RES_FAIL:
		return "fail";
	case RES_ERROR:
		return "error";
	case RES_SKIP:
		return "skipped";
	case RES_TODO:
		return "todo";
	case RES_TODO_PASSED:
		return "todo-passed";
	case RES_RECORDED:
		return "recorded";
	}
	return "?";
}

void scn_result_fini(struct scn_result *r)
{
	free(r->summary);
	free(r->diag);
	memset(r, 0, sizeof(*r));
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void step_label(char *label, size_t len, const char *phase, size_t idx,
		       const struct scn_step *st, const struct request *b)
{
	snprintf(label, len, "%s[%zu]%s%s%s (%s)", phase, idx, st->name ? " \"" : "",
		 st->name ? st->name : "", st->name ? "\"" : "", b->label);
}

/* A background request: sent by its own thread while the following steps run. */
struct bg {
	const struct scn_step *st;
	struct request b;
	struct http_response resp;
	struct http_client *http;
	pthread_t thread;
	bool started;
	int rc;
	struct sp_err err;
};

static void *bg_main(void *arg)
{
	struct bg *g = arg;
	g->rc = http_client_perform(g->http, &g->b.req, &g->resp, &g->err);
	return NULL;
}

static int bg_start(struct run *r, struct bg *g, const struct scn_step *st, bool cleanup_phase)
{
	int rc = request_build(r, &st->req, &g->b);
	if (rc < 0)
		return rc;
	if (cleanup_phase)
		g->b.req.abort_flag = NULL;
	g->st = st;
	g->http = http_client_new(&r->t->tls);
	if (!g->http || pthread_create(&g->thread, NULL, bg_main, g) != 0) {
		run_error(r, "cannot start a background request");
		return -ENOMEM;
	}
	g->started = true;
	return 0;
}

/* Waits for |g| and records the exchange; returns the request's outcome. */
static int bg_join(struct run *r, struct bg *g, const char *phase)
{
	pthread_join(g->thread, NULL);
	g->started = false;
	request_record(r, &g->b, phase, g->st->name, g->rc == 0 ? &g->resp : NULL,
		       g->rc == 0 ? NULL : g->err.msg);
	return g->rc;
}

static void bg_fini(struct bg *g)
{
	if (g->started) {
		pthread_join(g->thread, NULL);
		g->started = false;
	}
	request_fini(&g->b);
	http_response_fini(&g->resp);
	http_client_free(g->http);
	g->http = NULL;
}

/* A {"join": name} step: waits for the background request and concludes it. */
static int run_join(struct run *r, const struct scn_step *st, const char *phase, struct bg *bgs,
		    bool cleanup_phase)
{
	struct bg *g = &bgs[st->join_index];
	if (!g->started)
		return -EINVAL;
	int rc = bg_join(r, g, phase);
	if (rc < 0 && rc != -ECANCELED)
		run_error(r, "%s", g->err.msg);
	char label[400];
	step_label(label, sizeof(label), phase, st->join_index, g->st, &g->b);
	if (rc == -ECANCELED) {
		run_note(r, "interrupted: %s", label);
		return 1;
	}
	if (rc < 0)
		return rc;
	struct findings f = {0};
	return expect_conclude(r, g->st, label, &g->resp, cleanup_phase, &f);
}

/* A step sent once, or polled until its retry condition holds. */
struct attempt {
	struct request b;
	struct http_response resp;
	struct findings last; /* what did not hold at the last poll: none once it held */
};

/* How many times |st| is sent at most. */
static int attempts_of(const struct scn_step *st)
{
	return st->has_retry ? st->retry.max : 1;
}

static void attempt_fini(struct attempt *a)
{
	findings_fini(&a->last);
	request_fini(&a->b);
	http_response_fini(&a->resp);
}

/* Sends |st|, polling under "retry". Returns 0, 1 when interrupted, <0 on a harness error. */
static int send_step(struct run *r, const struct scn_step *st, size_t idx, const char *phase,
		     char *label, size_t label_len, struct attempt *a)
{
	bool cleanup_phase = strcmp(phase, "step") != 0;
	int attempts = attempts_of(st);
	for (int attempt = 1; attempt <= attempts; attempt++) {
		request_fini(&a->b);
		http_response_fini(&a->resp);
		int rc = request_build(r, &st->req, &a->b);
		if (rc < 0)
			return rc;
		step_label(label, label_len, phase, idx, st, &a->b);
		rc = request_send(r, &a->b, &a->resp, phase, st->name, cleanup_phase);
		if (rc == -ECANCELED) {
			run_note(r, "interrupted: %s", label);
			return 1;
		}
		if (rc < 0 || !st->has_retry)
			return rc;
		findings_fini(&a->last);
		const struct scn_expect *until =
		    st->retry.until.present ? &st->retry.until : &st->expect;
		if ((rc = expect_eval(r, until, &a->resp, &a->last)) < 0)
			return rc;
		if (a->last.n == 0)
			return 0;
		if (attempt < attempts && !run_pause_ms(r, st->retry.interval_ms)) {
			run_note(r, "interrupted while polling: %s", label);
			return 1;
		}
	}
	return 0;
}

/* Polling that never met its condition: a finding for an explicit "until", else a note. */
static void retry_outcome(struct run *r, const struct scn_step *st, const struct attempt *a,
			  const char *label, struct findings *f)
{
	if (!st->has_retry || a->last.n == 0)
		return;
	if (!st->retry.until.present) {
		run_note(r, "note: %s: still failing after %d attempts", label, attempts_of(st));
		return;
	}
	for (size_t i = 0; i < a->last.n; i++)
		expect_find(f, a->last.v[i].choice, "retry", "not met after %d attempts: %s: %s",
			    attempts_of(st), a->last.v[i].where, a->last.v[i].text);
}

/* Runs one step. Returns 0 to go on, 1 to stop (a hard failure or Ctrl-C), <0 on error. */
static int run_step(struct run *r, const struct scn_step *st, size_t idx, const char *phase,
		    struct bg *bgs)
{
	bool cleanup_phase = strcmp(phase, "step") != 0;
	if (st->join)
		return run_join(r, st, phase, bgs, cleanup_phase);
	if (!cleanup_phase && run_aborted(r))
		return 1;
	if (st->delay_ms && !cleanup_phase && !run_pause_ms(r, st->delay_ms))
		return 1;
	if (st->background)
		return bg_start(r, &bgs[idx], st, cleanup_phase);
	char label[400];
	struct attempt a = {0};
	int rc = send_step(r, st, idx, phase, label, sizeof(label), &a);
	if (rc == 0) {
		struct findings f = {0};
		retry_outcome(r, st, &a, label, &f);
		rc = expect_conclude(r, st, label, &a.resp, cleanup_phase, &f);
	}
	attempt_fini(&a);
	return rc;
}

/* Runs a list of steps; background requests still running at the end are waited for. */
static void run_steps(struct run *r, const struct scn_step *steps, size_t n, const char *phase)
{
	bool cleanup_phase = strcmp(phase, "step") != 0;
	struct bg *bgs = calloc(n ? n : 1, sizeof(*bgs));
	if (!bgs) {
		run_error(r, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		/* A cleanup step that cannot run is a warning, not the scenario's error. */
		char *saved = NULL;
		if (cleanup_phase) {
			saved = r->error;
			r->error = NULL;
		}
		int rc = run_step(r, &steps[i], i, phase, bgs);
		if (cleanup_phase) {
			if (r->error)
				run_note(r, "warning: %s[%zu] could not run", phase, i);
			free(r->error);
			r->error = saved;
		} else if (rc != 0) {
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (bgs[i].started)
			bg_join(r, &bgs[i], phase);
		bg_fini(&bgs[i]);
	}
	free(bgs);
}

static bool tag_value(const struct scn *s, const char *prefix, const char *value)
{
	size_t pl = strlen(prefix);
	for (size_t i = 0; i < s->n_tags; i++)
		if (strncmp(s->tags[i], prefix, pl) == 0 && strcmp(s->tags[i] + pl, value) == 0)
			return true;
	return false;
}

bool runner_diverges(const struct scn *s, const char *target_name, enum target_kind kind)
{
	return tag_value(s, "divergence:", target_name) ||
	       tag_value(s, "divergence:", kind == TARGET_EMULATOR ? "emulator" : "real");
}

const char *runner_skip_reason(const struct scn *s, const struct target_spec *spec,
			       enum target_kind kind, char *buf, size_t len)
{
	if (kind == TARGET_REAL && scn_has_tag(s, "emulator-only"))
		return "emulator-only";
	if (kind == TARGET_EMULATOR && scn_has_tag(s, "real-only"))
		return "real-only";
	if (scn_has_tag(s, "mcp") && !target_spec_has_mcp_key(spec))
		return "mcp: no MCP key for this target (--mcp-key, --mcp-key-env or the target "
		       "file's mcp_key)";
	const char *needs[32];
	size_t n = 0;
	for (size_t i = 0; i < s->n_tags && n < 32; i++)
		if (strncmp(s->tags[i], "needs:", 6) == 0)
			needs[n++] = s->tags[i] + 6;
	for (size_t i = 0; i < n; i++) {
		if (!target_cap_known(needs[i])) {
			snprintf(buf, len, "unknown capability needs:%s", needs[i]);
			return buf;
		}
		if (!target_spec_offers(spec, needs, n, needs[i])) {
			snprintf(buf, len, "needs:%s", needs[i]);
			return buf;
		}
	}
	return NULL;
}

/* {{session}} (unique within the run) and identifiers of exactly 4 and 128 characters (§3). */
static int set_session_vars(struct run *r, size_t index)
{
	char session[160];
	const cJSON *run_id = vars_get(r->t->vars, "run_id");
	snprintf(session, sizeof(session), "%s-s%03zu",
		 cJSON_IsString(run_id) ? run_id->valuestring : "spc", index);
	char uuid[37], session4[5], session128[129];
	vars_uuid(uuid);
	snprintf(session4, sizeof(session4), "%.4s", uuid);
	size_t keep = strlen(session) < 127 ? strlen(session) : 127;
	memset(session128, 'x', 128);
	session128[128] = '\0';
	memcpy(session128, session, keep);
	session128[keep] = '-';
	if (vars_set_str(r->vars, "session", session) < 0 ||
	    vars_set_str(r->vars, "session4", session4) < 0 ||
	    vars_set_str(r->vars, "session128", session128) < 0 ||
	    vars_set_str(r->vars, "scenario", r->s->id) < 0)
		return -ENOMEM;
	return 0;
}

/* The scenario's "vars", expanded in order (each may use the ones before it). */
static int set_scenario_vars(struct run *r)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, r->s->vars)
	{
		cleanup_cjson cJSON *val = NULL;
		int rc = run_expand_json(r, v, &val);
		if (rc < 0 || (rc = vars_set(r->vars, v->string, val)) < 0)
			return rc;
	}
	return 0;
}

static char *redacted(char *s)
{
	if (!s)
		return NULL;
	char *out = redact_dup(s, strlen(s), NULL);
	free(s);
	return out;
}

/* The result of a finished run (its diagnostics are taken over). */
static void fill_result(struct run *r, struct scn_result *out)
{
	if (r->error) {
		out->kind = RES_ERROR;
		out->summary = strdup(r->error);
		out->token_failed = r->t->token && token_failed(r->t->token);
	} else if (r->hard) {
		out->kind = RES_FAIL;
		out->summary = r->first_failure ? strdup(r->first_failure) : NULL;
	} else if (run_aborted(r)) {
		out->kind = RES_ERROR;
		out->summary = strdup("interrupted");
	} else if (r->soft) {
		out->kind = RES_RECORDED;
		if (asprintf(&out->summary, "%d [CHOICE] difference(s) recorded", r->soft) < 0)
			out->summary = NULL;
	} else {
		out->kind = RES_PASS;
	}
	if (runner_diverges(r->s, r->t->name, r->t->kind)) {
		if (out->kind == RES_FAIL)
			out->kind = RES_TODO;
		else if (out->kind == RES_PASS)
			out->kind = RES_TODO_PASSED;
	}
	out->summary = redacted(out->summary);
	out->diag = redacted(steal_pointer(&r->diag_buf));
}

void runner_run(const struct scn *s, size_t index, struct target *t, const struct run_opts *o,
		struct scn_result *out)
{
	memset(out, 0, sizeof(*out));
	double start = now_seconds();
	struct run r;
	if (run_init(&r, s, t, o, true) < 0 || set_session_vars(&r, index) < 0) {
		run_error(&r, "out of memory");
	} else {
		if (set_scenario_vars(&r) == 0)
			run_steps(&r, s->steps, s->n_steps, "step");
		run_steps(&r, s->cleanup, s->n_cleanup, "cleanup");
		teardown_delete_tracked(&r);
	}
	run_close_diag(&r);
	fill_result(&r, out);
	out->seconds = now_seconds() - start;
	run_fini(&r);
}
