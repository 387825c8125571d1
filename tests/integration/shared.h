/* SPDX-License-Identifier: MIT */
/*
 * One emulator shared by every test of a binary: started by Criterion's PRE_ALL hook in the
 * runner process (test processes are forked afterwards and inherit its URL through the
 * environment), stopped by POST_ALL. Tests use identifiers unique to themselves.
 * Include this header from exactly one .c file per test binary, after defining
 * SHARED_EMULATOR_ARGS (a NULL-terminated initializer list of extra flags) if needed.
 */
#pragma once

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef SHARED_EMULATOR_ARGS
#define SHARED_EMULATOR_ARGS NULL
#endif

static struct emu shared_emu_owner;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	static const char *const args[] = {SHARED_EMULATOR_ARGS, NULL};
	if (emu_start(&shared_emu_owner, args, 120) == 0) {
		setenv("SP_SHARED_BASE", shared_emu_owner.base_url, 1);
		setenv("SP_SHARED_DATA", shared_emu_owner.data_dir, 1);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	emu_stop(&shared_emu_owner);
}

/* The shared emulator as seen from a test process. */
static inline struct emu shared_emu(void)
{
	struct emu e;
	memset(&e, 0, sizeof(e));
	e.pid = -1;
	const char *base = getenv("SP_SHARED_BASE");
	const char *data = getenv("SP_SHARED_DATA");
	cr_assert(base, "the shared emulator did not start (run with SESSIONPOOL_TEST_LOG=1)");
	snprintf(e.base_url, sizeof(e.base_url), "%s", base);
	snprintf(e.data_dir, sizeof(e.data_dir), "%s", data ? data : "");
	return e;
}
