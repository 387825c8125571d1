/* SPDX-License-Identifier: MIT */
/* What several of the runner's unit tests do the same way. */
#ifndef SP_RUNNER_UNIT_HELPERS_H
#define SP_RUNNER_UNIT_HELPERS_H

#include <stddef.h>

#include "cli.h"
#include "err.h"
#include "target.h"

/* cli_parse of "sessionpool-conformance" and the |n| |args| (at most 30), usage text discarded. */
int u_parse_cli(struct cli *c, const char *const *args, size_t n, struct sp_err *err);

/* |text| written to a temporary file and loaded as a target file into |s| (initialised here). */
int u_load_target_text(const char *text, struct target_spec *s, struct sp_err *err);

#endif
