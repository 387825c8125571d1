/* SPDX-License-Identifier: MIT */
/*
 * Streaming multipart parser. The input is scanned for the delimiter "\r\n--<boundary>"; a
 * virtual "\r\n" is placed before the first byte so that a body starting directly with
 * "--<boundary>" needs no special case. Between calls only what cannot be decided yet is
 * kept: up to len(delimiter) - 1 bytes of a part (a possible partial delimiter), or an
 * incomplete header block (at most MP_HEADER_MAX). Everything else is handed to the callbacks
 * straight from the read buffer and dropped, which is what keeps memory constant.
 */
#include "multipart.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "pct.h"
#include "sputf8.h"
#include "util.h"

#define MP_BUF_BASE (256 * 1024)
/* Transport padding allowed after a delimiter (RFC 2046 LWSP), beyond any real client's. */
#define MP_PADDING_MAX 256

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_DONE, MP_FAILED };

struct mp_parser {
	struct mp_callbacks cb;
	void *ctx;
	char *delim; /* "\r\n--" boundary */
	size_t dlen;
	char *buf; /* unparsed input is buf[0, len) */
	size_t cap;
	size_t len;
	enum mp_state st;
	struct mp_disposition disp;
};

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool ieq_span(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

int mp_rfc5987_decode(const char *in, size_t len, char **out, size_t *out_len)
{
	const char *q1 = memchr(in, '\'', len);
	if (!q1)
		return -EINVAL;
	size_t cs_len = (size_t)(q1 - in);
	const char *q2 = memchr(q1 + 1, '\'', len - cs_len - 1);
	if (!q2)
		return -EINVAL;
	bool latin1;
	if (ieq_span(in, cs_len, "utf-8"))
		latin1 = false;
	else if (ieq_span(in, cs_len, "iso-8859-1"))
		latin1 = true;
	else
		return -EINVAL;
	const char *v = q2 + 1;
	size_t vlen = len - (size_t)(v - in);
	/* Latin-1 may double in size when re-encoded as UTF-8. */
	cleanup_free char *res = malloc(2 * vlen + 1);
	if (!res)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char b = (unsigned char)v[i];
		if (b == '%') {
			if (i + 2 >= vlen)
				return -EINVAL;
			int hi = sp_hexval((unsigned char)v[i + 1]);
			int lo = sp_hexval((unsigned char)v[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			b = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (b <= 0x20 || b == 0x7f || b == '"') {
			return -EINVAL;
		}
		if (latin1 && b >= 0x80) {
			res[n++] = (char)(0xc0 | b >> 6);
			res[n++] = (char)(0x80 | (b & 0x3f));
		} else {
			res[n++] = (char)b;
		}
	}
	res[n] = '\0';
	if (!latin1 && !sp_utf8_valid(res, n, NULL))
		return -EINVAL;
	*out_len = n;
	*out = steal_pointer(&res);
	return 0;
}

/*
 * Reads the next "; name=value" parameter of a header value starting at *i (at a ';' or the
 * end). Returns 1 with the name span and a new unquoted *val, 0 at the end, -EBADMSG for an
 * unterminated quoted string, -ENOMEM. Parameters without '=' are skipped.
 */
static int next_param(const char *v, size_t len, size_t *i, const char **name, size_t *name_len,
		      char **val, size_t *val_len)
{
	size_t p = *i, ns, ne;
	for (;;) {
		while (p < len && v[p] != ';')
			p++;
		if (p >= len) {
			*i = p;
			return 0;
		}
		p++;
		while (p < len && ows(v[p]))
			p++;
		ns = p;
		while (p < len && v[p] != '=' && v[p] != ';')
			p++;
		ne = p;
		while (ne > ns && ows(v[ne - 1]))
			ne--;
		if (p < len && v[p] == '=')
			break;
	}
	*name = v + ns;
	*name_len = ne - ns;
	p++;
	while (p < len && ows(v[p]))
		p++;
	cleanup_free char *out = malloc(len - p + 1);
	if (!out)
		return -ENOMEM;
	size_t n = 0;
	if (p < len && v[p] == '"') {
		p++;
		bool closed = false;
		while (p < len) {
			char c = v[p];
			if (c == '\\' && p + 1 < len && (v[p + 1] == '"' || v[p + 1] == '\\')) {
				out[n++] = v[p + 1];
				p += 2;
			} else if (c == '"') {
				p++;
				closed = true;
				break;
			} else {
				out[n++] = c;
				p++;
			}
		}
		if (!closed)
			return -EBADMSG;
		while (p < len && v[p] != ';')
			p++;
	} else {
		size_t s = p;
		while (p < len && v[p] != ';')
			p++;
		size_t e = p;
		while (e > s && ows(v[e - 1]))
			e--;
		memcpy(out, v + s, e - s);
		n = e - s;
	}
	out[n] = '\0';
	*i = p;
	*val = steal_pointer(&out);
	*val_len = n;
	return 1;
}

void mp_disposition_fini(struct mp_disposition *d)
{
	free(d->name);
	free(d->filename);
	memset(d, 0, sizeof(*d));
}

int mp_parse_disposition(const char *value, size_t len, struct mp_disposition *out)
{
	struct mp_disposition d = {0};
	cleanup_free char *star = NULL;
	size_t star_len = 0;
	size_t i = 0;
	while (i < len && value[i] != ';')
		i++;
	for (;;) {
		const char *name;
		size_t name_len, vlen;
		char *val = NULL;
		int rc = next_param(value, len, &i, &name, &name_len, &val, &vlen);
		if (rc < 0) {
			mp_disposition_fini(&d);
			return rc;
		}
		if (rc == 0)
			break;
		if (ieq_span(name, name_len, "name") && !d.name) {
			d.name = val;
		} else if (ieq_span(name, name_len, "filename") && !d.filename) {
			d.filename = val;
			d.filename_len = vlen;
		} else if (ieq_span(name, name_len, "filename*") && !star) {
			star = val;
			star_len = vlen;
		} else {
			free(val);
		}
	}
	if (star) {
		char *dec;
		size_t dec_len;
		int rc = mp_rfc5987_decode(star, star_len, &dec, &dec_len);
		if (rc == -ENOMEM) {
			mp_disposition_fini(&d);
			return rc;
		}
		if (rc == 0) {
			free(d.filename);
			d.filename = dec;
			d.filename_len = dec_len;
			d.filename_star = true;
		}
	}
	*out = d;
	return 0;
}

int mp_content_type_boundary(const char *content_type, char **boundary)
{
	const char *v = content_type;
	size_t len = strlen(v);
	size_t s = 0;
	while (s < len && ows(v[s]))
		s++;
	size_t e = s;
	while (e < len && v[e] != ';')
		e++;
	size_t te = e;
	while (te > s && ows(v[te - 1]))
		te--;
	if (!ieq_span(v + s, te - s, "multipart/form-data"))
		return -EINVAL;
	size_t i = e;
	for (;;) {
		const char *name;
		size_t name_len, vlen;
		char *val = NULL;
		int rc = next_param(v, len, &i, &name, &name_len, &val, &vlen);
		if (rc == -ENOMEM)
			return rc;
		if (rc <= 0)
			return -EINVAL;
		if (!ieq_span(name, name_len, "boundary")) {
			free(val);
			continue;
		}
		if (vlen == 0 || vlen > 200 || strlen(val) != vlen || strpbrk(val, "\r\n")) {
			free(val);
			return -EINVAL;
		}
		*boundary = val;
		return 0;
	}
}

int mp_new(const char *boundary, size_t boundary_len, const struct mp_callbacks *cb, void *ctx,
	   struct mp_parser **out)
{
	if (boundary_len == 0 || boundary_len > 200)
		return -EINVAL;
	struct mp_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cb = *cb;
	p->ctx = ctx;
	p->dlen = boundary_len + 4;
	p->delim = malloc(p->dlen + 1);
	p->cap = MP_BUF_BASE + MP_HEADER_MAX + MP_PADDING_MAX + p->dlen + 8;
	p->buf = malloc(p->cap);
	if (!p->delim || !p->buf) {
		mp_free(p);
		return -ENOMEM;
	}
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, boundary_len);
	p->delim[p->dlen] = '\0';
	/* The virtual CRLF before the first delimiter. */
	memcpy(p->buf, "\r\n", 2);
	p->len = 2;
	p->st = MP_PREAMBLE;
	*out = p;
	return 0;
}

void mp_free(struct mp_parser *p)
{
	if (!p)
		return;
	mp_disposition_fini(&p->disp);
	free(p->delim);
	free(p->buf);
	free(p);
}

void mp_buffer(struct mp_parser *p, char **buf, size_t *avail)
{
	*buf = p->buf + p->len;
	*avail = p->cap - p->len;
}

bool mp_done(const struct mp_parser *p)
{
	return p->st == MP_DONE;
}

static int cb_data(struct mp_parser *p, const char *d, size_t n)
{
	if (!n || !p->cb.part_data)
		return 0;
	return p->cb.part_data(p->ctx, d, n);
}

/* Parses the header lines s[0, len) of a part (CRLF or LF separated, obs-fold joined). */
static int parse_headers(struct mp_parser *p, const char *s, size_t len)
{
	struct strbuf cd = {0};
	bool have_cd = false, in_cd = false;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;
		size_t le = e;
		if (le > i && s[le - 1] == '\r')
			le--;
		const char *line = s + i;
		size_t ll = le - i;
		i = e + 1;
		if (ll > 0 && ows(line[0])) {
			if (in_cd) {
				strbuf_append(&cd, " ", 1);
				strbuf_append(&cd, line, ll);
			}
			continue;
		}
		in_cd = false;
		const char *colon = memchr(line, ':', ll);
		if (!colon)
			continue;
		size_t nl_len = (size_t)(colon - line);
		while (nl_len > 0 && ows(line[nl_len - 1]))
			nl_len--;
		if (have_cd || !ieq_span(line, nl_len, "content-disposition"))
			continue;
		have_cd = in_cd = true;
		const char *v = colon + 1;
		size_t vl = ll - (size_t)(v - line);
		while (vl > 0 && ows(*v)) {
			v++;
			vl--;
		}
		strbuf_append(&cd, v, vl);
	}
	mp_disposition_fini(&p->disp);
	if (cd.oom) {
		strbuf_fini(&cd);
		return -ENOMEM;
	}
	int rc = 0;
	if (have_cd)
		rc = mp_parse_disposition(cd.data ? cd.data : "", cd.len, &p->disp);
	strbuf_fini(&cd);
	return rc;
}

/* Parses as much of buf[0, len) as can be decided; keeps the rest at the front. */
static int process(struct mp_parser *p)
{
	size_t pos = 0;
	int rc = 0;
	for (;;) {
		char *b = p->buf + pos;
		size_t avail = p->len - pos;
		switch (p->st) {
		case MP_PREAMBLE:
		case MP_BODY: {
			char *m = memmem(b, avail, p->delim, p->dlen);
			if (m) {
				size_t n = (size_t)(m - b);
				if (p->st == MP_BODY) {
					rc = cb_data(p, b, n);
					if (rc == 0 && p->cb.part_end)
						rc = p->cb.part_end(p->ctx);
					if (rc < 0)
						goto out;
				}
				pos += n + p->dlen;
				p->st = MP_AFTER_DELIM;
				continue;
			}
			size_t keep = p->dlen - 1;
			if (avail > keep) {
				if (p->st == MP_BODY && (rc = cb_data(p, b, avail - keep)) < 0)
					goto out;
				pos += avail - keep;
			}
			goto out;
		}
		case MP_AFTER_DELIM: {
			if (avail < 2)
				goto out;
			if (b[0] == '-' && b[1] == '-') {
				p->st = MP_DONE;
				pos = p->len;
				goto out;
			}
			size_t q = 0;
			while (q < avail && ows(b[q]))
				q++;
			if (q > MP_PADDING_MAX) {
				rc = -EBADMSG;
				goto out;
			}
			if (avail - q < 2)
				goto out;
			if (b[q] != '\r' || b[q + 1] != '\n') {
				rc = -EBADMSG;
				goto out;
			}
			pos += q;
			p->st = MP_HEADERS;
			continue;
		}
		case MP_HEADERS: {
			/* b starts with the CRLF that ended the delimiter line. */
			char *m = memmem(b, avail, "\r\n\r\n", 4);
			if (!m) {
				if (avail > MP_HEADER_MAX + 4)
					rc = -EBADMSG;
				goto out;
			}
			size_t hlen = (size_t)(m - b);
			if (hlen > MP_HEADER_MAX + 2) {
				rc = -EBADMSG;
				goto out;
			}
			rc = parse_headers(p, b + (hlen ? 2 : 0), hlen ? hlen - 2 : 0);
			if (rc < 0)
				goto out;
			pos += hlen + 4;
			p->st = MP_BODY;
			if (p->cb.part_begin) {
				struct mp_part part = {
				    .name = p->disp.name,
				    .filename = p->disp.filename,
				    .filename_len = p->disp.filename_len,
				    .filename_star = p->disp.filename_star,
				};
				rc = p->cb.part_begin(p->ctx, &part);
				if (rc < 0)
					goto out;
			}
			continue;
		}
		case MP_DONE:
			pos = p->len;
			goto out;
		case MP_FAILED:
			return -EBADMSG;
		}
	}
out:
	if (rc < 0) {
		p->st = MP_FAILED;
		return rc;
	}
	memmove(p->buf, p->buf + pos, p->len - pos);
	p->len -= pos;
	return 0;
}

int mp_commit(struct mp_parser *p, size_t n)
{
	if (p->st == MP_FAILED)
		return -EBADMSG;
	if (n > p->cap - p->len)
		n = p->cap - p->len;
	p->len += n;
	return process(p);
}

int mp_feed(struct mp_parser *p, const char *data, size_t len)
{
	while (len > 0) {
		char *buf;
		size_t avail;
		mp_buffer(p, &buf, &avail);
		size_t n = len < avail ? len : avail;
		memcpy(buf, data, n);
		int rc = mp_commit(p, n);
		if (rc < 0)
			return rc;
		data += n;
		len -= n;
	}
	return 0;
}

int mp_finish(struct mp_parser *p)
{
	return p->st == MP_DONE ? 0 : -EBADMSG;
}
