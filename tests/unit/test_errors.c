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

Test(errors, protocol_errors_map_to_the_table)
{
	cr_expect_eq(api_error_of_status(413), API_ERR_PAYLOAD_TOO_LARGE);
	cr_expect_eq(api_error_of_status(505), API_ERR_HTTP_VERSION);
	cr_expect_eq(api_error_of_status(500), API_ERR_INTERNAL);
	cr_expect_eq(api_error_of_status(431), API_ERR_BAD_REQUEST);
	cr_expect_eq(api_error_of_status(411), API_ERR_BAD_REQUEST);
	cr_expect_str_eq(api_error_code(api_error_of_status(505)), "HttpVersionNotSupported");
}

Test(errors, execution_failures)
{
	char line[512];
	enum exec_status st;
	cr_expect_eq(exec_failure(BK_OUTCOME_TIMEOUT, NULL, 9, NULL, line, sizeof(line), &st),
		     EXEC_ERR_TIMEOUT);
	cr_expect_str_eq(line, "Execution timed out after 9 seconds.\n");
	cr_expect_eq(st, EXEC_FAILED);
	cr_expect_eq(exec_failure(BK_OUTCOME_CANCELED, NULL, 9, NULL, line, sizeof(line), &st),
		     EXEC_ERR_CANCELED);
	cr_expect_eq(st, EXEC_CANCELED);
	cr_expect_eq(exec_failure(BK_OUTCOME_CRASHED, "gone", 9, NULL, line, sizeof(line), &st),
		     EXEC_ERR_RESTARTED);
	cr_expect_str_eq(line, "The emulator could not run the cell: gone\n");
	cr_expect_str_eq(exec_error_code(EXEC_ERR_RESTARTED), "InterpreterRestarted");
	cr_expect_null(exec_error_code(EXEC_ERR_NONE));
}

Test(errors, reason_phrases_of_every_status_the_emulator_sends)
{
	const int sent[] = {200, 202, 204, 301, 302, 400, 401, 403, 404, 405, 413, 500, 503, 505};
	for (size_t i = 0; i < sizeof(sent) / sizeof(*sent); i++)
		cr_expect_str_neq(http_reason_phrase(sent[i]), "Unknown", "%d", sent[i]);
	cr_expect_str_eq(http_reason_phrase(302), "Found");
}
