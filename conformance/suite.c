/* SPDX-License-Identifier: MIT */
/*
 * Loading and scheduling; see suite.h. One mutex and one condition variable guard the job
 * queue and the "done" flags; the main thread prints results strictly in order as their
 * slots complete, so TAP numbering is stable however the workers interleave.
 */
#include "suite.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "redact.h"
#include "teardown.h"

struct found {
	char *file;
	char *id;
};

struct found_list {
	struct found *v;
	size_t n;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lf = strlen(suffix);
	return ls >= lf && strcmp(s + ls - lf, suffix) == 0;
}

/* The id of |file|: relative to the last "scenarios" directory, else to |root|. */
static char *make_id(const char *file, const char *root, bool root_is_dir)
{
	const char *from = NULL;
	for (const char *p = file; (p = strstr(p, "scenarios/")); p++)
		if (p == file || p[-1] == '/')
			from = p + strlen("scenarios/");
	if (!from && root_is_dir) {
		size_t rl = strlen(root);
		while (rl > 1 && root[rl - 1] == '/')
			rl--;
		from = strncmp(file, root, rl) == 0 && file[rl] == '/' ? file + rl + 1 : file;
	}
	if (!from) {
		const char *slash = strrchr(file, '/');
		from = slash ? slash + 1 : file;
	}
	while (*from == '/')
		from++;
	size_t len = strlen(from);
	if (ends_with(from, ".json"))
		len -= 5;
	return strndup(from, len);
}

static int add_found(struct found_list *l, const char *file, const char *root, bool root_is_dir)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].file, file) == 0)
			return 0;
	struct found *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	l->v = grown;
	char *f = strdup(file);
	char *id = make_id(file, root, root_is_dir);
	if (!f || !id) {
		free(f);
		free(id);
		return -ENOMEM;
	}
	l->v[l->n++] = (struct found){.file = f, .id = id};
	return 0;
}

static int walk(struct found_list *l, const char *dir, const char *root, struct sp_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return sp_err_sys(err, -errno, "%s: cannot open", dir);
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		cleanup_free char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = walk(l, path, root, err);
		else if (S_ISREG(st.st_mode) && ends_with(de->d_name, ".json"))
			r = add_found(l, path, root, true);
	}
	closedir(d);
	return r;
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->id, ((const struct found *)b)->id);
}

int suite_load(const char *const *paths, size_t n_paths, struct suite *out, struct sp_err *err)
{
	struct found_list l = {0};
	int r = 0;
	for (size_t i = 0; i < n_paths && r == 0; i++) {
		struct stat st;
		if (stat(paths[i], &st) < 0) {
			r = sp_err_sys(err, -errno, "%s", paths[i]);
			break;
		}
		if (S_ISDIR(st.st_mode))
			r = walk(&l, paths[i], paths[i], err);
		else
			r = add_found(&l, paths[i], paths[i], false);
	}
	struct suite s = {0};
	if (r == 0 && l.n) {
		qsort(l.v, l.n, sizeof(*l.v), cmp_found);
		s.e = calloc(l.n, sizeof(*s.e));
		if (!s.e)
			r = -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		struct suite_entry *e = &s.e[s.n++];
		e->id = steal_pointer(&l.v[i].id);
		e->file = steal_pointer(&l.v[i].file);
		struct sp_err pe = {0};
		int pr = scn_load(e->file, e->id, &e->scn, &pe);
		if (pr == -ENOMEM) {
			r = pr;
		} else if (pr < 0) {
			e->parse_error = strdup(pe.msg);
			s.n_parse_errors++;
		}
	}
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].file);
		free(l.v[i].id);
	}
	free(l.v);
	if (r < 0) {
		suite_fini(&s);
		return r;
	}
	*out = s;
	return 0;
}

void suite_fini(struct suite *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].id);
		free(s->e[i].file);
		free(s->e[i].parse_error);
		scn_free(s->e[i].scn);
	}
	free(s->e);
	memset(s, 0, sizeof(*s));
}

size_t suite_filter(struct suite *s, const struct suite_filter *f)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct suite_entry *e = &s->e[i];
		bool ok = f->n_names == 0;
		for (size_t k = 0; k < f->n_names && !ok; k++)
			ok = fnmatch(f->names[k], e->id, 0) == 0;
		if (ok && e->scn) {
			bool tagged = f->n_tags == 0;
			for (size_t k = 0; k < f->n_tags && !tagged; k++)
				tagged = scn_has_tag(e->scn, f->tags[k]);
			for (size_t k = 0; k < f->n_exclude_tags && tagged; k++)
				tagged = !scn_has_tag(e->scn, f->exclude_tags[k]);
			ok = tagged;
		}
		e->selected = ok;
		n += ok;
	}
	return n;
}

struct job {
	size_t target;
	size_t *entries;
	size_t n_entries;
	bool group;
	const char **needs; /* borrowed from the scenario's tags */
	size_t n_needs;
	bool exclusive;
};

struct shared {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *jobs;
	size_t n_jobs;
	size_t next_job;
	bool *done;
	struct target **defaults;
	char **default_errors;
	pthread_rwlock_t *excl;
	const struct suite *s;
	const struct suite_opts *o;
	struct suite_results *res;
	bool stop; /* a target's token source failed: nothing more starts (under lock) */
};

static size_t needs_of(const struct scn *s, const char **needs, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_tags && n < max; i++)
		if (strncmp(s->tags[i], "needs:", 6) == 0)
			needs[n++] = s->tags[i] + 6;
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool same_needs(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static void set_result(struct shared *sh, size_t t, size_t i, enum res_kind kind,
		       const char *summary)
{
	struct scn_result *r = &sh->res->results[t * sh->s->n + i];
	r->kind = kind;
	/* Emulator log tails can quote a token. */
	r->summary = summary ? redact_dup(summary, strlen(summary), NULL) : NULL;
}

static void mark_done(struct shared *sh, size_t t, size_t i)
{
	pthread_mutex_lock(&sh->lock);
	sh->done[t * sh->s->n + i] = true;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

static bool abort_requested(const struct shared *sh)
{
	return sh->o->run.abort_flag && *sh->o->run.abort_flag;
}

static bool stop_requested(struct shared *sh)
{
	pthread_mutex_lock(&sh->lock);
	bool stop = sh->stop;
	pthread_mutex_unlock(&sh->lock);
	return stop;
}

/* Runs entry |i| on |t| unless the run is stopping; a token failure stops it (before the entry
 * is marked done, so the printer sees the stop when it reaches that entry). */
static void run_entry(struct shared *sh, size_t target, size_t i, struct target *t)
{
	struct scn_result *res = &sh->res->results[target * sh->s->n + i];
	if (stop_requested(sh)) {
		set_result(sh, target, i, RES_SKIP, "not run: the run stopped");
		return;
	}
	runner_run(sh->s->e[i].scn, i, t, &sh->o->run, res);
	if (res->token_failed) {
		pthread_mutex_lock(&sh->lock);
		sh->stop = true;
		pthread_mutex_unlock(&sh->lock);
	}
}

static void run_group(struct shared *sh, const struct job *j)
{
	const struct target_spec *spec = &sh->o->specs[j->target];
	cleanup_free char *log = NULL;
	if (sh->o->keep_logs) {
		char joined[256] = "";
		size_t used = 0;
		for (size_t k = 0; k < j->n_needs && used < sizeof(joined); k++) {
			int w = snprintf(joined + used, sizeof(joined) - used, "%s%s", k ? "+" : "",
					 j->needs[k]);
			used += w > 0 ? (size_t)w : 0;
		}
		if (asprintf(&log, "%s/%s-%s.log", sh->o->keep_logs,
			     sh->res->target_names[j->target], joined) < 0)
			log = NULL;
	}
	struct target *t = NULL;
	struct sp_err err = {0};
	int r = abort_requested(sh)
		    ? -ECANCELED
		    : target_open(spec, j->needs, j->n_needs, sh->o->globals, log, &t, &err);
	for (size_t k = 0; k < j->n_entries; k++) {
		size_t i = j->entries[k];
		if (r < 0) {
			set_result(sh, j->target, i, r == -ECANCELED ? RES_SKIP : RES_ERROR,
				   r == -ECANCELED ? "interrupted" : err.msg);
		} else if (abort_requested(sh)) {
			set_result(sh, j->target, i, RES_SKIP, "interrupted");
		} else {
			run_entry(sh, j->target, i, t);
		}
		mark_done(sh, j->target, i);
	}
	if (t) {
		struct sp_err ce = {0};
		if (target_close(t, &ce) < 0) {
			cleanup_free char *msg = redact_dup(ce.msg, strlen(ce.msg), NULL);
			pthread_mutex_lock(&sh->lock);
			sh->res->emulator_unclean = true;
			fprintf(stderr, "sessionpool-conformance: warning: %s\n", msg ? msg : "");
			pthread_mutex_unlock(&sh->lock);
		}
	}
}

static void run_single(struct shared *sh, const struct job *j)
{
	size_t i = j->entries[0];
	struct target *t = sh->defaults[j->target];
	if (abort_requested(sh)) {
		set_result(sh, j->target, i, RES_SKIP, "interrupted");
	} else if (!t) {
		set_result(sh, j->target, i, RES_ERROR, sh->default_errors[j->target]);
	} else {
		pthread_rwlock_t *l = &sh->excl[j->target];
		if (j->exclusive)
			pthread_rwlock_wrlock(l);
		else
			pthread_rwlock_rdlock(l);
		run_entry(sh, j->target, i, t);
		pthread_rwlock_unlock(l);
	}
	mark_done(sh, j->target, i);
}

static void *worker(void *arg)
{
	struct shared *sh = arg;
	for (;;) {
		pthread_mutex_lock(&sh->lock);
		struct job *j = sh->next_job < sh->n_jobs ? &sh->jobs[sh->next_job++] : NULL;
		pthread_mutex_unlock(&sh->lock);
		if (!j)
			return NULL;
		if (j->group)
			run_group(sh, j);
		else
			run_single(sh, j);
	}
}

static void print_diag(FILE *f, const char *diag)
{
	const char *line = diag;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len)
			fprintf(f, "#   %.*s\n", (int)len, line);
		line = eol ? eol + 1 : NULL;
	}
}

/* A TAP comment about a target; multi-line text (an emulator log tail) stays commented. */
static void print_comment(FILE *f, const char *target, const char *text)
{
	fprintf(f, "# target %s: ", target);
	const char *s = text ? text : "";
	size_t len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	for (size_t i = 0; i < len; i++) {
		fputc(s[i], f);
		if (s[i] == '\n')
			fputs("#   ", f);
	}
	fputc('\n', f);
}

static void print_tap(const struct suite_opts *o, size_t num, const char *id, const char *tname,
		      bool multi, const struct scn_result *r)
{
	FILE *f = o->tap;
	char who[300];
	snprintf(who, sizeof(who), "%s%s%s%s", id, multi ? " [" : "", multi ? tname : "",
		 multi ? "]" : "");
	char sum[400];
	snprintf(sum, sizeof(sum), "%s", r->summary ? r->summary : "");
	for (char *p = sum; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	switch (r->kind) {
	case RES_PASS:
		fprintf(f, "ok %zu - %s # %.3fs\n", num, who, r->seconds);
		break;
	case RES_FAIL:
		fprintf(f, "not ok %zu - %s # %.3fs\n", num, who, r->seconds);
		break;
	case RES_ERROR:
		fprintf(f, "not ok %zu - %s # error: %s\n", num, who, sum);
		break;
	case RES_SKIP:
		fprintf(f, "ok %zu - %s # SKIP %s\n", num, who, sum);
		break;
	case RES_TODO:
		fprintf(f, "not ok %zu - %s # TODO known divergence on %s\n", num, who, tname);
		break;
	case RES_TODO_PASSED:
		fprintf(
		    f,
		    "ok %zu - %s # TODO divergence:%s tag is stale: this now passes; remove it\n",
		    num, who, tname);
		break;
	case RES_RECORDED:
		fprintf(f, "ok %zu - %s # recorded: %s\n", num, who, sum);
		break;
	}
	bool show = r->kind == RES_FAIL || r->kind == RES_ERROR || r->kind == RES_TODO ||
		    r->kind == RES_RECORDED || (o->verbose && r->kind != RES_SKIP);
	if (show && r->diag)
		print_diag(f, r->diag);
	fflush(f);
}

static void count(struct suite_results *res, const struct scn_result *r);

/*
 * After a token failure: reports the first scenario it failed (from the first entry not yet
 * printed on), the command's standard error, and TAP's "Bail out!". Nothing else is reported:
 * the scenarios that never ran are not counted, so the summary shows the one failure.
 */
static void bail_out(struct shared *sh, size_t num, bool multi)
{
	const struct suite *s = sh->s;
	struct suite_results *res = sh->res;
	FILE *f = sh->o->tap;
	for (size_t t = 0; t < res->n_targets; t++) {
		for (size_t i = 0; i < s->n; i++) {
			size_t slot = t * s->n + i;
			struct scn_result *r = &res->results[slot];
			if (!s->e[i].selected || res->ran[slot] || !r->token_failed)
				continue;
			res->ran[slot] = true;
			count(res, r);
			print_tap(sh->o, num + 1, s->e[i].id, res->target_names[t], multi, r);
			struct target *tgt = sh->defaults[t];
			cleanup_free char *raw =
			    tgt && tgt->token ? token_failure_text(tgt->token) : NULL;
			cleanup_free char *text = raw ? redact_dup(raw, strlen(raw), NULL) : NULL;
			const char *nl = text ? strchr(text, '\n') : NULL;
			if (nl) {
				fprintf(f, "#   the token command's standard error:\n");
				print_diag(f, nl + 1);
			}
			fprintf(f,
				"Bail out! target %s: its token source failed; no further "
				"scenario runs\n",
				res->target_names[t]);
			fflush(f);
			fprintf(stderr, "sessionpool-conformance: target %s: %s\n%s%s",
				res->target_names[t],
				r->summary ? r->summary : "token source failed", nl ? nl + 1 : "",
				nl ? "\n" : "");
			return;
		}
	}
	fprintf(f, "Bail out! a token source failed; no further scenario runs\n");
	fflush(f);
}

static void count(struct suite_results *res, const struct scn_result *r)
{
	switch (r->kind) {
	case RES_PASS:
	case RES_TODO_PASSED:
		res->passed++;
		break;
	case RES_FAIL:
		res->failed++;
		break;
	case RES_ERROR:
		res->failed++;
		res->errors++;
		break;
	case RES_SKIP:
		res->skipped++;
		break;
	case RES_TODO:
		res->skipped++;
		res->todo++;
		break;
	case RES_RECORDED:
		res->skipped++;
		res->recorded++;
		break;
	}
}

static int add_job(struct shared *sh, struct job j)
{
	struct job *grown = realloc(sh->jobs, (sh->n_jobs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	sh->jobs = grown;
	sh->jobs[sh->n_jobs++] = j;
	return 0;
}

/*
 * Puts entry one[0] into target |t|'s group for |needs|, or starts that group (taking |needs|'
 * pointers, not the array). Takes |one|. Groups stay in front of the singles, which begin at
 * *first_single: they are the longest chains.
 */
static int add_to_group(struct shared *sh, size_t t, size_t *one, const char **needs, size_t n,
			size_t *first_single)
{
	size_t i = one[0];
	struct job *g = NULL;
	for (size_t k = 0; k < *first_single && !g; k++)
		if (sh->jobs[k].group && sh->jobs[k].target == t &&
		    same_needs(sh->jobs[k].needs, sh->jobs[k].n_needs, needs, n))
			g = &sh->jobs[k];
	if (g) {
		size_t *grown = realloc(g->entries, (g->n_entries + 1) * sizeof(size_t));
		free(one);
		if (!grown)
			return -ENOMEM;
		g->entries = grown;
		g->entries[g->n_entries++] = i;
		return 0;
	}
	const char **nd = calloc(n ? n : 1, sizeof(*nd));
	if (!nd) {
		free(one);
		return -ENOMEM;
	}
	memcpy(nd, needs, n * sizeof(*nd));
	struct job j = {
	    .target = t, .entries = one, .n_entries = 1, .group = true, .needs = nd, .n_needs = n};
	if (add_job(sh, j) < 0) {
		free(one);
		free(nd);
		return -ENOMEM;
	}
	struct job moved = sh->jobs[sh->n_jobs - 1];
	memmove(&sh->jobs[*first_single + 1], &sh->jobs[*first_single],
		(sh->n_jobs - 1 - *first_single) * sizeof(struct job));
	sh->jobs[(*first_single)++] = moved;
	return 0;
}

/* Builds the job list for target |t|: skips decided now, groups and singles. */
static int plan_target(struct shared *sh, size_t t)
{
	const struct suite *s = sh->s;
	const struct target_spec *spec = &sh->o->specs[t];
	enum target_kind kind = sh->res->target_kinds[t];
	size_t first_single = sh->n_jobs;
	for (size_t i = 0; i < s->n; i++) {
		const struct suite_entry *e = &s->e[i];
		if (!e->selected)
			continue;
		if (!e->scn) {
			set_result(sh, t, i, RES_ERROR, e->parse_error);
			sh->done[t * s->n + i] = true;
			continue;
		}
		char buf[160];
		const char *why = runner_skip_reason(e->scn, spec, kind, buf, sizeof(buf));
		if (why) {
			set_result(sh, t, i, RES_SKIP, why);
			sh->done[t * s->n + i] = true;
			continue;
		}
		const char *needs[32];
		size_t n = needs_of(e->scn, needs, 32);
		qsort(needs, n, sizeof(needs[0]), cmp_str);
		bool exclusive = false, on_default = true;
		for (size_t k = 0; k < n; k++) {
			exclusive = exclusive || target_cap_exclusive(needs[k]);
			on_default = on_default && target_spec_offers(spec, NULL, 0, needs[k]);
		}
		size_t *one = malloc(sizeof(size_t));
		if (!one)
			return -ENOMEM;
		one[0] = i;
		if (spec->emulator && (exclusive || !on_default)) {
			int r = add_to_group(sh, t, one, needs, n, &first_single);
			if (r < 0)
				return r;
			continue;
		}
		struct job j = {.target = t,
				.entries = one,
				.n_entries = 1,
				.exclusive = exclusive && !spec->emulator};
		if (add_job(sh, j) < 0) {
			free(one);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Allocates the results and the shared state; the locks are initialized when this succeeds. */
static int shared_init(struct shared *sh, struct suite_results *res)
{
	size_t n_specs = sh->o->n_specs, slots = n_specs * sh->s->n;
	res->target_names = calloc(n_specs, sizeof(char *));
	res->target_kinds = calloc(n_specs, sizeof(enum target_kind));
	res->results = calloc(slots ? slots : 1, sizeof(*res->results));
	res->ran = calloc(slots ? slots : 1, sizeof(bool));
	sh->done = calloc(slots ? slots : 1, sizeof(bool));
	sh->defaults = calloc(n_specs, sizeof(*sh->defaults));
	sh->default_errors = calloc(n_specs, sizeof(char *));
	sh->excl = calloc(n_specs, sizeof(*sh->excl));
	if (!res->target_names || !res->target_kinds || !res->results || !res->ran || !sh->done ||
	    !sh->defaults || !sh->default_errors || !sh->excl) {
		free(sh->done);
		sh->done = NULL;
		return -ENOMEM;
	}
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cond, NULL);
	for (size_t t = 0; t < n_specs; t++)
		pthread_rwlock_init(&sh->excl[t], NULL);
	return 0;
}

/* Names target |t|, plans its jobs and, if any job runs on it, opens its default target. */
static int prepare_target(struct shared *sh, size_t t)
{
	const struct suite_opts *o = sh->o;
	struct suite_results *res = sh->res;
	const struct target_spec *spec = &o->specs[t];
	res->target_kinds[t] = target_spec_kind(spec);
	const char *name = target_spec_name(spec);
	res->target_names[t] = strdup(name);
	if (!res->target_names[t])
		return -ENOMEM;
	int r = plan_target(sh, t);
	if (r < 0)
		return r;
	bool needed = false;
	for (size_t k = 0; k < sh->n_jobs && !needed; k++)
		needed = sh->jobs[k].target == t && !sh->jobs[k].group;
	if (!needed)
		return 0;
	cleanup_free char *log = NULL;
	if (o->keep_logs && asprintf(&log, "%s/%s.log", o->keep_logs, name) < 0)
		log = NULL;
	struct sp_err err = {0};
	if (target_open(spec, NULL, 0, o->globals, log, &sh->defaults[t], &err) < 0) {
		sh->default_errors[t] = redact_dup(err.msg, strlen(err.msg), NULL);
		print_comment(o->tap, name, sh->default_errors[t]);
	} else {
		fprintf(o->tap, "# target %s (%s): %s\n", name,
			res->target_kinds[t] == TARGET_EMULATOR ? "emulator" : "real pool",
			sh->defaults[t]->origin);
	}
	return 0;
}

/*
 * Prints the results in plan order (target by target, scenario by scenario) as the workers
 * finish them, counting *num. Returns true when the run was stopped before all were printed.
 */
static bool report_in_order(struct shared *sh, size_t *num, bool multi)
{
	const struct suite *s = sh->s;
	struct suite_results *res = sh->res;
	for (size_t t = 0; t < sh->o->n_specs; t++) {
		for (size_t i = 0; i < s->n; i++) {
			if (!s->e[i].selected)
				continue;
			size_t slot = t * s->n + i;
			pthread_mutex_lock(&sh->lock);
			while (!sh->done[slot])
				pthread_cond_wait(&sh->cond, &sh->lock);
			bool stopped = sh->stop;
			pthread_mutex_unlock(&sh->lock);
			if (stopped)
				return true;
			res->ran[slot] = true;
			count(res, &res->results[slot]);
			print_tap(sh->o, ++*num, s->e[i].id, res->target_names[t], multi,
				  &res->results[slot]);
		}
	}
	return false;
}

/* Runs the jobs on up to o->jobs threads (on this one if none starts) and reports them. */
static int run_jobs(struct shared *sh)
{
	const struct suite_opts *o = sh->o;
	int n_threads = o->jobs > 0 ? o->jobs : 1;
	if ((size_t)n_threads > sh->n_jobs)
		n_threads = (int)(sh->n_jobs ? sh->n_jobs : 1);
	pthread_t *threads = calloc((size_t)n_threads, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	int started = 0;
	for (; started < n_threads; started++)
		if (pthread_create(&threads[started], NULL, worker, sh) != 0)
			break;
	if (started == 0)
		worker(sh);

	size_t num = 0;
	bool multi = o->n_specs > 1;
	bool stopped = report_in_order(sh, &num, multi);
	for (int k = 0; k < started; k++)
		pthread_join(threads[k], NULL);
	free(threads);
	if (stopped)
		bail_out(sh, num, multi);
	return 0;
}

/* Sweeps the real pools' leftover sessions and closes every default target. */
static void close_targets(struct shared *sh)
{
	const struct suite_opts *o = sh->o;
	struct suite_results *res = sh->res;
	for (size_t t = 0; t < o->n_specs; t++) {
		if (!sh->defaults[t])
			continue;
		if (o->sweep && !o->specs[t].emulator && !token_failed(sh->defaults[t]->token)) {
			int n = teardown_sweep(sh->defaults[t], o->run_id, &o->run, o->tap);
			if (n > 0)
				fprintf(o->tap, "# sweep of %s: %d leftover session(s) deleted\n",
					res->target_names[t], n);
		}
		struct sp_err ce = {0};
		if (target_close(sh->defaults[t], &ce) < 0) {
			res->emulator_unclean = true;
			cleanup_free char *msg = redact_dup(ce.msg, strlen(ce.msg), NULL);
			print_comment(o->tap, res->target_names[t], msg);
		}
		sh->defaults[t] = NULL;
	}
}

/* Frees what shared_init() and the planning made, closing any target still open. */
static void shared_fini(struct shared *sh)
{
	size_t n_specs = sh->o->n_specs;
	if (sh->excl && sh->done) {
		for (size_t t = 0; t < n_specs; t++)
			pthread_rwlock_destroy(&sh->excl[t]);
		pthread_cond_destroy(&sh->cond);
		pthread_mutex_destroy(&sh->lock);
	}
	for (size_t k = 0; k < sh->n_jobs; k++) {
		free(sh->jobs[k].entries);
		free((void *)sh->jobs[k].needs);
	}
	free(sh->jobs);
	free(sh->done);
	if (sh->defaults)
		for (size_t t = 0; t < n_specs; t++)
			target_close(sh->defaults[t], NULL);
	free(sh->defaults);
	if (sh->default_errors)
		for (size_t t = 0; t < n_specs; t++)
			free(sh->default_errors[t]);
	free(sh->default_errors);
	free(sh->excl);
}

int suite_run(const struct suite *s, const struct suite_opts *o, struct suite_results *out)
{
	struct suite_results res = {.n_targets = o->n_specs, .n_entries = s->n};
	struct shared sh = {.s = s, .o = o, .res = &res};
	int r = shared_init(&sh, &res);
	if (r == 0) {
		size_t n_selected = 0;
		for (size_t i = 0; i < s->n; i++)
			n_selected += s->e[i].selected;
		fprintf(o->tap, "TAP version 13\n1..%zu\n", n_selected * o->n_specs);
		fprintf(o->tap, "# run id %s\n", o->run_id);
		for (size_t t = 0; r == 0 && t < o->n_specs; t++)
			r = prepare_target(&sh, t);
	}
	if (r == 0) {
		fflush(o->tap);
		r = run_jobs(&sh);
	}
	if (r == 0)
		close_targets(&sh);
	shared_fini(&sh);
	if (r < 0) {
		suite_results_fini(&res);
		return r;
	}
	*out = res;
	return 0;
}

void suite_results_fini(struct suite_results *r)
{
	size_t slots = r->n_targets * r->n_entries;
	for (size_t i = 0; r->results && i < slots; i++)
		scn_result_fini(&r->results[i]);
	for (size_t t = 0; r->target_names && t < r->n_targets; t++)
		free(r->target_names[t]);
	free(r->target_names);
	free(r->target_kinds);
	free(r->results);
	free(r->ran);
	memset(r, 0, sizeof(*r));
}
