/* SPDX-License-Identifier: MIT */
/*
 * Files routes of both API shapes against the real emulator (contract §5.2–§5.6, §6.3–§6.7,
 * §9, §10.3): upload, list, metadata, download, delete; the size limit, Expect: 100-continue,
 * malformed multipart, path rules, and symbolic links planted by session code.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define OLD   "api-version=2024-02-02-preview"
#define NEW   "api-version=2025-10-02-preview"
#define LIMIT (128ull * 1024 * 1024)

static struct emu E;

static void start(void)
{
	cr_assert_eq(emu_start(&E, NULL, 0), 0, "the emulator did not start");
}

static void stop(void)
{
	emu_stop(&E);
}

TestSuite(files, .init = start, .fini = stop, .timeout = 180);

/* ---- helpers ---- */

static struct http_resp req(const char *method, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct http_resp req(const char *method, const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	struct http_resp r;
	int rc = emu_do(&E, method, path, &r);
	cr_assert_eq(rc, 0, "%s %s: %s", method, path, r.error);
	return r;
}

/* Posts a raw multipart |body| with Content-Type |ctype| (NULL = EMU_BOUNDARY's) to |path|. */
static struct http_resp post_raw(const char *path, const char *ctype, const char *body, size_t len)
{
	char ct[256];
	snprintf(ct, sizeof(ct), "Content-Type: %s",
		 ctype ? ctype : "multipart/form-data; boundary=" EMU_BOUNDARY);
	const char *hdrs[] = {ct, NULL};
	struct http_req q = {.path = path, .headers = hdrs, .body = body, .body_len = len};
	struct http_resp r;
	cr_assert_eq(emu_request(&E, &q, &r), 0, "POST %s: %s", path, r.error);
	return r;
}

/* Uploads |content| as |filename| in one `file` part to |path|. */
static struct http_resp upload(const char *path, const char *filename, const char *content)
{
	const char *names[] = {"file"};
	const char *fns[] = {filename};
	const char *cs[] = {content};
	size_t len;
	char *body = emu_multipart(&len, 1, names, fns, cs);
	struct http_resp r = post_raw(path, NULL, body, len);
	free(body);
	return r;
}

static void expect_error(const struct http_resp *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "status %ld, want %ld: %s", r->status, status, r->body);
	cJSON *j = http_resp_json(r);
	cJSON *c =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "code");
	cr_expect(cJSON_IsString(c) && !strcmp(c->valuestring, code), "code: %s, want %s", r->body,
		  code);
	char *h = http_resp_header(r, "x-ms-error-code");
	cr_expect(h && !strcmp(h, code), "x-ms-error-code %s", h ? h : "(none)");
	free(h);
	cJSON_Delete(j);
}

/* Asserts the members of |o| are exactly |keys| (NULL-terminated), in that order. */
static void expect_keys(const cJSON *o, const char *const *keys)
{
	const cJSON *c = o ? o->child : NULL;
	size_t i = 0;
	for (; keys[i]; i++, c = c->next) {
		cr_assert_not_null(c, "missing member %s", keys[i]);
		cr_expect_str_eq(c->string, keys[i]);
	}
	cr_expect_null(c, "extra member %s", c ? c->string : "");
}

static void expect_ticks(const char *ts)
{
	regex_t re;
	regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{7}Z$",
		REG_EXTENDED | REG_NOSUB);
	cr_expect_eq(regexec(&re, ts, 0, NULL, 0), 0, "timestamp %s", ts);
	regfree(&re);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsString(v), "member %s is not a string", k);
	return v->valuestring;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsNumber(v), "member %s is not a number", k);
	return v->valuedouble;
}

/* Checks one old-shape item with $ids |id| and |id|+1; returns its properties. */
static const cJSON *old_item(const cJSON *item, int id, const char *filename, double size)
{
	static const char *const item_keys[] = {"$id", "properties", NULL};
	static const char *const prop_keys[] = {"$id", "filename", "size", "lastModifiedTime",
						NULL};
	expect_keys(item, item_keys);
	char buf[16];
	snprintf(buf, sizeof(buf), "%d", id);
	cr_expect_str_eq(str(item, "$id"), buf);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "properties");
	expect_keys(p, prop_keys);
	snprintf(buf, sizeof(buf), "%d", id + 1);
	cr_expect_str_eq(str(p, "$id"), buf);
	cr_expect_str_eq(str(p, "filename"), filename);
	cr_expect_eq(num(p, "size"), size);
	expect_ticks(str(p, "lastModifiedTime"));
	return p;
}

/* The old-shape body of one file (upload and metadata responses). */
static void expect_old_one(const struct http_resp *r, const char *filename, double size)
{
	cr_assert_eq(r->status, 200, "%s", r->body);
	cJSON *j = http_resp_json(r);
	static const char *const keys[] = {"$id", "value", NULL};
	expect_keys(j, keys);
	cr_expect_str_eq(str(j, "$id"), "1");
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	cr_assert_eq(cJSON_GetArraySize(v), 1);
	old_item(cJSON_GetArrayItem(v, 0), 2, filename, size);
	cJSON_Delete(j);
}

/* Checks a new-shape SessionResourceFile; |dir| NULL means "no directory member". */
static void new_entry(const cJSON *o, const char *name, const char *dir, const char *type,
		      const char *ctype, double size)
{
	static const char *const with_dir[] = {
	    "name", "directory", "type", "contentType", "sizeInBytes", "lastModifiedAt", NULL};
	static const char *const no_dir[] = {"name",	    "type",	      "contentType",
					     "sizeInBytes", "lastModifiedAt", NULL};
	expect_keys(o, dir ? with_dir : no_dir);
	cr_expect_str_eq(str(o, "name"), name);
	if (dir)
		cr_expect_str_eq(str(o, "directory"), dir);
	cr_expect_str_eq(str(o, "type"), type);
	cr_expect_str_eq(str(o, "contentType"), ctype);
	cr_expect_eq(num(o, "sizeInBytes"), size);
	expect_ticks(str(o, "lastModifiedAt"));
}

static void expect_new_one(const struct http_resp *r, const char *name, const char *dir,
			   const char *type, const char *ctype, double size)
{
	cr_assert_eq(r->status, 200, "%s", r->body);
	cJSON *j = http_resp_json(r);
	cr_assert_not_null(j);
	new_entry(j, name, dir, type, ctype, size);
	cJSON_Delete(j);
}

/* The `name` (new) or `filename` (old) members of a listing, joined with '|'. */
static char *list_names(const struct http_resp *r, bool new_shape)
{
	cr_assert_eq(r->status, 200, "%s", r->body);
	cJSON *j = http_resp_json(r);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	cr_assert(cJSON_IsArray(v), "%s", r->body);
	char *out = calloc(1, 65536);
	cJSON *it;
	cJSON_ArrayForEach(it, v)
	{
		if (*out)
			strcat(out, "|");
		if (new_shape) {
			const char *d = str(it, "directory");
			if (*d) {
				strcat(out, d);
				strcat(out, "/");
			}
			strcat(out, str(it, "name"));
		} else {
			strcat(out,
			       str(cJSON_GetObjectItemCaseSensitive(it, "properties"), "filename"));
		}
	}
	cJSON_Delete(j);
	return out;
}

static void expect_list(const char *query, bool new_shape, const char *want)
{
	struct http_resp r = req("GET", "/files?%s", query);
	char *got = list_names(&r, new_shape);
	cr_expect_str_eq(got, want, "GET files?%s", query);
	free(got);
	http_resp_fini(&r);
}

static void expect_exec_ok(const char *id, const char *code, const char *stdout_sub)
{
	struct http_resp r;
	char *st = emu_exec(&E, id, code, &r);
	cr_assert(st && !strcmp(st, "Succeeded"), "exec %s: %s", code, r.body);
	if (stdout_sub) {
		cJSON *j = http_resp_json(&r);
		const char *out = str(cJSON_GetObjectItemCaseSensitive(j, "result"), "stdout");
		cr_expect(strstr(out, stdout_sub), "stdout %s lacks %s", out, stdout_sub);
		cJSON_Delete(j);
	}
	free(st);
	http_resp_fini(&r);
}

/* ---- upload and listing ---- */

Test(files, upload_old_bare_and_mnt_data_names)
{
	struct http_resp r =
	    upload("/files/upload?" OLD "&identifier=files-0001", "a.txt", "hello");
	expect_old_one(&r, "a.txt", 5);
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0001", "/mnt/data/b.csv", "1,2\n");
	expect_old_one(&r, "b.csv", 4);
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0001", "/mnt/data/sub/c.json", "{}");
	expect_old_one(&r, "sub/c.json", 2);
	http_resp_fini(&r);
	/* path + name; /mnt/data/ on both. */
	r = upload("/files/upload?" OLD "&identifier=files-0001&path=/mnt/data/p", "/mnt/data/d.md",
		   "#");
	expect_old_one(&r, "p/d.md", 1);
	http_resp_fini(&r);

	r = req("GET", "/files?" OLD "&identifier=files-0001");
	cJSON *j = http_resp_json(&r);
	static const char *const keys[] = {"$id", "value", NULL};
	expect_keys(j, keys);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	cr_assert_eq(cJSON_GetArraySize(v), 4);
	old_item(cJSON_GetArrayItem(v, 0), 2, "a.txt", 5);
	old_item(cJSON_GetArrayItem(v, 1), 4, "b.csv", 4);
	old_item(cJSON_GetArrayItem(v, 2), 6, "p/d.md", 1);
	old_item(cJSON_GetArrayItem(v, 3), 8, "sub/c.json", 2);
	cJSON_Delete(j);
	http_resp_fini(&r);

	/* An old listing with path keeps names relative to /mnt/data; recursive is ignored. */
	expect_list(OLD "&identifier=files-0001&path=sub&recursive=false", false, "sub/c.json");
	/* An empty session. */
	r = req("GET", "/files?" OLD "&identifier=files-0002");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"$id\":\"1\",\"value\":[]}");
	http_resp_fini(&r);
}

Test(files, upload_new_with_path_and_subdirectories)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0003", "root.yaml", "k: v\n");
	expect_new_one(&r, "root.yaml", NULL, "file", "application/yaml", 5);
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0003&path=/", "x.txt", "x");
	expect_new_one(&r, "x.txt", NULL, "file", "text/plain; charset=utf-8", 1);
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0003&path=dir1", "a.png", "png");
	expect_new_one(&r, "a.png", "dir1", "file", "image/png", 3);
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0003&path=/mnt/data", "dir2/deep/b.py", "p");
	expect_new_one(&r, "b.py", "dir2/deep", "file", "text/x-python; charset=utf-8", 1);
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0003&path=dir1/", "/mnt/data/more/c.bin", "");
	expect_new_one(&r, "c.bin", "dir1/more", "file", "application/octet-stream", 0);
	http_resp_fini(&r);

	expect_list(NEW "&identifier=files-0003", true, "dir1|dir2|root.yaml|x.txt");
	expect_list(NEW "&identifier=files-0003&recursive=false", true,
		    "dir1|dir2|root.yaml|x.txt");
	expect_list(NEW "&identifier=files-0003&recursive=TRUE", true,
		    "dir1|dir1/a.png|dir1/more|dir1/more/c.bin|dir2|dir2/deep|dir2/deep/b.py|"
		    "root.yaml|x.txt");
	expect_list(NEW "&identifier=files-0003&path=dir1", true, "a.png|more");
	expect_list(NEW "&identifier=files-0003&path=/mnt/data/dir1&recursive=true", true,
		    "a.png|more|more/c.bin");
	expect_list(NEW "&identifier=files-0003&path=", true, "dir1|dir2|root.yaml|x.txt");
	expect_list(OLD "&identifier=files-0003", false,
		    "dir1/a.png|dir1/more/c.bin|dir2/deep/b.py|root.yaml|x.txt");

	/* Full entries: directories and files, `directory` relative to the listed path. */
	r = req("GET", "/files?" NEW "&identifier=files-0003&path=dir1&recursive=true");
	cJSON *j = http_resp_json(&r);
	static const char *const keys[] = {"value", "nextLink", NULL};
	expect_keys(j, keys);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "nextLink")));
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	cr_assert_eq(cJSON_GetArraySize(v), 3);
	new_entry(cJSON_GetArrayItem(v, 0), "a.png", "", "file", "image/png", 3);
	new_entry(cJSON_GetArrayItem(v, 1), "more", "", "directory", "application/octet-stream",
		  4096);
	new_entry(cJSON_GetArrayItem(v, 2), "c.bin", "more", "file", "application/octet-stream", 0);
	cJSON_Delete(j);
	http_resp_fini(&r);
}

Test(files, list_errors)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0004", "f.txt", "f");
	http_resp_fini(&r);
	r = req("GET", "/files?" NEW "&identifier=files-0004&recursive=yes");
	expect_error(&r, 400, "InvalidQueryParameter");
	http_resp_fini(&r);
	r = req("GET", "/files?" NEW "&identifier=files-0004&recursive=1");
	expect_error(&r, 400, "InvalidQueryParameter");
	http_resp_fini(&r);
	/* Old shape ignores recursive altogether. */
	r = req("GET", "/files?" OLD "&identifier=files-0004&recursive=yes");
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	const char *missing[] = {"path=nope", "path=f.txt", "path=f.txt/x"};
	for (size_t i = 0; i < 3; i++) {
		r = req("GET", "/files?" NEW "&identifier=files-0004&%s", missing[i]);
		expect_error(&r, 404, "FileNotFound");
		http_resp_fini(&r);
		r = req("GET", "/files?" OLD "&identifier=files-0004&%s", missing[i]);
		expect_error(&r, 404, "FileNotFound");
		http_resp_fini(&r);
	}
	const char *bad[] = {"path=..", "path=/etc", "path=a/../..", "path=%00", "path=/mnt/datax"};
	for (size_t i = 0; i < 5; i++) {
		r = req("GET", "/files?" NEW "&identifier=files-0004&%s", bad[i]);
		expect_error(&r, 400, "InvalidFilePath");
		http_resp_fini(&r);
	}
}

Test(files, replace_is_atomic_and_keeps_one_entry)
{
	struct http_resp r = upload("/files/upload?" OLD "&identifier=files-0005", "r.txt", "one");
	expect_old_one(&r, "r.txt", 3);
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0005", "/mnt/data/r.txt", "second");
	expect_old_one(&r, "r.txt", 6);
	http_resp_fini(&r);
	r = req("GET", "/files/content/r.txt?" OLD "&identifier=files-0005");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "second");
	http_resp_fini(&r);
	expect_list(OLD "&identifier=files-0005", false, "r.txt");
}

/* ---- metadata, download, delete ---- */

Test(files, metadata_both_shapes)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0006&path=d", "m.json", "[1]");
	http_resp_fini(&r);
	r = req("GET", "/files/d/m.json?" OLD "&identifier=files-0006");
	expect_old_one(&r, "d/m.json", 3);
	http_resp_fini(&r);
	r = req("GET", "/files/d%%2Fm.json?" NEW "&identifier=files-0006");
	expect_new_one(&r, "m.json", "d", "file", "application/json", 3);
	http_resp_fini(&r);
	r = req("GET", "/files/m.json?" NEW "&identifier=files-0006&path=d");
	expect_new_one(&r, "m.json", "d", "file", "application/json", 3);
	http_resp_fini(&r);
	/* New metadata describes directories, old metadata does not. */
	r = req("GET", "/files/d?" NEW "&identifier=files-0006");
	expect_new_one(&r, "d", NULL, "directory", "application/octet-stream", 4096);
	http_resp_fini(&r);
	r = req("GET", "/files/d?" OLD "&identifier=files-0006");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	r = req("GET", "/files/none.txt?" NEW "&identifier=files-0006");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	r = req("GET", "/files/d/m.json/x?" NEW "&identifier=files-0006");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	/* HEAD gets the headers only. */
	r = req("HEAD", "/files/d/m.json?" OLD "&identifier=files-0006");
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, 0);
	http_resp_fini(&r);
}

Test(files, download_both_shapes)
{
	struct http_resp r = upload("/files/upload?" OLD "&identifier=files-0007",
				    "/mnt/data/sub dir/ünï.txt", "content\n");
	expect_old_one(&r, "sub dir/ünï.txt", 8);
	http_resp_fini(&r);
	const char *paths[] = {
	    "/files/content/sub%20dir/%C3%BCn%C3%AF.txt?" OLD "&identifier=files-0007",
	    "/files/content/sub%20dir%2F%C3%BCn%C3%AF.txt?" OLD "&identifier=files-0007",
	    "/files/sub%20dir%2F%C3%BCn%C3%AF.txt/content?" NEW "&identifier=files-0007",
	    "/files/sub%20dir/%C3%BCn%C3%AF.txt/content?" NEW "&identifier=files-0007",
	    "/files/%C3%BCn%C3%AF.txt/content?" NEW "&identifier=files-0007&path=sub%20dir",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = req("GET", "%s", paths[i]);
		cr_expect_eq(r.status, 200, "%s: %s", paths[i], r.body);
		cr_expect_eq(r.body_len, 8);
		cr_expect_str_eq(r.body, "content\n");
		char *ct = http_resp_header(&r, "Content-Type");
		char *cl = http_resp_header(&r, "Content-Length");
		char *lm = http_resp_header(&r, "Last-Modified");
		cr_expect(ct && !strcmp(ct, "text/plain; charset=utf-8"), "%s", ct);
		cr_expect(cl && !strcmp(cl, "8"));
		regex_t re;
		regcomp(&re,
			"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
			"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$",
			REG_EXTENDED | REG_NOSUB);
		cr_expect(lm && regexec(&re, lm, 0, NULL, 0) == 0, "Last-Modified %s", lm);
		regfree(&re);
		free(ct);
		free(cl);
		free(lm);
		http_resp_fini(&r);
	}
	r = req("HEAD",
		"/files/content/sub%%20dir/%%C3%%BCn%%C3%%AF.txt?" OLD "&identifier=files-0007");
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, 0);
	char *cl = http_resp_header(&r, "Content-Length");
	cr_expect(cl && !strcmp(cl, "8"));
	free(cl);
	http_resp_fini(&r);
	/* Unknown, directory: 404. */
	const char *nf[] = {"/files/content/nope?" OLD "&identifier=files-0007",
			    "/files/content/sub%20dir?" OLD "&identifier=files-0007",
			    "/files/sub%20dir/content?" NEW "&identifier=files-0007",
			    "/files/nope/content?" NEW "&identifier=files-0007"};
	for (size_t i = 0; i < 4; i++) {
		r = req("GET", "%s", nf[i]);
		expect_error(&r, 404, "FileNotFound");
		http_resp_fini(&r);
	}
}

Test(files, download_large_streams)
{
	/* 40 MiB written by code, downloaded whole. */
	expect_exec_ok("files-0008",
		       "with open('/mnt/data/big.bin','wb') as f:\n"
		       "    f.write(bytes(range(256)) * (40 * 4096))\n",
		       NULL);
	struct http_resp r = req("GET", "/files/big.bin/content?" NEW "&identifier=files-0008");
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 40u * 1024 * 1024);
	for (size_t i = 0; i < r.body_len; i += 4099)
		cr_assert_eq((unsigned char)r.body[i], i % 256, "byte %zu", i);
	char *ct = http_resp_header(&r, "Content-Type");
	cr_expect_str_eq(ct, "application/octet-stream");
	free(ct);
	http_resp_fini(&r);
}

Test(files, delete_both_shapes)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0009&path=k", "a.txt", "a");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0009", "b.txt", "b");
	http_resp_fini(&r);
	r = req("DELETE", "/files/k/a.txt?" OLD "&identifier=files-0009");
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "{\"message\": \"file deleted successfully\"}");
	char *ct = http_resp_header(&r, "Content-Type");
	cr_expect_str_eq(ct, "application/json");
	free(ct);
	http_resp_fini(&r);
	r = req("DELETE", "/files/b.txt?" NEW "&identifier=files-0009");
	cr_expect_eq(r.status, 204);
	cr_expect_eq(r.body_len, 0);
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0009&recursive=true", true, "k");
	const char *nf[] = {"/files/k/a.txt?" OLD, "/files/b.txt?" NEW, "/files/k?" NEW,
			    "/files/k?" OLD};
	for (size_t i = 0; i < 4; i++) {
		r = req("DELETE", "%s&identifier=files-0009", nf[i]);
		expect_error(&r, 404, "FileNotFound");
		http_resp_fini(&r);
	}
	/* The directory is still there. */
	expect_list(NEW "&identifier=files-0009", true, "k");
}

/* ---- size limit and streaming ---- */

struct gen {
	char head[512];
	size_t hlen;
	uint64_t n; /* content bytes */
	char tail[128];
	size_t tlen;
	uint64_t pos;
	uint64_t abort_at; /* 0 = never */
};

static void gen_init(struct gen *g, const char *filename, uint64_t n)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->head, sizeof(g->head),
		 "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
		 "Content-Type: application/octet-stream\r\n\r\n",
		 EMU_BOUNDARY, filename);
	g->hlen = strlen(g->head);
	snprintf(g->tail, sizeof(g->tail), "\r\n--%s--\r\n", EMU_BOUNDARY);
	g->tlen = strlen(g->tail);
	g->n = n;
}

static uint64_t gen_total(const struct gen *g)
{
	return g->hlen + g->n + g->tlen;
}

static size_t gen_read(char *buf, size_t size, size_t nitems, void *ctx)
{
	struct gen *g = ctx;
	size_t cap = size * nitems, out = 0;
	if (g->abort_at && g->pos >= g->abort_at)
		return CURL_READFUNC_ABORT;
	while (out < cap && g->pos < gen_total(g)) {
		uint64_t p = g->pos;
		if (p < g->hlen) {
			buf[out++] = g->head[p];
		} else if (p < g->hlen + g->n) {
			buf[out++] = (char)('a' + (p - g->hlen) % 26);
		} else {
			buf[out++] = g->tail[p - g->hlen - g->n];
		}
		g->pos++;
		if (g->abort_at && g->pos >= g->abort_at)
			break;
	}
	return out;
}

static struct http_resp upload_gen(const char *path, struct gen *g, bool chunked,
				   const char *extra_header)
{
	const char *hdrs[3] = {"Content-Type: multipart/form-data; boundary=" EMU_BOUNDARY,
			       extra_header, NULL};
	struct http_req q = {
	    .path = path,
	    .headers = hdrs,
	    .read = gen_read,
	    .read_ctx = g,
	    .read_len = chunked ? -1 : (int64_t)gen_total(g),
	};
	struct http_resp r;
	emu_request(&E, &q, &r);
	return r;
}

Test(files, limit_413_at_128_mib, .timeout = 300)
{
	struct http_resp r =
	    upload("/files/upload?" OLD "&identifier=files-0010", "big.bin", "old");
	expect_old_one(&r, "big.bin", 3);
	http_resp_fini(&r);

	/* One byte over: streamed, refused, the old file is untouched, no temporary file left. */
	struct gen g;
	gen_init(&g, "big.bin", LIMIT + 1);
	r = upload_gen("/files/upload?" OLD "&identifier=files-0010", &g, false, NULL);
	expect_error(&r, 413, "PayloadTooLarge");
	http_resp_fini(&r);
	gen_init(&g, "big.bin", LIMIT + 1);
	r = upload_gen("/files?" NEW "&identifier=files-0010", &g, true, NULL);
	expect_error(&r, 413, "PayloadTooLarge");
	http_resp_fini(&r);
	r = req("GET", "/files/content/big.bin?" OLD "&identifier=files-0010");
	cr_expect_str_eq(r.body, "old");
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0010&recursive=true", true, "big.bin");

	/* Exactly the limit: accepted. */
	gen_init(&g, "big.bin", LIMIT);
	r = upload_gen("/files?" NEW "&identifier=files-0010", &g, false, NULL);
	expect_new_one(&r, "big.bin", NULL, "file", "application/octet-stream", (double)LIMIT);
	http_resp_fini(&r);

	/* A declared length far over the limit: 413 before the body is read. */
	gen_init(&g, "huge.bin", 8ull * 1024 * 1024 * 1024);
	r = upload_gen("/files?" NEW "&identifier=files-0010", &g, false, NULL);
	expect_error(&r, 413, "PayloadTooLarge");
	cr_expect_lt(g.pos, 64ull * 1024 * 1024, "%llu bytes were sent", (unsigned long long)g.pos);
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0010&recursive=true", true, "big.bin");
}

Test(files, expect_100_continue_does_not_stall)
{
	struct gen g;
	gen_init(&g, "e.bin", 4 * 1024 * 1024);
	struct http_resp r =
	    upload_gen("/files?" NEW "&identifier=files-0011", &g, false, "Expect: 100-continue");
	expect_new_one(&r, "e.bin", NULL, "file", "application/octet-stream", 4 * 1024 * 1024);
	cr_expect_lt(r.seconds, 0.9, "took %.3f s: the 100 Continue was not sent", r.seconds);
	http_resp_fini(&r);
	gen_init(&g, "e2.bin", 3 * 1024 * 1024);
	r = upload_gen("/files/upload?" OLD "&identifier=files-0011", &g, true,
		       "Expect: 100-continue");
	expect_old_one(&r, "e2.bin", 3 * 1024 * 1024);
	cr_expect_lt(r.seconds, 0.9, "took %.3f s", r.seconds);
	http_resp_fini(&r);
}

/* ---- malformed uploads ---- */

Test(files, truncated_multipart)
{
	/* Complete HTTP body, multipart cut short. */
	char body[512];
	snprintf(body, sizeof(body),
		 "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.txt\"\r\n\r\n"
		 "partial content without a closing delimiter",
		 EMU_BOUNDARY);
	struct http_resp r =
	    post_raw("/files?" NEW "&identifier=files-0012", NULL, body, strlen(body));
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	/* Headers cut short. */
	snprintf(body, sizeof(body), "--%s\r\nContent-Disposition: form-data; name=\"fi",
		 EMU_BOUNDARY);
	r = post_raw("/files?" NEW "&identifier=files-0012", NULL, body, strlen(body));
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	/* The client gives up mid-body: no hang, no leftovers. */
	struct gen g;
	gen_init(&g, "t2.txt", 2 * 1024 * 1024);
	g.abort_at = 1024 * 1024;
	r = upload_gen("/files?" NEW "&identifier=files-0012", &g, false, NULL);
	cr_expect(r.error[0] && r.status != 200, "status %ld", r.status);
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0012&recursive=true", true, "");
}

Test(files, multipart_structure_errors)
{
	const char *two_names[] = {"file", "file"};
	const char *two_fns[] = {"a.txt", "b.txt"};
	const char *two_cs[] = {"A", "B"};
	size_t len;
	char *body = emu_multipart(&len, 2, two_names, two_fns, two_cs);
	struct http_resp r =
	    post_raw("/files/upload?" OLD "&identifier=files-0013", NULL, body, len);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	free(body);

	const char *no_fn[] = {NULL};
	const char *file_name[] = {"file"};
	const char *c1[] = {"x"};
	body = emu_multipart(&len, 1, file_name, no_fn, c1);
	r = post_raw("/files/upload?" OLD "&identifier=files-0013", NULL, body, len);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	free(body);

	const char *other[] = {"other"};
	const char *ofn[] = {"o.txt"};
	body = emu_multipart(&len, 1, other, ofn, c1);
	r = post_raw("/files?" NEW "&identifier=files-0013", NULL, body, len);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	free(body);

	/* Other parts are ignored, before and after the file part. */
	const char *names3[] = {"meta", "file", "trailer"};
	const char *fns3[] = {NULL, "kept.txt", "ignored.txt"};
	const char *cs3[] = {"m", "K", "t"};
	body = emu_multipart(&len, 3, names3, fns3, cs3);
	r = post_raw("/files?" NEW "&identifier=files-0013", NULL, body, len);
	expect_new_one(&r, "kept.txt", NULL, "file", "text/plain; charset=utf-8", 1);
	http_resp_fini(&r);
	free(body);

	r = post_raw("/files?" NEW "&identifier=files-0013", "application/json", "{}", 2);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	r = post_raw("/files?" NEW "&identifier=files-0013", "multipart/form-data", "x", 1);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	r = post_raw("/files?" NEW "&identifier=files-0013", NULL, "", 0);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0013&recursive=true", true, "kept.txt");
}

Test(files, dotnet_bare_tokens_and_filename_star)
{
	char body[1024];
	snprintf(body, sizeof(body),
		 "--%s\r\nContent-Disposition: form-data; name=file; filename=plain.txt; "
		 "filename*=utf-8''d%%C3%%A9j%%C3%%A0.txt\r\nContent-Type: text/plain\r\n\r\n"
		 "dotnet\r\n--%s--\r\n",
		 EMU_BOUNDARY, EMU_BOUNDARY);
	struct http_resp r =
	    post_raw("/files?" NEW "&identifier=files-0014", NULL, body, strlen(body));
	expect_new_one(&r, "déjà.txt", NULL, "file", "text/plain; charset=utf-8", 6);
	http_resp_fini(&r);
	/* Bare tokens without filename*, and a quoted boundary in the Content-Type. */
	snprintf(body, sizeof(body),
		 "--%s\r\nContent-Disposition: form-data; name=file; filename=bare.txt\r\n\r\n"
		 "b\r\n--%s--\r\n",
		 EMU_BOUNDARY, EMU_BOUNDARY);
	r = post_raw("/files?" NEW "&identifier=files-0014",
		     "multipart/form-data; boundary=\"" EMU_BOUNDARY "\"", body, strlen(body));
	expect_new_one(&r, "bare.txt", NULL, "file", "text/plain; charset=utf-8", 1);
	http_resp_fini(&r);
	/* '+' and '%' in a plain filename are literal. */
	r = upload("/files?" NEW "&identifier=files-0014", "a+b%41.txt", "p");
	expect_new_one(&r, "a+b%41.txt", NULL, "file", "text/plain; charset=utf-8", 1);
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0014", true, "a+b%41.txt|bare.txt|déjà.txt");
}

Test(files, traversal_and_bad_names)
{
	const char *bad[] = {
	    "../x.txt", "a/../../x.txt", "/etc/passwd", "/mnt/data/../x.txt", "..", "/mnt/datax/y",
	    ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_resp r =
		    upload("/files/upload?" OLD "&identifier=files-0015", bad[i], "x");
		expect_error(&r, 400, "InvalidFilePath");
		http_resp_fini(&r);
		r = upload("/files?" NEW "&identifier=files-0015", bad[i], "x");
		expect_error(&r, 400, "InvalidFilePath");
		http_resp_fini(&r);
	}
	struct http_resp r = upload("/files?" NEW "&identifier=files-0015&path=..", "x.txt", "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0015&path=/tmp", "x.txt", "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	char longname[400];
	memset(longname, 'n', 256);
	longname[256] = '\0';
	r = upload("/files?" NEW "&identifier=files-0015", longname, "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);

	const char *urls[] = {
	    "/files/content/..%2Fetc%2Fpasswd?" OLD, "/files/%2E%2E%2Fx/content?" NEW,
	    "/files/%2Fetc%2Fpasswd?" NEW,	     "/files/a%00b?" OLD,
	    "/files/x%2F..%2F..%2Fy?" NEW,
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		r = req("GET", "%s&identifier=files-0015", urls[i]);
		expect_error(&r, 400, "InvalidFilePath");
		http_resp_fini(&r);
	}
	r = req("DELETE", "/files/..%%2Fx?" NEW "&identifier=files-0015");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0015&recursive=true", true, "");
}

Test(files, directory_file_conflicts)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0016", "f.txt", "f");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0016", "d/in.txt", "i");
	http_resp_fini(&r);
	/* A parent that is a file; a target that is a directory. */
	r = upload("/files?" NEW "&identifier=files-0016", "f.txt/x.txt", "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0016&path=f.txt", "x.txt", "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0016", "d", "x");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	expect_list(NEW "&identifier=files-0016&recursive=true", true, "d|d/in.txt|f.txt");
}

Test(files, check_order_validates_before_creating_a_session)
{
	struct http_resp r = upload("/files?" NEW "&identifier=files-0017&path=../x", "a.txt", "a");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0017", "../a.txt", "a");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = req("GET", "/files?" NEW "&identifier=files-0017&recursive=maybe");
	expect_error(&r, 400, "InvalidQueryParameter");
	http_resp_fini(&r);
	r = req("GET", "/files/..%%2Fa?" NEW "&identifier=files-0017");
	expect_error(&r, 400, "InvalidFilePath");
	http_resp_fini(&r);
	r = post_raw("/files?" NEW "&identifier=files-0017", "text/plain", "x", 1);
	expect_error(&r, 400, "InvalidRequestBody");
	http_resp_fini(&r);
	/* None of these created the session. */
	r = req("GET", "/session?" NEW "&identifier=files-0017");
	expect_error(&r, 404, "SessionNotFound");
	http_resp_fini(&r);
	/* A valid data operation does. */
	r = req("GET", "/files?" NEW "&identifier=files-0017");
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	r = req("GET", "/session?" NEW "&identifier=files-0017");
	cr_expect_eq(r.status, 200, "%s", r.body);
	http_resp_fini(&r);
}

/* ---- the session's view of the same directory ---- */

Test(files, code_and_files_share_mnt_data)
{
	const char *id = "files-0018";
	expect_exec_ok(id,
		       "import os\n"
		       "open('/mnt/data/fromcode.txt','w').write('written by code')\n"
		       "os.makedirs('/mnt/data/made/by', exist_ok=True)\n"
		       "open('made/by/code.csv','w').write('a,b')\n"
		       "open(b'/mnt/data/bad\\xffname.txt','wb').write(b'x')\n",
		       NULL);
	expect_list(OLD "&identifier=files-0018", false,
		    "bad\xef\xbf\xbdname.txt|fromcode.txt|made/by/code.csv");
	expect_list(NEW "&identifier=files-0018&recursive=true", true,
		    "bad\xef\xbf\xbdname.txt|fromcode.txt|made|made/by|made/by/code.csv");
	struct http_resp r =
	    req("GET", "/files/content/fromcode.txt?" OLD "&identifier=files-0018");
	cr_expect_str_eq(r.body, "written by code");
	http_resp_fini(&r);

	/* Uploaded files (and the directories created for them) are readable and writable by
	 * the session's code. */
	r = upload("/files?" NEW "&identifier=files-0018&path=up/dir", "in.txt", "uploaded!");
	cr_expect_eq(r.status, 200);
	http_resp_fini(&r);
	expect_exec_ok(id, "print(open('/mnt/data/up/dir/in.txt').read())", "uploaded!");
	expect_exec_ok(id,
		       "open('/mnt/data/up/dir/in.txt','a').write(' more')\n"
		       "open('/mnt/data/up/dir/new.txt','w').write('n')\n"
		       "print('ok')",
		       "ok");
	r = req("GET", "/files/in.txt/content?" NEW "&identifier=files-0018&path=up/dir");
	cr_expect_str_eq(r.body, "uploaded! more");
	http_resp_fini(&r);
}

Test(files, symlinks_planted_by_code_are_never_followed)
{
	const char *id = "files-0019";
	FILE *f = fopen("/etc/passwd", "r");
	char before[256] = {0};
	cr_assert_not_null(f);
	cr_assert(fgets(before, sizeof(before), f));
	fclose(f);
	expect_exec_ok(id,
		       "import os\n"
		       "os.symlink('/etc/passwd', '/mnt/data/link')\n"
		       "os.symlink('/etc', '/mnt/data/etcdir')\n"
		       "os.makedirs('/mnt/data/d', exist_ok=True)\n"
		       "os.symlink('..', '/mnt/data/d/up')\n"
		       "os.symlink('real.txt', '/mnt/data/rel')\n"
		       "open('/mnt/data/real.txt','w').write('real')\n",
		       NULL);
	/* A special file, if the sandbox lets code make one (a FIFO, else a Unix socket). */
	struct http_resp x;
	char *st = emu_exec(&E, id,
			    "import os, socket\n"
			    "try:\n"
			    "    os.mkfifo('/mnt/data/fifo')\n"
			    "except OSError:\n"
			    "    try:\n"
			    "        s = socket.socket(socket.AF_UNIX)\n"
			    "        s.bind('/mnt/data/fifo')\n"
			    "    except OSError:\n"
			    "        pass\n"
			    "print('special', os.path.exists('/mnt/data/fifo'))\n",
			    &x);
	cr_assert(st && !strcmp(st, "Succeeded"), "%s", x.body);
	bool special = strstr(x.body, "special True") != NULL;
	free(st);
	http_resp_fini(&x);
	const char *nf[] = {
	    "GET /files/content/link?" OLD,
	    "GET /files/link/content?" NEW,
	    "GET /files/link?" OLD,
	    "GET /files/link?" NEW,
	    "DELETE /files/link?" OLD,
	    "DELETE /files/link?" NEW,
	    "GET /files/content/etcdir/passwd?" OLD,
	    "GET /files/etcdir%2Fpasswd/content?" NEW,
	    "GET /files/passwd/content?" NEW "&path=etcdir",
	    "GET /files/etcdir?" NEW,
	    "GET /files/content/d/up/real.txt?" OLD,
	    "GET /files/content/rel?" OLD,
	    "GET /files?" NEW "&path=etcdir",
	    "GET /files?" OLD "&path=etcdir",
	    "GET /files?" NEW "&path=d/up",
	    "GET /files/content/fifo?" OLD,
	    "GET /files/fifo?" NEW,
	    "DELETE /files/fifo?" NEW,
	};
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		if (!special && strstr(nf[i], "fifo"))
			continue;
		char method[8];
		const char *sp = strchr(nf[i], ' ');
		snprintf(method, sizeof(method), "%.*s", (int)(sp - nf[i]), nf[i]);
		struct http_resp r = req(method, "%s&identifier=files-0019", sp + 1);
		expect_error(&r, 404, "FileNotFound");
		http_resp_fini(&r);
	}
	/* Uploads through a link or onto one are refused; nothing is written outside. */
	struct http_resp r = upload("/files?" NEW "&identifier=files-0019", "etcdir/evil.txt", "x");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	r = upload("/files?" NEW "&identifier=files-0019&path=etcdir", "evil.txt", "x");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0019", "d/up/evil.txt", "x");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	r = upload("/files/upload?" OLD "&identifier=files-0019", "link", "overwritten");
	expect_error(&r, 404, "FileNotFound");
	http_resp_fini(&r);
	cr_expect_neq(access("/etc/evil.txt", F_OK), 0);
	f = fopen("/etc/passwd", "r");
	char after[256] = {0};
	cr_assert(fgets(after, sizeof(after), f));
	fclose(f);
	cr_expect_str_eq(after, before);
	/* Listings leave links and special files out. */
	expect_list(NEW "&identifier=files-0019&recursive=true", true, "d|real.txt");
	expect_list(OLD "&identifier=files-0019", false, "real.txt");
	/* The links are still there (a refused delete deletes nothing). */
	expect_exec_ok(id, "import os; print(os.path.islink('/mnt/data/link'))", "True");
}
