/* SPDX-License-Identifier: MIT */
/*
 * mcp.h: the platform-managed MCP server's JSON-RPC 2.0 layer (contract §13), as a pure module.
 *
 * It turns one POST {base}/mcp body into an HTTP status and a JSON body, and knows nothing of
 * CivetWeb, the pool or the sandbox: environments are reached through a small table of
 * callbacks (struct mcp_env_ops) that the server implements, so the layer is unit-tested and
 * fuzzed with fake environments. Life cycle of one request:
 *
 *   1. the server checks x-ms-apikey with mcp_key_ok() and, when it fails, answers 401 with
 *      mcp_unauthorized_json() (and WWW-Authenticate: ApiKey header="x-ms-apikey");
 *   2. it reads the body (bounded by its own json_body_max_bytes, 413 above it) and calls
 *      mcp_handle(), which may call the ops any number of times (a batch), one at a time;
 *   3. it sends reply.body (Content-Type: application/json) with the returned status, or no
 *      body at all for 202, then calls mcp_reply_fini().
 *
 * Invariants: untrusted bytes are parsed only through sp_json_parse (size, depth); a body yields
 * at most MCP_BATCH_MAX responses; every string handed to an op is NUL-terminated and bounded;
 * every reply body is one JSON object or array whose messages carry "jsonrpc":"2.0". Nothing
 * here keeps state between calls: every function is thread-safe when the ops are.
 *
 * Ids. A request's id is echoed as the very token the client sent: a string byte for byte
 * (escapes included), a number exactly as written (12345678901234567890, -1, 2.50 and 1e3 stay
 * so; never rounded through a double), or null. An id of another type (true, an object, an
 * array), a number token that is not strict RFC 8259 (cJSON also takes 01 and 1.), a string
 * with raw control characters or ill-formed UTF-8, or a token longer than MCP_ID_MAX bytes
 * makes the message an Invalid Request (-32600) answered with "id":null.
 *
 * Decisions where the contract is silent (contract §13 is the reference for the rest):
 *   - A message without "id" is a notification: it is answered with nothing (202 when alone)
 *     and never executed, whatever its method; the only notifications MCP clients send here
 *     (notifications/initialized, notifications/cancelled) need no action.
 *   - An object with no "method" but a "result" or an "error" is a JSON-RPC response from the
 *     client: nothing is answered (202 when alone).
 *   - "params" may be absent or null; anything but an object or an array is an Invalid
 *     Request (-32600); an array is Invalid params (-32602): MCP methods take named params.
 *   - initialize always answers protocolVersion 2025-03-26, the only version served, whatever
 *     the client offers (MCP's negotiation: the client then decides whether to go on).
 *   - A tools/call "arguments" that is absent or null counts as {}; unknown arguments are
 *     ignored; null counts as absent for optional arguments.
 *   - Statuses: 200 for results and for -32601/-32602 errors; 400 for -32700 (the body is not
 *     one JSON value, or nests deeper than SP_JSON_DEPTH_MAX) and for a lone -32600 (also an
 *     empty batch or one over MCP_BATCH_MAX); 413 (code -32600) for a body over MCP_BODY_MAX;
 *     202 with no body when nothing is answered; 200 for any batch that has an answer, even
 *     when every answer is an error; 500 with no body only when memory runs out.
 *   - A string argument with an escaped NUL (\u0000), which C strings cannot carry: pythonCode
 *     is cut after its first NUL (the cell then fails with Python's SyntaxError, as REST code
 *     does); shellCommand and execCommandAndArgs items are Invalid params; an environmentId
 *     gives the not-found tool result, as does one longer than MCP_ENV_ID_MAX bytes (neither
 *     can name an environment, so the op is not called).
 *
 * Tool results (tools/call) carry, in this order, "content": [{"type":"text","text":T}],
 * "structuredContent" and "isError". On success T is the compact JSON of structuredContent, as
 * the MCP specification recommends, except that an image's base64_data is replaced by a short
 * note (the model should not read kilobytes of base64). On a tool error (struct
 * mcp_tool_error) T is the error's message and structuredContent is
 * {"error":{"code":C,"message":T}}, C one of "EnvironmentNotFound",
 * "SessionPoolCapacityExceeded" or "InternalError" (stable codes a test can assert on).
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define MCP_PROTOCOL_VERSION "2025-03-26"
#define MCP_SERVER_NAME	     "Microsoft Container Apps MCP Server"

/* Largest body mcp_handle() reads (the server's json_body_max_bytes default); larger: 413. */
#define MCP_BODY_MAX (16u << 20)
/* Most messages in one batch; more: -32600, HTTP 400, nothing executed. */
#define MCP_BATCH_MAX 100
/* Longest id token echoed (bytes of JSON text, quotes included). */
#define MCP_ID_MAX 256
/* Longest environmentId that can name an environment (a session identifier, contract §3). */
#define MCP_ENV_ID_MAX 128
/* Most items in execCommandAndArgs. */
#define MCP_ARGV_MAX 1024
/* timeoutInSeconds above this is passed as this (the server clamps it further, §8.6). */
#define MCP_TIMEOUT_ARG_MAX 2147483647L

/* Why a tool call failed in a way the model must see as a tool result with isError: true. */
enum mcp_tool_failure {
	MCP_TOOL_OK = 0,    /* not a failure; an op that fails and leaves it is INTERNAL */
	MCP_TOOL_NOT_FOUND, /* no live environment with this id (unknown or expired) */
	MCP_TOOL_CAPACITY,  /* creating the environment's session would exceed max_sessions */
	MCP_TOOL_INTERNAL,  /* a fault of the emulator (it cannot start an interpreter, …) */
};

/*
 * Filled by an op that returns a negative code. The layer writes the model's text itself for
 * NOT_FOUND ("Environment '<id>' was not found or has expired. Call launchShell to create a new
 * environment …"); for CAPACITY |msg| must hold the contract §4 message ("The session pool has
 * reached its maximum of 100 concurrent sessions."); for INTERNAL a one-line reason, shown
 * after "Internal error: " (an empty |msg| gives "Internal error.").
 */
struct mcp_tool_error {
	enum mcp_tool_failure kind;
	char msg[256]; /* NUL-terminated, one line */
};

/*
 * The environments, implemented by the server: an environment is a session of the pool and its
 * id is the session identifier. Each op returns 0, or a negative errno-style code with |err|
 * filled (it is zeroed before every call). On 0, *structured (an object the op allocated with
 * cJSON) passes to the layer, which deletes it; it must be set. The layer calls the ops one at
 * a time per mcp_handle() call; different requests may call them concurrently.
 */
struct mcp_env_ops {
	void *ctx; /* not owned; handed to every op */
	/* Reserves a new environment id (a GUID, 36 characters and a NUL); creates nothing. */
	int (*launch)(void *ctx, char id[37], struct mcp_tool_error *err);
	/*
	 * Runs |code| (|code_len| bytes, NUL-terminated; it may hold one NUL, see above) in
	 * environment |env_id| (1 to MCP_ENV_ID_MAX bytes, NUL-free) with the §8 semantics of a
	 * new-shape execution. |timeout_s| is the requested timeout (1 to MCP_TIMEOUT_ARG_MAX, for
	 * the server to clamp as §8.6), or -1 when the caller gave none. Fills *structured with
	 * {"stdout","stderr","executionResult","status"} (§13.2) and *is_error (status Failed).
	 */
	int (*run_python)(void *ctx, const char *env_id, const char *code, size_t code_len,
			  long timeout_s, cJSON **structured, bool *is_error,
			  struct mcp_tool_error *err);
	/*
	 * Runs a command in |env_id|: exactly one of |shell_command| (for /bin/sh -c) and |argv|
	 * (|argc| from 1 to MCP_ARGV_MAX NUL-free strings, run directly; argv[argc] is NULL) is
	 * set; the other is NULL
	 * (and |argc| 0 with a shell command). Fills *structured with {"stdout","stderr",
	 * "exitCode"} and *is_error (exit code not 0).
	 */
	int (*run_shell)(void *ctx, const char *env_id, const char *shell_command,
			 const char *const *argv, size_t argc, cJSON **structured, bool *is_error,
			 struct mcp_tool_error *err);
};

/* What mcp_handle() answers. */
struct mcp_reply {
	char *body;	 /* owned; JSON text, NUL-terminated; NULL for 202 (and for 500) */
	size_t body_len; /* strlen(body), 0 when body is NULL */
};

/*
 * Handles one POST body (|len| bytes, no NUL terminator needed; |body| may be NULL when |len|
 * is 0). Returns the HTTP status (200, 202, 400, 413 or 500, see the decisions above) and fills
 * |out| (always written; free it with mcp_reply_fini()).
 */
int mcp_handle(const struct mcp_env_ops *ops, const char *body, size_t len, struct mcp_reply *out)
    __attribute__((nonnull(1, 4)));

/* Frees out->body and clears |out|; a no-op on a cleared reply. */
void mcp_reply_fini(struct mcp_reply *out) __attribute__((nonnull(1)));

/*
 * The x-ms-apikey check (§13.1). |header| is the header's value (NULL when absent); it must be
 * non-empty. When |configured_key| (the mcp_api_key setting; NULL when unset) is set, only that
 * exact key passes (compared in constant time); when it is unset, any non-empty key passes in
 * auth_mode any (|auth_any|) and none in strict mode, where only a configured key opens /mcp.
 * Pure and thread-safe.
 */
bool mcp_key_ok(bool auth_any, const char *configured_key, const char *header);

/*
 * A JSON-RPC error body with "id":null: {"jsonrpc":"2.0","id":null,"error":{"code":C,
 * "message":M}} (M copied as a JSON string). Returns a NUL-terminated string to free with
 * cJSON_free(), or NULL when memory runs out. For the server's own refusals on /mcp (413 before
 * the body is read, 401 below).
 */
char *mcp_error_json(int code, const char *message) __attribute__((nonnull(2)));

/*
 * The 401 body for a missing (|key_given| false) or refused x-ms-apikey: mcp_error_json() with
 * code -32001 and a message saying which. Free with cJSON_free(); NULL when memory runs out.
 */
char *mcp_unauthorized_json(bool key_given);
