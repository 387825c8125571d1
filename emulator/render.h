/* SPDX-License-Identifier: MIT */
/*
 * Renderers of an execution record: old shape ({"$id":"1","properties":{…}}), legacy flat
 * (python/execute) and new (SessionCodeExecutionResource). Each returns a new cJSON tree owned
 * by the caller, members in the contract's order.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

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
