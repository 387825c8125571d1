/* SPDX-License-Identifier: MIT */
/*
 * One session's executions; see session.h.
 *
 * Locking: s->mu guards everything here (tickets, the job queue, the records, the backend
 * session pointer, closed/running). It is never held across an execution, and the lease's
 * hold/release are called without it.
 */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "errors.h"
#include "guid.h"
#include "reqlog.h"
#include "util.h"

/* Bounds on what sandboxed code can make the emulator hold (contract §8 sets none). */
#define VALUE_MAX_BYTES	  (8u << 20)  /* one cell value, image included */
#define MESSAGE_MAX_CHARS 4096	      /* error.message */
#define RECORDS_MAX_BYTES (32u << 20) /* finished records kept per session */

struct exec_record {
	unsigned refs; /* s->mu */
	bool finished;
	size_t bytes; /* memory held by the finished record's texts */
	struct exec_record *next;
	struct exec_view v;
};

struct job {
	struct job *next;
	struct exec_record *rec;
	uint64_t ticket;
	struct exec_params prm; /* prm.code: our own copy */
};

struct session {
	struct backend bk;
	struct session_limits lim;
	struct session_lease lease;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_ticket;
	uint64_t serving;
	bool running;
	bool closed;
	struct job *jobs; /* asynchronous executions not started yet, in ticket order */
	bool worker;	  /* a worker thread is draining |jobs| */
	struct bk_session *bks;
	struct exec_record *records; /* oldest first */
	struct exec_record **tail;   /* the last record's next (or &records): O(1) appends */
	size_t nfinished;
	size_t record_bytes; /* sum of finished records' bytes */
};

void exec_view_fini(struct exec_view *v)
{
	free(v->error_message);
	free(v->stdout_text);
	free(v->stderr_text);
	free(v->value);
	memset(v, 0, sizeof(*v));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *dup_n(const char *s, size_t len)
{
	if (!s)
		return NULL;
	char *d = malloc(len + 1);
	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static void view_copy(struct exec_view *dst, const struct exec_view *src)
{
	*dst = *src;
	dst->error_message = dup_or_null(src->error_message);
	dst->stdout_text = dup_n(src->stdout_text, src->stdout_len);
	dst->stderr_text = dup_n(src->stderr_text, src->stderr_len);
	dst->value = dup_or_null(src->value);
}

static void record_unref(struct exec_record *r)
{
	if (--r->refs > 0)
		return;
	exec_view_fini(&r->v);
	free(r);
}

struct session *session_new(const struct backend *bk, struct bk_session *bks,
			    const struct session_limits *lim, const struct session_lease *lease)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s) {
		bk->ops->free(bks);
		return NULL;
	}
	s->bk = *bk;
	s->lim = *lim;
	s->lease = *lease;
	s->bks = bks;
	s->tail = &s->records;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

void session_close(struct session *s)
{
	pthread_mutex_lock(&s->mu);
	s->closed = true;
	if (s->bks)
		s->bk.ops->cancel(s->bks);
	pthread_cond_broadcast(&s->cv);
	while (s->running)
		pthread_cond_wait(&s->cv, &s->mu);
	struct bk_session *bks = s->bks;
	s->bks = NULL;
	struct exec_record *r = s->records;
	s->records = NULL;
	s->tail = &s->records;
	s->nfinished = 0;
	s->record_bytes = 0;
	while (r) {
		struct exec_record *next = r->next;
		record_unref(r);
		r = next;
	}
	pthread_mutex_unlock(&s->mu);
	if (bks)
		s->bk.ops->free(bks);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* ---- records (s->mu held) ---- */

static struct exec_record *find_record(struct session *s, const char *id, size_t len)
{
	for (struct exec_record *r = s->records; r; r = r->next)
		if (strlen(r->v.id) == len && !memcmp(r->v.id, id, len))
			return r;
	return NULL;
}

/* Evicts the oldest finished records beyond the count limit or the byte budget; the newest
 * finished record always stays. */
static void evict_records(struct session *s)
{
	struct exec_record **pp = &s->records;
	while ((s->nfinished > s->lim.records_max || s->record_bytes > RECORDS_MAX_BYTES) &&
	       s->nfinished > 1 && *pp) {
		struct exec_record *r = *pp;
		if (r->finished) {
			*pp = r->next;
			if (s->tail == &r->next)
				s->tail = pp;
			s->nfinished--;
			s->record_bytes -= r->bytes;
			record_unref(r);
		} else {
			pp = &r->next;
		}
	}
}

/* Applies the value and message bounds, and counts what the record holds. */
static void bound_record(struct exec_record *rec)
{
	struct exec_view *v = &rec->v;
	if (v->value && strlen(v->value) > VALUE_MAX_BYTES) {
		if (v->kind == BK_VALUE_IMAGE) {
			char note[160];
			snprintf(note, sizeof(note),
				 "[image of %zu base64 characters omitted: larger than the %u MiB "
				 "value limit]",
				 strlen(v->value), VALUE_MAX_BYTES >> 20);
			free(v->value);
			v->value = strdup(note);
		} else {
			/* Cut on a code-point boundary; what is left is text, not JSON. */
			size_t cut = VALUE_MAX_BYTES;
			while (cut > 0 && ((unsigned char)v->value[cut] & 0xc0) == 0x80)
				cut--;
			v->value[cut] = '\0';
		}
		v->kind = BK_VALUE_TEXT;
	}
	if (v->error_message) {
		size_t n = strlen(v->error_message);
		v->error_message[util_utf8_prefix_bytes(v->error_message, n, MESSAGE_MAX_CHARS)] =
		    '\0';
	}
	rec->bytes = sizeof(*rec) + v->stdout_len + v->stderr_len +
		     (v->value ? strlen(v->value) : 0) +
		     (v->error_message ? strlen(v->error_message) : 0);
}

/* Appends |line| to the stream and cuts the result to |max| code points. */
static void append_capped(char **stream, size_t *len, const char *line, size_t max)
{
	struct strbuf b = {0};
	if (*stream)
		strbuf_append(&b, *stream, *len);
	strbuf_puts(&b, line);
	size_t n = b.len;
	char *s = strbuf_steal(&b);
	if (!s)
		return;
	size_t cut = util_utf8_prefix_bytes(s, n, max);
	s[cut] = '\0';
	free(*stream);
	*stream = s;
	*len = cut;
}

/* Ends |v| as failed: status, error, its one-line message, also appended to stderr. */
static void set_failure(struct exec_view *v, enum bk_outcome o, const char *internal,
			unsigned timeout_s, const char *cause, size_t max)
{
	char line[512];
	v->error = exec_failure(o, internal, timeout_s, cause, line, sizeof(line), &v->status);
	free(v->error_message);
	v->error_message = strdup(line);
	char *nl = v->error_message ? strchr(v->error_message, '\n') : NULL;
	if (nl)
		*nl = '\0';
	if (!v->stdout_text)
		v->stdout_text = strdup("");
	append_capped(&v->stderr_text, &v->stderr_len, line, max);
	free(v->value);
	v->value = NULL;
	v->kind = BK_VALUE_NULL;
}

/* Turns the backend's neutral result into the record's final state (§8.5–§8.8). */
static void finish(struct exec_record *rec, struct bk_exec_result *res, unsigned timeout_s,
		   size_t max)
{
	struct exec_view *v = &rec->v;
	v->stdout_text = steal_pointer(&res->stdout_text);
	v->stderr_text = steal_pointer(&res->stderr_text);
	v->stdout_len = v->stdout_text ? res->stdout_len : 0;
	v->stderr_len = v->stderr_text ? res->stderr_len : 0;
	v->exit_code = res->exit_code;
	v->exec_ms = res->exec_ms;
	v->prepare_ms = res->prepare_ms;
	v->request_ms = res->request_ms;
	v->read_ms = res->read_ms;
	if (!v->stdout_text)
		v->stdout_text = strdup("");
	if (!v->stderr_text)
		v->stderr_text = strdup("");
	rec->finished = true;
	switch (res->outcome) {
	case BK_OUTCOME_OK:
		v->status = EXEC_SUCCEEDED;
		v->kind = res->value_kind;
		v->value = steal_pointer(&res->value);
		return;
	case BK_OUTCOME_EXCEPTION:
		v->status = EXEC_FAILED;
		v->error = EXEC_ERR_EXECUTION;
		v->error_message = steal_pointer(&res->error_message);
		if (!v->error_message)
			v->error_message = strdup("Exception");
		v->kind = BK_VALUE_NULL;
		return;
	case BK_OUTCOME_TIMEOUT:
	case BK_OUTCOME_TIMEOUT_RESTARTED:
	case BK_OUTCOME_CRASHED:
	case BK_OUTCOME_CANCELED:
		break;
	}
	set_failure(v, res->outcome, NULL, timeout_s, res->error_message, max);
}

static void finish_failed(struct exec_record *rec, enum bk_outcome o, const char *internal,
			  size_t max)
{
	set_failure(&rec->v, o, internal, 0, NULL, max);
	rec->finished = true;
}

/* The request log's session events of a cell's outcome: timeouts and restarts. */
static void log_outcome(const struct session *s, const struct bk_exec_result *res,
			unsigned timeout_s)
{
	const char *id = s->lim.label;
	switch (res->outcome) {
	case BK_OUTCOME_TIMEOUT:
		reqlog_session("timeout", id,
			       "execution timed out after %u s; KeyboardInterrupt, state kept",
			       timeout_s);
		break;
	case BK_OUTCOME_TIMEOUT_RESTARTED:
		reqlog_session("timeout", id,
			       "execution timed out after %u s; the cell ignored KeyboardInterrupt",
			       timeout_s);
		reqlog_session("interpreter-restarted", id,
			       "killed %u s after the timeout's KeyboardInterrupt", s->lim.grace_s);
		break;
	case BK_OUTCOME_CRASHED:
		reqlog_session("interpreter-restarted", id, "the interpreter exited: %s",
			       res->error_message ? res->error_message : "unknown cause");
		break;
	case BK_OUTCOME_OK:
	case BK_OUTCOME_EXCEPTION:
	case BK_OUTCOME_CANCELED:
		break;
	}
}

/* Records |rec|'s end (s->mu held) and lets the next ticket run. */
static void record_finished(struct session *s, struct exec_record *rec)
{
	bound_record(rec);
	s->nfinished++;
	s->record_bytes += rec->bytes;
	evict_records(s);
	pthread_cond_broadcast(&s->cv);
}

/* Waits for |ticket|'s turn, runs the execution, records the outcome. Returns the backend's
 * code. */
static int run_one(struct session *s, struct exec_record *rec, uint64_t ticket,
		   const struct exec_params *prm, struct sp_err *err)
{
	pthread_mutex_lock(&s->mu);
	while (s->serving != ticket && !s->closed)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->closed) {
		/* Never ran; the records are gone already. */
		finish_failed(rec, BK_OUTCOME_CANCELED, NULL, prm->stream_max);
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->running = true;
	struct bk_session *bks = s->bks;
	pthread_mutex_unlock(&s->mu);

	struct bk_exec_request req = {
	    .kind = prm->kind,
	    .code = prm->code,
	    .code_len = prm->code_len,
	    .argv = prm->argv,
	    .argc = prm->argc,
	    .timeout_ms = prm->timeout_s * 1000u,
	    .grace_ms = s->lim.grace_s * 1000u,
	    .stream_max_chars = prm->stream_max,
	    .label = s->lim.label,
	};
	struct bk_exec_result res = {0};
	int r = s->bk.ops->exec(bks, &req, &res, err);
	if (r == 0)
		log_outcome(s, &res, prm->timeout_s);

	pthread_mutex_lock(&s->mu);
	s->running = false;
	s->serving++;
	if (r < 0)
		finish_failed(rec, BK_OUTCOME_CRASHED,
			      err && *err->msg ? err->msg : "sandbox failure", prm->stream_max);
	else if (s->closed && res.outcome != BK_OUTCOME_OK)
		finish_failed(rec, BK_OUTCOME_CANCELED, NULL, prm->stream_max);
	else
		finish(rec, &res, prm->timeout_s, prm->stream_max);
	record_finished(s, rec);
	pthread_mutex_unlock(&s->mu);
	bk_exec_result_fini(&res);
	return r;
}

/* ---- asynchronous executions: one worker per session ---- */

/*
 * The session's one worker: runs its queued asynchronous executions in ticket order, then
 * exits. At most one per session, so threads stay bounded by the number of sessions however
 * many executions are queued. Its lease (taken by the starter) is released last.
 */
static void worker_run(struct session *s)
{
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job *j = s->jobs;
		if (!j) {
			s->worker = false;
			break;
		}
		s->jobs = j->next;
		pthread_mutex_unlock(&s->mu);
		struct sp_err err = {0};
		run_one(s, j->rec, j->ticket, &j->prm, &err);
		pthread_mutex_lock(&s->mu);
		record_unref(j->rec);
		pthread_mutex_unlock(&s->mu);
		s->lease.release(s->lease.ctx); /* the job's; the worker's keeps |s| */
		free((char *)j->prm.code);
		free(j);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	s->lease.release(s->lease.ctx); /* the worker's: may free |s| */
}

static void *worker_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

/* Queues |rec| as an asynchronous execution. Returns 0, or -ENOMEM (nothing queued). */
static int queue_async(struct session *s, struct exec_record *rec, uint64_t ticket,
		       const struct exec_params *prm, struct exec_view *out)
{
	if (prm->kind == BK_EXEC_ARGV)
		return -ENOTSUP; /* argv is borrowed: synchronous only */
	struct job *j = calloc(1, sizeof(*j));
	char *code = j ? malloc(prm->code_len + 1) : NULL;
	if (!code) {
		free(j);
		return -ENOMEM;
	}
	memcpy(code, prm->code, prm->code_len);
	code[prm->code_len] = '\0';
	*j = (struct job){.rec = rec, .ticket = ticket, .prm = *prm};
	j->prm.code = code;
	j->prm.operation_id = NULL;
	s->lease.hold(s->lease.ctx); /* the job's */

	pthread_mutex_lock(&s->mu);
	struct job **pp = &s->jobs;
	while (*pp && (*pp)->ticket < ticket)
		pp = &(*pp)->next;
	j->next = *pp;
	*pp = j;
	bool start = !s->worker;
	s->worker = true;
	view_copy(out, &rec->v);
	pthread_mutex_unlock(&s->mu);
	if (!start)
		return 0;

	s->lease.hold(s->lease.ctx); /* the worker's */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_t t;
	int e = pthread_create(&t, &attr, worker_main, s);
	pthread_attr_destroy(&attr);
	if (e != 0)
		worker_run(s); /* no thread to be had: drain the queue here */
	return 0;
}

int session_exec(struct session *s, const struct exec_params *prm, struct exec_view *out,
		 struct sp_err *err)
{
	struct exec_record *rec = calloc(1, sizeof(*rec));
	if (!rec)
		return sp_err_set(err, -ENOMEM, "out of memory");
	rec->v.async = prm->async;
	rec->v.status = EXEC_RUNNING;
	rec->v.exit_code = -1; /* commands: until one ends with a status */
	rec->refs = 2;	       /* the session's list and this call (or the job) */

	pthread_mutex_lock(&s->mu);
	if (prm->operation_id && *prm->operation_id &&
	    !find_record(s, prm->operation_id, strlen(prm->operation_id)))
		snprintf(rec->v.id, sizeof(rec->v.id), "%s", prm->operation_id);
	else
		sp_guid(rec->v.id);
	*s->tail = rec;
	s->tail = &rec->next;
	uint64_t ticket = s->next_ticket++;
	pthread_mutex_unlock(&s->mu);

	/* Could not queue it (out of memory): run it here, so the ticket queue still advances. */
	if (prm->async && queue_async(s, rec, ticket, prm, out) == 0)
		return 0;

	int r = run_one(s, rec, ticket, prm, err);
	pthread_mutex_lock(&s->mu);
	view_copy(out, &rec->v);
	record_unref(rec);
	pthread_mutex_unlock(&s->mu);
	return r;
}

int session_exec_get(struct session *s, const char *id, size_t id_len, struct exec_view *out)
{
	int r = -ENOENT;
	pthread_mutex_lock(&s->mu);
	struct exec_record *rec = find_record(s, id, id_len);
	if (rec) {
		view_copy(out, &rec->v);
		r = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}
