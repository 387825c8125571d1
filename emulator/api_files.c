/* SPDX-License-Identifier: MIT */
/*
 * The files operations of both API shapes (contract §5.2–§5.6, §6.3–§6.7, §9): upload, list,
 * metadata, download and delete. Check order (§10.3): the `path` (and, for a new-shape list,
 * `recursive`) query parameters and the {name+}; then, for uploads, the Content-Type, the
 * Content-Length pre-check and the `file` part's headers; only then the session is acquired
 * (created if needed); then the operation.
 *
 * Invariants: every path is normalised by filepath.h and opened through beneath.h, so no
 * operation follows a symbolic link or touches anything outside the session directory, which
 * session code controls entirely. Uploads stream to a temporary file next to the target and
 * are renamed over it only when the whole body was valid, so a failed upload leaves the old
 * file untouched; memory stays constant whatever the file size. Downloads stream too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "beneath.h"
#include "cleanup.h"
#include "filepath.h"
#include "guid.h"
#include "mime.h"
#include "multipart.h"
#include "pool.h"

#define MIB ((uint64_t)1 << 20)
/* Slack over upload_max_bytes for multipart framing and other parts (§9.2). */
#define UPLOAD_SLACK MIB
/* An unread request body larger than this closes the connection instead of being drained. */
#define DRAIN_MAX      MIB
#define DOWNLOAD_CHUNK ((size_t)256 << 10)
/* Listing recursion bounds: deeper trees than this are not addressable by the API anyway. */
#define LIST_DEPTH_MAX 128
#define LIST_REL_MAX   4096
#define DIR_SIZE       4096

static const char DELETED_OLD[] = "{\"message\": \"file deleted successfully\"}";

/* Session code can set any mtime (os.utime); keep it within the 4-digit years of §0. */
#define MTIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static time_t stat_secs(const struct stat *st)
{
	if (st->st_mtim.tv_sec < 0)
		return 0;
	return st->st_mtim.tv_sec > MTIME_MAX ? (time_t)MTIME_MAX : st->st_mtim.tv_sec;
}

static int64_t stat_ticks(const struct stat *st)
{
	bool clamped = st->st_mtim.tv_sec < 0 || st->st_mtim.tv_sec > MTIME_MAX;
	int64_t frac = clamped ? 0 : st->st_mtim.tv_nsec / 100;
	return (int64_t)stat_secs(st) * UTIL_TICKS_PER_SEC + frac;
}

/*
 * A printable form of a client-supplied path for messages: at most 200 bytes, control bytes
 * (NUL included) shown as '?', invalid UTF-8 replaced. New string or NULL.
 */
static char *display(const char *s, size_t len)
{
	char tmp[204];
	size_t n = len > 200 ? 200 : len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		tmp[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (len > n) {
		memcpy(tmp + n, "...", 3);
		n += 3;
	}
	return util_utf8_sanitize(tmp, n);
}

static void send_path_error(struct req *r, int rc, const char *value, size_t len)
{
	if (rc == -ENOMEM) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	cleanup_free char *d = display(value ? value : "", value ? len : 0);
	if (rc == -ENAMETOOLONG)
		http_send_error(r, API_ERR_INVALID_FILE_PATH,
				"The path '%s' is too long (at most %d bytes, %d per segment).",
				d ? d : "", FILEPATH_PATH_MAX, FILEPATH_SEGMENT_MAX);
	else
		http_send_error(r, API_ERR_INVALID_FILE_PATH, "The path '%s' is not allowed.",
				d ? d : "");
}

/*
 * Resolution failures that mean "no such file" to the client (§9.1 step 7, §9.3). ENXIO and
 * ENODEV come from opening a socket or device node that session code placed there.
 */
static bool not_found_errno(int rc)
{
	return rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP || rc == -EISDIR ||
	       rc == -ENAMETOOLONG || rc == -EXDEV || rc == -EACCES || rc == -EPERM ||
	       rc == -ENXIO || rc == -ENODEV;
}

static void send_not_found(struct req *r, const char *rel)
{
	cleanup_free char *d = display(rel, strlen(rel));
	http_send_error(r, API_ERR_FILE_NOT_FOUND, "The file '%s' was not found.", d ? d : "");
}

static void send_io_error(struct req *r, const char *what, int rc)
{
	http_send_error(r, API_ERR_INTERNAL, "Internal error: %s: %s.", what, strerror(-rc));
}

/* ---- JSON bodies ---- */

static cJSON *add_i64(cJSON *obj, const char *key, int64_t v)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, v);
	return cJSON_AddRawToObject(obj, key, num);
}

static cJSON *add_text(cJSON *obj, const char *key, const char *s, size_t len)
{
	cleanup_free char *clean = util_utf8_sanitize(s, len);
	if (!clean)
		return NULL;
	return cJSON_AddStringToObject(obj, key, clean);
}

static cJSON *add_id(cJSON *obj, int *next_id)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", (*next_id)++);
	return cJSON_AddStringToObject(obj, "$id", id);
}

/* The old-shape envelope {"$id":"1","value":[]}; *value gets the array. */
static cJSON *old_envelope(int *next_id, cJSON **value)
{
	cJSON *root = cJSON_CreateObject();
	if (!root || !add_id(root, next_id) || !(*value = cJSON_AddArrayToObject(root, "value"))) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Appends {"$id","properties":{"$id","filename","size","lastModifiedTime"}} (§5.2, §5.3). */
static bool old_add_item(cJSON *value, int *next_id, const char *filename, int64_t size,
			 int64_t ticks)
{
	char ts[32];
	cJSON *item = cJSON_CreateObject();
	if (!item)
		return false;
	cJSON_AddItemToArray(value, item);
	cJSON *props;
	return add_id(item, next_id) && (props = cJSON_AddObjectToObject(item, "properties")) &&
	       add_id(props, next_id) && add_text(props, "filename", filename, strlen(filename)) &&
	       add_i64(props, "size", size) &&
	       cJSON_AddStringToObject(props, "lastModifiedTime",
				       util_format_ticks(ticks, ts, sizeof(ts)));
}

/*
 * A SessionResourceFile (§6.3–§6.5) in contract member order: name, directory (omitted when
 * |directory| is NULL), type, contentType, sizeInBytes, lastModifiedAt.
 */
static cJSON *new_entry(const char *name, const char *directory, size_t directory_len, bool is_dir,
			int64_t size, int64_t ticks)
{
	char ts[32];
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	bool ok =
	    add_text(o, "name", name, strlen(name)) &&
	    (!directory || add_text(o, "directory", directory, directory_len)) &&
	    cJSON_AddStringToObject(o, "type", is_dir ? "directory" : "file") &&
	    cJSON_AddStringToObject(o, "contentType",
				    is_dir ? MIME_OCTET_STREAM : mime_type_for(name)) &&
	    add_i64(o, "sizeInBytes", is_dir ? DIR_SIZE : size) &&
	    cJSON_AddStringToObject(o, "lastModifiedAt", util_format_ticks(ticks, ts, sizeof(ts)));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The one-file answer of an upload or a metadata request, in the request's shape. */
static void send_file_description(struct req *r, bool new_shape, const char *rel,
				  const struct stat *st)
{
	cleanup_cjson cJSON *body = NULL;
	if (new_shape) {
		size_t dl = filepath_dirname_len(rel);
		body = new_entry(filepath_basename(rel), dl ? rel : NULL, dl, S_ISDIR(st->st_mode),
				 st->st_size, stat_ticks(st));
	} else {
		int next_id = 1;
		cJSON *value;
		body = old_envelope(&next_id, &value);
		if (body && !old_add_item(value, &next_id, rel, st->st_size, stat_ticks(st)))
			cJSON_Delete(steal_pointer(&body));
	}
	if (!body) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	http_send_json(r, 200, body);
}

/* ---- request pieces shared by every operation ---- */

/* The normalised `path` query parameter into *dir, or an error response and -1. */
static int query_dir(struct req *r, char **dir)
{
	size_t len = 0;
	const char *v = query_get(&r->query, "path", &len);
	int rc = filepath_normalize(v ? v : "", v ? len : 0, dir);
	if (rc < 0) {
		send_path_error(r, rc, v, len);
		return -1;
	}
	return 0;
}

/* The session's directory as an O_PATH descriptor, or an error response and -1. */
static int open_root(struct req *r, struct pool_entry *s)
{
	int fd = open(entry_dir(s), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		send_io_error(r, "cannot open the session directory", -errno);
	return fd;
}

static int acquire(struct req *r, struct pool_entry **s)
{
	struct sp_err err = {0};
	int rc = pool_acquire(r->srv->pool, r->identifier, true, s, NULL, &err);
	if (rc < 0) {
		api_send_acquire_error(r, rc, API_ERR_SESSION_NOT_FOUND, &err);
		return -1;
	}
	return 0;
}

/* ---- metadata, download, delete ---- */

/* Opens |rel| below the session root and stats it; on failure answers the error, returns -1. */
static int open_stat(struct req *r, int rootfd, const char *rel, int flags, struct stat *st)
{
	int fd = beneath_open(rootfd, rel, flags, 0);
	if (fd < 0) {
		if (not_found_errno(fd))
			send_not_found(r, rel);
		else
			send_io_error(r, "cannot open the file", fd);
		return -1;
	}
	if (fstat(fd, st) < 0) {
		send_io_error(r, "cannot stat the file", -errno);
		close(fd);
		return -1;
	}
	return fd;
}

static void item_download(struct req *r, int rootfd, const char *rel)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO planted by session code must not block the worker thread. */
	cleanup_close int fd = open_stat(r, rootfd, rel, O_RDONLY | O_NONBLOCK, &st);
	if (fd < 0)
		return;
	if (!S_ISREG(st.st_mode)) {
		send_not_found(r, rel);
		return;
	}
	cleanup_free char *buf = calloc(1, DOWNLOAD_CHUNK);
	if (!buf) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	char date[40];
	http_add_header(r, "Last-Modified", "%s",
			util_format_http_date(stat_secs(&st), date, sizeof(date)));
	if (!http_send_headers(r, 200, mime_type_for(rel), st.st_size) || r->method == HTTP_HEAD)
		return;
	int64_t left = st.st_size;
	bool eof = false;
	while (left > 0) {
		size_t want = (uint64_t)left < DOWNLOAD_CHUNK ? (size_t)left : DOWNLOAD_CHUNK;
		ssize_t n = 0;
		if (!eof)
			n = TEMP_FAILURE_RETRY_INT(read(fd, buf, want));
		if (n <= 0) {
			/*
			 * Session code truncated the file while it was being sent. The
			 * Content-Length is already out and CivetWeb offers no way to abort the
			 * connection, so keep the framing intact with zero bytes.
			 */
			eof = true;
			memset(buf, 0, want);
			n = (ssize_t)want;
		}
		if (!http_write(r, buf, (size_t)n))
			return;
		left -= n;
	}
}

static void item_metadata(struct req *r, int rootfd, const char *rel)
{
	struct stat st;
	cleanup_close int fd = open_stat(r, rootfd, rel, O_PATH, &st);
	if (fd < 0)
		return;
	/* Old metadata describes regular files only; new metadata directories too (§9.3). */
	if (!S_ISREG(st.st_mode) && !(r->new_shape && S_ISDIR(st.st_mode))) {
		send_not_found(r, rel);
		return;
	}
	send_file_description(r, r->new_shape, rel, &st);
}

static void item_delete(struct req *r, int rootfd, const char *rel)
{
	size_t dl = filepath_dirname_len(rel);
	cleanup_free char *parent = strndup(rel, dl);
	if (!parent) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	const char *base = filepath_basename(rel);
	cleanup_close int dfd = beneath_open(rootfd, parent, O_PATH | O_DIRECTORY, 0);
	if (dfd < 0) {
		if (not_found_errno(dfd))
			send_not_found(r, rel);
		else
			send_io_error(r, "cannot open the directory", dfd);
		return;
	}
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		send_not_found(r, rel);
		return;
	}
	/* A race that turns it into a directory fails with EISDIR; into a link, the link goes. */
	if (unlinkat(dfd, base, 0) < 0) {
		if (not_found_errno(-errno))
			send_not_found(r, rel);
		else
			send_io_error(r, "cannot delete the file", -errno);
		return;
	}
	if (r->new_shape)
		http_send_empty(r, 204);
	else
		http_send_json_text(r, 200, DELETED_OLD, sizeof(DELETED_OLD) - 1);
}

/* The operation on one item, once its path is resolved and the session's root is open. */
typedef void item_fn(struct req *r, int rootfd, const char *rel);

static void files_item(struct req *r, item_fn *item)
{
	size_t plen = 0, nlen = 0;
	const char *pv = query_get(&r->query, "path", &plen);
	cleanup_free char *dir = NULL;
	if (query_dir(r, &dir) < 0)
		return;
	cleanup_free char *name = NULL;
	if (r->route.res == RES_PYTHON_DOWNLOAD) {
		/* Legacy Semantic Kernel .NET (§1.3): the name is the `filename` query parameter,
		 * percent-decoded once, then the same rules as files/content/{filename+}. */
		const char *fv = query_get(&r->query, "filename", &nlen);
		if (!fv) {
			http_send_error(r, API_ERR_INVALID_QUERY_PARAMETER,
					"The filename query parameter is required.");
			return;
		}
		name = malloc(nlen + 1);
		if (name) {
			memcpy(name, fv, nlen);
			name[nlen] = '\0';
		}
	} else {
		name = route_file_name(&r->route, r->op, r->new_shape, &nlen);
	}
	if (!name) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	cleanup_free char *rel = NULL;
	int rc = filepath_effective(pv, plen, name, nlen, &rel);
	if (rc < 0) {
		send_path_error(r, rc, name, nlen);
		return;
	}
	struct pool_entry *s;
	if (acquire(r, &s) < 0)
		return;
	int rootfd = open_root(r, s);
	if (rootfd >= 0) {
		item(r, rootfd, rel);
		close(rootfd);
	}
	pool_release(r->srv->pool, s);
}

/* ---- listing ---- */

struct entry {
	char *rel; /* relative to the listed directory */
	bool is_dir;
	int64_t size;
	int64_t ticks;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_fini(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].rel);
	free(e->v);
}

static int entries_add(struct entries *e, char *rel, const struct stat *st)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct entry *v = realloc(e->v, cap * sizeof(*v));
		if (!v) {
			free(rel);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct entry){
	    .rel = rel,
	    .is_dir = S_ISDIR(st->st_mode),
	    .size = st->st_size,
	    .ticks = stat_ticks(st),
	};
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

/*
 * Adds the regular files (and, with |dirs|, the directories) of the directory |dfd| (consumed)
 * to |out|, with names prefixed by |prefix|, descending into sub-directories when |recursive|.
 * Links and special files are skipped, and are never opened: sub-directories are opened with
 * O_NOFOLLOW relative to their parent. Unreadable sub-directories are skipped. Returns 0 or a
 * negative errno (only for |dfd| itself, or -ENOMEM).
 */
static int collect(int dfd, const char *prefix, bool recursive, bool dirs, unsigned depth,
		   struct entries *out)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		char *rel;
		if (asprintf(&rel, "%s%s%s", prefix, *prefix ? "/" : "", nm) < 0) {
			rc = -ENOMEM;
			break;
		}
		bool descend = S_ISDIR(st.st_mode) && recursive && depth < LIST_DEPTH_MAX &&
			       strlen(rel) < LIST_REL_MAX;
		if (descend) {
			int cfd =
			    openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				rc = collect(cfd, rel, recursive, dirs, depth + 1, out);
				if (rc == -ENOMEM) {
					free(rel);
					break;
				}
				rc = 0;
			}
		}
		if (S_ISREG(st.st_mode) || dirs) {
			if ((rc = entries_add(out, rel, &st)) < 0)
				break;
		} else {
			free(rel);
		}
	}
	closedir(d);
	return rc;
}

static cJSON *list_body_old(const char *dir, const struct entries *e)
{
	int next_id = 1;
	cJSON *value;
	cleanup_cjson cJSON *root = old_envelope(&next_id, &value);
	if (!root)
		return NULL;
	for (size_t i = 0; i < e->n; i++) {
		cleanup_free char *filename = NULL;
		if (asprintf(&filename, "%s%s%s", dir, *dir ? "/" : "", e->v[i].rel) < 0)
			return NULL;
		if (!old_add_item(value, &next_id, filename, e->v[i].size, e->v[i].ticks))
			return NULL;
	}
	return steal_pointer(&root);
}

static cJSON *list_body_new(const struct entries *e)
{
	cleanup_cjson cJSON *root = cJSON_CreateObject();
	cJSON *value;
	if (!root || !(value = cJSON_AddArrayToObject(root, "value")))
		return NULL;
	for (size_t i = 0; i < e->n; i++) {
		const struct entry *it = &e->v[i];
		size_t dl = filepath_dirname_len(it->rel);
		cJSON *o = new_entry(filepath_basename(it->rel), it->rel, dl, it->is_dir, it->size,
				     it->ticks);
		if (!o)
			return NULL;
		cJSON_AddItemToArray(value, o);
	}
	if (!cJSON_AddNullToObject(root, "nextLink"))
		return NULL;
	return steal_pointer(&root);
}

/* `recursive` (§6.3): true/false in any case; absent or empty = false; else -1 (response sent). */
static int query_recursive(struct req *r, bool *recursive)
{
	size_t len = 0;
	const char *v = query_get(&r->query, "recursive", &len);
	*recursive = false;
	if (!v || len == 0)
		return 0;
	if (strlen(v) == len && util_ieq(v, "true")) {
		*recursive = true;
		return 0;
	}
	if (strlen(v) == len && util_ieq(v, "false"))
		return 0;
	cleanup_free char *d = display(v, len);
	http_send_error(r, API_ERR_INVALID_QUERY_PARAMETER,
			"The recursive query parameter must be 'true' or 'false', not '%s'.",
			d ? d : "");
	return -1;
}

static void list_send(struct req *r, int rootfd, const char *dir, bool recursive)
{
	int dfd = beneath_open(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0) {
		if (not_found_errno(dfd))
			send_not_found(r, dir);
		else
			send_io_error(r, "cannot open the directory", dfd);
		return;
	}
	struct entries e = {0};
	int rc = collect(dfd, "", recursive, r->new_shape, 0, &e);
	if (rc < 0) {
		entries_fini(&e);
		send_io_error(r, "cannot list the directory", rc);
		return;
	}
	if (e.n > 1)
		qsort(e.v, e.n, sizeof(*e.v), entry_cmp);
	cleanup_cjson cJSON *body = r->new_shape ? list_body_new(&e) : list_body_old(dir, &e);
	entries_fini(&e);
	if (body)
		http_send_json(r, 200, body);
	else
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
}

void api_files_list(struct req *r)
{
	cleanup_free char *dir = NULL;
	if (query_dir(r, &dir) < 0)
		return;
	/* Old shape: every regular file at any depth, `recursive` ignored (§5.3). */
	bool recursive = true;
	if (r->new_shape && query_recursive(r, &recursive) < 0)
		return;
	struct pool_entry *s;
	if (acquire(r, &s) < 0)
		return;
	int rootfd = open_root(r, s);
	if (rootfd >= 0) {
		list_send(r, rootfd, dir, recursive);
		close(rootfd);
	}
	pool_release(r->srv->pool, s);
}

/* ---- upload ---- */

struct upload {
	struct req *r;
	const char *path_raw; /* the `path` query parameter (validated) */
	size_t path_len;
	uint64_t max;
	int file_parts;
	bool in_file;
	uint64_t bytes;
	/* A response decided inside a callback: an API error, or a pool_acquire failure. */
	bool failed;
	enum api_error err;
	char msg[512];
	int acquire_rc;
	struct sp_err acquire_err;
	/* Set up once the `file` part's headers are accepted. */
	char *rel;
	struct pool_entry *s;
	int dirfd;
	int tmpfd;
	char tmpname[64];
	bool tmp_named; /* tmpname exists in dirfd (else tmpfd is an O_TMPFILE) */
};

static int upload_fail(struct upload *u, enum api_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int upload_fail(struct upload *u, enum api_error e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
	va_end(ap);
	u->failed = true;
	u->err = e;
	return -ECANCELED;
}

/* upload_fail with the message |pre| display(|p|) |post|. */
static int upload_fail_path(struct upload *u, enum api_error e, const char *pre, const char *p,
			    size_t len, const char *post)
{
	cleanup_free char *d = display(p, len);
	return upload_fail(u, e, "%s%s%s", pre, d ? d : "", post);
}

/* Closes and removes the temporary file, if any. Idempotent. */
static void upload_discard(struct upload *u)
{
	if (u->tmpfd >= 0)
		close(u->tmpfd);
	u->tmpfd = -1;
	if (u->tmp_named)
		unlinkat(u->dirfd, u->tmpname, 0);
	u->tmp_named = false;
}

/* Opens (creating) the target's directory and a temporary file in it. */
static int upload_prepare(struct upload *u)
{
	int rootfd = open(entry_dir(u->s), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return upload_fail(u, API_ERR_INTERNAL,
				   "Internal error: cannot open the session directory: %s.",
				   strerror(errno));
	uid_t uid = entry_uid(u->s);
	size_t dl = filepath_dirname_len(u->rel);
	cleanup_free char *parent = strndup(u->rel, dl);
	int fd = parent ? beneath_mkdirs(rootfd, parent, uid) : -ENOMEM;
	close(rootfd);
	if (fd == -ELOOP)
		return upload_fail_path(u, API_ERR_FILE_NOT_FOUND, "The path '", u->rel,
					strlen(u->rel), "' has a symbolic link component.");
	if (fd == -ENOTDIR)
		return upload_fail_path(u, API_ERR_INVALID_FILE_PATH, "A parent of '", u->rel,
					strlen(u->rel), "' exists and is not a directory.");
	if (fd < 0)
		return upload_fail(u, API_ERR_INTERNAL,
				   "Internal error: cannot create the directory: %s.",
				   strerror(-fd));
	u->dirfd = fd;
	const char *base = filepath_basename(u->rel);
	struct stat st;
	if (fstatat(u->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return upload_fail_path(u, API_ERR_INVALID_FILE_PATH, "The path '", u->rel,
						strlen(u->rel), "' is a directory.");
		if (S_ISLNK(st.st_mode))
			return upload_fail_path(u, API_ERR_FILE_NOT_FOUND, "The path '", u->rel,
						strlen(u->rel), "' is a symbolic link.");
	}
	char guid[37];
	sp_guid(guid);
	snprintf(u->tmpname, sizeof(u->tmpname), ".upload-%s.tmp", guid);
	/* An unnamed file first: invisible to listings and to session code until complete. */
	u->tmpfd = openat(u->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (u->tmpfd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		u->tmpfd = openat(u->dirfd, u->tmpname,
				  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		u->tmp_named = u->tmpfd >= 0;
	}
	if (u->tmpfd < 0)
		return upload_fail(u, API_ERR_INTERNAL,
				   "Internal error: cannot create a temporary file: %s.",
				   strerror(errno));
	/* Sessions run under their own uid and must be able to rewrite what was uploaded. */
	if ((uid != (uid_t)-1 && fchown(u->tmpfd, uid, (gid_t)uid) < 0) ||
	    fchmod(u->tmpfd, 0644) < 0)
		return upload_fail(u, API_ERR_INTERNAL,
				   "Internal error: cannot set the file owner: %s.",
				   strerror(errno));
	return 0;
}

static int on_part_begin(void *ctx, const struct mp_part *p)
{
	struct upload *u = ctx;
	u->in_file = false;
	if (!p->name || strcmp(p->name, "file"))
		return 0;
	if (u->file_parts++ > 0)
		return upload_fail(u, API_ERR_INVALID_REQUEST_BODY,
				   "The request has more than one 'file' part.");
	if (!p->filename)
		return upload_fail(u, API_ERR_INVALID_REQUEST_BODY,
				   "The 'file' part has no filename.");
	int rc =
	    filepath_effective(u->path_raw, u->path_len, p->filename, p->filename_len, &u->rel);
	if (rc == -ENOMEM)
		return upload_fail(u, API_ERR_INTERNAL, "Internal error: out of memory.");
	if (rc == -ENAMETOOLONG)
		return upload_fail_path(u, API_ERR_INVALID_FILE_PATH, "The path '", p->filename,
					p->filename_len, "' is too long.");
	if (rc < 0)
		return upload_fail_path(u, API_ERR_INVALID_FILE_PATH, "The path '", p->filename,
					p->filename_len, "' is not allowed.");
	rc = pool_acquire(u->r->srv->pool, u->r->identifier, true, &u->s, NULL, &u->acquire_err);
	if (rc < 0) {
		u->s = NULL;
		u->acquire_rc = rc;
		return -ECANCELED;
	}
	if ((rc = upload_prepare(u)) < 0)
		return rc;
	u->in_file = true;
	return 0;
}

static int on_part_data(void *ctx, const char *data, size_t len)
{
	struct upload *u = ctx;
	if (!u->in_file)
		return 0;
	u->bytes += len;
	if (u->bytes > u->max)
		return upload_fail(u, API_ERR_PAYLOAD_TOO_LARGE,
				   "The file exceeds the upload limit of %" PRIu64 " bytes.",
				   u->max);
	while (len > 0) {
		ssize_t n = TEMP_FAILURE_RETRY_INT(write(u->tmpfd, data, len));
		/* The session's /mnt/data is a tmpfs of --session-disk-mb (datafs.h). */
		if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
			return upload_fail(u, API_ERR_PAYLOAD_TOO_LARGE,
					   "The file does not fit in the session's storage quota "
					   "of %" PRIu64 " MiB.",
					   u->r->srv->cfg->session_disk_mb);
		if (n < 0)
			return upload_fail(u, API_ERR_INTERNAL,
					   "Internal error: cannot write the file: %s.",
					   strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int on_part_end(void *ctx)
{
	struct upload *u = ctx;
	u->in_file = false;
	return 0;
}

/* Moves the complete temporary file over the target and answers. */
static void upload_commit(struct upload *u)
{
	struct req *r = u->r;
	struct stat st;
	if (fstat(u->tmpfd, &st) < 0) {
		send_io_error(r, "cannot stat the file", -errno);
		return;
	}
	if (!u->tmp_named) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->tmpfd);
		if (linkat(AT_FDCWD, proc, u->dirfd, u->tmpname, AT_SYMLINK_FOLLOW) < 0 &&
		    linkat(u->tmpfd, "", u->dirfd, u->tmpname, AT_EMPTY_PATH) < 0) {
			send_io_error(r, "cannot store the file", -errno);
			return;
		}
		u->tmp_named = true;
	}
	const char *base = filepath_basename(u->rel);
	if (renameat(u->dirfd, u->tmpname, u->dirfd, base) < 0) {
		int e = errno;
		cleanup_free char *d = display(u->rel, strlen(u->rel));
		if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
			http_send_error(r, API_ERR_INVALID_FILE_PATH,
					"The path '%s' is a directory.", d ? d : "");
		else
			send_io_error(r, "cannot store the file", -e);
		return;
	}
	u->tmp_named = false;
	send_file_description(r, r->op == OP_FILES_UPLOAD_NEW, u->rel, &st);
}

/* Reads what follows the close delimiter, up to DRAIN_MAX; true when the body ended. */
static bool drain_epilogue(struct req *r, uint64_t *total)
{
	char buf[4096];
	uint64_t drained = 0;
	while (drained <= DRAIN_MAX) {
		int n = http_read(r, buf, sizeof(buf));
		if (n <= 0)
			return true;
		drained += (uint64_t)n;
		*total += (uint64_t)n;
	}
	return false;
}

/* Reads the body into the multipart parser until it is done, the body ends (*eof) or it
 * fails. Returns the parser's result (0 when done or at the end of the body). */
static int upload_feed(struct upload *u, struct mp_parser *p, uint64_t *total, bool *eof)
{
	int rc = 0;
	while (!mp_done(p)) {
		char *buf;
		size_t avail;
		mp_buffer(p, &buf, &avail);
		int n = http_read(u->r, buf, avail);
		if (n <= 0) {
			*eof = true;
			break;
		}
		*total += (uint64_t)n;
		if (*total > u->max + UPLOAD_SLACK)
			return upload_fail(
			    u, API_ERR_PAYLOAD_TOO_LARGE,
			    "The request exceeds the upload limit of %" PRIu64 " bytes.", u->max);
		if ((rc = mp_commit(p, (size_t)n)) < 0)
			return rc;
	}
	if (*eof)
		return mp_finish(p);
	*eof = drain_epilogue(u->r, total);
	return 0;
}

/* The answer to an upload whose body was read with result |rc|. */
static void upload_answer(struct upload *u, int rc)
{
	struct req *r = u->r;
	if (u->acquire_rc < 0)
		api_send_acquire_error(r, u->acquire_rc, API_ERR_SESSION_NOT_FOUND,
				       &u->acquire_err);
	else if (u->failed)
		http_send_error(r, u->err, "%s", u->msg);
	else if (rc == -ENOMEM)
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
	else if (rc < 0)
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
				"The multipart body is malformed or truncated.");
	else if (u->file_parts == 0)
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY, "The request has no 'file' part.");
	else
		upload_commit(u);
}

void api_files_upload(struct req *r)
{
	size_t plen = 0;
	const char *pv = query_get(&r->query, "path", &plen);
	cleanup_free char *dir = NULL;
	if (query_dir(r, &dir) < 0)
		return;
	const char *ct = http_header(r, "Content-Type");
	cleanup_free char *boundary = NULL;
	int rc = ct ? mp_content_type_boundary(ct, &boundary) : -EINVAL;
	if (rc == -ENOMEM) {
		http_send_error(r, API_ERR_INTERNAL, "Internal error: out of memory.");
		return;
	}
	if (rc < 0) {
		http_send_error(r, API_ERR_INVALID_REQUEST_BODY,
				"The request must be multipart/form-data with a boundary.");
		return;
	}
	uint64_t max = r->srv->cfg->upload_max_bytes;
	int64_t cl = http_content_length(r);
	if (cl >= 0 && (uint64_t)cl > max + UPLOAD_SLACK) {
		/* Neither read nor 100 Continue: the client should not send the body at all. */
		http_close_after(r);
		http_send_error(r, API_ERR_PAYLOAD_TOO_LARGE,
				"The file exceeds the upload limit of %" PRIu64 " bytes.", max);
		return;
	}

	struct upload u = {
	    .r = r,
	    .path_raw = pv,
	    .path_len = plen,
	    .max = max,
	    .dirfd = -1,
	    .tmpfd = -1,
	};
	static const struct mp_callbacks cbs = {on_part_begin, on_part_data, on_part_end};
	struct mp_parser *p = NULL;
	rc = mp_new(boundary, strlen(boundary), &cbs, &u, &p);
	if (rc < 0) {
		http_send_error(r, rc == -ENOMEM ? API_ERR_INTERNAL : API_ERR_INVALID_REQUEST_BODY,
				"The multipart boundary is not usable.");
		return;
	}

	http_continue(r);
	uint64_t total = 0;
	bool eof = false;
	rc = upload_feed(&u, p, &total, &eof);
	mp_free(p);

	/* An unread rest is left to CivetWeb to drain when short; else the connection closes. */
	if (!eof && (cl < 0 || (uint64_t)cl < total || (uint64_t)cl - total > DRAIN_MAX))
		http_close_after(r);

	/* A refused upload gives its space back before the answer, so that a client retrying at
	 * once is not refused for the quota the failed attempt still held. */
	bool ok = u.acquire_rc >= 0 && !u.failed && rc == 0 && u.file_parts > 0;
	if (!ok)
		upload_discard(&u);

	upload_answer(&u, rc);
	upload_discard(&u);
	if (u.dirfd >= 0)
		close(u.dirfd);
	free(u.rel);
	if (u.s)
		pool_release(r->srv->pool, u.s);
}

void api_files_content(struct req *r)
{
	files_item(r, item_download);
}

void api_files_meta(struct req *r)
{
	files_item(r, item_metadata);
}

void api_files_delete(struct req *r)
{
	files_item(r, item_delete);
}
