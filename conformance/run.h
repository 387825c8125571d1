/* SPDX-License-Identifier: MIT */
/*
 * The state of one scenario while it runs, shared by the runner's modules (runner.c drives the
 * steps, request.c builds and sends, expect.c checks and captures, teardown.c deletes what the
 * run created). Internal to the runner: suite.c and main.c only see runner.h.
 *
 * A struct run is owned by the thread running the scenario (a background request's thread
 * never touches it); run_init()/run_fini() bracket it. Diagnostics are one item per line in
 * |diag|; the first harness problem is |error|, hard failures count in |hard|, recorded
 * [CHOICE] differences in |soft|.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "http_client.h"
#include "runner.h"
#include "scenario.h"
#include "target.h"
#include "vars.h"

/* The session identifiers a run used, in first-use order, without duplicates. */
struct tracked {
	char **ids;
	size_t n;
};

struct run {
	const struct scn *s;	  /* not owned */
	struct target *t;	  /* not owned */
	const struct run_opts *o; /* not owned */
	struct vars *vars;	  /* the scenario scope; NULL for a sweep */
	struct http_client *http;
	FILE *diag; /* memstream over diag_buf; NULL when closed */
	char *diag_buf;
	size_t diag_len;
	char *first_failure;
	int hard;
	int soft;
	char *error;
	struct tracked sessions;
	unsigned seq; /* exchanges recorded so far */
};

/*
 * Prepares |r| for |s| on |t|: opens the diagnostics stream and, when |with_vars|, a variable
 * scope below the target's; always creates an HTTP client. Returns 0 or -ENOMEM (|r| is
 * then still safe to pass to run_fini).
 */
int run_init(struct run *r, const struct scn *s, struct target *t, const struct run_opts *o,
	     bool with_vars);

/* Closes the diagnostics stream (the text stays in diag_buf). Idempotent. */
void run_close_diag(struct run *r);

/* Frees everything |r| owns, diag_buf included. */
void run_fini(struct run *r);

/* Appends one line to the diagnostics. */
void run_note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Notes "error: …" and keeps the first such message as the run's error. */
void run_error(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a failed check at |where|; |soft| ones are recorded differences ([CHOICE], real). */
void run_failure(struct run *r, bool soft, const char *where, const char *text);

/* True when a failure of an assertion marked |choice| is only recorded on this target. */
bool run_is_soft(const struct run *r, bool choice);

/* True once Ctrl-C was pressed. */
bool run_aborted(const struct run *r);

/* Sleeps |ms|, waking early on Ctrl-C; returns false when interrupted. */
bool run_pause_ms(const struct run *r, long ms);

/* vars_expand/vars_expand_json in the run's scope; a failure becomes the run's error. */
int run_expand(struct run *r, const char *tmpl, char **out);
int run_expand_json(struct run *r, const cJSON *in, cJSON **out);
