/* SPDX-License-Identifier: MIT */
/* The error table (contract §10.2): every code has its status and its exact code string. */
#include <criterion/criterion.h>

#include "errors.h"

Test(errors, catalogue)
{
	struct {
		enum api_error e;
		int status;
		const char *code;
	} rows[] = {
	    {API_ERR_MISSING_API_VERSION, 400, "MissingApiVersion"},
	    {API_ERR_UNSUPPORTED_API_VERSION, 400, "UnsupportedApiVersion"},
	    {API_ERR_MISSING_IDENTIFIER, 400, "MissingIdentifier"},
	    {API_ERR_INVALID_IDENTIFIER, 400, "InvalidIdentifier"},
	    {API_ERR_INVALID_REQUEST_BODY, 400, "InvalidRequestBody"},
	    {API_ERR_INVALID_QUERY_PARAMETER, 400, "InvalidQueryParameter"},
	    {API_ERR_INVALID_FILE_PATH, 400, "InvalidFilePath"},
	    {API_ERR_UNAUTHORIZED, 401, "Unauthorized"},
	    {API_ERR_PERMISSION_DENIED, 403, "PermissionDenied"},
	    {API_ERR_ROUTE_NOT_FOUND, 404, "RouteNotFound"},
	    {API_ERR_SESSION_NOT_FOUND, 404, "SessionNotFound"},
	    {API_ERR_EXECUTION_NOT_FOUND, 404, "ExecutionNotFound"},
	    {API_ERR_FILE_NOT_FOUND, 404, "FileNotFound"},
	    {API_ERR_CAPACITY_EXCEEDED, 404, "SessionPoolCapacityExceeded"},
	    {API_ERR_METHOD_NOT_ALLOWED, 405, "MethodNotAllowed"},
	    {API_ERR_PAYLOAD_TOO_LARGE, 413, "PayloadTooLarge"},
	    {API_ERR_BAD_REQUEST, 400, "BadRequest"},
	    {API_ERR_HTTP_VERSION, 505, "HttpVersionNotSupported"},
	    {API_ERR_INTERNAL, 500, "InternalError"},
	    {API_ERR_SERVICE_UNAVAILABLE, 503, "ServiceUnavailable"},
	};
	cr_assert_eq(sizeof(rows) / sizeof(rows[0]), API_ERR_COUNT_, "a code has no test row");
	for (size_t i = 0; i < API_ERR_COUNT_; i++) {
		cr_expect_eq(api_error_status(rows[i].e), rows[i].status, "%s", rows[i].code);
		cr_expect_str_eq(api_error_code(rows[i].e), rows[i].code);
	}
	cr_expect_eq(api_error_status(API_ERR_COUNT_), 500);
	cr_expect_str_eq(http_reason_phrase(413), "Payload Too Large");
}
