/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: uploads (multipart/form-data, emulator/multipart.c). The input is a
 * Content-Type header value, a '\n', then the body. The boundary comes from
 * mp_content_type_boundary(); the body is fed the way api_files.c feeds it (mp_buffer() and
 * mp_commit()) in chunks of varying sizes, then mp_finish(). Each part's filename goes through
 * filepath_effective() as an upload's does. The header line alone also exercises the
 * Content-Disposition and RFC 5987 parsers directly. Checks beyond "no crash": the callbacks
 * arrive in order (begin, data…, end) and a finished parse saw its close delimiter.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filepath.h"
#include "fuzz.h"
#include "multipart.h"

struct seen {
	bool in_part;
	size_t parts;
	size_t bytes;
};

static int on_begin(void *ctx, const struct mp_part *p)
{
	struct seen *s = ctx;
	if (s->in_part)
		abort();
	s->in_part = true;
	s->parts++;
	if (p->name)
		(void)strlen(p->name);
	if (p->filename) {
		if (p->filename[p->filename_len] != '\0')
			abort();
		char *rel = NULL;
		if (filepath_effective(NULL, 0, p->filename, p->filename_len, &rel) == 0)
			free(rel);
	}
	/* A part named "stop" aborts the parse, as a refused upload does. */
	return p->name && !strcmp(p->name, "stop") ? -1000 : 0;
}

static int on_data(void *ctx, const char *data, size_t len)
{
	struct seen *s = ctx;
	if (!s->in_part || (len && !data))
		abort();
	for (size_t i = 0; i < len; i++)
		s->bytes += (unsigned char)data[i] != 0; /* touch every byte */
	return 0;
}

static int on_end(void *ctx)
{
	struct seen *s = ctx;
	if (!s->in_part)
		abort();
	s->in_part = false;
	return 0;
}

static void header_parsers(const char *line, size_t len)
{
	struct mp_disposition d = {0};
	if (mp_parse_disposition(line, len, &d) == 0)
		mp_disposition_fini(&d);
	char *out = NULL;
	size_t out_len = 0;
	if (mp_rfc5987_decode(line, len, &out, &out_len) == 0) {
		if (out[out_len] != '\0')
			abort();
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t hlen = nl ? (size_t)(nl - in) : size;
	char *ct = strndup(in, hlen); /* a header value is a C string */
	if (!ct)
		return 0;
	header_parsers(ct, strlen(ct));
	char *boundary = NULL;
	int rc = mp_content_type_boundary(ct, &boundary);
	free(ct);
	if (rc < 0)
		return 0;
	if (!nl) {
		free(boundary);
		return 0;
	}
	const char *body = nl + 1;
	size_t left = size - hlen - 1;

	static const struct mp_callbacks cbs = {on_begin, on_data, on_end};
	struct seen s = {0};
	struct mp_parser *p = NULL;
	rc = mp_new(boundary, strlen(boundary), &cbs, &s, &p);
	free(boundary);
	if (rc < 0)
		return 0;
	/* Chunk sizes from a small deterministic sequence: 1, 2, 3, 5, 8, … bytes, wrapping. */
	size_t a = 1, b = 2;
	while (rc == 0 && left > 0 && !mp_done(p)) {
		char *buf;
		size_t avail;
		mp_buffer(p, &buf, &avail);
		if (avail < MP_READ_MIN)
			abort();
		size_t n = a < left ? a : left;
		if (n > avail)
			n = avail;
		memcpy(buf, body, n);
		body += n;
		left -= n;
		rc = mp_commit(p, n);
		size_t next = a + b;
		a = b;
		b = next > 4096 ? 1 : next;
	}
	if (rc == 0) {
		bool done = mp_done(p);
		rc = mp_finish(p);
		if ((rc == 0) != done)
			abort();
		if (done && s.in_part)
			abort(); /* the close delimiter ends the last part */
	}
	mp_free(p);
	return 0;
}
