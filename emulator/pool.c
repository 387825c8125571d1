/* SPDX-License-Identifier: MIT */
/*
 * The session pool; see pool.h.
 *
 * Locking: p->lock guards the table, every session's last_accessed/inflight/refs/ready, and
 * the slot map; it is held only for bookkeeping, never across a spawn, an execution or file
 * I/O. s->mu guards a session's execution queue (FIFO tickets), its records and its sandbox
 * handle. Order: p->lock may be taken while holding s->mu, never the reverse.
 *
 * A session leaves the table exactly once (expiry, deletion, failed creation or shutdown) and
 * whoever removes it destroys it: cancel the running cell, wait for it, free the interpreter
 * (which waits until its processes are gone), remove its directory, free its slot.
 *
 * A session's /mnt data is the directory of its slot (datafs.h: a tmpfs with the quota, which
 * cannot be renamed), made when the slot is taken: a ready interpreter's slot, directory
 * included, simply becomes its session's.
 */
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "datafs.h"
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

struct session {
	struct pool *pool;
	char *identifier;
	char etag[37];
	char *dir;
	unsigned slot;
	uid_t uid;
	int64_t created;

	/* p->lock */
	int64_t last_accessed;
	unsigned inflight;
	unsigned refs;
	bool ready;
	bool in_table;

	/* s->mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next_ticket;
	uint64_t serving;
	bool running;
	bool destroyed;
	struct job *jobs; /* asynchronous executions not started yet, in ticket order */
	bool worker;	  /* a worker thread is draining |jobs| */
	struct sbx_session *sbx;
	struct exec_record *records; /* oldest first */
	size_t nfinished;
	size_t record_bytes; /* sum of finished records' bytes */
};

struct pool {
	const struct config *cfg;
	struct sbx_zygote *z;
	const struct datafs *fs; /* not owned */

	pthread_mutex_t lock;
	pthread_cond_t cv; /* a creation finished; an async job ended */
	struct session **tab;
	size_t n, cap;
	unsigned char *slots;
	size_t nslots;
	unsigned async_jobs;

	pthread_t reaper;
	bool reaper_started;
	bool stopping;
	pthread_cond_t reaper_cv;

	/* Pre-forked interpreters, each with its slot and directory, claimed whole. */
	struct ready *ready;
	size_t nready;
	size_t ready_target;
	pthread_t filler;
	bool filler_started;
	pthread_cond_t filler_cv;
};

struct ready {
	struct sbx_session *sbx;
	char *dir;
	unsigned slot;
	uid_t uid;
};

const char *session_identifier(const struct session *s)
{
	return s->identifier;
}

const char *session_etag(const struct session *s)
{
	return s->etag;
}

const char *session_dir(const struct session *s)
{
	return s->dir;
}

uid_t session_uid(const struct session *s)
{
	return s->uid;
}

const char *exec_error_code(enum exec_error e)
{
	switch (e) {
	case EXEC_ERR_NONE:
		return NULL;
	case EXEC_ERR_EXECUTION:
		return "ExecutionError";
	case EXEC_ERR_TIMEOUT:
		return "ExecutionTimeout";
	case EXEC_ERR_RESTARTED:
		return "InterpreterRestarted";
	case EXEC_ERR_CANCELED:
		return "ExecutionCanceled";
	}
	return NULL;
}

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

/* ---- directories ---- */

/* ---- table (p->lock held) ---- */

static struct session *find_locked(struct pool *p, const char *id)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->tab[i]->identifier, id))
			return p->tab[i];
	return NULL;
}

static void remove_locked(struct pool *p, struct session *s)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->tab[i] == s) {
			p->tab[i] = p->tab[--p->n];
			break;
		}
	s->in_table = false;
}

static bool expired_locked(const struct pool *p, const struct session *s, int64_t now)
{
	return s->ready && s->inflight == 0 &&
	       now >= s->last_accessed + (int64_t)p->cfg->cooldown_seconds * UTIL_TICKS_PER_SEC;
}

static int alloc_slot_locked(struct pool *p, unsigned *out)
{
	for (size_t i = 0; i < p->nslots; i++)
		if (!p->slots[i]) {
			p->slots[i] = 1;
			*out = (unsigned)i;
			return 0;
		}
	size_t n = p->nslots ? p->nslots * 2 : 128;
	unsigned char *ns = realloc(p->slots, n);
	if (!ns)
		return -ENOMEM;
	memset(ns + p->nslots, 0, n - p->nslots);
	p->slots = ns;
	*out = (unsigned)p->nslots;
	p->slots[p->nslots] = 1;
	p->nslots = n;
	return 0;
}

static void unref_locked(struct pool *p, struct session *s)
{
	(void)p;
	if (--s->refs > 0)
		return;
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->identifier);
	free(s->dir);
	free(s);
}

static void unref(struct pool *p, struct session *s)
{
	pthread_mutex_lock(&p->lock);
	unref_locked(p, s);
	pthread_mutex_unlock(&p->lock);
}

static void record_unref(struct exec_record *r)
{
	if (--r->refs > 0)
		return;
	exec_view_fini(&r->v);
	free(r);
}

/*
 * Destroys a session that has just left the table; consumes the table's reference. Running
 * cells end as canceled, queued ones are dropped (they see s->destroyed).
 */
static void destroy(struct pool *p, struct session *s)
{
	pthread_mutex_lock(&s->mu);
	s->destroyed = true;
	if (s->sbx)
		sbx_session_cancel(s->sbx);
	pthread_cond_broadcast(&s->cv);
	while (s->running)
		pthread_cond_wait(&s->cv, &s->mu);
	struct sbx_session *sbx = s->sbx;
	s->sbx = NULL;
	struct exec_record *r = s->records;
	s->records = NULL;
	s->nfinished = 0;
	s->record_bytes = 0;
	while (r) {
		struct exec_record *next = r->next;
		record_unref(r);
		r = next;
	}
	pthread_mutex_unlock(&s->mu);

	sbx_session_free(sbx);
	datafs_remove(p->fs, s->dir);

	pthread_mutex_lock(&p->lock);
	if (s->slot < p->nslots)
		p->slots[s->slot] = 0;
	unref_locked(p, s);
	pthread_mutex_unlock(&p->lock);
}

/* Moves every expired session out of the table into |out| (caller destroys them). */
static size_t take_expired_locked(struct pool *p, int64_t now, struct session ***out)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (expired_locked(p, p->tab[i], now))
			k++;
	*out = NULL;
	if (!k)
		return 0;
	struct session **v = calloc(k, sizeof(*v));
	if (!v)
		return 0; /* the reaper will try again */
	size_t j = 0;
	for (size_t i = 0; i < p->n;) {
		struct session *s = p->tab[i];
		if (expired_locked(p, s, now)) {
			v[j++] = s;
			remove_locked(p, s);
		} else {
			i++;
		}
	}
	*out = v;
	return j;
}

/* Logs the expiry of |s|, just taken out of the table (so no one else changes it). */
static void log_expired(const struct pool *p, const struct session *s)
{
	int64_t idle = (util_now_ticks() - s->last_accessed) / UTIL_TICKS_PER_SEC;
	reqlog_session("expired", s->identifier, "idle for %lld s (cooldown %llu s)",
		       (long long)idle, (unsigned long long)p->cfg->cooldown_seconds);
}

/* Destroys the expired sessions of |v| (from take_expired_locked) and frees |v|. */
static void destroy_all(struct pool *p, struct session **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_expired(p, v[i]);
		destroy(p, v[i]);
	}
	free(v);
}

/* ---- life cycle ---- */

int pool_new(const struct config *cfg, struct sbx_zygote *z, const struct datafs *fs,
	     struct pool **out, struct sp_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return sp_err_set(err, -ENOMEM, "out of memory");
	p->cfg = cfg;
	p->z = z;
	p->fs = fs;
	p->ready_target = (size_t)cfg->ready_sessions;
	p->ready = calloc(p->ready_target ? p->ready_target : 1, sizeof(*p->ready));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->filler_cv, &ca);
	pthread_cond_init(&p->reaper_cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = p;
	return 0;
}

static void *reaper_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->reaper_cv, &p->lock, &ts);
		if (p->stopping)
			break;
		struct session **v;
		size_t n = take_expired_locked(p, util_now_ticks(), &v);
		if (n) {
			pthread_mutex_unlock(&p->lock);
			destroy_all(p, v, n);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void ready_free(struct pool *p, struct ready *rd)
{
	sbx_session_free(rd->sbx);
	if (rd->dir)
		datafs_remove(p->fs, rd->dir);
	free(rd->dir);
	pthread_mutex_lock(&p->lock);
	if (rd->slot < p->nslots)
		p->slots[rd->slot] = 0;
	pthread_mutex_unlock(&p->lock);
}

/* Frees the ready interpreters whose zygote died (called with p->lock held, which it drops
 * while freeing); true when there were some. */
static bool drop_stale_ready_locked(struct pool *p)
{
	bool any = false;
	for (size_t i = 0; i < p->nready;) {
		if (!sbx_session_stale(p->ready[i].sbx)) {
			i++;
			continue;
		}
		struct ready rd = p->ready[i];
		p->ready[i] = p->ready[--p->nready];
		pthread_mutex_unlock(&p->lock);
		ready_free(p, &rd);
		pthread_mutex_lock(&p->lock);
		any = true;
		i = 0;
	}
	return any;
}

/* Keeps ready_target interpreters forked ahead of demand, so that a new identifier costs no
 * fork of the zygote (§1.9 of the sandbox notes: ~1 ms against ~10). Every second it also drops
 * those of a zygote that died, so the cache refills once the zygote is back. */
static void *filler_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (drop_stale_ready_locked(p))
			continue;
		if (p->nready >= p->ready_target) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&p->filler_cv, &p->lock, &ts);
			continue;
		}
		struct ready rd = {0};
		if (alloc_slot_locked(p, &rd.slot) < 0) {
			pthread_cond_wait(&p->filler_cv, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);

		char buf[4096];
		datafs_slot_dir(p->fs, rd.slot, buf, sizeof(buf));
		rd.dir = strdup(buf);
		rd.uid = sbx_zygote_slot_uid(p->z, rd.slot);
		struct sp_err err = {0};
		int r = -ENOMEM;
		if (rd.dir) {
			r = datafs_make(p->fs, rd.dir, rd.uid, &err);
			if (r == 0)
				r = sbx_session_spawn(p->z, rd.dir, rd.slot, &rd.sbx, &err);
		}

		pthread_mutex_lock(&p->lock);
		if (r == 0 && !p->stopping) {
			p->ready[p->nready++] = rd;
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		ready_free(p, &rd);
		pthread_mutex_lock(&p->lock);
		if (r < 0 && !p->stopping) {
			/* The zygote failed: retry later, demand spawns directly meanwhile. */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&p->reaper_cv, &p->lock, &ts);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pool_start_reaper(struct pool *p, struct sp_err *err)
{
	int r = pthread_create(&p->reaper, NULL, reaper_main, p);
	if (r)
		return sp_err_sys(err, -r, "start the reaper thread");
	p->reaper_started = true;
	if (p->ready_target) {
		r = pthread_create(&p->filler, NULL, filler_main, p);
		if (r)
			return sp_err_sys(err, -r, "start the ready-session thread");
		p->filler_started = true;
	}
	return 0;
}

void pool_shutdown(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->reaper_cv);
	pthread_cond_broadcast(&p->filler_cv);
	while (p->n) {
		struct session *s = p->tab[p->n - 1];
		if (!s->ready) {
			pthread_cond_wait(&p->cv, &p->lock);
			continue;
		}
		remove_locked(p, s);
		pthread_mutex_unlock(&p->lock);
		destroy(p, s);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_shutdown(p);
	if (p->reaper_started)
		pthread_join(p->reaper, NULL);
	if (p->filler_started)
		pthread_join(p->filler, NULL);
	while (p->nready)
		ready_free(p, &p->ready[--p->nready]);
	/* Asynchronous jobs end at once (their sessions are gone); wait for them. */
	pthread_mutex_lock(&p->lock);
	while (p->async_jobs)
		pthread_cond_wait(&p->cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pool_shutdown(p); /* anything created while the jobs were ending */

	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->reaper_cv);
	pthread_cond_destroy(&p->filler_cv);
	free(p->ready);
	free(p->tab);
	free(p->slots);
	free(p);
}

/* ---- acquire / release ---- */

static struct session *session_new(struct pool *p, const char *id, unsigned slot)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pool = p;
	s->identifier = strdup(id);
	sp_guid(s->etag);
	char buf[4096];
	datafs_slot_dir(p->fs, slot, buf, sizeof(buf));
	s->dir = strdup(buf);
	if (!s->identifier || !s->dir) {
		free(s->identifier);
		free(s->dir);
		free(s);
		return NULL;
	}
	s->slot = slot;
	s->uid = sbx_zygote_slot_uid(p->z, slot);
	s->created = s->last_accessed = util_now_ticks();
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

static int spawn(struct pool *p, struct session *s, struct sp_err *err)
{
	int r = datafs_make(p->fs, s->dir, s->uid, err);
	if (r < 0)
		return r;
	return sbx_session_spawn(p->z, s->dir, s->slot, &s->sbx, err);
}

int pool_acquire(struct pool *p, const char *id, bool create, struct session **out,
		 int64_t *prepare_ms, struct sp_err *err)
{
	if (prepare_ms)
		*prepare_ms = 0;
	struct session **dead = NULL;
	size_t ndead = 0;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct session *s = find_locked(p, id);
		if (!s)
			break;
		if (!s->ready) {
			pthread_cond_wait(&p->cv, &p->lock);
			continue;
		}
		int64_t now = util_now_ticks();
		if (expired_locked(p, s, now)) {
			remove_locked(p, s);
			pthread_mutex_unlock(&p->lock);
			log_expired(p, s);
			destroy(p, s);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		s->inflight++;
		s->refs++;
		s->last_accessed = now;
		pthread_mutex_unlock(&p->lock);
		*out = s;
		return 0;
	}
	if (!create || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	ndead = take_expired_locked(p, util_now_ticks(), &dead);
	if (p->n >= p->cfg->max_sessions) {
		pthread_mutex_unlock(&p->lock);
		destroy_all(p, dead, ndead);
		return -ENOSPC;
	}
	unsigned slot;
	struct session *s = NULL;
	struct ready rd = {0};
	bool claimed = false;
	if (p->nready) {
		rd = p->ready[--p->nready];
		claimed = true;
		pthread_cond_signal(&p->filler_cv);
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct session **nt = realloc(p->tab, ncap * sizeof(*nt));
		if (nt) {
			p->tab = nt;
			p->cap = ncap;
		}
	}
	if (claimed) {
		s = p->n < p->cap ? session_new(p, id, rd.slot) : NULL;
	} else if (p->n < p->cap && alloc_slot_locked(p, &slot) == 0) {
		s = session_new(p, id, slot);
		if (!s)
			p->slots[slot] = 0;
	}
	if (!s) {
		pthread_mutex_unlock(&p->lock);
		if (claimed)
			ready_free(p, &rd);
		destroy_all(p, dead, ndead);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	s->refs = 2; /* the table's and the caller's */
	s->inflight = 1;
	s->in_table = true;
	p->tab[p->n++] = s;
	pthread_mutex_unlock(&p->lock);
	destroy_all(p, dead, ndead);

	int64_t t0 = util_mono_ms();
	int r;
	if (claimed && sbx_session_stale(rd.sbx)) {
		/* Forked by a zygote that died since: a new session must not start with a crash.
		 * Same slot and directory, a fresh interpreter (or -EAGAIN while it restarts). */
		sbx_session_free(rd.sbx);
		free(rd.dir);
		r = sbx_session_spawn(p->z, s->dir, s->slot, &s->sbx, err);
	} else if (claimed) {
		/* Same slot, so same directory: the interpreter and its /mnt/data carry over. */
		s->sbx = rd.sbx;
		free(rd.dir);
		r = 0;
	} else {
		r = spawn(p, s, err);
	}

	pthread_mutex_lock(&p->lock);
	s->ready = true;
	if (r < 0) {
		remove_locked(p, s);
		s->inflight--;
	} else {
		s->last_accessed = util_now_ticks();
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	if (r < 0) {
		unref(p, s);   /* the caller's */
		destroy(p, s); /* the table's */
		return r;
	}
	if (prepare_ms)
		*prepare_ms = util_mono_ms() - t0;
	reqlog_session("created", id, "slot %u, %s interpreter, ready in %lld ms", s->slot,
		       claimed ? "a pre-forked" : "a new", (long long)(util_mono_ms() - t0));
	*out = s;
	return 0;
}

void pool_release(struct pool *p, struct session *s)
{
	pthread_mutex_lock(&p->lock);
	s->inflight--;
	s->last_accessed = util_now_ticks();
	unref_locked(p, s);
	pthread_mutex_unlock(&p->lock);
}

/* Takes one more "request in progress" on an acquired session (for asynchronous jobs). */
static void hold(struct pool *p, struct session *s)
{
	pthread_mutex_lock(&p->lock);
	s->inflight++;
	s->refs++;
	p->async_jobs++;
	pthread_mutex_unlock(&p->lock);
}

/* ---- non-data operations ---- */

static void info_locked(const struct pool *p, const struct session *s, struct session_info *o)
{
	snprintf(o->identifier, sizeof(o->identifier), "%s", s->identifier);
	memcpy(o->etag, s->etag, sizeof(o->etag));
	o->created = s->created;
	o->last_accessed = s->last_accessed;
	o->expire = s->last_accessed + (int64_t)p->cfg->cooldown_seconds * UTIL_TICKS_PER_SEC;
}

int pool_info(struct pool *p, const char *id, struct session_info *out)
{
	int r = -ENOENT;
	pthread_mutex_lock(&p->lock);
	struct session *s = find_locked(p, id);
	if (s && s->ready && !expired_locked(p, s, util_now_ticks())) {
		info_locked(p, s, out);
		r = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pool_delete(struct pool *p, const char *id)
{
	pthread_mutex_lock(&p->lock);
	struct session *s;
	while ((s = find_locked(p, id)) && !s->ready)
		pthread_cond_wait(&p->cv, &p->lock);
	if (!s) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	bool was_expired = expired_locked(p, s, util_now_ticks());
	remove_locked(p, s);
	pthread_mutex_unlock(&p->lock);
	if (was_expired)
		log_expired(p, s);
	else
		reqlog_session("deleted", s->identifier, NULL);
	destroy(p, s);
	return was_expired ? -ENOENT : 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct session_info *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->identifier, y->identifier);
}

int pool_list(struct pool *p, uint64_t skip, size_t limit, struct session_info **out, size_t *n,
	      bool *more)
{
	pthread_mutex_lock(&p->lock);
	int64_t now = util_now_ticks();
	size_t k = 0;
	struct session_info *all = calloc(p->n ? p->n : 1, sizeof(*all));
	if (!all) {
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->tab[i]->ready && !expired_locked(p, p->tab[i], now))
			info_locked(p, p->tab[i], &all[k++]);
	pthread_mutex_unlock(&p->lock);
	qsort(all, k, sizeof(*all), cmp_info);
	size_t start = skip < k ? (size_t)skip : k;
	size_t cnt = k - start < limit ? k - start : limit;
	memmove(all, all + start, cnt * sizeof(*all));
	*out = all;
	*n = cnt;
	*more = start + cnt < k;
	return 0;
}

size_t pool_live_count(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	int64_t now = util_now_ticks();
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->tab[i]->ready && !expired_locked(p, p->tab[i], now))
			k++;
	pthread_mutex_unlock(&p->lock);
	return k;
}

/* ---- executions ---- */

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
	size_t limit = s->pool->cfg->execution_records_per_session;
	struct exec_record **pp = &s->records;
	while ((s->nfinished > limit || s->record_bytes > RECORDS_MAX_BYTES) && s->nfinished > 1 &&
	       *pp) {
		struct exec_record *r = *pp;
		if (r->finished) {
			*pp = r->next;
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
		if (v->kind == SBX_VALUE_IMAGE) {
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
		v->kind = SBX_VALUE_TEXT;
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

static void set_failure(struct exec_view *v, enum exec_status st, enum exec_error e,
			const char *line, size_t max)
{
	v->status = st;
	v->error = e;
	free(v->error_message);
	v->error_message = strdup(line);
	char *nl = v->error_message ? strchr(v->error_message, '\n') : NULL;
	if (nl)
		*nl = '\0';
	append_capped(&v->stderr_text, &v->stderr_len, line, max);
	free(v->value);
	v->value = NULL;
	v->kind = SBX_VALUE_NULL;
}

/* Turns the sandbox's neutral result into the record's final state (§8.5–§8.8). */
static void finish(struct exec_record *rec, struct sbx_exec_result *res, unsigned timeout_s,
		   size_t max)
{
	struct exec_view *v = &rec->v;
	v->stdout_text = steal_pointer(&res->stdout_text);
	v->stderr_text = steal_pointer(&res->stderr_text);
	v->stdout_len = v->stdout_text ? res->stdout_len : 0;
	v->stderr_len = v->stderr_text ? res->stderr_len : 0;
	v->exec_ms = res->exec_ms;
	v->prepare_ms = res->prepare_ms;
	v->request_ms = res->request_ms;
	v->read_ms = res->read_ms;
	if (!v->stdout_text)
		v->stdout_text = strdup("");
	if (!v->stderr_text)
		v->stderr_text = strdup("");
	char line[512];
	switch (res->outcome) {
	case SBX_OUTCOME_OK:
		v->status = EXEC_SUCCEEDED;
		v->kind = res->value_kind;
		v->value = steal_pointer(&res->value);
		break;
	case SBX_OUTCOME_EXCEPTION:
		v->status = EXEC_FAILED;
		v->error = EXEC_ERR_EXECUTION;
		v->error_message = steal_pointer(&res->error_message);
		if (!v->error_message)
			v->error_message = strdup("Exception");
		v->kind = SBX_VALUE_NULL;
		break;
	case SBX_OUTCOME_TIMEOUT:
		snprintf(line, sizeof(line), "Execution timed out after %u seconds.\n", timeout_s);
		set_failure(v, EXEC_FAILED, EXEC_ERR_TIMEOUT, line, max);
		break;
	case SBX_OUTCOME_TIMEOUT_RESTARTED:
		snprintf(line, sizeof(line),
			 "Execution timed out after %u seconds. The Python interpreter was "
			 "restarted; variables and imports were lost.\n",
			 timeout_s);
		set_failure(v, EXEC_FAILED, EXEC_ERR_TIMEOUT, line, max);
		break;
	case SBX_OUTCOME_CRASHED:
		snprintf(line, sizeof(line),
			 "The Python interpreter exited unexpectedly (%s); it was restarted and "
			 "variables and imports were lost.\n",
			 res->error_message ? res->error_message : "unknown cause");
		set_failure(v, EXEC_FAILED, EXEC_ERR_RESTARTED, line, max);
		break;
	case SBX_OUTCOME_CANCELED:
		set_failure(v, EXEC_CANCELED, EXEC_ERR_CANCELED,
			    "Execution canceled: the session was deleted.\n", max);
		break;
	}
	rec->finished = true;
}

static void finish_canceled(struct exec_record *rec, size_t max)
{
	struct sbx_exec_result res = {.outcome = SBX_OUTCOME_CANCELED};
	finish(rec, &res, 0, max);
}

static void finish_internal(struct exec_record *rec, const char *why, size_t max)
{
	struct exec_view *v = &rec->v;
	if (!v->stdout_text)
		v->stdout_text = strdup("");
	char line[512];
	snprintf(line, sizeof(line), "The emulator could not run the cell: %s\n", why);
	set_failure(v, EXEC_FAILED, EXEC_ERR_RESTARTED, line, max);
	rec->finished = true;
}

/* The request log's session events of a cell's outcome: timeouts and restarts. */
static void log_outcome(const struct session *s, const struct sbx_exec_result *res,
			unsigned timeout_s)
{
	switch (res->outcome) {
	case SBX_OUTCOME_TIMEOUT:
		reqlog_session("timeout", s->identifier,
			       "execution timed out after %u s; KeyboardInterrupt, state kept",
			       timeout_s);
		break;
	case SBX_OUTCOME_TIMEOUT_RESTARTED:
		reqlog_session("timeout", s->identifier,
			       "execution timed out after %u s; the cell ignored KeyboardInterrupt",
			       timeout_s);
		reqlog_session("interpreter-restarted", s->identifier,
			       "killed %u s after the timeout's KeyboardInterrupt",
			       (unsigned)s->pool->cfg->interrupt_grace_s);
		break;
	case SBX_OUTCOME_CRASHED:
		reqlog_session("interpreter-restarted", s->identifier, "the interpreter exited: %s",
			       res->error_message ? res->error_message : "unknown cause");
		break;
	case SBX_OUTCOME_OK:
	case SBX_OUTCOME_EXCEPTION:
	case SBX_OUTCOME_CANCELED:
		break;
	}
}

/* Waits for |ticket|'s turn, runs the cell, records the outcome. Returns the sandbox's code. */
static int run_cell(struct pool *p, struct session *s, struct exec_record *rec, uint64_t ticket,
		    const struct exec_params *prm, struct sp_err *err)
{
	(void)p;
	pthread_mutex_lock(&s->mu);
	while (s->serving != ticket && !s->destroyed)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->destroyed) {
		finish_canceled(rec, prm->stream_max);
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->running = true;
	struct sbx_session *sbx = s->sbx;
	pthread_mutex_unlock(&s->mu);

	struct sbx_exec_request req = {
	    .code = prm->code,
	    .code_len = prm->code_len,
	    .timeout_ms = prm->timeout_s * 1000u,
	    .grace_ms = (unsigned)s->pool->cfg->interrupt_grace_s * 1000u,
	    .stream_max_chars = prm->stream_max,
	    .label = s->identifier,
	};
	struct sbx_exec_result res = {0};
	int r = sbx_session_exec(sbx, &req, &res, err);
	if (r == 0)
		log_outcome(s, &res, prm->timeout_s);

	pthread_mutex_lock(&s->mu);
	s->running = false;
	s->serving++;
	if (r < 0)
		finish_internal(rec, err ? err->msg : "sandbox failure", prm->stream_max);
	else if (s->destroyed && res.outcome != SBX_OUTCOME_OK)
		finish_canceled(rec, prm->stream_max);
	else
		finish(rec, &res, prm->timeout_s, prm->stream_max);
	bound_record(rec);
	s->nfinished++;
	s->record_bytes += rec->bytes;
	evict_records(s);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	sbx_exec_result_fini(&res);
	return r;
}

struct job {
	struct job *next;
	struct exec_record *rec;
	uint64_t ticket;
	struct exec_params prm;
	char *code;
};

/* An asynchronous execution or a worker ended: pool_free waits for async_jobs to reach 0. */
static void job_done(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->async_jobs--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

/* pool_release() of a job's reference by the worker, whose own reference keeps |s| allocated
 * (so, unlike unref_locked(), this never frees; gcc's -Wuse-after-free cannot see that). */
static void release_job_ref(struct pool *p, struct session *s)
{
	pthread_mutex_lock(&p->lock);
	s->inflight--;
	s->last_accessed = util_now_ticks();
	s->refs--;
	pthread_mutex_unlock(&p->lock);
}

/*
 * The session's one worker: runs its queued asynchronous executions in ticket order, then
 * exits. At most one per session, so threads stay bounded by max_sessions however many
 * executions are queued. Holds a reference of its own (taken by the starter) until it last
 * touches the session.
 */
static void session_worker_run(struct session *s)
{
	struct pool *p = s->pool;
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
		run_cell(p, s, j->rec, j->ticket, &j->prm, &err);
		pthread_mutex_lock(&s->mu);
		record_unref(j->rec);
		pthread_mutex_unlock(&s->mu);
		release_job_ref(p, s);
		free(j->code);
		free(j);
		job_done(p);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	pool_release(p, s);
	job_done(p);
}

static void *session_worker_main(void *arg)
{
	session_worker_run(arg);
	return NULL;
}

/* Queues |rec| as an asynchronous execution. Returns 0, or -ENOMEM (nothing queued). */
static int queue_async(struct pool *p, struct session *s, struct exec_record *rec, uint64_t ticket,
		       const struct exec_params *prm, struct exec_view *out)
{
	struct job *j = calloc(1, sizeof(*j));
	char *code = j ? malloc(prm->code_len + 1) : NULL;
	if (!code) {
		free(j);
		return -ENOMEM;
	}
	memcpy(code, prm->code, prm->code_len);
	code[prm->code_len] = '\0';
	j->rec = rec;
	j->ticket = ticket;
	j->prm = *prm;
	j->prm.code = code;
	j->prm.operation_id = NULL;
	j->code = code;
	hold(p, s); /* the job's */

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

	hold(p, s); /* the worker's */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_t t;
	int e = pthread_create(&t, &attr, session_worker_main, s);
	pthread_attr_destroy(&attr);
	if (e != 0)
		session_worker_run(s); /* no thread to be had: drain the queue here */
	return 0;
}

int session_exec(struct pool *p, struct session *s, const struct exec_params *prm,
		 struct exec_view *out, struct sp_err *err)
{
	struct exec_record *rec = calloc(1, sizeof(*rec));
	if (!rec)
		return sp_err_set(err, -ENOMEM, "out of memory");
	rec->v.async = prm->async;
	rec->v.status = EXEC_RUNNING;
	rec->refs = 2; /* the session's list and this call (or the job) */

	pthread_mutex_lock(&s->mu);
	if (prm->operation_id && *prm->operation_id &&
	    !find_record(s, prm->operation_id, strlen(prm->operation_id)))
		snprintf(rec->v.id, sizeof(rec->v.id), "%s", prm->operation_id);
	else
		sp_guid(rec->v.id);
	struct exec_record **pp = &s->records;
	while (*pp)
		pp = &(*pp)->next;
	*pp = rec;
	uint64_t ticket = s->next_ticket++;
	pthread_mutex_unlock(&s->mu);

	/* Could not queue it (out of memory): run it here, so the ticket queue still advances. */
	if (prm->async && queue_async(p, s, rec, ticket, prm, out) == 0)
		return 0;

	int r = run_cell(p, s, rec, ticket, prm, err);
	pthread_mutex_lock(&s->mu);
	view_copy(out, &rec->v);
	out->async = prm->async;
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
