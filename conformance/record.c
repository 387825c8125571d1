/* SPDX-License-Identifier: MIT */
/*
 * Recordings; see record.h. The text is assembled in memory (open_memstream), redacted as a
 * whole, then written once, so a token split across two writes cannot slip through.
 */
#include "record.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "redact.h"

int record_mkdirs(const char *path)
{
	cleanup_free char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Writes |head| with every Authorization value reduced to its scheme. */
static void put_head(FILE *f, const char *head)
{
	const char *line = head;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		while (len && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			line = eol ? eol + 1 : NULL;
			continue;
		}
		if (len > 14 && strncasecmp(line, "authorization:", 14) == 0) {
			const char *v = line + 14;
			while (*v == ' ')
				v++;
			size_t scheme = strcspn(v, " \r\n");
			fprintf(f, "Authorization: %.*s <redacted>\n", (int)scheme, v);
		} else {
			fprintf(f, "%.*s\n", (int)len, line);
		}
		line = eol ? eol + 1 : NULL;
	}
}

static void safe_component(char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			*s = '_';
}

int record_write(const struct record_entry *e, struct sp_err *err)
{
	cleanup_free char *tdir = strdup(e->target);
	cleanup_free char *step = strdup(e->step_name ? e->step_name : "");
	if (!tdir || !step)
		return -ENOMEM;
	safe_component(tdir);
	safe_component(step);
	cleanup_free char *dir = NULL, *path = NULL;
	if (asprintf(&dir, "%s/%s/%s", e->dir, tdir, e->scenario) < 0)
		return -ENOMEM;
	int r = record_mkdirs(dir);
	if (r < 0)
		return sp_err_sys(err, r, "cannot create %s", dir);
	if (asprintf(&path, "%s/%02u-%s%s%s.http", dir, e->seq, e->phase, step[0] ? "-" : "",
		     step) < 0)
		return -ENOMEM;

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "### request\n");
	if (e->resp && e->resp->sent_head && e->resp->sent_head[0])
		put_head(f, e->resp->sent_head);
	else
		fprintf(f, "%s %s\n", e->req->method, e->req->url);
	fprintf(f, "\n");
	if (e->req->n_parts)
		fprintf(f, "<multipart/form-data body with %zu part(s)%s%s>\n", e->req->n_parts,
			e->body_note ? ": " : "", e->body_note ? e->body_note : "");
	else if (e->req->body == HTTP_SRC_MEM)
		fwrite(e->req->data, 1, e->req->len, f);
	else if (e->req->body != HTTP_SRC_NONE)
		fprintf(f, "<%s>\n", e->body_note ? e->body_note : "streamed body");
	fprintf(f, "\n### response");
	if (e->resp) {
		fprintf(f, " (%.3f s)\n%s\n", e->resp->seconds,
			e->resp->status_line ? e->resp->status_line : "");
		for (size_t i = 0; i < e->resp->n_headers; i++)
			fprintf(f, "%s: %s\n", e->resp->headers[i].name, e->resp->headers[i].value);
		fprintf(f, "\n");
		if (e->resp->body)
			fwrite(e->resp->body, 1, e->resp->body_len, f);
		if (e->resp->body_truncated)
			fprintf(f, "\n<%llu bytes in all, sha256 %s>",
				(unsigned long long)e->resp->body_size, e->resp->sha256);
		fprintf(f, "\n");
	} else {
		fprintf(f, "\n<none: %s>\n",
			e->transport_error ? e->transport_error : "no response");
	}
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	size_t clean_len = 0;
	cleanup_free char *clean = redact_dup(text, len, &clean_len);
	free(text);
	if (!clean)
		return -ENOMEM;
	cleanup_fclose FILE *out = fopen(path, "we");
	if (!out)
		return sp_err_sys(err, -errno, "cannot write %s", path);
	fwrite(clean, 1, clean_len, out);
	return 0;
}
