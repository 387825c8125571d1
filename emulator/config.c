/* SPDX-License-Identifier: MIT */
/*
 * Table-driven settings: each row names a flag, its variable, its type, its default and its
 * help line, so that flags, environment and --help cannot drift apart.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

enum opt_type {
	OPT_STRING,
	OPT_U64,
	OPT_BOOL,
	OPT_ENUM,
	OPT_AUTH,
	OPT_APIVER,
	OPT_ENABLED, /* enabled|disabled (a value is required, unlike OPT_BOOL) */
	OPT_PATHS,   /* colon-separated; repeated flags add to one another */
};

struct opt {
	const char *name; /* flag without "--"; the variable is SESSIONPOOL_ + upper snake */
	enum opt_type type;
	size_t offset;
	const char *def; /* default as text, for --help and config_init */
	uint64_t min, max;
	const char *choices; /* OPT_ENUM: "a|b|c" */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define U64MAX UINT64_MAX

static const struct opt opts[] = {
    {"listen", OPT_STRING, OFF(listen), "127.0.0.1:8080", 0, 0, NULL,
     "Address to listen on, HOST:PORT (port 0 picks a free port). HTTPS when --tls-cert is set."},
    {"data-dir", OPT_STRING, OFF(data_dir), NULL, 0, 0, NULL,
     "Directory for session files (default: $XDG_RUNTIME_DIR or /tmp, then "
     "sessionpool-<uid>-<pid>)."},
    {"ready-file", OPT_STRING, OFF(ready_file), NULL, 0, 0, NULL,
     "Once listening, write the base URL to this file (for scripts and tests)."},
    {"cooldown-seconds", OPT_U64, OFF(cooldown_seconds), "300", 1, 31536000, NULL,
     "Idle seconds before a session expires."},
    {"max-sessions", OPT_U64, OFF(max_sessions), "100", 1, CONFIG_MAX_SESSIONS_MAX, NULL,
     "Live sessions allowed at once, 1 to 60000; more gives 404 SessionPoolCapacityExceeded."},
    {"list-page-size", OPT_U64, OFF(list_page_size), "300", 1, 100000, NULL,
     "Page size of listSessions and .management/listSessions."},
    {"upload-max-bytes", OPT_U64, OFF(upload_max_bytes), "134217728", 1, U64MAX / 4, NULL,
     "Largest uploaded file; larger gives 413 PayloadTooLarge."},
    {"json-body-max-bytes", OPT_U64, OFF(json_body_max_bytes), "16777216", 1, 1ULL << 34, NULL,
     "Largest JSON request body; larger gives 413 PayloadTooLarge."},
    {"exec-timeout-default-s", OPT_U64, OFF(exec_timeout_default_s), "220", 1, 86400, NULL,
     "Execution timeout when the request gives none."},
    {"exec-timeout-max-s", OPT_U64, OFF(exec_timeout_max_s), "220", 1, 86400, NULL,
     "Larger requested timeouts are clamped to this."},
    {"interrupt-grace-s", OPT_U64, OFF(interrupt_grace_s), "5", 0, 3600, NULL,
     "Seconds a timed-out cell gets to stop after KeyboardInterrupt before a kill and restart."},
    {"output-streams-max-default", OPT_U64, OFF(output_streams_max_default), "4096", 0, 64ULL << 20,
     NULL, "Default outputStreamsMaxLength (code points kept per stream)."},
    {"execution-records-per-session", OPT_U64, OFF(execution_records_per_session), "100", 1, 100000,
     NULL, "Finished executions kept per session for GET executions/{id}."},
    {"auth-mode", OPT_AUTH, OFF(auth_mode), "any", 0, 0, "any|strict",
     "any: any bearer token; strict: JWT aud/exp/nbf checks (no signature) or --static-token."},
    {"static-token", OPT_STRING, OFF(static_token), NULL, 0, 0, NULL,
     "A token accepted as-is in strict mode."},
    {"extra-audiences", OPT_STRING, OFF(extra_audiences), NULL, 0, 0, NULL,
     "Comma-separated extra JWT audiences accepted in strict mode."},
    {"deny-role", OPT_BOOL, OFF(deny_role), "off", 0, 0, NULL,
     "Answer every authenticated request with 403 PermissionDenied."},
    {"api-version-mode", OPT_APIVER, OFF(api_version_mode), "strict", 0, 0, "strict|lenient",
     "lenient: an unknown api-version is accepted as a new-shape version."},
    {"public-base-url", OPT_STRING, OFF(public_base_url), NULL, 0, 0, NULL,
     "Scheme://host[/path] used in absolute URLs (Operation-Location, nextLink)."},
    {"pool-name", OPT_STRING, OFF(pool_name), "emulator-pool", 0, 0, NULL,
     "Pool name reported by .management/stopSession when the URL has no pool prefix."},
    {"tls-cert", OPT_STRING, OFF(tls_cert), NULL, 0, 0, NULL,
     "PEM certificate (chain): serve HTTPS. Needs --tls-key."},
    {"tls-key", OPT_STRING, OFF(tls_key), NULL, 0, 0, NULL, "PEM private key for --tls-cert."},
    {"egress", OPT_ENABLED, OFF(egress), "disabled", 0, 0, "enabled|disabled",
     "enabled: sessions get the host network."},
    {"isolation", OPT_ENUM, OFF(isolation), "auto", 0, 0, "auto|full|degraded",
     "Session isolation; auto falls back to degraded where namespaces are refused."},
    {"session-memory-mb", OPT_U64, OFF(session_memory_mb), "2048", 64, 1ULL << 30, NULL,
     "Address-space limit of each session (MiB)."},
    {"session-max-processes", OPT_U64, OFF(session_max_processes), "128", 4, 1 << 20, NULL,
     "Process limit of each session."},
    {"session-disk-mb", OPT_U64, OFF(session_disk_mb), "1024", 1, 1ULL << 30, NULL,
     "Total size of one session's /mnt/data (MiB)."},
    {"threads", OPT_U64, OFF(threads), "0", 0, 10000, NULL,
     "HTTP worker threads (each open connection holds one); 0 = max-sessions + 64, at most "
     "1024."},
    {"keep-alive-timeout-ms", OPT_U64, OFF(keep_alive_timeout_ms), "15000", 100, 3600000, NULL,
     "An idle keep-alive connection is closed after this long (and at once when workers run "
     "short)."},
    {"request-timeout-ms", OPT_U64, OFF(request_timeout_ms), "30000", 100, 3600000, NULL,
     "Longest time to receive a request's headers, and longest wait for more of its body."},
    {"ready-sessions", OPT_U64, OFF(ready_sessions), "4", 0, 256, NULL,
     "Interpreters forked ahead of demand, so a new identifier does not wait for a fork (a floor: "
     "demand raises it up to 4x, at most 64)."},
    {"pip-find-links", OPT_STRING, OFF(pip_find_links), NULL, 0, 0, NULL,
     "Directory of wheels, read-only in sessions: %pip install installs from it, offline (no "
     "index)."},
    {"python-path", OPT_PATHS, OFF(python_path), NULL, 0, 0, NULL,
     "Extra site directory (e.g. a venv's site-packages for this Python version), read-only in "
     "sessions and on sys.path before Debian's packages; repeat the flag or separate with ':'."},
    {"zygote", OPT_STRING, OFF(zygote), NULL, 0, 0, NULL,
     "Path of sessionpool-zygote (default: next to this binary)."},
    {"test-fault", OPT_STRING, OFF(test_fault), NULL, 0, 0, NULL,
     "Test only: answer deliberately wrong (old-status-succeeded) to test the conformance runner."},
    {"log-format", OPT_ENUM, OFF(log_format), "text", 0, 0, "text|json",
     "Request log format on stderr: text lines, or one JSON object per line."},
    {"log-level", OPT_ENUM, OFF(log_level), "info", 0, 0, "quiet|info|debug",
     "quiet: no request log; info: one line per request and session event; debug: also the "
     "request headers (secrets redacted) and body excerpts of failed requests."},
    {"cors-origins", OPT_STRING, OFF(cors_origins), NULL, 0, 0, NULL,
     "Origins allowed by CORS, comma-separated (http[s]://host[:port]), '*' for any, 'none' "
     "for no CORS (default: '*' when --listen is a loopback address, else none)."},
    {"mcp", OPT_ENABLED, OFF(mcp_enabled), "enabled", 0, 0, "enabled|disabled",
     "The platform-managed MCP server at {base}/mcp (contract §13); disabled: 404 there."},
    {"mcp-api-key", OPT_STRING, OFF(mcp_api_key), NULL, 0, 0, NULL,
     "The only x-ms-apikey accepted by /mcp (default: any non-empty key in auth-mode any, "
     "none in strict)."},
    {"playground", OPT_ENABLED, OFF(playground_enabled), "enabled", 0, 0, "enabled|disabled",
     "The browser playground at / and /playground/, and the request feed /.emulator/requests it "
     "reads; disabled: 404 there, and no request is kept in memory."},
    {"quiet", OPT_BOOL, OFF(quiet), "off", 0, 0, NULL,
     "Print only the start line and errors (no request log, no diagnostics)."},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void env_name(const struct opt *o, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "SESSIONPOOL_");
	for (const char *p = o->name; *p && n + 1 < len; p++)
		buf[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	buf[n] = '\0';
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcmp(v, "1") || !strcasecmp(v, "enabled")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcmp(v, "0") || !strcasecmp(v, "disabled")) {
		*out = false;
		return true;
	}
	return false;
}

static bool in_choices(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	const char *p = choices;
	while (*p) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && !strncmp(p, v, l))
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

static int set_opt(struct config *c, const struct opt *o, const char *v, const char *src,
		   struct sp_err *err)
{
	void *field = (char *)c + o->offset;
	switch (o->type) {
	case OPT_STRING: {
		char **s = field;
		char *d = strdup(v);
		if (!d)
			return sp_err_set(err, -ENOMEM, "out of memory");
		free(*s);
		*s = d;
		return 0;
	}
	case OPT_PATHS: {
		/* The variable gives a list; the first flag replaces it, later flags add to it. */
		char **s = field;
		bool add = !strncmp(src, "--", 2) && c->python_path_flags++ > 0 && *s && **s;
		char *d = NULL;
		if (add ? asprintf(&d, "%s:%s", *s, v) < 0 : !(d = strdup(v)))
			return sp_err_set(err, -ENOMEM, "out of memory");
		free(*s);
		*s = d;
		return 0;
	}
	case OPT_U64: {
		uint64_t x;
		if (!util_parse_u64(v, o->min, o->max, &x))
			return sp_err_set(
			    err, -EINVAL, "%s: '%s' is not a whole number from %llu to %llu", src,
			    v, (unsigned long long)o->min, (unsigned long long)o->max);
		*(uint64_t *)field = x;
		return 0;
	}
	case OPT_BOOL:
	case OPT_ENABLED: {
		bool b;
		if (!parse_bool(v, &b))
			return sp_err_set(err, -EINVAL, "%s: '%s' is not on/off", src, v);
		*(bool *)field = b;
		return 0;
	}
	case OPT_ENUM: {
		if (!in_choices(o->choices, v))
			return sp_err_set(err, -EINVAL, "%s: '%s' is not one of %s", src, v,
					  o->choices);
		char **s = field;
		char *d = strdup(v);
		if (!d)
			return sp_err_set(err, -ENOMEM, "out of memory");
		free(*s);
		*s = d;
		return 0;
	}
	case OPT_AUTH:
		if (!strcmp(v, "any"))
			c->auth_mode = AUTH_MODE_ANY;
		else if (!strcmp(v, "strict"))
			c->auth_mode = AUTH_MODE_STRICT;
		else
			return sp_err_set(err, -EINVAL, "%s: '%s' is not one of any|strict", src,
					  v);
		return 0;
	case OPT_APIVER:
		if (!strcmp(v, "strict"))
			c->api_version_mode = API_VERSION_STRICT;
		else if (!strcmp(v, "lenient"))
			c->api_version_mode = API_VERSION_LENIENT;
		else
			return sp_err_set(err, -EINVAL, "%s: '%s' is not one of strict|lenient",
					  src, v);
		return 0;
	}
	return sp_err_set(err, -EINVAL, "%s: unknown option type", src);
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].def)
			set_opt(c, &opts[i], opts[i].def, "default", NULL);
}

void config_fini(struct config *c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].type == OPT_STRING || opts[i].type == OPT_ENUM ||
		    opts[i].type == OPT_PATHS) {
			char **s = (char **)((char *)c + opts[i].offset);
			free(*s);
			*s = NULL;
		}
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

/* Edit distance of two short strings (longer ones count as far apart). */
static size_t edit_distance(const char *a, size_t al, const char *b, size_t bl)
{
	size_t row[65];
	if (al > 64 || bl > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= bl; j++)
		row[j] = j;
	for (size_t i = 1; i <= al; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= bl; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[bl];
}

/* The flag an unknown |name| most likely meant: at most 3 edits away, or a prefix. */
static const struct opt *nearest_opt(const char *name, size_t len)
{
	const struct opt *best = NULL;
	size_t best_d = 4;
	for (size_t i = 0; i < NOPTS; i++) {
		size_t ol = strlen(opts[i].name);
		size_t d = edit_distance(name, len, opts[i].name, ol);
		if (len >= 4 && len < ol && !strncmp(opts[i].name, name, len) && d > 1)
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = &opts[i];
		}
	}
	return best;
}

static bool is_bool_type(const struct opt *o)
{
	return o->type == OPT_BOOL;
}

int config_parse(struct config *c, int argc, char **argv, char **envp, FILE *out,
		 struct sp_err *err)
{
	for (size_t i = 0; envp && i < NOPTS; i++) {
		char name[96];
		env_name(&opts[i], name, sizeof(name));
		size_t nl = strlen(name);
		for (char **e = envp; *e; e++) {
			if (!strncmp(*e, name, nl) && (*e)[nl] == '=') {
				int r = set_opt(c, &opts[i], *e + nl + 1, name, err);
				if (r < 0)
					return r;
			}
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			config_usage(out);
			return 1;
		}
		if (!strcmp(a, "--version")) {
			fprintf(out, "sessionpool-emulator %s\n", SP_VERSION);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0)
			return sp_err_set(err, -EINVAL, "unexpected argument '%s' (see --help)", a);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *o = find_opt(name, nl);
		if (!o) {
			const struct opt *near = nearest_opt(name, nl);
			if (near)
				return sp_err_set(
				    err, -EINVAL,
				    "unknown flag '--%.*s'; did you mean '--%s'? (see "
				    "--help for every flag)",
				    (int)(nl > 64 ? 64 : nl), name, near->name);
			return sp_err_set(err, -EINVAL,
					  "unknown flag '--%.*s' (see --help for every flag)",
					  (int)(nl > 64 ? 64 : nl), name);
		}
		const char *v;
		if (eq) {
			v = eq + 1;
		} else if (is_bool_type(o)) {
			bool ignored;
			if (i + 1 < argc && parse_bool(argv[i + 1], &ignored))
				v = argv[++i];
			else
				v = "on";
		} else {
			if (i + 1 >= argc)
				return sp_err_set(err, -EINVAL, "flag '--%s' needs a value",
						  o->name);
			v = argv[++i];
		}
		char src[96];
		snprintf(src, sizeof(src), "--%s", o->name);
		int r = set_opt(c, o, v, src, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* True if |path| is |dir| or below it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

_Static_assert(CONFIG_PYTHON_PATH_MAX == 16, "python_path_finish's message says 16");

/* --python-path: every entry an existing directory, made absolute and resolved (sessions see
 * it at that path), and none where a session has its own file system or one of the interpreter
 * would be hidden. Entries are joined again with ':'; empty ones are dropped. */
static int python_path_finish(struct config *c, struct sp_err *err)
{
	static const char *const own[] = {"/proc", "/dev", "/mnt/data"};
	static const char *const exact[] = {"/", "/tmp", "/mnt", "/usr", "/etc"};
	if (!c->python_path)
		return 0;
	struct strbuf out = {0};
	unsigned n = 0;
	for (const char *p = c->python_path; *p;) {
		size_t l = strcspn(p, ":");
		cleanup_free char *entry = strndup(p, l);
		p += l + (p[l] == ':');
		if (!entry) {
			strbuf_fini(&out);
			return sp_err_set(err, -ENOMEM, "out of memory");
		}
		if (!l)
			continue;
		struct stat st;
		cleanup_free char *real = realpath(entry, NULL);
		int r = !real		       ? -errno
			: stat(real, &st) < 0  ? -errno
			: !S_ISDIR(st.st_mode) ? -ENOTDIR
					       : 0;
		const char *why = NULL;
		for (size_t i = 0; !r && i < sizeof(own) / sizeof(*own); i++)
			if (path_under(real, own[i]))
				why = "sessions have their own file system there";
		for (size_t i = 0; !r && i < sizeof(exact) / sizeof(*exact); i++)
			if (!strcmp(real, exact[i]))
				why = "a session's root directory, not a site directory";
		if (!r && strchr(real, ':'))
			why = "':' separates the entries";
		if (!r && ++n > CONFIG_PYTHON_PATH_MAX)
			why = "more than 16 directories";
		if (r < 0 || why) {
			strbuf_fini(&out);
			if (r < 0)
				return sp_err_sys(err, r, "--python-path: '%s'", entry);
			return sp_err_set(err, -EINVAL, "--python-path: '%s': %s", entry, why);
		}
		if (out.len)
			strbuf_puts(&out, ":");
		strbuf_puts(&out, real);
	}
	char *joined = strbuf_steal(&out);
	if (!joined && n)
		return sp_err_set(err, -ENOMEM, "out of memory");
	free(c->python_path);
	c->python_path = joined; /* NULL when every entry was empty */
	return 0;
}

/* True if the host of |listen| ("HOST:PORT") is a loopback address. */
static bool listen_is_loopback(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t hl = colon ? (size_t)(colon - listen) : strlen(listen);
	if (hl == 9 && !strncasecmp(listen, "localhost", 9))
		return true;
	return hl >= 4 && !strncmp(listen, "127.", 4);
}

/* One CORS origin as browsers send it: http[s]://host[:port], nothing after. */
static bool origin_valid(const char *p, size_t l)
{
	size_t skip = l > 7 && !strncasecmp(p, "http://", 7)	? 7
		      : l > 8 && !strncasecmp(p, "https://", 8) ? 8
								: 0;
	if (!skip)
		return false;
	for (size_t i = skip; i < l; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch <= 0x20 || ch >= 0x7f || strchr("/?#@\\\"", ch))
			return false;
	}
	return true;
}

static int cors_finish(struct config *c, struct sp_err *err)
{
	if (!c->cors_origins) {
		c->cors_origins = strdup(listen_is_loopback(c->listen) ? "*" : "");
		return c->cors_origins ? 0 : sp_err_set(err, -ENOMEM, "out of memory");
	}
	if (!strcmp(c->cors_origins, "none")) {
		c->cors_origins[0] = '\0';
		return 0;
	}
	const char *p = c->cors_origins, *item;
	size_t n = 0, l;
	while ((item = config_list_next(&p, &l))) {
		if (!(l == 1 && *item == '*') && !origin_valid(item, l))
			return sp_err_set(err, -EINVAL,
					  "--cors-origins: '%.*s' is not an origin (use "
					  "http[s]://host[:port], '*' or 'none')",
					  (int)(l > 200 ? 200 : l), item);
		n++;
	}
	if (!n)
		c->cors_origins[0] = '\0';
	return 0;
}

int config_finish(struct config *c, struct sp_err *err)
{
	if (!!c->tls_cert != !!c->tls_key)
		return sp_err_set(err, -EINVAL, "--tls-cert and --tls-key go together");
	if (c->exec_timeout_default_s > c->exec_timeout_max_s)
		c->exec_timeout_default_s = c->exec_timeout_max_s;
	if (c->test_fault && strcmp(c->test_fault, "old-status-succeeded") != 0)
		return sp_err_set(err, -EINVAL, "--test-fault: unknown fault '%s'", c->test_fault);
	if (!strchr(c->listen, ':'))
		return sp_err_set(err, -EINVAL, "--listen: '%s' is not HOST:PORT", c->listen);
	int r = cors_finish(c, err);
	if (r < 0)
		return r;
	r = python_path_finish(c, err);
	if (r < 0)
		return r;
	if (c->pip_find_links) {
		struct stat st;
		char *real = realpath(c->pip_find_links, NULL);
		r = !real		   ? -errno
		    : stat(real, &st) < 0  ? -errno
		    : !S_ISDIR(st.st_mode) ? -ENOTDIR
					   : 0;
		if (r < 0) {
			free(real);
			return sp_err_sys(err, r, "--pip-find-links: '%s'", c->pip_find_links);
		}
		free(c->pip_find_links);
		c->pip_find_links = real;
	}
	if (!c->data_dir) {
		const char *base = getenv("XDG_RUNTIME_DIR");
		if (!base || !*base || access(base, W_OK) != 0)
			base = getenv("TMPDIR");
		if (!base || !*base)
			base = "/tmp";
		char buf[4096];
		snprintf(buf, sizeof(buf), "%s/sessionpool-%u-%d", base, (unsigned)getuid(),
			 (int)getpid());
		c->data_dir = strdup(buf);
		if (!c->data_dir)
			return sp_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

void config_usage(FILE *out)
{
	fprintf(out, "Usage: sessionpool-emulator [FLAGS]\n\n"
		     "A local emulator of an Azure Container Apps dynamic-sessions Python "
		     "code-interpreter pool.\n"
		     "Every flag can also be set by its environment variable; flags win.\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		char env[96];
		env_name(o, env, sizeof(env));
		const char *arg = is_bool_type(o) ? "" : o->choices ? o->choices : "VALUE";
		fprintf(out, "  --%s%s%s\n      %s\n      env %s; default: %s\n", o->name,
			*arg ? " " : "", arg, o->help, env, o->def ? o->def : "(unset)");
	}
	fprintf(out, "  --help, --version\n");
}

const char *config_list_next(const char **pos, size_t *len)
{
	const char *p = *pos;
	while (*p == ' ' || *p == ',')
		p++;
	if (!*p) {
		*pos = p;
		return NULL;
	}
	const char *end = strchr(p, ',');
	size_t l = end ? (size_t)(end - p) : strlen(p);
	*pos = end ? end + 1 : p + l;
	while (l > 0 && p[l - 1] == ' ')
		l--;
	*len = l;
	return p;
}

bool config_list_contains(const char *list, const char *token)
{
	if (!list || !token)
		return false;
	size_t tl = strlen(token), l;
	const char *item;
	while ((item = config_list_next(&list, &l)))
		if (l == tl && !strncmp(item, token, l))
			return true;
	return false;
}
