/* SPDX-License-Identifier: MIT */
/*
 * One catch-all handler for every path. Checks run in contract §10.3 order: authentication,
 * deny-role, route, method, api-version, identifier; the handlers in api_*.c do the rest.
 * CivetWeb must not decode the URL (decode_url=no) because routing needs the raw segments
 * (§1.4: "files/a%2Fcontent" is not a download).
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include "api.h"
#include "auth.h"
#include "cleanup.h"
#include "conntrack.h"
#include "constants.h"
#include "reqlog.h"
#include "reqring.h"

/*
 * The handler column of the operation table (route.h, route.c), indexed by operation: kept here
 * so that route.c, fuzzed and unit-tested without CivetWeb, does not link the handlers.
 */
static void (*const handlers[])(struct req *) = {
    [OP_CODE_EXECUTE] = api_execute,
    [OP_PYTHON_EXECUTE] = api_execute,
    [OP_EXECUTIONS_POST] = api_execute,
    [OP_EXECUTION_GET] = api_execution_get,
    [OP_FILES_UPLOAD_OLD] = api_files_upload,
    [OP_FILES_UPLOAD_NEW] = api_files_upload,
    [OP_FILES_LIST] = api_files_list,
    [OP_FILES_CONTENT] = api_files_content,
    [OP_FILES_META] = api_files_meta,
    [OP_FILES_DELETE] = api_files_delete,
    [OP_SESSION_GET] = api_session,
    [OP_SESSION_DELETE] = api_session,
    [OP_LIST_SESSIONS] = api_list_sessions,
    [OP_METADATA] = api_metadata,
    [OP_MGMT_GET_SESSION] = api_session,
    [OP_MGMT_LIST_SESSIONS] = api_list_sessions,
    [OP_MGMT_STOP_SESSION] = api_session,
    [OP_HEALTHZ] = api_healthz,
    [OP_MCP] = api_mcp,
    [OP_ROOT] = api_root,
    [OP_PLAYGROUND] = api_playground,
    [OP_EMU_REQUESTS] = api_requests,
};

static void (*handler_of(enum route_op op))(struct req *)
{
	return (size_t)op < sizeof(handlers) / sizeof(*handlers) ? handlers[op] : NULL;
}

/* Authentication and the role (§2). False when answered. */
static bool check_auth(struct req *r)
{
	const struct config *c = r->srv->cfg;
	char why[256];
	if (auth_check(c, http_header(r, "Authorization"), time(NULL), why, sizeof(why)) < 0) {
		http_send_error(r, API_ERR_UNAUTHORIZED, "%s", why);
		return false;
	}
	if (c->deny_role) {
		http_send_error(r, API_ERR_PERMISSION_DENIED,
				"The principal does not have the Azure ContainerApps Session "
				"Executor role on this session pool.");
		return false;
	}
	return true;
}

/* The route exists and takes the method (OPTIONS answered here). False when answered. */
static bool check_route(struct req *r, char *allow, size_t n)
{
	if (r->route.res == RES_NONE) {
		http_send_no_route(r, NULL);
		return false;
	}
	route_allow(&r->route, allow, n);
	if (r->method == HTTP_OPTIONS) {
		http_add_header(r, "Allow", "%s", allow);
		http_send_empty(r, 204);
		return false;
	}
	enum http_method m = r->method == HTTP_HEAD ? HTTP_GET : r->method;
	if (!(r->route.methods & m)) {
		http_add_header(r, "Allow", "%s", allow);
		http_send_error(r, API_ERR_METHOD_NOT_ALLOWED, "Method %s is not allowed on '%s'.",
				r->ri->request_method,
				r->ri->local_uri_raw ? r->ri->local_uri_raw : "");
		return false;
	}
	return true;
}

/* The api-version (§1.5), which also chooses the shape. False when answered. */
static bool check_api_version(struct req *r)
{
	r->api_version = query_get(&r->query, "api-version", NULL);
	bool optional = route_api_version_optional(&r->route, r->method);
	if (optional && (!r->api_version || !*r->api_version)) {
		r->api_version = NULL;
		r->new_shape = true;
		return true;
	}
	switch (api_version_check(r->api_version, r->srv->cfg->api_version_mode, &r->new_shape)) {
	case APIV_OK:
		return true;
	case APIV_MISSING:
		http_send_error(r, API_ERR_MISSING_API_VERSION,
				"The api-version query parameter is required.");
		return false;
	case APIV_UNSUPPORTED:
		http_send_error(r, API_ERR_UNSUPPORTED_API_VERSION,
				"The api-version '%s' is not supported. Supported versions: %s.",
				r->api_version, api_versions_supported());
		return false;
	}
	return false;
}

/* The identifier of a session-scoped operation (§1.2). False when answered. */
static bool check_identifier(struct req *r, unsigned flags)
{
	if (!(flags & OPF_SESSION))
		return true;
	r->identifier = query_get(&r->query, "identifier", &r->identifier_len);
	if ((!r->identifier || !r->identifier_len) && (flags & OPF_ID_IN_BODY)) {
		/* Legacy Semantic Kernel .NET sent it in the body only: api_execute reads it
		 * there, with the same two errors, before the body's checks. */
		r->identifier = NULL;
		r->identifier_len = 0;
	} else if (!r->identifier || !r->identifier_len) {
		http_send_error(r, API_ERR_MISSING_IDENTIFIER,
				"The identifier query parameter is required.");
		return false;
	}
	if (r->identifier && !identifier_valid(r->identifier, r->identifier_len)) {
		http_send_error(r, API_ERR_INVALID_IDENTIFIER,
				"The identifier must be 4 to 128 characters from A-Z, a-z, 0-9 and "
				"%s.",
				IDENTIFIER_SPECIALS);
		return false;
	}
	return true;
}

/* The check order of §10.3, then the operation's handler. */
static void dispatch(struct req *r)
{
	enum route_op early = route_own_checks_op(&r->route);
	if (early == OP_NONE)
		early = route_op_for(&r->route, r->method, true);
	if ((route_op_flags(early) & OPF_NO_AUTH) && handler_of(early)) {
		r->op = early;
		handler_of(early)(r);
		return;
	}
	/* A browser's preflight carries no token: answered before authentication. */
	if (http_cors_preflight(r))
		return;
	char allow[96];
	if (!check_auth(r) || !check_route(r, allow, sizeof(allow)) || !check_api_version(r))
		return;
	r->op = route_op_for(&r->route, r->method, r->new_shape);
	if (!check_identifier(r, route_op_flags(r->op)))
		return;
	void (*handler)(struct req *) = handler_of(r->op);
	if (handler) {
		handler(r);
		return;
	}
	http_add_header(r, "Allow", "%s", allow);
	http_send_error(r, API_ERR_METHOD_NOT_ALLOWED, "Method %s is not allowed here.",
			r->ri->request_method);
}

/* Framing CivetWeb 1.15 accepts but a proxy in front may read differently (request smuggling):
 * the reason, or NULL when the request's framing is unambiguous. */
static const char *framing_error(const struct mg_request_info *ri)
{
	int ncl = 0, nte = 0;
	const char *cl = NULL, *te = NULL;
	for (int i = 0; i < ri->num_headers; i++) {
		const char *name = ri->http_headers[i].name;
		if (!name)
			continue;
		if (!strcasecmp(name, "Content-Length")) {
			ncl++;
			cl = ri->http_headers[i].value;
		} else if (!strcasecmp(name, "Transfer-Encoding")) {
			nte++;
			te = ri->http_headers[i].value;
		}
	}
	if (ncl && nte)
		return "Content-Length and Transfer-Encoding together";
	if (ncl > 1)
		return "more than one Content-Length";
	if (nte > 1)
		return "more than one Transfer-Encoding";
	if (te && strcasecmp(te, "chunked"))
		return "a Transfer-Encoding other than chunked";
	if (cl) {
		size_t n = strlen(cl);
		if (n == 0 || n > 18 || strspn(cl, "0123456789") != n)
			return "a Content-Length that is not a decimal number";
	}
	return NULL;
}

/* "ADDR:PORT" of the client of |ri|. */
static void peer_of(const struct mg_request_info *ri, char *buf, size_t len)
{
	if (ri && ri->remote_addr[0])
		snprintf(buf, len, "%.48s:%d", ri->remote_addr, ri->remote_port);
	else
		snprintf(buf, len, "unknown");
}

/* The request's entry of the request log (reqlog.h), without the debug extras. */
static void log_entry(const struct req *r, struct reqlog_entry *e)
{
	*e = (struct reqlog_entry){.kind = REQLOG_REQUEST};
	e->duration_us = (util_mono_ns() - r->t0_ns) / 1000;
	e->time_ticks = util_now_ticks() - e->duration_us * 10; /* the arrival */
	snprintf(e->method, sizeof(e->method), "%s",
		 r->ri->request_method ? r->ri->request_method : "");
	/* The route without the pool prefix: the normalised segments the router looked at. */
	size_t o = 0;
	for (size_t i = 0; i < r->route.nseg && o + 2 < sizeof(e->route); i++)
		o += (size_t)snprintf(e->route + o, sizeof(e->route) - o, "/%s", r->route.raw[i]);
	if (o >= sizeof(e->route))
		o = sizeof(e->route) - 1;
	if (!o)
		snprintf(e->route, sizeof(e->route), "/");
	size_t idlen = 0;
	const char *id = r->identifier ? r->identifier : query_get(&r->query, "identifier", &idlen);
	if (r->identifier)
		idlen = r->identifier_len;
	if (id) {
		idlen = idlen < sizeof(e->identifier) - 1 ? idlen : sizeof(e->identifier) - 1;
		memcpy(e->identifier, id, idlen);
	}
	e->status = r->status;
	if (r->error_code)
		snprintf(e->error_code, sizeof(e->error_code), "%s", r->error_code);
	e->bytes_in = r->bytes_in;
	e->bytes_out = r->bytes_out;
	peer_of(r->ri, e->peer, sizeof(e->peer));
}

/* The request's line in the request log (reqlog.h) and its entry in the request ring
 * (reqring.h), once its response is sent. The emulator's own pages and polls (OPF_QUIET) are
 * logged at debug level only and never enter the ring. */
static void log_request(struct req *r)
{
	bool quiet = route_res_flags(r->route.res) & OPF_QUIET;
	if (!reqlog_enabled(quiet ? REQLOG_DEBUG : REQLOG_INFO) && !r->capture)
		return;
	struct reqlog_entry e;
	log_entry(r, &e);
	struct reqlog_header h[64];
	size_t nh = r->ri->num_headers < 64 ? (size_t)r->ri->num_headers : 64;
	for (size_t i = 0; i < nh; i++)
		h[i] = (struct reqlog_header){r->ri->http_headers[i].name,
					      r->ri->http_headers[i].value};
	if (r->capture && !quiet) {
		struct reqring_capture c = {
		    .query = r->ri->query_string,
		    .headers = h,
		    .nheaders = nh,
		    .req_body = r->body_excerpt,
		    .req_body_len = r->body_excerpt ? r->body_excerpt_len : 0,
		    .resp_type = r->resp_type,
		    .resp_body = r->resp_excerpt,
		    .resp_body_len = r->resp_excerpt ? r->resp_excerpt_len : 0,
		};
		reqring_add(&e, &c);
	}
	if (!reqlog_enabled(quiet ? REQLOG_DEBUG : REQLOG_INFO))
		return;
	if (reqlog_enabled(REQLOG_DEBUG)) {
		e.headers = h;
		e.nheaders = nh;
		if (r->status >= 400) {
			snprintf(e.detail, sizeof(e.detail), "%s", r->error_message);
			e.body = r->body_excerpt;
			e.body_len = r->body_excerpt ? r->body_seen : 0;
		}
	}
	reqlog_write(&e);
}

static int handle(struct mg_connection *conn, void *cbdata)
{
	struct req r = {0};
	r.conn = conn;
	r.ri = mg_get_request_info(conn);
	r.srv = cbdata;
	r.t0_ns = util_mono_ns();
	r.method = http_method_parse(r.ri->request_method);
	r.capture = reqring_on();
	conntrack_on_request(conn);
	const char *raw = r.ri->local_uri_raw ? r.ri->local_uri_raw : "";
	const char *bad = framing_error(r.ri);
	if (bad) {
		http_close_after(&r);
		http_send_error(&r, API_ERR_BAD_REQUEST, "The request framing is invalid: %s.",
				bad);
	} else if (route_parse(raw, &r.route) < 0 ||
		   query_parse(r.ri->query_string, &r.query) < 0) {
		http_send_error(&r, API_ERR_INTERNAL, "Internal error: out of memory.");
	} else {
		/* The emulator's own pages and polls never enter the ring: nothing to copy. */
		if (route_res_flags(r.route.res) & OPF_QUIET)
			r.capture = false;
		dispatch(&r);
		if (!r.responded)
			http_send_error(&r, API_ERR_INTERNAL, "Internal error.");
	}
	log_request(&r);
	if (r.close)
		conntrack_finish(conn);
	route_fini(&r.route);
	query_fini(&r.query);
	strbuf_fini(&r.headers);
	http_req_fini(&r);
	return 1;
}

static int on_init_connection(const struct mg_connection *conn, void **conn_data)
{
	(void)conn_data;
	conntrack_on_init(conn);
	return 0;
}

static void on_end_request(const struct mg_connection *conn, int status)
{
	(void)status;
	conntrack_on_end(conn);
}

/* CivetWeb's own errors (malformed request line, oversized headers, bad Content-Length,
 * unsupported HTTP version…): answered in the contract's envelope instead of CivetWeb's
 * text/plain page; CivetWeb closes the connection after these. */
static int on_http_error(struct mg_connection *conn, int status, const char *msg)
{
	conntrack_on_request(conn);
	enum api_error e = api_error_of_status(status);
	if (status == 411)
		status = 400; /* CivetWeb's answer to a malformed Content-Length */
	char text[256];
	if (e == API_ERR_HTTP_VERSION)
		snprintf(text, sizeof(text),
			 "The HTTP version is not supported: use HTTP/1.1 or HTTP/1.0.");
	else
		snprintf(text, sizeof(text), "The HTTP request could not be processed: %s.",
			 msg && *msg ? msg : http_reason_phrase(status));
	http_send_raw_error(conn, status, e, text);
	conntrack_finish(conn);
	char peer[64];
	peer_of(mg_get_request_info(conn), peer, sizeof(peer));
	reqlog_protocol(peer, status, msg && *msg ? msg : http_reason_phrase(status));
	return 0;
}

static void on_connection_close(const struct mg_connection *cconn)
{
	if (!conntrack_on_close(cconn))
		return;
	/* CivetWeb read a request and dropped it without a word: an absolute-form target (it
	 * serves only origin-form) or "*". Answer before the socket closes. */
	struct mg_connection *conn = (struct mg_connection *)cconn;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	if (!ri || !ri->request_method || !ri->request_uri || ri->local_uri)
		return;
	char text[320];
	bool star = !strcmp(ri->request_uri, "*");
	if (star)
		snprintf(text, sizeof(text),
			 "The request target '*' is not supported; send a path such as /healthz.");
	else
		snprintf(text, sizeof(text),
			 "Absolute-form request targets are not supported; send the path "
			 "(origin-form) and a Host header.");
	http_send_raw_error(conn, 400, API_ERR_BAD_REQUEST, text);
	/* The target itself is not logged: an absolute URL may carry user:password@. */
	char peer[64];
	peer_of(ri, peer, sizeof(peer));
	reqlog_protocol(peer, 400,
			star ? "request target '*' refused"
			     : "absolute-form request target refused");
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	(void)message;
	return 1; /* CivetWeb's per-connection chatter is not useful to users */
}

/*
 * Binds (and releases) |listen|'s address the way CivetWeb will (SO_REUSEADDR), to report an
 * address in use or not ours before anything slow starts. 0 when it is free, or when the host
 * is not a literal IPv4 address (CivetWeb then reports), or the port is 0.
 */
static int check_listen(const char *listen, struct sp_err *err)
{
	char host[256];
	snprintf(host, sizeof(host), "%s", listen);
	char *colon = strrchr(host, ':');
	uint64_t port;
	if (!colon || !util_parse_u64(colon + 1, 0, 65535, &port))
		return sp_err_set(err, -EINVAL,
				  "--listen: '%s' is not HOST:PORT with a port from 0 to 65535",
				  listen);
	*colon = '\0';
	if (port == 0)
		return 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!*host)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (!strcasecmp(host, "localhost"))
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 0;
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	switch (errno) {
	case EADDRINUSE:
		return sp_err_set(
		    err, -EADDRINUSE,
		    "cannot listen on %s: the address is already in use (another "
		    "program, perhaps another emulator, listens there); choose another "
		    "with --listen HOST:PORT (port 0 picks a free one)",
		    listen);
	case EACCES:
		return sp_err_set(err, -EACCES,
				  "cannot listen on %s: permission denied (ports below 1024 need "
				  "root or CAP_NET_BIND_SERVICE); choose another with --listen",
				  listen);
	case EADDRNOTAVAIL:
		return sp_err_set(err, -EADDRNOTAVAIL,
				  "cannot listen on %s: %s is not an address of this machine; "
				  "choose another with --listen",
				  listen, host);
	default:
		return sp_err_sys(err, -errno, "cannot listen on %s", listen);
	}
}

/* OpenSSL's pass phrase callback: never prompt (the emulator is not interactive). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* The last OpenSSL error as text, for a message. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	return why ? why : "no PEM data";
}

static int check_tls(const struct config *c, struct sp_err *err)
{
	FILE *f = fopen(c->tls_cert, "re");
	if (!f)
		return sp_err_sys(err, -errno, "--tls-cert %s: cannot read it", c->tls_cert);
	ERR_clear_error();
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return sp_err_set(err, -EINVAL,
				  "--tls-cert %s: no PEM certificate in it (%s); expected "
				  "\"-----BEGIN CERTIFICATE-----\"",
				  c->tls_cert, ssl_reason());
	f = fopen(c->tls_key, "re");
	if (!f) {
		int r = sp_err_sys(err, -errno, "--tls-key %s: cannot read it", c->tls_key);
		X509_free(x);
		return r;
	}
	bool encrypted = false;
	ERR_clear_error();
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, no_passphrase, &encrypted);
	fclose(f);
	int r = 0;
	if (!k && encrypted)
		r = sp_err_set(err, -EINVAL,
			       "--tls-key %s: the key is encrypted with a pass phrase; give an "
			       "unencrypted key (openssl pkey -in KEY -out KEY.plain)",
			       c->tls_key);
	else if (!k)
		r = sp_err_set(err, -EINVAL,
			       "--tls-key %s: no PEM private key in it; expected "
			       "\"-----BEGIN PRIVATE KEY-----\" (or RSA/EC PRIVATE KEY)",
			       c->tls_key);
	else if (X509_check_private_key(x, k) != 1)
		r = sp_err_set(err, -EINVAL,
			       "--tls-key %s does not match the certificate in --tls-cert %s (they "
			       "are not one key pair)",
			       c->tls_key, c->tls_cert);
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return r;
}

int server_check(const struct config *c, struct sp_err *err)
{
	if (c->tls_cert) {
		int r = check_tls(c, err);
		if (r < 0)
			return r;
	}
	return check_listen(c->listen, err);
}

/* CivetWeb reads the key from the certificate file: write both into one private PEM. */
static int combine_pem(const struct config *c, char *out, size_t outlen, struct sp_err *err)
{
	snprintf(out, outlen, "%s/" SP_TLS_FILE, c->data_dir);
	cleanup_close int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sp_err_sys(err, -errno, "create %s", out);
	const char *files[2] = {c->tls_key, c->tls_cert};
	for (int i = 0; i < 2; i++) {
		cleanup_close int in = open(files[i], O_RDONLY | O_CLOEXEC);
		if (in < 0)
			return sp_err_sys(err, -errno, "open %s", files[i]);
		char buf[8192];
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				return sp_err_sys(err, -errno, "write %s", out);
		if (n < 0)
			return sp_err_sys(err, -errno, "read %s", files[i]);
		if (write(fd, "\n", 1) != 1)
			return sp_err_sys(err, -errno, "write %s", out);
	}
	return 0;
}

/* CivetWeb's options in o->v (NULL-terminated). 0, or -1 with |err| when the TLS files fail. */
struct civet_options {
	const char *v[32];
	char ports[512], threads[32], keepalive[32], reqtimeout[32], pem[4200];
	uint64_t nthreads;
};

static int civet_options(const struct config *c, struct civet_options *o, struct sp_err *err)
{
	snprintf(o->ports, sizeof(o->ports), "%s%s", c->listen, c->tls_cert ? "s" : "");
	/* Automatic: a worker per possible session plus room for idle connections, at most 1024
	 * (conntrack closes idle connections when workers run short). */
	o->nthreads =
	    c->threads ? c->threads : (c->max_sessions + 64 < 1024 ? c->max_sessions + 64 : 1024);
	snprintf(o->threads, sizeof(o->threads), "%llu", (unsigned long long)o->nthreads);
	snprintf(o->keepalive, sizeof(o->keepalive), "%llu",
		 (unsigned long long)c->keep_alive_timeout_ms);
	snprintf(o->reqtimeout, sizeof(o->reqtimeout), "%llu",
		 (unsigned long long)c->request_timeout_ms);
	/* CORS is ours (http_add_cors, http_cors_preflight): CivetWeb's own answer to preflights
	 * (any origin, any method, before our handler and the request log) is turned off. */
	const char *fixed[] = {"listening_ports",
			       o->ports,
			       "num_threads",
			       o->threads,
			       "decode_url",
			       "no",
			       "enable_keep_alive",
			       "yes",
			       "keep_alive_timeout_ms",
			       o->keepalive,
			       "request_timeout_ms",
			       o->reqtimeout,
			       "listen_backlog",
			       "4096",
			       "max_request_size",
			       "65536",
			       "tcp_nodelay",
			       "1",
			       "access_control_allow_origin",
			       "",
			       "access_control_allow_methods",
			       ""};
	size_t n = sizeof(fixed) / sizeof(*fixed);
	memcpy(o->v, fixed, sizeof(fixed));
	if (c->tls_cert) {
		if (combine_pem(c, o->pem, sizeof(o->pem), err) < 0)
			return -1;
		o->v[n++] = "ssl_certificate";
		o->v[n++] = o->pem;
		o->v[n++] = "ssl_protocol_version";
		o->v[n++] = "4"; /* TLS 1.2 and newer */
	}
	o->v[n] = NULL;
	return 0;
}

/* scheme://host:port of the listener (a wildcard host becomes 127.0.0.1). 0 or -1. */
static int local_base(struct mg_context *ctx, const struct config *c, struct server *srv,
		      char **base_url, struct sp_err *err)
{
	struct mg_server_port port[4];
	if (mg_get_server_ports(ctx, 4, port) < 1) {
		sp_err_set(err, -EIO, "cannot read the listening port");
		return -1;
	}
	char host[256];
	snprintf(host, sizeof(host), "%s", c->listen);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	if (!*host || !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "127.0.0.1");
	char buf[512];
	snprintf(buf, sizeof(buf), "%s://%s:%d", c->tls_cert ? "https" : "http", host,
		 port[0].port);
	srv->tls = c->tls_cert != NULL;
	srv->local_base = strdup(buf);
	*base_url = strdup(buf);
	if (!srv->local_base || !*base_url) {
		sp_err_set(err, -ENOMEM, "out of memory");
		return -1;
	}
	return 0;
}

struct mg_context *server_start(struct server *srv, char **base_url, struct sp_err *err)
{
	const struct config *c = srv->cfg;
	struct civet_options o; /* CivetWeb copies what it keeps */
	if (civet_options(c, &o, err) < 0)
		return NULL;
	mg_init_library(c->tls_cert ? MG_FEATURES_TLS : 0);
	struct mg_callbacks cb = {
	    .http_error = on_http_error,
	    .log_message = on_log_message,
	    .init_connection = on_init_connection,
	    .end_request = on_end_request,
	    .connection_close = on_connection_close,
	};
	/* Keep a few workers free for new clients: see conntrack.h. */
	unsigned reserve = o.nthreads / 16 > 4 ? (unsigned)(o.nthreads / 16) : 4;
	int ct = conntrack_start((unsigned)o.nthreads, reserve, SERVER_STALL_MS);
	if (ct < 0) {
		sp_err_sys(err, ct, "start connection tracking");
		return NULL;
	}
	struct mg_init_data init = {
	    .callbacks = &cb, .user_data = srv, .configuration_options = o.v};
	char errtxt[256] = "";
	unsigned errcode = 0;
	struct mg_error_data ed = {
	    .code = &errcode, .text = errtxt, .text_buffer_size = sizeof(errtxt)};
	struct mg_context *ctx = mg_start2(&init, &ed);
	if (!ctx) {
		conntrack_stop();
		mg_exit_library();
		/* Taken since server_check() (or a reason it could not see): say which. */
		if (check_listen(c->listen, err) == 0)
			sp_err_set(err, -EADDRINUSE, "cannot listen on %s: %s", c->listen,
				   *errtxt ? errtxt : "unknown error");
		return NULL;
	}
	mg_set_request_handler(ctx, "/", handle, srv);
	conntrack_defer_listeners(SERVER_DEFER_ACCEPT_S);
	if (local_base(ctx, c, srv, base_url, err) < 0) {
		server_stop(ctx);
		return NULL;
	}
	return ctx;
}

struct waker {
	struct sockaddr_in addr;
	atomic_bool done;
};

/* CivetWeb 1.15's listener thread sees the stop flag only when its poll() times out (2 s):
 * connecting to our own port wakes it, so shutdown takes milliseconds. */
static void *wake_listener(void *arg)
{
	struct waker *w = arg;
	while (!atomic_load(&w->done)) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			/* One byte, so TCP_DEFER_ACCEPT hands the connection to accept(). */
			if (connect(fd, (struct sockaddr *)&w->addr, sizeof(w->addr)) == 0)
				send(fd, "\n", 1, MSG_NOSIGNAL);
			close(fd);
		}
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void server_stop(struct mg_context *ctx)
{
	if (!ctx)
		return;
	struct waker w = {.addr = {.sin_family = AF_INET}};
	struct mg_server_port port[1];
	pthread_t t;
	bool waking = false;
	const struct server *srv = mg_get_user_data(ctx);
	if (mg_get_server_ports(ctx, 1, port) == 1 && port[0].protocol == 1) {
		/* The configured host, or loopback for a wildcard or a name. */
		char host[256];
		snprintf(host, sizeof(host), "%s", srv ? srv->cfg->listen : "");
		char *colon = strrchr(host, ':');
		if (colon)
			*colon = '\0';
		if (!*host || inet_pton(AF_INET, host, &w.addr.sin_addr) != 1 ||
		    w.addr.sin_addr.s_addr == htonl(INADDR_ANY))
			w.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		w.addr.sin_port = htons((uint16_t)port[0].port);
		waking = pthread_create(&t, NULL, wake_listener, &w) == 0;
	}
	mg_stop(ctx);
	if (waking) {
		atomic_store(&w.done, true);
		pthread_join(t, NULL);
	}
	conntrack_stop();
	mg_exit_library();
}
