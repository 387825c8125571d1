/* SPDX-License-Identifier: MIT */
/*
 * The session pool; see pool.h.
 *
 * Locking: p->lock guards the table, every entry's last_accessed/inflight/refs/ready, the
 * slot map and the ready cache; it is held only for bookkeeping, never across a spawn, an
 * execution or file I/O. A session's own lock (session.c) is never held while p->lock is taken
 * from session code: the lease callbacks run without it.
 *
 * An entry leaves the table exactly once (expiry, deletion, failed creation or shutdown) and
 * whoever removes it destroys it: session_close() (cancel the running cell, wait for it, free
 * the interpreter and its directory), then free its slot.
 *
 * A session's /mnt/data is the directory of its slot (a tmpfs with the quota, which cannot be
 * renamed), made when the slot is taken: a ready interpreter's slot, directory included,
 * simply becomes its session's.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guid.h"
#include "reqlog.h"
#include "util.h"

struct pool_entry {
	struct pool *pool;
	char *identifier;
	char etag[37];
	char *dir;
	unsigned slot;
	uid_t uid;
	int64_t created;
	struct session *sess;	  /* set before |ready| */
	struct pool_entry *hnext; /* next in its hash bucket (p->lock) */

	/* p->lock */
	int64_t last_accessed;
	unsigned inflight;
	unsigned refs;
	bool ready;
};

/* An interpreter spawned ahead of demand, with its slot (and so its directory). */
struct ready {
	struct bk_session *bks;
	unsigned slot;
};

#define FILLERS	      2	 /* threads filling the ready cache */
#define READY_MAX     64 /* the most the demand may raise the ready target to */
#define READY_DECAY_S 10 /* seconds without a miss before the target goes down by one */

struct pool {
	struct pool_options o;
	struct backend bk;
	struct pool_clock clock;

	pthread_mutex_t lock;
	pthread_cond_t cv;	 /* a creation finished; an asynchronous job ended */
	struct pool_entry **tab; /* ordered by createdAt, then identifier (listing order) */
	size_t n, cap;
	struct pool_entry **buckets; /* identifier → entry, chained */
	size_t nbuckets;	     /* a power of two, at least n */
	unsigned char *slots;
	size_t nslots;
	unsigned async_holds;
	bool stopping;

	pthread_t reaper;
	bool reaper_started;
	pthread_cond_t reaper_cv;

	/* The ready cache: |target| interpreters kept spawned ahead, between the configured
	 * ready_target and |target_max|; a creation that finds it empty raises the target (demand),
	 * a quiet READY_DECAY_S lowers it again by one and frees the excess. FILLERS threads spawn
	 * in parallel (a spawn is mostly the child's own preparation, on another CPU). */
	struct ready *ready;
	size_t nready;
	size_t filling; /* spawns in progress for the cache */
	size_t target, target_max;
	int64_t last_miss; /* ticks: the last creation that found the cache empty */
	int64_t last_decay;
	pthread_t filler[FILLERS];
	size_t nfillers;
	pthread_cond_t filler_cv;
};

struct session *entry_session(const struct pool_entry *e)
{
	return e->sess;
}

const char *entry_identifier(const struct pool_entry *e)
{
	return e->identifier;
}

const char *entry_etag(const struct pool_entry *e)
{
	return e->etag;
}

const char *entry_dir(const struct pool_entry *e)
{
	return e->dir;
}

uid_t entry_uid(const struct pool_entry *e)
{
	return e->uid;
}

static int64_t real_now(void *ctx)
{
	(void)ctx;
	return util_now_ticks();
}

static int64_t now(const struct pool *p)
{
	return p->clock.now_ticks(p->clock.ctx);
}

/* ---- table (p->lock held) ---- */

/* FNV-1a of the identifier. */
static size_t hash_id(const char *id)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *c = (const unsigned char *)id; *c; c++)
		h = (h ^ *c) * 1099511628211ULL;
	return (size_t)h;
}

static struct pool_entry *find_locked(struct pool *p, const char *id)
{
	if (!p->nbuckets)
		return NULL;
	for (struct pool_entry *e = p->buckets[hash_id(id) & (p->nbuckets - 1)]; e; e = e->hnext)
		if (!strcmp(e->identifier, id))
			return e;
	return NULL;
}

/* Listing order: createdAt, then identifier. */
static int entry_cmp(const struct pool_entry *a, const struct pool_entry *b)
{
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->identifier, b->identifier);
}

/* Where |e| is, or would go, in p->tab (binary search). */
static size_t tab_pos_locked(const struct pool *p, const struct pool_entry *e)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (entry_cmp(p->tab[mid], e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Room for one more entry in the table and the hash (doubling both). 0 or -ENOMEM. */
static int grow_locked(struct pool *p)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct pool_entry **nt = realloc(p->tab, ncap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		p->tab = nt;
		p->cap = ncap;
	}
	if (p->n + 1 <= p->nbuckets)
		return 0;
	size_t nb = p->nbuckets ? p->nbuckets * 2 : 64;
	struct pool_entry **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < p->nbuckets; i++)
		for (struct pool_entry *e = p->buckets[i], *next; e; e = next) {
			next = e->hnext;
			size_t h = hash_id(e->identifier) & (nb - 1);
			e->hnext = b[h];
			b[h] = e;
		}
	free(p->buckets);
	p->buckets = b;
	p->nbuckets = nb;
	return 0;
}

/* Adds |e| to the table and the hash (grow_locked() made room). */
static void add_locked(struct pool *p, struct pool_entry *e)
{
	size_t at = tab_pos_locked(p, e);
	memmove(&p->tab[at + 1], &p->tab[at], (p->n - at) * sizeof(*p->tab));
	p->tab[at] = e;
	p->n++;
	size_t h = hash_id(e->identifier) & (p->nbuckets - 1);
	e->hnext = p->buckets[h];
	p->buckets[h] = e;
}

static void remove_locked(struct pool *p, struct pool_entry *e)
{
	size_t at = tab_pos_locked(p, e);
	if (at < p->n && p->tab[at] == e) {
		memmove(&p->tab[at], &p->tab[at + 1], (p->n - at - 1) * sizeof(*p->tab));
		p->n--;
	}
	for (struct pool_entry **pp = &p->buckets[hash_id(e->identifier) & (p->nbuckets - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
}

static bool expired_locked(const struct pool *p, const struct pool_entry *e, int64_t t)
{
	return e->ready && e->inflight == 0 &&
	       t >= e->last_accessed + (int64_t)p->o.cooldown_s * UTIL_TICKS_PER_SEC;
}

static bool live_locked(const struct pool *p, const struct pool_entry *e, int64_t t)
{
	return e->ready && !expired_locked(p, e, t);
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

static void free_slot_locked(struct pool *p, unsigned slot)
{
	if (slot < p->nslots)
		p->slots[slot] = 0;
	pthread_cond_signal(&p->filler_cv);
}

static void unref_locked(struct pool_entry *e)
{
	if (--e->refs > 0)
		return;
	session_free(e->sess);
	free(e->identifier);
	free(e->dir);
	free(e);
}

/* Destroys an entry that has just left the table; consumes the table's reference. */
static void destroy(struct pool *p, struct pool_entry *e)
{
	if (e->sess)
		session_close(e->sess);
	pthread_mutex_lock(&p->lock);
	free_slot_locked(p, e->slot);
	unref_locked(e);
	pthread_mutex_unlock(&p->lock);
}

/* Moves every expired entry out of the table into *out (the caller destroys them). */
static size_t take_expired_locked(struct pool *p, struct pool_entry ***out)
{
	int64_t t = now(p);
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (expired_locked(p, p->tab[i], t))
			k++;
	*out = NULL;
	if (!k)
		return 0;
	struct pool_entry **v = calloc(k, sizeof(*v));
	if (!v)
		return 0; /* the reaper will try again */
	size_t j = 0;
	for (size_t i = 0; i < p->n;) {
		struct pool_entry *e = p->tab[i];
		if (expired_locked(p, e, t)) {
			v[j++] = e;
			remove_locked(p, e);
		} else {
			i++;
		}
	}
	*out = v;
	return j;
}

/* Logs the expiry of |e|, just taken out of the table (so no one else changes it). */
static void log_expired(const struct pool *p, const struct pool_entry *e)
{
	int64_t idle = (now(p) - e->last_accessed) / UTIL_TICKS_PER_SEC;
	reqlog_session("expired", e->identifier, "idle for %lld s (cooldown %llu s)",
		       (long long)idle, (unsigned long long)p->o.cooldown_s);
}

/* Destroys the expired entries of |v| (from take_expired_locked) and frees |v|. */
static void destroy_all(struct pool *p, struct pool_entry **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_expired(p, v[i]);
		destroy(p, v[i]);
	}
	free(v);
}

void pool_reap(struct pool *p)
{
	struct pool_entry **v;
	pthread_mutex_lock(&p->lock);
	size_t n = take_expired_locked(p, &v);
	pthread_mutex_unlock(&p->lock);
	destroy_all(p, v, n);
}

/* ---- life cycle ---- */

int pool_new(const struct pool_options *o, const struct backend *bk, const struct pool_clock *clock,
	     struct pool **out, struct sp_err *err)
{
	struct pool *p = calloc(1, sizeof(*p));
	size_t max = o->ready_target * 4 > READY_MAX ? READY_MAX : o->ready_target * 4;
	if (max < o->ready_target)
		max = o->ready_target;
	if (p)
		p->ready = calloc(max ? max : 1, sizeof(*p->ready));
	if (!p || !p->ready) {
		free(p);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}
	p->o = *o;
	p->target = o->ready_target;
	p->target_max = max;
	p->bk = *bk;
	p->clock = clock ? *clock : (struct pool_clock){real_now, NULL};
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

/* Waits on |cv| (p->lock held) for at most |ms| milliseconds. */
static void wait_ms_locked(struct pool *p, pthread_cond_t *cv, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, &p->lock, &ts);
}

static void *reaper_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		wait_ms_locked(p, &p->reaper_cv, 250);
		if (p->stopping)
			break;
		pthread_mutex_unlock(&p->lock);
		pool_reap(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- the ready cache ---- */

static void ready_free(struct pool *p, struct ready *rd)
{
	p->bk.ops->free(rd->bks);
	pthread_mutex_lock(&p->lock);
	free_slot_locked(p, rd->slot);
	pthread_mutex_unlock(&p->lock);
}

/* Frees the ready interpreters that died (p->lock held, dropped while freeing); true when
 * there were some. */
static bool drop_stale_ready_locked(struct pool *p)
{
	bool any = false;
	for (size_t i = 0; i < p->nready;) {
		if (!p->bk.ops->stale(p->ready[i].bks)) {
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

/* Spawns one ready interpreter (p->lock held, dropped meanwhile): 0, -EAGAIN when no slot or
 * the pool stops, or the backend's error. */
static int fill_one_locked(struct pool *p)
{
	struct ready rd = {0};
	if (p->stopping || alloc_slot_locked(p, &rd.slot) < 0)
		return -EAGAIN;
	p->filling++;
	pthread_mutex_unlock(&p->lock);
	struct sp_err err = {0};
	int r = p->bk.ops->spawn(p->bk.ctx, rd.slot, true, &rd.bks, &err);
	pthread_mutex_lock(&p->lock);
	p->filling--;
	if (r == 0 && !p->stopping && p->nready < p->target_max) {
		p->ready[p->nready++] = rd;
		return 0;
	}
	if (r == 0) {
		pthread_mutex_unlock(&p->lock);
		ready_free(p, &rd);
		pthread_mutex_lock(&p->lock);
		return -EAGAIN;
	}
	free_slot_locked(p, rd.slot);
	return r;
}

/* A quiet READY_DECAY_S since the last miss (and the last step down): the target goes down by
 * one, and a ready interpreter beyond it is freed (p->lock held, dropped while freeing). */
static void decay_locked(struct pool *p)
{
	int64_t t = now(p), quiet = (int64_t)READY_DECAY_S * UTIL_TICKS_PER_SEC;
	if (p->target > p->o.ready_target && t - p->last_miss >= quiet &&
	    t - p->last_decay >= quiet) {
		p->target--;
		p->last_decay = t;
	}
	while (p->nready > p->target) {
		struct ready rd = p->ready[--p->nready];
		pthread_mutex_unlock(&p->lock);
		ready_free(p, &rd);
		pthread_mutex_lock(&p->lock);
	}
}

/* A creation found the cache empty: raise the target (p->lock held). */
static void miss_locked(struct pool *p)
{
	if (!p->o.ready_target)
		return;
	p->last_miss = now(p);
	size_t t = p->target * 2;
	p->target = t < p->target_max ? t : p->target_max;
	pthread_cond_broadcast(&p->filler_cv);
}

int pool_fill(struct pool *p)
{
	int r = 0;
	pthread_mutex_lock(&p->lock);
	drop_stale_ready_locked(p);
	decay_locked(p);
	while (r == 0 && p->nready + p->filling < p->target)
		r = fill_one_locked(p);
	pthread_mutex_unlock(&p->lock);
	return r;
}

size_t pool_ready_count(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->nready;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t pool_ready_target(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->target;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* Keeps the ready cache at its target, so that a new identifier costs no spawn; every second
 * it also drops interpreters that died (a zygote restart), so the cache refills once it is
 * back, and lets the target decay. FILLERS of these run at once. */
static void *filler_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		if (drop_stale_ready_locked(p))
			continue;
		decay_locked(p);
		if (p->nready + p->filling >= p->target) {
			wait_ms_locked(p, &p->filler_cv, 1000);
			continue;
		}
		int r = fill_one_locked(p);
		if (r < 0 && !p->stopping) /* the backend failed: retry later, demand spawns */
			wait_ms_locked(p, &p->filler_cv, 1000);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int pool_start(struct pool *p, struct sp_err *err)
{
	int r = pthread_create(&p->reaper, NULL, reaper_main, p);
	if (r)
		return sp_err_sys(err, -r, "start the reaper thread");
	p->reaper_started = true;
	for (size_t i = 0; p->o.ready_target && i < FILLERS; i++) {
		r = pthread_create(&p->filler[i], NULL, filler_main, p);
		if (r)
			return sp_err_sys(err, -r, "start the ready-session threads");
		p->nfillers++;
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
		struct pool_entry *e = p->tab[p->n - 1];
		if (!e->ready) {
			pthread_cond_wait(&p->cv, &p->lock);
			continue;
		}
		remove_locked(p, e);
		pthread_mutex_unlock(&p->lock);
		destroy(p, e);
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
	for (size_t i = 0; i < p->nfillers; i++)
		pthread_join(p->filler[i], NULL);
	while (p->nready)
		ready_free(p, &p->ready[--p->nready]);
	/* Asynchronous jobs end at once (their sessions are gone); wait for them. */
	pthread_mutex_lock(&p->lock);
	while (p->async_holds)
		pthread_cond_wait(&p->cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pool_shutdown(p); /* anything created while the jobs were ending */

	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->reaper_cv);
	pthread_cond_destroy(&p->filler_cv);
	free(p->ready);
	free(p->tab);
	free(p->buckets);
	free(p->slots);
	free(p);
}

/* ---- leases ---- */

/* An asynchronous job or worker of the entry's session started: one more request in
 * progress (session.h). */
static void lease_hold(void *ctx)
{
	struct pool_entry *e = ctx;
	struct pool *p = e->pool;
	pthread_mutex_lock(&p->lock);
	e->inflight++;
	e->refs++;
	p->async_holds++;
	pthread_mutex_unlock(&p->lock);
}

/* It ended: may free the entry (and so the session) when it held the last reference. */
static void lease_release(void *ctx)
{
	struct pool_entry *e = ctx;
	struct pool *p = e->pool;
	pthread_mutex_lock(&p->lock);
	e->inflight--;
	e->last_accessed = now(p);
	p->async_holds--;
	pthread_cond_broadcast(&p->cv);
	unref_locked(e);
	pthread_mutex_unlock(&p->lock);
}

static struct pool_entry *entry_new(struct pool *p, const char *id, unsigned slot)
{
	struct pool_entry *e = calloc(1, sizeof(*e));
	char buf[4096];
	p->bk.ops->slot_dir(p->bk.ctx, slot, buf, sizeof(buf));
	if (e) {
		e->identifier = strdup(id);
		e->dir = strdup(buf);
	}
	if (!e || !e->identifier || !e->dir) {
		if (e) {
			free(e->identifier);
			free(e->dir);
		}
		free(e);
		return NULL;
	}
	e->pool = p;
	sp_guid(e->etag);
	e->slot = slot;
	e->uid = p->bk.ops->slot_uid(p->bk.ctx, slot);
	e->created = e->last_accessed = now(p);
	return e;
}

/* Returns the live entry of |id| with a request in progress, or NULL (p->lock held; drops it
 * to destroy an expired one). */
static struct pool_entry *lookup_locked(struct pool *p, const char *id)
{
	for (;;) {
		struct pool_entry *e = find_locked(p, id);
		if (!e)
			return NULL;
		if (!e->ready) {
			pthread_cond_wait(&p->cv, &p->lock);
			continue;
		}
		int64_t t = now(p);
		if (expired_locked(p, e, t)) {
			remove_locked(p, e);
			pthread_mutex_unlock(&p->lock);
			log_expired(p, e);
			destroy(p, e);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		e->inflight++;
		e->refs++;
		e->last_accessed = t;
		return e;
	}
}

/* Takes a slot for a new entry, and its ready interpreter when the cache has one (p->lock
 * held). Returns the entry in the table (not ready yet), or NULL when out of memory. */
static struct pool_entry *insert_locked(struct pool *p, const char *id, struct ready *rd,
					bool *claimed)
{
	*claimed = false;
	if (grow_locked(p) < 0)
		return NULL;
	if (p->nready) {
		*rd = p->ready[--p->nready];
		*claimed = true;
		pthread_cond_signal(&p->filler_cv);
	} else {
		miss_locked(p);
		if (alloc_slot_locked(p, &rd->slot) < 0)
			return NULL;
	}
	struct pool_entry *e = entry_new(p, id, rd->slot);
	if (!e) {
		if (!*claimed)
			free_slot_locked(p, rd->slot);
		return NULL;
	}
	e->refs = 2; /* the table's and the caller's */
	e->inflight = 1;
	add_locked(p, e);
	return e;
}

/* Gives a new entry its session: the ready interpreter |rd| when *claimed and alive, else a
 * fresh spawn (then *claimed is false, for the log line). 0 or the backend's error. */
static int start_session(struct pool *p, struct pool_entry *e, struct ready *rd, bool *claimed,
			 struct sp_err *err)
{
	struct bk_session *bks = NULL;
	int r = 0;
	if (*claimed && p->bk.ops->stale(rd->bks)) {
		/* Forked by a zygote that died since: a new session must not start with a crash. */
		p->bk.ops->free(rd->bks);
		*claimed = false;
	}
	if (*claimed)
		bks = rd->bks;
	else
		r = p->bk.ops->spawn(p->bk.ctx, e->slot, false, &bks, err);
	if (r < 0)
		return r;
	struct session_limits lim = {
	    .records_max = p->o.records_max, .grace_s = p->o.grace_s, .label = e->identifier};
	struct session_lease lease = {lease_hold, lease_release, e};
	e->sess = session_new(&p->bk, bks, &lim, &lease);
	return e->sess ? 0 : sp_err_set(err, -ENOMEM, "out of memory");
}

/* Creates the entry of |id| (p->lock held on entry, released on return). */
static int create(struct pool *p, const char *id, struct pool_entry **out, int64_t *prepare_ms,
		  struct sp_err *err)
{
	struct pool_entry **dead = NULL;
	size_t ndead = take_expired_locked(p, &dead);
	if (p->n >= p->o.max_sessions) {
		pthread_mutex_unlock(&p->lock);
		destroy_all(p, dead, ndead);
		return -ENOSPC;
	}
	struct ready rd = {0};
	bool claimed;
	struct pool_entry *e = insert_locked(p, id, &rd, &claimed);
	pthread_mutex_unlock(&p->lock);
	destroy_all(p, dead, ndead);
	if (!e) {
		if (claimed)
			ready_free(p, &rd);
		return sp_err_set(err, -ENOMEM, "out of memory");
	}

	int64_t t0 = util_mono_ms();
	int r = start_session(p, e, &rd, &claimed, err);

	pthread_mutex_lock(&p->lock);
	e->ready = true;
	if (r < 0) {
		remove_locked(p, e);
		e->inflight--;
		e->refs--; /* the caller's; the table's goes in destroy() */
	} else {
		e->last_accessed = now(p);
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	if (r < 0) {
		destroy(p, e);
		return r;
	}
	int64_t ms = util_mono_ms() - t0;
	if (prepare_ms)
		*prepare_ms = ms;
	if (p->o.on_create)
		p->o.on_create(id);
	reqlog_session("created", id, "slot %u, %s interpreter, ready in %lld ms", e->slot,
		       claimed ? "a pre-forked" : "a new", (long long)ms);
	*out = e;
	return 0;
}

int pool_acquire(struct pool *p, const char *id, bool create_it, struct pool_entry **out,
		 int64_t *prepare_ms, struct sp_err *err)
{
	if (prepare_ms)
		*prepare_ms = 0;
	pthread_mutex_lock(&p->lock);
	struct pool_entry *e = lookup_locked(p, id);
	if (e) {
		pthread_mutex_unlock(&p->lock);
		*out = e;
		return 0;
	}
	if (!create_it || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	return create(p, id, out, prepare_ms, err);
}

void pool_release(struct pool *p, struct pool_entry *e)
{
	pthread_mutex_lock(&p->lock);
	e->inflight--;
	e->last_accessed = now(p);
	unref_locked(e);
	pthread_mutex_unlock(&p->lock);
}

/* ---- non-data operations ---- */

static void info_locked(const struct pool *p, const struct pool_entry *e, struct session_info *o)
{
	size_t n = strnlen(e->identifier, sizeof(o->identifier) - 1);
	memcpy(o->identifier, e->identifier, n);
	o->identifier[n] = '\0';
	memcpy(o->etag, e->etag, sizeof(o->etag));
	o->created = e->created;
	o->last_accessed = e->last_accessed;
	o->expire = e->last_accessed + (int64_t)p->o.cooldown_s * UTIL_TICKS_PER_SEC;
}

int pool_info(struct pool *p, const char *id, struct session_info *out)
{
	int r = -ENOENT;
	pthread_mutex_lock(&p->lock);
	struct pool_entry *e = find_locked(p, id);
	if (e && live_locked(p, e, now(p))) {
		info_locked(p, e, out);
		r = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int pool_delete(struct pool *p, const char *id)
{
	pthread_mutex_lock(&p->lock);
	struct pool_entry *e;
	while ((e = find_locked(p, id)) && !e->ready)
		pthread_cond_wait(&p->cv, &p->lock);
	if (!e) {
		pthread_mutex_unlock(&p->lock);
		return -ENOENT;
	}
	bool was_expired = expired_locked(p, e, now(p));
	remove_locked(p, e);
	pthread_mutex_unlock(&p->lock);
	if (was_expired)
		log_expired(p, e);
	else
		reqlog_session("deleted", e->identifier, NULL);
	destroy(p, e);
	return was_expired ? -ENOENT : 0;
}

int pool_list(struct pool *p, uint64_t skip, size_t limit, struct session_info **out, size_t *n,
	      bool *more)
{
	pthread_mutex_lock(&p->lock);
	int64_t t = now(p);
	/* p->tab is in listing order: walk to |skip| live entries, copy one page. */
	size_t i = 0;
	for (uint64_t k = 0; i < p->n && k < skip; i++)
		if (live_locked(p, p->tab[i], t))
			k++;
	size_t room = limit < p->n - i ? limit : p->n - i;
	struct session_info *page = calloc(room ? room : 1, sizeof(*page));
	if (!page) {
		pthread_mutex_unlock(&p->lock);
		return -ENOMEM;
	}
	size_t k = 0;
	for (; i < p->n && k < limit; i++)
		if (live_locked(p, p->tab[i], t))
			info_locked(p, p->tab[i], &page[k++]);
	bool after = false;
	for (; i < p->n && !after; i++)
		after = live_locked(p, p->tab[i], t);
	pthread_mutex_unlock(&p->lock);
	*out = page;
	*n = k;
	*more = after;
	return 0;
}

size_t pool_live_count(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	int64_t t = now(p);
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		if (live_locked(p, p->tab[i], t))
			k++;
	pthread_mutex_unlock(&p->lock);
	return k;
}

void pool_describe(struct pool *p, struct bk_info *out)
{
	p->bk.ops->describe(p->bk.ctx, out);
}
