/* SPDX-License-Identifier: MIT */
/*
 * sessionpool-conformance: replays the JSON scenarios against one or more targets (an
 * emulator it starts itself, or pools at URLs) and reports TAP, JUnit and a parity table.
 * Exit status: 0 all passed, 1 usage, 2 scenario parse error, 3 transport or harness error,
 * 4 assertion failure, 130 interrupted. Signals are taken by one thread with sigwait(): the
 * first Ctrl-C stops new work and lets cleanup (session deletion, emulator shutdown) finish,
 * a second one kills the emulators and exits at once.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"
#include "redact.h"
#include "report.h"
#include "suite.h"

/* Regular expressions scenarios share as {{re_…}} (POSIX extended syntax). */
#define RE_TS "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{7}Z$"
#define RE_RFC3339                                                                                 \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{" \
	"2})$"
#define RE_GUID "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
#define RE_RFC1123                                                                                 \
	"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "                                                \
	"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "                                       \
	"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"

static volatile sig_atomic_t interrupted;

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0 || sig == SIGUSR1)
			return NULL;
		if (interrupted) {
			emu_kill_all();
			_exit(130);
		}
		interrupted = 1;
		static const char msg[] = "sessionpool-conformance: interrupted; deleting sessions "
					  "and stopping emulators (again to force)\n";
		ssize_t ignored = write(2, msg, sizeof(msg) - 1);
		(void)ignored;
	}
}

static int list_scenarios(const struct suite *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct suite_entry *e = &s->e[i];
		if (!e->selected)
			continue;
		if (!e->scn) {
			fprintf(stderr, "%s\n", e->parse_error);
			continue;
		}
		printf("%s", e->id);
		for (size_t k = 0; k < e->scn->n_tags; k++)
			printf("%s%s", k ? "," : " [", e->scn->tags[k]);
		printf("%s\n", e->scn->n_tags ? "]" : "");
	}
	return s->n_parse_errors ? 2 : 0;
}

/* Reports the selected scenario files that failed to parse: 2 (and a bail out) if any, else 0. */
static int bail_on_parse_errors(const struct cli *c, const struct suite *s)
{
	struct sp_err err = {0};
	size_t bad = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->e[i].selected && s->e[i].parse_error) {
			fprintf(stderr, "sessionpool-conformance: parse error: %s\n",
				s->e[i].parse_error);
			bad++;
		}
	}
	if (!bad)
		return 0;
	printf("Bail out! %zu scenario file(s) failed to parse\n", bad);
	if (c->junit && report_junit(c->junit, s, NULL, &err) < 0)
		fprintf(stderr, "sessionpool-conformance: %s\n", err.msg);
	printf("0 passed, 0 failed, 0 skipped\n");
	return 2;
}

static int make_output_dirs(const struct cli *c)
{
	if (c->record && record_mkdirs(c->record) < 0) {
		fprintf(stderr, "sessionpool-conformance: cannot create %s\n", c->record);
		return 1;
	}
	if (c->keep_logs && record_mkdirs(c->keep_logs) < 0) {
		fprintf(stderr, "sessionpool-conformance: cannot create %s\n", c->keep_logs);
		return 1;
	}
	return 0;
}

/* The variables every scenario sees: {{run_id}} and the shared {{re_…}}; NULL without memory. */
static struct vars *make_globals(const char *run_id)
{
	struct vars *globals = vars_new(NULL);
	if (!globals || vars_set_str(globals, "run_id", run_id) < 0 ||
	    vars_set_str(globals, "re_ts", RE_TS) < 0 ||
	    vars_set_str(globals, "re_rfc3339", RE_RFC3339) < 0 ||
	    vars_set_str(globals, "re_guid", RE_GUID) < 0 ||
	    vars_set_str(globals, "re_rfc1123", RE_RFC1123) < 0) {
		vars_free(globals);
		return NULL;
	}
	return globals;
}

/* Writes the reports and the summary line; returns the exit status. */
static int report_results(const struct cli *c, const struct suite *s,
			  const struct suite_results *res)
{
	struct sp_err err = {0};
	if (c->junit && report_junit(c->junit, s, res, &err) < 0)
		fprintf(stderr, "sessionpool-conformance: %s\n", err.msg);
	if (c->report && report_markdown(c->report, s, res, c->run_id, &err) < 0)
		fprintf(stderr, "sessionpool-conformance: %s\n", err.msg);
	if (res->errors || res->recorded || res->todo || res->emulator_unclean)
		printf("# %zu error(s), %zu recorded [CHOICE] difference(s), %zu known "
		       "divergence(s)%s\n",
		       res->errors, res->recorded, res->todo,
		       res->emulator_unclean ? "; an emulator exited uncleanly" : "");
	printf("%zu passed, %zu failed, %zu skipped\n", res->passed, res->failed, res->skipped);
	fflush(stdout);
	if (interrupted)
		return 130;
	if (res->errors || res->emulator_unclean)
		return 3;
	if (res->failed)
		return 4;
	return 0;
}

static int run(struct cli *c, struct suite *s)
{
	struct suite_filter f = {.names = (const char *const *)c->names,
				 .n_names = c->n_names,
				 .tags = (const char *const *)c->tags,
				 .n_tags = c->n_tags,
				 .exclude_tags = (const char *const *)c->exclude_tags,
				 .n_exclude_tags = c->n_exclude_tags};
	suite_filter(s, &f);
	if (c->list)
		return list_scenarios(s);
	int code = bail_on_parse_errors(c, s);
	if (code == 0)
		code = make_output_dirs(c);
	if (code)
		return code;
	struct vars *globals = make_globals(c->run_id);
	if (!globals)
		return 3;
	struct suite_opts o = {.specs = c->specs,
			       .n_specs = c->n_specs,
			       .jobs = c->jobs,
			       .run = {.data_dir = c->data_dir,
				       .record_dir = c->record,
				       .request_timeout_ms = c->request_timeout_ms,
				       .abort_flag = &interrupted},
			       .globals = globals,
			       .run_id = c->run_id,
			       .sweep = c->sweep,
			       .verbose = c->verbose,
			       .keep_logs = c->keep_logs,
			       .tap = stdout};
	struct suite_results res = {0};
	int r = suite_run(s, &o, &res);
	vars_free(globals);
	if (r < 0) {
		fprintf(stderr, "sessionpool-conformance: %s\n", strerror(-r));
		return 3;
	}
	code = report_results(c, s, &res);
	suite_results_fini(&res);
	return code;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct sp_err err = {0};
	int r = cli_parse(argc, argv, &c, stdout, &err);
	if (r == 1)
		return 0;
	if (r < 0) {
		fprintf(stderr, "sessionpool-conformance: %s\n", err.msg);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cli_fini(&c);
		return 3;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t sig_thread;
	bool have_sig_thread = pthread_create(&sig_thread, NULL, signal_thread, &set) == 0;

	struct suite s = {0};
	r = suite_load((const char *const *)c.paths, c.n_paths, &s, &err);
	int code;
	if (r < 0) {
		fprintf(stderr, "sessionpool-conformance: %s\n",
			err.msg[0] ? err.msg : strerror(-r));
		code = 1;
	} else {
		code = run(&c, &s);
	}
	suite_fini(&s);
	cli_fini(&c);
	if (have_sig_thread) {
		pthread_kill(sig_thread, SIGUSR1);
		pthread_join(sig_thread, NULL);
	}
	redact_clear();
	curl_global_cleanup();
	return code;
}
