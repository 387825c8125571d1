/* SPDX-License-Identifier: MIT */
/*
 * Request routing (contract §1.1, §1.3–§1.5, §3): path normalisation, the route table, query
 * parsing, api-version and identifier rules. Pure functions on strings: no I/O, no CivetWeb, so
 * every rule is unit-tested directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_POST = 1u << 1,
	HTTP_DELETE = 1u << 2,
	HTTP_HEAD = 1u << 3,
	HTTP_OPTIONS = 1u << 4,
	HTTP_OTHER = 1u << 5,
};

/* GET, POST, … → the bit; anything else HTTP_OTHER. */
enum http_method http_method_parse(const char *m);

/* The path's resource, before the method and the api-version are looked at. */
enum route_resource {
	RES_NONE,	     /* no row of the route table */
	RES_CODE_EXECUTE,    /* code/execute */
	RES_PYTHON_EXECUTE,  /* python/execute */
	RES_PYTHON_DOWNLOAD, /* python/downloadFile (legacy; the name is the `filename` query) */
	RES_FILES,	     /* files */
	RES_FILES_UPLOAD,    /* files/upload (also files/{name+} with name "upload") */
	RES_FILES_SUB,	     /* files/{…} */
	RES_EXECUTIONS,	     /* executions */
	RES_EXECUTION,	     /* executions/{id} */
	RES_SESSION,	     /* session */
	RES_LIST_SESSIONS,   /* listSessions */
	RES_METADATA,	     /* metadata */
	RES_MGMT_GET,	     /* .management/getSession */
	RES_MGMT_LIST,	     /* .management/listSessions */
	RES_MGMT_STOP,	     /* .management/stopSession */
	RES_HEALTHZ,	     /* /healthz (no prefix) */
	RES_MCP,	     /* mcp */
	RES_ROOT,	     /* / (no prefix): the playground's redirect */
	RES_PLAYGROUND,	     /* /playground, /playground/{file} (no prefix) */
	RES_EMU_REQUESTS,    /* /.emulator/requests (no prefix) */
};

enum route_op {
	OP_NONE,
	OP_CODE_EXECUTE,
	OP_PYTHON_EXECUTE,
	OP_EXECUTIONS_POST,
	OP_EXECUTION_GET,
	OP_FILES_UPLOAD_OLD,
	OP_FILES_UPLOAD_NEW,
	OP_FILES_LIST,
	OP_FILES_CONTENT,
	OP_FILES_META,
	OP_FILES_DELETE,
	OP_SESSION_GET,
	OP_SESSION_DELETE,
	OP_LIST_SESSIONS,
	OP_METADATA,
	OP_MGMT_GET_SESSION,
	OP_MGMT_LIST_SESSIONS,
	OP_MGMT_STOP_SESSION,
	OP_HEALTHZ,
	OP_MCP,
	OP_ROOT,
	OP_PLAYGROUND,
	OP_EMU_REQUESTS,
};

/* Which api-version shape a row of the operation table answers (§1.4). */
enum route_shape { SHAPE_ANY, SHAPE_OLD, SHAPE_NEW };

/* A test on the raw segments that picks between rows of one resource and method (§1.4). */
enum route_match {
	MATCH_ANY,
	MATCH_CONTENT_SECOND, /* files/content/{filename+}: raw segment 1 is "content", 3+ segments
			       */
	MATCH_CONTENT_LAST,   /* files/{name+}/content: the last raw segment is "content", 3+ */
};

/* An operation's flags (the same on every row of that operation). */
enum route_op_flag {
	OPF_SESSION = 1u << 0,	     /* needs an `identifier` (contract §3) */
	OPF_DATA = 1u << 1,	     /* a data operation: may create the session (contract §4) */
	OPF_APIV_OPTIONAL = 1u << 2, /* the api-version may be absent (then the new shape) */
	OPF_ID_IN_BODY = 1u << 3, /* the identifier may come in the body instead (legacy SK .NET) */
	OPF_NO_AUTH = 1u << 4,	  /* answered before authentication and CORS preflight */
	OPF_QUIET = 1u << 6,	  /* the emulator's own pages and polls: request log at debug
				   * level only, never in the request ring */
	OPF_OWN_CHECKS = 1u << 5, /* the handler takes every method of its resource and does its
				   * own checks (authentication, CORS, 405) */
};

/*
 * One row of the operation table (route.c): requests to |res| with a method in |methods|, in
 * api-version shape |shape|, whose raw segments pass |match|, are operation |op|. The {name+}
 * of a files row is the decoded segments [name_from, nseg - name_trim), joined with '/'
 * (name_from 0: the row has none). The rows of a resource are tried in order; the union of
 * their methods is the resource's Allow header.
 */
struct route_row {
	enum route_op op;
	enum route_resource res;
	unsigned methods;
	enum route_shape shape;
	enum route_match match;
	unsigned char name_from, name_trim;
	unsigned flags; /* enum route_op_flag */
};

/* The operation table, and its number of rows. */
const struct route_row *route_table(size_t *n);

struct route {
	char *prefix; /* the pool prefix as sent (after collapsing //), "" when absent */
	char *pool;   /* decoded {pool} segment, NULL when there is no prefix */
	size_t nseg;  /* segments after the prefix */
	char **raw;   /* raw segments */
	char **dec;   /* percent-decoded segments (may hold '/' from %2F) */
	size_t *dec_len;
	enum route_resource res;
	unsigned methods; /* allowed methods (HEAD and OPTIONS are added by route_allow) */
};

/*
 * Normalises |raw_path| (the request target's path, without query) and classifies it.
 * Returns 0 (res may be RES_NONE) or -ENOMEM. Release with route_fini().
 */
int route_parse(const char *raw_path, struct route *out);
void route_fini(struct route *r);

/* The operation of |r| for method |m| (HEAD counts as GET) once the shape is known;
 * OP_NONE when the method is not allowed. */
enum route_op route_op_for(const struct route *r, enum http_method m, bool new_shape);

/* The Allow header value for |r|, e.g. "GET, DELETE, HEAD, OPTIONS". Static storage. */
const char *route_allow(const struct route *r, char *buf, size_t len);

/* The row of |r| for method |m| (HEAD counts as GET) in shape |new_shape|, or NULL. */
const struct route_row *route_match_row(const struct route *r, enum http_method m, bool new_shape);

/* The operation whose handler takes every method of |r|'s resource (OPF_OWN_CHECKS), or
 * OP_NONE. */
enum route_op route_own_checks_op(const struct route *r);
/* The flags of every row of |res| together; 0 for RES_NONE. */
unsigned route_res_flags(enum route_resource res);
/* The operation's flags (enum route_op_flag); 0 for OP_NONE. */
unsigned route_op_flags(enum route_op op);
/* True if every operation |r| reaches by method |m| takes an absent api-version. */
bool route_api_version_optional(const struct route *r, enum http_method m);

/* True if the operation needs an `identifier` (contract §3). */
bool route_op_session_scoped(enum route_op op);
/* True if the operation is a data operation (contract §4). */
bool route_op_is_data(enum route_op op);
/* True if the operation exists in both shapes and the api-version picks the table (§1.4). */
bool route_res_shared(enum route_resource res);

/*
 * The {name+} / {filename+} of a files operation, decoded segments joined with '/', as a new
 * string; *len gets its length (it may contain NUL from %00). NULL for OP_FILES_LIST,
 * uploads and RES_PYTHON_DOWNLOAD (its name is the `filename` query parameter), or on OOM (errno
 * distinguishes).
 */
char *route_file_name(const struct route *r, enum route_op op, bool new_shape, size_t *len);

/* The {executionId} of RES_EXECUTION (decoded, borrowed), with its length. */
const char *route_execution_id(const struct route *r, size_t *len);

struct query {
	size_t n;
	char **names;  /* decoded */
	char **values; /* decoded; may contain NUL, see lens */
	size_t *lens;
};

/* Parses a raw query string (may be NULL). Returns 0 or -ENOMEM. */
int query_parse(const char *raw, struct query *out);
void query_fini(struct query *q);
/* First value whose name matches case-insensitively, or NULL; *len (optional) its length. */
const char *query_get(const struct query *q, const char *name, size_t *len);

enum api_version_check { APIV_OK, APIV_MISSING, APIV_UNSUPPORTED };

/* Classifies |v| (NULL = absent); *is_new tells the shape. */
enum api_version_check api_version_check(const char *v, enum api_version_mode mode, bool *is_new);
/* "2024-02-02-preview, 2024-08-02-preview, …": the supported list, for messages. */
const char *api_versions_supported(void);

/* The 31 special characters an identifier may contain besides letters and digits (§3). */
#define IDENTIFIER_SPECIALS "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`"

/* Contract §3: 4–128 characters, each a letter, digit or one of the 31 specials. */
bool identifier_valid(const char *s, size_t len);
