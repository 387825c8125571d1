/* SPDX-License-Identifier: MIT */
/* Command-line parsing; see cli.h. getopt_long with a closed option table. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "vars.h"

enum {
	OPT_TARGET = 256,
	OPT_EMULATOR,
	/* From here to OPT_READY_TIMEOUT: options of one target (is_target_option()). */
	OPT_EMULATOR_ARG,
	OPT_PREFIX,
	OPT_NAME,
	OPT_KIND,
	OPT_CAPABILITY,
	OPT_CACERT,
	OPT_INSECURE,
	OPT_TOKEN,
	OPT_TOKEN_ENV,
	OPT_TOKEN_COMMAND,
	OPT_MCP_KEY,
	OPT_MCP_KEY_ENV,
	OPT_READY_TIMEOUT,
	OPT_FILTER,
	OPT_TAG,
	OPT_EXCLUDE_TAG,
	OPT_LIST,
	OPT_JUNIT,
	OPT_RECORD,
	OPT_REPORT,
	OPT_DATA_DIR,
	OPT_RUN_ID,
	OPT_KEEP_LOGS,
	OPT_REQUEST_TIMEOUT,
	OPT_NO_SWEEP,
	OPT_VERSION,
};

static const struct option options[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"emulator", required_argument, NULL, OPT_EMULATOR},
    {"emulator-arg", required_argument, NULL, OPT_EMULATOR_ARG},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"name", required_argument, NULL, OPT_NAME},
    {"kind", required_argument, NULL, OPT_KIND},
    {"capability", required_argument, NULL, OPT_CAPABILITY},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"token-env", required_argument, NULL, OPT_TOKEN_ENV},
    {"token-command", required_argument, NULL, OPT_TOKEN_COMMAND},
    {"mcp-key", required_argument, NULL, OPT_MCP_KEY},
    {"mcp-key-env", required_argument, NULL, OPT_MCP_KEY_ENV},
    {"ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"tag", required_argument, NULL, OPT_TAG},
    {"exclude-tag", required_argument, NULL, OPT_EXCLUDE_TAG},
    {"list", no_argument, NULL, OPT_LIST},
    {"jobs", required_argument, NULL, 'j'},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"record", required_argument, NULL, OPT_RECORD},
    {"report", required_argument, NULL, OPT_REPORT},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"run-id", required_argument, NULL, OPT_RUN_ID},
    {"keep-logs", required_argument, NULL, OPT_KEEP_LOGS},
    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
    {"no-sweep", no_argument, NULL, OPT_NO_SWEEP},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void cli_usage(FILE *out)
{
	fputs("Usage: sessionpool-conformance [OPTIONS] [SCENARIO-FILE-OR-DIR...]\n"
	      "\n"
	      "Replays JSON scenarios (default: fixtures/scenarios) against session pools and\n"
	      "reports TAP on stdout. The last line is \"N passed, N failed, N skipped\".\n"
	      "\n"
	      "Targets (repeat for a parity run):\n"
	      "  --target URL|FILE       a pool management endpoint (http or https, with or\n"
	      "                          without /subscriptions/.../sessionPools/POOL), or a\n"
	      "                          target file (fixtures/targets/*.json)\n"
	      "  --emulator PATH         start sessionpool-emulator on an ephemeral port, plus\n"
	      "                          one instance per needs:<capability> set\n"
	      "Target options (after a target: that target; before any: all targets):\n"
	      "  --emulator-arg ARG      extra emulator flag (repeatable)\n"
	      "  --prefix PATH           address the emulator through this path prefix\n"
	      "  --name NAME             target name (columns, divergence:<name> tags)\n"
	      "  --kind emulator|real    whether [CHOICE] assertions bind (emulator) or are\n"
	      "                          recorded (real); default: real for URLs\n"
	      "  --capability NAME       declare a needs:<NAME> capability (repeatable)\n"
	      "  --cacert FILE           trust this CA for https\n"
	      "  --insecure              do not verify the server certificate\n"
	      "  --token TOKEN           bearer token (visible in ps: prefer --token-env)\n"
	      "  --token-env VAR         bearer token from an environment variable\n"
	      "  --token-command CMD     bearer token printed by CMD; re-run near expiry and\n"
	      "                          after a 401\n"
	      "  --mcp-key KEY           x-ms-apikey for /mcp ({{mcp_key}}; visible in ps:\n"
	      "                          prefer --mcp-key-env); mcp scenarios are skipped on\n"
	      "                          a URL target without one (an emulator gets a random\n"
	      "                          key, passed as its --mcp-api-key)\n"
	      "  --mcp-key-env VAR       the MCP key from an environment variable\n"
	      "  --ready-timeout MS      wait this long for an emulator's ready file (60000)\n"
	      "Selection:\n"
	      "  --filter GLOB           scenario ids matching GLOB (repeatable)\n"
	      "  --tag TAG               scenarios carrying TAG (repeatable: any)\n"
	      "  --exclude-tag TAG       leave out scenarios carrying TAG (repeatable)\n"
	      "  --list                  list the selected scenarios and exit\n"
	      "Running and output:\n"
	      "  -j, --jobs N            scenarios in parallel (default 1)\n"
	      "  --junit FILE            JUnit XML (failure vs error kept apart)\n"
	      "  --record DIR            save every request and response (tokens redacted)\n"
	      "  --report FILE           Markdown parity table (scenario x target)\n"
	      "  --data-dir DIR          where multipart files come from (fixtures/data)\n"
	      "  --run-id ID             prefix of every session identifier (random)\n"
	      "  --keep-logs DIR         keep the emulator logs there\n"
	      "  --request-timeout S     per-request timeout in seconds (120)\n"
	      "  --no-sweep              skip the end-of-run sweep of {{run_id}} sessions\n"
	      "  -v, --verbose           diagnostics for passing scenarios too\n"
	      "  -h, --help, --version\n"
	      "\n"
	      "Exit status: 0 all passed, 1 usage, 2 scenario parse error, 3 transport or\n"
	      "harness error, 4 assertion failure, 130 interrupted.\n",
	      out);
}

static int push(char ***list, size_t *n, const char *s)
{
	char **grown = realloc(*list, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*list = grown;
	if (!(grown[*n] = strdup(s)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int replace(char **slot, const char *v)
{
	char *d = strdup(v);
	if (!d)
		return -ENOMEM;
	free(*slot);
	*slot = d;
	return 0;
}

/* Copies the target-scoped defaults |d| into a new spec |s|. */
static int apply_defaults(struct target_spec *s, const struct target_spec *d)
{
	int r = 0;
	if (d->cacert && !s->cacert)
		r = replace(&s->cacert, d->cacert);
	s->insecure = s->insecure || d->insecure;
	if (r == 0 && d->token_kind != TOKEN_NONE && s->token_kind == TOKEN_NONE) {
		s->token_kind = d->token_kind;
		r = replace(&s->token_arg, d->token_arg);
	}
	if (r == 0 && (d->mcp_key || d->mcp_key_env) && !s->mcp_key && !s->mcp_key_env)
		r = d->mcp_key ? replace(&s->mcp_key, d->mcp_key)
			       : replace(&s->mcp_key_env, d->mcp_key_env);
	for (size_t i = 0; r == 0 && i < d->n_caps; i++)
		r = push(&s->caps, &s->n_caps, d->caps[i]);
	if (s->emulator) {
		char **args = NULL;
		size_t n = 0;
		for (size_t i = 0; r == 0 && i < d->n_emu_args; i++)
			r = push(&args, &n, d->emu_args[i]);
		for (size_t i = 0; r == 0 && i < s->n_emu_args; i++)
			r = push(&args, &n, s->emu_args[i]);
		if (r == 0) {
			free_list(s->emu_args, s->n_emu_args);
			s->emu_args = args;
			s->n_emu_args = n;
		} else {
			free_list(args, n);
		}
		if (r == 0 && d->prefix && !s->prefix)
			r = replace(&s->prefix, d->prefix);
	}
	if (r == 0 && d->ready_timeout_ms && !s->ready_timeout_ms)
		s->ready_timeout_ms = d->ready_timeout_ms;
	return r;
}

static int new_spec(struct cli *c, const struct target_spec *defaults, const char *arg,
		    bool emulator, struct sp_err *err)
{
	struct target_spec *grown = realloc(c->specs, (c->n_specs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->specs = grown;
	struct target_spec *s = &c->specs[c->n_specs];
	target_spec_init(s);
	int r;
	struct stat st;
	size_t len = strlen(arg);
	if (emulator) {
		r = replace(&s->emulator, arg);
	} else if (len > 5 && strcmp(arg + len - 5, ".json") == 0 && stat(arg, &st) == 0) {
		r = target_spec_load_file(arg, s, err);
	} else {
		r = replace(&s->url, arg);
	}
	if (r == 0)
		r = apply_defaults(s, defaults);
	if (r < 0) {
		target_spec_fini(s);
		return r;
	}
	c->n_specs++;
	return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* An option that configures the current target (or, before any target, all targets). */
static bool is_target_option(int opt)
{
	return opt >= OPT_EMULATOR_ARG && opt <= OPT_READY_TIMEOUT;
}

static int target_option(struct target_spec *cur, int opt, const char *arg, struct sp_err *err)
{
	long v;
	switch (opt) {
	case OPT_EMULATOR_ARG:
		return push(&cur->emu_args, &cur->n_emu_args, arg);
	case OPT_PREFIX:
		if (arg[0] != '/' || arg[strlen(arg) - 1] == '/')
			return sp_err_set(err, -EINVAL,
					  "--prefix: expected /subscriptions/SUB/resourceGroups/"
					  "RG/sessionPools/POOL (leading /, no trailing /)");
		return replace(&cur->prefix, arg);
	case OPT_NAME:
		if (!arg[0] || strpbrk(arg, " /|"))
			return sp_err_set(err, -EINVAL, "--name: no spaces, '/' or '|'");
		return replace(&cur->name, arg);
	case OPT_KIND: {
		int r = 0;
		if (strcmp(arg, "emulator") && strcmp(arg, "real"))
			r = sp_err_set(err, -EINVAL, "--kind: expected emulator or real");
		cur->kind = strcmp(arg, "emulator") == 0 ? TARGET_EMULATOR : TARGET_REAL;
		cur->kind_set = true;
		return r;
	}
	case OPT_CAPABILITY:
		if (!target_cap_known(arg))
			return sp_err_set(err, -EINVAL, "--capability: unknown capability \"%s\"",
					  arg);
		return push(&cur->caps, &cur->n_caps, arg);
	case OPT_CACERT:
		return replace(&cur->cacert, arg);
	case OPT_INSECURE:
		cur->insecure = true;
		return 0;
	case OPT_TOKEN:
	case OPT_TOKEN_ENV:
	case OPT_TOKEN_COMMAND:
		cur->token_kind = opt == OPT_TOKEN	 ? TOKEN_STATIC
				  : opt == OPT_TOKEN_ENV ? TOKEN_ENV
							 : TOKEN_COMMAND;
		return replace(&cur->token_arg, arg);
	case OPT_MCP_KEY:
	case OPT_MCP_KEY_ENV:
		free(cur->mcp_key);
		free(cur->mcp_key_env);
		cur->mcp_key = cur->mcp_key_env = NULL;
		return replace(opt == OPT_MCP_KEY ? &cur->mcp_key : &cur->mcp_key_env, arg);
	case OPT_READY_TIMEOUT:
		if (parse_long(arg, 1, 600000, &v) < 0)
			return sp_err_set(err, -EINVAL, "--ready-timeout: 1 to 600000 ms");
		cur->ready_timeout_ms = (int)v;
		return 0;
	default:
		return sp_err_set(err, -EINVAL, "unhandled target option %d", opt);
	}
}

/* Options of the run as a whole; returns 1 after --help or --version. */
static int run_option(struct cli *c, int opt, char **argv, FILE *out, struct sp_err *err)
{
	long v;
	switch (opt) {
	case OPT_FILTER:
		return push(&c->names, &c->n_names, optarg);
	case OPT_TAG:
		return push(&c->tags, &c->n_tags, optarg);
	case OPT_EXCLUDE_TAG:
		return push(&c->exclude_tags, &c->n_exclude_tags, optarg);
	case OPT_LIST:
		c->list = true;
		return 0;
	case 'j':
		if (parse_long(optarg, 1, 64, &v) < 0)
			return sp_err_set(err, -EINVAL, "-j: expected 1 to 64");
		c->jobs = (int)v;
		return 0;
	case OPT_JUNIT:
		return replace(&c->junit, optarg);
	case OPT_RECORD:
		return replace(&c->record, optarg);
	case OPT_REPORT:
		return replace(&c->report, optarg);
	case OPT_DATA_DIR:
		return replace(&c->data_dir, optarg);
	case OPT_RUN_ID:
		if (strlen(optarg) < 2 || strlen(optarg) > 40 ||
		    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-_") != strlen(optarg))
			return sp_err_set(err, -EINVAL,
					  "--run-id: 2 to 40 letters, digits, '-' or '_'");
		return replace(&c->run_id, optarg);
	case OPT_KEEP_LOGS:
		return replace(&c->keep_logs, optarg);
	case OPT_REQUEST_TIMEOUT:
		if (parse_long(optarg, 1, 3600, &v) < 0)
			return sp_err_set(err, -EINVAL, "--request-timeout: 1 to 3600 seconds");
		c->request_timeout_ms = v * 1000;
		return 0;
	case OPT_NO_SWEEP:
		c->sweep = false;
		return 0;
	case 'v':
		c->verbose = true;
		return 0;
	case 'h':
		cli_usage(out);
		return 1;
	case OPT_VERSION:
		fprintf(out, "sessionpool-conformance %s\n", SP_VERSION);
		return 1;
	default:
		return sp_err_set(err, -EINVAL, "unknown or incomplete option %s (see --help)",
				  argv[optind - 1]);
	}
}

/* Checks every target and names the unnamed ones of a parity run. */
static int finish_specs(struct cli *c, struct sp_err *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < c->n_specs; i++) {
		r = target_spec_check(&c->specs[i], err);
		if (r == 0 && c->specs[i].prefix && !c->specs[i].emulator)
			r = sp_err_set(err, -EINVAL,
				       "--prefix applies to --emulator targets; put the "
				       "prefix in the URL instead");
		if (r == 0 && !c->specs[i].name && c->n_specs > 1 && i > 0) {
			/* Distinct default names for a parity run. */
			char name[32];
			snprintf(name, sizeof(name), "%s-%zu",
				 c->specs[i].emulator ? "emulator" : "real", i + 1);
			r = replace(&c->specs[i].name, name);
		}
	}
	return r;
}

/* After the options: the paths, the targets' checks and the defaults not given. */
static int finish(struct cli *c, int argc, char **argv, struct sp_err *err)
{
	int r = 0;
	for (int i = optind; r == 0 && i < argc; i++)
		r = push(&c->paths, &c->n_paths, argv[i]);
	if (r == 0 && c->n_paths == 0)
		r = push(&c->paths, &c->n_paths, "fixtures/scenarios");
	if (r == 0 && c->n_specs == 0 && !c->list)
		r = sp_err_set(err, -EINVAL, "no target: give --target URL or --emulator PATH");
	if (r == 0)
		r = finish_specs(c, err);
	if (r == 0 && !c->run_id) {
		char uuid[37];
		vars_uuid(uuid);
		char id[16];
		snprintf(id, sizeof(id), "spc%.8s", uuid);
		r = replace(&c->run_id, id);
	}
	if (r == 0 && !c->data_dir)
		r = replace(&c->data_dir, "fixtures/data");
	return r;
}

int cli_parse(int argc, char **argv, struct cli *c, FILE *out, struct sp_err *err)
{
	memset(c, 0, sizeof(*c));
	c->jobs = 1;
	c->sweep = true;
	c->request_timeout_ms = 120000;
	struct target_spec defaults;
	target_spec_init(&defaults);
	int r = 0;
	optind = 1;
	opterr = 0;
	int opt;
	while (r == 0 && (opt = getopt_long(argc, argv, "+j:vh", options, NULL)) != -1) {
		struct target_spec *cur = c->n_specs ? &c->specs[c->n_specs - 1] : &defaults;
		if (opt == OPT_TARGET || opt == OPT_EMULATOR)
			r = new_spec(c, &defaults, optarg, opt == OPT_EMULATOR, err);
		else if (is_target_option(opt))
			r = target_option(cur, opt, optarg, err);
		else
			r = run_option(c, opt, argv, out, err);
	}
	if (r == 0)
		r = finish(c, argc, argv, err);
	target_spec_fini(&defaults);
	if (r < 0)
		cli_fini(c);
	return r;
}

void cli_fini(struct cli *c)
{
	for (size_t i = 0; i < c->n_specs; i++)
		target_spec_fini(&c->specs[i]);
	free(c->specs);
	free_list(c->paths, c->n_paths);
	free_list(c->names, c->n_names);
	free_list(c->tags, c->n_tags);
	free_list(c->exclude_tags, c->n_exclude_tags);
	free(c->junit);
	free(c->record);
	free(c->report);
	free(c->data_dir);
	free(c->run_id);
	free(c->keep_logs);
	memset(c, 0, sizeof(*c));
}
