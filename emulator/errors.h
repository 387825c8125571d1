/* SPDX-License-Identifier: MIT */
/*
 * The one error table (contract §10.2): every HTTP error the emulator answers is one of these
 * codes, mapped here to its status and its `code` string. Nothing else chooses error statuses.
 */
#pragma once

enum api_error {
	API_ERR_MISSING_API_VERSION,
	API_ERR_UNSUPPORTED_API_VERSION,
	API_ERR_MISSING_IDENTIFIER,
	API_ERR_INVALID_IDENTIFIER,
	API_ERR_INVALID_REQUEST_BODY,
	API_ERR_INVALID_QUERY_PARAMETER,
	API_ERR_INVALID_FILE_PATH,
	API_ERR_UNAUTHORIZED,
	API_ERR_PERMISSION_DENIED,
	API_ERR_ROUTE_NOT_FOUND,
	API_ERR_SESSION_NOT_FOUND,
	API_ERR_EXECUTION_NOT_FOUND,
	API_ERR_FILE_NOT_FOUND,
	API_ERR_CAPACITY_EXCEEDED,
	API_ERR_METHOD_NOT_ALLOWED,
	API_ERR_PAYLOAD_TOO_LARGE,
	API_ERR_BAD_REQUEST,
	API_ERR_HTTP_VERSION,
	API_ERR_INTERNAL,
	API_ERR_SERVICE_UNAVAILABLE, /* the sandbox is restarting: retry (Retry-After: 1) */
	API_ERR_COUNT_
};

/* HTTP status of |e| (400, 401, …). */
int api_error_status(enum api_error e);

/* The `code` string of |e|, e.g. "SessionNotFound". Static. */
const char *api_error_code(enum api_error e);

/* The `code` of a protocol error CivetWeb found with |status| (which the answer keeps, 411
 * aside): 413 PayloadTooLarge, 505 HttpVersionNotSupported, other 5xx InternalError, any other
 * status BadRequest. */
enum api_error api_error_of_status(int status);

/* Reason phrase for an HTTP status ("Not Found"); "Unknown" for codes the emulator never sends. */
const char *http_reason_phrase(int status);

/* ---- execution failures (§8.5–§8.8): the `error.code` and message of a failed execution ---- */

#include <stddef.h>

#include "backend.h"
#include "session.h"

/* Canonical execution error code string ("ExecutionError", …) or NULL for EXEC_ERR_NONE. */
const char *exec_error_code(enum exec_error e);

/*
 * How a backend outcome other than OK and EXCEPTION ends an execution: its status and error,
 * and the one-line message (ending in '\n', also appended to stderr) written into |line|.
 * |timeout_s| is the execution's timeout, |cause| the backend's error message (CRASHED) or
 * NULL. For a failure of the backend itself, pass |internal| (the reason) instead.
 */
enum exec_error exec_failure(enum bk_outcome o, const char *internal, unsigned timeout_s,
			     const char *cause, char *line, size_t n, enum exec_status *status);
