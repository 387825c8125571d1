/* SPDX-License-Identifier: MIT */
/*
 * Teardown: every session identifier a request of a scenario names is tracked, and once the
 * scenario's own cleanup steps have run, each one is deleted through the target's
 * delete_session routes (tried in order until one answers 200, 204 or 404; see target_api.h).
 * For a shared pool, the end-of-run sweep lists the target's sessions (its list_sessions route,
 * following nextLink) and deletes those whose identifier starts with the run's id.
 *
 * Teardown requests ignore Ctrl-C (they are what Ctrl-C waits for), carry the target's token
 * when it gives one, and are recorded under --record as phase "teardown".
 */
#pragma once

#include <stdio.h>

#include "runner.h"
#include "target.h"

struct run;
struct tracked;

/* Remembers the decoded identifier query parameter of |url|, if any (no duplicates). */
void teardown_track_url(struct tracked *s, const char *url);

/* Remembers |id| (copied; no duplicates). Returns 0 or -ENOMEM. */
int teardown_track_id(struct tracked *s, const char *id);

void teardown_tracked_fini(struct tracked *s);

/* Deletes every session |r| tracked; outcomes are noted in |r|'s diagnostics. */
void teardown_delete_tracked(struct run *r);

/*
 * Deletes every session of |t| whose identifier starts with |run_id|, found through the
 * target's list_sessions route. Returns the number of sessions found (and deletion attempted),
 * 0 when the target has no list route, or a negative code; problems are written to |log| as
 * TAP comments.
 */
int teardown_sweep(struct target *t, const char *run_id, const struct run_opts *o, FILE *log);
