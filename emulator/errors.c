/* SPDX-License-Identifier: MIT */
/* The error table of contract §10.2; see errors.h. */
#include "errors.h"

#include <stddef.h>
#include <stdio.h>

static const struct {
	int status;
	const char *code;
} table[API_ERR_COUNT_] = {
    [API_ERR_MISSING_API_VERSION] = {400, "MissingApiVersion"},
    [API_ERR_UNSUPPORTED_API_VERSION] = {400, "UnsupportedApiVersion"},
    [API_ERR_MISSING_IDENTIFIER] = {400, "MissingIdentifier"},
    [API_ERR_INVALID_IDENTIFIER] = {400, "InvalidIdentifier"},
    [API_ERR_INVALID_REQUEST_BODY] = {400, "InvalidRequestBody"},
    [API_ERR_INVALID_QUERY_PARAMETER] = {400, "InvalidQueryParameter"},
    [API_ERR_INVALID_FILE_PATH] = {400, "InvalidFilePath"},
    [API_ERR_UNAUTHORIZED] = {401, "Unauthorized"},
    [API_ERR_PERMISSION_DENIED] = {403, "PermissionDenied"},
    [API_ERR_ROUTE_NOT_FOUND] = {404, "RouteNotFound"},
    [API_ERR_SESSION_NOT_FOUND] = {404, "SessionNotFound"},
    [API_ERR_EXECUTION_NOT_FOUND] = {404, "ExecutionNotFound"},
    [API_ERR_FILE_NOT_FOUND] = {404, "FileNotFound"},
    [API_ERR_CAPACITY_EXCEEDED] = {404, "SessionPoolCapacityExceeded"},
    [API_ERR_METHOD_NOT_ALLOWED] = {405, "MethodNotAllowed"},
    [API_ERR_PAYLOAD_TOO_LARGE] = {413, "PayloadTooLarge"},
    [API_ERR_BAD_REQUEST] = {400, "BadRequest"},
    [API_ERR_HTTP_VERSION] = {505, "HttpVersionNotSupported"},
    [API_ERR_INTERNAL] = {500, "InternalError"},
    [API_ERR_SERVICE_UNAVAILABLE] = {503, "ServiceUnavailable"},
};

int api_error_status(enum api_error e)
{
	if ((unsigned)e >= API_ERR_COUNT_)
		return 500;
	return table[e].status;
}

const char *api_error_code(enum api_error e)
{
	if ((unsigned)e >= API_ERR_COUNT_)
		return "InternalError";
	return table[e].code;
}

enum api_error api_error_of_status(int status)
{
	switch (status) {
	case 413:
		return API_ERR_PAYLOAD_TOO_LARGE;
	case 505:
		return API_ERR_HTTP_VERSION;
	default:
		return status >= 500 ? API_ERR_INTERNAL : API_ERR_BAD_REQUEST;
	}
}

const char *http_reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

const char *exec_error_code(enum exec_error e)
{
	switch (e) {
	case EXEC_ERR_NONE:
		return NULL;
	case EXEC_ERR_EXECUTION:
		return "ExecutionError";
	case EXEC_ERR_TIMEOUT:
		return "ExecutionTimeout";
	case EXEC_ERR_RESTARTED:
		return "InterpreterRestarted";
	case EXEC_ERR_CANCELED:
		return "ExecutionCanceled";
	}
	return NULL;
}

enum exec_error exec_failure(enum bk_outcome o, const char *internal, unsigned timeout_s,
			     const char *cause, char *line, size_t n, enum exec_status *status)
{
	*status = EXEC_FAILED;
	if (internal) {
		snprintf(line, n, "The emulator could not run the cell: %s\n", internal);
		return EXEC_ERR_RESTARTED;
	}
	switch (o) {
	case BK_OUTCOME_TIMEOUT:
		snprintf(line, n, "Execution timed out after %u seconds.\n", timeout_s);
		return EXEC_ERR_TIMEOUT;
	case BK_OUTCOME_TIMEOUT_RESTARTED:
		snprintf(line, n,
			 "Execution timed out after %u seconds. The Python interpreter was "
			 "restarted; variables and imports were lost.\n",
			 timeout_s);
		return EXEC_ERR_TIMEOUT;
	case BK_OUTCOME_CRASHED:
		snprintf(line, n,
			 "The Python interpreter exited unexpectedly (%s); it was restarted and "
			 "variables and imports were lost.\n",
			 cause ? cause : "unknown cause");
		return EXEC_ERR_RESTARTED;
	case BK_OUTCOME_CANCELED:
		*status = EXEC_CANCELED;
		snprintf(line, n, "Execution canceled: the session was deleted.\n");
		return EXEC_ERR_CANCELED;
	case BK_OUTCOME_OK:
	case BK_OUTCOME_EXCEPTION:
		break;
	}
	snprintf(line, n, "The emulator could not run the cell: unexpected outcome\n");
	return EXEC_ERR_RESTARTED;
}
