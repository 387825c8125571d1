/* SPDX-License-Identifier: MIT */
/*
 * The state of one scenario run; see run.h. Everything here is per run, so no locking: the
 * background threads of a run never call these functions.
 */
#include "run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teardown.h"

int run_init(struct run *r, const struct scn *s, struct target *t, const struct run_opts *o,
	     bool with_vars)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->t = t;
	r->o = o;
	r->diag = open_memstream(&r->diag_buf, &r->diag_len);
	r->http = http_client_new(&t->tls);
	if (with_vars)
		r->vars = vars_new(t->vars);
	if (!r->diag || !r->http || (with_vars && !r->vars))
		return -ENOMEM;
	return 0;
}

void run_close_diag(struct run *r)
{
	if (r->diag)
		fclose(r->diag);
	r->diag = NULL;
}

void run_fini(struct run *r)
{
	run_close_diag(r);
	free(r->diag_buf);
	free(r->first_failure);
	free(r->error);
	teardown_tracked_fini(&r->sessions);
	vars_free(r->vars);
	http_client_free(r->http);
	memset(r, 0, sizeof(*r));
}

void run_note(struct run *r, const char *fmt, ...)
{
	if (!r->diag)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->diag, fmt, ap);
	va_end(ap);
	fputc('\n', r->diag);
}

void run_error(struct run *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	run_note(r, "error: %s", buf);
	if (!r->error)
		r->error = strdup(buf);
}

void run_failure(struct run *r, bool soft, const char *where, const char *text)
{
	if (soft) {
		r->soft++;
		run_note(r, "recorded: %s: %s", where, text);
		return;
	}
	r->hard++;
	run_note(r, "failed: %s: %s", where, text);
	if (!r->first_failure && asprintf(&r->first_failure, "%s: %s", where, text) < 0)
		r->first_failure = NULL;
}

bool run_is_soft(const struct run *r, bool choice)
{
	return r->t->kind == TARGET_REAL && (choice || r->s->choice);
}

bool run_aborted(const struct run *r)
{
	return r->o->abort_flag && *r->o->abort_flag;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool run_pause_ms(const struct run *r, long ms)
{
	while (ms > 0) {
		if (run_aborted(r))
			return false;
		long step = ms < 50 ? ms : 50;
		sleep_ms(step);
		ms -= step;
	}
	return !run_aborted(r);
}

int run_expand(struct run *r, const char *tmpl, char **out)
{
	struct sp_err e = {0};
	int rc = vars_expand(r->vars, tmpl, out, &e);
	if (rc < 0)
		run_error(r, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}

int run_expand_json(struct run *r, const cJSON *in, cJSON **out)
{
	struct sp_err e = {0};
	int rc = vars_expand_json(r->vars, in, out, &e);
	if (rc < 0)
		run_error(r, "%s", e.msg[0] ? e.msg : strerror(-rc));
	return rc;
}
