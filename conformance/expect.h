/* SPDX-License-Identifier: MIT */
/*
 * Expectations and captures: checking a response against a step's "expect" (status, headers,
 * JSON assertions, body checks) and binding its "capture" variables. Checks do not fail the
 * run by themselves: each one that does not hold becomes a finding, and expect_conclude()
 * decides what the findings mean (a failure, a recorded [CHOICE] difference, or a warning in
 * the cleanup phase), so polling can evaluate an expectation without judging it.
 *
 * A struct findings starts zeroed and is released with findings_fini(). The response is
 * untrusted: bodies are parsed with the size and depth bounds of spjson.h.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_client.h"
#include "scenario.h"
#include "spjson.h"

struct run;

/* A check that did not hold. */
struct finding {
	bool choice; /* the assertion is marked [CHOICE] */
	char *where; /* "status", "header X", "$.a.b", "body", "capture v", … */
	char *text;
};

struct findings {
	struct finding *v;
	size_t n;
};

void findings_fini(struct findings *f);

/* Adds a finding (dropped silently when memory runs out). */
void expect_find(struct findings *f, bool choice, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The response body as JSON (caller deletes), or NULL; |why| (may be NULL) tells why not.
 * Bounded in size (what the client keeps) and in document depth before cJSON sees it.
 */
cJSON *expect_body_json(const struct http_response *resp, enum sp_json_why *why);

/*
 * Evaluates |e| on |resp| in |r|'s variable scope, adding what does not hold to |f|. Returns 0,
 * or a negative code on a harness error (a template that does not expand: the run's error).
 */
int expect_eval(struct run *r, const struct scn_expect *e, const struct http_response *resp,
		struct findings *f);

/*
 * Applies step |st|'s expect and captures to |resp|, on top of the findings already in |f|
 * (taken over and released). Outside the cleanup phase, findings become failures of the run
 * labelled |label| and the return is 1 when a hard failure happened, else 0; in the cleanup
 * phase they are only noted as warnings and the return is 0. <0 on a harness error.
 */
int expect_conclude(struct run *r, const struct scn_step *st, const char *label,
		    const struct http_response *resp, bool cleanup_phase, struct findings *f);
