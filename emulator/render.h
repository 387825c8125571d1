/* SPDX-License-Identifier: MIT */
/*
 * Renderers of an execution record: old shape ({"$id":"1","properties":{…}}), legacy flat
 * (python/execute) and new (SessionCodeExecutionResource). Each returns a new cJSON tree owned
 * by the caller, members in the contract's order.
 *
 * Also a session and a page of sessions as JSON text (render_session, render_session_list):
 * written straight into one buffer, byte for byte what cJSON_PrintUnformatted prints for the
 * tree of the same members in the same order.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "session.h"

/* |fault_succeeded|: the test-only fault that says "Succeeded" instead of "Success". */
cJSON *render_exec_old(const struct exec_view *v, bool fault_succeeded);
cJSON *render_exec_legacy(const struct exec_view *v);
cJSON *render_exec_new(const struct exec_view *v, const char *identifier);

/* The MCP tools' structuredContent (§13.2): {"stdout","stderr","executionResult","status"} for
 * a Python run, {"stdout","stderr","exitCode"} for a command; *is_error: the run failed (a
 * command: its exit code is not 0). */
cJSON *render_mcp_python(const struct exec_view *v, bool *is_error);
cJSON *render_mcp_shell(const struct exec_view *v, bool *is_error);

/*
 * A session as JSON text: GET session's form (§6.8: identifier, expireAt, createdAt,
 * lastAccessedAt, etag) or, when |view|, .management's SessionView (§7.1: identifier, etag,
 * expiresAt, createdAt, lastAccessedAt). Returns a new NUL-terminated string (free()) and its
 * length in *len, or NULL when out of memory. Thread-safe.
 */
char *render_session(const struct session_info *s, bool view, size_t *len);

/*
 * A list page as JSON text: {"sessions":[…],"nextLink":…} (§6.10) or, when |view|,
 * {"value":[…],"count":n,"nextLink":…} (§7.2), with the |n| sessions of |items| in the form
 * render_session gives; |next_link| NULL is sent as null. Returns a new NUL-terminated string
 * (free()) and its length in *len, or NULL when out of memory. Thread-safe.
 */
char *render_session_list(const struct session_info *items, size_t n, bool view,
			  const char *next_link, size_t *len);
