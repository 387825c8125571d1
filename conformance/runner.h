/* SPDX-License-Identifier: MIT */
/*
 * Running one scenario against one live target: templating, requests (request.h),
 * expectations and captures (expect.h), polling, background requests, cleanup steps and the
 * teardown (teardown.h). Every session identifier a request names is remembered, and once the
 * scenario's own cleanup steps have run (always, even after a failure or Ctrl-C) each of those
 * sessions is deleted through the target's teardown routes, so a run leaves nothing behind.
 *
 * Outcomes follow the contract's provenance rule: against an emulator every assertion is
 * binding; against a real pool, assertions on [CHOICE] behaviour (a scenario whose provenance
 * lists CHOICE, or an assertion marked "choice") are only recorded. A divergence:<target> tag
 * turns a failure on that target into an expected one (TAP TODO) and flags an unexpected pass.
 *
 * runner_run() is thread-safe for distinct results; a target may be shared by threads.
 */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "scenario.h"
#include "target.h"

enum res_kind {
	RES_PASS,
	RES_FAIL,	 /* an assertion did not hold */
	RES_ERROR,	 /* the harness broke: transport, missing variable, emulator start */
	RES_SKIP,	 /* not run: tag, capability, filter, interrupted */
	RES_TODO,	 /* failed, as a divergence:<target> tag says it does */
	RES_TODO_PASSED, /* passed although tagged divergence:<target> */
	RES_RECORDED,	 /* [CHOICE] behaviour differs on a real pool: recorded, not failed */
};

struct scn_result {
	enum res_kind kind;
	char *summary; /* one line (skip reason, first failure, error), redacted; may be NULL */
	char *diag;    /* details, one item per line, redacted; may be NULL */
	double seconds;
	bool token_failed; /* an error because the target's token source failed: the run stops */
};

struct run_opts {
	const char *data_dir;	 /* not owned: where "file" and "body_file" are looked up */
	const char *record_dir;	 /* not owned: NULL = no recording */
	long request_timeout_ms; /* default per request; 0 = 120 s */
	const volatile sig_atomic_t *abort_flag; /* not owned: set by Ctrl-C */
};

/*
 * Runs |s| on |t|; |index| makes {{session}} unique within the run. Fills |out| (release with
 * scn_result_fini). Never fails as a function: every problem becomes part of the result.
 */
void runner_run(const struct scn *s, size_t index, struct target *t, const struct run_opts *o,
		struct scn_result *out);

/*
 * Why |s| cannot run on an instance offering what |t|'s spec offers, or NULL: a tag for the
 * other kind of target, a need the target does not offer, or the tag "mcp" (the scenario
 * talks to /mcp with {{mcp_key}}) on a target without an MCP key.
 */
const char *runner_skip_reason(const struct scn *s, const struct target_spec *spec,
			       enum target_kind kind, char *buf, size_t len);

/* True when |s| carries divergence:<name> or divergence:<kind> for this target. */
bool runner_diverges(const struct scn *s, const char *target_name, enum target_kind kind);

void scn_result_fini(struct scn_result *r);

/* "pass", "fail", … */
const char *res_kind_name(enum res_kind k);
