/* SPDX-License-Identifier: MIT */
/*
 * The MCP JSON-RPC layer; see mcp.h. A body is parsed once through sp_json_parse into a cJSON
 * tree, which drives every decision. Beside it, a small walker over the same (already
 * validated) text finds the raw token of a member, for the two things a cJSON tree loses: a
 * number's exact spelling (ids are echoed verbatim) and an escaped NUL (cJSON ends a string
 * there). The walker looks members up exactly as cJSON_GetObjectItemCaseSensitive does (first
 * member whose decoded key matches), so the token and the tree item are the same member.
 */
#include "mcp.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "spjson.h"
#include "sputf8.h"

#define RPC_PARSE_ERROR	     -32700
#define RPC_INVALID_REQUEST  -32600
#define RPC_METHOD_NOT_FOUND -32601
#define RPC_INVALID_PARAMS   -32602
#define RPC_UNAUTHORIZED     -32001

#define MCP_STR_(x) #x
#define MCP_STR(x)  MCP_STR_(x)

/* ---- Raw tokens of the validated text ---- */

/* A slice of the body: the JSON text of one value (or key), quotes and brackets included. */
struct span {
	const char *p; /* not owned; NULL when absent */
	size_t n;
};

/* A value of the message: its cJSON item (NULL when absent) and its raw text. */
struct node {
	const cJSON *j;
	struct span raw;
};

/* cJSON skips every byte up to 0x20 as whitespace; so does the walker. */
static size_t skip_ws(struct span s, size_t i)
{
	while (i < s.n && (unsigned char)s.p[i] <= ' ')
		i++;
	return i;
}

static size_t string_end(struct span s, size_t i)
{
	for (i++; i < s.n; i++) {
		if (s.p[i] == '\\')
			i++;
		else if (s.p[i] == '"')
			return i + 1;
	}
	return s.n;
}

/* The end (exclusive) of the value that starts at s.p[i]. */
static size_t value_end(struct span s, size_t i)
{
	if (i >= s.n)
		return s.n;
	char c = s.p[i];
	if (c == '"')
		return string_end(s, i);
	if (c == '{' || c == '[') {
		size_t depth = 0;
		while (i < s.n) {
			c = s.p[i];
			if (c == '"') {
				i = string_end(s, i);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return s.n;
	}
	while (i < s.n && (unsigned char)s.p[i] > ' ' && !strchr(",:]}", s.p[i]))
		i++;
	return i;
}

/*
 * The next member (|key| non-NULL) or element (|key| NULL) of the object or array |s|, from
 * offset *pos (1 for the first, just after the bracket). Returns false after the last one.
 */
static bool next_item(struct span s, size_t *pos, struct span *key, struct span *val)
{
	size_t i = skip_ws(s, *pos);
	if (i < s.n && s.p[i] == ',')
		i = skip_ws(s, i + 1);
	if (i >= s.n || s.p[i] == '}' || s.p[i] == ']')
		return false;
	if (key) {
		if (s.p[i] != '"')
			return false;
		size_t kend = string_end(s, i);
		*key = (struct span){s.p + i, kend - i};
		i = skip_ws(s, kend);
		if (i >= s.n || s.p[i] != ':')
			return false;
		i = skip_ws(s, i + 1);
	}
	size_t end = value_end(s, i);
	*val = (struct span){s.p + i, end - i};
	*pos = end;
	return end > i;
}

/* Whether the key token |k| decodes (as cJSON decodes it) to |want|. */
static bool key_is(struct span k, const char *want)
{
	size_t wlen = strlen(want);
	if (!memchr(k.p, '\\', k.n))
		return k.n == wlen + 2 && !memcmp(k.p + 1, want, wlen);
	cleanup_cjson cJSON *s = cJSON_ParseWithLength(k.p, k.n);
	return cJSON_IsString(s) && !strcmp(s->valuestring, want);
}

static struct node member(struct node obj, const char *key)
{
	struct node out = {cJSON_GetObjectItemCaseSensitive(obj.j, key), {NULL, 0}};
	if (!out.j || !obj.raw.p)
		return out;
	size_t pos = 1;
	struct span k, v;
	while (next_item(obj.raw, &pos, &k, &v))
		if (key_is(k, key)) {
			out.raw = v;
			break;
		}
	assert(out.raw.p); /* the tree and the walker agree on every member */
	return out;
}

/* Absent, or null: optional members and arguments treat both alike. */
static bool absent(struct node n)
{
	return !n.j || cJSON_IsNull(n.j);
}

/* Whether the string token |t| holds an escaped NUL, where cJSON cuts the string. */
static bool has_nul(struct span t)
{
	return sp_json_has_nul_escape(t.p, t.n);
}

/* RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t digits(struct span t, size_t i)
{
	while (i < t.n && t.p[i] >= '0' && t.p[i] <= '9')
		i++;
	return i;
}

static bool strict_number(struct span t)
{
	size_t i = 0, d;
	if (i < t.n && t.p[i] == '-')
		i++;
	if (i < t.n && t.p[i] == '0')
		i++;
	else if (i < t.n && t.p[i] >= '1' && t.p[i] <= '9')
		i = digits(t, i);
	else
		return false;
	if (i < t.n && t.p[i] == '.') {
		d = i + 1;
		if ((i = digits(t, d)) == d)
			return false;
	}
	if (i < t.n && (t.p[i] == 'e' || t.p[i] == 'E')) {
		d = ++i;
		if (i < t.n && (t.p[i] == '+' || t.p[i] == '-'))
			d = ++i;
		if ((i = digits(t, d)) == d)
			return false;
	}
	return i == t.n;
}

/* A string token a strict parser takes too: no raw control byte, well-formed UTF-8. */
static bool strict_string(struct span t)
{
	if (t.n < 2 || t.p[0] != '"' || t.p[t.n - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < t.n; i++)
		if ((unsigned char)t.p[i] < 0x20)
			return false;
	return sp_utf8_valid(t.p + 1, t.n - 2, NULL);
}

/* ---- Messages ---- */

/* The id of a request as it will be echoed: its raw token, or null. */
struct rpc_id {
	bool present; /* the message has an "id" member (it is no notification) */
	bool valid;   /* the member is a string, number or null that can be echoed */
	char tok[MCP_ID_MAX + 1];
};

static void id_read(struct node msg, struct rpc_id *id)
{
	struct node n = member(msg, "id");
	id->present = n.j != NULL;
	id->valid = false;
	if (!n.j || !n.raw.p || n.raw.n > MCP_ID_MAX)
		return;
	if (cJSON_IsNull(n.j) || (cJSON_IsString(n.j) && strict_string(n.raw)) ||
	    (cJSON_IsNumber(n.j) && strict_number(n.raw))) {
		memcpy(id->tok, n.raw.p, n.raw.n);
		id->tok[n.raw.n] = '\0';
		id->valid = true;
	}
}

/* Adds |item| to |obj| under |key|, or deletes it when memory runs out (the key is copied). */
static bool add_owned(cJSON *obj, const char *key, cJSON *item)
{
	if (item && cJSON_AddItemToObject(obj, key, item))
		return true;
	cJSON_Delete(item);
	return false;
}

/* {"jsonrpc":"2.0","id":…} with the id of |id| (null when it is absent or invalid). */
static cJSON *rpc_envelope(const struct rpc_id *id)
{
	cleanup_cjson cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "jsonrpc", "2.0"))
		return NULL;
	cJSON *idj = id && id->valid ? cJSON_CreateRaw(id->tok) : cJSON_CreateNull();
	if (!add_owned(o, "id", idj))
		return NULL;
	return steal_pointer(&o);
}

/* An error response; NULL when memory runs out. */
static cJSON *rpc_error(const struct rpc_id *id, int code, const char *message)
{
	cleanup_cjson cJSON *o = rpc_envelope(id);
	cJSON *e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
	if (!e || !cJSON_AddNumberToObject(e, "code", code) ||
	    !cJSON_AddStringToObject(e, "message", message))
		return NULL;
	return steal_pointer(&o);
}

/* A result response, taking |result|; NULL when memory runs out. */
static cJSON *rpc_result(const struct rpc_id *id, cJSON *result)
{
	cleanup_cjson cJSON *r = result;
	cleanup_cjson cJSON *o = rpc_envelope(id);
	if (!o || !r || !add_owned(o, "result", steal_pointer(&r)))
		return NULL;
	return steal_pointer(&o);
}

/*
 * Copies at most |max| bytes of |s| into |dst| (|cap| > max + 4 bytes) for a message: each
 * control character or ill-formed sequence becomes '?', and "..." marks a cut, so a client's
 * string never puts raw bytes or kilobytes into an error text.
 */
static const char *printable(char *dst, size_t cap, const char *s, size_t max)
{
	size_t n = strlen(s), o = 0, i = 0;
	while (i < n) {
		size_t bad = 0, k = sp_utf8_next((const unsigned char *)s + i, n - i, &bad);
		size_t take = k ? k : 1;
		if (o + take > max || o + take + 4 > cap) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (!k || (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
			dst[o++] = '?';
			i += k ? k : (bad ? bad : 1);
		} else {
			memcpy(dst + o, s + i, k);
			o += k;
			i += k;
		}
	}
	dst[o] = '\0';
	return dst;
}

__attribute__((format(printf, 3, 4))) static int params_error(char *msg, size_t msglen,
							      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- Tools ---- */

/* A successful tool result, taking |structured|: content (its compact JSON), the object itself
 * and isError. */
static cJSON *tool_result(cJSON *structured, bool is_error)
{
	cleanup_cjson cJSON *sc = structured;
	cleanup_cjson cJSON *r = cJSON_CreateObject();
	if (!r || !sc)
		return NULL;
	/*
	 * An image's base64_data is swapped for a note while the text is printed (and put back
	 * before anything can free it): the model should not read kilobytes of base64, and a
	 * copy of the tree only to print it would double the memory of a large image.
	 */
	cJSON *er = cJSON_GetObjectItemCaseSensitive(sc, "executionResult");
	cJSON *type = cJSON_IsObject(er) ? cJSON_GetObjectItemCaseSensitive(er, "type") : NULL;
	cJSON *b64 = cJSON_IsString(type) && !strcmp(type->valuestring, "image")
			 ? cJSON_GetObjectItemCaseSensitive(er, "base64_data")
			 : NULL;
	char *saved = NULL, note[128];
	if (cJSON_IsString(b64) && b64->valuestring) {
		snprintf(note, sizeof(note),
			 "<%zu characters of base64, in structuredContent.executionResult>",
			 strlen(b64->valuestring));
		saved = b64->valuestring;
		b64->valuestring = note;
	}
	char *text = cJSON_PrintUnformatted(sc);
	if (saved)
		b64->valuestring = saved;
	if (!text)
		return NULL;
	cJSON *content = cJSON_AddArrayToObject(r, "content");
	cJSON *item = cJSON_CreateObject();
	bool ok = content && item && cJSON_AddStringToObject(item, "type", "text") &&
		  cJSON_AddStringToObject(item, "text", text);
	cJSON_free(text);
	if (!ok) {
		cJSON_Delete(item);
		return NULL;
	}
	cJSON_AddItemToArray(content, item);
	if (!add_owned(r, "structuredContent", steal_pointer(&sc)) ||
	    !cJSON_AddBoolToObject(r, "isError", is_error))
		return NULL;
	return steal_pointer(&r);
}

/* A failed tool call as the model sees it: the message as text, a code to assert on. */
static cJSON *tool_failure(const char *code, const char *text)
{
	cleanup_cjson cJSON *r = cJSON_CreateObject();
	cJSON *content = r ? cJSON_AddArrayToObject(r, "content") : NULL;
	cJSON *item = content ? cJSON_CreateObject() : NULL;
	if (!item)
		return NULL;
	cJSON_AddItemToArray(content, item);
	if (!cJSON_AddStringToObject(item, "type", "text") ||
	    !cJSON_AddStringToObject(item, "text", text))
		return NULL;
	cJSON *sc = cJSON_AddObjectToObject(r, "structuredContent");
	cJSON *e = sc ? cJSON_AddObjectToObject(sc, "error") : NULL;
	if (!e || !cJSON_AddStringToObject(e, "code", code) ||
	    !cJSON_AddStringToObject(e, "message", text) || !cJSON_AddTrueToObject(r, "isError"))
		return NULL;
	return steal_pointer(&r);
}

static cJSON *env_not_found(const char *env_id)
{
	char shown[MCP_ENV_ID_MAX + 8], text[MCP_ENV_ID_MAX + 256];
	if (env_id)
		snprintf(
		    text, sizeof(text),
		    "Environment '%s' was not found or has expired. Call launchShell to create "
		    "a new environment, then use its environmentId.",
		    printable(shown, sizeof(shown), env_id, MCP_ENV_ID_MAX));
	else
		snprintf(text, sizeof(text),
			 "The environment was not found or has expired. Call launchShell to create "
			 "a new environment, then use its environmentId.");
	return tool_failure("EnvironmentNotFound", text);
}

/*
 * The result of an op that returned |rc|: its structured content, or the failure the model
 * must see. Takes |structured|.
 */
static cJSON *op_outcome(int rc, const char *env_id, cJSON *structured, bool is_error,
			 const struct mcp_tool_error *err)
{
	cleanup_cjson cJSON *sc = structured;
	char text[sizeof(err->msg) + 32];
	enum mcp_tool_failure kind = err->kind;
	if (rc >= 0 && cJSON_IsObject(sc))
		return tool_result(steal_pointer(&sc), is_error);
	if (rc >= 0)
		kind = MCP_TOOL_INTERNAL; /* "success" without a result object */
	/* The op's message is copied bounded and NUL-terminated, whatever it left in |err|. */
	char msg[sizeof(err->msg)];
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	switch (kind) {
	case MCP_TOOL_NOT_FOUND:
		return env_not_found(env_id);
	case MCP_TOOL_CAPACITY:
		return tool_failure("SessionPoolCapacityExceeded",
				    msg[0] ? msg
					   : "The session pool has reached its maximum number "
					     "of concurrent sessions.");
	case MCP_TOOL_OK:
	case MCP_TOOL_INTERNAL:
		break;
	}
	if (rc >= 0 || !msg[0])
		snprintf(text, sizeof(text), "Internal error.");
	else
		snprintf(text, sizeof(text), "Internal error: %s", msg);
	return tool_failure("InternalError", text);
}

/* Tool handlers: 0 with *out set, -EINVAL (Invalid params, |msg| says why) or -ENOMEM. */
typedef int (*tool_fn)(const struct mcp_env_ops *ops, struct node args, cJSON **out, char *msg,
		       size_t msglen);

static int tool_launch(const struct mcp_env_ops *ops, struct node args, cJSON **out, char *msg,
		       size_t msglen)
{
	(void)args, (void)msg, (void)msglen;
	char id[37] = {0};
	struct mcp_tool_error err = {0};
	int rc = ops->launch ? ops->launch(ops->ctx, id, &err) : -ENOSYS;
	cJSON *sc = NULL;
	id[36] = '\0';
	if (rc >= 0 && id[0]) {
		sc = cJSON_CreateObject();
		if (!sc || !cJSON_AddStringToObject(sc, "environmentId", id)) {
			cJSON_Delete(sc);
			return -ENOMEM;
		}
	}
	*out = op_outcome(rc, NULL, sc, false, &err);
	return *out ? 0 : -ENOMEM;
}

/*
 * The environmentId argument. Returns 0 with *id set (NULL when it cannot name an environment:
 * too long or holding a NUL, so the caller answers not-found without asking the server), or
 * -EINVAL.
 */
static int env_arg(struct node args, const char **id, char *msg, size_t msglen)
{
	struct node e = member(args, "environmentId");
	if (!cJSON_IsString(e.j) || !e.j->valuestring[0])
		return params_error(msg, msglen,
				    "'environmentId' is required and must be a non-empty string "
				    "(the environmentId returned by launchShell).");
	*id =
	    strlen(e.j->valuestring) <= MCP_ENV_ID_MAX && !has_nul(e.raw) ? e.j->valuestring : NULL;
	return 0;
}

static int tool_python(const struct mcp_env_ops *ops, struct node args, cJSON **out, char *msg,
		       size_t msglen)
{
	const char *env = NULL;
	int rc = env_arg(args, &env, msg, msglen);
	if (rc < 0)
		return rc;
	struct node code = member(args, "pythonCode");
	if (!cJSON_IsString(code.j))
		return params_error(msg, msglen, "'pythonCode' is required and must be a string.");
	long timeout = -1;
	struct node to = member(args, "timeoutInSeconds");
	if (!absent(to)) {
		double v = cJSON_IsNumber(to.j) ? to.j->valuedouble : NAN;
		if (!isfinite(v) || v != floor(v) || v < 1)
			return params_error(msg, msglen,
					    "'timeoutInSeconds' must be a whole number of at "
					    "least 1.");
		timeout = v > (double)MCP_TIMEOUT_ARG_MAX ? MCP_TIMEOUT_ARG_MAX : (long)v;
	}
	if (!env) {
		*out = env_not_found(NULL);
		return *out ? 0 : -ENOMEM;
	}
	/* An escaped NUL: keep the text before it and one NUL, so Python refuses the source. */
	size_t len = strlen(code.j->valuestring);
	cleanup_free char *cut = NULL;
	const char *src = code.j->valuestring;
	if (has_nul(code.raw)) {
		cut = malloc(len + 2);
		if (!cut)
			return -ENOMEM;
		memcpy(cut, src, len);
		cut[len++] = '\0';
		cut[len] = '\0';
		src = cut;
	}
	cJSON *sc = NULL;
	bool is_error = false;
	struct mcp_tool_error err = {0};
	rc = ops->run_python
		 ? ops->run_python(ops->ctx, env, src, len, timeout, &sc, &is_error, &err)
		 : -ENOSYS;
	*out = op_outcome(rc, env, rc >= 0 ? sc : NULL, is_error, &err);
	return *out ? 0 : -ENOMEM;
}

static int tool_shell(const struct mcp_env_ops *ops, struct node args, cJSON **out, char *msg,
		      size_t msglen)
{
	const char *env = NULL;
	int rc = env_arg(args, &env, msg, msglen);
	if (rc < 0)
		return rc;
	struct node cmd = member(args, "shellCommand");
	struct node argv = member(args, "execCommandAndArgs");
	if (absent(cmd) == absent(argv))
		return params_error(msg, msglen,
				    "Give exactly one of 'shellCommand' (a string) and "
				    "'execCommandAndArgs' (an array of strings).");
	const char *shell = NULL;
	cleanup_free const char **vec = NULL;
	size_t argc = 0;
	if (!absent(cmd)) {
		if (!cJSON_IsString(cmd.j))
			return params_error(msg, msglen, "'shellCommand' must be a string.");
		if (has_nul(cmd.raw))
			return params_error(
			    msg, msglen, "'shellCommand' must not contain the character U+0000.");
		shell = cmd.j->valuestring;
	} else {
		if (!cJSON_IsArray(argv.j))
			return params_error(msg, msglen,
					    "'execCommandAndArgs' must be an array of strings.");
		size_t n = (size_t)cJSON_GetArraySize(argv.j);
		if (n == 0 || n > MCP_ARGV_MAX)
			return params_error(msg, msglen,
					    "'execCommandAndArgs' must hold 1 to %d strings: the "
					    "program, then its arguments.",
					    MCP_ARGV_MAX);
		vec = calloc(n + 1, sizeof(*vec));
		if (!vec)
			return -ENOMEM;
		size_t pos = 1;
		struct span raw = {NULL, 0};
		const cJSON *it;
		cJSON_ArrayForEach(it, argv.j)
		{
			bool more = argv.raw.p && next_item(argv.raw, &pos, NULL, &raw);
			assert(more);
			if (!cJSON_IsString(it))
				return params_error(msg, msglen,
						    "'execCommandAndArgs' must be an array of "
						    "strings; item %zu is not a string.",
						    argc);
			if (more && has_nul(raw))
				return params_error(msg, msglen,
						    "'execCommandAndArgs' item %zu contains the "
						    "character U+0000.",
						    argc);
			vec[argc++] = it->valuestring;
		}
	}
	if (!env) {
		*out = env_not_found(NULL);
		return *out ? 0 : -ENOMEM;
	}
	cJSON *sc = NULL;
	bool is_error = false;
	struct mcp_tool_error err = {0};
	rc = ops->run_shell ? ops->run_shell(ops->ctx, env, shell, vec, argc, &sc, &is_error, &err)
			    : -ENOSYS;
	*out = op_outcome(rc, env, rc >= 0 ? sc : NULL, is_error, &err);
	return *out ? 0 : -ENOMEM;
}

/* An argument of a tool's JSON Schema. */
struct tool_arg {
	const char *name;
	const char *type; /* "string", "integer" (minimum 1) or "array" (of strings, 1 or more) */
	bool required;
	const char *description;
};

struct tool {
	const char *name;
	bool listed; /* false for aliases: callable, not in tools/list */
	tool_fn call;
	const char *description;
	struct tool_arg args[4]; /* ends at the first without a name */
};

#define ENV_ARG                                                                                    \
	{                                                                                          \
		"environmentId", "string", true, "The environmentId returned by launchShell."      \
	}

static const struct tool tools[] = {
    {"launchShell",
     true,
     tool_launch,
     "Creates a new remote environment (a sandboxed session with a persistent Python "
     "interpreter, a shell, and /mnt/data as its working directory) and returns its "
     "environmentId. Pass that id to runPythonCodeInRemoteEnvironment and "
     "runShellCommandInRemoteEnvironment. An environment expires after a while without use; "
     "when a tool says it was not found, call launchShell again.",
     {{0}}},
    {"runPythonCodeInRemoteEnvironment",
     true,
     tool_python,
     "Runs Python code in an environment created by launchShell. Variables, imports and files "
     "persist between calls in the same environment, as in a Jupyter notebook. Returns stdout, "
     "stderr, the value of the last expression as executionResult (a plot as a PNG image), and "
     "status (Succeeded or Failed; a failure's traceback is in stderr). Files live in "
     "/mnt/data.",
     {ENV_ARG,
      {"pythonCode", "string", true, "The Python code to run."},
      {"timeoutInSeconds", "integer", false,
       "Longest run time in seconds; the server caps it (220 by default)."}}},
    {"runShellCommandInRemoteEnvironment",
     true,
     tool_shell,
     "Runs a command in an environment created by launchShell, with /mnt/data as its working "
     "directory. Give either shellCommand (a command line run by /bin/sh -c) or "
     "execCommandAndArgs (a program and its arguments, run without a shell). Returns stdout, "
     "stderr and exitCode.",
     {ENV_ARG,
      {"shellCommand", "string", false, "A command line, run by /bin/sh -c."},
      {"execCommandAndArgs", "array", false,
       "The program and its arguments, run directly without a shell, e.g. [\"ls\", \"-l\"]."}}},
    {"launchPythonEnvironment", false, tool_launch, "An earlier name of launchShell.", {{0}}},
};

static cJSON *tool_json(const struct tool *t)
{
	cleanup_cjson cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", t->name) ||
	    !cJSON_AddStringToObject(o, "description", t->description))
		return NULL;
	cJSON *schema = cJSON_AddObjectToObject(o, "inputSchema");
	cJSON *props = schema && cJSON_AddStringToObject(schema, "type", "object")
			   ? cJSON_AddObjectToObject(schema, "properties")
			   : NULL;
	cJSON *req = props ? cJSON_AddArrayToObject(schema, "required") : NULL;
	if (!req)
		return NULL;
	for (const struct tool_arg *a = t->args; a < t->args + 4 && a->name; a++) {
		cJSON *p = cJSON_AddObjectToObject(props, a->name);
		if (!p || !cJSON_AddStringToObject(p, "type", a->type) ||
		    !cJSON_AddStringToObject(p, "description", a->description))
			return NULL;
		if (!strcmp(a->type, "integer") && !cJSON_AddNumberToObject(p, "minimum", 1))
			return NULL;
		if (!strcmp(a->type, "array")) {
			cJSON *items = cJSON_AddObjectToObject(p, "items");
			if (!items || !cJSON_AddStringToObject(items, "type", "string") ||
			    !cJSON_AddNumberToObject(p, "minItems", 1))
				return NULL;
		}
		if (a->required) {
			cJSON *name = cJSON_CreateString(a->name);
			if (!name)
				return NULL;
			cJSON_AddItemToArray(req, name);
		}
	}
	return steal_pointer(&o);
}

/* ---- Methods ---- */

/* Method handlers: 0 with *result set, -EINVAL (Invalid params, |msg| says why) or -ENOMEM.
 * |params| is an object, or absent (j NULL). */
typedef int (*method_fn)(const struct mcp_env_ops *ops, struct node params, cJSON **result,
			 char *msg, size_t msglen);

static int m_initialize(const struct mcp_env_ops *ops, struct node params, cJSON **result,
			char *msg, size_t msglen)
{
	(void)ops;
	struct node v = member(params, "protocolVersion");
	if (!absent(v) && !cJSON_IsString(v.j))
		return params_error(msg, msglen, "'protocolVersion' must be a string.");
	cleanup_cjson cJSON *r = cJSON_CreateObject();
	cJSON *caps = r && cJSON_AddStringToObject(r, "protocolVersion", MCP_PROTOCOL_VERSION)
			  ? cJSON_AddObjectToObject(r, "capabilities")
			  : NULL;
	cJSON *tl = caps ? cJSON_AddObjectToObject(caps, "tools") : NULL;
	if (!tl || !cJSON_AddTrueToObject(tl, "call") || !cJSON_AddTrueToObject(tl, "list") ||
	    !cJSON_AddFalseToObject(tl, "listChanged"))
		return -ENOMEM;
	cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
	if (!info || !cJSON_AddStringToObject(info, "name", MCP_SERVER_NAME) ||
	    !cJSON_AddStringToObject(info, "version", SP_VERSION))
		return -ENOMEM;
	*result = steal_pointer(&r);
	return 0;
}

static int m_ping(const struct mcp_env_ops *ops, struct node params, cJSON **result, char *msg,
		  size_t msglen)
{
	(void)ops, (void)params, (void)msg, (void)msglen;
	*result = cJSON_CreateObject();
	return *result ? 0 : -ENOMEM;
}

static int m_tools_list(const struct mcp_env_ops *ops, struct node params, cJSON **result,
			char *msg, size_t msglen)
{
	(void)ops, (void)params, (void)msg, (void)msglen;
	cleanup_cjson cJSON *r = cJSON_CreateObject();
	cJSON *list = r ? cJSON_AddArrayToObject(r, "tools") : NULL;
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!tools[i].listed)
			continue;
		cJSON *t = tool_json(&tools[i]);
		if (!t)
			return -ENOMEM;
		cJSON_AddItemToArray(list, t);
	}
	*result = steal_pointer(&r);
	return 0;
}

static int m_tools_call(const struct mcp_env_ops *ops, struct node params, cJSON **result,
			char *msg, size_t msglen)
{
	char shown[80];
	struct node name = member(params, "name");
	if (!cJSON_IsString(name.j))
		return params_error(msg, msglen,
				    "'name' is required and must be a string (the tool to call).");
	const struct tool *t = NULL;
	for (size_t i = 0; !has_nul(name.raw) && i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(tools[i].name, name.j->valuestring))
			t = &tools[i];
	if (!t)
		return params_error(msg, msglen,
				    "Unknown tool '%s'. The tools are launchShell, "
				    "runPythonCodeInRemoteEnvironment and "
				    "runShellCommandInRemoteEnvironment.",
				    printable(shown, sizeof(shown), name.j->valuestring, 64));
	struct node args = member(params, "arguments");
	if (absent(args))
		args = (struct node){NULL, {NULL, 0}};
	else if (!cJSON_IsObject(args.j))
		return params_error(msg, msglen, "'arguments' must be an object.");
	return t->call(ops, args, result, msg, msglen);
}

static const struct method {
	const char *name;
	method_fn call;
} methods[] = {
    {"initialize", m_initialize},
    {"ping", m_ping},
    {"tools/list", m_tools_list},
    {"tools/call", m_tools_call},
};

/*
 * One message (a body, or an element of a batch). Returns its response, or NULL when it gets
 * none (a notification or a client's response) with *oom false, or NULL with *oom true when
 * memory ran out. *code is the JSON-RPC error code answered, 0 for a result.
 */
static cJSON *handle_message(const struct mcp_env_ops *ops, struct node m, int *code, bool *oom)
{
	*code = 0;
	*oom = false;
	struct rpc_id id = {0};
	cJSON *resp = NULL;
	char msg[512], shown[80];
	if (!cJSON_IsObject(m.j)) {
		*code = RPC_INVALID_REQUEST;
		resp = rpc_error(NULL, *code, "Invalid Request: a message must be a JSON object.");
		goto out;
	}
	id_read(m, &id);
	struct node version = member(m, "jsonrpc");
	struct node method = member(m, "method");
	struct node params = member(m, "params");
	const char *why = NULL;
	if (id.present && !id.valid)
		why = "Invalid Request: the id must be a string, a number or null (strict JSON, "
		      "at most " MCP_STR(MCP_ID_MAX) " characters).";
	else if (!cJSON_IsString(version.j) || strcmp(version.j->valuestring, "2.0"))
		why = "Invalid Request: 'jsonrpc' must be \"2.0\".";
	else if (!method.j && id.present &&
		 (cJSON_GetObjectItemCaseSensitive(m.j, "result") ||
		  cJSON_GetObjectItemCaseSensitive(m.j, "error")))
		return NULL; /* a client's response to a request: nothing to answer */
	else if (!cJSON_IsString(method.j))
		why = "Invalid Request: 'method' is required and must be a string.";
	else if (!absent(params) && !cJSON_IsObject(params.j) && !cJSON_IsArray(params.j))
		why = "Invalid Request: 'params' must be an object.";
	if (why) {
		*code = RPC_INVALID_REQUEST;
		resp = rpc_error(&id, *code, why);
		goto out;
	}
	if (!id.present)
		return NULL; /* a notification: never answered, never executed */

	const struct method *mt = NULL;
	for (size_t i = 0; !has_nul(method.raw) && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(methods[i].name, method.j->valuestring))
			mt = &methods[i];
	if (!mt) {
		*code = RPC_METHOD_NOT_FOUND;
		snprintf(msg, sizeof(msg), "Method not found: '%s'.",
			 printable(shown, sizeof(shown), method.j->valuestring, 64));
		resp = rpc_error(&id, *code, msg);
		goto out;
	}
	if (cJSON_IsArray(params.j)) {
		*code = RPC_INVALID_PARAMS;
		resp = rpc_error(&id, *code, "Invalid params: 'params' must be an object.");
		goto out;
	}
	if (absent(params))
		params = (struct node){NULL, {NULL, 0}};
	cJSON *result = NULL;
	msg[0] = '\0';
	int rc = mt->call(ops, params, &result, msg, sizeof(msg));
	if (rc == -EINVAL) {
		char text[sizeof(msg) + 32];
		snprintf(text, sizeof(text), "Invalid params: %s", msg);
		*code = RPC_INVALID_PARAMS;
		resp = rpc_error(&id, *code, text);
	} else if (rc == 0) {
		resp = rpc_result(&id, result);
	}
out:
	*oom = resp == NULL;
	return resp;
}

/* The raw text of the body's one value: after a UTF-8 BOM (cJSON skips one) and whitespace. */
static struct span body_span(const char *body, size_t len)
{
	struct span s = {body, len};
	size_t i = 0;
	if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3))
		i = 3;
	i = skip_ws(s, i);
	return (struct span){body + i, value_end(s, i) - i};
}

static int reply(struct mcp_reply *out, int status, cJSON *resp)
{
	cleanup_cjson cJSON *r = resp;
	if (!r)
		return 500;
	out->body = cJSON_PrintUnformatted(r);
	if (!out->body)
		return 500;
	out->body_len = strlen(out->body);
	return status;
}

static int reply_error(struct mcp_reply *out, int status, int code, const char *message)
{
	return reply(out, status, rpc_error(NULL, code, message));
}

int mcp_handle(const struct mcp_env_ops *ops, const char *body, size_t len, struct mcp_reply *out)
{
	*out = (struct mcp_reply){0};
	char msg[160];
	if (len > MCP_BODY_MAX) {
		snprintf(msg, sizeof(msg), "Invalid Request: the body is larger than %u bytes.",
			 MCP_BODY_MAX);
		return reply_error(out, 413, RPC_INVALID_REQUEST, msg);
	}
	enum sp_json_why why = SP_JSON_OK;
	cleanup_cjson cJSON *root =
	    body ? sp_json_parse(body, len, MCP_BODY_MAX, SP_JSON_DEPTH_MAX, &why) : NULL;
	if (!root) {
		if (why == SP_JSON_TOO_DEEP)
			snprintf(msg, sizeof(msg),
				 "Parse error: the body nests more than %d arrays and objects.",
				 SP_JSON_DEPTH_MAX);
		else
			snprintf(msg, sizeof(msg), "Parse error: the body is not one JSON value.");
		return reply_error(out, 400, RPC_PARSE_ERROR, msg);
	}
	struct node top = {root, body_span(body, len)};
	int code;
	bool oom;
	if (!cJSON_IsArray(root)) {
		cJSON *resp = handle_message(ops, top, &code, &oom);
		if (oom)
			return 500;
		if (!resp)
			return 202;
		return reply(out, code == RPC_INVALID_REQUEST ? 400 : 200, resp);
	}

	size_t n = (size_t)cJSON_GetArraySize(root);
	if (n == 0)
		return reply_error(out, 400, RPC_INVALID_REQUEST,
				   "Invalid Request: an empty batch.");
	if (n > MCP_BATCH_MAX) {
		snprintf(msg, sizeof(msg), "Invalid Request: a batch holds at most %d messages.",
			 MCP_BATCH_MAX);
		return reply_error(out, 400, RPC_INVALID_REQUEST, msg);
	}
	cleanup_cjson cJSON *answers = cJSON_CreateArray();
	if (!answers)
		return 500;
	size_t pos = 1;
	const cJSON *it;
	cJSON_ArrayForEach(it, root)
	{
		struct node m = {it, {NULL, 0}};
		bool more = next_item(top.raw, &pos, NULL, &m.raw);
		assert(more);
		(void)more;
		cJSON *resp = handle_message(ops, m, &code, &oom);
		if (oom)
			return 500;
		if (resp)
			cJSON_AddItemToArray(answers, resp);
	}
	if (cJSON_GetArraySize(answers) == 0)
		return 202;
	return reply(out, 200, steal_pointer(&answers));
}

void mcp_reply_fini(struct mcp_reply *out)
{
	cJSON_free(out->body);
	*out = (struct mcp_reply){0};
}

bool mcp_key_ok(bool auth_any, const char *configured_key, const char *header)
{
	if (!header || !header[0])
		return false;
	if (!configured_key)
		return auth_any;
	size_t n = strlen(header);
	/* Only the length can leak through timing, never how much of the key matched. */
	return n == strlen(configured_key) && CRYPTO_memcmp(header, configured_key, n) == 0;
}

char *mcp_error_json(int code, const char *message)
{
	cleanup_cjson cJSON *e = rpc_error(NULL, code, message);
	return e ? cJSON_PrintUnformatted(e) : NULL;
}

char *mcp_unauthorized_json(bool key_given)
{
	return mcp_error_json(RPC_UNAUTHORIZED,
			      key_given ? "Unauthorized: the x-ms-apikey header does not hold a "
					  "valid API key for this MCP server."
					: "Unauthorized: an API key is required in the x-ms-apikey "
					  "header.");
}
