/* SPDX-License-Identifier: MIT */
/*
 * Reports written after a run: JUnit XML (--junit) and the Markdown parity table (--report).
 * JUnit keeps hurl's distinction: <failure> for an assertion that did not hold, <error> for a
 * harness problem (transport, parse, emulator start); skipped, TODO and recorded results are
 * <skipped> with the reason. The parity table has one row per scenario and one column per
 * target: pass, fail, error, recorded, todo, or skipped with the reason.
 * Both only read the suite and its results. Not thread-safe (called once, at the end).
 */
#pragma once

#include "err.h"
#include "suite.h"

/* Writes |path|. Scenarios that failed to parse appear as errors of a "parse" suite. */
int report_junit(const char *path, const struct suite *s, const struct suite_results *r,
		 struct sp_err *err);

/* Writes |path|. |run_id| and the date head the table. */
int report_markdown(const char *path, const struct suite *s, const struct suite_results *r,
		    const char *run_id, struct sp_err *err);
