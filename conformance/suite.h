/* SPDX-License-Identifier: MIT */
/*
 * A suite: the scenario files a run loads, and the scheduling of (scenario × target) runs.
 *
 * Loading walks every path given (files and directories, recursively, *.json only) and
 * parses every file; identifiers are paths relative to the nearest directory named
 * "scenarios" (else to the directory given), without ".json", e.g. "auth/001-missing-token".
 *
 * Running opens every target's default instance, then runs the scenarios on a pool of worker
 * threads. Scenarios that need capabilities the default emulator instance lacks, or exclusive
 * ones, run one after another on an instance of their own, started with the flags those
 * capabilities call for. Against a URL target, scenarios needing exclusive capabilities run
 * alone (no other scenario of that target in flight). Results are reported in order as they
 * complete (TAP on the given stream).
 *
 * Life cycle: suite_load() → suite_filter() → suite_run() → suite_fini().
 */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "runner.h"
#include "scenario.h"
#include "target.h"

struct suite_entry {
	char *id;
	char *file;
	struct scn *scn;   /* NULL when the file failed to parse */
	char *parse_error; /* one line: "file: key: reason" */
	bool selected;
};

struct suite {
	struct suite_entry *e;
	size_t n;
	size_t n_parse_errors;
};

/* Loads every scenario under |paths|. Returns 0 (parse errors are in the entries) or a
 * negative code when a path cannot be read at all (message in |err|). */
int suite_load(const char *const *paths, size_t n_paths, struct suite *out, struct sp_err *err);

void suite_fini(struct suite *s);

struct suite_filter {
	const char *const *names; /* fnmatch globs on the id; any matches; none = all */
	size_t n_names;
	const char *const *tags; /* has at least one of them; none = all */
	size_t n_tags;
	const char *const *exclude_tags; /* has none of them */
	size_t n_exclude_tags;
};

/* Marks the entries that pass |f| as selected; returns how many are. Parse errors always are
 * selected when their id passes the name filter. */
size_t suite_filter(struct suite *s, const struct suite_filter *f);

struct suite_opts {
	struct target_spec *specs; /* not owned */
	size_t n_specs;
	int jobs;
	struct run_opts run;
	struct vars *globals;  /* not owned: run_id and friends */
	const char *run_id;    /* not owned */
	bool sweep;	       /* sweep URL targets for leftover {{run_id}} sessions */
	bool verbose;	       /* diagnostics for passing scenarios too */
	const char *keep_logs; /* not owned: directory for emulator logs, or NULL */
	FILE *tap;	       /* not owned */
};

/* Results of a run: |results[t * n + i]| for target t and suite entry i. */
struct suite_results {
	size_t n_targets;
	size_t n_entries;
	char **target_names;
	enum target_kind *target_kinds;
	struct scn_result *results;
	bool *ran; /* entry selected and reported */
	size_t passed, failed, skipped, errors, todo, recorded;
	bool emulator_unclean; /* an emulator instance exited badly */
};

/* Runs the selected entries on every target and prints TAP. Returns 0 or a negative code. */
int suite_run(const struct suite *s, const struct suite_opts *o, struct suite_results *out);

void suite_results_fini(struct suite_results *r);
