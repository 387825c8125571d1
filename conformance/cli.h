/* SPDX-License-Identifier: MIT */
/*
 * The runner's command line, parsed into a struct cli (unit-testable, no side effects beyond
 * reading target files and the MCP key's variable). Target options (--cacert, --insecure,
 * --token*, --mcp-key*, --capability, --emulator-arg, --prefix, --name, --kind) apply to the
 * target named just before them; given before any target, they become defaults for every
 * target named later.
 *
 * Life cycle: cli_parse() fills a caller-allocated struct cli; cli_fini() releases it.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "target.h"

struct cli {
	struct target_spec *specs;
	size_t n_specs;
	char **paths; /* scenario files and directories */
	size_t n_paths;
	char **names; /* --filter globs */
	size_t n_names;
	char **tags; /* --tag */
	size_t n_tags;
	char **exclude_tags; /* --exclude-tag */
	size_t n_exclude_tags;
	bool list;
	int jobs;
	char *junit;
	char *record;
	char *report;
	char *data_dir;
	char *run_id;
	char *keep_logs;
	long request_timeout_ms;
	bool sweep;
	bool verbose;
};

/*
 * Parses argv. Returns 0 to run, 1 when --help or --version was printed to |out|, or -EINVAL
 * with a one-line message in |err| (a usage error: exit code 1).
 */
int cli_parse(int argc, char **argv, struct cli *c, FILE *out, struct sp_err *err);

void cli_fini(struct cli *c);

/* The --help text. */
void cli_usage(FILE *out);
