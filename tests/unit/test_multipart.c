/* SPDX-License-Identifier: MIT */
/*
 * multipart.h: Content-Type boundary extraction, Content-Disposition parameters (quoted, bare
 * tokens, filename* per RFC 5987), and the streaming parser under every way of splitting its
 * input, including one byte at a time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

/* ---- Content-Type ---- */

static void expect_boundary(const char *ct, const char *want)
{
	char *b = NULL;
	int rc = mp_content_type_boundary(ct, &b);
	if (!want) {
		cr_assert_eq(rc, -EINVAL, "\"%s\" → %d", ct, rc);
		return;
	}
	cr_assert_eq(rc, 0, "\"%s\" → %d", ct, rc);
	cr_assert_str_eq(b, want);
	free(b);
}

Test(multipart, content_type)
{
	expect_boundary("multipart/form-data; boundary=abc", "abc");
	expect_boundary("Multipart/Form-Data; BOUNDARY=abc", "abc");
	expect_boundary("multipart/form-data;boundary=\"a b;c\"", "a b;c");
	expect_boundary("multipart/form-data; charset=utf-8; boundary=x-1", "x-1");
	expect_boundary("  multipart/form-data ; boundary = q ", "q");
	expect_boundary("multipart/form-data; boundary=\"5e0f3b7c-9a1d-4a2b-8c3d-1e2f3a4b5c6d\"",
			"5e0f3b7c-9a1d-4a2b-8c3d-1e2f3a4b5c6d");
	expect_boundary("multipart/form-data", NULL);
	expect_boundary("multipart/form-data; boundary=", NULL);
	expect_boundary("multipart/form-data; boundary=\"\"", NULL);
	expect_boundary("multipart/mixed; boundary=abc", NULL);
	expect_boundary("application/json", NULL);
	expect_boundary("", NULL);
	expect_boundary("multipart/form-datax; boundary=abc", NULL);
	char long_ct[400];
	snprintf(long_ct, sizeof(long_ct), "multipart/form-data; boundary=%0201d", 0);
	expect_boundary(long_ct, NULL);
}

/* ---- Content-Disposition ---- */

static struct mp_disposition disp(const char *v)
{
	struct mp_disposition d;
	int rc = mp_parse_disposition(v, strlen(v), &d);
	cr_assert_eq(rc, 0, "%s → %d", v, rc);
	return d;
}

Test(multipart, disposition_quoted)
{
	struct mp_disposition d = disp("form-data; name=\"file\"; filename=\"a b.txt\"");
	cr_assert_str_eq(d.name, "file");
	cr_assert_str_eq(d.filename, "a b.txt");
	cr_assert_eq(d.filename_len, 7);
	cr_assert_not(d.filename_star);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_bare_tokens_dotnet)
{
	struct mp_disposition d =
	    disp("form-data; name=file; filename=x.txt; filename*=utf-8''x.txt");
	cr_assert_str_eq(d.name, "file");
	cr_assert_str_eq(d.filename, "x.txt");
	cr_assert(d.filename_star);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_filename_star_preferred)
{
	struct mp_disposition d = disp(
	    "form-data; name=\"file\"; filename=\"ete.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt");
	cr_assert_str_eq(d.filename, "\xc3\xa9t\xc3\xa9.txt");
	cr_assert(d.filename_star);
	mp_disposition_fini(&d);
	/* Order does not matter. */
	d = disp("form-data; filename*=utf-8'en'a%2Fb.txt; name=file; filename=plain.txt");
	cr_assert_str_eq(d.filename, "a/b.txt");
	mp_disposition_fini(&d);
	/* filename* alone. */
	d = disp("form-data; name=file; filename*=utf-8''only.txt");
	cr_assert_str_eq(d.filename, "only.txt");
	mp_disposition_fini(&d);
}

Test(multipart, disposition_bad_filename_star_falls_back)
{
	const char *bad[] = {
	    "form-data; name=file; filename=f.txt; filename*=utf-8''%C3",     /* bad UTF-8 */
	    "form-data; name=file; filename=f.txt; filename*=koi8-r''abc",    /* charset */
	    "form-data; name=file; filename=f.txt; filename*=utf-8''%zz",     /* escape */
	    "form-data; name=file; filename=f.txt; filename*=utf-8''%4",      /* short */
	    "form-data; name=file; filename=f.txt; filename*=no-quotes",      /* syntax */
	    "form-data; name=file; filename=f.txt; filename*=\"utf-8''a b\"", /* space */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mp_disposition d = disp(bad[i]);
		cr_assert_str_eq(d.filename, "f.txt", "%s", bad[i]);
		cr_assert_not(d.filename_star);
		mp_disposition_fini(&d);
	}
	struct mp_disposition d = disp("form-data; name=file; filename*=utf-8''%C3");
	cr_assert_null(d.filename);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_latin1)
{
	struct mp_disposition d = disp("form-data; name=file; filename*=iso-8859-1''%E9t%E9");
	cr_assert_str_eq(d.filename, "\xc3\xa9t\xc3\xa9");
	mp_disposition_fini(&d);
}

Test(multipart, disposition_nul_kept_with_length)
{
	struct mp_disposition d = disp("form-data; name=file; filename*=utf-8''a%00b");
	cr_assert_eq(d.filename_len, 3);
	cr_assert_eq(memcmp(d.filename, "a\0b", 3), 0);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_missing_and_empty_filename)
{
	struct mp_disposition d = disp("form-data; name=\"file\"");
	cr_assert_str_eq(d.name, "file");
	cr_assert_null(d.filename);
	mp_disposition_fini(&d);
	d = disp("form-data; name=\"file\"; filename=\"\"");
	cr_assert_not_null(d.filename);
	cr_assert_eq(d.filename_len, 0);
	mp_disposition_fini(&d);
	d = disp("form-data; name=file; filename=");
	cr_assert_not_null(d.filename);
	cr_assert_eq(d.filename_len, 0);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_names_are_whole_params)
{
	/* "filename=" must not be taken for "name=", nor "xname=". */
	struct mp_disposition d = disp("form-data; filename=\"f\"; xname=\"y\"; name=\"file\"");
	cr_assert_str_eq(d.name, "file");
	cr_assert_str_eq(d.filename, "f");
	mp_disposition_fini(&d);
	d = disp("form-data; filename=\"f\"");
	cr_assert_null(d.name);
	mp_disposition_fini(&d);
}

Test(multipart, disposition_case_and_first_wins)
{
	struct mp_disposition d = disp("FORM-DATA; NAME=\"file\"; FileName=\"a\"; filename=\"b\"; "
				       "name=\"other\"");
	cr_assert_str_eq(d.name, "file");
	cr_assert_str_eq(d.filename, "a");
	mp_disposition_fini(&d);
}

Test(multipart, disposition_quoting)
{
	struct mp_disposition d = disp("form-data; name=\"file\"; filename=\"a\\\"b;c\\\\d\\e\"");
	cr_assert_str_eq(d.filename, "a\"b;c\\d\\e");
	mp_disposition_fini(&d);
	/* Percent escapes and '+' in filename are literal (only filename* is decoded). */
	d = disp("form-data; name=file; filename=\"a+b%41.txt\"");
	cr_assert_str_eq(d.filename, "a+b%41.txt");
	mp_disposition_fini(&d);
	/* Bare values keep inner spaces, lose the outer ones. */
	d = disp("form-data;name = file ;filename= my file.txt ");
	cr_assert_str_eq(d.name, "file");
	cr_assert_str_eq(d.filename, "my file.txt");
	mp_disposition_fini(&d);
	/* Dot segments are not resolved here. */
	d = disp("form-data; name=file; filename=\"../../etc/passwd\"");
	cr_assert_str_eq(d.filename, "../../etc/passwd");
	mp_disposition_fini(&d);
}

Test(multipart, disposition_unterminated_quote)
{
	struct mp_disposition d;
	const char *v = "form-data; name=\"file\"; filename=\"abc";
	cr_assert_eq(mp_parse_disposition(v, strlen(v), &d), -EBADMSG);
}

/* ---- streaming ---- */

struct rec {
	int parts;
	char names[8][32];
	char filenames[8][64];
	bool has_filename[8];
	char *data[8];
	size_t data_len[8];
	int ended;
	int abort_at_begin; /* part number whose begin fails, or -1 */
	size_t abort_after_bytes;
	size_t total;
};

static int on_begin(void *ctx, const struct mp_part *p)
{
	struct rec *r = ctx;
	cr_assert_lt(r->parts, 8);
	int i = r->parts++;
	snprintf(r->names[i], sizeof(r->names[i]), "%s", p->name ? p->name : "(null)");
	r->has_filename[i] = p->filename != NULL;
	if (p->filename)
		snprintf(r->filenames[i], sizeof(r->filenames[i]), "%s", p->filename);
	r->data[i] = NULL;
	r->data_len[i] = 0;
	if (r->abort_at_begin == i)
		return -ECANCELED;
	return 0;
}

static int on_data(void *ctx, const char *d, size_t n)
{
	struct rec *r = ctx;
	int i = r->parts - 1;
	cr_assert_geq(i, 0);
	cr_assert_gt(n, 0);
	r->data[i] = realloc(r->data[i], r->data_len[i] + n);
	memcpy(r->data[i] + r->data_len[i], d, n);
	r->data_len[i] += n;
	r->total += n;
	if (r->abort_after_bytes && r->total > r->abort_after_bytes)
		return -EFBIG;
	return 0;
}

static int on_end(void *ctx)
{
	struct rec *r = ctx;
	r->ended++;
	return 0;
}

static const struct mp_callbacks cbs = {on_begin, on_data, on_end};

static void rec_free(struct rec *r)
{
	for (int i = 0; i < r->parts; i++)
		free(r->data[i]);
}

/* Feeds |body| in chunks of |chunk| bytes (0 = all at once); returns mp_feed/mp_finish's rc. */
static int run(const char *boundary, const char *body, size_t len, size_t chunk, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->abort_at_begin = -1;
	struct mp_parser *p;
	cr_assert_eq(mp_new(boundary, strlen(boundary), &cbs, r, &p), 0);
	int rc = 0;
	size_t off = 0;
	while (off < len && rc == 0) {
		size_t n = chunk && chunk < len - off ? chunk : len - off;
		rc = mp_feed(p, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = mp_finish(p);
	mp_free(p);
	return rc;
}

Test(multipart, stream_every_chunking)
{
	/* "--XyZZ" inside the content is a known trap: it contains the delimiter "\r\n--XyZ"
	 * followed by "Z", which RFC 2046 forbids in content; a boundary must not occur in it. */
	const char *body = "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"note\"\r\n"
			   "\r\n"
			   "hello\r\n"
			   "--XyZ\r\n"
			   "content-disposition: form-data; name=file; filename=x.txt\r\n"
			   "Content-Type: application/octet-stream\r\n"
			   "\r\n"
			   "line1\r\n--XyNOT a delimiter\r\n-XyZ\r\n--Xy\r\n"
			   "\r\n"
			   "--XyZ--\r\n"
			   "epilogue --XyZ garbage";
	size_t len = strlen(body);
	for (size_t chunk = 0; chunk <= len; chunk++) {
		struct rec r;
		int rc = run("XyZ", body, len, chunk, &r);
		cr_assert_eq(rc, 0, "chunk %zu: rc %d", chunk, rc);
		cr_assert_eq(r.parts, 2);
		cr_assert_str_eq(r.names[0], "note");
		cr_assert_eq(r.data_len[0], 5);
		cr_assert_str_eq(r.filenames[1], "x.txt");
		const char *want = "line1\r\n--XyNOT a delimiter\r\n-XyZ\r\n--Xy\r\n";
		cr_assert_eq(r.data_len[1], strlen(want), "chunk %zu", chunk);
		cr_assert_eq(memcmp(r.data[1], want, strlen(want)), 0);
		rec_free(&r);
	}
}

Test(multipart, stream_preamble_and_epilogue)
{
	struct rec r;
	const char *body = "preamble\r\n--B\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
			   "--B--\r\nepilogue";
	cr_assert_eq(run("B", body, strlen(body), 0, &r), 0);
	cr_assert_eq(r.parts, 1);
	cr_assert_eq(r.data_len[0], 1);
	rec_free(&r);
}

Test(multipart, stream_empty_part_and_no_headers)
{
	struct rec r;
	const char *body = "--B\r\nContent-Disposition: form-data; name=file; filename=e\r\n\r\n"
			   "\r\n--B\r\n\r\nanon\r\n--B--";
	cr_assert_eq(run("B", body, strlen(body), 0, &r), 0);
	cr_assert_eq(r.parts, 2);
	cr_assert_eq(r.data_len[0], 0);
	cr_assert_str_eq(r.names[1], "(null)");
	cr_assert_eq(r.data_len[1], 4);
	rec_free(&r);
}

Test(multipart, stream_lf_headers_and_padding)
{
	struct rec r;
	const char *body = "--B  \t\r\nContent-Disposition: form-data;\n name=file; filename=f\n"
			   "\r\n\r\nxy\r\n--B--";
	cr_assert_eq(run("B", body, strlen(body), 1, &r), 0);
	cr_assert_eq(r.parts, 1);
	cr_assert_str_eq(r.names[0], "file");
	cr_assert_str_eq(r.filenames[0], "f");
	cr_assert_eq(r.data_len[0], 2);
	rec_free(&r);
}

Test(multipart, stream_truncated)
{
	const char *bodies[] = {
	    "",
	    "--B",
	    "--B\r\n",
	    "--B\r\nContent-Disposition: form-data; name=file; filename=f\r\n",
	    "--B\r\nContent-Disposition: form-data; name=file; filename=f\r\n\r\nhello wor",
	    "--B\r\nContent-Disposition: form-data; name=file; filename=f\r\n\r\nhello\r\n--B",
	    "--B\r\nContent-Disposition: form-data; name=file; filename=f\r\n\r\nhello\r\n--B-",
	    "no boundary at all",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		for (size_t chunk = 0; chunk < 3; chunk++) {
			struct rec r;
			cr_assert_eq(run("B", bodies[i], strlen(bodies[i]), chunk, &r), -EBADMSG,
				     "body %zu", i);
			rec_free(&r);
		}
	}
}

Test(multipart, stream_bad_delimiter_line)
{
	struct rec r;
	const char *body = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--Bjunk\r\n";
	/* "--Bjunk" after a CRLF is a delimiter followed by garbage. */
	cr_assert_eq(run("B", body, strlen(body), 0, &r), -EBADMSG);
	rec_free(&r);
}

Test(multipart, stream_header_too_long)
{
	size_t n = MP_HEADER_MAX + 100;
	char *body = malloc(n + 64);
	strcpy(body, "--B\r\nX-Long: ");
	size_t l = strlen(body);
	memset(body + l, 'a', n);
	body[l + n] = '\0';
	struct rec r;
	cr_assert_eq(run("B", body, strlen(body), 0, &r), -EBADMSG);
	rec_free(&r);
	cr_assert_eq(run("B", body, strlen(body), 4096, &r), -EBADMSG);
	rec_free(&r);
	free(body);
}

Test(multipart, stream_unterminated_quote_in_header)
{
	struct rec r;
	const char *body = "--B\r\nContent-Disposition: form-data; name=\"file\r\n\r\nv\r\n--B--";
	cr_assert_eq(run("B", body, strlen(body), 0, &r), -EBADMSG);
	rec_free(&r);
}

Test(multipart, stream_callback_abort)
{
	struct rec r = {0};
	r.abort_at_begin = 0;
	struct mp_parser *p;
	cr_assert_eq(mp_new("B", 1, &cbs, &r, &p), 0);
	const char *body = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--B--";
	cr_assert_eq(mp_feed(p, body, strlen(body)), -ECANCELED);
	/* The parser stays failed. */
	cr_assert_eq(mp_feed(p, "x", 1), -EBADMSG);
	cr_assert_eq(mp_finish(p), -EBADMSG);
	mp_free(p);
	rec_free(&r);
}

Test(multipart, stream_large_binary_random_chunks)
{
	const char *boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
	size_t n = 3 * 1024 * 1024 + 17;
	char *content = malloc(n);
	unsigned x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		content[i] = (char)(x >> 16);
	}
	/* Plant near-delimiters, including one across a likely chunk edge. */
	memcpy(content + 1000, "\r\n------WebKitFormBoundary7MA4YWxkTrZu0g", 40);
	memcpy(content + 262140, "\r\n--", 4);
	char head[256];
	snprintf(head, sizeof(head),
		 "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
		 "Content-Type: application/octet-stream\r\n\r\n",
		 boundary);
	char tail[128];
	snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", boundary);
	size_t hl = strlen(head), tl = strlen(tail);
	char *body = malloc(hl + n + tl);
	memcpy(body, head, hl);
	memcpy(body + hl, content, n);
	memcpy(body + hl + n, tail, tl);
	size_t total = hl + n + tl;

	struct rec r = {0};
	r.abort_at_begin = -1;
	struct mp_parser *p;
	cr_assert_eq(mp_new(boundary, strlen(boundary), &cbs, &r, &p), 0);
	size_t off = 0, step = 1;
	while (off < total) {
		char *buf;
		size_t avail;
		mp_buffer(p, &buf, &avail);
		cr_assert_geq(avail, MP_READ_MIN);
		size_t k = step % avail;
		if (k == 0)
			k = 1;
		if (k > total - off)
			k = total - off;
		memcpy(buf, body + off, k);
		cr_assert_eq(mp_commit(p, k), 0);
		off += k;
		step = step * 7 + 13;
		if (step > 1000000)
			step = step % 300000 + 1;
	}
	cr_assert(mp_done(p));
	cr_assert_eq(mp_finish(p), 0);
	mp_free(p);
	cr_assert_eq(r.parts, 1);
	cr_assert_eq(r.data_len[0], n);
	cr_assert_eq(memcmp(r.data[0], content, n), 0);
	rec_free(&r);
	free(body);
	free(content);
}

Test(multipart, bad_boundary)
{
	struct mp_parser *p;
	struct rec r;
	cr_assert_eq(mp_new("", 0, &cbs, &r, &p), -EINVAL);
	char b[202];
	memset(b, 'b', 201);
	b[201] = '\0';
	cr_assert_eq(mp_new(b, 201, &cbs, &r, &p), -EINVAL);
}

Test(multipart, rfc5987)
{
	char *out;
	size_t len;
	cr_assert_eq(mp_rfc5987_decode("utf-8''a%20b", 12, &out, &len), 0);
	cr_assert_str_eq(out, "a b");
	free(out);
	cr_assert_eq(mp_rfc5987_decode("UTF-8'de'%E2%82%AC", 18, &out, &len), 0);
	cr_assert_str_eq(out, "\xe2\x82\xac");
	free(out);
	cr_assert_eq(mp_rfc5987_decode("utf-8'", 6, &out, &len), -EINVAL);
	cr_assert_eq(mp_rfc5987_decode("utf8''x", 7, &out, &len), -EINVAL);
}
