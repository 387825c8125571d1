/* SPDX-License-Identifier: MIT */
/*
 * libcurl wrapper; see http_client.h. The easy handle is reset before every request (so no
 * option leaks from one scenario step into the next) but keeps its connection cache. Interim
 * responses (100 Continue) reset the collected headers, so a response always describes the
 * final status only.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "sha256.h"

struct http_client {
	CURL *curl;
	char *cacert;
	bool insecure;
};

struct gen_state {
	struct http_gen gen;
	uint64_t sent;
	size_t plen;
};

struct body_state {
	enum http_source source;
	const char *mem;
	size_t mem_len;
	size_t mem_off;
	int fd;
	struct gen_state gen;
};

struct rx_state {
	struct http_response *resp;
	struct sha256 sha;
	char *sent_buf;
	size_t sent_len;
	FILE *sent;
	bool failed_alloc;
};

struct http_client *http_client_new(const struct http_tls *tls)
{
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->curl = curl_easy_init();
	if (tls && tls->cacert)
		c->cacert = strdup(tls->cacert);
	c->insecure = tls && tls->insecure;
	if (!c->curl || (tls && tls->cacert && !c->cacert)) {
		http_client_free(c);
		return NULL;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->cacert);
	free(c);
}

void http_response_fini(struct http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	free(r->status_line);
	free(r->sent_head);
	memset(r, 0, sizeof(*r));
}

const char *http_response_header(const struct http_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static size_t gen_fill(struct gen_state *g, char *buf, size_t want)
{
	uint64_t left = g->gen.size - g->sent;
	size_t n = want < left ? want : (size_t)left;
	for (size_t i = 0; i < n; i++)
		buf[i] = g->gen.pattern[(g->sent + i) % g->plen];
	g->sent += n;
	return n;
}

static size_t read_body(char *buf, size_t size, size_t nitems, void *arg)
{
	struct body_state *b = arg;
	size_t want = size * nitems;
	switch (b->source) {
	case HTTP_SRC_MEM: {
		size_t n = b->mem_len - b->mem_off < want ? b->mem_len - b->mem_off : want;
		memcpy(buf, b->mem + b->mem_off, n);
		b->mem_off += n;
		return n;
	}
	case HTTP_SRC_FILE: {
		ssize_t n = TEMP_FAILURE_RETRY_INT(read(b->fd, buf, want));
		return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
	}
	case HTTP_SRC_GENERATE:
		return gen_fill(&b->gen, buf, want);
	case HTTP_SRC_NONE:
		return 0;
	}
	return 0;
}

static int seek_body(void *arg, curl_off_t offset, int origin)
{
	struct body_state *b = arg;
	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	switch (b->source) {
	case HTTP_SRC_MEM:
		b->mem_off = (size_t)offset < b->mem_len ? (size_t)offset : b->mem_len;
		return CURL_SEEKFUNC_OK;
	case HTTP_SRC_FILE:
		return lseek(b->fd, (off_t)offset, SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL
								 : CURL_SEEKFUNC_OK;
	case HTTP_SRC_GENERATE:
		b->gen.sent = (uint64_t)offset;
		return CURL_SEEKFUNC_OK;
	case HTTP_SRC_NONE:
		break;
	}
	return CURL_SEEKFUNC_CANTSEEK;
}

static size_t read_gen_part(char *buf, size_t size, size_t nitems, void *arg)
{
	return gen_fill(arg, buf, size * nitems);
}

static int seek_gen_part(void *arg, curl_off_t offset, int origin)
{
	struct gen_state *g = arg;
	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	g->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static char *trim_dup(const char *s, size_t len)
{
	while (len && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == '\r' || s[len - 1] == '\n' || s[len - 1] == ' ' ||
		       s[len - 1] == '\t'))
		len--;
	return strndup(s, len);
}

static void reset_headers(struct http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct rx_state *rx = arg;
	struct http_response *r = rx->resp;
	size_t len = size * nitems;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		reset_headers(r);
		free(r->status_line);
		r->status_line = trim_dup(buf, len);
		if (!r->status_line)
			rx->failed_alloc = true;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len; /* the blank line ending the head */
	struct http_header *grown = realloc(r->headers, (r->n_headers + 1) * sizeof(*grown));
	if (!grown) {
		rx->failed_alloc = true;
		return 0;
	}
	r->headers = grown;
	char *name = trim_dup(buf, (size_t)(colon - buf));
	char *value = trim_dup(colon + 1, len - (size_t)(colon + 1 - buf));
	if (!name || !value) {
		free(name);
		free(value);
		rx->failed_alloc = true;
		return 0;
	}
	r->headers[r->n_headers++] = (struct http_header){.name = name, .value = value};
	return len;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *arg)
{
	struct rx_state *rx = arg;
	struct http_response *r = rx->resp;
	size_t len = size * nitems;
	sha256_update(&rx->sha, buf, len);
	r->body_size += len;
	size_t keep = r->body_len < HTTP_BODY_KEEP ? HTTP_BODY_KEEP - r->body_len : 0;
	if (keep > len)
		keep = len;
	if (keep < len)
		r->body_truncated = true;
	if (keep) {
		char *grown = realloc(r->body, r->body_len + keep + 1);
		if (!grown) {
			rx->failed_alloc = true;
			return 0;
		}
		r->body = grown;
		memcpy(r->body + r->body_len, buf, keep);
		r->body_len += keep;
		r->body[r->body_len] = '\0';
	}
	return len;
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)h;
	struct rx_state *rx = arg;
	if (type == CURLINFO_HEADER_OUT && rx->sent)
		fwrite(data, 1, size, rx->sent);
	return 0;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	const volatile sig_atomic_t *flag = arg;
	return flag && *flag ? 1 : 0;
}

static int add_parts(CURL *curl, const struct http_request *req, curl_mime *mime,
		     struct gen_state *gens, struct sp_err *err)
{
	for (size_t i = 0; i < req->n_parts; i++) {
		const struct http_part *p = &req->parts[i];
		curl_mimepart *part = curl_mime_addpart(mime);
		if (!part)
			return -ENOMEM;
		curl_mime_name(part, p->name);
		CURLcode rc = CURLE_OK;
		switch (p->source) {
		case HTTP_SRC_MEM:
			rc = curl_mime_data(part, p->data, p->len);
			break;
		case HTTP_SRC_FILE:
			rc = curl_mime_filedata(part, p->data);
			break;
		case HTTP_SRC_GENERATE:
			gens[i] = (struct gen_state){.gen = p->gen, .plen = strlen(p->gen.pattern)};
			rc = curl_mime_data_cb(part, (curl_off_t)p->gen.size, read_gen_part,
					       seek_gen_part, NULL, &gens[i]);
			break;
		case HTTP_SRC_NONE:
			rc = curl_mime_data(part, "", 0);
			break;
		}
		if (rc != CURLE_OK)
			return sp_err_set(err, -EIO, "multipart part %s: %s", p->name,
					  curl_easy_strerror(rc));
		/* filedata sets the base name as filename; the scenario decides instead. */
		curl_mime_filename(part, p->filename);
		if (p->content_type)
			curl_mime_type(part, p->content_type);
	}
	(void)curl;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int http_client_perform(struct http_client *c, const struct http_request *req,
			struct http_response *resp, struct sp_err *err)
{
	memset(resp, 0, sizeof(*resp));
	CURL *curl = c->curl;
	curl_easy_reset(curl);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct rx_state rx = {.resp = resp};
	sha256_init(&rx.sha);
	rx.sent = open_memstream(&rx.sent_buf, &rx.sent_len);
	struct body_state body = {.source = req->body, .fd = -1};
	struct curl_slist *headers = NULL;
	curl_mime *mime = NULL;
	struct gen_state *gens = NULL;
	int r = 0;

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "sessionpool-conformance/" SP_VERSION);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 120000L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &rx);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rx);
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &rx);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)req->abort_flag);
	if (c->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->cacert);
	if (c->insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	bool has_body = req->n_parts > 0 || req->body != HTTP_SRC_NONE;
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	} else if (!has_body) {
		if (strcmp(req->method, "GET") == 0) {
			curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
		} else if (strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
		} else {
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
		}
	} else {
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	}

	if (req->n_parts > 0) {
		mime = curl_mime_init(curl);
		gens = calloc(req->n_parts, sizeof(*gens));
		if (!mime || !gens) {
			r = -ENOMEM;
			goto out;
		}
		if ((r = add_parts(curl, req, mime, gens, err)) < 0)
			goto out;
		curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	} else if (req->body != HTTP_SRC_NONE) {
		curl_off_t size = 0;
		if (req->body == HTTP_SRC_MEM) {
			body.mem = req->data;
			body.mem_len = req->len;
			size = (curl_off_t)req->len;
		} else if (req->body == HTTP_SRC_FILE) {
			body.fd = open(req->data, O_RDONLY | O_CLOEXEC);
			struct stat st;
			if (body.fd < 0 || fstat(body.fd, &st) < 0) {
				r = sp_err_sys(err, -errno, "cannot read %s", req->data);
				goto out;
			}
			size = (curl_off_t)st.st_size;
		} else {
			body.gen =
			    (struct gen_state){.gen = req->gen, .plen = strlen(req->gen.pattern)};
			size = (curl_off_t)req->gen.size;
		}
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(curl, CURLOPT_READDATA, &body);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, seek_body);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, &body);
		if (!req->chunked)
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
	}
	if (req->chunked) {
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
		if (!headers) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < req->n_headers; i++) {
		struct curl_slist *next = curl_slist_append(headers, req->headers[i]);
		if (!next) {
			r = -ENOMEM;
			goto out;
		}
		headers = next;
	}
	if (headers)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

	double start = now_seconds();
	CURLcode rc = curl_easy_perform(curl);
	resp->seconds = now_seconds() - start;
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	resp->status = status;
	if (rx.failed_alloc) {
		r = -ENOMEM;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK) {
		r = sp_err_set(err, -ECANCELED, "interrupted");
	} else if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR) && status >= 400 &&
		   resp->status_line) {
		/* The server answered (e.g. 413) and closed before taking the whole body. */
		resp->send_cut_short = true;
	} else if (rc != CURLE_OK) {
		r = sp_err_set(err, -EIO, "%s %s: %s", req->method, req->url,
			       errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
out:
	if (body.fd >= 0)
		close(body.fd);
	curl_slist_free_all(headers);
	curl_mime_free(mime);
	free(gens);
	if (rx.sent) {
		fclose(rx.sent);
		resp->sent_head = rx.sent_buf;
	}
	sha256_final_hex(&rx.sha, resp->sha256);
	if (!resp->body && r == 0) {
		resp->body = calloc(1, 1);
		if (!resp->body)
			r = -ENOMEM;
	}
	if (r < 0) {
		char *sent = resp->sent_head;
		resp->sent_head = NULL;
		http_response_fini(resp);
		resp->sent_head = sent;
	}
	return r;
}
